"""genstudy: hyperparameter studies of generative models on Optuna storage.

The Python API, the same as the command line::

    import genstudy

    outcome = genstudy.run("studies/quickstart.yaml", n_trials=4)        # genstudy run
    print(outcome.study.best_trial.params)
    genstudy.analyze(outcome.location, outcome.study.study_name, "reports/quickstart")  # genstudy analyze

- ``run``: attach a study to a spec (a YAML path, a dict or a ``StudySpec``) and run trials
  until it has ``n_trials`` finished ones, in this process or in Ray actors;
- ``load_spec``: read and validate a spec file, with ``KEY=VALUE`` overrides;
- ``analyze``: fANOVA importances, interactions, seed statistics, report.html;
- ``Family``: the contract a model family implements (``genstudy.families``);
- ``WorkerSettings``, ``RayOptions``, ``StudyOutcome``, ``StudySpec``: the types these take and return.

``import genstudy`` is cheap: torch, optuna and Ray are imported by the first call that needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from genstudy.analysis import AnalysisResult
    from genstudy.families import Family
    from genstudy.runner import StudyOutcome
    from genstudy.spec import StudySpec
    from genstudy.storage import TrialCounts
    from genstudy.workers import RayOptions, WorkerSettings

__all__ = [
    "Family",
    "RayOptions",
    "StudyOutcome",
    "StudySpec",
    "WorkerSettings",
    "__version__",
    "analyze",
    "load_spec",
    "run",
]

# name -> module it is imported from on first use (module __getattr__, PEP 562)
_LAZY = {
    "Family": "genstudy.families",
    "RayOptions": "genstudy.workers",
    "StudyOutcome": "genstudy.runner",
    "StudySpec": "genstudy.spec",
    "WorkerSettings": "genstudy.workers",
}


def run(
    spec: str | Path | Mapping[str, Any] | StudySpec,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    n_trials: int | None = None,
    create: bool = True,
    runs_dir: str | Path = "genstudy-runs",
    artifact_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    device: str = "auto",
    worker_index: int | None = 0,
    inception_weights: str | Path | None = None,
    ray: RayOptions | str | None = None,
    validate: tuple[int, int] | None = None,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] | None = None,
    progress: Callable[[optuna.Study, TrialCounts, int], None] | None = None,
    objective_factory: Callable[[], Callable[[optuna.Trial], Any]] | None = None,
) -> StudyOutcome:
    """Run the study of ``spec`` until it has ``n_trials`` finished (COMPLETE or PRUNED) trials.

    ``spec``: a YAML file, a dict of the same keys, or a ``StudySpec``. ``storage``: a
    ``postgresql://`` / ``sqlite:///`` URL or a journal file (default: ``runs_dir/STUDY.journal``).
    ``study_name`` defaults to the spec file's name, or the spec's objective. ``n_trials`` counts
    the whole study (every worker's trials; default ``budget.n_trials``). ``create=False`` joins
    a study that must exist already (``optuna create-study``), as ``genstudy worker`` does.

    ``ray``: ``None`` runs the trials here, one at a time; an address (``"local"``, ``"auto"``,
    ``"HOST:PORT"``) or ``RayOptions`` runs them in Ray actors, one per trial slot.
    ``validate=(top, seeds)`` re-runs the ``top`` best configurations with ``seeds`` fresh seeds.

    ``callbacks``: Optuna callbacks ``callback(study, frozen_trial)``, called after every trial
    this run's workers finish. With Ray they run in the actors, so they must be picklable (a
    module-level function or class instance) and whatever they record must go somewhere the
    caller can read (the storage, a file): state kept in the callback object stays in the actor.
    ``progress(study, counts, target)`` is called in this process before each trial.
    ``objective_factory()``, when given, builds ``objective(trial)`` in each worker in place of
    the spec's model family. Returns the ``StudyOutcome`` (the study, counts, storage, artifacts).
    """
    from genstudy.runner import run_study
    from genstudy.workers import RayOptions, WorkerSettings

    parsed, default_name = _spec_of(spec)
    if isinstance(ray, str):
        ray = None if ray == "none" else RayOptions(address=ray)
    settings = WorkerSettings(
        spec=parsed, study_name=study_name or default_name, storage=storage, n_trials=n_trials, create=create,
        runs_dir=runs_dir, artifact_dir=artifact_dir, data_dir=data_dir, device=device, worker_index=worker_index,
        inception_weights=inception_weights, log_level=logging.getLogger("genstudy").getEffectiveLevel(), ray=ray,
        validate=validate, callbacks=tuple(callbacks or ()), objective_factory=objective_factory,
    )
    return run_study(settings, progress=progress)


def load_spec(path: str | Path, overrides: Sequence[str] | None = None) -> StudySpec:
    """Read and validate the spec at ``path``; ``overrides`` are ``KEY=VALUE`` strings
    (``budget.epochs=30``) applied first. Every problem is a ``genstudy.errors.SpecError``."""
    from genstudy.spec import load_spec as _load

    return _load(path, list(overrides) if overrides is not None else None)


def analyze(storage: str, study_name: str, out_dir: str | Path, *, target: str | None = None,
            to_dashboard: bool = False) -> AnalysisResult:
    """Analyse a study (read only): write ``out_dir/report.html`` and ``out_dir/importances.json``.

    ``target``: the objective or stored metric to explain (default: the objective values).
    ``to_dashboard`` also saves the figures and a summary note into the study for optuna-dashboard.
    """
    from genstudy.analysis import analyze_study

    return analyze_study(storage=storage, study_name=study_name, out_dir=Path(out_dir), target=target,
                         to_dashboard=to_dashboard)


def _spec_of(spec: str | Path | Mapping[str, Any] | StudySpec) -> tuple[StudySpec, str]:
    """The validated spec and the study name it suggests."""
    from genstudy.spec import StudySpec, parse_spec
    from genstudy.spec import load_spec as _load

    if isinstance(spec, StudySpec):
        return spec, spec.objective
    if isinstance(spec, Mapping):
        parsed = parse_spec(dict(spec), source="genstudy.run(spec=...)")
        return parsed, parsed.objective
    if isinstance(spec, (str, Path)):
        return _load(spec), Path(spec).stem
    from genstudy.errors import SpecError

    raise SpecError(f"genstudy.run(spec={type(spec).__name__}): pass a YAML file path, a dict or a StudySpec")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genstudy")
    except PackageNotFoundError:  # a source tree on sys.path, not installed: read pyproject.toml
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _version()
    elif name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'genstudy' has no attribute {name!r}")
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
