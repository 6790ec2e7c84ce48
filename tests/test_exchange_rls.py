"""Row-level security of the space exchange (migration 0004): the second wall, by raw SQL.

An estate of three agencies is imported through the engine into a PostGIS store, and
exchange rows are written through the store as each agency:

- Agency B holds a restricted store with an offer NOT marked open (hidden from everyone
  else), a restricted depot with an offer marked open (its row shown, its site not), and
  an open station with an offer (seen by everyone, through its site); B amends its
  restricted store's floor area; Agency C is interested in B's depot's offer; B and C
  have a match on it.
- Agency A holds an open house with spare space and a match with B (A holding, B
  asking), which the completion tests move.

Then a raw psycopg connection as the app's role, with Agency A's key set as the store
sets it, tries to read and write B's and C's rows; the same query with the owning
agency's key finds them (so each probe can fail).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from unittest import mock

import pandas as pd
import psycopg
import pytest
from psycopg import errors

from assetmap.access import Viewer
from assetmap.errors import ConflictError, InvalidArgumentError, PermissionDeniedError, StoreError
from assetmap.registers.importer import import_register
from assetmap.registers.shared_sites import shared_groups
from assetmap.store import open_store, postgis_schema
from assetmap.store.interface import (
    AMENDMENT_COLUMNS,
    EDIT_COLUMNS,
    INTEREST_COLUMNS,
    MATCH_COLUMNS,
    OFFER_COLUMNS,
    OFFER_SITE_COLUMNS,
    ExchangeChange,
    conform,
)
from assetmap.store.postgis import PostGISStore
from assetmap.store.postgis_schema import SCHEMA_VERSION
from tests.pg import APP_ROLE, PgServer

ALICE = Viewer("alice@agency-a.example", agency="Agency A", signed_in=True)
BOB = Viewer("bob@agency-b.example", agency="Agency B", signed_in=True)
CAROL = Viewer("carol@agency-c.example", agency="Agency C", signed_in=True)
A_KEY, B_KEY, C_KEY = "agency a", "agency b", "agency c"
AT = "2026-04-01T10:02:11+00:00"

A_REGISTER = (
    "Property reference,Site name,Easting,Northing,UPRN,Vacant space (sq ft),"
    "Security Classification\n"
    "A-1,Alpha House,545000,152000,100000000001,20000,Open\n"
)
B_REGISTER = (
    "Property reference,Site name,Easting,Northing,UPRN,Vacant space (sq ft),"
    "Security Classification\n"
    "B-1,Bob Station,547000,154000,100000000001,3000,Open\n"
    "B-2,Bob Secret Store,548000,155000,,9000,Restricted\n"
    "B-3,Bob Quiet Depot,549000,156000,,7000,Restricted\n"
)
B_REQUESTS = (
    "Request ref,Space needed (sq ft),Postcode,Security Classification\nBREQ-1,5000,ME14 1XX,Open\n"
)
C_REQUESTS = (
    "Request ref,Space needed (sq ft),Postcode,Security Classification\nCREQ-1,3000,TN9 1SP,Open\n"
)

#: Ids of the exchange rows the estate holds.
HIDDEN_OFFER = "O00000000000000b2"  # B's restricted store, not open
OPEN_OFFER = "O00000000000000b3"  # B's restricted depot, marked open
STATION_OFFER = "O00000000000000b1"  # B's open station
A_OFFER = "O00000000000000a1"  # A's open house
BC_MATCH = "M000000000000bc01"
AB_MATCH = "M000000000000ab01"
B_AMENDMENT = "A00000000000000b2"
C_INTEREST = "I00000000000000c3"
#: Text only B's hidden rows (and C's interest) hold.
SECRET_TERMS = "Zephyr terms of the secret store"
SECRET_NOTE = "Zephyr interest note"
SECRET_REASON = "Zephyr correction"


def _rows(columns: dict[str, str], *rows: dict) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)), columns)


def _offer(offer_id: str, agency: str, *, open_: str = "", terms: str = "", **extra) -> dict:
    return {
        "offer_id": offer_id,
        "kind": "space",
        "owner": agency,
        "agency": agency,
        "sector": "police" if agency == "Agency B" else "council",
        "sqft": 1000.0,
        "use": "office",
        "terms": terms,
        "contact": "estates@example.gov.uk",
        "open": open_,
        "area": "Maidstone",
        "state": "open",
        "declared_on": "2026-04-01",
        "created_at": AT,
        "created_by": "someone",
        "updated_at": AT,
        "updated_by": "someone",
        "version": 1,
        **extra,
    }


def _offer_site(offer_id: str, site: pd.Series) -> dict:
    return {
        "offer_id": offer_id,
        "site_id": site["site_id"],
        "source_file": site["source_file"],
        "source_owner": site["source_owner"],
        "version": 1,
    }


def _match(match_id: str, offer_id: str, site: pd.Series, request: pd.Series, **extra) -> dict:
    return {
        "match_id": match_id,
        "offer_id": offer_id,
        "site_id": site["site_id"],
        "site_file": site["source_file"],
        "site_owner": site["source_owner"],
        "request_id": request["request_id"],
        "request_file": request["source_file"],
        "request_owner": request["source_owner"],
        "holder": site["agency"],
        "requester": request["agency"],
        "sqft": 4000.0,
        "state": "proposed",
        "proposed_by": "person",
        "note": "",
        "created_at": AT,
        "created_by": "someone",
        "updated_at": AT,
        "updated_by": "someone",
        "version": 1,
        **extra,
    }


def _write(url: str, viewer: Viewer, writer: str, **tables: list[dict]) -> None:
    columns = {
        "offers": OFFER_COLUMNS,
        "offer_sites": OFFER_SITE_COLUMNS,
        "matches": MATCH_COLUMNS,
        "amendments": AMENDMENT_COLUMNS,
        "interest": INTEREST_COLUMNS,
    }
    rows = {table: _rows(columns[table], *found) for table, found in tables.items()}
    PostGISStore(url, viewer=viewer).exchange_write(ExchangeChange(writer, rows=rows))


def _by_name(url: str, viewer: Viewer) -> dict[str, pd.Series]:
    store = PostGISStore(url, viewer=viewer)
    sites = {row["name"]: row for _, row in store.sites().iterrows()}
    requests = {row["source_ref"]: row for _, row in store.requests().iterrows()}
    return {**sites, **requests}


def build_exchange(app_url: str) -> dict[str, pd.Series]:
    """Import the three agencies' registers and write the exchange rows; return the rows."""
    for viewer, text, name, sector in (
        (ALICE, A_REGISTER, "a.csv", "council"),
        (BOB, B_REGISTER, "b.csv", "police"),
        (BOB, B_REQUESTS, "b_requests.csv", "police"),
        (CAROL, C_REQUESTS, "c_requests.csv", "health"),
    ):
        import_register(
            text.encode(), name=name, store=app_url, viewer=viewer, sector=sector,
            kind="requests" if "requests" in name else "sites",
        )  # fmt: skip
    rows = {**_by_name(app_url, BOB), **_by_name(app_url, ALICE)}
    store, depot, station = (
        rows["Bob Secret Store"],
        rows["Bob Quiet Depot"],
        rows["Bob Station"],
    )
    _write(
        app_url,
        BOB,
        "Agency B",
        offers=[
            _offer(HIDDEN_OFFER, "Agency B", terms=SECRET_TERMS),
            _offer(OPEN_OFFER, "Agency B", open_="yes", kind="disposal", state="first refusal"),
            _offer(STATION_OFFER, "Agency B"),
        ],
        offer_sites=[
            _offer_site(HIDDEN_OFFER, store),
            _offer_site(OPEN_OFFER, depot),
            _offer_site(STATION_OFFER, station),
        ],
        amendments=[
            {
                "amendment_id": B_AMENDMENT,
                "layer": "sites",
                "row_id": store["site_id"],
                "source_file": store["source_file"],
                "source_owner": store["source_owner"],
                "field": "floor_area_sqft",
                "old": "",
                "new": "12345",
                "agency": "Agency B",
                "by": "bob",
                "at": AT,
                "reason": SECRET_REASON,
                "state": "standing",
                "version": 1,
            }
        ],
    )
    bc = _match(BC_MATCH, OPEN_OFFER, depot, rows["CREQ-1"], note=SECRET_NOTE)
    bc.update(site_id="", site_file="", site_owner="")  # C cannot see the depot
    _write(app_url, CAROL, "Agency C", matches=[bc])
    interest = {
        "interest_id": C_INTEREST,
        "offer_id": OPEN_OFFER,
        "agency": "Agency C",
        "by": "carol",
        "at": AT,
        "note": SECRET_NOTE,
        "version": 1,
    }
    _write(app_url, CAROL, "Agency C", interest=[interest])
    house = rows["Alpha House"]
    _write(
        app_url,
        ALICE,
        "Agency A",
        offers=[_offer(A_OFFER, "Agency A", sqft=20000.0)],
        offer_sites=[_offer_site(A_OFFER, house)],
        matches=[_match(AB_MATCH, A_OFFER, house, rows["BREQ-1"])],
    )
    return rows


