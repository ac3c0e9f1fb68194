"""load_dataset as a user meets it: names, devices and the messages of its errors."""

from __future__ import annotations

import pytest
import torch

import genstudy.data as data
from genstudy.data import DATASETS, Dataset, load_dataset
from genstudy.errors import DataError, GenstudyError


def test_public_surface() -> None:
    assert set(data.__all__) == {"Dataset", "DataOrigin", "load_dataset", "DATASETS", "require_labels",
                                 "display_name", "source_problems", "default_cache_dir"}
    assert DATASETS == ("mnist5k", "digits", "toy", "photos32", "photos", "photos128", "photos224", "mnist",
                        "fashion-mnist", "cifar10")


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DataError) as err:
        load_dataset("mnist-5k")
    message = str(err.value)
    assert "'mnist-5k'" in message and all(name in message for name in DATASETS)
    assert isinstance(err.value, GenstudyError)


def test_embedded_datasets_ignore_data_dir(tmp_path) -> None:
    ds = load_dataset("toy", data_dir=tmp_path / "absent", download=True)
    assert isinstance(ds, Dataset) and len(ds.train_x) == 512
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("device", ["gpu", "cuda:x", 3.5])
def test_bad_device_is_a_data_error(device: object) -> None:
    with pytest.raises(DataError, match=r"device .* is not a torch device; use 'cpu'"):
        load_dataset("toy", device=device)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_cuda_without_a_gpu_says_to_use_cpu() -> None:
    with pytest.raises(DataError, match=r"cannot put dataset 'toy' on device 'cuda'.*device='cpu'"):
        load_dataset("toy", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["toy", "mnist5k"])
def test_every_tensor_lands_on_the_gpu(name: str) -> None:
    ds = load_dataset(name, device="cuda")
    cpu = load_dataset(name)
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert getattr(ds, field).device.type == "cuda"
        assert torch.equal(getattr(ds, field).cpu(), getattr(cpu, field))


def test_bad_device_fails_before_any_file_is_read(tmp_path) -> None:
    # tmp_path holds no MNIST files: the device error must come first, not "missing files".
    with pytest.raises(DataError, match=r"device 'gpu' is not a torch device"):
        load_dataset("mnist", data_dir=tmp_path, device="gpu")
