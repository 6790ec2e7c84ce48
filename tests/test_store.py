"""The store: imports land, re-imports replace, failures and kills change nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from assetmap.errors import StoreError
from assetmap.registers.importer import import_register
from assetmap.registers.validate import shared_groups
from assetmap.schema import REQUEST_COLUMNS, SITE_COLUMNS
from assetmap.store import GeoPackageStore, default_store_path, open_store

ROOT = Path(__file__).resolve().parents[1]

POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Vacant space (sq ft)\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,40000\n"
    "P2,Tonbridge Police Station,TN9 1SP,12000,\n"
    "P3,Nowhere,,1,\n"
)
HEALTH = "Site name,Postcode,UPRN\nThe Hub,TN1 1AA,200000\nClinic,ME14 1XX,\n"
COUNCIL = "Site name,Postcode,UPRN\nShared Hub,TN1 1AA,200000\n"


def _import(store, text, name, **kw):
    return import_register(text.encode(), name=name, store=store, **kw)


def test_empty_store_reads_as_empty_canonical_tables(store_path):
    store = open_store(store_path)
    assert not store.exists()
    assert list(store.sites().columns) == [*SITE_COLUMNS, "geometry"]
    assert list(store.requests().columns) == [*REQUEST_COLUMNS, "geometry"]
    assert store.sites().crs.to_epsg() == 27700
    assert store.imports().empty and store.quarantine().empty


def test_import_writes_every_layer(store_path):
    report = _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    assert report.stored and report.accepted == 2 and report.quarantined == 1
    store = open_store(store_path)
    layers = {name for name, _ in pyogrio.list_layers(store_path)}
    assert layers == {"sites", "footprints", "requests", "quarantine", "imports"}
    sites = store.sites()
    assert sites.crs.to_epsg() == 27700
    assert sites["source_file"].unique().tolist() == ["police.csv"]
    assert sites["source_sha256"].iloc[0] == report.sha256
    assert sites["source_row"].tolist() == [2, 3]
    q = store.quarantine()
    assert q[["row", "reason_code"]].values.tolist() == [[4, "missing_location"]]
    log = store.imports()
    assert log["accepted"].tolist() == [2]
    assert store.report("police.csv")["quarantined"] == 1


def test_reimport_replaces_the_source_and_keeps_ids(store_path):
    first = _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    ids = open_store(store_path).sites()["site_id"].tolist()
    second = _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    store = open_store(store_path)
    assert store.sites()["site_id"].tolist() == ids  # no duplicates, same ids
    assert len(store.quarantine()) == 1
    assert len(store.imports()) == 1
    assert second.replaced_rows == first.accepted


def test_sources_are_independent_and_can_be_removed(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    store = open_store(store_path)
    assert len(store.sites()) == 4
    removed = store.remove_source("police.csv", shared=shared_groups)
    assert removed == 2
    assert store.sites()["source_file"].unique().tolist() == ["nhs.csv"]
    assert store.quarantine().empty
    assert store.imports()["source_file"].tolist() == ["nhs.csv"]
    with pytest.raises(StoreError, match=r"source_file='nope.csv' is not in the store.*nhs.csv"):
        store.remove_source("nope.csv")


def test_the_same_site_from_two_agencies_is_flagged_shared(store_path):
    _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    report = _import(
        store_path, COUNCIL, "council.csv", agency="Tunbridge Wells BC", sector="council"
    )
    assert report.shared_sites == 1
    sites = open_store(store_path).sites().set_index("name")
    assert sites.loc["The Hub", "shared_group"] == sites.loc["Shared Hub", "shared_group"] != ""
    assert sites.loc["Clinic", "shared_group"] == ""
    assert len(sites) == 3  # flagged, never merged


def test_a_failure_mid_write_leaves_the_previous_store_intact(store_path, monkeypatch):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    before = store_path.read_bytes()
    real_write = pyogrio.write_dataframe
    calls = {"n": 0}

    def failing_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # after two layers of the new store are written
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing_write)
    with pytest.raises(OSError, match="disk full"):
        _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    assert store_path.read_bytes() == before
    leftovers = [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp.gpkg")]
    assert leftovers == []
    assert open_store(store_path).sites()["source_file"].unique().tolist() == ["police.csv"]


def test_an_unreadable_file_changes_nothing(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    before = store_path.read_bytes()
    from assetmap.errors import RegisterReadError

    with pytest.raises(RegisterReadError):
        _import(store_path, "", "empty.csv")
    assert store_path.read_bytes() == before


def _big_register(path: Path, rows: int) -> None:
    lines = ["Property reference,Site name,Easting,Northing"]
    lines += [f"B{i},Site {i},{500000 + i % 90000},{150000 + i % 70000}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


def test_killing_a_real_import_process_leaves_old_or_new_store(store_path, tmp_path):
    """Kill ``python -m assetmap import`` at several moments; the store is always whole."""
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    before = open_store(store_path).sites()["site_id"].tolist()
    big = tmp_path / "big.csv"
    _big_register(big, 200_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outcomes = set()
    for delay in (0.5, 1.5, 2.5, 4.0):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assetmap",
                "import",
                str(big),
                "--agency",
                "Kent Police",
                "--sector",
                "police",
                "--store",
                str(store_path),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        store = open_store(store_path)
        ids = store.sites()["site_id"]
        if ids.tolist() == before:
            outcomes.add("old")
        else:
            assert len(ids) == len(before) + 200_000
            assert ids.is_unique
            outcomes.add("new")
        assert set(store.imports()["source_file"]) <= {"police.csv", "big.csv"}
        # a killed writer leaves at most a stale temporary file, never a broken store
        for p in store_path.parent.glob(".estate.gpkg.*.tmp.gpkg"):
            p.unlink()
        if "new" in outcomes:
            store.remove_source("big.csv", shared=shared_groups)
    assert "old" in outcomes


def test_default_store_path(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSETMAP_STORE", str(tmp_path / "x.gpkg"))
    assert default_store_path() == tmp_path / "x.gpkg"
    monkeypatch.delenv("ASSETMAP_STORE")
    assert default_store_path() == Path("estate.gpkg")
    assert isinstance(open_store(), GeoPackageStore)


def test_a_corrupt_store_gives_a_clear_error(store_path):
    store_path.write_bytes(b"not a geopackage at all")
    with pytest.raises(StoreError, match="cannot be opened"):
        open_store(store_path).sites()


def test_requests_are_stored(store_path):
    text = "Request ref,Requesting agency,Space needed (sq ft),Postcode\nR1,NHS,40000,TN1 1AA\n"
    report = _import(store_path, text, "requests.csv", sector="health")
    assert report.kind == "requests"
    req = open_store(store_path).requests()
    assert req["space_needed_sqft"].tolist() == [40000]
    assert isinstance(req, pd.DataFrame) and req.crs.to_epsg() == 27700


def test_a_site_already_held_by_another_source_is_quarantined(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    again = POLICE.replace("P2,Tonbridge", "P9,Tonbridge")
    report = _import(store_path, again, "police_copy.csv", agency="Kent Police", sector="police")
    assert report.accepted == 1  # only P9 is new
    q = open_store(store_path).quarantine()
    mine = q[q["source_file"] == "police_copy.csv"].set_index("row")
    assert mine.loc[2, "reason"] == "the same site is already in the estate from police.csv row 2"
    assert open_store(store_path).sites()["site_id"].is_unique
