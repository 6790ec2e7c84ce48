"""Decide a register's format from its content, never from its name.

Magic numbers tell a zip archive (an XLSX workbook or zipped Shapefiles, inspected
before anything opens it), a legacy XLS workbook and a GeoPackage; of text, JSON is
GeoJSON and anything else that is not HTML is delimited text.
"""

from __future__ import annotations

from ..errors import RegisterReadError
from .delimited import utf16_text
from .limits import ZipLimits, inspect_zip

__all__ = ["FORMATS", "sniff_format"]

#: Formats assetmap reads, by the name :func:`sniff_format` gives them.
FORMATS: dict[str, str] = {
    "csv": "delimited text (CSV, TSV, or any one character between fields, ¬ and | too)",
    "xlsx": "Excel workbook (.xlsx)",
    "xls": "legacy Excel workbook (.xls)",
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shapefile": "zipped Shapefile",
}

#: The first bytes of each binary format other than a zip archive.
_MAGIC = {
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "xls",  # OLE2
    b"SQLite format 3\x00": "gpkg",
}


def _zip_format(data: bytes, limits: ZipLimits | None) -> str:
    """Return the format of a zip archive: an XLSX workbook or zipped Shapefiles.

    Raises
    ------
    RegisterReadError
        If the archive holds neither.
    """
    names = [m.filename.lower() for m in inspect_zip(data, limits=limits)]
    if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.endswith(".shp") for n in names):
        return "shapefile"
    raise RegisterReadError(
        "the zip archive holds neither a Shapefile (.shp) nor an Excel workbook; "
        f"it holds: {', '.join(sorted(names)[:10]) or 'nothing'}"
    )


def _text_format(data: bytes) -> str:
    """Return the format of a file that is not a known binary one: GeoJSON or delimited text.

    Raises
    ------
    RegisterReadError
        If the file is binary, or HTML or XML.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text, as Excel's "Unicode text"
        head = utf16_text(data)[:4096].lstrip("\ufeff \t\r\n").encode("utf-8")
        return "geojson" if head[:1] in (b"{", b"[") else "csv"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
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


def sniff_format(data: bytes, *, limits: ZipLimits | None = None) -> str:
    """Decide a register's format from its content.

    Parameters
    ----------
    data
        The file's bytes.
    limits
        Limits for zip archives, see :func:`~assetmap.registers.limits.inspect_zip`.

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
        return _zip_format(data, limits)
    for magic, fmt in _MAGIC.items():
        if data.startswith(magic):
            return fmt
    return _text_format(data)
