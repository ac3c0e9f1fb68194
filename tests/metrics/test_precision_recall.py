"""k-NN precision and recall: hand-built 1-D and 2-D cases, limits, a brute-force reference and
batch-size invariance."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import torch

from genstudy.metrics import precision_recall


def _t(values) -> torch.Tensor:
    array = np.asarray(values, dtype=np.float64)
    return torch.from_numpy(array.reshape(len(array), -1))


def _reference(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """Kynkaanniemi et al. 2019 written out on full distance matrices."""
    def radii(points: np.ndarray) -> np.ndarray:
        dist = scipy.spatial.distance.cdist(points, points)
        return np.sort(dist, axis=1)[:, k]  # column 0 is the point itself

    cross = scipy.spatial.distance.cdist(fake, real)  # (M, N)
    precision = np.mean((cross <= radii(real)[None, :]).any(axis=1))
    recall = np.mean((cross <= radii(fake)[:, None]).any(axis=0))
    return float(precision), float(recall)


@pytest.fixture(scope="module")
def clouds() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(300, 8, generator=g, dtype=torch.float64)
    fake = torch.randn(250, 8, generator=g, dtype=torch.float64) + 0.8  # shifted: overlaps partly
    return real, fake


def test_one_dimensional_hand_built_case() -> None:
    # k = 1. Real radii: 0, 1, 2, 3 -> 1; 10 -> 7. Fake radii: 0.5, 1.5 -> 1; 5 -> 3.5; 30, 31 -> 1.
    # Precision: 0.5 (near 0), 1.5 (near 1), 5 (within 7 of 10) in; 30, 31 out -> 3/5.
    # Recall: 0, 1, 2 (within 1 of 0.5 / 1.5), 3 (within 3.5 of 5) in; 10 out -> 4/5.
    real, fake = _t([0, 1, 2, 3, 10]), _t([0.5, 1.5, 5, 30, 31])
    assert precision_recall(real, fake, k=1) == (0.6, 0.8)


def test_two_dimensional_boundary_is_inside() -> None:
    square = _t([[0, 0], [1, 0], [0, 1], [1, 1]])
    probes = _t([[0.5, 0.5], [2, 0], [2, 2], [3, 0]])
    # k = 1: every corner's radius is 1; (2, 0) is exactly 1 from (1, 0) and counts as inside
    precision, recall = precision_recall(square, probes, k=1)
    assert precision == 0.5
    assert recall == 1.0  # every corner is 0.71 from (0.5, 0.5), whose radius is 1.58
    # k = 3: radii are the diagonal sqrt(2); (2, 2) is exactly sqrt(2) from (1, 1)
    assert precision_recall(square, probes, k=3)[0] == 0.75


def test_identical_sets_give_one_and_one(clouds) -> None:
    real, _ = clouds
    assert precision_recall(real, real.clone()) == (1.0, 1.0)


def test_identical_sets_with_duplicates_give_one_and_one() -> None:
    # Every point twice, so with k = 1 every radius is 0 and each probe sits exactly on its
    # duplicate. ReLU-like 128-d features: the matrix-product form of cdist puts duplicates ~1e-7
    # apart, depending on the block, and misses 1 of these 200 probes at batch_size=33.
    g = torch.Generator().manual_seed(2)
    features = torch.randn(100, 128, generator=g, dtype=torch.float64).relu() * 3 + 5
    doubled = torch.cat([features, features])
    shuffled = doubled[torch.randperm(len(doubled), generator=g)]
    assert precision_recall(doubled, shuffled, k=1, batch_size=33) == (1.0, 1.0)


def test_disjoint_far_sets_give_zero_and_zero(clouds) -> None:
    real, fake = clouds
    assert precision_recall(real, fake + 100.0) == (0.0, 0.0)


def test_collapsed_generator_has_precision_but_no_recall(clouds) -> None:
    real, _ = clouds
    collapsed = real[7].expand(200, -1)  # every sample the same real point
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0
    assert recall == pytest.approx(1 / len(real))  # only that one real point is covered


@pytest.mark.parametrize("k", [1, 3, 5])
def test_matches_brute_force_reference(clouds, k: int) -> None:
    real, fake = clouds
    expected = _reference(real.numpy(), fake.numpy(), k)
    assert 0.2 < expected[0] < 0.95 and 0.2 < expected[1] < 0.95  # a case where both are partial
    assert precision_recall(real, fake, k=k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("batch_size", [2, 7, 64, 250, 10_000])
def test_batch_size_does_not_change_the_result(clouds, batch_size: int) -> None:
    real, fake = clouds
    real, fake = real[:80], fake[:60]  # keeps batch_size=2 fast
    assert precision_recall(real, fake, batch_size=batch_size) == precision_recall(real, fake)


def test_float32_features_are_accepted(clouds) -> None:
    real, fake = clouds
    precision, recall = precision_recall(real.float(), fake.float())
    expected = _reference(real.float().double().numpy(), fake.float().double().numpy(), 3)
    assert (precision, recall) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("real, fake, kwargs, match", [
    (torch.zeros(3, 2), torch.zeros(10, 2), {}, "real_features has 3 rows"),
    (torch.zeros(10, 2), torch.zeros(10, 3), {}, "same feature extractor"),
    (torch.zeros(10), torch.zeros(10), {}, r"shape \(N, D\)"),
    (torch.zeros(10, 2), torch.full((10, 2), float("nan")), {}, "diverged"),
    (torch.zeros(10, 2), torch.zeros(10, 2), {"k": 0}, "k must be a positive int"),
    (torch.zeros(10, 2), torch.zeros(10, 2), {"batch_size": 0}, "batch_size must be a positive int"),
])
def test_bad_inputs_are_rejected(real, fake, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        precision_recall(real, fake, **kwargs)
