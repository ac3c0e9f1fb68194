"""Importance-weighted log-likelihood estimate (IWAE bound; Burda, Grosse & Salakhutdinov 2016).

    log p(x) >= E[ log (1/k) sum_{i=1..k} p(x, z_i) / q(z_i | x) ],   z_i ~ q(z | x)

The bound tightens monotonically in k and is exact for any k when q is the true posterior. The
estimate is memory-bounded: images go through in batches and the k samples in chunks, and the
chunks are merged with ``logaddexp``, which equals one logsumexp over all k samples (up to
float64 round-off).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "IWAE",
    "LOG_LIKELIHOOD",
    "LOG_LIKELIHOOD_ESTIMATOR",
    "LOG_LIKELIHOOD_SE",
    "iwae_log_likelihood",
]

LOG_LIKELIHOOD = "log_likelihood"  # nats per test image
LOG_LIKELIHOOD_SE = "log_likelihood_se"  # standard error of the mean over images
LOG_LIKELIHOOD_ESTIMATOR = "log_likelihood_estimator"  # e.g. "iwae(k=5000)"
IWAE = "iwae"


def iwae_log_likelihood(
    log_weights_fn: Callable[[torch.Tensor, int], torch.Tensor],
    x: torch.Tensor,
    *,
    k: int,
    batch_size: int = 100,
    k_chunk: int | None = None,
) -> tuple[float, float]:
    """Mean and standard error over images of the IWAE estimate of log p(x), in nats per image.

    Args:
        log_weights_fn: ``(x_batch, n) -> (n, B)`` tensor of log p(x, z_i) - log q(z_i | x) for
            ``n`` fresh samples z_i ~ q(z | x) of each image in ``x_batch`` (B, ...). Called with
            gradients disabled; it must not reuse samples across calls.
        x: images (N, ...), N >= 1, on the device ``log_weights_fn`` expects.
        k: importance samples per image, >= 1.
        batch_size: images per call.
        k_chunk: samples per call (default: all ``k`` at once). Lower it to bound memory: peak
            memory grows with ``batch_size * k_chunk``.

    Returns:
        ``(mean, standard_error)``; the standard error is NaN for a single image.

    Raises:
        ValueError: on a bad argument, a wrongly shaped result or NaN log-weights.
    """
    for name, value in (("k", k), ("batch_size", batch_size), ("k_chunk", k_chunk)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must hold at least one image, got shape {tuple(x.shape)}")
    chunk = k if k_chunk is None else min(k_chunk, k)

    per_image = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            x_batch = x[start : start + batch_size]
            total: torch.Tensor | None = None  # running logsumexp over samples, (B,) float64
            for done in range(0, k, chunk):
                n = min(chunk, k - done)
                log_w = log_weights_fn(x_batch, n)
                if tuple(log_w.shape) != (n, len(x_batch)):
                    raise ValueError(
                        f"log_weights_fn(x_batch, {n}) returned shape {tuple(log_w.shape)}, expected "
                        f"({n}, {len(x_batch)}): one row per sample, one column per image"
                    )
                if bool(torch.isnan(log_w).any()):
                    raise ValueError("log_weights_fn returned NaN log-weights; check the model's outputs")
                chunk_lse = torch.logsumexp(log_w.to(torch.float64), dim=0)
                total = chunk_lse if total is None else torch.logaddexp(total, chunk_lse)
            assert total is not None  # k >= 1, so at least one chunk ran
            per_image.append((total - math.log(k)).cpu())

    values = torch.cat(per_image)
    mean = float(values.mean())
    se = float(values.std(unbiased=True) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return mean, se
