"""Read a workbook (.xlsx or legacy .xls) into a table, finding its header row.

python-calamine reads both kinds. The first sheet with data is read unless a sheet is
named, and the header is the first row at least half as full as the fullest near the top,
so title rows above a table are passed over.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError, RegisterReadError

__all__ = ["read_workbook"]

#: The reader: python-calamine reads .xlsx and legacy .xls alike, and quickly.
_ENGINE: Literal["calamine"] = "calamine"


def _find_header_row(raw: pd.DataFrame) -> int:
    """Return the first row that is at least half as full as the fullest of the first 20."""
    filled = raw.head(20).notna().sum(axis=1)
    if filled.empty:
        return 0
    need = max(2, int(np.ceil(filled.max() / 2)))
    hits = np.flatnonzero(filled.to_numpy() >= need)
    return int(hits[0]) if len(hits) else 0


def _first_sheet_with_data(data: bytes, layer: str | None) -> tuple[pd.DataFrame, str, list[str]]:
    """Return the sheet ``layer`` (or the first with data) as read, without empty rows.

    Returns
    -------
    raw, sheet, sheets
        The sheet's cells (empty rows and columns dropped), its name, and every
        sheet's name.
    """
    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it ignores (data validation...)
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = pd.ExcelFile(io.BytesIO(data), engine=_ENGINE)
            sheets = [str(s) for s in book.sheet_names]
            if layer is not None and layer not in sheets:
                raise InvalidArgumentError(
                    f"layer={layer!r} is not a sheet of this workbook; "
                    f"expected one of: {', '.join(sheets)}"
                )
            order = [layer] if layer is not None else sheets
            for sheet in order:
                raw = pd.read_excel(
                    io.BytesIO(data), sheet_name=sheet, header=None, dtype=object, engine=_ENGINE
                )
                raw = raw.dropna(how="all").dropna(axis=1, how="all")
                if not raw.empty:
                    break
            else:
                raise RegisterReadError("the workbook has no sheet with any data in it")
    except (InvalidArgumentError, RegisterReadError):
        raise
    except Exception as exc:  # openpyxl and xlrd raise many kinds on broken files
        raise RegisterReadError(f"the workbook cannot be read: {exc}") from None
    return raw, sheet, sheets


def read_workbook(
    data: bytes, layer: str | None, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray, str, list[str]]:
    """Read one sheet of a workbook into a table, from the row its header is on.

    Parameters
    ----------
    data
        The workbook's bytes.
    layer
        The sheet to read; the first with data when ``None``.
    notes
        Receives notes of the sheet read and the row its header was found on.

    Returns
    -------
    table, row_numbers, sheet, sheets
        The table (headers from the header row), each row's number in the sheet,
        the sheet read and every sheet's name.

    Raises
    ------
    InvalidArgumentError
        If ``layer`` is not a sheet of the workbook.
    RegisterReadError
        If the workbook cannot be read or has no data.
    """
    raw, sheet, sheets = _first_sheet_with_data(data, layer)
    header_at = _find_header_row(raw)
    header_row = int(raw.index[header_at]) + 1  # the sheet's own row number
    header = raw.iloc[header_at]
    body = raw.iloc[header_at + 1 :]
    body.columns = [
        str(h) if pd.notna(h) else f"column {i + 1}" for i, h in enumerate(header.tolist())
    ]
    rows = body.index.to_numpy(dtype="int64") + 1  # the sheet's own row numbers
    body = body.reset_index(drop=True)
    if header_row > 1:
        notes.append(f"the header was found on row {header_row} of sheet {sheet!r}")
    notes.append(f"read sheet {sheet!r} of {len(sheets)} in the workbook")
    return body, rows, sheet, sheets
