"""The self-contained HTML report: plotly.js inlined once, every figure a div, opens offline."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from genstudy import names
from genstudy.analysis._convergence import RULE
from genstudy.analysis._figures import (
    importance_figure,
    interaction_figure,
    parallel_figure,
    slices_figure,
    surface_figure,
)
from genstudy.analysis._figures_study import (
    configs_figure,
    convergence_figure,
    early_figure,
    pareto_figure,
)
from genstudy.analysis._marginals import marginal_curve, marginal_surface, parallel_data

if TYPE_CHECKING:
    from genstudy.analysis._analyze import AnalysisResult, TargetAnalysis

__all__ = ["SECTIONS", "TOP_SURFACES", "report_figures", "write_report"]

TOP_SURFACES = 3  # marginal surfaces of the most important pairs
MAX_SLICES = 12
SECTIONS = ("summary", "importances", "interactions", "surfaces", "slices", "parallel", "seeds", "convergence",
            "tradeoffs", "method")

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:1em 2em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f5f5f5}.note{color:#666;font-style:italic}nav a{margin-right:1em}code{background:#f3f3f3;padding:0 .2em}"""


def report_figures(result: AnalysisResult) -> dict[str, go.Figure]:
    """Every figure of the report, keyed by a stable id (also the optuna-dashboard graph id)."""
    figs: dict[str, go.Figure] = {}
    for a in result.targets:
        if a.importances is not None and a.forest is not None:
            axes = {ax.name: ax for ax in a.table.axes}
            figs[f"importance-{a.slug}"] = importance_figure(a.importances, a.target.name)
            if len(a.table.axes) > 1:
                figs[f"interactions-{a.slug}"] = interaction_figure(a.importances, a.target.name)
            for k, (p, q) in enumerate(list(a.importances.pairs)[:TOP_SURFACES], start=1):
                figs[f"surface-{a.slug}-{k}"] = surface_figure(marginal_surface(a.forest, p, q), axes, a.table)
            top = list(a.importances.main)[:MAX_SLICES]
            figs[f"slices-{a.slug}"] = slices_figure([marginal_curve(a.forest, n) for n in top], axes, a.table)
            figs[f"parallel-{a.slug}"] = parallel_figure(parallel_data(a.table, list(a.importances.main)))
        if a.seeds.configs is not None:
            figs[f"configs-{a.slug}"] = configs_figure(a.seeds.configs, a.target.name)
    if result.convergence is not None:
        figs["convergence"] = convergence_figure(result.convergence)
    early = [a.early for a in result.targets if a.early is not None and a.early.epochs]
    if early:
        figs["early"] = early_figure(early)
    for k, data in enumerate(result.tradeoffs, start=1):
        figs[f"pareto-{k}"] = pareto_figure(data)
    return figs


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(df: pd.DataFrame, *, index: bool = False) -> str:
    return df.to_html(index=index, float_format=lambda v: f"{v:.4g}", na_rep="-", border=0, escape=True)


def _fig(figs: dict[str, go.Figure], key: str) -> str:
    if key not in figs:
        return ""
    return figs[key].to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{key}", config={"displaylogo": False})


def _section(kind: str, slug: str, title: str, body: list[str]) -> str:
    sid = f"{kind}-{slug}" if slug else kind
    return f'<section id="{_e(sid)}" data-section="{kind}"><h2>{_e(title)}</h2>\n' + "\n".join(body) + "</section>"


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>' if text else ""


def _summary(result: AnalysisResult) -> str:
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result.state_counts.items()))
    rows = []
    for a in result.targets:
        t, y = a.target, a.table.y
        best = ""
        if len(y) and t.direction in ("minimize", "maximize"):
            i = int(y.argmin() if t.direction == "minimize" else y.argmax())
            trial = a.table.trials[i]
            best = f"trial {trial.number}: {y[i]:.4g} with " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
        rows.append({"target": t.name, "source": "objective" if t.source == "value" else "user attr",
                     "direction": t.direction or "unknown", "trials used": len(a.table.trials), "best": best})
    return "\n".join([
        f"<p>Study <b>{_e(result.study_name)}</b> in <code>{_e(result.storage)}</code>; directions "
        f"{_e(', '.join(result.directions))}; trials: {_e(counts or 'none')}.</p>",
        "<p>Only COMPLETE trials with a finite target enter importances and statistics; learning curves of "
        "pruned and failed trials count in the convergence section.</p>", _table(pd.DataFrame(rows))])


