"""What a worker loads once and reuses for every trial: data, classifier, test statistics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from genstudy.data import Dataset, load_dataset
from genstudy.errors import GenstudyError
from genstudy.metrics import ClassifierInfo, FidEvaluator, load_or_train_classifier
from genstudy.spec import StudySpec

__all__ = ["EvalContext", "pick_device"]

_log = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; anything else is passed to torch."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


@dataclass(frozen=True)
class EvalContext:
    """The dataset on the trial's device, the domain classifier and its cached test stats."""

    dataset: Dataset
    device: torch.device
    classifier: ClassifierInfo
    fid: FidEvaluator
    fid_floor: float
    test_features: torch.Tensor  # (N_test, D) classifier features of the test split, for precision/recall
    inception: FidEvaluator | None = None  # Inception-v3 FID, when a local weights file was given
    precision: str = "fp32"  # training arithmetic (genstudy.objectives._train.training_precision)

    @classmethod
    def load(cls, spec: StudySpec, *, cache_dir: Path, data_dir: Path | None = None, device: torch.device,
             inception_weights: Path | None = None) -> EvalContext:
        # Denormal floats make CPU training several times slower once weights settle on real
        # data (measured: a batch-128 MNIST epoch took 7.0 s with them, 1.1 s without).
        torch.set_flush_denormal(True)
        dataset = load_dataset(spec.dataset, data_dir=data_dir, device=device)
        classifier = load_or_train_classifier(dataset, cache_dir=cache_dir, device=device)
        fid = FidEvaluator.from_dataset(dataset, classifier, cache_dir=cache_dir)
        floor = fid.real_floor()
        _log.info(
            "dataset %s on %s; classifier test accuracy %.4f (sha256 %s); real-vs-real FID floor %.3f",
            dataset.name, device, classifier.test_accuracy, classifier.weights_sha256[:12], floor,
        )
        test_features = torch.as_tensor(fid.features(dataset.test_x))
        if "fid_inception" in spec.metrics and inception_weights is None:
            raise GenstudyError("metric fid_inception needs Inception-v3 weights: pass --inception-weights FILE "
                                "(a local state dict of torchvision's inception_v3; nothing is downloaded)")
        inception = None
        if inception_weights is not None:
            from genstudy.metrics import inception_fid_evaluator

            inception = inception_fid_evaluator(dataset, inception_weights, cache_dir=cache_dir, device=device)
        from genstudy.objectives._train import training_precision

        return cls(dataset=dataset, device=device, classifier=classifier, fid=fid, fid_floor=floor,
                   test_features=test_features, inception=inception, precision=training_precision(device, spec.precision))
