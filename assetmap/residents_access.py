"""Residents' access: how far each LSOA's residents are from their nearest public-facing site.

For a scenario (sites closed or disposed of), :func:`access_change` measures, from the
centre of every LSOA (:func:`lsoa_centres`), the **straight-line distance** to the
nearest open site of each public-facing category (:data:`CATEGORIES`: Jobcentre,
library, clinic, police front counter), before and after, and counts the people (or
the LSOAs, without a population table) whose nearest site moves more than 1, 2 and
5 km further away. :func:`access_choropleth_frame` gives the LSOA polygons with one
category's change, for a map.

What this is **not**: it is not travel time, and not access by road, on foot or by
public transport. A river without a bridge, a motorway or a bus route that does not
run is not seen. Straight-line distance is a first screen of where a closure leaves
people further from a service; a study of journeys should follow where it shows a large
change. An LSOA is measured from one point (see :func:`lsoa_centres`), not from where
its residents live.

Which sites a viewer may see is the caller's business: :func:`access_change` measures
the sites it is given (the callers give it the viewer's visible sites, so a restricted
site of another agency never moves a figure).

Examples
--------
>>> import geopandas as gpd, numpy as np, pandas as pd
>>> sites = gpd.GeoDataFrame(
...     {"sector": ["council", "council"], "use": ["Library", "Library"]},
...     geometry=gpd.points_from_xy([0, 3000], [0, 0]), crs="EPSG:27700")
>>> centres = gpd.GeoDataFrame(
...     {"code": ["A", "B"]}, geometry=gpd.points_from_xy([0, 3000], [0, 0]), crs="EPSG:27700")
>>> change = access_change(sites, np.array([False, True]), centres=centres,
...                        categories=["library"])
>>> change.by_lsoa["library change_m"].tolist()
[3000.0, 0.0]
>>> change.summary[["category", "more_than_2km", "more_than_5km"]].to_dict("records")
[{'category': 'library', 'more_than_2km': 1, 'more_than_5km': 0}]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from ._validate import CRS_BNG, Problems, one_of
from .schema import point_coordinates

__all__ = [
    "BANDS_M",
    "CATEGORIES",
    "CHANGE_BANDS",
    "AccessChange",
    "access_change",
    "access_choropleth_frame",
    "access_columns",
    "category_mask",
    "lsoa_centres",
]

#: The distances (m) the summary counts people beyond: 1, 2 and 5 km further away.
BANDS_M: tuple[float, ...] = (1_000.0, 2_000.0, 5_000.0)

#: The summary's column of each band.
_BAND_COLUMNS: tuple[str, ...] = ("more_than_1km", "more_than_2km", "more_than_5km")

#: A register's use that says the site is empty ("Vacant - Community Centre"): it serves
#: no one, whatever it was, so it is in no category.
_VACANT = r"^\s*vacant\b|\bvacant\s*[-:–(]"


def _matches(sites: pd.DataFrame, column: str, pattern: str) -> np.ndarray:
    """Which rows' ``column`` matches ``pattern`` (case-insensitive), as a boolean array.

    Registers repeat a few values many times, so the pattern runs over the distinct
    values only and the answer is spread back to every row.
    """
    if column not in sites.columns:  # a frame without the column: all empty
        empty = re.search(pattern, "", flags=re.IGNORECASE) is not None
        return np.full(len(sites), empty, dtype=bool)
    codes, uniques = pd.factorize(sites[column], use_na_sentinel=False)
    found = np.array(
        [
            re.search(pattern, "" if pd.isna(u) else str(u), flags=re.IGNORECASE) is not None
            for u in uniques
        ],
        dtype=bool,
    )
    return found[codes] if len(found) else np.zeros(len(sites), dtype=bool)


def _is(sites: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Which rows' ``column`` is ``value`` (ignoring case and surrounding spaces)."""
    return _matches(sites, column, rf"^\s*{re.escape(value)}\s*$")


def _in_use(sites: pd.DataFrame) -> np.ndarray:
    """Sites whose use does not call them vacant."""
    return ~_matches(sites, "use", _VACANT)


def _jobcentre(sites: pd.DataFrame) -> np.ndarray:
    """Sites of the Department for Work and Pensions (sector ``dwp``)."""
    return _is(sites, "sector", "dwp") & _in_use(sites)


