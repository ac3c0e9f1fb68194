"""``cifar10`` from the official python pickle batches, read by genstudy itself.

Layout (what ``torchvision.datasets.CIFAR10(download=True)`` leaves under ``<root>``)::

    <root>/cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch, batches.meta

Each batch is a pickled dict with ``data`` (uint8 (N, 3072): 1024 red, 1024 green, 1024 blue
values, row-major) and ``labels`` (N ints 0..9); ``batches.meta`` holds ``label_names``.

Why not ``torchvision.datasets.CIFAR10``: in torchvision 0.29 its constructor md5-hashes all
six batches against the official checksums every time (train and test alike, ~180 MB), so it
refuses any other file, including the small files the tests write, and answers every problem
with the one message "Dataset not found or corrupted". genstudy reads the same format itself,
with an unpickler that only builds numpy arrays (a pickle can otherwise run code), and checks
shapes, lengths and label ranges instead of checksums. ``download=True`` still goes through
torchvision, which verifies the archive's md5 after fetching it.

Split: the five train batches in order, the last 10% of them (the second half of data_batch_5)
held out as ``val``: 45000 train / 5000 val; ``test_batch`` is ``test`` (10000).
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genstudy.data._dataset import Dataset
from genstudy.data._split import to_images
from genstudy.errors import DataError

__all__ = ["load_cifar10", "CIFAR_FOLDER", "TRAIN_BATCHES", "TEST_BATCHES", "META_FILE"]

logger = logging.getLogger(__name__)

CIFAR_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
META_FILE = "batches.meta"
_FETCH = "pass --download (download=True) to fetch it"
_REFETCH = f"delete the folder and {_FETCH} again"
# numpy globals an array pickle refers to (numpy 1.x and 2.x names, protocols 2 to 5).
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module.replace("numpy.core.", "numpy._core."), name)


def _unpickle(path: Path) -> dict[str, Any]:
    """The dict in one CIFAR pickle file; DataError if it is missing or not such a pickle."""
    try:
        with path.open("rb") as f:
            entry = _ArrayUnpickler(f, encoding="latin1").load()  # the batches are Python 2 pickles
    except FileNotFoundError as e:
        raise DataError(f"dataset 'cifar10': file {str(path)!r} is missing; {_FETCH}") from e
    except Exception as e:  # a corrupt pickle can raise nearly anything: report it as corrupt
        raise DataError(
            f"dataset 'cifar10': {str(path)!r} is not a readable CIFAR-10 pickle "
            f"({type(e).__name__}: {e}); {_REFETCH}"
        ) from e
    if not isinstance(entry, dict):
        raise DataError(
            f"dataset 'cifar10': {str(path)!r} holds a {type(entry).__name__}, "
            f"not a CIFAR-10 dict; {_REFETCH}"
        )
    return entry


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (N, 3, 32, 32), int64 labels (N,)) of one batch file."""
    entry = _unpickle(path)
    data, labels = entry.get("data"), entry.get("labels")
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
    ):
        found = (
            f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        )
        raise DataError(
            f"dataset 'cifar10': {str(path)!r} has 'data' {found}, expected a uint8 "
            f"(N, 3072) array; {_REFETCH}"
        )
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as e:
        raise DataError(
            f"dataset 'cifar10': {str(path)!r} has no list of integer 'labels'; {_REFETCH}"
        ) from e
    if y.shape != (len(data),) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise DataError(
            f"dataset 'cifar10': {str(path)!r} has {y.size} labels for {len(data)} images "
            f"or labels outside 0..9; {_REFETCH}"
        )
    return data.reshape(-1, 3, 32, 32), y  # channel-first already: no transpose needed


def _read_all(folder: Path, names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    batches = [_read_batch(folder / n) for n in names]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    return to_images(x, scale=255.0), torch.from_numpy(y)


def _download(root: Path) -> None:
    from torchvision import datasets  # deferred: importing torchvision takes ~1 s

    try:
        datasets.CIFAR10(root=str(root), train=False, download=True)
    except Exception as e:  # network errors come as URLError, RuntimeError, OSError, ...
        raise DataError(
            f"dataset 'cifar10': download into {str(root)!r} failed ({e}); "
            "check the network or copy cifar-10-python.tar.gz's contents there by hand"
        ) from e


def load_cifar10(root: Path, *, download: bool) -> Dataset:
    """``cifar10`` from ``root`` on the CPU."""
    folder = root / CIFAR_FOLDER
    if download:
        _download(root)
    if not folder.is_dir():
        raise DataError(
            f"dataset 'cifar10': folder {str(folder)!r} does not exist; {_FETCH}, "
            f"or point --data-dir at the folder that holds {CIFAR_FOLDER}/"
        )
    names = _unpickle(folder / META_FILE).get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(
            f"dataset 'cifar10': {str(folder / META_FILE)!r} has label_names {names!r}, "
            f"expected 10 class names (is this CIFAR-100?); {_REFETCH}"
        )
    train_x, train_y = _read_all(folder, TRAIN_BATCHES)  # (N, 3, 32, 32)
    test_x, test_y = _read_all(folder, TEST_BATCHES)
    n_val = len(train_x) // 10
    if n_val == 0:
        raise DataError(
            f"dataset 'cifar10': the train batches under {str(folder)!r} hold only "
            f"{len(train_x)} images, too few for a validation split; {_REFETCH}"
        )
    cut = len(train_x) - n_val
    logger.debug(
        "cifar10: %d train, %d val, %d test images from %s", cut, n_val, len(test_x), folder
    )
    return Dataset(
        name="cifar10",
        train_x=train_x[:cut], train_y=train_y[:cut],
        val_x=train_x[cut:], val_y=train_y[cut:],
        test_x=test_x, test_y=test_y,
        n_classes=10,
    )  # fmt: skip
