"""The join on each partition of a dask-geopandas frame."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from estates.errors import ConfigError, DataValidationError
from estates.stages.join._frame import _assemble, join_boroughs
from estates.stages.join._index import _index_boroughs
from estates.stages.join._points import ADDED_COLUMNS, _check_options, _source_crs

if TYPE_CHECKING:
    pass

logger = logging.getLogger("estates")


def join_boroughs_dask(sites: Any, boroughs: gpd.GeoDataFrame, **options: Any) -> Any:
    """Run :func:`join_boroughs` on each partition of a dask-geopandas frame.

    Lazy: nothing runs until ``.compute()`` (or ``.persist()``), on whatever
    scheduler is active, e.g. a ``dask.distributed`` cluster. The boroughs
    travel with the task graph; they are small. Needs the ``estates[dask]``
    extra.

    Parameters
    ----------
    sites : dask_geopandas.GeoDataFrame
        Point sites in any CRS; left unchanged.
    boroughs : geopandas.GeoDataFrame
        As for :func:`join_boroughs`; checked now, not at compute time.
    **options
        ``nearest_within_m`` and ``threads``, passed to :func:`join_boroughs`;
        ``threads`` defaults to 1 here, as dask already runs partitions side
        by side.

    Returns
    -------
    dask_geopandas.GeoDataFrame
        The joined sites, partition by partition; computed, it equals
        ``join_boroughs(sites.compute(), boroughs, **options)``.

    Raises
    ------
    ImportError
        If dask-geopandas is not installed.
    CRSError, DataValidationError, ConfigError
        As for :func:`join_boroughs`, for problems visible before computing.

    See Also
    --------
    join_boroughs : the in-memory join; ``docs/dask.md`` has the full recipe.
    """
    try:
        import dask_geopandas  # noqa: F401  (registers the geometry dtype with dask)
    except ImportError as error:  # pragma: no cover - the dask extra is a test dependency
        msg = "join_boroughs_dask needs dask-geopandas: pip install 'estates[dask]'"
        raise ImportError(msg) from error
    unknown = sorted(set(options) - {"nearest_within_m", "threads"})
    if unknown:
        msg = f"unknown option(s) {unknown}; join_boroughs takes nearest_within_m and threads"
        raise ConfigError(msg)
    options = {"threads": 1, **options}
    _check_options(options.get("nearest_within_m", 250.0), options["threads"])
    meta_sites = sites._meta
    clash = [c for c in ADDED_COLUMNS if c in meta_sites.columns]
    if clash:
        msg = f"sites already has {', '.join(map(repr, clash))}; drop them before joining again"
        raise DataValidationError(msg)
    _source_crs(sites.crs, "sites")
    index = _index_boroughs(boroughs)
    empty = np.empty(0, dtype=np.int32)
    meta = _assemble(meta_sites, index, empty, empty.astype(np.int8), np.empty(0))
    return sites.map_partitions(join_boroughs, boroughs, meta=meta, **options)
