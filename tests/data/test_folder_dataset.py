"""``dataset: {folder: PATH}``: the user's own PNG/JPEG files, as a user meets them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genstudy.data import DataOrigin, load_dataset, require_labels
from genstudy.errors import DataError

SPLITS = ("train", "val", "test")
EVEN = [0.4, 0.3, 0.3]  # for tests of a dozen images: the default 80/10/10 could leave val or test empty


def _ids(ds, split: str) -> list[int]:
    """The image numbers (grey pixel [0, 0] * 255) in one split."""
    return [round(v) for v in (getattr(ds, f"{split}_x")[:, 0, 0, 0] * 255).tolist()]


def _where(ds) -> dict[int, str]:
    return {i: s for s in SPLITS for i in _ids(ds, s)}


def test_class_subfolders_become_sorted_labels(tmp_path: Path, images) -> None:
    root = tmp_path / "pets"
    images.grey_folder(root, 60, classes=("dogs", "cats", "birds"))
    ds = load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache")
    assert ds.class_names == ("birds", "cats", "dogs") and ds.n_classes == 3 and ds.has_labels
    assert ds.name == "folder:pets" and ds.origin == DataOrigin("folder", str(root))
    n = sum(len(getattr(ds, f"{s}_x")) for s in SPLITS)
    assert n == 60 and all(len(getattr(ds, f"{s}_x")) > 0 for s in SPLITS)
    for split in SPLITS:
        x, y = getattr(ds, f"{split}_x"), getattr(ds, f"{split}_y")
        assert x.dtype == torch.float32 and x.shape[1:] == (1, 8, 8) and 0.0 <= x.min() and x.max() <= 1.0
        assert y.dtype == torch.int64
        for ident, label in zip(_ids(ds, split), y.tolist(), strict=True):  # image i went to class i % 3
            assert ds.class_names[label] == ("dogs", "cats", "birds")[ident % 3]
    require_labels(ds, "metric label_accuracy")  # labelled: no error


def test_files_without_subfolders_have_no_labels(tmp_path: Path, images) -> None:
    root = tmp_path / "faces"
    images.grey_folder(root, 40)
    ds = load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache")
    assert ds.n_classes == 0 and not ds.has_labels and ds.class_names == ()
    assert all((getattr(ds, f"{s}_y") == -1).all() for s in SPLITS)
    with pytest.raises(DataError) as err:
        require_labels(ds, "metric label_accuracy")
    assert str(err.value) == (f"dataset folder {str(root)!r} has no labels (no class subfolders); metric label_accuracy "
                              "needs them: put images in one subfolder per class")


def test_one_class_is_not_enough_for_a_classifier(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "one", 20, classes=("cats",))
    ds = load_dataset({"folder": str(tmp_path / "one")}, cache_dir=tmp_path / "cache")
    assert ds.n_classes == 1
    with pytest.raises(DataError, match=r"has only 1 class \('cats'\); metric fid needs at least 2: put images"):
        require_labels(ds, "metric fid")
    require_labels(ds, "conditioning", min_classes=1)


def test_colour_is_the_default_when_any_image_has_colour(tmp_path: Path, images) -> None:
    root = tmp_path / "mixed"
    for i in range(10):
        images.grey_png(root / f"g{i}.png", 40)
        images.colour(root / f"c{i}.png", (200, 10, 90))
    ds = load_dataset({"folder": str(root), "split": EVEN}, cache_dir=tmp_path / "cache")
    x = torch.cat([ds.train_x, ds.val_x, ds.test_x])
    assert x.shape[1] == 3
    grey = x[(x[:, 0] == x[:, 1]).flatten(1).all(1)]  # grey images are repeated into 3 equal channels
    assert len(grey) == 10 and torch.allclose(grey[:, :, 0, 0], torch.full((10, 3), 40 / 255))
    colour = x[(x[:, 0] != x[:, 1]).flatten(1).any(1)]
    assert torch.allclose(colour[:, :, 4, 4], torch.tensor([200, 10, 90]) / 255)


def test_channels_option_converts(tmp_path: Path, images) -> None:
    root = tmp_path / "c"
    for i in range(10):
        images.colour(root / f"c{i}.png", (255, 0, 0))
    grey = load_dataset({"folder": str(root), "channels": 1, "split": EVEN}, cache_dir=tmp_path / "cache")
    assert grey.image_shape == (1, 8, 8)
    assert torch.allclose(grey.train_x, torch.full_like(grey.train_x, 76 / 255))  # ITU-R 601 luma of pure red
    images.grey_folder(tmp_path / "g", 20)
    rgb = load_dataset({"folder": str(tmp_path / "g"), "channels": 3, "split": EVEN}, cache_dir=tmp_path / "cache")
    assert rgb.image_shape == (3, 8, 8) and torch.equal(rgb.train_x[:, 0], rgb.train_x[:, 2])


def test_size_resizes_the_shorter_side_and_crops_the_centre(tmp_path: Path, images) -> None:
    root = tmp_path / "sizes"
    wide = np.zeros((8, 16), dtype=np.uint8)
    wide[:, 4:12] = 255  # the centre 8 columns are white, the sides black
    root.mkdir()
    for i in range(6):
        Image.fromarray(wide).save(root / f"wide{i}.png")
        images.grey_png(root / f"big{i}.png", 200, height=32, width=24)
        images.colour(root / f"photo{i}.jpg", (30, 160, 60), height=20, width=40)
    ds = load_dataset({"folder": str(root), "size": 8}, cache_dir=tmp_path / "cache")
    x = torch.cat([ds.train_x, ds.val_x, ds.test_x])
    assert x.shape == (18, 3, 8, 8)
    white = x[(x > 0.99).flatten(1).all(1)]
    assert len(white) == 6  # the wide images: only their white centre survives the crop
    photo = x[(x[:, 1] > x[:, 0] + 0.3).flatten(1).all(1)]
    assert len(photo) == 6 and torch.allclose(photo.mean((2, 3)), torch.tensor([30, 160, 60]) / 255, atol=3 / 255)


def test_mixed_sizes_without_size_name_both_files(tmp_path: Path, images) -> None:
    root = tmp_path / "mixed"
    images.grey_png(root / "a.png", 1, height=8, width=8)
    images.grey_png(root / "b.png", 2, height=12, width=10)
    with pytest.raises(DataError) as err:
        load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert "'a.png' is 8x8, 'b.png' is 10x12" in message and "set dataset.size" in message and "\n" not in message


def test_exif_orientation_is_applied(tmp_path: Path, images) -> None:
    root = tmp_path / "cam"
    root.mkdir()
    for i in range(8):
        pixels = np.zeros((8, 16, 3), dtype=np.uint8)  # landscape as stored
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
        Image.fromarray(pixels).save(root / f"p{i}.jpg", exif=exif)
    ds = load_dataset({"folder": str(root), "split": EVEN}, cache_dir=tmp_path / "cache")
    assert ds.image_shape[1:] == (16, 8)  # portrait, as a photo viewer shows it


def test_sixteen_bit_palette_and_alpha_images(tmp_path: Path) -> None:
    root = tmp_path / "modes"
    root.mkdir()
    for i in range(6):
        Image.fromarray(np.full((8, 8), 32896, dtype=np.uint16)).save(root / f"wide{i}.png")  # 16-bit grey
        Image.fromarray(np.full((8, 8), 60, dtype=np.uint8)).convert("P").save(root / f"pal{i}.png")  # grey palette
    grey = load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache")
    x = torch.cat([grey.train_x, grey.val_x, grey.test_x]) * 255
    assert grey.image_shape[0] == 1 and sorted({round(v) for v in x.flatten().tolist()}) == [60, 128]
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 250, 0  # fully transparent red: alpha is dropped
    for i in range(6):
        Image.fromarray(rgba).save(root / f"alpha{i}.png")
    colour = load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache")
    x = torch.cat([colour.train_x, colour.val_x, colour.test_x])
    assert colour.image_shape[0] == 3 and ((x[:, 0] * 255).round() == 250).flatten(1).all(1).sum() == 6


def test_split_is_fixed_by_each_file_and_adding_a_file_moves_none(tmp_path: Path, images) -> None:
    root = tmp_path / "grow"
    images.grey_folder(root, 80)
    first = load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache")
    again = load_dataset({"folder": str(root)}, cache_dir=tmp_path / "other-cache")
    for name in ("train_x", "val_x", "test_x"):
        assert torch.equal(getattr(first, name), getattr(again, name))
    before = _where(first)
    assert sorted(before) == list(range(80))
    assert 56 <= len(first.train_x) <= 72 and len(first.val_x) >= 3 and len(first.test_x) >= 3  # ~80/10/10
    for i in range(80, 100):
        images.grey_png(root / f"img_{i:03d}.png", i)
    after = _where(load_dataset({"folder": str(root)}, cache_dir=tmp_path / "cache"))
    assert {i: after[i] for i in before} == before


def test_split_fractions_are_configurable(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "f", 100)
    ds = load_dataset({"folder": str(tmp_path / "f"), "split": [0.5, 0.25, 0.25]}, cache_dir=tmp_path / "c")
    assert 35 <= len(ds.train_x) <= 65 and len(ds.val_x) > 10 and len(ds.test_x) > 10


def test_too_few_images_for_three_splits(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "two", 2)
    with pytest.raises(DataError, match=r"its 2 images split .* empty; add images or raise that fraction"):
        load_dataset({"folder": str(tmp_path / "two")}, cache_dir=tmp_path / "c")


def test_hidden_and_other_files_are_skipped(tmp_path: Path, images) -> None:
    root = tmp_path / "h"
    images.grey_folder(root, 20)
    (root / ".thumb.png").write_bytes(b"not an image")
    (root / "._img_000.png").write_bytes(b"macOS resource fork")
    (root / ".git").mkdir()
    (root / ".git" / "x.png").write_bytes(b"nope")
    (root / "notes.txt").write_text("hello")
    ds = load_dataset({"folder": str(root), "split": EVEN}, cache_dir=tmp_path / "c")
    assert len(ds.train_x) + len(ds.val_x) + len(ds.test_x) == 20


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n garbage", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"])
def test_a_corrupt_image_is_named(tmp_path: Path, images, content: bytes) -> None:
    root = tmp_path / "bad"
    images.grey_folder(root, 10, classes=("a", "b"))
    (root / "b" / "broken.png").write_bytes(content)
    with pytest.raises(DataError) as err:
        load_dataset({"folder": str(root)}, cache_dir=tmp_path / "c")
    message = str(err.value)
    assert str(root / "b" / "broken.png") in message and "replace or delete the file" in message
    assert "\n" not in message


def test_a_truncated_jpeg_is_named(tmp_path: Path, images) -> None:
    root = tmp_path / "cut"
    for i in range(6):
        images.colour(root / f"p{i}.jpg", (10, 20, 30), height=32, width=32)
    whole = (root / "p3.jpg").read_bytes()
    (root / "p3.jpg").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"p3\.jpg' is not a readable PNG or JPEG"):
        load_dataset({"folder": str(root)}, cache_dir=tmp_path / "c")


def test_missing_empty_and_mixed_folders(tmp_path: Path, images) -> None:
    with pytest.raises(DataError, match=r"dataset folder '.*absent' does not exist; fix dataset.folder"):
        load_dataset({"folder": str(tmp_path / "absent")}, cache_dir=tmp_path / "c")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no images")
    with pytest.raises(DataError, match=r"dataset folder '.*empty' holds no PNG or JPEG files"):
        load_dataset({"folder": str(tmp_path / "empty")}, cache_dir=tmp_path / "c")
    images.grey_folder(tmp_path / "mixed", 10, classes=("a", "b"))
    images.grey_png(tmp_path / "mixed" / "loose.png", 1)
    with pytest.raises(DataError, match=r"has 1 image file\(s\) directly inside it \(e.g. 'loose.png'\) beside 10 in class"):
        load_dataset({"folder": str(tmp_path / "mixed")}, cache_dir=tmp_path / "c")


def test_a_bad_mapping_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset\.size: Input should be greater than or equal to 4; fix the value"):
        load_dataset({"folder": str(tmp_path), "size": 2})
    with pytest.raises(DataError, match=r"neither a name nor a mapping"):
        load_dataset(3.5)  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_folder_lands_on_the_gpu(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "g", 30, classes=("a", "b"))
    cpu = load_dataset({"folder": str(tmp_path / "g")}, cache_dir=tmp_path / "c")
    gpu = load_dataset({"folder": str(tmp_path / "g")}, cache_dir=tmp_path / "c", device="cuda")
    for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert getattr(gpu, name).device.type == "cuda" and torch.equal(getattr(gpu, name).cpu(), getattr(cpu, name))
