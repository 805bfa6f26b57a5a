"""Atomic publication of the output set: real folders, links and processes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from estates.builder.lock import acquire_lock
from estates.builder.publish import (
    HISTORY_NAME,
    current_build,
    prune_builds,
    publish,
    safe_child,
    staged_output,
    store_dir,
)
from estates.errors import ConfigError, EstatesError

REPO = Path(__file__).resolve().parents[2]
NAMES = ("index.html", "sites.csv", "pilot-NCL.html", "pilot-SEL.html", "manifest.json")


def body(version: str, name: str, *, size: int = 200_000) -> str:
    """Content of file ``name`` in set ``version``: large, and unique to both."""
    if name == "manifest.json":
        # As a build writes it: every other file listed with its SHA-256.
        outputs = [
            {"path": n, "sha256": hashlib.sha256(body(version, n, size=size).encode()).hexdigest()}
            for n in sorted(NAMES)
            if n != "manifest.json"
        ]
        return json.dumps({"tool": "estates", "version": version, "outputs": outputs}) + "\n"
    line = f"{version}:{name}\n"
    return line * (size // len(line))


def write_set(folder: Path, version: str, *, size: int = 200_000) -> None:
    for name in NAMES:
        safe_child(folder, name).write_text(body(version, name, size=size), encoding="utf-8")


def publish_set(out: Path, version: str, **kwargs) -> Path:
    with staged_output(out) as staging:
        write_set(staging, version)
        return publish(out, staging, **kwargs)


def assert_set(folder: Path, version: str) -> None:
    """Every file of ``version`` is there, complete, and nothing else."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)
    for name in NAMES:
        assert (folder / name).read_text(encoding="utf-8") == body(version, name), name


def store_entries(out: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in store_dir(out).iterdir() if p.name.startswith(prefix))


# --- safe_child --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("", "not a file name"),
        (".", "not a file name"),
        ("..", "not a file name"),
        ("../escape.html", "must not contain '/'"),
        ("pilots/NCL.html", "must not contain '/'"),
        ("/etc/passwd", "must not contain '/'"),
        ("..\\escape.html", "must not contain"),
        ("a\0b.html", "NUL"),
        ("a\nb.html", "control characters"),
        ("x" * 256, "longer than 255 bytes"),
    ],
)
def test_safe_child_refuses(tmp_path, name, match):
    with pytest.raises(EstatesError, match=match):
        safe_child(tmp_path, name)


def test_safe_child_refuses_a_link_out_of_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "pilot-X.html").symlink_to(tmp_path / "elsewhere.html")
    with pytest.raises(EstatesError, match="outside the output folder"):
        safe_child(out, "pilot-X.html")
    assert not (tmp_path / "elsewhere.html").exists()


@pytest.mark.parametrize("name", ["pilot-NCL.html", "Tower Hamlets.html", "ünï.csv", ".hidden"])
def test_safe_child_accepts_plain_names(tmp_path, name):
    assert safe_child(tmp_path, name) == tmp_path / name


# --- publishing --------------------------------------------------------------


def test_first_publish_makes_a_relative_link(tmp_path):
    out = tmp_path / "maps"
    assert current_build(out) is None
    build = publish_set(out, "v1")
    assert out.is_symlink()
    assert not Path(os.readlink(out)).is_absolute()
    assert current_build(out) == build
    assert build.parent == store_dir(out) == tmp_path / ".maps.estates"
    assert build.name.startswith("build-")
    assert_set(out, "v1")
    assert store_entries(out, "staging-") == []


def test_the_link_survives_moving_the_parent_folder(tmp_path):
    publish_set(tmp_path / "a" / "maps", "v1")
    (tmp_path / "a").rename(tmp_path / "b")
    assert_set(tmp_path / "b" / "maps", "v1")


def test_publish_keeps_the_previous_set_and_prunes_older(tmp_path):
    out = tmp_path / "maps"
    first = publish_set(out, "v1")
    second = publish_set(out, "v2")
    assert_set(first, "v1")  # kept as the previous set
    third = publish_set(out, "v3")
    assert not first.exists()
    assert_set(second, "v2")
    assert_set(out, "v3")
    assert current_build(out) == third
    assert store_entries(out, "build-") == sorted([second.name, third.name])
    history = json.loads((store_dir(out) / HISTORY_NAME).read_text())
    assert history == {"published": [second.name, third.name]}


def test_keep_one_and_keep_three(tmp_path):
    out = tmp_path / "maps"
    builds = [publish_set(out, f"v{i}", keep=3) for i in range(4)]
    assert [b.exists() for b in builds] == [False, True, True, True]
    last = publish_set(out, "v4", keep=1)
    assert store_entries(out, "build-") == [last.name]


