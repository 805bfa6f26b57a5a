r"""Offline, self-contained HTML maps of the NHS estate in London (folium + Leaflet).

:func:`render_maps` writes the published pages into one folder:

``index.html``
    Headline figures, the ranked pipeline against the target (inline SVG),
    links to every map and the sources and licences of the data.
``london.html``
    Boroughs shaded by unused hectares or indicative value (two switchable
    base layers, Fisher-Jenks classes, legend with units), pilot and sub-region
    outlines, estate sites sized by unused land and coloured by disposal score,
    NHS hospital and clinic records as context layers, a layer control, a scale
    bar and a search box over site names and codes.
``<pilot_id>.html``
    The same map for one devolution pilot (``ncl_estates.html`` first), zoomed
    to its boroughs, with its own sites and their ranked list.
``london.png``
    The same choropleth and sites as a picture, from :mod:`estates.render.static_map`.

Every page opens with no network: Leaflet comes inline from the installed
``xstatic-leaflet`` package (:mod:`estates.render.assets`); folium's CDN links
(Leaflet, jQuery, Bootstrap, awesome-markers, Font Awesome) are dropped, and a
Content-Security-Policy forbids any other load. No tile layer is drawn unless
``tiles`` is given: the boroughs are the base map.

How sites are drawn
-------------------
Sites are always one Leaflet layer built in the browser from one compact JSON
payload (a row per site, repeated texts stored once), never one folium object
per site. That single code path builds a 50,000-site map in well under two
seconds. Popups and tooltips are made on demand from the row, from text that
was HTML-escaped in Python. ``site_layer_threshold`` picks the renderer: up to
that many sites the map draws SVG (crisp, one ``<path>`` per shape); above it,
one canvas, which stays fast with tens of thousands of markers. A page with
more than ``max_sites`` (:data:`MAX_MAP_SITES`) draws its best-ranked sites
and says so, so a national-scale table still gives pages that open.

Safety and reproducibility
--------------------------
Every text from the data is escaped with :func:`html.escape` before it reaches
a popup, tooltip, legend, list or the search, and the JSON payload is embedded
with ``<``, ``>`` and ``&`` written as ``\u003c``..., so a site named
``<img src=x onerror=alert(1)>`` shows as text. Data never pass through a
template engine. Element ids, which folium draws at random, are numbered in
build order, and rows are sorted, so the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from estates import style
from estates.crs import LONDON_BOUNDS_WGS84, WGS84, require_crs
from estates.errors import ConfigError, DataValidationError
from estates.render import chart
from estates.render.assets import (
    inline_script,
    inline_style,
    json_for_script,
    leaflet_css,
    leaflet_js,
)
from estates.style import CONTEXT_KINDS

try:
    import folium
    from branca.element import Element, Figure, MacroElement
    from folium.map import Layer
except ImportError as _err:  # pragma: no cover - depends on the environment
    msg = (
        "the HTML maps need folium; install it with: pip install 'folium>=0.17' "
        "(or pip install estates)"
    )
    raise ImportError(msg) from _err

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["SITE_COLUMNS", "render_maps"]

logger = logging.getLogger(__name__)


def _static_text(name: str) -> str:
    """Return one of the package's own page assets (``estates/render/static/``) as text."""
    asset = resources.files("estates.render").joinpath("static", name)
    return "\n" + asset.read_text(encoding="utf-8")


#: Columns ``render_maps`` needs in ``sites`` (the pipeline's site table).
SITE_COLUMNS = (
    "site_code",
    "site_name",
    "site_type",
    "trust_code",
    "trust_name",
    "borough_code",
    "borough_name",
    "subregion",
    "pilots",
    "located_by",
    "join_method",
    "in_london",
    "land_owned_ha",
    "land_unused_ha",
    "land_unused_share",
    "estimated_value_gbp",
    "valuation_method",
    "valuation_source",
    "disposal_score",
    "disposal_rank",
    "score_value",
    "score_share",
    "score_backlog",
    "score_constraints",
    "backlog_total_gbp",
    "pfi",
    "quality_flags",
)
#: Columns ``render_maps`` needs in ``boroughs``.
BOROUGH_COLUMNS = (
    "borough_code",
    "borough_name",
    "subregion",
    "pilots",
    "land_owned_ha",
    "land_unused_ha",
    "estimated_value_gbp",
    "sites_located",
)
#: Columns ``render_maps`` needs in ``context``.
CONTEXT_COLUMNS = ("context_code", "context_name", "context_kind")
#: The pilot whose map comes first.
FIRST_PILOT = "ncl_estates"
#: The most sites one page draws: the best-ranked, then those with most unused
#: land. 50,000 sites make a page of about 7 MB that Chromium opens in under a
#: second (``benchmarks/bench_maps.py``); every site stays in the site table.
MAX_MAP_SITES = 50_000

_PILOT_ID = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
_LIST_LIMIT = 250
_SEARCH_LIMIT = 12
_FOCUS_ZOOM = 15

# One site is one row of numbers and text in the JSON payload, in this order.
# "profile" indexes a shared table of the texts that repeat across sites
# (trust, borough, pilots, valuation...), each an index into a table of
# unique escaped strings, so 50,000 sites stay a few megabytes.
_ROW_FIELDS = (
    "lon",
    "lat",
    "code",
    "name",
    "profile",
    "owned_ha",
    "unused_ha",
    "unused_share",
    "value_gbp",
    "score",
    "rank",
    "score_value",
    "score_share",
    "score_backlog",
    "score_constraints",
    "backlog_gbp",
    "pfi",
)
_PROFILE_FIELDS = (
    "type",
    "trust",
    "borough",
    "subregion",
    "pilots",
    "located_by",
    "join_method",
    "method",
    "source",
    "flags",
)
_SCORE_PARTS = (
    ("score_value", "Value"),
    ("score_share", "Unused share"),
    ("score_backlog", "Backlog"),
    ("score_constraints", "Constraints"),
)


# --------------------------------------------------------------------------- #
# folium elements that emit text verbatim
# --------------------------------------------------------------------------- #


class _Raw(Element):
    """An element that renders a fixed string, never parsed as a template.

    folium's ``MacroElement`` re-parses rendered output as a Jinja template, so
    data reaching it could be evaluated (``{{ ... }}``) and is slow to parse
    when large. Everything this module emits goes through this class instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _JsLayer(Layer):
    """A folium layer whose JavaScript is made by a Python function.

    ``make_js(var)`` returns statements that define ``var`` as a Leaflet layer.
    Being a :class:`folium.map.Layer`, it is listed by ``folium.LayerControl``.
    """

    def __init__(
        self,
        make_js: Callable[[str], str],
        *,
        name: str,
        overlay: bool,
        show: bool,
        control: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "EstatesLayer"
        self._make_js = make_js

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        var = self.get_name()
        js = self._make_js(var)
        if self.show:
            js += f"\n{var}.addTo({self._parent.get_name()});"
        figure.script.add_child(_Raw(js), name=var)
        for child in self._children.values():
            child.render(**kwargs)


class _JsBlock(MacroElement):
    """Statements added to the page's script, after the elements before it."""

    def __init__(self, make_js: Callable[[str], str]) -> None:
        super().__init__()
        self._name = "EstatesScript"
        self._make_js = make_js

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        figure.script.add_child(_Raw(self._make_js(self._parent.get_name())), name=self.get_name())


