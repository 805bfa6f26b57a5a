"""Read a table's columns leniently, as the scoring and the totals need them.

Site tables come from users' files as well as from the pipeline, so a
column may be missing, hold text, or hold pandas' nullable types. Every
stage reads numbers and flags the same way: a number that is missing or not
a number is NaN (never 0, which would be a figure), and a flag that is
missing is False. Every stage copies its input the same way too
(:func:`stage_copy`), so that the input is left as it was.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

FrameT = TypeVar("FrameT", bound=pd.DataFrame)

#: pandas 3 copies a column only when either frame changes it (copy-on-write, always on).
COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def stage_copy(frame: FrameT) -> FrameT:
    """Return a copy of ``frame`` that a stage can change while its input stays as it is.

    With pandas 3's copy-on-write a shallow copy is enough: a column set or
    changed on it is its own, and the input's columns are left alone; a
    deep copy of a 200,000-site part took 60 ms, and a part went through
    nine of them. Under pandas 2 (copy-on-write off) a deep copy, as before.

    Examples
    --------
    >>> f = pd.DataFrame({"a": [1, 2]})
    >>> g = stage_copy(f)
    >>> g.loc[0, "a"] = 9
    >>> f["a"].tolist(), g["a"].tolist()
    ([1, 2], [9, 2])
    """
    copied: FrameT = frame.copy(deep=not COPY_ON_WRITE)  # geopandas keeps its own type
    return copied


def number_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``frame[column]`` as float64; NaN where missing, not a number, or no such column.

    Examples
    --------
    >>> number_column(pd.DataFrame({"ha": ["1.5", None, "lots"]}), "ha").tolist()
    [1.5, nan, nan]
    >>> number_column(pd.DataFrame(index=[0]), "ha").tolist()
    [nan]
    """
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def flag_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``frame[column]`` as bool; False where missing or no such column.

    Examples
    --------
    >>> flag_column(pd.DataFrame({"pfi": [True, None, False]}), "pfi").tolist()
    [True, False, False]
    """
    if column not in frame:
        return pd.Series(False, index=frame.index, dtype=bool)
    return frame[column].astype("boolean").fillna(False).astype(bool)


def detached_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame``'s rows as a new frame that shares no column buffer with it.

    A frame kept while a build's parts go by must not be a slice of a part:
    a slice of an Arrow-backed column, even of no rows, keeps the whole
    column's buffers alive. A handful of rows kept per part held every part's
    text, about 75 bytes a site (about 0.7 GiB at 10 million sites). The rows
    are copied through Python objects, so this is for the few rows a part
    leaves behind, not for a part.

    Examples
    --------
    >>> part = pd.DataFrame({"code": pd.array(["a", "b", "c"], dtype="string"), "ha": 1.5})
    >>> none = detached_rows(part.iloc[:0])
    >>> none.shape, none.dtypes.equals(part.dtypes)
    ((0, 2), True)
    >>> detached_rows(part.iloc[1:])["code"].tolist()
    ['b', 'c']
    """
    # Through Python objects: taking rows by position gives back a slice (every buffer
    # shared) when the positions are none or a run, and the rows kept are few.
    out = frame.astype(object).astype(frame.dtypes.to_dict())
    out.index = frame.index.copy(deep=True)
    return out
