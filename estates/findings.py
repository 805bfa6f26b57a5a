"""Rejected and flagged records: what validation found, in words a person understands.

Every record that is dropped from the site table (``rejected``) or kept with a
caveat (``flagged``) becomes a :class:`Finding`. Findings are written to
``rejected.csv``; nothing disappears silently.

A file of junk rows must not cost memory and output in proportion to its size:
a :class:`Findings` given ``max_per_check`` keeps the first findings of each
check and counts the rest, and :func:`omitted_finding` turns such a count into
one row of ``rejected.csv`` ("and N more").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Action = Literal["rejected", "flagged", "warning"]

#: Findings of one check that ``rejected.csv`` lists; the rest are counted in one row.
MAX_FINDINGS_PER_CHECK = 1000
#: ``check`` of the row that counts the findings left out of ``rejected.csv``.
OMITTED_CHECK = "more_not_listed"

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


class Finding(NamedTuple):
    """One problem with one record (or one file).

    A named tuple: a file of a million sites outside London gives a million
    findings, made in a third of the time a frozen dataclass took.

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
    """An ordered collection of :class:`Finding`, filled in by every stage.

    Attributes
    ----------
    items : list of Finding
        The findings kept, in the order they were added.
    max_per_check : int or None
        If set, :meth:`add` keeps at most this many findings per source file,
        action and check, and counts the rest in ``omitted``; None keeps all.
        Set it where one bad row per record would otherwise grow without
        bound and nothing needs every row (e.g. the disposal pipeline file).
    omitted : collections.Counter
        ``(source_file, action, check)`` -> findings counted but not kept.
    """

    items: list[Finding] = field(default_factory=list)
    max_per_check: int | None = None
    omitted: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _kept: Counter[tuple[str, str, str]] = field(default_factory=Counter, repr=False)

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
        """Record one finding and return it (counted only, past ``max_per_check``)."""
        if self.max_per_check is not None:
            key = (source_file, action, check)
            if self._kept[key] >= self.max_per_check:
                self.omitted[key] += 1
                # Not kept: skip the cost of cleaning its texts.
                return Finding(source_file, row, None, column, None, action, check, reason)
            self._kept[key] += 1
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

    def add_rows(
        self,
        source_files: Sequence[object],
        rows: Sequence[int],
        reason: str,
        *,
        action: Action,
        check: str,
        site_codes: Sequence[object],
        column: str | None,
        values: Sequence[object] | Callable[[NDArray[np.intp]], Sequence[object]],
    ) -> None:
        """Record one finding per row, in order, as :meth:`add` would, without a call per row.

        For a check that can hold for most rows of a large file (a national
        list's sites outside London). Past ``max_per_check`` a row is only
        counted, as with :meth:`add`, and nothing of it is made into text:
        ``values`` may be a function of the kept rows' positions that returns
        their values, so a value that takes work to write (a pair of
        coordinates, say) is written only for the rows kept.
        """
        count = len(rows)
        if not len(source_files) == count == len(site_codes) or (
            not callable(values) and len(values) != count
        ):
            msg = "add_rows needs a source file, a site code and a value for every row"
            raise ValueError(msg)
        kept = self._room(source_files, action, check)
        every = len(kept) == count
        files = [str(f) for f in _take(source_files, kept, every)]
        numbers: list[int] = np.asarray(_take(rows, kept, every), dtype=np.int64).tolist()
        codes = _texts_or_none(_take(site_codes, kept, every))
        texts = _texts_or_none(values(kept) if callable(values) else _take(values, kept, every))
        self.items.extend(
            map(
                Finding,
                files,
                numbers,
                codes,
                repeat(column),
                texts,
                repeat(action),
                repeat(check),
                repeat(reason),
            )
        )

    def _room(self, source_files: Sequence[object], action: Action, check: str) -> NDArray[np.intp]:
        """Return the positions of the rows to keep, in order; count the rest in ``omitted``."""
        if self.max_per_check is None:
            return np.arange(len(source_files))
        files, names = pd.factorize(
            np.asarray(source_files, dtype=object).reshape(-1), use_na_sentinel=False
        )
        kept = []
        for code, name in enumerate(names):
            key = (str(name), action, check)
            at = np.flatnonzero(files == code)
            room = max(self.max_per_check - self._kept[key], 0)
            kept.append(at[:room])
            self._kept[key] += min(room, len(at))
            if len(at) > room:
                self.omitted[key] += len(at) - room
        return np.sort(np.concatenate(kept)) if kept else np.arange(0)

    def extend(self, other: Iterable[Finding]) -> None:
        """Append findings gathered elsewhere."""
        self.items.extend(other)

    def merge(self, other: Findings) -> None:
        """Add the findings a stage returned, in order, as :meth:`add` would have.

        Past ``max_per_check`` a finding is counted in ``omitted``, not kept;
        ``other``'s own ``omitted`` counts are carried over.
        """
        if self.max_per_check is None:
            self.items.extend(other.items)
        else:
            for finding in other.items:
                key = (finding.source_file, finding.action, finding.check)
                if self._kept[key] >= self.max_per_check:
                    self.omitted[key] += 1
                    continue
                self._kept[key] += 1
                self.items.append(finding)
        self.omitted.update(other.omitted)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def count(self, action: Action) -> int:
        """Return how many findings have ``action``, those counted but not kept included."""
        kept = sum(1 for f in self.items if f.action == action)
        return kept + sum(n for (_, a, _), n in self.omitted.items() if a == action)

    def counts_by_check(self, action: Action) -> dict[str, int]:
        """Return ``{check: count}`` for findings with ``action``, most frequent first.

        Findings counted but not kept (``omitted``) are included.
        """
        counts: dict[str, int] = {}
        for f in self.items:
            if f.action == action:
                counts[f.check] = counts.get(f.check, 0) + 1
        for (_, a, check), n in self.omitted.items():
            if a == action:
                counts[check] = counts.get(check, 0) + n
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


