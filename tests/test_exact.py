"""Exact sums: the numpy partials equal the per-value partials, however the values split."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from estates.exact import ExactSum, add_exactly, exact_partials


def _hard_values() -> list[np.ndarray]:
    """Value sets where naive float addition loses digits, or the representation is odd."""
    rng = np.random.default_rng(20261206)
    return [
        rng.uniform(0, 5, 10_000).round(2),  # hectares as the synthetic sites hold them
        rng.normal(0, 1e6, 10_000) * 10.0 ** rng.integers(-8, 9, 10_000),
        np.array([1e16, 1.0, -1e16, 0.1, 0.2, 0.3, -0.6]),
        np.array([8e307, 8e307, -8e307, 1.0, 5e-324, 5e-324]),  # huge and subnormal
        np.array([2.0**-1070, 3 * 2.0**-1074, -(2.0**-1073)]),
        np.array([0.0, -0.0, 0.0]),
        np.array([7.5]),
        np.array([]),
    ]


@pytest.mark.parametrize("values", _hard_values(), ids=lambda v: f"{len(v)} values")
def test_exact_partials_sum_to_the_correctly_rounded_total(values: np.ndarray) -> None:
    expected = math.fsum(values.tolist())
    assert math.fsum(exact_partials(values)) == expected
    assert math.fsum(exact_partials(values)) == math.fsum(add_exactly((), values.tolist()))


@pytest.mark.parametrize("values", _hard_values()[:5], ids=lambda v: f"{len(v)} values")
def test_partials_of_parts_add_up_to_the_whole(values: np.ndarray) -> None:
    whole = math.fsum(values.tolist())
    for cut in (1, len(values) // 3, len(values) - 1):
        parts = add_exactly(exact_partials(values[:cut]), exact_partials(values[cut:]))
        assert math.fsum(parts) == whole


def test_partials_are_floats_that_do_not_overlap() -> None:
    values = np.array([1e16, 1.0, 0.1, 1e-20])
    partials = exact_partials(values)
    assert all(isinstance(p, float) for p in partials)
    assert list(partials) == sorted(partials, key=abs, reverse=True)
    for big, small in itertools.pairwise(partials):
        assert abs(small) < math.ulp(big)


def test_a_sum_too_large_for_a_float_falls_back_to_the_python_partials() -> None:
    values = np.array([1.7e308, 1.7e308])
    assert exact_partials(values) == add_exactly((), values.tolist())


def test_exact_sum_takes_arrays_and_lists_alike() -> None:
    values = np.array([0.1] * 1000 + [1e15, -1e15])
    from_array, from_list = ExactSum(), ExactSum()
    from_array.add(values[:500])
    from_array.add(values[500:])
    from_list.add(values[:500].tolist())
    from_list.add(values[500:].tolist())
    assert from_array.result() == from_list.result() == math.fsum(values.tolist())
