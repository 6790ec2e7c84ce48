"""The attacker's tests: another agency cannot see, count, move or infer a restricted offer.

Kent Police (A) holds an open site (P1) and a restricted one (P2, a custody suite).
Kent NHS (B) tries everything it can to learn of an offer on P2: the offers list, the
disposals list, their lengths, offers compared with and without the site, proposing to
its id, withdrawing it, expressing interest in it. Unless A marked the offer itself open,
B learns nothing; when A did, B sees exactly the offer's own fields and none of the
site's.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from assetmap import exchange
from assetmap.access import Viewer
from assetmap.errors import DataNotFoundError
from assetmap.exchange.disclosure import OPEN_OFFER_FIELDS
from assetmap.registers.importer import import_register
from assetmap.store import open_store
from tests.exchange_estates import error, fixed_clock_at, same_error

HEADER = "Property reference,Site name,Address,Postcode,UPRN,GIA (sq ft),Vacant space (sq ft),"
HEADER += "Sensitivity,Use\n"
P1 = "P1,Maidstone Police Office,1 Palace Avenue,ME14 1XX,100001,95000,4000,open,office\n"
P2 = "P2,Custody Suite,9 Secret Lane,TN9 1SP,100002,12000,3000,restricted,custody suite\n"
HEALTH = "Property reference,Site name,Postcode,GIA (sq ft)\nH1,The Hub,TN1 1AA,5000\n"

ANN = Viewer("ann@kent.police.example", agency="Kent Police", signed_in=True)
BOB = Viewer("bob@nhs.example", agency="Kent NHS", signed_in=True)
GUEST = Viewer("guest")

#: What B may never see of P2, anywhere (its name, address, postcode, UPRN, floor area...).
SECRETS = ("Custody", "Secret Lane", "TN9 1SP", "100002", "12000", "custody suite")


fixed_clock = fixed_clock_at(dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))


def _estate(location, *, with_p2: bool = True):
    store = open_store(location)
    police = HEADER + P1 + (P2 if with_p2 else "")
    import_register(police.encode(), name="police.csv", store=store, agency="Kent Police")
    import_register(HEALTH.encode(), name="health.csv", store=store, agency="Kent NHS")
    return store


@pytest.fixture
def store(tmp_path):
    return _estate(tmp_path / "with.gpkg")


@pytest.fixture
def without(tmp_path):
    """The same estate without P2 at all: what B must not be able to tell apart."""
    return _estate(tmp_path / "without.gpkg", with_p2=False)


def _p2_id(store) -> str:
    sites = store.sites()
    return str(sites.loc[sites["source_ref"] == "P2", "site_id"].iloc[0])


def _everything_b_sees(store) -> dict[str, pd.DataFrame]:
    return {
        "offers": exchange.offers(store, BOB),
        "disposals": exchange.disposals(store, BOB),
        "guest offers": exchange.offers(store, GUEST),
    }


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name, frame in a.items():
        pd.testing.assert_frame_equal(frame, b[name], check_exact=True, obj=name)


def test_a_restricted_site_with_offers_looks_exactly_like_no_site(store, without):
    # the register's spare space of P2, a space offer and a disposal, none marked open
    space = exchange.declare_offer(store, ANN, "P2", sqft=2_500, contact="ann")
    disposal = exchange.declare_disposal(store, ANN, "P2")
    _assert_same(_everything_b_sees(store), _everything_b_sees(without))
    assert len(exchange.offers(store, BOB)) == 1  # P1's register offer only
    # A sees both of its own offers, with the site
    mine = exchange.offers(store, ANN).set_index("offer_id")
    assert mine.loc[space, "site_name"] == mine.loc[disposal, "site_name"] == "Custody Suite"


def test_withdrawing_or_changing_a_hidden_offer_changes_nothing_b_sees(store):
    before = _everything_b_sees(store)
    space = exchange.declare_offer(store, ANN, "P2", sqft=2_500)
    _assert_same(before, _everything_b_sees(store))
    exchange.declare_offer(store, ANN, "P2", sqft=100)
    _assert_same(before, _everything_b_sees(store))
    exchange.withdraw_offer(store, ANN, space, version=2)
    _assert_same(before, _everything_b_sees(store))


def test_stepping_a_filter_over_the_offers_finds_nothing(store, without):
    exchange.declare_offer(store, ANN, "P2", sqft=2_500)
    for least in (0, 1_000, 2_000, 2_499, 2_500, 2_501, 3_000, 4_000):
        with_p2 = exchange.offers(store, BOB)
        no_p2 = exchange.offers(without, BOB)
        pd.testing.assert_frame_equal(
            with_p2[with_p2["sqft"] >= least].reset_index(drop=True),
            no_p2[no_p2["sqft"] >= least].reset_index(drop=True),
        )
    for day in (dt.date(2026, 12, 8), dt.date(2027, 6, 1)):
        pd.testing.assert_frame_equal(
            exchange.offers(store, BOB, today=day), exchange.offers(without, BOB, today=day)
        )


def test_a_hidden_offer_id_gets_the_message_an_unknown_id_gets(store):
    space = exchange.declare_offer(store, ANN, "P2", sqft=2_500)
    disposal = exchange.declare_disposal(store, ANN, "P2")
    unknown = "O" + "0" * 16
    request_id = exchange.save_request(store, BOB, sqft=2_000, postcode="TN1 1AA")
    attempts = {
        "find": lambda offer_id: exchange.find_offer(store, BOB, offer_id),
        "withdraw": lambda offer_id: exchange.withdraw_offer(store, BOB, offer_id, version=1),
        "interest": lambda offer_id: exchange.express_interest(store, BOB, offer_id),
        "open sale": lambda offer_id: exchange.mark_open_sale(store, BOB, offer_id, version=1),
        "propose": lambda offer_id: exchange.propose(
            store, BOB, offer_id=offer_id, request_id=request_id
        ),
    }
    for name, attempt in attempts.items():
        for hidden in (space, disposal):
            hidden_error = error(lambda a=attempt, h=hidden: a(h))
            unknown_error = error(lambda a=attempt: a(unknown))
            same_error(hidden_error, unknown_error, hidden, unknown)
            assert isinstance(hidden_error, DataNotFoundError), name
    with pytest.raises(DataNotFoundError, match=rf"^There is no offer {space} that you can see\.$"):
        exchange.find_offer(store, BOB, space)
    # a register offer on the restricted site is unknown alike
    from assetmap.exchange._ids import register_offer_id

    register = register_offer_id("Kent Police", "police.csv", _p2_id(store))
    same_error(
        error(lambda: exchange.find_offer(store, BOB, register)),
        error(lambda: exchange.find_offer(store, BOB, "R" + "0" * 16)),
        register,
        "R" + "0" * 16,
    )
    # and the refusals B's attempts wrote to the audit log say no more than the messages
    refused = [e["what"] for e in store.audit_entries() if e["action"] == "exchange refused"]
    assert refused and not any(secret in what for what in refused for secret in SECRETS)
    assert not any("Kent Police" in what for what in refused)


def test_b_cannot_offer_or_declare_the_restricted_site_and_is_told_nothing(store):
    p2 = _p2_id(store)
    for call in (
        lambda site: exchange.declare_offer(store, BOB, site, sqft=1),
        lambda site: exchange.declare_disposal(store, BOB, site),
    ):
        hidden = error(lambda c=call: c(p2))
        unknown = error(lambda c=call: c("S" + "0" * 16))
        same_error(hidden, unknown, p2, "S" + "0" * 16)
        hidden = error(lambda c=call: c("P2"))
        unknown = error(lambda c=call: c("P9"))
        same_error(hidden, unknown, "P2", "P9")


def test_an_offer_marked_open_shows_its_own_fields_and_none_of_the_site(store, without):
    space = exchange.declare_offer(
        store,
        ANN,
        "P2",
        sqft=2_500,
        available_from="2027-04-01",
        terms="shared costs",
        contact="estates@kent.police.example",
        open=True,
    )
    disposal = exchange.declare_disposal(store, ANN, "P2", open=True, contact="estates")
    listed = exchange.offers(store, BOB)
    # the open offers are added to what B would see without the site; nothing else changes
    others = listed[~listed["offer_id"].isin([space, disposal])].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, exchange.offers(without, BOB))
    shown = listed[listed["offer_id"].isin([space, disposal])].set_index("offer_id")
    assert shown.loc[
        space, ["kind", "agency", "sqft", "available_from", "terms", "contact"]
    ].tolist() == [
        "space",
        "Kent Police",
        2_500.0,
        "2027-04-01",
        "shared costs",
        "estates@kent.police.example",
    ]
    assert shown.loc[space, "area"] == "Tonbridge and Malling"  # the district, no more
    assert shown.loc[disposal, ["state", "window_ends"]].tolist() == ["first refusal", "2027-02-04"]
    allowed = set(OPEN_OFFER_FIELDS) | {"origin", "open"}
    for offer_id, row in shown.reset_index().set_index("offer_id").iterrows():
        given = {
            column
            for column, value in row.items()
            if not (value == "" or value == 0 or (isinstance(value, float) and np.isnan(value)))
        }
        assert given <= allowed, (offer_id, given - allowed)
        text = " ".join(str(v) for v in row.tolist())
        assert not any(secret in text for secret in SECRETS), offer_id
        assert _p2_id(store) not in text
    # the disposals list shows the window, not the site
    row = exchange.disposals(store, BOB).set_index("offer_id").loc[disposal]
    assert (row["site_name"], row["area"], row["window_ends"]) == (
        "",
        "Tonbridge and Malling",
        "2027-02-04",
    )
    # a viewer with no agency sees the open offers too, the same way
    guest = exchange.offers(store, GUEST).set_index("offer_id")
    assert guest.loc[space, "site_name"] == "" and np.isnan(guest.loc[space, "easting"])


def test_an_open_offer_whose_site_use_is_not_given_does_not_take_the_site_use(store):
    space = exchange.declare_offer(store, ANN, "P2", sqft=2_500, open=True)
    row = exchange.offers(store, BOB).set_index("offer_id").loc[space]
    assert row["use"] == ""
    p1 = exchange.declare_offer(store, ANN, "P1", sqft=4_000)
    assert exchange.offers(store, BOB).set_index("offer_id").loc[p1, "use"] == "office"


def test_b_may_propose_to_an_open_offer_but_the_match_names_no_site(store):
    space = exchange.declare_offer(store, ANN, "P2", sqft=2_500, open=True)
    request_id = exchange.save_request(store, BOB, sqft=2_000, postcode="TN1 1AA")
    match_id = exchange.propose(store, BOB, offer_id=space, request_id=request_id)
    seen = exchange.matches(store, BOB).set_index("match_id").loc[match_id]
    text = " ".join(str(v) for v in seen.tolist())
    assert not any(secret in text for secret in SECRETS) and _p2_id(store) not in text


def test_open_and_restricted_offers_on_any_store(any_store):
    police = open_store(any_store, viewer=ANN)
    health = open_store(any_store, viewer=BOB)
    import_register(
        (HEADER + P1 + P2).encode(), name="police.csv", store=police, agency="Kent Police"
    )
    import_register(HEALTH.encode(), name="health.csv", store=health, agency="Kent NHS")
    before = exchange.offers(health, BOB)
    hidden = exchange.declare_offer(police, ANN, "P2", sqft=2_500)
    pd.testing.assert_frame_equal(before, exchange.offers(health, BOB))
    same_error(
        error(lambda: exchange.find_offer(health, BOB, hidden)),
        error(lambda: exchange.find_offer(health, BOB, "O" + "0" * 16)),
        hidden,
        "O" + "0" * 16,
    )
    shown = exchange.declare_offer(police, ANN, "P2", sqft=2_000, open=True)
    assert shown == hidden
    row = exchange.offers(health, BOB).set_index("offer_id").loc[shown]
    assert (row["sqft"], row["site_name"], row["site_id"], row["postcode"]) == (2_000.0, "", "", "")
