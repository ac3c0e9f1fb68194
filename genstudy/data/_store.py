"""Decoded user data kept as compact arrays: in this process (a small LRU) and on disk.

A folder of images is decoded once and saved as one uncompressed ``.npz`` named by its content
key (see :mod:`genstudy.data._folder`), so every later worker process on the machine reads it
back in milliseconds instead of decoding again. Files are written to a temporary name and
renamed, so workers that decode the same folder at once never read a half-written file; a
cache file that cannot be read is decoded again and replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genstudy.data._dataset import DataOrigin, Dataset
from genstudy.data._split import to_images

__all__ = ["Splits", "default_cache_dir", "read_cache", "write_cache", "remember", "recall"]

logger = logging.getLogger(__name__)

_NAMES = ("train", "val", "test")
_MEMO_SIZE = 4  # datasets kept decoded per process (a study uses one; tests use several)
_memo: OrderedDict[str, Splits] = OrderedDict()


@dataclass(frozen=True)
class Splits:
    """Images (N, C, H, W) uint8 0..255 or float32 0..1, labels int64 (-1: none), per split."""

    xs: tuple[np.ndarray, np.ndarray, np.ndarray]
    ys: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_classes: int
    class_names: tuple[str, ...] = ()

    def to_dataset(self, name: str, origin: DataOrigin, device: torch.device) -> Dataset:
        """Fresh float32 tensors on ``device`` (uint8 travels to the device before it is widened)."""
        def images(x: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(x).to(device)
            return to_images(t, scale=255.0) if x.dtype == np.uint8 else t.to(torch.float32, copy=True)

        (tx, vx, sx), (ty, vy, sy) = (images(x) for x in self.xs), (torch.from_numpy(y).to(device, copy=True)
                                                                    for y in self.ys)
        return Dataset(name=name, train_x=tx, train_y=ty, val_x=vx, val_y=vy, test_x=sx, test_y=sy,
                       n_classes=self.n_classes, class_names=self.class_names, origin=origin)


def default_cache_dir() -> Path:
    """``$GENSTUDY_CACHE_DIR/datasets``, else ``$XDG_CACHE_HOME/genstudy/datasets``, else
    ``~/.cache/genstudy/datasets``: per user, read when called (never at import)."""
    if root := os.environ.get("GENSTUDY_CACHE_DIR"):
        return Path(root).expanduser() / "datasets"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "genstudy" / "datasets"


def recall(key: str) -> Splits | None:
    """The splits decoded earlier in this process under ``key``, if still held."""
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key]
    return None


def remember(key: str, splits: Splits) -> None:
    _memo[key] = splits
    _memo.move_to_end(key)
    while len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)


def read_cache(path: Path) -> Splits | None:
    """The splits saved at ``path``; None (logged) when absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            xs = tuple(z[f"{s}_x"] for s in _NAMES)
            ys = tuple(z[f"{s}_y"] for s in _NAMES)
            n_classes = int(z["n_classes"])
            class_names = tuple(str(c) for c in z["class_names"])
    except FileNotFoundError:
        return None
    except Exception as e:  # noqa: BLE001  # a damaged cache file is rebuilt, whatever numpy raised
        logger.warning("dataset cache %s is unreadable (%s: %s); decoding the images again", path, type(e).__name__, e)
        return None
    return Splits(xs=xs, ys=ys, n_classes=n_classes, class_names=class_names)  # type: ignore[arg-type]


def write_cache(path: Path, splits: Splits) -> None:
    """Save ``splits`` at ``path`` atomically; a cache that cannot be written is logged, not fatal."""
    arrays = {f"{s}_x": x for s, x in zip(_NAMES, splits.xs, strict=True)}
    arrays |= {f"{s}_y": y for s, y in zip(_NAMES, splits.ys, strict=True)}
    arrays |= {"n_classes": np.array(splits.n_classes), "class_names": np.array(splits.class_names, dtype=str)}
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        logger.warning("cannot write the dataset cache %s (%s); the next process will decode again", path, e)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
