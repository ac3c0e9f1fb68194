"""Metrics of generated samples, shared by every generative family (pure torch + genstudy.metrics)."""

from __future__ import annotations

import torch

from genstudy.families._context import EvalContext
from genstudy.metrics import (
    FID,
    INCEPTION_SCORE,
    LOG_LIKELIHOOD,
    LOG_LIKELIHOOD_SE,
    PARZEN_SIGMA,
    PRECISION,
    RECALL,
    class_coverage,
    frechet_distance,
    gaussian_stats,
    inception_score,
    parzen_log_likelihood,
    precision_recall,
    select_parzen_sigma,
)

__all__ = ["classifier_logits", "sample_metrics", "sample_stand_in"]

_BATCH = 500


@torch.no_grad()
def classifier_logits(ctx: EvalContext, images: torch.Tensor) -> torch.Tensor:
    """The domain classifier's logits (N, C) of ``images``, in batches."""
    model = ctx.classifier.model.eval()
    return torch.cat([model(images[i : i + _BATCH].to(ctx.device)) for i in range(0, len(images), _BATCH)])


@torch.no_grad()
def sample_metrics(ctx: EvalContext, samples: torch.Tensor, *, parzen_on: str = "test") -> dict[str, float]:
    """The Parzen-window log-likelihood (bandwidth chosen on the validation split) of ``samples``,
    and, when the context has the domain classifier (the study's metrics need it): FID, inception
    score, class coverage/KL/mode collapse and k-NN precision/recall; ``fid_inception`` when the
    context has Inception-v3.

    ``parzen_on="val"`` scores the likelihood on the validation split instead (for the cheap
    per-epoch value, never touching the test split during training).
    """
    ds = ctx.dataset
    bandwidth, _ = select_parzen_sigma(samples, ds.val_x)
    target = ds.test_x if parzen_on == "test" else ds.val_x
    ll, ll_se = parzen_log_likelihood(samples, target, sigma=bandwidth)
    out = {LOG_LIKELIHOOD: ll, LOG_LIKELIHOOD_SE: ll_se, PARZEN_SIGMA: bandwidth}
    if ctx.inception is not None:
        out["fid_inception"] = ctx.inception.fid(samples)
    if not ctx.has_classifier:
        return out
    features = ctx.fid.features(samples)  # (N, D) float64
    mu, sigma = gaussian_stats(features)
    logits = classifier_logits(ctx, samples)
    is_mean, _ = inception_score(logits)
    coverage = class_coverage(logits.argmax(1).cpu(), ds.test_y.cpu(), n_classes=ds.n_classes)
    precision, recall = precision_recall(ctx.test_features, torch.as_tensor(features))
    return out | {
        FID: frechet_distance(mu, sigma, ctx.fid.mu, ctx.fid.sigma),
        INCEPTION_SCORE: is_mean,
        **coverage.metrics(),
        PRECISION: precision,
        RECALL: recall,
    }


def sample_stand_in(ctx: EvalContext, images: torch.Tensor, metric: str) -> float:
    """The per-epoch value of ``metric`` from generated ``images`` (validation split only).

    FID alone is what most studies prune on: it skips the Parzen bandwidth search and the
    k-NN distances that ``sample_metrics`` also computes.
    """
    if metric == FID:
        return ctx.fid.fid(images)
    return float(sample_metrics(ctx, images, parzen_on="val")[metric])
