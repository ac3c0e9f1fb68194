"""The worker loop: claim a trial slot, run one trial with ``study.optimize``, repeat.

``study.optimize`` (not ask/tell) is what Optuna's heartbeat needs, so each trial runs
through it. The study-wide count decides when to stop, so any number of workers on any
number of machines share one target: the loop ends when the study has ``n_trials``
finished (COMPLETE or PRUNED) trials. FAILED trials do not count; their retries do.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.trial import TrialState

from genstudy.errors import GenstudyError
from genstudy.workers._claim import ClaimLock

__all__ = ["WORKER_ATTR", "TrialCounts", "WorkerResult", "count_trials", "local_worker_identity", "run_worker"]

_log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
WORKER_ATTR = "worker"  # user attr: {"id", "host", "pid", ...} of the worker that ran the trial


def local_worker_identity() -> dict[str, object]:
    """Who runs trials in this process: recorded on each trial, used to recover its trials."""
    host, pid = socket.gethostname(), os.getpid()
    return {"id": f"{host}:{pid}", "host": host, "pid": pid}


@dataclass(frozen=True)
class TrialCounts:
    complete: int
    pruned: int
    failed: int
    running: int
    waiting: int

    @property
    def finished(self) -> int:
        return self.complete + self.pruned


@dataclass
class WorkerResult:
    """What this worker ran (the study's own counts are in ``final``)."""

    ran: int = 0
    failed: int = 0
    final: TrialCounts | None = None


def count_trials(study: optuna.Study) -> TrialCounts:
    """Study-wide trial counts by state, from one consistent read of the trials.

    One read, not one query per state: a trial finishing between two per-state counts would
    be missed by both and the study would overshoot. Optuna's cached RDB storage reads only
    trials that are new or unfinished since the last call, so this stays cheap.
    """
    by_state = Counter(t.state for t in study.get_trials(deepcopy=False))
    return TrialCounts(
        complete=by_state[TrialState.COMPLETE], pruned=by_state[TrialState.PRUNED], failed=by_state[TrialState.FAIL],
        running=by_state[TrialState.RUNNING], waiting=by_state[TrialState.WAITING],
    )


def run_worker(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float | tuple[float, ...]],
    *,
    n_trials: int,
    claim: ClaimLock,
    progress: Callable[[optuna.Study, TrialCounts, int], None] | None = None,
    poll_seconds: float = 2.0,
    max_consecutive_failures: int = 5,
    worker: dict[str, object] | None = None,
) -> WorkerResult:
    """Run trials until the study has ``n_trials`` finished trials across all workers.

    A trial that raises is recorded as FAIL with ``fail_reason`` in its user attrs and the
    worker goes on; ``max_consecutive_failures`` failures in a row stop it with an error
    (a broken spec or environment, not bad luck). While the target is only reachable by
    trials other workers are running, this worker waits and re-checks (with the heartbeat,
    trials of dead workers become FAIL and are retried).

    Each trial records ``worker`` (``WORKER_ATTR``) before the claim lock is released, so a
    driver holding the lock sees every RUNNING trial tagged with the worker that owns it.
    """
    identity = worker or local_worker_identity()
    result = WorkerResult()
    heartbeat = is_heartbeat_enabled(study._storage)
    last_states: list[TrialState] = []
    streak = 0
    while True:
        claim.acquire()
        try:
            counts = count_trials(study)
            if progress is not None:
                progress(study, counts, n_trials)
            if counts.finished >= n_trials:
                break
            if counts.finished + counts.running >= n_trials:
                claim.release()
                if heartbeat:
                    with warnings.catch_warnings():  # "experimental" since Optuna 2.9
                        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                        optuna.storages.fail_stale_trials(study)
                time.sleep(poll_seconds)
                continue
            last_states.clear()
            study.optimize(
                _released_first(objective, claim, identity), n_trials=1, catch=(Exception,),
                callbacks=[lambda _s, t: last_states.append(t.state)], gc_after_trial=False,
            )
        finally:
            claim.release()
        result.ran += 1
        if last_states and last_states[-1] == TrialState.FAIL:
            result.failed += 1
            streak += 1
            if streak >= max_consecutive_failures:
                raise GenstudyError(
                    f"{streak} trials in a row failed (see the fail_reason user attr of the last one, "
                    f"trial {study.trials[-1].number}); fix the cause, then start the worker again"
                )
        else:
            streak = 0
    result.final = counts
    return result


def _released_first(objective: Callable, claim: ClaimLock, identity: dict) -> Callable[[optuna.Trial], object]:
    def run(trial: optuna.Trial) -> object:
        trial.set_user_attr(WORKER_ATTR, identity)
        claim.release()  # the trial exists now: other workers may claim theirs
        try:
            return objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr("fail_reason", f"{type(e).__name__}: {e}"[:2000])
            raise

    return run


