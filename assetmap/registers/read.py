"""Turn a register file's bytes into a raw table: the entry point of register reading.

The format is decided by the file's content, never by its name
(:mod:`~assetmap.registers.formats`): zip archives (XLSX workbooks or zipped
Shapefiles, inspected by :mod:`~assetmap.registers.limits` before anything opens
them), legacy XLS, GeoPackage, GeoJSON and delimited text. Each format has its
reader: :mod:`~assetmap.registers.delimited`, :mod:`~assetmap.registers.workbooks`
and :mod:`~assetmap.registers.spatial` (which hands spatial files to GDAL as bytes in
memory, so a user-supplied string never reaches GDAL as a path or URL).

Every value of a raw table is text, exactly as the register wrote it: parsing
numbers, dates and units is the job of :mod:`assetmap.registers.validate`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._validate import raise_if_any
from ..errors import AssetmapError, InvalidArgumentError, RegisterReadError
from ..schema import stripped_text
from .delimited import read_delimited
from .formats import FORMATS, sniff_format
from .limits import (
    DEFAULT_MAX_COLUMNS,
    DEFAULT_MAX_ROWS,
    ZipLimits,
    check_row_count,
    inspect_zip,
    too_many_columns,
)
from .spatial import check_geojson, read_spatial
from .workbooks import read_workbook

__all__ = [
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_ROWS",
    "FORMATS",
    "RawRegister",
    "ZipLimits",
    "inspect_zip",
    "read_register",
    "read_regular_file",
    "sniff_format",
]


@dataclass
class RawRegister:
    """A register as read from its file, before any interpretation.

    Attributes
    ----------
    table
        One row per record, every column as text (missing values are ``""``).
    row_numbers
        For each row, the number a person would use to find it: in a
        spreadsheet or CSV the row as numbered with the header as row 1, in a
        spatial file the feature's position counted from 1.
    geometry
        The features' geometries in EPSG:27700, for spatial formats; else ``None``.
    format
        A key of :data:`FORMATS`.
    name
        The file name the register came with.
    sha256
        The SHA-256 of the file's bytes, in hex.
    layer
        The layer or sheet read, where the format has several.
    layers
        Every layer or sheet in the file.
    notes
        Plain-English notes about how the file was read (encoding, delimiter...).
    """

    table: pd.DataFrame
    row_numbers: np.ndarray
    geometry: object | None
    format: str
    name: str
    sha256: str
    layer: str | None = None
    layers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, missing values as ``""``, headers as stripped strings."""
    out: dict[str, pd.Series] = {}
    taken: set[str] = set()
    last: dict[str, int] = {}  # the last number given to copies of a header
    for i, col in enumerate(frame.columns):
        name = str(col).strip() if col is not None else ""
        if not name or name.lower().startswith("unnamed:"):
            name = f"column {i + 1}"
        if name in taken:  # duplicate headers keep both, the later ones numbered
            n = last.get(name, 1) + 1
            while f"{name} ({n})" in taken:  # each number is tried once per header
                n += 1
            last[name] = n
            name = f"{name} ({n})"
        taken.add(name)
        values = frame.iloc[:, i]
        if isinstance(values.dtype, pd.StringDtype):
            text = values
        elif values.dtype.kind in "fO":
            # 415.0 -> "415", 415.05 -> "415.05"; dates -> ISO; missing -> ""
            text = values.map(_cell_text).astype("str")
        else:
            text = values.astype("str").where(values.notna(), "")
        out[name] = stripped_text(text)
    return pd.DataFrame(out, index=frame.index)


def _cell_text(value: object) -> str:
    """Return one cell as text: floats without ``.0``, dates in ISO form, missing as ``""``."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, (pd.Timestamp,)) or hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    if value is pd.NaT or value is pd.NA:
        return ""
    return str(value)


#: What a path that is not a regular file is, for messages.
_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def read_regular_file(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    expected: str = "a register file",
    error: type[AssetmapError] = RegisterReadError,
    max_bytes: int | None = None,
) -> bytes:
    """Return the bytes of the regular file at ``path``; refuse anything else unread.

    A named pipe would make a reader wait for ever, and a device such as
    ``/dev/zero`` would be read without end, so the path is opened without
    waiting (``O_NONBLOCK``), checked to be a regular file, and only then read.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages: ``"there is no {what} at ..."``.
    expected
        What should have been given instead, for messages.
    error
        The error class to raise.
    max_bytes
        Refuse a file larger than this many bytes; no limit when ``None``.

    Returns
    -------
    bytes

    Raises
    ------
    AssetmapError
        Of class ``error``: no such file, not a regular file, unreadable or too large.
    """
    path = Path(path)
    shown = str(path)
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"there is no {what} at {shown!r}") from None
    except OSError as exc:
        kind = _file_kind(path)
        if kind is not None:  # a socket cannot be opened at all
            raise error(f"{shown!r} is {kind}, not a file; expected {expected}") from None
        raise error(
            f"the {what} {shown!r} cannot be opened: {(exc.strerror or str(exc)).lower()}"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # checked on what was opened, not on the name again
            kind = next((k for test, k in _FILE_KINDS if test(mode)), "a special file")
            raise error(f"{shown!r} is {kind}, not a file; expected {expected}")
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    too_big = f"the {what} {path.name!r} is larger than the limit of {max_bytes or 0:,} bytes"
    with handle:
        if max_bytes is not None and os.fstat(fd).st_size > max_bytes:
            raise error(too_big)
        try:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        except OSError as exc:
            raise error(
                f"the {what} {shown!r} cannot be read: {(exc.strerror or str(exc)).lower()}"
            ) from None
    if max_bytes is not None and len(data) > max_bytes:  # it grew while being read
        raise error(too_big)
    return data


def _file_kind(path: Path) -> str | None:
    """Say what ``path`` is when it is not a regular file (``"a folder"``...), else ``None``."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), None)


