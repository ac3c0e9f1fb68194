"""Fixtures of the reliability tests: a private PostgreSQL cluster, worker processes, study reads.

Workers are the real ``genstudy worker`` command in subprocesses, with a short heartbeat
(``GENSTUDY_HEARTBEAT_INTERVAL=1``, ``GENSTUDY_HEARTBEAT_GRACE=3``) so that a dead worker's
trial is found stale in seconds, and one torch thread each (2 CPU cores on CI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import BIN, REPO, TINY_SPEC, _require_pg
from tests.reliability._pgcluster import PrivateCluster, remove_private_cluster, start_private_cluster

S = optuna.trial.TrialState
PASSWORD = "S3cret-PW-q7Zx"  # the password of PW_USER in the private cluster (scram-sha-256)
PW_USER = "genstudy_pw"

# Trials of a few hundred milliseconds: long enough to be killed or caught mid-flight.
SHORT_SPEC = {
    **TINY_SPEC,
    "budget": {"epochs": 3, "n_trials": 8},
    "sampler": {"name": "random", "seed": 0},
    "pruner": {"name": "none"},
    "evaluation": {"n_samples": 100, "iwae_k": 4, "prune_fid_samples": 50},
}
# The smallest real trial (tens of milliseconds): for the load test.
TINIEST_SPEC = {
    **SHORT_SPEC,
    "budget": {"epochs": 1, "n_trials": 8},
    "evaluation": {"n_samples": 10, "iwae_k": 1, "prune_fid_samples": 10},
    "fixed": {"width": 4, "batch_size": 512},
}
WORKER_ENV = {
    "GENSTUDY_HEARTBEAT_INTERVAL": "1",
    "GENSTUDY_HEARTBEAT_GRACE": "3",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@pytest.fixture(autouse=True)
def _keep_denormals():
    """``EvalContext.load`` flushes denormal floats for the whole process (a CPU speed-up);
    hypothesis refuses to run in such a process, so each test here leaves it as it found it."""
    import torch

    yield
    torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of these tests alone (the shared one on 5432 is never restarted)."""
    try:
        cluster = start_private_cluster()
    except Exception as e:  # noqa: BLE001
        if _require_pg():
            pytest.fail(f"cannot start a private PostgreSQL cluster (required in CI): {e}")
        pytest.skip(f"cannot start a private PostgreSQL cluster ({e}); CI runs these tests")
    cluster.execute(f"CREATE ROLE {PW_USER} LOGIN PASSWORD '{PASSWORD}'")
    yield cluster
    remove_private_cluster(cluster)


@pytest.fixture
def private_db(private_pg: PrivateCluster) -> Iterator[str]:
    """A fresh database in the private cluster owned by ``PW_USER``; yields its name."""
    name = f"rel_{uuid.uuid4().hex[:10]}"
    private_pg.execute(f'CREATE DATABASE "{name}" OWNER {PW_USER}')
    yield name
    try:
        private_pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # noqa: BLE001 - the cluster may be down after a failed restart test
        pass


