"""Convolutional VAE (Kingma & Welling 2014) with a Gaussian decoder of learned scale.

The decoder models p(x|z) = N(x; mu(z), sigma^2 I) with one learned sigma (the "sigma-VAE"
of Rybkin et al. 2021), so the ELBO and the IWAE bound are proper bounds on a density over
pixel space, in nats per image, comparable to the Parzen-window log-likelihood of GANs.

Works for any (C, H, W) with H and W divisible by 4 (28x28 MNIST, 8x8 digits, 32x32 CIFAR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genstudy.models.checkpoint import checkpointable
from genstudy.models.layers import make_activation

__all__ = ["VAEConfig", "VAE"]

_LOG_2PI = math.log(2 * math.pi)


@checkpointable
@dataclass(frozen=True)
class VAEConfig:
    image_shape: tuple[int, int, int]  # (C, H, W)
    latent_dim: int = 16
    width: int = 32  # channels of the first conv; the second has 2 * width
    activation: str = "relu"  # relu | leaky_relu | gelu

    def __post_init__(self) -> None:
        c, h, w = self.image_shape
        if h % 4 or w % 4:
            raise ValueError(f"VAE needs image height and width divisible by 4, got {self.image_shape}")


class VAE(nn.Module):
    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        ch = config.width
        self._grid = (2 * ch, h // 4, w // 4)
        flat = 2 * ch * (h // 4) * (w // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, ch, 4, 2, 1),  # (B, ch, H/2, W/2)
            make_activation(config.activation),
            nn.Conv2d(ch, 2 * ch, 4, 2, 1),  # (B, 2ch, H/4, W/4)
            make_activation(config.activation),
            nn.Flatten(),  # (B, flat)
        )
        self.to_stats = nn.Linear(flat, 2 * config.latent_dim)  # (B, 2L): mu, log variance
        self.from_latent = nn.Sequential(nn.Linear(config.latent_dim, flat), make_activation(config.activation))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1),  # (B, ch, H/2, W/2)
            make_activation(config.activation),
            nn.ConvTranspose2d(ch, c, 4, 2, 1),  # (B, C, H, W) logits of the mean
        )
        self.log_sigma = nn.Parameter(torch.tensor(math.log(0.1)))  # decoder scale, learned

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) = N(mu, diag(exp(logvar))); each (B, L)."""
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean image in [0, 1] for latent codes z (B, L) -> (B, C, H, W)."""
        h = self.from_latent(z).view(z.shape[0], *self._grid)
        return torch.sigmoid(self.decoder(h))

    def _sigma_log(self) -> torch.Tensor:
        return self.log_sigma.clamp(-7.0, 2.0)

    def log_px_given_z(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """log N(x; mean, sigma^2 I) summed over pixels: (B,)."""
        ls = self._sigma_log()
        d = x[0].numel()
        sq = (x - mean).pow(2).flatten(1).sum(1)
        return -0.5 * sq * torch.exp(-2 * ls) - d * ls - 0.5 * d * _LOG_2PI

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One-sample reconstruction term E_q[log p(x|z)] and KL(q(z|x) || N(0, I)), each (B,)."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps
        rec = self.log_px_given_z(x, self.decode(z))
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
        return rec, kl

    def loss(self, x: torch.Tensor, beta: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training loss: mean over the batch of -(E_q[log p(x|z)] - beta * KL), nats per image."""
        rec, kl = self.elbo_terms(x, generator)
        return (beta * kl - rec).mean()

    def log_importance_weights(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """log p(x, z_i) - log q(z_i|x) for k fresh z_i ~ q(z|x): (k, B). Feeds the IWAE bound."""
        mu, logvar = self.encode(x)  # (B, L)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn((k, *mu.shape), device=mu.device, dtype=mu.dtype)  # (k, B, L)
        z = mu + std * eps
        log_q = (-0.5 * eps.pow(2) - 0.5 * logvar - 0.5 * _LOG_2PI).sum(-1)  # (k, B)
        log_pz = (-0.5 * z.pow(2) - 0.5 * _LOG_2PI).sum(-1)  # (k, B)
        flat_z = z.reshape(k * x.shape[0], -1)
        mean = self.decode(flat_z)  # (k*B, C, H, W)
        log_px = self.log_px_given_z(x.repeat(k, 1, 1, 1), mean).view(k, x.shape[0])
        return log_px + log_pz - log_q

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder mean at the posterior mean: (B, C, H, W)."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images from the prior: decoder means of z ~ N(0, I), (n, C, H, W) in [0, 1]."""
        device = self.log_sigma.device
        z = torch.randn((n, self.config.latent_dim), generator=generator, device=device)
        return self.decode(z)

