"""The Scenarios page and the Map page's scenario buttons under Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from assetmap.access import FIGURES_NOTE, visible_sites
from assetmap.app import map_page, navigation, scenario_panel, scenarios_page
from assetmap.sample import SAMPLE_SCENARIO
from assetmap.scenarios import Close, Dispose, Scenario, evaluate
from assetmap.store import open_store
from tests.app.conftest import run_app, shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")

pytestmark = pytest.mark.usefixtures("fresh_caches")


def _open(page: str = "scenarios") -> AppTest:
    at = run_app(AppTest.from_file(APP, default_timeout=300), timeout=300)
    at.switch_page(str(navigation.page_path(page).relative_to(ROOT)))
    return run_app(at, timeout=300)


def _totals(at: AppTest) -> pd.DataFrame:
    (found,) = [
        d.value
        for d in at.dataframe
        if "Measure" in d.value.columns and "Before" in d.value.columns
    ]
    return found.set_index("Measure")


def _moves(at: AppTest) -> pd.DataFrame:
    (found,) = [d.value for d in at.dataframe if "Made or refused" in d.value.columns]
    return found


def _text(at: AppTest) -> str:
    return shown("\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]))


def _sites(store) -> pd.DataFrame:
    return visible_sites(open_store(store).sites())


def test_the_saved_sample_scenario_makes_the_40000_sq_ft_move(sample_store, monkeypatch):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    at = _open()
    assert at.title[0].value == "Scenarios"
    # listed with its totals before it is opened
    (listed,) = [d.value for d in at.dataframe if "Scenario" in d.value.columns]
    row = listed.set_index("Scenario").loc[SAMPLE_SCENARIO]
    assert (row["Yearly saving"], row["Surplus change (sq ft)"]) == ("£2,073,598", "−40,000")
    (pick,) = [s for s in at.selectbox if s.key == "scenario_open_pick"]
    assert SAMPLE_SCENARIO in pick.options[0]
    at.button(key="scenario_open").click()
    at = run_app(at)
    totals = _totals(at)
    assert totals.loc["Surplus (sq ft)", "Change"] == "−40,000"
    # the request avoids renting 40,000 sq ft at the default cost of space
    assert totals.loc["Yearly saving (£/yr)", "After"] == "£2,073,598"
    assert _moves(at)["Made or refused"].tolist() == ["made"]
    assert FIGURES_NOTE in _text(at)


def test_a_move_built_on_the_page_changes_the_totals_and_a_refusal_says_why(
    sample_store, monkeypatch
):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    sites = _sites(sample_store).set_index("name")
    small = sites.loc["Maidstone Jobcentre", "site_id"]
    hub = sites.loc["Maidstone Police Office", "site_id"]
    at = _open()
    at.selectbox(key="scenario_close_site").set_value(small)
    at.selectbox(key="scenario_close_into").set_value(hub)
    at.button(key="scenario_add_close").click()
    at = run_app(at)
    totals = _totals(at)
    assert totals.loc["Sites", "Change"] == "−1"
    expected = evaluate(_sites(sample_store), Scenario("x", (Close(small, into=hub),)))
    assert totals.loc["Running cost (£/yr)", "Before"] == scenario_panel.money(
        expected.totals.loc["running cost (£/yr)", "before"]
    )
    # the police office cannot fit in the fire station, which has no spare space
    at.selectbox(key="scenario_close_site").set_value(hub)
    at.selectbox(key="scenario_close_into").set_value(
        sites.loc["Maidstone Fire Station", "site_id"]
    )
    at.button(key="scenario_add_close").click()
    at = run_app(at)
    moves = _moves(at)
    assert moves["Made or refused"].tolist() == ["made", "refused"]
    assert (
        "lacks the space" in moves["Why refused"].iloc[1] or "space" in moves["Why refused"].iloc[1]
    )
    assert any("1 of 2 moves were refused" in w.value for w in at.warning)


def test_another_agencys_restricted_site_is_not_offered_nor_counted(sample_store, monkeypatch):
    """With no agency, the sample's restricted sites are in no choice and no total."""
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    every = open_store(sample_store).sites()
    restricted = every[every["sensitivity"] == "restricted"]
    assert len(restricted)
    at = _open()
    choices = at.selectbox(key="scenario_close_site").options
    for name in restricted["name"]:
        assert not any(str(name) in c for c in choices), name
    open_site = _sites(sample_store)["site_id"].iloc[0]
    at.selectbox(key="scenario_dispose_site").set_value(open_site)
    at.button(key="scenario_add_dispose").click()
    at = run_app(at)
    before = _totals(at).loc["Sites", "Before"]
    assert before == f"{len(_sites(sample_store)):,}"


def test_compare_two_scenarios_side_by_side(sample_store, monkeypatch):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    sites = _sites(sample_store)
    at = _open()
    at.selectbox(key="scenario_dispose_site").set_value(sites["site_id"].iloc[0])
    at.button(key="scenario_add_dispose").click()
    at = run_app(at)
    at.text_input(key=scenarios_page.NAME_KEY).set_value("Dispose of one")
    at.button(key="scenario_save").click()
    at = run_app(at)
    saved = open_store(sample_store).scenarios()["name"].tolist()
    assert saved == [SAMPLE_SCENARIO, "Dispose of one"]
    a = at.selectbox(key=scenarios_page.COMPARE_A_KEY)
    b = at.selectbox(key=scenarios_page.COMPARE_B_KEY)
    a.set_value(f"\x1f{SAMPLE_SCENARIO}")  # (agency key, then the name: no agency here)
    b.set_value("\x1fDispose of one")
    at = run_app(at)
    (table,) = [d.value for d in at.dataframe if "difference" in d.value.columns]
    assert list(table.columns) == ["Measure", SAMPLE_SCENARIO, "Dispose of one", "difference"]


