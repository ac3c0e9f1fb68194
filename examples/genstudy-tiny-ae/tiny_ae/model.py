"""An MLP autoencoder: images in [0, 1] -> a code -> images in [0, 1]. Pure PyTorch.

The config dataclass is ``@checkpointable`` so that genstudy's checkpoints may store it and
``genstudy.models.load_checkpoint`` can rebuild it (after this module has been imported).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genstudy.models import checkpointable

__all__ = ["TinyAE", "TinyAEConfig", "reconstruction_loss"]


@checkpointable
@dataclass(frozen=True)
class TinyAEConfig:
    image_shape: tuple[int, int, int]  # (C, H, W)
    hidden: int = 128  # units of the one hidden layer on each side
    code: int = 16  # size of the bottleneck


class TinyAE(nn.Module):
    def __init__(self, config: TinyAEConfig) -> None:
        super().__init__()
        self.config = config
        pixels = math.prod(config.image_shape)
        self.encoder = nn.Sequential(
            nn.Flatten(),  # (B, C*H*W)
            nn.Linear(pixels, config.hidden),  # (B, hidden)
            nn.ReLU(),
            nn.Linear(config.hidden, config.code),  # (B, code)
        )
        self.decoder = nn.Sequential(
            nn.Linear(config.code, config.hidden),  # (B, hidden)
            nn.ReLU(),
            nn.Linear(config.hidden, pixels),  # (B, C*H*W) logits
            nn.Sigmoid(),  # in [0, 1], like the images
            nn.Unflatten(1, config.image_shape),  # (B, C, H, W)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions (B, C, H, W) of images x (B, C, H, W)."""
        return self.decoder(self.encoder(x))


def reconstruction_loss(model: TinyAE, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel of the reconstructions of ``x``: the training objective."""
    return nn.functional.mse_loss(model(x), x)
