"""Read an ONS-style boundary file (GeoJSON, GeoPackage, plain or zipped Shapefile) as localities.

The format is decided by the file's content and its bytes, never its path, are handed
to GDAL; a zip archive passes :func:`assetmap.registers.limits.inspect_zip` first. The
code and name columns are found (or given), the polygons reprojected to EPSG:27700, and
invalid or repeated polygons repaired by :mod:`assetmap.localities`, each with a note.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError
from ..localities import merge_duplicate_codes, polygonal_part, repair_polygons
from ..registers.limits import inspect_zip
from ..schema import CRS_BNG

__all__ = ["read_boundary_file"]

#: The shape of an ONS GSS code: a country letter and eight digits (E06000024).
_ONS_CODE = re.compile(r"^[EWSN]\d{8}$")
#: ONS column names for codes (LAD23CD, WD23CD, LSOA11CD, SICBL22CD).
_ONS_CODE_COLUMN = re.compile(r"^[A-Za-z]+\d{2}CD$")
_CODE_NAMES = ("area_code", "code", "gss_code", "areacode")
_NAME_NAMES = ("area_name", "name", "areaname")
#: Share of a column's values that must look like ONS codes for it to be chosen.
_CODE_SHARE = 0.9
_SHAPEFILE_NEEDS = (".shp", ".shx", ".dbf")
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_FORMATS_TEXT = "GeoJSON, GeoPackage, or a Shapefile (plain .shp or zipped)"
_ZIP_MAGIC = b"PK\x03\x04"
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: A handle on one part of a shapefile: a path, or a member of a zip archive.
_Part = TypeVar("_Part")


@contextlib.contextmanager
def _quiet_gdal() -> Iterator[None]:
    """Silence GDAL's complaint that an in-memory GeoPackage has no .gpkg extension."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        yield


def _source_path(source: str | os.PathLike[str]) -> Path:
    """Return ``source`` as the path of an existing file, or raise a clear error."""
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidArgumentError(
            f"source={source!r} is a {type(source).__name__}; expected the path of a boundary "
            f"file ({_FORMATS_TEXT})"
        )
    path = Path(source)
    if not path.exists():
        raise InvalidArgumentError(
            f"source={str(path)!r} does not exist; expected the path of a boundary file "
            f"({_FORMATS_TEXT})"
        )
    if not path.is_file():
        raise InvalidArgumentError(
            f"source={str(path)!r} is not a file; expected the path of a boundary file "
            f"({_FORMATS_TEXT})"
        )
    return path


def _flat_zip(parts: dict[str, bytes]) -> bytes:
    """Pack one shapefile's parts (file name -> bytes) at the root of an in-memory zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(parts):
            archive.writestr(name, parts[name])
    return buffer.getvalue()


def _shapefile_zip(
    source: Path, stem: str, parts: Mapping[str, _Part], read: Callable[[_Part], bytes]
) -> bytes:
    """Check that a shapefile has its parts and return them in a flat in-memory zip.

    ``parts`` maps a lower-case extension to a handle that ``read`` turns into bytes.
    """
    missing = [ext for ext in _SHAPEFILE_NEEDS if ext not in parts]
    if missing:
        raise InvalidArgumentError(
            f"source={str(source)!r}: the shapefile {stem!r} cannot be read because its "
            f"{', '.join(missing)} part is missing; expected .shp, .shx, .dbf and .prj together"
        )
    if ".prj" not in parts:
        raise InvalidArgumentError(
            f"source={str(source)!r}: the shapefile {stem!r} has no .prj file, so it names no "
            "coordinate system and its polygons cannot be placed on the map; expected a .prj "
            "beside the .shp (for British National Grid, EPSG:27700)"
        )
    return _flat_zip({f"{stem}{ext}": read(handle) for ext, handle in parts.items()})


def _plain_shapefile(path: Path) -> bytes:
    """Gather a plain shapefile's sibling parts (any case of extension) into a flat zip."""
    siblings = {
        p.suffix.lower(): p
        for p in sorted(path.parent.glob(f"{glob.escape(path.stem)}.*"))
        if p.stem == path.stem and p.suffix.lower() in _SHAPEFILE_PARTS
    }
    return _shapefile_zip(path, path.stem, siblings, Path.read_bytes)


