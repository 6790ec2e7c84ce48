"""The attacker's tests of the space exchange (issue 17): another agency breaking its rules.

Each test plays an agency that tries to learn of, or move, what is not its own: through
the engine (the GeoPackage store's only wall) and, for the shared store, by raw SQL as
the app's role (the second wall). A test marked ``xfail(strict=True)`` shows a hole
that is still open: it fails now, and passes (so the mark must go) once the hole is
closed. The others show a wall that holds and would catch its loss (where the other
test files do not already).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from assetmap import exchange
from assetmap.access import Viewer, visible_requests
from assetmap.errors import AssetmapError, DataNotFoundError
from assetmap.exchange.requests import SAVED_REQUESTS
from assetmap.store import open_store
from tests.exchange_estates import (
    COUNCIL,
    HEALTH,
    HEALTH_TOO,
    POLICE,
    error,
    fixed_clock_at,
    import_as,
    same_error,
)

SITES_HEADER = (
    "Property reference,Site name,Postcode,UPRN,Use,GIA (sq ft),Vacant space (sq ft),"
    "Security Classification\n"
)
OFFICE = "P1,Maidstone Police Office,ME14 1XX,,Office,95000,50000,OFFICIAL\n"
#: The police's restricted custody suite, with spare space in its register.
CUSTODY = "P2,Custody Suite,ME14 1XX,,Office,20000,15000,OFFICIAL-SENSITIVE\n"
HEALTH_REQUESTS = (
    "Request ref,Space needed (sq ft),Use,Postcode\nH1,40000,Office,ME14 1XX\n"
    "H2,5000,Office,ME14 1XX\n"
)

AT = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


fixed_clock = fixed_clock_at(AT)


def _estate(location: Path, *, custody: bool) -> Path:
    """Police sites (with or without the restricted custody suite) and health's requests."""
    import_as(
        location, POLICE, SITES_HEADER + OFFICE + (CUSTODY if custody else ""), "p.csv", "police"
    )
    import_as(location, HEALTH, HEALTH_REQUESTS, "h.csv", "health", "requests")
    return location


def _what_health_sees_of_its_matches(location: Path) -> list[tuple]:
    seen = exchange.matches(open_store(location, viewer=HEALTH), HEALTH)
    return sorted(zip(seen["request"], seen["sqft"], seen["site_name"], seen["state"], strict=True))


# --------------------------------------------------------------------------- the plan


def test_the_holders_plan_proposes_the_same_to_the_requester_with_or_without_its_secret_site(
    tmp_path,
):
    with_it = _estate(tmp_path / "with.gpkg", custody=True)
    without = _estate(tmp_path / "without.gpkg", custody=False)
    for location in (with_it, without):
        exchange.propose_from_plan(open_store(location, viewer=POLICE), POLICE)
    # health (which may not see the custody suite) must not be able to tell the estates apart
    assert _what_health_sees_of_its_matches(with_it) == _what_health_sees_of_its_matches(without)


def test_the_requesters_plan_proposes_the_same_with_or_without_the_others_secret_site(tmp_path):
    with_it = _estate(tmp_path / "with.gpkg", custody=True)
    without = _estate(tmp_path / "without.gpkg", custody=False)
    made = {}
    for name, location in (("with", with_it), ("without", without)):
        made[name] = exchange.propose_from_plan(open_store(location, viewer=HEALTH), HEALTH)
    assert len(made["with"]) == len(made["without"]) == 2  # H1 and H2 in the office
    assert _what_health_sees_of_its_matches(with_it) == _what_health_sees_of_its_matches(without)
    # and the police, who see both, are told the same of them (the office's space)
    police = exchange.matches(open_store(with_it, viewer=POLICE), POLICE)
    assert set(police["site_name"]) == {"Maidstone Police Office"}


def test_the_plan_proposes_no_restricted_request_to_another_agency(tmp_path):
    location = _estate(tmp_path / "estate.gpkg", custody=False)
    import_as(
        location,
        HEALTH,
        "Request ref,Space needed (sq ft),Use,Postcode,Security Classification\n"
        "HX,3000,Office,ME14 1XX,OFFICIAL-SENSITIVE\n",
        "secret.csv",
        "health",
        "requests",
    )
    store = open_store(location)
    made = exchange.propose_from_plan(store, HEALTH)
    assert made  # the plan proposes the open requests (the control)
    police_may_see = set(visible_requests(store.requests(), POLICE)["request_id"])
    police_told = set(exchange.matches(store, POLICE)["request_id"])
    assert police_told <= police_may_see


