"""The visual vocabulary shared by the HTML maps, the PNG map and the index page.

One place decides how a number is written (:func:`format_ha`,
:func:`format_gbp`, :func:`format_share`), how boroughs are put into classes
(:func:`classify`), which colours mean what (the ``*_PALETTE`` constants) and
how big a site's marker is (:func:`site_radius_px`), so ``london.html`` and
``london.png`` always agree. :func:`render_pipeline_chart` draws the ranked
pipeline's cumulative value against the target as inline SVG: no chart library,
no network.

Nothing here reads or writes files.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "NO_DATA_COLOUR",
    "RADIUS_MAX_PX",
    "RADIUS_MIN_PX",
    "RADIUS_PX_PER_SQRT_HA",
    "SCORE_BINS",
    "SCORE_PALETTE",
    "UNSCORED_COLOUR",
    "UNUSED_PALETTE",
    "VALUE_PALETTE",
    "Classes",
    "classify",
    "format_gbp",
    "format_ha",
    "format_share",
    "render_pipeline_chart",
    "score_colour",
    "site_radius_px",
]

#: Borough fill for unused hectares (ColorBrewer PuBu, 5 classes).
UNUSED_PALETTE = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")
#: Borough fill for estimated value (ColorBrewer Greens, 5 classes).
VALUE_PALETTE = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
#: Site fill by disposal score (ColorBrewer YlOrRd, 5 classes).
SCORE_PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Upper bounds of the five disposal-score classes (scores run 0..1).
SCORE_BINS = (0.2, 0.4, 0.6, 0.8, 1.0)
#: Fill of a borough whose value is missing.
NO_DATA_COLOUR = "#e0e0e0"
#: Fill of a site with no disposal score.
UNSCORED_COLOUR = "#9e9e9e"
#: Marker radius, in screen pixels, for a site with no or zero unused land.
RADIUS_MIN_PX = 3.0
#: Marker radius grows with the square root of unused hectares, so area tracks land.
RADIUS_PX_PER_SQRT_HA = 3.5
#: Largest marker radius, in pixels, so one big site does not hide its neighbours.
RADIUS_MAX_PX = 20.0

_TARGET_COLOUR = "#bd0026"
_LINE_COLOUR = "#045a8d"


def _missing(value: Any) -> bool:
    """Return True for None, NaN and pandas NA."""
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def format_ha(value: float | None) -> str:
    """Write hectares for people: ``1.25 ha``, ``12.3 ha``, ``1,234 ha``.

    Examples
    --------
    >>> format_ha(0.126), format_ha(12.34), format_ha(1234.5), format_ha(float("nan"))
    ('0.13 ha', '12.3 ha', '1,234 ha', 'n/a')
    """
    if _missing(value):
        return "n/a"
    x = float(value)  # type: ignore[arg-type]
    if abs(x) < 10:
        return f"{x:,.2f} ha"
    if abs(x) < 1000:
        return f"{x:,.1f} ha"
    return f"{x:,.0f} ha"


def format_gbp(value: float | None) -> str:
    """Write pounds for people: ``£1.23bn``, ``£12.3m``, ``£450k``, ``£90``.

    Billions keep up to two decimals and millions one, without trailing zeros.

    Examples
    --------
    >>> format_gbp(11e9), format_gbp(12_345_678), format_gbp(450_000), format_gbp(None)
    ('£11bn', '£12.3m', '£450k', 'n/a')
    """
    if _missing(value):
        return "n/a"
    x = float(value)  # type: ignore[arg-type]
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1e9:
        return f"{sign}£{_trim(f'{a / 1e9:.2f}')}bn"
    if a >= 1e6:
        return f"{sign}£{_trim(f'{a / 1e6:.1f}')}m"
    if a >= 1e3:
        return f"{sign}£{a / 1e3:.0f}k"
    return f"{sign}£{a:.0f}"


def _trim(number: str) -> str:
    """Drop trailing zeros after a decimal point: ``'11.00'`` -> ``'11'``."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def format_share(value: float | None) -> str:
    """Write a share (0..1) as a percentage: ``12.3%``, ``0.45%``.

    Examples
    --------
    >>> format_share(0.1234), format_share(0.0045), format_share(None)
    ('12.3%', '0.45%', 'n/a')
    """
    if _missing(value):
        return "n/a"
    pct = float(value) * 100  # type: ignore[arg-type]
    if abs(pct) < 1:
        return f"{pct:.2f}%"
    return f"{pct:.1f}%"


def site_radius_px(land_unused_ha: float | None) -> float:
    """Return a site marker's radius in screen pixels from its unused hectares.

    The marker's area grows with the land (radius with its square root), from
    :data:`RADIUS_MIN_PX` for none or missing up to :data:`RADIUS_MAX_PX`.

    Examples
    --------
    >>> site_radius_px(0.0), site_radius_px(4.0), site_radius_px(None), site_radius_px(1e6)
    (3.0, 10.0, 3.0, 20.0)
    """
    if _missing(land_unused_ha) or float(land_unused_ha) <= 0:  # type: ignore[arg-type]
        return RADIUS_MIN_PX
    r = RADIUS_MIN_PX + RADIUS_PX_PER_SQRT_HA * math.sqrt(float(land_unused_ha))  # type: ignore[arg-type]
    return round(min(r, RADIUS_MAX_PX), 2)


