"""The JSON data each map page's JavaScript reads: sites, boroughs, outlines, context.

Sites are one compact payload, a row per site in :data:`ROW_FIELDS` order,
with the texts that repeat across sites (trust, borough, pilots,
valuation...) stored once in a table of ``profiles`` and ``strings``. Every
text is HTML-escaped here, in Python, before it reaches a popup, tooltip,
list or the search; the page's script never escapes. The payload is built a
column at a time (numbers rounded with numpy, each text column escaped in one
pass) rather than site by site, so 50,000 sites take a fraction of a second.
Rows are sorted for drawing, so the same inputs give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from estates import style
from estates.errors import DataValidationError
from estates.render.columns import (
    BOROUGH_COLUMNS,
    CONTEXT_COLUMNS,
    SITE_COLUMNS,
    flag_values,
    number_values,
    point_xy,
    require_columns,
    split_list,
    text_values,
)
from estates.render.selection import best_of, on_some_page
from estates.style import CONTEXT_KINDS

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CHOROPLETHS",
    "PROFILE_FIELDS",
    "ROW_FIELDS",
    "Boroughs",
    "Names",
    "SitePayload",
    "best_prepared",
    "names_from_summary",
    "outline_geojson",
    "prepare_boroughs",
    "prepare_context",
    "prepare_sites",
    "subset_sites",
    "summary_part",
]

# One site is one row of numbers and text in the JSON payload, in this order.
# "profile" indexes a shared table of the texts that repeat across sites
# (trust, borough, pilots, valuation...), each an index into a table of
# unique escaped strings, so 50,000 sites stay a few megabytes.
ROW_FIELDS = (
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
PROFILE_FIELDS = (
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
class Names:
    """Display names for ids found in the data, from the summary."""

    pilots: dict[str, str] = field(default_factory=dict)
    subregions: dict[str, str] = field(default_factory=dict)
    valuation_method: str = ""
    valuation_label: str = ""

    def pilot(self, pid: str) -> str:
        """Return a pilot's display name (its id if the summary has none)."""
        return self.pilots.get(pid, pid)

    def subregion(self, sid: str) -> str:
        """Return a sub-region's display name (a short id in capitals if none)."""
        return self.subregions.get(sid, sid.upper() if len(sid) <= 4 else sid)

    def method(self, method: str) -> str:
        """Return a valuation method's label, as the summary words it."""
        if method and method == self.valuation_method and self.valuation_label:
            return self.valuation_label
        return method.replace("_", " ")