@pytest.fixture(scope="module")
def estate(pg_server: PgServer) -> Iterator[tuple[PgServer, str, str, str]]:
    """(server, database, owner_url, app_url) of a store holding the exchange estate.

    One database for the module: the probes roll back; tests that write take ``fresh``.
    """
    with pg_server.built_database(build_exchange) as (name, owner_url, app_url):
        yield pg_server, name, owner_url, app_url


@pytest.fixture
def fresh(pg_store: tuple[str, str]) -> tuple[str, str, dict[str, pd.Series]]:
    """(owner_url, app_url, rows) of a store of its own holding the exchange estate."""
    owner_url, app_url = pg_store
    return owner_url, app_url, build_exchange(app_url)


def _as(conn: psycopg.Connection, key: str, *, writer: bool = False) -> None:
    """Set the viewer's agency (and the writer) as the store does: for this transaction."""
    conn.execute("SELECT set_config('assetmap.agency', %s, true)", (key,))
    if writer:
        conn.execute("SELECT set_config('assetmap.writer', %s, true)", (key,))


def _read(app_url: str, key: str, sql: str) -> str:
    with psycopg.connect(app_url) as conn:
        _as(conn, key)
        rows = conn.execute(sql).fetchall()
        conn.rollback()
    return repr(rows)


# --------------------------------------------------------------------------- reading

