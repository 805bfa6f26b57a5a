"""The rule for group ids: each names a map page, so each must be a safe file name of its own."""

from __future__ import annotations

import pandas as pd

from estates.errors import DataValidationError
from estates.schema import SITE_DTYPES, group_flag_column

__all__ = ["MAX_GROUP_ID_CHARS", "RESERVED_GROUP_IDS", "check_group_flags", "check_group_ids"]

#: File stems of the tool's own outputs, and names Windows reserves: a group id
#: names its map page ``<group_id>.html``, which must never replace one of these.
RESERVED_GROUP_IDS = frozenset(
    {"index", "london", "sites", "summary", "manifest", "rejected", "changes"}
    | {"con", "prn", "aux", "nul"}
    | {f"{port}{n}" for port in ("com", "lpt") for n in range(10)}
)
#: Longest group id: it is a file name, with room for ``.html``.
MAX_GROUP_ID_CHARS = 64


def check_group_ids(ids: pd.Series, name: str) -> None:
    """Raise unless every group id is a safe, distinct file name of its own.

    The rule: ASCII letters, digits and underscores, at most
    :data:`MAX_GROUP_ID_CHARS` characters, not one of
    :data:`RESERVED_GROUP_IDS` (in any case), and no two ids differing only
    in case (they name one file on Windows and macOS).
    """
    seen: dict[str, str] = {}
    for row, gid in ids.items():
        rule = None
        if not gid or not gid.replace("_", "").isalnum() or not gid.isascii():
            rule = "must be letters, digits and underscores"
        elif len(gid) > MAX_GROUP_ID_CHARS:
            rule = f"must be at most {MAX_GROUP_ID_CHARS} characters"
        elif gid.lower() in RESERVED_GROUP_IDS:
            rule = "is reserved: its page would replace one of the tool's own files"
        elif seen.setdefault(gid.lower(), gid) != gid:
            rule = f"differs from group_id {seen[gid.lower()]!r} only in case"
        if rule is not None:
            msg = (
                f"{name} row {row}: group_id {gid!r} {rule} (it names the map file "
                f"<group_id>.html); rename the group"
            )
            raise DataValidationError(msg)


def check_group_flags(groups: pd.DataFrame, name: str) -> None:
    """Raise unless each group's flag column name (``pilot_<id>``) is its own.

    The site table has one ``bool`` column per pilot and sub-region
    (:func:`estates.schema.group_flag_column`): two ids that give the same
    name in snake_case (``NclEstates`` and ``ncl_estates``), or a name that is
    already a site table column (a sub-region ``rank``), are refused.
    """
    seen: dict[str, str] = {}
    pairs = dict.fromkeys(zip(groups["group_type"], groups["group_id"], strict=True))
    for group_type, gid in pairs:
        column = group_flag_column(group_type, gid)
        if column in SITE_DTYPES:
            msg = (
                f"{name}: {group_type} id {gid!r} would name the flag column {column!r}, "
                "which the site table already has; choose another id"
            )
            raise DataValidationError(msg)
        if column in seen:
            msg = (
                f"{name}: {group_type} ids {seen[column]!r} and {gid!r} both give the flag "
                f"column {column!r}; make the ids differ by more than case and underscores"
            )
            raise DataValidationError(msg)
        seen[column] = gid
