"""Places in the app (AppTest): any place in England and Wales, and what the store keeps.

A store outside Kent opens on its own place, with its own postcode as the default;
LSOAs are found by search; a boundary file uploaded is kept in the store for every
later session and can be removed; several districts can be saved as one place.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assetmap.app import map_page, shell, space_page
from assetmap.app.navigation import page_path
from assetmap.store import open_store
from tests.app.conftest import run_app, shown
from tests.app.test_pages import _two_halves_geojson

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
TRAFFORD = "E08000009"

pytestmark = pytest.mark.usefixtures("fresh_caches")


def _run(at: AppTest) -> AppTest:
    return run_app(at, timeout=300)


def _start() -> AppTest:
    return _run(AppTest.from_file(APP, default_timeout=300))


def _switch(at: AppTest, page: str) -> AppTest:
    at.switch_page(str(page_path(page).relative_to(ROOT)))
    return _run(at)


def _captions(at: AppTest) -> str:
    return shown(" ".join(c.value for c in at.caption))


def _feature_group(at: AppTest) -> str:
    return json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]


def test_a_store_outside_kent_opens_on_its_place(trafford_store):
    sites = open_store(trafford_store).sites()
    at = _start()
    assert at.session_state[shell.LEVEL_KEY] == "district"
    assert at.session_state[shell.PLACE_KEY] == TRAFFORD
    assert at.metric[0].value == str(len(sites))
    captions = _captions(at)
    assert "place: Trafford" in captions
    assert "outside every" not in captions  # every site is in a locality of the density
    group = _feature_group(at)
    assert "assetmap-choropleth-control" in group
    # real classes (the Kent legend read "0 – 0" alone): the top class is above 0
    uppers = [float(u.replace(",", "")) for u in re.findall(r"– ([\d.,]+)", group)]
    assert uppers and max(uppers) > 0 and "Kent" not in group
    # the postcode hint is a postcode of Trafford's own sites, not of Kent
    hint = at.sidebar.text_input(key=shell.POSTCODE_KEY).placeholder
    assert hint.removeprefix("e.g. ") in set(sites["postcode"])
    assert "ME14" not in hint


def test_the_density_page_draws_the_place_by_district_and_by_lsoa(trafford_store):
    at = _switch(_start(), "density")
    lsoas = at.dataframe[0].value["localities"].sum()
    assert 100 < lsoas < 200  # Trafford's LSOAs (the level below a district)
    assert "localities of Trafford" in _captions(at)
    assert "outside every" not in _captions(at)
    at.selectbox(key="density_level").set_value("district")
    _run(at)
    assert at.dataframe[0].value["localities"].sum() == 1
    assert "Trafford" in _feature_group(at)


def test_the_space_page_starts_at_a_postcode_of_the_place(trafford_store, sample_store_built):
    at = _switch(_start(), "space")
    first = at.text_input(key=space_page.POSTCODE_KEY).value
    assert first in set(open_store(trafford_store).sites()["postcode"])
    assert first != "ME16 9BG"


def test_the_kent_sample_starts_at_its_first_space_request(sample_store):
    at = _switch(_start(), "space")
    first_request = open_store(sample_store).requests().sort_values("source_row")
    assert at.text_input(key=space_page.POSTCODE_KEY).value == first_request["postcode"].iloc[0]


def test_an_lsoa_is_found_by_search(small_store):
    at = _start()
    at.selectbox(key=shell.LEVEL_KEY).set_value("lsoa")
    _run(at)
    assert at.selectbox(key=shell.PLACE_KEY).options == ["All of them"]  # nothing typed yet
    at.text_input(key=shell.LSOA_SEARCH_KEY).input("maidstone 00")
    _run(at)
    options = at.selectbox(key=shell.PLACE_KEY).options
    assert "Maidstone 001A" in options and len(options) <= 51
    at.selectbox(key=shell.PLACE_KEY).set_value(
        next(c for c, n in shell.state.place_choices()["lsoa"] if n == "Maidstone 001A")
    )
    _run(at)
    assert "place: Maidstone 001A" in _captions(at)


def test_a_boundary_set_is_kept_for_every_later_session_and_removed_by_its_owner(small_store):
    at = _start()
    at.sidebar.text_input(key=shell.BOUNDARY_NAME_KEY).input("wards")
    at.sidebar.file_uploader(key=shell.BOUNDARY_UPLOAD_KEY).set_value(
        ("my wards.geojson", _two_halves_geojson(), "application/geo+json")
    )
    _run(at)
    assert any("kept in the estate for everyone" in c.value for c in at.sidebar.caption)
    assert set(open_store(small_store).boundary_sets()["set_name"]) == {"wards"}

    later = _start()  # a new session: the set is there, and its areas are places
    assert "wards (boundary set)" in later.selectbox(key=shell.LEVEL_KEY).options
    later.selectbox(key=shell.LEVEL_KEY).set_value("boundary set wards")
    _run(later)
    later.selectbox(key=shell.PLACE_KEY).set_value("E05000002")
    _run(later)
    assert "place: East Ward" in _captions(later)
    later.button(key="remove_kept_0").click()
    _run(later)
    assert open_store(small_store).boundary_sets().empty
    assert later.selectbox(key=shell.LEVEL_KEY).value == ""
    assert any("Removed the boundary set 'wards'" in c.value for c in later.sidebar.caption)


def test_several_districts_are_saved_as_one_place(small_store):
    at = _start()
    at.sidebar.text_input(key=shell.SAVE_NAME_KEY).input("Mid Kent")
    at.sidebar.multiselect(key=shell.SAVE_CODES_KEY).set_value(["E07000110", "E07000115"])
    at.button(key="save_place_button").click()
    _run(at)
    assert at.selectbox(key=shell.LEVEL_KEY).value == "saved place"
    assert at.selectbox(key=shell.PLACE_KEY).value == "Mid Kent"
    assert "place: Mid Kent" in _captions(at)
    saved = open_store(small_store).places()
    assert saved["name"].tolist() == ["Mid Kent"]
    assert set(saved["codes"].iloc[0].split(";")) == {"E07000110", "E07000115"}


def test_a_saved_place_needs_a_name_and_districts(small_store):
    at = _start()
    at.button(key="save_place_button").click()
    _run(at)
    assert any(
        "give it a name and choose at least one district" in c.value for c in at.sidebar.caption
    )
    assert open_store(small_store).places().empty


def test_the_map_density_level_follows_the_place(trafford_store):
    at = _start()
    levels = at.selectbox(key=map_page.DENSITY_LEVEL_KEY)
    assert levels.options[0] == "The level below the place (LSOA (2011))"
    levels.set_value("district")
    _run(at)
    assert "Trafford" in _feature_group(at)  # one district: Trafford itself


def test_a_postcode_anywhere_picks_its_district(small_store):
    at = _start()
    at.text_input(key=shell.POSTCODE_KEY).input("M32 0TH")
    _run(at)
    assert at.session_state[shell.LEVEL_KEY] == "district"
    assert at.session_state[shell.PLACE_KEY] == TRAFFORD
    assert any("M32 0TH is in Trafford" in c.value for c in at.sidebar.caption)
    assert at.metric[0].value == "0"  # the Kent test sites are not in Trafford


def test_the_national_boundaries_are_prepared_with_progress(small_store, monkeypatch):
    from assetmap import national

    calls: list[tuple[str, float]] = []
    real_lookup = national.lsoa_lookup

    def lookup(*, progress=None):
        # as on the first use: the build reports its stages (other callers give no progress)
        for stage, fraction in (("reading the LSOAs", 0.25), ("dissolving districts", 0.75)):
            if progress is not None:
                progress(stage, fraction)
                calls.append((stage, fraction))
        return real_lookup()

    monkeypatch.setattr(national, "lsoa_lookup", lookup)
    _start()
    assert calls == [("reading the LSOAs", 0.25), ("dissolving districts", 0.75)]
    _start()  # a second session of the same server: prepared once
    assert len(calls) == 2


def _restricted_kent_estate(n: int) -> bytes:
    """A register of ``n`` restricted police sites at one real Kent postcode (Maidstone)."""
    rows = ["Site name,Postcode,Agency,Sector,Sensitivity"]
    rows += [f"Custody suite {i},ME14 1XX,Kent Police,police,restricted" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def test_where_the_app_opens_is_worked_out_from_the_sites_the_viewer_may_see(
    trafford_store, monkeypatch
):
    """The attacker's test: more restricted Kent sites than Trafford's open ones.

    Worked out from every site, the home place, its postcode hint and the basemap
    would move to Kent, telling Trafford Council that another agency keeps many
    restricted sites in Maidstone. From the sites the viewer may see, nothing moves.
    """
    from assetmap.registers.importer import import_register

    trafford = open_store(trafford_store).sites()
    import_register(
        _restricted_kent_estate(len(trafford) + 50),
        name="custody.csv",
        agency="Kent Police",
        sector="police",
        store=trafford_store,
    )
    monkeypatch.setenv("ASSETMAP_AGENCY", "Trafford Council")
    at = _start()
    assert at.session_state[shell.PLACE_KEY] == TRAFFORD
    hint = at.sidebar.text_input(key=shell.POSTCODE_KEY).placeholder
    assert "ME14" not in hint and hint.removeprefix("e.g. ") in set(trafford["postcode"])
    page = _feature_group(at) + json.dumps([c.value for c in at.caption])
    assert "Maidstone" not in page and "Kent" not in page
    # the police see their own sites: for them the estate reaches Maidstone
    monkeypatch.setenv("ASSETMAP_AGENCY", "Kent Police")
    at = _start()
    assert at.session_state.get(shell.PLACE_KEY) != TRAFFORD
