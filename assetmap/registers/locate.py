"""Place every row of a register on the British National Grid.

A row's location comes from the first of these it has: the file's own
geometry (points; polygon footprints are kept and represented by a point on
their surface), a WKT column, latitude/longitude, easting/northing, GeoX/GeoY
(in the coordinate system its CoordinateReferenceSystem column names, or
decided by the size of the values), and last its postcode, geocoded
offline from the ONS Postcode Directory. All work is vectorised.

Rows whose location is missing or wrong are not dropped: they are returned as
problems, which :mod:`assetmap.registers.validate` turns into quarantine rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from ..postcodes import PostcodeDirectory, default_directory
from ..schema import (
    CRS_BNG,
    GB_BOUNDS,
    arrow_strings,
    normalise_postcodes,
    string_bytes,
    strip_strings,
    stripped_text,
)
from .columns import ColumnMap

__all__ = [
    "Located",
    "Problem",
    "arrow_strings",
    "constant_text",
    "locate_rows",
    "parse_numbers",
    "row_local",
    "transformer",
]

# Northern Ireland, which the British National Grid does not cover, as a
# lon/lat box (Kintyre, at the same latitudes, lies east of -5.45).
_NI_BOX = (-8.3, 53.9, -5.43, 55.4)
# Great Britain with its islands, as a lon/lat box: a cheap first check.
_GB_LONLAT = (-8.8, 49.8, 2.0, 61.0)

_MISSING = {"", "-", "--", "n/a", "na", "none", "null", "nil", "unknown", "nan", "#n/a"}


@dataclass
class Problem:
    """One kind of fault on some rows of a register.

    Attributes
    ----------
    mask
        Which rows have the fault.
    column
        The register column the fault is in.
    values
        The offending values, aligned to the rows.
    code
        A key of :data:`assetmap.registers.validate.REASONS`.
    messages
        Plain-English reason per row (aligned), or one message for all.
    """

    mask: np.ndarray
    column: str
    values: pd.Series
    code: str
    messages: pd.Series | str


@dataclass
class Located:
    """Where each row is, and how that was decided."""

    easting: np.ndarray
    northing: np.ndarray
    source: np.ndarray  # object array of method names; "" where not located
    footprints: np.ndarray  # object array of shapely polygons or None
    postcode: pd.Series  # normalised postcodes ("" where none or malformed)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=16)
def transformer(crs_from: str, crs_to: str = CRS_BNG):
    """A cached pyproj transformer with x = easting/longitude, y = northing/latitude."""
    from pyproj import Transformer

    return Transformer.from_crs(crs_from, crs_to, always_xy=True)


def constant_text(value: str, index: pd.Index) -> pd.Series:
    """A text column (dtype ``str``) holding ``value`` on every row of ``index``.

    Built by Arrow in one go: several times faster than pandas' broadcasting of a
    scalar, which matters for the columns a register gives one value for all rows.
    """
    import pyarrow as pa

    n = len(index)
    data = str(value).encode("utf-8")
    # the buffers of a large_string array: offsets 0, k, 2k... and the bytes n times
    offsets = np.arange(0, len(data) * (n + 1), len(data) or 1, dtype=np.int64)
    if not data:
        offsets = np.zeros(n + 1, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))
    return pd.Series(pd.array(arr, dtype=pd.StringDtype(na_value=np.nan)), index=index)


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse plain numbers written as text.

    Parameters
    ----------
    values
        Text such as ``"558300"``, ``" 51.2 "`` or ``"1,234.5"``.

    Returns
    -------
    numbers, bad
        Floats (NaN where missing or not a number) and a boolean array that
        is True where the text was present but not a number.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = strip_strings(arrow_strings(values))
    # Fast path: a clean column (numbers and blanks only) casts in one go.
    offsets, _ = string_bytes(arr)
    blank = offsets[1:] == offsets[:-1]
    try:
        given = pc.if_else(pa.array(blank), None, arr) if blank.any() else arr
        numbers = pc.cast(given, pa.float64()).to_numpy(zero_copy_only=False)
        numbers = numbers.astype("float64", copy=True)
        numbers[~np.isfinite(numbers)] = np.nan
        return numbers, np.zeros(len(numbers), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pd.Series(arr, index=values.index, dtype=pd.StringDtype(na_value=np.nan))
    missing = text.str.lower().isin(_MISSING).to_numpy()
    cleaned = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned.where(~missing, ""), errors="coerce")
    numbers = numbers.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~missing & ~np.isfinite(numbers)
    return numbers, bad


def _in_gb(east: np.ndarray, north: np.ndarray) -> np.ndarray:
    minx, miny, maxx, maxy = GB_BOUNDS
    ok = (east >= minx) & (east <= maxx) & (north >= miny) & (north <= maxy)
    # only points in the grid box around Northern Ireland need the exact test
    _, nminy, nmaxx, nmaxy = _ni_grid_box()
    near = ok & (east <= nmaxx) & (north >= nminy) & (north <= nmaxy)
    if near.any():
        lon, lat = transformer(CRS_BNG, "EPSG:4326").transform(east[near], north[near])
        in_ni = (
            (lon >= _NI_BOX[0]) & (lon <= _NI_BOX[2]) & (lat >= _NI_BOX[1]) & (lat <= _NI_BOX[3])
        )
        ok[np.flatnonzero(near)[in_ni]] = False
    return ok


@lru_cache(maxsize=1)
def _ni_grid_box() -> tuple[float, float, float, float]:
    """The British National Grid box that holds the Northern Ireland lon/lat box."""
    lon0, lat0, lon1, lat1 = _NI_BOX
    edge = np.linspace(0, 1, 50)
    lons = np.concatenate(
        [lon0 + (lon1 - lon0) * edge] * 2 + [np.full(50, lon0), np.full(50, lon1)]
    )
    lats = np.concatenate(
        [np.full(50, lat0), np.full(50, lat1)] + [lat0 + (lat1 - lat0) * edge] * 2
    )
    x, y = transformer("EPSG:4326").transform(lons, lats)
    return (
        float(x.min()) - 1000,
        float(y.min()) - 1000,
        float(x.max()) + 1000,
        float(y.max()) + 1000,
    )


def _looks_lonlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (np.abs(x) <= 180) & (np.abs(y) <= 90)


def locate_rows(
    table: pd.DataFrame,
    cmap: ColumnMap,
    *,
    geometry=None,
    crs: str | None = None,
    directory: PostcodeDirectory | None = None,
) -> Located:
    """Locate every row of a register in EPSG:27700.

    Parameters
    ----------
    table
        The register as text (see :class:`assetmap.registers.read.RawRegister`).
    cmap
        Which columns hold coordinates, WKT and postcodes.
    geometry
        The file's own geometries in EPSG:27700 (spatial formats), aligned to ``table``.
    crs
        Coordinate system of x/y and WKT columns, where known (from a profile).
    directory
        The postcode directory; the default one when ``None``.

    Returns
    -------
    Located
    """
    n = len(table)
    east = np.full(n, np.nan)
    north = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)
    footprints = np.full(n, None, dtype=object)
    problems: list[Problem] = []
    notes: list[str] = []
    # rows with a location attempt that failed must not fall back to the postcode
    failed = np.zeros(n, dtype=bool)

    def settle(x, y, mask, method, column, values):
        """Record located rows; flag those outside Great Britain."""
        nonlocal east, north
        todo = mask & ~np.isfinite(east) & ~failed
        if not todo.any():
            return
        inside = np.zeros(n, dtype=bool)
        inside[todo] = _in_gb(x[todo], y[todo])
        east[inside] = x[inside]
        north[inside] = y[inside]
        source[inside] = method
        outside = todo & ~inside
        if outside.any():
            failed[outside] = True
            problems.append(
                Problem(
                    outside,
                    column,
                    values() if callable(values) else values,
                    "outside_gb",
                    "coordinates are outside Great Britain",
                )
            )

    # 1. The file's own geometry.
    if geometry is not None:
        geoms = np.asarray(geometry.values if hasattr(geometry, "values") else geometry)
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        types = shapely.get_type_id(geoms)
        is_point = present & (types == 0)
        is_area = present & np.isin(types, (3, 6))
        other = present & ~is_point & ~is_area
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        if is_point.any():
            x[is_point] = shapely.get_x(geoms[is_point])
            y[is_point] = shapely.get_y(geoms[is_point])
        areas = is_area | other
        if areas.any():
            fixed = shapely.make_valid(geoms[areas])
            reps = shapely.point_on_surface(fixed)
            x[areas] = shapely.get_x(reps)
            y[areas] = shapely.get_y(reps)
            footprints[is_area] = shapely.make_valid(geoms[is_area])

        def geom_text():
            text = pd.Series(shapely.to_wkt(geoms, rounding_precision=1, trim=True)).fillna("")
            return text.str.slice(0, 80)

        settle(x, y, is_point, "geometry", "geometry", geom_text)
        settle(x, y, is_area, "footprint", "geometry", geom_text)
        settle(x, y, other, "geometry", "geometry", geom_text)

    # 2. WKT column.
    wkt_col = cmap.column("wkt")
    if wkt_col is not None:
        text = table[wkt_col].fillna("").astype(str).str.strip()
        given = (text != "").to_numpy()
        wkt = np.where(given, text.to_numpy(dtype=object), None)
        geoms = shapely.from_wkt(wkt, on_invalid="ignore")
        ok = given & ~shapely.is_missing(geoms)
        ok[ok] = ~shapely.is_empty(geoms[ok])
        bad = given & ~ok & ~np.isfinite(east)
        if bad.any():
            failed[bad] = True
            problems.append(
                Problem(bad, wkt_col, text, "bad_geometry", "the WKT geometry cannot be read")
            )
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        if ok.any():
            reps = shapely.point_on_surface(shapely.make_valid(geoms[ok]))
            x[ok], y[ok] = shapely.get_x(reps), shapely.get_y(reps)
            polys = ok.copy()
            polys[ok] = np.isin(shapely.get_type_id(geoms[ok]), (3, 6))
            if crs is None:
                degrees = ok & _looks_lonlat(x, y)
                wkt_crs = "EPSG:4326" if degrees[ok].mean() > 0.5 else CRS_BNG
                notes.append(f"WKT in column {wkt_col!r} read as {wkt_crs} (from its values)")
            else:
                wkt_crs = crs
            if wkt_crs != CRS_BNG:
                x[ok], y[ok] = transformer(wkt_crs).transform(x[ok], y[ok])
                if polys.any():
                    tr = transformer(wkt_crs)
                    geoms[polys] = shapely.transform(
                        geoms[polys], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
                    )
            footprints[polys & ~np.isfinite(east)] = shapely.make_valid(
                geoms[polys & ~np.isfinite(east)]
            )
        settle(x, y, ok, "wkt", wkt_col, text)

    # 3. Latitude / longitude.
    lat_col, lon_col = cmap.column("latitude"), cmap.column("longitude")
    if lat_col is not None and lon_col is not None:
        _locate_lonlat(
            table, lon_col, lat_col, "EPSG:4326", "lat/lon", n, east, failed, problems, settle
        )

    # 4. Easting / northing.
    e_col, n_col = cmap.column("easting"), cmap.column("northing")
    if e_col is not None and n_col is not None:
        x, bad_x = parse_numbers(table[e_col])
        y, bad_y = parse_numbers(table[n_col])
        pair = _Pair(table, e_col, n_col)
        _bad_numbers(bad_x | bad_y, e_col, pair, east, failed, problems)
        given = np.isfinite(x) & np.isfinite(y)
        settle(x, y, given, "easting/northing", e_col, pair)

    # 5. GeoX / GeoY, in the CRS named per row or judged from the values.
    x_col, y_col = cmap.column("x"), cmap.column("y")
    if x_col is not None and y_col is not None:
        x, bad_x = parse_numbers(table[x_col])
        y, bad_y = parse_numbers(table[y_col])
        pair = _Pair(table, x_col, y_col)
        _bad_numbers(bad_x | bad_y, x_col, pair, east, failed, problems)
        given = np.isfinite(x) & np.isfinite(y)
        crs_col = cmap.column("crs")
        named = (
            table[crs_col]
            .fillna("")
            .astype(str)
            .str.upper()
            .str.replace(r"[^A-Z0-9]", "", regex=True)
            if crs_col is not None
            else pd.Series("", index=table.index)
        ).to_numpy()
        degrees = _looks_lonlat(x, y)
        if crs is not None:
            xy_crs = np.full(n, crs, dtype=object)
        else:
            xy_crs = np.where(degrees, "EPSG:4326", CRS_BNG).astype(object)
            xy_crs[degrees & (named == "OSGB36")] = "EPSG:4277"  # OSGB36 lon/lat
            xy_crs[degrees & (named == "ETRS89")] = "EPSG:4258"
        for code in pd.unique(xy_crs[given]):
            sel = given & (xy_crs == code)
            xx, yy = x.copy(), y.copy()
            if code == "EPSG:4326" or code in ("EPSG:4277", "EPSG:4258"):
                # swapped lat/lon in GeoX/GeoY: x (the longitude) looks like a latitude
                swapped = sel & _swapped(lat=yy, lon=xx)
                if swapped.any():
                    failed[swapped & ~np.isfinite(east)] = True
                    problems.append(
                        Problem(
                            swapped & ~np.isfinite(east),
                            x_col,
                            pair(),
                            "latlon_swapped",
                            "latitude and longitude are swapped (GeoX holds the latitude)",
                        )
                    )
                    sel = sel & ~swapped
                xx[sel], yy[sel] = transformer(code).transform(x[sel], y[sel])
            settle(xx, yy, sel, "x/y " + ("lon/lat" if code != CRS_BNG else "BNG"), x_col, pair)
        if given.any() and crs is None:
            shares = pd.Series(xy_crs[given]).value_counts()
            notes.append(
                f"{x_col}/{y_col} read as "
                + ", ".join(f"{c} on {k:,} rows" for c, k in shares.items())
            )

    # 6. Postcodes: for rows not located by coordinates.
    pc_col = cmap.column("postcode")
    postcode = constant_text("", table.index)
    if pc_col is not None:
        raw_pc = stripped_text(table[pc_col])
        postcode = normalise_postcodes(raw_pc)
        need = ~np.isfinite(east) & ~failed
        malformed = need & (raw_pc != "").to_numpy() & (postcode == "").to_numpy()
        partial = np.zeros(len(malformed), dtype=bool)
        if malformed.any():  # only these few need the pattern
            outward = raw_pc[malformed].str.upper().str.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?")
            partial[malformed] = outward.to_numpy(dtype=bool)
        if partial.any():
            problems.append(
                Problem(
                    partial,
                    pc_col,
                    raw_pc,
                    "postcode_partial",
                    "only the first half of a postcode, which cannot place a site",
                )
            )
        if (malformed & ~partial).any():
            problems.append(
                Problem(
                    malformed & ~partial,
                    pc_col,
                    raw_pc,
                    "postcode_malformed",
                    "this is not a UK postcode",
                )
            )
        todo = need & (postcode != "").to_numpy()
        if todo.any():
            directory = directory or default_directory()
            pc_east, pc_north, known, ni = directory.grid_points(
                postcode if todo.all() else postcode[todo]
            )
            idx = np.flatnonzero(todo)
            placed = known & ~ni
            hit = idx[placed]
            east[hit] = pc_east[placed]
            north[hit] = pc_north[placed]
            source[hit] = "postcode"
            miss = np.zeros(n, dtype=bool)
            miss[idx[~known]] = True
            if miss.any():
                problems.append(
                    Problem(
                        miss,
                        pc_col,
                        raw_pc,
                        "postcode_not_found",
                        "the postcode was not found in the ONS Postcode Directory",
                    )
                )
            in_ni = np.zeros(n, dtype=bool)
            in_ni[idx[ni]] = True
            if in_ni.any():
                problems.append(
                    Problem(
                        in_ni,
                        pc_col,
                        raw_pc,
                        "outside_gb",
                        "the postcode is in Northern Ireland, outside Great Britain",
                    )
                )
            failed |= miss | in_ni
        failed |= malformed

    # 7. Anything still unplaced had no location at all.
    nowhere = ~np.isfinite(east) & ~failed
    if nowhere.any():
        problems.append(
            Problem(
                nowhere,
                pc_col or "(location)",
                pd.Series("", index=table.index),
                "missing_location",
                "no location: the row has no coordinates, geometry or postcode",
            )
        )
    return Located(east, north, source, footprints, postcode, problems, notes)


def row_local(cmap: ColumnMap, geometry=None) -> bool:
    """Whether :func:`locate_rows` places each row of such a register on its own.

    Then locating some rows gives exactly what locating the whole register gives
    for them (the same points, methods, faults and notes, which are none). That is
    so for latitude/longitude, easting/northing and postcodes; not for the file's
    own geometry, WKT or GeoX/GeoY, whose coordinate system may be judged from all
    the values (and said in a note).
    """
    return geometry is None and all(cmap.column(f) is None for f in ("wkt", "x", "y", "crs"))


class _Pair:
    """Two columns shown as one value ("x, y"), built only if a fault needs showing."""

    def __init__(self, table: pd.DataFrame, first: str, second: str) -> None:
        self.table, self.first, self.second = table, first, second

    def __call__(self) -> pd.Series:
        t = self.table
        return pd.Series(t[self.first].astype(str) + ", " + t[self.second].astype(str))


def _swapped(*, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Values that make sense only with latitude and longitude exchanged."""
    lo_x, lo_y, hi_x, hi_y = _GB_LONLAT
    return (lat >= lo_x) & (lat <= hi_x) & (lon >= lo_y) & (lon <= hi_y)


