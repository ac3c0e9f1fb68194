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
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import sqlalchemy as sa
from optuna.storages import RDBStorage, _CachedStorage
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.storages._rdb.models import TrialModel
from optuna.trial import TrialState

from genstudy.errors import GenstudyError
from genstudy.workers._claim import ClaimLock
from genstudy.workers._orphans import OUTAGE_ERRORS, OUTAGE_SECONDS, fail_unbeaten_trials

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


def count_trials(study: optuna.Study, *, connection: sa.Connection | None = None) -> TrialCounts:
    """Study-wide trial counts by state, from one consistent read.

    One read, not one query per state: a trial finishing between two per-state counts would
    be missed by both and the study would overshoot. On an RDB storage the read is one
    ``GROUP BY state`` query: reading the trials themselves (Optuna's cached storage re-reads
    every unfinished trial with its params and attrs, 7 queries) cost about 7 ms per claim,
    and sorting them more as the study grows (bench/orchestration.py, bench/storage_scale.py).
    ``connection`` (to the study's database, e.g. the claim lock's own) saves a pool checkout.
    """
    rdb = _rdb_storage(study._storage)
    if rdb is not None:
        stmt = (sa.select(TrialModel.state, sa.func.count()).where(TrialModel.study_id == study._study_id)
                .group_by(TrialModel.state))
        if connection is not None:
            by_state: dict[TrialState, int] = dict(connection.execute(stmt).all())
        else:
            with rdb.engine.begin() as conn:
                by_state = dict(conn.execute(stmt).all())
    else:
        by_state = Counter(t.state for t in study.get_trials(deepcopy=False))
    return TrialCounts(
        complete=by_state.get(TrialState.COMPLETE, 0), pruned=by_state.get(TrialState.PRUNED, 0),
        failed=by_state.get(TrialState.FAIL, 0), running=by_state.get(TrialState.RUNNING, 0),
        waiting=by_state.get(TrialState.WAITING, 0),
    )


def _trial_state(study: optuna.Study, trial_id: int) -> TrialState:
    rdb = _rdb_storage(study._storage)
    if rdb is None:
        return study._storage.get_trial(trial_id).state
    with rdb.engine.begin() as conn:
        return conn.execute(sa.select(TrialModel.state).where(TrialModel.trial_id == trial_id)).scalar_one()


def _rdb_storage(storage: object) -> RDBStorage | None:
    if isinstance(storage, _CachedStorage):
        storage = storage._backend
    return storage if isinstance(storage, RDBStorage) else None


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
    trials other workers are running, this worker waits and re-checks (after 0.05 s, doubling up
    to ``poll_seconds``, so that it ends soon after the last trial; with the heartbeat,
    trials of dead workers become FAIL and are retried).

    Each trial records ``worker`` (``WORKER_ATTR``) before the claim lock is released, so a
    driver holding the lock sees every RUNNING trial tagged with the worker that owns it.
    """
    identity = worker or local_worker_identity()
    result = WorkerResult()
    heartbeat = is_heartbeat_enabled(study._storage)
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
                        with warnings.catch_warnings():  # "experimental" since Optuna 2.9
                            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                            optuna.storages.fail_stale_trials(study)
                        fail_unbeaten_trials(study)
                    time.sleep(min(poll_seconds, 0.05 * 2 ** min(idle, 10)))  # soon at first: they may be short
                    idle += 1
                    continue
                idle = 0
                last = _LastTrial()
                # no callbacks: Optuna re-reads the whole finished trial for them (7 queries per trial)
                study.optimize(_released_first(objective, claim, identity, last), n_trials=1, catch=(Exception,),
                               gc_after_trial=False)
            finally:
                claim.release()
            result.ran += 1
            if last.failed(study):
                result.failed += 1
                streak += 1
                if streak >= max_consecutive_failures:
                    raise GenstudyError(
                        f"{streak} trials in a row failed (see the fail_reason user attr of the last one, "
                        f"trial {study.trials[-1].number}); fix the cause, then start the worker again"
                    )
            else:
                streak = 0
        except OUTAGE_ERRORS + (UnboundLocalError,) as e:  # see genstudy.workers._orphans
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

    trial_id: int | None = None
    raised: bool = False  # an exception other than TrialPruned: Optuna records FAIL
    pruned: bool = False
    value: object = None

    def failed(self, study: optuna.Study) -> bool:
        if self.trial_id is None or self.pruned:
            return False
        if self.raised:
            return True
        if _feasible(self.value, len(study.directions)):
            return False  # values Optuna's tell stores as COMPLETE
        return _trial_state(study, self.trial_id) == TrialState.FAIL  # None, NaN, ...: Optuna failed it in tell


def _feasible(value: object, n_objectives: int) -> bool:
    """True only for return values Optuna's tell accepts (numbers, no NaN, one per objective)."""
    values = value if isinstance(value, (list, tuple)) else (value,)
    return (len(values) == n_objectives and all(isinstance(v, (int, float)) for v in values)
            and not any(math.isnan(v) for v in values))


def _released_first(objective: Callable, claim: ClaimLock, identity: dict,
                    last: _LastTrial) -> Callable[[optuna.Trial], object]:
    def run(trial: optuna.Trial) -> object:
        last.trial_id = trial._trial_id
        trial.set_user_attr(WORKER_ATTR, identity)
        claim.release()  # the trial exists now: other workers may claim theirs
        try:
            last.value = objective(trial)
            return last.value
        except optuna.TrialPruned:
            last.pruned = True
            raise
        except Exception as e:
            last.raised = True
            trial.set_user_attr("fail_reason", f"{type(e).__name__}: {e}"[:2000])
            raise

    return run


