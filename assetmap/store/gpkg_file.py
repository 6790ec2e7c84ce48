"""The GeoPackage store's file: what an open file is, whether its layout is current, a new one.

Before the store is read or written its file is inspected: one that is not an estate
store (another GeoPackage, a spreadsheet, an empty file) or that SQLite finds damaged
is refused with one :class:`~assetmap.errors.StoreError`. A store whose layout is not
the one this version writes is rewritten whole (:func:`layout_is_current`); a new one
starts as the seven empty layers GDAL makes (:func:`create_layers`).

Who may touch the file while a change is written into it in place
(:func:`reading`, :func:`writing`, :func:`committing`):

- *Within one process*, a thread reads the store only while no thread of that
  process is changing it, and a change waits for the process's reads to end.
  Three copies of SQLite share a process (Python's, GDAL's and the ADBC
  driver's), and POSIX locks belong to the process: one copy closing the file
  drops the locks another holds on it, and a second copy opening it while the
  first writes takes the first one's journal for a killed writer's (tried on
  this machine: a read through Python's SQLite during an ADBC write let another
  process take the write lock). So no other copy touches a file being changed.
- *Between processes*, SQLite's own locks apply, and a read of several layers
  holds a reader's lock on the file from its first layer to its last, which the
  change's commit waits for (and new reads wait for the commit): a read sees the
  state before a change or after it, never both. These are open-file-description
  locks (``F_OFD_SETLK``) on two bytes far past SQLite's own: no other open or
  close of the file in the process drops them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import sqlite3
import stat
import struct
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import StoreError
from ..schema import CRS_BNG
from .interface import LAYOUT

__all__ = [
    "INDEXES",
    "INSPECTED",
    "LAYER_LIST",
    "NO_FILE",
    "FileFacts",
    "committing",
    "create_layers",
    "in_rollback_mode",
    "inspect_file",
    "inspected_as",
    "journal_path",
    "layout_is_current",
    "reading",
    "remove_leftovers",
    "rollback_journal",
    "same_file",
    "writing",
]


@dataclass(frozen=True)
class FileFacts:
    """What opening a store's file found: its layers, and tables other than the store's."""

    layers: frozenset[str]
    other_tables: tuple[str, ...] = ()


#: What a store that does not exist yet holds: nothing.
NO_FILE = FileFacts(frozenset())
#: File states already inspected in this process (see :func:`inspect_file`).
INSPECTED: dict[tuple[int, ...], FileFacts] = {}
_INSPECTED_LOCK = threading.Lock()
_SQLITE_HEADER = b"SQLite format 3\x00"
_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_LAYER_NAMES = "SELECT table_name FROM gpkg_contents ORDER BY table_name"
_SQL_TYPES = {"str": "TEXT", "float64": "REAL", "int64": "INTEGER"}
#: The store's layers as an SQL list of literals.
LAYER_LIST = ", ".join(f"'{layer}'" for layer in LAYOUT)
#: SQLite page size of a new store: the largest SQLite allows.
_PAGE_SIZE = 65_536
#: The indexes of a store in the current layout, by name (plain SQLite indexes, which GDAL
#: and QGIS read past): a source's sites, and each of their ids (a change finds the sites
#: of its source, and an import's duplicate check the sites of given ids, source by
#: source); the sites sharing a UPRN or a compact postcode (the shared-site groups are
#: settled near a change; partial: a site without either costs nothing). None on
#: ``site_id`` alone: ids are random, so a small import would rewrite most of its pages
#: (11 MB for 70 sites into 200,000), where a change should write about what it changes;
#: under its source, a source's ids are together.
INDEXES = {
    "sites_source": "sites (source_file, source_owner, site_id)",
    "sites_uprn": "sites (uprn) WHERE uprn IS NOT NULL",
    "sites_postcode": "sites (replace(postcode, ' ', '')) WHERE postcode IS NOT NULL",
}


def _foreign(path: str, what: str) -> StoreError:
    return StoreError(
        f"{path!r} is not an assetmap store ({what}); nothing was read or changed. Give a new "
        "file name, or the file of an assetmap store"
    )


def _damaged(path: str, found: list[str]) -> StoreError:
    detail = found[0][:200] + (f" and {len(found) - 1} more problems" if len(found) > 1 else "")
    return StoreError(
        f"the store {path!r} is damaged (SQLite's check found: {detail}); nothing was read or "
        "changed. Restore it from a backup"
    )


def same_file(path: Path, opened: os.stat_result) -> bool:
    """Return whether ``path`` leads to the file ``opened`` describes."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)


