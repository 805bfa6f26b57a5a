"""The analyst's entry points: :func:`run` returns everything, :func:`build` the site table.

Both run the one build engine (:func:`estates.builder.engine.run_build`) with
the site table kept in memory; ``estates build`` runs the same engine writing
to files. Nothing here writes files.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from estates.builder.engine import BuildResult, run_build
from estates.builder.reference import Inputs, Reference, load_reference
from estates.builder.rows import LEADING_COLUMNS, RECONCILED_COLUMNS, run_counts
from estates.builder.sinks import MemorySink
from estates.config import Config

#: What :func:`run` returns (the engine's :class:`~estates.builder.engine.BuildResult`).
Result = BuildResult


def run(inputs: Inputs | None = None, *, config: Config | None = None) -> BuildResult:
    """Run every stage on ``inputs`` (bundled data by default) and return the result.

    The site table and the findings are kept in memory: ``result.sites``
    (WGS84, see ``docs/columns.md``) and ``result.findings``.

    Raises
    ------
    EstatesError
        For an unusable input file or option. Bad *records* never raise: they
        are rejected or flagged in ``result.findings``.
    """
    return run_build(inputs or Inputs(), config=config or Config(), sink=MemorySink())


def build(
    *,
    sites: list[Path | str] | None = None,
    boundaries: Path | str | None = None,
    locations: Path | str | None = None,
    config: Config | None = None,
) -> gpd.GeoDataFrame:
    """Return the validated, located, borough-joined, pilot-tagged site table.

    Parameters
    ----------
    sites : list of path-like, optional
        The user's site files; default: the bundled ERIC returns, the latest (2019/20)
        as the table.
    boundaries : path-like, optional
        A borough polygon layer; default: the bundled ONS boundaries.
    locations : path-like, optional
        A locations file for sites the bundled look-ups cannot place.
    config : Config, optional
        Settings; default: :class:`estates.config.Config()`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per kept site record, in WGS84 (EPSG:4326), with the columns
        described in ``docs/columns.md``. Rejected records are not in it; run
        :func:`run` to get them as ``result.findings``.

    Examples
    --------
    >>> sites = build()
    >>> sites.crs.to_string(), len(sites)
    ('EPSG:4326', 185)
    >>> sites.loc[sites.site_code == "RRP03", ["located_by", "borough_name"]].values.tolist()
    [['postcode', 'Haringey']]
    """
    inputs = Inputs(
        sites=tuple(Path(p) for p in (sites or ())),
        boundaries=Path(boundaries) if boundaries is not None else None,
        locations=Path(locations) if locations is not None else None,
    )
    sites = run(inputs, config=config).sites
    if sites is None:  # a MemorySink always keeps them
        msg = "internal check failed: the in-memory build kept no site table"
        raise AssertionError(msg)
    return sites


__all__ = [
    "LEADING_COLUMNS",
    "RECONCILED_COLUMNS",
    "Inputs",
    "Reference",
    "Result",
    "build",
    "load_reference",
    "run",
    "run_counts",
]
