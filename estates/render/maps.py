r"""Offline, self-contained HTML maps of the NHS estate in London (Leaflet).

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
``<pilot_id>.png``
    One picture per pilot page, beside it: zoomed to the pilot's boroughs,
    classed over them, the other boroughs grey, with the pilot's headline.

Every page opens with no network: Leaflet comes inline from the installed
``xstatic-leaflet`` package (:mod:`estates.render.assets`), and a
Content-Security-Policy forbids any other load. No tile layer is drawn unless
``tiles`` is given: the boroughs are the base map.

How sites are drawn
-------------------
Sites are always one Leaflet layer built in the browser from one compact JSON
payload (a row per site, repeated texts stored once), never one object written
per site. That single code path builds a 50,000-site map in well under two
seconds. Popups and tooltips are made on demand from the row, from text that
was HTML-escaped in Python. ``site_layer_threshold`` picks the renderer: up to
that many sites the map draws SVG (crisp, one ``<path>`` per shape, each site
a button in the tab order); above it, one canvas, on which the page's script
draws every site itself from typed arrays, with no Leaflet object per site,
so tens of thousands of markers open in well under a second. A page with
more than ``max_sites`` (:data:`MAX_MAP_SITES`) draws its best-ranked sites
and says so, so a national-scale table still gives pages that open.

Safety and reproducibility
--------------------------
Every text from the data is escaped with :func:`html.escape` before it reaches
a popup, tooltip, legend, list or the search, and the JSON payload is embedded
with ``<``, ``>`` and ``&`` written as ``\u003c``..., so a site named
``<img src=x onerror=alert(1)>`` shows as text. The pages are written as
plain text, with no template engine (:mod:`estates.render.leaflet_map`), and
rows are sorted, so the same inputs give the same bytes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estates.crs import WGS84, require_crs
from estates.errors import ConfigError, DataValidationError
from estates.render.columns import (
    BOROUGH_COLUMNS,
    CONTEXT_COLUMNS,
    SITE_COLUMNS,
    require_columns,
    split_list,
    text_values,
)
from estates.render.index_page import render_index
from estates.render.leaflet_map import tile_layer
from estates.render.page import View, attribution, bounds, build_map, plain_attribution
from estates.render.payload import (
    SitePayload,
    best_prepared,
    names_from_summary,
    prepare_boroughs,
    prepare_context,
    prepare_sites,
    subset_sites,
    summary_part,
)
from estates.render.selection import (
    FIRST_PILOT,
    MAX_MAP_SITES,
    page_sites,
    pilot_order,
)
from estates.render.sources import sources_html
from estates.render.static_map import MapPicture, PictureJob
from estates.report.headline import london_line, pilot_line
from estates.report.statements import (
    build_date_line,
    data_year_line,
    reconciliation_line,
    valuation_source_line,
)
from estates.style import CONTEXT_KINDS

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "BOROUGH_COLUMNS",
    "CONTEXT_COLUMNS",
    "CONTEXT_KINDS",
    "FIRST_PILOT",
    "MAX_MAP_SITES",
    "SITE_COLUMNS",
    "MapSet",
    "page_sites",
    "prepare_maps",
    "render_maps",
]

logger = logging.getLogger(__name__)


def _page_facts(summary: Mapping[str, Any], build_date: str) -> tuple[str, ...]:
    """Return the sentences every page states: values' caveat and source, year, reconciliation."""
    return (
        valuation_source_line(summary),
        f"{data_year_line(summary)} {build_date_line(build_date)}",
        reconciliation_line(summary),
    )


def today_utc() -> str:
    """Return today's date in UTC, ISO ``YYYY-MM-DD``: the build date every page states."""
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class _Page:
    """One map page to write: its file, its view, the sites it draws (a mask), its totals key."""

    path: Path
    view: View
    drawn: np.ndarray
    key: str


