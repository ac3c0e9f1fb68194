"""The VAE objective: sample params, train ``repeats`` seeds in lockstep, evaluate, report.

Per epoch a cheap validation value of the study's first metric is reported to the trial
(FID on a fixed small sample set, the validation ELBO, ...) so pruners compare like with
like in the study's direction. At the end every metric is stored as a user attr (mean over
seeds, each seed's values too), and the spec's metrics are returned as objective values.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import optuna
import torch

from genstudy.metrics import (
    CLASSIFIER_SHA256,
    FID,
    FID_FLOOR,
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
from genstudy.objectives._context import EvalContext
from genstudy.objectives._search import suggest_params
from genstudy.objectives._train import DivergedError, train_vae_epoch, vae_neg_elbo
from genstudy.spec import StudySpec

__all__ = ["VaeObjective"]

_log = logging.getLogger(__name__)

_EVAL_BATCH = 250


class VaeObjective:
    """``objective(trial)`` for ``study.optimize``; reuses one ``EvalContext`` for all trials."""

    def __init__(self, spec: StudySpec, context: EvalContext) -> None:
        self.spec = spec
        self.ctx = context

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        params = suggest_params(trial, self.spec)
        seeds = [self.spec.seed + r for r in range(self.spec.repeats)]
        trial.set_user_attr("params_resolved", params)
        runs = [self._build(params, seed) for seed in seeds]
        curves: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_" + self.spec.metrics[0]: []}
        started = time.perf_counter()
        try:
            for epoch in range(1, params["epochs"] + 1):
                t0 = time.perf_counter()
                train = [train_vae_epoch(m, opt, self.ctx.dataset.train_x, batch_size=params["batch_size"],
                                         beta=params["beta"], generator=g) for m, opt, g in runs]
                val_loss = [vae_neg_elbo(m, self.ctx.dataset.val_x) for m, _, _ in runs]
                t1 = time.perf_counter()
                val_metric = [self._epoch_value(m, loss) for (m, _, _), loss in zip(runs, val_loss)]
                _log.debug("trial %d epoch %d: train %.2f s, validation %.2f s", trial.number, epoch, t1 - t0,
                           time.perf_counter() - t1)
                curves["train_loss"].append(_mean(train))
                curves["val_loss"].append(_mean(val_loss))
                curves["val_" + self.spec.metrics[0]].append(_mean(val_metric))
                self._maybe_prune(trial, epoch, _mean(val_metric), curves)
        except DivergedError as e:
            trial.set_user_attr("curves", curves)
            trial.set_user_attr("prune_reason", f"diverged: {e}")
            raise optuna.TrialPruned(f"diverged: {e}") from None
        train_seconds = (time.perf_counter() - started) / len(seeds)
        t0 = time.perf_counter()
        per_seed = [self._evaluate(m, seed) | {"seed": seed, "train_seconds": train_seconds}
                    for (m, _, _), seed in zip(runs, seeds)]
        eval_seconds = (time.perf_counter() - t0) / len(seeds)
        trial.set_user_attr("eval_seconds", eval_seconds)  # per seed, like train_seconds
        _log.debug("trial %d: final evaluation %.2f s per seed", trial.number, eval_seconds)
        return self._store(trial, per_seed, curves)

    def _build(self, params: dict[str, Any], seed: int) -> tuple[VAE, torch.optim.Optimizer, torch.Generator]:
        torch.manual_seed(seed)
        config = VAEConfig(self.ctx.dataset.image_shape, latent_dim=params["latent_dim"],
                           width=params["width"], activation=params["activation"])
        model = VAE(config).to(self.ctx.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
        generator = torch.Generator(device=self.ctx.device).manual_seed(seed)
        return model, optimizer, generator

    def _epoch_value(self, model: VAE, val_loss: float) -> float:
        """The cheap per-epoch stand-in for the first metric, in that metric's direction."""
        first = self.spec.metrics[0]
        if first == "fid":
            g = torch.Generator(device=self.ctx.device).manual_seed(12345)
            return self.ctx.fid.fid(model.sample(self.spec.evaluation.prune_fid_samples, generator=g))
        if first == "log_likelihood":
            return -val_loss  # the ELBO: a lower bound of log p(x), maximised like it
        if first in ("mse", "ssim"):
            with torch.no_grad():
                model.eval()
                x = self.ctx.dataset.val_x
                rec = model.reconstruct(x)
                return float((mse if first == "mse" else ssim)(rec, x).mean())
        return val_loss

    def _maybe_prune(self, trial: optuna.Trial, epoch: int, value: float, curves: dict) -> None:
        if len(self.spec.metrics) > 1:  # Optuna refuses report/prune in multi-objective studies
            return
        trial.report(value, epoch)
        if trial.should_prune():
            trial.set_user_attr("curves", curves)
            trial.set_user_attr("prune_reason", f"pruner {self.spec.pruner.name} at epoch {epoch} (value {value:.4g})")
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    @torch.no_grad()
    def _evaluate(self, model: VAE, seed: int) -> dict[str, float]:
        model.eval()
        ds, ev = self.ctx.dataset, self.spec.evaluation
        g = torch.Generator(device=self.ctx.device).manual_seed(seed + 777)
        samples = torch.cat([model.sample(min(_EVAL_BATCH, ev.n_samples - i), generator=g)
                             for i in range(0, ev.n_samples, _EVAL_BATCH)])
        ll, ll_se = iwae_log_likelihood(model.log_importance_weights, ds.test_x, k=ev.iwae_k, batch_size=_EVAL_BATCH)
        recon = torch.cat([model.reconstruct(ds.test_x[i : i + _EVAL_BATCH]) for i in range(0, len(ds.test_x), _EVAL_BATCH)])
        return {
            FID: self.ctx.fid.fid(samples),
            LOG_LIKELIHOOD: ll,
            LOG_LIKELIHOOD_SE: ll_se,
            "loss": vae_neg_elbo(model, ds.test_x),
            MSE: float(mse(recon, ds.test_x).mean()),
            SSIM: float(ssim(recon, ds.test_x).mean()),
        }

    def _store(self, trial: optuna.Trial, per_seed: list[dict[str, float]], curves: dict) -> float | tuple[float, ...]:
        names = [k for k in per_seed[0] if k != "seed"]
        means = {k: _mean([s[k] for s in per_seed]) for k in names}
        bad = [k for k in self.spec.metrics if not _finite(means[k])]
        if bad:
            trial.set_user_attr("curves", curves)
            trial.set_user_attr("prune_reason", f"diverged: non-finite {', '.join(bad)} at the end of training")
            raise optuna.TrialPruned(f"non-finite {bad}")
        for k, v in means.items():
            trial.set_user_attr(k, v)
        trial.set_user_attr(LOG_LIKELIHOOD_ESTIMATOR, f"iwae(k={self.spec.evaluation.iwae_k})")
        trial.set_user_attr(FID_FLOOR, self.ctx.fid_floor)
        trial.set_user_attr(CLASSIFIER_SHA256, self.ctx.classifier.weights_sha256)
        trial.set_user_attr("classifier_accuracy", self.ctx.classifier.test_accuracy)
        trial.set_user_attr("device", str(self.ctx.device))
        trial.set_user_attr("seeds", per_seed)
        trial.set_user_attr("curves", curves)
        values = tuple(means[m] for m in self.spec.metrics)
        return values[0] if len(values) == 1 else values


def _mean(xs: list[float]) -> float:
    return float(sum(xs) / len(xs))


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")

