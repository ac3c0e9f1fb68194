"""GAN-autoencoder: where sigma's noise goes, sampling with skips, losses, config errors, training."""

from __future__ import annotations

import pytest
import torch

from genstudy.models import GANAE, GANAEConfig, reconstruction_loss

SHAPE = (1, 8, 8)


def _model(**kw: object) -> GANAE:
    torch.manual_seed(0)
    # no BatchNorm, so training and eval mode differ only by the noise
    return GANAE(GANAEConfig(SHAPE, latent_dim=4, width=4, batch_norm=False, init="xavier_normal", **kw))


def _rng() -> torch.Generator:
    return torch.Generator().manual_seed(7)


def test_input_noise_corrupts_the_encoder_input_in_training_only() -> None:
    model = _model(sigma=0.3, noise="input")
    x = torch.rand(5, *SHAPE)
    z, _ = model.encode(x, generator_rng=_rng())
    noisy_x = x + 0.3 * torch.randn(x.shape, generator=_rng())
    torch.testing.assert_close(z, model.encoder(noisy_x)[0])
    model.eval()
    torch.testing.assert_close(model.encode(x, generator_rng=_rng())[0], model.encoder(x)[0])


def test_latent_noise_is_added_to_the_code() -> None:
    model = _model(sigma=0.3, noise="latent")
    x = torch.rand(5, *SHAPE)
    z, _ = model.encode(x, generator_rng=_rng())
    expected = model.encoder(x)[0] + 0.3 * torch.randn((5, 4), generator=_rng())
    torch.testing.assert_close(z, expected)


def test_both_noise_corrupts_input_then_code() -> None:
    model = _model(sigma=0.2, noise="both")
    x = torch.rand(5, *SHAPE)
    z, _ = model.encode(x, generator_rng=_rng())
    rng = _rng()
    noisy_x = x + 0.2 * torch.randn(x.shape, generator=rng)
    expected = model.encoder(noisy_x)[0] + 0.2 * torch.randn((5, 4), generator=rng)
    torch.testing.assert_close(z, expected)


def test_reconstruction_target_is_the_clean_input() -> None:
    model = _model(sigma=0.5, noise="input", adv_weight=0.0)
    x = torch.rand(5, *SHAPE)
    loss = model.ae_loss(x, generator_rng=_rng())
    x_rec, _ = model(x, generator_rng=_rng())
    torch.testing.assert_close(loss.recon, reconstruction_loss(x_rec, x))
    assert loss.adv.item() == 0.0 and loss.total.item() == pytest.approx(loss.recon.item())


def test_sigma_zero_is_the_plain_autoencoder() -> None:
    model = _model(sigma=0.0, noise="both")
    x = torch.rand(5, *SHAPE)
    torch.testing.assert_close(model(x)[0], model.reconstruct(x))


def test_with_skips_sampling_decodes_the_code_with_zero_skip_maps() -> None:
    model = _model(skip=True).eval()
    x = torch.rand(5, *SHAPE)
    z, (h1, h2) = model.encoder(x)
    zeros = (torch.zeros_like(h1), torch.zeros_like(h2))
    torch.testing.assert_close(model.decoder(z), model.decoder(z, zeros))
    assert not torch.allclose(model.decoder(z), model.decoder(z, (h1, h2)))  # reconstructions use them
    prior = model.prior(6, generator_rng=_rng())
    torch.testing.assert_close(model.sample(6, generator_rng=_rng()), model.decoder(prior, None))


def test_reconstruction_losses() -> None:
    x = torch.tensor([0.0, 0.25, 1.0]).view(1, 1, 1, 3)
    assert float(reconstruction_loss(x, x, kind="mse")) == 0.0
    half = torch.full_like(x, 0.5)
    assert float(reconstruction_loss(half, x, kind="mse")) == pytest.approx((0.25 + 0.0625 + 0.25) / 3)
    assert float(reconstruction_loss(half, x, kind="bce")) == pytest.approx(0.6931472, abs=1e-5)
    with pytest.raises(ValueError, match="use 'mse' or 'bce'"):
        reconstruction_loss(x, x, kind="l1")
    with pytest.raises(ValueError, match="differs from input"):
        reconstruction_loss(x, x.view(1, 1, 3, 1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_shape": (1, 10, 10)}, "divisible by 4"),
        ({"sigma": -0.1}, "sigma must be a finite std >= 0"),
        ({"sigma": float("nan")}, "sigma"),
        ({"noise": "output"}, "unknown noise 'output'; use one of input, latent, both"),
        ({"recon_loss": "l1"}, "unknown recon_loss 'l1'"),
        ({"adv_weight": -1.0}, "adv_weight must be a finite number >= 0"),
        ({"adv_weight": 0.0, "recon_weight": 0.0}, "nothing would train"),
        ({"activation": "swish"}, "unknown activation 'swish'"),
        ({"init": "uniform"}, "unknown init 'uniform'"),
    ],
)
def test_invalid_gan_ae_config_raises(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GANAEConfig(**({"image_shape": SHAPE} | kwargs))


def test_d_loss_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="use 'bce' or 'hinge'"):
        _model().d_loss(torch.rand(2, *SHAPE), kind="ls")


def test_denoising_autoencoder_training_lowers_reconstruction_error() -> None:
    from genstudy.data import load_dataset

    ds = load_dataset("toy")
    torch.manual_seed(0)
    model = GANAE(GANAEConfig(ds.image_shape, latent_dim=8, width=8, sigma=0.1, adv_weight=0.0))
    opt = torch.optim.Adam(model.autoencoder_parameters(), 2e-3)
    rng = torch.Generator().manual_seed(0)

    def val_mse() -> float:
        return float(reconstruction_loss(model.reconstruct(ds.val_x), ds.val_x))

    before = val_mse()
    for _ in range(150):
        xb = ds.train_x[torch.randint(0, len(ds.train_x), (64,), generator=rng)]
        loss = model.ae_loss(xb, generator_rng=rng).total  # || D(E(x + N(0, sigma^2))) - x ||^2
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = val_mse()
    assert model.training  # reconstruct() restored the mode
    assert after < 0.35 * before, (before, after)


@pytest.mark.parametrize("image_discriminator", [False, True])
@pytest.mark.parametrize("kind", ["bce", "hinge"])
def test_held_out_adversarial_losses_from_given_codes_are_d_loss_and_ae_loss(image_discriminator: bool, kind: str) -> None:
    # the per-epoch validation reuses the codes of its reconstruction pass; the curves must not move
    model = _model(sigma=0.3, noise="both", image_discriminator=image_discriminator).eval()
    x = torch.rand(6, *SHAPE)
    rng = _rng()
    expected_d = model.d_loss(x, kind=kind, generator_rng=rng)
    expected_g = model.ae_loss(x, kind=kind, generator_rng=rng).adv
    with torch.no_grad():
        _, z = model(x)
    rng = _rng()
    loss_d = model.d_loss(x, kind=kind, generator_rng=rng, codes=z)
    loss_g = model.adversarial_g(z, kind=kind, generator_rng=rng)
    torch.testing.assert_close(loss_d, expected_d)
    torch.testing.assert_close(loss_g, expected_g)
    assert float(loss_d) != float(loss_g)
