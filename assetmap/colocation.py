"""Co-location: groups of different agencies' sites within walking distance.

Two sites are *near* when they stand within ``distance`` metres of each other
(straight line on the British National Grid, 400 m by default: about five
minutes' walk). A **co-location cluster** is a connected component of the
graph whose edges join near sites, kept when its sites belong to at least two
different agencies. An agency is its ``sector`` and ``agency`` together
(compared without regard to case or spacing), so two bodies of the same name in
different sectors count as two. Components chain: A near B and B near C put A,
B and C in one cluster even when A and C are further apart.

Near pairs come from a k-d tree (:class:`scipy.spatial.cKDTree`,
``query_pairs``) over the points' EPSG:27700 coordinates, never from comparing
every pair. The index was chosen by measurement
(``benchmarks/bench_colocation.py --indexes``, 2 cores): all pairs within 400 m
among 100,000 sites take 0.06 s with the k-d tree, 0.30 s with shapely's
STRtree (``dwithin``) and 1.9 s with rtree; among 1,000,000 sites (8.9 million
pairs) 1.0 s, 14 s and 30 s.

The clusters need only the components, not every pair: a dense national estate
has 45 million pairs within 400 m, and building their graph took most of 10 s.
:func:`near_components` sorts the sites into cells of side ``distance / sqrt(2)``
(a cell's sites are all near one another), joins neighbouring cells by one test
each where it can, and leaves only the undecided cells to the k-d tree. It gives
the same components, numbered alike, in about a tenth of the time
(``benchmarks/bench_colocation.py --store``).

The hub of a cluster
--------------------
Each member's *occupied* space is its floor area less its surplus. The hub is
the member that could take all the others with the least new space::

    new_space(h) = max(0, occupied of the other members − surplus of h)

ties broken by freehold tenure first, then the larger floor area, then the
order of the input. Since a member's floor area is its occupied space plus
its surplus, this is the member with the largest floor area, as long as the
others do not fit in it whole. Moving every other member into the hub would
release their floor area and running costs and need ``new_space(h)`` more
space at the hub, so ``released floor area − new_space(h)`` leaves the estate;
:func:`assetmap.savings.consolidation_saving` prices that at the vacated
sites' own running cost per sq ft. Members without a floor area count as
occupying nothing. Because components chain, a town centre can form one large
cluster; the hub then shows where the most spare space is, not a plan to move
a whole town into one building.

Visibility
----------
Restricted sites (``sensitivity == "restricted"``) take part only in their own
agency's results: with ``viewer_agency=None`` they are left out entirely; with
``viewer_agency="Kent Police"`` only Kent Police's restricted sites join in.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import access
from ._validate import check_frame, check_positive, raise_if_any
from .access import check_viewer
from .io.outputs import write_csv, write_geopackage
from .savings import (
    DEFAULT_COST_PER_SQFT,
    column_numbers,
    consolidation_saving,
    cost_per_sqft_problem,
    site_running_costs,
)
from .schema import CRS_BNG, approximate_mask, point_coordinates

__all__ = [
    "DEFAULT_DISTANCE_M",
    "DEFAULT_HULL_BUFFER_M",
    "ColocationResult",
    "colocation_clusters",
    "colocation_pairs",
]

#: Walking distance for co-location, metres (about five minutes on foot).
DEFAULT_DISTANCE_M = 400.0
#: How far cluster hulls reach beyond their outermost sites, metres.
DEFAULT_HULL_BUFFER_M = 25.0

_REQUIRED = ("agency", "sector")


def _norm(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Factorize names as :func:`assetmap.access.agency_key` compares them.

    Spacing is collapsed and case folded; the display label of each code is
    the first spelling met.

    Returns
    -------
    codes, labels
        An integer code per value and each code's display label.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    raw = pd.Series(uniques, dtype="str").fillna("")
    keys = raw.map(access.agency_key).to_numpy(dtype=object)  # the distinct values only
    key_codes, key_uniques = pd.factorize(keys)
    labels = np.empty(len(key_uniques), dtype=object)
    # the display label is the first spelling met
    first = pd.Series(np.arange(len(key_codes))).groupby(key_codes).first().to_numpy()
    labels[:] = raw.str.strip().to_numpy(dtype=object)[first]
    return key_codes[codes], labels


def agency_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Identify each row's agency by its sector and name together.

    Parameters
    ----------
    frame
        A table with ``sector`` and ``agency`` columns.

    Returns
    -------
    codes, labels
        An integer code per row (same code = same agency) and each code's
        display name (the agency's name as first spelt).
    """
    if len(frame) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    s_codes, _ = _norm(frame["sector"])
    a_codes, a_labels = _norm(frame["agency"])
    combined = s_codes.astype(np.int64) * (len(a_labels) + 1) + a_codes
    codes, uniques = pd.factorize(combined)
    labels = a_labels[uniques % (len(a_labels) + 1)]
    return codes.astype(np.int64), labels


