"""Start a dashboard server for a test and stop it afterwards; drive headless Chromium."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.conftest import require_tool

# Debian's Chromium in a sandbox-less container, with nothing that phones home (the network is closed).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(argv: Sequence[str], port: int, *, log: Path, timeout: float = 60) -> Iterator[str]:
    """Run the server ``argv`` until the block ends; yields its base URL once ``/api/studies`` answers."""
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/studies", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"{argv[0]} exited with {proc.returncode}: {log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{argv[0]} did not answer on {base} within {timeout:.0f} s: {log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator:
    """A Selenium driver of headless Debian Chromium through Debian's ChromeDriver (nothing is downloaded)."""
    binary = require_tool("Chromium", "chromium", "/usr/bin/chromium")
    driver_path = require_tool("ChromeDriver", "chromedriver", "/usr/bin/chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    with tempfile.TemporaryDirectory(prefix="genstudy-chromium-") as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            yield driver
        finally:
            driver.quit()
