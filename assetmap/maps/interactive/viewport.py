"""The sites layer of a big estate, made for the map's view: hexagons far out, points close in.

A browser carries tens of thousands of markers, not a million. So the server
answers each view of the map with only what that view needs:

* far out, the located sites are counted in **hexagons** of about
  :data:`HEX_PX` pixels across at that zoom, laid out on the British National
  Grid (so cells tile exactly and keep their place as the map pans), coloured
  by how many sites each holds; clicking one zooms into it;
* close in, when the view holds at most :data:`POINT_LIMIT` sites (or from
  :data:`POINTS_ZOOM` in, whatever it holds), the sites themselves as circle
  markers, with their tooltips; clicking one selects it.

Nothing is capped: every site is reached by zooming in. The view is widened
to whole web-map tiles (:meth:`View.data_bounds`), so a small pan asks for the
same data and the map does not redraw. :class:`EstateIndex` holds one frame's
coordinates (both grids) and its hexagon counts per zoom, built once and
reused by every view of that frame.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from folium.template import Template
from pyproj import Transformer

from ...density.grids import axial_round
from ...errors import InvalidArgumentError
from ...schema import CRS_BNG, CRS_WGS84
from .. import safe_html
from ..style import NO_DATA_COLOUR, class_colours, sector_key, sector_label
from .elements import RenderedOnce
from .features import as_points, on_transform_thread, require_crs
from .sites import SitesLayer, sites_layer

__all__ = [
    "HEX_PX",
    "IMAGE_FROM",
    "POINTS_ZOOM",
    "POINT_LIMIT",
    "ChoroplethImage",
    "EstateIndex",
    "HexGrid",
    "HexLayer",
    "ShapeIndex",
    "View",
    "ViewLayer",
    "choropleth_image",
    "corner_offsets",
    "degrees_precision",
    "hex_cells",
    "metres_per_pixel",
    "view_layer",
]

#: A hexagon's circumradius on screen, in pixels (cells are about twice this across).
HEX_PX = 9
#: From how many localities in a view a choropleth is painted as one image.
IMAGE_FROM = 5_000
#: The most sites a view draws one by one; a view holding more shows hexagons.
POINT_LIMIT = 3_000
#: From this zoom in, a view shows its sites one by one however many it holds.
POINTS_ZOOM = 16
#: The deepest zoom a view may have (Leaflet's own limit is lower).
_MAX_ZOOM = 24
#: The most web-map tiles (256 pixels) a view may span across or down: more than any screen.
_MAX_TILES = 64
#: Hexagon colour classes.
HEX_CLASSES = 5
#: Web-map metres per pixel at zoom 0 on the equator; scaled by the latitude of England.
_EQUATOR_M_PER_PX = 156_543.03392
_GRID_LATITUDE = 52.5
_SQRT3 = math.sqrt(3.0)
_TO_WGS84 = Transformer.from_crs(CRS_BNG, CRS_WGS84, always_xy=True)
_TO_BNG = Transformer.from_crs(CRS_WGS84, CRS_BNG, always_xy=True)


def metres_per_pixel(zoom: int) -> float:
    """Return the metres a screen pixel covers at web-map ``zoom``, in England.

    Examples
    --------
    >>> round(metres_per_pixel(10), 1)
    93.1
    """
    return _EQUATOR_M_PER_PX * math.cos(math.radians(_GRID_LATITUDE)) / 2 ** int(zoom)


def degrees_precision(zoom: int) -> float:
    """Return the grid, in degrees, that a shape drawn at ``zoom`` needs: a quarter of a pixel.

    Examples
    --------
    >>> degrees_precision(6), degrees_precision(16)
    (0.001, 1e-06)
    """
    quarter = 360.0 / (256 * 2 ** int(zoom)) / 4
    return float(min(max(10.0 ** math.floor(math.log10(quarter)), 1e-6), 1e-2))


def hex_size(zoom: int) -> float:
    """Return the hexagons' circumradius in metres (EPSG:27700) at web-map ``zoom``.

    Examples
    --------
    >>> round(hex_size(10))
    838
    """
    return HEX_PX * metres_per_pixel(zoom)


def hex_cells(x: np.ndarray, y: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Return each point's pointy-top hexagon (axial ``q``, ``r``) of circumradius ``size``.

    The grid's origin is the National Grid's, so a zoom has one grid everywhere.

    Examples
    --------
    >>> q, r = hex_cells(np.array([0.0, 100.0]), np.array([0.0, 0.0]), 100.0)
    >>> q.tolist(), r.tolist()
    ([0, 1], [0, 0])
    """
    return axial_round((_SQRT3 / 3.0 * x - y / 3.0) / size, (2.0 / 3.0 * y) / size)


