"""The GeoPackage store's bulk writer: rows deleted and appended in one SQLite transaction.

Rows are appended through SQLite itself: the ADBC SQLite driver binds whole Arrow
columns in C, without holding Python's lock, and the geometry blobs are built
vectorised (:mod:`assetmap.store.gpkg_blobs`); GDAL's per-feature insert took about
twice as long (see BENCHMARKS.md). An import can hand its rows over in chunks: each
chunk is inserted in a second thread while the importer checks the next, and the
shared-site groups are settled once the last is in. The result is an ordinary
GeoPackage, without an R-tree index, read back by GDAL exactly as GDAL would have
written it. Empty text is stored as NULL (and a column with nothing in a chunk is left
out of its insert); the store reads it back as ``""``.

The writer changes either a new file, renamed over the store once written (SQLite
need not sync it: the rename is synced), or the store's file itself (``commit=``
given): then SQLite's rollback journal keeps the old state until the commit, which
is synced to disk, and no page of the file is written before the commit (the change
waits in memory), so that other processes read the old state until then.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import StoreError
from ..schema import one_value
from . import interface
from .gpkg_blobs import gpkg_blobs, point_blobs, to_multi
from .gpkg_file import LAYER_LIST
from .interface import LAYOUT, SHARED_KEY_COLUMNS, SharedGroups, conform, settle_shared_groups
from .interface import differs as _differs
from .overlap import store_overlapped

__all__ = ["BulkWriter"]

#: Rows removed and added from which a change settles the shared groups of every site.
WHOLE_ESTATE_ROWS = 50_000
#: The sites :meth:`BulkWriter.delete_source` removed, with their UPRN and compact postcode.
_GONE = "temp.assetmap_gone"
#: A site's postcode without its spaces, as the index ``sites_postcode`` holds it.
_COMPACT_POSTCODE = "replace(postcode, ' ', '')"
#: The sites sharing a UPRN or compact postcode with a row of the table ``{t}``
#: (``uprn``, ``pc``), each found by its index.
_PEERS = (
    "SELECT fid FROM sites WHERE uprn IN (SELECT uprn FROM {t} WHERE uprn <> '') UNION "
    "SELECT fid FROM sites WHERE postcode IS NOT NULL "  # (the index is partial)
    f"AND {_COMPACT_POSTCODE} IN (SELECT pc FROM {{t}} WHERE pc <> '')"
)
#: The key columns of the sites, up to a ``fid``, of the ids in a JSON list: looked up in
#: the index ``sites_source`` under each source of the import log, in turn (CROSS JOIN).
_SITES_OF_IDS = (
    "SELECT coalesce(s.site_id, '') AS site_id, coalesce(s.source_file, '') AS source_file, "
    "coalesce(s.source_owner, '') AS source_owner, coalesce(s.source_row, 0) AS source_row, "
    "coalesce(s.agency, '') AS agency, coalesce(s.sensitivity, '') AS sensitivity "
    "FROM (SELECT DISTINCT source_file AS f, source_owner AS o FROM imports) AS src "
    "CROSS JOIN sites AS s ON s.source_file = src.f AND s.source_owner IS src.o "
    "WHERE s.site_id IN (SELECT value FROM json_each(?)) AND +s.fid <= ? ORDER BY s.fid"
)


class BulkWriter:
    """Changes to a GeoPackage's rows in one SQLite transaction, through ADBC.

    The feature-count triggers GDAL puts on each layer are dropped while rows
    are deleted and appended, and put back, with the counts and the layers'
    extents brought up to date, when the block ends without error. On error
    nothing is committed (and the caller discards the file).

    Parameters
    ----------
    path
        The GeoPackage file to change.
    commit
        ``None`` when ``path`` is a new file, renamed over the store once written.
        When it is the store itself: a context manager factory, entered while the
        change commits (:func:`assetmap.store.gpkg_file.committing`).
    """

    def __init__(
        self,
        path: Path,
        *,
        commit: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
    ) -> None:
        import adbc_driver_sqlite.dbapi as dbapi

        # an absolute path, so that no file name is read as an SQLite URI; the
        # transaction is begun by hand, once the connection is set up
        self._conn = dbapi.connect(str(Path(path).resolve()), autocommit=True)
        self._cur = self._conn.cursor()
        self._commit = commit
        self._triggers: list[str] = []
        self._extents: dict[str, np.ndarray] = {}
        # held while the connection inserts (in append_chunks' second thread) or looks up
        self._in_use = threading.Lock()
        self._appended_after: int | None = None  # the last fid before append_chunks' rows

    def __enter__(self) -> BulkWriter:
        """Begin the transaction and drop the feature-count triggers."""
        if self._commit is None:
            # a new file that replace_atomically syncs to disk before it is renamed over
            # the store, and discards on any error: SQLite need not sync it as well
            self._cur.execute("PRAGMA synchronous = OFF")
        else:  # the store itself: synced at the commit, and untouched before it
            self._cur.execute("PRAGMA synchronous = FULL")
            self._cur.execute("PRAGMA cache_spill = OFF")
            self._cur.execute(f"PRAGMA busy_timeout = {int(interface.LOCK_TIMEOUT_S * 1000)}")
        self._cur.execute("BEGIN")
        self._cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            f"AND tbl_name IN ({LAYER_LIST}) AND name LIKE 'trigger_%_feature_count_%'"
        )
        for name, sql in self._cur.fetchall():
            self._triggers.append(sql)
            self._cur.execute(f'DROP TRIGGER "{name}"')
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Commit the changes if the block ended without error, else roll them back."""
        try:
            if exc_type is None:
                self._finish()
                try:
                    with self._commit() if self._commit else contextlib.nullcontext():
                        self._cur.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):  # SQLite may have rolled back already
                        self._cur.execute("ROLLBACK")
                    raise
            else:
                with contextlib.suppress(Exception):  # the error that got here matters more
                    self._cur.execute("ROLLBACK")
        finally:
            self._cur.close()
            self._conn.close()

    def _finish(self) -> None:
        """Put the triggers back and bring the feature counts and extents up to date."""
        for sql in self._triggers:
            self._cur.execute(sql)
        for layer in LAYOUT:
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
        """Return the sources in the import log, in order: (owner, name)."""
        self._cur.execute(
            "SELECT coalesce(source_owner, ''), source_file FROM imports ORDER BY fid"
        )
        return [(row[0], row[1]) for row in self._cur.fetchall()]

    def names(self, layer: str, column: str) -> list[tuple[str, str]]:
        """Return the (name, owner) of the rows of ``layer`` named in ``column``, in order."""
        self._cur.execute(
            f"SELECT coalesce(\"{column}\", ''), coalesce(owner, '') FROM \"{layer}\" ORDER BY fid"
        )
        return [(row[0], row[1]) for row in self._cur.fetchall()]

    def delete_named(self, layer: str, column: str, name: str, *, owner: str | None = None) -> int:
        """Delete the rows of ``layer`` whose ``column`` is ``name`` (and of ``owner``, if given).

        Returns how many were deleted.
        """
        where = f'FROM "{layer}" WHERE "{column}" = ?'
        params: tuple[str, ...] = (name,)
        if owner is not None:
            where += " AND coalesce(owner, '') = ?"
            params = (name, owner)
        removed = int(self._value(f"SELECT count(*) {where}", params))
        self._cur.execute(f"DELETE {where}", params)
        return removed

    def _value(self, sql: str, params: tuple = ()) -> Any:
        """Return the one value a query of one row gives (a count, a largest ``fid``)."""
        self._cur.execute(sql, params)
        row = self._cur.fetchone()
        assert row is not None, sql  # each query here is an aggregate or a stored layer's
        return row[0]

    def delete_source(self, source_file: str, owner: str = "") -> int:
        """Delete every row the source (``owner``, ``source_file``) brought.

        Returns
        -------
        int
            The sites and requests deleted.
        """
        mine = "source_file = ? AND coalesce(source_owner, '') = ?"
        params = (source_file, owner)
        # the sites are found in one pass over the layer (a large estate's largest cost
        # of a small change), and deleted by fid; their UPRNs and postcodes are kept
        # (until the writer closes) for the shared groups to be settled near them
        gone = _GONE
        self._cur.execute(f"DROP TABLE IF EXISTS {gone}")
        self._cur.execute(
            "CREATE TEMP TABLE assetmap_gone AS SELECT fid, site_id, uprn, "
            f"{_COMPACT_POSTCODE} AS pc FROM sites WHERE {mine}",
            params,
        )
        removed = int(self._value(f"SELECT count(*) FROM {gone}"))
        if removed:
            self._cur.execute(
                f"DELETE FROM footprints WHERE site_id IN (SELECT site_id FROM {gone})"
            )
            self._cur.execute(f"DELETE FROM sites WHERE fid IN (SELECT fid FROM {gone})")
        removed += int(self._value(f"SELECT count(*) FROM requests WHERE {mine}", params))
        for layer in ("requests", "quarantine", "imports"):
            self._cur.execute(f"DELETE FROM {layer} WHERE {mine}", params)
        return removed

    def append(self, layer: str, frame: pd.DataFrame) -> None:
        """Append a frame's rows to ``layer``.

        The frame's columns are named as the layer's, and its points given as a
        geometry column or as ``easting`` and ``northing`` columns.
        """
        table = self._arrow_rows(layer, frame, self._srs_id(layer))
        if table is not None:
            with self._indexed_after(layer):
                self._insert(layer, table)

    @contextlib.contextmanager
    def _indexed_after(self, layer: str) -> Iterator[None]:
        """Drop the indexes of ``layer`` while rows are appended to it empty; make them after.

        An index made over a million rows at once is one sort; kept up to date row by
        row it is a random write a row (many times slower: a new store's sites, or a
        store rewritten whole). On error the transaction, and so the drop, is undone.
        """
        made: list[tuple[str, str]] = []
        if not self._value(f'SELECT EXISTS (SELECT 1 FROM "{layer}")'):
            self._cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                (layer,),
            )
            made = [(str(name), str(sql)) for name, sql in self._cur.fetchall()]
            for name, _ in made:
                self._cur.execute(f'DROP INDEX "{name}"')
        yield
        for _, sql in made:
            self._cur.execute(sql)

    def append_chunks(
        self, layer: str, chunks: Iterable[pd.DataFrame], keys: tuple[str, ...] = ()
    ) -> tuple[int, pd.DataFrame]:
        """Append frames to ``layer`` as :meth:`append` does, each while the next is made.

        Each chunk is made into Arrow columns and inserted by SQLite in a second
        thread (the driver releases Python's lock while it inserts), so the work that
        makes a chunk overlaps the storing of those before (at most
        :data:`assetmap.store.overlap.IN_FLIGHT` wait). Chunks are stored in order, one at a time;
        an error in either thread is raised here, and no chunk is stored after it.

        Returns
        -------
        last_fid, appended
            The largest ``fid`` of the layer before the chunks (0 when empty), and the
            ``keys`` columns of every appended row, in order.
        """
        last_fid = int(self._value(f'SELECT coalesce(max(fid), 0) FROM "{layer}"'))
        if layer == "sites":
            self._appended_after = last_fid
        kept: list[dict[str, pd.Series]] = []

        def keeping_keys() -> Iterator[pd.DataFrame]:
            for frame in chunks:
                if keys:  # the columns themselves, not a copy
                    kept.append({key: frame[key] for key in keys})
                yield frame

        with self._indexed_after(layer):
            self._store_overlapped(layer, keeping_keys())
        appended = (
            pd.DataFrame(
                {key: pd.concat([part[key] for part in kept], ignore_index=True) for key in keys}
            )
            if kept
            else pd.DataFrame({c: pd.Series(dtype="str") for c in keys})
        )
        return last_fid, appended

    def _store_overlapped(self, layer: str, frames: Iterator[pd.DataFrame]) -> None:
        """Store each frame in a second thread while the next is made (see append_chunks)."""
        srs_id = self._srs_id(layer)
        store_overlapped(
            frames, lambda frame: self._store_chunk(layer, frame, srs_id), name="assetmap-store"
        )

    def _store_chunk(self, layer: str, frame: pd.DataFrame, srs_id: int | None) -> None:
        """Store one chunk (in the second thread)."""
        table = self._arrow_rows(layer, frame, srs_id)
        if table is not None:
            self._insert(layer, table)

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
        with self._in_use:
            self._cur.executemany(
                f'INSERT INTO "{layer}" ({names}) VALUES ({values})', table.select(bound)
            )

    def _srs_id(self, layer: str) -> int | None:
        """Return the ``srs_id`` of a layer's geometry (``None`` for a table)."""
        if LAYOUT[layer][1] is None:
            return None
        return int(
            self._value(
                "SELECT srs_id FROM gpkg_geometry_columns WHERE lower(table_name) = ?", (layer,)
            )
        )

    def _arrow_rows(self, layer: str, frame: pd.DataFrame, srs_id: int | None):
        """Return the rows of ``frame`` as an Arrow table for ``layer`` (None when there are none).

        The layer's extent is brought up to date.
        """
        if not len(frame):
            return None
        import pyarrow as pa

        columns = [c for c in frame.columns if c in LAYOUT[layer][0]]
        table = pa.table({c: _arrow_column(frame[c]) for c in columns})
        # empty text is stored as NULL (read back as ""), and a column with nothing in
        # it is left out of the insert: binding a million empty values would cost a
        # tenth of the insert
        for i, name in enumerate(table.column_names):
            if _is_text(table.schema.field(i).type):
                table = table.set_column(i, name, _empty_as_null(table.column(i)))
        table = table.drop_columns([c for c in columns if table.column(c).null_count == len(table)])
        geometry = None if srs_id is None else _geometry_blobs(LAYOUT[layer][1], frame, srs_id)
        if geometry is not None:
            blobs, extent = geometry
            table = table.add_column(0, "geom", blobs)
            if np.isfinite(extent).all():
                old = self._extents.get(layer, extent)
                self._extents[layer] = np.concatenate(
                    [np.minimum(old, extent)[:2], np.maximum(old, extent)[2:]]
                )
        return table

    def update_shared_groups(
        self,
        shared: SharedGroups,
        rows: pd.DataFrame | None,
        *,
        appended: tuple[int, pd.DataFrame] | None = None,
    ) -> pd.DataFrame | None:
        """Recompute ``shared_group`` of the sites a change can alter, and of the new ``rows``.

        A site's group depends only on the sites that share its UPRN or (compact)
        postcode (:mod:`assetmap.registers.shared_sites`), so the groups are settled
        over the sites *near* the change (sharing a UPRN or postcode with a site
        :meth:`delete_source` removed or with a new row) and their own UPRN and
        postcode peers, and set on the near ones: each gets the group it would get
        in the whole estate. A change of :data:`WHOLE_ESTATE_ROWS` rows or more
        settles every stored site instead (fewer look-ups). Stored sites whose group
        changed are updated, and ``rows`` is returned with its groups, to be
        appended. With ``appended`` (what :meth:`append_chunks` returned), the new
        rows are already stored, after that ``fid``: they are given by their key
        columns and updated in place. ``shared`` is called once, even with no sites
        near (with none: the importer's report is made there).
        """
        last_fid = None
        if appended is not None:
            last_fid, rows = appended
        touched = self._value(f"SELECT count(*) FROM {_GONE}") if self._has_gone() else 0
        if touched + (0 if rows is None else len(rows)) < WHOLE_ESTATE_ROWS:
            return self._settle_near(shared, rows, last_fid)
        stored = self._stored_keys("" if last_fid is None else f"WHERE fid <= {int(last_fid)}")
        settled = settle_shared_groups(shared, stored, rows)
        if settled is None:  # no sites at all
            return None
        before, new = settled
        if stored is not None:
            changed = _differs(before, stored["shared_group"])
            if changed.any():
                self._set_groups(before[changed], stored["fid"].to_numpy()[changed])
        if rows is None:
            return None
        if last_fid is not None:
            changed = _differs(new, rows["shared_group"])
            if changed.any():  # the new rows are stored in order, after last_fid
                self._set_groups(new[changed], self._fids_after(last_fid, len(new))[changed])
            return None
        rows["shared_group"] = pd.Series(new.to_numpy(), index=rows.index, dtype="str")
        return rows

    def _has_gone(self) -> bool:
        """Return whether :meth:`delete_source` left the table of the sites it removed."""
        return bool(
            self._value(
                "SELECT count(*) FROM sqlite_temp_master WHERE type = 'table' "
                "AND name = 'assetmap_gone'"
            )
        )

    def _settle_near(
        self, shared: SharedGroups, rows: pd.DataFrame | None, last_fid: int | None
    ) -> pd.DataFrame | None:
        """Settle the groups near the change (see :meth:`update_shared_groups`).

        The UPRNs and postcodes touched are those of the removed sites and of the
        new rows (stored after ``last_fid``, or ``rows`` to be appended); the sites
        sharing one are found by the indexes on ``uprn`` and the compact postcode.
        """
        self._cur.execute("DROP TABLE IF EXISTS temp.assetmap_touched")
        # pc without a type: compared with the indexed expression, which has none, it
        # must have none either for the index to be used
        self._cur.execute("CREATE TEMP TABLE assetmap_touched (uprn TEXT, pc)")
        if self._has_gone():
            self._cur.execute(f"INSERT INTO temp.assetmap_touched SELECT uprn, pc FROM {_GONE}")
        if last_fid is not None:
            self._cur.execute(
                f"INSERT INTO temp.assetmap_touched SELECT uprn, {_COMPACT_POSTCODE} "
                f"FROM sites WHERE fid > {int(last_fid)}"
            )
        elif rows is not None and len(rows):
            self._touch(rows)
        self._cur.execute("DROP TABLE IF EXISTS temp.assetmap_near")
        self._cur.execute(
            "CREATE TEMP TABLE assetmap_near AS SELECT fid, uprn, "
            f"{_COMPACT_POSTCODE} AS pc FROM sites WHERE fid IN "
            f"({_PEERS.format(t='temp.assetmap_touched')})"
        )
        stored = self._stored_keys(
            f"WHERE fid IN ({_PEERS.format(t='temp.assetmap_near')}) ORDER BY fid"
        )
        self._cur.execute("SELECT fid FROM temp.assetmap_near")
        near_fids = self._cur.fetch_arrow_table().column(0).to_numpy()
        if last_fid is not None or rows is None:  # every site is stored: called even with none
            keys = stored if stored is not None else _no_keys()
            settled = settle_shared_groups(shared, None, keys)
            assert settled is not None  # (sites given: never None)
            before, new = settled[1], None
        else:
            settled = settle_shared_groups(shared, stored, rows)
            if settled is None:
                return None
            before, new = settled
        if stored is not None:
            changed = _differs(before, stored["shared_group"]) & np.isin(
                stored["fid"].to_numpy(), near_fids
            )
            if changed.any():
                self._set_groups(before[changed], stored["fid"].to_numpy()[changed])
        if new is None or rows is None:
            return None
        rows["shared_group"] = pd.Series(new.to_numpy(), index=rows.index, dtype="str")
        return rows

    def _touch(self, rows: pd.DataFrame) -> None:
        """Add the UPRNs and compact postcodes of ``rows`` (not stored yet) to those touched."""
        import pyarrow as pa

        def text(column: str) -> pa.Array:
            values = rows[column].astype("str").fillna("")
            if column == "postcode":
                values = values.str.replace(" ", "", regex=False)
            return pa.array(values.tolist(), type=pa.string())

        keys = pa.table({"uprn": text("uprn"), "pc": text("postcode")})
        self._cur.executemany("INSERT INTO temp.assetmap_touched (uprn, pc) VALUES (?, ?)", keys)

    def site_keys(self, site_ids: Sequence[str]) -> pd.DataFrame:
        """Return the key columns of the sites of these ids, as the transaction sees them.

        In ``fid`` order, of the sites stored before the rows :meth:`append_chunks`
        is adding (those are the change's own), and of the sources in the import log
        (every source a store holds). Safe to call while it stores a chunk in its
        second thread.
        """
        import pyarrow as pa

        ids = json.dumps([str(i) for i in site_ids])
        upto = (1 << 62) if self._appended_after is None else self._appended_after
        with self._in_use:
            with contextlib.closing(self._conn.cursor()) as cur:
                cur.execute(_SITES_OF_IDS, (ids, upto))
                found = cur.fetch_arrow_table()
        return found.to_pandas(
            types_mapper=lambda t: (
                pd.StringDtype(na_value=np.nan) if t in (pa.string(), pa.large_string()) else None
            )
        )

    def _stored_keys(self, where: str) -> pd.DataFrame | None:
        """Return ``fid`` and the shared-site key columns of the stored sites ``where`` picks.

        ``None`` when there are none.
        """
        import pyarrow as pa

        # coalesce: the driver takes each column's type from its first rows, and a
        # column empty (NULL) there would be taken for numbers
        self._cur.execute(
            "SELECT fid, "
            + ", ".join(f'coalesce("{c}", \'\') AS "{c}"' for c in SHARED_KEY_COLUMNS)
            + f" FROM sites {where}"
        )
        found = self._cur.fetch_arrow_table()
        if not found.num_rows:
            return None
        stored = found.to_pandas(
            types_mapper=lambda t: (
                pd.StringDtype(na_value=np.nan) if t in (pa.string(), pa.large_string()) else None
            )
        )
        return conform(stored, {"fid": "int64", **{c: "str" for c in SHARED_KEY_COLUMNS}})

    def _fids_after(self, last_fid: int, expected: int) -> np.ndarray:
        """Return the ``fid`` of the sites stored after ``last_fid``, in order."""
        self._cur.execute(f"SELECT fid FROM sites WHERE fid > {int(last_fid)} ORDER BY fid")
        fids = self._cur.fetch_arrow_table().column(0).to_numpy()
        if len(fids) != expected:
            raise StoreError(f"{expected} sites were appended but {len(fids)} are stored")
        return fids

    def _set_groups(self, groups: pd.Series, fids: np.ndarray) -> None:
        """Set the ``shared_group`` of the sites of these ``fid``."""
        import pyarrow as pa

        params = pa.table(
            {
                "shared_group": pa.array(groups.tolist(), type=pa.string()),
                "fid": pa.array(fids),
            }
        )
        self._cur.executemany("UPDATE sites SET shared_group = ? WHERE fid = ?", params)