def _target_sections(a: TargetAnalysis, figs: dict[str, go.Figure], multi: bool) -> list[str]:
    s, name = a.slug, a.target.name
    suffix = f" of {name}" if multi else ""
    imp = a.importances
    if imp is None:
        missing = [a.note or "no importances"]
        return [_section(k, s, f"{t}{suffix}", [_note(missing[0])]) for k, t in (
            ("importances", "Importances"), ("interactions", "Interactions"), ("surfaces", "Marginal surfaces"),
            ("slices", "Slices"), ("parallel", "Parallel coordinates"))] + [_seed_section(a, figs, suffix)]
    main = pd.DataFrame([{"param": k, "importance": v.importance, "std": v.std} for k, v in imp.main.items()])
    pairs = pd.DataFrame([{"pair": f"{p} x {q}", "importance": v.importance, "std": v.std}
                          for (p, q), v in list(imp.pairs.items())[:15]])
    total = sum(v.importance for v in imp.main.values()) + sum(v.importance for v in imp.pairs.values())
    out = [
        _section("importances", s, f"Importances{suffix}", [
            f"<p>fANOVA on {len(a.table.trials)} trials: fraction of the variance of {_e(name)} explained by each "
            f"parameter alone (mean +/- std across {imp.n_trees} trees). Main effects and pairs together explain "
            f"{total:.1%}; the rest is higher-order interactions.</p>", _note(a.note), _fig(figs, f"importance-{s}"),
            _table(main)]),
        _section("interactions", s, f"Interactions{suffix}", [
            "<p>Every pairwise interaction: the variance of the joint marginal of the pair beyond both main effects."
            "</p>", _fig(figs, f"interactions-{s}"), _table(pairs) if len(pairs) else _note("only one parameter")]),
        _section("surfaces", s, f"Marginal surfaces{suffix}", [
            "<p>For the most important pairs: the forest's prediction with every other parameter integrated out "
            "(not an interpolation of the raw trials); hover for the std across trees. Dots are trials.</p>",
            *[_fig(figs, f"surface-{s}-{k}") for k in range(1, TOP_SURFACES + 1)]] if len(imp.pairs) else
            [_note("needs at least two parameters")]),
        _section("slices", s, f"Slices{suffix}", [
            "<p>Each trial's value against one parameter, with the forest's main-effect marginal +/- std.</p>",
            _fig(figs, f"slices-{s}")]),
        _section("parallel", s, f"Parallel coordinates{suffix}", [
            "<p>Axes in the fitted scale (log10 for log parameters, labelled with values), most important first."
            "</p>", _fig(figs, f"parallel-{s}")]),
    ]
    return out + [_seed_section(a, figs, suffix)]


def _seed_section(a: TargetAnalysis, figs: dict[str, go.Figure], suffix: str) -> str:
    st, body = a.seeds, []
    if st.anova is not None:
        how = ", ".join(f"{f}: {h}" for f, h in st.factors.items())
        body += [f"<p>Type II ANOVA of {_e(a.target.name)} over {len(st.observations)} observations (one per seed); "
                 f"factors {_e(how)}. eta^2 = SS/SS_total, partial eta^2 = SS/(SS + SS_error), "
                 "omega^2 = (SS - df MS_error)/(SS_total + MS_error).</p>", _table(st.anova, index=True)]
    if st.posthoc is not None:
        body += ["<p>Post-hoc: Tukey HSD between the levels of each significant factor (family-wise alpha 0.05).</p>",
                 _table(st.posthoc)]
    body.append(_note(st.note))
    if st.configs is not None:
        body += [_fig(figs, f"configs-{a.slug}"), _table(st.configs.head(25))]
    return _section("seeds", a.slug, f"Seed statistics{suffix}", body)


