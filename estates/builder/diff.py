"""What changed between two site tables: ``changes.csv`` and ``changes.json``.

:func:`diff_sites` compares an old and a new site table and lists, one row
per change, the sites that were added or removed, moved to another borough,
or whose unused land, indicative value or disposal rank changed.
``estates diff OLD NEW`` compares two output folders; every ``estates build``
also compares its new table with the set it replaces and writes the result
into the new set (``changes.csv``, ``changes.json``).

Sites are matched on ``(trust_code, site_code)``: ERIC's aggregate rows share
the site code ``AGGRE`` across trusts. If a key occurs more than once in a
table, its rows are matched in order.

Tolerances
----------
A number counts as changed when it moved by at least the tolerance, or
became missing or present:

``tolerance_ha`` (default 0.01 ha)
    ERIC reports land to two decimals, so every real change of a reported
    area is listed and floating-point noise never is.
``tolerance_gbp`` (default £1,000)
    Indicative values are hectares × £/ha (about £20m/ha in London on the
    bundled data), so any real change of land shows as a change of value;
    £1,000 hides only rounding.

Ranks have no tolerance: any change of ``disposal_rank`` is listed. Ranks
shift when sites are added, removed or re-valued, so one such change can
list many ``rank_changed`` rows.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from estates.errors import DataValidationError
from estates.io.csv_text import plain_number, unescape_text
from estates.io.tables import BOM, append_csv, write_csv, write_json
from estates.logs import counted

log = logging.getLogger("estates")

__all__ = [
    "CHANGE_COLUMNS",
    "CHANGE_KINDS",
    "DEFAULT_TOLERANCE_GBP",
    "DEFAULT_TOLERANCE_HA",
    "Changes",
    "diff_output_sets",
    "diff_sites",
    "first_build",
    "read_changes",
    "read_site_table",
    "write_changes",
    "write_site_file_changes",
]

#: Columns of ``changes.csv``.
CHANGE_COLUMNS = ("site_code", "trust_code", "change", "column", "old", "new")
#: Kinds of change, in the order they are listed, with the column each compares.
CHANGE_KINDS = {
    "added": "site_name",
    "removed": "site_name",
    "moved_borough": "borough_code",
    "unused_land_changed": "land_unused_ha",
    "value_changed": "estimated_value_gbp",
    "rank_changed": "disposal_rank",
}
#: Default tolerance for unused land, in hectares.
DEFAULT_TOLERANCE_HA = 0.01
#: Default tolerance for indicative values, in pounds.
DEFAULT_TOLERANCE_GBP = 1000.0

_KEY = ("trust_code", "site_code")
_NEEDED = ("site_code", "trust_code", "site_name", *list(CHANGE_KINDS.values())[2:])


@dataclass
class Changes:
    """The changes between two site tables.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per change with :data:`CHANGE_COLUMNS`, all text; ``old`` and
        ``new`` are empty where there is no value. For ``added`` and
        ``removed`` sites, ``column`` is ``site_name``.
    sites_old, sites_new : int
        Rows in each table.
    tolerance_ha, tolerance_gbp : float
        The tolerances used.
    previous : str or None
        What the old table was (e.g. the previous build's folder name); None
        when there was nothing to compare with.
    """

    table: pd.DataFrame
    sites_old: int
    sites_new: int
    tolerance_ha: float = DEFAULT_TOLERANCE_HA
    tolerance_gbp: float = DEFAULT_TOLERANCE_GBP
    previous: str | None = None
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        kinds = self.table["change"].value_counts()
        self.counts = {kind: int(kinds.get(kind, 0)) for kind in CHANGE_KINDS}

    def to_dict(self) -> dict[str, Any]:
        """Return the summary written to ``changes.json``.

        Examples
        --------
        >>> Changes(pd.DataFrame(columns=CHANGE_COLUMNS), 0, 3).to_dict()["counts"]["added"]
        0
        """
        return _changes_summary(
            previous=self.previous,
            sites_old=self.sites_old,
            sites_new=self.sites_new,
            tolerance_ha=self.tolerance_ha,
            tolerance_gbp=self.tolerance_gbp,
            counts=self.counts,
            rows=len(self.table),
        )

    def describe(self) -> str:
        """Return a short human summary, as ``estates diff`` prints it.

        Examples
        --------
        >>> print(Changes(pd.DataFrame(columns=CHANGE_COLUMNS), 2, 2).describe())
        2 sites before, 2 after: no changes
        """
        head = f"{self.sites_old:,} sites before, {self.sites_new:,} after"
        if self.previous is None and self.sites_old == 0 and not len(self.table):
            return f"{head}: no previous set to compare with"
        if not len(self.table):
            return f"{head}: no changes"
        c = self.counts
        parts = [
            f"{c['added']} added",
            f"{c['removed']} removed",
            f"{c['moved_borough']} moved borough",
            f"{c['unused_land_changed']} unused land changed (by {self.tolerance_ha:g} ha or more)",
            f"{c['value_changed']} value changed (by £{self.tolerance_gbp:,.0f} or more)",
            f"{c['rank_changed']} rank changed",
        ]
        return f"{head}: " + ", ".join(parts)


def _changes_summary(
    *,
    previous: str | None,
    sites_old: int,
    sites_new: int,
    tolerance_ha: float,
    tolerance_gbp: float,
    counts: Mapping[str, int],
    rows: int,
) -> dict[str, Any]:
    """Return ``changes.json``'s content (see :meth:`Changes.to_dict`)."""
    return {
        "previous": previous,
        "sites_old": sites_old,
        "sites_new": sites_new,
        "tolerance_ha": tolerance_ha,
        "tolerance_gbp": tolerance_gbp,
        "counts": dict(counts),
        "rows": rows,
    }


def diff_sites(
    old: pd.DataFrame,
    new: pd.DataFrame,
    *,
    tolerance_ha: float = DEFAULT_TOLERANCE_HA,
    tolerance_gbp: float = DEFAULT_TOLERANCE_GBP,
    previous: str | None = None,
) -> Changes:
    """Compare two site tables and list what changed.

    Parameters
    ----------
    old, new : pandas.DataFrame or geopandas.GeoDataFrame
        Site tables (``Result.sites`` or a read ``sites.parquet``) with
        ``site_code``, ``trust_code``, ``site_name``, ``borough_code``,
        ``land_unused_ha`` (ha), ``estimated_value_gbp`` (£) and
        ``disposal_rank``; any CRS, geometry is not compared. Left unchanged.
    tolerance_ha : float, default 0.01
        Smallest change of ``land_unused_ha`` (hectares) that is listed.
    tolerance_gbp : float, default 1000
        Smallest change of ``estimated_value_gbp`` (pounds) that is listed.
    previous : str, optional
        What ``old`` is, recorded in the summary.

    Returns
    -------
    Changes
        Rows ordered by change kind (:data:`CHANGE_KINDS`), then trust and
        site code.

    Raises
    ------
    DataValidationError
        If a table lacks a needed column or a tolerance is negative.

    Examples
    --------
    >>> old = pd.DataFrame({"site_code": ["AGGRE", "AGGRE", "X1"], "trust_code": ["R1", "R2", "R1"],
    ...     "site_name": ["Agg 1", "Agg 2", "X"], "borough_code": [None, None, "E1"],
    ...     "land_unused_ha": [0.5, 1.0, 2.0], "estimated_value_gbp": [1e6, 2e6, 4e6],
    ...     "disposal_rank": pd.array([None, None, 1], dtype="Int64")})
    >>> new = old.drop(index=1).assign(land_unused_ha=[0.5, 2.004])
    >>> changes = diff_sites(old, new)
    >>> changes.table.values.tolist()
    [['AGGRE', 'R2', 'removed', 'site_name', 'Agg 2', '']]
    >>> diff_sites(old, new, tolerance_ha=0.001).table["change"].tolist()
    ['removed', 'unused_land_changed']
    >>> diff_sites(old, new, tolerance_ha=-1)
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: tolerance_ha must be zero or more, got -1
    """
    _check_tolerances(tolerance_ha, tolerance_gbp)
    table = _change_table(old, new, tolerance_ha=tolerance_ha, tolerance_gbp=tolerance_gbp)
    changes = Changes(
        table,
        sites_old=len(old),
        sites_new=len(new),
        tolerance_ha=float(tolerance_ha),
        tolerance_gbp=float(tolerance_gbp),
        previous=previous,
    )
    log.info(
        "compared %d old and %s: %s",
        len(old),
        counted(len(new), "new site"),
        counted(len(table), "change"),
    )
    return changes


def _check_tolerances(tolerance_ha: float, tolerance_gbp: float) -> None:
    for name, value in (("tolerance_ha", tolerance_ha), ("tolerance_gbp", tolerance_gbp)):
        if not (math.isfinite(value) and value >= 0):
            msg = f"{name} must be zero or more, got {value:g}"
            raise DataValidationError(msg)


def _change_table(
    old: pd.DataFrame, new: pd.DataFrame, *, tolerance_ha: float, tolerance_gbp: float
) -> pd.DataFrame:
    """Return :func:`diff_sites`'s change rows, in change order."""
    a, b = _keyed(old, "old"), _keyed(new, "new")
    merged = a.merge(b, on=[*_KEY, "_n"], how="outer", suffixes=("_old", "_new"), indicator=True)
    side = merged["_merge"].astype(str).to_numpy()
    parts = [
        _change_rows(merged[side == "right_only"], "added", "site_name", old=None, new="_new"),
        _change_rows(merged[side == "left_only"], "removed", "site_name", old="_old", new=None),
    ]
    both = merged[side == "both"]
    checks = (
        ("moved_borough", "borough_code", None),
        ("unused_land_changed", "land_unused_ha", tolerance_ha),
        ("value_changed", "estimated_value_gbp", tolerance_gbp),
        ("rank_changed", "disposal_rank", 0.0),
    )
    for kind, column, tolerance in checks:
        before, after = both[f"{column}_old"], both[f"{column}_new"]
        if tolerance is None:
            changed = (
                before.fillna("").astype(str).to_numpy() != after.fillna("").astype(str).to_numpy()
            )
        else:
            changed = _numbers_changed(
                before.to_numpy(dtype=float, na_value=np.nan),
                after.to_numpy(dtype=float, na_value=np.nan),
                tolerance,
            )
        parts.append(_change_rows(both[changed], kind, column, old="_old", new="_new"))
    rows = [row for part in parts for row in part]
    table = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS), dtype="string")
    return _in_change_order(table)


