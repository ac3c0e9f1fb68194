"""Pinned behaviour of one short run per built-in family (vae, gan, cgan, gan_ae).

Each case writes a tiny spec (embedded 8x8 ``digits``, metric ``loss``, fp32, seed 0, 2 epochs,
1 trial, random sampler, no pruner, empty search space, a few fixed params), runs it through the
real CLI in a subprocess on the CPU with one thread, reads the trial back from the journal file
and compares it with literals recorded from commit 47595e8 (values computed by that commit's
code, run exactly as this test runs it). Pinned:

- the trial is COMPLETE, has no searched params, and its objective value is the pinned ``loss``;
- ``params_resolved``: every param of the family, defaults included;
- the metric names a run reports (the keys of its per-seed record, classifier metrics included);
- ``curves``: exactly the pinned keys, every value within rel 1e-6;
- the final metrics that do not depend on the domain classifier, within rel 1e-6.

Not pinned: fid, inception_score, precision, recall, class_coverage, class_kl, mode_collapse,
label_accuracy (all derived from the domain classifier, whose training changes separately), and
timings (train_seconds, eval_seconds, validate_seconds).

These numbers are what the code did, not what it should do. A legitimate behaviour change must
update them on purpose, saying why in its commit; a refactor that only moves code must leave this
test passing untouched. Two changes were made on purpose since 47595e8 (issue 14):

- the vae and gan_ae curves held "val_loss" twice per epoch (the family's held-out "val_loss" and
  the pruning value of the first metric, "val_<metric>", shared a key): now once, the value the
  pruner sees (the same number);
- the metrics computed in the domain classifier's space (CLASSIFIER_METRICS) are stored only when
  one of the study's metrics needs the classifier; a study of ``loss`` never trains it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

REL = 1e-6

SPEC_COMMON = {
    "dataset": "digits",
    "metrics": ["loss"],
    "precision": "fp32",
    "repeats": 1,
    "seed": 0,
    "budget": {"epochs": 2, "n_trials": 1},
    "sampler": {"name": "random", "seed": 0},
    "pruner": {"name": "none"},
    "evaluation": {"n_samples": 200, "iwae_k": 5, "prune_fid_samples": 100},
    "search_space": {},
}

FIXED = {
    "vae": {"batch_size": 64, "latent_dim": 8, "width": 16, "lr": 0.002},
    "gan": {"batch_size": 64, "arch": "dcgan", "latent_dim": 16, "width": 16},
    "cgan": {"batch_size": 64, "arch": "mlp", "latent_dim": 16, "width": 16},
    "gan_ae": {"batch_size": 64, "latent_dim": 8, "width": 16, "sigma": 0.1, "noise": "input", "adv_weight": 1.0},
}

# Final metrics that do not depend on the domain classifier (those a run of each family stores).
CLASSIFIER_FREE = {
    "vae": ("loss", "mse", "ssim", "log_likelihood", "log_likelihood_se",
            "log_likelihood_parzen", "log_likelihood_parzen_se", "parzen_sigma"),
    "gan": ("loss", "loss_g", "loss_d", "log_likelihood", "log_likelihood_se", "parzen_sigma"),
    "cgan": ("loss", "loss_g", "loss_d", "log_likelihood", "log_likelihood_se", "parzen_sigma"),
    "gan_ae": ("loss", "mse", "ssim", "loss_g", "loss_d", "log_likelihood", "log_likelihood_se", "parzen_sigma"),
}

CLASSIFIER_METRICS = {"class_coverage", "class_kl", "fid", "inception_score", "mode_collapse", "precision", "recall",
                      "label_accuracy"}

# Recorded from commit 47595e8 (see the module docstring for the two deliberate changes since).
PINNED: dict[str, dict] = {
    "vae": {
        "params_resolved": {
            "lr": 0.002, "batch_size": 64, "latent_dim": 8, "beta": 1.0, "activation": "relu", "width": 16, "epochs": 2,
        },
        "metric_names": [
            "class_coverage", "class_kl", "eval_seconds", "fid", "inception_score", "log_likelihood",
            "log_likelihood_parzen", "log_likelihood_parzen_se", "log_likelihood_se", "loss", "mode_collapse", "mse",
            "parzen_sigma", "precision", "recall", "seed", "ssim", "train_seconds", "validate_seconds",
        ],
        "curves": {
            "train_loss": [336.6714172363281, 173.7344207763672],
            "val_loss": [206.78444967269897, 144.924337348938],
        },
        "metrics": {
            "loss": 140.16181173324586,
            "mse": 0.07642631977796555,
            "ssim": 0.20489013195037842,
            "log_likelihood": -132.7899628175386,
            "log_likelihood_se": 2.0772869004758463,
            "log_likelihood_parzen": -12.46649331338402,
            "log_likelihood_parzen_se": 0.2701396404754738,
            "parzen_sigma": 0.2782559402207124,
        },
    },
    "gan": {
        "params_resolved": {
            "g_lr": 0.0002, "d_lr": 0.0002, "g_steps": 1, "arch": "dcgan", "batch_size": 64, "latent_dim": 16,
            "activation": "leaky_relu", "init": "normal_002", "width": 16, "beta1": 0.5, "beta2": 0.999, "d_steps": 1,
            "real_label": 1.0, "adv_loss": "bce", "epochs": 2,
        },
        "metric_names": [
            "class_coverage", "class_kl", "eval_seconds", "fid", "inception_score", "log_likelihood", "log_likelihood_se",
            "loss", "loss_d", "loss_g", "mode_collapse", "parzen_sigma", "precision", "recall", "seed", "train_seconds",
            "validate_seconds",
        ],
        "curves": {
            "loss_d": [1.168778369301244, 0.7476771505255448],
            "loss_g": [0.8971070741352282, 1.229545091327868],
            "val_loss_d": [1.3228979110717773, 0.5674290657043457],
            "val_loss_g": [0.7218227982521057, 1.3527203798294067],
            "val_loss": [0.7218227982521057, 1.3527203798294067],
        },
        "metrics": {
            "loss": 1.3528180122375488,
            "loss_g": 1.3528180122375488,
            "loss_d": 0.5634037256240845,
            "log_likelihood": -35.869150682757386,
            "log_likelihood_se": 0.09233317617384075,
            "parzen_sigma": 0.46415888336127786,
        },
    },
    "cgan": {
        "params_resolved": {
            "g_lr": 0.0002, "d_lr": 0.0002, "g_steps": 1, "arch": "mlp", "batch_size": 64, "latent_dim": 16,
            "activation": "leaky_relu", "init": "normal_002", "width": 16, "beta1": 0.5, "beta2": 0.999, "d_steps": 1,
            "real_label": 1.0, "adv_loss": "bce", "epochs": 2,
        },
        "metric_names": [
            "class_coverage", "class_kl", "eval_seconds", "fid", "inception_score", "label_accuracy", "log_likelihood",
            "log_likelihood_se", "loss", "loss_d", "loss_g", "mode_collapse", "parzen_sigma", "precision", "recall", "seed",
            "train_seconds", "validate_seconds",
        ],
        "curves": {
            "loss_d": [1.3714530342503597, 1.2345440513209294],
            "loss_g": [0.7034597898784437, 0.8039045333862305],
            "val_loss_d": [1.338884949684143, 1.0538338422775269],
            "val_loss_g": [0.720978856086731, 0.928825855255127],
            "val_loss": [0.720978856086731, 0.928825855255127],
        },
        "metrics": {
            "loss": 0.9259358048439026,
            "loss_g": 0.9259358048439026,
            "loss_d": 1.0535376071929932,
            "log_likelihood": -32.09416416891365,
            "log_likelihood_se": 0.14828810448520685,
            "parzen_sigma": 0.35938136638046275,
        },
    },
    "gan_ae": {
        "params_resolved": {
            "lr": 0.0002, "d_lr": 0.0002, "sigma": 0.1, "noise": "input", "skip": False, "image_discriminator": False,
            "adv_weight": 1.0, "recon_weight": 1.0, "recon_loss": "mse", "batch_size": 64, "latent_dim": 8,
            "activation": "leaky_relu", "init": "normal_002", "width": 16, "beta1": 0.5, "beta2": 0.999, "d_steps": 1,
            "real_label": 1.0, "adv_loss": "bce", "epochs": 2,
        },
        "metric_names": [
            "class_coverage", "class_kl", "eval_seconds", "fid", "inception_score", "log_likelihood", "log_likelihood_se",
            "loss", "loss_d", "loss_g", "mode_collapse", "mse", "parzen_sigma", "precision", "recall", "seed", "ssim",
            "train_seconds", "validate_seconds",
        ],
        "curves": {
            "recon": [0.17117470189144737, 0.15773968947561165],
            "loss_g": [0.6948648251985249, 0.6989219565140573],
            "loss_d": [1.3821568740041632, 1.3718167355186062],
            "val_loss": [0.1783307045698166, 0.17724761366844177],
            "val_loss_d": [1.3793690204620361, 1.3681449890136719],
            "val_loss_g": [0.6945123076438904, 0.6972441077232361],
        },
        "metrics": {
            "loss": 0.1779443919658661,
            "mse": 0.17794440686702728,
            "ssim": 0.009912945330142975,
            "loss_g": 0.6971412897109985,
            "loss_d": 1.3696701526641846,
            "log_likelihood": -36.08556625135855,
            "log_likelihood_se": 0.09206077206789885,
            "parzen_sigma": 0.46415888336127786,
        },
    },
}


def run_family(family: str, workdir: Path, runs: Path) -> optuna.trial.FrozenTrial:
    """Write the family's spec into ``workdir``, run it with the CLI (storage and caches in
    ``runs``), return its only trial."""
    spec = workdir / f"{family}.yaml"
    spec.write_text(yaml.safe_dump({"objective": family, **SPEC_COMMON, "fixed": FIXED[family]}, sort_keys=False))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # PYTHONPATH passes through: it picks the genstudy under test
    proc = subprocess.run(
        [sys.executable, "-m", "genstudy.cli", "-q", "run", str(spec), "--runs-dir", str(runs),
         "--ray-address", "none", "--device", "cpu"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    journal = runs / f"{family}.journal"  # RUNS_DIR/STUDY.journal, the study named after the spec file
    storage = JournalStorage(JournalFileBackend(str(journal)))
    trials = optuna.load_study(study_name=family, storage=storage).get_trials(deepcopy=False)
    assert len(trials) == 1, [t.state for t in trials]
    return trials[0]


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runs dir for the four cases: the domain classifier is trained once and cached (each study
    has its own journal). The pinned values are the same with a fresh or a cached classifier."""
    return tmp_path_factory.mktemp("pinned-runs")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["vae", "gan", "cgan", "gan_ae"])
