"""The analysis layers of the interactive map: boundaries, choropleths, clusters, matches.

:class:`BoundariesLayer` draws locality outlines as a light basemap;
:class:`ShapesLayer` draws polygons, lines or points, each with its own style and
an escaped tooltip, and is built by :func:`choropleth_layer`,
:func:`clusters_layer`, :func:`lines_layer`, :func:`offers_layer` and
:func:`requests_layer` from the engine's results (EPSG:27700).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from folium.template import Template
from shapely.geometry import mapping

from ...schema import CRS_BNG, CRS_WGS84
from .. import safe_html
from ..style import (
    BOUNDARY_STYLE,
    CLUSTER_COLOUR,
    MATCH_LINE_COLOUR,
    NO_DATA_COLOUR,
    REQUEST_COLOUR,
    class_colours,
    sector_colour,
)
from .elements import RenderedOnce, ons_attribution
from .features import (
    as_points,
    figure,
    located_points,
    on_transform_thread,
    require_crs,
    shape_features,
)

__all__ = [
    "BoundariesLayer",
    "ShapesLayer",
    "choropleth_layer",
    "clusters_layer",
    "lines_layer",
    "offers_layer",
    "requests_layer",
]


class BoundariesLayer(RenderedOnce, Layer):
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
    precision
        The grid, in degrees, the coordinates are snapped to.
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
        precision: float = 1e-5,
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "BoundariesLayer"
        geoms = require_crs(boundaries, "boundaries").geometry
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if simplify_m > 0:
            geoms = on_transform_thread(geoms.to_crs, CRS_BNG).simplify(
                simplify_m, preserve_topology=True
            )
        if not geoms.crs.equals(CRS_WGS84):
            geoms = on_transform_thread(geoms.to_crs, CRS_WGS84)
        snapped = shapely.set_precision(
            np.asarray(geoms, dtype=object), precision, mode="pointwise"
        )
        features = [
            {"type": "Feature", "properties": {}, "geometry": mapping(g)}
            for g in snapped
            if g is not None and not g.is_empty
        ]
        self.n_features = len(features)
        self.data_js = safe_html.script_json({"type": "FeatureCollection", "features": features})
        self.attribution_js = safe_html.script_json(safe_html.escape(attribution))
        self.style_js = safe_html.script_json({**BOUNDARY_STYLE, "interactive": False})


class ShapesLayer(RenderedOnce, Layer):
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
    canvas
        Draw on a canvas, not as SVG: tens of thousands of shapes (every LSOA of
        England and Wales) draw in a fraction of the time.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            interactive: {{ this.interactive_js }},
            attribution: {{ this.attribution_js }},
            {% if this.canvas %}renderer: L.canvas({padding: 0.2}),{% endif %}
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
        canvas: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "ShapesLayer"
        self.canvas = bool(canvas)
        self.attribution_js = safe_html.script_json(
            safe_html.escape(attribution) if attribution else None
        )
        self.n_features = len(features)
        self.radius = int(radius)
        self.interactive_js = "true" if interactive else "false"
        self.data_js = safe_html.script_json({"type": "FeatureCollection", "features": features})


def choropleth_layer(
    frame: gpd.GeoDataFrame,
    *,
    value_label: str,
    k: int,
    opacity: float = 0.7,
    name: str = "Density",
    clickable: bool = False,
    tips: list[str] | None = None,
    simplify_m: float = 15.0,
    precision: float = 1e-6,
    canvas: bool = False,
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
    clickable
        Give each feature its locality's ``code`` as the property ``place`` (for a
        page that opens the clicked locality as the place).
    tips
        Each locality's tooltip lines (plain text, escaped here) in place of the
        value, class and sites.
    simplify_m
        Tolerance, in metres, for simplifying the outlines first (0: drawn as given).
    precision
        The grid, in degrees, the coordinates are snapped to.
    canvas
        Draw on a canvas (see :class:`ShapesLayer`).

    Returns
    -------
    ShapesLayer
    """
    require_crs(frame, "frame")
    colours = class_colours(max(int(k), 1))
    classes = pd.array(frame["class"], dtype="Int64")
    styles, texts = [], []
    sites = frame["sites"].to_numpy() if "sites" in frame.columns else None
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
        lines = [f"{value_label}: {figure(value)}", f"Class: {label}"]
        if tips is not None:
            lines = tips[i].split("\n")
        elif sites is not None:
            lines.append(f"Sites: {int(sites[i]):,}")
        texts.append(
            f"<strong>{safe_html.escape(name_)}</strong><br>"
            + "<br>".join(safe_html.escape(t) for t in lines)
        )
    return ShapesLayer(
        shape_features(
            frame.geometry,
            texts,
            styles,
            simplify_m=simplify_m,
            places=frame["code"].astype(str) if clickable else None,
            precision=precision,
        ),
        name=name,
        radius=0,
        attribution=ons_attribution(),
        canvas=canvas,
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
    require_crs(clusters, "clusters")
    tips, styles = [], []
    for row in clusters.itertuples(index=False):
        estimated = " (estimated)" if bool(row.saving_estimated) else ""
        tips.append(
            f"<strong>Cluster {safe_html.escape(row.cluster_id)}</strong><br>"
            f"{safe_html.escape(f'{row.n_sites:,} sites of {row.n_agencies} agencies')}<br>"
            f"{safe_html.escape(row.agencies)}<br>"
            + safe_html.escape(
                f"Releases {figure(row.net_floor_area_released_sqft)} sq ft, "
                f"saving £{figure(row.saving_gbp)} a year{estimated}"
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
    return ShapesLayer(shape_features(clusters.geometry, tips, styles, simplify_m=0), name=name)


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
    require_crs(lines, "lines")
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
                f"{figure(row.get(sqft_column))} sq ft {what}, "
                f"{figure(float(row.get('distance_m') or 0) / 1000)} km"
            )
        )
        styles.append({"color": MATCH_LINE_COLOUR, "weight": 3, "opacity": 0.85})
    return ShapesLayer(shape_features(lines.geometry, tips, styles, simplify_m=0), name=name)


def offers_layer(sites: gpd.GeoDataFrame, *, name: str = "Surplus offers") -> ShapesLayer:
    """Return the sites offering surplus space as rings sized by the space offered.

    Parameters
    ----------
    sites
        Sites (points, EPSG:27700); those with ``surplus_sqft > 0`` are drawn.
    name
        Layer name.
    """
    require_crs(sites, "sites")
    surplus = pd.to_numeric(sites.get("surplus_sqft"), errors="coerce")
    offers, _ = located_points(sites[(surplus > 0).to_numpy()])
    tips, styles = [], []
    for row in offers.to_dict("records"):
        sqft = float(row.get("surplus_sqft") or 0)
        tips.append(
            safe_html.tooltip_html(row.get("name"), row.get("agency"))
            + "<br>"
            + safe_html.escape(f"Offers {figure(sqft)} sq ft")
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
    return ShapesLayer(
        shape_features(as_points(offers.geometry), tips, styles, simplify_m=0), name=name
    )


def requests_layer(requests: gpd.GeoDataFrame, *, name: str = "Space requests") -> ShapesLayer:
    """Return space requests as hollow black rings with escaped tooltips.

    Parameters
    ----------
    requests
        Canonical space requests (points, EPSG:27700); those with no point are skipped.
    name
        Layer name.
    """
    require_crs(requests, "requests")
    located, _ = located_points(requests)
    tips = []
    for row in located.to_dict("records"):
        ref = row.get("source_ref") or row.get("request_id")
        need = figure(row.get("space_needed_sqft"), " sq ft")
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
        shape_features(located.geometry, tips, [style] * len(tips), simplify_m=0), name=name
    )
