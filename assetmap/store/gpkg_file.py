"""The GeoPackage store's file: what an open file is, whether its layout is current, a new one.

Before the store is read or written its file is inspected: one that is not an estate
store (another GeoPackage, a spreadsheet, an empty file) or that SQLite finds damaged
is refused with one :class:`~assetmap.errors.StoreError`. A store whose layout is not
the one this version writes is rewritten whole (:func:`layout_is_current`); a new one
starts as the seven empty layers GDAL makes (:func:`create_layers`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import stat
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import StoreError
from ..schema import CRS_BNG
from .interface import LAYOUT

__all__ = [
    "INSPECTED",
    "LAYER_LIST",
    "NO_FILE",
    "FileFacts",
    "create_layers",
    "inspect_file",
    "layout_is_current",
    "remove_leftovers",
    "same_file",
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
    key = (opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns, opened.st_ctime_ns)
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
    ``AUTOINCREMENT``) is rewritten whole, which brings it up to date.
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
        return bool(extra == 0)
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
