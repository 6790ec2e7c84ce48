"""Density per locality: the boundary set to count in, and the metrics of each locality.

:func:`resolve_localities` turns one argument (a bundled level, a boundary file or a
GeoDataFrame) into localities in British National Grid; :func:`density_by_locality`
assigns the sites to them and sums the metrics of each, per km², per 1,000 residents
and as a share of the place; :func:`locality_metrics` returns just the table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import access
from .._validate import check_sites, raise_if_any
from ..errors import InvalidArgumentError
from ..io.boundaries import read_boundary_file
from ..io.population import check_population, population_for
from ..localities import (
    EDGE_DISTANCE_M,
    LEVELS,
    _grid,
    assign_localities,
    load_localities,
    merge_duplicate_codes,
    repair_polygons,
)
from ..postcodes import lookup_postcodes
from ..schema import CRS_BNG
from .approximate import approximate_counting
from .classification import Classification, classify
from .metrics import (
    BREAKDOWNS,
    METRICS,
    PER,
    VALUE_COLUMNS,
    group_labels,
    metric_column,
    share,
    site_values,
    sum_by,
    viewers_sites,
)

__all__ = [
    "LocalityDensity",
    "density_by_locality",
    "localities_holding",
    "locality_metrics",
    "resolve_localities",
]

_BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")


# --------------------------------------------------------------------------- localities


def _from_geodataframe(
    frame: gpd.GeoDataFrame, argument: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Check, reproject and repair a boundary GeoDataFrame given by the caller."""
    problems = []
    missing = [c for c in ("code", "name") if c not in frame.columns]
    if missing:
        have = [str(c) for c in frame.columns if c != frame.geometry.name]
        problems.append(
            f"{argument} lacks the column(s) {', '.join(missing)}; expected the columns code "
            f"and name (it has: {', '.join(have) or 'no attribute columns'})"
        )
    if frame.crs is None:
        problems.append(
            f"{argument} has no CRS ({argument}.crs is None); expected EPSG:27700 (British "
            "National Grid) or another CRS that can be reprojected to it"
        )
    if len(frame) == 0:
        problems.append(f"{argument} has no rows; expected at least one locality polygon")
    raise_if_any(problems)
    kinds = shapely.get_type_id(frame.geometry.to_numpy())
    allowed = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
    bad = np.flatnonzero(~np.isin(kinds, allowed))
    if bad.size:
        first = frame.geometry.iat[bad[0]]
        raise InvalidArgumentError(
            f"{argument} has {bad.size} geometries that are not polygons (the first, code "
            f"{frame['code'].iat[bad[0]]!r}, is "
            f"{'missing' if first is None else 'a ' + first.geom_type}); expected polygons"
        )
    notes: list[str] = []
    out = frame if frame.crs.equals(CRS_BNG) else frame.to_crs(CRS_BNG)
    out = out[["code", "name", out.geometry.name]].copy()
    out["code"] = out["code"].astype("str").fillna("").str.strip()
    out["name"] = out["name"].astype("str").fillna("").str.strip()
    out = repair_polygons(out, notes)
    out = merge_duplicate_codes(out, notes)
    return out.reset_index(drop=True), notes


def _looks_like_path(localities: object) -> bool:
    """Return whether a localities argument names a file rather than a bundled level."""
    if isinstance(localities, os.PathLike):
        return True
    return isinstance(localities, str) and (
        Path(localities).suffix.lower() in _BOUNDARY_SUFFIXES
        or os.sep in localities
        or "/" in localities
        or Path(localities).exists()
    )


