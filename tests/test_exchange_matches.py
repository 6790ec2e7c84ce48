"""The exchange's matches: each move allowed and refused, audited; inboxes; concurrency; the plan.

An estate of three agencies, imported from small CSVs: Kent Police holds Maidstone
Police Office with 50,000 sq ft spare, Kent Community Health needs 40,000 sq ft of
office space beside it, and Medway Council (the third agency) holds a site of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pandas as pd
import pytest

from assetmap.access import Viewer, visible_requests, visible_sites
from assetmap.errors import (
    ConflictError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from assetmap.exchange import inbox, matches, move, propose, propose_from_plan
from assetmap.exchange.matches import FINAL, MOVES, STATES
from assetmap.exchange.offers import declare_offer, offers
from assetmap.matching import allocate, find_candidates
from tests.exchange_estates import (
    COUNCIL,
    HEALTH,
    HEALTH_TOO,
    NOBODY,
    POLICE,
    as_,
    estate_fixtures,
    fixed_clock_at,
    import_as,
)
from tests.test_matching import offers as site_rows
from tests.test_matching import requests as request_rows

POLICE_SITES = (
    "Property reference,Site name,Postcode,Use,GIA (sq ft),Vacant space (sq ft),"
    "Security Classification\n"
    "P1,Maidstone Police Office,ME14 1XX,Office,95000,50000,OFFICIAL\n"
    "P2,Custody Suite,ME14 1XX,Office,20000,15000,OFFICIAL-SENSITIVE\n"
)
HEALTH_REQUESTS = (
    "Request ref,Space needed (sq ft),Use,Postcode\nH1,40000,Office,ME14 1XX\n"
    "H2,5000,Office,ME14 1XX\n"
)
COUNCIL_SITES = (
    "Property reference,Site name,Postcode,Use,GIA (sq ft)\nC1,Civic Centre,ME14 1XX,Office,30000\n"
)

#: When every move of these tests happens (the exchange's clock, fixed).
AT = dt.datetime(2026, 12, 5, 10, 2, 11, tzinfo=dt.UTC)


fixed_clock = fixed_clock_at(AT)


def fill(location: Path | str) -> Path | str:
    """Import the three agencies' registers into the store at ``location``."""
    import_as(location, POLICE, POLICE_SITES, "police.csv", "police")
    import_as(location, HEALTH, HEALTH_REQUESTS, "requests.csv", "health", "requests")
    import_as(location, COUNCIL, COUNCIL_SITES, "council.csv", "council")
    return location


#: The estate in a GeoPackage store, and (``any_estate``) in each store.
estate, any_estate = estate_fixtures(fill)


def offer_at(location, viewer: Viewer, name: str = "Maidstone Police Office") -> str:
    listed = offers(as_(location, viewer), viewer)
    return str(listed.loc[listed["site_name"] == name, "offer_id"].iloc[0])


def site_id_of(location, name: str) -> str:
    return str(as_(location, POLICE).sites().set_index("name").loc[name, "site_id"])


def request_of(location, ref: str = "H1") -> str:
    requests = as_(location, HEALTH).requests()
    return str(requests.loc[requests["source_ref"] == ref, "request_id"].iloc[0])


def proposed(location, by: Viewer = HEALTH, **kwargs) -> str:
    return propose(
        as_(location, by),
        by,
        offer_id=offer_at(location, by),
        request_id=request_of(location),
        **kwargs,
    )


def the_match(location, viewer: Viewer, match_id: str) -> dict:
    mine = matches(as_(location, viewer), viewer)
    return mine[mine["match_id"] == match_id].iloc[0].to_dict()


def last_audit(location, viewer: Viewer) -> dict:
    return as_(location, viewer).audit_entries()[-1]


#: The moves that bring a match from proposed to each state: (mover, action).
PATHS = {
    "proposed": [],
    "offered": [(POLICE, "offer")],
    "accepted": [(POLICE, "offer"), (HEALTH, "accept")],
    "completed": [(POLICE, "offer"), (HEALTH, "accept"), (POLICE, "complete")],
    "declined": [(POLICE, "decline")],
    "withdrawn": [(HEALTH, "withdraw")],
}


