"""The sources and licences of a build's data, as HTML: one table every page shows.

``index.html`` and each map page (in its "About this map" section) carry the
attribution and licence each bundled data set requires on every copy
(``data/ATTRIBUTION.md``): both draw it here, from ``summary.json``'s
``sources``, so the wording is written once. Every text from the summary is
escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from estates.report.statements import valuation_source_line

__all__ = ["sources_html"]


def sources_html(summary: Mapping[str, Any], *, values_line: bool = True) -> str:
    """Return the sources table and the values' source line as HTML (no heading).

    Parameters
    ----------
    summary : Mapping
        The run's figures, as in ``summary.json``; its ``sources`` list holds
        one mapping per data set (``name``, ``attribution``, ``licence``).
        Entries that are not mappings are skipped.
    values_line : bool
        Add the values' basis and source after the table; a map page, whose
        "About" section states that line among its facts, leaves it out.

    Returns
    -------
    str
        A ``<table>`` (empty string when there are no sources) followed by a
        note naming the values' basis and source (when the summary has one
        and ``values_line``).
    """
    parts = []
    sources = [s for s in summary.get("sources") or [] if isinstance(s, Mapping)]
    if sources:
        parts.append(
            '<table class="sources"><thead><tr><th scope="col">Data</th>'
            '<th scope="col">Attribution</th><th scope="col">Licence</th></tr></thead><tbody>'
        )
        for s in sources:
            parts.append(
                f"<tr><td>{escape(str(s.get('name') or ''))}</td>"
                f"<td>{escape(str(s.get('attribution') or ''))}</td>"
                f"<td>{escape(str(s.get('licence') or ''))}</td></tr>"
            )
        parts.append("</tbody></table>")
    source_line = valuation_source_line(summary) if values_line else ""
    if source_line:
        parts.append(f'<p class="note">{escape(source_line)}</p>')
    return "".join(parts)
