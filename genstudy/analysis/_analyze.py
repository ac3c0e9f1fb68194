"""``analyze_study``: read a study (never write its trials), compute every analysis, write the report."""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from genstudy.analysis._convergence import (
    ConvergenceData,
    EarlyCorrelation,
    convergence_data,
    early_correlation,
)
from genstudy.analysis._fanova import (
    FanovaForest,
    FanovaResult,
    fanova_importances,
    fit_fanova,
)
from genstudy.analysis._report import report_figures, write_report
from genstudy.analysis._seeds import SeedStats, seed_statistics
from genstudy.analysis._tradeoffs import ParetoData, tradeoffs
from genstudy.analysis._trials import (
    AnalysisError,
    Target,
    TrialTable,
    metric_directions,
    resolve_targets,
    trial_table,
)
from genstudy.errors import StorageError, StudyNotFoundError
from genstudy.storage import is_rdb_url, open_storage, redact_url, scrub

__all__ = ["AnalysisResult", "TargetAnalysis", "analyze_study", "analyze_target", "importances_json", "load_study"]

_log = logging.getLogger(__name__)

MIN_TRIALS = 5  # fewer complete trials give no importances (a forest of 3 points splits at random)
FEW_TRIALS = 20  # below this, importances come with a note that they are rough


@dataclass(frozen=True)
class TargetAnalysis:
    """Everything computed for one target: importances (None when they cannot be), seeds, early epochs."""

    target: Target
    table: TrialTable
    importances: FanovaResult | None
    forest: FanovaForest | None
    seeds: SeedStats
    early: EarlyCorrelation | None
    note: str = ""

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.target.name)


@dataclass(frozen=True)
class AnalysisResult:
    """What ``analyze_study`` computed and wrote. ``storage`` is shown without its password."""

    study_name: str
    storage: str
    directions: tuple[str, ...]
    state_counts: dict[str, int]
    targets: tuple[TargetAnalysis, ...]
    convergence: ConvergenceData | None
    tradeoffs: tuple[ParetoData, ...]
    out_dir: Path
    report_path: Path
    importances_path: Path  # importances.json: the first target's
    importances_paths: dict[str, Path] = field(default_factory=dict)  # every target's file
    dashboard_figures: tuple[str, ...] = ()  # graph object ids saved into the study

    @property
    def importances(self) -> FanovaResult | None:
        """The first target's importances (the study's first objective unless ``target`` was given)."""
        return self.targets[0].importances


def load_study(storage: str, study_name: str) -> optuna.Study:
    """Open ``storage`` without heartbeat and load ``study_name``; never creates a missing journal or SQLite file."""
    shown = redact_url(storage)
    if not is_rdb_url(storage) and "://" not in storage and not Path(storage).is_file():
        raise StorageError(f"journal file {shown!r} does not exist; pass the storage `genstudy run` printed "
                           "(storage: ...) or a database URL such as postgresql://USER@HOST/DB")
    if storage.startswith("sqlite"):
        database = make_url(storage).database
        if database and database != ":memory:" and not Path(database).is_file():
            raise StorageError(f"SQLite file {database!r} of storage {shown} does not exist; check the path")
    opened = open_storage(storage, heartbeat=False)
    try:
        return optuna.load_study(study_name=study_name, storage=opened)
    except KeyError:
        names = optuna.get_all_study_names(opened)
        raise StudyNotFoundError(f"study {study_name!r} does not exist in {shown}; studies there: "
                                 f"{', '.join(names) or 'none'}; pass one of them as the study name") from None
    except SQLAlchemyError as e:
        detail = scrub(str(getattr(e, "orig", None) or e), storage).strip().splitlines()[0]
        raise StorageError(f"storage {shown} failed while loading study {study_name!r}: {detail}") from None


