"""Scenarios: moves applied in order, totals by hand, refusals with reasons, who sees what."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import types

import numpy as np
import pandas as pd
import pytest

from assetmap.access import Viewer
from assetmap.colocation import colocation_clusters
from assetmap.errors import InvalidArgumentError
from assetmap.exchange._ids import register_offer_id
from assetmap.matching import allocate, find_candidates
from assetmap.savings import (
    DEFAULT_COST_PER_SQFT,
    DEFAULT_MOVING_COST_PER_SQFT,
    MOVING_COST_SOURCE,
    moving_cost,
)
from assetmap.scenarios import (
    MEASURES,
    MOVE_COLUMNS,
    Close,
    Dispose,
    Scenario,
    ScenarioResult,
    TakeOffer,
    compare,
    evaluate,
    from_cluster,
    from_plan,
    shares,
    visible_scenarios,
)
from tests.estates import geo_frame

TODAY = dt.date(2026, 12, 5)
D = DEFAULT_COST_PER_SQFT
POLICE = "Kent Police"
COUNCIL = "Kent County Council"
NHS = "Kent Community Health NHS Foundation Trust"
MEDWAY = "Medway Council"

SITE_DEFAULTS = {
    "site_id": "",
    "name": "",
    "agency": POLICE,
    "sector": "police",
    "use": "office",
    "use_class": "office",
    "tenure": "freehold",
    "floor_area_sqft": np.nan,
    "surplus_sqft": np.nan,
    "running_cost_gbp": np.nan,
    "lease_expiry": "",
    "next_break": "",
    "last_break": "",
    "notice_months": np.nan,
    "break_penalty_gbp": np.nan,
    "capital_value_gbp": np.nan,
    "sensitivity": "open",
    "source_file": "estate.csv",
    "source_owner": "",
}


def toy_sites(*, restricted: bool = True):
    """Five sites Kent Police may see, and (``restricted``) Medway's restricted custody suite."""
    rows = [
        dict(
            site_id="SA",
            name="Police HQ",
            x=0,
            y=0,
            floor_area_sqft=10_000.0,
            surplus_sqft=6_000.0,
            running_cost_gbp=200_000.0,
            capital_value_gbp=1_500_000.0,
            source_owner=POLICE,
        ),
        dict(
            site_id="SB",
            name="Council Office",
            x=100,
            y=0,
            agency=COUNCIL,
            sector="council",
            tenure="leasehold",
            floor_area_sqft=4_000.0,
            lease_expiry="2030-03-31",
            next_break="2027-06-30",
            notice_months=6.0,
            break_penalty_gbp=25_000.0,
            source_owner=COUNCIL,
        ),
        dict(
            site_id="SC",
            name="Clinic",
            x=200,
            y=0,
            agency=NHS,
            sector="health",
            floor_area_sqft=3_000.0,
            surplus_sqft=500.0,
            running_cost_gbp=90_000.0,
            capital_value_gbp=800_000.0,
            source_owner=NHS,
        ),
        dict(
            site_id="SD",
            name="Depot",
            x=300,
            y=0,
            agency=COUNCIL,
            sector="council",
            floor_area_sqft=2_000.0,
            surplus_sqft=0.0,
            running_cost_gbp=30_000.0,
            capital_value_gbp=400_000.0,
            source_owner=COUNCIL,
        ),
        dict(
            site_id="SE",
            name="Leased Office",
            x=0,
            y=100,
            agency=NHS,
            sector="health",
            tenure="leasehold",
            floor_area_sqft=5_000.0,
            surplus_sqft=3_000.0,
            running_cost_gbp=150_000.0,
            lease_expiry="2028-12-31",
            source_owner=NHS,
        ),
    ]
    if restricted:
        rows.insert(
            2,
            dict(
                site_id="SR",
                name="Custody Suite",
                x=50,
                y=50,
                agency=MEDWAY,
                sector="council",
                floor_area_sqft=8_000.0,
                surplus_sqft=7_000.0,
                running_cost_gbp=300_000.0,
                capital_value_gbp=2_000_000.0,
                sensitivity="restricted",
                source_owner=MEDWAY,
            ),
        )
    return geo_frame(rows, SITE_DEFAULTS)


REQUEST_DEFAULTS = {
    "request_id": "",
    "source_ref": "",
    "agency": COUNCIL,
    "sector": "council",
    "space_needed_sqft": 1_000.0,
    "use_class": "office",
    "sensitivity": "open",
    "source_file": "requests.csv",
}


def toy_requests():
    return geo_frame(
        [
            dict(request_id="Q1", source_ref="REQ-1", x=10, y=10, space_needed_sqft=1_500.0),
            dict(request_id="Q2", source_ref="REQ-2", x=20, y=20, space_needed_sqft=900.0),
            dict(
                request_id="QR",
                source_ref="REQ-R",
                x=30,
                y=30,
                agency=MEDWAY,
                sensitivity="restricted",
            ),
        ],
        REQUEST_DEFAULTS,
    )


