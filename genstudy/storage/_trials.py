"""Reading a study's trials the cheap way, and ending trials nobody beats for.

The worker loop asks these questions once per trial, so each is one statement on an RDB
storage where Optuna's public API would re-read whole trials (bench/orchestration.py,
bench/storage_scale.py). Optuna's RDB models and its storage internals stay in this package.
"""

from __future__ import annotations

import datetime
import logging
import warnings
from collections import Counter
from dataclasses import dataclass

import optuna
import sqlalchemy as sa
from optuna.exceptions import StorageInternalError
from optuna.storages import RDBStorage, _CachedStorage
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.storages._rdb.models import TrialHeartbeatModel, TrialModel
from optuna.trial import TrialState

from genstudy.storage._open import MAX_RETRY
from genstudy.storage._retry import fail_and_retry

__all__ = ["OUTAGE_ERRORS", "TrialCounts", "count_trials", "fail_stale_trials", "fail_unbeaten_trials",
           "heartbeat_enabled", "trial_state"]

_log = logging.getLogger(__name__)

# What a database restart or a dropped connection surfaces as: SQLAlchemy's OperationalError or
# InterfaceError, or Optuna's StorageInternalError (Optuna 5 also raises UnboundLocalError from
# ``_run_trial`` when the final write of a trial fails; the worker loop adds that one).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.OperationalError, sa.exc.InterfaceError, StorageInternalError)


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


def count_trials(study: optuna.Study, *, connection: sa.Connection | None = None) -> TrialCounts:
    """Study-wide trial counts by state, from one consistent read.

    One read, not one query per state: a trial finishing between two per-state counts would
    be missed by both and the study would overshoot. On an RDB storage the read is one
    ``GROUP BY state`` query: reading the trials themselves (Optuna's cached storage re-reads
    every unfinished trial with its params and attrs) costs more per claim, and more as the
    study grows. ``connection`` (to the study's database, e.g. the claim lock's own
    ``ClaimLock.connection``) saves a pool checkout.
    """
    rdb = _rdb_storage(study)
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


def trial_state(study: optuna.Study, number: int) -> TrialState:
    """The state of trial ``number`` as stored now (one statement on an RDB storage, no cache)."""
    rdb = _rdb_storage(study)
    if rdb is None:
        storage = study._storage
        return storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study._study_id, number)).state
    with rdb.engine.begin() as conn:
        return conn.execute(sa.select(TrialModel.state).where(TrialModel.study_id == study._study_id,
                                                              TrialModel.number == number)).scalar_one()


def heartbeat_enabled(study: optuna.Study) -> bool:
    """Whether the study's storage runs Optuna's heartbeat (RDB storages opened with ``heartbeat=True``)."""
    return is_heartbeat_enabled(study._storage)


def fail_stale_trials(study: optuna.Study) -> None:
    """End the trials of dead workers: Optuna's stale-heartbeat check, then those that never beat.

    Both FAIL the trial and enqueue its retry (``RetryWithCheckpoint``). Only for storages
    with the heartbeat (``heartbeat_enabled``); a no-op on the others.
    """
    if not heartbeat_enabled(study):
        return
    with warnings.catch_warnings():  # "experimental" since Optuna 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    fail_unbeaten_trials(study)


def fail_unbeaten_trials(study: optuna.Study) -> list[int]:
    """FAIL and retry RUNNING trials without any heartbeat, started more than the grace period ago.

    A worker killed between creating its trial and the heartbeat thread's first beat leaves a
    RUNNING trial with no heartbeat row; ``optuna.storages.fail_stale_trials`` only looks at
    trials with one, so the study would wait for it for ever. The numbers of the trials retried.
    """
    rdb = _rdb_storage(study)
    if rdb is None or rdb.heartbeat_interval is None:
        return []
    grace = rdb.grace_period or 2 * rdb.heartbeat_interval
    # Optuna 5 stores datetime_start as naive UTC, from the clock of the worker that made the trial
    cutoff = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=grace)).replace(tzinfo=None)
    with rdb.engine.begin() as conn:
        rows = conn.execute(
            sa.select(TrialModel.trial_id, TrialModel.number)
            .outerjoin(TrialHeartbeatModel, TrialHeartbeatModel.trial_id == TrialModel.trial_id)
            .where(TrialModel.study_id == study._study_id, TrialModel.state == TrialState.RUNNING,
                   TrialHeartbeatModel.trial_id.is_(None), TrialModel._datetime_start_utc < cutoff)
        ).all()
    retried = []
    for trial_id, number in rows:
        reason = f"no heartbeat ever recorded and started more than {grace} s ago: its worker died before the first beat"
        if fail_and_retry(study, trial_id, reason, max_retry=MAX_RETRY) is not None:
            retried.append(number)
    return retried


def _rdb_storage(study: optuna.Study) -> RDBStorage | None:
    storage = study._storage
    if isinstance(storage, _CachedStorage):
        storage = storage._backend
    return storage if isinstance(storage, RDBStorage) else None
