"""Honest locations (issue 15, item 4): how precisely each site is placed, and what follows.

A register that gives only the outward code ("M41") or a sector ("M41 7") is placed at the
centre of that area and marked approximate; approximate sites are drawn distinctly, counted
in locality figures only where their precision allows, and left out of co-location and
matching unless asked for.
"""

from __future__ import annotations

import io
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from assetmap.cli import main
from assetmap.colocation import colocation_clusters, colocation_pairs
from assetmap.density import density_by_locality
from assetmap.maps.interactive import site_map
from assetmap.maps.interactive.sites import location_text, site_record
from assetmap.maps.static import build_map, save_map
from assetmap.maps.style import APPROXIMATE_LABEL
from assetmap.matching import find_candidates
from assetmap.postcodes import default_directory, postcode_areas
from assetmap.registers.importer import import_register, prepare_register
from assetmap.schema import (
    APPROXIMATE,
    PRECISIONS,
    REQUEST_COLUMNS,
    SITE_COLUMNS,
    approximate_mask,
    precision_from_source,
)
from assetmap.store import open_store
from tests.conftest import shared_file
from tests.maps.factories import make_sites

TRAFFORD = "E08000009"
MANCHESTER = "E08000003"
#: Where Urmston (M41) lies: the centre of its postcodes, give or take.
M41 = (376_014.0, 394_992.0)


def prep(text: str, **kwargs):
    kwargs.setdefault("agency", "Trafford Council")
    kwargs.setdefault("sector", "council")
    return prepare_register(text.encode("utf-8"), name="test.csv", **kwargs)


# --------------------------------------------------------------------------- the contract


def test_the_precisions_and_the_approximate_ones():
    assert PRECISIONS == ("footprint", "point", "postcode", "postcode sector", "postcode district")
    assert {"postcode sector", "postcode district"} == APPROXIMATE
    assert SITE_COLUMNS["location_precision"] == "str"
    assert REQUEST_COLUMNS["location_precision"] == "str"


def test_precision_from_how_a_row_was_placed():
    source = pd.Series(
        [
            "postcode",
            "lat/lon",
            "footprint",
            "x/y BNG",
            "postcode district centre",
            "postcode sector centre",
            "locality",
            "",
        ]
    )
    assert precision_from_source(source).tolist() == [
        "postcode",
        "point",
        "footprint",
        "point",
        "postcode district",
        "postcode sector",
        "",
        "point",
    ]


# --------------------------------------------------------------------------- postcode areas


def test_outward_codes_and_sectors_are_recognised():
    level, area = postcode_areas(
        pd.Series(["M41", " wa14 ", "M41 7", "m41   7", "M417", "M41 7AB", "", None, "SW1A 1"])
    )
    assert level.tolist() == [
        "postcode district",
        "postcode district",
        "postcode sector",
        "postcode sector",
        "",
        "",
        "",
        "",
        "postcode sector",
    ]
    assert area.tolist() == ["M41", "WA14", "M41 7", "M41 7", "", "", "", "", "SW1A 1"]


def test_area_centres_come_from_the_directory_with_their_one_district():
    areas = pd.Series(["M41", "M41 7", "M16", "ZZ9", "BT1"], index=[5, 6, 7, 8, 9])
    levels = pd.Series(
        ["postcode district", "postcode sector", "postcode district"] * 1
        + ["postcode district", "postcode district"],
        index=areas.index,
    )
    found = default_directory().area_centres(areas, levels)
    assert found.index.tolist() == [5, 6, 7, 8, 9]
    assert found["found"].tolist() == [True, True, True, False, True]
    # M41 (Urmston) lies wholly in Trafford; M16 is shared by Trafford and Manchester
    assert found["district"].tolist() == [TRAFFORD, TRAFFORD, "", "", "N09000003"]
    assert found["northern_ireland"].tolist() == [False, False, False, False, True]
    east, north = found.loc[5, "easting"], found.loc[5, "northing"]
    assert abs(east - M41[0]) < 50 and abs(north - M41[1]) < 50
    # the centre is the mean of the area's postcodes, computed from the directory table
    table = default_directory()._load()
    raw = pd.Series(np.ascontiguousarray(table.keys.astype(">u8")).view("S8").astype(str))
    mine = (raw.str[:-3] == "M41").to_numpy() & np.isfinite(table.easting)
    assert east == pytest.approx(table.easting[mine].astype("float64").mean())
    assert north == pytest.approx(table.northing[mine].astype("float64").mean())


