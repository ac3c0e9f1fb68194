"""Benchmark genstudy's fANOVA: accuracy against exact Sobol indices, and speed next to Optuna's.

1. The exact-Sobol cases of the tests (linear-bilinear, Ishigami, log-scaled lr, categorical):
   estimate vs exact per index.
2. A synthetic study of 2000 trials x 10 params with known indices (lr log-uniform, one
   categorical, two interacting pairs, four inert params): genstudy's fANOVA (main effects and
   all 45 pairs) vs ``optuna.importance.FanovaImportanceEvaluator`` (main effects only), time
   and max abs error of the main effects; optuna-fast-fanova's evaluator (Cython, a drop-in for
   Optuna's) on the same study when it is installed; and ``analyze_study`` end to end.

Writes its section of BENCHMARKS.md (analysis) and prints it.

    .venv/bin/python bench/analysis.py
"""

from __future__ import annotations

import logging
import math
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
from _markdown import write_section  # bench/ is on sys.path when run as a script
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from optuna.trial import create_trial

from genstudy.analysis import (
    Target,
    analyze_study,
    fanova_importances,
    fit_fanova,
    trial_table,
)
from genstudy.storage import open_storage

KINDS = {"a": 0.0, "b": 0.5, "c": 1.0, "d": -0.5}  # effect of each category of `kind`
V_KIND = float(np.var(list(KINDS.values())))


def _study(n: int, dists: dict, sample: Callable, value: Callable, seed: int = 0, storage=None, name=None) -> optuna.Study:
    rng = np.random.default_rng(seed)
    study = optuna.create_study(storage=storage, study_name=name)
    params = [sample(rng) for _ in range(n)]
    study.add_trials([create_trial(params=p, distributions=dists, value=value(p)) for p in params])
    return study


def _ours(study: optuna.Study, **kw):
    table = trial_table(study.trials, Target("value", "value"))
    return fanova_importances(fit_fanova(table.x, table.y, table.axes, **kw))


def _get(result, key):
    return result.main[key].importance if isinstance(key, str) else result.pairs[key].importance


# --- the exact-Sobol cases of tests/analysis/test_fanova.py -------------------------------------------------

def _sobol_cases() -> list[tuple[str, int, dict, optuna.Study]]:
    a, b, c = 1.0, 2.0, 3.0
    v = a**2 / 3 + b**2 / 3 + c**2 / 9
    lin = {"x1": a**2 / 3 / v, "x2": b**2 / 3 / v, ("x1", "x2"): c**2 / 9 / v}
    u = {"x1": FloatDistribution(-1, 1), "x2": FloatDistribution(-1, 1)}
    cases = [("f = x1 + 2 x2 + 3 x1 x2, U(-1,1)^2", 1000, lin,
              _study(1000, u, lambda r: {"x1": float(r.uniform(-1, 1)), "x2": float(r.uniform(-1, 1))},
                     lambda p: a * p["x1"] + b * p["x2"] + c * p["x1"] * p["x2"]))]
    ia, ib = 7.0, 0.1
    vi = ia**2 / 8 + ib * math.pi**4 / 5 + ib**2 * math.pi**8 / 18 + 0.5
    ish = {"x1": 0.5 * (1 + ib * math.pi**4 / 5) ** 2 / vi, "x2": ia**2 / 8 / vi, "x3": 0.0,
           ("x1", "x3"): ib**2 * math.pi**8 * (1 / 18 - 1 / 50) / vi, ("x1", "x2"): 0.0, ("x2", "x3"): 0.0}
    pi3 = {f"x{i}": FloatDistribution(-math.pi, math.pi) for i in (1, 2, 3)}
    cases.append(("Ishigami (a=7, b=0.1), U(-pi,pi)^3", 2000, ish, _study(
        2000, pi3, lambda r: {k: float(r.uniform(-math.pi, math.pi)) for k in pi3},
        lambda p: math.sin(p["x1"]) + ia * math.sin(p["x2"]) ** 2 + ib * p["x3"] ** 4 * math.sin(p["x1"]), seed=1)))
    logd = {"lr": FloatDistribution(1e-4, 1.0, log=True), "x2": FloatDistribution(-1, 1)}
    z = lambda p: (math.log10(p["lr"]) + 2) / 2  # noqa: E731
    cases.append(("same f with x1 = (log10 lr + 2)/2, lr log-uniform [1e-4, 1]", 1000,
                  {"lr": lin["x1"], "x2": lin["x2"], ("lr", "x2"): lin[("x1", "x2")]},
                  _study(1000, logd, lambda r: {"lr": float(10 ** r.uniform(-4, 0)), "x2": float(r.uniform(-1, 1))},
                         lambda p: a * z(p) + b * p["x2"] + c * z(p) * p["x2"])))
    catd = {"kind": CategoricalDistribution(list(KINDS)[:3]), "x": FloatDistribution(-1, 1)}
    vk = float(np.var([0.0, 0.5, 1.0]))
    cases.append(("effect[kind] + 2 x, kind in 3 categories", 600,
                  {"kind": vk / (vk + 4 / 3), "x": 4 / 3 / (vk + 4 / 3), ("kind", "x"): 0.0},
                  _study(600, catd, lambda r: {"kind": str(r.choice(list(KINDS)[:3])), "x": float(r.uniform(-1, 1))},
                         lambda p: KINDS[p["kind"]] + 2 * p["x"])))
    return cases