def offer_of(site_id: str, owner: str) -> str:
    """The register offer id of a toy site's spare space."""
    return register_offer_id(owner, "estate.csv", site_id)


KP = Viewer("ann@kent.police.uk", agency=POLICE, signed_in=True)


def run(scenario, sites=None, **kwargs) -> ScenarioResult:
    kwargs.setdefault("viewer", KP)
    kwargs.setdefault("today", TODAY)
    kwargs.setdefault("requests", toy_requests())
    return evaluate(toy_sites() if sites is None else sites, scenario, **kwargs)


def move(result: ScenarioResult, number: int) -> dict:
    return result.moves.iloc[number - 1].to_dict()


# --------------------------------------------------------------------------- totals by hand


def test_totals_by_hand_on_a_toy_estate_every_measure():
    scenario = Scenario(
        "Maidstone hub",
        (
            Close("SB", into="SA"),  # 4,000 sq ft into the HQ's 6,000 spare
            Dispose("SD"),
            Close("SC", into="SA"),  # 2,500 sq ft > the 2,000 the HQ has left: refused
            Close("SC", into="SE"),  # 2,500 sq ft into 3,000 spare
            TakeOffer(offer_of("SA", POLICE), "Q1"),  # 1,500 of the HQ's 2,000 left
        ),
    )
    result = run(scenario)
    t = result.totals
    assert list(t.index) == list(MEASURES)
    assert list(t.columns) == ["before", "after", "change"]
    expected = {
        # the restricted custody suite of Medway is not Kent Police's to see
        "sites": (5, 2),
        "floor area (sq ft)": (24_000, 15_000),
        # B's cost is estimated from its floor area; the others are reported
        "running cost (£/yr)": (470_000 + 4_000 * D, 350_000),
        # HQ 6,000 - 4,000 - 1,500 = 500; Leased Office 3,000 - 2,500 = 500
        "surplus (sq ft)": (9_500, 1_000),
        "yearly saving (£/yr)": (0, 4_000 * D + 30_000 + 90_000 + 1_500 * D),
        "capital receipt (£)": (0, 400_000 + 800_000),
        "sites closed without a capital value": (0, 1),  # the Council Office
        "one-off moving cost (£)": (0, (4_000 + 2_500) * DEFAULT_MOVING_COST_PER_SQFT),
        "break penalties (£)": (0, 25_000),  # the Council Office leaves at its break
    }
    for measure, (before, after) in expected.items():
        assert t.loc[measure, "before"] == pytest.approx(before), measure
        assert t.loc[measure, "after"] == pytest.approx(after), measure
        assert t.loc[measure, "change"] == pytest.approx(after - before), measure
    assert result.open_after.tolist() == [True, False, False, False, True]
    assert result.sites["site_id"].tolist() == ["SA", "SB", "SC", "SD", "SE"]
    assert result.access is None
    assert (result.made, result.refused) == (4, 1)

    m = result.moves
    assert list(m.columns) == list(MOVE_COLUMNS)
    assert m["status"].tolist() == ["made", "made", "refused", "made", "made"]
    assert m["number"].tolist() == [1, 2, 3, 4, 5]
    assert m["kind"].tolist() == ["close", "dispose", "close", "close", "take offer"]
    assert m["sqft_moved"].tolist() == [4_000, 0, 0, 2_500, 1_500]
    assert m["moving_cost_gbp"].tolist() == [40_000, 0, 0, 25_000, 0]
    # the Council Office's 6 months' notice from 5 December 2026 passes 5 June 2027;
    # its break on 30 June 2027 is the first date after it
    first = move(result, 1)
    assert (first["move_date"], first["exit_by"], first["break_penalty_gbp"]) == (
        "2027-06-30",
        "break",
        25_000,
    )
    assert first["site_name"] == "Council Office" and first["into_name"] == "Police HQ"
    assert first["saving_basis"] == "estimated"
    assert first["yearly_saving_gbp"] == pytest.approx(4_000 * D)
    assert math.isnan(first["receipt_gbp"]) and "no capital value" in first["note"]
    assert move(result, 2)["move_date"] == "2026-12-05"  # freehold: today
    assert move(result, 2)["exit_by"] == "not leased"
    assert move(result, 2)["receipt_gbp"] == 400_000
    taken = move(result, 5)
    assert taken["offer_name"] == "Police HQ" and taken["request_name"] == "REQ-1"
    assert taken["yearly_saving_gbp"] == pytest.approx(1_500 * D)
    assert "reported for 4 sites" in result.notes["running cost (£/yr)"]
    assert "estimated from floor area for 1 site" in result.notes["running cost (£/yr)"]
    assert "1 site without a value" in result.notes["capital receipt (£)"]
    assert "£10.00 per sq ft" in result.notes["one-off moving cost (£)"]
    assert list(result.table().columns) == ["before", "after", "change", "note"]


