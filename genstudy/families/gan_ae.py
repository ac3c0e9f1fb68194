"""GAN-autoencoder family: adversarial autoencoder (Makhzani et al. 2015), and with
``adv_weight: 0`` the plain (``sigma: 0``) or denoising (``noise: input``) autoencoder.

Per real batch: one encoder/decoder step (reconstruction + adversarial terms), then
``d_steps`` discriminator steps (when ``adv_weight > 0``). genstudy's divergence rules apply
(``genstudy.families._train.check_divergence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genstudy.families._common import (
    ADVERSARIAL_METRICS,
    ADVERSARIAL_TRAINING,
    RECONSTRUCTION_METRICS,
    SAMPLE_METRICS,
    TABLE_METRICS,
)
from genstudy.families._contract import Family
from genstudy.families._images import save_checkpoint_artifact, save_pairs_grid, stacked
from genstudy.families._samples import sample_metrics, sample_stand_in
from genstudy.families._train import adam, autocast, check_divergence, grad_norm, require_conv_shape
from genstudy.metrics import LOG_LIKELIHOOD_ESTIMATOR, MSE, PARZEN, SSIM, mse, ssim
from genstudy.models import GANAE, GANAEConfig, reconstruction_loss
from genstudy.models.gan_ae import NOISE_PLACES
from genstudy.models.losses import RECON_KINDS
from genstudy.schema import MetricDef, ParamDef

__all__ = ["GanAeFamily"]

_PRUNE_SEED = 12345
_EVAL_BATCH = 500


@dataclass
class _Run:
    model: GANAE
    opt_ae: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    rng: torch.Generator


class GanAeFamily(Family):
    name = "gan_ae"
    params = (
        ParamDef("lr", float, 2e-4, "encoder/decoder Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("d_lr", float, 2e-4, "discriminator Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("sigma", float, 0.1, "std of the Gaussian noise (0 = none)", 0.0, 10.0),
        ParamDef("noise", str, "input", "where sigma's noise goes: input (denoising), latent, both", choices=NOISE_PLACES),
        ParamDef("skip", bool, False, "U-Net-like encoder-decoder skip connections"),
        ParamDef("image_discriminator", bool, False, "a second discriminator on images"),
        ParamDef("adv_weight", float, 1.0, "weight of the adversarial terms (0 = plain/denoising autoencoder)", 0.0, 1000.0),
        ParamDef("recon_weight", float, 1.0, "weight of the reconstruction term", 0.0, 1000.0),
        ParamDef("recon_loss", str, "mse", "reconstruction loss", choices=RECON_KINDS),
        *ADVERSARIAL_TRAINING,
    )
    metrics = (
        *SAMPLE_METRICS,
        *ADVERSARIAL_METRICS,
        *RECONSTRUCTION_METRICS,
        MetricDef("loss", "minimize", "reconstruction loss on the test split"),
    )
    table_metrics = TABLE_METRICS

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        require_conv_shape(self.name, context.dataset.image_shape)

    def build(self, params: dict[str, Any], seed: int) -> _Run:
        torch.manual_seed(seed)
        config = GANAEConfig(
            self.ctx.dataset.image_shape, latent_dim=params["latent_dim"], width=params["width"],
            activation=params["activation"], init=params["init"], sigma=params["sigma"], noise=params["noise"],
            skip=params["skip"], image_discriminator=params["image_discriminator"], adv_weight=params["adv_weight"],
            recon_weight=params["recon_weight"], recon_loss=params["recon_loss"],
        )
        model = GANAE(config).to(self.ctx.device)
        betas = (params["beta1"], params["beta2"])
        opt_d = adam(model.discriminator_parameters(), lr=params["d_lr"], betas=betas) if params["adv_weight"] > 0 else None
        return _Run(model, adam(model.autoencoder_parameters(), lr=params["lr"], betas=betas), opt_d,
                    torch.Generator(device=self.ctx.device).manual_seed(seed))

    def train_epoch(self, run: _Run, params: dict[str, Any]) -> dict[str, float]:
        x_all, bs, kind = self.ctx.dataset.train_x, params["batch_size"], params["adv_loss"]
        run.model.train()
        perm = torch.randperm(len(x_all), generator=run.rng, device=run.rng.device).to(x_all.device)
        sums = {k: torch.zeros((), device=self.ctx.device) for k in ("recon", "loss_g", "loss_d")}
        max_norm = torch.zeros((), device=self.ctx.device)
        n_iter = 0
        amp = autocast(self.ctx.device, self.ctx.precision)
        for start in range(0, len(perm), bs):
            x = x_all[perm[start : start + bs]]
            with amp:
                ae = run.model.ae_loss(x, kind=kind, generator_rng=run.rng)  # reconstruct, and fool the D's
            run.opt_ae.zero_grad(set_to_none=True)
            ae.total.backward()
            max_norm = torch.maximum(max_norm, grad_norm(run.model.autoencoder_parameters()))
            run.opt_ae.step()
            sums["recon"] += ae.recon.detach()
            sums["loss_g"] += ae.adv.detach()
            if run.opt_d is not None:
                for _ in range(params["d_steps"]):  # prior codes are real, encoded codes fake
                    with amp:
                        loss = run.model.d_loss(x, kind=kind, real_label=params["real_label"], generator_rng=run.rng)
                    run.opt_d.zero_grad(set_to_none=True)
                    loss.backward()
                    run.opt_d.step()
                    sums["loss_d"] += loss.detach() / params["d_steps"]
            n_iter += 1
        losses = {"recon": float(sums["recon"]) / n_iter}
        if run.opt_d is not None:
            losses |= {"loss_g": float(sums["loss_g"]) / n_iter, "loss_d": float(sums["loss_d"]) / n_iter}
        check_divergence(losses, float(max_norm), discriminator=run.opt_d is not None)
        return losses

    @torch.no_grad()
    def _held_out(self, run: _Run, params: dict[str, Any], x: torch.Tensor, *, quality: bool = True) -> dict[str, float]:
        """Held-out losses of ``x`` from one encoder/decoder pass; MSE and SSIM too with ``quality``
        (the final metrics, or a study judged by them: the per-epoch curves need only the losses)."""
        model = run.model.eval()
        passes = [model(x[i : i + _EVAL_BATCH]) for i in range(0, len(x), _EVAL_BATCH)]
        recon = torch.cat([r for r, _ in passes])
        out = {"loss": float(reconstruction_loss(recon, x, kind=params["recon_loss"]))}
        if quality:
            out |= {MSE: float(mse(recon, x).mean()), SSIM: float(ssim(recon, x).mean())}
        if run.opt_d is not None:
            rng = torch.Generator(device=run.rng.device).manual_seed(_PRUNE_SEED)
            z, kind = torch.cat([z for _, z in passes]), params["adv_loss"]  # eval mode: no noise, no draws
            out["loss_d"] = float(model.d_loss(x, kind=kind, generator_rng=rng, codes=z))
            out["loss_g"] = float(model.adversarial_g(z, kind=kind, generator_rng=rng))
        return out

    def _samples(self, run: _Run, n: int, seed: int) -> torch.Tensor:
        run.model.eval()
        rng = torch.Generator(device=run.rng.device).manual_seed(seed)
        return stacked(lambda k: run.model.sample(k, generator_rng=rng), n, _EVAL_BATCH)

    def validate(self, run: _Run, params: dict[str, Any], metric: str) -> tuple[dict[str, float], float]:
        held = self._held_out(run, params, self.ctx.dataset.val_x, quality=metric in (MSE, SSIM))
        curves = {f"val_{k}": v for k, v in held.items() if k in ("loss", "loss_g", "loss_d")}
        if metric in held or metric == "train_seconds":
            return curves, held.get(metric, held["loss"])
        images = self._samples(run, self.spec.evaluation.prune_fid_samples, _PRUNE_SEED)
        return curves, sample_stand_in(self.ctx, images, metric)

    def evaluate(self, run: _Run, params: dict[str, Any], seed: int) -> dict[str, float]:
        images = self._samples(run, self.spec.evaluation.n_samples, seed + 777)
        return sample_metrics(self.ctx, images) | self._held_out(run, params, self.ctx.dataset.test_x)

    def attrs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {LOG_LIKELIHOOD_ESTIMATOR: f"{PARZEN}(n={self.spec.evaluation.n_samples}, sigma on val)"}

    @torch.no_grad()
    def artifacts(self, run: _Run, params: dict[str, Any], out_dir: Path) -> list[tuple[Path, str]]:
        run.model.eval()
        x = self.ctx.dataset.test_x[:32]
        grid = save_pairs_grid(out_dir / "samples.png", samples=self._samples(run, 32, _PRUNE_SEED),
                               inputs=x, reconstructions=run.model.reconstruct(x))
        ckpt = save_checkpoint_artifact(out_dir / "checkpoint.pt", {"gan_ae": run.model}, run.model.config, params)
        return [(grid, "image/png"), (ckpt, "application/octet-stream")]
