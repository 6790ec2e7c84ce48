"""Importing the real public registers in ../shared/data/registers.

Each count below was checked by reading the rows it names: the quarantined
rows are real faults of the published files (West Sussex's stations published
with "see our website" instead of coordinates, Trafford's postcodes cut to
their first half, Northern Ireland's police stations outside Great Britain...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assetmap.registers.importer import import_register, prepare_register
from tests.conftest import shared_file

pytestmark = pytest.mark.realdata

PROFILES = Path(__file__).parent / "data"


def test_trafford_transparency_code_register():
    p = prepare_register(
        shared_file("registers", "trafford_land_and_building_assets.csv"), sector="council"
    )
    r = p.report
    # 206 rows give only the outward code ("M41") and one a sector ("WA14 1"): placed at
    # the centre of that area, marked approximate (they were quarantined before: 394 accepted)
    # two rows give coordinates more than 2 km from their own postcode (Woodsend Fields,
    # Flixton, M41 8AD, is placed in Sale): quarantined, one of the two is wrong
    assert (r.rows_read, r.accepted, r.quarantined) == (608, 599, 9)
    assert r.reasons == {
        "postcode_not_found": 3,
        "missing_location": 3,
        "postcode_far": 2,
        "latlon_swapped": 1,
    }
    assert r.location_methods == {
        "x/y lon/lat": 370,
        "postcode district centre": 206,
        "postcode": 22,
        "postcode sector centre": 1,
    }
    assert p.rows["location_precision"].value_counts().to_dict() == {
        "point": 370,
        "postcode district": 206,
        "postcode": 22,
        "postcode sector": 1,
    }
    assert any("207 rows placed approximately" in note for note in r.notes)
    assert set(p.rows["agency"]) == {"Trafford Council"}
    hall = p.rows.set_index("name").loc["Altrincham Town Hall"]
    assert hall["floor_area_sqft"] == pytest.approx(415.05 * 10.7639)
    assert hall["uprn"] == "100012797623"
    assert hall["tenure"] == "freehold"
    assert 370_000 < hall.geometry.x < 380_000  # Altrincham, Greater Manchester


def test_police_stations():
    r = prepare_register(
        shared_file("registers", "police_stations_england_wales_2018.csv"), sector="police"
    ).report
    assert (r.rows_read, r.accepted, r.quarantined) == (432, 326, 106)
    assert r.reasons == {
        "missing_location": 62,
        "outside_gb": 25,  # the Police Service of Northern Ireland's stations
        # Thames Valley's and Sussex's stations given another station's point or postcode
        "postcode_far": 18,
        "no_name": 2,
        "postcode_not_found": 1,
    }
    assert r.location_methods == {"lat/lon": 156, "postcode": 170}


def test_fire_stations_easting_northing():
    p = prepare_register(shared_file("registers", "fire_stations_england_2018.csv"), sector="fire")
    r = p.report
    assert (r.rows_read, r.accepted, r.quarantined) == (1399, 1344, 55)
    # Cleveland's stations pair each postcode with another station's point
    assert r.reasons == {"postcode_far": 29, "bad_coordinates": 25, "outside_gb": 1}
    assert r.location_methods == {"easting/northing": 1344}
    kent = p.rows[p.rows["agency"] == "Kent"]
    assert len(kent) == 56  # Kent FRS has 56 stations


def test_nhs_hospitals_with_a_profile():
    p = prepare_register(
        shared_file("registers", "nhs_hospitals_england_2018.csv"),
        profile=PROFILES / "nhs_hospitals.profile.toml",
    )
    r = p.report
    assert (r.rows_read, r.accepted, r.quarantined) == (1234, 1225, 9)
    assert r.reasons == {"duplicate": 8, "postcode_not_found": 1}
    assert set(p.rows["sector"]) == {"health"}
    assert p.rows["agency"].nunique() > 100  # the trusts and companies, from ParentName


def test_kent_sites_all_load(store_path):
    report = import_register(
        shared_file("registers", "kent_public_sector_sites.csv"), store=store_path
    )
    assert (report.rows_read, report.accepted, report.quarantined) == (288, 288, 0)
    assert report.location_methods == {"lat/lon": 288}


def test_real_registers_together_in_one_store(store_path):
    for name, kwargs in [
        ("police_stations_england_wales_2018.csv", {"sector": "police"}),
        ("fire_stations_england_2018.csv", {"sector": "fire"}),
        ("nhs_hospitals_england_2018.csv", {"profile": PROFILES / "nhs_hospitals.profile.toml"}),
    ]:
        import_register(shared_file("registers", name), store=store_path, **kwargs)
    from assetmap.store import open_store

    store = open_store(store_path)
    assert len(store.sites()) == 326 + 1344 + 1225
    assert store.quarantine().drop_duplicates(["source_file", "row"]).shape[0] == 106 + 55 + 9
    assert store.sites()["site_id"].is_unique
