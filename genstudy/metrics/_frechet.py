"""Frechet distance between two Gaussians, the core of FID.

    d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr( (S1^1/2 S2 S1^1/2)^1/2 )

(Frechet 1957; Dowson & Landau 1982; used as FID by Heusel et al. 2017.)

The classic implementation takes ``scipy.linalg.sqrtm(S1 @ S2)``, a non-symmetric product whose
square root can come back complex or slightly wrong when a covariance is singular (fewer samples
than feature dimensions, dead ReLU units). Here both square roots are taken of symmetric positive
semi-definite matrices with ``eigh``, in float64, with round-off negative eigenvalues clipped to 0:
``tr((S1 S2)^1/2) = sum_i sqrt(lambda_i(S1^1/2 S2 S1^1/2))``. The result is clipped at 0, so it is
never negative, even for two estimates of the same distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["frechet_distance", "gaussian_stats"]


def _as_float64(value: Any, name: str) -> np.ndarray:
    """``value`` (numpy array, tensor on any device, or nested sequence) as a float64 array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64).numpy()
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        n_bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} has {n_bad} non-finite value(s) (NaN or inf); Frechet distance needs finite "
            "statistics. Check the features they came from (a diverged generator gives NaN images)."
        )
    return array


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix; round-off negative eigenvalues -> 0."""
    eigvals, eigvecs = np.linalg.eigh(matrix)
    root = np.sqrt(np.clip(eigvals, 0.0, None))
    return (eigvecs * root) @ eigvecs.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: means, shape (D,). Numpy arrays, tensors or sequences; computed in float64.
        sigma1, sigma2: covariances, shape (D, D). Symmetrised before use; may be singular.

    Returns:
        The distance as a Python float, >= 0.

    Raises:
        ValueError: on a shape mismatch or a non-finite input.
    """
    m1, m2 = _as_float64(mu1, "mu1"), _as_float64(mu2, "mu2")
    s1, s2 = _as_float64(sigma1, "sigma1"), _as_float64(sigma2, "sigma2")
    if m1.ndim != 1:
        raise ValueError(f"mu1 must be a vector of shape (D,), got shape {m1.shape}")
    dim = m1.shape[0]
    for name, array, shape in (("mu2", m2, (dim,)), ("sigma1", s1, (dim, dim)), ("sigma2", s2, (dim, dim))):
        if array.shape != shape:
            raise ValueError(
                f"{name} has shape {array.shape} but mu1 has shape {m1.shape}, so {name} must have "
                f"shape {shape}; pass statistics of features of the same dimension."
            )
    s1 = 0.5 * (s1 + s1.T)
    s2 = 0.5 * (s2 + s2.T)

    diff = m1 - m2
    sqrt1 = _psd_sqrt(s1)
    middle = sqrt1 @ s2 @ sqrt1  # (D, D), symmetric PSD up to round-off
    eigvals = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    trace_sqrt = float(np.sqrt(np.clip(eigvals, 0.0, None)).sum())

    distance = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * trace_sqrt
    return max(distance, 0.0)


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of ``features`` (N, D), both float64 numpy.

    Raises:
        ValueError: if ``features`` is not 2-D, has fewer than 2 rows, or is not finite.
    """
    array = _as_float64(features, "features")
    if array.ndim != 2:
        raise ValueError(
            f"features must have shape (N, D), got shape {array.shape}; flatten each sample's "
            "features into one row."
        )
    if array.shape[0] < 2:
        raise ValueError(
            f"features has {array.shape[0]} row(s); a covariance needs N >= 2 samples, so pass at "
            "least 2 (FID is only meaningful with hundreds or more)."
        )
    mu = array.mean(axis=0)
    centred = array - mu
    sigma = centred.T @ centred / (array.shape[0] - 1)
    return mu, sigma
