"""The site rows' JSON, a list per field written by numpy, is the standard encoder's text of it.

Numbers are written as digits worked out on whole columns only where those
digits are provably Python's ``repr``; these tests hold the writer to
``json.dumps`` (through ``json_for_script``) on the values where ``repr``
changes form (exponents, minus zero, whole floats, halves, the 15-digit edge)
and on large random columns, and the texts on markup, quotes, control
characters and unicode.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from estates.render.assets import json_for_script
from estates.render.site_rows import DIGITS, EncodedTexts, SiteRows, number_json, texts_json

EDGES = [
    0.0, -0.0, 1e-5, 5e-5, 9.9e-5, 1e-4, -1e-4, 0.00015, 0.005, 0.1, 0.3, 1.0, -1.0, 2.5, 3.5,
    -0.5, -2.5, 51.5, -0.12345, 999999.9999, 123456789.123, 1e6, 1e14, 999999999999999.0,
    1e15, 1e16, 1e17, 2.0**63, 1e300, -1e300, 5e-324, 1e-320, math.nan,
]  # fmt: skip


def _expected(values: np.ndarray, digits: int) -> list[str]:
    """Each value's JSON as the standard encoder writes the payload's Python value."""
    return [
        json_for_script(None if math.isnan(v) else round(v) if digits == 0 else v)
        for v in values.tolist()
    ]


def _written(values: np.ndarray, digits: int) -> list[str]:
    return [bytes(row).replace(b"\x00", b"").decode("ascii") for row in number_json(values, digits)]


@pytest.mark.parametrize("digits", sorted({*DIGITS.values(), 7}))  # 7: past the table
def test_numbers_are_written_as_json_dumps_writes_them(digits: int) -> None:
    rng = np.random.default_rng(digits)
    n = 20_000
    columns = [
        np.array(EDGES),
        rng.normal(0, 1, n),
        rng.uniform(-1e9, 1e9, n),
        rng.uniform(-1e-3, 1e-3, n),
        np.exp(rng.uniform(-30, 80, n)) * rng.choice([-1, 1], n),
        rng.integers(-(10**6), 10**6, n) / 10**digits,
        rng.integers(0, 10**8, n) / 10**digits + 0.5 / 10**digits,  # halves
    ]
    for column in columns:
        values = np.round(column, digits) if digits else column
        assert _written(values, digits) == _expected(values, digits)


def test_infinity_is_refused_as_the_encoder_refuses_it() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        number_json(np.array([1.0, math.inf]), 3)
    with pytest.raises(OverflowError):
        number_json(np.array([-math.inf]), 0)


def test_texts_are_encoded_one_by_one_as_in_one_list() -> None:
    texts = ["", "a", 'x","y', '","', "\\", '\\"', "<b>&amp;", "\u2028\u2029", "\x00\x01",
             "é 𝔘", "</script><!--", ",", ",", '"', ",", "a", ",", ",", ",", '","',
             ","]  # fmt: skip
    assert [t.decode("ascii") for t in texts_json(texts)] == [json_for_script(t) for t in texts]
    assert texts_json([]) == []
    # A column's rows are gathered from the one encoded list, padded with NUL.
    encoded = EncodedTexts(texts)
    codes = np.array([3, 0, 14, 14, len(texts) - 1, 6])
    rows = [bytes(row).rstrip(b"\x00").decode("ascii") for row in encoded.rows(codes)]
    assert rows == [json_for_script(texts[c]) for c in codes.tolist()]


def _rows(n: int, seed: int = 3) -> list[list[object]]:
    rng = np.random.default_rng(seed)
    names = ["A & B", '"Q"', "<i>", "", "Ünï", "x" * 300]
    rows: list[list[object]] = []
    for i in range(n):
        value = float(np.round(rng.uniform(-1, 60), 3))
        rows.append([
            float(np.round(rng.uniform(-0.5, 0.3), 5)), float(np.round(rng.uniform(51, 52), 5)),
            f"S{i:05d}", names[i % len(names)], int(rng.integers(0, 40)),
            None if i % 7 == 0 else value, None if i % 11 == 0 else round(rng.uniform(0, 1e9)),
            None if i % 5 == 0 else int(i % 2),
        ])  # fmt: skip
    return rows


FIELDS = ("lon", "lat", "code", "name", "profile", "unused_ha", "value_gbp", "pfi")


def _columns(rows: list[list[object]]) -> list[list[object]]:
    """The rows' values, a list per field, as the page's data hold them."""
    return [list(column) for column in zip(*rows, strict=True)]


def test_rows_json_is_the_json_of_a_list_per_field() -> None:
    rows = _rows(5_000)
    site_rows = SiteRows.from_lists(FIELDS, rows)
    assert len(site_rows) == len(rows)
    assert site_rows.lists() == rows
    assert site_rows.columns() == _columns(rows)
    assert site_rows.json() == json_for_script(_columns(rows))
    picked = [4_999, 0, 17, 17, 2_500]
    assert site_rows.take(picked).json() == json_for_script(_columns([rows[i] for i in picked]))
    # No site: an empty list per field.
    assert site_rows.take([]).json() == "[" + ",".join(["[]"] * len(FIELDS)) + "]"
    assert json.loads(site_rows.take([]).json()) == [[] for _ in FIELDS]


def test_rows_json_holds_long_texts_and_texts_at_either_end() -> None:
    rows = [[r[2], *r[:2], r[3]] for r in _rows(20_000)]
    rows[12_345][3] = "\u2028&quot;" * 200
    site_rows = SiteRows.from_lists(("code", "lon", "lat", "name"), rows)
    assert site_rows.json() == json_for_script(_columns(rows))
