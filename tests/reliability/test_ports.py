"""What listens on the network by default: the storage proxy and optuna-dashboard on 127.0.0.1
only; the Ray cluster that ``genstudy run`` starts by itself listens on every interface (Ray
binds its gRPC servers so), but refuses a client without its token.

(``genstudy dashboard`` and docker-compose's published ports are tested in tests/deploy.)
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import optuna
import pytest

from tests.conftest import BIN
from tests.reliability._pgcluster import free_port
from tests.reliability.conftest import SHORT_SPEC, WORKER_ENV, write_yaml

def _listeners() -> list[tuple[str, int, int]]:
    """(address, port, pid) of every listening TCP socket, addresses without brackets or ::ffff:."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        cols = line.split()
        addr, _, port = cols[3].rpartition(":")
        addr = addr.strip("[]").removeprefix("::ffff:")
        for pid in re.findall(r"pid=(\d+)", line):
            found.append((addr, int(port), int(pid)))
    return found


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False  # "*", "0.0.0.0" and "::" are every interface


@contextmanager
def _server(argv: list[str], port: int, log: Path):
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **WORKER_ENV})
    try:
        deadline = time.monotonic() + 60
        while not any(p == port for _, p, _ in _listeners()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} is not listening on {port}: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield {a for a, p, _ in _listeners() if p == port}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "s.journal"
    optuna.create_study(storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path))),
                        study_name="s")
    return path


def test_the_storage_proxy_listens_on_localhost_by_default(journal: Path, tmp_path: Path) -> None:
    port = free_port()
    with _server([str(BIN / "genstudy"), "storage-proxy", "--storage", str(journal), "--port", str(port)], port,
                 tmp_path / "proxy.log") as addresses:
        assert addresses == {"127.0.0.1"}


def test_optuna_dashboard_as_genstudy_prints_it_listens_on_localhost(journal: Path, tmp_path: Path) -> None:
    port = free_port()  # `genstudy run` ends with "open it: optuna-dashboard STORAGE --artifact-dir DIR"
    with _server([str(BIN / "optuna-dashboard"), str(journal), "--port", str(port)], port, tmp_path / "dash.log") as addresses:
        assert addresses == {"127.0.0.1"}


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo += children.get(pid, [])
    return out


def _intrude(address: str, env: dict[str, str]) -> str:
    """Try to join the Ray cluster at ``address`` as a stranger would; what Ray answered."""
    proc = subprocess.Popen([str(BIN / "python"), "-c", f"import ray; ray.init(address='{address}', logging_level=40); "
                             "print('joined', len(ray.nodes()), flush=True)"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            seen.append(line)
            if "joined" in line or "Unauthenticated" in line or time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait()
    return "".join(seen)


@pytest.mark.slow
def test_the_ray_cluster_genstudy_run_starts_refuses_a_client_without_its_token(tmp_path: Path) -> None:
    spec = write_yaml(tmp_path / "spec.yaml", SHORT_SPEC)
    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "GENSTUDY_RAY_"))}  # tests/conftest.py sets none
    with log.open("w") as out:  # README's first command: genstudy run SPEC (a local Ray cluster by default)
        run = subprocess.Popen([str(BIN / "genstudy"), "run", str(spec), "--n-trials", "5000", "--runs-dir", str(tmp_path / "runs")],
                               stdout=out, stderr=subprocess.STDOUT, env={**env, **WORKER_ENV}, cwd=tmp_path)
    try:
        gcs = None
        deadline = time.monotonic() + 120
        while gcs is None:
            assert run.poll() is None and time.monotonic() < deadline, f"no Ray cluster came up: {log.read_text()[-3000:]}"
            tree = _descendants(run.pid)
            for addr, port, pid in _listeners():
                if pid in tree and not _is_loopback(addr) and Path(f"/proc/{pid}/comm").read_text().strip() == "gcs_server":
                    gcs = port
            time.sleep(0.3)
        ips = [a.split("/")[0] for a in subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout.split()
               if "/" in a and not a.startswith("127.")]
        answer = _intrude(f"{ips[0] if ips else '127.0.0.1'}:{gcs}", env)
        assert "joined" not in answer, f"a client without the token joined the cluster: {answer[-2000:]}"
        assert "InvalidAuthToken" in answer or "Unauthenticated" in answer, answer[-2000:]
    finally:
        run.send_signal(signal.SIGINT)  # Ctrl-C: genstudy stops its trials and shuts its Ray cluster down
        try:
            run.wait(timeout=90)
        except subprocess.TimeoutExpired:
            for pid in _descendants(run.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            run.wait()
