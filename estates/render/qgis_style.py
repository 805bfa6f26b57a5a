"""QGIS styles (QML) and portable SLD for the layers of ``sites.gpkg``.

Each function returns a :class:`LayerStyle`: the same classes and colours as
``london.html``, written as a QGIS layer style (QML, what QGIS applies when
it opens the layer) and as an OGC Styled Layer Descriptor 1.1 (SLD, for
GeoServer, ArcGIS Pro and other tools). :mod:`estates.io.gpkg` stores them in
the GeoPackage's ``layer_styles`` table, where QGIS finds its default style.

``boroughs``
    Graduated by ``land_unused_ha``: the Fisher-Jenks classes of
    :func:`estates.style.classify` and :data:`~estates.style.UNUSED_PALETTE`,
    white borders (a second, non-default style shades by
    ``estimated_value_gbp`` with :data:`~estates.style.VALUE_PALETTE`).
``sites``
    Circles coloured by ``disposal_score`` in the map legend's five classes
    (:data:`~estates.style.SCORE_BINS`, :data:`~estates.style.SCORE_PALETTE`),
    grey when not scored, sized by unused land as on the map
    (:func:`~estates.style.site_radius_px`; the SLD uses one size). As on the
    map, only sites inside Greater London are drawn.
``pilots`` and ``subregions``
    Outlines with no fill: solid purple and dashed grey.
``nhs_context``
    Small circles by ``context_kind`` with the map's colours.

Nothing here reads or writes files.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from estates import style
from estates.errors import ConfigError
from estates.style import CONTEXT_KINDS, PILOT_COLOUR, SUBREGION_COLOUR

__all__ = [
    "LayerStyle",
    "borough_style",
    "context_style",
    "outline_style",
    "site_style",
]

_QML_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_SLD_ATTRS = {
    "version": "1.1.0",
    "xmlns": "http://www.opengis.net/sld",
    "xmlns:ogc": "http://www.opengis.net/ogc",
    "xmlns:se": "http://www.opengis.net/se",
    "xmlns:xlink": "http://www.w3.org/1999/xlink",
    "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsi:schemaLocation": (
        "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd"
    ),
}
# Drawing details of london.html (estates/render/static/map.js and estates/render/page.py).
_BOROUGH_EDGE = ("#ffffff", 1.2)
_SITE_EDGE = ("#1f2933", 1.0)
_SITE_OPACITY = 0.9
_CONTEXT_EDGE = ("#ffffff", 1.0)
_CONTEXT_RADIUS_PX = 3.5
_OUTLINES = {
    "pilots": ("Devolution pilots", PILOT_COLOUR, 2.5, None),
    "subregions": ("Sub-regions", SUBREGION_COLOUR, 2.0, (6.0, 5.0)),
}
_CHOROPLETHS = {
    "land_unused_ha": ("Unused land (ha)", style.UNUSED_PALETTE, style.format_ha),
    "estimated_value_gbp": (
        "Value, midpoint (£)",
        style.VALUE_PALETTE,
        style.format_gbp,
    ),
}
_SCORE_TITLE = "Disposal score (0–1, higher = stronger case)"
_SCORE_LEGEND = "Disposal score (0–1)"


@dataclass(frozen=True)
class LayerStyle:
    """One style of one GeoPackage layer.

    Attributes
    ----------
    layer : str
        The layer (table) it styles, e.g. ``"boroughs"``.
    name : str
        Style name shown in QGIS's style manager (at most 30 characters).
    qml : str
        The QGIS style document (``.qml``).
    sld : str
        The same classes as an OGC SLD 1.1 document.
    description : str
        One line on what the style shows.
    default : bool
        Whether QGIS applies it when the layer is opened.
    breaks : tuple of float
        Upper bound of each class, ascending (empty for unclassed styles).
    colours : tuple of str
        Fill colour of each class, ``#rrggbb``.
    """

    layer: str
    name: str
    qml: str
    sld: str
    description: str
    default: bool = True
    breaks: tuple[float, ...] = ()
    colours: tuple[str, ...] = ()


def borough_style(
    boroughs: pd.DataFrame, *, column: str = "land_unused_ha", default: bool = True
) -> LayerStyle:
    """Return the borough choropleth of ``london.html`` as a QGIS graduated style.

    Parameters
    ----------
    boroughs : pandas.DataFrame or geopandas.GeoDataFrame
        One row per borough with ``column`` (any CRS; only the values are
        read). Left unchanged.
    column : {"land_unused_ha", "estimated_value_gbp"}
        What shades the boroughs: hectares (the map's default layer) or pounds.
    default : bool, default True
        Whether QGIS applies this style when the layer is opened.

    Returns
    -------
    LayerStyle
        Graduated renderer with the map's Fisher-Jenks classes
        (:func:`estates.style.classify`) and palette; a class holds values
        above the previous break up to and including its own. Boroughs with
        no value are left unfilled.

    Raises
    ------
    ConfigError
        If ``column`` is not one of the allowed values.

    Examples
    --------
    >>> style = borough_style(pd.DataFrame({"land_unused_ha": [0.0, 1.0, 1.0, 9.0]}))
    >>> style.breaks, style.colours
    ((0.0, 1.0, 9.0), ('#f1eef6', '#74a9cf', '#045a8d'))
    >>> borough_style(pd.DataFrame({"land_unused_ha": [float("nan")]})).breaks
    ()
    >>> borough_style(pd.DataFrame(), column="area")
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: column 'area' is not allowed; choose one of: land_unused_ha, ...
    """
    if column not in _CHOROPLETHS:
        msg = f"column {column!r} is not allowed; choose one of: {', '.join(_CHOROPLETHS)}"
        raise ConfigError(msg)
    title, palette, fmt = _CHOROPLETHS[column]
    values = pd.to_numeric(boroughs[column], errors="coerce")
    classes = style.classify(values, palette)
    # style.Classes.labels needs at least one class; no values means no classes.
    lows = [classes.minimum, *classes.bins[:-1]] if classes.bins else []
    labels = classes.labels(fmt) if classes.bins else []
    edge, width = _BOROUGH_EDGE

    renderer = _el(
        "renderer-v2",
        type="graduatedSymbol",
        attr=column,
        graduatedMethod="GraduatedColor",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    for i, (lo, hi, colour, label) in enumerate(
        zip(lows, classes.bins, classes.colours, labels, strict=True)
    ):
        ET.SubElement(
            ranges,
            "range",
            lower=_num(lo),
            upper=_num(hi),
            label=label,
            symbol=str(i),
            render="true",
        )
        symbols.append(_fill_symbol(str(i), colour, edge, width))
    source = ET.SubElement(renderer, "source-symbol")
    source.append(_fill_symbol("0", style.NO_DATA_COLOUR, edge, width))
    method = ET.SubElement(renderer, "classificationMethod", id="Jenks")
    ET.SubElement(method, "symmetricMode", enabled="0", symmetrypoint="0", astride="0")
    ET.SubElement(method, "labelFormat", format="%1 – %2", precision="2", trimtrailingzeroes="1")
    qml = _qml(renderer, preview='"borough_name"', geometry_type=2)

    rules = []
    for i, (lo, hi, colour, label) in enumerate(
        zip(lows, classes.bins, classes.colours, labels, strict=True)
    ):
        low_op = "PropertyIsGreaterThanOrEqualTo" if i == 0 else "PropertyIsGreaterThan"
        test = _sld_and(
            _sld_cmp(low_op, column, lo), _sld_cmp("PropertyIsLessThanOrEqualTo", column, hi)
        )
        rule = _sld_rule(label, test)
        rule.append(_sld_polygon(colour, edge, width))
        rules.append(rule)
    return LayerStyle(
        layer="boroughs",
        name=title,
        qml=qml,
        sld=_sld("boroughs", title, rules),
        description=f"Boroughs shaded by {column} as in london.html: Fisher-Jenks classes "
        "over London's boroughs",
        default=default,
        breaks=classes.bins,
        colours=classes.colours,
    )


def site_style() -> LayerStyle:
    """Return the map's site markers as a QGIS rule-based style.

    Sites inside Greater London (``in_london``) are circles filled by
    ``disposal_score`` class (0–0.2, 0.2–0.4, ... 0.8–1, the upper bound
    included), grey when not scored, drawn biggest first and highest score
    on top. The marker's radius in pixels grows with the square root of
    ``land_unused_ha``, as :func:`estates.style.site_radius_px`.

    Returns
    -------
    LayerStyle
        ``breaks`` are :data:`estates.style.SCORE_BINS` and ``colours``
        :data:`estates.style.SCORE_PALETTE`.

    Examples
    --------
    >>> sites = site_style()
    >>> sites.breaks == style.SCORE_BINS, sites.colours == style.SCORE_PALETTE
    (True, True)
    >>> [rule.get("filter") for rule in ET.fromstring(sites.qml).iter("rule")][1:3]
    ['"disposal_score" <= 0.2', '"disposal_score" > 0.2 AND "disposal_score" <= 0.4']
    """
    lows = (0.0, *style.SCORE_BINS[:-1])
    n = len(style.SCORE_BINS)
    labels = [f"{lo:.1f} – {hi:.1f}" for lo, hi in zip(lows, style.SCORE_BINS, strict=True)]
    filters = []
    for i, (lo, hi) in enumerate(zip(lows, style.SCORE_BINS, strict=True)):
        parts = []
        if i > 0:
            parts.append(f'"disposal_score" > {_num(lo)}')
        if i < n - 1:
            parts.append(f'"disposal_score" <= {_num(hi)}')
        filters.append(" AND ".join(parts))
    size = (
        f"2 * min({_num(style.RADIUS_MAX_PX)}, {_num(style.RADIUS_MIN_PX)} + "
        f'{_num(style.RADIUS_PX_PER_SQRT_HA)} * sqrt(max(coalesce("land_unused_ha", 0), 0)))'
    )

    renderer = _el(
        "renderer-v2",
        type="RuleRenderer",
        symbollevels="0",
        enableorderby="1",
        forceraster="0",
    )
    root = ET.SubElement(renderer, "rules", key=_key("sites", "root"))
    london = ET.SubElement(
        root, "rule", key=_key("sites", "london"), filter='"in_london"', label=_SCORE_LEGEND
    )
    symbols = ET.SubElement(renderer, "symbols")
    colours = [*style.SCORE_PALETTE, style.UNSCORED_COLOUR]
    for i, (flt, label, colour) in enumerate(
        zip([*filters, "ELSE"], [*labels, "Not scored"], colours, strict=True)
    ):
        ET.SubElement(
            london, "rule", key=_key("sites", str(i)), filter=flt, label=label, symbol=str(i)
        )
        symbols.append(
            _marker_symbol(
                str(i),
                colour,
                *_SITE_EDGE,
                diameter_px=2 * style.RADIUS_MIN_PX,
                opacity=_SITE_OPACITY,
                size_expression=size,
            )
        )
    order = ET.SubElement(renderer, "orderby")
    _sub(order, "orderByClause", '"land_unused_ha"', asc="0", nullsFirst="0")
    _sub(order, "orderByClause", '"disposal_score"', asc="1", nullsFirst="1")
    qml = _qml(renderer, preview='"site_name"', geometry_type=0)

    in_london = _sld_cmp("PropertyIsEqualTo", "in_london", 1)
    rules = []
    for i, (lo, hi, colour, label) in enumerate(
        zip(lows, style.SCORE_BINS, style.SCORE_PALETTE, labels, strict=True)
    ):
        tests = [in_london]
        if i > 0:
            tests.append(_sld_cmp("PropertyIsGreaterThan", "disposal_score", lo))
        if i < n - 1:
            tests.append(_sld_cmp("PropertyIsLessThanOrEqualTo", "disposal_score", hi))
        rule = _sld_rule(label, _sld_and(*tests))
        rule.append(_sld_point(colour, *_SITE_EDGE, diameter_px=8.0))
        rules.append(rule)
    null = _el("ogc:PropertyIsNull")
    _sub(null, "ogc:PropertyName", "disposal_score")
    rule = _sld_rule("Not scored", _sld_and(in_london, null))
    rule.append(_sld_point(style.UNSCORED_COLOUR, *_SITE_EDGE, diameter_px=8.0))
    rules.append(rule)
    return LayerStyle(
        layer="sites",
        name="Disposal score",
        qml=qml,
        sld=_sld("sites", _SCORE_TITLE, rules),
        description="London sites coloured by disposal_score and sized by land_unused_ha, "
        "as in london.html",
        breaks=style.SCORE_BINS,
        colours=style.SCORE_PALETTE,
    )


def outline_style(layer: str) -> LayerStyle:
    """Return the map's pilot or sub-region outlines: a coloured line, no fill.

    Parameters
    ----------
    layer : {"pilots", "subregions"}
        Which outlines: solid purple for devolution pilots, dashed grey for
        sub-regions.

    Returns
    -------
    LayerStyle

    Raises
    ------
    ConfigError
        If ``layer`` is not one of the allowed values.

    Examples
    --------
    >>> outline_style("pilots").colours
    ('#6a1b9a',)
    >>> outline_style("stps")
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: layer 'stps' is not allowed; choose one of: pilots, subregions
    """
    if layer not in _OUTLINES:
        msg = f"layer {layer!r} is not allowed; choose one of: {', '.join(_OUTLINES)}"
        raise ConfigError(msg)
    title, colour, width, dash = _OUTLINES[layer]
    renderer = _el(
        "renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0"
    )
    symbols = ET.SubElement(renderer, "symbols")
    symbol = _symbol("fill", "0")
    options = {
        "color": "0,0,0,0",
        "style": "no",
        "outline_color": _rgba(colour, 0.95),
        "outline_style": "solid",
        "outline_width": _num(width),
        "outline_width_unit": "Pixel",
        "joinstyle": "round",
    }
    if dash is None:
        symbol.append(_symbol_layer("SimpleFill", options))
    else:
        # A dashed outline needs a line layer on the polygon's rings.
        symbol.append(
            _symbol_layer(
                "SimpleLine",
                {
                    "line_color": _rgba(colour, 0.95),
                    "line_style": "solid",
                    "line_width": _num(width),
                    "line_width_unit": "Pixel",
                    "use_custom_dash": "1",
                    "customdash": ";".join(_num(d) for d in dash),
                    "customdash_unit": "Pixel",
                    "joinstyle": "round",
                    "capstyle": "flat",
                },
            )
        )
    symbols.append(symbol)
    qml = _qml(renderer, preview='"group_name"', geometry_type=2)

    stroke = _el("se:Stroke")
    _sub(stroke, "se:SvgParameter", colour, name="stroke")
    _sub(stroke, "se:SvgParameter", _num(width), name="stroke-width")
    _sub(stroke, "se:SvgParameter", "0.95", name="stroke-opacity")
    if dash is not None:
        _sub(stroke, "se:SvgParameter", " ".join(_num(d) for d in dash), name="stroke-dasharray")
    polygon = _el("se:PolygonSymbolizer")
    polygon.append(stroke)
    rule = _sld_rule(title, None)
    rule.append(polygon)
    return LayerStyle(
        layer=layer,
        name=title,
        qml=qml,
        sld=_sld(layer, title, [rule]),
        description=f"{title} as outlines, as in london.html",
        colours=(colour,),
    )


def context_style(kinds: Sequence[str] | None = None) -> LayerStyle:
    """Return the map's NHS hospital and clinic points, coloured by ``context_kind``.

    Parameters
    ----------
    kinds : sequence of str, optional
        The kinds to list, in drawing order; default every kind of
        :data:`estates.style.CONTEXT_KINDS`.

    Returns
    -------
    LayerStyle
        A categorised style, one class per kind, with the map's labels.

    Raises
    ------
    ConfigError
        If a kind is unknown.

    Examples
    --------
    >>> context_style().colours
    ('#3f51b5', '#00897b', '#8e6c8a')
    >>> context_style(["hospital_1990"])
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: context kind 'hospital_1990' is not one of hospital_2018, ...
    """
    kinds = list(CONTEXT_KINDS) if kinds is None else list(kinds)
    for kind in kinds:
        if kind not in CONTEXT_KINDS:
            msg = f"context kind {kind!r} is not one of {', '.join(CONTEXT_KINDS)}"
            raise ConfigError(msg)
    renderer = _el(
        "renderer-v2",
        type="categorizedSymbol",
        attr="context_kind",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    rules = []
    diameter = 2 * _CONTEXT_RADIUS_PX
    for i, kind in enumerate(kinds):
        label, colour = CONTEXT_KINDS[kind]
        ET.SubElement(categories, "category", value=kind, label=label, symbol=str(i), render="true")
        symbols.append(_marker_symbol(str(i), colour, *_CONTEXT_EDGE, diameter_px=diameter))
        rule = _sld_rule(label, _sld_cmp("PropertyIsEqualTo", "context_kind", kind))
        rule.append(_sld_point(colour, *_CONTEXT_EDGE, diameter_px=diameter))
        rules.append(rule)
    qml = _qml(renderer, preview='"context_name"', geometry_type=0)
    return LayerStyle(
        layer="nhs_context",
        name="NHS hospitals and clinics",
        qml=qml,
        sld=_sld("nhs_context", "NHS hospitals and clinics", rules),
        description="NHS Choices hospital and clinic records by kind, as in london.html",
        colours=tuple(CONTEXT_KINDS[k][1] for k in kinds),
    )


# --------------------------------------------------------------------------- #
# XML helpers
# --------------------------------------------------------------------------- #


def _el(tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.Element(tag, attrs)
    if text is not None:
        element.text = text
    return element


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _num(value: float) -> str:
    """Write a number exactly and briefly: ``0.2``, ``1.25``, ``3``."""
    x = float(value)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _rgba(colour: str, opacity: float = 1.0) -> str:
    """Turn ``#rrggbb`` into QGIS's ``r,g,b,a``."""
    text = colour.lstrip("#")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(opacity * 255)}"


