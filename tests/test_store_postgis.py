"""The PostGIS store: the same estate as the GeoPackage store, row-level security behind it.

Each test takes a fresh database (``pg_store``: the owner's and the app role's URLs;
``pg_empty``: PostGIS without the schema) on the session's own PostgreSQL server
(``tests/pg.py``); they skip, saying why, where PostgreSQL with PostGIS is not installed.
"""

from __future__ import annotations

import hashlib
import threading

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
from shapely.geometry import box

from assetmap.access import Viewer, visible_quarantine, visible_sites
from assetmap.errors import InvalidArgumentError, StoreError
from assetmap.registers.importer import import_register, remove_register
from assetmap.settings import is_database_url
from assetmap.store import GeoPackageStore, open_store, postgis_schema
from assetmap.store.postgis import PostGISStore
from tests import pg
from tests.test_store import _footprints_register

AT = {"imported_at": "2026-01-01T00:00:00Z"}
POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Vacant space (sq ft),Sensitivity\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,40000,open\n"
    "P2,Tonbridge Police Station,TN9 1SP,12000,,open\n"
    "P3,Custody Suite,ME15 6AA,5000,,restricted\n"
    "P4,Nowhere,,1,,open\n"
)
HEALTH = "Site name,Postcode,UPRN\nThe Hub,TN1 1AA,200000\nClinic,ME14 1XX,\n"
COUNCIL = "Site name,Postcode,UPRN\nShared Hub,TN1 1AA,200000\n"
REQUESTS = (
    "Request ref,Requesting agency,Space needed (sq ft),Postcode,Locality\n"
    "R1,NHS,40000,TN1 1AA,\n"
    "R2,NHS,2000,,Maidstone\n"
)
KENT_POLICE = Viewer("ann@police.example", agency="Kent Police", signed_in=True)
NHS = Viewer("bob@nhs.example", agency="NHS Kent", signed_in=True)


def _build(store) -> None:
    """An estate with every layer: a restricted site, shared sites, footprints, requests."""
    for text, name, agency, sector in (
        (POLICE, "police.csv", "Kent Police", "police"),
        (HEALTH, "nhs.csv", "NHS Kent", "health"),
        (COUNCIL, "council.csv", "Tunbridge Wells BC", "council"),
    ):
        import_register(text.encode(), name=name, store=store, agency=agency, sector=sector, **AT)
    import_register(_footprints_register(), name="fire.geojson", store=store, **AT)
    import_register(
        REQUESTS.encode(), name="requests.csv", store=store, sector="health", agency="NHS", **AT
    )
    areas = gpd.GeoDataFrame(
        {"code": ["W1", "W2"], "name": ["North", "South"]},
        geometry=[box(570000, 150000, 580000, 160000), box(570000, 140000, 580000, 150000)],
        crs="EPSG:27700",
    )
    store.add_boundary_set("Wards", areas, owner="Kent Police")
    store.save_place("Mid Kent", "district", ["E07000110", "E07000116"], owner="NHS Kent")


# --------------------------------------------------------------------------- choosing


def test_a_database_url_opens_the_postgis_store_and_anything_else_a_geopackage(
    monkeypatch, tmp_path
):
    url = "postgresql://assetmap_app:pw@db.example:5432/estate"
    assert is_database_url(url) and is_database_url("POSTGRES://db/estate")
    assert not is_database_url("estate.gpkg") and not is_database_url(None)
    assert isinstance(open_store(url), PostGISStore)
    assert isinstance(open_store(tmp_path / "e.gpkg"), GeoPackageStore)
    monkeypatch.setenv("ASSETMAP_STORE", url)
    opened = open_store(viewer=KENT_POLICE)
    assert isinstance(opened, PostGISStore) and opened.viewer == KENT_POLICE
    monkeypatch.setenv("ASSETMAP_STORE", str(tmp_path / "other.gpkg"))
    assert open_store().location == str(tmp_path / "other.gpkg")


def test_the_password_is_never_shown(pg_store):
    _, app_url = pg_store
    password = app_url.split(":")[2].split("@")[0]
    store = open_store(app_url)
    assert password not in repr(store) and password not in store.location
    assert store.location == app_url.replace(password, "***")
    wrong = app_url.replace(password, password[::-1])
    with pytest.raises(StoreError, match=r"cannot be opened: .*password authentication") as info:
        open_store(wrong).sites()
    assert password[::-1] not in str(info.value) and "***" in str(info.value)
    query = app_url.replace(f":{password}@", "@") + f"?password={password}"
    assert password not in PostGISStore(query).location
    with pytest.raises(InvalidArgumentError, match=r"url='estate.gpkg' is not valid"):
        PostGISStore("estate.gpkg")


