"""The index page's sections over several ERIC years: land by year, change, candidates.

A summary built from several ERIC returns carries ``land_over_time``,
``change_since`` and ``disposal_candidates``; a summary of one return has none
of them, and then this module adds nothing. Each year's land figure is shown
beside the definition of its measure, because the measure changed between
returns (site land area up to 2015/16, land owned from 2016/17): a column of
them is not a trend. Every text from the summary is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from estates import style
from estates.render import chart

__all__ = ["CANDIDATES_LIMIT", "change_headline", "years_sections"]

#: The most disposal candidates the index page lists (all are in summary.json).
CANDIDATES_LIMIT = 25


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _signed_ha(value: object) -> str:
    """Write a change of hectares with its sign: ``+5.25 ha``, ``-3.40 ha``."""
    x = _num(value)
    text = style.format_ha(x)
    return f"+{text}" if x is not None and x > 0 else text


def _definitions(land: Mapping[str, Any], london: Mapping[str, Any]) -> str:
    """Return the measures' definitions, each with the years that use it, as a ``<dl>``."""
    spans: dict[str, list[str]] = {}
    for year, entry in london.items():
        if isinstance(entry, Mapping) and entry.get("land_measure"):
            spans.setdefault(str(entry["land_measure"]), []).append(str(year))
    definitions = land.get("definitions")
    defs = definitions if isinstance(definitions, Mapping) else {}
    items = []
    for measure, years in spans.items():
        when = years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"
        label = chart.MEASURE_LABELS.get(measure, measure)
        own = [
            e.get("definition")
            for e in london.values()
            if isinstance(e, Mapping) and e.get("land_measure") == measure
        ]
        text = defs.get(measure) or next((d for d in own if d), "")
        items.append(f"<dt>{escape(label)}, {escape(when)}</dt><dd>{escape(str(text or ''))}</dd>")
    if len(spans) < 2:
        return f'<dl class="defs">{"".join(items)}</dl>' if items else ""
    return (
        f'<dl class="defs">{"".join(items)}</dl>'
        '<p class="break-note"><strong>Not a trend across the dashed line:</strong> the two '
        "measures count different land, so a rise or fall between them is not land gained or "
        "sold.</p>"
    )


