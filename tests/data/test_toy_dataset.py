"""toy: the millisecond dataset for tests and smoke runs."""

from __future__ import annotations

import time

import torch

from genstudy.data import load_dataset
from genstudy.data._toy import TOY_CLASSES, load_toy


def test_shapes_ranges_and_exact_balance() -> None:
    ds = load_dataset("toy")
    assert ds.image_shape == (1, 8, 8) and ds.n_classes == len(TOY_CLASSES) == 4
    for split, n in (("train", 512), ("val", 128), ("test", 256)):
        x, y = getattr(ds, f"{split}_x"), getattr(ds, f"{split}_y")
        assert x.shape == (n, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert y.bincount().tolist() == [n // 4] * 4


def test_deterministic_and_splits_differ() -> None:
    load_toy.cache_clear()
    first = load_dataset("toy")
    load_toy.cache_clear()  # regenerate, not just re-copy the cache
    second = load_dataset("toy")
    assert torch.equal(first.train_x, second.train_x) and torch.equal(first.test_y, second.test_y)
    assert not torch.equal(first.train_x[:128], first.val_x)


def test_generation_takes_milliseconds() -> None:
    load_toy.cache_clear()
    start = time.perf_counter()
    load_toy()
    assert time.perf_counter() - start < 0.1


def test_classes_are_distinct_shapes() -> None:
    ds = load_dataset("toy")
    # 1-nearest-neighbour from test to train: distinct shapes make this nearly perfect.
    nearest = torch.cdist(ds.test_x.flatten(1), ds.train_x.flatten(1)).argmin(1)
    assert (ds.train_y[nearest] == ds.test_y).float().mean() > 0.95
    # Each class has its own signature: bars fill one row/column, diagonals one diagonal.
    img = ds.train_x[:, 0] > 0.5  # (N, 8, 8) ink mask
    rows_used = img.any(2).sum(1)  # rows with ink
    cols_used = img.any(1).sum(1)
    y = ds.train_y
    assert (rows_used[y == 0] == 1).all() and (cols_used[y == 0] == 8).all()  # horizontal bar
    assert (cols_used[y == 1] == 1).all() and (rows_used[y == 1] == 8).all()  # vertical bar
    assert (rows_used[y == 2] >= 6).all() and (cols_used[y == 2] >= 6).all()  # diagonal
    assert (rows_used[y == 3] <= 3).all() and (cols_used[y == 3] <= 3).all()  # blob


def test_images_vary_within_a_class() -> None:
    ds = load_dataset("toy")
    for k in range(4):
        imgs = ds.train_x[ds.train_y == k]
        assert imgs.std(0).mean() > 0.05  # positions differ, not one image repeated
