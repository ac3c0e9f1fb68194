"""Parameters become axes in the scale they are searched in; odd search spaces are handled."""

from __future__ import annotations

import math

import numpy as np
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState, create_trial

from genstudy.analysis import axes_from_trials


def _trial(params: dict, dists: dict):
    return create_trial(params=params, distributions=dists, value=0.0, state=TrialState.COMPLETE)


def test_each_distribution_gets_its_own_scale() -> None:
    dists = {
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "beta": FloatDistribution(0.5, 2.0),
        "latent_dim": IntDistribution(8, 32),
        "width": IntDistribution(4, 64, log=True),
        "batch_size": CategoricalDistribution([32, 64, 128]),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),
    }
    params = {"lr": 1e-3, "beta": 1.0, "latent_dim": 16, "width": 16, "batch_size": 64, "dropout": 0.2}
    axes = {a.name: a for a in axes_from_trials([_trial(params, dists)])}
    assert (axes["lr"].low, axes["lr"].high) == pytest.approx((-5, -1)) and axes["lr"].label == "log10(lr)"
    assert axes["lr"].encode([1e-3])[0] == pytest.approx(-3)
    assert (axes["beta"].low, axes["beta"].high) == (0.5, 2.0)
    assert (axes["latent_dim"].low, axes["latent_dim"].high) == (7.5, 32.5)  # unit cells around integers
    assert (axes["width"].low, axes["width"].high) == pytest.approx((math.log10(3.5), math.log10(64.5)))
    assert (axes["batch_size"].low, axes["batch_size"].high) == (-0.5, 2.5)  # one unit cell per category
    assert list(axes["batch_size"].encode([128, 32])) == [2.0, 0.0]
    assert axes["batch_size"].display(np.array([1.0])) == [64]
    assert (axes["dropout"].low, axes["dropout"].high) == pytest.approx((-0.05, 0.55))


def test_changed_ranges_merge_and_odd_params_are_left_out(caplog) -> None:
    a = {"lr": FloatDistribution(1e-4, 1e-2, log=True), "kind": CategoricalDistribution(["x", "y"]),
         "fixed": IntDistribution(3, 3), "maybe": FloatDistribution(0, 1)}
    b = {"lr": FloatDistribution(1e-5, 1e-3, log=True), "kind": CategoricalDistribution(["y", "z"]),
         "fixed": IntDistribution(3, 3)}
    trials = [_trial({"lr": 1e-3, "kind": "x", "fixed": 3, "maybe": 0.5}, a),
              _trial({"lr": 1e-4, "kind": "z", "fixed": 3}, b)]
    axes = {x.name: x for x in axes_from_trials(trials)}
    assert set(axes) == {"lr", "kind"}  # 'fixed' has one value, 'maybe' is missing from a trial
    assert (axes["lr"].low, axes["lr"].high) == pytest.approx((-5, -2))
    assert axes["kind"].choices == ("x", "y", "z")
    assert "maybe is missing from 1 of 2 trials" in caplog.text


def test_categories_of_different_types_stay_apart() -> None:
    dists = {"c": CategoricalDistribution([1, True, "1"])}
    axes = axes_from_trials([_trial({"c": True}, dists)])
    assert list(axes[0].encode([1, True, "1"])) == [0.0, 1.0, 2.0]
