"""One map page: a Leaflet map whose layers, legend and panel are drawn by the page's script.

:func:`build_map` writes the page's head (a Content-Security-Policy, Leaflet
and the page's own CSS and JavaScript inline), the JSON payload of
:mod:`estates.render.payload`, the layers the layer control lists
(:mod:`estates.render.leaflet_map`) and the side panel: title, figures,
search, the ranked list of a pilot's sites and the legend.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from estates import style
from estates.crs import LONDON_BOUNDS_WGS84
from estates.io.csv_text import FORMULA_START, PLAIN_NUMBER
from estates.render.about_section import ABOUT_ID, about_section
from estates.render.assets import (
    ScriptJson,
    inline_script,
    inline_style,
    json_for_script,
    json_object_for_script,
    leaflet_css,
    leaflet_js,
    package_text,
)
from estates.render.geography import (
    PageFocus,
    geo_payload,
    outline_colours,
    outline_legend,
    page_focus,
)
from estates.render.leaflet_map import Layer, TileLayer, map_document, map_script
from estates.render.payload import (
    CHOROPLETHS,
    COUNT_LAYER_NAME,
    COUNT_TITLE,
    Boroughs,
    Names,
    SitePayload,
    format_count,
    outline_geojson,
)
from estates.render.table_section import table_section
from estates.style import CONTEXT_KINDS

if TYPE_CHECKING:
    import geopandas as gpd


__all__ = [
    "View",
    "attribution",
    "bounds",
    "build_map",
    "csp",
    "plain_attribution",
    "script_hashes",
    "seal_scripts",
    "splice_data",
]

_LIST_LIMIT = 250
_SEARCH_LIMIT = 12
_FOCUS_ZOOM = 15
#: Rows of the site table drawn at once: a page of rows, never every site.
_TABLE_PAGE = 100
_SCORE_PARTS = (
    ("score_value", "Value"),
    ("score_share", "Unused share"),
    ("score_backlog", "Backlog"),
    ("score_constraints", "Constraints"),
)
_LAYER_NAMES = {
    "unused": "Unused land (ha)",
    "value": "Value range (£, 2017 policy appraisal)",
}


def _legend_choropleth(
    key: str,
    title: str,
    classes: style.Classes,
    fmt: Callable[[float], str],
    *,
    hidden: bool,
    note: str,
) -> str:
    has_missing = any(i < 0 for i in classes.index)
    rows = [
        f'<div class="est-row"><span class="est-sw" style="background:{colour}"></span>'
        f"{escape(label)}</div>"
        for colour, label in zip(classes.colours, classes.labels(fmt), strict=True)
    ]
    if has_missing or not rows:
        rows.append(
            f'<div class="est-row"><span class="est-sw" style="background:{style.NO_DATA_COLOUR}">'
            "</span>No data</div>"
        )
    return (
        f'<div class="est-legend-choro" data-key="{key}"{" hidden" if hidden else ""}>'
        f'<div class="est-h">{escape(title)}</div>{"".join(rows)}'
        f'<div class="est-note">{escape(note)}</div></div>'
    )


def _legend(
    boroughs: Boroughs, context: Mapping[str, Any], focus: PageFocus, focus_pilot: str | None
) -> str:
    """Return the legend's HTML (every text is a constant or escaped)."""
    parts = ['<details class="est-legend" open><summary>Legend</summary>']
    for key, (_, heading, _, formatter) in CHOROPLETHS.items():
        title = heading
        fmt: Callable[[float], str] = formatter
        if boroughs.by_count and key == "unused":
            title, fmt = COUNT_TITLE, format_count
        parts.append(
            _legend_choropleth(
                key, title, focus.classes[key], fmt, hidden=key != "unused", note=focus.note
            )
        )
    score_rows = []
    lows = (0.0, *style.SCORE_BINS[:-1])
    for lo, hi, colour in zip(lows, style.SCORE_BINS, style.SCORE_PALETTE, strict=True):
        score_rows.append(
            f'<div class="est-row"><span class="est-dot" style="background:{colour}"></span>'
            f"{lo:.1f} – {hi:.1f}</div>"
        )
    score_rows.append(
        f'<div class="est-row"><span class="est-dot" style="background:{style.UNSCORED_COLOUR}">'
        "</span>Not scored</div>"
    )
    parts.append(
        '<div class="est-h">Sites: disposal score (0–1, higher = stronger case)</div>'
        + "".join(score_rows)
    )
    sizes = []
    for ha in (0.5, 2.0, 10.0):
        r = style.site_radius_px(ha)
        d = 2 * r + 2
        sizes.append(
            f'<span class="est-size"><svg width="{d:.0f}" height="{d:.0f}" aria-hidden="true">'
            f'<circle cx="{d / 2:.1f}" cy="{d / 2:.1f}" r="{r:.1f}" fill="#ffffff"'
            ' stroke="#1f2933"/>'
            f"</svg>{escape(style.format_ha(ha))}</span>"
        )
    parts.append(
        '<div class="est-h">Marker size: unused land</div>'
        f'<div class="est-sizes">{"".join(sizes)}</div>'
    )
    parts.append(
        '<div class="est-h">Outlines: devolution pilots</div>'
        + outline_legend(
            boroughs,
            focus_pilot,
            lambda css, label: (
                f'<div class="est-row"><span class="est-line" style="{css}"></span>{label}</div>'
            ),
        )
        + '<div class="est-row"><span class="est-line"'
        f' style="border-top:2px dashed {style.SUBREGION_COLOUR}">'
        "</span>Sub-region (STP footprint)</div>"
    )
    if context:
        rows = "".join(
            '<div class="est-row"><span class="est-dot est-small"'
            f' style="background:{spec["colour"]}"></span>'
            f"{spec['label']}</div>"
            for spec in context.values()
        )
        parts.append(
            '<div class="est-legend-context">'
            f'<div class="est-h">Context: NHS Choices records (switch on at top right)</div>{rows}'
            "</div>"
        )
    parts.append("</details>")
    return "".join(parts)