def _key(layer: str, name: str) -> str:
    """Return a stable rule key, so the same inputs give the same style text."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"estates:{layer}:{name}")) + "}"


def _options(values: dict[str, str]) -> ET.Element:
    element = _el("Option", type="Map")
    for name, value in values.items():
        ET.SubElement(element, "Option", name=name, type="QString", value=value)
    return element


def _data_defined(properties: dict[str, str]) -> ET.Element:
    box = _el("data_defined_properties")
    collection = ET.SubElement(box, "Option", type="Map")
    ET.SubElement(collection, "Option", name="name", type="QString", value="")
    props = ET.SubElement(collection, "Option", name="properties")
    if properties:
        props.set("type", "Map")
    for name, expression in properties.items():
        prop = ET.SubElement(props, "Option", name=name, type="Map")
        ET.SubElement(prop, "Option", name="active", type="bool", value="true")
        ET.SubElement(prop, "Option", name="expression", type="QString", value=expression)
        ET.SubElement(prop, "Option", name="type", type="int", value="3")
    ET.SubElement(collection, "Option", name="type", type="QString", value="collection")
    return box


def _symbol(kind: str, name: str, opacity: float = 1.0) -> ET.Element:
    symbol = _el(
        "symbol", type=kind, name=name, alpha=_num(opacity), clip_to_extent="1", force_rhr="0"
    )
    symbol.append(_data_defined({}))
    return symbol


def _symbol_layer(
    cls: str, options: dict[str, str], data_defined: dict[str, str] | None = None
) -> ET.Element:
    layer = _el("layer", **{"class": cls, "enabled": "1", "pass": "0", "locked": "0"})
    layer.append(_options(options))
    for name, value in options.items():
        # QGIS before 3.26 also reads the older <prop k= v=/> form; write both.
        ET.SubElement(layer, "prop", k=name, v=value)
    layer.append(_data_defined(data_defined or {}))
    return layer


def _fill_symbol(name: str, colour: str, edge: str, width: float) -> ET.Element:
    symbol = _symbol("fill", name)
    symbol.append(
        _symbol_layer(
            "SimpleFill",
            {
                "color": _rgba(colour),
                "style": "solid",
                "outline_color": _rgba(edge),
                "outline_style": "solid",
                "outline_width": _num(width),
                "outline_width_unit": "Pixel",
                "joinstyle": "bevel",
            },
        )
    )
    return symbol


def _marker_symbol(
    name: str,
    colour: str,
    edge: str,
    width: float,
    *,
    diameter_px: float,
    opacity: float = 1.0,
    size_expression: str | None = None,
) -> ET.Element:
    symbol = _symbol("marker", name, opacity)
    symbol.append(
        _symbol_layer(
            "SimpleMarker",
            {
                "name": "circle",
                "color": _rgba(colour),
                "outline_color": _rgba(edge),
                "outline_style": "solid",
                "outline_width": _num(width),
                "outline_width_unit": "Pixel",
                "size": _num(diameter_px),
                "size_unit": "Pixel",
                "scale_method": "diameter",
                "joinstyle": "bevel",
            },
            {"size": size_expression} if size_expression else None,
        )
    )
    return symbol


def _qml(renderer: ET.Element, *, preview: str, geometry_type: int) -> str:
    root = _el("qgis", version="3.22.0", styleCategories="AllStyleCategories")
    root.append(renderer)
    _sub(root, "blendMode", "0")
    _sub(root, "featureBlendMode", "0")
    _sub(root, "layerOpacity", "1")
    _sub(root, "previewExpression", preview)
    _sub(root, "layerGeometryType", str(geometry_type))
    ET.indent(root, space=" ")
    return _QML_DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def _sld_cmp(op: str, column: str, value: Any) -> ET.Element:
    element = _el(f"ogc:{op}")
    _sub(element, "ogc:PropertyName", column)
    literal = value if isinstance(value, str) else _num(value)
    _sub(element, "ogc:Literal", literal)
    return element


def _sld_and(*tests: ET.Element) -> ET.Element:
    if len(tests) == 1:
        return tests[0]
    both = _el("ogc:And")
    both.extend(tests)
    return both


def _sld_rule(title: str, test: ET.Element | None) -> ET.Element:
    rule = _el("se:Rule")
    _sub(rule, "se:Name", title)
    description = _sub(rule, "se:Description")
    _sub(description, "se:Title", title)
    if test is not None:
        flt = _sub(rule, "ogc:Filter")
        flt.append(test)
    return rule


def _sld_fill_stroke(parent: ET.Element, colour: str, edge: str, width: float) -> None:
    fill = _sub(parent, "se:Fill")
    _sub(fill, "se:SvgParameter", colour, name="fill")
    stroke = _sub(parent, "se:Stroke")
    _sub(stroke, "se:SvgParameter", edge, name="stroke")
    _sub(stroke, "se:SvgParameter", _num(width), name="stroke-width")


def _sld_polygon(colour: str, edge: str, width: float) -> ET.Element:
    polygon = _el("se:PolygonSymbolizer")
    _sld_fill_stroke(polygon, colour, edge, width)
    return polygon


def _sld_point(colour: str, edge: str, width: float, *, diameter_px: float) -> ET.Element:
    point = _el("se:PointSymbolizer")
    graphic = _sub(point, "se:Graphic")
    mark = _sub(graphic, "se:Mark")
    _sub(mark, "se:WellKnownName", "circle")
    _sld_fill_stroke(mark, colour, edge, width)
    _sub(graphic, "se:Size", _num(diameter_px))
    return point


def _sld(layer: str, title: str, rules: list[ET.Element]) -> str:
    root = _el("StyledLayerDescriptor", **_SLD_ATTRS)
    named = _sub(root, "NamedLayer")
    _sub(named, "se:Name", layer)
    user = _sub(named, "UserStyle")
    _sub(user, "se:Name", layer)
    description = _sub(user, "se:Description")
    _sub(description, "se:Title", title)
    fts = _sub(user, "se:FeatureTypeStyle")
    fts.extend(rules)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
