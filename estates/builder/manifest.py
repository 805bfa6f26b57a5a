"""The manifest a build writes beside its outputs, and the up-to-date check.

``manifest.json`` records what went into a build (every input file with its
size and SHA-256, the options, the estates version), what it ran on (library
and Python versions), what came out (row counts and, optionally, every output
file) and when. The *inputs fingerprint* hashes only what determines the
result -- the inputs' content, options and estates version, not the times and
not where the files are -- so that a rebuild with unchanged inputs and options
can be skipped, whatever folder it is run from and wherever estates and its
bundled data are installed.

Each input has a *key*: ``bundled:<path inside the data folder>`` for the
bundled data (``bundled:estates/eric_sites_london.csv``), the same in a
source checkout, a wheel or an editable install; for a user's file, its
name, which the outputs record (``source_file``, ``rejected.csv``), not the
folder it sits in nor the working folder.

The inputs are hashed *before* the build reads them (:func:`describe_inputs`)
and checked again before it publishes (:func:`check_inputs_unchanged`): a file
replaced mid-build would otherwise leave a manifest that records the new file
over outputs made from the old one, and every later run would skip over them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import math
import numbers
import os
import platform
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from estates.errors import ConfigError, DataValidationError, EstatesError
from estates.io.bundled import data_dir
from estates.machine import usable_cores

__all__ = [
    "MANIFEST_NAME",
    "build_manifest",
    "check_inputs_unchanged",
    "describe_inputs",
    "hash_file",
    "input_key",
    "inputs_fingerprint",
    "is_up_to_date",
    "package_version",
    "read_manifest",
    "write_manifest",
]

log = logging.getLogger(__name__)

#: File name of the manifest inside an output folder.
MANIFEST_NAME = "manifest.json"
#: Version of the manifest layout; a change makes every old build out of date.
#: 2: inputs carry a ``key`` (``bundled:...`` or the file's name) in the fingerprint.
MANIFEST_VERSION = 2
#: Prefix of the key of a bundled data file.
BUNDLED_PREFIX = "bundled:"
#: Distributions whose versions are recorded ("python" is added).
LIBRARIES = (
    "geopandas",
    "shapely",
    "pyproj",
    "pandas",
    "numpy",
    "pyogrio",
    "pyarrow",
    "matplotlib",
)
_BLOCK_BYTES = 1 << 20
#: Files of this many bytes in all are hashed on several threads (below it, one is quicker).
_THREADED_BYTES = 64 << 20


def hash_file(path: Path | str) -> str:
    """Return the SHA-256 of a file as hex, reading it in 1 MiB blocks.

    Parameters
    ----------
    path : pathlib.Path or str
        The file; left unchanged.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def package_version() -> str:
    """Return the installed estates version, or ``"unknown"``.

    Returns
    -------
    str
        The distribution's version; else ``estates.__version__``; else
        ``"unknown"`` (e.g. a source checkout that is not installed).
    """
    try:
        return importlib.metadata.version("estates")
    except importlib.metadata.PackageNotFoundError:
        import estates

        version = getattr(estates, "__version__", None)
        return str(version) if version else "unknown"


def describe_inputs(inputs: Iterable[Path | str]) -> list[dict[str, Any]]:
    """Return each input's path, size and SHA-256, for the manifest.

    Call it before the build reads the files, so that the manifest describes
    the content the build saw; :func:`check_inputs_unchanged` then proves the
    files did not change while the build read them.

    Parameters
    ----------
    inputs : iterable of pathlib.Path or str
        Every input file, in the order the build reads them; left unchanged.
        Each path is recorded as given, or relative to the working folder if
        it is an absolute path under it (for people; the fingerprint ignores
        paths).

    Returns
    -------
    list of dict
        ``{"key", "path", "size_bytes", "sha256"}`` per file, in order: see
        :func:`input_key`. A bundled file's ``path`` is its key, so the
        manifest names no install folder.

    Raises
    ------
    DataValidationError
        If an input file is missing or is not a file.
    """
    paths = [Path(given) for given in inputs]
    keys = [input_key(path) for path in paths]
    shown = [
        key if key.startswith(BUNDLED_PREFIX) else _display_path(path)
        for key, path in zip(keys, paths, strict=True)
    ]
    files = _describe_files(paths, shown)
    return [{"key": key, **file} for key, file in zip(keys, files, strict=True)]