def _zipped_shapefile(path: Path, data: bytes, layer: str | None) -> tuple[bytes, str]:
    """Pick one shapefile from a zip archive, after the archive's safety checks.

    The zip rules are :func:`~assetmap.registers.limits.inspect_zip`'s, the one place
    for them.
    """
    members = inspect_zip(data)
    stems: dict[str, dict[str, zipfile.ZipInfo]] = {}
    for member in members:
        p = PurePosixPath(member.filename.replace("\\", "/"))
        if member.is_dir() or p.suffix.lower() not in _SHAPEFILE_PARTS:
            continue
        if any(part.startswith(("__MACOSX", ".")) for part in p.parts):
            continue
        stems.setdefault(str(p.with_suffix("")), {})[p.suffix.lower()] = member
    shapes = sorted(s for s, parts in stems.items() if ".shp" in parts)
    names = [PurePosixPath(s).name for s in shapes]
    if not shapes:
        raise InvalidArgumentError(
            f"source={str(path)!r} is a zip archive with no shapefile (.shp) inside; expected "
            f"{_FORMATS_TEXT}"
        )
    if layer is not None:
        if layer not in names:
            raise InvalidArgumentError(
                f"layer={layer!r} is not a shapefile in {str(path)!r}; expected one of: "
                f"{', '.join(names)}"
            )
        stem = shapes[names.index(layer)]
    elif len(shapes) > 1:
        raise InvalidArgumentError(
            f"layer=None but {str(path)!r} holds {len(shapes)} shapefiles; expected layer= "
            f"naming one of: {', '.join(names)}"
        )
    else:
        stem = shapes[0]
    name = PurePosixPath(stem).name
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        flat = _shapefile_zip(path, name, stems[stem], archive.read)
    return flat, name


def _choose_layer(path: Path, data: bytes, layer: str | None) -> tuple[str | None, list[str]]:
    """Pick the layer to read from a GeoPackage or other (possibly multi-layer) source."""
    import pyogrio

    try:
        with _quiet_gdal():
            listed = pyogrio.list_layers(io.BytesIO(data))
    except Exception as exc:  # GDAL raises several classes for unreadable files
        raise InvalidArgumentError(
            f"source={str(path)!r} cannot be read as a boundary file ({exc}); expected "
            f"{_FORMATS_TEXT}"
        ) from None
    names = [str(row[0]) for row in listed]
    types = [str(row[1]) for row in listed]
    if layer is None:
        if len(names) == 1:
            return None, []  # a GeoJSON's layer name is made up per read: let GDAL pick
        polygonal = [n for n, t in zip(names, types, strict=True) if "polygon" in t.lower()]
        if len(polygonal) == 1:
            return polygonal[0], [
                f"read layer {polygonal[0]!r}, the only polygon layer of {len(names)} "
                "(choose another with layer=)"
            ]
        raise InvalidArgumentError(
            f"layer=None but {str(path)!r} holds {len(names)} layers; expected layer= naming "
            f"one of: {', '.join(names)}"
        )
    if layer in names:
        return layer, []
    if data[:16] != _SQLITE_MAGIC:  # GeoJSON: its single layer has no name of the user's
        raise InvalidArgumentError(
            f"layer={layer!r} was given but {str(path)!r} has a single layer; expected "
            "layer=None for this file"
        )
    raise InvalidArgumentError(
        f"layer={layer!r} is not a layer of {str(path)!r}; expected one of: {', '.join(names)}"
    )


