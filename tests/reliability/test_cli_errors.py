"""Bad command lines and broken environments: one clear line on stderr, exit code 2, no
traceback, and never the password of the storage URL.

"Wrong credentials" is real here: the private cluster asks every role but ``postgres`` for its
password (scram-sha-256), unlike the shared server on 5432, which trusts everyone.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import optuna
import pytest

from genstudy.cli import main
from tests.conftest import run_cli
from tests.reliability._pgcluster import free_port
from tests.reliability.conftest import PASSWORD, PW_USER, SHORT_SPEC, write_yaml


def _refused(capsys, argv: list[str]) -> str:
    """Run ``genstudy ARGV`` in this process; the one error line it printed."""
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err[-3000:])
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if "error" in ln.lower()]  # progress and log lines aside
    assert len(lines) == 1 and lines[0].startswith("genstudy: error: "), err[-3000:]
    assert PASSWORD not in out + err
    return lines[0]


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "spec.yaml", SHORT_SPEC)


def _worker(spec: Path, storage: str, tmp_path: Path, *extra: str) -> list[str]:
    return ["worker", str(spec), "--storage", storage, "--study-name", "s", "--runs-dir", str(tmp_path / "runs"), *extra]


def test_unreachable_storage(spec: Path, tmp_path: Path) -> None:
    url = f"postgresql://{PW_USER}:{PASSWORD}@127.0.0.1:{free_port()}/studies"
    proc = run_cli(*_worker(spec, url, tmp_path), cwd=tmp_path, timeout=120)  # the installed command, as typed
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert PASSWORD not in proc.stdout + proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
    assert f"cannot open storage postgresql://{PW_USER}:***@127.0.0.1:" in line and "Connection refused" in line


@pytest.mark.postgres
def test_wrong_password(private_pg, private_db, spec: Path, tmp_path: Path, capsys) -> None:
    line = _refused(capsys, _worker(spec, private_pg.url(private_db, user=PW_USER, password="Wr0ng-" + PASSWORD), tmp_path))
    assert f'password authentication failed for user "{PW_USER}"' in line
    assert "Wr0ng-" not in line  # a wrong password is a password too


@pytest.mark.postgres
def test_unknown_role(private_pg, private_db, spec: Path, tmp_path: Path, capsys) -> None:
    line = _refused(capsys, _worker(spec, private_pg.url(private_db, user="nobody_here", password=PASSWORD), tmp_path))
    assert 'password authentication failed for user "nobody_here"' in line  # the server does not say which


@pytest.mark.postgres
def test_missing_database(private_pg, spec: Path, tmp_path: Path, capsys) -> None:
    line = _refused(capsys, _worker(spec, private_pg.url("no_such_db", user=PW_USER, password=PASSWORD), tmp_path))
    assert 'database "no_such_db" does not exist' in line and "createdb" in line


@pytest.mark.postgres
def test_unknown_study(private_pg, private_db, spec: Path, tmp_path: Path, capsys) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    line = _refused(capsys, _worker(spec, url, tmp_path))
    assert "study 's' does not exist" in line
    assert f"optuna create-study --storage postgresql://{PW_USER}:***@" in line and "--direction minimize" in line


@pytest.mark.postgres
def test_directions_that_do_not_fit_the_spec(private_pg, private_db, tmp_path: Path, capsys) -> None:
    url = private_pg.url(private_db, user=PW_USER, password=PASSWORD)
    optuna.create_study(storage=url, study_name="s", directions=["minimize", "minimize"])
    two = write_yaml(tmp_path / "two.yaml", {**SHORT_SPEC, "metrics": ["fid", "log_likelihood"]})
    line = _refused(capsys, _worker(two, url, tmp_path))
    assert "has directions ['minimize', 'minimize']" in line and "['minimize', 'maximize']" in line
    assert optuna.load_study(study_name="s", storage=url).user_attrs == {}, "the mismatching spec was not recorded"


# --- dataset files in torchvision's layout, broken in the ways downloads break ------------------
def _idx(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.astype(np.uint8).tobytes()


def _mnist_files(root: Path, n: int = 30) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(np.zeros((n, 28, 28)), 2051))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(np.arange(n) % 10, 2049))
    return raw


def _run_mnist(capsys, tmp_path: Path, url: str, data: Path) -> str:
    optuna.create_study(storage=url, study_name="s", direction="minimize")
    spec = write_yaml(tmp_path / "mnist.yaml", {**SHORT_SPEC, "dataset": "mnist"})
    return _refused(capsys, _worker(spec, url, tmp_path, "--data-dir", str(data), "--device", "cpu"))


@pytest.mark.postgres
def test_missing_dataset_files(private_pg, private_db, tmp_path: Path, capsys) -> None:
    raw = _mnist_files(tmp_path / "data")
    (raw / "t10k-labels-idx1-ubyte").unlink()
    line = _run_mnist(capsys, tmp_path, private_pg.url(private_db, user=PW_USER, password=PASSWORD), tmp_path / "data")
    assert "dataset 'mnist'" in line and "t10k-labels-idx1-ubyte" in line and "--download" in line


@pytest.mark.postgres
def test_truncated_idx_file(private_pg, private_db, tmp_path: Path, capsys) -> None:
    raw = _mnist_files(tmp_path / "data")
    images = raw / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    line = _run_mnist(capsys, tmp_path, private_pg.url(private_db, user=PW_USER, password=PASSWORD), tmp_path / "data")
    assert str(images) in line and "is truncated" in line


@pytest.mark.postgres
def test_wrong_magic_number(private_pg, private_db, tmp_path: Path, capsys) -> None:
    raw = _mnist_files(tmp_path / "data")
    images = raw / "train-images-idx3-ubyte"
    images.write_bytes(struct.pack(">I", 2049) + images.read_bytes()[4:])  # a label file's magic
    line = _run_mnist(capsys, tmp_path, private_pg.url(private_db, user=PW_USER, password=PASSWORD), tmp_path / "data")
    assert str(images) in line and "magic number 2049, expected 2051" in line


def test_missing_data_dir(spec: Path, tmp_path: Path, capsys) -> None:
    line = _refused(capsys, ["run", str(spec), "--set", "dataset=fashion-mnist", "--data-dir", str(tmp_path / "nope"),
                             "--runs-dir", str(tmp_path / "runs"), "--ray-address", "none"])
    assert "dataset 'fashion-mnist'" in line and "does not exist" in line


@pytest.fixture
def journal_study(tmp_path: Path) -> Path:
    path = tmp_path / "s.journal"
    optuna.create_study(storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path))),
                        study_name="s", direction="minimize")
    return path


def test_a_negative_worker_index_is_refused(spec: Path, journal_study: Path, tmp_path: Path, capsys) -> None:
    line = _refused(capsys, _worker(spec, str(journal_study), tmp_path, "--worker-index", "-1"))
    assert "--worker-index -1" in line


def test_a_large_worker_index_still_seeds_its_sampler(spec: Path, journal_study: Path, tmp_path: Path, capsys) -> None:
    rc = main(_worker(spec, str(journal_study), tmp_path, "--worker-index", "5000", "--n-trials", "1", "--device", "cpu"))
    assert rc == 0, capsys.readouterr().err[-2000:]
