"""The exchange's commands: offer, request, amend, matches and disposal, with --json."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assetmap.cli import main
from assetmap.exchange import _clock
from assetmap.registers.importer import import_register
from assetmap.store import open_store

POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Sensitivity,Use\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,open,office\n"
    "P2,Custody Suite,TN9 1SP,12000,restricted,custody\n"
)
HEALTH = "Property reference,Site name,Postcode\nH1,The Hub,TN1 1AA\n"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(_clock, "FIXED", dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))


@pytest.fixture
def estate(store_path):
    store = open_store(store_path)
    import_register(POLICE.encode(), name="police.csv", store=store, agency="Kent Police")
    import_register(HEALTH.encode(), name="health.csv", store=store, agency="Kent NHS")
    return store_path


class Run:
    """Runs the command line as an agency; returns the exit code and what it printed."""

    def __init__(self, store, capsys, monkeypatch):
        self.store, self.capsys, self.monkeypatch = str(store), capsys, monkeypatch

    def __call__(self, agency: str | None, *argv: str) -> tuple[int, str, str]:
        if agency is None:
            self.monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
        else:
            self.monkeypatch.setenv("ASSETMAP_AGENCY", agency)
        self.capsys.readouterr()
        code = main([*argv, "--store", self.store])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, agency: str | None, *argv: str):
        code, out, err = self(agency, *argv, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def run(estate, capsys, monkeypatch):
    return Run(estate, capsys, monkeypatch)


def test_the_seed_story_on_the_command_line(run, estate):
    offer = run.json("Kent Police", "offer", "declare", "P1", "--sqft", "40000", "--contact", "ann")
    offer_id = offer["offer_id"]
    assert offer == {"offer_id": offer_id, "site_id": "P1", "sqft": 40000.0}
    listed = run.json("Kent NHS", "offer", "list")
    assert [(o["offer_id"], o["sqft"], o["site_name"]) for o in listed] == [
        (offer_id, 40000.0, "Maidstone Police Office")
    ]
    request = run.json("Kent NHS", "request", "save", "--sqft", "40000", "--postcode", "ME14 1XX")
    request_id = request["request_id"]
    assert [r["request_id"] for r in run.json("Kent NHS", "request", "list")] == [request_id]
    match_id = run.json(
        "Kent NHS", "matches", "propose", "--offer", offer_id, "--request", request_id
    )["match_id"]
    inbox = run.json("Kent Police", "matches", "inbox")
    assert [(m["match_id"], m["state"], m["waiting_on_you"]) for m in inbox] == [
        (match_id, "proposed", True)
    ]
    assert run.json("Kent Police", "matches", "offer", match_id)["state"] == "offered"
    # a stale version: nothing changes, and the message says what happened
    code, out, err = run("Kent NHS", "matches", "accept", match_id, "--version", "1")
    assert code == 2 and out == ""
    assert f"Match {match_id} was offered by" in err and "nothing changed" in err
    assert run.json("Kent NHS", "matches", "accept", match_id, "--version", "2")["state"] == (
        "accepted"
    )
    assert run.json("Kent Police", "matches", "complete", match_id)["state"] == "completed"
    for agency in ("Kent Police", "Kent NHS"):
        assert [m["state"] for m in run.json(agency, "matches", "list")] == ["completed"]
    assert run.json("Kent NHS", "offer", "list") == []  # the space moved
    assert run.json("Kent NHS", "request", "list")[0]["space_needed_sqft"] == 0
    whats = [e["what"] for e in open_store(estate).audit_entries() if e["action"] == "exchange"]
    assert f"match {match_id} completed" in whats


def test_offer_text_output_and_withdraw_by_version(run):
    code, out, _ = run("Kent Police", "offer", "declare", "P1", "--sqft", "1200")
    assert code == 0 and out.startswith("Offered 1,200 sq ft at site P1: offer O")
    offer_id = out.strip().rsplit(" ", 1)[-1]
    code, out, _ = run("Kent NHS", "offer", "list")
    assert code == 0 and offer_id in out and "Maidstone Police Office" in out
    code, out, err = run("Kent Police", "offer", "withdraw", offer_id, "--version", "7")
    assert code == 2 and f"Offer {offer_id} was changed by" in err
    code, out, _ = run("Kent Police", "offer", "withdraw", offer_id)
    assert (code, out.strip()) == (0, f"Withdrew offer {offer_id}")
    code, out, _ = run("Kent NHS", "offer", "list")
    assert out.startswith("No offers of space that you can see")


def test_refusals_exit_2_with_the_reason(run):
    code, _, err = run(None, "offer", "declare", "P1", "--sqft", "10")
    assert code == 2 and "Set $ASSETMAP_AGENCY or sign in as an agency to offer space" in err
    code, _, err = run("Kent NHS", "offer", "declare", "P1", "--sqft", "10")
    assert code == 2 and "Site P1 is Kent Police's: only Kent Police may offer its space" in err
    code, _, err = run("Kent NHS", "offer", "declare", "P2", "--sqft", "10")
    assert code == 2 and "There is no site P2 that you can see" in err
    code, _, err = run("Kent Police", "offer", "declare", "P1", "--sqft", "-1")
    assert code == 2 and "sqft=-1.0 is not valid" in err
    code, _, err = run("Kent NHS", "request", "edit", "Q1")
    assert code == 2 and "request edit changes nothing" in err
    code, _, err = run("Kent Police", "amend", "P1", "floor_area_sqft")
    assert code == 2 and "amend 'P1 floor_area_sqft' is not valid" in err


def test_a_restricted_offer_shows_only_when_marked_open(run):
    hidden = run.json("Kent Police", "offer", "declare", "P2", "--sqft", "500")["offer_id"]
    assert run.json("Kent NHS", "offer", "list") == []
    code, _, err = run("Kent NHS", "offer", "withdraw", hidden)
    assert code == 2 and f"There is no offer {hidden} that you can see." in err
    run.json("Kent Police", "offer", "declare", "P2", "--sqft", "500", "--open")
    [shown] = run.json("Kent NHS", "offer", "list")
    assert (shown["offer_id"], shown["site_name"], shown["postcode"], shown["easting"]) == (
        hidden,
        "",
        "",
        None,
    )


def test_requests_are_saved_edited_and_withdrawn(run):
    request_id = run.json(
        "Kent NHS",
        "request",
        "save",
        "--sqft",
        "900",
        "--postcode",
        "TN1 1AA",
        "--needed-by",
        "2027-03-01",
    )["request_id"]
    run.json("Kent NHS", "request", "edit", request_id, "--sqft", "1500")
    [saved] = run.json("Kent NHS", "request", "list")
    assert (saved["space_needed_sqft"], saved["needed_by"]) == (1500.0, "2027-03-01")
    code, _, err = run("Kent Police", "request", "withdraw", request_id)
    assert code == 2 and "only Kent NHS may withdraw it" in err
    code, out, _ = run("Kent NHS", "request", "withdraw", request_id)
    assert (code, out.strip()) == (0, f"Withdrew request {request_id}")
    assert run.json("Kent NHS", "request", "list") == []


def test_amend_list_and_withdraw(run, estate):
    done = run.json("Kent Police", "amend", "P1", "floor_area_sqft", "90000", "--reason", "survey")
    amendment_id = done["amendment_id"]
    listed = run.json("Kent Police", "amend", "list")
    assert [(a["amendment_id"], a["field"], a["new"]) for a in listed] == [
        (amendment_id, "floor_area_sqft", "90000")
    ]
    sites = open_store(estate).sites()
    assert sites.loc[sites["source_ref"] == "P1", "floor_area_sqft"].tolist() == [90000.0]
    code, out, _ = run("Kent Police", "amend", "withdraw", amendment_id)
    assert code == 0 and out.startswith(f"Withdrew correction {amendment_id}")
    sites = open_store(estate).sites()
    assert sites.loc[sites["source_ref"] == "P1", "floor_area_sqft"].tolist() == [95000.0]


def test_disposal_commands(run):
    declared = run.json("Kent Police", "disposal", "declare", "P1", "--contact", "estates")
    offer_id = declared["offer_id"]
    [listed] = run.json("Kent NHS", "disposal", "list")
    assert (listed["window_ends"], listed["working_days_left"], listed["interest"]) == (
        "2027-02-04",
        40,
        0,
    )
    assert run.json("Kent NHS", "disposal", "interest", offer_id, "--note", "hub")["offer_id"] == (
        offer_id
    )
    assert run.json("Kent Police", "disposal", "list")[0]["interest"] == 1
    code, _, err = run("Kent Police", "disposal", "open-sale", offer_id)
    assert code == 2 and "may be marked for open sale from 2027-02-05" in err
    code, out, _ = run("Kent Police", "disposal", "declare", "P1")
    assert out.strip() == (
        f"Declared site P1 for disposal: offer {offer_id}, first refusal; other public bodies "
        "may express interest until 2027-02-04"
    )
    assert declared["window_ends"] == "2027-02-04"


def test_matches_propose_plan_and_empty_listings(run):
    code, out, _ = run("Kent NHS", "matches", "inbox")
    assert (code, out.strip()) == (0, "No matches wait on your agency.")
    run.json("Kent Police", "offer", "declare", "P1", "--sqft", "5000")
    run.json("Kent NHS", "request", "save", "--sqft", "4000", "--postcode", "ME14 1XX")
    proposed = run.json("Kent NHS", "matches", "propose-plan")["match_ids"]
    assert len(proposed) == 1
    assert run.json("Kent NHS", "matches", "propose-plan") == {"match_ids": []}


def test_offer_commands_on_any_store(any_store, capsys, monkeypatch):
    store = open_store(any_store)
    import_register(POLICE.encode(), name="police.csv", store=store, agency="Kent Police")
    run = Run(any_store, capsys, monkeypatch)
    offer_id = run.json("Kent Police", "offer", "declare", "P1", "--sqft", "900")["offer_id"]
    assert [o["offer_id"] for o in run.json("Kent NHS", "offer", "list")] == [offer_id]
    code, _, err = run("Kent NHS", "offer", "withdraw", offer_id)
    assert code == 2 and "only Kent Police may withdraw it" in err
    assert run.json("Kent Police", "offer", "withdraw", offer_id)["state"] == "withdrawn"
    assert run.json("Kent NHS", "offer", "list") == []
