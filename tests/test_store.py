"""The store: imports land, re-imports replace, failures and kills change nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from assetmap.access import Viewer, visible_sites
from assetmap.errors import InvalidArgumentError, StoreError
from assetmap.registers.importer import import_register
from assetmap.registers.validate import shared_groups
from assetmap.schema import REQUEST_COLUMNS, SITE_COLUMNS
from assetmap.store import (
    GeoPackageStore,
    bulk,
    default_store_path,
    gpkg_file,
    interface,
    open_store,
)

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


#: Who reads a store in these tests: the agency whose quarantined rows they check. A
#: database gives each viewer only what they may see (row-level security); a GeoPackage
#: store ignores the viewer and gives every row (the engine filters).
POLICE_VIEWER = Viewer("officer@kent.police.example", agency="Kent Police", signed_in=True)


def _is_database(location) -> bool:
    return isinstance(location, str) and location.startswith("postgresql://")


def _state(location, viewer: Viewer | None = POLICE_VIEWER) -> dict[str, pd.DataFrame]:
    """Every layer of the store as ``viewer`` reads it, to compare before and after."""
    store = open_store(location, viewer=viewer)
    return {
        "sites": store.sites().to_wkt(),
        "footprints": store.footprints().to_wkt(),
        "requests": store.requests().to_wkt(),
        "quarantine": store.quarantine(),
        "imports": store.imports(),
        "boundary_sets": store.boundary_sets().to_wkt(),
        "places": store.places(),
    }


def _assert_same_state(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert list(before) == list(after)
    for layer, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[layer], check_exact=True, obj=layer)


def test_empty_store_reads_as_empty_canonical_tables(any_store):
    store = open_store(any_store)
    assert store.exists() is _is_database(any_store)  # a database store is made by `store init`
    assert list(store.sites().columns) == [*SITE_COLUMNS, "geometry"]
    assert list(store.requests().columns) == [*REQUEST_COLUMNS, "geometry"]
    assert store.sites().crs.to_epsg() == 27700
    assert store.imports().empty and store.quarantine().empty
    assert store.footprints().empty and store.boundary_sets().empty and store.places().empty


def test_import_writes_every_layer(any_store):
    report = _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    assert report.stored and report.accepted == 2 and report.quarantined == 1
    store = open_store(any_store, viewer=POLICE_VIEWER)
    if not _is_database(any_store):
        layers = {name for name, _ in pyogrio.list_layers(any_store)}
        assert layers == {
            *["sites", "footprints", "requests", "quarantine", "imports"],
            *["boundary_sets", "places", "scenarios"],
        }
    sites = store.sites()
    assert sites.crs.to_epsg() == 27700
    assert list(sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert sites.index.tolist() == [0, 1]
    # provenance: the source, its owner, its file's hash, the row and the time of import
    assert sites["source_file"].unique().tolist() == ["police.csv"]
    assert sites["source_owner"].unique().tolist() == ["Kent Police"]
    assert sites["source_sha256"].iloc[0] == report.sha256
    assert sites["source_row"].tolist() == [2, 3]
    assert sites["imported_at"].unique().tolist() == [report.imported_at]
    assert [(p.x, p.y) for p in sites.geometry] == [(575937.0, 156314.0), (559563.0, 145974.0)]
    q = store.quarantine()
    assert q[["row", "reason_code"]].values.tolist() == [[4, "missing_location"]]
    assert q[["source_file", "source_owner"]].values.tolist() == [["police.csv", "Kent Police"]]
    log = store.imports()
    assert log["accepted"].tolist() == [2]
    assert log["source_sha256"].tolist() == [report.sha256]
    assert store.report("police.csv")["quarantined"] == 1


def test_reimport_replaces_the_source_and_keeps_ids(any_store):
    first = _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    ids = open_store(any_store).sites()["site_id"].tolist()
    second = _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    store = open_store(any_store, viewer=POLICE_VIEWER)
    assert store.sites()["site_id"].tolist() == ids  # no duplicates, same ids
    assert len(store.quarantine()) == 1
    assert len(store.imports()) == 1
    assert second.replaced_rows == first.accepted


def test_sources_are_independent_and_can_be_removed(any_store):
    _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    _import(any_store, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    store = open_store(any_store, viewer=POLICE_VIEWER)
    assert len(store.sites()) == 4
    assert len(store.quarantine()) == 1
    removed = store.remove_source("police.csv", shared=shared_groups)
    assert removed == 2
    assert store.sites()["source_file"].unique().tolist() == ["nhs.csv"]
    assert store.quarantine().empty
    assert store.imports()["source_file"].tolist() == ["nhs.csv"]
    with pytest.raises(StoreError, match=r"source_file='nope.csv' is not in the store.*nhs.csv"):
        store.remove_source("nope.csv")


def test_two_agencies_sources_of_one_name_are_two_sources(any_store):
    _import(any_store, POLICE, "estate.csv", agency="Kent Police", sector="police")
    _import(any_store, HEALTH, "estate.csv", agency="NHS Kent", sector="health")
    _import(any_store, HEALTH, "estate.csv", agency="NHS Kent", sector="health")  # replaces its own
    store = open_store(any_store)
    assert sorted(store.imports()["source_owner"]) == ["Kent Police", "NHS Kent"]
    assert store.sites().groupby("source_owner").size().to_dict() == {
        "Kent Police": 2,
        "NHS Kent": 2,
    }
    with pytest.raises(StoreError, match=r"'estate.csv' is a source of several agencies"):
        store.remove_source("estate.csv")
    assert store.remove_source("estate.csv", owner="NHS Kent", shared=shared_groups) == 2
    assert store.sites()["source_owner"].unique().tolist() == ["Kent Police"]


def test_restricted_sites_are_seen_by_their_own_agency_only(any_store):
    text = POLICE + "P4,Custody Suite,TN9 1SP,3000,\n"
    text = text.replace("Vacant space (sq ft)\n", "Vacant space (sq ft),Sensitivity\n", 1)
    text = text.replace(",40000\n", ",40000,open\n").replace(",3000,\n", ",3000,,restricted\n")
    _import(any_store, text, "police.csv", agency="Kent Police", sector="police")
    _import(any_store, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    nhs = Viewer("nurse@nhs.example", agency="NHS Kent", signed_in=True)
    for viewer, expected in (
        (POLICE_VIEWER, {"Maidstone Police Office", "Tonbridge Police Station", "Custody Suite"}),
        (nhs, {"Maidstone Police Office", "Tonbridge Police Station"}),
        (None, {"Maidstone Police Office", "Tonbridge Police Station"}),
    ):
        seen = visible_sites(open_store(any_store, viewer=viewer).sites(), viewer)
        assert set(seen["name"]) - {"The Hub", "Clinic"} == expected, viewer
        assert seen.index.tolist() == list(range(len(seen)))
    # and the police's quarantined row (raw register values) only to the police
    assert len(open_store(any_store, viewer=POLICE_VIEWER).quarantine()) == 1
    from assetmap.access import visible_quarantine

    assert visible_quarantine(open_store(any_store, viewer=nhs).quarantine(), nhs).empty


def test_the_same_site_from_two_agencies_is_flagged_shared(any_store):
    _import(any_store, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    report = _import(
        any_store, COUNCIL, "council.csv", agency="Tunbridge Wells BC", sector="council"
    )
    assert report.shared_sites == 1
    sites = open_store(any_store).sites().set_index("name")
    assert sites.loc["The Hub", "shared_group"] == sites.loc["Shared Hub", "shared_group"] != ""
    assert sites.loc["Clinic", "shared_group"] == ""
    assert len(sites) == 3  # flagged, never merged


def _legacy_layout(path: Path) -> None:
    """Give a store the layout of an older assetmap (per-row provenance columns)."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")
        db.commit()