def brought_to(location, state: str) -> str:
    """Propose a match and move it on to ``state``; return its id."""
    match_id = proposed(location)
    for version, (viewer, action) in enumerate(PATHS[state], start=1):
        move(as_(location, viewer), viewer, match_id, action, version=version)
    return match_id


# --------------------------------------------------------------------------- the lifecycle


def test_the_lifecycle_is_one_table_of_moves():
    assert set(STATES) == {"proposed", "offered", "accepted", "completed", "declined", "withdrawn"}
    assert set(FINAL) == {"completed", "declined", "withdrawn"}
    assert {a: r["to"] for a, r in MOVES.items()} == {
        "offer": "offered",
        "accept": "accepted",
        "complete": "completed",
        "decline": "declined",
        "withdraw": "withdrawn",
    }
    # no move leaves a final state
    assert not any(set(r["from"]) & set(FINAL) for r in MOVES.values())


def test_a_match_proposed_offered_accepted_and_completed_moves_the_space(estate):
    match_id = proposed(estate, note="we need it from April")
    assert the_match(estate, HEALTH, match_id)["state"] == "proposed"
    assert last_audit(estate, HEALTH)["action"] == "exchange"
    assert last_audit(estate, HEALTH)["what"] == f"match {match_id} proposed"
    for version, (viewer, action, state) in enumerate(
        [
            (POLICE, "offer", "offered"),
            (HEALTH, "accept", "accepted"),
            (POLICE, "complete", "completed"),
        ],
        start=1,
    ):
        done = move(as_(estate, viewer), viewer, match_id, action, version=version)
        assert done["state"] == state
        assert done["version"] == version + 1
        assert done["updated_by"] == viewer.user
        entry = last_audit(estate, viewer)
        assert (entry["action"], entry["what"]) == ("exchange", f"match {match_id} {state}")
        assert (entry["user"], entry["agency"]) == (viewer.user, viewer.agency)
    sites = as_(estate, POLICE).sites().set_index("name")
    requests = as_(estate, HEALTH).requests().set_index("source_ref")
    assert sites.loc["Maidstone Police Office", "surplus_sqft"] == 10_000
    assert requests.loc["H1", "space_needed_sqft"] == 0
    assert the_match(estate, POLICE, match_id)["note"] == "we need it from April"


@pytest.mark.parametrize(
    ("state", "viewer", "action", "ends"),
    [
        ("proposed", POLICE, "decline", "declined"),
        ("offered", HEALTH, "decline", "declined"),
        ("proposed", HEALTH, "withdraw", "withdrawn"),
        ("proposed", POLICE, "withdraw", "withdrawn"),
        ("offered", POLICE, "withdraw", "withdrawn"),
        ("accepted", HEALTH, "withdraw", "withdrawn"),
        ("accepted", HEALTH, "complete", "completed"),
    ],
)
def test_each_other_move_is_allowed_to_its_party_and_audited(estate, state, viewer, action, ends):
    match_id = brought_to(estate, state)
    version = len(PATHS[state]) + 1
    done = move(as_(estate, viewer), viewer, match_id, action, version=version, note="sorry")
    assert (done["state"], done["version"]) == (ends, version + 1)
    entry = last_audit(estate, viewer)
    if action == "complete":  # the store's completion keeps no note: the audit line does
        assert done["note"] == ""
        assert entry["what"] == f"match {match_id} {ends} (note: sorry)"
    else:
        assert done["note"] == "sorry"
        assert entry["what"] == f"match {match_id} {ends}"
    assert entry["action"] == "exchange"


