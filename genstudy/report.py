"""The end-of-run results table: data (``results_rows``) apart from text (``format_table``)."""

from __future__ import annotations

import math
from typing import Any

import optuna

from genstudy import names
from genstudy.spec import StudySpec

__all__ = ["format_table", "metric_columns", "results_rows"]


def metric_columns(spec: StudySpec) -> tuple[str, ...]:
    """The metrics the table shows: the study's own (``spec.metrics``, in order), then the family's
    summary metrics (``spec.table_metrics``) that are not among them."""
    return tuple(dict.fromkeys([*spec.metrics, *(getattr(spec, "table_metrics", None) or ())]))


def results_rows(study: optuna.Study, spec: StudySpec) -> list[dict[str, Any]]:
    """One row per trial: number, searched params, the metric columns, state, reason."""
    metrics = metric_columns(spec)
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": t.number}
        for name in spec.search_space:
            row[name] = t.params.get(name)
        for m in metrics:
            row[m] = t.user_attrs.get(m)
        row["state"] = t.state.name
        reason = t.user_attrs.get(names.PRUNE_REASON) or t.user_attrs.get(names.FAIL_REASON)
        if names.VALIDATION_OF in t.user_attrs:
            seeds = t.user_attrs.get(names.VALIDATION_SEEDS) or ()
            reason = f"validation of trial {t.user_attrs[names.VALIDATION_OF]} ({len(seeds)} fresh seeds)"
        if reason:
            row["note"] = reason
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e5 else f"{value:.4g}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table (columns aligned, header underlined)."""
    if not rows:
        return "(no trials)"
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = lambda items: "  ".join(s.ljust(w) for s, w in zip(items, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])
