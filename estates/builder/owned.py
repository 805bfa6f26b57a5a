"""What the store owns: the files an estates build wrote, as its manifest lists them.

A published folder is a place people also save things into: an Excel "Save
As" of ``sites.csv``, notes. The store deletes and replaces only files a
build's ``manifest.json`` lists with their SHA-256; anything else is carried
into the next set and never pruned. See :mod:`estates.builder.publish`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from estates.builder.manifest import MANIFEST_NAME
from estates.errors import EstatesError
from estates.logs import counted

__all__ = [
    "carry_foreign_files",
    "display_folder",
    "foreign_files",
    "holds_uncarried_files",
    "listed_outputs",
    "unlisted_files",
]

log = logging.getLogger("estates.builder.publish")


def display_folder(out: Path) -> str:
    """Return ``out`` for messages, as a folder: ``maps/``."""
    return f"{os.fspath(out).rstrip('/')}/"


def listed_outputs(manifest: object) -> dict[str, str] | None:
    """Return ``{path: sha256}`` of the outputs a manifest lists; None unless all are listed so."""
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    if not isinstance(outputs, list):
        return None
    listed = {}
    for item in outputs:
        if not isinstance(item, dict):
            return None
        path, digest = item.get("path"), item.get("sha256")
        if not isinstance(path, str) or not isinstance(digest, str) or len(digest) != 64:
            return None
        listed[path] = digest
    return listed


def unlisted_files(folder: Path, listed: set[str]) -> list[str]:
    """Return the files (and links) under ``folder`` not in ``listed`` nor the manifest, sorted."""
    extra = []
    for root, dirs, files in os.walk(folder):
        for name in [*files, *(d for d in dirs if Path(root, d).is_symlink())]:
            rel = Path(root, name).relative_to(folder).as_posix()
            if rel not in listed and rel != MANIFEST_NAME:
                extra.append(rel)
    return sorted(extra)


def foreign_files(build: Path) -> list[str]:
    """Return the files in a build folder that its estates build did not write.

    Someone saved them into the published folder (an Excel "Save As", notes).
    A build whose manifest lists no outputs was written before manifests
    listed them: all its files count as the tool's.
    """
    try:
        data = json.loads((build / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    listed = listed_outputs(data)
    return [] if listed is None else unlisted_files(build, set(listed))


def carry_foreign_files(current: Path, staging: Path, out: Path) -> list[str]:
    """Link the files a user added to the published set into the next one.

    A file saved into ``maps/`` must not vanish when the next build is
    published, nor be deleted when the build it was saved into is pruned: it
    is hard-linked (or copied, across filesystems) into the staging folder.
    Returns the relative paths carried.

    Raises
    ------
    EstatesError
        If the new set writes a file of the same name: the user's file would
        be hidden, so nothing is published.
    """
    carried = foreign_files(current)
    for rel in carried:
        target = staging / rel
        if target.exists() or target.is_symlink():
            raise EstatesError(
                f"{display_folder(out)}{rel} was not written by estates, and the new build "
                f"writes a file of that name; move it out of {display_folder(out)} and run again"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        source = current / rel
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
            continue
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    if carried:
        more = f" and {len(carried) - 5} more" if len(carried) > 5 else ""
        log.info(
            "kept %s estates did not write in %s: %s%s",
            counted(len(carried), "file"),
            display_folder(out),
            ", ".join(carried[:5]),
            more,
        )
    return carried


def holds_uncarried_files(build: Path, current: Path | None) -> bool:
    """Return whether ``build`` holds a user's file that exists nowhere else; warn if so.

    Such a build is never pruned: the tool deletes only what it wrote.
    """
    kept = []
    for rel in foreign_files(build):
        copy = current / rel if current is not None else None
        try:
            same = copy is not None and os.path.samefile(build / rel, copy)
        except OSError:
            same = False
        if not same:
            kept.append(rel)
    if kept:
        log.warning(
            "kept %s: it holds files estates did not write (%s); move them out and remove "
            "the folder yourself",
            build,
            ", ".join(kept[:5]),
        )
    return bool(kept)
