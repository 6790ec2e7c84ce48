"""First refusal (assetmap.exchange.first_refusal): 40 working days before an open sale."""

from __future__ import annotations

import datetime as dt

import pytest

from assetmap import exchange
from assetmap.access import Viewer
from assetmap.errors import (
    ConflictError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from assetmap.exchange import _calendar, _clock, first_refusal
from assetmap.registers.importer import import_register
from assetmap.store import open_store

POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Sensitivity\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,open\n"
    "P2,Custody Suite,TN9 1SP,12000,restricted\n"
)
HEALTH = "Property reference,Site name,Postcode\nH1,The Hub,TN1 1AA\n"
COUNCIL = "Property reference,Site name,Postcode\nC1,Civic Centre,TN1 1AA\n"

ANN = Viewer("ann@kent.police.example", agency="Kent Police", signed_in=True)
BOB = Viewer("bob@nhs.example", agency="Kent NHS", signed_in=True)
CAT = Viewer("cat@council.example", agency="Tunbridge Wells BC", signed_in=True)

#: Monday 7 December 2026, when the disposals of these tests are declared.
DECLARED = dt.date(2026, 12, 7)


def _at(day: dt.date):
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


@pytest.fixture
def store(store_path, monkeypatch):
    monkeypatch.setattr(_clock, "FIXED", _at(DECLARED))
    store = open_store(store_path)
    for text, name, agency in (
        (POLICE, "police.csv", "Kent Police"),
        (HEALTH, "health.csv", "Kent NHS"),
        (COUNCIL, "council.csv", "Tunbridge Wells BC"),
    ):
        import_register(text.encode(), name=name, store=store, agency=agency)
    return store


def test_the_window_counted_by_hand_across_christmas_2026():
    """Declared on Monday 7 December 2026; the day itself is not counted.

    Working days after it: 8-11 Dec (4), 14-18 Dec (9), 21-24 Dec (13); Friday 25 Dec
    (Christmas Day) skipped, the weekend, Monday 28 Dec (Boxing Day, observed) skipped;
    29-31 Dec (16); Friday 1 Jan 2027 (New Year's Day) skipped; 4-8 Jan (21), 11-15 Jan
    (26), 18-22 Jan (31), 25-29 Jan (36), 1-4 Feb (40). The 40th working day is
    Thursday 4 February 2027 (without the three bank holidays it would be Monday 1
    February: exactly eight weeks).
    """
    assert first_refusal.FIRST_REFUSAL_WORKING_DAYS == 40
    assert exchange.window_end(DECLARED) == dt.date(2027, 2, 4)


def test_the_window_counted_by_hand_across_easter_2027():
    """Declared on Monday 1 March 2027.

    2-5 Mar (4), 8-12 Mar (9), 15-19 Mar (14), 22-25 Mar (18); Friday 26 Mar (Good
    Friday) and Monday 29 Mar (Easter Monday) skipped; 30 Mar-2 Apr (22), 5-9 Apr (27),
    12-16 Apr (32), 19-23 Apr (37), 26-28 Apr (40): Wednesday 28 April 2027.
    """
    assert exchange.window_end(dt.date(2027, 3, 1)) == dt.date(2027, 4, 28)


def test_a_window_declared_on_a_saturday_starts_counting_on_monday():
    """Saturday 5 December 2026: Monday 7 December is the first working day after it.

    So the 40th is one working day earlier than for a declaration on the Monday (above):
    Wednesday 3 February 2027.
    """
    assert exchange.window_end(dt.date(2026, 12, 5)) == dt.date(2027, 2, 3)


def test_a_window_end_needs_a_date():
    with pytest.raises(InvalidArgumentError, match=r"declared_on='2026-12-07' is not valid"):
        exchange.window_end("2026-12-07")


def test_a_declared_site_is_offered_first_to_every_other_body(store):
    offer_id = exchange.declare_disposal(store, ANN, "P1", contact="estates@kent.police")
    listed = exchange.disposals(store, BOB)
    assert listed[["offer_id", "agency", "area", "site_name", "declared_on"]].values.tolist() == [
        [offer_id, "Kent Police", "Maidstone", "Maidstone Police Office", "2026-12-07"]
    ]
    assert listed[["window_ends", "working_days_left", "state", "interest"]].values.tolist() == [
        ["2027-02-04", 40, "first refusal", 0]
    ]
    offer = exchange.offers(store, BOB).set_index("offer_id").loc[offer_id]
    assert (offer["kind"], offer["state"], offer["window_ends"]) == (
        "disposal",
        "first refusal",
        "2027-02-04",
    )
    # Christmas week: Tuesday 22 Dec leaves 23-24 Dec, 29-31 Dec and 4 Jan-4 Feb (2 + 3 + 24)
    late = exchange.disposals(store, BOB, today=dt.date(2026, 12, 22))
    assert late["working_days_left"].tolist() == [29]
    entries = [(e["action"], e["what"]) for e in store.audit_entries()]
    assert (
        "exchange",
        f"disposal {offer_id} declared: site P1, first refusal until 2027-02-04",
    ) in entries


def test_declaring_again_keeps_the_window(store, monkeypatch):
    offer_id = exchange.declare_disposal(store, ANN, "P1")
    monkeypatch.setattr(_clock, "FIXED", _at(dt.date(2027, 1, 20)))
    assert exchange.declare_disposal(store, ANN, "P1", terms="offers over £1m") == offer_id
    row = store.exchange("offers").iloc[0]
    assert (row["declared_on"], row["terms"], row["version"]) == (
        "2026-12-07",
        "offers over £1m",
        2,
    )


