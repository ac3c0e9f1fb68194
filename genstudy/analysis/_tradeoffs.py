"""Trade-offs: Pareto fronts of the objectives and of any two stored metrics with a known direction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from genstudy import names
from genstudy.analysis._trials import (
    Target,
    metric_direction,
    metric_directions,
    numeric_attrs,
    objective_names,
)

__all__ = ["ParetoData", "pareto_mask", "tradeoffs"]

MAX_PAIRS = 6
# Timings: numbers with a direction, but bookkeeping rather than a trade-off (unless a study optimises
# one: objectives always pair). Other stored numbers without a declared direction (the fid_floor,
# standard errors, <metric>_std, the classifier's accuracy) never pair.
_BOOKKEEPING = frozenset({names.TRAIN_SECONDS, names.VALIDATE_SECONDS, names.EVAL_SECONDS})


def pareto_mask(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """True for the points no other point dominates (at least as good everywhere, better somewhere)."""
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(directions):
        raise ValueError(f"points must be (n, {len(directions)}); got {p.shape}")
    sign = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    q = p * sign  # now lower is better everywhere
    dominated = np.zeros(len(q), dtype=bool)
    for start in range(0, len(q), 512):  # [i, j]: does j dominate i? in blocks of rows i
        block = q[start : start + 512, None, :]
        no_worse = (q[None, :, :] <= block).all(axis=2)
        better = (q[None, :, :] < block).any(axis=2)
        dominated[start : start + 512] = (no_worse & better).any(axis=1)
    return ~dominated


@dataclass(frozen=True)
class ParetoData:
    """Two quantities of the complete trials, with the non-dominated ones marked."""

    x_name: str
    y_name: str
    x_direction: str
    y_direction: str
    numbers: list[int]
    x: np.ndarray
    y: np.ndarray
    front: np.ndarray  # bool

    @property
    def front_numbers(self) -> list[int]:
        return [n for n, f in zip(self.numbers, self.front, strict=True) if f]


def _pair(trials: Sequence[FrozenTrial], a: Target, b: Target) -> ParetoData | None:
    rows = [(t.number, va, vb) for t in trials if t.state == TrialState.COMPLETE
            and (va := a.of(t)) is not None and (vb := b.of(t)) is not None]
    if len(rows) < 2:
        return None
    numbers, x, y = zip(*rows, strict=True)
    x, y = np.array(x), np.array(y)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    dirs = [a.direction or "minimize", b.direction or "minimize"]
    return ParetoData(a.name, b.name, dirs[0], dirs[1], list(numbers), x, y, pareto_mask(np.column_stack([x, y]), dirs))


def tradeoffs(study: optuna.Study, trials: Sequence[FrozenTrial], targets: Sequence[Target], *,
              directions: Mapping[str, str] | None = None) -> list[ParetoData]:
    """Pareto fronts: every pair of objectives of a multi-objective study, then pairs of stored
    metrics with a known direction (pairs with an analysed target first), at most ``MAX_PAIRS``.

    ``directions``: ``metric_directions(study)`` when the caller has it already.
    """
    objectives = [Target(n, "value", i, d.name.lower())
                  for i, (n, d) in enumerate(zip(objective_names(study), study.directions, strict=True))]
    pairs: list[tuple[Target, Target]] = list(combinations(objectives, 2)) if len(objectives) > 1 else []
    known = metric_directions(study) if directions is None else directions
    metrics = [Target(m, "attr", 0, d) for m in numeric_attrs(trials)
               if m not in _BOOKKEEPING and (d := metric_direction(m, known)) is not None]
    first = {t.name for t in targets}
    metric_pairs = sorted(combinations(metrics, 2), key=lambda p: not ({p[0].name, p[1].name} & first))
    seen = {frozenset((a.name, b.name)) for a, b in pairs}
    for a, b in metric_pairs:
        if frozenset((a.name, b.name)) not in seen:
            pairs.append((a, b))
            seen.add(frozenset((a.name, b.name)))
    out = []
    for a, b in pairs:
        if len(out) == MAX_PAIRS:
            break
        if (data := _pair(trials, a, b)) is not None:
            out.append(data)
    return out