#: (label, SQL, the needle it must not show A, the agency whose key shows it)
PROBES = [
    ("the hidden offer", "SELECT * FROM offers", HIDDEN_OFFER, B_KEY),
    ("the hidden offer's terms", "SELECT terms FROM offers", SECRET_TERMS, B_KEY),
    ("the hidden offer's site", "SELECT * FROM offer_sites", HIDDEN_OFFER, B_KEY),
    ("the open offer's site", "SELECT * FROM offer_sites", OPEN_OFFER, B_KEY),
    ("B and C's match", "SELECT * FROM matches", BC_MATCH, C_KEY),
    ("B and C's match, for B", "SELECT note FROM matches", SECRET_NOTE, B_KEY),
    ("B's amendment", "SELECT * FROM amendments", B_AMENDMENT, B_KEY),
    ("B's amendment's reason", "SELECT reason FROM amendments", SECRET_REASON, B_KEY),
    ("C's interest", "SELECT * FROM interest", C_INTEREST, C_KEY),
    ("C's interest, for the holder", "SELECT note FROM interest", SECRET_NOTE, B_KEY),
    (
        "a join of every table",
        "SELECT * FROM offers o FULL JOIN offer_sites s USING (offer_id) FULL JOIN matches m "
        "USING (offer_id) FULL JOIN interest i USING (offer_id)",
        HIDDEN_OFFER,
        B_KEY,
    ),
    (
        "exists",
        f"SELECT EXISTS (SELECT 1 FROM offers WHERE offer_id = '{HIDDEN_OFFER}'), "
        f"CASE WHEN EXISTS (SELECT 1 FROM matches WHERE match_id = '{BC_MATCH}') "
        f"THEN '{BC_MATCH}' END",
        BC_MATCH,
        B_KEY,
    ),
    (
        "counts",
        "SELECT (SELECT count(*) FROM offers) || 'x' || (SELECT count(*) FROM matches) || 'x' "
        "|| (SELECT count(*) FROM interest) || 'x' || (SELECT count(*) FROM amendments)",
        "4x2x1x1",
        B_KEY,
    ),
]


@pytest.mark.parametrize(("label", "sql", "needle", "owner"), PROBES, ids=[p[0] for p in PROBES])
def test_agency_a_reads_none_of_the_others_hidden_exchange_rows(estate, label, sql, needle, owner):
    _, _, _, app_url = estate
    assert needle not in _read(app_url, A_KEY, sql), f"{label}: Agency A read it"
    assert needle in _read(app_url, owner, sql), f"{label}: not found even for its own agency"


def test_an_open_offer_shows_its_row_but_not_its_site(estate):
    _, _, _, app_url = estate
    offers = _read(app_url, A_KEY, "SELECT offer_id FROM offers")
    sites = _read(app_url, A_KEY, "SELECT offer_id, site_id FROM offer_sites")
    assert OPEN_OFFER in offers and STATION_OFFER in offers and A_OFFER in offers
    assert OPEN_OFFER not in sites
    # an offer on an open site is seen with its site by everyone, though not marked open
    assert STATION_OFFER in sites
    # nobody's agency: the open offer and the open site's offer only
    nobody = _read(app_url, "", "SELECT offer_id FROM offers ORDER BY offer_id")
    assert nobody == repr([(A_OFFER,), (STATION_OFFER,), (OPEN_OFFER,)])
    assert _read(app_url, "", "SELECT * FROM matches") == "[]"


def test_the_store_gives_each_agency_the_rows_it_may_see(estate):
    _, _, _, app_url = estate
    seen = {
        viewer.agency: {
            table: set(PostGISStore(app_url, viewer=viewer).exchange(table).iloc[:, 0])
            for table in ("offers", "offer_sites", "matches", "amendments", "interest")
        }
        for viewer in (ALICE, BOB, CAROL)
    }
    assert seen["Agency A"] == {
        "offers": {A_OFFER, OPEN_OFFER, STATION_OFFER},
        "offer_sites": {A_OFFER, STATION_OFFER},
        "matches": {AB_MATCH},
        "amendments": set(),
        "interest": set(),
    }
    assert seen["Agency B"]["offers"] == {A_OFFER, HIDDEN_OFFER, OPEN_OFFER, STATION_OFFER}
    assert seen["Agency B"]["matches"] == {AB_MATCH, BC_MATCH}
    assert seen["Agency B"]["interest"] == seen["Agency C"]["interest"] == {C_INTEREST}
    assert seen["Agency C"]["matches"] == {BC_MATCH}
    assert seen["Agency C"]["offer_sites"] == {A_OFFER, STATION_OFFER}
    offers = PostGISStore(app_url, viewer=BOB).exchange("offers")
    assert list(offers.columns) == list(OFFER_COLUMNS)
    assert list(offers["offer_id"]) == [HIDDEN_OFFER, OPEN_OFFER, STATION_OFFER, A_OFFER]


def test_the_planners_statistics_give_no_exchange_values_after_analyze(estate):
    server, database, _, _ = estate
    with server.admin(database) as db:
        db.execute("ANALYZE")
        kept = db.execute(
            "SELECT tablename, attname FROM pg_stats WHERE schemaname = 'public' AND ("
            "most_common_vals IS NOT NULL OR histogram_bounds IS NOT NULL) AND tablename = "
            "ANY(%s)",
            (list(postgis_schema.EXCHANGE_TABLES),),
        ).fetchall()
        analysed = db.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND last_analyze IS NOT NULL",
            (list(postgis_schema.EXCHANGE_TABLES),),
        ).fetchone()
    assert kept == []
    assert analysed == (5,)


# --------------------------------------------------------------------------- writing


#: (label, SQL) that Agency A, as the writer, tries on B's and C's rows.
WRITES = [
    (
        "insert an offer of B's",
        "INSERT INTO offers (offer_id, owner, agency, version, owner_key, agency_key) "
        "VALUES ('Oforged', 'Agency B', 'Agency B', 1, 'agency b', 'agency b')",
    ),
    (
        "insert B's site for an offer",
        "INSERT INTO offer_sites (offer_id, site_id, version, owner_key) "
        "VALUES ('Oforged', 'x', 1, 'agency b')",
    ),
    (
        "insert a match of B and C",
        "INSERT INTO matches (match_id, holder, requester, version, holder_key, requester_key) "
        "VALUES ('Mforged', 'Agency B', 'Agency C', 1, 'agency b', 'agency c')",
    ),
    (
        "insert an amendment of B's",
        "INSERT INTO amendments (amendment_id, version, owner_key, agency_key) "
        "VALUES ('Aforged', 1, 'agency b', 'agency b')",
    ),
    (
        "insert C's interest",
        "INSERT INTO interest (interest_id, offer_id, version, agency_key) "
        f"VALUES ('Iforged', '{OPEN_OFFER}', 1, 'agency c')",
    ),
    ("delete an offer", f"DELETE FROM offers WHERE offer_id = '{A_OFFER}'"),
    ("delete a match", f"DELETE FROM matches WHERE match_id = '{AB_MATCH}'"),
]


