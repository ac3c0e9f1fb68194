"""Workers that pull trials from a study until it reaches its target."""

from __future__ import annotations

from genstudy.workers._claim import ClaimLock, claim_lock_for
from genstudy.workers._loop import WORKER_ATTR, TrialCounts, WorkerResult, count_trials, local_worker_identity, run_worker

__all__ = ["WORKER_ATTR", "ClaimLock", "TrialCounts", "WorkerResult", "claim_lock_for", "count_trials",
           "local_worker_identity", "run_worker"]
