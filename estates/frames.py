"""Read a table's columns leniently, as the scoring and the totals need them.

Site tables come from users' files as well as from the pipeline, so a
column may be missing, hold text, or hold pandas' nullable types. Every
stage reads numbers and flags the same way: a number that is missing or not
a number is NaN (never 0, which would be a figure), and a flag that is
missing is False.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
