"""What every estate store is: the interface the engine uses, and the rules all stores share.

:class:`EstateStore` is what the engine asks of a store, :class:`SourceUpdate` what an
import hands it; :data:`LAYOUT` says what each of the five layers holds, and the
functions here are the rules every store keeps the same way: canonical columns, a
source's identity and owner, per-source provenance and the shared-site groups.

A new store (a PostGIS store beside the GeoPackage one, say) subclasses
:class:`EstateStore` and implements:

- :meth:`~EstateStore.exists`, and the reads :meth:`~EstateStore.sites`,
  :meth:`~EstateStore.site_keys`, :meth:`~EstateStore.footprints`,
  :meth:`~EstateStore.requests`, :meth:`~EstateStore.quarantine` and
  :meth:`~EstateStore.imports`: each gives its layer with the canonical columns
  (:func:`conform`), points and polygons in EPSG:27700, empty text as ``""``, and
  sites and requests with their per-source provenance joined back from the import
  log (:func:`join_provenance`). A read sees one state of the store, never a
  mixture of the states before and after a write.
- :meth:`~EstateStore.replace_source` and :meth:`~EstateStore.remove_source`: one
  transaction each, serialised between writers (waiting
  :data:`LOCK_TIMEOUT_S` at most for another writer), that keeps the
  rules below. A failure at any moment leaves the store as it was.

It inherits :meth:`~EstateStore.report`. :func:`assetmap.store.open_store`, which gives a
GeoPackage store today, is where the new store is to be chosen (by the address given).

The rules: a layer stores the columns of :data:`LAYOUT` (the per-source provenance,
:data:`PER_SOURCE`, only in ``imports``); a source is its owner and its name together
(:func:`source_keys`), every row it brings is stamped with its owner (:func:`owned`),
and the source a change names is found by :func:`pick_owner`; an update's rows may come
as one frame or as an iterator of chunks (:class:`SourceUpdate`); when a ``shared``
callback is given, the ``shared_group`` of every stored site and new row is settled
after the change (:func:`settle_shared_groups`).
"""

from __future__ import annotations

import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import StoreError
from ..schema import QUARANTINE_COLUMNS, REQUEST_COLUMNS, SITE_COLUMNS

__all__ = [
    "IMPORT_LOG_COLUMNS",
    "LAYOUT",
    "LOCK_TIMEOUT_S",
    "PER_SOURCE",
    "SHARED_KEY_COLUMNS",
    "EstateStore",
    "SharedGroups",
    "SourceUpdate",
    "conform",
    "differs",
    "join_provenance",
    "owned",
    "pick_owner",
    "settle_shared_groups",
    "source_keys",
]

#: Seconds a writer waits for another writer's lock before giving up with a message. Every
#: store reads it here at each write, so that a caller may change it
#: (``assetmap.store.interface.LOCK_TIMEOUT_S = 5``).
LOCK_TIMEOUT_S = 120.0

IMPORT_LOG_COLUMNS: dict[str, str] = {
    "source_file": "str",
    "source_owner": "str",
    "source_sha256": "str",
    "kind": "str",
    "format": "str",
    "layer": "str",
    "agency": "str",
    "sector": "str",
    "imported_at": "str",
    "rows_read": "int64",
    "accepted": "int64",
    "quarantined": "int64",
    "report_json": "str",
}

#: Provenance shared by every row of a source: kept once, in the import log.
PER_SOURCE = ("source_sha256", "imported_at")
STORED_SITE_COLUMNS = {k: v for k, v in SITE_COLUMNS.items() if k not in PER_SOURCE}
STORED_REQUEST_COLUMNS = {k: v for k, v in REQUEST_COLUMNS.items() if k not in PER_SOURCE}

#: The layers of the store: columns as stored, and geometry type (None: a table).
LAYOUT: dict[str, tuple[dict[str, str], str | None]] = {
    "sites": (STORED_SITE_COLUMNS, "Point"),
    "footprints": ({"site_id": "str"}, "MultiPolygon"),
    "requests": (STORED_REQUEST_COLUMNS, "Point"),
    "quarantine": (QUARANTINE_COLUMNS, None),
    "imports": (IMPORT_LOG_COLUMNS, None),
}

