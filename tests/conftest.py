"""Shared fixtures: a fresh PostgreSQL database per test module, specs written to tmp dirs.

PostgreSQL tests never skip in CI: with GENSTUDY_REQUIRE_POSTGRES=1 (set by .ci/run) or
CI=true, an unreachable server fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

# `genstudy run` starts a local Ray instance by default; tests run trials in-process unless they
# test Ray itself (those pass --ray-address explicitly), so each test does not pay Ray's start-up.
os.environ["GENSTUDY_RAY_ADDRESS"] = "none"

PG_ADMIN_URL = os.environ.get("GENSTUDY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _require_pg() -> bool:
    return os.environ.get("GENSTUDY_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as e:  # noqa: BLE001
        if _require_pg():
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required in CI but unreachable: {e}")
        pytest.skip(f"PostgreSQL unreachable ({e}); CI runs these tests")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A plain ``postgresql://`` URL of a brand-new database, dropped afterwards."""
    name = f"genstudy_test_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with pg_admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


TINY_SPEC = {
    "objective": "vae",
    "dataset": "toy",
    "metrics": ["fid"],
    "budget": {"epochs": 2, "n_trials": 4},
    "sampler": {"name": "tpe", "seed": 0, "n_startup_trials": 2},
    "pruner": {"name": "none"},
    "evaluation": {"n_samples": 200, "iwae_k": 8, "prune_fid_samples": 100},
    "fixed": {"width": 8, "batch_size": 64},
    "search_space": {
        "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
        "latent_dim": {"type": "categorical", "choices": [2, 4, 8]},
    },
}


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write a spec dict (default: a tiny toy-data VAE study) to a YAML file; returns its path."""

    def write(spec: dict | None = None, name: str = "tiny.yaml", **overrides) -> Path:
        data = dict(spec if spec is not None else TINY_SPEC)
        data.update(overrides)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


def run_cli(*args: str, cwd: Path, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``genstudy`` console script as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(BIN / "genstudy"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def query_dashboard(location: str, fetch):
    """Start ``optuna-dashboard LOCATION`` on a free localhost port, return ``fetch(base_url)``
    once the server answers (retried while it starts), and stop the server."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(BIN / "optuna-dashboard"), location, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(120):
            try:
                return fetch(f"http://127.0.0.1:{port}")
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"optuna-dashboard exited: {proc.stdout.read()}")
                time.sleep(0.5)
        pytest.fail("optuna-dashboard did not answer within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
