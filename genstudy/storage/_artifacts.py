"""The artifact store every worker uses: Optuna's file-system store, minus half-written files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from optuna.artifacts import FileSystemArtifactStore

__all__ = ["ArtifactStore"]


class ArtifactStore(FileSystemArtifactStore):
    """``FileSystemArtifactStore`` whose failed write removes its partial file.

    Optuna's store leaves the partial file of a write that failed (disk full, quota) behind, so
    one trial that fills the disk would keep it full and fail every later trial too.
    """

    def __init__(self, base_path: str | Path) -> None:
        super().__init__(base_path)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        try:
            super().write(artifact_id, content_body)
        except OSError:
            with contextlib.suppress(OSError):
                os.remove(self._get_filepath(artifact_id))
            raise
