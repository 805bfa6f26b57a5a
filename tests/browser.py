"""Helpers for the map tests: a small real fixture and a network-blocked Chromium.

The fixture is cut from the bundled real data: the 33 ONS borough boundaries,
the pilot and sub-region memberships, and the NHS Choices 2018 hospital rows
as "sites" (2014 hospitals and clinics as context). The land, value and score
columns are made up, seeded, and clearly test values; they are not published
figures. One site is named ``<img src=x onerror=alert(1)>``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import Point

from estates.io.bundled import context_site_paths, groupings_path
from estates.io.inputs import load_boroughs as estates_load_boroughs
from estates.io.inputs import load_groupings
from estates.report.aggregate import aggregate_boroughs
from estates.report.tally import site_tallies
from estates.stages.tag import tag_groupings

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_CODE = "XSS01"
TEST_GBP_PER_HA = 10_000_000.0
TARGET_GBP = 11e9
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def load_boroughs() -> gpd.GeoDataFrame:
    """Return the 33 real boroughs with pilots and sub-region, no figures yet."""
    boroughs = tag_groupings(estates_load_boroughs(), load_groupings())
    boroughs["subregion"] = boroughs["subregion"].fillna("")
    return boroughs.sort_values("borough_code").reset_index(drop=True)


def _read_points(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["lat"] = pd.to_numeric(frame["Latitude"])
    frame["lon"] = pd.to_numeric(frame["Longitude"])
    return frame


def make_fixture() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, Any]]:
    """Return ``(sites, boroughs, context, summary)`` as the pipeline would pass them."""
    rng = np.random.default_rng(20_171_130)
    boroughs = load_boroughs()
    hospitals_2018, hospitals_2014, clinics_2014 = (_read_points(p) for p in context_site_paths())

    raw = hospitals_2018
    points = gpd.GeoDataFrame(
        {
            "site_code": raw["OrganisationCode"],
            "site_name": raw["OrganisationName"],
            "site_type": raw["SubType"].str.title(),
            "trust_code": raw["ParentODSCode"],
            "trust_name": raw["ParentName"],
        },
        geometry=[Point(x, y) for x, y in zip(raw["lon"], raw["lat"], strict=True)],
        crs="EPSG:4326",
    )
    # The XSS site sits in Camden (NCL pilot) and carries markup in every text.
    xss = gpd.GeoDataFrame(
        {
            "site_code": [XSS_CODE],
            "site_name": [XSS_NAME],
            "site_type": ["<b>Hospital</b>"],
            "trust_code": ["X<1>"],
            "trust_name": ['Trust & "Partners" <script>alert(2)</script>'],
        },
        geometry=[Point(-0.1400, 51.5390)],
        crs="EPSG:4326",
    )
    points = pd.concat([points, xss], ignore_index=True)
    joined = gpd.sjoin(
        points, boroughs[["borough_code", "borough_name", "subregion", "pilots", "geometry"]],
        how="left", predicate="within",
    ).drop(columns="index_right")  # fmt: skip
    joined = joined[~joined.index.duplicated()].copy()
    joined["in_london"] = joined["borough_code"].notna()
    for col in ("borough_code", "borough_name", "subregion", "pilots"):
        joined[col] = joined[col].fillna("")
    joined["located_by"] = "nhs_choices_2018"
    joined["join_method"] = np.where(joined["in_london"], "within", "outside_london")

    # Two records with no location (aggregate rows): kept, never drawn.
    unlocated = pd.DataFrame(
        {
            "site_code": ["AGG01", "AGG02"],
            "site_name": ["Trust-wide land (aggregate)", "Unlocated site"],
            "site_type": ["Aggregate", "Unknown"],
            "trust_code": ["RAL", "RRV"],
            "trust_name": ["Royal Free London NHS Foundation Trust", "UCLH"],
            "borough_code": ["", ""],
            "borough_name": ["", ""],
            "subregion": ["", ""],
            "pilots": ["", ""],
            "in_london": [True, True],
            "located_by": ["", ""],
            "join_method": ["unlocated", "unlocated"],
        }
    )
    sites = gpd.GeoDataFrame(
        pd.concat([pd.DataFrame(joined), unlocated], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    n = len(sites)
    owned = np.round(rng.uniform(0.3, 25.0, n), 2)
    share = np.round(rng.uniform(0.0, 0.45, n), 3)
    share[rng.random(n) < 0.15] = 0.0
    unused = np.round(owned * share, 3)
    unused[rng.random(n) < 0.05] = np.nan
    parts = {
        k: np.round(rng.uniform(0, 1, n), 3) for k in ("value", "share", "backlog", "constraints")
    }
    score = np.round(np.mean(np.vstack(list(parts.values())), axis=0), 3)
    score[rng.random(n) < 0.08] = np.nan
    sites["land_owned_ha"] = owned
    sites["land_unused_ha"] = unused
    sites["land_unused_share"] = share
    sites["estimated_value_gbp"] = unused * TEST_GBP_PER_HA
    sites["valuation_method"] = "test_flat_rate"
    sites["valuation_source"] = "Test fixture rate, not a published figure"
    sites["disposal_score"] = score
    for k, v in parts.items():
        sites[f"score_{k}"] = v
    sites["backlog_total_gbp"] = np.round(rng.uniform(0, 5e6, n), 0)
    sites["pfi"] = rng.random(n) < 0.2
    flags = np.where(rng.random(n) < 0.3, "coordinates from 2018 NHS Choices;trust renamed", "")
    sites["quality_flags"] = flags
    sites.loc[sites["site_code"] == XSS_CODE, "quality_flags"] = "<i>flag</i>;a & b"
    sites.loc[sites["site_code"] == XSS_CODE, "disposal_score"] = 0.99

    ranked = sites["in_london"] & sites["disposal_score"].notna()
    rank = sites.loc[ranked, "disposal_score"].rank(ascending=False, method="first")
    sites["disposal_rank"] = pd.array([pd.NA] * n, dtype="Int64")
    sites.loc[ranked, "disposal_rank"] = rank.astype("int64").to_numpy()
    sites["disposal_rank"] = sites["disposal_rank"].astype("Int64")

    boroughs = aggregate_boroughs(boroughs, site_tallies(sites), target_gbp=TARGET_GBP)

    context = pd.concat(
        [
            pd.DataFrame({"context_code": f["OrganisationCode"],
                          "context_name": f["OrganisationName"],
                          "context_kind": kind, "lon": f["lon"], "lat": f["lat"]})
            for f, kind in ((hospitals_2018, "hospital_2018"), (hospitals_2014, "hospital_2014"),
                            (clinics_2014, "clinic_2014"))
        ],
        ignore_index=True,
    )  # fmt: skip
    context = gpd.GeoDataFrame(
        context.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(context["lon"], context["lat"]),
        crs="EPSG:4326",
    )
    summary = make_summary(sites, boroughs)
    return sites, boroughs, context, summary


def make_summary(sites: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return a summary.json-like dict computed from the fixture frames."""
    target = TARGET_GBP
    groups = pd.read_csv(groupings_path(), dtype=str)
    london = sites[sites["in_london"] & sites.geometry.notna()]

    def block(frame: pd.DataFrame) -> dict[str, float]:
        value = float(frame["estimated_value_gbp"].sum())
        return {
            "land_owned_ha": float(frame["land_owned_ha"].sum()),
            "land_unused_ha": float(frame["land_unused_ha"].sum()),
            "estimated_value_gbp": value,
            "share_of_target": value / target,
        }

    pilots: dict[str, Any] = {}
    subregions: dict[str, Any] = {}
    for (gtype, gid, gname), members in groups.groupby(
        ["group_type", "group_id", "group_name"], sort=False
    ):
        codes = sorted(members["borough_code"])
        if gtype == "pilot":
            in_group = london[london["pilots"].str.split(";").apply(lambda ps, g=gid: g in ps)]
            pilots[gid] = {
                "name": gname,
                "borough_codes": codes,
                **block(in_group),
                "sites": len(in_group),
            }
        else:
            in_group = london[london["subregion"] == gid]
            subregions[gid] = {"name": gname, "borough_codes": codes, **block(in_group)}
    ranked = london[london["disposal_rank"].notna()].sort_values("disposal_rank")
    cum_value = ranked["estimated_value_gbp"].fillna(0).cumsum()
    cum_ha = ranked["land_unused_ha"].fillna(0).cumsum()
    cumulative = [
        {
            "rank": int(r.disposal_rank),
            "site_code": r.site_code,
            "site_name": r.site_name,
            "estimated_value_gbp": None
            if pd.isna(r.estimated_value_gbp)
            else float(r.estimated_value_gbp),
            "cumulative_value_gbp": float(cv),
            "cumulative_share_of_target": float(cv) / target,
            "cumulative_land_unused_ha": float(ch),
        }
        for r, cv, ch in zip(ranked.itertuples(), cum_value, cum_ha, strict=True)
    ]
    return {
        "target_gbp": target,
        "target_source": "Test fixture: £11bn stands in for the target named in the brief",
        "valuation": {
            "method": "test_flat_rate",
            "gbp_per_ha": TEST_GBP_PER_HA,
            "label": "test flat rate (fixture, not a published figure)",
            "sources": ["Test fixture <not a source>"],
        },
        "london": {**block(london), "sites_located": len(london)},
        "pilots": pilots,
        "subregions": subregions,
        "pipeline": {"cumulative": cumulative},
        "sources": [
            {
                "name": "ONS borough boundaries",
                "attribution": "Source: Office for National Statistics, licensed under the "
                "Open Government Licence v3.0. Contains OS data © Crown copyright and "
                "database right 2020.",
                "licence": "OGL v3.0",
            },
            {
                "name": "NHS Choices hospitals & clinics",
                "attribution": "Contains public sector information from NHS Choices licensed "
                "under the Open Government Licence.",
                "licence": "OGL",
            },
        ],
    }


