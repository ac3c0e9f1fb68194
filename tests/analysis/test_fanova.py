"""fANOVA against exact Sobol indices, and its integration against brute force on one tree.

Tolerances: the integration of a fitted forest is exact (1e-9 against brute force). What is
not exact is the forest itself: a random forest fitted to n random trials approximates the
function, and that error is what the Sobol tolerances below measure. Linear-plus-bilinear and
categorical functions come out within 0.03; Ishigami's sin^2(x2) term is under-fitted by a forest
of 2000 points (its own Monte Carlo marginal shows the same), so S2 is within 0.12 and the rest
within 0.05. Measured values are in the closing note of issue 5.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.ensemble import RandomForestRegressor

from genstudy.analysis import (
    ParamAxis,
    Target,
    fanova_importances,
    fit_fanova,
    trial_table,
)
from tests.analysis.conftest import add_trials

A, B, C = 1.0, 2.0, 3.0  # f = A x1 + B x2 + C x1 x2 on U(-1, 1)^2
V_LIN = A**2 / 3 + B**2 / 3 + C**2 / 9
EXACT_LIN = {"x1": A**2 / 3 / V_LIN, "x2": B**2 / 3 / V_LIN, ("x1", "x2"): C**2 / 9 / V_LIN}

ISH_A, ISH_B = 7.0, 0.1  # Ishigami on U(-pi, pi)^3
V_ISH = ISH_A**2 / 8 + ISH_B * math.pi**4 / 5 + ISH_B**2 * math.pi**8 / 18 + 0.5
EXACT_ISH = {
    "x1": 0.5 * (1 + ISH_B * math.pi**4 / 5) ** 2 / V_ISH,  # 0.3139
    "x2": ISH_A**2 / 8 / V_ISH,  # 0.4424
    "x3": 0.0,
    ("x1", "x3"): ISH_B**2 * math.pi**8 * (1 / 18 - 1 / 50) / V_ISH,  # 0.2437
    ("x1", "x2"): 0.0,
    ("x2", "x3"): 0.0,
}


def _get(result, key):
    return result.main[key].importance if isinstance(key, str) else result.pairs[key].importance


def _axes(names, low, high):
    return [ParamAxis(n, "float", low, high) for n in names]


def test_linear_bilinear_matches_exact_sobol_indices() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, (1000, 2))
    y = A * x[:, 0] + B * x[:, 1] + C * x[:, 0] * x[:, 1]
    result = fanova_importances(fit_fanova(x, y, _axes(["x1", "x2"], -1, 1)))
    for key, exact in EXACT_LIN.items():
        assert _get(result, key) == pytest.approx(exact, abs=0.03), key
    assert list(result.main) == ["x2", "x1"]  # ranked
    assert all(v.std >= 0 for v in result.main.values())


def test_ishigami_matches_exact_sobol_indices_within_stated_tolerance() -> None:
    x = np.random.default_rng(1).uniform(-math.pi, math.pi, (2000, 3))
    y = np.sin(x[:, 0]) + ISH_A * np.sin(x[:, 1]) ** 2 + ISH_B * x[:, 2] ** 4 * np.sin(x[:, 0])
    result = fanova_importances(fit_fanova(x, y, _axes(["x1", "x2", "x3"], -math.pi, math.pi)))
    tolerance = {"x2": 0.12, "x3": 0.02}
    for key, exact in EXACT_ISH.items():
        assert _get(result, key) == pytest.approx(exact, abs=tolerance.get(key, 0.05)), key
    assert list(result.main) == ["x2", "x1", "x3"]
    assert list(result.pairs)[0] == ("x1", "x3")


def test_log_scale_parameter_is_integrated_in_log10() -> None:
    """lr ~ log-uniform on [1e-4, 1]; f is linear-bilinear in z1 = (log10 lr + 2) / 2 and x2."""
    study = optuna.create_study()
    dists = {"lr": FloatDistribution(1e-4, 1.0, log=True), "x2": FloatDistribution(-1, 1)}

    def value(p):
        z1 = (math.log10(p["lr"]) + 2) / 2
        return A * z1 + B * p["x2"] + C * z1 * p["x2"]

    add_trials(study, dists, lambda r: {"lr": float(10 ** r.uniform(-4, 0)), "x2": float(r.uniform(-1, 1))}, value, n=1000)
    table = trial_table(study.trials, Target("value", "value"))
    assert table.axes[0].log and (table.axes[0].low, table.axes[0].high) == pytest.approx((-4, 0))
    result = fanova_importances(fit_fanova(table.x, table.y, table.axes))
    for key, exact in {"lr": EXACT_LIN["x1"], "x2": EXACT_LIN["x2"], ("lr", "x2"): EXACT_LIN[("x1", "x2")]}.items():
        assert _get(result, key) == pytest.approx(exact, abs=0.03), key
    # Integrated uniformly on the raw scale instead, lr would look nearly constant:
    raw = fanova_importances(fit_fanova(table.x, table.y, [ParamAxis("lr", "float", 0, 1, log=False), table.axes[1]]))
    assert abs(raw.main["lr"].importance - EXACT_LIN["x1"]) > 0.05


def test_categorical_parameter_gets_the_variance_of_its_category_effects() -> None:
    effects = {"a": 0.0, "b": 1.0, "c": 3.0}
    study = optuna.create_study()
    dists = {"kind": CategoricalDistribution(list(effects)), "x": FloatDistribution(-1, 1)}
    add_trials(study, dists, lambda r: {"kind": str(r.choice(list(effects))), "x": float(r.uniform(-1, 1))},
               lambda p: effects[p["kind"]] + 2.0 * p["x"], n=600)
    table = trial_table(study.trials, Target("value", "value"))
    v_kind = float(np.var(list(effects.values())))  # categories equally likely
    v_x = 4.0 / 3
    result = fanova_importances(fit_fanova(table.x, table.y, table.axes))
    assert result.main["kind"].importance == pytest.approx(v_kind / (v_kind + v_x), abs=0.03)
    assert result.main["x"].importance == pytest.approx(v_x / (v_kind + v_x), abs=0.03)
    assert result.pairs[("kind", "x")].importance < 0.03


def test_integration_of_one_tree_is_exact() -> None:
    """Importances of a single fitted tree equal brute force over its cell grid (1e-9)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (80, 3))
    y = np.sin(6 * x[:, 0]) + x[:, 1] * x[:, 2] + rng.normal(0, 0.1, 80)
    axes = _axes(["a", "b", "c"], 0, 1)
    ours = fanova_importances(fit_fanova(x, y, axes, n_trees=1, min_samples_leaf=1, seed=7))
    y_std = (y - y.mean()) / y.std()  # fit_fanova standardises; fractions do not depend on it
    tree = RandomForestRegressor(n_estimators=1, min_samples_leaf=1, random_state=7).fit(x, y_std).estimators_[0]
    t = tree.tree_
    edges = [np.unique(np.concatenate([[0.0, 1.0], t.threshold[t.feature == j]])) for j in range(3)]
    mids = [(e[1:] + e[:-1]) / 2 for e in edges]
    w = [np.diff(e) for e in edges]
    grid = np.stack(np.meshgrid(*mids, indexing="ij"), axis=-1).reshape(-1, 3)
    f = tree.predict(grid).reshape([len(m) for m in mids])
    weight = w[0][:, None, None] * w[1][None, :, None] * w[2][None, None, :]
    f0 = float((weight * f).sum())
    total = float((weight * (f - f0) ** 2).sum())

    def marginal(keep: tuple[int, ...]) -> float:
        drop = tuple(j for j in range(3) if j not in keep)
        m = (weight * f).sum(axis=drop) / weight.sum(axis=drop)
        wk = weight.sum(axis=drop)
        return float((wk * (m - f0) ** 2).sum())

    single = [marginal((j,)) for j in range(3)]
    for j, name in enumerate("abc"):
        assert ours.main[name].importance == pytest.approx(single[j] / total, abs=1e-9)
    for (j, k) in [(0, 1), (0, 2), (1, 2)]:
        exact = (marginal((j, k)) - single[j] - single[k]) / total
        assert ours.pairs[("abc"[j], "abc"[k])].importance == pytest.approx(exact, abs=1e-9)


