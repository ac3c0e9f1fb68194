"""Every model family through `genstudy worker` on a PostgreSQL study, artifacts included."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest

from tests.conftest import TINY_SPEC, run_cli


@pytest.mark.postgres
@pytest.mark.parametrize("objective", ["gan", "cgan", "gan_ae"])
def test_each_family_runs_as_a_worker_on_postgresql(objective: str, pg_url: str, write_spec, tmp_path: Path) -> None:
    spec = copy.deepcopy(TINY_SPEC)
    lr = "lr" if objective == "gan_ae" else "g_lr"
    spec.update(objective=objective, budget={"epochs": 1, "n_trials": 2}, fixed={"width": 8, "batch_size": 64, "latent_dim": 8},
                search_space={lr: {"type": "float", "low": 1e-4, "high": 1e-3, "log": True}})
    optuna.create_study(storage=pg_url, study_name=objective, direction="minimize")
    artifacts = tmp_path / "shared-artifacts"
    proc = run_cli("worker", str(write_spec(spec)), "--storage", pg_url, "--study-name", objective,
                   "--runs-dir", str(tmp_path / "runs"), "--artifact-dir", str(artifacts), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"--artifact-dir {artifacts}" in proc.stdout
    study = optuna.load_study(study_name=objective, storage=pg_url)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    for t in study.trials:
        assert t.value == pytest.approx(t.user_attrs["fid"]) and isinstance(t.user_attrs["precision"], float)
        names = sorted(m.filename for m in optuna.artifacts.get_all_artifact_meta(t, storage=study._storage))
        assert names == ["checkpoint.pt", "samples.png"]
        assert (artifacts / t.user_attrs["artifact:samples.png"]).is_file()