@pytest.mark.parametrize(
    ("state", "viewer", "action", "version", "error", "message"),
    [
        # the other party's move
        (
            "proposed",
            HEALTH,
            "offer",
            1,
            PermissionDeniedError,
            r"is proposed: only Kent Police \(the space\) may offer it now",
        ),
        (
            "offered",
            POLICE,
            "accept",
            2,
            PermissionDeniedError,
            r"is offered: only Kent Community Health \(the request\) may accept it now",
        ),
        (
            "proposed",
            HEALTH,
            "decline",
            1,
            PermissionDeniedError,
            r"only Kent Police \(the space\) may decline it now",
        ),
        # a move the state does not allow
        (
            "proposed",
            POLICE,
            "complete",
            1,
            InvalidArgumentError,
            "is proposed: it can be completed only when it is accepted",
        ),
        (
            "offered",
            HEALTH,
            "offer",
            2,
            InvalidArgumentError,
            "is offered: it can be offered only when it is proposed",
        ),
        # a stale version: what happened, by whom, when
        (
            "offered",
            HEALTH,
            "accept",
            1,
            ConflictError,
            r"was offered by pc.jones@kent.police.example at 10:02:11 UTC; nothing changed\.",
        ),
        # final states
        ("completed", HEALTH, "withdraw", 4, InvalidArgumentError, "is completed: it cannot"),
        ("declined", HEALTH, "withdraw", 2, InvalidArgumentError, "is declined: it cannot"),
        ("withdrawn", POLICE, "offer", 2, InvalidArgumentError, "is withdrawn: it cannot be"),
        # not a party, or no agency
        ("proposed", COUNCIL, "offer", 1, DataNotFoundError, "There is no match M"),
        (
            "proposed",
            NOBODY,
            "withdraw",
            1,
            PermissionDeniedError,
            r"Set \$ASSETMAP_AGENCY or sign in as an agency to move a match on",
        ),
        ("proposed", POLICE, "approve", 1, InvalidArgumentError, "action='approve' is not valid"),
    ],
)
def test_each_refused_move_says_why_changes_nothing_and_is_audited(
    estate, state, viewer, action, version, error, message
):
    match_id = brought_to(estate, state)
    before = as_(estate, POLICE).exchange("matches")
    with pytest.raises(error, match=message):
        move(as_(estate, viewer), viewer, match_id, action, version=version)
    pd.testing.assert_frame_equal(as_(estate, POLICE).exchange("matches"), before)
    entry = as_(estate, POLICE).audit_entries()[-1]
    assert entry["action"] == "exchange refused"
    assert entry["what"].startswith(f"{action} match {match_id}: ")
    assert pd.Series([entry["what"]]).str.contains(message).all()
    assert (entry["user"], entry["agency"]) == (viewer.user, viewer.agency)


def test_a_version_that_is_not_a_number_and_a_note_that_is_not_text_are_refused_together(estate):
    match_id = proposed(estate)
    with pytest.raises(
        InvalidArgumentError,
        match=r"version='1' is not valid; expected the version you read; note=5 is not valid",
    ):
        move(as_(estate, POLICE), POLICE, match_id, "offer", version="1", note=5)


# --------------------------------------------------------------------------- proposing


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sqft": 60_000}, InvalidArgumentError, "has 50,000 sq ft spare: a match cannot move"),
        ({"sqft": 0}, InvalidArgumentError, "A match must move more than 0 sq ft, not 0"),
        ({"proposed_by": "robot"}, InvalidArgumentError, "proposed_by='robot' is not valid"),
        ({"offer_id": "Rdeadbeefdeadbeef"}, DataNotFoundError, "no offer Rdeadbeefdeadbeef"),
        ({"request_id": "Rnothing"}, DataNotFoundError, "There is no space request Rnothing"),
    ],
)
def test_a_proposal_is_refused_with_its_reason_and_audited(estate, kwargs, error, message):
    args = {"offer_id": offer_at(estate, HEALTH), "request_id": request_of(estate), **kwargs}
    with pytest.raises(error, match=message):
        propose(as_(estate, HEALTH), HEALTH, **args)
    assert len(as_(estate, HEALTH).exchange("matches")) == 0
    entry = last_audit(estate, HEALTH)
    assert entry["action"] == "exchange refused"
    assert message.split(",")[0] in entry["what"]


def test_a_proposal_defaults_to_the_smaller_of_space_and_need(estate):
    match_id = proposed(estate)
    assert the_match(estate, HEALTH, match_id)["sqft"] == 40_000


def test_a_second_live_proposal_of_the_same_pair_is_refused(estate):
    match_id = proposed(estate)
    with pytest.raises(InvalidArgumentError, match=f"Match {match_id} .* is already proposed"):
        proposed(estate, by=POLICE)
    move(as_(estate, POLICE), POLICE, match_id, "decline", version=1)
    assert proposed(estate, by=POLICE) != match_id  # a declined match is over


