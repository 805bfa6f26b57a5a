"""The ``estates`` command: thin shells over the public API, with clear exits.

Every heavy library (pandas, geopandas, matplotlib) is imported inside
the command that needs it, so ``estates --help`` and an unchanged rebuild start
in a fraction of the time a build takes.

Exit codes (also in ``estates --help``):

=====  ==========================================================
0      success (or nothing to do: inputs unchanged)
1      internal error: a bug; the message asks you to report it
2      bad input file or options; nothing was published
3      the output folder is locked by another run (see ``--wait``)
4      published, but more records were rejected than ``--max-rejected``
130    interrupted (Ctrl-C); nothing was published
141    stdout was closed by its reader (``| head``); the work itself finished
143    terminated (SIGTERM); nothing was published, no staging folder left
=====  ==========================================================

``--quiet``, ``--log-format`` and ``--traceback`` belong to the group and to
every sub-command (:class:`EstatesCommand`), so they go before or after the
command's name. Every line a command reports goes through :func:`say`: stdout
as text (nothing with ``--quiet``), or a JSON record on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from estates import errors
from estates.builder.inputs import Inputs
from estates.builder.stopping import EXIT_BROKEN_PIPE, Terminated, end_process, stop_on_signals
from estates.cli_paths import (
    InputFile,
    InputFolder,
    OutputFile,
    OutputFolder,
    check_input_files,
)
from estates.console import progress, terminal_text
from estates.logs import LOG_FORMATS, configure_logging, counted

log = logging.getLogger("estates")

#: ``estates diff`` defaults, as :mod:`estates.builder.diff` has them (a test checks they
#: agree): written here so that the command line loads without pandas.
DIFF_TOLERANCE_HA = 0.01
DIFF_TOLERANCE_GBP = 1000.0

#: Exit code after SIGTERM (128 + 15), as shells report it.
EXIT_TERMINATED = 143

#: Every exit code with its line in ``--help``.
_EXIT_CODE_LINES = {
    0: "success, or nothing to do (inputs unchanged)",
    1: "internal error (a bug: please report it)",
    2: "bad input file or options; nothing published",
    3: "output folder locked by another run (--wait)",
    4: "published, but rejected rows exceed --max-rejected",
    130: "interrupted (Ctrl-C); nothing published",
    141: "stdout closed by its reader (e.g. piped into head); the work finished",
    143: "terminated (SIGTERM); nothing published, no staging folder left",
}
#: The codes a command that publishes nothing can return: no lock (3), no --max-rejected (4).
READ_ONLY_EXIT_CODES = (0, 1, 2, 130, 141, 143)


def exit_codes_help(codes: tuple[int, ...] = tuple(_EXIT_CODE_LINES)) -> str:
    """Return the ``Exit codes:`` block of ``--help``, listing only ``codes``.

    ``estates build`` can return every code; ``validate``, ``diff`` and
    ``join`` neither lock an output folder nor count rejections against
    ``--max-rejected``, so their help leaves out 3 and 4.
    """
    meaning = dict(_EXIT_CODE_LINES)
    if 3 not in codes:  # nothing is built, so there is never "nothing to do"
        meaning[0] = "success"
    lines = [f"  {code:<4} {meaning[code]}" for code in codes]
    return "\b\nExit codes:\n" + "\n".join(lines) + "\n"


EXIT_CODES_HELP = exit_codes_help()


_FILE = InputFile()


# --- options every command takes, before or after its name ---------------------------

#: Defaults of the global options, kept in the root context's ``obj``.
_GLOBAL_DEFAULTS: dict[str, Any] = {"quiet": False, "log_format": "text", "traceback": False}


def _settings(ctx: click.Context) -> dict[str, Any]:
    """Return the run's global settings (``quiet``, ``log_format``, ``traceback``)."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = dict(_GLOBAL_DEFAULTS)
    settings: dict[str, Any] = root.obj
    for key, default in _GLOBAL_DEFAULTS.items():
        settings.setdefault(key, default)
    return settings


