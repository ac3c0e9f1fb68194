"""Inception-v3 FID from a local weights file: shapes, zeros, ordering, caching, clear errors.

A randomly initialised inception_v3 (fixed seed) stands in for the ImageNet weights; no download.
Its batch-norm running statistics are calibrated on one batch of Gaussian noise, otherwise the
default init makes pool3 features vanish (~1e-8) and every FID ~1e-12. Inception on the CPU costs
~0.1-0.2 s per image and each FID two 2048x2048 eigendecompositions, so the dataset is 20 8x8 images.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genstudy.errors import GenstudyError
from genstudy.metrics import (
    FID_INCEPTION,
    INCEPTION_FEATURE_DIM,
    FidEvaluator,
    InceptionWeightsError,
    inception_fid_evaluator,
)
from tests.metrics.conftest import make_dataset

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def tiny():
    return make_dataset("tiny", sizes=(8, 4, 8))


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the calibration batch
        net.train()
        with torch.no_grad():
            net(torch.randn(4, 3, 299, 299))
    path = tmp_path_factory.mktemp("inception") / "inception_v3.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fid-cache")


@pytest.fixture(scope="module")
def evaluator(tiny, weights: Path, cache_dir: Path) -> FidEvaluator:
    return inception_fid_evaluator(tiny, weights, cache_dir=cache_dir, batch_size=4)


def test_metric_key_is_the_public_name() -> None:
    assert FID_INCEPTION == "fid_inception"


def test_features_are_pool3_2048(tiny, evaluator: FidEvaluator) -> None:
    features = evaluator.features(tiny.val_x)
    assert features.shape == (len(tiny.val_x), INCEPTION_FEATURE_DIM) == (4, 2048)
    assert bool(torch.isfinite(features).all()) and float(features.std()) > 0


def test_test_split_itself_scores_zero_and_noise_scores_higher(tiny, evaluator: FidEvaluator) -> None:
    floor = evaluator.real_floor()  # train split vs test split; ~1.6e5 with these weights
    assert floor > 0.0
    # same features on both sides: only eigen round-off remains, relative to the floor's scale
    assert evaluator.fid(tiny.test_x) == pytest.approx(0.0, abs=1e-6 * floor)
    noise = torch.rand(8, *tiny.image_shape, generator=torch.Generator().manual_seed(0))
    assert evaluator.fid(noise) > 5 * floor  # ~2.9e6: uniform noise is far from the shapes


def test_cache_is_keyed_by_the_weights_file_and_reused(tiny, weights: Path, cache_dir: Path,
                                                      evaluator: FidEvaluator, monkeypatch) -> None:
    from genstudy.metrics import _fid

    digest = __import__("hashlib").sha256(weights.read_bytes()).hexdigest()
    assert evaluator.feature_id == digest
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and digest[:16] in files[0].name

    def no_extraction(*args, **kwargs):
        raise AssertionError("the cached statistics should have been used")

    monkeypatch.setattr(_fid, "_extract", no_extraction)  # only the cache can answer now
    again = inception_fid_evaluator(tiny, weights, cache_dir=cache_dir, batch_size=2)
    assert list(cache_dir.iterdir()) == files
    assert (again.mu == evaluator.mu).all() and (again.sigma == evaluator.sigma).all()
    assert again.real_floor() == evaluator.real_floor()


def test_missing_file_names_the_file_and_the_fix(tiny, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "inception.pth"
    with pytest.raises(InceptionWeightsError, match=r"nope.*does not exist.*state_dict\(\)"):
        inception_fid_evaluator(tiny, missing, cache_dir=tmp_path)
    assert issubclass(InceptionWeightsError, GenstudyError) and issubclass(InceptionWeightsError, ValueError)


def test_wrong_state_dict_names_the_file(tiny, tmp_path: Path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(InceptionWeightsError, match=r"resnet18\.pth.*does not fit torchvision's inception_v3"):
        inception_fid_evaluator(tiny, path, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_not_a_state_dict_names_the_file(tiny, tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a torch file")
    with pytest.raises(InceptionWeightsError, match=r"garbage\.pth.*cannot be read"):
        inception_fid_evaluator(tiny, path, cache_dir=tmp_path)
