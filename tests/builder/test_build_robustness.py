"""Unattended rebuilds: killed runs, two runs at once, every exit code, machine logs.

The slow tests run the real ``estates build`` in a subprocess, and kill it
with SIGKILL at named points of publishing: with ``KILL_ENV`` set, the
subprocess starts through :data:`KILL_WRAPPER`, which replaces the function
called at that point with a SIGKILL before running the CLI (the package has
no test hook). Whatever happens, ``--out`` shows one complete, consistent
output set: the previous one, or the new one.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from estates.builder.lock import acquire_lock
from estates.builder.manifest import hash_file
from estates.builder.publish import store_dir
from estates.cli import main
from estates.io.csv_text import unescape_text
from estates.logs import reset_logging

REPO = Path(__file__).resolve().parents[2]
KILL_ENV = "ESTATES_TEST_KILL_AT"
#: Runs ``estates`` with the function called at a named point replaced by a SIGKILL:
#: after the tables (the maps are prepared next), after the maps (the manifest is
#: built next), before the swap (the old folder is retired first) and after it
#: (the history is recorded next).
KILL_WRAPPER = """
import os, signal, sys
import estates.builder.publish as publish
import estates.builder.runner as runner
from estates.cli import main

POINTS = {
    "after_tables": (runner, "_prepare_maps"),
    "after_maps": (runner, "build_manifest"),
    "before_swap": (publish, "_retire_real_folder"),
    "after_swap": (publish, "_record_history"),
}
module, name = POINTS[os.environ["ESTATES_TEST_KILL_AT"]]
assert callable(getattr(module, name)), name


def kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


setattr(module, name, kill)
sys.argv[0] = "estates"
main()
"""
KILLED_BEFORE_SWAP = ("after_tables", "after_maps", "before_swap")
HEADER = "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"
#: Two good sites and two bad ones (latitude out of range; unused land above land owned).
TWO_BAD_ROWS = (
    HEADER
    + "A1,Good one,51.55,-0.16,2,1\n"
    + "A2,Good two,51.52,-0.12,3,0\n"
    + "B1,Bad latitude,95,-0.1,1,0\n"
    + "B2,Unused over owned,51.5,-0.1,1,2\n"
)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """The CLI points the estates logger at CliRunner's stream; undo it afterwards."""
    yield
    reset_logging()


