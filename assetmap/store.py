"""The estate store: one GeoPackage file behind one small interface.

The store holds five layers: ``sites`` (points, EPSG:27700), ``footprints``
(polygons of sites whose register gave one), ``requests`` (space requests),
``quarantine`` (every rejected row with its reason) and ``imports`` (one
row per source). Every write is transactional in the simplest robust way: the new
store is built in full in a temporary file beside the old one, flushed to
disk, and renamed over it. A failure or a kill at any moment leaves either the
old store or the new one, never a mixture. A lock file serialises writers.
The temporary file is readable by its writer only until it is renamed, and the
new store keeps the old one's permissions (see
:func:`assetmap.files.replace_atomically`).

Opening the store, to read or to write, checks what the file is:

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
- Temporary files left beside the store by a writer that was killed are
  removed, once the store's lock shows that no writer is at work.

Every read (:meth:`GeoPackageStore.sites` and the rest) sees one state of the
file, never a mixture of the states before and after an import that renames a
new file over it while the read opens its layers one after another. A read holds
the file it opened at the start open, and ends by checking that the store's name
still leads to that file; if an import replaced it meanwhile, the read is made
again. (Reading every layer through ``/proc/self/fd`` instead does not work:
SQLite follows that link back to the store's name, and so to the new file.)

How the temporary file is built:

- When the store already exists in the current layout, it is *copied* and the
  copy is changed in place: the source's rows are deleted and the new rows
  appended, in one SQLite transaction. A small import into a large estate
  then costs a file copy, not a rewrite of the estate.
- Otherwise (a new store, or one written by an older version of assetmap, which
  this migrates), GDAL creates the five empty layers and every row is appended.
  A new store has 64 KB SQLite pages, and its ``fid`` columns are plain
  ``INTEGER PRIMARY KEY`` (GDAL's ``AUTOINCREMENT`` costs a write to
  ``sqlite_sequence`` on every row).

Rows are appended in bulk through SQLite itself (the ADBC SQLite driver binds
whole Arrow columns in C, without holding Python's lock), with the GeoPackage
geometry blobs built vectorised; GDAL's per-feature insert took about twice as
long (see BENCHMARKS.md). An import can hand its rows over in chunks: each chunk
is inserted in a second thread while the importer checks the next, and the
shared-site groups are settled once the last is in. The result is an ordinary
GeoPackage, without an R-tree index, read back by GDAL exactly as GDAL would
have written it. Empty text is stored as NULL (and a column with nothing in a
chunk is left out of its insert); the store reads it back as ``""``.

:class:`EstateStore` is the interface the engine uses; a PostGIS store can
implement it later without any change elsewhere.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import os
import shutil
import sqlite3
import stat
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import StoreError
from .files import replace_atomically, temporary_files
from .schema import (
    CRS_BNG,
    QUARANTINE_COLUMNS,
    REQUEST_COLUMNS,
    SITE_COLUMNS,
    empty_requests,
    empty_sites,
    one_value,
)
from .settings import STORE_ENV as STORE_ENV  # the store's variable, for callers
from .settings import default_store_path

__all__ = [
    "IMPORT_LOG_COLUMNS",
    "EstateStore",
    "GeoPackageStore",
    "SourceUpdate",
    "default_store_path",
    "open_store",
]

#: Seconds a writer waits for another writer's lock before giving up with a message.
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

_LAYERS = ("sites", "footprints", "requests", "quarantine", "imports")
#: Provenance shared by every row of a source: kept once, in the import log.
_PER_SOURCE = ("source_sha256", "imported_at")
_STORED_SITE_COLUMNS = {k: v for k, v in SITE_COLUMNS.items() if k not in _PER_SOURCE}
_STORED_REQUEST_COLUMNS = {k: v for k, v in REQUEST_COLUMNS.items() if k not in _PER_SOURCE}


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
    rows: gpd.GeoDataFrame | Iterator[pd.DataFrame]
    footprints: gpd.GeoDataFrame | None
    quarantine: pd.DataFrame
    log: dict
    owner: str = ""


class EstateStore(ABC):
    """What the engine needs from a store of the public estate."""

    @abstractmethod
    def sites(self) -> gpd.GeoDataFrame:
        """Every site, with :data:`assetmap.schema.SITE_COLUMNS`, in EPSG:27700."""

    @abstractmethod
    def site_keys(self) -> pd.DataFrame:
        """``site_id``, ``source_file``, ``source_owner``, ``source_row``, ``agency`` and
        ``sensitivity`` of every site (no geometry).
        """

    @abstractmethod
    def footprints(self) -> gpd.GeoDataFrame:
        """Polygon footprints: ``site_id`` and geometry, in EPSG:27700."""

    @abstractmethod
    def requests(self) -> gpd.GeoDataFrame:
        """Every space request, with :data:`assetmap.schema.REQUEST_COLUMNS`."""

    @abstractmethod
    def quarantine(self) -> pd.DataFrame:
        """Every rejected row, with :data:`assetmap.schema.QUARANTINE_COLUMNS`."""

    @abstractmethod
    def imports(self) -> pd.DataFrame:
        """The import log, one row per source currently in the store."""

    @abstractmethod
    def replace_source(self, update: SourceUpdate, *, shared=None) -> None:
        """Replace everything a source brought with ``update``, in one transaction.

        ``shared``, when given, is called with the merged sites (at least
        ``site_id``, ``source_file``, ``sector``, ``agency``, ``name``,
        ``postcode``, ``uprn`` and ``shared_group``) and returns the
        ``shared_group`` column for them, aligned to them (see
        :func:`assetmap.registers.validate.shared_groups`).
        """

    @abstractmethod
    def remove_source(self, source_file: str, *, owner: str | None = None, shared=None) -> int:
        """Remove a source and everything it brought; return the rows removed.

        ``owner`` picks the source when sources of several owners share the name
        (``None``: the only source of that name).
        """


def _conform(frame: pd.DataFrame, columns: dict[str, str], *, points: bool = False) -> pd.DataFrame:
    """Give a frame exactly the canonical columns, in order, with their dtypes.

    A GeoDataFrame keeps its geometry; with ``points``, a frame that gives its
    points as ``easting`` and ``northing`` columns keeps those.
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
        if _conforms(out[name], dtype):
            continue
        if dtype == "str":
            values = out[name]
            if not pd.api.types.is_string_dtype(values.dtype):  # a column SQL had only NULLs in
                values = values.astype(object)
            out[name] = values.fillna("").astype("str")
        elif dtype == "int64":
            out[name] = pd.to_numeric(out[name], errors="coerce").fillna(0).astype("int64")
        else:
            out[name] = pd.to_numeric(out[name], errors="coerce").astype(dtype)
    keep = list(columns)
    if isinstance(out, gpd.GeoDataFrame):
        keep.append(out.geometry.name)
    elif points and {"easting", "northing"} <= set(out.columns):
        keep += ["easting", "northing"]
    return out[keep]


