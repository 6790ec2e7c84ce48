"""The analysis layers of the interactive map: choropleth, clusters, lines, offers, requests."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from assetmap.errors import InvalidArgumentError
from assetmap.maps import interactive
from assetmap.maps.style import CHOROPLETH_RAMP, NO_DATA_COLOUR, class_colours
from assetmap.schema import CRS_BNG
from tests.maps.factories import HOSTILE_AGENCY, HOSTILE_NAME, make_sites


def _data(layer: interactive.ShapesLayer) -> dict:
    """The layer's GeoJSON as the browser gets it (JSON with <, >, & escaped)."""
    return json.loads(layer.data_js)


def _html(*layers) -> str:
    m = folium.Map(tiles=None)
    group = folium.FeatureGroup()
    for layer in layers:
        layer.add_to(group)
    group.add_to(m)
    return m.get_root().render()


def _choropleth_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": [HOSTILE_NAME, "Middle", "East", "Nowhere"],
            "value": [0.5, 1.5, 2.5, float("nan")],
            "class": pd.array([0, 1, 2, pd.NA], dtype="Int64"),
            "class_label": ["0 – 1", "1 – 2", "2 – 3", "no data"],
            "sites": [12, 30, 7, 0],
        },
        geometry=[box(x, 150_000, x + 10_000, 160_000) for x in range(550_000, 590_000, 10_000)],
        crs=CRS_BNG,
    )


def test_class_colours_run_light_to_dark_for_any_k():
    assert class_colours(7) == list(CHOROPLETH_RAMP)
    assert class_colours(2) == [CHOROPLETH_RAMP[0], CHOROPLETH_RAMP[-1]]
    nine = class_colours(9)
    assert len(set(nine)) == 9 and nine[0] == CHOROPLETH_RAMP[0]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in nine)
    with pytest.raises(ValueError, match=r"k=0 is not valid; expected a whole number of classes"):
        class_colours(0)


def test_choropleth_fills_by_class_and_greys_out_missing():
    layer = interactive.choropleth_layer(_choropleth_frame(), value_label="Sites per km²", k=3)
    features = _data(layer)["features"]
    fills = [f["properties"]["st"]["fillColor"] for f in features]
    colours = class_colours(3)
    assert fills == [colours[0], colours[1], colours[2], NO_DATA_COLOUR]
    tips = [f["properties"]["tip"] for f in features]
    assert "Sites per km²: 2.5" in tips[2] and "Sites: 7" in tips[2]
    assert "Sites per km²: 1.5" in tips[1] and "Sites: 30" in tips[1]
    assert "&lt;img src=x onerror" in tips[0] and "<img" not in tips[0]
    assert "Contains OS data" in layer.attribution_js


def test_choropleth_legend_lists_the_classes_and_no_data():
    html = interactive.choropleth_legend_html(
        ["0 – 1", "1 – 2", "<b>2</b> – 3"], title="Sites per km² (Quantiles)", note="k lowered"
    )
    for colour in class_colours(3):
        assert colour in html
    assert "&lt;b&gt;2&lt;/b&gt; – 3" in html and "<b>2</b>" not in html
    assert "no data</div>" in html and "suppressed" not in html and "k lowered" in html


def test_layer_legend_follows_its_layer():
    group = folium.FeatureGroup()
    interactive.LayerLegend("<div>legend</div>", position="bottomright").add_to(group)
    html = _html(group)
    assert 'on("add"' in html and 'on("remove"' in html
    with pytest.raises(InvalidArgumentError, match=r"position='middle' is not valid"):
        interactive.LayerLegend("x", position="middle")