def read_site_table(path: Path) -> pd.DataFrame:
    """Read the site table of an output folder (its ``sites.parquet``) or a parquet file.

    Parameters
    ----------
    path : pathlib.Path
        An output folder of ``estates build`` or a ``sites.parquet`` file.

    Returns
    -------
    pandas.DataFrame
        The table's columns, without geometry; codes stay text.

    Raises
    ------
    DataValidationError
        If there is no readable ``sites.parquet``.

    Examples
    --------
    >>> read_site_table(Path("no/such/folder"))
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: no/such/folder: no such file; give an output folder ...
    """
    path = Path(path)
    file = path / "sites.parquet" if path.is_dir() else path
    if not file.is_file():
        where = f"{path} has no sites.parquet" if path.is_dir() else f"{path}: no such file"
        msg = f"{where}; give an output folder of estates build"
        raise DataValidationError(msg)
    try:
        frame = pd.read_parquet(file)
    except (OSError, ValueError) as exc:
        msg = f"{file}: not a readable site table ({exc})"
        raise DataValidationError(msg) from exc
    return frame.drop(columns=[c for c in ("geometry",) if c in frame])


def diff_output_sets(
    old_dir: Path,
    new_dir: Path,
    *,
    tolerance_ha: float = DEFAULT_TOLERANCE_HA,
    tolerance_gbp: float = DEFAULT_TOLERANCE_GBP,
) -> Changes:
    """Compare the site tables of two output folders (``estates diff OLD NEW``).

    Parameters
    ----------
    old_dir, new_dir : pathlib.Path
        Output folders of ``estates build`` (or their ``sites.parquet``).
    tolerance_ha, tolerance_gbp : float
        As :func:`diff_sites`.

    Returns
    -------
    Changes
        ``previous`` is ``old_dir`` as given.

    Raises
    ------
    DataValidationError
        If a folder has no readable site table.
    """
    return diff_sites(
        read_site_table(old_dir),
        read_site_table(new_dir),
        tolerance_ha=tolerance_ha,
        tolerance_gbp=tolerance_gbp,
        previous=str(old_dir),
    )


