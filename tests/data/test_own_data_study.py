"""End to end: `genstudy run` trains a VAE on the user's own folder of PNGs and on an .npz."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from PIL import Image

from genstudy.storage import open_storage

SPEC = {
    "objective": "vae",
    "metrics": ["loss"],
    "budget": {"epochs": 1, "n_trials": 1},
    "evaluation": {"n_samples": 50, "iwae_k": 2, "prune_fid_samples": 20},
    "fixed": {"batch_size": 16},
}


def _pictures(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (n, 16, 16, 3), labels (n,)): class 0 a bright square top left, class 1 bottom right, on noise."""
    x = rng.integers(0, 60, size=(n, 16, 16, 3), dtype=np.uint8)
    y = np.arange(n) % 2
    x[y == 0, 2:8, 2:8] = 230
    x[y == 1, 8:14, 8:14] = 230
    return x, y


def _run(tmp_path: Path, dataset: dict, name: str) -> optuna.Study:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "dataset": dataset}))
    runs = tmp_path / f"runs-{name}"
    proc = subprocess.run([sys.executable, "-m", "genstudy.cli", "-q", "run", str(spec), "--runs-dir", str(runs),
                           "--ray-address", "none"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (journal,) = runs.glob("*.journal")
    study = optuna.load_study(study_name=name, storage=open_storage(str(journal), heartbeat=False))
    return study


@pytest.mark.slow
@pytest.mark.parametrize("labelled", [True, False], ids=["classes", "flat"])
def test_a_study_runs_on_a_folder_of_pngs(tmp_path: Path, labelled: bool) -> None:
    x, y = _pictures(60, np.random.default_rng(0))
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        folder = tmp_path / "shapes" / (("top_left", "bottom_right")[label] if labelled else "")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    study = _run(tmp_path, {"folder": str(tmp_path / "shapes")}, "folder")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE]
    assert np.isfinite(study.trials[0].value)


@pytest.mark.slow
@pytest.mark.parametrize("labelled", [True, False], ids=["y", "no_y"])
def test_a_study_runs_on_an_npz(tmp_path: Path, labelled: bool) -> None:
    x, y = _pictures(60, np.random.default_rng(1))
    arrays = {"x": x.transpose(0, 3, 1, 2)} | ({"y": y} if labelled else {})
    np.savez(tmp_path / "shapes.npz", **arrays)
    study = _run(tmp_path, {"npz": str(tmp_path / "shapes.npz")}, "npz")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE]
    assert np.isfinite(study.trials[0].value)
