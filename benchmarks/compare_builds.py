"""Compare two `estates build` output folders file by file and print what differs.

A refactor should change no output; a feature should change only what it means
to. This script says which, for every file two builds wrote:

    python benchmarks/compare_builds.py DIR_A DIR_B
    python benchmarks/compare_builds.py DIR_A DIR_B --rtol 1e-9 --examples 5
    python benchmarks/compare_builds.py DIR_A DIR_B --key site_code

Each file is read for what it holds, not only as bytes, so a difference is
reported where a person can judge it:

- ``*.parquet``: the columns each side has (added, removed, order, dtype), the
  row count, then every shared column row by row (rows matched on ``--key``
  when it is unique on both sides, else by position): exact for text, integers,
  booleans and geometry (WKB bytes; equal-within-tolerance coordinates are
  counted apart), floats within ``--rtol`` relative (NaN equals NaN).
- ``*.csv``: the same, on the text of each cell; a cell whose text differs but
  whose numbers agree within ``--rtol`` is counted as formatting only. A file
  whose key is not unique (``rejected.csv``) is compared as a multiset of rows.
- ``*.gpkg``: every table of the SQLite file (each layer, the styles, the
  GeoPackage catalogue; the R-tree index tables are skipped: they follow the
  geometry), as above.
- ``*.json``: a recursive diff of keys and values, floats within ``--rtol``.
- ``*.html``: the bytes; if they differ, each ``application/json`` payload is
  compared as JSON (``fields`` with their ``columns``, or ``rows`` in
  pages written before 2026-12-06, as a table, so a column order change shows
  as one) and the rest of the page line by line, with the
  changed stretch of each line.
- ``*.png``: the bytes; if they differ, the image size and how many pixels differ.
- any other file: the bytes.

A difference whose two values differ only in dates and times (``2026-12-06``,
``03:11:41``, ``20261206T031118.775Z``) or sits under a key that holds a
build's clock (``started``, ``finished``, ``seconds``) is marked
``[timestamp]``, so "equal but for the build time" can be read off the
summary. The exit code is 0 when every file is equal (or equal but for
timestamps), 1 otherwise (2 on a usage error), so the script can gate a check.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{8}T\d{6}(?:\.\d+)?Z?"
    r"|\b\d{2}:\d{2}(?::\d{2})?(?:\s?UTC)?"
    r"|\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October"
    r"|November|December) \d{4}"
)
CLOCK_KEYS = frozenset({"started", "finished", "seconds", "built", "build_date", "built_at"})
_ID = "site_code"  # shown beside a row number when rows are matched by position
GPKG_SKIP = re.compile(r"^rtree_|^sqlite_")
PAYLOAD = re.compile(r'(<script type="application/json"[^>]*>)(.*?)(</script>)', re.S)


@dataclass
class Report:
    """What one file's comparison found: lines to print and whether all were timestamps."""

    lines: list[str] = field(default_factory=list)
    differences: int = 0
    timestamp_only: int = 0

    def add(self, line: str, *, timestamp: bool = False) -> None:
        """Record one difference (``timestamp`` if it is only a date or time)."""
        self.differences += 1
        self.timestamp_only += timestamp
        self.lines.append(f"{line} [timestamp]" if timestamp else line)

    def note(self, line: str) -> None:
        """Record a line that is not a difference (a count, a heading)."""
        self.lines.append(line)

    @property
    def verdict(self) -> str:
        """The summary line: equal, equal but for timestamps, or differs (how often)."""
        if self.differences == 0:
            return "equal"
        if self.timestamp_only == self.differences:
            return "equal but for timestamps"
        return f"DIFFERS ({self.differences - self.timestamp_only} difference(s))"


def short(value: object, width: int = 80) -> str:
    """``repr`` of ``value`` cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def is_timestamp_change(a: object, b: object) -> bool:
    """Whether two strings differ only in their dates and times."""
    if not (isinstance(a, str) and isinstance(b, str)) or a == b:
        return False
    return TIMESTAMP.sub("<t>", a) == TIMESTAMP.sub("<t>", b) and TIMESTAMP.search(a) is not None


def numbers_close(a: float, b: float, rtol: float) -> bool:
    """Equal within ``rtol`` relative (or 1e-300 absolute near zero); NaN equals NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-300)


