"""Data behind the importance figures: fANOVA marginals from the forest, axis ticks, parallel coordinates.

Marginals are the forest's own (averaged over trees, with the std across trees), computed on
points of each parameter's fitted scale; they are not interpolations of the raw trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genstudy.analysis._fanova import FanovaForest
from genstudy.analysis._space import ParamAxis
from genstudy.analysis._trials import TrialTable

__all__ = ["MarginalCurve", "MarginalSurface", "ParallelData", "Ticks", "axis_ticks", "marginal_curve", "marginal_surface",
           "parallel_data"]


@dataclass(frozen=True)
class Ticks:
    values: list[float]  # positions in the fitted scale
    text: list[str]


def _num(v: float) -> str:
    return f"{v:.3g}"


def axis_ticks(axis: ParamAxis) -> Ticks | None:
    """Ticks that show real values on a fitted-scale axis (None: plain numbers are right already)."""
    if axis.kind == "categorical":
        return Ticks([float(i) for i in range(len(axis.choices))], [str(c) for c in axis.choices])
    if not axis.log:
        return None
    decades = np.arange(np.ceil(axis.low), np.floor(axis.high) + 1)
    values = decades if len(decades) >= 2 else np.linspace(axis.low, axis.high, 4)
    return Ticks([float(v) for v in values], [_num(10.0**v) for v in values])


@dataclass(frozen=True)
class MarginalCurve:
    name: str
    x: np.ndarray  # fitted scale
    mean: np.ndarray
    std: np.ndarray


@dataclass(frozen=True)
class MarginalSurface:
    a: str
    b: str
    xa: np.ndarray  # fitted scale, rows of ``mean``
    xb: np.ndarray  # fitted scale, columns of ``mean``
    mean: np.ndarray  # (len(xa), len(xb))
    std: np.ndarray


def marginal_curve(forest: FanovaForest, name: str, *, n_points: int = 100) -> MarginalCurve:
    """The forest's marginal prediction along ``name`` (other params integrated out)."""
    axis = forest.axes[forest.index(name)]
    x = axis.points(n_points)
    mean, std = forest.main_marginal(name, x)
    return MarginalCurve(name, x, mean, std)


def marginal_surface(forest: FanovaForest, a: str, b: str, *, n_points: int = 40) -> MarginalSurface:
    """The forest's joint marginal of ``a`` and ``b`` on a grid (other params integrated out)."""
    xa = forest.axes[forest.index(a)].points(n_points)
    xb = forest.axes[forest.index(b)].points(n_points)
    mean, std = forest.pair_marginal(a, b, xa, xb)
    return MarginalSurface(a, b, xa, xb, mean, std)


@dataclass(frozen=True)
class ParallelData:
    names: list[str]  # axis titles
    columns: list[np.ndarray]
    ticks: list[Ticks | None]
    ranges: list[tuple[float, float]]
    color: np.ndarray
    color_name: str


def parallel_data(table: TrialTable, order: list[str] | None = None) -> ParallelData:
    """One column per parameter (fitted scale, most important first when ``order`` is given), colour = target."""
    names = order or [a.name for a in table.axes]
    index = {a.name: j for j, a in enumerate(table.axes)}
    axes = [table.axes[index[n]] for n in names]
    return ParallelData(
        names=[a.label for a in axes],
        columns=[table.x[:, index[a.name]] for a in axes],
        ticks=[axis_ticks(a) for a in axes],
        ranges=[(a.low, a.high) for a in axes],
        color=table.y,
        color_name=table.target.name,
    )
