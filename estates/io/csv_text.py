r"""CSV text: spreadsheet-safe cells, quoting, and vectorised number formatting.

Every CSV the tool writes (``sites.csv``, ``rejected.csv``, ``changes.csv``)
goes through :func:`column_texts` and :func:`csv_rows`, so they share these rules:

Spreadsheet-safe text (CSV injection, OWASP)
    A text cell that a spreadsheet would run as a formula is prefixed with
    one apostrophe ``'``: a cell matching :data:`FORMULA_START` (it starts,
    after any apostrophes, with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return) unless the whole cell is a plain number
    (:data:`PLAIN_NUMBER`, e.g. ``-3.5`` or ``+1e5``, which a spreadsheet
    reads as that number and never as a formula). Number columns are written
    as numbers and never prefixed, so ``-3.25`` stays ``-3.25``.
    Apostrophes already at the start are counted in, which makes the rule
    reversible: :func:`unescape_text` removes one ``'`` from a cell matching
    ``'+`` then one of the trigger characters, and gives back the original.
    The page's own CSV download mirrors the same two patterns.
Quoting
    A field is quoted when it holds a comma, a double quote, a line feed or
    a carriage return (a lone CR too, which readers take for a line end);
    quotes inside are doubled. Rows end with ``\\n``.
Numbers
    Floats in positional notation with at most 10 decimals (never
    ``1e-05``), whole numbers without a decimal point, missing as an empty
    cell (:func:`plain_numbers`); integers as digits; booleans as
    ``true``/``false``.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = [
    "FORMULA_START",
    "PLAIN_NUMBER",
    "column_texts",
    "csv_rows",
    "dates_only",
    "fixed_texts",
    "number_texts",
    "plain_number",
    "plain_numbers",
    "quote_fields",
    "safe_texts",
    "spreadsheet_safe",
    "unescape_text",
]

#: A text cell matching this (RE2, Python and JavaScript syntax) gets a leading ``'``...
FORMULA_START = r"^'*[=+\-@\t\r]"
#: ...unless the whole cell matches this: a plain number, which is never a formula.
PLAIN_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_UNESCAPE = r"^'+[=+\-@\t\r]"
_FORMULA_RE = re.compile(FORMULA_START)
_NUMBER_RE = re.compile(PLAIN_NUMBER)
_UNESCAPE_RE = re.compile(_UNESCAPE)
_NEEDS_QUOTES = r'[,"\r\n]'


def spreadsheet_safe(text: str) -> str:
    r"""Return ``text`` as a cell a spreadsheet shows as text, never runs as a formula.

    Examples
    --------
    >>> [spreadsheet_safe(t) for t in ['=HYPERLINK("http://x","y")', "@SUM(1)", "-3.5", "-2+3",
    ...                                "'=x", "plain", "\tx"]]
    ['\'=HYPERLINK("http://x","y")', "'@SUM(1)", '-3.5', "'-2+3", "''=x", 'plain', "'\tx"]
    """
    if _FORMULA_RE.match(text) and not _NUMBER_RE.match(text):
        return "'" + text
    return text


def unescape_text(text: str) -> str:
    """Undo :func:`spreadsheet_safe`: ``unescape_text(spreadsheet_safe(t)) == t`` for any text.

    Examples
    --------
    >>> [unescape_text(spreadsheet_safe(t)) for t in ["=1+2", "'=x", "'plain", "-3"]]
    ['=1+2', "'=x", "'plain", '-3']
    """
    return text[1:] if _UNESCAPE_RE.match(text) else text


def safe_texts(texts: pa.Array) -> pa.Array:
    """Return :func:`spreadsheet_safe` of every string in ``texts``, vectorised (nulls stay)."""
    if not _has_bytes(texts, _FORMULA_FIRST, first=True):
        return texts  # the usual column: no cell starts with an apostrophe or a trigger
    starts = pc.match_substring_regex(texts, FORMULA_START)
    if not pc.any(starts).as_py():
        return texts
    risky = pc.and_(starts, pc.invert(pc.match_substring_regex(texts, PLAIN_NUMBER)))
    return pc.if_else(risky, pc.binary_join_element_wise("'", texts, ""), texts)


def quote_fields(texts: pa.Array) -> pa.Array:
    """Quote the strings that hold a comma, quote, LF or CR; double the quotes inside."""
    if not _has_bytes(texts, _QUOTED_BYTES):
        return texts  # the usual column: nothing to quote
    needs = pc.match_substring_regex(texts, _NEEDS_QUOTES)
    quoted = pc.binary_join_element_wise(
        '"', pc.replace_substring(texts, pattern='"', replacement='""'), ""
    )
    quoted = pc.binary_join_element_wise(quoted, '"', "")
    return pc.if_else(needs, quoted, texts)


#: The bytes a formula may start with (after apostrophes), and those that make a cell quoted.
_FORMULA_FIRST = b"'=+-@\t\r"
_QUOTED_BYTES = b',"\r\n'


def _has_bytes(texts: pa.Array, marks: bytes, *, first: bool = False) -> bool:
    """Return whether any string holds (``first``: starts with) one of the bytes ``marks``.

    A search of the array's bytes (or of each string's first byte) instead
    of a regular expression per string. The marks are ASCII, which UTF-8
    never uses inside a longer character.
    """
    if isinstance(texts, pa.ChunkedArray):
        return any(_has_bytes(chunk, marks, first=first) for chunk in texts.chunks)
    if texts.type != pa.string():
        texts = texts.cast(pa.string())
    offsets_buffer, data_buffer = texts.buffers()[1:3]
    if data_buffer is None or not len(texts):
        return False
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    if first:
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        starts = offsets[:-1][offsets[1:] > offsets[:-1]]  # of the strings that are not empty
        return bool(np.isin(data[starts], np.frombuffer(marks, dtype=np.uint8)).any())
    text = data_buffer.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes()
    return any(bytes([mark]) in text for mark in marks)


def plain_number(value: float) -> str:
    """Return one float as :func:`plain_numbers` writes it.

    Examples
    --------
    >>> plain_number(2.0), plain_number(1e-05), plain_number(float("nan")), plain_number(1 / 3)
    ('2', '0.00001', '', '0.3333333333')
    """
    if math.isnan(value):
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, precision=10, trim="-")


def number_texts(values: NDArray[np.float64]) -> pa.Array:
    """Return :func:`plain_number` of every value as an Arrow string array, vectorised.

    Whole numbers go through int64, the rest through Arrow's shortest
    round-trip text (the digits of Python's ``repr``); only values whose
    text has an exponent or more than 10 decimals (tiny, huge or long) are
    printed again, with printf's ``%.10f`` or, when huge, one by one. A
    column of whole numbers (pounds, ranks) is never printed as floats.
    """
    values = np.asarray(values, dtype=float)
    nan = np.isnan(values)
    if nan.any():  # the values present formatted alone, the missing ones empty
        present = np.flatnonzero(~nan)
        return _spread(number_texts(values[present]), present, len(values))
    with np.errstate(invalid="ignore"):
        whole = (values == np.trunc(values)) & (np.abs(values) < 1e15)
    texts = pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), pa.string())
    if whole.all():
        return texts
    return pc.replace_with_mask(texts, pa.array(~whole), _fraction_texts(values[~whole]))


def _fraction_texts(values: NDArray[np.float64]) -> pa.Array:
    """Return :func:`plain_number` of values that are not whole numbers under 1e15."""
    texts = pc.cast(pa.array(values), pa.string())
    point = pc.find_substring(texts, ".")
    decimals = pc.subtract(pc.subtract(pc.utf8_length(texts), point), 1)
    exponent = pc.match_substring(texts, "e").to_numpy(zero_copy_only=False).astype(bool)
    long = (
        pc.or_(pc.equal(point, -1), pc.greater(decimals, 10))
        .to_numpy(zero_copy_only=False)
        .astype(bool)
    )
    odd_mask = exponent | long
    if odd_mask.any():
        odd_values = values[odd_mask]
        # printf's %.10f rounds the exact binary value to 10 decimals, as
        # format_float_positional does, wherever the value is finer than that:
        # long decimals, or an exponent on a value below 1. The rest (huge
        # values Arrow writes with an exponent) go one by one.
        fine = (~exponent[odd_mask] & long[odd_mask] & (np.abs(odd_values) < 1e15)) | (
            exponent[odd_mask] & (np.abs(odd_values) < 1)
        )
        others = [plain_number(v) for v in odd_values[~fine].tolist()]
        # The fine texts, then the others, put back in the values' order.
        order = np.empty(len(odd_values), dtype=np.int64)
        order[fine] = np.arange(np.count_nonzero(fine))
        order[~fine] = np.count_nonzero(fine) + np.arange(len(others))
        odd_texts = pa.concat_arrays(
            [fixed_texts(odd_values[fine]), pa.array(others, pa.string())]
        ).take(pa.array(order))
        texts = pc.replace_with_mask(texts, pa.array(odd_mask), odd_texts)
    return texts


def _spread(texts: pa.Array, rows: NDArray[np.intp], count: int) -> pa.Array:
    """Return ``count`` strings: ``texts`` at ``rows`` (in ascending order), empty elsewhere.

    Only the offsets are new: the empty strings take no bytes, so the bytes
    are ``texts``' own, in the same order.
    """
    texts = texts.cast(pa.large_string())
    offsets_buffer, data = texts.buffers()[1:3]
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    lengths = np.zeros(count, dtype=np.int64)
    lengths[rows] = np.diff(offsets)
    spread = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=spread[1:])
    data = pa.py_buffer(b"") if data is None else data.slice(offsets[0], offsets[-1] - offsets[0])
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(spread), data).cast(pa.string())


def fixed_texts(values: NDArray[np.float64]) -> pa.Array:
    """Return ``("%.10f" % v).rstrip("0").rstrip(".")`` of every value, in whole-array steps.

    For finite values under 1e15 in size. printf rounds the exact binary value
    to 10 decimals, half to even; so does this: the fraction times 1e10 is
    computed exactly, as a sum of two floats (Dekker's product), and rounded
    from that. The texts are the same bytes (tested on millions of values,
    ties and near-ties included).

    Examples
    --------
    >>> fixed_texts(np.array([1 / 3, -1e-12, 0.00048828125, 2.99999999999, -7.25])).tolist()
    ['0.3333333333', '-0', '0.0004882812', '3', '-7.25']
    """
    values = np.asarray(values, dtype=np.float64)
    size = np.abs(values)
    whole = np.floor(size)
    fraction = size - whole  # exact: whole and size are close (or whole is 0)
    high, low = _exact_product(fraction, 1e10)
    units = np.floor(high)
    rest = high - units  # exact, in [0, 1)
    up = (rest > 0.5) | ((rest == 0.5) & ((low > 0) | ((low == 0) & (units % 2 == 1))))
    # At rest == 0 the exact product is units + low, |low| tiny: it rounds to units.
    units = units + up
    carry = units >= 1e10
    whole = (whole + carry).astype(np.int64)
    units = np.where(carry, 0, units).astype(np.int64)
    return _decimal_texts(np.signbit(values), whole, units)


def _decimal_texts(
    negative: NDArray[np.bool_], whole: NDArray[np.int64], units: NDArray[np.int64]
) -> pa.Array:
    """Return ``[-]whole.units`` texts, ``units`` as 10 decimals less trailing zeros.

    Built as one byte matrix, a row per value: 15 whole digits, the point and
    10 decimals, looked up five digits at a time, with the sign put before the
    first digit kept. Each text is then one run of its row's bytes, taken for
    all rows at once: no Python and no call per value.
    """
    count = len(whole)
    five, zeros = _five_digit_tables()
    cells = np.empty((count, 27), dtype=np.uint8)
    cells[:, 1:6] = np.take(five, whole // 10**10, axis=0)
    cells[:, 6:11] = np.take(five, (whole // 10**5) % 10**5, axis=0)
    cells[:, 11:16] = np.take(five, whole % 10**5, axis=0)
    cells[:, 16] = ord(".")
    high, low = units // 10**5, units % 10**5
    cells[:, 17:22] = np.take(five, high, axis=0)
    cells[:, 22:27] = np.take(five, low, axis=0)
    # The whole part's digits (1 for 0), and the decimals kept (none, nor the point, for 0).
    digits = 1 + np.searchsorted(_TENS, whole, side="right")
    kept = 10 - np.where(low == 0, 5 + np.take(zeros, high), np.take(zeros, low))
    start = (16 - digits - negative).astype(np.int8)
    cells[np.flatnonzero(negative), start[negative]] = ord("-")
    stop = np.where(kept > 0, 17 + kept, 16).astype(np.int8)
    column = np.arange(27, dtype=np.int8)  # small integers: the mask's compares go faster
    data = cells[(column >= start[:, None]) & (column < stop[:, None])]
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(stop - start, dtype=np.int64, out=offsets[1:])
    texts = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    return texts.cast(pa.string())


#: 10 to 10**14: a whole part under 1e15 has 1 + (how many of these it reaches) digits.
_TENS = 10 ** np.arange(1, 15, dtype=np.int64)


@functools.cache
def _five_digit_tables() -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Return the ASCII digits of 0 to 99,999, five to a row, and each one's trailing zeros.

    Made on first use; 0's trailing zeros count as 5.
    """
    numbers = np.arange(10**5, dtype=np.int64)
    places = 10 ** np.arange(4, -1, -1, dtype=np.int64)
    digits = ((numbers[:, None] // places) % 10 + ord("0")).astype(np.uint8)
    zeros = np.zeros(10**5, dtype=np.int64)
    for place in places[:-1][::-1]:  # 10, 100, ..., 10**4
        zeros += numbers % place == 0
    zeros[0] = 5
    return digits, zeros


def _exact_product(
    a: NDArray[np.float64], b: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``(p, e)`` with ``p + e == a * b`` exactly and ``p`` the rounded product (Dekker)."""
    product = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(np.float64(b))
    error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    return product, error


def _split(x: Any) -> tuple[Any, Any]:
    """Veltkamp's split of a double into two halves of 26 bits each (their sum is ``x``)."""
    scaled = 134217729.0 * x  # 2**27 + 1
    high = scaled - (scaled - x)
    return high, x - high


def plain_numbers(values: NDArray[np.float64]) -> NDArray[np.object_]:
    """Return :func:`plain_number` of every value, without a Python call per value.

    Examples
    --------
    >>> plain_numbers(np.array([2.0, 0.1, 1e-05, np.nan, -3.25, 1e20, 1 / 3])).tolist()
    ['2', '0.1', '0.00001', '', '-3.25', '100000000000000000000', '0.3333333333']
    """
    return np.array(number_texts(values).to_pylist(), dtype=object)


def column_texts(series: pd.Series, *, dates_only: bool | None = None) -> pa.Array:
    """Return the CSV cells of one column: formatted, spreadsheet-safe and quoted, no nulls.

    Parameters
    ----------
    series : pandas.Series
        Any column. Floats follow :func:`number_texts`, integers are digits,
        booleans ``true``/``false``, datetimes ISO 8601 (dates alone when
        ``dates_only``, decided on the whole column by the caller); anything
        else is text, made :func:`spreadsheet_safe`. Missing values are empty.
    dates_only : bool, optional
        For a datetime column: write dates without the time.

    Returns
    -------
    pyarrow.StringArray
        One quoted-if-needed cell per value.
    """
    if pd.api.types.is_bool_dtype(series):
        flags = _arrow_values(series, pa.bool_())
        return pc.fill_null(pc.if_else(flags, "true", "false"), "")
    if pd.api.types.is_float_dtype(series):
        return number_texts(series.to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.is_integer_dtype(series):
        ints = _arrow_values(series, pa.int64())
        return pc.fill_null(pc.cast(ints, pa.string()), "")
    if pd.api.types.is_datetime64_any_dtype(series):
        return pa.array(_iso_datetimes(series, dates_only=bool(dates_only)), pa.string())
    if pd.api.types.is_string_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        try:
            if hasattr(series.array, "__arrow_array__"):  # Arrow-backed already: no copy out
                arrow = pa.array(series.array)
                if isinstance(arrow, pa.ChunkedArray):
                    arrow = arrow.combine_chunks()
                texts = arrow.cast(pa.string())
            else:
                texts = pa.array(series.to_numpy(dtype=object, na_value=None), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            texts = _python_texts(series)
    else:
        texts = _python_texts(series)
    return _safe_quoted(pc.fill_null(texts, ""))


def _arrow_values(series: pd.Series, kind: pa.DataType) -> pa.Array:
    """Return a boolean or integer column as Arrow values of ``kind``, missing ones null."""
    if isinstance(series.dtype, np.dtype):  # numpy's own: nothing is missing
        return pa.array(series.to_numpy(), kind)
    if hasattr(series.array, "__arrow_array__"):  # pandas' nullable arrays: values and mask
        values = pa.array(series.array)
        return values.cast(kind) if values.type != kind else values
    return pa.array(series.to_numpy(dtype=object, na_value=None), kind)


def _safe_quoted(texts: pa.Array) -> pa.Array:
    """Return the cells of a text column without nulls: spreadsheet-safe, then quoted.

    A column with some cell to rewrite whose texts repeat (a basis or a source
    named on every row) is rewritten one distinct text at a time: the regular
    expressions then run over a few texts rather than every row.
    """
    if not (_has_bytes(texts, _FORMULA_FIRST, first=True) or _has_bytes(texts, _QUOTED_BYTES)):
        return texts  # the usual column: nothing to rewrite, its bytes searched once
    encoded = pc.dictionary_encode(texts)
    if len(encoded.dictionary) <= len(texts) // 4:
        return pc.take(quote_fields(safe_texts(encoded.dictionary)), encoded.indices)
    return quote_fields(safe_texts(texts))


def csv_rows(columns: list[pa.Array]) -> memoryview:
    r"""Join cells into CSV rows, each ending with ``\\n``; return their UTF-8 bytes.

    A row of one empty cell is written ``""``, so that a reader does not take
    it for a blank line, as Python's :mod:`csv` does. The bytes are a view of
    Arrow's buffer, not a copy: a file takes them as they are.
    """
    if not columns:
        return memoryview(b"")
    if len(columns) == 1:
        cells = pc.if_else(pc.equal(columns[0], ""), '""', columns[0])
        lines = pc.binary_join_element_wise(cells, "", "\n")
    else:  # the line end put on the last cells, not on each whole line once more
        last = pc.binary_join_element_wise(columns[-1], "\n", "")
        lines = pc.binary_join_element_wise(*columns[:-1], last, ",")
    return _buffer_bytes(lines)


def _buffer_bytes(lines: pa.Array) -> memoryview:
    """Return the concatenated bytes of a string array without nulls, as a view of its buffer."""
    lines = pa.concat_arrays([lines]) if isinstance(lines, pa.ChunkedArray) else lines
    lines = lines.cast(pa.large_string()) if lines.type == pa.string() else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    if data is None or len(lines) == 0:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def _python_texts(series: pd.Series) -> pa.Array:
    """Return ``str`` of every present value (for object, categorical and mixed columns)."""
    return pa.array([None if _missing(v) else str(v) for v in series.tolist()], pa.string())


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def dates_only(series: pd.Series) -> bool:
    """Return True when every value of a datetime column is at midnight, without a zone."""
    present = series.dropna()
    return bool((present == present.dt.normalize()).all()) and present.dt.tz is None


def _iso_datetimes(series: pd.Series, *, dates_only: bool) -> list[str]:
    """Return ISO 8601 texts: dates alone if ``dates_only``."""
    return [
        "" if pd.isna(v) else (v.date().isoformat() if dates_only else v.isoformat())
        for v in series
    ]
