"""How an ERIC return is named on the command line: ``FILE`` or ``FILE:2019/20``.

Kept apart from :mod:`estates.io.eric`, which reads the returns with pandas,
so that listing a build's input files (for the up-to-date check of an
unchanged rebuild) imports nothing heavier than :mod:`re` and :mod:`pathlib`.
"""

from __future__ import annotations

import re
from pathlib import Path

from estates.errors import DataValidationError

__all__ = ["check_eric_year", "parse_eric_spec"]

_YEAR = re.compile(r"^(20\d\d)/(\d\d)$")


def parse_eric_spec(spec: str | Path) -> tuple[Path, str | None]:
    """Split a ``FILE`` or ``FILE:2019/20`` argument into the path and the year given.

    Examples
    --------
    >>> parse_eric_spec("returns/site_data.csv:2019/20")
    (PosixPath('returns/site_data.csv'), '2019/20')
    >>> parse_eric_spec("eric_sites_2019_20_london.csv")
    (PosixPath('eric_sites_2019_20_london.csv'), None)
    """
    text = str(spec)
    head, sep, tail = text.rpartition(":")
    if sep and re.fullmatch(r"\d{4}/\d{2}", tail.strip()):
        return Path(head), check_eric_year(tail.strip(), where=head)
    return Path(text), None


def check_eric_year(year: str, *, where: str = "") -> str:
    """Return ``year`` if it is a financial year such as ``2019/20``; raise otherwise.

    Examples
    --------
    >>> check_eric_year("2016/17")
    '2016/17'
    """
    match = _YEAR.match(year)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        prefix = f"{where}: " if where else ""
        msg = f"{prefix}ERIC year {year!r} is not a financial year such as '2019/20'"
        raise DataValidationError(msg)
    return year