T = TypeVar("T")


class Checked(NamedTuple, Generic[T]):
    """What a stage returns: its result and the findings it made.

    Stages never add to a :class:`Findings` they were given; each returns its
    own, and the caller collects them (:meth:`Findings.merge`). Unpack it::

        kept, found = validate_records(records, config=config)

    Attributes
    ----------
    value : T
        The stage's result (usually a new frame; the input is left unchanged).
    findings : Findings
        The findings the stage made, in the order it made them.
    """

    value: T
    findings: Findings


def omitted_finding(source_file: str, action: Action, check: str, count: int) -> Finding:
    """Return the one ``rejected.csv`` row that stands for ``count`` findings left out.

    Parameters
    ----------
    source_file : str
        The file the findings are about.
    action : {"rejected", "flagged", "warning"}
        Their action; the row has the same, so a filter on it still sees them.
    check : str
        Their check; the row's ``column`` names it, its ``check`` is
        :data:`OMITTED_CHECK`.
    count : int
        How many were left out.

    Examples
    --------
    >>> print(omitted_finding("pipeline.csv", "rejected", "unknown_site_code", 2500))
    pipeline.csv: and 2,500 more rejected rows of check unknown_site_code, not listed (rejected.csv lists the first 1,000 of each check; summary.json counts them all)
    """  # noqa: E501
    return Finding(
        source_file=source_file,
        row=None,
        site_code=None,
        column=check,
        value=str(count),
        action=action,
        check=OMITTED_CHECK,
        reason=(
            f"and {count:,} more {action} rows of check {check}, not listed (rejected.csv "
            f"lists the first {MAX_FINDINGS_PER_CHECK:,} of each check; summary.json counts "
            "them all)"
        ),
    )


def _take(values: Sequence[Any], at: NDArray[np.intp], every: bool) -> Sequence[Any]:
    """Return ``values`` at positions ``at`` (``values`` itself when ``every`` row is kept)."""
    if every:
        return values
    if isinstance(values, np.ndarray | pd.Series | pd.Index):
        taken: list[Any] = np.asarray(values)[at].tolist()
        return taken
    return [values[i] for i in at.tolist()]


def _texts_or_none(values: Sequence[object]) -> list[str | None]:
    """Return :func:`_text_or_none` of every value, testing for missing values in one call."""
    cells = np.fromiter(values, dtype=object, count=len(values))
    missing = pd.isna(cells).tolist()
    return [None if m else str(v) for v, m in zip(cells.tolist(), missing, strict=True)]


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
