"""The visual vocabulary of every output: colours, classes and how a number is written.

The HTML maps, the PNG map, the index page, the GeoPackage's QGIS styles and
the terminal headline all read this module, so a figure reads the same
everywhere and a colour means the same thing everywhere:

- :func:`format_figure` is the one number formatter, for money (``"gbp"``),
  hectares (``"ha"``) and shares shown as percentages (``"share"``);
  :func:`format_gbp`, :func:`format_ha` and :func:`format_share` are its three
  uses. The rule: pounds to one decimal of a million (``£917.6m``) or two of a
  billion without trailing zeros (``£11bn``, ``£1.25bn``), whole thousands
  (``£450k``) and whole pounds below; hectares to two decimals below 10, one
  below 1,000 and whole above (``0.79 ha``, ``42.6 ha``, ``1,234 ha``); shares
  to one decimal of a percent (``8.3%``), two below 1% (``0.15%``); ``n/a``
  for a missing figure.
- :func:`classify` puts boroughs into Fisher-Jenks classes, with the same
  breaks as ``mapclassify.FisherJenks`` but without importing mapclassify
  (which pulls in scipy, scikit-learn and matplotlib).
- the ``*_PALETTE`` and ``*_COLOUR`` constants and :data:`CONTEXT_KINDS` say
  which colour means what, and :func:`site_radius_px` how big a site's marker is.

Nothing here reads or writes files, and importing it imports only numpy and pandas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "BACKGROUND_COLOUR",
    "CONTEXT_KINDS",
    "LAND_COLOUR",
    "LAND_UNUSED_COLOUR",
    "NO_DATA_COLOUR",
    "OUTSIDE_COLOUR",
    "PILOT_COLOUR",
    "PILOT_COLOURS",
    "RADIUS_MAX_PX",
    "RADIUS_MIN_PX",
    "RADIUS_PX_PER_SQRT_HA",
    "SCORE_BINS",
    "SCORE_PALETTE",
    "SUBREGION_COLOUR",
    "UNSCORED_COLOUR",
    "UNUSED_PALETTE",
    "VALUE_PALETTE",
    "Classes",
    "classify",
    "fisher_jenks_bins",
    "format_figure",
    "format_gbp",
    "format_ha",
    "format_share",
    "is_missing",
    "pilot_colours",
    "score_colour",
    "site_radii_px",
    "site_radius_px",
]

#: Borough fill for unused hectares (ColorBrewer PuBu, 5 classes).
UNUSED_PALETTE = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")
#: Borough fill for estimated value (ColorBrewer Greens, 5 classes).
VALUE_PALETTE = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
#: Site fill by disposal score (ColorBrewer YlOrRd, 5 classes).
SCORE_PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Upper bounds of the five disposal-score classes (scores run 0..1).
SCORE_BINS = (0.2, 0.4, 0.6, 0.8, 1.0)
#: Fill of a borough whose value is missing.
NO_DATA_COLOUR = "#e0e0e0"
#: Fill of a site with no disposal score.
UNSCORED_COLOUR = "#9e9e9e"
#: Marker radius, in screen pixels, for a site with no or zero unused land.
RADIUS_MIN_PX = 3.0
#: Marker radius grows with the square root of unused hectares, so area tracks land.
RADIUS_PX_PER_SQRT_HA = 3.5
#: Largest marker radius, in pixels, so one big site does not hide its neighbours.
RADIUS_MAX_PX = 20.0

#: Outline of a devolution pilot (solid line).
PILOT_COLOUR = "#6a1b9a"
#: Outlines of the devolution pilots, one each (:func:`pilot_colours`): dark, distinct from
#: each other, from the sub-regions' grey and from the blue and green borough fills.
PILOT_COLOURS = ("#6a1b9a", "#d95f02", "#c51b7d", "#8c510a", "#01665e", "#e41a1c", "#4d4d4d")
#: Fill of a borough outside the pilot a page is about: greyed, so the pilot stands out.
OUTSIDE_COLOUR = "#d5dade"
#: Outline of a sub-region, an STP footprint (dashed line).
SUBREGION_COLOUR = "#37474f"
#: The map's background where no borough is drawn.
BACKGROUND_COLOUR = "#dfe5eb"
#: Land in a charted return (owned, or the site's area), drawn solid or hatched by measure.
LAND_COLOUR = "#66788a"
#: Land not delivering services in a chart: the darkest class of the maps' unused-land fill.
LAND_UNUSED_COLOUR = UNUSED_PALETTE[-1]
#: Kinds of context record, in drawing order, with their layer label and colour.
CONTEXT_KINDS = {
    "hospital_2018": ("NHS hospitals, 2018", "#3f51b5"),
    "hospital_2014": ("NHS hospitals, 2014", "#00897b"),
    "clinic_2014": ("NHS clinics, 2014", "#8e6c8a"),
}


def is_missing(value: Any) -> bool:
    """Return True for None, NaN and pandas NA: a figure no output should print as a number."""
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def format_figure(value: float | None, unit: Literal["gbp", "ha", "share"]) -> str:
    """Write one figure for people, the same way in every output.

    Parameters
    ----------
    value : float or None
        Pounds for ``"gbp"``, hectares for ``"ha"``, a share in 0..1 for
        ``"share"``. None, NaN and pandas NA are written ``n/a``.
    unit : {"gbp", "ha", "share"}
        What the number counts.

    Returns
    -------
    str
        ``£917.6m``, ``£11bn``, ``£450k``; ``0.79 ha``, ``42.6 ha``,
        ``1,234 ha``; ``8.3%``, ``0.15%``; or ``n/a``.

    Raises
    ------
    ValueError
        If ``unit`` is not one of the three.

    Examples
    --------
    >>> format_figure(917_634_000, "gbp"), format_figure(42.62, "ha")
    ('£917.6m', '42.6 ha')
    >>> format_figure(0.0834, "share"), format_figure(0.0015, "share")
    ('8.3%', '0.15%')
    >>> format_figure(None, "gbp"), format_figure(float("nan"), "ha")
    ('n/a', 'n/a')
    """
    if unit not in _WRITERS:
        msg = f"unit must be one of {', '.join(_WRITERS)}, got {unit!r}"
        raise ValueError(msg)
    if is_missing(value):
        return "n/a"
    return _WRITERS[unit](float(value))  # type: ignore[arg-type]


def _write_ha(x: float) -> str:
    if abs(x) < 10:
        return f"{x:,.2f} ha"
    if abs(x) < 1000:
        return f"{x:,.1f} ha"
    return f"{x:,.0f} ha"


def _write_gbp(x: float) -> str:
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1e9:
        return f"{sign}£{_trim(f'{a / 1e9:.2f}')}bn"
    if a >= 1e6:
        return f"{sign}£{_trim(f'{a / 1e6:.1f}')}m"
    if a >= 1e3:
        return f"{sign}£{a / 1e3:.0f}k"
    return f"{sign}£{a:.0f}"


def _write_share(x: float) -> str:
    pct = x * 100
    if abs(pct) < 1:
        return f"{pct:.2f}%"
    return f"{pct:.1f}%"


_WRITERS = {"gbp": _write_gbp, "ha": _write_ha, "share": _write_share}


def _trim(number: str) -> str:
    """Drop trailing zeros after a decimal point: ``'11.00'`` -> ``'11'``."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def format_ha(value: float | None) -> str:
    """Write hectares: :func:`format_figure` with ``"ha"``.

    Examples
    --------
    >>> format_ha(0.126), format_ha(12.34), format_ha(1234.5), format_ha(float("nan"))
    ('0.13 ha', '12.3 ha', '1,234 ha', 'n/a')
    """
    return format_figure(value, "ha")


