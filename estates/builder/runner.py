"""One unattended build, end to end: lock, skip if up to date, run, write, check, publish.

A scheduled job calls :func:`build_output_set` (through ``estates build``). It
never leaves a broken output set: everything is written into a staging folder,
checked (:func:`check_output_set`) and only then published atomically by
:mod:`estates.builder.publish`, under the lock of :mod:`estates.builder.lock`.

An unchanged rebuild is the common scheduled case, so the lock and the
up-to-date check come first and need only :mod:`hashlib`, :mod:`json` and
:mod:`pathlib`: pandas, geopandas, pyarrow, pyogrio and shapely are imported
(inside the functions below) only once a build is known to be needed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from estates.builder.inputs import Inputs, parts_needed
from estates.builder.lock import acquire_lock
from estates.builder.manifest import (
    MANIFEST_NAME,
    build_manifest,
    check_inputs_unchanged,
    describe_inputs,
    is_up_to_date,
    read_manifest,
    write_manifest,
)
from estates.builder.publish import (
    current_build,
    publish,
    safe_child,
    staged_output,
    sync_tree,
)
from estates.config import Config, load_config
from estates.errors import (
    EXIT_OK,
    EXIT_TOO_MANY_REJECTED,
    ConfigError,
    DataValidationError,
    EstatesError,
    classify_storage_error,
)
from estates.machine import second_process_helps

if TYPE_CHECKING:
    from estates.builder.engine import BuildResult
    from estates.builder.picture_worker import PictureWorker
    from estates.render.maps import MapSet

log = logging.getLogger("estates")

#: The command-line option behind each config override of the options, so that a bad
#: ``--target-gbp -5`` is reported under the option the user typed.
OPTION_NAMES = {"valuation__target_gbp": "--target-gbp"}

#: Tables every output set holds; ``check_output_set`` reopens each one.
TABLE_FILES = (
    "sites.parquet",
    "sites.gpkg",
    "sites.csv",
    "rejected.csv",
    "summary.json",
    "changes.csv",
    "changes.json",
)
_NETWORK_ASSET = re.compile(
    r"""<(?:script|link|img|source|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)
_CSS_NETWORK_URL = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.IGNORECASE)


