"""Find the GSS code and name columns of a borough boundary layer.

Boundary layers arrive with ONS headers (``LAD20CD``/``LAD20NM``,
``LAD23CD``...), GLA ones (``GSS_CODE``/``NAME``) or the bundled
``code``/``name``. One function picks them, so that loading a layer
(:func:`estates.io.inputs.load_boroughs`) and joining to a frame the analyst
read themselves (:func:`estates.join_boroughs`) agree on what they accept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from estates.errors import DataValidationError

__all__ = ["BOROUGH_CODE_CANDIDATES", "BOROUGH_NAME_CANDIDATES", "find_borough_columns"]

#: Candidate names of the code column, in order of preference (case-insensitive).
BOROUGH_CODE_CANDIDATES = ("borough_code", "code", "gss_code", "lad20cd", "lad_code", "lad22cd")
#: Candidate names of the name column, in order of preference (case-insensitive).
BOROUGH_NAME_CANDIDATES = ("borough_name", "name", "lad20nm", "lad_name", "lad22nm")
# Any other ONS vintage: LAD19CD, LAD23NM, LAD24CD...
_ONS_CODE = re.compile(r"^lad\d{2}cd$")
_ONS_NAME = re.compile(r"^lad\d{2}nm$")


def find_borough_columns(
    columns: Iterable[object],
    *,
    where: str,
    code_column: str | None = None,
    name_column: str | None = None,
    hint: str = "name it with --boundary-{what}-column",
) -> tuple[str, str]:
    """Return the code and name columns of a boundary layer.

    Parameters
    ----------
    columns : iterable
        The layer's column names (a ``geometry`` column is ignored).
    where : str
        What the layer is called in messages, e.g. its file name.
    code_column, name_column : str, optional
        Columns the user named; checked to exist. Otherwise the first of
        :data:`BOROUGH_CODE_CANDIDATES` / :data:`BOROUGH_NAME_CANDIDATES`
        present, ignoring case, then any ONS ``LADyyCD`` / ``LADyyNM``.
    hint : str
        The fix offered when a column is not found; ``{what}`` becomes
        ``code`` or ``name``.

    Returns
    -------
    tuple of str
        The code column and the name column, as spelled in ``columns``.

    Raises
    ------
    DataValidationError
        If a named column is absent or no candidate is found; the message
        lists the columns there are.

    Examples
    --------
    >>> find_borough_columns(["LAD23CD", "LAD23NM", "geometry"], where="lad.gpkg")
    ('LAD23CD', 'LAD23NM')
    >>> find_borough_columns(["GSS_CODE", "NAME", "HECTARES"], where="gla.shp")
    ('GSS_CODE', 'NAME')
    """
    present = [str(c) for c in columns if str(c) != "geometry"]
    code = _pick(present, code_column, BOROUGH_CODE_CANDIDATES, _ONS_CODE, where, "code", hint)
    name = _pick(present, name_column, BOROUGH_NAME_CANDIDATES, _ONS_NAME, where, "name", hint)
    return code, name


def _pick(  # noqa: PLR0917 - a private helper with one caller
    present: list[str],
    given: str | None,
    candidates: tuple[str, ...],
    pattern: re.Pattern[str],
    where: str,
    what: str,
    hint: str,
) -> str:
    if given is not None:
        if given not in present:
            msg = f"{where}: no column {given!r} for the borough {what}; found {', '.join(present)}"
            raise DataValidationError(msg)
        return given
    lower = {c.lower(): c for c in reversed(present)}  # the first spelling wins
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    for column in present:
        if pattern.match(column.lower()):
            return column
    msg = (
        f"{where}: no borough {what} column; expected one of {', '.join(candidates)} "
        f"or an ONS LADyy{what[:1].upper()}{'D' if what == 'code' else 'M'} "
        f"(found {', '.join(present) or 'none'}); {hint.format(what=what)}"
    )
    raise DataValidationError(msg)
