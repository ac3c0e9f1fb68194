"""inception_score: exact values on hand-built predictions and the reference code of Salimans et al."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch

from genstudy.metrics import inception_score

CONFIDENT = 1000.0  # logit margin: softmax gives exactly 1 and 0 in float64


def _confident_logits(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    return CONFIDENT * torch.nn.functional.one_hot(labels, n_classes).double()


def _reference(logits: np.ndarray, splits: int) -> tuple[float, float]:
    """The original improved-GAN code (Salimans et al. 2016), on softmax probabilities."""
    preds = scipy.special.softmax(logits, axis=1)
    n = len(preds)
    scores = []
    for k in range(splits):
        part = preds[k * (n // splits) : (k + 1) * (n // splits)]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize("splits", [1, 4])
def test_uniform_predictions_score_one(splits: int) -> None:
    mean, std = inception_score(torch.zeros(200, 10), splits=splits)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("n_classes", [2, 4, 10])
def test_confident_predictions_spread_evenly_score_the_number_of_classes(n_classes: int) -> None:
    labels = torch.arange(100 * n_classes) % n_classes  # every split of 10 holds each class equally
    mean, std = inception_score(_confident_logits(labels, n_classes), splits=10)
    assert mean == pytest.approx(n_classes, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_one_class_scores_one() -> None:
    labels = torch.full((300,), 2)
    mean, _ = inception_score(_confident_logits(labels, 10), splits=3)
    assert mean == pytest.approx(1.0, abs=1e-12)


def test_minus_infinity_logits_are_probability_zero() -> None:
    labels = torch.arange(40) % 4
    logits = torch.where(torch.nn.functional.one_hot(labels, 4).bool(), 0.0, float("-inf"))
    assert inception_score(logits, splits=2)[0] == pytest.approx(4.0, rel=1e-12)


@pytest.mark.parametrize("splits", [1, 5, 10])
def test_matches_the_original_code_on_random_logits(splits: int) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(500, 10))
    expected_mean, expected_std = _reference(logits, splits)
    mean, std = inception_score(torch.from_numpy(logits).float(), splits=splits)
    # tolerance rel 1e-6: the float32 logits round the reference's float64 inputs
    assert mean == pytest.approx(expected_mean, rel=1e-6)
    assert std == pytest.approx(expected_std, rel=1e-4, abs=1e-9)
    assert 1.0 <= mean <= 10.0


def test_half_the_classes_score_half() -> None:
    labels = (torch.arange(600) % 5) * 2  # confident, even over classes 0, 2, 4, 6, 8 of 10
    assert inception_score(_confident_logits(labels, 10), splits=6)[0] == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize("logits, splits, match", [
    (torch.zeros(10), 1, r"shape \(N, C\)"),
    (torch.zeros(5, 3), 6, r"splits must be an int in \[1, N=5\]"),
    (torch.zeros(5, 3), 0, "splits"),
    (torch.full((5, 3), float("nan")), 1, "NaN"),
])
def test_bad_inputs_are_rejected(logits: torch.Tensor, splits: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        inception_score(logits, splits=splits)
