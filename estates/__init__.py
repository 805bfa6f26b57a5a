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

``import estates`` loads neither pandas, geopandas, shapely, pyarrow,
matplotlib, mapclassify nor duckdb: every name is imported from its module on
first use (``es.load_sites`` imports :mod:`estates.stages.sites` the first time
it is read). Everything not listed in ``__all__`` is private and may change.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypy and editors see; at run time __getattr__ imports on first use
    from estates.builder.diff import diff_output_sets, diff_sites
    from estates.builder.inputs import Inputs
    from estates.builder.join_file import join_file
    from estates.builder.pipeline import Result, build
    from estates.builder.runner import BuildReport
    from estates.config import Config, load_config
    from estates.crs import BNG, WGS84, require_crs
    from estates.errors import ConfigError, CRSError, DataValidationError, EstatesError, LockedError
    from estates.findings import Checked, Finding, Findings
    from estates.io.gpkg import write_geopackage
    from estates.io.inputs import load_boroughs, load_context_sites, load_groupings
    from estates.io.land_values import load_land_value_file, load_published_land_values
    from estates.io.tables import ATTRIBUTION, write_csv, write_site_table
    from estates.render.maps import render_maps
    from estates.render.static_map import render_static_map
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

#: Every exported name and the module that defines it, imported on first use
#: (:func:`__getattr__`), so that ``import estates`` costs a few milliseconds and
#: loads neither pandas, geopandas, shapely, pyarrow, matplotlib nor duckdb.
_LAZY = {
    "ATTRIBUTION": "estates.io.tables",
    "BNG": "estates.crs",
    "BuildReport": "estates.builder.runner",
    "CRSError": "estates.errors",
    "Checked": "estates.findings",
    "Config": "estates.config",
    "ConfigError": "estates.errors",
    "DataValidationError": "estates.errors",
    "EstatesError": "estates.errors",
    "Finding": "estates.findings",
    "Findings": "estates.findings",
    "Inputs": "estates.builder.inputs",
    "LockedError": "estates.errors",
    "Result": "estates.builder.pipeline",
    "SiteTallies": "estates.report.tally",
    "WGS84": "estates.crs",
    "aggregate_boroughs": "estates.report.aggregate",
    "aggregate_groups": "estates.report.aggregate",
    "aggregate_london": "estates.report.aggregate",
    "borough_value_ranges": "estates.stages.land_values",
    "build": "estates.builder.pipeline",
    "diff_output_sets": "estates.builder.diff",
    "diff_sites": "estates.builder.diff",
    "join_boroughs": "estates.stages.join",
    "join_file": "estates.builder.join_file",
    "load_boroughs": "estates.io.inputs",
    "load_config": "estates.config",
    "load_context_sites": "estates.io.inputs",
    "load_groupings": "estates.io.inputs",
    "load_land_value_file": "estates.io.land_values",
    "load_published_land_values": "estates.io.land_values",
    "load_sites": "estates.stages.sites",
    "locate_sites": "estates.stages.locate",
    "mark_london": "estates.stages.london",
    "measure_sites": "estates.stages.measures",
    "rank_sites": "estates.stages.score",
    "ranking_value_gbp": "estates.stages.land_values",
    "read_records": "estates.stages.sites",
    "reject_bad_coordinates": "estates.stages.validate",
    "render_maps": "estates.render.maps",
    "render_static_map": "estates.render.static_map",
    "require_crs": "estates.crs",
    "score_unused_land": "estates.stages.score",
    "site_tallies": "estates.report.tally",
    "sum_value_ranges": "estates.stages.land_values",
    "tag_groupings": "estates.stages.tag",
    "target_average": "estates.stages.target_average",
    "to_points": "estates.stages.sites",
    "validate_records": "estates.stages.validate",
    "valuation_caveat": "estates.stages.land_values",
    "value_sites": "estates.stages.valuation",
    "value_unused_land": "estates.stages.land_values",
    "write_csv": "estates.io.tables",
    "write_geopackage": "estates.io.gpkg",
    "write_site_table": "estates.io.tables",
}

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
    """Import an exported name on first use (PEP 562), then keep it as a plain attribute.

    ``__version__`` is read from the installed distribution's metadata, also on
    first use: :mod:`importlib.metadata` costs more to import than the rest of
    ``import estates``.
    """
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("estates")
        except PackageNotFoundError:  # a source tree that was never installed
            value = "0+unknown"
    else:
        msg = f"module 'estates' has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List every exported name, loaded or not, as an eager module would."""
    return sorted({*globals(), *__all__})
