"""Cell tables kept on disk, so a new process's first join does not rebuild them.

The table of cells in the sites' CRS and the grid of EPSG:27700 cells each
take about 0.1 to 0.3 s to build, and under a millisecond to map back into
memory (read-only, its pages read as the join touches them). A table depends
only on what its caller puts in ``parts`` (the boroughs, the CRS, the
fallback radius, the table's constants) and the PROJ version, which all go
into the file's name. The files are kept by :mod:`estates.io.array_cache`
(``$ESTATES_CACHE_DIR``, else ``~/.cache/estates``), one ``.npy`` record per array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj

from estates.io.array_cache import cache_path, load_arrays, save_arrays

# Bump when the layout or meaning of a cached table changes.
_FORMAT = b"source-cells-2"


def _cache_path(parts: tuple[bytes, ...], kind: str) -> Path | None:
    return cache_path(f"join-{kind}", (_FORMAT, pyproj.proj_version_str.encode(), *parts))


def _load(parts: tuple[bytes, ...], kind: str = "cells") -> dict[str, np.ndarray] | None:
    """Return the arrays kept under ``parts`` for tables of ``kind``, or None."""
    return load_arrays(_cache_path(parts, kind))


def _save(parts: tuple[bytes, ...], arrays: dict[str, np.ndarray], kind: str = "cells") -> None:
    """Keep ``arrays`` under ``parts``; give up quietly if the folder is not writable."""
    save_arrays(_cache_path(parts, kind), arrays)
