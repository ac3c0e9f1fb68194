"""Epoch checkpoints a retried trial resumes from, kept in the study's artifact store.

After each epoch (every ``budget.checkpoint_every``) the trial uploads the full training state
of every seed's run (weights, optimizer moments, RNG states) with its learning curves, and
records where in the ``resume_checkpoint`` user attr. A retry of a trial whose worker died
(heartbeat or Ray driver, see genstudy.storage._retry) inherits that attr, loads the state and
continues at the next epoch. The file is one dict of tensors and plain values, loaded with
``weights_only=True``; the previous checkpoint is removed when a newer one is stored, and the
last one when the trial finishes.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch

from genstudy import names

__all__ = ["RESUME_ATTR", "RESUMED_FROM_ATTR", "Resumed", "check_run", "discard_checkpoint", "load_resume", "save_resume"]

_log = logging.getLogger(__name__)

RESUME_ATTR = names.RESUME_CHECKPOINT
RESUMED_FROM_ATTR = names.RESUMED_FROM
FORMAT = "genstudy-resume/1"


@dataclasses.dataclass(frozen=True)
class Resumed:
    epoch: int  # epochs already trained
    curves: dict[str, list[float]]
    from_trial: int


_STATEFUL = (torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler)  # state_dict()
_PLAIN = (bool, int, float, str)


def check_run(run: Any, family: str) -> None:
    """Refuse, before any training, a run that epoch checkpoints could not save and restore."""
    if not dataclasses.is_dataclass(run) or isinstance(run, type):
        raise TypeError(f"family {family}: build() returned a {type(run).__name__}; return a dataclass instance "
                        "(its fields are the training state that epoch checkpoints save)")
    for f in dataclasses.fields(run):
        value = getattr(run, f.name)
        if not (value is None or isinstance(value, (*_STATEFUL, torch.Generator, *_PLAIN))):
            raise TypeError(f"family {family}: field {f.name!r} of its run is a {type(value).__name__}, which epoch "
                            "checkpoints cannot save; keep modules, optimizers, LR schedulers, torch.Generators, "
                            "numbers, strings or None there (docs/families.md)")


def run_state(run: Any) -> dict[str, Any]:
    """The training state of a family's run dataclass: modules, optimizers, schedulers, generators, numbers."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(run):
        value = getattr(run, f.name)
        if isinstance(value, _STATEFUL):
            out[f.name] = value.state_dict()
        elif isinstance(value, torch.Generator):
            out[f.name] = value.get_state()
        elif value is None or isinstance(value, _PLAIN):
            out[f.name] = value
        else:
            raise TypeError(f"cannot checkpoint field {f.name!r} of type {type(value).__name__}")
    return out


def load_run_state(run: Any, state: dict[str, Any]) -> None:
    """Put ``run_state`` output back into a freshly built run of the same params."""
    for f in dataclasses.fields(run):
        value, saved = getattr(run, f.name), state[f.name]
        if isinstance(value, _STATEFUL):
            value.load_state_dict(saved)
        elif isinstance(value, torch.Generator):
            value.set_state(saved.cpu())
        else:
            setattr(run, f.name, saved)


def save_resume(trial: optuna.Trial, store: Any, runs: list[Any], epoch: int, curves: dict[str, list[float]]) -> None:
    """Upload the state after ``epoch`` and point ``resume_checkpoint`` at it (old one removed)."""
    payload = {"format": FORMAT, "epoch": epoch, "trial": trial.number, "curves": {k: list(v) for k, v in curves.items()},
               "runs": [run_state(r) for r in runs], "torch_rng": torch.get_rng_state()}
    previous = trial.user_attrs.get(RESUME_ATTR)
    with tempfile.TemporaryDirectory(prefix="genstudy-resume-") as tmp:
        path = Path(tmp) / f"resume-trial{trial.number}-epoch{epoch}.pt"
        torch.save(payload, path)
        artifact_id = optuna.artifacts.upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial,
                                                       mimetype="application/octet-stream")
    trial.set_user_attr(RESUME_ATTR, {"artifact_id": artifact_id, "trial": trial.number, "epoch": epoch})
    if previous:
        _remove(store, previous["artifact_id"])


def load_resume(trial: optuna.Trial, store: Any, runs: list[Any]) -> Resumed | None:
    """Load the inherited checkpoint into ``runs``; ``None`` when there is none or it is unusable.

    An unusable checkpoint (file gone, other format) is logged and recorded in
    ``resume_error``; the trial then trains from the start rather than failing.
    """
    ref = trial.user_attrs.get(RESUME_ATTR)
    if not ref or store is None or ref.get("trial") == trial.number:
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="genstudy-resume-") as tmp:
            path = Path(tmp) / "resume.pt"
            optuna.artifacts.download_artifact(artifact_store=store, file_path=str(path), artifact_id=ref["artifact_id"])
            payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != FORMAT or len(payload["runs"]) != len(runs):
            raise ValueError(f"checkpoint format {payload.get('format')!r} with {len(payload['runs'])} runs")
        for run, state in zip(runs, payload["runs"], strict=True):
            load_run_state(run, state)
        torch.set_rng_state(payload["torch_rng"])
    except Exception as e:  # noqa: BLE001 - any unusable checkpoint means: start over, say why
        reason = f"checkpoint of trial {ref.get('trial')} epoch {ref.get('epoch')} unusable ({type(e).__name__}: {e})"
        _log.warning("trial %d trains from the start: %s", trial.number, reason)
        trial.set_user_attr(names.RESUME_ERROR, reason[:2000])
        return None
    resumed = Resumed(epoch=int(payload["epoch"]), curves=payload["curves"], from_trial=int(payload["trial"]))
    trial.set_user_attr(RESUMED_FROM_ATTR, {"trial": resumed.from_trial, "epoch": resumed.epoch})
    _log.info("trial %d resumes trial %d after epoch %d", trial.number, resumed.from_trial, resumed.epoch)
    return resumed


def discard_checkpoint(trial: optuna.Trial, store: Any) -> None:
    """The trial finished: its resume checkpoint is no longer needed (final weights are kept apart)."""
    ref = trial.user_attrs.get(RESUME_ATTR)
    if ref and store is not None:
        _remove(store, ref["artifact_id"])
        trial.set_user_attr(RESUME_ATTR, None)


def _remove(store: Any, artifact_id: str) -> None:
    try:
        store.remove(artifact_id)
    except Exception as e:  # noqa: BLE001 - a leftover file is harmless, a failed trial is not
        _log.debug("could not remove checkpoint artifact %s: %s", artifact_id, e)
