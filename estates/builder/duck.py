"""DuckDB connections for work that must not be held in memory whole.

A build in several parts keeps the site keys it has seen in DuckDB (to find
duplicates across parts), and the change list of a large rebuild is put in
order there: both hold more rows than should sit in memory. A connection
from :func:`connect` keeps its database and its spill files in a work folder
and stays under :data:`MEMORY_LIMIT`, spilling to disk beyond it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

#: DuckDB's memory limit; beyond it, it spills to the work folder.
MEMORY_LIMIT = "1GB"


def connect(work: Path, *, memory_limit: str = MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """Return a DuckDB connection whose database and spill files live in ``work``.

    Raises
    ------
    OSError
        If ``work`` cannot hold the database file.
    """
    import duckdb  # only the large-input paths need it

    db = duckdb.connect(str(work / "work.duckdb"))
    db.execute(f"SET memory_limit = '{memory_limit}'")
    db.execute(f"SET temp_directory = '{work / 'duckdb-tmp'}'")
    db.execute("SET preserve_insertion_order = false")
    return db