def _apply_settings(ctx: click.Context) -> None:
    """Point the ``estates`` logger at stderr in the chosen format and level."""
    settings = _settings(ctx)
    configure_logging(quiet=settings["quiet"], fmt=settings["log_format"], capture_warnings=True)


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Record a global option given before or after the command name, and apply it.

    Given twice (``estates --log-format json build --log-format text``), the
    one nearer the end of the line wins; a flag given on either side is on.
    """
    if value is None or value is False:
        return value
    _settings(ctx)[param.name or ""] = value
    _apply_settings(ctx)
    return value


def _global_params(*, group: bool, json_output: bool = True) -> list[click.Parameter]:
    """Return the options every command takes: ``--quiet``, ``--log-format``, ``--traceback``.

    The group declares them (``estates --quiet build``) and so does every
    sub-command (``estates build --quiet``), so both orders work and each
    command's ``--help`` lists them. ``json_output``: the command has a
    ``--json`` option, which ``--log-format``'s help then mentions.
    """
    stdout = (
        "stdout then stays empty but for --json output" if json_output else "stdout stays empty"
    )
    return [
        click.Option(
            ["--quiet", "-q", "quiet"],
            is_flag=True,
            default=False,
            expose_value=False,
            callback=_set_global,
            help="Print nothing on success, on stdout or stderr; warnings and errors "
            "still go to stderr (one line for a failure).",
        ),
        click.Option(
            ["--log-format", "log_format"],
            type=click.Choice(LOG_FORMATS),
            default="text" if group else None,
            show_default=group,
            expose_value=False,
            callback=_set_global,
            help="stderr as text, or one JSON object per line for log collectors (the "
            f"summary lines too: {stdout})." + ("" if group else " Default: text."),
        ),
        click.Option(
            ["--traceback", "traceback"],
            is_flag=True,
            default=False,
            expose_value=False,
            callback=_set_global,
            help="Show the traceback of an error.",
        ),
    ]


class EstatesCommand(click.Command):
    """A sub-command: takes the global options and lists the exit codes in its help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        super().__init__(*args, **kwargs)
        json_output = any(param.name == "as_json" for param in self.params)
        self.params.extend(_global_params(group=False, json_output=json_output))


class EstatesGroup(click.Group):
    """The ``estates`` group: its sub-commands are :class:`EstatesCommand`."""

    command_class = EstatesCommand

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; Ctrl-C before its work starts exits 130 too, not 1."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _echo_err(ctx, "interrupted; nothing was published", prefix="", exit_code=130)
            ctx.exit(130)


def say(ctx: click.Context, line: str, **fields: Any) -> None:
    """Print one line of a command's report, as the global options ask.

    Text: on stdout, unless ``--quiet``. JSON (``--log-format json``): an INFO
    record on stderr with ``fields`` as extra keys (so ``--quiet`` drops it
    too), and nothing on stdout.
    """
    settings = _settings(ctx)
    if settings["log_format"] == "json":
        log.info(line, extra={"event": "report", **fields})
    elif not settings["quiet"]:
        click.echo(terminal_text(line))


def warn(line: str, **fields: Any) -> None:
    """Report a warning on stderr, as a text line or a JSON record; ``--quiet`` keeps it."""
    log.warning(line, extra=fields)


def _column_mapping(text: str | None) -> dict[str, str] | None:
    """Parse ``--columns`` into project column -> header.

    Parsed in the command's work, not by a click callback, so that a bad
    value is one line with the reason (``--columns 'foo': 'foo' has no
    '='; ...``), like every other error, not click's usage block.
    """
    if text is None:
        return None
    from estates.io.detect import parse_column_mapping

    return parse_column_mapping(text)


