"""The objective every model family shares: params, seeds in lockstep, pruning, storing.

A ``Family`` (genstudy.families) knows how to build, train, validate and evaluate one model (no
optuna there);
``StudyObjective`` turns it into ``objective(trial)`` for ``study.optimize``:

- the params of the trial (defaults, then fixed, then suggested);
- ``repeats`` seeds trained in lockstep, epoch by epoch;
- per epoch a cheap validation value of the study's first metric, in that metric's direction,
  reported to the trial so pruners work (in multi-objective studies, where Optuna refuses
  reports, the spec's median rule is applied here to the stored curves);
- divergence ends the trial as PRUNED with ``prune_reason``;
- every metric stored as a user attr (mean over seeds, ``<metric>_std``, each seed's values),
  learning curves, and artifacts (sample grid, checkpoint) when an artifact store is given.
"""

from __future__ import annotations

import contextlib
import logging
import math
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import optuna

from genstudy import names
from genstudy.families import EvalContext, Family
from genstudy.families._train import DivergedError
from genstudy.metrics import CLASSIFIER_SHA256, FID_FLOOR
from genstudy.objectives._resume import check_run, discard_checkpoint, load_resume, save_resume
from genstudy.objectives._search import suggest_params
from genstudy.spec import StudySpec

__all__ = ["StudyObjective"]

_log = logging.getLogger(__name__)

S = optuna.trial.TrialState


