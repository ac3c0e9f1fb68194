"""``dataset:`` in a study spec: a built-in name, ``{folder: ...}`` or ``{npz: ...}``; refusals in one line."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from genstudy.data import display_name, load_dataset
from genstudy.errors import SpecError
from genstudy.spec import FolderDatasetSpec, NpzDatasetSpec, load_spec, parse_spec, spec_digest

BASE = {"objective": "vae", "dataset": "toy", "metrics": ["loss"]}


def _spec(dataset, **more):
    return parse_spec({**copy.deepcopy(BASE), "dataset": dataset, **more}, source="s.yaml")


def _refused(dataset) -> str:
    with pytest.raises(SpecError) as err:
        _spec(dataset)
    message = str(err.value)
    assert message.startswith("s.yaml: ") and "\n" not in message
    return message


def test_a_name_stays_a_plain_string_in_the_stored_spec() -> None:
    spec = _spec("toy")
    assert spec.dataset == "toy" and spec.resolved()["dataset"] == "toy"
    assert spec_digest(spec.resolved()) == spec_digest({**spec.resolved(), "dataset": "toy"})


def test_folder_mapping_is_validated_with_its_defaults(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "faces", 40)
    spec = _spec({"folder": str(tmp_path / "faces"), "size": 16})
    assert isinstance(spec.dataset, FolderDatasetSpec) and spec.dataset.display_name == "folder:faces"
    assert spec.resolved()["dataset"] == {"folder": str(tmp_path / "faces"), "size": 16, "channels": None,
                                          "split": [0.8, 0.1, 0.1]}
    assert parse_spec(spec.resolved()).resolved() == spec.resolved()  # the stored form reads back the same
    ds = load_dataset(spec.dataset, cache_dir=tmp_path / "cache")  # the model itself is accepted
    assert ds.image_shape == (1, 16, 16) and ds.name == display_name(spec.dataset) == "folder:faces"


def test_npz_mapping(tmp_path: Path) -> None:
    np.savez(tmp_path / "arrays.npz", x=np.zeros((20, 4, 4), dtype=np.uint8))
    spec = _spec({"npz": str(tmp_path / "arrays.npz"), "split": [0.5, 0.25, 0.25]})
    assert isinstance(spec.dataset, NpzDatasetSpec) and spec.dataset.split == (0.5, 0.25, 0.25)
    assert spec.dataset.display_name == "npz:arrays.npz" and display_name("mnist5k") == "mnist5k"
    assert len(load_dataset(spec.dataset).train_x) == 10


def test_a_yaml_spec_and_an_override_reach_the_mapping(tmp_path: Path, images) -> None:
    images.grey_folder(tmp_path / "imgs", 40)
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump({**BASE, "dataset": {"folder": str(tmp_path / "imgs"), "size": 32}}))
    assert load_spec(path, ["dataset.size=16", "dataset.channels=3"]).dataset.size == 16
    with pytest.raises(SpecError, match=r"own\.yaml: dataset\.size: 3 is invalid"):
        load_spec(path, ["dataset.size=3"])


def test_missing_and_empty_paths_are_refused_before_any_storage(tmp_path: Path, images) -> None:
    message = _refused({"folder": str(tmp_path / "nowhere")})
    assert message.startswith("s.yaml: dataset.folder: '/") and message.endswith(
        "nowhere' does not exist; fix the path (a relative path is read from the working directory)")
    assert "looked for /" in _refused({"folder": "relative/nowhere"})
    (tmp_path / "empty" / "deep").mkdir(parents=True)
    (tmp_path / "empty" / "deep" / "a.txt").write_text("x")
    assert "dataset.folder: " in (m := _refused({"folder": str(tmp_path / "empty")}))
    assert "holds no PNG or JPEG files" in m
    np.savez(tmp_path / "a.npz", x=np.zeros((3, 4, 4)))
    assert "is a file, not a folder; use dataset: {npz: PATH}" in _refused({"folder": str(tmp_path / "a.npz")})
    assert "b.npz' does not exist" in (m := _refused({"npz": str(tmp_path / "b.npz")})) and "dataset.npz: " in m
    assert "dataset.npz: " in (m := _refused({"npz": str(tmp_path)})) and "is a folder, not an .npz file" in m
    assert "dataset.folder: " in _refused({"folder": "a\x00b"})  # a name the OS refuses is just missing


@pytest.mark.parametrize(("dataset", "expected"), [
    ({"folder": "x", "size": 2}, "dataset.size: 2 is invalid (Input should be greater than or equal to 4)"),
    ({"folder": "x", "size": 5000}, "dataset.size: 5000 is invalid"),
    ({"folder": "x", "size": True}, "dataset.size: True is invalid"),
    ({"folder": "x", "channels": 2}, "dataset.channels: 2 is invalid"),
    ({"folder": "x", "channels": True}, "dataset.channels: True is invalid"),
    ({"folder": "x", "resize": 32}, "dataset.resize: 32 is invalid (unknown key of a folder dataset: remove it or use "
                                    "one of folder, size, channels, split)"),
    ({"npz": "x", "size": 32}, "dataset.size: 32 is invalid (unknown key of a npz dataset"),
    ({"folder": "x", "npz": "y"}, "dataset: {'folder': 'x', 'npz': 'y'} is invalid (give folder: or npz:, not both)"),
    ({"path": "x"}, "dataset: {'path': 'x'} is invalid (expected a built-in dataset name such as mnist5k, or a mapping "
                    "{folder: PATH} or {npz: PATH})"),
    ({"folder": ""}, "dataset.folder: '' is invalid"),
    ({"folder": 3}, "dataset.folder: 3 is invalid (Input should be a valid string)"),
    ({"folder": "x", "split": [0.5, 0.5, 0.5]}, "the train/val/test fractions sum to 1.5, not 1"),
    ({"folder": "x", "split": [0.9, 0.1]}, "dataset.split: [0.9, 0.1] is invalid (Value error, expected 3 fractions"),
    ({"npz": "x", "split": [1.0, 0.0, 0.0]}, "dataset.split"),
    (["toy"], "dataset: ['toy'] is invalid"),
    (None, "dataset: None is invalid"),
])
def test_bad_mappings_are_refused_naming_the_key(dataset, expected: str) -> None:
    assert expected in _refused(dataset)


def test_unknown_names_keep_their_message() -> None:
    message = _refused("imagenet")
    assert "dataset: 'imagenet' is not a known dataset; use one of" in message and "mnist5k" in message
