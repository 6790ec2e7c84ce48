"""The saved scenarios in both stores: per-owner names, replace and remove, who reads which."""

from __future__ import annotations

import json

import pytest

from assetmap.access import Viewer
from assetmap.errors import InvalidArgumentError, StoreError
from assetmap.store import open_store
from assetmap.store.interface import MAX_SCENARIO_MOVES, SCENARIO_COLUMNS, scenario_row

POLICE = Viewer("officer@kent.police.example", agency="Kent Police", signed_in=True)
HEALTH = Viewer("estates@nhs.example", agency="NHS Kent", signed_in=True)
MOVES = json.dumps([{"kind": "dispose", "site_id": "S1"}])


def _row(name: str, *, shared: str = "yes", moves: str = MOVES, agency: str = "Kent Police"):
    return {
        "name": name,
        "author": "officer@kent.police.example",
        "agency": agency,
        "created_at": "2026-12-05T18:00:00+00:00",
        "moves": moves,
        "shared": shared,
    }


def _is_database(location) -> bool:
    return isinstance(location, str) and location.startswith("postgresql://")


def test_a_scenario_is_saved_replaced_and_removed(any_store):
    store = open_store(any_store, viewer=POLICE)
    store.save_scenario(_row("Close Maidstone"), owner="Kent Police")
    saved = store.scenarios()
    assert list(saved.columns) == list(SCENARIO_COLUMNS)
    assert saved[["name", "owner", "shared"]].values.tolist() == [
        ["Close Maidstone", "Kent Police", "yes"]
    ]
    assert json.loads(saved["moves"].iloc[0]) == [{"kind": "dispose", "site_id": "S1"}]
    two = json.dumps([{"kind": "dispose", "site_id": "S1"}, {"kind": "dispose", "site_id": "S2"}])
    store.save_scenario(_row("close  maidstone", moves=two), owner="Kent Police")  # same name
    saved = store.scenarios()
    assert len(saved) == 1 and len(json.loads(saved["moves"].iloc[0])) == 2
    assert saved["name"].iloc[0] == "close maidstone"
    assert store.remove_scenario("Close Maidstone", owner="Kent Police") == 1
    assert store.scenarios().empty


def test_names_are_per_owner_and_never_tell_of_another_agencys(any_store):
    """Another agency's scenario of the same name is neither refused nor named in a message."""
    police = open_store(any_store, viewer=POLICE)
    health = open_store(any_store, viewer=HEALTH)
    police.save_scenario(_row("Close the custody suite", shared=""), owner="Kent Police")
    health.save_scenario(_row("Close the custody suite", agency="NHS Kent"), owner="NHS Kent")
    with pytest.raises(StoreError, match=r"no scenario named 'Other' of yours.*yours are: Close"):
        health.remove_scenario("Other", owner="NHS Kent")
    with pytest.raises(StoreError, match="yours are: none"):
        open_store(
            any_store, viewer=Viewer("x@fire.example", agency="Kent Fire", signed_in=True)
        ).remove_scenario("Close the custody suite", owner="Kent Fire")
    assert health.remove_scenario("Close the custody suite", owner="NHS Kent") == 1
    # the police's scenario is still there
    owners = open_store(any_store, viewer=POLICE).scenarios()["owner"].tolist()
    assert owners == ["Kent Police"]


def test_a_database_gives_another_agency_only_the_shared_scenarios(any_store):
    """Row-level security: a scenario not shared (it names a restricted site) stays with its agency.

    A GeoPackage store gives every row: the engine drops what a viewer may not see
    (tests/test_scenarios.py tests ``visible_scenarios``).
    """
    police = open_store(any_store, viewer=POLICE)
    police.save_scenario(_row("Private", shared=""), owner="Kent Police")
    police.save_scenario(_row("Public"), owner="Kent Police")
    seen_by_health = open_store(any_store, viewer=HEALTH).scenarios()["name"].tolist()
    if _is_database(any_store):
        assert seen_by_health == ["Public"]
    else:
        assert seen_by_health == ["Private", "Public"]
    assert open_store(any_store, viewer=POLICE).scenarios()["name"].tolist() == [
        "Private",
        "Public",
    ]


def test_a_signed_in_agency_cannot_save_as_another(any_store):
    """A signed-in viewer writes only as their own agency, whatever owner it names."""
    if not _is_database(any_store):
        pytest.skip("a GeoPackage store is one user's file: the app names the owner")
    open_store(any_store, viewer=HEALTH).save_scenario(_row("Mine"), owner="Kent Police")
    assert open_store(any_store, viewer=POLICE).scenarios()["name"].tolist() == ["Mine"]
    with pytest.raises(StoreError, match="no scenario named 'Mine' of yours"):
        # the health viewer's own scenario is kept under its own agency, not the police's
        open_store(any_store, viewer=POLICE).remove_scenario("Mine", owner="Kent Police")


def test_a_scenario_row_is_checked_once_with_every_problem():
    with pytest.raises(
        InvalidArgumentError,
        match=r"cannot be saved: the scenario's name '' is not valid.*moves are not a list",
    ):
        scenario_row({"name": "", "moves": "{not json"}, "Kent Police")
    too_many = json.dumps([{"kind": "dispose", "site_id": "S"}] * (MAX_SCENARIO_MOVES + 1))
    with pytest.raises(InvalidArgumentError, match=r"has 2,001 moves; a scenario may hold 2,000"):
        scenario_row({"name": "x", "moves": too_many}, "Kent Police")
    with pytest.raises(InvalidArgumentError, match="longer than 200 characters"):
        scenario_row({"name": "x" * 201, "moves": "[]"}, "Kent Police")
    row = scenario_row({"name": " a  b ", "moves": "[]", "shared": "maybe"}, "Kent Police")
    assert row.iloc[0].to_dict() == {
        "name": "a b",
        "author": "",
        "agency": "",
        "created_at": "",
        "moves": "[]",
        "shared": "",
        "owner": "Kent Police",
    }
