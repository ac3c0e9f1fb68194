"""Checkpoints: plain types only, files and buffers, config round trip, clear refusals."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from genstudy.models import GANAE, GANAEConfig, GANConfig, Generator, VAEConfig, load_checkpoint, save_checkpoint
from genstudy.models.checkpoint import config_from_dict, config_to_dict


def _plain(obj: object) -> bool:
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_plain(v) for v in obj)
    return obj is None or isinstance(obj, (str, int, float, bool, torch.Tensor))


def test_file_holds_only_plain_types_and_round_trips_with_extra(tmp_path: Path) -> None:
    cfg = GANConfig((1, 8, 8), latent_dim=4, width=4, n_classes=3, arch="mlp")
    gen = Generator(cfg)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"generator": gen}, cfg, extra={"epoch": 3, "fid": 12.5, "seeds": [0, 1]})
    raw = torch.load(path, weights_only=True)
    assert _plain(raw)
    assert raw["config"] == {"class": "GANConfig", "fields": config_to_dict(cfg)["fields"]}
    assert raw["config"]["fields"]["image_shape"] == [1, 8, 8]

    fresh = Generator(cfg)
    ckpt = load_checkpoint(str(path), {"generator": fresh})
    assert ckpt.config == cfg and isinstance(ckpt.config.image_shape, tuple)
    assert ckpt.extra == {"epoch": 3, "fid": 12.5, "seeds": [0, 1]}
    for a, b in zip(gen.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "cfg",
    [GANConfig((3, 32, 32)), GANAEConfig((1, 28, 28), sigma=0.3, skip=True, noise="both"), VAEConfig((1, 8, 8))],
    ids=["gan", "gan_ae", "vae"],
)
def test_config_dict_round_trip(cfg: object) -> None:
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_wrong_module_names_are_refused_with_both_lists() -> None:
    model = GANAE(GANAEConfig((1, 8, 8), latent_dim=4, width=4))
    buf = io.BytesIO()
    save_checkpoint(buf, {"model": model}, model.config)
    with pytest.raises(ValueError, match=r"holds modules \['model'\], got \['gan_ae'\]"):
        load_checkpoint(buf, {"gan_ae": model})


def test_unknown_config_type_is_refused_when_saving() -> None:
    @dataclass(frozen=True)
    class OtherConfig:
        size: int = 1

    with pytest.raises(ValueError, match="cannot store config of type OtherConfig; use one of GANConfig"):
        save_checkpoint(io.BytesIO(), {"g": torch.nn.Linear(1, 1)}, OtherConfig())


def test_unknown_fields_and_foreign_files_are_refused_when_loading() -> None:
    data = config_to_dict(GANConfig((1, 8, 8)))
    data["fields"]["dropout"] = 0.5
    with pytest.raises(ValueError, match=r"unknown fields \['dropout'\]"):
        config_from_dict(data)
    buf = io.BytesIO()
    torch.save({"state_dict": {}}, buf)
    with pytest.raises(ValueError, match="not a genstudy checkpoint"):
        load_checkpoint(buf)
