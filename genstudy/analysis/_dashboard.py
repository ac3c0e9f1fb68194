"""Save the analysis into the study for optuna-dashboard: its figures and a markdown note.

optuna-dashboard (0.21) shows a study's note (``save_note``) and any plotly figures saved with
``save_plotly_graph_object``; both live in the study's system attrs, so this is the one write
the analysis makes, and it never touches trials. Saved figures keep stable ids
(``genstudy-<figure>``), so a new analysis replaces the previous one's; the note keeps whatever
a user wrote outside the genstudy block.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import optuna
import plotly.graph_objects as go
from optuna_dashboard import get_note, save_note, save_plotly_graph_object

from genstudy.analysis._text import summary_markdown

if TYPE_CHECKING:
    from genstudy.analysis._analyze import AnalysisResult

__all__ = ["END_MARK", "ID_PREFIX", "merge_note", "save_to_dashboard"]

_log = logging.getLogger(__name__)

ID_PREFIX = "genstudy-"
END_MARK = "_(end of the genstudy analysis)_"
START_MARK = "## genstudy analysis of "
# The dashboard draws its own slice and parallel-coordinate plots from the trials.
_SKIP = ("slices-", "parallel-")


def merge_note(old: str, block: str) -> str:
    """``old`` with its genstudy block replaced by ``block`` (appended when it has none)."""
    block = block.rstrip() + "\n\n" + END_MARK + "\n"
    start = old.find(START_MARK)
    if start < 0:
        return (old.rstrip() + "\n\n" + block) if old.strip() else block
    end = old.find(END_MARK, start)
    tail = old[end + len(END_MARK):] if end >= 0 else ""
    return old[:start] + block + tail.lstrip("\n")


def save_to_dashboard(study: optuna.Study, result: AnalysisResult, figures: Mapping[str, go.Figure]) -> list[str]:
    """Save ``figures`` (except slices and parallel coordinates) and the summary note into ``study``."""
    ids = []
    for key, fig in figures.items():
        if key.startswith(_SKIP):
            continue
        ids.append(save_plotly_graph_object(study, fig, graph_object_id=ID_PREFIX + key))
    save_note(study, merge_note(get_note(study), summary_markdown(result)))
    _log.info("saved %d figures and the summary note into study %s for optuna-dashboard", len(ids), study.study_name)
    return ids
