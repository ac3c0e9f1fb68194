"""Datasets as in-memory tensors on the trial's device.

``load_dataset(dataset, data_dir=..., device=..., download=False, cache_dir=None)`` returns a
:class:`Dataset` with a fixed train/val/test split. ``mnist5k``, ``digits`` and ``toy`` ship
with the installed packages and need no files; ``mnist``, ``fashion-mnist`` and ``cifar10`` are
read from ``data_dir`` and are downloaded only when asked to. A user's own images come from a
folder (``{folder: PATH, size: 32, channels: 3}``) or an ``.npz`` file (``{npz: PATH}``).
"""

from __future__ import annotations

from genstudy.data._dataset import DataOrigin, Dataset, require_labels
from genstudy.data._load import DATASETS, load_dataset
from genstudy.data._source import display_name, source_problems
from genstudy.data._store import default_cache_dir

__all__ = [
    "Dataset",
    "DataOrigin",
    "load_dataset",
    "DATASETS",
    "require_labels",
    "display_name",
    "source_problems",
    "default_cache_dir",
]
