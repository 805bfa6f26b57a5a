"""``sites.gpkg``: a GeoPackage that opens in QGIS looking like the web map.

Five layers, all in British National Grid (EPSG:27700):

``sites``
    The site table (``docs/columns.md``); unlocated rows have no geometry.
``boroughs``
    Borough polygons with their totals (``land_owned_ha``, ``land_unused_ha``,
    ``estimated_value_gbp``, ``share_of_target``, ``backlog_total_gbp``,
    ``sites_located``), ``subregion`` and ``pilots``.
``pilots``, ``subregions``
    One dissolved outline per devolution pilot or sub-region, with the totals
    of ``summary.json``'s ``pilots`` / ``subregions`` sections
    (:data:`GROUP_COLUMNS`).
``nhs_context``
    The NHS Choices hospital and clinic records the map shows for context
    (:data:`CONTEXT_LAYER_COLUMNS`).

Each layer has a default style in the GeoPackage's ``layer_styles`` table,
the table QGIS itself writes with *Save style > In database*: same columns,
registered in ``gpkg_contents`` as an ``attributes`` table. The styles come
from :mod:`estates.render.qgis_style` and use the classes and colours of
``london.html`` (:mod:`estates.style`).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from estates.crs import BNG, WGS84, require_crs
from estates.errors import DataValidationError
from estates.io.tables import geopackage_writes_synced, write_layer
from estates.logs import counted
from estates.render.qgis_style import (
    LayerStyle,
    borough_style,
    context_style,
    outline_style,
    site_style,
)

log = logging.getLogger("estates")

__all__ = [
    "CONTEXT_LAYER_COLUMNS",
    "GROUP_COLUMNS",
    "LAYERS",
    "STYLES_TABLE",
    "add_layers",
    "group_outlines",
    "make_styles",
    "read_styles",
    "write_geopackage",
    "write_styles",
]

#: The layers of ``sites.gpkg``, in the order a reader should stack them (bottom first).
LAYERS = ("boroughs", "subregions", "pilots", "nhs_context", "sites")
#: Columns of the ``pilots`` and ``subregions`` layers (besides the geometry).
GROUP_COLUMNS = (
    "group_id",
    "group_name",
    "borough_codes",
    "land_owned_ha",
    "land_unused_ha",
    "estimated_value_gbp",
    "share_of_target",
    "backlog_total_gbp",
    "sites_located",
    "sites_with_unused_land",
    "sites_ranked",
)
#: Columns of the ``nhs_context`` layer, when the context records have them.
CONTEXT_LAYER_COLUMNS = (
    "context_code",
    "context_name",
    "context_kind",
    "parent_code",
    "postcode",
    "source_file",
    "source_row",
)
#: The table QGIS reads layer styles from.
STYLES_TABLE = "layer_styles"

# Exactly what QGIS 3 (through GDAL) creates with "Save style > In database".
_CREATE_STYLES = f"""
CREATE TABLE IF NOT EXISTS "{STYLES_TABLE}" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256),
  "f_table_schema" TEXT(256),
  "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256),
  "styleName" TEXT(30),
  "styleQML" TEXT,
  "styleSLD" TEXT,
  "useAsDefault" BOOLEAN,
  "description" TEXT,
  "owner" TEXT(30),
  "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""
_GRID_DEGREES = 1e-5


