"""The tables under each map page: the sites drawn, with filters and a download, and the boroughs.

The site table's rows are drawn by the page's script (``static/map.js``) a
page of rows at a time from the same payload the markers come from, so a map
of 50,000 sites never holds 50,000 table rows in its document; this module
writes the part that does not depend on the rows: the heading, the filters,
the download button, the pointer to ``sites.csv`` and the column headers.
The borough table is small (33 rows) and written here whole. Every text from
the data is escaped; the rest are constants.
"""

from __future__ import annotations

from html import escape

import numpy as np

from estates import style
from estates.render.columns import number_values, text_values
from estates.render.payload import Boroughs, Names
from estates.report.headline import value_range

__all__ = ["SITE_COLUMNS", "table_section"]

#: The site table's columns: sort key and header. The script fills the cells.
SITE_COLUMNS = (
    ("rank", "Rank"),
    ("name", "Site"),
    ("trust", "Trust"),
    ("borough", "Borough"),
    ("unused", "Unused land"),
    ("value", "Value (midpoint)"),
    ("score", "Score"),
    ("pfi", "PFI"),
    ("flags", "Data-quality flags"),
)
_NUMERIC = {"rank", "unused", "value", "score"}


def _score_options() -> str:
    lows = (0.0, *style.SCORE_BINS[:-1])
    options = [
        f'<option value="{i}">{lo:.1f} – {hi:.1f}</option>'
        for i, (lo, hi) in enumerate(zip(lows, style.SCORE_BINS, strict=True))
    ]
    return "".join(options) + '<option value="none">Not scored</option>'


def _filters() -> str:
    return (
        '<div class="est-filters" role="group" aria-label="Filter the sites">'
        '<label>Score <select data-filter="score"><option value="">Any score</option>'
        f"{_score_options()}</select></label>"
        '<label>Trust <select data-filter="trust"><option value="">Any trust</option>'
        "</select></label>"
        '<label>PFI <select data-filter="pfi"><option value="">Any</option>'
        '<option value="1">PFI sites</option><option value="0">Not PFI</option>'
        "</select></label>"
        '<label>Flags <select data-filter="flags"><option value="">Any</option>'
        '<option value="+">With data-quality flags</option>'
        '<option value="-">Without flags</option></select></label>'
        '<label class="est-check"><input type="checkbox" data-filter="unused">'
        " Has unused land</label>"
        '<button type="button" class="est-clear">Clear filters</button>'
        "</div>"
    )


def _site_table(pilot_page: bool) -> str:
    heads = []
    for key, label in SITE_COLUMNS:
        text = label
        if key == "rank":
            text = "Rank in this pilot (in London)" if pilot_page else "Rank in London"
        cls = ' class="est-num"' if key in _NUMERIC else ""
        sort = ' aria-sort="ascending"' if key == "rank" else ""
        heads.append(
            f'<th scope="col"{cls}{sort}><button type="button" data-sort="{key}">'
            f"{escape(text)}</button></th>"
        )
    return (
        '<div class="est-scroll" role="region" tabindex="0"'
        ' aria-label="Sites table (scrolls sideways on a small screen)">'
        '<table class="est-table est-site-table">'
        f"<thead><tr>{''.join(heads)}</tr></thead><tbody></tbody></table></div>"
        '<nav class="est-pager" aria-label="Pages of the sites table">'
        '<button type="button" data-page="prev">Previous rows</button>'
        '<span class="est-page"></span>'
        '<button type="button" data-page="next">Next rows</button></nav>'
    )


def _borough_table(boroughs: Boroughs, names: Names) -> str:
    frame = boroughs.frame
    bnames = text_values(frame, "borough_name")
    subs = text_values(frame, "subregion")
    unused = number_values(frame, "land_unused_ha", "boroughs")
    value = number_values(frame, "estimated_value_gbp", "boroughs")
    low = number_values(frame, "value_low_gbp", "boroughs") if "value_low_gbp" in frame else value
    high = (
        number_values(frame, "value_high_gbp", "boroughs") if "value_high_gbp" in frame else value
    )
    located = number_values(frame, "sites_located", "boroughs")

    def sort_value(x: float) -> str:
        return "" if np.isnan(x) else repr(float(x))

    rows = []
    for i, name in enumerate(bnames):
        sub = escape(names.subregion(subs[i])) if subs[i] else ""
        count = "n/a" if np.isnan(located[i]) else f"{int(located[i]):,}"
        rows.append(
            f'<tr><th scope="row" data-v="{escape(name.lower())}">'
            f'<button type="button" data-borough="{i}">{escape(name)}</button></th>'
            f'<td data-v="{escape(sub.lower())}">{sub}</td>'
            f'<td class="est-num" data-v="{sort_value(unused[i])}">'
            f"{escape(style.format_ha(unused[i]))}</td>"
            f'<td class="est-num" data-v="{sort_value(value[i])}">'
            f"{escape(value_range(low[i], high[i]))}</td>"
            f'<td class="est-num" data-v="{sort_value(located[i])}">{count}</td></tr>'
        )
    num_class = ' class="est-num"'
    heads = "".join(
        f'<th scope="col"{num_class if n else ""}>'
        f'<button type="button" data-col="{c}" data-num="{int(n)}">{label}</button></th>'
        for c, (label, n) in enumerate(
            (
                ("Borough", False),
                ("Sub-region", False),
                ("Unused land", True),
                ("Value (2017 policy appraisal)", True),
                ("Sites located", True),
            )
        )
    )
    return (
        '<h2 id="est-boroughs-h">Boroughs</h2>'
        '<p class="est-note">Every London borough, with the land of all its located sites.'
        " Choose a borough to show it on the map.</p>"
        '<div class="est-scroll" role="region" tabindex="0" aria-labelledby="est-boroughs-h">'
        f'<table class="est-table est-borough-table"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def table_section(boroughs: Boroughs, names: Names, *, pilot_page: bool) -> str:
    """Return the HTML of the tables under a map page (sites and boroughs).

    Parameters
    ----------
    boroughs : Boroughs
        The boroughs as the page draws them (their frame holds the figures).
    names : Names
        Display names of the sub-regions.
    pilot_page : bool
        A pilot's page ranks its sites within the pilot, and says so.

    Returns
    -------
    str
        A ``<section>`` landmark; its site rows are drawn by the page's script.
    """
    return (
        '<section class="est-tables" id="est-table" aria-labelledby="est-table-h"'
        ' tabindex="-1">'
        '<h2 id="est-table-h">Sites on this map</h2>'
        '<p class="est-note">Every site drawn on the map above. Choose a site to open it on'
        " the map; the filters hide markers on the map too. Select a column's heading to"
        " sort by it.</p>"
        f"{_filters()}"
        '<div class="est-actions"><p class="est-count" role="status"></p>'
        '<button type="button" class="est-download">Download these rows as CSV</button>'
        '<p class="est-note">Every site, with every column, is in'
        ' <a href="sites.csv">sites.csv</a>: the file is in the same folder as this page'
        " in the build's output.</p></div>"
        f"{_site_table(pilot_page)}"
        f"{_borough_table(boroughs, names)}"
        "</section>"
    )
