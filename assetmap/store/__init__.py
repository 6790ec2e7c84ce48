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
row writer, with the geometry blobs of :mod:`~assetmap.store.gpkg_blobs`;
:mod:`~assetmap.store.postgis` is the PostGIS store, its schema and migrations in
:mod:`~assetmap.store.postgis_schema`. :func:`open_store` gives the store at a path, or
in the database a ``postgresql://`` URL names.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..settings import STORE_ENV, default_store_path, is_database_url, store_location
from .geopackage import GeoPackageStore
from .interface import IMPORT_LOG_COLUMNS, LOCK_TIMEOUT_S, EstateStore, SourceUpdate

if TYPE_CHECKING:
    from ..access import Viewer

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


def open_store(
    location: str | os.PathLike | None = None, *, viewer: Viewer | None = None
) -> EstateStore:
    """Open the estate store (it need not exist yet).

    Parameters
    ----------
    location
        A GeoPackage file, or a PostgreSQL database's URL (``postgresql://`` or
        ``postgres://``); when ``None``, ``$ASSETMAP_STORE``, else ``estate.gpkg``.
    viewer
        Who is looking. A database gives this viewer's rows only (row-level
        security, a second wall behind :mod:`assetmap.access`); a GeoPackage store
        ignores it (the engine filters its rows).

    Returns
    -------
    EstateStore
        A :class:`GeoPackageStore`, or a :class:`~assetmap.store.postgis.PostGISStore`.

    Examples
    --------
    >>> store = open_store("estate.gpkg")  # doctest: +SKIP
    >>> import_register("kent_police_estate.csv", store=store, sector="police")  # doctest: +SKIP
    >>> sites, requests = store.sites(), store.requests()  # doctest: +SKIP
    >>> shared = open_store("postgresql://assetmap_app@db/estate", viewer=viewer)  # doctest: +SKIP
    """
    where = location if location is not None else store_location()
    if isinstance(where, str) and is_database_url(where):
        from .postgis import PostGISStore

        return PostGISStore(where.strip(), viewer=viewer)
    return GeoPackageStore(where)
