"""Every page of the app under Streamlit's AppTest, on the sample estate.

Each test drives the real ``streamlit_app.py`` (navigation, sidebar and page) and
checks what the page shows, not only that it runs.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from assetmap.app import colocation_page, export_page, registers_page, shell, space_page, state
from assetmap.app.navigation import TITLES, page_path
from assetmap.localities import KENT_MEDWAY_DISTRICTS
from assetmap.store import open_store
from tests.app.conftest import run_app, shown
from tests.maps.factories import HOSTILE_NAME

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
SAMPLE = ROOT / "sample_estates"


pytestmark = pytest.mark.usefixtures("fresh_caches")


def _run(at: AppTest) -> AppTest:
    return run_app(at, timeout=300)


def _open(page: str) -> AppTest:
    at = _run(AppTest.from_file(APP, default_timeout=300))
    at.switch_page(str(page_path(page).relative_to(ROOT)))
    return _run(at)


def _frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all of ``columns``."""
    for element in at.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with the columns {columns}")


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.success] + [w.value for w in at.warning]
    return shown("\n".join(parts))


def test_every_page_is_in_the_menu_and_runs(sample_store):
    at = _run(AppTest.from_file(APP, default_timeout=300))
    for name, title in TITLES.items():
        at.switch_page(str(page_path(name).relative_to(ROOT)))
        _run(at)
        assert not at.error, (name, [e.value for e in at.error])
        expected = "Estate map" if name == "map" else title
        assert at.title[0].value == expected
        # the boundaries' and postcodes' attribution is on every page (in the sidebar)
        assert any("Contains OS data" in c.value for c in at.sidebar.caption)


# --------------------------------------------------------------------------------------
# Registers


