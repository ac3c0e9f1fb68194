"""What the worker loop does about trials nobody beats for, and about a storage that went away.

- A worker killed between creating its trial and the heartbeat thread's first beat leaves a
  RUNNING trial with no heartbeat row; ``optuna.storages.fail_stale_trials`` only looks at
  trials with one, so the study would wait for it for ever. Such a trial, older than the
  grace period, is failed and retried here (genstudy.storage.fail_and_retry: once, whoever
  races for it).
- A database restart or a dropped connection surfaces as SQLAlchemy's OperationalError or
  Optuna's StorageInternalError (Optuna 5 also raises UnboundLocalError from ``_run_trial``
  when the final write of a trial fails). The loop waits and tries again, with backoff, for a
  bounded time; the trial caught mid-write stays RUNNING and is retried through the heartbeat.
"""

from __future__ import annotations

import datetime
import logging

import optuna
import sqlalchemy as sa
from optuna.exceptions import StorageInternalError
from optuna.storages import RDBStorage
from optuna.storages._rdb.models import TrialHeartbeatModel, TrialModel
from optuna.trial import TrialState

from genstudy.storage import MAX_RETRY, fail_and_retry

__all__ = ["OUTAGE_ERRORS", "OUTAGE_SECONDS", "fail_unbeaten_trials"]

_log = logging.getLogger(__name__)

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.OperationalError, sa.exc.InterfaceError, StorageInternalError)
OUTAGE_SECONDS = 600.0  # how long a worker waits for its storage to come back before it gives up


def _rdb(storage: object) -> RDBStorage | None:
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, RDBStorage) else None


def fail_unbeaten_trials(study: optuna.Study) -> list[int]:
    """FAIL and retry RUNNING trials without any heartbeat, started more than the grace period ago."""
    rdb = _rdb(study._storage)
    if rdb is None or rdb.heartbeat_interval is None:
        return []
    grace = rdb.grace_period or 2 * rdb.heartbeat_interval
    # Optuna 5 stores datetime_start as naive UTC, from the clock of the worker that made the trial
    cutoff = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=grace)).replace(tzinfo=None)
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
