"""Cached state shared by the app's pages: the estate, the boundaries and the analyses.

The app starts on the bundled sample estate with no set-up: the first run builds
the store from the sample registers when no store file exists yet
(``$ASSETMAP_STORE`` names another store). Everything read from the store is
cached per store file, modification time and size (:func:`store_signature`), so
an import or a removal by any page is seen on the next run; the analyses are
cached per store state, place, filters and options, so changing a filter back
and forth costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from assetmap import selection
from assetmap.colocation import ColocationResult, colocation_clusters
from assetmap.density import (
    Classification,
    density_by_locality,
    place_summary,
)
from assetmap.io.boundaries import read_boundary_file
from assetmap.localities import load_localities
from assetmap.matching import AllocationPlan, MatchResult, allocate, find_candidates
from assetmap.postcodes import lookup_postcodes
from assetmap.sample import ensure_sample_store
from assetmap.schema import empty_sites
from assetmap.settings import TileSetting, configured_tiles
from assetmap.store import default_store_path, open_store

__all__ = [
    "boundaries",
    "clear",
    "colocation",
    "density",
    "estate_requests",
    "estate_sites",
    "imports",
    "place_outline",
    "place_requests",
    "place_sites",
    "place_summary_table",
    "plan",
    "postcode_point",
    "quarantine",
    "read_boundaries",
    "store_path",
    "store_signature",
    "tiles",
]


@st.cache_resource(show_spinner="Preparing the sample estate…")
def _ensure_store(path: str) -> str:
    return str(ensure_sample_store(path))


def store_path() -> Path:
    """Return the store file, building it from the sample estate first if it does not exist."""
    path = default_store_path()
    if path.is_file():
        return path
    return Path(_ensure_store(str(path)))


def store_signature() -> tuple[str, int, int]:
    """Return the store's path, modification time and size: a cache key that changes on write."""
    path = store_path()
    if not path.is_file():
        return (str(path), 0, 0)
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


def clear() -> None:
    """Forget cached tables (after this session wrote to the store)."""
    st.cache_data.clear()


@st.cache_data(show_spinner="Loading the estate…", max_entries=4)
def _load(signature: tuple[str, int, int], what: str) -> Any:
    store = open_store(signature[0])
    return {
        "sites": store.sites,
        "requests": store.requests,
        "quarantine": store.quarantine,
        "imports": store.imports,
    }[what]()


def estate_sites() -> gpd.GeoDataFrame:
    """Return every site in the store (canonical columns, EPSG:27700).

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store cannot be built or read.
    """
    signature = store_signature()
    if signature[1] == 0:
        return empty_sites()
    return _load(signature, "sites")


def estate_requests() -> gpd.GeoDataFrame:
    """Return every space request in the store."""
    return _load(store_signature(), "requests")


def quarantine() -> pd.DataFrame:
    """Return every quarantined row in the store, with its source and reasons."""
    return _load(store_signature(), "quarantine")


def imports() -> pd.DataFrame:
    """Return the import log: one row per source in the store."""
    return _load(store_signature(), "imports")


@st.cache_data(show_spinner=False, max_entries=8)
def boundaries(level: str = "district") -> gpd.GeoDataFrame:
    """Return a bundled boundary level (EPSG:27700) for the basemap.

    Raises
    ------
    assetmap.errors.DataNotFoundError
        If the bundled boundaries are missing from this checkout.
    """
    return load_localities(level)


@st.cache_data(show_spinner=False, max_entries=64)
def place_outline(level: str, code: str):
    """Return the outline (EPSG:27700) of one bundled locality, or of a whole level.

    The whole level's when ``code`` is empty; ``None`` when the code is not in the level.
    """
    return selection.place_outline(load_localities(level), code)


def read_boundaries(path: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read a boundary file the officer added.

    Returns the localities (``code``, ``name``, EPSG:27700) and notes on repairs
    (see :func:`read_boundary_file`).
    """
    return read_boundary_file(path)


def postcode_point(postcode: str) -> tuple[float, float] | None:
    """Return the easting and northing of a postcode from the ONS Postcode Directory, or None."""
    found = lookup_postcodes(pd.Series([postcode]))
    if not bool(found["found"].iloc[0]) or np.isnan(found["easting"].iloc[0]):
        return None
    return float(found["easting"].iloc[0]), float(found["northing"].iloc[0])


@st.cache_data(show_spinner=False, max_entries=16)
def place_sites(key: tuple, _outline, _chosen: selection.Selection) -> gpd.GeoDataFrame:
    """Return the sites inside ``_outline`` that pass the filters of ``_chosen``.

    Cached by ``key`` (see :func:`assetmap.app.shell.cache_key`).
    """
    return selection.select_sites(estate_sites(), _outline, _chosen)


@st.cache_data(show_spinner=False, max_entries=8)
def place_requests(key: tuple, _outline) -> gpd.GeoDataFrame:
    """Return the store's space requests inside ``_outline`` (those with no point are kept)."""
    return selection.select_requests(estate_requests(), _outline)


@st.cache_data(show_spinner="Finding co-location clusters…", max_entries=16)
def colocation(
    key: tuple, distance: float, _sites: gpd.GeoDataFrame, agency: str | None = None
) -> ColocationResult:
    """Return the co-location clusters of the selected sites.

    Cached by ``key`` and ``distance``; ``agency`` is the viewer's, whose restricted
    sites may take part.
    """
    return colocation_clusters(_sites, distance=distance, viewer_agency=agency)


@st.cache_data(show_spinner="Working out the density…", max_entries=32)
def density(
    key: tuple,
    level: str,
    metric: str,
    per: str,
    scheme: str,
    k: int,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None = None,
) -> tuple[gpd.GeoDataFrame, Classification, tuple[str, ...], int]:
    """Return the choropleth of the selected sites.

    The localities with values, the classes, notes and the number of sites outside
    every locality (``agency``: the viewer's, whose restricted sites may count; other
    agencies' are withheld).
    """
    result = density_by_locality(_sites, _localities, viewer=agency)
    frame, classes = result.choropleth(metric, per=per, scheme=scheme, k=k)
    return frame, classes, tuple(result.notes), result.n_outside


@st.cache_data(show_spinner="Summarising the place…", max_entries=16)
def place_summary_table(
    key: tuple,
    level: str,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None = None,
) -> pd.DataFrame:
    """Return the Total Place table of the selected sites by locality and sector.

    ``agency`` is the viewer's, whose restricted sites may count; other agencies'
    are withheld.
    """
    return place_summary(_sites, _localities, viewer=agency)


@st.cache_data(show_spinner="Matching requests to surplus space…", max_entries=16)
def plan(
    key: tuple,
    allow_split: bool,
    _requests: gpd.GeoDataFrame,
    _sites: gpd.GeoDataFrame,
    agency: str | None = None,
) -> tuple[MatchResult, AllocationPlan]:
    """Return the candidates and the optimal allocation plan for the place's requests.

    ``agency`` is the viewer's, whose restricted requests and offers may take part.
    """
    match = find_candidates(_requests, _sites, viewer_agency=agency)
    return match, allocate(match, allow_split=allow_split)


def tiles() -> TileSetting | None:
    """Return the configured background tiles, or ``None`` (the default: no tiles).

    Raises
    ------
    assetmap.errors.InvalidArgumentError
        If the tile URL setting is not a tile URL template.
    """
    return configured_tiles()
