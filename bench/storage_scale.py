"""Benchmark the storage at scale: per-trial time in a PostgreSQL study of 100, 1,000 and 10,000 trials.

Each repeat fills one study (``study.add_trials``) with completed trials of the orchestration
benchmark's objective (3 params, 5 intermediate values, a value) up to 100, then each method adds
``--new`` (default 50) trials of the same trivial objective with one worker process; then the
study is topped up to 1,000, and so on (so at "N" a method sees N to N + 100 trials, the methods'
order rotating between repeats). The methods:

- ``genstudy``: the worker stack of ``genstudy worker --ray-address none`` (``open_storage`` with
  the heartbeat, ``attach_study``, ``claim_lock_for``, ``run_worker`` to a target of the study's
  trials + new);
- ``optuna``: plain ``optuna.load_study(storage=URL).optimize(objective, n_trials=new)``;
- ``optuna-heartbeat``: the same with Optuna's heartbeat on (genstudy's settings), for reference.

All three use ``RandomSampler``: TPE's own cost grows with the trials and would hide the
storage's. Per trial: *steady* = (last new trial's completion - first new trial's start) / new,
from the storage's timestamps; *with start-up* = wall time from launching the worker process
(imports, opening the storage, loading the study and its N trials) until it exits, / new.
Medians of ``--repeats`` runs (default 3), the methods interleaved (rotated order); ratios are
medians of the ratios within a repeat.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres); creates and drops its own
database. Writes the "storage at scale" section of BENCHMARKS.md.

    .venv/bin/python bench/storage_scale.py [--sizes 100 1000 10000] [--new 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
import uuid
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial
from orchestration import (  # bench/ is on sys.path when run as a script
    SPEC,
    _create_database,
    _drop_database,
    _machine,
    _paired_ratio,
    trivial_objective,
)

SPEC_OVERRIDES = ["sampler.name=random"]
METHODS = ("genstudy", "optuna", "optuna-heartbeat")
LABELS = {"genstudy": "genstudy worker stack", "optuna": "plain Optuna optimize",
          "optuna-heartbeat": "plain Optuna optimize + heartbeat"}
DISTS = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "beta": FloatDistribution(0.5, 2.0),
         "batch_size": CategoricalDistribution([32, 64, 128])}


def _top_up(url: str, study_name: str, n: int, seed: int) -> float:
    """Add completed trials until the study (created if missing) holds ``n``; the seconds it took."""
    started = time.perf_counter()
    study = optuna.create_study(storage=url, study_name=study_name, direction="minimize", load_if_exists=True)
    rng = np.random.default_rng([seed, n])
    trials = []
    for _ in range(n - len(study.get_trials(deepcopy=False))):
        p = {"lr": float(10 ** rng.uniform(-4, -1)), "beta": float(rng.uniform(0.5, 2.0)),
             "batch_size": int(rng.choice([32, 64, 128]))}
        value = (math.log10(p["lr"]) + 2.5) ** 2 + (p["beta"] - 1.0) ** 2 + p["batch_size"] / 1000
        trials.append(create_trial(params=p, distributions=DISTS, value=value,
                                   intermediate_values={s: value * (1 + 1 / s) for s in range(1, 6)}))
    study.add_trials(trials)
    return time.perf_counter() - started


def _worker(method: str, url: str, study_name: str, target: int, new: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
    if method == "genstudy":
        from genstudy.objectives import make_pruner, make_sampler
        from genstudy.spec import load_spec
        from genstudy.storage import attach_study, open_storage
        from genstudy.workers import claim_lock_for, run_worker, worker_seed

        spec = load_spec(SPEC, SPEC_OVERRIDES)
        study = attach_study(spec, storage=open_storage(url), location=url, study_name=study_name, create=False,
                             sampler=make_sampler(spec, seed=worker_seed(spec.sampler.seed, 0)), pruner=make_pruner(spec))
        run_worker(study, trivial_objective, n_trials=target, claim=claim_lock_for(url, study_name))
    else:
        storage = url
        if method == "optuna-heartbeat":
            storage = optuna.storages.RDBStorage(url, heartbeat_interval=10, grace_period=60)
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(trivial_objective, n_trials=new, gc_after_trial=False)


def _run(method: str, url: str, study_name: str, new: int) -> dict:
    existing = len(optuna.load_study(study_name=study_name, storage=url).get_trials(deepcopy=False))
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "worker", method, url, study_name, str(existing + new), str(new)],
                   check=True)
    wall = time.perf_counter() - started
    trials = optuna.load_study(study_name=study_name, storage=url).get_trials(deepcopy=False)
    added = [t for t in trials if t.number >= existing]
    first = min(t.datetime_start for t in added)
    last = max(t.datetime_complete for t in added)
    return {"method": method, "existing": existing, "added": len(added),
            "steady_ms": 1000 * (last - first).total_seconds() / len(added), "startup_ms": 1000 * wall / len(added)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--new", type=int, default=50)
    parser.add_argument("--print-only", action="store_true", help="print the section, leave BENCHMARKS.md as it is")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db, url = _create_database()
    runs: list[dict] = []
    try:
        for rep in range(args.repeats):
            study_name = f"scale-{rep}-{uuid.uuid4().hex[:8]}"
            for size in sorted(args.sizes):
                seconds = _top_up(url, study_name, size, seed=rep)
                print(f"repeat {rep + 1}: study topped up to {size} trials in {seconds:.1f} s", flush=True)
                shift = rep % len(args.methods)  # a different method first in each repeat
                for method in args.methods[shift:] + args.methods[:shift]:
                    r = _run(method, url, study_name, args.new) | {"repeat": rep, "size": size}
                    print(f"repeat {rep + 1}: {method:16s} at {r['existing']:6d}: {r['steady_ms']:7.1f} ms steady, "
                          f"{r['startup_ms']:7.1f} ms with start-up ({r['added']} added)", flush=True)
                    runs.append(r)
    finally:
        _drop_database(db)
    section = _section(runs, args)
    from _markdown import write_section

    if not args.print_only:
        write_section("storage at scale", section)
    print(section)


def _section(runs: list[dict], args: argparse.Namespace) -> str:
    med = {(key, m, s): statistics.median(r[key] for r in runs if r["method"] == m and r["size"] == s)
           for key in ("steady_ms", "startup_ms") for m in args.methods for s in args.sizes}
    default = (args.sizes, args.new, args.repeats) == ([100, 1000, 10000], 50, 3)
    cmd = "`.venv/bin/python bench/storage_scale.py`" + ("" if default else (
        f" (run with --sizes {' '.join(map(str, args.sizes))} --new {args.new} --repeats {args.repeats})"))
    lines = ["## storage at scale", "",
             f"Per-trial time when a PostgreSQL study already holds {', '.join(f'{n:,}' for n in args.sizes)} completed "
             "trials: "
             f"{args.new} new trials of the orchestration benchmark's trivial objective, one worker process, "
             f"`RandomSampler` for all (TPE's own cost grows with the trials and would hide the storage's). "
             f"{_machine()}. Reproduce: {cmd}. Target: genstudy never worse than plain Optuna.", "",
             "*steady*: (last new trial's completion - first new trial's start) / new trials, from the storage's "
             "timestamps; *with start-up*: wall time from launching the worker process (imports, opening the storage, "
             f"loading the study) until it exits, / new trials. One study per repeat, filled to each size in turn; at "
             f"size N each method adds {args.new} trials, so the methods see N to N + {args.new * (len(args.methods) - 1)} "
             f"existing trials (order rotated between repeats). Medians of {args.repeats} repeats; a ratio is the "
             "median of the ratios within each repeat.", ""]
    for key, title in (("steady_ms", "steady, ms per trial"), ("startup_ms", "with start-up, ms per trial")):
        lines += [f"### {title}", "", "| method | " + " | ".join(f"{s:,} trials" for s in args.sizes) + " |",
                  "| --- |" + " --- |" * len(args.sizes)]
        for m in args.methods:
            lines.append(f"| {LABELS[m]} | " + " | ".join(f"{med[key, m, s]:.1f}" for s in args.sizes) + " |")
        for num, den in (("genstudy", "optuna"), ("optuna-heartbeat", "optuna"), ("genstudy", "optuna-heartbeat")):
            if num in args.methods and den in args.methods:
                lines.append(f"| ratio {num} / {den} | " + " | ".join(
                    f"{_paired_ratio(runs, key, num, den, size=s):.2f}x" for s in args.sizes) + " |")
        lines.append("")
    for m in args.methods:
        first, last = (statistics.median(r["steady_ms"] for r in runs if r["method"] == m and r["size"] == s)
                       for s in (args.sizes[0], args.sizes[-1]))
        lines.append(f"- {LABELS[m]}: steady per-trial time x{last / first:.2f} from {args.sizes[0]:,} to "
                     f"{args.sizes[-1]:,} trials.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        _worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        main()
