"""Make the README's pictures from a real study: two dashboard screenshots and one of the report.

    .venv/bin/python docs/pictures.py --storage postgresql://USER@HOST/DB --study-name gan-lr \\
        --artifact-dir ARTIFACTS --report reports/gan-lr/report.html

Starts optuna-dashboard on a free localhost port, opens it in headless Debian Chromium (Selenium
with /usr/bin/chromedriver; nothing is downloaded) and writes docs/dashboard-trial.png (the best
trial with its sample grid) and docs/dashboard-study.png (the figures of `genstudy analyze
--to-dashboard`); then docs/report.png with `chromium --headless --screenshot` of report.html.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna

from genstudy import names
from genstudy.analysis._dashboard import ID_PREFIX

DOCS = Path(__file__).resolve().parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
IMPORTANCE_PLOT = f"[id^='user-defined-plot:{ID_PREFIX}importance']"  # the dashboard's div of the importance figure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # noqa: BLE001 - the page is still loading
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit("timed out waiting for the dashboard page")


def dashboard_pictures(storage: str, study_name: str, artifact_dir: str, out: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    study = optuna.load_study(study_name=study_name, storage=storage)
    best = study.best_trial
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "optuna-dashboard"), storage, "--artifact-dir", artifact_dir,
                               "--host", "127.0.0.1", "--port", str(port), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: urllib.request.urlopen(f"{base}/api/studies", timeout=2).status == 200)
        with tempfile.TemporaryDirectory() as profile:
            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000"):
                options.add_argument(flag)
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            try:
                driver.get(f"{base}/dashboard/studies/{study._study_id}/trials?numbers={best.number}")
                src = best.user_attrs[names.artifact_attr("samples.png")]
                img = _wait(lambda: next(i for i in driver.find_elements("tag name", "img") if src in i.get_attribute("src")))
                _wait(lambda: driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img))
                driver.set_window_size(1400, 1300)
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", img)
                time.sleep(0.5)
                driver.save_screenshot(str(out / "dashboard-trial.png"))

                driver.get(f"{base}/dashboard/studies/{study._study_id}")
                _wait(lambda: driver.find_element("css selector", f"{IMPORTANCE_PLOT} .main-svg"))
                time.sleep(1.5)  # plotly's transitions
                # The analysis figures begin below the dashboard's own history plot: start the picture there.
                driver.execute_script(f"const e = document.querySelector(\"{IMPORTANCE_PLOT}\");"
                                      "window.scrollBy(0, e.getBoundingClientRect().top - 100);"
                                      "for (const s of document.querySelectorAll('*')) "
                                      "  if (s.scrollHeight > s.clientHeight + 10 && getComputedStyle(s).overflowY == 'auto') "
                                      "    s.scrollTop += e.getBoundingClientRect().top - 100;")
                time.sleep(0.5)
                driver.save_screenshot(str(out / "dashboard-study.png"))
            finally:
                driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=10)


def report_picture(report: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["/usr/bin/chromium", *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1500",
                        f"--screenshot={out / 'report.png'}", report.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--storage", required=True)
    p.add_argument("--study-name", required=True)
    p.add_argument("--artifact-dir", required=True)
    p.add_argument("--report", required=True, type=Path)
    p.add_argument("--out", type=Path, default=DOCS)
    args = p.parse_args()
    dashboard_pictures(args.storage, args.study_name, args.artifact_dir, args.out)
    report_picture(args.report, args.out)
    for name in ("dashboard-trial.png", "dashboard-study.png", "report.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
