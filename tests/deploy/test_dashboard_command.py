"""`genstudy dashboard`: the study's storage with its artifact store, on localhost, no password shown."""

from __future__ import annotations

import io
import subprocess
import sys
import urllib.request
from pathlib import Path

import optuna
import pytest
from PIL import Image

from genstudy._dashboard import dashboard_url
from tests.deploy.servers import free_port, serving

PASSWORD = "Dash-b0ard-s3cret"
# `genstudy dashboard ARGS`, the installed console script as a user types it
DASHBOARD = [str(Path(sys.executable).parent / "genstudy"), "dashboard"]


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses with a listening TCP socket on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        ip_hex, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(ip_hex))))
    return found


@pytest.fixture
def study_with_a_grid(pg_url: str, tmp_path: Path) -> tuple[optuna.Study, str, bytes]:
    """A study whose one trial has a sample-grid PNG in a file-system artifact store."""
    study = optuna.create_study(storage=pg_url, study_name="dash")
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    buf = io.BytesIO()
    Image.new("L", (40, 20), color=128).save(buf, format="PNG")
    (tmp_path / "samples.png").write_bytes(buf.getvalue())
    (tmp_path / "artifacts").mkdir()
    artifact_id = optuna.artifacts.upload_artifact(
        artifact_store=optuna.artifacts.FileSystemArtifactStore(str(tmp_path / "artifacts")),
        file_path=str(tmp_path / "samples.png"), study_or_trial=trial)
    study.tell(trial, 1.0)
    return study, artifact_id, buf.getvalue()


@pytest.mark.postgres
def test_dashboard_serves_artifacts_on_localhost_and_hides_the_password(study_with_a_grid, pg_url: str, tmp_path: Path) -> None:
    study, artifact_id, png = study_with_a_grid
    url = pg_url.replace("postgres@", f"postgres:{PASSWORD}@")  # trust auth ignores it; it must not be shown
    port = free_port()
    log = tmp_path / "dashboard.log"
    argv = [*DASHBOARD, "--storage", url, "--artifact-dir", str(tmp_path / "artifacts"), "--port", str(port)]
    with serving(argv, port, log=log) as base:
        trial_id = study.trials[0]._trial_id
        with urllib.request.urlopen(f"{base}/artifacts/{study._study_id}/{trial_id}/{artifact_id}", timeout=10) as r:
            assert r.read() == png
        assert listening_addresses(port) == {"127.0.0.1"}
    shown = log.read_text()
    assert f"at http://127.0.0.1:{port}/" in shown and "postgres:***@127.0.0.1" in shown
    assert PASSWORD not in shown


def run_dashboard(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*DASHBOARD, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_a_missing_artifact_folder_or_journal_is_one_line_with_the_fix(tmp_path: Path) -> None:
    journal = tmp_path / "study.journal"
    optuna.create_study(storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal))))
    proc = run_dashboard("--storage", str(journal), "--artifact-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--artifact-dir" in proc.stderr and "no such folder" in proc.stderr

    proc = run_dashboard("--storage", str(tmp_path / "typo.journal"), cwd=tmp_path)
    assert proc.returncode == 2 and "no such journal file" in proc.stderr
    assert not (tmp_path / "typo.journal").exists()  # a typo must not create an empty storage


def test_the_printed_address_is_one_a_browser_can_open() -> None:
    assert dashboard_url("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert dashboard_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/"
    assert dashboard_url("::1", 9000) == "http://[::1]:9000/"
