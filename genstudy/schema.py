"""What each objective accepts and reports: the public schema of params and metrics.

Parameter and metric names are a public schema (snake_case, stable). The spec validator
checks every searched or fixed value against these definitions, so a typo or an
impossible value is refused before anything touches the storage.
"""

from __future__ import annotations

import math
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

# Metrics of generated samples, reported by every family (genstudy.objectives._gen_eval).
_SAMPLE_METRICS = (
    MetricDef("fid", "minimize", "Frechet distance in the domain classifier's features"),
    MetricDef("fid_inception", "minimize", "FID in Inception-v3 pool features (needs --inception-weights)"),
    MetricDef("inception_score", "maximize", "inception score in the domain classifier's label space"),
    MetricDef("precision", "maximize", "k-NN precision (Kynkaanniemi et al. 2019) in classifier features"),
    MetricDef("recall", "maximize", "k-NN recall (Kynkaanniemi et al. 2019) in classifier features"),
    MetricDef("class_coverage", "maximize", "fraction of classes present among generated samples"),
    MetricDef("class_kl", "minimize", "KL of the generated label histogram to the test histogram"),
    MetricDef("train_seconds", "minimize", "wall time spent training"),
)
_RECONSTRUCTION = (
    MetricDef("mse", "minimize", "reconstruction mean squared error on the test split"),
    MetricDef("ssim", "maximize", "reconstruction SSIM on the test split"),
)
_ADVERSARIAL = (
    MetricDef("log_likelihood", "maximize", "Gaussian Parzen-window log-likelihood, nats per test image"),
    MetricDef("loss_g", "minimize", "generator loss on held-out data"),
    MetricDef("loss_d", "minimize", "discriminator loss on held-out data"),
)
_GAN_LOSS = MetricDef("loss", "minimize", "generator loss on held-out data (= loss_g)")

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
        *_SAMPLE_METRICS,
        *_RECONSTRUCTION,
        MetricDef("log_likelihood", "maximize", "IWAE estimate of log p(x), nats per test image"),
        MetricDef("log_likelihood_parzen", "maximize", "Parzen-window log-likelihood of samples, as for the GANs"),
        MetricDef("loss", "minimize", "negative ELBO (beta=1) on the test split, nats per image"),
    ),
)

_TRAINING = (
    ParamDef("batch_size", int, 64, "images per optimisation step", 1, 8192),
    ParamDef("latent_dim", int, 64, "size of the latent code z", 1, 1024),
    ParamDef("activation", str, "leaky_relu", "hidden activation (leaky_relu has slope 0.2)", choices=_ACTIVATIONS),
    ParamDef("init", str, "normal_002", "weight init", choices=("kaiming_normal", "xavier_normal", "normal_002")),
    ParamDef("width", int, 32, "channels next to the image", 4, 512),
    ParamDef("beta1", float, 0.5, "Adam beta1 (0.5 in DCGAN)", 0.0, 0.999),
    ParamDef("beta2", float, 0.999, "Adam beta2", 0.0, 0.9999),
    ParamDef("d_steps", int, 1, "discriminator updates per iteration", 1, 20),
    ParamDef("real_label", float, 1.0, "target of real images for D (0.9 = one-sided label smoothing)", 0.5, 1.0),
    ParamDef("adv_loss", str, "bce", "adversarial loss: non-saturating BCE or hinge", choices=("bce", "hinge")),
    ParamDef("epochs", int, None, "training epochs (default: budget.epochs)", 1, 100_000),
)
_GAN_PARAMS = (
    ParamDef("g_lr", float, 2e-4, "generator Adam learning rate (search it on a log scale)", 1e-7, 1.0),
    ParamDef("d_lr", float, 2e-4, "discriminator Adam learning rate (search it on a log scale)", 1e-7, 1.0),
    ParamDef("g_steps", int, 1, "generator updates per iteration", 1, 20),
    ParamDef("arch", str, "dcgan", "dcgan (conv) or mlp", choices=("dcgan", "mlp")),
    *_TRAINING,
)

GAN = ObjectiveDef(name="gan", params=_params(*_GAN_PARAMS), metrics=_metrics(*_SAMPLE_METRICS, *_ADVERSARIAL, _GAN_LOSS))
CGAN = ObjectiveDef(
    name="cgan",
    params=_params(*_GAN_PARAMS),
    metrics=_metrics(
        *_SAMPLE_METRICS,
        *_ADVERSARIAL,
        _GAN_LOSS,
        MetricDef("label_accuracy", "maximize", "how often the classifier agrees with the label asked for"),
    ),
)
GAN_AE = ObjectiveDef(
    name="gan_ae",
    params=_params(
        ParamDef("lr", float, 2e-4, "encoder/decoder Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("d_lr", float, 2e-4, "discriminator Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("sigma", float, 0.1, "std of the Gaussian noise (0 = none)", 0.0, 10.0),
        ParamDef("noise", str, "input", "where sigma's noise goes: input (denoising), latent, both",
                 choices=("input", "latent", "both")),
        ParamDef("skip", bool, False, "U-Net-like encoder-decoder skip connections"),
        ParamDef("image_discriminator", bool, False, "a second discriminator on images"),
        ParamDef("adv_weight", float, 1.0, "weight of the adversarial terms (0 = plain/denoising autoencoder)", 0.0, 1000.0),
        ParamDef("recon_weight", float, 1.0, "weight of the reconstruction term", 0.0, 1000.0),
        ParamDef("recon_loss", str, "mse", "reconstruction loss", choices=("mse", "bce")),
        *_TRAINING,
    ),
    metrics=_metrics(
        *_SAMPLE_METRICS,
        *_ADVERSARIAL,
        *_RECONSTRUCTION,
        MetricDef("loss", "minimize", "reconstruction loss on the test split"),
    ),
)

OBJECTIVES: dict[str, ObjectiveDef] = {d.name: d for d in (VAE, GAN, CGAN, GAN_AE)}


def get_objective_def(name: str) -> ObjectiveDef:
    """The definition of objective ``name`` (``KeyError`` if unknown)."""
    return OBJECTIVES[name]
