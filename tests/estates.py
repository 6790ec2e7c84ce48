"""Small hand-made estates for the analysis tests: sites, offers and requests by position."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

#: The origin the rows' ``x``, ``y`` are measured from: Maidstone, British National Grid.
X0, Y0 = 575_000.0, 155_000.0


def geo_frame(records: list[dict], defaults: dict, *, index=None) -> gpd.GeoDataFrame:
    """A GeoDataFrame (EPSG:27700) from dicts with ``x``, ``y`` and columns.

    ``x`` and ``y`` are metres from (X0, Y0); ``None`` gives a row with no location.
    Columns missing from a record take their ``defaults``; columns whose default is
    text become the pandas string dtype, as in the store.
    """
    rows, geoms = [], []
    for row in records:
        rec = {**defaults, **row}
        x, y = rec.pop("x"), rec.pop("y")
        geoms.append(None if x is None else shapely.Point(X0 + x, Y0 + y))
        rows.append(rec)
    frame = pd.DataFrame(rows, index=index, columns=list(defaults))
    for column, default in defaults.items():
        if isinstance(default, str):
            frame[column] = frame[column].astype("str")
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs="EPSG:27700"
    )