def group_outlines(
    boroughs: gpd.GeoDataFrame, groups: Mapping[str, Mapping[str, Any]]
) -> gpd.GeoDataFrame:
    """Return one dissolved outline per pilot or sub-region, with its totals.

    Parameters
    ----------
    boroughs : geopandas.GeoDataFrame
        Borough polygons with ``borough_code``, in any projected or
        geographic CRS. Left unchanged.
    groups : mapping
        ``summary["pilots"]`` or ``summary["subregions"]``: ``{group_id:
        {"name", "borough_codes", "land_unused_ha", ...}}``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per group, in ``groups``' order, with :data:`GROUP_COLUMNS`
        (``borough_codes`` ``;``-separated; a total the summary lacks is
        missing) and the union of its boroughs, in EPSG:27700: the outline
        ``london.html`` draws (unioned in EPSG:4326 on a 1e-5 degree grid,
        about a metre, so shared borders leave no slivers). A group with no
        borough in ``boroughs`` has an empty geometry.

    Examples
    --------
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame({"borough_code": ["a", "b"]},
    ...     geometry=[box(530000, 180000, 531000, 181000), box(531000, 180000, 532000, 181000)],
    ...     crs=BNG)
    >>> g = group_outlines(b, {"p": {"name": "Pilot P", "borough_codes": ["a", "b"],
    ...                              "land_unused_ha": 1.5}})
    >>> g[["group_id", "group_name", "borough_codes", "land_unused_ha"]].values.tolist()
    [['p', 'Pilot P', 'a;b', 1.5]]
    >>> round(g.geometry.iloc[0].area / 1e4), g.crs.to_string()
    (200, 'EPSG:27700')
    >>> len(group_outlines(b, {}))
    0
    """
    if "borough_code" not in boroughs:
        msg = "boroughs has no borough_code column; cannot dissolve pilots and sub-regions"
        raise DataValidationError(msg)
    # Dissolved as london.html does: in EPSG:4326 on a 1e-5 degree grid (about
    # a metre), which closes the hairline gaps between neighbouring boroughs.
    shapes = boroughs.to_crs(WGS84)
    by_code = dict(zip(shapes["borough_code"].astype("string"), shapes.geometry.array, strict=True))
    rows: dict[str, list[Any]] = {c: [] for c in GROUP_COLUMNS}
    geometry = []
    for gid, entry in groups.items():
        codes = [str(c) for c in entry.get("borough_codes", [])]
        parts = [by_code[c] for c in codes if c in by_code and by_code[c] is not None]
        snapped = shapely.set_precision(np.asarray(parts, dtype=object), _GRID_DEGREES)
        geometry.append(
            shapely.union_all(snapped, grid_size=_GRID_DEGREES) if parts else shapely.Polygon()
        )
        rows["group_id"].append(str(gid))
        rows["group_name"].append(entry.get("name", str(gid)))
        rows["borough_codes"].append(";".join(codes))
        for column in GROUP_COLUMNS[3:]:
            value = entry.get(column)
            rows[column].append(float("nan") if value is None else value)
    frame = pd.DataFrame(rows)
    for column in GROUP_COLUMNS[3:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("sites_located", "sites_with_unused_land", "sites_ranked"):
        frame[column] = frame[column].astype("Int64")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84).to_crs(BNG)


def make_styles(boroughs: pd.DataFrame, context: pd.DataFrame | None = None) -> list[LayerStyle]:
    """Return the styles of every layer: one default each, plus the value choropleth.

    Parameters
    ----------
    boroughs : pandas.DataFrame
        The boroughs with ``land_unused_ha`` and ``estimated_value_gbp``
        (their values set the class breaks). Left unchanged.
    context : pandas.DataFrame, optional
        The context records; their ``context_kind`` values pick the classes
        (default: every kind).

    Returns
    -------
    list of LayerStyle

    Examples
    --------
    >>> b = pd.DataFrame({"land_unused_ha": [0.0, 2.0], "estimated_value_gbp": [0.0, 9.0]})
    >>> [(s.layer, s.default) for s in make_styles(b)]  # doctest: +NORMALIZE_WHITESPACE
    [('sites', True), ('boroughs', True), ('boroughs', False), ('pilots', True),
     ('subregions', True), ('nhs_context', True)]
    """
    from estates.style import CONTEXT_KINDS

    kinds = None
    if context is not None and "context_kind" in context:
        present = set(context["context_kind"].dropna().astype(str))
        kinds = [k for k in CONTEXT_KINDS if k in present]
    return [
        site_style(),
        borough_style(boroughs, column="land_unused_ha"),
        borough_style(boroughs, column="estimated_value_gbp", default=False),
        outline_style("pilots"),
        outline_style("subregions"),
        context_style(kinds),
    ]


