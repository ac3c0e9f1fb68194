"""frechet_distance against scipy's sqrtm formula and closed forms; gaussian_stats against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from genstudy.metrics import frechet_distance, gaussian_stats


def _reference(mu1, sigma1, mu2, sigma2) -> float:
    """The classic formula (Heusel et al. 2017 reference code): trace of sqrtm(S1 @ S2)."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)


def _random_spd(rng: np.random.Generator, dim: int) -> np.ndarray:
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


@pytest.mark.parametrize("dim", [1, 2, 5, 32, 128])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sqrtm_reference_on_random_spd(dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    sigma1, sigma2 = _random_spd(rng, dim), _random_spd(rng, dim)
    # tolerance: rtol 1e-6 (both are float64; sqrtm's Schur method loses a few digits)
    expected = _reference(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)


def test_identical_gaussians_give_zero() -> None:
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=64), _random_spd(rng, 64)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_pure_mean_shift_is_squared_distance() -> None:
    rng = np.random.default_rng(1)
    mu1, shift, sigma = rng.normal(size=10), rng.normal(size=10), _random_spd(rng, 10)
    expected = float(shift @ shift)
    assert frechet_distance(mu1, sigma, mu1 + shift, sigma) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_one_dimensional_closed_form() -> None:
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    m1, s1, m2, s2 = 0.3, 2.0, -1.2, 0.5
    value = frechet_distance([m1], [[s1**2]], [m2], [[s2**2]])
    assert value == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-12)


def test_diagonal_covariances_closed_form() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.0, 3.0, size=20), rng.uniform(0.0, 3.0, size=20)
    a[:3] = 0.0  # zero variances (singular) are allowed
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    expected = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("n_samples", [2, 5, 30])
def test_rank_deficient_covariances_are_finite_nonnegative_and_symmetric(n_samples: int) -> None:
    # fewer samples than the 64 feature dimensions -> covariances of rank n_samples - 1
    rng = np.random.default_rng(n_samples)
    mu1, sigma1 = gaussian_stats(rng.normal(size=(n_samples, 64)))
    mu2, sigma2 = gaussian_stats(rng.normal(loc=0.5, size=(n_samples, 64)))
    assert np.linalg.matrix_rank(sigma1) == n_samples - 1
    forward = frechet_distance(mu1, sigma1, mu2, sigma2)
    backward = frechet_distance(mu2, sigma2, mu1, sigma1)
    assert np.isfinite(forward) and forward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-8)
    assert frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0.0, abs=1e-8)


def test_never_negative_on_nearly_identical_inputs() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(10, 128))  # rank 9 in 128 dims: round-off would push it below 0
    mu, sigma = gaussian_stats(features)
    for scale in (0.0, 1e-15, 1e-12, 1e-9):
        perturbed = sigma + scale * np.eye(128)
        value = frechet_distance(mu, sigma, mu + scale, perturbed)
        assert 0.0 <= value < 1e-6


def test_accepts_tensors() -> None:
    rng = np.random.default_rng(4)
    mu1, mu2, s1, s2 = rng.normal(size=4), rng.normal(size=4), _random_spd(rng, 4), _random_spd(rng, 4)
    expected = frechet_distance(mu1, s1, mu2, s2)
    as_tensors = [torch.from_numpy(v).float() for v in (mu1, s1, mu2, s2)]
    assert frechet_distance(*as_tensors) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("shapes", "name"),
    [
        (((3,), (3, 3), (4,), (3, 3)), "mu2"),
        (((3,), (3, 4), (3,), (3, 3)), "sigma1"),
        (((3,), (3, 3), (3,), (2, 2)), "sigma2"),
        (((3, 1), (3, 3), (3,), (3, 3)), "mu1"),
    ],
)
def test_shape_mismatch_names_the_argument(shapes, name: str) -> None:
    args = [np.eye(*s) if len(s) == 2 else np.zeros(s) for s in shapes]
    with pytest.raises(ValueError, match=name):
        frechet_distance(*args)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_rejected(bad: float) -> None:
    sigma = np.eye(3)
    sigma[1, 1] = bad
    with pytest.raises(ValueError, match="sigma2 has 1 non-finite"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), sigma)


def test_gaussian_stats_matches_numpy() -> None:
    features = np.random.default_rng(5).normal(size=(50, 7))
    mu, sigma = gaussian_stats(torch.from_numpy(features))
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mu, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(features, rowvar=False), rtol=1e-10)


@pytest.mark.parametrize("shape", [(1, 5), (0, 5), (5,)])
def test_gaussian_stats_rejects_too_few_or_flat_features(shape) -> None:
    with pytest.raises(ValueError, match="features"):
        gaussian_stats(np.zeros(shape))
