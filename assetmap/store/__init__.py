"""The estate store: where every agency's sites, requests and import log are kept.

The store holds seven layers: ``sites`` (points, EPSG:27700), ``footprints``
(polygons of sites whose register gave one), ``requests`` (space requests),
``quarantine`` (every rejected row with its reason), ``imports`` (one row per
source), and what users keep: ``boundary_sets`` (their areas, with each set's name
and owner) and ``places`` (named places: a level and its codes). Every change
replaces one source, set or place in one transaction; a read sees one state.

The package is in three parts: :mod:`~assetmap.store.interface` is what the engine
asks of any store (:class:`EstateStore`, :class:`SourceUpdate`) and the rules every
store shares; :mod:`~assetmap.store.geopackage` is the GeoPackage store, with its file
checks in :mod:`~assetmap.store.gpkg_file`; :mod:`~assetmap.store.bulk` is its bulk
row writer, with the geometry blobs of :mod:`~assetmap.store.gpkg_blobs`.
:func:`open_store` gives the store at a path.
"""

from __future__ import annotations

import os

from ..settings import STORE_ENV, default_store_path
from .geopackage import GeoPackageStore
from .interface import IMPORT_LOG_COLUMNS, LOCK_TIMEOUT_S, EstateStore, SourceUpdate

__all__ = [
    "IMPORT_LOG_COLUMNS",
    "LOCK_TIMEOUT_S",
    "STORE_ENV",
    "EstateStore",
    "GeoPackageStore",
    "SourceUpdate",
    "default_store_path",
    "open_store",
]


def open_store(path: str | os.PathLike | None = None) -> GeoPackageStore:
    """Open the estate store (it need not exist yet).

    Parameters
    ----------
    path
        The GeoPackage file; :func:`default_store_path` when ``None``.

    Returns
    -------
    GeoPackageStore

    Examples
    --------
    >>> store = open_store("estate.gpkg")  # doctest: +SKIP
    >>> import_register("kent_police_estate.csv", store=store, sector="police")  # doctest: +SKIP
    >>> sites, requests = store.sites(), store.requests()  # doctest: +SKIP
    """
    return GeoPackageStore(path if path is not None else default_store_path())
