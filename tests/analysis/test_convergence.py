"""The convergence classifier on synthetic curves of each class, and early-epoch correlation."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from genstudy.analysis import (
    CLASSES,
    RULE,
    Target,
    classify_curve,
    convergence_data,
    early_correlation,
    trial_table,
)
from tests.analysis.conftest import add_trials

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names

EPOCHS = np.arange(1, 31)
RNG = np.random.default_rng(0)
STABLE = 0.2 + np.exp(-EPOCHS / 6) + RNG.normal(0, 0.003, 30)  # smooth decay to a good value
OSCILLATING = 0.3 + np.exp(-EPOCHS / 6) + 0.15 * np.sin(EPOCHS * 1.3)  # descends while swinging
PLATEAU = 0.7 + 0.3 * np.exp(-EPOCHS / 1.5)  # flat from epoch ~5, at a poor value
DIVERGED = np.concatenate([1 / EPOCHS[:15], 1 / 15 * np.exp(EPOCHS[:15] / 3)])  # improves, then blows up
REFERENCE = 0.35  # the study's median final value


@pytest.mark.parametrize(("curve", "expected"), [
    (STABLE, "stable"), (OSCILLATING, "oscillating"), (PLATEAU, "premature plateau"), (DIVERGED, "diverged"),
])
def test_each_class_is_recognised(curve: np.ndarray, expected: str) -> None:
    assert classify_curve(curve, reference=REFERENCE) == expected
    # a metric that improves upwards (a log-likelihood) gives the same class when mirrored
    assert classify_curve(-curve, maximize=True, reference=-REFERENCE) == expected


def test_edge_cases() -> None:
    assert classify_curve([1.0, 0.5, math.nan]) == "diverged"
    assert classify_curve([1.0, 0.5, 0.4], diverged_reason=True) == "diverged"
    assert classify_curve([1.0, 0.5]) == "too short"
    assert classify_curve([1.0, 1.2, 1.5, 2.0]) == "diverged"  # ends worse than it started
    assert classify_curve([0.5] * 10, reference=0.3) == "premature plateau"  # never improved, worse than most
    # a curve that settles early at a value better than most trials is not premature
    assert classify_curve(PLATEAU - 0.6, reference=REFERENCE) == "stable"
    assert set(CLASSES) == {"stable", "oscillating", "premature plateau", "diverged"}
    assert all(c in RULE for c in CLASSES)


def _curve_trial(number_value: float, curve: list[float], state: TrialState = TrialState.COMPLETE, **attrs):
    return create_trial(params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)}, state=state,
                        value=number_value if state == TrialState.COMPLETE else None,
                        user_attrs={"curves": {"val_loss": curve, "train_loss": curve}, **attrs})


def test_convergence_data_reads_pruned_trials_and_their_reason() -> None:
    study = optuna.create_study()
    study.add_trials([
        _curve_trial(0.2, list(STABLE)), _curve_trial(0.3, list(STABLE + 0.01)), _curve_trial(0.9, list(PLATEAU)),
        _curve_trial(0.0, [1.0, 0.6, 0.5], TrialState.PRUNED, prune_reason="diverged: non-finite loss at epoch 4"),
        _curve_trial(0.0, [1.0, math.nan, math.nan], TrialState.PRUNED),
    ])
    conv = convergence_data(study.trials)
    assert conv.curve == "val_loss"
    assert conv.classes == ["stable", "stable", "premature plateau", "diverged", "diverged"]
    assert conv.states[3] == "PRUNED"
    assert conv.counts()["diverged"] == 2


def test_early_epochs_predict_the_final_value() -> None:
    study = optuna.create_study()
    study.set_metric_names(["fid"])

    def attrs(p, i):
        final = 10 + 20 * p["x"]  # the final fid; early epochs are a noisy, monotone function of it
        return {"curves": {"val_fid": [final * 3 + RNG.normal(0, 5), final * 1.5 + RNG.normal(0, 0.5), final]}}

    add_trials(study, {"x": FloatDistribution(0, 1)}, lambda r: {"x": float(r.uniform())}, lambda p: 10 + 20 * p["x"],
               n=40, attrs=attrs)
    early = early_correlation(trial_table(study.trials, Target("fid", "value", 0, "minimize")))
    assert early.curve == "val_fid" and early.epochs == [1, 2, 3] and early.n == [40, 40, 40]
    assert 0.5 < early.rho[0] < early.rho[1] < early.rho[2] == pytest.approx(1.0)
