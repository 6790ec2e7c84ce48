"""Cached state shared by the app's pages: the estate, the boundaries, the map settings.

The app starts on the bundled sample estate with no set-up: the first run builds
the store from the sample registers when no store file exists yet
(``$ASSETMAP_STORE`` names another store). Loaded tables are cached per store
file and modification time, so an import by any page is seen on the next run.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import streamlit as st

from assetmap.localities import load_localities
from assetmap.maps.interactive import TileSetting, configured_tiles
from assetmap.sample import ensure_sample_store
from assetmap.schema import empty_sites
from assetmap.store import default_store_path, open_store

__all__ = ["boundaries", "estate_sites", "store_path", "tiles"]


@st.cache_resource(show_spinner="Preparing the sample estate…")
def _ensure_store(path: str) -> str:
    return str(ensure_sample_store(path))


def store_path() -> Path:
    """Return the store file, building it from the sample estate first if it does not exist."""
    path = default_store_path()
    if path.is_file():
        return path
    return Path(_ensure_store(str(path)))


@st.cache_data(show_spinner="Loading the estate…", max_entries=4)
def _load_sites(path: str, mtime_ns: int, size: int) -> gpd.GeoDataFrame:
    return open_store(path).sites()


def estate_sites() -> gpd.GeoDataFrame:
    """Return every site in the store (canonical columns, EPSG:27700).

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store cannot be built or read.
    """
    path = store_path()
    if not path.is_file():
        return empty_sites()
    stat = path.stat()
    return _load_sites(str(path), stat.st_mtime_ns, stat.st_size)


@st.cache_data(show_spinner=False, max_entries=8)
def boundaries(level: str = "district") -> gpd.GeoDataFrame:
    """Return a bundled boundary level (EPSG:27700) for the basemap.

    Raises
    ------
    assetmap.errors.DataNotFoundError
        If the bundled boundaries are missing from this checkout.
    """
    return load_localities(level)


def tiles() -> TileSetting | None:
    """Return the configured background tiles, or ``None`` (the default: no tiles).

    Raises
    ------
    assetmap.errors.InvalidArgumentError
        If the tile URL setting is not a tile URL template.
    """
    return configured_tiles()
