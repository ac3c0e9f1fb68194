"""FidEvaluator: exact zeros, batch-size invariance, ordering of good and bad images, caching."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from genstudy.metrics import FID, FidEvaluator, frechet_distance, gaussian_stats


@pytest.fixture()
def evaluator(shapes, shapes_classifier, tmp_path: Path) -> FidEvaluator:
    return FidEvaluator.from_dataset(shapes, shapes_classifier, cache_dir=tmp_path)


def test_metric_key_is_the_public_name() -> None:
    assert FID == "fid"


def test_test_split_itself_scores_zero(shapes, evaluator: FidEvaluator) -> None:
    # tolerance 1e-6: the same features on both sides, so only eigen round-off remains
    assert evaluator.fid(shapes.test_x) == pytest.approx(0.0, abs=1e-6)


def test_identical_generated_sets_score_zero_against_each_other(shapes, evaluator: FidEvaluator) -> None:
    features = evaluator.features(shapes.val_x)
    mu, sigma = gaussian_stats(features)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_batch_size_does_not_change_the_value(shapes, shapes_classifier, tmp_path: Path) -> None:
    evaluators = [
        FidEvaluator.from_dataset(shapes, shapes_classifier, cache_dir=tmp_path / str(b), batch_size=b)
        for b in (5, 64, 10_000)
    ]
    values = [e.fid(shapes.val_x) for e in evaluators]
    # tolerance rel 1e-5: float32 convolutions may round differently per batch size
    assert values == pytest.approx([values[0]] * len(values), rel=1e-5, abs=1e-7)
    for e in evaluators[1:]:
        np.testing.assert_allclose(e.sigma, evaluators[0].sigma, rtol=1e-4, atol=1e-6)
        assert e.real_floor() == pytest.approx(evaluators[0].real_floor(), rel=1e-5)


def test_real_images_score_near_the_floor_and_noise_far_above(shapes, evaluator: FidEvaluator) -> None:
    floor = evaluator.real_floor()
    real = evaluator.fid(shapes.val_x)  # unseen real images
    noise = evaluator.fid(torch.rand(200, *shapes.image_shape, generator=torch.Generator().manual_seed(0)))
    blank = evaluator.fid(torch.zeros(200, *shapes.image_shape) + 0.01 * torch.rand(200, *shapes.image_shape))
    assert 0.0 < floor < 0.5 * noise
    assert real < 0.2 * noise and real < 0.2 * blank
    one_class = evaluator.fid(shapes.test_x[shapes.test_y == 0])  # mode collapse is penalised
    assert one_class > 2 * real


def test_real_floor_is_train_against_test(shapes, shapes_classifier, evaluator: FidEvaluator) -> None:
    train_mu, train_sigma = gaussian_stats(evaluator.features(shapes.train_x))
    expected = frechet_distance(train_mu, train_sigma, evaluator.mu, evaluator.sigma)
    assert evaluator.real_floor() == pytest.approx(expected, rel=1e-9)
    assert evaluator.feature_id == shapes_classifier.weights_sha256


def test_statistics_are_cached_in_one_file_and_reused(shapes, shapes_classifier, tmp_path: Path) -> None:
    first = FidEvaluator.from_dataset(shapes, shapes_classifier, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"

    class Unusable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def features(self, x: torch.Tensor) -> torch.Tensor:
            raise AssertionError("the cached statistics should have been used")

    # same weight hash, a model that cannot run: only the cache can answer
    cached_info = dataclasses.replace(shapes_classifier, model=Unusable())
    second = FidEvaluator.from_dataset(shapes, cached_info, cache_dir=tmp_path)
    assert np.array_equal(first.mu, second.mu) and np.array_equal(first.sigma, second.sigma)
    assert second.real_floor() == first.real_floor()
    assert list(tmp_path.iterdir()) == files


def test_cache_is_keyed_by_classifier_hash(shapes, shapes_classifier, tmp_path: Path) -> None:
    FidEvaluator.from_dataset(shapes, shapes_classifier, cache_dir=tmp_path)
    other = dataclasses.replace(shapes_classifier, weights_sha256="0" * 64)
    FidEvaluator.from_dataset(shapes, other, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2


def test_corrupt_statistics_are_recomputed(shapes, shapes_classifier, tmp_path: Path, caplog) -> None:
    first = FidEvaluator.from_dataset(shapes, shapes_classifier, cache_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="genstudy.metrics"):
        second = FidEvaluator.from_dataset(shapes, shapes_classifier, cache_dir=tmp_path)
    assert "unreadable" in caplog.text
    assert np.array_equal(first.mu, second.mu)
    assert list(tmp_path.iterdir()) == [path]


def test_bad_images_are_rejected(shapes, evaluator: FidEvaluator) -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 1, 8, 8\)"):
        evaluator.fid(torch.rand(10, 1, 28, 28))
    with pytest.raises(ValueError, match="at least 2"):
        evaluator.fid(shapes.test_x[:1])
    bad = shapes.test_x.clone()
    bad[3, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        evaluator.fid(bad)


def test_images_on_another_device_or_dtype_are_moved(shapes, evaluator: FidEvaluator) -> None:
    as_double = evaluator.fid(shapes.val_x.double())
    assert as_double == pytest.approx(evaluator.fid(shapes.val_x), rel=1e-6)
