"""The PostGIS store's writes of rows: CSV through ``COPY``, then one ``INSERT``.

PostgreSQL refuses ``COPY FROM`` into a table under row-level security, so each frame's
rows are written as CSV (by pyarrow) into a temporary table of the write's transaction
and inserted from there in one statement, which the policies check. A register's chunks
are copied in a second thread while the importer checks the next (:func:`copy_chunks`):
the server inserts one chunk while the client makes the next.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from .interface import ARROW_TYPES, LAYOUT
from .overlap import store_overlapped

__all__ = ["copy_chunks", "copy_in"]

_SQL_TYPES = {"str": "text", "int64": "bigint", "float64": "double precision"}


def copy_chunks(
    cur,
    table: str,
    frames: Iterable[pd.DataFrame],
    columns: dict[str, str],
    extra: tuple[str, ...],
) -> None:
    """Copy each frame into ``table`` (see :func:`copy_in`) while the next one is made.

    The copies run one at a time, in order, in a second thread, on the caller's
    cursor (which the caller does not use meanwhile): making the next frame (the
    importer's checks) overlaps the server's insert of this one. An error on either
    side is raised here once no copy is running, so the caller's transaction can be
    rolled back.
    """
    store_overlapped(
        frames, lambda frame: copy_in(cur, table, frame, columns, extra), name="assetmap-copy"
    )


def copy_in(
    cur, table: str, frame: pd.DataFrame, columns: dict[str, str], extra: tuple[str, ...]
) -> None:
    """Copy a frame's rows into ``table``: CSV through ``COPY FROM STDIN``, then one insert.

    The columns are ``columns`` and ``extra`` (text), and ``geom`` when the table has
    geometry: points from the frame's geometry or its ``easting`` and ``northing``
    (made in the database), polygons as EWKB.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not len(frame):
        return
    arrays = {name: _arrow(frame[name], ARROW_TYPES[kind]) for name, kind in columns.items()}
    arrays.update({name: _arrow(frame[name].astype("str"), "string") for name in extra})
    sql_types = {c: _SQL_TYPES[columns[c]] if c in columns else "text" for c in arrays}
    target = [f'"{c}"' for c in arrays]
    select = list(target)
    kind = LAYOUT[table][1]
    if kind == "Point":
        x, y = _coordinates(frame)
        arrays.update({"_x": pa.array(x, from_pandas=True), "_y": pa.array(y, from_pandas=True)})
        sql_types.update({"_x": "double precision", "_y": "double precision"})
        target.append("geom")
        select.append("ST_SetSRID(ST_MakePoint(_x, _y), 27700)")
    elif kind is not None:
        arrays["_wkb"] = pa.array(_ewkb(frame), pa.string())
        sql_types["_wkb"] = "geometry"
        target.append("geom")
        select.append("_wkb")
    body = io.BytesIO()
    pacsv.write_csv(pa.table(arrays), body, pacsv.WriteOptions(include_header=False))
    # PostgreSQL refuses COPY FROM into a table under row-level security: the rows are
    # copied into a temporary table of this transaction, then inserted in one statement
    # (which the policies check), in the order they came.
    stage = f"_in_{table}"
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (_ord bigint GENERATED ALWAYS AS IDENTITY, "
        + ", ".join(f'"{c}" {t}' for c, t in sql_types.items())
        + ") ON COMMIT DROP"
    )
    names = ", ".join(f'"{c}"' for c in arrays)
    with cur.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(body.getbuffer())
    cur.execute(
        f"INSERT INTO {table} ({', '.join(target)}) SELECT {', '.join(select)} FROM {stage} "
        "ORDER BY _ord"
    )
    cur.execute(f"TRUNCATE {stage}")


def _arrow(values: pd.Series, kind: str):
    """Return a column as an arrow array of ``kind`` (missing values null)."""
    import pyarrow as pa

    wanted = getattr(pa, kind)()
    found = pa.array(values, from_pandas=True)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return found if found.type == wanted else found.cast(wanted)


def _coordinates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the x and y of each row's point (NaN where it has none)."""
    import shapely

    if isinstance(frame, gpd.GeoDataFrame):
        geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
        return shapely.get_x(geoms), shapely.get_y(geoms)
    if {"easting", "northing"} <= set(frame.columns):
        x = pd.to_numeric(frame["easting"], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(frame["northing"], errors="coerce").to_numpy(dtype=float)
        return x, y
    nothing = np.full(len(frame), np.nan)
    return nothing, nothing


def _ewkb(frame: pd.DataFrame) -> np.ndarray:
    """Return the frame's polygons as hex EWKB in EPSG:27700 (``None`` where a row has none).

    A polygon is kept as a multipolygon of one, as the GeoPackage store keeps it.
    """
    import shapely

    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(single.sum()))
    geoms = shapely.set_srid(geoms, 27700)
    return np.asarray(shapely.to_wkb(geoms, hex=True, include_srid=True), dtype=object)
