"""The figures a person reads first, as the lines ``estates build`` prints at the end.

London and each pilot read as a value *range* with its basis, e.g. "worth
£203.8m–£685.5m at 2017 policy-appraisal values: 1.9%–6.2% of the £11bn target",
followed by the valuation's caveat, so that no one takes them for market values.
Every number is written by :mod:`estates.style`'s one formatter, as on the maps
and the index page, so a figure reads the same in the terminal and the browser.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from estates.style import format_gbp, format_ha, format_share

#: What a group whose value is 0 (or unknown) says about itself.
NOTHING_TO_VALUE = "no land not delivering services reported at its located sites"
#: Why a group's value can be unknown although it has land not delivering services.
NOT_VALUED = "its land not delivering services has no value (see value_basis in sites.csv)"


def headline_lines(summary: Mapping[str, Any]) -> list[str]:
    """Return London's and each pilot's unused land, value range and share of the target.

    Parameters
    ----------
    summary : mapping
        The content of ``summary.json`` (``target_gbp``, ``london``, ``pilots``
        with ``value_low_gbp``/``value_high_gbp`` and their shares, ``valuation``).

    Returns
    -------
    list of str
        One line for London, one per pilot, and the valuation's caveat.

    Examples
    --------
    >>> summary = {
    ...     "target_gbp": 11e9,
    ...     "london": {"land_unused_ha": 42.62, "sites_with_unused_land": 11,
    ...                "value_low_gbp": 2.04e8, "value_high_gbp": 6.85e8,
    ...                "share_of_target_low": 0.018524, "share_of_target_high": 0.0623},
    ...     "pilots": {
    ...         "ncl": {"name": "NCL estates pilot", "land_unused_ha": 0.79,
    ...                 "sites_with_unused_land": 1, "value_low_gbp": 4.3e6,
    ...                 "value_high_gbp": 2.78e7, "share_of_target_low": 0.00039,
    ...                 "share_of_target_high": 0.0025},
    ...         "bhr": {"name": "BHR pilot", "land_unused_ha": 0.0, "sites_with_unused_land": 0,
    ...                 "value_low_gbp": 0.0, "value_high_gbp": 0.0}},
    ...     "valuation": {"method": "mhclg_2017_range",
    ...                   "caveat": "at 2017 policy-appraisal values, not market values",
    ...                   "basis": "MHCLG 2017 policy-appraisal: industrial–residential"},
    ... }
    >>> for line in headline_lines(summary):
    ...     print(line)
    London: 42.6 ha not delivering services at 11 sites, worth £204m–£685m at 2017 policy-appraisal values: 1.9%–6.2% of the £11bn target
      NCL estates pilot (ncl): 0.79 ha at 1 site, worth £4.3m–£27.8m: 0.04%–0.25% of the target
      BHR pilot (bhr): £0: no land not delivering services reported at its located sites
    values: MHCLG 2017 policy-appraisal: industrial–residential, at 2017 policy-appraisal values, not market values
    """  # noqa: E501
    lines = [london_line(summary)]
    for pilot_id in summary.get("pilots", {}):
        lines.append(f"  {pilot_line(summary, pilot_id)}")
    lines.append(f"values: {caveat_line(summary)}")
    return lines


def london_line(summary: Mapping[str, Any]) -> str:
    """Return London's headline: unused land, sites, value range with its basis, share of target.

    The terminal prints it and every page shows it, so both read the same.
    """
    valuation = summary.get("valuation", {})
    target = _money(_num(summary.get("target_gbp")))
    london = summary.get("london", {})
    return (
        f"London: {_ha(london.get('land_unused_ha'))} not delivering services at "
        f"{_sites(london.get('sites_with_unused_land', 0))}, "
        + _worth(london, _basis_phrase(valuation), f"the {target} target")
    )


def pilot_line(summary: Mapping[str, Any], pilot_id: str) -> str:
    """Return one pilot's headline, as the terminal prints it (without the indent).

    A pilot with no land not delivering services says so (:data:`NOTHING_TO_VALUE`).
    """
    pilot = summary.get("pilots", {}).get(pilot_id, {})
    name = f"{pilot.get('name', pilot_id)} ({pilot_id}): "
    if not pilot.get("sites_with_unused_land"):
        return f"{name}{_money(0.0)}: {NOTHING_TO_VALUE}"
    return (
        f"{name}{_ha(pilot.get('land_unused_ha'))} at "
        f"{_sites(pilot.get('sites_with_unused_land', 0))}, " + _worth(pilot, "", "the target")
    )


def caveat_line(summary: Mapping[str, Any]) -> str:
    """Return the valuation's basis and caveat, e.g. "MHCLG 2017 ..., not market values"."""
    return _caveat_line(summary.get("valuation", {}))


def value_range(low: float | None, high: float | None) -> str:
    """Return a value range as every output writes it: ``£4.3m–£27.8m``, or one figure.

    Examples
    --------
    >>> value_range(4.3e6, 2.78e7), value_range(0.0, 0.0), value_range(None, 1.0)
    ('£4.3m–£27.8m', '£0', 'n/a')
    """
    lo, hi = _num(low), _num(high)
    if math.isnan(lo) or math.isnan(hi):
        return _money(math.nan)
    return _money_range(lo, hi)


def share_range(low: object, high: object) -> str:
    """Return a range of shares of the target: ``1.9%–6.2%``, or one figure when equal."""
    return _share_range(low, high)


def _worth(group: Mapping[str, Any], basis: str, target: str) -> str:
    low, high = _num(group.get("value_low_gbp")), _num(group.get("value_high_gbp"))
    if math.isnan(low) or math.isnan(high):
        return NOT_VALUED
    shares = _share_range(group.get("share_of_target_low"), group.get("share_of_target_high"))
    return f"worth {_money_range(low, high)}{basis}: {shares} of {target}"


def _basis_phrase(valuation: Mapping[str, Any]) -> str:
    method = valuation.get("method")
    if method == "mhclg_2017_range":
        return " at 2017 policy-appraisal values"
    if method == "land_values_file":
        return " at the --land-values file's values"
    if method == "indicative_london_average":
        return " (derived from the target, not a land value)"
    return ""


def _caveat_line(valuation: Mapping[str, Any]) -> str:
    basis = str(valuation.get("basis") or valuation.get("label") or "")
    caveat = str(valuation.get("caveat") or "")
    if valuation.get("method") == "indicative_london_average":
        return basis
    return ", ".join(p for p in (basis, caveat) if p)


def _money(value: float) -> str:
    return format_gbp(value)


def _money_range(low: float, high: float) -> str:
    if low == high:
        return _money(low)
    return f"{_money(low)}–{_money(high)}"


def _share_range(low: object, high: object) -> str:
    lo, hi = format_share(_num(low)), format_share(_num(high))
    return lo if lo == hi else f"{lo}–{hi}"


def _sites(count: object) -> str:
    """Return a count of sites, its thousands separated as the figures beside it.

    Examples
    --------
    >>> _sites(1), _sites(17), _sites(11279)
    ('1 site', '17 sites', '11,279 sites')
    """
    if count == 1:
        return "1 site"
    return f"{count:,} sites" if isinstance(count, numbers.Integral) else f"{count} sites"


def _num(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _ha(value: object) -> str:
    return format_ha(_num(value))
