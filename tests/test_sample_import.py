"""The bundled sample estate imports as its FAULTS.md says, and builds the app's store."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from assetmap.cli import main
from assetmap.datasets import get_path
from assetmap.errors import InvalidArgumentError
from assetmap.matching import find_candidates
from assetmap.postcodes import default_directory
from assetmap.sample import (
    SAMPLE_PLACES,
    build_sample_store,
    ensure_sample_store,
    sample_registers,
)
from assetmap.store import open_store

TRAFFORD = "E08000009"


def _faults() -> set[tuple[str, int, str]]:
    text = (get_path("sample_estate") / "FAULTS.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\S+\.\w+) \| (\d+) \| (\w+) \|", text, flags=re.M)
    return {(f, int(r), code) for f, r, code in rows}


def test_every_register_in_the_manifest_imports(sample_store):
    store = open_store(sample_store)
    log = store.imports()
    assert sorted(log["source_file"]) == sorted(r["path"].name for r in sample_registers())
    formats = set(log["format"])
    assert {"csv", "xlsx", "geojson", "gpkg", "shapefile"} <= formats


def test_at_least_1500_sites_from_every_kind_of_agency(sample_store):
    sites = open_store(sample_store).sites()
    assert len(sites) >= 1500
    assert set(sites["sector"]) == {"police", "health", "dwp", "council", "fire"}
    assert sites["site_id"].is_unique
    assert set(sites["location_source"]) >= {
        "lat/lon",
        "easting/northing",
        "postcode",
        "geometry",
        "footprint",
        "wkt",
        "x/y BNG",
    }
    assert (sites["sensitivity"] == "restricted").sum() > 0
    assert len(open_store(sample_store).footprints()) > 0


def test_quarantine_holds_exactly_the_injected_faults(sample_store):
    q = open_store(sample_store).quarantine()
    got = set(zip(q["source_file"], q["row"].astype(int), q["reason_code"], strict=True))
    assert got == _faults()


def test_the_total_place_pair(sample_store):
    store = open_store(sample_store)
    sites = store.sites()
    offer = sites[(sites["sector"] == "police") & (sites["surplus_sqft"] == 40_000)]
    assert len(offer) == 1
    requests = store.requests()
    need = requests[(requests["sector"] == "health") & (requests["space_needed_sqft"] == 40_000)]
    assert len(need) == 1
    distance = offer.geometry.iloc[0].distance(need.geometry.iloc[0])
    assert 2_000 <= distance <= 5_000


def test_ensure_sample_store_builds_once(tmp_path):
    path = tmp_path / "app.gpkg"
    assert ensure_sample_store(path) == path
    first = path.stat().st_mtime_ns
    ensure_sample_store(path)
    assert path.stat().st_mtime_ns == first


# --------------------------------------------------------------------------- Trafford


def test_trafford_imports_every_row_of_five_bodies(trafford_store_built):
    store = open_store(trafford_store_built)
    log = store.imports()
    registers = sample_registers(place="trafford")
    assert sorted(log["source_file"]) == sorted(r["path"].name for r in registers)
    assert (log["accepted"] == log["rows_read"]).all() and log["quarantined"].eq(0).all()
    assert store.quarantine().empty
    sites = store.sites()
    assert len(sites) == int(log.loc[log["kind"] == "sites", "rows_read"].sum()) == 131
    assert set(sites["sector"]) == {"police", "health", "dwp", "council", "fire"}
    assert sites["agency"].nunique() == 5
    assert set(sites["location_source"]) >= {"lat/lon", "easting/northing", "postcode", "x/y BNG"}
    assert 3 <= (sites["sensitivity"] == "restricted").sum() <= 6
    assert (sites["surplus_sqft"] > 0).sum() >= 10
    assert (sites["lease_expiry"].fillna("") != "").sum() >= 10
    assert len(store.requests()) == 12


def test_trafford_sites_all_lie_in_trafford(trafford_store_built):
    store = open_store(trafford_store_built)
    sites, requests = store.sites(), store.requests()
    found = default_directory().lookup(pd.concat([sites["postcode"], requests["postcode"]]))
    assert found["found"].all()
    assert set(found["district"]) == {TRAFFORD}
    # every site's point within 45 m of its own postcode's centroid
    where = default_directory().lookup(sites["postcode"])
    gap = np.hypot(
        sites.geometry.x.to_numpy() - where["easting"],
        sites.geometry.y.to_numpy() - where["northing"],
    )
    assert gap.max() <= 45


@pytest.mark.slow
def test_trafford_sites_lie_in_the_national_trafford_district(trafford_store_built):
    national = pytest.importorskip("assetmap.national")
    districts = national.national_level("district")
    trafford = districts.loc[districts["code"] == TRAFFORD, "geometry"]
    assert len(trafford) == 1
    sites = open_store(trafford_store_built).sites()
    inside = sites.geometry.within(trafford.iloc[0])
    assert inside.mean() >= 0.99, sites.loc[~inside, ["name", "postcode"]]


def test_trafford_total_place_pair_is_matched(trafford_store_built):
    store = open_store(trafford_store_built)
    match = find_candidates(store.requests(), store.sites(), as_of="2025-03-31")
    best = match.requests.set_index("request_ref").loc["TR-2025-001"]
    assert best["best_offer_name"] == "Stretford Police Office"
    top = match.candidates[match.candidates["request_ref"] == "TR-2025-001"].iloc[0]
    assert top["offer_agency"] == "Greater Manchester Police"
    assert top["offer_sqft"] == top["need_sqft"] == 12_000
    assert 2_000 <= top["distance_m"] <= 5_000


def test_an_unknown_sample_place_is_refused(tmp_path):
    path = tmp_path / "estate.gpkg"
    with pytest.raises(
        InvalidArgumentError,
        match=r"^place='leeds' is not a sample place; expected one of: kent, trafford$",
    ):
        build_sample_store(path, place="leeds")
    assert not path.exists()
    with pytest.raises(InvalidArgumentError, match="place='Kent' is not a sample place"):
        sample_registers(place="Kent")


def test_the_kent_sample_stays_the_default():
    assert next(iter(SAMPLE_PLACES)) == "kent"
    assert sample_registers() == sample_registers(place="kent")
    assert sample_registers()[0]["path"].parent == get_path("sample_estate")
    trafford = sample_registers(place="trafford")
    assert {r["path"].parent for r in trafford} == {get_path("sample_estate_trafford")}


def test_cli_sample_builds_the_trafford_store(tmp_path, capsys):
    path = tmp_path / "trafford.gpkg"
    assert main(["sample", "--place", "trafford", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "gmp_trafford_estate.csv (csv, sites): 18 rows read, 18 accepted, 0 quarantined" in out
    assert set(open_store(path).sites()["agency"]) >= {
        "Trafford Council",
        "Greater Manchester Police",
    }
    with pytest.raises(SystemExit) as stop:
        main(["sample", "--place", "leeds", "--store", str(tmp_path / "other.gpkg")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --place: invalid choice: 'leeds'" in err
    assert all(f"{name}" in err.split("(choose from")[1] for name in SAMPLE_PLACES)
