"""The place and filters an officer chooses, and the sites and requests they select.

Pure computation on frames (no Streamlit): the app's sidebar makes a
:class:`Selection`, and :mod:`assetmap.app.state` caches what
:func:`select_sites` and :func:`select_requests` return for it.

A site is in a place by the one rule of :func:`assetmap.schema.in_place` (a point on
its surface lies in or on the place's outline); sites and requests with no geometry
are in no place.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from assetmap.maps.style import sector_key, sector_label
from assetmap.schema import in_place

__all__ = [
    "Selection",
    "filter_mask",
    "filter_options",
    "filter_sites",
    "inside_place",
    "place_outline",
    "select_requests",
    "select_sites",
    "selected_mask",
]


@dataclass(frozen=True)
class Selection:
    """The place and filters chosen in the sidebar.

    Attributes
    ----------
    level
        Boundary level of the place (``""`` for the whole estate).
    code
        The locality's code at that level (``""`` for the whole estate).
    place_name
        The place's name for sentences ("Maidstone", "the whole estate").
    sectors
        Sector codes kept (``None``: every sector).
    agencies, uses, tenures
        Values kept (empty: all).
    min_surplus
        Keep only sites offering at least this many sq ft (0: no filter).
    """

    level: str = ""
    code: str = ""
    place_name: str = "the whole estate"
    sectors: tuple[str, ...] | None = None
    agencies: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    tenures: tuple[str, ...] = ()
    min_surplus: float = 0.0

    def key(self) -> tuple:
        """Return a hashable key for caches."""
        return (
            self.level,
            self.code,
            self.sectors,
            self.agencies,
            self.uses,
            self.tenures,
            self.min_surplus,
        )

    def describe(self) -> str:
        """Return the filters in words ("police and fire; at least 1,000 sq ft surplus")."""
        parts = []
        if self.sectors is not None:
            parts.append(", ".join(sector_label(s) for s in self.sectors) or "no sector")
        for values in (self.agencies, self.uses, self.tenures):
            if values:
                parts.append(", ".join(values))
        if self.min_surplus > 0:
            parts.append(f"at least {self.min_surplus:,.0f} sq ft surplus")
        return "; ".join(parts) if parts else "no filters"


def filter_sites(
    sites: gpd.GeoDataFrame,
    sectors: list[str] | tuple[str, ...] | None,
    agencies: list[str] | tuple[str, ...] | None = None,
    *,
    uses: list[str] | tuple[str, ...] | None = None,
    tenures: list[str] | tuple[str, ...] | None = None,
    min_surplus: float = 0.0,
) -> gpd.GeoDataFrame:
    """Return the sites that pass the filters.

    ``sectors=None`` keeps every sector and an empty list none; empty or ``None``
    agencies, uses and tenures keep all.
    """
    keep = filter_mask(
        sites, sectors, agencies, uses=uses, tenures=tenures, min_surplus=min_surplus
    )
    return sites[keep]


def filter_mask(
    sites: pd.DataFrame,
    sectors: list[str] | tuple[str, ...] | None,
    agencies: list[str] | tuple[str, ...] | None = None,
    *,
    uses: list[str] | tuple[str, ...] | None = None,
    tenures: list[str] | tuple[str, ...] | None = None,
    min_surplus: float = 0.0,
) -> np.ndarray:
    """Return which rows of ``sites`` pass the filters (see :func:`filter_sites`)."""
    keep = np.ones(len(sites), dtype=bool)
    if sectors is not None:
        keep &= _values_in(sites["sector"], sectors, sector_key)
    for column, values in (("agency", agencies), ("use", uses), ("tenure", tenures)):
        if values:
            keep &= _values_in(sites[column], values, _as_text)
    if min_surplus > 0:
        surplus = pd.to_numeric(sites["surplus_sqft"], errors="coerce").fillna(0)
        keep &= (surplus >= min_surplus).to_numpy()
    return keep


def _as_text(values: pd.Series) -> pd.Series:
    return values.astype("object").fillna("").astype(str)


def _values_in(column: pd.Series, wanted, normalise) -> np.ndarray:
    """Return which rows' value, normalised, is one of ``wanted``.

    Each distinct value is normalised once (a national estate has a million rows and
    a few dozen distinct sectors or agencies), missing values as a missing one.
    """
    if column.dtype == object:  # as text: 1, 1.0 and True are three values, as offered
        column = _as_text(column).where(column.notna())
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    kept = normalise(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    missing = normalise(pd.Series([None], dtype=object))
    flags = np.append(kept.isin(list(wanted)).to_numpy(), missing.isin(list(wanted)).to_numpy())
    return flags[codes]  # a missing value's code, -1, is the last: the missing one


def selected_mask(sites: gpd.GeoDataFrame, outline, chosen: Selection) -> np.ndarray:
    """Return which rows of ``sites`` :func:`select_sites` keeps."""
    return inside_place(sites, outline) & filter_mask(
        sites,
        chosen.sectors,
        chosen.agencies,
        uses=chosen.uses,
        tenures=chosen.tenures,
        min_surplus=chosen.min_surplus,
    )


def filter_options(sites: pd.DataFrame, column: str) -> list[str]:
    """Return the values a filter on ``column`` offers: every non-blank value, sorted."""
    values = sites[column].astype("object").dropna().astype(str)
    return sorted(v for v in values.unique() if v.strip())


def _no_geometry(geoms: np.ndarray) -> np.ndarray:
    """Missing or empty geometries (shapely's tests: GeoSeries.notna warns on empties)."""
    return shapely.is_missing(geoms) | shapely.is_empty(geoms)


def inside_place(frame: gpd.GeoDataFrame, outline) -> np.ndarray:
    """Return a mask of the rows of ``frame`` in the place ``outline`` (every row when ``None``).

    The rule is :func:`assetmap.schema.in_place` (a point on the row's surface lies in
    or on the outline; a row with no geometry is not in any place), except that with no
    place every row is kept.

    Parameters
    ----------
    frame
        Sites or requests in EPSG:27700.
    outline
        The place's polygon, or ``None`` for no place.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``frame``.
    """
    if outline is None:
        return np.ones(len(frame), dtype=bool)
    return in_place(frame, outline)


def place_outline(localities: gpd.GeoDataFrame, code: str):
    """Return the outline of the locality ``code`` of ``localities``.

    The outline of all of them when ``code`` is empty; ``None`` when the code is not
    there.
    """
    hits = localities if not code else localities[localities["code"].astype(str) == code]
    if hits.empty:
        return None
    return shapely.union_all(np.asarray(hits.geometry, dtype=object))


def select_sites(sites: gpd.GeoDataFrame, outline, chosen: Selection) -> gpd.GeoDataFrame:
    """Return the sites inside ``outline`` (all when ``None``) that pass ``chosen``'s filters."""
    return sites[selected_mask(sites, outline, chosen)]


def select_requests(requests: gpd.GeoDataFrame, outline) -> gpd.GeoDataFrame:
    """Return the space requests inside ``outline``.

    Requests with no point are kept (they may be anywhere).
    """
    unlocated = _no_geometry(np.asarray(requests.geometry, dtype=object))
    return requests[inside_place(requests, outline) | unlocated]
