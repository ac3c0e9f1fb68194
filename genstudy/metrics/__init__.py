"""Metrics of generative models: pure functions on tensors, no optuna.

- FID in a domain classifier's feature space (:class:`FidEvaluator`, :func:`frechet_distance`)
- importance-weighted log-likelihood (:func:`iwae_log_likelihood`)
- per-image reconstruction metrics (:func:`mse`, :func:`ssim`)

The upper-case key constants (``FID``, ``LOG_LIKELIHOOD``, ...) are the public metric names: stable,
snake_case, stored as Optuna values and user attrs.
"""

from __future__ import annotations

from genstudy.metrics._classifier import (
    ARCH_VERSION,
    FEATURE_DIM,
    ClassifierInfo,
    DomainClassifier,
    load_or_train_classifier,
)
from genstudy.metrics._fid import CLASSIFIER_SHA256, FID, FID_FLOOR, FidEvaluator
from genstudy.metrics._frechet import frechet_distance, gaussian_stats
from genstudy.metrics._image import MSE, SSIM, mse, ssim
from genstudy.metrics._likelihood import (
    IWAE,
    LOG_LIKELIHOOD,
    LOG_LIKELIHOOD_ESTIMATOR,
    LOG_LIKELIHOOD_SE,
    iwae_log_likelihood,
)

__all__ = [
    "ARCH_VERSION",
    "CLASSIFIER_SHA256",
    "FEATURE_DIM",
    "FID",
    "FID_FLOOR",
    "IWAE",
    "LOG_LIKELIHOOD",
    "LOG_LIKELIHOOD_ESTIMATOR",
    "LOG_LIKELIHOOD_SE",
    "MSE",
    "SSIM",
    "ClassifierInfo",
    "DomainClassifier",
    "FidEvaluator",
    "frechet_distance",
    "gaussian_stats",
    "iwae_log_likelihood",
    "load_or_train_classifier",
    "mse",
    "ssim",
]
