"""The per-row steps between the stages: mark PFI sites, order the columns.

Used on every chunk of every build (:mod:`estates.builder.engine`). Each
function returns a new frame and leaves its input unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.frames import stage_copy
from estates.schema import SITE_COLUMNS


def add_pfi(frame: gpd.GeoDataFrame, pfi_keys: frozenset[tuple[str, str]]) -> gpd.GeoDataFrame:
    """Return ``frame`` with ``pfi``: True where ``(trust_code, site_code)`` is a PFI site.

    ``pfi_keys`` come from the bundled ERIC PFI file; a user's site files
    have none, so every site gets False.
    """
    out = stage_copy(frame)
    if not pfi_keys:
        out["pfi"] = False
        return out
    out["pfi"] = [
        (t, s) in pfi_keys for t, s in zip(out["trust_code"], out["site_code"], strict=True)
    ]
    return out


#: The raw records' columns the reconciliation reads (``summary.reconcile_land``).
RECONCILED_COLUMNS = (
    "source_file",
    "source_row",
    "site_code",
    "site_name",
    "trust_name",
    "land_owned_ha",
    "land_unused_ha",
)

#: The leading columns of the site table, in order; measures follow. They are the
#: column dictionary's first columns (``estates/columns.toml``), through ``quality_flags``.
LEADING_COLUMNS = list(SITE_COLUMNS[: SITE_COLUMNS.index("quality_flags") + 1])


def finish_table(tagged: pd.DataFrame) -> pd.DataFrame:
    """Order the columns and fill the optional ones: a part of the site table, without geometry.

    The engine gives each part its WGS84 points as it hands the part on,
    built from the latitude/longitude columns (not by reprojecting the BNG
    points back), so geometry and columns agree exactly; the part is kept
    without them until then.
    """
    out = stage_copy(tagged)
    for column in ("site_type", "trust_code", "trust_name"):
        if column not in out:
            out[column] = pd.NA
        out[column] = out[column].astype("string")
    for column in ("land_owned_ha", "land_unused_ha"):
        if column not in out:
            out[column] = np.nan
    out["site_name"] = out["site_name"].astype("string").str.strip()
    out["join_method"] = out["join_method"].astype("string")
    out["quality_flags"] = out["quality_flags"].astype("string")
    rest = [c for c in out.columns if c not in LEADING_COLUMNS and c != "geometry"]
    return pd.DataFrame(out[[*LEADING_COLUMNS, *rest]]).reset_index(drop=True)


def run_counts(
    rows_in: int,
    rows_kept: int,
    *,
    located_by: Mapping[str, int],
    joins: Mapping[str, int],
    by_check: Mapping[str, Mapping[str, int]],
) -> dict[str, Any]:
    """Return ``summary.json``'s ``counts``: the identity, how sites were located and joined.

    ``by_check`` maps each finding action (rejected, flagged, warning) to
    ``{check: count}``, listed most frequent first. The build engine adds
    these up chunk by chunk; the in-memory build counts its table.
    """

    def most_first(counts: Mapping[str, int]) -> dict[str, int]:
        return dict(
            sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
        )

    rejected = rows_in - rows_kept
    return {
        "records_in": rows_in,
        "records_kept": rows_kept,
        "records_rejected": rejected,
        "identity": f"{rows_in} in = {rows_kept} kept + {rejected} rejected",
        "located_by": {str(k): int(v) for k, v in sorted(located_by.items())},
        "join": {k: int(joins.get(k, 0)) for k in ("within", "nearest", "outside", "not_located")},
        "rejected_by_check": most_first(by_check.get("rejected", {})),
        "flagged_by_check": most_first(by_check.get("flagged", {})),
        "warnings_by_check": most_first(by_check.get("warning", {})),
    }
