"""A zoo of awkward site geometries, shared by the parametrised tests.

Each case is one site as a user's point layer could hold it, in British
National Grid (EPSG:27700), with what the build must make of it: kept and
joined a given way, or rejected with a named check. The places are real:
a vertex shared by Camden and Islington, the Thames by Westminster Bridge,
Reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

#: A vertex of the Camden-Islington boundary (ONS May 2020 boundaries).
SHARED_VERTEX = Point(530120.668136212, 184136.92019970156)


@dataclass(frozen=True)
class Case:
    """One awkward site and what must become of it."""

    name: str
    geometry: BaseGeometry | None
    #: ``join_method`` of the kept site, or None when the record is rejected.
    join_method: str | None
    #: The finding's ``check`` when the record is rejected or flagged.
    check: str | None = None

    def __str__(self) -> str:
        return self.name


ZOO: list[Case] = [
    Case("empty point", shapely.Point(), join_method=None, check="unlocated"),
    Case("no geometry", None, join_method=None, check="unlocated"),
    Case(
        "self-intersecting polygon",
        Polygon([(530000, 180000), (531000, 181000), (531000, 180000), (530000, 181000)]),
        join_method=None,
        check="not_a_point",
    ),
    Case(
        "multipart",
        MultiPoint([(530000, 180000), (531000, 181000)]),
        join_method=None,
        check="not_a_point",
    ),
    # A vertex on a boundary is within no polygon: 0 m from both, the first wins.
    Case("on a shared edge", SHARED_VERTEX, join_method="nearest"),
    # Mid-river by Westminster Bridge: in no borough, 120 m from Lambeth's bank.
    Case("on the river bank", Point(530464.24, 179645.70), join_method="nearest"),
    # Reading, 60 km west: kept, flagged, out of London's totals.
    Case(
        "outside London", Point(471500.0, 173500.0), join_method="outside", check="outside_london"
    ),
]