def analyze_target(trials: list[FrozenTrial], target: Target, *, n_trees: int = 32, seed: int = 0) -> TargetAnalysis:
    """fANOVA, seed statistics and early-epoch correlation of one target over ``trials``."""
    table = trial_table(trials, target)
    seeds = seed_statistics(table)
    early = early_correlation(table)
    n, d = table.x.shape
    if n < MIN_TRIALS or d == 0 or np.ptp(table.y) == 0:
        why = (f"{n} complete trial(s) with a finite {target.name}, fANOVA needs {MIN_TRIALS}" if n < MIN_TRIALS else
               "no parameter varies across the trials" if d == 0 else f"{target.name} is the same in every trial")
        return TargetAnalysis(target, table, None, None, seeds, early, note=f"no importances: {why}")
    started = time.perf_counter()
    forest = fit_fanova(table.x, table.y, table.axes, n_trees=n_trees, seed=seed)
    importances = fanova_importances(forest)
    _log.info("fANOVA of %s: %d trials x %d params, %d pairs, %d trees in %.2f s", target.name, n, d,
              len(importances.pairs), n_trees, time.perf_counter() - started)
    note = f"only {n} trials: importances are rough" if n < FEW_TRIALS else ""
    return TargetAnalysis(target, table, importances, forest, seeds, early, note)


def importances_json(study_name: str, analysis: TargetAnalysis) -> dict:
    """The importances.json document: fractions of total variance, ranked, pairs keyed ``A|B``."""
    imp = analysis.importances
    return {
        "study": study_name,
        "target": analysis.target.name,
        "n_trials": len(analysis.table.trials),
        "main": {k: {"importance": v.importance, "std": v.std} for k, v in imp.main.items()} if imp else {},
        "pairs": {f"{a}|{b}": {"importance": v.importance, "std": v.std} for (a, b), v in imp.pairs.items()} if imp else {},
    }


def analyze_study(
    *,
    storage: str,
    study_name: str,
    out_dir: Path,
    target: str | None = None,
    to_dashboard: bool = False,
    n_trees: int = 32,
    seed: int = 0,
) -> AnalysisResult:
    """Analyse study ``study_name``: write ``out_dir/report.html`` and ``out_dir/importances.json``.

    ``target``: an objective (by metric name, ``value`` or ``value_i``) or a numeric user attr
    (``fid``, ``log_likelihood``, ...); None analyses every objective, one section each (with
    several, every target also gets ``importances-TARGET.json``). Only COMPLETE trials with a
    finite target count. ``to_dashboard`` saves the figures and a markdown note into the study's
    system attrs for optuna-dashboard: the one write; trials are never written.
    """
    if n_trees < 1:
        raise AnalysisError(f"n_trees {n_trees}: the forest needs at least 1 tree; the default is 32")
    study = load_study(storage, study_name)
    trials = study.get_trials(deepcopy=False)
    directions = metric_directions(study)
    targets = resolve_targets(study, target, trials, directions=directions)
    analyses = tuple(analyze_target(trials, t, n_trees=n_trees, seed=seed) for t in targets)
    if all(not a.table.trials for a in analyses):
        raise AnalysisError(f"study {study_name!r} has no COMPLETE trial with a finite "
                            f"{' or '.join(t.name for t in targets)} ({len(trials)} trials in all); run trials first, "
                            "or pick another --target")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, a in enumerate(analyses):
        doc = json.dumps(importances_json(study_name, a), indent=2)
        if i == 0:
            (out_dir / "importances.json").write_text(doc)
            paths[a.target.name] = out_dir / "importances.json"
        if len(analyses) > 1:
            paths[a.target.name] = out_dir / f"importances-{a.slug}.json"
            paths[a.target.name].write_text(doc)
    result = AnalysisResult(
        study_name=study_name, storage=redact_url(storage), directions=tuple(d.name.lower() for d in study.directions),
        state_counts=dict(Counter(t.state.name for t in trials)), targets=analyses,
        convergence=convergence_data(trials, directions=directions),
        tradeoffs=tuple(tradeoffs(study, trials, targets, directions=directions)),
        out_dir=out_dir, report_path=out_dir / "report.html", importances_path=out_dir / "importances.json",
        importances_paths=paths,
    )
    figures = report_figures(result)
    write_report(result, figures)
    _log.info("wrote %s and %s", result.report_path, result.importances_path)
    if to_dashboard:
        from genstudy.analysis._dashboard import save_to_dashboard  # imports optuna-dashboard's web app: only here

        ids = save_to_dashboard(study, result, figures)
        result = replace(result, dashboard_figures=tuple(ids))
    return result