#: What the shared-site callback needs of every site.
SHARED_KEY_COLUMNS = (
    "site_id",
    "source_file",
    "sector",
    "agency",
    "sensitivity",
    "name",
    "postcode",
    "uprn",
    "shared_group",
)

#: The shared-site callback: the key columns of every site in, their groups out, aligned
#: to them (see :func:`assetmap.registers.validate.shared_groups`).
SharedGroups = Callable[[pd.DataFrame], Any]


@dataclass
class SourceUpdate:
    """Everything one import brings for one source.

    Attributes
    ----------
    source_file
        The source's name. A source's identity is its owner and its name together:
        importing a source of the same owner and name replaces it.
    kind
        ``"sites"`` or ``"requests"``.
    rows
        Canonical sites or requests with provenance: a GeoDataFrame of points, or a
        DataFrame whose ``easting`` and ``northing`` columns (EPSG:27700; NaN where
        a row has no point) give the points, which spares building shapely points
        that are only to be written. It may also be an iterator of such frames
        (the rows in chunks): the store then writes each chunk while the iterator
        makes the next, and reads ``footprints``, ``quarantine`` and ``log`` only
        after the last chunk, so the iterator may fill them in as it ends.
    footprints
        Polygon footprints (``site_id``, geometry), for sites.
    quarantine
        The rejected rows.
    log
        One row for the import log (see :data:`IMPORT_LOG_COLUMNS`).
    owner
        The agency the source was imported as (``""``: none, a source only the
        local single user may change; see :mod:`assetmap.access`). Every row of
        the source is stamped with it as ``source_owner``.

    Examples
    --------
    :func:`assetmap.import_register` makes one for each import; the store writes it in
    one transaction, replacing the rows of the same owner's source of that name:

    >>> update = SourceUpdate("estate.csv", "sites", rows, None, quarantine, log)  # doctest: +SKIP
    >>> store.replace_source(update)  # doctest: +SKIP
    """

    source_file: str
    kind: str
    rows: gpd.GeoDataFrame | pd.DataFrame | Iterator[pd.DataFrame]
    footprints: gpd.GeoDataFrame | None
    quarantine: pd.DataFrame
    log: dict
    owner: str = ""

    @property
    def layer(self) -> str:
        """Return the layer the rows go to: ``sites`` or ``requests``."""
        return "sites" if self.kind == "sites" else "requests"


class EstateStore(ABC):
    """What the engine needs from a store of the public estate (see the module's notes)."""

    @abstractmethod
    def exists(self) -> bool:
        """Return whether the store exists yet (the first import creates it)."""

    @abstractmethod
    def sites(self) -> gpd.GeoDataFrame:
        """Return every site, with :data:`assetmap.schema.SITE_COLUMNS`, in EPSG:27700."""

    @abstractmethod
    def site_keys(self) -> pd.DataFrame:
        """Return the key columns of every site, without geometry.

        They are ``site_id``, ``source_file``, ``source_owner``, ``source_row``,
        ``agency`` and ``sensitivity``.
        """

    @abstractmethod
    def footprints(self) -> gpd.GeoDataFrame:
        """Return the polygon footprints: ``site_id`` and geometry, in EPSG:27700."""

    @abstractmethod
    def requests(self) -> gpd.GeoDataFrame:
        """Return every space request, with :data:`assetmap.schema.REQUEST_COLUMNS`."""

    @abstractmethod
    def quarantine(self) -> pd.DataFrame:
        """Return every rejected row, with :data:`assetmap.schema.QUARANTINE_COLUMNS`."""

    @abstractmethod
    def imports(self) -> pd.DataFrame:
        """Return the import log, one row per source currently in the store."""

    @abstractmethod
    def replace_source(self, update: SourceUpdate, *, shared: SharedGroups | None = None) -> None:
        """Replace everything a source brought with ``update``, in one transaction.

        ``shared``, when given, is called with the merged sites (at least
        ``site_id``, ``source_file``, ``sector``, ``agency``, ``name``,
        ``postcode``, ``uprn`` and ``shared_group``) and returns the
        ``shared_group`` column for them, aligned to them (see
        :func:`assetmap.registers.validate.shared_groups`).
        """

    @abstractmethod
    def remove_source(
        self, source_file: str, *, owner: str | None = None, shared: SharedGroups | None = None
    ) -> int:
        """Remove a source and everything it brought; return the rows removed.

        ``owner`` picks the source when sources of several owners share the name
        (``None``: the only source of that name).
        """

    def report(self, source_file: str, owner: str | None = None) -> dict | None:
        """Return the stored import report of a source (of ``owner``, when given), or ``None``."""
        log = self.imports()
        hit = log["source_file"] == source_file
        if owner is not None:
            hit &= log["source_owner"] == owner
        found = log[hit]
        return json.loads(found["report_json"].iloc[-1]) if len(found) else None