def format_gbp(value: float | None) -> str:
    """Write pounds: :func:`format_figure` with ``"gbp"``.

    Examples
    --------
    >>> format_gbp(11e9), format_gbp(12_345_678), format_gbp(450_000), format_gbp(None)
    ('£11bn', '£12.3m', '£450k', 'n/a')
    """
    return format_figure(value, "gbp")


def format_share(value: float | None) -> str:
    """Write a share (0..1) as a percentage: :func:`format_figure` with ``"share"``.

    Examples
    --------
    >>> format_share(0.1234), format_share(0.0045), format_share(None)
    ('12.3%', '0.45%', 'n/a')
    """
    return format_figure(value, "share")


def site_radius_px(land_unused_ha: float | None) -> float:
    """Return a site marker's radius in screen pixels from its unused hectares.

    The marker's area grows with the land (radius with its square root), from
    :data:`RADIUS_MIN_PX` for none or missing up to :data:`RADIUS_MAX_PX`.

    Examples
    --------
    >>> site_radius_px(0.0), site_radius_px(4.0), site_radius_px(None), site_radius_px(1e6)
    (3.0, 10.0, 3.0, 20.0)
    """
    if is_missing(land_unused_ha) or float(land_unused_ha) <= 0:  # type: ignore[arg-type]
        return RADIUS_MIN_PX
    r = RADIUS_MIN_PX + RADIUS_PX_PER_SQRT_HA * math.sqrt(float(land_unused_ha))  # type: ignore[arg-type]
    return round(min(r, RADIUS_MAX_PX), 2)


