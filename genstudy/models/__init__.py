"""Pure PyTorch models: a frozen config dataclass and modules per family (no optuna, no ray)."""

from __future__ import annotations

from genstudy.models.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from genstudy.models.gan import Discriminator, GANConfig, Generator, sample, weights_init
from genstudy.models.gan_ae import GANAE, AELoss, Decoder, Encoder, GANAEConfig, LatentDiscriminator
from genstudy.models.losses import d_loss, g_loss, reconstruction_loss
from genstudy.models.vae import VAE, VAEConfig, make_activation

__all__ = [
    "VAE",
    "VAEConfig",
    "make_activation",
    "GANConfig",
    "Generator",
    "Discriminator",
    "weights_init",
    "sample",
    "GANAEConfig",
    "GANAE",
    "Encoder",
    "Decoder",
    "LatentDiscriminator",
    "AELoss",
    "d_loss",
    "g_loss",
    "reconstruction_loss",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
]
