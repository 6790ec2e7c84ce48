"""Turn a register file's bytes into a raw table.

The format is decided by the file's content, never by its name: zip archives
(XLSX workbooks or zipped Shapefiles), legacy XLS (OLE2), GeoPackage (SQLite),
GeoJSON (JSON) and delimited text (CSV in UTF-8, UTF-8 with BOM or cp1252,
with the delimiter sniffed). Zip archives are inspected before anything opens
them. Spatial formats are handed to GDAL (through pyogrio) as bytes in memory,
so a user-supplied string never reaches GDAL as a path or URL.

Every value of a raw table is text, exactly as the register wrote it: parsing
numbers, dates and units is the job of :mod:`assetmap.registers.validate`.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import json
import os
import re
import stat
import warnings
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd

from .._validate import raise_if_any
from ..errors import AssetmapError, InvalidArgumentError, RegisterReadError, UnsafeArchiveError
from ..schema import CRS_BNG, stripped_text

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

#: Formats assetmap reads, by the name :func:`sniff_format` gives them.
FORMATS: dict[str, str] = {
    "csv": "delimited text (CSV, TSV, semicolon-separated)",
    "xlsx": "Excel workbook (.xlsx)",
    "xls": "legacy Excel workbook (.xls)",
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shapefile": "zipped Shapefile",
}

#: Rows (or features) a register may hold unless ``max_rows`` says otherwise.
DEFAULT_MAX_ROWS = 1_000_000
#: Columns a register may have unless ``max_columns`` says otherwise.
DEFAULT_MAX_COLUMNS = 2_000

_DELIMITERS = ",\t;|:"
_NESTED = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".kmz")
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")


@dataclass(frozen=True)
class ZipLimits:
    """Limits that a zip archive must respect before it is opened.

    Attributes
    ----------
    max_members
        Most members (files and folders) an archive may hold.
    max_total_bytes
        Most bytes all members may expand to together.
    max_ratio
        Highest compression ratio allowed for a member larger than ``ratio_floor``.
    ratio_floor
        Members smaller than this many bytes expanded are not ratio-checked.
    """

    max_members: int = 1_000
    max_total_bytes: int = 1_000_000_000
    max_ratio: float = 100.0
    ratio_floor: int = 10_000_000


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


def inspect_zip(data: bytes, *, limits: ZipLimits | None = None) -> list[zipfile.ZipInfo]:
    """Check a zip archive against ``limits`` without extracting anything.

    Parameters
    ----------
    data
        The archive's bytes.
    limits
        The limits to apply; :class:`ZipLimits` defaults when ``None``.

    Returns
    -------
    list of zipfile.ZipInfo
        The archive's members.

    Raises
    ------
    UnsafeArchiveError
        Listing every reason the archive was refused.
    RegisterReadError
        If the bytes are not a readable zip archive.
    """
    limits = limits or ZipLimits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RegisterReadError(
            f"the file looks like a zip archive but cannot be read: {exc}"
        ) from None
    problems: list[str] = []
    if len(members) > limits.max_members:
        problems.append(f"it holds {len(members):,} members (at most {limits.max_members:,})")
    total = sum(m.file_size for m in members)
    if total > limits.max_total_bytes:
        problems.append(f"it would expand to {total:,} bytes (at most {limits.max_total_bytes:,})")
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
            problems.append(f"member {m.filename!r} points outside the archive")
        if m.filename.lower().endswith(_NESTED):
            problems.append(f"member {m.filename!r} is itself an archive (nested archives)")
        if m.file_size > limits.ratio_floor:
            ratio = m.file_size / max(m.compress_size, 1)
            if ratio > limits.max_ratio:
                problems.append(
                    f"member {m.filename!r} is compressed {ratio:,.0f} to 1 "
                    f"(at most {limits.max_ratio:,.0f} to 1 above "
                    f"{limits.ratio_floor:,} bytes): a possible zip bomb"
                )
    if problems:
        raise UnsafeArchiveError("the zip archive was refused: " + "; ".join(problems))
    return members


def sniff_format(data: bytes, *, limits: ZipLimits | None = None) -> str:
    """Decide a register's format from its content.

    Parameters
    ----------
    data
        The file's bytes.
    limits
        Limits for zip archives, see :func:`inspect_zip`.

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    RegisterReadError
        If the file is empty or not in any format assetmap reads.
    """
    if not data or data.isspace():
        raise RegisterReadError("the file is empty")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        members = inspect_zip(data, limits=limits)
        names = [m.filename.lower() for m in members]
        if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.endswith(".shp") for n in names):
            return "shapefile"
        raise RegisterReadError(
            "the zip archive holds neither a Shapefile (.shp) nor an Excel workbook; "
            f"it holds: {', '.join(sorted(names)[:10]) or 'nothing'}"
        )
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if data[:16] == b"SQLite format 3\x00":
        return "gpkg"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text, as Excel's "Unicode text"
        head = _utf16_text(data)[:4096].lstrip("\ufeff \t\r\n").encode("utf-8")
        return "geojson" if head[:1] in (b"{", b"[") else "csv"
    if head[:1] in (b"{", b"["):
        return "geojson"
    if b"\x00" in data[:8192]:
        raise RegisterReadError(
            "the file is not a register assetmap can read: it is binary, and not an Excel "
            f"workbook, GeoPackage or zip archive (formats read: {', '.join(FORMATS.values())}; "
            "text must be UTF-8, cp1252 or UTF-16 with a byte-order mark)"
        )
    if head[:1] == b"<":
        raise RegisterReadError(
            "the file is not a table: it looks like HTML or XML "
            f"(formats read: {', '.join(FORMATS.values())})"
        )
    return "csv"


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


def _cell_text(value) -> str:
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


def _utf16_text(data: bytes) -> str:
    """Text that starts with a UTF-16 byte-order mark; undecodable bytes become U+FFFD."""
    return data.decode("utf-16", errors="replace").lstrip("\ufeff")


def _decode(data: bytes) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _utf16_text(data), "UTF-16"
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _read_csv(
    data: bytes, notes: list[str], max_columns: int = DEFAULT_MAX_COLUMNS
) -> tuple[pd.DataFrame, np.ndarray]:
    # a UTF-8 file goes to the parser as it is (the parser checks every value is
    # UTF-8), and only its head is decoded here, to sniff the delimiter; any other
    # file, or one the parser refuses, is decoded whole and parsed as that text
    text, encoding, whole = _decode_head(data)
    sample = text[:65536]
    first_lines = sample.splitlines()[:50]
    if len([line for line in first_lines if line.strip()]) == 0:
        raise RegisterReadError("the file is empty")
    try:
        dialect = csv.Sniffer().sniff("\n".join(first_lines), delimiters=_DELIMITERS)
        delimiter = dialect.delimiter
    except csv.Error:
        counts = {d: first_lines[0].count(d) for d in _DELIMITERS}
        delimiter = max(counts, key=counts.get)
        if counts[delimiter] == 0:
            raise RegisterReadError(
                "the file is not a table: no comma, tab, semicolon or other delimiter was "
                "found in its first line"
            ) from None
    utf8 = memoryview(data)[3 if data.startswith(b"\xef\xbb\xbf") else 0 :]  # no copy
    # the header is counted before any parser sees it: a parser makes a column of each
    # name (and pandas renames repeated names in time that grows as their square)
    if _header_width(text if whole else utf8, delimiter, max_columns) > max_columns:
        raise _too_many_columns(None, max_columns)
    frame = _parse_utf8(sample, delimiter, utf8) if encoding == "utf-8-sig" else None
    if frame is None:
        if not whole:
            text, encoding = _decode(data)
        if encoding != "utf-8-sig":  # now UTF-8 for pyarrow
            frame = _parse_utf8(sample, delimiter, text.encode("utf-8"))
        if frame is None:  # ragged rows and other oddities: pandas' reader copes, more slowly
            frame = _parse_text(text, delimiter)
    if frame.shape[1] < 2:
        raise RegisterReadError(
            "the file is not a table: its header has a single column "
            f"({frame.columns[0]!r}); a register needs at least a name and a location"
        )
    names = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe", ":": "colon"}
    notes.append(f"read as text in {encoding} with {names.get(delimiter, delimiter)} delimiters")
    rows = np.arange(len(frame), dtype="int64") + 2
    return frame, rows


def _decode_head(data: bytes) -> tuple[str, str, bool]:
    """The file's first 65,536 characters or more, as UTF-8 while it is UTF-8 so far
    (``"utf-8-sig"``), else the whole file as :func:`_decode` decodes it; and whether
    the text is the whole file.
    """
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        head = data[: 4 * 65536]  # four bytes a character at most
        try:
            whole = len(head) == len(data)
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=whole)
            return text, "utf-8-sig", whole
        except UnicodeDecodeError:
            pass
    return (*_decode(data), True)


@functools.cache
def _field_pattern(delimiter: str, binary: bool) -> re.Pattern:
    """One field of delimited text and the character after it: a quoted field (doubled
    quotes inside; it may hold delimiters and line breaks) or text up to the next delimiter.
    """
    d = re.escape(delimiter)
    pattern = rf'(?:"[^"]*(?:""[^"]*)*"[^{d}\r\n]*|[^{d}\r\n]*)({d})?'
    return re.compile(pattern.encode("ascii") if binary else pattern)


def _header_width(text: str | bytes | memoryview, delimiter: str, limit: int) -> int:
    """The number of fields in the first record of ``text``, counted up to ``limit + 1``.

    Linear in the header's length, and it stops as soon as the count passes ``limit``.
    Bytes are counted as they are: delimiters and quotes are ASCII, which no byte of a
    UTF-8 (or cp1252) character other than themselves can be.
    """
    binary = not isinstance(text, str)
    pattern = _field_pattern(delimiter, binary)
    blank = re.compile(rb"[\r\n]*" if binary else r"[\r\n]*")
    at = blank.match(text).end()  # blank lines above the header are skipped
    count = 0
    while count <= limit:
        field = pattern.match(text, at)
        count += 1
        if field.group(1) is None:  # the end of the line or of the text
            break
        at = field.end()
    return count


def _too_many_columns(count: int | None, max_columns: int) -> RegisterReadError:
    """The error for a file of ``count`` columns (``None``: a header of more than
    ``max_columns`` names, counted before parsing).
    """
    if count is None:
        return RegisterReadError(
            f"the file has more than {max_columns:,} columns (the limit); check that its "
            "first row is its header, or raise the limit (max_columns)"
        )
    return RegisterReadError(
        f"the file has {count:,} columns, more than the limit of {max_columns:,}; keep only "
        "the columns the register needs, or raise the limit (max_columns)"
    )


def _header(sample: str, delimiter: str) -> list[str]:
    """The header row's names as the csv module reads them from the file's first text."""
    try:
        return next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error:  # a stray carriage return...: pandas' reader decides
        return []


def _parse_utf8(sample: str, delimiter: str, utf8: bytes | memoryview) -> pd.DataFrame | None:
    """A UTF-8 file parsed by pyarrow, every cell as a string; None when pyarrow
    cannot (ragged rows, bytes that are not UTF-8 after all...).
    """
    header = _header(sample, delimiter)
    if not header or not all(h.strip() for h in header):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(utf8)),  # the bytes as they are, not a copy
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.large_string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if len(set(table.column_names)) != table.num_columns:  # repeated names, as pandas has them
        table = table.rename_columns(_numbered_like_pandas(table.column_names))
    return table.to_pandas(
        types_mapper=lambda t: pd.StringDtype(na_value=np.nan) if t == pa.large_string() else None
    )


def _numbered_like_pandas(names: list[str]) -> list[str]:
    """Repeated names numbered as pandas' CSV reader numbers them (``x``, ``x.1``,
    ``x.2``..., skipping a name the header already has), in time linear in the number
    of names: pandas' own renaming searches the whole header for each repeat.
    """
    taken = set(names)
    counts: dict[str, int] = {}
    out = []
    for name in names:
        column, count = name, counts.get(name, 0)
        while count > 0:
            counts[name] = count + 1
            column = f"{name}.{count}"
            count = count + 1 if column in taken else counts.get(column, 0)
        taken.add(column)
        counts[column] = count + 1
        out.append(column)
    return out


def _parse_text(text: str, delimiter: str) -> pd.DataFrame:
    """Parse delimited text with pandas' reader, every cell as a string."""
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype="str",
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise RegisterReadError("the file is empty") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise RegisterReadError(f"the file is not a readable table: {exc}") from None


