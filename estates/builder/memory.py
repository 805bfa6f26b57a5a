"""Give memory the build has freed back to the system, between parts of a large build.

A build in parts frees each part's frames before the next is read, but the
allocators keep what was freed for reuse: glibc's ``malloc`` holds the pages
of a million small Python strings, Arrow's pool (mimalloc or jemalloc) the
buffers of the last part's columns. The next part rarely fits in those
holes exactly, so the process's resident memory crept up part by part (to
1.9 GiB for a million sites in parts of 200,000). :func:`release_freed_memory`
hands the free pages back after each part, so the peak is that of one part.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    """Return the C library, or None where it has no ``malloc_trim`` (not glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def release_freed_memory() -> None:
    """Collect garbage, then return free heap pages and Arrow's unused buffers to the system.

    Costs a few milliseconds; call it between parts, not per row. Where the
    C library has no ``malloc_trim`` only Arrow's pool is released.
    """
    import pyarrow as pa  # loaded already by the time a part is finished

    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
