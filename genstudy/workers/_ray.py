"""Ray actors that pull trials from a study, and the driver that watches and recovers them.

One actor per trial slot (``gpus_per_trial`` of a GPU, ``cpus_per_trial`` CPUs). Each actor
loads the study and its ``EvalContext`` (dataset, classifier, test statistics) once, then runs
``run_worker`` (the same loop as an in-process worker) until the study has its target of
finished trials. Actors restart when their process dies (``max_restarts``); the call that
was running fails in the driver with ``RayActorError``, and the driver then ends the dead
actor's RUNNING trial as FAIL and re-enqueues it with the same params (its retry resumes from
the last epoch checkpoint) before giving the restarted actor its next call. That works on
every storage; Optuna's heartbeat does the same on RDB storages, and whichever of the two
finishes the trial first re-enqueues it (genstudy.storage.fail_and_retry).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from genstudy.errors import GenstudyError
from genstudy.spec import StudySpec
from genstudy.storage import MAX_RETRY, ArtifactStore, fail_and_retry, open_storage, redact_url
from genstudy.workers._claim import claim_lock_for
from genstudy.workers._loop import WORKER_ATTR, TrialCounts, WorkerResult, count_trials

__all__ = ["RayOptions", "WorkerJob", "plan_actors", "run_ray_workers"]

_log = logging.getLogger(__name__)

ACTOR_RESTARTS = 100  # per actor and driver run: a process that dies again and again is a bug, not bad luck


@dataclass(frozen=True)
class RayOptions:
    """Where the actors run and how much of a node each one takes."""

    address: str = "local"  # local (start one here) | auto (the running cluster) | HOST:PORT | ray://HOST:PORT
    gpus_per_trial: float | None = None  # None: 1 when the cluster has GPUs, else 0
    cpus_per_trial: float = 1.0
    workers: int | None = None  # None: as many as the cluster's slots allow

    def __post_init__(self) -> None:
        if self.gpus_per_trial is not None and not 0 <= self.gpus_per_trial <= 64:
            raise GenstudyError(f"--gpus-per-trial {self.gpus_per_trial}: use 0 (CPU), a fraction such as 0.25, or a whole number")
        if self.gpus_per_trial and 1 < self.gpus_per_trial != int(self.gpus_per_trial):
            raise GenstudyError(f"--gpus-per-trial {self.gpus_per_trial}: above 1 it must be a whole number of GPUs")
        if not 0 < self.cpus_per_trial <= 1024:
            raise GenstudyError(f"--cpus-per-trial {self.cpus_per_trial}: must be above 0, e.g. 1 or 2")
        if self.workers is not None and self.workers < 1:
            raise GenstudyError(f"--workers {self.workers}: must be at least 1 (or leave it out: one per slot)")


@dataclass(frozen=True)
class WorkerJob:
    """Everything an actor needs to join the study; plain values only (it travels to other nodes)."""

    spec: StudySpec
    study_name: str
    location: str  # may hold a password: never logged as is
    n_trials: int
    runs_dir: str
    artifact_dir: str
    data_dir: str | None = None
    device: str = "auto"
    inception_weights: str | None = None
    worker_index: int | None = None  # base of the actors' sampler seeds; None: per actor process
    log_level: int = logging.WARNING
    # library use (benchmarks, custom objectives): builds ``objective(trial)`` in the actor instead
    # of the spec's model family; no dataset or classifier is loaded then
    objective_factory: Callable[[], Callable[[optuna.Trial], Any]] | None = None


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

    def __init__(self, job: WorkerJob, index: int, worker_id: str, cpus: float) -> None:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            datefmt="%H:%M:%S")
        logging.getLogger("genstudy").setLevel(job.log_level)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        import torch

        torch.set_num_threads(max(1, int(cpus)))
        self.job, self.index, self.worker_id = job, index, worker_id
        self._prepared: tuple[Any, ...] | None = None

    def _prepare(self) -> tuple[Any, ...]:
        """Study, objective and claim lock: loaded once per actor process, reused by every trial."""
        if self._prepared is None:
            import ray

            from genstudy.objectives import EvalContext, build_objective, make_pruner, make_sampler, pick_device
            from genstudy.runner import worker_seed
            from genstudy.storage import attach_study

            job = self.job
            index = None if job.worker_index is None else job.worker_index + self.index
            seed = worker_seed(job.spec.sampler.seed, index)
            study = attach_study(job.spec, storage=open_storage(job.location), location=job.location,
                                 study_name=job.study_name, create=False, sampler=make_sampler(job.spec, seed=seed),
                                 pruner=make_pruner(job.spec))
            gpu_ids = ray.get_gpu_ids()
            context = None
            if job.objective_factory is not None:
                objective = job.objective_factory()
            else:
                device = _actor_device(job.device, has_gpu=bool(gpu_ids))
                context = EvalContext.load(job.spec, cache_dir=Path(job.runs_dir) / "cache",
                                           data_dir=Path(job.data_dir) if job.data_dir else None,
                                           device=pick_device(device),
                                           inception_weights=Path(job.inception_weights) if job.inception_weights else None)
                store = ArtifactStore(job.artifact_dir)
                objective = build_objective(job.spec, context, artifact_store=store)
            ctx = ray.get_runtime_context()
            identity = {"id": self.worker_id, "host": _hostname(), "pid": _pid(), "node": ctx.get_node_id(),
                        "ray_gpu_ids": [str(g) for g in gpu_ids], "sampler_seed": seed,
                        "context_loaded_at": time.time()}  # one load per actor process, shared by its trials
            self._prepared = (study, objective, claim_lock_for(job.location, job.study_name), identity, context)
        return self._prepared

    def run(self) -> dict[str, Any]:
        from genstudy.workers._loop import run_worker

        study, objective, claim, identity, context = self._prepare()
        result = run_worker(study, objective, n_trials=self.job.n_trials, claim=claim, worker=identity)
        out: dict[str, Any] = {"ran": result.ran, "failed": result.failed, "pid": identity["pid"]}
        if context is not None:
            out.update(fid_floor=context.fid_floor, classifier_accuracy=context.classifier.test_accuracy,
                       device=str(context.device))
        return out

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
    job: WorkerJob,
    options: RayOptions,
    *,
    study: optuna.Study,
    progress: Callable[[optuna.Study, TrialCounts, int], None] | None = None,
    poll_seconds: float = 1.0,
) -> RayRunResult:
    """Start the actors, show progress, recover dead actors' trials, stop at the target.

    ``study`` is the driver's own handle of the study (no heartbeat: the driver runs no
    trials). Ctrl-C (KeyboardInterrupt) kills the actors and ends their RUNNING trials as
    FAIL with a retry enqueued, so nothing is left RUNNING; the interrupt is then re-raised.
    """
    if options.address != "local":
        _token_mode_if_token_present()  # before Ray is imported: it reads RAY_AUTH_MODE once
    import ray
    from ray.exceptions import RayActorError

    remaining = max(job.n_trials - count_trials(study).finished, 0)
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
        actors = [remote_cls.remote(job, i, ids[i], options.cpus_per_trial) for i in range(n)]
        pending = {actors[i].run.remote(): i for i in range(n)}
        out = RayRunResult(worker=WorkerResult(), actors=n, gpus_per_actor=gpus)
        claim = claim_lock_for(job.location, job.study_name)
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
                        out.restarts += 1
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
                    progress(study, count_trials(study), job.n_trials)
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
    RUNNING trial without a ``worker`` tag then belongs to a worker that died holding the
    lock, and is recovered too.
    """
    claim.acquire()
    try:
        retried = []
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = t.user_attrs.get(WORKER_ATTR)
            if owner is not None and owner.get("id") != worker_id:
                continue
            new = fail_and_retry(study, t._trial_id, reason if owner else f"{reason} (before the trial was tagged)",
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
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def _unwrap(e: Exception) -> Exception:
    """The error an actor raised (e.g. GenstudyError), not Ray's wrapper around it."""
    cause = getattr(e, "cause", None)
    return cause if isinstance(cause, Exception) else e


def with_absolute_paths(job: WorkerJob) -> WorkerJob:
    """Actors run in other working directories (and on other nodes): make every path absolute."""
    def absolute(p: str | None) -> str | None:
        return str(Path(p).resolve()) if p else p

    location = job.location if "://" in job.location else str(Path(job.location).resolve())
    return replace(job, location=location, runs_dir=absolute(job.runs_dir), artifact_dir=absolute(job.artifact_dir),
                   data_dir=absolute(job.data_dir), inception_weights=absolute(job.inception_weights))
