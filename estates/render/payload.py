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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estates import style
from estates.errors import DataValidationError
from estates.render.assets import ScriptJson, json_object_for_script
from estates.render.borough_shapes import BoroughShapes, borough_shapes, geometry_json
from estates.render.columns import (
    BOROUGH_COLUMNS,
    CONTEXT_COLUMNS,
    PICTURE_COLUMNS,
    SITE_COLUMNS,
    flag_values,
    number_values,
    point_xy,
    require_columns,
    split_list,
    text_codes,
    text_values,
)
from estates.render.selection import best_of, on_some_page
from estates.render.site_rows import DIGITS, SiteRows
from estates.report.headline import value_range
from estates.stages.validate import MAX_PAGE_TEXT, PAGE_TEXT_COLUMNS, shorten_for_page
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


def _whole(values: np.ndarray) -> np.ndarray:
    """Round floats half to even, as ``round``, keeping NaN; refuse infinity as ``round`` does."""
    infinite = np.isinf(values)
    if infinite.any():
        round(float(values[infinite][0]))  # raises OverflowError, as it always has
    rounded: np.ndarray = np.rint(values)
    return rounded


def _radius_px(unused_ha: np.ndarray) -> np.ndarray:
    """Return :func:`estates.style.site_radius_px` of each value, the same floats, vectorised.

    ``np.round(r, 2)`` and Python's ``round(r, 2)`` agree unless ``r * 100``
    lies within rounding error of a half; those few take the Python path.
    """
    positive = unused_ha > 0  # False for NaN
    root = np.sqrt(np.where(positive, unused_ha, 0.0))
    r = np.minimum(style.RADIUS_MIN_PX + style.RADIUS_PX_PER_SQRT_HA * root, style.RADIUS_MAX_PX)
    scaled = r * 100
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    radius = np.where(positive, np.round(r, 2), style.RADIUS_MIN_PX)
    for i in np.flatnonzero(near_half & positive):
        radius[i] = style.site_radius_px(float(unused_ha[i]))
    return radius


def _escape_all(texts: Sequence[str]) -> list[str]:
    """Return ``[html.escape(t) for t in texts]``, escaping them all in one call.

    The texts are joined with NUL, escaped once and split again; escaping
    works character by character, so each part comes out as it would alone.
    A text that itself holds a NUL sends the lot through ``escape`` one by one.
    """
    if not texts:
        return []
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:
        return [escape(t) for t in texts]
    return escape(joined).split("\x00")


