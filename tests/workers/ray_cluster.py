"""A real two-node Ray cluster on 127.0.0.1 for tests: ``ray start --head`` and ``ray start --address``.

Each node runs ``ray start --block`` in its own process group, so stopping one node (or
killing it, to test a node going away) never touches the other or any other Ray instance on
the machine (``ray stop`` would stop them all). Token authentication is on, with a token of
the test's own, as on a real cluster.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayCluster:
    def __init__(self, log_dir: Path, *, head_cpus: int, node_cpus: int) -> None:
        self.log_dir = log_dir
        self.head_cpus, self.node_cpus = head_cpus, node_cpus
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.head: subprocess.Popen | None = None
        self.node: subprocess.Popen | None = None

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("w")
        return subprocess.Popen([str(BIN / "ray"), "start", "--block", "--disable-usage-stats", *args], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 120) -> None:
        self.head = self._start("head", ["--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                                         "--num-cpus", str(self.head_cpus), "--num-gpus", "0", "--include-dashboard", "false"])
        self._wait_cpus(self.head_cpus, timeout)
        self.node = self.start_node()
        self._wait_cpus(self.head_cpus + self.node_cpus, timeout)

    def start_node(self) -> subprocess.Popen:
        return self._start("node", ["--address", self.address, "--node-ip-address", "127.0.0.1",
                                    "--num-cpus", str(self.node_cpus), "--num-gpus", "0"])

    def cpus(self) -> float:
        """Alive CPUs of the cluster, read with ``ray status`` (no Ray client in the test process)."""
        out = subprocess.run([str(BIN / "ray"), "status", "--address", self.address], env=self.env,
                             capture_output=True, text=True, timeout=60).stdout
        for line in out.splitlines():
            parts = line.strip().split()
            if len(parts) >= 2 and parts[1] == "CPU" and "/" in parts[0]:
                return float(parts[0].split("/")[1])
        return 0.0

    def _wait_cpus(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in (("head", self.head), ("node", self.node)):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"ray {name} exited: {(self.log_dir / f'{name}.log').read_text()[-3000:]}")
            if self.cpus() >= n:
                return
            time.sleep(1)
        raise RuntimeError(f"Ray cluster at {self.address} did not reach {n} CPUs in {timeout} s")

    def kill_node(self) -> None:
        """The second node goes away at once: SIGKILL to its raylet and every worker process of it
        (workers get process groups of their own but stay in the node's session)."""
        if self.node is not None:
            _kill_session(self.node.pid)
            self.node.wait(timeout=30)

    def on_node(self, pid: int) -> bool:
        """Whether process ``pid`` (an actor's) belongs to the second node."""
        try:
            return self.node is not None and os.getsid(pid) == self.node.pid
        except ProcessLookupError:
            return False

    def stop(self) -> None:
        for proc in (self.node, self.head):
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        for proc in (self.node, self.head):  # the raylet's children (actors) may outlive --block
            if proc is not None:
                _kill_session(proc.pid)


def _kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid`` (``ray start`` was started as its leader)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == sid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
