"""A missing system tool skips a deployment test on a developer's machine and fails it in CI."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import require_tool


def test_a_missing_tool_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENSTUDY_REQUIRE_DEPLOY_TOOLS", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-browser not found.*required in CI"):
        require_tool("no-such-browser", "no-such-browser", "/nonexistent/no-such-browser")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require_tool("no-such-browser", "no-such-browser")
    monkeypatch.setenv("GENSTUDY_REQUIRE_DEPLOY_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception):
        require_tool("no-such-browser", "no-such-browser")
