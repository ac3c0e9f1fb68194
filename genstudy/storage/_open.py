"""Open an Optuna storage from what the user typed, with the settings workers need."""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from collections.abc import Container
from pathlib import Path

import optuna
import sqlalchemy as sa
from optuna.storages import BaseStorage, GrpcStorageProxy, JournalStorage, RDBStorage, _CachedStorage
from optuna.storages._rdb import models
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError

from genstudy.errors import StorageError
from genstudy.storage._retry import RetryWithCheckpoint
from genstudy.storage._url import is_grpc_url, is_rdb_url, redact_url, scrub

__all__ = ["open_storage", "cached_storage", "heartbeat_settings", "HEARTBEAT_INTERVAL", "GRACE_PERIOD", "MAX_RETRY",
           "PING_AFTER_IDLE"]

_log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 10  # seconds between a running trial's heartbeats (RDB only)
GRACE_PERIOD = 60  # seconds without a heartbeat before a RUNNING trial counts as stale
MAX_RETRY = 3  # how often a stale trial is retried with the same params
PING_AFTER_IDLE = 1.0  # seconds a pooled connection may sit unused before it is pinged at checkout


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

    RDB storages get a checkout ping after ``PING_AFTER_IDLE`` seconds unused (connections that
    died with a database restart are replaced, not handed out), a small pool per process, a
    one-statement ``trial.report`` on PostgreSQL, and, with ``heartbeat``, Optuna's
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
            "sqlite:///FILE.db, grpc://HOST:PORT (genstudy storage-proxy), or a journal file path such as "
            "genstudy-runs/study.journal"
        )
    return _open_journal(Path(location))


class _ResilientRDBStorage(RDBStorage):
    """RDBStorage whose heartbeat survives a failed beat, with a one-statement ``trial.report`` on PostgreSQL.

    Optuna's heartbeat thread dies on the first exception, and the trial it beats for then looks
    stale to every other worker although it is still training. A failed beat is logged and the
    next one tried at the next interval; the checkout ping (``_ping_after_idle``) replaces the
    dead connection.

    Optuna writes an intermediate value with 3 statements in a transaction (read the trial, read
    the step's value, insert or update it). On PostgreSQL it is one ``INSERT ... SELECT ... ON
    CONFLICT`` that writes only while the trial is RUNNING; when it writes nothing (the trial is
    finished, waiting or unknown), Optuna's own method runs and raises its usual error
    (bench/orchestration.py: 5 reports were 15 of a trivial trial's 72 statements).
    """

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except SQLAlchemyError as e:
            _log.warning("heartbeat of trial id %d not recorded (%s); trying again in %s s", trial_id,
                         type(getattr(e, "orig", None) or e).__name__, self.heartbeat_interval)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        if self.engine.name != "postgresql":
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
            return
        stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(intermediate_value)
        with self.engine.begin() as conn:
            written = len(conn.execute(_report_statement(), {"tid": trial_id, "step": step, "value": stored,
                                                             "kind": kind}).all())
        if written != 1:  # not RUNNING: Optuna's method raises UpdateFinishedTrialError / KeyError, or writes (WAITING)
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)


@functools.cache
def _report_statement() -> sa.Insert:
    """INSERT the value of (tid, step) if trial tid is RUNNING, or overwrite it; RETURNING the row
    (psycopg's rowcount of an INSERT ... SELECT is -1). Built once: building it costs more than running it."""
    iv, trial = models.TrialIntermediateValueModel, models.TrialModel
    tid = sa.bindparam("tid", type_=sa.Integer)
    source = sa.select(
        tid, sa.bindparam("step", type_=sa.Integer), sa.bindparam("value", type_=iv.intermediate_value.type),
        sa.bindparam("kind", type_=iv.intermediate_value_type.type),
    ).where(trial.trial_id == tid, trial.state == TrialState.RUNNING)
    stmt = pg_insert(iv).from_select(["trial_id", "step", "intermediate_value", "intermediate_value_type"], source)
    return stmt.on_conflict_do_update(
        index_elements=["trial_id", "step"],
        set_={"intermediate_value": stmt.excluded.intermediate_value,
              "intermediate_value_type": stmt.excluded.intermediate_value_type},
    ).returning(iv.trial_intermediate_value_id)


class _WorkerCachedStorage(_CachedStorage):
    """Optuna's cache over an RDB storage, asking the database whether a WAITING trial exists first.

    ``study.ask`` looks for a WAITING trial (an enqueued retry) before it creates one, through
    ``get_all_trials(states=(WAITING,))``; the cache then re-reads every unfinished trial with
    its params, values and attrs (7 statements) although there is usually none to find. One
    ``SELECT ... LIMIT 1`` answers that; when a WAITING trial exists, Optuna's read runs as before.
    """

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        if isinstance(states, tuple) and states == (TrialState.WAITING,):
            with self._backend.engine.begin() as conn:  # begin: a ROLLBACK would drop psycopg's prepared statements
                if conn.execute(_waiting_statement(), {"sid": study_id}).first() is None:
                    return []
        return super().get_all_trials(study_id, deepcopy=deepcopy, states=states)


@functools.cache
def _waiting_statement() -> sa.Select:
    trial = models.TrialModel
    return sa.select(trial.trial_id).where(trial.study_id == sa.bindparam("sid", type_=sa.Integer),
                                           trial.state == TrialState.WAITING).limit(1)


def cached_storage(storage: BaseStorage) -> BaseStorage:
    """What Optuna's ``get_storage`` makes of ``storage``, with genstudy's cheaper WAITING check on RDB storages."""
    if isinstance(storage, RDBStorage):
        return _WorkerCachedStorage(storage)
    return storage


def _ping_after_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it sat unused for ``idle_seconds``.

    ``pool_pre_ping`` pings at every checkout, and Optuna checks out a connection for each
    storage call: about 35 extra round trips in a trivial trial. A connection used a moment
    ago is alive unless the server went down in that moment; a failed ping (a database
    restart, an idle timeout) makes the pool replace the connection, as ``pool_pre_ping``
    does (SQLAlchemy's "pessimistic disconnect handling" with a checkout event). A connection
    that died within ``idle_seconds`` fails its statement instead: SQLAlchemy then invalidates
    the whole pool, and the worker loop's outage handling (or the trial's retry) takes over.
    """
    dialect = engine.dialect

    @sa.event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record) -> None:  # SQLAlchemy's pool event signature
        record.info["genstudy_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, proxy) -> None:
        since = record.info.get("genstudy_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as e:  # noqa: BLE001 - any failed ping means: give me another connection
            raise sa.exc.DisconnectionError(f"ping of a pooled connection failed: {type(e).__name__}") from e


def _open_rdb(url: str, *, heartbeat: bool, pool_size: int) -> RDBStorage:
    engine_kwargs: dict = {}
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
            storage = _ResilientRDBStorage(url, engine_kwargs=engine_kwargs, **hb)
        _ping_after_idle(storage.engine, PING_AFTER_IDLE)
        return storage
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

