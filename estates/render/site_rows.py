"""The map's site rows, kept a column at a time, and their JSON text written a column at a time.

A map of 50,000 sites holds about 850,000 numbers and texts. Handing them to
``json.dumps`` as Python row lists costs more than everything else on the page:
a Python object per value, then a float ``repr`` per value in the encoder. Here
each column stays a numpy array (texts as codes into their distinct values)
and its JSON is written as text in one pass: numbers as decimal digits worked
out by integer arithmetic on the whole column, each distinct text encoded once.
The page's data hold a list per field (columns, not rows), and the text is the
one ``json_for_script`` gives for the same columns as lists, byte for byte: the
digits are used only where they are provably the shortest ``repr`` of the same
float (see :func:`number_json`); any other value (huge, tiny, minus zero) is
written by the standard encoder itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import numpy as np

from estates.render.assets import json_for_script

__all__ = ["DIGITS", "EncodedTexts", "SiteRows", "number_json", "texts_json"]

#: Decimal places of each number field of a site row; 0 means a whole number (JSON integer).
DIGITS = {
    "lon": 5,
    "lat": 5,
    "owned_ha": 3,
    "unused_ha": 3,
    "unused_share": 4,
    "value_gbp": 0,
    "score": 3,
    "rank": 0,
    "score_value": 3,
    "score_share": 3,
    "score_backlog": 3,
    "score_constraints": 3,
    "backlog_gbp": 0,
    "pfi": 0,
    "profile": 0,
}
#: The text fields of a site row, each escaped HTML.
TEXT_FIELDS = ("code", "name")
# Rows laid out at once by SiteRows.json: the memory a block takes is bounded.
_BLOCK_ROWS = 8192
# Digit strings of at most 15 significant figures name exactly one float each.
_EXACT = 10.0**15
_ZERO = ord("0")
# Fractions of up to this many places are looked up in a table of them all.
_TABLE_DIGITS = 5


def _four_digits() -> np.ndarray:
    """Return the ASCII digits of 0000 to 9999, each four bytes read as one ``uint32``."""
    places = np.array([1000, 100, 10, 1])
    ascii_digits = ((np.arange(10_000)[:, None] // places) % 10 + _ZERO).astype(np.uint8)
    table: np.ndarray = ascii_digits.view(np.uint32).ravel()
    return table


_FOUR_DIGITS = _four_digits()


def _digit_matrix(whole: np.ndarray, width: int, *, keep_zeros: bool) -> np.ndarray:
    """Return the decimal digits of non-negative ``whole`` as an ``(n, width)`` byte matrix.

    With ``keep_zeros`` every place is a digit (a fraction's places, left to
    right); without, leading zeros are NUL bytes, except the units digit.
    Digits are looked up four at a time, so a column costs a division or two.
    """
    groups = -(-width // 4)
    blocks = np.empty((len(whole), groups), dtype=np.int64)
    rest = whole
    for group in range(groups - 1, 0, -1):
        higher = rest // 10_000
        blocks[:, group] = rest - higher * 10_000
        rest = higher
    blocks[:, 0] = rest
    out = _FOUR_DIGITS[blocks].view(np.uint8)[:, groups * 4 - width :]
    if not keep_zeros and width > 1:
        places = 10 ** np.arange(width - 1, 0, -1, dtype=np.int64)
        out[:, :-1] *= whole[:, None] >= places[None, :]
    return out


def _strip_zeros(places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Set the trailing zero places of each row of ``places`` to NUL, all but the first.

    Returns the matrix (changed in place) and how many places each row shows.
    """
    digits = places.shape[1]
    trailing = np.ones(len(places), dtype=bool)
    zeros = np.zeros(len(places), dtype=np.int64)  # trailing zeros, at most digits - 1
    for place in range(digits - 1, 0, -1):
        trailing &= places[:, place] == _ZERO
        zeros += trailing
    shown = digits - zeros
    places *= np.arange(digits)[None, :] < shown[:, None]
    return places, shown


