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
