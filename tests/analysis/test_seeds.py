"""Seed statistics against numbers computed by hand on a small table."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from statsmodels.stats.multicomp import pairwise_tukeyhsd

from genstudy.analysis import (
    Target,
    anova_effects,
    config_means,
    seed_statistics,
    trial_table,
    tukey_posthoc,
)
from tests.analysis.conftest import add_trials

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names

# A 2x2 design, 2 replicates per cell. Cell means: a1b1 2, a1b2 6, a2b1 3, a2b2 11; grand mean 5.5.
# SS_A = 4 [(4 - 5.5)^2 + (7 - 5.5)^2] = 18; SS_B = 4 [(2.5 - 5.5)^2 + (8.5 - 5.5)^2] = 72;
# interaction effects +-1 in every cell: SS_AB = 8; each value is its cell mean +-1: SS_E = 8, df_E = 4,
# MS_E = 2; SS_total = 106.
TABLE = pd.DataFrame({"a": ["a1", "a1", "a1", "a1", "a2", "a2", "a2", "a2"],
                      "b": ["b1", "b1", "b2", "b2", "b1", "b1", "b2", "b2"],
                      "value": [1.0, 3.0, 5.0, 7.0, 2.0, 4.0, 10.0, 12.0]})


def test_anova_effect_sizes_match_hand_computation() -> None:
    t = anova_effects(TABLE, ["a", "b"])
    assert list(t.index) == ["a", "b", "a x b", "Residual"]
    expected = {  # SS, F, eta^2 = SS/106, partial eta^2 = SS/(SS + 8), omega^2 = (SS - 1*2)/(106 + 2)
        "a": (18, 9, 18 / 106, 18 / 26, 16 / 108),
        "b": (72, 36, 72 / 106, 72 / 80, 70 / 108),
        "a x b": (8, 4, 8 / 106, 8 / 16, 6 / 108),
    }
    for term, (ss, f, eta2, peta2, omega2) in expected.items():
        row = t.loc[term]
        assert (row.sum_sq, row.df, row.F) == pytest.approx((ss, 1, f))
        assert (row.eta2, row.partial_eta2, row.omega2) == pytest.approx((eta2, peta2, omega2))
    assert (t.loc["Residual", "sum_sq"], t.loc["Residual", "df"]) == pytest.approx((8, 4))
    assert t.loc["b", "p"] < 0.01 < t.loc["a", "p"] < 0.05 < t.loc["a x b", "p"]


def test_anova_without_replicates_drops_the_interaction() -> None:
    means = TABLE.groupby(["a", "b"], as_index=False)["value"].mean()  # one value per cell: no df for a x b
    t = anova_effects(means, ["a", "b"])
    assert list(t.index) == ["a", "b", "Residual"]


def test_tukey_matches_statsmodels() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"f": rng.choice(["p", "q", "r", "s"], 40), "value": rng.normal(size=40)})
    df.loc[df.f == "r", "value"] += 1.5
    ours = tukey_posthoc(df, "f")
    ref = pairwise_tukeyhsd(df.value.to_numpy(), df.f.to_numpy())
    assert ours.meandiff.to_numpy() == pytest.approx(ref.meandiffs)
    assert ours.p_adj.to_numpy() == pytest.approx(ref.pvalues, abs=1e-3)
    assert np.column_stack([ours.lower, ours.upper]) == pytest.approx(ref.confint, abs=1e-3)
    assert list(ours.reject) == list(ref.reject)


def test_config_means_have_t_confidence_intervals() -> None:
    df = TABLE.assign(config=TABLE.a + TABLE.b)
    out = config_means(df).set_index("config")
    # a1b1 = {1, 3}: mean 2, sd sqrt(2), half width t(0.975, 1) * sd / sqrt(2) = 12.7062
    assert out.loc["a1b1", "mean"] == 2 and out.loc["a1b1", "std"] == pytest.approx(np.sqrt(2))
    assert (out.loc["a1b1", "ci_low"], out.loc["a1b1", "ci_high"]) == pytest.approx((2 - 12.7062, 2 + 12.7062), abs=1e-3)
    assert list(config_means(df, direction="maximize").config)[0] == "a2b2"


def _seed_study(repeats: int) -> optuna.Study:
    study = optuna.create_study()
    study.set_metric_names(["fid"])
    dists = {"lr": FloatDistribution(1e-4, 1e-2, log=True), "act": CategoricalDistribution(["relu", "gelu"])}
    rng = np.random.default_rng(1)

    def attrs(p, i):
        base = 10 + 4 * (p["lr"] == 1e-2) + (p["act"] == "gelu")
        return {"seeds": [{"seed": s, "fid": base + rng.normal(0, 0.3)} for s in range(repeats)]}

    add_trials(study, dists, lambda r: {"lr": float(r.choice([1e-4, 1e-3, 1e-2])), "act": str(r.choice(["relu", "gelu"]))},
               lambda p: 0.0, n=24, attrs=attrs)
    return study


def test_seed_statistics_use_each_seed_of_a_grid() -> None:
    study = _seed_study(repeats=3)
    stats = seed_statistics(trial_table(study.trials, Target("fid", "value", 0, "minimize")))
    assert len(stats.observations) == 24 * 3
    assert stats.factors == {"lr": "grid (3 values)", "act": "categorical"}
    assert stats.anova.loc["lr", "p"] < 1e-6 and stats.anova.loc["lr", "eta2"] > 0.7
    assert set(stats.posthoc.factor) == {"lr", "act"}
    assert stats.configs.config.iloc[0].startswith("lr=0.0001") or stats.configs.config.iloc[0].startswith("lr=0.001")


def test_seed_statistics_say_why_without_repeats() -> None:
    study = optuna.create_study()
    add_trials(study, {"x": FloatDistribution(0, 1)}, lambda r: {"x": float(r.uniform())}, lambda p: p["x"], n=10)
    stats = seed_statistics(trial_table(study.trials, Target("value", "value")))
    assert stats.anova is None and "observed once" in stats.note


def test_a_param_named_like_a_column_keeps_its_own_factor() -> None:
    study = optuna.create_study()
    dists = {"seed": CategoricalDistribution([0, 1]), "value": CategoricalDistribution(["a", "b"])}
    wobble = itertools.count()
    add_trials(study, dists, lambda r: {"seed": int(r.choice([0, 1])), "value": str(r.choice(["a", "b"]))},
               lambda p: 3.0 * p["seed"] + (p["value"] == "b") + 0.1 * (next(wobble) % 3), n=30)
    stats = seed_statistics(trial_table(study.trials, Target("value", "value")))
    assert set(stats.factors) == {"seed (param)", "value (param)"}
    assert stats.anova.loc["seed (param)", "eta2"] > 0.8
