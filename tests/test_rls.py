"""Row-level security, the second wall: another agency's restricted rows never leave PostgreSQL.

An estate is imported through the engine into a PostGIS store by two agencies: Agency A
with a restricted refuge (its point, its polygon footprint, a restricted space request
and a quarantined row), Agency B with an open site that shares the refuge's UPRN and a
restricted site of its own. Then a raw psycopg connection as the app's role, with Agency
B's key set as the store sets it (``set_config('assetmap.agency', ..., true)``), tries
every query we could think of to read Agency A's restricted rows: ``SELECT *``, counts,
aggregates over their geometry, ``EXISTS``, joins, ``WITH RECURSIVE``, functions (among
them a leaky function of our own in a ``WHERE``), errors that quote a value, the
planner's statistics after ``ANALYZE``, changing role or turning row security off,
``UPDATE``/``DELETE ... RETURNING`` and ``COPY ... TO``. None finds any of A's values,
while the same query with A's key finds them (so each probe can fail). Last, the app
itself with the engine's own filter removed shows Agency B none of them on a PostGIS
store, and shows them on a GeoPackage store (where the engine's filter is the only wall).

What the role can still learn is counts: PostgreSQL keeps a table's row count in its
catalogue for the planner (see ``test_counts_not_values_are_what_the_catalogue_can_tell``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import errors

from assetmap import access
from assetmap.access import Viewer
from assetmap.registers.importer import import_register, remove_register
from assetmap.registers.shared_sites import shared_groups
from assetmap.store import SourceUpdate, open_store, postgis_schema
from tests import pg
from tests.app.conftest import fresh_caches  # noqa: F401 (a fixture)
from tests.maps.factories import make_sites
from tests.pg import PgServer

ALICE = Viewer("alice@agency-a.example", agency="Agency A", signed_in=True)
BOB = Viewer("bob@agency-b.example", agency="Agency B", signed_in=True)
A_KEY, B_KEY = "agency a", "agency b"

SECRET_NAME = "Zephyr Refuge Annexe"
SECRET_REF = "ZR-SECRET-0001"
SECRET_XY = (575123.4, 155432.1)
SHARED_UPRN = "100012345678"
#: A value only Agency A's quarantined row holds (a running cost that cannot be read).
QUARANTINED_VALUE = "QZEPHYRQ"
REQUEST_REF = "ZREQ-SECRET-7"
#: A restricted site written with its sensitivity in capitals and spaces, of Agency A.
SHOUTED_NAME = "Zephyr Shouted Annexe"
#: A restricted site of no agency: nobody's, so nobody is shown it.
NOBODYS_NAME = "Zephyr Nobody's Annexe"

#: Text any of Agency A's restricted rows (or nobody's) would bring with it.
NEEDLES = (
    SECRET_NAME,
    SECRET_REF,
    "575123.4",
    "155432.1",
    "575103.4",  # the footprint's corners
    "155412.1",
    QUARANTINED_VALUE,
    REQUEST_REF,
    SHOUTED_NAME,
    NOBODYS_NAME,
)


def _square(x: float, y: float, r: float = 20.0) -> dict:
    ring = [[x - r, y - r], [x + r, y - r], [x + r, y + r], [x - r, y + r], [x - r, y - r]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(geometry: dict | None, ref: str, name: str, sensitivity: str, **extra) -> dict:
    properties = {
        "Property reference": ref,
        "Site name": name,
        "Security Classification": sensitivity,
        "UPRN": extra.pop("uprn", ""),
        "GIA (sq ft)": 5000,
        "Vacant space (sq ft)": 2500,
        "Annual running cost": extra.pop("cost", "1000"),
    }
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _geojson(*features: dict) -> bytes:
    crs = {"type": "name", "properties": {"name": "EPSG:27700"}}
    return json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}).encode()


AGENCY_A_REGISTER = _geojson(
    _feature(_square(*SECRET_XY), SECRET_REF, SECRET_NAME, "Restricted", uprn=SHARED_UPRN),
    _feature(_square(540000, 150000), "A-OPEN-2", "Agency A Office", "Open"),
    _feature(_square(541000, 151000), "A-BAD-3", "Agency A Depot", "Open", cost=QUARANTINED_VALUE),
)
AGENCY_A_REQUESTS = (
    "Request ref,Space needed (sq ft),Postcode,Security Classification\n"
    f"{REQUEST_REF},4000,ME14 1XX,Restricted\n"
    "ZREQ-OPEN-8,2000,TN9 1SP,Open\n"
)
AGENCY_B_REGISTER = (
    "Property reference,Site name,Easting,Northing,UPRN,Security Classification\n"
    f"B-1,Bob Station,545000,152000,{SHARED_UPRN},Open\n"
    "B-2,Bob Secret Store,546000,153000,,Restricted\n"
)


def _odd_rows() -> SourceUpdate:
    """A source of the local single user (no owner) whose rows a register could not give:
    a restricted site of no agency, and one of Agency A whose sensitivity is shouted."""
    sites = make_sites(3, seed=3)
    sites["site_id"] = ["ODD-1", "ODD-2", "ODD-3"]
    sites["name"] = [NOBODYS_NAME, SHOUTED_NAME, "Plain open site"]
    sites["agency"] = ["", "  agency   A ", "Agency C"]
    sites["sensitivity"] = ["restricted", " RESTRICTED ", "open"]
    sites["source_file"] = "odd.csv"
    log = {
        "source_file": "odd.csv",
        "source_sha256": "2" * 64,
        "kind": "sites",
        "format": "csv",
        "agency": "",
        "sector": "",
        "imported_at": "2025-01-01T00:00:00+00:00",
        "rows_read": 3,
        "accepted": 3,
        "quarantined": 0,
        "report_json": "{}",
    }
    return SourceUpdate("odd.csv", "sites", sites, None, pd.DataFrame(), log, owner="")


def build_estate(location: str | Path) -> None:
    """Import the test estate into the store at ``location``, through the engine."""
    store_a = open_store(location, viewer=ALICE)
    report = import_register(
        AGENCY_A_REGISTER, name="agency_a.geojson", store=store_a, viewer=ALICE, sector="council"
    )
    assert (report.accepted, report.quarantined) == (2, 1)
    import_register(
        AGENCY_A_REQUESTS.encode(), name="a_requests.csv", store=store_a, viewer=ALICE,
        sector="council",
    )  # fmt: skip
    store_b = open_store(location, viewer=BOB)
    import_register(
        AGENCY_B_REGISTER.encode(), name="agency_b.csv", store=store_b, viewer=BOB, sector="police"
    )
    open_store(location).replace_source(_odd_rows())


@pytest.fixture(scope="module")
def estate(pg_server: PgServer) -> Iterator[tuple[PgServer, str, str, str]]:
    """(server, database, owner_url, app_url) of a PostGIS store holding the test estate.

    One database for the module: every probe runs in a transaction that is rolled back.
    """
    with pg_server.built_database(build_estate) as (name, owner_url, app_url):
        yield pg_server, name, owner_url, app_url


def _geometry_column(conn: psycopg.Connection, table: str) -> str:
    row = conn.execute(
        "SELECT f_geometry_column FROM geometry_columns WHERE f_table_name = %s", (table,)
    ).fetchone()
    assert row is not None, f"{table} has no geometry column"
    return str(row[0])


def _as(conn: psycopg.Connection, key: str | None) -> None:
    """Set the viewer's agency key as the store does: for this transaction only."""
    if key is not None:
        conn.execute("SELECT set_config('assetmap.agency', %s, true)", (key,))


