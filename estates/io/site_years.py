"""Write ``site_years``: every record of every ERIC year, for analysts.

``site_years.parquet`` (GeoParquet, EPSG:4326) and the ``site_years`` layer of
``sites.gpkg`` (EPSG:27700) hold one row per row of every return, with
``eric_year`` and ``land_measure`` (see ``docs/eric-years.md``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from estates.crs import WGS84, require_crs
from estates.io.tables import write_layer

#: The GeoParquet file and the GeoPackage layer.
SITE_YEARS_FILE = "site_years.parquet"
SITE_YEARS_LAYER = "site_years"


def write_site_years(site_years: gpd.GeoDataFrame, folder: Path, *, gpkg: Path) -> list[Path]:
    """Write ``site_years.parquet`` into ``folder`` and the ``site_years`` layer into ``gpkg``.

    Parameters
    ----------
    site_years : geopandas.GeoDataFrame
        Every record of every year, in EPSG:4326 (unlocated rows without
        geometry). Left unchanged.
    folder : pathlib.Path
        The output folder.
    gpkg : pathlib.Path
        The GeoPackage to add the layer to (``sites.gpkg``); written in EPSG:27700.

    Returns
    -------
    list of pathlib.Path
        The GeoParquet file and the GeoPackage.

    Raises
    ------
    CRSError
        If ``site_years`` is not in EPSG:4326.
    """
    require_crs(site_years, WGS84, stage="write site_years")
    parquet = folder / SITE_YEARS_FILE
    site_years.to_parquet(parquet, index=False, geometry_encoding="WKB", write_covering_bbox=False)
    write_layer(site_years, gpkg, SITE_YEARS_LAYER)
    return [parquet, gpkg]
