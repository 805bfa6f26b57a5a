"""Rank the whole site table's candidates, a part at a time: :class:`Ranking`.

Each part of the scored table hands its candidates' sort keys and listed
columns to :meth:`Ranking.add` (numbers, the site code as Arrow text, the
repeated texts as codes: about 45 bytes a candidate, never the part itself);
:meth:`Ranking.result` sorts the keys once and returns the :class:`Ranks` of
every part, plus the running totals against the target. The site names are
read back from the parts only for the candidates the running totals list.
A file of ten million sites has millions of candidates, so what each one
costs, kept and while sorting, sets the build's peak memory.
The order is :func:`estates.stages.score.rank_sites`'s: score (highest first),
site code, trust code, then input order; the ranks within a sub-region and
within a pilot follow from that one order. So a table ranked in parts gets
the ranks it would get ranked whole, whatever the parts.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from estates.frames import number_column
from estates.logs import counted
from estates.report.disposal import RunningTotals

log = logging.getLogger("estates")

#: Rows handed to :class:`~estates.report.disposal.RunningTotals` at a time.
_BATCH_ROWS = 100_000
#: The columns :meth:`Ranking.add` keeps of each candidate (its score aside).
_KEPT = (
    "land_unused_ha",
    "estimated_value_gbp",
    "site_code",
    "trust_code",
    "subregion",
    "pilots",
    "borough_name",
)


def _text(frame: pd.DataFrame, column: str, *, fill: str | None) -> pd.Series:
    """Return ``frame[column]`` as text (``fill`` where missing); all ``fill`` if no such column."""
    if column not in frame:
        return pd.Series(fill, index=frame.index, dtype="string")
    values = frame[column].astype("string")
    return values if fill is None else values.fillna(fill)


def _arrow_text(values: pd.Series) -> pa.Array:
    return pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.string())


def _smallest(count: int) -> type[np.signedinteger]:
    """Return the smallest signed integer type that holds ``-1`` to ``count``."""
    for kind in (np.int8, np.int16, np.int32):
        if count < np.iinfo(kind).max:
            return kind
    return np.int64


class _Codes:
    """A text column as integer codes into the values seen so far (-1 for missing).

    The sub-region, pilots, trust and borough repeat a few values across a
    whole file: a code costs a byte or two a candidate where the text costs
    its length plus an offset. The values are shared by every part, so the
    codes of all parts index one list, however many distinct values there are.
    """

    def __init__(self) -> None:
        self.values: list[str] = []
        self._code: dict[str, int] = {}
        self._parts: list[np.ndarray] = []

    def add(self, values: pd.Series) -> None:
        """Code the next part's ``values`` (text, missing as NA)."""
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        for value in uniques.tolist():
            if value not in self._code:
                self._code[value] = len(self.values)
                self.values.append(value)
        known = np.array([self._code[v] for v in uniques.tolist()] + [-1], dtype=np.int64)
        self._parts.append(known[local].astype(_smallest(len(self.values))))

    def codes(self) -> np.ndarray:
        """Return every part's codes, in order, as one array (the parts are let go)."""
        parts, self._parts = self._parts, []
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)
        return out.astype(_smallest(len(self.values)), copy=False)

    def sort_ranks(self) -> np.ndarray:
        """Return each value's place among the values sorted as Arrow sorts text (by code point)."""
        order = np.asarray(pc.sort_indices(pa.array(self.values, type=pa.string())), dtype=np.int64)
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order))
        return ranks