def _found(text: object) -> list[str]:
    return [needle for needle in NEEDLES if needle in str(text)]


# --------------------------------------------------------------------------- the probes

#: (label, SQL) run as Agency B and as Agency A; ``{geom}`` is the sites' geometry column.
PROBES = [
    ("select every site", "SELECT * FROM sites"),
    ("select every request", "SELECT * FROM requests"),
    ("select every footprint", "SELECT *, ST_AsText(geom) FROM footprints"),
    ("select every quarantined row", "SELECT * FROM quarantine"),
    ("restricted sites by name", "SELECT * FROM sites WHERE sensitivity ILIKE '%restricted%'"),
    ("a site by its name", f"SELECT * FROM sites WHERE name = '{SECRET_NAME}'"),
    (
        "rows of agency a by key",
        "SELECT s.name, r.source_ref, q.value FROM sites s FULL JOIN requests r USING "
        "(agency_key) FULL JOIN quarantine q ON q.owner_key = s.owner_key "
        "WHERE s.agency_key = 'agency a' OR r.agency_key = 'agency a'",
    ),
    (
        "a count that names the rows",
        "SELECT string_agg(name, '|'), count(*) FROM sites WHERE lower(sensitivity) = "
        "'restricted' GROUP BY agency_key",
    ),
    (
        "aggregates over geometry",
        "SELECT ST_AsText(ST_Extent({geom})), ST_AsText(ST_Union({geom})), "
        "ST_AsText(ST_Centroid(ST_Collect({geom}))) FROM sites",
    ),
    (
        "aggregates over footprints",
        "SELECT ST_AsText(ST_Union(geom)), ST_AsText(ST_Extent(geom)) FROM footprints",
    ),
    (
        "exists",
        f"SELECT EXISTS (SELECT 1 FROM sites WHERE name = '{SECRET_NAME}'), "
        f"CASE WHEN EXISTS (SELECT 1 FROM sites WHERE source_ref = '{SECRET_REF}') "
        f"THEN '{SECRET_NAME}' END",
    ),
    (
        "footprints joined to their sites",
        "SELECT s.*, ST_AsText(f.geom) FROM footprints f LEFT JOIN sites s USING (site_id)",
    ),
    (
        "sites near the secret point",
        "SELECT name, ST_AsText({geom}) FROM sites "
        "WHERE ST_DWithin({geom}, ST_SetSRID(ST_Point(575123, 155432), 27700), 1000)",
    ),
    (
        "with recursive",
        "WITH RECURSIVE walk(fid, name, depth) AS ("
        " SELECT fid, name, 0 FROM sites"
        " UNION ALL SELECT s.fid, s.name, w.depth + 1 FROM walk w JOIN sites s"
        " ON s.fid = w.fid + 1 WHERE w.depth < 10"
        ") SELECT DISTINCT name FROM walk",
    ),
    (
        "a function that runs its own query",
        "SELECT query_to_xml('SELECT * FROM sites', true, false, ''), "
        "query_to_xml('SELECT * FROM quarantine', true, false, '')",
    ),
    (
        "a table function over every table",
        "SELECT to_jsonb(t) FROM (SELECT * FROM sites UNION ALL SELECT * FROM sites) t",
    ),
    ("copy the sites out", "COPY sites TO STDOUT"),
    ("copy a query out", "COPY (SELECT * FROM footprints JOIN sites USING (site_id)) TO STDOUT"),
    ("update every site, returning it", "UPDATE sites SET name = name RETURNING *"),
    (
        "open the secret, returning it",
        "UPDATE sites SET sensitivity = 'open' WHERE agency_key = 'agency a' RETURNING *",
    ),
    ("delete every request, returning it", "DELETE FROM requests RETURNING *"),
    ("delete the quarantine, returning it", "DELETE FROM quarantine RETURNING *"),
    (
        "a writer's setting of its own, as the store sets it",
        "SELECT set_config('assetmap.writer', 'agency b', true), * FROM sites",
    ),
]