def add_layers(
    path: Path,
    *,
    boroughs: gpd.GeoDataFrame,
    context: gpd.GeoDataFrame,
    summary: Mapping[str, Any],
) -> Path:
    """Add the ``boroughs``, ``pilots``, ``subregions`` and ``nhs_context`` layers and all styles.

    The ``sites`` layer is written by :func:`estates.io.tables.write_site_table`;
    this adds the rest to the same file, then every layer's style
    (:func:`write_styles`).

    Parameters
    ----------
    path : pathlib.Path
        The GeoPackage; created if missing. Layers of the same names are replaced.
    boroughs : geopandas.GeoDataFrame
        Boroughs with their totals (``Result.boroughs``), in EPSG:4326.
    context : geopandas.GeoDataFrame
        NHS hospital and clinic records (``Result.context``), in EPSG:4326.
    summary : mapping
        ``Result.summary``; its ``pilots`` and ``subregions`` sections give the
        group layers (empty layers if missing).

    Returns
    -------
    pathlib.Path
        ``path``. Every layer is written in EPSG:27700; inputs are left unchanged.

    Raises
    ------
    CRSError
        If ``boroughs`` or ``context`` is not in EPSG:4326.
    """
    require_crs(boroughs, WGS84, stage="write_geopackage (boroughs)")
    require_crs(context, WGS84, stage="write_geopackage (nhs_context)")
    write_layer(boroughs, path, "boroughs")
    for layer in ("pilots", "subregions"):
        groups = summary.get(layer) or {}
        write_layer(group_outlines(boroughs, groups), path, layer)
    columns = [c for c in CONTEXT_LAYER_COLUMNS if c in context.columns]
    write_layer(context[[*columns, context.geometry.name]], path, "nhs_context")
    write_styles(path, make_styles(boroughs, context))
    log.info(
        "wrote %s: %s, %s, %s, %s, with styles",
        path.name,
        counted(len(boroughs), "borough"),
        counted(len(summary.get("pilots") or {}), "pilot"),
        counted(len(summary.get("subregions") or {}), "sub-region"),
        counted(len(context), "NHS context point"),
    )
    return path


def write_geopackage(
    path: Path,
    *,
    sites: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    context: gpd.GeoDataFrame,
    summary: Mapping[str, Any],
) -> Path:
    """Write the whole QGIS-ready ``sites.gpkg``: five layers and their default styles.

    Parameters
    ----------
    path : pathlib.Path
        The GeoPackage to write; an existing file is replaced.
    sites, boroughs, context : geopandas.GeoDataFrame
        ``Result.sites``, ``Result.boroughs`` and ``Result.context``, all in
        EPSG:4326. Left unchanged.
    summary : mapping
        ``Result.summary`` (for the pilot and sub-region totals).

    Returns
    -------
    pathlib.Path
        ``path``, with :data:`LAYERS` in EPSG:27700 and a ``layer_styles`` table.

    Raises
    ------
    CRSError
        If a frame is not in EPSG:4326.

    Examples
    --------
    >>> import tempfile, pyogrio
    >>> from estates.builder.pipeline import run
    >>> result = run()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     gpkg = write_geopackage(Path(tmp) / "sites.gpkg", sites=result.sites,
    ...         boroughs=result.boroughs, context=result.context, summary=result.summary)
    ...     sorted(pyogrio.list_layers(gpkg)[:, 0])
    ...     len(read_styles(gpkg))
    ['boroughs', 'layer_styles', 'nhs_context', 'pilots', 'sites', 'subregions']
    6
    """
    require_crs(sites, WGS84, stage="write_geopackage (sites)")
    path.unlink(missing_ok=True)
    write_layer(sites, path, "sites")
    return add_layers(path, boroughs=boroughs, context=context, summary=summary)