def as_number(text: str) -> float | None:
    """``text`` as a float, or None when it is not a plain number."""
    try:
        return float(text)
    except ValueError:
        return None


# --- tables -------------------------------------------------------------------------------


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_equal(a: Any, b: Any, rtol: float) -> bool:
    if _is_null(a) or _is_null(b):
        return _is_null(a) and _is_null(b)
    if isinstance(a, bytes | bytearray | memoryview) or isinstance(b, bytes | bytearray):
        return bytes(a) == bytes(b)
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        try:
            return numbers_close(float(a), float(b), rtol)
        except (TypeError, ValueError):
            return False
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return bool(a == b)


def _geometry_close(a: Any, b: Any, rtol: float) -> bool:
    """Whether two WKB (or GeoPackage) geometries have the same coordinates within ``rtol``."""
    try:
        import shapely
    except ImportError:
        return False
    try:
        ga, gb = shapely.from_wkb(_strip_gpkg(a)), shapely.from_wkb(_strip_gpkg(b))
    except Exception:  # not a geometry: not close
        return False
    ca, cb = shapely.get_coordinates(ga), shapely.get_coordinates(gb)
    return (
        shapely.get_type_id(ga) == shapely.get_type_id(gb)
        and ca.shape == cb.shape
        and bool(np.allclose(ca, cb, rtol=rtol, atol=0))
    )


def _strip_gpkg(blob: Any) -> bytes:
    """The WKB inside a GeoPackage geometry blob (or the bytes as they are)."""
    data = bytes(blob)
    if data[:2] != b"GP":
        return data
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(data[3] >> 1) & 7]
    return data[8 + envelope :]


def _key_column(a: pd.DataFrame, b: pd.DataFrame, wanted: str | None) -> str | None:
    names = [wanted] if wanted else ["site_code", "code", "borough_code", "table_name", "fid", "id"]
    for name in names:
        if (
            name in a.columns
            and name in b.columns
            and a[name].is_unique
            and b[name].is_unique
            and not a[name].isna().any()
        ):
            return name
    return None


def compare_frames(
    a: pd.DataFrame,
    b: pd.DataFrame,
    report: Report,
    *,
    rtol: float,
    examples: int,
    key: str | None,
    text: bool = False,
) -> None:
    """Compare two tables column by column and row by row into ``report``.

    Rows are matched on ``key`` (or the first unique id column found) when it
    is unique on both sides, else by position if the counts agree, else as a
    multiset of rows over the shared columns. ``text`` says the cells are CSV
    text: then numbers equal within ``rtol`` but written differently are
    counted apart, as formatting.
    """
    removed = [c for c in a.columns if c not in b.columns]
    added = [c for c in b.columns if c not in a.columns]
    common = [c for c in a.columns if c in b.columns]
    report.note(f"rows: {len(a):,} vs {len(b):,}; columns: {a.shape[1]} vs {b.shape[1]}")
    if removed:
        report.add(f"columns only in A ({len(removed)}): {', '.join(map(str, removed))}")
    if added:
        report.add(f"columns only in B ({len(added)}): {', '.join(map(str, added))}")
    if [c for c in b.columns if c in a.columns] != common:
        report.add("shared columns are in a different order")
    for col in common:
        if not text and str(a[col].dtype) != str(b[col].dtype):
            report.add(f"column {col}: dtype {a[col].dtype} -> {b[col].dtype}")
    if len(a) != len(b):
        report.add(f"row count {len(a):,} -> {len(b):,}")
    name = _key_column(a, b, key)
    if name is not None:
        ia, ib = a.set_index(name, drop=False), b.set_index(name, drop=False)
        only_a = ia.index.difference(ib.index, sort=False)
        only_b = ib.index.difference(ia.index, sort=False)
        for label, only in (("A", only_a), ("B", only_b)):
            if len(only):
                report.add(
                    f"{len(only):,} row(s) only in {label} by {name}: "
                    + ", ".join(map(str, only[:examples]))
                    + (" ..." if len(only) > examples else "")
                )
        shared = ia.index.intersection(ib.index, sort=False)
        keys_a = set(ia.index)
        if list(ia.index) != [k for k in ib.index if k in keys_a] and not len(only_a):
            report.note(f"(rows matched on {name}; their order differs)")
        ia, ib = ia.loc[shared], ib.loc[shared]
        labels = [f"{name}={k}" for k in shared]
    elif len(a) == len(b):
        ia, ib = a.reset_index(drop=True), b.reset_index(drop=True)
        ids = ia[_ID] if _ID in common else None
        labels = [f"row {i}" if ids is None else f"row {i} ({ids.iloc[i]})" for i in range(len(ia))]
    else:
        _compare_multiset(a[common], b[common], report, examples=examples)
        return
    equal_columns = 0
    for col in common:
        equal_columns += _compare_column(
            ia[col], ib[col], labels, report, col=col, rtol=rtol, examples=examples, text=text
        )
    report.note(f"{equal_columns} of {len(common)} shared column(s) equal on {len(ia):,} row(s)")


