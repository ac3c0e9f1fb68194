"""What is analysed: the target (an objective value or a stored metric) and the trials that have it.

Only COMPLETE trials with a finite target enter importances and statistics; learning curves
of pruned and failed trials are still read by the convergence section.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from genstudy.analysis._space import ParamAxis, axes_from_trials
from genstudy.errors import AnalysisError
from genstudy.schema import OBJECTIVES

__all__ = ["AnalysisError", "Target", "TrialTable", "metric_direction", "numeric_attrs", "resolve_targets",
           "trial_table"]

# Directions of metrics other objective families may store; the schema's own come first.
_EXTRA_DIRECTIONS = {"precision": "maximize", "recall": "maximize", "inception_score": "maximize",
                     "class_coverage": "maximize", "eval_seconds": "minimize"}


@dataclass(frozen=True)
class Target:
    """What importances explain: objective value ``index`` or the numeric user attr ``name``."""

    name: str
    source: Literal["value", "attr"]
    index: int = 0
    direction: str | None = None  # "minimize" | "maximize" | None when unknown

    def of(self, trial: FrozenTrial) -> float | None:
        """The target of ``trial`` as a finite float, or None."""
        if self.source == "value":
            values = trial.values
            raw: Any = values[self.index] if values is not None and len(values) > self.index else None
        else:
            raw = trial.user_attrs.get(self.name)
        return _finite(raw)


def _finite(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def metric_direction(name: str) -> str | None:
    """The way metric ``name`` improves ("minimize"/"maximize"), None if genstudy does not know it."""
    for objective in OBJECTIVES.values():
        if name in objective.metrics:
            return objective.metrics[name].direction
    base = name[4:] if name.startswith("val_") else name
    if base != name:
        return metric_direction(base)
    if name.endswith("_loss") or name == "loss":
        return "minimize"
    return _EXTRA_DIRECTIONS.get(name)


def objective_names(study: optuna.Study) -> list[str]:
    """Names of the study's objective values: Optuna's metric names, the genstudy spec's metrics, or value_i."""
    n = len(study.directions)
    names = study.metric_names
    if names is None:
        spec = study.user_attrs.get("genstudy:spec")
        metrics = spec.get("metrics") if isinstance(spec, dict) else None
        names = list(metrics) if isinstance(metrics, list) and len(metrics) == n else None
    if names is None:
        names = ["value"] if n == 1 else [f"value_{i}" for i in range(n)]
    return [str(x) for x in names]


def numeric_attrs(trials: Sequence[FrozenTrial]) -> list[str]:
    """User attrs that hold a finite number in at least one COMPLETE trial, in first-seen order."""
    names: list[str] = []
    for t in trials:
        if t.state == TrialState.COMPLETE:
            names += [k for k, v in t.user_attrs.items() if k not in names and _finite(v) is not None]
    return names


def resolve_targets(study: optuna.Study, target: str | None, trials: Sequence[FrozenTrial]) -> list[Target]:
    """The targets to analyse: ``target``, or every objective value when it is None."""
    names = objective_names(study)
    directions = [d.name.lower() for d in study.directions]
    if target is None:
        return [Target(n, "value", i, directions[i]) for i, n in enumerate(names)]
    aliases = {n: i for i, n in enumerate(names)}
    aliases.update({f"value_{i}": i for i in range(len(names))})
    if len(names) == 1:
        aliases["value"] = 0
    if target in aliases:
        i = aliases[target]
        return [Target(names[i], "value", i, directions[i])]
    attrs = numeric_attrs(trials)
    if target in attrs:
        return [Target(target, "attr", 0, metric_direction(target))]
    raise AnalysisError(
        f"target {target!r} is neither an objective of study {study.study_name!r} ({', '.join(names)}) nor a "
        f"numeric user attr of its complete trials ({', '.join(attrs) or 'none'}); pass one of those to --target"
    )


@dataclass(frozen=True)
class TrialTable:
    """The COMPLETE trials with a finite target: params in the fitted scale and the target."""

    target: Target
    trials: tuple[FrozenTrial, ...]
    axes: tuple[ParamAxis, ...]
    x: np.ndarray  # (n_trials, n_axes) fitted scale
    y: np.ndarray  # (n_trials,)

    @property
    def numbers(self) -> list[int]:
        return [t.number for t in self.trials]

    def raw(self, name: str) -> list[Any]:
        return [t.params[name] for t in self.trials]


def trial_table(trials: Sequence[FrozenTrial], target: Target) -> TrialTable:
    """Select the usable trials for ``target`` and encode their params (see ``_space``)."""
    used = [t for t in trials if t.state == TrialState.COMPLETE and target.of(t) is not None]
    axes = axes_from_trials(used)
    x = np.column_stack([a.encode([t.params[a.name] for t in used]) for a in axes]) if axes and used \
        else np.zeros((len(used), len(axes)))
    y = np.array([target.of(t) for t in used], dtype=float)
    return TrialTable(target, tuple(used), tuple(axes), x, y)
