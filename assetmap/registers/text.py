"""Build the text columns of canonical rows fast, with Arrow.

A register's columns often hold one value on every row (its agency, its sector,
how it was located): these helpers build such columns, and columns of one of
two values, without pandas broadcasting a Python string row by row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import stripped_text

__all__ = ["cell_text", "constant_text", "either_text", "object_text"]


def constant_text(value: str, index: pd.Index) -> pd.Series:
    """Return a text column (dtype ``str``) holding ``value`` on every row of ``index``.

    Built by Arrow in one go: several times faster than pandas' broadcasting of a
    scalar, which matters for the columns a register gives one value for all rows.
    """
    import pyarrow as pa

    n = len(index)
    data = str(value).encode("utf-8")
    # the buffers of a large_string array: offsets 0, k, 2k... and the bytes n times
    offsets = np.arange(0, len(data) * (n + 1), len(data) or 1, dtype=np.int64)
    if not data:
        offsets = np.zeros(n + 1, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))
    return pd.Series(pd.array(arr, dtype=pd.StringDtype(na_value=np.nan)), index=index)


def cell_text(table: pd.DataFrame, column: str | None) -> pd.Series:
    """Return a column's cells as stripped text, or blanks where there is no column.

    Parameters
    ----------
    table
        The register (or a chunk of it) as text.
    column
        The column to read; ``None`` when the register has none for the field.

    Returns
    -------
    pandas.Series
        Text (dtype ``str``), ``""`` where a cell or the column is missing.
    """
    if column is None:
        return constant_text("", table.index)
    return stripped_text(table[column])


def either_text(mask: np.ndarray, yes: str, no: str, index: pd.Index) -> pd.Series:
    """Return a text column (dtype ``str``): ``yes`` where ``mask``, else ``no``."""
    import pyarrow as pa

    labels = pa.array([no, yes], type=pa.large_string()).take(pa.array(mask.astype(np.int8)))
    return pd.Series(pd.array(labels, dtype=pd.StringDtype(na_value=np.nan)), index=index)


def object_text(values: np.ndarray, index: pd.Index) -> pd.Series:
    """Return a numpy array of Python strings as a text column (dtype ``str``).

    One value on every row (how a register is mostly located) is built without
    a conversion.
    """
    if len(values) and (values == values[0]).all():
        return constant_text(values[0], index)
    return pd.Series(values, index=index, dtype="str")
