"""The one way to run everything from Python: :func:`build`.

:func:`build` takes what ``estates build`` takes, every option a keyword, and
an input file's path, several paths, or a DataFrame / GeoDataFrame in its
place (:mod:`estates.builder.arguments`). Without ``out=`` it keeps everything
in memory and writes nothing; with ``out=`` it writes and publishes the
output set through the command's own core
(:func:`estates.builder.runner.build_output_set`). Either way it returns one
:data:`Result`.

:func:`run` is the lower-level in-memory build on :class:`Inputs` of files,
which :func:`build` and ``estates validate`` call.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeAlias

import geopandas as gpd
import pandas as pd

from estates.builder.arguments import accepted, given_inputs, input_keywords
from estates.builder.engine import BuildResult, run_build
from estates.builder.inputs import Inputs, parts_needed
from estates.builder.reference import Reference, load_reference
from estates.builder.rows import LEADING_COLUMNS, RECONCILED_COLUMNS, run_counts
from estates.builder.runner import build_options, build_output_set
from estates.builder.sinks import MemorySink
from estates.config import Config
from estates.errors import ConfigError

#: What :func:`build` returns (the engine's :class:`~estates.builder.engine.BuildResult`).
Result = BuildResult

#: A path to a file, as text or a :class:`~pathlib.Path`.
PathLike: TypeAlias = str | os.PathLike[str]

#: The keywords of :func:`build` that only apply when it writes an output set (``out=``),
#: with their defaults.
OUTPUT_OPTIONS: dict[str, Any] = {
    "tiles": None,
    "tiles_attribution": None,
    "wait": 300.0,
    "force": False,
    "max_rejected": None,
    "csv_bom": False,
    "maps": True,
}
#: Keywords of :func:`build` besides the fields of :class:`Inputs`.
OPTION_KEYWORDS = ("config", "target_gbp", "valuation", "out", "chunk_rows", *OUTPUT_OPTIONS)


def build_keywords() -> tuple[str, ...]:
    """Return every keyword :func:`build` takes: the fields of :class:`Inputs`, then the options.

    A field added to :class:`Inputs` is a keyword of :func:`build` at once.
    """
    return (*input_keywords(), *OPTION_KEYWORDS)


def build(
    sites: PathLike | pd.DataFrame | Sequence[PathLike | pd.DataFrame] | None = None,
    *,
    boundaries: PathLike | gpd.GeoDataFrame | None = None,
    boundary_code_column: str | None = None,
    boundary_name_column: str | None = None,
    groupings: PathLike | pd.DataFrame | None = None,
    locations: PathLike | pd.DataFrame | None = None,
    land_values: PathLike | pd.DataFrame | None = None,
    pipeline: PathLike | pd.DataFrame | None = None,
    eric: PathLike | Sequence[PathLike] | None = None,
    year: str | None = None,
    config: Config | PathLike | None = None,
    target_gbp: float | None = None,
    valuation: str | None = None,
    out: PathLike | None = None,
    chunk_rows: int | None = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    wait: float = 300.0,
    force: bool = False,
    max_rejected: int | None = None,
    csv_bom: bool = False,
    maps: bool = True,
    **more_inputs: Any,
) -> BuildResult:
    """Run the whole build, as ``estates build`` does, and return its result.

    Every option of ``estates build`` is a keyword here, spelt as the option
    with ``_`` for ``-`` (``--land-values`` is ``land_values=``,
    ``--max-rejected`` is ``max_rejected=``). Each input file may instead be
    a pandas frame: it is saved as the file it stands for and read by the same
    loader, so it gets the same checks, findings and row numbers (a DataFrame
    as a CSV file, header = row 1, named e.g. ``sites_frame.csv`` in the
    findings; a GeoDataFrame as a GeoParquet layer, first feature = row 1).
    The frames are left unchanged.

    Parameters
    ----------
    sites : path, DataFrame, GeoDataFrame, or a list of them, optional
        Your site records instead of the bundled ERIC returns: CSV (or any
        file ``--sites`` reads), a DataFrame with ``site_code``, ``site_name``
        and ``latitude``/``longitude`` (WGS84) or ``easting``/``northing``
        (EPSG:27700), or a GeoDataFrame of points with a CRS.
    boundaries : path or GeoDataFrame, optional
        A borough polygon layer (with a CRS) instead of the bundled ONS boundaries.
    boundary_code_column, boundary_name_column : str, optional
        Its GSS code and name columns (default: found by name, e.g. ``LAD20CD``).
    groupings, locations, land_values, pipeline : path or DataFrame, optional
        Pilot and sub-region memberships, locations for sites the bundled files
        cannot place, £ per hectare by borough, the disposal pipeline's
        progress: the CSV files of ``--groupings``, ``--locations``,
        ``--land-values`` and ``--pipeline``.
    eric : path or list of paths, optional
        ERIC site returns (``"FILE"`` or ``"FILE:2019/20"``) adding or replacing
        a bundled year; only without ``sites``.
    year : str, optional
        The ERIC year the site table shows, e.g. ``"2016/17"``; default the latest.
    config : Config or path, optional
        The settings, or a TOML file of them; default :class:`estates.Config()`.
    target_gbp : float, optional
        The disposal target in £ (default 11e9), applied over ``config``.
    valuation : {"range", "average"}, optional
        How unused land is valued (``--valuation``), applied over ``config``.
    out : path, optional
        Write and publish the whole output set into this folder, exactly as
        ``estates build --out`` does (lock, no-op when inputs and options are
        unchanged, atomic publication); default: write nothing. On two
        cores or more, a build in one part draws its PNGs in a second Python
        process meanwhile (:mod:`estates.builder.picture_worker`).
    chunk_rows : int, optional
        Read the site files this many rows at a time (``--chunk-rows``). With
        ``out=`` (and site files over 256 MiB even without it) the table is
        then written part by part and not kept: ``result.sites`` is None.
    tiles, tiles_attribution, wait, force, max_rejected, csv_bom, maps
        Options of the written output set (``out=`` only): a tile layer and
        its attribution, seconds to wait for another build of ``out``,
        rebuild even if unchanged, the most rejected records before
        ``result.report.exit_code`` is 4, a byte-order mark on the CSV files,
        and whether to draw the maps (Python only; ``estates build`` always does).
    **more_inputs
        Any other field of :class:`Inputs`, by name.

    Returns
    -------
    Result
        ``sites`` (the site table, EPSG:4326, columns in ``docs/columns.md``),
        ``boroughs`` (EPSG:4326, with totals), ``summary`` (``summary.json``),
        ``findings`` (the rows of ``rejected.csv``), ``counts``, ``groupings``,
        ``context`` and ``site_years`` (every ERIC year). With ``out=``,
        ``report`` says what was published (``report.status`` is
        ``"published"`` or ``"up_to_date"``; when up to date nothing is
        written and the tables are computed again in memory).

    Raises
    ------
    TypeError
        For a keyword :func:`build` does not take; the message lists those it takes.
    EstatesError
        For an input of a type it does not accept (the message says what it
        accepts), a frame with geometries and no CRS, an unusable file or
        option. Bad *records* never raise: they are rejected or flagged in
        ``result.findings``.

    Examples
    --------
    >>> result = build()
    >>> sites = result.sites
    >>> sites.crs.to_string(), len(sites)
    ('EPSG:4326', 185)
    >>> sites.loc[sites.site_code == "RRP03", ["located_by", "borough_name"]].values.tolist()
    [['postcode', 'Haringey']]
    >>> mine = sites.loc[sites.site_code == "RRP03", ["site_code", "site_name",
    ...                                               "latitude", "longitude"]]
    >>> build(mine).sites.borough_name.tolist()       # a DataFrame in place of a file
    ['Haringey']
    >>> build(sites="missing.csv")
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: ...missing.csv...
    """
    unknown = sorted(set(more_inputs) - set(input_keywords()))
    if unknown:
        msg = (
            f"build() got an unexpected keyword argument {unknown[0]!r}; "
            f"it takes: {', '.join(build_keywords())}"
        )
        raise TypeError(msg)
    output_options: dict[str, Any] = {
        "tiles": tiles,
        "tiles_attribution": tiles_attribution,
        "wait": wait,
        "force": force,
        "max_rejected": max_rejected,
        "csv_bom": csv_bom,
        "maps": maps,
    }
    _check_options(out, output_options, chunk_rows=chunk_rows, config=config)
    values = {
        "sites": sites,
        "boundaries": boundaries,
        "boundary_code_column": boundary_code_column,
        "boundary_name_column": boundary_name_column,
        "groupings": groupings,
        "locations": locations,
        "land_values": land_values,
        "pipeline": pipeline,
        "eric": eric,
        "year": year,
        **more_inputs,
    }
    with given_inputs(values) as inputs:
        options = build_options(
            inputs,
            out=out if out is not None else "maps",
            config=config,
            target_gbp=target_gbp,
            valuation=valuation,
            chunk_rows=chunk_rows,
            **output_options,
        )
        if out is None:
            return run_build(
                inputs, config=options.config(), sink=MemorySink(), chunk_rows=chunk_rows
            )
        report = build_output_set(options, keep_tables=True)
        result = report.result
        if result is None:  # up to date: nothing written; the same tables, in memory
            chunks = parts_needed(inputs, chunk_rows=chunk_rows)
            result = run_build(
                inputs,
                config=options.config(),
                sink=MemorySink(keep_sites=chunks is None),
                chunk_rows=chunks,
            )
        report.result = None  # the result holds the report, not the other way round
        result.report = report
        return result


def _check_options(
    out: object, output_options: dict[str, Any], *, chunk_rows: object, config: object
) -> None:
    """Raise :class:`ConfigError` for an option of the wrong type, or one that needs ``out=``."""
    if config is not None and not isinstance(config, Config | str | os.PathLike):
        msg = (
            f"config: got a {type(config).__name__}; give a Config (estates.load_config(...)) "
            "or the path (str or pathlib.Path) of a TOML file"
        )
        raise ConfigError(msg)
    if out is not None and not isinstance(out, str | os.PathLike):
        msg = f"out: got a {type(out).__name__}; give {accepted('out')} of a folder"
        raise ConfigError(msg)
    for name in ("force", "csv_bom", "maps"):
        if not isinstance(output_options[name], bool):
            msg = f"{name}: got {output_options[name]!r}; give True or False"
            raise ConfigError(msg)
    wait = output_options["wait"]
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        msg = f"wait: got {wait!r}; give the seconds to wait, a number >= 0"
        raise ConfigError(msg)
    for name, value, least in (
        ("max_rejected", output_options["max_rejected"], 0),
        ("chunk_rows", chunk_rows, 1),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            msg = f"{name}: got {value!r}; give a whole number >= {least}"
            raise ConfigError(msg)
        if value is not None and value < least:
            msg = f"{name}: got {value}; give a whole number >= {least}"
            raise ConfigError(msg)
    if out is None:
        given = [k for k, v in output_options.items() if v != OUTPUT_OPTIONS[k]]
        if given:
            msg = (
                f"{given[0]}= is an option of the written output set; give out=FOLDER "
                "to write one, or leave it out"
            )
            raise ConfigError(msg)


def run(inputs: Inputs | None = None, *, config: Config | None = None) -> BuildResult:
    """Run every stage on ``inputs`` of files (bundled data by default), in memory.

    Lower-level than :func:`build` (which calls the same engine and takes
    frames and every option): kept for the command's ``validate`` and for
    callers holding :class:`Inputs`. Nothing is written.

    Raises
    ------
    EstatesError
        For an unusable input file or option. Bad *records* never raise: they
        are rejected or flagged in ``result.findings``.
    """
    inputs = inputs or Inputs()
    inputs.check_sheet()
    return run_build(inputs, config=config or Config(), sink=MemorySink())


__all__ = [
    "LEADING_COLUMNS",
    "OPTION_KEYWORDS",
    "RECONCILED_COLUMNS",
    "Inputs",
    "Reference",
    "Result",
    "build",
    "build_keywords",
    "build_options",
    "load_reference",
    "run",
    "run_counts",
]
