"""``estates build`` as a cron job runs it: real processes of the installed command.

A scheduled job must print nothing when all is well (cron mails any output),
one line when it fails, no-op when nothing changed (from whatever folder it
runs, after the package is reinstalled elsewhere), and leave the published
set alone when it is interrupted or terminated.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from estates.builder.manifest import MANIFEST_NAME, read_manifest
from estates.builder.publish import store_dir

REPO = Path(__file__).resolve().parents[1]
#: The console script pip installed beside this Python (``estates = estates.cli:run``).
ENTRY_POINT = Path(sys.executable).with_name("estates")

pytestmark = pytest.mark.slow


def run(command: list[str], *, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with only ``pythonpath``'s estates importable, as cron would."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def estates_script(*args: object) -> list[str]:
    """The installed ``estates`` entry point."""
    assert ENTRY_POINT.is_file(), f"{ENTRY_POINT}: install the package (pip install -e .)"
    return [str(ENTRY_POINT), *map(str, args)]


def python_m(*args: object) -> list[str]:
    """``python -m estates``."""
    return [sys.executable, "-m", "estates", *map(str, args)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """estates installed elsewhere, as a wheel lays it out: data in estates/_bundled_data."""
    site = tmp_path_factory.mktemp("site-packages")
    shutil.copytree(
        REPO / "estates", site / "estates", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "data", site / "estates" / "_bundled_data")
    return site


@pytest.fixture(scope="module")
def first(installed: Path, tmp_path_factory: pytest.TempPathFactory):
    """A quiet first build by the other install, from its own folder."""
    home = tmp_path_factory.mktemp("srv")
    out = home / "maps"
    proc = run(python_m("build", "--quiet", "--out", out), cwd=home, pythonpath=installed)
    return proc, out


def snapshot(out: Path) -> tuple[str, bytes]:
    """What is published: the build folder ``out`` links to, and its manifest."""
    return os.path.realpath(out), (out / MANIFEST_NAME).read_bytes()


def test_a_quiet_build_prints_nothing(first, installed):
    proc, out = first
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == ""
    assert (out / "index.html").is_file()
    inputs = read_manifest(out / MANIFEST_NAME)["inputs"]
    assert all(item["key"].startswith("bundled:") for item in inputs)
    assert str(installed) not in json.dumps(inputs)  # no install path in the manifest


def test_after_a_reinstall_from_another_folder_the_rebuild_is_a_silent_no_op(first, tmp_path):
    proc, out = first
    assert proc.returncode == 0, proc.stderr
    before = snapshot(out)
    # The package as installed for development (data in ./data), run from cron's
    # home folder by the installed script.
    again = run(estates_script("build", "--quiet", "--out", out), cwd=tmp_path, pythonpath=REPO)
    assert again.returncode == 0, again.stderr
    assert (again.stdout, again.stderr) == ("", "")
    assert snapshot(out) == before

    # --log-format json: the no-op notice is a JSON record on stderr; stdout is empty.
    logged = run(
        python_m("--log-format", "json", "build", "--out", out), cwd=tmp_path, pythonpath=REPO
    )
    assert logged.returncode == 0, logged.stderr
    assert logged.stdout == ""
    records = [json.loads(line) for line in logged.stderr.splitlines()]
    [notice] = [r for r in records if r.get("status") == "up_to_date"]
    assert notice["message"].endswith(
        "is up to date (inputs and options unchanged); --force rebuilds"
    )
    assert [r for r in records if "nothing to do" in r["message"]] == []  # one notice
    assert snapshot(out) == before


def test_a_failing_quiet_run_prints_one_line(first, tmp_path):
    proc, out = first
    assert proc.returncode == 0, proc.stderr
    before = snapshot(out)
    failed = run(
        estates_script("build", "--quiet", "--out", out, "--sites", "mine.csv"),
        cwd=tmp_path,
        pythonpath=REPO,
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr == "estates: error: --sites mine.csv: no such file\n"
    assert snapshot(out) == before


def _build_until_staging(
    out: Path, cwd: Path, env: dict[str, str], **popen: Any
) -> subprocess.Popen[str]:
    """Start a build of ``out`` that would publish another set; return it once it stages."""
    # Another target: this build would publish a different set.
    command = estates_script("build", "--quiet", "--force", "--target-gbp", "5e9", "--out", out)
    # As from a terminal: a test run started in the background has SIGINT ignored,
    # which a child inherits, and Python then never turns Ctrl-C into
    # KeyboardInterrupt. A Python-level handler here is reset to the default in the child.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        build = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not list(store_dir(out).glob("staging-*")):
        assert build.poll() is None, build.communicate()
        assert time.monotonic() < deadline, "the build never started staging"
        time.sleep(0.01)
    return build


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [
        (signal.SIGTERM, 143, "estates: terminated; nothing was published"),
        (signal.SIGINT, 130, "estates: interrupted; nothing was published"),
    ],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_a_signal_mid_build_keeps_the_published_set_and_leaves_no_staging(
    first, tmp_path, signum, code, line
):
    proc, out = first
    assert proc.returncode == 0, proc.stderr
    before = snapshot(out)
    build = _build_until_staging(out, tmp_path, {**os.environ, "PYTHONPATH": str(REPO)})
    build.send_signal(signum)
    stdout, stderr = build.communicate(timeout=120)
    assert build.returncode == code, stderr
    assert stdout == ""
    assert stderr == line + "\n"
    assert list(store_dir(out).glob("staging-*")) == []
    assert snapshot(out) == before
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["target_gbp"] == 11e9


def _marked(mark: str) -> list[int]:
    """Return the processes whose environment holds ``mark`` (it passes to their children)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if mark.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
    return found


def test_ctrl_c_at_the_terminal_stops_every_process_of_the_build(first, tmp_path):
    # A terminal's Ctrl-C reaches its whole process group; the build stops the
    # second process drawing its pictures. One line, exit 130, nothing left.
    proc, out = first
    assert proc.returncode == 0, proc.stderr
    before = snapshot(out)
    token = uuid.uuid4().hex
    mark = f"ESTATES_TEST_MARK={token}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "ESTATES_TEST_MARK": token}
    build = _build_until_staging(out, tmp_path, env, start_new_session=True)
    # The build and, given two cores, the second process drawing its pictures.
    assert len(_marked(mark)) == (2 if len(os.sched_getaffinity(0)) >= 2 else 1)
    os.killpg(build.pid, signal.SIGINT)
    stdout, stderr = build.communicate(timeout=120)
    assert build.returncode == 130, stderr
    assert (stdout, stderr) == ("", "estates: interrupted; nothing was published\n")
    assert list(store_dir(out).glob("staging-*")) == []
    assert snapshot(out) == before
    # No process of the build is left behind: none carries its mark.
    deadline = time.monotonic() + 30
    while _marked(mark):
        assert time.monotonic() < deadline, f"a process of the build outlived it: {_marked(mark)}"
        time.sleep(0.05)


def test_json_logs_are_every_line_and_stdout_stays_empty(tmp_path):
    out = tmp_path / "maps"
    proc = run(
        python_m("build", "--out", out, "--log-format", "json"), cwd=tmp_path, pythonpath=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    reports = [r for r in records if r.get("event") == "report"]
    assert reports[0]["status"] == "published"
    assert reports[0]["message"].startswith("published ")
    assert "185 records in = 185 kept + 0 rejected" in reports[0]["message"]
    headline = [r["message"] for r in reports if r.get("headline")]
    assert headline[0].startswith("London: 121.8 ha not delivering services at 17 sites")
    assert headline[-1].startswith("values: MHCLG 2017 policy-appraisal")
