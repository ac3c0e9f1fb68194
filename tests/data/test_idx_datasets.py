"""mnist and fashion-mnist read through torchvision from IDX files the tests write."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from genstudy.data import load_dataset
from genstudy.errors import DataError


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
def test_reads_torchvision_layout(
    tmp_path: Path, idx_files: SimpleNamespace, name: str, folder: str
) -> None:
    idx_files.write_root(tmp_path, folder)
    ds = load_dataset(name, data_dir=tmp_path)
    assert ds.name == name and ds.n_classes == 10 and ds.image_shape == (1, 28, 28)
    assert (len(ds.train_x), len(ds.val_x), len(ds.test_x)) == (36, 4, 12)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert ds.train_x.min() >= 0.0 and ds.train_x[:, 0, 12, 12].eq(1.0).all()  # 255 -> 1.0
    # val is the last 10% of torchvision's train split; test is its t10k split.
    assert (ds.train_x[:, 0, 0, 0] * 255).round().tolist() == list(range(36))
    assert (ds.val_x[:, 0, 0, 0] * 255).round().tolist() == [36, 37, 38, 39]
    assert (ds.test_x[:, 0, 0, 1] * 255).round().eq(2).all()
    assert ds.val_y.tolist() == [6, 7, 8, 9] and ds.test_y.tolist() == [i % 10 for i in range(12)]


def test_accepts_a_string_data_dir_and_a_torch_device(mnist_root: Path) -> None:
    ds = load_dataset("mnist", data_dir=str(mnist_root), device=torch.device("cpu"))
    assert ds.test_x.device.type == "cpu" and len(ds.test_x) == 12


def test_other_dataset_folder_is_not_used(mnist_root: Path) -> None:
    with pytest.raises(DataError, match=r"'fashion-mnist'.*FashionMNIST.*--download"):
        load_dataset("fashion-mnist", data_dir=mnist_root)


def test_missing_data_dir_says_how_to_pass_and_fetch_it() -> None:
    with pytest.raises(DataError, match=r"'mnist'.*--data-dir.*--download"):
        load_dataset("mnist")


def test_data_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere.*does not exist.*--data-dir"):
        load_dataset("mnist", data_dir=tmp_path / "nowhere")


def test_empty_data_dir_names_the_missing_files_and_downloads_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(err.value)
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert "--download" in message
    assert not any(tmp_path.rglob("*"))  # nothing fetched or created without download=True


def test_one_missing_file_is_named(mnist_root: Path) -> None:
    (mnist_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    (mnist_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(
        DataError, match=r"missing under '.*MNIST/raw': t10k-labels-idx1-ubyte; .*--download"
    ):
        load_dataset("mnist", data_dir=mnist_root)


def test_only_gz_files_asks_to_extract_them(mnist_root: Path) -> None:
    (mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte'\.gz.*gunzip -k"):
        load_dataset("mnist", data_dir=mnist_root)


def test_truncated_image_file(mnist_root: Path) -> None:
    path = mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte' is truncated.*\[40, 28, 28\].*--download"
    ):
        load_dataset("mnist", data_dir=mnist_root)


def test_file_cut_inside_its_header(mnist_root: Path) -> None:
    path = mnist_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:9])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte' is truncated \(9 bytes\)"):
        load_dataset("mnist", data_dir=mnist_root)


def test_file_longer_than_its_header_says(mnist_root: Path) -> None:
    path = mnist_root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00\x01")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte' is longer than its header"):
        load_dataset("mnist", data_dir=mnist_root)


def test_wrong_magic_number_names_found_and_expected(mnist_root: Path) -> None:
    raw = mnist_root / "MNIST" / "raw"
    # A label file where the image file should be: torchvision alone would fail with a bare
    # "x should have 3 dimension" ValueError.
    (raw / "train-images-idx3-ubyte").write_bytes((raw / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte' has magic number 2049, expected 2051"
    ):
        load_dataset("mnist", data_dir=mnist_root)


def test_gzip_data_in_place_of_raw_file_is_a_wrong_magic(
    mnist_root: Path, idx_files: SimpleNamespace
) -> None:
    raw = mnist_root / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes(
        gzip.compress(idx_files.bytes(torch.arange(12).numpy(), 2049))
    )
    with pytest.raises(
        DataError, match=r"t10k-labels-idx1-ubyte' has magic number \d+, expected 2049.*--download"
    ):
        load_dataset("mnist", data_dir=mnist_root)


def test_labels_that_do_not_match_the_images(mnist_root: Path, idx_files: SimpleNamespace) -> None:
    raw = mnist_root / "MNIST" / "raw"
    (raw / "train-labels-idx1-ubyte").write_bytes(
        idx_files.bytes(torch.zeros(39, dtype=torch.uint8).numpy(), 2049)
    )
    with pytest.raises(DataError, match=r"holds 40 images but .*39 labels"):
        load_dataset("mnist", data_dir=mnist_root)


def test_labels_out_of_range(mnist_root: Path, idx_files: SimpleNamespace) -> None:
    raw = mnist_root / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes(
        idx_files.bytes(torch.full((12,), 42, dtype=torch.uint8).numpy(), 2049)
    )
    with pytest.raises(DataError, match=r"test labels .* outside 0\.\.9"):
        load_dataset("mnist", data_dir=mnist_root)


def test_wrong_image_size(mnist_root: Path, idx_files: SimpleNamespace) -> None:
    raw = mnist_root / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte").write_bytes(
        idx_files.bytes(idx_files.images("t10k", 12)[:, :20, :20], 2051)
    )
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte' holds 20x20 images, expected 28x28"
    ):
        load_dataset("mnist", data_dir=mnist_root)
