"""ERIC returns as read, kept on disk between builds: the same frame and findings, read once.

Every bundled build reads the same five ERIC site returns, and reading one is
a few hundred small pandas steps: 0.13 s of a build, before anything else can
start. What :func:`estates.io.eric.load_eric_return` gives for a file (its
frame and its findings) depends only on the file's bytes and name, the year
asked for, the code that reads it and the versions of pandas and pyarrow; so
it is kept as the join's cell tables are (:mod:`estates.io.array_cache`), one
file per return, named by a digest of all of them. The frame goes as an Arrow
stream with pandas' own metadata, which gives back the same columns, types and
values; the findings as JSON. A record that does not read back whole is
ignored, and the file is read and kept again.
"""

from __future__ import annotations

import hashlib
import json
import stat
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from estates.findings import Finding
from estates.io.array_cache import cache_path, file_digest, load_arrays, save_arrays

__all__ = ["READING_MODULES", "keep", "kept_path", "read_kept"]

#: Bump when a kept record's layout changes.
_FORMAT = b"eric-return-1"
#: The modules whose code reads a return (:func:`estates.io.eric.load_eric_return` and all it
#: imports of estates): their source is part of every record's name, so a change to any of
#: them is never met with a record the code before it kept.
READING_MODULES = (
    "estates.config",
    "estates.errors",
    "estates.findings",
    "estates.io.bundled",
    "estates.io.csv_fast",
    "estates.io.csv_reader",
    "estates.io.eric",
    "estates.io.eric_spec",
    "estates.io.excel",
    "estates.io.text_files",
)
_FINDING_FIELDS = ("source_file", "row", "site_code", "column", "value", "action", "check")


@cache
def _reading_code() -> bytes:
    """Return a digest of the source of :data:`READING_MODULES` (imported by the caller)."""
    digest = hashlib.sha256()
    for name in READING_MODULES:
        source = getattr(sys.modules.get(name), "__file__", None)
        digest.update(name.encode())
        digest.update(Path(source).read_bytes() if source else b"")
    return digest.digest()


def kept_path(path: Path, year: str | None, *, max_bytes: int) -> Path | None:
    """Return the file that keeps what reading ``path`` for ``year`` gives, or None.

    None when caching is off, or ``path`` is not a regular file of at most
    ``max_bytes`` bytes (the reader refuses it, and says why, every time).
    """
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode) or status.st_size > max_bytes:
            return None
        content = file_digest(path)
    except OSError:
        return None
    return cache_path(
        "eric-return",
        (
            _FORMAT,
            content,
            path.name.encode("utf-8", "surrogatepass"),
            (year or "").encode(),
            _reading_code(),
            pd.__version__.encode(),
            pa.__version__.encode(),
        ),
    )


def read_kept(kept: Path | None) -> tuple[pd.DataFrame, list[Finding]] | None:
    """Return the frame and findings kept in ``kept``, or None if missing or not whole.

    Whole means: the SHA-256 kept with them matches, the frame reads as an
    Arrow stream with a plain row index from 0, and every finding is one.
    """
    arrays = load_arrays(kept)
    if arrays is None or set(arrays) != {"frame", "findings", "sha256"}:
        return None
    if bytes(arrays["sha256"]) != _sha256(arrays["frame"], arrays["findings"]):
        return None
    try:
        frame = pa.ipc.open_stream(pa.py_buffer(arrays["frame"])).read_all().to_pandas()
        items = [_finding(item) for item in json.loads(bytes(arrays["findings"]))]
    except (pa.ArrowException, ValueError, TypeError, KeyError):
        return None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        return None
    return frame, items


def keep(kept: Path | None, frame: pd.DataFrame, findings: Sequence[Finding]) -> None:
    """Keep ``frame`` and ``findings`` in ``kept``; give up quietly if it cannot be written."""
    if kept is None:
        return
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    # ASCII, every other character escaped: any text the findings quote comes back the same.
    text = json.dumps(
        [[*(getattr(f, name) for name in _FINDING_FIELDS), f.reason] for f in findings]
    )
    data = np.frombuffer(sink.getvalue(), dtype=np.uint8)
    found = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    digest = np.frombuffer(_sha256(data, found), dtype=np.uint8)
    save_arrays(kept, {"frame": data, "findings": found, "sha256": digest})


def _sha256(frame: np.ndarray, findings: np.ndarray) -> bytes:
    """Return the SHA-256 of a record's two byte arrays, each with its length."""
    digest = hashlib.sha256()
    for part in (frame, findings):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part.tobytes())
    return digest.digest()


def _finding(item: object) -> Finding:
    """Return the finding a kept JSON item holds; raise ValueError if it is not one."""
    if not isinstance(item, list) or len(item) != len(_FINDING_FIELDS) + 1:
        msg = "not a kept finding"
        raise ValueError(msg)
    source_file, row, site_code, column, value, action, check, reason = item
    texts = (source_file, check, reason)
    optional = (site_code, column, value)
    if (
        not all(isinstance(t, str) for t in texts)
        or not all(t is None or isinstance(t, str) for t in optional)
        or not (row is None or (isinstance(row, int) and not isinstance(row, bool)))
        or action not in ("rejected", "flagged", "warning")
    ):
        msg = "not a kept finding"
        raise ValueError(msg)
    return Finding(source_file, row, site_code, column, value, action, check, reason)
