"""Storage locations as users type them: RDB URLs or a journal file path."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["is_grpc_url", "is_rdb_url", "redact_url", "scrub", "default_journal_path"]

_RDB_SCHEMES = ("postgresql", "postgres", "mysql", "sqlite", "mariadb", "oracle", "mssql")


def is_rdb_url(location: str) -> bool:
    """Whether ``location`` is an SQLAlchemy URL (else it is a journal file path)."""
    scheme = location.split("://", 1)[0].split("+", 1)[0].lower() if "://" in location else ""
    return scheme in _RDB_SCHEMES


def is_grpc_url(location: str) -> bool:
    """Whether ``location`` names Optuna's gRPC storage proxy (``grpc://HOST:PORT``)."""
    return location.lower().startswith("grpc://")


def redact_url(location: str) -> str:
    """``location`` with any password replaced by ``***`` (safe to log, print and store)."""
    if "://" not in location:
        return location
    try:
        url = make_url(location)
    except (ArgumentError, ValueError):
        # Not parseable: hide everything between '://' and the last '@' to be safe.
        head, rest = location.split("://", 1)
        return f"{head}://***@{rest.rsplit('@', 1)[1]}" if "@" in rest else location
    return url.render_as_string(hide_password=True) if url.password else location


def scrub(text: str, location: str) -> str:
    """``text`` with the password of ``location`` (if any) removed wherever it appears."""
    if "://" not in location:
        return text
    try:
        password = make_url(location).password
    except (ArgumentError, ValueError):
        return text
    if password:
        text = text.replace(str(password), "***")
    return text.replace(location, redact_url(location))


def default_journal_path(study_name: str, runs_dir: str | Path = "genstudy-runs") -> Path:
    """Where ``genstudy run`` keeps a study by default: one journal file per study."""
    return Path(runs_dir) / f"{study_name}.journal"