@functools.lru_cache(maxsize=16)
def _empty_frame(columns: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """A frame with no rows and these columns (name, dtype); copy it before use."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns})


def _conforms(values: pd.Series, dtype: str) -> bool:
    """Whether a column already has ``dtype`` (text: ``str`` without missing values)."""
    if dtype == "str":
        return values.dtype == _STR and not values.hasnans
    return values.dtype == dtype


_STR = pd.Series(dtype="str").dtype  # what ``astype("str")`` gives


@dataclass(frozen=True)
class _FileFacts:
    """What opening a store's file found: its layers, and tables other than the store's."""

    layers: frozenset[str]
    other_tables: tuple[str, ...] = ()


_NO_FILE = _FileFacts(frozenset())
#: File states already inspected in this process (see GeoPackageStore._inspect).
_INSPECTED: dict[tuple, _FileFacts] = {}
_INSPECTED_LOCK = threading.Lock()
#: How many times a read is made before it gives up on a store replaced every time.
_READ_ATTEMPTS = 20
_SQLITE_HEADER = b"SQLite format 3\x00"
_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_LAYER_NAMES = "SELECT table_name FROM gpkg_contents ORDER BY table_name"


def _one_file_state(method):
    """Make a read method of :class:`GeoPackageStore` see one state of the store's file
    (see :meth:`GeoPackageStore._one_state`); reads within it share that state.
    """

    @functools.wraps(method)
    def read(self, *args, **kwargs):
        if getattr(self._reading, "facts", None) is not None:
            return method(self, *args, **kwargs)
        return self._one_state(lambda: method(self, *args, **kwargs))

    return read


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


def _remove_leftovers(paths: list[Path]) -> None:
    """Remove the temporary files (and journals) of killed writers; never a folder."""
    for path in paths:
        if path.is_file() or path.is_symlink():
            with contextlib.suppress(OSError):
                path.unlink()


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
        return f"GeoPackageStore({str(self.path)!r})"

    # reading ---------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the store file exists yet."""
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

    def _read(self, layer: str):
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

    @_one_file_state
    def sites(self) -> gpd.GeoDataFrame:
        frame = self._read("sites")
        if frame is None:
            return empty_sites()
        return gpd.GeoDataFrame(_conform(self._provenance(frame), SITE_COLUMNS), crs=CRS_BNG)

    def _provenance(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add each row's per-source provenance (file hash, import time) from the import log.

        Those two values are the same for every row of a source, so the store keeps
        them once, in ``imports``, and rows carry only ``source_file`` and ``source_row``.
        """
        log = self.imports()
        log = log.assign(_key=_source_keys(log)).drop_duplicates("_key")
        frame = frame.drop(columns=[c for c in _PER_SOURCE if c in frame.columns])
        codes = pd.Index(log["_key"]).get_indexer(_source_keys(frame))
        for c in _PER_SOURCE:
            values = log[c].to_numpy(dtype=object)
            frame[c] = pd.Series(
                np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else "", ""),
                index=frame.index,
                dtype="str",
            )
        return frame

    @_one_file_state
    def site_keys(self) -> pd.DataFrame:
        import pyogrio

        columns = ["site_id", "source_file", "source_owner", "source_row", "agency", "sensitivity"]
        if "sites" not in self._layers():
            return pd.DataFrame({c: pd.Series(dtype=SITE_COLUMNS[c]) for c in columns})
        frame = pyogrio.read_dataframe(
            self.path, layer="sites", columns=columns, read_geometry=False, use_arrow=True
        )
        return _conform(pd.DataFrame(frame), {c: SITE_COLUMNS[c] for c in columns})

    @_one_file_state
    def footprints(self) -> gpd.GeoDataFrame:
        frame = self._read("footprints")
        if frame is None:
            return gpd.GeoDataFrame(
                {"site_id": pd.Series(dtype="str")}, geometry=gpd.GeoSeries([], crs=CRS_BNG)
            )
        return frame

    @_one_file_state
    def requests(self) -> gpd.GeoDataFrame:
        frame = self._read("requests")
        if frame is None:
            return empty_requests()
        return gpd.GeoDataFrame(_conform(self._provenance(frame), REQUEST_COLUMNS), crs=CRS_BNG)

    @_one_file_state
    def quarantine(self) -> pd.DataFrame:
        frame = self._read("quarantine")
        if frame is None:
            frame = pd.DataFrame()
        return _conform(pd.DataFrame(frame), QUARANTINE_COLUMNS)

    @_one_file_state
    def imports(self) -> pd.DataFrame:
        frame = self._read("imports")
        if frame is None:
            frame = pd.DataFrame()
        return _conform(pd.DataFrame(frame), IMPORT_LOG_COLUMNS)

    @_one_file_state
    def report(self, source_file: str, owner: str | None = None) -> dict | None:
        """The stored import report of a source (of ``owner``, when given), or ``None``."""
        log = self.imports()
        hit = log["source_file"] == source_file
        if owner is not None:
            hit &= log["source_owner"] == owner
        hit = log[hit]
        return json.loads(hit["report_json"].iloc[-1]) if len(hit) else None

    # writing ---------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold the store's writer lock; wait :data:`LOCK_TIMEOUT_S` at most for it.

        Raises
        ------
        StoreError
            If another writer holds the lock for longer than that.
        """
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"another import or removal is writing to the store {str(self.path)!r} and "
                f"has not finished after {LOCK_TIMEOUT_S:g} s; nothing was changed. Try "
                "again when it has finished"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @_one_file_state
    def _load_all(self) -> dict[str, pd.DataFrame]:
        """Every layer as stored, for a rewrite (per-source provenance is not joined back)."""
        stored = {}
        for layer, columns, empty in (
            ("sites", _STORED_SITE_COLUMNS, empty_sites),
            ("requests", _STORED_REQUEST_COLUMNS, empty_requests),
        ):
            frame = self._read(layer)
            frame = empty() if frame is None else frame
            stored[layer] = gpd.GeoDataFrame(_conform(frame, columns), crs=CRS_BNG)
        return {
            **stored,
            "footprints": self.footprints(),
            "quarantine": self.quarantine(),
            "imports": self.imports(),
        }

    def replace_source(self, update: SourceUpdate, *, shared=None) -> None:
        with self._lock():
            self._change(update.source_file, update.owner, update, shared)

    def remove_source(self, source_file: str, *, owner: str | None = None, shared=None) -> int:
        with self._lock():
            return self._change(source_file, owner, None, shared)

    def _change(
        self, source_file: str, owner: str | None, update: SourceUpdate | None, shared
    ) -> int:
        """Drop ``source_file`` and add ``update`` in a new copy of the store, then rename it.

        The copy starts as the store's file when its layout is current, else as a
        new file holding the store's rows rewritten (a new store: none).

        Returns
        -------
        int
            The sites and requests of ``source_file`` that were removed.
        """
        self._check_before_write()
        with replace_atomically(
            self.path, suffix=".tmp.gpkg", private=True, replaces_store=True
        ) as tmp:
            if self._layout_is_current():
                shutil.copyfile(self.path, tmp)
            else:
                self._rewrite(tmp)
            with _BulkWriter(tmp) as db:
                sources = db.sources()
                owner = _pick_owner(source_file, owner, sources, removing=update is None)
                removed = db.delete_source(source_file, owner)
                layer = None
                if update is not None:
                    layer = "sites" if update.kind == "sites" else "requests"
                streamed = update is not None and not isinstance(update.rows, pd.DataFrame)
                rows = appended = None
                if streamed:  # chunks are stored as they come; shared groups follow
                    columns = _LAYOUT[layer][0]
                    keys = _SHARED_KEY_COLUMNS if shared is not None and layer == "sites" else ()
                    appended = db.append_chunks(
                        layer,
                        (_owned(_conform(c, columns, points=True), owner) for c in update.rows),
                        keys,
                    )
                elif update is not None:
                    rows = _owned(_conform(update.rows, _LAYOUT[layer][0], points=True), owner)
                if shared is not None and layer in (None, "sites"):
                    rows = db.update_shared_groups(shared, rows, appended=appended)
                if update is not None:
                    if not streamed:
                        db.append(layer, rows)
                    if update.footprints is not None and len(update.footprints):
                        fp = update.footprints
                        db.append("footprints", fp[["site_id", fp.geometry.name]])
                    quarantine = _conform(update.quarantine, QUARANTINE_COLUMNS)
                    db.append("quarantine", _owned(quarantine, owner))
                    log = _conform(pd.DataFrame([update.log]), IMPORT_LOG_COLUMNS)
                    db.append("imports", _owned(log, owner))
        return removed

    def _rewrite(self, path: Path) -> None:
        """Write the store's rows, as read, into a new file in the current layout."""
        data = self._load_all() if self.exists() else {}
        _create_layers(path)
        with _BulkWriter(path) as db:
            for layer, frame in data.items():
                if layer in _LAYOUT:
                    columns = _LAYOUT[layer][0]
                    if layer != "footprints":
                        frame = _conform(frame, columns)
                    db.append(layer, frame)

    # opening ---------------------------------------------------------------
    def _one_state(self, read):
        """Call ``read`` until it ran on one state of the store's file, and return its result.

        The file is held open from before ``read`` starts (so that its inode cannot be
        given to another file) until the store's name is seen to lead to it still
        afterwards: every layer ``read`` opened by name was then this file. If an
        import renamed a new file over the store meanwhile, ``read`` is called again
        (an error raised by a file that was replaced is not the store's error).
        """
        if not self._swept:
            self._sweep(locked=False)
        for _ in range(_READ_ATTEMPTS):
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:  # no store yet: every layer is empty
                return self._on(_NO_FILE, read)
            except OSError as exc:
                raise StoreError(
                    f"the store {str(self.path)!r} cannot be opened: {exc.strerror or exc}"
                ) from None
            try:
                opened = os.fstat(fd)
                try:
                    result = self._on(self._inspect(fd, opened), read)
                except Exception:
                    if self._still(opened):
                        raise
                    continue
                if self._still(opened):
                    return result
            finally:
                os.close(fd)
        raise StoreError(
            f"the store {str(self.path)!r} was replaced {_READ_ATTEMPTS} times while it was "
            "being read (imports in progress); try again"
        )

    def _on(self, facts: _FileFacts, read):
        self._reading.facts = facts
        try:
            return read()
        finally:
            self._reading.facts = None

    def _still(self, opened: os.stat_result) -> bool:
        """Whether the store's name leads to the file ``opened`` describes."""
        try:
            now = os.stat(self.path)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)

    def _inspect(self, fd: int, opened: os.stat_result, *, fresh: bool = False) -> _FileFacts:
        """What the open file ``fd`` is: an estate store's layers, or a :class:`StoreError`.

        The result for a state of the file (device, inode, size, times) is kept for
        the process, unless ``fresh``.
        """
        key = (opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns, opened.st_ctime_ns)
        if not fresh:
            with _INSPECTED_LOCK:
                if key in _INSPECTED:
                    return _INSPECTED[key]
        path = str(self.path)
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
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
                found = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
                if found != ["ok"]:
                    raise _damaged(path, found)
                tables = [row[0] for row in db.execute(_TABLES)]
                if "gpkg_contents" not in tables:
                    raise _foreign(path, "it is an SQLite database, not a GeoPackage")
                layers = [row[0] for row in db.execute(_LAYER_NAMES)]
                columns = {
                    table: {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
                    for table in ("sites", "imports")
                    if table in tables
                }
        except sqlite3.DatabaseError as exc:
            raise _damaged(path, [str(exc)]) from None
        if not all("source_file" in columns.get(t, ()) for t in ("sites", "imports")):
            shown = ", ".join(layers[:10]) + (", ..." if len(layers) > 10 else "")
            what = f"it holds the layer{'s' if len(layers) > 1 else ''} {shown}"
            raise _foreign(path, what if layers else "it holds no layers")
        ours = set(_LAYOUT)
        other = [
            t
            for t in dict.fromkeys([*tables, *layers])
            if t not in ours and not t.lower().startswith(("gpkg_", "rtree_", "sqlite_"))
        ]
        facts = _FileFacts(frozenset(t for t in layers if t in tables), tuple(other))
        if self._still(opened):  # else SQLite may have opened the file renamed over it
            with _INSPECTED_LOCK:
                if len(_INSPECTED) >= 64:
                    _INSPECTED.clear()
                _INSPECTED[key] = facts
        return facts

    def _check_before_write(self) -> None:
        """Check the store before a change, under its lock: it is an estate store (or
        does not exist yet), whole, and can be migrated if its layout is older; and
        remove what killed writers left beside it.
        """
        self._sweep(locked=True)
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(
                f"the store {str(self.path)!r} cannot be opened: {exc.strerror or exc}"
            ) from None
        try:
            facts = self._inspect(fd, os.fstat(fd), fresh=True)
        finally:
            os.close(fd)
        if facts.other_tables and not self._layout_is_current():
            raise StoreError(
                f"the store {str(self.path)!r} is in the layout of an older assetmap and also "
                f"holds other tables ({', '.join(facts.other_tables)}), which updating it "
                "would lose; nothing was changed. Copy them to another file and remove them "
                "from the store first"
            )

    def _sweep(self, *, locked: bool) -> None:
        """Remove the temporary files that writers killed mid-write left beside the store.

        They are the store's only while no writer is at work: with ``locked`` the
        caller holds the store's lock; else it is taken here if it is free at once
        (if not, a writer is at work and they are left for later).
        """
        from filelock import FileLock, Timeout

        self._swept = True
        if not temporary_files(self.path):
            return
        if locked:
            _remove_leftovers(temporary_files(self.path))
            return
        try:
            with FileLock(str(self.path) + ".lock", timeout=0):
                _remove_leftovers(temporary_files(self.path))
        except (Timeout, OSError):
            pass

    def _layout_is_current(self) -> bool:
        """Whether the store exists with exactly the layers and columns this version writes.

        Only such a store is changed in a copy of its file; any other (an older
        layout, an R-tree index added by another tool, a ``fid`` declared
        ``AUTOINCREMENT``) is rewritten whole, which brings it up to date.
        """
        if not self.exists():
            return False
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            return False
        try:
            for layer, (columns, geometry_type) in _LAYOUT.items():
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
                f"({_LAYER_LIST}) AND name NOT LIKE 'trigger_%_feature_count_%') "
                "OR name LIKE 'rtree_%' "
                f"OR (type = 'table' AND name IN ({_LAYER_LIST}) AND sql LIKE '%AUTOINCREMENT%')"
            ).fetchone()[0]
            return extra == 0
        except sqlite3.Error:
            return False
        finally:
            db.close()


def _source_keys(frame: pd.DataFrame) -> pd.Series:
    """A source's identity as one text: its owner and its name (see :class:`SourceUpdate`)."""
    return frame["source_owner"].astype("str") + "\x1f" + frame["source_file"].astype("str")


def _owned(frame: pd.DataFrame, owner: str) -> pd.DataFrame:
    """``frame`` with every row's ``source_owner`` set to ``owner`` (a copy of the column)."""
    frame = frame.copy(deep=False)
    frame["source_owner"] = pd.Series(owner, index=frame.index, dtype="str")
    return frame


def _pick_owner(
    source_file: str, owner: str | None, sources: list[tuple[str, str]], *, removing: bool
) -> str:
    """The owner of the source to change: ``owner`` as given, or, when removing without
    one, the only owner of a source of that name.

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


#: The layers of the store: columns as stored, and geometry type (None: a table).
_LAYOUT: dict[str, tuple[dict[str, str], str | None]] = {
    "sites": (_STORED_SITE_COLUMNS, "Point"),
    "footprints": ({"site_id": "str"}, "MultiPolygon"),
    "requests": (_STORED_REQUEST_COLUMNS, "Point"),
    "quarantine": (QUARANTINE_COLUMNS, None),
    "imports": (IMPORT_LOG_COLUMNS, None),
}
_SQL_TYPES = {"str": "TEXT", "float64": "REAL", "int64": "INTEGER"}
_LAYER_LIST = ", ".join(f"'{layer}'" for layer in _LAYOUT)
#: What the shared-site callback needs of every site.
_SHARED_KEY_COLUMNS = (
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


def _create_layers(path: Path) -> None:
    """Create the store's five layers, empty: the GeoPackage's tables and metadata.

    GDAL makes them once a process, in a file whose bytes are kept for the next store.
    """
    Path(path).write_bytes(_empty_store())


@functools.lru_cache(maxsize=1)
def _empty_store() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="assetmap-layout-") as folder:
        path = Path(folder) / "empty.gpkg"
        _make_layers(path)
        return path.read_bytes()


def _make_layers(path: Path) -> None:
    """Create the store's five layers, empty, with GDAL."""
    import pyogrio

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        for layer, (columns, geometry_type) in _LAYOUT.items():
            frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
            kwargs = {}
            if geometry_type is not None:
                frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS_BNG))
                kwargs["geometry_type"] = geometry_type
                # the analyses build their own in-memory indexes: a GeoPackage
                # R-tree would double the time of every write (see BENCHMARKS.md)
                kwargs["layer_options"] = {"SPATIAL_INDEX": "NO"}
            pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", **kwargs)
    _drop_autoincrement(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        # large pages: a bulk insert does a sixth less work (see BENCHMARKS.md)
        db.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        db.execute("VACUUM")


#: SQLite page size of a new store: the largest SQLite allows.
_PAGE_SIZE = 65_536


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
        for layer in _LAYOUT:
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
            db.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({_LAYER_LIST})")


#: Chunks :meth:`_BulkWriter.append_chunks` lets wait for the store, at most.
_CHUNKS_IN_FLIGHT = 2


class _BulkWriter:
    """Changes to a GeoPackage's rows in one SQLite transaction, through ADBC.

    The feature-count triggers GDAL puts on each layer are dropped while rows
    are deleted and appended, and put back, with the counts and the layers'
    extents brought up to date, when the block ends without error. On error
    nothing is committed (and the caller discards the file).
    """

    def __init__(self, path: Path) -> None:
        import adbc_driver_sqlite.dbapi as dbapi

        # an absolute path, so that no file name is read as an SQLite URI; the
        # transaction is begun by hand, once the connection is set up
        self._conn = dbapi.connect(str(Path(path).resolve()), autocommit=True)
        self._cur = self._conn.cursor()
        self._triggers: list[str] = []
        self._extents: dict[str, np.ndarray] = {}

    def __enter__(self) -> _BulkWriter:
        # the file is a copy that replace_atomically syncs to disk before it is renamed
        # over the store, and discards on any error: SQLite need not sync it as well
        self._cur.execute("PRAGMA synchronous = OFF")
        self._cur.execute("BEGIN")
        self._cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            f"AND tbl_name IN ({_LAYER_LIST}) AND name LIKE 'trigger_%_feature_count_%'"
        )
        for name, sql in self._cur.fetchall():
            self._triggers.append(sql)
            self._cur.execute(f'DROP TRIGGER "{name}"')
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
                self._cur.execute("COMMIT")
            else:
                with contextlib.suppress(Exception):  # the error that got here matters more
                    self._cur.execute("ROLLBACK")
        finally:
            self._cur.close()
            self._conn.close()

    def _finish(self) -> None:
        for sql in self._triggers:
            self._cur.execute(sql)
        for layer in _LAYOUT:
            self._cur.execute(
                "UPDATE gpkg_ogr_contents SET feature_count = "
                f'(SELECT count(*) FROM "{layer}") WHERE lower(table_name) = ?',
                (layer,),
            )
        for layer, (minx, miny, maxx, maxy) in self._extents.items():
            # the GeoPackage extent may be larger than the data, never smaller
            self._cur.execute(
                "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), "
                "min_y = min(coalesce(min_y, ?), ?), max_x = max(coalesce(max_x, ?), ?), "
                "max_y = max(coalesce(max_y, ?), ?), "
                "last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                "WHERE lower(table_name) = ?",
                (minx, minx, miny, miny, maxx, maxx, maxy, maxy, layer),
            )

    def sources(self) -> list[tuple[str, str]]:
        """The sources in the import log, in order: (owner, name)."""
        self._cur.execute(
            "SELECT coalesce(source_owner, ''), source_file FROM imports ORDER BY fid"
        )
        return [(row[0], row[1]) for row in self._cur.fetchall()]

    def _count(self, sql: str, params: tuple) -> int:
        self._cur.execute(sql, params)
        return int(self._cur.fetchone()[0])

    def delete_source(self, source_file: str, owner: str = "") -> int:
        """Delete every row the source (``owner``, ``source_file``) brought; return its
        sites and requests.
        """
        mine = "source_file = ? AND coalesce(source_owner, '') = ?"
        params = (source_file, owner)
        removed = self._count(f"SELECT count(*) FROM sites WHERE {mine}", params)
        removed += self._count(f"SELECT count(*) FROM requests WHERE {mine}", params)
        for sql in (
            f"DELETE FROM footprints WHERE site_id IN (SELECT site_id FROM sites WHERE {mine})",
            f"DELETE FROM sites WHERE {mine}",
            f"DELETE FROM requests WHERE {mine}",
            f"DELETE FROM quarantine WHERE {mine}",
            f"DELETE FROM imports WHERE {mine}",
        ):
            self._cur.execute(sql, params)
        return removed

    def append(self, layer: str, frame: pd.DataFrame) -> None:
        """Append a frame's rows to ``layer``: its columns named as the layer's, and its
        points as a geometry column or as ``easting`` and ``northing`` columns.
        """
        table = self._arrow_rows(layer, frame, self._srs_id(layer))
        if table is not None:
            self._insert(layer, table)

    def append_chunks(
        self, layer: str, chunks: Iterator[pd.DataFrame], keys: tuple[str, ...] = ()
    ) -> tuple[int, pd.DataFrame]:
        """Append frames to ``layer`` as :meth:`append` does, each while the next is made.

        Each chunk is made into Arrow columns and inserted by SQLite in a second
        thread (the driver releases Python's lock while it inserts), so the work that
        makes a chunk overlaps the storing of those before (at most
        :data:`_CHUNKS_IN_FLIGHT` wait). Chunks are stored in order, one at a time;
        an error in either thread is raised here, and no chunk is stored after it.

        Returns
        -------
        last_fid, appended
            The largest ``fid`` of the layer before the chunks (0 when empty), and the
            ``keys`` columns of every appended row, in order.
        """
        from concurrent.futures import ThreadPoolExecutor

        srs_id = self._srs_id(layer)
        self._cur.execute(f'SELECT coalesce(max(fid), 0) FROM "{layer}"')
        last_fid = int(self._cur.fetchone()[0])
        kept: list[pd.DataFrame] = []

        failed = threading.Event()

        def store(frame: pd.DataFrame) -> None:  # in the second thread, a chunk at a time
            if failed.is_set():  # a chunk before failed: the transaction is lost anyway
                return
            try:
                table = self._arrow_rows(layer, frame, srs_id)
                if table is not None:
                    self._insert(layer, table)
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetmap-store") as pool:
            # two chunks may wait to be stored, so that a chunk slow to store holds up
            # the checks only when the next one is slow too
            pending: collections.deque = collections.deque()
            try:
                for frame in chunks:
                    if keys:  # the columns themselves, not a copy
                        kept.append({key: frame[key] for key in keys})
                    while len(pending) >= _CHUNKS_IN_FLIGHT:
                        pending.popleft().result()
                    pending.append(pool.submit(store, frame))
                while pending:
                    pending.popleft().result()
            except BaseException:
                failed.set()
                for waiting in pending:
                    waiting.cancel()
                raise
        appended = (
            pd.DataFrame(
                {key: pd.concat([part[key] for part in kept], ignore_index=True) for key in keys}
            )
            if kept
            else pd.DataFrame({c: pd.Series(dtype="str") for c in keys})
        )
        return last_fid, appended

    def _insert(self, layer: str, table) -> None:
        """Insert the rows of an Arrow table into ``layer``, in the open transaction.

        SQLite is given one ``INSERT`` for all the rows, and the driver binds each
        row's values to it. A text column that holds the same value on every row
        (a register's agency, sector and file, mostly) is written into the
        statement once, as a quoted SQL literal, instead: binding a value costs
        about as much as storing it, and a few such columns are a third of an
        import's insert.
        """
        fixed = _constant_text(table) if table.num_rows > 1 else {}
        bound = [c for c in table.column_names if c not in fixed]
        if not bound:  # a statement binds at least one column, to be run once a row
            bound.append(next(iter(fixed)))
            del fixed[bound[0]]
        names = ", ".join(f'"{c}"' for c in [*bound, *fixed])
        values = ", ".join(["?"] * len(bound) + [_sql_text(v) for v in fixed.values()])
        self._cur.executemany(
            f'INSERT INTO "{layer}" ({names}) VALUES ({values})', table.select(bound)
        )

    def _srs_id(self, layer: str) -> int | None:
        if _LAYOUT[layer][1] is None:
            return None
        self._cur.execute(
            "SELECT srs_id FROM gpkg_geometry_columns WHERE lower(table_name) = ?", (layer,)
        )
        return int(self._cur.fetchone()[0])

    def _arrow_rows(self, layer: str, frame: pd.DataFrame, srs_id: int | None):
        """The rows of ``frame`` as an Arrow table for ``layer`` (None when there are none),
        with the layer's extent brought up to date.
        """
        if not len(frame):
            return None
        import pyarrow as pa

        geometry_type = _LAYOUT[layer][1]
        blobs = extent = None
        if geometry_type is not None:
            if isinstance(frame, gpd.GeoDataFrame):
                geometry = frame.geometry
                if geometry_type == "MultiPolygon":
                    geometry = _to_multi(geometry)
                blobs, extent = _gpkg_blobs(np.asarray(geometry.array, dtype=object), srs_id)
            elif "easting" in frame.columns:
                x = frame["easting"].to_numpy(dtype="float64")
                y = frame["northing"].to_numpy(dtype="float64")
                blobs, extent = _point_blobs(x, y, srs_id)
        columns = [c for c in frame.columns if c in _LAYOUT[layer][0]]
        table = pa.table({c: _arrow_column(frame[c]) for c in columns})
        # empty text is stored as NULL (read back as ""), and a column with nothing in
        # it is left out of the insert: binding a million empty values would cost a
        # tenth of the insert
        for i, name in enumerate(table.column_names):
            if _is_text(table.schema.field(i).type):
                table = table.set_column(i, name, _empty_as_null(table.column(i)))
        table = table.drop_columns([c for c in columns if table.column(c).null_count == len(table)])
        if blobs is not None:
            table = table.add_column(0, "geom", blobs)
            if np.isfinite(extent).all():
                old = self._extents.get(layer, extent)
                self._extents[layer] = np.concatenate(
                    [np.minimum(old, extent)[:2], np.maximum(old, extent)[2:]]
                )
        return table

    def update_shared_groups(
        self,
        shared,
        rows: pd.DataFrame | None,
        *,
        appended: tuple[int, pd.DataFrame] | None = None,
    ) -> pd.DataFrame | None:
        """Recompute ``shared_group`` over the stored sites and the new ``rows``.

        ``shared`` is called with the stored sites followed by ``rows`` (their key
        columns); stored sites whose group changed are updated, and ``rows`` is
        returned with its groups, to be appended. With ``appended`` (what
        :meth:`append_chunks` returned), the new rows are already stored, after
        that ``fid``: they are given by their key columns and updated in place.
        """
        import pyarrow as pa

        if appended is not None:
            last_fid, rows = appended
        self._cur.execute(
            "SELECT fid, "
            + ", ".join(f'"{c}"' for c in _SHARED_KEY_COLUMNS)
            + " FROM sites"
            + ("" if appended is None else f" WHERE fid <= {int(last_fid)}")
        )
        found = self._cur.fetch_arrow_table()
        keys = list(_SHARED_KEY_COLUMNS)
        if found.num_rows:
            stored = found.to_pandas(
                types_mapper=lambda t: (
                    pd.StringDtype(na_value=np.nan)
                    if t in (pa.string(), pa.large_string())
                    else None
                )
            )
            stored = _conform(stored, {"fid": "int64", **{c: "str" for c in keys}})
            merged = (
                stored[keys]
                if rows is None
                else pd.concat([stored[keys], pd.DataFrame(rows[keys])], ignore_index=True)
            )
        elif rows is None:
            return None  # no sites at all
        else:  # nothing stored before: the new rows are all there is
            stored = None
            merged = pd.DataFrame(rows[keys]).reset_index(drop=True)
        groups = pd.Series(shared(merged), dtype="str").reset_index(drop=True)
        n_stored = 0 if stored is None else len(stored)
        if n_stored:
            before = groups.iloc[:n_stored]
            changed = _differs(before, stored["shared_group"])
            if changed.any():
                params = pa.table(
                    {
                        "shared_group": pa.array(before[changed].tolist(), type=pa.string()),
                        "fid": pa.array(stored["fid"].to_numpy()[changed]),
                    }
                )
                self._cur.executemany("UPDATE sites SET shared_group = ? WHERE fid = ?", params)
        new = groups.iloc[n_stored:]
        if appended is not None:
            changed = _differs(new, rows["shared_group"])
            if changed.any():  # the new rows are stored in order, after last_fid
                self._cur.execute(f"SELECT fid FROM sites WHERE fid > {int(last_fid)} ORDER BY fid")
                fids = self._cur.fetch_arrow_table().column(0).to_numpy()
                if len(fids) != len(new):
                    raise StoreError(f"{len(new)} sites were appended but {len(fids)} are stored")
                params = pa.table(
                    {
                        "shared_group": pa.array(new[changed].tolist(), type=pa.string()),
                        "fid": pa.array(fids[changed]),
                    }
                )
                self._cur.executemany("UPDATE sites SET shared_group = ? WHERE fid = ?", params)
            return None
        if rows is None:
            return None
        rows["shared_group"] = pd.Series(new.to_numpy(), index=rows.index, dtype="str")
        return rows


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Where two text columns of the same length differ, by position."""
    return (a.reset_index(drop=True) != b.reset_index(drop=True)).to_numpy(dtype=bool)


def _arrow_column(values: pd.Series):
    """A column as Arrow: Arrow-backed text as it is, numbers with NaN as null."""
    import pyarrow as pa

    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.array(values.array)
    if values.dtype.kind in "fiub":
        return pa.array(values.to_numpy(), from_pandas=True)
    return pa.array(values, from_pandas=True)


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _constant_text(table) -> dict[str, str]:
    """The text columns of an Arrow table that hold one value, the same, on every row
    (no nulls, no NUL characters), with that value.
    """
    found = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not _is_text(column.type) or column.null_count or not len(column):
            continue
        first = column[0].as_py()
        if "\x00" not in first and one_value(column):
            found[name] = first
    return found


def _sql_text(value: str) -> str:
    """``value`` as an SQL string literal: in single quotes, each single quote doubled.

    That is the whole of SQLite's quoting for text: nothing else in the literal
    is special. Text with a NUL character is never given (see :func:`_constant_text`).
    """
    return "'" + value.replace("'", "''") + "'"


def _empty_as_null(column):
    """An Arrow text column with its empty strings made null (the strings are not copied)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = []
    for chunk in column.chunks:
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)
        if chunk.offset or len(offsets) < len(chunk) + 1:  # a slice: let Arrow do it
            chunks.append(pc.if_else(pc.equal(chunk, ""), None, chunk))
            continue
        filled = np.diff(offsets[: len(chunk) + 1]) > 0
        if chunk.null_count:
            filled &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if filled.all():
            chunks.append(chunk)
            continue
        validity = pa.py_buffer(np.packbits(filled, bitorder="little"))
        chunks.append(
            pa.Array.from_buffers(
                chunk.type,
                len(chunk),
                [validity, chunk.buffers()[1], chunk.buffers()[2]],
                null_count=int(len(chunk) - filled.sum()),
            )
        )
    return pa.chunked_array(chunks, type=column.type)


