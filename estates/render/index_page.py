"""The index page: headline figures, the pipeline chart, links to every map, sources.

It has no script at all (its Content-Security-Policy forbids any), and every
text from the summary is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from estates import style
from estates.errors import DataValidationError
from estates.render import chart
from estates.render.assets import inline_style, package_text
from estates.render.page import csp
from estates.render.payload import summary_part
from estates.render.selection import FIRST_PILOT

__all__ = ["render_index", "summary_number"]

_INDEX_CSS = package_text("index.css")


def summary_number(obj: Mapping[str, Any], key: str) -> float | None:
    """Return ``obj[key]`` as a float, None if absent; refuse a value that is not a number."""
    value = obj.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        msg = f"summary value {key!r} must be a number, got {value!r}"
        raise DataValidationError(msg) from err


_CELL_FORMAT = {
    "land_unused_ha": style.format_ha,
    "estimated_value_gbp": style.format_gbp,
    "share_of_target": style.format_share,
}


def _figure_cells(block: Mapping[str, Any], keys: Sequence[str]) -> str:
    """Return ``<td>`` cells of formatted figures, 'n/a' where one is missing."""
    return "".join(
        f'<td class="n">{escape(_CELL_FORMAT[k](summary_number(block, k)))}</td>' for k in keys
    )


def _card(label: str, value: str, note: str = "", *, accent: bool = False) -> str:
    cls = "card accent" if accent else "card"
    note_html = f'<div class="s">{note}</div>' if note else ""
    return (
        f'<div class="{cls}"><div class="k">{escape(label)}</div>'
        f'<div class="v">{escape(value)}</div>{note_html}</div>'
    )


def _figure_cards(
    block: Mapping[str, Any], target_text: str, value_note: str, *, sites_key: str
) -> list[str]:
    cards = []
    unused = summary_number(block, "land_unused_ha")
    owned = summary_number(block, "land_owned_ha")
    if unused is not None:
        note = f"of {escape(style.format_ha(owned))} NHS land owned" if owned is not None else ""
        cards.append(_card("Unused NHS land", style.format_ha(unused), note))
    value = summary_number(block, "estimated_value_gbp")
    if value is not None:
        cards.append(_card("Indicative value", style.format_gbp(value), escape(value_note)))
    share = summary_number(block, "share_of_target")
    if share is not None:
        cards.append(
            _card(f"Share of the {target_text} target", style.format_share(share), accent=True)
        )
    located = summary_number(block, sites_key)
    if located is not None:
        cards.append(_card("Sites on the map", f"{int(located):,}"))
    return cards


def render_index(
    summary: Mapping[str, Any], pilot_files: Sequence[tuple[str, str, Path]], has_png: bool
) -> str:
    """Return ``index.html``: figures, the pipeline chart, the maps (``pilot_files``), sources."""
    target = summary_number(summary, "target_gbp")
    target_text = style.format_gbp(target) if target is not None else "disposal"
    valuation = summary_part(summary, "valuation", "")
    london = summary_part(summary, "london", "")
    pilots = summary_part(summary, "pilots", "")
    subregions = summary_part(summary, "subregions", "")
    body: list[str] = ["<main>", "<h1>Unused NHS land in London</h1>"]
    rate = summary_number(valuation, "gbp_per_ha") if valuation else None
    value_note = f"unused hectares × {style.format_gbp(rate)} per hectare" if rate else ""
    lede = (
        "Land owned by NHS trusts in London that is not delivering services, by borough and site, "
        "ranked as a disposal pipeline."
    )
    if valuation:
        label = str(valuation.get("label") or valuation.get("method") or "")
        if rate is not None:
            lede += (
                f" Values are indicative: unused hectares × {style.format_gbp(rate)} per hectare"
            )
            lede += f" ({label})." if label else "."
    body.append(f'<p class="lede">{escape(lede)}</p>')

    if london:
        body.append("<h2>London</h2>")
        body.append(
            '<div class="cards">'
            + "".join(_figure_cards(london, target_text, value_note, sites_key="sites_located"))
            + "</div>"
        )
    ncl = summary_part(pilots, FIRST_PILOT, "['pilots']")
    if ncl:
        name = str(ncl.get("name") or FIRST_PILOT)
        body.append(f"<h2>{escape(name)}</h2>")
        body.append(
            '<div class="cards">'
            + "".join(_figure_cards(ncl, target_text, value_note, sites_key="sites"))
            + "</div>"
        )
        body.append(f'<p><a href="{FIRST_PILOT}.html">Open the {escape(name)} map</a></p>')

    pipeline = summary_part(summary, "pipeline", "")
    cumulative = pipeline.get("cumulative") or []
    svg = chart.render_pipeline_chart(cumulative, target)
    if svg:
        body.append("<h2>The disposal pipeline against the target</h2>")
        body.append(
            '<div class="panel">'
            + svg
            + '<p class="note">Sites are added in rank order of disposal score; the line is their '
            "running total of indicative value.</p></div>"
        )

    body.append(
        '<h2 id="maps">Maps</h2><table class="maps"><thead><tr><th>Map</th>'
        '<th class="n">Unused land</th><th class="n">Indicative value</th>'
        '<th class="n">Share of target</th><th class="n">Sites</th></tr></thead><tbody>'
    )

    def map_row(
        href: str, label: str, block: Mapping[str, Any], sites_key: str, primary: bool
    ) -> str:
        cls = ' class="primary"' if primary else ""
        located = summary_number(block, sites_key)
        return (
            f'<tr><td><a{cls} href="{escape(href)}">{escape(label)}</a></td>'
            + _figure_cells(block, ("land_unused_ha", "estimated_value_gbp", "share_of_target"))
            + f'<td class="n">{"n/a" if located is None else f"{int(located):,}"}</td></tr>'
        )

    body.append(map_row("london.html", "All London", london, "sites_located", True))
    for pid, name, path in pilot_files:
        body.append(
            map_row(path.name, name, summary_part(pilots, pid, "['pilots']"), "sites", False)
        )
    body.append("</tbody></table>")
    if has_png:
        body.append(
            '<p class="note">A picture of the London map for reports: '
            '<a href="london.png">london.png</a>.</p>'
        )

    if subregions:
        rows = []
        for sid, block in subregions.items():
            if not isinstance(block, Mapping):
                continue
            rows.append(
                f"<tr><td>{escape(str(block.get('name') or sid))}</td>"
                + _figure_cells(block, ("land_unused_ha", "estimated_value_gbp", "share_of_target"))
                + "</tr>"
            )
        if rows:
            body.append(
                "<h2>Sub-regions</h2><table><thead><tr><th>Sub-region</th>"
                '<th class="n">Unused land</th><th class="n">Indicative value</th>'
                '<th class="n">Share of target</th></tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>"
            )

    body.append('<h2 id="sources">Sources and licences</h2>')
    sources = [s for s in summary.get("sources") or [] if isinstance(s, Mapping)]
    if sources:
        body.append(
            "<table><thead><tr><th>Data</th><th>Attribution</th><th>Licence</th></tr></thead><tbody>"
        )
        for s in sources:
            body.append(
                f"<tr><td>{escape(str(s.get('name') or ''))}</td>"
                f"<td>{escape(str(s.get('attribution') or ''))}</td>"
                f"<td>{escape(str(s.get('licence') or ''))}</td></tr>"
            )
        body.append("</tbody></table>")
    notes = []
    if summary.get("target_source"):
        notes.append(f"Target: {escape(str(summary['target_source']))}")
    for src in valuation.get("sources") or []:
        notes.append(f"Valuation: {escape(str(src))}")
    if notes:
        body.append('<ul class="note">' + "".join(f"<li>{n}</li>" for n in notes) + "</ul>")
    body.append(
        "<footer>Made with estates. Maps use Leaflet (BSD-2-Clause, © Vladimir Agafonkin), "
        "inlined so every page works offline.</footer></main>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        + csp(tiles=False, scripts=False)
        + '\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Unused NHS land in London</title>\n"
        + inline_style(_INDEX_CSS)
        + "\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
