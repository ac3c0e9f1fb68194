"""Inception score (Salimans et al. 2016) in a classifier's label space.

    IS = exp( E_x KL( p(y | x) || p(y) ) ),   p(y) = E_x p(y | x)

over generated images x, with p(y | x) the softmax of the classifier's logits. It lies in
[1, C] for C classes: 1 when every image gets the same prediction (or every prediction is uniform),
C when predictions are confident and spread evenly over the classes. Here the classifier is the
domain classifier, not Inception-v3, so values are comparable only between runs that share its
weights (store ``CLASSIFIER_SHA256`` beside it, as for FID).

As in the original code the images are cut into ``splits`` parts, the score is computed per part
(with that part's own p(y)), and the mean and the population std over parts are returned. Parts
are contiguous and differ in size by at most one image (``torch.tensor_split``); no image is
dropped. The computation is float64 on the logits' device.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

__all__ = ["INCEPTION_SCORE", "INCEPTION_SCORE_STD", "inception_score"]

INCEPTION_SCORE = "inception_score"
INCEPTION_SCORE_STD = "inception_score_std"  # population std over the splits


def inception_score(logits: torch.Tensor, *, splits: int = 10) -> tuple[float, float]:
    """Mean and std over ``splits`` parts of the inception score of class ``logits`` (N, C).

    Args:
        logits: unnormalised class scores of N generated images, e.g. ``DomainClassifier(x)``.
        splits: number of parts, 1 <= splits <= N (10 in Salimans et al. and torch-fidelity).
            With one split the std is 0.

    Returns:
        ``(mean, std)``, each a Python float; the mean is in [1, C].

    Raises:
        ValueError: on a wrong shape, a bad ``splits``, or NaN or +inf logits (-inf is allowed: p = 0).
    """
    if logits.ndim != 2 or logits.shape[0] < 1 or logits.shape[1] < 1:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1, got {tuple(logits.shape)}")
    n = logits.shape[0]
    if isinstance(splits, bool) or not isinstance(splits, int) or not 1 <= splits <= n:
        raise ValueError(
            f"splits must be an int in [1, N={n}], got {splits!r}; generate more images or lower it"
        )
    if bool((torch.isnan(logits) | torch.isposinf(logits)).any()):
        raise ValueError(
            "logits contain NaN or +inf; check the images they came from (a diverged generator "
            "gives NaN)"
        )

    with torch.no_grad():
        log_p = F.log_softmax(logits.to(torch.float64), dim=1)  # (N, C) log p(y | x)
        scores = []
        for part in torch.tensor_split(log_p, splits):
            log_marginal = torch.logsumexp(part, dim=0) - math.log(len(part))  # (C,) log p(y)
            p = part.exp()
            # KL per image; 0 * log 0 terms (p == 0) are 0, not NaN
            terms = torch.where(p > 0, p * (part - log_marginal), torch.zeros_like(p))
            scores.append(torch.exp(terms.sum(dim=1).mean()))
        values = torch.stack(scores)
    return float(values.mean()), float(values.std(unbiased=False))
