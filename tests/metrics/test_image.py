"""mse and ssim against scikit-image, on random and structured images of every supported size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import mean_squared_error, structural_similarity

from genstudy.metrics import mse, ssim

from .conftest import make_images


def _reference_ssim(x: torch.Tensor, y: torch.Tensor, *, sigma: float = 1.5) -> np.ndarray:
    """scikit-image's Gaussian SSIM per image, channels averaged (channel_axis=0)."""
    a, b = x.double().numpy(), y.double().numpy()
    return np.array([
        structural_similarity(a[i], b[i], channel_axis=0, gaussian_weights=True, sigma=sigma,
                              use_sample_covariance=False, data_range=1.0)
        for i in range(len(a))
    ])


def _pairs(shape: tuple[int, int, int, int], seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Random noise, noisy copies, and structured images (gradients, checkerboards, shapes)."""
    g = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    noise = torch.rand(shape, generator=g, dtype=torch.float64)
    noisy = (noise + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    rows = torch.linspace(0, 1, h, dtype=torch.float64).view(1, 1, h, 1).expand(shape)
    cols = torch.linspace(0, 1, w, dtype=torch.float64).view(1, 1, 1, w).expand(shape)
    checker = ((torch.arange(h).view(h, 1) // 2 + torch.arange(w).view(1, w) // 2) % 2).double().expand(shape)
    shapes = make_images(np.arange(n) % 4, np.random.default_rng(seed), side=h, channels=c).double()
    shifted = torch.roll(shapes, shifts=1, dims=3)
    return {
        "noise_vs_noise": (noise, torch.rand(shape, generator=g, dtype=torch.float64)),
        "noise_vs_noisy_copy": (noise, noisy),
        "gradient_vs_flipped": (rows.contiguous(), cols.contiguous()),
        "checker_vs_dimmed": (checker.contiguous(), 0.6 * checker + 0.2),
        "shapes_vs_shifted": (shapes, shifted),
    }


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (3, 3, 32, 32), (4, 1, 11, 11), (2, 1, 16, 24)])
@pytest.mark.parametrize("seed", [0, 1])
def test_ssim_matches_scikit_image(shape, seed: int) -> None:
    for name, (x, y) in _pairs(shape, seed).items():
        # tolerance 1e-4 absolute (float64 inputs; the filters agree to ~1e-12)
        np.testing.assert_allclose(ssim(x, y).numpy(), _reference_ssim(x, y), atol=1e-4, err_msg=name)


@pytest.mark.parametrize(("side", "window"), [(8, 7), (10, 9), (5, 5), (6, 5), (3, 3)])
def test_small_images_use_a_shrunken_window_equal_to_scikit_image_with_scaled_sigma(side: int, window: int) -> None:
    # documented rule: window = largest odd size <= side, sigma = 1.5 * window / 11
    for name, (x, y) in _pairs((4, 1, side, side), seed=side).items():
        expected = _reference_ssim(x, y, sigma=1.5 * window / 11)
        np.testing.assert_allclose(ssim(x, y).numpy(), expected, atol=1e-4, err_msg=name)


def test_float32_inputs_stay_within_tolerance_of_the_float64_reference() -> None:
    for name, (x, y) in _pairs((4, 1, 28, 28), seed=3).items():
        got = ssim(x.float(), y.float())
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), _reference_ssim(x.float(), y.float()), atol=1e-4, err_msg=name)


def test_ssim_of_an_image_with_itself_is_one() -> None:
    x = torch.rand(5, 3, 32, 32)
    x[0] = 0.5  # a constant image too
    assert torch.allclose(ssim(x, x), torch.ones(5), atol=1e-6)


def test_ssim_data_range_scales_with_the_pixel_range() -> None:
    x, y = _pairs((2, 1, 28, 28), seed=4)["noise_vs_noisy_copy"]
    assert torch.allclose(ssim(255 * x, 255 * y, data_range=255.0), ssim(x, y), atol=1e-10)


def test_mse_matches_scikit_image() -> None:
    for name, (x, y) in _pairs((4, 3, 32, 32), seed=5).items():
        expected = [mean_squared_error(x[i].numpy(), y[i].numpy()) for i in range(len(x))]
        np.testing.assert_allclose(mse(x, y).numpy(), expected, rtol=1e-12, err_msg=name)


def test_mse_is_per_image() -> None:
    x = torch.zeros(3, 1, 4, 4)
    y = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4), torch.full((1, 4, 4), 0.5)])
    assert torch.equal(mse(x, y), torch.tensor([0.0, 1.0, 0.25]))


@pytest.mark.parametrize("metric", [mse, ssim])
def test_shape_mismatch_is_rejected(metric) -> None:
    with pytest.raises(ValueError, match="same shape"):
        metric(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 9))


def test_ssim_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ssim(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match="data_range"):
        ssim(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8), data_range=0.0)
