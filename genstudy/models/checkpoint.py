"""Checkpoints that load back with ``torch.load(..., weights_only=True)``.

A checkpoint is one dict of plain types and tensors, never a pickled object::

    {"format": "genstudy-checkpoint/1",
     "config": {"class": "GANConfig", "fields": {"image_shape": [1, 28, 28], ...}},
     "modules": {"generator": <state dict>, "discriminator": <state dict>},
     "extra": {...}}          # optional user values: plain types and tensors only

The config class is looked up by name among the config dataclasses marked ``@checkpointable``
(every model module marks its own, a plug-in family's model too), so loading never executes stored
code; a config of another class is refused when saving.
"""

from __future__ import annotations

import dataclasses
import io
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["CONFIG_CLASSES", "Checkpoint", "checkpointable", "config_from_dict", "config_to_dict", "load_checkpoint",
           "save_checkpoint"]

FORMAT = "genstudy-checkpoint/1"
CONFIG_CLASSES: dict[str, type] = {}  # class name -> config dataclass, filled by @checkpointable
PathOrBuffer = str | os.PathLike[str] | io.BytesIO


def checkpointable(cls: type) -> type:
    """Class decorator: checkpoints may store and load configs of this dataclass (by class name).

    Loading refuses every class not marked so; two different classes may not share a name.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"@checkpointable needs a dataclass, got {cls.__qualname__}")
    known = CONFIG_CLASSES.get(cls.__name__)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"config class name {cls.__name__} is taken by {known.__module__}.{known.__qualname__}; "
                         "rename one of the two")
    CONFIG_CLASSES[cls.__name__] = cls
    return cls


def config_to_dict(config: Any) -> dict[str, Any]:
    """``{"class": name, "fields": {...}}`` with tuples as lists: what ``weights_only`` accepts."""
    name = type(config).__name__
    if not dataclasses.is_dataclass(config) or CONFIG_CLASSES.get(name) is not type(config):
        raise ValueError(f"cannot store config of type {type(config).__name__}; use one of {', '.join(CONFIG_CLASSES)}")
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    return {"class": name, "fields": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def config_from_dict(data: dict[str, Any]) -> Any:
    """The config object back from ``config_to_dict``; unknown classes or fields raise ValueError."""
    name = data.get("class")
    if name not in CONFIG_CLASSES:
        raise ValueError(f"unknown config class {name!r} in checkpoint; known: {', '.join(CONFIG_CLASSES)} (import the "
                         "module of the model family that wrote it first)")
    cls = CONFIG_CLASSES[name]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data["fields"]) - known)
    if unknown:
        raise ValueError(f"checkpoint config {name} has unknown fields {unknown}; it was written by another version")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["fields"].items()})


@dataclass(frozen=True)
class Checkpoint:
    config: Any  # the model config object (a @checkpointable dataclass: GANConfig, VAEConfig, ...)
    state_dicts: dict[str, dict[str, torch.Tensor]]  # module name -> state dict
    extra: dict[str, Any] = field(default_factory=dict)

    def load_into(self, modules: dict[str, nn.Module]) -> None:
        """Load every stored state dict into the module of the same name (strict)."""
        missing, unexpected = sorted(set(self.state_dicts) - set(modules)), sorted(set(modules) - set(self.state_dicts))
        if missing or unexpected:
            raise ValueError(
                f"checkpoint holds modules {sorted(self.state_dicts)}, got {sorted(modules)}; "
                f"missing {missing}, not in checkpoint {unexpected}"
            )
        for name, module in modules.items():
            module.load_state_dict(self.state_dicts[name])


def save_checkpoint(
    path_or_buffer: PathOrBuffer,
    modules: dict[str, nn.Module],
    config: Any,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the modules' state dicts and the config (as plain types) to a file or buffer."""
    if not modules:
        raise ValueError("save_checkpoint needs at least one module, e.g. {'generator': generator}")
    payload = {
        "format": FORMAT,
        "config": config_to_dict(config),
        "modules": {name: m.state_dict() for name, m in modules.items()},
        "extra": dict(extra or {}),
    }
    torch.save(payload, path_or_buffer)


def load_checkpoint(
    path_or_buffer: PathOrBuffer,
    modules: dict[str, nn.Module] | None = None,
    *,
    map_location: str | torch.device | None = "cpu",
) -> Checkpoint:
    """Read a checkpoint with ``weights_only=True``; load it into ``modules`` when given.

    Without modules, build them from the returned config, then ``checkpoint.load_into(...)``.
    Tensors land on ``map_location`` (CPU by default); ``load_state_dict`` copies them onto
    whatever device the modules live on.
    """
    if isinstance(path_or_buffer, io.BytesIO):
        path_or_buffer.seek(0)
    payload = torch.load(path_or_buffer, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"not a genstudy checkpoint (expected format {FORMAT!r})")
    ckpt = Checkpoint(config_from_dict(payload["config"]), payload["modules"], payload.get("extra", {}))
    if modules is not None:
        ckpt.load_into(modules)
    return ckpt