def _looks_like_codes(values: pd.Series) -> float:
    """Return the share of the non-empty values that look like ONS codes."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return 0.0
    return float(text.str.match(_ONS_CODE.pattern).mean())


def _find_code_column(table: pd.DataFrame) -> str | None:
    """Return the column of ONS codes, preferring ONS names and unique values."""
    ranked = []
    for position, column in enumerate(table.columns):
        values = table[column]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        if _ONS_CODE_COLUMN.match(column):
            priority = 0
        elif column.lower() in _CODE_NAMES:
            priority = 1
        else:
            priority = 2
        unique = bool(values.notna().all() and values.is_unique)
        if _looks_like_codes(values) >= _CODE_SHARE:
            ranked.append((0 if unique else 1, priority, position, column))
        elif priority < 2 and unique:  # named as a code column, but codes are not ONS-shaped
            ranked.append((2, priority, position, column))
    return min(ranked)[3] if ranked else None


def _find_name_column(table: pd.DataFrame, code_column: str) -> str | None:
    """Return the column of names that goes with ``code_column``."""
    columns = [c for c in table.columns if c != code_column]
    lowered = {c.lower(): c for c in columns}
    if code_column.upper().endswith("CD"):
        partner = (code_column[:-2] + "NM").lower()
        if partner in lowered:
            return lowered[partner]
    for wanted in _NAME_NAMES:
        if wanted in lowered:
            return lowered[wanted]
    for column in columns:
        if column.upper().endswith("NM"):
            return column
    for column in columns:
        if "name" in column.lower():
            return column
    return None


def _boundary_bytes(path: Path, layer: str | None) -> tuple[bytes, str | None, list[str]]:
    """Return the bytes to hand to GDAL, the layer to read and notes on the choice.

    A shapefile (plain, or picked from a zip archive) is packed into a flat
    in-memory zip; any other file is read as it is, and its layer chosen.
    """
    if path.suffix.lower() == ".shp":
        if layer is not None and layer != path.stem:
            raise InvalidArgumentError(
                f"layer={layer!r} was given for the plain shapefile {str(path)!r}; expected "
                f"layer=None or {path.stem!r}"
            )
        return _plain_shapefile(path), path.stem, []
    data = path.read_bytes()
    if data[:4] == _ZIP_MAGIC:
        flat, name = _zipped_shapefile(path, data, layer)
        return flat, name, []
    read_layer, notes = _choose_layer(path, data, layer)
    return data, read_layer, notes


def _read_frame(path: Path, data: bytes, layer: str | None) -> gpd.GeoDataFrame:
    """Read the layer with GDAL, refusing a table without geometry or coordinate system."""
    import pyogrio

    try:
        with _quiet_gdal():
            frame = pyogrio.read_dataframe(io.BytesIO(data), layer=layer)
    except Exception as exc:  # GDAL raises several classes for unreadable files
        raise InvalidArgumentError(
            f"source={str(path)!r} cannot be read as a boundary file ({exc}); expected "
            f"{_FORMATS_TEXT}"
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidArgumentError(
            f"source={str(path)!r} holds no polygon features (found: a table without "
            "geometry); expected the polygons of districts, wards or other areas"
        )
    if frame.crs is None:
        raise InvalidArgumentError(
            f"source={str(path)!r} names no coordinate system, so its polygons cannot be "
            "placed on the map; expected a file with a CRS (for example EPSG:27700 or "
            "EPSG:4326; a Shapefile needs its .prj)"
        )
    return frame


def _polygons(path: Path, raw: np.ndarray) -> np.ndarray:
    """Return each feature's polygonal part (``None`` where it has none); refuse a file of none."""
    polygons = np.array([polygonal_part(g) for g in raw], dtype=object)
    if all(g is None for g in polygons):
        kinds = pd.Series([g.geom_type if g is not None else "no geometry" for g in raw])
        found = ", ".join(f"{n} {k}" for k, n in kinds.value_counts().items()) or "no features"
        raise InvalidArgumentError(
            f"source={str(path)!r} holds no polygon features (found: {found}); expected the "
            "polygons of districts, wards or other areas"
        )
    return polygons


def _code_and_name_columns(
    path: Path, table: pd.DataFrame, code_column: str | None, name_column: str | None
) -> tuple[str, str]:
    """Return the code and name columns: those given, checked, else those found."""
    columns = [str(c) for c in table.columns]
    listing = ", ".join(columns) or "(none)"
    for argument, given in (("code_column", code_column), ("name_column", name_column)):
        if given is not None and given not in columns:
            raise InvalidArgumentError(
                f"{argument}={given!r} is not a column of {str(path)!r}; expected one of: {listing}"
            )
    code_col = code_column or _find_code_column(table)
    if code_col is None:
        raise InvalidArgumentError(
            f"code_column=None and no column of ONS codes was found in {str(path)!r}; "
            "expected a column such as LAD23CD, WD23CD, LSOA11CD or area_code with values "
            f"like E06000024 (the columns are: {listing}); name one with code_column="
        )
    name_col = name_column or _find_name_column(table, code_col)
    if name_col is None:
        raise InvalidArgumentError(
            f"name_column=None and no column of names was found in {str(path)!r}; expected a "
            f"column such as LAD23NM, WD23NM or area_name (the columns are: {listing}); name "
            "one with name_column="
        )
    return code_col, name_col


