"""The end-of-run results table: the study's own metrics as columns, then its family's summary metrics."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from genstudy import names
from genstudy.report import format_table, metric_columns, results_rows
from genstudy.spec import parse_spec
from tests.conftest import TINY_SPEC


def _spec(metrics: list[str], table_metrics: tuple[str, ...] | None = None) -> SimpleNamespace:
    spec = SimpleNamespace(metrics=metrics, search_space={"lr": {}})
    if table_metrics is not None:
        spec.table_metrics = table_metrics
    return spec


def test_columns_are_the_study_metrics_then_the_family_s_without_repeats() -> None:
    assert metric_columns(_spec(["ssim", "fid"], ("fid", "log_likelihood", "loss"))) == (
        "ssim", "fid", "log_likelihood", "loss")
    assert metric_columns(_spec(["sharpness"])) == ("sharpness",)  # a family that declares no summary metrics


def test_a_vae_study_shows_its_own_metrics_first() -> None:
    assert metric_columns(parse_spec(dict(TINY_SPEC, metrics=["fid"]))) == ("fid", "log_likelihood", "loss")
    ssim_first = dict(TINY_SPEC, metrics=["ssim", "loss"])
    assert metric_columns(parse_spec(ssim_first)) == ("ssim", "loss", "fid", "log_likelihood")


def test_rows_show_each_trial_s_metrics_state_and_why_it_ended() -> None:
    study = optuna.create_study()
    lr = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}
    study.add_trials([
        create_trial(params={"lr": 1e-3}, distributions=lr, value=0.9, user_attrs={"sharpness": 0.9, "loss": 2.0}),
        create_trial(params={"lr": 1e-1}, distributions=lr, state=TrialState.PRUNED,
                     user_attrs={names.PRUNE_REASON: "diverged at epoch 3: loss is nan"}),
        create_trial(params={"lr": 1e-2}, distributions=lr, state=TrialState.FAIL,
                     user_attrs={names.FAIL_REASON: "RuntimeError: CUDA out of memory"}),
        create_trial(params={"lr": 1e-3}, distributions=lr, value=0.8,
                     user_attrs={"sharpness": 0.8, names.VALIDATION_OF: 0, names.VALIDATION_SEEDS: [7, 8, 9]}),
    ])
    rows = results_rows(study, _spec(["sharpness"], ("loss",)))
    assert list(rows[0]) == ["trial", "lr", "sharpness", "loss", "state"]
    assert (rows[0]["sharpness"], rows[0]["loss"], rows[0]["state"]) == (0.9, 2.0, "COMPLETE")
    assert [r.get("note") for r in rows] == [None, "diverged at epoch 3: loss is nan", "RuntimeError: CUDA out of memory",
                                             "validation of trial 0 (3 fresh seeds)"]
    text = format_table(rows).splitlines()
    assert text[0].split() == ["trial", "lr", "sharpness", "loss", "state", "note"]
    assert text[3].split()[:4] == ["1", "0.1", "-", "-"]  # a pruned trial has no metrics
