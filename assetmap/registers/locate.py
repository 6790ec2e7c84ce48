"""Place every row of a register on the British National Grid.

A row's location comes from the first of these it has: the file's own
geometry (points; polygon footprints are kept and represented by a point on
their surface), a WKT column, latitude/longitude, easting/northing, GeoX/GeoY
(in the coordinate system its CoordinateReferenceSystem column names, or
decided by the size of the values), and last its postcode, geocoded
offline from the ONS Postcode Directory. A register that gives only the first
half of a postcode (the outward code, "M41", a postcode district) or a postcode
sector ("M41 7") is placed approximately, at the centre of that area (see
:meth:`assetmap.postcodes.PostcodeDirectory.area_centres`), and its method says so
(``"postcode district centre"``, ``"postcode sector centre"``; the site's
``location_precision`` follows from it). All work is vectorised.

Rows whose location is missing or wrong are not dropped: they are returned as
problems, which the checks (:mod:`assetmap.registers.site_checks`,
:mod:`assetmap.registers.request_checks`) turn into quarantine rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeAlias

import numpy as np
import pandas as pd
import shapely

from ..postcodes import PostcodeDirectory, default_directory, postcode_areas
from ..schema import CRS_BNG, GB_BOUNDS, normalise_postcodes, stripped_text
from .columns import ColumnMap
from .quarantine import Problem
from .text import constant_text
from .values import parse_numbers

__all__ = [
    "POSTCODE_TOLERANCE_M",
    "Located",
    "Problem",
    "locate_rows",
    "row_local",
    "transformer",
]

# Northern Ireland, which the British National Grid does not cover, as a
# lon/lat box (Kintyre, at the same latitudes, lies east of -5.45).
_NI_BOX = (-8.3, 53.9, -5.43, 55.4)
# Great Britain with its islands, as a lon/lat box: a cheap first check.
_GB_LONLAT = (-8.8, 49.8, 2.0, 61.0)

#: How far a row's coordinates may lie from the centre of its own postcode (metres): a
#: rural postcode's addresses can spread over a kilometre or two; farther, one is wrong.
POSTCODE_TOLERANCE_M = 2_000.0
#: Location methods that came from the postcode itself (nothing to compare).
_POSTCODE_METHODS = ("postcode", "postcode district centre", "postcode sector centre")


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
    """Return a cached pyproj transformer with x = easting/longitude, y = northing/latitude."""
    from pyproj import Transformer

    return Transformer.from_crs(crs_from, crs_to, always_xy=True)


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
    """Return the British National Grid box that holds the Northern Ireland lon/lat box."""
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
    postcode_tolerance_m: float | None = POSTCODE_TOLERANCE_M,
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
    postcode_tolerance_m
        A row placed by its coordinates whose postcode is known, but whose point (or
        footprint) lies farther than this from the centre of that postcode, has a
        fault (``postcode_far``): one of the two is wrong. ``None``: no check.

    Returns
    -------
    Located
    """
    rows = _Locator(table)
    if geometry is not None:  # 1. the file's own geometry
        rows.geometry(geometry)
    wkt_col = cmap.column("wkt")
    if wkt_col is not None:  # 2. a WKT column
        rows.wkt(wkt_col, crs)
    if lat_lon := _both(cmap, "latitude", "longitude"):  # 3. latitude / longitude
        rows.lonlat(*lat_lon)
    if east_north := _both(cmap, "easting", "northing"):  # 4. easting / northing
        x, y, given, pair = rows.numbers(*east_north)
        rows.settle(x, y, given, "easting/northing", east_north[0], pair)
    if x_y := _both(cmap, "x", "y"):  # 5. GeoX / GeoY, in the CRS named per row or judged
        rows.xy(*x_y, crs_col=cmap.column("crs"), crs=crs)
    pc_col = cmap.column("postcode")  # 6. postcodes, for rows not located by coordinates
    postcode = constant_text("", table.index)
    if pc_col is not None:
        postcode = rows.postcodes(pc_col, directory)
        if postcode_tolerance_m is not None:
            rows.agree(postcode, pc_col, directory, postcode_tolerance_m)
    # 7. anything still unplaced had no location at all
    rows.flag(
        rows.open(),
        pc_col or "(location)",
        pd.Series("", index=table.index),
        "missing_location",
        "no location: the row has no coordinates, geometry or postcode",
    )
    return Located(
        rows.east, rows.north, rows.source, rows.footprints, postcode, rows.problems, rows.notes
    )


