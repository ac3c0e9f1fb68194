"""``toy``: a tiny procedural dataset for fast tests and smoke runs.

8x8 single-channel images of four shapes at random positions, with brightness jitter and a
little uniform noise:

- 0: horizontal bar (one row, rows 1..6)
- 1: vertical bar (one column, columns 1..6)
- 2: diagonal line (``col - row == k``, k in -2..2)
- 3: Gaussian blob (sigma 0.9, centre in 2..5 x 2..5)

Split 512 / 128 / 256, each split exactly balanced (a quarter per class). Deterministic:
generated from numpy's PCG64 with a fixed seed per split, in about a millisecond.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from genstudy.data._dataset import Dataset

__all__ = ["load_toy", "TOY_SIZES", "TOY_CLASSES"]

TOY_SIZES = (512, 128, 256)
TOY_CLASSES = ("horizontal_bar", "vertical_bar", "diagonal", "blob")
_SIDE = 8
_NOISE = 0.08  # uniform noise amplitude added to every pixel
_SEEDS = (0, 1, 2)  # one per split, so growing one split never changes the others


def _shapes(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noise-free shapes (N, 8, 8) in [0, 1] for ``labels``, one vectorised pass per class."""
    n = len(labels)
    rows = np.arange(_SIDE)[None, :, None]  # (1, 8, 1)
    cols = np.arange(_SIDE)[None, None, :]  # (1, 1, 8)
    pos = rng.integers(1, _SIDE - 1, size=(n, 1, 1))  # bar position 1..6
    diag = rng.integers(-2, 3, size=(n, 1, 1))  # diagonal offset -2..2
    cy = rng.uniform(2.0, 5.0, size=(n, 1, 1))
    cx = rng.uniform(2.0, 5.0, size=(n, 1, 1))
    candidates = (
        (rows == pos) & (cols >= 0),  # 0: horizontal bar
        (cols == pos) & (rows >= 0),  # 1: vertical bar
        (cols - rows) == diag,  # 2: diagonal
        np.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2 * 0.9**2)),  # 3: blob
    )
    out = np.zeros((n, _SIDE, _SIDE))
    for k, shape in enumerate(candidates):
        mask = labels == k
        out[mask] = np.broadcast_to(shape, (n, _SIDE, _SIDE))[mask]
    return out


def _generate(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images float32 (n, 1, 8, 8) in [0, 1], labels int64 (n,)), balanced and shuffled."""
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.permutation(np.arange(n) % len(TOY_CLASSES))
    brightness = rng.uniform(0.7, 1.0, size=(n, 1, 1))
    images = _shapes(labels, rng) * brightness + rng.uniform(0.0, _NOISE, size=(n, _SIDE, _SIDE))
    images = np.clip(images, 0.0, 1.0)[:, None]  # (n, 1, 8, 8)
    return torch.from_numpy(images.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))


@functools.cache
def load_toy() -> Dataset:
    """The ``toy`` dataset on the CPU (cached; callers must not edit it in place)."""
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (
        _generate(n, seed) for n, seed in zip(TOY_SIZES, _SEEDS, strict=True)
    )
    return Dataset(
        name="toy",
        train_x=train_x, train_y=train_y,
        val_x=val_x, val_y=val_y,
        test_x=test_x, test_y=test_y,
        n_classes=len(TOY_CLASSES),
    )  # fmt: skip