def _bad_numbers(bad, column, values, east, failed, problems):
    bad = bad & ~np.isfinite(east) & ~failed
    if bad.any():
        failed[bad] = True
        problems.append(
            Problem(
                bad,
                column,
                values() if callable(values) else values,
                "bad_coordinates",
                "the coordinates are not numbers",
            )
        )


def _locate_lonlat(table, lon_col, lat_col, crs, method, n, east, failed, problems, settle):
    lat, bad_lat = parse_numbers(table[lat_col])
    lon, bad_lon = parse_numbers(table[lon_col])
    pair = _Pair(table, lat_col, lon_col)
    _bad_numbers(bad_lat | bad_lon, lat_col, pair, east, failed, problems)
    given = np.isfinite(lat) & np.isfinite(lon)
    swapped = given & _swapped(lat=lat, lon=lon) & ~np.isfinite(east) & ~failed
    if swapped.any():
        failed[swapped] = True
        problems.append(
            Problem(
                swapped, lat_col, pair(), "latlon_swapped", "latitude and longitude are swapped"
            )
        )
    ok = given & ~swapped & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if ok.any():
        x[ok], y[ok] = transformer(crs).transform(lon[ok], lat[ok])
    impossible = given & ~swapped & ~ok
    x[impossible], y[impossible] = -1.0, -1.0  # reported as outside Great Britain
    settle(x, y, given & ~swapped, method, lat_col, pair)
