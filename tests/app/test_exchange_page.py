"""The Exchange page under Streamlit's AppTest: offers, requests, the inbox and its moves.

Three agencies share a small estate: Kent Police (a site with room to spare), NHS Kent
and Medway (which needs space) and Kent Fire and Rescue Service (a bystander). Each
runs the real ``streamlit_app.py`` as the local user of its agency
(``$ASSETMAP_AGENCY``), and the tests check what the page shows and what the store
holds after each click.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from assetmap.access import Viewer
from assetmap.app import exchange_page, map_page, registers_page, space_page
from assetmap.app.navigation import TITLES, page_path
from assetmap.exchange import _clock
from assetmap.exchange.amendments import amendments
from assetmap.exchange.first_refusal import window_end
from assetmap.exchange.matches import matches, move, propose
from assetmap.exchange.offers import declare_offer
from assetmap.exchange.requests import SAVED_REQUESTS, save_request
from assetmap.store import STORE_ENV, open_store
from tests.app.conftest import run_app, shown, write_store
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")

POLICE = "Kent Police"
HEALTH = "NHS Kent and Medway"
FIRE = "Kent Fire and Rescue Service"
#: The police site with room to spare: its name holds Markdown that must show as text.
OFFICE = "Maidstone Police Office [x](http://example.invalid/p.png) *big*"
OFFICE_ID = "KP-0001"
#: Near the office (ME15 6AP), where the saved requests ask for space.
POSTCODE = "ME15 6AP"

pytestmark = pytest.mark.usefixtures("fresh_caches")


def _agency_sites(
    agency: str, sector: str, source: str, names: list[str], ids: list[str], points
) -> gpd.GeoDataFrame:
    sites = make_sites(len(names), seed=len(agency))
    sites["site_id"] = ids
    sites["name"] = names
    sites["agency"] = agency
    sites["sector"] = sector
    sites["source_file"] = source
    sites["postcode"] = POSTCODE
    sites["surplus_sqft"] = 0.0
    sites["floor_area_sqft"] = 90_000.0
    return sites.set_geometry([Point(*p) for p in points], crs=27700)


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of three agencies' sites around Maidstone; ``$ASSETMAP_STORE`` points at it."""
    path = tmp_path / "estate.gpkg"
    police = _agency_sites(
        POLICE,
        "police",
        "kent_police_estate.csv",
        [OFFICE, "Maidstone Police Depot"],
        [OFFICE_ID, "KP-0002"],
        [(576_200.0, 155_700.0), (578_000.0, 157_000.0)],
    )
    police["sensitivity"] = ["open", "restricted"]
    write_store(path, police, owner=POLICE)
    points = {HEALTH: (576_400.0, 155_800.0), FIRE: (575_800.0, 155_300.0)}
    for agency, sector, source, name, site_id in (
        (HEALTH, "health", "nhs_estate.csv", "Maidstone Health Centre", "NHS-0001"),
        (FIRE, "fire", "fire_stations.csv", "Maidstone Fire Station", "KFRS-0001"),
    ):
        sites = _agency_sites(agency, sector, source, [name], [site_id], [points[agency]])
        write_store(path, sites, owner=agency)
    monkeypatch.setenv(STORE_ENV, str(path))
    return path


