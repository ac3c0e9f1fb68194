"""Training loops on whole-tensor datasets (pure PyTorch: no optuna here).

Data lives on the trial's device as one tensor; batches are index slices of a per-epoch
permutation, so there is no DataLoader and no host sync per step: the epoch's loss is
accumulated on the device and read once at the end of the epoch.
"""

from __future__ import annotations

import math

import torch

from genstudy.models import VAE

__all__ = ["DivergedError", "train_vae_epoch", "vae_neg_elbo"]


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
) -> float:
    """One pass over ``x`` in shuffled batches; returns the mean training loss (nats/image)."""
    model.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        xb = x[perm[start : start + batch_size]]
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