def test_upload_shows_columns_then_the_import_report(sample_store):
    at = _open("registers")
    data = (SAMPLE / "kent_fire_rescue_stations.csv").read_bytes()
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(("fire_again.csv", data, "text/csv"))
    at.text_input(key=registers_page.AGENCY_KEY).input("Kent Fire and Rescue Service")
    at.selectbox(key=registers_page.SECTOR_KEY).set_value("fire")
    _run(at)
    preview = _frame(at, "field", "meaning")
    assert {"field", "meaning", "column", "how", "unit"} <= set(preview.columns)
    assert "name" in set(preview["field"])
    assert "fire_again.csv" in _text(at) and "would be accepted" in _text(at)

    at.button(key="register_import").click()
    _run(at)
    assert any("Imported fire_again.csv" in shown(s.value) for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Rows read"].replace(",", "")) > 0
    # the same stations are already in the estate from the bundled register: every row is
    # quarantined with its reason (mostly "already in the estate"), and downloadable
    assert metrics["Accepted"] == "0"
    assert int(metrics["Quarantined"].replace(",", "")) == int(metrics["Rows read"])
    quarantined = _frame(at, "row", "column", "value", "reason")
    assert list(quarantined.columns) == ["row", "column", "value", "reason"]
    assert (quarantined["reason"].str.len() > 0).all()
    repeated = quarantined["reason"].str.contains("already in the estate").sum()
    assert repeated >= len(quarantined) - 5  # the rest are the register's own faults
    log = open_store(sample_store).imports()
    assert "fire_again.csv" in set(log["source_file"])


def test_upload_of_a_broken_file_says_why_and_changes_nothing(sample_store):
    before = sample_store.read_bytes()
    at = _open("registers")
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(("empty.csv", b"", "text/csv"))
    _run(at)
    assert at.error and "empty.csv cannot be imported" in shown(at.error[0].value)
    assert sample_store.read_bytes() == before


def test_quarantined_rows_of_a_hostile_register_are_listed_as_text(sample_store):
    at = _open("registers")
    csv = (
        "Site name,Postcode,Agency,Sector,GIA (sq ft)\n"
        f'"{HOSTILE_NAME}",ME14 1XX,Kent Police,police,1000\n'
        '"=HYPERLINK(""http://x"")",NOT A POSTCODE,Kent Police,police,500\n'
    ).encode()
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(("hostile.csv", csv, "text/csv"))
    _run(at)
    at.button(key="register_import").click()
    _run(at)
    reasons = _frame(at, "row", "reason")
    assert (reasons["reason"] == "this is not a UK postcode").sum() == 1
    assert "NOT A POSTCODE" in set(reasons["value"])


def test_sources_are_listed_and_one_can_be_removed(sample_store, monkeypatch):
    monkeypatch.setenv("ASSETMAP_AGENCY", "Kent Police")
    at = _open("registers")
    sources = _frame(at, "source", "SHA-256").set_index("source")
    assert len(sources.loc["kent_police_estate.csv", "SHA-256"]) == 64
    # another agency's hash and counts are its own (its counts include restricted sites)
    assert sources.loc["kent_fire_rescue_stations.csv", ["SHA-256", "accepted"]].isna().all()
    at.selectbox(key=registers_page.REMOVE_KEY).set_value("kent_police_estate.csv (Kent Police)")
    _run(at)
    remove = at.button(key="register_remove")
    assert remove.disabled  # not until confirmed
    at.checkbox(key=registers_page.REMOVE_CONFIRM_KEY).check()
    _run(at)
    at.button(key="register_remove").click()
    _run(at)
    assert any("Removed kent_police_estate.csv" in s.value for s in at.success)
    assert "kent_police_estate.csv" not in set(open_store(sample_store).imports()["source_file"])
    assert "kent_police_estate.csv" not in set(_frame(at, "source")["source"])


def test_report_frame_orders_reasons_by_count():
    from assetmap.registers.importer import ImportReport

    report = ImportReport(
        source_file="x.csv",
        sha256="0",
        format="csv",
        layer=None,
        kind="sites",
        agency="",
        sector="",
        imported_at="",
        rows_read=5,
        accepted=2,
        quarantined=3,
        reasons={"a": 1, "b": 2},
        reason_labels={"a": "first", "b": "second"},
    )
    frame = registers_page.report_frame(report)
    assert frame.to_dict("records") == [
        {"reason": "second", "rows": 2},
        {"reason": "first", "rows": 1},
    ]


# --------------------------------------------------------------------------------------
# Space


def test_the_40000_sq_ft_request_gets_ranked_offers(sample_store):
    at = _open("space")
    assert at.number_input(key=space_page.SQFT_KEY).value == 40_000
    at.button[0].click()  # the form's "Find space" with its defaults: 40,000 sq ft office
    _run(at)
    offers = _frame(at, "Rank", "Offer")
    assert list(offers.columns) == list(space_page.CANDIDATE_COLUMNS.values())
    assert offers["Rank"].tolist() == list(range(1, len(offers) + 1))
    assert offers["Score"].is_monotonic_decreasing
    best = offers.iloc[0]
    assert best["Offer"] == "Maidstone Police Office" and best["Surplus (sq ft)"] == 40_000
    assert "40,000 sq ft for 40,000 needed" in best["Why"]
    assert (offers["Distance (m)"] <= 10_000).all()
    assert "requests have candidates" in _text(at)


def test_a_request_nothing_can_serve_says_why(sample_store):
    at = _open("space")
    at.number_input(key=space_page.DISTANCE_KEY).set_value(0.1)
    at.text_input(key=space_page.POSTCODE_KEY).set_value("TN1 1AA")
    at.button[0].click()
    _run(at)
    assert at.warning and "No offer fits this request" in at.warning[0].value


def test_unknown_postcode_is_a_plain_error(sample_store):
    at = _open("space")
    at.text_input(key=space_page.POSTCODE_KEY).set_value("ZZ99 9ZZ")
    at.button[0].click()
    _run(at)
    assert at.error and "not in the ONS Postcode Directory" in at.error[0].value


def test_the_plan_for_the_place_runs_and_downloads(sample_store):
    at = _open("space")
    at.button(key=space_page.PLAN_KEY).click()
    _run(at)
    assert "requests matched" in _text(at)
    plan = _frame(at, "status", "offer_name")
    assert {"status", "request_ref", "offer_name", "assigned_sqft"} <= set(plan.columns)
    assigned = plan[plan["status"] == "assigned"]
    assert len(assigned) > 0
    # no offer gives more than its surplus
    per_offer = assigned.groupby("site_id")["assigned_sqft"].sum()
    sites = open_store(sample_store).sites().set_index("site_id")
    assert (per_offer <= sites.loc[per_offer.index, "surplus_sqft"] + 1e-6).all()


# --------------------------------------------------------------------------------------
# Co-location


def test_clusters_are_ranked_with_savings_and_one_can_be_chosen(sample_store):
    at = _open("colocation")
    assert "co-location clusters" in _text(at)
    table = _frame(at, "Cluster", "Agencies")
    assert list(table.columns) == list(colocation_page.CLUSTER_COLUMNS.values())
    assert (table["Agencies"] >= 2).all()
    assert table["Agencies"].is_monotonic_decreasing
    total = float(at.metric[2].value.replace("£", "").replace(",", ""))
    assert total == pytest.approx(table["Saving (£ a year)"].sum(), abs=1)
    chosen = table["Cluster"].iloc[2]
    at.selectbox(key=colocation_page.CLUSTER_KEY).set_value(int(chosen))
    _run(at)
    members = _frame(at, "is_hub")
    assert len(members) == int(table["Sites"].iloc[2])
    assert members["is_hub"].sum() == 1


def test_a_longer_walk_finds_bigger_clusters(sample_store):
    at = _open("colocation")
    small = _frame(at, "Cluster", "Sites")["Sites"].max()
    at.slider(key=colocation_page.DISTANCE_KEY).set_value(1_500)
    _run(at)
    assert _frame(at, "Cluster", "Sites")["Sites"].max() > small


# --------------------------------------------------------------------------------------
# Density


def test_density_shows_the_place_summary_beside_its_choropleth(sample_store):
    at = _open("density")
    classes = _frame(at, "class", "localities")
    summary = _frame(at, "locality_code")
    # the whole estate: Kent's 13 districts, and any other district holding one of its sites
    codes = set(summary["locality_code"])
    assert set(KENT_MEDWAY_DISTRICTS) <= codes
    assert len(classes) == 5 and classes["localities"].sum() == len(codes - {"TOTAL"}) < 16
    total = summary[summary["locality_code"] == "TOTAL"]
    assert len(total) == 1
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    assert "assetmap-choropleth-control" in args["feature_group"]
    assert "Maidstone" in args["feature_group"]


def _maidstone_by_lsoa() -> AppTest:
    """The Density page of Maidstone, by LSOA."""
    at = _run(AppTest.from_file(APP, default_timeout=300))
    at.selectbox(key=shell.LEVEL_KEY).set_value("district")
    _run(at)
    at.selectbox(key=shell.PLACE_KEY).set_value("E07000110")  # Maidstone
    at.switch_page(str(page_path("density").relative_to(ROOT)))
    _run(at)
    at.selectbox(key="density_level").set_value("lsoa")
    return _run(at)


def test_density_of_one_district_by_lsoa(sample_store):
    at = _maidstone_by_lsoa()
    classes = _frame(at, "class", "localities")
    assert 50 < classes["localities"].sum() < 120  # Maidstone's LSOAs, not all 1,065
    assert "of Maidstone" in _text(at)


def test_another_measure_or_classification_classifies_again_without_reassigning(
    sample_store, monkeypatch
):
    from assetmap.app import density_page

    calls = []
    real = state.density_by_locality
    monkeypatch.setattr(
        state, "density_by_locality", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    at = _open("density")
    first = _frame(at, "class", "localities")
    opened = len(calls)  # the choropleth's and the place summary's
    at.selectbox(key=density_page.SCHEME_KEY).set_value("equal_interval")
    _run(at)
    at.selectbox(key=density_page.METRIC_KEY).set_value("floor_area_sqft")
    _run(at)
    assert opened and len(calls) == opened  # the sites were assigned to the localities once
    assert not _frame(at, "class", "localities").equals(first)  # and classified again


def test_density_paints_a_view_of_many_localities_as_one_image(sample_store, monkeypatch):
    from assetmap.app import density_page

    at = _maidstone_by_lsoa()
    drawn = json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]
    assert "L.imageOverlay" not in drawn and "Sites per km" in drawn  # one by one, tooltips
    monkeypatch.setattr(density_page, "IMAGE_FROM", 10)  # Maidstone's LSOAs are more
    _run(at)
    drawn = json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]
    assert "L.imageOverlay" in drawn and "data:image/png;base64," in drawn
    assert "Sites per km\u00b2:" not in drawn and "Sites per km²:" not in drawn  # no tooltips
    assert "assetmap-choropleth-control" in drawn  # the legend stays
    assert "painted as one picture" in _text(at)