class Session:
    """One agency's browser session: an AppTest run as the local user of that agency."""

    def __init__(self, agency: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
        self.agency = agency
        self.monkeypatch = monkeypatch
        self.at = AppTest.from_file(APP, default_timeout=300)
        self.started = False

    def run(self) -> AppTest:
        if self.agency is None:
            self.monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
        else:
            self.monkeypatch.setenv("ASSETMAP_AGENCY", self.agency)
        return run_app(self.at)

    def open(self, page: str = "exchange") -> AppTest:
        if not self.started:  # the app's first run, on its default page
            self.run()
            self.started = True
        self.at.switch_page(str(page_path(page).relative_to(ROOT)))
        return self.run()

    def click(self, key: str) -> AppTest:
        self.at.button(key=key).click()
        return self.run()


def _viewer(agency: str) -> Viewer:
    return Viewer("tester", agency=agency)


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    return shown("\n".join(parts))


def _errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _frame(at: AppTest, *columns: str) -> pd.DataFrame:
    for element in at.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with the columns {columns}")


def _site(store: Path, site_id: str) -> pd.Series:
    sites = open_store(store).sites()
    return sites[sites["site_id"] == site_id].iloc[0]


def _offer_and_request(store: Path) -> tuple[str, str]:
    """Kent Police offers 40,000 sq ft at the office; NHS Kent and Medway saves a request."""
    opened = open_store(store)
    offer_id = declare_offer(opened, _viewer(POLICE), OFFICE_ID, sqft=40_000, use="office")
    request_id = save_request(
        opened, _viewer(HEALTH), sqft=40_000, postcode=POSTCODE, max_distance_m=5_000
    )
    return offer_id, request_id


def _health_proposes(store: Path) -> str:
    """The office's offer and health's request (:func:`_offer_and_request`), proposed by health."""
    offer_id, request_id = _offer_and_request(store)
    return propose(open_store(store), _viewer(HEALTH), offer_id=offer_id, request_id=request_id)


def _move_buttons(at: AppTest, match_id: str) -> dict[str, object]:
    prefix = f"exchange_move_{match_id}_"
    return {b.key[len(prefix) :]: b for b in at.button if b.key and b.key.startswith(prefix)}


# --------------------------------------------------------------------------------------


def test_the_exchange_page_follows_space_in_the_menu_and_says_who_may_act(estate, monkeypatch):
    names = list(TITLES)
    assert names[names.index("space") + 1] == "exchange"
    assert TITLES["exchange"] == "Exchange"
    nobody = Session(None, monkeypatch).open()
    assert nobody.title[0].value == "Exchange"
    assert _metrics(nobody)["Waiting on you"] == "0"
    assert "sign in as an agency to offer space" in _text(nobody)
    assert exchange_page.PLAN_KEY not in {b.key for b in nobody.button}


def test_an_agency_offers_spare_space_on_its_own_site_and_every_agency_sees_it(estate, monkeypatch):
    police = Session(POLICE, monkeypatch)
    at = police.open()
    # only its own sites are offered to choose from
    choices = at.selectbox(key=exchange_page.OFFER_SITE_KEY).options
    assert len(choices) == 2 and all("KP-000" in c for c in choices)
    at.selectbox(key=exchange_page.OFFER_SITE_KEY).set_value(0)
    police.run()
    # the office is open: no "show it even though restricted" box
    assert exchange_page.OFFER_OPEN_KEY not in {c.key for c in at.checkbox}
    at.number_input(key=exchange_page.OFFER_SQFT_KEY).set_value(40_000)
    at.text_input(key=exchange_page.OFFER_CONTACT_KEY).input("estates@kent.police.uk")
    police.click(exchange_page.OFFER_DECLARE_KEY)
    assert not _errors(at), _errors(at)
    assert "Offered 40,000 sq ft at " + OFFICE in _text(at)
    # the Markdown in the register's name is shown as its characters, never as a link
    assert "[x](http://example.invalid/p.png)" not in "".join(s.value for s in at.success)
    # written through: the site's surplus is the offer
    assert _site(estate, OFFICE_ID)["surplus_sqft"] == 40_000
    listed = _frame(at, "Where it came from")
    mine = listed[listed["Offer"].str.startswith("O")]
    assert mine["Spare space (sq ft)"].tolist() == [40_000]
    assert mine["Site"].tolist() == [OFFICE]

    # another agency sees it in the one list, with where it came from
    health = Session(HEALTH, monkeypatch).open()
    listed = _frame(health, "Where it came from")
    assert OFFICE in set(listed["Site"])

    # a restricted site offers the "show this offer" box
    at.selectbox(key=exchange_page.OFFER_SITE_KEY).set_value(1)
    police.run()
    assert exchange_page.OFFER_OPEN_KEY in {c.key for c in at.checkbox}


def test_the_space_page_saves_the_request_asked_for(estate, monkeypatch):
    health = Session(HEALTH, monkeypatch)
    at = health.open("space")
    at.number_input(key=space_page.SQFT_KEY).set_value(40_000)
    at.text_input(key=space_page.POSTCODE_KEY).input(POSTCODE)
    at.button[0].click()  # the form's "Find space"
    health.run()
    health.click(exchange_page.SAVE_REQUEST_KEY)
    assert not _errors(at), _errors(at)
    assert f"for {HEALTH}: 40,000 sq ft near {POSTCODE}" in _text(at)
    saved = open_store(estate).requests()
    saved = saved[saved["source_file"] == SAVED_REQUESTS]
    assert saved["agency"].tolist() == [HEALTH]
    assert saved["space_needed_sqft"].tolist() == [40_000]
    # and the Exchange page lists it as the agency's saved request
    at = health.open()
    listed = _frame(at, "Request", "Space needed (sq ft)")
    assert listed["Space needed (sq ft)"].tolist() == [40_000]


def test_a_request_needs_an_agency_to_be_saved(estate, monkeypatch):
    nobody = Session(None, monkeypatch)
    at = nobody.open("space")
    at.text_input(key=space_page.POSTCODE_KEY).input(POSTCODE)
    at.button[0].click()
    nobody.run()
    nobody.click(exchange_page.SAVE_REQUEST_KEY)
    assert any(
        "The request was not saved: Set $ASSETMAP_AGENCY or sign in as an agency" in e
        for e in _errors(at)
    ), _errors(at)
    assert open_store(estate).requests().empty


def test_a_match_goes_from_the_plan_through_both_inboxes_to_completed(estate, monkeypatch):
    _offer_and_request(estate)
    health = Session(HEALTH, monkeypatch)
    at = health.open()
    health.click(exchange_page.PLAN_KEY)
    assert "Proposed 1 match from the plan." in _text(at), _errors(at)
    (match_id,) = matches(open_store(estate), _viewer(HEALTH))["match_id"]
    # the requester waits: it may only withdraw
    assert _metrics(at)["Waiting on you"] == "0"
    assert set(_move_buttons(at, match_id)) == {"withdraw"}

    police = Session(POLICE, monkeypatch)
    pt = police.open()
    assert _metrics(pt)["Waiting on you"] == "1"
    assert "Waiting on you." in _text(pt)
    assert OFFICE in _text(pt)  # the site's name, as text ...
    raw = "\n".join(m.value for m in pt.markdown)
    assert "[x](http://example.invalid/p.png)" not in raw  # ... never a link or an image
    assert set(_move_buttons(pt, match_id)) == {"offer", "decline", "withdraw"}
    _move_buttons(pt, match_id)["offer"].click()
    police.run()
    assert f"Match {match_id} offered." in _text(pt), _errors(pt)

    health.run()
    assert _metrics(at)["Waiting on you"] == "1"
    assert set(_move_buttons(at, match_id)) == {"accept", "decline", "withdraw"}
    _move_buttons(at, match_id)["accept"].click()
    health.run()
    assert set(_move_buttons(at, match_id)) == {"complete", "withdraw"}
    _move_buttons(at, match_id)["complete"].click()
    health.run()
    assert f"Match {match_id} completed." in _text(at), _errors(at)

    # both inboxes show it completed, with nothing left to move
    for session, shown_to in ((health, at), (police, pt)):
        session.run()
        assert "**completed**" in "\n".join(m.value for m in shown_to.markdown)
        assert _move_buttons(shown_to, match_id) == {}
        assert _metrics(shown_to)["Waiting on you"] == "0"
    # the space moved: the offer is used up and the request closed
    assert _site(estate, OFFICE_ID)["surplus_sqft"] == 0
    assert open_store(estate).requests()["space_needed_sqft"].tolist() == [0]


def test_a_person_proposes_a_match_from_an_offer_to_a_request(estate, monkeypatch):
    offer_id, request_id = _offer_and_request(estate)
    police = Session(POLICE, monkeypatch)
    at = police.open()
    at.selectbox(key=exchange_page.PROPOSE_OFFER_KEY).set_value(offer_id)
    police.run()
    at.selectbox(key=exchange_page.PROPOSE_REQUEST_KEY).set_value((request_id, SAVED_REQUESTS))
    police.run()
    sqft = next(n for n in at.number_input if n.key.startswith(exchange_page.PROPOSE_SQFT_KEY))
    assert sqft.value == 40_000  # the least of the offer and the need
    sqft.set_value(25_000)
    police.run()
    police.click(exchange_page.PROPOSE_KEY)
    assert not _errors(at), _errors(at)
    found = matches(open_store(estate), _viewer(POLICE))
    assert found["sqft"].tolist() == [25_000]
    assert found["proposed_by"].tolist() == ["person"]
    # proposing the same pair again is refused, in words, and nothing is written
    police.run()
    police.click(exchange_page.PROPOSE_KEY)
    assert _errors(at) and _errors(at)[0].startswith("The match was not proposed: ")
    assert len(matches(open_store(estate), _viewer(POLICE))) == 1


def test_a_move_on_a_match_someone_changed_first_is_refused_with_what_happened(estate, monkeypatch):
    match_id = _health_proposes(estate)
    police = Session(POLICE, monkeypatch)
    at = police.open()
    offer_button = _move_buttons(at, match_id)["offer"]
    # a colleague offers it first, from another session
    move(open_store(estate), _viewer(POLICE), match_id, "offer", version=1)
    offer_button.click()
    police.run()
    (error,) = _errors(at)
    assert error.startswith(f"Match {match_id} was not moved: ")
    assert "nothing changed" in error
    # the page now shows the match as it is, with the moves it allows
    assert set(_move_buttons(at, match_id)) == {"withdraw"}
    stored = matches(open_store(estate), _viewer(POLICE))
    assert stored["state"].tolist() == ["offered"]


def test_a_third_agency_sees_nothing_of_the_match(estate, monkeypatch):
    match_id = _health_proposes(estate)
    fire = Session(FIRE, monkeypatch)
    at = fire.open()
    assert _metrics(at)["Waiting on you"] == "0"
    assert _metrics(at)["Your matches"] == "0"
    assert match_id not in _text(at)
    assert _move_buttons(at, match_id) == {}
    assert "No matches of your agency yet" in _text(at)
    # the two parties do see it
    police = Session(POLICE, monkeypatch).open()
    assert _metrics(police)["Your matches"] == "1" and match_id in _text(police)


def test_a_disposal_is_listed_with_its_window_and_open_sale_is_refused_until_it_ends(
    estate, monkeypatch
):
    monkeypatch.setattr(_clock, "FIXED", dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))
    ends = window_end(dt.date(2026, 12, 1))
    police = Session(POLICE, monkeypatch)
    at = police.open()
    at.selectbox(key=exchange_page.DISPOSAL_SITE_KEY).set_value(0)
    police.run()
    police.click(exchange_page.DISPOSAL_DECLARE_KEY)
    assert "is declared surplus for disposal" in _text(at), _errors(at)
    listed = _frame(at, "First refusal ends")
    assert listed["State"].tolist() == ["first refusal"]
    assert listed["Declared on"].tolist() == ["2026-12-01"]
    assert listed["First refusal ends"].tolist() == [ends.isoformat()]
    offer_id = listed["Offer"].iloc[0]
    police.click(exchange_page.OPEN_SALE_KEY)
    (error,) = _errors(at)
    assert error.startswith(f"Offer {offer_id} was not marked for open sale: ")
    assert f"until {ends.isoformat()}" in error
    assert f"from {(ends + dt.timedelta(days=1)).isoformat()}" in error
    assert _frame(at, "First refusal ends")["State"].tolist() == ["first refusal"]

    # another agency sees it, and its interest is recorded (the holder sees the count)
    health = Session(HEALTH, monkeypatch)
    ht = health.open()
    assert _frame(ht, "First refusal ends")["Offer"].tolist() == [offer_id]
    health.click(exchange_page.INTEREST_KEY)
    assert f"Your interest in {offer_id} is recorded." in _text(ht), _errors(ht)
    police.run()
    assert _frame(at, "First refusal ends")["Interest"].tolist() == [1]

    # after the window, the holder may mark it for open sale
    monkeypatch.setattr(
        _clock, "FIXED", dt.datetime.combine(ends + dt.timedelta(days=1), dt.time(9), dt.UTC)
    )
    police.run()
    police.click(exchange_page.OPEN_SALE_KEY)
    assert f"Offer {offer_id} is marked for open sale." in _text(at), _errors(at)
    assert _frame(at, "First refusal ends")["State"].tolist() == ["open sale"]