def write_site_file_changes(
    old: Path,
    new: Path,
    folder: Path,
    *,
    bom: bool = False,
    previous: str | None = None,
    tolerance_ha: float = DEFAULT_TOLERANCE_HA,
    tolerance_gbp: float = DEFAULT_TOLERANCE_GBP,
    rows_per_bucket: int = 200_000,
) -> list[Path]:
    """Write ``changes.csv`` and ``changes.json`` for two ``sites.parquet`` files.

    The files equal ``write_changes(diff_sites(old_table, new_table))``, but
    neither table nor the change list is ever held whole: the chunked build
    uses this for site files larger than memory. Both tables are split by a
    hash of the key ``(trust_code, site_code)`` into buckets of about
    ``rows_per_bucket`` rows, spilled to Parquet in a work folder inside
    ``folder`` (in file order, so repeated keys still match in order); each
    bucket pair is compared with :func:`diff_sites`, and DuckDB puts the change
    rows in its order while they are written a batch at a time.

    The leading rows the two tables share, row for row in the compared
    columns (a rebuild of unchanged data shares them all), are found first
    and left out of the buckets: they hold no change, and leaving them out
    changes no match, since each key occurs as often among them in both
    tables. Only the rows from the first difference on are spilled.

    Returns
    -------
    list of pathlib.Path
        The two files.

    Raises
    ------
    DataValidationError
        If a file cannot be read or lacks a compared column (nothing is
        written), or a tolerance is negative.
    """
    import tempfile

    import pyarrow.parquet as pq

    try:
        files = [pq.ParquetFile(p, pre_buffer=False) for p in (old, new)]
    except (OSError, ValueError) as exc:
        msg = f"cannot read a site table to compare ({exc})"
        raise DataValidationError(msg) from exc
    for which, file in zip(("old", "new"), files, strict=True):
        missing = [c for c in _NEEDED if c not in file.schema_arrow.names]
        if missing:
            msg = f"the {which} site table has no column {', '.join(missing)}; is it a site table?"
            raise DataValidationError(msg)
    _check_tolerances(tolerance_ha, tolerance_gbp)
    sizes = [f.metadata.num_rows for f in files]
    shared = _shared_leading_rows(*files, batch_rows=rows_per_bucket)
    buckets = max(1, -(-(max(sizes) - shared) // rows_per_bucket))
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    with tempfile.TemporaryDirectory(prefix="estates-changes-", dir=folder) as tmp:
        work = Path(tmp)
        for side, file in enumerate(files):
            try:
                _spill_buckets(file, work, side, buckets, batch_rows=rows_per_bucket, skip=shared)
            except (OSError, ValueError) as exc:  # a damaged file: its pages do not decode
                msg = f"cannot read the {('old', 'new')[side]} site table to compare ({exc})"
                raise DataValidationError(msg) from exc
        for b in range(buckets):
            before, after = (
                pq.read_table(work / f"side{side}-{b}.parquet").to_pandas() for side in (0, 1)
            )
            table = _change_table(
                before, after, tolerance_ha=tolerance_ha, tolerance_gbp=tolerance_gbp
            )
            for kind, n in table["change"].value_counts().items():
                counts[str(kind)] += int(n)
            table.assign(
                _order=table["change"].map(order).astype("int64"),
                _bucket=b,
                _pos=np.arange(len(table), dtype=np.int64),
            ).to_parquet(work / f"changes-{b}.parquet", index=False)
        rows = sum(counts.values())
        csv = _write_ordered_changes(work, folder / "changes.csv", bom=bom)
    summary = _changes_summary(
        previous=previous,
        sites_old=sizes[0],
        sites_new=sizes[1],
        tolerance_ha=float(tolerance_ha),
        tolerance_gbp=float(tolerance_gbp),
        counts=counts,
        rows=rows,
    )
    log.info(
        "compared %d old and %s: %s",
        sizes[0],
        counted(sizes[1], "new site"),
        counted(rows, "change"),
    )
    return [csv, write_json(summary, folder / "changes.json")]


def _shared_leading_rows(old: Any, new: Any, *, batch_rows: int) -> int:
    """Return how many leading rows two Parquet files share, row for row, in the compared columns.

    Read a batch at a time from both and stopped at the first difference.
    Arrow's equality is strict: a value missing in one and empty in the
    other, or NaN, ends the shared rows there, which costs time, never a
    change (:func:`diff_sites` then compares those rows as before).

    Raises
    ------
    DataValidationError
        If a file's pages do not decode.
    """
    sides = [file.iter_batches(batch_size=batch_rows, columns=list(_NEEDED)) for file in (old, new)]
    pending: list[Any] = [None, None]
    shared = 0
    while True:
        for i, batches in enumerate(sides):
            while pending[i] is None or not len(pending[i]):
                try:
                    pending[i] = next(batches, None)
                except (OSError, ValueError) as exc:  # a damaged file: its pages do not decode
                    msg = f"cannot read the {('old', 'new')[i]} site table to compare ({exc})"
                    raise DataValidationError(msg) from exc
                if pending[i] is None:
                    return shared
        count = min(len(pending[0]), len(pending[1]))
        a, b = (part.slice(0, count) for part in pending)
        if not a.equals(b):
            equal, different = 0, count  # a[:equal] == b[:equal], a[:different] != b[:different]
            while different - equal > 1:
                middle = (equal + different) // 2
                if a.slice(0, middle).equals(b.slice(0, middle)):
                    equal = middle
                else:
                    different = middle
            return shared + equal
        shared += count
        pending = [part.slice(count) for part in pending]


def _spill_buckets(
    file: Any, work: Path, side: int, buckets: int, *, batch_rows: int, skip: int = 0
) -> None:
    """Split ``file``'s compared columns into ``buckets`` Parquet files by a hash of the key.

    The first ``skip`` rows are left out.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([file.schema_arrow.field(c) for c in _NEEDED])
    writers = [pq.ParquetWriter(work / f"side{side}-{b}.parquet", schema) for b in range(buckets)]
    try:
        for read in file.iter_batches(batch_size=batch_rows, columns=list(_NEEDED)):
            if skip >= len(read):
                skip -= len(read)
                continue
            batch, skip = read.slice(skip), 0
            key = batch.select(list(_KEY)).to_pandas().astype("string").fillna("")
            bucket = pd.util.hash_pandas_object(key, index=False).to_numpy() % buckets
            table = pa.Table.from_batches([batch], schema=schema)
            for b in range(buckets):
                writers[b].write_table(table.filter(pa.array(bucket == b)))
    finally:
        for writer in writers:
            writer.close()


def _write_ordered_changes(work: Path, path: Path, *, bom: bool) -> Path:
    """Write the spilled change rows to ``path`` in :func:`_in_change_order`'s order.

    Ties (one key listed twice for one kind) keep their bucket's order, as
    the stable sort of the whole list does: equal keys share a bucket.
    """
    from estates.builder import duck

    db = duck.connect(work)
    try:
        columns = ", ".join(f'"{c}"' for c in CHANGE_COLUMNS)
        parts = str(work / "changes-*.parquet").replace("'", "''")
        reader = db.sql(
            f"SELECT {columns} FROM read_parquet('{parts}') "
            "ORDER BY _order, trust_code, site_code, _bucket, _pos"
        ).to_arrow_reader(100_000)
        with path.open("wb") as handle:
            if bom:
                handle.write(BOM)
            header = True
            for batch in reader:
                append_csv(batch.to_pandas().astype("string"), handle, header=header)
                header = False
            if header:  # no changes: the header alone
                append_csv(
                    pd.DataFrame(columns=list(CHANGE_COLUMNS), dtype="string"), handle, header=True
                )
    finally:
        db.close()
    return path


def write_changes(changes: Changes, folder: Path, *, bom: bool = False) -> list[Path]:
    """Write ``changes.csv`` and ``changes.json`` into ``folder``.

    Parameters
    ----------
    changes : Changes
        From :func:`diff_sites`.
    folder : pathlib.Path
        An existing folder.
    bom : bool, default False
        Start ``changes.csv`` with a UTF-8 byte-order mark, for Excel.

    Returns
    -------
    list of pathlib.Path
        The two files.

    Examples
    --------
    >>> import tempfile
    >>> old = pd.DataFrame({"site_code": ["00123"], "trust_code": ["R1"], "site_name": ["A"],
    ...     "borough_code": ["E09000001"], "land_unused_ha": [0.5],
    ...     "estimated_value_gbp": [1e7], "disposal_rank": [1]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_changes(diff_sites(old, old.iloc[:0]), Path(tmp))
    ...     table, summary = read_changes(Path(tmp))
    >>> [p.name for p in paths], table.values.tolist(), summary["counts"]["removed"]
    (['changes.csv', 'changes.json'], [['00123', 'R1', 'removed', 'site_name', 'A', '']], 1)
    """
    csv = write_csv(changes.table, folder / "changes.csv", bom=bom)
    summary = write_json(changes.to_dict(), folder / "changes.json")
    return [csv, summary]


def first_build(sites: pd.DataFrame) -> Changes:
    """Return the changes of a build with no previous set: none, ``previous`` null.

    Examples
    --------
    >>> first_build(pd.DataFrame({"site_code": ["A"]})).to_dict()["previous"] is None
    True
    """
    return Changes(pd.DataFrame(columns=list(CHANGE_COLUMNS), dtype="string"), 0, len(sites))


def read_changes(folder: Path) -> tuple[pd.DataFrame, Mapping[str, Any]]:
    """Read back ``changes.csv`` and ``changes.json`` of an output folder.

    Returns
    -------
    tuple of (pandas.DataFrame, dict)
        The table, every cell text (``""`` where empty) as it was before
        being made spreadsheet-safe (:func:`estates.io.csv_text.unescape_text`),
        and the summary.

    Raises
    ------
    OSError, ValueError
        If a file is missing or unreadable.
    """
    table = pd.read_csv(folder / "changes.csv", dtype=str, keep_default_na=False)
    table = table.map(unescape_text)
    summary = json.loads((folder / "changes.json").read_text(encoding="utf-8"))
    return table, summary


def _in_change_order(table: pd.DataFrame) -> pd.DataFrame:
    """Return change rows by kind (:data:`CHANGE_KINDS` order), then trust and site code."""
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    return (
        table.assign(_order=table["change"].map(order))
        .sort_values(["_order", "trust_code", "site_code"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _keyed(frame: pd.DataFrame, which: str) -> pd.DataFrame:
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        msg = f"the {which} site table has no column {', '.join(missing)}; is it a site table?"
        raise DataValidationError(msg)
    out = pd.DataFrame(
        {
            "site_code": frame["site_code"].astype("string").fillna(""),
            "trust_code": frame["trust_code"].astype("string").fillna(""),
            "site_name": frame["site_name"].astype("string"),
            "borough_code": frame["borough_code"].astype("string"),
            "land_unused_ha": pd.to_numeric(frame["land_unused_ha"], errors="coerce"),
            "estimated_value_gbp": pd.to_numeric(frame["estimated_value_gbp"], errors="coerce"),
            "disposal_rank": pd.to_numeric(frame["disposal_rank"], errors="coerce").astype(
                "Float64"
            ),
        }
    ).reset_index(drop=True)
    out["_n"] = out.groupby(list(_KEY), sort=False).cumcount()
    return out


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        return plain_number(value)
    return str(value)


def _change_rows(
    frame: pd.DataFrame, kind: str, column: str, *, old: str | None, new: str | None
) -> list[tuple[str, ...]]:
    """Return one ``changes.csv`` row per row of ``frame`` (merged old and new tables)."""

    def texts(suffix: str | None) -> list[str]:
        if suffix is None:
            return [""] * len(frame)
        return [_text(v) for v in frame[f"{column}{suffix}"].astype(object).tolist()]

    return list(
        zip(
            frame["site_code"].tolist(),
            frame["trust_code"].tolist(),
            [kind] * len(frame),
            [column] * len(frame),
            texts(old),
            texts(new),
            strict=True,
        )
    )


def _numbers_changed(
    before: NDArray[np.float64], after: NDArray[np.float64], tolerance: float
) -> NDArray[np.bool_]:
    """Return True where a number moved by ``tolerance`` or more, or became missing or present."""
    missing_before, missing_after = np.isnan(before), np.isnan(after)
    delta = np.abs(after - before)
    with np.errstate(invalid="ignore"):
        # math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-9), a column at a time.
        close = delta <= np.maximum(1e-9 * np.maximum(np.abs(before), np.abs(after)), 1e-9)
        # "At least the tolerance", forgiving the float error of a difference.
        moved = ~close & (delta >= tolerance - 1e-9 * max(1.0, tolerance))
    return np.where(missing_before | missing_after, missing_before != missing_after, moved)
