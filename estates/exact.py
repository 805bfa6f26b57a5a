"""Sums of floats kept exactly, so a total added up in parts equals the whole one.

Float addition is not associative: adding each part's rounded total gives a
last digit that depends on where the parts split, and a build in parts would
then differ from the one-part build (a borough's "56.0 ha" shown as "56.1 ha").
These helpers keep Shewchuk's non-overlapping partials, the algorithm behind
:func:`math.fsum`, so the total is ``math.fsum`` of every value added, however
the values were split.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

#: Bits of the low half of each value's 53-bit integer mantissa: both halves are
#: summed in int64, which holds 2**36 values of either before it could overflow.
_LOW_BITS = 26
#: Values summed at once by :func:`exact_partials` (well under 2**36).
_BLOCK = 1 << 30


def add_exactly(partials: Iterable[float], values: Iterable[float]) -> tuple[float, ...]:
    """Return the partials of ``partials`` plus finite ``values``, exactly.

    Parameters
    ----------
    partials : iterable of float
        Partials returned by an earlier call (or ``()`` to start); left unchanged.
    values : iterable of float
        Finite values to add (drop NaN first).

    Returns
    -------
    tuple of float
        Non-overlapping partials whose exact sum is the exact sum of the
        inputs; :func:`math.fsum` of them is the correctly rounded total.

    Examples
    --------
    >>> parts = add_exactly(add_exactly((), [0.1, 0.2]), [0.3])
    >>> math.fsum(parts) == math.fsum([0.1, 0.2, 0.3])
    True
    """
    out = list(partials)
    for value in values:
        x = float(value)
        i = 0
        for partial in out:
            x, y = (x, partial) if abs(x) >= abs(partial) else (partial, x)
            hi = x + y
            lo = y - (hi - x)
            if lo:
                out[i] = lo
                i += 1
            x = hi
        out[i:] = [x]
    return tuple(out)


def exact_partials(values: np.ndarray) -> tuple[float, ...]:
    """Return partials whose exact sum is the exact sum of ``values``, computed in numpy.

    The same result as ``add_exactly((), values)`` up to the split into
    partials (so :func:`math.fsum` of either is the same float), at numpy's
    speed: :func:`add_exactly` takes a Python step per value, which made the
    group tallies of a million sites take seconds. Each value is an integer
    mantissa times a power of two (:func:`numpy.frexp`); the mantissas are
    added exactly in int64 per exponent, and the few per-exponent totals are
    added as Python integers.

    Parameters
    ----------
    values : numpy.ndarray
        Float values (drop NaN first). Anything not finite is left to
        :func:`add_exactly`, as is a total too large for a float.

    Returns
    -------
    tuple of float
        Non-overlapping partials, largest first; ``()`` for no value or a zero sum.

    Examples
    --------
    >>> values = np.array([0.1, 0.2, 0.3, 1e16, -1e16])
    >>> math.fsum(exact_partials(values)) == math.fsum(values.tolist())
    True
    >>> exact_partials(np.array([]))
    ()
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[values != 0]
    if not len(values):
        return ()
    if not np.isfinite(values).all() or len(values) >= _BLOCK:
        return add_exactly((), values.tolist())
    mantissa, exponent = np.frexp(values)
    # values == ints * 2**shifts exactly, |ints| < 2**53.
    ints = np.ldexp(mantissa, 53).astype(np.int64)
    shifts = exponent.astype(np.int64) - 53
    order = np.argsort(shifts, kind="stable")
    shifts, ints = shifts[order], ints[order]
    distinct, starts = np.unique(shifts, return_index=True)
    high = np.add.reduceat(ints >> _LOW_BITS, starts)
    low = np.add.reduceat(ints & ((1 << _LOW_BITS) - 1), starts)
    base = int(distinct[0])
    total = 0
    for shift, h, lo in zip(distinct.tolist(), high.tolist(), low.tolist(), strict=True):
        total += ((h << _LOW_BITS) + lo) << (shift - base)
    partials = _float_partials(total, base)
    if partials is None:
        return add_exactly((), values.tolist())
    return partials


def _float_partials(total: int, exponent: int) -> tuple[float, ...] | None:
    """Return floats adding up exactly to ``total * 2**exponent``; None if one would overflow."""
    if not total:
        return ()
    trailing = (total & -total).bit_length() - 1
    total >>= trailing
    exponent += trailing
    out = []
    while total:
        size = abs(total).bit_length()
        if size + exponent > 1024:
            return None
        cut = max(size - 53, 0)
        top = abs(total) >> cut
        top = top if total > 0 else -top
        # top has at most 53 bits and top * 2**(exponent + cut) is a multiple of
        # the smallest float the values were made of: ldexp is exact.
        out.append(math.ldexp(float(top), exponent + cut))
        total -= top << cut
    return tuple(out)


class ExactSum:
    """A running sum of floats kept exactly and rounded once, in :meth:`result`.

    Examples
    --------
    >>> total = ExactSum()
    >>> total.add([0.1, 0.2])
    >>> total.add([0.3])
    >>> total.result() == math.fsum([0.1, 0.2, 0.3])
    True
    """

    def __init__(self) -> None:
        self._partials: tuple[float, ...] = ()

    def add(self, values: Iterable[float]) -> None:
        """Add finite ``values`` to the sum."""
        if isinstance(values, np.ndarray):
            values = exact_partials(values)
        self._partials = add_exactly(self._partials, values)

    def result(self) -> float:
        """Return the correctly rounded sum of every value added."""
        return math.fsum(self._partials)