def test_a_site_without_floor_area_moves_nothing_and_says_so():
    sites = toy_sites()
    sites.loc[sites["site_id"] == "SD", "floor_area_sqft"] = np.nan
    result = run(Scenario("s", [Close("SD", into="SA")]), sites)
    row = move(result, 1)
    assert row["status"] == "made" and row["sqft_moved"] == 0 and row["moving_cost_gbp"] == 0
    assert "floor area unknown: no space counted as moved" in row["note"]


def test_a_frame_without_the_lease_and_value_columns_counts_them_unknown():
    sites = toy_sites().drop(
        columns=[
            "next_break",
            "last_break",
            "notice_months",
            "break_penalty_gbp",
            "capital_value_gbp",
        ]
    )
    result = run(Scenario("s", [Close("SB", into="SA")]), sites)
    row = move(result, 1)
    # no break known: the Council Office leaves at its lease expiry
    assert (row["status"], row["move_date"], row["exit_by"]) == ("made", "2030-03-31", "expiry")
    assert result.totals.loc["capital receipt (£)", "after"] == 0
    assert result.totals.loc["sites closed without a capital value", "after"] == 1


def test_a_leased_site_with_no_usable_date_has_no_move_date():
    sites = toy_sites()
    sites.loc[sites["site_id"] == "SB", ["lease_expiry", "next_break"]] = ["2020-01-01", ""]
    row = move(run(Scenario("s", [Dispose("SB")]), sites), 1)
    assert (row["status"], row["move_date"], row["exit_by"]) == ("made", "", "dates unknown")
    assert "lease dates unknown" in row["note"]


def test_a_site_of_unknown_tenure_without_dates_is_left_today_with_a_note():
    sites = toy_sites()
    sites.loc[sites["site_id"] == "SD", "tenure"] = "unknown"
    row = move(run(Scenario("s", [Dispose("SD")]), sites), 1)
    assert (row["move_date"], row["exit_by"]) == ("2026-12-05", "tenure unknown")
    assert "tenure unknown: taken as free to leave today" in row["note"]


def test_an_own_rate_of_moving_cost_and_of_space_is_used():
    result = run(
        Scenario("s", [Close("SB", into="SA")]), cost_per_sqft=20.0, moving_cost_per_sqft=2.5
    )
    assert result.totals.loc["one-off moving cost (£)", "after"] == 10_000
    assert result.totals.loc["yearly saving (£/yr)", "after"] == 80_000  # 4,000 x £20
    assert "default" not in result.notes["one-off moving cost (£)"]


# --------------------------------------------------------------------------- refusals


def reasons(result: ScenarioResult) -> list[str]:
    return result.moves["reason"].tolist()


def test_refused_for_lack_of_space_with_both_figures():
    result = run(Scenario("s", [Close("SB", into="SA"), Close("SC", into="SA")]))
    assert move(result, 2)["status"] == "refused"
    assert move(result, 2)["reason"] == (
        "site Police HQ (SA) lacks the space: site Clinic (SC) occupies 2,500 sq ft and "
        "site Police HQ (SA) has 2,000 sq ft of surplus left"
    )
    # a refused move changes nothing
    assert result.totals.loc["sites", "after"] == 4
    assert move(result, 2)["sqft_moved"] == 0 and move(result, 2)["yearly_saving_gbp"] == 0


def test_refused_when_the_target_lease_ends_before_the_closed_sites_lease():
    result = run(Scenario("s", [Close("SB", into="SE")]))
    assert reasons(result) == [
        "the lease of site Leased Office (SE) ends first: on 2028-12-31, before the lease "
        "of site Council Office (SB) ends on 2030-03-31"
    ]
    assert move(result, 1)["status"] == "refused"


def test_refused_when_the_target_lease_ends_before_the_move():
    sites = toy_sites()
    at = sites["site_id"] == "SB"
    sites.loc[at, ["lease_expiry", "next_break", "notice_months"]] = ["", "2029-03-31", 0.0]
    result = run(Scenario("s", [Close("SB", into="SE")]), sites)
    assert reasons(result) == [
        "the lease of site Leased Office (SE) ends first: on 2028-12-31, before the move on "
        "2029-03-31"
    ]


def test_refused_when_a_site_was_closed_by_an_earlier_move():
    result = run(
        Scenario(
            "s", [Dispose("SD"), Close("SD", into="SA"), Close("SC", into="SD"), Dispose("SD")]
        )
    )
    assert reasons(result) == [
        "",
        "site Depot (SD) is closed already, by move 1",
        "site Depot (SD) is closed already, by move 1",
        "site Depot (SD) is closed already, by move 1",
    ]
    assert result.moves["status"].tolist() == ["made", "refused", "refused", "refused"]


def test_refused_when_a_site_moves_into_itself():
    result = run(Scenario("s", [Close("SA", into="SA")]))
    assert reasons(result) == ["site Police HQ (SA) cannot move into itself"]


