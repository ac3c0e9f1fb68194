"""One settings object for a worker, built once from the command line or ``genstudy.run``.

The same object reaches ``run_study``, the in-process worker and each Ray actor (it is
pickled to other nodes, so it holds plain values only: the spec, strings, paths, numbers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudy.errors import GenstudyError
from genstudy.storage import default_journal_path, redact_url

if TYPE_CHECKING:
    import optuna

    from genstudy.spec import StudySpec

__all__ = ["RayOptions", "WorkerSettings"]


@dataclass(frozen=True)
class RayOptions:
    """Where the Ray actors run and how much of a node each one takes."""

    address: str = "local"  # local (start one here) | auto (the running cluster) | HOST:PORT | ray://HOST:PORT
    gpus_per_trial: float | None = None  # None: 1 when the cluster has GPUs, else 0
    cpus_per_trial: float = 1.0
    workers: int | None = None  # None: as many as the cluster's slots allow

    def __post_init__(self) -> None:
        if self.gpus_per_trial is not None and not 0 <= self.gpus_per_trial <= 64:
            raise GenstudyError(f"--gpus-per-trial {self.gpus_per_trial}: use 0 (CPU), a fraction such as 0.25, "
                                "or a whole number")
        if self.gpus_per_trial and 1 < self.gpus_per_trial != int(self.gpus_per_trial):
            raise GenstudyError(f"--gpus-per-trial {self.gpus_per_trial}: above 1 it must be a whole number of GPUs")
        if not 0 < self.cpus_per_trial <= 1024:
            raise GenstudyError(f"--cpus-per-trial {self.cpus_per_trial}: must be above 0, e.g. 1 or 2")
        if self.workers is not None and self.workers < 1:
            raise GenstudyError(f"--workers {self.workers}: must be at least 1 (or leave it out: one per slot)")


ObjectiveFactory = Callable[[], Callable[["optuna.Trial"], Any]]


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs to join a study and run its trials.

    Defaults left as ``None`` are filled in on construction: ``storage`` becomes the study's
    journal file under ``runs_dir``, ``n_trials`` the spec's ``budget.n_trials``,
    ``artifact_dir`` ``runs_dir/artifacts``; path fields given as strings become ``Path``.
    """

    spec: StudySpec
    study_name: str
    storage: str | None = None  # URL or journal file; may hold a password: log ``shown_location``
    n_trials: int | None = None  # finished trials the study needs, all workers together
    create: bool = False  # make the study if missing (``genstudy run``); workers join one (False)
    runs_dir: Path = Path("genstudy-runs")  # embedded storage and caches
    artifact_dir: Path | None = None  # sample grids and checkpoints; shared by every worker
    data_dir: Path | None = None
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...; Ray actors take the GPU Ray gave them
    worker_index: int | None = 0  # seeds the sampler (genstudy.workers.worker_seed); None: per process
    inception_weights: Path | None = None
    log_level: int = logging.WARNING  # of the ``genstudy`` loggers in Ray actors
    ray: RayOptions | None = None  # None: trials run in this process, one at a time
    validate: tuple[int, int] | None = None  # (top, seeds): re-run the best configurations first
    # Optuna callbacks ``callback(study, frozen_trial)`` after every trial; with Ray they are
    # pickled to the actors (define them at module level, keep their state in the storage)
    callbacks: tuple[Callable[[optuna.Study, optuna.trial.FrozenTrial], None], ...] = ()
    # library use (benchmarks, custom objectives): ``objective_factory()`` builds ``objective(trial)``
    # in each worker instead of the spec's model family; no dataset or classifier is loaded then
    objective_factory: ObjectiveFactory | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "runs_dir", Path(self.runs_dir))
        for name in ("artifact_dir", "data_dir", "inception_weights"):
            value = getattr(self, name)
            set_(self, name, Path(value) if value is not None and value != "" else None)
        if self.storage is None:
            set_(self, "storage", str(default_journal_path(self.study_name, self.runs_dir)))
        if self.n_trials is None:
            set_(self, "n_trials", self.spec.budget.n_trials)
        if self.artifact_dir is None:
            set_(self, "artifact_dir", self.runs_dir / "artifacts")
        set_(self, "callbacks", tuple(self.callbacks or ()))
        if self.validate is not None:
            set_(self, "validate", tuple(self.validate))
            if len(self.validate) != 2 or min(self.validate) < 1:
                raise GenstudyError(f"validate={self.validate!r}: give (top, seeds), both at least 1, e.g. (3, 10)")
        if self.n_trials < 0:
            raise GenstudyError(f"n_trials {self.n_trials}: must be 0 or more (finished trials the study needs)")
        if self.worker_index is not None and self.worker_index < 0:
            raise GenstudyError(f"worker index {self.worker_index}: must be 0 or more (it seeds the worker's sampler)")

    @property
    def shown_location(self) -> str:
        """``storage`` with any password replaced by ``***``: safe to log and print."""
        return redact_url(self.storage)

    @property
    def cache_dir(self) -> Path:
        """Where datasets' classifiers and reference statistics are cached."""
        return self.runs_dir / "cache"

    def with_absolute_paths(self) -> WorkerSettings:
        """The same settings with every path absolute: Ray actors run in other working
        directories (and on other nodes)."""
        def absolute(p: Path | None) -> Path | None:
            return p.resolve() if p is not None else None

        storage = self.storage if "://" in self.storage else str(Path(self.storage).resolve())
        return replace(self, storage=storage, runs_dir=absolute(self.runs_dir), artifact_dir=absolute(self.artifact_dir),
                       data_dir=absolute(self.data_dir), inception_weights=absolute(self.inception_weights))
