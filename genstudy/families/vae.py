"""The VAE family: a convolutional VAE with a Gaussian decoder of learned scale.

Per epoch: the validation negative ELBO, and the first metric's stand-in (FID of a fixed
small sample set, the validation ELBO for log-likelihood, reconstruction error, ...).
Final metrics: FID, IWAE log-likelihood, negative ELBO on the test split, reconstruction
MSE and SSIM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genstudy.families._common import RECONSTRUCTION_METRICS, SAMPLE_METRICS, TABLE_METRICS
from genstudy.families._contract import Family
from genstudy.families._images import save_checkpoint_artifact, save_pairs_grid, stacked
from genstudy.families._samples import sample_metrics, sample_stand_in
from genstudy.families._train import DivergedError, adam, autocast, require_conv_shape
from genstudy.metrics import (
    FID,
    LOG_LIKELIHOOD,
    LOG_LIKELIHOOD_ESTIMATOR,
    LOG_LIKELIHOOD_SE,
    MSE,
    SSIM,
    iwae_log_likelihood,
    mse,
    ssim,
)
from genstudy.models import VAE, VAEConfig
from genstudy.models.layers import ACTIVATIONS
from genstudy.schema import MetricDef, ParamDef

__all__ = ["VaeFamily", "train_vae_epoch", "vae_neg_elbo"]

_EVAL_BATCH = 250
# IWAE decodes (images x samples) latents per call. On a CPU 250 x 50 = 12,500 at once spill the
# caches: 50 x 10 = 500 per call is 2.4x faster for the same estimate (bench/evaluation.py); a GPU
# wants the large calls.
_IWAE_CPU_IMAGES, _IWAE_CPU_SAMPLES = 50, 10
PARZEN_LL = "log_likelihood_parzen"  # the Parzen-window estimate, beside the IWAE log_likelihood
_SAMPLE_METRICS = (PARZEN_LL, *(m.name for m in SAMPLE_METRICS if m.name != FID))
_PRUNE_SEED = 12345


@dataclass
class _Run:
    model: VAE
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    val_loss: float = float("nan")


class VaeFamily(Family):
    name = "vae"
    params = (
        ParamDef("lr", float, 1e-3, "Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("batch_size", int, 64, "images per optimisation step", 1, 8192),
        ParamDef("latent_dim", int, 16, "size of the latent code z", 1, 1024),
        ParamDef("beta", float, 1.0, "weight of the KL term (beta-VAE); 1 is the ELBO", 0.0, 100.0),
        ParamDef("activation", str, "relu", "hidden activation", choices=ACTIVATIONS),
        ParamDef("width", int, 32, "channels of the first conv layer", 4, 512),
        ParamDef("epochs", int, None, "training epochs (default: budget.epochs)", 1, 100_000),
    )
    metrics = (
        *SAMPLE_METRICS,
        *RECONSTRUCTION_METRICS,
        MetricDef("log_likelihood", "maximize", "IWAE estimate of log p(x), nats per test image"),
        MetricDef(PARZEN_LL, "maximize", "Parzen-window log-likelihood of samples, as for the GANs"),
        MetricDef("loss", "minimize", "negative ELBO (beta=1) on the test split, nats per image"),
    )
    table_metrics = TABLE_METRICS

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        require_conv_shape(self.name, context.dataset.image_shape)

    def build(self, params: dict[str, Any], seed: int) -> _Run:
        torch.manual_seed(seed)
        config = VAEConfig(self.ctx.dataset.image_shape, latent_dim=params["latent_dim"],
                           width=params["width"], activation=params["activation"])
        model = VAE(config).to(self.ctx.device)
        return _Run(model, adam(model.parameters(), lr=params["lr"]),
                    torch.Generator(device=self.ctx.device).manual_seed(seed))

    def train_epoch(self, run: _Run, params: dict[str, Any]) -> dict[str, float]:
        loss = train_vae_epoch(run.model, run.optimizer, self.ctx.dataset.train_x, batch_size=params["batch_size"],
                               beta=params["beta"], generator=run.generator,
                               precision=self.ctx.precision)
        return {"train_loss": loss}

    def validate(self, run: _Run, params: dict[str, Any], metric: str) -> tuple[dict[str, float], float]:
        run.val_loss = vae_neg_elbo(run.model, self.ctx.dataset.val_x)
        return {"val_loss": run.val_loss}, self._stand_in(run, metric)

    def _stand_in(self, run: _Run, metric: str) -> float:
        """The cheap per-epoch value of ``metric``, in that metric's direction."""
        model = run.model.eval()
        if metric == FID or metric in _SAMPLE_METRICS:
            g = torch.Generator(device=self.ctx.device).manual_seed(_PRUNE_SEED)
            generated = model.sample(self.spec.evaluation.prune_fid_samples, generator=g)
            return sample_stand_in(self.ctx, generated, LOG_LIKELIHOOD if metric == PARZEN_LL else metric)
        if metric == LOG_LIKELIHOOD:
            return -run.val_loss  # the ELBO: a lower bound of log p(x), maximised like it
        if metric in (MSE, SSIM):
            x = self.ctx.dataset.val_x
            with torch.no_grad():
                return float((mse if metric == MSE else ssim)(model.reconstruct(x), x).mean())
        return run.val_loss  # loss, train_seconds: both minimised

    @torch.no_grad()
    def evaluate(self, run: _Run, params: dict[str, Any], seed: int) -> dict[str, float]:
        model = run.model.eval()
        cpu = self.ctx.device.type == "cpu"
        if cpu:  # the (transposed) convolutions run 1.2-1.6x faster in NHWC on a CPU; training is over
            model = model.to(memory_format=torch.channels_last)
        ds, ev = self.ctx.dataset, self.spec.evaluation
        g = torch.Generator(device=self.ctx.device).manual_seed(seed + 777)
        samples = stacked(lambda n: model.sample(n, generator=g), ev.n_samples, _EVAL_BATCH)
        ll, ll_se = iwae_log_likelihood(model.log_importance_weights, ds.test_x, k=ev.iwae_k,
                                        batch_size=_IWAE_CPU_IMAGES if cpu else _EVAL_BATCH,
                                        k_chunk=_IWAE_CPU_SAMPLES if cpu else None)
        recon = torch.cat([model.reconstruct(ds.test_x[i : i + _EVAL_BATCH]) for i in range(0, len(ds.test_x), _EVAL_BATCH)])
        generative = sample_metrics(self.ctx, samples)  # the GAN families' metrics, Parzen included
        return {
            **{k: v for k, v in generative.items() if k not in (LOG_LIKELIHOOD, LOG_LIKELIHOOD_SE)},
            PARZEN_LL: generative[LOG_LIKELIHOOD],  # comparable with the GANs' log_likelihood
            f"{PARZEN_LL}_se": generative[LOG_LIKELIHOOD_SE],
            LOG_LIKELIHOOD: ll,
            LOG_LIKELIHOOD_SE: ll_se,
            "loss": vae_neg_elbo(model, ds.test_x),
            MSE: float(mse(recon, ds.test_x).mean()),
            SSIM: float(ssim(recon, ds.test_x).mean()),
        }

    def attrs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {LOG_LIKELIHOOD_ESTIMATOR: f"iwae(k={self.spec.evaluation.iwae_k})"}

    @torch.no_grad()
    def artifacts(self, run: _Run, params: dict[str, Any], out_dir: Path) -> list[tuple[Path, str]]:
        model = run.model.eval()
        x = self.ctx.dataset.test_x[:32]
        g = torch.Generator(device=self.ctx.device).manual_seed(_PRUNE_SEED)
        grid = save_pairs_grid(out_dir / "samples.png", samples=model.sample(64, generator=g),
                               inputs=x, reconstructions=model.reconstruct(x))
        ckpt = save_checkpoint_artifact(out_dir / "checkpoint.pt", {"vae": model}, model.config, params)
        return [(grid, "image/png"), (ckpt, "application/octet-stream")]


def train_vae_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    *,
    batch_size: int,
    beta: float,
    generator: torch.Generator,
    precision: str = "fp32",
) -> float:
    """One pass over ``x`` in shuffled batches; returns the mean training loss (nats/image)."""
    model.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        xb = x[perm[start : start + batch_size]]
        with autocast(x.device, precision):
            loss = model.loss(xb, beta, generator=generator if generator.device == x.device else None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * xb.shape[0]
    value = float(total / n)  # the one host sync of the epoch
    if not math.isfinite(value):
        raise DivergedError(f"training loss became {value} (non-finite); lower lr or batch_size")
    return value


@torch.no_grad()
def vae_neg_elbo(model: VAE, x: torch.Tensor, *, batch_size: int = 500, seed: int = 0) -> float:
    """Negative ELBO (beta = 1, one sample per image) averaged over ``x``: nats per image."""
    model.eval()
    g = torch.Generator(device=x.device).manual_seed(seed)
    total = torch.zeros((), device=x.device, dtype=torch.float64)
    for start in range(0, x.shape[0], batch_size):
        rec, kl = model.elbo_terms(x[start : start + batch_size], generator=g)
        total += (kl - rec).double().sum()
    return float(total / x.shape[0])