_BLOB_HEADER = b"GP\x00"  # magic and version; a flags byte and the srs_id follow


def _point_blobs(x: np.ndarray, y: np.ndarray, srs_id: int):
    """GeoPackage blobs of 2D points, packed with numpy, and their extent.

    Each blob is an 8-byte header (``GP``, version 0, little-endian, no envelope,
    the srs_id) and 21 bytes of WKB. Rows whose x or y is NaN have no point: NULL.

    Returns
    -------
    blobs, extent
        A pyarrow binary array, and ``[minx, miny, maxx, maxy]`` (NaN when empty).
    """
    import pyarrow as pa

    n = len(x)
    present = np.isfinite(x) & np.isfinite(y)
    srs = int(srs_id).to_bytes(4, "little", signed=True)
    # one packed 29-byte record per point: header and WKB type (13 bytes), x, y
    record = np.dtype([("head", "V13"), ("x", "<f8"), ("y", "<f8")])
    packed = np.empty(n, dtype=record)
    packed["head"] = np.void(_BLOB_HEADER + b"\x01" + srs + b"\x01\x01\x00\x00\x00")
    packed["x"] = x
    packed["y"] = y
    offsets = np.arange(0, 29 * (n + 1), 29, dtype=np.int32)
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    blobs = pa.BinaryArray.from_buffers(
        pa.binary(),
        n,
        [validity, pa.py_buffer(offsets), pa.py_buffer(packed)],
        null_count=int(n - present.sum()),
    )
    if not present.any():
        return blobs, np.full(4, np.nan)
    xs, ys = x[present], y[present]
    return blobs, np.array([xs.min(), ys.min(), xs.max(), ys.max()])


