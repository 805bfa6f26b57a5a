"""Data quality across ERIC years: what a multi-year total or comparison must say.

Four checks over the long frame of :func:`estates.io.eric.load_eric_returns`
(located by :func:`estates.stages.postcode.locate_eric_returns` where a check
needs places). Each returns a table for a person to read; none changes a
figure, because the source is what trusts submitted and is not amended here.

- :func:`check_land_figures`: a site whose land changes more than tenfold
  between returns (19 Aberdeen Park: 0.04, 103, then 0.1 ha) or is out of
  scale with its floor area (Becontree ambulance station: 100 ha on 1,250 m²).
- :func:`find_shared_sites`: one place reported by two or more trusts in a
  year (Barnet General is RAL26 and RRP09; Edgware appears three times).
- :func:`find_trust_changes`: trusts absent from some years (Oxleas is coded
  to another region in 2013/14 and 2019/20) or whose sites moved to another
  trust (mergers).
- :func:`compare_returns`: two years side by side, saying what each leaves out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estates.crs import BNG, WGS84, transformer
from estates.stages.locate import normalise_name

#: Columns of :func:`check_land_figures`.
LAND_CHECK_COLUMNS = [
    "check",
    "site_code",
    "trust_code",
    "site_name",
    "eric_year",
    "land_ha",
    "land_measure",
    "previous_year",
    "previous_land_ha",
    "previous_land_measure",
    "floor_area_gia_m2",
    "reason",
]


#: The columns :func:`check_land_figures` reads.
_LAND_READS = (
    "eric_year",
    "site_code",
    "trust_code",
    "site_name",
    "land_ha",
    "land_measure",
    "floor_area_gia_m2",
)
#: The columns :func:`find_shared_sites` reads (and ``postcode_normalised`` when present).
_SHARED_READS = (
    "eric_year",
    "site_code",
    "trust_code",
    "site_name",
    "land_ha",
    "land_measure",
    "latitude",
    "longitude",
)


def check_land_figures(
    returns: pd.DataFrame,
    *,
    factor: float = 10.0,
    min_change_ha: float = 1.0,
    max_land_to_floor_ratio: float = 100.0,
) -> pd.DataFrame:
    """Return the land figures to doubt: tenfold jumps between returns, land out of scale.

    Parameters
    ----------
    returns : pandas.DataFrame
        ERIC returns of several years; left unchanged. Aggregate rows are skipped.
    factor : float
        A site's land figure that grows or shrinks more than this many times
        from its previous return is listed (check ``land_changed_tenfold``),
        if the change is also at least ``min_change_ha`` hectares (so 0.01 →
        0.2 ha is not). A change from or to 0 counts as more than tenfold.
    min_change_ha : float
        See ``factor``.
    max_land_to_floor_ratio : float
        Land above this many times the floor area (GIA) is listed (check
        ``land_out_of_scale``), as :class:`estates.config.ValidationConfig` does.

    Returns
    -------
    pandas.DataFrame
        :data:`LAND_CHECK_COLUMNS`, one row per doubtful figure. When the two
        returns report different measures (site land area, then land owned),
        the reason says so: such a change may be a change of definition.
    """
    # Only the columns read below: the figures are sorted, and rows taken, from them alone.
    sites = returns.loc[~returns["is_aggregate"].to_numpy(dtype=bool), list(_LAND_READS)]
    rows: list[dict[str, object]] = []
    # Each site's reported figures, oldest first, sites in code order; a figure is
    # compared with the one just before it when both are of the same site.
    reported = sites.sort_values("eric_year")
    reported = reported[reported["land_ha"].notna() & reported["site_code"].notna()]
    reported = reported.sort_values("site_code", kind="stable")
    codes = reported["site_code"].to_numpy(dtype=object)
    land = reported["land_ha"].to_numpy(dtype="float64")
    same_site = codes[1:] == codes[:-1]
    low, high = np.minimum(land[1:], land[:-1]), np.maximum(land[1:], land[:-1])
    jumped = same_site & (high - low >= min_change_ha) & ((low == 0) | (high > factor * low))
    for i in np.flatnonzero(jumped) + 1:
        previous, row = reported.iloc[i - 1], reported.iloc[i]
        reason = (
            f"land {previous['land_ha']:g} ha in {previous['eric_year']} then "
            f"{row['land_ha']:g} ha in {row['eric_year']}: more than "
            f"{factor:g}-fold; check for an entry or unit error"
        )
        if previous["land_measure"] != row["land_measure"]:
            reason += (
                f" (the measure changed too: {previous['land_measure']} then {row['land_measure']})"
            )
        rows.append(_land_row("land_changed_tenfold", codes[i], row, previous, reason))
    gia_ha = sites["floor_area_gia_m2"] / 10_000
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = sites["land_ha"] / gia_ha
    for _, row in sites[(ratio > max_land_to_floor_ratio) & (gia_ha > 0)].iterrows():
        reason = (
            f"land {row['land_ha']:g} ha on {row['floor_area_gia_m2']:,.0f} m² of floor area "
            f"in {row['eric_year']}: over {max_land_to_floor_ratio:g} times the floor area"
        )
        rows.append(_land_row("land_out_of_scale", row["site_code"], row, None, reason))
    out = pd.DataFrame(rows, columns=LAND_CHECK_COLUMNS)
    return out.sort_values(["check", "site_code", "eric_year"], ignore_index=True)


def _land_row(
    check: str, code: object, row: pd.Series, previous: pd.Series | None, reason: str
) -> dict[str, object]:
    return {
        "check": check,
        "site_code": code,
        "trust_code": row["trust_code"],
        "site_name": row["site_name"],
        "eric_year": row["eric_year"],
        "land_ha": row["land_ha"],
        "land_measure": row["land_measure"],
        "previous_year": None if previous is None else previous["eric_year"],
        "previous_land_ha": np.nan if previous is None else previous["land_ha"],
        "previous_land_measure": None if previous is None else previous["land_measure"],
        "floor_area_gia_m2": row["floor_area_gia_m2"],
        "reason": reason,
    }


def find_shared_sites(located: pd.DataFrame, *, within_m: float = 100.0) -> pd.DataFrame:
    """Return groups of rows of one year in which two or more trusts report one place.

    Rows are joined into a group when they share a normalised postcode, a
    normalised name, or lie within ``within_m`` metres of each other, and the
    group holds more than one trust. Summing land over such a group may count
    one site twice, or may add two trusts' separate parcels: the table lets a
    person judge.

    Parameters
    ----------
    located : pandas.DataFrame
        ERIC returns with ``latitude``/``longitude`` (WGS84) where located;
        ``postcode_normalised`` is used when present. Left unchanged.
        Aggregate rows are skipped.
    within_m : float
        Distance in metres (computed in EPSG:27700) under which two located
        rows are one place.

    Returns
    -------
    pandas.DataFrame
        ``eric_year``, ``place`` (a group number within the year), ``site_code``,
        ``trust_code``, ``site_name``, ``land_ha``, ``land_measure``, ``matched_by``
        (``postcode``, ``name`` and/or ``distance``), one row per member.
    """
    # Only the columns read below: each year's group is a copy of its rows.
    read = [c for c in (*_SHARED_READS, "postcode_normalised") if c in located]
    sites = located.loc[~located["is_aggregate"].to_numpy(dtype=bool), read]
    to_bng = transformer(WGS84, BNG)
    frames = []
    for year, group in sites.groupby("eric_year", sort=True):
        n = len(group)
        postcodes = (
            group["postcode_normalised"].fillna("").to_numpy(dtype=object)
            if "postcode_normalised" in group
            else np.full(n, "", dtype=object)
        )
        names = group["site_name"].fillna("").map(normalise_name).to_numpy(dtype=object)
        links = {"postcode": _same_value_pairs(postcodes), "name": _same_value_pairs(names)}
        lat = group["latitude"].to_numpy(dtype=float)
        lon = group["longitude"].to_numpy(dtype=float)
        has = ~np.isnan(lat) & ~np.isnan(lon)
        east, north = np.full(n, np.nan), np.full(n, np.nan)
        if has.any():
            east[has], north[has] = to_bng.transform(lon[has], lat[has])
        with np.errstate(invalid="ignore"):
            distance = np.hypot(east[:, None] - east[None, :], north[:, None] - north[None, :])
        close = np.argwhere(np.triu(distance <= within_m, k=1))
        links["distance"] = [(int(a), int(b)) for a, b in close]
        roots, how = _union(n, links)
        trusts = group["trust_code"].fillna("").to_numpy(dtype=object)
        # The year's groups of two trusts or more, one frame for all of them.
        rows: list[int] = []
        places: list[int] = []
        for place, root in enumerate(sorted(set(roots))):
            members = np.flatnonzero(roots == root)
            if len(members) < 2 or len(set(trusts[members])) < 2:
                continue
            rows.extend(int(i) for i in members)
            places.extend([place] * len(members))
        if not rows:
            continue
        part = group.iloc[rows][
            ["site_code", "trust_code", "site_name", "land_ha", "land_measure"]
        ].copy()
        part.insert(0, "place", np.array(places, dtype=np.int64))
        part.insert(0, "eric_year", year)
        part["matched_by"] = [";".join(sorted(how[i])) for i in rows]
        frames.append(part)
    columns = [
        "eric_year",
        "place",
        "site_code",
        "trust_code",
        "site_name",
        "land_ha",
        "land_measure",
        "matched_by",
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    out["place"] = out.groupby("eric_year")["place"].rank(method="dense").astype(int)
    return out


def _union(
    n: int, links: dict[str, list[tuple[int, int]]]
) -> tuple[np.ndarray, dict[int, set[str]]]:
    """Return each row's group root and, per row, the kinds of link that joined it."""
    parent = list(range(n))
    how: dict[int, set[str]] = {i: set() for i in range(n)}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for label, pairs in links.items():
        for a, b in pairs:
            parent[find(a)] = find(b)
            how[a].add(label)
            how[b].add(label)
    return np.array([find(i) for i in range(n)], dtype=int), how


