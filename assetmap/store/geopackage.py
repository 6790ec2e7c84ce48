"""The GeoPackage store: the estate in one file, read in one state, changed in one transaction.

A change (an import, a removal, a boundary set or place kept) is one SQLite
transaction. A lock file serialises writers. Where it is written:

- **In place**, when the store exists in the current layout: the source's rows
  are deleted and the new rows appended in the store's own file
  (:class:`~assetmap.store.bulk.BulkWriter`), so a small import into a large
  estate writes about what it changes. SQLite's rollback journal beside the store
  keeps the old state until the commit, which is synced to disk: a failure or a
  kill at any moment, even mid-commit, leaves the old state or the new one, never
  a mixture (a killed writer's journal is rolled back at the next open). Nothing
  reaches the file before the commit: the change waits in memory (about its own
  size), so that other processes read the old state meanwhile.
- **Whole, in a new file** renamed over the store, when there is no store yet,
  or it is in an older layout (which this migrates) or in SQLite's WAL mode: GDAL
  creates the seven empty layers and every row is appended. The file is readable
  by its writer only until it is renamed, and the store keeps its permissions
  (:func:`assetmap.files.replace_atomically`). A new store has 64 KB SQLite pages,
  and its ``fid`` columns are plain ``INTEGER PRIMARY KEY`` (GDAL's
  ``AUTOINCREMENT`` costs a write to ``sqlite_sequence`` on every row).

Opening the store, to read or to write, checks what the file is
(:mod:`assetmap.store.gpkg_file`):

- A file that is not an estate store (a user's own GeoPackage of wards, a
  spreadsheet, an empty file) is refused with a :class:`StoreError`, never read
  as an empty estate and never rewritten. An estate store is a GeoPackage with a
  ``sites`` and an ``imports`` table, both with a ``source_file`` column; one in
  an older layout is still migrated, unless it also holds tables of its own that
  the migration would lose.
- SQLite's ``PRAGMA quick_check`` runs on the file: a damaged store gives one
  clear :class:`StoreError`. A writer checks the store every time, under its
  lock; readers check each state of the file once a process (the check costs
  about a tenth of reading the sites: 0.26 s for a store of a million sites;
  ``benchmarks/bench_store_check.py``).
- What a writer that was killed left beside the store (a temporary file, a
  journal) is cleared, once the store's lock shows that no writer is at work.

Every read (:meth:`GeoPackageStore.sites` and the rest) sees one state of the
file, never a mixture of the states before and after a change, though it opens
its layers one after another: it holds a reader's lock on the file from the first
to the last, which a change's commit waits for (and a thread of the writer's own
process waits for the whole change: see :func:`~assetmap.store.gpkg_file.reading`).
The file it opened at the start stays open, and the read ends by checking that
the store's name still leads to that file; if a change written whole replaced
it meanwhile, the read is made again. (Reading every layer through
``/proc/self/fd`` instead does not work: SQLite follows that link back to the
store's name, and so to the new file.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import geopandas as gpd
import pandas as pd

from ..errors import StoreError
from ..files import replace_atomically, temporary_files
from ..schema import (
    CRS_BNG,
    QUARANTINE_COLUMNS,
    REQUEST_COLUMNS,
    SITE_COLUMNS,
    empty_requests,
    empty_sites,
)
from . import gpkg_exchange, interface
from .bulk import BulkWriter
from .gpkg_file import (
    NO_FILE,
    FileFacts,
    committing,
    create_layers,
    in_rollback_mode,
    inspect_file,
    inspected_as,
    journal_path,
    layout_is_current,
    reading,
    remove_leftovers,
    rollback_journal,
    same_file,
    writing,
)
from .interface import (
    BOUNDARY_SET_COLUMNS,
    EXCHANGE_LAYOUT,
    IMPORT_LOG_COLUMNS,
    LAYOUT,
    PLACE_COLUMNS,
    SCENARIO_COLUMNS,
    SHARED_KEY_COLUMNS,
    STORED_REQUEST_COLUMNS,
    STORED_SITE_COLUMNS,
    EstateStore,
    ExchangeChange,
    SharedGroups,
    SourceUpdate,
    check_owned_name,
    conform,
    join_provenance,
    no_such_scenario,
    own_scenarios,
    owned,
    pick_owner,
)

__all__ = ["GeoPackageStore"]

#: How many times a read is made before it gives up on a store replaced every time.
_READ_ATTEMPTS = 20
#: The columns :meth:`GeoPackageStore.site_keys` gives.
_KEY_COLUMNS = ["site_id", "source_file", "source_owner", "source_row", "agency", "sensitivity"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _one_file_state(
    method: Callable[Concatenate[GeoPackageStore, _P], _R],
) -> Callable[Concatenate[GeoPackageStore, _P], _R]:
    """Make a read method see one state of the store's file (see ``_one_state``).

    Reads within it share that state.
    """

    @functools.wraps(method)
    def read(self: GeoPackageStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if getattr(self._reading, "facts", None) is not None:
            return method(self, *args, **kwargs)
        return self._one_state(lambda: method(self, *args, **kwargs))

    return read


class GeoPackageStore(EstateStore):
    """The estate in one GeoPackage file.

    Parameters
    ----------
    path
        The GeoPackage file. It is created by the first import.

    Examples
    --------
    >>> store = GeoPackageStore("estate.gpkg")  # doctest: +SKIP
    >>> store.imports()[["source_file", "source_owner", "accepted"]]  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._reading = threading.local()  # the file state a read of this thread is on
        self._swept = False

    def __repr__(self) -> str:
        """Return ``GeoPackageStore('<path>')``."""
        return f"GeoPackageStore({str(self.path)!r})"

    @property
    def location(self) -> str:
        """The store file's path, as given."""
        return str(self.path)

    def version(self) -> str:
        """Return the store file's state: its (mtime_ns, size, inode), changed by every write.

        Every write renames a new file over the store, so the inode changes even
        when the time and size do not. ``"none"`` while there is no store file.
        """
        try:
            facts = os.stat(self.path)
        except FileNotFoundError:
            return "none"
        except OSError as exc:
            raise StoreError(
                f"the store {str(self.path)!r} cannot be opened: {exc.strerror or exc}"
            ) from None
        return f"{facts.st_mtime_ns}:{facts.st_size}:{facts.st_ino}"

    def append_audit(self, entry: dict) -> None:
        """Append one entry to the JSON-lines audit log beside the store (see EstateStore)."""
        from ..audit import append_jsonl

        append_jsonl(self.path, entry)

    def audit_entries(self) -> list[dict]:
        """Return the entries of the JSON-lines audit log beside the store, oldest first."""
        from ..audit import read_jsonl

        return read_jsonl(self.path)

    # reading ---------------------------------------------------------------
    def exists(self) -> bool:
        """Return whether the store file exists yet."""
        return self.path.is_file()

    def _layers(self) -> set[str]:
        import pyogrio

        facts = getattr(self._reading, "facts", None)
        if facts is not None:  # within a read: the layers of the file state it is on
            return set(facts.layers)
        if not self.exists():
            return set()
        try:
            return {str(name) for name in pyogrio.list_layers(self.path)[:, 0]}
        except Exception as exc:  # GDAL raises several classes
            raise StoreError(f"the store {str(self.path)!r} cannot be opened: {exc}") from None

    def _read(self, layer: str) -> pd.DataFrame | None:
        import pyogrio

        if layer not in self._layers():
            return None
        try:
            frame = pyogrio.read_dataframe(self.path, layer=layer, use_arrow=True)
        except Exception as exc:
            raise StoreError(
                f"layer {layer!r} of the store {str(self.path)!r} cannot be read: {exc}"
            ) from None
        return frame

    def _points(
        self, layer: str, columns: dict[str, str], empty: Callable[[], gpd.GeoDataFrame]
    ) -> gpd.GeoDataFrame:
        """Return the sites or requests, with their per-source provenance joined back."""
        frame = self._read(layer)
        if frame is None:
            return empty()
        return gpd.GeoDataFrame(
            conform(join_provenance(frame, self.imports()), columns), crs=CRS_BNG
        )

    @_one_file_state
    def sites(self) -> gpd.GeoDataFrame:
        """Return every site, with :data:`assetmap.schema.SITE_COLUMNS`, in EPSG:27700."""
        return self._points("sites", SITE_COLUMNS, empty_sites)

    def site_keys(self, *, site_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the key columns of every site, or of the sites of some ids (see EstateStore).

        Asked by the thread that is writing the store (an import's duplicate check,
        from the rows it streams in), given ids are looked up through that write, in
        an index (:data:`~assetmap.store.gpkg_file.INDEXES`): no other copy of SQLite
        may touch the file meanwhile (:mod:`assetmap.store.gpkg_file`). Else in one
        pass of SQLite's over the sites (a store of an older layout has no index).
        """
        columns = {c: SITE_COLUMNS[c] for c in _KEY_COLUMNS}
        writer = getattr(self._reading, "writer", None)
        if site_ids is not None and writer is not None:
            return conform(writer.site_keys(site_ids), columns)
        return conform(self._site_keys(site_ids), columns)

    @_one_file_state
    def _site_keys(self, site_ids: Sequence[str] | None) -> pd.DataFrame:
        """Return the key columns of every site, or of the sites of these ids, as stored."""
        import pyogrio

        if "sites" not in self._layers():
            return pd.DataFrame()
        if site_ids is None:
            frame = pyogrio.read_dataframe(
                self.path, layer="sites", columns=_KEY_COLUMNS, read_geometry=False, use_arrow=True
            )
            return pd.DataFrame(frame)
        # within the read's lock, as the file's inspection reads it (Python's SQLite)
        with contextlib.closing(
            sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            stored = {row[1] for row in db.execute('PRAGMA table_info("sites")')}
            names = [c for c in _KEY_COLUMNS if c in stored]  # an older layout may lack some
            found = db.execute(
                f"SELECT {', '.join(names)} FROM sites "
                "WHERE site_id IN (SELECT value FROM json_each(?)) ORDER BY fid",
                (json.dumps([str(i) for i in site_ids]),),
            ).fetchall()
        return pd.DataFrame(found, columns=names) if found else pd.DataFrame()

    @_one_file_state
    def footprints(self) -> gpd.GeoDataFrame:
        """Return the polygon footprints: ``site_id`` and geometry, in EPSG:27700."""
        frame = self._read("footprints")
        if frame is None:
            return gpd.GeoDataFrame(
                {"site_id": pd.Series(dtype="str")}, geometry=gpd.GeoSeries([], crs=CRS_BNG)
            )
        return frame

    @_one_file_state
    def requests(self) -> gpd.GeoDataFrame:
        """Return every space request, with :data:`assetmap.schema.REQUEST_COLUMNS`."""
        return self._points("requests", REQUEST_COLUMNS, empty_requests)

    @_one_file_state
    def quarantine(self) -> pd.DataFrame:
        """Return every rejected row, with :data:`assetmap.schema.QUARANTINE_COLUMNS`."""
        return self._table("quarantine", QUARANTINE_COLUMNS)

    @_one_file_state
    def imports(self) -> pd.DataFrame:
        """Return the import log, one row per source currently in the store."""
        return self._table("imports", IMPORT_LOG_COLUMNS)

    @_one_file_state
    def boundary_sets(self) -> gpd.GeoDataFrame:
        """Return the areas of every boundary set users added (see EstateStore)."""
        frame = self._read("boundary_sets")
        if frame is None:
            return gpd.GeoDataFrame(
                conform(pd.DataFrame(), BOUNDARY_SET_COLUMNS),
                geometry=gpd.GeoSeries([], crs=CRS_BNG),
            )
        return gpd.GeoDataFrame(conform(frame, BOUNDARY_SET_COLUMNS), crs=CRS_BNG)

    @_one_file_state
    def places(self) -> pd.DataFrame:
        """Return the named places users saved (see EstateStore)."""
        return self._table("places", PLACE_COLUMNS)

    @_one_file_state
    def scenarios(self) -> pd.DataFrame:
        """Return every saved scenario, oldest first (see EstateStore)."""
        return self._table("scenarios", SCENARIO_COLUMNS)

    @_one_file_state
    def exchange(self, table: str) -> pd.DataFrame:
        """Return an exchange table, every row, oldest first (see EstateStore).

        A store written before the exchange reads it as empty.
        """
        return self._table(table, interface.exchange_columns(table))

    def _table(self, layer: str, columns: dict[str, str]) -> pd.DataFrame:
        """Return a layer without geometry, with its canonical columns."""
        frame = self._read(layer)
        return conform(pd.DataFrame() if frame is None else pd.DataFrame(frame), columns)

    # writing ---------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold the store's writer lock; wait :data:`interface.LOCK_TIMEOUT_S` at most.

        Raises
        ------
        StoreError
            If another writer holds the lock for longer than that.
        """
        from filelock import FileLock, Timeout

        timeout = interface.LOCK_TIMEOUT_S  # read at each write: a caller may change it

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path) + ".lock", timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"another import or removal is writing to the store {str(self.path)!r} and "
                f"has not finished after {timeout:g} s; nothing was changed. Try "
                "again when it has finished"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @_one_file_state
    def _load_all(self) -> dict[str, pd.DataFrame]:
        """Return every layer as stored, for a rewrite (per-source provenance not joined back)."""
        stored: dict[str, pd.DataFrame] = {}
        for layer, columns, empty in (
            ("sites", STORED_SITE_COLUMNS, empty_sites),
            ("requests", STORED_REQUEST_COLUMNS, empty_requests),
        ):
            frame = self._read(layer)
            frame = empty() if frame is None else frame
            stored[layer] = gpd.GeoDataFrame(conform(frame, columns), crs=CRS_BNG)
        return {
            **stored,
            "footprints": self.footprints(),
            "quarantine": self.quarantine(),
            "imports": self.imports(),
            "boundary_sets": self.boundary_sets(),
            "places": self.places(),
            "scenarios": self.scenarios(),
            **{t: self.exchange(t) for t in EXCHANGE_LAYOUT if t in self._layers()},
        }

    def replace_source(self, update: SourceUpdate, *, shared: SharedGroups | None = None) -> None:
        """Replace everything a source brought with ``update``, in one transaction.

        See :meth:`EstateStore.replace_source`.
        """
        with self._lock():
            self._change(update.source_file, update.owner, update, shared)

    def remove_source(
        self, source_file: str, *, owner: str | None = None, shared: SharedGroups | None = None
    ) -> int:
        """Remove a source and everything it brought; return the rows removed.

        See :meth:`EstateStore.remove_source`.
        """
        with self._lock():
            return self._change(source_file, owner, None, shared)

    def _change(
        self,
        source_file: str,
        owner: str | None,
        update: SourceUpdate | None,
        shared: SharedGroups | None,
    ) -> int:
        """Drop ``source_file`` and add ``update`` in a new copy of the store, then rename it.

        The copy starts as the store's file when its layout is current, else as a
        new file holding the store's rows rewritten (a new store: none).

        Returns
        -------
        int
            The sites and requests of ``source_file`` that were removed.
        """

        def change(db: BulkWriter) -> int:
            picked = pick_owner(source_file, owner, db.sources(), removing=update is None)
            removed = db.delete_source(source_file, picked)
            if update is not None:
                self._reading.writer = db  # the rows' duplicate check looks up through it
                try:
                    _write_update(db, update, picked, shared)
                finally:
                    self._reading.writer = None
            elif shared is not None:  # the sites left may share no longer
                db.update_shared_groups(shared, None)
            return removed

        return self._edit(change)

    def exchange_write(self, change: ExchangeChange, *, shared: SharedGroups | None = None) -> None:
        """Write one exchange move, in one transaction (see EstateStore).

        Its arguments are checked first; its rows' versions and its edits' rows under
        the store's lock, in the transaction (:mod:`assetmap.store.gpkg_exchange`).
        """
        edits = interface.check_exchange_change(change)
        with self._lock():
            self._edit(lambda db: gpkg_exchange.write_change(db, change, edits, shared))

    def complete_match(self, match_id: str, *, version: int, agency: str, by: str, at: str) -> None:
        """Complete an accepted match: the space moves, in one transaction (see EstateStore)."""
        with self._lock():
            self._edit(
                lambda db: gpkg_exchange.complete(
                    db, match_id, version=version, agency=agency, by=by, at=at
                )
            )

    def _put_exchange(self, rows: dict[str, pd.DataFrame]) -> int:
        """Append exchange rows as they are, in one change of the file (see EstateStore)."""
        with self._lock():
            return self._edit(lambda db: gpkg_exchange.put_rows(db, rows))

    def _edit(self, change: Callable[[BulkWriter], int]) -> int:
        """Make ``change`` in a new copy of the store, in one transaction, and rename it over.

        The caller holds the store's lock. Returns what ``change`` returns. A store
        in the current layout is changed in place; a new store, or one in an older
        layout, is written whole in a new file renamed over it.
        """
        self._check_before_write()
        if self._layout_is_current() and in_rollback_mode(self.path):
            return self._edit_in_place(change)
        with replace_atomically(
            self.path, suffix=".tmp.gpkg", private=True, replaces_store=True
        ) as tmp:
            self._rewrite(tmp)
            with BulkWriter(tmp) as db:
                done = change(db)
        return done

    def _edit_in_place(self, change: Callable[[BulkWriter], int]) -> int:
        """Make ``change`` in the store's own file, in one SQLite transaction.

        No other thread of this process touches the file meanwhile, and other
        processes' reads are kept off it only while it commits
        (:func:`~assetmap.store.gpkg_file.writing`,
        :func:`~assetmap.store.gpkg_file.committing`).
        """
        timeout = interface.LOCK_TIMEOUT_S
        fd = os.open(self.path, os.O_RDWR)
        try:
            before = os.fstat(fd)
            with writing(before, str(self.path), timeout=timeout):
                commit = functools.partial(committing, fd, str(self.path), timeout=timeout)
                with BulkWriter(self.path, commit=commit) as db:
                    done = change(db)
            # the state committed, under the store's lock: this process's readers know it
            # (unless the change made the exchange's tables: then they look at it afresh)
            if not gpkg_exchange.made_tables(db):
                inspected_as(before, os.fstat(fd))
            return done
        finally:
            os.close(fd)

    def _named(
        self,
        layer: str,
        what: str,
        name: str,
        owner: str | None,
        rows: pd.DataFrame | None,
    ) -> int:
        """Replace (``rows`` given) or remove the named set or place ``name`` of ``layer``.

        Returns the rows removed. Under the store's lock, in one transaction.
        """
        column = "set_name" if layer == "boundary_sets" else "name"

        def change(db: BulkWriter) -> int:
            stored = check_owned_name(
                name, owner, db.names(layer, column), what, removing=rows is None
            )
            removed = db.delete_named(layer, column, stored) if stored else 0
            if rows is not None:
                db.append(layer, rows)
            return removed

        with self._lock():
            return self._edit(change)

    def _scenario_change(self, name: str, owner: str, rows: pd.DataFrame | None) -> int:
        """Replace (``rows`` given) or remove ``owner``'s scenario ``name``; return rows removed.

        Under the store's lock, in one transaction.
        """

        def change(db: BulkWriter) -> int:
            taken = db.names("scenarios", "name")
            stored = own_scenarios(name, owner, taken)  # the agency's, however spelt
            if rows is None and not stored:
                raise no_such_scenario(name, owner, taken)
            removed = sum(db.delete_named("scenarios", "name", n, owner=o) for n, o in set(stored))
            if rows is not None:
                db.append("scenarios", rows)
            return removed

        with self._lock():
            return self._edit(change)

    def _rewrite(self, path: Path) -> None:
        """Write the store's rows, as read, into a new file in the current layout."""
        data = self._load_all() if self.exists() else {}
        create_layers(path)
        with BulkWriter(path) as db:
            for layer, frame in data.items():
                if layer in LAYOUT:
                    columns = LAYOUT[layer][0]
                    if layer != "footprints":
                        frame = conform(frame, columns)
                    db.append(layer, frame)
                elif layer in EXCHANGE_LAYOUT:
                    gpkg_exchange.copy_rows(db, layer, frame)

    # opening ---------------------------------------------------------------
    def _one_state(self, read: Callable[[], _R]) -> _R:
        """Call ``read`` until it ran on one state of the store's file, and return its result.

        The file is held open from before ``read`` starts (so that its inode cannot be
        given to another file) until the store's name is seen to lead to it still
        afterwards: every layer ``read`` opened by name was then this file. If an
        import renamed a new file over the store meanwhile, ``read`` is called again
        (an error raised by a file that was replaced is not the store's error). A read
        that finds the journal of a writer killed while it committed waits for it to
        be rolled back (by this read, or by the next writer).
        """
        stopped = False
        for _ in range(_READ_ATTEMPTS):
            if not self._swept or journal_path(self.path).exists():
                self._sweep(locked=False)
            fd = self._open()
            if fd is None:  # no store yet: every layer is empty
                return self._on(NO_FILE, read)
            try:
                opened = os.fstat(fd)
                try:
                    with reading(fd, opened, str(self.path), timeout=interface.LOCK_TIMEOUT_S):
                        result = self._on(inspect_file(self.path, fd, opened), read)
                except Exception as exc:
                    if not same_file(self.path, opened):
                        continue  # replaced meanwhile: not the store's error
                    stopped = _left_mid_change(self.path, exc)
                    if not stopped:
                        raise
                    time.sleep(0.1)
                    continue
                if same_file(self.path, opened):
                    return result
            finally:
                os.close(fd)
        if stopped:
            raise StoreError(
                f"the store {str(self.path)!r} was left mid-change by an import or removal "
                "that was stopped, and cannot be read until that change is undone: run an "
                "import or removal on it as a user who may change it, or ask one to"
            )
        raise StoreError(
            f"the store {str(self.path)!r} was replaced {_READ_ATTEMPTS} times while it was "
            "being read (imports in progress); try again"
        )

    def _open(self) -> int | None:
        """Open the store's file to read; return its descriptor (``None``: no file yet)."""
        try:
            return os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"the store {str(self.path)!r} cannot be opened: {exc.strerror or exc}"
            ) from None

    def _on(self, facts: FileFacts, read: Callable[[], _R]) -> _R:
        self._reading.facts = facts
        try:
            return read()
        finally:
            self._reading.facts = None

    def _check_before_write(self) -> None:
        """Check the store before a change, under its lock.

        It must be an estate store (or not exist yet), whole, and able to be
        migrated if its layout is older; what killed writers left beside it is
        removed.
        """
        self._sweep(locked=True)
        fd = self._open()
        if fd is None:
            return
        try:
            opened = os.fstat(fd)
            with reading(fd, opened, str(self.path), timeout=interface.LOCK_TIMEOUT_S):
                facts = inspect_file(self.path, fd, opened, fresh=True)
        finally:
            os.close(fd)
        other = [t for t in facts.other_tables if t not in EXCHANGE_LAYOUT]  # (rewritten too)
        if other and not self._layout_is_current():
            raise StoreError(
                f"the store {str(self.path)!r} is in the layout of an older assetmap and also "
                f"holds other tables ({', '.join(other)}), which updating it "
                "would lose; nothing was changed. Copy them to another file and remove them "
                "from the store first"
            )

    def _sweep(self, *, locked: bool) -> None:
        """Clear what writers killed mid-write left: temporary files, and a journal.

        They are the store's only while no writer is at work: with ``locked`` the
        caller holds the store's lock; else it is taken here if it is free at once
        (if not, a writer is at work and they are left for later). A journal is
        rolled back (:func:`~assetmap.store.gpkg_file.rollback_journal`); a reader
        that may not write the store leaves it to the next writer.
        """
        from filelock import FileLock, Timeout

        self._swept = True
        if not temporary_files(self.path) and not journal_path(self.path).exists():
            return
        if locked:
            remove_leftovers(temporary_files(self.path))
            self._roll_back()
            return
        try:
            with FileLock(str(self.path) + ".lock", timeout=0):
                remove_leftovers(temporary_files(self.path))
                with contextlib.suppress(OSError, StoreError):
                    self._roll_back()
        except (Timeout, OSError):
            pass

    def _roll_back(self) -> None:
        """Roll back the journal of a killed writer, as the one thread touching the file."""
        if not journal_path(self.path).exists():
            return
        fd = os.open(self.path, os.O_RDWR)
        try:
            timeout = interface.LOCK_TIMEOUT_S
            with writing(os.fstat(fd), str(self.path), timeout=timeout):
                with committing(fd, str(self.path), timeout=timeout):
                    rollback_journal(self.path)
        finally:
            os.close(fd)

    def _layout_is_current(self) -> bool:
        """Return whether the store exists in exactly the layout this version writes."""
        return layout_is_current(self.path)


