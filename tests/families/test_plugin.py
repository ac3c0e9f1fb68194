"""A model family as a plug-in: examples/genstudy-tiny-ae driven through genstudy as a user does.

The example package is installed into the test environment (editable, offline, as its README
says), then named in a spec by its import path and by its entry-point name; families that cannot
work are refused in one line before anything is written; and on PostgreSQL a Ray actor killed
in the middle of a plug-in trial is retried and resumes bit-exactly from its epoch checkpoint.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
import yaml

from genstudy.families import family_def, resolve_family
from genstudy.models import load_checkpoint
from tests.conftest import BIN, REPO

S = optuna.trial.TrialState
EXAMPLE_DIR = REPO / "examples" / "genstudy-tiny-ae"
IMPORT_PATH = "tiny_ae.family:TinyAutoencoder"

SPEC: dict[str, Any] = {
    "objective": "tiny_ae",
    "dataset": "digits",
    "metrics": ["loss"],
    "budget": {"epochs": 2, "n_trials": 2},
    "precision": "fp32",
    "sampler": {"name": "random", "seed": 0},
    "pruner": {"name": "none"},
    "fixed": {"hidden": 32, "code": 8, "batch_size": 64},
    "search_space": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
}


@pytest.fixture(scope="module")
def tiny_ae() -> None:
    """``pip install -e examples/genstudy-tiny-ae`` into this environment; rerunning it is harmless."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-e", str(EXAMPLE_DIR)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # this process started before the install: its .pth hook is not active here (subprocesses have it)
    if str(EXAMPLE_DIR) not in sys.path:
        sys.path.append(str(EXAMPLE_DIR))
    importlib.invalidate_caches()
    resolve_family.cache_clear()
    family_def.cache_clear()