def test_a_correction_is_saved_and_shown_on_the_site_record(estate, monkeypatch):
    police = Session(POLICE, monkeypatch)
    at = police.open()
    at.selectbox(key=exchange_page.AMEND_SITE_KEY).set_value(0)
    police.run()
    at.selectbox(key=exchange_page.AMEND_FIELD_KEY).set_value("floor_area_sqft")
    police.run()
    at.number_input(key=f"{exchange_page.AMEND_VALUE_KEY}_floor_area_sqft").set_value(75_000.0)
    at.text_input(key=exchange_page.AMEND_REASON_KEY).input("measured again")
    police.click(exchange_page.AMEND_KEY)
    assert "Floor area (sq ft) of " + OFFICE + " corrected." in _text(at), _errors(at)
    assert _site(estate, OFFICE_ID)["floor_area_sqft"] == 75_000
    standing = amendments(open_store(estate), _viewer(POLICE))
    assert standing[standing["state"] == "standing"]["new"].tolist() == ["75000"]

    # the site record on the Map page shows the standing correction to the site's own
    # agency only (a correction says who changed what, and why: another agency sees the
    # record's values, not its history)
    records = {}
    for agency in (POLICE, FIRE):
        session = Session(agency, monkeypatch)
        page = session.open("map")
        page.session_state[map_page.SELECTED_KEY] = OFFICE_ID
        session.run()
        records[agency] = _text(page)
    assert "Corrections standing on this record" in records[POLICE]
    assert "the register says 90000, corrected to 75000" in records[POLICE]
    assert "measured again" in records[POLICE]
    # the record is shown to the fire service (so the probes below can fail)...
    assert "Click a site on the map" not in records[FIRE]
    assert "no longer in the estate" not in records[FIRE]
    assert "Corrections standing on this record" not in records[FIRE]  # ...not its history
    assert "measured again" not in records[FIRE]