def _compare_column(
    sa: pd.Series,
    sb: pd.Series,
    labels: list[str],
    report: Report,
    *,
    col: str,
    rtol: float,
    examples: int,
    text: bool,
) -> bool:
    va, vb = sa.to_numpy(dtype=object), sb.to_numpy(dtype=object)
    if text:
        differ = np.flatnonzero(va != vb)
    elif pd.api.types.is_numeric_dtype(sa.dtype) and pd.api.types.is_numeric_dtype(sb.dtype):
        fa, fb = (
            sa.to_numpy(dtype=float, na_value=np.nan),
            sb.to_numpy(dtype=float, na_value=np.nan),
        )
        close = np.isclose(fa, fb, rtol=rtol, atol=0) | (np.isnan(fa) & np.isnan(fb))
        differ = np.flatnonzero(~close)
    else:
        differ = np.array([i for i in range(len(va)) if not _cell_equal(va[i], vb[i], rtol)])
    if len(differ) == 0:
        return True
    near: list[int] = []
    if text:
        na = [as_number(str(va[i])) for i in differ]
        nb = [as_number(str(vb[i])) for i in differ]
        near = [
            int(i)
            for i, x, y in zip(differ, na, nb, strict=True)
            if x is not None and y is not None and numbers_close(x, y, rtol)
        ]
    elif va.size and isinstance(next((v for v in va if not _is_null(v)), None), bytes):
        near = [int(i) for i in differ if _geometry_close(va[i], vb[i], rtol)]
    stamps = [int(i) for i in differ if is_timestamp_change(va[i], vb[i])]
    real = [int(i) for i in differ if int(i) not in set(near) | set(stamps)]
    if near:
        what = "numbers equal within rtol, text differs" if text else "coordinates within rtol"
        report.add(
            f"column {col}: {len(near):,} row(s) {what}, e.g. "
            + _examples(near, va, vb, labels, examples)
        )
    if stamps:
        report.add(
            f"column {col}: {len(stamps):,} row(s) differ in dates/times only",
            timestamp=True,
        )
    if real:
        report.add(
            f"column {col}: {len(real):,} of {len(va):,} row(s) differ, e.g. "
            + _examples(real, va, vb, labels, examples)
        )
    return False


def _examples(rows: list[int], va: Any, vb: Any, labels: list[str], examples: int) -> str:
    return "; ".join(
        f"{labels[i]}: {short(va[i], 60)} -> {short(vb[i], 60)}" for i in rows[:examples]
    )


def _compare_multiset(a: pd.DataFrame, b: pd.DataFrame, report: Report, *, examples: int) -> None:
    rows_a = Counter(map(tuple, a.astype(str).to_numpy().tolist()))
    rows_b = Counter(map(tuple, b.astype(str).to_numpy().tolist()))
    only_a, only_b = rows_a - rows_b, rows_b - rows_a
    report.note(
        f"(no unique key: rows compared as a multiset over {a.shape[1]} shared column(s); "
        f"{sum((rows_a & rows_b).values()):,} row(s) on both sides)"
    )
    for label, only in (("A", only_a), ("B", only_b)):
        if only:
            sample = "; ".join(short(list(r), 120) for r in list(only.elements())[:examples])
            report.add(f"{sum(only.values()):,} row(s) only in {label}, e.g. {sample}")


# --- files --------------------------------------------------------------------------------


