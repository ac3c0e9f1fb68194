"""One library call behind ``genstudy run``, ``worker`` and ``validate``, and ``genstudy.run``."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna

from genstudy.spec import StudySpec
from genstudy.storage import TrialCounts, count_trials, redact_url
from genstudy.validation import enqueue_validation
from genstudy.workers import (
    WorkerResult,
    WorkerSettings,
    join_study,
    prepare_worker,
    run_ray_workers,
    run_worker,
    worker_seed,
)

__all__ = ["StudyOutcome", "run_study"]

_log = logging.getLogger(__name__)

Progress = Callable[[optuna.Study, TrialCounts, int], None]


@dataclass(frozen=True)
class StudyOutcome:
    """What a run did: the study (read it for the trials), the worker's counts, where things are."""

    study: optuna.Study
    spec: StudySpec
    location: str  # as given, may hold a password: never print it, use ``shown_location``
    worker: WorkerResult
    artifact_dir: Path
    fid_floor: float  # real-vs-real FID of the dataset (NaN when no trial ran in this process)
    classifier_accuracy: float  # test accuracy of the domain classifier (NaN likewise)
    actors: int = 0  # Ray actors that ran the trials (0: this process did)

    @property
    def shown_location(self) -> str:
        return redact_url(self.location)


def run_study(settings: WorkerSettings, *, progress: Progress | None = None) -> StudyOutcome:
    """Attach the study to ``settings.spec``, run trials until it has ``settings.n_trials`` finished ones.

    ``settings.create`` makes the study if missing (the embedded default); workers of a shared
    study pass ``create=False`` and get a clear error naming ``optuna create-study``.
    ``settings.validate=(top, seeds)`` first enqueues the ``top`` best configurations with
    ``seeds`` fresh seeds each, and runs until they are done. ``settings.ray`` runs the trials
    in Ray actors (one per trial slot, see genstudy.workers.run_ray_workers); without it they run
    here, one at a time. ``progress(study, counts, target)`` is called before each trial.
    """
    study = join_study(settings, worker_index=settings.worker_index, heartbeat=settings.ray is None,
                       create=settings.create)  # a Ray driver runs no trials itself: no heartbeat
    if settings.validate is not None:
        top, seeds = settings.validate
        enqueued = enqueue_validation(study, settings.spec, top=top, seeds=seeds)
        settings = replace(settings, n_trials=count_trials(study).finished + len(enqueued))
        _log.info("validating trials %s with %d fresh seeds each", enqueued, seeds)
    settings.artifact_dir.mkdir(parents=True, exist_ok=True)
    name, target = settings.study_name, settings.n_trials
    if settings.ray is not None:
        _log.info("study %s in %s: target %d finished trials, Ray at %s", name, settings.shown_location, target,
                  settings.ray.address)
        ran = run_ray_workers(settings.with_absolute_paths(), study=study, progress=progress)
        return _outcome(settings, study, ran.worker, ran.context, actors=ran.actors)
    _log.info("study %s in %s: target %d finished trials; sampler seed %d", name, settings.shown_location, target,
              worker_seed(settings.spec.sampler.seed, settings.worker_index))
    prepared = prepare_worker(settings, worker_index=settings.worker_index, device=settings.device, study=study)
    result = run_worker(study, prepared.objective, n_trials=target, claim=prepared.claim, progress=progress,
                        callbacks=settings.callbacks)
    return _outcome(settings, study, result, prepared.summary())


def _outcome(settings: WorkerSettings, study: optuna.Study, worker: WorkerResult, summary: dict[str, Any], *,
             actors: int = 0) -> StudyOutcome:
    """``summary``: ``PreparedWorker.summary()`` of a worker (empty when none ran a trial)."""
    return StudyOutcome(study=study, spec=settings.spec, location=settings.storage, worker=worker,
                        artifact_dir=settings.artifact_dir, fid_floor=summary.get("fid_floor", math.nan),
                        classifier_accuracy=summary.get("classifier_accuracy", math.nan), actors=actors)
