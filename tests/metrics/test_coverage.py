"""class_coverage and label_accuracy on hand-built label sets with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from genstudy.metrics import CLASS_COVERAGE, CLASS_KL, MODE_COLLAPSE, class_coverage, label_accuracy

BALANCED_TEST = torch.arange(1000) % 10  # 100 test images per class


def _labels(counts: dict[int, int]) -> torch.Tensor:
    return torch.cat([torch.full((n,), c) for c, n in counts.items()])


def test_samples_covering_three_of_ten_classes() -> None:
    pred = _labels({0: 100, 4: 100, 7: 100})
    result = class_coverage(pred, BALANCED_TEST, n_classes=10, smoothing=0.0)
    assert result.n_present == 3
    assert result.coverage == pytest.approx(0.3)
    assert result.counts == (100, 0, 0, 0, 100, 0, 0, 100, 0, 0)
    # KL(1/3 on 3 classes || 1/10 on 10) = log(10 / 3)
    assert result.kl == pytest.approx(math.log(10 / 3), abs=1e-12)
    assert result.mode_collapse
    assert result.metrics() == {CLASS_COVERAGE: 0.3, CLASS_KL: result.kl, MODE_COLLAPSE: True}


def test_stray_predictions_below_a_quarter_of_the_fair_share_do_not_count() -> None:
    # 1000 samples, 10 classes: a class needs 1000 / 40 = 25 predictions to be present
    pred = _labels({0: 300, 1: 300, 2: 250, 3: 100, 4: 25, 5: 24, 6: 1})
    result = class_coverage(pred, BALANCED_TEST, n_classes=10)
    assert result.n_present == 5  # classes 0-4; 5 and 6 are stray
    assert not result.mode_collapse  # 5 of 10 is not fewer than half


def test_min_fraction_overrides_the_threshold() -> None:
    pred = _labels({0: 90, 1: 9, 2: 1})
    assert class_coverage(pred, BALANCED_TEST, n_classes=10, min_fraction=0.01).n_present == 3
    assert class_coverage(pred, BALANCED_TEST, n_classes=10, min_fraction=0.05).n_present == 2


@pytest.mark.parametrize("n_present, collapsed", [(1, True), (4, True), (5, False), (10, False)])
def test_mode_collapse_flag_is_fewer_than_half_the_classes(n_present: int, collapsed: bool) -> None:
    pred = torch.arange(100 * n_present) % n_present
    result = class_coverage(pred, BALANCED_TEST, n_classes=10)
    assert result.n_present == n_present
    assert result.mode_collapse is collapsed


def test_collapse_below_is_configurable() -> None:
    pred = torch.arange(800) % 8
    assert not class_coverage(pred, BALANCED_TEST, n_classes=10).mode_collapse
    assert class_coverage(pred, BALANCED_TEST, n_classes=10, collapse_below=0.9).mode_collapse


def test_kl_of_a_two_class_histogram() -> None:
    pred, test = _labels({0: 3, 1: 1}), _labels({0: 5, 1: 5})
    unsmoothed = class_coverage(pred, test, n_classes=2, smoothing=0.0).kl
    assert unsmoothed == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-12)
    # smoothing 0.5: p = (3.5, 1.5) / 5, q = (5.5, 5.5) / 11
    smoothed = class_coverage(pred, test, n_classes=2).kl
    assert smoothed == pytest.approx(0.7 * math.log(1.4) + 0.3 * math.log(0.6), abs=1e-12)


def test_matching_histograms_have_zero_kl() -> None:
    result = class_coverage(BALANCED_TEST.flip(0), BALANCED_TEST, n_classes=10)
    assert result.kl == 0.0
    assert result.coverage == 1.0 and not result.mode_collapse


def test_one_class_against_a_balanced_test_set_has_kl_log_c() -> None:
    result = class_coverage(torch.full((500,), 3), BALANCED_TEST, n_classes=10, smoothing=0.0)
    assert result.kl == pytest.approx(math.log(10), abs=1e-12)


def test_smoothing_keeps_kl_finite_when_the_test_split_lacks_a_class() -> None:
    pred, test = _labels({0: 10, 1: 10, 2: 10}), _labels({0: 10, 1: 10})
    assert class_coverage(pred, test, n_classes=3, smoothing=0.0).kl == math.inf
    assert math.isfinite(class_coverage(pred, test, n_classes=3).kl)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_classes": 1}, "n_classes must be an int >= 2"),
    ({"n_classes": 10, "min_fraction": 0.0}, "min_fraction"),
    ({"n_classes": 10, "smoothing": -1.0}, "smoothing"),
    ({"n_classes": 10, "collapse_below": 2.0}, "collapse_below"),
    ({"n_classes": 3}, r"pred_labels must lie in \[0, 2\]"),
])
def test_bad_arguments_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        class_coverage(torch.arange(10) % 5, BALANCED_TEST % 3, **kwargs)


def test_float_labels_are_rejected_with_a_hint() -> None:
    with pytest.raises(ValueError, match="argmax"):
        class_coverage(torch.zeros(10, 3), BALANCED_TEST, n_classes=10)


def test_label_accuracy_counts_agreement_with_the_intended_labels() -> None:
    intended = torch.arange(10) % 5
    predicted = intended.clone()
    predicted[[1, 4, 8]] = (predicted[[1, 4, 8]] + 1) % 5  # 3 of 10 wrong
    logits = torch.nn.functional.one_hot(predicted, 5).float() * 4.0 - 1.0
    assert label_accuracy(logits, intended) == pytest.approx(0.7)
    assert label_accuracy(torch.nn.functional.one_hot(intended, 5).float(), intended) == 1.0


def test_label_accuracy_rejects_mismatched_or_out_of_range_labels() -> None:
    logits = torch.zeros(6, 4)
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        label_accuracy(logits, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        label_accuracy(logits, torch.full((6,), 4))