# --------------------------------------------------------------------------- disclosure


def test_an_open_offer_shows_no_site_use_once_its_site_is_made_restricted(tmp_path):
    location = tmp_path / "estate.gpkg"
    import_as(
        location,
        POLICE,
        SITES_HEADER + "P3,Ashford Firearms Store,TN23 1AA,,Firearms store,9000,0,OFFICIAL\n",
        "p.csv",
        "police",
    )
    store = open_store(location)
    site_id = str(store.sites()["site_id"].iloc[0])
    offer_id = exchange.declare_offer(store, POLICE, site_id, sqft=1_000, open=True)
    exchange.amend(store, POLICE, site_id, "sensitivity", "restricted")
    row = exchange.offers(store, COUNCIL).set_index("offer_id").loc[offer_id]
    assert row["site_name"] == "" and row["site_id"] == ""  # the site itself is withheld...
    assert "Firearms" not in " ".join(str(v) for v in row.tolist())  # ...and so its use


def test_hidden_amendments_requests_and_matches_get_the_message_unknown_ids_get(tmp_path):
    location = _estate(tmp_path / "estate.gpkg", custody=True)
    store = open_store(location)
    custody = str(store.sites().set_index("name").loc["Custody Suite", "site_id"])
    hidden_amendment = exchange.amend(store, POLICE, custody, "floor_area_sqft", 19_000)
    # a restricted request of the police, and a match of the police and health
    import_as(
        location,
        POLICE,
        "Request ref,Space needed (sq ft),Postcode,Security Classification\n"
        "PR1,3000,ME14 1XX,OFFICIAL-SENSITIVE\n",
        "pr.csv",
        "police",
        "requests",
    )
    requests = store.requests()
    hidden_request = str(requests.loc[requests["source_ref"] == "PR1", "request_id"].iloc[0])
    office = exchange.offers(store, HEALTH).set_index("site_name").loc["Maidstone Police Office"]
    h1 = str(requests.loc[requests["source_ref"] == "H1", "request_id"].iloc[0])
    hidden_match = exchange.propose(store, HEALTH, offer_id=office["offer_id"], request_id=h1)
    council_site = (
        "Property reference,Site name,Postcode,Vacant space (sq ft)\nC1,Hall,ME14 1XX,900\n"
    )
    import_as(location, COUNCIL, council_site, "c.csv", "council")
    council_offer = exchange.offers(store, COUNCIL).set_index("site_name").loc["Hall", "offer_id"]
    for hidden, unknown, call in (
        (
            hidden_amendment,
            "A" + "0" * 16,
            lambda i: exchange.withdraw_amendment(store, HEALTH, i, version=1),
        ),
        (
            hidden_request,
            "R" + "0" * 16,
            lambda i: exchange.propose(store, COUNCIL, offer_id=council_offer, request_id=i),
        ),
        (
            hidden_match,
            "M" + "0" * 16,
            lambda i: exchange.move(store, COUNCIL, i, "decline", version=1),
        ),
        (hidden_request, "R" + "0" * 16, lambda i: exchange.withdraw_request(store, HEALTH, i)),
    ):
        hidden_error = error(lambda c=call, h=hidden: c(h))
        assert isinstance(hidden_error, DataNotFoundError)
        same_error(hidden_error, error(lambda c=call, u=unknown: c(u)), hidden, unknown)
    # and the police (the owner) get past the lookup with the same ids: the probes can fail
    assert hidden_amendment in set(exchange.amendments(store, POLICE)["amendment_id"])
    assert hidden_match in set(exchange.matches(store, POLICE)["match_id"])


