"""Opening Optuna storages (PostgreSQL, SQLite, journal file) and attaching studies to specs.

The only package that touches Optuna's storage internals (``study._storage``, its RDB models,
the heartbeat): the workers ask the questions here (``count_trials``, ``trial_state``,
``fail_stale_trials``) and take the study-wide claim lock from here (``claim_lock_for``).
"""

from __future__ import annotations

from genstudy.storage._artifacts import ArtifactStore
from genstudy.storage._claim import ClaimLock, claim_lock_for
from genstudy.storage._open import GRACE_PERIOD, HEARTBEAT_INTERVAL, MAX_RETRY, heartbeat_settings, open_storage
from genstudy.storage._retry import RetryWithCheckpoint, fail_and_retry
from genstudy.storage._study import attach_study, create_study_command, open_study
from genstudy.storage._trials import (
    OUTAGE_ERRORS,
    TrialCounts,
    count_trials,
    fail_stale_trials,
    fail_unbeaten_trials,
    heartbeat_enabled,
    trial_state,
)
from genstudy.storage._url import default_journal_path, is_grpc_url, is_rdb_url, redact_url, scrub

__all__ = [
    "ArtifactStore",
    "ClaimLock",
    "GRACE_PERIOD",
    "HEARTBEAT_INTERVAL",
    "MAX_RETRY",
    "OUTAGE_ERRORS",
    "RetryWithCheckpoint",
    "TrialCounts",
    "attach_study",
    "claim_lock_for",
    "count_trials",
    "create_study_command",
    "default_journal_path",
    "fail_and_retry",
    "fail_stale_trials",
    "fail_unbeaten_trials",
    "heartbeat_enabled",
    "heartbeat_settings",
    "is_grpc_url",
    "is_rdb_url",
    "open_storage",
    "open_study",
    "redact_url",
    "scrub",
    "trial_state",
]
