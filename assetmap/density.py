"""Density maps per locality: metrics, classification, hex grid, heat surface, place summary.

Every function here takes GeoDataFrames and returns tables aligned to an
index (momepy style): per-locality tables are indexed by the localities'
codes, per-site tables by the sites' index. Everything is computed in British
National Grid (EPSG:27700): areas in km² come from the polygons in metres, a
hexagon's size is in metres. WGS84 appears only in :func:`heat_points`, the
edge where a web map needs it.

Localities
    :func:`resolve_localities` turns one argument into a boundary set: a
    bundled level name (``"district"``, ``"lsoa"``, ``"nhs_area"``,
    ``"county"``), the path of a boundary file (wards, parishes...), or a
    GeoDataFrame with ``code`` and ``name``. Repairs of invalid polygons come
    back as notes.
Metrics
    :func:`density_by_locality` assigns sites with
    :func:`assetmap.localities.assign_localities` (a spatial index, never a
    loop over polygons) and sums, per locality: ``sites``,
    ``floor_area_sqft``, ``surplus_sqft`` and ``running_cost_gbp``; each per
    km², per 1,000 residents (when a population table is given) and as a
    share of the place total. Sites outside every locality or on a boundary
    are reported, never silently dropped. :func:`locality_metrics` returns
    just the table.
Classification
    :func:`classify` bins values for a choropleth with mapclassify; the
    schemes are in :data:`SCHEMES`.
Hexagons and heat
    :func:`hex_grid`, :func:`hex_density`, :func:`heat_points` (for folium's
    HeatMap) and :func:`kde_surface` (a gridded kernel density).
Board table
    :func:`place_summary` and the atomic writer :func:`write_table`.

Restricted sites (``sensitivity == "restricted"``) of agencies other than the
``viewer``'s are withheld: every function here that takes sites first keeps
only those the viewer may see (:func:`assetmap.access.visible_sites`), so no
figure, total, cell or surface includes them, whatever localities, grids or
filters are asked for (the rule and why: :mod:`assetmap.access`).
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import access
from ._validate import check_sites, one_of, raise_if_any
from .errors import InvalidArgumentError
from .files import replace_atomically, write_csv_text
from .localities import (
    LEVELS,
    assign_localities,
    load_localities,
    merge_duplicate_codes,
    read_boundary_file,
    repair_polygons,
)
from .schema import CRS_BNG, CRS_WGS84, SECTORS

__all__ = [
    "METRICS",
    "METRIC_LABELS",
    "PER",
    "SCHEMES",
    "Classification",
    "KdeSurface",
    "LocalityDensity",
    "classify",
    "density_by_locality",
    "heat_points",
    "hex_density",
    "hex_grid",
    "kde_surface",
    "locality_metrics",
    "metric_column",
    "place_summary",
    "read_population",
    "resolve_localities",
    "write_table",
]

#: The site columns that are summed per locality (besides the count of sites).
VALUE_COLUMNS: tuple[str, ...] = ("floor_area_sqft", "surplus_sqft", "running_cost_gbp")
#: The metrics a density map can show: the count of sites and the summed columns.
METRICS: tuple[str, ...] = ("sites", *VALUE_COLUMNS)
#: What each metric is called, for people (legends, tables, the app's choices).
METRIC_LABELS: dict[str, str] = {
    "sites": "Sites",
    "floor_area_sqft": "Floor area (sq ft)",
    "surplus_sqft": "Surplus space (sq ft)",
    "running_cost_gbp": "Running cost (£ a year)",
}
#: How a metric is normalised: the raw total, per km², or per 1,000 residents.
PER: dict[str, str] = {
    "total": "",
    "km2": "_per_km2",
    "residents": "_per_1000_residents",
}
#: The breakdowns that ``by=`` accepts.
BREAKDOWNS: tuple[str, ...] = ("sector", "agency")
#: The hexagon orientations that :func:`hex_grid` accepts.
ORIENTATIONS: tuple[str, ...] = ("flat", "pointy")

#: A grid larger than this many hexagons or KDE cells is refused (choose a larger size).
MAX_CELLS = 5_000_000
#: How many missing population codes a note lists before "and N more".
_LIST_AT_MOST = 10
_BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
_SQRT3 = math.sqrt(3.0)
_TABLE_SUFFIXES = (".csv", ".gpkg")


# --------------------------------------------------------------------------- helpers


def _listing(values: Sequence[str], at_most: int = _LIST_AT_MOST) -> str:
    """``"a, b, c"``, or the first few and ``"and N more"``."""
    shown = ", ".join(values[:at_most])
    return shown if len(values) <= at_most else f"{shown} and {len(values) - at_most:,} more"


def metric_column(metric: str, per: str = "total") -> str:
    """Return the column of a metrics table that holds ``metric`` normalised by ``per``.

    Parameters
    ----------
    metric
        One of :data:`METRICS`.
    per
        One of :data:`PER`: ``"total"``, ``"km2"`` or ``"residents"``.

    Returns
    -------
    str
        For example ``"sites_per_km2"`` or ``"floor_area_sqft_per_1000_residents"``.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is not valid.
    """
    problems = []
    if metric not in METRICS:
        problems.append(one_of("metric", metric, METRICS))
    if per not in PER:
        problems.append(one_of("per", per, PER))
    raise_if_any(problems)
    return metric + PER[per]


def _values(sites: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric site column as float64, with NaN for missing values."""
    return pd.to_numeric(sites[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _restricted(sites: pd.DataFrame) -> np.ndarray:
    return access.is_restricted(sites)


def _viewers_sites(sites: gpd.GeoDataFrame, viewer: object, problems: list[str]):
    """The sites ``viewer`` may see (the disclosure rule, applied before anything is
    computed), or ``sites`` as given with a problem noted when ``viewer`` is not valid.
    """
    try:
        viewer = access.as_viewer(viewer)  # type: ignore[arg-type]
    except InvalidArgumentError as exc:
        problems.append(str(exc))
        return sites
    if not isinstance(sites, pd.DataFrame) or "sensitivity" not in sites.columns:
        return sites
    return access.visible_sites(sites, viewer, renumber=False)  # results keep the caller's labels


# --------------------------------------------------------------------------- localities


def _from_geodataframe(frame: gpd.GeoDataFrame, argument: str) -> tuple[gpd.GeoDataFrame, list]:
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
        :func:`assetmap.localities.read_boundary_file` reads (GeoJSON,
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
    """
    if isinstance(localities, gpd.GeoDataFrame):
        return _from_geodataframe(localities, argument)
    if isinstance(localities, str) and localities in LEVELS:
        return load_localities(localities), []
    looks_like_path = isinstance(localities, os.PathLike) or (
        isinstance(localities, str)
        and (
            Path(localities).suffix.lower() in _BOUNDARY_SUFFIXES
            or os.sep in localities
            or "/" in localities
            or Path(localities).exists()
        )
    )
    if looks_like_path:
        return read_boundary_file(localities)
    raise InvalidArgumentError(
        f"{argument}={localities!r} is not a bundled level; expected one of: "
        f"{', '.join(LEVELS)}, or a boundary GeoDataFrame (code, name, polygons) or the path "
        "of a boundary file (GeoJSON, GeoPackage or Shapefile) for other levels such as "
        "wards or parishes"
    )


# --------------------------------------------------------------------------- population


def _check_population(population: object, problems: list[str]) -> pd.Series | None:
    """Return population as a float Series indexed by code, or add problems."""
    if population is None:
        return None
    if not isinstance(population, pd.DataFrame):
        problems.append(
            f"population is a {type(population).__name__}; expected a DataFrame with the "
            "columns code and population (see read_population)"
        )
        return None
    missing = [c for c in ("code", "population") if c not in population.columns]
    if missing:
        problems.append(
            f"population lacks the column(s) {', '.join(missing)}; expected the columns code "
            f"and population (it has: {', '.join(map(str, population.columns)) or 'none'})"
        )
        return None
    codes = population["code"].astype("str").str.strip()
    values = pd.to_numeric(population["population"], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        shown = [
            f"{c}={v!r}" for c, v in zip(codes[bad], population["population"][bad], strict=True)
        ]
        problems.append(
            f"population has {int(bad.sum())} values that are not numbers of residents "
            f"({_listing(shown, 5)}); expected a number, 0 or more, for every code"
        )
    duplicated = codes[codes.duplicated()].unique().tolist()
    if duplicated:
        problems.append(
            f"population has duplicated codes ({_listing(duplicated, 5)}); expected one row "
            "per code"
        )
    if bad.any() or duplicated:
        return None
    return pd.Series(values.to_numpy(dtype="float64"), index=pd.Index(codes, dtype="str"))


def read_population(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an ONS small-area population estimates CSV into ``code`` and ``population``.

    Made for the ONS mid-year estimates saved as CSV, such as
    ``SAPE20DT1_mid2017_population_estimates_LAD_LSOA.csv`` (districts and
    LSOAs of England and Wales): the header row is the first row with a
    column of codes (``Area Codes``) and a column of all-age totals (``All
    Ages``, or ``population``); any title rows above it are skipped, and
    thousands separators (``"1,632"``) are read as numbers. Rows without a
    code (blank lines, footnotes) are left out.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The columns ``code`` (str) and ``population`` (int64), in the file's order.

    Raises
    ------
    InvalidArgumentError
        If the file is missing, has no such header row within its first 50
        rows, or has values that are not whole numbers or duplicated codes
        (every problem is listed in one message).
    """
    import csv
    import io

    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError(
            f"path={str(path)!r} is not a file; expected an ONS population estimates CSV with "
            "the columns Area Codes and All Ages"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    header_at = code_at = value_at = None
    for i, row in enumerate(rows[:50]):
        cells = [c.strip().lower() for c in row]
        codes = [j for j, c in enumerate(cells) if "code" in c]
        totals = [j for j, c in enumerate(cells) if c in ("all ages", "all_ages", "population")]
        if codes and totals:
            header_at, code_at, value_at = i, codes[0], totals[0]
            break
    if header_at is None:
        raise InvalidArgumentError(
            f"path={str(path)!r} has no header row with a code column and an all-ages column "
            "in its first 50 rows; expected an ONS population estimates CSV with the columns "
            "Area Codes and All Ages"
        )
    records, bad = [], []
    for line, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        code = row[code_at].strip() if code_at < len(row) else ""
        if not code:
            continue
        value = row[value_at].strip() if value_at < len(row) else ""
        number = value.replace(",", "").replace(" ", "")
        if not (number.isascii() and number.isdigit()):
            bad.append(f"line {line} ({code}: {value!r})")
            continue
        records.append((code, int(number)))
    frame = pd.DataFrame(records, columns=["code", "population"])
    frame = frame.astype({"code": "str", "population": "int64"})
    problems = []
    if bad:
        problems.append(
            f"path={str(path)!r} has {len(bad)} populations that are not whole numbers "
            f"({_listing(bad, 5)}); expected a count of residents such as 1,632"
        )
    duplicated = frame.loc[frame["code"].duplicated(), "code"].unique().tolist()
    if duplicated:
        problems.append(
            f"path={str(path)!r} has duplicated codes ({_listing(duplicated, 5)}); expected "
            "one row per area"
        )
    if not records and not bad:
        problems.append(f"path={str(path)!r} has no rows of data; expected one row per area")
    raise_if_any(problems)
    return frame


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
        ``on_boundary`` and ``outside``, from
        :func:`assetmap.localities.assign_localities`.
    outside
        The sites in no locality (including sites with no location): reported,
        not dropped.
    on_boundary
        The sites on a locality's edge; each is counted once, in the locality
        its ``locality_code`` names.
    notes
        Plain-English notes: polygon repairs, merged codes, population codes
        that are missing.
    by
        The breakdown, ``"sector"``, ``"agency"`` or ``None``.
    """

    metrics: pd.DataFrame
    localities: gpd.GeoDataFrame
    assignment: pd.DataFrame
    outside: gpd.GeoDataFrame
    on_boundary: gpd.GeoDataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    by: str | None = None

    @property
    def n_outside(self) -> int:
        """The number of sites in no locality."""
        return len(self.outside)

    @property
    def n_on_boundary(self) -> int:
        """The number of sites on a locality's edge (each counted once)."""
        return len(self.on_boundary)

    @property
    def has_population(self) -> bool:
        """Whether a population table was given (the per-1,000-residents columns exist)."""
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
            One of :data:`METRICS`.
        per
            One of :data:`PER`; ``"residents"`` needs a population table.
        scheme, k, bins
            As for :func:`classify`.

        Returns
        -------
        geopandas.GeoDataFrame
            The localities (EPSG:27700) with every metric column, plus
            ``value`` (the chosen column), ``class`` (0 to k-1, ``<NA>`` where
            there is no value) and ``class_label`` (the legend text).
        Classification
            The bins, legend and any message about ``k``.

        Raises
        ------
        InvalidArgumentError
            If the metric or ``per`` is not valid, ``per="residents"`` without a
            population table, on a table broken down with ``by=``, or as
            :func:`classify` raises.
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
        classes = classify(frame[column], scheme=scheme, k=k, bins=bins)
        frame["value"] = frame[column]
        frame["class"] = classes.classes
        frame["class_label"] = classes.labels
        return frame, classes


def _group_labels(sites: pd.DataFrame, by: str) -> tuple[np.ndarray, list[str]]:
    """Return each site's group number and the group names (sectors in their usual order)."""
    text = sites[by].astype("str").fillna("").str.strip()
    text = text.where(text != "", "unknown")
    found = set(pd.unique(text))
    if by == "sector":
        order = [s for s in SECTORS if s in found] + sorted(found - set(SECTORS))
    else:
        order = sorted(found)
    codes = pd.Index(order, dtype="str").get_indexer(text)
    return codes, order


def _sums(
    position: np.ndarray, size: int, columns: dict[str, np.ndarray], restricted: np.ndarray
) -> dict[str, np.ndarray]:
    """Count and sum per position with bincount (NaN values add nothing)."""
    out = {"sites": np.bincount(position, minlength=size).astype(np.int64)}
    out["restricted_sites"] = np.bincount(
        position, weights=restricted.astype(np.float64), minlength=size
    ).astype(np.int64)
    for name, values in columns.items():
        out[name] = np.bincount(position, weights=np.nan_to_num(values, nan=0.0), minlength=size)
    return out


def _share(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Each value's share of the total (of its group, when groups are given)."""
    values = values.astype(np.float64)
    if groups is None:
        total = values.sum()
        return values / total if total else np.full(values.shape, np.nan)
    totals = np.bincount(groups, weights=values)
    denom = totals[groups]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom != 0, values / np.where(denom != 0, denom, 1), np.nan)


def density_by_locality(
    sites: gpd.GeoDataFrame,
    localities: str | os.PathLike[str] | gpd.GeoDataFrame = "district",
    *,
    population: pd.DataFrame | None = None,
    by: str | None = None,
    viewer: access.Viewer | str | None = None,
) -> LocalityDensity:
    """Assign sites to localities and compute per-locality density metrics.

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
        example from :func:`read_population`. Localities whose code it lacks
        get NaN per-1,000-residents values and a note listing them.
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
        Listing every argument that cannot be used.

    Examples
    --------
    >>> result = density_by_locality(store.sites(), "district")  # doctest: +SKIP
    >>> result.metrics[["name", "sites", "sites_per_km2"]]  # doctest: +SKIP
    >>> by_sector = density_by_locality(store.sites(), "district", by="sector")  # doctest: +SKIP
    """
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
    sites = _viewers_sites(sites, viewer, problems)
    pop = _check_population(population, problems)
    raise_if_any(problems)

    locs, notes = resolve_localities(localities, argument="localities")
    assignment = assign_localities(sites, locs)
    codes = pd.Index(locs["code"].astype("str"), dtype="str")
    names = locs["name"].astype("str").to_numpy(dtype=object)
    n = len(codes)
    outside = assignment["outside"].to_numpy()
    position = np.where(outside, -1, codes.get_indexer(assignment["locality_code"]))
    inside = position >= 0
    area_km2 = shapely.area(locs.geometry.to_numpy()) / 1e6

    columns = {c: _values(sites, c)[inside] for c in VALUE_COLUMNS}
    restricted = _restricted(sites)[inside]
    if by is None:
        groups, order = None, None
        size, key = n, position[inside]
    else:
        group_of, order = _group_labels(sites, by)
        size = n * len(order)
        key = position[inside] * len(order) + group_of[inside]
    sums = _sums(key, size, columns, restricted)

    if by is None:
        index = codes.rename("code")
        loc_of_row = np.arange(n)
    else:
        loc_of_row = np.repeat(np.arange(n), len(order))
        index = pd.MultiIndex.from_arrays(
            [
                pd.Index(codes.to_numpy()[loc_of_row], dtype="str"),
                pd.Index(np.tile(np.asarray(order, dtype=object), n), dtype="str"),
            ],
            names=["code", by],
        )
        groups = np.tile(np.arange(len(order)), n)
    data: dict[str, object] = {"name": pd.array(names[loc_of_row], dtype="str")}
    data.update(sums)
    data["area_km2"] = area_km2[loc_of_row]
    with np.errstate(invalid="ignore", divide="ignore"):
        area = np.where(data["area_km2"] > 0, data["area_km2"], np.nan)
        for metric in METRICS:
            data[metric + PER["km2"]] = sums[metric] / area
        if pop is not None:
            people = pop.reindex(codes).to_numpy(dtype="float64")
            missing = codes[np.isnan(people)].tolist()
            if missing:
                notes.append(
                    f"population has no figure for {len(missing):,} of {n:,} localities "
                    f"({_listing(missing)}); their per-1,000-residents values are NaN"
                )
            data["population"] = people[loc_of_row]
            residents = np.where(data["population"] > 0, data["population"], np.nan)
            for metric in METRICS:
                data[metric + PER["residents"]] = sums[metric] / residents * 1000.0
    for metric in METRICS:
        data[metric + "_share"] = _share(sums[metric], groups)
    metrics = pd.DataFrame(data, index=index)

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
    ``attrs["outside_sites"]`` and ``attrs["on_boundary_sites"]`` (counts).
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
    table = result.metrics
    table.attrs["notes"] = list(result.notes)
    table.attrs["outside_sites"] = result.n_outside
    table.attrs["on_boundary_sites"] = result.n_on_boundary
    return table


# --------------------------------------------------------------------------- classification


def _quantiles(y: np.ndarray, k: int, bins: Sequence[float] | None):
    import mapclassify

    return mapclassify.Quantiles(y, k=k)


#: NaturalBreaks runs k-means from random starts: seed it, under a lock, for repeatable maps.
_SEED_LOCK = threading.Lock()
_NATURAL_BREAKS_SEED = 20_240_501


def _natural_breaks(y: np.ndarray, k: int, bins: Sequence[float] | None):
    import mapclassify

    with _SEED_LOCK:
        state = np.random.get_state()
        np.random.seed(_NATURAL_BREAKS_SEED)
        try:
            return mapclassify.NaturalBreaks(y, k=k)
        finally:
            np.random.set_state(state)


def _equal_interval(y: np.ndarray, k: int, bins: Sequence[float] | None):
    import mapclassify

    return mapclassify.EqualInterval(y, k=k)


def _user_defined(y: np.ndarray, k: int, bins: Sequence[float] | None):
    import mapclassify

    return mapclassify.UserDefined(y, bins=list(bins))


#: Classification schemes for choropleths: name -> implementation. Each takes the
#: finite values, ``k`` and ``bins`` and returns a fitted mapclassify classifier.
#: ``natural_breaks`` is Jenks by k-means (mapclassify.NaturalBreaks) with a fixed seed.
SCHEMES: dict[str, Callable] = {
    "quantiles": _quantiles,
    "natural_breaks": _natural_breaks,
    "equal_interval": _equal_interval,
    "user_defined": _user_defined,
}


@dataclass(frozen=True)
class Classification:
    """Classes of values for a choropleth.

    Attributes
    ----------
    classes
        Aligned to the values: the class number, 0 (lowest) to ``k - 1``,
        ``<NA>`` where the value is missing (nullable ``Int64``).
    labels
        Aligned to the values: the legend text of each value's class, or
        ``"no data"``.
    bins
        The upper bound of each class; class ``i`` holds values above
        ``bins[i-1]`` up to and including ``bins[i]``.
    legend
        One label per class, such as ``"0.5 – 1.2"``.
    counts
        The number of values in each class.
    scheme
        The scheme used (a key of :data:`SCHEMES`).
    k
        The number of classes made (may be lower than asked for).
    message
        Why ``k`` is lower than asked for, or ``None``.
    """

    classes: pd.Series
    labels: pd.Series
    bins: tuple[float, ...]
    legend: tuple[str, ...]
    counts: tuple[int, ...]
    scheme: str
    k: int
    message: str | None = None


def _decimals(values: np.ndarray) -> int:
    """Decimal places for legend labels: none for whole numbers, more for small ranges."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.all(finite == np.round(finite)):
        return 0
    largest = float(np.max(np.abs(finite)))
    if largest == 0:
        return 0
    return int(min(4, max(0, 2 - math.floor(math.log10(largest)))))


def _check_classify_args(
    scheme: object, k: object, bins: Sequence[float] | None
) -> tuple[list[str], np.ndarray | None]:
    problems = []
    if scheme not in SCHEMES:
        problems.append(one_of("scheme", scheme, SCHEMES, what="a classification scheme"))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        problems.append(f"k={k!r} is not valid; expected a whole number of classes, 1 or more")
    edges = None
    if scheme == "user_defined":
        if bins is None:
            problems.append(
                "bins=None but scheme='user_defined' needs them; expected the upper bounds of "
                "the classes in increasing order, such as bins=[1, 5, 10]"
            )
        else:
            try:
                edges = np.asarray(list(bins), dtype="float64")
            except (TypeError, ValueError):
                edges = None
            if (
                edges is None
                or edges.ndim != 1
                or edges.size == 0
                or not np.isfinite(edges).all()
                or (np.diff(edges) <= 0).any()
            ):
                problems.append(
                    f"bins={bins!r} is not valid; expected finite numbers in strictly increasing "
                    "order, such as bins=[1, 5, 10]"
                )
                edges = None
    elif bins is not None and scheme in SCHEMES:
        problems.append(
            f"bins={bins!r} was given with scheme={scheme!r}; expected bins only with "
            "scheme='user_defined'"
        )
    return problems, edges


def classify(
    values: pd.Series | Sequence[float] | np.ndarray,
    scheme: str = "quantiles",
    k: int = 5,
    bins: Sequence[float] | None = None,
) -> Classification:
    """Classify values for a choropleth with mapclassify.

    Parameters
    ----------
    values
        Numbers (a Series keeps its index); NaN and infinite values are left
        unclassified.
    scheme
        One of :data:`SCHEMES`: ``"quantiles"`` (equal counts),
        ``"natural_breaks"`` (Jenks, by seeded k-means), ``"equal_interval"``
        (equal widths) or ``"user_defined"`` (your ``bins``).
    k
        The number of classes wanted. It is lowered, with a ``message``, when
        the values have fewer distinct values than ``k`` or when quantile
        breaks coincide. Ignored by ``"user_defined"``.
    bins
        For ``"user_defined"`` only: increasing upper bounds. A class up to
        the largest value is added when the last bound is below it.

    Returns
    -------
    Classification

    Raises
    ------
    InvalidArgumentError
        Listing every problem: an unknown scheme (the message lists the valid
        names), ``k`` not a whole number of 1 or more, ``bins`` missing or not
        increasing for ``"user_defined"``, ``bins`` given with another scheme,
        or values that are not numbers.

    Examples
    --------
    >>> result = classify([1, 2, 3, 4, 10, 20], scheme="equal_interval", k=2)
    >>> result.bins
    (10.5, 20.0)
    >>> result.counts
    (5, 1)
    """
    problems, edges = _check_classify_args(scheme, k, bins)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    try:
        y_all = pd.to_numeric(series, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        problems.append(
            f"values has entries that are not numbers (dtype {series.dtype}); expected numbers"
        )
        y_all = None
    raise_if_any(problems)

    ok = np.isfinite(y_all)
    y = y_all[ok]
    distinct = np.unique(y)
    message = None
    if scheme == "user_defined":
        asked = int(edges.size)
    else:
        asked = int(k)
    if distinct.size == 0:
        classes = pd.Series(pd.array([pd.NA] * y_all.size, dtype="Int64"), index=series.index)
        labels = pd.Series("no data", index=series.index, dtype="str")
        return Classification(
            classes, labels, (), (), (), scheme, 0, "there are no values to classify"
        )
    if scheme == "user_defined":
        classifier = SCHEMES[scheme](y, asked, edges)
        upper = np.asarray(classifier.bins, dtype="float64")
        yb = np.asarray(classifier.yb)
        if upper.size > edges.size:
            message = (
                f"a class up to the largest value ({upper[-1]:,g}) was added above the last "
                f"of bins ({edges[-1]:,g})"
            )
    elif distinct.size == 1:
        upper, yb = distinct, np.zeros(y.size, dtype=np.int64)
        if asked > 1:
            message = f"k={asked} was lowered to 1: the values have only 1 distinct value"
    else:
        k_used = min(asked, int(distinct.size))
        if k_used < asked:
            message = (
                f"k={asked} was lowered to {k_used}: the values have only {distinct.size} "
                "distinct values"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a lowered k is reported in message instead
            classifier = SCHEMES[scheme](y, k_used, None)
        upper = np.asarray(classifier.bins, dtype="float64")
        yb = np.asarray(classifier.yb)
        if upper.size < k_used:
            message = (
                f"k={asked} was lowered to {upper.size}: with scheme={scheme!r} the values "
                f"({distinct.size} distinct) give only {upper.size} different class breaks"
            )
    low = float(y.min())
    places = _decimals(np.concatenate([upper, [low]]))
    lows = np.concatenate([[low], upper[:-1]])
    legend = tuple(
        f"{lo:,.{places}f} – {hi:,.{places}f}" for lo, hi in zip(lows, upper, strict=True)
    )
    class_all = np.full(y_all.size, -1, dtype=np.int64)
    class_all[ok] = yb
    classes = pd.Series(
        pd.array(np.where(ok, class_all, 0), dtype="Int64"), index=series.index
    ).mask(~ok)
    text = np.asarray(legend, dtype=object)[np.clip(class_all, 0, None)]
    labels = pd.Series(np.where(ok, text, "no data"), index=series.index, dtype="str")
    counts = tuple(int(c) for c in np.bincount(yb, minlength=upper.size))
    return Classification(
        classes=classes,
        labels=labels,
        bins=tuple(float(b) for b in upper),
        legend=legend,
        counts=counts,
        scheme=scheme,
        k=int(upper.size),
        message=message,
    )


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
        return tuple(float(v) for v in geoms.total_bounds)
    try:
        values = tuple(float(v) for v in extent)  # type: ignore[union-attr]
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
    return values  # type: ignore[return-value]


def _check_hex_args(size_m: object, orientation: object, problems: list[str]) -> None:
    if (
        isinstance(size_m, bool)
        or not isinstance(size_m, (int, float, np.integer, np.floating))
        or not math.isfinite(size_m)
        or size_m <= 0
    ):
        problems.append(
            f"size_m={size_m!r} is not valid; expected the hexagon's side (centre to corner) "
            "in metres, a number above 0"
        )
    if orientation not in ORIENTATIONS:
        problems.append(one_of("orientation", orientation, ORIENTATIONS))


def _hex_cells(u: np.ndarray, v: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of the flat-top hexagon (odd columns shifted up) holding each point."""
    q = (2.0 / 3.0 * u) / size
    r = (-1.0 / 3.0 * u + _SQRT3 / 3.0 * v) / size
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    col = rq.astype(np.int64)
    row = rr.astype(np.int64) + (col - (col & 1)) // 2
    return col, row


def _hex_polygons(col: np.ndarray, row: np.ndarray, size: float, orientation: str) -> np.ndarray:
    """Hexagon polygons for columns and rows (flat-top, or mirrored into pointy-top)."""
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
    """Grid coordinates: pointy-top hexagons are flat-top ones mirrored in the line x = y."""
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
    cols, rows = np.meshgrid(np.arange(col0, col1 + 1), np.arange(row0, row1 + 1), indexing="ij")
    cols, rows = cols.ravel(), rows.ravel()
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
        ``geometry``.

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
    sites = _viewers_sites(sites, viewer, problems)
    raise_if_any(problems)
    frame = sites if sites.crs.equals(CRS_BNG) else sites.to_crs(CRS_BNG)
    geoms = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero((kinds != shapely.GeometryType.POINT) & (kinds != -1))
    if bad.size:
        raise InvalidArgumentError(
            f"sites has {bad.size} geometries that are not points (the first, at index "
            f"{sites.index[bad[0]]!r}, is a {geoms[bad[0]].geom_type}); expected one Point per site"
        )
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
    columns = {c: _values(frame, c)[located] for c in VALUE_COLUMNS}
    sums = _sums(inverse, len(cells), columns, _restricted(frame)[located])
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
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS_BNG)


# --------------------------------------------------------------------------- heat


def _weights(frame: pd.DataFrame, weight: str | None, problems: list[str]) -> np.ndarray | None:
    if weight is None:
        return np.ones(len(frame), dtype="float64")
    if weight not in VALUE_COLUMNS:
        problems.append(
            f"weight={weight!r} is not valid; expected None (each site counts 1) or one of: "
            f"{', '.join(VALUE_COLUMNS)}"
        )
        return None
    if weight not in frame.columns:
        return None  # reported by check_sites
    return _values(frame, weight)


def _located_points(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    return (kinds == shapely.GeometryType.POINT) & ~shapely.is_empty(geoms)


def heat_points(
    sites: gpd.GeoDataFrame,
    *,
    weight: str | None = None,
    viewer: access.Viewer | str | None = None,
    decimals: int = 5,
) -> list[list[float]]:
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
    list of [float, float, float]
        Latitude, longitude, weight (0 to 1).

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used.

    Examples
    --------
    >>> rows = heat_points(store.sites(), weight="floor_area_sqft")  # doctest: +SKIP
    >>> latitude, longitude, weight = rows[0]  # doctest: +SKIP
    """
    problems: list[str] = []
    needed = ["sensitivity"] + ([weight] if weight in VALUE_COLUMNS else [])
    check_sites(sites, needed, problems)
    sites = _viewers_sites(sites, viewer, problems)
    values = _weights(sites, weight, problems) if isinstance(sites, pd.DataFrame) else None
    raise_if_any(problems)
    keep = _located_points(sites) & np.isfinite(values) & (values > 0)
    if not keep.any():
        return []
    points = gpd.GeoSeries(sites.geometry.to_numpy()[keep], crs=sites.crs).to_crs(CRS_WGS84)
    lat = np.round(shapely.get_y(points.to_numpy()), decimals)
    lon = np.round(shapely.get_x(points.to_numpy()), decimals)
    w = values[keep]
    w = np.round(w / w.max(), 4)
    return np.column_stack([lat, lon, w]).tolist()


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
    """

    values: np.ndarray
    x_min: float
    y_min: float
    cell_m: float
    bandwidth_m: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the grid in EPSG:27700."""
        rows, cols = self.values.shape
        return (
            self.x_min,
            self.y_min,
            self.x_min + cols * self.cell_m,
            self.y_min + rows * self.cell_m,
        )

    def total(self) -> float:
        """The surface's integral: the number of sites (or total weight) it spreads."""
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
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)
            or value <= 0
        ):
            problems.append(f"{name}={value!r} is not valid; expected metres, a number above 0")
    check_sites(sites, [weight] if weight in VALUE_COLUMNS else [], problems)
    sites = _viewers_sites(sites, viewer, problems)
    values = _weights(sites, weight, problems) if isinstance(sites, pd.DataFrame) else None
    raise_if_any(problems)
    frame = sites if sites.crs.equals(CRS_BNG) else sites.to_crs(CRS_BNG)
    keep = _located_points(frame) & np.isfinite(values)
    if not keep.any():
        raise InvalidArgumentError(
            "sites has no located site with a value to smooth; expected at least one point"
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
    )


# --------------------------------------------------------------------------- place summary


#: The columns of :func:`place_summary`, in order.
PLACE_SUMMARY_COLUMNS: tuple[str, ...] = (
    "locality_code",
    "locality_name",
    "sector",
    "sites",
    "floor_area_sqft",
    "running_cost_gbp",
    "surplus_sqft",
    "restricted_sites",
    "population",
    "sites_per_10000_residents",
)
#: The ``locality_code`` of the total row, and of the rows of sites outside every locality.
TOTAL_CODE = "TOTAL"
OUTSIDE_NAME = "Outside every locality"


def place_summary(
    sites: gpd.GeoDataFrame,
    localities: str | os.PathLike[str] | gpd.GeoDataFrame,
    population: pd.DataFrame | None = None,
    *,
    viewer: access.Viewer | str | None = None,
) -> pd.DataFrame:
    """Return the Total Place board table: sites per locality and sector, with a total.

    One row per locality and sector that has at least one site (localities
    in their order, sectors in :data:`assetmap.schema.SECTORS` order), then
    one row per sector for the sites outside every locality
    (``locality_code`` ``""``, ``locality_name`` ``"Outside every
    locality"``), then the total row (``locality_code`` ``"TOTAL"``, sector
    ``"all"``), whose figures are the sums of the rows above: every site,
    once.

    Parameters
    ----------
    sites
        Site points with ``sector``, ``floor_area_sqft``, ``surplus_sqft``,
        ``running_cost_gbp`` and ``sensitivity``.
    localities
        As for :func:`density_by_locality`.
    population
        ``code`` and ``population``; gives each row its locality's
        population and ``sites_per_10000_residents``. The total row's
        population is the sum over the localities with a figure, and its rate
        counts the sites in those localities only. Missing codes are listed in
        ``attrs["notes"]``.
    viewer
        As for :func:`density_by_locality`: the total is that of the sites the
        viewer may see, so nothing can be found by subtracting rows from it.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`PLACE_SUMMARY_COLUMNS`; ``attrs["notes"]``,
        ``attrs["outside_sites"]`` and ``attrs["on_boundary_sites"]`` as for
        :func:`locality_metrics`.

    Raises
    ------
    InvalidArgumentError
        As :func:`density_by_locality` raises.

    Examples
    --------
    >>> table = place_summary(store.sites(), "district")  # doctest: +SKIP
    >>> table[table["locality_code"] == "TOTAL"]  # doctest: +SKIP
    """
    result = density_by_locality(
        sites, localities, population=population, by="sector", viewer=viewer
    )
    long = result.metrics.reset_index()
    long = long[long["sites"] > 0]
    has_pop = result.has_population
    table = pd.DataFrame(
        {
            "locality_code": long["code"].astype("str"),
            "locality_name": long["name"].astype("str"),
            "sector": long["sector"].astype("str"),
            "sites": long["sites"].astype(np.int64),
            "floor_area_sqft": long["floor_area_sqft"],
            "running_cost_gbp": long["running_cost_gbp"],
            "surplus_sqft": long["surplus_sqft"],
            "restricted_sites": long["restricted_sites"].astype(np.int64),
            "population": long["population"] if has_pop else np.nan,
        }
    )
    out = result.outside
    if len(out):
        sector, order = _group_labels(out, "sector")
        columns = {c: _values(out, c) for c in VALUE_COLUMNS}
        sums = _sums(sector, len(order), columns, _restricted(out))
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "locality_code": pd.Series([""] * len(order), dtype="str"),
                        "locality_name": pd.Series([OUTSIDE_NAME] * len(order), dtype="str"),
                        "sector": pd.Series(order, dtype="str"),
                        **sums,
                        "population": np.nan,
                    }
                )[table.columns],
            ],
            ignore_index=True,
        )
    table = table.reset_index(drop=True)
    if has_pop:
        people = result.metrics["population"].groupby(level="code", sort=False).first()
        known = people.dropna()
        in_known = table["locality_code"].isin(known.index)
        total_pop = float(known.sum()) if len(known) else np.nan
        known_sites = float(table.loc[in_known, "sites"].sum())
    else:
        total_pop, known_sites = np.nan, np.nan
    total = {
        "locality_code": TOTAL_CODE,
        "locality_name": "Total",
        "sector": "all",
        "sites": int(table["sites"].sum()),
        "floor_area_sqft": float(table["floor_area_sqft"].sum()),
        "running_cost_gbp": float(table["running_cost_gbp"].sum()),
        "surplus_sqft": float(table["surplus_sqft"].sum()),
        "restricted_sites": int(table["restricted_sites"].sum()),
        "population": total_pop,
    }
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = table["population"].to_numpy(dtype="float64")
        counts = table["sites"].to_numpy(dtype="float64")
        counts[-1] = known_sites
        table["sites_per_10000_residents"] = np.where(pop > 0, counts / pop * 10_000, np.nan)
    for name in ("locality_code", "locality_name", "sector"):
        table[name] = table[name].astype("str")
    table = table[list(PLACE_SUMMARY_COLUMNS)]
    table.attrs["notes"] = list(result.notes)
    table.attrs["outside_sites"] = result.n_outside
    table.attrs["on_boundary_sites"] = result.n_on_boundary
    return table