# --------------------------------------------------------------------------- the estate


def test_import_reimport_and_removal_on_either_store(any_store):
    # (a database tells the rows replaced, counted in the import log, to their agency only)
    store = open_store(any_store, viewer=Viewer("local user", agency="Kent Police"))
    first = import_register(POLICE.encode(), name="police.csv", store=store, agency="Kent Police")
    ids = sorted(store.site_keys()["site_id"])
    assert first.accepted == 3 and len(store.quarantine()) in (0, 1)
    version = store.version()
    again = import_register(POLICE.encode(), name="police.csv", store=store, agency="Kent Police")
    assert again.replaced_rows == 3 and store.version() != version
    assert sorted(store.site_keys()["site_id"]) == ids  # replaced, not added
    import_register(HEALTH.encode(), name="nhs.csv", store=store, agency="NHS Kent")
    assert list(store.imports()["source_file"]) == ["police.csv", "nhs.csv"]
    assert remove_register("police.csv", store=store) == 3
    assert set(store.site_keys()["source_file"]) == {"nhs.csv"}
    assert list(store.imports()["source_file"]) == ["nhs.csv"]
    with pytest.raises(StoreError, match=r"source_file='police.csv' is not in the store"):
        remove_register("police.csv", store=store)


def test_every_layer_reads_back_exactly_as_the_geopackage_stores(pg_store, tmp_path):
    owner_url, _ = pg_store
    gpkg, pg = open_store(tmp_path / "estate.gpkg"), open_store(owner_url)
    _build(gpkg)
    _build(pg)
    layers = ("sites", "site_keys", "requests", "footprints", "quarantine", "imports", "places")
    for layer in (*layers, "boundary_sets"):
        left, right = getattr(gpkg, layer)(), getattr(pg, layer)()
        assert len(left), layer
        pd.testing.assert_frame_equal(left, right)
    assert isinstance(pg.sites(), gpd.GeoDataFrame) and pg.sites().crs == "EPSG:27700"
    assert list(pg.sites().index) == list(range(len(gpkg.sites())))


def test_provenance_and_the_report_are_kept(pg_store):
    store = open_store(pg_store[0])
    report = import_register(POLICE.encode(), name="police.csv", store=store, agency="Kent Police")
    sites = store.sites()
    log = store.imports().iloc[0]
    assert set(sites["source_sha256"]) == {hashlib.sha256(POLICE.encode()).hexdigest()}
    assert set(sites["imported_at"]) == {log["imported_at"]} and log["imported_at"]
    assert sorted(sites["source_row"]) == [2, 3, 4]
    assert report.accepted == store.report("police.csv", "Kent Police")["accepted"] == 3
    assert store.quarantine()["reason_code"].tolist() == ["missing_location"]


def test_the_app_role_is_given_only_what_the_viewer_may_see(pg_store, tmp_path):
    owner_url, app_url = pg_store
    _build(open_store(owner_url))
    everything = open_store(owner_url).sites()
    for viewer in (KENT_POLICE, NHS, None):
        seen = open_store(app_url, viewer=viewer).sites()
        assert seen["site_id"].tolist() == visible_sites(everything, viewer)["site_id"].tolist()
    assert "Custody Suite" in set(open_store(app_url, viewer=KENT_POLICE).sites()["name"])
    assert "Custody Suite" not in set(open_store(app_url, viewer=NHS).sites()["name"])
    quarantined = open_store(owner_url).quarantine()
    for viewer in (KENT_POLICE, NHS, None):
        seen = open_store(app_url, viewer=viewer).quarantine()
        assert len(seen) == len(visible_quarantine(quarantined, viewer))
    assert len(open_store(app_url, viewer=KENT_POLICE).quarantine()) == 1
    assert len(open_store(app_url).imports()) == 5  # every source is listed to everyone
    # ...but its counts, hash and report only to its own agency
    theirs = open_store(app_url, viewer=NHS).imports().set_index("source_file")
    assert theirs.loc["police.csv", ["accepted", "report_json"]].tolist() == [0, ""]
    assert theirs.loc["nhs.csv", "accepted"] == 2 and theirs.loc["nhs.csv", "report_json"]
    own = open_store(app_url, viewer=KENT_POLICE).imports().set_index("source_file")
    assert own.loc["police.csv", "accepted"] == 3
    local = open_store(app_url).imports().set_index("source_file")  # keeps every right
    assert local.loc["police.csv", "accepted"] == 3


