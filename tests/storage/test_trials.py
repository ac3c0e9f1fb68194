"""The storage questions the worker loop asks once per trial, on every kind of storage."""

from __future__ import annotations

import datetime
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState

from genstudy import names
from genstudy.storage import claim_lock_for, count_trials, fail_unbeaten_trials, heartbeat_enabled, open_storage, trial_state

S = TrialState
X = {"x": optuna.distributions.FloatDistribution(0, 1)}


def _fill(study: optuna.Study) -> None:
    """2 COMPLETE, 1 PRUNED, 1 FAIL, 1 RUNNING, 1 WAITING."""
    for state in (S.COMPLETE, S.COMPLETE, S.PRUNED, S.FAIL):
        trial = study.ask(X)
        study.tell(trial, 0.5 if state == S.COMPLETE else None, state=state)
    study.ask(X)
    study.enqueue_trial({"x": 0.1})


@pytest.fixture(params=["journal", "sqlite", "postgresql"])
def location(request, tmp_path: Path) -> str:
    if request.param == "journal":
        return str(tmp_path / "s.journal")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return request.getfixturevalue("pg_url")


def test_counts_and_states_are_read_as_stored(location: str) -> None:
    study = optuna.create_study(storage=open_storage(location, heartbeat=False), study_name="t")
    _fill(study)
    counts = count_trials(study)
    assert (counts.complete, counts.pruned, counts.failed, counts.running, counts.waiting) == (2, 1, 1, 1, 1)
    assert counts.finished == 3
    assert [trial_state(study, n) for n in range(6)] == [S.COMPLETE, S.COMPLETE, S.PRUNED, S.FAIL, S.RUNNING, S.WAITING]


@pytest.mark.postgres
def test_counts_on_the_claim_locks_own_connection_see_every_commit(pg_url: str) -> None:
    study = optuna.create_study(storage=open_storage(pg_url, heartbeat=False), study_name="t")
    claim = claim_lock_for(pg_url, "t")
    claim.acquire()
    try:
        assert count_trials(study, connection=claim.connection).finished == 0
        other = optuna.load_study(study_name="t", storage=pg_url)  # another worker, another connection
        other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        assert count_trials(study, connection=claim.connection).complete == 2
    finally:
        claim.release()


def test_the_heartbeat_runs_only_on_rdb_storages_opened_with_it(tmp_path: Path) -> None:
    journal = optuna.create_study(storage=open_storage(str(tmp_path / "s.journal")), study_name="j")
    assert not heartbeat_enabled(journal)
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert heartbeat_enabled(optuna.create_study(storage=open_storage(url), study_name="a"))
    assert not heartbeat_enabled(optuna.create_study(storage=open_storage(url, heartbeat=False), study_name="b"))
    assert fail_unbeaten_trials(journal) == [], "nothing to do without a heartbeat"


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_a_trial_whose_worker_never_beat_is_failed_and_retried_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=open_storage(url), study_name="u")
    dead = study.ask(X)  # its worker died before the heartbeat thread's first beat: no heartbeat row
    engine = sa.create_engine(url)
    with engine.begin() as c:  # started long before the grace period
        c.execute(sa.text("UPDATE trials SET datetime_start = :t"), {"t": datetime.datetime(2020, 1, 1)})
    engine.dispose()
    assert fail_unbeaten_trials(study) == [dead.number]
    assert fail_unbeaten_trials(study) == [], "retried once"
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [S.FAIL, S.WAITING]
    assert "no heartbeat ever recorded" in trials[0].user_attrs[names.FAIL_REASON]
    assert trials[1].system_attrs[names.OPTUNA_RETRY_HISTORY] == [dead.number]
