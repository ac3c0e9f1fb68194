"""The in-memory dataset every trial trains on, and the check for metrics that need labels."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

import torch

from genstudy.errors import DataError

__all__ = ["Dataset", "DataOrigin", "require_labels"]


@dataclass(frozen=True)
class DataOrigin:
    """Where a user's own data came from: ``dataset: {folder: PATH}`` or ``{npz: PATH}``."""

    kind: Literal["folder", "npz"]
    path: str  # as the spec wrote it, user folder (~) expanded

    def __str__(self) -> str:
        return f"{self.kind} {self.path!r}"


@dataclass(frozen=True)
class Dataset:
    """A dataset held whole as tensors (no per-batch loader overhead).

    Images are float32 in [0, 1] with shape (N, C, H, W); labels are int64 (N,) in
    ``0..n_classes-1``. A dataset without labels (a folder with no class subfolders, an npz
    without ``y``) has ``n_classes == 0`` and labels of -1, so code that uses them by mistake
    fails loudly; metrics that need labels call :func:`require_labels` first.
    The train/val/test split is fixed for a given dataset, so every trial and every cached
    statistic sees the same images.
    """

    name: str
    train_x: torch.Tensor  # (N_train, C, H, W)
    train_y: torch.Tensor  # (N_train,)
    val_x: torch.Tensor  # (N_val, C, H, W)
    val_y: torch.Tensor  # (N_val,)
    test_x: torch.Tensor  # (N_test, C, H, W)
    test_y: torch.Tensor  # (N_test,)
    n_classes: int
    class_names: tuple[str, ...] = ()  # label k is class_names[k] (class subfolder names); () if unnamed
    origin: DataOrigin | None = None  # None: a built-in dataset

    @property
    def has_labels(self) -> bool:
        """Whether the images carry class labels (``n_classes > 0``)."""
        return self.n_classes > 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.train_x.shape[1:]
        return int(c), int(h), int(w)

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every tensor on ``device``."""
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)
                                if isinstance(getattr(self, f.name), torch.Tensor)})


_LABEL_FIXES = {
    "folder": ("no class subfolders", "put images in one subfolder per class"),
    "npz": ("no array 'y'", "add integer labels 0..K-1 as array 'y' of shape (N,)"),
}


def require_labels(dataset: Dataset, why: str, *, min_classes: int = 2) -> None:
    """Raise DataError unless ``dataset`` has at least ``min_classes`` labelled classes.

    ``why`` names what needs them, e.g. ``"metric label_accuracy"``. Two classes is the default
    because a classifier (the FID feature extractor, class coverage) needs at least two.
    """
    where = f"dataset {dataset.origin}" if dataset.origin else f"dataset {dataset.name!r}"
    kind = dataset.origin.kind if dataset.origin else ""
    missing, fix = _LABEL_FIXES.get(kind, ("no labels", "choose a labelled dataset"))
    if not dataset.has_labels:
        raise DataError(f"{where} has no labels ({missing}); {why} needs them: {fix}")
    if dataset.n_classes < min_classes:
        names = f" ({', '.join(map(repr, dataset.class_names))})" if dataset.class_names else ""
        classes = f"{dataset.n_classes} class{'' if dataset.n_classes == 1 else 'es'}"
        raise DataError(f"{where} has only {classes}{names}; {why} needs at least {min_classes}: {fix}")
