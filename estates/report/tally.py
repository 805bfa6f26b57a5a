"""Counts and sums of the site table that add up across chunks: :class:`Tally`.

Every total in ``summary.json`` and on the borough layer is a count or a sum
over a group of sites (London, a borough, a pilot, a reconciliation bucket).
A :class:`Tally` holds them for one group; tallies of two sets of rows add up
to the tally of both. :class:`SiteTallies` holds every tally the reports read:
:func:`site_tallies` computes it for a table in memory, and the build engine's
accumulator (:class:`estates.builder.accumulators.SiteTotals`) adds it up part
by part, so a build in one part and one in many share one definition of every
total, and the report functions take it the same way from either.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from estates.exact import add_exactly, exact_partials
from estates.frames import flag_column, number_column

#: The columns a tally sums.
SUMMED = (
    "land_owned_ha",
    "land_unused_ha",
    "estimated_value_gbp",
    "value_low_gbp",
    "value_high_gbp",
    "backlog_total_gbp",
)

TallyKey = tuple[Hashable, ...]
#: The columns :func:`group_tallies` reads.
_TALLIED = (*SUMMED, "disposal_rank", "in_london", "located_by", "borough_code")


@dataclass
class Tally:
    """Rows, rows with unused land, ranked rows, and the sums of :data:`SUMMED`.

    ``present`` counts the rows that have a value, so that a group whose rows
    all lack a value can say "unknown" rather than 0.

    Examples
    --------
    >>> f = pd.DataFrame({"land_owned_ha": [2.0, float("nan")], "land_unused_ha": [1.0, 0.0]})
    >>> t = Tally.of(f) + Tally.of(f.iloc[:1])
    >>> t.rows, t.with_unused, t.total("land_owned_ha"), t.total("estimated_value_gbp")
    (3, 2, 4.0, nan)
    >>> Tally().total("land_owned_ha"), Tally.of(f).total("backlog_total_gbp", missing=0.0)
    (0.0, 0.0)
    """

    rows: int = 0
    with_unused: int = 0
    ranked: int = 0
    #: Exact partials of each column's sum (:func:`estates.exact.exact_partials`,
    #: added with :func:`estates.exact.add_exactly`), so a tally added up in parts
    #: totals exactly as the whole.
    sums: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict.fromkeys(SUMMED, ()))
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMED, 0))

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Tally:
        """Return the tally of every row of ``frame``."""
        return TallyColumns.of(frame).tally(np.ones(len(frame), dtype=bool))

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            rows=self.rows + other.rows,
            with_unused=self.with_unused + other.with_unused,
            ranked=self.ranked + other.ranked,
            sums={c: add_exactly(self.sums[c], other.sums[c]) for c in SUMMED},
            present={c: self.present[c] + other.present[c] for c in SUMMED},
        )

    def total(self, column: str, *, missing: float = math.nan) -> float:
        """Return the sum of ``column``: 0.0 with no rows, ``missing`` when no row has a value."""
        if self.rows == 0:
            return 0.0
        if self.present[column] == 0:
            return missing
        return math.fsum(self.sums[column]) + 0.0


@dataclass(frozen=True)
class TallyColumns:
    """The columns a :class:`Tally` reads, taken from a frame once as numpy arrays.

    A table split into many groups (boroughs, pilots, buckets, years) is read
    once and each group's tally taken by a boolean mask, rather than every
    column converted again for every group.

    Attributes
    ----------
    numbers : dict of str to numpy.ndarray
        Each column of :data:`SUMMED` as float64 (:func:`estates.frames.number_column`).
    ranked : numpy.ndarray or None
        Where ``disposal_rank`` is set; None when the frame has no such column.
    """

    numbers: Mapping[str, np.ndarray]
    ranked: np.ndarray | None

    @classmethod
    def of(cls, frame: pd.DataFrame) -> TallyColumns:
        """Return the columns of ``frame`` a tally reads."""
        numbers = {c: number_column(frame, c).to_numpy(dtype="float64") for c in SUMMED}
        ranked = frame["disposal_rank"].notna().to_numpy() if "disposal_rank" in frame else None
        return cls(numbers=numbers, ranked=ranked)

    def tally(self, where: np.ndarray) -> Tally:
        """Return the tally of the rows where the boolean array ``where`` holds."""
        return self._tally(where, int(np.count_nonzero(where)))

    def tally_at(self, rows: np.ndarray) -> Tally:
        """Return the tally of the rows at the ascending positions ``rows``.

        The same tally as :meth:`tally` of a mask of those rows, down to the
        order the values are summed in.
        """
        return self._tally(rows, len(rows))

    def _tally(self, where: np.ndarray, count: int) -> Tally:
        """Return the tally of the ``count`` rows ``where`` picks (a mask or positions)."""
        out = Tally(rows=count)
        if not out.rows:
            return out
        for column in SUMMED:
            values = self.numbers[column][where]
            present = values[~np.isnan(values)]
            out.sums[column] = exact_partials(present)
            out.present[column] = len(present)
        out.with_unused = int(np.count_nonzero(self.numbers["land_unused_ha"][where] > 0))
        if self.ranked is not None:
            out.ranked = int(np.count_nonzero(self.ranked[where]))
        return out


def add_tallies(into: dict[TallyKey, Tally], more: dict[TallyKey, Tally]) -> None:
    """Add every tally of ``more`` to the same key of ``into``."""
    for key, tally in more.items():
        into[key] = into[key] + tally if key in into else tally


def group_tallies(sites: pd.DataFrame, groupings: pd.DataFrame) -> dict[TallyKey, Tally]:
    """Return the tallies of each group of ``sites``: London, buckets, boroughs, pilots.

    Keys: ``("london",)``, ``("outside",)``, ``("unlocated",)`` and
    ``("aggregate",)`` (the reconciliation buckets of the site table),
    ``("borough", code)`` for each borough with London sites, and
    ``("pilot", id)`` / ``("subregion", id)`` for each group in ``groupings``.
    Only rows located inside London count towards boroughs and groups.
    """
    # The groups' rows are taken from these columns alone, not the whole table.
    sites = sites[[c for c in _TALLIED if c in sites]]
    london = flag_column(sites, "in_london").to_numpy()
    located_by = (
        sites["located_by"].astype("string").fillna("")
        if "located_by" in sites
        else pd.Series("", index=sites.index, dtype="string")
    )
    aggregate = located_by.eq("aggregate").to_numpy(dtype=bool)
    unlocated = located_by.eq("unlocated").to_numpy(dtype=bool) & ~aggregate
    outside = ~london & ~aggregate & ~unlocated
    columns = TallyColumns.of(sites)
    out: dict[TallyKey, Tally] = {
        ("london",): columns.tally(london),
        ("outside",): columns.tally(outside),
        ("unlocated",): columns.tally(unlocated),
        ("aggregate",): columns.tally(aggregate),
    }
    if "borough_code" not in sites:
        return out
    codes = sites["borough_code"].astype("string").where(london)
    # Boroughs in the order their first London row comes, as a groupby without sorting.
    number, names = pd.factorize(codes, sort=False)
    # Each borough's rows are one run of a stable sort, in their order: the
    # columns are read once per borough's rows, not once per borough whole.
    order = np.argsort(number, kind="stable")
    bounds = np.searchsorted(number[order], np.arange(len(names) + 1))
    runs = {str(code): order[bounds[i] : bounds[i + 1]] for i, code in enumerate(names)}
    for code, rows in runs.items():
        out[("borough", code)] = columns.tally_at(rows)
    for (group_type, gid), members in _members(groupings):
        # Its boroughs' rows, back in table order.
        held = [runs[code] for code in dict.fromkeys(members) if code in runs]
        rows = np.sort(np.concatenate(held)) if held else np.empty(0, dtype=np.intp)
        out[(group_type, gid)] = columns.tally_at(rows)
    return out


@dataclass(frozen=True)
class SiteTallies:
    """Every whole-table count and sum the reports read, for the whole site table.

    Build it with :func:`site_tallies` for a table in memory; a build in parts
    adds it up part by part (:class:`estates.builder.accumulators.SiteTotals`).

    Attributes
    ----------
    groups : Mapping
        :func:`group_tallies` of the whole site table.
    records : Tally
        Every input record, before validation.
    rejected : Tally
        The input records validation rejected (not in the site table).
    source_files : tuple of str
        The input files' names, sorted.
    """

    groups: Mapping[TallyKey, Tally]
    records: Tally
    rejected: Tally
    source_files: tuple[str, ...]

    def of(self, *key: Hashable) -> Tally:
        """Return the tally of the group ``key`` (``"london"``; ``"borough", code``), empty if none.

        Examples
        --------
        >>> t = site_tallies(pd.DataFrame({"in_london": [True], "land_owned_ha": [2.0]}))
        >>> t.of("london").total("land_owned_ha"), t.of("borough", "E09000007").rows
        (2.0, 0)
        """
        return self.groups.get(key, Tally())


#: Groupings with no group: tallies of London, its buckets and boroughs only.
NO_GROUPS = pd.DataFrame({"group_type": [], "group_id": [], "borough_code": []})


def site_tallies(
    sites: pd.DataFrame,
    groupings: pd.DataFrame = NO_GROUPS,
    *,
    records: pd.DataFrame | None = None,
) -> SiteTallies:
    """Return the :class:`SiteTallies` of a whole site table held in memory.

    Parameters
    ----------
    sites : pandas.DataFrame
        The whole site table (``in_london``, ``located_by``, ``borough_code``,
        land and value columns); left unchanged.
    groupings : pandas.DataFrame, optional
        Pilot and sub-region memberships; default: none.
    records : pandas.DataFrame, optional
        Every input record before validation (``source_file``, ``source_row``),
        for the reconciliation; default: the rows of ``sites`` (none rejected).

    Returns
    -------
    SiteTallies

    Examples
    --------
    >>> records = pd.DataFrame({"source_file": "f.csv", "source_row": [2, 3],
    ...     "land_owned_ha": [5.0, 1.0]})
    >>> t = site_tallies(records.iloc[:1].assign(in_london=True), records=records)
    >>> t.records.rows, t.rejected.total("land_owned_ha"), t.source_files
    (2, 1.0, ('f.csv',))
    """
    records = sites if records is None else records
    files = records["source_file"].astype(str) if "source_file" in records else pd.Series([])
    return SiteTallies(
        groups=group_tallies(sites, groupings),
        records=Tally.of(records),
        rejected=Tally.of(rejected_records(records, sites)),
        source_files=tuple(sorted(set(files))),
    )


def rejected_records(records: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of ``records`` not in ``sites`` (by ``source_file``, ``source_row``).

    Examples
    --------
    >>> r = pd.DataFrame({"source_file": "f.csv", "source_row": [2, 3]})
    >>> rejected_records(r, r.iloc[1:])["source_row"].tolist()
    [2]
    """
    if "source_row" not in records or "source_row" not in sites:
        return records.iloc[:0]
    files, rows = records["source_file"].astype(str), records["source_row"].astype("int64")
    kept_files, kept_rows = sites["source_file"].astype(str), sites["source_row"].astype("int64")
    # The same records in the same order (each ERIC year's rows, all kept): none rejected.
    if np.array_equal(rows.to_numpy(), kept_rows.to_numpy()) and np.array_equal(
        files.to_numpy(dtype=object), kept_files.to_numpy(dtype=object)
    ):
        return records.iloc[:0]
    # Hashed as columns, not a Python tuple per row: a part holds 200,000 records.
    kept = pd.MultiIndex.from_arrays([kept_files, kept_rows])
    keys = pd.MultiIndex.from_arrays([files, rows])
    return records.loc[~keys.isin(kept)]


def _members(groupings: pd.DataFrame) -> Iterable[tuple[tuple[str, str], list[str]]]:
    for group_type in ("pilot", "subregion"):
        rows = groupings[groupings["group_type"] == group_type]
        for gid in dict.fromkeys(rows["group_id"]):
            yield (group_type, gid), list(rows.loc[rows["group_id"] == gid, "borough_code"])
