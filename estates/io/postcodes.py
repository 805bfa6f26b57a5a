"""UK postcodes: normalise them and look up their centroids (ONS NSPL, WGS84).

ERIC 2019/20 gives each site a ``Post Code`` and nothing else about where it
is. The bundled lookup holds every postcode of the 20 London postcode areas
(392,016 of them, terminated ones included) plus the ten ERIC postcodes beyond
them, Broadmoor's ``RG45 7EG`` among them. Postcodes are kept as a sorted
array, so looking up any number of them is one binary search, and the
one-edit search for a likely typo runs only for the postcodes that miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.array_cache import cache_path, file_digest, load_arrays, save_arrays

#: A well-formed UK postcode, normalised: outward code, one space, inward code.
POSTCODE_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
#: Characters a postcode is made of, tried in turn by the one-edit search.
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_WIDTH = 8  # the longest normalised postcode, e.g. "EC1A 1BB"
#: The columns read from a centroid file, and their types.
_CENTROID_TYPES = {"postcode": pa.string(), "latitude": pa.float64(), "longitude": pa.float64()}
#: The arrays of a :class:`PostcodeLookup`, as kept on disk.
_ARRAYS = ("postcodes", "latitude", "longitude")
# Names the layout of a kept lookup and the normalisation that made it: bump
# it when either changes, so no lookup normalised the old way is read back.
_CACHE_FORMAT = b"postcode-lookup-1"


def normalise_postcodes(postcodes: pd.Series) -> pd.Series:
    """Return postcodes in the form the lookup uses: upper case, one space before the last 3.

    Spaces anywhere (ERIC pads to 8 characters: ``NW3  2QG``, ``W6   8NF``) and
    case are ignored. One letter is corrected: an ``O`` where the inward code
    must start with a digit becomes ``0`` (``SW1A OAA`` → ``SW1A 0AA``); no
    postcode has a letter there, so nothing valid is ever changed. ``0``/``O``
    elsewhere is left alone: in the outward code both can be right. Blank or
    missing values give ``""``. The input is left unchanged.

    Examples
    --------
    >>> normalise_postcodes(pd.Series(["NW3  2QG", " e1 1bb", "sw1aoaa", "", None])).tolist()
    ['NW3 2QG', 'E1 1BB', 'SW1A 0AA', '', '']
    """
    text = pa.array(postcodes.astype(object).where(postcodes.notna(), ""), type=pa.string())
    result = _normalised(text)
    return pd.Series(result.to_numpy(zero_copy_only=False), index=postcodes.index, dtype=object)


def _normalised(text: pa.Array) -> pa.Array:
    """Return Arrow strings normalised as :func:`normalise_postcodes` says (no nulls in)."""
    compact = pc.replace_substring_regex(pc.utf8_upper(text), r"\s+", "")
    length = pc.utf8_length(compact)
    outward = pc.utf8_slice_codeunits(compact, 0, -3)
    inward = pc.utf8_slice_codeunits(compact, -3)
    inward = pc.replace_substring_regex(inward, "^O", "0")
    spaced = pc.binary_join_element_wise(outward, inward, " ")
    return pc.if_else(pc.greater_equal(length, 5), spaced, compact)


def normalise_postcode(postcode: object) -> str:
    """Return one postcode normalised as :func:`normalise_postcodes` does.

    Examples
    --------
    >>> normalise_postcode("ec1a7bb")
    'EC1A 7BB'
    """
    return str(normalise_postcodes(pd.Series([postcode], dtype=object)).iloc[0])


@dataclass(frozen=True)
class PostcodeLookup:
    """Postcode centroids, sorted by postcode for binary search.

    Attributes
    ----------
    postcodes : numpy.ndarray
        Normalised postcodes (``<U8``), sorted, unique.
    latitude, longitude : numpy.ndarray
        WGS84 centroid of each postcode, in degrees. A longitude of exactly 0
        is real (the Greenwich meridian), never a missing value.
    """

    postcodes: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray

    def __len__(self) -> int:
        return len(self.postcodes)

    def positions(self, postcodes: Iterable[object]) -> np.ndarray:
        """Return each postcode's position in the lookup, or -1 where it is absent.

        The postcodes are normalised first (:func:`normalise_postcodes`).
        """
        wanted = normalise_postcodes(pd.Series(list(postcodes), dtype=object)).to_numpy(dtype=str)
        return self._positions_of_normalised(wanted)

    def _positions_of_normalised(self, wanted: np.ndarray) -> np.ndarray:
        if len(wanted) == 0 or len(self.postcodes) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        where = np.searchsorted(self.postcodes, wanted)
        clipped = np.minimum(where, len(self.postcodes) - 1)
        hit = self.postcodes[clipped] == wanted
        return np.where(hit, clipped, -1).astype(np.int64)

    def locate(self, postcodes: Sequence[object] | pd.Series) -> pd.DataFrame:
        """Return ``postcode_normalised``, ``latitude``, ``longitude`` and ``found`` per postcode.

        The result has one row per input, in order (on the input's index when
        it is a Series); a postcode the lookup lacks has NaN coordinates and
        ``found`` False.
        """
        series = postcodes if isinstance(postcodes, pd.Series) else pd.Series(list(postcodes))
        normalised = normalise_postcodes(series)
        position = self._positions_of_normalised(normalised.to_numpy(dtype=str))
        found = position >= 0
        lat = np.where(found, self.latitude[np.maximum(position, 0)], np.nan)
        lon = np.where(found, self.longitude[np.maximum(position, 0)], np.nan)
        return pd.DataFrame(
            {"postcode_normalised": normalised, "latitude": lat, "longitude": lon, "found": found},
            index=series.index,
        )

    def one_edit_away(self, postcode: object) -> list[str]:
        """Return the postcodes in the lookup one edit away from ``postcode``, sorted.

        An edit is one substitution, insertion, deletion or transposition of
        adjacent characters, ignoring spaces. Used to suggest the intended
        postcode for a typo, e.g. ``LW10 9NH`` (there is no LW area).

        Examples
        --------
        >>> lookup = load_postcode_lookup()
        >>> lookup.one_edit_away("E14 4DG")[:3]
        ['E1 4DG', 'E11 4DG', 'E14 0DG']
        """
        compact = normalise_postcode(postcode).replace(" ", "")
        if not compact:
            return []
        variants = set()
        for i in range(len(compact) + 1):
            head, tail = compact[:i], compact[i:]
            for ch in _ALPHABET:
                variants.add(head + ch + tail)  # insertion
                if tail:
                    variants.add(head + ch + tail[1:])  # substitution
            if tail:
                variants.add(head + tail[1:])  # deletion
            if len(tail) > 1:
                variants.add(head + tail[1] + tail[0] + tail[2:])  # transposition
        variants.discard(compact)
        candidates = normalise_postcodes(pd.Series(sorted(variants), dtype=object))
        shaped = candidates[candidates.str.match(POSTCODE_PATTERN)].to_numpy(dtype=str)
        hits = self._positions_of_normalised(shaped) >= 0
        return sorted(set(shaped[hits].tolist()))

    def suggestion(self, postcode: object) -> str:
        """Return words naming the likely intended postcode, for a finding's reason.

        Examples
        --------
        >>> load_postcode_lookup().suggestion("LW10 9NH")
        'one edit away: NW10 9NH or SW10 9NH'
        """
        near = self.one_edit_away(postcode)
        if not near:
            return "no postcode in the lookup is one edit away"
        if len(near) == 1:
            return f"did you mean {near[0]}? (the only postcode one edit away)"
        if len(near) <= 4:
            return "one edit away: " + " or ".join(near)
        return f"{len(near)} postcodes are one edit away (e.g. {', '.join(near[:3])})"


def load_postcode_lookup(paths: Sequence[Path | str] | None = None) -> PostcodeLookup:
    """Load postcode centroids (``postcode``, ``latitude``, ``longitude`` columns).

    Parameters
    ----------
    paths : sequence of path-like, optional
        CSV files, gzipped or not. Default: the bundled ONS NSPL (May 2025)
        centroids, loaded once per process. The lookup built from a set of
        files is kept on disk under a digest of their contents
        (:mod:`estates.io.array_cache`), so a later process reads back its
        sorted arrays (a few hundredths of a second) instead of reading,
        normalising and sorting 392,026 postcodes again (about half a second).

    Returns
    -------
    PostcodeLookup
        Postcodes normalised and sorted; where one appears twice, the first
        file's row wins. Rows without a latitude are skipped (NSPL's "no grid
        reference").

    Raises
    ------
    DataValidationError
        If a file is missing, unreadable or lacks one of the three columns.
    """
    if paths is None:
        return _bundled_lookup()
    return _read_lookup(tuple(Path(p) for p in paths))


@lru_cache(maxsize=1)
def _bundled_lookup() -> PostcodeLookup:
    return _read_lookup(tuple(bundled.postcode_paths()))


def _read_lookup(paths: tuple[Path, ...]) -> PostcodeLookup:
    """Return the lookup of ``paths``: kept on disk, keyed by their contents, or built."""
    for path in paths:
        if not path.is_file():
            msg = f"{path}: no such postcode file"
            raise DataValidationError(msg)
    try:
        kept = cache_path("postcodes", (_CACHE_FORMAT, *(file_digest(p) for p in paths)))
    except OSError:
        kept = None  # unreadable: reading it below says why
    arrays = load_arrays(kept)
    if arrays is not None and set(arrays) == set(_ARRAYS):
        return PostcodeLookup(**arrays)
    lookup = _build_lookup(paths)
    save_arrays(kept, {name: getattr(lookup, name) for name in _ARRAYS})
    return lookup


def _build_lookup(paths: tuple[Path, ...]) -> PostcodeLookup:
    tables = [_read_centroids(path) for path in paths]
    if tables:
        table = pa.concat_tables(tables)
    else:
        table = pa.table({c: pa.array([], type=t) for c, t in _CENTROID_TYPES.items()})
    text = table["postcode"].combine_chunks()
    text = pc.if_else(pc.is_null(text), "", text)
    # Longer values (never a postcode) are cut to the lookup's width, as numpy would.
    codes = pc.utf8_slice_codeunits(_normalised(text), 0, _WIDTH)
    codes = np.asarray(codes.to_numpy(zero_copy_only=False), dtype=f"<U{_WIDTH}")
    lat = table["latitude"].to_numpy().astype(float)
    lon = table["longitude"].to_numpy().astype(float)
    keep = ~np.isnan(lat) & ~np.isnan(lon) & (codes != "")
    codes, lat, lon = codes[keep], lat[keep], lon[keep]
    order = np.argsort(codes, kind="stable")
    codes, lat, lon = codes[order], lat[order], lon[order]
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    return PostcodeLookup(postcodes=codes[first], latitude=lat[first], longitude=lon[first])


def _read_centroids(path: Path) -> pa.Table:
    columns = list(_CENTROID_TYPES)
    try:
        return pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                include_columns=columns, column_types=_CENTROID_TYPES
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, OSError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        msg = (
            f"{path.name}: cannot read as postcode centroids ({first}); expected columns "
            f"{', '.join(columns)}"
        )
        raise DataValidationError(msg) from exc


def postcode_centroids(
    records: pd.DataFrame, wanted: np.ndarray, *, lookup: PostcodeLookup | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return WGS84 latitude and longitude of each record's postcode centroid (NaN if none).

    Used to locate the sites of a user's file that has a ``postcode`` column
    and no coordinates. Only rows where ``wanted`` holds are looked up; the
    lookup is loaded only if one of them has a postcode. ``records`` is left
    unchanged.
    """
    lat = np.full(len(records), np.nan)
    lon = np.full(len(records), np.nan)
    if "postcode" not in records:
        return lat, lon
    codes = records["postcode"].astype("string").fillna("").str.strip()
    needs = np.asarray(wanted, dtype=bool) & codes.ne("").to_numpy()
    if not needs.any():
        return lat, lon
    lookup = lookup if lookup is not None else load_postcode_lookup()
    found = lookup.locate(codes[needs].reset_index(drop=True))
    lat[needs] = found["latitude"].to_numpy()
    lon[needs] = found["longitude"].to_numpy()
    return lat, lon


