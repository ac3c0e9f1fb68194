"""The one registry of model families: built-in names, plug-in entry points, import paths.

A spec's ``objective`` is resolved here, in this order:

1. ``package.module:Class``: an import path (any class implementing ``genstudy.families.Family``);
2. a built-in name from ``BUILTIN`` (each an import path, registered exactly as a plug-in is);
3. a name a plug-in package registers under the entry-point group ``genstudy.families``
   (``[project.entry-points."genstudy.families"] my_gan = "mypkg.models:MyGan"``).

Every family is checked when resolved (the contract's methods, its declared params and metrics),
and a problem is one ``FamilyError`` line naming the import path and what is wrong.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from importlib.metadata import entry_points

from genstudy import names
from genstudy.errors import GenstudyError
from genstudy.families._contract import Family
from genstudy.schema import MetricDef, ObjectiveDef, ParamDef, definition_problems

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "FamilyError", "family_def", "known_families", "resolve_family"]

ENTRY_POINT_GROUP = "genstudy.families"

# The built-in families: one line each, an import path as a plug-in's entry point gives it.
BUILTIN: dict[str, str] = {
    "vae": "genstudy.families.vae:VaeFamily",
    "gan": "genstudy.families.gan:GanFamily",
    "cgan": "genstudy.families.gan:CganFamily",
    "gan_ae": "genstudy.families.gan_ae:GanAeFamily",
}

# Added to every family that does not declare its own (StudyObjective uses both).
EPOCHS = ParamDef("epochs", int, None, "training epochs (default: budget.epochs)", 1, 100_000)
TRAIN_SECONDS = MetricDef(names.TRAIN_SECONDS, "minimize", "wall time spent training, per seed")
# Names a metric may not take: genstudy stores these user attrs beside the metrics.
_RESERVED = {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)} - {names.TRAIN_SECONDS}


class FamilyError(GenstudyError):
    """A family that cannot be found, imported or used: ``path`` (its import path, or the name
    looked up) and ``reason`` (what is wrong and the fix)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path, self.reason = path, reason


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_families() -> dict[str, str]:
    """Every family name a spec may use -> its import path (built-ins first, then plug-ins)."""
    return {**_entry_points(), **BUILTIN}


@cache
def resolve_family(ref: str) -> type[Family]:
    """The family class ``ref`` names (a registered name or ``package.module:Class``), checked."""
    if not isinstance(ref, str) or not ref.strip():
        raise FamilyError(repr(ref), f"is not a family; use one of {sorted(known_families())} or package.module:Class")
    path = ref if ":" in ref else BUILTIN.get(ref) or _entry_points().get(ref)
    if path is None:
        raise FamilyError(repr(ref), f"is not a known family; use one of {sorted(known_families())}, or an import path "
                          "package.module:Class, or register it under the entry-point group genstudy.families")
    cls = _import(path)
    problems = _contract_problems(cls)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FamilyError(path, f"does not implement the family contract: {problems[0]}{more}")
    return cls


def _import(path: str) -> type:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise FamilyError(repr(path), "is not an import path; write package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - an import error of any kind is the user's to see, in one line
        raise FamilyError(path, f"cannot be imported ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                          "install its package in this environment or fix the import path") from None
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise FamilyError(path, f"cannot be found: module {module_name} has no attribute {attr}; check the class name")
    if not inspect.isclass(obj):
        raise FamilyError(path, f"is not a class (it is of type {type(obj).__name__}); point it at the family class")
    return obj


def _contract_problems(cls: type) -> list[str]:
    if not issubclass(cls, Family):
        return [f"{cls.__name__} does not subclass genstudy.families.Family; write class {cls.__name__}(Family)"]
    problems = [f"method {m}() is missing" for m in Family.REQUIRED if getattr(cls, m) is getattr(Family, m)]
    params, metrics = getattr(cls, "params", None), getattr(cls, "metrics", None)
    problems += definition_problems(params, metrics)
    if not problems:
        problems += [f"metric name {m.name!r} is reserved for what genstudy stores beside metrics; rename it"
                     for m in metrics if m.name in _RESERVED or m.name.startswith(names.VAL_PREFIX)]
    return problems


@cache
def family_def(ref: str) -> ObjectiveDef:
    """The params and metrics of family ``ref`` by name, with genstudy's own additions."""
    cls = resolve_family(ref)
    params = {p.name: p for p in cls.params}
    params.setdefault(EPOCHS.name, EPOCHS)
    metrics = {m.name: m for m in cls.metrics}
    metrics.setdefault(TRAIN_SECONDS.name, TRAIN_SECONDS)
    table = tuple(getattr(cls, "table_metrics", ()) or ())
    return ObjectiveDef(name=ref, params=params, metrics=metrics, table_metrics=table)
