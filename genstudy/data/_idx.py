"""``mnist`` and ``fashion-mnist`` read through torchvision, with the checks torchvision skips.

torchvision 0.29 reads the *uncompressed* IDX files ``<root>/<MNIST|FashionMNIST>/raw/
{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (its download keeps the ``.gz`` files beside
them, but the ``.gz`` alone is not enough). It does not check the magic numbers exactly
(it only ``assert``s loose bounds, which vanish under ``python -O``), nor the file length
against the header (a truncated file fails deep in ``Tensor.view``), nor that the label file
matches the image file. So each file's 4-byte magic (2051 images, 2049 labels), its
dimensions and its exact length are checked here, from the header and ``os.stat``, before
torchvision reads it.

Split: the first 90% of torchvision's train split is ``train``, the last 10% ``val``, its
test split ``test`` (MNIST: 54000 / 6000 / 10000).
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import torch

from genstudy.data._dataset import Dataset
from genstudy.data._split import to_images
from genstudy.errors import DataError

__all__ = ["load_idx_dataset", "check_idx_file", "IDX_FOLDERS", "IMAGES_MAGIC", "LABELS_MAGIC"]

logger = logging.getLogger(__name__)

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
IDX_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_FETCH = "pass --download (download=True) to fetch it"


def check_idx_file(name: str, path: Path, *, magic: int) -> tuple[int, ...]:
    """The dimensions in the header of IDX file ``path``; DataError unless it is whole and valid."""
    n_dims = magic & 0xFF
    header_len = 4 * (1 + n_dims)
    refetch = f"delete it and {_FETCH} again"
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(header_len)
    except FileNotFoundError as e:
        raise DataError(f"dataset {name!r}: file {str(path)!r} is missing; {_FETCH}") from e
    except OSError as e:
        raise DataError(
            f"dataset {name!r}: cannot read {str(path)!r} ({e}); check its permissions"
        ) from e
    if len(header) < 4:
        raise DataError(f"dataset {name!r}: {str(path)!r} is truncated ({size} bytes); {refetch}")
    (found,) = struct.unpack(">I", header[:4])
    if found != magic:
        raise DataError(
            f"dataset {name!r}: {str(path)!r} has magic number {found}, expected {magic} "
            f"(an IDX {'image' if magic == IMAGES_MAGIC else 'label'} file); "
            f"it is the wrong or a corrupt file: {refetch}"
        )
    if len(header) < header_len:
        raise DataError(f"dataset {name!r}: {str(path)!r} is truncated ({size} bytes); {refetch}")
    dims = struct.unpack(f">{n_dims}I", header[4:])
    body = 1
    for d in dims:
        body *= d
    if size != header_len + body:
        state = "truncated" if size < header_len + body else "longer than its header says"
        raise DataError(
            f"dataset {name!r}: {str(path)!r} is {state} ({size} bytes, header {list(dims)} "
            f"needs {header_len + body}); {refetch}"
        )
    return dims


def _check_raw_files(name: str, raw: Path, prefix: str) -> None:
    """Validate one split's image and label files, and that they describe the same images."""
    images = raw / f"{prefix}-images-idx3-ubyte"
    labels = raw / f"{prefix}-labels-idx1-ubyte"
    for path in (images, labels):
        if not path.exists() and path.with_name(path.name + ".gz").exists():
            raise DataError(
                f"dataset {name!r}: found {str(path)!r}.gz but not the extracted file that "
                f"torchvision reads; run `gunzip -k {path}.gz` or {_FETCH}"
            )
    n_images, height, width = check_idx_file(name, images, magic=IMAGES_MAGIC)
    (n_labels,) = check_idx_file(name, labels, magic=LABELS_MAGIC)
    if n_images != n_labels:
        raise DataError(
            f"dataset {name!r}: {str(images)!r} holds {n_images} images but {str(labels)!r} "
            f"{n_labels} labels; the files come from different downloads: "
            f"{_FETCH} into a fresh --data-dir"
        )
    if (height, width) != (28, 28):
        raise DataError(
            f"dataset {name!r}: {str(images)!r} holds {height}x{width} images, expected 28x28; "
            f"{_FETCH} into a fresh --data-dir"
        )


def _read_split(
    name: str, root: Path, *, train: bool, download: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images (N, 28, 28), int64 labels (N,)) of one torchvision split."""
    from torchvision import datasets  # deferred: importing torchvision takes ~1 s

    folder = IDX_FOLDERS[name]
    raw = root / folder / "raw"
    prefix = "train" if train else "t10k"
    if download:  # let torchvision fetch (and md5-check) the archives before we look at them
        try:
            getattr(datasets, folder)(root=str(root), train=train, download=True)
        except Exception as e:  # network errors come as URLError, RuntimeError, OSError, ...
            raise DataError(
                f"dataset {name!r}: download into {str(root)!r} failed ({e}); "
                "check the network or copy the files there by hand"
            ) from e
    if (raw / f"{prefix}-images-idx3-ubyte").exists() or (
        raw / f"{prefix}-images-idx3-ubyte.gz"
    ).exists():
        _check_raw_files(name, raw, prefix)
    try:
        ds = getattr(datasets, folder)(root=str(root), train=train, download=False)
    except RuntimeError as e:
        # torchvision's only message is "Dataset not found", and it needs all four files
        # even to read one split: name the ones that are missing.
        files = [
            f"{p}-{k}-ubyte" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1")
        ]
        missing = ", ".join(f for f in files if not (raw / f).exists())
        raise DataError(
            f"dataset {name!r}: missing under {str(raw)!r}: {missing or e}; {_FETCH}, "
            f"or point --data-dir at the folder that holds {folder}/"
        ) from e
    except (AssertionError, ValueError, TypeError, OSError) as e:
        raise DataError(
            f"dataset {name!r}: torchvision cannot read the files under {str(raw)!r} "
            f"({type(e).__name__}: {e}); delete them and {_FETCH} again"
        ) from e
    return ds.data, ds.targets.to(torch.int64)


def load_idx_dataset(name: str, root: Path, *, download: bool) -> Dataset:
    """``mnist`` or ``fashion-mnist`` from ``root`` on the CPU."""
    train_x, train_y = _read_split(name, root, train=True, download=download)
    test_x, test_y = _read_split(name, root, train=False, download=download)
    n_val = len(train_x) // 10
    if n_val == 0:
        raise DataError(
            f"dataset {name!r}: the train split under {str(root)!r} holds only "
            f"{len(train_x)} images, too few for a validation split; {_FETCH}"
        )
    for split, labels in (("train", train_y), ("test", test_y)):
        if len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9):
            raise DataError(
                f"dataset {name!r}: {split} labels under {str(root)!r} fall outside 0..9; "
                f"delete the files and {_FETCH} again"
            )
    images = to_images(train_x.unsqueeze(1), scale=255.0)  # (N, 1, 28, 28)
    cut = len(images) - n_val
    logger.debug(
        "%s: %d train, %d val, %d test images from %s", name, cut, n_val, len(test_x), root
    )
    return Dataset(
        name=name,
        train_x=images[:cut], train_y=train_y[:cut],
        val_x=images[cut:], val_y=train_y[cut:],
        test_x=to_images(test_x.unsqueeze(1), scale=255.0), test_y=test_y,
        n_classes=10,
    )  # fmt: skip
