"""Objects the Ray tests send to actors: defined at module level in a module every node imports
(``tests.workers.ray_helpers``), as a user's callbacks and objective factories must be."""

from __future__ import annotations

import os
import time
from pathlib import Path

import optuna


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    time.sleep(0.05)
    return x * x


def factory():
    """``objective_factory``: called once in each actor; no dataset or classifier is loaded."""
    return _objective


class AppendTrial:
    """An Optuna callback that records each trial to a file the test reads (state in an actor stays there)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        with self.path.open("a") as f:
            f.write(f"{trial.number} {trial.state.name} {os.getpid()}\n")


def _refuse() -> None:
    raise RuntimeError("not importable here (simulated)")


class Unbuildable:
    """Pickles on the driver, fails to unpickle in the actor: a factory from a module the node lacks."""

    def __reduce__(self):
        return (_refuse, ())

    def __call__(self):
        return _objective
