"""Fixed train/val/test splits and the small helpers every loader shares.

A split must never change between library versions: FID test statistics are cached per
dataset name, so a different test set would silently invalidate them. The permutation is
therefore derived from BLAKE2b hashes of ``"{seed}:{index}"`` rather than from numpy's or
torch's random streams, whose outputs for a fixed seed are not promised to stay the same.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import replace

import numpy as np
import torch

from genstudy.data._dataset import Dataset
from genstudy.errors import DataError

__all__ = ["fixed_permutation", "split_fixed", "split_sizes", "path_fraction", "to_images", "parse_device", "move"]


def fixed_permutation(n: int, *, seed: int = 0) -> np.ndarray:
    """A permutation of ``range(n)`` that depends only on ``n`` and ``seed``.

    Index ``i`` is ranked by the first 8 bytes of ``blake2b(f"{seed}:{i}")``; about 2 ms for
    5000 indices.
    """
    keys = np.array(
        [
            int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "big")
            for i in range(n)
        ],
        dtype=np.uint64,
    )
    return np.argsort(keys, kind="stable")


def split_sizes(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """(train, val, test) counts of ``n`` items: val and test rounded, train takes the rest."""
    n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
    return n - n_val - n_test, n_val, n_test


def path_fraction(relative_path: str) -> float:
    """A number in [0, 1) fixed by a file's relative path alone (BLAKE2b of its NFC form).

    Files are split by it (train below the first fraction, then val, then test), so adding or
    removing one file never moves another between splits; it also orders files within a split.
    """
    text = "genstudy-split:" + unicodedata.normalize("NFC", relative_path)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2.0**64


def to_images(pixels: np.ndarray | torch.Tensor, *, scale: float) -> torch.Tensor:
    """Integer pixels (N, C, H, W) -> float32 in [0, 1], dividing by ``scale``."""
    x = torch.as_tensor(pixels)
    return (x.to(torch.float32) / scale).clamp_(0.0, 1.0).contiguous()


def split_fixed(
    name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    sizes: tuple[int, int, int],
    n_classes: int,
    seed: int = 0,
) -> Dataset:
    """Shuffle (x, y) with :func:`fixed_permutation` and cut it into train/val/test ``sizes``."""
    n_train, n_val, n_test = sizes
    if n_train + n_val + n_test != len(x):
        raise ValueError(f"split sizes {sizes} do not add up to {len(x)} images of {name!r}")
    order = torch.from_numpy(fixed_permutation(len(x), seed=seed))
    x, y = x[order], y[order]
    a, b = n_train, n_train + n_val
    return Dataset(
        name=name,
        train_x=x[:a], train_y=y[:a],
        val_x=x[a:b], val_y=y[a:b],
        test_x=x[b:], test_y=y[b:],
        n_classes=n_classes,
    )  # fmt: skip


def parse_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``; DataError if torch cannot parse it."""
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise DataError(
            f"device {device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from e


def move(dataset: Dataset, device: str | torch.device, *, copy: bool) -> Dataset:
    """``dataset`` with its tensors on ``device``.

    ``copy=True`` always makes fresh tensors (use it for cached datasets, so a caller that
    edits its tensors in place cannot corrupt what later callers receive).
    """
    target = parse_device(device)
    tensors = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
    try:
        moved = {k: getattr(dataset, k).to(target, copy=copy) for k in tensors}
    except (RuntimeError, AssertionError) as e:
        raise DataError(
            f"cannot put dataset {dataset.name!r} on device {str(target)!r} ({e}); "
            "use device='cpu' or a device that torch can see"
        ) from e
    return replace(dataset, **moved)
