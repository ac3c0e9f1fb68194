"""Pareto fronts of objectives and of stored metrics."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution

from genstudy import names
from genstudy.analysis import pareto_mask, resolve_targets, tradeoffs
from tests.analysis.conftest import add_trials

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names


def test_pareto_mask_with_mixed_directions() -> None:
    # minimise fid, maximise log_likelihood
    points = np.array([[10, -50], [12, -40], [11, -60], [15, -40], [9, -70], [10, -50]])
    mask = pareto_mask(points, ["minimize", "maximize"])
    # [11,-60] is beaten by [10,-50]; [15,-40] by [12,-40]; equal points do not dominate each other
    assert list(mask) == [True, True, False, False, True, True]
    assert list(pareto_mask(points, ["minimize", "minimize"])) == [False, False, False, False, True, False]
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        pareto_mask(points, ["minimize"] * 3)


def test_tradeoffs_cover_objectives_then_stored_metrics() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    study.set_metric_names(["fid", "log_likelihood"])

    def attrs(p, i):
        return {"fid": 10 + p["x"], "log_likelihood": -5 * p["x"], "loss": 1 - p["x"], "fid_floor": 1.0,
                "train_seconds": 3.0 + p["x"]}

    add_trials(study, {"x": FloatDistribution(0, 1)}, lambda r: {"x": float(r.uniform())},
               lambda p: (10 + p["x"] ** 2, -(p["x"] - 0.5) ** 2), n=30, attrs=attrs)
    data = tradeoffs(study, study.trials, resolve_targets(study, None, study.trials))
    names = [(d.x_name, d.y_name) for d in data]
    assert names[0] == ("fid", "log_likelihood")  # the two objectives
    assert data[0].x_direction == "minimize" and data[0].y_direction == "maximize"
    assert ("fid", "loss") in names and not any("fid_floor" in n or "train_seconds" in n for n in names)
    front = data[0].front_numbers
    # objectives: below x = 0.5 a lower fid costs log-likelihood; above it both get worse
    xs = {t.number: t.params["x"] for t in study.trials}
    best_fid, best_ll = min(xs, key=xs.get), min(xs, key=lambda n: abs(xs[n] - 0.5))
    assert best_fid in front and best_ll in front
    assert all(xs[n] <= xs[best_ll] for n in front)


def test_stored_metrics_pair_when_the_study_s_family_declares_them() -> None:
    study = optuna.create_study(directions=["minimize"])
    study.set_user_attr(names.SPEC, {"objective": "cgan", "metrics": ["fid"]})

    def attrs(p, i):
        return {"fid": 10 + p["x"], "label_accuracy": 0.5 + p["x"] / 2, f"fid{names.STD_SUFFIX}": p["x"],
                names.CLASSIFIER_ACCURACY: 0.99 - p["x"] / 10, "fid_floor": 1.0 + p["x"],
                names.TRAIN_SECONDS: 3.0 + p["x"], names.EVAL_SECONDS: 1.0 + p["x"]}

    add_trials(study, {"x": FloatDistribution(0, 1)}, lambda r: {"x": float(r.uniform())}, lambda p: 10 + p["x"],
               n=20, attrs=attrs)
    data = tradeoffs(study, study.trials, resolve_targets(study, None, study.trials))
    # label_accuracy is a cGAN metric (maximised); the classifier's accuracy, the FID floor, spreads and
    # timings are bookkeeping
    assert [(d.x_name, d.y_name, d.y_direction) for d in data] == [("fid", "label_accuracy", "maximize")]
    # a lower x buys a lower fid with a lower accuracy: every trial is on the front
    assert data[0].front_numbers == [t.number for t in study.trials]
