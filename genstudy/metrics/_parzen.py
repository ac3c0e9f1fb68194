"""Gaussian Parzen-window log-likelihood of test images under a model's samples.

The protocol of Goodfellow et al. 2014 (code from Breuleux, Bengio & Vincent 2011): put an isotropic
Gaussian of std ``sigma`` on each of N generated samples s_i and score each test image x (D pixels):

    log p(x) = logsumexp_i( -||x - s_i||^2 / (2 sigma^2) ) - log N - D log(sigma sqrt(2 pi))

``sigma`` is chosen on a validation split from a grid (:func:`select_parzen_sigma`), then the test
images are scored with it (:func:`parzen_log_likelihood`), in nats per image with the standard error
of the mean. The estimate is known to be high-variance and biased in high dimension (Theis et al.
2016); it is reported because the seeds' GAN tables and the GAN literature use it.

Memory is bounded: samples go through in chunks and test images in batches, one
(batch_size, sample_chunk) float64 distance block at a time, and the chunks are merged with
``logaddexp``, which equals one logsumexp over all samples up to float64 round-off. Everything runs
on the samples' device; test images are moved there batch by batch. Cost: about 2 s for 10,000
samples against 1,000 28x28 images on two CPU cores; a 10-value sigma grid adds about as much again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch

__all__ = ["DEFAULT_SIGMA_GRID", "PARZEN", "PARZEN_SIGMA", "parzen_log_likelihood", "select_parzen_sigma"]

_logger = logging.getLogger(__name__)

PARZEN = "parzen"  # estimator name, stored under LOG_LIKELIHOOD_ESTIMATOR
PARZEN_SIGMA = "parzen_sigma"  # user attr: the bandwidth chosen on the validation split

# The original code's grid, numpy.logspace(-1, 0, 10): 0.1 .. 1.0 in 10 log-spaced steps, for
# pixels in [0, 1]. Kept as the default so numbers stay comparable with the published tables;
# a choice at either end of the grid is logged as a warning (pass a wider grid then).
DEFAULT_SIGMA_GRID: tuple[float, ...] = tuple(10.0 ** (-1.0 + i / 9.0) for i in range(10))


def parzen_log_likelihood(
    samples: torch.Tensor,
    x: torch.Tensor,
    *,
    sigma: float,
    batch_size: int = 250,
    sample_chunk: int = 10_000,
) -> tuple[float, float]:
    """Mean and standard error over images of the Parzen-window log p(x), in nats per image.

    Args:
        samples: generated samples (N, ...), N >= 1, e.g. images (N, C, H, W) in [0, 1]; flattened
            per sample. The computation runs on their device.
        x: test images (M, ...) with the same per-image size as ``samples``, M >= 1.
        sigma: the window's standard deviation, > 0 (from :func:`select_parzen_sigma`).
        batch_size: test images per distance block.
        sample_chunk: samples per distance block. Peak memory is about
            ``3 * 8 * batch_size * sample_chunk`` bytes (60 MB at the defaults); the result does
            not depend on either.

    Returns:
        ``(mean, standard_error)``: the standard error is the unbiased std over images divided by
        sqrt(M), NaN for a single image.

    Raises:
        ValueError: on a bad argument, mismatched sizes, or non-finite samples or images.
    """
    _check_sigmas([sigma], "sigma")
    values = _log_densities(samples, x, [sigma], batch_size=batch_size, sample_chunk=sample_chunk)[0]
    return _mean_and_se(values)


def select_parzen_sigma(
    samples: torch.Tensor,
    x_val: torch.Tensor,
    *,
    grid: Sequence[float] | None = None,
    batch_size: int = 250,
    sample_chunk: int = 10_000,
) -> tuple[float, list[tuple[float, float]]]:
    """The bandwidth from ``grid`` that maximises the mean validation log-likelihood.

    Every grid value is scored from the same distance blocks, so a grid of G values costs one
    pass of distances plus G logsumexps per block (not G passes).

    Args:
        samples: generated samples (N, ...), as for :func:`parzen_log_likelihood`.
        x_val: validation images (M, ...), M >= 1; never the test images.
        grid: candidate sigmas, each > 0 (default :data:`DEFAULT_SIGMA_GRID`, 0.1 .. 1.0).
        batch_size, sample_chunk: as for :func:`parzen_log_likelihood`.

    Returns:
        ``(sigma, table)``: the best sigma (the first on a tie) and ``[(sigma, mean validation
        log-likelihood), ...]`` in grid order, JSON-friendly for a user attr.

    Raises:
        ValueError: on an empty or non-positive grid, or as :func:`parzen_log_likelihood`.
    """
    sigmas = list(DEFAULT_SIGMA_GRID if grid is None else grid)
    if not sigmas:
        raise ValueError("grid is empty; pass at least one sigma, or None for DEFAULT_SIGMA_GRID")
    _check_sigmas(sigmas, "grid")
    values = _log_densities(samples, x_val, sigmas, batch_size=batch_size, sample_chunk=sample_chunk)
    means = values.mean(dim=1).tolist()
    table = [(float(s), float(m)) for s, m in zip(sigmas, means, strict=True)]
    best = max(range(len(sigmas)), key=lambda i: (means[i], -i))  # first maximum
    if len(sigmas) > 1 and sigmas[best] in (min(sigmas), max(sigmas)):
        _logger.warning(
            "Parzen sigma %.4g is at the edge of the grid %.4g..%.4g; the optimum may lie outside, "
            "pass a wider grid", sigmas[best], min(sigmas), max(sigmas),
        )
    return float(sigmas[best]), table


def _check_sigmas(sigmas: Sequence[float], name: str) -> None:
    for s in sigmas:
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or s <= 0:
            raise ValueError(f"{name} must hold finite numbers > 0 (window std), got {s!r}")


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _flat(tensor: torch.Tensor, name: str) -> torch.Tensor:
    """(N, ...) -> (N, D) view; refuses 1-D input, which would be ambiguous."""
    if tensor.ndim < 2 or len(tensor) == 0 or tensor[0].numel() == 0:
        raise ValueError(
            f"{name} must have shape (N, ...) with N >= 1 and at least one value per item, got "
            f"{tuple(tensor.shape)}; reshape scalars to (N, 1)"
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contain NaN or inf; a generator that produced them has likely diverged")
    return tensor.reshape(len(tensor), -1)


def _log_densities(
    samples: torch.Tensor,
    x: torch.Tensor,
    sigmas: Sequence[float],
    *,
    batch_size: int,
    sample_chunk: int,
) -> torch.Tensor:
    """log p(x) per sigma and image, (G, M) float64 on the CPU."""
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("sample_chunk", sample_chunk)
    s_flat, x_flat = _flat(samples, "samples"), _flat(x, "x")
    dim = s_flat.shape[1]
    if x_flat.shape[1] != dim:
        raise ValueError(
            f"samples have {dim} values per item (shape {tuple(samples.shape)}) but x has "
            f"{x_flat.shape[1]} (shape {tuple(x.shape)}); score images of the same size"
        )
    device = s_flat.device
    scales = torch.tensor([-0.5 / s**2 for s in sigmas], dtype=torch.float64, device=device)  # (G,)
    total = torch.full((len(sigmas), len(x_flat)), -math.inf, dtype=torch.float64, device=device)

    with torch.no_grad():
        for s_start in range(0, len(s_flat), sample_chunk):
            chunk = s_flat[s_start : s_start + sample_chunk].to(torch.float64)  # (S, D)
            chunk_sq = (chunk * chunk).sum(dim=1)  # (S,)
            for start in range(0, len(x_flat), batch_size):
                batch = x_flat[start : start + batch_size].to(device, torch.float64)  # (B, D)
                # ||x - s||^2 = ||x||^2 + ||s||^2 - 2 x.s ; (B, S), round-off negatives -> 0
                dist_sq = torch.addmm(chunk_sq.unsqueeze(0), batch, chunk.T, alpha=-2.0)
                dist_sq = (dist_sq + (batch * batch).sum(dim=1, keepdim=True)).clamp_min_(0.0)
                for g in range(len(sigmas)):
                    lse = torch.logsumexp(dist_sq * scales[g], dim=1)  # (B,)
                    rows = slice(start, start + len(batch))
                    total[g, rows] = torch.logaddexp(total[g, rows], lse)

    log_norm = torch.tensor(
        [math.log(len(s_flat)) + dim * math.log(s * math.sqrt(2.0 * math.pi)) for s in sigmas],
        dtype=torch.float64,
    )
    return total.cpu() - log_norm.unsqueeze(1)


def _mean_and_se(values: torch.Tensor) -> tuple[float, float]:
    mean = float(values.mean())
    se = float(values.std(unbiased=True) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return mean, se
