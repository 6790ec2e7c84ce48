"""The interactive map: offline assets, escaping, one layer for many sites, the cap."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import pytest
from shapely.geometry import box

from assetmap.errors import InvalidArgumentError
from assetmap.maps import interactive
from assetmap.maps.interactive import (
    SitesLayer,
    asset_url,
    configured_tiles,
    make_offline,
    map_html,
    remote_links,
    site_map,
    sites_layer,
)
from assetmap.maps.interactive.offline import walk
from assetmap.maps.style import SECTOR_STYLES
from assetmap.schema import CRS_BNG
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    """Two rectangles standing in for district boundaries."""
    return gpd.GeoDataFrame(
        {"code": ["E07000110", "E07000111"], "name": ["Maidstone", "Sevenoaks <b>"]},
        geometry=[box(560_000, 130_000, 580_000, 170_000), box(580_000, 130_000, 600_000, 170_000)],
        crs=CRS_BNG,
    )


def _tags(html: str, tag: str, attr: str) -> list[str]:
    return re.findall(rf"<{tag}\b[^>]*\b{attr}=[\"']([^\"']*)", html, flags=re.IGNORECASE)


def _sites_data(html: str) -> dict:
    match = re.search(r"var d = (\{.*?\});\n", html)
    assert match, "the sites layer's data was not found"
    return json.loads(match.group(1))


def test_plain_folium_map_would_load_from_cdns():
    """The scanner finds what a default folium map fetches (the reason for all this)."""
    html = folium.Map().get_root().render()
    assert any("cdn.jsdelivr.net" in url for url in remote_links(html))


def test_map_html_has_no_remote_script_or_stylesheet(districts):
    html = map_html(site_map(make_sites(200), boundaries=districts))
    assert remote_links(html) == []
    scripts = _tags(html, "script", "src")
    sheets = _tags(html, "link", "href")
    assert scripts and sheets
    assert all(s.startswith("data:text/javascript;base64,") for s in scripts)
    assert all(s.startswith("data:text/css;base64,") for s in sheets)
    assert "http://" not in html.replace('http-equiv="', "")
    assert "https://" not in html


def test_only_a_configured_tile_url_may_remain(districts):
    m = site_map(make_sites(20), boundaries=districts, tiles=TILE_URL)
    html = map_html(m)
    assert remote_links(html) == [TILE_URL]
    assert remote_links(html, allow=[TILE_URL]) == []


def test_no_tiles_by_default(districts):
    html = map_html(site_map(make_sites(20), boundaries=districts))
    assert "L.tileLayer" not in html


def test_configured_tiles_from_environment():
    assert configured_tiles({}) is None
    setting = configured_tiles(
        {interactive.TILE_URL_ENV: TILE_URL, interactive.TILE_ATTRIBUTION_ENV: "© Example"}
    )
    assert setting.url == TILE_URL and setting.attribution == "© Example"
    assert configured_tiles({interactive.TILE_URL_ENV: TILE_URL}).attribution == (
        "Tiles: tiles.example.org"
    )
    with pytest.raises(InvalidArgumentError, match=r"\{z\}"):
        configured_tiles({interactive.TILE_URL_ENV: "https://tiles.example.org/tile.png"})
    with pytest.raises(InvalidArgumentError, match="https://"):
        configured_tiles({interactive.TILE_URL_ENV: "javascript:alert(1)//{z}{x}{y}"})


def test_local_assets_come_from_installed_packages():
    js = asset_url("leaflet")
    assert js.startswith("data:text/javascript;base64,") and len(js) > 100_000
    css = asset_url("leaflet_css")
    import base64

    text = base64.b64decode(css.split(",", 1)[1]).decode()
    assert "url(images/" not in text and "data:image/png;base64," in text
    assert "sourceMappingURL" not in base64.b64decode(js.split(",", 1)[1]).decode()
    with pytest.raises(InvalidArgumentError, match="leaflet"):
        asset_url("jquery")


def test_make_offline_swaps_folium_plugin_links():
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    make_offline(m)
    html = m.get_root().render()
    assert remote_links(html) == []
    assert "jquery" not in html.lower() or "jquery" not in " ".join(_tags(html, "script", "src"))


def test_make_offline_refuses_a_plugin_without_local_copy():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(InvalidArgumentError, match="no local copy"):
        make_offline(m)


def test_hostile_names_never_reach_the_page_unescaped(districts):
    sites = make_sites(50, hostile=True)
    html = map_html(site_map(sites, boundaries=districts, popups=True))
    assert "<img src=x onerror=" not in html
    assert "<script>window.__xss=2" not in html
    assert "</script> " not in html  # the name's "</script>" cannot close the script
    data = _sites_data(html)
    # in the browser the tooltip is HTML whose text is the raw name
    assert data["tip"][0].startswith("<strong>&lt;img src=x onerror=window.__xss=1&gt;")
    assert "&lt;script&gt;window.__xss=2&lt;/script&gt;" in data["popup"][0]
    assert "${alert(1)} `backtick`" in data["tip"][0]
    assert "Sevenoaks" not in html  # boundary names are not put on the page at all


def test_many_sites_are_one_clustered_layer():
    sites = make_sites(5_000)
    m = site_map(sites)
    layers = [e for e in walk(m) if isinstance(e, SitesLayer)]
    assert len(layers) == 1
    assert layers[0].drawn == 5_000 and layers[0].cluster
    # no folium object per site: the map has a handful of elements, not thousands
    assert sum(1 for _ in walk(m)) < 20
    html = map_html(m)
    assert html.count("L.geoJson(null") == 1
    assert "L.markerClusterGroup" in html
    assert len(_sites_data(html)["x"]) == 5_000


def test_few_sites_are_not_clustered_unless_asked():
    assert not sites_layer(make_sites(50)).cluster
    assert sites_layer(make_sites(50), cluster=True).cluster
    assert not sites_layer(make_sites(3_000), cluster=False).cluster


def test_cap_draws_an_even_sample_of_max_points_and_says_so():
    sites = make_sites(300)  # sectors in turn: police, health, ... (six)
    sites["sector"] = ["council"] * 200 + ["police"] * 100  # one register after another
    m = site_map(sites, max_points=100)
    layer = m.sites_layer
    assert layer.capped and layer.drawn == 100 and layer.total == 300
    assert "Showing 100 of 300 located sites, an even sample" in layer.message
    html = map_html(m)
    data = _sites_data(html)
    assert len(data["x"]) == 100
    assert data["s"].count("police") in range(30, 37)  # not the first 100 rows (no police)
    assert "Showing 100 of 300 located sites, an even sample" in html
    with pytest.raises(InvalidArgumentError, match="max_points"):
        sites_layer(sites, max_points=0)


def test_unlocated_sites_are_counted_not_drawn():
    sites = make_sites(10)
    sites.loc[sites.index[:3], "geometry"] = None
    layer = sites_layer(sites)
    assert (layer.total, layer.drawn, layer.unlocated) == (10, 7, 3)
    assert "3 of 10 sites have no location" in layer.message


def test_sites_are_converted_to_wgs84_and_coloured_by_sector():
    html = map_html(site_map(make_sites(60)))
    data = _sites_data(html)
    assert all(0.2 < x < 1.0 for x in data["x"]) and all(50.9 < y < 51.5 for y in data["y"])
    assert set(data["s"]) == set(SECTOR_STYLES)
    for style in SECTOR_STYLES.values():
        assert style.colour in html


def test_sites_without_crs_are_refused():
    sites = make_sites(5).set_crs(None, allow_override=True)
    with pytest.raises(InvalidArgumentError, match="no CRS"):
        site_map(sites)


def test_legend_lists_every_sector():
    legend = interactive.legend_html()
    for style in SECTOR_STYLES.values():
        assert style.label in legend and style.colour in legend
    html = map_html(site_map(make_sites(12)))
    # the legend is embedded as a script string, so its markup arrives JSON-escaped
    assert "assetmap-legend" in html and "\\u003cdiv class=" in html


def test_attribution_shown_with_boundaries_or_postcodes(districts):
    text = interactive.ons_attribution()
    assert "Contains OS data" in text and "Open Government Licence v3.0" in text
    escaped = json.dumps(text, ensure_ascii=False)
    assert escaped in map_html(site_map(make_sites(5), boundaries=districts))
    assert escaped not in map_html(site_map(make_sites(5)))
    by_postcode = make_sites(5)
    by_postcode["location_source"] = "postcode"
    assert escaped in map_html(site_map(by_postcode))


def test_empty_estate_still_makes_a_map():
    html = map_html(site_map(make_sites(0)))
    assert remote_links(html) == []


def test_engine_never_imports_streamlit():
    code = (
        "import sys, assetmap.maps.interactive, assetmap.maps.style, assetmap.maps.safe_html;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'streamlit_folium')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_a_map_keeps_its_view_in_the_tab_under_its_own_name():
    """KeepView names the map's kept view as JSON in the page's script, never as raw text."""
    m = interactive.base_map(None)
    interactive.KeepView('estate_map"</script><script>window.__xss=1</script>').add_to(m)
    html = interactive.map_html(m)
    assert "<script>window.__xss=1" not in html
    assert '"assetmap-view:estate_map\\"\\u003c/script\\u003e' in html
    # kept after each move, put back only for the view the page still gives
    assert 'map.on("moveend"' in html and "kept.given !== given()" in html
    assert "Storage" not in html  # kept in the page's memory, never stored in the browser
