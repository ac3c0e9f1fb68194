"""The issue's PostgreSQL flow, as a user types it: Optuna's CLI creates the study with a plain
``postgresql://`` URL, then two ``genstudy worker`` processes share it at the same time."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import optuna
import pytest

from tests.conftest import BIN

PASSWORD = "pw-Never-Shown-71"
METRIC_ATTRS = ("fid", "log_likelihood", "log_likelihood_se", "loss", "mse", "ssim", "train_seconds")


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_reach_the_target_together(pg_url: str, write_spec, tmp_path: Path) -> None:
    spec = write_spec()
    created = subprocess.run(
        [str(BIN / "optuna"), "create-study", "--storage", pg_url, "--study-name", "vae-demo", "--direction", "minimize"],
        capture_output=True, text=True, timeout=120,
    )
    assert created.returncode == 0, created.stderr
    # trust auth accepts any password: the workers get one, and it must never show up anywhere
    secret_url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    cmd = [str(BIN / "genstudy"), "worker", str(spec), "--storage", secret_url, "--study-name", "vae-demo",
           "--n-trials", "6", "--runs-dir", str(tmp_path / "runs")]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]

    study = optuna.load_study(study_name="vae-demo", storage=pg_url)
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    finished = states[optuna.trial.TrialState.COMPLETE] + states[optuna.trial.TrialState.PRUNED]
    assert finished == 6, states
    assert len(trials) == 6, "no surplus or lost trials"
    assert sorted(t.number for t in trials) == list(range(6))
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 6, "each trial its own params"
    for t in trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            for key in METRIC_ATTRS:
                assert isinstance(t.user_attrs.get(key), float), (t.number, key)
            assert t.value == pytest.approx(t.user_attrs["fid"])
            assert len(t.user_attrs["curves"]["val_loss"]) == 2
            assert len(t.user_attrs["classifier_sha256"]) == 64

    ran = [int(re.search(r"this worker ran (\d+)", out).group(1)) for out, _ in outputs]
    assert sum(ran) == 6 and min(ran) >= 1, ran  # both workers took part

    everything = "".join(out + err for out, err in outputs)
    everything += json.dumps(study.user_attrs) + "".join(json.dumps(t.user_attrs) + json.dumps(t.system_attrs) for t in trials)
    assert PASSWORD not in everything
    assert "postgresql://postgres:***@" in everything  # where the study lives, redacted