def _number_elements(root: Element) -> None:
    """Give every element a sequential id instead of folium's random one."""
    counter = 0
    stack: list[Element] = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        counter += 1
        el._id = str(counter)
        kids = list(el._children.values())
        if isinstance(el, Figure):
            kids = [el.header, el.html, el.script, *kids]
        stack.extend(kids)


# --------------------------------------------------------------------------- #
# input checks and preparation
# --------------------------------------------------------------------------- #


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = (
            f"{what} is missing column(s) {', '.join(missing)}; "
            f"render_maps needs {', '.join(columns)}"
        )
        raise DataValidationError(msg)


_CODE_COLUMNS = ("site_code", "borough_code", "context_code")


def _numbers(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """Return a float array of ``column`` (NaN for missing), refusing text."""
    series = frame[column].astype("object").where(frame[column].notna(), np.nan)
    try:
        return pd.to_numeric(series).to_numpy(dtype=float)
    except (TypeError, ValueError):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(series.notna().to_numpy() & coerced.isna().to_numpy())
        first = int(bad[0])
        code = next((c for c in _CODE_COLUMNS if c in frame.columns), None)
        where = f"row {first}" + (f" ({code} {frame[code].iloc[first]})" if code else "")
        msg = (
            f"{what} {where}: column {column} must be numeric but holds "
            f"{series.iloc[first]!r} ({len(bad)} such value(s)); fix or blank it"
        )
        raise DataValidationError(msg) from None


def _texts(frame: pd.DataFrame, column: str) -> list[str]:
    """Return ``column`` as a list of str, with '' for missing values."""
    return [
        "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)
        for v in frame[column].tolist()
    ]


def _flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a boolean column as bool, False where missing."""
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _split(text: str) -> tuple[str, ...]:
    """Split a ';'-separated list, dropping blanks: ``'a; b;'`` -> ``('a', 'b')``."""
    return tuple(p.strip() for p in text.split(";") if p.strip())


def _point_xy(
    frame: gpd.GeoDataFrame, what: str, code_column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return lon and lat arrays (NaN where the geometry is None or empty)."""
    geoms = frame.geometry.array
    kinds = shapely.get_type_id(np.asarray(geoms, dtype=object))
    bad = np.flatnonzero((kinds != 0) & (kinds != -1))
    if len(bad):
        codes = [str(frame[code_column].iloc[i]) for i in bad[:10]]
        msg = (
            f"{what}: {len(bad)} row(s) have a geometry that is not a Point "
            f"(first: {', '.join(codes)}); give each a Point in EPSG:4326 or None"
        )
        raise DataValidationError(msg)
    arr = np.asarray(geoms, dtype=object)
    return shapely.get_x(arr), shapely.get_y(arr)


def _round(values: np.ndarray, digits: int) -> list[float | None]:
    """Round floats for the payload; NaN becomes None (JSON null)."""
    rounded = np.round(values, digits)
    return [None if math.isnan(v) else v for v in rounded.tolist()]


def _whole(values: np.ndarray) -> list[int | None]:
    return [None if math.isnan(v) else round(v) for v in values.tolist()]


class _Texts:
    """A table of repeated (escaped) texts; rows store an index into it."""

    def __init__(self) -> None:
        self.values: list[Any] = [""]
        self._index: dict[Any, int] = {"": 0}

    def ref(self, value: str | tuple[str, ...]) -> int:
        key = value if isinstance(value, str) else ("\x00list", *value)
        found = self._index.get(key)
        if found is None:
            found = len(self.values)
            self._index[key] = found
            self.values.append(value if isinstance(value, str) else list(value))
        return found


@dataclass
class _Names:
    """Display names for ids found in the data, from the summary."""

    pilots: dict[str, str] = field(default_factory=dict)
    subregions: dict[str, str] = field(default_factory=dict)
    valuation_method: str = ""
    valuation_label: str = ""

    def pilot(self, pid: str) -> str:
        return self.pilots.get(pid, pid)

    def subregion(self, sid: str) -> str:
        return self.subregions.get(sid, sid.upper() if len(sid) <= 4 else sid)

    def method(self, method: str) -> str:
        if method and method == self.valuation_method and self.valuation_label:
            return self.valuation_label
        return method.replace("_", " ")


def _mapping(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """Return ``obj[key]`` if it is a mapping, {} if absent; refuse anything else."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"summary{where}[{key!r}] must be a mapping, got {type(value).__name__}"
        raise DataValidationError(msg)
    return value


def _names_from_summary(summary: Mapping[str, Any]) -> _Names:
    def names(key: str) -> dict[str, str]:
        part = _mapping(summary, key, "")
        return {str(k): str(_mapping(part, k, f"[{key!r}]").get("name") or k) for k in part}

    pilots, subs = names("pilots"), names("subregions")
    valuation = _mapping(summary, "valuation", "")
    return _Names(
        pilots=pilots,
        subregions=subs,
        valuation_method=str(valuation.get("method") or ""),
        valuation_label=str(valuation.get("label") or ""),
    )


@dataclass
class _Sites:
    """Located London sites, sorted for drawing, as a JSON-ready payload."""

    payload: dict[str, Any]
    codes: list[str]
    pilots: list[tuple[str, ...]]
    ranks: np.ndarray
    frame: pd.DataFrame  # the drawn rows, for the static map
    totals: dict[str, int] = field(default_factory=dict)  # sites per page before any cap


def _profile(key: tuple[str, ...], texts: _Texts, names: _Names) -> list[int]:
    """Escape one site's repeated texts into ``texts``; return their indices.

    ``key`` holds, raw: site type, trust name, trust code, borough, sub-region
    id, pilots, located by, join method, valuation method and source, and the
    quality flags, in that order. The result follows :data:`_PROFILE_FIELDS`.
    """
    stype, tname, tcode, borough, subregion, pilots, located, join, method, source, flags = key
    trust = f"{tname} ({tcode})" if tname and tcode else tname or tcode
    e = escape
    return [
        texts.ref(e(stype)),
        texts.ref(e(trust)),
        texts.ref(e(borough)),
        texts.ref(e(names.subregion(subregion)) if subregion else ""),
        texts.ref(tuple(e(names.pilot(p)) for p in _split(pilots))),
        texts.ref(e(located.replace("_", " "))),
        texts.ref(e(join.replace("_", " "))),
        texts.ref(e(names.method(method))),
        texts.ref(e(source)),
        texts.ref(tuple(e(f) for f in _split(flags))),
    ]


def _prepare_sites(
    sites: gpd.GeoDataFrame,
    names: _Names,
    *,
    limit: int | None = None,
    pilot_ids: Sequence[str] = (),
) -> _Sites:
    """Select located London sites and encode them compactly, escaped.

    With ``limit``, only the sites some page draws are encoded: London's best
    ``limit`` and each pilot's (see :func:`_best`).
    """
    what = "sites"
    _require_columns(sites, SITE_COLUMNS, what)
    lon, lat = _point_xy(sites, what, "site_code")
    drawn = _flags(sites, "in_london") & ~np.isnan(lon) & ~np.isnan(lat)
    pilots_of = [_split(p) for p in _texts(sites, "pilots")]
    totals = {"london": int(drawn.sum())}
    for pid in pilot_ids:
        totals[pid] = sum(1 for d, p in zip(drawn, pilots_of, strict=True) if d and pid in p)
    if limit is not None and drawn.sum() > limit:
        drawn = _on_some_page(
            sites, drawn, limit, pilots_of=pilots_of, pilot_ids=pilot_ids, what=what
        )
    idx = np.flatnonzero(drawn)
    sub = sites.iloc[idx]
    lon, lat = lon[idx], lat[idx]

    # Numbers are checked on every row, drawn or not, so bad data are not hidden.
    num = {c: _numbers(sites, c, what)[idx] for c in (
        "land_owned_ha", "land_unused_ha", "land_unused_share", "estimated_value_gbp",
        "disposal_score", "disposal_rank", "score_value", "score_share", "score_backlog",
        "score_constraints", "backlog_total_gbp",
    )}  # fmt: skip
    txt = {c: _texts(sub, c) for c in (
        "site_code", "site_name", "site_type", "trust_code", "trust_name", "borough_name",
        "subregion", "pilots", "located_by", "join_method", "valuation_method",
        "valuation_source", "quality_flags",
    )}  # fmt: skip
    pfi_raw = sub["pfi"].astype("boolean")
    pfi = [None if v is pd.NA else int(bool(v)) for v in pfi_raw.tolist()]

    # Drawing order: big markers first (underneath), high scores last (on top).
    radius = np.array([style.site_radius_px(v) for v in num["land_unused_ha"].tolist()])
    score = np.nan_to_num(num["disposal_score"], nan=-1.0)
    order = np.lexsort(
        (np.arange(len(idx)), np.array(txt["site_code"], dtype=object), score, -radius)
    )

    rows_order = order.tolist()
    e = escape
    numbers: dict[str, list[Any]] = {
        "owned_ha": _round(num["land_owned_ha"], 3),
        "unused_ha": _round(num["land_unused_ha"], 3),
        "unused_share": _round(num["land_unused_share"], 4),
        "value_gbp": _whole(num["estimated_value_gbp"]),
        "score": _round(num["disposal_score"], 3),
        "rank": _whole(num["disposal_rank"]),
        "score_value": _round(num["score_value"], 3),
        "score_share": _round(num["score_share"], 3),
        "score_backlog": _round(num["score_backlog"], 3),
        "score_constraints": _round(num["score_constraints"], 3),
        "backlog_gbp": _whole(num["backlog_total_gbp"]),
        "pfi": pfi,
    }
    # Each site's repeated texts, raw, as one key; escaped once per distinct key.
    raw_keys = list(
        zip(
            txt["site_type"],
            txt["trust_name"],
            txt["trust_code"],
            txt["borough_name"],
            txt["subregion"],
            txt["pilots"],
            txt["located_by"],
            txt["join_method"],
            txt["valuation_method"],
            txt["valuation_source"],
            txt["quality_flags"],
            strict=True,
        )
    )
    texts = _Texts()
    profile_of: dict[tuple[str, ...], int] = {}
    profiles: list[list[int]] = []
    profile_col: list[int] = [0] * len(raw_keys)
    for i in rows_order:
        key = raw_keys[i]
        found = profile_of.get(key)
        if found is None:
            found = len(profiles)
            profile_of[key] = found
            profiles.append(_profile(key, texts, names))
        profile_col[i] = found
    cols: dict[str, list[Any]] = {
        "lon": _round(lon, 5),
        "lat": _round(lat, 5),
        "code": [e(v) for v in txt["site_code"]],
        "name": [e(v) for v in txt["site_name"]],
        "profile": profile_col,
        **numbers,
    }
    columns = [cols[f] for f in _ROW_FIELDS]
    rows = [[col[i] for col in columns] for i in rows_order]
    payload = {
        "fields": list(_ROW_FIELDS),
        "profile_fields": list(_PROFILE_FIELDS),
        "strings": texts.values,
        "profiles": profiles,
        "rows": rows,
    }
    pilots = [_split(txt["pilots"][i]) for i in rows_order]
    frame = sub.iloc[order].copy()
    return _Sites(
        payload=payload,
        codes=[txt["site_code"][i] for i in rows_order],
        pilots=pilots,
        ranks=num["disposal_rank"][order],
        frame=frame,
        totals=totals,
    )


def _best(
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


def _on_some_page(
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
        "rank": _numbers(sites, "disposal_rank", what),
        "unused": _numbers(sites, "land_unused_ha", what),
        "codes": np.array(_texts(sites, "site_code"), dtype=object),
    }
    keep = _best(drawn, limit, **keys)
    for pid in pilot_ids:
        in_pilot = drawn & np.array([pid in p for p in pilots_of], dtype=bool)
        keep |= _best(in_pilot, limit, **keys)
    return keep


def page_sites(sites: pd.DataFrame, limit: int, pilot_ids: Sequence[str]) -> np.ndarray:
    """Return which located London sites some page draws: London's and each pilot's best ``limit``.

    The chunked build keeps only these while it reads; the best of them are
    the best of the whole table, so the pages come out the same.
    """
    what = "sites"
    lon, lat = _point_xy(sites, what, "site_code")
    drawn = _flags(sites, "in_london") & ~np.isnan(lon) & ~np.isnan(lat)
    pilots_of = [_split(p) for p in _texts(sites, "pilots")]
    return _on_some_page(sites, drawn, limit, pilots_of=pilots_of, pilot_ids=pilot_ids, what=what)


def _best_sites(sites: _Sites, within: np.ndarray, limit: int) -> np.ndarray:
    """Return ``within`` narrowed to its ``limit`` best prepared sites (see :func:`_best`)."""
    return _best(
        within,
        limit,
        rank=sites.ranks.astype(float),
        unused=pd.to_numeric(sites.frame["land_unused_ha"], errors="coerce").to_numpy(dtype=float),
        codes=np.array(sites.codes, dtype=object),
    )


def _subset_payload(sites: _Sites, keep: np.ndarray) -> _Sites:
    """Return the sites whose positions are in ``keep`` (a boolean mask)."""
    pos = np.flatnonzero(keep).tolist()
    payload = dict(sites.payload)
    payload["rows"] = [sites.payload["rows"][i] for i in pos]
    return _Sites(
        payload=payload,
        codes=[sites.codes[i] for i in pos],
        pilots=[sites.pilots[i] for i in pos],
        ranks=sites.ranks[pos],
        frame=sites.frame.iloc[pos],
        totals=sites.totals,
    )


def _geojson_coords(obj: Any, digits: int = 5) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float | int):
            return [round(float(v), digits) for v in obj]
        return [_geojson_coords(v, digits) for v in obj]
    return obj


def _geometry_json(geom: Any) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    mapped = shapely.geometry.mapping(geom)
    return {"type": mapped["type"], "coordinates": _geojson_coords(mapped["coordinates"])}


@dataclass
class _Boroughs:
    geojson: dict[str, Any]
    choropleths: dict[str, dict[str, Any]]
    legends: dict[str, str]
    codes: list[str]
    frame: gpd.GeoDataFrame
    pilot_outlines: gpd.GeoDataFrame
    subregion_outlines: gpd.GeoDataFrame


_CHOROPLETHS = {
    "unused": (
        "land_unused_ha",
        "Unused NHS land by borough",
        style.UNUSED_PALETTE,
        style.format_ha,
    ),
    "value": (
        "estimated_value_gbp",
        "Indicative value of unused land by borough",
        style.VALUE_PALETTE,
        style.format_gbp,
    ),
}
_LAYER_NAMES = {
    "unused": "Unused land (ha)",
    "value": "Indicative value (£)",
}


def _dissolve(boroughs: gpd.GeoDataFrame, keys: list[tuple[str, ...]]) -> dict[str, Any]:
    """Union borough shapes per group id; ``keys`` holds each borough's groups."""
    members: dict[str, list[Any]] = {}
    for geom, groups in zip(boroughs.geometry.array, keys, strict=True):
        if geom is None or geom.is_empty:
            continue
        for gid in groups:
            members.setdefault(gid, []).append(geom)
    out = {}
    for gid in sorted(members):
        snapped = shapely.set_precision(np.asarray(members[gid], dtype=object), 1e-5)
        out[gid] = shapely.union_all(snapped, grid_size=1e-5)
    return out


def _prepare_boroughs(boroughs: gpd.GeoDataFrame, names: _Names) -> _Boroughs:
    what = "boroughs"
    _require_columns(boroughs, BOROUGH_COLUMNS, what)
    frame = boroughs.sort_values("borough_code", kind="stable").reset_index(drop=True)
    codes = _texts(frame, "borough_code")
    bnames = _texts(frame, "borough_name")
    subs = _texts(frame, "subregion")
    pilots = [_split(v) for v in _texts(frame, "pilots")]
    owned = _numbers(frame, "land_owned_ha", what)
    unused = _numbers(frame, "land_unused_ha", what)
    value = _numbers(frame, "estimated_value_gbp", what)
    located = _numbers(frame, "sites_located", what)

    choropleths: dict[str, dict[str, Any]] = {}
    legends: dict[str, str] = {}
    for key, (column, title, palette, fmt) in _CHOROPLETHS.items():
        values = unused if column == "land_unused_ha" else value
        classes = style.classify(values, palette)
        choropleths[key] = {"fills": [classes.colour_of(i) for i in classes.index]}
        legends[key] = _legend_choropleth(key, title, classes, fmt, hidden=key != "unused")

    features = []
    for i, geom in enumerate(frame.geometry.array):
        code, name = escape(codes[i]), escape(bnames[i])
        sub_name = escape(names.subregion(subs[i])) if subs[i] else ""
        pilot_names = "<br>".join(escape(names.pilot(p)) for p in pilots[i]) or "None"
        tip = (
            f"<b>{name}</b><br>{escape(style.format_ha(unused[i]))} unused"
            f" · {escape(style.format_gbp(value[i]))}"
        )
        popup = (
            f'<div class="est-popup" data-borough-code="{code}">'
            f'<div class="est-title">{name}</div>'
            f'<div class="est-sub">{code}{" · " + sub_name if sub_name else ""}</div>'
            '<table class="est-facts">'
            f"<tr><th>Pilots</th><td>{pilot_names}</td></tr>"
            f"<tr><th>NHS land owned</th><td>{escape(style.format_ha(owned[i]))}</td></tr>"
            f"<tr><th>Unused land</th><td>{escape(style.format_ha(unused[i]))}</td></tr>"
            f"<tr><th>Indicative value</th><td>{escape(style.format_gbp(value[i]))}</td></tr>"
            "<tr><th>Sites located</th>"
            f"<td>{'n/a' if np.isnan(located[i]) else f'{int(located[i]):,}'}</td></tr>"
            "</table></div>"
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"i": i, "code": code, "tip": tip, "popup": popup},
                "geometry": _geometry_json(geom),
            }
        )
    return _Boroughs(
        geojson={"type": "FeatureCollection", "features": features},
        choropleths=choropleths,
        legends=legends,
        codes=codes,
        frame=frame,
        pilot_outlines=_outline_frame(_dissolve(frame, pilots), names.pilot, frame.crs),
        subregion_outlines=_outline_frame(
            _dissolve(frame, [(s,) if s else () for s in subs]), names.subregion, frame.crs
        ),
    )


