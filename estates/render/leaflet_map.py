"""The map page's document and the script that makes its Leaflet map, layers and layer control.

A map page draws everything in the browser from one JSON payload
(:mod:`estates.render.payload`) with the page's own script
(``static/map.js``). What is left to write is the HTML document around it and
a short script: which Leaflet map to make, an optional tile layer, which layers
the page's script makes, which of them show on opening and how the layer
control lists them. This module writes both as plain text, with no template
engine: every value in the script is JSON written for a ``<script>``
(:func:`~estates.render.assets.json_for_script`, no ``<``, ``>`` or ``&``), and
every layer name is HTML-escaped, as Leaflet's layer control writes names as
HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from estates.errors import ConfigError
from estates.render.assets import json_for_script

__all__ = ["MAP_ID", "Layer", "TileLayer", "map_document", "map_script", "tile_layer"]

#: The id of the ``<div>`` that holds the map.
MAP_ID = "est-map"

#: The map fills the window; the page's script fits the sections around it.
_DOCUMENT_STYLE = (
    "<style>html, body { width: 100%; height: 100%; margin: 0; padding: 0; }\n"
    f"#{MAP_ID} {{ position: relative; width: 100%; height: 100%; left: 0; top: 0; }}</style>"
)


@dataclass(frozen=True)
class Layer:
    """One layer the layer control lists.

    Attributes
    ----------
    name : str
        The layer's name in the control, as plain text.
    make : str
        A JavaScript expression returning the Leaflet layer, such as
        ``estates.siteLayer()``; written by this package, never from data.
    overlay : bool
        An overlay (a check box) or a base layer (one of a set of radio buttons).
    show : bool
        Whether the layer is on the map when the page opens.
    """

    name: str
    make: str
    overlay: bool
    show: bool


@dataclass(frozen=True)
class TileLayer:
    """A tile layer under the boroughs: its URL template, HTML attribution and zoom range."""

    url: str
    attribution: str
    min_zoom: int = 0
    max_zoom: int = 18
    subdomains: str = "abc"


def tile_layer(tiles: str, attribution: str | None) -> TileLayer:
    """Return the tile layer for a URL template or a tile provider's name.

    A URL template (with ``{`` or ``://``) needs ``attribution``, the
    provider's credit as plain text (it is escaped). A name is looked up in
    the ``xyzservices`` catalogue ("CartoDB Positron", "OpenStreetMap"), whose
    own HTML credit is used unless ``attribution`` is given.

    Raises
    ------
    ConfigError
        If a URL has no attribution, or a name is not in the catalogue or
        needs an API key.

    Examples
    --------
    >>> tile_layer("https://t.example/{z}/{x}/{y}.png", "Tiles © A & B").attribution
    'Tiles © A &amp; B'
    >>> tile_layer("OpenStreetMap", None).url
    'https://tile.openstreetmap.org/{z}/{x}/{y}.png'
    """
    if "{" in tiles or "://" in tiles:
        if not attribution:
            msg = f"tiles {tiles!r} is a URL; give tiles_attribution (the tile provider's credit)"
            raise ConfigError(msg)
        return TileLayer(tiles, escape(attribution))
    import xyzservices  # only for a provider's name: a URL needs no catalogue

    name = "OpenStreetMap Mapnik" if tiles.lower() == "openstreetmap" else tiles
    try:
        provider = xyzservices.providers.query_name(name)
    except ValueError:
        msg = (
            f"tiles {tiles!r} is neither a URL template nor the name of a tile provider "
            "known to xyzservices (such as 'CartoDB Positron')"
        )
        raise ConfigError(msg) from None
    if provider.requires_token():
        msg = (
            f"tiles {tiles!r} needs an API key; give the provider's URL template with "
            "your key in it, and its credit as tiles_attribution"
        )
        raise ConfigError(msg)
    return TileLayer(
        provider.build_url(fill_subdomain=False, scale_factor="{r}"),
        escape(attribution) if attribution else provider.html_attribution,
        min_zoom=int(provider.get("min_zoom", 0)),
        max_zoom=int(provider.get("max_zoom", 18)),
        subdomains=str(provider.get("subdomains", "abc")),
    )


def map_script(
    options: Mapping[str, Any],
    layers: Sequence[Layer],
    *,
    tiles: TileLayer | None,
    data_id: str,
    ui: Mapping[str, Any],
) -> str:
    r"""Return the script that makes the page's map, its layers and their control.

    In order: the map in ``#est-map`` with ``options`` (Leaflet's map
    options), its zoom control at the top right, ``tiles`` if any, the
    page's script started on the JSON in the element ``data_id``, each
    layer made (and added if it shows) in the order given, so later layers
    draw above earlier ones, the layer control listing them, and the page's
    panel and controls from ``ui``.

    Examples
    --------
    A layer's name is escaped as HTML, then written as JSON for a script:

    >>> sites = Layer("<b>Sites", "estates.siteLayer()", overlay=True, show=True)
    >>> js = map_script({"zoom": 10}, [sites], tiles=None, data_id="d", ui={})
    >>> print(js.splitlines()[5])
      layer = estates.siteLayer(); overlays["\u0026lt;b\u0026gt;Sites"] = layer; layer.addTo(map);
    """
    lines = [
        "(function () {",
        f"  var map = L.map({json_for_script(MAP_ID)}, {json_for_script(dict(options))});",
        '  L.control.zoom({"position":"topright"}).addTo(map);',
    ]
    if tiles is not None:
        tile_options = {
            "attribution": tiles.attribution,
            "minZoom": tiles.min_zoom,
            "maxZoom": tiles.max_zoom,
            "subdomains": tiles.subdomains,
        }
        lines.append(
            f"  L.tileLayer({json_for_script(tiles.url)}, {json_for_script(tile_options)})"
            ".addTo(map);"
        )
    lines += [
        "  estates.init(map, JSON.parse("
        f"document.getElementById({json_for_script(data_id)}).textContent));",
        "  var base = {}, overlays = {}, layer;",
    ]
    for layer in layers:
        group = "overlays" if layer.overlay else "base"
        add = " layer.addTo(map);" if layer.show else ""
        name = json_for_script(escape(layer.name))
        lines.append(f"  layer = {layer.make}; {group}[{name}] = layer;{add}")
    control = {"position": "topright", "collapsed": False, "autoZIndex": True}
    lines += [
        f"  L.control.layers(base, overlays, {json_for_script(control)}).addTo(map);",
        f"  estates.ui({json_for_script(dict(ui))});",
        "})();",
    ]
    return "\n".join(lines)


def map_document(head: str, *, before_map: Sequence[str], after_map: str, script: str) -> str:
    """Return the page: ``head``, then in its body ``before_map``, the map and ``after_map``.

    ``script``, which makes the map, comes last in the body, once the map's
    ``<div>`` is in the document.
    """
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            head,
            _DOCUMENT_STYLE,
            "</head>",
            "<body>",
            *before_map,
            f'<div class="est-map" id="{MAP_ID}"></div>',
            after_map,
            f"<script>\n{script}\n</script>",
            "</body>",
            "</html>",
            "",
        ]
    )
