"""Open an Optuna storage from what the user typed, with the settings workers need."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, GrpcStorageProxy, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from sqlalchemy.exc import SQLAlchemyError

from genstudy.errors import StorageError
from genstudy.storage._retry import RetryWithCheckpoint
from genstudy.storage._url import is_grpc_url, is_rdb_url, redact_url, scrub

__all__ = ["open_storage", "heartbeat_settings", "HEARTBEAT_INTERVAL", "GRACE_PERIOD", "MAX_RETRY"]

_log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 10  # seconds between a running trial's heartbeats (RDB only)
GRACE_PERIOD = 60  # seconds without a heartbeat before a RUNNING trial counts as stale
MAX_RETRY = 3  # how often a stale trial is retried with the same params


def heartbeat_settings() -> tuple[int, int]:
    """(interval, grace) in seconds; ``GENSTUDY_HEARTBEAT_INTERVAL`` / ``GENSTUDY_HEARTBEAT_GRACE`` override.

    Optuna requires grace > interval; a short grace detects dead workers sooner but marks a
    trial stale when its worker is merely slow to write (a long stop-the-world pause).
    """
    interval = _env_seconds("GENSTUDY_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL)
    grace = _env_seconds("GENSTUDY_HEARTBEAT_GRACE", max(GRACE_PERIOD, 2 * interval))
    if grace <= interval:
        raise StorageError(f"GENSTUDY_HEARTBEAT_GRACE={grace} must be larger than the heartbeat interval {interval}")
    return interval, grace


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise StorageError(f"{name}={raw!r}: must be a whole number of seconds, at least 1")
    return value


def open_storage(location: str, *, heartbeat: bool = True, pool_size: int = 2) -> BaseStorage:
    """An Optuna storage for ``location``: an RDB URL or a journal file path.

    RDB storages get ``pool_pre_ping`` (connections that died with a database restart are
    replaced, not handed out), a small pool per process, and, with ``heartbeat``, Optuna's
    heartbeat with ``RetryHeartbeatStaleTrialCallback``: a trial whose worker died is marked
    FAIL and re-enqueued with the same params. The heartbeat works only with
    ``study.optimize`` on RDB storages; journal files have none (see genstudy.workers).
    """
    if is_rdb_url(location):
        return _open_rdb(location, heartbeat=heartbeat, pool_size=pool_size)
    if is_grpc_url(location):
        return _open_grpc(location)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise StorageError(
            f"storage {redact_url(location)!r}: unknown scheme {scheme!r}; use postgresql://USER@HOST/DB, "
            "sqlite:///FILE.db, grpc://HOST:PORT (genstudy storage-proxy), or a journal file path such as genstudy-runs/study.journal"
        )
    return _open_journal(Path(location))


class _ResilientRDBStorage(RDBStorage):
    """RDBStorage whose heartbeat survives a failed beat (a database restart, a dropped connection).

    Optuna's heartbeat thread dies on the first exception, and the trial it beats for then looks
    stale to every other worker although it is still training. A failed beat is logged and the
    next one tried at the next interval; ``pool_pre_ping`` replaces the dead connection.
    """

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except SQLAlchemyError as e:
            _log.warning("heartbeat of trial id %d not recorded (%s); trying again in %s s", trial_id,
                         type(getattr(e, "orig", None) or e).__name__, self.heartbeat_interval)


def _open_rdb(url: str, *, heartbeat: bool, pool_size: int) -> RDBStorage:
    engine_kwargs: dict = {"pool_pre_ping": True}
    if not url.startswith("sqlite"):
        engine_kwargs.update(pool_size=pool_size, max_overflow=2, pool_recycle=3600)
    hb: dict = {}
    if heartbeat:
        interval, grace = heartbeat_settings()
        hb = dict(heartbeat_interval=interval, grace_period=grace)
    try:
        with warnings.catch_warnings():  # heartbeat options are "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if heartbeat:
                hb["heartbeat_stale_trial_callback"] = RetryWithCheckpoint(max_retry=MAX_RETRY)
            return _ResilientRDBStorage(url, engine_kwargs=engine_kwargs, **hb)
    except (SQLAlchemyError, ImportError, ValueError) as e:
        detail = _first_line(scrub(str(getattr(e, "orig", None) or e), url))
        raise StorageError(
            f"cannot open storage {redact_url(url)}: {detail}; check that the server is running and "
            "reachable, the database exists (createdb NAME) and the user and password are right"
        ) from None


def _open_grpc(url: str) -> GrpcStorageProxy:
    """A client of Optuna's gRPC storage proxy (``genstudy storage-proxy`` serves one).

    No heartbeat passes through the proxy (optuna #6615): trials of dead Ray actors are
    recovered by the genstudy driver instead.
    """
    host, _, port = url.split("://", 1)[1].rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise StorageError(f"storage {url!r}: expected grpc://HOST:PORT, e.g. grpc://127.0.0.1:13000")
    proxy = GrpcStorageProxy(host=host, port=int(port))
    try:
        proxy.wait_server_ready(timeout=15)
    except Exception as e:  # noqa: BLE001 - grpc raises its own FutureTimeoutError / RpcError kinds
        raise StorageError(
            f"cannot reach the gRPC storage proxy at {url} ({type(e).__name__}); start it with "
            "`genstudy storage-proxy --storage URL --port PORT` and check the host and port"
        ) from None
    return proxy


def _open_journal(path: Path) -> JournalStorage:
    if path.is_dir():
        raise StorageError(f"storage {str(path)!r} is a directory; give a journal file path such as {path / 'study.journal'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > 0:
            with path.open("rb") as f:
                if f.read(16).startswith(b"SQLite format 3"):
                    raise StorageError(f"storage {str(path)!r} is an SQLite file; pass it as sqlite:///{path}")
        return JournalStorage(JournalFileBackend(str(path)))
    except OSError as e:
        raise StorageError(f"cannot open journal file {str(path)!r}: {e.strerror}; check the path and its permissions") from None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line.rstrip(".")