def _library(sites: pd.DataFrame) -> np.ndarray:
    """Sites whose use mentions a library, whoever runs them."""
    return _matches(sites, "use", r"librar") & _in_use(sites)


def _clinic(sites: pd.DataFrame) -> np.ndarray:
    """Health sites of use class ``clinical``, or sites whose use names a clinic or surgery.

    A use that mentions a health centre counts too, whoever runs the site.
    """
    health = _is(sites, "sector", "health") & _is(sites, "use_class", "clinical")
    named = _matches(sites, "use", r"clinic|surgery|health cent")
    return (health | named) & _in_use(sites)


def _police_front_counter(sites: pd.DataFrame) -> np.ndarray:
    """Police sites whose use mentions a station, a front counter or an enquiry office."""
    counter = _matches(sites, "use", r"station|front counter|enquiry office|inquiry office")
    return _is(sites, "sector", "police") & counter & _in_use(sites)


#: The public-facing categories: name -> function of the sites giving a boolean mask
#: (aligned to the sites) of those in the category. A site whose register calls it
#: vacant ("Vacant - Library") is in none. A frame without a column (``use``,
#: ``use_class``, ``sector``) is taken to have it empty.
#:
#: - ``"Jobcentre"``: sector ``dwp``;
#: - ``"library"``: the use mentions a library;
#: - ``"clinic"``: sector ``health`` and use class ``clinical``, or a use that mentions
#:   a clinic, a surgery or a health centre;
#: - ``"police front counter"``: sector ``police`` and a use that mentions a station,
#:   a front counter or an enquiry office (not offices, custody suites or workshops).
CATEGORIES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "Jobcentre": _jobcentre,
    "library": _library,
    "clinic": _clinic,
    "police front counter": _police_front_counter,
}


def _category_problems(categories: object, problems: list[str]) -> list[str]:
    """Return the categories asked for (all when ``None``), noting unknown names."""
    if categories is None:
        return list(CATEGORIES)
    if isinstance(categories, str) or not isinstance(categories, Iterable):
        problems.append(
            f"categories={categories!r} is not a list of category names; expected a list "
            f"of some of: {', '.join(CATEGORIES)}"
        )
        return []
    names = list(categories)
    for name in names:
        if name not in CATEGORIES:
            problems.append(one_of("category", name, CATEGORIES, what="a category of sites"))
    if not names:
        problems.append(f"categories is empty; expected some of: {', '.join(CATEGORIES)}")
    return [n for n in dict.fromkeys(names) if n in CATEGORIES]


def category_mask(sites: pd.DataFrame, category: str) -> np.ndarray:
    """Return which sites are in a category of :data:`CATEGORIES`.

    Parameters
    ----------
    sites
        Sites with (some of) the columns ``sector``, ``use`` and ``use_class``.
    category
        A name of :data:`CATEGORIES`.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``sites``.

    Raises
    ------
    InvalidArgumentError
        If ``category`` is not a name of :data:`CATEGORIES` (the message lists them).

    Examples
    --------
    >>> import pandas as pd
    >>> sites = pd.DataFrame({"sector": ["police", "police"],
    ...                       "use": ["Front counter", "Vehicle workshop"]})
    >>> category_mask(sites, "police front counter").tolist()
    [True, False]
    """
    problems = Problems()
    _category_problems([category], problems)
    problems.raise_if_any()
    return np.asarray(CATEGORIES[category](sites), dtype=bool)


def access_columns(category: str) -> tuple[str, str, str]:
    """Return the names of a category's columns in :attr:`AccessChange.by_lsoa`.

    Examples
    --------
    >>> access_columns("library")
    ('library before_m', 'library after_m', 'library change_m')
    """
    return f"{category} before_m", f"{category} after_m", f"{category} change_m"


# --------------------------------------------------------------------------- the centres


@cache
def _centres() -> pd.DataFrame:
    """Every LSOA's centre (cached: built once per process)."""
    import geopandas as gpd
    import shapely

    from .national import national_level

    lsoas = national_level("lsoa")
    polygons = np.asarray(lsoas.geometry.to_numpy(), dtype=object)
    centroid = shapely.centroid(polygons)
    inside = shapely.contains_properly(polygons, centroid)
    points = np.where(inside, centroid, shapely.point_on_surface(polygons))
    return gpd.GeoDataFrame(
        {"code": lsoas["code"].to_numpy(), "name": lsoas["name"].to_numpy()},
        geometry=gpd.GeoSeries(points, crs=CRS_BNG),
        crs=CRS_BNG,
    )


