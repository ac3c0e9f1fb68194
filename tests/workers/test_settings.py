"""One settings object per worker: its defaults, its trip to other nodes, and the set-up shared by
the in-process worker and the Ray actors (exercised here through the ``objective_factory`` hatch)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import optuna
import pytest

from genstudy import names
from genstudy.errors import GenstudyError
from genstudy.spec import parse_spec
from genstudy.storage import count_trials
from genstudy.workers import RayOptions, WorkerSettings, join_study, prepare_worker, run_worker, worker_seed
from tests.conftest import TINY_SPEC


def _quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    return x * x


def quadratic_factory():
    return _quadratic


def test_defaults_follow_the_runs_dir_and_the_spec(tmp_path: Path) -> None:
    spec = parse_spec(TINY_SPEC)
    s = WorkerSettings(spec=spec, study_name="s", runs_dir=str(tmp_path / "runs"), data_dir="data")
    assert s.storage == str(tmp_path / "runs" / "s.journal")
    assert s.n_trials == spec.budget.n_trials
    assert s.artifact_dir == tmp_path / "runs" / "artifacts" and s.cache_dir == tmp_path / "runs" / "cache"
    assert s.data_dir == Path("data") and s.inception_weights is None and s.ray is None
    assert s.callbacks == () and not s.create and s.worker_index == 0


def test_settings_travel_with_absolute_paths_and_the_password_stays_out_of_logs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = parse_spec(TINY_SPEC)
    url = "postgresql://bob:pw-secret@db/x"
    s = WorkerSettings(spec=spec, study_name="s", storage=url, runs_dir="runs", data_dir="data",
                       ray=RayOptions(address="auto", workers=2), validate=[3, 5])
    moved = s.with_absolute_paths()
    assert moved.storage == url, "a URL is not a path"
    assert moved.runs_dir == tmp_path / "runs" and moved.data_dir == tmp_path / "data"
    assert moved.artifact_dir == tmp_path / "runs" / "artifacts" and moved.validate == (3, 5)
    assert pickle.loads(pickle.dumps(moved)) == moved, "plain values only: it is pickled to Ray actors"
    assert "pw-secret" not in s.shown_location
    journal = WorkerSettings(spec=spec, study_name="j", storage="runs/j.journal").with_absolute_paths()
    assert journal.storage == str(tmp_path / "runs" / "j.journal")


def test_impossible_settings_are_refused_with_the_fix() -> None:
    spec = parse_spec(TINY_SPEC)
    with pytest.raises(GenstudyError, match="worker index -1: must be 0 or more"):
        WorkerSettings(spec=spec, study_name="s", worker_index=-1)
    with pytest.raises(GenstudyError, match=r"validate=\(3,\): give \(top, seeds\)"):
        WorkerSettings(spec=spec, study_name="s", validate=(3,))
    with pytest.raises(GenstudyError, match="n_trials -1: must be 0 or more"):
        WorkerSettings(spec=spec, study_name="s", n_trials=-1)


def test_each_worker_index_seeds_its_own_sampler() -> None:
    seeds = {worker_seed(7, i) for i in range(100)}
    assert len(seeds) == 100 and worker_seed(7, 0) == 7
    assert worker_seed(7, None) == worker_seed(7, None), "stable within a process"


def test_prepared_worker_runs_a_factory_objective_with_callbacks(tmp_path: Path) -> None:
    spec = parse_spec(TINY_SPEC)
    settings = WorkerSettings(spec=spec, study_name="f", runs_dir=tmp_path, n_trials=3, create=True, worker_index=2,
                              objective_factory=quadratic_factory)
    join_study(settings, worker_index=0, create=True)  # as the driver does: the study exists before workers join
    prepared = prepare_worker(settings, worker_index=2, device="cpu")
    assert prepared.context is None, "a factory objective loads no dataset or classifier"
    assert prepared.seed == worker_seed(spec.sampler.seed, 2)
    seen: list[tuple[int, optuna.trial.TrialState]] = []
    result = run_worker(prepared.study, prepared.objective, n_trials=settings.n_trials, claim=prepared.claim,
                        callbacks=[lambda study, t: seen.append((t.number, t.state))])
    assert result.ran == 3 and count_trials(prepared.study).complete == 3
    assert seen == [(n, optuna.trial.TrialState.COMPLETE) for n in range(3)]
    worker = prepared.study.trials[0].user_attrs[names.WORKER]
    assert worker["pid"] == os.getpid()