# --------------------------------------------------------------------------- importing


def test_outward_codes_and_sectors_are_placed_approximately_not_quarantined():
    p = prep(
        "Name,Postcode\n"
        "Moss View Centre,M41\n"
        "Stamford Street,WA14 1\n"
        "Town Hall,M32 0TH\n"
        "Nowhere,ZZ9\n"
        "Belfast,BT1\n"
    )
    rows = p.rows.set_index("name")
    assert rows.loc["Moss View Centre", "location_precision"] == "postcode district"
    assert rows.loc["Moss View Centre", "location_source"] == "postcode district centre"
    assert rows.loc["Moss View Centre", "postcode"] == "M41"
    assert rows.loc["Stamford Street", "location_precision"] == "postcode sector"
    assert rows.loc["Stamford Street", "postcode"] == "WA14 1"
    assert rows.loc["Town Hall", "location_precision"] == "postcode"
    point = rows.loc["Moss View Centre"].geometry
    assert abs(point.x - M41[0]) < 50 and abs(point.y - M41[1]) < 50
    q = p.quarantine.set_index("value")
    assert q.loc["ZZ9", "reason_code"] == "postcode_partial"
    assert "no such area is in the ONS Postcode Directory" in q.loc["ZZ9", "reason"]
    assert q.loc["BT1", "reason_code"] == "outside_gb"
    assert "2 rows placed approximately, at the centre of their postcode district or sector" in (
        " ".join(p.report.notes)
    )


@pytest.mark.parametrize(
    ("text", "precision"),
    [
        ("Name,Postcode\nA,M32 0TH\n", "postcode"),
        ("Name,Latitude,Longitude\nA,53.45,-2.31\n", "point"),
        ("Name,Easting,Northing\nA,376000,395000\n", "point"),
        ("Name,WKT\nA,POINT (376000 395000)\n", "point"),
        (f'Name,WKT\nA,"{box(376_000, 395_000, 376_100, 395_100).wkt}"\n', "footprint"),
        ("Name,Postcode\nA,M41\n", "postcode district"),
        ("Name,Postcode\nA,M41 7\n", "postcode sector"),
    ],
)
def test_every_site_records_its_precision(text, precision):
    p = prep(text)
    assert p.report.accepted == 1, p.quarantine
    assert p.rows["location_precision"].tolist() == [precision]


def test_a_spatial_files_footprints_and_points(tmp_path):
    square = box(376_000, 395_000, 376_100, 395_100)
    frame = gpd.GeoDataFrame(
        {"name": ["Point", "Footprint"]}, geometry=[Point(376_500, 395_500), square], crs=27700
    )
    path = tmp_path / "assets.gpkg"
    frame.to_file(path, layer="assets")
    p = prepare_register(path, agency="Trafford Council", sector="council")
    assert p.rows["location_precision"].tolist() == ["point", "footprint"]


def test_requests_record_their_precision_and_the_report_counts_approximate_ones():
    p = prep(
        "Reference,Space needed,Postcode,Locality\n"
        "R1,2000,M41,\n"
        "R2,2000,M32 0TH,\n"
        "R3,2000,,Trafford\n",
        kind="requests",
    )
    assert p.rows.set_index("source_ref")["location_precision"].to_dict() == {
        "R1": "postcode district",
        "R2": "postcode",
        "R3": "",
    }
    assert any("1 row placed approximately" in note for note in p.report.notes)


# --------------------------------------------------------------------------- the store


REGISTER = "Name,Postcode\nMoss View Centre,M41\nTown Hall,M32 0TH\n"
REGISTER_LATLON = "Name,Latitude,Longitude\nPark,53.45,-2.31\n"