def lsoa_centres(*, population: pd.DataFrame | None = None):
    """Return the centre of every LSOA (2011) of England and Wales: 34,753 points.

    The centre is the polygon's **centroid where it lies inside the LSOA**, and
    otherwise a point on its surface (``shapely.point_on_surface``, which always lies
    inside). The centroid is the middle of the area, the fairest single point to
    measure an area's residents from without a population-weighted centroid; but the
    centroid of a crescent- or C-shaped LSOA, or of one cut by an estuary, can fall in
    a neighbouring LSOA or in the sea, and a distance measured from there would belong
    to nobody. Points are in EPSG:27700 (British National Grid), so distances between
    them are in metres. The polygons are the ONS's super generalised boundaries
    (:func:`assetmap.national.national_level`), built on first use.

    The centres are computed once per process (cached); each call returns a copy.

    Parameters
    ----------
    population
        Optional residents per LSOA: a DataFrame with ``code`` and ``population``
        (:func:`assetmap.io.population.read_population` reads the ONS estimates). An
        LSOA the table has no figure for counts 0 residents; the frame's
        ``attrs["notes"]`` says how many and which.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (ONS), ``name``, ``population`` (float64, only when a table is
        given) and Point ``geometry`` (EPSG:27700), sorted by code.
        ``attrs["notes"]``: a list of plain-English notes (empty without a table).

    Raises
    ------
    InvalidArgumentError
        If ``population`` is not such a table (every problem listed).
    DataNotFoundError
        If a package the boundaries are built from is not installed.

    Examples
    --------
    >>> centres = lsoa_centres()  # doctest: +SKIP
    >>> len(centres), centres.crs.to_epsg()  # doctest: +SKIP
    (34753, 27700)
    """
    from .io.population import check_population

    problems = Problems()
    residents = check_population(population, problems)
    problems.raise_if_any()
    centres = _centres().copy()
    notes: list[str] = []
    if residents is not None:
        people = residents.reindex(pd.Index(centres["code"], dtype="str")).to_numpy(dtype="float64")
        missing = np.isnan(people)
        if missing.any():
            notes.append(_missing_population_note(centres["code"].to_numpy()[missing], len(people)))
        centres.insert(2, "population", np.where(missing, 0.0, people))
    centres.attrs["notes"] = notes
    return centres


def _missing_population_note(codes: Sequence[str], of: int) -> str:
    shown = ", ".join(str(c) for c in codes[:10])
    more = f" and {len(codes) - 10:,} more" if len(codes) > 10 else ""
    return (
        f"The population table has no figure for {len(codes):,} of {of:,} LSOAs "
        f"({shown}{more}): they count as 0 residents."
    )


# --------------------------------------------------------------------------- the change


@dataclass(frozen=True)
class AccessChange:
    """The result of :func:`access_change`: straight-line distances, not travel times.

    Attributes
    ----------
    by_lsoa
        One row per centre, in the centres' order: ``code``, ``name`` (when the
        centres have names), ``population`` (when they have residents) and, per
        category, ``"<category> before_m"``, ``"<category> after_m"`` and
        ``"<category> change_m"`` (:func:`access_columns`): the straight-line distance
        in metres from the centre to the nearest open site of the category before and
        after, and how much further it is after (0 or more). NaN for a category with no
        site before; ``inf`` after (and as the change) where no site of the category is
        left.
    summary
        One row per category: ``category``, ``sites_before``, ``sites_after``,
        ``more_than_1km``, ``more_than_2km``, ``more_than_5km`` (the people, or the
        LSOAs, whose nearest site moves more than 1, 2 and 5 km further away; an LSOA
        left with no site at all counts in every band) and ``largest_change_m`` (NaN
        when the category has no site before; ``inf`` when none is left).
    counted
        ``"people"`` when the centres have a ``population`` column (the bands sum
        residents, float64), otherwise ``"LSOAs"`` (the bands count LSOAs, int64).
    notes
        Plain-English notes: categories with no site before or none after, sites
        without a location, LSOAs without a population figure.
    """

    by_lsoa: pd.DataFrame
    summary: pd.DataFrame
    counted: str
    notes: list[str] = field(default_factory=list)