@dataclass(frozen=True)
class BuildOptions:
    """What ``estates build`` (or :func:`estates.build` with ``out=``) was asked to do.

    ``settings`` is a :class:`~estates.config.Config` given in Python in place
    of ``config_path``; ``target_gbp`` and ``valuation`` apply on top of either.
    """

    out: Path = Path("maps")
    inputs: Inputs = field(default_factory=Inputs)
    config_path: Path | None = None
    settings: Config | None = None
    target_gbp: float | None = None
    valuation: str | None = None
    tiles: str | None = None
    tiles_attribution: str | None = None
    wait_s: float = 300.0
    force: bool = False
    max_rejected: int | None = None
    maps: bool = True
    csv_bom: bool = False
    chunk_rows: int | None = None

    def __post_init__(self) -> None:
        self.inputs.check_sheet()
        if self.settings is not None and self.config_path is not None:
            msg = "give the settings as a Config or as a config file, not both"
            raise ConfigError(msg)
        if self.chunk_rows is not None and not self.inputs.sites:
            msg = (
                "--chunk-rows reads --sites files chunk by chunk; the bundled sites "
                "are built in memory: give --sites FILE, or leave out --chunk-rows"
            )
            raise ConfigError(msg)
        if self.tiles_attribution and not self.tiles:
            msg = "--tiles-attribution needs --tiles URL"
            raise ConfigError(msg)
        if self.tiles and not (self.tiles_attribution or "").strip():
            msg = (
                "--tiles needs --tiles-attribution TEXT: tile providers require their "
                "attribution on the map"
            )
            raise ConfigError(msg)
        if self.tiles and not self.tiles.startswith(("https://", "http://")):
            msg = f"--tiles {self.tiles!r} must be an http(s) URL template, e.g. https://.../{{z}}/{{x}}/{{y}}.png"
            raise ConfigError(msg)

    def config(self) -> Config:
        """Return the run's :class:`Config`: defaults, then the file, then options."""
        overrides: dict[str, Any] = {}
        if self.target_gbp is not None:
            overrides["valuation__target_gbp"] = self.target_gbp
        if self.valuation is not None:
            overrides["valuation__method"] = self.valuation
        return load_config(
            self.config_path, option_names=OPTION_NAMES, **{**self._settings(), **overrides}
        )

    def _settings(self) -> dict[str, Any]:
        """Return ``settings`` as ``section__key`` overrides (checked again by ``load_config``)."""
        if self.settings is None:
            return {}
        return {
            f"{section}__{key}": value
            for section, values in asdict(self.settings).items()
            for key, value in values.items()
        }

    def input_files(self) -> list[Path]:
        """Every file the build reads, for the manifest and the up-to-date check."""
        files = self.inputs.paths()
        if self.config_path is not None:
            files.append(self.config_path)
        return files

    def input_roles(self) -> list[str]:
        """Name the role of each file of :meth:`input_files`, in the same order."""
        given = self.inputs
        roles = ["sites"] * len(given.sites) if given.sites else ["sites", "pfi"]
        roles.append("boundaries" if given.boundaries else "bundled_boundaries")
        roles.append("groupings" if given.groupings else "bundled_groupings")
        roles.extend(["context"] * (len(given.paths()) - len(roles)))
        optional = ("locations", "land_values", "pipeline")
        extra = [name for name in optional if getattr(given, name)]
        if extra:
            roles[-len(extra) :] = extra
        if self.config_path is not None:
            roles.append("config")
        return roles

    def as_manifest(self) -> dict[str, Any]:
        """Return the options that shape the outputs, as JSON-able values.

        ``input_roles`` names what each input file is, in the order of
        :meth:`input_files`: the fingerprint covers the files' content, not
        their paths, so the same file given as another input is another build.
        """
        return {
            "input_roles": self.input_roles(),
            "boundary_code_column": self.inputs.boundary_code_column,
            "boundary_name_column": self.inputs.boundary_name_column,
            "target_gbp": self.target_gbp,
            "valuation": self.valuation,
            "tiles": self.tiles,
            "tiles_attribution": self.tiles_attribution,
            "maps": self.maps,
            "csv_bom": self.csv_bom,
            "year": self.inputs.year,
            "eric": list(self.inputs.eric),
            "columns": dict(self.inputs.columns) if self.inputs.columns else None,
            "sheet": self.inputs.sheet,
            **({"settings": self._settings()} if self.settings is not None else {}),
        }


def build_options(
    inputs: Inputs,
    *,
    out: str | os.PathLike[str],
    config: Config | str | os.PathLike[str] | None = None,
    target_gbp: float | None = None,
    valuation: str | None = None,
    chunk_rows: int | None = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    wait: float = 300.0,
    force: bool = False,
    max_rejected: int | None = None,
    csv_bom: bool = False,
    maps: bool = True,
) -> BuildOptions:
    """Return the :class:`BuildOptions` of a build, from :func:`estates.build`'s keywords.

    The one translation of the options: :func:`estates.build` and ``estates build``
    both call it, then :func:`build_output_set`. It lives here, beside
    :class:`BuildOptions`, so that ``estates build`` reaches the up-to-date check
    without importing :mod:`estates.builder.pipeline` (pandas, geopandas).

    Raises
    ------
    ConfigError
        For options that contradict each other (``tiles`` without its attribution,
        ``chunk_rows`` without site files, ``config`` as both a file and settings).
    """
    return BuildOptions(
        out=Path(out),
        inputs=inputs,
        config_path=None if config is None or isinstance(config, Config) else Path(config),
        settings=config if isinstance(config, Config) else None,
        target_gbp=target_gbp,
        valuation=valuation,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        wait_s=wait,
        force=force,
        max_rejected=max_rejected,
        csv_bom=csv_bom,
        maps=maps,
        chunk_rows=chunk_rows,
    )


