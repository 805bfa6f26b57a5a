"""Join sites to London boroughs: point in polygon, with a nearest-borough fallback.

The borough boundaries (ONS, clipped to the coastline and the river) leave the
Thames out, so a site on a river bank can fall between two polygons. A site in
no polygon takes the nearest borough when it lies within ``nearest_within_m``
metres of one (``join_method="nearest"``); farther away it is ``"outside"``.

How the join runs
-----------------
The points are reprojected once to British National Grid (EPSG:27700) with
:class:`pyproj.Transformer` on raw coordinate arrays, in chunks, so that
temporaries stay bounded. The answer matches ``geopandas.sjoin`` on
``to_crs(27700)`` frames exactly: the same transformer on the same numbers,
the same GEOS predicates.

By default points are joined directly: a bounding-box prefilter and
``shapely.contains_xy`` on prepared polygons, then one query of a GEOS tree of
boundary segments for each point in no polygon.

When a sample says that many points (over ``_GRID_MIN_OUTSIDE``, 10,000) will
be in no polygon, the join uses a grid of 256 m cells (128 m from 20,000 such
points) over the boroughs' extent plus 10 km, shared by every chunk and
thread. It takes 0.2 to 0.3 s to build and is kept like the source table
below, in memory and on disk, so it is built once per machine and mapped back in
under a millisecond. It is built coarse to fine, from 4096 m cells down. Each cell
keeps the boundary segments that can be nearest to any of its points (a segment
farther from the centre than the nearest one plus the cell's diagonal cannot
be). A cell whose nearest boundary is farther than half its diagonal holds no
boundary, so all its points share the location of its centre, tested once with
GEOS. A point then costs a table look-up: only points in cells that a boundary
crosses are tested one by one, and the distance of a point in no polygon is the
minimum over its cell's few segments, computed with the same arithmetic as GEOS
(``Distance::pointToSegment``), so equal distances stay equal; near-ties
between two boroughs and points on a boundary are settled by GEOS itself.

A point in no polygon and farther than ``nearest_within_m`` from every
borough is ``"outside"`` with no distance (NaN): one GEOS tree query with that
radius tells it apart, and only points within the radius are measured.

Sites in a geographic CRS (WGS84, as they usually arrive) mostly skip the
reprojection: :func:`join_boroughs` classifies square cells of that CRS,
coarse to fine down to 1/2048 degree, by their image in EPSG:27700. A cell
whose reprojected centre is farther from every boundary segment than the
cell's image can reach (the reprojection's stretch, measured over the table,
plus 1% and a margin) has one answer for all its points: within the borough
the centre is within, or outside when no borough is within
``nearest_within_m`` plus that reach. Those points take the answer of their
cell; the others (about 3.3% over London's bounding box: near a boundary, or
within reach of the fallback radius; more than half of them on the river or
just outside London, in no polygon) are reprojected and joined exactly as
above, with the grid when they are many. The table takes about 0.3 s to
build and is kept per CRS, boroughs and radius, in memory and on disk
(:mod:`._disk_cache`: ``$ESTATES_CACHE_DIR``, else ``~/.cache/estates``), so
it is built only for calls with many points, once per machine. The borough
index is kept per thread and boroughs.

Modules
-------
``_frame`` :func:`join_boroughs` on a GeoDataFrame; ``_stream``
:func:`iter_join_parquet` and :func:`iter_join_batches` over readers of
:mod:`estates.io`; ``_dask`` :func:`join_boroughs_dask`; ``_index`` the
boroughs indexed in EPSG:27700; ``_grid`` and ``_source_cells`` the two cell
tables; ``_exact`` the exact join of coordinate arrays; ``_points`` checks,
reprojection and the added columns; ``_disk_cache`` tables kept between
processes.

Among equidistant boroughs (a point on a shared boundary is 0 m from both),
and among overlapping polygons, the one first in the boroughs frame wins.
"""

from estates.stages.join._dask import join_boroughs_dask
from estates.stages.join._frame import join_boroughs
from estates.stages.join._points import ADDED_COLUMNS, JOIN_METHODS
from estates.stages.join._stream import iter_join_batches, iter_join_parquet

__all__ = [
    "ADDED_COLUMNS",
    "JOIN_METHODS",
    "iter_join_batches",
    "iter_join_parquet",
    "join_boroughs",
    "join_boroughs_dask",
]
