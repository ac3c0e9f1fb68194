"""One contract for every model family: shapes, finite losses, sampling, gradients, checkpoints.

Each family is a small adapter: build modules for an image shape, sample, and list its
training phases as (loss, modules that must get gradients, modules that must get none).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn

from genstudy.models import (
    GANAE,
    VAE,
    Discriminator,
    GANAEConfig,
    GANConfig,
    Generator,
    VAEConfig,
    d_loss,
    g_loss,
    load_checkpoint,
    sample,
    save_checkpoint,
)

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
KINDS = ["bce", "hinge"]
N_CLASSES = 3
Phase = tuple[torch.Tensor, set[str], set[str]]  # loss, modules with gradients, modules without


@dataclass(frozen=True)
class Family:
    name: str
    config: Callable[[tuple[int, int, int]], Any]

    def build(self, shape: tuple[int, int, int]) -> dict[str, nn.Module]:
        cfg = self.config(shape)
        if isinstance(cfg, GANConfig):
            return {"generator": Generator(cfg), "discriminator": Discriminator(cfg)}
        return {"model": GANAE(cfg) if isinstance(cfg, GANAEConfig) else VAE(cfg)}

    def labels(self, modules: dict[str, nn.Module], n: int) -> torch.Tensor | None:
        cfg = next(iter(modules.values())).config
        return torch.arange(n) % N_CLASSES if getattr(cfg, "n_classes", 0) else None

    def sample(self, modules: dict[str, nn.Module], n: int, rng: torch.Generator) -> torch.Tensor:
        if "generator" in modules:
            return sample(modules["generator"], n, labels=self.labels(modules, n), generator_rng=rng)
        model = modules["model"]
        return model.sample(n, generator=rng) if isinstance(model, VAE) else model.sample(n, generator_rng=rng)

    def phases(self, modules: dict[str, nn.Module], x: torch.Tensor, kind: str) -> dict[str, Phase]:
        y = self.labels(modules, x.shape[0])
        if "generator" in modules:
            g, d = modules["generator"], modules["discriminator"]
            z = torch.randn(x.shape[0], g.config.latent_dim)
            real_label = 0.9 if kind == "bce" else 1.0
            return {
                # D step: fakes detached, so the generator gets no gradient
                "d": (d_loss(d(x, y), d(g(z, y).detach(), y), kind=kind, real_label=real_label), {"d"}, {"g"}),
                "g": (g_loss(d(g(z, y), y), kind=kind), {"g"}, set()),
            }
        model = modules["model"]
        if isinstance(model, VAE):
            return {"elbo": (model.loss(x), {"model"}, set())}
        discriminators = {"latent_d"} | ({"image_d"} if model.image_discriminator is not None else set())
        adversarial = model.config.adv_weight > 0  # adv_weight = 0: the discriminators play no part
        real_label = 0.9 if kind == "bce" else 1.0
        return {
            "ae": (
                model.ae_loss(x, kind=kind).total,
                {"encoder", "decoder"} | (discriminators if adversarial else set()),
                set() if adversarial else discriminators,
            ),
            "d": (model.d_loss(x, kind=kind, real_label=real_label), discriminators, {"encoder", "decoder"}),
        }

    @staticmethod
    def parts(modules: dict[str, nn.Module]) -> dict[str, nn.Module]:
        if "generator" in modules:
            return {"g": modules["generator"], "d": modules["discriminator"]}
        m = modules["model"]
        if isinstance(m, VAE):
            return {"model": m}
        parts = {"encoder": m.encoder, "decoder": m.decoder, "latent_d": m.latent_discriminator}
        return parts | ({"image_d": m.image_discriminator} if m.image_discriminator is not None else {})

    @torch.no_grad()
    def outputs(self, modules: dict[str, nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
        """Deterministic outputs (eval mode, fixed noise) that depend on every module."""
        for m in modules.values():
            m.eval()
        y = self.labels(modules, x.shape[0])
        if "generator" in modules:
            g, d = modules["generator"], modules["discriminator"]
            z = torch.randn(x.shape[0], g.config.latent_dim, generator=torch.Generator().manual_seed(1))
            return [g(z, y), d(x, y)]
        m = modules["model"]
        if isinstance(m, VAE):
            return [m.reconstruct(x), m.decode(torch.zeros(2, m.config.latent_dim))]
        out = [m.reconstruct(x), m.latent_discriminator(m.encoder(x)[0])]
        return out + ([m.image_discriminator(x)] if m.image_discriminator is not None else [])


def _gan(**kw: Any) -> Callable[[tuple[int, int, int]], GANConfig]:
    return lambda shape: GANConfig(shape, latent_dim=4, width=4, **kw)


def _gan_ae(**kw: Any) -> Callable[[tuple[int, int, int]], GANAEConfig]:
    return lambda shape: GANAEConfig(shape, latent_dim=4, width=4, **kw)


FAMILIES = [
    Family("gan_dcgan", _gan(arch="dcgan")),
    Family("gan_mlp", _gan(arch="mlp", activation="relu")),
    Family("cgan_dcgan", _gan(arch="dcgan", n_classes=N_CLASSES, activation="gelu")),
    Family("cgan_mlp", _gan(arch="mlp", n_classes=N_CLASSES)),
    Family("gan_ae", _gan_ae()),
    Family("gan_ae_skip", _gan_ae(skip=True, noise="both")),
    Family("gan_ae_image_d", _gan_ae(image_discriminator=True, noise="latent")),
    Family("gan_ae_skip_image_d", _gan_ae(skip=True, image_discriminator=True, recon_loss="bce")),
    Family("denoising_ae", _gan_ae(adv_weight=0.0, sigma=0.3)),
    Family("vae", lambda shape: VAEConfig(shape, latent_dim=4, width=4)),
]
families = pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
shapes = pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])


@families
@shapes
def test_samples_have_the_image_shape_and_lie_in_unit_range(family: Family, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    modules = family.build(shape)
    buffers = {(n, k): v.clone() for n, m in modules.items() for k, v in m.state_dict().items()}
    a = family.sample(modules, 6, torch.Generator().manual_seed(3))
    b = family.sample(modules, 6, torch.Generator().manual_seed(3))
    assert a.shape == (6, *shape)
    assert a.min() >= 0 and a.max() <= 1
    torch.testing.assert_close(a, b)  # the rng alone decides the samples
    # sampling is evaluation: it leaves the training mode and the BatchNorm statistics alone
    assert all(m.training for m in modules.values())
    after = {(n, k): v for n, m in modules.items() for k, v in m.state_dict().items()}
    assert all(torch.equal(buffers[k], after[k]) for k in buffers)


LOSS_CASES = [(f, k) for f in FAMILIES for k in KINDS if f.name != "vae" or k == "bce"]  # VAE: no adversary


@pytest.mark.parametrize(("family", "kind"), LOSS_CASES, ids=[f"{f.name}-{k}" for f, k in LOSS_CASES])
@shapes
def test_losses_are_finite_and_gradients_reach_the_trained_modules(
    family: Family, shape: tuple[int, int, int], kind: str
) -> None:
    torch.manual_seed(0)
    modules = family.build(shape)
    parts = family.parts(modules)
    x = torch.rand(5, *shape)
    for name, (loss, with_grad, without_grad) in family.phases(modules, x, kind).items():
        for m in modules.values():
            m.zero_grad(set_to_none=True)
        assert loss.shape == () and torch.isfinite(loss), (name, loss)
        loss.backward()
        for part in with_grad:
            grads = [p.grad for p in parts[part].parameters()]
            assert all(g is not None for g in grads), f"phase {name}: a parameter of {part} got no gradient"
            assert sum(float(g.abs().sum()) for g in grads) > 0, f"phase {name}: {part} got zero gradient"
        for part in without_grad:
            assert all(p.grad is None for p in parts[part].parameters()), f"phase {name}: gradient leaked into {part}"


@families
@shapes
def test_checkpoint_round_trip_gives_identical_outputs(family: Family, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    modules = family.build(shape)
    x = torch.rand(4, *shape)
    for loss, _, _ in family.phases(modules, x, "bce").values():
        loss.backward()  # a training-mode pass also moves the BatchNorm running statistics
    with torch.no_grad():  # weights away from their init, so a fresh build cannot match by chance
        for m in modules.values():
            for p in m.parameters():
                p.add_(0.01 * torch.randn_like(p))
    buf = io.BytesIO()
    save_checkpoint(buf, modules, family.config(shape))
    torch.load(io.BytesIO(buf.getvalue()), weights_only=True)  # plain types and tensors only

    ckpt = load_checkpoint(io.BytesIO(buf.getvalue()))
    assert ckpt.config == family.config(shape)
    torch.manual_seed(1)
    fresh = family.build(ckpt.config.image_shape)
    before = family.outputs(fresh, x)
    expected = family.outputs(modules, x)
    assert any(not torch.equal(a, b) for a, b in zip(before, expected))
    ckpt.load_into(fresh)
    for a, b in zip(family.outputs(fresh, x), expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
