"""A rebuild's ``changes.csv`` / ``changes.json``: the same files in memory as on disk.

Small site tables are compared in memory (no spill, no DuckDB); large ones a
key range at a time. Both must write the same bytes, whatever changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from estates.builder import runner
from estates.builder.diff import read_changes

REPO = Path(__file__).resolve().parents[2]


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return old and new site tables from the bundled ERIC return, with every kind of change."""
    raw = pd.read_csv(
        REPO / "data" / "estates" / "eric_sites_2019_20_london.csv", dtype=str, encoding="utf-8"
    )
    codes = raw.filter(regex="(?i)site code").iloc[:, 0].fillna("AGGRE")
    trusts = raw.filter(regex="(?i)trust code").iloc[:, 0].fillna("R00")
    names = raw.filter(regex="(?i)site name").iloc[:, 0].fillna("")
    n = len(raw)
    rng = np.random.default_rng(22)
    old = pd.DataFrame(
        {
            "site_code": codes.to_numpy(),
            "trust_code": trusts.to_numpy(),
            "site_name": names.to_numpy(),
            "borough_code": pd.array(
                [f"E0900{i % 33:04d}" if i % 7 else None for i in range(n)], dtype="string"
            ),
            "land_unused_ha": rng.uniform(0, 3, n).round(3),
            "estimated_value_gbp": rng.uniform(0, 5e7, n).round(0),
            "disposal_rank": pd.array([i + 1 if i % 5 else None for i in range(n)], dtype="Int64"),
        }
    )
    new = old.drop(index=range(0, n, 11)).copy()  # removed
    new.loc[new.index[::6], "land_unused_ha"] += 0.5  # unused land changed
    new.loc[new.index[::9], "estimated_value_gbp"] += 2e5  # value changed
    new.loc[new.index[::13], "borough_code"] = "E09000033"  # moved borough
    new.loc[new.index[::4], "disposal_rank"] = pd.NA  # rank changed
    added = old.iloc[:3].assign(site_code=["NEW01", "NEW02", "NEW03"])
    return old, pd.concat([new, added, old.iloc[[5]]], ignore_index=True)  # and a repeated key


def _write(tmp_path: Path, name: str, table: pd.DataFrame) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    table.to_parquet(folder / "sites.parquet", index=False)
    return folder


def test_changes_in_memory_equal_changes_on_disk(tmp_path, monkeypatch) -> None:
    old, new = _tables()
    previous = _write(tmp_path, "previous", old)
    on_disk = _write(tmp_path, "disk", new)
    in_memory = _write(tmp_path, "memory", new)
    monkeypatch.setattr(runner, "CHANGES_IN_MEMORY_ROWS", 0)  # every table is "large"
    runner._write_changes(previous, on_disk, len(new), bom=True)
    monkeypatch.setattr(runner, "CHANGES_IN_MEMORY_ROWS", len(new))  # just small enough
    runner._write_changes(previous, in_memory, len(new), bom=True)
    for name in ("changes.csv", "changes.json"):
        assert (in_memory / name).read_bytes() == (on_disk / name).read_bytes(), name
    table, summary = read_changes(in_memory)
    assert set(table["change"]) == {
        "added",
        "removed",
        "moved_borough",
        "unused_land_changed",
        "value_changed",
        "rank_changed",
    }
    assert summary["rows"] == len(table)


def test_a_previous_table_without_a_compared_column_is_reported_not_compared(
    tmp_path, caplog
) -> None:
    old, new = _tables()
    previous = _write(tmp_path, "previous", old.drop(columns="disposal_rank"))
    folder = _write(tmp_path, "new", new)
    with caplog.at_level("WARNING", logger="estates"):
        runner._write_changes(previous, folder, len(new), bom=False)
    assert "has no column disposal_rank" in caplog.text
    _, summary = read_changes(folder)
    assert summary["previous"] is None  # written as a first build
