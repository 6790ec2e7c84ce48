"""GeoPackage geometry blobs, built vectorised: the bytes the bulk writer stores as ``geom``.

A blob is the GeoPackage header (magic, version, flags, ``srs_id``, an envelope for
anything but a point) followed by ISO WKB, exactly as GDAL writes it. Points, the
bulk of an estate, are packed with numpy without making shapely objects.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

__all__ = ["gpkg_blobs", "point_blobs", "to_multi"]

_BLOB_HEADER = b"GP\x00"  # magic and version; a flags byte and the srs_id follow


def point_blobs(x: np.ndarray, y: np.ndarray, srs_id: int):
    """Return GeoPackage blobs of 2D points, packed with numpy, and their extent.

    Each blob is an 8-byte header (``GP``, version 0, little-endian, no envelope,
    the srs_id) and 21 bytes of WKB. Rows whose x or y is NaN have no point: NULL.

    Parameters
    ----------
    x, y
        The points' coordinates, in the layer's coordinate system.
    srs_id
        The layer's ``srs_id`` in ``gpkg_spatial_ref_sys``.

    Returns
    -------
    blobs, extent
        A pyarrow binary array, and ``[minx, miny, maxx, maxy]`` (NaN when empty).
    """
    import pyarrow as pa

    n = len(x)
    present = np.isfinite(x) & np.isfinite(y)
    srs = int(srs_id).to_bytes(4, "little", signed=True)
    # one packed 29-byte record per point: header and WKB type (13 bytes), x, y
    record = np.dtype([("head", "V13"), ("x", "<f8"), ("y", "<f8")])
    packed = np.empty(n, dtype=record)
    packed["head"] = np.void(_BLOB_HEADER + b"\x01" + srs + b"\x01\x01\x00\x00\x00")
    packed["x"] = x
    packed["y"] = y
    offsets = np.arange(0, 29 * (n + 1), 29, dtype=np.int32)
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    blobs = pa.BinaryArray.from_buffers(
        pa.binary(),
        n,
        [validity, pa.py_buffer(offsets), pa.py_buffer(packed)],
        null_count=int(n - present.sum()),
    )
    if not present.any():
        return blobs, np.full(4, np.nan)
    xs, ys = x[present], y[present]
    return blobs, np.array([xs.min(), ys.min(), xs.max(), ys.max()])


def gpkg_blobs(geoms: np.ndarray, srs_id: int):
    """Return GeoPackage geometry blobs (header and WKB) for shapely geometries, and their extent.

    Points, the bulk of an estate, are packed by :func:`point_blobs`. Other
    geometries carry an x/y envelope after the header, as GDAL writes them; empty
    ones the empty flag. Missing geometries become NULL.

    Parameters
    ----------
    geoms
        Shapely geometries (``None`` where missing), in the layer's coordinate system.
    srs_id
        The layer's ``srs_id`` in ``gpkg_spatial_ref_sys``.

    Returns
    -------
    blobs, extent
        A pyarrow binary array, and ``[minx, miny, maxx, maxy]`` of the present
        geometries (NaN when there are none).
    """
    import pyarrow as pa
    import shapely

    srs = int(srs_id).to_bytes(4, "little", signed=True)
    n = len(geoms)
    present = ~shapely.is_missing(geoms)
    points = shapely.get_type_id(geoms) == 0
    if (points | ~present).all() and not shapely.is_empty(geoms[present]).any():
        return point_blobs(shapely.get_x(geoms), shapely.get_y(geoms), srs_id)
    wkb = shapely.to_wkb(geoms, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms)
    out: list[bytes | None] = []
    for i in range(n):
        if not present[i]:
            out.append(None)
        elif empty[i]:
            out.append(_BLOB_HEADER + b"\x11" + srs + wkb[i])
        elif points[i]:
            out.append(_BLOB_HEADER + b"\x01" + srs + wkb[i])
        else:
            minx, miny, maxx, maxy = bounds[i]
            envelope = np.array([minx, maxx, miny, maxy], dtype="<f8").tobytes()
            out.append(_BLOB_HEADER + b"\x03" + srs + envelope + wkb[i])
    return pa.array(out, type=pa.binary()), np.asarray(shapely.total_bounds(geoms))


def to_multi(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Return the geometries with each polygon made a multipolygon of one part."""
    import shapely

    arr = np.asarray(geoms.to_numpy(), dtype=object)
    single = shapely.get_type_id(arr) == 3
    out = arr.copy()
    if single.any():
        out[single] = shapely.multipolygons(arr[single].reshape(-1, 1))
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs)
