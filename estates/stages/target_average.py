"""The average £/ha derived from the target: kept as an explicit choice, refused on a small basis.

``[valuation] method = "average"`` divides the target (£11bn) by the hectares owned
at the located London sites of the run. That is a ratio of areas dressed as
money: it is not a land value, and it grows without limit as the table shrinks
(one 0.5 ha site would be "worth" £11bn). :func:`target_average` labels it
"derived from the target" and refuses it when it rests on too little land.

The threshold, :data:`MIN_BASIS_HA` = 250 ha: £11bn ÷ 250 ha = £44m per ha, more
than the 2017 residential value (with planning permission, nil affordable
housing) of 27 of the 33 London boroughs. Below it the average would price NHS
land above what housing land fetches almost everywhere in London, which no
reading of the memorandum supports. The bundled ERIC 2016/17 table rests on
510.94 ha owned at 84 of its 101 located London sites (£21.5m per ha), about 60 % of the 826.3 ha
London-region trusts report; a user's file of a few sites falls far below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from estates.errors import DataValidationError
from estates.stages.valuation import indicative_gbp_per_ha, valued_mask
from estates.style import format_gbp

#: Fewest hectares owned at located London sites the average may rest on (see module doc).
MIN_BASIS_HA = 250.0
#: The label every figure computed this way carries.
LABEL_PREFIX = "derived from the target"


@dataclass(frozen=True)
class TargetAverage:
    """The average £/ha derived from the target, and what it rests on.

    Attributes
    ----------
    gbp_per_ha : float
        ``target_gbp / basis_ha`` (£ per hectare).
    basis_ha : float
        Hectares owned at located London sites.
    basis_sites : int
        How many located London sites those hectares belong to.
    target_gbp : float
        The target (£).
    label : str
        One line saying what the figure is and is not.
    """

    gbp_per_ha: float
    basis_ha: float
    basis_sites: int
    target_gbp: float
    label: str


def target_average(
    sites: pd.DataFrame, *, target_gbp: float, min_basis_ha: float = MIN_BASIS_HA
) -> TargetAverage:
    """Return the average £/ha derived from the target, refusing it on a small basis.

    Parameters
    ----------
    sites : pandas.DataFrame
        The joined site table (``in_london``, ``borough_code``, ``land_owned_ha``).
        Left unchanged.
    target_gbp : float
        The target (£), e.g. ``config.valuation.target_gbp``.
    min_basis_ha : float
        Fewest hectares owned at located London sites the average may rest on;
        default :data:`MIN_BASIS_HA`.

    Returns
    -------
    TargetAverage

    Raises
    ------
    DataValidationError
        If the hectares owned at located London sites are below ``min_basis_ha``
        (or unknown). The message names the hectares, the number of sites and the
        £/ha the average would give, and points at the published values.

    Examples
    --------
    >>> f = pd.DataFrame({"in_london": [True, True], "borough_code": ["E09000007", "E09000014"],
    ...                   "land_owned_ha": [300.0, 200.0]})
    >>> target_average(f, target_gbp=11e9).label
    'derived from the target: £11bn ÷ 500.00 ha owned at 2 located London sites = £22m per ha; not a land value'
    >>> target_average(f.iloc[:1].assign(land_owned_ha=0.5), target_gbp=11e9)
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: the average derived from the target would rest on 0.50 ha owned at 1 located London site ...
    """  # noqa: E501
    basis = indicative_gbp_per_ha(sites, target_gbp=target_gbp)[1]
    located = valued_mask(sites)
    if "land_owned_ha" in sites:
        owned = pd.to_numeric(sites["land_owned_ha"], errors="coerce")
        count = int((located & (owned > 0)).sum())
    else:
        count = 0
    return average_from_basis(basis, count, target_gbp=target_gbp, min_basis_ha=min_basis_ha)


def average_from_basis(
    basis_ha: float, basis_sites: int, *, target_gbp: float, min_basis_ha: float = MIN_BASIS_HA
) -> TargetAverage:
    """Return the average derived from the target from its basis, refusing a small one.

    :func:`target_average` for a table added up a part at a time: ``basis_ha``
    hectares owned at ``basis_sites`` located London sites.

    Raises
    ------
    DataValidationError
        If ``basis_ha`` is below ``min_basis_ha`` or not a number; the message
        names the hectares and the sites.

    Examples
    --------
    >>> average_from_basis(550.0, 80, target_gbp=11e9).gbp_per_ha
    20000000.0
    """
    per_ha = target_gbp / basis_ha if basis_ha > 0 else math.nan
    count = basis_sites
    basis = basis_ha
    plural = "s" if count != 1 else ""
    if not (basis >= min_basis_ha) or not math.isfinite(per_ha):
        would = format_gbp(per_ha) + " per ha" if math.isfinite(per_ha) else "no figure"
        head = (
            f"the average derived from the target would rest on {basis:,.2f} ha owned at "
            f"{count} located London site{plural} ({format_gbp(target_gbp)} ÷ {basis:,.2f} ha = "
            f"{would}), below the {min_basis_ha:,.0f} ha it needs to mean anything; use the "
            "published 2017 values "
        )
        # The command line's --valuation range wins over the config file's method too.
        raise DataValidationError(
            head + '([valuation] method = "range", the default) or a --land-values file',
            cli_message=head + "(--valuation range, the default) or a --land-values file",
        )
    label = (
        f"{LABEL_PREFIX}: {format_gbp(target_gbp)} ÷ {basis:,.2f} ha owned at {count} located "
        f"London site{plural} = {format_gbp(per_ha)} per ha; not a land value"
    )
    return TargetAverage(
        gbp_per_ha=per_ha,
        basis_ha=basis,
        basis_sites=count,
        target_gbp=target_gbp,
        label=label,
    )
