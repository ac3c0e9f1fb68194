"""Small procedural datasets for the metric tests (built in milliseconds, no files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudy.data._dataset import Dataset


def make_images(labels: np.ndarray, rng: np.random.Generator, *, side: int = 8, channels: int = 1) -> torch.Tensor:
    """Images (N, C, side, side) in [0, 1]: 0 horizontal bar, 1 vertical bar, 2 diagonal, 3 box."""
    n = len(labels)
    images = rng.uniform(0.0, 0.1, size=(n, channels, side, side))
    pos = rng.integers(1, side - 1, size=n)
    shift = rng.integers(-1, 2, size=n)
    for i, (label, p, s) in enumerate(zip(labels, pos, shift)):
        bright = rng.uniform(0.7, 1.0)
        if label == 0:
            images[i, :, p, :] = bright
        elif label == 1:
            images[i, :, :, p] = bright
        elif label == 2:
            images[i, :, np.arange(side), np.clip(np.arange(side) + s, 0, side - 1)] = bright
        else:
            lo, hi = 1 + max(s, 0), side - 2 + min(s, 0)
            images[i, :, lo, lo:hi + 1] = images[i, :, hi, lo:hi + 1] = bright
            images[i, :, lo:hi + 1, lo] = images[i, :, lo:hi + 1, hi] = bright
    return torch.from_numpy(images).float()


def make_dataset(name: str = "shapes", *, sizes: tuple[int, int, int] = (400, 80, 200), seed: int = 0,
                 side: int = 8, channels: int = 1) -> Dataset:
    """A 4-class shapes dataset with train/val/test splits of ``sizes``."""
    rng = np.random.default_rng(seed)
    splits = []
    for n in sizes:
        labels = rng.permutation(np.arange(n) % 4)
        splits += [make_images(labels, rng, side=side, channels=channels), torch.from_numpy(labels).long()]
    return Dataset(name, *splits, n_classes=4)


@pytest.fixture(scope="session")
def shapes() -> Dataset:
    return make_dataset()


@pytest.fixture(scope="session")
def shapes_classifier(shapes, tmp_path_factory):
    from genstudy.metrics import load_or_train_classifier

    return load_or_train_classifier(shapes, cache_dir=tmp_path_factory.mktemp("classifier"), epochs=3)