def compare_parquet(a: Path, b: Path, report: Report, args: argparse.Namespace) -> None:
    """Compare two Parquet files: footer metadata, Arrow types, then the rows.

    The GeoParquet ``geo`` entry is compared as JSON (its bounding box left out:
    it follows the rows), each shared column's Arrow type, nullability and
    field metadata (a ``geoarrow.wkb`` extension, say), and the dtypes the
    ``pandas`` entry makes ``pandas`` / ``geopandas`` read back. The rows are
    read with Arrow's plain conversion, so one file's ``pandas`` entry does not
    change how the other side's values compare; geometry is WKB bytes.
    """
    import pyarrow.parquet as pq

    meta_a, meta_b = pq.read_metadata(a), pq.read_metadata(b)
    report.note(f"row groups: {meta_a.num_row_groups:,} vs {meta_b.num_row_groups:,}")
    footer_a = {k.decode(): v.decode() for k, v in (meta_a.metadata or {}).items()}
    footer_b = {k.decode(): v.decode() for k, v in (meta_b.metadata or {}).items()}
    for k in sorted(footer_a.keys() ^ footer_b.keys()):
        report.add(f"footer metadata {k}: only in {'A' if k in footer_a else 'B'}")
    if "geo" in footer_a and "geo" in footer_b:
        sub = Report()
        diff_json(_geo_meta(footer_a), _geo_meta(footer_b), "geo", sub, rtol=args.rtol)
        for line in sub.lines:
            report.add(f"GeoParquet metadata: {line}")
    dtypes_a, dtypes_b = _pandas_dtypes(footer_a), _pandas_dtypes(footer_b)
    ta, tb = pq.read_table(a), pq.read_table(b)
    for fa in ta.schema:
        if fa.name not in tb.schema.names:
            continue
        fb = tb.schema.field(fa.name)
        if fa.type != fb.type or fa.nullable != fb.nullable:
            report.add(f"column {fa.name}: Arrow type {fa.type} -> {fb.type}")
        if (fa.metadata or {}) != (fb.metadata or {}):
            keys = sorted({k.decode() for k in (fa.metadata or {}) | (fb.metadata or {})})
            report.add(f"column {fa.name}: Arrow field metadata differs ({', '.join(keys)})")
        if dtypes_a.get(fa.name) != dtypes_b.get(fa.name):
            report.add(
                f"column {fa.name}: pandas reads it as {dtypes_a.get(fa.name)} -> "
                f"{dtypes_b.get(fa.name)} (the file's pandas metadata)"
            )
    compare_frames(
        ta.to_pandas(ignore_metadata=True),
        tb.to_pandas(ignore_metadata=True),
        report,
        rtol=args.rtol,
        examples=args.examples,
        key=args.key,
    )


def _pandas_dtypes(footer: dict[str, str]) -> dict[str, str]:
    columns = json.loads(footer.get("pandas", "{}")).get("columns", [])
    return {c["name"]: f"{c.get('pandas_type')}/{c.get('numpy_type')}" for c in columns}


def _geo_meta(meta: dict[str, str]) -> Any:
    geo = json.loads(meta.get("geo", "{}"))
    for column in geo.get("columns", {}).values():
        column.pop("bbox", None)  # follows the rows, which are compared anyway
    return geo


def compare_csv(a: Path, b: Path, report: Report, args: argparse.Namespace) -> None:
    """Compare two CSV files cell by cell as text."""
    if a.read_bytes()[:3] == b"\xef\xbb\xbf" or b.read_bytes()[:3] == b"\xef\xbb\xbf":
        report.note("(a UTF-8 byte-order mark is ignored)")
    read = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}
    compare_frames(
        pd.read_csv(a, **read),
        pd.read_csv(b, **read),
        report,
        rtol=args.rtol,
        examples=args.examples,
        key=args.key,
        text=True,
    )


def compare_gpkg(a: Path, b: Path, report: Report, args: argparse.Namespace) -> None:
    """Compare every table of two GeoPackages (layers, styles, catalogue)."""
    with (
        closing(sqlite3.connect(f"file:{a}?mode=ro", uri=True)) as ca,
        closing(sqlite3.connect(f"file:{b}?mode=ro", uri=True)) as cb,
    ):
        ta, tb = _gpkg_tables(ca), _gpkg_tables(cb)
        for name in sorted(set(ta) - set(tb)):
            report.add(f"table only in A: {name}")
        for name in sorted(set(tb) - set(ta)):
            report.add(f"table only in B: {name}")
        for name in [t for t in ta if t in tb]:
            sub = Report()
            query = f'SELECT * FROM "{name}"'
            compare_frames(
                pd.read_sql_query(query, ca),
                pd.read_sql_query(query, cb),
                sub,
                rtol=args.rtol,
                examples=args.examples,
                key=args.key,
            )
            report.note(f"table {name}: {sub.verdict}")
            report.lines.extend(f"    {line}" for line in sub.lines)
            report.differences += sub.differences
            report.timestamp_only += sub.timestamp_only


