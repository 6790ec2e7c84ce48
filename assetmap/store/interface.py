"""What every estate store is: the interface the engine uses, and the rules all stores share.

:class:`EstateStore` is what the engine asks of a store, :class:`SourceUpdate` what the
importer gives it; :data:`LAYOUT` says what each of the eight layers holds, and the
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
- :meth:`~EstateStore.scenarios` and :meth:`~EstateStore._scenario_change`, which
  replaces or removes one: the scenarios users save (:data:`SCENARIO_COLUMNS`; the
  interface's ``save_scenario`` and ``remove_scenario`` call it), one transaction each.
  Names are unique per owner: another agency's scenario of the same name is neither
  refused nor told of.

- the space exchange's tables (:data:`EXCHANGE_LAYOUT`): :meth:`~EstateStore.exchange`
  reads one, :meth:`~EstateStore.exchange_write` writes one move
  (:class:`ExchangeChange`: rows at an expected version, and edits written through to
  sites or requests) and :meth:`~EstateStore.complete_match` the one move that changes
  two agencies' rows; see :mod:`assetmap.exchange` for what they mean.
  :meth:`~EstateStore._put_exchange` puts rows in as they are, for ``store copy``
  (:meth:`~EstateStore.put_exchange_rows` checks them first).

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

import datetime
import functools
import json
import math
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import ConflictError, InvalidArgumentError, StoreError
from ..schema import QUARANTINE_COLUMNS, REQUEST_COLUMNS, SITE_COLUMNS, precision_from_source

__all__ = [
    "AMENDMENT_COLUMNS",
    "BOUNDARY_SET_COLUMNS",
    "EDITABLE_FIELDS",
    "EDIT_COLUMNS",
    "EXCHANGE_LAYOUT",
    "EXCHANGE_NOUNS",
    "IMPORT_LOG_COLUMNS",
    "INTEREST_COLUMNS",
    "LAYOUT",
    "LOCK_TIMEOUT_S",
    "MATCH_COLUMNS",
    "MAX_SCENARIO_MOVES",
    "MAX_SCENARIO_NAME",
    "OFFER_COLUMNS",
    "OFFER_SITE_COLUMNS",
    "PER_SOURCE",
    "PLACE_COLUMNS",
    "ROW_IDS",
    "SCENARIO_COLUMNS",
    "SHARED_KEY_COLUMNS",
    "EstateStore",
    "ExchangeChange",
    "SharedGroups",
    "SourceUpdate",
    "boundary_rows",
    "changed_first",
    "check_exchange_change",
    "check_own_scenario",
    "check_owned_name",
    "conform",
    "differs",
    "exchange_columns",
    "join_provenance",
    "no_such_scenario",
    "normal_name",
    "own_scenarios",
    "owned",
    "pick_owner",
    "place_row",
    "plain_value",
    "refuse_stored_keys",
    "scenario_row",
    "settle_shared_groups",
    "source_keys",
    "standing_amendment",
    "value_text",
    "when_text",
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

#: The scenarios users save (:mod:`assetmap.scenarios`): one row per scenario, its moves as
#: JSON. ``shared`` is ``"yes"`` when every agency may see it (no move names a restricted
#: site), else ``""``: only its own agency sees it. Names are unique per owner: another
#: agency's scenario of the same name is neither refused nor told of.
SCENARIO_COLUMNS: dict[str, str] = {
    "name": "str",
    "author": "str",
    "agency": "str",
    "created_at": "str",
    "moves": "str",
    "shared": "str",
    "owner": "str",
}
#: The most moves a saved scenario may hold, and the longest name (characters).
MAX_SCENARIO_MOVES = 2_000
MAX_SCENARIO_NAME = 200

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
    "scenarios": (SCENARIO_COLUMNS, None),
}

#: The space exchange's offers: spare space, or a whole site declared surplus for disposal,
#: one row per offer. An offer names no site: which site it is on is kept apart, in
#: ``offer_sites``, so that an offer its agency marked open on a restricted site shows
#: without the site. ``owner`` is the site's source's owner (who may change the offer);
#: ``agency`` and ``sector`` the site's. ``sqft`` mirrors the site's ``surplus_sqft``.
OFFER_COLUMNS: dict[str, str] = {
    "offer_id": "str",  # "O" + 16 hex digits
    "kind": "str",  # "space" or "disposal"
    "owner": "str",
    "agency": "str",
    "sector": "str",
    "sqft": "float64",
    "use": "str",
    "available_from": "str",  # ISO date or ""
    "available_until": "str",
    "terms": "str",
    "contact": "str",
    "open": "str",  # "yes": shown to every agency even when its site is restricted
    "area": "str",  # the local authority district the site is in (what an open offer shows)
    "state": "str",  # space: open, withdrawn, taken; disposal: first refusal, open sale, withdrawn
    "declared_on": "str",  # ISO date the offer was made (a disposal's window starts)
    "created_at": "str",  # ISO 8601, UTC
    "created_by": "str",
    "updated_at": "str",
    "updated_by": "str",
    "version": "int64",  # 1 when made; each change adds 1
}
#: Which site each offer is on: seen only by those who may see the site, or own it.
OFFER_SITE_COLUMNS: dict[str, str] = {
    "offer_id": "str",
    "site_id": "str",
    "source_file": "str",
    "source_owner": "str",
    "version": "int64",
}
#: The exchange's matches: space of an offer for a request, moved through
#: proposed -> offered -> accepted -> completed (or declined, withdrawn).
#: ``holder`` is the site's agency, ``requester`` the request's; the site is named only
#: when the proposer could see it (``site_*`` are ``""`` for an open offer on a
#: restricted site: ``offer_sites`` says which).
MATCH_COLUMNS: dict[str, str] = {
    "match_id": "str",  # "M" + 16 hex digits
    "offer_id": "str",  # an app offer's id, or a register offer's ("R" + 16 hex digits)
    "site_id": "str",
    "site_file": "str",
    "site_owner": "str",
    "request_id": "str",
    "request_file": "str",
    "request_owner": "str",
    "holder": "str",
    "requester": "str",
    "sqft": "float64",
    "state": "str",
    "proposed_by": "str",  # "plan", "candidates" or "person"
    "note": "str",
    "created_at": "str",
    "created_by": "str",
    "updated_at": "str",
    "updated_by": "str",
    "version": "int64",
}
#: Corrections to a site's (or request's) record by its own agency: the row, the field,
#: the value before and after (text; numbers as :func:`value_text` writes them).
AMENDMENT_COLUMNS: dict[str, str] = {
    "amendment_id": "str",  # "A" + 16 hex digits
    "layer": "str",  # "sites" or "requests"
    "row_id": "str",  # the site_id or request_id
    "source_file": "str",
    "source_owner": "str",
    "field": "str",
    "old": "str",
    "new": "str",
    "agency": "str",
    "by": "str",
    "at": "str",
    "reason": "str",
    "state": "str",  # "standing" or "withdrawn"
    "version": "int64",
}
#: Expressions of interest in a site declared surplus for disposal (first refusal).
INTEREST_COLUMNS: dict[str, str] = {
    "interest_id": "str",  # "I" + 16 hex digits
    "offer_id": "str",
    "agency": "str",
    "by": "str",
    "at": "str",
    "note": "str",
    "version": "int64",
}
#: The exchange's tables: columns, and the key column each row is found by.
EXCHANGE_LAYOUT: dict[str, tuple[dict[str, str], str]] = {
    "offers": (OFFER_COLUMNS, "offer_id"),
    "offer_sites": (OFFER_SITE_COLUMNS, "offer_id"),
    "matches": (MATCH_COLUMNS, "match_id"),
    "amendments": (AMENDMENT_COLUMNS, "amendment_id"),
    "interest": (INTEREST_COLUMNS, "interest_id"),
}
#: The id column of the rows of each layer an exchange edit may write.
ROW_IDS = {"sites": "site_id", "requests": "request_id"}
#: The fields of a site or request an exchange change may write (:class:`ExchangeChange`).
EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "sites": (
        "floor_area_sqft",
        "running_cost_gbp",
        "tenure",
        "lease_expiry",
        "use",
        "use_class",
        "sensitivity",
        "surplus_sqft",
    ),
    "requests": ("space_needed_sqft", "use", "use_class", "max_distance_m", "needed_by"),
}
#: The columns of :attr:`ExchangeChange.edits`.
EDIT_COLUMNS = ("layer", "source_owner", "source_file", "row_id", "field", "value")


def value_text(value: object) -> str:
    """Return a field's value as an amendment keeps it: numbers without a needless ``.0``.

    ``""`` for a missing value; a float as its shortest decimal (``40000``, ``12.5``),
    as PostgreSQL's ``float8::text`` gives it; text as it is.

    Examples
    --------
    >>> value_text(40000.0), value_text(12.5), value_text(float("nan")), value_text("leasehold")
    ('40000', '12.5', '', 'leasehold')
    """
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return np.format_float_positional(float(value), trim="-")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def plain_value(value: Any) -> Any:
    """Return a frame's value as plain Python: numpy numbers as Python's, NaN as ``None``.

    What a database driver sends and JSON writes.

    Examples
    --------
    >>> plain_value(np.int64(3)), plain_value(float("nan")), plain_value("a")
    (3, None, 'a')
    """
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def standing_amendment(
    *,
    layer: str,
    row_id: str,
    source_file: str,
    source_owner: str,
    field: str,
    old: str,
    new: str,
    agency: str,
    by: str,
    at: str,
    reason: str = "",
) -> dict[str, object]:
    """Return a new standing amendment (:data:`AMENDMENT_COLUMNS`): version 1, a new id.

    The one shape of the row the engine (:mod:`assetmap.exchange._rows`) and the
    GeoPackage store's completion of a match both write; ``old`` and ``new`` as
    :func:`value_text` writes them.
    """
    return {
        "amendment_id": "A" + secrets.token_hex(8),
        "layer": layer,
        "row_id": row_id,
        "source_file": source_file,
        "source_owner": source_owner,
        "field": field,
        "old": old,
        "new": new,
        "agency": agency,
        "by": by,
        "at": at,
        "reason": reason,
        "state": "standing",
        "version": 1,
    }


@dataclass
class ExchangeChange:
    """One move of the space exchange, written in one transaction or not at all.

    Attributes
    ----------
    writer
        The owner the change is written as: a site's source's owner for offers,
        ``offer_sites``, amendments and edits; the moving agency for matches and
        interest. A signed-in viewer writes only as their own agency (the PostGIS
        store's row-level security refuses anything else).
    rows
        Exchange table name (:data:`EXCHANGE_LAYOUT`) to rows to insert or update,
        found by the table's key. Each row carries its new ``version``: 1 for a new
        row (the key must not be stored yet), else the stored version plus one. A
        row stored at any other version, or a new row whose key is taken, means
        someone changed it first: :class:`~assetmap.errors.ConflictError`, nothing written.
    edits
        Writes through to stored sites or requests (:data:`EDIT_COLUMNS`): each
        names one row by ``layer``, ``source_owner``, ``source_file`` and ``row_id``
        (its ``site_id`` or ``request_id``), a ``field`` of :data:`EDITABLE_FIELDS`
        and its new ``value`` as text (``""``: missing); numbers are converted to the
        column's type. An edit whose row is not stored (or not the writer's) raises
        :class:`~assetmap.errors.ConflictError`, nothing written.
    """

    writer: str
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    edits: pd.DataFrame | None = None


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
    def scenarios(self) -> pd.DataFrame:
        """Return the saved scenarios, oldest first, with :data:`SCENARIO_COLUMNS`.

        The GeoPackage store gives every row (the engine filters them:
        :func:`assetmap.scenarios.visible_scenarios`); the PostGIS store the rows its
        viewer may see (its own agency's, and the shared ones).
        """

    def save_scenario(self, row: Mapping[str, Any], *, owner: str = "") -> None:
        """Keep a scenario: ``name``, ``author``, ``agency``, ``created_at``, ``moves``, ``shared``.

        One transaction: ``owner``'s scenario of the same name (compared without
        regard to case or spacing) is replaced. Another owner's of that name is left
        alone: names are unique per owner, so a name never tells of another
        agency's scenario.
        """
        rows = scenario_row(row, owner)
        self._scenario_change(rows["name"].iloc[0], owner, rows)

    def remove_scenario(self, name: str, *, owner: str = "") -> int:
        """Remove ``owner``'s scenario ``name``; return the scenarios removed.

        Raises
        ------
        StoreError
            If ``owner`` has no scenario of that name.
        """
        return self._scenario_change(normal_name(name, "the scenario's"), owner, None)

    @abstractmethod
    def _scenario_change(self, name: str, owner: str, rows: pd.DataFrame | None) -> int:
        """Replace (``rows`` given) or remove ``owner``'s scenario ``name``; return rows removed.

        One transaction. Removing a scenario ``owner`` does not have raises a
        :class:`StoreError` (:func:`check_own_scenario`).
        """

    @abstractmethod
    def _named(
        self, layer: str, what: str, name: str, owner: str | None, rows: pd.DataFrame | None
    ) -> int:
        """Replace (``rows`` given) or remove ``owner``'s named set or place ``name``.

        ``layer`` is ``boundary_sets`` or ``places``; ``what`` names it in messages.
        One transaction, under :func:`check_owned_name`'s rule; returns the rows removed.
        """

    # the space exchange -------------------------------------------------------
    @abstractmethod
    def exchange(self, table: str) -> pd.DataFrame:
        """Return an exchange table (:data:`EXCHANGE_LAYOUT`) with its columns, oldest first.

        The GeoPackage store gives every row (the engine filters them: see
        :mod:`assetmap.exchange`); the PostGIS store the rows its viewer may see.
        """

    @abstractmethod
    def exchange_write(self, change: ExchangeChange, *, shared: SharedGroups | None = None) -> None:
        """Write one exchange move (see :class:`ExchangeChange`), in one transaction.

        Serialised with every other writer, as :meth:`replace_source` is, and the
        store's :meth:`version` changes. When an edit changes a site's
        ``sensitivity`` and ``shared`` is given, the ``shared_group`` of the sites
        sharing a UPRN or compact postcode with it is settled again, as after an
        import near them (a site made restricted must not leave a flag behind).

        Raises
        ------
        ConflictError
            A row is not at the version the change expects, or an edit's row is gone.
        """

    @abstractmethod
    def complete_match(self, match_id: str, *, version: int, agency: str, by: str, at: str) -> None:
        """Complete an accepted match: the space moves, in one transaction.

        The one exchange move that writes both agencies' rows. ``agency`` must be
        the match's holder or requester (compared by :func:`assetmap.access.agency_key`)
        and the match ``accepted`` at ``version``. Then, together:

        - the offer's site (the match's ``site_*``, else its ``offer_sites`` row) has
          ``surplus_sqft`` reduced by the match's ``sqft`` (refused if less is left);
        - the request (``request_*``) has ``space_needed_sqft`` reduced by it, to 0 at least;
        - an app offer of that ``offer_id`` has ``sqft`` reduced by it, ``state``
          ``taken`` when none is left, and its version raised;
        - two ``standing`` amendments record them (``reason`` ``"match <id> completed"``,
          ``agency`` the holder's and the requester's, ``by`` and ``at`` as given);
        - the match becomes ``completed`` at ``version + 1``.

        Raises
        ------
        ConflictError
            The match is not accepted at ``version`` (the message gives its state), or
            the site has less spare space left than the match moves, or a row is gone.
        PermissionDeniedError
            ``agency`` is neither the holder nor the requester.
        """

    def put_exchange_rows(self, rows: dict[str, pd.DataFrame]) -> int:
        """Insert exchange rows as they are, values and versions; return how many.

        What ``store copy`` writes: every agency's rows, each at the version it was
        copied at (so a match copied at version 3 is moved on at version 3), unlike
        :meth:`exchange_write`, which writes one agency's move. One transaction,
        inserting rows whose keys the store does not hold yet, in the order given; a
        database only as its owner role (whose policies keep every agency's rows).

        Parameters
        ----------
        rows
            Exchange table name (:data:`EXCHANGE_LAYOUT`) to its rows, each with its
            key and a ``version`` (a whole number from 1).

        Raises
        ------
        InvalidArgumentError
            A table the exchange does not have, a row without its key, a key given
            twice, or a version that is not a whole number from 1.
        ConflictError
            A key the store holds already (:func:`refuse_stored_keys`); nothing written.
        StoreError
            A database opened as a role that cannot keep every agency's rows.
        """
        if not isinstance(rows, dict):
            raise InvalidArgumentError(
                f"rows={rows!r} is not valid; expected a dict of exchange table names to DataFrames"
            )
        check_exchange_change(ExchangeChange("", rows=rows))
        kept = {
            table: conform(frame, EXCHANGE_LAYOUT[table][0])
            for table, frame in rows.items()
            if len(frame)
        }
        return self._put_exchange(kept) if kept else 0

    @abstractmethod
    def _put_exchange(self, rows: dict[str, pd.DataFrame]) -> int:
        """Insert checked, conformed exchange rows as they are (:meth:`put_exchange_rows`).

        One transaction, serialised with every exchange move: first every key the
        store holds already is refused at once (:func:`refuse_stored_keys`), then the
        rows are appended in the order given; returns the rows written.
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


def scenario_row(row: Mapping[str, Any], owner: str) -> pd.DataFrame:
    """Return a scenario as the store keeps it: one row of :data:`SCENARIO_COLUMNS`.

    Raises
    ------
    InvalidArgumentError
        Listing every problem: no name or too long a name, moves that are not a JSON
        list, or too many moves.
    """
    problems = []
    try:
        name = normal_name(row.get("name"), "the scenario's")
    except InvalidArgumentError as error:
        problems.append(str(error))
        name = ""
    if len(name) > MAX_SCENARIO_NAME:
        problems.append(f"the scenario's name is longer than {MAX_SCENARIO_NAME} characters")
    moves = row.get("moves", "[]")
    try:
        listed = json.loads(moves) if isinstance(moves, str) else None
    except (ValueError, RecursionError):  # nested deeper than Python's recursion limit
        listed = None
    if not isinstance(listed, list):
        problems.append("the scenario's moves are not a list (JSON text)")
    elif len(listed) > MAX_SCENARIO_MOVES:
        problems.append(
            f"the scenario has {len(listed):,} moves; a scenario may hold {MAX_SCENARIO_MOVES:,}"
        )
    if problems:
        raise InvalidArgumentError("the scenario cannot be saved: " + "; ".join(problems))
    values = {c: str(row.get(c, "") or "") for c in SCENARIO_COLUMNS}
    values.update(name=name, owner=owner, shared="yes" if values["shared"] == "yes" else "")
    return pd.DataFrame({c: [v] for c, v in values.items()})


def _same_owner(a: object, b: object) -> bool:
    """Whether two owners are one agency (:func:`assetmap.access.agency_key`: case, spacing)."""
    from ..access import agency_key

    return agency_key(a) == agency_key(b)


def own_scenarios(name: str, owner: str, taken: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the stored (name, owner) pairs of ``owner``'s scenario ``name``.

    Owners are compared as agencies are (``"KENT  police"`` is ``"Kent Police"``), names
    without regard to case: one agency has one scenario of a name, however its officers'
    sign-in spells it.
    """
    key = name.casefold()
    return [(n, o) for n, o in taken if _same_owner(o, owner) and n.casefold() == key]


def check_own_scenario(name: str, owner: str, taken: list[tuple[str, str]]) -> str:
    """Return the stored name of ``owner``'s scenario ``name``, ``""`` when it has none.

    ``taken`` is every stored (name, owner) pair; only ``owner``'s agency's are looked at.
    """
    found = own_scenarios(name, owner, taken)
    return found[0][0] if found else ""


def no_such_scenario(name: str, owner: str, taken: list[tuple[str, str]]) -> StoreError:
    """Return the error of removing a scenario ``owner`` does not have (naming only theirs)."""
    names = sorted({n for n, o in taken if _same_owner(o, owner)}, key=str.casefold)
    return StoreError(
        f"there is no scenario named {name!r} of yours in the store; yours are: "
        + (", ".join(names) or "none")
    )


# ---------------------------------------------------------------- the exchange's checks
# (both stores check a change, and word a row changed first, the same way)

#: What a row of each exchange table is called in a message.
EXCHANGE_NOUNS = {
    "offers": "Offer",
    "offer_sites": "The site of offer",
    "matches": "Match",
    "amendments": "Amendment",
    "interest": "Expression of interest",
}
#: The columns an edit may write, with their types, by layer.
_EDITED = {
    "sites": {f: SITE_COLUMNS[f] for f in EDITABLE_FIELDS["sites"]},
    "requests": {f: REQUEST_COLUMNS[f] for f in EDITABLE_FIELDS["requests"]},
}


def exchange_columns(table: object) -> dict[str, str]:
    """Return the columns of an exchange table.

    Raises
    ------
    InvalidArgumentError
        If ``table`` is not one of :data:`EXCHANGE_LAYOUT`.
    """
    if not isinstance(table, str) or table not in EXCHANGE_LAYOUT:
        raise InvalidArgumentError(
            f"table={table!r} is not valid; expected one of {', '.join(EXCHANGE_LAYOUT)}"
        )
    return EXCHANGE_LAYOUT[table][0]


def check_exchange_change(change: object) -> list[tuple[str, str, str, str, str, Any]]:
    """Check a change's tables, keys, versions and edits; return its edits, values converted.

    Every problem is collected and raised once, before the store is touched.

    Returns
    -------
    list of tuple
        ``(layer, source_owner, source_file, row_id, field, value)`` of each edit, its
        value as the column's type (``None``: missing).

    Raises
    ------
    InvalidArgumentError
        A table or field the exchange does not have, a row without its key, a key
        given twice, a version that is not a whole number from 1, or a value that is
        not of the column's type.
    """
    if not isinstance(change, ExchangeChange):
        raise InvalidArgumentError(
            f"change={change!r} is not valid; expected an assetmap.store.interface.ExchangeChange"
        )
    problems: list[str] = []
    if not isinstance(change.writer, str):
        problems.append(f"writer={change.writer!r} is not valid; expected the owner's name")
    for table, frame in (change.rows or {}).items():
        if table not in EXCHANGE_LAYOUT:
            problems.append(
                f"rows of {table!r} are not valid; expected rows of {', '.join(EXCHANGE_LAYOUT)}"
            )
            continue
        problems += _exchange_row_problems(table, frame)
    edits = _checked_edits(change.edits, problems)
    if problems:
        raise InvalidArgumentError("; ".join(problems))
    return edits


def _exchange_row_problems(table: str, frame: object) -> list[str]:
    """Return what is wrong with the rows given for one table (none: ``[]``)."""
    if not isinstance(frame, pd.DataFrame):
        return [f"rows of {table!r} are not valid; expected a DataFrame"]
    key = EXCHANGE_LAYOUT[table][1]
    problems = [
        f"rows of {table!r} have no {column!r} column"
        for column in (key, "version")
        if column not in frame.columns
    ]
    if problems or not len(frame):
        return problems
    ids = frame[key].astype("str").str.strip()
    if ids.isin(["", "nan", "None"]).any() or frame[key].isna().any():
        problems.append(f"rows of {table!r} have a row without its {key}")
    if ids.duplicated().any():
        twice = ", ".join(sorted(set(ids[ids.duplicated()])))
        problems.append(f"rows of {table!r} give {key} {twice} twice")
    versions = pd.to_numeric(frame["version"], errors="coerce")
    if versions.isna().any() or (versions < 1).any() or (versions % 1 != 0).any():
        problems.append(f"rows of {table!r} have a version that is not a whole number from 1")
    return problems


def _checked_edits(edits: object, problems: list[str]) -> list[tuple[str, str, str, str, str, Any]]:
    """Return the edits with their values converted, noting each problem in ``problems``."""
    if edits is None:
        return []
    if not isinstance(edits, pd.DataFrame):
        problems.append(
            f"edits={edits!r} is not valid; expected a DataFrame of {', '.join(EDIT_COLUMNS)}"
        )
        return []
    missing = [c for c in EDIT_COLUMNS if c not in edits.columns]
    if missing:
        problems.append(f"the edits have no {', '.join(missing)} column")
        return []
    checked = []
    for edit in conform(edits, dict.fromkeys(EDIT_COLUMNS, "str")).itertuples(index=False):
        layer, owner, source, row_id, field, text = edit
        if field not in EDITABLE_FIELDS.get(layer, ()):
            problems.append(
                f"an edit of {field!r} of {layer!r} is not valid; expected a field of "
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in EDITABLE_FIELDS.items())
            )
            continue
        try:
            value = _typed(text, _EDITED[layer][field])
        except ValueError:
            problems.append(f"an edit of {field} to {text!r} is not valid; expected a number or ''")
            continue
        checked.append((layer, owner, source, row_id, field, value))
    return checked


def _typed(text: str, dtype: str) -> Any:
    """Return an edit's text as the column's type (``None``: missing; ValueError: not one)."""
    if dtype == "str":
        return text or None  # empty text is stored as NULL
    if not text.strip():
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return int(value) if dtype == "int64" else value


def changed_first(table: str, what: str, now: Mapping[str, Any]) -> str:
    """Return what happened to a row someone changed first: who, when, and its state now.

    ``what`` names the row (``"Match M1..."``); ``now`` is the row as stored.
    """
    state, who = now.get("state") or "", now.get("updated_by") or "someone"
    if table == "matches":
        return f"{what} was {state or 'changed'} by {who} at {when_text(now.get('updated_at'))}"
    if "updated_by" in now:
        return (
            f"{what} was changed by {who} at {when_text(now.get('updated_at'))} "
            f"(it is {state or 'changed'} now)"
        )
    return f"{what} was changed by someone else first" + (f" (it is {state} now)" if state else "")


def when_text(text: object) -> str:
    """Return a stored ISO time as ``2026-04-01 10:02:11 UTC`` (as it is, if not one)."""
    try:
        moment = datetime.datetime.fromisoformat(str(text))
    except ValueError:
        return str(text or "") or "an unknown time"
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")


def refuse_stored_keys(rows: dict[str, pd.DataFrame], stored: dict[str, set[str]]) -> None:
    """Refuse, at once, every row of ``rows`` whose key ``stored`` holds.

    The rule of :meth:`EstateStore.put_exchange_rows`.

    Raises
    ------
    ConflictError
        Naming each row the store holds already: nothing is written.
    """
    problems = []
    for table, frame in rows.items():
        key = EXCHANGE_LAYOUT[table][1]
        taken = [k for k in frame[key].astype("str") if k in stored.get(table, set())]
        if taken:
            problems.append(f"{EXCHANGE_NOUNS[table]} {', '.join(taken)} is in the store already")
    if problems:
        raise ConflictError("; ".join(problems) + "; nothing was copied.")