def test_a_guessed_register_offer_id_of_a_secret_site_tests_nothing_anywhere(tmp_path):
    from assetmap.exchange._ids import register_offer_id

    location = _estate(tmp_path / "estate.gpkg", custody=True)
    store = open_store(location)
    sites = store.sites().set_index("name")
    suite = sites.loc["Custody Suite"]
    # health can work the id out: the owner, the file name and the site id (agency, sector, ref)
    guessed = register_offer_id(
        str(suite["source_owner"]), str(suite["source_file"]), str(suite["site_id"])
    )
    assert guessed in set(exchange.offers(store, POLICE)["offer_id"])  # it is the real id
    unknown = "R" + "0" * 16
    h1 = str(store.requests().set_index("source_ref").loc["H1", "request_id"])
    for attempt in (
        lambda i: exchange.withdraw_offer(store, HEALTH, i, version=0),
        lambda i: exchange.express_interest(store, HEALTH, i),
        lambda i: exchange.mark_open_sale(store, HEALTH, i, version=0),
        lambda i: exchange.propose(store, HEALTH, offer_id=i, request_id=h1),
        lambda i: exchange.propose(store, HEALTH, offer_id=i, request_id=h1, sqft=1.0),
    ):
        same_error(
            error(lambda a=attempt: a(guessed)),
            error(lambda a=attempt: a(unknown)),
            guessed,
            unknown,
        )
    refused = [e["what"] for e in store.audit_entries() if e["action"] == "exchange refused"]
    assert [w.replace(guessed, "<id>") for w in refused[::2]] == [
        w.replace(unknown, "<id>") for w in refused[1::2]
    ]
    assert (
        sites.loc["Custody Suite", "surplus_sqft"]
        == store.sites().set_index("name").loc["Custody Suite", "surplus_sqft"]
    )


def test_withdrawing_a_correction_that_opened_a_restricted_site_takes_its_shared_flag_away(
    tmp_path,
):
    location = tmp_path / "estate.gpkg"
    header = "Property reference,Site name,Postcode,UPRN,GIA (sq ft),Security Classification\n"
    import_as(
        location,
        POLICE,
        header + "P1,Custody,ME14 1XX,100000,9000,OFFICIAL-SENSITIVE\n",
        "p.csv",
        "police",
    )
    import_as(
        location, COUNCIL, header + "C1,Shared Office,ME14 1XX,100000,5000,\n", "c.csv", "council"
    )
    store = open_store(location)

    def flags() -> dict[str, str]:
        return store.sites().set_index("name")["shared_group"].to_dict()

    before = flags()
    assert before == {"Custody": "", "Shared Office": ""}
    site_id = str(store.sites().set_index("name").loc["Custody", "site_id"])
    amendment_id = exchange.amend(store, POLICE, site_id, "sensitivity", "open")
    assert flags()["Shared Office"] != ""  # opened: the control, so the last line can fail
    exchange.withdraw_amendment(store, POLICE, amendment_id, version=1)
    assert flags() == before  # restricted again: no flag left to point at it


def _twin(location: Path, *, custody: bool) -> Path:
    """The estate, and the police's dealings with the council on the custody suite (if any):
    a correction of its floor area, an offer marked open that the council matched, then
    declared again not open, and a disposal not open."""
    _estate(location, custody=custody)
    import_as(
        location,
        COUNCIL,
        "Request ref,Space needed (sq ft),Use,Postcode\nC1,4000,Office,ME14 1XX\n",
        "c.csv",
        "council",
        "requests",
    )
    if custody:
        store = open_store(location)
        suite = str(store.sites().set_index("name").loc["Custody Suite", "site_id"])
        exchange.amend(store, POLICE, suite, "floor_area_sqft", 19_000)
        offer_id = exchange.declare_offer(store, POLICE, suite, sqft=5_000, open=True)
        c1 = str(store.requests().set_index("source_ref").loc["C1", "request_id"])
        exchange.propose(store, COUNCIL, offer_id=offer_id, request_id=c1)
        exchange.declare_offer(store, POLICE, suite, sqft=5_000, open=False)
        exchange.declare_disposal(store, POLICE, suite)
    return location


def test_health_cannot_tell_the_police_dealings_on_a_secret_site_from_none(tmp_path):
    with_it = open_store(_twin(tmp_path / "with.gpkg", custody=True))
    without = open_store(_twin(tmp_path / "without.gpkg", custody=False))
    guest = Viewer("visitor")
    for viewer in (HEALTH, guest):
        for name, listing in (
            ("offers", exchange.offers),
            ("disposals", exchange.disposals),
            ("matches", exchange.matches),
            ("inbox", exchange.inbox),
        ):
            pd.testing.assert_frame_equal(
                listing(with_it, viewer), listing(without, viewer), obj=f"{name} {viewer.user}"
            )
    # the council, party to the match, sees it (so the comparison can fail)
    assert len(exchange.matches(with_it, COUNCIL)) == 1


