"""The whole table's figures, added up a part at a time: one ``add(part)`` / ``result()`` each.

Every build runs in parts (one part when the input fits in memory), and every
figure that depends on the whole site table is gathered here as the parts go
by: the site keys already taken (:class:`SeenKeys`), the valuation basis
(:class:`BasisTotals`), the score's divisors (:class:`ScaleTotals`), the
counts and sums (:class:`SiteTotals`), the rows a summary list can show
(:class:`ListedRows`) and the sites each map page draws
(:class:`MapSelection`). The ranking is :class:`estates.builder.ranking.Ranking`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.builder.rows import RECONCILED_COLUMNS, run_counts
from estates.crs import WGS84
from estates.exact import ExactSum
from estates.frames import detached_rows, number_column
from estates.report.summary import largest_rows
from estates.report.tally import (
    SiteTallies,
    Tally,
    TallyKey,
    add_tallies,
    group_tallies,
    rejected_records,
)
from estates.schema import MAP_COLUMNS
from estates.stages.score import ScoreScale
from estates.stages.validate import KnownKeys, site_keys
from estates.stages.valuation import (
    ValuationBasis,
    valued_borough_counts,
    valued_mask,
    valued_owned_ha,
)

#: DuckDB's memory limit for the site keys of a build in parts; beyond it, it spills.
SEEN_KEYS_MEMORY = "128MB"


class SeenKeys:
    """The site keys of the parts read so far, to find duplicates across parts.

    The first part's keys are held as a small frame; from the second part
    on they go to DuckDB in the work folder (imported only then), which
    spills to disk, so a build of one part never starts DuckDB.
    """

    def __init__(self, work: Callable[[], Path]) -> None:
        self._work = work
        self._pending: pd.DataFrame | None = None
        self._db: Any = None

    def add(self, records: pd.DataFrame) -> KnownKeys:
        """Return the keys of ``records`` taken by earlier parts; remember the new ones."""
        keys = site_keys(records)
        chunk = pd.DataFrame(
            {
                "key": keys,
                "source_file": records["source_file"].astype(str),
                "source_row": records["source_row"].astype("int64"),
            }
        )
        chunk = chunk[chunk["key"].notna()].drop_duplicates("key", keep="first")
        if self._db is None and self._pending is None:
            self._pending = chunk
            return KnownKeys()
        if self._db is None:
            from estates.builder import duck

            # A million keys take tens of MB: no need for DuckDB's default buffer.
            self._db = duck.connect(self._work(), memory_limit=SEEN_KEYS_MEMORY)
            self._db.execute(
                "CREATE TABLE seen (key VARCHAR, source_file VARCHAR, source_row BIGINT)"
            )
            self._db.register("first_keys", self._pending)
            self._db.execute("INSERT INTO seen SELECT * FROM first_keys")
            self._db.unregister("first_keys")
            self._pending = None
        db = self._db
        db.register("chunk_keys", chunk)
        earlier = db.execute(
            "SELECT s.key, s.source_file, s.source_row FROM seen s JOIN chunk_keys c USING (key)"
        ).fetchall()
        db.execute(
            "INSERT INTO seen SELECT key, source_file, source_row FROM chunk_keys "
            "WHERE key NOT IN (SELECT key FROM seen WHERE key IN (SELECT key FROM chunk_keys))"
        )
        db.unregister("chunk_keys")
        return KnownKeys({key: (src, int(row)) for key, src, row in earlier})

    def close(self) -> None:
        """Close DuckDB, if it was started, and forget the keys."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._pending = None


class BasisTotals:
    """The whole table's valuation basis (:class:`~estates.stages.valuation.ValuationBasis`)."""

    def __init__(self, *, target_gbp: float) -> None:
        self.target_gbp = target_gbp
        self._owned = ExactSum()
        self._valued: Counter[str] = Counter()
        self.owning_sites = 0

    def add(self, sites: pd.DataFrame) -> None:
        """Add a part of the located, joined site table."""
        self._owned.add(valued_owned_ha(sites))
        self._valued.update({str(k): int(v) for k, v in valued_borough_counts(sites).items()})
        owned = number_column(sites, "land_owned_ha")
        self.owning_sites += int((valued_mask(sites) & (owned > 0)).sum())

    def result(self) -> ValuationBasis:
        """Return the basis of every part added."""
        return ValuationBasis(self._owned.result(), dict(self._valued))


class ScaleTotals:
    """The score's divisors over the whole table (:class:`~estates.stages.score.ScoreScale`)."""

    def __init__(self) -> None:
        self._scale = ScoreScale()

    def add(self, valued: pd.DataFrame) -> None:
        """Add a part of the valued site table."""
        self._scale = self._scale | ScoreScale.of(valued)

    def result(self) -> ScoreScale:
        """Return the divisors of every part added."""
        return self._scale


