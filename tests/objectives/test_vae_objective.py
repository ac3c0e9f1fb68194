"""The VAE objective through the library call behind the CLI, on toy data (seconds each)."""

from __future__ import annotations

import copy
import itertools
import statistics

import optuna
import pytest

from genstudy.models import VAE, load_checkpoint
from genstudy.runner import run_study
from genstudy.spec import load_spec
from genstudy.workers import WorkerSettings
from tests.conftest import TINY_SPEC

S = optuna.trial.TrialState


def _spec(**changes) -> dict:
    data = copy.deepcopy(TINY_SPEC)
    data.update(changes)
    return data


def _run(write_spec, tmp_path, spec: dict, n_trials: int) -> optuna.Study:
    parsed = load_spec(write_spec(spec))
    return run_study(WorkerSettings(spec=parsed, study_name="t", n_trials=n_trials, create=True, runs_dir=tmp_path / "runs", device="cpu")).study


def test_repeats_train_each_seed_and_return_their_mean(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec(repeats=2, budget={"epochs": 1, "n_trials": 1}), 1)
    (trial,) = study.trials
    seeds = trial.user_attrs["seeds"]
    assert [s["seed"] for s in seeds] == [0, 1]
    assert seeds[0]["fid"] != seeds[1]["fid"]  # really two different models
    assert trial.value == pytest.approx((seeds[0]["fid"] + seeds[1]["fid"]) / 2)
    assert trial.user_attrs["log_likelihood"] == pytest.approx((seeds[0]["log_likelihood"] + seeds[1]["log_likelihood"]) / 2)


def test_every_epoch_is_reported_and_curves_are_kept(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec(budget={"epochs": 3, "n_trials": 2}, pruner={"name": "median"}), 2)
    for t in study.trials:
        assert sorted(t.intermediate_values) == [1, 2, 3][: len(t.intermediate_values)]
        curves = t.user_attrs["curves"]
        assert len(curves["train_loss"]) == len(curves["val_loss"]) == len(curves["val_fid"]) == len(t.intermediate_values)
        assert list(t.intermediate_values.values()) == pytest.approx(curves["val_fid"])
    first = study.trials[0]
    assert first.state == S.COMPLETE and first.user_attrs["curves"]["train_loss"][-1] < first.user_attrs["curves"]["train_loss"][0]


def test_grid_sampler_visits_every_point_once(write_spec, tmp_path) -> None:
    space = {"lr": {"type": "categorical", "choices": [0.001, 0.003]}, "latent_dim": {"type": "int", "low": 2, "high": 4, "step": 2}}
    study = _run(write_spec, tmp_path, _spec(sampler={"name": "grid", "seed": 0}, search_space=space, budget={"epochs": 1, "n_trials": 4}), 4)
    seen = sorted((t.params["lr"], t.params["latent_dim"]) for t in study.trials)
    assert seen == sorted(itertools.product([0.001, 0.003], [2, 4]))


def test_two_metrics_make_a_multi_objective_study(write_spec, tmp_path) -> None:
    spec = _spec(metrics=["fid", "log_likelihood"], pruner={"name": "none"}, budget={"epochs": 1, "n_trials": 1})
    study = _run(write_spec, tmp_path, spec, 1)
    assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
    (t,) = study.trials
    assert t.values == pytest.approx([t.user_attrs["fid"], t.user_attrs["log_likelihood"]])
    assert t.intermediate_values == {}  # Optuna refuses reports in multi-objective studies
    assert len(t.user_attrs["curves"]["val_fid"]) == 1


def test_a_diverging_trial_is_pruned_with_its_reason(write_spec, tmp_path, monkeypatch) -> None:
    from genstudy.families import vae as _vae
    from genstudy.families._train import DivergedError

    def diverge(*args, **kwargs):
        raise DivergedError("training loss became nan (non-finite); lower lr or batch_size")

    monkeypatch.setattr(_vae, "train_vae_epoch", diverge)
    study = _run(write_spec, tmp_path, _spec(budget={"epochs": 2, "n_trials": 2}), 2)
    assert [t.state for t in study.trials] == [S.PRUNED, S.PRUNED]
    assert study.trials[0].user_attrs["prune_reason"].startswith("diverged at epoch 1: training loss became nan")


