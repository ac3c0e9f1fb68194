"""Losses as small pure functions on discriminator logits and images.

Adversarial losses (``kind``):

- ``"bce"``: the minimax loss of Goodfellow et al. 2014 with the non-saturating generator
  loss of their Sec. 3 (maximise log D(G(z)) instead of minimising log(1 - D(G(z)))), and
  one-sided label smoothing of the real targets (Salimans et al. 2016, Sec. 3.4).
- ``"hinge"``: the hinge loss of Lim & Ye 2017 as used by Miyato et al. 2018.

Every loss is a mean over the batch, so its scale does not depend on the batch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSS_KINDS", "RECON_KINDS", "d_loss", "g_loss", "reconstruction_loss"]

LOSS_KINDS = ("bce", "hinge")
RECON_KINDS = ("mse", "bce")


def _check_kind(kind: str) -> None:
    if kind not in LOSS_KINDS:
        raise ValueError(f"unknown adversarial loss kind {kind!r}; use 'bce' or 'hinge'")


def d_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    *,
    kind: str = "bce",
    real_label: float = 1.0,
) -> torch.Tensor:
    """Discriminator loss: the real half plus the fake half (each a batch mean).

    bce:   -[t log D(x) + (1 - t) log(1 - D(x))] - log(1 - D(G(z))), with real target t = real_label
           (0.9 smooths the real targets; the fake target stays 0, "one-sided").
    hinge: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]; real_label does not apply and is ignored.

    Pass ``fake_logits`` of detached fakes when training D, so no gradient reaches the generator.
    """
    _check_kind(kind)
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1] (1 = no smoothing, 0.9 is usual), got {real_label}")
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss(fake_logits: torch.Tensor, *, kind: str = "bce") -> torch.Tensor:
    """Generator loss on the discriminator's logits for generated samples.

    bce:   -E[log D(G(z))] (non-saturating, Goodfellow et al. 2014 Sec. 3).
    hinge: -E[D(G(z))] (Lim & Ye 2017; Miyato et al. 2018).
    """
    _check_kind(kind)
    if kind == "hinge":
        return -fake_logits.mean()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def reconstruction_loss(x_rec: torch.Tensor, x: torch.Tensor, *, kind: str = "mse") -> torch.Tensor:
    """Reconstruction error against the clean images x in [0, 1], a mean over pixels and batch.

    mse: mean (x_rec - x)^2 (Gaussian decoder of fixed variance, up to constants).
    bce: mean binary cross-entropy -[x log x_rec + (1 - x) log(1 - x_rec)] (Bernoulli decoder).
    """
    if kind not in RECON_KINDS:
        raise ValueError(f"unknown reconstruction loss {kind!r}; use 'mse' or 'bce'")
    if x_rec.shape != x.shape:
        raise ValueError(f"reconstruction shape {tuple(x_rec.shape)} differs from input {tuple(x.shape)}")
    if kind == "mse":
        return F.mse_loss(x_rec, x)
    p = x_rec.float().clamp(1e-6, 1 - 1e-6)  # written out: F.binary_cross_entropy refuses autocast
    return -(x * p.log() + (1 - x) * (1 - p).log()).mean()
