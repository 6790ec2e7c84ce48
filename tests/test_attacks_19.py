"""An attacker's review of issue 19: scenarios, lease windows, residents' access, completeness.

Each test is a finding: another agency (or a viewer with no agency) infers what is not
theirs, changes what is not theirs, or breaks a page for everyone through the new code.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from assetmap import scenario_io
from assetmap.access import Viewer
from assetmap.errors import InvalidArgumentError
from assetmap.scenarios import Dispose, Scenario, shares, visible_scenarios
from assetmap.store import open_store
from assetmap.store.interface import scenario_row
from tests.test_scenarios import KP, MEDWAY, POLICE, toy_sites

#: Deeper than Python's recursion limit: ``json.loads`` raises RecursionError, not ValueError.
DEEP = "[" * 100_000 + "]" * 100_000


def _row(name: str, moves: str, *, agency: str, shared: str = "yes") -> dict:
    return {
        "name": name,
        "author": "x",
        "agency": agency,
        "created_at": "",
        "moves": moves,
        "shared": shared,
        "owner": agency,
    }


# --------------------------------------------------------------- a stored row that breaks reading


@pytest.mark.parametrize("kind", [["close"], {"a": 1}])
def test_a_stored_move_whose_kind_is_not_text_is_refused_not_a_crash(kind):
    """A move ``{"kind": [...]}`` raised TypeError (unhashable) out of ``Scenario.from_row``.

    ``visible_scenarios`` and ``saved_scenarios`` catch only assetmap's errors, so one
    such row (another version's, a hand-edited store) broke the Scenarios page, the
    Export page and ``print-maps --scenario`` for every agency.
    """
    moves = json.dumps([{"kind": kind, "site_id": "SA"}])
    with pytest.raises(InvalidArgumentError, match=r"^move 1 has kind=.*; expected one of: close"):
        Scenario.from_row({"name": "odd", "moves": moves})
    table = pd.DataFrame(
        [
            _row("odd", moves, agency=MEDWAY),
            _row("fine", Scenario("fine", [Dispose("SA")]).moves_json(), agency=MEDWAY),
        ]
    )
    seen = visible_scenarios(table, toy_sites()["site_id"], KP)
    assert seen["name"].tolist() == ["fine"]  # the unreadable row withheld, as documented


def test_moves_nested_deeper_than_the_recursion_limit_are_not_a_list():
    """Deeply nested JSON raised RecursionError (not ValueError) from the readers' json.loads."""
    with pytest.raises(InvalidArgumentError, match=r"the moves of scenario 'deep' are not a JSON"):
        Scenario.from_row({"name": "deep", "moves": DEEP})
    with pytest.raises(InvalidArgumentError, match=r"the scenario's moves are not a list"):
        scenario_row({"name": "deep", "moves": DEEP}, "Kent Police")
    seen = visible_scenarios(pd.DataFrame([_row("deep", DEEP, agency=MEDWAY)]), ["SA"], KP)
    assert seen.empty


# --------------------------------------------------------------- sharing


def test_a_scenario_naming_a_site_not_among_the_sites_given_is_not_shared():
    """``shares`` counted a site it could not look up as open, and shared the scenario.

    The Scenarios page passes the *place's* sites, so a scenario naming the agency's
    own restricted site outside the place (opened from the saved list in another
    place, or a guessed id of another agency's restricted site) was saved with
    ``shared == "yes"``: under PostGIS every agency's session then reads the row
    (row-level security lets shared rows through) with the restricted site's id. An
    offer or request that cannot be looked up already counts as restricted; a site
    must too.
    """
    place = toy_sites(restricted=False)  # the restricted SR is outside the place
    assert shares(Scenario("s", [Dispose("SR")]), place) == ""
    assert shares(Scenario("s", [Dispose("SA")]), place) == "yes"


def test_save_scenario_keeps_a_scenario_naming_a_site_outside_the_place_to_its_agency(tmp_path):
    medway = Viewer("m@medway.example", agency=MEDWAY, signed_in=True)
    store = open_store(tmp_path / "estate.gpkg", viewer=medway)
    place = toy_sites(restricted=False)
    scenario_io.save_scenario(
        store, Scenario("close it", [Dispose("SR")]), viewer=medway, sites=place
    )
    assert open_store(tmp_path / "estate.gpkg").scenarios()["shared"].tolist() == [""]


# --------------------------------------------------------------- one agency, two spellings


def test_one_agency_spelt_two_ways_has_one_scenario_of_a_name(tmp_path):
    """GeoPackage: names were unique per owner *as spelt*, not per agency as compared.

    Two officers of one agency whose sign-in gives the agency in different case or
    spacing ("Kent Police", "KENT  police") kept two scenarios of one name; each saw
    both as their agency's (``visible_scenarios`` compares agencies by key) but could
    neither replace nor remove the other's ("yours are: none"). The PostGIS store keys
    names by ``owner_key`` and keeps one.
    """
    a = Viewer("a@kent.police.example", agency=POLICE, signed_in=True)
    b = Viewer("b@kent.police.example", agency="KENT  police", signed_in=True)
    path = tmp_path / "estate.gpkg"
    sites = toy_sites(restricted=False)
    scenario_io.save_scenario(
        open_store(path, viewer=a), Scenario("Hub", [Dispose("SA")]), viewer=a, sites=sites
    )
    scenario_io.save_scenario(
        open_store(path, viewer=b), Scenario("hub", [Dispose("SD")]), viewer=b, sites=sites
    )
    stored = open_store(path).scenarios()
    assert stored["name"].tolist() == ["hub"]  # replaced, as the same agency's
    assert json.loads(stored["moves"].iloc[0]) == [{"kind": "dispose", "site_id": "SD"}]
    assert scenario_io.remove_scenario(open_store(path, viewer=a), "HUB", viewer=a) == 1
    assert open_store(path).scenarios().empty


# --------------------------------------------------------------- register text as Markdown


def _record_actions_script() -> None:
    """An app page of one site's scenario buttons, a move out of a hostile site under way."""
    import pandas as pd
    import streamlit as st

    from assetmap.app import scenarios_page

    hostile = "![beacon](https://attacker.example/seen.png) **Depot**"
    st.session_state[scenarios_page.FROM_KEY] = ("S-hostile", f"{hostile} (Other Agency)")
    scenarios_page.record_actions(pd.Series({"site_id": "S-hub", "name": "Hub", "agency": "KP"}))


def test_the_move_into_button_does_not_render_a_register_name_as_markdown():
    """The Map page's "Move <name> into this site" button put the site's name in its label.

    Streamlit renders a button label's Markdown, images included: a site named
    ``![x](https://attacker.example/seen.png)`` made every officer's browser fetch the
    attacker's image as they built a scenario from the map. Every other text of the
    panel goes through ``md()``; the label must too.
    """
    from streamlit.testing.v1 import AppTest

    from assetmap.maps.safe_html import markdown_text as md

    at = AppTest.from_function(_record_actions_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (button,) = [b for b in at.button if b.key == "scenario_move_into"]
    name = "![beacon](https://attacker.example/seen.png) **Depot** (Other Agency)"
    # no register text in any button's label; the name is shown escaped in the caption
    assert button.label == "Move it into this site"
    assert all("beacon" not in b.label for b in at.button)
    assert f"Moving {md(name)} out: into this site?" in [c.value for c in at.caption]


# --------------------------------------------------------------- the pack


def test_a_pack_takes_an_app_offer_as_the_scenarios_page_does(tmp_path):
    """The pack evaluated scenarios without the store's offers: an app offer was refused.

    The Scenarios page gives ``evaluate`` the exchange's ``offers`` and ``offer_sites``,
    so "take offer O for request Q" is made there; the pack of the same scenario said
    "offer O is not in the estate you may see" and its totals left the saving out.
    """
    import datetime as dt

    import geopandas as gpd
    import shapely

    from assetmap import exchange
    from assetmap.maps.pack import export_pack
    from assetmap.scenarios import TakeOffer
    from tests.test_lease_events import _store_with_two_clusters

    day = dt.date(2026, 11, 23)
    path, _ = _store_with_two_clusters(tmp_path / "estate.gpkg", today=day)
    store = open_store(path)
    hub = str(store.sites().loc[0, "site_id"])  # Kent Police's, 50,000 sq ft spare
    kp = Viewer("local", agency=POLICE, signed_in=False)
    offer = exchange.declare_offer(store, kp, hub, sqft=5_000, today=day)
    # the DWP's restricted "Secret Office" (site 5), its spare space offered to every agency
    secret = str(store.sites().loc[5, "site_id"])
    dwp = Viewer("dwp", agency="Department for Work and Pensions", signed_in=False)
    open_offer = exchange.declare_offer(store, dwp, secret, sqft=2_000, open=True, today=day)
    requests = gpd.GeoDataFrame(
        {
            "request_id": ["Q1", "Q2"],
            "source_ref": ["REQ-1", "REQ-2"],
            "agency": "Maidstone Borough Council",
            "sector": "council",
            "space_needed_sqft": [1_000.0, 500.0],
            "use_class": "office",
            "sensitivity": "open",
            "source_file": "requests.csv",
        },
        geometry=[shapely.Point(575_010, 155_010), shapely.Point(575_020, 155_020)],
        crs="EPSG:27700",
    )
    index = export_pack(
        path,
        "Maidstone",
        "district",
        tmp_path / "pack",
        format="svg",
        dpi=150,
        drawn_on=day,
        viewer=kp,
        requests=requests,
        scenarios=[Scenario("take", [TakeOffer(offer, "Q1"), TakeOffer(open_offer, "Q2")])],
    )
    moves = pd.read_csv(
        index.folder / "tables" / "scenario_01_take_moves.csv", keep_default_na=False
    )
    assert moves[["status", "reason"]].values.tolist() == [["made", ""], ["made", ""]]
    assert moves["offer_site_id"].tolist() == [hub, ""]
    # the open offer is taken without its site: nothing of the Secret Office in any file
    for entry in index.entries:
        if "scenario" in entry.file:
            text = (index.folder / entry.file).read_text()
            assert "Secret Office" not in text and secret not in text, entry.file


# --------------------------------------------------------------- lease events as imported


def test_a_notice_period_longer_than_a_hundred_years_is_quarantined(tmp_path):
    """A notice of "99999 years" was imported as 1.2 million months, then read as none.

    :mod:`assetmap.lease_events` takes a notice over 1,200 months as unknown ("none
    assumed"), so a register's absurd notice made its site free to leave at the very
    next break, in every window and scenario, with no word of it at import. A notice
    the windows cannot use is a fault of the register: quarantined with its reason.
    """
    from assetmap.registers.lease_fields import parse_notice
    from tests.registers.test_lease_events import _import

    months, bad = parse_notice(pd.Series(["1200", "100 years", "1201", "99999 years"]))
    assert bad.tolist() == [False, False, True, True]
    assert months[:2].tolist() == [1200.0, 1200.0]
    report, sites, quarantine = _import(
        tmp_path,
        "X,ME14 1XQ,Leasehold,2027-06-01,,2035-05-31,,99999 years,,\n"
        "Good,ME15 6AA,Freehold,,,,,,,\n",
    )
    assert report.quarantined == 1 and sites.index.tolist() == ["Good"]
    assert quarantine["column"].tolist() == ["Notice period"]
    assert quarantine["reason"].str.contains("longer than 100 years").all()


# --------------------------------------------------------------- print-maps --scenario


def test_print_maps_scenario_picks_the_viewers_own_scenario_not_another_agencys(
    tmp_path, monkeypatch
):
    """Names are unique per agency, but ``--scenario NAME`` kept the last one of the name.

    Another agency saved a shared scenario under the same name as Kent Police's (here
    closing the police HQ): Kent Police's ``print-maps pack --scenario Hub`` then put
    the other agency's moves in Kent Police's pack, under Kent Police's name for it.
    """
    from assetmap.cli.print_maps import _scenarios
    from assetmap.scenarios import Close
    from tests.app.conftest import write_store

    path = write_store(tmp_path / "estate.gpkg", toy_sites(restricted=False))
    sites = open_store(path).sites()
    assert {"SA", "SB"} <= set(sites["site_id"])
    kp_local = Viewer("kp", agency=POLICE, signed_in=False)
    other = Viewer("council", agency="Kent County Council", signed_in=False)
    ours = Scenario("Hub", [Close("SB", into="SA")])
    scenario_io.save_scenario(open_store(path), ours, viewer=kp_local, sites=sites)
    theirs = Scenario("hub", [Dispose("SA")])  # saved later, shared
    scenario_io.save_scenario(open_store(path), theirs, viewer=other, sites=sites)
    monkeypatch.setenv("ASSETMAP_AGENCY", POLICE)
    (picked,) = _scenarios(open_store(path), ["Hub"])
    assert picked.agency == POLICE and picked.moves == ours.moves
    # with no scenario of its own of that name, a name two other agencies use is refused
    monkeypatch.setenv("ASSETMAP_AGENCY", "Kent Fire")
    with pytest.raises(
        InvalidArgumentError,
        match=r"^--scenario: several agencies have a saved scenario named 'Hub' \(of Kent Police, "
        r"Kent County Council\); none of them is yours",
    ):
        _scenarios(open_store(path), ["Hub"])


# --------------------------------------------------------------- the Scenarios page


@pytest.fixture
def fresh_caches():
    """Streamlit's caches emptied before and after the test (AppTest runs share them)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.usefixtures("fresh_caches")
def test_removing_another_agencys_scenario_of_the_same_name_leaves_the_viewers_own(
    sample_store, monkeypatch
):
    """The page's Remove removed the viewer's own scenario *of the picked one's name*.

    Names are unique per agency, so the saved list can hold Kent Police's "Hub" and
    the county council's shared "Hub". Picking the council's and pressing Remove called
    ``remove_scenario(name)`` for Kent Police, which deleted Kent Police's own "Hub":
    another agency, by naming a shared scenario as Kent Police's, could have it
    deleted by mistake. Only the viewer's own agency's scenario may be removed.
    """
    from streamlit.testing.v1 import AppTest

    from assetmap.access import visible_sites
    from assetmap.app import navigation
    from assetmap.store import STORE_ENV
    from tests.app.conftest import ROOT, run_app

    monkeypatch.setenv(STORE_ENV, str(sample_store))
    store = open_store(sample_store)
    sites = visible_sites(store.sites())
    police = sites[sites["agency"] == POLICE]["site_id"].iloc[0]
    council = sites[sites["agency"] != POLICE]
    kp = Viewer("kp", agency=POLICE, signed_in=False)
    other = Viewer("c", agency=str(council["agency"].iloc[0]), signed_in=False)
    scenario_io.save_scenario(store, Scenario("Hub", [Dispose(police)]), viewer=kp, sites=sites)
    theirs = Scenario("Hub", [Dispose(str(council["site_id"].iloc[0]))])
    scenario_io.save_scenario(store, theirs, viewer=other, sites=sites)
    monkeypatch.setenv("ASSETMAP_AGENCY", POLICE)
    at = run_app(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(navigation.page_path("scenarios").relative_to(ROOT)))
    at = run_app(at)
    from assetmap.access import agency_key

    pick = at.selectbox(key="scenario_open_pick")
    # a saved scenario is picked by its agency and name (scenarios_page.scenario_key)
    pick.set_value(f"{agency_key(other.agency)}\x1fHub")
    at = run_app(at)
    # another agency's scenario cannot be removed: its button is off
    assert at.button(key="scenario_remove_saved").disabled
    owners = open_store(sample_store).scenarios().set_index("name")["agency"]
    assert sorted(owners.loc[["Hub"]].tolist()) == sorted([POLICE, other.agency])
    # the viewer's own "Hub" is removed, and only it
    at.selectbox(key="scenario_open_pick").set_value(f"{agency_key(POLICE)}\x1fHub")
    at = run_app(at)
    at.button(key="scenario_remove_saved").click()
    at = run_app(at)
    left = open_store(sample_store).scenarios()
    assert left.loc[left["name"] == "Hub", "agency"].tolist() == [other.agency]


def test_remove_scenario_refuses_the_scenario_of_another_agency_picked_by_name(tmp_path):
    """The engine's half of the fix: the picked scenario's agency is checked before removing."""
    from assetmap.errors import PermissionDeniedError

    path = tmp_path / "estate.gpkg"
    sites = toy_sites(restricted=False)
    kp = Viewer("kp", agency=POLICE, signed_in=False)
    other = Viewer("c", agency="Kent County Council", signed_in=False)
    scenario_io.save_scenario(
        open_store(path), Scenario("Hub", [Dispose("SA")]), viewer=kp, sites=sites
    )
    scenario_io.save_scenario(
        open_store(path), Scenario("Hub", [Dispose("SD")]), viewer=other, sites=sites
    )
    with pytest.raises(
        PermissionDeniedError,
        match=r"^the scenario 'Hub' is Kent County Council's: you may remove only your own",
    ):
        scenario_io.remove_scenario(open_store(path), "Hub", viewer=kp, agency=other.agency)
    assert len(open_store(path).scenarios()) == 2
    assert (
        scenario_io.remove_scenario(open_store(path), "Hub", viewer=kp, agency="KENT police") == 1
    )
    assert open_store(path).scenarios()["agency"].tolist() == ["Kent County Council"]


@pytest.mark.usefixtures("fresh_caches")
def test_comparing_two_scenarios_of_the_same_moves_shows_both_names(sample_store, monkeypatch):
    """The page's cache of evaluations is keyed by the moves, not the scenario's name.

    Two saved scenarios with the same moves (a copy saved under a new name, or another
    agency's shared one) were compared as the first one twice: the table's columns
    read "A (a)" and "A (b)", and the second scenario's name was nowhere. (The cached
    result also carries the first session's scenario, its author and agency.)
    """
    from streamlit.testing.v1 import AppTest

    from assetmap.access import visible_sites
    from assetmap.app import navigation, scenarios_page
    from assetmap.store import STORE_ENV
    from tests.app.conftest import ROOT, run_app

    monkeypatch.setenv(STORE_ENV, str(sample_store))
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    store = open_store(sample_store)
    sites = visible_sites(store.sites())
    moves = [Dispose(str(sites["site_id"].iloc[0]))]
    for name in ("Plan A", "Plan B"):
        scenario_io.save_scenario(store, Scenario(name, moves), viewer=None, sites=sites)
    at = run_app(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(navigation.page_path("scenarios").relative_to(ROOT)))
    at = run_app(at)
    saved = {s.name: s for s in scenario_io.saved_scenarios(store, viewer=None, sites=sites)}
    a, b = (scenarios_page.scenario_key(saved[n]) for n in ("Plan A", "Plan B"))
    at.selectbox(key=scenarios_page.COMPARE_A_KEY).set_value(a)
    at.selectbox(key=scenarios_page.COMPARE_B_KEY).set_value(b)
    at = run_app(at)
    (table,) = [d.value for d in at.dataframe if "difference" in d.value.columns]
    assert list(table.columns) == ["Measure", "Plan A", "Plan B", "difference"]


# --------------------------------------------------------------- lease timelines


@pytest.mark.parametrize(
    "dates",
    [
        # an open-ended lease written as expiring on 31/12/9999, with a break in 2027
        {"next_break": "2027-06-01", "lease_expiry": "9999-12-31"},
        # a break typed "01/06/0001" (read as year 1), 12 months' notice, expiring in 2028
        {"next_break": "0001-06-01", "lease_expiry": "2028-06-01", "notice_months": 12.0},
    ],
)
def test_lease_dates_at_the_ends_of_the_calendar_do_not_break_the_timeline_chart(dates):
    """The timeline's date axis was padded beyond the years matplotlib can draw (1 to 9999).

    An expiry of 31/12/9999 (how many registers write "no end") or a break in year 1
    (a typo the importer reads as a date; its notice deadline fell in year 0) made
    saving the cluster's timeline raise ``ValueError``: and with it the whole map pack
    of every viewer who may see the site, since the pack draws the timeline of each
    cluster with a window opening in the next 24 months, and this cluster has one.
    """
    import io

    from assetmap.colocation import colocation_clusters
    from assetmap.lease_events import cluster_timeline, cluster_windows
    from assetmap.maps.static.charts import timeline_figure
    from tests.test_lease_events import HEALTH, hub, leased, sites_of

    sites = sites_of([hub(), leased(50, HEALTH, **dates)])
    result = colocation_clusters(sites)
    (window,) = cluster_windows(result, sites, today="2026-12-05").to_dict("records")
    assert window["status"] == "window"
    events = cluster_timeline(result, sites, 1, today="2026-12-05")
    assert (events["date"] >= pd.Timestamp("0001-01-01")).all()  # no deadline in year 0
    figure = timeline_figure(events, window=window, today="2026-12-05")
    figure.savefig(io.BytesIO(), format="svg")
