"""Boundary sets and the assignment of sites to localities.

A *locality* is an area that sites are counted in: a district, an LSOA, an NHS
area, or any polygon in a boundary file the user brings (wards, parishes...).
Every boundary set is a GeoDataFrame in British National Grid (EPSG:27700)
with the columns ``code`` and ``name``.

- :func:`load_localities` reads a level of the bundled Kent and Medway set
  (``boundaries/kent_medway.gpkg``, built by ``boundaries/build_boundaries.py``).
- :func:`read_boundary_file` reads an ONS-style boundary file (GeoJSON,
  GeoPackage, plain or zipped Shapefile), finds its code and name columns,
  reprojects it and repairs invalid polygons, reporting each repair.
- :func:`assign_localities` puts each site in one locality with a spatial
  index, never a loop over polygons.

Show :data:`ATTRIBUTION` wherever ONS boundaries are drawn.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import io
import os
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validate import validate_choice
from .datasets import get_path
from .errors import DataNotFoundError, InvalidArgumentError
from .schema import CRS_BNG

__all__ = [
    "ATTRIBUTION",
    "KENT_MEDWAY_DISTRICTS",
    "LEVELS",
    "assign_localities",
    "load_localities",
    "merge_duplicate_codes",
    "read_boundary_file",
    "repair_polygons",
]

#: Kent's twelve districts and Medway (unitary): ONS code -> current name. The one
#: copy of this table: the boundary build script and the sample estate use it.
KENT_MEDWAY_DISTRICTS: dict[str, str] = {
    "E07000105": "Ashford",
    "E07000106": "Canterbury",
    "E07000107": "Dartford",
    "E07000108": "Dover",
    "E07000109": "Gravesham",
    "E07000110": "Maidstone",
    "E07000111": "Sevenoaks",
    "E07000112": "Folkestone and Hythe",
    "E07000113": "Swale",
    "E07000114": "Thanet",
    "E07000115": "Tonbridge and Malling",
    "E07000116": "Tunbridge Wells",
    "E06000035": "Medway",
}

#: Attribution to show wherever ONS boundaries (bundled or user-supplied) are drawn.
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right; Source: Office for National "
    "Statistics licensed under the Open Government Licence v3.0"
)

#: The bundled boundary levels: level name -> description.
LEVELS: dict[str, str] = {
    "district": (
        "Kent's 12 districts and Medway unitary authority (13 areas, ONS codes E07/E06), "
        "dissolved from the 2011 LSOAs"
    ),
    "lsoa": (
        "2011 Lower layer Super Output Areas in Kent and Medway (1,065 areas, codes E01), "
        "with the district each lies in (district_code, district_name)"
    ),
    "nhs_area": (
        "NHS sub-ICB locations covering Kent and Medway (codes E38; E38000237 NHS Kent and "
        "Medway ICB - 91Q)"
    ),
    "county": "Kent and Medway as one outline (code KENT_MEDWAY), for locator insets",
}

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
_POLYGON_TYPES = ("Polygon", "MultiPolygon")
_ZIP_MAGIC = b"PK\x03\x04"
_SQLITE_MAGIC = b"SQLite format 3\x00"


# --------------------------------------------------------------------------- bundled levels


@functools.lru_cache(maxsize=8)
def _read_layer(path: str, mtime_ns: int, size: int, level: str) -> gpd.GeoDataFrame:
    """Read one layer of the bundled GeoPackage (cached on path, timestamp and size)."""
    import pyogrio

    layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    if level not in layers:
        raise DataNotFoundError(
            f"the bundled boundaries file {path} has no layer {level!r} (it has: "
            f"{', '.join(layers)}); rebuild it with python boundaries/build_boundaries.py"
        )
    frame = pyogrio.read_dataframe(path, layer=level)
    if frame.crs is None:
        raise DataNotFoundError(
            f"the layer {level!r} of the bundled boundaries file {path} names no coordinate "
            "system; rebuild it with python boundaries/build_boundaries.py"
        )
    if not frame.crs.equals(CRS_BNG):
        frame = frame.to_crs(CRS_BNG)
    extra = [c for c in frame.columns if c not in ("code", "name", frame.geometry.name)]
    return frame[["code", "name", *extra, frame.geometry.name]]


def load_localities(level: str = "district") -> gpd.GeoDataFrame:
    """Return a bundled Kent and Medway boundary level.

    Parameters
    ----------
    level
        One of :data:`LEVELS`: ``"district"`` (default), ``"lsoa"``,
        ``"nhs_area"`` or ``"county"``.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700, sorted by code, with the columns ``code``, ``name`` and
        ``geometry``, plus the layer's own extra columns (``kind`` for
        districts; ``district_code`` and ``district_name`` for LSOAs). The
        file is read once per process; each call returns a fresh copy that the
        caller may change.

    Raises
    ------
    InvalidArgumentError
        If ``level`` is not one of :data:`LEVELS`; the message lists them.
    DataNotFoundError
        If the bundled file or the layer is missing from this checkout.

    Examples
    --------
    >>> districts = load_localities("district")
    >>> len(districts)
    13
    """
    validate_choice("level", level, LEVELS)
    path = get_path("boundaries")
    stat = path.stat()
    return _read_layer(str(path), stat.st_mtime_ns, stat.st_size, level).copy()


# --------------------------------------------------------------------------- boundary files


@contextlib.contextmanager
def _quiet_gdal():
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
    source: Path, stem: str, parts: dict[str, object], read: Callable[[object], bytes]
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
    """Pick one shapefile from a zip archive, after the archive's safety checks."""
    from .registers.read import inspect_zip  # the one place for the zip safety rules

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