def _left_mid_change(path: Path, exc: Exception) -> bool:
    """Return whether a read failed on the journal a killed writer left (to be rolled back)."""
    return (
        isinstance(exc, StoreError)
        and "readonly database" in str(exc)
        and journal_path(path).exists()
    )


def _write_update(
    db: BulkWriter, update: SourceUpdate, owner: str, shared: SharedGroups | None
) -> None:
    """Append what ``update`` brings, its rows stamped with ``owner``, and settle shared sites.

    Rows given in chunks are stored as they come, and their shared groups settled
    once the last is in; rows given whole have their groups settled first.
    """
    layer = update.layer
    columns = LAYOUT[layer][0]
    settle = shared if layer == "sites" else None
    if isinstance(update.rows, pd.DataFrame):
        rows = owned(conform(update.rows, columns, points=True), owner)
        if settle is not None:
            grouped = db.update_shared_groups(settle, rows)  # rows with their groups
            rows = rows if grouped is None else grouped
        db.append(layer, rows)
    else:
        keys = SHARED_KEY_COLUMNS if settle is not None else ()
        chunks = (owned(conform(c, columns, points=True), owner) for c in update.rows)
        appended = db.append_chunks(layer, chunks, keys)
        if settle is not None:
            db.update_shared_groups(settle, None, appended=appended)
    if update.footprints is not None and len(update.footprints):
        fp = update.footprints
        db.append("footprints", fp[["site_id", fp.geometry.name]])
    db.append("quarantine", owned(conform(update.quarantine, QUARANTINE_COLUMNS), owner))
    log = conform(pd.DataFrame([update.log]), IMPORT_LOG_COLUMNS)
    db.append("imports", owned(log, owner))
