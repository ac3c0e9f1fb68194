"""A folder of images is decoded once: kept in the process, saved on disk by its content."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from genstudy.data import _store, default_cache_dir, load_dataset

LOGGER = "genstudy.data._folder"


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("folder-*.npz"))


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for r in caplog.records:
        if "decoded" in r.getMessage():
            out.append("decoded")
        elif "read from the cache" in r.getMessage():
            out.append("cache")
    return out


def _same(a, b) -> bool:
    return all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"))


def test_second_process_reads_the_cache_instead_of_decoding(tmp_path: Path, images, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    images.grey_folder(tmp_path / "pets", 40, classes=("cats", "dogs"))
    cache = tmp_path / "cache"
    first = load_dataset({"folder": str(tmp_path / "pets")}, cache_dir=cache)
    assert _events(caplog) == ["decoded"] and len(_cache_files(cache)) == 1
    saved = _cache_files(cache)[0].stat().st_mtime_ns

    _store._memo.clear()  # what a fresh worker process starts with
    second = load_dataset({"folder": str(tmp_path / "pets")}, cache_dir=cache)
    assert _events(caplog) == ["decoded", "cache"]
    assert _same(first, second) and second.class_names == ("cats", "dogs") and second.n_classes == 2
    assert _cache_files(cache)[0].stat().st_mtime_ns == saved  # read, not rewritten


def test_the_same_process_neither_decodes_nor_reads_again(tmp_path: Path, images, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    images.grey_folder(tmp_path / "f", 40)
    cache = tmp_path / "cache"
    first = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    for path in _cache_files(cache):
        path.unlink()
    second = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    assert _events(caplog) == ["decoded"] and _same(first, second) and not _cache_files(cache)
    second.train_x.zero_()  # each call gets its own tensors
    assert not torch.equal(load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache).train_x, second.train_x)


def test_changing_a_file_changes_the_key(tmp_path: Path, images, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    paths = images.grey_folder(tmp_path / "f", 40)
    cache = tmp_path / "cache"
    before = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    images.grey_png(paths[7], 250)  # same name, same size, new bytes
    after = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    assert _events(caplog) == ["decoded", "decoded"] and len(_cache_files(cache)) == 2
    ids = {round(v) for x in (after.train_x, after.val_x, after.test_x) for v in (x[:, 0, 0, 0] * 255).tolist()}
    assert 250 in ids and 7 not in ids and not _same(before, after)


def test_options_are_part_of_the_key(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "f", 40, size=16)
    cache = tmp_path / "cache"
    load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    small = load_dataset({"folder": str(tmp_path / "f"), "size": 8}, cache_dir=cache)
    rgb = load_dataset({"folder": str(tmp_path / "f"), "channels": 3}, cache_dir=cache)
    assert small.image_shape == (1, 8, 8) and rgb.image_shape == (3, 16, 16) and len(_cache_files(cache)) == 3


def test_moving_the_folder_keeps_the_cache(tmp_path: Path, images, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    images.grey_folder(tmp_path / "a" / "data", 40)
    cache = tmp_path / "cache"
    load_dataset({"folder": str(tmp_path / "a" / "data")}, cache_dir=cache)
    (tmp_path / "a").rename(tmp_path / "b")
    _store._memo.clear()
    load_dataset({"folder": str(tmp_path / "b" / "data")}, cache_dir=cache)
    assert _events(caplog) == ["decoded", "cache"]


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, images, caplog) -> None:
    caplog.set_level(logging.INFO)
    images.grey_folder(tmp_path / "f", 40)
    cache = tmp_path / "cache"
    first = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    (path,) = _cache_files(cache)
    path.write_bytes(path.read_bytes()[:100])
    _store._memo.clear()
    second = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    assert _same(first, second) and _events(caplog) == ["decoded", "decoded"]
    assert any("is unreadable" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    _store._memo.clear()
    load_dataset({"folder": str(tmp_path / "f")}, cache_dir=cache)
    assert _events(caplog)[-1] == "cache"


def test_an_unwritable_cache_dir_is_not_fatal(tmp_path: Path, images, caplog) -> None:
    images.grey_folder(tmp_path / "f", 40)
    (tmp_path / "blocked").write_text("a file where the cache dir should be")
    ds = load_dataset({"folder": str(tmp_path / "f")}, cache_dir=tmp_path / "blocked" / "cache")
    assert len(ds.train_x) > 0
    assert any("cannot write the dataset cache" in r.getMessage() for r in caplog.records)


def test_default_cache_dir_follows_the_environment(tmp_path: Path, images, monkeypatch) -> None:
    monkeypatch.setenv("GENSTUDY_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine" / "datasets"
    images.grey_folder(tmp_path / "f", 40)
    load_dataset({"folder": str(tmp_path / "f")})
    assert len(_cache_files(tmp_path / "mine" / "datasets")) == 1
    monkeypatch.delenv("GENSTUDY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "genstudy" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "genstudy" / "datasets"