def estates(*args: object, cwd: Path, env: dict[str, str] | None = None):
    """Run the real ``estates`` command in a new Python process."""
    environ = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    start = ["-c", KILL_WRAPPER] if KILL_ENV in environ else ["-m", "estates.cli"]
    return subprocess.run(
        [sys.executable, *start, *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def cli(*args: object):
    """Run ``estates`` in this process."""
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_complete_set(folder: Path) -> dict[str, Any]:
    """Assert ``folder`` holds one complete, consistent output set; return its summary.

    Every file the manifest lists is there with its hash (so no file comes from
    another set) and nothing else is; every table reopens; the row counts of
    sites.csv, sites.parquet, sites.gpkg, summary.json and the manifest agree;
    the pages parse and end.
    """
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {item["path"]: item for item in manifest["outputs"]}
    present = {p.name for p in folder.iterdir()}
    assert present == {*listed, "manifest.json"}
    for name, item in listed.items():
        assert hash_file(folder / name) == item["sha256"], f"{name} is not from this set"
    sites_csv = pd.read_csv(folder / "sites.csv", dtype=str, keep_default_na=False)
    sites = gpd.read_parquet(folder / "sites.parquet")
    n_gpkg = pyogrio.read_info(folder / "sites.gpkg", layer="sites")["features"]
    rejected = pd.read_csv(folder / "rejected.csv", dtype=str, keep_default_na=False)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    counts = summary["counts"]
    n = len(sites_csv)
    assert len(sites) == n_gpkg == n == counts["records_kept"] == manifest["row_counts"]["sites"]
    assert counts["records_in"] == n + counts["records_rejected"]
    assert manifest["row_counts"]["records_in"] == counts["records_in"]
    assert len(rejected) == manifest["row_counts"]["rejected"]
    assert list(sites["site_code"]) == list(sites_csv["site_code"])
    for page in ("index.html", "london.html"):
        text = (folder / page).read_text(encoding="utf-8")
        parser = html.parser.HTMLParser()
        parser.feed(text)
        parser.close()
        assert text.rstrip().endswith("</html>"), f"{page} is truncated"
    london = (folder / "london.html").read_text(encoding="utf-8")
    marker = re.search(r'<meta name="estates:sites" content="(\d+)"', london)
    if marker is not None:  # the map may say how many sites it draws
        assert int(marker.group(1)) == int(sites["in_london"].sum())
    return summary


def published(out: Path) -> Path:
    """Return the build folder ``out`` links to."""
    return Path(os.path.realpath(out))


def store_entries(out: Path, *prefixes: str) -> list[str]:
    names = sorted(os.listdir(store_dir(out)))
    return [n for n in names if n.startswith(prefixes)] if prefixes else names


def wait_until(condition: Callable[[], bool], what: str, procs: list[subprocess.Popen]) -> None:
    """Poll ``condition``; fail (not hang) if a process ends first or it never holds."""
    for _ in range(1500):
        if condition():
            return
        ended = [p for p in procs if p.poll() is not None]
        assert not ended, f"a build ended (exit {ended[0].returncode}) before {what}"
        time.sleep(0.2)
    pytest.fail(f"gave up waiting until {what}")


# --- 1. killed at any point of publishing: the previous set stays whole -----------------


@pytest.mark.slow
def test_a_build_killed_anywhere_leaves_one_complete_set(tmp_path):
    out = tmp_path / "maps"
    first = estates("--log-format", "json", "build", "--out", out, "--force", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # Machine logs: every stderr line is one JSON object.
    records = [json.loads(line) for line in first.stderr.splitlines()]
    assert records
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any(r["message"].startswith("published ") for r in records)
    v1 = published(out)
    assert assert_complete_set(out)["target_gbp"] == 11e9

    # Inputs that change summary.json, killed before the swap: v1 stays.
    for point in KILLED_BEFORE_SWAP:
        killed = estates("build", "--out", out, "--target-gbp", "5e9", cwd=tmp_path, env={
            KILL_ENV: point
        })  # fmt: skip
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        assert killed.stdout == ""
        assert published(out) == v1, point
        assert assert_complete_set(out)["target_gbp"] == 11e9
        # It left unpublished work behind, for the next run to clear.
        assert [n for n in store_entries(out, "staging-", "build-") if n != v1.name], point

    # Killed after the swap: the new set is whole, and so is the previous one.
    killed = estates("build", "--out", out, "--target-gbp", "5e9", cwd=tmp_path, env={
        KILL_ENV: "after_swap"
    })  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    v2 = published(out)
    assert v2 != v1
    assert assert_complete_set(out)["target_gbp"] == 5e9
    assert assert_complete_set(v1)["target_gbp"] == 11e9

    # The next run clears the stale lock and every leftover, and publishes. --quiet:
    # nothing on stdout, no info lines, only the warning about the killed run.
    final = estates("--quiet", "build", "--out", out, "--force", cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    assert final.stdout == ""
    warnings = final.stderr.splitlines()
    assert warnings
    assert all(line.startswith("estates: warning: ") for line in warnings), final.stderr
    assert "cleared a stale lock left by pid" in final.stderr
    v3 = published(out)
    assert assert_complete_set(out)["target_gbp"] == 11e9
    assert assert_complete_set(v2)["target_gbp"] == 5e9  # kept as the previous set
    assert store_entries(out, "build-") == sorted([v2.name, v3.name])
    assert [n for n in store_entries(out) if not n.startswith("build-")] == [
        "history.json",
        "lock",
    ]
    history = json.loads((store_dir(out) / "history.json").read_text())["published"]
    assert history[-2:] == [v2.name, v3.name]
    assert sorted(os.listdir(tmp_path)) == [".maps.estates", "maps"]

    # Unchanged inputs and options: nothing to do, exit 0.
    again = estates("build", "--out", out, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "is up to date (inputs and options unchanged); --force rebuilds" in again.stdout
    assert "nothing to do" not in again.stderr  # said once, on stdout
    assert published(out) == v3


# --- 2. one run at a time -------------------------------------------------------------


@pytest.mark.slow
def test_two_builds_at_once_take_turns(tmp_path):
    out = tmp_path / "maps"
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    environ = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "estates.cli", "build", "--out", str(out)]
    # Hold the lock so that both runs are surely waiting at once, then let go.
    with acquire_lock(out, wait_s=0), logs[0].open("w") as e0, logs[1].open("w") as e1:
        procs = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=err, text=True, env=environ, cwd=tmp_path
            )
            for err in (e0, e1)
        ]
        wait_until(
            lambda: all("; waiting up to 300 s" in log.read_text() for log in logs),
            "both builds wait for the lock",
            procs,
        )
    stdouts = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [log.read_text() for log in logs]
    # One built and published; the other waited for it, then found nothing to do.
    outcomes = sorted(
        "published" if s.startswith("published ") else "up to date" if "up to date" in s else s
        for s in stdouts
    )
    assert outcomes == ["published", "up to date"]
    assert_complete_set(out)
    assert len(store_entries(out, "build-")) == 1
    assert store_entries(out, "staging-") == []


@pytest.mark.slow
def test_a_locked_folder_with_wait_0_exits_3(tmp_path):
    out = tmp_path / "maps"
    with acquire_lock(out, wait_s=0):
        proc = estates("build", "--out", out, "--wait", "0", cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"estates: error: another estates build (pid {os.getpid()}, started ")
    assert f"is writing {out}/; waited 0 s. Try again later or pass --wait SECONDS." in line
    assert not out.exists()


# --- 3. every exit code -----------------------------------------------------------------


def test_too_many_rejected_exits_4_but_publishes(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text(TWO_BAD_ROWS, encoding="utf-8")
    out = tmp_path / "maps"
    result = cli("build", "--sites", sites, "--out", out, "--max-rejected", "1")
    assert result.exit_code == 4, result.stderr
    assert result.stdout.startswith("published ")
    assert "2 sites (4 records in = 2 kept + 2 rejected)" in result.stdout
    assert f"estates: 2 records rejected, more than --max-rejected 1; see {out}" in result.stderr
    assert_complete_set(out)
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    bad = rejected[rejected["action"] == "rejected"]
    assert sorted(bad["site_code"]) == ["B1", "B2"]
    assert sorted(bad["check"]) == ["bad_coordinate", "unused_exceeds_owned"]

    # Unchanged inputs: nothing is rebuilt, but the published set still has two
    # rejections, so a scheduled job keeps getting 4 until they are fixed.
    same = cli("build", "--sites", sites, "--out", out, "--max-rejected", "1")
    assert same.exit_code == 4
    assert same.stdout == ""  # a failure: its line is the last on stderr
    line = same.stderr.splitlines()[-1]
    assert "is up to date" in line
    assert "2 records rejected, more than --max-rejected 1" in line
    assert "nothing to do" not in same.stderr
    assert cli("build", "--sites", sites, "--out", out, "--max-rejected", "2").exit_code == 0
    assert cli("build", "--sites", sites, "--out", out).exit_code == 0


def test_a_bug_is_one_line_exit_1_and_publishes_nothing(tmp_path, monkeypatch):
    def broken_join(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug in the join")

    monkeypatch.setattr("estates.builder.engine.join_boroughs", broken_join)
    sites = tmp_path / "sites.csv"
    sites.write_text(TWO_BAD_ROWS, encoding="utf-8")
    out = tmp_path / "maps"
    result = cli("--quiet", "build", "--sites", sites, "--out", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "estates: internal error: RuntimeError: simulated bug in the join. This is a bug; "
        "please report it with the command you ran (--traceback shows details)"
    ]
    assert not out.exists()


def test_a_bug_while_writing_keeps_the_previous_set(tmp_path, monkeypatch):
    sites = tmp_path / "sites.csv"
    sites.write_text(TWO_BAD_ROWS, encoding="utf-8")
    out = tmp_path / "maps"
    assert cli("build", "--sites", sites, "--out", out).exit_code == 0
    before = published(out)

    def broken_maps(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug in the maps")

    monkeypatch.setattr("estates.builder.runner._prepare_maps", broken_maps)
    result = cli("--log-format", "json", "build", "--sites", sites, "--out", out, "--force")
    assert result.exit_code == 1
    # JSON logs stay JSON to the last line, which carries the exit code.
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records[-1]["level"] == "error"
    assert records[-1]["exit_code"] == 1
    assert records[-1]["message"].startswith("internal error: RuntimeError: simulated bug")
    assert "Traceback" not in result.stderr
    assert published(out) == before
    assert_complete_set(out)
    assert store_entries(out, "staging-") == []


def test_bad_options_exit_2_and_touch_nothing(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text(TWO_BAD_ROWS, encoding="utf-8")
    a_file = tmp_path / "report.txt"
    a_file.write_text("mine\n")
    result = cli("build", "--sites", sites, "--out", a_file)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"estates: error: --out {a_file}: is a file, not a folder; move it away or choose "
        "another output folder"
    ]
    assert a_file.read_text() == "mine\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    # Without --quiet too: no progress line ("building") comes before the refusal.
    for quiet in (["--quiet"], []):
        result = cli(*quiet, "build", "--sites", sites, "--out", mine)
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"estates: error: {mine}/ is not an estates output folder (it has no manifest.json); "
            "refusing to replace it. Move it away or choose another output folder"
        ]
    assert os.listdir(mine) == ["notes.txt"]
    for args in (["--max-rejected", "-1"], ["--wait", "-5"], ["--target-gbp", "lots"]):
        usage = cli("build", "--out", tmp_path / "maps", *args)
        assert usage.exit_code == 2, args
        assert "Traceback" not in usage.output
    assert cli("build", "--target-gbp", "-5", "--out", tmp_path / "maps").exit_code == 2
    assert not (tmp_path / "maps").exists()


def test_json_logs_on_a_bad_input_are_json_too(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = cli("--log-format", "json", "validate", "--sites", empty)
    assert result.exit_code == 2
    [record] = [json.loads(line) for line in result.stderr.splitlines()]
    assert record["level"] == "error"
    assert record["exit_code"] == 2
    assert record["message"] == "empty.csv is empty; expected a CSV file with a header row"


# --- 6. no write outside the output folder ---------------------------------------------


def _tree(root: Path) -> set[str]:
    """Every file, folder and link under ``root``, without following links."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            found.add(Path(folder, name).relative_to(root).as_posix())
    return found


def test_no_write_outside_the_output_folder(tmp_path, monkeypatch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    odd_name = "-sites ;$(touch pwned) <b>&'\"caf\u00e9\u2019 ..\\..\\evil.csv"
    odd = inputs / odd_name
    odd.write_text(
        "site_code,site_name,trust_name,latitude,longitude,land_owned_ha,land_unused_ha\n"
        "../../evil,../../../tmp/pwned,/etc/passwd,51.55,-0.16,2,1\n"
        "..,.,~/.bashrc,95,-0.1,1,0\n",
        encoding="utf-8",
    )
    groupings = inputs / "groupings.csv"
    groupings.write_text(
        "group_type,group_id,group_name,borough_code,borough_name,source\n"
        "pilot,../../evil,Evil,E09000007,Camden,test\n",
        encoding="utf-8",
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = _tree(tmp_path)

    refused = cli("--quiet", "build", "--groupings", groupings, "--out", "maps")
    assert refused.exit_code == 2
    assert "group_id '../../evil' must be letters, digits and underscores" in refused.stderr
    assert not (work / "maps").exists()

    result = cli("--quiet", "build", "--sites", odd, "--out", "maps")
    assert result.exit_code == 0, result.stderr
    new = _tree(tmp_path) - before
    assert new
    assert all(p == "work/maps" or p.startswith("work/.maps.estates") for p in new), new
    assert sorted(os.listdir(work)) == [".maps.estates", "maps"]
    assert set(os.listdir(inputs)) == {odd_name, "groupings.csv"}
    # The odd names are data: kept as given in the tables.
    assert_complete_set(work / "maps")
    sites = pd.read_csv(work / "maps" / "sites.csv", dtype=str, keep_default_na=False)
    assert list(sites["site_code"]) == ["../../evil"]
    rejected = pd.read_csv(work / "maps" / "rejected.csv", dtype=str, keep_default_na=False)
    # The name starts with "-", so the CSV holds it spreadsheet-safe, with a leading "'".
    named = rejected.loc[rejected["action"] == "rejected", "source_file"]
    assert (named == "'" + odd_name).all()
    assert (named.map(unescape_text) == odd_name).all()


def _damage_truncate(folder: Path) -> str:
    path = folder / "sites.parquet"
    path.write_bytes(path.read_bytes()[:-100])
    return "a table does not reopen"


def _damage_drop_csv_row(folder: Path) -> str:
    path = folder / "sites.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    return "sites.csv has 184 rows, expected 185"


def _damage_plain_parquet(folder: Path) -> str:
    path = folder / "sites.parquet"
    pd.DataFrame(gpd.read_parquet(path).drop(columns="geometry")).to_parquet(path)
    return "no GeoParquet metadata"


def _damage_drop_gpkg_row(folder: Path) -> str:
    path = folder / "sites.gpkg"
    frame = pyogrio.read_dataframe(path, layer="sites")
    pyogrio.write_dataframe(frame.iloc[1:], path, layer="sites")
    return "sites.gpkg has 184 rows, expected 185"


def _damage_drop_site_years_row(folder: Path) -> str:
    path = folder / "site_years.parquet"
    frame = gpd.read_parquet(path)
    frame.iloc[1:].to_parquet(path, index=False)
    return "site_years.parquet has 852 rows, expected 853"


def _damage_drop_site_years_layer_row(folder: Path) -> str:
    path = folder / "sites.gpkg"
    frame = pyogrio.read_dataframe(path, layer="site_years")
    pyogrio.write_dataframe(frame.iloc[1:], path, layer="site_years")
    return "sites.gpkg layer site_years has 852 rows, expected 853"


@pytest.mark.parametrize(
    "damage",
    [
        _damage_truncate,
        _damage_drop_csv_row,
        _damage_plain_parquet,
        _damage_drop_gpkg_row,
        _damage_drop_site_years_row,
        _damage_drop_site_years_layer_row,
    ],
)
def test_the_output_check_refuses_a_damaged_table(tmp_path, bundled_result, damage):
    from estates.builder.runner import BuildOptions, check_output_set, write_output_set
    from estates.errors import EstatesError

    write_output_set(bundled_result, tmp_path, BuildOptions(maps=False))
    check_output_set(tmp_path, bundled_result)  # whole: passes
    expected = damage(tmp_path)
    with pytest.raises(EstatesError, match=re.escape(expected)):
        check_output_set(tmp_path, bundled_result)


def test_the_output_check_counts_csv_records_not_lines(tmp_path):
    from estates.builder.runner import _csv_rows

    path = tmp_path / "t.csv"
    path.write_text("a,b\n", encoding="utf-8")
    assert _csv_rows(path) == 0  # the header alone: no findings, say
    path.write_text('\ufeffa,b\n1,"two\nlines, and a comma"\n2,"say ""x"""\n', encoding="utf-8")
    assert _csv_rows(path) == 2
    # A record of one empty cell, written "" (not a blank line), and a lone CR in a cell.
    path.write_bytes(b'a\n""\n"x\ry"\n3\n')
    assert _csv_rows(path) == 3 == len(pd.read_csv(path, dtype=str))


def test_the_output_check_knows_maps_draw_at_most_max_map_sites(
    tmp_path, bundled_result, monkeypatch
):
    from estates.builder.runner import BuildOptions, check_output_set, write_output_set
    from estates.errors import EstatesError
    from estates.render import maps

    monkeypatch.setattr(maps, "MAX_MAP_SITES", 5)
    write_output_set(bundled_result, tmp_path, BuildOptions())
    check_output_set(tmp_path, bundled_result)  # capped pages pass
    london = tmp_path / "london.html"
    html = london.read_text(encoding="utf-8")
    assert '<meta name="estates:sites" content="5">' in html
    located = int(bundled_result.summary["london"]["sites_located"])
    total = f'<meta name="estates:sites-total" content="{located}">'
    assert total in html
    london.write_text(html.replace(total, total.replace(str(located), "7")), encoding="utf-8")
    with pytest.raises(
        EstatesError, match=f"london.html counts 7 sites in all, the table has {located}"
    ):
        check_output_set(tmp_path, bundled_result)


_PAGE = "<!doctype html><html><head>{}</head><body>{}</body></html>\n"


@pytest.mark.parametrize(
    ("head", "body"),
    [
        ('<style>body { background: URL( "https://tiles.example/bg.png"); }</style>', ""),
        ("<style>.a { cursor: url(//cdn.example/hand.cur), auto; }</style>", ""),
        ("<div style=\"background:uRl('HTTP://x.example/a.png')\"></div>", ""),
        ('<script src="//cdn.example/leaflet.js"></script>', ""),
        ("", "<img SRC='http://x.example/logo.png'>"),
    ],
)
def test_the_output_check_refuses_a_page_that_loads_from_the_network(
    tmp_path, bundled_result, head, body
):
    from estates.builder.runner import BuildOptions, check_output_set, write_output_set
    from estates.errors import EstatesError

    write_output_set(bundled_result, tmp_path, BuildOptions(maps=False))
    page = tmp_path / "extra.html"
    # A link to a page, a data URL and an address in text or a script are no assets.
    harmless = (
        '<a href="https://example.org/">source</a><style>.b { background: url(data:,x); }</style>'
        '<script>const tiles = "https://tiles.example/{z}/{x}/{y}.png"; f(url(1));</script>'
    )
    page.write_text(_PAGE.format("", harmless), encoding="utf-8")
    check_output_set(tmp_path, bundled_result)
    page.write_text(_PAGE.format(head, harmless + body), encoding="utf-8")
    with pytest.raises(EstatesError, match=r"extra\.html loads an asset from the network"):
        check_output_set(tmp_path, bundled_result)