def score_colour(score: float | None) -> str:
    """Return the fill colour of a site with this disposal score (0..1).

    Examples
    --------
    >>> score_colour(0.05), score_colour(0.95), score_colour(None)
    ('#ffffb2', '#bd0026', '#9e9e9e')
    """
    if _missing(score):
        return UNSCORED_COLOUR
    for bound, colour in zip(SCORE_BINS, SCORE_PALETTE, strict=True):
        if float(score) <= bound:  # type: ignore[arg-type]
            return colour
    return SCORE_PALETTE[-1]


@dataclass(frozen=True)
class Classes:
    """Choropleth classes for one column.

    Attributes
    ----------
    bins : tuple of float
        Upper bound of each class, ascending.
    colours : tuple of str
        One fill colour per class.
    index : tuple of int
        The class of each input value, in input order; -1 where it is missing.
    minimum : float
        The smallest value, the lower bound of the first class.
    """

    bins: tuple[float, ...]
    colours: tuple[str, ...]
    index: tuple[int, ...]
    minimum: float = 0.0

    def colour_of(self, i: int) -> str:
        """Return the fill of class ``i`` (:data:`NO_DATA_COLOUR` for -1)."""
        return NO_DATA_COLOUR if i < 0 else self.colours[i]

    def labels(self, fmt: Any) -> list[str]:
        """Return one legend label per class, e.g. ``0.00 ha – 1.25 ha``.

        ``fmt`` turns a number into text, such as :func:`format_ha`. No classes
        (every value missing) give no labels.
        """
        if not self.bins:
            return []
        lows = [self.minimum, *self.bins[:-1]]
        return [f"{fmt(lo)} – {fmt(hi)}" for lo, hi in zip(lows, self.bins, strict=True)]


