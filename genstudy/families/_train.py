"""Training loops on whole-tensor datasets (pure PyTorch: no optuna here).

Data lives on the trial's device as one tensor; batches are index slices of a per-epoch
permutation, so there is no DataLoader and no host sync per step: the epoch's loss is
accumulated on the device and read once at the end of the epoch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import torch

from genstudy.models import VAE

__all__ = ["DivergedError", "adam", "autocast", "grad_norm", "train_vae_epoch", "training_precision", "vae_neg_elbo"]


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


def train_vae_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    *,
    batch_size: int,
    beta: float,
    generator: torch.Generator,
    precision: str = "fp32",
) -> float:
    """One pass over ``x`` in shuffled batches; returns the mean training loss (nats/image)."""
    model.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        xb = x[perm[start : start + batch_size]]
        with autocast(x.device, precision):
            loss = model.loss(xb, beta, generator=generator if generator.device == x.device else None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * xb.shape[0]
    value = float(total / n)  # the one host sync of the epoch
    if not math.isfinite(value):
        raise DivergedError(f"training loss became {value} (non-finite); lower lr or batch_size")
    return value


@torch.no_grad()
def vae_neg_elbo(model: VAE, x: torch.Tensor, *, batch_size: int = 500, seed: int = 0) -> float:
    """Negative ELBO (beta = 1, one sample per image) averaged over ``x``: nats per image."""
    model.eval()
    g = torch.Generator(device=x.device).manual_seed(seed)
    total = torch.zeros((), device=x.device, dtype=torch.float64)
    for start in range(0, x.shape[0], batch_size):
        rec, kl = model.elbo_terms(x[start : start + batch_size], generator=g)
        total += (kl - rec).double().sum()
    return float(total / x.shape[0])
