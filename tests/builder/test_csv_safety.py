"""Every CSV of a published build is spreadsheet-safe and keeps a lone CR in its row.

A site name such as ``=HYPERLINK(...)`` or ``@SUM(1)`` must reach
``sites.csv``, ``rejected.csv`` and ``changes.csv`` as text a spreadsheet
shows, never runs; a name holding a lone carriage return must stay one
record, so the output check counts the rows it expects and publishes.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from estates.builder.diff import read_changes
from estates.builder.publish import current_build
from estates.cli import main
from estates.io.csv_text import unescape_text

CORPUS = Path(__file__).parents[1] / "bad_inputs"
HOSTILE = {
    "F1": '=HYPERLINK("http://x","y")',
    "F2": "@SUM(1)",
    "F3": "Tabbed",  # the loader strips leading and trailing spaces, the tab too
    "F4": "Lone\rCR",
    "F5": "'=already quoted",
}
#: A record validation rejects (latitude out of range), so rejected.csv shows its hostile text.
REJECTED_ROW = "R1,\"+cmd|' /C calc'!A0\",Acute,RXX,Trust,151.5,-0.1,1,0\n"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, strict=True))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Build the hostile sites, then the same without F2 and with a new F6, into one --out."""
    root = tmp_path_factory.mktemp("csv_safety")
    first = root / "sites_a.csv"
    shutil.copyfile(CORPUS / "formula_sites.csv", first)
    with first.open("a", encoding="utf-8", newline="") as handle:
        handle.write(REJECTED_ROW)
    second = root / "sites_b.csv"
    text = first.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines(keepends=True) if not line.startswith("F2,")]
    added = 'F6,"=1+2",Acute,RXX,Trust,51.54,-0.14,1,0\n'
    second.write_text("".join(kept) + added, encoding="utf-8", newline="")
    out = root / "out"
    runner = CliRunner()
    common = ["build", "--out", str(out), "--wait", "0"]
    result = runner.invoke(main, [*common, "--sites", str(first)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    build_a = current_build(out)
    result = runner.invoke(main, [*common, "--sites", str(second)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {"a": build_a, "b": current_build(out)}


def test_sites_csv_prefixes_formulas_and_keeps_the_lone_cr(builds):
    rows = _rows(builds["a"] / "sites.csv")
    names = {r["site_code"]: r["site_name"] for r in rows}
    assert names == {
        "F1": '\'=HYPERLINK("http://x","y")',
        "F2": "'@SUM(1)",
        "F3": "Tabbed",
        "F4": "Lone\rCR",
        "F5": "''=already quoted",
    }
    assert {code: unescape_text(name) for code, name in names.items()} == HOSTILE
    by_code = {r["site_code"]: r for r in rows}
    assert by_code["F1"]["site_type"] == "-3.5"  # a plain number, never a formula
    assert by_code["F1"]["trust_name"] == "'-2+3"
    assert by_code["F2"]["site_type"] == "'+44 20 7946 0000"
    assert by_code["F4"]["trust_name"] == "CR first"  # stripped at load, as documented
    raw = (builds["a"] / "sites.csv").read_bytes()
    assert b'"Lone\rCR"' in raw  # quoted, so no reader starts a new row at the CR


def test_the_lone_cr_build_published_with_every_row(builds):
    folder = builds["a"]
    assert len(pd.read_csv(folder / "sites.csv", dtype=str)) == len(HOSTILE)
    sites = pd.read_parquet(folder / "sites.parquet")
    assert sites.set_index("site_code")["site_name"].to_dict() == HOSTILE


def test_rejected_csv_prefixes_the_rejected_records_text(builds):
    rows = [r for r in _rows(builds["a"] / "rejected.csv") if r["site_code"] == "R1"]
    assert rows, "the out-of-range record is listed"
    assert all(not r["value"].startswith("+") for r in rows)
    assert all(cell[:1] not in "=+-@\t\r" for r in rows for cell in r.values() if cell)


def test_changes_csv_prefixes_old_and_new_text_and_reads_back_unescaped(builds):
    raw = _rows(builds["b"] / "changes.csv")
    names = {(r["site_code"], r["change"], r["old"], r["new"]) for r in raw}
    assert ("F2", "removed", "'@SUM(1)", "") in names
    assert ("F6", "added", "", "'=1+2") in names
    table, _ = read_changes(builds["b"])
    by_code = table.set_index("site_code")
    assert by_code.loc["F2", "old"] == "@SUM(1)"
    assert by_code.loc["F6", "new"] == "=1+2"
