"""Check site records: codes, duplicates, land areas and coordinates.

A record that cannot be used is *rejected* (left out of the site table); one
that can be used with a caveat is *flagged* (kept, with the caveat in its
``quality_flags``). Either way a :class:`~estates.findings.Finding` says which
file, row, column and value, and what to do about it. Validation never raises
for a bad record; it raises only when a whole file is unusable.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estates.config import ValidationConfig
from estates.crs import LONDON_BOUNDS_BNG, LONDON_BOUNDS_WGS84
from estates.findings import Checked, Findings
from estates.frames import stage_copy
from estates.io.csv_reader import read_number
from estates.logs import counted

log = logging.getLogger("estates")

_BNG_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)


@dataclass(frozen=True)
class KnownKeys:
    """Site keys taken before a part of the input: ``{key: (source_file, source_row)}``."""

    first_seen: Mapping[str, tuple[str, int]] = field(default_factory=dict)


#: Characters of a text the maps show; longer ones end in an ellipsis there (tables keep them).
MAX_PAGE_TEXT = 200
#: Text columns the maps show, checked against :data:`MAX_PAGE_TEXT`.
PAGE_TEXT_COLUMNS = ("site_name", "site_type", "trust_name")


def shorten_for_page(text: str, limit: int = MAX_PAGE_TEXT) -> str:
    """Return ``text`` cut to ``limit`` characters, the last an ellipsis, if it is longer.

    Examples
    --------
    >>> shorten_for_page("Royal Free Hospital")
    'Royal Free Hospital'
    >>> shorten_for_page("x" * 250)[-3:], len(shorten_for_page("x" * 250))
    ('xx…', 200)
    """
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def add_flag(flags: pd.Series, mask: pd.Series | np.ndarray, text: str) -> pd.Series:
    """Return ``flags`` with ``text`` appended (``;``-separated) where ``mask`` holds."""
    out = flags.copy()
    mask = np.asarray(mask, dtype=bool)
    current = out[mask]
    out[mask] = np.where(current.eq("").to_numpy(), text, current + ";" + text)
    return out


def validate_records(
    records: pd.DataFrame,
    *,
    config: ValidationConfig,
    known: KnownKeys | None = None,
) -> Checked[pd.DataFrame]:
    """Return the usable records, with a ``quality_flags`` column, and the findings on the rest.

    Parameters
    ----------
    records : pandas.DataFrame
        Site records from :mod:`estates.io.inputs` (``site_code``, ``source_file``,
        ``source_row``, optional land and coordinate columns). Left unchanged.
    config : ValidationConfig
        The limits used by the checks.
    known : KnownKeys, optional
        Site keys (:func:`site_keys`) already taken by records outside
        ``records`` (earlier parts of the same input), with where each was
        first seen; a record with such a key is a duplicate.

    Returns
    -------
    Checked
        ``value``: the records not rejected, in input order, with
        ``quality_flags`` (``;``-separated short codes, ``""`` when clean).
        ``findings``: one finding per problem, check by check.

    Examples
    --------
    >>> records = pd.DataFrame({"site_code": ["A", "A", ""], "source_file": "s.csv",
    ...     "source_row": [2, 3, 4], "land_unused_ha": [1.0, 2.0, -1.0]})
    >>> kept, found = validate_records(records, config=ValidationConfig())
    >>> kept["site_code"].tolist(), [f.check for f in found]
    (['A'], ['blank_site_code', 'duplicate_site_code', 'negative_area'])
    """
    out = stage_copy(records)
    if "quality_flags" not in out:
        out["quality_flags"] = pd.Series("", index=out.index, dtype=object)
    findings = Findings()
    reject = np.zeros(len(out), dtype=bool)
    if "_reject_geometry" in out:
        reject |= out["_reject_geometry"].to_numpy(dtype=bool)
    mask, found = _check_codes(out, known.first_seen if known else {})
    reject |= mask
    findings.merge(found)
    mask, found = _check_land(out, config)
    reject |= mask
    findings.merge(found)
    out["quality_flags"], found = _flag_implausible_land(out, config)
    findings.merge(found)
    out["quality_flags"], found = _flag_long_text(out)
    findings.merge(found)
    mask, found = _check_coordinates(out)
    reject |= mask
    findings.merge(found)
    kept = out.loc[~reject].drop(
        columns=[c for c in out.columns if c.endswith("_text") or c.startswith("_")]
    )
    log.info(
        "validated %s: %d kept, %d rejected, %d flagged",
        counted(len(out), "record"),
        len(kept),
        int(reject.sum()),
        int((kept["quality_flags"] != "").sum()),
    )
    return Checked(kept, findings)


def reject_bad_coordinates(frame: pd.DataFrame) -> Checked[pd.DataFrame]:
    """Return ``frame`` without rows whose coordinates are unusable, and a finding for each.

    Used for files that only carry locations (``--locations``), whose rows need
    the same coordinate checks as site records. ``frame`` is left unchanged.
    """
    reject, findings = _check_coordinates(frame)
    kept = frame.loc[~reject].drop(columns=[c for c in frame.columns if c.endswith("_text")])
    return Checked(kept, findings)


def _check_coordinates(out: pd.DataFrame) -> tuple[np.ndarray, Findings]:
    """Return which rows have unusable coordinates (WGS84 or BNG), and a finding for each."""
    reject, findings = _check_latlon(out)
    mask, found = _check_easting_northing(out)
    findings.merge(found)
    return reject | mask, findings


def _where(rec: pd.Series) -> tuple[str, int]:
    return str(rec["source_file"]), int(rec["source_row"])


def site_keys(records: pd.DataFrame) -> pd.Series:
    """Return the key that must be unique per record: the stripped site code.

    ERIC aggregate rows share one code across trusts, so theirs adds the
    trust code. Blank codes give ``<NA>``.

    Examples
    --------
    >>> site_keys(pd.DataFrame({"site_code": [" A ", "", None]})).tolist()
    ['A', <NA>, <NA>]
    """
    codes = records["site_code"].astype("string").str.strip()
    blank = codes.isna() | codes.eq("")
    if "is_aggregate" in records:
        aggregate = records["is_aggregate"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        aggregate = np.zeros(len(records), dtype=bool)
    trust = (
        records["trust_code"].astype("string").fillna("")
        if "trust_code" in records
        else pd.Series("", index=records.index, dtype="string")
    )
    key = codes.fillna("").where(~aggregate, codes.fillna("") + "|" + trust)
    return key.mask(blank.to_numpy()).astype("string")


def _check_codes(
    out: pd.DataFrame, earlier: Mapping[str, tuple[str, int]]
) -> tuple[np.ndarray, Findings]:
    found = Findings()
    reject = np.zeros(len(out), dtype=bool)
    codes = out["site_code"].astype("string").str.strip()
    blank = codes.isna() | codes.eq("")
    for i in np.flatnonzero(blank.to_numpy()):
        src, row = _where(out.iloc[i])
        found.add(
            src,
            row,
            "site code is blank; every site needs its ODS site code",
            action="rejected",
            check="blank_site_code",
            column="site_code",
        )
    reject |= blank.to_numpy()
    present = np.flatnonzero(~blank.to_numpy())
    keys = site_keys(out).iloc[present].reset_index(drop=True)
    seen_before = keys.isin(list(earlier)).to_numpy() if earlier else np.zeros(len(keys), bool)
    repeated = keys.duplicated(keep="first").to_numpy() | seen_before
    if not repeated.any():
        return reject, found
    firsts = ~keys.duplicated(keep="first").to_numpy() & ~seen_before
    first_at = pd.Series(present[firsts], index=keys[firsts].to_numpy())
    sources = out["source_file"].astype(str).to_numpy()
    rows = out["source_row"].to_numpy()
    for j in np.flatnonzero(repeated):
        i = present[j]
        src = sources[i]
        if keys.iloc[j] in earlier:
            fsrc, frow = earlier[keys.iloc[j]]
        else:
            first = first_at[keys.iloc[j]]
            fsrc, frow = sources[first], int(rows[first])
        where = f"row {frow}" if fsrc == src else f"{fsrc} row {frow}"
        found.add(
            src,
            int(rows[i]),
            f"duplicate site code {codes.iloc[i]} (first seen at {where}); record rejected",
            action="rejected",
            check="duplicate_site_code",
            site_code=codes.iloc[i],
            column="site_code",
            value=codes.iloc[i],
        )
        reject[i] = True
    return reject, found


def _check_land(out: pd.DataFrame, config: ValidationConfig) -> tuple[np.ndarray, Findings]:
    found = Findings()
    reject = np.zeros(len(out), dtype=bool)
    for column in ("land_owned_ha", "land_unused_ha"):
        if column not in out:
            continue
        values = out[column].to_numpy(dtype=float)
        checks = (
            (values < 0, "negative_area", "{v:g} is negative; land areas are 0 or more hectares"),
            (
                values > config.max_site_land_ha,
                "absurd_area",
                "{v:,.2f} ha is absurd for one site (the limit is "
                f"{config.max_site_land_ha:,.0f} ha); check the units",
            ),
        )
        for mask, check, template in checks:
            for i in np.flatnonzero(mask):
                src, row = _where(out.iloc[i])
                found.add(
                    src,
                    row,
                    f"{column} " + template.format(v=values[i]),
                    action="rejected",
                    check=check,
                    site_code=out["site_code"].iloc[i],
                    column=column,
                    value=values[i],
                )
                reject[i] = True
    if {"land_owned_ha", "land_unused_ha"} <= set(out.columns):
        owned = out["land_owned_ha"].to_numpy(dtype=float)
        unused = out["land_unused_ha"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            over = unused > owned + 1e-9
        for i in np.flatnonzero(over & ~reject):
            src, row = _where(out.iloc[i])
            found.add(
                src,
                row,
                f"land not delivering services ({unused[i]:g} ha) exceeds land owned "
                f"({owned[i]:g} ha); one of the two is wrong",
                action="rejected",
                check="unused_exceeds_owned",
                site_code=out["site_code"].iloc[i],
                column="land_unused_ha",
                value=unused[i],
            )
            reject[i] = True
    return reject, found


def _flag_implausible_land(
    out: pd.DataFrame, config: ValidationConfig
) -> tuple[pd.Series, Findings]:
    found = Findings()
    flags = out["quality_flags"]
    if not {"land_owned_ha", "floor_area_gia_m2"} <= set(out.columns):
        return flags, found
    owned = out["land_owned_ha"].to_numpy(dtype=float)
    gia = out["floor_area_gia_m2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = owned * 10_000 / gia
    implausible = (gia > 0) & (ratio > config.max_land_to_floor_ratio)
    for i in np.flatnonzero(implausible):
        rec = out.iloc[i]
        src, row = _where(rec)
        site_type = str(rec.get("site_type", "site")).split(". ", 1)[-1].lower()
        found.add(
            src,
            row,
            f"implausible area for the site type: {owned[i]:g} ha of land owned for a "
            f"{site_type} with {gia[i]:,.0f} m² of floor area (land is {ratio[i]:,.0f}× the "
            f"floor area; the limit is {config.max_land_to_floor_ratio:,.0f}×); a unit or "
            "entry error? Kept, flagged, penalised in the score",
            action="flagged",
            check="implausible_land_area",
            site_code=rec["site_code"],
            column="land_owned_ha",
            value=owned[i],
        )
    return add_flag(flags, implausible, "implausible_land_area"), found


def _flag_long_text(out: pd.DataFrame) -> tuple[pd.Series, Findings]:
    """Flag texts the maps will shorten, so the shortening is on record."""
    found = Findings()
    flags = out["quality_flags"]
    long_any = np.zeros(len(out), dtype=bool)
    for column in PAGE_TEXT_COLUMNS:
        if column not in out:
            continue
        lengths = out[column].astype("string").str.len().fillna(0).to_numpy(dtype=int)
        too_long = lengths > MAX_PAGE_TEXT
        for i in np.flatnonzero(too_long):
            rec = out.iloc[i]
            src, row = _where(rec)
            found.add(
                src,
                row,
                f"{column} is {lengths[i]:,} characters; the maps show its first "
                f"{MAX_PAGE_TEXT - 1} and an ellipsis, the tables keep it whole",
                action="flagged",
                check="long_text",
                site_code=rec["site_code"],
                column=column,
                value=shorten_for_page(str(rec[column]), 60),
            )
        long_any |= too_long
    return add_flag(flags, long_any, "long_text"), found


def _number_problem(text: str) -> str:
    """Say why a coordinate's text is not a number, naming the likely reading if any."""
    problem = read_number(text.strip())[1]
    return "is not a finite number" if problem in {None, "is not a number"} else problem


