"""The frame every map picture is drawn in: its size, its map axes, zoom, scale bar and north arrow.

:mod:`estates.render.static_map` draws the boroughs, outlines, sites,
header and legends; this module holds the parts that depend on none of
them: the picture's size and where the map stands in it, the blank maps
(figure and map axes) a process can make before it knows what it will
draw (:func:`make_blank_maps`), the zoom to a pilot's boroughs and the
scale bar with its north arrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estates.render.picture_canvas import PictureSeries

__all__ = ["FIGSIZE", "MAP_TOP", "blank_map", "make_blank_maps", "scale_bar", "zoom_to"]

#: The picture's size in inches (width, height).
FIGSIZE = (12.0, 8.4)
#: The top of the map and the legend under a header whose every part takes one line.
MAP_TOP = 0.88

#: Blank maps made ahead by :func:`make_blank_maps`, by resolution: (figure, map axes).
_BLANK_MAPS: dict[float, list[tuple[Any, Any]]] = {}


def make_blank_maps(count: int, *, dpi: float = 150) -> None:
    """Make ``count`` blank maps ahead, for the next pictures drawn at ``dpi`` in this process.

    A blank map is what every picture starts from: the empty figure and its
    map axes, without ticks or frame, at equal scale. matplotlib takes some
    5 ms to set up an axes; the process drawing a build's pictures makes
    them while it waits for its job (six: London's picture and one per
    bundled pilot). A picture finds its map the same either way, so its
    bytes are the same; pictures beyond those made ahead make their own.
    """
    from estates.render.picture_canvas import PictureSeries

    series = PictureSeries()  # each map joins the series that draws on it
    for _ in range(count):
        figure = series.new_figure(FIGSIZE, dpi=dpi)
        _BLANK_MAPS.setdefault(dpi, []).append((figure, _map_axes(figure)))


def blank_map(series: PictureSeries, dpi: float) -> tuple[Any, Any]:
    """Return a blank map on ``series``: one made ahead at ``dpi`` if any is left, else new."""
    ahead = _BLANK_MAPS.get(dpi)
    if ahead:
        figure, axes = ahead.pop(0)
        series.adopt(figure)
        return figure, axes
    figure = series.new_figure(FIGSIZE, dpi=dpi)
    return figure, _map_axes(figure)


def _map_axes(figure: Any) -> Any:
    """Add the map's axes to ``figure``: below the header, left of the legend, equal scale."""
    axes = figure.add_axes((0.0, 0.12, 0.75, MAP_TOP - 0.12))
    axes.set_axis_off()
    axes.set_aspect("equal")
    return axes


def zoom_to(ax: Any, area: Any) -> None:
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


def scale_bar(ax: Any, km: int = 10) -> None:
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
