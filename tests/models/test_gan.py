"""GAN and conditional GAN: losses by the papers' formulas, init schemes, conditioning, config errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genstudy.models import Discriminator, GANAE, GANAEConfig, GANConfig, Generator, d_loss, g_loss, sample

# ---- losses --------------------------------------------------------------------------------------


def test_bce_losses_at_an_undecided_discriminator() -> None:
    zero = torch.zeros(8)
    assert float(d_loss(zero, zero, kind="bce")) == pytest.approx(2 * math.log(2))
    assert float(g_loss(zero, kind="bce")) == pytest.approx(math.log(2))


def test_label_smoothing_makes_the_best_real_logit_log_9() -> None:
    # with real targets 0.9 the real half is minimised at sigmoid(logit) = 0.9, not at +inf
    logits = torch.linspace(-2.0, 6.0, 801)
    fake = torch.full((1,), -20.0)
    losses = torch.stack([d_loss(l.view(1), fake, kind="bce", real_label=0.9) for l in logits])
    assert float(logits[losses.argmin()]) == pytest.approx(math.log(9), abs=0.01)


def test_non_saturating_generator_loss_keeps_its_gradient_when_d_rejects_fakes() -> None:
    # Goodfellow et al. 2014 Sec. 3: -log D(G(z)) has gradient ~ -1 where log(1 - D(G(z))) has ~0
    logit = torch.tensor([-10.0], requires_grad=True)
    g_loss(logit, kind="bce").backward()
    assert float(logit.grad) == pytest.approx(-1.0, abs=1e-3)


def test_hinge_losses() -> None:
    assert float(d_loss(torch.tensor([2.0, 1.0]), torch.tensor([-1.0, -3.0]), kind="hinge")) == 0.0
    assert float(d_loss(torch.zeros(3), torch.zeros(3), kind="hinge")) == pytest.approx(2.0)
    assert float(d_loss(torch.tensor([0.5]), torch.tensor([0.5]), kind="hinge")) == pytest.approx(0.5 + 1.5)
    assert float(g_loss(torch.tensor([1.0, 3.0]), kind="hinge")) == pytest.approx(-2.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "wasserstein"}, "use 'bce' or 'hinge'"),
        ({"real_label": 0.0}, r"real_label must be in \(0, 1\]"),
        ({"real_label": 1.2}, "real_label"),
    ],
)
def test_bad_loss_options_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        d_loss(torch.zeros(2), torch.zeros(2), **kwargs)


# ---- weight init ---------------------------------------------------------------------------------

# width 32: the second conv of each network is Conv2d(32, 64, 4): fan_in 512, fan_out 1024, 32768 weights
FAN_IN, FAN_OUT = 32 * 16, 64 * 16
EXPECTED_STD = {
    ("normal_002", "relu"): 0.02,
    ("xavier_normal", "relu"): math.sqrt(2 / (FAN_IN + FAN_OUT)),
    ("kaiming_normal", "relu"): math.sqrt(2 / FAN_IN),
    ("kaiming_normal", "leaky_relu"): math.sqrt(2 / (1 + 0.2**2) / FAN_IN),
}


@pytest.mark.parametrize(("init", "activation"), list(EXPECTED_STD))
def test_init_scheme_gives_the_documented_conv_weight_std(init: str, activation: str) -> None:
    torch.manual_seed(0)
    disc = Discriminator(GANConfig((1, 28, 28), width=32, init=init, activation=activation))
    ae = GANAE(GANAEConfig((1, 28, 28), width=32, init=init, activation=activation))
    expected = EXPECTED_STD[(init, activation)]
    for conv in (disc.features[2], ae.encoder.down2[0]):
        assert isinstance(conv, nn.Conv2d) and conv.weight.shape == (64, 32, 4, 4)
        w = conv.weight.detach()
        assert float(w.std()) == pytest.approx(expected, rel=0.03)
        assert float(w.mean()) == pytest.approx(0.0, abs=expected / 20)
        assert not conv.bias.detach().any()


# ---- architecture and conditioning --------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 10, 10), (3, 5, 7)])
def test_mlp_gan_takes_any_image_shape(shape: tuple[int, int, int]) -> None:
    cfg = GANConfig(shape, latent_dim=4, width=4, arch="mlp")
    images = sample(Generator(cfg), 3)
    assert images.shape == (3, *shape)
    assert Discriminator(cfg)(images).shape == (3,)


def test_conditional_gan_uses_its_labels() -> None:
    torch.manual_seed(0)
    cfg = GANConfig((1, 8, 8), latent_dim=4, width=4, n_classes=4, init="xavier_normal")
    gen, disc = Generator(cfg).eval(), Discriminator(cfg).eval()
    z = torch.randn(6, 4)
    zeros, threes = torch.zeros(6, dtype=torch.long), torch.full((6,), 3)
    assert not torch.allclose(gen(z, zeros), gen(z, threes))
    x = torch.rand(6, 1, 8, 8)
    assert not torch.allclose(disc(x, zeros), disc(x, threes))
    # default labels cycle through the classes: one class per column of a 4-wide grid
    rng = torch.Generator().manual_seed(5)
    expected = sample(gen, 8, labels=torch.arange(8) % 4, generator_rng=rng)
    torch.testing.assert_close(sample(gen, 8, generator_rng=torch.Generator().manual_seed(5)), expected)


def test_labels_are_required_exactly_when_conditional() -> None:
    cond = GANConfig((1, 8, 8), latent_dim=4, width=4, n_classes=3)
    with pytest.raises(ValueError, match="needs labels"):
        Generator(cond)(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        Discriminator(cond)(torch.rand(2, 1, 8, 8), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="unconditional"):
        sample(Generator(GANConfig((1, 8, 8), latent_dim=4, width=4)), 2, labels=torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_shape": (1, 10, 10)}, "divisible by 4.*arch='mlp'"),
        ({"image_shape": (28, 28)}, "three positive ints"),
        ({"activation": "tanh"}, "unknown activation 'tanh'; use one of relu, leaky_relu, gelu"),
        ({"init": "orthogonal"}, "unknown init 'orthogonal'"),
        ({"arch": "resnet"}, "unknown arch 'resnet'"),
        ({"n_classes": -1}, "n_classes must be >= 0"),
        ({"latent_dim": 0}, "latent_dim must be >= 1"),
        ({"width": 0}, "width must be >= 1"),
    ],
)
def test_invalid_gan_config_raises(kwargs: dict, match: str) -> None:
    args = {"image_shape": (1, 8, 8)} | kwargs
    with pytest.raises(ValueError, match=match):
        GANConfig(**args)


# ---- training ------------------------------------------------------------------------------------


def test_gan_training_moves_d_loss_and_samples_toward_the_data() -> None:
    from genstudy.data import load_dataset

    x = load_dataset("toy").train_x  # (512, 1, 8, 8), mostly dark: mean pixel ~0.13
    torch.manual_seed(0)
    cfg = GANConfig((1, 8, 8), latent_dim=8, width=8)
    gen, disc = Generator(cfg), Discriminator(cfg)
    opt_g = torch.optim.Adam(gen.parameters(), 2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), 2e-3, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(0)
    gap_before = abs(float(sample(gen, 256, generator_rng=rng).mean() - x.mean()))
    d_losses = []
    for _ in range(80):
        real = x[torch.randint(0, len(x), (64,), generator=rng)]
        fake = gen(torch.randn(64, 8, generator=rng))
        # D step: maximise log D(x) + log(1 - D(G(z))), real targets smoothed to 0.9
        loss_d = d_loss(disc(real), disc(fake.detach()), kind="bce", real_label=0.9)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # G step: maximise log D(G(z))
        loss_g = g_loss(disc(fake), kind="bce")
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss_d.item())
    gap_after = abs(float(sample(gen, 256, generator_rng=rng).mean() - x.mean()))
    assert d_losses[0] == pytest.approx(2 * math.log(2), abs=0.1)
    assert min(d_losses[-20:]) < d_losses[0] - 0.3, d_losses
    assert gap_after < 0.5 * gap_before, (gap_before, gap_after)
