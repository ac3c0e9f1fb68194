"""How a model family declares its params and metrics: the public schema of a family.

Each family declares ``params`` (``ParamDef``) and ``metrics`` (``MetricDef``) next to its code
(``genstudy.families``). Parameter and metric names are a public schema (snake_case, stable).
The spec validator checks every searched or fixed value against these definitions, so a typo or
an impossible value is refused before anything touches the storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MetricDef", "ObjectiveDef", "ParamDef", "definition_problems"]

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class ParamDef:
    """One hyperparameter an objective understands.

    ``kind`` is the Python type of a value; numeric params have an allowed closed range
    ``[low, high]``; string params have ``choices``. ``default`` is used when the spec
    neither fixes nor searches the param (``None`` means "taken from the spec's budget").
    """

    name: str
    kind: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this param, or ``None`` if it is."""
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                return f"must be one of {list(self.choices or ())}"
            return None
        if self.kind is bool:
            return None if isinstance(value, bool) else "must be true or false"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number ({self.kind.__name__})"
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"  # NaN passes every range check below
        if self.kind is int and isinstance(value, float) and not value.is_integer():
            return "must be a whole number"
        if self.low is not None and value < self.low:
            return f"must be >= {self.low:g}"
        if self.high is not None and value > self.high:
            return f"must be <= {self.high:g}"
        return None


@dataclass(frozen=True)
class MetricDef:
    """A metric a trial reports; ``direction`` is the way it improves.

    ``needs`` names what the evaluation context must load for it: ``"classifier"`` (the domain
    classifier and its FID statistics), ``"inception"`` (Inception-v3 weights). A study loads
    them only when one of its metrics needs them.
    """

    name: str
    direction: Direction
    help: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectiveDef:
    """A family as the spec sees it: its params and the metrics its trials report, by name."""

    name: str
    params: dict[str, ParamDef] = field(default_factory=dict)
    metrics: dict[str, MetricDef] = field(default_factory=dict)
    table_metrics: tuple[str, ...] = ()  # shown in the results table after the study's own metrics


NEEDS = ("classifier", "inception")  # what a metric may ask the evaluation context to load
_KINDS = (int, float, str, bool)


def definition_problems(params: Any, metrics: Any) -> list[str]:
    """What is wrong with a family's declared ``params`` and ``metrics`` (empty when nothing).

    Each entry names the param or metric and the fix; used when a family is registered, so a
    plug-in with a bad declaration is refused before anything touches the storage.
    """
    problems: list[str] = []
    if not isinstance(params, (tuple, list)) or not all(isinstance(p, ParamDef) for p in params):
        return ["params must be a tuple of genstudy.schema.ParamDef"]
    if not isinstance(metrics, (tuple, list)) or not all(isinstance(m, MetricDef) for m in metrics):
        return ["metrics must be a tuple of genstudy.schema.MetricDef"]
    if not metrics:
        problems.append("declares no metrics; add at least one MetricDef")
    for what, defs in (("param", params), ("metric", metrics)):
        seen: set[str] = set()
        for d in defs:
            if not isinstance(d.name, str) or not d.name.isidentifier() or d.name != d.name.lower():
                problems.append(f"{what} name {d.name!r} is not snake_case; use lower-case letters, digits and _")
            if d.name in seen:
                problems.append(f"{what} {d.name!r} is declared twice; declare it once")
            seen.add(d.name)
    for p in params:
        if p.kind not in _KINDS:
            problems.append(f"param {p.name!r}: kind {p.kind!r} is not one of int, float, str, bool")
            continue
        if p.kind is str and not p.choices:
            problems.append(f"param {p.name!r}: a str param needs choices=(...)")
        if p.low is not None and p.high is not None and p.low > p.high:
            problems.append(f"param {p.name!r}: low {p.low} is above high {p.high}; swap them")
        if p.default is not None and (why := p.check(p.default)) is not None:
            problems.append(f"param {p.name!r}: default {p.default!r} {why}")
    for m in metrics:
        if m.direction not in ("minimize", "maximize"):
            problems.append(f"metric {m.name!r}: direction {m.direction!r} must be 'minimize' or 'maximize'")
        unknown = [n for n in m.needs if n not in NEEDS]
        if unknown:
            problems.append(f"metric {m.name!r}: needs {unknown} unknown; use any of {list(NEEDS)}")
    return problems