def _run_probe(conn: psycopg.Connection, sql: str) -> str:
    """Run one probe and return everything it gave (rows, or what COPY wrote)."""
    sql = sql.replace("{geom}", _geometry_column(conn, "sites"))
    if sql.startswith("COPY"):
        with conn.cursor().copy(sql) as copy:
            return "".join(bytes(chunk).decode() for chunk in copy)
    cursor = conn.execute(sql)
    return repr(cursor.fetchall()) if cursor.description else ""


@pytest.mark.parametrize(("label", "sql"), PROBES, ids=[label for label, _ in PROBES])
def test_agency_b_reads_none_of_agency_as_restricted_rows(estate, label, sql):
    _, _, _, app_url = estate
    seen = {}
    for key in (B_KEY, A_KEY):
        with psycopg.connect(app_url) as conn:
            _as(conn, key)
            seen[key] = _run_probe(conn, sql)
            conn.rollback()
    assert _found(seen[B_KEY]) == [], f"{label}: Agency B read {_found(seen[B_KEY])}"
    reaches = label not in {
        "open the secret, returning it",  # a write: only the owner's writer setting may
        "delete every request, returning it",
        "delete the quarantine, returning it",
        "update every site, returning it",
        "a writer's setting of its own, as the store sets it",
    }
    if reaches:  # the probe does reach the rows, for their own agency
        assert _found(seen[A_KEY]), f"{label}: the probe finds nothing even for Agency A"


def test_counts_and_totals_count_only_the_rows_each_agency_may_see(estate):
    """No count or total includes a withheld row (they would count or measure it)."""
    _, _, _, app_url = estate
    totals = {}
    for key in (B_KEY, A_KEY):
        with psycopg.connect(app_url) as conn:
            _as(conn, key)
            totals[key] = conn.execute(
                "SELECT (SELECT count(*) FROM sites), (SELECT sum(floor_area_sqft) FROM sites "
                "WHERE agency_key = 'agency a'), (SELECT count(*) FROM footprints), "
                "(SELECT count(*) FROM requests), (SELECT count(*) FROM quarantine)"
            ).fetchone()
    # B: A's open office, B's two, Agency C's open site; A: its two, the shouted one, B's
    # open station and C's site. Footprints: A's office (and its refuge, for A).
    shouted_area = float(_odd_rows().rows["floor_area_sqft"].iloc[1])
    assert totals[B_KEY] == (4, 5000.0, 1, 1, 0)
    assert totals[A_KEY] == (5, 10000.0 + shouted_area, 2, 2, 1)


def test_writes_by_agency_b_change_none_of_agency_as_rows(estate):
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        conn.execute("SELECT set_config('assetmap.writer', %s, true)", (B_KEY,))
        assert (
            conn.execute("UPDATE sites SET name = 'x' WHERE agency_key = 'agency a'").rowcount == 0
        )
        assert conn.execute("DELETE FROM quarantine WHERE owner_key = 'agency a'").rowcount == 0
        assert conn.execute("DELETE FROM imports WHERE owner_key = 'agency a'").rowcount == 0
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO sites (source_file, source_owner, agency_key, owner_key, name) "
                "VALUES ('agency_a.geojson', 'Agency A', 'agency a', 'agency a', 'forged')"
            )
        conn.rollback()
    with psycopg.connect(app_url) as conn:
        _as(conn, A_KEY)
        names = {r[0] for r in conn.execute("SELECT name FROM sites WHERE agency_key = 'agency a'")}
        assert {SECRET_NAME, "Agency A Office", SHOUTED_NAME} <= names


