"""Figures of importances and of the forest's marginals (plotly). Their data comes from
``_fanova`` and ``_marginals``; nothing here computes anything a test would need to check."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genstudy.analysis._fanova import FanovaResult
from genstudy.analysis._marginals import (
    MarginalCurve,
    MarginalSurface,
    ParallelData,
    Ticks,
    axis_ticks,
)
from genstudy.analysis._space import ParamAxis
from genstudy.analysis._trials import TrialTable

__all__ = ["importance_figure", "interaction_figure", "parallel_figure", "slices_figure", "surface_figure"]

_LAYOUT = dict(template="none", margin=dict(l=60, r=20, t=60, b=50))


def _tick_axis(ticks: Ticks | None, axis: ParamAxis) -> dict:
    out: dict = {"title": axis.label, "range": [axis.low, axis.high]}
    if ticks is not None:
        out.update(tickmode="array", tickvals=ticks.values, ticktext=ticks.text)
    return out


def importance_figure(result: FanovaResult, target: str, *, top_pairs: int = 10) -> go.Figure:
    """Horizontal bars: every main effect and the top pairwise interactions, error bars = std across trees."""
    rows = [(name, imp.importance, imp.std, "main effect") for name, imp in result.main.items()]
    top = list(result.pairs.items())[:top_pairs]
    rows += [(f"{a} x {b}", imp.importance, imp.std, "interaction") for (a, b), imp in top]
    rows.sort(key=lambda r: r[1])
    fig = go.Figure()
    for kind, colour in (("main effect", "#1f77b4"), ("interaction", "#ff7f0e")):
        sel = [r for r in rows if r[3] == kind]
        fig.add_bar(y=[r[0] for r in sel], x=[r[1] for r in sel], error_x=dict(type="data", array=[r[2] for r in sel]),
                    orientation="h", name=kind, marker_color=colour)
    fig.update_layout(title=f"fANOVA importance of {target}", barmode="overlay", height=max(300, 28 * len(rows) + 120),
                      xaxis_title=f"fraction of variance (error bars: std across {result.n_trees} trees)",
                      yaxis=dict(categoryorder="array", categoryarray=[r[0] for r in rows], automargin=True), **_LAYOUT)
    return fig


def interaction_figure(result: FanovaResult, target: str) -> go.Figure:
    """Heatmap of every pairwise interaction (off the diagonal) and main effect (on it)."""
    names = list(result.names)
    n = len(names)
    z = np.full((n, n), np.nan)
    text = [["" for _ in names] for _ in names]
    for i, name in enumerate(names):
        imp = result.main[name]
        z[i, i] = imp.importance
        text[i][i] = f"main {imp.importance:.3f} +/- {imp.std:.3f}"
    for (a, b), imp in result.pairs.items():
        i, j = names.index(a), names.index(b)
        z[i, j] = z[j, i] = imp.importance
        text[i][j] = text[j][i] = f"{a} x {b}: {imp.importance:.3f} +/- {imp.std:.3f}"
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, text=text, hoverinfo="text", colorscale="Viridis", zmin=0,
                               texttemplate="%{z:.2f}", colorbar=dict(title="fraction")))
    fig.update_layout(title=f"Interactions of {target} (diagonal: main effects)", height=max(350, 40 * n + 150),
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(automargin=True), **_LAYOUT)
    return fig


def surface_figure(surface: MarginalSurface, axes: dict[str, ParamAxis], table: TrialTable) -> go.Figure:
    """The forest's joint marginal of two params (other params integrated out), trials on top."""
    aa, ab = axes[surface.a], axes[surface.b]
    ja, jb = [a.name for a in table.axes].index(surface.a), [a.name for a in table.axes].index(surface.b)
    fig = go.Figure()
    fig.add_heatmap(x=surface.xb, y=surface.xa, z=surface.mean, colorscale="Viridis", zsmooth=False,
                    customdata=surface.std, colorbar=dict(title=table.target.name),
                    hovertemplate=f"{ab.label}=%{{x:.3g}}<br>{aa.label}=%{{y:.3g}}<br>mean %{{z:.4g}}"
                                  "<br>std across trees %{customdata:.3g}<extra></extra>")
    fig.add_scatter(x=table.x[:, jb], y=table.x[:, ja], mode="markers", name="trials",
                    marker=dict(size=5 if len(table.y) <= 300 else 3, color="white", opacity=0.8,
                                line=dict(width=1, color="black")),
                    text=[f"trial {n}: {v:.4g}" for n, v in zip(table.numbers, table.y, strict=True)], hoverinfo="text")
    fig.update_layout(title=f"fANOVA marginal of {table.target.name}: {surface.a} x {surface.b}",
                      xaxis=_tick_axis(axis_ticks(ab), ab), yaxis=_tick_axis(axis_ticks(aa), aa), height=480,
                      showlegend=False, **_LAYOUT)
    return fig


