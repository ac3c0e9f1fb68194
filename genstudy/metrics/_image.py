"""Per-image reconstruction metrics: mean squared error, PSNR and SSIM.

SSIM follows Wang et al. (2004) as scikit-image implements it with
``structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=...)``: local statistics under an 11-tap Gaussian window (sigma 1.5, truncated at 3.5
sigma) with half-sample symmetric ("reflect") padding, the SSIM map cropped by the window radius at
every border, then averaged over pixels and channels.

Small images: when an image side is shorter than 11 pixels, the window shrinks to the largest odd
size ``w`` that fits and sigma scales with it, ``sigma = 1.5 * w / 11`` (8x8 -> w = 7, sigma ~0.95).
That is scikit-image's result for ``sigma=1.5 * w / 11``, so the reference still applies.
"""

from __future__ import annotations

import torch

__all__ = ["MSE", "PSNR", "SSIM", "mse", "psnr", "ssim"]

MSE = "mse"
PSNR = "psnr"
SSIM = "ssim"

_SIGMA = 1.5
_TRUNCATE = 3.5  # 1.5 * 3.5 -> radius 5 -> an 11-tap window, as in Wang et al. (2004)
_K1, _K2 = 0.01, 0.03


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a batch (N, ...) with N >= 1, got shape {tuple(x.shape)}")


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error (N,) of batches ``x`` and ``y`` (N, ...)."""
    _check_pair(x, y)
    return (x - y).square().flatten(1).mean(dim=1)


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Per-image peak signal-to-noise ratio in dB (N,): ``10 log10(data_range^2 / mse)``, in float64
    (identical images give +inf)."""
    err = mse(x.to(torch.float64), y.to(torch.float64))
    return 10.0 * torch.log10(data_range**2 / err)


def _window(height: int, width: int) -> tuple[int, float]:
    """Window size and sigma for an image of this size (see the module docstring)."""
    size = min(11, height, width)
    size -= 1 - size % 2  # largest odd size that fits
    sigma = _SIGMA if size == 11 else _SIGMA * size / 11
    return size, sigma


def _gaussian_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """scipy.ndimage's normalised 1-D Gaussian, radius int(truncate * sigma + 0.5)."""
    radius = int(_TRUNCATE * sigma + 0.5)
    grid = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (grid / sigma) ** 2)
    return kernel / kernel.sum()


def _reflect_index(n: int, radius: int, device: torch.device) -> torch.Tensor:
    """Indices that pad a length-``n`` axis by ``radius`` with scipy's 'reflect' (d c b a | a b c d)."""
    idx = torch.arange(-radius, n + radius, device=device) % (2 * n)
    return torch.where(idx >= n, 2 * n - 1 - idx, idx)


def _blur_matrix(n: int, kernel: torch.Tensor) -> torch.Tensor:
    """(n, n) matrix F with F @ v = the Gaussian filter of v along one axis, reflect padding folded in."""
    radius = (len(kernel) - 1) // 2
    src = _reflect_index(n, radius, kernel.device)  # padded position p reads v[src[p]]
    rows = torch.arange(n, device=kernel.device).repeat_interleave(len(kernel))
    taps = torch.arange(len(kernel), device=kernel.device).repeat(n)
    matrix = torch.zeros((n, n), dtype=kernel.dtype, device=kernel.device)
    # out[i] = sum_j kernel[j] * padded[i + j]; several taps may read the same pixel near an edge
    return matrix.index_put_((rows, src[rows + taps]), kernel[taps], accumulate=True)


def _blur(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter of (M, 1, H, W) images with reflect padding; same size out.

    As two batched matrix products (F_H @ X @ F_W^T): a float64 ``conv2d`` with one channel has
    no fast CPU kernel, and the products are about 10x faster on the same arithmetic.
    """
    _, _, height, width = images.shape
    along_h = _blur_matrix(height, kernel)
    along_w = along_h if width == height else _blur_matrix(width, kernel)  # square images: one matrix
    return along_h @ images @ along_w.T


def ssim(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Per-image SSIM (N,) of ``x`` and ``y`` (N, C, H, W); channels are averaged.

    Computed in float64 on the inputs' device; returned in the inputs' floating dtype.
    ``data_range`` is max - min of the pixel scale (1.0 for images in [0, 1]).
    """
    _check_pair(x, y)
    if x.ndim != 4:
        raise ValueError(f"ssim needs images of shape (N, C, H, W), got {tuple(x.shape)}")
    if data_range <= 0:
        raise ValueError(f"data_range must be > 0 (max - min of the pixel scale), got {data_range}")
    n, channels, height, width = x.shape
    size, sigma = _window(height, width)
    kernel = _gaussian_kernel(sigma, torch.float64, x.device)

    a = x.reshape(n * channels, 1, height, width).to(torch.float64)
    b = y.reshape(n * channels, 1, height, width).to(torch.float64)
    # one filter pass over the five local moments: (5 * N * C, 1, H, W)
    moments = _blur(torch.cat([a, b, a * a, b * b, a * b]), kernel).chunk(5)
    mu_a, mu_b, aa, bb, ab = moments
    var_a, var_b, cov = aa - mu_a * mu_a, bb - mu_b * mu_b, ab - mu_a * mu_b  # population covariance

    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    ssim_map = numerator / denominator  # (N * C, 1, H, W)

    pad = (size - 1) // 2
    cropped = ssim_map[:, :, pad : height - pad, pad : width - pad]
    per_image = cropped.reshape(n, -1).mean(dim=1)
    return per_image.to(x.dtype if x.is_floating_point() else torch.float32)
