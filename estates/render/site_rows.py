"""The map's site rows, kept a column at a time, and their JSON text written column-wise.

A map of 50,000 sites holds about 850,000 numbers and texts. Handing them to
``json.dumps`` as Python row lists costs more than everything else on the page:
a Python object per value, then a float ``repr`` per value in the encoder. Here
each column stays a numpy array (texts as codes into their distinct values)
and its JSON is written as text in one pass: numbers as decimal digits worked
out by integer arithmetic on the whole column, each distinct text encoded once.
The text is the one ``json_for_script`` gives for the same rows as lists, byte
for byte: the digits are used only where they are provably the shortest
``repr`` of the same float (see :func:`number_json`); any other value (huge,
tiny, minus zero) is written by the standard encoder itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from estates.render.assets import json_for_script

__all__ = ["DIGITS", "SiteRows", "number_json", "texts_json"]

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
# Digit strings of at most 15 significant figures name exactly one float each.
_EXACT = 10.0**15
_ZERO = ord("0")


def _digit_matrix(whole: np.ndarray, width: int, *, keep_zeros: bool) -> np.ndarray:
    """Return the decimal digits of non-negative ``whole`` as an ``(n, width)`` byte matrix.

    With ``keep_zeros`` every place is a digit (a fraction's places, left to
    right); without, leading zeros are NUL bytes, except the units digit.
    """
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (whole[:, None] // powers[None, :]) % 10
    out = (digits + _ZERO).astype(np.uint8)
    if not keep_zeros and width > 1:
        out[:, :-1][whole[:, None] < powers[None, :-1]] = 0
    return out


def _fraction_matrix(fraction: np.ndarray, digits: int) -> np.ndarray:
    """Return the ``digits`` places of ``fraction`` (< 10**digits) with trailing zeros NUL.

    The first place is always kept, so a whole number ends ``.0`` as ``repr`` writes it.
    """
    out = _digit_matrix(fraction, digits, keep_zeros=True)
    for place in range(1, digits):
        out[fraction % 10 ** (digits - place) == 0, place] = 0
    return out


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
    parts = [
        np.where(k < 0, ord("-"), 0).astype(np.uint8)[:, None],
        _digit_matrix(units, places, keep_zeros=False),
    ]
    if digits:
        parts.append(np.full((len(k), 1), ord("."), dtype=np.uint8))
        parts.append(_fraction_matrix(magnitude % 10**digits, digits))
    text = np.concatenate(parts, axis=1)
    others = np.flatnonzero(~plain & ~null)
    special = [
        json_for_script(float(values[i]) if digits else round(float(values[i]))).encode("ascii")
        for i in others.tolist()
    ]
    width = max(text.shape[1], 4, *map(len, special))
    if width > text.shape[1]:
        text = np.concatenate([text, np.zeros((len(k), width - text.shape[1]), np.uint8)], axis=1)
    for i, word in zip(others.tolist(), special, strict=True):
        text[i] = 0
        text[i, : len(word)] = np.frombuffer(word, np.uint8)
    text[null] = 0
    text[null, :4] = np.frombuffer(b"null", np.uint8)
    return text


def texts_json(texts: Sequence[str]) -> list[bytes]:
    r"""Return ``json_for_script(t)`` of each text, as ASCII bytes, from one encoder call.

    The texts are encoded as one JSON list and cut at each ``","``: inside a
    JSON string every ``"`` is escaped (``\"``), so a quote, comma, quote
    can only be the boundary between two items.
    """
    if not texts:
        return []
    listed = json_for_script(list(texts))
    return [f'"{t}"'.encode("ascii") for t in listed[2:-2].split('","')]


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

    def lists(self) -> list[list[Any]]:
        """Return the rows as Python lists: floats, ints, texts and ``None``, as JSON reads them."""
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
        return [list(row) for row in zip(*columns, strict=True)]

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
        """Return the rows' JSON text, a list of lists, safe inside a ``<script>``.

        The same text as ``json_for_script(self.lists())``. Each run of number
        fields is written as one byte matrix, the texts as their distinct
        values encoded once; the pieces of each row are joined by commas, and
        the padding dropped, once for the whole text.
        """
        n = len(self)
        if n == 0:
            return "[]"
        if self.fields[0] in self.texts or self.fields[-1] in self.texts:
            msg = "a site row must start and end with a number field"
            raise ValueError(msg)
        comma = np.full((n, 1), ord(","), dtype=np.uint8)
        pieces: list[list[np.ndarray] | np.ndarray] = []
        for f in self.fields:
            if f in self.texts:
                codes, values = self.texts[f]
                pieces.append(np.asarray(texts_json(values), dtype=object)[codes])
            elif pieces and isinstance(pieces[-1], list):
                pieces[-1].extend([comma, number_json(self.numbers[f], DIGITS[f])])
            else:
                pieces.append([number_json(self.numbers[f], DIGITS[f])])
        first, last = pieces[0], pieces[-1]
        assert isinstance(first, list)  # checked above
        assert isinstance(last, list)
        first.insert(0, np.full((n, 1), ord("["), dtype=np.uint8))
        last.append(np.full((n, 1), ord("]"), dtype=np.uint8))
        table = np.empty((n, len(pieces)), dtype=object)
        for j, piece in enumerate(pieces):
            if isinstance(piece, list):
                block = np.ascontiguousarray(np.concatenate(piece, axis=1))
                table[:, j] = block.view(f"S{block.shape[1]}").ravel()
            else:
                table[:, j] = piece
        joined = b",".join(table.ravel().tolist()).replace(b"\x00", b"")
        return f"[{joined.decode('ascii')}]"