class StudyObjective:
    """``objective(trial)`` for ``study.optimize``, sharing one ``EvalContext`` across trials."""

    def __init__(self, spec: StudySpec, context: EvalContext, family: Family, *, artifact_store: Any = None) -> None:
        self.spec = spec
        self.ctx = context
        self.family = family
        self.artifact_store = artifact_store

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        try:
            return self._run(trial)
        except optuna.TrialPruned:
            raise
        except Exception:
            with contextlib.suppress(Exception):  # never hide why the trial failed
                discard_checkpoint(trial, self.artifact_store)  # a trial that raised is never retried
            raise

    def _run(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        params = suggest_params(trial, self.spec)
        trial.set_user_attr(names.PARAMS_RESOLVED, params)
        seeds = trial.user_attrs.get(names.VALIDATION_SEEDS) or [self.spec.seed + r for r in range(self.spec.repeats)]
        runs = [self.family.build(params, seed) for seed in seeds]
        check_run(runs[0], self.spec.objective)
        first = self.spec.metrics[0]
        curves: dict[str, list[float]] = defaultdict(list)
        done = 0
        resumed = load_resume(trial, self.artifact_store, runs)
        if resumed is not None:
            done = min(resumed.epoch, params["epochs"])
            curves.update({k: list(v) for k, v in resumed.curves.items()})
            if len(self.spec.metrics) == 1:  # the pruner sees the whole curve, as if never interrupted
                for step, value in enumerate(curves[names.VAL_PREFIX + first][:done], 1):
                    trial.report(value, step)
        every = self.spec.budget.checkpoint_every
        started = time.perf_counter()
        validate_seconds = 0.0
        try:
            for epoch in range(done + 1, params["epochs"] + 1):
                t0 = time.perf_counter()
                losses = [self.family.train_epoch(run, params) for run in runs]
                t1 = time.perf_counter()
                checks = [self.family.validate(run, params, first) for run in runs]
                validate_seconds += time.perf_counter() - t1
                for key in losses[0]:
                    curves[key].append(_mean([loss[key] for loss in losses]))
                for key in checks[0][0]:
                    curves[key].append(_mean([c[0][key] for c in checks]))
                value = _mean([c[1] for c in checks])
                pruned_on = names.VAL_PREFIX + first  # one value per epoch: the one the pruner sees
                if pruned_on in checks[0][0]:  # the family's own held-out curve of that metric (val_loss)
                    curves[pruned_on][-1] = value
                else:
                    curves[pruned_on].append(value)
                _log.debug("trial %d epoch %d: train %.2f s, validation %.2f s", trial.number, epoch, t1 - t0,
                           time.perf_counter() - t1)
                self._maybe_prune(trial, epoch, value, curves)
                if self.artifact_store is not None and every and epoch % every == 0 and epoch < params["epochs"]:
                    save_resume(trial, self.artifact_store, runs, epoch, curves)
        except DivergedError as e:
            self._end_pruned(trial, curves, f"{names.DIVERGED} at epoch {len(curves.get(names.VAL_PREFIX + first, [])) + 1}: {e}")

        train_seconds = (time.perf_counter() - started - validate_seconds) / len(seeds)
        validate_seconds /= len(seeds)
        t0 = time.perf_counter()
        per_seed = [self.family.evaluate(run, params, seed) | {names.SEED: seed, names.TRAIN_SECONDS: train_seconds}
                    for run, seed in zip(runs, seeds, strict=True)]
        eval_seconds = (time.perf_counter() - t0) / len(seeds)
        for s in per_seed:
            s[names.EVAL_SECONDS] = eval_seconds
            s[names.VALIDATE_SECONDS] = validate_seconds  # the per-epoch pruning values
        values = self._store(trial, params, per_seed, curves)
        if self.artifact_store is not None:
            self._upload(trial, runs[0], params)
            discard_checkpoint(trial, self.artifact_store)
        return values

    def _maybe_prune(self, trial: optuna.Trial, epoch: int, value: float, curves: dict) -> None:
        if len(self.spec.metrics) == 1:
            trial.report(value, epoch)
            if trial.should_prune():
                self._end_pruned(trial, curves, f"pruner {self.spec.pruner.name} at epoch {epoch} (value {value:.4g})")
        elif self.spec.pruner.name == "median" and self._worse_than_median(trial, epoch, value):
            self._end_pruned(trial, curves, f"median rule on {self.spec.metrics[0]} at epoch {epoch} (value {value:.4g})")

    def _worse_than_median(self, trial: optuna.Trial, epoch: int, value: float) -> bool:
        """Optuna's MedianPruner rule on the stored curves (pruners refuse multi-objective studies)."""
        p = self.spec.pruner
        if epoch <= p.n_warmup_steps:
            return False
        key = names.VAL_PREFIX + self.spec.metrics[0]
        others = [t.user_attrs[names.CURVES][key][epoch - 1]
                  for t in trial.study.get_trials(deepcopy=False, states=(S.COMPLETE, S.PRUNED))
                  if len(t.user_attrs.get(names.CURVES, {}).get(key, [])) >= epoch]
        if len(others) < max(p.n_startup_trials, 1):
            return False
        median = statistics.median(others)
        return value > median if self.spec.directions[0] == "minimize" else value < median

    def _end_pruned(self, trial: optuna.Trial, curves: dict, reason: str) -> None:
        trial.set_user_attr(names.CURVES, dict(curves))
        trial.set_user_attr(names.PRUNE_REASON, reason)
        discard_checkpoint(trial, self.artifact_store)
        raise optuna.TrialPruned(reason)

    def _store(self, trial: optuna.Trial, params: dict, per_seed: list[dict[str, Any]],
               curves: dict) -> float | tuple[float, ...]:
        keys = [k for k, v in per_seed[0].items() if k != names.SEED and isinstance(v, (int, float))]
        means = {k: _mean([float(s[k]) for s in per_seed]) for k in keys}
        bad = [m for m in self.spec.metrics if not math.isfinite(means[m])]
        if bad:
            self._end_pruned(trial, curves, f"{names.DIVERGED}: non-finite {', '.join(bad)} at the end of training")
        for k, v in means.items():
            trial.set_user_attr(k, v)
            if len(per_seed) > 1:
                trial.set_user_attr(f"{k}{names.STD_SUFFIX}", statistics.stdev(float(s[k]) for s in per_seed))
        for k, v in self.family.attrs(params).items():
            trial.set_user_attr(k, v)
        if self.ctx.has_classifier:  # only studies whose metrics need the domain classifier load it
            trial.set_user_attr(FID_FLOOR, self.ctx.fid_floor)
            trial.set_user_attr(CLASSIFIER_SHA256, self.ctx.classifier.weights_sha256)
            trial.set_user_attr(names.CLASSIFIER_ACCURACY, self.ctx.classifier.test_accuracy)
        trial.set_user_attr(names.DEVICE, str(self.ctx.device))
        trial.set_user_attr(names.TRAIN_PRECISION, self.ctx.precision)
        trial.set_user_attr(names.SEEDS, per_seed)
        trial.set_user_attr(names.CURVES, dict(curves))
        values = tuple(means[m] for m in self.spec.metrics)
        return values[0] if len(values) == 1 else values

    def _upload(self, trial: optuna.Trial, run: Any, params: dict) -> None:
        with tempfile.TemporaryDirectory(prefix="genstudy-artifacts-") as tmp:
            for path, mimetype in self.family.artifacts(run, params, Path(tmp)):
                artifact_id = optuna.artifacts.upload_artifact(
                    artifact_store=self.artifact_store, file_path=str(path), study_or_trial=trial, mimetype=mimetype,
                )
                trial.set_user_attr(names.artifact_attr(path.name), artifact_id)


def _mean(xs: list[float]) -> float:
    return float(sum(xs) / len(xs))
