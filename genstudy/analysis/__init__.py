"""Analysis of a study: fANOVA importances and pairwise interactions, seed statistics, convergence
patterns and trade-offs, written as a self-contained HTML report. Reads a study; never writes trials.

``analyze_study`` is what ``genstudy analyze`` calls; the data functions below are pure and
tested on their own (figures are built from their results in ``_figures*``).
"""

from __future__ import annotations

from genstudy.analysis._analyze import (
    AnalysisResult,
    TargetAnalysis,
    analyze_study,
    analyze_target,
    importances_json,
    load_study,
)
from genstudy.analysis._convergence import (
    CLASSES,
    RULE,
    classify_curve,
    convergence_data,
    early_correlation,
)
from genstudy.analysis._fanova import (
    FanovaForest,
    FanovaResult,
    Importance,
    fanova_importances,
    fit_fanova,
)
from genstudy.analysis._seeds import (
    anova_effects,
    config_means,
    seed_statistics,
    tukey_posthoc,
)
from genstudy.analysis._space import ParamAxis, axes_from_trials
from genstudy.analysis._text import format_importances_table, summary_markdown
from genstudy.analysis._tradeoffs import ParetoData, pareto_mask, tradeoffs
from genstudy.analysis._trials import (
    AnalysisError,
    Target,
    resolve_targets,
    trial_table,
)

__all__ = [
    "CLASSES",
    "RULE",
    "AnalysisError",
    "AnalysisResult",
    "FanovaForest",
    "FanovaResult",
    "Importance",
    "ParamAxis",
    "ParetoData",
    "Target",
    "TargetAnalysis",
    "analyze_study",
    "analyze_target",
    "anova_effects",
    "axes_from_trials",
    "classify_curve",
    "config_means",
    "convergence_data",
    "early_correlation",
    "fanova_importances",
    "fit_fanova",
    "format_importances_table",
    "importances_json",
    "load_study",
    "pareto_mask",
    "resolve_targets",
    "seed_statistics",
    "summary_markdown",
    "trial_table",
    "tradeoffs",
    "tukey_posthoc",
]
