"""What every estate store is: the interface the engine uses, and the rules all stores share.

:class:`EstateStore` is what the engine asks of a store, :class:`SourceUpdate` what the
importer gives it; :data:`LAYOUT` says what each of the seven layers holds, and the
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

- :meth:`~EstateStore.boundary_sets` and :meth:`~EstateStore.places`, and
  :meth:`~EstateStore._named`, which replaces or removes one of them: the boundary
  sets and named places users add, kept for every user and session, each write one
  transaction as above (the interface's ``add_boundary_set``, ``remove_boundary_set``,
  ``save_place`` and ``remove_place`` call it). A set or place belongs to the agency that
  added it (its ``owner``); adding one of the same name replaces that owner's own, and a
  name another owner uses is refused (:func:`check_owned_name`).

- :attr:`~EstateStore.location` (what to show of where it is: never a password),
  :meth:`~EstateStore.version` (changed by every committed change: caches are keyed by
  it), and the audit log, :meth:`~EstateStore.append_audit` and
  :meth:`~EstateStore.audit_entries`.

It inherits :meth:`~EstateStore.report`. :func:`assetmap.store.open_store` chooses the
store by the location given (a ``postgresql://`` URL: the PostGIS store).

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError, StoreError
from ..schema import QUARANTINE_COLUMNS, REQUEST_COLUMNS, SITE_COLUMNS, precision_from_source

__all__ = [
    "BOUNDARY_SET_COLUMNS",
    "IMPORT_LOG_COLUMNS",
    "LAYOUT",
    "LOCK_TIMEOUT_S",
    "PER_SOURCE",
    "PLACE_COLUMNS",
    "SHARED_KEY_COLUMNS",
    "EstateStore",
    "SharedGroups",
    "SourceUpdate",
    "boundary_rows",
    "check_owned_name",
    "conform",
    "differs",
    "join_provenance",
    "normal_name",
    "owned",
    "pick_owner",
    "place_row",
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

#: The areas of the boundary sets users add: one row per area, with its set and owner.
BOUNDARY_SET_COLUMNS: dict[str, str] = {
    "set_name": "str",
    "code": "str",
    "name": "str",
    "owner": "str",
}
#: The named places users save: one row per place, its codes joined by ``;``.
PLACE_COLUMNS: dict[str, str] = {"name": "str", "level": "str", "codes": "str", "owner": "str"}

#: The Arrow type (a ``pyarrow`` type function's name) of each column kind of :data:`LAYOUT`.
ARROW_TYPES = {"str": "string", "int64": "int64", "float64": "float64"}

#: The layers of the store: columns as stored, and geometry type (None: a table).
LAYOUT: dict[str, tuple[dict[str, str], str | None]] = {
    "sites": (STORED_SITE_COLUMNS, "Point"),
    "footprints": ({"site_id": "str"}, "MultiPolygon"),
    "requests": (STORED_REQUEST_COLUMNS, "Point"),
    "quarantine": (QUARANTINE_COLUMNS, None),
    "imports": (IMPORT_LOG_COLUMNS, None),
    "boundary_sets": (BOUNDARY_SET_COLUMNS, "MultiPolygon"),
    "places": (PLACE_COLUMNS, None),
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
    def site_keys(self, *, site_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the key columns of every site, or of the sites of some ids, without geometry.

        They are ``site_id``, ``source_file``, ``source_owner``, ``source_row``,
        ``agency`` and ``sensitivity``, in the order the sites are stored.

        Parameters
        ----------
        site_ids
            ``None``: every site. Else only the sites whose ``site_id`` is one of
            these, looked up in an index (not every site read); an import's
            duplicate check asks for each chunk's ids. Called while the store is
            writing (from the rows an import streams in), it answers from the
            state before that write, or from the write itself: the sites of other
            sources are the same in both.
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

    @abstractmethod
    def boundary_sets(self) -> gpd.GeoDataFrame:
        """Return the areas of every boundary set users added.

        The columns are ``set_name``, ``code``, ``name``, ``owner`` and the
        polygons, in EPSG:27700, in the order they were added.
        """

    def add_boundary_set(self, name: str, areas: gpd.GeoDataFrame, *, owner: str = "") -> None:
        """Keep the areas (``code``, ``name``, polygons) as the boundary set ``name``.

        One transaction: the set ``owner`` already keeps under that name is
        replaced; a name another owner uses is refused (see
        :func:`check_owned_name`).
        """
        name = normal_name(name, "the boundary set's")
        self._named("boundary_sets", "boundary set", name, owner, boundary_rows(name, areas, owner))

    def remove_boundary_set(self, name: str, *, owner: str | None = None) -> int:
        """Remove the boundary set ``name`` (of ``owner``, when given); return its areas removed."""
        name = normal_name(name, "the boundary set's")
        return self._named("boundary_sets", "boundary set", name, owner, None)

    @abstractmethod
    def places(self) -> pd.DataFrame:
        """Return the named places users saved.

        The columns are ``name``, ``level``, ``codes`` (``;``-joined) and ``owner``.
        """

    def save_place(self, name: str, level: str, codes: list[str], *, owner: str = "") -> None:
        """Keep the localities ``codes`` of ``level`` together as the place ``name``.

        One transaction, with the same rule of names and owners as
        :meth:`add_boundary_set`.
        """
        name = normal_name(name, "the place's")
        self._named("places", "place", name, owner, place_row(name, level, codes, owner))

    def remove_place(self, name: str, *, owner: str | None = None) -> int:
        """Remove the saved place ``name`` (of ``owner``, when given); return the places removed."""
        name = normal_name(name, "the place's")
        return self._named("places", "place", name, owner, None)

    @abstractmethod
    def _named(
        self, layer: str, what: str, name: str, owner: str | None, rows: pd.DataFrame | None
    ) -> int:
        """Replace (``rows`` given) or remove ``owner``'s named set or place ``name``.

        ``layer`` is ``boundary_sets`` or ``places``; ``what`` names it in messages.
        One transaction, under :func:`check_owned_name`'s rule; returns the rows removed.
        """

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store is, to show: a file's path, or a database's URL without its password."""

    @abstractmethod
    def version(self) -> str:
        """Return the store's version: it changes on every committed change of the store.

        Caches of what was read from the store are keyed by it.
        """

    @abstractmethod
    def append_audit(self, entry: dict) -> None:
        """Append one entry to the store's audit log, durably.

        ``entry`` holds ``time`` (ISO 8601, UTC), ``user``, ``agency``,
        ``signed_in``, ``action``, ``what``, ``sha256`` and ``counts`` (see
        :class:`assetmap.audit.AuditEntry`).
        """

    @abstractmethod
    def audit_entries(self) -> list[dict]:
        """Return the audit log's entries (the fields of :meth:`append_audit`), oldest first."""

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
    ``""``, missing whole numbers 0. Rows without a ``location_precision`` (a store
    written before it) get it from their ``location_source``
    (:func:`assetmap.schema.precision_from_source`), else ``"point"``.
    """
    if (
        not len(frame)
        and type(frame) is pd.DataFrame
        and isinstance(frame.index, pd.RangeIndex)
        and not (points and {"easting", "northing"} <= set(frame.columns))
    ):  # no rows (no sites yet, a clean register's quarantine): made once
        return _empty_frame(tuple(columns.items())).copy(deep=False)
    out = frame.copy(deep=False)  # columns are replaced, never changed in place
    if "location_precision" in columns and "location_precision" not in out.columns:
        # rows from before the column (an older store): how they were placed tells
        source = out["location_source"] if "location_source" in out.columns else None
        out["location_precision"] = (
            precision_from_source(source) if source is not None else _unknown_points(out.index)
        )
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


def _unknown_points(index: pd.Index) -> pd.Series:
    """Return ``"point"`` on every row of ``index``: a location of unknown kind."""
    return pd.Series("point", index=index, dtype="str")


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
    """Return each row's source as one text: its owner and its name (see :class:`SourceUpdate`).

    A missing owner (a source of no agency, whose ``""`` a GeoPackage stores as NULL) is ``""``.
    """
    owner = frame["source_owner"].astype(object).where(frame["source_owner"].notna(), "")
    return owner.astype("str") + "\x1f" + frame["source_file"].astype("str")


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
    import pyarrow as pa

    log = log.assign(_key=source_keys(log)).drop_duplicates("_key")
    frame = frame.drop(columns=[c for c in PER_SOURCE if c in frame.columns])
    # Each row's source, as a number: the (few) sources are looked up in the log once,
    # not a million keys made and looked up (the rows of a source share their values).
    pairs = pd.factorize(_source_codes(frame))[0]  # 0, 1, 2... in the order first met
    first = pd.Series(pairs).drop_duplicates().index.to_numpy()  # the first row of each
    found = pd.Index(log["_key"]).get_indexer(source_keys(frame[list(_SOURCE)].iloc[first]))
    rows = pa.array(pairs, pa.int64())
    for c in PER_SOURCE:
        values = log[c].astype(object).where(log[c].notna(), "").to_numpy(dtype=object)
        of_source = [str(values[i]) if i >= 0 else "" for i in found]
        frame[c] = pd.Series(
            pa.array(of_source, pa.large_string()).take(rows), index=frame.index, dtype="str"
        )
    return frame


_SOURCE = ("source_owner", "source_file")


def _source_codes(frame: pd.DataFrame) -> np.ndarray:
    """Return a number for each row's source (its owner and name), the same for the same source.

    A missing owner is the owner ``""``, as in :func:`source_keys`.
    """
    codes = []
    for name in _SOURCE:
        column = frame[name]
        column = column.where(column.notna(), "") if column.hasnans else column
        codes.append(pd.factorize(column)[0].astype(np.int64))
    return codes[0] * (int(codes[1].max(initial=-1)) + 1) + codes[1]


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


def normal_name(name: object, what: str) -> str:
    """Return a user's name for a boundary set or place with its spacing made single.

    Raises
    ------
    InvalidArgumentError
        If it is not text, or is empty.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(
            f"{what} name {name!r} is not valid; expected a name such as 'Greater Manchester'"
        )
    return " ".join(name.split())


