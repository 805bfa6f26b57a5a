"""sites.gpkg opens in QGIS with the web map's classes and colours, on the bundled data."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from estates import style
from estates.builder.runner import BuildOptions, build_output_set
from estates.crs import BNG
from estates.errors import DataValidationError
from estates.io.gpkg import (
    GROUP_COLUMNS,
    LAYERS,
    STYLES_TABLE,
    group_outlines,
    read_styles,
    write_geopackage,
    write_styles,
)
from estates.io.tables import (
    SQLITE_SYNCHRONOUS,
    geopackage_writes_synced,
    unsynced_geopackage_writes,
)
from estates.render.qgis_style import borough_style, outline_style, site_style

# The columns and declarations of the table QGIS 3.22 writes with "Save style > In database".
QGIS_STYLES_SCHEMA = [
    ("id", "INTEGER"),
    ("f_table_catalog", "TEXT(256)"),
    ("f_table_schema", "TEXT(256)"),
    ("f_table_name", "TEXT(256)"),
    ("f_geometry_column", "TEXT(256)"),
    ("styleName", "TEXT(30)"),
    ("styleQML", "TEXT"),
    ("styleSLD", "TEXT"),
    ("useAsDefault", "BOOLEAN"),
    ("description", "TEXT"),
    ("owner", "TEXT(30)"),
    ("ui", "TEXT(30)"),
    ("update_time", "DATETIME"),
]
SLD = {"se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole output set built from the bundled data, maps included."""
    out = tmp_path_factory.mktemp("gpkg") / "maps"
    report = build_output_set(BuildOptions(out=out, wait_s=0))
    assert report.status == "published"
    return out


@pytest.fixture(scope="module")
def gpkg(built):
    return built / "sites.gpkg"


@pytest.fixture(scope="module")
def styles(gpkg):
    return read_styles(gpkg)


def _sql(path: Path, query: str, *args):
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute(query, args).fetchall()


def _write_bundled(path: Path, result) -> Path:
    """Write the bundled build's whole GeoPackage to ``path``."""
    return write_geopackage(
        path,
        sites=result.sites,
        boroughs=result.boroughs,
        context=result.context,
        summary=result.summary,
    )


def _default_qml(styles, layer: str) -> ET.Element:
    row = styles[(styles.f_table_name == layer) & styles.useAsDefault]
    return ET.fromstring(row.styleQML.iloc[0])


def test_every_layer_is_there_in_british_national_grid(gpkg, bundled_result):
    layers = dict(pyogrio.list_layers(gpkg))
    assert set(layers) == {*LAYERS, STYLES_TABLE, "site_years"}  # every ERIC year's records
    assert int(pyogrio.read_info(gpkg, layer="site_years")["features"]) == len(
        bundled_result.site_years
    )
    assert layers[STYLES_TABLE] is None  # GDAL sees the styles as a table without geometry
    expected = {
        "sites": len(bundled_result.sites),
        "boroughs": 33,
        "pilots": len(bundled_result.summary["pilots"]),
        "subregions": len(bundled_result.summary["subregions"]),
        "nhs_context": len(bundled_result.context),
    }
    for layer, rows in expected.items():
        info = pyogrio.read_info(gpkg, layer=layer)
        assert info["features"] == rows, layer
        assert info["crs"] == BNG, layer
    assert expected["nhs_context"] == 1154
    assert expected["pilots"] == expected["subregions"] == 5


def test_pilot_and_subregion_layers_carry_the_summary_totals(gpkg, bundled_result):
    boroughs = bundled_result.boroughs.to_crs(BNG).set_index("borough_code")
    for layer in ("pilots", "subregions"):
        frame = gpd.read_file(gpkg, layer=layer, engine="pyogrio")
        assert frame.columns.tolist() == [*GROUP_COLUMNS, "geometry"]
        section = bundled_result.summary[layer]
        assert frame["group_id"].tolist() == list(section)
        for row in frame.itertuples():
            entry = section[row.group_id]
            assert row.group_name == entry["name"]
            assert row.borough_codes.split(";") == entry["borough_codes"]
            for column in ("land_owned_ha", "land_unused_ha", "estimated_value_gbp"):
                assert getattr(row, column) == pytest.approx(entry[column]), (layer, column)
            assert row.share_of_target == pytest.approx(entry["share_of_target"])
            assert row.sites_located == entry["sites_located"]
            # The outline is its boroughs dissolved: same area, one shape, no slivers.
            members = boroughs.loc[entry["borough_codes"]].geometry
            assert row.geometry.area == pytest.approx(members.area.sum(), rel=1e-6)
    ncl = gpd.read_file(gpkg, layer="pilots", engine="pyogrio").set_index("group_id")
    assert ncl.loc["ncl_estates", "borough_codes"].count(";") == 4
    # Five neighbouring boroughs dissolve into one shape, with no slivers along their borders.
    assert shapely.get_num_geometries(ncl.geometry.loc["ncl_estates"]) == 1
    assert shapely.get_num_interior_rings(ncl.geometry.loc["ncl_estates"].geoms[0]) == 0


