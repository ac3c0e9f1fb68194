"""Convergence patterns: each learning curve classified, and how early epochs predict the end.

Trials store their per-epoch curves in the user attr ``genstudy.names.CURVES``
(``{"val_loss": [...], ...}``), pruned and diverged trials included.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from optuna.trial import FrozenTrial
from scipy import stats

from genstudy import names
from genstudy.analysis._trials import TrialTable, metric_direction

__all__ = ["CLASSES", "RULE", "ConvergenceData", "EarlyCorrelation", "classify_curve", "convergence_data",
           "early_correlation"]

STABLE, OSCILLATING, PLATEAU, DIVERGED, SHORT = "stable", "oscillating", "premature plateau", "diverged", "too short"
CLASSES = (STABLE, OSCILLATING, PLATEAU, DIVERGED)

RISE = 0.02  # a step up counts as a rise when it exceeds this share of the curve's range
OSC_SHARE = 0.25  # oscillating: the rises add up to at least this share of the drops
GIVE_BACK = 0.5  # diverged: the curve ends at its worst since its best, giving back more than this share
EARLY = 1 / 3  # premature plateau: 90% of the final gain reached within this share of the epochs
PREFERRED_CURVE = f"{names.VAL_PREFIX}loss"  # the held-out loss: a learning curve in every built-in family
DIVERGED_REASON = names.DIVERGED  # how the reason of a trial stopped for diverging begins

RULE = (
    "Curves are oriented so lower is better (curves of metrics that improve upwards are negated) and need at "
    "least 3 epochs. **diverged**: a non-finite value, the trial was stopped with a 'diverged' reason, it ends "
    "worse than it started, or it ends at its worst value since its best epoch having given back more than "
    f"{GIVE_BACK:.0%} of its gain. **oscillating**: at least two rises (steps up larger than {RISE:.0%} of the "
    f"curve's range) that add up to at least {OSC_SHARE:.0%} of its total descent. **premature plateau**: 90% of "
    f"its final gain reached within the first {EARLY:.0%} of the epochs (or no gain at all), ending worse than "
    "the median final value of all classified curves. **stable**: everything else."
)


def classify_curve(values: Sequence[float], *, maximize: bool = False, reference: float | None = None,
                   diverged_reason: bool = False) -> str:
    """The class of one learning curve under ``RULE``; ``reference``: the study's median final value."""
    y = np.asarray(values, dtype=float)
    if diverged_reason or not np.isfinite(y).all():
        return DIVERGED
    if len(y) < 3:
        return SHORT
    if maximize:
        y, reference = -y, (None if reference is None else -reference)
    best = float(y.min())
    gain = y[0] - best
    after_best = y[int(np.argmin(y)):]
    if y[-1] > y[0] or (gain > 0 and y[-1] == after_best.max() and y[-1] - best > GIVE_BACK * gain):
        return DIVERGED
    steps = np.diff(y)
    span = float(y.max() - best)
    rises = steps[steps > RISE * span]
    if len(rises) >= 2 and rises.sum() >= OSC_SHARE * -steps[steps < 0].sum():
        return OSCILLATING
    final_gain = y[0] - y[-1]
    reached = int(np.argmax(y[0] - y >= 0.9 * final_gain)) if final_gain > 0 else 0
    worse = reference is None or y[-1] > reference
    if worse and (final_gain <= 0 or reached + 1 <= EARLY * len(y)):
        return PLATEAU
    return STABLE


def curve_name(trials: Sequence[FrozenTrial]) -> str | None:
    """The curve to classify: ``PREFERRED_CURVE`` when trials have it, else the most common curve."""
    stored = [t.user_attrs.get(names.CURVES) for t in trials]
    counts = Counter(k for curves in stored if isinstance(curves, dict) for k in curves)
    if not counts:
        return None
    return PREFERRED_CURVE if PREFERRED_CURVE in counts else counts.most_common(1)[0][0]


@dataclass(frozen=True)
class ConvergenceData:
    curve: str  # which curve was classified
    maximize: bool
    numbers: list[int]
    states: list[str]
    curves: list[list[float]]
    classes: list[str]
    reference: float | None

    def counts(self) -> dict[str, int]:
        c = Counter(self.classes)
        return {k: c.get(k, 0) for k in (*CLASSES, SHORT)}


def _values(trial: FrozenTrial, name: str) -> list[float] | None:
    curves = trial.user_attrs.get(names.CURVES)
    raw = curves.get(name) if isinstance(curves, dict) else None
    if not isinstance(raw, list) or not raw:
        return None
    return [float(v) if isinstance(v, (int, float)) else math.nan for v in raw]


def convergence_data(trials: Sequence[FrozenTrial], curve: str | None = None, *,
                     directions: Mapping[str, str] | None = None) -> ConvergenceData | None:
    """Classify the ``curve`` of every trial that stored one (None: no trial has curves).

    ``directions``: the study's metric directions (``metric_directions(study)``), which orient the curve.
    """
    name = curve or curve_name(trials)
    if name is None:
        return None
    have = [(t, v) for t in trials if (v := _values(t, name)) is not None]
    maximize = metric_direction(name, directions) == "maximize"
    finals = [v[-1] for _, v in have if len(v) >= 3 and np.isfinite(v).all()]
    reference = float(np.median(finals)) if finals else None
    classes = [classify_curve(v, maximize=maximize, reference=reference,
                              diverged_reason=str(t.user_attrs.get(names.PRUNE_REASON, "")).startswith(DIVERGED_REASON))
               for t, v in have]
    return ConvergenceData(name, maximize, [t.number for t, _ in have], [t.state.name for t, _ in have],
                           [v for _, v in have], classes, reference)


@dataclass(frozen=True)
class EarlyCorrelation:
    target: str
    curve: str
    epochs: list[int]  # 1-based
    rho: list[float]  # Spearman rank correlation of the curve at that epoch with the final target
    n: list[int]


def early_correlation(table: TrialTable, curve: str | None = None) -> EarlyCorrelation | None:
    """Spearman correlation of each epoch's curve value with the final target, over complete trials."""
    held_out = f"{names.VAL_PREFIX}{table.target.name}"
    name = curve or (held_out if any(_values(t, held_out) for t in table.trials) else curve_name(table.trials))
    if name is None:
        return None
    series = [(_values(t, name), y) for t, y in zip(table.trials, table.y, strict=True)]
    series = [(v, y) for v, y in series if v is not None]
    if len(series) < 3:
        return None
    epochs, rho, n = [], [], []
    for e in range(max(len(v) for v, _ in series)):
        pairs = [(v[e], y) for v, y in series if len(v) > e and np.isfinite(v[e])]
        if len(pairs) < 3:
            continue
        a, b = np.array(pairs).T
        r = stats.spearmanr(a, b).statistic if np.ptp(a) > 0 and np.ptp(b) > 0 else math.nan
        epochs.append(e + 1)
        rho.append(float(r))
        n.append(len(pairs))
    return EarlyCorrelation(table.target.name, name, epochs, rho, n)
