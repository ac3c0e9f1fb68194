"""The mistakes users make get one clear line on stderr, exit code 2, and no traceback."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.conftest import TINY_SPEC, run_cli


def _one_line_error(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("genstudy: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_unknown_spec_key(write_spec, tmp_path: Path) -> None:
    spec = write_spec(dict(TINY_SPEC, epochs=3))
    line = _one_line_error(run_cli("run", str(spec), "--runs-dir", str(tmp_path / "r"), cwd=tmp_path))
    assert str(spec) in line and "epochs: unknown key" in line


@pytest.mark.postgres
def test_study_that_does_not_exist(pg_url: str, write_spec, tmp_path: Path) -> None:
    spec = write_spec()
    line = _one_line_error(run_cli("worker", str(spec), "--storage", pg_url, "--study-name", "nope", cwd=tmp_path))
    assert "study 'nope' does not exist" in line
    assert f"optuna create-study --storage {pg_url} --study-name nope --direction minimize" in line


@pytest.mark.postgres
def test_directions_do_not_fit(pg_url: str, write_spec, tmp_path: Path) -> None:
    optuna.create_study(storage=pg_url, study_name="maxi", direction="maximize")
    line = _one_line_error(run_cli("worker", str(write_spec()), "--storage", pg_url, "--study-name", "maxi", cwd=tmp_path))
    assert "has directions ['maximize']" in line and "['fid']" in line


def test_unreachable_storage(write_spec, tmp_path: Path) -> None:
    url = "postgresql://alice:hunter2-secret@127.0.0.1:1/studies"
    proc = run_cli("worker", str(write_spec()), "--storage", url, "--study-name", "x", cwd=tmp_path)
    line = _one_line_error(proc)
    assert "cannot open storage postgresql://alice:***@127.0.0.1:1/studies" in line
    assert "hunter2-secret" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_same_study_with_a_different_spec_is_refused(write_spec, tmp_path: Path) -> None:
    runs = str(tmp_path / "runs")
    first = write_spec(dict(TINY_SPEC, budget={"epochs": 1, "n_trials": 1}), name="s.yaml")
    ok = run_cli("run", str(first), "--runs-dir", runs, "--study-name", "shared", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    second = write_spec(dict(TINY_SPEC, budget={"epochs": 2, "n_trials": 1}), name="s2.yaml")
    line = _one_line_error(run_cli("run", str(second), "--runs-dir", runs, "--study-name", "shared", cwd=tmp_path))
    assert "study 'shared' was started with a different spec" in line and "budget.epochs" in line


def test_n_trials_below_one(write_spec, tmp_path: Path) -> None:
    line = _one_line_error(run_cli("run", str(write_spec()), "--n-trials", "0", "--runs-dir", str(tmp_path / "r"), cwd=tmp_path))
    assert "--n-trials 0: must be at least 1" in line
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_analyze_writes_the_report_and_ranks_importances(tmp_path: Path) -> None:
    import json
    import math
    import random

    from genstudy.storage import open_storage

    journal = tmp_path / "s.journal"
    study = optuna.create_study(storage=open_storage(str(journal), heartbeat=False), study_name="known")
    rng = random.Random(0)
    dists = {"lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
             "noise": optuna.distributions.FloatDistribution(0.0, 1.0)}
    for _ in range(60):  # the value depends on log10(lr) only: lr must rank first by far
        lr, noise = 10 ** rng.uniform(-5, -1), rng.uniform(0, 1)
        study.add_trial(optuna.trial.create_trial(params={"lr": lr, "noise": noise}, distributions=dists,
                                                  value=-(2 + 0.5 * math.log10(lr))))
    out = tmp_path / "report"
    proc = run_cli("analyze", "--storage", str(journal), "--study-name", "known", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "importances.json").read_text())
    assert data["n_trials"] == 60 and data["main"]["lr"]["importance"] > 0.9 > data["main"]["noise"]["importance"] + 0.8
    assert (out / "report.html").read_text().count("data-section=") >= 5
    assert proc.stdout.index("lr") < proc.stdout.index("noise")

    line = _one_line_error(run_cli("analyze", "--storage", str(journal), "--study-name", "nope", "--out", str(out), cwd=tmp_path))
    assert "nope" in line and "known" in line  # names the studies that exist


def test_inception_fid_without_weights_says_how_to_get_it(write_spec, tmp_path: Path) -> None:
    spec = write_spec(dict(TINY_SPEC, metrics=["fid_inception"]))
    line = _one_line_error(run_cli("run", str(spec), "--runs-dir", str(tmp_path / "r"), cwd=tmp_path))
    assert "fid_inception needs Inception-v3 weights: pass --inception-weights FILE" in line
