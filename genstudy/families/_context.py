"""What a worker loads once and reuses for every trial: the data, and what the metrics need.

The dataset is always loaded. The domain classifier (with its FID statistics of the held-out
split) and Inception-v3 are loaded only when one of the study's metrics needs them
(``MetricDef.needs``): a study of reconstruction losses never trains a classifier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from genstudy.data import Dataset, load_dataset, require_labels
from genstudy.errors import GenstudyError
from genstudy.metrics import ClassifierInfo, FidEvaluator, load_or_train_classifier

if TYPE_CHECKING:
    from genstudy.spec import StudySpec

__all__ = ["EvalContext", "pick_device"]

_log = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; anything else is passed to torch."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


@dataclass(frozen=True)
class _Classifier:
    """The domain classifier and what is computed once from it."""

    info: ClassifierInfo
    fid: FidEvaluator
    fid_floor: float
    test_features: torch.Tensor  # (N_test, D) classifier features of the test split, for precision/recall


@dataclass
class EvalContext:
    """The dataset on the trial's device, and the classifier / Inception when the metrics need them."""

    dataset: Dataset
    device: torch.device
    precision: str = "fp32"  # training arithmetic (genstudy.families._train.training_precision)
    cache_dir: Path | None = None
    inception: FidEvaluator | None = None  # Inception-v3 FID, when a local weights file was given
    weights_dir: Path | None = None  # torchvision weights files (None: torch's hub checkpoint folder)
    _classifier: _Classifier | None = field(default=None, repr=False)

    @classmethod
    def load(cls, spec: StudySpec, *, cache_dir: Path, data_dir: Path | None = None, device: torch.device,
             inception_weights: Path | None = None, weights_dir: Path | None = None) -> EvalContext:
        # Denormal floats make CPU training several times slower once weights settle on real
        # data (measured: a batch-128 MNIST epoch took 7.0 s with them, 1.1 s without).
        torch.set_flush_denormal(True)
        from genstudy.families._train import training_precision

        dataset = load_dataset(spec.dataset, data_dir=data_dir, device=device, cache_dir=Path(cache_dir) / "datasets")
        ctx = cls(dataset=dataset, device=device, precision=training_precision(device, spec.precision),
                  cache_dir=Path(cache_dir), weights_dir=Path(weights_dir) if weights_dir is not None else None)
        needs = spec.needs
        if "classifier" in needs:
            users = [m for m in spec.metrics if "classifier" in spec.objective_def.metrics[m].needs]
            require_labels(dataset, f"metric {', '.join(users)} (computed in the domain classifier's space)")
            ctx.load_classifier()
        if "inception" in needs and inception_weights is None:
            raise GenstudyError("metric fid_inception needs Inception-v3 weights: pass --inception-weights FILE "
                                "(a local state dict of torchvision's inception_v3; nothing is downloaded)")
        if inception_weights is not None:
            from genstudy.metrics import inception_fid_evaluator

            ctx.inception = inception_fid_evaluator(dataset, Path(inception_weights), cache_dir=Path(cache_dir),
                                                    device=device)
        _log.info("dataset %s on %s (%s training)", dataset.name, device, ctx.precision)
        return ctx

    def load_classifier(self) -> _Classifier:
        """Train or load the cached domain classifier and its test statistics (once)."""
        if self._classifier is None:
            if self.cache_dir is None:
                raise GenstudyError("the domain classifier needs a cache folder; build the context with EvalContext.load")
            with torch.enable_grad():  # first asked for inside an evaluation's no_grad block, it still trains
                info = load_or_train_classifier(self.dataset, cache_dir=self.cache_dir, device=self.device)
            fid = FidEvaluator.from_dataset(self.dataset, info, cache_dir=self.cache_dir)
            floor = fid.real_floor()
            _log.info("classifier test accuracy %.4f (sha256 %s); real-vs-real FID floor %.3f",
                      info.test_accuracy, info.weights_sha256[:12], floor)
            self._classifier = _Classifier(info, fid, floor, torch.as_tensor(fid.features(self.dataset.test_x)))
        return self._classifier

    @property
    def has_classifier(self) -> bool:
        """True when the classifier is loaded: the study's metrics need it (or someone asked)."""
        return self._classifier is not None

    @property
    def classifier(self) -> ClassifierInfo:
        return self.load_classifier().info

    @property
    def fid(self) -> FidEvaluator:
        return self.load_classifier().fid

    @property
    def fid_floor(self) -> float:
        """Real-vs-real FID (train vs test split); NaN when no classifier was needed."""
        return self._classifier.fid_floor if self._classifier is not None else float("nan")

    @property
    def test_features(self) -> torch.Tensor:
        return self.load_classifier().test_features