class SiteTotals:
    """Counts and sums of the records and of the site table, for ``summary.json``.

    :meth:`add_records` takes each part's input records and its kept sites
    (before they are scored); :meth:`add_sites` each ranked part.
    """

    def __init__(self, groupings: pd.DataFrame) -> None:
        self.groupings = groupings
        self._groups: dict[TallyKey, Tally] = {}
        self._records = Tally()
        self._rejected_tally = Tally()
        self.rows_in = 0
        self.rows_kept = 0
        self.source_files: set[str] = set()
        self.located_by: Counter[str] = Counter()
        self.joins: Counter[str] = Counter()
        self._rejected: list[pd.DataFrame] = []

    def add_records(self, records: pd.DataFrame, sites: pd.DataFrame) -> None:
        """Add a part's input records and the sites kept from them."""
        rejected = rejected_records(records, sites)
        self.rows_in += len(records)
        self.source_files.update(records["source_file"].astype(str).unique())
        self._records = self._records + Tally.of(records)
        self._rejected_tally = self._rejected_tally + Tally.of(rejected)
        columns = [c for c in RECONCILED_COLUMNS if c in records]
        # Detached: a slice of the part (no rejected row gives one) would keep all its text.
        self._rejected.append(detached_rows(largest_rows(rejected[columns])))
        # Counted as columns (value_counts), not a Python step per site; the
        # counts are read by key (run_counts), so their order does not matter.
        self.located_by.update(_counts(sites["located_by"].astype(str)))
        self.joins.update(_counts(sites["join_method"].astype("string").fillna("not_located")))

    def add_sites(self, ranked: pd.DataFrame) -> None:
        """Add a ranked part of the site table."""
        self.rows_kept += len(ranked)
        add_tallies(self._groups, group_tallies(ranked, self.groupings))

    def tallies(self) -> SiteTallies:
        """Return the counts and sums of every part added, as the reports take them."""
        return SiteTallies(
            groups=dict(self._groups),
            records=self._records,
            rejected=self._rejected_tally,
            source_files=tuple(sorted(self.source_files)),
        )

    def rejected_rows(self) -> pd.DataFrame:
        """Return the rejected records a reconciliation list may show (each part's largest)."""
        return pd.concat(self._rejected) if self._rejected else pd.DataFrame()

    def counts(self, by_check: dict[str, Counter[str]]) -> dict[str, Any]:
        """Return ``summary.json``'s ``counts`` (:func:`estates.builder.rows.run_counts`)."""
        return run_counts(
            self.rows_in,
            self.rows_kept,
            located_by=self.located_by,
            joins=self.joins,
            by_check=by_check,
        )


class ListedRows:
    """The rows some summary list can show: top-ranked per group, largest per bucket, tracked.

    Kept while the ranked parts go by, so the summary needs only these, not
    the whole table.
    """

    def __init__(self, pipeline_records: pd.DataFrame | None) -> None:
        self.tracked = _pipeline_codes(pipeline_records)
        self._kept: list[pd.DataFrame] = []

    def add(self, ranked: pd.DataFrame) -> None:
        """Keep the listed rows of a ranked part."""
        self._kept.append(ranked.loc[_listed(ranked, self.tracked)])

    def result(self) -> pd.DataFrame | None:
        """Return the kept rows, in input order (None if no part was added)."""
        return pd.concat(self._kept) if self._kept else None


