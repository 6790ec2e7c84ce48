"""Writing files safely: whole or not at all, and tables a spreadsheet cannot run.

Every file assetmap writes (the store, tables, map packs) goes through
:func:`replace_atomically`: it is written under a temporary name in the same
folder, flushed to disk, and renamed over the target, so a reader never sees
half a file and a failure or a kill leaves the old file as it was.

Every table written for people (CSV and XLSX files and downloads) goes through
:func:`safe_table`: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return would run as a formula in Excel or LibreOffice
("CSV injection"), so it is written with a leading ``'`` (the OWASP advice);
numbers stay numbers. :func:`csv_bytes` and :func:`xlsx_bytes` give a table as
the bytes of a file, for downloads.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "csv_bytes",
    "neutralise_text",
    "replace_atomically",
    "safe_table",
    "unwritable_folder",
    "write_csv_text",
    "xlsx_bytes",
]

#: Text cells beginning with one of these are neutralised in CSV and XLSX files.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unwritable_folder(start: str | os.PathLike) -> tuple[Path, str | None]:
    """The nearest existing folder at or above ``start``, and why nothing can be written
    there: ``"not a folder"``, ``"not writable"`` or ``None`` (it can).

    Missing folders below it are created when a file is written.
    """
    folder = Path(start)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return folder, "not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return folder, "not writable"
    return folder, None


@contextlib.contextmanager
def replace_atomically(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success, move it over ``path``.

    The temporary file does not exist when the block starts (GDAL and pandas
    create files themselves); if the block raises, it is removed and ``path``
    is untouched.

    Parameters
    ----------
    path
        The file to write; its folder is created if missing.
    suffix
        The temporary file's suffix (GDAL picks its driver from it, e.g. ``".tmp.gpkg"``).

    Yields
    ------
    pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def neutralise_text(value: object) -> object:
    """Return ``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, dates, missing values) is returned
    as it is.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` fit to write for people: formula-like text neutralised.

    A GeoDataFrame's geometry becomes a ``wkt_bng`` column (WKT, 0.1 m). Text
    cells (and column names) that begin with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return get a leading ``'``; numeric, boolean and date columns
    are untouched. A named index becomes a column.

    Parameters
    ----------
    frame
        Any table.

    Returns
    -------
    pandas.DataFrame
    """
    import geopandas as gpd
    import shapely

    out = pd.DataFrame(frame).copy()
    if isinstance(frame, gpd.GeoDataFrame):
        name = frame.geometry.name
        out[name] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=1)
        out = out.rename(columns={name: "wkt_bng"})
    if any(n is not None for n in out.index.names):
        out = out.reset_index()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        values = series.astype("object")
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
        if risky.any():
            out[column] = values.map(neutralise_text)
    out.columns = [neutralise_text(str(c)) for c in out.columns]
    return out


def write_csv_text(frame: pd.DataFrame, target) -> None:
    """Write a table as CSV (UTF-8, CRLF line ends as RFC 4180) through :func:`safe_table`.

    With CRLF line ends every cell holding a carriage return or a line feed is
    quoted, so no cell's text can start a new row.

    Parameters
    ----------
    frame
        Any table.
    target
        A path or a text buffer.
    """
    safe_table(frame).to_csv(target, index=False, encoding="utf-8", lineterminator="\r\n")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as the bytes of a UTF-8 CSV file (see :func:`write_csv_text`)."""
    buffer = io.StringIO()
    write_csv_text(frame, buffer)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "table") -> bytes:
    """A table as the bytes of an XLSX workbook (one sheet), through :func:`safe_table`.

    Every neutralised cell is written as text, never as a formula; characters
    that XLSX cannot hold (control characters) are dropped; time-zone-aware
    dates are written as ISO text.

    Parameters
    ----------
    frame
        Any table.
    sheet
        The sheet's name (at most 31 characters are kept).

    Returns
    -------
    bytes
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    table = safe_table(frame)
    book = Workbook(write_only=True)
    ws = book.create_sheet(title=(sheet or "table")[:31])
    ws.append([ILLEGAL_CHARACTERS_RE.sub("", str(c)) for c in table.columns])
    for row in table.itertuples(index=False, name=None):
        cells = []
        for value in row:
            if value is None or value is pd.NA or value is pd.NaT:
                cells.append(None)
            elif isinstance(value, float) and value != value:
                cells.append(None)
            elif isinstance(value, str):
                cells.append(ILLEGAL_CHARACTERS_RE.sub("", value))
            elif isinstance(value, pd.Timestamp):
                cells.append(value.isoformat() if value.tzinfo else value.to_pydatetime())
            elif hasattr(value, "item"):  # numpy scalars
                cells.append(value.item())
            else:
                cells.append(value if isinstance(value, int | float | bool) else str(value))
        ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
