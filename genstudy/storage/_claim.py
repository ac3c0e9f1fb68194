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

from genstudy.storage._url import is_grpc_url, is_rdb_url

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
    """A session-level advisory lock on one connection kept open between claims.

    Opening a connection per claim cost more than the rest of the claim together (about 4 ms of
    a 45 ms trivial trial; bench/orchestration.py). The connection is in autocommit mode, so it
    sits idle (not "idle in transaction") while trials run; when the server dropped it (a
    restart, an idle timeout), the next claim opens a new one. A release that fails closes the
    connection, which drops the lock with the session.
    """

    def __init__(self, url: str, study_name: str) -> None:
        self._engine = sa.create_engine(url, poolclass=NullPool)
        digest = hashlib.sha256(f"genstudy-claim:{study_name}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._conn: sa.Connection | None = None
        self._held = False

    def acquire(self) -> None:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self._key})
            except sa.exc.SQLAlchemyError as e:
                self.close()
                gone = getattr(e, "connection_invalidated", False) or isinstance(e, sa.exc.PendingRollbackError)
                if attempt == 2 or not gone:
                    raise
                _log.info("claim lock: the connection was gone (%s); reconnecting", type(e).__name__)
                continue
            except BaseException:  # e.g. Ctrl-C while waiting: the lock may be granted after all
                self.close()
                raise
            self._held = True
            return

    @property
    def connection(self) -> sa.Connection | None:
        """The lock's own connection while the lock is held (autocommit: each statement sees what
        was committed before it), e.g. to count the study's trials without a pool checkout."""
        return self._conn if self._held else None

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        except sa.exc.SQLAlchemyError:  # gone, or invalidated by a failed statement (a count) on it
            self.close()  # ending the session drops the lock too
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection (and with it any lock it holds); the next claim opens a new one."""
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                conn.close()
            except sa.exc.SQLAlchemyError:
                pass


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