def test_with_no_agency_set_no_restricted_row_is_read(estate):
    """A session that never set the agency (or set it empty) is nobody's: no restricted
    row at all, not even one whose agency is empty too."""
    _, _, _, app_url = estate
    for key in (None, ""):
        with psycopg.connect(app_url) as conn:
            _as(conn, key)
            rows = conn.execute("SELECT name, sensitivity FROM sites").fetchall()
            assert rows and _found(rows) == [], key
            assert "Bob Secret Store" not in repr(rows)
            assert conn.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
            assert conn.execute(
                "SELECT count(*) FROM requests WHERE lower(sensitivity) = 'restricted'"
            ).fetchone() == (0,)
    with psycopg.connect(app_url) as conn:  # a setting made in one transaction ends with it
        _as(conn, A_KEY)
        conn.commit()
        assert _found(conn.execute("SELECT * FROM sites").fetchall()) == []


@pytest.mark.parametrize(
    "statement",
    [
        "SET ROLE assetmap_owner",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION assetmap_owner",
        "ALTER TABLE sites DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE sites NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY sites_read ON sites",
        "CREATE POLICY everything ON sites FOR SELECT USING (true)",
        "TRUNCATE sites",
        "TRUNCATE audit_log",
        "SELECT * FROM pg_statistic",
        "CREATE TABLE public.copied AS SELECT * FROM sites",
        "COPY sites TO '/tmp/assetmap-rls-leak.txt'",
    ],
)
def test_the_app_role_cannot_leave_row_security(estate, statement):
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)


def test_row_security_off_refuses_rather_than_bypasses(estate):
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        conn.execute("RESET ROLE")
        assert _found(conn.execute("SELECT * FROM sites").fetchall()) == []
        conn.execute("SET row_security = off")
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("SELECT * FROM sites")


def test_the_app_role_owns_nothing_and_bypasses_nothing(estate):
    server, database, _, _ = estate
    with server.admin(database) as db:
        role = db.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = 'assetmap_app'"
        ).fetchone()
        assert role == (False, False, False, False)
        tables = db.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, "
            "c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname IN "
            "('sites', 'footprints', 'requests', 'quarantine', 'imports', 'boundary_sets', "
            "'places', 'audit_log')"
        ).fetchall()
        assert len(tables) == 8
        assert {(owner, rls, force) for _, owner, rls, force in tables} == {
            ("assetmap_owner", True, True)
        }
        member = db.execute(
            "SELECT pg_has_role('assetmap_app', 'assetmap_owner', 'MEMBER')"
        ).fetchone()
        assert member == (False,)


def _note(notices: list[str], diagnostic) -> None:
    notices.append(str(diagnostic.message_primary))


def test_a_leaky_function_sees_only_the_rows_security_lets_through(estate):
    """The classic attack: a cheap function of the attacker's in the WHERE clause that
    reports every value it is given. Row security's condition is checked first."""
    _, _, _, app_url = estate
    for key in (B_KEY, A_KEY):
        notices: list[str] = []
        with psycopg.connect(app_url) as conn:
            conn.add_notice_handler(partial(_note, notices))
            _as(conn, key)
            conn.execute(
                "CREATE FUNCTION pg_temp.leak(text, text) RETURNS boolean LANGUAGE plpgsql "
                "COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'seen % %', $1, $2; RETURN true; "
                "END $$"
            )
            conn.execute("SELECT 1 FROM sites WHERE pg_temp.leak(name, source_ref)").fetchall()
            conn.execute(
                "SELECT 1 FROM quarantine WHERE pg_temp.leak(value, source_file)"
            ).fetchall()
            conn.execute(
                "SELECT 1 FROM requests WHERE pg_temp.leak(source_ref, sensitivity)"
            ).fetchall()
            conn.rollback()
        if key == B_KEY:
            assert notices and _found(notices) == [], _found(notices)
        else:
            assert SECRET_NAME in repr(notices)  # the function does see what it is given


def test_errors_quote_no_hidden_value(estate):
    """A conversion that fails quotes the value; a division by zero only on the secret
    row would tell it is there. Neither happens on rows row security withholds."""
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        with pytest.raises(errors.InvalidTextRepresentation) as failure:
            conn.execute("SELECT name::integer FROM sites ORDER BY name DESC")
        assert _found(str(failure.value)) == []
        conn.rollback()
        _as(conn, B_KEY)
        conn.execute(
            "SELECT 1 / (CASE WHEN name = %s THEN 0 ELSE 1 END) FROM sites", (SECRET_NAME,)
        ).fetchall()  # no division by zero: the secret row is never reached
        conn.rollback()
    with psycopg.connect(app_url) as conn:
        _as(conn, A_KEY)
        with pytest.raises(errors.DivisionByZero):
            conn.execute(
                "SELECT 1 / (CASE WHEN name = %s THEN 0 ELSE 1 END) FROM sites", (SECRET_NAME,)
            )


