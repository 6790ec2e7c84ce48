"""Result tables written to files: CSV and GeoPackage, whole or not at all.

The one home for writing what assetmap computes (density tables, co-location
clusters, candidates and plans, the tables of a map pack). Every file is written
under a temporary name beside its target and renamed over it
(:func:`assetmap.files.replace_atomically`), and every CSV goes through
:func:`assetmap.files.safe_table`, so no cell runs as a spreadsheet formula.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .._validate import raise_if_any
from ..files import replace_atomically, write_csv_text

__all__ = ["write_csv", "write_geopackage", "write_table"]

#: The suffixes :func:`write_table` writes.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".gpkg")


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table to a CSV file (UTF-8, geometry as WKT) through a temporary file.

    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`assetmap.files.safe_table`).

    Parameters
    ----------
    frame
        The table; a GeoDataFrame's geometry is written as WKT in British National Grid.
    path
        The CSV file; replaced whole or not at all.

    Returns
    -------
    pathlib.Path
        ``path``, the CSV file written.

    Examples
    --------
    >>> write_csv(pd.DataFrame({"code": ["E07000110"], "sites": [12]}), "out.csv")  # doctest: +SKIP
    PosixPath('out.csv')
    """
    path = Path(path)
    with replace_atomically(path, suffix=".tmp.csv") as tmp:
        write_csv_text(frame, tmp)
    return path


def _write_layers(
    layers: Mapping[str, tuple[pd.DataFrame, str | None]], path: Path, *, keep_others: bool
) -> Path:
    """Write ``name -> (frame, geometry type)`` layers into a GeoPackage through a temporary file.

    With ``keep_others`` the GeoPackage's other layers are kept (the file is
    copied first); otherwise the file holds only these layers.
    """
    import pyogrio

    with replace_atomically(path, suffix=".tmp.gpkg") as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        if keep_others and path.exists():
            shutil.copyfile(path, tmp)
        for layer, (frame, geometry_type) in layers.items():
            pyogrio.write_dataframe(
                frame, tmp, layer=layer, driver="GPKG", append=False, geometry_type=geometry_type
            )
    return path


def write_geopackage(
    layers: dict[str, gpd.GeoDataFrame],
    path: str | os.PathLike[str],
    *,
    geometry_types: dict[str, str] | None = None,
) -> Path:
    """Write layers to a new GeoPackage through a temporary file.

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame (EPSG:27700). Empty layers are written too.
    path
        The GeoPackage; replaced whole or not at all.
    geometry_types
        Layer name -> OGR geometry type (``"Point"``, ``"LineString"``,
        ``"Polygon"``...), so that empty layers and layers with missing
        geometries keep their type; others are detected.

    Returns
    -------
    pathlib.Path
        ``path``, the GeoPackage written.

    Examples
    --------
    >>> write_geopackage({"clusters": clusters}, "clusters.gpkg")  # doctest: +SKIP
    PosixPath('clusters.gpkg')
    """
    prepared: dict[str, tuple[pd.DataFrame, str | None]] = {}
    for layer, frame in layers.items():
        geometry_type = (geometry_types or {}).get(layer)
        if geometry_type is None and len(frame) == 0:
            geometry_type = "Unknown"
        prepared[layer] = (frame.reset_index(drop=True), geometry_type)
    return _write_layers(prepared, Path(path), keep_others=False)


def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str = "density",
) -> Path:
    """Write a table as CSV or as a GeoPackage layer, atomically.

    The file is written in full under a temporary name in the same folder
    and then renamed over ``path`` (:func:`os.replace`), so a reader never
    sees half a file and a failure leaves the old file as it was. Writing a
    layer into an existing GeoPackage keeps its other layers.

    Parameters
    ----------
    frame
        A table, such as :func:`assetmap.density.locality_metrics` returns. A
        named index (``code``) becomes a column. A GeoDataFrame becomes a
        spatial layer; a plain table becomes a GeoPackage attribute table.
    path
        ``.csv`` or ``.gpkg``.
    layer
        The GeoPackage layer name (replaced if it exists).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InvalidArgumentError
        If the suffix is not ``.csv`` or ``.gpkg``, the folder does not exist,
        or the layer name is blank (every problem is listed).

    Examples
    --------
    >>> write_table(locality_metrics(sites, "district"), "density.gpkg")  # doctest: +SKIP
    PosixPath('density.gpkg')
    """
    path = Path(path)
    problems = []
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        problems.append(
            f"path={str(path)!r} has the suffix {path.suffix or '(none)'!r}; expected one of: "
            f"{', '.join(TABLE_SUFFIXES)}"
        )
    if not path.parent.is_dir():
        problems.append(
            f"path={str(path)!r} is in a folder that does not exist; expected an existing folder"
        )
    if suffix == ".gpkg" and (not isinstance(layer, str) or not layer.strip()):
        problems.append(f"layer={layer!r} is not valid; expected a layer name")
    raise_if_any(problems)

    table = frame
    if any(name is not None for name in table.index.names):
        table = table.reset_index()
    if suffix == ".csv":
        return write_csv(table, path)
    if not isinstance(table, gpd.GeoDataFrame):
        table = pd.DataFrame(table)
    return _write_layers({layer: (table, None)}, path, keep_others=True)
