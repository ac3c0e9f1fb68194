"""Building blocks that several model families share (pure PyTorch).

A plug-in family may use them too: ``from genstudy.models.layers import make_activation``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "INIT_SCHEMES", "check_image_config", "evaluating", "init_model", "make_activation", "randn",
           "weights_init"]

ACTIVATIONS = ("relu", "leaky_relu", "gelu")
INIT_SCHEMES = ("kaiming_normal", "xavier_normal", "normal_002")


def make_activation(name: str) -> nn.Module:
    """The hidden activation named in a spec (leaky_relu uses slope 0.2)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}; use relu, leaky_relu or gelu")


def check_image_config(kind: str, cfg: Any, *, conv: bool) -> None:
    """Checks shared by every image model config; raises ValueError naming field, value and fix.

    Also normalises ``cfg.image_shape`` to a tuple (lists come back from YAML and checkpoints).
    """
    shape = cfg.image_shape
    if not isinstance(shape, (tuple, list)) or len(shape) != 3 or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"{kind}: image_shape must be three positive ints (C, H, W), got {shape!r}")
    object.__setattr__(cfg, "image_shape", tuple(shape))
    if conv and (shape[1] % 4 or shape[2] % 4):
        raise ValueError(
            f"{kind}: the conv architecture needs image height and width divisible by 4, got {tuple(shape)}; "
            "pad or resize the images, or use arch='mlp'"
        )
    for name in ("latent_dim", "width"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{kind}: {name} must be >= 1, got {getattr(cfg, name)!r}")
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"{kind}: unknown activation {cfg.activation!r}; use one of {', '.join(ACTIVATIONS)}")
    if cfg.init not in INIT_SCHEMES:
        raise ValueError(f"{kind}: unknown init {cfg.init!r}; use one of {', '.join(INIT_SCHEMES)}")


def weights_init(module: nn.Module, scheme: str, *, negative_slope: float = 0.0) -> None:
    """Initialise every conv, transposed conv, linear and embedding weight in ``module`` in place.

    - ``normal_002``: N(0, 0.02), BatchNorm scale N(1, 0.02) (Radford et al. 2016, DCGAN).
    - ``kaiming_normal``: N(0, gain^2 / fan_in), gain = sqrt(2 / (1 + negative_slope^2)) (He et al. 2015).
    - ``xavier_normal``: N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010).

    Fans are torch.nn.init's (for a conv: channels * kernel area). Biases start at 0, BatchNorm
    scales at 1 except under normal_002.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; use one of {', '.join(INIT_SCHEMES)}")
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            if scheme == "normal_002":
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif scheme == "kaiming_normal":
                nn.init.kaiming_normal_(m.weight, a=negative_slope, nonlinearity="leaky_relu")
            else:
                nn.init.xavier_normal_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if scheme == "normal_002":
                nn.init.normal_(m.weight, 1.0, 0.02)
            else:
                nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_model(module: nn.Module, init: str, activation: str) -> None:
    """``weights_init`` with the Kaiming gain matched to the activation (0.2 slope for leaky_relu)."""
    weights_init(module, init, negative_slope=0.2 if activation == "leaky_relu" else 0.0)


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside the block (BatchNorm running statistics, no noise), previous mode after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def randn(shape: tuple[int, ...], device: torch.device, rng: torch.Generator | None = None) -> torch.Tensor:
    """N(0, 1) noise on ``device``, drawn on ``rng``'s own device when one is given (CPU rng, CUDA model)."""
    if rng is None:
        return torch.randn(shape, device=device)
    return torch.randn(shape, generator=rng, device=rng.device).to(device)