@pytest.mark.parametrize(("label", "sql"), WRITES, ids=[w[0] for w in WRITES])
def test_agency_a_cannot_insert_or_delete_the_others_rows(estate, label, sql):
    _, _, _, app_url = estate
    with psycopg.connect(app_url) as conn:
        _as(conn, A_KEY, writer=True)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql)


#: (table, key, id) of rows of B's (or B and C's) that A tries to change; A sees the first.
UPDATES = [
    ("offers", "offer_id", OPEN_OFFER),
    ("offers", "offer_id", STATION_OFFER),
    ("offers", "offer_id", HIDDEN_OFFER),
    ("offer_sites", "offer_id", STATION_OFFER),
    ("matches", "match_id", BC_MATCH),
    ("amendments", "amendment_id", B_AMENDMENT),
    ("interest", "interest_id", C_INTEREST),
]


@pytest.mark.parametrize(("table", "key", "row_id"), UPDATES, ids=[u[2] for u in UPDATES])
def test_agency_a_cannot_update_the_others_rows(estate, table, key, row_id):
    _, _, _, app_url = estate
    update = f"UPDATE {table} SET version = version + 1 WHERE {key} = %s"
    if table == "matches":  # (a match changes only by a move: here its holder, B, offers it)
        update = f"UPDATE {table} SET state = 'offered', version = version + 1 WHERE {key} = %s"
    with psycopg.connect(app_url) as conn:
        _as(conn, A_KEY, writer=True)
        assert conn.execute(update, (row_id,)).rowcount == 0
        conn.rollback()
        # even keyed as A: the row is not A's to write, and A's key on it is refused
        _as(conn, A_KEY, writer=True)
        column = {"matches": "holder_key", "interest": "agency_key"}.get(table, "owner_key")
        relabel = f"UPDATE {table} SET {column} = 'agency a' WHERE {key} = %s"
        assert conn.execute(relabel, (row_id,)).rowcount == 0
        conn.rollback()
        owner = C_KEY if table == "interest" else B_KEY
        _as(conn, owner, writer=True)
        assert conn.execute(update, (row_id,)).rowcount == 1  # the control: its owner may
        conn.rollback()


def test_the_store_refuses_rows_of_another_agency_and_changes_nothing(fresh):
    owner_url, app_url, _ = fresh
    store = PostGISStore(app_url, viewer=ALICE)
    before = {t: open_store(owner_url).exchange(t) for t in ("offers", "matches")}
    forged = _offer("O00000000000000ff", "Agency B")
    with pytest.raises(
        PermissionDeniedError,
        match=r"^Offer O00000000000000ff is not yours to change: only the agency whose "
        r"register holds the site may change it; nothing changed\.$",
    ):
        store.exchange_write(
            ExchangeChange("Agency B", rows={"offers": _rows(OFFER_COLUMNS, forged)})
        )
    opened = _offer(OPEN_OFFER, "Agency B", open_="yes", terms="changed by A", version=2)
    with pytest.raises(PermissionDeniedError, match=rf"^Offer {OPEN_OFFER} is not yours"):
        store.exchange_write(
            ExchangeChange("Agency A", rows={"offers": _rows(OFFER_COLUMNS, opened)})
        )
    # A's own offer in the same change as a forged match: nothing of it is written
    mine = _offer(A_OFFER, "Agency A", sqft=1.0, version=2)
    match = open_store(owner_url).exchange("matches").set_index("match_id").loc[BC_MATCH]
    moved = {**match.to_dict(), "match_id": BC_MATCH, "state": "declined", "version": 2}
    # (a match A is no party to is one A cannot see: as if there were none)
    with pytest.raises(
        ConflictError, match=rf"^Match {BC_MATCH} is not in the store; nothing changed\.$"
    ):
        store.exchange_write(
            ExchangeChange(
                "Agency A",
                rows={
                    "offers": _rows(OFFER_COLUMNS, mine),
                    "matches": _rows(MATCH_COLUMNS, moved),
                },
            )
        )
    after = {t: open_store(owner_url).exchange(t) for t in ("offers", "matches")}
    for table, frame in before.items():
        pd.testing.assert_frame_equal(after[table], frame)


def test_a_stale_version_or_a_taken_key_is_a_conflict(fresh):
    owner_url, app_url, _ = fresh
    store = PostGISStore(app_url, viewer=ALICE)
    offered = _offer(
        A_OFFER, "Agency A", sqft=15000.0, version=2, updated_by="ann@a", updated_at=AT
    )
    store.exchange_write(ExchangeChange("Agency A", rows={"offers": _rows(OFFER_COLUMNS, offered)}))
    stale = _offer(A_OFFER, "Agency A", sqft=1.0, version=2)
    with pytest.raises(
        ConflictError,
        match=rf"^Offer {A_OFFER} was changed by ann@a at 2026-04-01 10:02:11 UTC \(it is open "
        r"now\); nothing changed\.$",
    ):
        store.exchange_write(
            ExchangeChange("Agency A", rows={"offers": _rows(OFFER_COLUMNS, stale)})
        )
    again = _offer(A_OFFER, "Agency A", sqft=1.0, version=1)
    with pytest.raises(
        ConflictError, match=rf"^Offer {A_OFFER} was made by someone else first; nothing changed"
    ):
        store.exchange_write(
            ExchangeChange("Agency A", rows={"offers": _rows(OFFER_COLUMNS, again)})
        )
    gone = _offer("O00000000000000ee", "Agency A", version=3)
    with pytest.raises(ConflictError, match=r"^Offer O00000000000000ee is not in the store"):
        store.exchange_write(
            ExchangeChange("Agency A", rows={"offers": _rows(OFFER_COLUMNS, gone)})
        )
    offers = open_store(owner_url).exchange("offers").set_index("offer_id")
    assert offers.loc[A_OFFER, ["sqft", "version"]].tolist() == [15000.0, 2]


