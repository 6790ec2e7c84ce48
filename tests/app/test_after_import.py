"""The sidebar's filters across an import made in the app (Streamlit's AppTest).

The Sector filter's options show each sector's count; an import changes the
counts. The filters must keep their meaning: a sector still chosen stays chosen,
a sector the officer removed stays removed, and a sector that was not in the
estate before appears (chosen, as on a fresh start). The other filters keep
their chosen values and offer the new ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assetmap.app import registers_page, shell
from assetmap.app.navigation import page_path
from assetmap.store import STORE_ENV, open_store
from tests.app.conftest import run_app, write_store
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")

pytestmark = pytest.mark.usefixtures("fresh_caches")

#: A register of three police stations and two fire stations, located by grid reference.
REGISTER = (
    b"Site name,Agency,Sector,Easting,Northing,GIA (sq ft),Use,Tenure\n"
    b"North Station,Kent Police,police,575100,155100,4000,Office,freehold\n"
    b"South Station,Kent Police,police,575900,155900,5000,Office,freehold\n"
    b"East Station,Kent Police,police,576700,156700,6000,Office,freehold\n"
    b"Fire Station One,Kent Fire and Rescue Service,fire,577500,157500,7000,Depot,leasehold\n"
    b"Fire Station Two,Kent Fire and Rescue Service,fire,578300,158300,8000,Depot,leasehold\n"
)


@pytest.fixture
def three_sector_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of police, health and council sites only; ``$ASSETMAP_STORE`` names it."""
    sites = make_sites(60)
    sites = sites[sites["sector"].isin(["police", "health", "council"])].copy()
    path = write_store(tmp_path / "estate.gpkg", sites)
    monkeypatch.setenv(STORE_ENV, str(path))
    return path


FILTER_KEYS = (
    shell.SECTOR_FILTER_KEY,
    shell.AGENCY_FILTER_KEY,
    shell.USE_FILTER_KEY,
    shell.TENURE_FILTER_KEY,
)


def _sidebar_captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def _open(page: str) -> AppTest:
    at = run_app(AppTest.from_file(APP, default_timeout=300))
    at.switch_page(str(page_path(page).relative_to(ROOT)))
    return run_app(at)


def _import(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value((name, data, "text/csv"))
    run_app(at)
    at.button(key="register_import").click()
    run_app(at)
    assert any(f"Imported {name}" in s.value for s in at.success), [e.value for e in at.error]


def test_sector_filter_keeps_its_choice_and_offers_new_sectors_after_an_import(
    three_sector_store,
):
    at = _open("registers")
    sector = at.multiselect(key=shell.SECTOR_FILTER_KEY)
    assert sector.value == ["police", "health", "council"]  # every sector, to start with
    sector.unselect("health")
    run_app(at)
    at.multiselect(key=shell.AGENCY_FILTER_KEY).select("Kent Police")
    run_app(at)
    sector = at.multiselect(key=shell.SECTOR_FILTER_KEY)
    assert sector.value == ["police", "council"]
    assert at.multiselect(key=shell.AGENCY_FILTER_KEY).value == ["Kent Police"]
    # what the browser keeps of the choice: the chosen options' labels
    held = {key: list(at.multiselect(key=key).values) for key in FILTER_KEYS}
    assert "Sites: Police 10 · Health (NHS) 10 · Council 10" in _sidebar_captions(at)

    _import(at, "stations.csv", REGISTER)
    assert (open_store(three_sector_store).sites()["sector"] == "police").sum() == 13
    run_app(at)  # the officer's next action: the sidebar now counts the imported rows

    sector = at.multiselect(key=shell.SECTOR_FILTER_KEY)
    # police (10 -> 13 sites) and council are still chosen, health is still taken out, and
    # fire, new to the estate, is offered and chosen (as on a fresh start)
    assert sector.options == ["Police", "Health (NHS)", "Council", "Fire and rescue"]
    assert sector.value == ["police", "council", "fire"]
    assert "Sites: Police 13 · Health (NHS) 10 · Council 10 · Fire and rescue 2" in (
        _sidebar_captions(at)
    )
    agency = at.multiselect(key=shell.AGENCY_FILTER_KEY)
    assert agency.value == ["Kent Police"]
    assert "Kent Fire and Rescue Service" in agency.options
    assert "Depot" in at.multiselect(key=shell.USE_FILTER_KEY).options
    assert "leasehold" in at.multiselect(key=shell.TENURE_FILTER_KEY).options
    # every label the browser held still names an option: the browser cannot lose a choice
    for key, labels in held.items():
        assert set(labels) <= set(at.multiselect(key=key).options), key
    # and the pages work on that choice: Kent Police's 13 sites (health and fire have none)
    chosen = at.session_state["selection"]
    assert chosen.sectors == ("police", "council", "fire")
    assert chosen.agencies == ("Kent Police",)
    at.switch_page(str(page_path("map").relative_to(ROOT)))
    run_app(at)
    assert at.metric[0].value == "13"


def test_a_chosen_value_no_site_has_any_more_stays_chosen(three_sector_store):
    at = _open("registers")
    _import(at, "stations.csv", REGISTER)
    run_app(at)
    at.multiselect(key=shell.AGENCY_FILTER_KEY).select("Kent Fire and Rescue Service")
    run_app(at)
    at.multiselect(key=shell.SECTOR_FILTER_KEY).unselect("council")
    run_app(at)
    assert at.multiselect(key=shell.SECTOR_FILTER_KEY).value == ["police", "health", "fire"]

    open_store(three_sector_store).remove_source("stations.csv")
    run_app(at)
    # the filter still means "Kent Fire and Rescue Service only": no site now, not every site
    agency = at.multiselect(key=shell.AGENCY_FILTER_KEY)
    assert agency.value == ["Kent Fire and Rescue Service"]
    assert "Kent Fire and Rescue Service" in agency.options
    sector = at.multiselect(key=shell.SECTOR_FILTER_KEY)
    assert sector.value == ["police", "health", "fire"]
    assert at.session_state["selection"].sectors == ("police", "health", "fire")
    at.switch_page(str(page_path("map").relative_to(ROOT)))
    run_app(at)
    assert at.metric[0].value == "0"