class Ranking:
    """The sort keys of every candidate, gathered part by part; see the module docstring.

    What a candidate costs is kept small, since a file of ten million sites
    has millions of candidates: its row, score, unused land and value as
    numbers, its site code as Arrow text (missing as null), and the trust,
    sub-region, pilots and borough as codes (:class:`_Codes`). Its name is
    not kept: only the few thousand candidates the summary lists show one,
    and :meth:`result` reads theirs from the parts.
    """

    def __init__(self, *, target_gbp: float) -> None:
        self.target_gbp = target_gbp
        self._starts: list[int] = []
        self._candidates = 0
        self._rows: list[np.ndarray] = []
        self._score: list[np.ndarray] = []
        self._land: list[np.ndarray] = []
        self._value: list[np.ndarray] = []
        self._site: list[pa.Array] = []
        self._trust = _Codes()
        self._subregion = _Codes()
        self._pilots = _Codes()
        self._borough = _Codes()

    def add(self, scored: pd.DataFrame) -> None:
        """Add the next part of the scored table (:func:`~estates.stages.score.score_unused_land`).

        Parts are added in input order; a part with no candidate adds nothing.
        """
        score = number_column(scored, "disposal_score")
        candidate = score.notna().to_numpy()
        rows = scored.loc[candidate, [c for c in _KEPT if c in scored.columns]]
        self._starts.append(self._candidates)
        self._candidates += len(rows)
        self._rows.append(np.flatnonzero(candidate).astype(_smallest(len(scored))))
        self._score.append(score[candidate].to_numpy(dtype=float))
        self._land.append(number_column(rows, "land_unused_ha").to_numpy(dtype=float))
        self._value.append(number_column(rows, "estimated_value_gbp").to_numpy(dtype=float))
        self._site.append(_arrow_text(_text(rows, "site_code", fill=None)))
        self._trust.add(_text(rows, "trust_code", fill=""))
        self._subregion.add(_text(rows, "subregion", fill=None))
        self._pilots.add(_text(rows, "pilots", fill=""))
        self._borough.add(_text(rows, "borough_name", fill=None))

    def result(
        self,
        release: Callable[[], None] | None = None,
        *,
        names: Callable[[int], pd.DataFrame],
    ) -> Ranks:
        """Sort every candidate once and return the ranks and running totals.

        ``release``, if given, is called after each step that frees memory
        (:func:`estates.builder.memory.release_freed_memory` in a build in
        parts), so the steps' working memory does not pile up. ``names(i)``
        returns part ``i`` (as added) with at least its ``site_name`` column,
        if it has one; it is asked only for the parts that hold a listed
        candidate.
        """
        release = release or (lambda: None)
        n = self._candidates
        rows = _joined(self._rows, np.int64)
        self._rows = []
        order = self._order()
        release()
        disposal = np.zeros(n, dtype=np.int32)
        disposal[order] = np.arange(1, n + 1, dtype=np.int32)
        subregion = _group_ranks(self._subregion.codes(), order)
        combo_codes = self._pilots.codes()
        combos = [list(filter(None, c.split(";"))) for c in self._pilots.values]
        pilots = _pilot_ranks(combos, combo_codes, order)
        release()
        running = self._running(order, rows, names, release)
        release()
        log.info("ranked %s across London", counted(n, "candidate site"))
        return Ranks(
            disposal=disposal,
            subregion=subregion,
            pilots=pilots,
            combos=combos,
            combo_codes=combo_codes,
            rows=rows,
            starts=list(self._starts),
            running=running,
        )

    def _order(self) -> np.ndarray:
        """Return the candidates in rank order: score (highest first), site, trust, input order.

        Arrow sorts only the three keys (its sort is stable, so input order
        breaks the last ties); the site code's "" for missing is filled here,
        one part at a time, and the trust is sorted by its values' ranks.
        """
        n = self._candidates
        if not n:
            return np.zeros(0, dtype=np.int64)
        site = pa.concat_arrays([pc.fill_null(s, "") for s in self._site])
        trust = self._trust.sort_ranks().astype(np.int32)[self._trust.codes()]
        keys = pa.table({"score": _joined(self._score, float), "site": site, "trust": trust})
        self._score = []
        del site, trust
        indices = pc.sort_indices(
            keys,
            sort_keys=[("score", "descending"), ("site", "ascending"), ("trust", "ascending")],
        )
        del keys
        return np.asarray(indices, dtype=np.int64)

    def _running(
        self,
        order: np.ndarray,
        rows: np.ndarray,
        names: Callable[[int], pd.DataFrame],
        release: Callable[[], None],
    ) -> RunningTotals:
        """Feed the listed columns in rank order to the running totals, a batch at a time.

        Only the rows the running totals keep carry their site name; the
        others' names are never read, so they are left missing.
        """
        n = len(order)
        running = RunningTotals(n, target_gbp=self.target_gbp)
        starts = np.array(self._starts, dtype=np.int64)
        kept = running.kept
        kept_names = _listed_names(order[kept], rows, starts, names)
        land = [pa.array(a) for a in self._land]
        value = [pa.array(a) for a in self._value]
        site = self._site
        self._land, self._value, self._site = [], [], []
        borough_codes = self._borough.codes()
        boroughs = np.array([*self._borough.values, None], dtype=object)
        for start in range(0, n, _BATCH_ROWS):
            at = order[start : start + _BATCH_ROWS]
            name = np.full(len(at), None, dtype=object)
            lo, hi = np.searchsorted(kept, [start, start + len(at)])
            name[kept[lo:hi] - start] = kept_names[lo:hi]
            batch = pd.DataFrame(
                {
                    "disposal_rank": np.arange(start + 1, start + len(at) + 1),
                    "site_code": _take(site, starts, at).to_pandas(),
                    "site_name": name,
                    "borough_name": boroughs[borough_codes[at]],
                    "land_unused_ha": _take(land, starts, at).to_numpy(zero_copy_only=False),
                    "estimated_value_gbp": _take(value, starts, at).to_numpy(zero_copy_only=False),
                }
            )
            running.add(batch)
            del batch
            release()
        return running