@dataclass
class BuildReport:
    """What a build did, for the CLI's last lines and its exit code."""

    status: str
    out: Path
    counts: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    message: str = ""
    headline: list[str] = field(default_factory=list)
    #: The build's result (``keep_tables=True``); None when the set was up to date.
    result: BuildResult | None = field(default=None, repr=False)


@contextmanager
def _storage_faults_explained(folder: Path, out: Path) -> Iterator[None]:
    """Raise SQLite's and GDAL's failed writes that a full disk or a size limit explain as such.

    Nothing is published all the same; the operator reads what to fix rather
    than an internal error (:func:`~estates.errors.classify_storage_error`).
    """
    try:
        yield
    except Exception as exc:
        storage = _is_storage_error(exc)
        operator = classify_storage_error(exc, folder, named=out) if storage else None
        if operator is None:
            raise
        raise operator from exc


def _is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's or GDAL's error on writing a file (the GeoPackage)."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return True
    pyogrio_errors = sys.modules.get("pyogrio.errors")  # only imported if a layer was written
    return pyogrio_errors is not None and isinstance(
        exc, (pyogrio_errors.DataLayerError, pyogrio_errors.DataSourceError)
    )


def build_output_set(options: BuildOptions, *, keep_tables: bool = False) -> BuildReport:
    """Build and publish the whole output set for ``options``: the core of ``estates build``.

    Lower-level than :func:`estates.build`, which calls it when given ``out=``
    (as the command does): it takes files only, as :class:`BuildOptions`.

    Parameters
    ----------
    options : BuildOptions
        The inputs and options.
    keep_tables : bool
        Also keep the site table and the findings in memory, in
        ``report.result``, unless the build runs in parts (large site files,
        ``chunk_rows``): then ``report.result.sites`` is None.

    Returns
    -------
    BuildReport
        ``status`` is ``"published"`` or ``"up_to_date"``; ``exit_code`` is
        :data:`~estates.errors.EXIT_TOO_MANY_REJECTED` when more records were
        rejected than ``max_rejected`` (the set is still published).

    Raises
    ------
    EstatesError
        Bad input or options (nothing is published), or the lock could not be
        had in time (:class:`~estates.errors.LockedError`).
    """
    config = options.config()
    out = options.out
    with acquire_lock(out, wait_s=options.wait_s):
        files = options.input_files()
        previous = out / MANIFEST_NAME
        if not options.force and is_up_to_date(previous, files, options.as_manifest()):
            log.debug("inputs and options unchanged since the last build: nothing to do")
            report = BuildReport(
                status="up_to_date",
                out=out,
                message=f"{out} is up to date (inputs and options unchanged); --force rebuilds",
            )
            # The published set's rejections still count against --max-rejected.
            row_counts = read_manifest(previous).get("row_counts") or {}
            rejected = int(row_counts.get("records_in", 0)) - int(row_counts.get("sites", 0))
            if options.max_rejected is not None and rejected > options.max_rejected:
                report.exit_code = EXIT_TOO_MANY_REJECTED
                report.message += (
                    f"; it has {rejected} records rejected, more than --max-rejected "
                    f"{options.max_rejected}; see {out / 'rejected.csv'}"
                )
            return report
        # Only now is a build needed. In one part, a second process starts
        # importing the picture code while this one imports the libraries that
        # run the build; a build in parts, whose memory is its limit, draws
        # them itself.
        from estates.builder.memory import collections_after_imports, collections_skip_older_objects
        from estates.builder.picture_worker import picture_worker

        chunk_rows = parts_needed(options.inputs, chunk_rows=options.chunk_rows)
        with (
            picture_worker(options.maps and chunk_rows is None) as pictures,
            collections_after_imports() as imported,
        ):
            from estates.builder import engine
            from estates.builder.sinks import FileSink
            from estates.io.tables import unsynced_geopackage_writes
            from estates.report.headline import headline_lines

            imported()

            started = datetime.now(UTC)
            # Hashed before the build reads them, checked again before publishing.
            described = describe_inputs(files)
            previous_set = current_build(out)
            with (
                staged_output(out) as staging,
                _storage_faults_explained(staging, out),
                # Durable once, as a whole, when published.
                unsynced_geopackage_writes(),
                # Stopped before the staging folder goes, should the build fail.
                closing(pictures) if pictures else nullcontext(),
            ):
                keep = keep_tables and chunk_rows is None
                handover = _MapHandover(staging, options, pictures) if options.maps else None
                sink = FileSink(
                    staging,
                    bom=options.csv_bom,
                    keep=keep,
                    # A build in parts writes its GeoPackage layer in a second process.
                    layer_process=chunk_rows is not None and second_process_helps(),
                )
                try:
                    result = engine.run_build(
                        options.inputs,
                        config=config,
                        sink=sink,
                        chunk_rows=chunk_rows,
                        work_dir=staging,
                        ready=handover,
                    )
                    expected = _expected(result)
                    with collections_skip_older_objects():
                        written = write_output_set(
                            result,
                            staging,
                            options,
                            previous=previous_set,
                            tables_written=True,
                            pictures=pictures,
                            maps=handover.maps if handover is not None else None,
                            layer_written=sink.wait_layer,
                            # While the pictures are drawn: the check reads no picture.
                            check=lambda folder: check_output_set(folder, expected),
                        )
                finally:
                    sink.abandon()  # stops the layer's process, if the build stopped first
                row_counts = {
                    "sites": expected.sites,
                    "rejected": expected.findings,
                    "boroughs": len(result.boroughs),
                    "records_in": int(result.counts["records_in"]),
                }
                manifest = build_manifest(
                    files,
                    options.as_manifest(),
                    row_counts,
                    started,
                    datetime.now(UTC),
                    output_dir=staging,
                    described_inputs=described,
                )
                check_inputs_unchanged(described, files)
                write_manifest(manifest, safe_child(staging, MANIFEST_NAME))
                publish(out, staging)
    counts = result.counts
    report = BuildReport(
        status="published",
        out=out,
        counts=counts,
        files=sorted({p.name for p in written} | {MANIFEST_NAME}),
        headline=headline_lines(result.summary),
        result=result if keep_tables else None,
    )
    rejected = int(counts["records_rejected"])
    if options.max_rejected is not None and rejected > options.max_rejected:
        report.exit_code = EXIT_TOO_MANY_REJECTED
        report.message = (
            f"{rejected} records rejected, more than --max-rejected {options.max_rejected}; "
            f"see {out / 'rejected.csv'}"
        )
    return report


