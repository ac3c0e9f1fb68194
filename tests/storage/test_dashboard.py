"""The `optuna-dashboard` command genstudy prints opens the study, for both kinds of storage."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from genstudy.storage import open_storage
from tests.conftest import BIN


def _studies_seen_by_dashboard(location: str) -> list[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(BIN / "optuna-dashboard"), location, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as r:
                    return [s["study_name"] for s in json.loads(r.read())["study_summaries"]]
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"optuna-dashboard exited: {proc.stdout.read()}")
                time.sleep(0.5)
        pytest.fail("optuna-dashboard did not answer within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.postgres
def test_dashboard_opens_a_plain_postgresql_url(pg_url: str) -> None:
    optuna.create_study(storage=pg_url, study_name="dash-demo", direction="minimize")
    assert _studies_seen_by_dashboard(pg_url) == ["dash-demo"]


def test_dashboard_opens_the_embedded_journal_file(tmp_path: Path) -> None:
    journal = tmp_path / "genstudy-runs" / "quickstart.journal"
    optuna.create_study(storage=open_storage(str(journal), heartbeat=False), study_name="quickstart")
    assert _studies_seen_by_dashboard(str(journal)) == ["quickstart"]