#: A file at least this large is hashed in a second thread while it is parsed.
_HASH_ASIDE_BYTES = 1 << 20
_HASHER = None


def _sha256_hex(data: bytes) -> Future:
    """Return the SHA-256 of ``data`` in hex, as a future.

    A large file is hashed in a second thread (hashlib lets go of Python's lock)
    while this one parses it.
    """
    global _HASHER
    if len(data) < _HASH_ASIDE_BYTES:
        done: Future = Future()
        done.set_result(hashlib.sha256(data).hexdigest())
        return done
    if _HASHER is None:
        _HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetmap-sha256")
    return _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())


def _check_limits(max_rows: int | None, max_columns: int | None) -> None:
    """Refuse ``max_rows`` or ``max_columns`` that is given but not a whole number from 1.

    Raises
    ------
    InvalidArgumentError
        Naming each wrong argument.
    """
    problems = []
    for option, value, unit in (
        ("max_rows", max_rows, "rows"),
        ("max_columns", max_columns, "columns"),
    ):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not (whole and int(value) >= 1):
            problems.append(
                f"{option}={value!r} is not valid; expected a whole number of {unit}, at least 1"
            )
    raise_if_any(problems)


def _read_table(
    data: bytes,
    fmt: str,
    layer: str | None,
    zip_limits: ZipLimits | None,
    limits: tuple[int, int],
    notes: list[str],
) -> tuple[pd.DataFrame, np.ndarray, object | None, str | None, list[str]]:
    """Read a file of format ``fmt`` with its reader, within ``limits`` (rows, columns).

    Returns
    -------
    table, row_numbers, geometry, layer, layers
        As :func:`~assetmap.registers.spatial.read_spatial` returns them; ``None``
        and ``[]`` for the geometry and layers where the format has none.
    """
    max_rows, max_columns = limits
    if fmt == "csv":
        table, rows = read_delimited(data, notes, max_columns)
        return table, rows, None, layer, []
    if fmt in ("xlsx", "xls"):
        table, rows, sheet, sheets = read_workbook(data, layer, notes)
        return table, rows, None, sheet, sheets
    if fmt == "geojson":
        data = check_geojson(data)
    return read_spatial(data, fmt, layer, zip_limits, notes, max_rows)


def _as_raw_table(table: pd.DataFrame, max_rows: int, max_columns: int) -> pd.DataFrame:
    """Return a table read from a file as text, once it is within the limits and not empty.

    Raises
    ------
    RegisterReadError
        If the table has too many rows or columns, no rows or no columns.
    """
    check_row_count(len(table), max_rows)
    if table.shape[1] > max_columns:
        raise too_many_columns(table.shape[1], max_columns)
    table = _as_text_frame(table.reset_index(drop=True))
    if table.empty or len(table) == 0:
        raise RegisterReadError("the file has a header but no rows")
    if table.shape[1] == 0:
        raise RegisterReadError("the file has rows but no columns")
    return table


def read_register(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    layer: str | None = None,
    max_rows: int | None = None,
    max_columns: int | None = None,
    zip_limits: ZipLimits | None = None,
) -> RawRegister:
    """Read a register file into a :class:`RawRegister`.

    Parameters
    ----------
    source
        A path to the file, or its bytes (an upload).
    name
        The file name to record; defaults to the path's name (required for bytes).
    layer
        The GeoPackage layer, workbook sheet or shapefile in a zip to read.
    max_rows
        Refuse a file with more rows (or features) than this;
        :data:`DEFAULT_MAX_ROWS` (1,000,000) when ``None``.
    max_columns
        Refuse a file with more columns than this; :data:`DEFAULT_MAX_COLUMNS`
        (2,000) when ``None``. A text file's header is counted before it is parsed.
    zip_limits
        Limits for zip archives, see :class:`ZipLimits`.

    Returns
    -------
    RawRegister

    Raises
    ------
    RegisterReadError
        If the file cannot be read as a table at all (empty, header only, not a
        table, unknown format, a shapefile without ``.prj``, too many rows or
        columns, a path that is a folder, a named pipe or a device...).
    InvalidArgumentError
        If ``layer`` names no layer or sheet of the file, ``name`` is missing or
        ``max_rows`` or ``max_columns`` is not a positive whole number.
    """
    _check_limits(max_rows, max_columns)
    max_rows = DEFAULT_MAX_ROWS if max_rows is None else max_rows
    max_columns = DEFAULT_MAX_COLUMNS if max_columns is None else max_columns
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not name:
            raise InvalidArgumentError("name=None is not valid with bytes; give the file name")
    else:
        path = Path(source)
        data = read_regular_file(path)
        name = name or path.name
    digest = _sha256_hex(data)
    fmt = sniff_format(data, limits=zip_limits)
    notes: list[str] = []
    table, rows, geometry, layer, layers = _read_table(
        data, fmt, layer, zip_limits, (max_rows, max_columns), notes
    )
    return RawRegister(
        table=_as_raw_table(table, max_rows, max_columns),
        row_numbers=rows,
        geometry=geometry,
        format=fmt,
        name=name,
        sha256=digest.result(),
        layer=layer,
        layers=layers,
        notes=notes,
    )