def _outline_frame(
    groups: Mapping[str, Any], label: Callable[[str], str], crs: Any
) -> gpd.GeoDataFrame:
    import geopandas as gpd

    ids = list(groups)
    return gpd.GeoDataFrame(
        {"group_id": ids, "group_name": [label(g) for g in ids]},
        geometry=[groups[g] for g in ids],
        crs=crs,
    )


def _outline_geojson(outlines: gpd.GeoDataFrame, focus: str | None) -> dict[str, Any]:
    features = []
    for gid, gname, geom in zip(
        outlines["group_id"], outlines["group_name"], outlines.geometry.array, strict=True
    ):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "id": escape(gid),
                    "tip": f"<b>{escape(gname)}</b>",
                    "focus": gid == focus,
                },
                "geometry": _geometry_json(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _prepare_context(context: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    what = "context"
    _require_columns(context, CONTEXT_COLUMNS, what)
    kinds = _texts(context, "context_kind")
    unknown = sorted({k for k in kinds if k not in CONTEXT_KINDS})
    if unknown:
        msg = (
            f"context column context_kind has unknown value(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(CONTEXT_KINDS)}"
        )
        raise DataValidationError(msg)
    lon, lat = _point_xy(context, what, "context_code")
    codes = _texts(context, "context_code")
    cnames = _texts(context, "context_name")
    out: dict[str, dict[str, Any]] = {}
    for kind, (label, colour) in CONTEXT_KINDS.items():
        rows = sorted(
            [round(float(lon[i]), 5), round(float(lat[i]), 5), escape(codes[i]), escape(cnames[i])]
            for i in range(len(kinds))
            if kinds[i] == kind and not (np.isnan(lon[i]) or np.isnan(lat[i]))
        )
        if rows:
            out[kind] = {"label": escape(label), "colour": colour, "rows": rows}
    return out


# --------------------------------------------------------------------------- #
# page parts
# --------------------------------------------------------------------------- #


def _legend_choropleth(
    key: str, title: str, classes: style.Classes, fmt: Callable[[float], str], *, hidden: bool
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
        '<div class="est-note">Classes: Fisher-Jenks natural breaks over London\'s'
        " 33 boroughs.</div></div>"
    )


def _legend(boroughs: _Boroughs, context: Mapping[str, Any]) -> str:
    """Return the legend's HTML (every text is a constant or escaped)."""
    parts = ['<details class="est-legend" open><summary>Legend</summary>']
    parts.extend(boroughs.legends.values())
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
        '<div class="est-h">Outlines</div>'
        '<div class="est-row"><span class="est-line"'
        f' style="border-top:3px solid {style.PILOT_COLOUR}"></span>'
        "Devolution pilot</div>"
        '<div class="est-row"><span class="est-line"'
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
            f'<div class="est-h">Context: NHS Choices records (switch on at top right)</div>{rows}'
        )
    parts.append("</details>")
    return "".join(parts)


def _site_list(sites: _Sites) -> str:
    """Return the ranked list of sites (pilot maps) as HTML."""
    rows = sites.payload["rows"]
    fields = {f: i for i, f in enumerate(sites.payload["fields"])}
    ranks = np.where(np.isnan(sites.ranks), np.inf, sites.ranks)
    order = sorted(range(len(rows)), key=lambda i: (ranks[i], sites.codes[i], i))
    shown = order[:_LIST_LIMIT]
    items = []
    for i in shown:
        r = rows[i]
        rank = r[fields["rank"]]
        badge = f"#{rank:,}" if rank is not None else "–"
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
            '<div class="est-list"><div class="est-h">Sites in rank order</div>'
            '<p class="est-note">No located sites.</p></div>'
        )
    return (
        f'<div class="est-list"><div class="est-h">Sites in rank order ({len(order):,})</div>'
        f"<ol>{''.join(items)}</ol>{more}</div>"
    )


