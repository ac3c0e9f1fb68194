"""Parameters in the scale they are searched in: the axes fANOVA fits and integrates over.

Each parameter becomes one axis of a bounded box with the study's sampling measure made
uniform on it: log10 of the value for log distributions; integers and stepped floats as
unit cells (``[low - step/2, high + step/2]``, Optuna's own convention); categoricals as index
codes ``0 .. k-1``, each category a unit-width cell ``[c - 1/2, c + 1/2]``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial

__all__ = ["ParamAxis", "axes_from_trials"]

_log = logging.getLogger(__name__)

Kind = Literal["float", "int", "categorical"]


@dataclass(frozen=True)
class ParamAxis:
    """One parameter as an axis: ``low``/``high`` bound its domain in the fitted scale."""

    name: str
    kind: Kind
    low: float
    high: float
    log: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        """Axis title for figures: says when the axis is log10 of the value."""
        return f"log10({self.name})" if self.log else self.name

    @property
    def width(self) -> float:
        return self.high - self.low

    def encode(self, values: Sequence[Any]) -> np.ndarray:
        """Raw parameter values -> fitted scale (clipped into the domain)."""
        if self.kind == "categorical":
            index = {_key(c): i for i, c in enumerate(self.choices)}
            x = np.array([index[_key(v)] for v in values], dtype=float)
        else:
            x = np.asarray(values, dtype=float)
            if self.log:
                x = np.log10(x)
        return np.clip(x, self.low, self.high)

    def display(self, x: np.ndarray) -> list[Any]:
        """Fitted scale -> values a reader recognises (the category, 10**x for log axes)."""
        if self.kind == "categorical":
            codes = np.clip(np.rint(x), 0, len(self.choices) - 1).astype(int)
            return [self.choices[c] for c in codes]
        return list(10.0 ** np.asarray(x)) if self.log else list(np.asarray(x, dtype=float))

    def points(self, n: int) -> np.ndarray:
        """``n`` evenly spaced points inside the domain (every code for a categorical)."""
        if self.kind == "categorical":
            return np.arange(len(self.choices), dtype=float)
        if self.kind == "int" and not self.log and self.width <= n:
            return np.arange(math.ceil(self.low), math.floor(self.high) + 1, dtype=float)
        return np.linspace(self.low, self.high, n)


def _key(value: Any) -> tuple[str, Any]:
    # 1 == True == 1.0 in Python: keep categories of different types apart.
    return type(value).__name__, value


def _axis(name: str, dists: list[BaseDistribution]) -> ParamAxis | None:
    """Merge every distribution a parameter had in the study into one axis (None: cannot)."""
    kinds = {type(d) for d in dists}
    if len(kinds) != 1:
        _log.warning("parameter %s changed distribution type during the study (%s); left out",
                     name, sorted(k.__name__ for k in kinds))
        return None
    first = dists[0]
    if isinstance(first, CategoricalDistribution):
        choices: list[Any] = []
        for d in dists:
            choices += [c for c in d.choices if _key(c) not in {_key(x) for x in choices}]
        return ParamAxis(name, "categorical", -0.5, len(choices) - 0.5, choices=tuple(choices))
    if not isinstance(first, (FloatDistribution, IntDistribution)):
        _log.warning("parameter %s has an unknown distribution %s; left out", name, type(first).__name__)
        return None
    if len({d.log for d in dists}) != 1:
        _log.warning("parameter %s was searched both on a log and a linear scale; left out", name)
        return None
    low, high = min(d.low for d in dists), max(d.high for d in dists)
    if low == high:
        return None  # a fixed value: nothing to attribute to it
    steps = {d.step for d in dists}
    step = steps.pop() if len(steps) == 1 else None
    kind: Kind = "int" if isinstance(first, IntDistribution) else "float"
    if first.log:
        half = 0.5 if kind == "int" else 0.0
        return ParamAxis(name, kind, math.log10(low - half), math.log10(high + half), log=True)
    half = (step or (1 if kind == "int" else 0)) / 2
    return ParamAxis(name, kind, low - half, high + half)


def axes_from_trials(trials: Sequence[FrozenTrial]) -> list[ParamAxis]:
    """The axes of the parameters every trial in ``trials`` has, in first-seen order.

    Parameters missing from some trials (conditional search spaces) and parameters with a
    single possible value are left out, with a log line saying so.
    """
    names: list[str] = []
    for t in trials:
        names += [n for n in t.params if n not in names]
    axes = []
    for name in names:
        missing = sum(name not in t.params for t in trials)
        if missing:
            _log.warning("parameter %s is missing from %d of %d trials (conditional search space); left out",
                         name, missing, len(trials))
            continue
        axis = _axis(name, [t.distributions[name] for t in trials])
        if axis is not None and not (axis.kind == "categorical" and len(axis.choices) < 2):
            axes.append(axis)
    return axes