@pytest.fixture(scope="session")
def warm_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs dir whose cache holds the toy dataset's classifier and test statistics, so that
    workers started in parallel do not all train the classifier at once."""
    from genstudy.objectives import EvalContext
    from genstudy.spec import parse_spec

    runs = tmp_path_factory.mktemp("runs")
    EvalContext.load(parse_spec(SHORT_SPEC), cache_dir=runs / "cache", device=__import__("torch").device("cpu"))
    __import__("torch").set_flush_denormal(False)
    return runs


def write_yaml(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@dataclass
class Worker:
    proc: subprocess.Popen
    out: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)


@dataclass
class WorkerPool:
    """``genstudy worker`` subprocesses writing to files (pipes could fill and block them)."""

    spec: Path
    storage: str
    study_name: str
    n_trials: int
    runs_dir: Path
    artifact_dir: Path
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    program: tuple[str, ...] = (str(BIN / "genstudy"),)
    started: list[Worker] = field(default_factory=list)

    def start(self, count: int = 1, *, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> list[Worker]:
        new = []
        for _ in range(count):
            k = len(self.started) + len(new)
            out = self.log_dir / f"worker-{k}.log"
            cmd = [*self.program, "worker", str(self.spec), "--storage", self.storage,
                   "--study-name", self.study_name, "--n-trials", str(self.n_trials), "--worker-index", str(k),
                   "--runs-dir", str(self.runs_dir), "--artifact-dir", str(self.artifact_dir), "--device", "cpu", *extra]
            with out.open("w") as fh:
                proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                                        env={**os.environ, **WORKER_ENV, **self.env, **(env or {})})
            new.append(Worker(proc, out))
        self.started += new
        return new

    def running(self) -> list[Worker]:
        return [w for w in self.started if w.proc.poll() is None]

    def wait(self, workers: list[Worker] | None = None, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        for w in workers or self.started:
            try:
                w.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill_all()
                pytest.fail(f"worker {w.proc.args} did not finish within {timeout} s; trials:\n{self.describe()}\n"
                            f"its log:\n{w.output()[-3000:]}")

    def describe(self) -> str:
        """Every trial with its state, heartbeat and start time (for failure messages)."""
        try:
            engine = sa.create_engine(self.storage, poolclass=sa.pool.NullPool)
            with engine.connect() as c:
                rows = c.execute(sa.text(
                    "SELECT t.number, t.state, t.datetime_start, h.heartbeat FROM trials t "
                    "LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id ORDER BY t.number")).all()
            engine.dispose()
            return "\n".join(" ".join(str(x) for x in r) for r in rows)
        except Exception as e:  # noqa: BLE001
            return f"(cannot read the trials: {type(e).__name__})"

    def kill_all(self) -> None:
        for w in self.started:
            w.kill()

    def all_output(self) -> str:
        return "\n".join(w.output() for w in self.started)


@pytest.fixture
def worker_pool(tmp_path: Path, warm_runs: Path):
    pools: list[WorkerPool] = []

    def make(spec: dict, storage: str, study_name: str, n_trials: int, **kw) -> WorkerPool:
        pool = WorkerPool(spec=write_yaml(tmp_path / "spec.yaml", spec), storage=storage, study_name=study_name,
                          n_trials=n_trials, runs_dir=warm_runs, artifact_dir=tmp_path / "artifacts",
                          log_dir=tmp_path, **kw)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.kill_all()


FAULTY = (str(BIN / "python"), "-m", "tests.reliability._faulty_worker")  # genstudy with faults injected


def state_counts(engine: sa.Engine) -> Counter:
    """Trial counts by state, read with one SQL query (cheap enough to poll)."""
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT state, count(*) FROM trials GROUP BY state")).all()
    return Counter({str(s).split(".")[-1]: n for s, n in rows})


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.1, pool: WorkerPool | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    log = pool.all_output()[-6000:] if pool else ""
    if pool:
        pool.kill_all()
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{log}")


class ConnectionWatch:
    """Samples ``pg_stat_activity`` for one database in a thread; ``peak`` is the most seen."""

    def __init__(self, admin: sa.Engine, database: str, interval: float = 0.05) -> None:
        self._admin, self._db, self._interval = admin, database, interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self._admin.connect() as c:
            while not self._stop.is_set():
                n = c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                              {"d": self._db}).scalar()
                self.peak = max(self.peak, int(n))
                self.samples += 1
                self._stop.wait(self._interval)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def assert_study_consistent(study: optuna.Study, n_trials: int) -> list[optuna.trial.FrozenTrial]:
    """The invariants every fault must keep: exactly ``n_trials`` finished trials, none left
    RUNNING, numbers dense, every FAIL that was retried retried once, no retry counted twice."""
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    assert states[S.RUNNING] == 0, f"trials left RUNNING: {states}"
    assert states[S.COMPLETE] + states[S.PRUNED] == n_trials, f"finished trials {states}, target {n_trials}"
    assert sorted(t.number for t in trials) == list(range(len(trials))), "trial numbers have gaps or repeats"
    retried = Counter(t.system_attrs["retry_history"][-1] for t in trials if t.system_attrs.get("retry_history"))
    assert all(n == 1 for n in retried.values()), f"a failed trial was retried more than once: {retried}"
    for t in trials:
        if t.state == S.COMPLETE:
            assert t.value is not None and t.user_attrs.get("fid") == pytest.approx(t.value), t.number
    return trials
