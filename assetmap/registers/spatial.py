"""Read a spatial register (GeoPackage, GeoJSON or zipped Shapefile) into a table and points.

The file's bytes are handed to GDAL through pyogrio, never a name from the file, and a
GeoJSON is checked first so that GDAL follows no link inside it. The features are counted
before they are read, and their geometries are put in British National Grid.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError, RegisterReadError
from ..schema import CRS_BNG
from .delimited import utf16_text
from .formats import FORMATS
from .limits import DEFAULT_MAX_ROWS, ZipLimits, check_row_count, inspect_zip

__all__ = ["check_geojson", "read_spatial"]

_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
#: Why a zipped shapefile without each of these parts cannot be read.
_SHAPEFILE_NEEDS = {
    ".shx": "its shape index (.shx) is missing",
    ".dbf": "its attribute table (.dbf) is missing",
    ".prj": "its coordinate system (.prj) is missing, so its locations cannot be placed on the map",
}

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


def _crs_problem(crs: object) -> str | None:
    """Return why a GeoJSON ``crs`` member is refused, or ``None`` if it names its system."""
    props = crs.get("properties") if isinstance(crs, dict) else None
    kind = crs.get("type") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    code = props.get("code") if isinstance(props, dict) else None
    named = kind == "name" and isinstance(name, str) and _CRS_NAME.fullmatch(name)
    coded = kind == "EPSG" and isinstance(code, int) and not isinstance(code, bool)
    if named or coded:
        return None
    return (
        f"its coordinate system is given as {json.dumps(crs)[:120]}, which is not a "
        "name such as EPSG:27700 or urn:ogc:def:crs:EPSG::27700 (assetmap does not "
        "follow links or paths inside a file)"
    )


def _parse_json(text: bytes, problems: list[str]) -> object:
    """Parse JSON, adding to ``problems`` why each ``crs`` member (the first three) is refused.

    Raises
    ------
    RegisterReadError
        If the text is not JSON, or is nested too deeply to read.
    """

    def look(pairs: list[tuple[str, object]]) -> dict:
        for key, crs in pairs:  # every "crs" member, even a repeated one
            if key == "crs" and crs is not None and len(problems) < 3:
                problem = _crs_problem(crs)
                if problem is not None:
                    problems.append(problem)
        return dict(pairs)

    try:
        return json.loads(text.decode("utf-8"), object_pairs_hook=look)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegisterReadError(f"the file is not valid JSON: {exc}") from None
    except RecursionError:
        raise RegisterReadError(
            "the file is not a GeoJSON register: its JSON is nested too deeply to read"
        ) from None


def check_geojson(data: bytes) -> bytes:
    """Check a GeoJSON file before GDAL sees it; return its bytes as UTF-8.

    The JSON must parse, and every ``crs`` member in it (GDAL reads them on the
    collection, the features and the geometries) must name its coordinate system
    (``EPSG:27700``, ``urn:ogc:def:crs:EPSG::27700``...): a ``link`` would make
    GDAL fetch a URL or open a file named inside the file, so it is refused.

    Raises
    ------
    RegisterReadError
        If the file is not JSON, not GeoJSON, or names its system other than by name.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = utf16_text(data).encode("utf-8")
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    problems: list[str] = []
    document = _parse_json(data, problems)
    kind = document.get("type") if isinstance(document, dict) else None
    if kind not in _GEOJSON_TYPES:
        raise RegisterReadError(
            'the file is JSON but not GeoJSON: expected an object whose "type" is '
            f"FeatureCollection or Feature, got {json.dumps(kind if kind else document)[:60]}"
        )
    if problems:
        raise RegisterReadError("the GeoJSON file was refused: " + "; ".join(problems))
    return data


def _shapefile_stem(data: bytes, layer: str | None, limits: ZipLimits | None) -> str:
    """Return the path in the archive, without extension, of the shapefile to read.

    Raises
    ------
    InvalidArgumentError
        If ``layer`` names no shapefile in the archive.
    RegisterReadError
        If the archive holds several shapefiles and ``layer`` is not given, or the
        shapefile lacks a part it needs.
    """
    stems: dict[str, set[str]] = {}
    for member in inspect_zip(data, limits=limits):
        p = PurePosixPath(member.filename)
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
    missing = [ext for ext in _SHAPEFILE_NEEDS if ext not in stems[stem]]
    if missing:
        raise RegisterReadError(
            f"the zipped shapefile {PurePosixPath(stem).name!r} cannot be read: "
            + "; ".join(_SHAPEFILE_NEEDS[m] for m in missing)
        )
    return stem


def _geopackage_layer(data: bytes, layer: str | None, notes: list[str]) -> tuple[str, list[str]]:
    """Return the GeoPackage layer to read (``layer``, or the first) and every layer's name.

    Raises
    ------
    InvalidArgumentError
        If ``layer`` is not a layer of the GeoPackage.
    RegisterReadError
        If the GeoPackage holds no layers.
    """
    import pyogrio

    layers = [str(name) for name in pyogrio.list_layers(io.BytesIO(data))[:, 0]]
    if not layers:
        raise RegisterReadError("the GeoPackage holds no layers")
    if layer is None:
        if len(layers) > 1:
            notes.append(
                f"the GeoPackage has {len(layers)} layers; read the first, "
                f"{layers[0]!r} (choose another with layer=)"
            )
        return layers[0], layers
    if layer not in layers:
        raise InvalidArgumentError(
            f"layer={layer!r} is not a layer of this GeoPackage; "
            f"expected one of: {', '.join(layers)}"
        )
    return layer, layers


