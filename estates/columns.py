"""The data dictionary: every output column's name, type, unit, meaning, source and derivation.

The dictionary is data (``estates/columns.toml``); ``docs/columns.md`` is
generated from it with ``python -m estates.columns > docs/columns.md``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

_DICTIONARY = Path(__file__).with_name("columns.toml")


@dataclass(frozen=True)
class Column:
    """One documented output column.

    ``type`` is one of ``string``, ``float``, ``integer``, ``boolean``
    (:mod:`estates.schema` maps each to its pandas, Arrow and GeoPackage
    type); ``on_map`` is True for the columns the web map's site payload carries.
    A name with ``<id>`` (``pilot_<id>``) describes a family: one column per
    group id of the groupings file.
    """

    name: str
    type: str
    unit: str
    meaning: str
    source: str
    derivation: str
    on_map: bool = False

    @property
    def is_family(self) -> bool:
        """Return True for a family of columns, one per group: a name such as ``pilot_<id>``."""
        return "<id>" in self.name

    @property
    def prefix(self) -> str:
        """Return the name before ``<id>`` (``pilot_``); the whole name if not a family."""
        return self.name.split("<id>", 1)[0]


def load_columns(path: Path = _DICTIONARY) -> list[Column]:
    """Return the documented columns, in the dictionary's order.

    Examples
    --------
    >>> columns = load_columns()
    >>> columns[0].name, columns[0].type
    ('site_code', 'string')
    """
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return [Column(**entry) for entry in data["column"]]


def load_orders(path: Path = _DICTIONARY) -> dict[str, tuple[str, ...]]:
    """Return the dictionary's named column orders (``[orders]``), e.g. ``site_years``.

    Raises
    ------
    ValueError
        If an order names a column the dictionary does not describe, or one twice.

    Examples
    --------
    >>> load_orders()["site_years"][:3]
    ('eric_year', 'site_code', 'site_name')
    """
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    described = {entry["name"] for entry in data["column"]}
    orders: dict[str, tuple[str, ...]] = {}
    for name, columns in data.get("orders", {}).items():
        unknown = [c for c in columns if c not in described]
        if unknown or len(set(columns)) != len(columns):
            msg = (
                f"{path.name}: order {name} names undescribed or repeated columns: "
                f"{', '.join(unknown) or 'a repeat'}"
            )
            raise ValueError(msg)
        orders[name] = tuple(columns)
    return orders


def to_markdown(columns: list[Column]) -> str:
    """Render the dictionary as the Markdown table of ``docs/columns.md``."""
    lines = [
        "# Site table columns",
        "",
        "Generated from `estates/columns.toml` by `python -m estates.columns`; do not edit.",
        "The site table is `sites.parquet` (GeoParquet, EPSG:4326), layer `sites` of",
        "`sites.gpkg` (EPSG:27700) and `sites.csv` (no geometry). Empty cells are missing",
        "values, never zero.",
        "",
        "| column | type | unit | meaning | source | derivation |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in columns:
        cells = [f"`{c.name}`", c.type, c.unit, c.meaning, c.source, c.derivation]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(to_markdown(load_columns()), end="")