def app_offers(**states):
    """The store's offers and offer_sites tables: one app offer per site id given."""
    offers = pd.DataFrame(
        {
            "offer_id": [f"O{site}" for site in states],
            "kind": "space",
            "agency": [POLICE if s == "SA" else MEDWAY for s in states],
            "sqft": 5_000.0,
            "state": list(states.values()),
            "open": "",
        }
    )
    links = pd.DataFrame(
        {
            "offer_id": [f"O{site}" for site in states],
            "site_id": list(states),
            "source_file": "estate.csv",
            "source_owner": [POLICE if s == "SA" else MEDWAY for s in states],
            "version": 1,
        }
    )
    return offers, links


def test_refused_when_the_offer_is_not_open_or_the_request_is_not_found():
    offers, links = app_offers(SA="withdrawn")
    result = run(
        Scenario("s", [TakeOffer("OSA", "Q1"), TakeOffer(offer_of("SA", POLICE), "QX")]),
        offers=offers,
        offer_sites=links,
    )
    assert reasons(result) == [
        "offer OSA is withdrawn, not open: it cannot be taken",
        "request QX is not in the estate you may see",
    ]


def test_an_open_app_offer_is_taken_and_its_sites_surplus_falls():
    offers, links = app_offers(SA="open")
    result = run(
        Scenario("s", [TakeOffer("OSA", "Q1"), TakeOffer("OSA", "Q1"), TakeOffer("OSA", "Q2")]),
        offers=offers,
        offer_sites=links,
    )
    assert result.moves["status"].tolist() == ["made", "refused", "made"]
    assert move(result, 2)["reason"] == "request Q1 has all its space already, from move 1"
    assert move(result, 1)["offer_site_id"] == "SA"
    assert result.totals.loc["surplus (sq ft)", "change"] == -(1_500 + 900)
    assert result.totals.loc["yearly saving (£/yr)", "after"] == pytest.approx(2_400 * D)


def test_an_offer_of_the_exchanges_list_is_found_by_the_site_its_row_names():
    listed = pd.DataFrame(
        {
            "offer_id": ["OX"],
            "kind": ["space"],
            "agency": [POLICE],
            "sqft": [5_000.0],
            "state": ["open"],
            "open": ["no"],
            "site_id": ["SA"],
            "source_file": ["estate.csv"],
            "source_owner": [POLICE],
        }
    )
    result = run(Scenario("s", [TakeOffer("OX", "Q1")]), offers=listed)
    assert (move(result, 1)["status"], move(result, 1)["offer_site_id"]) == ("made", "SA")
    assert result.totals.loc["surplus (sq ft)", "change"] == -1_500


def test_an_empty_scenario_changes_nothing_and_draws_empty_layers():
    result = run(Scenario("nothing yet"))
    assert (result.totals["change"] == 0).all()
    assert (result.totals["before"] == result.totals["after"]).all()
    assert len(result.moves) == 0 and list(result.moves.columns) == list(MOVE_COLUMNS)
    layers = result.layers()
    assert len(layers["moves"]) == 0 and len(layers["closed"]) == 0


def test_an_offer_lacking_the_space_is_refused_with_both_figures():
    result = run(
        Scenario("s", [Close("SB", into="SA"), TakeOffer(offer_of("SA", POLICE), "Q1")])
        .with_move(TakeOffer(offer_of("SA", POLICE), "Q2"))
        .with_move(Close("SC", into="SE"))
        .with_move(Dispose("SA"))
        .with_move(TakeOffer(offer_of("SA", POLICE), "Q2"))
    )
    # the HQ has 2,000 sq ft left after the Council Office moves in: Q1's 1,500 fits,
    # then Q2's 900 does not fit in the 500 left
    assert move(result, 3)["reason"] == (
        f"offer {offer_of('SA', POLICE)} lacks the space: request Q2 needs 900 sq ft and "
        "the offer has 500 sq ft left"
    )
    assert move(result, 6)["reason"] == (
        f"the site of offer {offer_of('SA', POLICE)}, Police HQ (SA), is closed already, by move 5"
    )


# --------------------------------------------------------------------------- restricted


def without_id(text: str, ident: str) -> str:
    assert ident in text
    return text.replace(ident, "<id>")


def masked(row: dict, ident: str) -> dict:
    """A move's row with the id given replaced by ``<id>``, its number dropped, NaN as None."""
    out = {}
    for key, value in row.items():
        if key == "number":
            continue
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value.replace(ident, "<id>") if isinstance(value, str) else value
    return out


def test_a_restricted_site_of_another_agency_is_refused_as_a_made_up_id_is():
    result = run(
        Scenario(
            "s",
            [
                Close("SR", into="SA"),
                Close("S-made-up", into="SA"),
                Close("SA", into="SR"),
                Close("SA", into="S-made-up"),
                Dispose("SR"),
                Dispose("S-made-up"),
            ],
        )
    )
    rows = result.moves.to_dict("records")
    assert rows[0]["reason"] == "site SR is not in the estate you may see"
    assert set(result.moves["status"]) == {"refused"}
    for restricted, made_up in ((0, 1), (2, 3), (4, 5)):
        a, b = rows[restricted], rows[made_up]
        assert without_id(a["reason"], "SR") == without_id(b["reason"], "S-made-up")
        # the whole row, not only the reason, is the same: nothing tells the two apart
        assert masked(a, "SR") == masked(b, "S-made-up")
    assert "Custody" not in result.moves.to_string()


