"""Arrays kept on disk between processes, so a table derived from files is built once.

A table that takes a noticeable time to derive (the borough join's cell tables,
the postcode lookup) and depends only on known inputs is kept as one file
whose name is a digest of everything it depends on: a new input, a new
library version or a new layout gives a new name, never a stale table. A file
is its arrays as ``.npy`` records one after the other (their names first), so
reading one is a read per array, with no archive to open and no checksum to
compute (a zip archive of the same arrays, ``np.savez``, took four times as
long to read, the checksum alone about half of it). Files
sit in ``$ESTATES_CACHE_DIR`` (an empty value turns the cache off), else
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
from collections.abc import Iterable
from pathlib import Path

import numpy as np

#: The environment variable naming the cache folder ("" turns the cache off).
CACHE_ENV = "ESTATES_CACHE_DIR"


def cache_dir() -> Path | None:
    """Return the cache folder, or None when caching is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "estates"


def cache_path(kind: str, parts: Iterable[bytes]) -> Path | None:
    """Return the file that keeps a table of ``kind`` derived from ``parts``, or None if off.

    ``parts`` must hold everything the table depends on, a format tag first.
    """
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha1(b"\0".join(parts))
    return folder / f"{kind}-{digest.hexdigest()}.npy"


def load_arrays(path: Path | None) -> dict[str, np.ndarray] | None:
    """Return the arrays kept in ``path``, or None if it is missing or unreadable."""
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


def save_arrays(path: Path | None, arrays: dict[str, np.ndarray]) -> None:
    """Keep ``arrays`` in ``path``; give up quietly if the folder is not writable."""
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


def file_digest(path: Path) -> bytes:
    """Return the SHA-1 digest of a file's bytes, read in blocks."""
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()