def _find_header_row(raw: pd.DataFrame) -> int:
    """The first row that is at least half as full as the fullest of the first 20."""
    filled = raw.head(20).notna().sum(axis=1)
    if filled.empty:
        return 0
    need = max(2, int(np.ceil(filled.max() / 2)))
    hits = np.flatnonzero(filled.to_numpy() >= need)
    return int(hits[0]) if len(hits) else 0


def _read_workbook(
    data: bytes, fmt: str, layer: str | None, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray, str, list[str]]:
    engine = "calamine"  # reads .xlsx and legacy .xls alike, and quickly
    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it ignores (data validation...)
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = pd.ExcelFile(io.BytesIO(data), engine=engine)
            sheets = [str(s) for s in book.sheet_names]
            if layer is not None and layer not in sheets:
                raise InvalidArgumentError(
                    f"layer={layer!r} is not a sheet of this workbook; "
                    f"expected one of: {', '.join(sheets)}"
                )
            order = [layer] if layer is not None else sheets
            for sheet in order:
                raw = pd.read_excel(
                    io.BytesIO(data), sheet_name=sheet, header=None, dtype=object, engine=engine
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


def _read_spatial(
    data: bytes,
    fmt: str,
    layer: str | None,
    limits: ZipLimits | None,
    notes: list[str],
    max_rows: int = DEFAULT_MAX_ROWS,
):
    import pyogrio

    stem = ""
    if fmt == "shapefile":
        members = inspect_zip(data, limits=limits)
        stems = {}
        for m in members:
            p = PurePosixPath(m.filename)
            if p.suffix.lower() in _SHAPEFILE_PARTS:
                stems.setdefault(str(p.with_suffix("")), set()).add(p.suffix.lower())
        shapes = [s for s, parts in stems.items() if ".shp" in parts]
        if layer is not None:
            if layer not in [PurePosixPath(s).name for s in shapes]:
                raise InvalidArgumentError(
                    f"layer={layer!r} is not a shapefile in this archive; expected one of: "
                    f"{', '.join(PurePosixPath(s).name for s in shapes)}"
                )
            shapes = [s for s in shapes if PurePosixPath(s).name == layer]
        if len(shapes) > 1:
            raise RegisterReadError(
                "the zip archive holds several shapefiles; choose one as the layer: "
                + ", ".join(PurePosixPath(s).name for s in shapes)
            )
        stem = shapes[0]
        missing = [ext for ext in (".shx", ".dbf", ".prj") if ext not in stems[stem]]
        if missing:
            why = {
                ".prj": "its coordinate system (.prj) is missing, so its locations cannot be "
                "placed on the map",
                ".shx": "its shape index (.shx) is missing",
                ".dbf": "its attribute table (.dbf) is missing",
            }
            raise RegisterReadError(
                f"the zipped shapefile {PurePosixPath(stem).name!r} cannot be read: "
                + "; ".join(why[m] for m in missing)
            )
        layer = PurePosixPath(stem).name
    read_kwargs = {}
    layers: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
            # GDAL warns of each unclosed ring; :func:`_read_features` notes them instead
            warnings.filterwarnings("ignore", message="Non closed ring detected")
            if fmt == "gpkg":
                listed = pyogrio.list_layers(io.BytesIO(data))
                layers = [str(name) for name in listed[:, 0]]
                if not layers:
                    raise RegisterReadError("the GeoPackage holds no layers")
                if layer is None:
                    if len(layers) > 1:
                        notes.append(
                            f"the GeoPackage has {len(layers)} layers; read the first, "
                            f"{layers[0]!r} (choose another with layer=)"
                        )
                    layer = layers[0]
                elif layer not in layers:
                    raise InvalidArgumentError(
                        f"layer={layer!r} is not a layer of this GeoPackage; "
                        f"expected one of: {', '.join(layers)}"
                    )
                read_kwargs["layer"] = layer
            elif fmt == "shapefile":
                read_kwargs["layer"] = layer
                layers = [layer]
            if fmt == "shapefile":
                frame = _read_shapefile_parts(data, stem, max_rows, notes)
            else:
                frame = _read_features(data, read_kwargs, max_rows, notes)
    except (InvalidArgumentError, RegisterReadError):
        raise
    except Exception as exc:  # GDAL errors come in several classes
        # GDAL names the in-memory copy (/vsimem/pyogrio_...): say "the file" instead
        text = re.sub(r"'?/vsimem/[^\s':;,]+'?", "the file", str(exc))
        raise RegisterReadError(f"the {FORMATS[fmt]} file cannot be read: {text}") from None
    if not isinstance(frame, gpd.GeoDataFrame):  # a table without geometry (GeoPackage)
        notes.append(f"the layer {layer!r} has no geometry: located from its columns")
        table = pd.DataFrame(frame)
        return table, np.arange(len(table), dtype="int64") + 1, None, layer, layers
    geometry = frame.geometry
    if frame.crs is None:
        if fmt == "geojson":
            geometry = geometry.set_crs("EPSG:4326")
            notes.append("the GeoJSON names no coordinate system: read as WGS84 (RFC 7946)")
        else:
            raise RegisterReadError(
                f"the {FORMATS[fmt]} file names no coordinate system, so its locations "
                "cannot be placed on the map"
            )
    try:
        geometry = geometry.to_crs(CRS_BNG)
    except Exception as exc:  # pyproj: a system with no way to British National Grid
        raise RegisterReadError(
            f"the {FORMATS[fmt]} file's coordinate system ({geometry.crs.name}) cannot be "
            f"converted to British National Grid: {str(exc)[:200]}"
        ) from None
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    rows = np.arange(len(table), dtype="int64") + 1
    return table, rows, geometry.reset_index(drop=True), layer, layers


def _read_features(source, read_kwargs: dict, max_rows: int, notes: list[str]):
    """Read a layer with pyogrio once its feature count is known to be within ``max_rows``.

    Geometries GEOS refuses as written (a polygon ring that is not closed...) are
    read again with pyogrio's repair: closed rings are kept, the rest have no
    geometry (and so are quarantined unless another column locates them).
    """
    import pyogrio
    import shapely

    count = pyogrio.read_info(source, **read_kwargs)["features"]
    _check_row_count(int(count), max_rows, "features")
    try:
        return pyogrio.read_dataframe(source, **read_kwargs)
    except shapely.errors.GEOSException as exc:
        frame = pyogrio.read_dataframe(source, on_invalid="fix", **read_kwargs)
        broken = int(frame.geometry.isna().sum())
        notes.append(
            f"some geometries were invalid as written ({exc}): unclosed polygon rings were "
            f"closed; {broken:,} features have no usable geometry"
        )
        return frame


def _read_shapefile_parts(data: bytes, stem: str, max_rows: int, notes: list[str]):
    """Extract one shapefile's parts under fixed names into a private folder and read it.

    Only the members already inspected are written, each under a name assetmap
    makes up (``layer.shp``...), so no name from the archive reaches the disk or GDAL.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="assetmap-shp-") as folder:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                p = PurePosixPath(member.filename)
                if str(p.with_suffix("")) == stem and p.suffix.lower() in _SHAPEFILE_PARTS:
                    target = Path(folder) / f"layer{p.suffix.lower()}"
                    target.write_bytes(archive.read(member))
        return _read_features(Path(folder) / "layer.shp", {}, max_rows, notes)


def _check_row_count(n: int, max_rows: int, what: str = "rows") -> None:
    if n > max_rows:
        raise RegisterReadError(
            f"the file has {n:,} {what}, more than the limit of {max_rows:,}; "
            "split it or raise the limit (max_rows)"
        )


#: How a GeoJSON ``crs`` member may name its system: a name GDAL resolves offline.
_CRS_NAME = re.compile(
    r"(?:urn:ogc:def:crs:[A-Za-z0-9_.]+:[0-9.]*:[A-Za-z0-9_.]+"
    r"|(?:EPSG|ESRI|OGC|IGNF):[A-Za-z0-9_.]+"
    r"|https?://www\.opengis\.net/def/crs/[A-Za-z0-9_.]+/[0-9.]+/[A-Za-z0-9_.]+)",
    re.IGNORECASE,
)


_GEOJSON_TYPES = (
    "FeatureCollection",
    "Feature",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)


def _check_geojson(data: bytes) -> bytes:
    """Check a GeoJSON file before GDAL sees it; return its bytes as UTF-8.

    The JSON must parse, and every ``crs`` member in it (GDAL reads them on the
    collection, the features and the geometries) must name its coordinate system
    (``EPSG:27700``, ``urn:ogc:def:crs:EPSG::27700``...): a ``link`` would make
    GDAL fetch a URL or open a file named inside the file, so it is refused.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = _utf16_text(data).encode("utf-8")
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    problems: list[str] = []

    def look(pairs: list[tuple[str, object]]) -> dict:
        for key, crs in pairs:  # every "crs" member, even a repeated one
            if key == "crs" and crs is not None and len(problems) < 3:
                check(crs)
        return dict(pairs)

    def check(crs) -> None:
        props = crs.get("properties") if isinstance(crs, dict) else None
        kind = crs.get("type") if isinstance(crs, dict) else None
        name = props.get("name") if isinstance(props, dict) else None
        code = props.get("code") if isinstance(props, dict) else None
        named = kind == "name" and isinstance(name, str) and _CRS_NAME.fullmatch(name)
        coded = kind == "EPSG" and isinstance(code, int) and not isinstance(code, bool)
        if not (named or coded):
            problems.append(
                f"its coordinate system is given as {json.dumps(crs)[:120]}, which is not a "
                "name such as EPSG:27700 or urn:ogc:def:crs:EPSG::27700 (assetmap does not "
                "follow links or paths inside a file)"
            )

    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=look)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegisterReadError(f"the file is not valid JSON: {exc}") from None
    except RecursionError:
        raise RegisterReadError(
            "the file is not a GeoJSON register: its JSON is nested too deeply to read"
        ) from None
    kind = document.get("type") if isinstance(document, dict) else None
    if kind not in _GEOJSON_TYPES:
        raise RegisterReadError(
            'the file is JSON but not GeoJSON: expected an object whose "type" is '
            f"FeatureCollection or Feature, got {json.dumps(kind if kind else document)[:60]}"
        )
    if problems:
        raise RegisterReadError("the GeoJSON file was refused: " + "; ".join(problems))
    return data


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
    """The bytes of the regular file at ``path``; anything else is refused unread.

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
    """What ``path`` is when it is not a regular file (``"a folder"``...), else ``None``."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), None)