def _check_open_after(open_after: object, n: int, problems: list[str]) -> np.ndarray | None:
    try:
        values = np.asarray(open_after)
    except (TypeError, ValueError):  # not array-like (a ragged list)
        values = None
    if values is None or values.ndim != 1 or values.dtype != bool:
        problems.append(
            f"open_after is a {type(open_after).__name__}; expected a boolean array with one "
            "value per site (False for a site the scenario closes or disposes of)"
        )
        return None
    if len(values) != n:
        problems.append(
            f"open_after has {len(values):,} values for {n:,} sites; expected one per site"
        )
        return None
    return values


def _check_centres(centres: object, problems: list[str]):
    import geopandas as gpd

    if not isinstance(centres, gpd.GeoDataFrame):
        problems.append(
            f"centres is a {type(centres).__name__}; expected a GeoDataFrame of LSOA centres "
            "with a code column (see lsoa_centres)"
        )
        return None
    if "code" not in centres.columns:
        problems.append(
            "centres lacks the column code; expected the LSOA centres of lsoa_centres "
            f"(it has: {', '.join(map(str, centres.columns))})"
        )
    if centres.crs is None and len(centres):
        problems.append("centres has no CRS; expected EPSG:27700 (British National Grid)")
        return None
    if "population" in centres.columns:
        people = pd.to_numeric(centres["population"], errors="coerce")
        if (people < 0).any() or (centres["population"].notna() & people.isna()).any():
            problems.append(
                "centres has population values that are not numbers of residents; expected "
                "a number, 0 or more, for every LSOA"
            )
    if centres.crs is not None and centres.crs.to_epsg() != 27700:
        centres = centres.to_crs(CRS_BNG)
    return centres


def _check_sites(sites: object, problems: list[str]):
    import geopandas as gpd

    if not isinstance(sites, gpd.GeoDataFrame):
        problems.append(f"sites is a {type(sites).__name__}; expected a geopandas GeoDataFrame")
        return None
    if sites.crs is None and len(sites):
        problems.append(
            "sites has no CRS (sites.crs is None); expected EPSG:27700 (British National Grid)"
        )
        return None
    if sites.crs is not None and sites.crs.to_epsg() != 27700:
        sites = sites.to_crs(CRS_BNG)
    return sites