def test_edits_write_through_to_the_writers_own_rows_only(fresh):
    owner_url, app_url, rows = fresh
    house, station = rows["Alpha House"], rows["Bob Station"]

    def edit(site: pd.Series, field: str, value: str) -> pd.DataFrame:
        return pd.DataFrame(
            [["sites", site["source_owner"], site["source_file"], site["site_id"], field, value]],
            columns=list(EDIT_COLUMNS),
        )

    store = PostGISStore(app_url, viewer=ALICE)
    version = store.version()
    store.exchange_write(ExchangeChange("Agency A", edits=edit(house, "surplus_sqft", "12000.5")))
    store.exchange_write(ExchangeChange("Agency A", edits=edit(house, "tenure", "leasehold")))
    assert store.version() != version
    with pytest.raises(
        ConflictError,
        match=rf"^The site {station['site_id']} of b\.csv is no longer in the store, or is not "
        r"yours to change; nothing changed\.$",
    ):
        store.exchange_write(ExchangeChange("Agency B", edits=edit(station, "surplus_sqft", "0")))
    with pytest.raises(
        InvalidArgumentError,
        match=r"an edit of 'name' of 'sites' is not valid; expected a field of sites: "
        r"floor_area_sqft.*; an edit of surplus_sqft to 'lots' is not valid; expected a number",
    ):
        store.exchange_write(
            ExchangeChange(
                "Agency A",
                edits=pd.concat([edit(house, "name", "x"), edit(house, "surplus_sqft", "lots")]),
            )
        )
    sites = open_store(owner_url).sites().set_index("name")
    assert sites.loc["Alpha House", ["surplus_sqft", "tenure"]].tolist() == [12000.5, "leasehold"]
    assert sites.loc["Bob Station", "surplus_sqft"] == 3000.0


def test_a_site_made_restricted_leaves_no_shared_flag(fresh):
    """A's house and B's station share a UPRN: flagged together on import. A makes its
    house restricted: both flags go (B's station is changed through the owner's function)."""
    owner_url, app_url, rows = fresh
    before = open_store(owner_url).sites().set_index("name")["shared_group"]
    assert before["Alpha House"] == before["Bob Station"] != ""
    house = rows["Alpha House"]
    edits = pd.DataFrame(
        [["sites", house["source_owner"], "a.csv", house["site_id"], "sensitivity", "restricted"]],
        columns=list(EDIT_COLUMNS),
    )
    PostGISStore(app_url, viewer=ALICE).exchange_write(
        ExchangeChange("Agency A", edits=edits), shared=shared_groups
    )
    sites = open_store(owner_url).sites()
    after = sites.set_index("name")["shared_group"]
    assert (after["Alpha House"], after["Bob Station"]) == ("", "")
    assert list(after) == list(shared_groups(sites))
    assert "Alpha House" not in set(PostGISStore(app_url, viewer=BOB).sites()["name"])


# --------------------------------------------------------------------------- completing


def _move(app_url: str, viewer: Viewer, match_id: str, state: str, version: int) -> None:
    """Move a match as ``viewer`` (a plain exchange write: the store checks only the version)."""
    match = PostGISStore(app_url, viewer=viewer).exchange("matches").set_index("match_id")
    row = {**match.loc[match_id].to_dict(), "match_id": match_id}
    row.update(state=state, version=version, updated_by=viewer.user, updated_at=AT)
    PostGISStore(app_url, viewer=viewer).exchange_write(
        ExchangeChange(str(viewer.agency), rows={"matches": _rows(MATCH_COLUMNS, row)})
    )


def test_completing_a_match_moves_the_space(fresh):
    owner_url, app_url, rows = fresh
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    _move(app_url, BOB, AB_MATCH, "accepted", 3)
    version = open_store(owner_url).version()
    PostGISStore(app_url, viewer=BOB).complete_match(
        AB_MATCH, version=3, agency="Agency B", by="bob@agency-b.example", at=AT
    )
    owner = open_store(owner_url)
    assert owner.version() != version
    sites, requests = owner.sites().set_index("name"), owner.requests().set_index("source_ref")
    assert sites.loc["Alpha House", "surplus_sqft"] == 16000.0
    assert requests.loc["BREQ-1", "space_needed_sqft"] == 1000.0
    match = owner.exchange("matches").set_index("match_id").loc[AB_MATCH]
    assert (match["state"], match["version"], match["updated_by"]) == (
        "completed",
        4,
        "bob@agency-b.example",
    )
    offer = owner.exchange("offers").set_index("offer_id").loc[A_OFFER]
    assert (offer["sqft"], offer["state"], offer["version"]) == (16000.0, "open", 2)
    made = owner.exchange("amendments")
    made = made[made["reason"] == f"match {AB_MATCH} completed"]
    assert made[["layer", "field", "old", "new", "agency", "by", "state", "version"]].to_dict(
        "records"
    ) == [
        {
            "layer": "sites",
            "field": "surplus_sqft",
            "old": "20000",
            "new": "16000",
            "agency": "Agency A",
            "by": "bob@agency-b.example",
            "state": "standing",
            "version": 1,
        },
        {
            "layer": "requests",
            "field": "space_needed_sqft",
            "old": "5000",
            "new": "1000",
            "agency": "Agency B",
            "by": "bob@agency-b.example",
            "state": "standing",
            "version": 1,
        },
    ]
    assert made["amendment_id"].str.fullmatch(r"A[0-9a-f]{16}").all()
    assert list(made["row_id"]) == [rows["Alpha House"]["site_id"], rows["BREQ-1"]["request_id"]]
    # an amendment is seen only by the owner of its row's source (though both rows are
    # open): A its house's, B its request's (and its own store's), C, no party, neither
    site_made, request_made = made["amendment_id"].tolist()
    seen = {
        viewer.agency: set(PostGISStore(app_url, viewer=viewer).exchange("amendments").iloc[:, 0])
        for viewer in (ALICE, BOB, CAROL)
    }
    assert seen == {
        "Agency A": {site_made},
        "Agency B": {request_made, B_AMENDMENT},
        "Agency C": set(),
    }