def _both(cmap: ColumnMap, first: str, second: str) -> tuple[str, str] | None:
    """Return the columns of two fields that go together, or None unless the register has both."""
    a, b = cmap.column(first), cmap.column(second)
    return (a, b) if a is not None and b is not None else None


#: A fault's values, or a function that builds them only when a fault needs showing.
_Values: TypeAlias = pd.Series | Callable[[], pd.Series]


class _Locator:
    """Where the rows of a register are so far, and the faults found placing them.

    Each step of :func:`locate_rows` places the rows no step before it placed. A
    row whose location was given but is wrong has *failed*: no later step places
    it, not even by its postcode.
    """

    def __init__(self, table: pd.DataFrame) -> None:
        n = len(table)
        self.table = table
        self.east = np.full(n, np.nan)
        self.north = np.full(n, np.nan)
        self.source = np.full(n, "", dtype=object)
        self.footprints = np.full(n, None, dtype=object)
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.failed = np.zeros(n, dtype=bool)

    def open(self) -> np.ndarray:
        """Return which rows are neither placed nor failed."""
        return ~np.isfinite(self.east) & ~self.failed

    def blank(self) -> np.ndarray:
        """Return a coordinate for each row, all NaN."""
        return np.full(len(self.table), np.nan)

    def flag(self, mask: np.ndarray, column: str, values: _Values, code: str, message: str) -> None:
        """Record a fault (``code``) on the rows of ``mask``, which then have failed."""
        if mask.any():
            self.failed[mask] = True
            shown = values() if callable(values) else values
            self.problems.append(Problem(mask, column, shown, code, message))

    def settle(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        method: str,
        column: str,
        values: _Values,
    ) -> None:
        """Place the open rows of ``mask`` at ``x``, ``y``; flag those outside Great Britain."""
        todo = mask & self.open()
        if not todo.any():
            return
        inside = np.zeros(len(todo), dtype=bool)
        inside[todo] = _in_gb(x[todo], y[todo])
        self.east[inside] = x[inside]
        self.north[inside] = y[inside]
        self.source[inside] = method
        message = "coordinates are outside Great Britain"
        self.flag(todo & ~inside, column, values, "outside_gb", message)

    def geometry(self, geometry) -> None:
        """Place rows by the file's own geometry: points, or a point on each polygon."""
        geoms = np.asarray(geometry.values if hasattr(geometry, "values") else geometry)
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        types = shapely.get_type_id(geoms)
        is_point = present & (types == 0)
        is_area = present & np.isin(types, (3, 6))
        other = present & ~is_point & ~is_area
        x, y = self.blank(), self.blank()
        if is_point.any():
            x[is_point] = shapely.get_x(geoms[is_point])
            y[is_point] = shapely.get_y(geoms[is_point])
        areas = is_area | other
        if areas.any():
            reps = shapely.point_on_surface(shapely.make_valid(geoms[areas]))
            x[areas] = shapely.get_x(reps)
            y[areas] = shapely.get_y(reps)
            self.footprints[is_area] = shapely.make_valid(geoms[is_area])

        def geom_text() -> pd.Series:
            text = pd.Series(shapely.to_wkt(geoms, rounding_precision=1, trim=True)).fillna("")
            return text.str.slice(0, 80)

        for mask, method in ((is_point, "geometry"), (is_area, "footprint"), (other, "geometry")):
            self.settle(x, y, mask, method, "geometry", geom_text)

    def wkt(self, column: str, crs: str | None) -> None:
        """Place rows by a WKT column: a point on each shape; polygons are kept as footprints."""
        text = self.table[column].fillna("").astype(str).str.strip()
        given = (text != "").to_numpy()
        wkt = np.where(given, text.to_numpy(dtype=object), np.array(None))
        geoms = shapely.from_wkt(wkt, on_invalid="ignore")
        ok = given & ~shapely.is_missing(geoms)
        ok[ok] = ~shapely.is_empty(geoms[ok])
        # (a row that failed before is told of its unreadable WKT too)
        bad = given & ~ok & ~np.isfinite(self.east)
        self.flag(bad, column, text, "bad_geometry", "the WKT geometry cannot be read")
        x, y = self.blank(), self.blank()
        if ok.any():
            self._wkt_shapes(geoms, ok, x, y, column=column, crs=crs)
        self.settle(x, y, ok, "wkt", column, text)

    def _wkt_shapes(
        self,
        geoms: np.ndarray,
        ok: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        *,
        column: str,
        crs: str | None,
    ) -> None:
        """Set ``x``, ``y`` to a point on each readable shape, and keep the polygons."""
        reps = shapely.point_on_surface(shapely.make_valid(geoms[ok]))
        x[ok], y[ok] = shapely.get_x(reps), shapely.get_y(reps)
        polys = ok.copy()
        polys[ok] = np.isin(shapely.get_type_id(geoms[ok]), (3, 6))
        wkt_crs = crs
        if wkt_crs is None:
            degrees = ok & _looks_lonlat(x, y)
            wkt_crs = "EPSG:4326" if degrees[ok].mean() > 0.5 else CRS_BNG
            self.notes.append(f"WKT in column {column!r} read as {wkt_crs} (from its values)")
        if wkt_crs != CRS_BNG:
            tr = transformer(wkt_crs)
            x[ok], y[ok] = tr.transform(x[ok], y[ok])
            if polys.any():
                geoms[polys] = shapely.transform(
                    geoms[polys], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
                )
        unplaced = polys & ~np.isfinite(self.east)
        self.footprints[unplaced] = shapely.make_valid(geoms[unplaced])

    def numbers(self, first: str, second: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Pair]:
        """Return two coordinate columns as numbers, and where both are given.

        Text that is not a number is a fault (on open rows).

        Returns
        -------
        x, y, given, pair
            The numbers, where both are given, and the two columns shown as one value.
        """
        x, bad_x = parse_numbers(self.table[first])
        y, bad_y = parse_numbers(self.table[second])
        pair = _Pair(self.table, first, second)
        bad = (bad_x | bad_y) & self.open()
        self.flag(bad, first, pair, "bad_coordinates", "the coordinates are not numbers")
        return x, y, np.isfinite(x) & np.isfinite(y), pair

    def lonlat(self, lat_col: str, lon_col: str) -> None:
        """Place rows by latitude and longitude (WGS84); swapped ones are faults."""
        lat, lon, given, pair = self.numbers(lat_col, lon_col)
        swapped = given & _swapped(lat=lat, lon=lon) & self.open()
        self.flag(swapped, lat_col, pair, "latlon_swapped", "latitude and longitude are swapped")
        ok = given & ~swapped & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        x, y = self.blank(), self.blank()
        if ok.any():
            x[ok], y[ok] = transformer("EPSG:4326").transform(lon[ok], lat[ok])
        impossible = given & ~swapped & ~ok
        x[impossible], y[impossible] = -1.0, -1.0  # reported as outside Great Britain
        self.settle(x, y, given & ~swapped, "lat/lon", lat_col, pair)

    def xy(self, x_col: str, y_col: str, *, crs_col: str | None, crs: str | None) -> None:
        """Place rows by GeoX/GeoY, in ``crs``, else the CRS named per row or judged from them."""
        x, y, given, pair = self.numbers(x_col, y_col)
        xy_crs = _xy_crs(self.table, x, y, crs_col=crs_col, crs=crs)
        for code in pd.unique(xy_crs[given]):
            sel = given & (xy_crs == code)
            xx, yy = x.copy(), y.copy()
            if code in _LONLAT_CRS:
                # swapped lat/lon in GeoX/GeoY: x (the longitude) looks like a latitude
                swapped = sel & _swapped(lat=yy, lon=xx)
                self.flag(
                    swapped & ~np.isfinite(self.east),
                    x_col,
                    pair,
                    "latlon_swapped",
                    "latitude and longitude are swapped (GeoX holds the latitude)",
                )
                sel = sel & ~swapped
                xx[sel], yy[sel] = transformer(code).transform(x[sel], y[sel])
            method = "x/y " + ("lon/lat" if code != CRS_BNG else "BNG")
            self.settle(xx, yy, sel, method, x_col, pair)
        if given.any() and crs is None:
            shares = pd.Series(xy_crs[given]).value_counts()
            self.notes.append(
                f"{x_col}/{y_col} read as "
                + ", ".join(f"{c} on {k:,} rows" for c, k in shares.items())
            )

    def postcodes(self, column: str, directory: PostcodeDirectory | None) -> pd.Series:
        """Place open rows by their postcodes; return every row's normalised postcode.

        A postcode that is malformed, only half there, not in the directory or in
        Northern Ireland is a fault.
        """
        raw_pc = stripped_text(self.table[column])
        postcode = normalise_postcodes(raw_pc)
        need = self.open()
        malformed = need & (raw_pc != "").to_numpy() & (postcode == "").to_numpy()
        partial = np.zeros(len(malformed), dtype=bool)
        if malformed.any():  # only these few can be an outward code or a sector
            level, area = postcode_areas(raw_pc[malformed])
            partial[malformed] = (level != "").to_numpy()
            if partial.any():
                directory = directory or default_directory()
                placed = self._area_centres(level, area, partial, column, raw_pc, directory)
                postcode = postcode.copy()
                postcode[placed] = area[partial[malformed]][placed[partial]].to_numpy()
        message = "this is not a UK postcode"
        self.flag(malformed & ~partial, column, raw_pc, "postcode_malformed", message)
        todo = need & (postcode != "").to_numpy() & ~partial
        if todo.any():
            self._geocode(postcode, todo, column, raw_pc, directory or default_directory())
        return postcode

    def agree(
        self,
        postcode: pd.Series,
        column: str,
        directory: PostcodeDirectory | None,
        tolerance_m: float,
    ) -> None:
        """Flag rows placed by coordinates that lie far from their own full postcode."""
        given = np.isfinite(self.east) & ~self.failed & (postcode != "").to_numpy()
        given &= ~np.isin(self.source, _POSTCODE_METHODS)
        if not given.any():
            return
        idx = np.flatnonzero(given)
        pc_east, pc_north, known, _ = (directory or default_directory()).grid_points(
            postcode[given]
        )
        rows = idx[known]
        apart = np.hypot(self.east[rows] - pc_east[known], self.north[rows] - pc_north[known])
        shaped = shapely.is_geometry(self.footprints[rows])
        if shaped.any():  # a footprint is as near as its nearest edge
            centre = shapely.points(pc_east[known][shaped], pc_north[known][shaped])
            apart[shaped] = shapely.distance(self.footprints[rows][shaped], centre)
        beyond = apart > tolerance_m
        if not beyond.any():
            return
        far = np.zeros(len(given), dtype=bool)
        far[rows[beyond]] = True
        text = np.full(len(given), "", dtype=object)
        text[rows[beyond]] = [f"{d / 1000:,.1f} km" for d in apart[beyond]]
        km = pd.Series(text, index=self.table.index, dtype=object)
        shown = stripped_text(self.table[column]) + " (" + km + " from the coordinates)"
        message = (
            f"the coordinates lie more than {tolerance_m / 1000:g} km from the centre of the "
            "row's own postcode, so one of the two is wrong: correct the row, or import with a "
            "larger postcode tolerance to keep the coordinates"
        )
        self.flag(far, column, shown, "postcode_far", message)

    def _area_centres(
        self,
        level: pd.Series,
        area: pd.Series,
        rows: np.ndarray,
        column: str,
        raw_pc: pd.Series,
        directory: PostcodeDirectory,
    ) -> np.ndarray:
        """Place the rows of ``rows`` at the centre of their postcode district or sector.

        ``level`` and ``area`` are those of :func:`~assetmap.postcodes.postcode_areas`
        for some rows, ``rows`` among them; return which rows were placed.
        """
        mine = (level != "").to_numpy()
        centres = directory.area_centres(area[mine], level[mine])
        idx = np.flatnonzero(rows)
        ok = centres["found"].to_numpy() & ~centres["northern_ireland"].to_numpy()
        hit = idx[ok]
        self.east[hit] = centres["easting"].to_numpy()[ok]
        self.north[hit] = centres["northing"].to_numpy()[ok]
        self.source[hit] = (level[mine].to_numpy(dtype=object)[ok] + " centre").astype(object)
        placed = np.zeros(len(rows), dtype=bool)
        placed[hit] = True
        missing = np.zeros(len(rows), dtype=bool)
        missing[idx[~centres["found"].to_numpy()]] = True
        in_ni = rows & ~placed & ~missing
        self.flag(missing, column, raw_pc, "postcode_partial", _PARTIAL)
        message = "the postcode area is in Northern Ireland, outside Great Britain"
        self.flag(in_ni, column, raw_pc, "outside_gb", message)
        return placed

    def _geocode(
        self,
        postcode: pd.Series,
        todo: np.ndarray,
        column: str,
        raw_pc: pd.Series,
        directory: PostcodeDirectory,
    ) -> None:
        """Place the rows of ``todo`` at their postcodes, from the directory."""
        pc_east, pc_north, known, ni = directory.grid_points(
            postcode if todo.all() else postcode[todo]
        )
        idx = np.flatnonzero(todo)
        placed = known & ~ni
        hit = idx[placed]
        self.east[hit] = pc_east[placed]
        self.north[hit] = pc_north[placed]
        self.source[hit] = "postcode"
        miss = np.zeros(len(todo), dtype=bool)
        miss[idx[~known]] = True
        in_ni = np.zeros(len(todo), dtype=bool)
        in_ni[idx[ni]] = True
        for mask, code, message in (
            (miss, "postcode_not_found", _NOT_FOUND),
            (in_ni, "outside_gb", "the postcode is in Northern Ireland, outside Great Britain"),
        ):
            self.flag(mask, column, raw_pc, code, message)


