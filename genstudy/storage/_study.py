"""Attach a spec to an Optuna study: create or load it, and refuse what does not fit."""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.storages import BaseStorage
from sqlalchemy.exc import SQLAlchemyError

from genstudy import names
from genstudy.errors import StorageError, StudyMismatchError, StudyNotFoundError
from genstudy.spec import StudySpec, spec_digest
from genstudy.storage._open import cached_storage, open_storage
from genstudy.storage._url import redact_url, scrub

__all__ = ["attach_study", "create_study_command", "open_study"]

_log = logging.getLogger(__name__)


def create_study_command(location: str, study_name: str, directions: list[str]) -> str:
    """The ``optuna create-study`` command that creates a study fitting ``directions``."""
    if len(directions) == 1:
        dirs = f"--direction {directions[0]}"
    else:
        dirs = "--directions " + " ".join(directions)
    return f"optuna create-study --storage {redact_url(location)} --study-name {study_name} {dirs}"


def attach_study(
    spec: StudySpec,
    *,
    storage: BaseStorage,
    location: str,
    study_name: str,
    create: bool,
    sampler: BaseSampler,
    pruner: BasePruner,
) -> optuna.Study:
    """Create (``create=True``) or load the study, check it fits ``spec``, record the spec.

    The resolved spec and its sha256 are stored as study user attrs the first time; a later
    attach with a different spec is refused with the keys that differ. An RDB storage gets
    Optuna's trial cache with genstudy's cheaper WAITING check (``cached_storage``).
    """
    storage = cached_storage(storage)
    try:
        if create:
            study = optuna.create_study(
                storage=storage, study_name=study_name, directions=spec.directions,
                sampler=sampler, pruner=pruner, load_if_exists=True,
            )
        else:
            study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        raise StudyNotFoundError(
            f"study {study_name!r} does not exist in {redact_url(location)}; create it first with: "
            f"{create_study_command(location, study_name, spec.directions)}"
        ) from None
    except SQLAlchemyError as e:
        detail = scrub(str(getattr(e, "orig", None) or e), location).strip().splitlines()[0]
        raise StorageError(f"storage {redact_url(location)} failed while opening study {study_name!r}: {detail}") from None
    _check_directions(study, spec, location)
    _check_or_record_spec(study, spec)
    return study


def open_study(
    spec: StudySpec,
    *,
    location: str,
    study_name: str,
    create: bool,
    sampler: BaseSampler,
    pruner: BasePruner,
    heartbeat: bool = True,
) -> optuna.Study:
    """``attach_study`` on the storage at ``location``, opened by ``open_storage`` (``heartbeat``:
    Optuna's stale-trial heartbeat on RDB storages; off for processes that run no trials)."""
    return attach_study(spec, storage=open_storage(location, heartbeat=heartbeat), location=location,
                        study_name=study_name, create=create, sampler=sampler, pruner=pruner)


def _check_directions(study: optuna.Study, spec: StudySpec, location: str) -> None:
    have = [d.name.lower() for d in study.directions]
    if have != spec.directions:
        raise StudyMismatchError(
            f"study {study.study_name!r} has directions {have}, but the spec's metrics {spec.metrics} need "
            f"{spec.directions}; change the spec's metrics, or create a new study with: "
            f"{create_study_command(location, study.study_name + '-2', spec.directions)}"
        )


def _check_or_record_spec(study: optuna.Study, spec: StudySpec) -> None:
    resolved = spec.resolved()
    digest = spec_digest(resolved)
    attrs = study.user_attrs
    stored_digest = attrs.get(names.SPEC_DIGEST)
    if stored_digest is None:
        study.set_user_attr(names.SPEC, resolved)
        study.set_user_attr(names.SPEC_DIGEST, digest)
        _log.info("recorded spec %s in study %s", digest[:12], study.study_name)
        return
    if stored_digest != digest:
        changed = _diff_keys(attrs.get(names.SPEC, {}), resolved)
        raise StudyMismatchError(
            f"study {study.study_name!r} was started with a different spec (sha256 {stored_digest[:12]} vs "
            f"{digest[:12]}; differing keys: {', '.join(changed) or 'unknown'}); use the original spec, "
            "or a new --study-name for the changed one"
        )


def _diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out += _diff_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]
