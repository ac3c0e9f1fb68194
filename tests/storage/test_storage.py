"""Opening storages and attaching studies, against the real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from genstudy.errors import StorageError, StudyMismatchError, StudyNotFoundError
from genstudy.objectives import make_pruner, make_sampler
from genstudy.spec import parse_spec
from genstudy.storage import SPEC_ATTR, SPEC_DIGEST_ATTR, attach_study, open_storage, redact_url
from tests.conftest import TINY_SPEC

PASSWORD = "s3cret-Pw-9f2"


def _attach(spec, location: str, name: str, *, create: bool):
    return attach_study(spec, storage=open_storage(location, heartbeat=False), location=location, study_name=name,
                        create=create, sampler=make_sampler(spec, seed=0), pruner=make_pruner(spec))


def test_redact_url_hides_password_only() -> None:
    assert redact_url(f"postgresql://bob:{PASSWORD}@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert redact_url("postgresql://bob@db/x") == "postgresql://bob@db/x"
    assert redact_url("genstudy-runs/a.journal") == "genstudy-runs/a.journal"


@pytest.mark.postgres
def test_unreachable_server_is_one_line_without_password() -> None:
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:1/nodb"
    with pytest.raises(StorageError) as info:
        open_storage(url)
    msg = str(info.value)
    assert PASSWORD not in msg and "\n" not in msg
    assert "postgresql://bob:***@127.0.0.1:1/nodb" in msg and "running" in msg


@pytest.mark.postgres
def test_missing_database_says_so(pg_admin) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        open_storage("postgresql://postgres@127.0.0.1:5432/genstudy_no_such_db")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(StorageError, match="unknown scheme 'redis'"):
        open_storage("redis://localhost:6379")


@pytest.mark.postgres
def test_plain_postgresql_url_uses_heartbeat_and_pre_ping(pg_url: str) -> None:
    storage = open_storage(pg_url)
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert storage.get_heartbeat_interval() is not None
    assert storage.engine.pool._pre_ping is True


@pytest.mark.postgres
def test_missing_study_names_the_create_command(pg_url: str) -> None:
    spec = parse_spec(TINY_SPEC)
    with pytest.raises(StudyNotFoundError) as info:
        _attach(spec, pg_url, "vae-demo", create=False)
    msg = str(info.value)
    assert f"optuna create-study --storage {pg_url} --study-name vae-demo --direction minimize" in msg


@pytest.mark.postgres
def test_direction_mismatch_is_refused(pg_url: str) -> None:
    optuna.create_study(storage=pg_url, study_name="two", directions=["minimize", "maximize"])
    with pytest.raises(StudyMismatchError, match=r"has directions \['minimize', 'maximize'\].*\['fid'\] need \['minimize'\]"):
        _attach(parse_spec(TINY_SPEC), pg_url, "two", create=False)


@pytest.mark.postgres
def test_spec_is_recorded_and_a_different_spec_is_refused(pg_url: str) -> None:
    optuna.create_study(storage=pg_url, study_name="s", direction="minimize")
    spec = parse_spec(TINY_SPEC)
    study = _attach(spec, pg_url, "s", create=False)
    assert study.user_attrs[SPEC_ATTR]["objective"] == "vae"
    assert len(study.user_attrs[SPEC_DIGEST_ATTR]) == 64
    _attach(spec, pg_url, "s", create=False)  # the same spec attaches again
    other = parse_spec(dict(TINY_SPEC, budget={"epochs": 3, "n_trials": 4}))
    with pytest.raises(StudyMismatchError, match=r"different spec .*differing keys: budget\.epochs"):
        _attach(other, pg_url, "s", create=False)


def test_journal_study_is_created_and_reloaded(tmp_path: Path) -> None:
    location = str(tmp_path / "runs" / "q.journal")
    spec = parse_spec(TINY_SPEC)
    study = _attach(spec, location, "q", create=True)
    study.enqueue_trial({"lr": 1e-3, "latent_dim": 4})
    again = _attach(spec, location, "q", create=True)
    assert again.trials[0].state == optuna.trial.TrialState.WAITING
    assert (tmp_path / "runs" / "q.journal").stat().st_size > 0


def test_journal_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        open_storage(str(tmp_path))