def resolve_localities(
    localities: str | os.PathLike[str] | gpd.GeoDataFrame, *, argument: str = "level"
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Turn a level name, a boundary file or a GeoDataFrame into localities.

    Switching level is this one argument: ``"district"``, ``"lsoa"`` and
    ``"nhs_area"`` (and ``"county"``) are the bundled Kent and Medway sets;
    any other set (wards, parishes, a neighbouring county) is given as the
    path of a boundary file or as a GeoDataFrame.

    Parameters
    ----------
    localities
        A bundled level name (one of :data:`assetmap.localities.LEVELS`), the
        path of a boundary file that
        :func:`assetmap.io.boundaries.read_boundary_file` reads (GeoJSON,
        GeoPackage, zipped or plain Shapefile), or a GeoDataFrame of polygons
        with the columns ``code`` and ``name`` in any CRS.
    argument
        The argument's name, for error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The localities in EPSG:27700 with ``code``, ``name`` and
        ``geometry`` (a bundled level keeps its extra columns), one row per
        code.
    list of str
        Notes: repaired invalid polygons, merged duplicate codes, dropped
        features.

    Raises
    ------
    InvalidArgumentError
        If a name is neither a bundled level nor a file (the message lists the
        bundled levels), or the file or GeoDataFrame cannot be used.

    Examples
    --------
    >>> districts, notes = resolve_localities("district")  # doctest: +SKIP
    >>> wards, notes = resolve_localities("wards.geojson")  # doctest: +SKIP
    """
    if isinstance(localities, gpd.GeoDataFrame):
        return _from_geodataframe(localities, argument)
    if isinstance(localities, str) and localities in LEVELS:
        return load_localities(localities), []
    if _looks_like_path(localities):
        return read_boundary_file(localities)
    raise InvalidArgumentError(
        f"{argument}={localities!r} is not a bundled level; expected one of: "
        f"{', '.join(LEVELS)}, or a boundary GeoDataFrame (code, name, polygons) or the path "
        "of a boundary file (GeoJSON, GeoPackage or Shapefile) for other levels such as "
        "wards or parishes"
    )


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class LocalityDensity:
    """The result of :func:`density_by_locality`.

    Attributes
    ----------
    metrics
        One row per locality, indexed by ``code`` in the localities' order (or,
        with ``by=``, one row per locality and group, indexed by ``code`` and
        the group). See :func:`density_by_locality` for the columns.
    localities
        The localities used, in EPSG:27700 (``code``, ``name``, ``geometry``).
    assignment
        Aligned to the sites' index: ``locality_code``, ``locality_name``,
        ``on_boundary``, ``outside`` and ``assigned_by``, from
        :func:`assetmap.localities.assign_localities`.
    outside
        The sites in no locality (including sites with no location), even by
        the edge rules: reported, not dropped.
    on_boundary
        The sites on a locality's edge; each is counted once, in the locality
        its ``locality_code`` names.
    notes
        Plain-English notes: polygon repairs, merged codes, population codes
        that are missing.
    by
        The breakdown, ``"sector"``, ``"agency"`` or ``None``.
    assigned_at_edge
        The sites outside every outline (coast, estuary) that were counted all
        the same, one row each, for a caller to show: ``site_id``, ``name`` and
        ``postcode`` (those the sites have), ``locality_code``,
        ``locality_name``, ``assigned_by`` (``"postcode district"`` or
        ``"nearest"``) and ``distance_m`` (how far outside that locality's
        outline the site lies, metres).
    approximate_not_counted
        The sites placed only approximately (at the centre of a postcode district
        or sector) that this level may not count (see
        :mod:`assetmap.density.approximate`): in no locality, and not ``outside``.
    """

    metrics: pd.DataFrame
    localities: gpd.GeoDataFrame
    assignment: pd.DataFrame
    outside: gpd.GeoDataFrame
    on_boundary: gpd.GeoDataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    by: str | None = None
    assigned_at_edge: pd.DataFrame = field(default_factory=pd.DataFrame)
    approximate_not_counted: int = 0

    @property
    def n_outside(self) -> int:
        """Return the number of sites in no locality."""
        return len(self.outside)

    @property
    def n_by_district(self) -> int:
        """Return the number of sites outside every outline put in their postcode's district."""
        return int((self.assignment["assigned_by"] == "postcode district").sum())

    @property
    def n_nearest(self) -> int:
        """Return the number of sites outside every outline put in the nearest locality."""
        return int((self.assignment["assigned_by"] == "nearest").sum())

    @property
    def n_on_boundary(self) -> int:
        """Return the number of sites on a locality's edge (each counted once)."""
        return len(self.on_boundary)

    @property
    def has_population(self) -> bool:
        """Return whether a population table was given (the per-1,000-residents columns)."""
        return "population" in self.metrics.columns

    def choropleth(
        self,
        metric: str = "sites",
        *,
        per: str = "km2",
        scheme: str = "quantiles",
        k: int = 5,
        bins: Sequence[float] | None = None,
    ) -> tuple[gpd.GeoDataFrame, Classification]:
        """Return the localities with their metrics and a class for one value.

        Parameters
        ----------
        metric
            One of :data:`~assetmap.density.metrics.METRICS`.
        per
            One of :data:`~assetmap.density.metrics.PER`; ``"residents"``
            needs a population table.
        scheme, k, bins
            As for :func:`~assetmap.density.classification.classify`.

        Returns
        -------
        geopandas.GeoDataFrame
            The localities (EPSG:27700) with every metric column, plus
            ``value`` (the chosen column), ``class`` (0 to k-1, ``<NA>`` where
            there is no value) and ``class_label`` (the legend text).
        Classification
            The bins, legend and any message about ``k``. Localities with a value
            of nought are a class of their own, labelled "No sites" for
            ``metric="sites"`` and "0" for the others.

        Raises
        ------
        InvalidArgumentError
            If the metric or ``per`` is not valid, ``per="residents"`` without a
            population table, on a table broken down with ``by=``, or as
            :func:`~assetmap.density.classification.classify` raises.
        """
        column = metric_column(metric, per)
        problems = []
        if self.by is not None:
            problems.append(
                f"choropleth() needs one row per locality but this table is broken down by "
                f"{self.by}; expected density_by_locality(..., by=None)"
            )
        if per == "residents" and not self.has_population:
            problems.append(
                "per='residents' needs a population table; expected density_by_locality(..., "
                "population=read_population(path))"
            )
        raise_if_any(problems)
        frame = self.localities[["code", "name", self.localities.geometry.name]].copy()
        table = self.metrics.drop(columns=["name"])
        frame = frame.join(table, on="code")
        zero = "No sites" if metric == "sites" else "0"  # a locality holding no site
        classes = classify(frame[column], scheme=scheme, k=k, bins=bins, zero_label=zero)
        frame["value"] = frame[column]
        frame["class"] = classes.classes
        frame["class_label"] = classes.labels
        return frame, classes