def write_styles(path: Path, styles: Sequence[LayerStyle]) -> None:
    """Store ``styles`` in the GeoPackage's ``layer_styles`` table, as QGIS does.

    The table is created if missing and registered in ``gpkg_contents`` as an
    ``attributes`` table, so GDAL and QGIS list it. A style replaces any of the
    same layer and name; a default style makes the layer's other styles
    non-default, so each layer has at most one default.

    Parameters
    ----------
    path : pathlib.Path
        An existing GeoPackage holding every styled layer.
    styles : sequence of LayerStyle
        From :mod:`estates.render.qgis_style`.

    Raises
    ------
    DataValidationError
        If ``path`` is not a GeoPackage or lacks a styled layer.

    Examples
    --------
    >>> import tempfile
    >>> from estates.render.qgis_style import site_style
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "empty.gpkg"
    ...     gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(530000, 180000)],
    ...                      crs=BNG).to_file(path, layer="boroughs")
    ...     write_styles(path, [site_style()])
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: empty.gpkg has no layer sites to style
    """
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        if not geopackage_writes_synced():
            con.execute("PRAGMA synchronous = OFF")  # as GDAL writes the layers now
        tables = dict(
            con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
            if _has_table(con, "gpkg_geometry_columns")
            else []
        )
        if not _has_table(con, "gpkg_contents"):
            msg = f"{path.name} is not a GeoPackage (no gpkg_contents table)"
            raise DataValidationError(msg)
        missing = sorted({s.layer for s in styles} - set(tables))
        if missing:
            msg = f"{path.name} has no layer {', '.join(missing)} to style"
            raise DataValidationError(msg)
        con.execute(_CREATE_STYLES)
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            "SELECT ?, 'attributes', ?, '', 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM gpkg_contents WHERE table_name = ?)",
            (STYLES_TABLE, STYLES_TABLE, STYLES_TABLE),
        )
        for style in styles:
            con.execute(
                f'DELETE FROM "{STYLES_TABLE}" WHERE f_table_name = ? AND styleName = ?',
                (style.layer, style.name),
            )
            if style.default:
                con.execute(
                    f'UPDATE "{STYLES_TABLE}" SET useAsDefault = 0 WHERE f_table_name = ?',
                    (style.layer,),
                )
            con.execute(
                f'INSERT INTO "{STYLES_TABLE}" (f_table_catalog, f_table_schema, f_table_name, '
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, ?, ?, ?, 'estates', NULL)",
                (
                    style.layer,
                    tables[style.layer],
                    style.name,
                    style.qml,
                    style.sld,
                    int(style.default),
                    style.description,
                ),
            )


def read_styles(path: Path) -> pd.DataFrame:
    """Return the ``layer_styles`` table of a GeoPackage, one row per stored style.

    Parameters
    ----------
    path : pathlib.Path
        The GeoPackage.

    Returns
    -------
    pandas.DataFrame
        Columns as QGIS writes them (``f_table_name``, ``styleName``,
        ``styleQML``, ``styleSLD``, ``useAsDefault``, ...); ``useAsDefault``
        as booleans. Empty, with those columns, if the file has no styles.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "plain.gpkg"
    ...     gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(530000, 180000)],
    ...                      crs=BNG).to_file(path, layer="points")
    ...     read_styles(path).empty
    True
    """
    with contextlib.closing(sqlite3.connect(path)) as con:
        if not _has_table(con, STYLES_TABLE):
            return pd.DataFrame(
                columns=["id", "f_table_name", "styleName", "styleQML", "styleSLD", "useAsDefault"]
            )
        frame = pd.read_sql_query(f'SELECT * FROM "{STYLES_TABLE}" ORDER BY id', con)
    frame["useAsDefault"] = frame["useAsDefault"].astype(bool)
    return frame


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (name,)
    ).fetchone()
    return row is not None
