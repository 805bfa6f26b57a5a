"""A picture of the London map, for reports and e-mail bodies (matplotlib, Agg).

:func:`render_static_map` draws the same borough choropleth, outlines and
sites as ``london.html``, with the same classes and colours
(:mod:`estates.style`), in British National Grid (EPSG:27700), and writes a
PNG. It uses matplotlib's Agg canvas directly, so it neither needs nor changes
a display or the global backend, and the same inputs give the same bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estates import style
from estates.console import terminal_text
from estates.crs import BNG, WGS84, require_crs
from estates.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["render_static_map"]

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


#: One 7.5 pt footer line as a share of the figure's 8.4 in height (line spacing 1.2).
_FOOTER_LINE = 7.5 * 1.2 / (8.4 * 72)


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

    Examples
    --------
    >>> render_static_map(None, None, Path("x.png"), column="area")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: column 'area' is not allowed; choose one of: land_unused_ha, ...
    """
    if column not in _COLUMNS:
        msg = f"column {column!r} is not allowed; choose one of: {', '.join(_COLUMNS)}"
        raise ConfigError(msg)
    require_crs(sites, WGS84, stage="render_static_map (sites)")
    require_crs(boroughs, WGS84, stage="render_static_map (boroughs)")
    for frame, what, needed in (
        (sites, "sites", ("land_unused_ha", "disposal_score", "in_london")),
        (boroughs, "boroughs", (column,)),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            msg = f"{what} is missing column(s) {', '.join(missing)} for the static map"
            raise DataValidationError(msg)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    heading, palette, fmt = _COLUMNS[column]
    shapes = boroughs.to_crs(BNG)
    values = pd.to_numeric(shapes[column], errors="coerce")
    inside = np.ones(len(shapes), dtype=bool)
    if focus_codes:
        if "borough_code" not in shapes.columns:
            msg = "boroughs is missing column borough_code, which focus_codes refers to"
            raise DataValidationError(msg)
        inside = shapes["borough_code"].astype("string").isin([str(c) for c in focus_codes])
        inside = inside.fillna(False).to_numpy(dtype=bool)
        if not inside.any():
            msg = f"focus_codes {', '.join(map(str, focus_codes))} name no borough of boroughs"
            raise DataValidationError(msg)
    classes = style.classify(values[inside], palette)
    fills = [style.OUTSIDE_COLOUR] * len(shapes)
    for pos, cls in zip(np.flatnonzero(inside).tolist(), classes.index, strict=True):
        fills[pos] = classes.colour_of(cls)

    keep = sites.geometry.notna() & ~sites.geometry.is_empty
    keep &= sites["in_london"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    points = sites[keep.to_numpy(dtype=bool)].to_crs(BNG)
    unused = pd.to_numeric(points["land_unused_ha"], errors="coerce").to_numpy(dtype=float)
    score = pd.to_numeric(points["disposal_score"], errors="coerce").to_numpy(dtype=float)
    radius = np.array([style.site_radius_px(v) for v in unused.tolist()])
    order = np.lexsort((np.nan_to_num(score, nan=-1.0), -radius))

    fig = Figure(figsize=(12, 8.4), facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.12, 0.75, 0.76))
    ax.set_axis_off()
    ax.set_aspect("equal")
    shapes.plot(ax=ax, color=fills, edgecolor="white", linewidth=0.6)
    if focus_codes:
        _zoom_to(ax, shapes[inside])
    if subregion_outlines is not None and len(subregion_outlines):
        require_crs(subregion_outlines, WGS84, stage="render_static_map (sub-regions)")
        subregion_outlines.to_crs(BNG).boundary.plot(
            ax=ax, color=style.SUBREGION_COLOUR, linewidth=1.1, linestyle=(0, (5, 4))
        )
    pilot_lines: list[tuple[str, str]] = []  # (colour, name) per pilot outline
    if pilot_outlines is not None and len(pilot_outlines):
        require_crs(pilot_outlines, WGS84, stage="render_static_map (pilots)")
        ids = [str(g) for g in pilot_outlines["group_id"]] if "group_id" in pilot_outlines else []
        colours = style.pilot_colours(ids)
        outlines = pilot_outlines.to_crs(BNG)
        if ids:
            named = pilot_outlines.get("group_name", pd.Series(ids, index=pilot_outlines.index))
            for gid, name, edge in zip(ids, named.astype(str), outlines.boundary, strict=True):
                own = gid == focus_pilot
                ax.plot(
                    *_line_xy(edge),
                    color=colours[gid],
                    linewidth=3.0 if own else 2.0,
                    zorder=3.5 if own else 3,
                )
                pilot_lines.append((colours[gid], _drawable(name)))
        else:
            outlines.boundary.plot(ax=ax, color=style.PILOT_COLOUR, linewidth=2.0)
            pilot_lines.append((style.PILOT_COLOUR, "Devolution pilot"))
    if focus_codes and "borough_name" in shapes.columns:
        for name, geom in zip(shapes["borough_name"][inside], shapes.geometry[inside], strict=True):
            if geom is None or geom.is_empty:
                continue
            at = geom.representative_point()
            ax.text(
                at.x,
                at.y,
                _drawable(name),
                ha="center",
                va="center",
                fontsize=10,
                color="#1f2933",
                zorder=6,
                path_effects=[_halo()],
            )
    if len(points):
        xs = points.geometry.x.to_numpy()[order]
        ys = points.geometry.y.to_numpy()[order]
        ax.scatter(
            xs,
            ys,
            s=(2 * radius[order] * _PX_TO_PT) ** 2,
            c=[style.score_colour(v) for v in score[order].tolist()],
            edgecolors="#1f2933",
            linewidths=0.5,
            alpha=0.92,
            zorder=5,
        )
    width_km = (ax.get_xlim()[1] - ax.get_xlim()[0]) / 1000
    _scale_bar(ax, km=10 if width_km > 60 else 5 if width_km > 20 else 2)

    title = _drawable(title)
    lines = [_drawable(line) for line in lines]
    attribution = _drawable(attribution)
    fig.text(0.015, 0.955, title, fontsize=17, fontweight="bold", color="#1f2933")
    fig.text(
        0.015,
        0.925,
        (
            f"Boroughs shaded by {heading[0].lower()}{heading[1:]}, classes over the pilot's "
            + (f"{int(inside.sum())} boroughs" if inside.sum() > 1 else "borough")
            + " (others grey); sites sized by unused land, coloured by disposal score."
            if focus_codes
            else f"Boroughs shaded by {heading[0].lower()}{heading[1:]}; "
            "sites sized by unused land and coloured by disposal score."
        ),
        fontsize=10.5,
        color="#52606d",
    )
    if lines:
        fig.text(0.015, 0.897, lines[0], fontsize=10, fontweight="bold", color="#1f2933")
    footer = [w for text in (*lines[1:], attribution) if text for w in textwrap.wrap(text, 190)]
    if footer:
        fig.text(0.015, 0.012, "\n".join(footer), fontsize=7.5, color="#616e7c", va="bottom")
        # The map stands above the footer, however many lines the sources take.
        bottom = max(0.12, 0.03 + len(footer) * _FOOTER_LINE)
        ax.set_position((0.0, bottom, 0.75, 0.88 - bottom))

    handles: list[Any] = [Patch(color="none", label=heading)]
    handles += [
        Patch(facecolor=c, edgecolor="#9aa5b1", label=label)
        for c, label in zip(classes.colours, classes.labels(fmt), strict=True)
    ]
    if any(i < 0 for i in classes.index):
        handles.append(Patch(facecolor=style.NO_DATA_COLOUR, edgecolor="#9aa5b1", label="No data"))
    if focus_codes:
        handles.append(
            Patch(facecolor=style.OUTSIDE_COLOUR, edgecolor="#9aa5b1", label="Outside the pilot")
        )
    handles.append(Patch(color="none", label=" "))
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
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.75, 0.88),
        frameon=False,
        fontsize=9.5,
        handlelength=1.8,
        labelspacing=0.45,
    )
    for text, handle in zip(legend.get_texts(), handles, strict=True):
        if (
            isinstance(handle, Patch)
            and to_rgba(handle.get_facecolor())[3] == 0
            and text.get_text().strip()
        ):
            text.set_fontweight("bold")

    out_path = Path(out_path)
    fig.savefig(out_path, dpi=dpi, facecolor="white", metadata={"Software": None})
    return out_path


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