def _gpkg_tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows if not GPKG_SKIP.match(name)]


def diff_json(a: Any, b: Any, path: str, report: Report, *, rtol: float) -> None:
    """Recursively compare two JSON values, one line per differing leaf or key."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                report.add(f"{path}.{k}: only in A ({short(a[k], 60)})")
        for k in b:
            if k not in a:
                report.add(f"{path}.{k}: only in B ({short(b[k], 60)})")
        if [k for k in a if k in b] != [k for k in b if k in a]:
            report.add(f"{path}: shared keys in a different order")
        for k in a:
            if k in b:
                diff_json(a[k], b[k], f"{path}.{k}", report, rtol=rtol)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            report.add(f"{path}: list length {len(a)} -> {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            diff_json(x, y, f"{path}[{i}]", report, rtol=rtol)
        return
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool):
        if not isinstance(b, bool) and numbers_close(float(a), float(b), rtol):
            return
    elif a == b:
        return
    clock = path.rsplit(".", 1)[-1] in CLOCK_KEYS
    report.add(
        f"{path}: {short(a, 70)} -> {short(b, 70)}",
        timestamp=clock or is_timestamp_change(a, b),
    )


def compare_json(a: Path, b: Path, report: Report, args: argparse.Namespace) -> None:
    """Compare two JSON files key by key."""
    sub = Report()
    diff_json(json.loads(a.read_text()), json.loads(b.read_text()), "$", sub, rtol=args.rtol)
    _merge_limited(report, sub, args.lines)


def _merge_limited(report: Report, sub: Report, limit: int) -> None:
    report.differences += sub.differences
    report.timestamp_only += sub.timestamp_only
    if sub.differences > limit:
        report.note("differences by path, numbers and codes folded to *:")
        for pattern, count in path_patterns(sub.lines).most_common(limit):
            report.note(f"  {count:>6,}  {pattern}")
    report.lines.extend(sub.lines[:limit])
    if len(sub.lines) > limit:
        report.note(f"... and {len(sub.lines) - limit:,} more")


def path_patterns(lines: list[str]) -> Counter[str]:
    """Count difference lines by their JSON path, list indexes and codes folded to ``*``.

    ``$.boroughs.E09000001.value_low_gbp: only in B`` and the same for every
    other borough count as one pattern, ``$.boroughs.*.value_low_gbp: only in B``,
    so a long diff reads as the handful of changes it is made of.
    """
    counts: Counter[str] = Counter()
    for line in lines:
        path, _, rest = line.partition(": ")
        if not path.startswith(("$", "payload", "geo")):
            continue
        path = re.sub(r"\[\d+\]", "[*]", path)
        path = ".".join("*" if re.search(r"\d", part) else part for part in path.split("."))
        what = rest.split(" (", 1)[0] if rest.startswith("only in") else "changed"
        counts[f"{path}: {what}"] += 1
    return counts


def compare_html(a: Path, b: Path, report: Report, args: argparse.Namespace) -> None:
    """Compare two pages: their JSON payloads as data, the rest line by line."""
    text_a, text_b = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    payloads_a, payloads_b = PAYLOAD.findall(text_a), PAYLOAD.findall(text_b)
    if len(payloads_a) != len(payloads_b):
        report.add(f"JSON payload count {len(payloads_a)} -> {len(payloads_b)}")
    for (tag, body_a, _), (_, body_b, _) in zip(payloads_a, payloads_b, strict=False):
        if body_a == body_b:
            report.note(f"payload {tag}: equal")
            continue
        sub = Report()
        diff_payload(json.loads(body_a), json.loads(body_b), "payload", sub, args)
        report.note(f"payload {tag}: {sub.verdict}")
        _merge_limited(report, sub, args.lines)
    rest_a = PAYLOAD.sub(r"\1...\3", text_a).splitlines()
    rest_b = PAYLOAD.sub(r"\1...\3", text_b).splitlines()
    sub = Report()
    for line in diff_lines(rest_a, rest_b):
        sub.add(line[0], timestamp=line[1])
    if sub.differences:
        report.note(f"markup and text outside the payload: {sub.differences} changed stretch(es)")
    _merge_limited(report, sub, args.lines)


def diff_payload(a: Any, b: Any, path: str, report: Report, args: argparse.Namespace) -> None:
    """``diff_json``, except that a site payload's values are compared as a table.

    Its ``fields`` with its ``columns`` (a list per field), or with ``rows``
    (a list per site, as pages written before 2026-12-06 hold them), make the
    table, so a page of either kind compares with one of the other. A site
    payload's shared ``strings`` and ``profiles`` are resolved into each
    row (see :func:`_payload_frame`) instead of being compared by position.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [k for k in a if k not in b]:
            report.add(f"{path}.{k}: only in A")
        for k in [k for k in b if k not in a]:
            report.add(f"{path}.{k}: only in B")
        tabular = _is_table(a) and _is_table(b)
        interned = tabular and _is_interned(a) and _is_interned(b)
        if tabular:
            frame_a, frame_b = _payload_frame(a), _payload_frame(b)
            sub = Report()
            compare_frames(
                frame_a, frame_b, sub, rtol=args.rtol, examples=args.examples, key=args.key
            )
            report.note(f"{path} values (as a table of its fields): {sub.verdict}")
            report.lines.extend(f"    {line}" for line in sub.lines)
            report.differences += sub.differences
            report.timestamp_only += sub.timestamp_only
        done = {"fields", "rows", "columns"} | ({"strings", "profiles"} if interned else set())
        for k in a:
            if k in b and not (tabular and k in done):
                diff_payload(a[k], b[k], f"{path}.{k}", report, args)
        return
    diff_json(a, b, path, report, rtol=args.rtol)