def _listed_names(
    listed: np.ndarray,
    rows: np.ndarray,
    starts: np.ndarray,
    names: Callable[[int], pd.DataFrame],
) -> np.ndarray:
    """Return the site names (text, None where missing) of candidates ``listed``, in that order.

    Each part that holds one is asked for once (``names``; ``rows`` gives
    each candidate's row in its part, ``starts`` each part's first candidate).
    """
    out = np.full(len(listed), None, dtype=object)
    part = np.searchsorted(starts, listed, side="right") - 1
    for i in np.unique(part).tolist():
        here = np.flatnonzero(part == i)
        text = _text(names(i), "site_name", fill=None)
        out[here] = text.iloc[rows[listed[here]]].to_numpy(dtype=object, na_value=None)
    return out


def _take(parts: list[pa.Array], starts: np.ndarray, at: np.ndarray) -> pa.Array:
    """Return candidates ``at`` of the parts' arrays (part ``i`` begins at ``starts[i]``).

    Taken part by part: Arrow's ``take`` on a chunked array joins the chunks
    into one array first, a copy of every candidate's text for each batch.
    """
    part = np.searchsorted(starts, at, side="right") - 1
    by_part = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[by_part], np.arange(len(parts) + 1))
    pieces = [
        parts[i].take(pa.array(at[by_part[lo:hi]] - starts[i]))
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds.tolist()))
        if hi > lo
    ]
    back = np.empty(len(at), dtype=np.int64)
    back[by_part] = np.arange(len(at))
    return pa.concat_arrays(pieces).take(pa.array(back))


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """Return the parts' arrays as one (empty if none)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _group_ranks(codes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Return each candidate's rank within its group (``codes``), in ``order``; 0 if no group."""
    in_order = pd.Series(codes[order])
    ranks = np.zeros(len(order), dtype=np.int32)
    ranks[order] = in_order.groupby(in_order.to_numpy()).cumcount().to_numpy() + 1
    ranks[codes < 0] = 0
    return ranks


def _pilot_ranks(
    combos: list[list[str]], combo_codes: np.ndarray, order: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return each pilot's members (candidates, in input order) and their ranks in the pilot.

    Only members are kept: a candidate is in one pilot or two, not in all of them.
    """
    sorted_codes = combo_codes[order]
    pilots: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for pilot in dict.fromkeys(p for combo in combos for p in combo):
        member = np.array([pilot in combo for combo in combos], dtype=bool)[sorted_codes]
        members = order[member]
        ranks = np.arange(1, len(members) + 1, dtype=np.int32)
        by_input = np.argsort(members, kind="stable")
        pilots[pilot] = (members[by_input].astype(_smallest(len(order))), ranks[by_input])
    return pilots


@dataclass
class Ranks:
    """Every candidate's ranks, by candidate in input order; see :meth:`Ranks.of_part`.

    Ranks are 1 = best; 0 stands for "no rank" (a candidate with no sub-region).
    ``pilots`` holds, for each pilot, its members (candidates, ascending) and
    their ranks in the pilot; ``combos`` the pilot lists a candidate's
    ``combo_codes`` entry points to.
    """

    disposal: np.ndarray
    subregion: np.ndarray
    pilots: dict[str, tuple[np.ndarray, np.ndarray]]
    combos: list[list[str]]
    combo_codes: np.ndarray
    rows: np.ndarray
    starts: list[int]
    running: RunningTotals

    @property
    def ranked(self) -> int:
        """How many candidates were ranked."""
        return len(self.disposal)

    def of_part(self, part: int, sites: pd.DataFrame) -> pd.DataFrame:
        """Return a copy of part ``part`` (as added) with its ranks filled in.

        The columns are :func:`estates.stages.score.unranked`'s: ``disposal_rank``,
        ``subregion_rank`` and ``pilot_ranks``.
        """
        from estates.stages.score import unranked

        out = unranked(sites)
        start = self.starts[part]
        stop = self.starts[part + 1] if part + 1 < len(self.starts) else self.ranked
        if stop == start:
            return out
        rows = self.rows[start:stop]
        at = out.index[rows]
        out.loc[at, "disposal_rank"] = self.disposal[start:stop].astype(np.int64)
        sub = pd.Series(self.subregion[start:stop].astype(np.int64), dtype="Int64")
        out.loc[at, "subregion_rank"] = sub.mask(sub.eq(0)).to_numpy()
        ranks = {p: self._pilot_ranks(p, start, stop) for p in self.pilots}
        codes = self.combo_codes[start:stop].tolist()
        texts = [
            ";".join(f"{p}:{ranks[p][k]}" for p in self.combos[code])
            for k, code in enumerate(codes)
        ]
        out.loc[at, "pilot_ranks"] = pd.array(texts, dtype="string")
        return out

    def _pilot_ranks(self, pilot: str, start: int, stop: int) -> list[int]:
        """Return the ranks in ``pilot`` of candidates ``start`` to ``stop`` (0 for non-members)."""
        members, ranks = self.pilots[pilot]
        lo, hi = np.searchsorted(members, [start, stop])
        local = np.zeros(stop - start, dtype=np.int64)
        local[members[lo:hi] - start] = ranks[lo:hi]
        out: list[int] = local.tolist()
        return out
