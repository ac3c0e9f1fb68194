"""Spec validation: good specs load; every mistake is one line naming file, key, value, fix."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from genstudy.errors import SpecError
from genstudy.spec import load_spec, spec_digest
from tests.conftest import REPO, TINY_SPEC


def test_quickstart_spec_loads_with_defaults_filled() -> None:
    spec = load_spec(REPO / "studies" / "quickstart.yaml")
    assert spec.objective == "vae" and spec.dataset == "mnist5k"
    assert spec.directions == ["minimize"]
    resolved = spec.resolved()
    assert resolved["search_space"]["lr"] == {"type": "float", "low": 1e-4, "high": 3e-3, "log": True, "step": None}
    assert resolved["sampler"]["name"] == "tpe"


def test_digest_ignores_key_order_but_not_values() -> None:
    a = {"x": 1, "y": {"a": 1, "b": 2}}
    assert spec_digest(a) == spec_digest({"y": {"b": 2, "a": 1}, "x": 1})
    assert spec_digest(a) != spec_digest({"x": 2, "y": {"a": 1, "b": 2}})


def test_directions_follow_metrics() -> None:
    spec = dict(TINY_SPEC, metrics=["fid", "log_likelihood"], pruner={"name": "none"})
    from genstudy.spec import parse_spec

    assert parse_spec(spec).directions == ["minimize", "maximize"]


def _mutated(**changes) -> dict:
    data = copy.deepcopy(TINY_SPEC)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        if value is _DELETE:
            node.pop(last)
        else:
            node[last] = value
    return data


_DELETE = object()

CASES = [
    # (mutation, substrings the one-line message must contain)
    (dict(learning_rate=0.1), ["learning_rate", "unknown key", "search_space"]),
    (dict(budget__epoch=3), ["budget.epoch", "unknown key", "epochs"]),
    (dict(search_space__lr={"type": "float", "low": 1e-4, "high": 1e-2, "logscale": True}), ["search_space.lr", "logscale", "unknown key"]),
    (dict(search_space__lr={"type": "float", "low": 1e-2, "high": 1e-4, "log": True}), ["search_space.lr.low", "0.01", "swap"]),
    (dict(search_space__lr={"type": "float", "low": 0.0, "high": 1e-2, "log": True}), ["search_space.lr.low", "0.0", "> 0"]),
    (dict(search_space__lr={"type": "floot", "low": 1e-4, "high": 1e-2}), ["search_space.lr", "floot", "float, int or categorical"]),
    (dict(search_space__dropout={"type": "float", "low": 0.0, "high": 0.5}), ["search_space.dropout", "known params", "latent_dim"]),
    (dict(search_space__activation={"type": "categorical", "choices": ["relu", "swish"]}), ["choices[1]", "swish", "leaky_relu"]),
    (dict(search_space__latent_dim={"type": "float", "low": 2, "high": 8}), ["search_space.latent_dim.type", "int"]),
    (dict(fixed__batch_size=0), ["fixed.batch_size", "0", ">= 1"]),
    (dict(fixed__batch_size="big"), ["fixed.batch_size", "big", "number"]),
    (dict(fixed__lr=1e-3, search_space__lr={"type": "float", "low": 1e-4, "high": 1e-2}), ["fixed.lr", "search_space"]),
    (dict(objective="diffusion"), ["objective", "diffusion", "vae"]),
    (dict(dataset="imagenet"), ["dataset", "imagenet", "mnist5k"]),
    (dict(metrics=["fid", "bleu"]), ["metrics[1]", "bleu", "log_likelihood"]),
    (dict(metrics=["fid", "log_likelihood"], pruner={"name": "hyperband"}), ["pruner.name", "hyperband", "median or none"]),
    (dict(repeats=0), ["repeats", "0", "greater than or equal to 1"]),
    (dict(budget__epochs=10**9), ["budget.epochs", "1000000000", "less than or equal"]),
    (dict(sampler__name="cmaes"), ["sampler.name", "cmaes", "allowed values"]),
    (dict(sampler__name="grid"), ["search_space.lr", "step", "categorical"]),
    (dict(objective=_DELETE), ["objective", "missing"]),
]


@pytest.mark.parametrize(("mutation", "expected"), CASES, ids=[str(list(m)[0]) + str(i) for i, (m, _) in enumerate(CASES)])
def test_bad_spec_is_one_clear_line(write_spec, mutation: dict, expected: list[str]) -> None:
    path = write_spec(_mutated(**mutation))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("objective: vae\nsearch_space:\n  lr: {type: float, low: 1\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: not valid YAML at line \d+"):
        load_spec(path)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- objective: vae\n")
    with pytest.raises(SpecError, match="must be a YAML mapping"):
        load_spec(path)


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("objective: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def test_overrides_turn_a_preset_into_a_full_budget_run() -> None:
    spec = load_spec(REPO / "studies" / "quickstart.yaml", ["budget.epochs=30", "dataset=mnist", "fixed.width=64"])
    assert spec.budget.epochs == 30 and spec.dataset == "mnist" and spec.fixed["width"] == 64
    with pytest.raises(SpecError, match="budget.epochs: 0 is invalid"):
        load_spec(REPO / "studies" / "quickstart.yaml", ["budget.epochs=0"])
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        load_spec(REPO / "studies" / "quickstart.yaml", ["budget.epochs"])


@pytest.mark.parametrize("preset", sorted(p.name for p in (REPO / "studies").glob("*.yaml")))
def test_every_preset_is_a_valid_spec(preset: str) -> None:
    spec = load_spec(REPO / "studies" / preset)
    assert spec.dataset == "mnist5k"  # the small budget runs on embedded data
