"""The valuation pass of a build: one plan, made before any site is read, values every part.

:func:`plan_valuation` reads and checks what the valuation needs as soon as the
boundaries are known (:func:`estates.builder.reference.load_reference`): the
bundled MHCLG 2017 values (every borough of the boundaries must have one), or
a ``--land-values`` file (every borough must be in it). The build then values
each part of the site table with :meth:`ValuationPlan.value` and describes the
valuation once with :meth:`ValuationPlan.describe`, for ``summary.json``.

Three methods, one per run (``summary.json`` ``valuation.method``):

- ``mhclg_2017_range`` (default): industrial (low) to residential (high) £/ha
  of the site's borough (:mod:`estates.stages.land_values`);
- ``land_values_file`` (``--land-values FILE``): the file's £/ha replaces the
  residential value (and its ``low_gbp_per_ha`` the industrial one);
- ``indicative_london_average`` (``[valuation] method = "average"``, CLI
  ``--valuation average``): the target ÷ hectares owned at located London
  sites, labelled "derived from the target" and refused below
  :data:`estates.stages.target_average.MIN_BASIS_HA`. Low = high = that value.

In every method ``estimated_value_gbp`` (the figure the score, the ranking and
the running totals use) equals ``value_mid_gbp``. Under the two range methods it
depends on the site's own row only, never on the rest of the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial

import pandas as pd

from estates.config import ValuationConfig
from estates.errors import ConfigError, DataValidationError
from estates.frames import number_column
from estates.io.bundled import borough_industrial_areas_path
from estates.io.land_values import PUBLICATION, VALUATION_DATE, load_published_land_values
from estates.stages.land_values import (
    PUBLISHED_BASIS,
    apply_published_value,
    borough_value_ranges,
    valuation_caveat,
    value_unused_land,
)
from estates.stages.measures import assign_columns
from estates.stages.target_average import TargetAverage, average_from_basis
from estates.stages.valuation import Valuation, ValuationBasis, value_sites

#: ``valuation.method`` of a run with the bundled 2017 values.
METHOD_RANGE = "mhclg_2017_range"
#: ``valuation.method`` of a run with ``--land-values FILE``.
METHOD_FILE = "land_values_file"
#: ``valuation.method`` of a run with ``--valuation average``.
METHOD_AVERAGE = "indicative_london_average"


@dataclass(frozen=True)
class ValuationPlan:
    """How a build values land, read and checked before any site is read.

    Attributes
    ----------
    method : str
        :data:`METHOD_RANGE`, :data:`METHOD_FILE` or :data:`METHOD_AVERAGE`.
    target_gbp : float
        The target (£).
    target_source : str
        Where the target comes from.
    ranges : pandas.DataFrame or None
        :func:`estates.stages.land_values.borough_value_ranges` (range methods),
        indexed by borough code, covering every borough of the boundaries.
    borough_names : mapping
        ``{borough_code: name}`` of the boundaries, for messages.
    source_file : str or None
        The ``--land-values`` file's name.
    """

    method: str
    target_gbp: float
    target_source: str
    ranges: pd.DataFrame | None
    borough_names: Mapping[str, str]
    source_file: str | None = None

    def average(self, whole: ValuationBasis, basis_sites: int) -> TargetAverage | None:
        """Return the average derived from the target (average method only), or None.

        Raises
        ------
        DataValidationError
            If it would rest on too few hectares; the message names them and the sites.
        """
        if self.method != METHOD_AVERAGE:
            return None
        return average_from_basis(whole.owned_ha, basis_sites, target_gbp=self.target_gbp)

    def value(
        self, part: pd.DataFrame, *, whole: ValuationBasis, average: TargetAverage | None
    ) -> pd.DataFrame:
        """Return a copy of a part of the site table with its value columns.

        Parameters
        ----------
        part : pandas.DataFrame
            Located, joined, measured sites (any CRS; geometry not used). Left unchanged.
        whole : ValuationBasis
            The whole table's basis (used by the average method only).
        average : TargetAverage or None
            :meth:`average`'s result.

        Returns
        -------
        pandas.DataFrame
            With ``value_low_gbp_per_ha``, ``value_high_gbp_per_ha``,
            ``value_low_gbp``, ``value_high_gbp``, ``value_mid_gbp``,
            ``value_basis``, ``value_source``, ``value_gbp_per_ha``,
            ``estimated_value_gbp`` (= ``value_mid_gbp``), ``valuation_method``
            and ``valuation_source``.
        """
        if self.method == METHOD_AVERAGE:
            if average is None:
                msg = "internal check failed: the average method needs its average"
                raise AssertionError(msg)
            return self._value_average(part, whole=whole, average=average)
        if self.ranges is None:
            msg = "internal check failed: a range method needs its ranges"
            raise AssertionError(msg)
        ranged = value_unused_land(part, self.ranges, borough_names=self.borough_names)
        valued = apply_published_value(ranged)
        method = valued["valuation_method"].astype(str)
        return assign_columns(
            valued,
            {
                "valuation_method": method.where(method == "not_valued", self.method).astype(
                    "string"
                )
            },
        )

    def describe(
        self, whole: ValuationBasis, average: TargetAverage | None, *, used: Iterable[str] = ()
    ) -> Valuation:
        """Return the run's :class:`~estates.stages.valuation.Valuation` (``summary.json``).

        Parameters
        ----------
        whole : ValuationBasis
            The whole table's basis.
        average : TargetAverage or None
            :meth:`average`'s result.
        used : iterable of str
            Codes of the boroughs holding a valued site (their £/ha are listed).
        """
        if self.method == METHOD_AVERAGE and average is not None:
            return Valuation(
                method=METHOD_AVERAGE,
                gbp_per_ha=average.gbp_per_ha,
                label=average.label,
                sources=[
                    f"target: {self.target_source}",
                    "hectares owned: the site table's located London sites",
                ],
                london_owned_ha_basis=whole.owned_ha,
                target_gbp=self.target_gbp,
                basis=average.label,
                source=self.target_source,
                valuation_date=None,
                caveat="derived from the target, not a land value",
                basis_sites=average.basis_sites,
            )
        ranges = self.ranges
        if ranges is None:
            msg = "internal check failed: a range method needs its ranges"
            raise AssertionError(msg)
        codes = sorted(set(used) & set(ranges.index))
        mid = (ranges["low_gbp_per_ha"] + ranges["high_gbp_per_ha"]) / 2
        industrial = _industrial_areas(ranges)
        if self.method == METHOD_FILE:
            high_sources = list(dict.fromkeys(ranges["high_source"].astype(str)))
            dates = sorted(set(ranges["high_valuation_date"].astype(str)))
            low_from_file = bool((ranges["low_basis"] == "land values file (low)").any())
            basis = (
                f"land values file {self.source_file}: its £/ha as the high end"
                + (", its low_gbp_per_ha as the low end where given" if low_from_file else "")
                + "; elsewhere the low end is the MHCLG 2017 industrial value"
            )
            source = "; ".join(high_sources[:3]) + (
                f" and {len(high_sources) - 3} more" if len(high_sources) > 3 else ""
            )
            label = f"{basis} ({source})"
            sources = [*high_sources[:10], f"{PUBLICATION} (industrial, low end)"]
            date = ", ".join(dates)
        else:
            basis = PUBLISHED_BASIS
            source = PUBLICATION
            label = f"{PUBLISHED_BASIS}, {valuation_caveat()}"
            sources = [PUBLICATION]
            date = VALUATION_DATE
        return Valuation(
            method=self.method,
            gbp_per_ha=None,
            label=label,
            sources=sources,
            london_owned_ha_basis=whole.owned_ha,
            target_gbp=self.target_gbp,
            by_borough={c: float(mid[c]) for c in codes},
            basis=basis,
            source=source,
            valuation_date=date,
            caveat=valuation_caveat(),
            industrial_areas={
                "file": borough_industrial_areas_path().name,
                "rule": (
                    "each borough takes the industrial £/ha of the London area the file "
                    "assigns it to, with the reasoning per borough"
                ),
                "by_borough": {c: industrial[c] for c in codes if c in industrial},
            },
        )

    def _value_average(
        self, part: pd.DataFrame, *, whole: ValuationBasis, average: TargetAverage
    ) -> pd.DataFrame:
        valued, _ = value_sites(part, target_gbp=self.target_gbp, whole=whole)
        value = number_column(valued, "estimated_value_gbp")
        per_ha = number_column(valued, "value_gbp_per_ha")
        has = value.notna()
        basis = valued["valuation_source"].astype("string").copy()
        basis[has] = average.label
        source = pd.Series(pd.NA, index=part.index, dtype="string")
        source[has] = self.target_source
        return assign_columns(
            valued,
            {
                "value_low_gbp_per_ha": per_ha,
                "value_high_gbp_per_ha": per_ha,
                "value_low_gbp": value,
                "value_high_gbp": value,
                "value_mid_gbp": value,
                "value_basis": basis,
                "value_source": source,
                "valuation_source": basis,
            },
        )


def plan_valuation(
    config: ValuationConfig,
    boroughs: pd.DataFrame,
    land_values: pd.DataFrame | None,
) -> ValuationPlan:
    """Return how the build values land, checked against the boundaries.

    Parameters
    ----------
    config : ValuationConfig
        ``method`` ("range" or "average"), ``target_gbp``, ``target_source``.
    boroughs : pandas.DataFrame
        The boundaries (``borough_code``, ``borough_name``). Left unchanged.
    land_values : pandas.DataFrame or None
        :func:`estates.io.inputs.load_land_values` (already checked for units).

    Returns
    -------
    ValuationPlan

    Raises
    ------
    ConfigError
        If ``--valuation average`` is combined with ``--land-values``.
    DataValidationError
        If a borough of the boundaries has no value: not in the bundled values
        (boundaries keyed on other codes), or left out of the ``--land-values``
        file. The message names the boroughs.
    """
    names = dict(
        zip(boroughs["borough_code"].astype(str), boroughs["borough_name"].astype(str), strict=True)
    )
    plan = partial(
        ValuationPlan,
        target_gbp=config.target_gbp,
        target_source=config.target_source,
        borough_names=names,
    )
    if config.method == "average":
        if land_values is not None:
            msg = (
                "--valuation average and --land-values cannot be combined: the average is "
                "derived from the target, the file gives land values; leave out one of them"
            )
            raise ConfigError(msg)
        return plan(method=METHOD_AVERAGE, ranges=None)
    published = load_published_land_values()
    ranges = borough_value_ranges(published, land_values, borough_codes=set(names))
    source_file = None if land_values is None else str(land_values["source_file"].iloc[0])
    _require_every_borough(ranges, names, source_file)
    method = METHOD_RANGE if land_values is None else METHOD_FILE
    return plan(method=method, ranges=ranges, source_file=source_file)


def _require_every_borough(
    ranges: pd.DataFrame, names: Mapping[str, str], source_file: str | None
) -> None:
    missing = [code for code in sorted(names) if code not in ranges.index]
    if not missing:
        return
    listed = ", ".join(f"{code} ({names[code]})" for code in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    if source_file is not None:
        msg = (
            f"{source_file} has no value_gbp_per_ha for borough {listed}{more} "
            f"({len(missing)} of the boundaries' {len(names)} boroughs); every borough "
            "needs a row borough_code,value_gbp_per_ha,source"
        )
    else:
        msg = (
            f"the bundled 2017 land values have no value for borough {listed}{more} "
            f"({len(missing)} of the boundaries' {len(names)} boroughs): are the boundaries "
            "keyed on ONS GSS codes? Give a --land-values file covering every borough"
        )
    raise DataValidationError(msg)


def _industrial_areas(ranges: pd.DataFrame) -> dict[str, str]:
    area = ranges["low_basis"].astype(str)
    published = area.str.startswith("industrial land, ")
    return {str(c): a.removeprefix("industrial land, ") for c, a in area[published].items()}