def test_only_the_two_agencies_may_propose_and_an_agency_not_its_own_space(estate):
    with pytest.raises(
        PermissionDeniedError, match=r"Only Kent Police \(the space\) and Kent Community Health"
    ):
        proposed(estate, by=COUNCIL)
    with pytest.raises(PermissionDeniedError, match=r"Set \$ASSETMAP_AGENCY or sign in"):
        proposed(estate, by=NOBODY)
    # the police asks for space too: its own spare space is not an exchange
    import_as(
        estate,
        POLICE,
        "Request ref,Space needed (sq ft),Use,Postcode\nP9,1000,Office,ME14 1XX\n",
        "police requests.csv",
        "police",
        "requests",
    )
    with pytest.raises(
        InvalidArgumentError, match=r"Offer R[0-9a-f]{16} is Kent Police's own space: a match"
    ):
        propose(
            as_(estate, POLICE),
            POLICE,
            offer_id=offer_at(estate, POLICE),
            request_id=request_of(estate, "P9"),
        )


def test_a_restricted_sites_offer_is_unknown_to_another_agency_exactly_as_a_made_up_id(estate):
    custody = offer_at(estate, POLICE, "Custody Suite")
    messages = []
    for offer_id in (custody, "Rffffffffffffffff"):
        with pytest.raises(DataNotFoundError) as caught:
            propose(as_(estate, HEALTH), HEALTH, offer_id=offer_id, request_id=request_of(estate))
        messages.append(str(caught.value).replace(offer_id, "<id>"))
    assert messages[0] == messages[1] == "There is no offer <id> that you can see."


def test_a_closed_request_cannot_be_proposed(estate):
    match_id = brought_to(estate, "completed")
    assert match_id
    with pytest.raises(InvalidArgumentError, match=r"Request R[0-9a-f]+ is closed: its space"):
        proposed(estate)


def test_the_plan_proposes_its_pairs_where_the_viewer_is_a_party_once(estate):
    assert propose_from_plan(as_(estate, COUNCIL), COUNCIL) == []
    made = propose_from_plan(as_(estate, HEALTH), HEALTH)
    assert len(made) == 2  # H1 (40,000) and H2 (5,000) both fit in 50,000
    mine = matches(as_(estate, HEALTH), HEALTH).set_index("match_id")
    assert set(mine.loc[made, "proposed_by"]) == {"plan"}
    assert sorted(mine.loc[made, "sqft"]) == [5_000, 40_000]
    assert propose_from_plan(as_(estate, POLICE), POLICE) == []  # already proposed
    with pytest.raises(PermissionDeniedError, match=r"Set \$ASSETMAP_AGENCY"):
        propose_from_plan(as_(estate, NOBODY), NOBODY)


def test_a_refused_pair_of_the_plan_does_not_stop_the_others(estate, monkeypatch):
    import importlib

    matches_module = importlib.import_module("assetmap.exchange.matches")  # (not the function)
    h1 = request_of(estate, "H1")
    found = matches_module._the_request

    def h1_gone(store, viewer, request_id, request_file):
        if request_id == h1:  # withdrawn between the plan and its proposal
            raise DataNotFoundError(f"There is no space request {request_id} that you can see.")
        return found(store, viewer, request_id, request_file)

    monkeypatch.setattr(matches_module, "_the_request", h1_gone)
    made = propose_from_plan(as_(estate, HEALTH), HEALTH)
    mine = matches(as_(estate, HEALTH), HEALTH)
    assert mine["match_id"].tolist() == made
    assert mine["request_id"].tolist() == [request_of(estate, "H2")]
    refused = [e for e in as_(estate, HEALTH).audit_entries() if e["action"] == "exchange refused"]
    assert [e["what"] for e in refused] == [
        f"propose offer {mine['offer_id'].iloc[0]} for request {h1}: There is no space request "
        f"{h1} that you can see."
    ]


# --------------------------------------------------------------------------- inboxes


