"""From a spec to Optuna: samplers, pruners, and the params of one trial."""

from __future__ import annotations

from typing import Any

import optuna

from genstudy.spec import CategoricalParam, FloatParam, IntParam, StudySpec

__all__ = ["make_sampler", "make_pruner", "suggest_params", "grid_values"]


def make_sampler(spec: StudySpec, *, seed: int) -> optuna.samplers.BaseSampler:
    """The spec's sampler with ``seed`` (each parallel worker needs its own, optuna #4714)."""
    name = spec.sampler.name
    if name == "tpe":
        # Optuna 5's TPE uses the constant liar by default, so parallel workers spread out.
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.sampler.n_startup_trials)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler({k: grid_values(p) for k, p in spec.search_space.items()}, seed=seed)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The spec's pruner; steps are epochs (1-based)."""
    p = spec.pruner
    if p.name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps)
    if p.name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.budget.epochs)
    return optuna.pruners.NopPruner()


def grid_values(p: FloatParam | IntParam | CategoricalParam) -> list[Any]:
    """Every value a grid visits for one search-space entry."""
    if isinstance(p, CategoricalParam):
        return list(p.choices)
    if isinstance(p, IntParam):
        return list(range(p.low, p.high + 1, p.step))
    assert p.step is not None  # the spec validator refuses a float grid param without step
    n = int(round((p.high - p.low) / p.step))
    return [round(p.low + i * p.step, 12) for i in range(n + 1)]


def suggest_params(trial: optuna.Trial, spec: StudySpec) -> dict[str, Any]:
    """All params of the objective for this trial: defaults, then fixed, then suggested."""
    odef = spec.objective_def
    params: dict[str, Any] = {name: d.default for name, d in odef.params.items()}
    if "epochs" in params and params["epochs"] is None:
        params["epochs"] = spec.budget.epochs
    params.update(spec.fixed)
    for name, p in spec.search_space.items():
        if isinstance(p, FloatParam):
            params[name] = trial.suggest_float(name, p.low, p.high, log=p.log, step=p.step)
        elif isinstance(p, IntParam):
            params[name] = trial.suggest_int(name, p.low, p.high, step=p.step, log=p.log)
        else:
            params[name] = trial.suggest_categorical(name, p.choices)
    for name, d in odef.params.items():  # YAML may give 64.0 for an int param in fixed
        if d.kind is bool or params[name] is None:
            continue
        if d.kind is int:
            params[name] = int(params[name])
        elif d.kind is float:
            params[name] = float(params[name])
    return params