def check_owned_name(
    name: str, owner: str | None, taken: list[tuple[str, str]], what: str, *, removing: bool
) -> str:
    """Return the stored name a change of ``what`` named ``name`` applies to (``""``: none yet).

    Names are compared without regard to case or spacing. A name belongs to the
    owner who first used it: adding (or, with ``owner`` given, removing) another
    owner's is refused.

    Parameters
    ----------
    name
        The name given, spacing made single.
    owner
        The owner of the change (``None`` when removing: whoever owns it).
    taken
        The stored (name, owner) pairs.
    what
        ``"boundary set"`` or ``"place"``, for messages.
    removing
        Whether it is to be removed (then it must exist).

    Raises
    ------
    StoreError
        A name another owner uses, or, removing, a name not stored.
    """
    key = name.casefold()
    found = [(n, o) for n, o in dict.fromkeys(taken) if n.casefold() == key]
    if found and owner is not None and found[0][1] != owner:
        by = f"by {found[0][1]}" if found[0][1] else "with no agency"
        raise StoreError(
            f"the {what} {found[0][0]!r} was added {by}; only its owner may "
            + ("remove it" if removing else f"replace it. Choose another name for your {what}")
        )
    if removing and not found:
        names = sorted({n for n, _ in taken}, key=str.casefold)
        raise StoreError(
            f"there is no {what} named {name!r} in the store; its {what}s are: "
            + (", ".join(names) or "none")
        )
    return found[0][0] if found else ""


