"""Command-line edge only: a tqdm bar of the study and log lines routed through it."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    import optuna

    from genstudy.storage import TrialCounts

__all__ = ["StudyProgress", "TqdmLoggingHandler"]


class TqdmLoggingHandler(logging.Handler):
    """Writes log records with ``tqdm.write`` so they do not break the bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class StudyProgress:
    """A bar of study-wide finished trials / target with the best value so far."""

    def __init__(self, target: int, *, disable: bool = False) -> None:
        self.bar = tqdm(total=target, desc="trials", unit="trial", disable=disable, dynamic_ncols=True)

    def __call__(self, study: optuna.Study, counts: TrialCounts, target: int) -> None:
        self.bar.total = target
        self.bar.n = min(counts.finished, target)
        post = {"running": counts.running, "pruned": counts.pruned, "failed": counts.failed}
        if counts.complete:
            if len(study.directions) == 1:
                post["best"] = f"{study.best_value:.4g}"
            else:
                post["pareto"] = len(study.best_trials)
        self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
