"""Benchmark the study presets at their small budget: CPU time per trial and the best trial.

Runs ``genstudy run studies/<preset>.yaml`` for every preset in a fresh directory (the domain
classifier is trained once and shared through the cache) and writes the "presets" section of
BENCHMARKS.md.

    .venv/bin/python bench/presets.py [PRESET ...]
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

from genstudy.spec import load_spec
from genstudy.storage import open_storage

REPO = Path(__file__).resolve().parents[1]
GENSTUDY = Path(sys.executable).parent / "genstudy"
SHOWN = ("fid", "log_likelihood", "inception_score", "class_coverage", "precision", "recall", "label_accuracy", "mse", "loss")


def _bench(preset: Path, cwd: Path) -> str:
    spec = load_spec(preset)
    started = time.perf_counter()
    subprocess.run([str(GENSTUDY), "-q", "run", str(preset)], cwd=cwd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name=preset.stem, storage=open_storage(str(cwd / "genstudy-runs" / f"{preset.stem}.journal"), heartbeat=False))
    trials = study.trials
    per_trial = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials if t.datetime_complete]
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    sign = 1 if spec.directions[0] == "minimize" else -1
    best = min(complete, key=lambda t: sign * t.values[0])
    shown = ", ".join(f"{k} {best.user_attrs[k]:.4g}" for k in SHOWN if isinstance(best.user_attrs.get(k), float))
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    return (f"| {preset.name} | {spec.objective} | {len(trials)} ({pruned} pruned) | {spec.budget.epochs} | "
            f"{sum(per_trial) / len(per_trial):.1f} | {wall:.0f} | {best.number}: {shown} |")


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem for p in (REPO / "studies").glob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = [_bench(REPO / "studies" / f"{name}.yaml", Path(tmp)) for name in names]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = (
        "## presets\n\n"
        f"Every preset at its small budget on the embedded mnist5k, CPU, {machine}, one after another in\n"
        "one directory (the classifier is trained by the first and cached). Reproduce: `.venv/bin/python bench/presets.py`.\n\n"
        "| preset | objective | trials | epochs | s per trial | wall s | best trial: metrics |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    write_section("presets\n", section)
    print(section)


if __name__ == "__main__":
    main()
