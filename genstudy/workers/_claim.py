"""A study-wide lock held from "is the target reached?" until the new trial exists.

Without it two workers that check the count at the same moment both start a trial and the
study overshoots its target. The lock lives beside the study: a PostgreSQL advisory lock,
or an ``flock`` on a file next to a journal or SQLite file. Held for milliseconds per trial.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from genstudy.storage import is_grpc_url, is_rdb_url

__all__ = ["ClaimLock", "claim_lock_for"]

_log = logging.getLogger(__name__)


class ClaimLock(Protocol):
    def acquire(self) -> None: ...
    def release(self) -> None: ...


class _NoLock:
    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass


class _FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh = None

    def acquire(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self._path.open("a")
        fcntl.flock(self._fh, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class _PgAdvisoryLock:
    def __init__(self, url: str, study_name: str) -> None:
        self._engine = sa.create_engine(url, poolclass=NullPool, pool_pre_ping=True)
        digest = hashlib.sha256(f"genstudy-claim:{study_name}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._conn: sa.Connection | None = None

    def acquire(self) -> None:
        self._conn = self._engine.connect()
        self._conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self._key})

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            finally:
                self._conn.close()  # closing the session also drops the lock
                self._conn = None


def claim_lock_for(location: str, study_name: str) -> ClaimLock:
    """The claim lock that fits the storage at ``location``."""
    if is_grpc_url(location):
        _log.warning("no claim lock through the gRPC storage proxy: parallel workers may overshoot n_trials by up to "
                     "one trial each")
        return _NoLock()
    if is_rdb_url(location):
        backend = make_url(location).get_backend_name()
        if backend == "postgresql":
            return _PgAdvisoryLock(location, study_name)
        if backend == "sqlite" and make_url(location).database:
            return _FileLock(Path(f"{make_url(location).database}.{study_name}.lock"))
        _log.warning("no claim lock for %s storages: parallel workers may overshoot n_trials by a few", backend)
        return _NoLock()
    return _FileLock(Path(f"{location}.{study_name}.lock"))
