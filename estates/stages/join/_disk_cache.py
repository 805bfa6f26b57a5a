"""Cell tables kept on disk, so a new process's first join does not rebuild them.

The table of cells in the sites' CRS and the grid of EPSG:27700 cells each
take about 0.1 to 0.3 s to build, and a few milliseconds to read back: a
file is its arrays as ``.npy`` records one after the other (their names
first), so reading one is a read per array, with no archive to open and no
checksum to compute (a zip archive of the same arrays, ``np.savez``, took
four times as long to read, the checksum alone about half of it). A
table depends only on what its caller puts in ``parts`` (the boroughs, the
CRS, the fallback radius, the table's constants) and the PROJ version, which
all go into the file's name. Files sit
in ``$ESTATES_CACHE_DIR`` (an empty value turns the cache off), else
``$XDG_CACHE_HOME/estates`` or ``~/.cache/estates``. A file that cannot be
read is ignored and the table rebuilt; one that cannot be written is simply
not kept. Writes go to a temporary name renamed into place, so concurrent
processes never read half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pyproj

#: The environment variable naming the cache folder ("" turns the cache off).
CACHE_ENV = "ESTATES_CACHE_DIR"
# Bump when the layout or meaning of a cached table changes.
_FORMAT = b"source-cells-2"


def _cache_dir() -> Path | None:
    """Return the cache folder, or None when caching is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "estates"


def _cache_path(parts: tuple[bytes, ...], kind: str) -> Path | None:
    folder = _cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha1(b"\0".join((_FORMAT, pyproj.proj_version_str.encode(), *parts)))
    return folder / f"join-{kind}-{digest.hexdigest()}.npy"


def _load(parts: tuple[bytes, ...], kind: str = "cells") -> dict[str, np.ndarray] | None:
    """Return the arrays kept under ``parts`` for tables of ``kind``, or None."""
    path = _cache_path(parts, kind)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            names = np.lib.format.read_array(handle, allow_pickle=False)
            arrays = {str(name): np.lib.format.read_array(handle) for name in names}
            if handle.read(1):
                return None  # more than was written: not one of ours
    except (OSError, ValueError, EOFError):
        return None  # damaged or foreign: rebuilt and rewritten
    return arrays


def _save(parts: tuple[bytes, ...], arrays: dict[str, np.ndarray], kind: str = "cells") -> None:
    """Keep ``arrays`` under ``parts``; give up quietly if the folder is not writable."""
    path = _cache_path(parts, kind)
    if path is None:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, np.array(list(arrays)), allow_pickle=False)
                for array in arrays.values():
                    np.save(handle, array, allow_pickle=False)
            os.replace(name, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)
