"""What each CLI command does, kept out of ``cli.py`` so that stays a thin parser."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genstudy._progress import StudyProgress
from genstudy.errors import GenstudyError
from genstudy.report import format_table, results_rows
from genstudy.runner import run_study
from genstudy.spec import load_spec
from genstudy.validation import validation_rows
from genstudy.workers import RayOptions, WorkerSettings

__all__ = ["run_command", "worker_settings"]


def run_command(args: argparse.Namespace) -> int:
    if args.command == "analyze":
        return _analyze(args)
    if args.command == "storage-proxy":
        return _storage_proxy(args)
    if args.command == "dashboard":
        from genstudy._dashboard import dashboard_command

        return dashboard_command(args)
    settings = worker_settings(args)
    progress = StudyProgress(settings.n_trials, disable=args.quiet)
    try:
        outcome = run_study(settings, progress=progress)
    finally:
        progress.close()
    c = outcome.worker.final
    print()
    print(format_table(results_rows(outcome.study, outcome.spec)))
    if args.command == "validate":
        metric = outcome.spec.metrics[0]
        print()
        print(format_table([{"trial": r.trial, f"{metric} (search)": r.original, "validation trial": r.validation_trial,
                             f"{metric} mean": r.mean, "std": r.std, "seeds": r.n_seeds}
                            for r in validation_rows(outcome.study, outcome.spec)]))
    print()
    if c is not None:
        by = (f"{outcome.actors} Ray actors ran {outcome.worker.ran} trials" if outcome.actors
              else f"this worker ran {outcome.worker.ran}")
        print(f"study {outcome.study.study_name}: {c.complete} complete, {c.pruned} pruned, {c.failed} failed ({by})")
    if c is not None and c.complete and len(outcome.study.directions) == 1:
        best = outcome.study.best_trial
        print(f"best: trial {best.number}, {outcome.spec.metrics[0]} = {best.value:.4g}, params {best.params}")
    if outcome.classifier_accuracy == outcome.classifier_accuracy:  # NaN when no trial ran here
        print(f"domain classifier test accuracy {outcome.classifier_accuracy:.4f}; "
              f"real-vs-real FID floor (train vs test) {outcome.fid_floor:.3f}")
    print(f"storage: {outcome.shown_location}")
    print(f"artifacts (sample grids, checkpoints): {outcome.artifact_dir}")
    print(f"open it: optuna-dashboard {outcome.shown_location} --artifact-dir {outcome.artifact_dir}")
    return 0


def worker_settings(args: argparse.Namespace) -> WorkerSettings:
    """The settings of ``genstudy run``, ``worker`` or ``validate`` from their parsed arguments."""
    spec = load_spec(args.spec, args.overrides)
    target = spec.budget.n_trials if args.n_trials is None else args.n_trials
    if target < 1:
        raise GenstudyError(f"--n-trials {target}: must be at least 1; give the number of finished trials the study needs")
    if getattr(args, "worker_index", None) is not None and args.worker_index < 0:
        raise GenstudyError(f"--worker-index {args.worker_index}: must be 0 or more (it seeds this worker's sampler)")
    return WorkerSettings(
        spec=spec, study_name=args.study_name or Path(args.spec).stem, storage=args.storage, n_trials=target,
        create=args.command == "run", runs_dir=args.runs_dir, artifact_dir=args.artifact_dir, data_dir=args.data_dir,
        device=args.device, worker_index=args.worker_index if args.command == "worker" else 0,
        inception_weights=args.inception_weights, log_level=logging.getLogger("genstudy").getEffectiveLevel(),
        ray=_ray_options(args), validate=(args.top, args.seeds) if args.command == "validate" else None,
    )


def _analyze(args: argparse.Namespace) -> int:
    from genstudy.analysis import analyze_study, format_importances_table  # slow import: only here

    result = analyze_study(storage=args.storage, study_name=args.study_name, out_dir=Path(args.out),
                           target=args.target, to_dashboard=args.to_dashboard)
    print(format_importances_table(result))
    return 0


def _ray_options(args: argparse.Namespace) -> RayOptions | None:
    if args.ray_address == "none":
        for flag, value in (("--gpus-per-trial", args.gpus_per_trial), ("--workers", args.workers)):
            if value is not None:
                raise GenstudyError(f"{flag} {value}: needs Ray; pass --ray-address local (or auto, HOST:PORT)")
        return None
    return RayOptions(address=args.ray_address, gpus_per_trial=args.gpus_per_trial, cpus_per_trial=args.cpus_per_trial,
                      workers=args.workers)


def _storage_proxy(args: argparse.Namespace) -> int:
    import optuna

    from genstudy.storage import open_storage, redact_url

    storage = open_storage(args.storage, heartbeat=False)
    print(f"serving {redact_url(args.storage)} on grpc://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    optuna.storages.run_grpc_proxy_server(storage, host=args.host, port=args.port)
    return 0
