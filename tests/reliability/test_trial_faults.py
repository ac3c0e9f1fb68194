"""A trial that raises, diverges (NaN) or runs out of memory is recorded with its reason, and
the worker goes on to the next one (one real ``genstudy worker`` on PostgreSQL, faults injected
by ``tests/reliability/_faulty_worker.py``; the memory a trial asks for is really refused)."""

from __future__ import annotations

import optuna
import pytest

from tests.reliability._faulty_worker import CPU_OOM_LR, GPU_OOM_LR, NAN_LR, PY_OOM_LR, RAISE_LR
from tests.reliability.conftest import FAULTY, PASSWORD, PW_USER, SHORT_SPEC, S, assert_study_consistent

SPEC = SHORT_SPEC
TRIALS = [
    ("ok", {"lr": 1e-3, "latent_dim": 4}),
    ("torch's CPU allocator refuses", {"lr": CPU_OOM_LR, "latent_dim": 4}),
    ("diverges to NaN", {"lr": NAN_LR, "latent_dim": 4}),
    ("raises", {"lr": RAISE_LR, "latent_dim": 4}),
    ("CUDA out of memory", {"lr": GPU_OOM_LR, "latent_dim": 4}),
    ("Python's MemoryError", {"lr": PY_OOM_LR, "latent_dim": 4}),
    ("ok again", {"lr": 2e-3, "latent_dim": 4}),
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
    pool = worker_pool(SPEC, url, "faults", 3, program=FAULTY)
    (worker,) = pool.start(1)
    pool.wait(timeout=180)
    assert worker.proc.returncode == 0, worker.output()[-3000:]

    trials = assert_study_consistent(optuna.load_study(study_name="faults", storage=url), 3)
    assert [t.state for t in trials] == [S.COMPLETE, S.FAIL, S.PRUNED, S.FAIL, S.FAIL, S.FAIL, S.COMPLETE], \
        [(what, t.state) for (what, _), t in zip(TRIALS, trials)]
    reasons = [t.user_attrs.get("fail_reason") or t.user_attrs.get("prune_reason") for t in trials]
    assert reasons[1].startswith("RuntimeError") and "can't allocate memory: you tried to allocate 1125899906842624 bytes" \
        in reasons[1], reasons[1]
    assert reasons[2].startswith("diverged at epoch 1: training loss became nan"), reasons[2]
    assert reasons[3] == "ValueError: injected fault in the optimizer step", reasons[3]
    assert reasons[4].startswith("OutOfMemoryError: CUDA out of memory"), reasons[4]
    assert reasons[5] == "MemoryError: ", reasons[5]
    assert [t.params for t in trials] == [p for _, p in TRIALS], "each trial kept its params"
    assert "this worker ran 7" in worker.output()
