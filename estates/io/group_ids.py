"""The rule for group ids: each names a map page, so each must be a safe file name of its own."""

from __future__ import annotations

import pandas as pd

from estates.errors import DataValidationError

__all__ = ["MAX_GROUP_ID_CHARS", "RESERVED_GROUP_IDS", "check_group_ids"]

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
