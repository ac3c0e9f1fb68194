"""Benchmark README's first command: wall time of the quickstart study on this machine.

Runs ``genstudy run studies/quickstart.yaml`` in a fresh directory (cold: the domain
classifier is trained and test statistics computed), then again under a new study name with
the caches kept (warm), and writes the numbers to BENCHMARKS.md (section "quickstart").

    .venv/bin/python bench/quickstart.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from _markdown import write_section  # bench/ is on sys.path when run as a script

from genstudy.storage import open_storage

REPO = Path(__file__).resolve().parents[1]
GENSTUDY = Path(sys.executable).parent / "genstudy"


def _run(cwd: Path, study_name: str) -> dict:
    started = time.perf_counter()
    subprocess.run([str(GENSTUDY), "-q", "run", str(REPO / "studies" / "quickstart.yaml"), "--study-name", study_name],
                   cwd=cwd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    journal = cwd / "genstudy-runs" / f"{study_name}.journal"
    study = optuna.load_study(study_name=study_name, storage=open_storage(str(journal), heartbeat=False))
    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    train = sum(t.user_attrs["train_seconds"] for t in trials)
    evaluation = sum(t.user_attrs["eval_seconds"] for t in trials)
    return {"wall": wall, "complete": len(trials), "n": len(study.trials),
            "eval_share": evaluation / (train + evaluation), "best_fid": study.best_value}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold = _run(Path(tmp), "quickstart")
        warm = _run(Path(tmp), "quickstart-warm")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows = "\n".join(
        f"| {label} | {r['wall']:.1f} | {r['n']} ({r['complete']} complete) | {100 * r['eval_share']:.0f}% | {r['best_fid']:.1f} |"
        for label, r in (("cold (classifier trained)", cold), ("warm (caches kept)", warm))
    )
    section = (
        "## quickstart\n\n"
        f"`genstudy run studies/quickstart.yaml`, CPU, {machine}. Target: under 300 s.\n"
        "Reproduce: `.venv/bin/python bench/quickstart.py`.\n\n"
        "| run | wall s | trials | evaluation share of complete trials | best fid |\n| --- | --- | --- | --- | --- |\n"
        f"{rows}\n"
    )
    write_section("quickstart\n", section)
    print(section)


if __name__ == "__main__":
    main()