def input_key(path: Path | str) -> str:
    """Return the name an input file has in the fingerprint, wherever it is.

    Parameters
    ----------
    path : pathlib.Path or str
        An input file, as given; left unchanged.

    Returns
    -------
    str
        ``bundled:<relative path>`` for a file of the bundled data folder (in
        a checkout, an editable install or a wheel alike); otherwise the
        file's name, which the outputs record as its ``source_file``. Never
        the folder: another working folder or install path gives the same key.

    Examples
    --------
    >>> from estates.io.bundled import boundaries_path
    >>> input_key(boundaries_path())
    'bundled:boundaries/london_boroughs.geojson'
    >>> input_key("/srv/estates/in/my_sites.csv")
    'my_sites.csv'
    """
    resolved = Path(path).resolve()
    try:
        inside = resolved.relative_to(data_dir().resolve())
    except ValueError:
        return Path(path).name
    return BUNDLED_PREFIX + inside.as_posix()


def check_inputs_unchanged(
    described: Iterable[Mapping[str, Any]], inputs: Iterable[Path | str]
) -> None:
    """Raise unless every input still has the size and SHA-256 it had when described.

    Parameters
    ----------
    described : iterable of mapping
        From :func:`describe_inputs`, taken before the build read the files.
    inputs : iterable of pathlib.Path or str
        The same files, in the same order; left unchanged.

    Raises
    ------
    DataValidationError
        Naming the first file that changed, was replaced or was removed since
        it was described: the build's outputs may mix old and new content, so
        nothing may be published from them.
    """
    for before, given in zip(described, inputs, strict=True):
        path = Path(given)
        try:
            now = _describe_file(path, display=str(before.get("path")))
        except DataValidationError:
            now = {}
        if (now.get("size_bytes"), now.get("sha256")) != (
            before.get("size_bytes"),
            before.get("sha256"),
        ):
            raise DataValidationError(
                f"{path} changed while the build read it; nothing was published; run again"
            )


