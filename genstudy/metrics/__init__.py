"""Metrics of generative models: pure functions on tensors, no optuna.

- FID in a domain classifier's feature space (:class:`FidEvaluator`, :func:`frechet_distance`)
- optional FID in Inception-v3 pool3 space from a local weights file (:func:`inception_fid_evaluator`)
- importance-weighted log-likelihood (:func:`iwae_log_likelihood`)
- per-image reconstruction metrics (:func:`mse`, :func:`psnr`, :func:`ssim`); LPIPS in
  :mod:`genstudy.metrics._lpips` (backbones from local files, :mod:`genstudy.metrics._weights`)
- Gaussian Parzen-window log-likelihood (:func:`parzen_log_likelihood`, :func:`select_parzen_sigma`)
- inception score, class coverage and label accuracy in the classifier's label space
  (:func:`inception_score`, :func:`class_coverage`, :func:`label_accuracy`)
- k-NN precision and recall in a feature space (:func:`precision_recall`)

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
from genstudy.metrics._coverage import (
    CLASS_COVERAGE,
    CLASS_KL,
    LABEL_ACCURACY,
    MODE_COLLAPSE,
    ClassCoverage,
    class_coverage,
    label_accuracy,
)
from genstudy.metrics._fid import CLASSIFIER_SHA256, FID, FID_FLOOR, FidEvaluator
from genstudy.metrics._frechet import frechet_distance, gaussian_stats
from genstudy.metrics._image import MSE, PSNR, SSIM, mse, psnr, ssim
from genstudy.metrics._inception import (
    FID_INCEPTION,
    INCEPTION_FEATURE_DIM,
    InceptionWeightsError,
    inception_fid_evaluator,
    load_inception_v3,
)
from genstudy.metrics._inception_score import INCEPTION_SCORE, INCEPTION_SCORE_STD, inception_score
from genstudy.metrics._likelihood import (
    IWAE,
    LOG_LIKELIHOOD,
    LOG_LIKELIHOOD_ESTIMATOR,
    LOG_LIKELIHOOD_SE,
    iwae_log_likelihood,
)
from genstudy.metrics._parzen import (
    DEFAULT_SIGMA_GRID,
    PARZEN,
    PARZEN_SIGMA,
    parzen_log_likelihood,
    select_parzen_sigma,
)
from genstudy.metrics._precision_recall import PRECISION, RECALL, precision_recall

__all__ = [
    "ARCH_VERSION",
    "CLASSIFIER_SHA256",
    "CLASS_COVERAGE",
    "CLASS_KL",
    "DEFAULT_SIGMA_GRID",
    "FEATURE_DIM",
    "FID",
    "FID_FLOOR",
    "FID_INCEPTION",
    "INCEPTION_FEATURE_DIM",
    "INCEPTION_SCORE",
    "INCEPTION_SCORE_STD",
    "IWAE",
    "LABEL_ACCURACY",
    "LOG_LIKELIHOOD",
    "LOG_LIKELIHOOD_ESTIMATOR",
    "LOG_LIKELIHOOD_SE",
    "MODE_COLLAPSE",
    "MSE",
    "PARZEN",
    "PARZEN_SIGMA",
    "PRECISION",
    "PSNR",
    "RECALL",
    "SSIM",
    "ClassCoverage",
    "ClassifierInfo",
    "DomainClassifier",
    "FidEvaluator",
    "InceptionWeightsError",
    "class_coverage",
    "frechet_distance",
    "gaussian_stats",
    "inception_fid_evaluator",
    "inception_score",
    "iwae_log_likelihood",
    "label_accuracy",
    "load_inception_v3",
    "load_or_train_classifier",
    "mse",
    "psnr",
    "parzen_log_likelihood",
    "precision_recall",
    "select_parzen_sigma",
    "ssim",
]
