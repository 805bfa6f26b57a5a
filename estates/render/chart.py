"""The index page's charts, drawn as inline SVG: the disposal pipeline, London's land by year.

:func:`render_pipeline_chart` draws the ranked pipeline's cumulative value
against the target; :func:`render_land_by_year_chart` draws London's land in
each ERIC return, with the change of measure between 2015/16 and 2016/17 drawn
as a break. No chart library, no script, no network: the charts print and work
offline. Their figures are written by :mod:`estates.style`, like every other
output's, and their colours come from it.

Nothing here reads or writes files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from estates.style import (
    LAND_COLOUR,
    LAND_UNUSED_COLOUR,
    format_gbp,
    format_ha,
    format_share,
    is_missing,
)

__all__ = [
    "MEASURE_LABELS",
    "land_by_year_summary",
    "render_land_by_year_chart",
    "render_pipeline_chart",
]

_TARGET_COLOUR = "#bd0026"
_LINE_COLOUR = "#045a8d"


def _number(value: Any) -> float | None:
    """Return a finite number as a float; None for a missing value or one that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or is_missing(value):
        return None
    return float(value)


def _nice_step(span: float, ticks: int = 5) -> float:
    """Return a 1-2-2.5-5 step giving about ``ticks`` intervals over ``span``."""
    raw = span / max(ticks, 1)
    mag: float = 10 ** math.floor(math.log10(raw))  # int ** int is typed Any
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
    title_id: str = "chart-title",
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
        Size of the drawing in CSS pixels; it scales with the page. Under 500
        wide the labels are shortened, so a phone can show the drawing near
        its own size with text it can read.
    max_points : int, default 1500
        The line is thinned to about this many vertices (always keeping the
        last), so a 50,000-site pipeline stays small.
    title_id : str, default "chart-title"
        The ``id`` of the drawing's title, unique within its page.

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
        if not is_missing(row.get("rank")) and not is_missing(row.get("cumulative_value_gbp"))
    ]
    if not points:
        return ""
    n = len(points)
    if n > max_points:
        keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
        points = [points[i] for i in keep]
    last_rank, last_value = points[-1]
    has_target = not is_missing(target_gbp) and float(target_gbp) > 0  # type: ignore[arg-type]
    top = max(last_value, float(target_gbp) if has_target else 0.0, 1.0) * 1.08  # type: ignore[arg-type]
    step = _nice_step(top)
    top = math.ceil(top / step) * step

    compact = width < 500
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
        f' role="img" aria-labelledby="{escape(title_id)}" font-family="system-ui, sans-serif"'
        f' font-size="12">',
        f'<title id="{escape(title_id)}">Cumulative value of the ranked disposal pipeline,'
        " at the midpoint of each site's value range"
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
        + (
            "Sites, best score first"
            if compact
            else "Sites in rank order (highest disposal score first)"
        )
        + "</text>"
        f'<text transform="translate(18 {upper + ph / 2:.1f}) rotate(-90)" text-anchor="middle"'
        ' fill="#222">Cumulative value (midpoint)</text>'
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
    share = format_share(last_value / float(target_gbp)) if has_target else ""  # type: ignore[arg-type]
    if compact:
        end = format_gbp(last_value) + (f" ({share})" if share else "")
    else:
        end = f"All {n:,} ranked sites: {format_gbp(last_value)} at the midpoint"
        end += f" ({share} of target)" if share else ""
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


#: How each ERIC land measure is named on the chart; another measure shows its own key.
MEASURE_LABELS = {"site_land_area": "Site land area", "land_owned": "Land owned"}
_TEXT_COLOUR = "#1f2933"
_MUTED_COLOUR = "#52606d"
_GRID_COLOUR = "#e3e6ea"
_HATCH_ID = "years-chart-hatch"
_SOLID_MEASURE = "land_owned"


def _start_year(year: str) -> int | None:
    """Return 2013 for ``"2013/14"``; None for a year not written that way."""
    match = re.fullmatch(r"(\d{4})/\d{2}", year.strip())
    return int(match.group(1)) if match else None


def _year_name(start: int) -> str:
    """Return ``"2017/18"`` for 2017."""
    return f"{start}/{(start + 1) % 100:02d}"


def _measure_label(measure: str) -> str:
    return MEASURE_LABELS.get(measure, measure.replace("_", " ").capitalize())


def _missing_years(before: str, after: str) -> str:
    """Name the ERIC years between two returns, or '' if they are consecutive or unparsed."""
    a, b = _start_year(before), _start_year(after)
    if a is None or b is None or b - a < 2:
        return ""
    if b - a == 2:
        return _year_name(a + 1)
    if b - a == 3:
        return f"{_year_name(a + 1)} and {_year_name(a + 2)}"
    return f"{_year_name(a + 1)} to {_year_name(b - 1)}"


