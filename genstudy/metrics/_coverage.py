"""Class coverage of generated samples, a mode-collapse flag, and conditional label accuracy.

Generated images are labelled by the domain classifier; the histogram of those predicted labels is
compared with the test split's true labels.

Rules (all documented defaults, all keyword-overridable):

- A class is **present** when at least ``min_fraction`` of the generated samples are predicted as
  it; the default is ``1 / (4 C)``, a quarter of a class's fair share (25 of 1000 samples for
  C = 10). A stray count from classifier errors or a few garbage samples does not make a class
  present; a class the generator makes at a quarter of its rate or more does.
- ``class_coverage`` is the **fraction** of the C classes present, in [0, 1].
- ``class_kl`` is KL(generated || test) of the two label histograms, in nats, after adding
  ``smoothing`` pseudo-counts (default 0.5, Jeffreys) to every class of both, so it stays finite
  when the test split lacks a class. 0 for matching histograms; log C for all samples in one class
  of a balanced test set (without smoothing).
- ``mode_collapse`` is True when fewer than ``collapse_below`` (default 0.5) of the classes are
  present, e.g. fewer than 5 of 10 digits.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

__all__ = ["CLASS_COVERAGE", "CLASS_KL", "LABEL_ACCURACY", "MODE_COLLAPSE", "ClassCoverage",
           "class_coverage", "label_accuracy"]

CLASS_COVERAGE = "class_coverage"  # fraction of classes present among generated samples
CLASS_KL = "class_kl"  # KL(predicted-label histogram || test-label histogram), nats
MODE_COLLAPSE = "mode_collapse"  # bool flag
LABEL_ACCURACY = "label_accuracy"  # conditional GAN: classifier agrees with the intended label


class ClassCoverage(NamedTuple):
    """What :func:`class_coverage` found; :meth:`metrics` gives the user-attr view."""

    n_present: int  # classes present under the min_fraction rule
    n_classes: int
    coverage: float  # n_present / n_classes
    kl: float  # smoothed KL(generated || test), nats
    mode_collapse: bool  # coverage < collapse_below
    counts: tuple[int, ...]  # generated samples predicted per class

    def metrics(self) -> dict[str, float | bool]:
        """``{CLASS_COVERAGE: ..., CLASS_KL: ..., MODE_COLLAPSE: ...}``."""
        return {CLASS_COVERAGE: self.coverage, CLASS_KL: self.kl, MODE_COLLAPSE: self.mode_collapse}


def _histogram(labels: torch.Tensor, n_classes: int, name: str) -> torch.Tensor:
    """Counts (C,) int64 on the CPU of integer ``labels`` (N,) in [0, n_classes)."""
    if labels.ndim != 1 or len(labels) == 0 or labels.is_floating_point() or labels.is_complex():
        raise ValueError(
            f"{name} must be a non-empty 1-D integer tensor of class indices, got dtype "
            f"{labels.dtype} and shape {tuple(labels.shape)}; use logits.argmax(dim=1)"
        )
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        raise ValueError(f"{name} must lie in [0, {n_classes - 1}] for n_classes={n_classes}, got {low}..{high}")
    return torch.bincount(labels.long(), minlength=n_classes).cpu()


def class_coverage(
    pred_labels: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    n_classes: int,
    min_fraction: float | None = None,
    smoothing: float = 0.5,
    collapse_below: float = 0.5,
) -> ClassCoverage:
    """Coverage, label-histogram KL and mode-collapse flag of generated samples (rules above).

    Args:
        pred_labels: the classifier's labels (N,) of N generated samples, e.g. ``logits.argmax(1)``.
        test_labels: true labels (M,) of the test split.
        n_classes: C >= 2.
        min_fraction: share of the N samples a class needs to count as present, in (0, 1]
            (default ``1 / (4 C)``).
        smoothing: pseudo-count added to every class of both histograms before the KL, >= 0.
            With 0 the KL is infinite when a class has generated samples but no test samples.
        collapse_below: flag mode collapse when the fraction of classes present is below this.

    Raises:
        ValueError: on a bad argument or labels outside [0, C).
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    threshold = 1.0 / (4 * n_classes) if min_fraction is None else float(min_fraction)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1] (share of samples), got {min_fraction!r}")
    if not (math.isfinite(smoothing) and smoothing >= 0.0):
        raise ValueError(f"smoothing must be a finite pseudo-count >= 0, got {smoothing!r}")
    if not 0.0 <= collapse_below <= 1.0:
        raise ValueError(f"collapse_below must be a fraction of classes in [0, 1], got {collapse_below!r}")

    counts = _histogram(pred_labels, n_classes, "pred_labels")
    test_counts = _histogram(test_labels, n_classes, "test_labels")
    n = int(counts.sum())
    # count / n >= threshold, with a relative slack so that e.g. 25 / 1000 >= 1 / 40 holds in floats
    present = counts.to(torch.float64) >= threshold * n * (1.0 - 1e-12)
    n_present = int(present.sum())

    p = counts.to(torch.float64) + smoothing
    q = test_counts.to(torch.float64) + smoothing
    p, q = p / p.sum(), q / q.sum()
    with torch.no_grad():
        terms = torch.where(p > 0, p * (p.log() - q.log()), torch.zeros_like(p))  # 0 log 0 = 0
    kl = max(float(terms.sum()), 0.0)  # round-off can give -1e-17 for equal histograms

    coverage = n_present / n_classes
    return ClassCoverage(
        n_present=n_present,
        n_classes=n_classes,
        coverage=coverage,
        kl=kl,
        mode_collapse=coverage < collapse_below,
        counts=tuple(int(c) for c in counts),
    )


def label_accuracy(logits: torch.Tensor, intended_labels: torch.Tensor) -> float:
    """Fraction of conditionally generated samples that the classifier assigns their intended class.

    Args:
        logits: classifier logits (N, C) of the generated images.
        intended_labels: the labels (N,) the generator was conditioned on, in [0, C).

    Raises:
        ValueError: on mismatched shapes or labels outside [0, C).
    """
    if logits.ndim != 2 or len(logits) == 0:
        raise ValueError(f"logits must have shape (N, C) with N >= 1, got {tuple(logits.shape)}")
    if tuple(intended_labels.shape) != (len(logits),):
        raise ValueError(
            f"intended_labels must have shape ({len(logits)},), one label per row of logits, got "
            f"{tuple(intended_labels.shape)}"
        )
    _histogram(intended_labels, logits.shape[1], "intended_labels")  # checks dtype and range
    predicted = logits.argmax(dim=1)
    return float((predicted == intended_labels.to(predicted.device)).to(torch.float64).mean())
