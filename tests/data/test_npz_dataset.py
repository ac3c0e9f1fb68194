"""``dataset: {npz: PATH}``: arrays the user saved with numpy, as a user meets them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genstudy.data import DataOrigin, load_dataset, require_labels
from genstudy.data._split import fixed_permutation
from genstudy.errors import DataError

SPLITS = ("train", "val", "test")


def _save(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def _numbered(n: int, shape: tuple[int, ...] = (1, 4, 4)) -> np.ndarray:
    """uint8 images whose every pixel holds the image's index."""
    return np.broadcast_to(np.arange(n, dtype=np.uint8).reshape(n, *[1] * len(shape)), (n, *shape)).copy()


def test_nchw_uint8_with_labels(tmp_path: Path) -> None:
    path = _save(tmp_path / "pets.npz", x=_numbered(50, (3, 4, 4)), y=np.arange(50) % 5)
    ds = load_dataset({"npz": str(path)})
    assert [len(getattr(ds, f"{s}_x")) for s in SPLITS] == [40, 5, 5]
    assert ds.image_shape == (3, 4, 4) and ds.n_classes == 5 and ds.has_labels
    assert ds.name == "npz:pets.npz" and ds.origin == DataOrigin("npz", str(path))
    order = fixed_permutation(50, seed=0)
    ids = torch.cat([ds.train_x, ds.val_x, ds.test_x])[:, 0, 0, 0] * 255
    assert ids.round().long().tolist() == order.tolist()  # split by the fixed seeded permutation
    labels = torch.cat([ds.train_y, ds.val_y, ds.test_y])
    assert labels.tolist() == (order % 5).tolist() and labels.dtype == torch.int64
    assert ds.train_x.dtype == torch.float32 and 0.0 <= float(ds.train_x.min()) <= float(ds.train_x.max()) <= 1.0
    again = load_dataset({"npz": str(path)})
    assert torch.equal(again.test_x, ds.test_x) and torch.equal(again.train_y, ds.train_y)


def test_nhw_floats_without_labels(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((30, 6, 8), dtype=np.float64)
    ds = load_dataset({"npz": str(_save(tmp_path / "f.npz", x=x)), "split": [0.6, 0.2, 0.2]})
    assert ds.image_shape == (1, 6, 8) and [len(ds.train_x), len(ds.val_x), len(ds.test_x)] == [18, 6, 6]
    assert ds.n_classes == 0 and not ds.has_labels and (ds.train_y == -1).all()
    order = fixed_permutation(30, seed=0)
    assert torch.allclose(ds.train_x[:, 0], torch.from_numpy(x[order[:18]]).float())  # floats kept, not quantised
    with pytest.raises(DataError, match=r"dataset npz '.*f\.npz' has no labels \(no array 'y'\); metric fid needs them"):
        require_labels(ds, "metric fid")


def test_integer_pixels_in_range_are_accepted(tmp_path: Path) -> None:
    ds = load_dataset({"npz": str(_save(tmp_path / "i.npz", x=_numbered(20).astype(np.int64)))})
    x = torch.cat([ds.train_x, ds.val_x, ds.test_x])
    assert ds.image_shape == (1, 4, 4) and sorted((x[:, 0, 0, 0] * 255).round().long().tolist()) == list(range(20))


@pytest.mark.parametrize(("arrays", "expected"), [
    ({"images": _numbered(10)}, r"has no array 'x' \(it holds 'images'\); save it with numpy\.savez"),
    ({"x": _numbered(10), "y": np.arange(9)}, r"array 'y' has shape \(9,\) but 'x' holds 10 images"),
    ({"x": _numbered(10), "y": np.arange(10) * 0.5}, r"array 'y' has dtype float64; store integer class labels"),
    ({"x": _numbered(10), "y": np.arange(10) * 2}, r"labels up to 18 but none of 1, 3, 5, 7, 9, \.\.\.; number"),
    ({"x": _numbered(10), "y": np.arange(10) - 1}, r"negative label -1"),
    ({"x": np.full((10, 4, 4), 2.0)}, r"float 'x' holds values 2\.\.2, outside \[0, 1\]"),
    ({"x": np.full((10, 4, 4), np.nan)}, r"float 'x' holds NaN or infinity"),
    ({"x": np.full((10, 4, 4), 300)}, r"integer 'x' holds 300\.\.300, outside 0\.\.255"),
    ({"x": _numbered(10, (8, 8, 3))}, r"shape \(10, 8, 8, 3\); it looks channel-last: store x\.transpose\(0, 3, 1, 2\)"),
    ({"x": np.zeros((10, 16))}, r"shape \(10, 16\); store \(N, C, H, W\)"),
    ({"x": np.zeros((10, 4, 4), dtype=bool)}, r"dtype bool; store uint8"),
    ({"x": _numbered(2)}, r"its 2 images split 2/0/0 .* leaving val empty"),
])
def test_bad_arrays_are_named(tmp_path: Path, arrays: dict, expected: str) -> None:
    path = _save(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=expected) as err:
        load_dataset({"npz": str(path)})
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset npz '.*absent\.npz' does not exist; fix dataset\.npz"):
        load_dataset({"npz": str(tmp_path / "absent.npz")})
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"'.*junk\.npz' is not a readable \.npz file"):
        load_dataset({"npz": str(tmp_path / "junk.npz")})
    np.save(tmp_path / "one.npy", _numbered(10))
    with pytest.raises(DataError, match=r"'.*one\.npy' holds one array \(\.npy\), not named arrays"):
        load_dataset({"npz": str(tmp_path / "one.npy")})
    with pytest.raises(DataError, match=r"is a folder, not an \.npz file"):
        load_dataset({"npz": str(tmp_path)})


def test_pickled_arrays_are_refused_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    np.savez(tmp_path / "evil.npz", x=np.array([Payload()], dtype=object))
    assert b"touch" in (tmp_path / "evil.npz").read_bytes()  # the pickle is in the file, ready to run
    with pytest.raises(DataError, match=r"'.*evil\.npz' is not a readable \.npz file .*allow_pickle=False"):
        load_dataset({"npz": str(tmp_path / "evil.npz")})
    assert not marker.exists()


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = _save(tmp_path / "d.npz", x=_numbered(20))
    first = load_dataset({"npz": str(path)})
    _save(path, x=_numbered(30))
    second = load_dataset({"npz": str(path)})
    assert len(first.train_x) + len(first.val_x) + len(first.test_x) == 20
    assert len(second.train_x) + len(second.val_x) + len(second.test_x) == 30