class MapSelection:
    """The sites some map page draws, kept while the parts go by.

    At most ``limit`` rows per page (London and each pilot), and only the
    columns the maps read, so its size does not grow with the site file. The
    kept rows hold their longitude and latitude as numbers, and the keys that
    choose a page's best (rank, unused land, site code, pilots) are read once
    per row as it arrives: a shapely point per kept site, and the keys of
    every kept row read again for each part, cost memory and time that grew
    with the selection. The points are drawn once, by :meth:`result`.

    The drawn rows of the parts wait until at least ``limit`` of them have
    come, and are weighed against the kept ones then, all at once: the best
    of the kept and the new rows is the best of every row so far, so each
    weighing (a sort of every kept row) is done a few times per ``limit``
    rows rather than once per part (2.2 of 2.9 s at a million sites, in
    parts of 25,000 rows).
    """

    def __init__(self, limit: int, pilot_ids: list[str]) -> None:
        self.limit, self.pilot_ids = limit, pilot_ids
        self.totals: dict[str, int] = {"london": 0, **dict.fromkeys(pilot_ids, 0)}
        self._kept: pd.DataFrame | None = None
        self._keys: _PageKeys | None = None
        # Text columns of few values, kept as categoricals (their dtypes as given).
        self._coded: dict[str, Any] | None = None
        # Drawn rows not yet weighed against the kept ones, with their keys.
        self._waiting: list[tuple[pd.DataFrame, _PageKeys]] = []
        self._waiting_rows = 0

    def add(self, sites: gpd.GeoDataFrame) -> None:
        """Count a ranked part's drawn sites per page and keep each page's best so far.

        A site is drawn when it is in London with a longitude and a latitude
        (so its point, built from them, is a point); each page keeps its
        best as :func:`estates.render.selection.page_sites` chooses them.
        """
        drawn = (
            sites["in_london"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            & sites["longitude"].notna().to_numpy()
            & sites["latitude"].notna().to_numpy()
        )
        # Membership per distinct text of the column (a few pilot lists), not per row.
        listed, lists = pd.factorize(sites["pilots"].astype("string").fillna(""))
        self.totals["london"] += int(drawn.sum())
        for pid in self.pilot_ids:
            member = np.array([pid in text.split(";") for text in lists], dtype=bool)
            self.totals[pid] += int((drawn & member[listed]).sum())
        here = sites.loc[drawn, [*MAP_COLUMNS, "longitude", "latitude"]]
        self._waiting.append((here, _PageKeys.of(here, self.pilot_ids)))
        self._waiting_rows += len(here)
        if self._waiting_rows >= self.limit:
            self._weigh()

    def _weigh(self) -> None:
        """Keep each page's best of the kept rows and the waiting ones; none waits after."""
        if not self._waiting:
            return
        frames, parts = zip(*self._waiting, strict=True)
        self._waiting, self._waiting_rows = [], 0
        here = pd.concat(frames) if len(frames) > 1 else frames[0]
        keys = functools.reduce(_PageKeys.then, parts)
        here = self._encode(here)
        if self._kept is None or self._keys is None:
            joined, keys_joined = here, keys
        else:
            joined, keys_joined = pd.concat([self._kept, here]), self._keys.then(keys)
        keep = keys_joined.best(self.limit)
        if keep.all():
            self._kept, self._keys = joined, keys_joined
        else:
            self._kept, self._keys = joined.loc[keep], keys_joined.take(keep)

    def _encode(self, here: pd.DataFrame) -> pd.DataFrame:
        """Return ``here`` with its repetitive text columns as categoricals of the kept rows'.

        Texts such as ``valuation_source`` repeat one of a few values on every
        row: as a categorical each row costs a code, not its text (about half
        the selection's memory at a million sites). Which columns are coded is
        settled by the first rows kept: a text column with at most a quarter
        as many distinct values as rows. A new value is added to the kept
        rows' categories, so every part shares them and concatenates as one.
        """
        if self._coded is None:
            if not len(here):
                return here
            # Only empty parts came before: nothing kept to code.
            self._kept, self._keys = None, None
            self._coded = {
                column: here[column].dtype
                for column in here.columns
                if isinstance(here[column].dtype, pd.StringDtype)
                and here[column].nunique(dropna=True) * 4 <= len(here)
            }
        coded = here.copy(deep=False)
        for column in self._coded:
            new = coded[column].astype("category")
            if self._kept is not None:
                categories = self._kept[column].cat.categories
                union = categories.append(new.cat.categories.difference(categories, sort=False))
                if len(union) > len(categories):
                    self._kept[column] = self._kept[column].cat.set_categories(union)
                new = new.cat.set_categories(union)
            coded[column] = new
        return coded

    def result(self) -> gpd.GeoDataFrame:
        """Return the kept sites, in input order, with WGS84 points from their coordinates."""
        self._weigh()
        if self._kept is None:
            msg = "no part was added"
            raise ValueError(msg)
        kept = self._kept.astype(self._coded or {})
        return gpd.GeoDataFrame(
            kept[list(MAP_COLUMNS)],
            geometry=gpd.points_from_xy(kept["longitude"], kept["latitude"]),
            crs=WGS84,
        )


class _PageKeys(NamedTuple):
    """What chooses a page's best sites, one entry per drawn site, read as the maps read it.

    ``rank``, ``unused`` and ``codes`` as :func:`estates.render.selection.on_some_page`
    reads ``disposal_rank``, ``land_unused_ha`` and ``site_code``;
    ``in_pilot[:, k]``: whether the site's ``pilots`` list names the k-th pilot.
    """

    rank: np.ndarray
    unused: np.ndarray
    codes: np.ndarray
    in_pilot: np.ndarray

    @classmethod
    def of(cls, here: pd.DataFrame, pilot_ids: list[str]) -> _PageKeys:
        """Return the keys of the drawn sites ``here``."""
        from estates.render.columns import number_values, split_list, text_codes, text_values

        what = "sites"
        listed, lists = text_codes(here, "pilots")
        named = [split_list(text) for text in lists]
        member = np.array([[pid in n for pid in pilot_ids] for n in named], dtype=bool)
        in_pilot = member.reshape(len(named), len(pilot_ids))[listed]
        return cls(
            rank=number_values(here, "disposal_rank", what),
            unused=number_values(here, "land_unused_ha", what),
            codes=np.array(text_values(here, "site_code"), dtype=object),
            in_pilot=in_pilot,
        )

    def then(self, other: _PageKeys) -> _PageKeys:
        """Return these keys followed by ``other``'s."""
        return _PageKeys(*(np.concatenate(pair) for pair in zip(self, other, strict=True)))

    def take(self, rows: np.ndarray) -> _PageKeys:
        """Return the keys of ``rows`` (a mask)."""
        return _PageKeys(*(field[rows] for field in self))

    def best(self, limit: int) -> np.ndarray:
        """Return which sites London's page or a pilot's page keeps (``limit`` each)."""
        from estates.render.selection import best_of

        every = np.ones(len(self.rank), dtype=bool)
        keys = {"rank": self.rank, "unused": self.unused, "codes": self.codes}
        keep = best_of(every, limit, **keys)
        for k in range(self.in_pilot.shape[1]):
            keep |= best_of(self.in_pilot[:, k], limit, **keys)
        return keep


#: The columns that say a row's reconciliation bucket and its land, for :func:`_listed`.
_BUCKET_COLUMNS = ("in_london", "located_by", "land_unused_ha", "land_owned_ha")


def _counts(values: pd.Series) -> dict[str, int]:
    """Return how many times each value of ``values`` occurs, keyed by its text."""
    return {str(k): int(v) for k, v in values.value_counts(sort=False).items()}


def _pipeline_codes(records: pd.DataFrame | None) -> frozenset[str]:
    """Return the distinct site codes a pipeline file names."""
    if records is None or "site_code" not in records:
        return frozenset()
    return frozenset(records["site_code"].dropna().astype("string").str.strip().tolist())


def _listed(sites: pd.DataFrame, tracked: frozenset[str]) -> np.ndarray:
    """Rows a summary list could show: top-ranked per group, largest per bucket, tracked."""
    from estates.report.aggregate import TOP_N
    from estates.report.summary import reconciliation_frames

    keep = np.zeros(len(sites), dtype=bool)
    sub = pd.to_numeric(sites["subregion_rank"], errors="coerce").to_numpy(dtype=float)
    keep |= sub <= TOP_N
    keep |= _pilot_best(sites["pilot_ranks"], TOP_N)
    # The buckets and their largest rows need these columns, not copies of the whole part.
    bucketed = sites[[c for c in _BUCKET_COLUMNS if c in sites]]
    frames = reconciliation_frames(bucketed.iloc[:0], bucketed)
    position = pd.Series(np.arange(len(sites)), index=sites.index)
    for key, frame in frames.items():
        if key != "rejected":
            keep[position[largest_rows(frame).index].to_numpy()] = True
    if len(tracked):
        # Each of this part's codes looked up in the set: ``isin(tracked)`` would
        # hash the whole pipeline file's codes again for every part.
        codes = sites["site_code"].astype("string").str.strip().fillna("").tolist()
        keep |= np.fromiter((c in tracked for c in codes), dtype=bool, count=len(codes))
    return keep


def _pilot_best(pilot_ranks: pd.Series, top_n: int) -> np.ndarray:
    """Which rows rank at most ``top_n`` in some pilot (``pilot_ranks``: ``id:rank;...``).

    Most rows rank far below ``top_n`` in every pilot: a row whose every
    rank is a whole number with more digits than ``top_n`` (no leading zero)
    is passed over by one regular expression on the whole column; only the
    others are read rank by rank, a Python step each.
    """
    texts = pilot_ranks.astype("string").fillna("")
    digits = len(str(top_n))
    # Pieces split at ';'; a piece's rank is what follows its last ':'.
    below = f"(;*[^;]*:[1-9][0-9]{{{digits},}})*;*"
    best = np.zeros(len(texts), dtype=bool)
    asked = np.flatnonzero(~texts.str.fullmatch(below).to_numpy(dtype=bool))
    best[asked] = [
        any(int(x.rpartition(":")[2]) <= top_n for x in t.split(";") if x)
        for t in texts.iloc[asked].tolist()
    ]
    return best