def _store_with_registers(path):
    for name, text in (("approx.csv", REGISTER), ("points.csv", REGISTER_LATLON)):
        import_register(
            text.encode(), name=name, agency="Trafford Council", sector="council", store=path
        )


def test_the_store_keeps_each_sites_precision(tmp_path):
    path = tmp_path / "estate.gpkg"
    _store_with_registers(path)
    sites = open_store(path).sites().set_index("name")
    assert sites["location_precision"].to_dict() == {
        "Moss View Centre": "postcode district",
        "Town Hall": "postcode",
        "Park": "point",
    }


def _drop_precision(path) -> None:
    """Make the store as the code before the column wrote it: no location_precision."""
    with closing(sqlite3.connect(path)) as db, db:
        for layer in ("sites", "requests"):
            db.execute(f'ALTER TABLE "{layer}" DROP COLUMN location_precision')
    with closing(sqlite3.connect(path)) as db:
        for layer in ("sites", "requests"):
            names = [row[1] for row in db.execute(f'PRAGMA table_info("{layer}")')]
            assert "location_precision" not in names and "location_source" in names


def test_a_store_written_before_the_column_reads_back_and_migrates(tmp_path):
    path = tmp_path / "old.gpkg"
    _store_with_registers(path)
    _drop_precision(path)
    sites = open_store(path).sites().set_index("name")
    # a postcode row reads back as "postcode", a row with coordinates as "point"; the
    # approximate row of the old store is judged by its method as well
    assert sites.loc["Town Hall", "location_precision"] == "postcode"
    assert sites.loc["Park", "location_precision"] == "point"
    assert sites.loc["Moss View Centre", "location_precision"] == "postcode district"
    # a write migrates the store to the current layout, keeping every site's precision
    import_register(
        b"Name,Postcode\nLibrary,M33 7DZ\n",
        name="more.csv",
        agency="Trafford Council",
        sector="council",
        store=path,
    )
    with closing(sqlite3.connect(path)) as db:
        names = [row[1] for row in db.execute('PRAGMA table_info("sites")')]
    assert "location_precision" in names
    after = open_store(path).sites().set_index("name")["location_precision"].to_dict()
    assert after == {
        "Moss View Centre": "postcode district",
        "Town Hall": "postcode",
        "Park": "point",
        "Library": "postcode",
    }


def test_an_old_store_without_the_method_reads_back_as_points():
    from assetmap.store.interface import conform

    old = pd.DataFrame({"site_id": ["a"], "name": ["x"]})
    assert conform(old, SITE_COLUMNS)["location_precision"].tolist() == ["point"]


# --------------------------------------------------------------------------- co-location


def _pair(*, approximate: bool, sensitivity: str = "open") -> gpd.GeoDataFrame:
    """Two agencies' sites 100 m apart, the second placed at a postcode district's centre."""
    sites = make_sites(2)
    sites["sector"] = ["council", "police"]
    sites["agency"] = ["Trafford Council", "Greater Manchester Police"]
    sites["sensitivity"] = ["open", sensitivity]
    sites["location_precision"] = ["point", "postcode district" if approximate else "point"]
    sites["postcode"] = ["M41 0AA", "M41"]
    return sites.set_geometry(gpd.points_from_xy([376_000, 376_100], [395_000, 395_000]))


def test_colocation_leaves_approximate_sites_out_unless_asked():
    result = colocation_clusters(_pair(approximate=True))
    assert result.empty and result.approximate_excluded == 1
    assert "1 site placed only approximately" in result.message
    assert "left out" in result.message
    assert colocation_pairs(_pair(approximate=True)).empty
    included = colocation_clusters(_pair(approximate=True), include_approximate=True)
    assert len(included.clusters) == 1 and included.approximate_excluded == 0
    assert "approximately" not in included.message
    assert len(colocation_pairs(_pair(approximate=True), include_approximate=True)) == 1
    precise = colocation_clusters(_pair(approximate=False))
    assert len(precise.clusters) == 1 and "approximately" not in precise.message