def write_output_set(
    result: BuildResult,
    folder: Path,
    options: BuildOptions,
    *,
    previous: Path | None = None,
    tables_written: bool = False,
    pictures: PictureWorker | None = None,
    maps: MapSet | None = None,
    layer_written: Callable[[], object] | None = None,
    check: Callable[[Path], object] | None = None,
) -> list[Path]:
    """Write the output files of ``result`` into ``folder`` and return every output's path.

    With ``tables_written`` the engine's :class:`~estates.builder.sinks.FileSink`
    has written the site tables and ``rejected.csv`` already (the result may
    keep a copy in memory for :func:`estates.build`); otherwise a result kept
    in memory (:func:`estates.builder.pipeline.run`) has them written here.
    Then the GeoPackage's other layers, ``changes.csv`` / ``changes.json``
    (what changed since ``previous``, the output set this one replaces, or
    nothing on a first build or when the previous set has no comparable site
    table, logged as a warning), ``summary.json`` and the maps. With
    ``pictures``, the PNGs are drawn there while the rest is written here:
    from the start, or since the engine's ``ready`` when ``maps`` were
    prepared and handed over then (:class:`_MapHandover`); without, they are
    drawn here, after the pages. ``layer_written`` is called before the
    GeoPackage's other layers are added: it finishes the ``sites`` layer a
    second process may still be writing (:meth:`FileSink.wait_layer`), while
    the changes, summary, pages and pictures were written here. ``check`` is
    run on ``folder`` once every file but the pictures of ``pictures`` is
    written, before they are waited for: an output check that reads no
    picture (:func:`check_output_set`) then runs while they are drawn.
    """
    from estates.io import tables
    from estates.io.gpkg import add_layers
    from estates.io.site_years import write_site_years

    if maps is None and options.maps:
        maps = _hand_over_maps(result, folder, options, pictures)
    if not tables_written and result.sites is not None and result.findings is not None:
        tables.write_site_table(result.sites, folder, bom=options.csv_bom)
        tables.write_findings(result.findings, folder)
    written = [folder / n for n in ("sites.parquet", "sites.gpkg", "sites.csv", "rejected.csv")]
    changes = _write_changes(previous, folder, result.rows, bom=options.csv_bom)
    summary = tables.write_json(result.summary, safe_child(folder, "summary.json"))
    pages = maps.write_pages() if maps is not None else []
    # Pictures drawn here are drawn before the GeoPackage's other layers are
    # added: meanwhile a second process may finish the sites layer.
    drawn = maps.pictures.draw() if maps is not None and pictures is None else []
    if layer_written is not None:
        layer_written()
    add_layers(
        safe_child(folder, "sites.gpkg"),
        boroughs=result.boroughs,
        context=result.context,
        summary=result.summary,
    )
    if result.site_years is not None:
        written.extend(
            write_site_years(result.site_years, folder, gpkg=safe_child(folder, "sites.gpkg"))[:1]
        )
    written.extend([*changes, summary])
    if check is not None:
        check(folder)
    if pictures is not None:  # while they are drawn: publishing then syncs little
        sync_tree(folder)
    if maps is not None:
        if pictures is not None:
            drawn = pictures.wait()
        written.extend(maps.report([*pages, *drawn]))
    return written


