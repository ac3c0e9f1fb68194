"""Functional ANOVA on a random forest (Hutter, Hoos & Leyton-Brown, ICML 2014), written here.

Each regression tree is a piecewise-constant function: a sum over its leaves of the leaf value
times the indicator of the leaf's axis-aligned box. Under the uniform measure on the parameter
box (the study's sampling measure in the fitted scale, see ``_space``) every marginal is exact:

    f_S(x_S) = sum_L v_L * 1[x_S in box_L,S] * prod_{m not in S} w_Lm,

with ``w_Lm`` the fraction of axis ``m`` the leaf covers. A marginal over one or two axes is
constant on the grid the tree's split points cut those axes into, so it is computed for all
leaves at once with a (2-D) difference array and cumulative sums: each tree's leaf boxes are
walked once, and no pair is integrated cell by cell. Per tree, the variance of the main effect
of ``j`` is ``Var f_j``, and of the pair ``(j, k)`` is ``Var f_jk - Var f_j - Var f_k``; both are
reported as fractions of the tree's total variance, averaged over trees, with their std.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from genstudy.analysis._space import ParamAxis

__all__ = ["FanovaForest", "FanovaResult", "Importance", "fanova_importances", "fit_fanova"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Importance:
    """A fraction of the total variance: mean over trees, and its std across trees."""

    importance: float
    std: float


@dataclass(frozen=True)
class FanovaResult:
    """Main effects and pairwise interactions, each ranked from most to least important."""

    names: tuple[str, ...]
    main: dict[str, Importance]
    pairs: dict[tuple[str, str], Importance]
    n_trees: int


@dataclass(frozen=True)
class _Axis:
    """One tree's cut of one axis: cell edges, cell width fractions, each leaf's cell range."""

    edges: np.ndarray  # (n_cells + 1,)
    p: np.ndarray  # (n_cells,) widths as fractions of the axis
    start: np.ndarray  # (n_leaves,) first cell of each leaf
    stop: np.ndarray  # (n_leaves,) one past its last cell


@dataclass(frozen=True)
class _Tree:
    value: np.ndarray  # (n_leaves,) leaf values minus the tree's mean f0
    frac: np.ndarray  # (n_leaves, d) share of each axis the leaf covers (> 0)
    volume: np.ndarray  # (n_leaves,) share of the whole box the leaf covers
    axes: tuple[_Axis, ...]
    f0: float
    variance: float


class FanovaForest:
    """A fitted forest kept as per-tree leaf boxes: marginals here, importances from ``fanova_importances``."""

    def __init__(self, trees: list[_Tree], axes: Sequence[ParamAxis], *, shift: float = 0.0, scale: float = 1.0) -> None:
        self.trees = trees  # fitted to (y - shift) / scale
        self.axes = tuple(axes)
        self.names = tuple(a.name for a in axes)
        self.shift, self.scale = shift, scale

    def index(self, name: str) -> int:
        return self.names.index(name)

    def main_marginal(self, name: str, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std across trees of the marginal prediction at ``points`` (fitted scale)."""
        j = self.index(name)
        per_tree = self.shift + self.scale * np.stack([t.f0 + _lookup1(t, j, points) for t in self.trees])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def pair_marginal(self, a: str, b: str, pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std across trees of the joint marginal of ``a`` and ``b``: shape (len(pa), len(pb))."""
        j, k = self.index(a), self.index(b)
        per_tree = self.shift + self.scale * np.stack([t.f0 + _lookup2(t, j, k, pa, pb) for t in self.trees])
        return per_tree.mean(axis=0), per_tree.std(axis=0)


def fit_fanova(
    x: np.ndarray,
    y: np.ndarray,
    axes: Sequence[ParamAxis],
    *,
    n_trees: int = 32,
    min_samples_leaf: int | None = None,
    max_depth: int | None = None,
    seed: int = 0,
) -> FanovaForest:
    """Fit a scikit-learn random forest to ``y`` on ``x`` (fitted scale) and keep its leaf boxes.

    ``min_samples_leaf`` defaults to 1 below 1200 trials and grows slowly above (3 at 2000,
    at most 5): on the exact-Sobol checks larger studies lose no accuracy with it, and the
    per-axis grids (hence the pair integrals) shrink about tenfold.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(axes) or len(y) != len(x):
        raise ValueError(f"x must be (n, {len(axes)}) and y (n,); got x {x.shape} and y {y.shape}")
    lo = np.array([a.low for a in axes])
    hi = np.array([a.high for a in axes])
    if min_samples_leaf is None:
        min_samples_leaf = int(min(5, max(1, len(y) // 600)))
    forest = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=min_samples_leaf, max_depth=max_depth,
                                   random_state=seed)
    # Standardise: scikit-learn's split criterion loses precision on values far from zero (FID ~ 1e2, losses ~ 1e6).
    shift, scale = float(y.mean()), float(y.std()) or 1.0
    forest.fit(np.clip(x, lo, hi), (y - shift) / scale)
    return FanovaForest([_tree(est.tree_, lo, hi) for est in forest.estimators_], axes, shift=shift, scale=scale)


def _tree(tree, lo: np.ndarray, hi: np.ndarray) -> _Tree:
    """Walk the tree level by level: the boxes of all its leaves, then its per-axis grids."""
    n, d = tree.node_count, len(lo)
    left, right = tree.children_left, tree.children_right
    box_lo = np.empty((n, d))
    box_hi = np.empty((n, d))
    box_lo[0], box_hi[0] = lo, hi
    frontier = np.array([0])
    leaves = []
    while frontier.size:
        inner = frontier[left[frontier] != -1]
        leaves.append(frontier[left[frontier] == -1])
        feat, thr = tree.feature[inner], np.clip(tree.threshold[inner], lo[tree.feature[inner]], hi[tree.feature[inner]])
        lc, rc = left[inner], right[inner]
        box_lo[lc], box_hi[lc] = box_lo[inner], box_hi[inner]
        box_lo[rc], box_hi[rc] = box_lo[inner], box_hi[inner]
        box_hi[lc, feat] = thr
        box_lo[rc, feat] = thr
        frontier = np.concatenate([lc, rc])
    leaf = np.concatenate(leaves)
    b_lo, b_hi = box_lo[leaf], box_hi[leaf]
    value = tree.value[leaf, 0, 0].astype(float)
    frac = np.maximum((b_hi - b_lo) / (hi - lo), 1e-300)
    volume = frac.prod(axis=1)
    f0 = float(volume @ value)
    centred = value - f0
    axes = []
    for j in range(d):
        edges = np.unique(np.concatenate([b_lo[:, j], b_hi[:, j], [lo[j], hi[j]]]))
        axes.append(_Axis(edges, np.diff(edges) / (hi[j] - lo[j]), np.searchsorted(edges, b_lo[:, j]),
                          np.searchsorted(edges, b_hi[:, j])))
    return _Tree(centred, frac, volume, tuple(axes), f0, float(volume @ centred**2))


def _others(t: _Tree, dims: tuple[int, ...]) -> np.ndarray:
    """Each leaf's value times the share of the box it covers along the axes not in ``dims``."""
    return t.value * t.volume / t.frac[:, list(dims)].prod(axis=1)


def _grid1(t: _Tree, j: int) -> np.ndarray:
    """The centred main-effect marginal of axis ``j`` on each of the tree's cells of that axis."""
    ax, a = t.axes[j], _others(t, (j,))
    n = len(ax.p)
    diff = np.bincount(ax.start, a, n + 1) - np.bincount(ax.stop, a, n + 1)
    return np.cumsum(diff)[:n]


def _grid2(t: _Tree, j: int, k: int) -> np.ndarray:
    """The centred joint marginal of axes ``j`` and ``k`` on the tree's cell grid (n_j, n_k)."""
    aj, ak, a = t.axes[j], t.axes[k], _others(t, (j, k))
    nj, nk = len(aj.p), len(ak.p)
    m = nk + 1
    index = np.concatenate([aj.start * m + ak.start, aj.start * m + ak.stop, aj.stop * m + ak.start, aj.stop * m + ak.stop])
    diff = np.bincount(index, np.concatenate([a, -a, -a, a]), (nj + 1) * m).reshape(nj + 1, m)
    return diff.cumsum(axis=0).cumsum(axis=1)[:nj, :nk]


def _cells(ax: _Axis, points: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(ax.edges, points, side="right") - 1, 0, len(ax.p) - 1)


def _lookup1(t: _Tree, j: int, points: np.ndarray) -> np.ndarray:
    return _grid1(t, j)[_cells(t.axes[j], points)]


def _lookup2(t: _Tree, j: int, k: int, pj: np.ndarray, pk: np.ndarray) -> np.ndarray:
    return _grid2(t, j, k)[np.ix_(_cells(t.axes[j], pj), _cells(t.axes[k], pk))]


def fanova_importances(forest: FanovaForest, *, pairs: bool = True) -> FanovaResult:
    """Variance fractions of every main effect and (with ``pairs``) every pairwise interaction."""
    d, n_trees = len(forest.names), len(forest.trees)
    combos = list(combinations(range(d), 2)) if pairs else []
    main = np.full((n_trees, d), np.nan)
    pair = np.full((n_trees, len(combos)), np.nan)
    for i, t in enumerate(forest.trees):
        if t.variance <= 1e-20:
            continue  # a constant tree (values are standardised) says nothing about any parameter
        var1 = np.array([t.axes[j].p @ _grid1(t, j) ** 2 for j in range(d)])
        main[i] = var1 / t.variance
        for c, (j, k) in enumerate(combos):
            g = _grid2(t, j, k)
            pair[i, c] = max(0.0, t.axes[j].p @ g**2 @ t.axes[k].p - var1[j] - var1[k]) / t.variance
    main_imp = {forest.names[j]: _summary(main[:, j]) for j in range(d)}
    pair_imp = {(forest.names[j], forest.names[k]): _summary(pair[:, c]) for c, (j, k) in enumerate(combos)}
    return FanovaResult(
        names=forest.names,
        main=dict(sorted(main_imp.items(), key=lambda kv: -kv[1].importance)),
        pairs=dict(sorted(pair_imp.items(), key=lambda kv: -kv[1].importance)),
        n_trees=n_trees,
    )


def _summary(values: np.ndarray) -> Importance:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Importance(0.0, 0.0)
    return Importance(float(values.mean()), float(values.std()))
