"""Interactive web maps of the estate (folium / Leaflet) that work with no internet.

Offline assets
--------------
folium points a map at public CDNs for Leaflet, jQuery, Bootstrap, Font Awesome
and its plugins; on a machine with no internet such a map is blank. Here every
third-party file comes from a PyPI package installed beside assetmap (the
XStatic packages ``XStatic-Leaflet`` and ``XStatic-Leaflet-MarkerCluster``) and
is handed to the browser as a ``data:`` URL built at run time from the installed
file (images that the CSS refers to are inlined the same way). The same URLs
serve both faces:

* :func:`map_html` renders a standalone HTML page (``<script src="data:...">``),
  which opens from a file with no network at all;
* streamlit-folium's ``st_folium`` collects each element's ``default_js`` /
  ``default_css`` and its frontend loads them with ``<script src=...>`` /
  ``<link href=...>``, so data URLs load there too.

:func:`make_offline` swaps folium's CDN links for the local copies on every
element of a map, drops the ones assetmap never uses (jQuery, Bootstrap,
awesome-markers, Font Awesome) and refuses any other remote script or style
sheet; :func:`remote_links` finds anything remote left in rendered HTML.

Drawing many sites
------------------
All sites are ONE Leaflet GeoJSON layer (:class:`SitesLayer`): the data goes to
the browser as compact columns, circle markers are made by ``pointToLayer`` and
coloured by sector, and above :data:`CLUSTER_THRESHOLD` points they are
clustered client-side with Leaflet.markercluster. Beyond ``max_points`` the map
draws the first ``max_points`` and says so.

Every register value reaches the page through :mod:`assetmap.maps.safe_html`.
Sites arrive in British National Grid and are converted to WGS84 only here.
"""

from __future__ import annotations

import base64
import functools
import importlib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from shapely.geometry import mapping

from ..errors import DataNotFoundError, InvalidArgumentError
from ..schema import CRS_BNG, CRS_WGS84
from ..settings import (  # the tile settings' home; their names stay here for callers
    TILE_ATTRIBUTION_ENV,
    TILE_URL_ENV,
    TileSetting,
    configured_tiles,
)
from . import safe_html
from .style import (
    BOUNDARY_STYLE,
    CLUSTER_COLOUR,
    MAP_BACKGROUND,
    MAP_CSS,
    MATCH_LINE_COLOUR,
    NO_DATA_COLOUR,
    REQUEST_COLOUR,
    SECTOR_STYLES,
    class_colours,
    sector_colour,
    sector_key,
    sector_label,
)

__all__ = [
    "CLUSTER_THRESHOLD",
    "DEFAULT_MAX_POINTS",
    "POPUP_LIMIT",
    "TILE_ATTRIBUTION_ENV",
    "TILE_URL_ENV",
    "BoundariesLayer",
    "HtmlControl",
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
    "offers_layer",
    "ons_attribution",
    "remote_links",
    "requests_layer",
    "site_map",
    "site_record",
    "sites_layer",
    "view_of",
]

#: Above this many sites the sites layer clusters markers in the browser.
CLUSTER_THRESHOLD = 2_000
#: The most sites one map draws; beyond it the map draws this many and says so.
DEFAULT_MAX_POINTS = 50_000
#: The map's zoom range (whole of the UK to a single building).
MIN_ZOOM = 5
MAX_ZOOM = 19
#: Up to this many sites, markers get a popup with the site's record by default (each
#: popup is about a kilobyte of HTML; beyond this the page grows too heavy).
POPUP_LIMIT = 5_000

# --------------------------------------------------------------------------------------
# Local assets
# --------------------------------------------------------------------------------------

# Asset name (folium's names where folium has one) -> (XStatic module, file in its data dir).
_ASSETS: dict[str, tuple[str, str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "XStatic-Leaflet", "leaflet.js"),
    "leaflet_css": ("xstatic.pkg.leaflet", "XStatic-Leaflet", "leaflet.css"),
    "markerclusterjs": (
        "xstatic.pkg.leaflet_markercluster",
        "XStatic-Leaflet-MarkerCluster",
        "leaflet.markercluster.js",
    ),
    "markerclustercss": (
        "xstatic.pkg.leaflet_markercluster",
        "XStatic-Leaflet-MarkerCluster",
        "MarkerCluster.css",
    ),
    "markerclusterdefaultcss": (
        "xstatic.pkg.leaflet_markercluster",
        "XStatic-Leaflet-MarkerCluster",
        "MarkerCluster.Default.css",
    ),
}

# folium.Map's default links that assetmap never uses (awesome-markers and their fonts).
_UNUSED_FOLIUM_ASSETS = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)

_MIME = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
_SOURCE_MAP_RE = re.compile(
    r"^\s*(//[#@]\s*sourceMappingURL=.*|/\*[#@]\s*sourceMappingURL=.*\*/)$", re.MULTILINE
)
_CSS_IMAGE_RE = re.compile(r"""url\(\s*(['"]?)(images/[A-Za-z0-9_.-]+)\1\s*\)""")