def test_other_agencies_restricted_approximate_sites_are_never_counted():
    sites = _pair(approximate=True, sensitivity="restricted")
    result = colocation_clusters(sites)
    assert result.approximate_excluded == 0
    assert "approximately" not in result.message
    own = colocation_clusters(sites, viewer_agency="Greater Manchester Police")
    assert own.approximate_excluded == 1
    assert "1 site placed only approximately" in own.message


# --------------------------------------------------------------------------- matching


def _request(*, approximate: bool) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "request_id": ["R1"],
            "source_ref": ["R1"],
            "agency": ["Greater Manchester Police"],
            "sector": ["police"],
            "space_needed_sqft": [1_000.0],
            "use_class": ["office"],
            "max_distance_m": [5_000.0],
            "needed_by": [""],
            "sensitivity": ["open"],
            "locality": [""],
            "location_precision": ["postcode district" if approximate else "point"],
        },
        geometry=[Point(376_050, 395_000)],
        crs=27700,
    )


def _offers(*, approximate: bool) -> gpd.GeoDataFrame:
    sites = _pair(approximate=False).iloc[:1].copy()
    sites["surplus_sqft"] = 5_000.0
    sites["use_class"] = "office"
    sites["location_precision"] = "postcode district" if approximate else "point"
    return sites


def test_matching_leaves_approximate_offers_out_unless_asked():
    match = find_candidates(_request(approximate=False), _offers(approximate=True))
    assert match.candidates.empty
    assert "Left out as placed only approximately" in match.message
    assert "1 offer" in match.message
    asked = find_candidates(
        _request(approximate=False), _offers(approximate=True), include_approximate=True
    )
    assert len(asked.candidates) == 1 and "approximately" not in asked.message


def test_an_approximate_request_is_not_matched_unless_asked_and_says_why():
    match = find_candidates(_request(approximate=True), _offers(approximate=False))
    assert match.candidates.empty
    assert "placed only approximately" in match.requests["reason"].iloc[0]
    assert "1 request" in match.message
    asked = find_candidates(
        _request(approximate=True), _offers(approximate=False), include_approximate=True
    )
    assert len(asked.candidates) == 1


# --------------------------------------------------------------------------- density


def _districts() -> gpd.GeoDataFrame:
    """Two made-up districts carrying the codes of Trafford and Manchester (west and east)."""
    return gpd.GeoDataFrame(
        {"code": [TRAFFORD, MANCHESTER], "name": ["Trafford", "Manchester"]},
        geometry=[box(360_000, 380_000, 380_000, 400_000), box(380_000, 380_000, 400_000, 400_000)],
        crs=27700,
    )


def _approximate_sites() -> gpd.GeoDataFrame:
    """A precise site, an M41 site (one district: Trafford) and an M16 site (two districts)."""
    sites = make_sites(3)
    sites["name"] = ["Precise", "Urmston", "Old Trafford"]
    sites["postcode"] = ["M41 0AA", "M41", "M16"]
    sites["location_precision"] = ["point", "postcode district", "postcode district"]
    # the M41 site is drawn in "Manchester": at district level it counts where its postcode
    # district lies (Trafford, by code), not where its centre happens to fall
    return sites.set_geometry(
        gpd.points_from_xy([370_000, 385_000, 376_000], [390_000, 390_000, 388_000])
    )


def test_an_approximate_site_counts_at_district_level_where_its_area_lies():
    result = density_by_locality(_approximate_sites(), _districts())
    assert result.metrics.loc[TRAFFORD, "sites"] == 2  # Precise and Urmston
    assert result.metrics.loc[MANCHESTER, "sites"] == 0
    assert result.approximate_not_counted == 1  # M16 is split by Trafford and Manchester
    assert result.n_outside == 0
    assert any("crosses a district boundary" in note for note in result.notes)
    assigned = result.assignment["locality_code"].tolist()
    assert assigned == [TRAFFORD, TRAFFORD, ""]


