"""GAN-autoencoder: an adversarial autoencoder (Makhzani et al. 2015) on conv encoder/decoder.

The encoder maps x to a deterministic code z; a latent discriminator learns to tell codes from
samples of the prior N(0, I) and the encoder learns to fool it, so the decoder doubles as a
generator: decode(z ~ N(0, I)). An optional second discriminator (the DCGAN one of ``gan.py``)
compares real images with decoded prior samples. With ``adv_weight=0`` no discriminator is used
and this is the plain (``sigma=0``) or denoising (``sigma>0``, ``noise="input"``) autoencoder of
the seeds (Vincent et al. 2008).

Where the Gaussian noise of std ``sigma`` goes (``noise``), only in training mode (``.train()``):

- ``"input"``: the encoder sees x + N(0, sigma^2 I); the reconstruction target stays the clean x.
- ``"latent"``: the code is z = E(x) + N(0, sigma^2 I), a Gaussian posterior (Makhzani Sec. 2.1).
- ``"both"``: both of the above.

In eval mode (``reconstruct``, evaluation metrics) no noise is added.

Skip connections (``skip=True``): U-Net-like, the encoder's H/2 and H/4 feature maps are
concatenated to the decoder's maps of the same size. Decoding from a code alone (sampling from the
prior, the image discriminator's fakes) has no encoder features, so the skip inputs are zeros: the
decoder then generates through the bottleneck only. Reconstructions can bypass the bottleneck, so
skips tend to lower reconstruction error and make prior samples worse.

Works for any (C, H, W) with H and W divisible by 4 (28x28 MNIST, 8x8 digits, 32x32 CIFAR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from genstudy.models.checkpoint import checkpointable
from genstudy.models.gan import Discriminator, GANConfig
from genstudy.models.layers import check_image_config, evaluating, init_model, make_activation, randn
from genstudy.models.losses import LOSS_KINDS, RECON_KINDS, d_loss, g_loss, reconstruction_loss

__all__ = ["GANAEConfig", "Encoder", "Decoder", "LatentDiscriminator", "GANAE", "AELoss", "NOISE_PLACES"]

NOISE_PLACES = ("input", "latent", "both")
Skips = tuple[torch.Tensor, torch.Tensor]  # (B, w, H/2, W/2), (B, 2w, H/4, W/4)


@checkpointable
@dataclass(frozen=True)
class GANAEConfig:
    image_shape: tuple[int, int, int]  # (C, H, W), H and W divisible by 4
    latent_dim: int = 32  # code size; prior N(0, I)
    width: int = 32  # channels next to the image (2 * width at H/4); latent D hidden = 8 * width
    activation: str = "leaky_relu"  # relu | leaky_relu (slope 0.2) | gelu
    init: str = "normal_002"  # kaiming_normal | xavier_normal | normal_002
    sigma: float = 0.1  # std of the Gaussian noise (0 = none); see the module docstring
    noise: str = "input"  # input | latent | both: where sigma's noise is added, in training only
    skip: bool = False  # U-Net-like encoder -> decoder skip connections
    image_discriminator: bool = False  # a second (DCGAN) discriminator: real images vs decoded prior
    adv_weight: float = 1.0  # weight of the adversarial terms; 0 = plain / denoising autoencoder
    recon_weight: float = 1.0  # weight of the reconstruction term
    recon_loss: str = "mse"  # mse | bce, a mean over pixels (genstudy.models.losses)
    batch_norm: bool = True  # BatchNorm in the hidden conv layers

    def __post_init__(self) -> None:
        check_image_config("GANAEConfig", self, conv=True)
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"GANAEConfig: sigma must be a finite std >= 0 (0 = no noise), got {self.sigma}")
        if self.noise not in NOISE_PLACES:
            raise ValueError(f"GANAEConfig: unknown noise {self.noise!r}; use one of {', '.join(NOISE_PLACES)}")
        if self.recon_loss not in RECON_KINDS:
            raise ValueError(f"GANAEConfig: unknown recon_loss {self.recon_loss!r}; use 'mse' or 'bce'")
        for name in ("adv_weight", "recon_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"GANAEConfig: {name} must be a finite number >= 0, got {value}")
        if self.adv_weight == 0 and self.recon_weight == 0:
            raise ValueError("GANAEConfig: adv_weight and recon_weight are both 0, nothing would train; raise one")

    @property
    def image_gan_config(self) -> GANConfig:
        """Config of the optional image discriminator (the unconditional DCGAN one)."""
        return GANConfig(
            self.image_shape,
            latent_dim=self.latent_dim,
            width=self.width,
            activation=self.activation,
            init=self.init,
            arch="dcgan",
            batch_norm=self.batch_norm,
        )


class Encoder(nn.Module):
    """images (B, C, H, W) -> code z (B, L) and the skip feature maps."""

    def __init__(self, config: GANAEConfig) -> None:
        super().__init__()
        c, h, w = config.image_shape
        ch, act = config.width, config.activation
        self.down1 = nn.Sequential(nn.Conv2d(c, ch, 4, 2, 1), make_activation(act))  # (B, ch, H/2, W/2)
        self.down2 = nn.Sequential(
            nn.Conv2d(ch, 2 * ch, 4, 2, 1),  # (B, 2ch, H/4, W/4)
            nn.BatchNorm2d(2 * ch) if config.batch_norm else nn.Identity(),
            make_activation(act),
        )
        self.to_code = nn.Sequential(nn.Flatten(), nn.Linear(2 * ch * (h // 4) * (w // 4), config.latent_dim))  # (B, L)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Skips]:
        h1 = self.down1(x)  # (B, ch, H/2, W/2)
        h2 = self.down2(h1)  # (B, 2ch, H/4, W/4)
        return self.to_code(h2), (h1, h2)


class Decoder(nn.Module):
    """code z (B, L) [+ skips] -> images (B, C, H, W) in [0, 1]; the generator of the GAN-AE."""

    def __init__(self, config: GANAEConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        ch, act = config.width, config.activation
        k = 2 if config.skip else 1  # skip maps double the input channels of each up-conv
        self._grids = ((ch, h // 2, w // 2), (2 * ch, h // 4, w // 4))  # shapes of the skip maps
        self.from_code = nn.Sequential(
            nn.Linear(config.latent_dim, math.prod(self._grids[1])),  # (B, 2ch * H/4 * W/4)
            make_activation(act),
            nn.Unflatten(1, self._grids[1]),  # (B, 2ch, H/4, W/4)
        )
        self.up1 = nn.Sequential(
            nn.ConvTranspose2d(k * 2 * ch, ch, 4, 2, 1),  # (B, ch, H/2, W/2)
            nn.BatchNorm2d(ch) if config.batch_norm else nn.Identity(),
            make_activation(act),
        )
        self.up2 = nn.Sequential(nn.ConvTranspose2d(k * ch, c, 4, 2, 1), nn.Sigmoid())  # (B, C, H, W) in [0, 1]

    def forward(self, z: torch.Tensor, skips: Skips | None = None) -> torch.Tensor:
        """With ``skip=True`` and no ``skips`` (generation from a code alone) the skips are zeros."""
        h = self.from_code(z)  # (B, 2ch, H/4, W/4)
        if self.config.skip:
            h1, h2 = skips if skips is not None else (h.new_zeros(z.shape[0], *g) for g in self._grids)
            h = torch.cat([h, h2], 1)  # (B, 4ch, H/4, W/4)
        h = self.up1(h)  # (B, ch, H/2, W/2)
        if self.config.skip:
            h = torch.cat([h, h1], 1)  # (B, 2ch, H/2, W/2)
        return self.up2(h)


class LatentDiscriminator(nn.Module):
    """codes (B, L) -> logits (B,): positive for samples of the prior N(0, I)."""

    def __init__(self, config: GANAEConfig) -> None:
        super().__init__()
        hidden, act = 8 * config.width, config.activation
        self.net = nn.Sequential(
            nn.Linear(config.latent_dim, hidden),  # (B, 8w)
            make_activation(act),
            nn.Linear(hidden, hidden),  # (B, 8w)
            make_activation(act),
            nn.Linear(hidden, 1),  # (B, 1)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(1)


class AELoss(NamedTuple):
    total: torch.Tensor  # recon_weight * recon + adv_weight * adv: what the encoder/decoder step minimises
    recon: torch.Tensor  # reconstruction_loss(x_rec, clean x)
    adv: torch.Tensor  # g_loss of the latent (+ image) discriminator; 0 when adv_weight == 0


class GANAE(nn.Module):
    """Encoder, decoder, latent discriminator and (optionally) an image discriminator.

    One training iteration, with an optimizer over ``autoencoder_parameters()`` and one over
    ``discriminator_parameters()``::

        loss = model.ae_loss(x, kind="bce")      # encoder + decoder: reconstruct and fool the D's
        loss.total.backward(); opt_ae.step()
        model.d_loss(x, kind="bce", real_label=0.9).backward(); opt_d.step()  # d_steps times

    (zero each optimizer's gradients before its backward: ``ae_loss`` also reaches the D's).
    """

    def __init__(self, config: GANAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.latent_discriminator = LatentDiscriminator(config)
        init_model(self, config.init, config.activation)
        self.image_discriminator = Discriminator(config.image_gan_config) if config.image_discriminator else None

    def autoencoder_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        image = self.image_discriminator.parameters() if self.image_discriminator is not None else []
        return [*self.latent_discriminator.parameters(), *image]

    def _noise(self, t: torch.Tensor, where: str, rng: torch.Generator | None) -> torch.Tensor:
        cfg = self.config
        if not self.training or cfg.sigma == 0 or cfg.noise not in (where, "both"):
            return t
        return t + cfg.sigma * randn(tuple(t.shape), t.device, rng)

    def encode(self, x: torch.Tensor, *, generator_rng: torch.Generator | None = None) -> tuple[torch.Tensor, Skips]:
        """Code (B, L) and skip maps; adds the configured noise in training mode."""
        z, skips = self.encoder(self._noise(x, "input", generator_rng))
        return self._noise(z, "latent", generator_rng), skips

    def forward(
        self, x: torch.Tensor, *, generator_rng: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction (B, C, H, W) in [0, 1], code z (B, L))."""
        z, skips = self.encode(x, generator_rng=generator_rng)
        return self.decoder(z, skips), z

    def prior(self, n: int, *, generator_rng: torch.Generator | None = None) -> torch.Tensor:
        """n codes from the prior N(0, I): (n, L)."""
        return randn((n, self.config.latent_dim), next(self.parameters()).device, generator_rng)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of x without noise and gradients, in eval mode (the mode is restored)."""
        with evaluating(self):
            return self(x)[0]

    @torch.no_grad()
    def sample(self, n: int, *, generator_rng: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1]: decode(z ~ N(0, I)) in eval mode; zero skips when ``skip=True``."""
        z = self.prior(n, generator_rng=generator_rng)  # (n, L)
        with evaluating(self):
            return self.decoder(z)

    def ae_loss(
        self, x: torch.Tensor, *, kind: str = "bce", generator_rng: torch.Generator | None = None
    ) -> AELoss:
        """Encoder/decoder objective: reconstruct the clean x and make codes (and decoded prior
        samples, with the image discriminator) look real to the discriminators."""
        cfg = self.config
        x_rec, z = self(x, generator_rng=generator_rng)
        recon = reconstruction_loss(x_rec, x, kind=cfg.recon_loss)
        adv = self.adversarial_g(z, kind=kind, generator_rng=generator_rng) if cfg.adv_weight > 0 else recon.new_zeros(())
        return AELoss(cfg.recon_weight * recon + cfg.adv_weight * adv, recon, adv)

    def adversarial_g(
        self, z: torch.Tensor, *, kind: str = "bce", generator_rng: torch.Generator | None = None
    ) -> torch.Tensor:
        """The encoder/decoder's adversarial term for codes z: make them (and as many decoded prior
        samples, with the image discriminator) look real to the discriminators."""
        adv = g_loss(self.latent_discriminator(z), kind=kind)  # Makhzani et al. 2015, regularization phase
        if self.image_discriminator is not None:
            fake = self.decoder(self.prior(z.shape[0], generator_rng=generator_rng))
            adv = adv + g_loss(self.image_discriminator(fake), kind=kind)
        return adv

    def d_loss(
        self,
        x: torch.Tensor,
        *,
        kind: str = "bce",
        real_label: float = 1.0,
        generator_rng: torch.Generator | None = None,
        codes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Discriminators' objective: prior codes are real, encoded codes fake (and real images vs
        decoded prior samples for the image discriminator). No gradient reaches encoder/decoder.

        ``codes``: the encoder's codes of x when the caller already has them (held-out losses in
        eval mode, from the reconstruction pass), instead of encoding x again."""
        if kind not in LOSS_KINDS:
            raise ValueError(f"unknown adversarial loss kind {kind!r}; use 'bce' or 'hinge'")
        if codes is None:
            with torch.no_grad():
                codes, _ = self.encode(x, generator_rng=generator_rng)  # (B, L)
        z_fake = codes.detach()
        z_real = self.prior(x.shape[0], generator_rng=generator_rng)  # (B, L)
        ld = self.latent_discriminator
        loss = d_loss(ld(z_real), ld(z_fake), kind=kind, real_label=real_label)
        if self.image_discriminator is not None:
            with torch.no_grad():
                fake = self.decoder(self.prior(x.shape[0], generator_rng=generator_rng))
            image_d = self.image_discriminator
            loss = loss + d_loss(image_d(x), image_d(fake), kind=kind, real_label=real_label)
        return loss
