"""Optional FID in Inception-v3's 2048-d pool3 feature space, from a local weights file.

genstudy never downloads weights: pass the path of a torchvision ``inception_v3`` state dict (e.g.
``inception_v3_google-0cc3c7bd.pth`` from torchvision's model zoo, fetched by you). Images are
resized to 299x299 (bilinear), grayscale is repeated to 3 channels, and ImageNet mean/std
normalisation is applied. This is torchvision's Inception, not the TensorFlow graph of the FID
paper, so values are not comparable with published FIDs; they are comparable with each other when
the weights file is the same, which is why the statistics cache and ``feature_id`` are keyed by the
file's SHA-256 (store it beside ``FID_INCEPTION`` as ``CLASSIFIER_SHA256``).

The statistics are computed and cached by :meth:`FidEvaluator.from_dataset`, exactly as for the
domain classifier.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from genstudy.data._dataset import Dataset
from genstudy.errors import GenstudyError
from genstudy.metrics._classifier import ClassifierInfo
from genstudy.metrics._fid import FidEvaluator

__all__ = [
    "FID_INCEPTION",
    "INCEPTION_FEATURE_DIM",
    "InceptionFeatures",
    "InceptionWeightsError",
    "file_sha256",
    "inception_fid_evaluator",
    "load_inception_v3",
]

FID_INCEPTION = "fid_inception"
INCEPTION_FEATURE_DIM = 2048
INCEPTION_SIZE = 299

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_FIX = (
    "pass a state dict saved from torchvision.models.inception_v3(...).state_dict(), e.g. torchvision's "
    "ImageNet weights file inception_v3_google-0cc3c7bd.pth (genstudy never downloads weights)"
)


class InceptionWeightsError(GenstudyError, ValueError):
    """The Inception-v3 weights file is missing, unreadable or does not fit the architecture."""


class InceptionFeatures(nn.Module):
    """Inception-v3 with ``fc`` replaced by Identity: images (B, 1 or 3, H, W) in [0, 1] -> (B, 2048)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        net.fc = nn.Identity()
        self.net = net.eval()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Resize to 299x299 (bilinear), grayscale -> 3 channels, ImageNet normalisation."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"Inception-v3 needs images (B, 1 or 3, H, W), got shape {tuple(x.shape)}")
        x = x.to(self.mean.dtype)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if tuple(x.shape[2:]) != (INCEPTION_SIZE, INCEPTION_SIZE):
            # antialias only acts when shrinking, as torchvision's Resize does
            x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear",
                              align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pool3 activations (B, 2048); the network must be in eval mode (no aux head output)."""
        return self.net(self.preprocess(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_inception_v3(weights_path: str | os.PathLike[str], *, device: torch.device | str = "cpu") -> InceptionFeatures:
    """torchvision's ``inception_v3(aux_logits=True)`` with the state dict at ``weights_path``.

    A plain state dict is expected (a ``{"state_dict": ...}`` wrapper is unwrapped). Missing
    ``AuxLogits.*`` keys are tolerated (that head is unused); any other missing, unexpected or
    mis-shaped key is an error.

    Raises:
        InceptionWeightsError: the file is missing, not a ``torch.save``'d state dict, or does not
            fit the architecture; the message names the file and the fix.
    """
    from torchvision.models import inception_v3  # optional dependency, imported only when used

    path = Path(weights_path)
    if not path.is_file():
        raise InceptionWeightsError(f"Inception-v3 weights file {str(path)!r} does not exist; {_FIX}")
    device = torch.device(device)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise InceptionWeightsError(
            f"Inception-v3 weights file {str(path)!r} cannot be read as a state dict "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); {_FIX}"
        ) from e
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InceptionWeightsError(
            f"Inception-v3 weights file {str(path)!r} holds a {type(state).__name__}, not a state dict "
            f"of tensors; {_FIX}"
        )
    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    expected = net.state_dict().keys()
    missing = [k for k in expected if k not in state and not k.startswith("AuxLogits.")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise InceptionWeightsError(
            f"Inception-v3 weights file {str(path)!r} does not fit torchvision's inception_v3: "
            f"{len(missing)} missing key(s) {missing[:3]}, {len(unexpected)} unexpected "
            f"key(s) {unexpected[:3]}; {_FIX}"
        )
    try:
        net.load_state_dict(state, strict=False)  # strict=False only for the unused AuxLogits head
    except RuntimeError as e:  # size mismatches
        raise InceptionWeightsError(
            f"Inception-v3 weights file {str(path)!r} does not fit torchvision's inception_v3: "
            f"{str(e).splitlines()[-1].strip()[:300]}; {_FIX}"
        ) from e
    return InceptionFeatures(net).to(device).eval()


def inception_fid_evaluator(
    dataset: Dataset,
    weights_path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str],
    device: torch.device | str = "cpu",
    batch_size: int = 50,
) -> FidEvaluator:
    """A :class:`FidEvaluator` against ``dataset``'s test split in Inception-v3 pool3 space.

    Statistics (test split and the train-vs-test real floor) are cached in ``cache_dir`` keyed by
    the SHA-256 of the weights file (``evaluator.feature_id``), the dataset name and the splits, by
    :meth:`FidEvaluator.from_dataset`; different weights never share a cache file.

    Raises:
        InceptionWeightsError: see :func:`load_inception_v3`.
        ValueError: on ``batch_size < 1`` or images with other than 1 or 3 channels.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if dataset.image_shape[0] not in (1, 3):
        raise ValueError(f"Inception-v3 FID needs 1- or 3-channel images, got shape {dataset.image_shape}")
    model = load_inception_v3(weights_path, device=device)
    sha = file_sha256(weights_path)
    info = ClassifierInfo(
        model=model,  # type: ignore[arg-type]  # from_dataset only needs .features and .parameters()
        test_accuracy=float("nan"),
        weights_sha256=sha,
        path=Path(weights_path),
        trained=False,
    )
    return FidEvaluator.from_dataset(dataset, info, cache_dir=cache_dir, batch_size=batch_size)
