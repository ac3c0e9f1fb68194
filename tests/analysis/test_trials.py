"""Which way a stored metric improves: the study's own family and directions, not a fixed table."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution

from genstudy import names
from genstudy.analysis import resolve_targets
from genstudy.analysis._trials import metric_direction, metric_directions
from tests.analysis.conftest import add_trials

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names


def _study(spec: dict, directions: list[str], attrs: dict[str, float]) -> optuna.Study:
    study = optuna.create_study(directions=directions)
    study.set_user_attr(names.SPEC, spec)
    add_trials(study, {"x": FloatDistribution(0, 1)}, lambda r: {"x": float(r.uniform())},
               lambda p: tuple(p["x"] for _ in directions), n=3, attrs=lambda p, i: attrs)
    return study


def test_directions_come_from_the_family_the_spec_names() -> None:
    vae = _study({"objective": "vae", "metrics": ["fid"]}, ["minimize"], {"ssim": 0.5, "loss_g": 1.0})
    gan = _study({"objective": "gan", "metrics": ["fid"]}, ["minimize"], {"ssim": 0.5, "loss_g": 1.0})
    # ssim is a VAE metric (reconstruction) that the GAN family does not declare; loss_g the other way round
    assert resolve_targets(vae, "ssim", vae.trials)[0].direction == "maximize"
    assert resolve_targets(gan, "ssim", gan.trials)[0].direction is None
    assert metric_direction("loss_g", metric_directions(gan)) == "minimize"
    assert "loss_g" not in metric_directions(vae)
    # held-out curves improve as their metric does
    assert metric_direction(f"{names.VAL_PREFIX}ssim", metric_directions(vae)) == "maximize"


def test_a_family_that_cannot_be_loaded_still_has_its_objectives_directions(caplog: pytest.LogCaptureFixture) -> None:
    study = _study({"objective": "no_such_pkg.models:Family", "metrics": ["sharpness"]}, ["maximize"], {"fid": 3.0})
    with caplog.at_level("INFO", logger="genstudy.analysis._trials"):
        known = metric_directions(study)
    assert known == {"sharpness": "maximize"}  # no built-in family's guess about a plug-in's metrics
    assert "no_such_pkg.models:Family" in caplog.text
    assert [(t.name, t.direction) for t in resolve_targets(study, None, study.trials)] == [("sharpness", "maximize")]
    assert resolve_targets(study, "fid", study.trials)[0].direction is None


def test_the_study_directions_win_over_the_family() -> None:
    # a study created with its own metric names and directions (not through a genstudy spec)
    study = optuna.create_study(directions=["minimize"])
    study.set_metric_names(["precision"])  # declared "maximize" by the built-in families
    assert metric_directions(study)["precision"] == "minimize"
    assert metric_directions(None)["precision"] == "maximize"
