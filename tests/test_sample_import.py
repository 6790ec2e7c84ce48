"""The bundled sample estate imports as its FAULTS.md says, and builds the app's store."""

from __future__ import annotations

import re

from assetmap.datasets import get_path
from assetmap.sample import ensure_sample_store, sample_registers
from assetmap.store import open_store


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