def _pick_colours(palette: Sequence[str], k: int) -> tuple[str, ...]:
    """Spread ``k`` colours over a 5-colour palette, keeping the extremes."""
    if k >= len(palette):
        return tuple(palette)
    if k == 1:
        return (palette[len(palette) // 2],)
    step = (len(palette) - 1) / (k - 1)
    return tuple(palette[round(i * step)] for i in range(k))


def classify(values: pd.Series | Sequence[float], palette: Sequence[str], *, k: int = 5) -> Classes:
    """Put values into at most ``k`` Fisher-Jenks classes (mapclassify).

    Fisher-Jenks is exact and deterministic: the same values always give the
    same classes (natural breaks, by contrast, starts from random seeds).
    Missing values get class -1. With fewer distinct values than ``k``, there
    are fewer classes.

    Parameters
    ----------
    values : pandas.Series or sequence of float
        The values to classify, e.g. unused hectares per borough; left unchanged.
    palette : sequence of str
        Colours, light to dark; ``k`` of them are used.
    k : int, default 5
        The most classes to make.

    Returns
    -------
    Classes
        Bins (upper bounds), colours and each value's class.

    Examples
    --------
    >>> c = classify([0.0, 1.0, 1.0, 9.0, float("nan")], UNUSED_PALETTE, k=3)
    >>> c.bins, c.index
    ((0.0, 1.0, 9.0), (0, 1, 1, 2, -1))
    """
    y = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(y)
    if not present.any():
        return Classes(bins=(), colours=(), index=tuple(-1 for _ in y))
    distinct = np.unique(y[present])
    k = max(1, min(k, len(distinct)))
    if k == len(distinct):
        bins = tuple(float(b) for b in distinct)
    else:
        import mapclassify

        with warnings.catch_warnings():
            # Without numba, mapclassify falls back to pure Python and says so;
            # for a few dozen boroughs that is instant.
            warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
            scheme = mapclassify.FisherJenks(y[present], k=k)
        bins = tuple(float(b) for b in scheme.bins)
    edges = np.asarray(bins)
    idx = np.full(len(y), -1, dtype=int)
    idx[present] = np.searchsorted(edges, y[present], side="left")
    idx = np.minimum(idx, len(bins) - 1)
    return Classes(
        bins=bins,
        colours=_pick_colours(palette, len(bins)),
        index=tuple(int(i) for i in idx),
        minimum=float(np.nanmin(y)),
    )


def _nice_step(span: float, ticks: int = 5) -> float:
    """Return a 1-2-2.5-5 step giving about ``ticks`` intervals over ``span``."""
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag  # pragma: no cover


def render_pipeline_chart(
    cumulative: Sequence[Mapping[str, Any]],
    target_gbp: float | None,
    *,
    width: int = 760,
    height: int = 340,
    max_points: int = 1500,
) -> str:
    """Draw the ranked pipeline's cumulative value against the target, as SVG.

    Parameters
    ----------
    cumulative : sequence of mapping
        ``summary["pipeline"]["cumulative"]``: one mapping per listed rank, in
        rank order, with ``rank`` and ``cumulative_value_gbp`` (pounds).
    target_gbp : float or None
        The target in pounds, drawn as a dashed line; None to leave it out.
    width, height : int
        Size of the drawing in CSS pixels; it scales with the page.
    max_points : int, default 1500
        The line is thinned to about this many vertices (always keeping the
        last), so a 50,000-site pipeline stays small.

    Returns
    -------
    str
        An ``<svg>`` element, or an empty string if no site is ranked. Every
        text in it is escaped.

    Examples
    --------
    >>> svg = render_pipeline_chart(
    ...     [{"rank": 1, "cumulative_value_gbp": 2e9}, {"rank": 2, "cumulative_value_gbp": 3e9}],
    ...     11e9,
    ... )
    >>> svg.startswith("<svg") and "£11bn target" in svg
    True
    >>> render_pipeline_chart([], 11e9)
    ''
    """
    points = [
        (float(row["rank"]), float(row["cumulative_value_gbp"]))
        for row in cumulative
        if not _missing(row.get("rank")) and not _missing(row.get("cumulative_value_gbp"))
    ]
    if not points:
        return ""
    n = len(points)
    if n > max_points:
        keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
        points = [points[i] for i in keep]
    last_rank, last_value = points[-1]
    has_target = not _missing(target_gbp) and float(target_gbp) > 0  # type: ignore[arg-type]
    top = max(last_value, float(target_gbp) if has_target else 0.0, 1.0) * 1.08  # type: ignore[arg-type]
    step = _nice_step(top)
    top = math.ceil(top / step) * step

    left, right, upper, lower = 96, 24, 20, 48
    pw, ph = width - left - right, height - upper - lower
    x_max = max(last_rank, 1.0)

    def sx(rank: float) -> float:
        return left + pw * rank / x_max

    def sy(value: float) -> float:
        return upper + ph * (1 - value / top)

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="estates-chart"'
        f' viewBox="0 0 {width} {height}"'
        f' role="img" aria-labelledby="chart-title" font-family="system-ui, sans-serif"'
        f' font-size="12">',
        '<title id="chart-title">Cumulative indicative value of the ranked disposal pipeline'
        f"{' against the target' if has_target else ''}</title>",
    ]
    # Horizontal grid and value axis.
    tick = 0.0
    while tick <= top + 1e-9:
        y = sy(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#444">'
            f"{escape(format_gbp(tick))}</text>"
        )
        tick += step
    # Rank axis: about six ticks at round numbers.
    rstep = max(1.0, _nice_step(x_max, 6))
    r = 0.0
    while r <= x_max + 1e-9:
        x = sx(r)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{upper + ph}" y2="{upper + ph + 5}"'
            ' stroke="#444"/>'
            f'<text x="{x:.1f}" y="{upper + ph + 18}" text-anchor="middle" fill="#444">'
            f"{int(r):,}</text>"
        )
        r += rstep
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{upper + ph}" y2="{upper + ph}" stroke="#444"/>'
        f'<text x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#222">'
        "Sites in rank order (highest disposal score first)</text>"
        f'<text transform="translate(18 {upper + ph / 2:.1f}) rotate(-90)" text-anchor="middle"'
        ' fill="#222">Cumulative indicative value</text>'
    )
    # The pipeline: area and line from the origin.
    coords = [(sx(0), sy(0))] + [(sx(rk), sy(v)) for rk, v in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    area = f"{line} {sx(last_rank):.1f},{sy(0):.1f}"
    parts.append(
        f'<polygon points="{area}" fill="{_LINE_COLOUR}" fill-opacity="0.12"/>'
        f'<polyline points="{line}" fill="none" stroke="{_LINE_COLOUR}" stroke-width="2.5"'
        ' stroke-linejoin="round" class="pipeline"/>'
    )
    if has_target:
        ty = sy(float(target_gbp))  # type: ignore[arg-type]
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{ty:.1f}" y2="{ty:.1f}"'
            f' stroke="{_TARGET_COLOUR}"'
            ' stroke-width="2" stroke-dasharray="6 4" class="target"/>'
            f'<text x="{left + pw - 4}" y="{ty - 6:.1f}" text-anchor="end" fill="{_TARGET_COLOUR}"'
            f' font-weight="600">{escape(format_gbp(target_gbp))} target</text>'
        )
    end = f"All {n:,} ranked sites: {format_gbp(last_value)}"
    if has_target:
        end += f" ({format_share(last_value / float(target_gbp))} of target)"  # type: ignore[arg-type]
    ex, ey = sx(last_rank), sy(last_value)
    anchor = "end" if ex > left + pw * 0.5 else "start"
    label_y = ey - 10 if ey - 10 > upper + 12 else ey + 18
    if has_target and abs(label_y - sy(float(target_gbp))) < 14:  # type: ignore[arg-type]
        label_y += 18
    parts.append(
        f'<circle cx="{ex:.1f}" cy="{ey:.1f}" r="4" fill="{_LINE_COLOUR}"/>'
        f'<text x="{ex - 6 if anchor == "end" else ex + 6:.1f}" y="{label_y:.1f}"'
        f' text-anchor="{anchor}" fill="{_LINE_COLOUR}" font-weight="600">{escape(end)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