@dataclass(frozen=True)
class MapSet:
    """The pages and pictures of one :func:`render_maps` call, prepared by :func:`prepare_maps`.

    ``pictures`` draws the PNGs (here, or in another process: it pickles);
    :meth:`write_pages` writes the HTML pages; :meth:`report` logs what was
    written. Each page is drawn and written in turn: a page of 50,000 sites
    is megabytes of text, and holding every page until the last was drawn
    would add them all to the peak memory of a large build.

    ``summary`` is the mapping given to :func:`prepare_maps`, read again by
    :meth:`write_pages` for the index page: the build prepares the maps
    before it adds the other ERIC years' sections to it.
    """

    pictures: PictureJob
    out_dir: Path
    summary: Mapping[str, Any]
    facts: tuple[str, ...]
    sites: SitePayload
    pages: tuple[_Page, ...]
    draw_page: Callable[..., str]
    #: Boroughs, pilots and context records, for the log.
    counts: tuple[int, int, int]

    def write_pages(self) -> list[Path]:
        """Write the London page, each pilot's and the index; return their paths, index first."""
        pilot_files: list[tuple[str, str, Path]] = []
        for page in self.pages:
            drawn = subset_sites(self.sites, page.drawn)
            html = self.draw_page(page.view, drawn, total_sites=self.sites.totals[page.key])
            page.path.write_text(html, encoding="utf-8")
            if page.view.focus_pilot is not None:
                pilot_files.append((page.key, page.view.title, page.path))
        index_path = self.out_dir / "index.html"
        index_path.write_text(
            render_index(self.summary, pilot_files, has_png=True, facts=self.facts),
            encoding="utf-8",
        )
        return [index_path, *(page.path for page in self.pages)]

    def report(self, paths: list[Path]) -> list[Path]:
        """Log what was written (``paths``, the pages and the pictures) and return ``paths``."""
        boroughs, pilots, context = self.counts
        logger.info(
            "wrote %d maps to %s: %d sites drawn, %d boroughs, %d pilots, %d context records",
            len(paths),
            self.out_dir,
            int(self.pages[0].drawn.sum()),
            boroughs,
            pilots,
            context,
        )
        return paths


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
    build_date: str | None = None,
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
        A tile URL template, or a tile provider's name in the ``xyzservices``
        catalogue (such as "OpenStreetMap"), to draw under the boroughs,
        for online use. None (the default) draws no tiles: the maps then need
        no network at all.
    tiles_attribution : str or None
        Attribution for ``tiles``, as plain text; required with a URL
        template (a provider's name brings its own).
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
    build_date : str, optional
        The date (ISO ``YYYY-MM-DD``) every page states it was built; today in
        UTC (:func:`today_utc`) by default.

    Returns
    -------
    list of pathlib.Path
        ``index.html``, ``london.html``, ``<pilot_id>.html`` for each pilot in
        ``summary["pilots"]`` (``ncl_estates`` first), ``london.png`` and
        ``<pilot_id>.png`` for each pilot, in the same order.

    Raises
    ------
    CRSError
        If a frame is not in EPSG:4326.
    DataValidationError
        If a column is missing, a site geometry is not a Point, a context kind
        is unknown, a summary part has the wrong type or a pilot id cannot
        name a file.
    ConfigError
        If ``tiles`` is a URL without ``tiles_attribution`` or a name not in
        the catalogue (or needing an API key), or
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
    maps = prepare_maps(
        sites,
        boroughs,
        context,
        summary,
        out_dir,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        site_layer_threshold=site_layer_threshold,
        max_sites=max_sites,
        page_totals=page_totals,
        ranked_total=ranked_total,
        build_date=build_date,
    )
    pages = maps.write_pages()
    return maps.report([*pages, *maps.pictures.draw()])


def prepare_maps(
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
    build_date: str | None = None,
) -> MapSet:
    """Check the arguments of :func:`render_maps` and prepare what it draws; write nothing.

    Takes the same arguments and raises the same errors. The build calls it
    to hand the pictures (:attr:`MapSet.pictures`) to a second process before
    it writes the pages (:meth:`MapSet.write_pages`).
    """
    for frame, what in ((sites, "sites"), (boroughs, "boroughs"), (context, "context")):
        require_crs(frame, WGS84, stage=f"render_maps ({what})")
    if tiles is not None and not isinstance(tiles, str):
        msg = (
            f"tiles must be a URL template, a tile provider's name or None, "
            f"got {type(tiles).__name__}"
        )
        raise ConfigError(msg)
    tile = None if tiles is None else tile_layer(tiles, tiles_attribution)
    if site_layer_threshold < 0:
        msg = f"site_layer_threshold must be 0 or more, got {site_layer_threshold}"
        raise ConfigError(msg)
    if max_sites < 1:
        msg = f"max_sites must be 1 or more, got {max_sites}"
        raise ConfigError(msg)
    if not isinstance(summary, Mapping):
        msg = f"summary must be a mapping, got {type(summary).__name__}"
        raise DataValidationError(msg)

    require_columns(boroughs, BOROUGH_COLUMNS, "boroughs")
    require_columns(context, CONTEXT_COLUMNS, "context")
    names = names_from_summary(summary)
    prepared_boroughs = prepare_boroughs(boroughs, names)
    if prepared_boroughs.by_count:
        logger.warning(
            "no site carries land figures (land_owned_ha, land_unused_ha): boroughs are shaded "
            "by sites located; unused land, value and disposal ranks could not be computed"
        )
    pilots = summary_part(summary, "pilots", "")
    pilot_ids = pilot_order(pilots)
    prepared_sites = prepare_sites(sites, names, limit=max_sites, pilot_ids=pilot_ids)
    if page_totals is not None:  # ``sites`` holds only the pages' best (the chunked build)
        prepared_sites.totals.update(page_totals)
    prepared_context = prepare_context(context)
    if ranked_total is None:
        ranked_total = int(pd.to_numeric(sites["disposal_rank"], errors="coerce").notna().sum())
    credit = attribution(summary)
    facts = _page_facts(summary, build_date or today_utc())
    london_text = escape(london_line(summary))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    canvas = min(len(prepared_sites.codes), max_sites) > site_layer_threshold
    draw = functools.partial(
        build_map,
        boroughs=prepared_boroughs,
        context=prepared_context,
        ranked_total=ranked_total,
        attribution=credit,
        tiles=tile,
        canvas=canvas,
        names=names,
        sources=sources_html(summary, values_line=False),
    )

    london_view = View(
        map_id="london",
        title="Unused NHS land in London",
        subtitle=london_text,
        bounds=bounds(prepared_boroughs.frame),
        focus_pilot=None,
        with_list=False,
        facts=facts,
    )
    every = np.ones(len(prepared_sites.codes), dtype=bool)
    pages = [
        _Page(
            out_dir / "london.html",
            london_view,
            best_prepared(prepared_sites, every, max_sites),
            "london",
        )
    ]
    pictures = [
        MapPicture(
            prepared_sites.frame_of(pages[0].drawn),
            out_dir / "london.png",
            title="Unused NHS land in London",
            lines=(london_line(summary), *facts),
        )
    ]
    for pid in pilot_ids:
        block = summary_part(pilots, pid, "['pilots']")
        in_pilot = np.array([pid in p for p in prepared_sites.pilots], dtype=bool)
        members = [pid in split_list(v) for v in text_values(prepared_boroughs.frame, "pilots")]
        listed = {str(c) for c in block.get("borough_codes") or []}
        if listed:
            members = [
                m or c in listed for m, c in zip(members, prepared_boroughs.codes, strict=True)
            ]
        area = prepared_boroughs.frame[np.array(members, dtype=bool)]
        view = View(
            map_id=pid,
            title=names.pilot(pid),
            subtitle=f"{escape(pilot_line(summary, pid))}<br>{london_text}",
            bounds=bounds(area if len(area) else prepared_boroughs.frame),
            focus_pilot=pid,
            with_list=True,
            facts=facts,
            area_codes=tuple(c for c, m in zip(prepared_boroughs.codes, members, strict=True) if m),
            area_name=names.pilot(pid),
        )
        page = _Page(
            out_dir / f"{pid}.html", view, best_prepared(prepared_sites, in_pilot, max_sites), pid
        )
        pages.append(page)
        pictures.append(
            MapPicture(
                prepared_sites.frame_of(page.drawn),
                out_dir / f"{pid}.png",
                title=names.pilot(pid),
                lines=(pilot_line(summary, pid), london_line(summary), *facts),
                focus_codes=view.area_codes,
                focus_pilot=pid,
            )
        )
    return MapSet(
        pictures=PictureJob(
            tuple(pictures),
            prepared_boroughs.frame,
            pilot_outlines=prepared_boroughs.pilot_outlines,
            subregion_outlines=prepared_boroughs.subregion_outlines,
            attribution=plain_attribution(summary),
        ),
        out_dir=out_dir,
        summary=summary,
        facts=facts,
        sites=prepared_sites,
        pages=tuple(pages),
        draw_page=draw,
        counts=(
            len(prepared_boroughs.codes),
            len(pilot_ids),
            sum(len(v["rows"]) for v in prepared_context.values()),
        ),
    )
