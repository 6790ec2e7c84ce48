"""The estate store: one GeoPackage file behind one small interface.

The store holds five layers: ``sites`` (points, EPSG:27700), ``footprints``
(polygons of sites whose register gave one), ``requests`` (space requests),
``quarantine`` (every rejected row with its reason) and ``imports`` (one
row per source). Every write is transactional in the simplest robust way: the new
store is written in full to a temporary file beside the old one, flushed to
disk, and renamed over it. A failure or a kill at any moment leaves either the
old store or the new one, never a mixture. A lock file serialises writers.

:class:`EstateStore` is the interface the engine uses; a PostGIS store can
implement it later without any change elsewhere.
"""

from __future__ import annotations

import json
import os
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import StoreError
from .files import replace_atomically
from .schema import (
    CRS_BNG,
    QUARANTINE_COLUMNS,
    REQUEST_COLUMNS,
    SITE_COLUMNS,
    empty_requests,
    empty_sites,
)

__all__ = [
    "IMPORT_LOG_COLUMNS",
    "EstateStore",
    "GeoPackageStore",
    "SourceUpdate",
    "default_store_path",
    "open_store",
]

#: Environment variable that names the store file.
STORE_ENV = "ASSETMAP_STORE"

IMPORT_LOG_COLUMNS: dict[str, str] = {
    "source_file": "str",
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


def default_store_path() -> Path:
    """The store file: ``$ASSETMAP_STORE`` if set, else ``estate.gpkg`` in the working folder."""
    return Path(os.environ.get(STORE_ENV) or "estate.gpkg").expanduser()


@dataclass
class SourceUpdate:
    """Everything one import brings for one source.

    Attributes
    ----------
    source_file
        The source's name; importing a source of the same name replaces it.
    kind
        ``"sites"`` or ``"requests"``.
    rows
        Canonical sites or requests with provenance.
    footprints
        Polygon footprints (``site_id``, geometry), for sites.
    quarantine
        The rejected rows.
    log
        One row for the import log (see :data:`IMPORT_LOG_COLUMNS`).
    """

    source_file: str
    kind: str
    rows: gpd.GeoDataFrame
    footprints: gpd.GeoDataFrame | None
    quarantine: pd.DataFrame
    log: dict


class EstateStore(ABC):
    """What the engine needs from a store of the public estate."""

    @abstractmethod
    def sites(self) -> gpd.GeoDataFrame:
        """Every site, with :data:`assetmap.schema.SITE_COLUMNS`, in EPSG:27700."""

    @abstractmethod
    def site_keys(self) -> pd.DataFrame:
        """``site_id``, ``source_file`` and ``source_row`` of every site (no geometry)."""

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

        ``shared``, when given, is called with the merged sites and returns the
        ``shared_group`` column for them (see
        :func:`assetmap.registers.validate.shared_groups`).
        """

    @abstractmethod
    def remove_source(self, source_file: str, *, shared=None) -> int:
        """Remove a source and everything it brought; return the rows removed."""


def _conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Give a frame exactly the canonical columns, in order, with their dtypes."""
    out = frame.copy()
    for name, dtype in columns.items():
        if name not in out.columns:
            out[name] = pd.Series(dtype=dtype, index=out.index)
        if dtype == "str":
            out[name] = out[name].fillna("").astype("str")
        elif dtype == "int64":
            out[name] = pd.to_numeric(out[name], errors="coerce").fillna(0).astype("int64")
        else:
            out[name] = pd.to_numeric(out[name], errors="coerce").astype(dtype)
    keep = list(columns) + ([out.geometry.name] if isinstance(out, gpd.GeoDataFrame) else [])
    return out[keep]


class GeoPackageStore(EstateStore):
    """The estate in one GeoPackage file.

    Parameters
    ----------
    path
        The GeoPackage file. It is created by the first import.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    # reading ---------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the store file exists yet."""
        return self.path.is_file()

    def _layers(self) -> set[str]:
        import pyogrio

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
        log = self.imports()[["source_file", *_PER_SOURCE]].drop_duplicates("source_file")
        frame = frame.drop(columns=[c for c in _PER_SOURCE if c in frame.columns])
        codes = pd.Index(log["source_file"]).get_indexer(frame["source_file"])
        for c in _PER_SOURCE:
            values = log[c].to_numpy(dtype=object)
            frame[c] = pd.Series(
                np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else "", ""),
                index=frame.index,
                dtype="str",
            )
        return frame

    def site_keys(self) -> pd.DataFrame:
        import pyogrio

        columns = ["site_id", "source_file", "source_row"]
        if "sites" not in self._layers():
            return pd.DataFrame({c: pd.Series(dtype=SITE_COLUMNS[c]) for c in columns})
        frame = pyogrio.read_dataframe(
            self.path, layer="sites", columns=columns, read_geometry=False, use_arrow=True
        )
        return _conform(pd.DataFrame(frame), {c: SITE_COLUMNS[c] for c in columns})

    def footprints(self) -> gpd.GeoDataFrame:
        frame = self._read("footprints")
        if frame is None:
            return gpd.GeoDataFrame(
                {"site_id": pd.Series(dtype="str")}, geometry=gpd.GeoSeries([], crs=CRS_BNG)
            )
        return frame

    def requests(self) -> gpd.GeoDataFrame:
        frame = self._read("requests")
        if frame is None:
            return empty_requests()
        return gpd.GeoDataFrame(_conform(self._provenance(frame), REQUEST_COLUMNS), crs=CRS_BNG)

    def quarantine(self) -> pd.DataFrame:
        frame = self._read("quarantine")
        if frame is None:
            frame = pd.DataFrame()
        return _conform(pd.DataFrame(frame), QUARANTINE_COLUMNS)

    def imports(self) -> pd.DataFrame:
        frame = self._read("imports")
        if frame is None:
            frame = pd.DataFrame()
        return _conform(pd.DataFrame(frame), IMPORT_LOG_COLUMNS)

    def report(self, source_file: str) -> dict | None:
        """The stored import report of a source, or ``None``."""
        log = self.imports()
        hit = log[log["source_file"] == source_file]
        return json.loads(hit["report_json"].iloc[-1]) if len(hit) else None

    # writing ---------------------------------------------------------------
    def _lock(self):
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=120)

    def _load_all(self) -> dict:
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
            data = self._load_all()
            self._drop_source(data, update.source_file)
            rows_key = "sites" if update.kind == "sites" else "requests"
            data[rows_key] = _concat_geo([data[rows_key], update.rows])
            if update.footprints is not None and len(update.footprints):
                data["footprints"] = _concat_geo([data["footprints"], update.footprints])
            parts = [q for q in (data["quarantine"], update.quarantine) if len(q)]
            data["quarantine"] = pd.concat(parts or [data["quarantine"]], ignore_index=True)
            if shared is not None and rows_key == "sites":
                data["sites"]["shared_group"] = shared(data["sites"]).to_numpy()
            log = pd.DataFrame([update.log])
            data["imports"] = (
                pd.concat([data["imports"], log], ignore_index=True)
                if len(data["imports"])
                else log
            )
            self._write_all(data)

    def remove_source(self, source_file: str, *, shared=None) -> int:
        with self._lock():
            data = self._load_all()
            removed = self._drop_source(data, source_file)
            if not removed and not (data["imports"]["source_file"] == source_file).any():
                raise StoreError(
                    f"source_file={source_file!r} is not in the store; its sources are: "
                    + (", ".join(data["imports"]["source_file"]) or "none")
                )
            data["imports"] = data["imports"][data["imports"]["source_file"] != source_file]
            if shared is not None:
                data["sites"]["shared_group"] = shared(data["sites"]).to_numpy()
            self._write_all(data)
            return removed

    @staticmethod
    def _drop_source(data: dict, source_file: str) -> int:
        removed = 0
        gone_sites = data["sites"]["source_file"] == source_file
        gone_ids = set(data["sites"].loc[gone_sites, "site_id"])
        removed += int(gone_sites.sum())
        data["sites"] = data["sites"][~gone_sites]
        if gone_ids:
            data["footprints"] = data["footprints"][~data["footprints"]["site_id"].isin(gone_ids)]
        gone_req = data["requests"]["source_file"] == source_file
        removed += int(gone_req.sum())
        data["requests"] = data["requests"][~gone_req]
        data["quarantine"] = data["quarantine"][data["quarantine"]["source_file"] != source_file]
        data["imports"] = data["imports"][data["imports"]["source_file"] != source_file]
        return removed

    def _write_all(self, data: dict) -> None:
        """Write every layer to a temporary file, then rename it over the store."""
        import pyogrio

        frames = {
            "sites": (_conform(data["sites"], _STORED_SITE_COLUMNS), "Point"),
            "footprints": (
                data["footprints"][["site_id", data["footprints"].geometry.name]],
                "MultiPolygon",
            ),
            "requests": (_conform(data["requests"], _STORED_REQUEST_COLUMNS), "Point"),
            "quarantine": (_conform(data["quarantine"], QUARANTINE_COLUMNS), None),
            "imports": (_conform(data["imports"], IMPORT_LOG_COLUMNS), None),
        }
        with replace_atomically(self.path, suffix=".tmp.gpkg") as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
            for layer, (frame, geometry_type) in frames.items():
                kwargs = {}
                if geometry_type is not None:
                    frame = gpd.GeoDataFrame(frame, crs=CRS_BNG)
                    kwargs["geometry_type"] = geometry_type
                    if geometry_type == "MultiPolygon" and len(frame):
                        frame = frame.set_geometry(_to_multi(frame.geometry))
                    # the analyses build their own in-memory indexes: a GeoPackage
                    # R-tree would double the time of every write (see BENCHMARKS.md)
                    kwargs["layer_options"] = {"SPATIAL_INDEX": "NO"}
                else:
                    frame = pd.DataFrame(frame)
                pyogrio.write_dataframe(
                    frame,
                    tmp,
                    layer=layer,
                    driver="GPKG",
                    append=False,
                    use_arrow=True,
                    **kwargs,
                )


def _to_multi(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    import shapely

    arr = np.asarray(geoms.to_numpy(), dtype=object)
    single = shapely.get_type_id(arr) == 3
    out = arr.copy()
    if single.any():
        out[single] = shapely.multipolygons(arr[single].reshape(-1, 1))
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs)


def _concat_geo(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=CRS_BNG)


def open_store(path: str | os.PathLike | None = None) -> GeoPackageStore:
    """Open the estate store (it need not exist yet).

    Parameters
    ----------
    path
        The GeoPackage file; :func:`default_store_path` when ``None``.

    Returns
    -------
    GeoPackageStore
    """
    return GeoPackageStore(path if path is not None else default_store_path())
