"""``photos``: square crops of the colour photographs that ship inside installed wheels.

Eleven real photographs, read from disk (never through ``skimage.data``, whose fetcher may try
the network for some images): scikit-image's ``skimage/data/`` (astronaut, chelsea, coffee,
rocket, motorcycle_left, motorcycle_right, hubble_deep_field, ihc, retina) and scikit-learn's
``sklearn/datasets/images/`` (china, flower). Split **by photograph**, so held-out crops come
from photographs never trained on: validation ``chelsea``, test ``coffee`` and ``china``, train
the other eight.

Each photograph is first scaled down (never up) so that its shorter side is at most four crop
sides, so a crop shows a part of a scene rather than a patch of texture; crops are then taken at
positions drawn from numpy's PCG64 with a fixed seed per split, as many from each photograph as
its share of the split's area. The crop side and counts are set by the name:

=============  ============  ====================
name           image         train / val / test
=============  ============  ====================
``photos32``   3 x 32x32     4000 / 500 / 500
``photos``     3 x 64x64     2400 / 300 / 300
``photos128``  3 x 128x128   1200 / 150 / 150
``photos224``  3 x 224x224   400 / 50 / 50
=============  ============  ====================

``load_photos(size=..., sizes=...)`` gives any other side and counts from Python. The crops have
no labels (``n_classes == 0``).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch

from genstudy.data._dataset import Dataset
from genstudy.data._split import to_images
from genstudy.errors import DataError

__all__ = ["PHOTO_SPLITS", "PHOTOS_NAMES", "load_photos", "photo_files"]

# photograph -> (package, path inside it)
_FILES: dict[str, tuple[str, str]] = {
    "astronaut": ("skimage", "data/astronaut.png"),
    "rocket": ("skimage", "data/rocket.jpg"),
    "motorcycle_left": ("skimage", "data/motorcycle_left.png"),
    "motorcycle_right": ("skimage", "data/motorcycle_right.png"),
    "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg"),
    "ihc": ("skimage", "data/ihc.png"),
    "retina": ("skimage", "data/retina.jpg"),
    "flower": ("sklearn", "datasets/images/flower.jpg"),
    "chelsea": ("skimage", "data/chelsea.png"),
    "coffee": ("skimage", "data/coffee.png"),
    "china": ("sklearn", "datasets/images/china.jpg"),
}
PHOTO_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("astronaut", "rocket", "motorcycle_left", "motorcycle_right", "hubble_deep_field", "ihc", "retina",
              "flower"),
    "val": ("chelsea",),
    "test": ("coffee", "china"),
}
# dataset name -> (crop side, (train, val, test) crops)
PHOTOS_NAMES: dict[str, tuple[int, tuple[int, int, int]]] = {
    "photos32": (32, (4000, 500, 500)),
    "photos": (64, (2400, 300, 300)),
    "photos128": (128, (1200, 150, 150)),
    "photos224": (224, (400, 50, 50)),
}
_SEEDS = {"train": 0, "val": 1, "test": 2}
_CONTEXT = 4  # a photograph's shorter side is scaled to at most this many crop sides


def photo_files() -> dict[str, Path]:
    """Photograph name -> its file inside the installed scikit-image / scikit-learn package."""
    roots: dict[str, Path] = {}
    for package, pip_name in (("skimage", "scikit-image"), ("sklearn", "scikit-learn")):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DataError(f"dataset 'photos' reads photographs from the {pip_name} package, which is not installed; "
                            f"install it with `pip install {pip_name}`")
        roots[package] = Path(next(iter(spec.submodule_search_locations)))
    return {name: roots[package] / rel for name, (package, rel) in _FILES.items()}


def _read(path: Path, size: int) -> np.ndarray:
    """One photograph as uint8 (3, H, W), scaled down so its shorter side is <= _CONTEXT * size."""
    from PIL import Image  # deferred: only this dataset needs it

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            short = min(im.size)
            scale = min(1.0, _CONTEXT * size / short)
            if scale < 1.0:
                im = im.resize((max(size, round(im.size[0] * scale)), max(size, round(im.size[1] * scale))),
                               Image.Resampling.LANCZOS)
            pixels = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DataError(f"dataset 'photos': cannot read {str(path)!r} ({e}); reinstall its package with "
                        "`pip install --force-reinstall scikit-image scikit-learn`") from e
    return pixels.transpose(2, 0, 1)  # (3, H, W)


def _crops(photos: list[np.ndarray], n: int, size: int, seed: int) -> np.ndarray:
    """``n`` crops (n, 3, size, size), from each photograph in proportion to its area."""
    rng = np.random.Generator(np.random.PCG64(seed))
    areas = np.array([p.shape[1] * p.shape[2] for p in photos], dtype=np.float64)
    counts = np.floor(n * areas / areas.sum()).astype(int)
    counts[np.argsort(-areas)[: n - counts.sum()]] += 1  # the remainder to the largest photographs
    out = np.empty((n, 3, size, size), dtype=np.uint8)
    i = 0
    for photo, k in zip(photos, counts, strict=True):
        _, h, w = photo.shape
        tops, lefts = rng.integers(0, h - size + 1, size=k), rng.integers(0, w - size + 1, size=k)
        for top, left in zip(tops, lefts, strict=True):
            out[i] = photo[:, top : top + size, left : left + size]
            i += 1
    return out


@functools.cache
def load_photos(*, size: int = 64, sizes: tuple[int, int, int] = (2400, 300, 300), name: str = "photos") -> Dataset:
    """Crops of side ``size`` with ``sizes`` = (train, val, test) counts, on the CPU (cached)."""
    if size < 8 or min(sizes) < 1:
        raise DataError(f"dataset {name!r}: crop side {size} and counts {sizes}; use a side >= 8 and counts >= 1")
    files = photo_files()
    splits = {}
    for split, members in PHOTO_SPLITS.items():
        photos = [_read(files[m], size) for m in members]
        n = sizes[("train", "val", "test").index(split)]
        splits[split] = to_images(_crops(photos, n, size, _SEEDS[split]), scale=255.0)
    unlabelled = {k: torch.full((len(v),), -1, dtype=torch.int64) for k, v in splits.items()}
    return Dataset(
        name=name,
        train_x=splits["train"], train_y=unlabelled["train"],
        val_x=splits["val"], val_y=unlabelled["val"],
        test_x=splits["test"], test_y=unlabelled["test"],
        n_classes=0,
    )  # fmt: skip


def named_loader(name: str) -> functools.partial[Dataset]:
    """The loader of built-in name ``name`` (one of :data:`PHOTOS_NAMES`)."""
    size, sizes = PHOTOS_NAMES[name]
    return functools.partial(load_photos, size=size, sizes=sizes, name=name)
