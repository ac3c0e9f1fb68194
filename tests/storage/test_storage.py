"""Opening storages and attaching studies, against the real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import math
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState

from genstudy import names
from genstudy.errors import StorageError, StudyMismatchError, StudyNotFoundError
from genstudy.objectives import make_pruner, make_sampler
from genstudy.spec import parse_spec
from genstudy.storage import attach_study, open_storage, redact_url
from genstudy.storage._open import cached_storage
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
def test_plain_postgresql_url_uses_heartbeat(pg_url: str) -> None:
    storage = open_storage(pg_url)
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert storage.get_heartbeat_interval() is not None


def _terminate_other_backends(pg_admin, url: str) -> int:
    """Kill every server session of ``url``'s database, as a database restart does."""
    db = url.rsplit("/", 1)[1]
    with pg_admin.connect() as c:
        return len(c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                             {"d": db}).all())


@pytest.mark.postgres
def test_pooled_connections_killed_by_the_server_are_replaced_after_idle(pg_admin, pg_url: str, monkeypatch) -> None:
    """A connection the server dropped (a restart, an idle timeout) is pinged at checkout and replaced:
    the next storage call succeeds instead of raising OperationalError."""
    monkeypatch.setattr("genstudy.storage._open.PING_AFTER_IDLE", 0.2)
    study = optuna.create_study(storage=open_storage(pg_url, heartbeat=False), study_name="ping")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)  # the pool now holds live connections
    assert _terminate_other_backends(pg_admin, pg_url) >= 1
    time.sleep(0.3)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4


@pytest.mark.postgres
def test_reported_values_round_trip_and_overwrite(pg_url: str) -> None:
    """genstudy's one-statement ``trial.report`` stores what Optuna's does: finite, inf, -inf, NaN; a step
    written again is overwritten, as in Optuna's RDBStorage."""
    storage = open_storage(pg_url, heartbeat=False)
    study = optuna.create_study(storage=cached_storage(storage), study_name="report")
    trial = study.ask()
    for step, value in enumerate([1.5, float("inf"), float("-inf"), float("nan"), 2.0]):
        trial.report(value, step)
    storage.set_trial_intermediate_value(trial._trial_id, 4, 7.0)  # Trial.report ignores a repeated step; storages overwrite
    values = study.trials[0].intermediate_values
    assert values[0] == 1.5 and values[1] == float("inf") and values[2] == float("-inf") and math.isnan(values[3])
    assert values[4] == 7.0 and len(values) == 5
    study.tell(trial, 1.0)
    assert optuna.load_study(study_name="report", storage=pg_url).trials[0].intermediate_values[4] == 7.0


@pytest.mark.postgres
def test_report_on_a_finished_trial_is_refused_as_optuna_refuses_it(pg_url: str) -> None:
    storage = open_storage(pg_url, heartbeat=False)
    study = optuna.create_study(storage=cached_storage(storage), study_name="finished")
    trial = study.ask()
    trial.report(1.0, 0)
    study.tell(trial, 1.0)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_intermediate_value(trial._trial_id, 1, 2.0)
    assert study.trials[0].intermediate_values == {0: 1.0}
    with pytest.raises(KeyError):
        storage.set_trial_intermediate_value(10_000, 0, 1.0)


@pytest.mark.postgres
def test_enqueued_trials_are_still_popped_first(pg_url: str) -> None:
    """The cheap "is any trial WAITING?" check must not hide enqueued trials (genstudy's retries are enqueued)."""
    study = optuna.create_study(storage=cached_storage(open_storage(pg_url, heartbeat=False)), study_name="waiting")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    study.enqueue_trial({"x": 0.123})
    study.enqueue_trial({"x": 0.456})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert [t.params["x"] for t in study.trials[2:4]] == [0.123, 0.456]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5


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
    assert study.user_attrs[names.SPEC]["objective"] == "vae"
    assert len(study.user_attrs[names.SPEC_DIGEST]) == 64
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