def slices_figure(curves: list[MarginalCurve], axes: dict[str, ParamAxis], table: TrialTable) -> go.Figure:
    """One panel per param: the trials' target against the param, and the forest's marginal +/- std."""
    cols = min(3, len(curves))
    rows = math.ceil(len(curves) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[axes[c.name].label for c in curves],
                        horizontal_spacing=0.08, vertical_spacing=0.12 if rows > 1 else 0.1)
    names = [a.name for a in table.axes]
    for k, c in enumerate(curves):
        r, col = k // cols + 1, k % cols + 1
        axis = axes[c.name]
        fig.add_scatter(x=table.x[:, names.index(c.name)], y=table.y, mode="markers", row=r, col=col, showlegend=k == 0,
                        name="trials", legendgroup="trials", marker=dict(size=4, color="#7f7f7f", opacity=0.6),
                        text=[f"trial {n}" for n in table.numbers], hoverinfo="text+y")
        fig.add_scatter(x=np.concatenate([c.x, c.x[::-1]]), y=np.concatenate([c.mean + c.std, (c.mean - c.std)[::-1]]),
                        fill="toself", line=dict(width=0), fillcolor="rgba(31,119,180,0.2)", hoverinfo="skip",
                        row=r, col=col, showlegend=False)
        fig.add_scatter(x=c.x, y=c.mean, mode="lines" if axis.kind != "categorical" else "lines+markers", row=r, col=col,
                        name="fANOVA marginal +/- std", legendgroup="marginal", showlegend=k == 0,
                        line=dict(color="#1f77b4"))
        ticks = axis_ticks(axis)
        xaxis: dict = {"range": [axis.low, axis.high]}
        if ticks is not None:
            xaxis.update(tickmode="array", tickvals=ticks.values, ticktext=ticks.text)
        fig.update_xaxes(row=r, col=col, **xaxis)
    fig.update_layout(title=f"Slices of {table.target.name}: trials and the forest's marginal", height=300 * rows + 100,
                      **{**_LAYOUT, "margin": dict(l=60, r=20, t=90, b=50)})
    return fig


def parallel_figure(data: ParallelData) -> go.Figure:
    """Parallel coordinates of the trials' params (fitted scale), coloured by the target."""
    dims = []
    for name, col, ticks, rng in zip(data.names, data.columns, data.ticks, data.ranges, strict=True):
        dim = dict(label=name, values=col, range=list(rng))
        if ticks is not None:
            dim.update(tickvals=ticks.values, ticktext=ticks.text)
        dims.append(dim)
    dims.append(dict(label=data.color_name, values=data.color))
    fig = go.Figure(go.Parcoords(line=dict(color=data.color, colorscale="Viridis", showscale=True,
                                           colorbar=dict(title=data.color_name)), dimensions=dims))
    fig.update_layout(title=f"Parallel coordinates (colour: {data.color_name})", height=450, **_LAYOUT)
    return fig
