"""The only code that touches ``optuna.Trial``: from a spec to a trained, evaluated model."""

from __future__ import annotations

from typing import Any

from genstudy.families import EvalContext
from genstudy.families._context import pick_device
from genstudy.objectives._base import StudyObjective
from genstudy.objectives._search import make_pruner, make_sampler, suggest_params
from genstudy.spec import StudySpec

__all__ = [
    "EvalContext",
    "StudyObjective",
    "build_objective",
    "make_pruner",
    "make_sampler",
    "pick_device",
    "suggest_params",
]


def build_objective(spec: StudySpec, context: EvalContext, *, artifact_store: Any = None) -> StudyObjective:
    """``objective(trial)`` for the spec's model family, sharing ``context`` across trials."""
    return StudyObjective(spec, context, spec.family(spec, context), artifact_store=artifact_store)
