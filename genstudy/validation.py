"""Validate the optimum: re-run the best configurations of a study with fresh seeds.

The seeds' users "validated the optimal configuration with 10 independent training runs".
Here the best ``top`` complete trials (by the first metric) are enqueued again with their
params fixed and ``seeds`` fresh seeds each; any worker of the study then runs them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import optuna

from genstudy import names
from genstudy.errors import GenstudyError
from genstudy.spec import StudySpec

__all__ = ["ValidationRow", "enqueue_validation", "validation_rows"]

_FRESH_SEED_BASE = 10_000  # validation seeds never coincide with the study's own (spec.seed + r)


def enqueue_validation(study: optuna.Study, spec: StudySpec, *, top: int, seeds: int) -> list[int]:
    """Enqueue the ``top`` best complete trials with ``seeds`` fresh seeds; their numbers."""
    if top < 1 or seeds < 1:
        raise GenstudyError(f"--top {top} --seeds {seeds}: both must be at least 1")
    done = {t.user_attrs.get(names.VALIDATION_OF) for t in study.get_trials(deepcopy=False)}
    sign = 1 if spec.directions[0] == "minimize" else -1
    complete = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if names.VALIDATION_OF not in t.user_attrs]
    if not complete:
        raise GenstudyError(f"study {study.study_name!r} has no complete trials to validate; run it first")
    best = sorted(complete, key=lambda t: sign * t.values[0])[:top]
    chosen = [t for t in best if t.number not in done]
    fresh = [spec.seed + _FRESH_SEED_BASE + i for i in range(seeds)]
    for t in chosen:
        study.enqueue_trial(t.params, user_attrs={names.VALIDATION_OF: t.number, names.VALIDATION_SEEDS: fresh})
    return [t.number for t in chosen]


@dataclass(frozen=True)
class ValidationRow:
    trial: int
    original: float
    validation_trial: int
    mean: float
    std: float
    n_seeds: int


def validation_rows(study: optuna.Study, spec: StudySpec) -> list[ValidationRow]:
    """Each validated configuration: its original value and the fresh seeds' mean and std."""
    metric = spec.metrics[0]
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    rows = []
    for t in by_number.values():
        origin = t.user_attrs.get(names.VALIDATION_OF)
        if origin is None or t.state != optuna.trial.TrialState.COMPLETE:
            continue
        values = [s[metric] for s in t.user_attrs[names.SEEDS]]
        rows.append(ValidationRow(origin, by_number[origin].values[0], t.number, statistics.fmean(values),
                                  statistics.stdev(values) if len(values) > 1 else 0.0, len(values)))
    return sorted(rows, key=lambda r: r.trial)
