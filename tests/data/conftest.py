"""Small dataset files in the real on-disk formats, written into ``tmp_path``.

- IDX (MNIST, Fashion-MNIST): big-endian magic (2051 images / 2049 labels), big-endian uint32
  dimensions, then the raw uint8 values; uncompressed under ``<root>/<MNIST|FashionMNIST>/raw/``
  (what torchvision reads), plus the ``.gz`` beside them as torchvision's download leaves them.
- CIFAR-10 python: pickled dicts ``{"batch_label", "labels", "data", "filenames"}`` with uint8
  ``data`` (N, 3072) in channel-major order, and ``batches.meta`` with ``label_names``.

- Image folders (the user's own data): PNG and JPEG files written with Pillow, with or without
  one subfolder per class. A grey PNG's pixel [0, 0] holds its image number, so tests can tell
  which file ended where.

Pixel values encode (split, index) so tests can tell which image ended where.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

IDX_COUNTS = {"train": 40, "t10k": 12}  # -> 36 train / 4 val / 12 test
CIFAR_PER_BATCH = 8  # 5 train batches -> 40 images -> 36 train / 4 val; test_batch 8


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """``array`` (uint8) as an IDX file with the given magic number."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def idx_images(prefix: str, n: int) -> np.ndarray:
    """(n, 28, 28) uint8: image i has pixel [0, 0] == i, and [0, 1] == 1 (train) or 2 (t10k)."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n)
    images[:, 0, 1] = 1 if prefix == "train" else 2
    images[:, 10:18, 10:18] = 255
    return images


def write_idx_root(root: Path, folder: str = "MNIST", counts: dict[str, int] | None = None) -> Path:
    """A torchvision-style ``<root>/<folder>/raw`` with all four IDX files; returns the raw dir."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (counts or IDX_COUNTS).items():
        files = {
            f"{prefix}-images-idx3-ubyte": idx_bytes(idx_images(prefix, n), 2051),
            f"{prefix}-labels-idx1-ubyte": idx_bytes(np.arange(n) % 10, 2049),
        }
        for name, data in files.items():
            (raw / name).write_bytes(data)
            (raw / f"{name}.gz").write_bytes(gzip.compress(data))
    return raw


def cifar_batch(first: int, n: int) -> dict[str, object]:
    """A CIFAR-10 batch dict whose image k has red[0] == first + k and all-255 blue."""
    data = np.zeros((n, 3, 32, 32), dtype=np.uint8)
    data[:, 0, 0, 0] = np.arange(first, first + n)
    data[:, 2] = 255
    return {
        "batch_label": "training batch",
        "labels": [int(v) for v in np.arange(first, first + n) % 10],
        "data": data.reshape(n, 3072),
        "filenames": [f"img_{first + k}.png" for k in range(n)],
    }


def write_cifar_root(root: Path, per_batch: int = CIFAR_PER_BATCH) -> Path:
    """A ``<root>/cifar-10-batches-py`` with five train batches, a test batch and the meta file."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        (folder / name).write_bytes(pickle.dumps(cifar_batch(40 * b, per_batch), protocol=2))
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                            "dog", "frog", "horse", "ship", "truck"],
            "num_cases_per_batch": per_batch, "num_vis": 3072}  # fmt: skip
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    write_idx_root(tmp_path, "MNIST")
    return tmp_path


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    write_cifar_root(tmp_path)
    return tmp_path


@pytest.fixture
def idx_files() -> SimpleNamespace:
    """The IDX writers, for tests that write damaged files (fixtures, not imports: pytest
    drops each ``conftest`` module from ``sys.modules`` when it loads the next one)."""
    return SimpleNamespace(bytes=idx_bytes, images=idx_images, write_root=write_idx_root)


@pytest.fixture
def cifar_files() -> SimpleNamespace:
    """The CIFAR-10 writers, for tests that write damaged or unusual batches."""
    return SimpleNamespace(batch=cifar_batch, write_root=write_cifar_root)


def grey_png(path: Path, ident: int, *, height: int = 8, width: int = 8) -> Path:
    """A grey PNG whose pixel [0, 0] is ``ident`` (0..255) and the rest 128."""
    pixels = np.full((height, width), 128, dtype=np.uint8)
    pixels[0, 0] = ident
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def colour_image(path: Path, rgb: tuple[int, int, int], *, height: int = 8, width: int = 8) -> Path:
    """A uniform colour image, PNG or JPEG by ``path``'s suffix."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = rgb
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **({"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg") else {}))
    return path


def write_grey_folder(root: Path, n: int, *, classes: tuple[str, ...] = (), size: int = 8) -> list[Path]:
    """``n`` grey PNGs numbered 0..n-1 (pixel [0, 0] == number), dealt round-robin into
    ``classes`` subfolders, or directly into ``root`` when there are none."""
    paths = []
    for i in range(n):
        folder = root / classes[i % len(classes)] if classes else root
        paths.append(grey_png(folder / f"img_{i:03d}.png", i, height=size, width=size))
    return paths


@pytest.fixture
def images() -> SimpleNamespace:
    """The image writers (fixtures, not imports: see ``idx_files``)."""
    return SimpleNamespace(grey_png=grey_png, colour=colour_image, grey_folder=write_grey_folder)


@pytest.fixture(autouse=True)
def _fresh_dataset_memo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each test starts with no decoded folder held in the process and its own default cache dir."""
    from genstudy.data import _store

    monkeypatch.setenv("GENSTUDY_CACHE_DIR", str(tmp_path / "user-cache"))
    _store._memo.clear()
    yield
    _store._memo.clear()
