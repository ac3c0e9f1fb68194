"""The worker loop: claim a trial slot, run one trial with ``study.optimize``, repeat.

``study.optimize`` (not ask/tell) is what Optuna's heartbeat needs, so each trial runs
through it. The study-wide count decides when to stop, so any number of workers on any
number of machines share one target: the loop ends when the study has ``n_trials``
finished (COMPLETE or PRUNED) trials. FAILED trials do not count; their retries do.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from genstudy import names
from genstudy.errors import GenstudyError
from genstudy.storage import (
    OUTAGE_ERRORS,
    ClaimLock,
    TrialCounts,
    count_trials,
    fail_stale_trials,
    heartbeat_enabled,
    trial_state,
)

__all__ = ["OUTAGE_SECONDS", "WorkerResult", "local_worker_identity", "run_worker"]

_log = logging.getLogger(__name__)

OUTAGE_SECONDS = 600.0  # how long a worker waits for its storage to come back before it gives up


def local_worker_identity() -> dict[str, object]:
    """Who runs trials in this process: recorded on each trial, used to recover its trials."""
    host, pid = socket.gethostname(), os.getpid()
    return {"id": f"{host}:{pid}", "host": host, "pid": pid}


@dataclass
class WorkerResult:
    """What this worker ran (the study's own counts are in ``final``)."""

    ran: int = 0
    failed: int = 0
    final: TrialCounts | None = None


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
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
) -> WorkerResult:
    """Run trials until the study has ``n_trials`` finished trials across all workers.

    A trial that raises is recorded as FAIL with ``fail_reason`` in its user attrs and the
    worker goes on; ``max_consecutive_failures`` failures in a row stop it with an error
    (a broken spec or environment, not bad luck). While the target is only reachable by
    trials other workers are running, this worker waits and re-checks (after 0.05 s, doubling up
    to ``poll_seconds``, so that it ends soon after the last trial; with the heartbeat,
    trials of dead workers become FAIL and are retried).

    Each trial records ``worker`` (``names.WORKER``) before the claim lock is released, so a
    driver holding the lock sees every RUNNING trial tagged with the worker that owns it.

    ``callbacks`` go to ``study.optimize`` (Optuna calls them after each trial of this worker);
    without any, none is passed: Optuna then skips re-reading the whole finished trial for them.
    """
    identity = worker or local_worker_identity()
    result = WorkerResult()
    heartbeat = heartbeat_enabled(study)
    extra = {"callbacks": list(callbacks)} if callbacks else {}
    streak = 0
    idle = 0  # re-checks in a row while the target hangs on trials that other workers run
    outage_since: float | None = None
    counts = None
    while True:
        try:
            claim.acquire()
            try:
                # on the PostgreSQL claim lock's own connection (to the study's database, as
                # claim_lock_for(location) makes it): no pool checkout, no ping, no BEGIN/ROLLBACK
                counts = count_trials(study, connection=getattr(claim, "connection", None))
                outage_since = None
                if progress is not None:
                    progress(study, counts, n_trials)
                if counts.finished >= n_trials:
                    break
                if counts.finished + counts.running >= n_trials:
                    claim.release()
                    if heartbeat:
                        fail_stale_trials(study)
                    time.sleep(min(poll_seconds, 0.05 * 2 ** min(idle, 10)))  # soon at first: they may be short
                    idle += 1
                    continue
                idle = 0
                last = _LastTrial()
                study.optimize(_released_first(objective, claim, identity, last), n_trials=1, catch=(Exception,),
                               gc_after_trial=False, **extra)
            finally:
                claim.release()
            result.ran += 1
            if last.failed(study):
                result.failed += 1
                streak += 1
                if streak >= max_consecutive_failures:
                    raise GenstudyError(
                        f"{streak} trials in a row failed (see the {names.FAIL_REASON} user attr of the last one, "
                        f"trial {study.trials[-1].number}); fix the cause, then start the worker again"
                    )
            else:
                streak = 0
        # a database restart or a dropped connection (Optuna 5 raises UnboundLocalError from
        # _run_trial when the final write of a trial fails): wait, with backoff, for a bounded
        # time; a trial caught mid-write stays RUNNING and is retried through the heartbeat
        except OUTAGE_ERRORS + (UnboundLocalError,) as e:
            outage_since = outage_since or time.monotonic()
            waited = time.monotonic() - outage_since
            if waited > OUTAGE_SECONDS:
                raise GenstudyError(f"the storage has been unreachable for {waited:.0f} s ({type(e).__name__}); "
                                    "check the database, then start the worker again (no finished trial is lost)") from e
            _log.warning("storage unreachable (%s: %s); trying again", type(e).__name__, str(e).splitlines()[0][:200])
            time.sleep(min(30.0, 1.0 + waited / 2))
            continue
    result.final = counts
    return result


@dataclass
class _LastTrial:
    """What the objective did in the last ``optimize`` call, to tell FAIL without a query."""

    number: int | None = None
    raised: bool = False  # an exception other than TrialPruned: Optuna records FAIL
    pruned: bool = False
    value: object = None

    def failed(self, study: optuna.Study) -> bool:
        if self.number is None or self.pruned:
            return False
        if self.raised:
            return True
        if _feasible(self.value, len(study.directions)):
            return False  # values Optuna's tell stores as COMPLETE
        return trial_state(study, self.number) == TrialState.FAIL  # None, NaN, ...: Optuna failed it in tell


def _feasible(value: object, n_objectives: int) -> bool:
    """True only for return values Optuna's tell accepts (numbers, no NaN, one per objective)."""
    values = value if isinstance(value, (list, tuple)) else (value,)
    return (len(values) == n_objectives and all(isinstance(v, (int, float)) for v in values)
            and not any(math.isnan(v) for v in values))


def _released_first(objective: Callable, claim: ClaimLock, identity: dict,
                    last: _LastTrial) -> Callable[[optuna.Trial], object]:
    def run(trial: optuna.Trial) -> object:
        last.number = trial.number
        trial.set_user_attr(names.WORKER, identity)
        claim.release()  # the trial exists now: other workers may claim theirs
        try:
            last.value = objective(trial)
            return last.value
        except optuna.TrialPruned:
            last.pruned = True
            raise
        except Exception as e:
            last.raised = True
            trial.set_user_attr(names.FAIL_REASON, f"{type(e).__name__}: {e}"[:2000])
            raise

    return run


