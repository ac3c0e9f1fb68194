"""Command line: parses, then calls one library function per command.

Errors genstudy raises on purpose print as one line; tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genstudy", description="Hyperparameter studies of generative models on Optuna storage.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--debug", action="store_true", help="debug logs and full tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("spec", help="study spec (YAML), e.g. studies/quickstart.yaml")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override a spec value, e.g. --set budget.epochs=30 --set dataset=mnist (repeatable)")
        sp.add_argument("--n-trials", type=int, help="finished trials the study needs in total (default: budget.n_trials)")
        sp.add_argument("--runs-dir", default="genstudy-runs", help="embedded storage and caches (default: ./genstudy-runs)")
        sp.add_argument("--artifact-dir",
                        help="sample grids and checkpoints (default: RUNS_DIR/artifacts; share it between workers)")
        sp.add_argument("--inception-weights", help="local torchvision inception_v3 state dict: also report fid_inception")
        sp.add_argument("--data-dir", help="where mnist / fashion-mnist / cifar10 files live")
        sp.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")

    def ray_options(sp: argparse.ArgumentParser, default: str) -> None:
        g = sp.add_argument_group("Ray workers")
        g.add_argument("--ray-address", default=os.environ.get("GENSTUDY_RAY_ADDRESS") or default,
                       help=f"none: trials run in this process, one at a time; local: start Ray here; auto: the running "
                            f"cluster (ray start --head); HOST:PORT or ray://HOST:10001 (default: $GENSTUDY_RAY_ADDRESS "
                            f"or {default})")
        g.add_argument("--gpus-per-trial", type=float, help="GPU share per actor, e.g. 0.25 puts four trials on one GPU "
                                                            "(default: 1 if the cluster has GPUs, else 0)")
        g.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs per actor (default 1)")
        g.add_argument("--workers", type=int, help="number of actors (default: as many as the cluster's slots allow)")

    run = sub.add_parser("run", help="create the study (embedded journal by default) and run it here")
    common(run)
    ray_options(run, "local")
    run.add_argument("--storage", help="storage URL or journal file (default: RUNS_DIR/STUDY.journal)")
    run.add_argument("--study-name", help="study name (default: the spec file's name)")

    worker = sub.add_parser("worker", help="join an existing study and run trials until it reaches --n-trials")
    common(worker)
    worker.add_argument("--storage", required=True, help="e.g. postgresql://USER@HOST/DB")
    worker.add_argument("--study-name", required=True, help="a study made with `optuna create-study`")
    worker.add_argument("--worker-index", type=int, help="this worker's index (seeds its sampler; default: per process)")
    ray_options(worker, "none")
    validate = sub.add_parser("validate", help="re-run the best configurations of a study with fresh seeds")
    common(validate)
    validate.add_argument("--storage", help="storage URL or journal file (default: RUNS_DIR/STUDY.journal)")
    validate.add_argument("--study-name", help="study name (default: the spec file's name)")
    validate.add_argument("--top", type=int, default=3, help="how many of the best configurations (default 3)")
    validate.add_argument("--seeds", type=int, default=10, help="fresh seeds per configuration (default 10)")
    ray_options(validate, "local")
    proxy = sub.add_parser("storage-proxy", help="serve a storage to many workers through Optuna's gRPC proxy")
    proxy.add_argument("--storage", required=True, help="the storage the proxy holds, e.g. postgresql://USER@HOST/DB")
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes it)")
    proxy.add_argument("--port", type=int, default=13000, help="port (default 13000); workers use grpc://HOST:PORT")
    analyze = sub.add_parser("analyze", help="fANOVA importances and interactions, seed statistics, convergence, Pareto fronts")
    analyze.add_argument("--storage", required=True, help="storage URL or journal file, e.g. genstudy-runs/quickstart.journal")
    analyze.add_argument("--study-name", required=True, help="the study to analyse (read only: trials are never written)")
    analyze.add_argument("--out", required=True, help="folder for report.html and importances.json")
    analyze.add_argument("--target", help="objective or stored metric to explain (default: the objective values)")
    analyze.add_argument("--to-dashboard", action="store_true",
                         help="also save the figures and a summary note into the study for optuna-dashboard")
    from genstudy._dashboard import add_dashboard_parser  # cheap: argparse and genstudy.errors only

    add_dashboard_parser(sub)
    return p


def _setup_logging(args: argparse.Namespace) -> None:
    import optuna

    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING if args.quiet else logging.INFO
    from genstudy._progress import TqdmLoggingHandler

    handler = TqdmLoggingHandler()
    if not args.debug:
        handler.addFilter(_no_traceback)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("genstudy").setLevel(level)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(optuna.logging.DEBUG if args.debug else optuna.logging.WARNING)


def _no_traceback(record: logging.LogRecord) -> bool:
    """Without --debug a failed trial is one line (its reason is in fail_reason), not Optuna's traceback."""
    if record.exc_info and record.name.startswith("optuna"):
        exc = record.exc_info[1]
        record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc}; --debug shows the traceback)"
        record.args, record.exc_info, record.exc_text = None, None, None
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from genstudy.errors import GenstudyError

    _setup_logging(args)
    try:
        from genstudy._commands import run_command

        return run_command(args)
    except GenstudyError as e:
        if args.debug:
            raise
        print(f"genstudy: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genstudy: interrupted; running trials were recorded as FAIL (and re-enqueued when run by Ray actors)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
