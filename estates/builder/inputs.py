"""The files one build reads: :class:`Inputs`, light enough for the up-to-date check.

Listing a build's input files is the first thing ``estates build`` does, to
hash them and compare the fingerprint with the last build's manifest; an
unchanged rebuild stops there. So this module imports only :mod:`pathlib`
and the bundled data's locations, never pandas or geopandas
(:mod:`estates.builder.reference` reads the files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from estates.errors import ConfigError
from estates.io import bundled
from estates.io.eric_spec import parse_eric_spec

__all__ = ["Inputs"]


@dataclass(frozen=True)
class Inputs:
    """The files one run reads. ``None`` means the bundled data."""

    sites: tuple[Path, ...] = ()
    boundaries: Path | None = None
    boundary_code_column: str | None = None
    boundary_name_column: str | None = None
    groupings: Path | None = None
    locations: Path | None = None
    land_values: Path | None = None
    pipeline: Path | None = None
    #: The user's ERIC returns (``FILE`` or ``FILE:2019/20``) adding to or replacing
    #: the bundled years; only without ``sites``.
    eric: tuple[str, ...] = ()
    #: The headline ERIC year (``"2016/17"``); None: the latest return.
    year: str | None = None
    #: Project column -> the site files' header, where detection cannot tell
    #: (``--columns site_code=ODS_Code,latitude=LAT``).
    columns: Mapping[str, str] | None = None
    #: The sheet of every Excel workbook given as an input; None: each one's first.
    sheet: str | None = None

    def check_sheet(self) -> None:
        """Raise :class:`~estates.errors.ConfigError` if ``sheet`` is given but no workbook is.

        A sheet name with only CSV files would be ignored without a word, and
        the user would believe the sheet was read. Checked by suffix (the
        readers also refuse a workbook under a ``.csv`` name); no data
        library is imported unless ``sheet`` is given.
        """
        if self.sheet is None:
            return
        from estates.io.excel import is_excel_path

        tables = [
            *self.sites,
            *(p for p in (self.groupings, self.locations, self.land_values, self.pipeline) if p),
        ]
        if any(is_excel_path(path) for path in tables):
            return
        if not tables:
            what = "no input file was given (--sites, --groupings, --locations, ...)"
        elif len(tables) == 1:
            kind = "a CSV file" if tables[0].suffix.lower() == ".csv" else "not a workbook"
            what = f"{tables[0].name} is {kind}"
        else:
            what = f"{', '.join(p.name for p in tables)} are not workbooks"
        reason = f"applies to an Excel workbook (.xlsx, .xlsm, .xls); {what}"
        raise ConfigError(
            f"sheet={self.sheet!r} {reason}: leave out sheet",
            cli_message=f"--sheet {self.sheet} {reason}: leave out --sheet",
        )

    def paths(self) -> list[Path]:
        """Return every file this run reads, bundled ones included, in a stable order."""
        files: list[Path] = list(self.sites) or [
            bundled.eric_sites_path(),
            bundled.eric_pfi_path(),
            *bundled.eric_return_paths().values(),
            *bundled.postcode_paths(),
            *(parse_eric_spec(spec)[0] for spec in self.eric),
        ]
        files.append(self.boundaries or bundled.boundaries_path())
        files.append(self.groupings or bundled.groupings_path())
        files.extend(bundled.context_site_paths())
        files.extend(
            [
                bundled.residential_land_values_path(),
                bundled.nonresidential_land_values_path(),
                bundled.borough_industrial_areas_path(),
            ]
        )
        files.extend(p for p in (self.locations, self.land_values, self.pipeline) if p)
        return files


#: Rows per part when ``estates build`` reads large site files.
DEFAULT_CHUNK_ROWS = 200_000
#: Site files larger than this (in all) are built in parts of :data:`DEFAULT_CHUNK_ROWS`.
CHUNKED_ABOVE_BYTES = 256 * 1024**2


def parts_needed(inputs: Inputs, *, chunk_rows: int | None) -> int | None:
    """Return the rows per part for ``inputs``: ``chunk_rows``, or None for one part.

    Site files larger than :data:`CHUNKED_ABOVE_BYTES` in all are read in
    parts of :data:`DEFAULT_CHUNK_ROWS` unless ``chunk_rows`` says otherwise.
    Known from the files' sizes alone, before any data library is imported.
    """
    if chunk_rows is not None:
        return chunk_rows
    size = sum(Path(p).stat().st_size for p in inputs.sites if Path(p).is_file())
    return DEFAULT_CHUNK_ROWS if size > CHUNKED_ABOVE_BYTES else None
