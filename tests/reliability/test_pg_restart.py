"""PostgreSQL restarted in the middle of a study (a private cluster: ``pg_ctl stop -m fast``,
2 s down, start again: what ``pg_ctlcluster ... restart`` does, with a gap long enough that
heartbeats, claims and writes all hit the outage)."""

from __future__ import annotations


import optuna
import pytest
import sqlalchemy as sa

from tests.reliability.conftest import (
    PASSWORD,
    PW_USER,
    SHORT_SPEC,
    S,
    assert_study_consistent,
    state_counts,
    wait_until,
)

N_TRIALS = 10

def _running_with_heartbeat(engine: sa.Engine) -> list[tuple[int, int]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(
            "SELECT t.trial_id, t.number FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
            "WHERE t.state = 'RUNNING' ORDER BY t.number"))]


def _lock_waiters(admin: sa.Connection, database: str) -> int:
    return admin.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND wait_event_type = 'Lock'"),
                         {"d": database}).scalar()


@pytest.mark.postgres
@pytest.mark.slow
def test_workers_carry_on_after_a_restart_and_the_trial_caught_mid_write_is_retried(
    private_pg, private_db, worker_pool
) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    optuna.create_study(storage=url, study_name="restart", direction="minimize")
    pool = worker_pool(SHORT_SPEC, url, "restart", N_TRIALS)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    pool.start(2)
    wait_until(lambda: state_counts(engine)["COMPLETE"] >= 3, timeout=120, what="3 complete trials", pool=pool)

    # Catch one trial mid-write: hold its row lock, so the worker's write of its results blocks...
    superuser = sa.create_engine(private_pg.url(private_db), poolclass=sa.pool.NullPool)
    holder = superuser.connect()
    holder.begin()
    trial_id, caught = wait_until(lambda: _running_with_heartbeat(engine), timeout=60, what="a running trial", pool=pool)[0]
    holder.execute(sa.text("SELECT 1 FROM trials WHERE trial_id = :t FOR UPDATE"), {"t": trial_id})
    with superuser.connect() as watch:
        wait_until(lambda: _lock_waiters(watch, private_db) > 0, timeout=60, what=f"trial {caught} writing", pool=pool)
    before = {t.number: (t.state, t.values, t.params) for t in optuna.load_study(study_name="restart", storage=url).trials
              if t.state.is_finished()}
    # ... and restart the server under it (the fast shutdown ends every session, ours too).
    private_pg.restart(down_seconds=2.0)
    holder.invalidate()
    superuser.dispose()

    pool.wait(timeout=180)
    out = pool.all_output()
    for w in pool.started:
        assert w.proc.returncode == 0, f"a worker did not survive the restart:\n{w.output()[-3000:]}"
    assert "Traceback" not in out, out[-3000:]

    study = optuna.load_study(study_name="restart", storage=url)
    trials = assert_study_consistent(study, N_TRIALS)
    by_number = {t.number: t for t in trials}
    for n, (state, values, params) in before.items():  # finished before the restart: intact
        assert (by_number[n].state, by_number[n].values, by_number[n].params) == (state, values, params)
    mid_write = by_number[caught]
    assert mid_write.state == S.FAIL, "its write was rolled back by the restart"
    retries = [t for t in trials if (t.system_attrs.get("retry_history") or [None])[-1] == caught]
    assert len(retries) == 1 and retries[0].state == S.COMPLETE and retries[0].params == mid_write.params
    engine.dispose()
