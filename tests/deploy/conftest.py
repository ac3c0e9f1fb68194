"""Deployment tests need system tools (docker-compose, Chromium, ChromeDriver) from Debian.

Outside CI a missing tool skips its tests with the command that installs it; in CI (CI=true, or
GENSTUDY_REQUIRE_DEPLOY_TOOLS=1 as .ci/run sets) it fails them: CI installs the tools itself
(scripts/system-deps), so a missing one there is a broken setup, never a reason to skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = "apt-get install -y --no-install-recommends chromium chromium-driver docker-compose (or ./scripts/system-deps as root)"


def tools_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("GENSTUDY_REQUIRE_DEPLOY_TOOLS") == "1"


def require_tool(name: str, *candidates: str) -> str:
    """The path of the first of ``candidates`` (commands or absolute paths) that exists."""
    for c in candidates:
        found = shutil.which(c)
        if found:
            return found
    message = f"{name} not found (looked for {', '.join(candidates)}); install it: {INSTALL}"
    if tools_required():
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)