def test_pinned_family_run(family: str, tmp_path: Path, shared_runs: Path) -> None:
    pinned = PINNED[family]
    trial = run_family(family, tmp_path, shared_runs)
    attrs = trial.user_attrs

    assert trial.state == optuna.trial.TrialState.COMPLETE, attrs.get("prune_reason")
    assert trial.params == {}
    assert attrs["params_resolved"] == pinned["params_resolved"]

    curves = attrs["curves"]
    assert sorted(curves) == sorted(pinned["curves"])
    for key, values in pinned["curves"].items():
        assert curves[key] == pytest.approx(values, rel=REL), key

    assert sorted(pinned["metrics"]) == sorted(CLASSIFIER_FREE[family])
    for name, value in pinned["metrics"].items():
        assert attrs[name] == pytest.approx(value, rel=REL), name
    assert trial.values == pytest.approx([pinned["metrics"]["loss"]], rel=REL)

    # last, so that a failure here means every pinned value above matched
    expected = set(pinned["metric_names"]) - CLASSIFIER_METRICS  # metrics [loss]: no classifier loaded
    names = set(attrs["seeds"][0])
    missing, extra = sorted(expected - names), sorted(names - expected)
    assert not missing and not extra, f"metric names differ: missing {missing}, extra {extra}"
    assert expected - {"seed"} <= set(attrs)
    assert "classifier_sha256" not in attrs and "fid_floor" not in attrs