def inspect_file(path: Path, fd: int, opened: os.stat_result, *, fresh: bool = False) -> FileFacts:
    """Return what the open file ``fd`` of the store ``path`` is: an estate store's layers.

    The result for a state of the file (device, inode, size, times) is kept for
    the process, unless ``fresh``.

    Raises
    ------
    StoreError
        When the file is not an estate store, or is damaged.
    """
    key = _state_key(opened)
    if not fresh:
        with _INSPECTED_LOCK:
            if key in INSPECTED:
                return INSPECTED[key]
    _check_header(str(path), fd, opened)
    tables, layers, columns = _read_schema(path)
    facts = _facts(str(path), tables, layers, columns)
    if same_file(path, opened):  # else SQLite may have opened the file renamed over it
        with _INSPECTED_LOCK:
            if len(INSPECTED) >= 64:
                INSPECTED.clear()
            INSPECTED[key] = facts
    return facts


def inspected_as(before: os.stat_result, after: os.stat_result) -> None:
    """Record that the state ``after`` of a store's file is what ``before`` was inspected as.

    For a change this process wrote in place into a file it had inspected (``before``),
    under the store's lock (no other writer): its readers need not check the file
    again (``PRAGMA quick_check`` of a million sites costs about a third of a second).
    """
    with _INSPECTED_LOCK:
        facts = INSPECTED.get(_state_key(before))
        if facts is not None:
            INSPECTED[_state_key(after)] = facts


def _state_key(opened: os.stat_result) -> tuple[int, ...]:
    """Return the key of a state of a file: device, inode, size and times."""
    return (opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns, opened.st_ctime_ns)


def _check_header(path: str, fd: int, opened: os.stat_result) -> None:
    """Refuse a store that is not a regular file, is empty, or is not an SQLite database."""
    if not stat.S_ISREG(opened.st_mode):
        raise StoreError(f"the store {path!r} is not a file; give the path of a store file")
    if opened.st_size == 0:
        raise _foreign(path, "it is empty")
    os.lseek(fd, 0, os.SEEK_SET)
    if os.read(fd, len(_SQLITE_HEADER)) != _SQLITE_HEADER:
        raise StoreError(
            f"the store {path!r} cannot be opened: it is not a GeoPackage; give a new file "
            "name or an assetmap store"
        )