def land_by_year_summary(years: Sequence[tuple[str, str, float, float | None]]) -> str:
    """Say the charted figures in one text: the chart's accessible name and description.

    Parameters
    ----------
    years : sequence of (year, measure, land_ha, land_unused_ha)
        In year order; ``land_unused_ha`` None where the return does not report it.

    Returns
    -------
    str
        One sentence per year, then what the change of measure means.

    Examples
    --------
    >>> text = land_by_year_summary(
    ...     [("2015/16", "site_land_area", 693.5, None), ("2016/17", "land_owned", 619.34, 42.78)]
    ... )
    >>> import textwrap
    >>> print(textwrap.fill(text, 88))
    London's land by ERIC year. 2015/16: site land area 693.5 ha. 2016/17: land owned 619.3
    ha, 42.8 ha not delivering services. Site land area (2015/16) and land owned (2016/17)
    are different measures: the change between them is not a trend.
    """
    parts = ["London's land by ERIC year."]
    for year, measure, land, unused in years:
        text = f"{year}: {_measure_label(measure).lower()} {format_ha(land)}"
        if unused is not None:
            text += f", {format_ha(unused)} not delivering services"
        parts.append(text + ".")
    spans: dict[str, list[str]] = {}
    for year, measure, _land, _unused in years:
        spans.setdefault(measure, []).append(year)
    if len(spans) > 1:
        named = [
            f"{_measure_label(m)} ({ys[0] if len(ys) == 1 else f'{ys[0]} to {ys[-1]}'})"
            for m, ys in spans.items()
        ]
        parts.append(
            f"{', '.join(named[:-1])} and {named[-1][0].lower() + named[-1][1:]} are different "
            "measures: the change between them is not a trend."
        )
    return " ".join(parts)


