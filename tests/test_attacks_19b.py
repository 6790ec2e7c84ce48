"""A second attacker's review of issue 19, after the first review's fixes.

Each test is a finding in the code added or changed since ``tests/test_attacks_19.py``:
a user loses what is theirs, or a register's text breaks a page of the map pack.
"""

from __future__ import annotations

import pandas as pd
import pytest

from assetmap import scenario_io
from assetmap.access import Viewer
from assetmap.scenarios import Close, Dispose, Scenario, evaluate, visible_scenarios
from assetmap.store import open_store
from tests.test_scenarios import KP, toy_sites

#: The local single user with no agency (no sign-in, ``$ASSETMAP_AGENCY`` unset).
LOCAL = Viewer("officer", agency=None, signed_in=False)


# --------------------------------------------------------------- the local user's own scenarios


def test_the_local_user_with_no_agency_sees_the_scenario_they_saved_outside_the_place(any_store):
    """The first review made a scenario naming a site outside the place private (right).

    But the local single user with no agency saves as owner ``""``, and
    ``visible_scenarios`` gave a viewer of no agency only the shared scenarios: a
    scenario built in one place and saved while another place was chosen (the
    Scenarios page passes the chosen place's sites) was saved ("Saved 'Hub'.") and
    then never listed again, to be opened, compared, packed or removed, by the only
    person who uses the store.
    """
    path = any_store
    other_place = toy_sites(restricted=False).iloc[:2]  # SA, SB: not SD
    saved = scenario_io.save_scenario(
        open_store(path, viewer=LOCAL),
        Scenario("Hub", [Dispose("SD")]),
        viewer=LOCAL,
        sites=other_place,
    )
    # kept private, as before
    assert open_store(path, viewer=LOCAL).scenarios()["shared"].tolist() == [""]
    everything = toy_sites(restricted=False)
    store = open_store(path, viewer=LOCAL)
    seen = scenario_io.saved_scenarios(store, viewer=LOCAL, sites=everything)
    assert [s.name for s in seen] == [saved.name]
    # and a signed-in viewer of no agency (a database's other sessions) does not see it
    nobody = Viewer("x@example.gov.uk", agency=None, signed_in=True)
    assert not scenario_io.saved_scenarios(
        open_store(path, viewer=nobody), viewer=nobody, sites=everything
    )


def test_a_signed_in_viewer_of_no_agency_still_sees_no_private_scenario():
    """The other side: a private scenario of owner ``""`` is no signed-in no-agency viewer's."""
    row = {
        "name": "Hub",
        "author": "officer",
        "agency": "",
        "created_at": "",
        "moves": Scenario("Hub", [Dispose("SD")]).moves_json(),
        "shared": "",
        "owner": "",
    }
    nobody = Viewer("x@example.gov.uk", agency=None, signed_in=True)
    table = pd.DataFrame([row])
    assert visible_scenarios(table, ["SD"], nobody).empty
    assert visible_scenarios(table, ["SD"], None).empty
    assert visible_scenarios(table, ["SD"], KP).empty
    assert visible_scenarios(table, ["SD"], LOCAL)["name"].tolist() == ["Hub"]


# --------------------------------------------------------------- register text on the pack's pages


def _texts(figure) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in figure.findobj(Text)]


@pytest.mark.parametrize("gap", ["\n", "\r\n", "\r", "\x0b", "\x0c", "\u2028", "\x85"])
def test_a_site_name_with_line_breaks_stays_on_its_line_of_the_totals_page(gap):
    """``totals_figure`` wrote each move as one line of text at a fixed height.

    A site name holding line breaks (a register's cell, or a cluster's hub name in
    the scenario's name "Consolidate cluster 3 into ...") drew as many lines, over
    the moves below it (a refusal's reason hidden under another move's text) and
    off the page; the title's line was drawn over the subtitle.
    """
    from assetmap.maps.static.scenario import totals_figure

    sites = toy_sites(restricted=False)
    sites.loc[sites["site_id"] == "SA", "name"] = f"Depot{gap}{gap}Annex"
    scenario = Scenario(f"Close{gap}it", [Close("SA", into="SB"), Dispose("SD")])
    result = evaluate(sites, scenario, viewer=KP, today="2026-01-01")
    figure = totals_figure(result, title=f"Scenario: {scenario.name}", subtitle=f"Kent{gap}x")
    written = [t for t in _texts(figure) if t]
    assert any("Depot Annex" in t for t in written)
    breaks = ("\n", "\r", "\x0b", "\x0c", "\u2028", "\x85")
    assert not [t for t in written if any(b in t for b in breaks)]


# --------------------------------------------------------------- a scenario's name as a column


@pytest.mark.parametrize("name", ["difference", "measure", "Measure", "DIFFERENCE "])
def test_comparing_a_scenario_named_as_a_column_of_the_table_keeps_both(name):
    """``compare`` named its columns after the scenarios, beside ``difference``.

    A scenario named "difference" was overwritten by the difference (its figures
    gone, b − a shown as its own); one named "measure" (the index's name) made the
    Scenarios page's chart ``reset_index(names="measure")`` raise ValueError, and
    "Measure" replaced the page table's first column. The compare boxes open on the
    oldest saved scenario, so another agency's shared scenario of such a name broke
    the comparison for every agency.
    """
    from assetmap.scenarios import compare

    sites = toy_sites(restricted=False)
    a = evaluate(sites, Scenario("Plan", [Dispose("SA")]), viewer=KP, today="2026-01-01")
    b = evaluate(sites, Scenario(name, [Dispose("SB")]), viewer=KP, today="2026-01-01")
    for first, second in ((a, b), (b, a)):
        table = compare(first, second)
        assert len(table.columns) == 3
        assert table.columns[-1] == "difference"
        reserved = {"difference", "measure"}
        assert not [c for c in table.columns[:2] if c.strip().lower() in reserved]
        saving = "yearly saving (£/yr)"
        assert table.loc[saving, table.columns[0]] == first.totals.loc[saving, "after"]
        assert table.loc[saving, table.columns[1]] == second.totals.loc[saving, "after"]
        # the page's chart: the money rows, long, by measure
        long = table.drop(columns=["difference"]).reset_index(names="measure")
        assert len(long) == len(table)