_PARTIAL = (
    "only the first half of a postcode (a postcode district or sector), and no such area "
    "is in the ONS Postcode Directory"
)
_NOT_FOUND = "the postcode was not found in the ONS Postcode Directory"

#: Lon/lat coordinate systems a GeoX/GeoY pair may be in (WGS84, OSGB36, ETRS89).
_LONLAT_CRS = ("EPSG:4326", "EPSG:4277", "EPSG:4258")


def _xy_crs(
    table: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    *,
    crs_col: str | None,
    crs: str | None,
) -> np.ndarray:
    """Return each row's coordinate system for GeoX/GeoY: ``crs``, else judged per row.

    Values that look like degrees are lon/lat (OSGB36 or ETRS89 where the row's
    CoordinateReferenceSystem says so, else WGS84); other values are the
    British National Grid.
    """
    if crs is not None:
        return np.full(len(x), crs, dtype=object)
    named = (
        table[crs_col].fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
        if crs_col is not None
        else pd.Series("", index=table.index)
    ).to_numpy()
    degrees = _looks_lonlat(x, y)
    xy_crs = np.where(degrees, "EPSG:4326", CRS_BNG).astype(object)
    xy_crs[degrees & (named == "OSGB36")] = "EPSG:4277"  # OSGB36 lon/lat
    xy_crs[degrees & (named == "ETRS89")] = "EPSG:4258"
    return xy_crs


def row_local(cmap: ColumnMap, geometry=None) -> bool:
    """Return whether :func:`locate_rows` places each row of such a register on its own.

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
    """Return which values make sense only with latitude and longitude exchanged."""
    lo_x, lo_y, hi_x, hi_y = _GB_LONLAT
    return (lat >= lo_x) & (lat <= hi_x) & (lon >= lo_y) & (lon <= hi_y)
