"""What each objective accepts and reports: the public schema of params and metrics.

Parameter and metric names are a public schema (snake_case, stable). The spec validator
checks every searched or fixed value against these definitions, so a typo or an
impossible value is refused before anything touches the storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ParamDef", "MetricDef", "ObjectiveDef", "OBJECTIVES", "get_objective_def"]

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
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number ({self.kind.__name__})"
        if self.kind is int and float(value) != int(value):
            return "must be a whole number"
        if self.low is not None and value < self.low:
            return f"must be >= {self.low:g}"
        if self.high is not None and value > self.high:
            return f"must be <= {self.high:g}"
        return None


@dataclass(frozen=True)
class MetricDef:
    """A metric a trial reports; ``direction`` is the way it improves."""

    name: str
    direction: Direction
    help: str


@dataclass(frozen=True)
class ObjectiveDef:
    """An objective family: its params and the metrics its trials report."""

    name: str
    params: dict[str, ParamDef] = field(default_factory=dict)
    metrics: dict[str, MetricDef] = field(default_factory=dict)


def _params(*defs: ParamDef) -> dict[str, ParamDef]:
    return {d.name: d for d in defs}


def _metrics(*defs: MetricDef) -> dict[str, MetricDef]:
    return {d.name: d for d in defs}


_ACTIVATIONS = ("relu", "leaky_relu", "gelu")

VAE = ObjectiveDef(
    name="vae",
    params=_params(
        ParamDef("lr", float, 1e-3, "Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("batch_size", int, 64, "images per optimisation step", 1, 8192),
        ParamDef("latent_dim", int, 16, "size of the latent code z", 1, 1024),
        ParamDef("beta", float, 1.0, "weight of the KL term (beta-VAE); 1 is the ELBO", 0.0, 100.0),
        ParamDef("activation", str, "relu", "hidden activation", choices=_ACTIVATIONS),
        ParamDef("width", int, 32, "channels of the first conv layer", 4, 512),
        ParamDef("epochs", int, None, "training epochs (default: budget.epochs)", 1, 100_000),
    ),
    metrics=_metrics(
        MetricDef("fid", "minimize", "Frechet distance in the domain classifier's features"),
        MetricDef("log_likelihood", "maximize", "IWAE estimate of log p(x), nats per test image"),
        MetricDef("loss", "minimize", "negative ELBO (beta=1) on the test split, nats per image"),
        MetricDef("mse", "minimize", "reconstruction mean squared error on the test split"),
        MetricDef("ssim", "maximize", "reconstruction SSIM on the test split"),
        MetricDef("train_seconds", "minimize", "wall time spent training"),
    ),
)

OBJECTIVES: dict[str, ObjectiveDef] = {VAE.name: VAE}


def get_objective_def(name: str) -> ObjectiveDef:
    """The definition of objective ``name`` (``KeyError`` if unknown)."""
    return OBJECTIVES[name]