def test_an_area_almost_all_in_one_district_counts_there():
    # WA14 (Altrincham): 1,677 of its 1,740 postcodes in Trafford, 63 in Cheshire East; M16:
    # Trafford and Manchester share it, neither with 95% of its postcodes
    from assetmap.postcodes import DISTRICT_SHARE, default_directory

    assert DISTRICT_SHARE == 0.95
    centres = default_directory().area_centres(
        pd.Series(["WA14", "M16", "M41 7"]),
        pd.Series(["postcode district"] * 2 + ["postcode sector"]),
    )
    assert centres["district"].tolist() == [TRAFFORD, "", TRAFFORD]
    sites = _approximate_sites()
    sites.loc[2, "postcode"] = "WA14"
    result = density_by_locality(sites, _districts())
    assert result.metrics.loc[TRAFFORD, "sites"] == 3
    assert result.approximate_not_counted == 0


def test_an_approximate_site_of_a_district_not_among_the_localities_is_outside_them():
    # M1 (Manchester city centre) lies in Manchester; drawn inside "Trafford", it must not
    # count there when Manchester is not one of the localities
    sites = _approximate_sites().iloc[[1]].reset_index(drop=True)
    sites.loc[0, "postcode"] = "M1"
    result = density_by_locality(sites, _districts().iloc[[0]].reset_index(drop=True))
    assert result.metrics.loc[TRAFFORD, "sites"] == 0
    assert result.n_outside == 1 and result.approximate_not_counted == 0
    both = density_by_locality(sites, _districts())
    assert both.metrics.loc[MANCHESTER, "sites"] == 1 and both.n_outside == 0


def test_approximate_sites_never_count_at_lsoa_level():
    lsoas = gpd.GeoDataFrame(
        {"code": ["E01006074", "E01006075"], "name": ["Trafford 001A", "Trafford 001B"]},
        geometry=[box(360_000, 380_000, 380_000, 400_000), box(380_000, 380_000, 400_000, 400_000)],
        crs=27700,
    )
    result = density_by_locality(_approximate_sites(), lsoas)
    assert int(result.metrics["sites"].sum()) == 1  # only the precise site
    assert result.approximate_not_counted == 2
    assert any("larger than these localities" in note for note in result.notes)


def test_approximate_sites_count_above_district_level_when_in_one_district():
    england = gpd.GeoDataFrame(
        {"code": ["E92000001"], "name": ["England"]},
        geometry=[box(300_000, 300_000, 450_000, 450_000)],
        crs=27700,
    )
    result = density_by_locality(_approximate_sites(), england)
    assert result.metrics.loc["E92000001", "sites"] == 2  # Precise and Urmston, not WA14
    assert result.approximate_not_counted == 1


# --------------------------------------------------------------------------- maps


def test_the_interactive_map_draws_approximate_sites_distinctly_and_says_so():
    sites = _approximate_sites()
    m = site_map(sites, popups=True)
    html = m.get_root().render()
    assert m.sites_layer.approximate == 2
    assert "assetmap-approximate" in html and 'dashArray: "3 3"' in html
    assert APPROXIMATE_LABEL in html  # the legend entry
    assert "approximate, centre of postcode district M41" in html  # the record in the popup
    precise = site_map(sites.iloc[:1], popups=True)
    assert precise.sites_layer.approximate == 0
    assert APPROXIMATE_LABEL not in precise.get_root().render()


def test_the_site_record_says_how_precisely_the_site_is_placed():
    record = dict(site_record({"location_precision": "postcode district", "postcode": "M41"}))
    assert record["Location"] == "approximate, centre of postcode district M41"
    assert (
        location_text("postcode sector", "M41 7") == "approximate, centre of postcode sector M41 7"
    )
    assert location_text("postcode") == "at its postcode (ONS Postcode Directory)"
    assert location_text("") is None


