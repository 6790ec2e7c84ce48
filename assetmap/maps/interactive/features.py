"""Turn estate frames (EPSG:27700) into what a Leaflet layer draws, and figures into text.

The checks and conversions every layer of the interactive map shares: a frame
with a CRS, the rows that have a location, one point per site, bounds and
GeoJSON features in WGS84 (converted only here), and the figures of tooltips
and records as people read them.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping

from ...errors import InvalidArgumentError
from ...schema import CRS_BNG, CRS_WGS84

__all__ = [
    "as_points",
    "bounds_wgs84",
    "figure",
    "located_points",
    "on_transform_thread",
    "require_crs",
    "shape_features",
    "whole_number",
]


_T = TypeVar("_T")
_TRANSFORM_THREAD = "assetmap-transforms"
_TRANSFORMS = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_TRANSFORM_THREAD)


def on_transform_thread(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run ``fn(*args, **kwargs)`` on one long-lived thread, and return what it returns.

    pyproj makes a transformer's PROJ object once per thread (about 45 ms for each
    transformation, ``GeoSeries.to_crs`` alike), and Streamlit runs each rerun of a
    page on a new thread: a map redrawn for a view paid that again for every
    transformation it made. Coordinate transformations made for a view run here,
    so they pay it once per process.
    """
    if threading.current_thread().name.startswith(_TRANSFORM_THREAD):
        return fn(*args, **kwargs)
    return _TRANSFORMS.submit(fn, *args, **kwargs).result()


def require_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``frame`` if it is a GeoDataFrame with a CRS, else raise.

    Parameters
    ----------
    frame
        The argument to check.
    what
        Its name, for the message.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame``.

    Raises
    ------
    InvalidArgumentError
        If ``frame`` is not a GeoDataFrame, or has no CRS.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidArgumentError(f"{what} must be a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None:
        raise InvalidArgumentError(f"{what} has no CRS; expected {CRS_BNG}")
    return frame


def located_points(sites: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Return the rows of ``sites`` that have a location, and how many have none."""
    geoms = sites.geometry
    located = (geoms.notna() & ~geoms.is_empty).to_numpy()
    return sites[located], int((~located).sum())


def as_points(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Return ``geoms`` with each shape that is not a point replaced by a point inside it."""
    if len(geoms) and not (geoms.geom_type == "Point").all():
        return geoms.representative_point()
    return geoms


@functools.lru_cache(maxsize=8)
def _to_wgs84(crs_text: str) -> Transformer:
    """Return the transformer from a CRS (as given, or its WKT) to WGS84, made once (it is slow)."""
    return Transformer.from_crs(CRS.from_user_input(crs_text), CRS_WGS84, always_xy=True)


def bounds_wgs84(frames: Iterable[gpd.GeoDataFrame | None]) -> list[list[float]] | None:
    """Return ``[[south, west], [north, east]]`` around every located row of ``frames``.

    Parameters
    ----------
    frames
        Frames with a CRS; ``None`` and empty frames are skipped.

    Returns
    -------
    list or None
        Degrees (WGS84); ``None`` when no frame has a geometry.
    """
    boxes = []
    for frame in frames:
        if frame is None or len(frame) == 0:
            continue
        box = frame.geometry.total_bounds  # NaN when no row has a shape
        if not np.isfinite(box).all():
            continue
        # the box of the shapes, in degrees: its edges densified, not every shape converted
        x0, y0, x1, y1 = (float(v) for v in box)
        transformer = _to_wgs84(frame.crs.srs or frame.crs.to_wkt())
        west, south, east, north = on_transform_thread(
            transformer.transform_bounds, x0, y0, x1, y1, densify_pts=21
        )
        if all(math.isfinite(v) for v in (west, south, east, north)):
            boxes.append((west, south, east, north))
    if not boxes:
        return None
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    return [[float(south), float(west)], [float(north), float(east)]]


def shape_features(
    geoms: gpd.GeoSeries,
    tips: Iterable[str],
    styles: Iterable[dict[str, Any]],
    simplify_m: float,
    *,
    places: Iterable[str] | None = None,
    precision: float = 1e-6,
) -> list[dict[str, Any]]:
    """Return GeoJSON features (WGS84, 6 decimals) from geometries, escaped tips and styles.

    Parameters
    ----------
    geoms
        Geometries with a CRS; missing and empty ones give no feature.
    tips
        One escaped tooltip (HTML) per geometry.
    styles
        One Leaflet path style per geometry.
    simplify_m
        Tolerance, in metres, for simplifying the shapes first (0: none).
    places
        One locality code per geometry, kept as the property ``place`` (the page
        that draws the shapes opens the clicked one as the place).
    precision
        The grid, in degrees, the coordinates are snapped to (a map drawn far out
        needs fewer digits).

    Returns
    -------
    list of dict
        Features whose properties are ``tip`` and ``st`` (the style), and ``place``.
    """
    if simplify_m > 0:
        geoms = on_transform_thread(geoms.to_crs, CRS_BNG).simplify(
            simplify_m, preserve_topology=True
        )
    if not geoms.crs.equals(CRS_WGS84):
        geoms = on_transform_thread(geoms.to_crs, CRS_WGS84)
    # pointwise: the coordinates rounded for drawing, never an error on a shape it would fold
    wgs = shapely.set_precision(np.asarray(geoms, dtype=object), precision, mode="pointwise")
    codes = [None] * len(wgs) if places is None else [str(p) for p in places]
    features = []
    for geom, tip, style, code in zip(wgs, tips, styles, codes, strict=True):
        if geom is None or geom.is_empty:
            continue
        properties = {"tip": tip, "st": style}
        if code is not None:
            properties["place"] = code
        features.append({"type": "Feature", "properties": properties, "geometry": mapping(geom)})
    return features


def _finite(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` when it is missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def figure(value: Any, unit: str = "") -> str:
    """Return a figure for a tooltip: whole numbers above 100, else three significant digits.

    Parameters
    ----------
    value
        A number; anything else (missing, not finite) is ``"no data"``.
    unit
        Written after the figure (``" sq ft"``).
    """
    number = _finite(value)
    if number is None:
        return "no data"
    text = f"{number:,.0f}" if abs(number) >= 100 or number == int(number) else f"{number:.3g}"
    return f"{text}{unit}"


def whole_number(value: Any, suffix: str = "") -> str:
    """Return ``value`` as a whole number with thousands separators and ``suffix``.

    Anything that is not a finite number (missing, text) gives ``""``.
    """
    number = _finite(value)
    if number is None:
        return ""
    return f"{number:,.0f}{suffix}"