def _site_list(sites: SitePayload) -> str:
    """Return the ranked list of sites (pilot maps) as HTML."""
    fields = {f: i for i, f in enumerate(sites.rows.fields)}
    ranks = np.where(np.isnan(sites.ranks), np.inf, sites.ranks)
    order = sorted(range(len(sites.rows)), key=lambda i: (ranks[i], sites.codes[i], i))
    shown = order[:_LIST_LIMIT]
    items = []
    for i, r in zip(shown, sites.rows.take(shown).lists(), strict=True):
        rank = r[fields["rank"]]
        badge = f"#{rank:,} in London" if rank is not None else "–"
        items.append(
            f'<li><button type="button" data-i="{i}"><span class="est-badge">{badge}</span>'
            f'<span class="est-li-main"><span class="est-li-name">{r[fields["name"]]}</span>'
            f'<span class="est-li-meta">{r[fields["code"]]} · '
            f"{escape(style.format_ha(r[fields['unused_ha']]))} unused · "
            f"{escape(style.format_gbp(r[fields['value_gbp']]))}</span></span></button></li>"
        )
    more = ""
    if len(order) > len(shown):
        more = (
            f'<p class="est-note">Showing {len(shown):,} of {len(order):,};'
            " search for the rest.</p>"
        )
    if not items:
        return (
            '<div class="est-list" id="est-sites" tabindex="-1">'
            '<div class="est-h">Sites in rank order</div>'
            '<p class="est-note">No located sites.</p></div>'
        )
    return (
        '<div class="est-list" id="est-sites" tabindex="-1">'
        f'<div class="est-h">Sites in order of their rank in London ({len(order):,})</div>'
        f"<ol>{''.join(items)}</ol>{more}</div>"
    )


def _panel(
    title: str,
    subtitle: str,
    legend: str,
    list_html: str,
    *,
    note: str = "",
    facts: tuple[str, ...] = (),
) -> str:
    note_html = f'<p class="est-note">{escape(note)}</p>' if note else ""
    facts_html = "".join(f'<p class="est-note est-fact">{escape(f)}</p>' for f in facts if f)
    return (
        '<div class="est-head">'
        '<a class="est-back" href="index.html">&larr; All maps and figures</a>'
        f"<h1>{escape(title)}</h1><p>{subtitle}</p>{note_html}{facts_html}"
        '<p class="est-note est-to-table"><a href="#est-table">'
        "Table of the sites on this map, to sort, filter and download</a></p>"
        f'<p class="est-note est-to-about"><a href="#{ABOUT_ID}">'
        "About this map: sources, licences, how to read it</a></p></div>"
        '<div class="est-search"><input id="est-find" type="search" autocomplete="off"'
        ' spellcheck="false"'
        ' placeholder="Find a site by name or code" aria-label="Find a site by name or code">'
        '<ul class="est-results" aria-label="Matching sites"></ul></div>'
        f"{list_html}{legend}"
    )