def _same_value_pairs(values: np.ndarray) -> list[tuple[int, int]]:
    first: dict[object, int] = {}
    pairs = []
    for i, value in enumerate(values):
        if not value:
            continue
        if value in first:
            pairs.append((first[value], i))
        else:
            first[value] = i
    return pairs


def find_trust_changes(returns: pd.DataFrame) -> pd.DataFrame:
    """Return trusts absent from some of the years loaded, and where their sites went.

    A trust absent from a year may have merged into another (its site codes
    reappear under the other trust's code), or been coded to another NHS
    England region that year (Oxleas, RPG, is ``SOUTH EAST`` in 2019/20 and
    ``SOUTH OF ENGLAND`` in 2013/14, so it is missing from London files).

    Parameters
    ----------
    returns : pandas.DataFrame
        ERIC returns of several years; left unchanged.

    Returns
    -------
    pandas.DataFrame
        ``trust_code``, ``trust_name`` (latest), ``years_present``,
        ``years_absent`` (``;``-separated), ``sites_moved_to`` (the trusts
        that report its site codes in its absent years), ``land_ha_last``
        (its land in its last year present, which a later total lacks) and
        ``kind``: ``merged`` when its sites moved to another trust after its last
        year, ``formed`` when another trust reported them before its first year,
        else ``absent`` (out of the region's file, not yet formed or closed: the
        files cannot tell which).
    """
    years = sorted(returns["eric_year"].dropna().unique())
    # Only the columns read below: each trust's group is a copy of its rows.
    read = ["eric_year", "trust_code", "trust_name", "site_code", "site_name", "land_ha"]
    returns = returns[[*read, "is_aggregate"]]
    sites = returns[~returns["is_aggregate"].to_numpy(dtype=bool)]
    # Read once as Python objects and codes: each trust's rows are masks over them, and the
    # pairs below are hashed in plain sets. A missing trust or year is in no group.
    trust_codes = sites["trust_code"].to_numpy(dtype=object)
    names = sites["site_name"].fillna("").map(normalise_name).to_numpy(dtype=object)
    codes = sites["site_code"].to_numpy(dtype=object)
    trust_number, trust_index = pd.factorize(sites["trust_code"])
    year_number, year_index = pd.factorize(sites["eric_year"])
    rows = []
    for trust, group in returns.groupby("trust_code", sort=True):
        present = sorted(group["eric_year"].unique())
        absent = [y for y in years if y not in present]
        if not absent:
            continue
        at = trust_index.get_indexer([trust])[0]
        own = trust_number == at if at >= 0 else np.zeros(len(sites), dtype=bool)
        other_trust = (trust_number >= 0) & ~own
        in_absent = np.isin(year_number, _positions(year_index, absent))
        in_present = np.isin(year_number, _positions(year_index, present))
        others = in_absent & other_trust
        # A site moved if its code, or its name under a trust that did not
        # report that name while this trust did, appears in an absent year.
        before = in_present & other_trust
        old_pairs = set(zip(trust_codes[before], names[before], strict=True))
        own_names, own_codes = set(names[own]), set(codes[own])
        other_pairs = zip(trust_codes[others], names[others], strict=True)
        by_name = np.array([name in own_names for name in names[others]], dtype=bool) & np.array(
            [pair not in old_pairs for pair in other_pairs], dtype=bool
        )
        moved_rows = np.array([code in own_codes for code in codes[others]], dtype=bool) | by_name
        moved = sorted(set(trust_codes[others][moved_rows]))
        last = group[group["eric_year"] == present[-1]]
        rows.append(
            {
                "trust_code": trust,
                "trust_name": last["trust_name"].iloc[0],
                "years_present": ";".join(present),
                "years_absent": ";".join(absent),
                "sites_moved_to": ";".join(moved),
                "land_ha_last": float(last["land_ha"].sum()),
                "kind": _change_kind(present, absent, moved=bool(moved)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "trust_code",
            "trust_name",
            "years_present",
            "years_absent",
            "sites_moved_to",
            "land_ha_last",
            "kind",
        ],
    )


def _positions(index: pd.Index, values: list[str]) -> np.ndarray:
    """Return the positions in ``index`` of those of ``values`` it holds."""
    at = index.get_indexer(values)
    out: np.ndarray = at[at >= 0]
    return out


def _change_kind(present: list[str], absent: list[str], *, moved: bool) -> str:
    if not moved:
        return "absent"
    return "formed" if max(absent) < min(present) else "merged"


def compare_returns(returns: pd.DataFrame, year_a: str, year_b: str) -> pd.DataFrame:
    """Return two years' land side by side: sites in both, only in the first, only in the second.

    Parameters
    ----------
    returns : pandas.DataFrame
        ERIC returns including ``year_a`` and ``year_b``; left unchanged.
    year_a, year_b : str
        Financial years, e.g. ``"2016/17"`` and ``"2019/20"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``in_both``, ``only_in_a`` (sites that left the return),
        ``only_in_b`` (new sites): ``site_codes`` (distinct codes, aggregate
        codes included, e.g. ``AGGRE``), ``rows_a``, ``rows_b``, ``land_ha_a``,
        ``land_ha_b``, and ``note``, which says when the years' land measures
        differ.

    Raises
    ------
    ValueError
        If either year is not in ``returns``.
    """
    loaded = set(returns["eric_year"])
    for year in (year_a, year_b):
        if year not in loaded:
            msg = f"ERIC year {year!r} is not loaded; loaded: {', '.join(sorted(loaded))}"
            raise ValueError(msg)
    a = returns[returns["eric_year"] == year_a]
    b = returns[returns["eric_year"] == year_b]
    codes_a, codes_b = set(a["site_code"]), set(b["site_code"])
    measures_a = ";".join(sorted(set(a["land_measure"].dropna())))
    measures_b = ";".join(sorted(set(b["land_measure"].dropna())))
    note = (
        ""
        if measures_a == measures_b
        else f"measures differ: {year_a} {measures_a}, {year_b} {measures_b}"
    )
    rows = {}
    for label, codes in (
        ("in_both", codes_a & codes_b),
        ("only_in_a", codes_a - codes_b),
        ("only_in_b", codes_b - codes_a),
    ):
        in_a = a[a["site_code"].isin(codes)]
        in_b = b[b["site_code"].isin(codes)]
        rows[label] = {
            "site_codes": len(codes),
            "rows_a": len(in_a),
            "rows_b": len(in_b),
            "land_ha_a": float(in_a["land_ha"].sum()),
            "land_ha_b": float(in_b["land_ha"].sum()),
            "note": note,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