def render_land_by_year_chart(london: Mapping[str, Any], *, width: int = 320) -> str:
    """Draw London's land in each ERIC return, and its land not delivering services, as SVG.

    One row per return, in year order: a bar of the year's land (hatched for
    site land area, up to 2015/16; solid for land owned, from 2016/17) and,
    where the return reports it, a bar of land not delivering services. Where
    the measure changes, a dashed break says the two are not a trend; years
    with no bundled return between two charted ones are named as such. The
    drawing is narrow (``width`` units) so its 13-unit text stays legible on
    a phone; the page limits how wide it grows.

    Parameters
    ----------
    london : mapping
        ``summary["land_over_time"]["london"]``: ERIC year (``"2016/17"``) to
        a mapping with ``land_ha`` (hectares, the year's own measure),
        ``land_measure`` (``"site_land_area"`` or ``"land_owned"``) and
        ``land_unused_ha`` (hectares, or None where not reported). Left
        unchanged.
    width : int, default 320
        Width of the drawing in SVG units; it scales with the page.

    Returns
    -------
    str
        An ``<svg role="img">`` whose ``aria-label``, ``<title>`` and
        ``<desc>`` give every figure; an empty string if no year has a land
        figure. Every text in it is escaped.

    Examples
    --------
    >>> svg = render_land_by_year_chart({
    ...     "2015/16": {"land_ha": 693.5, "land_measure": "site_land_area"},
    ...     "2016/17": {"land_ha": 619.34, "land_measure": "land_owned", "land_unused_ha": 42.78},
    ... })
    >>> svg.count('class="year"'), "Different measures: not a trend" in svg
    (2, True)
    >>> render_land_by_year_chart({"2016/17": {"land_ha": None}})
    ''
    """
    years: list[tuple[str, str, float, float | None]] = []
    for year, entry in london.items():
        land = _number(entry.get("land_ha")) if isinstance(entry, Mapping) else None
        if land is None:
            continue
        measure = str(entry.get("land_measure") or "land")
        years.append((str(year), measure, land, _number(entry.get("land_unused_ha"))))
    if not years:
        return ""
    years.sort(key=lambda y: (_start_year(y[0]) or 0, y[0]))
    summary = land_by_year_summary(years)

    font, left, right = 13, 62, 66
    pw = width - left - right
    top = max([land for _y, _m, land, _u in years] + [u or 0.0 for *_r, u in years] + [1.0])
    step = _nice_step(top, 3)
    top = math.ceil(top / step) * step

    def sx(value: float) -> float:
        return left + pw * max(value, 0.0) / top

    measures = list(dict.fromkeys(m for _y, m, _l, _u in years))
    spans = {m: [y for y, mm, _l, _u in years if mm == m] for m in measures}

    def fill(measure: str) -> str:
        return LAND_COLOUR if measure == _SOLID_MEASURE else f"url(#{_HATCH_ID})"

    parts: list[str] = []
    # Legend: one swatch per measure charted, and one for land not delivering services.
    y = 4.0
    for m in measures:
        ys = spans[m]
        when = ys[0] if len(ys) == 1 else f"{ys[0]}–{ys[-1]}"
        parts.append(
            f'<rect x="0" y="{y + 3:.1f}" width="14" height="14" fill="{fill(m)}"'
            f' stroke="{LAND_COLOUR}"/>'
            f'<text x="20" y="{y + 15:.1f}" class="legend">{escape(_measure_label(m))}, '
            f"{escape(when)}</text>"
        )
        y += 21
    if any(u is not None for *_r, u in years):
        parts.append(
            f'<rect x="0" y="{y + 5:.1f}" width="14" height="10" fill="{LAND_UNUSED_COLOUR}"/>'
            f'<text x="20" y="{y + 15:.1f}" class="legend">Not delivering services</text>'
        )
        y += 21
    y += 8
    rows_top = y
    rows: list[str] = []
    for i, (year, measure, land, unused) in enumerate(years):
        if i:
            before_year, before_measure = years[i - 1][0], years[i - 1][1]
            if measure != before_measure:
                rows.append(
                    f'<g class="measure-break"><line x1="0" x2="{width}" y1="{y + 9:.1f}"'
                    f' y2="{y + 9:.1f}" stroke="{_TEXT_COLOUR}" stroke-width="1.5"'
                    ' stroke-dasharray="5 4"/>'
                    f'<text x="{left + 6}" y="{y + 27:.1f}"'
                    f' font-weight="600">Different measures: not a trend</text></g>'
                )
                y += 36
            gap = _missing_years(before_year, year)
            if gap:
                # Two lines, so the years' names fit the narrow drawing.
                rows.append(
                    f'<text x="{left + 6}" y="{y + 15:.1f}" class="gap" fill="{_MUTED_COLOUR}"'
                    f' font-style="italic">{escape(gap)}:'
                    f'<tspan x="{left + 6}" dy="16">no return bundled</tspan></text>'
                )
                y += 40
        label = f"{year}: {_measure_label(measure).lower()} {format_ha(land)}"
        label += (
            f", {format_ha(unused)} not delivering services"
            if unused is not None
            else "; land not delivering services not reported"
        )
        bar = [
            f'<g class="year" data-year="{escape(year)}" data-measure="{escape(measure)}">'
            f"<title>{escape(label)}</title>"
            f'<text x="{left - 8}" y="{y + 18:.1f}" text-anchor="end">{escape(year)}</text>'
            f'<rect class="land" x="{left}" y="{y + 5:.1f}" width="{sx(land) - left:.1f}"'
            f' height="17" fill="{fill(measure)}" stroke="{LAND_COLOUR}"/>'
            f'<text x="{sx(land) + 5:.1f}" y="{y + 18:.1f}" class="value">'
            f"{escape(format_ha(land))}</text>"
        ]
        if unused is not None:
            bar.append(
                f'<rect class="unused" x="{left}" y="{y + 25:.1f}" width="{sx(unused) - left:.1f}"'
                f' height="11" fill="{LAND_UNUSED_COLOUR}"/>'
                f'<text x="{sx(unused) + 5:.1f}" y="{y + 35:.1f}" class="value"'
                f' fill="{LAND_UNUSED_COLOUR}">{escape(format_ha(unused))}</text>'
            )
        else:
            bar.append(
                f'<text x="{left + 6}" y="{y + 35:.1f}" fill="{_MUTED_COLOUR}">not reported</text>'
            )
        rows.append("".join(bar) + "</g>")
        y += 44
    axis_y = y + 2
    grid = []
    tick = step
    while tick <= top + 1e-9:
        x = sx(tick)
        grid.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{rows_top:.1f}" y2="{axis_y:.1f}"'
            f' stroke="{_GRID_COLOUR}"/>'
            f'<text x="{x:.1f}" y="{axis_y + 17:.1f}" text-anchor="middle" fill="{_MUTED_COLOUR}">'
            f"{escape(format_ha(tick))}</text>"
        )
        tick += step
    height = axis_y + 42
    parts.extend(grid)
    parts.extend(rows)
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{axis_y:.1f}" y2="{axis_y:.1f}"'
        f' stroke="{_MUTED_COLOUR}"/>'
        f'<line x1="{left}" x2="{left}" y1="{rows_top:.1f}" y2="{axis_y:.1f}"'
        f' stroke="{_MUTED_COLOUR}"/>'
        f'<text x="{left}" y="{height - 6:.1f}" fill="{_TEXT_COLOUR}">'
        "Hectares, sites located in London</text>"
    )
    head = (
        '<svg xmlns="http://www.w3.org/2000/svg" class="estates-chart years-chart"'
        f' viewBox="0 0 {width} {height:.0f}" role="img" aria-label="{escape(summary)}"'
        f' font-family="system-ui, sans-serif" font-size="{font}" fill="{_TEXT_COLOUR}">'
        "<title>London's land by ERIC year</title>"
        f"<desc>{escape(summary)}</desc>"
        f'<defs><pattern id="{_HATCH_ID}" patternUnits="userSpaceOnUse" width="6" height="6"'
        ' patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#fff"/>'
        f'<rect width="2.5" height="6" fill="{LAND_COLOUR}"/></pattern></defs>'
    )
    return head + "".join(parts) + "</svg>"
