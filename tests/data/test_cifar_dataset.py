"""cifar10 from python pickle batches the tests write in the official format."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genstudy.data import load_dataset
from genstudy.errors import DataError

FOLDER = "cifar-10-batches-py"


def test_reads_batches_channel_first(cifar_root: Path) -> None:
    ds = load_dataset("cifar10", data_dir=cifar_root)
    assert ds.name == "cifar10" and ds.n_classes == 10 and ds.image_shape == (3, 32, 32)
    assert (len(ds.train_x), len(ds.val_x), len(ds.test_x)) == (36, 4, 8)
    assert ds.train_x.dtype == torch.float32 and ds.test_y.dtype == torch.int64
    # Blue was written as 255 everywhere, red/green as 0: channels must not be mixed up.
    assert ds.train_x[:, 2].eq(1.0).all() and ds.train_x[:, 1].eq(0.0).all()
    red = (ds.train_x[:, 0, 0, 0] * 255).round().long().tolist()
    assert red[:8] == list(range(8)) and red[8:10] == [40, 41]  # batches in order
    # val: the last 10% of the train batches (the end of data_batch_5); test: test_batch.
    assert (ds.val_x[:, 0, 0, 0] * 255).round().long().tolist() == [164, 165, 166, 167]
    assert (ds.test_x[:, 0, 0, 0] * 255).round().long().tolist() == list(range(200, 208))
    assert ds.val_y.tolist() == [4, 5, 6, 7] and ds.test_y.tolist() == list(range(8))


def test_reads_pickles_written_with_numpy_1_names(cifar_root: Path) -> None:
    # The official batches predate numpy 2 and refer to numpy.core.multiarray._reconstruct.
    path = cifar_root / FOLDER / "test_batch"
    data = path.read_bytes()
    assert b"numpy._core.multiarray" in data
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert load_dataset("cifar10", data_dir=cifar_root).test_x.shape == (8, 3, 32, 32)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"{FOLDER}' does not exist.*--download.*--data-dir"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_missing_batch_is_named(cifar_root: Path) -> None:
    (cifar_root / FOLDER / "data_batch_3").unlink()
    with pytest.raises(DataError, match=r"data_batch_3' is missing.*--download"):
        load_dataset("cifar10", data_dir=cifar_root)


def test_missing_meta_is_named(cifar_root: Path) -> None:
    (cifar_root / FOLDER / "batches.meta").unlink()
    with pytest.raises(DataError, match=r"batches\.meta' is missing"):
        load_dataset("cifar10", data_dir=cifar_root)


def test_truncated_batch(cifar_root: Path) -> None:
    path = cifar_root / FOLDER / "data_batch_5"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(
        DataError, match=r"data_batch_5' is not a readable CIFAR-10 pickle.*download"
    ):
        load_dataset("cifar10", data_dir=cifar_root)


def test_pickle_that_would_run_code_is_refused(cifar_root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (cifar_root / FOLDER / "test_batch").write_bytes(pickle.dumps({"data": Evil()}, protocol=2))
    with pytest.raises(DataError, match=r"test_batch' is not a readable.*refusing to load"):
        load_dataset("cifar10", data_dir=cifar_root)
    assert not marker.exists()


def test_cifar100_meta_is_refused(cifar_root: Path) -> None:
    meta = {"label_names": [f"class_{i}" for i in range(100)]}
    (cifar_root / FOLDER / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    with pytest.raises(
        DataError, match=r"batches\.meta' has label_names .*expected 10 class names"
    ):
        load_dataset("cifar10", data_dir=cifar_root)


def test_wrong_image_size_in_a_batch(cifar_root: Path, cifar_files: SimpleNamespace) -> None:
    batch = cifar_files.batch(0, 8)
    batch["data"] = np.zeros((8, 1024), dtype=np.uint8)  # grey 32x32, not RGB
    (cifar_root / FOLDER / "data_batch_2").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(
        DataError, match=r"data_batch_2' has 'data' uint8 \(8, 1024\), expected .*\(N, 3072\)"
    ):
        load_dataset("cifar10", data_dir=cifar_root)


def test_label_count_or_range_mismatch(cifar_root: Path, cifar_files: SimpleNamespace) -> None:
    batch = cifar_files.batch(0, 8)
    batch["labels"] = [0] * 7
    (cifar_root / FOLDER / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_1' has 7 labels for 8 images"):
        load_dataset("cifar10", data_dir=cifar_root)
    batch["labels"] = [12] * 8
    (cifar_root / FOLDER / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match=r"outside 0\.\.9"):
        load_dataset("cifar10", data_dir=cifar_root)


def test_torchvision_itself_refuses_these_files(cifar_root: Path) -> None:
    # Why genstudy reads the batches itself: torchvision 0.29 md5-checks every batch against
    # the official checksums. If a later torchvision stops doing so, revisit _cifar.py.
    from torchvision.datasets import CIFAR10

    with pytest.raises(RuntimeError, match="not found or corrupted"):
        CIFAR10(root=str(cifar_root), train=True, download=False)


def test_too_few_images_for_a_validation_split(
    tmp_path: Path, cifar_files: SimpleNamespace
) -> None:
    cifar_files.write_root(tmp_path, per_batch=1)
    with pytest.raises(DataError, match=r"hold only 5 images, too few for a validation split"):
        load_dataset("cifar10", data_dir=tmp_path)