# --------------------------------------------------------------- the store's own guard


def test_a_signed_in_viewer_of_no_agency_cannot_change_the_local_users_scenarios(any_store):
    """A database writes a signed-in viewer's rows as their agency's key: ``""`` for none.

    ``""`` is also the key of the local single user's scenarios (no agency), so a
    signed-in session of no agency that reached the store's ``save_scenario`` or
    ``remove_scenario`` (``scenario_io`` refuses it first; the store did not) replaced
    or removed the local user's scenario: the row-level security lets a writer whose
    key is ``""`` change the rows whose key is ``""``. (A GeoPackage store is one
    user's file and checks no writer.)
    """
    from assetmap.errors import PermissionDeniedError

    if not str(any_store).startswith("postgresql://"):
        pytest.skip("a GeoPackage store is one user's file: the app names the owner")
    moves = Scenario("Hub", [Dispose("SA")]).moves_json()
    row = {"name": "Hub", "author": "officer", "agency": "", "moves": moves, "shared": ""}
    open_store(any_store, viewer=LOCAL).save_scenario(row, owner="")
    nobody = Viewer("x@example.gov.uk", agency=None, signed_in=True)
    store = open_store(any_store, viewer=nobody)
    with pytest.raises(PermissionDeniedError, match="signed in with no agency, so you cannot"):
        store.remove_scenario("Hub", owner="")
    with pytest.raises(PermissionDeniedError, match="signed in with no agency, so you cannot"):
        store.save_scenario({**row, "moves": "[]"}, owner="")
    kept = open_store(any_store, viewer=LOCAL).scenarios()
    assert kept["moves"].tolist() == [moves]


# --------------------------------------------------------------- a cache key without its sites


def test_consolidating_a_cluster_uses_the_whole_places_clusters_whatever_the_filters(
    sample_store, monkeypatch
):
    """The Scenarios page asked ``state.colocation`` for the *whole place's* clusters
    (its sites without the sidebar's filters) under ``shell.cache_key(chosen)``, the
    key the Co-location, Map and Export pages cache their *filtered* sites' clusters
    under (400 m is the default distance). The cache is keyed by that key, not by the
    sites: with one agency chosen in the sidebar, whichever page came first decided
    what the other got. After the Co-location page, "Consolidate a co-location
    cluster into its hub" found no cluster (one agency's sites make none); the other
    way round, the Co-location page listed clusters of agencies its filter left out.
    The plan ("The optimal plan of the place's space requests") had the same fault
    with the Space page's ``state.plan``.
    """
    from streamlit.testing.v1 import AppTest

    from assetmap.app import navigation
    from assetmap.app.sidebar import AGENCY_FILTER_KEY
    from assetmap.store import STORE_ENV
    from tests.app.conftest import ROOT, run_app

    monkeypatch.setenv(STORE_ENV, str(sample_store))
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    at = run_app(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300))
    (agencies,) = [m for m in at.multiselect if m.key == AGENCY_FILTER_KEY]
    police = [a for a in agencies.options if "Police" in str(a)][:1]
    assert police, agencies.options
    agencies.set_value(police)
    at = run_app(at)
    at.switch_page(str(navigation.page_path("colocation").relative_to(ROOT)))
    at = run_app(at)  # one agency's sites: no cluster, cached under the selection's key
    at.switch_page(str(navigation.page_path("scenarios").relative_to(ROOT)))
    at = run_app(at)
    at.button(key="scenario_from_cluster").click()
    at = run_app(at)
    assert [s for s in at.selectbox if s.key == "scenario_cluster"], [c.value for c in at.caption]


# --------------------------------------------------------------- a blank name


def test_saving_a_scenario_under_a_blank_name_is_refused_in_words_not_a_crash(
    sample_store, monkeypatch
):
    """The Save button made ``dataclasses.replace(scenario, name=name or scenario.name)``
    outside its ``try``: a name of spaces is truthy, ``Scenario`` refuses it, and the
    InvalidArgumentError reached Streamlit as a traceback instead of "The scenario was
    not saved: ..." (the page's later sections were not drawn).
    """
    from streamlit.testing.v1 import AppTest

    from assetmap.access import visible_sites
    from assetmap.app import navigation, scenarios_page
    from assetmap.store import STORE_ENV
    from tests.app.conftest import ROOT, run_app

    monkeypatch.setenv(STORE_ENV, str(sample_store))
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    site = str(visible_sites(open_store(sample_store).sites())["site_id"].iloc[0])
    at = run_app(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(navigation.page_path("scenarios").relative_to(ROOT)))
    at = run_app(at)
    at.selectbox(key="scenario_dispose_site").set_value(site)
    at.button(key="scenario_add_dispose").click()
    at = run_app(at)
    at.text_input(key=scenarios_page.NAME_KEY).set_value("   ")
    at.button(key="scenario_save").click()
    at.run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