def _nearest(
    site_xy: np.ndarray, open_after: np.ndarray, centre_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each centre to its nearest site, before and after the closures.

    One k-d tree of every site answers "before" for all centres; only the centres whose
    nearest site closes are asked again, of a tree of the sites still open.
    """
    from scipy.spatial import cKDTree

    n = len(centre_xy)
    if len(site_xy) == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    before, nearest = cKDTree(site_xy).query(centre_xy, k=1)
    after = before.copy()
    lost = ~open_after[nearest]
    if lost.any():
        still_open = site_xy[open_after]
        if len(still_open):
            after[lost] = cKDTree(still_open).query(centre_xy[lost], k=1)[0]
        else:
            after[lost] = np.inf
    return before, after


def _band_counts(change: np.ndarray, weight: np.ndarray | None) -> list[float | int]:
    counts: list[float | int] = []
    for band in BANDS_M:
        further = change > band  # NaN compares False; inf (no site left) is in every band
        if weight is None:
            counts.append(int(further.sum()))
        else:
            counts.append(float(weight[further].sum()))
    return counts


def _measure(
    name: str,
    sites,
    open_mask: np.ndarray,
    site_xy: np.ndarray,
    located: np.ndarray,
    centre_xy: np.ndarray,
    centre_located: np.ndarray,
) -> dict:
    """Measure one category: its columns of ``by_lsoa``, its counts and notes."""
    in_category = category_mask(sites, name)
    unplaced = int((in_category & ~located).sum())
    chosen = in_category & located
    before, after = _nearest(site_xy[chosen], open_mask[chosen], centre_xy)
    before[~centre_located] = np.nan
    after[~centre_located] = np.nan
    change = after - before  # inf - finite = inf; NaN stays NaN
    n_before, n_after = int(chosen.sum()), int((chosen & open_mask).sum())
    notes = []
    largest = np.nan
    if n_before == 0:
        notes.append(
            f"No {name} site is open before the scenario: its distances are not measured (NaN)."
        )
    else:
        if n_after == 0:
            notes.append(
                f"The scenario leaves no {name} site open: every LSOA's nearest is "
                "infinitely far after, and counts in every band."
            )
        finite = change[~np.isnan(change)]
        largest = float(finite.max()) if finite.size else np.nan
    col_before, col_after, col_change = access_columns(name)
    return {
        "columns": {col_before: before, col_after: after, col_change: change},
        "unplaced": unplaced,
        "notes": notes,
        "before": n_before,
        "after": n_after,
        "change": change,
        "largest": largest,
    }


def access_change(
    sites,
    open_after,
    *,
    centres,
    categories: Sequence[str] | None = None,
) -> AccessChange:
    """Measure how much further each LSOA's centre is from its nearest open site, per category.

    **Straight-line distance, not travel time**: the distance in metres on the British
    National Grid (EPSG:27700) from each LSOA's centre to the nearest site of each
    category, before and after a scenario closes or disposes of some sites. It says
    nothing of roads, journeys or public transport; read it as a first screen of where
    a closure takes a service further from people.

    Parameters
    ----------
    sites
        GeoDataFrame of the sites open before (points; reprojected to EPSG:27700 if in
        another CRS), with ``sector``, ``use`` and ``use_class`` (a missing column is
        taken as empty). Give only the sites the viewer may see
        (:func:`assetmap.access.visible_sites`): every site given is measured. A site
        without a location is left out (and noted).
    open_after
        Boolean array aligned to ``sites``: False for each site the scenario closes or
        disposes of.
    centres
        GeoDataFrame of LSOA centres: ``code``, optional ``name`` and ``population``,
        Point geometry (:func:`lsoa_centres`, or some of its rows for one place).
    categories
        Names of :data:`CATEGORIES` to measure; all of them when ``None``.

    Returns
    -------
    AccessChange
        ``by_lsoa`` (per centre, per category: before, after and change in metres),
        ``summary`` (per category: the people or LSOAs whose nearest site moves more
        than 1, 2 and 5 km further away, and the largest change), ``counted`` and
        ``notes``. A category with no site before has NaN distances (and a note); a
        category with no site left after has ``inf`` after and as the change, and is
        counted in every band (and noted).

    Raises
    ------
    InvalidArgumentError
        Listing every problem: ``sites`` or ``centres`` not a GeoDataFrame with a CRS,
        ``centres`` without ``code`` or with population values that are not numbers,
        ``open_after`` not a boolean array of one value per site, an unknown category
        (the message lists the categories).

    Notes
    -----
    One k-d tree (``scipy.spatial.cKDTree``) per category answers "before" for every
    centre at once; "after" asks again only for the centres whose nearest site closes,
    of a tree of the sites still open. An estate of a million sites against the 34,753
    LSOAs takes well under a second per category (``benchmarks/bench_scenario.py``).
    """
    problems = Problems()
    sites = _check_sites(sites, problems)
    centres = _check_centres(centres, problems)
    open_mask = _check_open_after(open_after, len(sites) if sites is not None else 0, problems)
    names = _category_problems(categories, problems)
    problems.raise_if_any()
    assert open_mask is not None  # checked above (for the type checker)

    notes: list[str] = list(centres.attrs.get("notes", []))
    site_xy, located = point_coordinates(sites.geometry.to_numpy())
    centre_xy, centre_located = point_coordinates(centres.geometry.to_numpy())
    if not centre_located.all():
        notes.append(
            f"{int((~centre_located).sum()):,} LSOA centres have no location: their "
            "distances are NaN."
        )
        centre_xy = np.where(centre_located[:, None], centre_xy, 0.0)

    by_lsoa = pd.DataFrame({"code": centres["code"].to_numpy()})
    if "name" in centres.columns:
        by_lsoa["name"] = centres["name"].to_numpy()
    weight = None
    if "population" in centres.columns:
        people = pd.to_numeric(centres["population"], errors="coerce").to_numpy(dtype="float64")
        if np.isnan(people).any():
            notes.append(
                f"{int(np.isnan(people).sum()):,} LSOAs have no population figure: they "
                "count as 0 residents."
            )
            people = np.nan_to_num(people, nan=0.0)
        by_lsoa["population"] = people
        weight = np.where(centre_located, people, 0.0)

    unplaced: dict[str, int] = {}
    rows = []
    for name in names:
        measured = _measure(name, sites, open_mask, site_xy, located, centre_xy, centre_located)
        for column, values in measured["columns"].items():
            by_lsoa[column] = values
        if measured["unplaced"]:
            unplaced[name] = measured["unplaced"]
        notes.extend(measured["notes"])
        bands = _band_counts(measured["change"], weight)
        rows.append([name, measured["before"], measured["after"], *bands, measured["largest"]])
    if unplaced:
        listed = ", ".join(f"{n:,} {name}" for name, n in unplaced.items())
        notes.append(f"Sites without a location are not measured: {listed}.")

    summary = pd.DataFrame(
        rows,
        columns=["category", "sites_before", "sites_after", *_BAND_COLUMNS, "largest_change_m"],
    )
    band_type = "int64" if weight is None else "float64"
    summary = summary.astype(
        {
            "category": "str",
            "sites_before": "int64",
            "sites_after": "int64",
            **dict.fromkeys(_BAND_COLUMNS, band_type),
            "largest_change_m": "float64",
        }
    )
    return AccessChange(
        by_lsoa=by_lsoa,
        summary=summary,
        counted="LSOAs" if weight is None else "people",
        notes=notes,
    )


#: The bands of :func:`access_choropleth_frame`'s ``band`` column, in order.
CHANGE_BANDS: tuple[str, ...] = (
    "no change",
    "up to 1 km further",
    "1 to 2 km further",
    "2 to 5 km further",
    "over 5 km further",
    "no site left",
    "no site before",
)


def access_choropleth_frame(change: AccessChange, category: str, level_polygons=None):
    """Return the LSOA polygons with one category's change, ready for a choropleth.

    Parameters
    ----------
    change
        The result of :func:`access_change`.
    category
        One of the categories ``change`` measured.
    level_polygons
        The LSOA polygons (``code``, ``geometry``); by default every LSOA's
        (:func:`assetmap.national.national_level` ``("lsoa")``). Only the LSOAs that
        ``change`` measured are kept, in its order.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``name`` (when known), ``population`` (when given), ``before_km``,
        ``after_km``, ``change_km`` (``inf`` where no site of the category is left,
        NaN where there was none before), ``band`` (one of :data:`CHANGE_BANDS`, for a
        map of classes: more than 1, 2, 5 km as the summary counts them) and the
        polygon ``geometry`` (EPSG:27700). Straight-line distances, not travel times.

    Raises
    ------
    InvalidArgumentError
        If ``change`` is not an :class:`AccessChange` or did not measure ``category``
        (the message lists the categories it measured).
    """
    problems = Problems()
    if not isinstance(change, AccessChange):
        problems.append(
            f"change is a {type(change).__name__}; expected the AccessChange of access_change"
        )
    else:
        measured = change.summary["category"].tolist()
        if category not in measured:
            problems.append(
                one_of("category", category, measured, what="a category this change measured")
            )
    problems.raise_if_any()
    if level_polygons is None:
        from .national import national_level

        level_polygons = national_level("lsoa")
    polygons = level_polygons
    if polygons.crs is not None and polygons.crs.to_epsg() != 27700:
        polygons = polygons.to_crs(CRS_BNG)
    col_before, col_after, col_change = access_columns(category)
    table = change.by_lsoa
    keep = [c for c in ("code", "name", "population") if c in table.columns]
    frame = table[keep].copy()
    frame["before_km"] = table[col_before].to_numpy() / 1_000.0
    frame["after_km"] = table[col_after].to_numpy() / 1_000.0
    km = table[col_change].to_numpy() / 1_000.0
    frame["change_km"] = km
    conditions = [
        np.isnan(km),
        np.isinf(km),
        km > BANDS_M[2] / 1_000.0,
        km > BANDS_M[1] / 1_000.0,
        km > BANDS_M[0] / 1_000.0,
        km > 0,
    ]
    choices = [CHANGE_BANDS[i] for i in (6, 5, 4, 3, 2, 1)]
    frame["band"] = pd.Series(np.select(conditions, choices, CHANGE_BANDS[0]), dtype="str")
    shapes = polygons[["code", "geometry"]].drop_duplicates("code")
    shapes = shapes.rename(columns={"code": "_code"})
    joined = frame.merge(shapes, left_on="code", right_on="_code", how="inner")
    import geopandas as gpd

    return gpd.GeoDataFrame(
        joined.drop(columns="_code"), geometry="geometry", crs=polygons.crs or CRS_BNG
    )
