"""Studies built from known functions: trials added with ``create_trial``, no training."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
)
from optuna.trial import TrialState, create_trial


def add_trials(
    study: optuna.Study,
    distributions: dict[str, BaseDistribution],
    sample: Callable[[np.random.Generator], dict[str, Any]],
    value: Callable[[dict[str, Any]], float | tuple[float, ...]],
    *,
    n: int,
    seed: int = 0,
    attrs: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
) -> None:
    """Add ``n`` COMPLETE trials with params from ``sample`` and values from ``value``."""
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        params = sample(rng)
        v = value(params)
        trials.append(create_trial(
            params=params, distributions=distributions, state=TrialState.COMPLETE,
            values=list(v) if isinstance(v, tuple) else [v], user_attrs=attrs(params, i) if attrs else {},
        ))
    study.add_trials(trials)


DISTS = {"lr": FloatDistribution(1e-5, 1e-1, log=True), "batch_size": CategoricalDistribution([32, 64, 128]),
         "beta": FloatDistribution(0.5, 2.0)}


def make_study(storage: optuna.storages.BaseStorage | str, name: str = "vae-demo", *, n: int = 40,
               directions: tuple[str, ...] = ("minimize",), seed: int = 0) -> optuna.Study:
    """A genstudy-like study: lr dominates fid, 3 seeds per trial, curves, two pruned trials."""
    study = optuna.create_study(storage=storage, study_name=name, directions=list(directions))
    study.set_user_attr("genstudy:spec", {"metrics": ["fid", "log_likelihood"][: len(directions)]})
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        p = {"lr": float(10 ** rng.uniform(-5, -1)), "batch_size": int(rng.choice([32, 64, 128])),
             "beta": float(rng.uniform(0.5, 2.0))}
        z = (math.log10(p["lr"]) + 3) / 2
        seeds = [{"seed": s, "fid": 10 + 8 * z**2 + 3 * (p["batch_size"] == 128) + rng.normal(0, 0.3),
                  "log_likelihood": 700 - 40 * z**2 - 10 * p["beta"] + rng.normal(0, 2)} for s in range(3)]
        fid, ll = (float(np.mean([s[k] for s in seeds])) for k in ("fid", "log_likelihood"))
        curve = list(fid * (1 + 2 / np.arange(1, 6)))
        attrs = {"fid": fid, "log_likelihood": ll, "loss": -ll / 2, "seeds": seeds,
                 "curves": {"train_loss": curve, "val_loss": curve, "val_fid": curve}}
        if i in (3, 7):
            trials.append(create_trial(params=p, distributions=DISTS, state=TrialState.PRUNED,
                                       user_attrs={"curves": {"val_loss": [1.0, math.nan]},
                                                   "prune_reason": "diverged: non-finite loss"}))
            continue
        values = [fid, ll][: len(directions)]
        trials.append(create_trial(params=p, distributions=DISTS, values=values, user_attrs=attrs))
    study.add_trials(trials)
    return study
