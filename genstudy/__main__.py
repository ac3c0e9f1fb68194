"""``python -m genstudy``: the same command line as the ``genstudy`` script."""

from __future__ import annotations

import sys

from genstudy.cli import main

if __name__ == "__main__":
    sys.exit(main())