@pytest.mark.parametrize("keep", [0, -1, 1.5, True])
def test_bad_keep_is_refused(tmp_path, keep):
    with pytest.raises(ConfigError, match="keep must be an integer of at least 1"):
        publish_set(tmp_path / "maps", "v1", keep=keep)


def test_failed_check_leaves_the_old_set_and_removes_staging(tmp_path, caplog):
    out = tmp_path / "maps"
    old = publish_set(out, "v1")
    seen = []

    def check(folder: Path) -> None:
        seen.append(folder)
        assert_set(folder, "v2")
        raise EstatesError("sites.csv has 0 rows; expected at least 1")

    with pytest.raises(EstatesError, match="0 rows"):
        publish_set(out, "v2", check=check)
    assert seen
    assert not seen[0].exists()
    assert current_build(out) == old
    assert_set(out, "v1")
    assert store_entries(out, "staging-") == []
    assert store_entries(out, "build-") == [old.name]
    assert "nothing published" in caplog.text


def test_a_bug_in_the_check_also_leaves_the_old_set(tmp_path):
    out = tmp_path / "maps"
    publish_set(out, "v1")

    def check(folder: Path) -> None:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        publish_set(out, "v2", check=check)
    assert_set(out, "v1")
    assert store_entries(out, "staging-") == []


def fail_inside_staged_output(out: Path) -> None:
    with staged_output(out) as staging:
        write_set(staging, "v3")
        raise RuntimeError("render failed")


def test_staged_output_discards_unpublished_work(tmp_path):
    out = tmp_path / "maps"
    publish_set(out, "v1")
    with staged_output(out) as staging:
        write_set(staging, "v2")
    assert not staging.exists()
    with pytest.raises(RuntimeError, match="render failed"):
        fail_inside_staged_output(out)
    assert store_entries(out, "staging-") == []
    assert_set(out, "v1")
    assert store_entries(out, "staging-") == []


def test_publish_refuses_a_foreign_folder_as_staging(tmp_path):
    out = tmp_path / "maps"
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ValueError, match="not a staging folder"):
        publish(out, other)
    with (
        staged_output(tmp_path / "tables") as staging,
        pytest.raises(ValueError, match="not a staging folder of"),
    ):
        publish(out, staging)


def test_out_must_name_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="must name a folder"):
        store_dir(tmp_path / "..")


# --- migrating a real output folder -----------------------------------------


