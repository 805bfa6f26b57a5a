"""Open a text file a user named: its size checked, its encoding settled, NUL bytes refused.

The CSV reader (:mod:`estates.io.csv_reader`), the ERIC reader and the Excel
reader take their bytes and their text from here, so every input is refused
with the same words: ``<path>: no such file``, ``... contains NUL bytes``, a
Windows-1252 file read with one warning.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from estates.errors import DataValidationError
from estates.findings import Findings

__all__ = ["decode", "file_size", "read_bytes", "stream_encoding"]


def file_size(path: Path) -> int:
    """Return the size in bytes of a file the user named, or say plainly why it cannot be read.

    Raises
    ------
    DataValidationError
        If ``path`` does not exist, cannot be read, or is not a file (a folder,
        a device): ``"<path>: no such file"`` and the like.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        msg = f"{path}: no such file"
        raise DataValidationError(msg) from exc
    except OSError as exc:
        msg = f"{path}: cannot read ({exc.strerror})"
        raise DataValidationError(msg) from exc
    if not path.is_file():
        msg = f"{path}: not a file"
        raise DataValidationError(msg)
    return size


def read_bytes(path: Path, *, max_bytes: int, check_only: bool = False) -> bytes:
    """Return the file's bytes, or, with ``check_only``, only check it is a readable file."""
    size = file_size(path)
    if check_only:
        return b""
    if size > max_bytes:
        msg = (
            f"{path.name} is {size / 1024**2:,.0f} MiB, over the {max_bytes / 1024**2:,.0f} MiB "
            "limit for a CSV read whole; `estates build --chunk-rows N` builds from larger "
            "site files and `estates join` joins larger point files, reading them in chunks"
        )
        raise DataValidationError(msg)
    try:
        return path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read ({exc.strerror})"
        raise DataValidationError(msg) from exc


def stream_encoding(path: Path, findings: Findings) -> str:
    """Return the codec that reads all of ``path``, decoding it block by block.

    Gives the same answer, and the same warning, as :func:`decode` on the
    whole file, without holding it.
    """
    with path.open("rb") as handle:
        head = handle.read(4096)
        if b"\x00" in head:
            msg = f"{path.name} contains NUL bytes: it is not a text CSV file (UTF-16 or binary?)"
            raise DataValidationError(msg)
        for codec in ("utf-8-sig", "cp1252"):
            handle.seek(0)
            decoder = codecs.getincrementaldecoder(codec)()
            offset, lines = 0, 1
            try:
                while block := handle.read(1 << 24):
                    at = block.find(b"\x00")
                    if at >= 0:
                        _refuse_nul(path.name, offset + at, lines + block.count(b"\n", 0, at))
                    offset += len(block)
                    lines += block.count(b"\n")
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            if decoder.getstate()[0]:
                # utf-8-sig keeps a file's first bytes while they might start a BOM, and drops
                # them at the end without an error: b"\xef" alone is not UTF-8.
                continue
            if codec != "utf-8-sig":
                _warn_not_utf8(path.name, "Windows-1252 (cp1252)", findings)
            return codec
    _warn_not_utf8(path.name, "Latin-1", findings)
    return "latin-1"


def _refuse_nul(name: str, offset: int, line: int) -> None:
    """Raise for a NUL byte past a file's first 4 KiB: writers disagree on what it means.

    Parquet keeps it, a GeoPackage cuts the text there, a terminal shows
    nothing: the same record would differ between outputs, so it is refused.
    """
    msg = (
        f"{name} line {line}: a NUL byte (at byte {offset:,}); a text CSV never holds one. "
        "Remove it, or save the file again as UTF-8 text"
    )
    raise DataValidationError(msg)


def _warn_not_utf8(name: str, encoding: str, findings: Findings) -> None:
    findings.add(
        name,
        None,
        f"file is not valid UTF-8; decoded as {encoding}. Save it as UTF-8 to silence this",
        action="warning",
        check="not_utf8",
    )


def decode(raw: bytes, name: str, findings: Findings) -> str:
    """Return the text of a whole file's ``raw`` bytes: UTF-8 (BOM or not), Windows-1252, Latin-1.

    A file that is not UTF-8 gets one ``warning`` finding naming the encoding
    used; NUL bytes (UTF-16, a binary file) are refused.
    """
    if b"\x00" in raw[:4096]:
        msg = f"{name} contains NUL bytes: it is not a text CSV file (UTF-16 or binary?)"
        raise DataValidationError(msg)
    at = raw.find(b"\x00")
    if at >= 0:
        _refuse_nul(name, at, raw.count(b"\n", 0, at) + 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        encoding = "Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        encoding = "Latin-1"
    _warn_not_utf8(name, encoding, findings)
    return text
