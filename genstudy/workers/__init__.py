"""Workers that pull trials from a study until it reaches its target.

A worker is described by one ``WorkerSettings`` (built by the CLI or ``genstudy.run``), set up
by ``prepare_worker`` (the same for a worker in this process and for each Ray actor) and runs
``run_worker``'s loop; ``run_ray_workers`` drives Ray actors doing the same. Storage questions
(counts, states, stale trials, the claim lock) are answered by ``genstudy.storage``.
"""

from __future__ import annotations

from genstudy.storage import ClaimLock, TrialCounts, claim_lock_for, count_trials
from genstudy.workers._loop import OUTAGE_SECONDS, WorkerResult, local_worker_identity, run_worker
from genstudy.workers._prepare import PreparedWorker, join_study, prepare_worker, worker_seed
from genstudy.workers._ray import RayRunResult, plan_actors, recover_worker_trials, run_ray_workers
from genstudy.workers._settings import RayOptions, WorkerSettings

__all__ = [
    "OUTAGE_SECONDS",
    "ClaimLock",
    "PreparedWorker",
    "RayOptions",
    "RayRunResult",
    "TrialCounts",
    "WorkerResult",
    "WorkerSettings",
    "claim_lock_for",
    "count_trials",
    "join_study",
    "local_worker_identity",
    "plan_actors",
    "prepare_worker",
    "recover_worker_trials",
    "run_ray_workers",
    "run_worker",
    "worker_seed",
]
