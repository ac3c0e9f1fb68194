"""Benchmark the orchestration overhead per trial: genstudy's workers vs plain Optuna vs Ray Tune.

A trivial objective (no training: 3 params, 5 ``trial.report`` calls) runs 200 trials with 1, 2
and 4 concurrent workers, each run in a fresh study of one PostgreSQL database, by

- ``genstudy``: N processes that do what ``genstudy worker --ray-address none`` does around its
  objective: ``open_storage`` (heartbeat on), ``attach_study``, ``claim_lock_for``, ``run_worker``
  with the study-wide target of 200;
- ``genstudy-ray``: ``run_ray_workers`` (``RayOptions(address="local", workers=N)``), Ray actors
  running the same loop, with the trivial objective through ``WorkerSettings.objective_factory``;
- ``optuna``: N processes of plain ``optuna.load_study(storage=URL).optimize(objective, n_trials=200/N)``;
- ``optuna-heartbeat``: the same with Optuna's heartbeat on (``RDBStorage(URL, heartbeat_interval=10,
  grace_period=60)``, genstudy's settings): a reference for the part of genstudy's overhead that is
  Optuna's own heartbeat (a stale-trial check before and a heartbeat write in a thread during each trial);
- ``ray-tune``: ``tune.Tuner`` with ``OptunaSearch`` on the same PostgreSQL (``reuse_actors=True``,
  ``max_concurrent_trials=N``), the objective's 5 reports as 5 ``tune.report`` calls.

All use TPE with Optuna's default settings (10 startup trials, constant liar) and a distinct
seed per worker. On a machine with fewer cores than N, the Ray actors and Tune trials ask for
cores/N CPUs each, so that all N run at once.

Two times per trial are reported: *steady* = (last trial's completion - first trial's start) /
200, from the trials' own timestamps in the storage (no process start-up, no imports, no Ray
start); and *with start-up* = the wall time from launching the workers (``Popen`` of the N
processes, or the ``run_ray_workers`` / ``Tuner.fit`` call that starts Ray) until the last one
exited, / 200. Every configuration runs ``--repeats`` times (default 5), the methods interleaved
within each repeat (in a rotated order); the tables show medians, and each ratio is the median of
the ratios within a repeat (runs minutes apart on a shared machine see different loads).

Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres): the script creates its own
database and drops it at the end. Ray Tune needs ``ray[tune]``. Writes the "orchestration"
section of BENCHMARKS.md.

    .venv/bin/python bench/orchestration.py [--repeats 5] [--trials 200] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SPEC = REPO / "studies" / "quickstart.yaml"
SPEC_OVERRIDES = ["sampler.n_startup_trials=10"]  # Optuna's TPE default, as the plain-Optuna workers use
METHODS = ("genstudy", "optuna", "optuna-heartbeat", "genstudy-ray", "ray-tune")  # pairs compared run adjacent
LABELS = {
    "genstudy": "genstudy worker stack (N processes)",
    "genstudy-ray": "genstudy Ray actors (run_ray_workers)",
    "optuna": "plain Optuna optimize (N processes)",
    "optuna-heartbeat": "plain Optuna optimize + heartbeat (N processes)",
    "ray-tune": "Ray Tune + OptunaSearch (reuse_actors)",
}


# --- the objective ------------------------------------------------------------------------------------------------

def trivial_objective(trial: optuna.Trial) -> float:
    """3 params, 5 intermediate reports, no training."""
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    beta = trial.suggest_float("beta", 0.5, 2.0)
    batch_size = trial.suggest_categorical("batch_size", [32, 64, 128])
    value = (math.log10(lr) + 2.5) ** 2 + (beta - 1.0) ** 2 + batch_size / 1000
    for step in range(1, 6):
        trial.report(value * (1 + 1 / step), step)
    return value


def trivial_objective_factory():
    """``WorkerSettings.objective_factory``: called once in each Ray actor."""
    return trivial_objective


def tune_trainable(config: dict) -> None:
    """The same objective as a Ray Tune function trainable: 5 reports, the last one is the value."""
    from ray import tune

    value = (math.log10(config["lr"]) + 2.5) ** 2 + (config["beta"] - 1.0) ** 2 + config["batch_size"] / 1000
    for step in range(1, 6):
        tune.report({"value": value * (1 + 1 / step) if step < 5 else value})


# --- one worker process (genstudy or plain Optuna) ------------------------------------------------------------------

def _worker(method: str, url: str, study_name: str, n_trials: int, index: int, *, count_sql: bool = False) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
    statements = [0]
    if count_sql:  # every statement any engine of this process sends (pool pre-pings are not statements)
        import sqlalchemy as sa

        sa.event.listen(sa.engine.Engine, "before_cursor_execute", lambda *_a: statements.__setitem__(0, statements[0] + 1))
    if method == "genstudy":
        from genstudy.objectives import make_pruner, make_sampler
        from genstudy.spec import load_spec
        from genstudy.storage import attach_study, open_storage
        from genstudy.workers import claim_lock_for, run_worker, worker_seed

        spec = load_spec(SPEC, SPEC_OVERRIDES)
        study = attach_study(spec, storage=open_storage(url), location=url, study_name=study_name, create=False,
                             sampler=make_sampler(spec, seed=worker_seed(spec.sampler.seed, index)),
                             pruner=make_pruner(spec))
        claim = claim_lock_for(url, study_name)
        _ready()
        cpu = time.process_time()
        ran = run_worker(study, trivial_objective, n_trials=n_trials, claim=claim).ran
    else:
        storage = url
        if method == "optuna-heartbeat":  # genstudy's heartbeat settings (10 s interval, 60 s grace)
            storage = optuna.storages.RDBStorage(url, heartbeat_interval=10, grace_period=60)
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=optuna.samplers.TPESampler(seed=index))
        _ready()
        cpu = time.process_time()
        study.optimize(trivial_objective, n_trials=n_trials, gc_after_trial=False)
        ran = n_trials
    print(json.dumps({"cpu_s": time.process_time() - cpu, "ran": ran, "statements": statements[0]}), flush=True)


def _count_statements(method: str, url: str, n_trials: int) -> float:
    """SQL statements per trial of one worker process (from the start barrier on): deterministic, unlike times."""
    study_name = f"sql-{method}-{uuid.uuid4().hex[:8]}"
    optuna.create_study(storage=url, study_name=study_name, direction="minimize")
    p = subprocess.Popen([sys.executable, __file__, "worker", method, url, study_name, str(n_trials), "0", "count-sql"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{method} worker did not start (exit code {p.wait()})")
    out, _ = p.communicate("go\n", timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{method} worker failed with exit code {p.returncode}")
    return json.loads(out.strip().splitlines()[-1])["statements"] / n_trials


def _ready() -> None:
    """Tell the launcher this worker is set up, then wait until all are (a start barrier)."""
    print("ready", flush=True)
    sys.stdin.readline()


# --- one run: N workers of one method on a fresh study ---------------------------------------------------------------

def _one(method: str, url: str, workers: int, n_trials: int) -> dict:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_name = f"orch-{method}-{workers}-{uuid.uuid4().hex[:8]}"
    cpus = min(1.0, (os.cpu_count() or 1) / workers)  # so that N Ray workers run at once on this machine
    tmp = tempfile.mkdtemp(prefix="genstudy-bench-")
    cpu_s = None  # measured for the worker processes only (not Ray's actors)
    if method == "ray-tune":
        from ray import tune
        from ray.tune.search.optuna import OptunaSearch

        search = OptunaSearch(
            space={"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
                   "beta": optuna.distributions.FloatDistribution(0.5, 2.0),
                   "batch_size": optuna.distributions.CategoricalDistribution([32, 64, 128])},
            metric="value", mode="min", sampler=optuna.samplers.TPESampler(seed=0),
            study_name=study_name, storage=optuna.storages.RDBStorage(url),
        )
        tuner = tune.Tuner(
            tune.with_resources(tune_trainable, {"cpu": cpus}),
            tune_config=tune.TuneConfig(search_alg=search, num_samples=n_trials, max_concurrent_trials=workers,
                                        reuse_actors=True),
            run_config=tune.RunConfig(storage_path=tmp, name=study_name, verbose=0),
        )
        import ray

        started = time.perf_counter()
        # as genstudy's --ray-address local does: a Ray of its own, never another one found on this machine
        ray.init(address="local", include_dashboard=False, logging_level="WARNING")
        tuner.fit()
        wall = time.perf_counter() - started
        ray.shutdown()
    elif method == "genstudy-ray":
        from genstudy.objectives import make_pruner, make_sampler
        from genstudy.spec import load_spec
        from genstudy.storage import attach_study, open_storage
        from genstudy.workers import RayOptions, WorkerSettings, run_ray_workers

        optuna.create_study(storage=url, study_name=study_name, direction="minimize")
        spec = load_spec(SPEC, SPEC_OVERRIDES)
        driver = attach_study(spec, storage=open_storage(url, heartbeat=False), location=url, study_name=study_name,
                              create=False, sampler=make_sampler(spec, seed=0), pruner=make_pruner(spec))
        settings = WorkerSettings(spec=spec, study_name=study_name, storage=url, n_trials=n_trials, runs_dir=tmp,
                                  artifact_dir=tmp, worker_index=0, objective_factory=trivial_objective_factory,
                                  ray=RayOptions(address="local", workers=workers, cpus_per_trial=cpus))
        started = time.perf_counter()
        run_ray_workers(settings, study=driver)
        wall = time.perf_counter() - started
    else:
        optuna.create_study(storage=url, study_name=study_name, direction="minimize")
        per_worker = [n_trials if method == "genstudy" else n_trials // workers + (i < n_trials % workers)
                      for i in range(workers)]
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, __file__, "worker", method, url, study_name, str(n), str(i)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for i, n in enumerate(per_worker)]
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{method} worker did not start (exit code {p.wait()})")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            if p.wait() != 0:
                raise RuntimeError(f"{method} worker failed with exit code {p.returncode}")
        wall = time.perf_counter() - started
        cpu_s = sum(json.loads(p.stdout.read().strip().splitlines()[-1])["cpu_s"] for p in procs)
    shutil.rmtree(tmp, ignore_errors=True)
    trials = optuna.load_study(study_name=study_name, storage=url).get_trials(deepcopy=False)
    done = [t for t in trials if t.state.is_finished()]
    first = min(t.datetime_start for t in done)
    last = max(t.datetime_complete for t in done)
    finished = sum(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in trials)
    return {"method": method, "workers": workers, "finished": finished, "total": len(trials),
            "steady_ms": 1000 * (last - first).total_seconds() / finished, "startup_ms": 1000 * wall / finished,
            "cpu_ms": None if cpu_s is None else 1000 * cpu_s / finished}


# --- the benchmark ---------------------------------------------------------------------------------------------------

def _create_database() -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"genstudy_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def _drop_database(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _run_one(method: str, url: str, workers: int, n_trials: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "one", method, url, str(workers), str(n_trials)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{method} with {workers} workers failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _machine() -> str:
    return (f"CPU, {platform.machine()}, {os.cpu_count()} cores (shared with other work: medians of repeats), "
            f"Python {platform.python_version()}, optuna {optuna.__version__}, PostgreSQL on 127.0.0.1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-only", action="store_true", help="print the section, leave BENCHMARKS.md as it is")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()
    db, url = _create_database()
    runs: list[dict] = []
    try:
        for rep in range(args.repeats):
            for workers in args.workers:
                shift = rep % len(args.methods)  # a different method first in each repeat
                for method in args.methods[shift:] + args.methods[:shift]:
                    r = _run_one(method, url, workers, args.trials) | {"repeat": rep}
                    cpu = "" if r["cpu_ms"] is None else f", {r['cpu_ms']:5.1f} ms CPU"
                    print(f"repeat {rep + 1}: {method:16s} x{workers}: {r['steady_ms']:7.1f} ms steady, "
                          f"{r['startup_ms']:7.1f} ms with start-up{cpu}, {r['finished']}/{r['total']} finished",
                          flush=True)
                    runs.append(r)
        sql = {m: _count_statements(m, url, args.trials) for m in ("genstudy", "optuna", "optuna-heartbeat")
               if m in args.methods}
    finally:
        _drop_database(db)
    section = _section(runs, args, sql)
    from _markdown import write_section  # bench/ is on sys.path when run as a script

    if not args.print_only:
        write_section("orchestration", section)
    print(section)


def _paired_ratio(runs: list[dict], key: str, num: str, den: str, **where: object) -> float:
    """Median over repeats of num/den measured in the same repeat."""
    def value(method: str, rep: int) -> float:
        return next(r[key] for r in runs if r["method"] == method and r["repeat"] == rep
                    and all(r[k] == v for k, v in where.items()))
    return statistics.median(value(num, rep) / value(den, rep) for rep in sorted({r["repeat"] for r in runs}))


def _section(runs: list[dict], args: argparse.Namespace, sql: dict[str, float]) -> str:
    med = {}
    for key in ("steady_ms", "startup_ms", "cpu_ms"):
        for m in args.methods:
            for w in args.workers:
                vals = [r[key] for r in runs if r["method"] == m and r["workers"] == w]
                med[key, m, w] = None if None in vals else statistics.median(vals)
    totals = {(m, w): sorted({f"{r['total']}" for r in runs if r["method"] == m and r["workers"] == w})
              for m in args.methods for w in args.workers}
    cmd = "`.venv/bin/python bench/orchestration.py`" + (
        "" if (args.repeats, args.trials, args.workers) == (5, 200, [1, 2, 4]) else
        f" (run with --repeats {args.repeats} --trials {args.trials} --workers {' '.join(map(str, args.workers))})")
    lines = ["## orchestration", "",
             f"Overhead per trial of a trivial objective (3 params, 5 intermediate reports, no training), "
             f"{args.trials} trials per run in a fresh study of one PostgreSQL database, TPE (Optuna's defaults, "
             f"a seed per worker). {_machine()}. Reproduce: {cmd}. Targets: genstudy within 1.2x of plain Optuna, "
             "and at least 4x faster than Ray Tune.", "",
             "*steady*: (last trial's completion - first trial's start) / trials, from the storage's timestamps (no "
             "process or Ray start-up); *with start-up*: wall time from launching the N workers (or calling "
             "`run_ray_workers` / `Tuner.fit`, which start Ray) until the last one exits, / trials. Medians of "
             f"{args.repeats} repeats, the methods interleaved in each repeat; a ratio is the median of the ratios "
             "within each repeat. Ray workers ask for min(1, cores/N) CPUs each. *CPU*: the worker processes' own CPU "
             "time (all threads) from the start barrier to their exit, / trials; not the PostgreSQL server's; less "
             "sensitive than wall time to what else runs on the machine (not measured for Ray's actors).",
             ""]
    for key, title in (("steady_ms", "steady, ms per trial"), ("startup_ms", "with start-up, ms per trial"),
                       ("cpu_ms", "CPU of the worker processes, ms per trial")):
        shown = [m for m in args.methods if all(med[key, m, w] is not None for w in args.workers)]
        if not shown:
            continue
        lines += [f"### {title}", "", "| method | " + " | ".join(f"{w} worker{'s' * (w > 1)}" for w in args.workers) + " |",
                  "| --- |" + " --- |" * len(args.workers)]
        for m in shown:
            lines.append(f"| {LABELS[m]} | " + " | ".join(f"{med[key, m, w]:.1f}" for w in args.workers) + " |")
        for num, den in (("genstudy", "optuna"), ("genstudy-ray", "optuna"), ("optuna-heartbeat", "optuna"),
                         ("genstudy", "optuna-heartbeat"), ("genstudy-ray", "optuna-heartbeat"),
                         ("ray-tune", "genstudy"), ("ray-tune", "genstudy-ray")):
            if num in shown and den in shown:
                lines.append(f"| ratio {num} / {den} | " + " | ".join(
                    f"{_paired_ratio(runs, key, num, den, workers=w):.2f}x" for w in args.workers) + " |")
        lines.append("")
    if sql:
        lines += [f"### SQL statements per trial (1 worker, {args.trials} trials: counts, not times)", "",
                  "| method | statements per trial |", "| --- | --- |"]
        lines += [f"| {LABELS[m].replace(' (N processes)', '')} | {n:.1f} |" for m, n in sql.items()]
        if "genstudy" in sql and "optuna" in sql:
            lines.append(f"| ratio genstudy / optuna | {sql['genstudy'] / sql['optuna']:.2f}x |")
        lines.append("")
    lines.append("Trials in each study (every run): " + "; ".join(
        f"{m} x{w}: {'/'.join(totals[m, w])}" for m in args.methods for w in args.workers) + ".")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        _worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                count_sql=sys.argv[7:] == ["count-sql"])
    elif len(sys.argv) > 1 and sys.argv[1] == "one":
        print(json.dumps(_one(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    else:
        main()
