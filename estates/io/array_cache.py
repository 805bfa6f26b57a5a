"""Arrays kept on disk between processes, so a table derived from files is built once.

A table that takes a noticeable time to derive (the borough join's cell tables,
the postcode lookup) and depends only on known inputs is kept as one file
whose name is a digest of everything it depends on: a new input, a new
library version or a new layout gives a new name, never a stale table. A file
is its arrays as ``.npy`` records one after the other, their names first with
the digest of the file's name ahead of them, and each record's data starts
at a multiple of 64 bytes. Reading one maps the file into memory and parses
the records' headers: the arrays are read-only views of the mapping, so
nothing is copied or decompressed up front and the pages a caller never
touches are never read (copying 15 MB of cell tables into memory cost a new
process's first join about 3 ms; a zip archive, ``np.savez``, took four
times as long again, its checksum alone about half of it). A file is used
only if every record's header parses, the records fill the file exactly,
no array holds Python objects and the digest it carries is the one its
name was made from: a damaged, cut-short or foreign file is ignored and the
table rebuilt and rewritten. Files sit in ``$ESTATES_CACHE_DIR`` (an empty
value turns the cache off), else ``$XDG_CACHE_HOME/estates`` or
``~/.cache/estates``. One that cannot be written is simply not kept. Writes
go to a temporary name renamed into place, so concurrent processes never
read half a file, and a file already mapped is never changed in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import mmap
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

#: The environment variable naming the cache folder ("" turns the cache off).
CACHE_ENV = "ESTATES_CACHE_DIR"
#: The layout of the files themselves, part of every file's name: files of an earlier layout
#: (unaligned records, no digest record) get other names, so versions sharing a folder never
#: rebuild each other's files.
_LAYOUT = b"aligned-records-2"


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
    digest = hashlib.sha1(b"\0".join((_LAYOUT, *parts)))
    return folder / f"{kind}-{digest.hexdigest()}.npy"


def load_arrays(path: Path | None) -> dict[str, np.ndarray] | None:
    """Return the arrays kept in ``path``, mapped read-only, or None if missing or not ours.

    The arrays are views of the file mapped into memory: pages are read as
    they are touched. None for a missing file, or one that is damaged, cut
    short, longer than its records, holds Python objects, or was written for
    another name (a foreign file copied into place): the caller rebuilds it.
    """
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return None
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            names = _read_record(handle, mapped, size)
            if names.dtype.kind != "U" or names.ndim != 1 or names.size == 0:
                return None
            if str(names[0]) != path.stem.rsplit("-", 1)[-1]:
                return None  # written for another name: not this table
            arrays = {str(name): _read_record(handle, mapped, size) for name in names[1:]}
            if handle.tell() != size:
                return None  # more than was written: not one of ours
    except (OSError, ValueError, EOFError):
        return None  # damaged or foreign: rebuilt and rewritten
    return arrays


def _read_record(handle: BinaryIO, mapped: mmap.mmap, size: int) -> np.ndarray:
    """Parse the ``.npy`` header at ``handle``; return its data as a view of ``mapped``.

    Leaves ``handle`` after the data. Raises ValueError for a header numpy does
    not read, Python objects, a negative side, or data that runs past the end
    of the file.
    """
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        msg = f"unsupported .npy version {version}"
        raise ValueError(msg)
    if dtype.hasobject:
        msg = "a kept array may not hold Python objects"
        raise ValueError(msg)
    if any(side < 0 for side in shape):
        msg = "a kept array has a negative side"
        raise ValueError(msg)
    offset = handle.tell()
    count = math.prod(shape)
    end = offset + count * dtype.itemsize
    if end > size:
        msg = "a kept array runs past the end of its file"
        raise ValueError(msg)
    handle.seek(end)
    flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)
    if offset % max(dtype.alignment, 1):
        flat = flat.copy()  # not written here: aligned copy, still read-only below
        flat.flags.writeable = False
    return flat.reshape(shape, order="F" if fortran_order else "C")


def save_arrays(path: Path | None, arrays: dict[str, np.ndarray]) -> None:
    """Keep ``arrays`` in ``path``; give up quietly if the folder is not writable."""
    if path is None:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                digest = path.stem.rsplit("-", 1)[-1]
                _write_record(handle, np.array([digest, *arrays]))
                for array in arrays.values():
                    _write_record(handle, np.asarray(array))
            os.replace(name, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _write_record(handle: BinaryIO, array: np.ndarray) -> None:
    """Write ``array`` as a ``.npy`` record whose data starts at a multiple of 64 bytes.

    ``np.save`` aligns the data within its own record only; here the header is
    padded with spaces (as numpy pads it) for the file as a whole, so every
    array maps aligned. numpy reads the record as any other.
    """
    if array.dtype.hasobject:
        msg = "a kept array may not hold Python objects"
        raise ValueError(msg)
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    fields = np.lib.format.header_data_from_array_1_0(array)
    text = "{" + "".join(f"'{key}': {fields[key]!r}, " for key in sorted(fields)) + "}"
    prefix = len(np.lib.format.MAGIC_PREFIX) + 2 + 2  # magic, version 1.0, 2-byte length
    lead = handle.tell() + prefix + len(text) + 1
    text += " " * (-lead % _ALIGN) + "\n"
    handle.write(np.lib.format.magic(1, 0))
    handle.write(len(text).to_bytes(2, "little"))
    handle.write(text.encode("latin1"))
    handle.write(array.tobytes(order="F" if fields["fortran_order"] else "C"))


# Every array's data starts at a multiple of this many bytes in its file.
_ALIGN = 64


def file_digest(path: Path) -> bytes:
    """Return the SHA-1 digest of a file's bytes, read in blocks."""
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()
