"""A private PostgreSQL 15 cluster on 127.0.0.1, for tests that restart the server.

The shared server on port 5432 is never restarted by tests: this one lives in a temp folder
(``initdb`` as the ``postgres`` user when the tests run as root), listens on a free port,
trusts the ``postgres`` superuser from 127.0.0.1 and asks every other role for its password
(``scram-sha-256``), so a wrong password really is refused here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

PG_BIN = Path(os.environ.get("GENSTUDY_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrivateCluster:
    root: Path
    port: int
    run_as: str | None  # "postgres" when we are root (initdb refuses root), else None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres", *, user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
                               f"\n--- server log ---\n{self.log.read_text() if self.log.exists() else ''}")
        return proc

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                  "--no-sync", "-E", "UTF8")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=120")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def restart(self, *, down_seconds: float = 0.0) -> None:
        """What ``pg_ctlcluster ... restart`` does (a fast shutdown, then a start), with the
        server kept down for ``down_seconds`` in between."""
        self.stop("fast")
        time.sleep(down_seconds)
        self.start()

    def admin(self) -> sa.Engine:
        return sa.create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def execute(self, *statements: str) -> None:
        engine = self.admin()
        try:
            with engine.connect() as c:
                for s in statements:
                    c.execute(sa.text(s))
        finally:
            engine.dispose()


def start_private_cluster() -> PrivateCluster:
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="genstudy-pg-"))
    if run_as:
        pw = pwd.getpwnam(run_as)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    os.chmod(root, 0o700)
    cluster = PrivateCluster(root=root, port=free_port(), run_as=run_as)
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def remove_private_cluster(cluster: PrivateCluster) -> None:
    try:
        cluster.stop("immediate")
    except Exception:  # noqa: BLE001 - already down
        pass
    shutil.rmtree(cluster.root, ignore_errors=True)