def test_the_databases_moves_of_a_match_are_the_engines(estate):
    """The trigger's table of moves (match_moves) mirrors assetmap.exchange.matches.MOVES."""
    from assetmap.exchange.matches import MOVES

    _, _, owner_url, _ = estate
    with psycopg.connect(owner_url) as conn:
        stored = conn.execute("SELECT from_state, to_state, party FROM match_moves()").fetchall()
    engine = {
        (before, rule["to"], party)
        for rule in MOVES.values()
        for before, parties in rule["from"].items()
        for party in parties
    }
    assert len(stored) == len(set(stored))
    assert set(stored) == engine


#: (label, writer, the row's changes from AB_MATCH as stored (proposed, version 1), message)
OUTSIDE_THE_LIFECYCLE = [
    (
        "the requester accepts what was never offered",
        BOB,
        {"state": "accepted", "version": 2},
        r"cannot go from proposed to accepted by your agency",
    ),
    (
        "the holder completes it by writing it",
        ALICE,
        {"state": "completed", "version": 2},
        r"cannot go from proposed to completed by your agency",
    ),
    (
        "the holder offers more space",
        ALICE,
        {"state": "offered", "version": 2, "sqft": 19000.0},
        r"keeps its offer, site, request, agencies and space: a move changes only its state "
        r"and note; nothing changed\.$",
    ),
    (
        "the holder points it at another site",
        ALICE,
        {"state": "offered", "version": 2, "site_id": "S" + "0" * 16},
        r"keeps its offer, site",
    ),
]


@pytest.mark.parametrize(
    ("label", "viewer", "changes", "message"),
    OUTSIDE_THE_LIFECYCLE,
    ids=[case[0] for case in OUTSIDE_THE_LIFECYCLE],
)
def test_a_match_written_outside_its_lifecycle_is_refused(fresh, label, viewer, changes, message):
    owner_url, app_url, _ = fresh
    match = PostGISStore(app_url, viewer=viewer).exchange("matches").set_index("match_id")
    row = {**match.loc[AB_MATCH].to_dict(), "match_id": AB_MATCH, **changes}
    with pytest.raises(PermissionDeniedError, match=rf"^Match {AB_MATCH} {message}"):
        PostGISStore(app_url, viewer=viewer).exchange_write(
            ExchangeChange(str(viewer.agency), rows={"matches": _rows(MATCH_COLUMNS, row)})
        )
    stored = open_store(owner_url).exchange("matches").set_index("match_id").loc[AB_MATCH]
    assert (stored["state"], stored["version"], stored["sqft"]) == ("proposed", 1, 4000.0)
    _move(app_url, ALICE, AB_MATCH, "offered", 2)  # the control: the move that is allowed


def test_a_move_by_raw_sql_is_made_at_the_version_plus_one_only(estate):
    _, _, _, app_url = estate
    move = "UPDATE matches SET state = 'offered', version = %s WHERE match_id = %s"
    with psycopg.connect(app_url) as conn:
        _as(conn, A_KEY, writer=True)
        with pytest.raises(psycopg.Error, match=rf"^Match {AB_MATCH} cannot go from proposed to "):
            conn.execute(move, (5, AB_MATCH))
        conn.rollback()
        _as(conn, A_KEY, writer=True)
        assert conn.execute(move, (2, AB_MATCH)).rowcount == 1  # the control
        conn.rollback()


def test_a_new_match_is_made_only_as_a_proposal(fresh):
    owner_url, app_url, rows = fresh
    made = _match("M000000000000ab02", A_OFFER, rows["Alpha House"], rows["BREQ-1"])
    for changes in ({"state": "accepted"}, {"state": "offered"}):
        with pytest.raises(
            PermissionDeniedError,
            match=r"^Match M000000000000ab02 cannot be made so: a match starts as a proposal \(at "
            r"version 1\); nothing changed\.$",
        ):
            _write(app_url, BOB, "Agency B", matches=[{**made, **changes}])
    assert "M000000000000ab02" not in set(open_store(owner_url).exchange("matches")["match_id"])
    _write(app_url, BOB, "Agency B", matches=[made])  # the control: proposed, at version 1
    assert "M000000000000ab02" in set(open_store(owner_url).exchange("matches")["match_id"])


