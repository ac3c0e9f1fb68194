"""Plain-text and markdown summaries of an analysis: the CLI table and the dashboard note."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genstudy.analysis._convergence import RULE

if TYPE_CHECKING:
    from genstudy.analysis._analyze import AnalysisResult

__all__ = ["format_importances_table", "summary_markdown"]

TOP_PAIRS = 10


Row = tuple[str, str, str, str]


def _rows(result: AnalysisResult, top_pairs: int) -> list[tuple[str, list[Row], list[Row]]]:
    out = []
    for a in result.targets:
        head = f"{a.target.name} ({a.target.direction or 'direction unknown'}): {len(a.table.trials)} trials"
        main: list[Row] = []
        pairs: list[Row] = []
        if a.importances is not None:
            main = [(str(i), name, f"{v.importance:.3f}", f"{v.std:.3f}")
                    for i, (name, v) in enumerate(a.importances.main.items(), start=1)]
            pairs = [(str(i), f"{p} x {q}", f"{v.importance:.3f}", f"{v.std:.3f}")
                     for i, ((p, q), v) in enumerate(list(a.importances.pairs.items())[:top_pairs], start=1)]
        out.append((head + (f"; {a.note}" if a.note else ""), main, pairs))
    return out


def format_importances_table(result: AnalysisResult, *, top_pairs: int = TOP_PAIRS) -> str:
    """Ranked importances per target as an aligned text table: main effects, then the top pairs."""
    blocks = []
    for head, main, pairs in _rows(result, top_pairs):
        lines = [head]
        if main:
            header = ("rank", "param", "importance", "std")
            widths = [max(len(header[c]), *(len(r[c]) for r in main + pairs)) for c in range(4)]

            def fmt(row: Row, widths: list[int] = widths) -> str:
                cells = enumerate(zip(row, widths, strict=True))
                return "  ".join(s.ljust(w) if c == 1 else s.rjust(w) for c, (s, w) in cells).rstrip()

            lines += [fmt(header), fmt(("-" * widths[0], "-" * widths[1], "-" * widths[2], "-" * widths[3]))]
            lines += [fmt(r) for r in main]
            if pairs:
                lines += ["pairs:"] + [fmt(r) for r in pairs]
        blocks.append("\n".join(lines))
    footer = f"report: {result.report_path}\nimportances: {result.importances_path}"
    return "\n\n".join(blocks + [footer])


def summary_markdown(result: AnalysisResult) -> str:
    """The short markdown note saved into the study for optuna-dashboard."""
    lines = [f"## genstudy analysis of {result.study_name}", ""]
    for a in result.targets:
        lines.append(f"**{a.target.name}** ({a.target.direction or 'direction unknown'}), {len(a.table.trials)} "
                     "complete trials" + (f"; {a.note}" if a.note else ""))
        lines.append("")
        if a.importances is not None:
            lines += ["| param | importance | std |", "| --- | ---: | ---: |"]
            lines += [f"| {k} | {v.importance:.3f} | {v.std:.3f} |" for k, v in a.importances.main.items()]
            lines += [f"| {p} x {q} | {v.importance:.3f} | {v.std:.3f} |"
                      for (p, q), v in list(a.importances.pairs.items())[:5]]
            lines.append("")
        if a.seeds.anova is not None:
            top = a.seeds.anova.drop(index="Residual").sort_values("eta2", ascending=False).head(3)
            lines.append("ANOVA (type II): " + "; ".join(
                f"{k}: eta^2 {r.eta2:.2f}, omega^2 {r.omega2:.2f}, p {r.p:.3g}" for k, r in top.iterrows()))
            lines.append("")
    if result.convergence is not None:
        counts = ", ".join(f"{k} {v}" for k, v in result.convergence.counts().items() if v)
        lines += [f"Convergence of `{result.convergence.curve}`: {counts}.", "", f"Rule: {RULE}", ""]
    for d in result.tradeoffs:
        lines.append(f"Pareto front of {d.x_name} vs {d.y_name}: trials {', '.join(map(str, d.front_numbers))}")
    lines += ["", "Figures: the genstudy-* plots of this study; the full report is the report.html "
              "`genstudy analyze` wrote."]
    return "\n".join(lines).strip() + "\n"
