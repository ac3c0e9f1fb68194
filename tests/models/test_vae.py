"""The VAE: shapes for every supported image size, a proper bound, and it learns."""

from __future__ import annotations

import math

import pytest
import torch

from genstudy.models import VAE, VAEConfig


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_shapes_and_sample_range(shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(shape, latent_dim=5, width=8))
    x = torch.rand(7, *shape)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (7, 5)
    assert model.reconstruct(x).shape == x.shape
    samples = model.sample(11)
    assert samples.shape == (11, *shape) and samples.min() >= 0 and samples.max() <= 1
    assert model.log_importance_weights(x, k=4).shape == (4, 7)


def test_image_size_not_divisible_by_four_is_refused() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        VAEConfig((1, 10, 10))


def test_iwae_bound_tightens_with_k_and_exceeds_elbo() -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig((1, 8, 8), latent_dim=4, width=8)).eval()
    x = torch.rand(64, 1, 8, 8)
    with torch.no_grad():
        rec, kl = model.elbo_terms(x)
        elbo = float((rec - kl).mean())
        lw = model.log_importance_weights(x, k=2000)
        iwae_1 = float(lw.mean())  # k = 1 bound averaged over many samples: the ELBO
        iwae_k = float((torch.logsumexp(lw, 0) - math.log(2000)).mean())
    assert abs(iwae_1 - elbo) < 0.05 * abs(elbo) + 1.0
    assert iwae_k > iwae_1  # Burda et al. 2016: the bound is monotone in k


def test_training_lowers_the_negative_elbo() -> None:
    from genstudy.data import load_dataset
    from genstudy.families.vae import train_vae_epoch, vae_neg_elbo

    ds = load_dataset("toy")
    torch.manual_seed(0)
    model = VAE(VAEConfig(ds.image_shape, latent_dim=4, width=8))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    before = vae_neg_elbo(model, ds.val_x)
    for _ in range(5):
        train_vae_epoch(model, opt, ds.train_x, batch_size=64, beta=1.0, generator=g)
    after = vae_neg_elbo(model, ds.val_x)
    assert after < before - 20, (before, after)


def test_divergence_is_detected() -> None:
    from genstudy.data import load_dataset
    from genstudy.families._train import DivergedError
    from genstudy.families.vae import train_vae_epoch

    ds = load_dataset("toy")
    model = VAE(VAEConfig(ds.image_shape, latent_dim=4, width=8))
    with torch.no_grad():
        model.to_stats.weight.fill_(float("nan"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with pytest.raises(DivergedError, match="non-finite"):
        train_vae_epoch(model, opt, ds.train_x, batch_size=64, beta=1.0, generator=torch.Generator().manual_seed(0))
