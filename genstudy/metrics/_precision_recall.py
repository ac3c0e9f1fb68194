"""Improved precision and recall (Kynkaanniemi et al. 2019) in a feature space.

The manifold of a feature set Phi is the union of balls centred on its points, each with radius
the distance to that point's k-th nearest neighbour in Phi (itself excluded):

    f(phi, Phi) = 1  if  ||phi - phi'|| <= NND_k(phi')  for some phi' in Phi,  else 0
    precision = mean over generated phi_g of f(phi_g, Phi_real)   (samples look real)
    recall    = mean over real phi_r of f(phi_r, Phi_generated)   (real variety is covered)

Distances are float64 ``torch.cdist`` without the matrix-product shortcut: each pair is the
square root of the sum of squared differences, so duplicates are exactly 0 apart and every value is
independent of the batching. (The product form puts identical points ~1e-7 apart in float64, by an
amount that depends on the block, which flips ties between duplicates, e.g. for a collapsed
generator.) Memory is bounded by one (batch_size, batch_size) block at a time: the k nearest
neighbours are merged across column blocks with ``topk``, and the generated-vs-real block is
computed once and read in both directions. Cost: three N x M x D passes, about 0.5 s for
1000 vs 1000 128-d features on two CPU cores; everything runs on the real features' device.
"""

from __future__ import annotations

import torch

__all__ = ["PRECISION", "RECALL", "precision_recall"]

PRECISION = "precision"
RECALL = "recall"


def _distances(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (R, S) in float64, exact for identical rows."""
    return torch.cdist(rows, cols, compute_mode="donot_use_mm_for_euclid_dist")


def _kth_neighbour_radii(features: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance (N,) from each row to its k-th nearest other row (float64)."""
    radii = []
    for start in range(0, len(features), batch_size):
        rows = features[start : start + batch_size]
        nearest: torch.Tensor | None = None  # (B, <= k+1) smallest distances so far, self included
        for col_start in range(0, len(features), batch_size):
            block = _distances(rows, features[col_start : col_start + batch_size])
            merged = block if nearest is None else torch.cat([nearest, block], dim=1)
            nearest = merged.topk(min(k + 1, merged.shape[1]), dim=1, largest=False).values
        assert nearest is not None and nearest.shape[1] == k + 1  # len(features) > k, checked
        radii.append(nearest[:, k])  # index 0 is the row itself (distance 0)
    return torch.cat(radii)


def precision_recall(
    real_features: torch.Tensor,
    fake_features: torch.Tensor,
    *,
    k: int = 3,
    batch_size: int = 1000,
) -> tuple[float, float]:
    """k-NN precision and recall of generated features against real ones.

    Args:
        real_features: (N, D) features of real (test) images, N > k; the computation runs on
            their device.
        fake_features: (M, D) features of generated images, M > k.
        k: neighbourhood size for the radii (3 in the paper).
        batch_size: rows and columns per distance block; peak memory about
            ``2 * 8 * batch_size**2`` bytes. Does not change the result.

    Returns:
        ``(precision, recall)``, each in [0, 1].

    Raises:
        ValueError: on a bad argument, mismatched or too few features, or non-finite values.
    """
    for name, value in (("k", k), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    for name, feats in (("real_features", real_features), ("fake_features", fake_features)):
        if feats.ndim != 2:
            raise ValueError(f"{name} must have shape (N, D), got {tuple(feats.shape)}; flatten each row")
        if len(feats) <= k:
            raise ValueError(
                f"{name} has {len(feats)} rows; the k-th nearest neighbour needs more than k={k}, so "
                f"pass more features or lower k"
            )
        if not bool(torch.isfinite(feats).all()):
            raise ValueError(
                f"{name} contain NaN or inf; a generator that produced them has likely diverged"
            )
    if real_features.shape[1] != fake_features.shape[1]:
        raise ValueError(
            f"real_features have {real_features.shape[1]} dimensions but fake_features have "
            f"{fake_features.shape[1]}; use the same feature extractor for both"
        )

    device = real_features.device
    real = real_features.to(torch.float64)
    fake = fake_features.to(device, torch.float64)
    with torch.no_grad():
        real_radii = _kth_neighbour_radii(real, k, batch_size)  # (N,)
        fake_radii = _kth_neighbour_radii(fake, k, batch_size)  # (M,)
        fake_inside = torch.zeros(len(fake), dtype=torch.bool, device=device)  # in the real manifold
        real_inside = torch.zeros(len(real), dtype=torch.bool, device=device)  # in the fake manifold
        for start in range(0, len(fake), batch_size):
            rows = slice(start, start + batch_size)
            for col_start in range(0, len(real), batch_size):
                cols = slice(col_start, col_start + batch_size)
                block = _distances(fake[rows], real[cols])  # (B_fake, B_real)
                fake_inside[rows] |= (block <= real_radii[cols].unsqueeze(0)).any(dim=1)
                real_inside[cols] |= (block <= fake_radii[rows].unsqueeze(1)).any(dim=0)
    return float(fake_inside.double().mean()), float(real_inside.double().mean())
