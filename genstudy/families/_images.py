"""Trial artifacts as files: sample grids (PNG) and checkpoints that load with weights_only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genstudy.models import save_checkpoint

__all__ = ["stacked", "save_grid", "save_pairs_grid", "save_checkpoint_artifact"]


def stacked(sample: Callable[[int], torch.Tensor], n: int, batch: int) -> torch.Tensor:
    """``n`` images drawn ``batch`` at a time from ``sample(k)`` (bounded memory)."""
    return torch.cat([sample(min(batch, n - i)) for i in range(0, n, batch)])


def save_grid(path: Path, images: torch.Tensor, *, nrow: int = 8) -> Path:
    """A PNG grid of images in [0, 1] (B, C, H, W), upscaled so 8x8 digits stay visible."""
    # deferred: importing torchvision (it pulls in torch._dynamo) adds ~1.2 s to every process that imports
    # genstudy.objectives, also to those that never save a grid (bench/orchestration.py's start-up)
    from torchvision.utils import make_grid, save_image

    images = images.detach().float().clamp(0, 1).cpu()
    scale = max(1, 64 // images.shape[-1])
    if scale > 1:
        images = torch.nn.functional.interpolate(images, scale_factor=scale, mode="nearest")
    save_image(make_grid(images, nrow=nrow, padding=2, pad_value=1.0), path)
    return path


def save_pairs_grid(path: Path, *, samples: torch.Tensor, inputs: torch.Tensor, reconstructions: torch.Tensor) -> Path:
    """Samples on top, then rows of inputs each followed by a row of their reconstructions."""
    rows = [samples[:32]]
    for i in range(0, len(inputs), 8):
        rows += [inputs[i : i + 8], reconstructions[i : i + 8]]
    return save_grid(path, torch.cat(rows), nrow=8)


def save_checkpoint_artifact(path: Path, modules: dict[str, nn.Module], config: Any, params: dict[str, Any]) -> Path:
    """A ``genstudy.models`` checkpoint (loads with ``weights_only=True``) with the trial's params."""
    save_checkpoint(path, modules, config, extra={"params": dict(params)})
    return path