def test_complete_match_finds_no_site_but_its_offers_own_of_the_holder(fresh):
    """A match pointed (here by the owner role, past the trigger) at another agency's site,
    real or made up, is refused alike: the site is "gone" (AMX04)."""
    owner_url, app_url, rows = fresh
    secret = rows["Bob Secret Store"]
    said = []
    for site_id in (secret["site_id"], "S" + "0" * 16):
        with psycopg.connect(owner_url) as conn:
            conn.execute(
                "UPDATE matches SET state = 'accepted', version = 3, site_id = %s, "
                "site_file = %s, site_owner = %s, sqft = 9000 WHERE match_id = %s",
                (site_id, secret["source_file"], secret["source_owner"], AB_MATCH),
            )
        with pytest.raises(ConflictError) as refused:
            PostGISStore(app_url, viewer=ALICE).complete_match(
                AB_MATCH, version=3, agency="Agency A", by="alice", at=AT
            )
        said.append(str(refused.value))
    assert (
        said
        == [
            f"The site of match {AB_MATCH} is no longer in the store (its register was imported "
            "again or removed); nothing changed."
        ]
        * 2
    )
    assert (
        open_store(owner_url).sites().set_index("name").loc["Bob Secret Store", "surplus_sqft"]
        == 9000
    )


def test_completing_is_refused_to_a_non_party_and_at_a_stale_version(fresh):
    owner_url, app_url, _ = fresh
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    message = (
        rf"^there is no match {AB_MATCH} of your agency's to complete: only the agency holding "
        r"the space and the agency that asked for it may complete a match$"
    )
    with pytest.raises(PermissionDeniedError, match=message):
        PostGISStore(app_url, viewer=CAROL).complete_match(
            AB_MATCH, version=2, agency="Agency C", by="carol", at=AT
        )
    with pytest.raises(PermissionDeniedError, match=message.replace(AB_MATCH, "M00000000000000zz")):
        PostGISStore(app_url, viewer=CAROL).complete_match(
            "M00000000000000zz", version=2, agency="Agency C", by="carol", at=AT
        )
    with pytest.raises(
        PermissionDeniedError,
        match=r"^you are signed in as Agency C, so you may complete a match only as your own "
        r"agency, not as Agency A; nothing changed\.$",
    ):
        PostGISStore(app_url, viewer=CAROL).complete_match(
            AB_MATCH, version=2, agency="Agency A", by="carol", at=AT
        )
    with pytest.raises(
        ConflictError,
        match=rf"^Match {AB_MATCH} was offered by alice@agency-a\.example at 2026-04-01 "
        r"10:02:11 UTC; "
        r"nothing changed\.$",
    ):  # offered, not yet accepted
        PostGISStore(app_url, viewer=ALICE).complete_match(
            AB_MATCH, version=2, agency="Agency A", by="alice", at=AT
        )
    _move(app_url, BOB, AB_MATCH, "accepted", 3)
    with pytest.raises(ConflictError, match=rf"^Match {AB_MATCH} was accepted by bob@agency-b"):
        PostGISStore(app_url, viewer=ALICE).complete_match(
            AB_MATCH, version=2, agency="Agency A", by="alice", at=AT
        )
    with pytest.raises(
        InvalidArgumentError,
        match=r"^match_id='' is not valid; expected a match's id; version=True is not valid; "
        r"expected a whole number from 1; at=None is not valid; expected text$",
    ):
        PostGISStore(app_url, viewer=ALICE).complete_match(
            "", version=True, agency="Agency A", by="alice", at=None
        )
    owner = open_store(owner_url)
    assert owner.sites().set_index("name").loc["Alpha House", "surplus_sqft"] == 20000.0
    assert owner.exchange("matches").set_index("match_id").loc[AB_MATCH, "state"] == "accepted"


def test_completing_more_than_the_site_has_left_is_refused(fresh):
    owner_url, app_url, rows = fresh
    house = rows["Alpha House"]
    edits = pd.DataFrame(
        [["sites", house["source_owner"], "a.csv", house["site_id"], "surplus_sqft", "3999"]],
        columns=list(EDIT_COLUMNS),
    )
    PostGISStore(app_url, viewer=ALICE).exchange_write(ExchangeChange("Agency A", edits=edits))
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    _move(app_url, BOB, AB_MATCH, "accepted", 3)
    with pytest.raises(
        ConflictError,
        match=rf"^The offer of match {AB_MATCH} has less spare space left than the 4000 sq ft "
        r"the match moves; nothing changed\.$",
    ):
        PostGISStore(app_url, viewer=ALICE).complete_match(
            AB_MATCH, version=3, agency="Agency A", by="alice", at=AT
        )
    owner = open_store(owner_url)
    assert owner.requests().set_index("source_ref").loc["BREQ-1", "space_needed_sqft"] == 5000.0


def _at_once(*calls) -> list[object]:
    """Run each call in its own thread, started together; return each result or error."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # (what the test looks at)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_people_accepting_at_once_give_one_acceptance(fresh):
    owner_url, app_url, _ = fresh
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    results = _at_once(
        lambda: _move(app_url, BOB, AB_MATCH, "accepted", 3),
        lambda: _move(app_url, BOB, AB_MATCH, "accepted", 3),
    )
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert results.count(None) == 1 and len(conflicts) == 1, results
    assert re.fullmatch(
        rf"Match {AB_MATCH} was accepted by bob@agency-b\.example at 2026-04-01 10:02:11 UTC; "
        "nothing changed.",
        str(conflicts[0]),
    )
    match = open_store(owner_url).exchange("matches").set_index("match_id").loc[AB_MATCH]
    assert (match["state"], match["version"]) == ("accepted", 3)


def test_two_parties_completing_at_once_move_the_space_once(fresh):
    owner_url, app_url, _ = fresh
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    _move(app_url, BOB, AB_MATCH, "accepted", 3)
    results = _at_once(
        lambda: PostGISStore(app_url, viewer=ALICE).complete_match(
            AB_MATCH, version=3, agency="Agency A", by="alice", at=AT
        ),
        lambda: PostGISStore(app_url, viewer=BOB).complete_match(
            AB_MATCH, version=3, agency="Agency B", by="bob", at=AT
        ),
    )
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert results.count(None) == 1 and len(conflicts) == 1, results
    assert re.match(rf"Match {AB_MATCH} was completed by (alice|bob) at ", str(conflicts[0]))
    owner = open_store(owner_url)
    assert owner.sites().set_index("name").loc["Alpha House", "surplus_sqft"] == 16000.0
    assert owner.requests().set_index("source_ref").loc["BREQ-1", "space_needed_sqft"] == 1000.0


# --------------------------------------------------------------------------- the migration


def _store_at_3(owner_url: str) -> None:
    """Make a store at schema 3 (before the exchange), granted to the app's role."""
    third = postgis_schema.migrations()[:3]
    with (
        mock.patch.object(postgis_schema, "migrations", lambda: third),
        mock.patch.object(postgis_schema, "SCHEMA_VERSION", 3),
    ):
        postgis_schema.init_store(owner_url, app_role=APP_ROLE)