def _polygonal_part(geom):
    """Return the polygonal part of a geometry, or ``None`` if it has none."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in _POLYGON_TYPES:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGON_TYPES]
    parts = [p for g in parts for p in shapely.get_parts(g) if not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def repair_polygons(frame: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Repair invalid polygons, keeping only their polygonal parts, with a note for each.

    Parameters
    ----------
    frame
        Localities with ``code`` and ``name`` columns.
    notes
        Receives one plain-English note per repaired or dropped polygon.

    Returns
    -------
    geopandas.GeoDataFrame
        The localities, repaired; a polygon that repairs to nothing is dropped.
    """
    geoms = frame.geometry.to_numpy().copy()
    invalid = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
    keep = np.ones(geoms.size, dtype=bool)
    for i, reason, fixed in zip(
        invalid,
        shapely.is_valid_reason(geoms[invalid]),
        shapely.make_valid(geoms[invalid]),
        strict=True,
    ):
        label = f"{frame['code'].iat[i]} {frame['name'].iat[i]}".strip()
        part = _polygonal_part(fixed)
        if part is None:
            keep[i] = False
            notes.append(f"dropped the polygon for {label}: it is invalid ({reason}) and empty")
        else:
            geoms[i] = part
            notes.append(f"repaired an invalid polygon for {label}: {reason}")
    out = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return out[keep]