def localities_holding(localities: gpd.GeoDataFrame, points: np.ndarray) -> np.ndarray:
    """Return which localities meet (intersect) at least one of ``points``.

    Parameters
    ----------
    localities
        Polygons (EPSG:27700).
    points
        Point geometries (EPSG:27700); missing and empty ones meet nothing.

    Returns
    -------
    numpy.ndarray
        One bool per locality, in ``localities``' order.

    Notes
    -----
    The answer of ``localities.sindex.query(points, predicate="intersects")``, without
    testing every point against every polygon whose bounding box holds it (a million
    sites against the 318 districts took over five seconds): points in grid cells wholly
    inside one polygon meet that polygon alone (:func:`assetmap.localities._grid`), and
    only the rest are tested exactly, through an index over those points.
    """
    polys = localities.geometry.to_numpy()
    holding = np.zeros(polys.size, dtype=bool)
    points = np.asarray(points, dtype=object)
    located = np.flatnonzero(~(shapely.is_missing(points) | shapely.is_empty(points)))
    if not located.size or not polys.size:
        return holding
    shapely.prepare(polys)
    placed, owner = _grid(points, located, polys, shapely.STRtree(polys))
    holding[owner] = True
    left = np.ones(points.size, dtype=bool)
    left[placed] = False
    rest = located[left[located]]
    if rest.size:
        hit, _ = shapely.STRtree(points[rest]).query(polys, predicate="intersects")
        holding[hit] = True
    return holding