def _no_keys() -> pd.DataFrame:
    """Return ``fid`` and the shared-site key columns of no site."""
    return conform(pd.DataFrame(), {"fid": "int64", **{c: "str" for c in SHARED_KEY_COLUMNS}})


def _geometry_blobs(geometry_type: str | None, frame: pd.DataFrame, srs_id: int):
    """Return the blobs and extent of a frame's geometry or points (None when it has neither)."""
    if geometry_type is None:
        return None
    if isinstance(frame, gpd.GeoDataFrame):
        geometry = frame.geometry
        if geometry_type == "MultiPolygon":
            geometry = to_multi(geometry)
        return gpkg_blobs(np.asarray(geometry.array, dtype=object), srs_id)
    if "easting" in frame.columns:
        x = frame["easting"].to_numpy(dtype="float64")
        y = frame["northing"].to_numpy(dtype="float64")
        return point_blobs(x, y, srs_id)
    return None


def _arrow_column(values: pd.Series):
    """Return a column as Arrow: Arrow-backed text as it is, numbers with NaN as null."""
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
    """Return the text columns of an Arrow table that hold one value on every row, with it.

    Only columns without nulls and without NUL characters count.
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
    """Return ``value`` as an SQL string literal: in single quotes, each single quote doubled.

    That is the whole of SQLite's quoting for text: nothing else in the literal
    is special. Text with a NUL character is never given (see :func:`_constant_text`).
    """
    return "'" + value.replace("'", "''") + "'"


def _empty_as_null(column):
    """Return an Arrow text column with its empty strings made null (the strings not copied)."""
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
