"""The only code that touches ``optuna.Trial``: from a spec to a trained, evaluated model."""

from __future__ import annotations

from typing import Any

from genstudy.objectives._base import VALIDATION_OF_ATTR, VALIDATION_SEEDS_ATTR, Family, StudyObjective
from genstudy.objectives._context import EvalContext, pick_device
from genstudy.objectives._search import make_pruner, make_sampler, suggest_params
from genstudy.objectives._gan import GanFamily
from genstudy.objectives._gan_ae import GanAeFamily
from genstudy.objectives._vae import VaeFamily
from genstudy.spec import StudySpec

__all__ = [
    "VALIDATION_OF_ATTR",
    "VALIDATION_SEEDS_ATTR",
    "EvalContext",
    "GanAeFamily",
    "GanFamily",
    "Family",
    "StudyObjective",
    "VaeFamily",
    "build_objective",
    "make_pruner",
    "make_sampler",
    "pick_device",
    "suggest_params",
]

_FAMILIES = {
    "vae": VaeFamily,
    "gan": GanFamily,
    "cgan": lambda spec, ctx: GanFamily(spec, ctx, conditional=True),
    "gan_ae": GanAeFamily,
}


def build_objective(spec: StudySpec, context: EvalContext, *, artifact_store: Any = None) -> StudyObjective:
    """``objective(trial)`` for ``spec.objective``, sharing ``context`` across trials."""
    return StudyObjective(spec, context, _FAMILIES[spec.objective](spec, context), artifact_store=artifact_store)
