"""GAN and conditional GAN families (DCGAN-style conv or MLP; BCE or hinge losses).

One iteration per real batch: ``d_steps`` discriminator updates (same real batch, fresh fakes),
then ``g_steps`` generator updates. Losses, and the largest gradient norm of the epoch, are
accumulated on the device and read once per epoch; genstudy's divergence rules
(``genstudy.families._train.check_divergence``) end a diverged trial as PRUNED with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genstudy.data import require_labels
from genstudy.families._common import ADVERSARIAL_METRICS, ADVERSARIAL_TRAINING, SAMPLE_METRICS, TABLE_METRICS
from genstudy.families._contract import Family
from genstudy.families._images import save_checkpoint_artifact, save_grid, stacked
from genstudy.families._samples import classifier_logits, sample_metrics, sample_stand_in
from genstudy.families._train import adam, autocast, check_divergence, grad_norm
from genstudy.metrics import LABEL_ACCURACY, LOG_LIKELIHOOD_ESTIMATOR, PARZEN, label_accuracy
from genstudy.models import Discriminator, GANConfig, Generator, d_loss, g_loss, sample
from genstudy.models.gan import ARCHS
from genstudy.schema import MetricDef, ParamDef

__all__ = ["CganFamily", "GanFamily"]

_PRUNE_SEED = 12345
_EVAL_BATCH = 500


@dataclass
class _Run:
    g: Generator
    d: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: torch.Generator


class GanFamily(Family):
    """The unconditional GAN; ``CganFamily`` below is the conditional one."""

    name = "gan"
    conditional = False
    params = (
        ParamDef("g_lr", float, 2e-4, "generator Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("d_lr", float, 2e-4, "discriminator Adam learning rate (search it on a log scale)", 1e-7, 1.0),
        ParamDef("g_steps", int, 1, "generator updates per iteration", 1, 20),
        ParamDef("arch", str, "dcgan", "dcgan (conv) or mlp", choices=ARCHS),
        *ADVERSARIAL_TRAINING,
    )
    metrics = (
        *SAMPLE_METRICS,
        *ADVERSARIAL_METRICS,
        MetricDef("loss", "minimize", "generator loss on held-out data (= loss_g)"),
    )
    table_metrics = TABLE_METRICS

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        if self.conditional:
            require_labels(context.dataset, "objective cgan (the conditional GAN trains on class labels)")
        self.n_classes = context.dataset.n_classes if self.conditional else 0

    def build(self, params: dict[str, Any], seed: int) -> _Run:
        torch.manual_seed(seed)
        config = GANConfig(self.ctx.dataset.image_shape, latent_dim=params["latent_dim"], width=params["width"],
                           activation=params["activation"], init=params["init"], arch=params["arch"],
                           n_classes=self.n_classes)
        g, d = Generator(config).to(self.ctx.device), Discriminator(config).to(self.ctx.device)
        betas = (params["beta1"], params["beta2"])
        return _Run(g, d, adam(g.parameters(), lr=params["g_lr"], betas=betas),
                    adam(d.parameters(), lr=params["d_lr"], betas=betas),
                    torch.Generator(device=self.ctx.device).manual_seed(seed))

    def _labels(self, n: int, rng: torch.Generator) -> torch.Tensor | None:
        if not self.n_classes:
            return None
        return torch.randint(self.n_classes, (n,), generator=rng, device=rng.device).to(self.ctx.device)

    def _z(self, n: int, run: _Run, params: dict[str, Any]) -> torch.Tensor:
        return torch.randn((n, params["latent_dim"]), generator=run.rng, device=run.rng.device).to(self.ctx.device)

    def train_epoch(self, run: _Run, params: dict[str, Any]) -> dict[str, float]:
        ds, kind, bs = self.ctx.dataset, params["adv_loss"], params["batch_size"]
        run.g.train(), run.d.train()
        perm = torch.randperm(len(ds.train_x), generator=run.rng, device=run.rng.device).to(ds.train_x.device)
        sum_d = torch.zeros((), device=self.ctx.device)
        sum_g = torch.zeros((), device=self.ctx.device)
        max_norm = torch.zeros((), device=self.ctx.device)
        n_iter = 0
        # one G(z) per iteration, as in DCGAN's reference loop: D learns on G(z).detach(), then G
        # on D(G(z)) through the freshly updated D; with several D or G steps each draws its own z
        reuse = params["d_steps"] == 1 and params["g_steps"] == 1
        amp = autocast(self.ctx.device, self.ctx.precision)
        for start in range(0, len(perm), bs):
            idx = perm[start : start + bs]
            real, labels = ds.train_x[idx], ds.train_y[idx] if self.n_classes else None
            b = len(idx)
            for _ in range(params["d_steps"]):  # D: maximise log D(x) + log(1 - D(G(z))) (Goodfellow et al. 2014)
                fake_labels = self._labels(b, run.rng)
                z = self._z(b, run, params)
                with amp:
                    with torch.set_grad_enabled(reuse):
                        fake = run.g(z, fake_labels)
                    loss = d_loss(run.d(real, labels), run.d(fake.detach(), fake_labels), kind=kind,
                                  real_label=params["real_label"])
                run.opt_d.zero_grad(set_to_none=True)
                loss.backward()
                max_norm = torch.maximum(max_norm, grad_norm(run.d.parameters()))
                run.opt_d.step()
                sum_d += loss.detach()
            for _ in range(params["g_steps"]):  # G: non-saturating, maximise log D(G(z))
                with amp:
                    if not reuse:
                        fake_labels = self._labels(b, run.rng)
                        fake = run.g(self._z(b, run, params), fake_labels)
                    loss = g_loss(run.d(fake, fake_labels), kind=kind)
                run.opt_g.zero_grad(set_to_none=True)
                loss.backward()
                max_norm = torch.maximum(max_norm, grad_norm(run.g.parameters()))
                run.opt_g.step()
                sum_g += loss.detach()
            n_iter += 1
        losses = {"loss_d": float(sum_d) / (n_iter * params["d_steps"]), "loss_g": float(sum_g) / (n_iter * params["g_steps"])}
        check_divergence(losses, float(max_norm))
        return losses

    @torch.no_grad()
    def _held_out(self, run: _Run, params: dict[str, Any], x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        run.g.eval(), run.d.eval()
        rng = torch.Generator(device=run.rng.device).manual_seed(_PRUNE_SEED)
        labels = y if self.n_classes else None
        fake_labels = self._labels(len(x), rng)
        fake = run.g(torch.randn((len(x), params["latent_dim"]), generator=rng, device=rng.device).to(x.device), fake_labels)
        fake_logits = run.d(fake, fake_labels)
        return {"loss_d": float(d_loss(run.d(x, labels), fake_logits, kind=params["adv_loss"])),
                "loss_g": float(g_loss(fake_logits, kind=params["adv_loss"]))}

    def _samples(self, run: _Run, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        run.g.eval()
        rng = torch.Generator(device=run.rng.device).manual_seed(seed)
        if not self.n_classes:
            return stacked(lambda k: sample(run.g, k, generator_rng=rng), n, _EVAL_BATCH), None
        labels = torch.arange(n, device=self.ctx.device) % self.n_classes  # balanced classes
        images = torch.cat([sample(run.g, len(chunk), labels=chunk, generator_rng=rng)
                            for chunk in labels.split(_EVAL_BATCH)])
        return images, labels

    def validate(self, run: _Run, params: dict[str, Any], metric: str) -> tuple[dict[str, float], float]:
        ds = self.ctx.dataset
        held = self._held_out(run, params, ds.val_x, ds.val_y)
        curves = {f"val_{k}": v for k, v in held.items()}
        if metric in held or metric in ("loss", "train_seconds"):
            return curves, held.get(metric, held["loss_g"])
        images, labels = self._samples(run, self.spec.evaluation.prune_fid_samples, _PRUNE_SEED)
        if metric == LABEL_ACCURACY:
            return curves, label_accuracy(classifier_logits(self.ctx, images), labels)
        return curves, sample_stand_in(self.ctx, images, metric)

    def evaluate(self, run: _Run, params: dict[str, Any], seed: int) -> dict[str, float]:
        ds = self.ctx.dataset
        images, labels = self._samples(run, self.spec.evaluation.n_samples, seed + 777)
        out = sample_metrics(self.ctx, images) | self._held_out(run, params, ds.test_x, ds.test_y)
        out["loss"] = out["loss_g"]
        if self.n_classes and self.ctx.has_classifier:
            out[LABEL_ACCURACY] = label_accuracy(classifier_logits(self.ctx, images), labels)
        return out

    def attrs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {LOG_LIKELIHOOD_ESTIMATOR: f"{PARZEN}(n={self.spec.evaluation.n_samples}, sigma on val)"}

    @torch.no_grad()
    def artifacts(self, run: _Run, params: dict[str, Any], out_dir: Path) -> list[tuple[Path, str]]:
        run.g.eval()
        rng = torch.Generator(device=run.rng.device).manual_seed(_PRUNE_SEED)
        if self.n_classes:  # one row per class
            labels = torch.arange(self.n_classes, device=self.ctx.device).repeat_interleave(8)
            images = sample(run.g, len(labels), labels=labels, generator_rng=rng)
        else:
            images = sample(run.g, 64, generator_rng=rng)
        grid = save_grid(out_dir / "samples.png", images, nrow=8)
        ckpt = save_checkpoint_artifact(out_dir / "checkpoint.pt", {"generator": run.g, "discriminator": run.d},
                                        run.g.config, params)
        return [(grid, "image/png"), (ckpt, "application/octet-stream")]


class CganFamily(GanFamily):
    """The conditional GAN: both networks see the class label (a projection discriminator)."""

    name = "cgan"
    conditional = True
    metrics = (
        *GanFamily.metrics,
        MetricDef("label_accuracy", "maximize", "how often the classifier agrees with the label asked for", ("classifier",)),
    )
