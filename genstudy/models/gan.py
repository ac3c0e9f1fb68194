"""GAN and conditional GAN (Goodfellow et al. 2014; DCGAN, Radford et al. 2016).

Two architectures share one config:

- ``arch="dcgan"``: a linear layer to a (2w, H/4, W/4) grid, then two stride-2 transposed convs
  (the DCGAN layout for MNIST-sized images); the discriminator mirrors it with two stride-2 convs.
  Needs H and W divisible by 4 (28x28 MNIST, 8x8 digits, 32x32 CIFAR).
- ``arch="mlp"``: two hidden layers of ``8 * width`` units each way; any (C, H, W).

Conditioning (``n_classes > 0``): the generator sees ``z`` concatenated with a learned class
embedding of ``embed_dim`` units; the discriminator is a projection discriminator (Miyato & Koyama
2018): logit = head(phi(x)) + <embed(y), phi(x)>, where phi(x) are its penultimate features.

The generator ends in a sigmoid, so images are in [0, 1] like the datasets. The discriminator
returns raw logits (B,); the losses in ``genstudy.models.losses`` take logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genstudy.models.checkpoint import checkpointable
from genstudy.models.layers import check_image_config, evaluating, init_model, make_activation, randn

__all__ = ["ARCHS", "GANConfig", "Generator", "Discriminator", "sample"]

ARCHS = ("dcgan", "mlp")


@checkpointable
@dataclass(frozen=True)
class GANConfig:
    image_shape: tuple[int, int, int]  # (C, H, W)
    latent_dim: int = 64  # z ~ N(0, I) of this size
    width: int = 32  # dcgan: channels next to the image (2 * width at H/4); mlp: hidden = 8 * width
    activation: str = "leaky_relu"  # relu | leaky_relu (slope 0.2) | gelu, in G and D hidden layers
    init: str = "normal_002"  # kaiming_normal | xavier_normal | normal_002 (N(0, 0.02), DCGAN)
    arch: str = "dcgan"  # dcgan (H, W divisible by 4) | mlp (any shape)
    n_classes: int = 0  # 0: unconditional GAN; > 0: conditional GAN on labels 0..n_classes-1
    embed_dim: int = 16  # size of the generator's class embedding (conditional only)
    batch_norm: bool = True  # BatchNorm in the dcgan hidden layers (not D's first, not outputs)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"GANConfig: unknown arch {self.arch!r}; use 'dcgan' or 'mlp'")
        check_image_config("GANConfig", self, conv=self.arch == "dcgan")
        if self.n_classes < 0:
            raise ValueError(f"GANConfig: n_classes must be >= 0 (0 = unconditional), got {self.n_classes}")
        if self.embed_dim < 1:
            raise ValueError(f"GANConfig: embed_dim must be >= 1, got {self.embed_dim}")


def _check_labels(config: GANConfig, labels: torch.Tensor | None, batch: int) -> None:
    if config.n_classes == 0:
        if labels is not None:
            raise ValueError("labels given to an unconditional GAN (n_classes=0); drop them or set n_classes")
        return
    if labels is None:
        raise ValueError(f"conditional GAN (n_classes={config.n_classes}) needs labels of shape ({batch},)")
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape ({batch},), got {tuple(labels.shape)}")


class Generator(nn.Module):
    """z (B, L) [+ labels (B,)] -> images (B, C, H, W) in [0, 1]."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        ch, act = config.width, config.activation
        cond = config.embed_dim if config.n_classes else 0
        self.embed = nn.Embedding(config.n_classes, config.embed_dim) if config.n_classes else None
        if config.arch == "dcgan":
            self._grid = (2 * ch, h // 4, w // 4)
            self.net = nn.Sequential(
                nn.Linear(config.latent_dim + cond, math.prod(self._grid)),  # (B, 2ch * H/4 * W/4)
                make_activation(act),
                nn.Unflatten(1, self._grid),  # (B, 2ch, H/4, W/4)
                nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1),  # (B, ch, H/2, W/2)
                nn.BatchNorm2d(ch) if config.batch_norm else nn.Identity(),
                make_activation(act),
                nn.ConvTranspose2d(ch, c, 4, 2, 1),  # (B, C, H, W) logits
                nn.Sigmoid(),  # (B, C, H, W) in [0, 1]
            )
        else:
            hidden = 8 * ch
            self.net = nn.Sequential(
                nn.Linear(config.latent_dim + cond, hidden),  # (B, 8ch)
                make_activation(act),
                nn.Linear(hidden, hidden),  # (B, 8ch)
                make_activation(act),
                nn.Linear(hidden, c * h * w),  # (B, C*H*W) logits
                nn.Sigmoid(),
                nn.Unflatten(1, (c, h, w)),  # (B, C, H, W) in [0, 1]
            )
        init_model(self, config.init, act)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_labels(self.config, labels, z.shape[0])
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, L + E)
        return self.net(z)


class Discriminator(nn.Module):
    """images (B, C, H, W) [+ labels (B,)] -> logits (B,); real is positive."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        ch, act = config.width, config.activation
        if config.arch == "dcgan":
            features = 2 * ch * (h // 4) * (w // 4)
            self.features = nn.Sequential(
                nn.Conv2d(c, ch, 4, 2, 1),  # (B, ch, H/2, W/2), no BatchNorm on the input layer
                make_activation(act),
                nn.Conv2d(ch, 2 * ch, 4, 2, 1),  # (B, 2ch, H/4, W/4)
                nn.BatchNorm2d(2 * ch) if config.batch_norm else nn.Identity(),
                make_activation(act),
                nn.Flatten(),  # (B, F) with F = 2ch * H/4 * W/4
            )
        else:
            features = 8 * ch
            self.features = nn.Sequential(
                nn.Flatten(),  # (B, C*H*W)
                nn.Linear(c * h * w, features),  # (B, 8ch)
                make_activation(act),
                nn.Linear(features, features),  # (B, F) with F = 8ch
                make_activation(act),
            )
        self.head = nn.Linear(features, 1)  # (B, 1) unconditional part of the logit
        self.embed = nn.Embedding(config.n_classes, features) if config.n_classes else None  # projection
        init_model(self, config.init, act)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_labels(self.config, labels, x.shape[0])
        phi = self.features(x)  # (B, F)
        logits = self.head(phi).squeeze(1)  # (B,)
        if self.embed is not None:
            logits = logits + (self.embed(labels) * phi).sum(1)  # projection (Miyato & Koyama 2018)
        return logits


@torch.no_grad()
def sample(
    generator: Generator,
    n: int,
    *,
    labels: torch.Tensor | None = None,
    generator_rng: torch.Generator | None = None,
) -> torch.Tensor:
    """n images (n, C, H, W) in [0, 1] from z ~ N(0, I), without gradients.

    Conditional generators take ``labels`` (n,); when omitted they get ``arange(n) % n_classes``
    (balanced: one class per column of a grid n_classes wide). Runs in eval mode (BatchNorm
    running statistics, which sampling leaves untouched) and restores the generator's mode.
    """
    cfg = generator.config
    device = next(generator.parameters()).device
    if cfg.n_classes and labels is None:
        labels = torch.arange(n, device=device) % cfg.n_classes
    if labels is not None:
        labels = labels.to(device)
    z = randn((n, cfg.latent_dim), device, generator_rng)  # (n, L)
    with evaluating(generator):
        return generator(z, labels)
