"""The figures a person reads first, as the lines ``estates build`` prints at the end.

Figures are written by :func:`estates.style.format_figure`, as on the maps and
the index page, so ``£917.6m`` and ``8.3%`` read the same in the terminal and
in the browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from estates.style import format_gbp, format_ha, format_share


def headline_lines(summary: Mapping[str, Any]) -> list[str]:
    """Return London's and each pilot's unused land, value and share of the target.

    Parameters
    ----------
    summary : mapping
        The content of ``summary.json``.

    Returns
    -------
    list of str
        One line for London, one per pilot, and the valuation's label, so a
        reader never takes an indicative figure for a market value.

    Examples
    --------
    >>> summary = {
    ...     "target_gbp": 11e9,
    ...     "london": {"land_unused_ha": 42.62, "estimated_value_gbp": 9.18e8,
    ...                "share_of_target": 0.0834, "sites_located": 101},
    ...     "pilots": {"ncl_estates": {"name": "NCL estates pilot", "land_unused_ha": 0.79,
    ...                "estimated_value_gbp": 1.7e7, "share_of_target": 0.0015, "sites": 19}},
    ...     "valuation": {"label": "indicative London average"},
    ... }
    >>> for line in headline_lines(summary):
    ...     print(line)
    London: 42.6 ha not delivering services at 101 located sites, £918m, 8.3% of the £11bn target
      NCL estates pilot (ncl_estates): 0.79 ha, £17m, 0.15% of the target, 19 sites
    values: indicative London average
    """
    target = format_gbp(float(summary.get("target_gbp", math.nan)))
    london = summary.get("london", {})
    lines = [
        f"London: {_ha(london.get('land_unused_ha'))} not delivering services at "
        f"{london.get('sites_located', 0)} located sites, "
        f"{format_gbp(_num(london.get('estimated_value_gbp')))}, "
        f"{_pct(london.get('share_of_target'))} of the {target} target"
    ]
    for pilot_id, pilot in summary.get("pilots", {}).items():
        lines.append(
            f"  {pilot.get('name', pilot_id)} ({pilot_id}): {_ha(pilot.get('land_unused_ha'))}, "
            f"{format_gbp(_num(pilot.get('estimated_value_gbp')))}, "
            f"{_pct(pilot.get('share_of_target'))} of the target, {_sites(pilot.get('sites', 0))}"
        )
    label = summary.get("valuation", {}).get("label")
    if label:
        lines.append(f"values: {label}")
    return lines


def _sites(count: object) -> str:
    return "1 site" if count == 1 else f"{count} sites"


def _num(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _ha(value: object) -> str:
    return format_ha(_num(value))


def _pct(value: object) -> str:
    return format_share(_num(value))
