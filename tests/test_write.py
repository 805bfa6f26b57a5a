"""How tables are written: numbers as a spreadsheet reader expects them."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from estates.write import _plain_number, plain_numbers


@given(st.lists(st.floats(allow_infinity=False), max_size=50))
@example([-1e-12, 123456789.123, 0.12345678905, 1 / 3, 2 / 3 * 1e9])
@example([0.1, 1e-05, 1e-11, 123456.789012345678, -0.0, 2.5e15, 1e300, 5e-324, 0.30000000000000004])
def test_plain_numbers_equal_one_by_one(values: list[float]) -> None:
    array = np.array(values, dtype=float)
    assert plain_numbers(array).tolist() == [_plain_number(v) for v in values]


def test_plain_numbers_of_measured_values() -> None:
    hectares = np.random.default_rng(7).uniform(0, 500, 100_000).round(2)
    expected = [_plain_number(v) for v in hectares.tolist()]
    assert plain_numbers(hectares).tolist() == expected