def _write(tmp_path: Path, spec: dict[str, Any], name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _genstudy(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genstudy.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _journal(path: Path, name: str) -> optuna.Study:
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    return optuna.load_study(study_name=name, storage=storage)


# --- a. the plug-in by import path and by entry-point name -----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("objective", [IMPORT_PATH, "tiny_ae"], ids=["import-path", "entry-point"])
def test_plugin_family_runs_a_study_with_metrics_curves_and_artifacts(objective: str, tiny_ae: None,
                                                                      tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = _genstudy("run", str(_write(tmp_path, {**SPEC, "objective": objective})), "--runs-dir", str(runs),
                     "--ray-address", "none", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "2 complete, 0 pruned, 0 failed" in done.stdout

    trials = _journal(runs / "tiny.journal", "tiny").trials
    assert [t.state for t in trials] == [S.COMPLETE, S.COMPLETE]
    for t in trials:
        a = t.user_attrs
        assert t.value == a["loss"], "the study's metric is the value the trial returned"
        assert 0 < a["mse"] < 0.2 and a["mse"] == pytest.approx(a["loss"])
        assert 0 < a["ssim"] <= 1
        assert a["params_resolved"] == {"lr": t.params["lr"], "batch_size": 64, "hidden": 32, "code": 8, "epochs": 2}
        assert sorted(a["curves"]) == ["train_loss", "val_loss"]
        assert [len(c) for c in a["curves"].values()] == [2, 2], a["curves"]
        assert a["curves"]["train_loss"][1] < a["curves"]["train_loss"][0], "it learns"

        grid = runs / "artifacts" / a["artifact:reconstructions.png"]
        with grid.open("rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        from tiny_ae.model import TinyAE, TinyAEConfig  # registers TinyAEConfig with @checkpointable

        ckpt = load_checkpoint(runs / "artifacts" / a["artifact:checkpoint.pt"])  # weights_only=True
        assert ckpt.config == TinyAEConfig(image_shape=(1, 8, 8), hidden=32, code=8)
        assert ckpt.extra["params"]["lr"] == t.params["lr"]
        model = TinyAE(ckpt.config)
        ckpt.load_into({"autoencoder": model})
        with torch.no_grad():
            recon = model(torch.rand(3, 1, 8, 8))
        assert recon.shape == (3, 1, 8, 8) and 0 <= float(recon.min()) and float(recon.max()) <= 1


def test_the_run_dataclass_holds_all_training_state(tiny_ae: None) -> None:
    """What an epoch checkpoint saves (genstudy.objectives._resume.run_state) is all a retry needs:
    built afresh on a worker whose global RNG is elsewhere, it trains on bit for bit."""
    from tiny_ae.family import TinyAutoencoder

    from genstudy.data import load_dataset
    from genstudy.families import EvalContext
    from genstudy.objectives._resume import load_run_state, run_state
    from genstudy.spec import parse_spec

    cpu = torch.device("cpu")
    family = TinyAutoencoder(parse_spec({**SPEC, "objective": IMPORT_PATH}),
                             EvalContext(dataset=load_dataset("digits", device=cpu), device=cpu))
    params = {"lr": 3e-3, "batch_size": 64, "hidden": 32, "code": 8, "epochs": 3}
    straight = family.build(params, seed=7)
    losses = [family.train_epoch(straight, params) for _ in range(3)]

    killed = family.build(params, seed=7)
    assert family.train_epoch(killed, params) == losses[0]
    saved = io.BytesIO()
    torch.save(run_state(killed), saved)  # the checkpoint file, loaded as genstudy loads it
    torch.manual_seed(12345)
    retry = family.build(params, seed=7)
    load_run_state(retry, torch.load(io.BytesIO(saved.getvalue()), weights_only=True))
    assert [family.train_epoch(retry, params) for _ in range(2)] == losses[1:]
    assert family.evaluate(retry, params, 7) == family.evaluate(straight, params, 7)


# --- b. families that cannot work are refused before anything is written ----------------------------

_BAD_FAMILIES = '''
from genstudy.families import Family, MetricDef, ParamDef


class NoTrainEpoch(Family):
    metrics = (MetricDef("loss", "minimize", "reconstruction error"),)

    def build(self, params, seed): ...
    def validate(self, run, params, metric): ...
    def evaluate(self, run, params, seed): ...


class DefaultOutOfRange(NoTrainEpoch):
    params = (ParamDef("lr", float, 2.0, "learning rate", 1e-6, 1.0),)

    def train_epoch(self, run, params): ...


class Duck:  # the four methods, but not a Family: attrs(), artifacts() and the declarations are missing
    metrics = (MetricDef("loss", "minimize", "reconstruction error"),)

    def build(self, params, seed): ...
    def train_epoch(self, run, params): ...
    def validate(self, run, params, metric): ...
    def evaluate(self, run, params, seed): ...
'''


def _bad_plugin(tmp_path: Path) -> None:
    """``bad_families`` importable from tmp_path, with one of its classes registered as ``bad_families``
    under the genstudy.families entry-point group (a dist-info folder, as pip would write it)."""
    (tmp_path / "bad_families.py").write_text(_BAD_FAMILIES)
    info = tmp_path / "bad_families-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-families\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[genstudy.families]\nbad_families = bad_families:NoTrainEpoch\n")


@pytest.mark.parametrize(("objective", "path", "why"), [
    pytest.param("no_such_package.family:Autoencoder", "no_such_package.family:Autoencoder",
                 "cannot be imported (ModuleNotFoundError: No module named 'no_such_package')", id="no-module"),
    pytest.param("bad_families:NoTrainEpoch", "bad_families:NoTrainEpoch", "method train_epoch() is missing",
                 id="no-train-epoch"),
    pytest.param("bad_families:DefaultOutOfRange", "bad_families:DefaultOutOfRange",
                 "param 'lr': default 2.0 must be <= 1", id="default-out-of-range"),
    pytest.param("bad_families:Duck", "bad_families:Duck", "Duck does not subclass genstudy.families.Family",
                 id="not-a-family"),
    pytest.param("bad_families", "(registered as bad_families:NoTrainEpoch)", "method train_epoch() is missing",
                 id="entry-point-name"),
])
def test_a_bad_family_is_refused_in_one_line_and_nothing_is_written(objective: str, path: str, why: str,
                                                                    tmp_path: Path) -> None:
    _bad_plugin(tmp_path)
    spec = _write(tmp_path, {**SPEC, "objective": objective, "search_space": {}, "fixed": {}})
    pythonpath = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    done = _genstudy("run", str(spec), "--runs-dir", str(tmp_path / "runs"), "--ray-address", "none", cwd=tmp_path,
                     env={"PYTHONPATH": pythonpath}, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"genstudy: error: {spec}: objective: "), lines[0]
    assert path in lines[0] and why in lines[0], lines[0]
    assert not (tmp_path / "runs").exists(), "no runs dir, no journal file"
    assert list(tmp_path.glob("**/*.journal")) == []


# --- c. Ray actors on PostgreSQL: an actor killed mid-trial, its retry resumes; analysis -------------

EPOCHS = 16
# small batches: epochs long enough to kill a trial between two of them, short enough for CI
RAY_SPEC = {**SPEC, "budget": {"epochs": EPOCHS, "n_trials": 3}, "fixed": {"hidden": 64, "code": 8, "batch_size": 8},
            "search_space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}}


def _wait_for(find: Callable[[], Any], proc: subprocess.Popen, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := find()) is not None:
            return found
        if proc.poll() is not None:
            pytest.fail(f"genstudy exited ({proc.returncode}) before {what}: {proc.communicate()[1][-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout} s")


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.postgres
def test_plugin_trial_of_a_killed_ray_actor_resumes_bit_exactly_and_the_study_is_analysed(
    tiny_ae: None, pg_url: str, tmp_path: Path
) -> None:
    created = subprocess.run([str(BIN / "optuna"), "create-study", "--storage", pg_url, "--study-name", "plugin",
                              "--direction", "minimize"], capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    study = optuna.load_study(study_name="plugin", storage=pg_url)
    for lr in (3e-3, 3e-3, 1e-3):  # the two actors start twins: whichever is killed, the other is its reference
        study.enqueue_trial({"lr": lr})
    proc = subprocess.Popen(
        [sys.executable, "-m", "genstudy.cli", "worker", str(_write(tmp_path, RAY_SPEC)), "--storage", pg_url,
         "--study-name", "plugin", "--n-trials", "3", "--ray-address", "local", "--workers", "2",
         "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def checkpointed_running() -> optuna.trial.FrozenTrial | None:
        for t in study.get_trials(deepcopy=False, states=(S.RUNNING,)):
            if (t.user_attrs.get("resume_checkpoint") or {}).get("epoch", 0) >= 1 and t.user_attrs.get("worker"):
                return t
        return None

    try:
        victim = _wait_for(checkpointed_running, proc, 300, "RUNNING trial with an epoch checkpoint")
        os.kill(victim.user_attrs["worker"]["pid"], signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-4000:]

    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    assert states == {S.COMPLETE: 3, S.FAIL: 1}, states
    dead = trials[victim.number]
    assert dead.state == S.FAIL and dead.user_attrs["fail_reason"]
    retry = next(t for t in trials if (t.system_attrs.get("retry_history") or [None])[-1] == victim.number)
    assert retry.state == S.COMPLETE and retry.params == victim.params
    assert retry.user_attrs["resumed_from"]["trial"] == victim.number
    assert retry.user_attrs["resumed_from"]["epoch"] >= 1
    assert retry.user_attrs["resume_checkpoint"] is None, "dropped once the trial finished"
    twin = next(t for t in trials if t.state == S.COMPLETE and t.params == victim.params and t is not retry)
    assert "resumed_from" not in twin.user_attrs
    # bit-exact: the model, Adam's moments and the batch-order generator of the run dataclass came back
    assert retry.user_attrs["curves"] == twin.user_attrs["curves"]
    assert len(retry.user_attrs["curves"]["train_loss"]) == EPOCHS
    assert (retry.value, retry.user_attrs["ssim"]) == (twin.value, twin.user_attrs["ssim"])
    print(f"\n[tiny_ae] killed trial {victim.number} after epoch {victim.user_attrs['resume_checkpoint']['epoch']}; "
          f"retry {retry.number} resumed after epoch {retry.user_attrs['resumed_from']['epoch']} of {EPOCHS} "
          f"({twin.user_attrs['train_seconds'] / EPOCHS:.2f} s per epoch)")

    report = tmp_path / "report"
    analysed = _genstudy("analyze", "--storage", pg_url, "--study-name", "plugin", "--out", str(report), cwd=tmp_path)
    assert analysed.returncode == 0, analysed.stderr[-4000:]
    assert json.loads((report / "importances.json").read_text())["target"] == "loss"
    html = (report / "report.html").read_text()
    assert "loss (minimize)" in html and "ssim" in html, "the plug-in's metrics, by the names it declared"