def conform(frame: pd.DataFrame, columns: dict[str, str], *, points: bool = False) -> pd.DataFrame:
    """Give a frame exactly the canonical columns, in order, with their dtypes.

    A GeoDataFrame keeps its geometry; with ``points``, a frame that gives its
    points as ``easting`` and ``northing`` columns keeps those. Missing text is
    ``""``, missing whole numbers 0.
    """
    if (
        not len(frame)
        and type(frame) is pd.DataFrame
        and isinstance(frame.index, pd.RangeIndex)
        and not (points and {"easting", "northing"} <= set(frame.columns))
    ):  # no rows (no sites yet, a clean register's quarantine): made once
        return _empty_frame(tuple(columns.items())).copy(deep=False)
    out = frame.copy(deep=False)  # columns are replaced, never changed in place
    for name, dtype in columns.items():
        if name not in out.columns:
            out[name] = pd.Series(dtype=dtype, index=out.index)
        if not _conforms(out[name], dtype):
            out[name] = _converted(out[name], dtype)
    keep = list(columns)
    if isinstance(out, gpd.GeoDataFrame):
        keep.append(out.geometry.name)
    elif points and {"easting", "northing"} <= set(out.columns):
        keep += ["easting", "northing"]
    return out[keep]


def _converted(values: pd.Series, dtype: str) -> pd.Series:
    """Return a column as ``dtype``: text without missing values, or numbers."""
    if dtype == "str":
        if not pd.api.types.is_string_dtype(values.dtype):  # a column SQL had only NULLs in
            values = values.astype(object)
        return values.fillna("").astype("str")
    if dtype == "int64":
        return pd.to_numeric(values, errors="coerce").fillna(0).astype("int64")
    return pd.to_numeric(values, errors="coerce").astype(np.dtype(dtype))