def test_a_store_at_schema_3_upgraded_has_the_exchange_for_the_app_role(pg_empty):
    owner_url, app_url = pg_empty
    _store_at_3(owner_url)
    with pytest.raises(
        StoreError,
        match=rf"the store.s schema is version 3 and this assetmap needs {SCHEMA_VERSION}",
    ):
        PostGISStore(app_url, viewer=ALICE).exchange("offers")
    # every migration after 3 is made (the exchange's, and those after it)
    assert postgis_schema.upgrade_store(owner_url) == SCHEMA_VERSION - 3
    # the app's role was granted the new tables and function by the migration itself
    fresh = build_exchange(app_url)
    assert set(PostGISStore(app_url, viewer=ALICE).exchange("offers")["offer_id"]) == {
        A_OFFER,
        OPEN_OFFER,
        STATION_OFFER,
    }
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    _move(app_url, BOB, AB_MATCH, "accepted", 3)
    PostGISStore(app_url, viewer=BOB).complete_match(
        AB_MATCH, version=3, agency="Agency B", by="bob", at=AT
    )
    assert fresh["Alpha House"]["surplus_sqft"] == 20000.0
    sites = open_store(owner_url).sites().set_index("name")
    assert sites.loc["Alpha House", "surplus_sqft"] == 16000.0
    with psycopg.connect(owner_url) as conn:
        granted = conn.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = %s "
            "AND table_name = 'matches' ORDER BY 1",
            (APP_ROLE,),
        ).fetchall()
    assert granted == [("INSERT",), ("SELECT",), ("UPDATE",)]
    # and the scenarios (migration 0005) for the app's role, under their row security
    alice = PostGISStore(app_url, viewer=ALICE)
    alice.save_scenario({"name": "Hub", "moves": "[]", "shared": ""}, owner=ALICE.agency or "")
    assert alice.scenarios()["name"].tolist() == ["Hub"]
    assert PostGISStore(app_url, viewer=BOB).scenarios().empty


def test_a_store_at_schema_3_opened_by_its_owner_is_migrated(pg_empty):
    owner_url, _ = pg_empty
    _store_at_3(owner_url)
    assert len(open_store(owner_url).exchange("matches")) == 0
    with psycopg.connect(owner_url) as conn:
        assert postgis_schema.schema_version(conn) == SCHEMA_VERSION


def test_the_exchange_tables_are_the_owners_held_to_row_security_and_the_function_pinned(estate):
    server, database, _, _ = estate
    with server.admin(database) as db:
        tables = db.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, "
            "c.relforcerowsecurity FROM pg_class c WHERE c.relkind = 'r' AND c.relname = ANY(%s) "
            "AND c.relnamespace = 'public'::regnamespace",
            (list(postgis_schema.EXCHANGE_TABLES),),
        ).fetchall()
        functions = db.execute(
            "SELECT proname, pg_get_userbyid(proowner), prosecdef, proconfig, "
            "has_function_privilege(%s, oid, 'EXECUTE') FROM pg_proc "
            "WHERE proname IN ('complete_match', '_record_completion') ORDER BY proname",
            (APP_ROLE,),
        ).fetchall()
    assert len(tables) == 5
    assert {row[1:] for row in tables} == {("assetmap_owner", True, True)}
    assert functions == [
        ("_record_completion", "assetmap_owner", True, ["search_path=public, pg_temp"], False),
        ("complete_match", "assetmap_owner", True, ["search_path=public, pg_temp"], True),
    ]


def test_a_leaky_function_sees_only_the_exchange_rows_security_lets_through(estate):
    """A cheap function of the attacker's in the WHERE clause, reporting what it is given:
    row security's condition is checked first, so A's function never sees B's hidden rows."""
    _, _, _, app_url = estate
    for key, shown in ((A_KEY, False), (B_KEY, True)):
        notices: list[str] = []
        with psycopg.connect(app_url) as conn:
            conn.add_notice_handler(lambda d, notices=notices: notices.append(d.message_primary))
            _as(conn, key)
            conn.execute(
                "CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql "
                "COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'seen %', $1; RETURN true; END $$"
            )
            for table, column in (
                ("offers", "terms"),
                ("offer_sites", "offer_id"),
                ("matches", "note"),
                ("amendments", "reason"),
                ("interest", "note"),
            ):
                conn.execute(f"SELECT 1 FROM {table} WHERE pg_temp.leak({column})").fetchall()
            conn.rollback()
        text = repr(notices)
        assert notices
        for needle in (SECRET_TERMS, HIDDEN_OFFER, SECRET_NOTE, SECRET_REASON):
            assert (needle in text) is shown, (key, needle)
