"""The Map page under Streamlit's AppTest: it runs, filters, counts and draws offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assetmap.app import map_page, shell
from assetmap.maps.interactive import remote_links
from tests.app.conftest import run_app, shown
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")


pytestmark = pytest.mark.usefixtures("fresh_caches")


def _run(at: AppTest) -> AppTest:
    return run_app(at, timeout=120)


def _map_args(at: AppTest) -> dict:
    """The arguments the app sent to the st_folium component."""
    found = [json.loads(e.proto.json_args) for e in at.get("component_instance")]
    assert found, "no st_folium component on the page"
    return found[0]


def test_map_page_runs_on_a_store_and_counts_sites(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    assert at.title[0].value == "Estate map"
    assert at.metric[0].label == "Sites shown"
    assert at.metric[0].value == "60"
    assert not at.error


def test_filters_change_the_count(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.multiselect(key=shell.SECTOR_FILTER_KEY).set_value(["police", "fire"])
    _run(at)
    assert at.metric[0].value == "20"
    at.multiselect(key=shell.AGENCY_FILTER_KEY).set_value(["Kent Police"])
    _run(at)
    assert at.metric[0].value == "9"  # site 0 (police) has a hostile agency name
    at.multiselect(key=shell.SECTOR_FILTER_KEY).set_value([])
    _run(at)
    assert at.metric[0].value == "0"


def test_component_gets_only_local_assets_and_escaped_names(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    args = _map_args(at)
    links = args["js_links"] + args["css_links"]
    assert links and all(link.startswith("data:") for link in links)
    for part in ("script", "header", "html", "feature_group"):
        assert remote_links(args[part] or "") == [], part
        assert "<img src=x onerror=" not in (args[part] or "")
    assert "L.geoJson(null" in args["feature_group"]


def test_clicked_site_shows_its_record(small_store, monkeypatch):
    clicked = {
        "last_active_drawing": {"type": "Feature", "properties": {"id": "T-00000"}},
        "last_object_clicked": {"lat": 51.2, "lng": 0.5},
        "last_object_clicked_count": 1,
    }
    monkeypatch.setattr(map_page, "st_folium", lambda *a, **k: clicked)
    at = _run(AppTest.from_file(APP, default_timeout=120))
    html = " ".join(str(getattr(e.proto, "body", "")) for e in at.get("html"))
    assert "&lt;img src=x onerror=window.__xss=1&gt;" in html
    assert "<img src=x" not in html
    assert "test_register.csv" in html  # provenance


def test_clicked_site_id_reads_the_feature():
    assert map_page.clicked_site_id(None) is None
    assert map_page.clicked_site_id({"last_active_drawing": None}) is None
    assert map_page.clicked_site_id({"last_active_drawing": {"properties": {}}}) is None
    got = {"last_active_drawing": {"properties": {"id": "S-1"}}}
    assert map_page.clicked_site_id(got) == "S-1"


def test_filter_sites():
    sites = make_sites(12)
    assert len(shell.filter_sites(sites, None, None)) == 12
    assert len(shell.filter_sites(sites, ["police"], None)) == 2
    assert len(shell.filter_sites(sites, ["police"], [])) == 2
    assert len(shell.filter_sites(sites, [], None)) == 0
    assert len(shell.filter_sites(sites, None, ["Kent Police"])) == 2
    sites.loc[sites.index[:3], "tenure"] = "leasehold"
    sites.loc[sites.index[:5], "use"] = "Depot"
    sites["surplus_sqft"] = [0, 500, 1_000, 5_000] * 3
    assert len(shell.filter_sites(sites, None, tenures=["leasehold"])) == 3
    assert len(shell.filter_sites(sites, None, uses=["Depot"], tenures=["leasehold"])) == 3
    assert len(shell.filter_sites(sites, None, min_surplus=1_000)) == 6
    assert len(shell.filter_sites(sites, ["police"], min_surplus=1_000)) == 1


def test_more_filters_change_the_count(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.number_input(key=shell.SURPLUS_FILTER_KEY).set_value(1)
    _run(at)
    assert at.metric[0].value == "0"  # the test sites offer no surplus
    at.number_input(key=shell.SURPLUS_FILTER_KEY).set_value(0)
    at.multiselect(key=shell.TENURE_FILTER_KEY).set_value(["freehold"])
    _run(at)
    assert at.metric[0].value == "60"


def test_place_picker_keeps_the_sites_of_one_district(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key=shell.LEVEL_KEY).set_value("district")
    _run(at)
    at.selectbox(key=shell.PLACE_KEY).set_value("E07000110")  # Maidstone
    _run(at)
    inside = int(at.metric[0].value)
    assert 0 < inside < 60
    assert "place: Maidstone" in at.caption[0].value
    args = _map_args(at)
    assert args["zoom"] >= 10  # the view moved to the district


def test_postcode_search_picks_its_district(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.text_input(key=shell.POSTCODE_KEY).input("TN1 1AA")
    _run(at)
    assert at.session_state[shell.PLACE_KEY] == "E07000116"  # Tunbridge Wells
    assert any("TN1 1AA is in Tunbridge Wells" in c.value for c in at.caption)
    at.text_input(key=shell.POSTCODE_KEY).input("ZZ99 9ZZ")
    _run(at)
    assert any("not in the ONS Postcode Directory" in c.value for c in at.caption)


def test_layers_draw_density_clusters_offers_and_matches(sample_store):
    at = _run(AppTest.from_file(APP, default_timeout=300))
    group = _map_args(at)["feature_group"]
    assert "assetmap-choropleth-control" in group  # density is on by default, with its legend
    assert "assetmap-offer" not in group and "assetmap-request" not in group
    at.toggle(key=map_page.LAYER_KEYS["density"]).set_value(False)
    at.toggle(key=map_page.LAYER_KEYS["clusters"]).set_value(True)
    at.toggle(key=map_page.LAYER_KEYS["offers"]).set_value(True)
    at.toggle(key=map_page.LAYER_KEYS["matches"]).set_value(True)
    _run(at)
    group = _map_args(at)["feature_group"]
    assert "assetmap-choropleth-control" not in group
    assert "assetmap-offer" in group and "assetmap-request" in group
    assert "Cluster 1" in group  # a cluster outline's tooltip
    assert "SR-2025-001" in group  # the 40,000 sq ft request and its match line
    captions = shown(" ".join(c.value for c in at.caption))
    assert "co-location clusters" in captions and "requests matched" in captions


def test_empty_store_says_so(tmp_path, monkeypatch):
    from tests.app.conftest import write_store

    path = write_store(tmp_path / "empty.gpkg", make_sites(0))
    monkeypatch.setenv("ASSETMAP_STORE", str(path))
    at = _run(AppTest.from_file(APP, default_timeout=120))
    assert any("no sites yet" in i.value for i in at.info)


def test_first_start_uses_the_sample_estate(tmp_path, monkeypatch):
    """With no store yet, the app builds one from the sample estate (or says what is missing)."""
    from assetmap.datasets import get_path
    from assetmap.errors import DataNotFoundError

    monkeypatch.setenv("ASSETMAP_STORE", str(tmp_path / "new" / "estate.gpkg"))
    at = _run(AppTest.from_file(APP, default_timeout=300))
    try:
        get_path("sample_manifest")
    except DataNotFoundError:
        assert at.error and "could not be loaded" in at.error[0].value
        return
    assert int(at.metric[0].value.replace(",", "")) > 0
    assert (tmp_path / "new" / "estate.gpkg").is_file()