# --- 2000 trials x 10 params ----------------------------------------------------------------------------------

DISTS10 = {"lr": FloatDistribution(1e-5, 1e-1, log=True), "kind": CategoricalDistribution(list(KINDS)),
           **{f"x{i}": FloatDistribution(-1, 1) for i in range(1, 9)}}


def _z(p: dict) -> float:
    return (math.log10(p["lr"]) + 3) / 2  # log-uniform lr -> U(-1, 1)


def _f10(p: dict) -> float:
    z = _z(p)
    return (z + 0.8 * p["x1"] + 0.6 * p["x2"] + 0.4 * p["x3"] + 0.7 * p["x4"] ** 2 + KINDS[p["kind"]]
            + 1.5 * z * p["x1"] + 1.0 * p["x2"] * p["x3"])


def _exact10() -> dict:
    parts = {"lr": 1 / 3, "x1": 0.64 / 3, "x2": 0.36 / 3, "x3": 0.16 / 3, "x4": 0.49 * 4 / 45, "kind": V_KIND,
             ("lr", "x1"): 1.5**2 / 9, ("x2", "x3"): 1 / 9}
    total = sum(parts.values())
    exact = {k: v / total for k, v in parts.items()}
    exact.update({f"x{i}": 0.0 for i in range(5, 9)})
    return exact


def _sample10(r: np.random.Generator) -> dict:
    return {"lr": float(10 ** r.uniform(-5, -1)), "kind": str(r.choice(list(KINDS))),
            **{f"x{i}": float(r.uniform(-1, 1)) for i in range(1, 9)}}


def _fast_fanova() -> tuple[type | None, str]:
    """optuna-fast-fanova's evaluator class, or None and why it is missing."""
    try:
        from importlib.metadata import version

        from optuna_fast_fanova import FanovaImportanceEvaluator as Fast
    except ImportError as e:
        return None, f"not installed ({e}); `pip install optuna-fast-fanova` builds it from source (Cython, C compiler)"
    return Fast, version("optuna-fast-fanova")