def test_hyperband_and_random_sampler_run(write_spec, tmp_path) -> None:
    spec = _spec(sampler={"name": "random", "seed": 3}, pruner={"name": "hyperband"}, budget={"epochs": 2, "n_trials": 3})
    study = _run(write_spec, tmp_path, spec, 3)
    assert all(t.state in (S.COMPLETE, S.PRUNED) for t in study.trials) and len(study.trials) == 3


def test_artifacts_are_uploaded_and_load_safely(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec(budget={"epochs": 1, "n_trials": 1}), 1)
    (t,) = study.trials
    store = tmp_path / "runs" / "artifacts"
    assert (store / t.user_attrs["artifact:samples.png"]).read_bytes()[:4] == b"\x89PNG"
    meta = optuna.artifacts.get_all_artifact_meta(t, storage=study._storage)
    assert sorted(m.filename for m in meta) == ["checkpoint.pt", "samples.png"]  # what the dashboard lists
    ckpt = load_checkpoint(store / t.user_attrs["artifact:checkpoint.pt"])  # torch.load(weights_only=True) inside
    model = VAE(ckpt.config)
    ckpt.load_into({"vae": model})  # the checkpoint restores the trained model
    assert ckpt.config.latent_dim == t.params["latent_dim"] and ckpt.extra["params"]["lr"] == t.params["lr"]


def test_repeats_store_the_spread_across_seeds(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec(repeats=3, budget={"epochs": 1, "n_trials": 1}), 1)
    (t,) = study.trials
    fids = [s["fid"] for s in t.user_attrs["seeds"]]
    assert t.user_attrs["fid_std"] == pytest.approx(statistics.stdev(fids))


def test_median_rule_prunes_in_multi_objective_studies(write_spec, tmp_path) -> None:
    spec = _spec(metrics=["fid", "log_likelihood"], pruner={"name": "median", "n_startup_trials": 1, "n_warmup_steps": 0},
                 budget={"epochs": 2, "n_trials": 2}, fixed={"width": 8, "batch_size": 64, "latent_dim": 4},
                 search_space={"lr": {"type": "categorical", "choices": [0.003, 1e-6]}})
    parsed = load_spec(write_spec(spec))
    study = run_study(WorkerSettings(spec=parsed, study_name="t", n_trials=0, create=True, runs_dir=tmp_path / "runs", device="cpu")).study
    study.enqueue_trial({"lr": 0.003})
    study.enqueue_trial({"lr": 1e-6})  # barely moves from its initialisation: worse than the median at epoch 1
    run_study(WorkerSettings(spec=parsed, study_name="t", n_trials=2, create=True, runs_dir=tmp_path / "runs", device="cpu"))
    good, bad = optuna.load_study(study_name="t", storage=study._storage).trials
    assert good.state == S.COMPLETE and bad.state == S.PRUNED
    assert bad.user_attrs["prune_reason"].startswith("median rule on fid at epoch 1")


def test_vae_reports_iwae_and_parzen_and_the_sample_metrics(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec(budget={"epochs": 1, "n_trials": 1}), 1)
    (t,) = study.trials
    a = t.user_attrs
    assert a["log_likelihood_estimator"].startswith("iwae")
    for key in ("log_likelihood", "log_likelihood_parzen", "log_likelihood_parzen_se", "parzen_sigma",
                "inception_score", "precision", "recall", "class_coverage", "class_kl"):
        assert isinstance(a[key], float), key
    assert a["log_likelihood"] != a["log_likelihood_parzen"]


def test_a_maximised_sample_metric_is_reported_per_epoch_in_its_own_direction(write_spec, tmp_path) -> None:
    study = _run(write_spec, tmp_path, _spec(metrics=["precision"], budget={"epochs": 2, "n_trials": 1}), 1)
    (t,) = study.trials
    assert [d.name for d in study.directions] == ["MAXIMIZE"]
    assert all(0.0 <= v <= 1.0 for v in t.intermediate_values.values())  # precisions, not losses
