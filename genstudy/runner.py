"""One library call per CLI command: ``run_study`` backs both ``genstudy run`` and ``worker``."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna

from genstudy.objectives import EvalContext, build_objective, make_pruner, make_sampler, pick_device
from genstudy.spec import StudySpec
from genstudy.storage import ArtifactStore, attach_study, default_journal_path, open_storage, redact_url
from genstudy.validation import enqueue_validation
from genstudy.workers import TrialCounts, WorkerResult, claim_lock_for, count_trials, run_worker
from genstudy.workers._ray import RayOptions, WorkerJob, run_ray_workers, with_absolute_paths

__all__ = ["StudyOutcome", "run_study", "worker_seed"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyOutcome:
    study: optuna.Study
    spec: StudySpec
    location: str  # as given, may hold a password: never print it, use ``shown_location``
    worker: WorkerResult
    artifact_dir: Path
    fid_floor: float
    classifier_accuracy: float
    actors: int = 0  # Ray actors that ran the trials (0: this process did)

    @property
    def shown_location(self) -> str:
        return redact_url(self.location)


def worker_seed(base: int, worker_index: int | None) -> int:
    """Sampler seed of one worker: ``base`` for worker 0, distinct for every other one.

    With no index (two ``genstudy worker`` commands started by hand) the seed mixes in the
    host and process id: identical seeds make parallel workers suggest identical points
    (optuna #4714).
    """
    if worker_index is not None:
        return (base + 1_000_003 * worker_index) % 2**32  # numpy's seed range
    salt = hash((socket.gethostname(), os.getpid())) % 1_000_000_007
    return (base + salt) % (2**31)


def run_study(
    spec: StudySpec,
    *,
    study_name: str,
    storage: str | None = None,
    n_trials: int | None = None,
    create: bool,
    runs_dir: str | Path = "genstudy-runs",
    artifact_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    device: str = "auto",
    worker_index: int | None = 0,
    validate: tuple[int, int] | None = None,
    inception_weights: str | Path | None = None,
    progress: Callable[[optuna.Study, TrialCounts, int], None] | None = None,
    ray: RayOptions | None = None,
    log_level: int = logging.WARNING,
) -> StudyOutcome:
    """Attach the study to ``spec``, run trials until it has ``n_trials`` finished ones.

    ``create`` makes the study if missing (the embedded default); workers of a shared
    study pass ``create=False`` and get a clear error naming ``optuna create-study``.
    ``validate=(top, seeds)`` first enqueues the ``top`` best configurations with ``seeds``
    fresh seeds each, and runs until they are done.

    ``ray`` runs the trials in Ray actors (one per trial slot, see genstudy.workers._ray);
    without it they run here, one at a time.
    """
    name = study_name
    location = storage or str(default_journal_path(name, runs_dir))
    target = spec.budget.n_trials if n_trials is None else n_trials
    seed = worker_seed(spec.sampler.seed, worker_index)
    opened = open_storage(location, heartbeat=ray is None)  # a Ray driver runs no trials itself
    study = attach_study(
        spec, storage=opened, location=location, study_name=name, create=create,
        sampler=make_sampler(spec, seed=seed), pruner=make_pruner(spec),
    )
    if validate is not None:
        enqueued = enqueue_validation(study, spec, top=validate[0], seeds=validate[1])
        target = count_trials(study).finished + len(enqueued)
        _log.info("validating trials %s with %d fresh seeds each", enqueued, validate[1])
    artifacts = Path(artifact_dir) if artifact_dir else Path(runs_dir) / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    if ray is not None:
        job = with_absolute_paths(WorkerJob(
            spec=spec, study_name=name, location=location, n_trials=target, runs_dir=str(runs_dir),
            artifact_dir=str(artifacts), data_dir=str(data_dir) if data_dir else None, device=device,
            inception_weights=str(inception_weights) if inception_weights else None, worker_index=worker_index,
            log_level=log_level,
        ))
        _log.info("study %s in %s: target %d finished trials, Ray at %s", name, redact_url(location), target, ray.address)
        ran = run_ray_workers(job, ray, study=study, progress=progress)
        return StudyOutcome(study=study, spec=spec, location=location, worker=ran.worker, artifact_dir=artifacts,
                            fid_floor=ran.context.get("fid_floor", float("nan")),
                            classifier_accuracy=ran.context.get("classifier_accuracy", float("nan")), actors=ran.actors)
    _log.info("study %s in %s: target %d finished trials; sampler seed %d", name, redact_url(location), target, seed)
    context = EvalContext.load(spec, cache_dir=Path(runs_dir) / "cache", data_dir=Path(data_dir) if data_dir else None,
                               device=pick_device(device),
                               inception_weights=Path(inception_weights) if inception_weights else None)
    store = ArtifactStore(artifacts.resolve())
    result = run_worker(study, build_objective(spec, context, artifact_store=store), n_trials=target,
                        claim=claim_lock_for(location, name), progress=progress)
    return StudyOutcome(study=study, spec=spec, location=location, worker=result, artifact_dir=artifacts,
                        fid_floor=context.fid_floor, classifier_accuracy=context.classifier.test_accuracy)
