"""What is analysed: the target (an objective value or a stored metric) and the trials that have it.

Only COMPLETE trials with a finite target enter importances and statistics; learning curves
of pruned and failed trials are still read by the convergence section.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from genstudy import names
from genstudy.analysis._space import ParamAxis, axes_from_trials
from genstudy.errors import AnalysisError
from genstudy.families import FamilyError, family_def, known_families

__all__ = ["AnalysisError", "Target", "TrialTable", "metric_direction", "metric_directions", "numeric_attrs",
           "resolve_targets", "stored_spec", "trial_table"]

_log = logging.getLogger(__name__)


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


def stored_spec(study: optuna.Study) -> dict[str, Any]:
    """The resolved spec genstudy stored in the study when it created it ({} for a study it did not create)."""
    spec = study.user_attrs.get(names.SPEC)
    return spec if isinstance(spec, dict) else {}


def _declared_directions(family: str | None) -> dict[str, str]:
    """Metric -> direction as family ``family`` declares it; every known family's (first wins) for None.

    The one place the analysis reads the family registry. A family that cannot be loaded here (a
    plug-in not installed where the study is analysed) declares nothing: its objectives' directions
    still come from the study.
    """
    out: dict[str, str] = {}
    for ref in [family] if family is not None else list(known_families()):
        try:
            metrics = family_def(ref).metrics
        except FamilyError as e:
            _log.info("directions of family %r's metrics unknown: %s", ref, e)
            continue
        for name, metric in metrics.items():
            out.setdefault(name, metric.direction)
    return out


def metric_directions(study: optuna.Study | None = None) -> dict[str, str]:
    """Metric -> "minimize"/"maximize" for ``study``: as the family its stored spec names declares
    them, and its objectives as ``study.directions`` says (these win). A study whose spec names no
    family (or None) gets every known family's declarations."""
    if study is None:
        return _declared_directions(None)
    family = stored_spec(study).get("objective")
    out = _declared_directions(family if isinstance(family, str) else None)
    out.update(zip(objective_names(study), (d.name.lower() for d in study.directions), strict=True))
    return out


def metric_direction(name: str, directions: Mapping[str, str] | None = None) -> str | None:
    """The way metric or curve ``name`` improves ("minimize"/"maximize"), None if unknown.

    ``directions``: the study's (``metric_directions(study)``; default: every known family's).
    A held-out curve ``val_<metric>`` improves as ``<metric>`` does; any other ``*loss`` is minimised.
    """
    known = metric_directions() if directions is None else directions
    if name in known:
        return known[name]
    if name.startswith(names.VAL_PREFIX):
        return metric_direction(name[len(names.VAL_PREFIX):], known)
    if name.endswith("_loss") or name == "loss":
        return "minimize"
    return None


def objective_names(study: optuna.Study) -> list[str]:
    """Names of the study's objective values: Optuna's metric names, the genstudy spec's metrics, or value_i."""
    n = len(study.directions)
    found = study.metric_names
    if found is None:
        metrics = stored_spec(study).get("metrics")
        found = list(metrics) if isinstance(metrics, list) and len(metrics) == n else None
    if found is None:
        found = ["value"] if n == 1 else [f"value_{i}" for i in range(n)]
    return [str(x) for x in found]


def numeric_attrs(trials: Sequence[FrozenTrial]) -> list[str]:
    """User attrs that hold a finite number in at least one COMPLETE trial, in first-seen order."""
    found: list[str] = []
    for t in trials:
        if t.state == TrialState.COMPLETE:
            found += [k for k, v in t.user_attrs.items() if k not in found and _finite(v) is not None]
    return found


def resolve_targets(study: optuna.Study, target: str | None, trials: Sequence[FrozenTrial], *,
                    directions: Mapping[str, str] | None = None) -> list[Target]:
    """The targets to analyse: ``target``, or every objective value when it is None.

    ``directions``: ``metric_directions(study)`` when the caller has it already.
    """
    objectives = objective_names(study)
    ways = [d.name.lower() for d in study.directions]
    if target is None:
        return [Target(n, "value", i, ways[i]) for i, n in enumerate(objectives)]
    aliases = {n: i for i, n in enumerate(objectives)}
    aliases.update({f"value_{i}": i for i in range(len(objectives))})
    if len(objectives) == 1:
        aliases["value"] = 0
    if target in aliases:
        i = aliases[target]
        return [Target(objectives[i], "value", i, ways[i])]
    attrs = numeric_attrs(trials)
    if target in attrs:
        known = metric_directions(study) if directions is None else directions
        return [Target(target, "attr", 0, metric_direction(target, known))]
    raise AnalysisError(
        f"target {target!r} is neither an objective of study {study.study_name!r} ({', '.join(objectives)}) nor a "
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
