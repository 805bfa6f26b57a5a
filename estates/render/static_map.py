"""Pictures of the London map, for reports and e-mail bodies (matplotlib, Agg).

:func:`render_static_map` draws the same borough choropleth, outlines and
sites as ``london.html``, with the same classes and colours
(:mod:`estates.style`), in British National Grid (EPSG:27700), and writes a
PNG. :func:`render_static_maps` draws several such pictures of the same
boroughs and outlines (London's and one per pilot, as a build does): it
reprojects the shared frames and builds their shapes once, and draws on one
:class:`~estates.render.picture_canvas.PictureSeries`, which rasterises each
line of text once for all the pictures. Both use matplotlib's Agg renderer
directly, so they neither need nor change a display or the global backend,
and the same inputs give the same bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estates import style
from estates.console import terminal_text
from estates.crs import BNG, WGS84, require_crs
from estates.errors import ConfigError, DataValidationError
from estates.render.columns import PICTURE_COLUMNS
from estates.render.picture_frame import FIGSIZE, MAP_TOP, blank_map, scale_bar, zoom_to

if TYPE_CHECKING:
    import geopandas as gpd

    from estates.render.picture_canvas import PictureSeries

__all__ = ["MapPicture", "PictureJob", "render_static_map", "render_static_maps"]

_COLUMNS = {
    "land_unused_ha": ("Unused NHS land (ha)", style.UNUSED_PALETTE, style.format_ha),
    "estimated_value_gbp": (
        "Value of unused land (£), midpoint at 2017 policy-appraisal values",
        style.VALUE_PALETTE,
        style.format_gbp,
    ),
}
# Marker area in points² for a radius in screen pixels (1 px = 0.75 pt at
# 96 dpi), scaled down a little because the picture is smaller than a screen.
_PX_TO_PT = 0.75 * 0.85

#: One 7.5 pt footer line as a share of the figure's height (line spacing 1.2).
_FOOTER_LINE = 7.5 * 1.2 / (FIGSIZE[1] * 72)
#: The texts' margin left and right, as a share of the figure's width.
_MARGIN = 0.015


def _drawable(text: object) -> str:
    r"""Return ``text`` as matplotlib draws it literally: no control codes, no mathtext.

    Names come from users' files: a control character has no glyph (and
    matplotlib warns), and a pair of ``$`` would be typeset as mathematics or
    fail to parse. Control characters are shown as their escapes, as the
    terminal shows them, and each ``$`` is escaped.

    Examples
    --------
    >>> _drawable("NCL\x1b[2J $5m$")
    'NCL\\x1b[2J \\$5m\\$'
    """
    return terminal_text(str(text)).replace("$", r"\$")


@dataclass(frozen=True, eq=False)
class MapPicture:
    """What one picture of :func:`render_static_maps` draws on its own.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Site records in EPSG:4326, as :func:`render_static_map` takes them.
    out_path : pathlib.Path
        The PNG to write; its folder must exist.
    title : str
        Heading of the picture.
    lines : sequence of str, optional
        The headline (printed under the title) and the sentences printed
        under the map, before the credit.
    focus_codes : sequence of str, optional
        The ``borough_code`` of the boroughs the picture is about (a pilot's);
        empty for all of London.
    focus_pilot : str
        The ``group_id`` of the pilot whose outline is drawn last and thicker.
    """

    sites: gpd.GeoDataFrame
    out_path: Path
    title: str = "Unused NHS land in London"
    lines: Sequence[str] = ()
    focus_codes: Sequence[str] = ()
    focus_pilot: str = ""


@dataclass(frozen=True)
class PictureJob:
    """The arguments of one :func:`render_static_maps` call, to draw here or in another process."""

    pictures: tuple[MapPicture, ...]
    boroughs: gpd.GeoDataFrame
    pilot_outlines: gpd.GeoDataFrame | None = None
    subregion_outlines: gpd.GeoDataFrame | None = None
    attribution: str = ""

    def draw(self) -> list[Path]:
        """Draw the pictures; return their paths, in order."""
        return render_static_maps(
            self.pictures,
            self.boroughs,
            pilot_outlines=self.pilot_outlines,
            subregion_outlines=self.subregion_outlines,
            attribution=self.attribution,
        )


def render_static_map(
    sites: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    out_path: Path,
    *,
    column: str = "land_unused_ha",
    pilot_outlines: gpd.GeoDataFrame | None = None,
    subregion_outlines: gpd.GeoDataFrame | None = None,
    title: str = "Unused NHS land in London",
    attribution: str = "",
    lines: Sequence[str] = (),
    dpi: int = 150,
    focus_codes: Sequence[str] = (),
    focus_pilot: str = "",
) -> Path:
    """Draw boroughs shaded by ``column`` and the sites, and write a PNG.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Site records in EPSG:4326 with ``land_unused_ha``, ``disposal_score``
        and ``in_london``; rows with no geometry or outside London are left
        out. Markers are sized by unused hectares and coloured by score.
        Left unchanged.
    boroughs : geopandas.GeoDataFrame
        Borough polygons in EPSG:4326 with ``column``. Left unchanged.
    out_path : pathlib.Path
        The PNG to write; its folder must exist.
    column : {"land_unused_ha", "estimated_value_gbp"}
        What shades the boroughs: hectares or pounds.
    pilot_outlines, subregion_outlines : geopandas.GeoDataFrame, optional
        Polygons in EPSG:4326 drawn as outlines: each pilot (``group_id``,
        ``group_name``) solid in its own colour (:func:`estates.style.pilot_colours`)
        and named in the legend; sub-regions dashed grey.
    title : str
        Heading of the picture.
    attribution : str
        Data credit printed under the map.
    lines : sequence of str, optional
        The headline (the first, printed under the title) and the sentences
        every page states (printed under the map, before the credit): the
        values' caveat and source, the data year and build date, the
        reconciliation.
    dpi : int, default 150
        Resolution; the picture is 12 x 8.4 inches.
    focus_codes : sequence of str, optional
        The ``borough_code`` of the boroughs a pilot's picture is about: the
        map is zoomed to them, their names are written on them, the classes
        are computed over them alone and the other boroughs are greyed.
        Empty (the default) draws all of London.
    focus_pilot : str
        The ``group_id`` of the pilot the picture is about: its outline is
        drawn last and thicker, so a neighbour's shared edge does not hide it.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    ConfigError
        If ``column`` is not one of the allowed values.
    CRSError
        If a frame is not in EPSG:4326.
    DataValidationError
        If a needed column is missing, or ``focus_codes`` names no borough.

    See Also
    --------
    render_static_maps : several pictures of the same boroughs, faster than one call each.

    Examples
    --------
    >>> render_static_map(None, None, Path("x.png"), column="area")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: column 'area' is not allowed; choose one of: land_unused_ha, ...
    """
    picture = MapPicture(
        sites,
        Path(out_path),
        title=title,
        lines=tuple(lines),
        focus_codes=tuple(focus_codes),
        focus_pilot=focus_pilot,
    )
    return render_static_maps(
        [picture],
        boroughs,
        column=column,
        pilot_outlines=pilot_outlines,
        subregion_outlines=subregion_outlines,
        attribution=attribution,
        dpi=dpi,
    )[0]


def render_static_maps(
    pictures: Sequence[MapPicture],
    boroughs: gpd.GeoDataFrame,
    *,
    column: str = "land_unused_ha",
    pilot_outlines: gpd.GeoDataFrame | None = None,
    subregion_outlines: gpd.GeoDataFrame | None = None,
    attribution: str = "",
    dpi: int = 150,
) -> list[Path]:
    """Draw several pictures of the same boroughs and outlines, each as :func:`render_static_map`.

    Each picture is byte for byte what :func:`render_static_map` writes for
    the same arguments. The boroughs and outlines are reprojected and turned
    into shapes once, and a line of text drawn in one picture (the footer,
    the legend) is rasterised once for all of them, so six pictures take about
    half the time of six calls.

    Parameters
    ----------
    pictures : sequence of MapPicture
        What each picture draws on its own: sites, file, title, lines, focus.
    boroughs, column, pilot_outlines, subregion_outlines, attribution, dpi
        As for :func:`render_static_map`, shared by every picture. Left unchanged.

    Returns
    -------
    list of pathlib.Path
        Each picture's ``out_path``, in order.

    Raises
    ------
    ConfigError
        If ``column`` is not one of the allowed values.
    CRSError
        If a frame is not in EPSG:4326.
    DataValidationError
        If a needed column is missing, or a picture's ``focus_codes`` names no
        borough. Nothing is written then.

    Examples
    --------
    >>> render_static_maps([], None, column="area")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: column 'area' is not allowed; choose one of: land_unused_ha, ...
    """
    if column not in _COLUMNS:
        msg = f"column {column!r} is not allowed; choose one of: {', '.join(_COLUMNS)}"
        raise ConfigError(msg)
    for picture in pictures:
        require_crs(picture.sites, WGS84, stage="render_static_map (sites)")
    require_crs(boroughs, WGS84, stage="render_static_map (boroughs)")
    for frame, what, needed in (
        *((p.sites, "sites", PICTURE_COLUMNS) for p in pictures),
        (boroughs, "boroughs", (column,)),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            msg = f"{what} is missing column(s) {', '.join(missing)} for the static map"
            raise DataValidationError(msg)
    if subregion_outlines is not None and len(subregion_outlines):
        require_crs(subregion_outlines, WGS84, stage="render_static_map (sub-regions)")
    if pilot_outlines is not None and len(pilot_outlines):
        require_crs(pilot_outlines, WGS84, stage="render_static_map (pilots)")

    layers = _MapLayers.build(boroughs, column, pilot_outlines, subregion_outlines)
    focus = [layers.inside(p.focus_codes) for p in pictures]

    from estates.render.picture_canvas import PictureSeries

    # Leaving the block finishes the last PNG written on the series' thread.
    with PictureSeries() as series:
        return [
            _draw_picture(
                series,
                layers,
                picture,
                inside=inside,
                column=column,
                attribution=_drawable(attribution),
                dpi=dpi,
            )
            for picture, inside in zip(pictures, focus, strict=True)
        ]


@dataclass(frozen=True, eq=False)
class _MapLayers:
    """What every picture of one call shares, in EPSG:27700: shapes, outlines, names."""

    shapes: gpd.GeoDataFrame
    values: pd.Series
    paths: list[Any]  # one matplotlib Path per drawn borough (part), in row order
    path_rows: np.ndarray  # the row of ``shapes`` each path draws
    label_points: list[tuple[str, float, float]] | None  # (name, x, y) per row, or None
    subregion_segments: list[np.ndarray]
    pilot_lines: list[tuple[str, str, str, list[float], list[float]]]  # id, name, colour, x, y
    pilot_segments: list[np.ndarray]  # outlines without group_id, drawn alike

    @classmethod
    def build(
        cls,
        boroughs: gpd.GeoDataFrame,
        column: str,
        pilot_outlines: gpd.GeoDataFrame | None,
        subregion_outlines: gpd.GeoDataFrame | None,
    ) -> _MapLayers:
        """Reproject the shared frames to EPSG:27700 once and build their shapes."""
        shapes = boroughs.to_crs(BNG)
        paths, rows = _polygon_paths(shapes.geometry)
        label_points = None
        if "borough_name" in shapes.columns:
            label_points = []
            for name, geom in zip(shapes["borough_name"], shapes.geometry, strict=True):
                if geom is None or geom.is_empty:
                    label_points.append(("", float("nan"), float("nan")))
                    continue
                at = geom.representative_point()
                label_points.append((_drawable(name), float(at.x), float(at.y)))
        subregions: list[np.ndarray] = []
        if subregion_outlines is not None and len(subregion_outlines):
            subregions = _line_segments(subregion_outlines.to_crs(BNG).boundary)
        pilot_lines: list[tuple[str, str, str, list[float], list[float]]] = []
        pilot_segments: list[np.ndarray] = []
        if pilot_outlines is not None and len(pilot_outlines):
            outlines = pilot_outlines.to_crs(BNG)
            if "group_id" in pilot_outlines:
                ids = [str(g) for g in pilot_outlines["group_id"]]
                colours = style.pilot_colours(ids)
                named = pilot_outlines.get("group_name", pd.Series(ids, index=pilot_outlines.index))
                for gid, name, edge in zip(ids, named.astype(str), outlines.boundary, strict=True):
                    pilot_lines.append((gid, _drawable(name), colours[gid], *_line_xy(edge)))
            else:
                pilot_segments = _line_segments(outlines.boundary)
        return cls(
            shapes=shapes,
            values=pd.to_numeric(shapes[column], errors="coerce"),
            paths=paths,
            path_rows=rows,
            label_points=label_points,
            subregion_segments=subregions,
            pilot_lines=pilot_lines,
            pilot_segments=pilot_segments,
        )

    def inside(self, focus_codes: Sequence[str]) -> np.ndarray:
        """Return which boroughs a picture focused on ``focus_codes`` is about (all if empty)."""
        if not focus_codes:
            return np.ones(len(self.shapes), dtype=bool)
        if "borough_code" not in self.shapes.columns:
            msg = "boroughs is missing column borough_code, which focus_codes refers to"
            raise DataValidationError(msg)
        listed = self.shapes["borough_code"].astype("string").isin([str(c) for c in focus_codes])
        inside: np.ndarray = listed.fillna(False).to_numpy(dtype=bool)
        if not inside.any():
            msg = f"focus_codes {', '.join(map(str, focus_codes))} name no borough of boroughs"
            raise DataValidationError(msg)
        return inside


def _draw_picture(
    series: PictureSeries,
    layers: _MapLayers,
    picture: MapPicture,
    *,
    inside: np.ndarray,
    column: str,
    attribution: str,
    dpi: int,
) -> Path:
    """Draw one picture on ``series`` and write it to ``picture.out_path``."""
    from matplotlib.collections import LineCollection, PathCollection

    from estates.render.site_markers import SiteMarkers, score_colour_codes

    heading, palette, fmt = _COLUMNS[column]
    focus_codes = picture.focus_codes
    classes = style.classify(layers.values[inside], palette)
    fills = [style.OUTSIDE_COLOUR] * len(layers.shapes)
    for pos, cls in zip(np.flatnonzero(inside).tolist(), classes.index, strict=True):
        fills[pos] = classes.colour_of(cls)

    sites = picture.sites
    keep = sites.geometry.notna() & ~sites.geometry.is_empty
    keep &= sites["in_london"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    kept = keep.to_numpy(dtype=bool)
    points = sites.geometry[kept].to_crs(BNG)
    unused = pd.to_numeric(sites["land_unused_ha"][kept], errors="coerce").to_numpy(dtype=float)
    score = pd.to_numeric(sites["disposal_score"][kept], errors="coerce").to_numpy(dtype=float)
    radius = style.site_radii_px(unused)
    # The larger circles beneath, and of one size the higher scores on top.
    order = np.lexsort((np.nan_to_num(score, nan=-1.0), -radius))

    fig, ax = blank_map(series, dpi)
    if layers.paths:
        ax.add_collection(
            PathCollection(
                layers.paths,
                facecolor=[fills[row] for row in layers.path_rows.tolist()],
                edgecolor="white",
                linewidth=0.6,
            )
        )
        ax.autoscale_view()
    if focus_codes:
        zoom_to(ax, layers.shapes[inside])
    if layers.subregion_segments:
        ax.add_collection(
            LineCollection(
                layers.subregion_segments,
                color=style.SUBREGION_COLOUR,
                linewidth=1.1,
                linestyle=(0, (5, 4)),
            )
        )
        ax.autoscale_view()
    pilot_lines: list[tuple[str, str]] = []  # (colour, name) per pilot outline
    for gid, name, colour, xs, ys in layers.pilot_lines:
        own = gid == picture.focus_pilot
        ax.plot(xs, ys, color=colour, linewidth=3.0 if own else 2.0, zorder=3.5 if own else 3)
        pilot_lines.append((colour, name))
    if layers.pilot_segments:
        ax.add_collection(
            LineCollection(layers.pilot_segments, color=style.PILOT_COLOUR, linewidth=2.0)
        )
        ax.autoscale_view()
        pilot_lines.append((style.PILOT_COLOUR, "Devolution pilot"))
    if focus_codes and layers.label_points is not None:
        for row in np.flatnonzero(inside).tolist():
            name, x, y = layers.label_points[row]
            if np.isnan(x):
                continue
            ax.text(
                x,
                y,
                name,
                ha="center",
                va="center",
                fontsize=10,
                color="#1f2933",
                zorder=6,
                path_effects=[_halo()],
            )
    if len(points):
        ax.add_artist(
            SiteMarkers(
                points.x.to_numpy()[order],
                points.y.to_numpy()[order],
                2 * radius[order] * _PX_TO_PT,
                score_colour_codes(score[order]),
                (*style.SCORE_PALETTE, style.UNSCORED_COLOUR),
                edgecolor="#1f2933",
                linewidth=0.5,
                alpha=0.92,
                zorder=5,
            )
        )
    width_km = (ax.get_xlim()[1] - ax.get_xlim()[0]) / 1000
    scale_bar(ax, km=10 if width_km > 60 else 5 if width_km > 20 else 2)

    lines = [_drawable(line) for line in picture.lines]
    subtitle = (
        f"Boroughs shaded by {heading[0].lower()}{heading[1:]}, classes over the pilot's "
        + (f"{int(inside.sum())} boroughs" if inside.sum() > 1 else "borough")
        + " (others grey); sites sized by unused land, coloured by disposal score."
        if focus_codes
        else f"Boroughs shaded by {heading[0].lower()}{heading[1:]}; "
        "sites sized by unused land and coloured by disposal score."
    )
    top = _write_header(
        fig,
        [
            (_drawable(picture.title), 17, "bold", "#1f2933", 0.955),
            (subtitle, 10.5, "normal", "#52606d", 0.925),
            *([(lines[0], 10, "bold", "#1f2933", 0.897)] if lines else []),
        ],
    )
    bottom = 0.12
    footer = [w for text in (*lines[1:], attribution) if text for w in textwrap.wrap(text, 190)]
    if footer:
        fig.text(_MARGIN, 0.012, "\n".join(footer), fontsize=7.5, color="#616e7c", va="bottom")
        # The map stands above the footer, however many lines the sources take.
        bottom = max(0.12, 0.03 + len(footer) * _FOOTER_LINE)
    if (bottom, top) != (0.12, MAP_TOP):  # the map between the header and the footer
        ax.set_position((0.0, bottom, 0.75, top - bottom))

    _add_legends(
        series,
        fig,
        heading=heading,
        classes=[
            *zip(classes.colours, classes.labels(fmt), strict=True),
            *([(style.NO_DATA_COLOUR, "No data")] if any(i < 0 for i in classes.index) else []),
            *([(style.OUTSIDE_COLOUR, "Outside the pilot")] if focus_codes else []),
        ],
        pilot_lines=pilot_lines,
        top=top,
    )
    return series.queue_png(fig, Path(picture.out_path))


#: The legends' style, as ``Figure.legend`` takes it.
_LEGEND_STYLE: dict[str, Any] = {
    "loc": "upper left",
    "frameon": False,
    "fontsize": 9.5,
    "handlelength": 1.8,
    "labelspacing": 0.45,
}


def _add_legends(
    series: PictureSeries,
    fig: Any,
    *,
    heading: str,
    classes: list[tuple[str, str]],
    pilot_lines: list[tuple[str, str]],
    top: float,
) -> None:
    """Add the legend right of the map, from ``top`` down: its classes, then the shared rows.

    The shared rows (disposal scores, marker sizes, the pilots, sub-regions)
    are a second legend set one row spacing under the first, where one legend
    would set them (to the nearest whole pixel); ``series`` rasterises it once,
    anchored at the top of the figure, and every picture moves those pixels
    into place. Headings (rows with no symbol) are bold.
    """
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    own = [Patch(color="none", label=heading)]
    own += [Patch(facecolor=c, edgecolor="#9aa5b1", label=label) for c, label in classes]
    first = fig.legend(handles=own, bbox_to_anchor=(0.75, top), **_LEGEND_STYLE)
    _bold_headings(first, own)
    # The first legend's last row ends its padding above the legend's bottom; the next row
    # starts a row spacing lower, which is the second legend's padding and its distance from
    # its anchor below that anchor.
    em = _LEGEND_STYLE["fontsize"] * fig.dpi / 72
    box = first.get_window_extent(fig.canvas.get_renderer())
    gap = first.borderpad - first.labelspacing + first.borderpad + first.borderaxespad
    shift = round(box.y0 + gap * em - fig.bbox.height)  # from the figure's top, in pixels

    def shared_rows() -> Any:
        handles: list[Any] = [Patch(color="none", label=" ")]
        handles.append(Patch(color="none", label="Site disposal score (0–1)"))
        lows = (0.0, *style.SCORE_BINS[:-1])
        for lo, hi, c in zip(lows, style.SCORE_BINS, style.SCORE_PALETTE, strict=True):
            handles.append(_dot(Line2D, c, 8, f"{lo:.1f} – {hi:.1f}"))
        handles.append(_dot(Line2D, style.UNSCORED_COLOUR, 8, "Not scored"))
        handles.append(Patch(color="none", label=" "))
        handles.append(Patch(color="none", label="Marker size: unused land"))
        for ha in (0.5, 2.0, 10.0):
            size = 2 * style.site_radius_px(ha) * _PX_TO_PT
            handles.append(_dot(Line2D, "white", size, style.format_ha(ha)))
        handles.append(Patch(color="none", label=" "))
        if pilot_lines:
            handles.append(Patch(color="none", label="Devolution pilots"))
        for colour, name in pilot_lines:
            label = "\n".join(textwrap.wrap(name, 34)) or name
            handles.append(Line2D([], [], color=colour, linewidth=2, label=label))
        handles.append(
            Line2D(
                [],
                [],
                color=style.SUBREGION_COLOUR,
                linewidth=1.1,
                linestyle=(0, (5, 4)),
                label="Sub-region",
            )
        )
        legend = Legend(
            fig,
            handles,
            [h.get_label() for h in handles],
            bbox_to_anchor=(0.75, 1.0),
            **_LEGEND_STYLE,
        )
        _bold_headings(legend, handles)
        return legend

    fig.add_artist(series.stamp(("legend", tuple(pilot_lines)), shared_rows, shift=(0, shift)))


def _write_header(fig: Any, parts: list[tuple[str, float, str, str, float]]) -> float:
    """Write the header's parts from the top, wrapped to the figure's width; return the map's top.

    Each part is ``(text, size in points, weight, colour, baseline)``, the baseline (a
    share of the figure's height) that of its first line when the parts above it take one
    line each. A part too wide for one line (a long pilot name, a headline of large
    figures) takes as many as it needs, measured as they will be drawn, and all under it
    moves down as far: the parts below, the map and the legend.
    """
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width * (1 - 2 * _MARGIN)
    drop = 0.0  # how far the lines so far pushed down what follows, as a share of the height
    for text, size, weight, colour, baseline in parts:
        prop = FontProperties(size=size, weight=weight)
        for number, line in enumerate(_wrap_to_width(renderer, text, prop, width)):
            if number:
                drop += size * 1.2 / (fig.get_figheight() * 72)
            fig.text(_MARGIN, baseline - drop, line, fontsize=size, fontweight=weight, color=colour)
    return MAP_TOP - drop


def _wrap_to_width(renderer: Any, text: str, prop: Any, width: float) -> list[str]:
    """Return ``text`` broken between words into lines at most ``width`` pixels wide, if it can be.

    A word wider than ``width`` by itself takes a line of its own.
    """

    def fits(line: str) -> bool:
        shown = line.replace("\\$", "$")  # as matplotlib draws _drawable's escaped dollars
        return bool(renderer.get_text_width_height_descent(shown, prop, ismath=False)[0] <= width)

    if fits(text):
        return [text]
    words, lines = text.split(" "), []
    while words:
        # The most words that fit, found by halving (a line's width grows with its words);
        # at least one.
        low, high = 1, len(words)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(" ".join(words[:middle])):
                low = middle
            else:
                high = middle - 1
        lines.append(" ".join(words[:low]))
        words = words[low:]
    return lines


def _bold_headings(legend: Any, handles: list[Any]) -> None:
    """Set in bold the labels of rows with no symbol (an invisible patch) and some text."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    for text, handle in zip(legend.get_texts(), handles, strict=True):
        if (
            isinstance(handle, Patch)
            and to_rgba(handle.get_facecolor())[3] == 0
            and text.get_text().strip()
        ):
            text.set_fontweight("bold")


def _polygon_paths(geoms: gpd.GeoSeries) -> tuple[list[Any], np.ndarray]:
    """Return one matplotlib Path per polygonal geometry (or collection member) and its row.

    The paths are those ``GeoSeries.plot`` draws: rings of the normalised
    geometry (exteriors clockwise, holes anticlockwise, so the non-zero fill
    leaves holes open), one compound path per polygon or multipolygon. Missing,
    empty and non-polygonal geometries draw nothing.
    """
    from matplotlib.path import Path as MplPath

    paths: list[Any] = []
    rows: list[int] = []
    for row, geom in enumerate(geoms.normalize()):
        if geom is None or geom.is_empty:
            continue
        members = geom.geoms if geom.geom_type == "GeometryCollection" else [geom]
        for member in members:
            if member.is_empty or member.geom_type not in ("Polygon", "MultiPolygon"):
                continue
            rings = [
                MplPath(np.asarray(ring.coords)[:, :2], closed=True)
                for part in getattr(member, "geoms", [member])
                for ring in (part.exterior, *part.interiors)
            ]
            paths.append(MplPath.make_compound_path(*rings))
            rows.append(row)
    return paths, np.array(rows, dtype=np.intp)


def _line_segments(edges: gpd.GeoSeries) -> list[np.ndarray]:
    """Return the (n, 2) vertices of each line part of ``edges``, as ``GeoSeries.plot`` draws them.

    Lines are normalised first (which fixes where a ring starts, and so the
    phase of its dashes), then split into their parts.
    """
    import shapely

    lines = edges.normalize()
    lines = lines[lines.notna() & ~lines.is_empty]
    lines = lines[lines.geom_type.isin(["LineString", "MultiLineString", "LinearRing"])]
    return [np.array(part.coords)[:, :2] for part in shapely.get_parts(lines.to_numpy())]


def _line_xy(edge: Any) -> tuple[list[float], list[float]]:
    """Return the x and y of a (multi)line, parts separated by NaN, for one ``plot`` call."""
    xs: list[float] = []
    ys: list[float] = []
    for part in getattr(edge, "geoms", [edge]):
        x, y = part.xy
        xs += [*x, float("nan")]
        ys += [*y, float("nan")]
    return xs, ys


def _halo() -> Any:
    """Return a white halo for text drawn over the map, so names stay readable on any fill."""
    from matplotlib import patheffects

    return patheffects.withStroke(linewidth=2.5, foreground="white")


def _dot(line_cls: Any, colour: str, size: float, label: str) -> Any:
    return line_cls(
        [],
        [],
        marker="o",
        linestyle="none",
        markersize=size,
        markerfacecolor=colour,
        markeredgecolor="#1f2933",
        markeredgewidth=0.6,
        label=label,
    )