@functools.lru_cache(maxsize=16)
def _empty_frame(columns: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """Return a frame with no rows and these columns (name, dtype); copy it before use."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns})


def _conforms(values: pd.Series, dtype: str) -> bool:
    """Return whether a column already has ``dtype`` (text: ``str`` without missing values)."""
    if dtype == "str":
        return bool(values.dtype == _STR and not values.hasnans)
    return bool(values.dtype == dtype)


_STR = pd.Series(dtype="str").dtype  # what ``astype("str")`` gives


def source_keys(frame: pd.DataFrame) -> pd.Series:
    """Return each row's source as one text: its owner and its name (see :class:`SourceUpdate`)."""
    return frame["source_owner"].astype("str") + "\x1f" + frame["source_file"].astype("str")


def owned(frame: pd.DataFrame, owner: str) -> pd.DataFrame:
    """Return ``frame`` with every row's ``source_owner`` set to ``owner`` (a new column)."""
    frame = frame.copy(deep=False)
    frame["source_owner"] = pd.Series(owner, index=frame.index, dtype="str")
    return frame


def join_provenance(frame: pd.DataFrame, log: pd.DataFrame) -> pd.DataFrame:
    """Add each row's per-source provenance (file hash, import time) from the import log.

    Those two values are the same for every row of a source, so a store keeps
    them once, in ``imports``, and rows carry only ``source_file`` and ``source_row``.

    Parameters
    ----------
    frame
        Sites or requests as stored (``source_owner`` and ``source_file``).
    log
        The import log, conformed to :data:`IMPORT_LOG_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with the :data:`PER_SOURCE` columns (``""`` for a row of no logged source).
    """
    log = log.assign(_key=source_keys(log)).drop_duplicates("_key")
    frame = frame.drop(columns=[c for c in PER_SOURCE if c in frame.columns])
    codes = pd.Index(log["_key"]).get_indexer(source_keys(frame))
    for c in PER_SOURCE:
        values = log[c].to_numpy(dtype=object)
        frame[c] = pd.Series(
            np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else "", ""),
            index=frame.index,
            dtype="str",
        )
    return frame


def pick_owner(
    source_file: str, owner: str | None, sources: list[tuple[str, str]], *, removing: bool
) -> str:
    """Return the owner of the source to change.

    That is ``owner`` as given, or, when removing without one, the only owner of a
    source of that name.

    Parameters
    ----------
    source_file
        The source's name.
    owner
        The owner given (``None``: none).
    sources
        The store's sources, as (owner, name).
    removing
        Whether the source is to be removed (else replaced).

    Raises
    ------
    StoreError
        When removing a source that is not in the store, or whose name several
        owners use and no owner was given.
    """
    owners = [o for o, name in sources if name == source_file]
    if owner is not None and (not removing or owner in owners):
        return owner
    if removing and len(owners) == 1 and owner is None:
        return owners[0]
    if removing and len(owners) > 1 and owner is None:
        raise StoreError(
            f"source_file={source_file!r} is a source of several agencies "
            f"({', '.join(o or '(none)' for o in owners)}); name the agency whose source "
            "to remove"
        )
    if not removing:
        return ""
    names = [f"{name} ({o})" if o else name for o, name in sources]
    raise StoreError(
        f"source_file={source_file!r}"
        + (f" of {owner!r}" if owner else "")
        + " is not in the store; its sources are: "
        + (", ".join(names) or "none")
    )


def settle_shared_groups(
    shared: SharedGroups, stored: pd.DataFrame | None, rows: pd.DataFrame | None
) -> tuple[pd.Series, pd.Series] | None:
    """Return the ``shared_group`` of every stored site and every new row.

    ``shared`` is called once, with the :data:`SHARED_KEY_COLUMNS` of the stored
    sites followed by those of the new rows.

    Parameters
    ----------
    shared
        The shared-site callback.
    stored
        The key columns of the sites the store keeps (``None``: there are none).
    rows
        The key columns of the new rows (``None``: none).

    Returns
    -------
    tuple of pandas.Series, or None
        The groups of the stored sites and those of the new rows, each numbered from
        0 in the order given; ``None`` when there are no sites at all.
    """
    keys = list(SHARED_KEY_COLUMNS)
    if stored is not None and len(stored):
        merged = (
            stored[keys]
            if rows is None
            else pd.concat([stored[keys], pd.DataFrame(rows[keys])], ignore_index=True)
        )
        n_stored = len(stored)
    elif rows is None:
        return None  # no sites at all
    else:  # nothing stored before: the new rows are all there is
        merged = pd.DataFrame(rows[keys]).reset_index(drop=True)
        n_stored = 0
    groups = pd.Series(shared(merged), dtype="str").reset_index(drop=True)
    return groups.iloc[:n_stored], groups.iloc[n_stored:]


def differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Return where two text columns of the same length differ, by position."""
    return (a.reset_index(drop=True) != b.reset_index(drop=True)).to_numpy(dtype=bool)
