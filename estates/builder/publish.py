"""Publish a whole output set at once, so a reader never sees a mix.

The output folder the user names (``maps/``) is a symbolic link to one
complete build in a hidden store beside it::

    maps -> .maps.estates/builder-20261124T100000.000000Z-1234-9f3a2c1b
    .maps.estates/
        build-20261117T100000.000000Z-1200-0c1d2e3f/   the previous set
        build-20261124T100000.000000Z-1234-9f3a2c1b/   the current set
        staging-20261201T100000.000000Z-1300-77aa88bb/ a run in progress
        history.json                                   published builds, oldest first
        lock                                           see :mod:`estates.builder.lock`

A run writes into a fresh ``staging-*`` folder, lets the caller check it, makes
it durable (fsync), renames it to ``build-*`` and then swaps the link with one
atomic :func:`os.replace` of a new symbolic link over the old one. Whoever opens
``maps/index.html`` gets either the old file or the new one, complete. A run
that fails or is killed before the swap leaves the published set untouched; its
leftovers are removed by the next run. Old builds are pruned after the swap,
keeping the previous one for comparison and rollback.

POSIX only (symbolic links, ``fsync`` on folders); the store is a sibling of
the output folder, so every rename stays on one filesystem.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from estates.builder.manifest import MANIFEST_NAME, hash_file
from estates.builder.owned import (
    carry_foreign_files,
    holds_uncarried_files,
    listed_outputs,
    unlisted_files,
)
from estates.builder.stopping import raise_if_stopped
from estates.errors import ConfigError, EstatesError
from estates.logs import counted

__all__ = [
    "current_build",
    "prune_builds",
    "publish",
    "safe_child",
    "staged_output",
    "store_dir",
    "sync_tree",
]

log = logging.getLogger(__name__)

#: Name of the file in the store listing published builds, oldest first.
HISTORY_NAME = "history.json"

#: Entries of the store this module owns: ``<kind>-<UTC stamp>-<pid>-<random>``.
_ENTRY_RE = re.compile(
    r"^(?P<kind>staging|build|link|tmp)-(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-(?P<pid>\d+)-[0-9a-f]{8}$"
)
#: A store folder: ``.<out name>.estates``.
_STORE_RE = re.compile(r"^\.(?P<out>.+)\.estates$")
#: Characters an output folder's path may not hold: GDAL, shells and logs break on them.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")
#: Longest file name most filesystems accept, in bytes.
_NAME_MAX = 255


def safe_child(out_dir: Path | str, name: str) -> Path:
    """Return ``out_dir / name``, refusing any name that could write elsewhere.

    Use it for every file a build writes whose name comes from data (a pilot
    id, a borough name): the name must be one plain path component.

    Parameters
    ----------
    out_dir : pathlib.Path or str
        The folder the file must stay in. It need not exist yet.
    name : str
        A single file or folder name, e.g. ``"pilot-NCL.html"``.

    Returns
    -------
    pathlib.Path
        ``out_dir / name``. Nothing is created.

    Raises
    ------
    EstatesError
        If ``name`` is empty, ``.`` or ``..``, contains a slash or backslash, a
        NUL or another control character, is absolute, is longer than 255 bytes,
        or resolves outside ``out_dir`` (e.g. through a symbolic link).

    Examples
    --------
    >>> safe_child("maps", "pilot-NCL.html").as_posix()
    'maps/pilot-NCL.html'
    >>> safe_child("maps", "../index.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estates.errors.EstatesError: refusing to write '../index.html' in maps: a file name must ...
    """
    if not isinstance(name, str):
        raise TypeError(f"file name must be a str, not {type(name).__name__}")
    where = os.fspath(out_dir)
    fix = "rename it in the input data"
    if name in {"", ".", ".."}:
        raise EstatesError(f"refusing to write {name!r} in {where}: not a file name; {fix}")
    if "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        raise EstatesError(
            f"refusing to write {name!r} in {where}: a file name must not contain '/' or '\\'; "
            f"{fix}"
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise EstatesError(
            f"refusing to write {name!r} in {where}: a file name must not contain NUL or "
            f"other control characters; {fix}"
        )
    if os.path.isabs(name):
        raise EstatesError(f"refusing to write {name!r} in {where}: absolute path; {fix}")
    if len(os.fsencode(name)) > _NAME_MAX:
        raise EstatesError(
            f"refusing to write {name[:40]!r}... in {where}: the name is longer than "
            f"{_NAME_MAX} bytes; {fix}"
        )
    base = Path(out_dir)
    child = base / name
    resolved_base = base.resolve()
    if not child.resolve().is_relative_to(resolved_base):
        raise EstatesError(
            f"refusing to write {name!r} in {where}: it resolves to {child.resolve()}, outside "
            f"the output folder; remove the link or {fix}"
        )
    return child


def store_dir(out: Path | str) -> Path:
    """Return the hidden store that holds the builds behind ``out``.

    Parameters
    ----------
    out : pathlib.Path or str
        The output folder as the user names it, e.g. ``maps``.

    Returns
    -------
    pathlib.Path
        The absolute path of ``.<name>.estates`` beside ``out``. Nothing is
        created.

    Raises
    ------
    ConfigError
        If ``out`` does not name a folder (``""``, ``.``, ``..``, ``/``).

    Examples
    --------
    >>> store_dir("/srv/reports/maps").as_posix()
    '/srv/reports/.maps.estates'
    """
    out = _normalise_out(out)
    return out.parent / f".{out.name}.estates"


def current_build(out: Path | str) -> Path | None:
    """Return the folder holding the set published at ``out``, if any.

    Use it before a build to compare against the previous published set. The
    path is that of the build folder itself, so it stays valid (and complete)
    while a new set is published, until it is pruned.

    Parameters
    ----------
    out : pathlib.Path or str
        The output folder, e.g. ``maps``.

    Returns
    -------
    pathlib.Path or None
        The build folder ``out`` links to; ``out`` itself if it is a real
        folder that an earlier estates build wrote (before publishing used
        links); ``None`` if nothing was published yet.
    """
    out = _normalise_out(out)
    store = store_dir(out)
    name = _pointed_name(out, store)
    if name is not None:
        build = store / name
        return build if build.is_dir() else None
    if out.is_dir() and not out.is_symlink() and any(out.iterdir()):
        return out if _not_estates_output(out) is None else None
    return None


@contextlib.contextmanager
def staged_output(out: Path | str, *, keep: int = 2) -> Iterator[Path]:
    """Give a fresh, empty staging folder to build the next set of ``out`` in.

    On entry, leftovers of killed runs are removed and ``out`` is checked: it
    must be missing, a link this module made, or a folder an earlier estates
    build wrote, so a bad ``--out`` fails before the work starts. Nothing is
    published on exit: call :func:`publish` inside the block. If the block
    ends without publishing, or raises, the staging folder is removed and the
    published set is left as it was.

    Parameters
    ----------
    out : pathlib.Path or str
        The output folder, e.g. ``maps``. Its parent is created if missing.
    keep : int, default 2
        Published builds to keep when pruning leftovers (see
        :func:`prune_builds`).

    Yields
    ------
    pathlib.Path
        The absolute path of the staging folder. Write files with
        :func:`safe_child`.

    Raises
    ------
    EstatesError
        If ``out`` is a file, a foreign link, or a folder estates did not
        write, or the store cannot be created.
    ConfigError
        If ``keep`` is below 1.

    See Also
    --------
    publish : check the staging folder and publish it.
    estates.builder.lock.acquire_lock : hold this around the whole run.
    """
    _check_keep(keep)
    out = _normalise_out(out)
    _check_replaceable(out)
    prune_builds(out, keep=keep)
    # The folder is made inside the try: a Ctrl-C or SIGTERM that lands just after
    # mkdir (a loaded machine can pause the process there) still removes it.
    staging = _ensure_store(out) / _entry_name("staging")
    try:
        staging.mkdir()
        yield staging
    finally:
        # publish() renames the folder, so it only remains if it was not published.
        if staging.exists():
            log.debug("discarded unpublished staging folder %s", staging.name)
            _remove_entry(staging)


def publish(
    out: Path | str,
    staging: Path | str,
    *,
    check: Callable[[Path], object] | None = None,
    keep: int = 2,
) -> Path:
    """Check a staging folder and publish it as the new set at ``out``.

    Steps: run ``check(staging)``; fsync every file and folder; rename the
    staging folder to ``build-*``; if ``out`` is an old-style real folder, move
    it into the store as the previous build; atomically replace ``out`` with a
    link to the new build; fsync the parent folder; record the build in the
    store's history; prune old builds. A reader opening ``out/<file>`` sees the
    old set until the swap and the new one after, each complete.

    Parameters
    ----------
    out : pathlib.Path or str
        The output folder, e.g. ``maps``.
    staging : pathlib.Path or str
        The folder yielded by :func:`staged_output` for this ``out``.
    check : callable, optional
        Called with the staging folder before anything is published; it
        raises (preferably :class:`EstatesError`) to stop publication. Its
        return value is ignored.
    keep : int, default 2
        Published builds to keep, counting the new one; 2 keeps the previous
        set too. The current build is never deleted.

    Returns
    -------
    pathlib.Path
        The new build folder, which ``out`` now links to. The ``staging`` path
        no longer exists.

    Raises
    ------
    EstatesError
        Whatever ``check`` raised, or if ``out`` is not an estates output
        folder. The published set is untouched and the staging folder removed.
    ValueError
        If ``staging`` is not a staging folder of ``out``.
    OSError
        If the filesystem fails (disk full, permissions) before the swap; the
        published set is untouched. After the swap, failures to record or
        prune builds are logged as warnings.

    See Also
    --------
    staged_output : get the staging folder.
    current_build : the build ``out`` links to.
    """
    _check_keep(keep)
    out = _normalise_out(out)
    store = store_dir(out)
    staging = Path(os.path.abspath(staging))
    match = _ENTRY_RE.match(staging.name)
    if staging.parent != store or match is None or match["kind"] != "staging":
        raise ValueError(f"{staging} is not a staging folder of {out}; use staged_output()")
    if not staging.is_dir():
        raise ValueError(f"staging folder {staging} does not exist; was it published already?")

    try:
        _check_replaceable(out)
        if check is not None:
            check(staging)
        published = _pointed_name(out, store)
        if published is not None and (store / published).is_dir():
            carry_foreign_files(store / published, staging, out)
        n_files = sync_tree(staging)
        build = _finalise_staging(staging)
    except BaseException:
        log.warning("nothing published; %s still shows the previous set", _display(out))
        _remove_entry(staging)
        raise
    retired = None
    try:
        # The last moment to stop: a signal whose exception a library dropped stops here.
        raise_if_stopped()
        retired = _retire_real_folder(out, store)
        previous = retired if retired is not None else _pointed_name(out, store)
        _swap_link(out, store, build)
    except BaseException:
        # The swap did not happen: put back an old-style folder we moved away.
        if retired is not None and not out.exists() and not out.is_symlink():
            (store / retired).rename(out)
        _remove_entry(build)
        raise

    log.info(
        "published %s to %s (%s)",
        counted(n_files, "file"),
        _display(out),
        build.name,
        extra={"stage": "publish", "counts": {"files": n_files}},
    )
    # The new set is live: bookkeeping problems from here on are only warnings.
    try:
        _record_history(store, previous, build.name)
        prune_builds(out, keep=keep)
    except OSError as exc:
        log.warning("published, but could not tidy %s: %s", store.name, exc)
    return build


def prune_builds(out: Path | str, *, keep: int = 2) -> list[Path]:
    """Remove old builds and the leftovers of killed runs from the store.

    Kept: the build ``out`` links to, and the ``keep - 1`` most recently
    published builds before it. Removed: every other published build, and
    staging folders, unpublished builds, temporary links and files left by
    runs whose process is gone. Unpublished entries of another process that
    is still running are never touched, nor are staging folders of this
    process (an open :func:`staged_output`). A failure to remove one entry is
    logged as a warning, not raised.

    Parameters
    ----------
    out : pathlib.Path or str
        The output folder, e.g. ``maps``.
    keep : int, default 2
        Published builds to keep, counting the current one.

    Returns
    -------
    list of pathlib.Path
        The entries removed.

    Raises
    ------
    ConfigError
        If ``keep`` is below 1.
    """
    _check_keep(keep)
    out = _normalise_out(out)
    store = store_dir(out)
    if not store.is_dir():
        return []
    current = _pointed_name(out, store)
    entries = {}
    with os.scandir(store) as it:
        for entry in it:
            match = _ENTRY_RE.match(entry.name)
            if match is not None:
                entries[entry.name] = match
    history = _read_history(store)
    recorded = set(history or ())
    if history is None:
        history = sorted(name for name, m in entries.items() if m["kind"] == "build")
    previous = [name for name in history if name in entries and name != current]
    kept = set(previous[-(keep - 1) :]) if keep > 1 else set()
    if current is not None:
        kept.add(current)

    current_dir = store / current if current is not None else None
    me = os.getpid()
    removed = []
    for name, match in sorted(entries.items()):
        if name in kept:
            continue
        pid = int(match["pid"])
        if name not in recorded:  # not published: maybe still in use
            if pid != me and _pid_alive(pid):
                continue  # another run is working on it
            if pid == me and match["kind"] == "staging":
                continue  # an open staged_output() of this process
        if match["kind"] == "build" and holds_uncarried_files(store / name, current_dir):
            continue
        if _remove_entry(store / name):
            removed.append(store / name)

    new_history = [name for name in history if (store / name).exists()]
    if new_history != history:
        _write_history(store, new_history)
    if removed:
        log.info(
            "removed %d old or unfinished builds from %s",
            len(removed),
            store.name,
            extra={"stage": "prune", "counts": {"removed": len(removed)}},
        )
    return removed


# --- helpers ---------------------------------------------------------------


def _normalise_out(out: Path | str) -> Path:
    """Return ``out`` as an absolute path without resolving its last part."""
    path = Path(out)
    if path.name in {"", ".", ".."}:
        raise ConfigError(f"output folder {os.fspath(out)!r} must name a folder, e.g. 'maps'")
    if _CONTROL_RE.search(os.fspath(out)):
        raise ConfigError(
            f"output folder {os.fspath(out)!r} contains a control character (a line break, "
            "tab or escape); choose a name without one"
        )
    absolute = Path(os.path.abspath(path))
    store = _STORE_RE.match(absolute.parent.name)
    if store is not None and _ENTRY_RE.match(absolute.name):
        real = absolute.parent.parent / store["out"]
        raise ConfigError(
            f"output folder {os.fspath(out)!r} is a build inside the store of {_display(real)}; "
            f"use --out {real} instead"
        )
    return absolute


def _display(out: Path) -> str:
    """Return ``out`` for messages, as a folder: ``maps/``."""
    return f"{os.fspath(out).rstrip('/')}/"


def _check_keep(keep: int) -> None:
    """Raise ConfigError unless ``keep`` is an integer of at least 1."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ConfigError(
            f"keep must be an integer of at least 1 (the current build), not {keep!r}"
        )


