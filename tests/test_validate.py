"""`genstudy validate`: the best configurations re-run with fresh seeds (the seeds' "10 runs")."""

from __future__ import annotations

from pathlib import Path

import optuna

from genstudy.storage import open_storage
from tests.conftest import TINY_SPEC, run_cli


def test_validate_reruns_the_best_trial_with_fresh_seeds(write_spec, tmp_path: Path) -> None:
    spec = write_spec(dict(TINY_SPEC, budget={"epochs": 1, "n_trials": 3}))
    runs = str(tmp_path / "runs")
    first = run_cli("run", str(spec), "--runs-dir", runs, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    proc = run_cli("validate", str(spec), "--runs-dir", runs, "--top", "1", "--seeds", "3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fid mean" in proc.stdout and "validation of trial" in proc.stdout

    study = optuna.load_study(study_name="tiny", storage=open_storage(str(tmp_path / "runs" / "tiny.journal"), heartbeat=False))
    searched = [t for t in study.trials if "validation_of" not in t.user_attrs]
    (check,) = [t for t in study.trials if "validation_of" in t.user_attrs]
    best = min(searched, key=lambda t: t.value)
    assert check.user_attrs["validation_of"] == best.number and check.params == best.params
    assert [s["seed"] for s in check.user_attrs["seeds"]] == [10_000, 10_001, 10_002]
    assert check.state == optuna.trial.TrialState.COMPLETE and "fid_std" in check.user_attrs

    again = run_cli("validate", str(spec), "--runs-dir", runs, "--top", "1", "--seeds", "3", cwd=tmp_path)
    assert again.returncode == 0 and "this worker ran 0" in again.stdout  # already validated: nothing re-run
