"""FID: Frechet distance between generated and test images in a domain classifier's feature space.

The test split's feature statistics, and the real-vs-real floor (train split vs test split), are
computed once per (dataset, classifier) and cached on disk as one ``.npz`` file. FID values are only
comparable when computed with the same classifier: store ``CLASSIFIER_SHA256`` beside ``FID``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from genstudy.data._dataset import Dataset
from genstudy.metrics._classifier import ClassifierInfo, tensor_fingerprint
from genstudy.metrics._frechet import frechet_distance, gaussian_stats

__all__ = ["CLASSIFIER_SHA256", "FID", "FID_FLOOR", "FidEvaluator"]

_logger = logging.getLogger(__name__)

FID = "fid"
FID_FLOOR = "fid_floor"  # real_floor(): train split vs test split
CLASSIFIER_SHA256 = "classifier_sha256"  # ClassifierInfo.weights_sha256

_STATS_FORMAT = 1  # bump when the npz layout changes


class FidEvaluator:
    """Scores image sets against fixed reference statistics.

    Build it with :meth:`from_dataset`; the constructor takes any feature function, so another
    extractor (e.g. Inception-v3 when its weights are present) can reuse the same machinery.

    Args:
        feature_fn: maps images (B, C, H, W) on ``device`` to features (B, D).
        image_shape: (C, H, W) that every scored image must have.
        mu, sigma: reference (test split) statistics, float64.
        real_floor: FID of the train split against the test split.
        device: where ``feature_fn`` runs; images are moved there batch by batch.
        batch_size: images per forward pass; does not change the value.
    """

    def __init__(
        self,
        feature_fn: Callable[[torch.Tensor], torch.Tensor],
        *,
        image_shape: tuple[int, int, int],
        mu: np.ndarray,
        sigma: np.ndarray,
        real_floor: float,
        device: torch.device | str = "cpu",
        batch_size: int = 500,
        feature_id: str = "",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.feature_fn = feature_fn
        self.image_shape = tuple(image_shape)
        self.mu = np.asarray(mu, dtype=np.float64)
        self.sigma = np.asarray(sigma, dtype=np.float64)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.feature_id = feature_id  # e.g. the classifier's weight hash
        self._real_floor = float(real_floor)

    @classmethod
    def from_dataset(
        cls,
        dataset: Dataset,
        classifier_info: ClassifierInfo,
        *,
        cache_dir: str | os.PathLike[str],
        batch_size: int = 500,
    ) -> FidEvaluator:
        """An evaluator against ``dataset``'s test split in ``classifier_info``'s feature space.

        Statistics come from ``cache_dir`` when a file for this classifier hash, dataset name and
        split fingerprint is there; otherwise they are computed and written (one file). Hashing
        the splits reads them once per call (about 0.1 s for 5000 MNIST digits).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        model = classifier_info.model.eval()
        device = next(model.parameters()).device
        sha = classifier_info.weights_sha256
        feature_fn = model.features
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name)
        splits = tensor_fingerprint(dataset.train_x, dataset.test_x)[:16]
        path = Path(cache_dir) / f"fid-stats-{safe_name}-{sha[:16]}-{splits}.npz"

        stats = _load_stats(path, sha)
        if stats is None:
            shape = dataset.image_shape
            mu, sigma = gaussian_stats(_extract(feature_fn, dataset.test_x, shape, device, batch_size))
            train_features = _extract(feature_fn, dataset.train_x, shape, device, batch_size)
            train_mu, train_sigma = gaussian_stats(train_features)
            floor = frechet_distance(train_mu, train_sigma, mu, sigma)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, format=_STATS_FORMAT, classifier_sha256=sha, mu=mu, sigma=sigma,
                     real_floor=floor, n_test=len(dataset.test_x), n_train=len(dataset.train_x))
            os.replace(tmp, path)  # atomic: concurrent workers never read a half-written file
            _logger.info("wrote FID statistics %s (real floor %.4f)", path, floor)
        else:
            mu, sigma, floor = stats
        return cls(feature_fn, image_shape=dataset.image_shape, mu=mu, sigma=sigma,
                   real_floor=floor, device=device, batch_size=batch_size, feature_id=sha)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Features (N, D) of ``images`` (N, C, H, W), float64 on the CPU, computed in batches."""
        return _extract(self.feature_fn, images, self.image_shape, self.device, self.batch_size)

    def fid(self, images: torch.Tensor) -> float:
        """FID of ``images`` (N, C, H, W) in [0, 1] against the test split; N >= 2.

        Raises:
            ValueError: on a wrong shape, N < 2, or non-finite images or features.
        """
        if len(images) < 2:
            raise ValueError(f"FID needs at least 2 images, got {len(images)}")
        if not bool(torch.isfinite(images).all()):
            raise ValueError("images contain NaN or inf; the generator has likely diverged")
        mu, sigma = gaussian_stats(self.features(images))
        return frechet_distance(mu, sigma, self.mu, self.sigma)

    def real_floor(self) -> float:
        """FID of the train split against the test split: what a perfect generator would score,
        up to the sample-size bias of the two splits' sizes."""
        return self._real_floor


def _load_stats(path: Path, sha: str) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The cached (mu, sigma, real_floor), or None when absent or unreadable (logged)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != _STATS_FORMAT or str(data["classifier_sha256"]) != sha:
                raise ValueError("format or classifier hash does not match")
            return data["mu"].copy(), data["sigma"].copy(), float(data["real_floor"])
    except Exception as e:  # noqa: BLE001 - any unreadable file is recomputed, not fatal
        _logger.warning("FID statistics %s are unreadable (%s: %s); recomputing", path, type(e).__name__, e)
        return None


def _extract(
    feature_fn: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    image_shape: tuple[int, ...],
    device: torch.device,
    batch_size: int,
) -> torch.Tensor:
    """``feature_fn`` over ``images`` in batches, under inference mode; (N, D) float64 on CPU."""
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"images must have shape (N, {', '.join(map(str, image_shape))}), got "
            f"{tuple(images.shape)}; generate images of the dataset's shape."
        )
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device, torch.float32)
            chunks.append(feature_fn(batch).to("cpu", torch.float64))
    return torch.cat(chunks) if chunks else torch.empty(0, 0, dtype=torch.float64)