def test_interest_is_recorded_during_the_window_and_counted_for_the_holder(store, monkeypatch):
    offer_id = exchange.declare_disposal(store, ANN, "P1")
    first = exchange.express_interest(store, BOB, offer_id, note="for a hub")
    assert first.startswith("I")
    exchange.express_interest(store, CAT, offer_id)
    # again: the agency's interest is changed, not counted twice
    assert exchange.express_interest(store, BOB, offer_id, note="for a clinic") == first
    interest = store.exchange("interest")
    assert interest[["agency", "note", "version"]].values.tolist() == [
        ["Kent NHS", "for a clinic", 2],
        ["Tunbridge Wells BC", "", 1],
    ]
    assert exchange.disposals(store, ANN)["interest"].tolist() == [2]  # the holder: all
    assert exchange.disposals(store, BOB)["interest"].tolist() == [1]  # others: their own
    assert exchange.disposals(store, Viewer("guest"))["interest"].tolist() == [0]
    with pytest.raises(PermissionDeniedError, match=rf"Offer {offer_id} is your own agency's"):
        exchange.express_interest(store, ANN, offer_id)
    with pytest.raises(PermissionDeniedError, match=r"to express interest: you have no agency"):
        exchange.express_interest(store, Viewer("guest"), offer_id)
    monkeypatch.setattr(_clock, "FIXED", _at(dt.date(2027, 2, 5)))
    with pytest.raises(
        InvalidArgumentError,
        match=rf"Offer {offer_id} is first refusal: its first-refusal window ended on 2027-02-04",
    ):
        exchange.express_interest(store, CAT, offer_id)


def test_open_sale_is_refused_until_the_day_after_the_window(store):
    offer_id = exchange.declare_disposal(store, ANN, "P1")
    with pytest.raises(
        InvalidArgumentError,
        match=rf"Offer {offer_id} is in its first-refusal window until 2027-02-04: it may be "
        r"marked for open sale from 2027-02-05\.",
    ):
        exchange.mark_open_sale(store, ANN, offer_id, version=1, today=dt.date(2027, 2, 4))
    with pytest.raises(
        PermissionDeniedError, match=rf"Offer {offer_id} is Kent Police's: only Kent Police may"
    ):
        exchange.mark_open_sale(store, BOB, offer_id, version=1, today=dt.date(2027, 2, 5))
    exchange.mark_open_sale(store, ANN, offer_id, version=1, today=dt.date(2027, 2, 5))
    assert exchange.disposals(store, BOB, today=dt.date(2027, 2, 5))[
        ["state", "working_days_left"]
    ].values.tolist() == [["open sale", 0]]
    with pytest.raises(ConflictError, match=rf"Offer {offer_id} was changed by ann@"):
        exchange.mark_open_sale(store, ANN, offer_id, version=1, today=dt.date(2027, 2, 6))
    with pytest.raises(ConflictError, match=rf"Offer {offer_id} is open sale; nothing changed"):
        exchange.mark_open_sale(store, ANN, offer_id, version=2, today=dt.date(2027, 2, 6))
    entries = [(e["action"], e["what"]) for e in store.audit_entries()]
    assert ("exchange", f"disposal {offer_id} marked for open sale") in entries
    assert sum(action == "exchange refused" for action, _ in entries) == 4


def test_interest_and_open_sale_are_for_disposals_only(store):
    space = exchange.declare_offer(store, ANN, "P1", sqft=100)
    with pytest.raises(InvalidArgumentError, match=rf"Offer {space} is an offer of space, not"):
        exchange.express_interest(store, BOB, space)
    with pytest.raises(DataNotFoundError, match=r"There is no offer O0000 that you can see\."):
        exchange.express_interest(store, BOB, "O0000")


def test_a_withdrawn_disposal_is_no_longer_listed(store):
    offer_id = exchange.declare_disposal(store, ANN, "P1")
    exchange.withdraw_offer(store, ANN, offer_id, version=1)
    assert exchange.disposals(store, ANN).empty and exchange.disposals(store, BOB).empty


def test_first_refusal_on_any_store(any_store, monkeypatch):
    monkeypatch.setattr(_clock, "FIXED", _at(DECLARED))
    police = open_store(any_store, viewer=ANN)
    health = open_store(any_store, viewer=BOB)
    import_register(POLICE.encode(), name="police.csv", store=police, agency="Kent Police")
    import_register(HEALTH.encode(), name="health.csv", store=health, agency="Kent NHS")
    offer_id = exchange.declare_disposal(police, ANN, "P1")
    exchange.express_interest(health, BOB, offer_id, note="yes")
    assert exchange.disposals(police, ANN)["interest"].tolist() == [1]
    assert exchange.disposals(health, BOB)[["window_ends", "interest"]].values.tolist() == [
        ["2027-02-04", 1]
    ]
    exchange.mark_open_sale(police, ANN, offer_id, version=1, today=dt.date(2027, 2, 5))
    assert exchange.disposals(health, BOB)["state"].tolist() == ["open sale"]


def test_the_module_examples_hold():
    import doctest

    result = doctest.testmod(_calendar)
    assert result.attempted >= 1 and result.failed == 0
