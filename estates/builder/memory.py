"""The build's memory: what it frees goes back to the system; collections walk its objects only.

A build in parts frees each part's frames before the next is read, but the
allocators keep what was freed for reuse: glibc's ``malloc`` holds the pages
of a million small Python strings, Arrow's pool (mimalloc or jemalloc) the
buffers of the last part's columns. The next part rarely fits in those
holes exactly, so the process's resident memory crept up part by part (to
1.9 GiB for a million sites in parts of 200,000). :func:`release_freed_memory`
hands the free pages back after each part, so the peak is that of one part.

Python's cyclic garbage collector walks every object it tracks on each full
collection: the explicit ones between parts and those Python starts itself
as a large build makes objects. Most of them are the libraries' modules,
classes and functions, alive until the process ends, which a collection can
never free. Within :func:`collections_skip_older_objects` they are set aside,
and :func:`collections_after_imports` makes no collection while they are made.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def collections_skip_older_objects() -> Iterator[None]:
    """Within, Python's cyclic garbage collections walk only the objects made inside.

    Every object alive on entry (the imported libraries', and the caller's) is
    frozen (:func:`gc.freeze`) and given back to the collector on exit
    (:func:`gc.unfreeze`), so a build's full collections cost what the build
    made, not the size of the process. Reference counting still frees a
    frozen object as usual; only a cycle among them waits for the exit.

    Where objects are frozen already (by an enclosing call, or by the
    caller's own :func:`gc.freeze`), it does nothing: unfreezing is theirs.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def collections_after_imports() -> Iterator[Callable[[], None]]:
    """Pause the cyclic garbage collector until the caller's imports are done.

    Yields ``imported``, to call once the libraries are imported: every
    object alive then is frozen (:func:`gc.freeze`) and the collector
    resumes; on leaving the block they are given back to it
    (:func:`gc.unfreeze`). Importing the build's libraries (pandas,
    geopandas, pyarrow, shapely, pyproj) makes some 75,000 objects that live
    until the process ends; Python starts about 300 collections while they
    are made, which walk them again and again and free nothing: about 60 ms
    of the half second the imports take. Leaving the block without calling
    ``imported`` resumes the collector as it was.

    Where the collector is off, or objects are frozen already (by the
    caller's own :func:`gc.freeze`), it does nothing: the collector is theirs.
    """
    frozen = False

    def imported() -> None:
        nonlocal frozen
        if paused and not frozen:
            gc.freeze()
            frozen = True
            gc.enable()

    paused = gc.isenabled() and not gc.get_freeze_count()
    if paused:
        gc.disable()
    try:
        yield imported
    finally:
        if frozen:
            gc.unfreeze()
        elif paused:
            gc.enable()