def summary_part(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """Return ``obj[key]`` if it is a mapping, {} if absent; refuse anything else."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"summary{where}[{key!r}] must be a mapping, got {type(value).__name__}"
        raise DataValidationError(msg)
    return value


def names_from_summary(summary: Mapping[str, Any]) -> Names:
    """Return the display names of pilots, sub-regions and the valuation in ``summary``."""

    def names(key: str) -> dict[str, str]:
        part = summary_part(summary, key, "")
        return {str(k): str(summary_part(part, k, f"[{key!r}]").get("name") or k) for k in part}

    pilots, subs = names("pilots"), names("subregions")
    valuation = summary_part(summary, "valuation", "")
    return Names(
        pilots=pilots,
        subregions=subs,
        valuation_method=str(valuation.get("method") or ""),
        valuation_label=str(valuation.get("label") or ""),
    )


@dataclass
class SitePayload:
    """Located London sites, sorted for drawing, as a JSON-ready payload."""

    payload: dict[str, Any]
    codes: list[str]
    pilots: list[tuple[str, ...]]
    ranks: np.ndarray
    frame: pd.DataFrame  # the drawn rows, for the static map
    totals: dict[str, int] = field(default_factory=dict)  # sites per page before any cap


def _profile(key: tuple[str, ...], texts: _Texts, names: Names) -> list[int]:
    """Escape one site's repeated texts into ``texts``; return their indices.

    ``key`` holds, raw: site type, trust name, trust code, borough, sub-region
    id, pilots, located by, join method, valuation method and source, and the
    quality flags, in that order. The result follows :data:`PROFILE_FIELDS`.
    """
    stype, tname, tcode, borough, subregion, pilots, located, join, method, source, flags = key
    trust = f"{tname} ({tcode})" if tname and tcode else tname or tcode
    e = escape
    return [
        texts.ref(e(stype)),
        texts.ref(e(trust)),
        texts.ref(e(borough)),
        texts.ref(e(names.subregion(subregion)) if subregion else ""),
        texts.ref(tuple(e(names.pilot(p)) for p in split_list(pilots))),
        texts.ref(e(located.replace("_", " "))),
        texts.ref(e(join.replace("_", " "))),
        texts.ref(e(names.method(method))),
        texts.ref(e(source)),
        texts.ref(tuple(e(f) for f in split_list(flags))),
    ]


def prepare_sites(
    sites: gpd.GeoDataFrame,
    names: Names,
    *,
    limit: int | None = None,
    pilot_ids: Sequence[str] = (),
) -> SitePayload:
    """Select located London sites and encode them compactly, escaped.

    With ``limit``, only the sites some page draws are encoded: London's best
    ``limit`` and each pilot's (see :func:`best_of`).
    """
    what = "sites"
    require_columns(sites, SITE_COLUMNS, what)
    lon, lat = point_xy(sites, what, "site_code")
    drawn = flag_values(sites, "in_london") & ~np.isnan(lon) & ~np.isnan(lat)
    pilots_of = [split_list(p) for p in text_values(sites, "pilots")]
    totals = {"london": int(drawn.sum())}
    for pid in pilot_ids:
        totals[pid] = sum(1 for d, p in zip(drawn, pilots_of, strict=True) if d and pid in p)
    if limit is not None and drawn.sum() > limit:
        drawn = on_some_page(
            sites, drawn, limit, pilots_of=pilots_of, pilot_ids=pilot_ids, what=what
        )
    idx = np.flatnonzero(drawn)
    sub = sites.iloc[idx]
    lon, lat = lon[idx], lat[idx]

    # Numbers are checked on every row, drawn or not, so bad data are not hidden.
    num = {c: number_values(sites, c, what)[idx] for c in (
        "land_owned_ha", "land_unused_ha", "land_unused_share", "estimated_value_gbp",
        "disposal_score", "disposal_rank", "score_value", "score_share", "score_backlog",
        "score_constraints", "backlog_total_gbp",
    )}  # fmt: skip
    txt = {c: text_values(sub, c) for c in (
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
    columns = [cols[f] for f in ROW_FIELDS]
    rows = [[col[i] for col in columns] for i in rows_order]
    payload = {
        "fields": list(ROW_FIELDS),
        "profile_fields": list(PROFILE_FIELDS),
        "strings": texts.values,
        "profiles": profiles,
        "rows": rows,
    }
    pilots = [split_list(txt["pilots"][i]) for i in rows_order]
    frame = sub.iloc[order].copy()
    return SitePayload(
        payload=payload,
        codes=[txt["site_code"][i] for i in rows_order],
        pilots=pilots,
        ranks=num["disposal_rank"][order],
        frame=frame,
        totals=totals,
    )


def best_prepared(sites: SitePayload, within: np.ndarray, limit: int) -> np.ndarray:
    """Return ``within`` narrowed to its ``limit`` best prepared sites (see :func:`best_of`)."""
    return best_of(
        within,
        limit,
        rank=sites.ranks.astype(float),
        unused=pd.to_numeric(sites.frame["land_unused_ha"], errors="coerce").to_numpy(dtype=float),
        codes=np.array(sites.codes, dtype=object),
    )


def subset_sites(sites: SitePayload, keep: np.ndarray) -> SitePayload:
    """Return the sites whose positions are in ``keep`` (a boolean mask)."""
    pos = np.flatnonzero(keep).tolist()
    payload = dict(sites.payload)
    payload["rows"] = [sites.payload["rows"][i] for i in pos]
    return SitePayload(
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
class Boroughs:
    """The boroughs as the page draws them: GeoJSON, fills per choropleth, classes, outlines."""

    geojson: dict[str, Any]
    choropleths: dict[str, dict[str, Any]]
    classes: dict[str, style.Classes]  # per choropleth key, for the legend
    codes: list[str]
    frame: gpd.GeoDataFrame
    pilot_outlines: gpd.GeoDataFrame
    subregion_outlines: gpd.GeoDataFrame
    #: True when no site carries land figures (a list of GP practices, say): the
    #: "unused" shading then shows how many sites each borough holds.
    by_count: bool = False


#: Title of the borough shading when no site carries land figures.
COUNT_TITLE = "NHS sites located by borough (no land figures in the input)"
#: Layer name of that shading.
COUNT_LAYER_NAME = "Sites located"


def format_count(value: float) -> str:
    """Return a site count for a legend label, e.g. ``1,204``."""
    return f"{round(value):,}"


CHOROPLETHS = {
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


def prepare_boroughs(boroughs: gpd.GeoDataFrame, names: Names) -> Boroughs:
    """Return the boroughs (EPSG:4326, left unchanged) as :class:`Boroughs`, texts escaped."""
    what = "boroughs"
    require_columns(boroughs, BOROUGH_COLUMNS, what)
    frame = boroughs.sort_values("borough_code", kind="stable").reset_index(drop=True)
    codes = text_values(frame, "borough_code")
    bnames = text_values(frame, "borough_name")
    subs = text_values(frame, "subregion")
    pilots = [split_list(v) for v in text_values(frame, "pilots")]
    owned = number_values(frame, "land_owned_ha", what)
    unused = number_values(frame, "land_unused_ha", what)
    value = number_values(frame, "estimated_value_gbp", what)
    located = number_values(frame, "sites_located", what)

    choropleths: dict[str, dict[str, Any]] = {}
    classes_of: dict[str, style.Classes] = {}
    by_count = bool(np.isnan(unused).all())
    for key, (column, _title, palette, _fmt) in CHOROPLETHS.items():
        values = unused if column == "land_unused_ha" else value
        if by_count and key == "unused":
            values = located
        classes = style.classify(values, palette)
        choropleths[key] = {"fills": [classes.colour_of(i) for i in classes.index]}
        classes_of[key] = classes

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
    return Boroughs(
        geojson={"type": "FeatureCollection", "features": features},
        choropleths=choropleths,
        classes=classes_of,
        codes=codes,
        frame=frame,
        pilot_outlines=_outline_frame(_dissolve(frame, pilots), names.pilot, frame.crs),
        subregion_outlines=_outline_frame(
            _dissolve(frame, [(s,) if s else () for s in subs]), names.subregion, frame.crs
        ),
        by_count=by_count,
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


def outline_geojson(outlines: gpd.GeoDataFrame, focus: str | None) -> dict[str, Any]:
    """Return pilot or sub-region outlines as GeoJSON; ``focus`` marks the page's own pilot."""
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


def prepare_context(context: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    """Return the context records (EPSG:4326, left unchanged) by kind, texts escaped."""
    what = "context"
    require_columns(context, CONTEXT_COLUMNS, what)
    kinds = text_values(context, "context_kind")
    unknown = sorted({k for k in kinds if k not in CONTEXT_KINDS})
    if unknown:
        msg = (
            f"context column context_kind has unknown value(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(CONTEXT_KINDS)}"
        )
        raise DataValidationError(msg)
    lon, lat = point_xy(context, what, "context_code")
    codes = text_values(context, "context_code")
    cnames = text_values(context, "context_name")
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
