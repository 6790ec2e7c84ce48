"""Every site as one Leaflet layer of circle markers, coloured by sector, and its records.

All sites are ONE Leaflet GeoJSON layer (:class:`SitesLayer`): the data goes to
the browser as compact columns, circle markers are made by ``pointToLayer`` and
coloured by sector, and above :data:`CLUSTER_THRESHOLD` points they are
clustered client-side with Leaflet.markercluster. Beyond ``max_points`` the map
draws an even sample of ``max_points`` and says so (the app's Map page draws a
layer per view instead: :mod:`~assetmap.maps.interactive.viewport`).
:func:`site_record` gives a site's record, as people read it, for popups and the
record panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from ...errors import InvalidArgumentError
from ...schema import APPROXIMATE, CRS_WGS84, approximate_mask
from .. import safe_html
from ..style import SECTOR_STYLES, sector_key, sector_label
from .elements import LayerLegend, RenderedOnce, approximate_legend_html, ons_attribution
from .features import as_points, located_points, on_transform_thread, require_crs, whole_number
from .offline import asset_url

__all__ = [
    "CLUSTER_THRESHOLD",
    "DEFAULT_MAX_POINTS",
    "POPUP_LIMIT",
    "SitesLayer",
    "location_text",
    "site_record",
    "sites_layer",
]

#: Above this many sites the sites layer clusters markers in the browser.
CLUSTER_THRESHOLD = 2_000
#: The most sites one standalone map draws; beyond it, an even sample of this many, and it says so.
DEFAULT_MAX_POINTS = 50_000
#: Up to this many sites, markers get a popup with the site's record by default (each
#: popup is about a kilobyte of HTML; beyond this the page grows too heavy).
POPUP_LIMIT = 5_000


class SitesLayer(JSCSSMixin, RenderedOnce, Layer):
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
    approximate
        Markers drawn of sites placed only approximately (at the centre of their
        postcode district or sector): hollow dashed rings, with a legend entry.
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
                var p = {id: d.id[i], sector: d.s[i], tip: d.tip[i], approx: d.a ? d.a[i] : 0};
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
                    if (feature.properties.approx) {
                        // placed only at the centre of its postcode area: a hollow, dashed ring
                        return L.circleMarker(latlng, {
                            radius: {{ this.radius + 2 }},
                            color: colours[sector] || colours.other,
                            weight: 2,
                            opacity: 1,
                            dashArray: "3 3",
                            fill: true,
                            fillColor: "#ffffff",
                            fillOpacity: 0.2,
                            className: "assetmap-site assetmap-approximate " +
                                "assetmap-sector-" + sector
                        });
                    }
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
        approximate: int = 0,
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self.approximate = int(approximate)
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

    running_cost = whole_number(get("running_cost_gbp"))
    rows: list[tuple[str, Any]] = [
        ("Agency", get("agency")),
        ("Sector", sector_label(str(get("sector") or "other"))),
        ("Address", get("address")),
        ("Postcode", get("postcode")),
        ("Location", location_text(get("location_precision"), get("postcode"))),
        ("Use", get("use")),
        ("Use class", get("use_class")),
        ("Tenure", get("tenure")),
        ("Floor area", whole_number(get("floor_area_sqft"), " sq ft")),
        ("Surplus", whole_number(get("surplus_sqft"), " sq ft")),
        ("Running cost", f"£{running_cost}" if running_cost else None),
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


#: How a site's record describes each location precision (see schema.PRECISIONS).
_PRECISION_TEXT = {
    "footprint": "footprint of the site",
    "point": "coordinates given in the register",
    "postcode": "at its postcode (ONS Postcode Directory)",
}


def location_text(precision: object, postcode: object = None) -> str | None:
    """Return how precisely a site is placed, in words, for its record.

    Parameters
    ----------
    precision
        The site's ``location_precision``.
    postcode
        The site's ``postcode`` (for an approximate site, its postcode district or sector).

    Returns
    -------
    str or None
        ``None`` when the precision is not known.

    Examples
    --------
    >>> location_text("postcode district", "M41")
    'approximate, centre of postcode district M41'
    """
    text = str(precision or "")
    if text in APPROXIMATE:
        area = f" {postcode}" if postcode else ""
        return f"approximate, centre of {text}{area}"
    return _PRECISION_TEXT.get(text)


def _column(points: gpd.GeoDataFrame, name: str) -> pd.Series:
    """Return the column ``name`` of ``points``, or missing values when it has none."""
    if name in points.columns:
        return points[name]
    return pd.Series([None] * len(points), index=points.index, dtype="object")


def _sites_data(points: gpd.GeoDataFrame, *, popups: bool) -> dict[str, Any]:
    """Return the compact columns the layer's script draws: WGS84 points, sectors, tips."""
    wgs = on_transform_thread(
        gpd.GeoSeries(as_points(points.geometry), crs=points.crs).to_crs, CRS_WGS84
    )
    data: dict[str, Any] = {
        "x": np.round(wgs.x.to_numpy(dtype="float64"), 6),
        "y": np.round(wgs.y.to_numpy(dtype="float64"), 6),
        "s": sector_key(_column(points, "sector")).tolist(),
        "id": _column(points, "site_id").astype("object").fillna("").astype(str).tolist(),
        "tip": [
            safe_html.tooltip_html(n, a)
            for n, a in zip(_column(points, "name"), _column(points, "agency"), strict=True)
        ],
    }
    approximate = approximate_mask(points)
    if approximate.any():
        data["a"] = approximate.astype(int).tolist()
    if popups:
        records = points.drop(columns=points.geometry.name).to_dict("records")
        data["popup"] = [
            safe_html.record_html(site_record(r, provenance=False), title=r.get("name"))
            for r in records
        ]
    return data


