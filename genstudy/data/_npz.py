"""``dataset: {npz: PATH, split: [0.8, 0.1, 0.1]}``: images the user saved with ``numpy.savez``.

- ``x``: (N, C, H, W) with C 1 or 3, or (N, H, W) for grey; uint8 0..255 (any integer type
  within 0..255 is accepted) or floats in [0, 1].
- ``y`` (optional): (N,) integer labels 0..K-1, every class present; without it the dataset
  has no labels.
- Split by index with :func:`fixed_permutation` (seed 0), cut by the ``split`` fractions (val
  and test rounded, train the rest); every split must get an image.

Read with ``allow_pickle=False``: an .npz can otherwise run code when loaded. Kept in this
process keyed by the file's path, size and modification time; no disk cache (loading an .npz
is already fast).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from genstudy.data._dataset import DataOrigin, Dataset
from genstudy.data._source import display_name, user_path
from genstudy.data._split import fixed_permutation, split_sizes
from genstudy.data._store import Splits, recall, remember
from genstudy.errors import DataError

if TYPE_CHECKING:
    from genstudy.data._forms import NpzDatasetSpec

__all__ = ["load_npz"]

logger = logging.getLogger(__name__)

_SAVE = "save it with numpy.savez(PATH, x=images, y=labels)"


def _read(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    where = f"dataset npz {str(path)!r}"
    if path.is_dir():
        raise DataError(f"{where} is a folder, not an .npz file; use dataset: {{folder: PATH}} for a folder of images")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{where} holds one array (.npy), not named arrays; {_SAVE}")
        with loaded as z:
            if "x" not in z.files:
                held = ", ".join(map(repr, z.files)) or "no arrays"
                raise DataError(f"{where} has no array 'x' (it holds {held}); {_SAVE}")
            return z["x"], (z["y"] if "y" in z.files else None)
    except DataError:
        raise
    except FileNotFoundError as e:
        raise DataError(f"{where} does not exist; fix dataset.npz (a relative path is read from the working "
                        "directory)") from e
    except Exception as e:  # noqa: BLE001  # a damaged zip or array header can raise nearly anything
        raise DataError(f"{where} is not a readable .npz file ({type(e).__name__}: {e}); {_SAVE}") from e


def _images(where: str, x: np.ndarray) -> np.ndarray:
    """``x`` as (N, C, H, W) uint8 or float32, checked."""
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or min(x.shape[2:]) < 1:
        hint = ("it looks channel-last: store x.transpose(0, 3, 1, 2)" if x.ndim == 4 and x.shape[3] in (1, 3)
                else "store (N, C, H, W) with C 1 or 3, or (N, H, W)")
        raise DataError(f"{where}: array 'x' has shape {x.shape}; {hint}")
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.integer) and x.dtype != np.bool_:
        low, high = (int(x.min()), int(x.max())) if x.size else (0, 0)
        if low < 0 or high > 255:
            raise DataError(f"{where}: integer 'x' holds {low}..{high}, outside 0..255; store uint8 0..255 or floats in [0, 1]")
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.floating):
        finite = bool(np.isfinite(x).all())
        low, high = (float(x.min()), float(x.max())) if x.size and finite else (0.0, 0.0)
        if not finite or low < 0.0 or high > 1.0:
            found = "NaN or infinity" if not finite else f"values {low:g}..{high:g}"
            raise DataError(f"{where}: float 'x' holds {found}, outside [0, 1]; scale it to [0, 1] or store uint8 0..255")
        return x.astype(np.float32)
    raise DataError(f"{where}: array 'x' has dtype {x.dtype}; store uint8 0..255 or floats in [0, 1]")


def _labels(where: str, y: np.ndarray | None, n: int) -> tuple[np.ndarray, int]:
    """(labels int64 (N,), n_classes); -1 and 0 when there is no ``y``."""
    if y is None:
        return np.full(n, -1, dtype=np.int64), 0
    if y.shape != (n,):
        raise DataError(f"{where}: array 'y' has shape {y.shape} but 'x' holds {n} images; store one label per image, "
                        f"shape ({n},)")
    if not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise DataError(f"{where}: array 'y' has dtype {y.dtype}; store integer class labels 0..K-1")
    if n and int(y.min()) < 0:
        raise DataError(f"{where}: array 'y' holds the negative label {int(y.min())}; number the classes 0..K-1")
    n_classes = int(y.max()) + 1 if n else 0
    absent = np.setdiff1d(np.arange(n_classes), y)
    if absent.size:
        shown = ", ".join(map(str, absent[:5])) + (", ..." if absent.size > 5 else "")
        raise DataError(f"{where}: array 'y' has labels up to {n_classes - 1} but none of {shown}; number the "
                        "classes 0..K-1 with no gaps")
    return y.astype(np.int64), n_classes


def load_npz(source: NpzDatasetSpec, *, device: torch.device) -> Dataset:
    """The arrays in ``source.npz`` on ``device``, split by a fixed permutation of the indices."""
    path = user_path(source.npz)
    where = f"dataset npz {str(path)!r}"
    try:
        st = path.stat()
        key = f"npz:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{list(source.split)}"
    except (OSError, ValueError):
        key = None  # _read names the problem
    splits = recall(key) if key else None
    if splits is None:
        raw_x, raw_y = _read(path)
        x = _images(where, raw_x)
        y, n_classes = _labels(where, raw_y, len(x))
        sizes = split_sizes(len(x), source.split)
        if min(sizes) == 0:
            empty = ("train", "val", "test")[sizes.index(0)]
            raise DataError(f"{where}: its {len(x)} images split {'/'.join(map(str, sizes))} (train/val/test) for "
                            f"dataset.split {list(source.split)}, leaving {empty} empty; add images or raise that fraction")
        order = fixed_permutation(len(x), seed=0)
        parts = np.split(order, [sizes[0], sizes[0] + sizes[1]])
        splits = Splits(xs=tuple(x[p] for p in parts), ys=tuple(y[p] for p in parts),  # type: ignore[arg-type]
                        n_classes=n_classes)
        logger.info("dataset npz %s: %d images %s, %d classes, split %s", path, len(x),
                    "x".join(map(str, x.shape[1:])), n_classes, "/".join(map(str, sizes)))
        if key:
            remember(key, splits)
    return splits.to_dataset(display_name(source), DataOrigin("npz", str(path)), device)
