"""The domain classifier whose feature space FID is measured in.

For MNIST-like data the FID authors recommend a classifier trained on the dataset itself rather
than Inception-v3 (whose ImageNet features say little about 28x28 digits). One small CNN is trained
per dataset with a fixed seed, cached on disk, and identified by the SHA-256 of its weights, which
is stored beside every FID so that two numbers are only compared when they share a feature space.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from genstudy.data._dataset import Dataset

__all__ = [
    "ARCH_VERSION",
    "FEATURE_DIM",
    "ClassifierInfo",
    "DomainClassifier",
    "load_or_train_classifier",
    "tensor_fingerprint",
]

_logger = logging.getLogger(__name__)

ARCH_VERSION = 1  # bump on any change to the architecture or training recipe: invalidates caches
FEATURE_DIM = 128


class DomainClassifier(nn.Module):
    """Two strided conv blocks, adaptive pooling to 4x4, a 128-d feature layer and a linear head.

    Strided convolutions instead of max pooling: training on 3500 MNIST digits takes a few
    seconds on two CPU cores. Works for any image of at least 2x2 pixels: (1, 8, 8), (1, 28, 28),
    (3, 32, 32), ...
    """

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        channels, height, width = image_shape
        if min(height, width) < 2 or channels < 1 or n_classes < 2:
            raise ValueError(
                f"DomainClassifier needs images of at least (1, 2, 2) and n_classes >= 2, got "
                f"image_shape={image_shape}, n_classes={n_classes}"
            )
        self.image_shape = (int(channels), int(height), int(width))
        self.n_classes = int(n_classes)
        self.body = nn.Sequential(
            # (B, C, H, W) -> (B, 32, H/2, W/2)
            nn.Conv2d(channels, 32, kernel_size=5, stride=2, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            # -> (B, 64, H/4, W/4)
            nn.Conv2d(32, 64, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            # -> (B, 64, 4, 4) whatever the input size
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            # -> (B, 128): the feature layer FID reads
            nn.Linear(64 * 4 * 4, FEATURE_DIM),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (N, 128) of images ``x`` (N, C, H, W) in [0, 1]."""
        return self.body((x - 0.5) / 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, n_classes)."""
        return self.head(self.features(x))


@dataclass(frozen=True)
class ClassifierInfo:
    """A trained classifier (in eval mode) and what identifies it."""

    model: DomainClassifier
    test_accuracy: float
    weights_sha256: str
    path: Path
    trained: bool  # False when it was loaded from the cache


def tensor_fingerprint(*tensors: torch.Tensor) -> str:
    """SHA-256 over the dtype, shape and bytes of ``tensors`` (on any device)."""
    digest = hashlib.sha256()
    for tensor in tensors:
        cpu = tensor.detach().to("cpu").contiguous()
        digest.update(f"{cpu.dtype}{tuple(cpu.shape)}".encode())
        digest.update(cpu.reshape(-1).view(torch.uint8).numpy().tobytes() if cpu.numel() else b"")
    return digest.hexdigest()


def _weights_sha256(model: nn.Module) -> str:
    state = model.state_dict()
    return tensor_fingerprint(*(state[key] for key in sorted(state)))


@torch.inference_mode()
def _accuracy(model: DomainClassifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``model`` on (x, y), NaN for an empty split."""
    if len(x) == 0:
        return float("nan")
    correct = 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start : start + batch_size])
        correct += int((logits.argmax(dim=1) == y[start : start + batch_size]).sum())
    return correct / len(x)


def _train(
    dataset: Dataset, *, device: torch.device, seed: int, epochs: int, batch_size: int, lr: float
) -> DomainClassifier:
    """Adam with a one-cycle learning rate on the train split; mini-batches are indexed from the
    whole tensor (no DataLoader)."""
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        model = DomainClassifier(dataset.image_shape, dataset.n_classes)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(dataset.train_x) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    x, y = dataset.train_x.to(device), dataset.train_y.to(device)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator).to(device)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def _cache_path(dataset: Dataset, cache_dir: Path, *, recipe: str) -> Path:
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name)
    fingerprint = tensor_fingerprint(dataset.train_x, dataset.train_y)[:16]
    return cache_dir / f"classifier-{safe_name}-v{ARCH_VERSION}-{fingerprint}-{recipe}.pt"


def _load(path: Path, dataset: Dataset, device: torch.device) -> tuple[DomainClassifier, float]:
    payload = torch.load(path, map_location=device, weights_only=True)
    model = DomainClassifier(dataset.image_shape, dataset.n_classes)
    model.load_state_dict(payload["state_dict"])  # strict: a mismatch means a stale/corrupt file
    return model.to(device).eval(), float(payload["test_accuracy"])


def load_or_train_classifier(
    dataset: Dataset,
    *,
    cache_dir: str | os.PathLike[str],
    device: torch.device | str = "cpu",
    seed: int = 0,
    epochs: int = 6,
    batch_size: int = 128,
    lr: float = 5e-3,
) -> ClassifierInfo:
    """The dataset's domain classifier: from ``cache_dir`` if cached there, else trained and saved.

    The cache file is keyed by dataset name, ``ARCH_VERSION``, a fingerprint of the train split
    and the recipe (``seed``, ``epochs``, ``batch_size``, ``lr``). Training on the CPU is
    deterministic for a given seed and torch thread count (the weight hash can differ between
    machines with different core counts, which is why it is stored with every FID). An unreadable
    cache file is logged as a warning, retrained and overwritten. The caller's RNG is untouched.

    Raises:
        ValueError: on a non-positive ``epochs``, ``batch_size`` or ``lr``, or an empty train split.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if len(dataset.train_x) == 0:
        raise ValueError(f"dataset {dataset.name!r} has an empty train split; cannot train a classifier")
    device = torch.device(device)
    cache_dir = Path(cache_dir)
    path = _cache_path(dataset, cache_dir, recipe=f"s{seed}-e{epochs}-b{batch_size}-lr{lr:g}")
    if path.exists():
        try:
            model, accuracy = _load(path, dataset, device)
        except Exception as e:  # noqa: BLE001 - any unreadable file is retrained, not fatal
            _logger.warning("classifier cache %s is unreadable (%s: %s); retraining",
                            path, type(e).__name__, e)
        else:
            sha = _weights_sha256(model)
            _logger.info("loaded %s classifier %s (test accuracy %.4f)", dataset.name, sha[:12], accuracy)
            return ClassifierInfo(model, accuracy, sha, path, trained=False)

    started = time.perf_counter()
    model = _train(dataset, device=device, seed=seed, epochs=epochs, batch_size=batch_size, lr=lr)
    accuracy = _accuracy(model, dataset.test_x.to(device), dataset.test_y.to(device))
    sha = _weights_sha256(model)
    _logger.info(
        "trained %s classifier %s in %.1f s: test accuracy %.4f",
        dataset.name, sha[:12], time.perf_counter() - started, accuracy,
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "test_accuracy": accuracy,
        "arch_version": ARCH_VERSION,
    }
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: concurrent workers never read a half-written file
    return ClassifierInfo(model, accuracy, sha, path, trained=True)
