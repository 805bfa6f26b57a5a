"""The command line: help, exit codes and one-line errors, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from estates.cli import main


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_help_lists_every_option_and_the_exit_codes(cli):
    result = cli("build", "--help")
    assert result.exit_code == 0
    for option in [
        "--out",
        "--sites",
        "--boundaries",
        "--locations",
        "--land-values",
        "--pipeline",
        "--config",
        "--target-gbp",
        "--tiles",
        "--tiles-attribution",
        "--wait",
        "--force",
        "--max-rejected",
    ]:
        assert option in result.output
    assert "Exit codes" in result.output
    top = cli("--help")
    assert "--log-format" in top.output
    assert "--quiet" in top.output


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "--sites", "missing.csv"], "missing.csv: no such file"),
        (["validate", "--boundaries", "missing.gpkg"], "missing.gpkg: no such file"),
        (["validate", "--config", "missing.toml"], "no such config file"),
        (["validate", "--target-gbp", "-5"], "must be more than zero"),
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
    assert "s.csv: no site_code column; the headers are: 'ref', 'label'" in result.output


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


def test_console_script_runs_in_a_real_process(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "estates.cli", "validate", "--sites", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("estates: error:")
    assert "Traceback" not in proc.stderr


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
    result = cli("--quiet", "build", "--out", str(tmp_path / "maps"))
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
    result = cli("--quiet", "build", "--valuation", "average", "--out", str(out))
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


def test_a_closed_stdout_is_not_reported_as_a_bug():
    # `estates validate | head -1`: the reader goes away before the output is written.
    proc = subprocess.Popen(
        [sys.executable, "-m", "estates.cli", "--quiet", "validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert b"internal error" not in err
    assert b"Traceback" not in err