def _text(frame: pd.DataFrame, column: str, positions: np.ndarray | None = None) -> np.ndarray:
    """Return a text column as an object array ("" where missing), optionally at some positions."""
    if column not in frame.columns:
        return np.full(len(frame) if positions is None else len(positions), "", dtype=object)
    values = frame[column] if positions is None else frame[column].take(positions)
    return values.to_numpy(dtype=object, na_value="")


def _hull_points(xy: np.ndarray, group: np.ndarray, k: int) -> np.ndarray:
    """Mark the points that may lie on their group's convex hull (Akl–Toussaint).

    A point strictly inside the quadrilateral of its group's extreme points
    (least and greatest x, least and greatest y) is inside the hull, so it is
    not needed to draw the hull.
    """
    x, y = xy[:, 0], xy[:, 1]
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(k))
    corners = []
    for values, reduce in ((x, np.minimum), (y, np.minimum), (x, np.maximum), (y, np.maximum)):
        extreme = reduce.reduceat(values[order], starts)
        hit = np.flatnonzero(values == extreme[group])
        corner = np.empty(k, dtype=np.int64)
        corner[group[hit]] = hit
        corners.append(corner[group])
    # west, south, east, north: counter-clockwise
    inside = np.ones(len(xy), dtype=bool)
    for a in range(4):
        p0, p1 = corners[a], corners[(a + 1) % 4]
        cross = (x[p1] - x[p0]) * (y - y[p0]) - (y[p1] - y[p0]) * (x - x[p0])
        inside &= cross > 0
    return ~inside


# ---------------------------------------------------------------------------
# co-location


@dataclass
class _Eligible:
    """The sites that take part: visible and located."""

    positions: np.ndarray  # positions in the input
    xy: np.ndarray
    agency: np.ndarray  # agency codes
    agency_labels: np.ndarray
    n_unlocated: int
    n_approximate: int = 0  # visible sites placed only approximately, left out


def _eligible(
    sites,
    distance,
    viewer_agency,
    *,
    extra: list[str] | None = None,
    include_approximate: bool = False,
):
    problems = list(extra or [])
    checked, sites = check_frame("sites", sites, _REQUIRED)
    problems += checked
    if p := check_positive("distance", distance):
        problems.append(p)
    if p := check_viewer(viewer_agency):
        problems.append(p)
    raise_if_any(problems)
    visible = access.visible_mask(sites, viewer_agency)
    xy, located = point_coordinates(sites.geometry.to_numpy())
    keep = visible & located
    # (other agencies' restricted sites are withheld first: they are in no count)
    approximate = keep & approximate_mask(sites) & (not include_approximate)
    keep &= ~approximate
    positions = np.flatnonzero(keep)
    codes, labels = agency_codes(sites)
    codes = codes[positions]
    return sites, _Eligible(
        positions=positions,
        xy=np.take(xy, positions, axis=0),
        agency=codes,
        agency_labels=labels,
        n_unlocated=int((visible & ~located).sum()),
        n_approximate=int(approximate.sum()),
    )


def _near_pairs(xy: np.ndarray, distance: float) -> np.ndarray:
    """Every pair (i < j) of points within ``distance``, as an (m, 2) array."""
    from scipy.spatial import cKDTree

    if len(xy) < 2:
        return np.zeros((0, 2), dtype=np.intp)
    tree = cKDTree(xy, compact_nodes=False, copy_data=False)
    return tree.query_pairs(float(distance), output_type="ndarray")


def colocation_pairs(
    sites: gpd.GeoDataFrame,
    *,
    distance: float = DEFAULT_DISTANCE_M,
    viewer_agency: str | None = None,
    include_approximate: bool = False,
) -> pd.DataFrame:
    """Every pair of different agencies' sites within ``distance`` of each other.

    Parameters
    ----------
    sites
        Canonical sites (points, EPSG:27700; other CRSs are reprojected).
    distance
        The walking distance, metres (straight line).
    viewer_agency
        The agency looking; see the module's notes on visibility.
    include_approximate
        Whether sites placed only approximately (at the centre of a postcode
        district or sector) take part; by default they are left out.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``left`` and ``right`` (the sites' index labels, left
        earlier in the input; join on them for other columns), ``left_agency``
        and ``right_agency`` (categorical: the agency's name, with its sector
        where two sectors share a name) and ``distance_m``.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong.
    """
    sites, el = _eligible(sites, distance, viewer_agency, include_approximate=include_approximate)
    pairs = _near_pairs(el.xy, distance)
    pairs = pairs[el.agency[pairs[:, 0]] != el.agency[pairs[:, 1]]]
    i, j = pairs[:, 0], pairs[:, 1]
    pi, pj = np.take(el.positions, i), np.take(el.positions, j)
    labels = pd.Series(el.agency_labels.astype(str), dtype="str")
    clash = labels.duplicated(keep=False).to_numpy()
    if clash.any():  # the same name in two sectors
        sectors = np.empty(len(labels), dtype=object)
        sectors[el.agency] = _text(sites, "sector", el.positions)
        labels[clash] = labels[clash] + " (" + pd.Series(sectors[clash], dtype="str") + ")"
    categories = pd.Index(labels.tolist(), dtype="str")
    x, y = np.ascontiguousarray(el.xy[:, 0]), np.ascontiguousarray(el.xy[:, 1])
    distance_m = np.hypot(np.take(x, i) - np.take(x, j), np.take(y, i) - np.take(y, j))
    index = sites.index
    if isinstance(index, pd.RangeIndex):
        left, right = index.start + index.step * pi, index.start + index.step * pj
    else:
        left, right = np.take(index.to_numpy(), pi), np.take(index.to_numpy(), pj)
    return pd.DataFrame(
        {
            "left": left,
            "right": right,
            "left_agency": pd.Categorical.from_codes(el.agency[i], categories=categories),
            "right_agency": pd.Categorical.from_codes(el.agency[j], categories=categories),
            "distance_m": distance_m,
        }
    )