def test_the_planners_statistics_give_no_values_after_analyze(estate):
    """``ANALYZE`` keeps each column's commonest values and a histogram; ``pg_stats``
    shows them only for tables row security does not hold the reader to."""
    server, database, _, app_url = estate
    with server.admin(database) as db:
        db.execute("ANALYZE")  # (keeping the values, unless the schema keeps no statistics)
        kept = db.execute(  # every column and expression index, as the superuser sees them
            "SELECT tablename, attname FROM pg_stats WHERE schemaname = 'public' AND ("
            "most_common_vals IS NOT NULL OR histogram_bounds IS NOT NULL) AND tablename IN "
            "('sites', 'footprints', 'requests', 'quarantine', 'imports', 'sites_postcode')"
        ).fetchall()
    assert kept == []  # (postcode_key, 0002's column, too: its values are the postcodes)
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        stats = conn.execute(
            "SELECT * FROM pg_stats WHERE schemaname = 'public' AND tablename IN "
            "('sites', 'footprints', 'requests', 'quarantine', 'imports')"
        ).fetchall()
        assert _found(stats) == []
        extended = conn.execute("SELECT * FROM pg_stats_ext").fetchall()
        assert _found(extended) == []
        plan = conn.execute(
            "EXPLAIN (FORMAT JSON) SELECT * FROM sites WHERE name = %s", (SECRET_NAME,)
        ).fetchall()
        assert SECRET_NAME in repr(plan)  # the query's own text, and nothing more
        assert _found(repr(plan).replace(SECRET_NAME, "")) == []


@pytest.mark.parametrize(
    "call",
    [
        "ST_EstimatedExtent('sites', 'geom')",
        "ST_EstimatedExtent('public', 'footprints', 'geom')",
        "_postgis_index_extent('sites', 'geom')",
        "_postgis_stats('sites', 'geom')",
        "_postgis_selectivity('sites', 'geom', ST_MakeEnvelope(575000, 155000, 576000, 156000))",
    ],
)
def test_postgis_estimates_of_every_row_are_not_the_app_roles(estate, call):
    """PostGIS reads a table's statistics and spatial index without row security: its
    estimated extent ends at the secret refuge. The set-up revokes these functions from
    every role but their owner (``postgis_schema.POSTGIS_ESTIMATES_REVOKE``, run by
    ``tests/pg.py``), and ``init_store`` refuses an app role that may still run them."""
    server, database, _, app_url = estate
    with server.admin(database) as db:
        db.execute("ANALYZE")
        (estimated,) = db.execute("SELECT ST_YMax(ST_EstimatedExtent('sites', 'geom'))").fetchone()
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        (seen,) = conn.execute("SELECT ST_YMax(ST_Extent(geom)) FROM sites").fetchone()
        # the estimate reaches the secret refuge, north of every site B sees: what is revoked
        # (none at all where the schema keeps no statistics of the geometries, as it does)
        assert seen + 1_000 < SECRET_XY[1] and (estimated is None or SECRET_XY[1] <= estimated + 1)
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied for function"):
            conn.execute(f"SELECT {call}")


def test_the_planners_estimates_do_not_spell_a_withheld_name(pg_store, pg_server):
    _, app_url = pg_store
    build_estate(app_url)
    many = make_sites(2_000, seed=5)
    many["source_file"] = "many.csv"
    from tests.app.conftest import write_store

    write_store(app_url, many)
    database = app_url.rsplit("/", 1)[1]
    with pg_server.admin(database) as db:
        db.execute("ANALYZE sites")  # the largest name, if kept, is a bound of the histogram
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)

        def estimate(name: str) -> int:
            (plan,) = conn.execute(
                "EXPLAIN (FORMAT JSON) SELECT * FROM sites WHERE name < %s", (name,)
            ).fetchone()
            return int(plan[0]["Plan"]["Plan Rows"])

        # just below and just above the withheld name: equal, unless the estimate knows it
        assert estimate(SHOUTED_NAME) == estimate(SHOUTED_NAME[:-1] + "f")


def test_counts_not_values_are_what_the_catalogue_can_tell(estate):
    """What the app's role can learn of withheld rows by raw SQL: how many rows a table
    has (the planner's ``reltuples``, the statistics collector's ``n_live_tup``), and so
    the gaps in the ``fid`` of the rows it sees. These are the same for every agency; no
    value of a row is in them."""
    server, database, _, app_url = estate
    with server.admin(database) as db:
        db.execute("ANALYZE sites")
        (total,) = db.execute("SELECT count(*) FROM sites").fetchone()
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        (seen,) = conn.execute("SELECT count(*) FROM sites").fetchone()
        (reltuples,) = conn.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'sites'"
        ).fetchone()
        (live,) = conn.execute(
            "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'sites'"
        ).fetchone()
        fids = [fid for (fid,) in conn.execute("SELECT fid FROM sites ORDER BY fid")]
    assert seen < total
    assert reltuples == live == total  # counts of every row: no value of any
    assert fids != list(range(1, seen + 1))  # the rows withheld before each, by their gaps


def test_agency_b_reads_no_count_of_agency_as_sources(estate):
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as(conn, B_KEY)
        rows = conn.execute(
            "SELECT accepted, rows_read, report_json, agency FROM imports WHERE owner_key = %s",
            (A_KEY,),
        ).fetchall()
    assert rows == []


def _groups_as_agency_a(app_url: str) -> dict[str, str]:
    with psycopg.connect(app_url) as conn:
        _as(conn, A_KEY)
        return dict(conn.execute("SELECT name, shared_group FROM sites").fetchall())


