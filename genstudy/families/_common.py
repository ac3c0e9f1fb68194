"""Param and metric declarations that several built-in families share.

A family lists what it has; these groups keep one definition of a name that several families
report (``fid`` means the same in each), in the family contract's terms.
"""

from __future__ import annotations

from genstudy.models.layers import ACTIVATIONS, INIT_SCHEMES
from genstudy.schema import MetricDef, ParamDef

__all__ = ["ADVERSARIAL_METRICS", "ADVERSARIAL_TRAINING", "RECONSTRUCTION_METRICS", "SAMPLE_METRICS", "TABLE_METRICS"]

_CLASSIFIER = ("classifier",)

# Metrics of generated samples (genstudy.families._samples.sample_metrics): all but the Parzen
# log-likelihood are computed in the domain classifier's space.
SAMPLE_METRICS = (
    MetricDef("fid", "minimize", "Frechet distance in the domain classifier's features", _CLASSIFIER),
    MetricDef("fid_inception", "minimize", "FID in Inception-v3 pool features (needs --inception-weights)",
              ("inception",)),
    MetricDef("inception_score", "maximize", "inception score in the domain classifier's label space", _CLASSIFIER),
    MetricDef("precision", "maximize", "k-NN precision (Kynkaanniemi et al. 2019) in classifier features", _CLASSIFIER),
    MetricDef("recall", "maximize", "k-NN recall (Kynkaanniemi et al. 2019) in classifier features", _CLASSIFIER),
    MetricDef("class_coverage", "maximize", "fraction of classes present among generated samples", _CLASSIFIER),
    MetricDef("class_kl", "minimize", "KL of the generated label histogram to the test histogram", _CLASSIFIER),
)
RECONSTRUCTION_METRICS = (
    MetricDef("mse", "minimize", "reconstruction mean squared error on the test split"),
    MetricDef("ssim", "maximize", "reconstruction SSIM on the test split"),
)
ADVERSARIAL_METRICS = (
    MetricDef("log_likelihood", "maximize", "Gaussian Parzen-window log-likelihood, nats per test image"),
    MetricDef("loss_g", "minimize", "generator loss on held-out data"),
    MetricDef("loss_d", "minimize", "discriminator loss on held-out data"),
)
TABLE_METRICS = ("fid", "log_likelihood", "loss")  # the results table of the generative families

# Training params of the adversarial families (GAN, conditional GAN, GAN-AE).
ADVERSARIAL_TRAINING = (
    ParamDef("batch_size", int, 64, "images per optimisation step", 1, 8192),
    ParamDef("latent_dim", int, 64, "size of the latent code z", 1, 1024),
    ParamDef("activation", str, "leaky_relu", "hidden activation (leaky_relu has slope 0.2)", choices=ACTIVATIONS),
    ParamDef("init", str, "normal_002", "weight init", choices=INIT_SCHEMES),
    ParamDef("width", int, 32, "channels next to the image", 4, 512),
    ParamDef("beta1", float, 0.5, "Adam beta1 (0.5 in DCGAN)", 0.0, 0.999),
    ParamDef("beta2", float, 0.999, "Adam beta2", 0.0, 0.9999),
    ParamDef("d_steps", int, 1, "discriminator updates per iteration", 1, 20),
    ParamDef("real_label", float, 1.0, "target of real images for D (0.9 = one-sided label smoothing)", 0.5, 1.0),
    ParamDef("adv_loss", str, "bce", "adversarial loss: non-saturating BCE or hinge", choices=("bce", "hinge")),
    ParamDef("epochs", int, None, "training epochs (default: budget.epochs)", 1, 100_000),
)