#: Stands in the policy for the scripts' hashes until the page is whole (:func:`seal_scripts`).
_SCRIPT_HASHES = "'estates-script-hashes'"
#: The opening tag of a script element, its attributes in ``attrs``.
_SCRIPT_OPEN = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>")
#: What must follow ``</script`` to close the element.
_SCRIPT_CLOSE_END = re.compile(r"\s*>")


def _scripts(html: str) -> Iterator[tuple[str, str]]:
    r"""Yield the attributes and the text of each ``<script>`` element of ``html``, in order.

    The text runs to the first ``</script`` closed by ``>`` (spaces allowed
    between), as ``<script(attrs)>(.*?)</script\s*>`` would match it; the
    closing tag is found by ``str.find``, which skips a page's megabytes of
    JSON data far faster than a lazy regular expression steps through them.
    """
    pos = 0
    while opening := _SCRIPT_OPEN.search(html, pos):
        end = html.find("</script", opening.end())
        while end >= 0:
            closing = _SCRIPT_CLOSE_END.match(html, end + len("</script"))
            if closing:
                yield opening.group("attrs"), html[opening.end() : end]
                pos = closing.end()
                break
            end = html.find("</script", end + 1)
        else:
            return


def csp(tiles: bool, scripts: bool = True) -> str:
    """Return the page's Content-Security-Policy ``<meta>``: nothing loads from elsewhere.

    ``script-src`` allows, with ``scripts``, exactly the page's own inline
    scripts by their SHA-256 hashes, filled in by :func:`seal_scripts` once
    the page is whole; without, none. No ``'unsafe-inline'``: an inline event
    handler (``onerror=``) or a ``<script>`` element that markup in the data
    could smuggle in does not run, even if it escaped the escaping.
    ``style-src`` keeps ``'unsafe-inline'``: Leaflet positions every tile,
    marker and popup through the ``style`` attribute, which a hash cannot
    allow, and a style cannot run code.
    """
    img = "data: https: http:" if tiles else "data:"
    script = _SCRIPT_HASHES if scripts else "'none'"
    policy = (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src {img}; "
        "font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def script_hashes(html: str) -> list[str]:
    """Return the CSP sources (``'sha256-…'``) of every inline script ``html`` runs, in order.

    A script is hashed over its exact text between ``<script>`` and
    ``</script>``, as browsers hash it. Data blocks (``type="application/json"``)
    are not run, so not listed.
    """
    sources: list[str] = []
    for raw_attrs, code in _scripts(html):
        attrs = raw_attrs.lower()
        if "src=" in attrs or ("type=" in attrs and "javascript" not in attrs):
            continue
        digest = hashlib.sha256(code.encode("utf-8")).digest()
        source = f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
        if source not in sources:
            sources.append(source)
    return sources


def seal_scripts(html: str) -> str:
    """Return a finished page whose policy allows exactly its own inline scripts.

    Called on the whole page, after every part is in place, so the hashes are
    of the bytes the browser reads. Every text from the data is escaped
    before it reaches the page (script data through
    :func:`~estates.render.assets.json_for_script`), so each ``<script>``
    element in it is one the page's code wrote.
    """
    sources = " ".join(script_hashes(html)) or "'none'"
    if _SCRIPT_HASHES not in html:
        msg = "the page has no script policy to seal"
        raise ValueError(msg)
    return html.replace(_SCRIPT_HASHES, sources, 1)


_MAP_CSS = package_text("map.css")

_MAP_JS = package_text("map.js")


def _page_head(title: str, *, tiles: bool) -> str:
    return "\n".join(
        [
            csp(tiles),
            f"<title>{escape(title)}</title>",
            inline_style(leaflet_css()),
            inline_style(_MAP_CSS.replace("__BACKGROUND__", style.BACKGROUND_COLOUR)),
            inline_script(leaflet_js()),
            inline_script(_MAP_JS),
        ]
    )


_ATTRIBUTION_MAX = 110


def attribution(summary: Mapping[str, Any]) -> str:
    """Return the map's credit line (HTML): source names, or just the link if long."""
    names = "; ".join(
        str(s.get("name"))
        for s in summary.get("sources") or []
        if isinstance(s, Mapping) and s.get("name")
    )
    link = f'<a href="#{ABOUT_ID}">sources and licences</a>'
    if names and len(names) <= _ATTRIBUTION_MAX:
        return f"Data: {escape(names)}. See {link}"
    return f"Data: see {link}"


@dataclass(frozen=True)
class View:
    """What one HTML map shows."""

    map_id: str
    title: str
    subtitle: str  # HTML, escaped
    bounds: list[list[float]]
    focus_pilot: str | None
    with_list: bool
    #: Plain sentences under the headline: values' caveat and source, data year, reconciliation.
    facts: tuple[str, ...] = ()
    #: The codes of the boroughs the page is about (a pilot's); empty for all of London.
    area_codes: tuple[str, ...] = ()
    #: The area's display name, raw (the legend escapes it).
    area_name: str = ""


def bounds(frame: gpd.GeoDataFrame) -> list[list[float]]:
    """Return ``frame``'s bounds as Leaflet ``[[south, west], [north, east]]`` (London if empty)."""
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        minx, miny, maxx, maxy = LONDON_BOUNDS_WGS84
    return [[round(miny, 5), round(minx, 5)], [round(maxy, 5), round(maxx, 5)]]


def build_map(
    view: View,
    sites: SitePayload,
    boroughs: Boroughs,
    context: Mapping[str, Any],
    *,
    ranked_total: int,
    attribution: str,
    tiles: TileLayer | None,
    canvas: bool,
    total_sites: int | None = None,
    names: Names | None = None,
    sources: str = "",
) -> str:
    """Return the HTML of one map; ``total_sites`` is how many it would draw uncapped.

    ``names`` gives the sub-regions' display names in the borough table;
    ``sources`` the sources and licences as HTML
    (:func:`estates.render.sources.sources_html`), stated in the page's
    "About this map" section so the page explains itself without ``index.html``.
    """
    total = len(sites.codes) if total_sites is None else total_sites
    west, south, east, north = LONDON_BOUNDS_WGS84
    # Leaflet's map options: London in view, panning held near it.
    options = {
        "center": [round((south + north) / 2, 5), round((west + east) / 2, 5)],
        "zoom": 10,
        "maxBounds": [
            [round(south - 0.5, 5), round(west - 0.8, 5)],
            [round(north + 0.5, 5), round(east + 0.8, 5)],
        ],
        "zoomControl": False,
        "preferCanvas": canvas,
        "zoomSnap": 0.25,
        "zoomDelta": 0.5,
    }
    head = (
        # How many sites this page draws: the publish check compares it with the table.
        f'<meta name="estates:sites" content="{len(sites.codes)}">\n'
        f'<meta name="estates:sites-total" content="{total}">\n'
        + _page_head(view.title, tiles=tiles is not None)
    )
    focus = page_focus(boroughs, view.area_codes, view.area_name)
    outlines = {
        "subregions": {
            "geojson": outline_geojson(boroughs.subregion_outlines, None),
            "colour": style.SUBREGION_COLOUR,
            "weight": 2,
            "dash": "6 5",
        },
        "pilots": {
            "geojson": outline_geojson(boroughs.pilot_outlines, view.focus_pilot),
            "colour": style.PILOT_COLOUR,
            "colours": outline_colours(boroughs),
            "weight": 2.5,
            "dash": None,
        },
    }
    config = {
        "mapId": view.map_id,
        "attribution": attribution,
        "fillOpacity": 0.55 if tiles is not None else 0.85,
        "scoreBins": list(style.SCORE_BINS),
        "scorePalette": list(style.SCORE_PALETTE),
        "unscored": style.UNSCORED_COLOUR,
        "rMin": style.RADIUS_MIN_PX,
        "rMax": style.RADIUS_MAX_PX,
        "rPerSqrtHa": style.RADIUS_PX_PER_SQRT_HA,
        "rankedTotal": ranked_total,
        "parts": [list(p) for p in _SCORE_PARTS],
        "searchLimit": _SEARCH_LIMIT,
        "focusZoom": _FOCUS_ZOOM,
        "stack": ["subregions", "pilots", *(f"context_{k}" for k in context), "sites"],
        "bounds": view.bounds,
        # The site table: ranks within the pilot on a pilot's page, a page of
        # rows at a time, and the CSV writer's spreadsheet-safe rule, verbatim.
        "pilotPage": view.focus_pilot is not None,
        "tablePage": _TABLE_PAGE,
        "csvFormulaStart": FORMULA_START,
        "csvPlainNumber": PLAIN_NUMBER,
    }
    data = {
        "config": config,
        "boroughs": boroughs.geojson,
        "choropleths": focus.choropleths,
        "geo": geo_payload(boroughs, focus),
        "outlines": outlines,
        "context": context,
        "sites": ScriptJson(sites.json()),
    }
    # The data travel as JSON in a non-executed <script> and are read with
    # JSON.parse, which browsers parse much faster than a script literal. The
    # site rows, most of the text, are written column-wise (SitePayload.json).
    layers = [
        Layer(
            COUNT_LAYER_NAME if boroughs.by_count and key == "unused" else _LAYER_NAMES[key],
            f"estates.boroughLayer({json_for_script(key)})",
            overlay=False,
            show=key == "unused",
        )
        for key in ("unused", "value")
    ]
    layers += [
        Layer("Sub-regions", 'estates.outlineLayer("subregions")', overlay=True, show=True),
        Layer("Devolution pilots", 'estates.outlineLayer("pilots")', overlay=True, show=True),
        Layer("Borough names", "estates.labelLayer()", overlay=True, show=True),
    ]
    layers += [
        Layer(
            CONTEXT_KINDS[kind][0],
            f"estates.contextLayer({json_for_script(kind)})",
            overlay=True,
            show=False,
        )
        for kind in context
    ]
    shown = len(sites.codes)
    layers.append(
        Layer(f"Estate sites ({shown:,})", "estates.siteLayer()", overlay=True, show=True)
    )
    panel = _panel(
        view.title,
        view.subtitle,
        _legend(boroughs, context, focus, view.focus_pilot),
        _site_list(sites) if view.with_list else "",
        note=(
            f"Showing the {shown:,} best-ranked of {total:,} sites (ranked sites first, then "
            "those with most unused land); every site is in sites.csv and sites.parquet."
            if shown < total
            else ""
        ),
        facts=view.facts,
    )
    script = map_script(
        options,
        layers,
        tiles=tiles,
        data_id=_DATA_ID,
        ui={"panel": panel},
    )
    skip = (
        f'<a class="est-skip" href="#{"est-sites" if view.with_list else "est-find"}">'
        f"{'Skip to the list of sites' if view.with_list else 'Skip to the site search'}</a>"
    )
    about = about_section(
        view.facts,
        sources,
        focus.note,
        pilot_page=view.focus_pilot is not None,
        by_count=boroughs.by_count,
    )
    html = map_document(
        head,
        before_map=[
            f'<script type="application/json" id="{_DATA_ID}">{_DATA_SLOT}</script>',
            table_section(boroughs, names or Names(), pilot_page=view.focus_pilot is not None),
            skip,
        ],
        after_map=about,
        script=script,
    )
    return splice_data(seal_scripts(html), json_object_for_script(data))


#: Holds the place of the page's JSON data until the rest of the page is finished.
#: It is markup, and every text from the data reaches the page escaped, so no
#: data can hold it.
_DATA_SLOT = "<estates-data-slot>"
#: The id of the page's JSON data.
_DATA_ID = "estates-data"


def splice_data(html: str, data: str) -> str:
    """Return the finished page ``html`` with its JSON ``data`` in the data slot.

    The page is finished (its document fixed, its scripts sealed) without
    its data, megabytes on a large map, so those passes read a small page;
    the data, written by :func:`~estates.render.assets.json_for_script` (no
    ``<`` in it), cannot change what they do: it sits in a
    ``type="application/json"`` script, which runs nothing and is not hashed,
    and cannot close it.

    Raises
    ------
    RuntimeError
        If ``html`` does not hold the slot exactly once.
    """
    before, slot, after = html.partition(_DATA_SLOT)
    if not slot or _DATA_SLOT in after:
        msg = "the page does not hold its data slot exactly once"
        raise RuntimeError(msg)
    if "<" in data:
        msg = "the page's data must be written by json_for_script (no '<')"
        raise ValueError(msg)
    return "".join((before, data, after))


def plain_attribution(summary: Mapping[str, Any]) -> str:
    """Return the credit as plain text, for the PNGs: the sources and their licence lines.

    Each bundled data set asks for its line on every copy (``data/ATTRIBUTION.md``):
    the names of the sources, then every "Contains ..." sentence of their
    attributions (the Open Government Licence, OS and Royal Mail copyright), each once.

    Examples
    --------
    >>> plain_attribution({"sources": [
    ...     {"name": "A", "attribution": "Source: A. Contains OS data © Crown copyright."},
    ...     {"name": "B", "attribution": "Contains OS data © Crown copyright. Other."}]})
    'Data: A; B. Contains OS data © Crown copyright.'
    """
    sources = [s for s in summary.get("sources") or [] if isinstance(s, Mapping)]
    names = [str(s["name"]) for s in sources if s.get("name")]
    if not names:
        return ""
    notices: list[str] = []
    for source in sources:
        for sentence in re.split(r"(?<=\.)\s+", str(source.get("attribution") or "")):
            if sentence.startswith("Contains") and sentence not in notices:
                notices.append(sentence)
    return " ".join(["Data: " + "; ".join(names) + ".", *notices])