def test_the_print_map_draws_approximate_sites_hollow_with_a_legend_entry():
    sites = make_sites(60)
    sites["location_precision"] = np.where(np.arange(60) % 4 == 0, "postcode district", "point")
    built = build_map("sites", sites, place="Maidstone", drawn_on=date(2026, 12, 5))
    collections = [
        c for c in built.figure.axes[0].collections if str(c.get_gid()).endswith("-approximate")
    ]
    drawn = sum(len(c.get_offsets()) for c in collections)
    assert drawn >= 1
    assert all(len(c.get_facecolor()) == 0 for c in collections)  # hollow rings
    assert f"{APPROXIMATE_LABEL} ({drawn})" in built.legend
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    root = ET.fromstring(buffer.getvalue())
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert any(i.startswith("sites-") and i.endswith("-approximate") for i in ids)
    text = " ".join("".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text"))
    assert APPROXIMATE_LABEL in text
    precise = build_map("sites", make_sites(60), place="Maidstone", drawn_on=date(2026, 12, 5))
    assert not any(label.startswith(APPROXIMATE_LABEL) for label in precise.legend)


# --------------------------------------------------------------------------- command line


def test_the_command_line_includes_approximate_sites_only_when_asked(tmp_path, capsys):
    store = tmp_path / "estate.gpkg"
    import_register(
        b"Name,Postcode\nLibrary,M41 0TA\n",
        name="council.csv",
        agency="Trafford Council",
        sector="council",
        store=store,
    )
    # a police site near the council's, known only by its postcode district: M41
    import_register(
        b"Name,Postcode\nStation,M41\n",
        name="police.csv",
        agency="Greater Manchester Police",
        sector="police",
        store=store,
    )
    assert main(["colocate", "--store", str(store), "--distance", "3000"]) == 0
    out = capsys.readouterr().out
    assert "1 site placed only approximately" in out and "No co-location clusters" in out
    command = ["colocate", "--store", str(store), "--distance", "3000", "--include-approximate"]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "1 co-location cluster" in out and "approximately" not in out


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_trafford_register_loads_its_outward_code_rows_approximately():
    p = prepare_register(
        shared_file("registers", "trafford_land_and_building_assets.csv"), sector="council"
    )
    r = p.report
    # before: 394 of 608 accepted, 206 quarantined for giving only the outward code
    assert r.rows_read == 608 and r.accepted >= 560
    assert r.accepted == 599  # 2 rows quarantined: coordinates far from their postcode
    approximate = approximate_mask(p.rows)
    assert int(approximate.sum()) == 207
    assert "postcode_partial" not in r.reasons
    urmston = p.rows[approximate & (p.rows["postcode"] == "M41").to_numpy()]
    assert len(urmston) == 94
    # every approximate site stands within the reach of its postcode district
    xy = np.column_stack([urmston.geometry.x, urmston.geometry.y])
    assert (np.hypot(xy[:, 0] - M41[0], xy[:, 1] - M41[1]) < 1).all()
    assert shapely.Point(M41).distance(urmston.geometry.iloc[0]) < 50


# --------------------------------------------------------------------------- the app


@pytest.fixture
def empty_streamlit_caches():
    """Streamlit's caches emptied before and after the test (AppTest runs share them)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.usefixtures("empty_streamlit_caches")
def test_the_colocation_page_asks_before_including_approximate_sites(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from assetmap.app import colocation_page, state
    from assetmap.app.navigation import page_path
    from assetmap.store import STORE_ENV
    from tests.app.conftest import ROOT, run_app, shown, write_store

    sites = _pair(approximate=True)  # two agencies 100 m apart, in Maidstone
    sites = sites.set_geometry(gpd.points_from_xy([575_000, 575_100], [155_000, 155_000]))
    monkeypatch.setenv(STORE_ENV, str(write_store(tmp_path / "estate.gpkg", sites)))
    at = run_app(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(page_path("colocation").relative_to(ROOT)))
    run_app(at)
    box = at.checkbox(key=colocation_page.APPROXIMATE_KEY)
    assert box.label == state.APPROXIMATE_BOX and box.value is False
    text = shown("\n".join(m.value for m in at.markdown))
    assert "No co-location clusters" in text and "1 site placed only approximately" in text
    box.check()
    run_app(at)
    text = shown("\n".join(m.value for m in at.markdown))
    assert "1 co-location cluster" in text and "approximately" not in text