def _read_schema(path: Path) -> tuple[list[str], list[str], dict[str, set[str]]]:
    """Return the tables, the GeoPackage layers and the columns of ``sites`` and ``imports``.

    SQLite's ``PRAGMA quick_check`` runs first.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
            if found != ["ok"]:
                raise _damaged(str(path), found)
            tables = [row[0] for row in db.execute(_TABLES)]
            if "gpkg_contents" not in tables:
                raise _foreign(str(path), "it is an SQLite database, not a GeoPackage")
            layers = [row[0] for row in db.execute(_LAYER_NAMES)]
            columns = {
                table: {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
                for table in ("sites", "imports")
                if table in tables
            }
    except sqlite3.DatabaseError as exc:
        raise _damaged(str(path), [str(exc)]) from None
    return tables, layers, columns


def _facts(
    path: str, tables: list[str], layers: list[str], columns: dict[str, set[str]]
) -> FileFacts:
    """Return the facts of a GeoPackage that is an estate store, or refuse one that is not.

    An estate store has a ``sites`` and an ``imports`` table, both with a
    ``source_file`` column.
    """
    if not all("source_file" in columns.get(t, ()) for t in ("sites", "imports")):
        shown = ", ".join(layers[:10]) + (", ..." if len(layers) > 10 else "")
        what = f"it holds the layer{'s' if len(layers) > 1 else ''} {shown}"
        raise _foreign(path, what if layers else "it holds no layers")
    other = [
        t
        for t in dict.fromkeys([*tables, *layers])
        if t not in LAYOUT and not t.lower().startswith(("gpkg_", "rtree_", "sqlite_"))
    ]
    return FileFacts(frozenset(t for t in layers if t in tables), tuple(other))


def remove_leftovers(paths: list[Path]) -> None:
    """Remove the temporary files (and journals) of killed writers; never a folder."""
    for path in paths:
        if path.is_file() or path.is_symlink():
            with contextlib.suppress(OSError):
                path.unlink()


def layout_is_current(path: Path) -> bool:
    """Return whether the store exists with exactly the layers and columns this version writes.

    Only such a store is changed in a copy of its file; any other (an older
    layout, an R-tree index added by another tool, a ``fid`` declared
    ``AUTOINCREMENT``, one without the :data:`INDEXES`) is rewritten whole, which
    brings it up to date.
    """
    if not path.is_file():
        return False
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        for layer, (columns, geometry_type) in LAYOUT.items():
            got = [
                (name, kind.upper())
                for _, name, kind, *_ in db.execute(f'PRAGMA table_info("{layer}")')
            ]
            want = [("fid", "INTEGER")]
            if geometry_type is not None:
                want.append(("geom", geometry_type.upper()))
            want += [(c, _SQL_TYPES[t]) for c, t in columns.items()]
            if got != want:
                return False
        extra = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE (type = 'trigger' AND tbl_name IN "
            f"({LAYER_LIST}) AND name NOT LIKE 'trigger_%_feature_count_%') "
            "OR name LIKE 'rtree_%' "
            f"OR (type = 'table' AND name IN ({LAYER_LIST}) AND sql LIKE '%AUTOINCREMENT%')"
        ).fetchone()[0]
        indexes = {
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sites'"
            )
        }
        return bool(extra == 0) and set(INDEXES) <= indexes
    except sqlite3.Error:
        return False
    finally:
        db.close()


def create_layers(path: Path) -> None:
    """Create the store's seven layers, empty: the GeoPackage's tables and metadata.

    GDAL makes them once a process, in a file whose bytes are kept for the next store.
    """
    Path(path).write_bytes(_empty_store())


@functools.lru_cache(maxsize=1)
def _empty_store() -> bytes:
    """Return the bytes of a store with its seven layers, empty."""
    with tempfile.TemporaryDirectory(prefix="assetmap-layout-") as folder:
        path = Path(folder) / "empty.gpkg"
        _make_layers(path)
        return path.read_bytes()


def _make_layers(path: Path) -> None:
    """Create the store's seven layers, empty, with GDAL."""
    import pyogrio

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        for layer, (columns, geometry_type) in LAYOUT.items():
            frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
            kwargs: dict[str, object] = {}
            if geometry_type is not None:
                frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS_BNG))
                kwargs["geometry_type"] = geometry_type
                # the analyses build their own in-memory indexes: a GeoPackage
                # R-tree would double the time of every write (see BENCHMARKS.md)
                kwargs["layer_options"] = {"SPATIAL_INDEX": "NO"}
            pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", **kwargs)
    _drop_autoincrement(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for name, on in INDEXES.items():
            db.execute(f"CREATE INDEX {name} ON {on}")
        db.commit()
        # large pages: a bulk insert does a sixth less work (see BENCHMARKS.md)
        db.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        db.execute("VACUUM")


def _drop_autoincrement(path: Path) -> None:
    """Make the empty layers' ``fid`` a plain ``INTEGER PRIMARY KEY``.

    GDAL declares it ``AUTOINCREMENT``, which makes SQLite update its
    ``sqlite_sequence`` table on every inserted row: a sixth of the time of a
    bulk insert (see BENCHMARKS.md). Without it the ``fid`` is still the row's
    unique key, as the GeoPackage standard asks; only the ``fid`` of rows deleted
    from the end of a layer may be given again. The tables are empty, so each
    is dropped and made again with its triggers.
    """
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for layer in LAYOUT:
            (sql,) = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (layer,)
            ).fetchone()
            triggers = [
                row[0]
                for row in db.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                    (layer,),
                )
            ]
            if " AUTOINCREMENT" not in sql:
                continue
            db.execute(f'DROP TABLE "{layer}"')
            db.execute(sql.replace(" AUTOINCREMENT", "", 1))
            for trigger in triggers:
                db.execute(trigger)
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            db.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({LAYER_LIST})")


