"""``genstudy dashboard``: optuna-dashboard on a study's storage, with its artifact store.

The same as ``optuna-dashboard STORAGE --artifact-dir DIR``, but the storage is opened the way
genstudy opens it (plain ``postgresql://`` URLs, journal files, a small connection pool, no
heartbeat: the dashboard never runs trials), the sample grids and checkpoints the workers wrote
show up on each trial's page, and the server listens on 127.0.0.1 unless ``--host`` says
otherwise. The dashboard can edit studies (notes, trial states, deletions): exposing it on
another interface is an explicit choice.
"""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from genstudy.errors import GenstudyError, StorageError

__all__ = ["add_dashboard_parser", "dashboard_command", "dashboard_url"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_dashboard_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``dashboard`` command to ``genstudy``'s sub-command parsers."""
    p = subparsers.add_parser(
        "dashboard", help="optuna-dashboard on a storage, with the sample grids and checkpoints (artifacts)",
        description="Serve optuna-dashboard for every study in STORAGE; localhost only unless --host says otherwise.",
    )
    p.add_argument("--storage", required=True, help="storage URL or journal file, e.g. postgresql://USER@HOST/DB")
    p.add_argument("--artifact-dir", help="the folder the workers wrote artifacts to (their --artifact-dir; "
                   "genstudy run's default is genstudy-runs/artifacts)")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1; "
                   "--host 0.0.0.0 exposes the dashboard, which can edit studies, to the network)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    return p


def dashboard_url(host: str, port: int) -> str:
    """The address to open in a browser for a server listening on ``host``:``port``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dashboard_command(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted; returns the exit code."""
    import optuna
    import optuna_dashboard

    from genstudy.storage import open_storage, redact_url

    if not 0 < args.port < 65536:
        raise GenstudyError(f"--port {args.port}: not a TCP port; give 1-65535, e.g. --port 8080")
    if "://" not in args.storage and not Path(args.storage).is_file():
        raise StorageError(f"storage {args.storage!r}: no such journal file; give the path genstudy run printed "
                           "(e.g. genstudy-runs/quickstart.journal) or a URL such as postgresql://USER@HOST/DB")
    store = None
    if args.artifact_dir is not None:
        folder = Path(args.artifact_dir)
        if not folder.is_dir():
            raise GenstudyError(f"--artifact-dir {args.artifact_dir!r}: no such folder; give the folder the workers "
                                "wrote to (their --artifact-dir, or genstudy-runs/artifacts for genstudy run)")
        store = optuna.artifacts.FileSystemArtifactStore(str(folder.resolve()))
    storage = open_storage(args.storage, heartbeat=False)

    print(f"optuna-dashboard for {redact_url(args.storage)} at {dashboard_url(args.host, args.port)}", flush=True)
    print(f"artifacts: {Path(args.artifact_dir).resolve() if store else 'not shown (pass --artifact-dir DIR)'}", flush=True)
    if not _is_loopback(args.host):
        print(f"listening on {args.host}: anyone who reaches this port can read and edit the studies", flush=True)
    try:
        optuna_dashboard.run_server(storage, host=args.host, port=args.port, artifact_store=store)
    except OSError as e:
        raise GenstudyError(f"cannot listen on {args.host}:{args.port}: {e.strerror}; "
                            "pick another --port or stop what uses it") from None
    except KeyboardInterrupt:
        pass
    return 0
