"""Opening Optuna storages (PostgreSQL, SQLite, journal file) and attaching studies to specs."""

from __future__ import annotations

from genstudy.storage._artifacts import ArtifactStore
from genstudy.storage._open import GRACE_PERIOD, HEARTBEAT_INTERVAL, MAX_RETRY, heartbeat_settings, open_storage
from genstudy.storage._retry import RetryWithCheckpoint, fail_and_retry
from genstudy.storage._study import SPEC_ATTR, SPEC_DIGEST_ATTR, attach_study, create_study_command
from genstudy.storage._url import default_journal_path, is_grpc_url, is_rdb_url, redact_url, scrub

__all__ = [
    "ArtifactStore",
    "GRACE_PERIOD",
    "HEARTBEAT_INTERVAL",
    "MAX_RETRY",
    "RetryWithCheckpoint",
    "SPEC_ATTR",
    "SPEC_DIGEST_ATTR",
    "attach_study",
    "create_study_command",
    "default_journal_path",
    "fail_and_retry",
    "heartbeat_settings",
    "is_grpc_url",
    "is_rdb_url",
    "open_storage",
    "redact_url",
    "scrub",
]