def test_migrates_an_old_style_estates_folder(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    write_set(out, "v0")
    assert current_build(out) == out
    build = publish_set(out, "v1")
    assert out.is_symlink()
    assert_set(out, "v1")
    previous = [store_dir(out) / n for n in store_entries(out, "build-") if n != build.name]
    assert len(previous) == 1
    assert_set(previous[0], "v0")


def test_migrates_an_empty_folder(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    publish_set(out, "v1")
    assert out.is_symlink()
    assert_set(out, "v1")
    assert len(store_entries(out, "build-")) == 1


def test_refuses_a_user_folder_and_leaves_it_alone(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(EstatesError, match=r"maps/ is not an estates output folder \(it has no"):
        publish_set(out, "v1")
    assert not out.is_symlink()
    assert (out / "thesis.docx").read_text() == "years of work"
    assert current_build(out) is None


def test_refuses_a_folder_with_files_the_manifest_does_not_list(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    (out / "index.html").write_text("<html>")
    (out / "notes.txt").write_text("mine")
    digest = hashlib.sha256(b"<html>").hexdigest()
    manifest = {"tool": "estates", "outputs": [{"path": "index.html", "sha256": digest}]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EstatesError, match=r"files no estates build wrote: notes\.txt"):
        publish_set(out, "v1")
    assert (out / "notes.txt").read_text() == "mine"


def test_refuses_a_manifest_from_another_tool(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    (out / "manifest.json").write_text('{"name": "my-web-app"}')
    with pytest.raises(EstatesError, match="not written by estates"):
        publish_set(out, "v1")


def test_refuses_a_file_and_a_foreign_link(tmp_path):
    out = tmp_path / "maps"
    out.write_text("not a folder")
    with pytest.raises(EstatesError, match="is a file"):
        publish_set(out, "v1")
    out.unlink()
    (tmp_path / "www").mkdir()
    out.symlink_to(tmp_path / "www")
    with pytest.raises(EstatesError, match="is a link to"):
        publish_set(out, "v1")
    assert Path(os.readlink(out)) == tmp_path / "www"


def test_replaces_a_dangling_link_into_the_store(tmp_path):
    out = tmp_path / "maps"
    first = publish_set(out, "v1")
    for path in first.iterdir():
        path.unlink()
    first.rmdir()
    assert current_build(out) is None
    publish_set(out, "v2")
    assert_set(out, "v2")


# --- leftovers ---------------------------------------------------------------


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    out = tmp_path / "maps"
    publish_set(out, "v1")
    store = store_dir(out)
    dead = store / f"staging-20200101T000000.000000Z-{dead_pid()}-0badf00d"
    dead.mkdir()
    (dead / "index.html").write_text("half")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live_proc:
        try:
            live = store / f"staging-20200101T000000.000000Z-{live_proc.pid}-00c0ffee"
            live.mkdir()
            removed = prune_builds(out)
            assert removed == [dead]
            assert live.is_dir()
        finally:
            live_proc.kill()
    assert_set(out, "v1")


# --- killed runs -------------------------------------------------------------

RUNNER = textwrap.dedent(
    """
    import hashlib, json, os, shutil, signal, sys
    from pathlib import Path

    import estates.builder.publish as pub
    from estates.builder.lock import acquire_lock

    out, point, version = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    NAMES = {names!r}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def body(name):
        if name == "manifest.json":
            outputs = [
                {{"path": n, "sha256": hashlib.sha256(body(n).encode()).hexdigest()}}
                for n in sorted(NAMES)
                if n != "manifest.json"
            ]
            return json.dumps({{"tool": "estates", "version": version, "outputs": outputs}}) + "\\n"
        line = f"{{version}}:{{name}}\\n"
        return line * (200_000 // len(line))

    def check(folder):
        if point == "in_check":
            die()

    if point == "before_swap":
        pub._swap_link = lambda *a, **k: die()
    elif point == "mid_swap":
        real_replace = os.replace
        def replace(src, dst, **kwargs):
            if Path(dst) == out.absolute():
                die()
            return real_replace(src, dst, **kwargs)
        os.replace = replace
    elif point == "after_swap":
        pub._record_history = lambda *a, **k: die()
    elif point == "mid_prune":
        def rmtree(path, *args, **kwargs):
            next(p for p in Path(path).iterdir() if p.is_file()).unlink()
            die()
        shutil.rmtree = rmtree

    with acquire_lock(out, wait_s=0), pub.staged_output(out) as staging:
        for i, name in enumerate(NAMES):
            if point == "mid_write" and i == 2:
                with open(staging / name, "w") as f:
                    f.write(body(name)[:5000])
                    f.flush()
                    die()
            (staging / name).write_text(body(name))
        pub.publish(out, staging, check=check)
    print("finished without being killed")
    """
).format(names=NAMES)

BEFORE_SWAP = ["mid_write", "in_check", "before_swap", "mid_swap"]
AFTER_SWAP = ["after_swap", "mid_prune"]


@pytest.mark.parametrize("point", BEFORE_SWAP + AFTER_SWAP)
def test_a_killed_run_never_damages_the_published_set(tmp_path, caplog, point):
    out = tmp_path / "maps"
    publish_set(out, "v0")
    v1 = publish_set(out, "v1")
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with subprocess.Popen(
        [sys.executable, str(script), str(out), point, "v2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as proc:
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, output

    # What a reader sees now: one complete set, never a mix.
    if point in BEFORE_SWAP:
        assert current_build(out) == v1
        assert_set(out, "v1")
        previous = v1
    else:
        assert_set(out, "v2")
        assert_set(v1, "v1")  # the previous set is intact too
        previous = current_build(out)

    # The next run takes the lock, says it was stale, publishes and cleans up.
    with caplog.at_level(logging.INFO, logger="estates"), acquire_lock(out, wait_s=5):
        v3 = publish_set(out, "v3")
    assert f"cleared a stale lock left by pid {proc.pid} " in caplog.text
    assert_set(out, "v3")
    assert current_build(out) == v3
    assert_set(previous, "v2" if point in AFTER_SWAP else "v1")
    assert store_entries(out, "build-") == sorted([previous.name, v3.name])
    leftovers = [
        n for n in os.listdir(store_dir(out)) if n.split("-")[0] in {"staging", "link", "tmp"}
    ]
    assert leftovers == []
    assert sorted(os.listdir(tmp_path)) == [".maps.estates", "maps", "runner.py"]


# --- readers during publication ---------------------------------------------


def test_readers_always_see_one_complete_set(tmp_path):
    out = tmp_path / "maps"
    size = 50_000
    with staged_output(out) as staging:
        write_set(staging, "v0", size=size)
        publish(out, staging)
    versions = [f"v{i}" for i in range(25)]
    expected = {(v, n): body(v, n, size=size) for v in versions for n in NAMES}
    done = threading.Event()
    problems: list[str] = []
    reads = [0]

    def reader() -> None:
        while not done.is_set():
            # A file opened through the link is one whole version.
            text = (out / "sites.csv").read_text(encoding="utf-8")
            version = text.split(":", 1)[0]
            if expected.get((version, "sites.csv")) != text:
                problems.append(f"partial or mixed sites.csv ({len(text)} chars)")
            # Resolving the link once pins one set for several files.
            pinned = Path(os.path.realpath(out))
            try:
                texts = {n: (pinned / n).read_text(encoding="utf-8") for n in NAMES}
            except FileNotFoundError:
                continue  # pruned after keep=3 newer publications: allowed
            version = texts["index.html"].split(":", 1)[0]
            if any(expected.get((version, n)) != t for n, t in texts.items()):
                problems.append(f"mixed set in {pinned.name}")
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in versions[1:]:
            with staged_output(out, keep=3) as staging:
                write_set(staging, version, size=size)
                publish(out, staging, keep=3)
    finally:
        done.set()
        thread.join(timeout=60)
    assert problems == []
    assert reads[0] > 0, reads
    assert (out / "index.html").read_text() == expected[(versions[-1], "index.html")]


# --- the store owns only what its manifests list ------------------------------------


def test_a_file_saved_into_the_published_folder_is_carried_into_each_new_set(tmp_path):
    out = tmp_path / "maps"
    publish_set(out, "v1")
    (out / "sites.xlsx").write_bytes(b"PK\x03\x04 an Excel Save As")
    (out / "notes.txt").write_text("call the trust on Monday")
    for version in ("v2", "v3", "v4"):  # v1's build is pruned along the way
        publish_set(out, version)
        assert (out / "notes.txt").read_text() == "call the trust on Monday"
        assert (out / "sites.xlsx").read_bytes() == b"PK\x03\x04 an Excel Save As"
        assert (out / "index.html").read_text(encoding="utf-8") == body(version, "index.html")
    assert len(store_entries(out, "build-")) == 2


def test_a_users_file_in_an_old_build_is_never_pruned(tmp_path, caplog):
    out = tmp_path / "maps"
    publish_set(out, "v1")
    publish_set(out, "v2")
    old = next(
        store_dir(out) / n
        for n in store_entries(out, "build-")
        if (store_dir(out) / n) != out.resolve()
    )
    (old / "analysis.txt").write_text("saved into the previous set")
    with caplog.at_level(logging.WARNING, logger="estates"):
        publish_set(out, "v3")
        publish_set(out, "v4")
    assert (old / "analysis.txt").read_text() == "saved into the previous set"
    assert "holds files estates did not write (analysis.txt)" in caplog.text


def test_a_users_file_named_like_a_new_output_stops_publication(tmp_path):
    out = tmp_path / "maps"
    with staged_output(out) as staging:
        write_set(staging, "v1")
        publish(out, staging)
    (out / "pilot-XYZ.html").write_text("my own page")
    with staged_output(out) as staging:
        write_set(staging, "v2")
        safe_child(staging, "pilot-XYZ.html").write_text("new page")
        with pytest.raises(EstatesError, match=r"pilot-XYZ\.html was not written by estates"):
            publish(out, staging)
    assert_set_plus = sorted(p.name for p in out.iterdir())
    assert "pilot-XYZ.html" in assert_set_plus
    assert (out / "pilot-XYZ.html").read_text() == "my own page"
    assert (out / "index.html").read_text(encoding="utf-8") == body("v1", "index.html")


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({"tool": "estates"}, "does not list the files estates wrote"),
        ({"tool": "estates", "outputs": [{"path": "index.html"}]}, "does not list the files"),
        ({"tool": "estates", "outputs": "index.html"}, "does not list the files"),
    ],
)
def test_refuses_to_adopt_a_folder_whose_manifest_lists_no_hashes(tmp_path, manifest, reason):
    out = tmp_path / "maps"
    out.mkdir()
    (out / "index.html").write_text("<html>")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EstatesError, match=reason):
        publish_set(out, "v1")
    assert (out / "index.html").read_text() == "<html>"
    assert not out.is_symlink()


def test_refuses_to_adopt_a_folder_whose_listed_file_was_edited(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    write_set(out, "v0")
    (out / "sites.csv").write_text("edited by hand")
    with pytest.raises(EstatesError, match=r"sites\.csv was changed after estates wrote it"):
        publish_set(out, "v1")
    assert (out / "sites.csv").read_text() == "edited by hand"