def test_an_offer_on_another_agencys_restricted_site_is_refused_as_a_made_up_one():
    offers, links = app_offers(SR="open")  # not marked open to other agencies
    result = run(
        Scenario(
            "s", [TakeOffer("OSR", "Q1"), TakeOffer("O-made-up", "Q1"), TakeOffer("OSA", "QR")]
        ),
        offers=offers,
        offer_sites=links,
    )
    r = reasons(result)
    assert without_id(r[0], "OSR") == without_id(r[1], "O-made-up")
    assert r[0] == "offer OSR is not in the estate you may see"
    # Medway's restricted request is unknown to Kent Police, as an offer it may not see is
    assert "request QR" not in r[2] and r[2] == "offer OSA is not in the estate you may see"


def test_an_offer_marked_open_on_a_restricted_site_is_taken_without_its_site():
    offers, links = app_offers(SR="open")
    offers["open"] = "yes"
    result = run(Scenario("s", [TakeOffer("OSR", "Q1")]), offers=offers, offer_sites=links)
    row = move(result, 1)
    assert row["status"] == "made" and row["offer_name"] == "" and row["offer_site_id"] == ""
    assert result.totals.loc["surplus (sq ft)", "change"] == 0  # no site of its is counted
    assert result.totals.loc["yearly saving (£/yr)", "after"] == pytest.approx(1_500 * D)


def test_totals_equal_those_with_the_restricted_site_deleted_from_the_input():
    offers, links = app_offers(SR="open", SA="open")
    scenario = Scenario(
        "s",
        [
            Close("SB", into="SA"),
            Close("SR", into="SA"),
            Close("SC", into="SR"),
            Dispose("SD"),
            TakeOffer("OSR", "Q2"),
            TakeOffer("OSA", "Q1"),
        ],
    )
    kwargs = dict(offers=offers, offer_sites=links)
    with_it = run(scenario, toy_sites(restricted=True), **kwargs)
    without = run(scenario, toy_sites(restricted=False), **kwargs)
    pd.testing.assert_frame_equal(with_it.totals, without.totals)
    pd.testing.assert_frame_equal(with_it.moves, without.moves)
    assert with_it.notes == without.notes
    assert with_it.open_after.tolist() == without.open_after.tolist()
    # Medway itself sees its site, closes it into the HQ, and so cannot move into it after
    medway = run(scenario, viewer=MEDWAY, **kwargs)
    assert medway.totals.loc["sites", "before"] == 6
    assert move(medway, 2)["status"] == "made"
    assert move(medway, 3)["reason"] == "site Custody Suite (SR) is closed already, by move 2"


# --------------------------------------------------------------------------- compare, JSON


def test_compare_puts_two_scenarios_side_by_side():
    a = run(Scenario("Dispose the depot", [Dispose("SD")]))
    b = run(Scenario("Into the HQ", [Close("SB", into="SA"), Dispose("SD")]))
    table = compare(a, b)
    assert list(table.columns) == ["Dispose the depot", "Into the HQ", "difference"]
    assert list(table.index) == list(MEASURES)
    assert table.loc["sites", "Dispose the depot"] == 4
    assert table.loc["sites", "Into the HQ"] == 3
    assert table.loc["sites", "difference"] == -1
    assert table.loc["yearly saving (£/yr)", "difference"] == pytest.approx(4_000 * D)
    assert table.loc["one-off moving cost (£)", "difference"] == 40_000
    same = compare(a, a)
    assert list(same.columns) == ["Dispose the depot (a)", "Dispose the depot (b)", "difference"]
    assert (same["difference"] == 0).all()
    with pytest.raises(InvalidArgumentError, match=r"b is a str; expected the ScenarioResult"):
        compare(a, "b")


def test_a_scenario_round_trips_through_the_stores_json():
    scenario = Scenario(
        "Hub – Maidstone",
        (Close("SB", into="SA"), Dispose("SD"), TakeOffer("OSA", "Q1")),
        author="ann@kent.police.uk",
        agency=POLICE,
        created_at="2026-12-05T18:00:00+00:00",
    )
    text = scenario.moves_json()
    assert json.loads(text) == [
        {"kind": "close", "site_id": "SB", "into": "SA"},
        {"kind": "dispose", "site_id": "SD"},
        {"kind": "take offer", "offer_id": "OSA", "request_id": "Q1"},
    ]
    row = {
        "name": scenario.name,
        "moves": text,
        "author": scenario.author,
        "agency": scenario.agency,
        "created_at": scenario.created_at,
        "shared": "yes",
    }
    assert Scenario.from_row(row) == scenario
    assert Scenario.from_row(pd.Series(row)) == scenario
    assert scenario.site_ids() == {"SA", "SB", "SD"}
    assert scenario.without_move(1).moves == (Close("SB", into="SA"), TakeOffer("OSA", "Q1"))