def test_a_raw_connection_as_the_app_role_cannot_reach_another_agencys_restricted_rows(
    pg_store,
):
    owner_url, app_url = pg_store
    _build(open_store(owner_url))
    before = open_store(owner_url).sites()
    assert "Custody Suite" in set(before["name"])
    with psycopg.connect(app_url) as conn:
        conn.execute("SELECT set_config('assetmap.agency', 'nhs kent', false)")
        queries = [
            "SELECT count(*) FROM sites WHERE name = 'Custody Suite'",
            "SELECT count(*) FROM sites WHERE lower(sensitivity) = 'restricted'",
            "SELECT count(*) FROM sites WHERE agency_key = 'kent police' AND sensitivity <> 'open'",
            "SELECT count(*) FROM quarantine WHERE owner_key = 'kent police'",
        ]
        for query in queries:
            assert conn.execute(query).fetchone() == (0,), query
        # nor change or remove another agency's rows, nor the audit log
        conn.execute("SELECT set_config('assetmap.writer', 'nhs kent', false)")
        assert conn.execute("DELETE FROM sites WHERE owner_key = 'kent police'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO sites (source_file, source_owner, agency_key, owner_key) "
                "VALUES ('x', 'Kent Police', 'kent police', 'kent police')"
            )
    pd.testing.assert_frame_equal(open_store(owner_url).sites(), before)


def test_a_signed_in_agency_cannot_replace_another_agencys_source(pg_store):
    owner_url, app_url = pg_store
    import_register(POLICE.encode(), name="police.csv", store=app_url, agency="Kent Police")
    store = open_store(app_url, viewer=NHS)
    before = open_store(owner_url).sites()
    with pytest.raises(StoreError, match=r"may change only its own sources"):
        store.remove_source("police.csv", owner="Kent Police")
    from assetmap.store.interface import SourceUpdate

    update = SourceUpdate("police.csv", "sites", before.iloc[:1], None, pd.DataFrame(), {})
    update.owner = "Kent Police"
    with pytest.raises(StoreError, match=r"may change only its own sources"):
        store.replace_source(update)
    pd.testing.assert_frame_equal(open_store(owner_url).sites(), before)
    areas = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["Area"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:27700"
    )
    open_store(app_url).add_boundary_set("Beats", areas, owner="Kent Police")
    with pytest.raises(StoreError, match=r"the boundary set 'Beats' is not yours to change"):
        store.remove_boundary_set("Beats")
    assert open_store(app_url).boundary_sets()["set_name"].tolist() == ["Beats"]


def test_shared_sites_are_flagged_across_agencies_and_unflagged_on_removal(pg_store):
    _, app_url = pg_store
    import_register(HEALTH.encode(), name="nhs.csv", store=app_url, agency="NHS Kent")
    import_register(COUNCIL.encode(), name="c.csv", store=app_url, agency="Tunbridge Wells BC")
    sites = open_store(app_url).sites()
    shared = sites.loc[sites["uprn"] == "200000", "shared_group"]
    assert len(shared) == 2 and shared.nunique() == 1 and shared.iloc[0].startswith("G")
    remove_register("c.csv", store=app_url)
    assert set(open_store(app_url).sites()["shared_group"]) == {""}


def test_two_agencies_importing_at_once_both_land(pg_store):
    _, app_url = pg_store
    errors: list[BaseException] = []

    def run(text: str, name: str, agency: str) -> None:
        try:
            for _ in range(3):
                import_register(text.encode(), name=name, store=app_url, agency=agency)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(POLICE, "police.csv", "Kent Police")),
        threading.Thread(target=run, args=(HEALTH, "nhs.csv", "NHS Kent")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    keys = open_store(app_url, viewer=KENT_POLICE).site_keys()
    assert keys.groupby("source_file").size().to_dict() == {"nhs.csv": 2, "police.csv": 3}


def test_boundary_sets_and_places_keep_their_owners(any_store):
    store = open_store(any_store)
    areas = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["Area"]},
        geometry=[box(570000, 150000, 571000, 151000)],
        crs="EPSG:27700",
    )
    store.add_boundary_set("Wards", areas, owner="Kent Police")
    store.add_boundary_set("wards", areas, owner="Kent Police")  # replaces its own
    assert store.boundary_sets()["set_name"].tolist() == ["wards"]
    with pytest.raises(StoreError, match=r"was added by Kent Police; only its owner may replace"):
        store.add_boundary_set("WARDS", areas, owner="NHS Kent")
    store.save_place("Mid Kent", "district", ["E07000110"], owner="NHS Kent")
    assert store.places()["codes"].tolist() == ["E07000110"]
    assert store.remove_boundary_set("wards") == 1 and store.remove_place("Mid Kent") == 1
    assert not len(store.boundary_sets()) and not len(store.places())