def test_a_reimport_lists_the_corrections_the_new_file_changed(tmp_path, monkeypatch):
    from assetmap.exchange.amendments import amend
    from assetmap.registers.importer import import_register

    path = tmp_path / "estate.gpkg"
    monkeypatch.setenv(STORE_ENV, str(path))
    header = "Property reference,Site name,Postcode,Property type,GIA (sq ft)\n"
    first = f"{header}KP01001,Maidstone Police Office,{POSTCODE},Office,94850\n"
    import_register(
        first.encode(),
        name="kent_police_estate.csv",
        store=path,
        agency=POLICE,
        sector="police",
    )
    (site_id,) = open_store(path).sites()["site_id"]
    amend(open_store(path), _viewer(POLICE), site_id, "floor_area_sqft", 75_000)

    police = Session(POLICE, monkeypatch)
    at = police.open("registers")
    again = f"{header}KP01001,Maidstone Police Office,{POSTCODE},Office,96000\n"
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(
        ("kent_police_estate.csv", again.encode(), "text/csv")
    )
    at.text_input(key=registers_page.AGENCY_KEY).input(POLICE)
    at.selectbox(key=registers_page.SECTOR_KEY).set_value("police")
    police.run()
    police.click("register_import")
    assert not _errors(at), _errors(at)
    (warning,) = [shown(w.value) for w in at.warning if "corrections" in w.value]
    assert warning.startswith("1 of your corrections are to values this file changed")
    table = _frame(at, "the register was", "now says", "amended to")
    assert table[["the register was", "now says", "amended to"]].values.tolist() == [
        ["94850", "96000", "75000"]
    ]
    assert table["name"].tolist() == ["Maidstone Police Office"]
    # the correction stands over the new file's value
    assert open_store(path).sites()["floor_area_sqft"].tolist() == [75_000]


