"""The tiny autoencoder as a genstudy family: params and metrics beside the code that uses them.

genstudy samples the params, trains ``repeats`` seeds in lockstep, prunes on ``validate``'s value,
checkpoints the run after each epoch and resumes it bit-exactly when a worker dies, stores the
metrics and the artifacts. This class only builds, trains, validates and evaluates one model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genstudy.families import (
    Family,
    MetricDef,
    ParamDef,
    adam,
    autocast,
    check_divergence,
    grad_norm,
    save_checkpoint_artifact,
    save_grid,
)
from genstudy.metrics import mse, ssim
from tiny_ae.model import TinyAE, TinyAEConfig, reconstruction_loss

__all__ = ["TinyAutoencoder"]

_EVAL_BATCH = 500


@dataclass
class _Run:
    """One seed's training state: genstudy checkpoints exactly these fields after each epoch."""

    model: TinyAE
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # the only source of randomness in training: batch order


class TinyAutoencoder(Family):
    name = "tiny_ae"
    params = (
        ParamDef("lr", float, 1e-3, "Adam learning rate (search it on a log scale)", 1e-6, 1.0),
        ParamDef("batch_size", int, 64, "images per optimisation step", 1, 8192),
        ParamDef("hidden", int, 128, "units of the hidden layer", 4, 4096),
        ParamDef("code", int, 16, "size of the code (bottleneck)", 1, 1024),
    )  # genstudy adds epochs (default: the spec's budget.epochs)
    metrics = (
        MetricDef("loss", "minimize", "reconstruction MSE on the test split (the training objective)"),
        MetricDef("mse", "minimize", "the same number under the name the built-in families use, to compare across them"),
        MetricDef("ssim", "maximize", "reconstruction SSIM on the test split"),
    )  # genstudy adds train_seconds

    def build(self, params: dict[str, Any], seed: int) -> _Run:
        torch.manual_seed(seed)  # the initial weights
        config = TinyAEConfig(self.ctx.dataset.image_shape, hidden=params["hidden"], code=params["code"])
        model = TinyAE(config).to(self.ctx.device)
        generator = torch.Generator(device=self.ctx.device).manual_seed(seed)
        return _Run(model, adam(model.parameters(), lr=params["lr"]), generator)

    def train_epoch(self, run: _Run, params: dict[str, Any]) -> dict[str, float]:
        run.model.train()
        x = self.ctx.dataset.train_x  # (N, C, H, W) on the trial's device
        perm = torch.randperm(len(x), generator=run.generator, device=run.generator.device).to(x.device)
        total, peak = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
        for start in range(0, len(x), params["batch_size"]):
            xb = x[perm[start : start + params["batch_size"]]]
            with autocast(self.ctx.device, self.ctx.precision):
                loss = reconstruction_loss(run.model, xb)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            peak = torch.maximum(peak, grad_norm(run.model.parameters()))
            run.optimizer.step()
            total += loss.detach() * len(xb)
        losses = {"train_loss": float(total / len(x))}  # the one host sync of the epoch
        check_divergence(losses, float(peak), discriminator=False)  # DivergedError -> the trial is PRUNED
        return losses

    @torch.no_grad()
    def validate(self, run: _Run, params: dict[str, Any], metric: str) -> tuple[dict[str, float], float]:
        x = self.ctx.dataset.val_x
        recon = self._reconstruct(run.model, x)
        val_loss = float(mse(recon, x).mean())
        value = float(ssim(recon, x).mean()) if metric == "ssim" else val_loss  # in the metric's direction
        return {"val_loss": val_loss}, value

    @torch.no_grad()
    def evaluate(self, run: _Run, params: dict[str, Any], seed: int) -> dict[str, float]:
        x = self.ctx.dataset.test_x
        recon = self._reconstruct(run.model, x)
        per_image = mse(recon, x)
        return {"loss": float(per_image.mean()), "mse": float(per_image.mean()), "ssim": float(ssim(recon, x).mean())}

    @torch.no_grad()
    def artifacts(self, run: _Run, params: dict[str, Any], out_dir: Path) -> list[tuple[Path, str]]:
        x = self.ctx.dataset.test_x[:16]
        grid = save_grid(out_dir / "reconstructions.png", torch.cat([x, self._reconstruct(run.model, x)]), nrow=16)
        ckpt = save_checkpoint_artifact(out_dir / "checkpoint.pt", {"autoencoder": run.model}, run.model.config, params)
        return [(grid, "image/png"), (ckpt, "application/octet-stream")]

    @staticmethod
    def _reconstruct(model: TinyAE, x: torch.Tensor) -> torch.Tensor:
        model.eval()
        return torch.cat([model(x[i : i + _EVAL_BATCH]) for i in range(0, len(x), _EVAL_BATCH)])