#: A group as the store makes them ("G" and 16 hexadecimal digits).
A_GROUP = "G0123456789abcdef"
#: Sites near B's rows, as the function judges them: an open site sharing a non-empty UPRN
#: or compact postcode with a row of Agency B's.
_NEAR_B = (
    "SELECT count(*) FROM sites s WHERE lower(btrim(coalesce(s.sensitivity, ''))) <> "
    "'restricted' AND EXISTS (SELECT 1 FROM sites m WHERE m.owner_key = 'agency b' AND "
    "((m.uprn <> '' AND m.uprn = s.uprn) OR (replace(m.postcode, ' ', '') <> '' AND "
    "replace(m.postcode, ' ', '') = replace(s.postcode, ' ', ''))))"
)


def _as_writer(conn: psycopg.Connection, key: str) -> None:
    """Set the viewer's agency and the writer as the store's write transactions do."""
    _as(conn, key)
    conn.execute("SELECT set_config('assetmap.writer', %s, true)", (key,))


def _fid_as_a(conn: psycopg.Connection, name: str) -> int:
    """Return the row number of the site ``name``, read as Agency A (then rolled back)."""
    _as(conn, A_KEY)
    row = conn.execute("SELECT fid FROM sites WHERE name = %s", (name,)).fetchone()
    conn.rollback()
    assert row is not None, name
    return int(row[0])


def _set_groups(conn: psycopg.Connection, fids: list[int], groups: list[str | None]) -> int:
    row = conn.execute("SELECT set_shared_groups(%s, %s)", (fids, groups)).fetchone()
    assert row is not None
    return int(row[0])


def test_the_shared_group_function_reaches_no_restricted_row(estate):
    """The one SECURITY DEFINER function (shared groups span agencies): called by Agency B
    over every row number, it touches only the open sites near B's own rows (B's open
    station; not A's restricted refuge, which shares its UPRN), so its count tells nothing
    B cannot see, and no restricted site is changed."""
    _, _, _, app_url = estate
    before = _groups_as_agency_a(app_url)
    with psycopg.connect(app_url) as conn:
        _as_writer(conn, B_KEY)
        fids = list(range(1, 1_000))
        changed = _set_groups(conn, fids, [A_GROUP] * len(fids))
        (near,) = conn.execute(_NEAR_B).fetchone()
        assert changed == near == 1
        after = dict(conn.execute("SELECT name, shared_group FROM sites").fetchall())
        assert after["Bob Station"] == A_GROUP
        assert _found(after) == []
        conn.rollback()
    assert _groups_as_agency_a(app_url) == before


def test_agency_b_cannot_change_agency_as_open_sites_through_the_function(estate):
    """A's open office shares no UPRN or postcode with any row of B's: B cannot set its
    group, whatever it sends (the store never would: no change of B's can alter it)."""
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        fid = _fid_as_a(conn, "Agency A Office")
        _as_writer(conn, B_KEY)
        changed = [_set_groups(conn, [fid], [group]) for group in (A_GROUP, "")]
        (group,) = conn.execute("SELECT shared_group FROM sites WHERE fid = %s", (fid,)).fetchone()
        conn.rollback()
    assert changed == [0, 0]
    assert group == ""


def test_a_group_that_is_not_one_the_store_makes_is_refused_with_its_reason(estate):
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as_writer(conn, B_KEY)
        (fid,) = conn.execute("SELECT fid FROM sites WHERE name = 'Bob Station'").fetchone()
        for group, given in (
            ("G-x", "'G-x'"),
            ("G0123456789ABCDEF", "'G0123456789ABCDEF'"),
            (A_GROUP + "0", f"'{A_GROUP}0'"),
            (None, "none"),
            ("<b>x</b>", "'<b>x</b>'"),
        ):
            with pytest.raises(
                errors.InvalidParameterValue,
                match=r"^the shared-site groups were not set: a shared-site group is either "
                r"empty or G followed by 16 hexadecimal digits \(such as G0123456789abcdef\); "
                + re.escape(given)
                + r" given\n",
            ):
                _set_groups(conn, [fid], [group])
            conn.rollback()
            _as_writer(conn, B_KEY)
        with pytest.raises(
            errors.InvalidParameterValue,
            match=r"^the shared-site groups were not set: the list of sites holds 2 and the "
            r"list of groups 1, which must be as long; a shared-site group is either empty or "
            r"G followed by 16 hexadecimal digits \(such as G0123456789abcdef\); 'G-x' given\n",
        ):
            _set_groups(conn, [fid, fid], ["G-x"])
        conn.rollback()
        _as_writer(conn, B_KEY)
        assert _set_groups(conn, [fid], [A_GROUP]) == 1  # a good group, near B: set
        assert _set_groups(conn, [fid], [""]) == 1
        conn.rollback()


#: Agency A's hall shares its UPRN with Agency B's; A's annexe shares nothing with B.
HALL_UPRN = "200000000001"
ANNEXE_POSTCODE = "TN9 1SP"
A_HALLS = (
    "Property reference,Site name,Postcode,UPRN,Security Classification\n"
    f"A-H,Agency A Hall,ME14 1XX,{HALL_UPRN},Open\n"
    f"A-X,Agency A Annexe,{ANNEXE_POSTCODE},,Open\n"
)
B_HALLS = (
    "Property reference,Site name,Postcode,UPRN,Security Classification\n"
    f"B-H,Bob Hall,TN1 1AA,{HALL_UPRN},Open\n"
)