def test_the_audit_log_is_kept_by_either_store(any_store):
    store = open_store(any_store, viewer=KENT_POLICE)
    entry = {
        "time": "2026-02-03T04:05:06+00:00",
        "user": "ann@police.example",
        "agency": "Kent Police",
        "signed_in": True,
        "action": "import",
        "what": "police.csv",
        "sha256": "",
        "counts": {"accepted": 3},
    }
    store.append_audit(entry)
    assert store.audit_entries() == [entry]


def test_the_app_role_may_only_add_to_the_audit_log(pg_store):
    owner_url, app_url = pg_store
    open_store(app_url).append_audit(
        {"user": "u", "agency": None, "signed_in": False, "action": "export", "what": "x.csv"}
    )
    assert [e["what"] for e in open_store(app_url).audit_entries()] == ["x.csv"]
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement in (
            "UPDATE audit_log SET what = 'y'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(statement)
    with psycopg.connect(owner_url, autocommit=True) as conn:  # nor even the owner
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    assert len(open_store(owner_url).audit_entries()) == 1


# --------------------------------------------------------------------------- the schema


def test_a_database_without_the_schema_says_to_run_store_init(pg_empty):
    owner_url, app_url = pg_empty
    store = open_store(app_url)
    assert not store.exists()
    with pytest.raises(StoreError, match=r"holds no assetmap store yet: run `python -m assetmap"):
        store.sites()
    with pytest.raises(StoreError, match=r"holds no assetmap store: run `python -m assetmap"):
        postgis_schema.upgrade_store(owner_url)
    applied = postgis_schema.init_store(owner_url, app_role="assetmap_app")
    assert applied == postgis_schema.SCHEMA_VERSION == len(postgis_schema.migrations())
    assert postgis_schema.init_store(owner_url, app_role="assetmap_app") == 0  # again: no-op
    assert store.exists() and len(store.sites()) == 0


def test_init_refuses_an_app_role_that_would_escape_row_level_security(pg_empty):
    owner_url, _ = pg_empty
    with pytest.raises(InvalidArgumentError, match=r"'assetmap_owner' is the owner role"):
        postgis_schema.init_store(owner_url, app_role="assetmap_owner")
    with pytest.raises(InvalidArgumentError, match=r"there is no role 'nobody'"):
        postgis_schema.init_store(owner_url, app_role="nobody")
    with pytest.raises(InvalidArgumentError, match=r"'postgres' is a superuser or has BYPASSRLS"):
        postgis_schema.init_store(owner_url, app_role="postgres")


def test_init_refuses_an_app_role_that_may_run_postgis_estimates(pg_server, pg_empty):
    owner_url, _ = pg_empty
    name = owner_url.rsplit("/", 1)[1]
    with pg_server.admin(name) as db:  # as a database whose superuser skipped step 2
        db.execute("GRANT EXECUTE ON FUNCTION st_estimatedextent(text, text) TO assetmap_app")
    with pytest.raises(
        InvalidArgumentError,
        match=r"'assetmap_app' may run PostGIS's estimate functions \(st_estimatedextent\), "
        r"which read past row-level security; as the superuser, run "
        r"assetmap\.store\.postgis_schema\.POSTGIS_ESTIMATES_REVOKE",
    ):
        postgis_schema.init_store(owner_url, app_role="assetmap_app")
    with pg_server.admin(name) as db:
        db.execute(postgis_schema.POSTGIS_ESTIMATES_REVOKE)
        db.execute("REVOKE EXECUTE ON FUNCTION st_estimatedextent(text, text) FROM assetmap_app")
    postgis_schema.init_store(owner_url, app_role="assetmap_app")


def test_an_older_schema_is_migrated_by_the_owner_and_explained_to_the_app(pg_empty):
    """A store made and used at schema 1 (the first release): the app's role is told to
    upgrade; the owner's first open applies every newer migration, keeping the rows."""
    owner_url, app_url = pg_empty
    pg.first_release_store(owner_url, [{"name": "Hub", "agency": "Alpha", "source_file": "a.csv"}])
    newest = postgis_schema.SCHEMA_VERSION
    with pytest.raises(
        StoreError,
        match=rf"the store's schema is version 1 and this assetmap needs {newest}: run "
        r"`python -m assetmap store upgrade --store <url as owner>`",
    ):
        open_store(app_url).sites()
    assert len(open_store(owner_url).sites()) == 1  # the owner migrates it on open
    assert len(open_store(app_url).sites()) == 1
    assert postgis_schema.upgrade_store(owner_url) == 0
    with psycopg.connect(owner_url) as conn:
        made = dict(
            conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sites'")
        )
        (version,) = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    assert version == newest
    with psycopg.connect(owner_url) as conn:  # 0002's column, made for the rows already there
        assert conn.execute("SELECT postcode_key FROM sites").fetchall() == [("",)]
    assert 'COLLATE "C"' in made["sites_site_id"] and 'COLLATE "C"' in made["sites_source"]


def test_a_newer_schema_says_to_upgrade_assetmap(pg_store):
    owner_url, app_url = pg_store
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99)")
    for url in (app_url, owner_url):
        with pytest.raises(StoreError, match=r"schema version 99, newer than this assetmap knows"):
            open_store(url).imports()
    with pytest.raises(StoreError, match=r"upgrade assetmap to use it"):
        postgis_schema.upgrade_store(owner_url)


