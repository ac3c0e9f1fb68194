"""Training helpers every family uses (pure PyTorch: no optuna here).

Data lives on the trial's device as one tensor; batches are index slices of a per-epoch
permutation, so there is no DataLoader and no host sync per step: the epoch's loss is
accumulated on the device and read once at the end of the epoch.

Divergence rules (``check_divergence``; the trial then ends PRUNED with the rule in
``prune_reason``): a non-finite loss or gradient norm; a gradient norm above ``MAX_GRAD_NORM``
(exploding gradients); a discriminator loss below ``COLLAPSE_LOSS_D`` over a whole epoch
(collapsed: D separates perfectly and G learns nothing).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import torch

from genstudy.errors import DataError

__all__ = ["COLLAPSE_LOSS_D", "MAX_GRAD_NORM", "DivergedError", "adam", "autocast", "check_divergence", "grad_norm",
           "require_conv_shape", "training_precision"]

MAX_GRAD_NORM = 1e4
COLLAPSE_LOSS_D = 1e-3


def adam(params: Iterable[torch.nn.Parameter], *, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam as the trials train with it: PyTorch's fused kernel, the same update as the default
    implementation in one pass over all parameters (a VAE step's optimizer: 0.36 -> 0.11 ms on CPU)."""
    return torch.optim.Adam(list(params), lr=lr, betas=betas, fused=True)


def training_precision(device: torch.device, requested: str = "auto") -> str:
    """``bf16`` or ``fp32``: with ``auto``, bf16 where the hardware runs it natively.

    Measured on this project's 2-core AVX-512 BF16 Xeon: bf16 autocast trains the conv VAE and
    DCGAN about 1.3-1.6x faster per CPU second (BENCHMARKS.md, training); CPUs without native
    bf16 emulate it and are slower, so they stay in fp32.
    """
    if requested != "auto":
        return requested
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if _cpu_has_native_bf16() else "fp32"
    return "fp32"


@cache
def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision for the forward pass (weights and optimizer state stay fp32)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def grad_norm(params: Iterable[torch.nn.Parameter]) -> torch.Tensor:
    """Total L2 norm of the gradients (on the device: no host sync), for divergence checks."""
    return torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])


class DivergedError(RuntimeError):
    """Training produced a non-finite loss or parameters; the message says where."""


def check_divergence(losses: dict[str, float], max_grad_norm: float | None = None, *, discriminator: bool = True) -> None:
    """Raise ``DivergedError`` naming the rule an epoch broke (see the module docstring).

    ``losses`` are the epoch's mean losses; ``max_grad_norm`` the largest gradient norm of the
    epoch (None: not tracked); ``discriminator`` applies the collapse rule to ``loss_d``.
    """
    bad = [k for k, v in losses.items() if not math.isfinite(v)]
    if bad or (max_grad_norm is not None and not math.isfinite(max_grad_norm)):
        raise DivergedError(f"non-finite {', '.join(bad) or 'gradient norm'}; lower the learning rates")
    if max_grad_norm is not None and max_grad_norm > MAX_GRAD_NORM:
        raise DivergedError(f"exploding gradients (norm {max_grad_norm:.3g} > {MAX_GRAD_NORM:g}); lower the learning rates")
    if discriminator and losses.get("loss_d", 1.0) < COLLAPSE_LOSS_D:
        raise DivergedError(f"discriminator collapsed (loss_d {losses['loss_d']:.2g} < {COLLAPSE_LOSS_D:g} over an epoch)")


def require_conv_shape(family: str, image_shape: tuple[int, int, int]) -> None:
    """Refuse images whose height or width is not a multiple of 4 (two stride-2 conv layers)."""
    _, h, w = image_shape
    if h % 4 or w % 4:
        raise DataError(f"objective {family}: images of {h}x{w} pixels; its conv layers need height and width divisible "
                        "by 4: set dataset.size to a multiple of 4 (e.g. 32)")
