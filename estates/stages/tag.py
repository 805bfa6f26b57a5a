"""Tag sites with the pilots and the sub-region of their borough.

Memberships are data (:func:`estates.io.inputs.load_groupings`), keyed on GSS borough
codes, so a user can change them without touching code. A borough may be in
several pilots (Haringey is in two) and in one sub-region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estates.frames import stage_copy
from estates.schema import group_flag_column


def pilot_ids(groupings: pd.DataFrame) -> list[str]:
    """Return the pilot ids in the order of the groupings file."""
    pilots = groupings.loc[groupings["group_type"] == "pilot", "group_id"]
    return list(dict.fromkeys(pilots))


def subregion_ids(groupings: pd.DataFrame) -> list[str]:
    """Return the sub-region ids in the order of the groupings file."""
    subs = groupings.loc[groupings["group_type"] == "subregion", "group_id"]
    return list(dict.fromkeys(subs))


def group_names(groupings: pd.DataFrame) -> dict[str, str]:
    """Return ``{group_id: group_name}`` for pilots and sub-regions."""
    return dict(zip(groupings["group_id"], groupings["group_name"], strict=True))


def tag_groupings(
    frame: pd.DataFrame, groupings: pd.DataFrame, *, flags: bool = False
) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``pilots`` and ``subregion`` columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any frame with a ``borough_code`` column (NA for rows in no borough).
    groupings : pandas.DataFrame
        Memberships from :func:`estates.io.inputs.load_groupings`.
    flags : bool, default False
        Also add one ``bool`` column per pilot and per sub-region, in the
        file's order: ``pilot_<id>`` and ``subregion_<id>``
        (:func:`estates.schema.group_flag_column`), True where the row's
        borough is in the group. The site table has them.

    Returns
    -------
    pandas.DataFrame
        ``pilots``: the ids of every pilot the borough is in, ``;``-separated in
        the file's order (``""`` for none); ``subregion``: the sub-region id
        (NA when the row is in no borough); with ``flags``, the flag columns.
        Filter with ``frame[frame.pilot_ncl_estates]`` or, in QGIS,
        ``"pilot_ncl_estates"``.

    Examples
    --------
    >>> from estates.io.inputs import load_groupings
    >>> f = pd.DataFrame({"borough_code": ["E09000014", "E09000033", None]})
    >>> tag_groupings(f, load_groupings())[["pilots", "subregion"]].values.tolist()
    [['ncl_estates;haringey_prevention', 'ncl'], ['', 'nwl'], ['', <NA>]]
    >>> tagged = tag_groupings(f, load_groupings(), flags=True)
    >>> tagged["pilot_ncl_estates"].tolist(), str(tagged["subregion_nwl"].dtype)
    ([True, False, False], 'bool')
    """
    order = {gid: i for i, gid in enumerate(pilot_ids(groupings))}
    pilots = groupings[groupings["group_type"] == "pilot"]
    by_borough: dict[str, list[str]] = {}
    for code, gid in zip(pilots["borough_code"], pilots["group_id"], strict=True):
        by_borough.setdefault(code, []).append(gid)
    joined = {
        code: ";".join(sorted(set(ids), key=order.__getitem__)) for code, ids in by_borough.items()
    }
    subs = groupings[groupings["group_type"] == "subregion"]
    sub_of = dict(zip(subs["borough_code"], subs["group_id"], strict=True))
    out = stage_copy(frame)
    codes = out["borough_code"].astype("string")
    # Looked up once per borough, not once per row: position -1 (no borough)
    # takes the last entry.
    position, distinct = pd.factorize(codes)
    texts = [str(c) for c in distinct]
    pilots_of = np.array([*(joined.get(c, "") for c in texts), ""], dtype=object)
    subregion_of = np.array([*(sub_of.get(c) for c in texts), None], dtype=object)
    out["pilots"] = pd.Series(pilots_of[position], index=out.index).astype("string")
    out["subregion"] = pd.Series(subregion_of[position], index=out.index).astype("string")
    if flags:
        for group_type in ("pilot", "subregion"):
            members = groupings[groupings["group_type"] == group_type]
            for gid in dict.fromkeys(members["group_id"]):
                boroughs = set(members.loc[members["group_id"] == gid, "borough_code"])
                # Per distinct borough, then per row by position (-1: no borough).
                member = np.array([*(c in boroughs for c in texts), False], dtype=bool)
                out[group_flag_column(group_type, gid)] = member[position]
    return out