def site_radii_px(land_unused_ha: np.ndarray) -> np.ndarray:
    """Return :func:`site_radius_px` of every value of a float array, equal to the last bit.

    Examples
    --------
    >>> site_radii_px(np.array([0.0, 4.0, np.nan, 1e6])).tolist()
    [3.0, 10.0, 3.0, 20.0]
    """
    x = np.asarray(land_unused_ha, dtype=float)
    grows = x > 0  # False for NaN
    r = np.full(len(x), RADIUS_MIN_PX)
    r[grows] = np.minimum(RADIUS_MIN_PX + RADIUS_PX_PER_SQRT_HA * np.sqrt(x[grows]), RADIUS_MAX_PX)
    # Python's round, as site_radius_px uses, so ties sort the same.
    r[grows] = [round(v, 2) for v in r[grows].tolist()]
    return r


def pilot_colours(pilot_ids: Sequence[str]) -> dict[str, str]:
    """Return one outline colour per pilot id, distinct while there are colours to spare.

    Colours follow :data:`PILOT_COLOURS` in the sorted order of the ids, so a
    pilot has the same colour on every page and in the PNGs whichever page
    lists it first; past seven pilots they repeat.

    Examples
    --------
    >>> pilot_colours(["ncl_estates", "bhr_aco"])
    {'bhr_aco': '#6a1b9a', 'ncl_estates': '#d95f02'}
    """
    ids = sorted({str(p) for p in pilot_ids})
    return {p: PILOT_COLOURS[i % len(PILOT_COLOURS)] for i, p in enumerate(ids)}


def score_colour(score: float | None) -> str:
    """Return the fill colour of a site with this disposal score (0..1).

    Examples
    --------
    >>> score_colour(0.05), score_colour(0.95), score_colour(None)
    ('#ffffb2', '#bd0026', '#9e9e9e')
    """
    if is_missing(score):
        return UNSCORED_COLOUR
    for bound, colour in zip(SCORE_BINS, SCORE_PALETTE, strict=True):
        if float(score) <= bound:  # type: ignore[arg-type]
            return colour
    return SCORE_PALETTE[-1]


@dataclass(frozen=True)
class Classes:
    """Choropleth classes for one column.

    Attributes
    ----------
    bins : tuple of float
        Upper bound of each class, ascending.
    colours : tuple of str
        One fill colour per class.
    index : tuple of int
        The class of each input value, in input order; -1 where it is missing.
    minimum : float
        The smallest value, the lower bound of the first class.
    """

    bins: tuple[float, ...]
    colours: tuple[str, ...]
    index: tuple[int, ...]
    minimum: float = 0.0

    def colour_of(self, i: int) -> str:
        """Return the fill of class ``i`` (:data:`NO_DATA_COLOUR` for -1)."""
        return NO_DATA_COLOUR if i < 0 else self.colours[i]

    def labels(self, fmt: Any) -> list[str]:
        """Return one legend label per class, e.g. ``0.00 ha – 1.25 ha``.

        ``fmt`` turns a number into text, such as :func:`format_ha`. No classes
        (every value missing) give no labels.
        """
        if not self.bins:
            return []
        lows = [self.minimum, *self.bins[:-1]]
        return [f"{fmt(lo)} – {fmt(hi)}" for lo, hi in zip(lows, self.bins, strict=True)]