# --------------------------------------------------------------------------- who may touch it

#: The two bytes of the store's file that readers and a committing writer lock: far
#: past SQLite's own lock bytes (at 1 GiB) and the end of any store.
_GATE = 1 << 62
_READERS = _GATE + 1
#: Open-file-description locks (Linux); elsewhere ``flock`` on the whole file.
_OFD_SETLK: int | None = getattr(fcntl, "F_OFD_SETLK", None)
#: The longest pause between two tries of a lock another holds, in seconds.
_LONGEST_PAUSE = 0.05


class _Guard:
    """The threads of this process reading one store file, and the one changing it."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.readers = 0
        self.writer: int | None = None
        self.waiting = 0  # writers waiting: new readers wait behind them


_GUARDS: dict[tuple[int, int], _Guard] = {}
_GUARDS_LOCK = threading.Lock()


def _guard(opened: os.stat_result) -> _Guard:
    """Return the guard of the file ``opened`` describes (its device and inode)."""
    with _GUARDS_LOCK:
        if len(_GUARDS) >= 256:  # forget the idle ones
            for key in [k for k, g in _GUARDS.items() if not (g.readers or g.writer or g.waiting)]:
                del _GUARDS[key]
        return _GUARDS.setdefault((opened.st_dev, opened.st_ino), _Guard())


def _busy(path: str, timeout: float, *, writer: bool) -> StoreError:
    if writer:
        return StoreError(
            f"the store {path!r} is being read, and the reads have not ended after "
            f"{timeout:g} s; nothing was changed. Try again when they have ended"
        )
    return StoreError(
        f"another import or removal is writing to the store {path!r} and has not finished "
        f"after {timeout:g} s. Try again when it has finished"
    )


@contextlib.contextmanager
def reading(fd: int, opened: os.stat_result, path: str, *, timeout: float) -> Iterator[None]:
    """Hold a reader's place on the open store file ``fd`` while a read of it runs.

    It waits (``timeout`` seconds at most) while a thread of this process changes
    the file, and while another process commits a change to it.

    Raises
    ------
    StoreError
        If the wait is longer, or if this thread is itself changing the file.
    """
    guard = _guard(opened)
    with guard.changed:
        if guard.writer == threading.get_ident():
            raise StoreError(f"the store {path!r} cannot be read while this thread changes it")
        if not guard.changed.wait_for(lambda: guard.writer is None and not guard.waiting, timeout):
            raise _busy(path, timeout, writer=False)
        guard.readers += 1
    try:
        if _OFD_SETLK is None:
            _flock(fd, fcntl.LOCK_SH, timeout, path, writer=False)
        else:  # through the gate, which a committing writer holds, to the readers' byte
            _lock(fd, fcntl.F_RDLCK, _GATE, timeout, path, writer=False)
            try:
                _lock(fd, fcntl.F_RDLCK, _READERS, timeout, path, writer=False)
            finally:
                _unlock(fd, _GATE)
        try:
            yield
        finally:
            _unlock(fd, _READERS)
    finally:
        with guard.changed:
            guard.readers -= 1
            guard.changed.notify_all()


@contextlib.contextmanager
def writing(opened: os.stat_result, path: str, *, timeout: float) -> Iterator[None]:
    """Be the one thread of this process that touches the store file ``opened`` describes.

    It waits (``timeout`` seconds at most) for the reads of this process to end;
    reads that start meanwhile wait for the change.

    Raises
    ------
    StoreError
        If the wait is longer.
    """
    guard = _guard(opened)
    with guard.changed:
        guard.waiting += 1
        try:
            free = guard.changed.wait_for(
                lambda: guard.writer is None and not guard.readers, timeout
            )
        finally:
            guard.waiting -= 1
            guard.changed.notify_all()
        if not free:
            raise _busy(path, timeout, writer=True)
        guard.writer = threading.get_ident()
    try:
        yield
    finally:
        with guard.changed:
            guard.writer = None
            guard.changed.notify_all()


@contextlib.contextmanager
def committing(fd: int, path: str, *, timeout: float) -> Iterator[None]:
    """Keep every other process's reads off the store file ``fd`` (open to write) meanwhile.

    New reads wait at once; the block starts when the reads already running
    have ended (``timeout`` seconds at most).

    Raises
    ------
    StoreError
        If they run longer.
    """
    if _OFD_SETLK is None:
        _flock(fd, fcntl.LOCK_EX, timeout, path, writer=True)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return
    _lock(fd, fcntl.F_WRLCK, _GATE, timeout, path, writer=True)
    try:
        _lock(fd, fcntl.F_WRLCK, _READERS, timeout, path, writer=True)
        try:
            yield
        finally:
            _unlock(fd, _READERS)
    finally:
        _unlock(fd, _GATE)


def _set(fd: int, kind: int, start: int) -> None:
    """Set (or clear: ``F_UNLCK``) an open-file-description lock on one byte."""
    assert _OFD_SETLK is not None
    fcntl.fcntl(fd, _OFD_SETLK, struct.pack("hhqqi4x", kind, os.SEEK_SET, start, 1, 0))


def _unlock(fd: int, start: int) -> None:
    if _OFD_SETLK is None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        _set(fd, fcntl.F_UNLCK, start)


def _lock(fd: int, kind: int, start: int, timeout: float, path: str, *, writer: bool) -> None:
    """Take a lock on one byte, trying for ``timeout`` seconds."""
    _waiting(lambda: _set(fd, kind, start), timeout, path, writer=writer)


def _flock(fd: int, kind: int, timeout: float, path: str, *, writer: bool) -> None:
    """Lock the whole file (where there are no open-file-description locks)."""
    _waiting(lambda: fcntl.flock(fd, kind | fcntl.LOCK_NB), timeout, path, writer=writer)


def _waiting(take: Callable[[], object], timeout: float, path: str, *, writer: bool) -> None:
    """Call ``take`` until it does not find the lock held, with growing pauses."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            take()
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StoreError(
                    f"the store {path!r} cannot be locked: {exc.strerror or exc}"
                ) from None
        if time.monotonic() >= deadline:
            raise _busy(path, timeout, writer=writer)
        time.sleep(pause)
        pause = min(2 * pause, _LONGEST_PAUSE)


def journal_path(path: Path) -> Path:
    """Return the rollback journal SQLite keeps beside the store while a change is written."""
    return Path(os.path.realpath(path) + "-journal")


def rollback_journal(path: Path) -> None:
    """Undo what a writer killed mid-change left: its journal, and any page it had written.

    The caller holds the store's writer lock (no writer is at work) and is the one
    thread of its process touching the file. SQLite rolls a *hot* journal back as
    it opens the store to write (a writer killed while it committed: the file is
    then as before the change); a journal it leaves is not hot (the writer was
    killed before it wrote the file) and is removed.
    """
    journal = journal_path(path)
    if not journal.exists():
        return
    db = sqlite3.connect(os.path.realpath(path), isolation_level=None, timeout=1)
    try:
        db.execute("BEGIN IMMEDIATE")  # a hot journal is rolled back here
        with contextlib.suppress(FileNotFoundError):
            journal.unlink()  # what is left is not hot: the change never reached the file
        db.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        raise _damaged(str(path), [str(exc)]) from None
    finally:
        db.close()


def in_rollback_mode(path: Path) -> bool:
    """Return whether the store's file is in SQLite's rollback-journal mode (not WAL)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(18)
            return fh.read(2) == b"\x01\x01"
    except OSError:
        return False