@dataclass
class ColocationResult:
    """Co-location clusters and their members.

    Attributes
    ----------
    clusters
        One row per cluster (EPSG:27700 polygons: the members' convex hull
        buffered by ``hull_buffer`` metres), ordered by the number of agencies,
        then total floor area, largest first: ``cluster_id`` (1, 2, ...),
        ``n_sites``, ``n_agencies``, ``agencies`` (names joined by ``"; "``),
        ``floor_area_sqft``, ``surplus_sqft``, ``occupied_sqft``,
        ``running_cost_gbp`` (reported or estimated), ``costs_estimated``
        (members whose cost was estimated), ``costs_unknown`` (members with
        neither a cost nor a floor area), ``hub_index`` (the hub's index label),
        ``hub_site_id``, ``hub_name``, ``hub_agency``, ``hub_tenure``,
        ``new_space_sqft``, ``released_floor_area_sqft``,
        ``net_floor_area_released_sqft``, ``released_running_cost_gbp``,
        ``saving_gbp`` and ``saving_estimated``.
    members
        One row per member site, indexed by the input's labels, in the input's
        order: the site's own columns (``site_id``, ``name``,
        ``agency``, ``sector``, ``use_class``, ``tenure``, ``floor_area_sqft``,
        ``surplus_sqft`` where present), ``cluster_id``, ``is_hub``,
        ``distance_to_hub_m``, ``running_cost_gbp`` (reported or estimated) and
        ``cost_basis``; point geometry.
    site_cluster
        Aligned to the input sites: each site's ``cluster_id`` (nullable
        integer; missing for sites in no cluster and sites left out).
    distance_m
        The walking distance used.
    message
        A sentence saying what was found, or why nothing was.
    sites_considered
        Sites that took part (visible and located). Other agencies' restricted
        sites are withheld before anything is counted, and no figure says how
        many there were (:mod:`assetmap.access`).
    unlocated_excluded
        Sites left out for want of a location.
    approximate_excluded
        Sites left out because they are placed only approximately (at the centre of
        a postcode district or sector; ``include_approximate=True`` takes them in).
    """

    clusters: gpd.GeoDataFrame
    members: gpd.GeoDataFrame
    site_cluster: pd.Series
    distance_m: float
    message: str
    sites_considered: int = 0
    unlocated_excluded: int = 0
    approximate_excluded: int = 0

    @property
    def empty(self) -> bool:
        """Whether no cluster was found."""
        return len(self.clusters) == 0

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the map layers: ``clusters`` (hull polygons) and ``members`` (points)."""
        members = self.members.copy()
        members.insert(0, "site_index", members.index.astype(str))
        clusters = self.clusters.copy()
        clusters["hub_index"] = clusters["hub_index"].astype(str)
        return {"clusters": clusters, "members": members}

    def to_csv(self, path: str | os.PathLike) -> list[Path]:
        """Write the clusters to ``path`` and the members beside it (``*_members.csv``).

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        path = Path(path)
        layers = self.layers()
        members_path = path.with_name(path.stem + "_members" + (path.suffix or ".csv"))
        return [
            write_csv(layers["clusters"], path),
            write_csv(layers["members"], members_path),
        ]

    def to_gpkg(self, path: str | os.PathLike) -> Path:
        """Write the ``clusters`` and ``members`` layers to a GeoPackage."""
        return write_geopackage(
            self.layers(), path, geometry_types={"clusters": "Polygon", "members": "Point"}
        )