def _ensure_store(out: Path) -> Path:
    """Create the store (and the output's parent folder) if missing."""
    store = store_dir(out)
    try:
        store.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise EstatesError(
            f"cannot use {store} to store builds: a file is in the way; move it away"
        ) from exc
    except OSError as exc:
        raise EstatesError(f"cannot create {store}: {exc.strerror}") from exc
    return store


def _entry_name(kind: str) -> str:
    """Return a fresh entry name: kind, UTC time, pid and 8 random hex digits."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{kind}-{stamp}-{os.getpid()}-{secrets.token_hex(4)}"


def _pointed_name(out: Path, store: Path) -> str | None:
    """Return the store entry ``out`` links to, or None if it links elsewhere."""
    if not out.is_symlink():
        return None
    target = Path(os.readlink(out))
    if not target.is_absolute():
        target = out.parent / target
    if os.path.realpath(target.parent) != os.path.realpath(store):
        return None
    if _ENTRY_RE.match(target.name) is None:
        return None
    return target.name


def _check_replaceable(out: Path) -> None:
    """Raise EstatesError unless publishing may replace whatever is at ``out``."""
    if out.is_symlink():
        if _pointed_name(out, store_dir(out)) is None:
            raise EstatesError(
                f"{_display(out)} is a link to {os.readlink(out)}, not to an estates build in "
                f"{store_dir(out).name}/; refusing to replace it. Remove the link or choose "
                "another output folder"
            )
        return
    if not out.exists():
        return
    if not out.is_dir():
        raise EstatesError(
            f"{out} is a file, not an output folder; refusing to replace it. Move it away or "
            "choose another output folder"
        )
    reason = _not_estates_output(out)
    if reason is not None:
        raise EstatesError(
            f"{_display(out)} is not an estates output folder ({reason}); refusing to replace "
            "it. Move it away or choose another output folder"
        )


def _not_estates_output(folder: Path) -> str | None:
    """Return why ``folder`` is not an estates output folder, or None if it is.

    An empty folder qualifies. Otherwise it must hold the ``manifest.json`` an
    estates build writes and, if that lists its outputs, nothing else.
    """
    if not any(folder.iterdir()):
        return None
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return f"it has no {MANIFEST_NAME}"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"its {MANIFEST_NAME} is not valid JSON"
    if not isinstance(data, dict) or data.get("tool") != "estates":
        return f"its {MANIFEST_NAME} was not written by estates"
    listed = listed_outputs(data)
    if listed is None:
        return f"its {MANIFEST_NAME} does not list the files estates wrote, with their hashes"
    extra = unlisted_files(folder, set(listed))
    if extra:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        return f"it holds files no estates build wrote: {', '.join(extra[:5])}{more}"
    for rel, digest in listed.items():
        path = folder / rel
        if path.is_file() and not path.is_symlink() and hash_file(path) != digest:
            return f"{rel} was changed after estates wrote it"
    return None


def sync_tree(folder: Path) -> int:
    """Fsync every file and folder under ``folder``; return the number of files.

    Syncing again what is already on the disk is cheap: a build syncs the
    files it has written while its pictures are drawn, and :func:`publish`
    then waits only for the pictures and the manifest.
    """
    n_files = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if path.is_symlink():
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            n_files += 1
        _fsync_dir(Path(root))
    return n_files


def _fsync_dir(folder: Path) -> None:
    """Fsync a folder so that renames and new entries in it are durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finalise_staging(staging: Path) -> Path:
    """Rename a checked staging folder to ``build-*`` (not yet published)."""
    build = staging.with_name("build" + staging.name.removeprefix("staging"))
    staging.rename(build)
    _fsync_dir(staging.parent)
    return build


