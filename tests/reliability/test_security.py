"""Security: the storage password shown nowhere; checkpoints and artifacts loaded with
``weights_only=True``; artifact paths kept inside the artifact directory; specs read as data
(safe YAML, nothing executed)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import optuna
import pytest
import torch

from genstudy.cli import main
from tests.conftest import BIN, REPO
from tests.reliability.conftest import PASSWORD, PW_USER, TINIEST_SPEC, WORKER_ENV, write_yaml


class _Bomb:
    """Pickles to ``os.system("touch MARKER")``: what a hostile checkpoint file carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _bomb_file(path: Path, marker: Path, *, wrap=lambda bomb: bomb) -> Path:
    torch.save(wrap(_Bomb(marker)), path)
    return path


def _files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


# --- the password ---------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.slow
def test_the_password_appears_in_no_output_attr_report_artifact_or_dashboard_note(private_pg, private_db, tmp_path: Path) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)  # scram-sha-256: the password is really used
    optuna.create_study(storage=url, study_name="s", direction="minimize")
    spec = write_yaml(tmp_path / "spec.yaml", TINIEST_SPEC)
    runs, art, out = tmp_path / "runs", tmp_path / "artifacts", tmp_path / "report"
    env = {**os.environ, **WORKER_ENV}

    def genstudy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "genstudy"), *args], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)

    runs_ = [
        genstudy("--debug", "worker", str(spec), "--storage", url, "--study-name", "s", "--n-trials", "6",
                 "--runs-dir", str(runs), "--artifact-dir", str(art), "--device", "cpu"),
        genstudy("--debug", "analyze", "--storage", url, "--study-name", "s", "--out", str(out), "--to-dashboard"),
        # failures print the URL too: a wrong password and a refused study, with --debug tracebacks
        genstudy("--debug", "worker", str(spec), "--storage", url.replace(PASSWORD, PASSWORD + "x"), "--study-name", "s"),
        genstudy("-v", "worker", str(spec), "--storage", url, "--study-name", "nope"),
    ]
    assert runs_[0].returncode == 0, runs_[0].stderr[-3000:]
    assert runs_[1].returncode == 0, runs_[1].stderr[-3000:]
    assert runs_[2].returncode != 0 and runs_[3].returncode == 2
    printed = "".join(r.stdout + r.stderr for r in runs_)
    assert f"postgresql://{PW_USER}:***@" in printed  # the location is shown, redacted

    study = optuna.load_study(study_name="s", storage=url)
    from optuna_dashboard import get_note

    note = get_note(study)
    assert "genstudy analysis" in note, "the analysis saved its note for the dashboard"
    stored = json.dumps([study.user_attrs, study._storage.get_study_system_attrs(study._study_id)], default=str)
    stored += "".join(json.dumps([t.user_attrs, t.system_attrs, t.params], default=str) for t in study.trials)
    files = _files_under(runs, art, out)
    assert any(p.name == "report.html" for p in files) and any(p.name == "importances.json" for p in files)
    assert len(_files_under(art)) >= 6, "sample grids and checkpoints were written"
    for where, text in (("output", printed), ("study and trial attrs", stored), ("dashboard note", note)):
        assert PASSWORD not in text, f"the password shows in the {where}"
    for p in files:
        assert PASSWORD.encode() not in p.read_bytes(), f"the password shows in {p}"


# --- weights_only ----------------------------------------------------------------------------
def test_a_pickle_bomb_checkpoint_is_refused_and_never_runs(tmp_path: Path) -> None:
    from genstudy.models import load_checkpoint

    armed, marker = tmp_path / "armed", tmp_path / "ran"
    path = _bomb_file(tmp_path / "ckpt.pt", marker, wrap=lambda b: {"format": "genstudy-checkpoint/1", "config": b})
    # the bomb is live: an unguarded torch.load runs it
    subprocess.run([str(BIN / "python"), "-c", f"import torch; torch.load({str(_bomb_file(tmp_path / 'a.pt', armed))!r}, "
                    "weights_only=False)"], check=True, capture_output=True, timeout=120)
    assert armed.exists()
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_pickle_bomb_in_the_caches_or_weights_files_never_runs(tmp_path: Path, caplog) -> None:
    from genstudy.data import load_dataset
    from genstudy.metrics import InceptionWeightsError, inception_fid_evaluator, load_or_train_classifier

    marker = tmp_path / "ran"
    toy = load_dataset("toy")
    cache = tmp_path / "cache"
    real = load_or_train_classifier(toy, cache_dir=cache)  # writes the cache file ...
    _bomb_file(real.path, marker)  # ... which a hostile user of the shared cache replaces
    again = load_or_train_classifier(toy, cache_dir=cache)
    assert again.trained and again.weights_sha256 == real.weights_sha256, "unreadable cache: retrained, same weights"
    assert "unreadable" in caplog.text
    with pytest.raises(InceptionWeightsError, match="cannot be read as a state dict"):
        inception_fid_evaluator(toy, _bomb_file(tmp_path / "inception.pt", marker), cache_dir=cache)
    assert not marker.exists()