def test_a_failure_while_rows_stream_in_leaves_the_store_as_it_was(any_store):
    from assetmap.store.interface import SourceUpdate

    store = open_store(any_store)
    import_register(POLICE.encode(), name="police.csv", store=store, agency="Kent Police")
    before, version = store.sites(), store.version()
    rows = before.drop(columns="geometry").assign(
        easting=before.geometry.x.to_numpy(), northing=before.geometry.y.to_numpy()
    )

    def chunks():
        yield rows.iloc[:1]
        raise OSError("the register's disk went away")

    update = SourceUpdate("police.csv", "sites", chunks(), None, pd.DataFrame(), {})
    update.owner = "Kent Police"
    with pytest.raises(OSError, match="disk went away"):
        store.replace_source(update)
    pd.testing.assert_frame_equal(store.sites(), before)
    assert store.version() == version


def test_the_sample_estate_is_built_only_into_a_file():
    from assetmap.sample import ensure_sample_store

    with pytest.raises(InvalidArgumentError, match=r"built only into a GeoPackage file, and post"):
        ensure_sample_store("postgresql://assetmap_app:pw@db.example/estate")


def test_killing_an_import_mid_transaction_leaves_the_source_as_it_was(
    pg_store, pg_server, tmp_path
):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    owner_url, app_url = pg_store
    import_register(POLICE.encode(), name="big.csv", store=app_url, agency="Kent Police")
    before = open_store(owner_url).sites()
    big = tmp_path / "big.csv"
    big.write_text(
        "Property reference,Site name,Easting,Northing\n"
        + "".join(f"B{i},Site {i},{550000 + i % 500},{150000 + i // 500}\n" for i in range(40000))
    )
    program = (
        "import sys; from assetmap.registers.importer import import_register; "
        "import_register(sys.argv[1], name='big.csv', agency='Kent Police')"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program, str(big)],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "ASSETMAP_STORE": app_url},  # the URL from the environment
    )
    database, writing = app_url.rsplit("/", 1)[1], False
    deadline = time.monotonic() + 120  # a bound, not a timing: the import takes seconds
    while not writing and child.poll() is None and time.monotonic() < deadline:
        with pg_server.admin() as db:
            found = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name = 'assetmap' AND backend_xid IS NOT NULL",
                (database,),
            ).fetchone()
        writing = bool(found and found[0])
    child.kill()
    child.wait()
    assert writing, "the import was not seen writing before it ended"
    pd.testing.assert_frame_equal(open_store(owner_url).sites(), before)
    assert open_store(owner_url).imports()["accepted"].tolist() == [3]
