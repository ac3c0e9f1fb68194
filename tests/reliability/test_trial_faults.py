"""A trial that raises, diverges (NaN) or runs out of memory is recorded with its reason, and
the worker goes on to the next one (one real ``genstudy worker`` on PostgreSQL, faults injected
by ``tests/reliability/_faulty_worker.py``)."""

from __future__ import annotations

import optuna
import pytest

from tests.reliability._faulty_worker import GPU_OOM_LR, NAN_LR, RAISE_LR
from tests.reliability.conftest import FAULTY, PASSWORD, PW_USER, SHORT_SPEC, S, assert_study_consistent

SPEC = {
    **SHORT_SPEC,
    "fixed": {},
    "search_space": {
        "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
        "latent_dim": {"type": "categorical", "choices": [2, 4, 8]},
        "width": {"type": "categorical", "choices": [8, 512]},
        "batch_size": {"type": "categorical", "choices": [64, 8192]},
    },
}
SMALL = {"latent_dim": 4, "width": 8, "batch_size": 64}
TRIALS = [
    ("ok", {"lr": 1e-3, **SMALL}),
    ("out of memory (RLIMIT_AS)", {"lr": 1e-3, "latent_dim": 8, "width": 512, "batch_size": 8192}),
    ("diverges to NaN", {"lr": NAN_LR, **SMALL}),
    ("raises", {"lr": RAISE_LR, **SMALL}),
    ("CUDA out of memory", {"lr": GPU_OOM_LR, **SMALL}),
    ("ok again", {"lr": 2e-3, **SMALL}),
]


@pytest.mark.postgres
@pytest.mark.slow
def test_raising_diverging_and_out_of_memory_trials_are_recorded_and_the_worker_goes_on(
    private_pg, private_db, worker_pool
) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    study = optuna.create_study(storage=url, study_name="faults", direction="minimize")
    for _, params in TRIALS:
        study.enqueue_trial(params)
    pool = worker_pool(SPEC, url, "faults", 3, program=FAULTY, env={"GENSTUDY_TEST_AS_HEADROOM_MB": "400", "MALLOC_ARENA_MAX": "1"})
    (worker,) = pool.start(1)
    pool.wait(timeout=180)
    assert worker.proc.returncode == 0, worker.output()[-3000:]

    trials = assert_study_consistent(optuna.load_study(study_name="faults", storage=url), 3)
    assert [t.state for t in trials] == [S.COMPLETE, S.FAIL, S.PRUNED, S.FAIL, S.FAIL, S.COMPLETE], \
        [(what, t.state) for (what, _), t in zip(TRIALS, trials)]
    reasons = [t.user_attrs.get("fail_reason") or t.user_attrs.get("prune_reason") for t in trials]
    assert "can't allocate memory" in reasons[1] and reasons[1].startswith("RuntimeError"), reasons[1]
    assert reasons[2].startswith("diverged at epoch 1: training loss became nan"), reasons[2]
    assert reasons[3] == "ValueError: injected fault in the optimizer step", reasons[3]
    assert reasons[4].startswith("OutOfMemoryError: CUDA out of memory"), reasons[4]
    assert [t.params for t in trials] == [p for _, p in TRIALS], "each trial kept its params"
    assert "this worker ran 6" in worker.output()