def _hex_centres(q: np.ndarray, r: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    return size * _SQRT3 * (q + r / 2.0), size * 1.5 * r


@dataclass(frozen=True)
class View:
    """What the map shows: its bounds (degrees, WGS84) and zoom.

    Build it from streamlit-folium's answer with :meth:`from_returned`, or for a
    map not drawn yet with :meth:`around`.
    """

    south: float
    west: float
    north: float
    east: float
    zoom: int

    @classmethod
    def from_returned(cls, returned: Any) -> View | None:
        """Return the view st_folium reported (``bounds`` and ``zoom``), or ``None``."""
        if not isinstance(returned, dict):
            return None
        bounds: Any = returned.get("bounds")
        zoom: Any = returned.get("zoom")
        try:
            sw, ne = bounds["_southWest"], bounds["_northEast"]
            view = cls(
                float(sw["lat"]), float(sw["lng"]), float(ne["lat"]), float(ne["lng"]), int(zoom)
            )
        except (KeyError, TypeError, ValueError, OverflowError):  # an infinite zoom, say
            return None
        numbers = (view.south, view.west, view.north, view.east)
        if not all(math.isfinite(v) for v in numbers) or view.south >= view.north:
            return None
        if not 0 <= view.zoom <= _MAX_ZOOM or view.west >= view.east:
            return None  # the browser sends these: a made-up zoom is not worked with
        tiles = 2**view.zoom / 360.0  # web-map tiles per degree of longitude at this zoom
        if (view.east - view.west) * tiles > _MAX_TILES or (
            _mercator(view.north) - _mercator(view.south)
        ) / (2 * math.pi) * 2**view.zoom > _MAX_TILES:
            return None  # wider than any screen shows at this zoom: never drawn as asked
        return cls(
            max(view.south, -85.0),
            max(view.west, -180.0),
            min(view.north, 85.0),
            min(view.east, 180.0),
            view.zoom,
        )

    @classmethod
    def around(
        cls, centre: tuple[float, float], zoom: int, *, width_px: int, height_px: int
    ) -> View:
        """Return the view of a map ``width_px`` by ``height_px`` at ``centre`` (lat, lon)."""
        lat, lon = centre
        world = 256 * 2 ** int(zoom)
        half_lon = width_px / 2 / world * 360.0
        y = _mercator(lat)
        half_y = height_px / 2 / world * 2 * math.pi
        return cls(
            _inverse_mercator(y - half_y),
            lon - half_lon,
            _inverse_mercator(y + half_y),
            lon + half_lon,
            int(zoom),
        )

    def data_bounds(self) -> tuple[float, float, float, float]:
        """Return the view widened to whole web-map tiles plus one each side (w, s, e, n).

        Views that differ by less than a tile ask for the same data.
        """
        tiles = 2**self.zoom
        col0 = math.floor((self.west + 180.0) / 360.0 * tiles) - 1
        col1 = math.floor((self.east + 180.0) / 360.0 * tiles) + 2
        row0 = math.floor((math.pi - _mercator(self.north)) / (2 * math.pi) * tiles) - 1
        row1 = math.floor((math.pi - _mercator(self.south)) / (2 * math.pi) * tiles) + 2
        west = col0 / tiles * 360.0 - 180.0
        east = col1 / tiles * 360.0 - 180.0
        north = _inverse_mercator(math.pi - row0 / tiles * 2 * math.pi)
        south = _inverse_mercator(math.pi - row1 / tiles * 2 * math.pi)
        return west, south, east, north


def _mercator(lat: float) -> float:
    rad = math.radians(max(min(lat, 85.0), -85.0))
    return math.log(math.tan(math.pi / 4 + rad / 2))


def _inverse_mercator(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


class ChoroplethImage(RenderedOnce, Layer):
    """Localities painted as one picture (a PNG) over a view, for a view that holds thousands.

    Build it with :func:`choropleth_image`. It has no tooltips: zoomed in until the
    view holds fewer localities, they are drawn one by one with theirs.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.imageOverlay({{ this.url_js }}, {{ this.bounds_js }}, {
            opacity: {{ this.opacity }},
            interactive: false,
            className: "assetmap-choropleth-image",
            attribution: {{ this.attribution_js }}
        });
        {% endmacro %}
        """
    )

    def __init__(
        self, png: bytes, bounds: list[list[float]], *, opacity: float, attribution: str
    ) -> None:
        import base64

        super().__init__(name="Density", overlay=True, control=False, show=True)
        self._name = "ChoroplethImage"
        self.n_bytes = len(png)
        self.url_js = safe_html.script_json(
            "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        )
        self.bounds_js = safe_html.script_json(bounds)
        self.opacity = float(opacity)
        self.attribution_js = safe_html.script_json(safe_html.escape(attribution))


def choropleth_image(
    frame: gpd.GeoDataFrame, view: View, *, k: int, opacity: float = 0.7, attribution: str
) -> ChoroplethImage:
    """Paint localities, filled by class, as one image over ``view``'s data bounds.

    Parameters
    ----------
    frame
        Localities in WGS84 with ``class`` (0 to k-1, or missing: no data), as
        :meth:`ShapeIndex.in_view` gives them (simplified for the zoom).
    view
        The map's view: the image covers its data bounds at one pixel per screen pixel.
    k
        The number of classes.
    opacity
        The image's opacity.
    attribution
        The attribution shown while the image is on the map.

    Returns
    -------
    ChoroplethImage
    """
    import io

    from PIL import Image, ImageDraw

    west, south, east, north = view.data_bounds()
    world = 256 * 2**view.zoom
    x0 = (west + 180.0) / 360.0 * world
    y0 = (math.pi - _mercator(north)) / (2 * math.pi) * world
    width = max(round((east + 180.0) / 360.0 * world - x0), 1)
    height = max(round((math.pi - _mercator(south)) / (2 * math.pi) * world - y0), 1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    colours = class_colours(max(int(k), 1))
    classes = pd.array(frame["class"], dtype="Int64")
    fills = [
        NO_DATA_COLOUR if c is pd.NA else colours[min(int(c), len(colours) - 1)] for c in classes
    ]
    parts, rows = shapely.get_parts(np.asarray(frame.geometry, dtype=object), return_index=True)
    polygons = shapely.get_type_id(parts) == 3
    parts, rows = parts[polygons], rows[polygons]
    # the largest first: a locality inside another's hole is painted over it
    order = np.argsort(-shapely.area(parts), kind="stable")
    rings = shapely.get_exterior_ring(parts[order])
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    lat = np.clip(coords[:, 1], -85.0, 85.0)
    px = (coords[:, 0] + 180.0) / 360.0 * world - x0
    py = (math.pi - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))) / (2 * math.pi) * world - y0
    starts = np.searchsorted(ring, np.arange(len(order) + 1))
    points = np.column_stack([px, py]).ravel().tolist()
    for i, row in enumerate(rows[order]):
        a, b = starts[i], starts[i + 1]
        if b - a >= 3:
            draw.polygon(points[2 * a : 2 * b], fill=fills[row])
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return ChoroplethImage(
        out.getvalue(),
        [[south, west], [north, east]],
        opacity=opacity,
        attribution=attribution,
    )


class ShapeIndex:
    """Polygons (localities) indexed for the map's views: those in view, simplified for its zoom.

    A million-site map is drawn a view at a time, and so are its boundaries and
    choropleths: a view gets the shapes that reach into it, simplified to about
    half a pixel at its zoom (a national view's districts are a few hundred
    kilobytes, a street view's one or two districts in full detail).

    Parameters
    ----------
    frame
        Polygons with a CRS (any columns; kept as they are).
    """

    def __init__(self, frame: gpd.GeoDataFrame) -> None:
        require_crs(frame, "frame")
        self.frame = frame.to_crs(CRS_BNG) if not frame.crs.equals(CRS_BNG) else frame
        self.bounds = np.asarray(self.frame.geometry.bounds.to_numpy(), dtype="float64")
        self._geoms = np.asarray(self.frame.geometry, dtype=object)
        self._drawn: dict[int, np.ndarray] = {}  # zoom -> each row's shape for it (None: not yet)
        self._made: dict[tuple, gpd.GeoDataFrame] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Return the number of shapes."""
        return len(self.frame)

    def in_view(self, view: View) -> gpd.GeoDataFrame:
        """Return the rows whose shapes reach into ``view``'s data bounds, drawn for its zoom.

        Their shapes are simplified to half a pixel at the zoom and in WGS84 (each
        row's once per zoom, whatever views ask for it). The result is shared by
        every caller with the same view: do not change it.
        """
        box = view.data_bounds()
        key = (view.zoom, *(round(v, 6) for v in box))
        with self._lock:
            found = self._made.get(key)
        if found is not None:
            return found
        west, south, east, north = on_transform_thread(
            _TO_BNG.transform_bounds, *box, densify_pts=21
        )
        b = self.bounds
        hit = np.flatnonzero(
            (b[:, 0] <= east) & (b[:, 2] >= west) & (b[:, 1] <= north) & (b[:, 3] >= south)
        )
        with self._lock:
            drawn = self._drawn.setdefault(view.zoom, np.full(len(self.frame), None, dtype=object))
        todo = hit[[shape is None for shape in drawn[hit]]]
        if len(todo):
            simple = shapely.simplify(
                self._geoms[todo], metres_per_pixel(view.zoom) / 2, preserve_topology=True
            )
            drawn[todo] = np.asarray(
                on_transform_thread(gpd.GeoSeries(simple, crs=CRS_BNG).to_crs, CRS_WGS84),
                dtype=object,
            )
        rows = self.frame.iloc[hit]
        made = rows.set_geometry(gpd.GeoSeries(drawn[hit], index=rows.index, crs=CRS_WGS84))
        with self._lock:
            if len(self._made) >= 64:
                self._made.pop(next(iter(self._made)))
            self._made[key] = made
        return made


@dataclass(frozen=True)
class HexGrid:
    """The located sites counted in hexagons at one zoom.

    Attributes
    ----------
    size
        Circumradius in metres.
    q, r
        Each occupied cell's axial coordinates.
    lon, lat
        Each cell's centre in WGS84 (to find the cells in a view).
    count
        Sites in each cell.
    by_sector
        Sites of each sector in each cell (one column per :attr:`EstateIndex.sectors`).
    breaks
        Upper bounds of the colour classes (counts), lowest first.
    """

    size: float
    q: np.ndarray
    r: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    count: np.ndarray
    by_sector: np.ndarray
    breaks: tuple[int, ...]


def _breaks(counts: np.ndarray, k: int) -> tuple[int, ...]:
    """Return up to ``k`` class upper bounds: quantiles of the counts, whole and distinct."""
    if counts.size == 0:
        return ()
    cut = np.quantile(counts, np.linspace(0, 1, k + 1)[1:], method="higher")
    return tuple(int(v) for v in np.unique(np.ceil(cut)))


class EstateIndex:
    """One frame's located sites, indexed for views: both grids' coordinates and hexagons per zoom.

    Parameters
    ----------
    sites
        The site table (EPSG:27700), as the viewer may see it.

    Attributes
    ----------
    total, unlocated
        Sites given, and those with no location.
    sectors
        The sector keys, in the order of :attr:`HexGrid.by_sector`'s columns.

    Notes
    -----
    A filter or a place picks some of the sites: :meth:`subset` indexes them from
    this index (its coordinates, and each site's hexagon at each zoom), without
    working either out again.
    """

    def __init__(self, sites: gpd.GeoDataFrame) -> None:
        require_crs(sites, "sites")
        self.total = len(sites)
        located = (sites.geometry.notna() & ~sites.geometry.is_empty).to_numpy()
        self.unlocated = int((~located).sum())
        points = sites if located.all() else sites[located]
        if points.crs is not None and not points.crs.equals(CRS_BNG):
            points = points.to_crs(CRS_BNG)
        self._sites: gpd.GeoDataFrame | None = points
        self._rows = np.flatnonzero(located)  # each located site's row in the frame
        geoms = as_points(points.geometry)
        self.x = geoms.x.to_numpy(dtype="float64")
        self.y = geoms.y.to_numpy(dtype="float64")
        self.lon, self.lat = _TO_WGS84.transform(self.x, self.y)
        sectors = sector_key(points["sector"]) if len(points) else pd.Series([], dtype=object)
        codes, uniques = pd.factorize(sectors)
        self.sector_codes = np.asarray(codes, dtype=np.int64)
        self.sectors: list[str] = [str(u) for u in uniques]
        self._parent: EstateIndex | None = None
        self._positions: np.ndarray | None = None  # in the parent, for a subset
        self._grids: dict[int, HexGrid] = {}
        self._cells: dict[int, np.ndarray] = {}  # each site's cell in its zoom's grid
        self._lock = threading.Lock()

    def subset(self, keep: np.ndarray) -> EstateIndex:
        """Return the index of the rows of this index's frame that ``keep`` marks.

        The same as ``EstateIndex(frame[keep].reset_index(drop=True))``, made from
        this index: a filter of a million sites is indexed in a few hundredths of a
        second, not seconds.

        Raises
        ------
        InvalidArgumentError
            If ``keep`` is not one flag per row of the frame.
        """
        keep = np.asarray(keep)
        if keep.dtype != bool or keep.shape != (self.total,):
            raise InvalidArgumentError(
                f"keep must be {self.total:,} true or false flags, one per site; "
                f"got {keep.dtype} of shape {keep.shape}"
            )
        part = object.__new__(EstateIndex)
        positions = np.flatnonzero(keep[self._rows])
        part.total = int(keep.sum())
        part.unlocated = part.total - len(positions)
        part._sites = None
        part._rows = (np.cumsum(keep) - 1)[self._rows[positions]]
        part.x, part.y = self.x[positions], self.y[positions]
        part.lon, part.lat = self.lon[positions], self.lat[positions]
        part.sector_codes = self.sector_codes[positions]
        part.sectors = self.sectors
        if self._parent is not None and self._positions is not None:  # a subset of a subset
            part._parent, part._positions = self._parent, self._positions[positions]
        else:
            part._parent, part._positions = self, positions
        part._grids, part._cells, part._lock = {}, {}, threading.Lock()
        return part

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The located sites (the frame's rows in order, without those with no location)."""
        if self._sites is None:
            self._sites = self.rows(np.arange(len(self)))
        return self._sites

    def rows(self, positions: np.ndarray) -> gpd.GeoDataFrame:
        """Return the located sites at ``positions`` (as :meth:`in_bounds` gives them)."""
        if self._sites is not None:
            return self._sites.iloc[positions]
        assert self._parent is not None and self._positions is not None
        return self._parent.rows(self._positions[positions])

    def __len__(self) -> int:
        """Return the number of located sites."""
        return len(self.x)

    def in_bounds(self, west: float, south: float, east: float, north: float) -> np.ndarray:
        """Return the positions (in :attr:`sites`) of the sites inside the bounds (degrees)."""
        inside = (self.lon >= west) & (self.lon <= east) & (self.lat >= south) & (self.lat <= north)
        return np.flatnonzero(inside)

    def warm(self, zooms: range = range(5, POINTS_ZOOM)) -> threading.Thread:
        """Work out the hexagons of ``zooms`` in a background thread, and return it.

        The first view asked for at a zoom then finds its hexagons ready (at a
        million sites each zoom takes about a second).
        """
        worker = threading.Thread(
            target=lambda: [self.grid(z) for z in zooms], name="assetmap-hexagons", daemon=True
        )
        worker.start()
        return worker

    def grid(self, zoom: int) -> HexGrid:
        """Return the sites counted in hexagons at ``zoom`` (worked out once per zoom)."""
        zoom = int(zoom)
        with self._lock:
            found = self._grids.get(zoom)
        if found is not None:
            return found
        if self._parent is not None and self._positions is not None:
            whole = self._parent.grid(zoom)
            grid = _part_grid(whole, self._parent.cells(zoom)[self._positions], self.sector_codes)
        else:
            grid, cells = _whole_grid(self.x, self.y, zoom, self.sector_codes, len(self.sectors))
            with self._lock:
                self._cells[zoom] = cells
        with self._lock:
            self._grids[zoom] = grid
        return grid

    def cells(self, zoom: int) -> np.ndarray:
        """Return each site's cell (a row of :meth:`grid`'s arrays) at ``zoom``."""
        if self._parent is not None and self._positions is not None:
            return self._parent.cells(zoom)[self._positions]
        zoom = int(zoom)
        with self._lock:
            found = self._cells.get(zoom)
        if found is None:
            self.grid(zoom)
            with self._lock:
                found = self._cells[zoom]
        return found


def _whole_grid(
    x: np.ndarray, y: np.ndarray, zoom: int, sector_codes: np.ndarray, n_sectors: int
) -> tuple[HexGrid, np.ndarray]:
    """Count the sites in hexagons at ``zoom``; return the grid and each site's cell."""
    size = hex_size(zoom)
    q, r = hex_cells(x, y, size)
    offset = np.int64(1 << 24)  # axial coordinates lie within ±2**24 at every zoom
    keys = (q + offset) * (offset * 2) + (r + offset)
    cells, which = np.unique(keys, return_inverse=True)
    count = np.bincount(which, minlength=len(cells))
    n_sectors = max(n_sectors, 1)
    by_sector = np.bincount(
        which * n_sectors + sector_codes, minlength=len(cells) * n_sectors
    ).reshape(len(cells), n_sectors)
    cq = cells // (offset * 2) - offset
    cr = cells % (offset * 2) - offset
    cx, cy = _hex_centres(cq, cr, size)
    lon, lat = _TO_WGS84.transform(cx, cy)
    grid = HexGrid(
        size,
        cq,
        cr,
        np.asarray(lon),
        np.asarray(lat),
        count,
        by_sector,
        _breaks(count, HEX_CLASSES),
    )
    return grid, which.astype(np.int32)


def _part_grid(whole: HexGrid, cells: np.ndarray, sector_codes: np.ndarray) -> HexGrid:
    """Count some of ``whole``'s sites (each in its cell ``cells``) in ``whole``'s hexagons."""
    n_cells = len(whole.count)
    n_sectors = whole.by_sector.shape[1]
    count = np.bincount(cells, minlength=n_cells)
    by_sector = np.bincount(
        cells.astype(np.int64) * n_sectors + sector_codes, minlength=n_cells * n_sectors
    ).reshape(n_cells, n_sectors)
    kept = np.flatnonzero(count)
    return HexGrid(
        whole.size,
        whole.q[kept],
        whole.r[kept],
        whole.lon[kept],
        whole.lat[kept],
        count[kept],
        by_sector[kept],
        _breaks(count[kept], HEX_CLASSES),
    )


class HexLayer(RenderedOnce, Layer):
    """Hexagons of site counts, coloured by class, drawn on one canvas; a click zooms in.

    Compact: each cell is its centre (degrees), its count, its class and its count
    per sector; its corners are the centre plus six offsets worked out once for
    the view (the National Grid is as good as affine across one view), and its
    tooltip is written in the browser from the counts and the sectors' labels
    (escaped here: no register value reaches it). Build it with :func:`view_layer`.

    The hexagons are one Leaflet layer that paints them all on a canvas (a path per
    colour class) and finds the hexagon under the pointer itself: thousands of
    Leaflet polygons took about a second to build at every move of a national
    map, this takes a few hundredths. The canvas takes no pointer events, so the
    layers under it keep their tooltips. For tests and scripts the layer answers
    ``cells()`` (how many hexagons), ``tipText(i)`` (the tooltip of hexagon ``i``)
    and ``centre(i)`` (its centre, a ``L.LatLng``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.data_js }};
            var colours = {{ this.colours_js }};
            var k = d.labels.length;
            var n = d.n.length;
            function tip(i) {
                var parts = [];
                for (var j = 0; j < k; j++) {
                    var m = d.s[i * k + j];
                    if (m) { parts.push([m, m.toLocaleString("en-GB") + " " + d.labels[j]]); }
                }
                parts.sort(function (a, b) { return b[0] - a[0]; });
                var total = d.n[i];
                return "<strong>" + total.toLocaleString("en-GB") +
                    (total === 1 ? " site" : " sites") + "</strong><br>" +
                    parts.map(function (p) { return p[1]; }).join("; ") +
                    ". Click to zoom in.";
            }
            var Hexagons = L.Layer.extend({
                options: {attribution: {{ this.attribution_js }}, className: "assetmap-hex"},
                cells: function () { return n; },
                tipText: function (i) { return tip(i); },
                centre: function (i) { return L.latLng(d.y[i], d.x[i]); },
                onAdd: function (map) {
                    var canvas = L.DomUtil.create("canvas", "assetmap-hex leaflet-zoom-hide");
                    canvas.style.pointerEvents = "none";
                    map.getPanes().overlayPane.appendChild(canvas);
                    this._canvas = canvas;
                    this._tip = L.tooltip({sticky: true, direction: "top", offset: [0, -8]});
                    this._shown = -1;
                    map.on("moveend zoomend viewreset resize", this._draw, this);
                    // the map's own events go to the layer under the pointer (a boundary,
                    // say) and not to the map: listen to the page's events on the map
                    L.DomEvent.on(map.getContainer(), this._events(), this);
                    this._draw();
                },
                onRemove: function (map) {
                    map.off("moveend zoomend viewreset resize", this._draw, this);
                    L.DomEvent.off(map.getContainer(), this._events(), this);
                    this._leave();
                    L.DomUtil.remove(this._canvas);
                    this._canvas = null;
                },
                _draw: function () {
                    var map = this._map, canvas = this._canvas;
                    if (!map || !canvas) { return; }
                    var size = map.getSize(), ratio = window.devicePixelRatio || 1;
                    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
                    canvas.width = size.x * ratio;
                    canvas.height = size.y * ratio;
                    canvas.style.width = size.x + "px";
                    canvas.style.height = size.y + "px";
                    var ctx = canvas.getContext("2d");
                    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
                    // the corners' offsets in pixels, from the view's centre
                    var mid = map.getCenter(), at = map.latLngToContainerPoint(mid);
                    var ox = [], oy = [], reach = 0;
                    for (var j = 0; j < 6; j++) {
                        var q = map.latLngToContainerPoint(
                            [mid.lat + d.o[2 * j + 1], mid.lng + d.o[2 * j]]);
                        ox.push(q.x - at.x);
                        oy.push(q.y - at.y);
                        reach = Math.max(reach, Math.hypot(ox[j], oy[j]));
                    }
                    var px = new Float64Array(n), py = new Float64Array(n);
                    for (var i = 0; i < n; i++) {
                        var p = map.latLngToContainerPoint([d.y[i], d.x[i]]);
                        px[i] = p.x;
                        py[i] = p.y;
                    }
                    this._px = px; this._py = py; this._ox = ox; this._oy = oy;
                    this._reach = reach;
                    ctx.lineWidth = 0.5;
                    ctx.strokeStyle = "rgba(255, 255, 255, 0.8)";
                    for (var c = 0; c < colours.length; c++) {
                        ctx.beginPath();
                        for (i = 0; i < n; i++) {
                            if (d.c[i] !== c || px[i] < -reach || py[i] < -reach ||
                                px[i] > size.x + reach || py[i] > size.y + reach) { continue; }
                            ctx.moveTo(px[i] + ox[0], py[i] + oy[0]);
                            for (j = 1; j < 6; j++) { ctx.lineTo(px[i] + ox[j], py[i] + oy[j]); }
                            ctx.closePath();
                        }
                        ctx.globalAlpha = 0.75;
                        ctx.fillStyle = colours[c];
                        ctx.fill();
                        ctx.globalAlpha = 1;
                        ctx.stroke();
                    }
                },
                _hit: function (point) {
                    // the nearest centre, if the point is inside that hexagon
                    if (!this._px) { return -1; }
                    var best = -1, bestD = Infinity;
                    for (var i = 0; i < n; i++) {
                        var dx = point.x - this._px[i], dy = point.y - this._py[i];
                        var dd = dx * dx + dy * dy;
                        if (dd < bestD) { bestD = dd; best = i; }
                    }
                    if (best < 0 || bestD > this._reach * this._reach) { return -1; }
                    var x = point.x - this._px[best], y = point.y - this._py[best], inside = true;
                    for (var j = 0; j < 6; j++) {
                        var a = (j + 1) % 6;
                        var cross = (this._ox[a] - this._ox[j]) * (y - this._oy[j]) -
                            (this._oy[a] - this._oy[j]) * (x - this._ox[j]);
                        var turn = (this._ox[1] - this._ox[0]) * (this._oy[2] - this._oy[0]) -
                            (this._oy[1] - this._oy[0]) * (this._ox[2] - this._ox[0]);
                        if (cross * turn < 0) { inside = false; break; }
                    }
                    return inside ? best : -1;
                },
                _events: function () {
                    return {mousemove: this._hover, mouseleave: this._leave, click: this._click};
                },
                _hover: function (ev) {
                    var map = this._map, i = this._hit(map.mouseEventToContainerPoint(ev));
                    if (i < 0) { this._leave(); return; }
                    map.getContainer().style.cursor = "pointer";
                    if (i !== this._shown) { this._tip.setContent(tip(i)); this._shown = i; }
                    this._tip.setLatLng(map.mouseEventToLatLng(ev));
                    if (!map.hasLayer(this._tip)) { map.openTooltip(this._tip); }
                },
                _leave: function () {
                    if (this._map) {
                        this._map.getContainer().style.cursor = "";
                        if (this._map.hasLayer(this._tip)) { this._map.closeTooltip(this._tip); }
                    }
                    this._shown = -1;
                },
                _click: function (ev) {
                    var map = this._map;
                    if (map.dragging && map.dragging.moved()) { return; }  // the end of a drag
                    var i = this._hit(map.mouseEventToContainerPoint(ev));
                    if (i < 0) { return; }
                    var ring = [];
                    for (var j = 0; j < 12; j += 2) {
                        ring.push([d.y[i] + d.o[j + 1], d.x[i] + d.o[j]]);
                    }
                    map.fitBounds(L.latLngBounds(ring), {maxZoom: map.getZoom() + 3});
                }
            });
            return new Hexagons();
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, data: dict[str, Any], *, colours: list[str], attribution: str | None, name: str
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "HexLayer"
        self.n_cells = len(data["n"])
        self.data_js = safe_html.script_json(data)
        self.colours_js = safe_html.script_json([safe_html.css_colour(c) for c in colours])
        self.attribution_js = safe_html.script_json(
            safe_html.escape(attribution) if attribution else None
        )


@dataclass
class ViewLayer:
    """The sites layer made for one view, and what it shows.

    Attributes
    ----------
    layer
        A :class:`HexLayer` or a :class:`~assetmap.maps.interactive.sites.SitesLayer`.
    mode
        ``"hexagons"`` or ``"points"``.
    in_view
        Located sites inside the data bounds.
    legend
        ``(label, colour)`` per hexagon class, lowest first (empty for points).
    message
        Plain words for people: what the layer shows and how to see more.
    """

    layer: HexLayer | SitesLayer
    mode: str
    in_view: int
    legend: list[tuple[str, str]]
    message: str


def corner_offsets(lon: float, lat: float, size: float) -> list[float]:
    """Return the corners of a hexagon of circumradius ``size`` at (lon, lat), as offsets.

    Degrees of longitude and latitude, corner by corner (lon, lat, lon, lat...),
    of a pointy-top hexagon on the National Grid whose centre is at the given
    point: a view's hexagons are drawn from their centres with these.
    """
    cx, cy = on_transform_thread(_TO_BNG.transform, lon, lat)
    angles = np.radians(30.0 + 60.0 * np.arange(6))
    vlon, vlat = on_transform_thread(
        _TO_WGS84.transform, cx + size * np.cos(angles), cy + size * np.sin(angles)
    )
    offsets = np.column_stack([np.asarray(vlon) - lon, np.asarray(vlat) - lat]).ravel()
    return [float(v) for v in np.round(offsets, 7)]


def _legend(breaks: tuple[int, ...], colours: list[str]) -> list[tuple[str, str]]:
    legend, low = [], 1
    for high, colour in zip(breaks, colours, strict=False):
        legend.append((f"{low:,}" if high == low else f"{low:,}–{high:,}", colour))
        low = high + 1
    return legend


def _hex_layer(
    index: EstateIndex, zoom: int, bounds: tuple[float, float, float, float], name: str
) -> tuple[HexLayer, int, list[tuple[str, str]]]:
    grid = index.grid(zoom)
    west, south, east, north = bounds
    pad_lon = (east - west) * 0.02
    inside = np.flatnonzero(
        (grid.lon >= west - pad_lon)
        & (grid.lon <= east + pad_lon)
        & (grid.lat >= south)
        & (grid.lat <= north)
    )
    counts = grid.count[inside]
    classes = np.searchsorted(np.asarray(grid.breaks), counts, side="left")
    colours = class_colours(max(len(grid.breaks), 1))
    data = {
        "x": np.round(grid.lon[inside], 5).tolist(),
        "y": np.round(grid.lat[inside], 5).tolist(),
        "o": corner_offsets((west + east) / 2, (south + north) / 2, grid.size),
        "n": counts.astype(int).tolist(),
        "c": np.minimum(classes, len(colours) - 1).astype(int).tolist(),
        "s": grid.by_sector[inside].astype(int).ravel().tolist(),
        "labels": [safe_html.escape(sector_label(s).lower()) for s in index.sectors],
    }
    layer = HexLayer(data, colours=colours, attribution=None, name=name)
    return layer, int(counts.sum()), _legend(grid.breaks, colours)


def view_layer(
    index: EstateIndex,
    view: View,
    *,
    point_limit: int | None = None,
    name: str = "Sites",
) -> ViewLayer:
    """Return the sites layer for ``view``: hexagons, or the sites themselves close in.

    Parameters
    ----------
    index
        The sites the viewer may see, indexed (:class:`EstateIndex`).
    view
        The map's bounds and zoom.
    point_limit
        The most sites drawn one by one, below :data:`POINTS_ZOOM` (default
        :data:`POINT_LIMIT`).
    name
        The layer's name.

    Returns
    -------
    ViewLayer

    Raises
    ------
    InvalidArgumentError
        If ``point_limit`` is not positive.
    """
    point_limit = POINT_LIMIT if point_limit is None else point_limit
    if int(point_limit) < 1:
        raise InvalidArgumentError(f"point_limit={point_limit!r} is not valid; expected 1 or more")
    bounds = view.data_bounds()
    positions = index.in_bounds(*bounds)
    if len(positions) <= int(point_limit) or view.zoom >= POINTS_ZOOM:
        layer = sites_layer(
            index.rows(positions),
            cluster=False,
            popups=False,
            max_points=max(len(positions), 1),
            name=name,
        )
        message = _unlocated(index)
        return ViewLayer(layer, "points", len(positions), [], message)
    hexes, in_view, legend = _hex_layer(index, view.zoom, bounds, name)
    message = (
        f"{in_view:,} sites around this view are counted in hexagons; zoom in (or click a "
        f"hexagon) to see them one by one, which the map does once a view holds "
        f"{int(point_limit):,} sites or fewer. {_unlocated(index)}"
    ).strip()
    return ViewLayer(hexes, "hexagons", in_view, legend, message)


def _unlocated(index: EstateIndex) -> str:
    if not index.unlocated:
        return ""
    return f"{index.unlocated:,} of {index.total:,} sites have no location and are not drawn."