def with_postcode_coordinates(
    text: pd.DataFrame,
    *,
    source_file: str,
    findings: Findings,
    lookup: PostcodeLookup | None = None,
) -> pd.DataFrame:
    """Return a text frame whose rows without coordinates take their postcode's centroid.

    Used by ``--locations`` files, which may give a ``postcode`` in place of
    ``latitude``/``longitude``. Rows that give coordinates keep them. A row with
    neither coordinates nor a known postcode is dropped with a ``rejected``
    finding naming the postcode and, if there is one, the postcode one edit
    away. The input is left unchanged; cells stay text.

    Parameters
    ----------
    text : pandas.DataFrame
        Text cells with a ``postcode`` column, indexed by spreadsheet row.
    source_file : str
        The file's name, for findings.
    findings : Findings
        Receives the rejected rows.
    lookup : PostcodeLookup, optional
        Default: the bundled ONS centroids, loaded only if a row needs one.
    """
    out = text.copy()
    for column in ("latitude", "longitude"):
        if column not in out:
            out[column] = ""
    blank = out["latitude"].str.strip().eq("") & out["longitude"].str.strip().eq("")
    needs = blank & out["postcode"].str.strip().ne("")
    if not needs.any():
        return out
    lookup = lookup if lookup is not None else load_postcode_lookup()
    found = lookup.locate(out.loc[needs, "postcode"])
    hit = found.index[found["found"]]
    out.loc[hit, "latitude"] = found.loc[hit, "latitude"].map("{:.10g}".format)
    out.loc[hit, "longitude"] = found.loc[hit, "longitude"].map("{:.10g}".format)
    missed = found.index[~found["found"]]
    for row in missed:
        given = str(out.at[row, "postcode"]).strip()
        findings.add(
            source_file,
            int(row),
            f"postcode {given!r} is not in the postcode lookup ({lookup.suggestion(given)}) "
            "and the row gives no coordinates; location not used",
            action="rejected",
            check="postcode_not_found",
            site_code=out.at[row, "site_code"] if "site_code" in out else None,
            column="postcode",
            value=given,
        )
    return out.drop(index=missed)
