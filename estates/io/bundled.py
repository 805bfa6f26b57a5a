"""Where the bundled real data live, in a source checkout or an installed wheel.

The data are not copied into the package in a checkout (they sit in ``data/``
at the repository root, with their provenance); a wheel carries them as
``estates/_bundled_data``. Everything else asks this module for paths.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Return the folder holding ``boundaries/``, ``sites/``, ``estates/`` and ``valuation/``."""
    installed = _PACKAGE_DIR / "_bundled_data"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "data"


def boundaries_path() -> Path:
    """ONS London borough boundaries (May 2020, BGC), GeoJSON in WGS84."""
    return data_dir() / "boundaries" / "london_boroughs.geojson"


def groupings_path() -> Path:
    """Pilots and sub-regions as borough memberships, keyed on GSS codes."""
    return data_dir() / "boundaries" / "london_groupings.csv"


def context_site_paths() -> list[Path]:
    """NHS hospital and clinic records with coordinates, newest file first.

    The order matters: it is the order in which an ERIC site code is looked up.
    """
    sites = data_dir() / "sites"
    return [
        sites / "nhs_hospitals_london_2018.csv",
        sites / "nhs_hospitals_london_2014.csv",
        sites / "nhs_clinics_london_2014.csv",
    ]


def eric_sites_path() -> Path:
    """ERIC 2016/17 site-level records for the London-region trusts."""
    return data_dir() / "estates" / "eric_sites_london.csv"


def eric_pfi_path() -> Path:
    """ERIC 2016/17 PFI sheet, London rows."""
    return data_dir() / "estates" / "eric_pfi_sites_2016_17_london.csv"


def eric_trust_path() -> Path:
    """ERIC 2016/17 trust-level records for the London-region trusts."""
    return data_dir() / "estates" / "eric_trust_2016_17_london.csv"


#: The ERIC site returns bundled, by financial year, oldest first.
ERIC_RETURN_FILES: dict[str, str] = {
    "2013/14": "eric_sites_2013_14_london.csv",
    "2014/15": "eric_sites_2014_15_london.csv",
    "2015/16": "eric_sites_2015_16_london.csv",
    "2016/17": "eric_sites_london.csv",
    "2019/20": "eric_sites_2019_20_london.csv",
}


def eric_return_paths() -> dict[str, Path]:
    """ERIC site returns of London-region trusts for every bundled year, oldest first.

    2013/14 to 2015/16 report ``Site land area``; 2016/17 and 2019/20 report
    ``Land area owned``: see ``data/PROVENANCE.md`` before comparing them.
    """
    folder = data_dir() / "estates"
    return {year: folder / name for year, name in ERIC_RETURN_FILES.items()}


def postcode_paths() -> list[Path]:
    """ONS postcode centroids (NSPL, May 2025): the 20 London areas, then ERIC's others."""
    folder = data_dir() / "postcodes"
    return [folder / "london_postcodes.csv.gz", folder / "eric_postcodes_outside_london.csv"]


def residential_land_values_path() -> Path:
    """MHCLG land value estimates 2017, residential £ per ha for the 33 London boroughs."""
    return data_dir() / "valuation" / "land_values_2017_london.csv"


def nonresidential_land_values_path() -> Path:
    """MHCLG land value estimates 2017, industrial, office and agricultural rows for London."""
    return data_dir() / "valuation" / "land_values_2017_london_nonresidential.csv"


def borough_industrial_areas_path() -> Path:
    """Each London borough's industrial-land area in the 2017 estimates, with reasoning."""
    return data_dir() / "valuation" / "borough_industrial_areas.csv"