def _pick_colours(palette: Sequence[str], k: int) -> tuple[str, ...]:
    """Spread ``k`` colours over a 5-colour palette, keeping the extremes."""
    if k >= len(palette):
        return tuple(palette)
    if k == 1:
        return (palette[len(palette) // 2],)
    step = (len(palette) - 1) / (k - 1)
    return tuple(palette[round(i * step)] for i in range(k))


def fisher_jenks_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Return the upper bounds of ``k`` Fisher-Jenks classes of ``values``.

    The same dynamic programme as ``mapclassify.FisherJenks`` (Fisher 1958,
    as in mapclassify's ``_fisher_jenks_means``), with the same float32
    sums and the same choice between equally good breaks, so the bins are
    identical to mapclassify's; the work over each candidate class is done
    with numpy instead of a Python loop, and mapclassify is not imported.

    Parameters
    ----------
    values : numpy.ndarray
        Finite numbers, any order, at least ``k`` distinct; left unchanged.
    k : int
        Number of classes, 2 or more.

    Returns
    -------
    numpy.ndarray
        ``k`` upper bounds, ascending; the last is the largest value.

    Examples
    --------
    >>> fisher_jenks_bins(np.array([1.0, 2.0, 2.5, 9.0, 10.0, 30.0]), 3).tolist()
    [2.5, 10.0, 30.0]
    """
    x = np.sort(np.asarray(values, dtype="f8"))
    n = len(x)
    best_start = np.zeros((n + 1, k + 1), dtype=np.int32)  # mapclassify's mat1
    best_cost = np.zeros((n + 1, k + 1), dtype=np.float32)  # mat2
    best_start[1, 1:] = 1
    best_cost[2:, 1:] = np.inf
    x32 = x.astype(np.float32)
    for last in range(2, n + 1):
        # Candidate last classes x[i3-1 .. last-1], for i3 = last, last-1, ..., 1.
        tail = x32[last - 1 :: -1]
        s1 = np.cumsum(tail, dtype=np.float32)
        s2 = np.cumsum(tail * tail, dtype=np.float32)
        w = np.arange(1, last + 1, dtype=np.float32)
        var = s2 - (s1 * s1) / w
        if k >= 2:
            # Class j ends at ``last`` and starts at i3 = last - m + 1 (m = 1..last-1).
            cand = var[: last - 1, None] + best_cost[last - 1 : 0 : -1, 1:k]
            lowest = cand.min(axis=0)
            ties = cand == lowest[None, :]  # no tie at all only if a sum is NaN
            found = ties.any(axis=0)
            # mapclassify keeps the last of equally good candidates (``>=``).
            m_last = (last - 2) - np.argmax(ties[::-1], axis=0)
            best_start[last, 2:] = np.where(found, last - m_last, 0)
            best_cost[last, 2:] = np.where(found, lowest, np.float32(np.inf))
        best_start[last, 1] = 1
        best_cost[last, 1] = var[-1]
    bounds = np.zeros(k + 1, dtype=x.dtype)
    bounds[k] = x[n - 1]
    bounds[0] = x[0]
    end = n
    for count in range(k, 1, -1):
        pivot = int(best_start[end, count])
        bounds[count - 1] = x[pivot - 2]
        end = pivot - 1
    return bounds[1:]


def classify(values: pd.Series | Sequence[float], palette: Sequence[str], *, k: int = 5) -> Classes:
    """Put values into at most ``k`` Fisher-Jenks classes (:func:`fisher_jenks_bins`).

    Fisher-Jenks is exact and deterministic: the same values always give the
    same classes (natural breaks, by contrast, starts from random seeds).
    Missing values get class -1. With fewer distinct values than ``k``, there
    are fewer classes.

    Parameters
    ----------
    values : pandas.Series or sequence of float
        The values to classify, e.g. unused hectares per borough; left unchanged.
    palette : sequence of str
        Colours, light to dark; ``k`` of them are used.
    k : int, default 5
        The most classes to make.

    Returns
    -------
    Classes
        Bins (upper bounds), colours and each value's class.

    Examples
    --------
    >>> c = classify([0.0, 1.0, 1.0, 9.0, float("nan")], UNUSED_PALETTE, k=3)
    >>> c.bins, c.index
    ((0.0, 1.0, 9.0), (0, 1, 1, 2, -1))
    """
    y = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(y)
    if not present.any():
        return Classes(bins=(), colours=(), index=tuple(-1 for _ in y))
    distinct = np.unique(y[present])
    k = max(1, min(k, len(distinct)))
    if k == len(distinct):
        bins = tuple(float(b) for b in distinct)
    else:
        bins = tuple(float(b) for b in fisher_jenks_bins(y[present], k))
    edges = np.asarray(bins)
    idx = np.full(len(y), -1, dtype=int)
    idx[present] = np.searchsorted(edges, y[present], side="left")
    idx = np.minimum(idx, len(bins) - 1)
    return Classes(
        bins=bins,
        colours=_pick_colours(palette, len(bins)),
        index=tuple(int(i) for i in idx),
        minimum=float(np.nanmin(y)),
    )