def _gpkg_blobs(geoms: np.ndarray, srs_id: int):
    """GeoPackage geometry blobs (header and WKB) for shapely geometries, and their extent.

    Points, the bulk of an estate, are packed by :func:`_point_blobs`. Other
    geometries carry an x/y envelope after the header, as GDAL writes them; empty
    ones the empty flag. Missing geometries become NULL.

    Parameters
    ----------
    geoms
        Shapely geometries (``None`` where missing), in the layer's coordinate system.
    srs_id
        The layer's ``srs_id`` in ``gpkg_spatial_ref_sys``.

    Returns
    -------
    blobs, extent
        A pyarrow binary array, and ``[minx, miny, maxx, maxy]`` of the present
        geometries (NaN when there are none).
    """
    import pyarrow as pa
    import shapely

    srs = int(srs_id).to_bytes(4, "little", signed=True)
    n = len(geoms)
    present = ~shapely.is_missing(geoms)
    points = shapely.get_type_id(geoms) == 0
    if (points | ~present).all() and not shapely.is_empty(geoms[present]).any():
        return _point_blobs(shapely.get_x(geoms), shapely.get_y(geoms), srs_id)
    wkb = shapely.to_wkb(geoms, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms)
    out = []
    for i in range(n):
        if not present[i]:
            out.append(None)
        elif empty[i]:
            out.append(_BLOB_HEADER + b"\x11" + srs + wkb[i])
        elif points[i]:
            out.append(_BLOB_HEADER + b"\x01" + srs + wkb[i])
        else:
            minx, miny, maxx, maxy = bounds[i]
            envelope = np.array([minx, maxx, miny, maxy], dtype="<f8").tobytes()
            out.append(_BLOB_HEADER + b"\x03" + srs + envelope + wkb[i])
    return pa.array(out, type=pa.binary()), np.asarray(shapely.total_bounds(geoms))


def _to_multi(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    import shapely

    arr = np.asarray(geoms.to_numpy(), dtype=object)
    single = shapely.get_type_id(arr) == 3
    out = arr.copy()
    if single.any():
        out[single] = shapely.multipolygons(arr[single].reshape(-1, 1))
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs)


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
