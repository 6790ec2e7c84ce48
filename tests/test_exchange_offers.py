"""Offers of spare space (assetmap.exchange.offers) and saved requests (exchange.requests)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from assetmap import exchange
from assetmap.access import Viewer
from assetmap.errors import (
    ConflictError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from assetmap.exchange import _clock
from assetmap.exchange._ids import register_offer_id
from assetmap.registers.importer import import_register
from assetmap.store import open_store

POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Vacant space (sq ft),Sensitivity,Use\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,40000,open,office\n"
    "P2,Custody Suite,TN9 1SP,12000,,restricted,custody\n"
    "P3,Tonbridge Station,TN9 1SP,8000,,open,office\n"
)
HEALTH = "Property reference,Site name,Postcode,GIA (sq ft)\nH1,The Hub,TN1 1AA,5000\n"

ANN = Viewer("ann@kent.police.example", agency="Kent Police", signed_in=True)
BOB = Viewer("bob@nhs.example", agency="Kent NHS", signed_in=True)
NOBODY = Viewer("guest")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """Every move of these tests is made at one time: 2026-12-07 10:00 UTC (a Monday)."""
    monkeypatch.setattr(_clock, "FIXED", dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))


def _estate(location):
    store = open_store(location)
    import_register(
        POLICE.encode(), name="police.csv", store=store, agency="Kent Police", sector="police"
    )
    import_register(
        HEALTH.encode(), name="health.csv", store=store, agency="Kent NHS", sector="health"
    )
    return store


@pytest.fixture
def store(store_path):
    return _estate(store_path)


def _site(store, ref: str) -> pd.Series:
    sites = store.sites()
    return sites[sites["source_ref"] == ref].iloc[0]


def _actions(store) -> list[tuple[str, str]]:
    return [(e["action"], e["what"]) for e in store.audit_entries()]


def test_register_offers_are_listed_with_where_they_come_from(store):
    listed = exchange.offers(store, BOB)
    assert listed["origin"].tolist() == ["register police.csv"]
    row = listed.iloc[0]
    site = _site(store, "P1")
    assert row["offer_id"] == register_offer_id("Kent Police", "police.csv", site["site_id"])
    assert (row["sqft"], row["site_name"], row["area"], row["version"]) == (
        40_000.0,
        "Maidstone Police Office",
        "Maidstone",
        0,
    )
    assert list(listed.columns) == list(exchange.OFFER_LIST_COLUMNS)


def test_declaring_an_offer_writes_the_space_through_and_lists_it_once(store):
    offer_id = exchange.declare_offer(
        store,
        ANN,
        "P3",
        sqft=12_000,
        available_from="2027-04-01",
        terms="peppercorn",
        contact="ann@kent.police.example",
    )
    assert offer_id.startswith("O") and len(offer_id) == 17
    assert _site(store, "P3")["surplus_sqft"] == 12_000
    listed = exchange.offers(store, BOB)
    row = listed[listed["offer_id"] == offer_id].iloc[0]
    assert (row["origin"], row["sqft"], row["use"], row["site_name"], row["area"]) == (
        "entered in assetmap",
        12_000.0,
        "office",
        "Tonbridge Station",
        "Tonbridge and Malling",
    )
    assert (row["available_from"], row["declared_on"], row["version"]) == (
        "2027-04-01",
        "2026-12-07",
        1,
    )
    # the site's register figure is not listed beside it: one offer per site
    assert (listed["site_name"] == "Tonbridge Station").sum() == 1
    amendments = store.exchange("amendments")
    assert amendments[["field", "old", "new", "state"]].values.tolist() == [
        ["surplus_sqft", "", "12000", "standing"]
    ]
    assert ("exchange", f"offer {offer_id} declared: 12,000 sq ft at site P3") in _actions(store)


def test_declaring_again_changes_the_live_offer(store):
    first = exchange.declare_offer(store, ANN, "P3", sqft=12_000)
    again = exchange.declare_offer(store, ANN, "P3", sqft=9_000, open=True)
    assert again == first
    stored = store.exchange("offers")
    assert stored[["sqft", "open", "version"]].values.tolist() == [[9_000.0, "yes", 2]]
    assert _site(store, "P3")["surplus_sqft"] == 9_000
    # the amendment of 12,000 is replaced; the new one keeps the register's value
    amendments = store.exchange("amendments")
    assert amendments[["old", "new", "state"]].values.tolist() == [
        ["", "12000", "replaced"],
        ["", "9000", "standing"],
    ]


def test_withdrawing_an_offer_sets_the_space_to_nothing(store):
    offer_id = exchange.declare_offer(store, ANN, "P3", sqft=12_000)
    exchange.withdraw_offer(store, ANN, offer_id, version=1)
    assert _site(store, "P3")["surplus_sqft"] == 0
    assert offer_id not in set(exchange.offers(store, ANN)["offer_id"])
    assert store.exchange("offers")["state"].tolist() == ["withdrawn"]
    with pytest.raises(ConflictError, match=rf"Offer {offer_id} was changed by ann@kent"):
        exchange.withdraw_offer(store, ANN, offer_id, version=1)
    with pytest.raises(ConflictError, match=rf"Offer {offer_id} is withdrawn already"):
        exchange.withdraw_offer(store, ANN, offer_id, version=2)
    assert ("exchange", f"offer {offer_id} withdrawn") in _actions(store)


def test_withdrawing_a_register_offer_keeps_its_site_at_nothing(store):
    offer_id = exchange.offers(store, ANN)["offer_id"].iloc[0]
    exchange.withdraw_offer(store, ANN, offer_id, version=0)
    assert _site(store, "P1")["surplus_sqft"] == 0
    assert exchange.offers(store, ANN).empty
    assert store.exchange("amendments")["new"].tolist() == ["0"]


def test_an_offer_is_only_its_site_agency_to_make_or_withdraw(store):
    with pytest.raises(PermissionDeniedError, match=r"Site H1 is Kent NHS's: only Kent NHS may"):
        exchange.declare_offer(store, ANN, "H1", sqft=100)
    offer_id = exchange.declare_offer(store, ANN, "P3", sqft=100)
    with pytest.raises(
        PermissionDeniedError, match=rf"Offer {offer_id} is Kent Police's: only Kent Police may"
    ):
        exchange.withdraw_offer(store, BOB, offer_id, version=1)
    with pytest.raises(PermissionDeniedError, match=r"Set \$ASSETMAP_AGENCY or sign in"):
        exchange.declare_offer(store, NOBODY, "P3", sqft=100)
    with pytest.raises(DataNotFoundError, match=r"There is no site NOPE that you can see"):
        exchange.declare_offer(store, ANN, "NOPE", sqft=100)
    refused = [what for action, what in _actions(store) if action == "exchange refused"]
    assert refused == [
        "offer at site H1: Site H1 is Kent NHS's: only Kent NHS may offer its space.",
        f"withdraw offer {offer_id}: Offer {offer_id} is Kent Police's: only Kent Police may "
        "withdraw it.",
        "offer at site P3: Set $ASSETMAP_AGENCY or sign in as an agency to offer space: you "
        "have no agency.",
        "offer at site NOPE: There is no site NOPE that you can see.",
    ]


def test_bad_values_are_refused_together(store):
    with pytest.raises(
        InvalidArgumentError,
        match=r"sqft=-5 is not valid.*available_from='soon' is not valid; expected a date"
        r".*open='yes' is not valid",
    ):
        exchange.declare_offer(store, ANN, "P3", sqft=-5, available_from="soon", open="yes")
    with pytest.raises(InvalidArgumentError, match=r"available_until='2027-01-01' is before"):
        exchange.declare_offer(
            store, ANN, "P3", sqft=5, available_from="2027-02-01", available_until="2027-01-01"
        )
    with pytest.raises(InvalidArgumentError, match=r"version='1' is not valid"):
        exchange.withdraw_offer(store, ANN, exchange.offers(store, ANN)["offer_id"][0], version="1")
    assert store.exchange("offers").empty


def test_an_offer_past_its_last_day_is_not_listed(store):
    exchange.declare_offer(store, ANN, "P3", sqft=100, available_until="2026-12-31")
    assert len(exchange.offers(store, BOB, today=dt.date(2026, 12, 31))) == 2
    assert len(exchange.offers(store, BOB, today=dt.date(2027, 1, 1))) == 1


def test_the_offer_survives_a_re_import_of_the_register(store):
    offer_id = exchange.declare_offer(store, ANN, "P3", sqft=12_000)
    import_register(
        POLICE.encode(), name="police.csv", store=store, agency="Kent Police", sector="police"
    )
    assert _site(store, "P3")["surplus_sqft"] == 12_000
    assert offer_id in set(exchange.offers(store, BOB)["offer_id"])


# --------------------------------------------------------------------------- saved requests


def test_a_saved_request_is_one_of_the_store_requests(store):
    request_id = exchange.save_request(
        store, BOB, sqft=40_000, postcode="ME14 1XX", needed_by="2027-06-01"
    )
    requests = store.requests()
    row = requests[requests["request_id"] == request_id].iloc[0]
    assert row["source_file"] == exchange.SAVED_REQUESTS == "Requests saved in assetmap"
    assert row["source_ref"].startswith("Q") and len(row["source_ref"]) == 17
    assert (row["agency"], row["space_needed_sqft"], row["use"], row["needed_by"]) == (
        "Kent NHS",
        40_000.0,
        "office",
        "2027-06-01",
    )
    assert row["sector"] == "health"  # the agency's sites' sector
    second = exchange.save_request(store, BOB, sqft=500, postcode="TN1 1AA")
    assert set(store.requests()["request_id"]) == {request_id, second}
    assert ("exchange", f"request {request_id} saved: 40,000 sq ft") in _actions(store)


def test_a_saved_request_is_edited_and_withdrawn_by_its_agency_only(store):
    request_id = exchange.save_request(store, BOB, sqft=40_000, postcode="ME14 1XX")
    reference = store.requests()["source_ref"].iloc[0]
    exchange.edit_request(store, BOB, reference, sqft=30_000, use="clinic")
    row = store.requests().iloc[0]
    assert (row["request_id"], row["space_needed_sqft"], row["use"]) == (
        request_id,
        30_000.0,
        "clinic",
    )
    with pytest.raises(
        PermissionDeniedError, match=rf"Request {request_id} is Kent NHS's: only Kent NHS may"
    ):
        exchange.edit_request(store, ANN, request_id, sqft=1)
    with pytest.raises(InvalidArgumentError, match=r"fields colour cannot be edited"):
        exchange.edit_request(store, BOB, request_id, colour="red")
    with pytest.raises(InvalidArgumentError, match=r"sqft=0 is not valid"):
        exchange.edit_request(store, BOB, request_id, sqft=0)
    exchange.withdraw_request(store, BOB, request_id)
    assert store.requests().empty
    with pytest.raises(DataNotFoundError, match=rf"There is no saved request {request_id}"):
        exchange.withdraw_request(store, BOB, request_id)


def test_a_request_the_importer_would_quarantine_is_refused_with_its_reason(store):
    with pytest.raises(InvalidArgumentError, match=r"The request cannot be saved: .*postcode"):
        exchange.save_request(store, BOB, sqft=10, postcode="ZZ99 9ZZ")
    assert (
        store.requests().empty
        and store.quarantine()["source_file"].ne(exchange.SAVED_REQUESTS).all()
    )
    with pytest.raises(InvalidArgumentError, match=r"sqft='lots' is not valid.*needed_by='soon'"):
        exchange.save_request(store, BOB, sqft="lots", postcode="TN1 1AA", needed_by="soon")
    with pytest.raises(PermissionDeniedError, match=r"to save a request for space"):
        exchange.save_request(store, NOBODY, sqft=10, postcode="TN1 1AA")


def test_an_imported_request_is_not_edited_here(store):
    text = "Agency,Space needed (sq ft),Postcode\nKent NHS,900,TN1 1AA\n"
    import_register(
        text.encode(), name="needs.csv", store=store, kind="requests", agency="Kent NHS"
    )
    request_id = store.requests()["request_id"].iloc[0]
    with pytest.raises(PermissionDeniedError, match=r"comes from the register needs.csv"):
        exchange.edit_request(store, BOB, request_id, sqft=5)


def test_offer_lifecycle_on_any_store(any_store):
    location = any_store
    police = open_store(location, viewer=ANN)
    health = open_store(location, viewer=BOB)
    import_register(
        POLICE.encode(), name="police.csv", store=police, agency="Kent Police", sector="police"
    )
    import_register(
        HEALTH.encode(), name="health.csv", store=health, agency="Kent NHS", sector="health"
    )
    offer_id = exchange.declare_offer(police, ANN, "P3", sqft=12_000)
    assert offer_id in set(exchange.offers(health, BOB)["offer_id"])
    exchange.withdraw_offer(police, ANN, offer_id, version=1)
    assert offer_id not in set(exchange.offers(health, BOB)["offer_id"])
    assert _site(police, "P3")["surplus_sqft"] == 0


def _completed_match(store, *, sqft: float) -> tuple[str, str]:
    """Kent Police offers 12,000 sq ft at P3, Kent NHS asks for ``sqft``: matched, completed."""
    offer_id = exchange.declare_offer(store, ANN, "P3", sqft=12_000)
    request_id = exchange.save_request(store, BOB, sqft=sqft, postcode="TN9 1SP")
    match_id = exchange.propose(store, BOB, offer_id=offer_id, request_id=request_id)
    exchange.move(store, ANN, match_id, "offer", version=1)
    exchange.move(store, BOB, match_id, "accept", version=2)
    exchange.move(store, BOB, match_id, "complete", version=3)
    return offer_id, request_id


def test_a_closed_saved_request_stays_closed_when_the_source_is_written_again(store):
    _, request_id = _completed_match(store, sqft=12_000)
    needs = store.requests().set_index("request_id")["space_needed_sqft"]
    assert needs[request_id] == 0
    other = exchange.save_request(store, BOB, sqft=700, postcode="TN1 1AA")
    needs = store.requests().set_index("request_id")["space_needed_sqft"]
    assert (needs[request_id], needs[other]) == (0, 700)
    assert _site(store, "P3")["surplus_sqft"] == 0


def test_editing_the_need_of_a_part_matched_request_sets_it_anew(store):
    _, request_id = _completed_match(store, sqft=20_000)
    assert store.requests().set_index("request_id").loc[request_id, "space_needed_sqft"] == 8_000
    exchange.edit_request(store, BOB, request_id, sqft=5_000)
    assert store.requests().set_index("request_id").loc[request_id, "space_needed_sqft"] == 5_000
    exchange.save_request(store, BOB, sqft=700, postcode="TN1 1AA")  # the source written again
    assert store.requests().set_index("request_id").loc[request_id, "space_needed_sqft"] == 5_000


def test_withdrawing_a_request_withdraws_its_live_matches(store):
    offer_id = exchange.declare_offer(store, ANN, "P3", sqft=12_000)
    request_id = exchange.save_request(store, BOB, sqft=2_000, postcode="TN9 1SP")
    match_id = exchange.propose(store, BOB, offer_id=offer_id, request_id=request_id)
    exchange.withdraw_request(store, BOB, request_id)
    assert store.exchange("matches").set_index("match_id").loc[match_id, "state"] == "withdrawn"
    whats = [e["what"] for e in store.audit_entries() if e["action"] == "exchange"]
    assert whats[-2:] == [f"match {match_id} withdrawn", f"request {request_id} withdrawn"]


def test_a_site_in_two_registers_is_named_by_its_register(store):
    # the same references in a register of another sector: other sites (their ids differ)
    import_register(
        POLICE.encode(), name="police2.csv", store=store, agency="Kent Police", sector="fire"
    )
    with pytest.raises(
        InvalidArgumentError,
        match=r"Site P3 is in more than one of your registers \(police.csv, police2.csv\); say "
        r"which register with source_file",
    ):
        exchange.declare_offer(store, ANN, "P3", sqft=10)
    offer_id = exchange.declare_offer(store, ANN, "P3", sqft=10, source_file="police2.csv")
    assert exchange.find_offer(store, ANN, offer_id)["source_file"] == "police2.csv"
    with pytest.raises(DataNotFoundError, match=r"There is no site P3 in police9.csv that you"):
        exchange.declare_offer(store, ANN, "P3", sqft=10, source_file="police9.csv")


def test_a_signed_in_user_offers_only_from_their_own_agency_sources(store):
    text = "Agency,Property reference,Site name,Postcode\nKent Police,P7,Annexe,ME14 1XX\n"
    import_register(text.encode(), name="shared.csv", store=store)  # owned by no agency
    with pytest.raises(
        PermissionDeniedError,
        match=r"Site P7 comes from the register shared.csv, which belongs to no agency: only "
        r"the local user \(without sign-in\) may offer its space\.",
    ):
        exchange.declare_offer(store, ANN, "P7", sqft=10)
    local = Viewer("ann", agency="Kent Police")
    assert exchange.declare_offer(store, local, "P7", sqft=10).startswith("O")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: exchange.declare_offer(s, ANN, "P3", sqft="many", terms=3),
            r"sqft='many' is not valid; expected a number of square feet above 0; terms=3 is "
            r"not valid; expected text",
        ),
        (
            lambda s: exchange.declare_disposal(s, ANN, "P3", today="monday"),
            r"today='monday' is not valid; expected a date",
        ),
        (
            lambda s: exchange.express_interest(s, BOB, "O1", note=5),
            r"note=5 is not valid; expected text",
        ),
        (
            lambda s: exchange.save_request(
                s, BOB, sqft=10, postcode="", locality="", use=4, max_distance_m=-1
            ),
            r"max_distance_m=-1 is not valid; expected None or a distance in metres above 0; "
            r"use=4 is not valid; expected text; postcode='' and locality='': expected a "
            r"postcode",
        ),
    ],
)
def test_every_value_problem_is_named(store, call, message):
    with pytest.raises(InvalidArgumentError, match=message):
        call(store)


def test_saved_requests_on_any_store(any_store):
    health = open_store(any_store, viewer=BOB)
    import_register(HEALTH.encode(), name="health.csv", store=health, agency="Kent NHS")
    request_id = exchange.save_request(health, BOB, sqft=4_000, postcode="ME14 1XX")
    exchange.edit_request(health, BOB, request_id, sqft=3_000)
    saved = health.requests()
    assert saved[["request_id", "space_needed_sqft", "source_file"]].values.tolist() == [
        [request_id, 3_000.0, "Requests saved in assetmap"]
    ]
    police = open_store(any_store, viewer=ANN)
    with pytest.raises(PermissionDeniedError, match=r"only Kent NHS may withdraw it"):
        exchange.withdraw_request(police, ANN, request_id)
    exchange.withdraw_request(health, BOB, request_id)
    assert health.requests().empty