def test_an_agency_changes_and_withdraws_its_saved_request_and_its_offer(estate, monkeypatch):
    offer_id, request_id = _offer_and_request(estate)
    health = Session(HEALTH, monkeypatch)
    at = health.open()
    assert at.selectbox(key=exchange_page.REQUEST_CHOICE_KEY).value == request_id
    at.number_input(key=f"{exchange_page.REQUEST_SQFT_KEY}_{request_id}").set_value(25_000)
    health.click(exchange_page.REQUEST_EDIT_KEY)
    assert f"Request {request_id} changed." in _text(at), _errors(at)
    assert open_store(estate).requests()["space_needed_sqft"].tolist() == [25_000]
    health.click(exchange_page.REQUEST_WITHDRAW_KEY)
    assert f"Request {request_id} withdrawn" in _text(at), _errors(at)
    assert open_store(estate).requests().empty

    # the police may not withdraw what is not theirs: health is offered no offer to withdraw
    assert exchange_page.OFFER_WITHDRAW_KEY not in {b.key for b in at.button}
    police = Session(POLICE, monkeypatch)
    pt = police.open()
    assert pt.selectbox(key=exchange_page.OFFER_WITHDRAW_CHOICE_KEY).value == offer_id
    police.click(exchange_page.OFFER_WITHDRAW_KEY)
    assert f"Offer {offer_id} withdrawn." in _text(pt), _errors(pt)
    assert _site(estate, OFFICE_ID)["surplus_sqft"] == 0
    assert "No spare space is offered yet." in _text(pt)