def _checked(
    sites: gpd.GeoDataFrame,
    by: str | None,
    population: pd.DataFrame | None,
    viewer: access.Viewer | str | None,
) -> tuple[gpd.GeoDataFrame, pd.Series | None]:
    """Return the viewer's sites and the residents by code, or raise listing every problem."""
    problems: list[str] = []
    needed = [*VALUE_COLUMNS, "sensitivity"]
    if by is not None:
        if by in BREAKDOWNS:
            needed.append(by)
        else:
            problems.append(
                f"by={by!r} is not valid; expected None or one of: {', '.join(BREAKDOWNS)}"
            )
    check_sites(sites, needed, problems)
    sites = viewers_sites(sites, viewer, problems)
    residents = check_population(population, problems)
    raise_if_any(problems)
    return sites, residents


def _rows(codes: pd.Index, by: str | None, order: list[str]) -> tuple[pd.Index, np.ndarray]:
    """Return the metrics table's index and each row's locality number.

    Without ``by``, one row per code; with it, one per code and group (every group
    of ``order`` under every code).
    """
    n = len(codes)
    if by is None:
        return codes.rename("code"), np.arange(n)
    loc_of_row = np.repeat(np.arange(n), len(order))
    index = pd.MultiIndex.from_arrays(
        [
            pd.Index(codes.to_numpy()[loc_of_row], dtype="str"),
            pd.Index(np.tile(np.asarray(order, dtype=object), n), dtype="str"),
        ],
        names=["code", by],
    )
    return index, loc_of_row


def _rates(
    totals: dict[str, np.ndarray], denominator: np.ndarray, suffix: str, scale: float
) -> dict[str, np.ndarray]:
    """Return each metric divided by a positive denominator (NaN where it is not), scaled."""
    with np.errstate(invalid="ignore", divide="ignore"):
        positive = np.where(denominator > 0, denominator, np.nan)
        return {metric + suffix: totals[metric] / positive * scale for metric in METRICS}


def _metrics(
    sites: gpd.GeoDataFrame,
    locs: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    by: str | None,
    residents: pd.Series | None,
    notes: list[str],
) -> pd.DataFrame:
    """Return the metrics table of :func:`density_by_locality` (its docstring lists the columns)."""
    codes = pd.Index(locs["code"].astype("str"), dtype="str")
    n = len(codes)
    outside = assignment["outside"].to_numpy()
    position = np.where(outside, -1, codes.get_indexer(pd.Index(assignment["locality_code"])))
    inside = position >= 0
    columns = {c: site_values(sites, c)[inside] for c in VALUE_COLUMNS}
    restricted = access.is_restricted(sites)[inside]
    order: list[str] = []
    groups = None
    key = position[inside]
    if by is not None:
        group_of, order = group_labels(sites, by)
        key = key * len(order) + group_of[inside]
        groups = np.tile(np.arange(len(order)), n)
    totals = sum_by(key, n if by is None else n * len(order), columns, restricted)

    index, loc_of_row = _rows(codes, by, order)
    names = locs["name"].astype("str").to_numpy(dtype=object)
    data: dict[str, object] = {"name": pd.array(names[loc_of_row], dtype="str"), **totals}
    area_km2 = (shapely.area(locs.geometry.to_numpy()) / 1e6)[loc_of_row]
    data["area_km2"] = area_km2
    data.update(_rates(totals, area_km2, PER["km2"], 1.0))
    if residents is not None:
        people = population_for(residents, codes, notes)[loc_of_row]
        data["population"] = people
        data.update(_rates(totals, people, PER["residents"], 1000.0))
    for metric in METRICS:
        data[metric + "_share"] = share(totals[metric], groups)
    return pd.DataFrame(data, index=index)