_CLUSTER_COLUMNS: dict[str, str] = {
    "cluster_id": "int64",
    "n_sites": "int64",
    "n_agencies": "int64",
    "agencies": "str",
    "floor_area_sqft": "float64",
    "surplus_sqft": "float64",
    "occupied_sqft": "float64",
    "running_cost_gbp": "float64",
    "costs_estimated": "int64",
    "costs_unknown": "int64",
    "hub_index": "object",
    "hub_site_id": "str",
    "hub_name": "str",
    "hub_agency": "str",
    "hub_tenure": "str",
    "new_space_sqft": "float64",
    "released_floor_area_sqft": "float64",
    "net_floor_area_released_sqft": "float64",
    "released_running_cost_gbp": "float64",
    "saving_gbp": "float64",
    "saving_estimated": "bool",
}

_MEMBER_SITE_COLUMNS = (
    "site_id",
    "name",
    "agency",
    "sector",
    "use_class",
    "tenure",
    "floor_area_sqft",
    "surplus_sqft",
)


def _empty_result(sites, el: _Eligible, distance: float, message: str) -> ColocationResult:
    clusters = gpd.GeoDataFrame(
        {c: pd.Series(dtype=t) for c, t in _CLUSTER_COLUMNS.items()},
        geometry=gpd.GeoSeries([], crs=CRS_BNG),
        crs=CRS_BNG,
    )
    cols = [c for c in _MEMBER_SITE_COLUMNS if c in sites.columns]
    members = gpd.GeoDataFrame(
        sites.iloc[:0][cols].assign(
            cluster_id=pd.Series(dtype="int64"),
            is_hub=pd.Series(dtype="bool"),
            distance_to_hub_m=pd.Series(dtype="float64"),
            running_cost_gbp=pd.Series(dtype="float64"),
            cost_basis=pd.Series(dtype="str"),
        ),
        geometry=gpd.GeoSeries([], crs=CRS_BNG),
        crs=CRS_BNG,
    )
    return ColocationResult(
        clusters=clusters,
        members=members,
        site_cluster=pd.Series(pd.NA, index=sites.index, dtype="Int64"),
        distance_m=float(distance),
        message=message,
        sites_considered=len(el.positions),
        unlocated_excluded=el.n_unlocated,
        approximate_excluded=el.n_approximate,
    )


def _left_out(el: _Eligible) -> str:
    parts = []
    if el.n_unlocated:
        parts.append(f"{el.n_unlocated:,} sites without a location left out")
    if el.n_approximate:
        parts.append(
            f"{el.n_approximate:,} site{'s' if el.n_approximate != 1 else ''} placed only "
            "approximately (at the centre of a postcode district or sector) left out"
        )
    return f" ({'; '.join(parts)})" if parts else ""


def _components(el: _Eligible, distance: float) -> np.ndarray:
    """Return each eligible site's connected component in the graph of near pairs."""
    return near_components(el.xy, distance)


# Cell offsets (dx, dy) to the cells that may hold a point within the distance of a
# point in a cell, one of each pair of opposites: with cells of side distance / sqrt(2),
# cells three or more apart in x or y are more than the distance apart.
_CELL_OFFSETS = ((1, 0), (2, 0), *((dx, dy) for dy in (1, 2) for dx in range(-2, 3)))
# Slack for the cell side and the tests on cells: floating-point rounding may only ever
# send a pair of cells to the exact check (the k-d tree's), never decide it.
_SLACK = 1e-9


def near_components(xy: np.ndarray, distance: float) -> np.ndarray:
    """Label the connected components of the graph joining points within ``distance``.

    The same partition as :func:`scipy.sparse.csgraph.connected_components` over every
    pair from ``cKDTree.query_pairs(distance)``, numbered alike (in the order of each
    component's first point), without listing every pair: a dense national estate has
    tens of millions of them (``benchmarks/bench_colocation.py --store``).

    The points are put in square cells of side ``distance / sqrt(2)``, so the points of
    one cell are all near one another. Two cells can only hold a near pair if they are
    at most two cells apart. Each such pair of cells is

    - joined if the two points furthest towards each other (along the offset between
      the cells) are near;
    - left apart if their points' bounding boxes are further apart than the distance;
    - otherwise, unless the joined cells already put them in one component, settled
      exactly: a k-d tree lists the near pairs among their points that lie within the
      distance of the other cell's box.

    Parameters
    ----------
    xy
        Coordinates, an (n, 2) array of finite metres (EPSG:27700).
    distance
        The distance, metres, > 0.

    Returns
    -------
    numpy.ndarray
        Each point's component, 0 to k - 1.
    """
    n = len(xy)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    side = distance / np.sqrt(2.0) * (1 - _SLACK)
    span = (np.ptp(xy, axis=0) / side) + 5
    if float(span[0]) * float(span[1]) >= 2.0**62:  # cells too many to key: every pair
        pairs = _near_pairs(xy, distance)
        return _graph_components(n, pairs[:, 0], pairs[:, 1])
    grid = _Grid.of(xy, side)
    d2 = float(distance) ** 2
    joined_a, joined_b, open_a, open_b = [], [], [], []
    for offset in _CELL_OFFSETS:
        a, b = grid.beside(offset)
        pa, pb = grid.extreme(offset, np.maximum)[a], grid.extreme(offset, np.minimum)[b]
        near = (grid.x[pa] - grid.x[pb]) ** 2 + (grid.y[pa] - grid.y[pb]) ** 2 <= d2 * (1 - _SLACK)
        joined_a.append(a[near])
        joined_b.append(b[near])
        a, b = a[~near], b[~near]
        maybe = grid.box_gap2(a, b) <= d2 * (1 + _SLACK)
        open_a.append(a[maybe])
        open_b.append(b[maybe])
    comp = _graph_components(grid.k, np.concatenate(joined_a), np.concatenate(joined_b))
    a, b = np.concatenate(open_a), np.concatenate(open_b)
    apart = comp[a] != comp[b]
    if apart.any():
        comp = grid.settle(comp, a[apart], b[apart], float(distance))
    labels = np.empty(n, dtype=np.int64)
    labels[grid.order] = comp[grid.cell]
    # numbered by first point, as connected_components numbers a graph's components
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse]


