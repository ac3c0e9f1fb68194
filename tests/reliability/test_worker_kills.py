"""Workers SIGKILLed again and again: the study still reaches its target, nothing is left
RUNNING, nothing is lost or counted twice (Optuna's heartbeat fails the dead workers' trials
and ``RetryHeartbeatStaleTrialCallback`` re-runs them with the same params)."""

from __future__ import annotations

import signal

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

N_TRIALS = 12
ROUNDS = 3


def _running(engine: sa.Engine) -> tuple[list[int], list[int]]:
    """Numbers of the RUNNING trials (with a heartbeat, without one yet)."""
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT t.number, h.trial_id IS NOT NULL FROM trials t LEFT JOIN trial_heartbeats h "
                                 "ON h.trial_id = t.trial_id WHERE t.state = 'RUNNING'")).all()
    return [n for n, beat in rows if beat], [n for n, beat in rows if not beat]


def _kill_mid_trial(pool, engine: sa.Engine) -> list[int]:
    """SIGKILL every worker while a trial runs; the numbers of the trials that die with them.

    The workers are frozen (SIGSTOP) first so that the RUNNING trials read are exactly the
    ones the kill catches: those with a heartbeat, and any caught between ``study.ask()`` and
    its first beat (Optuna's heartbeat never fails those; genstudy's loop does).
    """
    for w in pool.running():
        w.proc.send_signal(signal.SIGSTOP)
    beating, silent = _running(engine)
    pool.kill_all()
    return beating + silent


@pytest.mark.postgres
@pytest.mark.slow
def test_workers_killed_in_several_rounds_still_reach_the_target(private_pg, private_db, worker_pool) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    optuna.create_study(storage=url, study_name="kills", direction="minimize")
    pool = worker_pool(SHORT_SPEC, url, "kills", N_TRIALS)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    killed: set[int] = set()
    for r in range(ROUNDS):
        pool.start(2)
        # kill while trials are mid-flight (their heartbeat recorded), and after some progress
        wait_until(lambda: (state_counts(engine)["COMPLETE"] >= 2 * (r + 1)) and _running(engine)[0],
                   timeout=120, what=f"round {r}: trials in flight", interval=0.05, pool=pool)
        killed.update(_kill_mid_trial(pool, engine))  # these can never finish now
    assert killed, "no trial was caught mid-flight"
    last = pool.start(2)
    pool.wait(last, timeout=60)
    for w in last:
        assert w.proc.returncode == 0, w.output()[-3000:]

    study = optuna.load_study(study_name="kills", storage=url)
    trials = assert_study_consistent(study, N_TRIALS)
    by_number = {t.number: t for t in trials}
    retry_of = {t.system_attrs["retry_history"][-1]: t for t in trials if t.system_attrs.get("retry_history")}
    for n in killed:
        dead = by_number[n]
        assert dead.state == S.FAIL and dead.values is None, (n, dead.state)
        retry = retry_of[n]  # a retry killed in a later round has its own retry: follow the chain
        while retry.state == S.FAIL and retry.number in killed:
            retry = retry_of[retry.number]
        assert retry.state == S.COMPLETE, (n, retry.number, retry.state)
        assert all(retry.params[k] == v for k, v in dead.params.items()), "a retry re-runs the same params"
    finished = [t for t in trials if t.state in (S.COMPLETE, S.PRUNED)]
    assert len({t.number for t in finished}) == N_TRIALS
    engine.dispose()



@pytest.mark.postgres
@pytest.mark.slow
def test_a_trial_whose_worker_died_before_its_first_heartbeat_is_retried(private_pg, private_db, worker_pool) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    study = optuna.create_study(storage=url, study_name="orphan", direction="minimize")
    # exactly what such a kill leaves: a RUNNING trial with its params and no heartbeat
    orphan = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 3e-3, log=True),
                        "latent_dim": optuna.distributions.CategoricalDistribution([2, 4, 8])})
    pool = worker_pool(SHORT_SPEC, url, "orphan", 3)
    pool.start(1)
    pool.wait(timeout=30)
    assert pool.started[0].proc.returncode == 0, pool.all_output()[-3000:]
    trials = assert_study_consistent(optuna.load_study(study_name="orphan", storage=url), 3)
    assert trials[orphan.number].state == S.FAIL
    assert "its worker died before the first beat" in trials[orphan.number].user_attrs["fail_reason"]
    retry = [t for t in trials if (t.system_attrs.get("retry_history") or [None])[-1] == orphan.number]
    assert len(retry) == 1 and retry[0].state == S.COMPLETE and retry[0].params == orphan.params