def located_codes(sites: gpd.GeoDataFrame, pilot: str | None = None) -> list[str]:
    """Site codes drawn on the London map, or on one pilot's map."""
    drawn = sites[sites["in_london"].astype(bool) & sites.geometry.notna()]
    if pilot is not None:
        drawn = drawn[drawn["pilots"].str.split(";").apply(lambda ps: pilot in ps)]
    return sorted(drawn["site_code"])


# --------------------------------------------------------------------------- #
# Chromium
# --------------------------------------------------------------------------- #


def chromium_path() -> str | None:
    """Chromium from ``ESTATES_CHROMIUM``, else the one on PATH."""
    return (
        os.environ.get("ESTATES_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


@contextmanager
def launch() -> Iterator[Any]:
    """Yield a headless Chromium (playwright sync API)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        kwargs: dict[str, Any] = {"headless": True, "args": CHROMIUM_ARGS}
        if path:
            kwargs["executable_path"] = path
        browser = p.chromium.launch(**kwargs)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page did that a test may need to fail on."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def open_map(
    browser: Any, path: Path, *, width: int = 1280, height: int = 860, pixel_ratio: float = 1
) -> tuple[Any, Watch]:
    """Open a written map via file://, with every non-file, non-data request aborted.

    ``pixel_ratio`` is the screen's device pixels per CSS pixel. Waits until
    the page's script says it is ready (all layers added).
    """
    page = browser.new_page(
        viewport={"width": width, "height": height}, device_scale_factor=pixel_ratio
    )
    watch = Watch()

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            watch.blocked.append(url)
            r.abort()

    def on_dialog(d: Any) -> None:
        watch.dialogs.append(d.message)
        d.dismiss()

    page.route("**/*", route)
    page.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    page.on("dialog", on_dialog)
    page.goto(path.resolve().as_uri())
    if "index.html" not in path.name:
        page.wait_for_function(
            "() => window.estates && window.estates.ready === true", timeout=30_000
        )
    return page, watch
