"""The geographic context a map page draws around its figures.

A planner should not have to click a shape to learn it is Hillingdon, nor read
a pilot's map in London's lightest class. This module works out, in Python,
what the page's script then draws:

- :func:`borough_labels`: where each borough's name goes (a point well inside
  its largest part) and which names give way when labels would collide;
- :func:`page_focus`: on a pilot page, the boroughs outside the pilot (greyed)
  and the choropleth classes computed over the pilot's own boroughs, with the
  legend's sentence saying so;
- :func:`outline_colours` and :func:`outline_legend`: one colour per pilot
  outline, and a legend entry naming each.

Every text is HTML-escaped here; nothing is drawn, read or written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from estates import style
from estates.render.borough_shapes import label_point
from estates.render.columns import number_values, text_values
from estates.render.payload import CHOROPLETHS, Boroughs

__all__ = [
    "PageFocus",
    "borough_labels",
    "geo_payload",
    "outline_colours",
    "outline_legend",
    "page_focus",
]


def borough_labels(boroughs: Boroughs) -> list[list[Any]]:
    """Return one label per borough: ``[lat, lon, name, priority]``, name escaped.

    The point is the pole of inaccessibility of the borough's largest part
    (the point farthest from its edges), so a name sits inside even an odd
    shape. ``priority`` is the borough's rank by area (0 for the largest):
    where two labels would overlap on screen, the page shows the larger
    borough's. Boroughs without a geometry get no label.
    """
    names = text_values(boroughs.frame, "borough_name")
    geoms = list(boroughs.frame.geometry.array)
    areas = np.array([0.0 if g is None or g.is_empty else float(g.area) for g in geoms])
    rank = np.empty(len(areas), dtype=int)
    rank[np.argsort(-areas, kind="stable")] = np.arange(len(areas))
    # Worked out once per set of boundaries (see estates.render.borough_shapes).
    points = boroughs.shapes.label_points if boroughs.shapes else tuple(map(label_point, geoms))
    labels = []
    for i, at in enumerate(points):
        if at is None or not names[i]:
            continue
        labels.append([round(at[1], 5), round(at[0], 5), escape(names[i]), int(rank[i])])
    return labels


@dataclass(frozen=True)
class PageFocus:
    """How one page shades its boroughs.

    Attributes
    ----------
    choropleths : dict
        Per choropleth key, ``{"fills": [...]}``: one fill per borough, in
        :attr:`Boroughs.codes` order; boroughs outside the page's area are
        :data:`estates.style.OUTSIDE_COLOUR`.
    classes : dict
        Per choropleth key, the classes the legend lists.
    outside : list of bool
        Per borough, True if it lies outside the page's area (greyed).
    note : str
        The legend's sentence on how the classes were made (plain text).
    """

    choropleths: dict[str, dict[str, Any]]
    classes: dict[str, style.Classes]
    outside: list[bool]
    note: str


_LONDON_NOTE = "Classes: Fisher-Jenks natural breaks over London's {n} boroughs."


def page_focus(
    boroughs: Boroughs, area_codes: Sequence[str] = (), area_name: str = ""
) -> PageFocus:
    """Return the shading of a page about the boroughs ``area_codes`` (all if empty).

    On London's page the classes are London's (as :func:`prepare_boroughs`
    made them). On a pilot's page the pilot's boroughs are classed among
    themselves, so five boroughs spread over the palette instead of all
    falling in London's lightest class, and the other boroughs are greyed.

    Parameters
    ----------
    boroughs : Boroughs
        The prepared boroughs (EPSG:4326); left unchanged.
    area_codes : sequence of str
        The codes of the page's boroughs; empty for London's page.
    area_name : str
        The area's display name, for the legend's sentence (raw; the legend escapes it).
    """
    n = len(boroughs.codes)
    members = {str(c) for c in area_codes}
    inside = [c in members for c in boroughs.codes]
    if not members or not any(inside):
        return PageFocus(
            choropleths=boroughs.choropleths,
            classes=boroughs.classes,
            outside=[False] * n,
            note=_LONDON_NOTE.format(n=n),
        )
    frame = boroughs.frame
    mask = np.array(inside, dtype=bool)
    choropleths: dict[str, dict[str, Any]] = {}
    classes_of: dict[str, style.Classes] = {}
    for key, (column, _title, palette, _fmt) in CHOROPLETHS.items():
        col = "sites_located" if boroughs.by_count and key == "unused" else column
        values = number_values(frame, col, "boroughs")
        classes = style.classify(values[mask], palette)
        fills = [style.OUTSIDE_COLOUR] * n
        for pos, cls in zip(np.flatnonzero(mask).tolist(), classes.index, strict=True):
            fills[pos] = classes.colour_of(cls)
        choropleths[key] = {"fills": fills}
        classes_of[key] = classes
    count = int(mask.sum())
    where = f" of {area_name}" if area_name else ""
    note = (
        f"Classes: Fisher-Jenks natural breaks over the {count} borough"
        f"{'' if count == 1 else 's'}{where}; other boroughs in grey."
    )
    return PageFocus(
        choropleths=choropleths, classes=classes_of, outside=[not v for v in inside], note=note
    )


def outline_colours(boroughs: Boroughs) -> dict[str, str]:
    """Return each pilot outline's colour, keyed by its id as the page's GeoJSON writes it."""
    ids = [str(g) for g in boroughs.pilot_outlines["group_id"]]
    return {escape(k): v for k, v in style.pilot_colours(ids).items()}


def outline_legend(
    boroughs: Boroughs, focus_pilot: str | None, row: Callable[[str, str], str]
) -> str:
    """Return the legend rows of the pilot outlines, one per pilot with its name.

    ``row(style_css, label_html)`` makes one legend row; the page's own pilot
    is listed first and marked "this page".
    """
    frame = boroughs.pilot_outlines
    colours = style.pilot_colours([str(g) for g in frame["group_id"]])
    entries = sorted(
        zip(
            (str(g) for g in frame["group_id"]), (str(n) for n in frame["group_name"]), strict=True
        ),
        key=lambda e: (e[0] != focus_pilot, e[1], e[0]),
    )
    out = []
    for gid, name in entries:
        width = 4 if gid == focus_pilot else 3
        label = escape(name) + (" (this page)" if gid == focus_pilot else "")
        out.append(row(f"border-top:{width}px solid {colours[gid]}", label))
    return "".join(out)


def geo_payload(boroughs: Boroughs, focus: PageFocus) -> dict[str, Any]:
    """Return what the page's script needs to draw the context, texts escaped.

    ``labels`` (see :func:`borough_labels`), ``outside`` (per borough, greyed
    or not) and ``names`` (each borough's escaped name, in :attr:`Boroughs.codes`
    order, so a site jump can find the borough it lies in).
    """
    return {
        "labels": borough_labels(boroughs),
        "outside": focus.outside,
        "names": [escape(n) for n in text_values(boroughs.frame, "borough_name")],
    }
