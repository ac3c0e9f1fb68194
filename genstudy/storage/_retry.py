"""Re-enqueue a trial whose worker died, with the same params, for the heartbeat and the driver.

Two paths end a dead worker's trial: Optuna's heartbeat (``fail_stale_trials``, RDB storages
only) and the Ray driver, which sees the actor die (every storage). Both call
``fail_and_retry``-style logic: set FAIL, and only the one whose FAIL succeeded re-enqueues,
so a trial is retried once however the race goes.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from genstudy import names

__all__ = ["KEPT_ON_RETRY", "RetryWithCheckpoint", "fail_and_retry"]

_log = logging.getLogger(__name__)

# user attrs a retry inherits: what the trial is (validation seeds) and where it got to (its
# last epoch checkpoint). Results, curves and the failure reason belong to the failed trial.
KEPT_ON_RETRY = (names.VALIDATION_OF, names.VALIDATION_SEEDS, names.RESUME_CHECKPOINT, names.PARAMS_RESOLVED)


class RetryWithCheckpoint(RetryHeartbeatStaleTrialCallback):
    """Optuna's stale-trial retry, passing on only the user attrs a retry needs.

    The system attrs (``names.OPTUNA_FAILED_TRIAL``, ``names.OPTUNA_RETRY_HISTORY``) are Optuna's, so
    ``RetryHeartbeatStaleTrialCallback.retried_trial_number`` works on genstudy's retries.
    """

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        kept = {k: v for k, v in trial.user_attrs.items() if k in KEPT_ON_RETRY}
        super().__call__(study, _with_user_attrs(trial, kept))


def _with_user_attrs(trial: FrozenTrial, user_attrs: dict[str, Any]) -> FrozenTrial:
    return FrozenTrial(
        number=trial.number, state=trial.state, value=None, values=trial.values, datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete, params=trial.params, distributions=trial.distributions,
        user_attrs=user_attrs, system_attrs=dict(trial.system_attrs), intermediate_values=trial.intermediate_values,
        trial_id=trial._trial_id,
    )


def fail_and_retry(study: optuna.Study, trial: FrozenTrial | int, reason: str, *, max_retry: int | None) -> int | None:
    """Mark a RUNNING trial FAIL with ``reason`` and enqueue its retry; the retry's number.

    ``trial`` is the trial as read (a ``FrozenTrial``, possibly stale) or its storage id.
    ``None`` when another process (the heartbeat, another driver) finished the trial first,
    or when it used up its retries. Never touches a finished trial.
    """
    storage = study._storage
    trial_id = trial._trial_id if isinstance(trial, FrozenTrial) else trial
    try:
        storage.set_trial_user_attr(trial_id, names.FAIL_REASON, reason)
        if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
            return None
    except UpdateFinishedTrialError:
        return None  # the heartbeat (or the trial itself) got there first
    failed = storage.get_trial(trial_id)
    with warnings.catch_warnings():  # the retry callback is "experimental" since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryWithCheckpoint(max_retry=max_retry)(study, failed)
    new = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
           if (t.system_attrs.get(names.OPTUNA_RETRY_HISTORY) or [None])[-1] == failed.number]
    _log.warning("trial %d failed (%s); %s", failed.number, reason,
                 f"retried as trial {new[0]}" if new else f"not retried: it used its {max_retry} retries")
    return new[0] if new else None
