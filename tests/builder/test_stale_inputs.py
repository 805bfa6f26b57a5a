"""Inputs that change during a build, and fingerprints that do not depend on where files are.

A file replaced while the build reads it must not be published under the new
file's hash; the same content given from another working folder, or bundled
files installed elsewhere, must no-op.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from estates.builder import engine, runner
from estates.builder.manifest import (
    MANIFEST_NAME,
    build_manifest,
    is_up_to_date,
    read_manifest,
    write_manifest,
)
from estates.builder.reference import Inputs
from estates.builder.runner import BuildOptions
from estates.cli import main
from estates.logs import reset_logging

REPO = Path(__file__).resolve().parents[2]
GROUPINGS = REPO / "data" / "boundaries" / "london_groupings.csv"
BOUNDARIES = REPO / "data" / "boundaries" / "london_boroughs.geojson"
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """The CLI points the estates logger at CliRunner's stream; undo it afterwards."""
    yield
    reset_logging()


def _build(*args: object):
    return CliRunner().invoke(main, ["--quiet", "build", *[str(a) for a in args]])


def test_an_input_replaced_mid_build_is_not_published(tmp_path, monkeypatch):
    groupings = tmp_path / "groupings.csv"
    shutil.copyfile(GROUPINGS, groupings)
    real_run_build = engine.run_build

    def run_then_edit(*args, **kwargs):
        result = real_run_build(*args, **kwargs)
        # An operator saves a new version while the build is still writing.
        groupings.write_text(groupings.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        return result

    monkeypatch.setattr(engine, "run_build", run_then_edit)
    out = tmp_path / "maps"
    result = _build("--out", out, "--groupings", groupings)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "groupings.csv changed while the build read it" in line
    assert "run again" in line
    assert not (out / MANIFEST_NAME).exists()

    # The next run reads the file as it is now, publishes, and then no-ops.
    monkeypatch.setattr(engine, "run_build", real_run_build)
    assert _build("--out", out, "--groupings", groupings).exit_code == 0
    recorded = read_manifest(out / MANIFEST_NAME)["inputs"]
    sizes = {Path(item["path"]).name: item["size_bytes"] for item in recorded}
    assert sizes["groupings.csv"] == groupings.stat().st_size
    again = runner.build_output_set(BuildOptions(out=out, inputs=Inputs(groupings=groupings)))
    assert again.status == "up_to_date"


def test_a_build_from_another_working_folder_is_up_to_date(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "in").mkdir(parents=True)
    shutil.copyfile(GROUPINGS, project / "in" / "groupings.csv")
    monkeypatch.chdir(project)
    relative = BuildOptions(
        out=Path("maps"), inputs=Inputs(groupings=Path("in/groupings.csv")), maps=False
    )
    assert runner.build_output_set(relative).status == "published"

    # A cron job runs from its home folder, with absolute paths.
    elsewhere = tmp_path / "cron-home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    absolute = BuildOptions(
        out=project / "maps",
        inputs=Inputs(groupings=project / "in" / "groupings.csv"),
        maps=False,
    )
    assert runner.build_output_set(absolute).status == "up_to_date"


def test_bundled_files_installed_elsewhere_give_the_same_fingerprint(tmp_path):
    install_a, install_b = tmp_path / "src" / "estates" / "data", tmp_path / "site-packages"
    for folder in (install_a, install_b):
        folder.mkdir(parents=True)
        shutil.copyfile(GROUPINGS, folder / GROUPINGS.name)
        shutil.copyfile(BOUNDARIES, folder / BOUNDARIES.name)
    out = tmp_path / "maps"
    out.mkdir()
    files_a = [install_a / GROUPINGS.name, install_a / BOUNDARIES.name]
    files_b = [install_b / GROUPINGS.name, install_b / BOUNDARIES.name]
    manifest = build_manifest(files_a, {"k": 1}, {}, T0, T0 + timedelta(seconds=1))
    write_manifest(manifest, out / MANIFEST_NAME)
    assert is_up_to_date(out / MANIFEST_NAME, files_b, {"k": 1})
    # Content still counts: other bytes, or the same files in other roles, rebuild.
    assert not is_up_to_date(out / MANIFEST_NAME, files_b[::-1], {"k": 1})
    (install_b / GROUPINGS.name).write_text("code,name\n", encoding="utf-8")
    assert not is_up_to_date(out / MANIFEST_NAME, files_b, {"k": 1})


def test_input_roles_name_each_file_so_a_file_in_another_role_rebuilds(tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("x\n1\n", encoding="utf-8")
    as_land = BuildOptions(inputs=Inputs(land_values=table))
    as_pipeline = BuildOptions(inputs=Inputs(pipeline=table))
    assert as_land.input_files() == as_pipeline.input_files()
    assert as_land.input_roles()[-1] == "land_values"
    assert as_pipeline.input_roles()[-1] == "pipeline"
    assert as_land.as_manifest() != as_pipeline.as_manifest()
    both = BuildOptions(
        inputs=Inputs(sites=(table, table), locations=table, pipeline=table),
        config_path=table,
    )
    roles = both.input_roles()
    assert len(roles) == len(both.input_files())
    assert roles[:2] == ["sites", "sites"]
    assert roles[-3:] == ["locations", "pipeline", "config"]