@contextlib.contextmanager
def _gdal_errors(fmt: str) -> Iterator[None]:
    """Turn GDAL's errors into a :class:`RegisterReadError` and quieten its warnings."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
            # GDAL warns of each unclosed ring; :func:`_read_features` notes them instead
            warnings.filterwarnings("ignore", message="Non closed ring detected")
            yield
    except (InvalidArgumentError, RegisterReadError):
        raise
    except Exception as exc:  # GDAL errors come in several classes
        # GDAL names the in-memory copy (/vsimem/pyogrio_...): say "the file" instead
        text = re.sub(r"'?/vsimem/[^\s':;,]+'?", "the file", str(exc))
        raise RegisterReadError(f"the {FORMATS[fmt]} file cannot be read: {text}") from None


def _read_features(
    source: bytes | Path, read_kwargs: dict[str, Any], max_rows: int, notes: list[str]
) -> pd.DataFrame:
    """Read a layer with pyogrio once its feature count is known to be within ``max_rows``.

    Geometries GEOS refuses as written (a polygon ring that is not closed...) are
    read again with pyogrio's repair: closed rings are kept, the rest have no
    geometry (and so are quarantined unless another column locates them).
    """
    import pyogrio
    import shapely

    count = pyogrio.read_info(source, **read_kwargs)["features"]
    check_row_count(int(count), max_rows, "features")
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


def _read_shapefile_parts(data: bytes, stem: str, max_rows: int, notes: list[str]) -> pd.DataFrame:
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


def _in_bng(frame: gpd.GeoDataFrame, fmt: str, notes: list[str]) -> gpd.GeoSeries:
    """Return the features' geometries in EPSG:27700 (a GeoJSON without a system is WGS84).

    Raises
    ------
    RegisterReadError
        If the file names no coordinate system, or one that cannot be converted.
    """
    geometry = frame.geometry
    if frame.crs is None:
        if fmt != "geojson":
            raise RegisterReadError(
                f"the {FORMATS[fmt]} file names no coordinate system, so its locations "
                "cannot be placed on the map"
            )
        geometry = geometry.set_crs("EPSG:4326")
        notes.append("the GeoJSON names no coordinate system: read as WGS84 (RFC 7946)")
    try:
        return geometry.to_crs(CRS_BNG)
    except Exception as exc:  # pyproj: a system with no way to British National Grid
        raise RegisterReadError(
            f"the {FORMATS[fmt]} file's coordinate system ({geometry.crs.name}) cannot be "
            f"converted to British National Grid: {str(exc)[:200]}"
        ) from None


def read_spatial(
    data: bytes,
    fmt: str,
    layer: str | None,
    limits: ZipLimits | None,
    notes: list[str],
    max_rows: int = DEFAULT_MAX_ROWS,
) -> tuple[pd.DataFrame, np.ndarray, gpd.GeoSeries | None, str | None, list[str]]:
    """Read one layer of a spatial file into a table and its geometries in EPSG:27700.

    Parameters
    ----------
    data
        The file's bytes (a GeoJSON already through :func:`check_geojson`).
    fmt
        ``"gpkg"``, ``"geojson"`` or ``"shapefile"`` (a zip archive).
    layer
        The GeoPackage layer or the shapefile in the archive; the first (or only)
        one when ``None``.
    limits
        Limits for a zip archive.
    notes
        Receives plain-English notes of how the file was read.
    max_rows
        Refuse a layer of more features than this, counted before it is read.

    Returns
    -------
    table, row_numbers, geometry, layer, layers
        The attributes, each feature's position counted from 1, the geometries
        (``None`` for a GeoPackage table without geometry), the layer read and
        every layer's name.

    Raises
    ------
    InvalidArgumentError
        If ``layer`` names no layer of the file.
    RegisterReadError
        If the file cannot be read, or names no usable coordinate system.
    """
    stem = ""
    layers: list[str] = []
    read_kwargs: dict[str, Any] = {}
    if fmt == "shapefile":
        stem = _shapefile_stem(data, layer, limits)
        layer = PurePosixPath(stem).name
        layers = [layer]
    with _gdal_errors(fmt):
        if fmt == "gpkg":
            layer, layers = _geopackage_layer(data, layer, notes)
            read_kwargs["layer"] = layer
        if fmt == "shapefile":
            frame = _read_shapefile_parts(data, stem, max_rows, notes)
        else:
            frame = _read_features(data, read_kwargs, max_rows, notes)
    if not isinstance(frame, gpd.GeoDataFrame):  # a table without geometry (GeoPackage)
        notes.append(f"the layer {layer!r} has no geometry: located from its columns")
        table = pd.DataFrame(frame)
        return table, np.arange(len(table), dtype="int64") + 1, None, layer, layers
    geometry = _in_bng(frame, fmt, notes)
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    rows = np.arange(len(table), dtype="int64") + 1
    return table, rows, geometry.reset_index(drop=True), layer, layers
