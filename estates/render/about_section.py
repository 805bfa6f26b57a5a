"""The "About this map" section under each map page: what the page shows and whose data.

A map page is often sent on its own, as an e-mail attachment, without
``index.html`` beside it. This section makes it explain itself: the data
year and build date, the reconciliation and the values' caveat (the page's
facts), how to read the shading, the markers and the score, what "not
delivering services" means, and the sources and licence lines the bundled
data require on every copy (drawn by :func:`estates.render.sources.sources_html`,
as on ``index.html``). Its links to the other files say where they would be,
so a reader who has only this page knows what is missing. Every text from the
data is escaped; the rest are constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from estates import style

__all__ = ["ABOUT_ID", "about_section"]

#: The section's id: the panel and the map's credit line link to it.
ABOUT_ID = "est-about"


def _score_bands() -> str:
    lows = (0.0, *style.SCORE_BINS[:-1])
    bands = [f"{lo:.1f}–{hi:.1f}" for lo, hi in zip(lows, style.SCORE_BINS, strict=True)]
    return ", ".join(bands)


def _how_to_read(classes_note: str, *, pilot_page: bool, by_count: bool) -> str:
    shading = (
        "Each borough is shaded by the number of sites located in it (the sites carry no land "
        "figures, so unused land could not be computed)."
        if by_count
        else "Each borough is shaded by the land not delivering services at its located sites, "
        "in hectares (the layer control at the top right switches to the range of its "
        "value); darker means more."
    )
    ranks = (
        "The table ranks each site within this pilot and gives its rank in London in brackets."
        if pilot_page
        else "Ranks are London-wide: 1 is the strongest case for disposal."
    )
    items = (
        f"{shading} {classes_note} The legend gives each class's range; a borough with no "
        "figure is shown as no data.",
        "Each circle is one site an NHS trust reported. Its colour is the site's disposal "
        f"score in bands ({_score_bands()}; grey: not scored, for want of a figure); its area "
        "(not its radius) grows with the site's unused land, up to a largest size, so a "
        "site with none is the smallest circle.",
        "The disposal score (0 to 1, higher is a stronger case) weighs the value of the "
        "unused land (the midpoint of its range), the share of the site's land that is "
        "unused and the backlog maintenance a disposal would avoid; a PFI contract or an "
        f"unresolved data-quality flag lowers it. {ranks}",
        "Land not delivering services is ERIC's own measure: the hectares of a site that "
        "the trust reports it owns but does not use to deliver services, as the trust "
        "submitted them, not checked centrally. A site or pilot showing 0.00 ha is one "
        "whose trusts reported none at the sites the map could place.",
        "Values are indicative, for policy appraisal: unused hectares times the 2017 "
        "land value estimates' £ per hectare for the borough, from industrial to "
        "residential use. They are not market values, and take no account of planning, "
        "costs or a trust's own plans for the land.",
    )
    return '<ul class="est-about-list">' + "".join(f"<li>{escape(t)}</li>" for t in items) + "</ul>"


def about_section(
    facts: Sequence[str],
    sources: str,
    classes_note: str,
    *,
    pilot_page: bool,
    by_count: bool = False,
) -> str:
    """Return the HTML of a map page's "About this map" section.

    Parameters
    ----------
    facts : sequence of str
        The page's plain sentences (values' basis and caveat, data year and
        build date, reconciliation); escaped here. Empty ones are skipped.
    sources : str
        The sources and licences, already HTML (from
        :func:`estates.render.sources.sources_html`).
    classes_note : str
        How the borough classes were drawn (raw; escaped here).
    pilot_page : bool
        A pilot's page ranks its sites within the pilot, and says so.
    by_count : bool
        The boroughs are shaded by site count (sites without land figures).

    Returns
    -------
    str
        A ``<section>`` landmark with a heading, for the end of the page.
    """
    facts_html = "".join(f"<p>{escape(f)}</p>" for f in facts if f)
    return (
        f'<section class="est-about" id="{ABOUT_ID}" aria-labelledby="est-about-h"'
        ' tabindex="-1">'
        '<h2 id="est-about-h">About this map</h2>'
        f"{facts_html}"
        "<h3>How to read the map</h3>"
        f"{_how_to_read(classes_note, pilot_page=pilot_page, by_count=by_count)}"
        "<h3>Sources and licences</h3>"
        f"{sources or '<p>No sources were recorded for this build.</p>'}"
        "<p>The map is drawn with Leaflet (BSD-2-Clause, © Vladimir Agafonkin), inlined so "
        "the page works offline.</p>"
        "<h3>The other files</h3>"
        "<p>This page works on its own. The build also writes index.html, in the same folder "
        "as this page, with every map, the headline figures and the disposal pipeline "
        '(<a href="index.html">open index.html</a>, if it came with this page), and '
        'sites.csv, every site with every column (<a href="sites.csv">open sites.csv</a>).'
        "</p></section>"
    )
