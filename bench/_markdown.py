"""Shared by the benchmarks: replace one section of BENCHMARKS.md, keep the others."""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def write_section(heading: str, section: str) -> None:
    """Put ``section`` (starting with ``## heading``) in place of the old one, or append it."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\nMeasured by the scripts under `bench/`.\n"
    text = re.sub(rf"## {re.escape(heading)}.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip()
    BENCHMARKS.write_text(text + "\n\n" + section.rstrip() + "\n")