def _write_changes(previous: Path | None, folder: Path, sites: int, *, bom: bool) -> list[Path]:
    """Compare the new ``sites.parquet`` with the previous set's: ``changes.csv`` / ``.json``.

    Tables of up to :data:`CHANGES_IN_MEMORY_ROWS` rows each are compared in
    memory (:func:`~estates.builder.diff.diff_sites`); larger ones a key range
    at a time (:func:`~estates.builder.diff.write_site_file_changes`), which
    writes the same files but pays for spilling to disk and for DuckDB.
    """
    import pandas as pd

    from estates.builder.diff import (
        diff_sites,
        first_build,
        write_changes,
        write_site_file_changes,
    )

    if previous is not None:
        old, new = previous / "sites.parquet", folder / "sites.parquet"
        try:
            small = _small_site_tables(old, new)
            if small is not None:
                changes = diff_sites(*small, previous=previous.name)
                return write_changes(changes, folder, bom=bom)
            return write_site_file_changes(old, new, folder, bom=bom, previous=previous.name)
        except DataValidationError as exc:
            log.warning("not comparing with the previous output set: %s", exc)
    return write_changes(first_build(pd.DataFrame(index=range(sites))), folder, bom=bom)


#: Largest site table (rows) whose changes are found in memory rather than on disk.
CHANGES_IN_MEMORY_ROWS = 200_000


def _small_site_tables(*paths: Path) -> tuple[Any, ...] | None:
    """Return the compared columns of each site table, or None unless all are small and sound.

    None sends the comparison to the on-disk path, which also words the error
    for a file that does not open or lacks a compared column.
    """
    import pyarrow.parquet as pq

    from estates.builder.diff import _NEEDED

    try:
        files = [pq.ParquetFile(path) for path in paths]
        if any(file.metadata.num_rows > CHANGES_IN_MEMORY_ROWS for file in files):
            return None
        if any(c not in file.schema_arrow.names for file in files for c in _NEEDED):
            return None
        return tuple(file.read(columns=list(_NEEDED)).to_pandas() for file in files)
    except (OSError, ValueError):
        return None