def test_a_stored_row_that_is_not_a_scenario_names_every_problem():
    bad = json.dumps([{"kind": "demolish", "site_id": "S1"}, {"kind": "close", "site_id": "S1"}])
    with pytest.raises(
        InvalidArgumentError,
        match=r"move 1 has kind='demolish'; expected one of: close, dispose, take offer; "
        r"move 2: close: into=None is not valid; expected an id",
    ):
        Scenario.from_row({"name": "x", "moves": bad})
    with pytest.raises(
        InvalidArgumentError, match=r"the moves of scenario 'x' are not a JSON list"
    ):
        Scenario.from_row({"name": "x", "moves": "{not json"})


def test_bad_scenarios_and_moves_are_refused_with_every_problem():
    with pytest.raises(
        InvalidArgumentError,
        match=r"name='' is not valid; expected the scenario's name; move 1 is a str; expected "
        r"Close, Dispose or TakeOffer",
    ):
        Scenario("", ["close SB"])
    with pytest.raises(
        InvalidArgumentError,
        match=r"close: site_id='' is not valid; expected an id \(text\); close: into=3",
    ):
        Close("", into=3)
    with pytest.raises(InvalidArgumentError, match=r"i=2 is not valid; expected the position"):
        Scenario("s", [Dispose("SD")]).without_move(2)
    with pytest.raises(InvalidArgumentError, match=r"i=0 is not valid; the scenario has no moves"):
        Scenario("s").without_move(0)


def test_bad_evaluate_arguments_are_reported_together():
    with pytest.raises(
        InvalidArgumentError,
        match=r"scenario is a list; expected a Scenario; requests lacks the column\(s\) "
        r"request_id; cost_per_sqft=0 is not valid.*; moving_cost_per_sqft=-1 is not valid; "
        r"expected a number of pounds per square foot moved, 0 or more; today='5/12/2026' "
        r"is not valid; expected a date or YYYY-MM-DD",
    ):
        evaluate(
            toy_sites(),
            [Dispose("SD")],
            requests=pd.DataFrame({"id": []}),
            cost_per_sqft=0,
            moving_cost_per_sqft=-1,
            today="5/12/2026",
        )
    with pytest.raises(InvalidArgumentError, match=r"sites lacks the column site_id"):
        evaluate(pd.DataFrame({"name": ["x"]}), Scenario("s"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: evaluate(toy_sites(), Scenario("s"), offers=[], offer_sites=pd.DataFrame()),
            r"offers is a list; expected a table \(pandas DataFrame\); offer_sites lacks the "
            r"column\(s\) offer_id, site_id",
        ),
        (
            lambda: evaluate(pd.DataFrame({"site_id": ["S1"]}), Scenario("s"), centres=[]),
            r"centres is a list; expected a GeoDataFrame of LSOA centres; sites must be a "
            r"GeoDataFrame \(with points\) to measure residents' access",
        ),
        (
            lambda: evaluate(toy_sites().set_crs(None, allow_override=True), Scenario("s")),
            r"sites has no CRS; expected EPSG:27700",
        ),
        (
            lambda: evaluate("sites", Scenario("s"), viewer=""),
            r"sites is a str; expected a table of sites; viewer_agency='' is not valid",
        ),
        (
            lambda: Scenario("s", "close SB", author=None),
            r"moves is a str; expected a list of Close, Dispose and TakeOffer moves; "
            r"author=None is not valid; expected text",
        ),
        (
            lambda: TakeOffer(" ", "Q1"),
            r"take offer: offer_id=' ' is not valid; expected an id",
        ),
        (lambda: Dispose(None), r"dispose: site_id=None is not valid; expected an id"),
        (
            lambda: Scenario.from_row({"name": "x", "moves": json.dumps(["close"])}),
            r"move 1 is 'close'; expected an object with a kind",
        ),
        (
            lambda: shares("s", pd.DataFrame()),
            r"scenario is a str; expected a Scenario; sites is not a table of sites with a "
            r"site_id column",
        ),
        (
            lambda: visible_scenarios(None, [], KP),
            r"scenarios is None; expected the store's scenarios table",
        ),
    ],
)
def test_each_remaining_argument_problem_has_its_message(call, message):
    with pytest.raises(InvalidArgumentError, match=message):
        call()


# --------------------------------------------------------------------------- makers


