"""Localities: the bundled boundary levels, polygon repairs, and sites put in localities.

A *locality* is an area that sites are counted in: a district, an LSOA, an NHS
area, or any polygon in a boundary file the user brings (wards, parishes...).
Every boundary set is a GeoDataFrame in British National Grid (EPSG:27700)
with the columns ``code`` and ``name``.

- :func:`load_localities` gives a level of the bundled Kent and Medway set
  (``boundaries/kent_medway.gpkg``, built by ``boundaries/build_boundaries.py``).
- :func:`repair_polygons` and :func:`merge_duplicate_codes` mend a boundary set,
  with a note for each change; :func:`assetmap.io.boundaries.read_boundary_file`
  reads the user's boundary files with them.
- :func:`assign_localities` puts each site in one locality with a spatial
  index, never a loop over polygons.

Show :data:`ATTRIBUTION` wherever ONS boundaries are drawn.
"""

from __future__ import annotations

import functools

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
    "check_points",
    "load_localities",
    "merge_duplicate_codes",
    "polygonal_part",
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

_POLYGON_TYPES = ("Polygon", "MultiPolygon")


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


# --------------------------------------------------------------------------- repairs


def polygonal_part(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Return the polygonal part of a geometry, or ``None`` if it has none.

    Parameters
    ----------
    geom
        Any geometry, or ``None``.

    Returns
    -------
    shapely.Geometry or None
        ``geom`` itself if it is a polygon or multipolygon; the polygons of a
        collection, as one (multi)polygon; ``None`` if it has no polygon.
    """
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
        part = polygonal_part(fixed)
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


def check_points(geoms: np.ndarray, index: pd.Index) -> np.ndarray:
    """Refuse sites whose geometries are not points; a missing geometry is allowed.

    Parameters
    ----------
    geoms
        The sites' geometries, as an array of shapely geometries.
    index
        The sites' index, to name the first site that is not a point.

    Returns
    -------
    numpy.ndarray
        Each geometry's shapely type id (-1 where it is missing).

    Raises
    ------
    InvalidArgumentError
        Counting the geometries that are not points and naming the first.
    """
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero((kinds != shapely.GeometryType.POINT) & (kinds != -1))
    if bad.size:
        raise InvalidArgumentError(
            f"sites has {bad.size} geometries that are not points (the first, at index "
            f"{index[bad[0]]!r}, is a {geoms[bad[0]].geom_type}); expected one Point per site"
        )
    return kinds


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
        :func:`load_localities` or :func:`assetmap.io.boundaries.read_boundary_file`, in EPSG:27700
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
    check_points(points, sites_bng.index)
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