def _resume_ref_trial(tmp_path: Path, artifact_id: str):
    """A retried trial whose inherited ``resume_checkpoint`` names ``artifact_id``."""
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    trial = study.ask()
    trial.set_user_attr("resume_checkpoint", {"artifact_id": artifact_id, "trial": 999, "epoch": 1})
    return trial


def test_a_pickle_bomb_resume_checkpoint_is_refused_and_training_starts_over(tmp_path: Path) -> None:
    from genstudy.objectives._resume import load_resume

    marker = tmp_path / "ran"
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    _bomb_file(store_dir / "bomb-id", marker, wrap=lambda b: {"format": "genstudy-resume/1", "runs": [b], "epoch": 1})
    trial = _resume_ref_trial(tmp_path, "bomb-id")
    assert load_resume(trial, optuna.artifacts.FileSystemArtifactStore(store_dir), runs=[object()]) is None
    assert "Weights only load failed" in trial.user_attrs["resume_error"]
    assert not marker.exists()


# --- artifact paths --------------------------------------------------------------------------
@pytest.mark.parametrize("artifact_id", ["../outside.pt", "sub/../../outside.pt", "/abs/outside.pt"])
def test_artifact_ids_cannot_reach_outside_the_artifact_dir(tmp_path: Path, artifact_id: str) -> None:
    from genstudy.objectives._resume import discard_checkpoint, load_resume

    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"not yours")
    store = optuna.artifacts.FileSystemArtifactStore(store_dir)
    trial = _resume_ref_trial(tmp_path, artifact_id.replace("/abs", str(tmp_path)))
    assert load_resume(trial, store, runs=[object()]) is None  # a stored id is data from the database
    assert "Invalid artifact_id" in trial.user_attrs["resume_error"]
    discard_checkpoint(trial, store)
    assert outside.read_bytes() == b"not yours", "a stored artifact id removed a file outside the artifact dir"


# --- specs are data --------------------------------------------------------------------------
HOSTILE_YAML = [
    "objective: !!python/object/apply:os.system ['touch {m}']\n",
    "objective: vae\nfixed: {{width: !!python/object/apply:os.system ['touch {m}']}}\n",
    "!!python/object/new:os.system ['touch {m}']\n",
    "objective: !!python/name:os.system\n",
    "objective: vae\nsearch_space: {{lr: !!python/object/apply:subprocess.check_call [['touch', '{m}']]}}\n",
]


@pytest.mark.parametrize("text", HOSTILE_YAML)
def test_yaml_tags_that_build_python_objects_are_refused(text: str, tmp_path: Path, capsys) -> None:
    marker = tmp_path / "ran"
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.format(m=marker))
    assert main(["run", str(spec), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"genstudy: error: {spec}: not valid YAML") and err.count("\n") == 1, err
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_a_set_override_is_read_as_safe_yaml_too(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "ran"
    spec = write_yaml(tmp_path / "spec.yaml", TINIEST_SPEC)
    rc = main(["run", str(spec), "--set", f"fixed.width=!!python/object/apply:os.system ['touch {marker}']",
               "--runs-dir", str(tmp_path / "runs")])
    assert rc == 2 and "is not valid YAML" in capsys.readouterr().err
    assert not marker.exists()


CODE = "__import__('os').system('touch {m}')"


@pytest.mark.parametrize("place", ["objective", "dataset", "precision", "sampler.name", "pruner.name", "metrics",
                                   "fixed.activation", "fixed.lr", "search_space.lr.low", "search_space.lr.type",
                                   "search_space.activation.choices", "budget.epochs"])
def test_code_in_a_spec_value_is_refused_never_run(place: str, tmp_path: Path, capsys) -> None:
    marker = tmp_path / "ran"
    code = CODE.format(m=marker)
    spec = json.loads(json.dumps(TINIEST_SPEC))
    node, *_ = [spec]
    parts = place.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = [code] if place.endswith(("metrics", "choices")) else code
    if place == "search_space.activation.choices":
        node["type"] = "categorical"
    path = write_yaml(tmp_path / "spec.yaml", spec)
    assert main(["run", str(path), "--runs-dir", str(tmp_path / "runs"), "--ray-address", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"genstudy: error: {path}: ") and "__import__" in err, err
    assert not marker.exists()


def test_repo_presets_hold_no_python_tags() -> None:
    for preset in (REPO / "studies").glob("*.yaml"):
        assert "!!python" not in preset.read_text(), preset


@pytest.mark.postgres
def test_the_password_can_stay_out_of_the_command_line(private_pg, private_db, tmp_path: Path, capsys, monkeypatch) -> None:
    """A URL on the command line shows in ``ps``: libpq's PGPASSWORD (or ~/.pgpass) keeps it out."""
    spec = write_yaml(tmp_path / "spec.yaml", TINIEST_SPEC)
    url = private_pg.url(private_db, user=PW_USER)  # no password in the URL
    argv = ["worker", str(spec), "--storage", url, "--study-name", "nope", "--runs-dir", str(tmp_path / "runs")]
    assert main(argv) == 2
    assert "no password supplied" in capsys.readouterr().err  # the server does ask for one
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    assert main(argv) == 2
    assert "study 'nope' does not exist" in capsys.readouterr().err  # authenticated: the study is what is missing