def test_from_cluster_closes_every_member_but_the_hub_into_the_hub():
    sites = toy_sites()
    clusters = colocation_clusters(sites, viewer_agency=POLICE)
    assert len(clusters.clusters) == 1
    hub = clusters.clusters["hub_site_id"].iloc[0]
    scenario = from_cluster(clusters, 1, name="Into the hub")
    others = [s for s in clusters.members["site_id"] if s != hub]
    assert hub == "SA"
    assert scenario.moves == tuple(Close(s, into=hub) for s in others)
    assert scenario.name == "Into the hub"
    result = run(scenario)
    assert move(result, 1)["status"] == "made"  # the Council Office fits in the HQ
    with pytest.raises(
        InvalidArgumentError, match=r"cluster_id=7 is not a cluster here; expected one of 1 to 1"
    ):
        from_cluster(clusters, 7, name="x")
    with pytest.raises(
        InvalidArgumentError,
        match=r"result is a dict; expected the ColocationResult of colocation_clusters; "
        r"name='' is not valid; expected the scenario's name",
    ):
        from_cluster({}, 1, name="")
    alone = colocation_clusters(toy_sites().iloc[:1], viewer_agency=POLICE)
    with pytest.raises(
        InvalidArgumentError, match=r"cluster_id=1 is not a cluster here: there are no clusters"
    ):
        from_cluster(alone, 1, name="x")
    clusters.members.loc[clusters.members["site_id"] == "SC", "site_id"] = ""
    with pytest.raises(
        InvalidArgumentError,
        match=r"cluster 1 has a member without a site id; a scenario names sites by id",
    ):
        from_cluster(clusters, 1, name="x")


def test_from_plan_takes_the_register_offers_the_plan_assigns():
    sites, reqs = toy_sites(), toy_requests()
    plan = allocate(find_candidates(reqs, sites, viewer_agency=POLICE, as_of="2026-12-05"))
    assert len(plan.assignments)
    scenario = from_plan(plan, name="The plan")
    expected = {
        (offer_of(site, owner), str(request))
        for site, owner, request in zip(
            plan.assignments["site_id"],
            [
                sites.set_index("site_id").loc[s, "source_owner"]
                for s in plan.assignments["site_id"]
            ],
            plan.assignments["request_id"],
            strict=True,
        )
    }
    assert {(m.offer_id, m.request_id) for m in scenario.moves} == expected
    result = run(scenario)
    assert set(result.moves["status"]) == {"made"}
    assert result.totals.loc["yearly saving (£/yr)", "after"] == pytest.approx(plan.saving_gbp)
    with pytest.raises(InvalidArgumentError, match=r"plan is a int; expected the AllocationPlan"):
        from_plan(3, name="x")


def test_from_plan_refuses_a_plan_that_splits_a_request():
    sites = toy_sites()
    sites.loc[sites["site_id"].isin(["SA", "SE"]), "surplus_sqft"] = 1_000.0
    reqs = toy_requests()
    reqs.loc[reqs["request_id"] == "Q1", "space_needed_sqft"] = 1_800.0
    plan = allocate(
        find_candidates(reqs, sites, viewer_agency=POLICE, as_of="2026-12-05"), allow_split=True
    )
    assert plan.assignments["request_id"].tolist().count("Q1") > 1
    with pytest.raises(
        InvalidArgumentError,
        match=r"the plan splits request\(s\) Q1 between offers; a scenario takes a request's "
        r"whole need from one offer: make the plan without allow_split",
    ):
        from_plan(plan, name="split")


# --------------------------------------------------------------------------- who sees


def test_shares_unless_a_move_names_a_restricted_site_or_request():
    sites = toy_sites()
    assert shares(Scenario("s", [Close("SB", into="SA")]), sites) == "yes"
    assert shares(Scenario("s", [Close("SB", into="SR")]), sites) == ""
    assert shares(Scenario("s", [Dispose("SR")]), sites) == ""
    offers, links = app_offers(SR="open", SA="open")
    reqs = toy_requests()
    take = Scenario("s", [TakeOffer("OSA", "Q1")])
    assert shares(take, sites, offers=offers, offer_sites=links, requests=reqs) == "yes"
    assert shares(take, sites) == ""  # the offer and request cannot be looked up: kept
    on_restricted = Scenario("s", [TakeOffer("OSR", "Q1")])
    assert shares(on_restricted, sites, offer_sites=links, requests=reqs) == ""
    restricted_request = Scenario("s", [TakeOffer("OSA", "QR")])
    assert shares(restricted_request, sites, offer_sites=links, requests=reqs) == ""
    register = Scenario("s", [TakeOffer(offer_of("SA", POLICE), "Q1")])
    assert shares(register, sites, requests=reqs) == "yes"


