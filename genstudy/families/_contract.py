"""The family contract: what a model family implements so that genstudy can tune it.

A family is one self-describing unit: a class that declares its params and metrics beside the
code that trains and evaluates the model. genstudy does the rest for every family alike: spec
validation, sampling params, repeats (seeds in lockstep), per-epoch pruning, divergence
handling, epoch checkpoints and bit-exact resume after a killed worker, user attrs, artifacts,
analysis. See docs/families.md for a walk-through and examples/ for a complete plug-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from genstudy.schema import MetricDef, ParamDef

if TYPE_CHECKING:
    from genstudy.families._context import EvalContext
    from genstudy.spec import StudySpec

__all__ = ["Family"]


class Family:
    """Base class of every model family (the built-in ones and plug-ins alike).

    Declare, as class attributes:

    - ``name``: a short name for logs (the spec names the family by its registry name or its
      import path ``package.module:Class``);
    - ``params``: a tuple of ``ParamDef`` (type, default, range or choices, help); genstudy adds
      ``epochs`` (default: the spec's ``budget.epochs``) when the family does not declare it;
    - ``metrics``: a tuple of ``MetricDef`` (direction, help, and ``needs=("classifier",)`` for a
      metric computed in the domain classifier's space); genstudy adds ``train_seconds``;
    - ``table_metrics`` (optional): metrics shown in the results table after the study's own.

    Implement, with no optuna in sight (genstudy calls them; ``params`` holds every declared
    param's value for the trial):

    - ``build(params, seed)``: a fresh "run" for one seed. The run is a dataclass whose fields
      are ``torch.nn.Module``, ``torch.optim.Optimizer``, ``torch.Generator``, plain numbers,
      strings or None: genstudy saves and restores exactly those fields for epoch checkpoints,
      so any state the training needs must live there (seed every random draw from a field's
      ``torch.Generator`` for a bit-exact resume).
    - ``train_epoch(run, params)``: one epoch; returns its mean training losses by name (the
      learning curves). Raise ``DivergedError`` (``genstudy.families``) when training diverged;
      ``check_divergence`` applies genstudy's rules.
    - ``validate(run, params, metric)``: per-epoch held-out curves (``{"val_loss": ...}``) and a
      cheap value of ``metric`` (the study's first metric) in that metric's direction, on the
      validation split only; it drives pruning.
    - ``evaluate(run, params, seed)``: the final metrics by name (every declared metric the
      trial can compute; at least the study's).

    Optional: ``attrs(params)`` (constant user attrs describing estimators) and
    ``artifacts(run, params, out_dir)`` (files to keep with the trial: ``[(path, mimetype)]``).

    ``self.spec`` is the study spec and ``self.ctx`` the ``EvalContext``: the dataset on the
    trial's device (``ctx.dataset``), ``ctx.device``, ``ctx.precision``, and the domain
    classifier when one of the study's metrics needs it.
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[ParamDef, ...]] = ()
    metrics: ClassVar[tuple[MetricDef, ...]] = ()
    table_metrics: ClassVar[tuple[str, ...]] = ()

    REQUIRED: ClassVar[tuple[str, ...]] = ("build", "train_epoch", "validate", "evaluate")

    def __init__(self, spec: StudySpec, context: EvalContext) -> None:
        self.spec = spec
        self.ctx = context

    def build(self, params: dict[str, Any], seed: int) -> Any:
        raise NotImplementedError

    def train_epoch(self, run: Any, params: dict[str, Any]) -> dict[str, float]:
        raise NotImplementedError

    def validate(self, run: Any, params: dict[str, Any], metric: str) -> tuple[dict[str, float], float]:
        raise NotImplementedError

    def evaluate(self, run: Any, params: dict[str, Any], seed: int) -> dict[str, float]:
        raise NotImplementedError

    def attrs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    def artifacts(self, run: Any, params: dict[str, Any], out_dir: Path) -> list[tuple[Path, str]]:
        return []