class _MapHandover:
    """The engine's ``ready``: prepare the maps and hand the pictures over as soon as it can.

    The engine calls it once the result holds what the maps draw and state,
    before it writes a one-part build's site table and adds the other ERIC
    years' sections; the pictures are then drawn in their process while this
    one does that and the rest. The pages are prepared here too and written
    later, from the completed summary.
    """

    def __init__(self, folder: Path, options: BuildOptions, pictures: PictureWorker | None):
        self.folder, self.options, self.pictures = folder, options, pictures
        self.maps: MapSet | None = None

    def __call__(self, result: BuildResult) -> None:
        self.maps = _hand_over_maps(result, self.folder, self.options, self.pictures)


def _hand_over_maps(
    result: BuildResult, folder: Path, options: BuildOptions, pictures: PictureWorker | None
) -> MapSet:
    """Prepare the maps and send their pictures to ``pictures``, if given; return the maps."""
    maps = _prepare_maps(result, folder, options)
    if pictures is not None:
        pictures.submit(maps.pictures)
    return maps


def _prepare_maps(result: BuildResult, folder: Path, options: BuildOptions) -> MapSet:
    """Prepare the maps of the sites each page draws, with each page's count of sites."""
    from estates.render.maps import MAX_MAP_SITES, prepare_maps

    return prepare_maps(
        result.map_sites,
        result.boroughs,
        result.context,
        result.summary,
        folder,
        tiles=options.tiles,
        tiles_attribution=options.tiles_attribution,
        max_sites=MAX_MAP_SITES,
        page_totals=result.page_totals,
        ranked_total=result.ranked,
    )


@dataclass(frozen=True)
class Expected:
    """What a built output set must hold: row counts and each map page's site count."""

    sites: int
    findings: int
    pages: dict[str, int]
    #: Rows of ``site_years`` (every ERIC year); None when the build has none.
    site_years: int | None = None


def _expected(result: BuildResult) -> Expected:
    years = None if result.site_years is None else len(result.site_years)
    return Expected(result.rows, result.rejected_rows, dict(result.page_totals), years)


def check_output_set(folder: Path, result: BuildResult | Expected) -> None:
    """Raise :class:`EstatesError` unless ``folder`` holds a complete, consistent set.

    Every table reopens and has the row count of ``result``; every HTML file
    ends with ``</html>``, states the number of sites it draws, and references no
    network script, stylesheet, font or image (tile URLs given with ``--tiles``
    are data for Leaflet, not page assets).
    """
    import pyogrio

    from estates.builder.diff import read_changes

    want = result if isinstance(result, Expected) else _expected(result)
    expected = want.sites
    problems: list[str] = []
    try:
        counts = {
            "sites.parquet": _parquet_rows(folder / "sites.parquet"),
            "sites.gpkg": int(pyogrio.read_info(folder / "sites.gpkg", layer="sites")["features"]),
            "sites.csv": _csv_rows(folder / "sites.csv"),
        }
        rejected_rows = _csv_rows(folder / "rejected.csv")
    except (OSError, ValueError, pyogrio.errors.DataSourceError) as exc:
        msg = f"output check failed: a table does not reopen ({exc})"
        raise EstatesError(msg) from exc
    problems.extend(
        f"{name} has {n} rows, expected {expected}" for name, n in counts.items() if n != expected
    )
    if want.site_years is not None:
        problems.extend(_site_years_problems(folder, want.site_years))
    if rejected_rows != want.findings:
        problems.append(f"rejected.csv has {rejected_rows} rows, expected {want.findings}")
    if (folder / "changes.csv").exists() or (folder / "changes.json").exists():
        try:
            changes, changes_summary = read_changes(folder)
        except (OSError, ValueError) as exc:
            msg = f"output check failed: changes.csv or changes.json does not reopen ({exc})"
            raise EstatesError(msg) from exc
        said = changes_summary.get("rows")
        if said != len(changes):
            problems.append(f"changes.csv has {len(changes)} rows, changes.json says {said}")
        if changes_summary.get("sites_new") != expected:
            problems.append(
                f"changes.json counts {changes_summary.get('sites_new')} sites, expected {expected}"
            )
    drawn = want.pages
    pages = sorted(folder.glob("*.html"))
    if pages:
        from estates.render.maps import MAX_MAP_SITES
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if _NETWORK_ASSET.search(text) or _css_network_url(text):
            problems.append(f"{page.name} loads an asset from the network")
        if "</html>" not in text[-200:].lower():
            problems.append(f"{page.name} is truncated")
        marker = re.search(r'<meta name="estates:sites" content="(\d+)"', text)
        total = re.search(r'<meta name="estates:sites-total" content="(\d+)"', text)
        expected_total = drawn.get(page.stem)
        if expected_total is None:
            continue
        # A page draws every site of its area, or its best MAX_MAP_SITES of them.
        expected_drawn = min(expected_total, MAX_MAP_SITES)
        if marker is None or int(marker[1]) != expected_drawn:
            shown = marker[1] if marker else "no count of"
            problems.append(
                f"{page.name} shows {shown} sites, the table has {expected_drawn} for it"
            )
        if total is None or int(total[1]) != expected_total:
            said = total[1] if total else "no total of"
            problems.append(
                f"{page.name} counts {said} sites in all, the table has {expected_total}"
            )
    if problems:
        msg = "output check failed, nothing published: " + "; ".join(problems)
        raise EstatesError(msg)