def merge_duplicate_codes(frame: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Merge the polygons that share a code into one locality, with a note per code.

    Parameters
    ----------
    frame
        Localities with a ``code`` column.
    notes
        Receives one plain-English note per merged code.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    duplicated = frame["code"].duplicated(keep=False)
    if not duplicated.any():
        return frame
    geoms = frame.geometry.to_numpy().copy()
    for code in pd.unique(frame.loc[duplicated, "code"]):
        rows = np.flatnonzero((frame["code"] == code).to_numpy())
        geoms[rows[0]] = shapely.union_all(geoms[rows])
        notes.append(f"merged {rows.size} polygons that share the code {code} into one locality")
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return frame[~frame["code"].duplicated()]


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
        If a zip archive is refused by :func:`assetmap.registers.read.inspect_zip`.

    Examples
    --------
    >>> wards, notes = read_boundary_file("wards.geojson")  # doctest: +SKIP
    >>> wards.columns.tolist()  # doctest: +SKIP
    ['code', 'name', 'geometry']
    """
    import pyogrio

    path = _source_path(source)
    notes: list[str] = []
    if path.suffix.lower() == ".shp":
        if layer is not None and layer != path.stem:
            raise InvalidArgumentError(
                f"layer={layer!r} was given for the plain shapefile {str(path)!r}; expected "
                f"layer=None or {path.stem!r}"
            )
        data, read_layer = _plain_shapefile(path), path.stem
    else:
        data = path.read_bytes()
        if data[:4] == _ZIP_MAGIC:
            data, read_layer = _zipped_shapefile(path, data, layer)
        else:
            read_layer, layer_notes = _choose_layer(path, data, layer)
            notes.extend(layer_notes)
    try:
        with _quiet_gdal():
            frame = pyogrio.read_dataframe(io.BytesIO(data), layer=read_layer)
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

    raw = frame.geometry.to_numpy()
    polygons = np.array([_polygonal_part(g) for g in raw], dtype=object)
    is_polygon = np.array([g is not None for g in polygons], dtype=bool)
    if not is_polygon.any():
        kinds = pd.Series([g.geom_type if g is not None else "no geometry" for g in raw])
        found = ", ".join(f"{n} {k}" for k, n in kinds.value_counts().items()) or "no features"
        raise InvalidArgumentError(
            f"source={str(path)!r} holds no polygon features (found: {found}); expected the "
            "polygons of districts, wards or other areas"
        )

    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
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

    codes = table[code_col].astype("str").str.strip().where(table[code_col].notna(), "")
    names = table[name_col].astype("str").str.strip().where(table[name_col].notna(), "")
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
    geoms = gpd.GeoSeries(polygons[keep], crs=frame.crs).to_crs(CRS_BNG).to_numpy()

    out = gpd.GeoDataFrame(
        {"code": codes.to_numpy()[keep], "name": names.to_numpy()[keep]},
        geometry=geoms,
        crs=CRS_BNG,
    )
    out = repair_polygons(out, notes)
    out = merge_duplicate_codes(out, notes)
    return out[["code", "name", "geometry"]].reset_index(drop=True), notes


# --------------------------------------------------------------------------- assignment


def _to_bng(frame: object, argument: str, *, series_ok: bool) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:27700, or raise naming ``argument``."""
    allowed = (gpd.GeoDataFrame, gpd.GeoSeries) if series_ok else (gpd.GeoDataFrame,)
    if not isinstance(frame, allowed):
        raise InvalidArgumentError(
            f"{argument} is a {type(frame).__name__}; expected a geopandas GeoDataFrame"
        )
    if frame.crs is None:
        raise InvalidArgumentError(
            f"{argument} has no CRS ({argument}.crs is None); expected EPSG:27700 (British "
            "National Grid) or another CRS that can be reprojected to it"
        )
    return frame if frame.crs.equals(CRS_BNG) else frame.to_crs(CRS_BNG)


def assign_localities(sites: gpd.GeoDataFrame, localities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Put each site in the locality that contains it.

    A point on the edge shared by two localities belongs to the one with the
    smallest code, so every site is counted once and the answer never depends
    on the order of the rows. Points are matched through the localities'
    spatial index (shapely's STRtree) in one vectorised query, never a loop
    over polygons: a million points take a few seconds.

    Parameters
    ----------
    sites
        Sites as points (a GeoDataFrame or GeoSeries), in EPSG:27700 or any
        CRS that can be reprojected to it. Sites with no geometry, or an empty
        one, are in no locality.
    localities
        Polygons with the columns ``code`` and ``name``, for example from
        :func:`load_localities` or :func:`read_boundary_file`, in EPSG:27700
        or any CRS that can be reprojected to it.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``sites.index``, with the columns

        ``locality_code``, ``locality_name``
            The locality's code and name; ``""`` where the site is in none.
        ``on_boundary``
            The point lies on the boundary of a locality: on an edge shared by
            two localities, or on the outer edge of one.
        ``outside``
            The point is in no locality (or the site has no location).

    Raises
    ------
    InvalidArgumentError
        If an argument is not a GeoDataFrame or has no CRS, if ``localities``
        lacks ``code`` or ``name`` or holds geometries that are not polygons,
        or if a site's geometry is not a point.

    Examples
    --------
    >>> districts = load_localities("district")
    >>> sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy([558300], [139100]), crs=CRS_BNG)
    >>> assign_localities(sites, districts)["locality_name"].tolist()
    ['Tunbridge Wells']
    """
    sites_bng = _to_bng(sites, "sites", series_ok=True)
    locs = _to_bng(localities, "localities", series_ok=False)
    missing = [c for c in ("code", "name") if c not in locs.columns]
    if missing:
        have = [str(c) for c in locs.columns if c != locs.geometry.name]
        raise InvalidArgumentError(
            f"localities lacks the column(s) {', '.join(missing)}; expected the columns code "
            f"and name (it has: {', '.join(have) or 'no attribute columns'})"
        )

    geometry = sites_bng if isinstance(sites_bng, gpd.GeoSeries) else sites_bng.geometry
    points = geometry.to_numpy()
    kind = shapely.get_type_id(points)
    bad = np.flatnonzero((kind != shapely.GeometryType.POINT) & (kind != -1))
    if bad.size:
        raise InvalidArgumentError(
            f"sites has {bad.size} geometries that are not points (the first, at index "
            f"{sites_bng.index[bad[0]]!r}, is a {points[bad[0]].geom_type}); expected one "
            "Point per site"
        )
    polys = locs.geometry.to_numpy()
    poly_kind = shapely.get_type_id(polys)
    allowed = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON, -1)
    bad = np.flatnonzero(~np.isin(poly_kind, allowed))
    if bad.size:
        raise InvalidArgumentError(
            f"localities has {bad.size} geometries that are not polygons (the first, code "
            f"{locs['code'].iat[bad[0]]!r}, is a {polys[bad[0]].geom_type}); expected polygons"
        )

    n = points.size
    codes = locs["code"].astype("str").where(locs["code"].notna(), "").to_numpy(dtype=object)
    names = locs["name"].astype("str").where(locs["name"].notna(), "").to_numpy(dtype=object)
    point_idx, poly_idx = locs.sindex.query(points, predicate="intersects")

    # For each point, keep the matching locality with the smallest code.
    rank = np.empty(codes.size, dtype=np.int64)
    rank[np.argsort(codes.astype(str), kind="stable")] = np.arange(codes.size)
    order = np.lexsort((rank[poly_idx], point_idx))
    point_sorted, poly_sorted = point_idx[order], poly_idx[order]
    first = np.ones(point_sorted.size, dtype=bool)
    first[1:] = point_sorted[1:] != point_sorted[:-1]
    chosen_point, chosen_poly = point_sorted[first], poly_sorted[first]

    # A point that meets a polygon but is not in its interior lies on its boundary.
    shapely.prepare(polys)
    interior = shapely.contains_properly(polys[poly_idx], points[point_idx])
    on_boundary = np.zeros(n, dtype=bool)
    on_boundary[point_idx[~interior]] = True

    locality_code = np.full(n, "", dtype=object)
    locality_name = np.full(n, "", dtype=object)
    locality_code[chosen_point] = codes[chosen_poly]
    locality_name[chosen_point] = names[chosen_poly]
    outside = np.ones(n, dtype=bool)
    outside[chosen_point] = False
    index = sites.index
    return pd.DataFrame(
        {
            "locality_code": pd.Series(locality_code, index=index, dtype="str"),
            "locality_name": pd.Series(locality_name, index=index, dtype="str"),
            "on_boundary": pd.Series(on_boundary, index=index, dtype="bool"),
            "outside": pd.Series(outside, index=index, dtype="bool"),
        },
        index=index,
    )