#: A file at least this large is hashed in a second thread while it is parsed.
_HASH_ASIDE_BYTES = 1 << 20
_HASHER = None


def _sha256_hex(data: bytes) -> Future:
    """The SHA-256 of ``data`` in hex, as a future: a large file is hashed in a second
    thread (hashlib lets go of Python's lock) while this one parses it.
    """
    global _HASHER
    if len(data) < _HASH_ASIDE_BYTES:
        done: Future = Future()
        done.set_result(hashlib.sha256(data).hexdigest())
        return done
    if _HASHER is None:
        _HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetmap-sha256")
    return _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())


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
    problems = []
    for option, value, unit in (
        ("max_rows", max_rows, "rows"),
        ("max_columns", max_columns, "columns"),
    ):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not (whole and value >= 1):
            problems.append(
                f"{option}={value!r} is not valid; expected a whole number of {unit}, at least 1"
            )
    raise_if_any(problems)
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
    geometry = None
    layers: list[str] = []
    if fmt == "csv":
        table, rows = _read_csv(data, notes, max_columns)
    elif fmt in ("xlsx", "xls"):
        table, rows, layer, layers = _read_workbook(data, fmt, layer, notes)
    else:
        if fmt == "geojson":
            data = _check_geojson(data)
        table, rows, geometry, layer, layers = _read_spatial(
            data, fmt, layer, zip_limits, notes, max_rows
        )
    _check_row_count(len(table), max_rows)
    if table.shape[1] > max_columns:
        raise _too_many_columns(table.shape[1], max_columns)
    table = _as_text_frame(table.reset_index(drop=True))
    if table.empty or len(table) == 0:
        raise RegisterReadError("the file has a header but no rows")
    if table.shape[1] == 0:
        raise RegisterReadError("the file has rows but no columns")
    return RawRegister(
        table=table,
        row_numbers=rows,
        geometry=geometry,
        format=fmt,
        name=name,
        sha256=digest.result(),
        layer=layer,
        layers=layers,
        notes=notes,
    )