def _css_network_url(text: str) -> bool:
    """Return whether ``text`` holds a CSS ``url(...)`` of a network address.

    The same answer as ``_CSS_NETWORK_URL.search(text)``, found faster: a
    match starts two characters before ``l(`` or ``L(`` (no other character
    matches ``l`` ignoring case), so the pattern is tried only there rather
    than at every character of a page of several hundred kilobytes.
    """
    for tail in ("l(", "L("):
        start = text.find(tail, 2)
        while start != -1:
            if _CSS_NETWORK_URL.match(text, start - 2):
                return True
            start = text.find(tail, start + 1)
    return False


def _site_years_problems(folder: Path, expected: int) -> list[str]:
    """Return what is wrong with ``site_years.parquet`` and the ``site_years`` layer."""
    import pyogrio

    from estates.io.site_years import SITE_YEARS_FILE, SITE_YEARS_LAYER

    try:
        counts = {
            SITE_YEARS_FILE: _parquet_rows(folder / SITE_YEARS_FILE),
            f"sites.gpkg layer {SITE_YEARS_LAYER}": int(
                pyogrio.read_info(folder / "sites.gpkg", layer=SITE_YEARS_LAYER)["features"]
            ),
        }
    except (OSError, ValueError, pyogrio.errors.DataSourceError) as exc:
        return [f"{SITE_YEARS_FILE} or its GeoPackage layer does not reopen ({exc})"]
    return [
        f"{name} has {n} rows, expected {expected}" for name, n in counts.items() if n != expected
    ]


def _parquet_rows(path: Path) -> int:
    """Return the rows of a GeoParquet file from its footer, checking it names a geometry.

    The footer is written last, so a truncated file has none and fails here;
    the data pages are not read, so the check costs the same at any size.
    """
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    if b"geo" not in (metadata.metadata or {}):
        msg = f"{path.name} has no GeoParquet metadata"
        raise ValueError(msg)
    return int(metadata.num_rows)


def _csv_rows(path: Path) -> int:
    """Return the records of a CSV file (quoted line breaks included), read in chunks.

    pandas' reader: Arrow's took 1.0 s against 1.6-2.1 s at a million sites,
    but kept 12 MB of memory a file, a twentieth of a bundled build's peak.
    """
    import pandas as pd

    chunks = pd.read_csv(path, dtype=str, usecols=[0], chunksize=1_000_000, encoding="utf-8-sig")
    return sum(len(chunk) for chunk in chunks)


__all__ = [
    "BuildOptions",
    "BuildReport",
    "build_options",
    "build_output_set",
    "check_output_set",
    "write_output_set",
]
