"""The ranked disposal pipeline against the target, drawn as inline SVG for the index page.

:func:`render_pipeline_chart` draws the ranked pipeline's cumulative value
against the target: no chart library, no network. Its figures are written by
:mod:`estates.style`, like every other output's.

Nothing here reads or writes files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from estates.style import format_gbp, format_share

__all__ = ["render_pipeline_chart"]

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
