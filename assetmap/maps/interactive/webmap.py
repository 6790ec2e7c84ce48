"""The interactive map itself: the base map, the map of sites, its HTML page and its view.

:func:`base_map` draws the boundaries, optional tiles and the legend (the app
adds the sites as a separate layer, so the map keeps its position when the
filters change); :func:`site_map` adds the sites; :func:`map_html` renders a
standalone page that needs no internet; :func:`view_of` finds the centre and
zoom that show a set of shapes.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

import folium
import geopandas as gpd
from branca.element import Element, Figure

from ...errors import InvalidArgumentError
from ...settings import TileSetting
from .. import safe_html
from ..style import MAP_BACKGROUND, MAP_CSS
from .elements import (
    FitBounds,
    HtmlControl,
    MapBackground,
    legend_html,
    notice_html,
    ons_attribution,
)
from .features import bounds_wgs84, require_crs
from .layers import BoundariesLayer
from .offline import asset_url, make_offline, remote_links, walk
from .sites import DEFAULT_MAX_POINTS, SitesLayer, sites_layer

__all__ = ["MAX_ZOOM", "MIN_ZOOM", "EstateMap", "base_map", "map_html", "site_map", "view_of"]

#: The map's zoom range (whole of the UK to a single building).
MIN_ZOOM = 5
MAX_ZOOM = 19
# The closest view :func:`view_of` gives: a street, not a single building.
_CLOSEST_VIEW = 17


class EstateMap(folium.Map):
    """A ``folium.Map`` that keeps the sites layer :func:`site_map` drew on it.

    Attributes
    ----------
    sites_layer
        The :class:`~assetmap.maps.interactive.sites.SitesLayer`, or ``None`` on a
        base map without sites.
    """

    sites_layer: SitesLayer | None = None


def _tile_layer(tiles: str | TileSetting, attribution: str | None) -> folium.TileLayer:
    setting = (
        tiles
        if isinstance(tiles, TileSetting)
        else TileSetting(tiles, attribution or f"Tiles: {urlsplit(tiles).netloc}")
    )
    return folium.TileLayer(
        tiles=setting.url,
        attr=safe_html.escape(setting.attribution),
        name="Background",
        control=False,
        max_zoom=MAX_ZOOM,
    )


def base_map(
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    tiles: str | TileSetting | None = None,
    tiles_attribution: str | None = None,
    extent: gpd.GeoDataFrame | None = None,
    legend: bool = True,
    height: int | str = "100%",
    clusters: bool = True,
) -> EstateMap:
    """Return an offline-safe map with boundaries, optional tiles and the legend, but no sites.

    The Streamlit app draws this once and adds the sites as a separate layer, so the
    map keeps its position when the filters change.

    Parameters
    ----------
    boundaries
        Locality polygons drawn as a light basemap, with the ONS/OS attribution.
    tiles
        Optional tile URL template (or :class:`TileSetting`); ``None`` draws no tiles.
    tiles_attribution
        Attribution for ``tiles`` when it is a URL; the host name by default.
    extent
        Frame whose bounds the map first shows (with the boundaries'); typically the
        whole estate.
    legend
        Show the sector legend.
    height
        Map height (CSS), for standalone HTML.
    clusters
        Load Leaflet.markercluster with the map, for a sites layer that clusters
        markers in the browser (the Map page's, made per view, never does).

    Returns
    -------
    EstateMap
        A ``folium.Map``.
    """
    bounds = bounds_wgs84(
        [
            require_crs(boundaries, "boundaries") if boundaries is not None else None,
            require_crs(extent, "extent") if extent is not None else None,
        ]
    )
    if bounds is None:
        location, zoom = [54.0, -2.5], 6
    else:
        location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
        zoom = 9
    m = EstateMap(location=location, zoom_start=zoom, tiles=None, control_scale=True, height=height)
    # Leaflet.markercluster needs the map's own zoom range; with no tiles nothing else sets it.
    m.options["minZoom"] = MIN_ZOOM
    m.options["maxZoom"] = MAX_ZOOM
    # Load markercluster with the map, so a layer that starts clustering later still works.
    cluster_js = ("markerclusterjs",) if clusters else ()
    cluster_css = ("markerclustercss", "markerclusterdefaultcss") if clusters else ()
    m.default_js = [(name, asset_url(name)) for name in ("leaflet", *cluster_js)]
    m.default_css = [(name, asset_url(name)) for name in ("leaflet_css", *cluster_css)]
    MapBackground(MAP_BACKGROUND).add_to(m)
    root = m.get_root()
    if isinstance(root, Figure):  # always, for a map of its own: folium puts it in a Figure
        root.header.add_child(Element(f"<style>{MAP_CSS}</style>"), name="assetmap_css")
    if tiles is not None:
        _tile_layer(tiles, tiles_attribution).add_to(m)
    if boundaries is not None and len(boundaries) > 0:
        BoundariesLayer(boundaries, attribution=ons_attribution()).add_to(m)
    if legend:
        HtmlControl(
            legend_html(), position="bottomleft", css_class="assetmap-legend-control"
        ).add_to(m)
    if bounds is not None:
        FitBounds(bounds).add_to(m)
    return make_offline(m)


def site_map(
    sites: gpd.GeoDataFrame,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    tiles: str | TileSetting | None = None,
    cluster: bool | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    popups: bool | None = None,
    tiles_attribution: str | None = None,
) -> EstateMap:
    """Return an offline-safe interactive map of sites, coloured by sector.

    Parameters
    ----------
    sites
        The site table (points, EPSG:27700); converted to WGS84 only here.
    boundaries
        Locality polygons (code/name/geometry) drawn as a light basemap.
    tiles
        Optional background tile URL template; ``None`` (the default) draws none.
    cluster
        Cluster markers in the browser; by default only above
        :data:`~assetmap.maps.interactive.sites.CLUSTER_THRESHOLD`.
    max_points
        Draw at most this many sites and show a notice on the map beyond it.
    popups
        Bind a popup with each site's record; by default only up to
        :data:`~assetmap.maps.interactive.sites.POPUP_LIMIT` sites.
    tiles_attribution
        Attribution text for ``tiles``.

    Returns
    -------
    EstateMap
        A ``folium.Map`` with attribute ``sites_layer``
        (:class:`~assetmap.maps.interactive.sites.SitesLayer`) giving counts and the notice.

    Examples
    --------
    The map draws the sites it is given: pass only those the viewer may see.

    >>> sites = visible_sites(store.sites(), local_viewer())  # doctest: +SKIP
    >>> m = site_map(sites, boundaries=load_localities("district"))  # doctest: +SKIP
    >>> m.sites_layer.message  # doctest: +SKIP
    """
    m = base_map(boundaries, tiles=tiles, tiles_attribution=tiles_attribution, extent=sites)
    layer = sites_layer(sites, cluster=cluster, max_points=max_points, popups=popups)
    layer.add_to(m)
    if layer.capped:
        HtmlControl(
            notice_html(layer.message), position="topright", css_class="assetmap-notice-control"
        ).add_to(m)
    m.sites_layer = layer
    return m


def map_html(m: folium.Map) -> str:
    """Return a map as a standalone HTML page that needs no internet.

    Third-party JavaScript and CSS are embedded as ``data:`` URLs from the installed
    XStatic packages; only a configured tile URL may remain.

    Parameters
    ----------
    m
        A map from :func:`site_map` or :func:`base_map` (other folium elements may be
        added as long as assetmap has local copies of what they load).

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    InvalidArgumentError
        If the rendered page would still fetch anything from the internet.

    Examples
    --------
    >>> m = site_map(visible_sites(store.sites()))  # doctest: +SKIP
    >>> Path("sites.html").write_text(map_html(m), encoding="utf-8")  # doctest: +SKIP
    """
    make_offline(m)
    html = m.get_root().render()
    tile_urls = [str(e.tiles) for e in walk(m) if isinstance(e, folium.TileLayer)]
    remote = remote_links(html, allow=tile_urls)
    if remote:
        raise InvalidArgumentError(
            "the map would load files from the internet: " + ", ".join(remote[:5])
        )
    return html


def _mercator_y(lat: float) -> float:
    rad = math.radians(max(min(lat, 85.0), -85.0))
    return math.log(math.tan(math.pi / 4 + rad / 2))


def view_of(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, *, width_px: int = 900, height_px: int = 640
) -> tuple[tuple[float, float], int] | None:
    """Return the centre (lat, lon) and zoom that show all of ``frame`` on a web map.

    Parameters
    ----------
    frame
        Geometries with a CRS.
    width_px, height_px
        The map's size on screen.

    Returns
    -------
    ((lat, lon), zoom) or None
        ``None`` when ``frame`` has no geometry.
    """
    bounds = bounds_wgs84([frame if isinstance(frame, gpd.GeoDataFrame) else frame.to_frame()])
    if bounds is None:
        return None
    (south, west), (north, east) = bounds
    centre = ((south + north) / 2, (west + east) / 2)
    span_x = max(east - west, 1e-6) / 360.0
    span_y = max(_mercator_y(north) - _mercator_y(south), 1e-9) / (2 * math.pi)
    zoom_x = math.log2(width_px / 256 / span_x)
    zoom_y = math.log2(height_px / 256 / span_y)
    zoom = math.floor(min(zoom_x, zoom_y))
    return centre, int(min(max(zoom, MIN_ZOOM), _CLOSEST_VIEW))
