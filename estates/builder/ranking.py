"""Rank the whole site table's candidates, a part at a time: :class:`Ranking`.

Each part of the scored table hands its candidates' sort keys to
:meth:`Ranking.add` (as Arrow columns: a few bytes per candidate, never the
part itself); :meth:`Ranking.result` sorts them once and returns the
:class:`Ranks` of every part, plus the running totals against the target.
The order is :func:`estates.stages.score.rank_sites`'s: score (highest first),
site code, trust code, then input order; the ranks within a sub-region and
within a pilot follow from that one order. So a table ranked in parts gets
the ranks it would get ranked whole, whatever the parts.
"""

from __future__ import annotations

import logging
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
#: The listed columns of ``summary.json``'s ``pipeline.cumulative``.
_LISTED = ("site_code", "site_name", "borough_name", "land_unused_ha", "estimated_value_gbp")


def _text(frame: pd.DataFrame, column: str, *, fill: str | None) -> pa.Array:
    if column not in frame:
        values = pd.Series(fill, index=frame.index, dtype="string")
    else:
        values = frame[column].astype("string")
        if fill is not None:
            values = values.fillna(fill)
    return pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.string())


class Ranking:
    """The sort keys of every candidate, gathered part by part; see the module docstring."""

    def __init__(self, *, target_gbp: float) -> None:
        self.target_gbp = target_gbp
        self._pieces: list[pa.Table] = []
        self._starts: list[int] = []
        self._candidates = 0

    def add(self, scored: pd.DataFrame) -> None:
        """Add the next part of the scored table (:func:`~estates.stages.score.score_unused_land`).

        Parts are added in input order; a part with no candidate adds nothing.
        """
        score = number_column(scored, "disposal_score")
        candidate = score.notna().to_numpy()
        rows = scored.loc[candidate]
        self._starts.append(self._candidates)
        self._candidates += len(rows)
        self._pieces.append(
            pa.table(
                {
                    "row": pa.array(np.flatnonzero(candidate).astype(np.int64)),
                    "score": pa.array(score[candidate].to_numpy(dtype=float)),
                    "site": _text(rows, "site_code", fill=""),
                    "trust": _text(rows, "trust_code", fill=""),
                    "subregion": _text(rows, "subregion", fill=None),
                    "pilots": _text(rows, "pilots", fill=""),
                    "site_code": _text(rows, "site_code", fill=None),
                    "site_name": _text(rows, "site_name", fill=None),
                    "borough_name": _text(rows, "borough_name", fill=None),
                    "land_unused_ha": pa.array(
                        number_column(rows, "land_unused_ha").to_numpy(dtype=float)
                    ),
                    "estimated_value_gbp": pa.array(
                        number_column(rows, "estimated_value_gbp").to_numpy(dtype=float)
                    ),
                }
            )
        )

    def result(self) -> Ranks:
        """Sort every candidate once and return the ranks and running totals."""
        n = self._candidates
        keys = pa.concat_tables(self._pieces) if self._pieces else None
        self._pieces = []
        running = RunningTotals(n, target_gbp=self.target_gbp)
        disposal = np.zeros(n, dtype=np.int64)
        subregion = np.zeros(n, dtype=np.int64)
        pilot_ranks: dict[str, np.ndarray] = {}
        combos: list[list[str]] = []
        combo_codes = np.zeros(n, dtype=np.int64)
        if keys is not None and n:
            position = pa.array(np.arange(n, dtype=np.int64))
            keys = keys.append_column("position", position)
            order = pc.sort_indices(
                keys,
                sort_keys=[
                    ("score", "descending"),
                    ("site", "ascending"),
                    ("trust", "ascending"),
                    ("position", "ascending"),
                ],
            ).to_numpy()
            disposal[order] = np.arange(1, n + 1)
            subregion = _group_ranks(keys["subregion"], order)
            pilots = keys["pilots"].combine_chunks().dictionary_encode()
            combo_codes = pilots.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            combos = [list(filter(None, str(c).split(";"))) for c in pilots.dictionary.to_pylist()]
            sorted_codes = combo_codes[order]
            for pilot in dict.fromkeys(p for combo in combos for p in combo):
                member = np.array([pilot in combo for combo in combos], dtype=bool)[sorted_codes]
                ranks = np.zeros(n, dtype=np.int64)
                ranks[order] = np.where(member, np.cumsum(member), 0)
                pilot_ranks[pilot] = ranks
            listed = keys.select(list(_LISTED))
            for start in range(0, n, _BATCH_ROWS):
                stop = min(start + _BATCH_ROWS, n)
                batch = listed.take(pa.array(order[start:stop])).to_pandas()
                batch.insert(0, "disposal_rank", np.arange(start + 1, stop + 1))
                running.add(batch)
        log.info("ranked %s across London", counted(n, "candidate site"))
        return Ranks(
            disposal=disposal,
            subregion=subregion,
            pilot_ranks=pilot_ranks,
            combos=combos,
            combo_codes=combo_codes,
            rows=self._rows(keys),
            starts=list(self._starts),
            running=running,
        )

    def _rows(self, keys: pa.Table | None) -> np.ndarray:
        if keys is None:
            return np.zeros(0, dtype=np.int64)
        rows: np.ndarray = keys["row"].to_numpy()  # pyarrow is untyped
        return rows


def _group_ranks(groups: pa.ChunkedArray, order: np.ndarray) -> np.ndarray:
    """Return each row's rank within its group, in ``order``; 0 where the group is null."""
    encoded = groups.combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    codes = np.where(valid, codes, -1).astype(np.int64)
    in_order = pd.Series(codes[order])
    ranks = np.zeros(len(order), dtype=np.int64)
    ranks[order] = in_order.groupby(in_order.to_numpy()).cumcount().to_numpy() + 1
    ranks[codes < 0] = 0
    return ranks


@dataclass
class Ranks:
    """Every candidate's ranks, by candidate in input order; see :meth:`Ranks.of_part`.

    Ranks are 1 = best; 0 stands for "no rank" (a candidate with no sub-region).
    """

    disposal: np.ndarray
    subregion: np.ndarray
    pilot_ranks: dict[str, np.ndarray]
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
        out.loc[at, "disposal_rank"] = self.disposal[start:stop]
        sub = pd.Series(self.subregion[start:stop], dtype="Int64")
        out.loc[at, "subregion_rank"] = sub.mask(sub.eq(0)).to_numpy()
        texts = [
            ";".join(f"{p}:{self.pilot_ranks[p][k]}" for p in self.combos[self.combo_codes[k]])
            for k in range(start, stop)
        ]
        out.loc[at, "pilot_ranks"] = pd.array(texts, dtype="string")
        return out