# --------------------------------------------------------------------------------------
# Export


def test_print_map_of_a_district_downloads_as_svg_with_its_title(sample_store):
    at = _run(AppTest.from_file(APP, default_timeout=300))
    at.selectbox(key=shell.LEVEL_KEY).set_value("district")
    _run(at)
    at.selectbox(key=shell.PLACE_KEY).set_value("E07000110")  # Maidstone
    at.switch_page(str(page_path("export").relative_to(ROOT)))
    _run(at)
    at.selectbox(key=export_page.IMAGE_FORMAT_KEY).set_value("svg")
    at.button(key="export_image_prepare").click()
    _run(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download assetmap_sites_maidstone_A4.svg" in labels


def test_image_bytes_draws_the_selected_place(sample_store):
    sites = open_store(sample_store).sites()
    place = export_page.static.resolve_place("Maidstone")
    svg = export_page.image_bytes(("t",), "sites", "svg", "A4", False, 150, sites, None, place)
    text = svg.decode("utf-8")
    assert text.lstrip().startswith("<?xml") and "Maidstone" in text
    assert "Contains OS data" in text
    png = export_page.image_bytes(("t",), "density", "png", "A4", True, 150, sites, None, place)
    assert png.startswith(b"\x89PNG")


def test_html_export_page_offers_the_download(sample_store):
    at = _open("export")
    assert not at.get("download_button") or all(
        "HTML" not in b.proto.label for b in at.get("download_button")
    )
    at.button(key="export_html_prepare").click()
    _run(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the HTML map" in labels


def test_html_map_is_offline_has_every_layer_and_escapes_names(small_store):
    from assetmap.app import state
    from assetmap.maps.interactive import remote_links

    sites = open_store(state.store_path()).sites()
    html, _ = export_page.html_map(
        sites, ["density", "clusters", "offers", "matches"], ("test-html",)
    )
    assert remote_links(html) == []
    assert "assetmap-choropleth-control" in html and "SitesLayer" not in html
    assert "L.geoJson(null" in html  # the sites layer
    assert "<img src=x onerror" not in html
    assert "\\u0026lt;img src=x onerror" in html  # HTML-escaped, then JSON-escaped


def _table_rows(at: AppTest) -> int:
    caption = next(c.value for c in at.caption if c.value.endswith("rows."))
    return int(caption.split()[0].replace(",", ""))


@pytest.mark.parametrize("table", [t for t in export_page.TABLES if t != "quarantine"])
def test_every_table_downloads_as_csv(sample_store, table):
    at = _open("export")
    at.selectbox(key=export_page.TABLE_KEY).set_value(table)
    _run(at)
    assert _table_rows(at) > 0
    assert at.get("download_button")


def test_quarantined_rows_are_only_the_viewers_own_agencys(sample_store, monkeypatch):
    # the local user with no agency sees no agency's raw quarantined rows
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    at = _open("export")
    at.selectbox(key=export_page.TABLE_KEY).set_value("quarantine")
    _run(at)
    assert _table_rows(at) == 0
    # Kent Police's officer sees Kent Police's 3 quarantined rows (any case and spacing)
    monkeypatch.setenv("ASSETMAP_AGENCY", "  kent   POLICE ")
    at = _open("export")
    at.selectbox(key=export_page.TABLE_KEY).set_value("quarantine")
    _run(at)
    log = open_store(sample_store).quarantine()
    expected = int((log["source_file"] == "kent_police_estate.csv").sum())
    assert expected > 0 and _table_rows(at) == expected
    assert at.get("download_button")


def test_table_bytes_are_csv_or_geopackage(tmp_path):
    from tests.maps.factories import make_sites

    sites = make_sites(5)
    text = export_page.table_bytes(sites, "sites", "csv").decode("utf-8")
    frame = pd.read_csv(io.StringIO(text))
    assert len(frame) == 5 and "wkt_bng" in frame.columns
    data = export_page.table_bytes(sites, "sites", "gpkg")
    assert data.startswith(b"SQLite format 3\x00")
    path = tmp_path / "x.gpkg"
    path.write_bytes(data)
    back = gpd.read_file(path)
    assert len(back) == 5 and back.crs.to_epsg() == 27700
    assert not zipfile.is_zipfile(io.BytesIO(data))


# --------------------------------------------------------------------------------------
# The sidebar: a boundary set added by the officer


def _two_halves_geojson() -> bytes:
    """Two 'wards' splitting the test sites' square (EPSG:27700 -> WGS84 GeoJSON)."""
    from shapely.geometry import box

    frame = gpd.GeoDataFrame(
        {"WD23CD": ["E05000001", "E05000002"], "WD23NM": ["West Ward", "East Ward"]},
        geometry=[box(550_000, 120_000, 580_000, 180_000), box(580_000, 120_000, 610_000, 180_000)],
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    return frame.to_json().encode("utf-8")


def test_an_added_boundary_set_becomes_a_place_level(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=300))
    at.sidebar.file_uploader(key=shell.BOUNDARY_UPLOAD_KEY).set_value(
        ("wards.geojson", _two_halves_geojson(), "application/geo+json")
    )
    _run(at)
    assert any("Added 2 localities from wards.geojson" in c.value for c in at.sidebar.caption)
    assert at.selectbox(key=shell.LEVEL_KEY).value == "boundary set wards"
    at.selectbox(key=shell.PLACE_KEY).set_value("E05000001")
    _run(at)
    west = int(at.metric[0].value)
    at.selectbox(key=shell.PLACE_KEY).set_value("E05000002")
    _run(at)
    east = int(at.metric[0].value)
    assert west > 0 and east > 0 and west + east == 60
    assert "place: East Ward" in at.caption[0].value


def test_a_broken_boundary_file_is_refused_plainly(small_store):
    at = _run(AppTest.from_file(APP, default_timeout=300))
    at.sidebar.file_uploader(key=shell.BOUNDARY_UPLOAD_KEY).set_value(
        ("wards.geojson", b"{not json", "application/geo+json")
    )
    _run(at)
    assert any("The boundary file was not added" in c.value for c in at.sidebar.caption)
    assert at.selectbox(key=shell.LEVEL_KEY).value == ""


def test_a_file_name_with_markdown_is_shown_as_its_characters(sample_store):
    at = _open("registers")
    name = "![x](http://example.invalid/p.png) $x$.csv"
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value((name, b"", "text/csv"))
    _run(at)
    message = at.error[0].value
    assert "\\!\\[x\\](http://example.invalid/p.png) \\$x\\$.csv" in message
    assert "![x](" not in message and "$x$" not in message
    assert shown(message).startswith(name + " cannot be imported")
