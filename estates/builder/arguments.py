"""What :func:`estates.build` was given, turned into the files a build reads.

An analyst passes a path (``str`` or :class:`~pathlib.Path`), several paths,
or a pandas DataFrame / GeoDataFrame in place of an input file. A frame is
saved, exactly as given (a named index as its column), to a file in a
temporary folder and read back by the same loader as a file: it gets the same
checks and the same findings, its rows numbered as that file's (a DataFrame is
saved as CSV, header = row 1, first record = row 2; a GeoDataFrame as
GeoParquet, first feature = row 1), and the findings name it
``sites_frame.csv``, ``boundaries_frame.parquet`` and so on.
Nothing else may be passed: any other type is refused with what is accepted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from estates.builder.inputs import Inputs
from estates.errors import ConfigError, CRSError

#: Inputs that may be a GeoDataFrame (a layer with a CRS).
LAYER_INPUTS = ("sites", "boundaries")
#: Inputs that may be a DataFrame (saved as CSV).
TABLE_INPUTS = ("sites", "groupings", "locations", "land_values", "pipeline")
#: Inputs that take several files.
MANY_INPUTS = ("sites", "eric")
#: Inputs that are files (or frames in their place); the other fields of ``Inputs`` are options.
FILE_INPUTS = ("sites", "boundaries", "groupings", "locations", "land_values", "pipeline", "eric")


def input_keywords() -> tuple[str, ...]:
    """Return the names of every field of :class:`Inputs`: each is a keyword of ``build``."""
    return tuple(f.name for f in fields(Inputs))


@contextmanager
def given_inputs(values: Mapping[str, Any]) -> Iterator[Inputs]:
    """Yield :class:`Inputs` for ``values``, keyword by keyword, frames saved to files.

    Parameters
    ----------
    values : mapping
        ``{field of Inputs: value}``; ``None`` (or an empty sequence) means the
        bundled data. File inputs are checked and converted here; the other
        fields (column names, year, options added later) are passed on as given
        and checked by the build.

    Yields
    ------
    Inputs
        Valid while the ``with`` block runs: the frames' files are deleted after it.

    Raises
    ------
    TypeError
        For a keyword that is no field of :class:`Inputs` (as Python does).
    ConfigError
        For a value of a type that input does not accept; the message says
        what it accepts.
    CRSError
        For a frame that holds geometries but declares no CRS.
    """
    known = input_keywords()
    unknown = sorted(set(values) - set(known))
    if unknown:
        msg = f"unknown input {unknown[0]!r}; the inputs are: {', '.join(known)}"
        raise TypeError(msg)
    # Fields declared ``str | None`` (a year, a column name) must be given as text.
    text = {f.name: str(f.type).replace(" ", "") in {"str|None", "str"} for f in fields(Inputs)}
    with tempfile.TemporaryDirectory(prefix="estates-frames-") as folder:
        saver = _Saver(Path(folder))
        converted: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            if name not in FILE_INPUTS:
                converted[name] = _checked_text(name, value, text[name])
            elif name in MANY_INPUTS:
                converted[name] = saver.many(name, value)
            else:
                converted[name] = saver.one(name, value)
        yield Inputs(**converted)


def _checked_text(name: str, value: object, text: bool) -> object:
    """Return ``value``, or raise :class:`ConfigError` if the text option ``name`` is not text."""
    if text and not isinstance(value, str):
        msg = f"{name}: got a {type(value).__name__} ({value!r}); give it as text (str)"
        raise ConfigError(msg)
    return value


def accepted(name: str) -> str:
    """Return, in words, what input ``name`` accepts."""
    path = "a path (str or pathlib.Path)"
    if name == "sites":
        return f"{path}, a pandas DataFrame, a GeoDataFrame with a CRS, or a list of them"
    if name in MANY_INPUTS:
        return f"{path} or a list of paths"
    if name in LAYER_INPUTS:
        return f"{path} or a GeoDataFrame with a CRS"
    if name in TABLE_INPUTS:
        return f"{path} or a pandas DataFrame"
    return path


class _Saver:
    """Check each value and save each frame to a file in ``folder``, named for its input."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def many(self, name: str, value: object) -> tuple[Any, ...]:
        if isinstance(value, str | os.PathLike | pd.DataFrame):
            items: Sequence[object] = [value]
        elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
            items = value
        else:
            raise _refused(name, value)
        frames = sum(isinstance(item, pd.DataFrame) for item in items)
        out: list[Any] = []
        for item in items:
            if name == "eric":  # FILE or FILE:YYYY/YY, kept as text for the year suffix
                if not isinstance(item, str | os.PathLike):
                    raise _refused(name, item)
                out.append(os.fspath(item))
            else:
                out.append(self.one(name, item, numbered=frames > 1))
        return tuple(out)

    def one(self, name: str, value: object, *, numbered: bool = False) -> Path:
        if isinstance(value, str | os.PathLike):
            return Path(value)
        if isinstance(value, gpd.GeoDataFrame) and name in LAYER_INPUTS:
            return self._save_layer(name, value, numbered=numbered)
        if (
            isinstance(value, pd.DataFrame)
            and not isinstance(value, gpd.GeoDataFrame)
            and name in TABLE_INPUTS
        ):
            return self._save_table(name, value, numbered=numbered)
        raise _refused(name, value)

    def _path(self, name: str, suffix: str, *, numbered: bool) -> Path:
        n = 1
        stem = f"{name}_frame" + ("_1" if numbered else "")
        while stem + suffix in self.used:
            n += 1
            stem = f"{name}_frame_{n}"
        self.used.add(stem + suffix)
        return self.folder / (stem + suffix)

    def _save_layer(self, name: str, frame: gpd.GeoDataFrame, *, numbered: bool) -> Path:
        if frame.crs is None:
            msg = (
                f"{name}: the GeoDataFrame declares no CRS; set the one its coordinates are in, "
                "e.g. frame.set_crs('EPSG:4326') for longitude/latitude or "
                "frame.set_crs('EPSG:27700') for British National Grid"
            )
            raise CRSError(msg)
        path = self._path(name, ".parquet", numbered=numbered)
        try:
            _with_named_index(frame).to_parquet(path, index=False)
        except (TypeError, ValueError) as exc:  # pyarrow's errors subclass these
            msg = f"{name}: the GeoDataFrame cannot be saved as GeoParquet to be read ({exc})"
            raise ConfigError(msg) from exc
        return path

    def _save_table(self, name: str, frame: pd.DataFrame, *, numbered: bool) -> Path:
        for i, column in enumerate(frame.columns):
            cells = frame.iloc[:, i]
            if cells.dtype == object and shapely.is_geometry(cells.to_numpy()).any():
                msg = (
                    f"{name}: column {column!r} holds geometries but the DataFrame declares "
                    "no CRS; make it a GeoDataFrame with one, e.g. "
                    f"geopandas.GeoDataFrame(frame, geometry={str(column)!r}, crs='EPSG:4326')"
                )
                raise CRSError(msg)
        path = self._path(name, ".csv", numbered=numbered)
        _with_named_index(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        return path


def _with_named_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with its named index levels as columns (``set_index("site_code")``).

    An unnamed index (0, 1, 2 …) is only row positions and is not saved.
    """
    if any(level is not None for level in frame.index.names):
        return frame.reset_index()
    return frame


def _refused(name: str, value: object) -> ConfigError:
    kind = type(value).__name__
    if isinstance(value, gpd.GeoDataFrame):
        kind = "GeoDataFrame (a table input: give a DataFrame)"
    elif isinstance(value, pd.DataFrame):
        kind = "DataFrame (a layer input: give a GeoDataFrame with a CRS)"
    return ConfigError(f"{name}: got a {kind}; give {accepted(name)}")


__all__ = ["FILE_INPUTS", "accepted", "given_inputs", "input_keywords"]
