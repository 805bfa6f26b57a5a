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
        self._partials = add_exactly(self._partials, values)

    def result(self) -> float:
        """Return the correctly rounded sum of every value added."""
        return math.fsum(self._partials)
