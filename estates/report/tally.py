"""Counts and sums of the site table that add up across chunks: :class:`Tally`.

Every total in ``summary.json`` and on the borough layer is a count or a sum
over a group of sites (London, a borough, a pilot, a reconciliation bucket).
A :class:`Tally` holds them for one group; tallies of two sets of rows add up
to the tally of both. The build engine (:mod:`estates.builder.engine`) tallies
each part of the table and adds them up, so a build in one part and one in
many share one definition of every total.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from estates.exact import add_exactly
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
    #: Exact partials of each column's sum (:func:`estates.exact.add_exactly`), so a
    #: tally added up in parts totals exactly as the whole.
    sums: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict.fromkeys(SUMMED, ()))
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMED, 0))

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Tally:
        """Return the tally of every row of ``frame``."""
        out = cls(rows=len(frame))
        if not len(frame):
            return out
        for column in SUMMED:
            values = number_column(frame, column)
            out.sums[column] = add_exactly((), values.dropna().to_numpy(dtype="float64"))
            out.present[column] = int(values.notna().sum())
        out.with_unused = int((number_column(frame, "land_unused_ha") > 0).sum())
        if "disposal_rank" in frame:
            out.ranked = int(frame["disposal_rank"].notna().sum())
        return out

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


def add_tallies(into: dict[TallyKey, Tally], more: dict[TallyKey, Tally]) -> None:
    """Add every tally of ``more`` to the same key of ``into``."""
    for key, tally in more.items():
        into[key] = into[key] + tally if key in into else tally


def site_tallies(sites: pd.DataFrame, groupings: pd.DataFrame) -> dict[TallyKey, Tally]:
    """Return the tallies ``summary.json`` and the borough layer are built from.

    Keys: ``("london",)``, ``("outside",)``, ``("unlocated",)`` and
    ``("aggregate",)`` (the reconciliation buckets of the site table),
    ``("borough", code)`` for each borough with London sites, and
    ``("pilot", id)`` / ``("subregion", id)`` for each group in ``groupings``.
    Only rows located inside London count towards boroughs and groups.
    """
    london = flag_column(sites, "in_london").to_numpy()
    located_by = (
        sites["located_by"].astype("string").fillna("")
        if "located_by" in sites
        else pd.Series("", index=sites.index, dtype="string")
    )
    aggregate = located_by.eq("aggregate").to_numpy(dtype=bool)
    unlocated = located_by.eq("unlocated").to_numpy(dtype=bool) & ~aggregate
    outside = ~london & ~aggregate & ~unlocated
    out: dict[TallyKey, Tally] = {
        ("london",): Tally.of(sites.loc[london]),
        ("outside",): Tally.of(sites.loc[outside]),
        ("unlocated",): Tally.of(sites.loc[unlocated]),
        ("aggregate",): Tally.of(sites.loc[aggregate]),
    }
    in_london = sites.loc[london]
    if "borough_code" not in in_london:
        return out
    codes = in_london["borough_code"].astype("string")
    for code, rows in in_london.groupby(codes, sort=False):
        out[("borough", str(code))] = Tally.of(rows)
    for (group_type, gid), members in _members(groupings):
        out[(group_type, gid)] = Tally.of(in_london.loc[codes.isin(members).to_numpy()])
    return out


def _members(groupings: pd.DataFrame) -> Iterable[tuple[tuple[str, str], list[str]]]:
    for group_type in ("pilot", "subregion"):
        rows = groupings[groupings["group_type"] == group_type]
        for gid in dict.fromkeys(rows["group_id"]):
            yield (group_type, gid), list(rows.loc[rows["group_id"] == gid, "borough_code"])