def boundary_rows(name: str, areas: object, owner: str) -> gpd.GeoDataFrame:
    """Return a boundary set's areas as the store keeps them, or refuse areas it cannot use.

    Parameters
    ----------
    name
        The set's name, spacing made single.
    areas
        A GeoDataFrame of polygons with the columns ``code`` and ``name``, in a CRS
        that can be reprojected to EPSG:27700.
    owner
        The agency adding it (``""``: none).

    Returns
    -------
    geopandas.GeoDataFrame
        ``set_name``, ``code``, ``name``, ``owner`` and the polygons, in EPSG:27700.

    Raises
    ------
    InvalidArgumentError
        Listing every problem: not a GeoDataFrame, no CRS, no ``code`` or ``name``
        column, no areas, empty or repeated codes, geometries that are not polygons.
    """
    if not isinstance(areas, gpd.GeoDataFrame):
        raise InvalidArgumentError(
            f"the areas of the boundary set {name!r} are a {type(areas).__name__}; expected a "
            "GeoDataFrame of polygons with the columns code and name"
        )
    problems = [
        f"the boundary set {name!r} has no {column} column; expected the columns code and name"
        for column in ("code", "name")
        if column not in areas.columns
    ]
    if areas.crs is None:
        problems.append(f"the boundary set {name!r} names no coordinate system")
    if not len(areas):
        problems.append(f"the boundary set {name!r} has no areas")
    if problems:
        raise InvalidArgumentError("; ".join(problems))
    codes = areas["code"].astype("str").where(areas["code"].notna(), "").str.strip()
    kinds = areas.geometry.geom_type.fillna("none")
    bad = kinds[~kinds.isin(["Polygon", "MultiPolygon"])]
    repeated = sorted(set(codes[codes.duplicated()]) - {""})
    if (codes == "").any():
        problems.append(f"{int((codes == '').sum())} areas of {name!r} have no code")
    if repeated:
        problems.append(f"the codes {', '.join(repeated[:5])} are used by more than one area")
    if len(bad):
        problems.append(
            f"{len(bad)} areas of {name!r} are not polygons (the first, {codes[bad.index[0]]!r},"
            f" is {bad.iloc[0]})"
        )
    if problems:
        raise InvalidArgumentError(
            f"the boundary set {name!r} cannot be kept: " + "; ".join(problems)
        )
    frame = gpd.GeoDataFrame(
        {
            "set_name": name,
            "code": codes.to_numpy(),
            "name": areas["name"].astype("str").where(areas["name"].notna(), "").to_numpy(),
            "owner": owner,
        },
        geometry=areas.geometry.to_crs("EPSG:27700").to_numpy(),
        crs="EPSG:27700",
    )
    return frame


def place_row(name: str, level: object, codes: object, owner: str) -> pd.DataFrame:
    """Return a saved place as the store keeps it: one row, its codes joined by ``;``.

    Raises
    ------
    InvalidArgumentError
        Listing every problem: no level, no codes, a code that is empty or holds ``;``.
    """
    problems = []
    if not isinstance(level, str) or not level.strip():
        problems.append(f"level {level!r} is not valid; expected a level such as 'district'")
    listed = (
        [codes] if isinstance(codes, str) else list(codes) if isinstance(codes, Iterable) else []
    )
    cleaned = [str(c).strip() for c in listed]
    if not cleaned:
        problems.append(f"the place {name!r} has no codes; expected the codes of its localities")
    bad = [c for c in cleaned if not c or ";" in c]
    if bad:
        problems.append(f"codes {bad[:5]!r} are not valid; expected codes without ';'")
    if problems:
        raise InvalidArgumentError(f"the place {name!r} cannot be saved: " + "; ".join(problems))
    return pd.DataFrame(
        {
            "name": [name],
            "level": [" ".join(str(level).split())],
            "codes": [";".join(dict.fromkeys(cleaned))],
            "owner": [owner],
        }
    )
