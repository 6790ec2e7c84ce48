"""Density on a grid rather than in localities: hexagons, and heat for a browser or a map.

:func:`hex_grid` lays the regular hexagons of British National Grid over an extent and
:func:`hex_density` counts and sums the sites in each; :func:`heat_points` gives the
weighted points of a web heat map (the one place density leaves EPSG:27700) and
:func:`kde_surface` a gridded Gaussian kernel density. Other agencies' restricted sites
are withheld from every cell, point and surface.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import access
from .._validate import check_positive, check_sites, one_of, raise_if_any
from ..errors import InvalidArgumentError
from ..localities import check_points
from ..schema import CRS_BNG, CRS_WGS84, approximate_mask
from .metrics import VALUE_COLUMNS, site_values, sum_by, viewers_sites

__all__ = [
    "MAX_CELLS",
    "ORIENTATIONS",
    "HeatPoints",
    "KdeSurface",
    "approximate_left_out",
    "heat_points",
    "hex_density",
    "hex_grid",
    "kde_surface",
]

#: The hexagon orientations that :func:`hex_grid` accepts.
ORIENTATIONS: tuple[str, ...] = ("flat", "pointy")
#: A grid larger than this many hexagons or KDE cells is refused (choose a larger size).
MAX_CELLS = 5_000_000
_SQRT3 = math.sqrt(3.0)


# --------------------------------------------------------------------------- approximate sites


def approximate_left_out(
    sites: gpd.GeoDataFrame, what: str
) -> tuple[gpd.GeoDataFrame, int, list[str]]:
    """Leave out the sites placed only approximately, and say so in a note.

    A site placed at the centre of a postcode district or sector (see
    :func:`assetmap.schema.approximate_mask`) is known only to lie somewhere in an
    area kilometres across, far larger than a hexagon, a heat map's spot or a
    kernel's bandwidth: counted at the area's centre it would pile up where no site
    may be. Grids and surfaces therefore leave such sites out. Call it on the sites
    the viewer may see: the count then includes no withheld site.

    Parameters
    ----------
    sites
        The viewer's sites.
    what
        What the sites are left out of, for the note (``"these hexagons"``).

    Returns
    -------
    sites, left_out, notes
        The sites placed precisely, how many were left out, and a note saying so
        (none when no site was left out).

    Examples
    --------
    >>> precise, n, notes = approximate_left_out(store.sites(), "these hexagons")  # doctest: +SKIP
    """
    approximate = approximate_mask(sites)
    n = int(approximate.sum())
    if not n:
        return sites, 0, []
    note = (
        f"{n:,} site{'s' if n != 1 else ''} placed only approximately (at the centre of a "
        f"postcode district or sector) {'are' if n != 1 else 'is'} left out of {what}: a "
        "postcode area is far larger than a hexagon or a kernel, so the site could be "
        "anywhere in it"
    )
    return sites[~approximate], n, [note]


# --------------------------------------------------------------------------- hexagons


def _extent(extent: object, argument: str) -> tuple[float, float, float, float]:
    """Return ``(minx, miny, maxx, maxy)`` in EPSG:27700 from bounds or a GeoDataFrame."""
    if isinstance(extent, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if extent.crs is None:
            raise InvalidArgumentError(
                f"{argument} has no CRS ({argument}.crs is None); expected EPSG:27700 (British "
                "National Grid) or another CRS that can be reprojected to it"
            )
        frame = extent if extent.crs.equals(CRS_BNG) else extent.to_crs(CRS_BNG)
        geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if len(geoms) == 0:
            raise InvalidArgumentError(
                f"{argument} has no geometries with a location; expected at least one"
            )
        minx, miny, maxx, maxy = (float(v) for v in geoms.total_bounds)
        return minx, miny, maxx, maxy
    try:
        values = tuple(float(v) for v in extent) if isinstance(extent, Iterable) else ()
    except (TypeError, ValueError):
        values = ()
    if (
        len(values) != 4
        or not all(math.isfinite(v) for v in values)
        or values[0] > values[2]
        or values[1] > values[3]
    ):
        raise InvalidArgumentError(
            f"{argument}={extent!r} is not valid; expected a GeoDataFrame or bounds "
            "(minx, miny, maxx, maxy) in EPSG:27700 metres with minx <= maxx and miny <= maxy"
        )
    minx, miny, maxx, maxy = values
    return minx, miny, maxx, maxy


def _check_hex_args(size_m: object, orientation: object, problems: list[str]) -> None:
    """Add what is wrong with a hexagon size or orientation to ``problems``."""
    side = "the hexagon's side (centre to corner) in metres, a number above 0"
    problem = check_positive("size_m", size_m, side)
    if problem:
        problems.append(problem)
    if orientation not in ORIENTATIONS:
        problems.append(one_of("orientation", orientation, ORIENTATIONS))


def axial_round(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the hexagon (axial ``q``, ``r``, whole numbers) holding fractional axial coordinates.

    Cube rounding: round all three cube coordinates and recompute the one that
    moved most, so that every point gets the hexagon whose centre is nearest.

    Examples
    --------
    >>> axial_round(np.array([0.4, 0.6]), np.array([0.0, 0.0]))
    (array([0, 1]), array([0, 0]))
    """
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def _hex_cells(u: np.ndarray, v: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the column and row of the flat-top hexagon holding each point (odd columns up)."""
    col, rr = axial_round((2.0 / 3.0 * u) / size, (-1.0 / 3.0 * u + _SQRT3 / 3.0 * v) / size)
    row = rr + (col - (col & 1)) // 2
    return col, row


def _hex_polygons(col: np.ndarray, row: np.ndarray, size: float, orientation: str) -> np.ndarray:
    """Return the hexagon polygons of columns and rows (flat-top, or mirrored into pointy-top)."""
    cu = 1.5 * size * col
    cv = _SQRT3 * size * (row + 0.5 * (col & 1))
    angles = np.deg2rad(np.arange(0, 360, 60))
    du, dv = size * np.cos(angles), size * np.sin(angles)
    u = cu[:, None] + du[None, :]
    v = cv[:, None] + dv[None, :]
    ring = np.stack([u, v], axis=-1) if orientation == "flat" else np.stack([v, u], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return shapely.orient_polygons(shapely.polygons(ring))


def _uv(x: np.ndarray, y: np.ndarray, orientation: str) -> tuple[np.ndarray, np.ndarray]:
    """Return grid coordinates: pointy-top hexagons are flat-top ones mirrored in the line x = y."""
    return (x, y) if orientation == "flat" else (y, x)


def _hex_frame(col: np.ndarray, row: np.ndarray, size: float, orientation: str) -> gpd.GeoDataFrame:
    ids = pd.array(
        [f"{c}_{r}" for c, r in zip(col.tolist(), row.tolist(), strict=True)], dtype="str"
    )
    return gpd.GeoDataFrame(
        {"hex_id": ids, "col": col, "row": row},
        geometry=_hex_polygons(col, row, size, orientation),
        crs=CRS_BNG,
    )


def hex_grid(
    extent: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float],
    size_m: float,
    *,
    orientation: str = "flat",
) -> gpd.GeoDataFrame:
    """Return the regular hexagons of British National Grid that cover an extent.

    The grid is anchored at the grid's origin (0, 0), so the same size and
    orientation always give the same hexagons, whatever the extent: a hexagon's
    ``hex_id`` means the same on every map.

    Parameters
    ----------
    extent
        A GeoDataFrame or GeoSeries (its bounds, after reprojection to
        EPSG:27700), or bounds ``(minx, miny, maxx, maxy)`` in EPSG:27700.
    size_m
        The side of each hexagon in metres (also its centre-to-corner
        radius). A hexagon's area is ``3 * sqrt(3) / 2 * size_m ** 2`` m².
    orientation
        ``"flat"`` (flat top and bottom, the default) or ``"pointy"``.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700: ``hex_id`` (``"col_row"``), ``col``, ``row`` and
        ``geometry``; every hexagon whose interior meets the extent's
        bounding box. Together they cover the box.

    Raises
    ------
    InvalidArgumentError
        If ``size_m`` is not above 0, ``orientation`` is not valid, the extent
        cannot be used, or the grid would hold more than :data:`MAX_CELLS`
        hexagons (every problem is listed).
    """
    problems: list[str] = []
    _check_hex_args(size_m, orientation, problems)
    raise_if_any(problems)
    minx, miny, maxx, maxy = _extent(extent, "extent")
    size = float(size_m)
    umin, vmin, umax, vmax = (
        (minx, miny, maxx, maxy) if orientation == "flat" else (miny, minx, maxy, maxx)
    )
    col0 = math.floor(umin / (1.5 * size)) - 1
    col1 = math.ceil(umax / (1.5 * size)) + 1
    row0 = math.floor(vmin / (_SQRT3 * size)) - 1
    row1 = math.ceil(vmax / (_SQRT3 * size)) + 1
    count = (col1 - col0 + 1) * (row1 - row0 + 1)
    if count > MAX_CELLS:
        raise InvalidArgumentError(
            f"size_m={size_m!r} would make about {count:,} hexagons over the extent "
            f"({maxx - minx:,.0f} m by {maxy - miny:,.0f} m); expected at most {MAX_CELLS:,}: "
            "choose a larger size_m"
        )
    grid_cols, grid_rows = np.meshgrid(
        np.arange(col0, col1 + 1), np.arange(row0, row1 + 1), indexing="ij"
    )
    cols, rows = grid_cols.ravel(), grid_rows.ravel()
    polygons = _hex_polygons(cols, rows, size, orientation)
    box = shapely.box(minx, miny, maxx, maxy)
    shapely.prepare(box)
    if minx == maxx or miny == maxy:  # a point or a line: keep the hexagons it meets
        keep = shapely.intersects(box, polygons)
    else:
        keep = shapely.intersects(box, polygons) & ~shapely.touches(box, polygons)
    return _hex_frame(cols[keep], rows[keep], size, orientation).reset_index(drop=True)


def hex_density(
    sites: gpd.GeoDataFrame,
    size_m: float,
    *,
    orientation: str = "flat",
    include_empty: bool = False,
    viewer: access.Viewer | str | None = None,
) -> gpd.GeoDataFrame:
    """Count sites (and sum their floor area, surplus and cost) per hexagon.

    Each site falls in exactly one hexagon (its cell is computed, not searched
    for; a point on an edge goes to one side by rounding). Sites with no
    location are not counted.

    Parameters
    ----------
    sites
        Site points with the columns ``floor_area_sqft``, ``surplus_sqft``,
        ``running_cost_gbp`` and ``sensitivity``, in EPSG:27700 or any CRS
        that can be reprojected to it.
    size_m, orientation
        As for :func:`hex_grid`.
    include_empty
        ``False`` (default): only hexagons with at least one site.
        ``True``: every hexagon of :func:`hex_grid` over the sites' extent,
        with zeros where there are no sites.
    viewer
        As for :func:`density_by_locality`.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700, sorted by ``col`` and ``row``: ``hex_id``, ``col``,
        ``row``, ``sites``, ``restricted_sites``, ``floor_area_sqft``,
        ``surplus_sqft``, ``running_cost_gbp``, ``sites_per_km2`` and
        ``geometry``. Sites placed only approximately (at the centre of a postcode
        district or sector) are left out: ``attrs["approximate_left_out"]`` counts
        them and ``attrs["notes"]`` says so (see :func:`approximate_left_out`).

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used, or if a site is not a point.

    Examples
    --------
    >>> cells = hex_density(store.sites(), 1000)  # doctest: +SKIP
    >>> cells[["hex_id", "sites", "sites_per_km2"]]  # doctest: +SKIP
    """
    problems: list[str] = []
    check_sites(sites, [*VALUE_COLUMNS, "sensitivity"], problems)
    _check_hex_args(size_m, orientation, problems)
    sites = viewers_sites(sites, viewer, problems)
    raise_if_any(problems)
    sites, left_out, notes = approximate_left_out(sites, "these hexagons")
    frame = sites if sites.crs.equals(CRS_BNG) else sites.to_crs(CRS_BNG)
    geoms = frame.geometry.to_numpy()
    kinds = check_points(geoms, sites.index)
    located = (kinds == shapely.GeometryType.POINT) & ~shapely.is_empty(geoms)
    size = float(size_m)
    x, y = shapely.get_x(geoms[located]), shapely.get_y(geoms[located])
    col, row = _hex_cells(*_uv(x, y, orientation), size)
    keys = np.stack([col, row], axis=1)
    if keys.size:
        cells, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
    else:
        cells, inverse = np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.int64)
    columns = {c: site_values(frame, c)[located] for c in VALUE_COLUMNS}
    sums = sum_by(inverse, len(cells), columns, access.is_restricted(frame)[located])
    if include_empty and located.any():
        grid = hex_grid(frame[located], size, orientation=orientation)
        every = np.concatenate([np.stack([grid["col"], grid["row"]], axis=1), cells])
        every = np.unique(every, axis=0)  # the grid, and any occupied cell on its edge
        low, span = every.min(axis=0), np.ptp(every, axis=0) + 1
        flat = (every[:, 0] - low[0]) * span[1] + (every[:, 1] - low[1])  # sorted, as every is
        where = np.searchsorted(flat, (cells[:, 0] - low[0]) * span[1] + (cells[:, 1] - low[1]))
        for name, values in list(sums.items()):
            full = np.zeros(len(every), dtype=values.dtype)
            full[where] = values
            sums[name] = full
        cells = every
    out = _hex_frame(cells[:, 0], cells[:, 1], size, orientation)
    for name, values in sums.items():
        out[name] = values
    hex_area_km2 = 1.5 * _SQRT3 * size * size / 1e6
    out["sites_per_km2"] = out["sites"] / hex_area_km2
    order = [
        "hex_id",
        "col",
        "row",
        "sites",
        "restricted_sites",
        *VALUE_COLUMNS,
        "sites_per_km2",
        "geometry",
    ]
    out = out[order].sort_values(["col", "row"], kind="stable").reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=CRS_BNG)
    out.attrs["notes"] = notes
    out.attrs["approximate_left_out"] = left_out
    return out


# --------------------------------------------------------------------------- heat


def _weights(frame: object, weight: str | None, problems: list[str]) -> np.ndarray:
    """Return each site's weight (1 without a weight column), or add a problem."""
    if not isinstance(frame, pd.DataFrame):
        return np.empty(0)  # reported by check_sites
    if weight is None:
        return np.ones(len(frame), dtype="float64")
    if weight not in VALUE_COLUMNS:
        problems.append(
            f"weight={weight!r} is not valid; expected None (each site counts 1) or one of: "
            f"{', '.join(VALUE_COLUMNS)}"
        )
        return np.ones(len(frame), dtype="float64")
    if weight not in frame.columns:
        return np.ones(len(frame), dtype="float64")  # reported by check_sites
    return site_values(frame, weight)


def _weighted_sites(
    sites: gpd.GeoDataFrame,
    weight: str | None,
    viewer: access.Viewer | str | None,
    problems: list[str],
    needed: Sequence[str] = (),
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Return the viewer's sites and their weights, or raise listing every problem."""
    check_sites(sites, [*needed, *([weight] if weight in VALUE_COLUMNS else [])], problems)
    sites = viewers_sites(sites, viewer, problems)
    values = _weights(sites, weight, problems)
    raise_if_any(problems)
    return sites, values


def _located_points(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    return (kinds == shapely.GeometryType.POINT) & ~shapely.is_empty(geoms)


class HeatPoints(list):
    """The ``[lat, lon, weight]`` rows of :func:`heat_points`: a list, with notes.

    Attributes
    ----------
    notes
        Plain-English notes (the sites placed only approximately, left out).
    approximate_left_out
        How many of the viewer's sites were left out as placed only approximately.
    """

    def __init__(
        self,
        rows: Iterable[list[float]] = (),
        *,
        notes: Sequence[str] = (),
        approximate_left_out: int = 0,
    ) -> None:
        super().__init__(rows)
        self.notes: list[str] = list(notes)
        self.approximate_left_out = approximate_left_out


def heat_points(
    sites: gpd.GeoDataFrame,
    *,
    weight: str | None = None,
    viewer: access.Viewer | str | None = None,
    decimals: int = 5,
) -> HeatPoints:
    """Return ``[lat, lon, weight]`` rows in WGS84 for folium's ``HeatMap`` plugin.

    This is the one place where density leaves British National Grid: the
    browser draws the kernel, so the rows are plain points.

    Parameters
    ----------
    sites
        Site points in any CRS that can be reprojected.
    weight
        ``None`` (every site weighs 1) or one of ``floor_area_sqft``,
        ``surplus_sqft`` and ``running_cost_gbp``, scaled so that the largest
        weight is 1. Sites with a missing or non-positive weight are left out.
    viewer
        As for :func:`density_by_locality`: other agencies' restricted sites
        are withheld (a heat map in the browser holds each point's position).
    decimals
        Decimal places of latitude and longitude (5 is about a metre).

    Returns
    -------
    HeatPoints
        A list of ``[latitude, longitude, weight]`` (weight 0 to 1). Sites placed
        only approximately are left out; its ``approximate_left_out`` counts them
        and its ``notes`` say so.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used.

    Examples
    --------
    >>> rows = heat_points(store.sites(), weight="floor_area_sqft")  # doctest: +SKIP
    >>> latitude, longitude, weight = rows[0]  # doctest: +SKIP
    """
    sites, values = _weighted_sites(sites, weight, viewer, [], needed=["sensitivity"])
    precise = ~approximate_mask(sites)
    _, left_out, notes = approximate_left_out(sites, "the heat map")
    keep = _located_points(sites) & np.isfinite(values) & (values > 0) & precise
    if not keep.any():
        return HeatPoints([], notes=notes, approximate_left_out=left_out)
    points = gpd.GeoSeries(sites.geometry.to_numpy()[keep], crs=sites.crs).to_crs(CRS_WGS84)
    lat = np.round(shapely.get_y(points.to_numpy()), decimals)
    lon = np.round(shapely.get_x(points.to_numpy()), decimals)
    w = values[keep]
    w = np.round(w / w.max(), 4)
    rows = np.column_stack([lat, lon, w]).tolist()
    return HeatPoints(rows, notes=notes, approximate_left_out=left_out)


@dataclass(frozen=True)
class KdeSurface:
    """A gridded kernel density of sites, in British National Grid.

    Attributes
    ----------
    values
        Density per km² (sites, or the weight column's units), shape
        ``(rows, columns)``; row 0 is the southernmost.
    x_min, y_min
        The south-west corner of the grid, EPSG:27700 metres.
    cell_m
        The side of each square cell in metres.
    bandwidth_m
        The Gaussian kernel's standard deviation in metres.
    notes
        Plain-English notes (the sites placed only approximately, left out).
    approximate_left_out
        How many of the viewer's sites were left out as placed only approximately.
    """

    values: np.ndarray
    x_min: float
    y_min: float
    cell_m: float
    bandwidth_m: float
    notes: tuple[str, ...] = ()
    approximate_left_out: int = 0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Return ``(minx, miny, maxx, maxy)`` of the grid in EPSG:27700."""
        rows, cols = self.values.shape
        return (
            self.x_min,
            self.y_min,
            self.x_min + cols * self.cell_m,
            self.y_min + rows * self.cell_m,
        )

    def total(self) -> float:
        """Return the surface's integral: the number of sites (or total weight) it spreads."""
        return float(self.values.sum() * (self.cell_m / 1000.0) ** 2)


def kde_surface(
    sites: gpd.GeoDataFrame,
    *,
    cell_m: float = 250.0,
    bandwidth_m: float = 1000.0,
    weight: str | None = None,
    viewer: access.Viewer | str | None = None,
) -> KdeSurface:
    """Return a Gaussian kernel density surface of the sites on a square grid.

    Sites are binned on the grid and smoothed with
    :func:`scipy.ndimage.gaussian_filter` (a binned KDE: time grows with the
    number of cells, not sites times cells). The grid reaches four
    bandwidths beyond the sites (as far as the filter reaches) so that the
    surface holds all the mass. Other agencies' restricted sites are withheld
    (a narrow kernel would otherwise point at them).

    Parameters
    ----------
    sites
        Site points in EPSG:27700 or any CRS that can be reprojected to it.
    cell_m
        The side of a grid cell, in metres.
    bandwidth_m
        The kernel's standard deviation, in metres.
    weight
        ``None`` (sites) or one of ``floor_area_sqft``, ``surplus_sqft`` and
        ``running_cost_gbp`` (missing values weigh nothing).
    viewer
        As for :func:`density_by_locality`.

    Returns
    -------
    KdeSurface
        Sites placed only approximately (at the centre of a postcode district or
        sector) are left out: its ``approximate_left_out`` counts them and its
        ``notes`` say so.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used, including a grid of more
        than :data:`MAX_CELLS` cells.

    Examples
    --------
    >>> surface = kde_surface(store.sites(), cell_m=250, bandwidth_m=1000)  # doctest: +SKIP
    >>> surface.values.shape  # doctest: +SKIP
    """
    from scipy import ndimage

    problems: list[str] = []
    for name, value in (("cell_m", cell_m), ("bandwidth_m", bandwidth_m)):
        problem = check_positive(name, value, "metres, a number above 0")
        if problem:
            problems.append(problem)
    sites, values = _weighted_sites(sites, weight, viewer, problems)
    precise = ~approximate_mask(sites)
    _, left_out, notes = approximate_left_out(sites, "the kernel density")
    frame = sites if sites.crs.equals(CRS_BNG) else sites.to_crs(CRS_BNG)
    keep = _located_points(frame) & np.isfinite(values) & precise
    if not keep.any():
        why = f" ({notes[0]})" if notes else ""
        raise InvalidArgumentError(
            "sites has no located site with a value to smooth; expected at least one point" + why
        )
    geoms = frame.geometry.to_numpy()[keep]
    x, y, w = shapely.get_x(geoms), shapely.get_y(geoms), values[keep]
    cell, pad = float(cell_m), 4.0 * float(bandwidth_m)  # the filter's reach (truncate=4)
    x0 = math.floor((x.min() - pad) / cell) * cell
    y0 = math.floor((y.min() - pad) / cell) * cell
    cols = math.ceil((x.max() + pad - x0) / cell)
    rows = math.ceil((y.max() + pad - y0) / cell)
    if rows * cols > MAX_CELLS:
        raise InvalidArgumentError(
            f"cell_m={cell_m!r} would make {rows * cols:,} cells over the sites' extent; "
            f"expected at most {MAX_CELLS:,}: choose a larger cell_m"
        )
    ix = np.clip(((x - x0) // cell).astype(np.int64), 0, cols - 1)
    iy = np.clip(((y - y0) // cell).astype(np.int64), 0, rows - 1)
    grid = np.bincount(iy * cols + ix, weights=w, minlength=rows * cols).reshape(rows, cols)
    smooth = ndimage.gaussian_filter(grid, sigma=float(bandwidth_m) / cell, mode="constant")
    return KdeSurface(
        values=smooth / (cell / 1000.0) ** 2,
        x_min=x0,
        y_min=y0,
        cell_m=cell,
        bandwidth_m=float(bandwidth_m),
        notes=tuple(notes),
        approximate_left_out=left_out,
    )