def _convergence_section(result: AnalysisResult, figs: dict[str, go.Figure]) -> str:
    conv = result.convergence
    if conv is None:
        missing = _note(f"no trial stored learning curves (user attr {names.CURVES!r})")
        return _section("convergence", "", "Convergence patterns", [missing])
    counts = pd.DataFrame([conv.counts()])
    ref = f"; median final value {conv.reference:.4g}" if conv.reference is not None else ""
    early = [a.early for a in result.targets if a.early is not None and a.early.epochs]
    rows = [{"target": e.target, "curve": e.curve, "epoch": e.epochs[i], "rho": e.rho[i], "n": e.n[i]}
            for e in early for i in sorted(set(np.linspace(0, len(e.epochs) - 1, 12).round().astype(int)))]
    return _section("convergence", "", "Convergence patterns", [
        f"<p>Classified curve: <code>{_e(conv.curve)}</code> of {len(conv.classes)} trials{_e(ref)}.</p>",
        "<p>Rule: " + re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", _e(RULE)) + "</p>", _table(counts), _fig(figs, "convergence"),
        "<p>Early epochs as predictors: Spearman rank correlation between the curve at each epoch and the final "
        "target, over complete trials.</p>", _fig(figs, "early"),
        _table(pd.DataFrame(rows)) if rows else _note("fewer than 3 complete trials with curves")])


def _tradeoff_section(result: AnalysisResult, figs: dict[str, go.Figure]) -> str:
    if not result.tradeoffs:
        return _section("tradeoffs", "", "Trade-offs", [_note("no two objectives or stored metrics with a known "
                                                              "direction vary across complete trials")])
    body = ["<p>Pareto fronts: trials no other trial beats on both quantities.</p>"]
    for k, d in enumerate(result.tradeoffs, start=1):
        body += [_fig(figs, f"pareto-{k}"), f"<p>Front of {_e(d.x_name)} vs {_e(d.y_name)}: trials "
                 f"{_e(', '.join(str(n) for n in d.front_numbers))}.</p>"]
    return _section("tradeoffs", "", "Trade-offs", body)


def _method(result: AnalysisResult) -> str:
    first = next((a for a in result.targets if a.importances is not None), None)
    trees = first.importances.n_trees if first and first.importances else 0
    return _section("method", "", "Method", [
        "<p>Functional ANOVA (Hutter, Hoos &amp; Leyton-Brown 2014) on a scikit-learn random forest "
        f"({trees} trees). Each parameter is fitted and integrated in the scale it is searched in: log10 of the value "
        "for log distributions, integers and stepped floats as unit cells, categoricals as index codes with each "
        "category a unit-width cell. Importances are fractions of each tree's total variance, averaged over trees; "
        "+/- is the std across trees.</p>"])


def write_report(result: AnalysisResult, figs: dict[str, go.Figure]) -> Path:
    """Write ``result.report_path``: one HTML file with plotly.js inlined (no network needed)."""
    multi = len(result.targets) > 1
    sections = [_section("summary", "", "Summary", [_summary(result)])]
    for a in result.targets:
        sections += _target_sections(a, figs, multi)
    sections += [_convergence_section(result, figs), _tradeoff_section(result, figs), _method(result)]
    nav = " ".join(f'<a href="#{k}">{k}</a>' for k in ("summary", "convergence", "tradeoffs", "method"))
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>genstudy analysis: {_e(result.study_name)}"
            f"</title><style>{_CSS}</style>\n<script type=\"text/javascript\">{get_plotlyjs()}</script></head>\n<body>"
            f"<h1>genstudy analysis of {_e(result.study_name)}</h1><nav>{nav}</nav>\n" + "\n".join(sections) +
            "\n</body></html>\n")
    result.report_path.write_text(page, encoding="utf-8")
    return result.report_path