@pytest.mark.parametrize("marked_open", [False, True])
def test_an_offer_on_a_restricted_site_shows_to_others_only_if_marked_open_and_never_the_site(
    estate, monkeypatch, marked_open
):
    police = Session(POLICE, monkeypatch)
    at = police.open()
    at.selectbox(key=exchange_page.OFFER_SITE_KEY).set_value(1)  # the restricted depot
    police.run()
    at.number_input(key=exchange_page.OFFER_SQFT_KEY).set_value(5_000)
    if marked_open:
        at.checkbox(key=exchange_page.OFFER_OPEN_KEY).check()
    police.click(exchange_page.OFFER_DECLARE_KEY)
    assert "Offered 5,000 sq ft at Maidstone Police Depot" in _text(at), _errors(at)
    # its own agency sees it in full
    assert "Maidstone Police Depot" in set(_frame(at, "Where it came from")["Site"])

    fire = Session(FIRE, monkeypatch)
    ft = fire.open()
    options = [o for box in ft.selectbox for o in box.options]
    seen = "\n".join([_text(ft), *options] + [e.value.to_csv() for e in ft.dataframe])
    assert "Maidstone Police Depot" not in seen and "KP-0002" not in seen
    if not marked_open:
        assert _metrics(ft)["Offers you may see"] == "0"
        assert "No spare space is offered yet." in _text(ft)
        return
    assert _metrics(ft)["Offers you may see"] == "1"
    (row,) = _frame(ft, "Where it came from").to_dict("records")
    assert (row["Agency"], row["Spare space (sq ft)"], row["Site"], row["Postcode"]) == (
        POLICE,
        5_000,
        "",
        "",
    )
    assert row["Area"]  # the district, all that says where it is


# --------------------------------------------------------------------------------------
# proposing from the Space page's ranked candidates


def _propose_buttons(at: AppTest) -> dict[str, object]:
    prefix = f"{exchange_page.CANDIDATE_PROPOSE_KEY}_"
    return {b.key[len(prefix) :]: b for b in at.button if b.key and b.key.startswith(prefix)}


def _ask_for_space(session: Session) -> AppTest:
    """Ask for 40,000 sq ft near the office on the Space page ("Find space")."""
    at = session.open("space")
    at.number_input(key=space_page.SQFT_KEY).set_value(40_000)
    at.text_input(key=space_page.POSTCODE_KEY).input(POSTCODE)
    at.button[0].click()  # the form's "Find space"
    return session.run()


def test_a_ranked_candidate_is_proposed_from_the_space_page_into_both_inboxes(estate, monkeypatch):
    opened = open_store(estate)
    offer_id = declare_offer(opened, _viewer(POLICE), OFFICE_ID, sqft=40_000, use="office")
    health = Session(HEALTH, monkeypatch)
    at = _ask_for_space(health)
    assert not _errors(at), _errors(at)
    assert _frame(at, "Rank", "Offer")["Offer"].tolist() == [OFFICE]
    # a candidate is proposed for a saved request: no buttons before it is saved
    assert _propose_buttons(at) == {}
    health.click(exchange_page.SAVE_REQUEST_KEY)
    (request_id,) = open_store(estate).requests()["request_id"]
    assert f"Propose a match for your saved request {request_id}" in _text(at)
    assert set(_propose_buttons(at)) == {offer_id}
    # the candidate's line shows the register's name as text, never as a link
    raw = "\n".join(m.value for m in at.markdown)
    assert "[x](http://example.invalid/p.png)" not in raw
    assert OFFICE in _text(at)
    _propose_buttons(at)[offer_id].click()
    health.run()
    assert not _errors(at), _errors(at)
    (match_id,) = matches(open_store(estate), _viewer(HEALTH))["match_id"]
    assert f"Proposed match {match_id} of {OFFICE}'s space for request {request_id}" in _text(at)
    for agency in (HEALTH, POLICE):
        found = matches(open_store(estate), _viewer(agency))
        assert found[["match_id", "offer_id", "request_id", "request_file"]].values.tolist() == [
            [match_id, offer_id, request_id, SAVED_REQUESTS]
        ]
        assert found["proposed_by"].tolist() == ["candidates"]
        assert found["sqft"].tolist() == [40_000]  # the least of the offer and the need
    # it is in both inboxes: the holder's waiting on it, the requester's not
    pt = Session(POLICE, monkeypatch).open()
    assert _metrics(pt)["Waiting on you"] == "1"
    assert f"**{match_id}**" in "\n".join(m.value for m in pt.markdown)
    assert "proposed by candidates" in _text(pt)
    assert set(_move_buttons(pt, match_id)) == {"offer", "decline", "withdraw"}
    ht = health.open()
    assert _metrics(ht)["Your matches"] == "1" and _metrics(ht)["Waiting on you"] == "0"
    assert "proposed by candidates" in _text(ht)


