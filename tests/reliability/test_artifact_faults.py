"""The artifact directory unwritable or full: the trial fails with that reason in
``fail_reason``, the worker goes on, trials and artifacts already stored stay intact.

As root (CI) "unwritable" is ``chattr +i`` (root ignores permission bits) and "full" is a
2 MiB tmpfs mounted on the artifact directory; elsewhere ``chmod`` stands in for the first
and the second needs root.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import optuna
import pytest

from tests.conftest import _require_pg
from tests.reliability.conftest import PASSWORD, PW_USER, SHORT_SPEC, S, assert_study_consistent, state_counts, wait_until

SPEC = {
    **SHORT_SPEC,
    "fixed": {"batch_size": 64},
    "search_space": {
        "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
        "latent_dim": {"type": "categorical", "choices": [2, 4, 8]},
        "width": {"type": "categorical", "choices": [8, 256]},
    },
}
def _set_writable(path: Path, writable: bool) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i" if writable else "+i", str(path)], check=True)
    else:
        path.chmod(0o755 if writable else 0o555)


def _artifact_files(trial: optuna.trial.FrozenTrial) -> list[str]:
    return [v for k, v in trial.user_attrs.items() if k.startswith("artifact:")]


@pytest.mark.postgres
@pytest.mark.slow
def test_unwritable_artifact_dir_fails_the_trial_with_its_reason_and_the_worker_goes_on(
    private_pg, private_db, worker_pool, tmp_path: Path
) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    optuna.create_study(storage=url, study_name="ro", direction="minimize")
    pool = worker_pool(SPEC, url, "ro", 4)
    art = pool.artifact_dir
    art.mkdir()
    engine = __import__("sqlalchemy").create_engine(url, poolclass=__import__("sqlalchemy").pool.NullPool)
    (worker,) = pool.start(1)
    wait_until(lambda: state_counts(engine)["COMPLETE"] >= 1, timeout=120, what="a first complete trial", pool=pool)
    worker.proc.send_signal(signal.SIGSTOP)  # between two checks the directory turns read-only
    before = {p.name: p.read_bytes() for p in art.iterdir()}
    _set_writable(art, False)
    worker.proc.send_signal(signal.SIGCONT)
    try:
        wait_until(lambda: state_counts(engine)["FAIL"] >= 1, timeout=60, what="a failed trial", interval=0.02, pool=pool)
    finally:
        _set_writable(art, True)
    pool.wait(timeout=120)
    assert worker.proc.returncode == 0, worker.output()[-3000:]

    trials = assert_study_consistent(optuna.load_study(study_name="ro", storage=url), 4)
    failed = [t for t in trials if t.state == S.FAIL]
    assert 1 <= len(failed) <= 4
    for t in failed:
        reason = t.user_attrs["fail_reason"]
        assert reason.startswith("PermissionError") and str(art) in reason, reason
    for name, data in before.items():  # what was stored before is untouched
        assert (art / name).read_bytes() == data
    for t in trials:
        if t.state == S.COMPLETE:
            assert all((art / a).stat().st_size > 0 for a in _artifact_files(t)), t.number
    engine.dispose()


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A 2 MiB tmpfs: room for a few small trials' artifacts, not for one width-256 checkpoint.

    The failed write's partial file must go (genstudy's ArtifactStore removes it; Optuna's own
    store leaves it, and the disk then stays full for every later trial)."""
    path = tmp_path / "artifacts"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        if _require_pg():
            pytest.fail(f"cannot mount a tmpfs (root needed; CI runs as root): {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.postgres
@pytest.mark.slow
def test_full_artifact_dir_fails_the_trial_with_its_reason_and_the_worker_goes_on(
    private_pg, private_db, worker_pool, small_tmpfs: Path
) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    study = optuna.create_study(storage=url, study_name="full", direction="minimize")
    small = {"latent_dim": 4, "width": 8}
    for params in ({"lr": 1e-3, **small}, {"lr": 1e-3, "latent_dim": 8, "width": 256},
                   {"lr": 2e-3, **small}, {"lr": 5e-4, **small}):
        study.enqueue_trial(params)
    pool = worker_pool(SPEC, url, "full", 3)
    pool.artifact_dir = small_tmpfs
    (worker,) = pool.start(1)
    pool.wait(timeout=120)
    assert worker.proc.returncode == 0, worker.output()[-3000:]

    trials = assert_study_consistent(optuna.load_study(study_name="full", storage=url), 3)
    assert [t.state for t in trials] == [S.COMPLETE, S.FAIL, S.COMPLETE, S.COMPLETE]
    assert "No space left on device" in trials[1].user_attrs["fail_reason"]
    for t in (trials[0], trials[2], trials[3]):
        assert all((small_tmpfs / a).stat().st_size > 0 for a in _artifact_files(t)), t.number
