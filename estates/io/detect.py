"""Find the project's columns in a user's header, whatever the file calls them.

Site lists arrive with the headers of the system that exported them: ERIC's
``Site Code`` and ``Land area owned (Hectares)``, NHS.UK's ``OrganisationCode``
and ``Latitude``, an ODS extract's ``ODS_Code`` and ``LAT``; boundary layers
carry ONS ``LAD20CD``/``LAD20NM`` or the London Datastore's ``GSS_CODE``/``NAME``.
This module maps such a header to the project's column names once, at load,
and says which header it chose for each, so that the log shows it and a wrong
guess is visible. It never guesses between two equally good candidates: that
is an error naming both and the explicit mapping that settles it.

Headers are compared case-, space- and underscore-insensitively:
``Site Code``, ``site_code`` and ``SITECODE`` are the same name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from estates.crs import BNG, WGS84
from estates.errors import ConfigError, DataValidationError

__all__ = [
    "BOUNDARY_COLUMNS",
    "SITE_COLUMNS",
    "ColumnMap",
    "detect_boundary_columns",
    "detect_site_columns",
    "normalise_header",
    "parse_column_mapping",
]

#: The project's columns a site file may carry, in the order they are detected.
SITE_COLUMNS = (
    "site_code",
    "site_name",
    "trust_code",
    "trust_name",
    "site_type",
    "postcode",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "land_owned_ha",
    "land_unused_ha",
)
#: The project's columns a boundary layer must carry.
BOUNDARY_COLUMNS = ("borough_code", "borough_name")
#: A London borough's ONS GSS code: how a code column is told by its values.
GSS_LONDON_BOROUGH = re.compile(r"E09000\d{3}")

_KINDS = {"site": SITE_COLUMNS, "boundary": BOUNDARY_COLUMNS}
_PAIRS = (("latitude", "longitude"), ("easting", "northing"))


def normalise_header(header: str) -> str:
    """Return a header as it is compared: lower case, without spaces, ``_``, ``-`` or ``.``.

    Examples
    --------
    >>> normalise_header(" Site Code "), normalise_header("ODS_Code"), normalise_header("OSGB-E")
    ('sitecode', 'odscode', 'osgbe')
    """
    return re.sub(r"[\s_\-.]+", "", header).casefold()


def _names(*names: str) -> tuple[str, ...]:
    """Return literal header names as patterns on normalised headers."""
    return tuple(re.escape(normalise_header(n)) for n in names)


# Each project column has tiers of names, best first. The first tier holding a
# header wins; two headers in one tier are ambiguous. A header taken by an
# earlier column (in SITE_COLUMNS order) is not offered to a later one, which is
# how ERIC's "Organisation Code" is the trust when "Site Code" is present, and
# NHS.UK's "OrganisationCode" is the site when it is not.
_SITE_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "site_code": (
        _names("site_code", "site code", "site id"),
        _names(
            "organisation code",
            "ods code",
            "ods site code",
            "org code",
            "practice code",
            "location code",
        ),
        _names("code"),
    ),
    "site_name": (
        _names("site_name", "site name"),
        _names("organisation name", "ods name", "org name", "practice name", "location name"),
        _names("name"),
    ),
    "trust_code": (
        _names(
            "trust_code",
            "trust code",
            "organisation code",
            "parent ods code",
            "parent code",
            "parent organisation code",
        ),
    ),
    "trust_name": (
        _names(
            "trust_name",
            "trust name",
            "organisation name",
            "parent name",
            "parent organisation name",
        ),
    ),
    "site_type": (
        _names("site_type", "site type"),
        _names("organisation type"),
        _names("sub type"),
    ),
    "postcode": (
        _names("postcode", "post code", "postal code"),
        _names("pcds", "pcd", "pcd2"),
    ),
    "latitude": (_names("latitude", "lat", "wgs84 latitude"),),
    "longitude": (_names("longitude", "lon", "lng", "long", "wgs84 longitude"),),
    "easting": (
        _names("easting", "eastings", "osgb e", "osgb easting", "bng e", "oseast1m", "x coord"),
    ),
    "northing": (
        _names("northing", "northings", "osgb n", "osgb northing", "bng n", "osnrth1m", "y coord"),
    ),
    "land_owned_ha": (
        _names(
            "land_owned_ha",
            "Land area owned (Hectares)",
            "Site land area (Hectare)",
            "Site land area (Hectares)",
            "land area owned (ha)",
            "land owned (ha)",
            "land owned ha",
        ),
    ),
    "land_unused_ha": (
        _names(
            "land_unused_ha",
            "Land area not delivering services (Hectares)",
            "land area not delivering services (ha)",
            "land not delivering services (ha)",
            "land unused (ha)",
            "land unused ha",
        ),
    ),
}
_BOUNDARY_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "borough_code": (
        _names("borough_code", "borough code"),
        (*_names("gss_code", "gss", "lad_code", "ladcd", "district code"), r"lad\d\dcd"),
        _names("code"),
    ),
    "borough_name": (
        _names("borough_name", "borough name"),
        (*_names("lad_name", "ladnm", "district name", "borough"), r"lad\d\dnm"),
        _names("name"),
    ),
}
#: Only with a CRS hint is ``x``/``y`` read as coordinates.
_XY = {BNG: {"easting": "x", "northing": "y"}, WGS84: {"longitude": "x", "latitude": "y"}}


@dataclass(frozen=True)
class ColumnMap:
    """Which header of a file holds each of the project's columns.

    Attributes
    ----------
    kind : str
        ``"site"`` or ``"boundary"``.
    source : str
        The file's name, for messages.
    chosen : dict of str to str
        Project column -> the file's header, for every column found.
    given : frozenset of str
        The project columns named by the user's explicit mapping (the rest
        were detected).
    notes : tuple of str
        What the file lacks or what was not read, e.g. no coordinates.
    """

    kind: str
    source: str
    chosen: dict[str, str]
    given: frozenset[str] = frozenset()
    notes: tuple[str, ...] = field(default=())

    @property
    def renames(self) -> dict[str, str]:
        """Return header -> project column, for :meth:`pandas.DataFrame.rename`."""
        return {header: column for column, header in self.chosen.items()}

    def as_record(self) -> dict[str, object]:
        """Return the map as JSON-able data: ``summary.json``'s record of it.

        Examples
        --------
        >>> ColumnMap("site", "gp.csv", {"site_code": "ODS_Code"}, frozenset()).as_record()
        {'file': 'gp.csv', 'columns': {'site_code': 'ODS_Code'}, 'given': [], 'notes': []}
        """
        return {
            "file": self.source,
            "columns": dict(self.chosen),
            "given": sorted(self.given),
            "notes": list(self.notes),
        }

    @property
    def description(self) -> str:
        """Return one line for the log: each column, the header it comes from, and how.

        Examples
        --------
        >>> ColumnMap("site", "gp.csv", {"site_code": "ODS_Code"}, frozenset()).description
        "gp.csv columns: site_code='ODS_Code' (detected)"
        """
        detected = [f"{c}={h!r}" for c, h in self.chosen.items() if c not in self.given]
        given = [f"{c}={h!r}" for c, h in self.chosen.items() if c in self.given]
        parts = []
        if detected:
            parts.append(f"{', '.join(detected)} (detected)")
        if given:
            parts.append(f"{', '.join(given)} (given)")
        line = f"{self.source} columns: {'; '.join(parts) or 'none'}"
        return "; ".join([line, *self.notes])


def detect_site_columns(
    header: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    samples: Mapping[str, Sequence[str]] | None = None,
    crs: str | None = None,
    source: str = "the site file",
    required: Sequence[str] = ("site_code", "site_name"),
) -> ColumnMap:
    """Map a site file's header to the project's site columns.

    Parameters
    ----------
    header : sequence of str
        The file's column names, as read (left unchanged).
    columns : mapping of str to str, optional
        Explicit project column -> header, e.g. ``{"site_code": "ODS_Code"}``
        (``--columns site_code=ODS_Code`` on the command line). It wins over
        detection; its headers are matched exactly first, then
        case- and space-insensitively.
    samples : mapping of str to sequence of str, optional
        A few values of some headers. Not needed for site files; accepted so
        that callers treat both kinds alike.
    crs : str, optional
        The CRS of the file's ``x``/``y`` columns: with ``"EPSG:27700"`` they
        are read as easting/northing, with ``"EPSG:4326"`` as
        longitude/latitude. Without it, ``x``/``y`` are not read.
    source : str
        The file's name, for messages.
    required : sequence of str
        Project columns that must be found, by default site code and name.

    Returns
    -------
    ColumnMap
        ``chosen`` holds every column found. Coordinates are optional (a site
        may be located by its ODS code or postcode), but half a pair is not.

    Raises
    ------
    ConfigError
        If ``columns`` names an unknown project column, or ``crs`` is not one
        of EPSG:27700 and EPSG:4326.
    DataValidationError
        If ``columns`` names a header the file lacks (the message lists the
        headers found), two headers are equally good for one column, a
        required column is missing, or only one of a coordinate pair is found.

    Examples
    --------
    >>> m = detect_site_columns(["ODS_Code", "Name", "Post Code"], source="gp.csv")
    >>> m.chosen
    {'site_code': 'ODS_Code', 'site_name': 'Name', 'postcode': 'Post Code'}
    >>> m.notes
    ('no coordinate columns: sites are located by postcode or ODS code',)
    """
    del samples  # site columns are told by name alone
    aliases = dict(_SITE_ALIASES)
    if crs is not None:
        if crs not in _XY:
            msg = f"crs must be one of {', '.join(_XY)} to read x/y columns, got {crs!r}"
            raise ConfigError(msg)
        for column, name in _XY[crs].items():
            aliases[column] = (*aliases[column], _names(name))
    chosen, given = _detect(header, aliases, columns or {}, source, "site", checks={})
    _check_required(chosen, header, required, source, "site", given=columns)
    for first, second in _PAIRS:
        if (first in chosen) != (second in chosen):
            have, lack = (first, second) if first in chosen else (second, first)
            head = f"{source}: found {have} in column {chosen[have]!r} but no {lack} column; "
            python, cli = _hint([lack], header, "site", columns or {})
            raise DataValidationError(head + python, cli_message=head + cli)
    notes = []
    if not any(first in chosen for first, _ in _PAIRS):
        located_by = [c for c in ("postcode", "site_code") if c in chosen]
        how = " or ".join({"postcode": "postcode", "site_code": "ODS code"}[c] for c in located_by)
        notes.append("no coordinate columns" + (f": sites are located by {how}" if how else ""))
    if crs is None and {"x", "y"} <= {normalise_header(h) for h in header}:
        notes.append("x/y columns not read as coordinates: say their CRS (EPSG:27700 or 4326)")
    return ColumnMap("site", source, chosen, given, tuple(notes))


def detect_boundary_columns(
    header: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    samples: Mapping[str, Sequence[str]] | None = None,
    source: str = "the boundary layer",
) -> ColumnMap:
    """Map a boundary layer's attribute names to ``borough_code`` and ``borough_name``.

    Parameters
    ----------
    header : sequence of str
        The layer's attribute names (the geometry column may be among them; it
        is never chosen). Left unchanged.
    columns : mapping of str to str, optional
        Explicit ``{"borough_code": ..., "borough_name": ...}``; wins over detection.
    samples : mapping of str to sequence of str, optional
        A few values per attribute. With them, a code column is the one whose
        values are London GSS codes (``E09000001`` ... ``E09000033``): they pick
        between two candidate names, and find the column when no name fits.
    source : str
        The layer's name, for messages.

    Returns
    -------
    ColumnMap
        ``chosen`` holds both columns.

    Raises
    ------
    ConfigError
        If ``columns`` names an unknown project column.
    DataValidationError
        If ``columns`` names a missing attribute, two attributes are equally
        good, or either column cannot be found.

    Examples
    --------
    >>> detect_boundary_columns(["OBJECTID", "LAD20CD", "LAD20NM", "LAD20NMW"]).chosen
    {'borough_code': 'LAD20CD', 'borough_name': 'LAD20NM'}
    """
    header = [h for h in header if normalise_header(h) not in {"geometry", "geom"}]
    values = {h: [str(v).strip() for v in vs] for h, vs in (samples or {}).items()}
    checks = {"borough_code": lambda h: _all_gss(values.get(h))}
    chosen, given = _detect(
        header, _BOUNDARY_ALIASES, columns or {}, source, "boundary", checks=checks
    )
    if "borough_code" not in chosen and values:
        by_value = [h for h in header if h not in chosen.values() and _all_gss(values.get(h))]
        if len(by_value) > 1:
            _raise_ambiguous("borough_code", by_value, source, "boundary")
        if by_value:
            chosen = {"borough_code": by_value[0], **chosen}
    _check_required(chosen, header, BOUNDARY_COLUMNS, source, "boundary")
    return ColumnMap("boundary", source, {c: chosen[c] for c in BOUNDARY_COLUMNS}, given)


def parse_column_mapping(text: str, *, kind: str = "site") -> dict[str, str]:
    """Parse the command line's ``site_code=ODS_Code,latitude=LAT`` into a mapping.

    Spaces around names are ignored; a header may contain spaces and ``=``
    (only the first ``=`` splits), but not a comma.

    Parameters
    ----------
    text : str
        Comma-separated ``column=header`` pairs.
    kind : str, default "site"
        ``"site"`` or ``"boundary"``: which project columns may be named.

    Returns
    -------
    dict of str to str
        Project column -> header, in the order given.

    Raises
    ------
    ConfigError
        On an empty string or pair, a pair without ``=``, an unknown project
        column (the message lists them), a column named twice, or one header
        given for two columns.

    Examples
    --------
    >>> parse_column_mapping("site_code=ODS_Code, site_name = Name of site")
    {'site_code': 'ODS_Code', 'site_name': 'Name of site'}
    """
    allowed = _allowed(kind)
    example = f"e.g. --columns {allowed[0]}=ODS_Code,{allowed[1]}=Name"
    if not text.strip():
        msg = f"--columns is empty; give column=header pairs, {example}"
        raise ConfigError(msg)
    mapping: dict[str, str] = {}
    for number, pair in enumerate(text.split(","), start=1):
        if not pair.strip():
            msg = f"--columns {text!r}: pair {number} is empty (a stray comma?)"
            raise ConfigError(msg)
        column, sep, header = (part.strip() for part in pair.partition("="))
        if not sep:
            msg = f"--columns {text!r}: {pair.strip()!r} has no '='; write column=header, {example}"
            raise ConfigError(msg)
        if not column or not header:
            side = "column" if not column else "header"
            msg = f"--columns {text!r}: {pair.strip()!r} has an empty {side}; write column=header"
            raise ConfigError(msg)
        if column not in allowed:
            msg = (
                f"--columns {text!r}: {column!r} is not a {kind} column; "
                f"allowed: {', '.join(allowed)}"
            )
            raise ConfigError(msg)
        if column in mapping:
            msg = f"--columns {text!r}: {column} is given twice"
            raise ConfigError(msg)
        mapping[column] = header
    _check_distinct(mapping)
    return mapping


def _allowed(kind: str) -> tuple[str, ...]:
    if kind not in _KINDS:
        msg = f"kind must be one of {', '.join(_KINDS)}, got {kind!r}"
        raise ConfigError(msg)
    return _KINDS[kind]


def _check_distinct(mapping: Mapping[str, str]) -> None:
    by_header: dict[str, str] = {}
    for column, header in mapping.items():
        if header in by_header:
            msg = f"columns: header {header!r} is given for both {by_header[header]} and {column}"
            raise ConfigError(msg)
        by_header[header] = column


def _detect(
    header: Sequence[str],
    aliases: Mapping[str, tuple[tuple[str, ...], ...]],
    columns: Mapping[str, str],
    source: str,
    kind: str,
    *,
    checks: Mapping[str, Callable[[str], bool]],
) -> tuple[dict[str, str], frozenset[str]]:
    """Return project column -> header (explicit first, then detected) and the explicit ones."""
    allowed = _allowed(kind)
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        msg = f"columns: {unknown[0]!r} is not a {kind} column; allowed: {', '.join(allowed)}"
        raise ConfigError(msg)
    _check_distinct(columns)
    chosen: dict[str, str] = {}
    for column, wanted in columns.items():
        chosen[column] = _find_given(wanted, column, header, source, kind)
    taken = set(chosen.values())
    normalised = [(h, normalise_header(h)) for h in header]
    for column in allowed:
        if column in chosen:
            continue
        check = checks.get(column)
        for tier in aliases[column]:
            hits = [
                h for h, n in normalised if h not in taken and any(re.fullmatch(p, n) for p in tier)
            ]
            if len(hits) > 1 and check is not None:
                by_value = [h for h in hits if check(h)]
                hits = by_value or hits
            if len(hits) > 1:
                _raise_ambiguous(column, hits, source, kind)
            if hits:
                chosen[column] = hits[0]
                taken.add(hits[0])
                break
    ordered = {c: chosen[c] for c in allowed if c in chosen}
    return ordered, frozenset(columns)


def _find_given(wanted: str, column: str, header: Sequence[str], source: str, kind: str) -> str:
    """Return the header the user named for ``column``: exact, else case/space-insensitive."""
    if wanted in header:
        return wanted
    loose = [h for h in header if normalise_header(h) == normalise_header(wanted)]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1:
        _raise_ambiguous(column, loose, source, kind)
    msg = (
        f"{source}: no column {wanted!r} (given for {column}); "
        f"the headers are: {_list_headers(header)}"
    )
    raise DataValidationError(msg)


def _check_required(
    chosen: Mapping[str, str],
    header: Sequence[str],
    required: Iterable[str],
    source: str,
    kind: str,
    *,
    given: Mapping[str, str] | None = None,
) -> None:
    """Raise one error naming every required column that was not found, not the first only."""
    missing = [c for c in required if c not in chosen]
    if not missing:
        return
    if len(missing) == 1:
        head = f"{source}: no {missing[0]} column; "
    else:
        head = f"{source}: no columns for {_and(missing)}; "
    python, cli = _hint(missing, header, kind, given or {})
    raise DataValidationError(head + python, cli_message=head + cli)


def _and(items: Sequence[str]) -> str:
    """Join names as a sentence does: ``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _options(columns: Mapping[str, str], kind: str) -> str:
    """Return the command-line options that name each header of ``columns``.

    A site file's columns go in one ``--columns col=header,...``; a boundary
    layer's each have their own option (``--boundary-code-column HEADER``).
    """
    if kind == "site":
        return "--columns " + ",".join(f"{c}={h}" for c, h in columns.items())
    return " ".join(
        f"--boundary-{column.removeprefix('borough_')}-column {header}"
        for column, header in columns.items()
    )


