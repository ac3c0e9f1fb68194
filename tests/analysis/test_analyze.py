"""``analyze_study`` end to end on studies shaped like genstudy's: files, targets, errors, no writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
from optuna_dashboard import get_note, save_note
from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

from genstudy.analysis import AnalysisError, analyze_study, format_importances_table
from genstudy.analysis._report import SECTIONS
from genstudy.errors import StorageError, StudyNotFoundError
from genstudy.storage import open_storage
from tests.analysis.conftest import make_study

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

@pytest.fixture
def journal(tmp_path: Path) -> str:
    path = tmp_path / "runs" / "vae-demo.journal"
    make_study(open_storage(str(path), heartbeat=False))
    return str(path)


def test_report_and_importances_json(journal: str, tmp_path: Path) -> None:
    result = analyze_study(storage=journal, study_name="vae-demo", out_dir=tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "importances.json").read_text())
    assert set(doc) == {"study", "target", "n_trials", "main", "pairs"}
    assert (doc["study"], doc["target"], doc["n_trials"]) == ("vae-demo", "fid", 38)
    assert list(doc["main"]) == ["lr", "batch_size", "beta"]  # ranked; lr drives fid
    assert set(doc["pairs"]) == {"lr|batch_size", "lr|beta", "batch_size|beta"}
    entries = [*doc["main"].values(), *doc["pairs"].values()]
    assert all(set(e) == {"importance", "std"} and 0 <= e["importance"] <= 1 and e["std"] >= 0 for e in entries)
    assert doc["main"]["lr"]["importance"] > 0.5 and doc["main"]["beta"]["importance"] < 0.05
    assert sum(e["importance"] for e in entries) <= 1 + 1e-9

    page = result.report_path.read_text()
    for section in SECTIONS:
        assert f'data-section="{section}"' in page, section
    # opens offline: plotly.js inlined in the head, nothing in the page loads from elsewhere
    head, body = page.split("</head>", 1)
    assert re.findall(r"<script[^>]*>", head) == ['<script type="text/javascript">'] and len(head) > 3_000_000
    assert "http" not in body and "<script src" not in body and "<link" not in body
    assert "ANOVA" in page and "premature plateau" in page and "Pareto" in page

    table = format_importances_table(result)
    lines = table.splitlines()
    assert lines[0] == "fid (minimize): 38 trials"
    assert lines[3].split()[:2] == ["1", "lr"] and "pairs:" in lines
    assert result.importances is result.targets[0].importances
    assert result.convergence.counts()["diverged"] == 2


def test_target_can_be_any_stored_metric(journal: str, tmp_path: Path) -> None:
    result = analyze_study(storage=journal, study_name="vae-demo", out_dir=tmp_path, target="log_likelihood")
    doc = json.loads((tmp_path / "importances.json").read_text())
    assert doc["target"] == "log_likelihood" and result.targets[0].target.direction == "maximize"
    assert set(doc["main"]) == {"lr", "beta", "batch_size"} and doc["main"]["batch_size"]["importance"] < 0.1


def test_unknown_target_names_the_choices(journal: str, tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match=r"target 'fdi'.*\(fid\).*log_likelihood.*--target"):
        analyze_study(storage=journal, study_name="vae-demo", out_dir=tmp_path, target="fdi")


def test_multi_objective_gets_one_section_per_objective(tmp_path: Path) -> None:
    path = str(tmp_path / "mo.journal")
    make_study(open_storage(path, heartbeat=False), "mo", directions=("minimize", "maximize"))
    result = analyze_study(storage=path, study_name="mo", out_dir=tmp_path / "out")
    assert [t.target.name for t in result.targets] == ["fid", "log_likelihood"]
    assert set(result.importances_paths) == {"fid", "log_likelihood"}
    assert json.loads((tmp_path / "out" / "importances.json").read_text())["target"] == "fid"
    assert json.loads((tmp_path / "out" / "importances-log_likelihood.json").read_text())["target"] == "log_likelihood"
    page = result.report_path.read_text()
    assert 'id="importances-fid"' in page and 'id="importances-log_likelihood"' in page
    assert (result.tradeoffs[0].x_name, result.tradeoffs[0].y_name) == ("fid", "log_likelihood")
    only = analyze_study(storage=path, study_name="mo", out_dir=tmp_path / "one", target="log_likelihood")
    assert [t.target.name for t in only.targets] == ["log_likelihood"]


def _snapshot(study: optuna.Study) -> list[tuple]:
    return [(t.number, t.state, t.values, t.params, t.user_attrs, t.system_attrs, t.datetime_complete)
            for t in study.get_trials()]


def test_dashboard_gets_figures_and_note_and_trials_stay_untouched(journal: str, tmp_path: Path) -> None:
    study = optuna.load_study(study_name="vae-demo", storage=open_storage(journal, heartbeat=False))
    save_note(study, "my own notes on this study")
    before = _snapshot(study)
    for _ in range(2):  # a second analysis replaces the first one's note block and figures
        result = analyze_study(storage=journal, study_name="vae-demo", out_dir=tmp_path, to_dashboard=True)
    study = optuna.load_study(study_name="vae-demo", storage=open_storage(journal, heartbeat=False))
    assert _snapshot(study) == before
    graphs = get_plotly_graph_objects(study._storage.get_study_system_attrs(study._study_id))
    assert set(result.dashboard_figures) == set(graphs)
    assert {"genstudy-importance-fid", "genstudy-interactions-fid", "genstudy-surface-fid-1",
            "genstudy-convergence"} <= set(graphs)
    assert not any(k.startswith(("genstudy-slices", "genstudy-parallel")) for k in graphs)
    assert json.loads(graphs["genstudy-importance-fid"])["data"][0]["type"] == "bar"
    note = get_note(study)
    assert note.startswith("my own notes on this study")
    assert note.count("## genstudy analysis of vae-demo") == 1 and "| lr |" in note


def test_a_few_trials_still_give_a_report(tmp_path: Path) -> None:
    path = str(tmp_path / "q.journal")
    make_study(open_storage(path, heartbeat=False), "q", n=6)
    result = analyze_study(storage=path, study_name="q", out_dir=tmp_path)
    assert result.targets[0].note == "only 5 trials: importances are rough"
    assert "cannot separate the effects" in result.targets[0].seeds.note
    make_study(open_storage(path, heartbeat=False), "q3", n=4)
    three = analyze_study(storage=path, study_name="q3", out_dir=tmp_path / "q3")
    assert three.importances is None and three.targets[0].note == (
        "no importances: 3 complete trial(s) with a finite fid, fANOVA needs 5")
    assert json.loads(three.importances_path.read_text())["main"] == {}
    assert "no importances" in format_importances_table(three)
    assert 'data-section="slices"' in three.report_path.read_text()
    assert result.report_path.exists()


def test_missing_journal_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "x.journal"
    with pytest.raises(StorageError, match="does not exist"):
        analyze_study(storage=str(missing), study_name="x", out_dir=tmp_path)
    assert not missing.parent.exists()


def test_missing_study_lists_the_studies_there(journal: str, tmp_path: Path) -> None:
    with pytest.raises(StudyNotFoundError, match=r"'vae' does not exist .*studies there: vae-demo"):
        analyze_study(storage=journal, study_name="vae", out_dir=tmp_path)


def test_no_complete_trial_is_an_error(tmp_path: Path) -> None:
    path = str(tmp_path / "e.journal")
    optuna.create_study(storage=open_storage(path, heartbeat=False), study_name="empty")
    with pytest.raises(AnalysisError, match="no COMPLETE trial with a finite value"):
        analyze_study(storage=path, study_name="empty", out_dir=tmp_path)