def test_health_cannot_tell_hidden_corrections_from_none(tmp_path):
    with_it = open_store(_twin(tmp_path / "with.gpkg", custody=True))
    without = open_store(_twin(tmp_path / "without.gpkg", custody=False))
    for viewer in (HEALTH, Viewer("visitor")):
        pd.testing.assert_frame_equal(
            exchange.amendments(with_it, viewer), exchange.amendments(without, viewer)
        )


# --------------------------------------------------------------------------- completion


def _completed_on_the_register_offer(location: Path) -> tuple[str, str]:
    """Health matches 10,000 sq ft of the office's register offer; the police then offer the
    site's 50,000 sq ft in assetmap; the match completes. Return (match id, app offer id)."""
    store = open_store(location)
    register = exchange.offers(store, HEALTH).set_index("site_name")
    requests = store.requests().set_index("source_ref")
    match_id = exchange.propose(
        store,
        HEALTH,
        offer_id=str(register.loc["Maidstone Police Office", "offer_id"]),
        request_id=str(requests.loc["H1", "request_id"]),
        sqft=10_000,
    )
    office = str(store.sites().set_index("name").loc["Maidstone Police Office", "site_id"])
    offer_id = exchange.declare_offer(store, POLICE, office, sqft=50_000)
    for version, (viewer, action) in enumerate(
        ((POLICE, "offer"), (HEALTH, "accept"), (HEALTH, "complete")), start=1
    ):
        exchange.move(store, viewer, match_id, action, version=version)
    return match_id, offer_id


def test_a_third_agency_learns_nothing_of_a_match_from_the_corrections_it_wrote(tmp_path):
    location = _estate(tmp_path / "estate.gpkg", custody=False)
    match_id, _ = _completed_on_the_register_offer(location)
    store = open_store(location)
    assert len(exchange.matches(store, COUNCIL)) == 0  # the council is no party to it...
    text = exchange.amendments(store, COUNCIL).astype(str).to_numpy().ravel().tolist()
    assert not any(match_id in value for value in text)  # ...and finds no trace of it
    assert HEALTH.user not in text
    # the parties do see their match's corrections (so the probe can fail)
    assert any(match_id in v for v in exchange.amendments(store, POLICE).astype(str)["reason"])


def test_a_completed_match_leaves_the_sites_live_offer_equal_to_its_spare_space(tmp_path):
    location = _estate(tmp_path / "estate.gpkg", custody=False)
    _, offer_id = _completed_on_the_register_offer(location)
    store = open_store(location)
    site = store.sites().set_index("name").loc["Maidstone Police Office"]
    assert site["surplus_sqft"] == 40_000
    listed = exchange.offers(store, COUNCIL).set_index("offer_id")
    assert listed.loc[offer_id, "sqft"] == site["surplus_sqft"]


# --------------------------------------------------------------------------- races


