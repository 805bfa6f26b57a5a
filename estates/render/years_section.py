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

__all__ = ["CANDIDATES_LIMIT", "years_sections"]

#: The most disposal candidates the index page lists (all are in summary.json).
CANDIDATES_LIMIT = 25


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _signed_ha(value: object) -> str:
    """Write a change of hectares with its sign: ``+5.25 ha``, ``-3.40 ha``."""
    x = _num(value)
    text = style.format_ha(x)
    return f"+{text}" if x is not None and x > 0 else text


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
    return [
        "<h2>London's land by ERIC year</h2>",
        '<table class="years"><thead><tr><th>Year</th><th class="n">Land</th>'
        '<th class="n">Not delivering services</th><th class="n">Rows</th>'
        "<th>What the land figure measures</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>",
        '<p class="note">The land measure changed between returns: compare years only where '
        "the definitions match.</p>",
    ]


def _change_line(change: Mapping[str, Any]) -> list[str]:
    london = change.get("london")
    if not isinstance(london, Mapping) or not london:
        return []
    line = (
        f"Change in London since {london.get('from', '')} (to {london.get('to', '')}): "
        f"land owned {_signed_ha(london.get('land_owned_ha'))} "
        f"({style.format_ha(_num(london.get('land_owned_ha_from')))} to "
        f"{style.format_ha(_num(london.get('land_owned_ha_to')))}), "
        f"land not delivering services {_signed_ha(london.get('land_unused_ha'))} "
        f"({style.format_ha(_num(london.get('land_unused_ha_from')))} to "
        f"{style.format_ha(_num(london.get('land_unused_ha_to')))})."
    )
    out = [f'<p class="change">{escape(line)}</p>']
    if change.get("note"):
        out.append(f'<p class="note">{escape(str(change["note"]))}</p>')
    return out


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
    out.append(
        '<table class="candidates"><thead><tr><th>Site</th><th>Trust</th><th>Borough</th>'
        '<th class="n">Hectares</th><th>Why</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
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
        HTML fragments, texts escaped: London's land by year with each year's
        measure definition, the change since the earlier return, and the
        candidate disposals (site, trust, borough, hectares) with their note.
    """
    out: list[str] = []
    land = summary.get("land_over_time")
    if isinstance(land, Mapping):
        out.extend(_land_by_year(land))
    change = summary.get("change_since")
    if isinstance(change, Mapping):
        out.extend(_change_line(change))
    candidates = summary.get("disposal_candidates")
    if isinstance(candidates, Mapping) and candidates:
        out.extend(_candidates(candidates))
    return out