def _data_url(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _asset_dir(module: str, package: str) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise DataNotFoundError(
            f"The interactive map needs the PyPI package {package} (its JavaScript is served "
            f"from the installed package, never from the internet): pip install {package}"
        ) from exc
    return Path(mod.BASE_DIR)


@functools.cache
def asset_url(name: str) -> str:
    """Return a ``data:`` URL of a bundled third-party asset, read from its installed package.

    Parameters
    ----------
    name
        One of ``"leaflet"``, ``"leaflet_css"``, ``"markerclusterjs"``,
        ``"markerclustercss"``, ``"markerclusterdefaultcss"``.

    Returns
    -------
    str

    Raises
    ------
    InvalidArgumentError
        For an unknown name.
    DataNotFoundError
        If the XStatic package that holds the file is not installed.
    """
    if name not in _ASSETS:
        raise InvalidArgumentError(
            f"asset {name!r} is not bundled; expected one of: {', '.join(_ASSETS)}"
        )
    module, package, filename = _ASSETS[name]
    folder = _asset_dir(module, package)
    path = folder / filename
    if not path.is_file():
        raise DataNotFoundError(f"{package} is installed but has no {filename} in {folder}")
    suffix = path.suffix.lower()
    text = _SOURCE_MAP_RE.sub("", path.read_text(encoding="utf-8"))
    if suffix == ".css":

        def inline(match: re.Match[str]) -> str:
            image = folder / match.group(2)
            if not image.is_file():
                return "none"
            mime = _MIME.get(image.suffix.lower(), "application/octet-stream")
            return f'url("{_data_url(mime, image.read_bytes())}")'

        text = _CSS_IMAGE_RE.sub(inline, text)
    return _data_url(_MIME[suffix], text.encode("utf-8"))


def _is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http:", "https:", "//", "ftp:"))


def _walk(element: Element) -> Iterable[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _offline_links(element: Element, links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for name, url in links:
        if name in _ASSETS:
            result.append((name, asset_url(name)))
        elif isinstance(element, folium.Map) and name in _UNUSED_FOLIUM_ASSETS:
            continue
        elif _is_remote(url):
            raise InvalidArgumentError(
                f"{type(element).__name__} needs {name} from {url}, which has no local copy; "
                f"bundled assets: {', '.join(_ASSETS)}"
            )
        else:
            result.append((name, url))
    return result


def make_offline(element: Element) -> Element:
    """Point every element of a map at local copies of its JavaScript and CSS.

    Each ``JSCSSMixin`` element (the map itself, plugins) gets instance-level
    ``default_js`` / ``default_css`` lists whose URLs are :func:`asset_url` data
    URLs; folium's class-level lists are left untouched.

    Parameters
    ----------
    element
        A ``folium.Map`` or any element of one. Changed in place.

    Returns
    -------
    branca.element.Element
        ``element``.

    Raises
    ------
    InvalidArgumentError
        If an element needs a remote file assetmap has no local copy of.
    """
    for item in _walk(element):
        if isinstance(item, JSCSSMixin):
            item.default_js = _offline_links(item, list(item.default_js))
            item.default_css = _offline_links(item, list(item.default_css))
    return element


_QUOTED_URL_RE = re.compile(r"""["'(]\s*((?:https?:|ftp:)?//[^"'()\s<>]+)""", re.IGNORECASE)
_CSS_IMPORT_RE = re.compile(r"""@import\s+["']?((?:https?:)?//[^"';\s]+)""", re.IGNORECASE)


def remote_links(html: str, allow: Iterable[str] = ()) -> list[str]:
    """Return every remote URL in rendered map HTML that a browser might fetch.

    Looks at quoted or parenthesised absolute and protocol-relative URLs
    (``src="..."``, ``href='...'``, ``url(...)``, strings in scripts) and CSS
    ``@import``. Text inside ``data:`` URLs is base64 and is not seen.

    Parameters
    ----------
    html
        Rendered HTML.
    allow
        URLs that may appear (a configured tile URL template).

    Returns
    -------
    list of str
        The URLs found, in order, without duplicates; empty when the page is offline-safe.
    """
    allowed = {a.strip() for a in allow if a}
    found = [m.group(1) for m in _QUOTED_URL_RE.finditer(html)]
    found += [m.group(1) for m in _CSS_IMPORT_RE.finditer(html)]
    return [url for url in dict.fromkeys(found) if url not in allowed]


def ons_attribution() -> str:
    """Return the attribution shown wherever boundaries or postcodes are drawn.

    The text is :data:`assetmap.localities.ATTRIBUTION` (imported here, not at module
    import, so that drawing a map without boundaries loads no boundary code).
    """
    from ..localities import ATTRIBUTION

    return str(ATTRIBUTION)


# --------------------------------------------------------------------------------------
# Elements
# --------------------------------------------------------------------------------------


class HtmlControl(MacroElement):
    """A Leaflet control showing a fixed piece of (already escaped) HTML.

    Parameters
    ----------
    html
        HTML built with :mod:`assetmap.maps.safe_html`; it is put into the control's
        ``innerHTML``, so it must never contain raw register values.
    position
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"``.
    css_class
        Class name(s) of the control's ``div``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position_js }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.class_js }});
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    _POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")

    def __init__(self, html: str, *, position: str = "bottomleft", css_class: str = "") -> None:
        super().__init__()
        if position not in self._POSITIONS:
            raise InvalidArgumentError(
                f"position={position!r} is not valid; expected one of: {', '.join(self._POSITIONS)}"
            )
        self._name = "HtmlControl"
        self.html = html
        self.position_js = safe_html.script_json(position)
        self.class_js = safe_html.script_json(f"leaflet-control {css_class}".strip())
        self.html_js = safe_html.script_json(html)


class LayerLegend(MacroElement):
    """A legend control that is on the map exactly while its parent layer is.

    Add it to a layer (a ``FeatureGroup``, say): when the layer is added to a map the
    legend appears, and when the layer is removed (as streamlit-folium does when it
    swaps the layers of a rerun) the legend goes with it.

    Parameters
    ----------
    html
        Escaped HTML (from :mod:`assetmap.maps.safe_html` builders).
    position
        A Leaflet control position.
    css_class
        Class name(s) of the control's ``div``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (layer) {
            var control = L.control({position: {{ this.position_js }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.class_js }});
                div.innerHTML = {{ this.html_js }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            layer.on("add", function () { control.addTo(layer._map); });
            layer.on("remove", function () { control.remove(); });
            if (layer._map) { control.addTo(layer._map); }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomright", css_class: str = "") -> None:
        super().__init__()
        if position not in HtmlControl._POSITIONS:
            raise InvalidArgumentError(
                f"position={position!r} is not valid; expected one of: "
                f"{', '.join(HtmlControl._POSITIONS)}"
            )
        self._name = "LayerLegend"
        self.position_js = safe_html.script_json(position)
        self.class_js = safe_html.script_json(f"leaflet-control {css_class}".strip())
        self.html_js = safe_html.script_json(html)


class _MapBackground(MacroElement):
    """Sets the colour shown where no boundary or tile is drawn."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.getContainer().style.background = {{ this.colour_js }};
        {% endmacro %}
        """
    )

    def __init__(self, colour: str) -> None:
        super().__init__()
        self._name = "MapBackground"
        self.colour_js = safe_html.script_json(safe_html.css_colour(colour))


class _FitBounds(MacroElement):
    """Fits the map to bounds at once (folium's fit_bounds animates, and a view set by
    the user or a script during that animation is lost).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds(
            {{ this.bounds_js }}, {padding: [12, 12], animate: false}
        );
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds_js = safe_html.script_json(bounds)


class BoundariesLayer(Layer):
    """Locality boundaries drawn as a light, non-interactive basemap.

    Parameters
    ----------
    boundaries
        Polygons with a CRS (EPSG:27700 in assetmap).
    attribution
        Plain text shown in the map's attribution control while the layer is on.
    simplify_m
        Tolerance, in metres, for simplifying the outlines before drawing (0: none).
    name
        Layer name.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            interactive: false,
            attribution: {{ this.attribution_js }},
            style: function () { return {{ this.style_js }}; }
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        boundaries: gpd.GeoDataFrame,
        *,
        attribution: str,
        simplify_m: float = 20.0,
        name: str = "Boundaries",
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "BoundariesLayer"
        geoms = _require_crs(boundaries, "boundaries").geometry
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if simplify_m > 0:
            geoms = geoms.to_crs(CRS_BNG).simplify(simplify_m, preserve_topology=True)
        geoms = geoms.to_crs(CRS_WGS84)
        snapped = shapely.set_precision(np.asarray(geoms, dtype=object), 1e-5)
        features = [
            {"type": "Feature", "properties": {}, "geometry": mapping(g)}
            for g in snapped
            if g is not None and not g.is_empty
        ]
        self.n_features = len(features)
        self.data_js = safe_html.script_json({"type": "FeatureCollection", "features": features})
        self.attribution_js = safe_html.script_json(safe_html.escape(attribution))
        self.style_js = safe_html.script_json({**BOUNDARY_STYLE, "interactive": False})


class SitesLayer(JSCSSMixin, Layer):
    """Every site as one Leaflet GeoJSON layer of circle markers, coloured by sector.

    Build it with :func:`sites_layer`. Each marker's feature carries ``id``
    (the ``site_id``), ``sector``, ``tip`` (escaped tooltip HTML) and, when popups
    are on, ``popup`` (escaped record HTML); st_folium reports the clicked
    feature back to Python as ``last_active_drawing``.

    Attributes
    ----------
    total
        Sites given.
    unlocated
        Sites without a location (not drawn).
    drawn
        Markers drawn.
    capped
        Whether ``max_points`` cut the layer short.
    cluster
        Whether markers are clustered in the browser.
    message
        Plain-text notice for people ("Showing 50,000 of 61,234 sites..."), or ``""``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.data_js }};
            var colours = {{ this.colours_js }};
            var n = d.x.length;
            var features = new Array(n);
            for (var i = 0; i < n; i++) {
                var p = {id: d.id[i], sector: d.s[i], tip: d.tip[i]};
                if (d.popup) { p.popup = d.popup[i]; }
                features[i] = {
                    type: "Feature",
                    properties: p,
                    geometry: {type: "Point", coordinates: [d.x[i], d.y[i]]}
                };
            }
            var geo = L.geoJson(null, {
                attribution: {{ this.attribution_js }},
                pointToLayer: function (feature, latlng) {
                    var sector = feature.properties.sector;
                    return L.circleMarker(latlng, {
                        radius: {{ this.radius }},
                        color: "#ffffff",
                        weight: 1,
                        opacity: 1,
                        fillColor: colours[sector] || colours.other,
                        fillOpacity: 0.9,
                        className: "assetmap-site assetmap-sector-" + sector
                    });
                },
                onEachFeature: function (feature, layer) {
                    layer.bindTooltip(feature.properties.tip, {direction: "top"});
                    if (feature.properties.popup) {
                        layer.bindPopup(feature.properties.popup, {maxWidth: 380});
                    }
                }
            });
            geo.addData({type: "FeatureCollection", features: features});
            {%- if this.cluster %}
            if (typeof L.markerClusterGroup === "function") {
                var group = L.markerClusterGroup({
                    chunkedLoading: true,
                    showCoverageOnHover: false,
                    maxClusterRadius: 45,
                    attribution: {{ this.attribution_js }}
                });
                group.addLayer(geo);
                return group;
            }
            {%- endif %}
            return geo;
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data_js: str,
        *,
        total: int,
        unlocated: int,
        drawn: int,
        capped: bool,
        cluster: bool,
        message: str,
        attribution: str | None,
        radius: int = 5,
        name: str = "Sites",
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "SitesLayer"
        self.data_js = data_js
        self.total = total
        self.unlocated = unlocated
        self.drawn = drawn
        self.capped = capped
        self.cluster = cluster
        self.message = message
        self.radius = int(radius)
        self.colours_js = safe_html.script_json(
            {k: safe_html.css_colour(s.colour) for k, s in SECTOR_STYLES.items()}
        )
        self.attribution_js = safe_html.script_json(
            safe_html.escape(attribution) if attribution else None
        )
        if cluster:
            self.default_js = [("markerclusterjs", asset_url("markerclusterjs"))]
            self.default_css = [
                ("markerclustercss", asset_url("markerclustercss")),
                ("markerclusterdefaultcss", asset_url("markerclusterdefaultcss")),
            ]
        else:
            self.default_js = []
            self.default_css = []


class ShapesLayer(Layer):
    """Polygons, lines or points, each with its own style and an escaped tooltip.

    The layer behind choropleths, co-location clusters, match lines and space
    requests. Each feature's style is computed in Python (colours checked by
    :func:`safe_html.css_colour`); its tooltip is HTML built by
    :mod:`safe_html`, never a raw register value. Build it with
    :func:`choropleth_layer`, :func:`clusters_layer`, :func:`lines_layer`,
    :func:`offers_layer` or :func:`requests_layer`.

    Parameters
    ----------
    features
        GeoJSON features in WGS84 whose properties are ``tip`` (escaped HTML)
        and ``st`` (a Leaflet path style).
    name
        Layer name.
    radius
        Radius in pixels of circle markers drawn for points.
    interactive
        Whether features react to the pointer (tooltips).
    attribution
        Plain text for the map's attribution control while the layer is on
        (the ONS/OS line for boundaries and postcode locations).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            interactive: {{ this.interactive_js }},
            attribution: {{ this.attribution_js }},
            style: function (feature) { return feature.properties.st; },
            pointToLayer: function (feature, latlng) {
                var st = feature.properties.st;
                return L.circleMarker(latlng, Object.assign({radius: {{ this.radius }}}, st));
            },
            onEachFeature: function (feature, layer) {
                if (feature.properties.tip) {
                    layer.bindTooltip(feature.properties.tip, {sticky: true});
                }
            }
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        features: list[dict[str, Any]],
        *,
        name: str,
        radius: int = 7,
        interactive: bool = True,
        attribution: str | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "ShapesLayer"
        self.attribution_js = safe_html.script_json(
            safe_html.escape(attribution) if attribution else None
        )
        self.n_features = len(features)
        self.radius = int(radius)
        self.interactive_js = "true" if interactive else "false"
        self.data_js = safe_html.script_json({"type": "FeatureCollection", "features": features})


# --------------------------------------------------------------------------------------
# Building maps
# --------------------------------------------------------------------------------------


def _require_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidArgumentError(f"{what} must be a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None:
        raise InvalidArgumentError(f"{what} has no CRS; expected {CRS_BNG}")
    return frame


def _fmt_number(value: Any, suffix: str = "") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(number):
        return ""
    return f"{number:,.0f}{suffix}"


def site_record(site: Mapping[str, Any], *, provenance: bool = True) -> list[tuple[str, Any]]:
    """Return a site's record as ``(label, value)`` pairs for people to read.

    Values are raw (not escaped): pass them to :func:`safe_html.record_html` or
    another escaping writer.

    Parameters
    ----------
    site
        One row of the site table (a dict or a pandas Series).
    provenance
        Include where the record came from (file, row, checksum, import time).

    Returns
    -------
    list of (str, object)
    """

    def get(key: str) -> Any:
        value = site.get(key)
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None  # missing, or withheld from another agency (assetmap.access)
        return value

    rows: list[tuple[str, Any]] = [
        ("Agency", get("agency")),
        ("Sector", sector_label(str(get("sector") or "other"))),
        ("Address", get("address")),
        ("Postcode", get("postcode")),
        ("Use", get("use")),
        ("Use class", get("use_class")),
        ("Tenure", get("tenure")),
        ("Floor area", _fmt_number(get("floor_area_sqft"), " sq ft")),
        ("Surplus", _fmt_number(get("surplus_sqft"), " sq ft")),
        (
            "Running cost",
            ("£" + _fmt_number(get("running_cost_gbp")))
            if _fmt_number(get("running_cost_gbp"))
            else None,
        ),
        ("Lease expiry", get("lease_expiry")),
        ("UPRN", get("uprn")),
        ("Site ID", get("site_id")),
    ]
    if provenance:
        row = get("source_row")
        rows += [
            ("Source file", get("source_file")),
            ("Source row", None if row is None else int(row)),
            ("Source reference", get("source_ref")),
            ("File SHA-256", get("source_sha256")),
            ("Imported at", get("imported_at")),
            ("Located from", get("location_source")),
        ]
    return rows


def legend_html(sectors: Iterable[str] | None = None) -> str:
    """Return the legend of sector colours as escaped HTML.

    Parameters
    ----------
    sectors
        Sector codes to list; all of :data:`SECTOR_STYLES` by default.
    """
    keys = (
        list(SECTOR_STYLES) if sectors is None else [s for s in SECTOR_STYLES if s in set(sectors)]
    )
    items = []
    for key in keys:
        style = SECTOR_STYLES[key]
        colour = safe_html.css_colour(style.colour)
        items.append(
            '<div class="assetmap-legend-item" style="white-space:nowrap">'
            '<span style="display:inline-block;width:11px;height:11px;border-radius:50%;'
            f"background:{colour};border:1px solid #fff;box-shadow:0 0 0 1px #777;"
            f'margin-right:6px;vertical-align:middle"></span>{safe_html.escape(style.label)}</div>'
        )
    return (
        '<div class="assetmap-legend" style="background:rgba(255,255,255,0.92);padding:6px 9px;'
        "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.5 sans-serif;"
        'color:#222"><div style="font-weight:600;margin-bottom:2px">Sector</div>'
        + "".join(items)
        + "</div>"
    )


def _notice_html(message: str) -> str:
    return (
        '<div class="assetmap-notice" style="background:#fff8e1;border:1px solid #e0b000;'
        'padding:5px 8px;border-radius:4px;font:12px/1.4 sans-serif;max-width:320px;color:#222">'
        f"{safe_html.escape(message)}</div>"
    )


def _bounds_wgs84(frames: Iterable[gpd.GeoDataFrame | None]) -> list[list[float]] | None:
    boxes = []
    for frame in frames:
        if frame is None or len(frame) == 0:
            continue
        geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
        if len(geoms) == 0:
            continue
        west, south, east, north = geoms.to_crs(CRS_WGS84).total_bounds
        if all(math.isfinite(v) for v in (west, south, east, north)):
            boxes.append((west, south, east, north))
    if not boxes:
        return None
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    return [[float(south), float(west)], [float(north), float(east)]]


def base_map(
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    tiles: str | TileSetting | None = None,
    tiles_attribution: str | None = None,
    extent: gpd.GeoDataFrame | None = None,
    legend: bool = True,
    height: int | str = "100%",
) -> folium.Map:
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

    Returns
    -------
    folium.Map
    """
    bounds = _bounds_wgs84(
        [
            _require_crs(boundaries, "boundaries") if boundaries is not None else None,
            _require_crs(extent, "extent") if extent is not None else None,
        ]
    )
    if bounds is None:
        location, zoom = [54.0, -2.5], 6
    else:
        location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
        zoom = 9
    m = folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        height=height,
    )
    # Leaflet.markercluster needs the map's own zoom range; with no tiles nothing else sets it.
    m.options["minZoom"] = MIN_ZOOM
    m.options["maxZoom"] = MAX_ZOOM
    # Load markercluster with the map, so a layer that starts clustering later still works.
    m.default_js = [(name, asset_url(name)) for name in ("leaflet", "markerclusterjs")]
    m.default_css = [
        (name, asset_url(name))
        for name in ("leaflet_css", "markerclustercss", "markerclusterdefaultcss")
    ]
    _MapBackground(MAP_BACKGROUND).add_to(m)
    m.get_root().header.add_child(Element(f"<style>{MAP_CSS}</style>"), name="assetmap_css")
    if tiles is not None:
        setting = (
            tiles
            if isinstance(tiles, TileSetting)
            else TileSetting(tiles, tiles_attribution or f"Tiles: {urlsplit(tiles).netloc}")
        )
        folium.TileLayer(
            tiles=setting.url,
            attr=safe_html.escape(setting.attribution),
            name="Background",
            control=False,
            max_zoom=MAX_ZOOM,
        ).add_to(m)
    if boundaries is not None and len(boundaries) > 0:
        BoundariesLayer(boundaries, attribution=ons_attribution()).add_to(m)
    if legend:
        HtmlControl(
            legend_html(), position="bottomleft", css_class="assetmap-legend-control"
        ).add_to(m)
    if bounds is not None:
        _FitBounds(bounds).add_to(m)
    return make_offline(m)


def _located_points(sites: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    geoms = sites.geometry
    located = (geoms.notna() & ~geoms.is_empty).to_numpy()
    points = sites[located]
    return points, int((~located).sum())


def sites_layer(
    sites: gpd.GeoDataFrame,
    *,
    cluster: bool | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    popups: bool | None = None,
    radius: int = 5,
    name: str = "Sites",
) -> SitesLayer:
    """Return every located site as one :class:`SitesLayer`.

    Parameters
    ----------
    sites
        The site table (:data:`assetmap.schema.SITE_COLUMNS`, points, EPSG:27700).
    cluster
        Cluster markers in the browser; by default only above :data:`CLUSTER_THRESHOLD`.
    max_points
        Draw at most this many sites (the first ones); the layer's ``message`` says so.
    popups
        Bind a popup with the site's record to each marker; by default only up to
        :data:`POPUP_LIMIT` markers.
    radius
        Marker radius in pixels.
    name
        Layer name.

    Returns
    -------
    SitesLayer

    Raises
    ------
    InvalidArgumentError
        If ``sites`` is not a GeoDataFrame with a CRS, or ``max_points`` is not positive.
    """
    _require_crs(sites, "sites")
    if int(max_points) < 1:
        raise InvalidArgumentError(f"max_points={max_points!r} is not valid; expected 1 or more")
    total = len(sites)
    points, unlocated = _located_points(sites)
    capped = len(points) > max_points
    if capped:
        points = points.iloc[: int(max_points)]
    drawn = len(points)

    geoms = points.geometry
    if len(geoms) and not (geoms.geom_type == "Point").all():
        geoms = geoms.representative_point()
    wgs = gpd.GeoSeries(geoms, crs=sites.crs).to_crs(CRS_WGS84)

    def column(name: str) -> pd.Series:
        if name in points.columns:
            return points[name]
        return pd.Series([None] * drawn, index=points.index, dtype="object")

    sectors = sector_key(column("sector"))
    data: dict[str, Any] = {
        "x": np.round(wgs.x.to_numpy(dtype="float64"), 6),
        "y": np.round(wgs.y.to_numpy(dtype="float64"), 6),
        "s": sectors.tolist(),
        "id": column("site_id").astype("object").fillna("").astype(str).tolist(),
        "tip": [
            safe_html.tooltip_html(n, a)
            for n, a in zip(column("name"), column("agency"), strict=True)
        ],
    }
    if popups is None:
        popups = drawn <= POPUP_LIMIT
    if popups:
        records = points.drop(columns=points.geometry.name).to_dict("records")
        data["popup"] = [
            safe_html.record_html(site_record(r, provenance=False), title=r.get("name"))
            for r in records
        ]
    if cluster is None:
        cluster = drawn > CLUSTER_THRESHOLD

    parts = []
    if capped:
        parts.append(
            f"Showing the first {drawn:,} of {total - unlocated:,} located sites; "
            "filter by sector or agency to see the rest."
        )
    if unlocated:
        parts.append(f"{unlocated:,} of {total:,} sites have no location and are not drawn.")
    location_source = column("location_source").astype("object").fillna("").astype(str)
    from_postcodes = bool(location_source.str.contains("postcode", case=False).any())

    return SitesLayer(
        safe_html.script_json(data),
        total=total,
        unlocated=unlocated,
        drawn=drawn,
        capped=capped,
        cluster=bool(cluster),
        message=" ".join(parts),
        attribution=ons_attribution() if from_postcodes else None,
        radius=radius,
        name=name,
    )


def site_map(
    sites: gpd.GeoDataFrame,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    tiles: str | TileSetting | None = None,
    cluster: bool | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    popups: bool | None = None,
    tiles_attribution: str | None = None,
) -> folium.Map:
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
        Cluster markers in the browser; by default only above :data:`CLUSTER_THRESHOLD`.
    max_points
        Draw at most this many sites and show a notice on the map beyond it.
    popups
        Bind a popup with each site's record; by default only up to :data:`POPUP_LIMIT` sites.
    tiles_attribution
        Attribution text for ``tiles``.

    Returns
    -------
    folium.Map
        With attribute ``sites_layer`` (:class:`SitesLayer`) giving counts and the notice.

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
            _notice_html(layer.message), position="topright", css_class="assetmap-notice-control"
        ).add_to(m)
    m.sites_layer = layer
    return m


def _tile_urls(m: Element) -> list[str]:
    return [str(e.tiles) for e in _walk(m) if isinstance(e, folium.TileLayer)]


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
    remote = remote_links(html, allow=_tile_urls(m))
    if remote:
        raise InvalidArgumentError(
            "the map would load files from the internet: " + ", ".join(remote[:5])
        )
    return html


# --------------------------------------------------------------------------------------
# Analysis layers
# --------------------------------------------------------------------------------------


def _shape_features(
    geoms: gpd.GeoSeries, tips: Iterable[str], styles: Iterable[dict[str, Any]], simplify_m: float
) -> list[dict[str, Any]]:
    """GeoJSON features (WGS84, 6 decimals) from BNG geometries, escaped tips and styles."""
    geoms = geoms.to_crs(CRS_BNG)
    if simplify_m > 0:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    wgs = shapely.set_precision(np.asarray(geoms.to_crs(CRS_WGS84), dtype=object), 1e-6)
    features = []
    for geom, tip, style in zip(wgs, tips, styles, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {"type": "Feature", "properties": {"tip": tip, "st": style}, "geometry": mapping(geom)}
        )
    return features


def _figure(value: Any, unit: str = "") -> str:
    """A figure for a tooltip: whole numbers above 100, else three significant digits."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "no data"
    if not math.isfinite(number):
        return "no data"
    text = f"{number:,.0f}" if abs(number) >= 100 or number == int(number) else f"{number:.3g}"
    return f"{text}{unit}"


def choropleth_layer(
    frame: gpd.GeoDataFrame,
    *,
    value_label: str,
    k: int,
    opacity: float = 0.7,
    name: str = "Density",
) -> ShapesLayer:
    """Return localities filled by class, as from :meth:`LocalityDensity.choropleth`.

    Parameters
    ----------
    frame
        Localities (EPSG:27700) with ``name``, ``value``, ``class`` (0 to k-1 or
        missing), ``class_label`` and, when present, ``sites``.
    value_label
        What the value is, for the tooltip ("Sites per km²").
    k
        The number of classes (the classification's ``k``).
    opacity
        Fill opacity.
    name
        Layer name.

    Returns
    -------
    ShapesLayer
    """
    _require_crs(frame, "frame")
    colours = class_colours(max(int(k), 1))
    classes = pd.array(frame["class"], dtype="Int64")
    styles, tips = [], []
    for i, (cls, name_, value, label) in enumerate(
        zip(classes, frame["name"], frame["value"], frame["class_label"], strict=True)
    ):
        fill = NO_DATA_COLOUR if cls is pd.NA else colours[min(int(cls), len(colours) - 1)]
        styles.append(
            {
                "color": "#555555",
                "weight": 0.6,
                "fillColor": safe_html.css_colour(fill),
                "fillOpacity": float(opacity),
            }
        )
        lines = [f"{value_label}: {_figure(value)}", f"Class: {label}"]
        if "sites" in frame.columns:
            lines.append(f"Sites: {int(frame['sites'].iloc[i]):,}")
        tips.append(
            f"<strong>{safe_html.escape(name_)}</strong><br>"
            + "<br>".join(safe_html.escape(t) for t in lines)
        )
    return ShapesLayer(
        _shape_features(frame.geometry, tips, styles, simplify_m=15.0),
        name=name,
        radius=0,
        attribution=ons_attribution(),
    )


def choropleth_legend_html(legend: Iterable[str], *, title: str, note: str | None = None) -> str:
    """Return a choropleth legend (class colours and labels) as escaped HTML.

    Parameters
    ----------
    legend
        One label per class, lowest first (a :class:`~assetmap.density.Classification`'s
        ``legend``).
    title
        The legend's heading (what is measured, and the scheme).
    note
        A line under the classes, such as the classification's message.
    """
    labels = list(legend)
    items = []
    for colour, label in zip(class_colours(max(len(labels), 1)), labels, strict=False):
        items.append(
            '<div class="assetmap-legend-item" style="white-space:nowrap">'
            f'<span style="display:inline-block;width:14px;height:11px;background:'
            f"{safe_html.css_colour(colour)};border:1px solid #777;margin-right:6px;"
            f'vertical-align:middle"></span>{safe_html.escape(label)}</div>'
        )
    items.append(
        '<div class="assetmap-legend-item" style="white-space:nowrap">'
        f'<span style="display:inline-block;width:14px;height:11px;background:{NO_DATA_COLOUR};'
        'border:1px solid #777;margin-right:6px;vertical-align:middle"></span>'
        "no data</div>"
    )
    foot = f'<div style="color:#555;max-width:220px">{safe_html.escape(note)}</div>' if note else ""
    return (
        '<div class="assetmap-legend assetmap-choropleth-legend" style="background:'
        "rgba(255,255,255,0.92);padding:6px 9px;border-radius:4px;box-shadow:0 1px 4px "
        'rgba(0,0,0,0.3);font:12px/1.5 sans-serif;color:#222">'
        f'<div style="font-weight:600;margin-bottom:2px">{safe_html.escape(title)}</div>'
        + "".join(items)
        + foot
        + "</div>"
    )


def clusters_layer(
    clusters: gpd.GeoDataFrame, *, name: str = "Co-location clusters"
) -> ShapesLayer:
    """Return co-location cluster outlines with a tooltip of agencies, area and saving.

    Parameters
    ----------
    clusters
        :attr:`assetmap.colocation.ColocationResult.clusters` (polygons, EPSG:27700).
    name
        Layer name.
    """
    _require_crs(clusters, "clusters")
    tips, styles = [], []
    for row in clusters.itertuples(index=False):
        estimated = " (estimated)" if bool(row.saving_estimated) else ""
        tips.append(
            f"<strong>Cluster {safe_html.escape(row.cluster_id)}</strong><br>"
            f"{safe_html.escape(f'{row.n_sites:,} sites of {row.n_agencies} agencies')}<br>"
            f"{safe_html.escape(row.agencies)}<br>"
            + safe_html.escape(
                f"Releases {_figure(row.net_floor_area_released_sqft)} sq ft, "
                f"saving £{_figure(row.saving_gbp)} a year{estimated}"
            )
        )
        styles.append(
            {
                "color": CLUSTER_COLOUR,
                "weight": 2,
                "dashArray": "5 4",
                "fillColor": CLUSTER_COLOUR,
                "fillOpacity": 0.12,
            }
        )
    return ShapesLayer(_shape_features(clusters.geometry, tips, styles, simplify_m=0), name=name)


def lines_layer(lines: gpd.GeoDataFrame, *, name: str = "Matches") -> ShapesLayer:
    """Return offer-to-request lines with a tooltip naming both ends and the distance.

    Parameters
    ----------
    lines
        Lines (EPSG:27700) from :meth:`assetmap.matching.MatchResult.lines` or
        :meth:`assetmap.matching.AllocationPlan.lines`: ``offer_name``,
        ``offer_agency``, ``request_ref`` or ``request_id``, ``request_agency``,
        ``distance_m`` and ``assigned_sqft`` or ``offer_sqft``.
    name
        Layer name.
    """
    _require_crs(lines, "lines")
    tips, styles = [], []
    sqft_column = "assigned_sqft" if "assigned_sqft" in lines.columns else "offer_sqft"
    for row in lines.to_dict("records"):
        ref = row.get("request_ref") or row.get("request_id")
        what = "assigned" if sqft_column == "assigned_sqft" else "offered"
        tips.append(
            f"<strong>{safe_html.escape(row.get('offer_name'))}</strong> "
            f"({safe_html.escape(row.get('offer_agency'))})<br>"
            f"to request {safe_html.escape(ref)} ({safe_html.escape(row.get('request_agency'))})"
            "<br>"
            + safe_html.escape(
                f"{_figure(row.get(sqft_column))} sq ft {what}, "
                f"{_figure(float(row.get('distance_m') or 0) / 1000)} km"
            )
        )
        styles.append({"color": MATCH_LINE_COLOUR, "weight": 3, "opacity": 0.85})
    return ShapesLayer(_shape_features(lines.geometry, tips, styles, simplify_m=0), name=name)


def offers_layer(sites: gpd.GeoDataFrame, *, name: str = "Surplus offers") -> ShapesLayer:
    """Return the sites offering surplus space as rings sized by the space offered.

    Parameters
    ----------
    sites
        Sites (points, EPSG:27700); those with ``surplus_sqft > 0`` are drawn.
    name
        Layer name.
    """
    _require_crs(sites, "sites")
    surplus = pd.to_numeric(sites.get("surplus_sqft"), errors="coerce")
    offers = sites[(surplus > 0).to_numpy()]
    offers, _ = _located_points(offers)
    tips, styles = [], []
    for row in offers.to_dict("records"):
        sqft = float(row.get("surplus_sqft") or 0)
        tips.append(
            safe_html.tooltip_html(row.get("name"), row.get("agency"))
            + "<br>"
            + safe_html.escape(f"Offers {_figure(sqft)} sq ft")
        )
        styles.append(
            {
                "radius": float(np.clip(4 + math.sqrt(sqft) / 15, 6, 22)),
                "color": safe_html.css_colour(sector_colour(str(row.get("sector") or "other"))),
                "weight": 3,
                "fill": False,
                "className": "assetmap-offer",
            }
        )
    geoms = offers.geometry
    if len(geoms) and not (geoms.geom_type == "Point").all():
        geoms = geoms.representative_point()
    return ShapesLayer(_shape_features(geoms, tips, styles, simplify_m=0), name=name)


def requests_layer(requests: gpd.GeoDataFrame, *, name: str = "Space requests") -> ShapesLayer:
    """Return space requests as hollow black rings with escaped tooltips.

    Parameters
    ----------
    requests
        Canonical space requests (points, EPSG:27700); those with no point are skipped.
    name
        Layer name.
    """
    _require_crs(requests, "requests")
    points = requests.geometry
    keep = (points.notna() & ~points.is_empty).to_numpy()
    tips = []
    for row in requests[keep].to_dict("records"):
        ref = row.get("source_ref") or row.get("request_id")
        need = _figure(row.get("space_needed_sqft"), " sq ft")
        use = str(row.get("use") or "")
        tips.append(
            f"<strong>Request {safe_html.escape(ref)}</strong><br>"
            f"{safe_html.escape(row.get('agency'))}<br>"
            + safe_html.escape(" ".join(x for x in (need, use) if x and x != "no data"))
        )
    style = {
        "radius": 9,
        "color": REQUEST_COLOUR,
        "weight": 3,
        "fillColor": "#ffffff",
        "fillOpacity": 0.9,
        "className": "assetmap-request",
    }
    return ShapesLayer(
        _shape_features(points[keep], tips, [style] * len(tips), simplify_m=0), name=name
    )


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
    bounds = _bounds_wgs84([frame if isinstance(frame, gpd.GeoDataFrame) else frame.to_frame()])
    if bounds is None:
        return None
    (south, west), (north, east) = bounds
    centre = ((south + north) / 2, (west + east) / 2)

    def merc_y(lat: float) -> float:
        rad = math.radians(max(min(lat, 85.0), -85.0))
        return math.log(math.tan(math.pi / 4 + rad / 2))

    span_x = max(east - west, 1e-6) / 360.0
    span_y = max(merc_y(north) - merc_y(south), 1e-9) / (2 * math.pi)
    zoom_x = math.log2(width_px / 256 / span_x)
    zoom_y = math.log2(height_px / 256 / span_y)
    zoom = math.floor(min(zoom_x, zoom_y))
    return centre, int(min(max(zoom, MIN_ZOOM), 17))