def test_the_inbox_shows_each_party_what_waits_on_it_and_a_third_agency_nothing(estate):
    first = proposed(estate)
    second = propose(
        as_(estate, HEALTH),
        HEALTH,
        offer_id=offer_at(estate, HEALTH),
        request_id=request_of(estate, "H2"),
    )
    move(as_(estate, POLICE), POLICE, second, "offer", version=1)
    police, health = inbox(as_(estate, POLICE), POLICE), inbox(as_(estate, HEALTH), HEALTH)
    # the police must offer the first; health must accept the second: each first in its inbox
    assert police["match_id"].tolist() == [first, second]
    assert police["waiting_on_you"].tolist() == [True, False]
    assert health["match_id"].tolist() == [second, first]
    assert health["waiting_on_you"].tolist() == [True, False]
    assert set(police["role"]) == {"holder"}
    assert set(health["role"]) == {"requester"}
    row = police.iloc[0]
    assert row["waiting_on"] == "Kent Police"
    assert row["site_name"] == "Maidstone Police Office"
    assert row["area"] == "Maidstone"
    assert row["request"] == "Kent Community Health: H1, needs 40,000 sq ft office near ME14 1XX"
    assert len(inbox(as_(estate, COUNCIL), COUNCIL)) == 0
    assert len(inbox(as_(estate, NOBODY), NOBODY)) == 0
    assert len(matches(as_(estate, COUNCIL), COUNCIL)) == 0


def test_an_accepted_match_waits_on_both_and_a_completed_one_on_nobody(estate):
    match_id = brought_to(estate, "accepted")
    for viewer in (POLICE, HEALTH):
        row = inbox(as_(estate, viewer), viewer).iloc[0]
        assert row["waiting_on"] == "Kent Police or Kent Community Health"
        assert bool(row["waiting_on_you"])
    move(as_(estate, POLICE), POLICE, match_id, "complete", version=3)
    for viewer in (POLICE, HEALTH):
        row = inbox(as_(estate, viewer), viewer).iloc[0]
        assert (row["state"], row["waiting_on"], bool(row["waiting_on_you"])) == (
            "completed",
            "",
            False,
        )


# --------------------------------------------------------------------------- at once


