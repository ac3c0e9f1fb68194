"""The in-memory dataset every trial trains on."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

__all__ = ["Dataset"]


@dataclass(frozen=True)
class Dataset:
    """A dataset held whole as tensors (no per-batch loader overhead).

    Images are float32 in [0, 1] with shape (N, C, H, W); labels are int64 (N,).
    The train/val/test split is fixed for a given dataset name, so every trial and
    every cached statistic sees the same images.
    """

    name: str
    train_x: torch.Tensor  # (N_train, C, H, W)
    train_y: torch.Tensor  # (N_train,)
    val_x: torch.Tensor  # (N_val, C, H, W)
    val_y: torch.Tensor  # (N_val,)
    test_x: torch.Tensor  # (N_test, C, H, W)
    test_y: torch.Tensor  # (N_test,)
    n_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.train_x.shape[1:]
        return int(c), int(h), int(w)

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every tensor on ``device``."""
        return replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            val_x=self.val_x.to(device),
            val_y=self.val_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )
