"""Parzen-window log-likelihood against a brute-force logsumexp, closed forms in 1-D, and bandwidth
selection on data drawn from a Parzen density with a known sigma."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats
import torch

from genstudy.metrics import DEFAULT_SIGMA_GRID, parzen_log_likelihood, select_parzen_sigma


def _brute_force(samples: np.ndarray, x: np.ndarray, sigma: float) -> np.ndarray:
    """log p(x) per image from the full (M, N) distance matrix and one scipy logsumexp."""
    s_flat, x_flat = samples.reshape(len(samples), -1), x.reshape(len(x), -1)
    dist_sq = scipy.spatial.distance.cdist(x_flat, s_flat, "sqeuclidean")  # (M, N)
    dim = s_flat.shape[1]
    return (scipy.special.logsumexp(-dist_sq / (2 * sigma**2), axis=1) - math.log(len(s_flat))
            - dim * math.log(sigma * math.sqrt(2 * math.pi)))


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    samples = torch.rand(300, 1, 4, 3, generator=g, dtype=torch.float64)  # images (N, C, H, W)
    x = torch.rand(50, 1, 4, 3, generator=g, dtype=torch.float64)
    return samples, x


@pytest.mark.parametrize("sigma", [0.05, 0.2, 1.0, 5.0])
def test_matches_brute_force_logsumexp(data, sigma: float) -> None:
    samples, x = data
    truth = _brute_force(samples.numpy(), x.numpy(), sigma)
    mean, se = parzen_log_likelihood(samples, x, sigma=sigma, batch_size=16, sample_chunk=64)
    # tolerance 1e-9 nats: both float64; only the summation order differs
    assert mean == pytest.approx(truth.mean(), abs=1e-9)
    assert se == pytest.approx(truth.std(ddof=1) / math.sqrt(len(truth)), abs=1e-9)


def test_tiny_sigma_far_images_do_not_underflow(data) -> None:
    samples, x = data
    far = x + 10.0  # every exp(-d^2 / 2 sigma^2) underflows to 0 in float64
    truth = _brute_force(samples.numpy(), far.numpy(), 0.01)
    mean, _ = parzen_log_likelihood(samples, far, sigma=0.01, sample_chunk=7)
    assert math.isfinite(mean)
    assert mean == pytest.approx(truth.mean(), rel=1e-12)


@pytest.mark.parametrize("batch_size, sample_chunk", [(1, 300), (50, 1), (7, 13), (1000, 10_000)])
def test_chunking_does_not_change_the_result(data, batch_size: int, sample_chunk: int) -> None:
    samples, x = data
    reference = parzen_log_likelihood(samples, x, sigma=0.3)
    chunked = parzen_log_likelihood(samples, x, sigma=0.3, batch_size=batch_size, sample_chunk=sample_chunk)
    # tolerance 1e-10 nats: logaddexp of chunks equals one logsumexp up to round-off
    assert chunked == pytest.approx(reference, abs=1e-10)


def test_float32_images_give_the_float64_result(data) -> None:
    samples, x = data
    as64 = parzen_log_likelihood(samples.float().double(), x.float().double(), sigma=0.2)
    as32 = parzen_log_likelihood(samples.float(), x.float(), sigma=0.2)
    assert as32 == pytest.approx(as64, abs=1e-9)  # accumulation is float64 whatever the input dtype


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_one_dimensional_closed_form(sigma: float) -> None:
    centres = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    points = np.array([-2.0, -1.0, 0.0, 0.4, 3.0])
    # an equal mixture of N(-1, sigma^2) and N(1, sigma^2)
    expected = np.logaddexp(scipy.stats.norm.logpdf(points, -1.0, sigma),
                            scipy.stats.norm.logpdf(points, 1.0, sigma)) - math.log(2)
    for point, value in zip(points, expected):
        mean, se = parzen_log_likelihood(centres, torch.tensor([[point]]), sigma=sigma)
        assert mean == pytest.approx(value, abs=1e-12)
        assert math.isnan(se)  # one image: no standard error
    mean, _ = parzen_log_likelihood(centres, torch.from_numpy(points).unsqueeze(1), sigma=sigma)
    assert mean == pytest.approx(expected.mean(), abs=1e-12)


def test_single_sample_selection_is_the_closed_form_maximum_likelihood_sigma() -> None:
    # one sample at 0: mean LL(sigma) = -E||x||^2 / (2 sigma^2) - D log(sigma sqrt(2 pi)), which
    # peaks at sigma^2 = E||x||^2 / D. Here E||x||^2 / D = 0.25, so sigma = 0.5.
    dim = 4
    x_val = torch.tensor([[0.5] * dim, [-0.5] * dim, [0.5, -0.5, 0.5, -0.5]], dtype=torch.float64)
    grid = [0.4, 0.45, 0.5, 0.55, 0.6]
    sigma, table = select_parzen_sigma(torch.zeros(1, dim), x_val, grid=grid)
    assert sigma == 0.5
    assert [s for s, _ in table] == grid
    for s, value in table:
        expected = -0.25 * dim / (2 * s**2) - dim * math.log(s * math.sqrt(2 * math.pi))
        assert value == pytest.approx(expected, abs=1e-12)


def _parzen_draws(centres: torch.Tensor, n: int, sigma: float, seed: int) -> torch.Tensor:
    """n points from the Parzen density of ``centres`` with bandwidth ``sigma``: a Gaussian mixture."""
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(centres), (n,), generator=g)
    return centres[pick] + sigma * torch.randn(n, centres.shape[1], generator=g, dtype=torch.float64)


def test_selection_recovers_the_sigma_of_a_gaussian_mixture() -> None:
    g = torch.Generator().manual_seed(1)
    centres = torch.rand(40, 16, generator=g, dtype=torch.float64)  # the "generated samples"
    true_sigma = DEFAULT_SIGMA_GRID[3]  # 0.215
    x_val = _parzen_draws(centres, 600, true_sigma, seed=2)

    sigma, table = select_parzen_sigma(centres, x_val)
    assert sigma == true_sigma  # the default grid's steps are 29% apart; the estimate is within ~1%
    assert len(table) == len(DEFAULT_SIGMA_GRID)

    fine = np.geomspace(0.15, 0.3, 36).tolist()  # 2% steps
    sigma_fine, _ = select_parzen_sigma(centres, x_val, grid=fine, batch_size=64, sample_chunk=16)
    # tolerance 5%: the maximum-likelihood sigma from 600 x 16 values has a relative std of ~1%
    assert sigma_fine == pytest.approx(true_sigma, rel=0.05)


def test_test_likelihood_is_highest_at_the_selected_sigma() -> None:
    g = torch.Generator().manual_seed(3)
    centres = torch.rand(40, 16, generator=g, dtype=torch.float64)
    x_val, x_test = _parzen_draws(centres, 400, 0.3, seed=4), _parzen_draws(centres, 400, 0.3, seed=5)
    sigma, _ = select_parzen_sigma(centres, x_val)
    chosen, _ = parzen_log_likelihood(centres, x_test, sigma=sigma)
    for other in DEFAULT_SIGMA_GRID:
        assert chosen >= parzen_log_likelihood(centres, x_test, sigma=other)[0] - 1e-9


def test_sigma_at_the_grid_edge_is_warned_about(caplog) -> None:
    g = torch.Generator().manual_seed(6)
    centres = torch.rand(20, 8, generator=g, dtype=torch.float64)
    x_val = _parzen_draws(centres, 100, 0.02, seed=7)  # far below the default grid's 0.1
    with caplog.at_level(logging.WARNING, logger="genstudy.metrics._parzen"):
        sigma, _ = select_parzen_sigma(centres, x_val)
    assert sigma == DEFAULT_SIGMA_GRID[0]
    assert "edge of the grid" in caplog.text


@pytest.mark.parametrize("sigma", [0.0, -0.1, float("nan"), float("inf"), True])
def test_bad_sigma_is_rejected(data, sigma) -> None:
    samples, x = data
    with pytest.raises(ValueError, match="sigma"):
        parzen_log_likelihood(samples, x, sigma=sigma)


@pytest.mark.parametrize("grid, match", [([], "grid is empty"), ([0.1, 0.0], "grid must hold")])
def test_bad_grid_is_rejected(data, grid, match: str) -> None:
    samples, x = data
    with pytest.raises(ValueError, match=match):
        select_parzen_sigma(samples, x, grid=grid)


def test_bad_inputs_are_rejected(data) -> None:
    samples, x = data
    with pytest.raises(ValueError, match="same size"):
        parzen_log_likelihood(samples, x[:, :, :2], sigma=0.2)
    with pytest.raises(ValueError, match=r"reshape scalars to \(N, 1\)"):
        parzen_log_likelihood(torch.zeros(5), torch.zeros(3), sigma=0.2)
    with pytest.raises(ValueError, match="diverged"):
        parzen_log_likelihood(torch.full_like(samples, float("nan")), x, sigma=0.2)
    with pytest.raises(ValueError, match="sample_chunk must be a positive int"):
        parzen_log_likelihood(samples, x, sigma=0.2, sample_chunk=0)
