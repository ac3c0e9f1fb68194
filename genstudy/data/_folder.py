"""``dataset: {folder: PATH, size: 32, channels: 3, split: [0.8, 0.1, 0.1]}``: the user's images.

- Files: PNG/JPEG under PATH, recursively (see :mod:`genstudy.data._source`).
- Labels: when the images sit in subfolders of PATH, each immediate subfolder that holds images
  is a class, in sorted name order (``cats`` 0, ``dogs`` 1); deeper folders belong to their
  top subfolder.
  Images directly under PATH with no subfolders have no labels. Both at once is an error.
- Split by file: each file's relative path fixes a number in [0, 1) (:func:`path_fraction`)
  that places it in train, val or test by the ``split`` fractions and orders it within its
  split, so adding a file never moves another one. Every split must get an image.
- Cache: the content key is a sha256 over the sorted (relative path, sha256 of the bytes) pairs
  and the size/channels/split options; the decoded arrays are saved under ``cache_dir`` by that
  key and kept in this process, so the images are decoded once per machine, not per worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from genstudy.data._dataset import DataOrigin, Dataset
from genstudy.data._images import decode_image
from genstudy.data._source import display_name, iter_images, user_path
from genstudy.data._split import path_fraction
from genstudy.data._store import Splits, read_cache, recall, remember, write_cache
from genstudy.errors import DataError

if TYPE_CHECKING:
    from genstudy.data._forms import FolderDatasetSpec

__all__ = ["load_folder", "folder_key", "CACHE_FORMAT"]

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when decoding changes what a key's arrays hold


def _files(root: Path) -> list[str]:
    where = f"dataset folder {str(root)!r}"
    if not root.is_dir():
        state = "is a file, not a folder" if root.exists() else "does not exist"
        raise DataError(f"{where} {state}; fix dataset.folder (a relative path is read from the working directory)")
    files = sorted(iter_images(root))
    if not files:
        raise DataError(f"{where} holds no PNG or JPEG files (.png, .jpg, .jpeg, searched in every subfolder); "
                        "add images or fix dataset.folder")
    return files


def folder_key(root: Path, files: list[str], source: FolderDatasetSpec) -> str:
    """The content key: sha256 of (relative path, sha256 of bytes) pairs and the decoding options."""
    pairs = []
    for rel in files:
        try:
            with (root / rel).open("rb") as f:
                pairs.append([rel, hashlib.file_digest(f, "sha256").hexdigest()])
        except OSError as e:
            raise DataError(f"dataset folder {str(root)!r}: cannot read {str(root / rel)!r} ({e.strerror}); "
                            "check the file and its permissions") from e
    options = {"format": CACHE_FORMAT, "size": source.size, "channels": source.channels, "split": list(source.split)}
    return hashlib.sha256(json.dumps({"files": pairs, **options}, sort_keys=True).encode()).hexdigest()


def _labels(root: Path, files: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """(labels int64 per file, class names): classes are the top subfolders; -1 for no labels."""
    nested = [rel.split("/", 1)[0] for rel in files if "/" in rel]
    if not nested:
        return np.full(len(files), -1, dtype=np.int64), ()
    loose = [rel for rel in files if "/" not in rel]
    if loose:
        raise DataError(
            f"dataset folder {str(root)!r} has {len(loose)} image file(s) directly inside it (e.g. {loose[0]!r}) beside "
            f"{len(nested)} in class subfolders; move them into a class subfolder, or all images out of subfolders"
        )
    names = tuple(sorted(set(nested)))
    index = {name: k for k, name in enumerate(names)}
    return np.array([index[rel.split("/", 1)[0]] for rel in files], dtype=np.int64), names


def _decode_all(root: Path, files: list[str], source: FolderDatasetSpec) -> np.ndarray:
    """All images as uint8 (N, C, H, W) in ``files`` order."""
    arrays: list[np.ndarray] = []
    for rel in files:
        a = decode_image(root / rel, size=source.size, channels=source.channels)  # (H, W) or (H, W, 3)
        if arrays and a.shape[:2] != arrays[0].shape[:2]:
            (h0, w0), (h, w) = arrays[0].shape[:2], a.shape[:2]
            raise DataError(
                f"dataset folder {str(root)!r}: images differ in size ({files[0]!r} is {w0}x{h0}, {rel!r} is "
                f"{w}x{h}); set dataset.size to resize and centre-crop them all to one square size"
            )
        arrays.append(a)
    if any(a.ndim == 3 for a in arrays):  # some colour: repeat the grey ones (exact, unlike luma)
        arrays = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
        return np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))  # (N, 3, H, W)
    return np.stack(arrays)[:, None]  # (N, 1, H, W)


def _split(root: Path, files: list[str], x: np.ndarray, y: np.ndarray, n_classes: int,
           names: tuple[str, ...], fractions: tuple[float, float, float]) -> Splits:
    u = np.array([path_fraction(rel) for rel in files])
    order = np.argsort(u, kind="stable")
    cuts = np.searchsorted(u[order], [fractions[0], fractions[0] + fractions[1]])
    parts = np.split(order, cuts)
    counts = [len(p) for p in parts]
    if min(counts) == 0:
        empty = ("train", "val", "test")[counts.index(0)]
        raise DataError(
            f"dataset folder {str(root)!r}: its {len(files)} images split {'/'.join(map(str, counts))} "
            f"(train/val/test, fixed by each file's path) for dataset.split {list(fractions)}, leaving {empty} "
            "empty; add images or raise that fraction"
        )
    return Splits(xs=tuple(x[p] for p in parts), ys=tuple(y[p] for p in parts),  # type: ignore[arg-type]
                  n_classes=n_classes, class_names=names)


def load_folder(source: FolderDatasetSpec, *, cache_dir: Path, device: torch.device) -> Dataset:
    """The images under ``source.folder`` on ``device``, decoded only when neither this process
    nor ``cache_dir`` holds them for the files' current content."""
    root = user_path(source.folder)
    files = _files(root)
    key = folder_key(root, files, source)
    splits = recall(key)
    if splits is None:
        path = cache_dir / f"folder-{key}.npz"
        splits = read_cache(path)
        if splits is not None:
            logger.info("dataset folder %s: %d images read from the cache %s", root, len(files), path)
        else:
            started = time.perf_counter()
            labels, names = _labels(root, files)
            x = _decode_all(root, files, source)
            splits = _split(root, files, x, labels, len(names), names, source.split)
            write_cache(path, splits)
            logger.info("dataset folder %s: decoded %d images %s in %.1f s, %d classes; cached at %s", root,
                        len(files), "x".join(map(str, x.shape[1:])), time.perf_counter() - started, len(names), path)
        remember(key, splits)
    return splits.to_dataset(display_name(source), DataOrigin("folder", str(root)), device)