def test_visible_scenarios_own_agency_and_others_shared_with_visible_sites_only():
    def row(name, agency, shared, *moves):
        return {
            "name": name,
            "author": "x",
            "agency": agency,
            "created_at": "",
            "moves": Scenario(name, moves).moves_json(),
            "shared": shared,
            "owner": agency,
        }

    table = pd.DataFrame(
        [
            row("medway private", MEDWAY, "", Dispose("SR")),
            row("kp own", POLICE, "", Dispose("SA")),
            row("council shared", COUNCIL, "yes", Close("SB", into="SA")),
            row("council unshared", COUNCIL, "", Dispose("SD")),
            row("names a hidden site", MEDWAY, "yes", Close("SC", into="SR")),
            {**row("broken", COUNCIL, "yes"), "moves": "not json"},
        ]
    )
    visible_ids = toy_sites(restricted=False)["site_id"]
    seen = visible_scenarios(table, visible_ids, KP)
    assert seen["name"].tolist() == ["kp own", "council shared"]
    assert seen.index.tolist() == [0, 1]  # numbered afresh: no gap counts a withheld row
    nobody = visible_scenarios(table, visible_ids, None)
    assert nobody["name"].tolist() == ["council shared"]
    medway = visible_scenarios(table, toy_sites()["site_id"], Viewer("m", agency="medway  council"))
    assert medway["name"].tolist() == ["medway private", "council shared", "names a hidden site"]
    with pytest.raises(InvalidArgumentError, match=r"scenarios lacks the column\(s\) shared"):
        visible_scenarios(table.drop(columns="shared"), visible_ids, KP)


# --------------------------------------------------------------------------- access, map


def test_residents_access_is_asked_of_the_visible_sites_and_what_stays_open(monkeypatch):
    calls = []

    def access_change(sites, open_after, *, centres, categories=None):
        calls.append((sites["site_id"].tolist(), list(open_after), centres, categories))
        return "the access change"

    fake = types.ModuleType("assetmap.residents_access")
    fake.access_change = access_change
    monkeypatch.setitem(sys.modules, "assetmap.residents_access", fake)
    centres = geo_frame([dict(code="E01", x=0, y=0)], {"code": ""})
    result = run(Scenario("s", [Dispose("SD")]), centres=centres, categories=["library"])
    assert result.access == "the access change"
    assert calls == [
        (["SA", "SB", "SC", "SD", "SE"], [True, True, True, False, True], centres, ["library"])
    ]


def test_residents_access_counts_no_restricted_site_of_another_agency():
    # two clinics: Kent Police's view has the NHS clinic only; Medway's restricted
    # custody suite is made a clinic too, 50 m from the centres, and must count for nothing
    def clinics(restricted):
        sites = toy_sites(restricted=restricted)
        clinic = sites["site_id"].isin(["SC", "SR"])
        sites.loc[clinic, "use"] = "clinic"
        return sites

    centres = geo_frame(
        [dict(code="E01000001", x=0, y=0), dict(code="E01000002", x=3_000, y=0)],
        {"code": ""},
    )
    scenario = Scenario("s", [Close("SC", into="SE"), Dispose("SR")])
    with_it = run(scenario, clinics(True), centres=centres, categories=["clinic"])
    without = run(scenario, clinics(False), centres=centres, categories=["clinic"])
    pd.testing.assert_frame_equal(with_it.access.by_lsoa, without.access.by_lsoa)
    pd.testing.assert_frame_equal(with_it.access.summary, without.access.summary)
    # the nearest clinic is the NHS one, 200 m and 2,800 m away (the custody suite would
    # be 71 m from the first); it closes, and no clinic Kent Police may see is left
    by_lsoa = with_it.access.by_lsoa
    assert by_lsoa["clinic before_m"].tolist() == [200.0, 2_800.0]
    assert np.isinf(by_lsoa["clinic after_m"]).all()


def test_layers_draw_each_move_made_and_each_site_closed():
    result = run(
        Scenario(
            "s",
            [
                Close("SB", into="SA"),
                Dispose("SD"),
                Close("SR", into="SA"),
                TakeOffer(offer_of("SE", NHS), "Q1"),
            ],
        )
    )
    layers = result.layers()
    moves, closed = layers["moves"], layers["closed"]
    assert moves["kind"].tolist() == ["close", "take offer"]
    assert list(moves.geometry.iloc[0].coords) == [
        (575_100.0, 155_000.0),
        (575_000.0, 155_000.0),
    ]
    assert list(moves.geometry.iloc[1].coords)[1] == (575_010.0, 155_010.0)  # request Q1
    assert closed["site_id"].tolist() == ["SB", "SD"]
    assert moves.crs.to_epsg() == 27700 and closed.crs.to_epsg() == 27700


# --------------------------------------------------------------------------- savings


def test_the_default_moving_cost_is_documented_and_can_be_changed():
    assert DEFAULT_MOVING_COST_PER_SQFT == 10.0
    assert "£10 per sq ft" in MOVING_COST_SOURCE
    assert moving_cost(40_000) == 400_000.0
    assert moving_cost(np.array([1_000.0, np.nan]), moving_cost_per_sqft=0).tolist() == [0, 0]
    assert moving_cost(100, moving_cost_per_sqft=2.5) == 250.0
    with pytest.raises(
        InvalidArgumentError,
        match=r"moving_cost_per_sqft='10' is not valid; expected a number of pounds per square "
        r"foot moved, 0 or more",
    ):
        moving_cost(100, moving_cost_per_sqft="10")
