"""Figures of seed statistics, convergence and trade-offs (plotly); data from the sibling modules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genstudy.analysis._convergence import CLASSES, ConvergenceData, EarlyCorrelation
from genstudy.analysis._tradeoffs import ParetoData

__all__ = ["configs_figure", "convergence_figure", "early_figure", "pareto_figure"]

_LAYOUT = dict(template="none", margin=dict(l=60, r=20, t=60, b=50))
_CLASS_COLOURS = {"stable": "#2ca02c", "oscillating": "#ff7f0e", "premature plateau": "#9467bd", "diverged": "#d62728"}
MAX_CURVES = 60  # per class panel, to keep the report light


def configs_figure(configs: pd.DataFrame, target: str, *, top: int = 25) -> go.Figure:
    """Mean and confidence interval of the target per configuration, best first."""
    shown = configs.head(top).iloc[::-1]
    fig = go.Figure(go.Scatter(
        x=shown["mean"], y=shown["config"], mode="markers",
        error_x=dict(type="data", symmetric=False, array=(shown["ci_high"] - shown["mean"]).fillna(0),
                     arrayminus=(shown["mean"] - shown["ci_low"]).fillna(0)),
        text=[f"n = {n}" for n in shown["n"]], hoverinfo="x+y+text"))
    fig.update_layout(title=f"{target}: mean and 95% CI per configuration",
                      xaxis_title=f"{target} (best {len(shown)} shown)", height=max(300, 24 * len(shown) + 120),
                      yaxis=dict(automargin=True), **_LAYOUT)
    return fig


def convergence_figure(conv: ConvergenceData) -> go.Figure:
    """Learning curves in one panel per class, a sample of at most ``MAX_CURVES`` each."""
    counts = conv.counts()
    fig = make_subplots(rows=1, cols=len(CLASSES), shared_yaxes=False,
                        subplot_titles=[f"{c} ({counts[c]})" for c in CLASSES])
    for k, cls in enumerate(CLASSES):
        members = [i for i, c in enumerate(conv.classes) if c == cls]
        step = max(1, len(members) // MAX_CURVES)
        xs: list[float | None] = []
        ys: list[float | None] = []
        names: list[str | None] = []
        for i in members[::step][:MAX_CURVES]:  # one trace per class: curves apart by None gaps
            y = np.asarray(conv.curves[i], dtype=float)
            xs += [*range(1, len(y) + 1), None]
            ys += [*(float(v) if np.isfinite(v) else None for v in y), None]
            names += [f"trial {conv.numbers[i]} ({conv.states[i].lower()})"] * len(y) + [None]
        fig.add_scatter(x=xs, y=ys, text=names, mode="lines", row=1, col=k + 1, showlegend=False, hoverinfo="text+x+y",
                        line=dict(width=1, color=_CLASS_COLOURS[cls]), opacity=0.7, connectgaps=False, name=cls)
        fig.update_xaxes(title_text="epoch", row=1, col=k + 1)
    fig.update_yaxes(title_text=conv.curve, row=1, col=1)
    fig.update_layout(title=f"Learning curves ({conv.curve}) by convergence class", height=400,
                      **{**_LAYOUT, "margin": dict(l=60, r=20, t=90, b=50)})
    return fig


def early_figure(early: list[EarlyCorrelation]) -> go.Figure:
    """Spearman correlation of each epoch's curve value with the final target."""
    fig = go.Figure()
    for e in early:
        fig.add_scatter(x=e.epochs, y=e.rho, mode="lines+markers", name=f"{e.curve} vs final {e.target}",
                        text=[f"n = {n}" for n in e.n], hoverinfo="x+y+text+name")
    fig.add_hline(y=0, line=dict(color="#999", width=1))
    fig.update_layout(title="Early epochs vs the final value (Spearman rho)",
                      xaxis_title="epoch", yaxis=dict(title="rho", range=[-1.05, 1.05]), height=360, **_LAYOUT)
    return fig


def pareto_figure(data: ParetoData) -> go.Figure:
    """All complete trials on two quantities, the Pareto front highlighted and joined."""
    fig = go.Figure()
    rest = ~data.front
    fig.add_scatter(x=data.x[rest], y=data.y[rest], mode="markers", name="dominated",
                    marker=dict(color="#bbbbbb", size=6),
                    text=[f"trial {n}" for n, r in zip(data.numbers, rest, strict=True) if r], hoverinfo="text+x+y")
    order = np.argsort(data.x[data.front])
    fx, fy = data.x[data.front][order], data.y[data.front][order]
    fig.add_scatter(x=fx, y=fy, mode="lines+markers", name="Pareto front", line=dict(shape="hv", color="#d62728"),
                    marker=dict(size=8), text=[f"trial {n}" for n in np.array(data.front_numbers)[order]],
                    hoverinfo="text+x+y")
    fig.update_layout(title=f"Pareto front: {data.x_name} vs {data.y_name}",
                      xaxis_title=f"{data.x_name} ({data.x_direction})", yaxis_title=f"{data.y_name} ({data.y_direction})",
                      height=420, **_LAYOUT)
    return fig
