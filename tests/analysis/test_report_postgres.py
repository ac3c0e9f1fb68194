"""The report from a study on the real PostgreSQL server: every section, no password anywhere,
and optuna-dashboard serving the saved figures and note."""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path

import optuna
import pytest

from genstudy.analysis import analyze_study, format_importances_table
from genstudy.analysis._report import SECTIONS
from genstudy.storage import open_storage
from tests.analysis.conftest import make_study
from tests.conftest import query_dashboard

PASSWORD = "Pw-4nalysis-s3cret"

pytestmark = [pytest.mark.postgres, pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")]


def _dashboard_study(location: str) -> dict:
    """The study detail that optuna-dashboard's web page loads (its first study)."""

    def fetch(base: str) -> dict:
        with urllib.request.urlopen(f"{base}/api/studies", timeout=2) as r:
            study_id = json.loads(r.read())["study_summaries"][0]["study_id"]
        with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=10) as r:
            return json.loads(r.read())

    return query_dashboard(location, fetch)


def test_report_from_postgresql_has_every_section_and_no_password(pg_url: str, tmp_path: Path, caplog) -> None:
    url = pg_url.replace("postgres@", f"postgres:{PASSWORD}@")  # trust auth ignores it; we must hide it
    make_study(open_storage(url, heartbeat=False), "gan-lr")
    caplog.set_level(logging.DEBUG)
    result = analyze_study(storage=url, study_name="gan-lr", out_dir=tmp_path / "report", to_dashboard=True)

    page = result.report_path.read_text()
    for section in SECTIONS:
        assert f'data-section="{section}"' in page, section
    assert "postgres:***@127.0.0.1" in page and result.storage == url.replace(PASSWORD, "***")
    outputs = [page, result.importances_path.read_text(), caplog.text, format_importances_table(result)]
    assert not any(PASSWORD in text for text in outputs)
    assert json.loads(result.importances_path.read_text())["n_trials"] == 38

    detail = _dashboard_study(pg_url)
    shown = {g["id"] for g in detail["plotly_graph_objects"]}
    assert set(result.dashboard_figures) == shown and "genstudy-importance-fid" in shown
    assert "## genstudy analysis of gan-lr" in detail["note"]["body"]
    assert len(detail["trials"]) == 40  # the dashboard sees the same trials; none were added
    assert optuna.load_study(study_name="gan-lr", storage=pg_url).trials[0].user_attrs.keys() >= {"fid", "seeds"}
