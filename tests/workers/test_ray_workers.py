"""Real Ray: a two-node cluster started with ``ray start``, actors killed mid-trial, Ctrl-C.

Every test drives ``genstudy`` as a user does (a subprocess) against real PostgreSQL or the
embedded journal file, and checks the study afterwards: exact target, no trial lost or
counted twice, nothing left RUNNING, retries resumed from their epoch checkpoints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import BIN, TINY_SPEC
from tests.workers import ray_helpers
from tests.workers.ray_cluster import RayCluster

S = TrialState
pytestmark = [pytest.mark.ray, pytest.mark.slow]

# toy data with a wider net and small batches: epochs long enough (about 0.5-2 s here) to kill a
# trial between two of them, short enough for CI
EPOCHS = 10
SLOW_SPEC = {**TINY_SPEC, "budget": {"epochs": EPOCHS, "n_trials": 3}, "fixed": {"width": 32, "batch_size": 16},
             "precision": "fp32"}


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[RayCluster]:
    cluster = RayCluster(tmp_path / "ray", head_cpus=2, node_cpus=1)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _create(storage: str, name: str) -> None:
    if "://" not in storage:  # a journal file: Optuna's CLI takes URLs only
        optuna.create_study(study_name=name, storage=_load_storage(storage), direction="minimize")
        return
    created = subprocess.run([str(BIN / "optuna"), "create-study", "--storage", storage, "--study-name", name,
                              "--direction", "minimize"], capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr


def _load_storage(storage: str):
    if "://" not in storage:
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(storage))
    return storage


def _load(storage: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=_load_storage(storage))


def _check_exact(study: optuna.Study, target: int) -> list[optuna.trial.FrozenTrial]:
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    assert states[S.COMPLETE] + states[S.PRUNED] == target, states
    assert states[S.RUNNING] == 0, "nothing left RUNNING"
    assert sorted(t.number for t in trials) == list(range(len(trials))), "trial numbers never repeat or skip"
    for t in trials:
        if t.state == S.COMPLETE:
            for key in ("fid", "log_likelihood", "loss"):
                assert isinstance(t.user_attrs.get(key), float), (t.number, key)
            assert t.value == pytest.approx(t.user_attrs["fid"])
    return trials


@pytest.mark.postgres
def test_three_actors_on_a_two_node_cluster_meet_the_target_exactly(ray_cluster: RayCluster, pg_url: str,
                                                                    write_spec, tmp_path: Path) -> None:
    spec = write_spec()
    _create(pg_url, "two-nodes")
    done = subprocess.run(
        [str(BIN / "genstudy"), "worker", str(spec), "--storage", pg_url, "--study-name", "two-nodes", "--n-trials", "9",
         "--ray-address", ray_cluster.address, "--workers", "3", "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=ray_cluster.env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "3 Ray actors ran 9 trials" in done.stdout
    trials = _check_exact(_load(pg_url, "two-nodes"), 9)
    assert len(trials) == 9, "no surplus trial"
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 9, "each trial its own params"
    workers = [t.user_attrs["worker"] for t in trials]
    assert len({w["node"] for w in workers}) == 2, "actors ran on both nodes"
    assert len({w["id"] for w in workers}) == 3
    by_process = {(w["id"], w["pid"]): w["context_loaded_at"] for w in workers}
    assert len(by_process) == 3 and any(sum(w["id"] == i for w in workers) > 1 for i, _ in by_process), \
        "an actor runs several trials on the data, classifier and statistics it loaded once"
    assert all(len({w["context_loaded_at"] for w in workers if (w["id"], w["pid"]) == k}) == 1 for k in by_process)
    seeds = {w["id"]: w["sampler_seed"] for w in workers}
    assert len(set(seeds.values())) == len(seeds), f"each actor its own sampler seed: {seeds}"


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"genstudy exited ({proc.returncode}) before {what}: {err[-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def _checkpointed_running(study_loader):
    def find():
        try:
            study = study_loader()
        except (FileNotFoundError, KeyError):  # the run has not created the study yet
            return None
        for t in study.get_trials(deepcopy=False, states=(S.RUNNING,)):
            ck = t.user_attrs.get("resume_checkpoint")
            if ck and ck["epoch"] >= 1 and t.user_attrs.get("worker"):
                return t
        return None

    return find


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql", "journal"])
def test_sigkilled_actor_trial_is_retried_once_and_resumes_from_its_checkpoint(
    backend: str, pg_url: str, write_spec, tmp_path: Path
) -> None:
    """PostgreSQL has Optuna's heartbeat too (it races with the driver); the journal file has only
    the driver. Either way: one retry, resumed, target met, nothing RUNNING."""
    spec = write_spec(SLOW_SPEC)
    storage = pg_url if backend == "postgresql" else str(tmp_path / "study.journal")
    _create(storage, "kill")
    proc = subprocess.Popen(
        [str(BIN / "genstudy"), "worker", str(spec), "--storage", storage, "--study-name", "kill", "--n-trials", "3",
         "--ray-address", "local", "--workers", "2", "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        victim = _wait_for(_checkpointed_running(lambda: _load(storage, "kill")), 300, "a checkpointed RUNNING trial", proc)
        os.kill(victim.user_attrs["worker"]["pid"], signal.SIGKILL)
        killed_at = time.time()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-4000:]

    study = _load(storage, "kill")
    trials = _check_exact(study, 3)
    dead = study.trials[victim.number]
    assert dead.state == S.FAIL
    assert "died" in dead.user_attrs["fail_reason"] or "heartbeat" in dead.user_attrs.get("fail_reason", "")
    retries = [t for t in trials if (t.system_attrs.get("retry_history") or [None])[-1] == victim.number]
    assert len(retries) == 1, "exactly one retry of the killed trial"
    retry = retries[0]
    assert retry.state == S.COMPLETE
    assert retry.params == victim.params
    resumed = retry.user_attrs["resumed_from"]
    assert resumed["trial"] == victim.number and resumed["epoch"] >= victim.user_attrs["resume_checkpoint"]["epoch"]
    assert len(retry.user_attrs["curves"]["val_fid"]) == EPOCHS, "the retry's curves cover every epoch"
    assert retry.user_attrs["resume_checkpoint"] is None, "the checkpoint is dropped once the trial finished"
    assert "fail_reason" not in retry.user_attrs
    detect = dead.datetime_complete.timestamp() - killed_at
    print(f"\n[{backend}] kill->FAIL {detect:.2f} s; retry resumed after epoch {resumed['epoch']} of {EPOCHS}")


def test_ctrl_c_of_the_driver_leaves_no_trial_running(write_spec, tmp_path: Path) -> None:
    spec = write_spec(SLOW_SPEC, budget={"epochs": 40, "n_trials": 4})
    journal = tmp_path / "runs" / "slow.journal"
    proc = subprocess.Popen(
        [str(BIN / "genstudy"), "run", str(spec), "--study-name", "slow", "--ray-address", "local", "--workers", "2",
         "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        _wait_for(_checkpointed_running(lambda: _load(str(journal), "slow")), 300, "a RUNNING trial", proc)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-4000:]
    assert "interrupted" in err
    assert "Traceback" not in err
    trials = _load(str(journal), "slow").get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    assert states[S.RUNNING] == 0, states
    interrupted = [t for t in trials if t.state == S.FAIL]
    assert interrupted and all("interrupted" in t.user_attrs["fail_reason"] for t in interrupted)
    waiting = {t.system_attrs["retry_history"][-1]: t for t in trials if t.state == S.WAITING}
    assert sorted(waiting) == sorted(t.number for t in interrupted), "each interrupted trial waits for its retry"

    # the next run picks the retries up first and resumes them where they stopped
    again = subprocess.run(
        [str(BIN / "genstudy"), "run", str(spec), "--study-name", "slow", "--ray-address", "local", "--workers", "2",
         "--n-trials", str(len(interrupted)), "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert again.returncode == 0, again.stderr[-4000:]
    after = _load(str(journal), "slow")
    checkpointed = {t.number for t in interrupted if t.user_attrs.get("resume_checkpoint")}
    assert checkpointed, "the trial the test waited for had an epoch checkpoint when Ctrl-C came"
    for number, retry in waiting.items():
        done = after.trials[retry.number]
        assert done.state == S.COMPLETE
        if number in checkpointed:  # resumed where it stopped
            assert done.user_attrs["resumed_from"]["trial"] == number and done.user_attrs["resumed_from"]["epoch"] >= 1
        else:  # the other actor's trial was interrupted in its first epoch: nothing to resume, trained from scratch
            assert "resumed_from" not in done.user_attrs


@pytest.mark.postgres
def test_a_node_that_goes_away_loses_no_trial(ray_cluster: RayCluster, pg_url: str, write_spec, tmp_path: Path) -> None:
    spec = write_spec(SLOW_SPEC, budget={"epochs": EPOCHS, "n_trials": 4})
    _create(pg_url, "node-loss")
    proc = subprocess.Popen(
        [str(BIN / "genstudy"), "worker", str(spec), "--storage", pg_url, "--study-name", "node-loss", "--n-trials", "4",
         "--ray-address", ray_cluster.address, "--workers", "3", "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ray_cluster.env,
    )
    on_node = _checkpointed_running(lambda: _load(pg_url, "node-loss"))

    def running_on_second_node():
        t = on_node()
        return t if t is not None and ray_cluster.on_node(t.user_attrs["worker"]["pid"]) else None

    try:
        victim = _wait_for(running_on_second_node, 300, "a checkpointed trial on the second node", proc)
        ray_cluster.kill_node()
        killed_at = time.time()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-4000:]
    study = _load(pg_url, "node-loss")
    trials = _check_exact(study, 4)
    assert study.trials[victim.number].state == S.FAIL
    retries = [t for t in trials if (t.system_attrs.get("retry_history") or [None])[-1] == victim.number]
    assert len(retries) == 1 and retries[0].state == S.COMPLETE
    assert retries[0].user_attrs["resumed_from"]["trial"] == victim.number
    detect = study.trials[victim.number].datetime_complete.timestamp() - killed_at
    print(f"\n[node loss] kill->FAIL {detect:.2f} s; resumed after epoch {retries[0].user_attrs['resumed_from']['epoch']}")


@pytest.mark.postgres
def test_workers_behind_the_grpc_storage_proxy_share_its_few_connections(pg_url: str, pg_admin, write_spec,
                                                                         tmp_path: Path) -> None:
    """Many actors, one proxy: PostgreSQL sees only the proxy's pool, and the study still finishes
    with every trial's metrics (the driver recovers trials there: no heartbeat passes a proxy)."""
    import socket

    import sqlalchemy as sa

    spec = write_spec()
    _create(pg_url, "proxied")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = subprocess.Popen([str(BIN / "genstudy"), "storage-proxy", "--storage", pg_url, "--port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    database = pg_url.rsplit("/", 1)[1]
    peak = 0
    try:
        worker = subprocess.Popen(
            [str(BIN / "genstudy"), "worker", str(spec), "--storage", f"grpc://127.0.0.1:{port}", "--study-name",
             "proxied", "--n-trials", "6", "--ray-address", "local", "--workers", "2", "--runs-dir", str(tmp_path / "runs")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        while worker.poll() is None:
            with pg_admin.connect() as c:
                n = c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"), {"d": database}).scalar()
            peak = max(peak, n)
            time.sleep(0.2)
        out, err = worker.communicate()
    finally:
        os.killpg(proxy.pid, signal.SIGTERM)
        proxy.wait(timeout=30)
    assert worker.returncode == 0, err[-4000:]
    assert "serving postgresql://" in proxy.stdout.read()
    study = _load(pg_url, "proxied")
    finished = [t for t in study.trials if t.state in (S.COMPLETE, S.PRUNED)]
    # no claim lock passes the proxy: each of the 2 actors may start one trial past the target
    assert 6 <= len(finished) <= 7
    assert not [t for t in study.trials if t.state == S.RUNNING]
    assert all(isinstance(t.user_attrs.get("fid"), float) for t in finished if t.state == S.COMPLETE)
    assert 1 <= peak <= 4, f"PostgreSQL saw {peak} connections: the proxy's pool is 2 + 2 overflow"


def test_ray_actors_share_the_settings_callbacks_and_objective_factory(tmp_path: Path) -> None:
    import genstudy
    from genstudy.workers import RayOptions

    log = tmp_path / "callbacks.log"
    outcome = genstudy.run(TINY_SPEC, study_name="factory", n_trials=6, runs_dir=tmp_path / "runs",
                           ray=RayOptions(address="local", workers=2), objective_factory=ray_helpers.factory,
                           callbacks=[ray_helpers.AppendTrial(log)])
    assert outcome.actors == 2 and outcome.worker.ran == 6
    states = Counter(t.state for t in outcome.study.get_trials(deepcopy=False))
    assert states == {S.COMPLETE: 6}
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(n) for n, _, _ in lines) == list(range(6)), "every trial, once"
    assert {state for _, state, _ in lines} == {"COMPLETE"}
    pids = {pid for _, _, pid in lines}
    assert len(pids) == 2 and str(os.getpid()) not in pids, "the callbacks ran in the two actors"


def test_an_actor_that_cannot_start_stops_the_run_with_the_reason(tmp_path: Path) -> None:
    import genstudy
    from genstudy.errors import GenstudyError
    from genstudy.workers import RayOptions

    started = time.monotonic()
    with pytest.raises(GenstudyError, match=r"Ray actor ray:\w+:0 could not start: .*not importable here"):
        genstudy.run(TINY_SPEC, study_name="broken", n_trials=2, runs_dir=tmp_path / "runs",
                     ray=RayOptions(address="local", workers=1), objective_factory=ray_helpers.Unbuildable())
    assert time.monotonic() - started < 120, "refused at once, not restarted 100 times"
    study = _load(str(tmp_path / "runs" / "broken.journal"), "broken")
    assert study.get_trials(deepcopy=False) == []
