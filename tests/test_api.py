"""The Python API: ``genstudy.run`` and friends, as a notebook user calls them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna

import genstudy
from tests.conftest import REPO

TINY = {
    "objective": "vae",
    "dataset": "toy",
    "metrics": ["loss"],
    "budget": {"epochs": 1, "n_trials": 2},
    "evaluation": {"n_samples": 50, "iwae_k": 2, "prune_fid_samples": 20},
    "fixed": {"batch_size": 64},
}


class Recorder:
    """An Optuna callback: ``(number, state)`` of every finished trial."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, optuna.trial.TrialState]] = []

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.seen.append((trial.number, trial.state))


def test_run_a_spec_dict_with_a_callback_that_sees_every_trial(tmp_path: Path) -> None:
    recorder = Recorder()
    outcome = genstudy.run(TINY, runs_dir=tmp_path / "runs", device="cpu", ray=None, callbacks=[recorder])
    assert isinstance(outcome, genstudy.StudyOutcome)
    assert outcome.study.study_name == "vae", "a spec without a file is named after its objective"
    assert [n for n, _ in recorder.seen] == [0, 1]
    assert recorder.seen == [(t.number, t.state) for t in outcome.study.trials]
    assert outcome.worker.final is not None and outcome.worker.final.finished == 2
    assert outcome.location == str(tmp_path / "runs" / "vae.journal")


def test_python_m_genstudy_is_the_command_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "genstudy", "--help"], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: genstudy") and "worker" in proc.stdout and "analyze" in proc.stdout


def test_version_is_a_string() -> None:
    assert isinstance(genstudy.__version__, str) and genstudy.__version__


def test_import_genstudy_is_cheap() -> None:
    code = ("import sys, genstudy; heavy = [m for m in ('torch', 'optuna', 'ray', 'sqlalchemy') if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"import genstudy imported {proc.stdout.strip()}"


def test_the_public_surface_is_short_and_resolves() -> None:
    assert set(genstudy.__all__) >= {"run", "load_spec", "analyze", "Family", "__version__"}
    for name in genstudy.__all__:
        assert getattr(genstudy, name) is not None, name
    from genstudy.families import Family

    assert genstudy.Family is Family