def test_clusters_layer_names_agencies_and_saving_escaped():
    clusters = gpd.GeoDataFrame(
        {
            "cluster_id": [1],
            "n_sites": [3],
            "n_agencies": [2],
            "agencies": [HOSTILE_AGENCY + "; Kent Police"],
            "net_floor_area_released_sqft": [12_345.0],
            "saving_gbp": [640_000.0],
            "saving_estimated": [True],
        },
        geometry=[box(560_000, 150_000, 561_000, 151_000)],
        crs=CRS_BNG,
    )
    tip = _data(interactive.clusters_layer(clusters))["features"][0]["properties"]["tip"]
    assert "Cluster 1" in tip and "3 sites of 2 agencies" in tip
    assert "Releases 12,345 sq ft, saving £640,000 a year (estimated)" in tip
    assert "Agency &lt;b&gt;&amp;&lt;/b&gt;" in tip


def test_lines_layer_goes_from_offer_to_request_in_wgs84():
    lines = gpd.GeoDataFrame(
        {
            "offer_name": [HOSTILE_NAME],
            "offer_agency": ["Kent Police"],
            "request_ref": ["SR-1"],
            "request_agency": ["NHS"],
            "assigned_sqft": [40_000.0],
            "distance_m": [3_215.0],
        },
        geometry=[LineString([(575_000, 155_000), (572_000, 156_000)])],
        crs=CRS_BNG,
    )
    feature = _data(interactive.lines_layer(lines))["features"][0]
    (x0, y0), (x1, y1) = feature["geometry"]["coordinates"]
    assert 0.4 < x0 < 0.7 and 51.1 < y0 < 51.4  # lon/lat in Kent
    assert x1 < x0 and y1 > y0  # the request lies north-west of the offer
    assert "40,000 sq ft assigned, 3.21 km" in feature["properties"]["tip"]
    assert "to request SR-1 (NHS)" in feature["properties"]["tip"]
    assert "<img" not in feature["properties"]["tip"]


def test_offers_layer_draws_only_sites_with_surplus_sized_by_it():
    sites = make_sites(6, hostile=True)
    sites["surplus_sqft"] = [0, 100, 40_000, None, 2_500, 0]
    features = _data(interactive.offers_layer(sites))["features"]
    assert len(features) == 3
    radii = [f["properties"]["st"]["radius"] for f in features]
    assert radii[1] == max(radii)  # the 40,000 sq ft offer is the largest ring
    assert all(f["properties"]["st"]["className"] == "assetmap-offer" for f in features)
    assert "Offers 40,000 sq ft" in features[1]["properties"]["tip"]


def test_requests_layer_skips_requests_with_no_point():
    requests = gpd.GeoDataFrame(
        {
            "source_ref": ["SR-1", "SR-2"],
            "agency": [HOSTILE_AGENCY, "NHS"],
            "space_needed_sqft": [40_000.0, 500.0],
            "use": ["Office", "Clinic"],
        },
        geometry=[Point(575_000, 155_000), None],
        crs=CRS_BNG,
    )
    features = _data(interactive.requests_layer(requests))["features"]
    assert len(features) == 1
    tip = features[0]["properties"]["tip"]
    assert "Request SR-1" in tip and "40,000 sq ft Office" in tip and "&lt;b&gt;" in tip


def test_layers_render_with_escaped_json_only():
    sites = make_sites(5, hostile=True)
    sites["surplus_sqft"] = 1_000.0
    html = _html(
        interactive.offers_layer(sites),
        interactive.choropleth_layer(_choropleth_frame(), value_label="Sites", k=3),
    )
    assert "<img src=x" not in html and "<script>window.__xss" not in html
    assert html.count("\\u0026lt;img src=x onerror") == 2  # one per layer: escaped twice
    assert html.count("L.geoJson(") == 2


def test_view_of_zooms_to_a_district_or_a_building():
    district = gpd.GeoSeries([box(560_000, 140_000, 590_000, 170_000)], crs=CRS_BNG)
    (lat, lon), zoom = interactive.view_of(district)
    assert 51.1 < lat < 51.5 and 0.3 < lon < 0.9
    assert 9 <= zoom <= 11
    building = gpd.GeoSeries([box(575_000, 155_000, 575_050, 155_050)], crs=CRS_BNG)
    assert interactive.view_of(building)[1] == 17  # capped: no closer than a street
    assert interactive.view_of(gpd.GeoSeries([], crs=CRS_BNG)) is None
