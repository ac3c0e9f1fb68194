"""One exception hierarchy: every error a user can cause is a ``GenstudyError``.

The CLI prints ``str(error)`` as one line (no traceback unless ``--debug``), so each
message says what is wrong, the offending value, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "GenstudyError",
    "SpecError",
    "StorageError",
    "StudyNotFoundError",
    "StudyMismatchError",
    "DataError",
    "AnalysisError",
]


class GenstudyError(Exception):
    """Base class of every error genstudy raises on purpose."""


class SpecError(GenstudyError):
    """A study spec is malformed: names the file, the key, the value and the fix."""


class StorageError(GenstudyError):
    """The Optuna storage cannot be opened or used (URL shown without its password)."""


class StudyNotFoundError(StorageError):
    """The named study does not exist in the storage."""


class StudyMismatchError(StorageError):
    """The study exists but does not fit the spec (directions, or a different spec)."""


class DataError(GenstudyError):
    """A dataset is unknown, missing or corrupt."""


class AnalysisError(GenstudyError):
    """A study cannot be analysed as asked (unknown target, no usable trials)."""