#: A coordinate problem: (reason, column, value, check).
_Problem = tuple[str, str, object, str]


def _check_latlon(out: pd.DataFrame) -> tuple[np.ndarray, Findings]:
    if "latitude" not in out:
        return np.zeros(len(out), dtype=bool), Findings()
    lat = out["latitude"].to_numpy(dtype=float)
    lon = out["longitude"].to_numpy(dtype=float)
    # Only rows that are not plainly fine (both given, in range, not swapped)
    # are looked at one by one: a million good rows cost no Python loop.
    with np.errstate(invalid="ignore"):
        swapped = _swapped(lon, lat, LONDON_BOUNDS_WGS84)
        fine = (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ~swapped
    return _check_pairs(out, ("latitude", "longitude"), fine, _latlon_problem)


def _latlon_problem(la: float, lo: float, texts: tuple[str, str]) -> _Problem | None:
    """Return what is wrong with a latitude/longitude pair, at least one given, or None."""
    la_t, lo_t = texts[0].strip(), texts[1].strip()
    given_la = not math.isnan(la) or _is_given(la_t)
    given_lo = not math.isnan(lo) or _is_given(lo_t)
    if given_la != given_lo:
        column = "latitude" if not given_la else "longitude"
        other = "longitude" if column == "latitude" else "latitude"
        reason = f"{column} is blank but {other} is given; give both or neither"
        return reason, column, None, "bad_coordinate"
    if math.isnan(la) or math.isnan(lo):
        column, text = ("latitude", la_t) if math.isnan(la) else ("longitude", lo_t)
        reason = f"{column} {text!r} {_number_problem(text)}; write decimal degrees, e.g. 51.5074"
        return reason, column, text, "bad_coordinate"
    if not (math.isfinite(la) and math.isfinite(lo)):
        column, value = ("latitude", la) if not math.isfinite(la) else ("longitude", lo)
        return f"{column} {value} is not a finite number", column, value, "bad_coordinate"
    if abs(la) > 90 or abs(lo) > 180:
        column, value = ("latitude", la) if abs(la) > 90 else ("longitude", lo)
        if _in_box(lo, la, _BNG_EXTENT) or _in_box(la, lo, _BNG_EXTENT):
            reason = (
                f"{column} {value:g} is out of range; these look like British National "
                "Grid metres: put them in easting/northing columns (EPSG:27700)"
            )
            return reason, column, value, "bng_as_degrees"
        reason = f"{column} {value:g} is out of range (latitude ±90, longitude ±180)"
        return reason, column, value, "bad_coordinate"
    if _swapped(lo, la, LONDON_BOUNDS_WGS84):
        reason = (
            f"latitude {la:g} and longitude {lo:g} look swapped: that point is outside "
            "London, swapped it is inside; swap the Latitude/Longitude columns"
        )
        return reason, "latitude", la, "latlon_swapped"
    return None


def _check_easting_northing(out: pd.DataFrame) -> tuple[np.ndarray, Findings]:
    if "easting" not in out:
        return np.zeros(len(out), dtype=bool), Findings()
    east = out["easting"].to_numpy(dtype=float)
    north = out["northing"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        swapped = _swapped(east, north, LONDON_BOUNDS_BNG)
        fine = (
            ~((np.abs(east) <= 180) & (np.abs(north) <= 90))
            & ~swapped
            & _in_box(east, north, _BNG_EXTENT)
        )
    if "latitude" in out:  # a row with a latitude is checked by its latitude/longitude
        fine |= ~np.isnan(out["latitude"].to_numpy(dtype=float))
    return _check_pairs(out, ("easting", "northing"), fine, _easting_northing_problem)


def _easting_northing_problem(e: float, n: float, texts: tuple[str, str]) -> _Problem | None:
    """Return what is wrong with an easting/northing pair, at least one given, or None."""
    given_e = not math.isnan(e) or _is_given(texts[0])
    given_n = not math.isnan(n) or _is_given(texts[1])
    if given_e != given_n:
        column = "easting" if not given_e else "northing"
        reason = f"{column} is blank but the other coordinate is given; give both or neither"
        return reason, column, None, "bad_coordinate"
    if math.isnan(e) or math.isnan(n) or not (math.isfinite(e) and math.isfinite(n)):
        column = "easting" if not math.isfinite(e) else "northing"
        value = (texts[0] if column == "easting" else texts[1]) or None
        problem = _number_problem(value or "")
        metres = " of metres" if problem == "is not a finite number" else ""
        return f"{column} {value!r} {problem}{metres}", column, value, "bad_coordinate"
    if abs(e) <= 180 and abs(n) <= 90:
        reason = (
            f"easting {e:g} and northing {n:g} look like degrees, not metres: put them in "
            "longitude/latitude columns (WGS84)"
        )
        return reason, "easting", e, "degrees_as_bng"
    if _swapped(e, n, LONDON_BOUNDS_BNG):
        reason = f"easting {e:g} and northing {n:g} look swapped; swap the two columns"
        return reason, "easting", e, "easting_northing_swapped"
    if not _in_box(e, n, _BNG_EXTENT):
        reason = f"easting {e:g}, northing {n:g} is outside the British National Grid"
        return reason, "easting", e, "bad_coordinate"
    return None


def _check_pairs(
    out: pd.DataFrame,
    columns: tuple[str, str],
    fine: np.ndarray,
    problem: Callable[[float, float, tuple[str, str]], _Problem | None],
) -> tuple[np.ndarray, Findings]:
    """Reject each row not ``fine`` whose coordinate pair ``problem`` finds wrong.

    A row giving neither coordinate (number or text) is left alone: it is for
    the other coordinate columns, or for the locate stage.
    """
    found = Findings()
    reject = np.zeros(len(out), dtype=bool)
    x = out[columns[0]].to_numpy(dtype=float)
    y = out[columns[1]].to_numpy(dtype=float)
    x_text, y_text = _texts(out, columns[0]), _texts(out, columns[1])
    for i in np.flatnonzero(~fine):
        texts = (str(x_text.iloc[i]), str(y_text.iloc[i]))
        given_x = not math.isnan(x[i]) or _is_given(texts[0])
        given_y = not math.isnan(y[i]) or _is_given(texts[1])
        if not given_x and not given_y:
            continue
        wrong = problem(x[i], y[i], texts)
        if wrong is None:
            continue
        reason, column, value, check = wrong
        rec = out.iloc[i]
        src, row = _where(rec)
        found.add(
            src,
            row,
            reason,
            action="rejected",
            check=check,
            site_code=rec["site_code"],
            column=column,
            value=value,
        )
        reject[i] = True
    return reject, found


def _is_given(text: str) -> bool:
    from estates.io.csv_reader import is_missing

    return not is_missing(text)


def _texts(out: pd.DataFrame, column: str) -> pd.Series:
    """Return the text a coordinate column was read from (``<column>_text``), ``""`` if none."""
    return out.get(f"{column}_text", pd.Series("", index=out.index)).fillna("")


Box = tuple[float, float, float, float]


def _in_box(x: Any, y: Any, box: Box) -> Any:
    """Return whether ``(x, y)`` lies in ``box`` (min x, min y, max x, max y); NaN lies in none.

    Works on numbers and on arrays alike (numpy ``&``).
    """
    return (box[0] <= x) & (x <= box[2]) & (box[1] <= y) & (y <= box[3])


def _swapped(x: Any, y: Any, box: Box) -> Any:
    """Return whether ``(x, y)`` is outside ``box`` but ``(y, x)`` inside: x and y swapped."""
    return np.logical_and(_in_box(y, x, box), np.logical_not(_in_box(x, y, box)))