def build_manifest(
    inputs: Iterable[Path | str],
    options: Mapping[str, Any],
    row_counts: Mapping[str, int],
    started: datetime,
    finished: datetime,
    *,
    output_dir: Path | str | None = None,
    described_inputs: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Describe a build: inputs, options, versions, row counts and times.

    Parameters
    ----------
    inputs : iterable of pathlib.Path or str
        Every input file, in the order the build reads them. Each path is
        recorded as given, or relative to the working folder if it is an
        absolute path under it. Files are hashed with SHA-256 in 1 MiB blocks
        and left unchanged.
    options : mapping
        The options that shape the result. Values must be JSON-able: strings,
        numbers (finite), booleans, None, lists, tuples, mappings with string
        keys; paths are written as strings.
    row_counts : mapping of str to int
        Rows per table, e.g. ``{"sites": 412, "rejected": 3}``.
    started, finished : datetime.datetime
        When the build started and finished; timezone-aware.
    output_dir : pathlib.Path or str, optional
        If given, every file under it (except a top-level ``manifest.json``)
        is listed with its size and SHA-256 under ``"outputs"``; paths are
        relative, with ``/``. Pass the staging folder once everything else is
        written.
    described_inputs : iterable of mapping, optional
        The inputs as :func:`describe_inputs` gave them before the build read
        them; used instead of hashing ``inputs`` again, so the manifest records
        what the build read.

    Returns
    -------
    dict
        JSON-able; keys ``tool``, ``manifest_version``, ``estates_version``,
        ``libraries``, ``inputs``, ``options``, ``row_counts``, ``build``
        (``started``, ``finished`` in UTC ISO 8601 and ``seconds``),
        ``fingerprint`` and, with ``output_dir``, ``outputs``.

    Raises
    ------
    DataValidationError
        If an input file is missing or is not a file.
    ConfigError
        If an option value cannot be written to JSON.
    ValueError
        If a time is naive or a row count is not a non-negative integer.

    See Also
    --------
    inputs_fingerprint : what makes two builds the same.
    write_manifest : write it with sorted keys.
    """
    for label, moment in (("started", started), ("finished", finished)):
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise ValueError(
                f"{label} must be a timezone-aware datetime, e.g. datetime.now(UTC); got {moment!r}"
            )
    counts: dict[str, int] = {}
    for table, count in row_counts.items():
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"row count of {table!r} must be an integer >= 0, not {count!r}")
        counts[str(table)] = int(count)

    manifest: dict[str, Any] = {
        "tool": "estates",
        "manifest_version": MANIFEST_VERSION,
        "estates_version": package_version(),
        "libraries": _library_versions(),
        "inputs": (
            [dict(item) for item in described_inputs]
            if described_inputs is not None
            else describe_inputs(inputs)
        ),
        "options": _jsonable(dict(options), "options"),
        "row_counts": counts,
        "build": {
            "started": _iso_utc(started),
            "finished": _iso_utc(finished),
            "seconds": round((finished - started).total_seconds(), 3),
        },
    }
    if output_dir is not None:
        manifest["outputs"] = _describe_outputs(Path(output_dir))
    manifest["fingerprint"] = inputs_fingerprint(manifest)
    return manifest


def inputs_fingerprint(manifest: Mapping[str, Any]) -> str:
    """Return a SHA-256 over what determines a build's result.

    Covers the manifest layout version, the estates version, each input's
    key (:func:`input_key`), size and hash (in order) and the options; not
    the times, library versions, row counts or outputs, and not the inputs'
    folders: the same files given from another working folder, or bundled
    files installed elsewhere (an editable install, a wheel), give the same
    fingerprint.

    Parameters
    ----------
    manifest : mapping
        A manifest from :func:`build_manifest` or :func:`read_manifest`; left
        unchanged.

    Returns
    -------
    str
        64 lowercase hex digits.

    Raises
    ------
    DataValidationError
        If the manifest lacks one of the keys above.

    Examples
    --------
    >>> m = {"manifest_version": 2, "estates_version": "0.1.0", "inputs": [], "options": {}}
    >>> fp = inputs_fingerprint(m)
    >>> len(fp)
    64
    >>> inputs_fingerprint({**m, "build": {"seconds": 9.5}}) == fp
    True
    >>> inputs_fingerprint({**m, "options": {"keep": 3}}) == fp
    False
    """
    try:
        payload = {
            "manifest_version": manifest["manifest_version"],
            "estates_version": manifest["estates_version"],
            "inputs": [
                {"key": item["key"], "size_bytes": item["size_bytes"], "sha256": item["sha256"]}
                for item in manifest["inputs"]
            ],
            "options": manifest["options"],
        }
    except (KeyError, TypeError) as exc:
        raise DataValidationError(
            f"manifest lacks {exc}; it was not written by this version of estates"
        ) from exc
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_up_to_date(
    previous_manifest_path: Path | str,
    inputs: Iterable[Path | str],
    options: Mapping[str, Any],
) -> bool:
    """Return whether a build with these inputs and options would change nothing.

    True only if the previous manifest exists and is readable, its fingerprint
    matches the one these inputs and options give now (same estates version,
    the same content in the same order, wherever the files are; same options),
    and
    every output it lists is still present with the same size.

    Parameters
    ----------
    previous_manifest_path : pathlib.Path or str
        ``manifest.json`` of the published set, e.g. ``maps/manifest.json``.
    inputs : iterable of pathlib.Path or str
        The input files of the new build, as for :func:`build_manifest`.
    options : mapping
        The options of the new build, as for :func:`build_manifest`.

    Returns
    -------
    bool
        False whenever in doubt; the reason is logged at INFO level.

    Raises
    ------
    DataValidationError
        If an input file is missing.
    ConfigError
        If an option value cannot be written to JSON.
    """
    path = Path(previous_manifest_path)
    current_options = _jsonable(dict(options), "options")
    if not path.is_file():
        log.debug("no previous %s; building", MANIFEST_NAME)
        return False
    try:
        previous = read_manifest(path)
        if previous.get("manifest_version") != MANIFEST_VERSION:
            log.info("the last build was made by another version of estates; building")
            return False
        previous_fingerprint = inputs_fingerprint(previous)
    except EstatesError as exc:
        log.info("previous manifest is unusable (%s); building", exc)
        return False

    # Cheap comparisons first, so a changed file list or size avoids hashing.
    quick = [_file_size(Path(p)) for p in inputs]
    previous_quick = [
        item.get("size_bytes") for item in previous.get("inputs", []) if isinstance(item, dict)
    ]
    current = {
        "manifest_version": MANIFEST_VERSION,
        "estates_version": package_version(),
        "options": current_options,
        "inputs": [],
    }
    if quick != previous_quick:
        log.info("input files changed since the last build; building")
        return False
    current["inputs"] = describe_inputs(inputs)
    if inputs_fingerprint(current) != previous_fingerprint:
        log.info("inputs, options or estates version changed since the last build; building")
        return False
    problem = _outputs_problem(path.parent, previous.get("outputs"))
    if problem is not None:
        log.info("%s; building", problem)
        return False
    return True


def write_manifest(manifest: Mapping[str, Any], path: Path | str) -> Path:
    """Write a manifest as JSON: sorted keys, 2-space indent, trailing newline.

    The file is written to a temporary name and renamed, so it is never seen
    half written.

    Parameters
    ----------
    manifest : mapping
        From :func:`build_manifest`; left unchanged.
    path : pathlib.Path or str
        Where to write, normally ``<staging>/manifest.json``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(path: Path | str) -> dict[str, Any]:
    """Read a manifest written by :func:`write_manifest`.

    Parameters
    ----------
    path : pathlib.Path or str
        The ``manifest.json`` file.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    DataValidationError
        If the file is missing, not UTF-8 JSON, or not a JSON object.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataValidationError(f"{path}: manifest not found") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{path}: not a valid JSON manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise DataValidationError(f"{path}: a manifest must be a JSON object")
    return data


# --- helpers ---------------------------------------------------------------


def _display_path(path: Path) -> str:
    """Return ``path`` as given, or relative to the working folder if under it."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _file_size(path: Path) -> int:
    """Return the size of an input file, raising DataValidationError if missing."""
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise DataValidationError(f"{path}: no such file") from exc
    if not path.is_file():
        raise DataValidationError(f"{path}: is a folder, not a file; give the file inside it")
    return stat.st_size


def _describe_file(path: Path, *, display: str) -> dict[str, Any]:
    """Return ``{"path", "size_bytes", "sha256"}`` for one file."""
    return _describe_files([path], [display])[0]


def _describe_files(paths: list[Path], shown: list[str]) -> list[dict[str, Any]]:
    """Return ``{"path", "size_bytes", "sha256"}`` of each path (shown as ``shown``), in order.

    Sizes are read first, so a missing file is reported before any hashing.
    Files of :data:`_THREADED_BYTES` or more in all are hashed on as many
    threads as there are cores (``hashlib`` hashes outside Python's lock):
    a large build's outputs, a gigabyte or more, in about half the time on
    two cores.
    """
    sizes = [_file_size(path) for path in paths]
    workers = min(len(paths), usable_cores())
    if workers < 2 or sum(sizes) < _THREADED_BYTES:
        digests = [hash_file(path) for path in paths]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            # The largest first, so that the last to finish is a small one.
            largest_first = sorted(range(len(paths)), key=lambda i: -sizes[i])
            hashing = {i: pool.submit(hash_file, paths[i]) for i in largest_first}
            digests = [hashing[i].result() for i in range(len(paths))]
    return [
        {"path": display, "size_bytes": size, "sha256": digest}
        for display, size, digest in zip(shown, sizes, digests, strict=True)
    ]


def _describe_outputs(folder: Path) -> list[dict[str, Any]]:
    """List every file under ``folder`` but the top-level manifest, sorted."""
    if not folder.is_dir():
        raise ValueError(f"output_dir {folder} is not a folder")
    found: list[tuple[str, Path]] = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            rel = path.relative_to(folder).as_posix()
            if rel != MANIFEST_NAME:
                found.append((rel, path))
    found.sort()
    return _describe_files([path for _, path in found], [rel for rel, _ in found])


def _outputs_problem(folder: Path, outputs: object) -> str | None:
    """Return why the listed outputs are not all there, or None."""
    if not isinstance(outputs, list):
        return None
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            return "the previous manifest's output list is malformed"
        path = folder / item["path"]
        try:
            size = path.stat().st_size
        except OSError:
            return f"output {item['path']} of the last build is missing"
        if size != item.get("size_bytes"):
            return f"output {item['path']} changed since the last build"
    return None


def _library_versions() -> dict[str, str | None]:
    """Return the versions of :data:`LIBRARIES` (None if missing) and Python."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def _iso_utc(moment: datetime) -> str:
    """Return an aware datetime as UTC ISO 8601 with a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any, where: str) -> Any:
    """Return ``value`` made JSON-able (paths to str, tuples to lists), or raise."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise ConfigError(f"option {where} is {number}; a manifest needs a finite number")
        return number
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, list | tuple):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"option {where} has a key {key!r}; keys must be strings")
            result[key] = _jsonable(item, f"{where}.{key}")
        return result
    raise ConfigError(
        f"option {where} = {value!r} ({type(value).__name__}) cannot be written to the "
        "manifest; use a string, number, boolean, list or table"
    )
