"""The command line: help, exit codes and one-line errors, run as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import estates.cli as cli_module
from estates.builder import runner
from estates.cli import main
from estates.logs import reset_logging


@pytest.fixture(autouse=True)
def _fresh_logging():
    """The CLI points the estates logger at CliRunner's stream; undo it afterwards."""
    yield
    reset_logging()


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


COMMANDS = main.list_commands(click.Context(main))
EXIT_CODES = ("0", "1", "2", "3", "4", "130", "141", "143")
READ_ONLY_EXIT_CODES = ("0", "1", "2", "130", "141", "143")
GLOBAL_OPTIONS = ("--quiet", "--log-format", "--traceback")


def test_every_command_is_listed():
    assert COMMANDS == ["build", "diff", "join", "validate"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_lists_every_option_and_every_exit_code(cli, command):
    args = [command] if command else []
    result = cli(*args, "--help")
    assert result.exit_code == 0
    cmd = main.get_command(click.Context(main), command) if command else main
    options = [opt for param in cmd.params for opt in param.opts if opt.startswith("--")]
    assert set(GLOBAL_OPTIONS) <= set(options)
    for option in options:
        assert option in result.output, (command, option)
    help_text = result.output.split("Exit codes:")[1]
    listed = re.findall(r"^\s+(\d+)\s", help_text, flags=re.M)
    # Only build locks an output folder (3) and counts rejections (4).
    expected = EXIT_CODES if command in {None, "build"} else READ_ONLY_EXIT_CODES
    assert tuple(listed) == expected
    # --log-format speaks of --json output only where the command has --json.
    has_json = "--json" in options
    assert ("but for --json output" in result.output) == (has_json or command is None)
    assert "interrupted (Ctrl-C)" in help_text
    assert "stdout closed by its reader" in help_text
    assert "terminated (SIGTERM)" in help_text


@pytest.mark.parametrize("command", ["build", "validate"])
def test_sites_help_names_excel_workbooks(cli, command):
    result = cli(command, "--help")
    assert "Excel workbook .xlsx/.xlsm/.xls" in " ".join(result.output.split())


def test_build_help_names_its_own_options(cli):
    result = cli("build", "--help")
    for option in ["--out", "--sites", "--boundaries", "--locations", "--land-values"]:
        assert option in result.output
    for option in ["--pipeline", "--config", "--target-gbp", "--tiles", "--wait", "--force"]:
        assert option in result.output
    assert "--max-rejected" in result.output


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert re.fullmatch(r"estates \S+\n", result.stdout)


def test_validate_prints_the_identity(cli):
    result = cli("validate", "--year", "2016/17")
    assert result.exit_code == 0
    assert "172 in = 172 kept + 0 rejected" in result.stdout
    assert "flagged: eric_sites_london.csv row 169 (site TAF10)" in result.stdout


def test_validate_reads_what_build_reads(cli):
    # The latest return (2019/20) by default, with the cross-year checks.
    result = cli("validate")
    assert result.exit_code == 0
    assert "185 in = 185 kept + 0 rejected" in result.stdout
    assert "flagged: eric_sites_2019_20_london.csv row 7 (site R1K01)" in result.stdout
    assert "trust RPG (OXLEAS NHS FOUNDATION TRUST) is absent from 2019/20" in result.stdout
    # One count per ERIC year, after postcodes: not also the pass before them.
    assert "estates: ERIC 2019/20: located 156 of 157 sites (ods_code 91, postcode 65" in (
        result.stderr
    )
    assert "located 96 of 185 records" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "--sites", "missing.csv"], "missing.csv: no such file"),
        (["validate", "--boundaries", "missing.gpkg"], "missing.gpkg: no such file"),
        (["validate", "--config", "missing.toml"], "--config missing.toml: no such file"),
        (["validate", "--target-gbp", "-5"], "error: --target-gbp -5 must be more than zero"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0


def test_wrong_column_is_one_line(cli, write):
    path = write("s.csv", "ref,label,lat,lon\nA,B,51.5,-0.1\n")
    result = cli("validate", "--sites", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        "estates: error: s.csv: no columns for site_code and site_name; the headers are: 'ref', "
        "'label', 'lat', 'lon'; name them with --columns site_code=HEADER,site_name=HEADER\n"
    )


def test_unknown_option_is_a_usage_error(cli):
    result = cli("build", "--no-such-option")
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_json_counts(cli):
    result = cli("validate", "--json")
    counts = json.loads(result.stdout)
    assert counts["records_in"] == 185
    assert counts["identity"] == "185 in = 185 kept + 0 rejected"
    assert counts["located_by"]["aggregate"] == 28


@pytest.mark.parametrize("module", ["estates", "estates.cli"])
def test_python_m_runs_the_command_in_a_real_process(tmp_path: Path, module):
    missing = tmp_path / "x.csv"
    proc = subprocess.run(
        [sys.executable, "-m", module, "validate", "--sites", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"estates: error: --sites {missing}: no such file\n"
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tiles-attribution", "OSM"], "--tiles-attribution needs --tiles URL"),
        (["--tiles", "https://tiles.example/{z}/{x}/{y}.png"], "--tiles needs --tiles-attribution"),
        (["--tiles", "tiles/{z}/{x}/{y}.png", "--tiles-attribution", "x"], "must be an http"),
    ],
)
def test_tile_options_are_checked_before_any_work(cli, tmp_path, args, message):
    result = cli("build", "--out", str(tmp_path / "maps"), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "maps").exists()


def test_build_prints_the_headline_figures(cli, tmp_path):
    # The headline year is the latest ERIC return, 2019/20.
    result = cli("build", "--out", str(tmp_path / "maps"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("published ")
    assert "185 records in = 185 kept + 0 rejected" in lines[0]
    assert lines[1] == (
        "London: 121.8 ha not delivering services at 17 sites, worth £506.4m–£2.06bn at 2017 "
        "policy-appraisal values: 4.6%–18.7% of the £11bn target"
    )
    assert (
        "  North Central London estates pilot (ncl_estates): 5.25 ha at 5 sites, "
        "worth £16.9m–£200.4m: 0.15%–1.8% of the target"
    ) in lines
    assert (
        "Hackney integration pilot (hackney_integration): £0: no land not delivering services "
        "reported at its located sites" in result.stdout
    )
    assert lines[-1] == (
        "values: MHCLG 2017 policy-appraisal: industrial–residential, "
        "at 2017 policy-appraisal values, not market values"
    )


def test_build_valuation_average_is_labelled_derived_from_the_target(cli, tmp_path):
    out = tmp_path / "maps"
    result = cli("build", "--valuation", "average", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "(derived from the target, not a land value)" in lines[1]
    assert lines[-1].startswith("values: derived from the target: £11bn ÷ 618.80 ha owned at 104")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["valuation"]["method"] == "indicative_london_average"


def test_build_valuation_average_with_land_values_exits_2(cli, tmp_path):
    values = Path(__file__).parent / "data" / "scoring" / "land_values_test.csv"
    out = tmp_path / "maps"
    result = cli("build", "--valuation", "average", "--land-values", str(values), "--out", str(out))
    assert result.exit_code == 2
    assert "--valuation average and --land-values cannot be combined" in result.output


def test_validate_values_the_land_as_build_would(cli, tmp_path):
    # The bundled data: the average rests on enough hectares, as the build's does.
    result = cli("validate", "--valuation", "average")
    assert result.exit_code == 0, result.output
    assert "estates: valued 141 London sites (indicative_london_average)" in result.stderr
    # A build the average would refuse is refused by validate first, before any output.
    sites = tmp_path / "mine.csv"
    sites.write_text("a,b,lat,lon\nRAL01,Royal Free,51.553,-0.165\n", encoding="utf-8")
    args = ["--sites", str(sites), "--columns", "site_code=a,site_name=b", "--valuation"]
    result = cli("validate", *args, "average")
    assert result.exit_code == 2
    assert "below the 250 ha it needs to mean anything; use the published 2017 values " in (
        result.stderr
    )
    assert "(--valuation range, the default) or a --land-values file\n" in result.stderr
    assert cli("validate", *args, "range").exit_code == 0
    values = Path(__file__).parent / "data" / "scoring" / "land_values_test.csv"
    result = cli("validate", "--valuation", "average", "--land-values", str(values))
    assert result.exit_code == 2
    assert "--valuation average and --land-values cannot be combined" in result.stderr


def test_the_command_ends_with_every_line_written_and_its_exit_code(cli, tmp_path):
    # The process ends without the interpreter's teardown (estates.cli.run): a
    # pipe's buffered lines must still reach the reader, and the code the shell.
    proc = subprocess.run(
        [sys.executable, "-m", "estates", "validate"], capture_output=True, timeout=120, check=False
    )
    assert proc.returncode == 0
    in_process = cli("validate")
    assert proc.stdout.decode("utf-8") == in_process.stdout
    assert proc.stderr.decode("utf-8").endswith(in_process.stderr)
    missing = tmp_path / "missing.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "estates", "build", "--sites", str(missing), "--out", str(tmp_path)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode("utf-8").startswith("estates: error: --sites ")


def test_the_command_waits_for_a_thread_and_runs_the_exit_functions(tmp_path):
    # What the interpreter does before its teardown, run() still does.
    script = tmp_path / "late.py"
    out = tmp_path / "late.txt"
    script.write_text(
        "import atexit, sys, threading, time\n"
        "from pathlib import Path\n"
        "import estates.cli\n"
        f"out = Path({str(out)!r})\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    out.write_text('thread;')\n"
        "threading.Thread(target=late).start()\n"
        "atexit.register(lambda: out.write_text(out.read_text() + 'atexit'))\n"
        "atexit.register(print, 'printed, not flushed')\n"
        "sys.argv = ['estates', '--version']\n"
        "estates.cli.run()\n"
        "out.write_text('not reached')\n",
        encoding="utf-8",
    )
    # Standard output to a pipe is buffered unless the environment says otherwise.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=120, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").startswith("estates ")
    assert proc.stdout.decode("utf-8").endswith("\nprinted, not flushed\n")
    assert out.read_text(encoding="utf-8") == "thread;atexit"


def test_a_closed_stdout_is_not_reported_as_a_bug():
    # `estates validate | head -1`: the reader goes away before the output is written.
    proc = subprocess.Popen(
        [sys.executable, "-m", "estates", "validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert b"internal error" not in err
    assert b"Traceback" not in err


# --- one wording for a missing input, whichever option or command names it ------------


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["build", "--sites", "{path}"], "--sites"),
        (["build", "--boundaries", "{path}"], "--boundaries"),
        (["build", "--groupings", "{path}"], "--groupings"),
        (["build", "--locations", "{path}"], "--locations"),
        (["build", "--land-values", "{path}"], "--land-values"),
        (["build", "--pipeline", "{path}"], "--pipeline"),
        (["build", "--config", "{path}"], "--config"),
        (["build", "--eric", "{path}:2019/20"], "--eric"),
        (["validate", "--sites", "{path}"], "--sites"),
        (["validate", "--config", "{path}"], "--config"),
        (["validate", "--eric", "{path}"], "--eric"),
        (["join", "{path}", "joined.parquet"], "SOURCE"),
        (["join", "--boundaries", "{path}", "{points}", "joined.parquet"], "--boundaries"),
    ],
)
def test_a_missing_file_is_worded_one_way(cli, write, tmp_path, args, label):
    path = tmp_path / "mine.csv"
    points = write("points.csv", POINTS)
    if args[0] == "build":
        args = [*args, "--out", str(tmp_path / "maps")]
    result = cli(*[a.format(path=path, points=points) for a in args])
    assert result.exit_code == 2
    assert result.stderr == f"estates: error: {label} {path}: no such file\n"
    assert result.stdout == ""
    assert not (tmp_path / "maps").exists()
    assert not (tmp_path / "joined.parquet").exists()


def test_a_folder_given_as_a_file_and_a_missing_folder_are_one_line(cli, tmp_path):
    result = cli("validate", "--sites", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"estates: error: --sites {tmp_path}: is a folder, not a file; give the file inside it\n"
    )
    result = cli("diff", str(tmp_path / "old"), str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"estates: error: OLD_DIR {tmp_path / 'old'}: no such folder\n"


def test_an_out_folder_that_is_a_file_is_one_line_with_the_fix(cli, tmp_path):
    a_file = tmp_path / "afile"
    a_file.write_text("mine\n")
    result = cli("build", "--out", str(a_file))
    assert result.exit_code == 2
    assert result.stderr == (
        f"estates: error: --out {a_file}: is a file, not a folder; move it away or choose "
        "another output folder\n"
    )
    assert result.stdout == ""
    assert a_file.read_text() == "mine\n"


def test_an_out_folder_that_cannot_be_made_says_to_choose_another(cli, tmp_path):
    a_file = tmp_path / "afile"
    a_file.write_text("mine\n")
    result = cli("build", "--out", str(a_file / "maps"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"estates: error: --out {a_file / 'maps'}: cannot create a folder in {a_file} "
        "(Not a directory); choose an output folder where you can write\n"
    )


def test_diff_of_a_file_says_it_takes_output_folders(cli, tmp_path):
    table = tmp_path / "sites.csv"
    table.write_text("site_code\nA\n")
    for args, label in (([tmp_path, table], "NEW_DIR"), ([table, tmp_path], "OLD_DIR")):
        result = cli("diff", *map(str, args))
        assert result.exit_code == 2
        assert result.stderr == (
            f"estates: error: {label} {table}: is a file, not a folder; give the --out folder "
            "of an estates build (the folder that holds sites.parquet)\n"
        )
    result = cli("diff", str(tmp_path), str(tmp_path), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"estates: error: --out {tmp_path}: is a folder, not a file; name a file, "
        f"e.g. {tmp_path / 'changes.csv'}\n"
    )


# --- global options before or after the command ----------------------------------------


def _missing_input_args(command: str, path: Path) -> list[str]:
    """A call of ``command`` that fails, before any work, on the missing ``path``."""
    return {
        "build": ["build", "--sites", str(path), "--out", str(path.parent / "maps")],
        "validate": ["validate", "--sites", str(path)],
        "join": ["join", str(path), str(path.parent / "joined.parquet")],
        "diff": ["diff", str(path), str(path.parent)],
    }[command]


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("command", COMMANDS)
def test_global_options_go_before_or_after_the_command(cli, tmp_path, command, before):
    args = _missing_input_args(command, tmp_path / "gone")

    def call(*options: str):
        reset_logging()
        return cli(*options, *args) if before else cli(*args, *options)

    # --log-format json: the one line is a JSON error record.
    result = call("--log-format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    record = json.loads(line)
    assert record["level"] == "error"
    assert record["exit_code"] == 2
    assert record["message"].endswith(
        f"{tmp_path / 'gone'}: no such {('folder' if command == 'diff' else 'file')}"
    )

    # --quiet: one plain line.
    result = call("--quiet")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("estates: error: ")

    # --traceback: the error's traceback follows the line.
    result = call("-q", "--traceback")
    assert result.exit_code == 2
    assert result.stderr.startswith("estates: error: ")
    assert "Traceback (most recent call last)" in result.stderr

    # --traceback with JSON logs: the traceback is a field of a second record.
    result = call("--traceback", "--log-format", "json")
    assert result.exit_code == 2
    first, second = map(json.loads, result.stderr.splitlines())
    assert first["level"] == "error"
    assert "Traceback (most recent call last)" in second["exc_info"]


def test_the_option_nearer_the_end_wins(cli, tmp_path):
    args = _missing_input_args("validate", tmp_path / "gone")
    result = cli("--log-format", "json", *args, "--log-format", "text")
    assert result.stderr.startswith("estates: error: --sites ")
    reset_logging()
    result = cli("--log-format", "text", *args, "--log-format", "json")
    assert json.loads(result.stderr)["level"] == "error"


# --- --quiet and --log-format json on successful runs ---------------------------------


def test_quiet_validate_prints_nothing_unless_json_is_asked_for(cli):
    result = cli("validate", "--quiet", "--year", "2016/17")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""
    reset_logging()
    result = cli("--quiet", "validate", "--json", "--year", "2016/17")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["identity"] == "172 in = 172 kept + 0 rejected"
    assert result.stderr == ""


def test_json_logs_carry_every_line_of_validate(cli):
    result = cli("validate", "--log-format", "json", "--year", "2016/17")
    assert result.exit_code == 0
    assert result.stdout == ""
    records = [json.loads(line) for line in result.stderr.splitlines()]
    reports = [r for r in records if r.get("event") == "report"]
    assert reports[0]["message"] == "172 in = 172 kept + 0 rejected"
    flagged = [r for r in reports if r.get("action") == "flagged"]
    assert any("eric_sites_london.csv row 169 (site TAF10)" in r["message"] for r in flagged)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)


POINTS = "id,latitude,longitude\n1,51.5074,-0.1278\n2,fifty-one,-0.1\n3,51.52,-0.09\n"


def test_join_warnings_stay_under_quiet_and_are_json_in_json_mode(cli, write, tmp_path):
    src = write("points.csv", POINTS)
    target = tmp_path / "joined.parquet"
    result = cli("join", str(src), str(target), "--quiet")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "estates: warning: 1 row not joined (no borough; reason in join_problem)",
        "estates: warning:   row 3: latitude 'fifty-one' is not a finite number",
    ]
    reset_logging()
    result = cli("--log-format", "json", "join", str(src), str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [r["level"] for r in records if r.get("event") == "report"] == ["info"]
    assert records[-1]["level"] == "warning"
    assert records[-1]["message"] == "  row 3: latitude 'fifty-one' is not a finite number"


# --- Ctrl-C --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_ctrl_c_exits_130_with_one_line(cli, tmp_path, monkeypatch, fmt):
    def interrupted(options):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "build_output_set", interrupted)
    result = cli("build", "--quiet", "--log-format", fmt, "--out", str(tmp_path / "maps"))
    assert result.exit_code == 130
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    if fmt == "json":
        assert json.loads(line)["exit_code"] == 130
        assert json.loads(line)["message"] == "interrupted; nothing was published"
    else:
        assert line == "estates: interrupted; nothing was published"


def test_ctrl_c_while_the_command_starts_exits_130_too(cli, tmp_path, monkeypatch):
    def interrupted(kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "_inputs", interrupted)  # before the work is guarded
    result = cli("build", "--quiet", "--out", str(tmp_path / "maps"))
    assert result.exit_code == 130
    assert result.stderr == "estates: interrupted; nothing was published\n"