def _zoom_to(ax: Any, area: Any) -> None:
    """Fit the map's extent to ``area`` (EPSG:27700) with a margin, keeping the scale equal."""
    minx, miny, maxx, maxy = (float(v) for v in area.total_bounds)
    pad = max(maxx - minx, maxy - miny) * 0.08 + 500
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    # Widen the short side to the axes' own shape, so equal scale needs no change of limits.
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    shape = (box.width * fig_w) / (box.height * fig_h)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w = max(maxx - minx, (maxy - miny) * shape) / 2
    half_h = half_w / shape
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)


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


def _scale_bar(ax: Any, km: int = 10) -> None:
    """Draw a ``km`` kilometre bar and a north arrow in the lower left (metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    left = x0 + (x1 - x0) * 0.03
    base = y0 + (y1 - y0) * 0.04
    length = km * 1000
    ax.plot(
        [left, left + length], [base, base], color="#1f2933", linewidth=3, solid_capstyle="butt"
    )
    for tick in (left, left + length / 2, left + length):
        ax.plot([tick, tick], [base, base + (y1 - y0) * 0.008], color="#1f2933", linewidth=1)
    ax.text(left + length / 2, base + (y1 - y0) * 0.015, f"{km} km", ha="center", fontsize=9)
    ax.annotate(
        "N",
        xy=(left + length * 0.05, base + (y1 - y0) * 0.16),
        xytext=(left + length * 0.05, base + (y1 - y0) * 0.07),
        ha="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "#1f2933", "linewidth": 1.2},
    )