def _text(column: pd.Series) -> pd.Series:
    """Return a column as stripped text, missing values as ``""``."""
    return column.astype("str").str.strip().where(column.notna(), "")


def _kept(
    path: Path, raw: np.ndarray, is_polygon: np.ndarray, codes: pd.Series, code_col: str
) -> tuple[np.ndarray, list[str]]:
    """Return which features to keep (polygons with a code), and a note per group dropped."""
    notes = []
    if not is_polygon.all():
        kinds = sorted({g.geom_type if g is not None else "no geometry" for g in raw[~is_polygon]})
        notes.append(
            f"dropped {int((~is_polygon).sum())} features that are not polygons "
            f"({', '.join(kinds)})"
        )
    has_code = (codes != "").to_numpy()
    if not has_code[is_polygon].all():
        notes.append(
            f"dropped {int((is_polygon & ~has_code).sum())} polygons with no code in column "
            f"{code_col!r}"
        )
    keep = is_polygon & has_code
    if not keep.any():
        raise InvalidArgumentError(
            f"code_column={code_col!r} is empty for every polygon of {str(path)!r}; expected "
            "a column that gives each locality a code"
        )
    return keep, notes


def read_boundary_file(
    source: str | os.PathLike[str],
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read an ONS-style boundary file as localities.

    The code column, unless given, is the first column whose values look like
    ONS codes (``E06000024``), preferring a column of unique codes (a ward
    file's ``WD23CD`` over its ``LAD23CD``) and one named the ONS way
    (``LAD23CD``, ``WD23CD``, ``LSOA11CD``) or ``area_code``/``code``. The name
    column, unless given, is the code column's ``...NM`` partner, else
    ``area_name`` or ``name``, else the first ``...NM`` or ``...name`` column.

    Parameters
    ----------
    source
        Path of a GeoJSON, GeoPackage, zipped Shapefile (``.zip``) or plain
        Shapefile (``.shp`` with its ``.shx``, ``.dbf`` and ``.prj`` beside it).
        The format is decided by the file's content, and the file's bytes,
        never its path, are handed to GDAL.
    code_column
        The column of locality codes, when detection is not wanted.
    name_column
        The column of locality names, when detection is not wanted.
    layer
        The layer of a GeoPackage, or the shapefile (file name without
        ``.shp``) of a zip archive that holds several. Needed only when the
        file has more than one polygon layer.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per locality in the file's order, in EPSG:27700, with the
        columns ``code``, ``name`` and ``geometry`` (polygons only).
    list of str
        Plain-English notes, one per repair, dropped feature group or merge,
        for example ``"repaired an invalid polygon for E06000024 North
        Somerset: Ring Self-intersection[347714.2 177311.7]"``.

    Raises
    ------
    InvalidArgumentError
        If the file is missing or unreadable, names no coordinate system,
        holds no polygon features, or has several layers and ``layer`` is not
        given; if the code or name column cannot be found, or a column given
        is not in the file (the message lists the file's columns).
    UnsafeArchiveError
        If a zip archive is refused by :func:`assetmap.registers.limits.inspect_zip`.

    Examples
    --------
    >>> wards, notes = read_boundary_file("wards.geojson")  # doctest: +SKIP
    >>> wards.columns.tolist()  # doctest: +SKIP
    ['code', 'name', 'geometry']
    """
    path = _source_path(source)
    data, read_layer, notes = _boundary_bytes(path, layer)
    frame = _read_frame(path, data, read_layer)
    raw = frame.geometry.to_numpy()
    polygons = _polygons(path, raw)
    is_polygon = np.array([g is not None for g in polygons], dtype=bool)
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    code_col, name_col = _code_and_name_columns(path, table, code_column, name_column)
    codes, names = _text(table[code_col]), _text(table[name_col])
    keep, dropped = _kept(path, raw, is_polygon, codes, code_col)
    notes.extend(dropped)
    geoms = gpd.GeoSeries(polygons[keep], crs=frame.crs).to_crs(CRS_BNG).to_numpy()
    out = gpd.GeoDataFrame(
        {"code": codes.to_numpy()[keep], "name": names.to_numpy()[keep]},
        geometry=geoms,
        crs=CRS_BNG,
    )
    out = repair_polygons(out, notes)
    out = merge_duplicate_codes(out, notes)
    return out[["code", "name", "geometry"]].reset_index(drop=True), notes
