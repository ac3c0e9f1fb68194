"""GAN, conditional GAN and GAN-AE objectives, one short study each on toy data."""

from __future__ import annotations

import copy

import optuna
import pytest
import torch

from genstudy.runner import run_study
from genstudy.spec import load_spec
from genstudy.workers import WorkerSettings
from tests.conftest import TINY_SPEC

S = optuna.trial.TrialState

GENERATIVE = ("fid", "inception_score", "class_coverage", "class_kl", "precision", "recall", "log_likelihood",
              "log_likelihood_se", "parzen_sigma", "loss", "train_seconds", "eval_seconds")
EXTRA = {
    "gan": ("loss_g", "loss_d"),
    "cgan": ("loss_g", "loss_d", "label_accuracy"),
    "gan_ae": ("loss_g", "loss_d", "mse", "ssim"),
}


def _spec(objective: str, **changes) -> dict:
    data = copy.deepcopy(TINY_SPEC)
    lr = "lr" if objective == "gan_ae" else "g_lr"
    data.update(objective=objective, search_space={lr: {"type": "float", "low": 1e-4, "high": 1e-3, "log": True}},
                fixed={"width": 8, "batch_size": 64, "latent_dim": 8}, budget={"epochs": 1, "n_trials": 1})
    data.update(changes)
    return data


def _run(write_spec, tmp_path, spec: dict, n_trials: int = 1) -> optuna.Study:
    return run_study(WorkerSettings(spec=load_spec(write_spec(spec)), study_name="t", n_trials=n_trials, create=True,
                     runs_dir=tmp_path / "runs", device="cpu")).study


@pytest.mark.parametrize("objective", ["gan", "cgan", "gan_ae"])
def test_one_epoch_reports_every_metric_curve_and_artifact(write_spec, tmp_path, objective: str) -> None:
    study = _run(write_spec, tmp_path, _spec(objective))
    (t,) = study.trials
    assert t.state == S.COMPLETE, t.user_attrs
    for key in GENERATIVE + EXTRA[objective]:
        assert isinstance(t.user_attrs.get(key), float), key
    assert 0 <= t.user_attrs["class_coverage"] <= 1 and 0 <= t.user_attrs["precision"] <= 1
    assert t.user_attrs["fid"] > t.user_attrs["fid_floor"]
    assert t.user_attrs["log_likelihood_estimator"].startswith("parzen")
    assert t.value == pytest.approx(t.user_attrs["fid"])
    assert t.intermediate_values and len(t.user_attrs["curves"]["val_fid"]) == 1
    assert {"loss_d", "loss_g"} <= set(t.user_attrs["curves"])
    store = tmp_path / "runs" / "artifacts"
    assert (store / t.user_attrs["artifact:samples.png"]).read_bytes()[:4] == b"\x89PNG"
    ckpt = torch.load(store / t.user_attrs["artifact:checkpoint.pt"], weights_only=True)
    assert ckpt["extra"]["params"]["latent_dim"] == 8 and ckpt["config"]["fields"]["latent_dim"] == 8


def test_plain_autoencoder_has_no_discriminator_losses(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec("gan_ae", fixed={"width": 8, "batch_size": 64, "latent_dim": 8,
                                                              "adv_weight": 0.0, "sigma": 0.0}))
    (t,) = study.trials
    assert t.state == S.COMPLETE and "loss_d" not in t.user_attrs and t.user_attrs["mse"] < 0.2


def test_a_collapsing_discriminator_is_pruned_and_the_study_goes_on(write_spec, tmp_path) -> None:
    # D trained 5x per step at a large rate against a frozen G wins completely: hinge loss_d -> 0
    spec = _spec("gan", fixed={"width": 8, "batch_size": 64, "latent_dim": 8, "g_lr": 1e-7, "d_lr": 1e-2,
                               "d_steps": 5, "adv_loss": "hinge"},
                 search_space={"beta1": {"type": "categorical", "choices": [0.0, 0.5]}},
                 sampler={"name": "grid", "seed": 0}, budget={"epochs": 3, "n_trials": 2})
    study = _run(write_spec, tmp_path, spec, n_trials=2)
    assert [t.state for t in study.trials] == [S.PRUNED, S.PRUNED]
    for t in study.trials:
        assert "discriminator collapsed" in t.user_attrs["prune_reason"]
        assert t.user_attrs["curves"]["loss_d"], "the curve up to the collapse is kept"