def _dedupe(codes: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Merge equal ``texts`` so that equal codes mean equal texts, and back."""
    index: dict[str, int] = {}
    remap = np.fromiter((index.setdefault(t, len(index)) for t in texts), np.int64, len(texts))
    return remap[codes], list(index)


def _objects(values: Sequence[Any]) -> np.ndarray:
    """Return ``values`` (texts or tuples) as a 1-D object array, one item each."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _first_seen(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Return the distinct rows of the code columns ``keys``, numbered as first met."""
    key = np.zeros(len(keys[0]) if keys else 0, dtype=np.int64)
    size = 1
    for codes in keys:
        width = int(codes.max()) + 1 if len(codes) else 1
        if size * width >= 2**62:
            key, _ = pd.factorize(key)
            size = int(key.max()) + 1 if len(key) else 1
        key = key * width + codes
        size *= width
    numbered: np.ndarray = pd.factorize(key)[0]
    return numbered


class _Texts:
    """A table of repeated escaped texts and lists; :meth:`ref` numbers them as first met.

    Index 0 is the empty text; a list never shares a number with a text.
    """

    def __init__(self) -> None:
        self.values: list[Any] = [""]
        self._index: dict[Any, int] = {"": 0}

    def ref(self, value: str | tuple[str, ...]) -> int:
        """Return ``value``'s index, adding it if new."""
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
    """Located London sites, sorted for drawing, ready to be written as the page's JSON.

    ``head`` holds the fields, the profiles and the table of texts; ``rows``
    the sites, a column at a time (see :class:`~estates.render.site_rows.SiteRows`).
    ``source`` is the site table the rows come from and ``positions`` the
    drawn rows' positions in it, in drawing order (see :attr:`frame`).
    """

    head: dict[str, Any]
    rows: SiteRows
    codes: list[str]
    pilots: list[tuple[str, ...]]
    ranks: np.ndarray
    source: gpd.GeoDataFrame
    positions: np.ndarray
    totals: dict[str, int] = field(default_factory=dict)  # sites per page before any cap

    @cached_property
    def frame(self) -> gpd.GeoDataFrame:
        """Return the drawn rows of ``source``, in drawing order, for the static maps.

        Only the columns they read (:data:`PICTURE_COLUMNS` and the geometry),
        taken when first asked for: an HTML page needs only the payload, and
        every column of a page's 50,000 sites, its texts copied, held
        until the pictures are drawn, cost tens of megabytes a page.
        """
        return self.source[[*PICTURE_COLUMNS, self.source.geometry.name]].iloc[self.positions]

    def frame_of(self, keep: np.ndarray) -> gpd.GeoDataFrame:
        """Return :attr:`frame` of the sites at ``keep`` (a boolean mask), their payload untouched.

        What ``subset_sites(sites, keep).frame`` gives, without taking the
        subset's payload rows, codes and pilots: the pictures need none of them.
        """
        return self.source[[*PICTURE_COLUMNS, self.source.geometry.name]].iloc[self.positions[keep]]

    def column(self, name: str) -> pd.Series:
        """Return column ``name`` of the drawn rows of ``source``, in drawing order."""
        return self.source[name].iloc[self.positions]

    @property
    def payload(self) -> dict[str, Any]:
        """Return the sites as the page's script reads them: a Python list per field."""
        return {**self.head, "columns": self.rows.columns()}

    def json(self) -> str:
        """Return :attr:`payload` as ``json_for_script`` writes it, the columns written by numpy."""
        return json_object_for_script({**self.head, "columns": ScriptJson(self.rows.json())})


def _profile_texts(names: Names) -> dict[str, Callable[[str], str | tuple[str, ...]]]:
    """Return the column behind each profile field and how a raw text of it is shown.

    One column per field of :data:`PROFILE_FIELDS`, in order; ``trust`` is
    name and code together.
    """

    def listed(name: Callable[[str], str]) -> Callable[[str], tuple[str, ...]]:
        return lambda v: tuple(escape(name(p)) for p in split_list(v))

    return {
        "site_type": escape,
        "trust": escape,
        "borough_name": escape,
        "subregion": lambda v: escape(names.subregion(v)) if v else "",
        "pilots": listed(names.pilot),
        "located_by": lambda v: escape(v.replace("_", " ")),
        "join_method": lambda v: escape(v.replace("_", " ")),
        "valuation_method": lambda v: escape(names.method(v)),
        "valuation_source": escape,
        "quality_flags": listed(str),
    }


def _trusts(
    name: tuple[np.ndarray, list[str]], code: tuple[np.ndarray, list[str]]
) -> tuple[np.ndarray, list[str]]:
    """Return each site's trust as codes into ``"name (code)"`` texts, one per distinct pair.

    Equal codes mean an equal (name, code) pair, so sites share a profile
    exactly when their raw trust name and code both agree.
    """
    width = max(len(code[1]), 1)
    pairs, firsts = pd.factorize(name[0] * width + code[0])
    texts = []
    for pair in firsts.tolist():
        tname, tcode = name[1][pair // width], code[1][pair % width]
        texts.append(f"{tname} ({tcode})" if tname and tcode else tname or tcode)
    return pairs.astype(np.int64, copy=False), texts


def _profiles(
    columns: Mapping[str, tuple[np.ndarray, list[str]]], order: np.ndarray, names: Names
) -> tuple[np.ndarray, list[list[int]], list[Any]]:
    """Return each drawn site's profile, the profiles and the table of texts.

    ``columns`` holds each profile column as codes (rows in frame order) into
    its distinct raw texts. Profiles are numbered as the drawing order
    (``order``) first meets them and texts as the profiles, field by field,
    first use them, with the empty text first: the numbering a site-by-site
    pass gives, from a few array operations and one call per distinct text.
    """
    shaped = _profile_texts(names)
    keys = [columns[c][0][order] for c in shaped]
    profile_col = _first_seen(keys)
    first = np.unique(profile_col, return_index=True)[1]
    # Each distinct escaped text or list gets a candidate number (the empty text 0) ...
    texts = _Texts()
    fields = []
    for key, (column, shape) in zip(keys, shaped.items(), strict=True):
        values = columns[column][1]
        escaped = _escape_all(values) if shape is escape else [shape(v) for v in values]
        lut = np.fromiter((texts.ref(v) for v in escaped), np.int64, len(escaped))
        fields.append(lut[key[first]])
    # ... renumbered as the profiles first use them.
    flat = np.concatenate([[0], np.column_stack(fields).ravel()]) if len(first) else np.zeros(1)
    numbered, candidates = pd.factorize(flat.astype(np.int64))
    table = [texts.values[c] for c in candidates.tolist()]
    profiles = numbered[1:].reshape(len(first), len(fields)).tolist()
    return profile_col, profiles, table


_NUMBERS = (
    "land_owned_ha", "land_unused_ha", "land_unused_share", "estimated_value_gbp",
    "disposal_score", "disposal_rank", "score_value", "score_share", "score_backlog",
    "score_constraints", "backlog_total_gbp",
)  # fmt: skip
_TEXTS = (
    "site_code", "site_name", "site_type", "trust_code", "trust_name", "borough_name",
    "subregion", "located_by", "join_method", "valuation_method", "valuation_source",
    "quality_flags",
)  # fmt: skip


def prepare_sites(
    sites: gpd.GeoDataFrame,
    names: Names,
    *,
    limit: int | None = None,
    pilot_ids: Sequence[str] = (),
) -> SitePayload:
    """Select located London sites and encode them compactly, escaped.

    With ``limit``, only the sites some page draws are encoded: London's best
    ``limit`` and each pilot's (see :func:`best_of`). Each column is read and
    escaped once per distinct value, not once per site.
    """
    what = "sites"
    require_columns(sites, SITE_COLUMNS, what)
    lon, lat = point_xy(sites, what, "site_code")
    drawn = flag_values(sites, "in_london") & ~np.isnan(lon) & ~np.isnan(lat)
    pilot_codes, pilot_texts = text_codes(sites, "pilots")
    pilot_lists = _objects([split_list(p) for p in pilot_texts])
    totals = {"london": int(drawn.sum())}
    for pid in pilot_ids:
        member = np.fromiter((pid in p for p in pilot_lists), bool, len(pilot_lists))
        totals[pid] = int((drawn & member[pilot_codes]).sum())
    if limit is not None and drawn.sum() > limit:
        pilots_of = pilot_lists[pilot_codes].tolist()
        drawn = on_some_page(
            sites, drawn, limit, pilots_of=pilots_of, pilot_ids=pilot_ids, what=what
        )
    idx = np.flatnonzero(drawn)
    sub = sites if len(idx) == len(sites) else sites.iloc[idx]
    lon, lat = lon[idx], lat[idx]

    # Numbers are checked on every row, drawn or not, so bad data are not hidden.
    num = {c: number_values(sites, c, what)[idx] for c in _NUMBERS}
    txt = {c: text_codes(sub, c) for c in _TEXTS}
    txt["pilots"] = (pilot_codes[idx], pilot_texts)
    # A text of 300 MB must not become a page of 300 MB: the tables keep it whole,
    # validation flagged it (long_text), the page shows its start and an ellipsis.
    for column in PAGE_TEXT_COLUMNS:
        codes, values = txt[column]
        if max(map(len, values), default=0) > MAX_PAGE_TEXT:
            txt[column] = _dedupe(codes, [shorten_for_page(v) for v in values])
    txt["trust"] = _trusts(txt["trust_name"], txt["trust_code"])
    pfi_raw = sub["pfi"].astype("boolean")
    pfi = pfi_raw.fillna(False).to_numpy(dtype=bool).astype(np.float64)
    pfi[pfi_raw.isna().to_numpy()] = np.nan

    # Drawing order: big markers first (underneath), high scores last (on top).
    code_codes, code_texts = txt["site_code"]
    code_rank = np.empty(len(code_texts), dtype=np.int64)
    code_rank[np.argsort(np.array(code_texts, dtype=object), kind="stable")] = np.arange(
        len(code_texts)
    )
    radius = _radius_px(num["land_unused_ha"])
    score = np.nan_to_num(num["disposal_score"], nan=-1.0)
    order = np.lexsort((np.arange(len(idx)), code_rank[code_codes], score, -radius))

    profile_col, profiles, strings = _profiles(txt, order, names)
    name_codes, name_texts = txt["site_name"]
    # Each number field from its column, rounded to the places the page shows (DIGITS).
    sources = {
        "lon": lon,
        "lat": lat,
        "owned_ha": num["land_owned_ha"],
        "unused_ha": num["land_unused_ha"],
        "unused_share": num["land_unused_share"],
        "value_gbp": num["estimated_value_gbp"],
        "score": num["disposal_score"],
        "rank": num["disposal_rank"],
        "score_value": num["score_value"],
        "score_share": num["score_share"],
        "score_backlog": num["score_backlog"],
        "score_constraints": num["score_constraints"],
        "backlog_gbp": num["backlog_total_gbp"],
        "pfi": pfi,
    }
    numbers = {
        f: (np.round(v, DIGITS[f]) if DIGITS[f] else _whole(v))[order] for f, v in sources.items()
    }
    numbers["profile"] = profile_col.astype(np.float64)  # already in drawing order
    rows = SiteRows(
        fields=ROW_FIELDS,
        numbers=numbers,
        texts={
            "code": (code_codes[order], _escape_all(code_texts)),
            "name": (name_codes[order], _escape_all(name_texts)),
        },
    )
    head = {
        "fields": list(ROW_FIELDS),
        "profile_fields": list(PROFILE_FIELDS),
        "strings": strings,
        "profiles": profiles,
    }
    return SitePayload(
        head=head,
        rows=rows,
        codes=[code_texts[c] for c in code_codes[order].tolist()],
        pilots=pilot_lists[pilot_codes[idx][order]].tolist(),
        ranks=num["disposal_rank"][order],
        source=sites,
        positions=idx[order],
        totals=totals,
    )


def best_prepared(sites: SitePayload, within: np.ndarray, limit: int) -> np.ndarray:
    """Return ``within`` narrowed to its ``limit`` best prepared sites (see :func:`best_of`)."""
    return best_of(
        within,
        limit,
        rank=sites.ranks.astype(float),
        unused=pd.to_numeric(sites.column("land_unused_ha"), errors="coerce").to_numpy(dtype=float),
        codes=np.array(sites.codes, dtype=object),
    )


def subset_sites(sites: SitePayload, keep: np.ndarray) -> SitePayload:
    """Return the sites whose positions are in ``keep`` (a boolean mask)."""
    pos = np.flatnonzero(keep).tolist()
    return SitePayload(
        head=sites.head,
        rows=sites.rows.take(pos),
        codes=[sites.codes[i] for i in pos],
        pilots=[sites.pilots[i] for i in pos],
        ranks=sites.ranks[pos],
        source=sites.source,
        positions=sites.positions[pos],
        totals=sites.totals,
    )


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
    #: The shapes' GeoJSON, label points and outlines, shared by every page (and
    #: every build) with the same boundaries.
    shapes: BoroughShapes | None = None


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
        "Value of unused land by borough (midpoint of the range), at 2017 policy-appraisal values",
        style.VALUE_PALETTE,
        style.format_gbp,
    ),
}


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
    # The sourced range, where the boroughs carry it; else the one figure.
    low = number_values(frame, "value_low_gbp", what) if "value_low_gbp" in frame else value
    high = number_values(frame, "value_high_gbp", what) if "value_high_gbp" in frame else value

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

    # The shapes' GeoJSON and the outlines' unions, once per set of boundaries.
    shapes = borough_shapes(frame.geometry.array, pilots, subs)
    features = []
    for i in range(len(frame)):
        code, name = escape(codes[i]), escape(bnames[i])
        sub_name = escape(names.subregion(subs[i])) if subs[i] else ""
        pilot_names = "<br>".join(escape(names.pilot(p)) for p in pilots[i]) or "None"
        worth = escape(value_range(low[i], high[i]))
        tip = f"<b>{name}</b><br>{escape(style.format_ha(unused[i]))} unused · {worth}"
        popup = (
            f'<div class="est-popup" data-borough-code="{code}">'
            f'<div class="est-title">{name}</div>'
            f'<div class="est-sub">{code}{" · " + sub_name if sub_name else ""}</div>'
            '<table class="est-facts">'
            f"<tr><th>Pilots</th><td>{pilot_names}</td></tr>"
            f"<tr><th>NHS land owned</th><td>{escape(style.format_ha(owned[i]))}</td></tr>"
            f"<tr><th>Unused land</th><td>{escape(style.format_ha(unused[i]))}</td></tr>"
            f"<tr><th>Value (2017 policy-appraisal)</th><td>{worth}</td></tr>"
            "<tr><th>Sites located</th>"
            f"<td>{'n/a' if np.isnan(located[i]) else f'{int(located[i]):,}'}</td></tr>"
            "</table></div>"
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"i": i, "code": code, "tip": tip, "popup": popup},
                "geometry": shapes.geometries[i],
            }
        )
    return Boroughs(
        geojson={"type": "FeatureCollection", "features": features},
        choropleths=choropleths,
        classes=classes_of,
        codes=codes,
        frame=frame,
        pilot_outlines=_outline_frame(shapes.pilots, names.pilot, frame.crs),
        subregion_outlines=_outline_frame(shapes.subregions, names.subregion, frame.crs),
        by_count=by_count,
        shapes=shapes,
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
                "geometry": geometry_json(geom),
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
    located = ~(np.isnan(lon) | np.isnan(lat))
    kind_of = np.asarray(kinds, dtype=object)
    lons, lats = _rounded(lon, 5), _rounded(lat, 5)
    codes = _escape_all(text_values(context, "context_code"))
    cnames = _escape_all(text_values(context, "context_name"))
    out: dict[str, dict[str, Any]] = {}
    for kind, (label, colour) in CONTEXT_KINDS.items():
        rows = sorted(
            [lons[i], lats[i], codes[i], cnames[i]]
            for i in np.flatnonzero(located & (kind_of == kind)).tolist()
        )
        if rows:
            out[kind] = {"label": escape(label), "colour": colour, "rows": rows}
    return out


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    """Return ``round(float(v), digits)`` of each finite value (NaN stays NaN), vectorised.

    ``np.round`` gives ``round``'s float unless a value times ``10**digits``
    lies within rounding error of a half; those few take the Python path.
    """
    scaled = values * 10.0**digits
    with np.errstate(invalid="ignore"):
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    out: list[float] = np.round(values, digits).tolist()
    for i in np.flatnonzero(near_half).tolist():
        out[i] = round(float(values[i]), digits)
    return out