def test_proposing_a_candidate_twice_is_refused_with_the_engines_message(estate, monkeypatch):
    opened = open_store(estate)
    offer_id = declare_offer(opened, _viewer(POLICE), OFFICE_ID, sqft=40_000, use="office")
    health = Session(HEALTH, monkeypatch)
    at = _ask_for_space(health)
    health.click(exchange_page.SAVE_REQUEST_KEY)
    (request_id,) = open_store(estate).requests()["request_id"]
    _propose_buttons(at)[offer_id].click()
    health.run()
    (match_id,) = matches(open_store(estate), _viewer(HEALTH))["match_id"]
    _propose_buttons(at)[offer_id].click()
    health.run()
    assert _errors(at) == [
        f"The match was not proposed: Match {match_id} of offer {offer_id} for request "
        f"{request_id} is already proposed: move that one on."
    ]
    assert len(matches(open_store(estate), _viewer(HEALTH))) == 1


def test_no_candidate_can_be_proposed_without_an_agency(estate, monkeypatch):
    opened = open_store(estate)
    offer_id = declare_offer(opened, _viewer(POLICE), OFFICE_ID, sqft=40_000, use="office")
    health = Session(HEALTH, monkeypatch)
    at = _ask_for_space(health)
    health.click(exchange_page.SAVE_REQUEST_KEY)
    assert set(_propose_buttons(at)) == {offer_id}
    # the same session, the same saved request, now with no agency: no buttons
    health.agency = None
    health.run()
    assert not _errors(at), _errors(at)
    assert _frame(at, "Rank", "Offer")["Offer"].tolist() == [OFFICE]
    assert _propose_buttons(at) == {}
    assert "Propose a match for your saved request" not in _text(at)
    # and one who never had an agency sees none either
    nobody = Session(None, monkeypatch)
    nt = _ask_for_space(nobody)
    nobody.click(exchange_page.SAVE_REQUEST_KEY)
    assert _propose_buttons(nt) == {}
    assert matches(open_store(estate), _viewer(POLICE)).empty


def test_a_candidate_of_the_viewers_own_agency_gets_no_button(estate, monkeypatch):
    opened = open_store(estate)
    police_offer = declare_offer(opened, _viewer(POLICE), OFFICE_ID, sqft=40_000, use="office")
    declare_offer(opened, _viewer(HEALTH), "NHS-0001", sqft=40_000, use="office")
    health = Session(HEALTH, monkeypatch)
    at = _ask_for_space(health)
    # the typed request is another agency's, so NHS Kent and Medway's own space is a candidate
    at.text_input(key=space_page.AGENCY_KEY).input("Someone else")
    at.button[0].click()
    health.run()
    assert set(_frame(at, "Rank", "Offer")["Offer"]) == {OFFICE, "Maidstone Health Centre"}
    health.click(exchange_page.SAVE_REQUEST_KEY)
    assert set(_propose_buttons(at)) == {police_offer}
    assert "Your agency's own space." in _text(at)


@pytest.mark.parametrize(
    ("viewer", "agency", "sector"),
    [
        (Viewer("nurse@nhs.example", agency=HEALTH, signed_in=True), HEALTH, "health"),
        (Viewer("local", agency=FIRE), FIRE, "fire"),
        (Viewer("local", agency="Kent County Council"), "Kent County Council", "police"),
        (Viewer("local"), "", "police"),
    ],
    ids=["signed-in NHS user", "local fire user", "agency with no sites", "no agency"],
)
def test_the_space_request_form_starts_with_the_viewers_agency_and_sector(
    estate, monkeypatch, viewer, agency, sector
):
    from assetmap import access

    monkeypatch.setattr(access, "local_viewer", lambda *_, **__: viewer)
    at = Session(viewer.agency, monkeypatch).open("space")
    assert not _errors(at), _errors(at)
    assert at.text_input(key=space_page.AGENCY_KEY).value == agency
    assert at.selectbox(key=space_page.SECTOR_KEY).value == sector
