"""What density measures, and the counting and summing every density table shares.

The metrics (the count of sites and the summed site columns), their names for people
and how they are normalised; each site's group for a breakdown; and the sums per
locality, group or cell, made with ``numpy.bincount``. Every function that takes sites
first keeps only those the viewer may see (:func:`viewers_sites`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import access
from .._validate import one_of, raise_if_any
from ..errors import InvalidArgumentError
from ..schema import SECTORS

__all__ = [
    "BREAKDOWNS",
    "METRICS",
    "METRIC_LABELS",
    "PER",
    "VALUE_COLUMNS",
    "group_labels",
    "metric_column",
    "share",
    "site_values",
    "sum_by",
    "viewers_sites",
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
        Naming the metric or ``per`` that is not valid (both, when both are not).

    Examples
    --------
    >>> metric_column("floor_area_sqft", "residents")
    'floor_area_sqft_per_1000_residents'
    """
    problems = []
    if metric not in METRICS:
        problems.append(one_of("metric", metric, METRICS))
    if per not in PER:
        problems.append(one_of("per", per, PER))
    raise_if_any(problems)
    return metric + PER[per]


def site_values(sites: pd.DataFrame, column: str) -> np.ndarray:
    """Return a numeric site column as float64, with NaN for missing values."""
    return pd.to_numeric(sites[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def viewers_sites(
    sites: gpd.GeoDataFrame, viewer: access.Viewer | str | None, problems: list[str]
) -> gpd.GeoDataFrame:
    """Return the sites ``viewer`` may see, before anything is computed from them.

    The disclosure rule (:func:`assetmap.access.visible_sites`) keeps the
    caller's row labels, so results stay aligned to the sites given. When
    ``viewer`` is not valid, a problem is added and ``sites`` come back as given.
    """
    try:
        who = access.as_viewer(viewer)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
        return sites
    if not isinstance(sites, pd.DataFrame) or "sensitivity" not in sites.columns:
        return sites
    return access.visible_sites(sites, who, renumber=False)  # results keep the caller's labels


def group_labels(sites: pd.DataFrame, by: str) -> tuple[np.ndarray, list[str]]:
    """Return each site's group number and the group names (sectors in their usual order)."""
    text = sites[by].astype("str").fillna("").str.strip()
    text = text.where(text != "", "unknown")
    found = set(pd.unique(text))
    if by == "sector":
        order = [s for s in SECTORS if s in found] + sorted(found - set(SECTORS))
    else:
        order = sorted(found)
    codes = pd.Index(order, dtype="str").get_indexer(pd.Index(text))
    return codes, order


def sum_by(
    position: np.ndarray, size: int, columns: dict[str, np.ndarray], restricted: np.ndarray
) -> dict[str, np.ndarray]:
    """Count and sum per position with bincount (NaN values add nothing).

    Parameters
    ----------
    position
        Each site's row in the result, 0 to ``size - 1``.
    size
        The number of rows.
    columns
        Column name -> each site's value.
    restricted
        Whether each site is restricted.

    Returns
    -------
    dict of str to numpy.ndarray
        ``sites`` and ``restricted_sites`` (int64), then each of ``columns`` (float64).
    """
    out = {"sites": np.bincount(position, minlength=size).astype(np.int64)}
    out["restricted_sites"] = np.bincount(
        position, weights=restricted.astype(np.float64), minlength=size
    ).astype(np.int64)
    for name, values in columns.items():
        out[name] = np.bincount(position, weights=np.nan_to_num(values, nan=0.0), minlength=size)
    return out


def share(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Return each value's share of the total (of its group, when groups are given)."""
    values = values.astype(np.float64)
    if groups is None:
        total = values.sum()
        return values / total if total else np.full(values.shape, np.nan)
    totals = np.bincount(groups, weights=values)
    denom = totals[groups]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom != 0, values / np.where(denom != 0, denom, 1), np.nan)