def _notice(*, total: int, unlocated: int, drawn: int, capped: bool) -> str:
    """Return what the layer leaves out, in words, or ``""`` when it draws every site."""
    parts = []
    if capped:
        parts.append(
            f"Showing {drawn:,} of {total - unlocated:,} located sites, an even sample "
            "through every register; filter by sector or agency, or choose a smaller place, "
            "to draw every one (the app's Map page draws every site as you zoom in)."
        )
    if unlocated:
        parts.append(f"{unlocated:,} of {total:,} sites have no location and are not drawn.")
    return " ".join(parts)


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
        Draw at most this many sites (an even sample through the table); the layer's
        ``message`` says so.
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
    require_crs(sites, "sites")
    if int(max_points) < 1:
        raise InvalidArgumentError(f"max_points={max_points!r} is not valid; expected 1 or more")
    total = len(sites)
    points, unlocated = located_points(sites)
    capped = len(points) > max_points
    if capped:  # an even sample through the table, not its first rows (one source first)
        points = points.iloc[np.linspace(0, len(points) - 1, int(max_points)).round().astype(int)]
    drawn = len(points)
    data = _sites_data(points, popups=drawn <= POPUP_LIMIT if popups is None else popups)
    location_source = _column(points, "location_source").astype("object").fillna("").astype(str)
    from_postcodes = bool(location_source.str.contains("postcode", case=False).any())
    layer = SitesLayer(
        safe_html.script_json(data),
        total=total,
        unlocated=unlocated,
        drawn=drawn,
        capped=capped,
        cluster=drawn > CLUSTER_THRESHOLD if cluster is None else bool(cluster),
        message=_notice(total=total, unlocated=unlocated, drawn=drawn, capped=capped),
        attribution=ons_attribution() if from_postcodes else None,
        radius=radius,
        name=name,
        approximate=int(approximate_mask(points).sum()),
    )
    if layer.approximate:  # the legend entry comes and goes with the layer
        LayerLegend(
            approximate_legend_html(),
            position="bottomleft",
            css_class="assetmap-legend-control assetmap-approximate-control",
        ).add_to(layer)
    return layer