def _timed(fn: Callable, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # normalize=False
    logging.getLogger("genstudy").setLevel(logging.WARNING)
    lines = ["## analysis: fANOVA accuracy and speed", "",
             f"CPU, {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
             f"optuna {optuna.__version__}. Reproduce: `.venv/bin/python bench/analysis.py`.", "",
             "### Exact Sobol cases (random trials, default settings: 32 trees)", "",
             "| case | trials | index | exact | genstudy | abs error |", "| --- | --- | --- | --- | --- | --- |"]
    for title, n, exact, study in _sobol_cases():
        result = _ours(study)
        for key, value in exact.items():
            est = _get(result, key)
            label = key if isinstance(key, str) else " x ".join(key)
            lines.append(f"| {title} | {n} | {label} | {value:.3f} | {est:.3f} | {abs(est - value):.3f} |")

    with tempfile.TemporaryDirectory() as tmp:
        journal = str(Path(tmp) / "bench.journal")
        study = _study(2000, DISTS10, _sample10, _f10, seed=0, storage=open_storage(journal, heartbeat=False), name="b10")
        exact = _exact10()
        mains = [k for k in exact if isinstance(k, str)]
        t32, ours32 = _timed(lambda: _ours(study), 3)
        t64, ours64 = _timed(lambda: _ours(study, n_trees=64), 3)
        t_opt, theirs = _timed(lambda: get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0),
                                                             normalize=False), 1)
        fast_cls, fast_version = _fast_fanova()
        if fast_cls is not None:
            t_fast, fast = _timed(lambda: get_param_importances(study, evaluator=fast_cls(seed=0), normalize=False), 3)
        t_all, _ = _timed(lambda: analyze_study(storage=journal, study_name="b10", out_dir=Path(tmp) / "out"), 1)
    err = lambda get: max(abs(get(k) - exact[k]) for k in mains)  # noqa: E731
    pair_err = lambda r: max(abs(r.pairs[k].importance - exact.get(k, 0.0)) for k in r.pairs)  # noqa: E731
    lines += ["", "### 2000 trials x 10 params (lr log-uniform, 1 categorical, 2 interacting pairs, 4 inert)", "",
              "| method | terms | seconds (median of 3) | max abs error, main effects | max abs error, 45 pairs |",
              "| --- | --- | --- | --- | --- |",
              f"| genstudy fANOVA, 32 trees (default) | 10 main + 45 pairs | {t32:.2f} | "
              f"{err(lambda k: ours32.main[k].importance):.3f} | {pair_err(ours32):.3f} |",
              f"| genstudy fANOVA, 64 trees | 10 main + 45 pairs | {t64:.2f} | "
              f"{err(lambda k: ours64.main[k].importance):.3f} | {pair_err(ours64):.3f} |",
              f"| optuna FanovaImportanceEvaluator (64 trees, normalize=False) | 10 main | {t_opt:.2f} (1 run) | "
              f"{err(lambda k: theirs[k]):.3f} | - |",
              (f"| optuna-fast-fanova {fast_version} FanovaImportanceEvaluator (64 trees, normalize=False) | 10 main | "
               f"{t_fast:.2f} | {err(lambda k: fast[k]):.3f} | - |" if fast_cls is not None else
               f"| optuna-fast-fanova | {fast_version} | | | |"),
              f"| `analyze_study` end to end (journal, report.html, importances.json) | all sections | {t_all:.2f} (1 run) "
              "| | |", "",
              "| param | exact | genstudy (32 trees) | optuna evaluator | optuna-fast-fanova |",
              "| --- | --- | --- | --- | --- |"]
    fast_cell = (lambda k: f"{fast[k]:.3f}") if fast_cls is not None else (lambda k: "-")
    lines += [f"| {k} | {exact[k]:.3f} | {ours32.main[k].importance:.3f} | {theirs[k]:.3f} | {fast_cell(k)} |"
              for k in mains]
    lines += [f"| {a} x {b} | {exact[(a, b)]:.3f} | {ours32.pairs[(a, b)].importance:.3f} | - | - |"
              for (a, b) in [("lr", "x1"), ("x2", "x3")]]
    lines += ["", f"optuna-fast-fanova {fast_version}: a Cython reimplementation of Optuna's `FanovaImportanceEvaluator` "
              "(the same random-forest fANOVA); pip builds it from its source distribution (a C compiler is needed)."
              if fast_cls is not None else f"optuna-fast-fanova: {fast_version}."]
    text = "\n".join(lines) + "\n"
    write_section("analysis: ", text)
    print(text)


if __name__ == "__main__":
    main()