# --------------------------------------------------------------------------- writers


def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str = "density",
) -> Path:
    """Write a density table as CSV or as a GeoPackage layer, atomically.

    The file is written in full under a temporary name in the same folder
    and then renamed over ``path`` (:func:`os.replace`), so a reader never
    sees half a file and a failure leaves the old file as it was. Writing a
    layer into an existing GeoPackage keeps its other layers.

    Parameters
    ----------
    frame
        A table from this module. A named index (``code``) becomes a column.
        A GeoDataFrame becomes a spatial layer; a plain table becomes a
        GeoPackage attribute table.
    path
        ``.csv`` or ``.gpkg``.
    layer
        The GeoPackage layer name (replaced if it exists).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InvalidArgumentError
        If the suffix is not ``.csv`` or ``.gpkg``, or the folder does not exist.
    """
    import pyogrio

    path = Path(path)
    problems = []
    suffix = path.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        problems.append(
            f"path={str(path)!r} has the suffix {path.suffix or '(none)'!r}; expected one of: "
            f"{', '.join(_TABLE_SUFFIXES)}"
        )
    if not path.parent.is_dir():
        problems.append(
            f"path={str(path)!r} is in a folder that does not exist; expected an existing folder"
        )
    if suffix == ".gpkg" and (not isinstance(layer, str) or not layer.strip()):
        problems.append(f"layer={layer!r} is not valid; expected a layer name")
    raise_if_any(problems)

    table = frame
    if any(name is not None for name in table.index.names):
        table = table.reset_index()
    with replace_atomically(path, suffix=f".tmp{suffix}") as tmp:
        if suffix == ".csv":
            write_csv_text(table, tmp)
        else:
            if path.exists():  # keep the GeoPackage's other layers
                shutil.copyfile(path, tmp)
            if not isinstance(table, gpd.GeoDataFrame):
                table = pd.DataFrame(table)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
                pyogrio.write_dataframe(table, tmp, layer=layer, driver="GPKG")
    return path
