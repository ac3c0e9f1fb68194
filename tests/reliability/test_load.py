"""Load: 8 ``genstudy worker`` processes on one PostgreSQL study, a few hundred short trials."""

from __future__ import annotations

import re
import time

import optuna
import pytest

from tests.reliability.conftest import PASSWORD, PW_USER, TINIEST_SPEC, ConnectionWatch, assert_study_consistent

N_WORKERS = 8
N_TRIALS = 240
# Per worker process: the storage's SQLAlchemy pool (pool_size 2 + max_overflow 2, shared with
# the heartbeat thread) and the claim lock's own connection, held only while claiming.
PER_WORKER = 2 + 2 + 1


@pytest.mark.postgres
@pytest.mark.slow
def test_eight_workers_share_one_study_without_deadlock_loss_or_duplicates(private_pg, private_db, worker_pool) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    optuna.create_study(storage=url, study_name="load", direction="minimize")
    pool = worker_pool(TINIEST_SPEC, url, "load", N_TRIALS)
    admin = private_pg.admin()
    started = time.monotonic()
    with ConnectionWatch(admin, private_db) as watch:
        pool.start(N_WORKERS)
        pool.wait(timeout=400)  # a deadlock shows up as this timeout
    elapsed = time.monotonic() - started
    for w in pool.started:
        assert w.proc.returncode == 0, w.output()[-3000:]

    study = optuna.load_study(study_name="load", storage=url)
    trials = assert_study_consistent(study, N_TRIALS)
    assert len(trials) == N_TRIALS, "no surplus trial: the claim lock holds the target exactly"
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    ran = [int(re.search(r"this worker ran (\d+)", w.output()).group(1)) for w in pool.started]
    assert sum(ran) == N_TRIALS and min(ran) >= 1, ran  # every worker took part, no trial ran twice
    assert 0 < watch.peak <= N_WORKERS * PER_WORKER, f"{watch.peak} connections (bound {N_WORKERS * PER_WORKER})"
    print(f"\n{N_WORKERS} workers, {N_TRIALS} trials in {elapsed:.1f} s; peak {watch.peak} connections "
          f"({watch.samples} samples); trials per worker {sorted(ran)}")
    admin.dispose()
