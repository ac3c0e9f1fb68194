"""What a spec's ``dataset`` names, and the cheap checks made before anything is stored.

A dataset is a built-in name (``mnist5k``), a folder of images (``{folder: PATH, size: 32}``)
or an ``.npz`` file (``{npz: PATH}``); the two mappings are validated by the pydantic models
``FolderDatasetSpec`` and ``NpzDatasetSpec`` in :mod:`genstudy.data._forms`. Relative paths are read
from the working directory. Image files are ``.png``, ``.jpg`` and ``.jpeg`` (any case) in the
folder and every subfolder; names starting with ``.`` (hidden files, macOS ``._`` forks) are
skipped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudy.errors import DataError

if TYPE_CHECKING:
    from genstudy.data._forms import FolderDatasetSpec, NpzDatasetSpec

    Source = str | FolderDatasetSpec | NpzDatasetSpec

__all__ = ["IMAGE_SUFFIXES", "as_source", "display_name", "iter_images", "source_problems", "user_path"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def as_source(dataset: Any) -> Source:
    """``dataset`` as a name or a validated dataset model; a plain mapping is validated here."""
    from genstudy.data._forms import FolderDatasetSpec, NpzDatasetSpec

    if isinstance(dataset, (str, FolderDatasetSpec, NpzDatasetSpec)):
        return dataset
    if not isinstance(dataset, Mapping):
        raise DataError(f"dataset {dataset!r} is neither a name nor a mapping; pass a name such as 'mnist5k', "
                        "{'folder': PATH} or {'npz': PATH}")
    from pydantic import ValidationError

    try:
        return _adapter().validate_python(dict(dataset))
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(["dataset", *map(str, first["loc"])])
        raise DataError(f"dataset {dict(dataset)!r}: {key}: {first['msg']}; fix the value") from None


@functools.cache
def _adapter() -> Any:
    """The validator of a spec's ``dataset`` field (built once, on first use)."""
    from pydantic import TypeAdapter

    from genstudy.data._forms import DatasetSource

    return TypeAdapter(DatasetSource)


def user_path(raw: str) -> Path:
    """A path from a spec: ``~`` expanded, relative to the working directory."""
    return Path(raw).expanduser()


def display_name(dataset: Any) -> str:
    """A short name for logs and reports: the built-in name, ``folder:<basename>`` or ``npz:<basename>``."""
    source = as_source(dataset)
    if isinstance(source, str):
        return source
    kind, raw = ("folder", source.folder) if hasattr(source, "folder") else ("npz", source.npz)
    path = user_path(raw)
    name = path.name or Path(os.path.abspath(path)).name or str(path)  # "." -> the folder's own name
    return f"{kind}:{name}"


def iter_images(root: Path) -> Iterator[str]:
    """Relative POSIX paths of the image files under ``root``, folder by folder in sorted order.

    Symlinked folders are followed, each real folder once (a link loop ends there).
    DataError if a folder cannot be listed.
    """

    def fail(e: OSError) -> None:
        raise DataError(f"dataset folder {str(root)!r}: cannot list {e.filename!r} ({e.strerror}); "
                        "check its permissions") from e

    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=fail, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError as e:
            fail(e)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                yield (here / name).as_posix()


def _kind(path: Path) -> str | None:
    """'dir', 'file' or None (missing, or a name the OS refuses: NUL bytes, too long)."""
    try:
        return "dir" if path.is_dir() else "file" if path.exists() else None
    except (OSError, ValueError):
        return None


def _missing(path: Path) -> str:
    where = "" if path.is_absolute() else f" (looked for {os.path.abspath(path)})"
    return f"does not exist{where}; fix the path (a relative path is read from the working directory)"


def source_problems(source: Any) -> list[tuple[str, Any, str]]:
    """Spec-time checks of a folder or npz dataset, as (key, value, why + fix); [] when fine.

    Cheap: the path exists and is of the right kind, and a folder holds at least one image
    file (the walk stops at the first). Nothing is decoded.
    """
    if hasattr(source, "folder"):
        key, raw = "dataset.folder", source.folder
        path, kind = user_path(raw), _kind(user_path(raw))
        if kind is None:
            return [(key, raw, _missing(path))]
        if kind == "file":
            fix = ("use dataset: {npz: PATH} for an .npz file" if path.suffix.lower() == ".npz"
                   else "point it at the folder that holds the PNG/JPEG images")
            return [(key, raw, f"is a file, not a folder; {fix}")]
        try:
            first = next(iter_images(path), None)
        except DataError as e:
            return [(key, raw, str(e).split(": ", 1)[-1])]
        if first is None:
            return [(key, raw, "holds no PNG or JPEG files (.png, .jpg, .jpeg, searched in every subfolder); "
                               "add images or fix the path")]
        return []
    key, raw = "dataset.npz", source.npz
    path, kind = user_path(raw), _kind(user_path(raw))
    if kind is None:
        return [(key, raw, _missing(path))]
    if kind == "dir":
        return [(key, raw, "is a folder, not an .npz file; use dataset: {folder: PATH} for a folder of images")]
    return []
