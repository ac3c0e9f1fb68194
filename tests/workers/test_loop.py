"""The worker loop on real storages with a trivial objective: targets, failures, parallelism."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest

from genstudy.errors import GenstudyError
from genstudy.storage import claim_lock_for, count_trials, open_storage
from genstudy.workers import run_worker

S = optuna.trial.TrialState


def _study(location: str, name: str = "loop", seed: int = 0) -> optuna.Study:
    return optuna.create_study(storage=open_storage(location), study_name=name, load_if_exists=True,
                               sampler=optuna.samplers.RandomSampler(seed=seed))


def _quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    time.sleep(0.02)
    return x * x


def test_a_raising_trial_is_failed_with_its_reason_and_the_worker_goes_on(tmp_path: Path) -> None:
    location = str(tmp_path / "s.journal")
    study = _study(location)
    calls = {"n": 0}

    def flaky(trial: optuna.Trial) -> float:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("CUDA out of memory (simulated)")
        return _quadratic(trial)

    result = run_worker(study, flaky, n_trials=4, claim=claim_lock_for(location, "loop"), poll_seconds=0.01)
    states = Counter(t.state for t in study.trials)
    assert states == {S.COMPLETE: 4, S.FAIL: 1}
    failed = next(t for t in study.trials if t.state == S.FAIL)
    assert failed.user_attrs["fail_reason"] == "RuntimeError: CUDA out of memory (simulated)"
    assert result.ran == 5 and result.failed == 1 and result.final.finished == 4


def test_pruned_trials_count_towards_the_target(tmp_path: Path) -> None:
    location = str(tmp_path / "s.journal")
    study = _study(location)

    def prune_odd(trial: optuna.Trial) -> float:
        if trial.number % 2:
            raise optuna.TrialPruned("odd")
        return _quadratic(trial)

    run_worker(study, prune_odd, n_trials=5, claim=claim_lock_for(location, "loop"))
    assert Counter(t.state for t in study.trials) == {S.COMPLETE: 3, S.PRUNED: 2}


def test_a_broken_objective_stops_the_worker_with_a_clear_error(tmp_path: Path) -> None:
    location = str(tmp_path / "s.journal")
    study = _study(location)

    def broken(trial: optuna.Trial) -> float:
        raise ValueError("bad")

    with pytest.raises(GenstudyError, match="5 trials in a row failed"):
        run_worker(study, broken, n_trials=3, claim=claim_lock_for(location, "loop"))
    assert count_trials(study).failed == 5 and count_trials(study).running == 0


def test_a_study_already_at_its_target_runs_nothing(tmp_path: Path) -> None:
    location = str(tmp_path / "s.journal")
    study = _study(location)
    run_worker(study, _quadratic, n_trials=2, claim=claim_lock_for(location, "loop"))
    again = run_worker(study, _quadratic, n_trials=2, claim=claim_lock_for(location, "loop"))
    assert again.ran == 0 and len(study.trials) == 2


def _worker_process(location: str, seed: int, n_trials: int) -> None:
    study = _study(location, seed=seed)
    run_worker(study, _quadratic, n_trials=n_trials, claim=claim_lock_for(location, "loop"), poll_seconds=0.01)


@pytest.mark.parametrize("backend", ["journal", "sqlite"])
def test_parallel_processes_hit_the_target_exactly(tmp_path: Path, backend: str) -> None:
    location = str(tmp_path / "s.journal") if backend == "journal" else f"sqlite:///{tmp_path / 's.db'}"
    _study(location)  # created once, like `optuna create-study`
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker_process, args=(location, seed, 12)) for seed in (1, 2, 3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    trials = _study(location).trials
    assert len(trials) == 12 and all(t.state == S.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == list(range(12))