def _panel(title: str, subtitle: str, legend: str, list_html: str, note: str = "") -> str:
    note_html = f'<p class="est-note">{escape(note)}</p>' if note else ""
    return (
        '<div class="est-head">'
        '<a class="est-back" href="index.html">&larr; All maps and figures</a>'
        f"<h1>{escape(title)}</h1><p>{subtitle}</p>{note_html}</div>"
        '<div class="est-search"><input type="search" autocomplete="off" spellcheck="false"'
        ' placeholder="Find a site by name or code" aria-label="Find a site by name or code">'
        '<ul class="est-results" aria-label="Matching sites"></ul></div>'
        f"{list_html}{legend}"
    )


def _csp(tiles: bool, scripts: bool = True) -> str:
    img = "data: https: http:" if tiles else "data:"
    script = "'unsafe-inline'" if scripts else "'none'"
    policy = (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src {img}; "
        "font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


_MAP_CSS = _static_text("map.css")

_MAP_JS = _static_text("map.js")


def _page_head(title: str, *, tiles: bool) -> str:
    return "\n".join(
        [
            _csp(tiles),
            f"<title>{escape(title)}</title>",
            inline_style(leaflet_css()),
            inline_style(_MAP_CSS.replace("_style.BACKGROUND_COLOUR__", style.BACKGROUND_COLOUR)),
            inline_script(leaflet_js()),
            inline_script(_MAP_JS),
        ]
    )


_ATTRIBUTION_MAX = 110


def _attribution(summary: Mapping[str, Any]) -> str:
    """Return the map's credit line (HTML): source names, or just the link if long."""
    names = "; ".join(
        str(s.get("name"))
        for s in summary.get("sources") or []
        if isinstance(s, Mapping) and s.get("name")
    )
    link = '<a href="index.html#sources">sources and licences</a>'
    if names and len(names) <= _ATTRIBUTION_MAX:
        return f"Data: {escape(names)}. See {link}"
    return f"Data: see {link}"


@dataclass(frozen=True)
class _View:
    """What one HTML map shows."""

    map_id: str
    title: str
    subtitle: str  # HTML, escaped
    bounds: list[list[float]]
    focus_pilot: str | None
    with_list: bool


def _bounds(frame: gpd.GeoDataFrame) -> list[list[float]]:
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        minx, miny, maxx, maxy = LONDON_BOUNDS_WGS84
    return [[round(miny, 5), round(minx, 5)], [round(maxy, 5), round(maxx, 5)]]


def _build_map(
    view: _View,
    sites: _Sites,
    boroughs: _Boroughs,
    context: Mapping[str, Any],
    *,
    ranked_total: int,
    attribution: str,
    tiles: str | None,
    tiles_attribution: str | None,
    canvas: bool,
    total_sites: int | None = None,
) -> str:
    """Return the HTML of one map; ``total_sites`` is how many it would draw uncapped."""
    total = len(sites.codes) if total_sites is None else total_sites
    lon0 = (LONDON_BOUNDS_WGS84[0] + LONDON_BOUNDS_WGS84[2]) / 2
    lat0 = (LONDON_BOUNDS_WGS84[1] + LONDON_BOUNDS_WGS84[3]) / 2
    m = folium.Map(
        location=[lat0, lon0],
        zoom_start=10,
        tiles=None,
        prefer_canvas=canvas,
        zoom_control="topright",
        font_size="13px",
        min_zoom=8,
        max_zoom=19,
        zoom_snap=0.25,
        zoom_delta=0.5,
        max_bounds=True,
        min_lat=LONDON_BOUNDS_WGS84[1] - 0.5,
        max_lat=LONDON_BOUNDS_WGS84[3] + 0.5,
        min_lon=LONDON_BOUNDS_WGS84[0] - 0.8,
        max_lon=LONDON_BOUNDS_WGS84[2] + 0.8,
    )
    # Drop folium's CDN links (Leaflet, jQuery, Bootstrap, awesome-markers,
    # Font Awesome): Leaflet comes inline in the head, the rest is not needed.
    m.default_js = []
    m.default_css = []
    figure = m.get_root()
    figure.header.add_child(
        _Raw(
            # How many sites this page draws: the publish check compares it with the table.
            f'<meta name="estates:sites" content="{len(sites.codes)}">\n'
            f'<meta name="estates:sites-total" content="{total}">\n'
            + _page_head(view.title, tiles=tiles is not None)
        ),
        name="estates_head",
    )
    if tiles is not None:
        folium.TileLayer(tiles=tiles, attr=tiles_attribution, control=False).add_to(m)

    outlines = {
        "subregions": {
            "geojson": _outline_geojson(boroughs.subregion_outlines, None),
            "colour": style.SUBREGION_COLOUR,
            "weight": 2,
            "dash": "6 5",
        },
        "pilots": {
            "geojson": _outline_geojson(boroughs.pilot_outlines, view.focus_pilot),
            "colour": style.PILOT_COLOUR,
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
    }
    data = {
        "config": config,
        "boroughs": boroughs.geojson,
        "choropleths": boroughs.choropleths,
        "outlines": outlines,
        "context": context,
        "sites": sites.payload,
    }
    # The data travel as JSON in a non-executed <script> and are read with
    # JSON.parse, which browsers parse much faster than a script literal.
    figure.html.add_child(
        _Raw(f'<script type="application/json" id="estates-data">{json_for_script(data)}</script>'),
        name="estates_data",
    )
    _JsBlock(
        lambda map_var: (
            f"estates.init({map_var}, "
            'JSON.parse(document.getElementById("estates-data").textContent));'
        )
    ).add_to(m)
    for key in ("unused", "value"):
        _JsLayer(
            lambda var, key=key: f"var {var} = estates.boroughLayer({json_for_script(key)});",
            name=_LAYER_NAMES[key],
            overlay=False,
            show=key == "unused",
        ).add_to(m)
    _JsLayer(
        lambda var: f'var {var} = estates.outlineLayer("subregions");',
        name="Sub-regions",
        overlay=True,
        show=True,
    ).add_to(m)
    _JsLayer(
        lambda var: f'var {var} = estates.outlineLayer("pilots");',
        name="Devolution pilots",
        overlay=True,
        show=True,
    ).add_to(m)
    for kind in context:
        _JsLayer(
            lambda var, kind=kind: f"var {var} = estates.contextLayer({json_for_script(kind)});",
            name=CONTEXT_KINDS[kind][0],
            overlay=True,
            show=False,
        ).add_to(m)
    n_sites = len(sites.codes)
    _JsLayer(
        lambda var: f"var {var} = estates.siteLayer();",
        name=f"Estate sites ({n_sites:,})",
        overlay=True,
        show=True,
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)

    shown = len(sites.codes)
    panel = _panel(
        view.title,
        view.subtitle,
        _legend(boroughs, context),
        _site_list(sites) if view.with_list else "",
        note=(
            f"Showing the {shown:,} best-ranked of {total:,} sites (ranked sites first, then "
            "those with most unused land); every site is in sites.csv and sites.parquet."
            if shown < total
            else ""
        ),
    )
    ui = {"panel": panel}
    _JsBlock(lambda _: f"estates.ui({json_for_script(ui)});").add_to(m)

    _number_elements(figure)
    return figure.render()


# --------------------------------------------------------------------------- #
# index page
# --------------------------------------------------------------------------- #

_INDEX_CSS = _static_text("index.css")


def _get_num(obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        msg = f"summary value {key!r} must be a number, got {value!r}"
        raise DataValidationError(msg) from err


_CELL_FORMAT = {
    "land_unused_ha": style.format_ha,
    "estimated_value_gbp": style.format_gbp,
    "share_of_target": style.format_share,
}


def _figure_cells(block: Mapping[str, Any], keys: Sequence[str]) -> str:
    """Return ``<td>`` cells of formatted figures, 'n/a' where one is missing."""
    return "".join(
        f'<td class="n">{escape(_CELL_FORMAT[k](_get_num(block, k)))}</td>' for k in keys
    )


def _card(label: str, value: str, note: str = "", *, accent: bool = False) -> str:
    cls = "card accent" if accent else "card"
    note_html = f'<div class="s">{note}</div>' if note else ""
    return (
        f'<div class="{cls}"><div class="k">{escape(label)}</div>'
        f'<div class="v">{escape(value)}</div>{note_html}</div>'
    )


def _figure_cards(
    block: Mapping[str, Any], target_text: str, value_note: str, *, sites_key: str
) -> list[str]:
    cards = []
    unused = _get_num(block, "land_unused_ha")
    owned = _get_num(block, "land_owned_ha")
    if unused is not None:
        note = f"of {escape(style.format_ha(owned))} NHS land owned" if owned is not None else ""
        cards.append(_card("Unused NHS land", style.format_ha(unused), note))
    value = _get_num(block, "estimated_value_gbp")
    if value is not None:
        cards.append(_card("Indicative value", style.format_gbp(value), escape(value_note)))
    share = _get_num(block, "share_of_target")
    if share is not None:
        cards.append(
            _card(f"Share of the {target_text} target", style.format_share(share), accent=True)
        )
    located = _get_num(block, sites_key)
    if located is not None:
        cards.append(_card("Sites on the map", f"{int(located):,}"))
    return cards


def _render_index(
    summary: Mapping[str, Any], pilot_files: Sequence[tuple[str, str, Path]], has_png: bool
) -> str:
    target = _get_num(summary, "target_gbp")
    target_text = style.format_gbp(target) if target is not None else "disposal"
    valuation = _mapping(summary, "valuation", "")
    london = _mapping(summary, "london", "")
    pilots = _mapping(summary, "pilots", "")
    subregions = _mapping(summary, "subregions", "")
    body: list[str] = ["<main>", "<h1>Unused NHS land in London</h1>"]
    rate = _get_num(valuation, "gbp_per_ha") if valuation else None
    value_note = f"unused hectares × {style.format_gbp(rate)} per hectare" if rate else ""
    lede = (
        "Land owned by NHS trusts in London that is not delivering services, by borough and site, "
        "ranked as a disposal pipeline."
    )
    if valuation:
        label = str(valuation.get("label") or valuation.get("method") or "")
        if rate is not None:
            lede += (
                f" Values are indicative: unused hectares × {style.format_gbp(rate)} per hectare"
            )
            lede += f" ({label})." if label else "."
    body.append(f'<p class="lede">{escape(lede)}</p>')

    if london:
        body.append("<h2>London</h2>")
        body.append(
            '<div class="cards">'
            + "".join(_figure_cards(london, target_text, value_note, sites_key="sites_located"))
            + "</div>"
        )
    ncl = _mapping(pilots, FIRST_PILOT, "['pilots']")
    if ncl:
        name = str(ncl.get("name") or FIRST_PILOT)
        body.append(f"<h2>{escape(name)}</h2>")
        body.append(
            '<div class="cards">'
            + "".join(_figure_cards(ncl, target_text, value_note, sites_key="sites"))
            + "</div>"
        )
        body.append(f'<p><a href="{FIRST_PILOT}.html">Open the {escape(name)} map</a></p>')

    pipeline = _mapping(summary, "pipeline", "")
    cumulative = pipeline.get("cumulative") or []
    svg = chart.render_pipeline_chart(cumulative, target)
    if svg:
        body.append("<h2>The disposal pipeline against the target</h2>")
        body.append(
            '<div class="panel">'
            + svg
            + '<p class="note">Sites are added in rank order of disposal score; the line is their '
            "running total of indicative value.</p></div>"
        )

    body.append(
        '<h2 id="maps">Maps</h2><table class="maps"><thead><tr><th>Map</th>'
        '<th class="n">Unused land</th><th class="n">Indicative value</th>'
        '<th class="n">Share of target</th><th class="n">Sites</th></tr></thead><tbody>'
    )

    def map_row(
        href: str, label: str, block: Mapping[str, Any], sites_key: str, primary: bool
    ) -> str:
        cls = ' class="primary"' if primary else ""
        located = _get_num(block, sites_key)
        return (
            f'<tr><td><a{cls} href="{escape(href)}">{escape(label)}</a></td>'
            + _figure_cells(block, ("land_unused_ha", "estimated_value_gbp", "share_of_target"))
            + f'<td class="n">{"n/a" if located is None else f"{int(located):,}"}</td></tr>'
        )

    body.append(map_row("london.html", "All London", london, "sites_located", True))
    for pid, name, path in pilot_files:
        body.append(map_row(path.name, name, _mapping(pilots, pid, "['pilots']"), "sites", False))
    body.append("</tbody></table>")
    if has_png:
        body.append(
            '<p class="note">A picture of the London map for reports: '
            '<a href="london.png">london.png</a>.</p>'
        )

    if subregions:
        rows = []
        for sid, block in subregions.items():
            if not isinstance(block, Mapping):
                continue
            rows.append(
                f"<tr><td>{escape(str(block.get('name') or sid))}</td>"
                + _figure_cells(block, ("land_unused_ha", "estimated_value_gbp", "share_of_target"))
                + "</tr>"
            )
        if rows:
            body.append(
                "<h2>Sub-regions</h2><table><thead><tr><th>Sub-region</th>"
                '<th class="n">Unused land</th><th class="n">Indicative value</th>'
                '<th class="n">Share of target</th></tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>"
            )

    body.append('<h2 id="sources">Sources and licences</h2>')
    sources = [s for s in summary.get("sources") or [] if isinstance(s, Mapping)]
    if sources:
        body.append(
            "<table><thead><tr><th>Data</th><th>Attribution</th><th>Licence</th></tr></thead><tbody>"
        )
        for s in sources:
            body.append(
                f"<tr><td>{escape(str(s.get('name') or ''))}</td>"
                f"<td>{escape(str(s.get('attribution') or ''))}</td>"
                f"<td>{escape(str(s.get('licence') or ''))}</td></tr>"
            )
        body.append("</tbody></table>")
    notes = []
    if summary.get("target_source"):
        notes.append(f"Target: {escape(str(summary['target_source']))}")
    for src in valuation.get("sources") or []:
        notes.append(f"Valuation: {escape(str(src))}")
    if notes:
        body.append('<ul class="note">' + "".join(f"<li>{n}</li>" for n in notes) + "</ul>")
    body.append(
        "<footer>Made with estates. Maps use Leaflet (BSD-2-Clause, © Vladimir Agafonkin), "
        "inlined so every page works offline.</footer></main>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        + _csp(tiles=False, scripts=False)
        + '\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Unused NHS land in London</title>\n"
        + inline_style(_INDEX_CSS)
        + "\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- #
# entry point
# --------------------------------------------------------------------------- #


def _pilot_order(pilots: Mapping[str, Any]) -> list[str]:
    ids = [str(p) for p in pilots]
    for pid in ids:
        if not _PILOT_ID.fullmatch(pid):
            msg = (
                f"summary['pilots'] id {pid!r} cannot name a file; use lower-case letters, "
                "digits, '_' or '-'"
            )
            raise DataValidationError(msg)
    return sorted(ids, key=lambda p: (p != FIRST_PILOT, ids.index(p)))


def _subtitle(block: Mapping[str, Any], target: float | None) -> str:
    parts = []
    unused = _get_num(block, "land_unused_ha")
    if unused is not None:
        parts.append(f"{style.format_ha(unused)} unused")
    value = _get_num(block, "estimated_value_gbp")
    if value is not None:
        parts.append(f"{style.format_gbp(value)} indicative")
    share = _get_num(block, "share_of_target")
    if share is not None and target is not None:
        parts.append(f"{style.format_share(share)} of the {style.format_gbp(target)} target")
    return escape(" · ".join(parts))


def render_maps(
    sites: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    context: gpd.GeoDataFrame,
    summary: dict[str, Any],
    out_dir: Path,
    *,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    site_layer_threshold: int = 1000,
    max_sites: int = MAX_MAP_SITES,
    page_totals: Mapping[str, int] | None = None,
    ranked_total: int | None = None,
) -> list[Path]:
    """Write the index page, the London map, one map per pilot and a PNG.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        One row per site record, EPSG:4326, with the columns in
        :data:`SITE_COLUMNS`. Geometry is a Point or None; only rows with a
        geometry and ``in_london`` True are drawn. Hectares in ``*_ha``,
        pounds in ``*_gbp``, scores in 0..1. Left unchanged.
    boroughs : geopandas.GeoDataFrame
        One row per London borough, EPSG:4326, with ``borough_code``,
        ``borough_name``, ``subregion``, ``pilots`` (";"-separated ids),
        ``land_owned_ha``, ``land_unused_ha``, ``estimated_value_gbp`` and
        ``sites_located``. Pilot and sub-region outlines are dissolved from it.
        Left unchanged.
    context : geopandas.GeoDataFrame
        NHS hospital and clinic records, EPSG:4326 Points, with
        ``context_code``, ``context_name`` and ``context_kind`` (one of
        :data:`CONTEXT_KINDS`). Left unchanged.
    summary : dict
        The run's figures, as in ``summary.json``: ``target_gbp``,
        ``valuation``, ``london``, ``pilots`` (one map each), ``subregions``,
        ``pipeline["cumulative"]`` and ``sources``. A missing key leaves its
        part of the pages out.
    out_dir : pathlib.Path
        Folder to write into; created if needed. Files there are overwritten.
    tiles : str or None, default None
        A tile URL template or folium tile name to draw under the boroughs,
        for online use. None (the default) draws no tiles: the maps then need
        no network at all.
    tiles_attribution : str or None
        Attribution for ``tiles``; required with a URL template.
    site_layer_threshold : int, default 1000
        With more drawn sites than this, vector shapes are drawn on one canvas
        instead of as SVG elements. Sites are always one layer from one JSON
        payload either way.
    max_sites : int, default :data:`MAX_MAP_SITES`
        The most sites one page draws. A page with more keeps its best-ranked
        sites, then those with most unused land, and says so; the PNG draws
        the London page's sites. Only sites some page draws are encoded.
    page_totals, ranked_total : optional
        When ``sites`` holds only the sites the pages draw (see
        :func:`page_sites`): each page's count of located London sites
        (``{"london": n, pilot_id: n}``) and the number of ranked sites in the
        whole table, which the pages state.

    Returns
    -------
    list of pathlib.Path
        ``index.html``, ``london.html``, ``<pilot_id>.html`` for each pilot in
        ``summary["pilots"]`` (``ncl_estates`` first) and ``london.png``.

    Raises
    ------
    CRSError
        If a frame is not in EPSG:4326.
    DataValidationError
        If a column is missing, a site geometry is not a Point, a context kind
        is unknown, a summary part has the wrong type or a pilot id cannot
        name a file.
    ConfigError
        If ``tiles`` is a URL without ``tiles_attribution``, or
        ``site_layer_threshold`` is negative.

    See Also
    --------
    estates.render.static_map.render_static_map : the PNG on its own.

    Examples
    --------
    A frame without the contract's columns is refused before anything is
    written:

    >>> import geopandas as gpd
    >>> frame = gpd.GeoDataFrame({"borough_code": []}, geometry=[], crs="EPSG:4326")
    >>> render_maps(frame, frame, frame, {}, Path("maps"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: boroughs is missing column(s) borough_name, subregion, ...
    """
    for frame, what in ((sites, "sites"), (boroughs, "boroughs"), (context, "context")):
        require_crs(frame, WGS84, stage=f"render_maps ({what})")
    if tiles is not None and not isinstance(tiles, str):
        msg = (
            f"tiles must be a URL template, a folium tile name or None, got {type(tiles).__name__}"
        )
        raise ConfigError(msg)
    if tiles is not None and ("{" in tiles or "://" in tiles) and not tiles_attribution:
        msg = f"tiles {tiles!r} is a URL; give tiles_attribution (the tile provider's credit)"
        raise ConfigError(msg)
    if site_layer_threshold < 0:
        msg = f"site_layer_threshold must be 0 or more, got {site_layer_threshold}"
        raise ConfigError(msg)
    if max_sites < 1:
        msg = f"max_sites must be 1 or more, got {max_sites}"
        raise ConfigError(msg)
    if not isinstance(summary, Mapping):
        msg = f"summary must be a mapping, got {type(summary).__name__}"
        raise DataValidationError(msg)

    _require_columns(boroughs, BOROUGH_COLUMNS, "boroughs")
    _require_columns(context, CONTEXT_COLUMNS, "context")
    names = _names_from_summary(summary)
    prepared_boroughs = _prepare_boroughs(boroughs, names)
    pilots = _mapping(summary, "pilots", "")
    pilot_ids = _pilot_order(pilots)
    prepared_sites = _prepare_sites(sites, names, limit=max_sites, pilot_ids=pilot_ids)
    if page_totals is not None:  # ``sites`` holds only the pages' best (the chunked build)
        prepared_sites.totals.update(page_totals)
    prepared_context = _prepare_context(context)
    if ranked_total is None:
        ranked_total = int(pd.to_numeric(sites["disposal_rank"], errors="coerce").notna().sum())
    attribution = _attribution(summary)
    target = _get_num(summary, "target_gbp")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    canvas = min(len(prepared_sites.codes), max_sites) > site_layer_threshold
    common = {
        "boroughs": prepared_boroughs,
        "context": prepared_context,
        "ranked_total": ranked_total,
        "attribution": attribution,
        "tiles": tiles,
        "tiles_attribution": tiles_attribution,
        "canvas": canvas,
    }

    london_view = _View(
        map_id="london",
        title="Unused NHS land in London",
        subtitle=_subtitle(_mapping(summary, "london", ""), target),
        bounds=_bounds(prepared_boroughs.frame),
        focus_pilot=None,
        with_list=False,
    )
    every = np.ones(len(prepared_sites.codes), dtype=bool)
    london_sites = _subset_payload(prepared_sites, _best_sites(prepared_sites, every, max_sites))
    written: list[tuple[str, Path, str]] = [
        (
            "london",
            out_dir / "london.html",
            _build_map(
                london_view, london_sites, total_sites=prepared_sites.totals["london"], **common
            ),
        )
    ]
    pilot_files: list[tuple[str, str, Path]] = []
    for pid in pilot_ids:
        block = _mapping(pilots, pid, "['pilots']")
        in_pilot = np.array([pid in p for p in prepared_sites.pilots], dtype=bool)
        members = [pid in _split(v) for v in _texts(prepared_boroughs.frame, "pilots")]
        listed = {str(c) for c in block.get("borough_codes") or []}
        if listed:
            members = [
                m or c in listed for m, c in zip(members, prepared_boroughs.codes, strict=True)
            ]
        area = prepared_boroughs.frame[np.array(members, dtype=bool)]
        view = _View(
            map_id=pid,
            title=names.pilot(pid),
            subtitle=_subtitle(block, target),
            bounds=_bounds(area if len(area) else prepared_boroughs.frame),
            focus_pilot=pid,
            with_list=True,
        )
        path = out_dir / f"{pid}.html"
        drawn = _subset_payload(prepared_sites, _best_sites(prepared_sites, in_pilot, max_sites))
        html = _build_map(view, drawn, total_sites=prepared_sites.totals[pid], **common)
        written.append((pid, path, html))
        pilot_files.append((pid, names.pilot(pid), path))

    index_path = out_dir / "index.html"
    index_path.write_text(_render_index(summary, pilot_files, has_png=True), encoding="utf-8")
    for _, path, html in written:
        path.write_text(html, encoding="utf-8")

    from estates.render.static_map import render_static_map

    png = render_static_map(
        london_sites.frame,
        prepared_boroughs.frame,
        out_dir / "london.png",
        pilot_outlines=prepared_boroughs.pilot_outlines,
        subregion_outlines=prepared_boroughs.subregion_outlines,
        title="Unused NHS land in London",
        attribution=_plain_attribution(summary),
    )
    paths = [index_path, *(p for _, p, _ in written), png]
    logger.info(
        "wrote %d maps to %s: %d sites drawn, %d boroughs, %d pilots, %d context records",
        len(paths),
        out_dir,
        len(london_sites.codes),
        len(prepared_boroughs.codes),
        len(pilot_ids),
        sum(len(v["rows"]) for v in prepared_context.values()),
    )
    return paths


def _plain_attribution(summary: Mapping[str, Any]) -> str:
    names = [
        str(s.get("name"))
        for s in summary.get("sources") or []
        if isinstance(s, Mapping) and s.get("name")
    ]
    return ("Data: " + "; ".join(names) + ". ") if names else ""
