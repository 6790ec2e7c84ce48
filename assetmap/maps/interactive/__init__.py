"""Interactive web maps of the estate (folium / Leaflet) that work with no internet.

The package is split at its seams, one job a module:

* :mod:`~assetmap.maps.interactive.offline`: Leaflet and Leaflet.markercluster
  served from the installed XStatic packages as ``data:`` URLs, folium's CDN
  links swapped for them, and a scan for anything remote left;
* :mod:`~assetmap.maps.interactive.elements`: controls, legends, notices, the
  background, the first view and the view kept when the app draws a map afresh;
* :mod:`~assetmap.maps.interactive.features`: frames (EPSG:27700) checked and
  turned into WGS84 bounds and GeoJSON features, and the figures of tooltips;
* :mod:`~assetmap.maps.interactive.sites`: every site as ONE Leaflet layer of
  circle markers coloured by sector, clustered in the browser above
  :data:`CLUSTER_THRESHOLD` and capped at ``max_points``;
* :mod:`~assetmap.maps.interactive.layers`: boundaries and the analysis layers
  (choropleth, co-location clusters, match lines, offers, requests);
* :mod:`~assetmap.maps.interactive.webmap`: the map itself (:func:`base_map`,
  :func:`site_map`), its standalone page (:func:`map_html`) and its view
  (:func:`view_of`).

Every register value reaches the page through :mod:`assetmap.maps.safe_html`.
Sites arrive in British National Grid and are converted to WGS84 only here.
The tile settings (:func:`configured_tiles`, :class:`TileSetting`) live in
:mod:`assetmap.settings` and are named here for callers.
"""

from __future__ import annotations

from ...settings import TILE_ATTRIBUTION_ENV, TILE_URL_ENV, TileSetting, configured_tiles
from .elements import (
    HtmlControl,
    KeepView,
    LayerLegend,
    choropleth_legend_html,
    legend_html,
    notice_html,
    ons_attribution,
)
from .layers import (
    BoundariesLayer,
    ShapesLayer,
    choropleth_layer,
    clusters_layer,
    lines_layer,
    offers_layer,
    requests_layer,
)
from .offline import asset_url, make_offline, remote_links
from .sites import (
    CLUSTER_THRESHOLD,
    DEFAULT_MAX_POINTS,
    POPUP_LIMIT,
    SitesLayer,
    site_record,
    sites_layer,
)
from .webmap import MAX_ZOOM, MIN_ZOOM, EstateMap, base_map, map_html, site_map, view_of

__all__ = [
    "CLUSTER_THRESHOLD",
    "DEFAULT_MAX_POINTS",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "POPUP_LIMIT",
    "TILE_ATTRIBUTION_ENV",
    "TILE_URL_ENV",
    "BoundariesLayer",
    "EstateMap",
    "HtmlControl",
    "KeepView",
    "LayerLegend",
    "ShapesLayer",
    "SitesLayer",
    "TileSetting",
    "asset_url",
    "base_map",
    "choropleth_layer",
    "choropleth_legend_html",
    "clusters_layer",
    "configured_tiles",
    "legend_html",
    "lines_layer",
    "make_offline",
    "map_html",
    "notice_html",
    "offers_layer",
    "ons_attribution",
    "remote_links",
    "requests_layer",
    "site_map",
    "site_record",
    "sites_layer",
    "view_of",
]
