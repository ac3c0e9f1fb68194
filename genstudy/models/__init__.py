"""Pure PyTorch models: a frozen config dataclass and modules per family (no optuna, no ray)."""

from __future__ import annotations

from genstudy.models.checkpoint import Checkpoint, checkpointable, load_checkpoint, save_checkpoint
from genstudy.models.gan import Discriminator, GANConfig, Generator, sample
from genstudy.models.gan_ae import GANAE, AELoss, Decoder, Encoder, GANAEConfig, LatentDiscriminator
from genstudy.models.layers import make_activation, weights_init
from genstudy.models.losses import d_loss, g_loss, reconstruction_loss
from genstudy.models.vae import VAE, VAEConfig

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
    "checkpointable",
    "save_checkpoint",
    "load_checkpoint",
]
