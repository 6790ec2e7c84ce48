"""The Total Place board table: sites per locality and sector, then a total of them all.

:func:`place_summary` breaks :func:`~assetmap.density.locality.density_by_locality`
down by sector, adds the sites outside every locality and a total row whose figures
are the sums of the rows above, with each row's sites per 10,000 residents.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import access
from .locality import LocalityDensity, density_by_locality, with_counts
from .metrics import VALUE_COLUMNS, group_labels, site_values, sum_by

__all__ = ["OUTSIDE_NAME", "PLACE_SUMMARY_COLUMNS", "TOTAL_CODE", "place_summary"]

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
#: How the note of :func:`assetmap.density.approximate.approximate_counting` begins its reason.
_APPROXIMATE_NOTE = "postcode district or sector) "


def _locality_rows(result: LocalityDensity) -> pd.DataFrame:
    """Return one row per locality and sector with at least one site."""
    long = result.metrics.reset_index()
    long = long[long["sites"] > 0]
    return pd.DataFrame(
        {
            "locality_code": long["code"].astype("str"),
            "locality_name": long["name"].astype("str"),
            "sector": long["sector"].astype("str"),
            "sites": long["sites"].astype(np.int64),
            "floor_area_sqft": long["floor_area_sqft"],
            "running_cost_gbp": long["running_cost_gbp"],
            "surplus_sqft": long["surplus_sqft"],
            "restricted_sites": long["restricted_sites"].astype(np.int64),
            "population": long["population"] if result.has_population else np.nan,
        }
    )


def _outside_rows(outside: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return one row per sector of the sites outside every locality."""
    sector, order = group_labels(outside, "sector")
    columns = {c: site_values(outside, c) for c in VALUE_COLUMNS}
    totals = sum_by(sector, len(order), columns, access.is_restricted(outside))
    return pd.DataFrame(
        {
            "locality_code": pd.Series([""] * len(order), dtype="str"),
            "locality_name": pd.Series([OUTSIDE_NAME] * len(order), dtype="str"),
            "sector": pd.Series(order, dtype="str"),
            **totals,
            "population": np.nan,
        }
    )


def _total_row(table: pd.DataFrame, result: LocalityDensity) -> tuple[dict[str, object], float]:
    """Return the total row of the rows above, and the sites in localities with a population.

    The total's population is the sum over the localities with a figure, so its
    rate counts only the sites in those localities.
    """
    total_pop, known_sites = np.nan, np.nan
    if result.has_population:
        people = result.metrics["population"].groupby(level="code", sort=False).first()
        known = people.dropna()
        in_known = table["locality_code"].isin(known.index)
        total_pop = float(known.sum()) if len(known) else np.nan
        known_sites = float(table.loc[in_known, "sites"].sum())
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
    return total, known_sites


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
        :func:`locality_metrics`. Sites placed only approximately (at the centre
        of a postcode district or sector) count by the rule of locality figures
        (:mod:`assetmap.density.approximate`: in the one district their area lies
        in, at district level and above); the others are in no row and not in the
        total: ``attrs["approximate_not_counted"]`` counts them, and a note says
        "N more sites are placed only by postcode district or sector and not
        counted here".

    Raises
    ------
    InvalidArgumentError
        As :func:`density_by_locality` raises (with ``by="sector"``: the sites
        need a ``sector`` column).

    Examples
    --------
    >>> table = place_summary(store.sites(), "district")  # doctest: +SKIP
    >>> table[table["locality_code"] == "TOTAL"]  # doctest: +SKIP
    """
    result = density_by_locality(
        sites, localities, population=population, by="sector", viewer=viewer
    )
    table = _locality_rows(result)
    if len(result.outside):
        table = pd.concat([table, _outside_rows(result.outside)[table.columns]], ignore_index=True)
    table = table.reset_index(drop=True)
    total, known_sites = _total_row(table, result)
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = table["population"].to_numpy(dtype="float64")
        counts = table["sites"].to_numpy(dtype="float64")
        counts[-1] = known_sites  # the total's rate counts the sites in localities with a figure
        table["sites_per_10000_residents"] = np.where(pop > 0, counts / pop * 10_000, np.nan)
    for name in ("locality_code", "locality_name", "sector"):
        table[name] = table[name].astype("str")
    table = with_counts(table[list(PLACE_SUMMARY_COLUMNS)], result)
    return _approximate_apart(table, result)


def _approximate_apart(table: pd.DataFrame, result: LocalityDensity) -> pd.DataFrame:
    """Say how many sites placed only approximately the table does not count.

    Their rule is :mod:`assetmap.density.approximate`'s, the locality figures' own;
    the note of the locality figures is replaced by the summary's own words.
    """
    n = result.approximate_not_counted
    table.attrs["approximate_not_counted"] = n
    if n:
        notes = [note for note in table.attrs["notes"] if _APPROXIMATE_NOTE not in note]
        notes.append(
            f"{n:,} more site{'s are' if n != 1 else ' is'} placed only by postcode district "
            "or sector and not counted here: the postcode area is larger than these "
            "localities or crosses a district boundary"
        )
        table.attrs["notes"] = notes
    return table