def _assign(
    sites: gpd.GeoDataFrame, locs: gpd.GeoDataFrame, notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign the sites to the localities, with the edge rules; return it and the edge table.

    The sites' postcodes are looked up (for their ONS district) only for the few sites
    outside every outline, so a large estate inside them pays nothing for the rules.
    """
    assignment = assign_localities(sites, locs, max_edge_m=0)
    rows = np.flatnonzero(
        assignment["outside"].to_numpy()
        & ~sites.geometry.is_empty.to_numpy()
        & sites.geometry.notna().to_numpy()
    )
    if rows.size:
        stray = sites.iloc[rows]
        districts = None
        if "postcode" in stray.columns:
            districts = lookup_postcodes(stray["postcode"])["district"].fillna("")
        again = assign_localities(stray, locs, postcode_districts=districts)
        for column in assignment.columns:
            values = assignment[column].to_numpy(copy=True)
            values[rows] = again[column].to_numpy()
            assignment[column] = pd.Series(
                values, index=assignment.index, dtype=assignment[column].dtype
            )
    edge = np.flatnonzero(
        assignment["assigned_by"].isin(["postcode district", "nearest"]).to_numpy()
    )
    table = _edge_table(sites.iloc[edge], assignment.iloc[edge], locs)
    by_district = int((table["assigned_by"] == "postcode district").sum())
    if len(table):
        notes.append(
            f"{len(table):,} sites lie outside every locality's outline (the coast, an "
            f"estuary) and are counted all the same: {by_district:,} in the locality of "
            f"their postcode's ONS district, {len(table) - by_district:,} in the nearest "
            f"locality within {EDGE_DISTANCE_M:,.0f} m (the table of sites assigned at an "
            "edge names them)"
        )
    return assignment, table


def _edge_table(
    sites: gpd.GeoDataFrame, assignment: pd.DataFrame, locs: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Return the sites assigned at an edge: who they are, where they went, how and how far."""
    keep = [c for c in ("site_id", "name", "postcode") if c in sites.columns]
    table = pd.DataFrame(sites[keep]).copy()
    for column in ("locality_code", "locality_name", "assigned_by"):
        table[column] = assignment[column].to_numpy()
    polygons = locs.set_index(locs["code"].astype("str")).geometry
    outline = polygons.reindex(assignment["locality_code"].to_numpy()).to_numpy()
    points = (
        sites.geometry
        if sites.crs is None or sites.crs.equals(CRS_BNG)
        else sites.to_crs(CRS_BNG).geometry
    )
    table["distance_m"] = np.round(shapely.distance(points.to_numpy(), outline), 1)
    return table.reset_index(drop=True)


def density_by_locality(
    sites: gpd.GeoDataFrame,
    localities: str | os.PathLike[str] | gpd.GeoDataFrame = "district",
    *,
    population: pd.DataFrame | None = None,
    by: str | None = None,
    viewer: access.Viewer | str | None = None,
) -> LocalityDensity:
    """Assign sites to localities and compute per-locality density metrics.

    A site outside every outline (generalised outlines cut off the coast and the
    estuaries) is counted in the locality of its postcode's ONS district where the
    sites have a ``postcode`` column and the localities know districts, else in the
    nearest locality within :data:`assetmap.localities.EDGE_DISTANCE_M`; the result's
    notes count them and ``assigned_at_edge`` names them. Only sites beyond that are
    in ``outside``.

    Parameters
    ----------
    sites
        Site points with the columns ``floor_area_sqft``, ``surplus_sqft``,
        ``running_cost_gbp`` and ``sensitivity`` (and ``sector`` or
        ``agency`` for ``by=``), in EPSG:27700 or any CRS that can be
        reprojected to it. Missing numbers add nothing to a sum.
    localities
        A bundled level name (``"district"``, ``"lsoa"``, ``"nhs_area"``,
        ``"county"``), the path of a boundary file, or a GeoDataFrame with
        ``code`` and ``name`` (see :func:`resolve_localities`).
    population
        A table with the columns ``code`` and ``population`` (residents), for
        example from :func:`assetmap.io.read_population`. Localities whose
        code it lacks get NaN per-1,000-residents values and a note listing them.
    by
        ``None`` for one row per locality, or ``"sector"`` or ``"agency"`` for
        a long table with one row per locality and group (every locality times
        every group found among the sites, zeros included).
    viewer
        Who the figures are for (an :class:`assetmap.access.Viewer` or an
        agency's name; default ``None``, nobody's agency): other agencies'
        restricted sites are withheld before anything is counted.

    Returns
    -------
    LocalityDensity
        Its ``metrics`` table has, in this order: ``name``; ``sites``,
        ``restricted_sites``, ``floor_area_sqft``, ``surplus_sqft``,
        ``running_cost_gbp`` (sums over the sites in the locality);
        ``area_km2`` (the polygon's area in EPSG:27700); each metric
        ``..._per_km2``; with a population, ``population`` and each metric
        ``..._per_1000_residents``; each metric ``..._share`` of the place
        total (the sum over all localities; with ``by=``, of the group's
        total). ``restricted_sites`` counts the viewer's own agency's
        restricted sites (the only ones it can hold).

    Raises
    ------
    InvalidArgumentError
        Listing every problem: sites without the columns needed, a ``by``,
        ``viewer`` or population table that cannot be used, or localities
        that cannot be read (see :func:`resolve_localities`).

    Examples
    --------
    >>> result = density_by_locality(store.sites(), "district")  # doctest: +SKIP
    >>> result.metrics[["name", "sites", "sites_per_km2"]]  # doctest: +SKIP
    >>> by_sector = density_by_locality(store.sites(), "district", by="sector")  # doctest: +SKIP
    """
    sites, residents = _checked(sites, by, population, viewer)
    locs, notes = resolve_localities(localities, argument="localities")
    assignment, edge = _assign(sites, locs, notes)
    level = localities if isinstance(localities, str) else None
    assignment, not_counted, more = approximate_counting(sites, locs, assignment, level=level)
    notes += more
    metrics = _metrics(sites, locs, assignment, by=by, residents=residents, notes=notes)
    outside = assignment["outside"].to_numpy()
    boundary = assignment["on_boundary"].to_numpy() & ~outside
    on_edge = sites[boundary].copy()
    on_edge["locality_code"] = assignment["locality_code"][boundary]
    return LocalityDensity(
        metrics=metrics,
        localities=locs,
        assignment=assignment,
        outside=sites[outside].copy(),
        on_boundary=on_edge,
        notes=tuple(notes),
        by=by,
        assigned_at_edge=edge,
        approximate_not_counted=not_counted,
    )


def locality_metrics(
    sites: gpd.GeoDataFrame,
    localities: str | os.PathLike[str] | gpd.GeoDataFrame,
    *,
    population: pd.DataFrame | None = None,
    by: str | None = None,
    viewer: access.Viewer | str | None = None,
) -> pd.DataFrame:
    """Return the per-locality metrics table of :func:`density_by_locality`.

    The table's ``attrs`` carry what the table alone cannot show:
    ``attrs["notes"]`` (repairs, missing population codes),
    ``attrs["outside_sites"]`` and ``attrs["on_boundary_sites"]`` (counts), and
    ``attrs["assigned_by_district_sites"]`` and ``attrs["assigned_nearest_sites"]`` (the
    sites outside every outline counted by the edge rules of
    :func:`assetmap.localities.assign_localities`).
    Use :func:`density_by_locality` to get the outside sites themselves.

    Parameters
    ----------
    sites, localities, population, by, viewer
        As for :func:`density_by_locality`.

    Returns
    -------
    pandas.DataFrame
        One row per locality, indexed by ``code`` in the localities' order
        (with ``by=``, a long table indexed by ``code`` and the group).

    Raises
    ------
    InvalidArgumentError
        As :func:`density_by_locality` raises.

    Examples
    --------
    >>> table = locality_metrics(sites, "district")  # doctest: +SKIP
    >>> table.loc["E07000110", "sites_per_km2"]  # doctest: +SKIP
    """
    result = density_by_locality(sites, localities, population=population, by=by, viewer=viewer)
    return with_counts(result.metrics, result)


def with_counts(table: pd.DataFrame, result: LocalityDensity) -> pd.DataFrame:
    """Return ``table`` with the result's notes and counts of unplaced sites in its ``attrs``."""
    table.attrs["notes"] = list(result.notes)
    table.attrs["outside_sites"] = result.n_outside
    table.attrs["on_boundary_sites"] = result.n_on_boundary
    table.attrs["assigned_by_district_sites"] = result.n_by_district
    table.attrs["assigned_nearest_sites"] = result.n_nearest
    return table