def test_marginals_follow_the_function() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, (1000, 2))
    y = A * x[:, 0] + B * x[:, 1] + C * x[:, 0] * x[:, 1]
    forest = fit_fanova(x, y, _axes(["x1", "x2"], -1, 1))
    pts = np.linspace(-0.9, 0.9, 19)
    mean, std = forest.main_marginal("x2", pts)
    assert np.abs(mean - B * pts).max() < 0.15  # E[f | x2] = B x2
    assert (std >= 0).all()
    surface, _ = forest.pair_marginal("x1", "x2", pts, pts)
    exact = A * pts[:, None] + B * pts[None, :] + C * pts[:, None] * pts[None, :]
    assert np.abs(surface - exact).mean() < 0.1


def test_constant_target_has_no_importance() -> None:
    x = np.random.default_rng(0).uniform(0, 1, (50, 2))
    result = fanova_importances(fit_fanova(x, np.full(50, 3.0), _axes(["a", "b"], 0, 1)))
    assert all(v.importance == 0 for v in [*result.main.values(), *result.pairs.values()])


def test_a_large_offset_does_not_change_the_fractions() -> None:
    """Targets far from zero (losses of 1e9 nats) must not drown scikit-learn's split criterion in rounding:
    fitted raw, this forest would give x1 0.66 instead of 0.125."""
    x = np.random.default_rng(0).uniform(-1, 1, (500, 2))
    y = A * x[:, 0] + B * x[:, 1] + C * x[:, 0] * x[:, 1]
    near = fanova_importances(fit_fanova(x, y, _axes(["x1", "x2"], -1, 1)))
    far = fanova_importances(fit_fanova(x, 1e9 + y, _axes(["x1", "x2"], -1, 1)))
    for key in EXACT_LIN:
        assert _get(far, key) == pytest.approx(_get(near, key), abs=0.005)
