"""Re-score London's NHS sites with other weights and export the NCL estates pilot's sites.

Usage::

    python examples/ncl_rescore.py OUT_DIR

Runs the pipeline on the bundled data, re-scores every London site with
weights that favour the share of a site's land that is unused over its value,
keeps the sites of the North Central London estates pilot (``ncl_estates``)
and writes, into ``OUT_DIR``:

``ncl_sites.gpkg``
    Layer ``ncl_sites`` in British National Grid (EPSG:27700).
``ncl_sites.csv``
    The same rows without geometry, UTF-8 with a byte-order mark for Excel.
``ATTRIBUTION.txt``
    The data credit that must travel with any copy of the outputs.

See ``docs/analyst-workflow.md`` for each step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

import estates as es
from estates.io.tables import ATTRIBUTION, write_csv

PILOT = "ncl_estates"
#: The share of a site's land that is unused counts most (defaults: 0.5, 0.3, 0.2).
WEIGHTS = {"score__weight_value": 0.1, "score__weight_share": 0.8, "score__weight_backlog": 0.1}
COLUMNS = [
    "site_code",
    "site_name",
    "trust_code",
    "borough_name",
    "land_owned_ha",
    "land_unused_ha",
    "estimated_value_gbp",
    "disposal_score",
    "disposal_rank",
    "default_rank",
    "quality_flags",
]


def main(argv: list[str]) -> int:
    """Write the re-scored NCL sites into the folder ``argv[1]``; return the exit code."""
    if len(argv) != 2:
        print("usage: python examples/ncl_rescore.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)

    # 1. Load: the scored site table, EPSG:4326, default weights.
    sites = es.build().sites

    # 2. Re-score every London site, then rank. Score parts are scaled by the
    #    largest value among all London candidates, so re-score before filtering.
    config = es.load_config(**WEIGHTS)
    rescored = es.rank_sites(es.score_unused_land(sites, config=config.score))
    rescored["default_rank"] = sites["disposal_rank"]

    # 3. Filter by pilot: `pilots` lists a site's pilots, ";"-separated.
    in_pilot = rescored.pilots.str.split(";").map(lambda p: PILOT in p)
    ncl = rescored[in_pilot].sort_values(["disposal_rank", "site_code"], na_position="last")
    ncl = ncl[[*COLUMNS, "geometry"]]

    # 4. Export: GeoPackage in British National Grid, CSV for spreadsheets,
    #    and the attribution beside them.
    ncl.to_crs(es.BNG).to_file(out / "ncl_sites.gpkg", layer="ncl_sites", driver="GPKG")
    write_csv(pd.DataFrame(ncl.drop(columns="geometry")), out / "ncl_sites.csv", bom=True)
    (out / "ATTRIBUTION.txt").write_text(ATTRIBUTION + "\n", encoding="utf-8")

    ranked = ncl[ncl["disposal_rank"].notna()]
    print(f"{len(ncl)} sites in {PILOT}, {len(ranked)} ranked; written to {out}/")
    for row in ranked.itertuples():
        print(
            f"  rank {row.disposal_rank} (was {row.default_rank}): {row.site_name} "
            f"({row.site_code}), {row.land_unused_ha:.2f} ha unused"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
