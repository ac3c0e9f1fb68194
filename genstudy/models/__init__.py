"""Pure PyTorch models: a frozen config dataclass and modules per family (no optuna, no ray)."""

from __future__ import annotations

from genstudy.models.vae import VAE, VAEConfig, make_activation

__all__ = ["VAE", "VAEConfig", "make_activation"]