def _hint(
    missing: Sequence[str], header: Sequence[str], kind: str, given: Mapping[str, str]
) -> tuple[str, str]:
    """Return how to name the ``missing`` columns: for Python, and for the command line.

    The Python form names the ``columns=`` argument (with the option after
    it); the command line's names the option only, repeating what ``--columns``
    already gave so that the whole option can be copied.
    """
    it = "it" if len(missing) == 1 else "them"
    head = f"the headers are: {_list_headers(header)}; name {it} with "
    wanted = dict.fromkeys(missing, "HEADER")
    python = ", ".join(f"{c!r}: ..." for c in missing)
    option = _options(wanted, kind)
    cli = _options({**given, **wanted} if kind == "site" else wanted, kind)
    return f"{head}columns={{{python}}} ({option})", head + cli


def _raise_ambiguous(column: str, headers: Sequence[str], source: str, kind: str) -> None:
    both = " and ".join(repr(h) for h in headers)
    head = f"{source}: columns {both} could each be the {column}; say which with "
    option = _options({column: headers[0]}, kind)
    msg = f"{head}columns={{{column!r}: {headers[0]!r}}} ({option})"
    raise DataValidationError(msg, cli_message=head + option)


def _list_headers(header: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(repr(" ".join(str(h).split())) for h in header[:limit])
    more = f" … ({len(header)} in all)" if len(header) > limit else ""
    return (shown or "none") + more


def _all_gss(values: Sequence[str] | None) -> bool:
    """Return True if every non-blank sample is a London borough GSS code."""
    present = [v for v in values or () if v]
    return bool(present) and all(GSS_LONDON_BOROUGH.fullmatch(v) for v in present)