@pytest.mark.parametrize(
    ("layout", "target", "fail_at"),
    [
        ("current", "append_chunks", 1),  # the new rows, appended to the copy of the store
        ("current", "append", 1),  # the quarantine, after the rows
        ("current", "append", 2),  # the import log, after everything else
        ("current", "update_shared_groups", 1),  # shared sites, once the rows are in
        ("current", "_finish", 1),  # counts and extents, just before the commit
        ("legacy", "write_dataframe", 3),  # GDAL creating the new file's third layer
        ("legacy", "append", 2),  # appending the rewritten store's second layer
    ],
)
def test_a_failure_mid_write_leaves_the_previous_store_intact(
    store_path, monkeypatch, layout, target, fail_at
):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    if layout == "legacy":
        _legacy_layout(store_path)
    before = store_path.read_bytes()
    gpkg_file._empty_store.cache_clear()  # GDAL makes the layers afresh
    holder = pyogrio if target == "write_dataframe" else bulk.BulkWriter
    real = getattr(holder, target)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(holder, target, failing)
    with pytest.raises(OSError, match="disk full"):
        _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    assert calls["n"] == fail_at
    assert store_path.read_bytes() == before
    leftovers = [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp.gpkg")]
    assert leftovers == []
    assert open_store(store_path).sites()["source_file"].unique().tolist() == ["police.csv"]


@pytest.mark.parametrize("where", ["checks", "insert"])
def test_a_failure_while_rows_stream_in_leaves_the_previous_store_intact(
    store_path, monkeypatch, where
):
    """Rows are checked and stored a chunk at a time, the insert in a second thread:
    a failure in either, after a chunk is in, still changes nothing."""
    import adbc_driver_manager.dbapi as dbapi

    from assetmap.registers import importer
    from assetmap.registers.validate import SiteChecks

    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    before = store_path.read_bytes()
    monkeypatch.setattr(importer, "CHUNK_ROWS", 1)
    holder, target = (SiteChecks, "chunk") if where == "checks" else (dbapi.Cursor, "executemany")
    real = getattr(holder, target)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(holder, target, failing)
    text = "Site name,Postcode\nA,TN1 1AA\nB,ME14 1XX\nC,TN9 1SP\n"
    with pytest.raises(OSError, match="disk full"):
        _import(store_path, text, "nhs.csv", agency="NHS Kent", sector="health")
    assert calls["n"] == 2
    assert store_path.read_bytes() == before
    assert [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp.gpkg")] == []


@pytest.mark.parametrize("where", ["while rows stream in", "once the rows are in"])
def test_a_failure_mid_import_leaves_the_previous_estate(any_store, monkeypatch, where):
    """A re-import that fails after some of its rows reached the store (the second chunk's
    checks), or after all of them (settling the shared sites, just before the commit),
    leaves every layer as it was: the old rows of the source, nothing of the new."""
    from assetmap.registers import importer
    from assetmap.registers.validate import SiteChecks

    _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    _import(any_store, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    before = _state(any_store)
    version = open_store(any_store).version()
    monkeypatch.setattr(importer, "CHUNK_ROWS", 1)
    holder, target = (
        (SiteChecks, "chunk") if where.startswith("while") else (importer, "shared_groups")
    )
    real = getattr(holder, target)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == (2 if holder is SiteChecks else 1):
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(holder, target, failing)
    text = POLICE.replace("Maidstone Police Office", "Renamed Office") + "P5,Extra,TN1 1AA,5,\n"
    with pytest.raises(OSError, match="disk full"):
        _import(any_store, text, "police.csv", agency="Kent Police", sector="police")
    assert calls["n"] == (2 if holder is SiteChecks else 1)
    _assert_same_state(before, _state(any_store))
    assert open_store(any_store).version() == version
    if not _is_database(any_store):
        leftovers = [p.name for p in any_store.parent.iterdir() if ".tmp" in p.name]
        assert leftovers == []


def test_an_unreadable_file_changes_nothing(any_store):
    _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    before = _state(any_store)
    version = open_store(any_store).version()
    from assetmap.errors import RegisterReadError

    with pytest.raises(RegisterReadError):
        _import(any_store, "", "empty.csv")
    _assert_same_state(before, _state(any_store))
    assert open_store(any_store).version() == version


def _big_register(path: Path, rows: int) -> None:
    lines = ["Property reference,Site name,Easting,Northing"]
    lines += [f"B{i},Site {i},{500000 + i % 90000},{150000 + i % 70000}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_killing_a_real_import_process_leaves_old_or_new_store(any_store, tmp_path):
    """Kill ``python -m assetmap import`` at several moments; the store is always whole."""
    store_path = any_store
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
        if not _is_database(store_path):
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


def test_requests_are_stored(any_store):
    text = "Request ref,Requesting agency,Space needed (sq ft),Postcode\nR1,NHS,40000,TN1 1AA\n"
    report = _import(any_store, text, "requests.csv", sector="health")
    assert report.kind == "requests"
    req = open_store(any_store).requests()
    assert req["space_needed_sqft"].tolist() == [40000]
    assert isinstance(req, pd.DataFrame) and req.crs.to_epsg() == 27700
    assert list(req.columns) == [*REQUEST_COLUMNS, "geometry"]
    assert (req.geometry.x.iloc[0], req.geometry.y.iloc[0]) == (558300, 139100)
    owned_report = _import(any_store, text, "nhs_requests.csv", sector="health", agency="NHS Kent")
    req = open_store(any_store).requests().set_index("source_file")
    assert req.loc["nhs_requests.csv", "source_sha256"] == owned_report.sha256
    assert req.loc["nhs_requests.csv", "imported_at"] == owned_report.imported_at


def test_a_site_already_held_by_another_source_is_quarantined(any_store):
    _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    again = POLICE.replace("P2,Tonbridge", "P9,Tonbridge")
    report = _import(any_store, again, "police_copy.csv", agency="Kent Police", sector="police")
    assert report.accepted == 1  # only P9 is new
    q = open_store(any_store, viewer=POLICE_VIEWER).quarantine()
    mine = q[q["source_file"] == "police_copy.csv"].set_index("row")
    assert mine.loc[2, "reason"] == "the same site is already in the estate from police.csv row 2"
    assert open_store(any_store).sites()["site_id"].is_unique


POLICE_FULL = (
    "Property reference,Site name,Address,Postcode,GIA (sq ft),Vacant space (sq ft),"
    "Annual running cost,Lease expiry,Tenure\n"
    'P1,Maidstone Police Office,"Palace Ave, Maidstone",ME14 1XX,95000,40000,"£1,200",'
    "31/03/2027,Leasehold\n"
    "P2,Tonbridge Police Station — Café ü,,TN9 1SP,,,,,\n"
    "P3,Nowhere,,,1,,,,\n"
    "P4,Bad date,,TN9 1SP,5,,,not a date,\n"
)
REQUESTS = (
    "Request ref,Requesting agency,Space needed (sq ft),Postcode,Locality\n"
    "R1,NHS,40000,TN1 1AA,\n"
    "R2,NHS,2000,,Maidstone\n"
)


def _footprints_register() -> bytes:
    import geopandas as gpd
    from shapely.geometry import MultiPolygon, Polygon, box

    square = Polygon([(0.27, 51.13), (0.2705, 51.13), (0.2705, 51.1305), (0.27, 51.1305)])
    two = MultiPolygon([box(0.52, 51.27, 0.5205, 51.2705), box(0.53, 51.27, 0.5305, 51.2705)])
    frame = gpd.GeoDataFrame(
        {"Site name": ["Square", "Two blocks"], "Agency": ["Kent Fire", "Kent Fire"]},
        geometry=[square, two],
        crs="EPSG:4326",
    )
    return frame.to_json().encode()


def _build(store_path: Path) -> None:
    """An estate with every layer, NULLs, dates, unicode, footprints and a point-less request."""
    at = {"imported_at": "2026-01-01T00:00:00Z"}
    _import(store_path, POLICE_FULL, "police.csv", agency="Kent Police", sector="police", **at)
    _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health", **at)
    _import(store_path, COUNCIL, "council.csv", agency="Tunbridge Wells BC", sector="council", **at)
    import_register(_footprints_register(), name="fire.geojson", store=store_path, **at)
    _import(store_path, REQUESTS, "requests.csv", sector="health", **at)


def _gdal_copy(source: Path, target: Path) -> None:
    """Write every layer of ``source`` again with GDAL itself (pyogrio), as a reference."""
    import geopandas as gpd

    for layer, (_, geometry_type) in interface.LAYOUT.items():
        frame = pyogrio.read_dataframe(source, layer=layer)
        kwargs = {}
        if geometry_type is not None:
            frame = gpd.GeoDataFrame(frame, crs="EPSG:27700")
            kwargs = {"geometry_type": geometry_type, "layer_options": {"SPATIAL_INDEX": "NO"}}
        else:
            frame = pd.DataFrame(frame)
        pyogrio.write_dataframe(frame, target, layer=layer, driver="GPKG", **kwargs)


def _layers(path: Path) -> dict:
    return {
        layer: pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
        for layer in interface.LAYOUT
    }


def _assert_same_layers(left: Path, right: Path) -> None:
    for layer, frame in _layers(left).items():
        other = pyogrio.read_dataframe(right, layer=layer, use_arrow=True)
        pd.testing.assert_frame_equal(frame, other, check_exact=True)
        info, other_info = (
            pyogrio.read_info(left, layer=layer),
            pyogrio.read_info(right, layer=layer),
        )
        assert info["features"] == other_info["features"] == len(frame)
        assert info["crs"] == other_info["crs"]
        assert info["geometry_type"] == other_info["geometry_type"]
        assert list(info["fields"]) == list(other_info["fields"])
        assert list(info["dtypes"]) == list(other_info["dtypes"])


def test_the_store_reads_back_exactly_as_if_gdal_had_written_it(store_path, tmp_path):
    import geopandas as gpd

    _build(store_path)
    reference = tmp_path / "gdal.gpkg"
    _gdal_copy(store_path, reference)
    _assert_same_layers(store_path, reference)
    # the tricky values survived: NULL numbers, ISO dates, unicode, missing points, polygons
    sites = open_store(store_path).sites().set_index("source_ref")
    assert sites.loc["P1", "lease_expiry"] == "2027-03-31"
    assert pd.isna(sites.loc["P2", "floor_area_sqft"]) and sites.loc["P2", "address"] == ""
    assert sites.loc["P2", "name"] == "Tonbridge Police Station — Café ü"
    hub = open_store(store_path).sites().set_index("name").loc["The Hub", "geometry"]
    assert (hub.x, hub.y) == (558300, 139100)  # TN1 1AA in the ONS Postcode Directory
    requests = open_store(store_path).requests().set_index("source_ref")
    assert requests.loc["R2", "geometry"] is None and requests.loc["R2", "locality"] == "Maidstone"
    footprints = open_store(store_path).footprints()
    assert set(footprints.geom_type) == {"MultiPolygon"} and len(footprints) == 2
    assert [len(g.geoms) for g in footprints.geometry] == [1, 2]
    assert 1_000 < footprints.area.min() < footprints.area.max() < 5_000  # m², 35 m squares
    for layer in ("sites", "requests", "quarantine", "imports", "footprints"):
        ours = gpd.read_file(store_path, layer=layer)
        theirs = gpd.read_file(reference, layer=layer)
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    with closing(sqlite3.connect(store_path)) as db:
        counts = dict(db.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents"))
        for layer in interface.LAYOUT:
            assert counts[layer] == db.execute(f"SELECT count(*) FROM {layer}").fetchone()[0]
        triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
        for layer in interface.LAYOUT:
            assert f"trigger_insert_feature_count_{layer}" in triggers
        (rtrees,) = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'rtree%'"
        ).fetchone()
        assert rtrees == 0


def test_changes_in_place_give_the_same_store_as_a_rewrite(store_path, tmp_path, monkeypatch):
    def steps(path: Path) -> None:
        _build(path)
        at = {"imported_at": "2026-01-02T00:00:00Z"}
        _import(path, POLICE, "police.csv", agency="Kent Police", sector="police", **at)
        open_store(path).remove_source("council.csv", shared=shared_groups)
        _import(path, COUNCIL, "council.csv", agency="Tunbridge Wells BC", sector="council", **at)
        open_store(path).remove_source("requests.csv", shared=shared_groups)

    steps(store_path)
    rewritten = tmp_path / "rewritten" / "estate.gpkg"
    monkeypatch.setattr(GeoPackageStore, "_layout_is_current", lambda self: False)
    steps(rewritten)
    _assert_same_layers(store_path, rewritten)
    sites = open_store(store_path).sites().set_index("name")
    assert sites.loc["The Hub", "shared_group"] == sites.loc["Shared Hub", "shared_group"] != ""


def test_removing_a_source_unflags_the_sites_it_shared(any_store):
    _import(any_store, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    _import(any_store, COUNCIL, "council.csv", agency="Tunbridge Wells BC", sector="council")
    assert (open_store(any_store).sites()["shared_group"] != "").sum() == 2
    assert open_store(any_store).remove_source("council.csv", shared=shared_groups) == 1
    sites = open_store(any_store).sites()
    assert sites["name"].tolist() == ["The Hub", "Clinic"]
    assert (sites["shared_group"] == "").all()


@pytest.mark.parametrize("change", ["legacy columns", "spatial index", "autoincrement"])
def test_a_store_in_another_layout_is_rewritten_whole(store_path, change):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    with closing(sqlite3.connect(store_path)) as db:
        if change == "legacy columns":
            db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")
        elif change == "spatial index":
            db.execute("CREATE TABLE rtree_sites_geom (id INTEGER)")
        else:  # as GDAL (and assetmap before 2026-11-24) declared the fid
            db.execute("PRAGMA writable_schema = ON")
            db.execute(
                "UPDATE sqlite_master SET sql = replace(sql, '\"fid\" INTEGER PRIMARY KEY', "
                "'\"fid\" INTEGER PRIMARY KEY AUTOINCREMENT') WHERE name = 'requests'"
            )
        db.commit()
    store = open_store(store_path)
    assert not store._layout_is_current()
    _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    assert store._layout_is_current()
    assert store.sites()["source_file"].tolist() == ["police.csv"] * 2 + ["nhs.csv"] * 2
    assert "rtree_sites_geom" not in {name for name, _ in pyogrio.list_layers(store_path)}
    with closing(sqlite3.connect(store_path)) as db:
        (autoincrement,) = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'"
        ).fetchone()
    assert autoincrement == 0


def test_a_new_store_has_large_pages_and_no_autoincrement(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    with closing(sqlite3.connect(store_path)) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == 65_536
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = db.execute("SELECT sql FROM sqlite_master WHERE name = 'sites'").fetchone()[0]
    assert '"fid" INTEGER PRIMARY KEY NOT NULL' in tables
    assert "AUTOINCREMENT" not in tables
    assert pyogrio.read_info(store_path, layer="sites")["features"] == 2


def test_empty_text_is_stored_as_null_and_read_back_as_empty(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    with closing(sqlite3.connect(store_path)) as db:
        stored = db.execute("SELECT address, uprn, name FROM sites").fetchall()
        empty = db.execute("SELECT count(*) FROM sites WHERE address = '' OR uprn = ''")
        assert empty.fetchone()[0] == 0
    assert None in {value for row in stored for value in row[:2]}
    sites = open_store(store_path).sites()
    assert not sites[["address", "uprn", "name"]].isna().any().any()
    assert (sites["uprn"] == "").any()


@pytest.mark.parametrize("arrow_type", ["string", "large_string"])
def test_empty_as_null_keeps_every_string_and_nulls_only_the_empty(arrow_type):
    import pyarrow as pa

    values = ["a", "", None, "ü", "", "bc"] * 3
    whole = pa.array(values, type=getattr(pa, arrow_type)())
    column = pa.chunked_array([whole, whole.slice(2, 7), pa.array([], type=whole.type)])
    out = bulk._empty_as_null(column)
    expected = [None if v == "" else v for v in values + values[2:9]]
    assert out.to_pylist() == expected
    assert out.type == column.type


def test_text_the_same_on_every_row_is_stored_exactly(any_store):
    """Such text (the agency here) goes into the insert as an SQL literal: quotes and
    SQL in it stay text, and every row reads back as it was given."""
    agency = "O'Brien's Police'); DROP TABLE sites; --"
    text = (
        "Site name,Postcode,Use\n"
        "It's here,TN1 1AA,Office 'A'\n"
        "Again,ME14 1XX,Office 'A'\n"
        "And again,TN9 1SP,Office 'A'\n"
    )
    _import(any_store, text, "o'brien.csv", agency=agency, sector="police")
    sites = open_store(any_store).sites()
    assert sites["agency"].tolist() == [agency] * 3
    assert sites["use"].tolist() == ["Office 'A'"] * 3
    assert sites["source_file"].tolist() == ["o'brien.csv"] * 3
    assert sites["name"].tolist() == ["It's here", "Again", "And again"]
    assert sites["source_owner"].tolist() == [agency] * 3
    if not _is_database(any_store):
        with closing(sqlite3.connect(any_store)) as db:
            assert db.execute("SELECT count(*) FROM sites").fetchone() == (3,)


def test_only_clean_text_the_same_on_every_row_is_written_as_a_literal():
    import pyarrow as pa

    table = pa.table(
        {
            "same": ["a'b", "a'b", "a'b"],
            "nul": ["x\x00y"] * 3,
            "differs": ["p", "q", "p"],
            "gap": ["p", None, "p"],
            "number": [1.0, 1.0, 1.0],
        }
    )
    assert bulk._constant_text(table) == {"same": "a'b"}
    assert bulk._sql_text("a'b") == "'a''b'"


def test_site_ids_are_the_same_when_streamed_into_the_store(any_store):
    """The id pinned in test_validate's test of stable ids, through the chunked import."""
    text = "Property reference,Name,Postcode\nP1,A,TN1 1AA\n"
    _import(any_store, text, "x.csv", agency="Kent Police", sector="council")
    assert open_store(any_store).sites()["site_id"].tolist() == ["S62c05a9548f4f9f4"]


def test_a_store_implements_exactly_the_interfaces_abstract_methods():
    """What a second store (PostGIS) must implement, as the interface module lists it."""
    assert interface.EstateStore.__abstractmethods__ == {
        "exists",
        "sites",
        "site_keys",
        "footprints",
        "requests",
        "quarantine",
        "imports",
        "replace_source",
        "remove_source",
        "boundary_sets",
        "places",
        "_named",
        "scenarios",
        "_scenario_change",
        "location",
        "version",
        "append_audit",
        "audit_entries",
        "exchange",
        "exchange_write",
        "complete_match",
        "_put_exchange",
    }
    assert GeoPackageStore.__abstractmethods__ == frozenset()
    for name in interface.EstateStore.__abstractmethods__:
        assert f"~EstateStore.{name}`" in interface.__doc__


def _keys(names: list[str], index: list[int] | None = None) -> pd.DataFrame:
    columns = {c: [""] * len(names) for c in interface.SHARED_KEY_COLUMNS}
    return pd.DataFrame({**columns, "name": names}, index=index)


def test_shared_groups_are_settled_over_the_stored_sites_then_the_new_rows():
    seen = []

    def shared(merged: pd.DataFrame) -> pd.Series:
        seen.append(merged.index.tolist())
        return merged["name"].str.upper()

    stored, rows = _keys(["a", "b"]), _keys(["c"], index=[10])
    before, new = interface.settle_shared_groups(shared, stored, rows)
    assert (before.tolist(), new.tolist()) == (["A", "B"], ["C"])
    before, new = interface.settle_shared_groups(shared, stored.iloc[:0], rows)
    assert (before.tolist(), new.tolist()) == ([], ["C"])
    before, new = interface.settle_shared_groups(shared, stored, None)
    assert (before.tolist(), new.tolist()) == (["A", "B"], [])
    assert seen == [[0, 1, 2], [0], [0, 1]]  # each call numbered afresh, stored sites first
    assert interface.settle_shared_groups(shared, None, None) is None
    assert len(seen) == 3


# --------------------------------------------------------------------------- boundary sets, places


def _areas(*codes: str, crs: str = "EPSG:27700"):
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"code": list(codes), "name": [f"Area {c}" for c in codes]},
        geometry=[shapely.box(i * 100, 0, i * 100 + 100, 100) for i in range(len(codes))],
        crs=crs,
    )


def test_boundary_sets_and_places_are_kept_replaced_and_removed(any_store):
    store_path = any_store
    store = open_store(store_path)
    assert store.boundary_sets().empty and store.places().empty  # no store yet
    store.add_boundary_set("  Police   beats ", _areas("B1", "B2"), owner="Kent Police")
    store.save_place("North Kent", "district", ["E07000107", "E07000109"], owner="Kent Police")
    sets = store.boundary_sets()
    assert list(sets.columns) == ["set_name", "code", "name", "owner", "geometry"]
    assert sets["set_name"].tolist() == ["Police beats"] * 2
    assert sets.crs.to_epsg() == 27700 and set(sets.geom_type) == {"MultiPolygon"}
    assert store.places().to_dict("records") == [
        {
            "name": "North Kent",
            "level": "district",
            "codes": "E07000107;E07000109",
            "owner": "Kent Police",
        }
    ]
    # the owner's own set of that name (any case or spacing) is replaced
    store.add_boundary_set("police beats", _areas("B3"), owner="Kent Police")
    assert store.boundary_sets()[["set_name", "code"]].values.tolist() == [["police beats", "B3"]]
    # an import keeps them
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    assert len(store.boundary_sets()) == 1 and len(store.places()) == 1
    assert store.remove_boundary_set("POLICE BEATS") == 1
    assert store.remove_place("north kent", owner="Kent Police") == 1
    assert store.boundary_sets().empty and store.places().empty
    assert len(store.sites()) == 2


def test_another_owners_name_is_refused_and_the_store_unchanged(any_store):
    store = open_store(any_store)
    store.add_boundary_set("beats", _areas("B1"), owner="Kent Police")
    store.save_place("North Kent", "district", ["E07000107"], owner="")
    before = _state(any_store)
    version = store.version()
    with pytest.raises(
        StoreError,
        match=(
            r"the boundary set 'beats' was added by Kent Police; only its owner may "
            r"replace it. Choose another name for your boundary set"
        ),
    ):
        store.add_boundary_set("Beats", _areas("X"), owner="NHS Kent")
    with pytest.raises(
        StoreError,
        match=r"the place 'North Kent' was added with no agency; only its owner may replace it",
    ):
        store.save_place("north kent", "district", ["E07000109"], owner="NHS Kent")
    with pytest.raises(
        StoreError,
        match=r"the boundary set 'beats' was added by Kent Police; only its owner may remove it$",
    ):
        store.remove_boundary_set("beats", owner="NHS Kent")
    with pytest.raises(
        StoreError,
        match=r"there is no boundary set named 'wards' in the store; its boundary sets are: beats",
    ):
        store.remove_boundary_set("wards")
    with pytest.raises(
        StoreError,
        match=r"there is no place named 'South' in the store; its places are: North Kent",
    ):
        store.remove_place("South")
    _assert_same_state(before, _state(any_store))
    assert store.version() == version


def test_areas_and_places_that_cannot_be_kept_are_refused(any_store):
    import shapely

    store = open_store(any_store)
    before = _state(any_store)
    bad = _areas("A", "A", "")
    bad.loc[1, "geometry"] = shapely.Point(0, 0)
    with pytest.raises(
        InvalidArgumentError,
        match=(
            r"the boundary set 'x' cannot be kept: 1 areas of 'x' have no code; the "
            r"codes A are used by more than one area; 1 areas of 'x' are not "
            r"polygons \(the first, 'A', is Point\)"
        ),
    ):
        store.add_boundary_set("x", bad)
    with pytest.raises(
        InvalidArgumentError,
        match=(
            r"the boundary set 'x' has no name column; expected the columns code "
            r"and name; the boundary set 'x' names no coordinate system"
        ),
    ):
        store.add_boundary_set(
            "x", _areas("A").drop(columns="name").set_crs(None, allow_override=True)
        )
    with pytest.raises(
        InvalidArgumentError, match=r"the areas of the boundary set 'x' are a DataFrame"
    ):
        store.add_boundary_set("x", pd.DataFrame({"code": ["A"]}))
    with pytest.raises(InvalidArgumentError, match=r"the boundary set's name ' ' is not valid"):
        store.add_boundary_set(" ", _areas("A"))
    with pytest.raises(
        InvalidArgumentError,
        match=(
            r"the place 'p' cannot be saved: level '' is not valid; expected a "
            r"level such as 'district'; the place 'p' has no codes"
        ),
    ):
        store.save_place("p", "", [])
    with pytest.raises(
        InvalidArgumentError, match=r"codes \['a;b'\] are not valid; expected codes without ';'"
    ):
        store.save_place("p", "district", ["a;b"])
    assert store.exists() is _is_database(any_store)  # a GeoPackage store is not made
    _assert_same_state(before, _state(any_store))


def test_areas_in_another_crs_are_kept_in_british_national_grid(any_store):
    store = open_store(any_store)
    areas = _areas("A").to_crs("EPSG:4326")
    store.add_boundary_set("wgs", areas)
    kept = store.boundary_sets()
    assert kept.crs.to_epsg() == 27700
    assert kept.geometry.iloc[0].area == pytest.approx(10_000, rel=1e-3)


def test_a_failure_while_keeping_a_set_leaves_the_store_intact(store_path, monkeypatch):
    store = open_store(store_path)
    store.add_boundary_set("beats", _areas("B1"))
    before = store_path.read_bytes()

    def failing(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bulk.BulkWriter, "append", failing)
    with pytest.raises(OSError, match="disk full"):
        store.add_boundary_set("beats", _areas("B2"))
    assert store_path.read_bytes() == before
    assert [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp.gpkg")] == []
    assert store.boundary_sets()["code"].tolist() == ["B1"]


def test_sets_and_places_survive_a_rewrite_of_an_older_layout(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    store = open_store(store_path)
    store.add_boundary_set("beats", _areas("B1", "B2"))
    store.save_place("North Kent", "district", ["E07000107"])
    with closing(sqlite3.connect(store_path)) as db:
        db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")
        db.commit()
    assert not store._layout_is_current()
    _import(store_path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    assert store._layout_is_current()
    assert store.boundary_sets()["code"].tolist() == ["B1", "B2"]
    assert store.places()["name"].tolist() == ["North Kent"]


def test_a_store_from_before_the_new_layers_reads_none_and_gains_them(store_path):
    _import(store_path, POLICE, "police.csv", agency="Kent Police", sector="police")
    with closing(sqlite3.connect(store_path)) as db:
        for layer in ("boundary_sets", "places"):
            db.execute(f"DROP TABLE {layer}")
            db.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (layer,))
            db.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = ?", (layer,))
            db.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = ?", (layer,))
        db.commit()
    store = open_store(store_path)
    assert store.boundary_sets().empty and store.places().empty
    store.save_place("North Kent", "district", ["E07000107"])
    assert store.places()["name"].tolist() == ["North Kent"]
    assert len(store.sites()) == 2


def test_site_keys_of_given_ids_are_exactly_the_stored_rows_of_those_ids(any_store):
    _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    _import(any_store, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    _import(any_store, POLICE, "police_copy.csv", agency="Kent Fire", sector="fire")
    store = open_store(any_store)
    every = store.site_keys()
    assert len(every) == 6  # (P3 is nowhere)
    ids = [*every["site_id"].iloc[[1, 5]], "no such id", "x'); DROP TABLE sites"]
    got = store.site_keys(site_ids=ids)
    pd.testing.assert_frame_equal(
        got, every[every["site_id"].isin(ids)].reset_index(drop=True), check_exact=True
    )
    assert len(got) == 2
    none = store.site_keys(site_ids=[])
    pd.testing.assert_frame_equal(none, every.iloc[:0].reset_index(drop=True), check_exact=True)
    assert len(store.site_keys()) == 6  # the quoted id was only ever a value


def test_an_import_asks_the_store_only_for_its_own_ids_and_still_quarantines_duplicates(
    any_store, monkeypatch
):
    _import(any_store, POLICE, "police.csv", agency="Kent Police", sector="police")
    _import(any_store, POLICE, "fire.csv", agency="Kent Fire", sector="fire")
    store = open_store(any_store)
    asked: list = []
    keys = type(store).site_keys

    def site_keys(self, *, site_ids=None):
        asked.append(site_ids)
        return keys(self, site_ids=site_ids)

    monkeypatch.setattr(type(store), "site_keys", site_keys)
    again = POLICE + "P9,Tunbridge Wells Office,TN1 1AA,100,\n"  # P1 and P2 held already
    report = _import(store, again, "police_copy.csv", agency="Kent Police", sector="police")
    assert report.accepted == 1 and report.reasons["duplicate"] == 2
    assert len(asked) == 1 and asked[0] is not None  # one chunk: never every site
    new_ids = open_store(any_store).sites().query("source_file == 'police_copy.csv'")["site_id"]
    held = open_store(any_store).sites().query("source_file == 'police.csv'")["site_id"]
    assert sorted(asked[0]) == sorted([*held.iloc[:2], *new_ids])
    q = open_store(any_store, viewer=POLICE_VIEWER).quarantine()
    mine = q[(q["source_file"] == "police_copy.csv") & (q["reason_code"] == "duplicate")]
    reasons = mine.set_index("row")["reason"]
    assert reasons.to_dict() == {
        2: "the same site is already in the estate from police.csv row 2",  # (line 1: header)
        3: "the same site is already in the estate from police.csv row 3",
    }
    # re-importing the copy replaces it: its own rows are no duplicates
    report = _import(store, again, "police_copy.csv", agency="Kent Police", sector="police")
    assert report.accepted == 1 and report.reasons["duplicate"] == 2
    # a register of several chunks reads every site's keys once, before the write
    from assetmap.registers import importer

    asked.clear()
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    report = _import(store, again, "police_copy.csv", agency="Kent Police", sector="police")
    assert asked == [None]
    assert report.accepted == 1 and report.reasons["duplicate"] == 2
    q = open_store(any_store, viewer=POLICE_VIEWER).quarantine()
    mine = q[(q["source_file"] == "police_copy.csv") & (q["reason_code"] == "duplicate")]
    assert mine.set_index("row")["reason"].to_dict() == reasons.to_dict()


def _settle_through_changes(location) -> None:
    """Import, re-import and remove; after each, the groups are those of the whole estate."""
    from assetmap.registers.importer import remove_register

    header = "Site name,Postcode,UPRN\n"
    alpha = header + "Hub,TN1 1AA,100\nDepot,ME14 1XX,\nLibrary,TN9 1SP,300\nStore,TN9 1SP,\n"
    beta = header + "Hub,TN1 1AA,\nDepot,ME14 1XX,\nClinic,TN9 1SP,300\nStore,TN9 1SP,\n"
    gamma = header + "Hub,TN1 1AA,100\nYard,ME14 1XX,\n"
    beta_again = header + "Hub,TN1 1AA,\nClinic,TN9 1SP,\n"
    steps = [
        ("alpha.csv", alpha, "Alpha Council"),
        ("beta.csv", beta, "NHS Beta"),
        ("gamma.csv", gamma, "Gamma Police"),
        ("beta.csv", beta_again, "NHS Beta"),
        ("alpha.csv", None, "Alpha Council"),
    ]
    store = open_store(location)
    flagged = []
    for name, text, agency in steps:
        if text is None:
            remove_register(name, store=store, owner=agency)
        else:
            _import(store, text, name, agency=agency)
        sites = store.sites()
        whole = shared_groups(sites)  # over the whole estate
        assert sites["shared_group"].tolist() == whole.tolist(), name
        flagged.append(int((whole != "").sum()))
    assert flagged == [0, 8, 9, 3, 2]  # flags come and go with the changes


def test_shared_groups_settled_near_each_change_are_those_of_the_whole_estate(any_store):
    """Groups by UPRN and by postcode and name, across imports, re-imports and removals."""
    _settle_through_changes(any_store)


def test_a_big_change_settles_the_groups_of_the_whole_estate_alike(store_path, monkeypatch):
    """A change of so many rows that every site is settled (here: any) gives the same groups."""
    monkeypatch.setattr(bulk, "WHOLE_ESTATE_ROWS", 0)
    _settle_through_changes(store_path)


def test_a_small_change_settles_only_the_sites_sharing_its_uprns_or_postcodes(
    any_store, monkeypatch
):
    from assetmap.registers import importer

    big = "Property reference,Site name,Easting,Northing,UPRN\n" + "".join(
        f"B{i},Big {i},{520000 + i},{160000 + i},{1000 + i}\n" for i in range(300)
    )
    _import(any_store, big, "big.csv", agency="Alpha Council", sector="council")
    seen: list[int] = []

    def groups(sites):
        seen.append(len(sites))
        return shared_groups(sites)

    monkeypatch.setattr(importer, "shared_groups", groups)
    small = (
        "Property reference,Site name,Easting,Northing,UPRN\n"
        "S1,Shared depot,520005,160005,1005\nS2,New yard,530000,170000,99999\n"
    )
    report = _import(any_store, small, "small.csv", agency="NHS Beta", sector="health")
    # the two new sites and the one stored site sharing a UPRN: not the 302 of the estate
    assert seen == [3]
    assert report.shared_sites == 1
    sites = open_store(any_store).sites().set_index("name")["shared_group"]
    assert sites["Shared depot"] == sites["Big 5"] != ""
    assert (sites.drop(["Shared depot", "Big 5"]) == "").all()
