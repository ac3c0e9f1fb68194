"""optuna-dashboard in a real browser on a PostgreSQL study of finished GAN trials.

The study is made with the user's own commands (`genstudy run`, `genstudy analyze --to-dashboard`);
the dashboard is the plain `optuna-dashboard STORAGE --artifact-dir DIR` that docker-compose.yml
runs; headless Debian Chromium loads its pages. Screenshots stay in the test's tmp_path.
"""

from __future__ import annotations

import copy
import functools
import struct
from pathlib import Path

import optuna
import pytest
from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

from tests.conftest import BIN, TINY_SPEC, run_cli
from tests.deploy.servers import chromium, free_port, serving

pytestmark = [pytest.mark.postgres, pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")]

STUDY = "gan-browser"
N_TRIALS = 6  # fANOVA needs 5 complete trials for the importance figures
WAIT = 30  # seconds for a page to render


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def gan_spec() -> dict:
    spec = copy.deepcopy(TINY_SPEC)
    spec.update(objective="gan", budget={"epochs": 1, "n_trials": N_TRIALS}, sampler={"name": "random", "seed": 0},
                fixed={"width": 8, "batch_size": 64, "latent_dim": 8},
                search_space={"g_lr": {"type": "float", "low": 1e-4, "high": 1e-3, "log": True},
                              "d_lr": {"type": "float", "low": 1e-4, "high": 1e-3, "log": True}})
    return spec


def wait_for(driver, condition, what: str, *, shot: Path):
    """``condition(driver)`` once it is truthy; on time-out, a screenshot at ``shot`` and a failure."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.25).until(lambda d: condition(d))
    except TimeoutException:
        driver.save_screenshot(str(shot))
        pytest.fail(f"the dashboard did not show {what} within {WAIT} s; page text: {driver.find_element('tag name', 'body').text[:1500]}")


def test_dashboard_shows_trials_sample_grids_and_analysis_figures(pg_url: str, write_spec, tmp_path: Path) -> None:
    artifacts, report = tmp_path / "artifacts", tmp_path / "report"
    spec = write_spec(gan_spec(), name="gan.yaml")
    done = run_cli("run", str(spec), "--storage", pg_url, "--study-name", STUDY, "--artifact-dir", str(artifacts),
                   "--runs-dir", str(tmp_path / "runs"), "--ray-address", "none", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    analyzed = run_cli("analyze", "--storage", pg_url, "--study-name", STUDY, "--out", str(report), "--to-dashboard", cwd=tmp_path)
    assert analyzed.returncode == 0, analyzed.stderr[-3000:]

    study = optuna.load_study(study_name=STUDY, storage=pg_url)
    trials = study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * N_TRIALS
    figures = set(get_plotly_graph_objects(study._storage.get_study_system_attrs(study._study_id)))
    assert f"genstudy-importance-{gan_spec()['metrics'][0]}" in figures
    study_id = study._study_id

    port = free_port()
    argv = [str(BIN / "optuna-dashboard"), pg_url, "--artifact-dir", str(artifacts), "--host", "127.0.0.1", "--port", str(port)]
    with serving(argv, port, log=tmp_path / "dashboard.log") as base, chromium() as driver:
        wait = functools.partial(wait_for, driver, shot=tmp_path / "timeout.png")
        # The trial list: every trial, each with its state.
        driver.get(f"{base}/dashboard/studies/{study_id}/trials")
        wait(lambda d: f"{N_TRIALS} Trials" in d.find_element("tag name", "body").text, "the trial list")
        text = driver.find_element("tag name", "body").text
        assert all(f"Trial {t.number}\nComplete" in text for t in trials), text[:1000]

        # A trial's sample grid: the <img> of its samples.png artifact has loaded and decoded.
        best = study.best_trial
        driver.get(f"{base}/dashboard/studies/{study_id}/trials?numbers={best.number}")
        src = f"/artifacts/{study_id}/{best._trial_id}/{best.user_attrs['artifact:samples.png']}"
        img = wait(lambda d: next((i for i in d.find_elements("tag name", "img")
                                               if (i.get_attribute("src") or "").endswith(src)), None), "the sample grid")
        driver.execute_script("arguments[0].scrollIntoView()", img)
        loaded = wait(lambda d: d.execute_script(
            "const i = arguments[0]; return i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null", img),
            "a decoded sample grid")
        assert tuple(loaded) == png_size(artifacts / best.user_attrs["artifact:samples.png"])
        driver.save_screenshot(str(tmp_path / "trial.png"))

        # The study page draws every figure `genstudy analyze --to-dashboard` saved, with plotly.
        driver.set_window_size(1400, 2400)
        driver.get(f"{base}/dashboard/studies/{study_id}")
        drawn = wait(lambda d: (lambda ids: ids if ids >= figures else None)(
            {e.get_attribute("id").split(":", 1)[1] for e in d.find_elements("css selector", "[id^='user-defined-plot:']")
             if e.find_elements("css selector", ".main-svg")}), "the analysis figures")
        assert drawn == figures
        driver.save_screenshot(str(tmp_path / "study.png"))

        # The summary note the analysis saved.
        driver.get(f"{base}/dashboard/studies/{study_id}/note")
        wait(lambda d: f"genstudy analysis of {STUDY}" in d.find_element("tag name", "body").text, "the analysis note")
    assert png_size(tmp_path / "study.png")[0] > 0 and png_size(tmp_path / "trial.png")[0] > 0