def _land_by_year(land: Mapping[str, Any]) -> list[str]:
    london = land.get("london")
    if not isinstance(london, Mapping) or not london:
        return []
    rows = []
    for year, entry in london.items():
        if not isinstance(entry, Mapping):
            continue
        rows.append(
            f"<tr><td>{escape(str(year))}</td>"
            f'<td class="n">{escape(style.format_ha(_num(entry.get("land_ha"))))}</td>'
            f'<td class="n">{escape(style.format_ha(_num(entry.get("land_unused_ha"))))}</td>'
            f'<td class="n">{escape(str(entry.get("sites", "n/a")))}</td>'
            f"<td>{escape(str(entry.get('definition') or entry.get('land_measure') or ''))}</td>"
            "</tr>"
        )
    if not rows:
        return []
    out = ['<h2 id="land-by-year">London\'s land by ERIC year</h2>']
    svg = chart.render_land_by_year_chart(london)
    if svg:
        out.append(
            f'<div class="panel years-panel"><figure class="years-figure">{svg}</figure>'
            f'<div class="years-key">{_definitions(land, london)}</div></div>'
        )
    out.append(
        '<table class="years"><caption>The chart\'s figures: land at sites located in London, '
        "by return</caption>"
        '<thead><tr><th>Year</th><th class="n">Land</th>'
        '<th class="n">Not delivering services</th><th class="n">Rows</th>'
        "<th>What the land figure measures</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    if land.get("note"):
        out.append(f'<p class="note">{escape(str(land["note"]))}</p>')
    else:
        out.append(
            '<p class="note">The land measure changed between returns: compare years only '
            "where the definitions match.</p>"
        )
    return out


def change_headline(summary: Mapping[str, Any]) -> str:
    """Return the index page's headline on London's change since the earlier return; '' if none.

    Land owned and land not delivering services, then and now, with the
    change; then the plain caveat that a site leaving the return is not
    necessarily sold.

    Parameters
    ----------
    summary : mapping
        ``summary.json``; ``change_since["london"]`` is read when present.

    Returns
    -------
    str
        Plain text (escape it to put it into HTML), or ``''`` for a summary of
        one return.

    Examples
    --------
    >>> london = {"from": "2016/17", "to": "2019/20", "land_owned_ha": -0.54,
    ...           "land_owned_ha_from": 619.34, "land_owned_ha_to": 618.8,
    ...           "land_unused_ha": 79.05, "land_unused_ha_from": 42.78,
    ...           "land_unused_ha_to": 121.83}
    >>> import textwrap
    >>> print(textwrap.fill(change_headline({"change_since": {"london": london}}), 88))
    Change since 2016/17: land owned at NHS sites in London went from 619.3 ha to 618.8 ha
    in 2019/20 (-0.54 ha), and land not delivering services from 42.8 ha to 121.8 ha (+79.0
    ha). A site leaving the return is not necessarily a sale: leaving the return can also
    mean a transfer or a closure.
    >>> change_headline({})
    ''
    """
    change = summary.get("change_since")
    london = change.get("london") if isinstance(change, Mapping) else None
    if not isinstance(london, Mapping) or not london:
        return ""
    return (
        f"Change since {london.get('from', '')}: land owned at NHS sites in London went from "
        f"{style.format_ha(_num(london.get('land_owned_ha_from')))} to "
        f"{style.format_ha(_num(london.get('land_owned_ha_to')))} in {london.get('to', '')} "
        f"({_signed_ha(london.get('land_owned_ha'))}), and land not delivering services from "
        f"{style.format_ha(_num(london.get('land_unused_ha_from')))} to "
        f"{style.format_ha(_num(london.get('land_unused_ha_to')))} "
        f"({_signed_ha(london.get('land_unused_ha'))}). A site leaving the return is not "
        "necessarily a sale: leaving the return can also mean a transfer or a closure."
    )


def _candidates(candidates: Mapping[str, Any]) -> list[str]:
    sites = [s for s in candidates.get("sites") or [] if isinstance(s, Mapping)]
    before, after = (escape(str(candidates.get(k, ""))) for k in ("from", "to"))
    heading = f"<h2>Possible disposals: land that left the return, {before} to {after}</h2>"
    note = candidates.get("note")
    out = [heading]
    if note:
        out.append(f'<p class="note">{escape(str(note))}</p>')
    if not sites:
        out.append('<p class="note">No site left the return or reported less land owned.</p>')
        return out
    rows = [
        f"<tr><td>{escape(str(s.get('site_name') or ''))} "
        f"({escape(str(s.get('site_code') or ''))})</td>"
        f"<td>{escape(str(s.get('trust_name') or ''))}</td>"
        f"<td>{escape(str(s.get('borough_name') or 'outside London or unlocated'))}</td>"
        f'<td class="n">{escape(style.format_ha(_num(s.get("hectares"))))}</td>'
        f"<td>{escape(str(s.get('reason') or ''))}</td></tr>"
        for s in sites[:CANDIDATES_LIMIT]
    ]
    # On a phone the table scrolls in its own box (focusable, so a keyboard can
    # scroll it) rather than the whole page sideways.
    out.append(
        '<div class="table-scroll" role="region" aria-label="Possible disposals" tabindex="0">'
        '<table class="candidates"><thead><tr><th>Site</th><th>Trust</th><th>Borough</th>'
        '<th class="n">Hectares</th><th>Why</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    if len(sites) > CANDIDATES_LIMIT:
        out.append(
            f'<p class="note">The {CANDIDATES_LIMIT} largest of {len(sites):,}; every one is in '
            "summary.json.</p>"
        )
    return out


def years_sections(summary: Mapping[str, Any]) -> list[str]:
    """Return the HTML of the index page's sections over ERIC years; none without them.

    Parameters
    ----------
    summary : mapping
        ``summary.json``; ``land_over_time``, ``change_since`` and
        ``disposal_candidates`` are read when present and left unchanged.

    Returns
    -------
    list of str
        HTML fragments, texts escaped: London's land by year as a chart (see
        :func:`estates.render.chart.render_land_by_year_chart`), the measures'
        definitions and, as the chart's text alternative, a table with each
        year's definition; what the change since the earlier return leaves out
        (the change itself is the page's headline, :func:`change_headline`);
        and the candidate disposals (site, trust, borough, hectares) with
        their note.
    """
    out: list[str] = []
    land = summary.get("land_over_time")
    if isinstance(land, Mapping):
        out.extend(_land_by_year(land))
    change = summary.get("change_since")
    if isinstance(change, Mapping) and change.get("note"):
        out.append(f'<p class="note">{escape(str(change["note"]))}</p>')
    candidates = summary.get("disposal_candidates")
    if isinstance(candidates, Mapping) and candidates:
        out.extend(_candidates(candidates))
    return out