def _is_table(payload: dict[str, Any]) -> bool:
    """Whether ``payload`` holds ``fields`` and their values, by column or by row."""
    return "fields" in payload and ("columns" in payload or "rows" in payload)


def _is_interned(payload: dict[str, Any]) -> bool:
    """Whether rows point into shared ``profiles`` of ``strings`` (the estates site payload)."""
    return {"profile_fields", "profiles", "strings"} <= payload.keys() and "profile" in (
        payload["fields"]
    )


def _payload_frame(payload: dict[str, Any]) -> pd.DataFrame:
    """A payload's values as a table, its ``profile`` index resolved into its texts.

    The estates site payload stores the texts that repeat across sites once
    (``strings``) and gives each row the index of a ``profile``, a list of
    string indexes in ``profile_fields`` order. Two builds number these
    differently as soon as one site differs, so they are compared resolved,
    per site, as columns ``profile.<field>``; the ``profile`` index itself is
    left out.
    """
    fields = payload["fields"]
    if "columns" in payload:
        frame = pd.DataFrame(dict(zip(fields, payload["columns"], strict=True)), columns=fields)
    else:
        frame = pd.DataFrame(payload["rows"], columns=fields)
    if not _is_interned(payload):
        return frame
    strings, profiles = payload["strings"], payload["profiles"]
    resolved = [[strings[i] for i in profiles[p]] for p in frame["profile"]]
    texts = pd.DataFrame(
        resolved, columns=[f"profile.{f}" for f in payload["profile_fields"]], index=frame.index
    )
    return pd.concat([frame.drop(columns="profile"), texts], axis=1)


def diff_lines(a: list[str], b: list[str]) -> Iterator[tuple[str, bool]]:
    """Yield one description per changed stretch of lines, and whether it is a timestamp."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                old, new = a[i1 + k], b[j1 + k]
                yield (
                    f"line {i1 + k + 1}: {changed_stretch(old, new)}",
                    is_timestamp_change(old, new),
                )
            continue
        gone = " | ".join(short(line.strip(), 60) for line in a[i1:i2][:3])
        came = " | ".join(short(line.strip(), 60) for line in b[j1:j2][:3])
        yield (
            f"lines {i1 + 1}-{i2} of A ({i2 - i1}) -> lines {j1 + 1}-{j2} of B ({j2 - j1}): "
            f"{gone or '(none)'} => {came or '(none)'}",
            False,
        )


def changed_stretch(old: str, new: str, context: int = 20) -> str:
    """Where two lines first and last differ, with a little context each side."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while (
        end < min(len(old), len(new)) - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]
    ):
        end += 1
    lo = max(start - context, 0)
    a_part = old[lo : len(old) - end + context]
    b_part = new[lo : len(new) - end + context]
    return f"column {start + 1}: {short(a_part, 110)} -> {short(b_part, 110)}"