def both_at_once(location, match_id: str, action: str, version: int, movers) -> list:
    """Move one match from two threads that both read it first; return each outcome."""
    ready = threading.Barrier(len(movers))
    outcomes: list = [None] * len(movers)

    def run(i: int, viewer: Viewer) -> None:
        store = as_(location, viewer)
        write = store.exchange_write if action != "complete" else store.complete_match

        def held(*args, **kwargs):
            ready.wait(timeout=60)  # both have read and checked the match: now both write
            return write(*args, **kwargs)

        setattr(store, "exchange_write" if action != "complete" else "complete_match", held)
        try:
            outcomes[i] = move(store, viewer, match_id, action, version=version)
        except ConflictError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, v)) for i, v in enumerate(movers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _one_move_one_conflict(location, match_id, outcomes, state, version):
    moved = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(moved) == 1 and len(refused) == 1, outcomes
    winner = moved[0]["updated_by"]
    assert str(refused[0]) == (
        f"Match {match_id} was {state} by {winner} at 10:02:11 UTC; nothing changed."
    )
    stored = as_(location, POLICE).exchange("matches").set_index("match_id").loc[match_id]
    assert (stored["state"], stored["version"]) == (state, version)


def test_two_people_accepting_at_once_give_one_acceptance_and_one_clear_message(any_estate):
    match_id = brought_to(any_estate, "offered")
    outcomes = both_at_once(any_estate, match_id, "accept", 2, [HEALTH, HEALTH_TOO])
    _one_move_one_conflict(any_estate, match_id, outcomes, "accepted", 3)
    entries = as_(any_estate, HEALTH).audit_entries()
    assert sorted(e["action"] for e in entries[-2:]) == ["exchange", "exchange refused"]


def test_two_parties_completing_at_once_move_the_space_once(any_estate):
    match_id = brought_to(any_estate, "accepted")
    outcomes = both_at_once(any_estate, match_id, "complete", 3, [POLICE, HEALTH])
    _one_move_one_conflict(any_estate, match_id, outcomes, "completed", 4)
    sites = as_(any_estate, POLICE).sites().set_index("name")
    assert sites.loc["Maidstone Police Office", "surplus_sqft"] == 10_000


def test_the_lifecycle_on_each_store(any_estate):
    match_id = brought_to(any_estate, "completed")
    for viewer in (POLICE, HEALTH):
        assert inbox(as_(any_estate, viewer), viewer)["state"].tolist() == ["completed"]
    assert len(matches(as_(any_estate, COUNCIL), COUNCIL)) == 0
    with pytest.raises(InvalidArgumentError, match="is completed: it cannot be moved on"):
        move(as_(any_estate, HEALTH), HEALTH, match_id, "withdraw", version=4)
    with pytest.raises(DataNotFoundError, match=f"There is no match {match_id} that you can"):
        move(as_(any_estate, COUNCIL), COUNCIL, match_id, "withdraw", version=4)
    requests = as_(any_estate, HEALTH).requests().set_index("source_ref")
    assert requests.loc["H1", "space_needed_sqft"] == 0


# --------------------------------------------------------------------------- the plan


def plan_of(location, viewer: Viewer):
    store = as_(location, viewer)
    sites = visible_sites(store.sites(), viewer)
    requests = visible_requests(store.requests(), viewer)
    match = find_candidates(requests, sites, viewer_agency=viewer.agency)
    return match, allocate(match)


def test_a_completed_match_changes_the_plans_inputs_and_its_result(estate):
    match, plan = plan_of(estate, HEALTH)
    assert plan.total_sqft == 45_000
    assert sorted(plan.assignments["request_ref"]) == ["H1", "H2"]
    brought_to(estate, "completed")  # H1's 40,000 of the 50,000 spare
    sites = as_(estate, POLICE).sites().set_index("name")
    assert sites.loc["Maidstone Police Office", "surplus_sqft"] == 10_000
    requests = as_(estate, HEALTH).requests().set_index("source_ref")
    assert requests.loc["H1", "space_needed_sqft"] == 0
    match, plan = plan_of(estate, HEALTH)
    assert match.requests["request_ref"].tolist() == ["H2"]  # H1 is closed: skipped
    assert plan.assignments["request_ref"].tolist() == ["H2"]
    assert plan.total_sqft == 5_000
    assert plan.offers["remaining_sqft"].tolist() == [5_000]


def test_the_candidates_and_the_plan_skip_a_closed_request_and_a_site_with_no_space_left():
    sites = site_rows(
        {"name": "Full", "x": 0, "y": 0, "surplus_sqft": 0.0},
        {"name": "Spare", "x": 100, "y": 0, "surplus_sqft": 9_000.0},
    )
    requests = request_rows(
        {"source_ref": "closed", "x": 0, "y": 0, "space_needed_sqft": 0.0},
        {"source_ref": "open", "x": 0, "y": 0, "space_needed_sqft": 8e3},
    )
    match = find_candidates(requests, sites, as_of="2026-01-01")
    assert match.requests["request_ref"].tolist() == ["open"]
    assert match.candidates["offer_name"].tolist() == ["Spare"]
    plan = allocate(match)
    assert plan.assignments[["request_ref", "offer_name"]].values.tolist() == [["open", "Spare"]]
    closed_only = find_candidates(requests.iloc[[0]], sites, as_of="2026-01-01")
    assert closed_only.message == "No matches: there are no open space requests."
    assert allocate(closed_only).empty
    with pytest.raises(
        InvalidArgumentError,
        match=r"requests.space_needed_sqft is not valid for closed \(-1\); expected a number of "
        r"square feet, 0 \(closed\) or more",
    ):
        find_candidates(requests.assign(space_needed_sqft=[-1.0, 8e3]), sites)


def test_a_restricted_sites_space_is_matched_only_through_an_offer_marked_open(estate):
    custody = as_(estate, POLICE).sites().set_index("name").loc["Custody Suite", "site_id"]
    h2 = request_of(estate, "H2")
    # the police's own plan puts H2 in the custody suite; the plan it proposes is made
    # without it (health may not know of it: it is told what it would be told were the
    # suite not there), so both requests are proposed in the office
    _, plan = plan_of(estate, POLICE)
    placed = plan.assignments.set_index("request_ref")["offer_name"]
    assert placed.to_dict() == {"H1": "Maidstone Police Office", "H2": "Custody Suite"}
    made = propose_from_plan(as_(estate, POLICE), POLICE)
    office = str(site_id_of(estate, "Maidstone Police Office"))
    assert matches(as_(estate, POLICE), POLICE).set_index("match_id").loc[
        made, "site_id"
    ].tolist() == [office, office]
    assert office != custody
    for match_id in made:
        move(as_(estate, POLICE), POLICE, match_id, "withdraw", version=1)
    with pytest.raises(
        InvalidArgumentError,
        match=r"Offer R[0-9a-f]{16} is on a restricted site and not marked open, so no other",
    ):
        propose(
            as_(estate, POLICE),
            POLICE,
            offer_id=offer_at(estate, POLICE, "Custody Suite"),
            request_id=h2,
        )
    assert len(as_(estate, POLICE).exchange("matches")) == 2  # the plan's, withdrawn
    offer_id = declare_offer(as_(estate, POLICE), POLICE, custody, sqft=15_000, open=True)
    match_id = propose(as_(estate, POLICE), POLICE, offer_id=offer_id, request_id=h2)
    stored = as_(estate, HEALTH).exchange("matches").set_index("match_id").loc[match_id]
    assert (stored["site_id"], stored["site_file"], stored["site_owner"]) == ("", "", "")
    seen = matches(as_(estate, HEALTH), HEALTH).set_index("match_id").loc[match_id]
    assert (seen["site_name"], seen["area"], seen["sqft"]) == ("", "Maidstone", 5_000)
    assert custody not in seen.astype(str).tolist()
    own = matches(as_(estate, POLICE), POLICE).set_index("match_id").loc[match_id]
    assert own["site_name"] == "Custody Suite"
    for version, (viewer, action) in enumerate(PATHS["completed"], start=1):
        done = move(as_(estate, viewer), viewer, match_id, action, version=version)
        assert custody not in {str(v) for v in done.values()} or viewer is POLICE
    sites = as_(estate, POLICE).sites().set_index("name")
    assert sites.loc["Custody Suite", "surplus_sqft"] == 10_000


def test_whether_a_request_the_mover_may_not_see_is_closed_is_left_to_its_agency(estate):
    council = as_(estate, COUNCIL)
    civic = council.sites().set_index("name").loc["Civic Centre", "site_id"]
    declare_offer(council, COUNCIL, str(civic), sqft=30_000)
    h1 = request_of(estate)
    civic_offer = offer_at(estate, HEALTH, "Civic Centre")
    other = propose(as_(estate, HEALTH), HEALTH, offer_id=civic_offer, request_id=h1)
    brought_to(estate, "completed")  # the police's 40,000 sq ft closes H1
    import_as(  # health makes its requests restricted: the council may not see H1 now
        estate,
        HEALTH,
        HEALTH_REQUESTS.replace("Postcode\n", "Postcode,Security Classification\n").replace(
            "ME14 1XX\n", "ME14 1XX,OFFICIAL-SENSITIVE\n"
        ),
        "requests.csv",
        "health",
        "requests",
    )
    assert h1 not in set(visible_requests(council.requests(), COUNCIL)["request_id"])
    assert request_of(estate) == h1  # (still closed, for health)
    closed = as_(estate, HEALTH).requests().set_index("request_id").loc[h1, "space_needed_sqft"]
    assert closed == 0
    # the council is not told that H1 is closed: its offer is made...
    move(council, COUNCIL, other, "offer", version=1)
    assert the_match(estate, COUNCIL, other)["state"] == "offered"
    # ...and health, which sees H1, may not accept it
    with pytest.raises(
        InvalidArgumentError,
        match=rf"Match {other} cannot be accepted: its request {h1} is closed \(its space was",
    ):
        move(as_(estate, HEALTH), HEALTH, other, "accept", version=2)


def test_a_match_whose_request_another_match_closed_can_only_be_declined_or_withdrawn(estate):
    council = as_(estate, COUNCIL)
    civic = council.sites().set_index("name").loc["Civic Centre", "site_id"]
    declare_offer(council, COUNCIL, str(civic), sqft=30_000)
    other = propose(
        as_(estate, HEALTH),
        HEALTH,
        offer_id=offer_at(estate, HEALTH, "Civic Centre"),
        request_id=request_of(estate),
    )
    brought_to(estate, "completed")  # the police's 40,000 sq ft closes H1
    with pytest.raises(
        InvalidArgumentError,
        match=rf"Match {other} cannot be offered: its request .* is closed \(its space was found\)",
    ):
        move(council, COUNCIL, other, "offer", version=1)
    assert the_match(estate, COUNCIL, other)["state"] == "proposed"
    assert last_audit(estate, COUNCIL)["action"] == "exchange refused"
    move(council, COUNCIL, other, "decline", version=1)
    assert the_match(estate, HEALTH, other)["state"] == "declined"
