"""Rejected and flagged records: what validation found, in words a person understands.

Every record that is dropped from the site table (``rejected``) or kept with a
caveat (``flagged``) becomes a :class:`Finding`. Findings are written to
``rejected.csv``; nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Action = Literal["rejected", "flagged", "warning"]

#: Columns of ``rejected.csv``, in order.
FINDING_COLUMNS = [
    "source_file",
    "row",
    "site_code",
    "column",
    "value",
    "action",
    "check",
    "reason",
]


@dataclass(frozen=True)
class Finding:
    """One problem with one record (or one file).

    Attributes
    ----------
    source_file : str
        The file's name (not its full path), e.g. ``"eric_sites_london.csv"``.
    row : int or None
        The spreadsheet row: the header is row 1, the first record row 2.
        For layers (GeoPackage, GeoJSON …) the 1-based feature number.
        None when the finding is about the whole file.
    site_code : str or None
        The record's site code, when it has one.
    column : str or None
        The column holding the bad value.
    value : str or None
        The bad value, as text.
    action : {"rejected", "flagged", "warning"}
        ``rejected``: the record is not in the site table. ``flagged``: it is,
        with the reason in its ``quality_flags``. ``warning``: a recoverable
        quirk of the file (e.g. its encoding), not of one record.
    check : str
        A short, stable name of the check, for counting, e.g. ``duplicate_site_code``.
    reason : str
        What is wrong and how to fix it.
    """

    source_file: str
    row: int | None
    site_code: str | None
    column: str | None
    value: str | None
    action: Action
    check: str
    reason: str

    def __str__(self) -> str:
        where = self.source_file
        if self.row is not None:
            where += f" row {self.row}"
        if self.site_code:
            where += f" (site {self.site_code})"
        return f"{where}: {self.reason}"


@dataclass
class Findings:
    """An ordered collection of :class:`Finding`, filled in by every stage."""

    items: list[Finding] = field(default_factory=list)

    def add(
        self,
        source_file: str,
        row: int | None,
        reason: str,
        *,
        action: Action,
        check: str,
        site_code: object = None,
        column: str | None = None,
        value: object = None,
    ) -> Finding:
        """Record one finding and return it."""
        finding = Finding(
            source_file=source_file,
            row=row,
            site_code=_text_or_none(site_code),
            column=column,
            value=_text_or_none(value),
            action=action,
            check=check,
            reason=reason,
        )
        self.items.append(finding)
        return finding

    def extend(self, other: Iterable[Finding]) -> None:
        """Append findings gathered elsewhere."""
        self.items.extend(other)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def count(self, action: Action) -> int:
        """Return how many findings have ``action``."""
        return sum(1 for f in self.items if f.action == action)

    def counts_by_check(self, action: Action) -> dict[str, int]:
        """Return ``{check: count}`` for findings with ``action``, most frequent first."""
        counts: dict[str, int] = {}
        for f in self.items:
            if f.action == action:
                counts[f.check] = counts.get(f.check, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def rejected_rows(self, source_files: set[str] | None = None) -> set[tuple[str, int | None]]:
        """Return the distinct ``(source_file, row)`` of rejected records."""
        return {
            (f.source_file, f.row)
            for f in self.items
            if f.action == "rejected" and (source_files is None or f.source_file in source_files)
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the findings as a table with :data:`FINDING_COLUMNS`."""
        rows = [tuple(getattr(f, c) for c in FINDING_COLUMNS) for f in self.items]
        frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
        return frame.astype({"row": "Int64"})


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
