"""Model families: one self-describing unit each, built-in or plug-in alike.

What a family author needs (see docs/families.md):

- ``Family``: the contract to subclass; ``ParamDef`` and ``MetricDef`` to declare params and
  metrics beside the code;
- ``EvalContext``: what a trial sees (the dataset on its device, the classifier when needed);
- training helpers genstudy's own families use: ``adam``, ``autocast``, ``grad_norm``,
  ``check_divergence`` and ``DivergedError``; ``save_grid``, ``save_pairs_grid`` and
  ``save_checkpoint_artifact`` for artifacts; ``sample_metrics`` for generated images.

``resolve_family`` turns a spec's ``objective`` (a registered name or ``package.module:Class``)
into the checked family class; ``family_def`` gives its params and metrics by name. Importing
this package does not import torch; the helpers are loaded on first use.
"""

from __future__ import annotations

from typing import Any

from genstudy.families._contract import Family
from genstudy.families._registry import BUILTIN, ENTRY_POINT_GROUP, FamilyError, family_def, known_families, resolve_family
from genstudy.schema import MetricDef, ParamDef

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "DivergedError",
    "EvalContext",
    "Family",
    "FamilyError",
    "MetricDef",
    "ParamDef",
    "adam",
    "autocast",
    "check_divergence",
    "family_def",
    "grad_norm",
    "known_families",
    "resolve_family",
    "sample_metrics",
    "save_checkpoint_artifact",
    "save_grid",
    "save_pairs_grid",
]

_LAZY = {
    "EvalContext": "genstudy.families._context",
    "pick_device": "genstudy.families._context",
    "DivergedError": "genstudy.families._train",
    "adam": "genstudy.families._train",
    "autocast": "genstudy.families._train",
    "check_divergence": "genstudy.families._train",
    "grad_norm": "genstudy.families._train",
    "sample_metrics": "genstudy.families._samples",
    "save_checkpoint_artifact": "genstudy.families._images",
    "save_grid": "genstudy.families._images",
    "save_pairs_grid": "genstudy.families._images",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
