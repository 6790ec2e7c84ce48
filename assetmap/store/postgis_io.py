"""The PostGIS store's reads of whole layers as Arrow: streamed, in ``fid`` order.

:func:`arrow_table` reads columns of a table through an ADBC cursor (binary ``COPY``),
its record batches read ahead in a thread, so that the next batch arrives while this
one is used; :func:`read_points` builds each batch's points meanwhile. The server's
sending is the slow part of reading a million sites: the client's work is done while it
sends, not after. The rows come in the order the table holds them, which is ``fid``
order unless rows were written into space freed by a removal: they are sorted by
``fid`` only then (sorting a million wide rows costs the server more than the client).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StoreError
from .interface import ARROW_TYPES

__all__ = ["SPLIT_PAGES", "arrow_table", "points_of", "read_points", "split_page"]


def _select(cur, table: str, columns: dict[str, str], *, points: bool, where: str = ""):
    """Run the SELECT of ``columns`` (and ``_x``, ``_y``), ``_fid`` last; return the schema."""
    import pyarrow as pa

    select = [f'"{c}"' for c in columns]
    types = {c: getattr(pa, ARROW_TYPES[kind])() for c, kind in columns.items()}
    if points:
        select += ["ST_X(geom) AS _x", "ST_Y(geom) AS _y"]
        types.update({"_x": pa.float64(), "_y": pa.float64()})
    types["_fid"] = pa.int64()
    cur.execute(f"SELECT {', '.join(select)}, fid AS _fid FROM {table} {where}")
    return pa.schema(list(types.items()))


def _read_ahead(readers: list) -> Iterator:
    """Yield the batches of each reader in turn, every reader read in a thread of its own.

    All are read at once (a later reader's batches wait in memory, and the server sends
    them meanwhile). An error of a reading thread is raised here; a consumer that
    stops early stops them.
    """
    stop = threading.Event()

    def read(reader, found: queue.Queue) -> None:
        try:
            for batch in reader:  # pyarrow reads without the GIL
                found.put(batch)
                if stop.is_set():
                    return
            found.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            found.put(exc)

    queues: list[queue.Queue] = [queue.Queue() for _ in readers]
    threads = [
        threading.Thread(target=read, args=(r, q), name="assetmap-read", daemon=True)
        for r, q in zip(readers, queues, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        for found in queues:
            while (item := found.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _stream(
    parts: list[tuple[Any, str]],
    table: str,
    columns: dict[str, str],
    *,
    points: bool,
    each: Callable | None = None,
) -> tuple:
    """Return the rows as an Arrow table in ``fid`` order, and ``each`` of every batch.

    ``parts`` are (cursor, ``WHERE`` clause of our own): each cursor reads its part of
    the rows, all at once (the cursors in one snapshot), the parts given in their order.
    ``each`` (of a batch, in the order read) is called while the next batches arrive;
    its results are given in ``fid`` order too, concatenated (``None``: not called).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    readers = []
    for cur, where in parts:
        schema = _select(cur, table, columns, points=points, where=where)
        readers.append(cur.fetch_record_batch())
    batches, made = [], []
    for batch in _read_ahead(readers):
        batch = batch.rename_columns(schema.names).cast(schema)
        batches.append(batch)
        if each is not None:
            made.append(each(batch))
    found = pa.Table.from_batches(batches, schema=schema)
    extra = np.concatenate(made) if made else None
    fid = found.column("_fid")
    if len(fid) > 1 and not pc.all(pc.greater(fid[1:], fid[:-1])).as_py():
        order = pc.sort_indices(fid)
        found = found.take(order)
        extra = extra[order.to_numpy()] if extra is not None else None
    return found.drop_columns("_fid"), extra


def split_page(cur, table: str) -> int:
    """Return the page of ``table`` from which a second cursor reads it (0: read it whole).

    A table of :data:`SPLIT_PAGES` pages or more is read in two halves at once (by
    ``ctid``, which a TID range scan reads without the other half's pages): the
    server's work of sending it, most of a whole read, is shared by two processes.
    """
    cur.execute(
        "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", (table,)
    )
    pages = int(cur.fetchall()[0][0])
    return pages // 2 if pages >= SPLIT_PAGES else 0


#: The pages (8 kB) from which a table is read by two cursors at once: about 50,000 sites.
SPLIT_PAGES = 2_000


def arrow_table(cur, table: str, columns: dict[str, str], *, points: bool = False):
    """Return ``columns`` of the rows of ``table`` the transaction may see, in ``fid`` order.

    Parameters
    ----------
    cur
        An ADBC cursor in a read transaction.
    table
        The table or view (our own name, never user text).
    columns
        The columns and their kinds (``str``, ``int64``, ``float64``).
    points
        Whether to add ``_x`` and ``_y``, the coordinates of ``geom`` (NaN where none).

    Returns
    -------
    pyarrow.Table
        The columns, typed, missing values null.
    """
    return _stream([(cur, "")], table, columns, points=points)[0]


def read_points(
    cur, table: str, columns: dict[str, str], *, twin: Callable[..., Any] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return ``columns`` of the rows of ``table`` and their points, in ``fid`` order.

    Each batch's points are made while the next batches arrive.

    Parameters
    ----------
    cur
        An ADBC cursor in a ``REPEATABLE READ`` transaction.
    table
        ``sites`` or ``requests``.
    columns
        The columns and their kinds.
    twin
        Given ``snapshot=`` (an id of :func:`pg_export_snapshot`), opens a context
        that gives a second such cursor in that snapshot: a table of
        :data:`SPLIT_PAGES` pages or more is then read in two halves at once
        (:func:`split_page`), each reader seeing exactly what ``cur`` sees.

    Returns
    -------
    tuple of pandas.DataFrame and numpy.ndarray
        The columns (missing values as :meth:`pyarrow.Table.to_pandas` gives them)
        and the points (shapely; ``None`` where a row has none).

    Raises
    ------
    StoreError
        If the server gives a snapshot id of an unexpected form.
    """

    def of(batch) -> np.ndarray:
        x, y = (batch.column(c).to_numpy(zero_copy_only=False) for c in ("_x", "_y"))
        return points_of(x, y)

    page = split_page(cur, table) if twin is not None else 0
    if twin is None or not page:
        found, geometry = _stream([(cur, "")], table, columns, points=True, each=of)
    else:
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = str(cur.fetchall()[0][0])
        if not re.fullmatch(r"[0-9A-F]+-[0-9A-F]+-[0-9]+", snapshot):  # it is put in SQL
            raise StoreError(f"the database gave an unexpected snapshot id {snapshot!r}")
        with twin(snapshot=snapshot) as other:
            parts = [(cur, f"WHERE ctid < '({page},0)'"), (other, f"WHERE ctid >= '({page},0)'")]
            found, geometry = _stream(parts, table, columns, points=True, each=of)
    frame = found.drop_columns(["_x", "_y"]).to_pandas()
    return frame, geometry if geometry is not None else np.array([], dtype=object)


def points_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return points of the coordinates (``None`` where a row has none)."""
    import shapely

    out = np.full(len(x), None, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    out[ok] = shapely.points(x[ok], y[ok])
    return out
