"""estates: NHS estate and land-disposal analysis for London.

A flat namespace for analysts::

    import estates as es

    boroughs = es.load_boroughs()            # ONS boundaries, EPSG:4326
    sites = es.load_sites()                  # ERIC 2016/17 sites, located, EPSG:4326
    joined = es.join_boroughs(sites, boroughs)
    result = es.build()                      # the whole pipeline, in memory
    result.sites                             # the scored site table, EPSG:4326
    es.build(sites=my_frame, out="maps")     # `estates build --out maps`, from Python

Everything not listed in ``__all__`` is private and may change.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from estates.builder.diff import diff_output_sets, diff_sites
from estates.builder.join_file import join_file
from estates.builder.pipeline import Inputs, Result, build
from estates.builder.runner import BuildReport
from estates.config import Config, load_config
from estates.crs import BNG, WGS84, require_crs
from estates.errors import (
    ConfigError,
    CRSError,
    DataValidationError,
    EstatesError,
    LockedError,
)
from estates.findings import Finding, Findings
from estates.io.inputs import load_boroughs, load_groupings
from estates.io.land_values import load_land_value_file, load_published_land_values
from estates.io.tables import ATTRIBUTION, write_csv
from estates.stages.join import join_boroughs
from estates.stages.land_values import (
    borough_value_ranges,
    ranking_value_gbp,
    sum_value_ranges,
    valuation_caveat,
    value_unused_land,
)
from estates.stages.measures import measure_sites
from estates.stages.score import rank_sites, score_unused_land
from estates.stages.sites import load_sites
from estates.stages.target_average import target_average
from estates.stages.valuation import value_sites

try:
    __version__ = _version("estates")
except _PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ATTRIBUTION",
    "BNG",
    "WGS84",
    "BuildReport",
    "CRSError",
    "Config",
    "ConfigError",
    "DataValidationError",
    "EstatesError",
    "Finding",
    "Findings",
    "Inputs",
    "LockedError",
    "Result",
    "__version__",
    "borough_value_ranges",
    "build",
    "diff_output_sets",
    "diff_sites",
    "join_boroughs",
    "join_file",
    "load_boroughs",
    "load_config",
    "load_groupings",
    "load_land_value_file",
    "load_published_land_values",
    "load_sites",
    "measure_sites",
    "rank_sites",
    "ranking_value_gbp",
    "require_crs",
    "score_unused_land",
    "sum_value_ranges",
    "target_average",
    "valuation_caveat",
    "value_sites",
    "value_unused_land",
    "write_csv",
]
