"""Ray actors that pull trials from a study, and the driver that watches and recovers them.

One actor per trial slot (``gpus_per_trial`` of a GPU, ``cpus_per_trial`` CPUs). Each actor
gets the run's ``WorkerSettings``, sets itself up once with ``prepare_worker`` (the study, its
``EvalContext``: dataset, classifier, test statistics), then runs ``run_worker`` (the same
loop as an in-process worker) until the study has its target of finished trials. Actors
restart when their process dies (``max_restarts``); the call that was running fails in the
driver with ``RayActorError``, and the driver then ends the dead actor's RUNNING trial as FAIL
and re-enqueues it with the same params (its retry resumes from the last epoch checkpoint)
before giving the restarted actor its next call. That works on every storage; Optuna's
heartbeat does the same on RDB storages, and whichever of the two finishes the trial first
re-enqueues it (genstudy.storage.fail_and_retry).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from genstudy import names
from genstudy.errors import GenstudyError
from genstudy.storage import MAX_RETRY, TrialCounts, claim_lock_for, count_trials, fail_and_retry, redact_url
from genstudy.workers._loop import WorkerResult
from genstudy.workers._settings import RayOptions, WorkerSettings

__all__ = ["RayRunResult", "plan_actors", "recover_worker_trials", "run_ray_workers"]

_log = logging.getLogger(__name__)

ACTOR_RESTARTS = 100  # per actor and driver run: a process that dies again and again is a bug, not bad luck


def plan_actors(resources: dict[str, float], options: RayOptions, *, remaining: int) -> tuple[int, float]:
    """(number of actors, GPUs per actor) for a cluster's total ``resources``.

    As many actors as the scarcer of GPU and CPU slots allows, or ``options.workers``; never
    more than the trials still to run.
    """
    gpus_total, cpus_total = resources.get("GPU", 0.0), resources.get("CPU", 0.0)
    gpus = options.gpus_per_trial if options.gpus_per_trial is not None else (1.0 if gpus_total else 0.0)
    if gpus and gpus_total < gpus:
        raise GenstudyError(
            f"--gpus-per-trial {gpus}: the Ray cluster has {gpus_total:g} GPUs; start nodes with GPUs "
            "(ray start --num-gpus N) or pass --gpus-per-trial 0 to train on CPUs"
        )
    if cpus_total < options.cpus_per_trial:
        raise GenstudyError(f"--cpus-per-trial {options.cpus_per_trial:g}: the Ray cluster has {cpus_total:g} CPUs")
    slots = math.floor(cpus_total / options.cpus_per_trial + 1e-9)
    if gpus:
        slots = min(slots, math.floor(gpus_total / gpus + 1e-9))
    n = options.workers if options.workers is not None else slots
    return max(1, min(n, remaining)), gpus


class _TrialActor:
    """One trial slot. ``run`` may be called again after the process restarted."""

    def __init__(self, settings: WorkerSettings, index: int, worker_id: str, cpus: float) -> None:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            datefmt="%H:%M:%S")
        logging.getLogger("genstudy").setLevel(settings.log_level)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        import torch

        torch.set_num_threads(max(1, int(cpus)))
        self.settings, self.index, self.worker_id = settings, index, worker_id
        self._prepared: tuple[Any, dict[str, Any]] | None = None

    def _prepare(self) -> tuple[Any, dict[str, Any]]:
        """The prepared worker and its identity: loaded once per actor process, reused by every trial."""
        if self._prepared is None:
            import ray

            from genstudy.workers._prepare import prepare_worker

            base = self.settings.worker_index
            gpu_ids = ray.get_gpu_ids()
            prepared = prepare_worker(self.settings, worker_index=None if base is None else base + self.index,
                                      device=_actor_device(self.settings.device, has_gpu=bool(gpu_ids)))
            ctx = ray.get_runtime_context()
            identity = {"id": self.worker_id, "host": _hostname(), "pid": _pid(), "node": ctx.get_node_id(),
                        "ray_gpu_ids": [str(g) for g in gpu_ids], "sampler_seed": prepared.seed,
                        "context_loaded_at": time.time()}  # one load per actor process, shared by its trials
            self._prepared = (prepared, identity)
        return self._prepared

    def run(self) -> dict[str, Any]:
        from genstudy.workers._loop import run_worker

        prepared, identity = self._prepare()
        result = run_worker(prepared.study, prepared.objective, n_trials=self.settings.n_trials, claim=prepared.claim,
                            worker=identity, callbacks=self.settings.callbacks)
        return {"ran": result.ran, "failed": result.failed, "pid": identity["pid"]} | prepared.summary()

    def pid(self) -> int:
        return _pid()


def _actor_device(requested: str, *, has_gpu: bool) -> str:
    """The device Ray assigned: its GPU (CUDA_VISIBLE_DEVICES holds only that one) or the CPU."""
    if has_gpu:
        return "cpu" if requested == "cpu" else "cuda"
    return "cpu" if requested == "auto" or requested.startswith("cuda") else requested


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _pid() -> int:
    import os

    return os.getpid()


@dataclass
class RayRunResult:
    worker: WorkerResult
    actors: int
    gpus_per_actor: float
    recovered: list[int] = field(default_factory=list)  # numbers of trials the driver failed and retried
    restarts: int = 0
    context: dict[str, Any] = field(default_factory=dict)  # fid_floor, classifier_accuracy, device of an actor


def run_ray_workers(
    settings: WorkerSettings,
    *,
    study: optuna.Study,
    progress: Callable[[optuna.Study, TrialCounts, int], None] | None = None,
    poll_seconds: float = 1.0,
) -> RayRunResult:
    """Start the actors, show progress, recover dead actors' trials, stop at the target.

    ``settings.ray`` says where and how many; ``settings`` travels to every actor, so its
    paths must be absolute (``WorkerSettings.with_absolute_paths``). ``study`` is the driver's
    own handle of the study (no heartbeat: the driver runs no trials). Ctrl-C (KeyboardInterrupt)
    kills the actors and ends their RUNNING trials as FAIL with a retry enqueued, so nothing is
    left RUNNING; the interrupt is then re-raised.
    """
    options = settings.ray
    if options is None:
        raise GenstudyError("run_ray_workers needs settings.ray: pass RayOptions(address=...), e.g. RayOptions('local')")
    if options.address != "local":
        _token_mode_if_token_present()  # before Ray is imported: it reads RAY_AUTH_MODE once
    import ray
    from ray.exceptions import RayActorError

    remaining = max(settings.n_trials - count_trials(study).finished, 0)
    if remaining == 0:
        return RayRunResult(worker=WorkerResult(final=count_trials(study)), actors=0, gpus_per_actor=0.0)
    started_here = _init_ray(options.address)
    try:
        n, gpus = plan_actors(ray.cluster_resources(), options, remaining=remaining)
        tag = uuid.uuid4().hex[:8]
        _log.info("Ray at %s: %d actors, %g GPU and %g CPU each", options.address, n, gpus, options.cpus_per_trial)
        remote_cls = ray.remote(_TrialActor).options(num_cpus=options.cpus_per_trial, num_gpus=gpus,
                                                     max_restarts=ACTOR_RESTARTS, max_task_retries=0)
        ids = [f"ray:{tag}:{i}" for i in range(n)]
        actors = [remote_cls.remote(settings, i, ids[i], options.cpus_per_trial) for i in range(n)]
        pending = {actors[i].run.remote(): i for i in range(n)}
        died = [0] * n
        out = RayRunResult(worker=WorkerResult(), actors=n, gpus_per_actor=gpus)
        claim = claim_lock_for(settings.storage, settings.study_name)
        interrupted = _catch_sigint()
        try:
            while pending:
                if interrupted.is_set():
                    raise KeyboardInterrupt
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=poll_seconds)
                for ref in ready:
                    i = pending.pop(ref)
                    try:
                        res = ray.get(ref)
                    except RayActorError as e:
                        if getattr(e, "actor_init_failed", False):  # it would fail the same way on every restart
                            raise GenstudyError(
                                f"Ray actor {ids[i]} could not start: {_last_line(e)}; the spec, callbacks and "
                                "objective_factory travel to every node: define callbacks and factories at module "
                                "level in a module the nodes can import"
                            ) from None
                        out.restarts += 1
                        died[i] += 1
                        if died[i] > ACTOR_RESTARTS:
                            raise GenstudyError(f"Ray actor {ids[i]} died {died[i]} times (last: {_last_line(e)}); "
                                                "see its log in the Ray session logs") from None
                        reason = f"worker {ids[i]} died ({type(e).__name__}); Ray restarts it"
                        out.recovered += recover_worker_trials(study, ids[i], reason, claim=claim)
                        pending[actors[i].run.remote()] = i
                        continue
                    except ray.exceptions.RayTaskError as e:
                        raise _unwrap(e) from None
                    ray.kill(actors[i], no_restart=True)  # its slot goes to an actor still waiting for one
                    out.worker.ran += res["ran"]
                    out.worker.failed += res["failed"]
                    out.context = res
                if progress is not None:
                    progress(study, count_trials(study), settings.n_trials)
        except BaseException:
            _stop(actors, list(pending))
            for worker_id in ids:
                out.recovered += recover_worker_trials(study, worker_id, "interrupted: the genstudy driver stopped",
                                                       claim=claim)
            raise
        finally:
            _restore_sigint()
        out.worker.final = count_trials(study)
        return out
    finally:
        if started_here:
            ray.shutdown()


def recover_worker_trials(study: optuna.Study, worker_id: str, reason: str, *, claim: Any) -> list[int]:
    """FAIL and re-enqueue the RUNNING trials of a dead worker; the numbers of those retried.

    Taken under the claim lock, so no worker is between creating a trial and tagging it: a
    RUNNING trial without a ``names.WORKER`` tag then belongs to a worker that died holding the
    lock, and is recovered too.
    """
    claim.acquire()
    try:
        retried = []
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = t.user_attrs.get(names.WORKER)
            if owner is not None and owner.get("id") != worker_id:
                continue
            new = fail_and_retry(study, t, reason if owner else f"{reason} (before the trial was tagged)",
                                 max_retry=MAX_RETRY)
            if new is not None:
                retried.append(t.number)
        return retried
    finally:
        claim.release()


_previous_handler: Any = None


def _catch_sigint() -> threading.Event:
    """Ctrl-C sets an event the driver loop checks every ``poll_seconds``.

    A KeyboardInterrupt raised wherever the signal lands can be lost inside Ray's own calls
    (seen: one Ctrl-C in four under load let the study run to its end). A second Ctrl-C
    interrupts at once, as usual.
    """
    global _previous_handler
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return event

    def handler(signum: int, frame: Any) -> None:
        event.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: right away

    _previous_handler = signal.signal(signal.SIGINT, handler)
    return event


def _restore_sigint() -> None:
    global _previous_handler
    if _previous_handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _previous_handler)
        _previous_handler = None


def _stop(actors: list[Any], pending: list[Any], timeout: float = 30.0) -> None:
    """Kill the actors (no restart) and wait until Ray reports them gone."""
    import ray

    for a in actors:
        ray.kill(a, no_restart=True)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=max(0.1, deadline - time.monotonic()))


def _init_ray(address: str) -> bool:
    """Connect to (or start) Ray; True when this call started it and must shut it down."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"configure_logging": True, "logging_level": logging.WARNING, "log_to_driver": True}
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise GenstudyError(
            f"--ray-address {redact_url(address)}: cannot connect to Ray ({str(e).splitlines()[0][:300]}); start the "
            "head with `ray start --head`, then pass auto or HOST:PORT, or use --ray-address local. A cluster with "
            "token authentication needs RAY_AUTH_MODE=token and its token (`ray get-auth-token` on the head) in "
            "RAY_AUTH_TOKEN or ~/.ray/auth_token"
        ) from None
    return True


def _token_mode_if_token_present() -> None:
    """Ray 2.59+ starts heads with token authentication; a client without RAY_AUTH_MODE=token
    then never sends the token it has. With a token at hand and no mode chosen, use it."""
    import os

    if os.environ.get("RAY_AUTH_MODE"):
        return
    token_file = Path.home() / ".ray" / "auth_token"
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def _last_line(e: BaseException) -> str:
    """The root cause of a Ray error, e.g. ``ModuleNotFoundError: No module named 'x'``."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(e).__name__


def _unwrap(e: Exception) -> Exception:
    """The error an actor raised (e.g. GenstudyError), not Ray's wrapper around it."""
    cause = getattr(e, "cause", None)
    return cause if isinstance(cause, Exception) else e