@cache
def _fractions(digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the places of every fraction below ``10**digits``, as :func:`_strip_zeros` sets them.

    A column's fractions are then one lookup in this table (half a megabyte
    at five places) rather than a division and a pass per place.
    """
    table, shown = _strip_zeros(
        _digit_matrix(np.arange(10**digits, dtype=np.int64), digits, keep_zeros=True)
    )
    table.setflags(write=False)
    return table, shown


def _fraction_matrix(fraction: np.ndarray, digits: int) -> np.ndarray:
    """Return the ``digits`` places of ``fraction`` (< 10**digits), trailing zeros as NUL.

    The first place is always kept, so a whole number ends ``.0`` as ``repr``
    writes it; places that are a trailing zero on every row are left out.
    """
    if digits <= _TABLE_DIGITS:
        table, shown_of = _fractions(digits)
        shown = shown_of[fraction]
        width = int(shown.max()) if len(shown) else 1
        looked_up: np.ndarray = table[fraction, :width]
        return looked_up
    out, shown = _strip_zeros(_digit_matrix(fraction, digits, keep_zeros=True))
    width = int(shown.max()) if len(shown) else 1
    return out[:, :width]


def number_json(values: np.ndarray, digits: int) -> np.ndarray:
    """Return the JSON of each value of a column as a padded byte matrix; NUL bytes are padding.

    ``values`` are floats as the payload holds them: already rounded to
    ``digits`` places (``np.round``), or with ``digits`` 0 a whole number
    (written as a JSON integer, as ``round`` gives it); NaN is ``null``.

    A float ``v`` is written as the digits of ``k = rint(v * 10**digits)``
    with the point put back, when ``k / 10**digits == v`` (so ``v`` is the
    float nearest to that decimal, as IEEE division rounds correctly), ``|k|``
    has at most 15 digits (so no shorter decimal names ``v``) and ``v`` is 0
    or at least 1e-4 (``repr`` writes smaller numbers with an exponent): that
    is exactly ``repr(v)``, which ``json.dumps`` writes. Every other value
    (minus zero, infinity, 1e-05, 1e+16...) goes to the standard encoder, one
    by one, so it is written, or refused, as before.

    Returns
    -------
    numpy.ndarray
        ``uint8`` of shape ``(len(values), width)``: each row is the value's
        JSON text, ASCII, with NUL bytes anywhere in it to be dropped.
    """
    values = np.asarray(values, dtype=np.float64)
    null = np.isnan(values)
    scale = 10.0**digits
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.rint(values * scale)
        plain = ~null & (np.abs(scaled) < _EXACT)
        if digits:
            plain &= scaled / scale == values
            plain &= (values == 0) | (np.abs(values) >= 1e-4)
            plain &= ~((values == 0) & np.signbit(values))
    k = np.where(plain, scaled, 0.0).astype(np.int64)
    magnitude = np.abs(k)
    units = magnitude // 10**digits if digits else magnitude
    places = len(str(int(units.max()))) if len(units) else 1
    parts = [_digit_matrix(units, places, keep_zeros=False)]
    if (k < 0).any():
        parts.insert(0, np.where(k < 0, ord("-"), 0).astype(np.uint8)[:, None])
    if digits:
        parts.append(np.full((len(k), 1), ord("."), dtype=np.uint8))
        parts.append(_fraction_matrix(magnitude - units * 10**digits, digits))
    others = np.flatnonzero(~plain & ~null).tolist()
    special = [
        json_for_script(float(values[i]) if digits else round(float(values[i]))).encode("ascii")
        for i in others
    ]
    has_null = bool(null.any())
    missing = max([4 if has_null else 0, *map(len, special)]) - sum(p.shape[1] for p in parts)
    if missing > 0:
        parts.append(np.zeros((len(k), missing), np.uint8))
    text = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    for i, word in zip(others, special, strict=True):
        text[i] = 0
        text[i, : len(word)] = np.frombuffer(word, np.uint8)
    if has_null:
        text[null] = 0
        text[null, :4] = np.frombuffer(b"null", np.uint8)
    return text


class EncodedTexts:
    r"""Distinct texts' JSON, as ``json_for_script`` writes each, end to end in one buffer.

    The texts are encoded as one JSON list, in one encoder call, and the list
    is cut at each ``","`` between two items: inside a JSON string every ``"``
    is escaped (``\"``), so a quote, comma, quote is a boundary, except the
    middle one of ``",","``, where the item between two boundaries is the text
    ``,`` itself; of a run of such overlapping matches every other one, from
    the first, is a boundary. The rows of a column are then gathered from the
    buffer with array indexing, no Python object per row.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        listed = json_for_script(list(texts)).encode("ascii")
        self.text = np.frombuffer(listed, dtype=np.uint8)
        quote, comma = ord('"'), ord(",")
        buf = self.text
        cuts = np.flatnonzero((buf[1:-1] == comma) & (buf[:-2] == quote) & (buf[2:] == quote)) + 1
        run_start = np.diff(cuts, prepend=-3) != 2
        first = np.flatnonzero(run_start)[np.cumsum(run_start) - 1]
        cuts = cuts[(np.arange(len(cuts)) - first) % 2 == 0]
        #: Where each text's JSON starts in :attr:`text`, and its length in bytes.
        self.starts = np.concatenate([[1], cuts + 1]) if texts else np.zeros(0, np.int64)
        ends = np.concatenate([cuts, [len(buf) - 1]]) if texts else np.zeros(0, np.int64)
        self.lengths = ends - self.starts

    def __len__(self) -> int:
        return len(self.starts)

    def rows(self, codes: np.ndarray) -> np.ndarray:
        """Return the JSON of the texts ``codes`` as a byte matrix, a row each, NUL-padded."""
        # 32-bit positions, where they fit, halve the index arrays the gather reads.
        kind = np.int32 if len(self.text) < 2**31 else np.int64
        starts, lengths = self.starts[codes].astype(kind), self.lengths[codes].astype(kind)
        width = max(int(lengths.max()) if len(codes) else 0, 1)
        places = np.arange(width, dtype=kind)
        at = starts[:, None] + places
        np.minimum(at, len(self.text) - 1, out=at)
        out: np.ndarray = np.take(self.text, at)
        out *= places[None, :] < lengths[:, None]
        return out


def texts_json(texts: Sequence[str]) -> list[bytes]:
    """Return ``json_for_script(t)`` of each text, as ASCII bytes, from one encoder call."""
    encoded = EncodedTexts(texts)
    listed = encoded.text.tobytes()
    ends = (encoded.starts + encoded.lengths).tolist()
    return [listed[start:end] for start, end in zip(encoded.starts.tolist(), ends, strict=True)]


@dataclass
class SiteRows:
    """The rows of the drawn sites, in drawing order, one array per field.

    ``numbers`` holds each number field of :data:`DIGITS` as floats (rounded
    as the page shows them; NaN for none); ``texts`` each field of
    :data:`TEXT_FIELDS` as codes into its distinct escaped texts.
    """

    fields: tuple[str, ...]
    numbers: Mapping[str, np.ndarray]
    texts: Mapping[str, tuple[np.ndarray, list[str]]]

    def __len__(self) -> int:
        return len(next(iter(self.numbers.values()), ()))

    def take(self, positions: Sequence[int] | np.ndarray) -> SiteRows:
        """Return the rows at ``positions``, in that order."""
        pos = np.asarray(positions, dtype=np.int64)
        return SiteRows(
            fields=self.fields,
            numbers={f: v[pos] for f, v in self.numbers.items()},
            texts={f: (codes[pos], values) for f, (codes, values) in self.texts.items()},
        )

    def columns(self) -> list[list[Any]]:
        """Return one list per field: floats, ints, texts and ``None``, as JSON reads them."""
        columns: list[list[Any]] = []
        for f in self.fields:
            if f in self.texts:
                codes, values = self.texts[f]
                columns.append([values[c] for c in codes.tolist()])
                continue
            whole = DIGITS[f] == 0
            columns.append(
                [
                    None if math.isnan(v) else round(v) if whole else v
                    for v in self.numbers[f].tolist()
                ]
            )
        return columns

    def lists(self) -> list[list[Any]]:
        """Return the rows as Python lists, one per site (the transpose of :meth:`columns`)."""
        return [list(row) for row in zip(*self.columns(), strict=True)]

    @classmethod
    def from_lists(cls, fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> SiteRows:
        """Return rows given as Python lists (``None`` for none) as columns."""
        numbers: dict[str, np.ndarray] = {}
        texts: dict[str, tuple[np.ndarray, list[str]]] = {}
        for j, f in enumerate(fields):
            column = [row[j] for row in rows]
            if f in TEXT_FIELDS:
                index: dict[str, int] = {}
                codes = [index.setdefault(v, len(index)) for v in column]
                texts[f] = (np.asarray(codes, dtype=np.int64), list(index))
            else:
                numbers[f] = np.array(
                    [math.nan if v is None else float(v) for v in column], dtype=np.float64
                )
        return cls(fields=tuple(fields), numbers=numbers, texts=texts)

    def json(self) -> str:
        """Return the columns' JSON text, a list of one list per field, safe inside a ``<script>``.

        The same text as ``json_for_script(self.columns())``. A page reads a
        list of numbers per field far faster than a list per site (the browser
        makes one array of numbers rather than an array and a number object
        per value), and this is how the values are kept here. Each number
        field is a byte matrix (:func:`number_json`) and each text field its
        distinct values encoded once; a block of values at a time, they are
        laid beside their commas and the padding dropped, so no Python object
        is made per value and a long text pads only its block.
        """
        n = len(self)
        lists = []
        for f in self.fields:
            if f in self.texts:
                codes, values = self.texts[f]
                lists.append(_list_json(n, partial(_text_rows, codes, EncodedTexts(values))))
            else:
                lists.append(_list_json(n, number_json(self.numbers[f], DIGITS[f]).__getitem__))
        return f"[{','.join(lists)}]"


def _text_rows(codes: np.ndarray, encoded: EncodedTexts, rows: slice) -> np.ndarray:
    """Return the JSON of the texts of ``codes[rows]``, a NUL-padded byte row each."""
    return encoded.rows(codes[rows])


def _list_json(n: int, values: Callable[[slice], np.ndarray]) -> str:
    """Return the JSON list of ``n`` values, whose text ``values(rows)`` gives as byte rows.

    A block of rows at a time is laid beside a column of commas and its NUL
    padding dropped, so the memory a block takes is bounded.
    """
    comma = _column(b",", min(n, _BLOCK_ROWS))
    blocks = []
    for start in range(0, n, _BLOCK_ROWS):
        text = values(slice(start, min(start + _BLOCK_ROWS, n)))
        block = np.concatenate([text, comma[: len(text)]], axis=1)
        blocks.append(block.tobytes().replace(b"\x00", b""))
    return f"[{b''.join(blocks)[:-1].decode('ascii')}]"


def _column(text: bytes, n: int) -> np.ndarray:
    """Return ``text`` repeated on ``n`` rows, as a read-only byte matrix."""
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))
