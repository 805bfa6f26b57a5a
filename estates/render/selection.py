"""Which sites each page draws: London's and each pilot's best ``max_sites``.

A national-scale table still gives pages that open: a page with more sites
than :data:`MAX_MAP_SITES` draws its best-ranked sites, then those with most
unused land, then by site code, so the choice is the same on every build.
The chunked build calls :func:`page_sites` while it reads, so it keeps only
the sites some page draws; this module imports none of the pages' code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from estates.errors import DataValidationError
from estates.render.columns import (
    SITE_COLUMNS,
    flag_values,
    number_values,
    point_xy,
    split_list,
    text_values,
)

__all__ = ["FIRST_PILOT", "MAX_MAP_SITES", "SITE_COLUMNS", "best_of", "page_sites", "pilot_order"]

#: The pilot whose map comes first.
FIRST_PILOT = "ncl_estates"
#: The most sites one page draws: the best-ranked, then those with most unused
#: land. 50,000 sites make a page of about 7 MB that Chromium opens in under a
#: second (``benchmarks/bench_maps.py``); every site stays in the site table.
MAX_MAP_SITES = 50_000

_PILOT_ID = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")


def best_of(
    within: np.ndarray, limit: int, *, rank: np.ndarray, unused: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Return ``within`` narrowed to its ``limit`` best sites.

    Ranked sites first, by rank; then the most unused land; then site code,
    so the choice is the same on every build.
    """
    pos = np.flatnonzero(within)
    if len(pos) <= limit:
        return within
    order = np.lexsort(
        (
            codes[pos],
            -np.nan_to_num(unused[pos], nan=-1.0),
            np.where(np.isnan(rank[pos]), np.inf, rank[pos]),
        )
    )
    best = np.zeros(len(within), dtype=bool)
    best[pos[order[:limit]]] = True
    return best


def on_some_page(
    sites: pd.DataFrame,
    drawn: np.ndarray,
    limit: int,
    *,
    pilots_of: list[tuple[str, ...]],
    pilot_ids: Sequence[str],
    what: str,
) -> np.ndarray:
    """Return the drawn sites that London's page or a pilot's page keeps (``limit`` each)."""
    keys = {
        "rank": number_values(sites, "disposal_rank", what),
        "unused": number_values(sites, "land_unused_ha", what),
        "codes": np.array(text_values(sites, "site_code"), dtype=object),
    }
    keep = best_of(drawn, limit, **keys)
    for pid in pilot_ids:
        in_pilot = drawn & np.array([pid in p for p in pilots_of], dtype=bool)
        keep |= best_of(in_pilot, limit, **keys)
    return keep


def page_sites(sites: pd.DataFrame, limit: int, pilot_ids: Sequence[str]) -> np.ndarray:
    """Return which located London sites some page draws: London's and each pilot's best ``limit``.

    The chunked build keeps only these while it reads; the best of them are
    the best of the whole table, so the pages come out the same.
    """
    what = "sites"
    lon, lat = point_xy(sites, what, "site_code")
    drawn = flag_values(sites, "in_london") & ~np.isnan(lon) & ~np.isnan(lat)
    pilots_of = [split_list(p) for p in text_values(sites, "pilots")]
    return on_some_page(sites, drawn, limit, pilots_of=pilots_of, pilot_ids=pilot_ids, what=what)


def pilot_order(pilots: Mapping[str, Any]) -> list[str]:
    """Return the pilot ids, :data:`FIRST_PILOT` first; refuse an id that cannot name a file."""
    ids = [str(p) for p in pilots]
    for pid in ids:
        if not _PILOT_ID.fullmatch(pid):
            msg = (
                f"summary['pilots'] id {pid!r} cannot name a file; use lower-case letters, "
                "digits, '_' or '-'"
            )
            raise DataValidationError(msg)
    return sorted(ids, key=lambda p: (p != FIRST_PILOT, ids.index(p)))