@dataclass
class _Grid:
    """Points sorted into square cells (:func:`near_components`)."""

    order: np.ndarray  # the points, sorted by cell
    x: np.ndarray  # their coordinates, in that order
    y: np.ndarray
    cell: np.ndarray  # each sorted point's cell, 0..k-1
    keys: np.ndarray  # each cell's key, ascending
    starts: np.ndarray  # each cell's first sorted point
    lens: np.ndarray  # each cell's number of points
    width: int  # key = column * width + row
    box: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # each cell's x0, x1, y0, y1

    @property
    def k(self) -> int:
        return len(self.keys)

    @classmethod
    def of(cls, xy: np.ndarray, side: float) -> _Grid:
        cx = np.floor(xy[:, 0] / side).astype(np.int64)
        cy = np.floor(xy[:, 1] / side).astype(np.int64)
        cx -= cx.min() - 2  # room for offsets of two cells either way
        cy -= cy.min() - 2
        width = int(cy.max()) + 3
        key = cx * width + cy
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        lens = np.diff(np.r_[starts, len(key)])
        x, y = xy[order, 0], xy[order, 1]
        box = (
            np.minimum.reduceat(x, starts),
            np.maximum.reduceat(x, starts),
            np.minimum.reduceat(y, starts),
            np.maximum.reduceat(y, starts),
        )
        cell = np.repeat(np.arange(len(starts)), lens)
        return cls(order, x, y, cell, key[starts], starts, lens, width, box)

    def beside(self, offset: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Return the pairs of non-empty cells ``a`` and ``b = a + offset``."""
        wanted = self.keys + offset[0] * self.width + offset[1]
        at = np.minimum(np.searchsorted(self.keys, wanted), self.k - 1)
        a = np.flatnonzero(self.keys[at] == wanted)
        return a, at[a]

    def extreme(self, offset: tuple[int, int], reduce) -> np.ndarray:
        """Return each cell's first point furthest along (or against) ``offset``."""
        along = self.x * offset[0] + self.y * offset[1]
        at = np.flatnonzero(along == np.repeat(reduce.reduceat(along, self.starts), self.lens))
        first = np.r_[True, self.cell[at][1:] != self.cell[at][:-1]]
        out = np.empty(self.k, dtype=np.int64)
        out[self.cell[at][first]] = at[first]
        return out

    def box_gap2(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the squared gap between the boxes of cells ``a`` and ``b``."""
        x0, x1, y0, y1 = self.box
        gx = np.maximum(0, np.maximum(x0[b] - x1[a], x0[a] - x1[b]))
        gy = np.maximum(0, np.maximum(y0[b] - y1[a], y0[a] - y1[b]))
        return gx * gx + gy * gy

    def settle(self, comp: np.ndarray, a: np.ndarray, b: np.ndarray, distance: float) -> np.ndarray:
        """Join the cells' components by the near pairs between open cells ``a`` and ``b``."""
        from scipy.spatial import cKDTree

        x0, x1, y0, y1 = self.box
        wanted = np.zeros(len(self.x), dtype=bool)
        for here, there in ((a, b), (b, a)):
            count = self.lens[here]
            within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
            pts = np.repeat(self.starts[here], count) + within
            other = np.repeat(there, count)
            px, py = self.x[pts], self.y[pts]
            gx = np.maximum(0, np.maximum(x0[other] - px, px - x1[other]))
            gy = np.maximum(0, np.maximum(y0[other] - py, py - y1[other]))
            wanted[pts[gx * gx + gy * gy <= distance**2 * (1 + _SLACK)]] = True
        sub = np.flatnonzero(wanted)
        tree = cKDTree(np.column_stack([self.x[sub], self.y[sub]]))
        pairs = tree.query_pairs(distance, output_type="ndarray")
        ca, cb = comp[self.cell[sub[pairs[:, 0]]]], comp[self.cell[sub[pairs[:, 1]]]]
        apart = ca != cb
        return _graph_components(self.k, ca[apart], cb[apart])[comp]


def _graph_components(k: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the components of the graph on ``k`` nodes with edges ``a``-``b``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(k, k)).tocsr()
    return connected_components(graph, directed=False)[1]


def _why_no_clusters(
    el: _Eligible, distance: float, member: np.ndarray | None = None
) -> str | None:
    """Return why there is no cluster, or ``None``.

    Without ``member``: whether there are sites of two agencies at all. With
    it (the eligible sites in a component of two or more agencies, found
    once the first check passed): whether any such component exists.
    """
    n = len(el.positions)
    if member is not None:
        if member.any():
            return None
        return (
            f"No co-location clusters: no two agencies' sites stand within {distance:,.0f} m "
            f"of each other among {n:,} sites{_left_out(el)}."
        )
    if n == 0:
        # of the sites the viewer may see: nothing may tell that others were withheld
        why = "no site has a precise location" if el.n_approximate else "there are no sites"
        why = "no site has a location" if el.n_unlocated else why
        return f"No co-location clusters: {why}{_left_out(el)}."
    if len(np.unique(el.agency)) < 2:
        return (
            f"No co-location clusters: all {n:,} sites belong to one agency "
            f"({el.agency_labels[el.agency[0]]}){_left_out(el)}."
        )
    return None


@dataclass
class _Members:
    """The sites in clusters, in eligible order, and their space and cost figures."""

    mpos: np.ndarray  # positions among the eligible sites
    in_pos: np.ndarray  # positions in the input
    xy: np.ndarray  # coordinates
    local: np.ndarray  # each member's cluster, 0..k-1 (before ordering)
    k: int  # the number of clusters
    fa0: np.ndarray  # floor area, 0 where unknown
    sur0: np.ndarray  # surplus, 0 where unknown
    occ: np.ndarray  # occupied space
    costs: pd.DataFrame  # running_cost_gbp and cost_basis, as savings.site_running_costs
    cost0: np.ndarray  # running cost, 0 where unknown
    not_free: np.ndarray  # tenure is not freehold

    def total(self, values: np.ndarray) -> np.ndarray:
        """Return the sum of ``values`` over each cluster's members."""
        return np.bincount(self.local, weights=values, minlength=self.k)

    def basis(self, basis: str) -> np.ndarray:
        """Return whether each member's running cost has this basis."""
        return (self.costs["cost_basis"] == basis).to_numpy(dtype=bool)


def _members(
    sites: gpd.GeoDataFrame, el: _Eligible, comp: np.ndarray, member: np.ndarray, cost_per_sqft
) -> _Members:
    """Gather the members of clusters and their floor area, surplus, cost and tenure."""
    mpos = np.flatnonzero(member)
    _, local = np.unique(comp[mpos], return_inverse=True)
    in_pos = el.positions[mpos]
    fa = column_numbers(sites, "floor_area_sqft")[in_pos]
    sur = column_numbers(sites, "surplus_sqft")[in_pos]
    fa0 = np.where(np.isfinite(fa) & (fa > 0), fa, 0.0)
    sur0 = np.clip(np.where(np.isfinite(sur), sur, 0.0), 0.0, None)
    reported = column_numbers(sites, "running_cost_gbp")[in_pos]
    costs = site_running_costs(
        pd.DataFrame({"running_cost_gbp": reported, "floor_area_sqft": fa}),
        cost_per_sqft=cost_per_sqft,
    )
    cost = costs["running_cost_gbp"].to_numpy()
    if "tenure" in sites.columns:
        tenure = sites["tenure"].take(in_pos).fillna("").astype("str").str.strip().str.lower()
        not_free = (tenure != "freehold").to_numpy(dtype=bool)
    else:
        not_free = np.ones(len(in_pos), dtype=bool)
    return _Members(
        mpos=mpos,
        in_pos=in_pos,
        xy=np.take(el.xy, mpos, axis=0),
        local=local,
        k=int(local.max()) + 1,
        fa0=fa0,
        sur0=sur0,
        occ=np.clip(fa0 - sur0, 0.0, None),
        costs=costs,
        cost0=np.where(np.isfinite(cost), cost, 0.0),
        not_free=not_free,
    )


@dataclass
class _Hubs:
    """Each cluster's hub (by cluster, before ordering) and what moving into it gives."""

    hub: np.ndarray  # member index of each cluster's hub
    is_hub: np.ndarray  # per member
    new_space: np.ndarray  # the new space each hub would need
    released_fa: np.ndarray
    released_cost: np.ndarray
    saving: np.ndarray
    saving_estimated: np.ndarray


def _hubs(m: _Members) -> _Hubs:
    """Choose each cluster's hub: the least new space, then freehold, larger, earlier."""
    new_space = np.clip(m.total(m.occ)[m.local] - m.occ - m.sur0, 0.0, None)
    order = np.lexsort((m.mpos, -m.fa0, m.not_free, new_space, m.local))
    first = np.ones(len(order), dtype=bool)
    first[1:] = m.local[order][1:] != m.local[order][:-1]
    hub = order[first]
    released_fa = m.total(m.fa0) - m.fa0[hub]
    released_cost = m.total(m.cost0) - m.cost0[hub]
    hub_new = new_space[hub]
    is_hub = np.zeros(len(m.mpos), dtype=bool)
    is_hub[hub] = True
    guessed = (m.basis("estimated") | m.basis("unknown")) & ~is_hub
    return _Hubs(
        hub=hub,
        is_hub=is_hub,
        new_space=hub_new,
        released_fa=released_fa,
        released_cost=released_cost,
        saving=np.asarray(consolidation_saving(released_cost, released_fa, hub_new)),
        saving_estimated=m.total(guessed.astype(np.float64)) > 0,
    )


def _agencies_and_rank(
    el: _Eligible, m: _Members, t_fa: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each cluster's number of agencies, their names, and its rank in the output.

    Clusters are ordered by the number of agencies, then total floor area,
    largest first, then by their first site in the input.
    """
    n_labels = len(el.agency_labels)
    pair_key = np.unique(m.local.astype(np.int64) * n_labels + el.agency[m.mpos])
    n_agencies = np.bincount(pair_key // n_labels, minlength=m.k)
    names = el.agency_labels[pair_key % n_labels].tolist()  # pair_key is sorted by cluster
    bounds = np.concatenate([[0], np.cumsum(n_agencies)]).tolist()
    agencies = np.array(
        ["; ".join(names[a:b]) for a, b in itertools.pairwise(bounds)],
        dtype=object,
    )
    first_pos = np.full(m.k, np.iinfo(np.int64).max)
    np.minimum.at(first_pos, m.local, m.mpos)
    rank = np.lexsort((first_pos, -t_fa, -n_agencies))
    return n_agencies, agencies, rank


def _hulls(mxy: np.ndarray, group: np.ndarray, k: int, hull_buffer: float) -> np.ndarray:
    """Return each cluster's convex hull buffered by ``hull_buffer`` metres, by cluster id."""
    on_hull = np.flatnonzero(_hull_points(mxy, group, k))
    on_hull = on_hull[np.argsort(group[on_hull], kind="stable")]
    mp = shapely.multipoints(mxy[on_hull], indices=group[on_hull])
    return shapely.buffer(shapely.convex_hull(mp), float(hull_buffer), quad_segs=4)


def _cluster_table(
    sites: gpd.GeoDataFrame, el: _Eligible, m: _Members, h: _Hubs, hull_buffer: float
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Return the clusters' table in their output order, and each cluster's id by cluster."""
    t_fa = m.total(m.fa0)
    n_agencies, agencies, rank = _agencies_and_rank(el, m, t_fa)
    cluster_id = np.empty(m.k, dtype=np.int64)
    cluster_id[rank] = np.arange(1, m.k + 1)
    hub_in = m.in_pos[h.hub]
    clusters = pd.DataFrame(
        {
            "cluster_id": cluster_id,
            "n_sites": np.bincount(m.local, minlength=m.k),
            "n_agencies": n_agencies,
            "agencies": pd.array(agencies, dtype="str"),
            "floor_area_sqft": t_fa,
            "surplus_sqft": m.total(m.sur0),
            "occupied_sqft": m.total(m.occ),
            "running_cost_gbp": m.total(m.cost0),
            "costs_estimated": m.total(m.basis("estimated").astype(np.float64)).astype(np.int64),
            "costs_unknown": m.total(m.basis("unknown").astype(np.float64)).astype(np.int64),
            "hub_index": pd.array(sites.index.to_numpy()[hub_in], dtype=object),
            "new_space_sqft": h.new_space,
            "released_floor_area_sqft": h.released_fa,
            "net_floor_area_released_sqft": h.released_fa - h.new_space,
            "released_running_cost_gbp": h.released_cost,
            "saving_gbp": h.saving,
            "saving_estimated": h.saving_estimated,
        }
    )
    clusters = clusters.iloc[rank].reset_index(drop=True)
    hub_by_id = hub_in[rank]  # hubs in cluster_id order
    after_hub = list(clusters.columns).index("hub_index") + 1
    for i, (column, source) in enumerate(
        (
            ("hub_site_id", "site_id"),
            ("hub_name", "name"),
            ("hub_agency", "agency"),
            ("hub_tenure", "tenure"),
        )
    ):
        values = pd.Series(_text(sites, source, hub_by_id), dtype="str")
        clusters.insert(after_hub + i, column, values)
    hulls = _hulls(m.xy, cluster_id[m.local] - 1, m.k, hull_buffer)
    return gpd.GeoDataFrame(clusters, geometry=hulls, crs=CRS_BNG), cluster_id


def _member_table(
    sites: gpd.GeoDataFrame, m: _Members, h: _Hubs, cluster_id: np.ndarray
) -> gpd.GeoDataFrame:
    """Return the members' table, in the input's order."""
    hub_xy = np.take(m.xy, np.take(h.hub, m.local), axis=0)
    dist_hub = np.hypot(m.xy[:, 0] - hub_xy[:, 0], m.xy[:, 1] - hub_xy[:, 1])
    mrank = np.argsort(m.in_pos, kind="stable")  # the input's order
    take = m.in_pos[mrank]
    columns = {c: sites[c].array.take(take) for c in _MEMBER_SITE_COLUMNS if c in sites.columns}
    columns.update(
        cluster_id=cluster_id[m.local][mrank],
        is_hub=h.is_hub[mrank],
        distance_to_hub_m=dist_hub[mrank],
        running_cost_gbp=m.costs["running_cost_gbp"].to_numpy()[mrank],
        cost_basis=m.costs["cost_basis"].array.take(mrank),
    )
    return gpd.GeoDataFrame(
        pd.DataFrame(columns, index=sites.index[take]),
        geometry=gpd.GeoSeries(sites.geometry.array.take(take), index=sites.index[take]),
        crs=CRS_BNG,
    )


def colocation_clusters(
    sites: gpd.GeoDataFrame,
    *,
    distance: float = DEFAULT_DISTANCE_M,
    viewer_agency: str | None = None,
    cost_per_sqft: float = DEFAULT_COST_PER_SQFT,
    hull_buffer: float = DEFAULT_HULL_BUFFER_M,
    include_approximate: bool = False,
) -> ColocationResult:
    """Find groups of at least two agencies' sites within walking distance.

    Parameters
    ----------
    sites
        Canonical sites (points, EPSG:27700; other CRSs are reprojected).
    distance
        The walking distance, metres (straight line), > 0.
    viewer_agency
        The agency looking: ``None`` leaves every restricted site out; an
        agency's name lets that agency's restricted sites take part.
    cost_per_sqft
        The default cost of space, £ per sq ft a year, that estimates the
        running cost of sites whose register gives none (see :mod:`assetmap.savings`).
    hull_buffer
        How far the cluster polygons reach beyond their outermost sites, metres, > 0.
    include_approximate
        Whether sites placed only approximately (``location_precision`` a postcode
        sector or district: at the centre of that area) take part. By default they are
        left out, and the message says how many.

    Returns
    -------
    ColocationResult
        Clusters, members, each site's cluster (aligned to ``sites``) and a
        message; with no clusters the tables are empty and the message says why.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong: ``sites`` not a GeoDataFrame with the
        canonical columns, a distance, hull buffer or cost not a positive number.

    Examples
    --------
    >>> result = colocation_clusters(store.sites(), distance=400)  # doctest: +SKIP
    >>> print(result.message)  # doctest: +SKIP
    >>> result.clusters[["cluster_id", "agencies", "saving_gbp"]].head()  # doctest: +SKIP
    """
    extra = [check_positive("hull_buffer", hull_buffer), cost_per_sqft_problem(cost_per_sqft)]
    sites, el = _eligible(
        sites,
        distance,
        viewer_agency,
        extra=[p for p in extra if p],
        include_approximate=include_approximate,
    )
    if why := _why_no_clusters(el, distance):
        return _empty_result(sites, el, distance, why)
    comp = _components(el, distance)
    # the components with two or more agencies
    key = np.unique(comp.astype(np.int64) * len(el.agency_labels) + el.agency)
    n_ag = np.bincount(key // len(el.agency_labels), minlength=comp.max() + 1)
    member = n_ag[comp] >= 2
    if why := _why_no_clusters(el, distance, member):
        return _empty_result(sites, el, distance, why)

    m = _members(sites, el, comp, member, cost_per_sqft)
    h = _hubs(m)
    clusters, cluster_id = _cluster_table(sites, el, m, h, hull_buffer)
    members = _member_table(sites, m, h, cluster_id)
    labels = np.full(len(sites), -1, dtype=np.int64)
    labels[m.in_pos] = cluster_id[m.local]
    site_cluster = pd.Series(labels, index=sites.index, dtype="Int64").where(labels > 0)
    n, k = len(el.positions), m.k
    message = (
        f"{k:,} co-location cluster{'s' if k != 1 else ''} of two or more agencies within "
        f"{distance:,.0f} m: {len(m.mpos):,} of {n:,} sites{_left_out(el)}. Consolidating "
        f"each into its hub would release "
        f"{float((h.released_fa - h.new_space).sum()):,.0f} sq ft, saving "
        f"about £{float(h.saving.sum()):,.0f} a year."
    )
    return ColocationResult(
        clusters=clusters,
        members=members,
        site_cluster=site_cluster,
        distance_m=float(distance),
        message=message,
        sites_considered=n,
        unlocated_excluded=el.n_unlocated,
        approximate_excluded=el.n_approximate,
    )
