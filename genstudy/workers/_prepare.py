"""Setting a worker up: the study with this worker's sampler, the objective, the claim lock.

The same steps for the in-process worker (``genstudy.runner.run_study``) and for each Ray
actor (``genstudy.workers._ray``): the actor does them once per process and reuses the
result for every trial it runs.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from genstudy.storage import ArtifactStore, ClaimLock, claim_lock_for, open_study
from genstudy.workers._settings import WorkerSettings

if TYPE_CHECKING:
    from genstudy.objectives import EvalContext

__all__ = ["PreparedWorker", "join_study", "prepare_worker", "worker_seed"]

_log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class PreparedWorker:
    """What a worker loads once and reuses for every trial it runs."""

    study: optuna.Study
    objective: Callable[[optuna.Trial], Any]
    claim: ClaimLock
    context: EvalContext | None  # dataset, classifier, statistics; None with an ``objective_factory``
    seed: int  # the sampler seed of this worker

    def summary(self) -> dict[str, Any]:
        """``fid_floor`` and ``classifier_accuracy`` (NaN without a domain classifier: the metrics did
        not need one, and asking would train it) and ``device``, for the run's closing lines."""
        ctx = self.context
        loaded = ctx is not None and ctx.has_classifier
        return {"fid_floor": ctx.fid_floor if loaded else math.nan,
                "classifier_accuracy": ctx.classifier.test_accuracy if loaded else math.nan,
                "device": str(ctx.device) if ctx is not None else None}


def join_study(settings: WorkerSettings, *, worker_index: int | None, heartbeat: bool = True,
               create: bool = False) -> optuna.Study:
    """Open the storage and attach the study with the sampler seed of ``worker_index``.

    ``heartbeat`` (RDB storages) lets other workers retry this one's trials when it dies; a
    process that runs no trials itself (the Ray driver) opens the storage without it.
    ``create`` makes the study when missing; workers that join a shared study pass False.
    """
    from genstudy.objectives import make_pruner, make_sampler

    spec = settings.spec
    return open_study(spec, location=settings.storage, study_name=settings.study_name, create=create,
                      sampler=make_sampler(spec, seed=worker_seed(spec.sampler.seed, worker_index)),
                      pruner=make_pruner(spec), heartbeat=heartbeat)


def prepare_worker(settings: WorkerSettings, *, worker_index: int | None, device: str,
                   study: optuna.Study | None = None) -> PreparedWorker:
    """Study, objective and claim lock of one worker.

    ``study`` is one already attached by ``join_study`` with the same ``worker_index`` and the
    heartbeat on (the in-process worker reuses the handle its caller made); without it the
    study is joined here (never created). The objective is the spec's model family on an
    ``EvalContext`` loaded on ``device``, or ``settings.objective_factory()`` when given.
    """
    if study is None:
        study = join_study(settings, worker_index=worker_index)
    context = None
    if settings.objective_factory is not None:
        objective = settings.objective_factory()
    else:
        from genstudy.objectives import EvalContext, build_objective, pick_device

        context = EvalContext.load(settings.spec, cache_dir=settings.cache_dir, data_dir=settings.data_dir,
                                   device=pick_device(device), inception_weights=settings.inception_weights)
        store = ArtifactStore(settings.artifact_dir.resolve())
        objective = build_objective(settings.spec, context, artifact_store=store)
    return PreparedWorker(study=study, objective=objective, claim=claim_lock_for(settings.storage, settings.study_name),
                          context=context, seed=worker_seed(settings.spec.sampler.seed, worker_index))
