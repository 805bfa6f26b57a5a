"""estates: NHS estate and land-disposal analysis for London.

A flat namespace for analysts. Each stage is a function, frame in, new frame
out; a stage that checks records returns its findings with its result
(``kept, found = ...``) and never changes what it was given::

    import estates as es

    config = es.load_config()
    boroughs, groupings = es.load_boroughs(), es.load_groupings()        # EPSG:4326
    records, read = es.read_records(None, config=config.validation)       # load
    kept, checked = es.validate_records(records, config=config.validation)  # validate
    located, placed = es.locate_sites(kept, es.load_context_sites())     # locate
    joined = es.join_boroughs(es.to_points(located), boroughs)           # join (EPSG:27700)
    london, outside = es.mark_london(joined)
    tagged = es.tag_groupings(london, groupings)                         # tag
    measured = es.measure_sites(tagged)                                  # measure
    valued, valuation = es.value_sites(measured, target_gbp=config.valuation.target_gbp)  # value
    scored = es.rank_sites(es.score_unused_land(valued, config=config.score))  # score
    tallies = es.site_tallies(scored, groupings, records=records)        # aggregate
    by_borough = es.aggregate_boroughs(
        es.tag_groupings(boroughs, groupings), tallies, target_gbp=config.valuation.target_gbp
    )
    es.write_site_table(scored.to_crs(es.WGS84), Path("out"))             # write

Rendering (``es.render_maps``, ``es.render_static_map``) needs the summary of a
whole build; one call runs everything, as ``estates build`` does::

    result = es.build()                      # every stage, in memory: es.Result
    result.sites                             # the scored site table, EPSG:4326
    es.build(sites=my_frame, out="maps")     # `estates build --out maps`, from Python

``import estates`` loads neither folium, matplotlib, mapclassify nor duckdb:
the render functions are imported on first use. Everything not listed in
``__all__`` is private and may change.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

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
from estates.findings import Checked, Finding, Findings
from estates.io.gpkg import write_geopackage
from estates.io.inputs import load_boroughs, load_context_sites, load_groupings
from estates.io.land_values import load_land_value_file, load_published_land_values
from estates.io.tables import ATTRIBUTION, write_csv, write_site_table
from estates.report.aggregate import aggregate_boroughs, aggregate_groups, aggregate_london
from estates.report.tally import SiteTallies, site_tallies
from estates.stages.join import join_boroughs
from estates.stages.land_values import (
    borough_value_ranges,
    ranking_value_gbp,
    sum_value_ranges,
    valuation_caveat,
    value_unused_land,
)
from estates.stages.locate import locate_sites
from estates.stages.london import mark_london
from estates.stages.measures import measure_sites
from estates.stages.score import rank_sites, score_unused_land
from estates.stages.sites import load_sites, read_records, to_points
from estates.stages.tag import tag_groupings
from estates.stages.target_average import target_average
from estates.stages.validate import reject_bad_coordinates, validate_records
from estates.stages.valuation import value_sites

if TYPE_CHECKING:
    from estates.render.maps import render_maps
    from estates.render.static_map import render_static_map

#: Exported names whose modules import folium or matplotlib: loaded on first use.
_LAZY = {
    "render_maps": "estates.render.maps",
    "render_static_map": "estates.render.static_map",
}

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
    "Checked",
    "Config",
    "ConfigError",
    "DataValidationError",
    "EstatesError",
    "Finding",
    "Findings",
    "Inputs",
    "LockedError",
    "Result",
    "SiteTallies",
    "__version__",
    "aggregate_boroughs",
    "aggregate_groups",
    "aggregate_london",
    "borough_value_ranges",
    "build",
    "diff_output_sets",
    "diff_sites",
    "join_boroughs",
    "join_file",
    "load_boroughs",
    "load_config",
    "load_context_sites",
    "load_groupings",
    "load_land_value_file",
    "load_published_land_values",
    "load_sites",
    "locate_sites",
    "mark_london",
    "measure_sites",
    "rank_sites",
    "ranking_value_gbp",
    "read_records",
    "reject_bad_coordinates",
    "render_maps",
    "render_static_map",
    "require_crs",
    "score_unused_land",
    "site_tallies",
    "sum_value_ranges",
    "tag_groupings",
    "target_average",
    "to_points",
    "validate_records",
    "valuation_caveat",
    "value_sites",
    "value_unused_land",
    "write_csv",
    "write_geopackage",
    "write_site_table",
]


def __getattr__(name: str) -> Any:
    """Import a render function on first use, so ``import estates`` stays light."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    msg = f"module 'estates' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
