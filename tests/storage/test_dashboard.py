"""The `optuna-dashboard` command genstudy prints opens the study, for both kinds of storage."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import optuna
import pytest

from genstudy.storage import open_storage
from tests.conftest import query_dashboard


def _studies_seen_by_dashboard(location: str) -> list[str]:
    def fetch(base: str) -> list[str]:
        with urllib.request.urlopen(f"{base}/api/studies", timeout=2) as r:
            return [s["study_name"] for s in json.loads(r.read())["study_summaries"]]

    return query_dashboard(location, fetch)


@pytest.mark.postgres
def test_dashboard_opens_a_plain_postgresql_url(pg_url: str) -> None:
    optuna.create_study(storage=pg_url, study_name="dash-demo", direction="minimize")
    assert _studies_seen_by_dashboard(pg_url) == ["dash-demo"]


def test_dashboard_opens_the_embedded_journal_file(tmp_path: Path) -> None:
    journal = tmp_path / "genstudy-runs" / "quickstart.journal"
    optuna.create_study(storage=open_storage(str(journal), heartbeat=False), study_name="quickstart")
    assert _studies_seen_by_dashboard(str(journal)) == ["quickstart"]
