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
from estates.render.sources import sources_html
from estates.render.years_section import change_headline, years_sections
from estates.report.headline import london_line, pilot_line, share_range, value_range

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


def _value_text(block: Mapping[str, Any]) -> str:
    """Return a group's value range (``£4.3m–£27.8m``), or its one figure without a range."""
    if "value_low_gbp" in block or "value_high_gbp" in block:
        return value_range(
            summary_number(block, "value_low_gbp"), summary_number(block, "value_high_gbp")
        )
    return style.format_gbp(summary_number(block, "estimated_value_gbp"))


def _share_text(block: Mapping[str, Any]) -> str:
    """Return a group's share of the target as a range, or its one share."""
    if "share_of_target_low" in block or "share_of_target_high" in block:
        return share_range(
            summary_number(block, "share_of_target_low"),
            summary_number(block, "share_of_target_high"),
        )
    return style.format_share(summary_number(block, "share_of_target"))


def _figure_cells(block: Mapping[str, Any]) -> str:
    """Return ``<td>`` cells of unused land, value range and share, 'n/a' where one is missing."""
    texts = (
        style.format_ha(summary_number(block, "land_unused_ha")),
        _value_text(block),
        _share_text(block),
    )
    return "".join(f'<td class="n">{escape(t)}</td>' for t in texts)


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
    value = _value_text(block)
    if value != "n/a":
        cards.append(_card("Value of the unused land", value, escape(value_note)))
    share = _share_text(block)
    if share != "n/a":
        cards.append(_card(f"Share of the {target_text} target", share, accent=True))
    located = summary_number(block, sites_key)
    if located is not None:
        cards.append(_card("Sites on the map", f"{int(located):,}"))
    return cards


def render_index(
    summary: Mapping[str, Any],
    pilot_files: Sequence[tuple[str, str, Path]],
    has_png: bool,
    *,
    facts: Sequence[str] = (),
) -> str:
    """Return ``index.html``: figures, the pipeline chart, the maps (``pilot_files``), sources.

    ``facts`` are the sentences every page states (values' caveat and source,
    data year and build date, reconciliation), shown under the headline.
    """
    target = summary_number(summary, "target_gbp")
    target_text = style.format_gbp(target) if target is not None else "disposal"
    valuation = summary_part(summary, "valuation", "")
    london = summary_part(summary, "london", "")
    pilots = summary_part(summary, "pilots", "")
    subregions = summary_part(summary, "subregions", "")
    body: list[str] = ["<main>", "<h1>Unused NHS land in London</h1>"]
    value_note = str(valuation.get("caveat") or "") if valuation else ""
    lede = (
        "Land owned by NHS trusts in London that is not delivering services, by borough and site, "
        "ranked as a disposal pipeline."
    )
    body.append(f'<p class="lede">{escape(lede)}</p>')
    headlines = [london_line(summary)] if london else []
    if FIRST_PILOT in pilots:
        headlines.append(pilot_line(summary, FIRST_PILOT))
    body.extend(f'<p class="headline">{escape(line)}</p>' for line in headlines)
    change = change_headline(summary)
    if change:
        body.append(
            f'<p class="headline change">{escape(change)} '
            '<a href="#land-by-year">See London\'s land by year</a>.</p>'
        )
    body.extend(f'<p class="note fact">{escape(f)}</p>' for f in facts if f)

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

    body.extend(years_sections(summary))

    pipeline = summary_part(summary, "pipeline", "")
    cumulative = pipeline.get("cumulative") or []
    svg = chart.render_pipeline_chart(cumulative, target)
    if svg:
        # A phone shows a drawing made for its width, whose text stays legible.
        narrow = chart.render_pipeline_chart(
            cumulative, target, width=330, height=280, title_id="chart-title-narrow"
        )
        body.append("<h2>The disposal pipeline against the target</h2>")
        body.append(
            '<div class="panel">'
            + f'<div class="chart-wide">{svg}</div><div class="chart-narrow">{narrow}</div>'
            + '<p class="note">Sites are added in rank order of disposal score; the line is their '
            "running total at the midpoint of each site's value range, the figure the score "
            f"ranks by. All of them together: {escape(_value_text(london))}, "
            f"{escape(_share_text(london))} of the target.</p></div>"
        )

    body.append(
        '<h2 id="maps">Maps</h2><table class="maps"><thead><tr><th>Map</th>'
        '<th class="n">Unused land</th><th class="n">Value, 2017 policy appraisal</th>'
        '<th class="n">Share of target</th><th class="n">Sites</th></tr></thead><tbody>'
    )

    def map_row(
        href: str, label: str, block: Mapping[str, Any], sites_key: str, primary: bool
    ) -> str:
        cls = ' class="primary"' if primary else ""
        located = summary_number(block, sites_key)
        return (
            f'<tr><td><a{cls} href="{escape(href)}">{escape(label)}</a></td>'
            + _figure_cells(block)
            + f'<td class="n">{"n/a" if located is None else f"{int(located):,}"}</td></tr>'
        )

    body.append(map_row("london.html", "All London", london, "sites_located", True))
    for pid, name, path in pilot_files:
        body.append(
            map_row(path.name, name, summary_part(pilots, pid, "['pilots']"), "sites", False)
        )
    body.append("</tbody></table>")
    if has_png:
        pictures = [
            ("london.png", "London"),
            *((p.with_suffix(".png").name, n) for _, n, p in pilot_files),
        ]
        links = ", ".join(
            f'<a href="{escape(f)}">{escape(f)}</a> ({escape(n)})' for f, n in pictures
        )
        body.append(f'<p class="note">Pictures of the maps for reports: {links}.</p>')

    if subregions:
        rows = []
        for sid, block in subregions.items():
            if not isinstance(block, Mapping):
                continue
            rows.append(
                f"<tr><td>{escape(str(block.get('name') or sid))}</td>"
                + _figure_cells(block)
                + "</tr>"
            )
        if rows:
            body.append(
                "<h2>Sub-regions</h2><table><thead><tr><th>Sub-region</th>"
                '<th class="n">Unused land</th><th class="n">Value, 2017 policy appraisal</th>'
                '<th class="n">Share of target</th></tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>"
            )

    body.append('<h2 id="sources">Sources and licences</h2>')
    body.append(sources_html(summary))
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
        + '\n</head>\n<body>\n<a class="skip" href="#maps">Skip to the maps</a>\n'
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