def test_the_map_builds_a_move_from_two_clicked_sites(sample_store, monkeypatch):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    sites = _sites(sample_store).set_index("name")
    small = sites.loc["Maidstone Jobcentre", "site_id"]
    hub = sites.loc["Maidstone Police Office", "site_id"]
    at = _open("map")
    at.session_state[map_page.SELECTED_KEY] = small
    at = run_app(at)
    at.button(key="scenario_close_from").click()
    at = run_app(at)
    at.session_state[map_page.SELECTED_KEY] = hub
    at = run_app(at)
    at.button(key="scenario_move_into").click()
    at = run_app(at)
    scenario = at.session_state[scenarios_page.WORKING_KEY]
    assert scenario.moves == (Close(small, into=hub),)
    assert [m.label for m in at.metric][-2:] == ["Running cost a year", "Yearly saving"]
    at.button(key="scenario_dispose").click()
    at = run_app(at)
    assert at.session_state[scenarios_page.WORKING_KEY].moves[-1] == Dispose(hub)


def test_a_cluster_and_the_plan_become_scenarios_in_one_click(sample_store, monkeypatch):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    at = _open("colocation")
    at.button(key="colocation_to_scenario").click()
    at = run_app(at)
    made = at.session_state[scenarios_page.WORKING_KEY]
    assert made.name.startswith("Consolidate cluster 1 into ")
    assert made.moves and all(isinstance(m, Close) for m in made.moves)
    assert len({m.into for m in made.moves}) == 1  # every member into the one hub
    assert any("The scenario is ready" in s.value for s in at.success)

    at.switch_page(str(navigation.page_path("space").relative_to(ROOT)))
    at = run_app(at)
    at.button(key="space_run_plan").click()
    at = run_app(at)
    at.button(key="space_plan_to_scenario").click()
    at = run_app(at)
    plan = at.session_state[scenarios_page.WORKING_KEY]
    assert plan.name == "The optimal plan" and plan.moves
    assert all(type(m).__name__ == "TakeOffer" for m in plan.moves)


def test_the_export_page_packs_a_saved_scenario(sample_store, monkeypatch):
    import io
    import zipfile

    from assetmap.app import export_page, shell

    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    at = _open("export")
    at.selectbox(key=shell.LEVEL_KEY).set_value("district")
    at = run_app(at)
    at.selectbox(key=shell.PLACE_KEY).set_value("E07000110")  # Maidstone
    at = run_app(at)
    at.multiselect(key=export_page.PACK_SCENARIOS_KEY).set_value([f"\x1f{SAMPLE_SCENARIO}"])
    at.selectbox(key=export_page.PACK_FORMAT_KEY).set_value("png")
    at.button(key="export_pack_prepare").click()
    at = run_app(at, timeout=600)
    _, name, data, files = at.session_state[export_page.PACK_BYTES_KEY]
    assert name == "assetmap_pack_maidstone.zip" and files > 10
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.startswith("assetmap_pack_maidstone/maps/scenario_01_total_place") for n in names)
    totals = [n for n in names if n.endswith("_totals.csv") and "scenario_01" in n]
    frame = pd.read_csv(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read(totals[0])))
    assert frame.set_index("measure").loc["surplus (sq ft)", "change"] == pytest.approx(-40_000)


def test_a_large_place_is_searched_before_its_sites_are_listed(sample_store, monkeypatch):
    """Above LISTED_SITES sites the boxes list only what the search finds."""
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    monkeypatch.setattr(scenarios_page, "LISTED_SITES", 100)
    at = _open()
    assert not [s for s in at.selectbox if s.key == "scenario_close_site"]
    at.text_input(key=scenarios_page.SEARCH_KEY).set_value("maidstone police")
    at = run_app(at)
    listed = at.selectbox(key="scenario_close_site").options
    assert listed and all("maidstone police" in o.casefold() for o in listed)


def test_residents_access_of_a_closure_is_counted_and_drawn(sample_store, monkeypatch):
    """A Jobcentre disposed of: one fewer Jobcentre, its LSOAs further away, and a map."""
    from assetmap.app import shell
    from assetmap.residents_access import CATEGORIES

    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    monkeypatch.delenv("ASSETMAP_POPULATION", raising=False)
    sites = _sites(sample_store).set_index("name")
    at = _open()
    at.selectbox(key=shell.LEVEL_KEY).set_value("district")
    at = run_app(at)
    at.selectbox(key=shell.PLACE_KEY).set_value("E07000110")  # Maidstone
    at = run_app(at)
    at.selectbox(key="scenario_dispose_site").set_value(sites.loc["Maidstone Jobcentre", "site_id"])
    at.button(key="scenario_add_dispose").click()
    at = run_app(at)
    at.toggle(key=scenarios_page.ACCESS_KEY).set_value(True)
    at = run_app(at, timeout=600)
    (table,) = [d.value for d in at.dataframe if "Category" in d.value.columns]
    table = table.set_index("Category")
    assert list(table.index) == list(CATEGORIES)
    jobcentres = table.loc["Jobcentre"]
    assert jobcentres["Sites after"] == jobcentres["Sites before"] - 1
    assert jobcentres["Largest change (km)"] > 0  # LSOAs whose nearest it was are further
    assert (table.drop(index="Jobcentre")["Largest change (km)"] == 0).all()
    assert "straight-line distance, not travel time" in _text(at)
    assert "Counted in LSOAs" in _text(at)
    assert at.selectbox(key=scenarios_page.CATEGORY_KEY).options == list(CATEGORIES)