def compare_png(a: Path, b: Path, report: Report, args: argparse.Namespace) -> None:
    """Compare two images' size and pixels (their bytes already differ)."""
    try:
        from PIL import Image
    except ImportError:
        report.add(f"bytes differ ({a.stat().st_size:,} vs {b.stat().st_size:,} bytes)")
        return
    with Image.open(a) as ia, Image.open(b) as ib:
        if ia.size != ib.size:
            report.add(f"image size {ia.size} -> {ib.size}")
            return
        pa, pb = np.asarray(ia.convert("RGBA")), np.asarray(ib.convert("RGBA"))
        changed = int(np.any(pa != pb, axis=-1).sum())
        meta = {k: v for k, v in ia.info.items() if ib.info.get(k) != v}
    if changed:
        report.add(f"{changed:,} of {pa.shape[0] * pa.shape[1]:,} pixels differ")
    for k, v in meta.items():
        report.add(
            f"image metadata {k}: {short(v, 60)} -> {short(ib.info.get(k), 60)}",
            timestamp=is_timestamp_change(str(v), str(ib.info.get(k))),
        )
    if not changed and not meta:
        report.add("pixels and metadata equal; the encoded bytes differ")


COMPARERS = {
    ".parquet": compare_parquet,
    ".csv": compare_csv,
    ".gpkg": compare_gpkg,
    ".json": compare_json,
    ".html": compare_html,
    ".png": compare_png,
}


def compare_file(a: Path, b: Path, args: argparse.Namespace) -> Report:
    """Compare one file present in both folders."""
    report = Report()
    if a.read_bytes() == b.read_bytes():
        report.note(f"byte-identical ({a.stat().st_size:,} bytes)")
        return report
    report.note(f"bytes differ ({a.stat().st_size:,} vs {b.stat().st_size:,} bytes)")
    comparer = COMPARERS.get(a.suffix.lower())
    if comparer is None:
        report.add("contents differ (no reader for this file type)")
        return report
    comparer(a, b, report, args)
    if report.differences == 0:
        report.note("contents equal (same data, different encoding)")
    return report


def files_in(folder: Path) -> set[str]:
    """Paths of the files under ``folder`` (following a published build's symlink)."""
    root = folder.resolve()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    """Compare two output folders and print a report; 0 if every file is equal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir_a", type=Path, metavar="DIR_A", help="the reference build")
    parser.add_argument("dir_b", type=Path, metavar="DIR_B", help="the build to check")
    parser.add_argument("--rtol", type=float, default=1e-9, help="float tolerance (default 1e-9)")
    parser.add_argument(
        "--key", help="column matching rows of a table (default: site_code, code, ... if unique)"
    )
    parser.add_argument("--examples", type=int, default=3, help="example rows per difference")
    parser.add_argument("--lines", type=int, default=40, help="difference lines per file")
    parser.add_argument("--only", nargs="*", default=[], help="compare only these file names")
    args = parser.parse_args(argv)
    for folder in (args.dir_a, args.dir_b):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    names_a, names_b = files_in(args.dir_a), files_in(args.dir_b)
    if args.only:
        names_a &= set(args.only)
        names_b &= set(args.only)
    print(f"A: {args.dir_a}\nB: {args.dir_b}\nfloat tolerance: {args.rtol:g} relative\n")
    verdicts: dict[str, str] = {}
    for name in sorted(names_a - names_b):
        verdicts[name] = "only in A"
    for name in sorted(names_b - names_a):
        verdicts[name] = "only in B"
    for name in sorted(names_a & names_b):
        report = compare_file(args.dir_a.resolve() / name, args.dir_b.resolve() / name, args)
        verdicts[name] = report.verdict
        print(f"## {name}: {report.verdict}")
        for line in report.lines:
            print(f"  {line}")
        print()
    print("## Summary\n")
    print("| file | result |\n| --- | --- |")
    for name in sorted(verdicts):
        print(f"| {name} | {verdicts[name]} |")
    same = ("equal", "equal but for timestamps")
    return 0 if all(v in same for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
