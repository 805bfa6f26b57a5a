"""The map payload built column by column is byte for byte the payload built site by site.

:func:`reference_prepare_sites` below is the site-by-site ``prepare_sites``
as it stood before the payload was built column-wise, kept here only as the
reference: on the bundled build and on 50,000 synthetic sites with hostile
texts (markup, quotes, unicode, NUL, very long names, None, NaN, numbers in
text columns) the two give the same JSON bytes, the same drawing order, the
same site codes, pilots, ranks, frame and totals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from estates import style
from estates.render.assets import json_for_script
from estates.render.columns import (
    PICTURE_COLUMNS,
    SITE_COLUMNS,
    flag_values,
    number_values,
    point_xy,
    require_columns,
    split_list,
    text_codes,
)
from estates.render.payload import (
    PROFILE_FIELDS,
    ROW_FIELDS,
    Names,
    SitePayload,
    names_from_summary,
    prepare_sites,
)
from estates.render.selection import on_some_page
from estates.render.site_rows import SiteRows
from estates.stages.validate import PAGE_TEXT_COLUMNS, shorten_for_page

# ---------------------------------------------------------------------------
# The reference: prepare_sites as it was, site by site (do not "improve" it).


def reference_text_values(frame: pd.DataFrame, column: str) -> list[str]:
    return [
        "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)
        for v in frame[column].tolist()
    ]


def _ref_round(values: np.ndarray, digits: int) -> list[float | None]:
    """Round floats for the payload; NaN becomes None (JSON null)."""
    rounded = np.round(values, digits)
    return [None if math.isnan(v) else v for v in rounded.tolist()]


def _ref_whole(values: np.ndarray) -> list[int | None]:
    return [None if math.isnan(v) else round(v) for v in values.tolist()]


class _RefTexts:
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


def _ref_profile(key: tuple[str, ...], texts: _RefTexts, names: Names) -> list[int]:
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


def reference_prepare_sites(
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
    pilots_of = [split_list(p) for p in reference_text_values(sites, "pilots")]
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
    txt = {c: reference_text_values(sub, c) for c in (
        "site_code", "site_name", "site_type", "trust_code", "trust_name", "borough_name",
        "subregion", "pilots", "located_by", "join_method", "valuation_method",
        "valuation_source", "quality_flags",
    )}  # fmt: skip
    # A text of 300 MB must not become a page of 300 MB: the tables keep it whole,
    # validation flagged it (long_text), the page shows its start and an ellipsis.
    for column in PAGE_TEXT_COLUMNS:
        txt[column] = [shorten_for_page(v) for v in txt[column]]
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
        "owned_ha": _ref_round(num["land_owned_ha"], 3),
        "unused_ha": _ref_round(num["land_unused_ha"], 3),
        "unused_share": _ref_round(num["land_unused_share"], 4),
        "value_gbp": _ref_whole(num["estimated_value_gbp"]),
        "score": _ref_round(num["disposal_score"], 3),
        "rank": _ref_whole(num["disposal_rank"]),
        "score_value": _ref_round(num["score_value"], 3),
        "score_share": _ref_round(num["score_share"], 3),
        "score_backlog": _ref_round(num["score_backlog"], 3),
        "score_constraints": _ref_round(num["score_constraints"], 3),
        "backlog_gbp": _ref_whole(num["backlog_total_gbp"]),
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
    texts = _RefTexts()
    profile_of: dict[tuple[str, ...], int] = {}
    profiles: list[list[int]] = []
    profile_col: list[int] = [0] * len(raw_keys)
    for i in rows_order:
        key = raw_keys[i]
        found = profile_of.get(key)
        if found is None:
            found = len(profiles)
            profile_of[key] = found
            profiles.append(_ref_profile(key, texts, names))
        profile_col[i] = found
    cols: dict[str, list[Any]] = {
        "lon": _ref_round(lon, 5),
        "lat": _ref_round(lat, 5),
        "code": [e(v) for v in txt["site_code"]],
        "name": [e(v) for v in txt["site_name"]],
        "profile": profile_col,
        **numbers,
    }
    columns = [cols[f] for f in ROW_FIELDS]
    rows = [[col[i] for col in columns] for i in rows_order]
    head = {
        "fields": list(ROW_FIELDS),
        "profile_fields": list(PROFILE_FIELDS),
        "strings": texts.values,
        "profiles": profiles,
    }
    pilots = [split_list(txt["pilots"][i]) for i in rows_order]
    return SitePayload(
        head=head,
        rows=SiteRows.from_lists(ROW_FIELDS, rows),  # the same lists, held by column
        codes=[txt["site_code"][i] for i in rows_order],
        pilots=pilots,
        ranks=num["disposal_rank"][order],
        source=sub.copy(),
        positions=order,
        totals=totals,
    )


# ---------------------------------------------------------------------------
# Data: the bundled build, and synthetic sites with hostile texts.

HOSTILE = [
    "",
    "<script>alert(1)</script>",
    "He said \"hi\" & 'bye'",
    "Café – Ünïcode ☃ 𝔘𝔫𝔦",
    "NUL\x00inside",
    "x" * 250,
    "x" * 199 + "y" * 60,  # shortens to the same page text as the line above
    "  padded  ",
    "&amp; already escaped",
    "under_scored_text",
    "line\nbreak\u2028sep",
    "</script><!--",
]
NAMES = names_from_summary(
    {
        "pilots": {
            "ncl_estates": {"name": "North <Central> London"},
            "bhr_aco": {"name": 'BHR & "ACO"'},
        },
        "subregions": {"ncl": {"name": "North Central"}, "sel": {}},
        "valuation": {"method": "indicative_london_average", "label": "Indicative 'value'"},
    }
)
PILOT_IDS = ["ncl_estates", "bhr_aco", "haringey_prevention"]


def _pick(rng: np.random.Generator, pool: Sequence[Any], n: int) -> np.ndarray:
    values = np.empty(len(pool), dtype=object)
    for i, v in enumerate(pool):
        values[i] = v
    return values[rng.integers(0, len(pool), n)]


def _numbers(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    values = rng.uniform(low, high, n)
    values[rng.random(n) < 0.05] = np.nan
    return values


def hostile_sites(n: int, seed: int = 22) -> gpd.GeoDataFrame:
    """``n`` sites whose texts are markup, quotes, unicode, NUL, None, NaN and numbers."""
    rng = np.random.default_rng(seed)
    missing = [None, np.nan, pd.NA]
    codes = np.array([f"S{i % (n - n // 10):06d}" for i in range(n)], dtype=object)  # repeats
    odd = rng.random(n) < 0.02
    codes[odd] = _pick(rng, [*HOSTILE, None, np.nan], int(odd.sum()))
    names = np.array([f"Site {i} <{i % 7}> & co" for i in range(n)], dtype=object)
    odd = rng.random(n) < 0.2
    names[odd] = _pick(rng, [*HOSTILE, *missing], int(odd.sum()))
    unused = _numbers(rng, n, -1, 40).round(2)
    unused[rng.random(n) < 0.05] = 0.0
    unused[:6] = [-0.0, 1e6, 1e300, 0.64, 4.0, 0.0049]
    value = _numbers(rng, n, 0, 5e8).round(1)
    value[:4] = [2.5, 3.5, -0.5, 1e17]
    rank = pd.array(rng.permutation(n) + 1, dtype="Int64")
    rank[rng.random(n) < 0.1] = pd.NA
    score = _numbers(rng, n, 0, 1).round(3)
    backlog = _numbers(rng, n, 0, 5e6).round(0).astype(object)
    backlog[:3] = ["12.5", None, "7"]
    in_london = pd.array(rng.random(n) < 0.95, dtype="boolean")
    in_london[rng.random(n) < 0.01] = pd.NA
    pfi = pd.array(rng.random(n) < 0.1, dtype="boolean")
    pfi[rng.random(n) < 0.05] = pd.NA
    x = rng.uniform(-0.5, 0.3, n)
    y = rng.uniform(51.3, 51.7, n)
    geometry = gpd.points_from_xy(x, y)
    geometry[rng.random(n) < 0.01] = None
    return gpd.GeoDataFrame(
        {
            "site_code": codes,
            "site_name": names,
            # Numbers and booleans in a text column: 1, 1.0 and True stay three texts.
            "site_type": _pick(rng, ["Hospital", "Clinic", 1, 1.0, True, *HOSTILE[:4], None], n),
            "trust_code": _pick(rng, ["RAL", "RAP", "", "<T&>", 7, None, np.nan], n),
            "trust_name": _pick(rng, ["Royal Free", "", "A (RAL)", *HOSTILE, None], n),
            "borough_code": _pick(rng, ["E09000007", "E09000014"], n),
            "borough_name": _pick(rng, ["Camden", "Haringey", "<Borough>", "", None], n),
            "subregion": _pick(rng, ["ncl", "sel", "southwest_long", "<s>", "", None], n),
            "pilots": _pick(
                rng,
                [
                    "ncl_estates",
                    "ncl_estates; bhr_aco",
                    "bhr_aco;;",
                    "<evil>; ncl_estates",
                    "unknown_pilot",
                    "",
                    None,
                    np.nan,
                ],
                n,
            ),
            "in_london": in_london,
            "located_by": _pick(rng, ["postcode_centroid", "eric_coordinates", "a_b<c>", None], n),
            "join_method": _pick(rng, ["within", "nearest_bank", "", None], n),
            "land_owned_ha": _numbers(rng, n, -1, 60),
            "land_unused_ha": unused,
            "pfi": pfi,
            "quality_flags": _pick(rng, ["", "a;b", "<x>;&", ";;", "long_text", None], n),
            "land_unused_share": _numbers(rng, n, 0, 1),
            "backlog_total_gbp": backlog,
            "estimated_value_gbp": value,
            "valuation_method": _pick(
                rng, ["indicative_london_average", "", "custom_method", None], n
            ),
            "valuation_source": _pick(rng, [*HOSTILE, None], n),
            "score_value": _numbers(rng, n, 0, 1),
            "score_share": _numbers(rng, n, 0, 1),
            "score_backlog": _numbers(rng, n, 0, 1),
            "score_constraints": _numbers(rng, n, 0, 1),
            "disposal_score": score,
            "disposal_rank": rank,
        },
        geometry=geometry,
        crs="EPSG:4326",
    )


def assert_same_payload(sites: gpd.GeoDataFrame, names: Names, **options: Any) -> SitePayload:
    """Assert the column-wise payload equals the reference's, byte for byte.

    The page's text, written by numpy (``SitePayload.json``), is compared
    with the standard encoder's text of the reference's lists, one per field.
    """
    want = reference_prepare_sites(sites, names, **options)
    got = prepare_sites(sites, names, **options)
    assert got.json() == json_for_script(want.payload)
    assert got.payload == want.payload
    assert got.codes == want.codes
    assert got.pilots == want.pilots
    np.testing.assert_array_equal(got.ranks, want.ranks)
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.totals == want.totals
    return got


# ---------------------------------------------------------------------------
# Tests.


def test_bundled_payload_is_unchanged(bundled_result) -> None:
    names = names_from_summary(bundled_result.summary)
    got = assert_same_payload(bundled_result.map_sites, names)
    assert len(got.rows) > 100


def test_bundled_payload_capped_per_page_is_unchanged(bundled_result) -> None:
    names = names_from_summary(bundled_result.summary)
    pilots = list(bundled_result.summary["pilots"])
    got = assert_same_payload(bundled_result.map_sites, names, limit=40, pilot_ids=pilots)
    assert 40 <= len(got.rows) <= 40 * (1 + len(pilots))


@pytest.fixture(scope="module")
def hostile() -> gpd.GeoDataFrame:
    return hostile_sites(50_000)


def test_hostile_payload_is_unchanged(hostile: gpd.GeoDataFrame) -> None:
    got = assert_same_payload(hostile, NAMES, pilot_ids=PILOT_IDS)
    columns = got.payload["columns"]
    assert len(columns) == len(ROW_FIELDS)
    assert all(len(column) == len(got.rows) > 45_000 for column in columns)
    # Markup arrives escaped; the page's script never escapes.
    strings = got.payload["strings"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in strings
    assert not [t for t in strings if isinstance(t, str) and "<" in t]
    assert not [name for name in columns[ROW_FIELDS.index("name")] if "<" in name]
    assert "x" * 199 + "…" in got.payload["strings"]


def test_hostile_payload_capped_per_page_is_unchanged(hostile: gpd.GeoDataFrame) -> None:
    got = assert_same_payload(hostile, NAMES, limit=3_000, pilot_ids=PILOT_IDS)
    assert 3_000 <= len(got.rows) <= 3_000 * (1 + len(PILOT_IDS))


def test_the_pictures_frame_holds_only_the_columns_the_pictures_read(
    hostile: gpd.GeoDataFrame,
) -> None:
    """A page's drawn rows are kept for its picture: their text columns need not be.

    Every column of 50,000 sites a page, kept until the pictures were drawn,
    took about 20 MiB a page, and the whole drawn table's 117 MiB more.
    """
    got = prepare_sites(hostile, NAMES, limit=3_000, pilot_ids=PILOT_IDS)
    frame = got.frame
    assert list(frame.columns) == [*PICTURE_COLUMNS, hostile.geometry.name]
    assert frame.crs == hostile.crs
    whole = hostile.iloc[got.positions]
    pd.testing.assert_frame_equal(frame, whole[list(frame.columns)])
    assert got.column("site_name").tolist() == whole["site_name"].tolist()


def test_string_dtype_columns_give_the_same_payload(hostile: gpd.GeoDataFrame) -> None:
    sites = hostile.iloc[:5_000].copy()
    for column in ("site_name", "borough_name", "subregion", "pilots", "quality_flags"):
        sites[column] = sites[column].astype("string")
    sites["valuation_source"] = pd.Categorical(sites["valuation_source"].astype("string"))
    assert_same_payload(sites, NAMES, pilot_ids=PILOT_IDS)


def test_empty_and_all_missing_sites_give_the_same_payload(hostile: gpd.GeoDataFrame) -> None:
    got = assert_same_payload(hostile.iloc[:0], NAMES)
    assert got.payload["columns"] == [[] for _ in ROW_FIELDS]
    assert got.payload["strings"] == [""]
    blank = hostile.iloc[:300].copy()
    for column in ("site_name", "trust_name", "trust_code", "pilots", "quality_flags"):
        blank[column] = None
    assert_same_payload(blank, NAMES, pilot_ids=PILOT_IDS)


def test_text_codes_read_as_text_values(hostile: gpd.GeoDataFrame) -> None:
    for column in ("site_code", "site_type", "trust_code", "pilots", "backlog_total_gbp", "pfi"):
        codes, texts = text_codes(hostile, column)
        assert len(set(texts)) == len(texts)
        assert [texts[c] for c in codes] == reference_text_values(hostile, column)
    codes, texts = text_codes(hostile, "site_type")
    assert {"1", "1.0", "True"} <= set(texts)


def _ref_coords(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float | int):
            return [round(float(v), 5) for v in obj]
        return [_ref_coords(v) for v in obj]
    return obj


def test_shapes_are_rounded_as_round_rounds_them() -> None:
    """Polygons are rounded a ring at a time with numpy: the values ``round`` gives, halves too."""
    import shapely

    from estates.io.inputs import load_boroughs
    from estates.render.payload import outline_geojson

    rng = np.random.default_rng(5)
    near_halves = [
        shapely.Polygon(np.round(rng.uniform(-1, 1, (12, 2)), 5) + 5e-6).buffer(0)
        for _ in range(50)
    ]
    shapes = [
        *load_boroughs().geometry,
        *near_halves,
        shapely.box(0, 0, 10, 10).difference(shapely.box(1.000004, 1, 2, 2.5000051)),
        shapely.box(0, 0, 1, 1).union(shapely.box(2, 2, 3.123456789, 3)),
        shapely.LineString([(0, 0), (1.000005, 2)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 1), (0, 1, 1)]),
    ]
    outlines = gpd.GeoDataFrame(
        {"group_id": [f"g{i}" for i in range(len(shapes))], "group_name": "G"},
        geometry=shapes,
        crs="EPSG:4326",
    )
    got = [f["geometry"] for f in outline_geojson(outlines, None)["features"]]
    want = []
    for shape in shapes:
        mapped = shapely.geometry.mapping(shape)
        want.append({"type": mapped["type"], "coordinates": _ref_coords(mapped["coordinates"])})
    assert got == want
    assert json_for_script(got) == json_for_script(want)