def _build_halls(app_url: str) -> None:
    """Import A's halls and B's hall through the store, each agency signed in."""
    for viewer, text, name in ((ALICE, A_HALLS, "a_halls.csv"), (BOB, B_HALLS, "b_halls.csv")):
        import_register(text.encode(), name=name, store=app_url, viewer=viewer, sector="council")


def _groups_of_the_whole_estate(owner_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return (each site's group as stored, as shared_groups gives it over every site)."""
    sites = open_store(owner_url).sites()
    computed = shared_groups(sites)
    stored = dict(zip(sites["name"], sites["shared_group"], strict=True))
    return stored, dict(zip(sites["name"], computed, strict=True))


def test_the_store_settles_a_site_shared_by_two_agencies_on_import_and_removal(pg_store):
    """B's import flags A's hall with B's (a row of A's changed by B's write), and B's
    removal unflags it: the removed rows' keys come from the database's own trigger."""
    owner_url, app_url = pg_store
    _build_halls(app_url)
    stored, whole = _groups_of_the_whole_estate(owner_url)
    assert stored == whole
    assert stored["Agency A Hall"] == stored["Bob Hall"] != ""
    assert stored["Agency A Annexe"] == ""
    assert remove_register("b_halls.csv", store=app_url, viewer=BOB) == 1
    stored, whole = _groups_of_the_whole_estate(owner_url)
    assert stored == whole == {"Agency A Hall": "", "Agency A Annexe": ""}


def test_agency_b_cannot_forge_nearness(pg_store):
    """Temporary tables of B's own (the store's ``_touched``, or ones named as the
    function's tables) make nothing near; B's own rows, now or deleted, do."""
    owner_url, app_url = pg_store
    _build_halls(app_url)
    with psycopg.connect(app_url) as conn:
        annexe = _fid_as_a(conn, "Agency A Annexe")
        _as_writer(conn, B_KEY)
        for table in ("_touched", "pg_temp.shared_group_removals", "pg_temp.sites"):
            conn.execute(f"CREATE TEMP TABLE {table.split('.')[-1]} (LIKE public.sites)")
            conn.execute(
                f"ALTER TABLE {table} ADD COLUMN xact xid8 DEFAULT pg_current_xact_id(), "
                "ADD COLUMN pc text DEFAULT 'TN91SP'"
            )
            conn.execute(
                f"INSERT INTO {table} (fid, uprn, postcode, owner_key, source_file, "
                f"source_owner, agency_key, name) VALUES (%s, '', %s, %s, 'f', 'Agency B', "
                f"%s, 'forged')",
                (annexe, ANNEXE_POSTCODE, B_KEY, B_KEY),
            )
        assert _set_groups(conn, [annexe], [A_GROUP]) == 0
        for statement in (
            "SELECT * FROM public.shared_group_removals",
            "INSERT INTO public.shared_group_removals (xact, pc) "
            "VALUES (pg_current_xact_id(), 'TN91SP')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
        # the controls: a row of B's own at the annexe's postcode, in the table or just
        # deleted from it by B's transaction, makes the annexe near
        for delete in (False, True):
            _as_writer(conn, B_KEY)
            conn.execute(
                "INSERT INTO public.sites (source_file, source_owner, agency_key, owner_key, "
                "postcode, name) VALUES ('b.csv', 'Agency B', %s, %s, %s, 'Bob Annexe')",
                (B_KEY, B_KEY, ANNEXE_POSTCODE),
            )
            if delete:
                assert conn.execute("DELETE FROM sites WHERE name = 'Bob Annexe'").rowcount == 1
            assert _set_groups(conn, [annexe], [A_GROUP]) == 1
            conn.rollback()
    stored, _ = _groups_of_the_whole_estate(owner_url)
    assert stored["Agency A Annexe"] == ""


def test_a_store_at_schema_1_upgraded_gets_the_new_function(pg_empty):
    """Schema 1's function let B set A's annexe; ``store upgrade`` replaces it (and keeps
    the app role's right to run it: the store's own settlement still works)."""
    owner_url, app_url = pg_empty
    halls = [  # as _build_halls imports them, written as the first release's store wrote them
        {"name": "Agency A Hall", "postcode": "ME14 1XX", "uprn": HALL_UPRN},
        {"name": "Agency A Annexe", "postcode": ANNEXE_POSTCODE},
        {"name": "Bob Hall", "postcode": "TN1 1AA", "uprn": HALL_UPRN},
    ]
    for hall, (agency, source) in zip(
        halls, [("Agency A", "a_halls.csv")] * 2 + [("Agency B", "b_halls.csv")], strict=True
    ):
        hall.update(agency=agency, source_file=source, sector="council")
    frame = pd.DataFrame(halls).fillna("").assign(sensitivity="open")
    for hall, group in zip(halls, shared_groups(frame), strict=True):
        hall["shared_group"] = group
    pg.first_release_store(owner_url, halls)

    def annexe_set_by_b() -> int:
        with psycopg.connect(app_url) as conn:
            annexe = _fid_as_a(conn, "Agency A Annexe")
            _as_writer(conn, B_KEY)
            try:
                return _set_groups(conn, [annexe], [A_GROUP])
            finally:
                conn.rollback()

    assert annexe_set_by_b() == 1  # the gap, at schema 1
    applied = postgis_schema.upgrade_store(owner_url)
    assert applied == postgis_schema.SCHEMA_VERSION - 1
    assert annexe_set_by_b() == 0
    assert remove_register("b_halls.csv", store=app_url, viewer=BOB) == 1
    stored, whole = _groups_of_the_whole_estate(owner_url)
    assert stored == whole == {"Agency A Hall": "", "Agency A Annexe": ""}


def test_shared_groups_flag_nothing_a_restricted_site_shares(estate):
    _, _, _, app_url = estate
    for viewer in (BOB, ALICE):
        sites = open_store(app_url, viewer=viewer).sites().set_index("name")
        assert sites.loc["Bob Station", "shared_group"] == ""  # its UPRN twin is restricted


def test_the_store_gives_each_agency_its_own_view(estate):
    _, _, _, app_url = estate
    as_b = open_store(app_url, viewer=BOB)
    frames = {
        "sites": as_b.sites(),
        "requests": as_b.requests(),
        "footprints": as_b.footprints(),
        "quarantine": as_b.quarantine(),
    }
    for layer, frame in frames.items():
        assert _found(frame.to_csv()) == [], layer
    assert "Bob Secret Store" in set(frames["sites"]["name"])  # B's own restricted site
    as_a = open_store(app_url, viewer=ALICE)
    assert {SECRET_NAME, SHOUTED_NAME} <= set(as_a.sites()["name"])
    assert QUARANTINED_VALUE in set(as_a.quarantine()["value"])
    assert REQUEST_REF in set(as_a.requests()["source_ref"])
    nobody = open_store(app_url)
    assert _found(nobody.sites().to_csv()) == []


# --------------------------------------------------------------------------- the app


def _remove_the_engines_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every visibility rule of :mod:`assetmap.access` let everything through, in every
    module that took a name of it."""
    import sys

    def everything(frame, viewer=None):
        import numpy as np

        return np.ones(len(frame), dtype=bool)

    def all_quarantine(quarantine, viewer=None):
        return quarantine

    def all_imports(imports, viewer=None):
        return imports

    def all_rows(rows, viewer=None, *, renumber=True):
        return rows.reset_index(drop=True) if renumber else rows

    fakes = {
        "visible_mask": everything,
        "visible_quarantine": all_quarantine,
        "visible_imports": all_imports,
        "visible_sites": all_rows,
        "visible_requests": all_rows,
    }
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "assetmap" or name.startswith("assetmap.")):
            continue
        for attribute, fake in fakes.items():
            if getattr(module, attribute, None) is getattr(access, attribute):
                monkeypatch.setattr(module, attribute, fake)


def _app_text(at) -> str:
    """Everything a page shows: text, tables, and the arguments of its map component."""
    parts = [
        str(e.value) for kind in ("markdown", "caption", "text", "metric") for e in at.get(kind)
    ]
    parts += [e.value.to_csv() for e in at.dataframe]
    parts += [e.proto.json_args for e in at.get("component_instance")]
    parts += [str(e.proto) for e in at.get("download_button")]
    parts += [str(getattr(e, "options", "")) for e in at.selectbox] + [
        str(getattr(e, "options", "")) for e in at.multiselect
    ]
    return "\n".join(parts)


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize("kind", ["postgis", "geopackage"])
def test_the_app_shows_agency_b_none_of_them_with_the_engines_filter_removed(
    kind, request, tmp_path, monkeypatch
):
    """On PostGIS the database withholds the rows; on a GeoPackage (the same estate, the
    same removed filter) they show, so the search below can find them."""
    from streamlit.testing.v1 import AppTest

    from assetmap.app.navigation import TITLES, page_path
    from tests.app.conftest import run_app

    root = Path(__file__).resolve().parents[1]
    location = (
        request.getfixturevalue("pg_store")[1] if kind == "postgis" else str(tmp_path / "e.gpkg")
    )
    build_estate(location)
    monkeypatch.setenv("ASSETMAP_STORE", location)
    monkeypatch.setenv("ASSETMAP_AGENCY", "Agency B")
    _remove_the_engines_filter(monkeypatch)
    at = run_app(AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=300))
    shown = {}
    for page in TITLES:
        at.switch_page(str(page_path(page).relative_to(root)))
        run_app(at)
        shown[page] = _app_text(at)
    leaks = {page: _found(text) for page, text in shown.items() if _found(text)}
    if kind == "postgis":
        assert leaks == {}, f"Agency B is shown Agency A's restricted rows: {leaks}"
        assert "Bob Secret Store" in shown["map"] + shown["export"]  # B's own, as ever
    else:
        assert re.search(SECRET_NAME, "\n".join(shown.values())), (
            "the engine's filter is removed, yet the GeoPackage estate shows no secret: "
            "the search would find nothing"
        )