def _retire_real_folder(out: Path, store: Path) -> str | None:
    """Move an old-style real output folder into the store as a build.

    Returns the new build name, or None if ``out`` is not a real folder (an
    empty one is simply removed). The caller has checked it with
    :func:`_check_replaceable`.
    """
    if out.is_symlink() or not out.is_dir():
        return None
    if not any(out.iterdir()):
        out.rmdir()
        return None
    name = _entry_name("build")
    history = _read_history(store) or []
    _write_history(store, [*history, name])
    out.rename(store / name)
    _fsync_dir(store)
    _fsync_dir(out.parent)
    log.info("moved the existing %s into %s/%s", _display(out), store.name, name)
    return name


def _swap_link(out: Path, store: Path, build: Path) -> None:
    """Atomically point ``out`` at ``build`` with a relative symbolic link."""
    link = store / _entry_name("link")
    os.symlink(os.path.join(store.name, build.name), link)
    os.replace(link, out)
    _fsync_dir(out.parent)


def _read_history(store: Path) -> list[str] | None:
    """Return the published build names, oldest first; None if unknown."""
    path = store / HISTORY_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("ignored unreadable %s/%s; ordering builds by time", store.name, HISTORY_NAME)
        return None
    names = data.get("published") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        log.warning("ignored malformed %s/%s; ordering builds by time", store.name, HISTORY_NAME)
        return None
    return names


def _write_history(store: Path, names: list[str]) -> None:
    """Atomically replace the store's history with ``names``."""
    tmp = store / _entry_name("tmp")
    text = json.dumps({"published": names}, indent=2) + "\n"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, store / HISTORY_NAME)
    _fsync_dir(store)


def _record_history(store: Path, previous: str | None, new: str) -> None:
    """Append ``previous`` (if any) and ``new`` to the history, newest last."""
    history = _read_history(store) or []
    history = [name for name in history if name not in {previous, new}]
    if previous is not None:
        history.append(previous)
    history.append(new)
    _write_history(store, history)


def _pid_alive(pid: int) -> bool:
    """Return whether a process with this id is running (on this host)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_entry(path: Path) -> bool:
    """Remove a store entry (folder, link or file); warn and return False on failure."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path)
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
        return False
    return True
