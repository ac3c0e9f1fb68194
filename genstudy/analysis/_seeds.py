"""Seed statistics: n-way ANOVA with effect sizes, post-hoc comparisons, mean and CI per configuration.

One observation per seed (the trial's user attr ``genstudy.names.SEEDS`` holds each seed's
metrics) or, for trials without it, one per trial. This runs when some configuration was
observed more than once (repeats, or a grid that revisits points); otherwise there is no
within-configuration variance to test against.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.libqsturng import qsturng

from genstudy import names
from genstudy.analysis._trials import TrialTable

__all__ = ["SeedStats", "anova_effects", "config_means", "seed_observations", "seed_statistics", "tukey_posthoc"]

_log = logging.getLogger(__name__)

MAX_LEVELS = 6  # a numeric param with at most this many distinct values is a grid factor as is
N_BINS = 3  # otherwise it is cut into this many quantile bins


@dataclass(frozen=True)
class SeedStats:
    observations: pd.DataFrame  # trial, seed, config, one column per factor, value
    factors: dict[str, str] = field(default_factory=dict)  # factor -> how its levels were made
    anova: pd.DataFrame | None = None
    posthoc: pd.DataFrame | None = None
    configs: pd.DataFrame | None = None
    note: str = ""


def seed_observations(table: TrialTable) -> pd.DataFrame:
    """One row per seed with the target's value (per trial when a trial stored no seeds)."""
    rows = []
    for t, y in zip(table.trials, table.y, strict=True):
        config = ", ".join(f"{a.name}={_fmt(t.params[a.name])}" for a in table.axes)
        seeds = t.user_attrs.get(names.SEEDS)
        per_seed = [s for s in seeds if isinstance(s, dict) and _number(s.get(table.target.name))] \
            if isinstance(seeds, list) else []
        if per_seed:
            rows += [{"trial": t.number, "seed": s.get("seed", i), "config": config, "value": float(s[table.target.name])}
                     for i, s in enumerate(per_seed)]
        else:
            rows.append({"trial": t.number, "seed": None, "config": config, "value": float(y)})
    return pd.DataFrame(rows, columns=["trial", "seed", "config", "value"])


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def _fmt(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _factors(table: TrialTable, obs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Add one column of levels per parameter: categories, grid values, or quantile bins."""
    by_trial = {t.number: i for i, t in enumerate(table.trials)}
    rows = obs["trial"].map(by_trial).to_numpy()
    out, how = obs.copy(), {}
    for j, axis in enumerate(table.axes):
        col = axis.name if axis.name not in obs.columns else f"{axis.name} (param)"
        raw = [table.trials[i].params[axis.name] for i in rows]
        distinct = sorted(set(raw), key=str)
        if axis.kind == "categorical" or len(distinct) <= MAX_LEVELS:
            out[col] = [_fmt(v) for v in raw]
            how[col] = "categorical" if axis.kind == "categorical" else f"grid ({len(distinct)} values)"
            continue
        x = table.x[rows, j]
        cut = pd.qcut(x, N_BINS, duplicates="drop")
        labels = {iv: f"[{_fmt(axis.display(np.array([iv.left]))[0])}, {_fmt(axis.display(np.array([iv.right]))[0])}]"
                  for iv in cut.categories}
        out[col] = [labels[iv] for iv in cut]
        how[col] = f"binned ({len(labels)} quantile bins)"
    keep = {f: h for f, h in how.items() if out[f].nunique() > 1}
    return out, keep


def anova_effects(data: pd.DataFrame, factors: list[str], *, value: str = "value",
                  interactions: bool = True) -> pd.DataFrame:
    """Type II n-way ANOVA of ``value`` on ``factors`` with eta^2, partial eta^2 and omega^2.

    Two-way interactions are included for fully crossed pairs when the design stays full rank
    with residual degrees of freedom left (else main effects only; else ``ValueError``).
    eta^2 = SS/SS_total, partial eta^2 = SS/(SS + SS_error), omega^2 = (SS - df MS_error)/(SS_total + MS_error).
    """
    safe = {f: f"f{i}" for i, f in enumerate(factors)}
    frame = data.rename(columns={**safe, value: "y"})[[*safe.values(), "y"]]
    mains = [f"C({s})" for s in safe.values()]
    pairs = []
    if interactions:
        pairs = [f"C({a}):C({b})" for a, b in combinations(safe.values(), 2)
                 if frame.groupby([a, b]).ngroups == frame[a].nunique() * frame[b].nunique()]
    fit = _full_rank_fit(frame, mains + pairs) or (_full_rank_fit(frame, mains) if pairs else None)
    if fit is None:
        raise ValueError(f"the {len(frame)} observations cannot separate the effects of {', '.join(factors)} (too few "
                         "distinct configurations or confounded factors); run a grid or more configurations")
    table = anova_lm(fit, typ=2)
    back = {f"C({s})": f for f, s in safe.items()}
    table.index = ["Residual" if term == "Residual" else " x ".join(back[p] for p in str(term).split(":"))
                   for term in table.index]
    ss_total = float(((frame["y"] - frame["y"].mean()) ** 2).sum())
    ss_err, df_err = float(table.loc["Residual", "sum_sq"]), float(table.loc["Residual", "df"])
    ms_err = ss_err / df_err
    effects = table.drop(index="Residual").rename(columns={"PR(>F)": "p"})
    effects["eta2"] = effects["sum_sq"] / ss_total
    effects["partial_eta2"] = effects["sum_sq"] / (effects["sum_sq"] + ss_err)
    effects["omega2"] = (effects["sum_sq"] - effects["df"] * ms_err) / (ss_total + ms_err)
    effects.loc["Residual"] = [ss_err, df_err, np.nan, np.nan, np.nan, np.nan, np.nan]
    return effects


def _full_rank_fit(frame: pd.DataFrame, terms: list[str]):
    """The OLS fit of ``y`` on ``terms``, or None when the design is rank-deficient or leaves no residual df."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about the singular designs refused below
        fit = smf.ols("y ~ " + " + ".join(terms), data=frame).fit()
    exog = fit.model.exog
    if np.linalg.matrix_rank(exog) < exog.shape[1] or fit.df_resid < 1:
        return None
    return fit


def tukey_posthoc(data: pd.DataFrame, factor: str, *, value: str = "value", alpha: float = 0.05) -> pd.DataFrame:
    """Tukey-Kramer HSD between the levels of ``factor`` (one-way, on the marginal groups).

    Same numbers as statsmodels' ``pairwise_tukeyhsd`` (meandiff = group2 - group1), but the
    critical value comes from ``qsturng``'s table (4 digits) instead of root-finding scipy's
    studentized range, which takes about a second per factor; p-values stay exact.
    """
    groups = data.groupby(data[factor].astype(str))[value]
    n, mean = groups.size(), groups.mean()
    k, df = len(n), int(n.sum() - len(n))
    if k < 2 or df < 1:
        return pd.DataFrame(columns=["factor", "group1", "group2", "meandiff", "p_adj", "lower", "upper", "reject"])
    mse = float(((data[value] - groups.transform("mean")) ** 2).sum()) / df
    q_crit = float(qsturng(1 - alpha, k, df))
    rows = []
    for g1, g2 in combinations(n.index, 2):
        diff = float(mean[g2] - mean[g1])
        se = float(np.sqrt(mse / 2 * (1 / n[g1] + 1 / n[g2])))
        p = float(stats.studentized_range.sf(abs(diff) / se, k, df)) if se > 0 else float(diff == 0)
        rows.append({"factor": factor, "group1": g1, "group2": g2, "meandiff": diff, "p_adj": p,
                     "lower": diff - q_crit * se, "upper": diff + q_crit * se, "reject": p < alpha})
    return pd.DataFrame(rows)


def config_means(data: pd.DataFrame, *, value: str = "value", level: float = 0.95,
                 direction: str | None = None) -> pd.DataFrame:
    """Mean, std and the t confidence interval of ``value`` per configuration, best first."""
    g = data.groupby("config")[value]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "std": g.std(ddof=1)})
    half = stats.t.ppf(0.5 + level / 2, out["n"] - 1) * out["std"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out.sort_values("mean", ascending=direction != "maximize").reset_index()


def seed_statistics(table: TrialTable, *, alpha: float = 0.05) -> SeedStats:
    """Everything the seed-statistics section shows, or a note saying why it does not apply."""
    obs = seed_observations(table)
    if obs.empty or obs.groupby("config").size().max() < 2:
        return SeedStats(obs, note="every configuration was observed once (no repeats, no grid): there is no "
                                   "within-configuration variance to test effects against")
    configs = config_means(obs, direction=table.target.direction)
    data, how = _factors(table, obs)
    if not how:
        return SeedStats(data, configs=configs, note="no parameter takes more than one level")
    try:
        anova = anova_effects(data, list(how))
    except ValueError as e:
        return SeedStats(data, how, configs=configs, note=str(e))
    mains = anova.loc[[f for f in how if f in anova.index]]
    significant = [f for f in mains.index if mains.loc[f, "p"] < alpha]
    posthoc = pd.concat([tukey_posthoc(data, f, alpha=alpha) for f in significant], ignore_index=True) \
        if significant else None
    note = "" if significant else f"no factor is significant at alpha = {alpha}: no post-hoc comparisons"
    return SeedStats(data, how, anova, posthoc, configs, note)