def _input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads the estate."""
    options = [
        click.option(
            "--sites",
            "sites",
            type=_FILE,
            multiple=True,
            metavar="FILE",
            help="Your site records (CSV, Excel workbook .xlsx/.xlsm/.xls, GeoPackage, GeoJSON, "
            "GeoParquet or Shapefile) instead of the bundled ERIC returns. Repeatable.",
        ),
        click.option(
            "--columns",
            "columns",
            metavar="COL=HEADER,...",
            help="Which header of the --sites files holds each column, where it is not "
            "recognised, e.g. site_code=ODS_Code,latitude=LAT (default: found by name; "
            "the choice is logged).",
        ),
        click.option(
            "--sheet",
            metavar="NAME",
            help="The sheet to read of every Excel workbook given as an input "
            "(.xlsx, .xlsm, .xls; default: each one's first sheet).",
        ),
        click.option(
            "--boundaries",
            type=_FILE,
            metavar="FILE",
            help="A borough polygon layer instead of the bundled ONS boundaries.",
        ),
        click.option(
            "--boundary-code-column",
            metavar="NAME",
            help="Column of --boundaries holding the GSS code (default: found by name).",
        ),
        click.option(
            "--boundary-name-column",
            metavar="NAME",
            help="Column of --boundaries holding the borough name (default: found by name).",
        ),
        click.option(
            "--groupings",
            type=_FILE,
            metavar="FILE",
            help="Pilot and sub-region memberships (CSV keyed on GSS codes) instead of "
            "the bundled data/boundaries/london_groupings.csv.",
        ),
        click.option(
            "--locations",
            type=_FILE,
            metavar="FILE",
            help="CSV of site_code, latitude, longitude, source for sites the NHS "
            "hospital and clinic files cannot locate.",
        ),
        click.option(
            "--land-values",
            type=_FILE,
            metavar="FILE",
            help="CSV (or workbook) of borough_code or borough_name, gbp_per_ha and optionally "
            "low_gbp_per_ha, source, valuation_date: your land values, £ per hectare, replacing "
            "the published 2017 residential (and industrial) values borough by borough.",
        ),
        click.option(
            "--pipeline",
            "pipeline_file",
            type=_FILE,
            metavar="FILE",
            help="CSV of site_code, stage (identified, declared_surplus, on_market, sold), "
            "receipts_gbp, date: the disposal pipeline's progress.",
        ),
        click.option(
            "--year",
            metavar="YYYY/YY",
            help="The ERIC year the site table shows, e.g. 2016/17 (default: the latest return; "
            "every year is still reconciled and compared).",
        ),
        click.option(
            "--eric",
            "eric",
            multiple=True,
            metavar="FILE[:YYYY/YY]",
            help="An ERIC site return (CSV with the source's headers) adding a year or replacing "
            "the bundled one of its year; the year is read from the file if not given. Repeatable.",
        ),
        click.option(
            "--config",
            "config_path",
            type=_FILE,
            metavar="FILE",
            help="TOML file overriding score weights and validation limits "
            "(see estates/default_config.toml).",
        ),
        click.option(
            "--target-gbp",
            type=float,
            metavar="GBP",
            help="The disposal target in £ (default 11e9, from the November 2017 London "
            "devolution memorandum).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


#: ``--valuation``, the same for ``build`` and for ``validate``, which values the land too.
_valuation_option = click.option(
    "--valuation",
    type=click.Choice(["range", "average"]),
    help="How unused land is valued: range (default: MHCLG 2017 policy-appraisal values, "
    "industrial to residential £/ha by borough, or --land-values) or average (the target "
    "÷ hectares owned at located London sites: derived from the target, not a land value; "
    "refused below 250 ha).",
)


def _inputs(kw: dict[str, Any]) -> Inputs:
    return Inputs(
        sites=tuple(kw.pop("sites") or ()),
        boundaries=kw.pop("boundaries"),
        boundary_code_column=kw.pop("boundary_code_column"),
        boundary_name_column=kw.pop("boundary_name_column"),
        groupings=kw.pop("groupings"),
        locations=kw.pop("locations"),
        land_values=kw.pop("land_values"),
        pipeline=kw.pop("pipeline_file"),
        year=kw.pop("year"),
        eric=tuple(kw.pop("eric") or ()),
        columns=_column_mapping(kw.pop("columns")),
        sheet=kw.pop("sheet"),
    )


@click.group(
    cls=EstatesGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="estates", message="estates %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """NHS estate and land-disposal analysis for London.

    Loads NHS site records and London borough boundaries (bundled real data,
    or your files), validates and locates every site, joins it to its borough
    and pilots, scores unused land against the £11bn target, and writes the
    site table, offline maps and a summary.

    --quiet, --log-format and --traceback may come before or after the
    command's name: `estates --quiet build` and `estates build --quiet` are
    the same. With --quiet a successful run prints nothing at all.
    """
    _apply_settings(ctx)


main.params.extend(_global_params(group=True))


@main.command()
@_input_options
@click.option(
    "--out",
    type=OutputFolder(),
    metavar="DIRECTORY",
    default=Path("maps"),
    show_default=True,
    help="Output folder. Published atomically: readers see the old set or the new one.",
)
@click.option("--tiles", metavar="URL", help="Add a tile layer (online use only), e.g. an XYZ URL.")
@click.option("--tiles-attribution", metavar="TEXT", help="Attribution text for --tiles.")
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another build of the same --out to finish.",
)
@click.option("--force", is_flag=True, help="Rebuild even if inputs and options are unchanged.")
@click.option(
    "--max-rejected",
    type=click.IntRange(min=0),
    metavar="N",
    help="Exit with code 4 if more than N records are rejected (the set is still published).",
)
@click.option(
    "--csv-bom",
    is_flag=True,
    help="Start sites.csv and changes.csv with a UTF-8 byte-order mark, so Excel "
    "reads accents and £ correctly.",
)
@_valuation_option
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    metavar="N",
    help="Read the site files N rows at a time, with memory bounded by N, not by the "
    "files (done anyway, 200,000 rows at a time, when they exceed 256 MiB).",
)
@click.pass_context
def build(ctx: click.Context, /, out: Path, **kw: Any) -> None:
    """Build the site table, maps and summary into --out (default maps/)."""
    # Not estates.builder.pipeline: an unchanged rebuild stops before pandas is imported.
    from estates.builder.runner import build_options, build_output_set

    def go() -> int:
        inputs = _inputs(kw)
        # The keywords of estates.build(), translated by the function it uses.
        options = build_options(
            inputs, out=out, config=kw.pop("config_path"), wait=kw.pop("wait_s"), **kw
        )
        settings = _settings(ctx)
        show = not settings["quiet"] and settings["log_format"] == "text" and sys.stderr.isatty()
        with progress("starting the build", enabled=show):
            report = build_output_set(options)
        if report.status == "up_to_date":
            if report.exit_code != errors.EXIT_OK:
                _echo_err(ctx, report.message, prefix="", exit_code=report.exit_code)
            else:
                say(ctx, report.message, status=report.status)
            return report.exit_code
        counts = report.counts
        shown = str(out)
        say(
            ctx,
            f"published {counted(len(report.files), 'file')} to {shown}/: "
            f"{counted(counts['records_kept'], 'site')} "
            f"({counted(counts['records_in'], 'record')} in = {counts['records_kept']} kept + "
            f"{counts['records_rejected']} rejected); open {shown}/index.html",
            status=report.status,
        )
        for line in report.headline:
            say(ctx, line, headline=True)
        if report.message:
            _echo_err(ctx, report.message, prefix="", exit_code=report.exit_code)
        return report.exit_code

    ctx.exit(_guarded(ctx, go))


@main.command(epilog=exit_codes_help(READ_ONLY_EXIT_CODES))
@_input_options
@_valuation_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def validate(ctx: click.Context, /, as_json: bool, **kw: Any) -> None:
    """Check the inputs and print what would be kept, rejected and flagged; write nothing.

    The land is valued as estates build values it (--valuation, --land-values,
    --target-gbp), so a build's refusal, such as an average on too few
    hectares, shows here first.
    """
    from estates.builder.pipeline import run
    from estates.builder.runner import OPTION_NAMES
    from estates.config import load_config

    config_path = kw.pop("config_path")
    target = kw.pop("target_gbp")
    valuation = kw.pop("valuation")

    def go() -> int:
        inputs = _inputs(kw)
        overrides: dict[str, Any] = {}
        if target is not None:
            overrides["valuation__target_gbp"] = target
        if valuation is not None:
            overrides["valuation__method"] = valuation
        config = load_config(config_path, option_names=OPTION_NAMES, **overrides)
        result = run(inputs, config=config)
        counts = result.counts
        if as_json:
            click.echo(json.dumps(counts, indent=2))
        else:
            say(ctx, counts["identity"])
            for action in ("rejected", "flagged", "warning"):
                # run() keeps the findings in memory; only streamed builds leave None.
                for finding in result.findings or ():
                    if finding.action == action:
                        say(ctx, f"{action}: {finding}", action=action)
        return errors.EXIT_OK

    ctx.exit(_guarded(ctx, go))


@main.command(epilog=exit_codes_help(READ_ONLY_EXIT_CODES))
@click.argument("old_dir", type=InputFolder(), metavar="OLD_DIR")
@click.argument("new_dir", type=InputFolder(), metavar="NEW_DIR")
@click.option(
    "--out",
    "csv_path",
    type=OutputFile(),
    default=Path("changes.csv"),
    show_default=True,
    metavar="FILE",
    help="Where to write the table of changes.",
)
@click.option(
    "--tolerance-ha",
    type=click.FloatRange(min=0),
    default=DIFF_TOLERANCE_HA,
    show_default=True,
    metavar="HA",
    help="List unused land that changed by at least this many hectares (ERIC's precision).",
)
@click.option(
    "--tolerance-gbp",
    type=click.FloatRange(min=0),
    default=DIFF_TOLERANCE_GBP,
    show_default=True,
    metavar="GBP",
    help="List sites whose value (estimated_value_gbp) changed by at least this many pounds.",
)
@click.option("--csv-bom", is_flag=True, help="Start the CSV with a UTF-8 byte-order mark.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def diff(
    ctx: click.Context,
    *,
    old_dir: Path,
    new_dir: Path,
    csv_path: Path,
    tolerance_ha: float,
    tolerance_gbp: float,
    csv_bom: bool,
    as_json: bool,
) -> None:
    """Compare two output folders: sites added, removed, moved borough or changed.

    OLD_DIR and NEW_DIR are --out folders of estates build (or build folders
    kept beside them). Sites are matched on trust and site code. Writes one
    row per change to --out (columns site_code, trust_code, change, column,
    old, new) and prints a summary. Every build also writes changes.csv and
    changes.json against the set it replaces.
    """
    from estates.builder.diff import diff_output_sets
    from estates.io.tables import write_csv

    def go() -> int:
        changes = diff_output_sets(
            old_dir, new_dir, tolerance_ha=tolerance_ha, tolerance_gbp=tolerance_gbp
        )
        write_csv(changes.table, csv_path, bom=csv_bom)
        if as_json:
            click.echo(json.dumps(changes.to_dict(), indent=2))
        else:
            say(ctx, changes.describe())
            say(ctx, f"wrote {len(changes.table)} rows to {csv_path}")
        return errors.EXIT_OK

    ctx.exit(_guarded(ctx, go))


@main.command(epilog=exit_codes_help(READ_ONLY_EXIT_CODES))
@click.argument("source", type=_FILE)
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--boundaries",
    type=_FILE,
    metavar="FILE",
    help="A borough polygon layer instead of the bundled ONS boundaries.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    metavar="N",
    help="Rows read and joined at a time: peak memory grows with N, not with the file.",
)
@click.pass_context
def join(
    ctx: click.Context, source: Path, target: Path, boundaries: Path | None, chunk_rows: int
) -> None:
    """Join every point of a large SOURCE file to its borough; write TARGET (Parquet).

    SOURCE is a CSV (latitude/longitude or easting/northing columns) or a
    GeoParquet file of points, read in chunks so it may be larger than memory.
    TARGET gets every input column plus borough_code, borough_name,
    join_method, borough_distance_m and join_problem.

    A bad row (a coordinate that is not a number, too many fields, a
    geometry that is not a point or not valid WKB, latitude and longitude
    swapped) does not stop the file: it gets no borough, its reason goes in
    join_problem after its row number (CSV: line, header = 1), and the first
    ones are listed here. TARGET is written to a temporary file beside it
    and renamed when complete, so an error, Ctrl-C or SIGTERM leaves no
    partial file; it may not be SOURCE, a folder or a device.
    """
    from estates.builder.join_file import join_file, sigterm_exits
    from estates.io.inputs import load_boroughs

    def go() -> int:
        with sigterm_exits():
            counts = join_file(source, target, load_boroughs(boundaries), chunk_rows=chunk_rows)
        say(
            ctx,
            f"wrote {counted(counts['rows'], 'row', grouped=True)} to {target}: "
            f"{counts['within']:,} within a borough, "
            f"{counts['nearest']:,} nearest (river bank), {counts['outside']:,} outside London, "
            f"{counts['not_located']:,} without coordinates, {counts['problems']:,} not joined",
        )
        if counts["problems"]:
            more = counts["problems"] - len(counts["first_problems"])
            not_joined = counted(counts["problems"], "row", grouped=True)
            warn(f"{not_joined} not joined (no borough; reason in join_problem)")
            for problem in counts["first_problems"]:
                warn(f"  {problem}")
            if more:
                warn(f"  ... and {more:,} more")
        return errors.EXIT_OK

    ctx.exit(_guarded(ctx, go))


def _guarded(ctx: click.Context, work: Callable[[], int]) -> int:
    """Run ``work``; turn expected errors into one line and an exit code.

    SIGTERM (a service stop, a cron timeout) unwinds like Ctrl-C: the
    staging folder is removed and the lock released before exit code 143
    (:func:`estates.builder.stopping.stop_on_signals`).
    """
    with stop_on_signals():
        return _run_guarded(ctx, work)


def _run_guarded(ctx: click.Context, work: Callable[[], int]) -> int:
    try:
        check_input_files(ctx)
        return work()
    except Terminated:
        _echo_err(ctx, "terminated; nothing was published", prefix="", exit_code=EXIT_TERMINATED)
        return EXIT_TERMINATED
    except errors.EstatesError as exc:
        _echo_err(ctx, exc.for_command_line, exit_code=exc.exit_code)
        _show_traceback(ctx)
        return exc.exit_code
    except KeyboardInterrupt:
        _echo_err(ctx, "interrupted; nothing was published", prefix="", exit_code=130)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `estates build | head -1`): the work is
        # done; stop writing, quietly, with the shell's code for a closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        operator = errors.classify_os_error(exc)
        if operator is None:
            return _internal_error(ctx, exc)
        _echo_err(ctx, str(operator), exit_code=operator.exit_code)
        _show_traceback(ctx)
        return operator.exit_code
    except Exception as exc:
        return _internal_error(ctx, exc)


def _internal_error(ctx: click.Context, exc: BaseException) -> int:
    """Report an unexpected exception as the bug it is; return :data:`errors.EXIT_INTERNAL`."""
    _echo_err(
        ctx,
        f"internal error: {type(exc).__name__}: {exc}. This is a bug; "
        "please report it with the command you ran (--traceback shows details)",
        prefix="",
        exit_code=errors.EXIT_INTERNAL,
    )
    _show_traceback(ctx)
    return errors.EXIT_INTERNAL


def _show_traceback(ctx: click.Context) -> None:
    """With ``--traceback``, show the exception being handled: text, or a JSON record."""
    settings = _settings(ctx)
    if not settings["traceback"]:
        return
    if settings["log_format"] == "json":
        log.error("traceback of the error above", exc_info=True, extra={"event": "traceback"})
    else:
        traceback.print_exc()


def _echo_err(ctx: click.Context, message: str, *, exit_code: int, prefix: str = "error: ") -> None:
    """Print the closing line on stderr, as text or, with --log-format json, as JSON.

    Text: ``estates: <prefix><message>``. JSON: an ``error`` record whose
    ``exit_code`` field holds the exit code, so every stderr line parses.
    """
    if _settings(ctx)["log_format"] == "json":
        log.error(message, extra={"exit_code": exit_code})
    else:
        click.echo(f"estates: {prefix}{terminal_text(message)}", err=True)


def run() -> NoReturn:
    """Run the ``estates`` command (:func:`main`), then end the process at once.

    The console script and ``python -m estates`` call this. When a command
    returns, its outputs are written, closed, checked and published, so the
    process ends with the command's exit code without the interpreter's
    teardown (:func:`estates.builder.stopping.end_process`: threads waited
    for, exit functions run, standard streams flushed). :func:`main` itself
    is an ordinary click group, for scripts and tests that call it in their
    own process.
    """
    try:
        main(prog_name="estates")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # as Python does with sys.exit("text")
        print(code, file=sys.stderr)
        code = 1
    end_process(code)


if __name__ == "__main__":  # pragma: no cover
    run()