def test_styles_table_is_the_one_qgis_writes_and_is_registered(gpkg):
    columns = [(c[1], c[2]) for c in _sql(gpkg, f'PRAGMA table_info("{STYLES_TABLE}")')]
    assert columns == QGIS_STYLES_SCHEMA
    contents = _sql(
        gpkg,
        "SELECT data_type, identifier FROM gpkg_contents WHERE table_name = ?",
        STYLES_TABLE,
    )
    assert contents == [("attributes", STYLES_TABLE)]
    via_gdal = pyogrio.read_dataframe(gpkg, layer=STYLES_TABLE)
    assert len(via_gdal) == 6


def test_one_default_style_per_layer_and_every_document_parses(gpkg, styles):
    defaults = styles[styles.useAsDefault]
    assert sorted(defaults.f_table_name) == sorted(LAYERS)
    assert styles.groupby("f_table_name").useAsDefault.sum().eq(1).all()
    geometry_columns = dict(_sql(gpkg, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
    for row in styles.itertuples():
        assert row.f_geometry_column == geometry_columns[row.f_table_name]
        assert (row.f_table_catalog, row.f_table_schema) == ("", "")
        assert len(row.styleName) <= 30
        qml = ET.fromstring(row.styleQML)
        assert qml.tag == "qgis"
        assert qml.find("renderer-v2") is not None
        sld = ET.fromstring(row.styleSLD)
        assert sld.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor"
        assert sld.findall(".//se:Rule", SLD), row.f_table_name
    renderers = {
        layer: _default_qml(styles, layer).find("renderer-v2").get("type") for layer in LAYERS
    }
    assert renderers == {
        "sites": "RuleRenderer",
        "boroughs": "graduatedSymbol",
        "pilots": "singleSymbol",
        "subregions": "singleSymbol",
        "nhs_context": "categorizedSymbol",
    }


def _legend(page: str, key: str) -> list[tuple[str, str]]:
    """Return (colour, label) per class of london.html's legend for the ``key`` choropleth."""
    ui = re.search(r"estates\.ui\((\{.*\})\);", page)
    assert ui, "london.html builds no panel"
    panel = json.loads(ui.group(1))["panel"]
    block = re.search(rf'<div class="est-legend-choro" data-key="{key}".*?est-note', panel)
    assert block, key
    rows = re.findall(r'style="background:(#[0-9a-f]{6})"></span>([^<]+)</div>', block.group(0))
    return [(colour, unescape(label)) for colour, label in rows]


def _rgb(qgis_colour: str) -> str:
    r, g, b, _ = (int(v) for v in qgis_colour.split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


def _symbol_colours(renderer: ET.Element) -> dict[str, str]:
    out = {}
    for symbol in renderer.find("symbols"):
        options = {o.get("name"): o.get("value") for o in symbol.find("layer").find("Option")}
        out[symbol.get("name")] = _rgb(options["color"])
    return out


def test_borough_classes_equal_the_web_map(built, styles, bundled_result):
    qml = _default_qml(styles, "boroughs")
    renderer = qml.find("renderer-v2")
    assert renderer.get("attr") == "land_unused_ha"
    ranges = renderer.find("ranges").findall("range")
    colours = _symbol_colours(renderer)
    # The map's classes: estates.style.classify over the boroughs, as maps.py does.
    classes = style.classify(bundled_result.boroughs["land_unused_ha"], style.UNUSED_PALETTE)
    assert len(classes.bins) == 5
    assert [float(r.get("upper")) for r in ranges] == list(classes.bins)
    assert [float(r.get("lower")) for r in ranges] == [classes.minimum, *classes.bins[:-1]]
    assert [colours[r.get("symbol")] for r in ranges] == list(style.UNUSED_PALETTE)
    # ... and what london.html shows in its legend, label for label.
    page = (built / "london.html").read_text(encoding="utf-8")
    assert [(colours[r.get("symbol")], r.get("label")) for r in ranges] == _legend(page, "unused")
    # The second, non-default style is the map's other base layer.
    value = styles[(styles.f_table_name == "boroughs") & ~styles.useAsDefault]
    value_renderer = ET.fromstring(value.styleQML.iloc[0]).find("renderer-v2")
    assert value_renderer.get("attr") == "estimated_value_gbp"
    value_colours = _symbol_colours(value_renderer)
    value_ranges = value_renderer.find("ranges").findall("range")
    assert [(value_colours[r.get("symbol")], r.get("label")) for r in value_ranges] == _legend(
        page, "value"
    )


def test_borough_sld_has_the_same_classes(styles, bundled_result):
    row = styles[(styles.f_table_name == "boroughs") & styles.useAsDefault]
    sld = ET.fromstring(row.styleSLD.iloc[0])
    rules = sld.findall(".//se:Rule", SLD)
    classes = style.classify(bundled_result.boroughs["land_unused_ha"], style.UNUSED_PALETTE)
    fills = [r.find(".//se:Fill/se:SvgParameter", SLD).text for r in rules]
    assert fills == list(classes.colours)
    uppers = [
        float(r.find(".//ogc:PropertyIsLessThanOrEqualTo/ogc:Literal", SLD).text) for r in rules
    ]
    assert uppers == list(classes.bins)


def test_site_classes_equal_the_web_map_legend(built, styles):
    renderer = _default_qml(styles, "sites").find("renderer-v2")
    london = renderer.find("rules").find("rule")
    assert london.get("filter") == '"in_london"'
    rules = london.findall("rule")
    colours = _symbol_colours(renderer)
    page = (built / "london.html").read_text(encoding="utf-8")
    data = json.loads(
        re.search(r'<script[^>]*id="estates-data"[^>]*>(.*?)</script>', page, re.S).group(1)
    )
    config = data["config"]
    assert [colours[r.get("symbol")] for r in rules] == [
        *config["scorePalette"],
        config["unscored"],
    ]
    bounds = [float(x) for r in rules[:-1] for x in re.findall(r"<= ([0-9.]+)", r.get("filter"))]
    assert bounds == config["scoreBins"][:-1]
    assert rules[-1].get("filter") == "ELSE"
    assert rules[-1].get("label") == "Not scored"
    # Marker size follows estates.style.site_radius_px (diameter = 2 x radius, pixels).
    size = renderer.find(".//Option[@name='size'][@type='Map']/Option[@name='expression']")
    assert size.get("value") == (
        '2 * min(20, 3 + 3.5 * sqrt(max(coalesce("land_unused_ha", 0), 0)))'
    )
    assert (style.RADIUS_MAX_PX, style.RADIUS_MIN_PX, style.RADIUS_PX_PER_SQRT_HA) == (20, 3, 3.5)


def test_outlines_and_context_use_the_map_colours(styles):
    options = {}
    for layer, colour in (("pilots", "#6a1b9a"), ("subregions", "#37474f")):
        renderer = _default_qml(styles, layer).find("renderer-v2")
        options[layer] = {
            o.get("name"): o.get("value") for o in renderer.find(".//layer").find("Option")
        }
        key = "outline_color" if layer == "pilots" else "line_color"
        assert _rgb(options[layer][key]) == colour
    assert options["pilots"]["style"] == "no"  # an outline, no fill
    assert (options["pilots"]["outline_width"], options["subregions"]["line_width"]) == ("2.5", "2")
    assert options["subregions"]["customdash"] == "6;5"  # the map's dashArray "6 5"
    renderer = _default_qml(styles, "nhs_context").find("renderer-v2")
    colours = _symbol_colours(renderer)
    categories = {c.get("value"): colours[c.get("symbol")] for c in renderer.iter("category")}
    assert categories == {
        "hospital_2018": "#3f51b5",
        "hospital_2014": "#00897b",
        "clinic_2014": "#8e6c8a",
    }


def test_writing_styles_again_keeps_one_default_per_layer(tmp_path, bundled_result):
    path = _write_bundled(tmp_path / "sites.gpkg", bundled_result)
    write_styles(path, [site_style(), borough_style(bundled_result.boroughs)])
    styles = read_styles(path)
    assert len(styles) == 6
    assert styles.groupby("f_table_name").useAsDefault.sum().eq(1).all()
    # A file written twice is replaced, not appended to.
    _write_bundled(path, bundled_result)
    assert len(read_styles(path)) == 6
    assert pyogrio.read_info(path, layer="sites")["features"] == len(bundled_result.sites)


def test_styling_a_missing_layer_or_a_non_geopackage_is_refused(tmp_path, bundled_result):
    path = tmp_path / "one.gpkg"
    bundled_result.boroughs.to_crs(BNG).to_file(path, layer="boroughs", engine="pyogrio")
    with pytest.raises(DataValidationError, match=r"one\.gpkg has no layer pilots, sites to style"):
        write_styles(path, [site_style(), outline_style("pilots")])
    other = tmp_path / "plain.sqlite"
    _sql(other, "CREATE TABLE t (a)")
    with pytest.raises(DataValidationError, match=r"plain\.sqlite is not a GeoPackage"):
        write_styles(other, [site_style()])
    assert read_styles(path).empty


def test_a_group_with_no_known_borough_has_an_empty_outline(bundled_result):
    groups = {"x": {"name": "Nowhere", "borough_codes": ["E99999999"], "land_unused_ha": None}}
    outlines = group_outlines(bundled_result.boroughs, groups)
    assert outlines.geometry.iloc[0].is_empty
    assert outlines["land_unused_ha"].isna().all()
    assert outlines.crs == BNG


class _Traced:
    """Record every SQL statement the connections ``write_styles`` opens run."""

    def __init__(self, monkeypatch) -> None:
        self.statements: list[str] = []
        connect = sqlite3.connect

        def traced(*args, **kwargs):
            con = connect(*args, **kwargs)
            con.set_trace_callback(self.statements.append)
            return con

        monkeypatch.setattr("estates.io.gpkg.sqlite3.connect", traced)


def test_a_build_writes_its_geopackage_without_waiting_for_the_disk_at_each_commit(
    tmp_path, bundled_result, monkeypatch
):
    traced = _Traced(monkeypatch)
    assert geopackage_writes_synced()  # GDAL's default
    with unsynced_geopackage_writes():
        assert not geopackage_writes_synced()
        path = _write_bundled(tmp_path / "unsynced.gpkg", bundled_result)
    assert "PRAGMA synchronous = OFF" in traced.statements  # the styles, as the layers
    assert geopackage_writes_synced()
    traced.statements.clear()
    synced = _write_bundled(tmp_path / "synced.gpkg", bundled_result)
    assert not any("synchronous" in s for s in traced.statements)
    # The same layers, rows and styles either way.
    for layer in LAYERS:
        left = pyogrio.read_dataframe(path, layer=layer)
        right = pyogrio.read_dataframe(synced, layer=layer)
        assert left.equals(right), layer
    columns = ["f_table_name", "styleName", "styleQML", "styleSLD", "useAsDefault"]
    assert read_styles(path)[columns].equals(read_styles(synced)[columns])


def test_a_gdal_setting_of_the_callers_own_is_given_back():
    pyogrio.set_gdal_config_options({SQLITE_SYNCHRONOUS: "NORMAL"})
    try:
        with pytest.raises(KeyError), unsynced_geopackage_writes():
            raise KeyError("x")
        assert pyogrio.get_gdal_config_option(SQLITE_SYNCHRONOUS) == "NORMAL"
        assert geopackage_writes_synced()
    finally:
        pyogrio.set_gdal_config_options({SQLITE_SYNCHRONOUS: None})
    assert pyogrio.get_gdal_config_option(SQLITE_SYNCHRONOUS) is None


def test_the_build_writes_unsynced_and_gives_the_setting_back(tmp_path, monkeypatch):
    from estates.builder import runner

    seen: list[bool] = []
    write = runner.write_output_set

    def watched(*args, **kwargs):
        seen.append(geopackage_writes_synced())
        return write(*args, **kwargs)

    monkeypatch.setattr(runner, "write_output_set", watched)
    report = build_output_set(BuildOptions(out=tmp_path / "out", wait_s=0, maps=False))
    assert report.status == "published"
    assert seen == [False]
    assert geopackage_writes_synced()
    assert pyogrio.read_info(tmp_path / "out" / "sites.gpkg", layer="sites")["features"] > 0