def test_two_first_offers_on_one_site_at_once_leave_one_live_offer(tmp_path, monkeypatch):
    import importlib
    import threading

    offers_module = importlib.import_module("assetmap.exchange.offers")

    location = _estate(tmp_path / "estate.gpkg", custody=False)
    office = str(
        open_store(location).sites().set_index("name").loc["Maidstone Police Office", "site_id"]
    )
    both_read = threading.Barrier(2, timeout=60)
    read = offers_module._live_offer_on

    def read_then_wait(store, site, kind):
        found = read(store, site, kind)
        both_read.wait()  # the two declarations have each read the offers before either wrote
        return found

    monkeypatch.setattr(offers_module, "_live_offer_on", read_then_wait)
    said: list[object] = []

    def declare(sqft: float) -> None:
        try:
            said.append(exchange.declare_offer(open_store(location), POLICE, office, sqft=sqft))
        except AssetmapError as exc:  # (one may be told someone changed it first)
            said.append(exc)

    threads = [threading.Thread(target=declare, args=(n,)) for n in (10_000.0, 20_000.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(said) == 2
    table = open_store(location).exchange("offers")
    live = table[(table["kind"] == "space") & table["state"].isin(["open"])]
    assert len(live) == 1, said


# --------------------------------------------------------------------------- spellings


def test_two_spellings_of_one_agency_keep_one_list_of_saved_requests(tmp_path):
    location = _estate(tmp_path / "estate.gpkg", custody=False)
    store = open_store(location)
    first = exchange.save_request(store, HEALTH, sqft=1_000, postcode="ME14 1XX")
    second = exchange.save_request(store, HEALTH_TOO, sqft=2_000, postcode="ME14 1XX")
    saved = store.requests()
    saved = saved[saved["source_file"] == SAVED_REQUESTS]
    assert sorted(saved["request_id"]) == sorted([first, second])
    assert (store.imports()["source_file"] == SAVED_REQUESTS).sum() == 1
    exchange.withdraw_request(store, HEALTH, second)
    saved = store.requests()
    assert saved.loc[saved["source_file"] == SAVED_REQUESTS, "request_id"].tolist() == [first]


# --------------------------------------------------------------------------- PostGIS, raw SQL


@pytest.fixture
def shared(pg_store):
    """(owner_url, app_url, rows) of a PostGIS store holding tests/test_exchange_rls's estate."""
    from tests.test_exchange_rls import build_exchange

    owner_url, app_url = pg_store
    return owner_url, app_url, build_exchange(app_url)


def _as(conn: psycopg.Connection, key: str) -> None:
    conn.execute("SELECT set_config('assetmap.agency', %s, true)", (key,))
    conn.execute("SELECT set_config('assetmap.writer', %s, true)", (key,))


def test_the_requester_cannot_skip_the_holders_offer_by_raw_sql(shared):
    from tests.test_exchange_rls import AB_MATCH, B_KEY

    owner_url, app_url, _ = shared
    with psycopg.connect(app_url) as conn:  # B asked; A (the holder) has not offered
        _as(conn, B_KEY)
        try:
            conn.execute(
                "UPDATE matches SET state = 'accepted', version = 3 WHERE match_id = %s",
                (AB_MATCH,),
            )
            conn.execute(
                "SELECT complete_match(%s, 3, 'bob@agency-b.example', '2026-04-01T10:02:11Z')",
                (AB_MATCH,),
            )
            conn.commit()
        except psycopg.Error:
            conn.rollback()
    owner = open_store(owner_url)
    assert owner.sites().set_index("name").loc["Alpha House", "surplus_sqft"] == 20_000
    assert owner.exchange("matches").set_index("match_id").loc[AB_MATCH, "state"] == "proposed"


def _try_completing_at(app_url: str, key: str, match_id: str, site: tuple, sqft: float) -> str:
    """Point a match of ours at ``site``, accept it and complete it, all rolled back: what said."""
    with psycopg.connect(app_url) as conn:
        _as(conn, key)
        try:
            conn.execute(
                "UPDATE matches SET state = 'accepted', version = 3, site_id = %s, "
                "site_file = %s, site_owner = %s, sqft = %s WHERE match_id = %s",
                (*site, sqft, match_id),
            )
            conn.execute("SELECT complete_match(%s, 3, 'alice', 'now')", (match_id,))
            said = "completed"
        except psycopg.Error as exc:
            said = f"{exc.sqlstate}: {exc.diag.message_primary}"
        conn.rollback()
    return said


def test_complete_match_is_no_oracle_of_another_agencys_restricted_site(shared):
    from tests.test_exchange_rls import A_KEY, AB_MATCH

    _, app_url, rows = shared
    secret = rows["Bob Secret Store"]  # restricted, 9,000 sq ft spare; A may not see it
    real = (secret["site_id"], secret["source_file"], secret["source_owner"])
    made_up = ("S" + "0" * 16, secret["source_file"], secret["source_owner"])
    for sqft in (9_000.0, 9_001.0):
        assert _try_completing_at(app_url, A_KEY, AB_MATCH, real, sqft) == _try_completing_at(
            app_url, A_KEY, AB_MATCH, made_up, sqft
        )


def test_a_third_agency_reads_no_trace_of_a_match_in_the_amendments_by_raw_sql(shared):
    from tests.test_exchange_rls import AB_MATCH, ALICE, BOB, C_KEY, _move

    _, app_url, _ = shared
    _move(app_url, ALICE, AB_MATCH, "offered", 2)
    _move(app_url, BOB, AB_MATCH, "accepted", 3)
    from assetmap.store.postgis import PostGISStore

    PostGISStore(app_url, viewer=BOB).complete_match(
        AB_MATCH, version=3, agency="Agency B", by=BOB.user, at="2026-04-01T10:02:11+00:00"
    )
    with psycopg.connect(app_url) as conn:
        _as(conn, C_KEY)
        assert conn.execute(
            "SELECT count(*) FROM matches WHERE match_id = %s", (AB_MATCH,)
        ).fetchone() == (0,)
        seen = repr(conn.execute('SELECT reason, "by" FROM amendments').fetchall())
        conn.rollback()
    assert AB_MATCH not in seen and BOB.user not in seen
