"""The PostGIS store: one estate in a PostgreSQL database, for every agency at once.

:class:`PostGISStore` implements :class:`~assetmap.store.interface.EstateStore` over the
tables of :mod:`assetmap.store.postgis_schema` (the seven layers, with the same columns
as the GeoPackage store's, points and polygons in EPSG:27700 with GiST indexes).

- **Reads**: one ``REPEATABLE READ``, read-only transaction per call, so a read sees
  one committed state, in the order the rows were written (``fid``): sites, requests
  and site keys as Arrow through the ADBC driver (binary ``COPY``; points as x and y;
  a big table by two readers sharing one snapshot, :mod:`.postgis_io`),
  the others by ``COPY ... TO STDOUT`` as CSV, parsed by pyarrow. A read gives exactly
  the frame the GeoPackage store gives for the same imports.
- **Writes**: one transaction per import, removal, boundary set or place: the source's
  old rows deleted and the new ones copied in (``COPY ... FROM STDIN``, never row by
  row, :mod:`.postgis_copy`), so readers see the old state until the commit. Writers
  of different sources run at once; the same source is serialised by a
  transaction-scoped advisory lock, and the shared-site groups, which span agencies,
  are settled at the end of each write under one advisory lock, through the owner's
  ``set_shared_groups`` function
  (it may change only the ``shared_group`` of open sites near the writer's change: a
  site sharing a UPRN or compact postcode with the writer's rows, now or deleted by
  its transaction, migration 0003). Every write adds one to
  ``store_version``, which :meth:`PostGISStore.version` gives.
- **Row-level security**, the second wall behind :mod:`assetmap.access`: every
  transaction sets ``assetmap.agency`` (the viewer's agency, as compared) and a write
  sets ``assetmap.writer`` (the owner whose source it changes: the signed-in viewer's
  agency, or the owner the local single user names), and the database's policies give
  and take only those rows. The import log is read through the view ``imports_listed``:
  every source, with another agency's counts and report as NULL, except for the local
  single user (not signed in: ``assetmap.local``), who keeps every right, as with a
  GeoPackage store.

- **The space exchange** (:mod:`.postgis_exchange`, migration 0004): its five tables under
  row-level security of their own (an offer not marked open on a restricted site is seen
  by its own agency only; a match by its two parties), each move in one transaction, and
  completing a match through the owner's ``complete_match`` function.

The URL's password is never shown: :attr:`PostGISStore.location` and every message
give it as ``***``.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC

import geopandas as gpd
import numpy as np
import pandas as pd

from ..access import Viewer, agency_key
from ..errors import InvalidArgumentError, PermissionDeniedError, StoreError
from ..schema import (
    CRS_BNG,
    QUARANTINE_COLUMNS,
    REQUEST_COLUMNS,
    SITE_COLUMNS,
    empty_requests,
    empty_sites,
)
from ..settings import is_database_url
from . import interface
from .interface import (
    ARROW_TYPES,
    BOUNDARY_SET_COLUMNS,
    IMPORT_LOG_COLUMNS,
    LAYOUT,
    PLACE_COLUMNS,
    SCENARIO_COLUMNS,
    SHARED_KEY_COLUMNS,
    EstateStore,
    SharedGroups,
    SourceUpdate,
    check_own_scenario,
    check_owned_name,
    conform,
    differs,
    join_provenance,
    no_such_scenario,
    owned,
    pick_owner,
    settle_shared_groups,
)
from .postgis_copy import copy_chunks, copy_in
from .postgis_io import arrow_table, read_points
from .postgis_locks import SHARED_LOCK, lock_source
from .postgis_schema import (
    audit_fields,
    check_schema,
    connect,
    connect_arrow,
    is_owner,
    redact,
    scrub,
)

__all__ = ["PostGISStore"]


class PostGISStore(EstateStore):
    """The estate in a PostgreSQL database with PostGIS, shared by every agency.

    Parameters
    ----------
    url
        ``postgresql://ROLE:PASSWORD@HOST:PORT/DATABASE`` (or ``postgres://``): the app's
        role for the app and the command line, the owner's to copy or migrate.
    viewer
        Who is looking: the database gives this viewer's rows only (row-level
        security). ``None``: nobody's agency (open rows only).

    Examples
    --------
    >>> store = PostGISStore("postgresql://assetmap_app:***@db/estate")  # doctest: +SKIP
    >>> store.sites()  # doctest: +SKIP
    """

    def __init__(self, url: str, *, viewer: Viewer | None = None) -> None:
        problems = []
        if not isinstance(url, str) or not is_database_url(url):
            problems.append(
                f"url={redact(str(url))!r} is not valid; expected postgresql://ROLE@HOST/DATABASE"
            )
        if viewer is not None and not isinstance(viewer, Viewer):
            problems.append(f"viewer={viewer!r} is not valid; expected an assetmap.access.Viewer")
        if problems:
            raise InvalidArgumentError("; ".join(problems))
        self._url = url
        self.viewer = viewer
        self._checked = False
        self._owner = False  # whether the role is the tables' owner (it reads every row)

    def __repr__(self) -> str:
        """Return ``PostGISStore('<url, password as ***>')``."""
        return f"PostGISStore({self.location!r})"

    @property
    def location(self) -> str:
        """The database's URL, its password given as ``***``."""
        return redact(self._url)

    # connections -------------------------------------------------------------
    def _key(self) -> str:
        """Return the viewer's agency as compared (``""``: none)."""
        return self.viewer.key if self.viewer is not None else ""

    def _writer_key(self, owner: object) -> str:
        """Return the owner key a write for ``owner`` is made as.

        A signed-in viewer writes only as their own agency, whatever it names; the
        local single user as the owner named.
        """
        if self.viewer is not None and self.viewer.signed_in:
            return self.viewer.key
        return agency_key(owner)

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator:
        """Yield a cursor in one transaction: a consistent read-only one, or a write.

        Raises
        ------
        StoreError
            Any database error, in words, never with the password.
        """
        import psycopg

        conn = connect(self._url)
        try:
            if not self._checked:
                self._owner = is_owner(conn)
                check_schema(conn, self._url, owner=self._owner)
                self._checked = True
            if not write:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
            with conn.transaction(), conn.cursor() as cur:
                local = self.viewer is None or not self.viewer.signed_in
                cur.execute(
                    "SELECT set_config('assetmap.agency', %s, true), "
                    "set_config('assetmap.local', %s, true), "
                    "set_config('lock_timeout', %s, true)",
                    (
                        self._key(),
                        "on" if local else "off",
                        f"{int(interface.LOCK_TIMEOUT_S * 1000)}ms",
                    ),
                )
                yield cur
        except psycopg.errors.LockNotAvailable:
            raise StoreError(
                f"another import or removal is writing to the store {self.location} and has "
                f"not finished after {interface.LOCK_TIMEOUT_S:g} s; nothing was changed. "
                "Try again when it has finished"
            ) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(
                f"the store {self.location} refused the change: {scrub(str(exc), self._url)}. "
                "An agency may change only its own sources, boundary sets and places"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"the store {self.location} failed: {scrub(str(exc).strip(), self._url)}"
            ) from None
        finally:
            conn.close()

    @property
    def _log(self) -> str:
        """The import log as this role reads it: every source, its counts only if its own.

        The owner reads the table itself; the app's role the view ``imports_listed``,
        which gives another agency's source's counts, hash and report as NULL.
        """
        return "imports" if self._owner else "imports_listed"

    def _as_writer(self, cur, owner: object) -> None:
        """Make the rest of this write transaction one for ``owner``'s rows."""
        cur.execute("SELECT set_config('assetmap.writer', %s, true)", (self._writer_key(owner),))

    # reading ---------------------------------------------------------------
    def exists(self) -> bool:
        """Return whether the database holds an assetmap store (``store init`` was run)."""
        from .postgis_schema import schema_version

        with contextlib.closing(connect(self._url)) as conn:
            return schema_version(conn) is not None

    def sees_every_row(self) -> bool:
        """Return whether this store's role sees every agency's rows (the owner role's)."""
        with contextlib.closing(connect(self._url)) as conn:
            return is_owner(conn)

    def version(self) -> str:
        """Return the store's version: it changes on every committed write."""
        with self._transaction(write=False) as cur:
            cur.execute(
                "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()), "
                "counter FROM store_version"
            )
            row = cur.fetchone()
        return f"{row[0]}:{row[1]}"

    @contextlib.contextmanager
    def _arrow_read(self, *, snapshot: str = "") -> Iterator:
        """Yield an ADBC cursor (rows as Arrow, by binary ``COPY``) in one transaction.

        ``REPEATABLE READ``, read-only, the viewer's agency set, as :meth:`_transaction`;
        in the ``snapshot`` another such transaction exported, if given (it sees what
        that one sees).

        Raises
        ------
        StoreError
            Any database error, in words, never with the password.
        """
        import adbc_driver_manager

        if not self._checked:
            with self._transaction(write=False):
                pass
        local = self.viewer is None or not self.viewer.signed_in
        conn = connect_arrow(self._url)
        try:
            with contextlib.closing(conn.cursor()) as cur:
                cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                if snapshot:  # the server's own id, checked by postgis_io.read_points
                    cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                cur.execute(
                    "SELECT set_config('assetmap.agency', $1, true), "
                    "set_config('assetmap.local', $2, true)",
                    (self._key(), "on" if local else "off"),
                )
                cur.fetchall()
                yield cur
                cur.execute("COMMIT")
        except adbc_driver_manager.Error as exc:
            raise StoreError(
                f"the store {self.location} failed: {scrub(str(exc).strip(), self._url)}"
            ) from None
        finally:
            conn.close()

    def sites(self) -> gpd.GeoDataFrame:
        """Return every site the viewer may see, with :data:`SITE_COLUMNS`, in EPSG:27700."""
        with self._arrow_read() as cur:
            return self._points(cur, "sites", SITE_COLUMNS, empty_sites)

    def requests(self) -> gpd.GeoDataFrame:
        """Return every space request the viewer may see, with :data:`REQUEST_COLUMNS`."""
        with self._arrow_read() as cur:
            return self._points(cur, "requests", REQUEST_COLUMNS, empty_requests)

    def _points(self, cur, layer: str, columns: dict[str, str], empty) -> gpd.GeoDataFrame:
        # the log first: one snapshot (REPEATABLE READ), and the rows' points are made
        # while the server still sends them (postgis_io)
        log = _arrow_out(cur, self._log, IMPORT_LOG_COLUMNS)
        # a big table is read by two readers at once, in one snapshot
        frame, geometry = read_points(cur, layer, LAYOUT[layer][0], twin=self._arrow_read)
        if not len(frame):
            return empty()
        out = gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS_BNG)
        return gpd.GeoDataFrame(conform(join_provenance(out, log), columns), crs=CRS_BNG)

    def site_keys(self, *, site_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the key columns of every site, or of the sites of some ids (see EstateStore).

        Given ids are looked up in the index ``sites_site_id`` (migration 0002).
        """
        names = ["site_id", "source_file", "source_owner", "source_row", "agency", "sensitivity"]
        columns = {c: SITE_COLUMNS[c] for c in names}
        if site_ids is None:
            with self._arrow_read() as cur:
                frame = _arrow_out(cur, "sites", columns)
            return conform(frame, columns)
        with self._transaction(write=False) as cur:
            # site_id keeps no statistics: the planner, guessing a third of the sites,
            # would read them all (0.4 s a million) where the index finds a few; and
            # they are put in fid order here (in SQL, it walks the sites in that order)
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute(  # compared in the index's collation, "C", so that it is used
                f"SELECT fid, {', '.join(names)} FROM sites "
                'WHERE site_id COLLATE "C" = ANY(%s::text[])',
                ([str(i) for i in site_ids],),
            )
            found = cur.fetchall()
        if not found:
            return conform(pd.DataFrame(), columns)
        frame = pd.DataFrame(found, columns=["fid", *names]).sort_values("fid", kind="stable")
        return conform(frame.drop(columns="fid").reset_index(drop=True), columns)

    def footprints(self) -> gpd.GeoDataFrame:
        """Return the footprints of the sites the viewer may see: ``site_id`` and polygons."""
        with self._transaction(write=False) as cur:
            frame = _copy_out(cur, "footprints", {"site_id": "str"}, geometry="wkb")
        return _with_polygons(frame, {"site_id": "str"})

    def quarantine(self) -> pd.DataFrame:
        """Return the rejected rows of the viewer's own agency's sources."""
        with self._transaction(write=False) as cur:
            return conform(_copy_out(cur, "quarantine", QUARANTINE_COLUMNS), QUARANTINE_COLUMNS)

    def imports(self) -> pd.DataFrame:
        """Return the import log, one row per source in the store."""
        with self._transaction(write=False) as cur:
            return conform(_copy_out(cur, self._log, IMPORT_LOG_COLUMNS), IMPORT_LOG_COLUMNS)

    def boundary_sets(self) -> gpd.GeoDataFrame:
        """Return the areas of every boundary set users added (see EstateStore)."""
        with self._transaction(write=False) as cur:
            frame = _copy_out(cur, "boundary_sets", BOUNDARY_SET_COLUMNS, geometry="wkb")
        return _with_polygons(frame, BOUNDARY_SET_COLUMNS)

    def places(self) -> pd.DataFrame:
        """Return the named places users saved (see EstateStore)."""
        with self._transaction(write=False) as cur:
            return conform(_copy_out(cur, "places", PLACE_COLUMNS), PLACE_COLUMNS)

    def scenarios(self) -> pd.DataFrame:
        """Return the saved scenarios the viewer may see, oldest first (see EstateStore).

        Row-level security (migration 0005) gives its own agency's and the shared ones.
        """
        with self._transaction(write=False) as cur:
            cur.execute("SELECT to_regclass('scenarios') IS NOT NULL")
            if not cur.fetchone()[0]:  # a store not yet brought up to date
                return conform(pd.DataFrame(), SCENARIO_COLUMNS)
            return conform(_copy_out(cur, "scenarios", SCENARIO_COLUMNS), SCENARIO_COLUMNS)

    # writing ---------------------------------------------------------------
    def replace_source(self, update: SourceUpdate, *, shared: SharedGroups | None = None) -> None:
        """Replace everything a source brought with ``update``, in one transaction.

        See :meth:`EstateStore.replace_source`.
        """
        with self._transaction(write=True) as cur:
            owner = pick_owner(update.source_file, update.owner, [], removing=False)
            self._as_writer(cur, owner)
            lock_source(cur, owner, update.source_file)
            _delete_source(cur, update.source_file, owner)
            _write_update(cur, update, owner, shared)
            _bump(cur)

    def remove_source(
        self, source_file: str, *, owner: str | None = None, shared: SharedGroups | None = None
    ) -> int:
        """Remove a source and everything it brought; return the rows removed.

        See :meth:`EstateStore.remove_source`.
        """
        with self._transaction(write=True) as cur:
            cur.execute(f"SELECT source_owner, source_file FROM {self._log} ORDER BY fid")
            sources = [(str(o), str(n)) for o, n in cur.fetchall()]
            picked = pick_owner(source_file, owner, sources, removing=True)
            self._as_writer(cur, picked)
            lock_source(cur, picked, source_file)
            removed = _delete_source(cur, source_file, picked)
            if removed < 0:  # listed, but row-level security kept every row of it
                raise StoreError(
                    f"the store {self.location} refused the change: source_file="
                    f"{source_file!r} of {picked!r} is not yours to remove. An agency may "
                    "change only its own sources, boundary sets and places"
                )
            if shared is not None:
                _settle(cur, shared, picked, source_file)
            _bump(cur)
        return removed

    def _named(
        self, layer: str, what: str, name: str, owner: str | None, rows: pd.DataFrame | None
    ) -> int:
        """Replace (``rows`` given) or remove the set or place ``name``; return rows removed."""
        column = "set_name" if layer == "boundary_sets" else "name"
        with self._transaction(write=True) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (layer,))
            cur.execute(f'SELECT "{column}", "owner" FROM {layer} ORDER BY fid')
            taken = [(str(n), str(o)) for n, o in cur.fetchall()]
            stored = check_owned_name(name, owner, taken, what, removing=rows is None)
            removed = 0
            if stored:
                holder = next(o for n, o in taken if n == stored)
                self._as_writer(cur, holder)
                cur.execute(f'DELETE FROM {layer} WHERE "{column}" = %s', (stored,))
                removed = cur.rowcount
                if not removed:  # row-level security kept it: another agency's
                    raise StoreError(
                        f"the store {self.location} refused the change: the {what} "
                        f"{stored!r} is not yours to change. An agency may change only its "
                        "own sources, boundary sets and places"
                    )
            if rows is not None:
                self._as_writer(cur, owner)
                keyed = rows.assign(owner_key=agency_key(owner))
                copy_in(cur, layer, keyed, LAYOUT[layer][0], ("owner_key",))
            _bump(cur)
        return removed

    def _scenario_change(self, name: str, owner: str, rows: pd.DataFrame | None) -> int:
        """Replace (``rows`` given) or remove ``owner``'s scenario ``name``; return rows removed.

        A signed-in viewer of no agency changes none: their writer key would be ``""``,
        the key of the local single user's scenarios.
        """
        if self.viewer is not None and self.viewer.signed_in and not self.viewer.key:
            raise PermissionDeniedError(
                "you are signed in with no agency, so you cannot save or remove a scenario; "
                "ask your administrator to give your account an agency"
            )
        with self._transaction(write=True) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('scenarios', 0))")
            self._as_writer(cur, owner)
            key = self._writer_key(owner)
            cur.execute(
                'SELECT "name", "owner" FROM scenarios WHERE owner_key = %s ORDER BY fid', (key,)
            )
            taken = [(str(n), owner) for n, _ in cur.fetchall()]
            stored = check_own_scenario(name, owner, taken)
            if rows is None and not stored:
                raise no_such_scenario(name, owner, taken)
            removed = 0
            if stored:
                cur.execute(
                    'DELETE FROM scenarios WHERE "name" = %s AND owner_key = %s', (stored, key)
                )
                removed = cur.rowcount
            if rows is not None:
                copy_in(
                    cur, "scenarios", rows.assign(owner_key=key), SCENARIO_COLUMNS, ("owner_key",)
                )
            _bump(cur)
        return removed

    # the space exchange ----------------------------------------------------------
    def exchange(self, table: str) -> pd.DataFrame:
        """Return the rows of an exchange table the viewer may see, oldest first.

        See :meth:`EstateStore.exchange`; row-level security (migration 0004) gives
        only the rows the design's disclosure rules give the viewer.
        """
        columns = interface.exchange_columns(table)
        with self._transaction(write=False) as cur:
            return conform(_copy_out(cur, table, columns), columns)

    def exchange_write(
        self, change: interface.ExchangeChange, *, shared: SharedGroups | None = None
    ) -> None:
        """Write one exchange move in one transaction (see :meth:`EstateStore.exchange_write`)."""
        from . import postgis_exchange

        edits = interface.check_exchange_change(change)
        with self._transaction(write=True) as cur:
            self._as_writer(cur, change.writer)
            sensitive = postgis_exchange.write_edits(cur, edits)
            if shared is not None and sensitive is not None:  # the flags near those sites
                _settle_near(cur, shared, postgis_exchange.EDITED_SITES, sensitive)
            postgis_exchange.write_rows(cur, change)
            _bump(cur)

    def complete_match(self, match_id: str, *, version: int, agency: str, by: str, at: str) -> None:
        """Complete an accepted match, moving its space (see :meth:`EstateStore.complete_match`).

        Done by the database's ``complete_match`` function (migration 0004), as the
        writer ``agency`` (a signed-in viewer: only as their own agency).
        """
        from . import postgis_exchange

        postgis_exchange.check_completion(match_id, version=version, agency=agency, by=by, at=at)
        if self.viewer is not None and self.viewer.signed_in and agency_key(agency) != self._key():
            raise PermissionDeniedError(
                f"you are signed in as {self.viewer.agency or 'no agency'}, so you may "
                f"complete a match only as your own agency, not as {agency}; nothing changed."
            )
        with self._transaction(write=True) as cur:
            self._as_writer(cur, agency)
            postgis_exchange.complete(cur, match_id, version=version, by=by, at=at)
            _bump(cur)

    def _put_exchange(self, rows: dict[str, pd.DataFrame]) -> int:
        """Insert exchange rows as they are, as the owner role only (see EstateStore)."""
        from . import postgis_exchange

        if not self.sees_every_row():
            raise StoreError(
                f"the store {self.location} is not opened as the database's owner role, so "
                "it cannot keep every agency's exchange rows as they are; nothing was copied"
            )
        with self._transaction(write=True) as cur:
            written = postgis_exchange.put_rows(cur, rows)
            _bump(cur)
        return written

    # the audit log -------------------------------------------------------------
    def append_audit(self, entry: dict) -> None:
        """Append one entry to the store's ``audit_log`` table (see EstateStore)."""
        fields = audit_fields(entry)
        with self._transaction(write=True) as cur:
            self._as_writer(cur, fields["agency"])
            cur.execute(
                "INSERT INTO audit_log (time, usr, agency, signed_in, action, what, sha256, "
                "counts, agency_key) VALUES (coalesce(%s::timestamptz, now()), %s, %s, %s, %s, "
                "%s, %s, %s::jsonb, %s)",
                (
                    fields["time"],
                    fields["user"],
                    fields["agency"],
                    fields["signed_in"],
                    fields["action"],
                    fields["what"],
                    fields["sha256"],
                    json.dumps(fields["counts"]),
                    self._writer_key(fields["agency"]),
                ),
            )

    def audit_entries(self) -> list[dict]:
        """Return the audit log entries the viewer may see, oldest first (see EstateStore)."""
        with self._transaction(write=False) as cur:
            cur.execute(
                "SELECT time, usr, agency, signed_in, action, what, sha256, counts "
                "FROM audit_log ORDER BY id"
            )
            rows = cur.fetchall()
        return [
            {
                "time": row[0].astimezone(UTC).isoformat(timespec="seconds"),
                "user": row[1],
                "agency": row[2],
                "signed_in": bool(row[3]),
                "action": row[4],
                "what": row[5],
                "sha256": row[6],
                "counts": {str(k): int(v) for k, v in (row[7] or {}).items()},
            }
            for row in rows
        ]


# -------------------------------------------------------------------------- helpers


def _delete_source(cur, source_file: str, owner: str) -> int:
    """Delete every row of the source; return the sites and requests deleted.

    -1 when the source was not deleted from the import log (not there, or not the
    writer's to delete).
    """
    removed = 0
    _touch(cur)
    for table in ("footprints", "sites", "requests", "quarantine", "imports"):
        delete = f"DELETE FROM {table} WHERE source_owner = %s AND source_file = %s"
        if table == "sites":  # the UPRNs and postcodes removed, for the shared sites
            delete = (
                f"WITH gone AS (DELETE FROM sites WHERE {_of_source()} RETURNING uprn, "
                "postcode_key) INSERT INTO _touched SELECT uprn, postcode_key FROM gone"
            )
        cur.execute(delete, (owner, source_file))
        if table in ("sites", "requests"):
            removed += cur.rowcount
        elif table == "imports" and not cur.rowcount:
            return -1
    return removed


def _bump(cur) -> None:
    """Add one to the store's version: every write's last statement before its commit."""
    cur.execute("UPDATE store_version SET counter = counter + 1")


def _write_update(cur, update: SourceUpdate, owner: str, shared: SharedGroups | None) -> None:
    """Copy in what ``update`` brings, stamped with ``owner``; settle the shared sites."""
    layer = update.layer
    columns = LAYOUT[layer][0]
    chunks = [update.rows] if isinstance(update.rows, pd.DataFrame) else update.rows
    copy_chunks(
        cur,
        layer,
        (_keyed(owned(conform(chunk, columns, points=True), owner), owner) for chunk in chunks),
        columns,
        ("agency_key", "owner_key"),
    )
    if shared is not None and layer == "sites":
        _settle(cur, shared, owner, update.source_file)
    if update.footprints is not None and len(update.footprints):
        fp = update.footprints
        prints = gpd.GeoDataFrame(
            {
                "site_id": fp["site_id"].astype("str").to_numpy(),
                "source_file": update.source_file,
                "source_owner": owner,
                "owner_key": agency_key(owner),
            },
            geometry=fp.geometry.to_numpy(),
            crs=CRS_BNG,
        )
        extra = ("source_file", "source_owner", "owner_key")
        copy_in(cur, "footprints", prints, {"site_id": "str"}, extra)
        cur.execute(
            "UPDATE footprints f SET sensitivity = coalesce(s.sensitivity, ''), "
            "agency_key = s.agency_key FROM sites s WHERE "
            + _of_source("s")
            + " AND f.source_owner = %s AND f.source_file = %s AND s.site_id = f.site_id",
            (owner, update.source_file, owner, update.source_file),
        )
    quarantine = owned(conform(update.quarantine, QUARANTINE_COLUMNS), owner)
    quarantine = quarantine.assign(owner_key=agency_key(owner))
    copy_in(cur, "quarantine", quarantine, QUARANTINE_COLUMNS, ("owner_key",))
    log = owned(conform(pd.DataFrame([update.log]), IMPORT_LOG_COLUMNS), owner)
    copy_in(cur, "imports", _keyed(log, owner), IMPORT_LOG_COLUMNS, ("agency_key", "owner_key"))


def _keyed(rows: pd.DataFrame, owner: str) -> pd.DataFrame:
    """Return rows with ``agency_key`` (of each row's agency) and ``owner_key`` added."""
    codes, agencies = pd.factorize(rows["agency"].astype("str"))
    keys = np.array([agency_key(a) for a in agencies] + [""], dtype=object)
    return rows.assign(agency_key=keys[codes], owner_key=agency_key(owner))


def _settle(cur, shared: SharedGroups, owner: str, source_file: str) -> None:
    """Settle the shared-site groups the change of one source can alter, one writer at a time.

    A site's group depends only on the sites that share its UPRN or postcode, so the
    groups are settled over the sites *near* the change (those sharing a UPRN or
    postcode with a row the change removed, in ``_touched``, or with the source's
    rows now) and their own UPRN and postcode peers, and set on the near ones: not
    over the whole estate (:func:`assetmap.registers.shared_sites.shared_groups`
    gives them exactly the groups it gives them in the whole estate). A change of
    ``_WHOLE`` sites or more asks the database instead for every site that can be in
    a group at all (one whose UPRN or compact postcode two holders or more give, or
    that has a group now: :data:`_CANDIDATES`, the near ones marked), which costs far
    less than looking so many peers up twice or reading the whole estate. The sites are
    read after the lock is taken, so they include every import committed before; a
    site another writer holds (a source being replaced) is skipped, and settled by
    that writer or the next.
    """
    _settle_near(
        cur,
        shared,
        "SELECT uprn, postcode_key FROM sites WHERE " + _of_source(),
        (owner, source_file),
    )


def _settle_near(cur, shared: SharedGroups, touched: str, params: Sequence[object]) -> None:
    """Settle the shared-site groups near the sites ``touched`` selects (see :func:`_settle`).

    ``touched`` is a query of ours giving the ``uprn`` and ``postcode_key`` of the sites
    changed (with ``params``): a source's rows (an import), or the sites an exchange
    edit changed (:mod:`.postgis_exchange`).
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (SHARED_LOCK,))
    _touch(cur)
    cur.execute("INSERT INTO _touched " + touched, tuple(params))
    keys = {"fid": "int64", **{c: "str" for c in SHARED_KEY_COLUMNS}}
    cur.execute("ANALYZE _touched")  # so that a few keys are looked up in the indexes
    cur.execute("SELECT count(*) FROM _touched")
    if cur.fetchone()[0] >= _WHOLE:  # a big change: every candidate, not its peers looked up
        stored = _copy_out(cur, _CANDIDATES, {**keys, "_near": "int64"})
        near = stored.pop("_near").to_numpy() == 1
        stored = conform(stored, keys)
    else:
        # the estate's columns have no statistics (0001), so the planner cannot know that
        # a few keys find a few sites: it would hash every site, twice. Index lookups in
        # nested loops (1.1 s -> 0.04 s for 1,000 keys among a million), and no compiling
        # of the plan, which costs more than a few lookups.
        cur.execute(f"SELECT {_LOOKUPS % {'on': 'off'}}, set_config('jit', 'off', true)")
        cur.execute(
            "CREATE TEMP TABLE _near ON COMMIT DROP AS SELECT fid, uprn, postcode_key AS pc "
            f"FROM sites WHERE fid IN ({_PEERS % {'t': '_touched'}})"
        )
        cur.execute("ANALYZE _near")
        where = f"WHERE fid IN ({_PEERS % {'t': '_near'}})"
        stored = conform(_copy_out(cur, "sites", keys, where=where), keys)
        cur.execute("SELECT fid FROM _near")
        near = stored["fid"].isin([row[0] for row in cur.fetchall()]).to_numpy()
        cur.execute(f"SELECT {_LOOKUPS % {'on': 'on'}}")
    settled = settle_shared_groups(shared, None, stored)  # called even with no sites
    if settled is None:
        return
    groups = settled[1]
    changed = differs(groups, stored["shared_group"]) & near
    if changed.any():
        cur.execute(
            "SELECT set_shared_groups(%s, %s)",
            (stored["fid"].to_numpy()[changed].tolist(), groups[changed].tolist()),
        )


#: The sites a change touches from which its shared groups are settled over every site.
_WHOLE = 50_000
#: A site is open to the row-level rule as the database tells it: never stricter than
#: :func:`assetmap.access.is_restricted` (which also strips tabs), so the candidates
#: below are never fewer than the sites that can be in a group.
_OPEN = "lower(btrim(coalesce(sensitivity, ''))) <> 'restricted'"
#: Every site that can be in a shared group after the change, ``_near`` 1 where it shares
#: a UPRN or (compact) postcode with a touched row: a site whose UPRN or compact postcode
#: two holders or more give (a holder is its sector and agency as written, never fewer
#: than :func:`assetmap.registers.shared_sites.shared_groups`'s), with every site of
#: those keys, so each group is settled exactly; and every site with a group now, which
#: may lose it. Any other site's group is "" over the whole estate too. Joins, hashed:
#: an ``IN (SELECT ...)`` of a million keys is a loop over them.
_CANDIDATES = (
    "(SELECT s.*, (u.uprn IS NOT NULL OR p.pc IS NOT NULL)::int AS _near FROM sites s "
    "LEFT JOIN (SELECT DISTINCT uprn FROM _touched WHERE uprn <> '') u ON u.uprn = s.uprn "
    "LEFT JOIN (SELECT DISTINCT pc FROM _touched WHERE pc <> '') p "
    "ON p.pc = s.postcode_key "
    "LEFT JOIN (SELECT uprn FROM sites WHERE uprn <> '' AND " + _OPEN + " GROUP BY uprn "
    "HAVING count(DISTINCT (coalesce(sector, ''), coalesce(agency, ''))) > 1) cu "
    "ON cu.uprn = s.uprn "
    "LEFT JOIN (SELECT postcode_key AS pc FROM sites WHERE postcode_key <> '' AND "
    + _OPEN
    + " GROUP BY 1 HAVING count(DISTINCT (coalesce(sector, ''), coalesce(agency, ''))) > 1) cp "
    "ON cp.pc = s.postcode_key "
    "WHERE cu.uprn IS NOT NULL OR cp.pc IS NOT NULL OR s.shared_group <> '') AS candidates"
)
#: The planner's hash and merge joins, off (the settlement's lookups) and on again.
_LOOKUPS = (
    "set_config('enable_hashjoin', '%(on)s', true), set_config('enable_mergejoin', '%(on)s', true)"
)
#: The sites sharing a UPRN or (compact) postcode with a row of the table named (in the
#: "C" collation of their indexes, 0002_site_ids.sql).
_PEERS = (
    "SELECT s.fid FROM sites s JOIN (SELECT DISTINCT uprn FROM %(t)s WHERE uprn <> '') k "
    'ON s.uprn COLLATE "C" = k.uprn UNION SELECT s.fid FROM sites s JOIN (SELECT DISTINCT pc '
    "FROM %(t)s WHERE pc <> '') k ON s.postcode_key COLLATE \"C\" = k.pc"
)


def _of_source(alias: str = "") -> str:
    """Return the SQL condition for the sites of one source (owner, then name, as parameters).

    In the "C" collation of its index (0002_site_ids.sql); ``alias`` is the sites' alias.
    """
    at = f"{alias}." if alias else ""
    return f'{at}source_owner COLLATE "C" = %s AND {at}source_file COLLATE "C" = %s'


def _touch(cur) -> None:
    """Make the table of the UPRNs and postcodes a write touches (until it commits)."""
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS _touched (uprn text, pc text) ON COMMIT DROP")


def _copy_out(
    cur, table: str, columns: dict[str, str], *, geometry: str = "", where: str = ""
) -> pd.DataFrame:
    """Return ``columns`` of the rows of ``table`` the transaction may see, in ``fid`` order.

    ``geometry="point"`` adds ``_x`` and ``_y``; ``"wkb"`` adds ``_wkb`` (hex); ``where``
    (SQL of our own) picks the rows.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    select = [f'"{c}"' for c in columns]
    types = {c: getattr(pa, ARROW_TYPES[kind])() for c, kind in columns.items()}
    if geometry == "point":
        select += ["ST_X(geom)", "ST_Y(geom)"]
        types.update({"_x": pa.float64(), "_y": pa.float64()})
    elif geometry == "wkb":
        select.append("encode(ST_AsEWKB(geom), 'hex')")
        types["_wkb"] = pa.string()
    # in fid order, sorted here: sorting a million wide rows costs the server more
    select.append("fid")
    types["_fid"] = pa.int64()
    query = f"COPY (SELECT {', '.join(select)} FROM {table} {where}) TO STDOUT (FORMAT csv)"
    body = io.BytesIO()
    with cur.copy(query) as copy:
        for block in copy:
            body.write(block)
    names = list(types)
    if not body.tell():
        return pd.DataFrame(
            {c: pd.Series(dtype=columns.get(c, "float64")) for c in names if c != "_fid"}
        )
    body.seek(0)
    table_ = pacsv.read_csv(
        body,
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],  # only an unquoted empty field is NULL; "NA" is text
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table_.sort_by("_fid").drop_columns("_fid").to_pandas()


def _arrow_out(cur, table: str, columns: dict[str, str], *, points: bool = False) -> pd.DataFrame:
    """Return ``columns`` of the rows of ``table`` the transaction may see, in ``fid`` order.

    ``cur`` is an ADBC cursor (see :func:`~assetmap.store.postgis_io.arrow_table`);
    ``points`` adds ``_x`` and ``_y`` (NaN where a row has none).
    """
    return arrow_table(cur, table, columns, points=points).to_pandas()


def _with_polygons(frame: pd.DataFrame, columns: dict[str, str]) -> gpd.GeoDataFrame:
    """Return a frame read with ``_wkb`` as a GeoDataFrame of its polygons, in EPSG:27700."""
    import shapely

    wkb = frame.pop("_wkb").to_numpy(dtype=object) if "_wkb" in frame else np.array([], object)
    wkb[pd.isna(wkb)] = None
    geoms = shapely.from_wkb(wkb)
    geoms = shapely.set_srid(geoms, 0) if len(geoms) else geoms
    return gpd.GeoDataFrame(
        conform(pd.DataFrame(frame), columns), geometry=gpd.GeoSeries(geoms, crs=CRS_BNG)
    )
