"""iwae_log_likelihood on a linear-Gaussian model whose log p(x) is known in closed form.

    z ~ N(0, I_d),  x | z ~ N(W z + b, s^2 I_D)  =>  p(x) = N(x; b, W W^T + s^2 I_D)
    exact posterior: q*(z | x) = N(A W^T (x - b) / s^2, A),  A = (I_d + W^T W / s^2)^-1
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from genstudy.metrics import iwae_log_likelihood

D_LATENT, D_DATA, NOISE_STD, N_IMAGES = 2, 6, 0.5, 40


class LinearGaussian:
    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(D_DATA, D_LATENT, generator=g, dtype=torch.float64)
        self.b = torch.randn(D_DATA, generator=g, dtype=torch.float64)
        eye = torch.eye(D_LATENT, dtype=torch.float64)
        self.post_cov = torch.linalg.inv(eye + self.w.T @ self.w / NOISE_STD**2)
        marginal_cov = self.w @ self.w.T + NOISE_STD**2 * torch.eye(D_DATA, dtype=torch.float64)
        self.marginal = MultivariateNormal(self.b, marginal_cov)
        self.x = self._sample(g)  # (N, D) data from the model itself

    def _sample(self, g: torch.Generator) -> torch.Tensor:
        z = torch.randn(N_IMAGES, D_LATENT, generator=g, dtype=torch.float64)
        return z @ self.w.T + self.b + NOISE_STD * torch.randn(N_IMAGES, D_DATA, generator=g, dtype=torch.float64)

    def true_log_px(self, x: torch.Tensor) -> torch.Tensor:
        return self.marginal.log_prob(x)  # (N,)

    def log_weights_fn(self, *, shift: float = 0.0, inflate: float = 1.0, seed: int = 0, calls: list | None = None):
        """log p(x, z) - log q(z|x) for q = N(post_mean + shift * L 1, inflate * post_cov), where
        L L^T = post_cov (so ``shift`` is in posterior standard deviations).

        Draws one (B, d) block per sample, so the random stream does not depend on chunking."""
        g = torch.Generator().manual_seed(seed)
        post_chol = torch.linalg.cholesky(self.post_cov)
        offset = shift * post_chol.sum(dim=1)  # L @ ones, (d,)
        chol = math.sqrt(inflate) * post_chol
        eye = torch.eye(D_LATENT, dtype=torch.float64)
        prior = MultivariateNormal(torch.zeros(D_LATENT, dtype=torch.float64), eye)

        def fn(x: torch.Tensor, n: int) -> torch.Tensor:
            if calls is not None:
                calls.append((len(x), n))
            q_mean = (x - self.b) @ self.w @ self.post_cov.T / NOISE_STD**2 + offset  # (B, d)
            q = MultivariateNormal(q_mean, scale_tril=chol)
            eps = [torch.randn(len(x), D_LATENT, generator=g, dtype=torch.float64) for _ in range(n)]
            z = q_mean + torch.stack(eps) @ chol.T  # (n, B, d)
            log_lik = -0.5 * ((x - (z @ self.w.T + self.b)) ** 2).sum(-1) / NOISE_STD**2
            log_lik = log_lik - D_DATA * math.log(NOISE_STD * math.sqrt(2 * math.pi))
            return prior.log_prob(z) + log_lik - q.log_prob(z)  # (n, B)

        return fn

    def mean_kl_q_to_posterior(self, *, shift: float, inflate: float) -> float:
        """Mean over images of KL(q || exact posterior): the gap of the k=1 bound (ELBO)."""
        # in whitened coordinates q = N(shift * 1, inflate * I) and the posterior is N(0, I)
        return 0.5 * D_LATENT * (inflate - 1.0 - math.log(inflate) + shift**2)  # the same for every image


@pytest.fixture(scope="module")
def model() -> LinearGaussian:
    return LinearGaussian()


@pytest.mark.parametrize("k", [1, 5, 100])
def test_exact_posterior_gives_exact_log_likelihood_for_any_k(model: LinearGaussian, k: int) -> None:
    truth = model.true_log_px(model.x)
    mean, se = iwae_log_likelihood(model.log_weights_fn(), model.x, k=k, batch_size=16)
    # tolerance 1e-4 nats: with q = posterior every log-weight equals log p(x) exactly
    assert mean == pytest.approx(float(truth.mean()), abs=1e-4)
    assert se == pytest.approx(float(truth.std() / math.sqrt(N_IMAGES)), abs=1e-4)


def test_wrong_posterior_k1_is_the_elbo_and_large_k_approaches_truth(model: LinearGaussian) -> None:
    shift, inflate = 0.7, 2.0
    truth = float(model.true_log_px(model.x).mean())
    kl = model.mean_kl_q_to_posterior(shift=shift, inflate=inflate)
    assert kl > 0.5  # the wrong q is wrong enough for the test to mean something

    elbo, _ = iwae_log_likelihood(model.log_weights_fn(shift=shift, inflate=inflate), model.x, k=1)
    assert elbo < truth  # a lower bound
    # E[k=1 estimate] = log p(x) - KL(q || posterior). Averaged over 50 draws per image, its
    # standard deviation is ~0.03 nats, so 0.12 nats is a 4-sigma tolerance.
    repeated = model.x.repeat(50, 1)
    elbo_many, _ = iwae_log_likelihood(model.log_weights_fn(shift=shift, inflate=inflate), repeated, k=1)
    assert elbo_many == pytest.approx(truth - kl, abs=0.12)

    tight, _ = iwae_log_likelihood(model.log_weights_fn(shift=shift, inflate=inflate, seed=1), model.x,
                                   k=2000, k_chunk=500)
    # tolerance 0.02 nats (the ELBO gap is 0.8): bias ~ Var(w) / (2 k) and noise both ~0.003 here
    assert tight == pytest.approx(truth, abs=0.02)
    assert elbo < tight


def test_chunking_over_k_equals_one_logsumexp(model: LinearGaussian) -> None:
    fn_args = dict(shift=0.5, inflate=1.5, seed=3)
    whole, whole_se = iwae_log_likelihood(model.log_weights_fn(**fn_args), model.x, k=64, batch_size=16)
    for chunk in (1, 7, 64, 1000):
        part, part_se = iwae_log_likelihood(model.log_weights_fn(**fn_args), model.x, k=64,
                                            batch_size=16, k_chunk=chunk)
        # tolerance 1e-5: the same samples, merged with logaddexp instead of one logsumexp
        assert part == pytest.approx(whole, abs=1e-5)
        assert part_se == pytest.approx(whole_se, abs=1e-5)


def test_memory_bound_calls_respect_batch_size_and_chunk(model: LinearGaussian) -> None:
    calls: list[tuple[int, int]] = []
    iwae_log_likelihood(model.log_weights_fn(calls=calls), model.x, k=10, batch_size=16, k_chunk=4)
    assert max(b for b, _ in calls) <= 16 and max(n for _, n in calls) <= 4
    assert sum(b * n for b, n in calls) == N_IMAGES * 10  # every image got exactly k samples


def test_single_image_has_nan_standard_error(model: LinearGaussian) -> None:
    mean, se = iwae_log_likelihood(model.log_weights_fn(), model.x[:1], k=3)
    assert mean == pytest.approx(float(model.true_log_px(model.x[:1])), abs=1e-4)
    assert math.isnan(se)


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": 2.5}, {"k": 4, "batch_size": 0}, {"k": 4, "k_chunk": -1}])
def test_bad_arguments_are_rejected(model: LinearGaussian, kwargs) -> None:
    with pytest.raises(ValueError, match="must be a positive int"):
        iwae_log_likelihood(model.log_weights_fn(), model.x, **kwargs)


def test_wrong_log_weight_shape_is_reported(model: LinearGaussian) -> None:
    with pytest.raises(ValueError, match=r"expected \(3, 40\)"):
        iwae_log_likelihood(lambda x, n: torch.zeros(len(x), n), model.x, k=3, batch_size=64)


def test_nan_log_weights_are_reported(model: LinearGaussian) -> None:
    with pytest.raises(ValueError, match="NaN"):
        iwae_log_likelihood(lambda x, n: torch.full((n, len(x)), float("nan")), model.x, k=2)
