"""The only code that touches ``optuna.Trial``: from a spec to a trained, evaluated model."""

from __future__ import annotations

from genstudy.objectives._context import EvalContext, pick_device
from genstudy.schema import OBJECTIVES, MetricDef, ObjectiveDef, ParamDef
from genstudy.objectives._search import make_pruner, make_sampler, suggest_params
from genstudy.objectives._vae import VaeObjective

__all__ = [
    "OBJECTIVES",
    "EvalContext",
    "MetricDef",
    "ObjectiveDef",
    "ParamDef",
    "VaeObjective",
    "build_objective",
    "make_pruner",
    "make_sampler",
    "pick_device",
    "suggest_params",
]


def build_objective(spec, context: EvalContext):  # noqa: ANN001, ANN201 - thin factory
    """The objective callable for ``spec.objective`` sharing ``context`` across trials."""
    return {"vae": VaeObjective}[spec.objective](spec, context)
