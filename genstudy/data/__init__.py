"""Datasets as in-memory tensors on the trial's device.

``load_dataset(name, data_dir=..., device=..., download=False)`` returns a :class:`Dataset`
with a fixed train/val/test split. ``mnist5k``, ``digits`` and ``toy`` ship with the installed
packages and need no files; ``mnist``, ``fashion-mnist`` and ``cifar10`` are read from
``data_dir`` and are downloaded only when asked to.
"""

from __future__ import annotations

from genstudy.data._dataset import Dataset
from genstudy.data._load import DATASETS, load_dataset

__all__ = ["Dataset", "load_dataset", "DATASETS"]
