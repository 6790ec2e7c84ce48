"""End to end in Chromium: the seed's story, "we've got 40,000 feet" meets "we need 40,000".

Two officers sign in through the mock OpenID Connect provider (the set-up of
``tests/app/test_sign_in.py``): one of Kent Police, one of NHS Kent and Medway, each
in a browser of their own, on one GeoPackage store. Kent Police offers 40,000 sq ft
spare at its Maidstone office; NHS Kent and Medway asks for 40,000 sq ft on the Space
page and saves the request; the exchange proposes the match from the plan; the police
offer it, health accepts and completes it; both inboxes show it completed; and the
plan and the co-location page show the space moved (the office's spare space is 0, the
request closed, the plan places nothing).

A screenshot of each step goes to ``test-artifacts/``, and with
``ASSETMAP_UPDATE_DOCS=1`` to ``docs/exchange/`` as well, for the README's walk-through.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetmap.access import Viewer
from assetmap.exchange.matches import matches
from assetmap.store import open_store
from tests.app.browser import (
    ARTIFACTS,
    ROOT,
    chromium_context,
    oidc_provider,
    settle,
    sign_in,
    signed_in_app,
    skip_without_browser,
)
from tests.app.conftest import write_store
from tests.app.test_exchange_page import _agency_sites

skip_without_browser("oidc_provider_mock", "authlib")

from playwright.sync_api import Page, sync_playwright  # noqa: E402 (after the skip)

pytestmark = pytest.mark.browser

POLICE = "Kent Police"
HEALTH = "NHS Kent and Medway"
OFFICE = "Maidstone Police Office"
HEALTH_CENTRE = "Maidstone Health Centre"
POSTCODE = "ME15 6AP"
USERS = {
    "police": {"email": "estates@kent-police.example", "agency": POLICE},
    "health": {"email": "estates@nhs-kent-medway.example", "agency": HEALTH},
}
DOCS = ROOT / "docs" / "exchange"
#: Every wait for the app (a rerun after a click, a page opened): generous, on two cores.
WAIT_MS = 120_000


def _shot(page: Page, number: int, name: str) -> None:
    """Save a screenshot of the page: always to test-artifacts/, and to docs/ when asked."""
    ARTIFACTS.mkdir(exist_ok=True)
    file_name = f"{number:02d}-{name}.png"
    path = ARTIFACTS / f"exchange-{file_name}"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("ASSETMAP_UPDATE_DOCS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / file_name)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The mock identity provider (its own process), knowing the two officers."""
    with oidc_provider(USERS) as url:
        yield url


def _build_store(path: Path) -> Path:
    """Kent Police's office (nothing spare yet) and a health centre 220 m away."""
    police = _agency_sites(
        POLICE,
        "police",
        "kent_police_estate.csv",
        [OFFICE, "Maidstone Police Depot"],
        ["KP-0001", "KP-0002"],
        [(576_200.0, 155_700.0), (578_000.0, 157_000.0)],
    )
    police["floor_area_sqft"] = [94_850.0, 12_000.0]
    write_store(path, police, owner=POLICE)
    health = _agency_sites(
        HEALTH,
        "health",
        "nhs_kent_medway_estate.csv",
        [HEALTH_CENTRE],
        ["NHS-0001"],
        [(576_400.0, 155_800.0)],
    )
    health["floor_area_sqft"] = 30_000.0
    write_store(path, health, owner=HEALTH)
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("exchange")
    store = _build_store(folder / "estate.gpkg")
    with signed_in_app(store, provider, folder, "streamlit-server-exchange.log") as url:
        yield url, store


def _sign_in(page: Page, app_url: str, provider: str, sub: str) -> None:
    sign_in(page, app_url, provider, sub, USERS[sub]["email"])


#: What each page draws last: it has run to the end when this is on it.
_LAST = {"exchange": "Corrections to your sites' records"}


def _open(page: Page, app_url: str, name: str, heading: str) -> None:
    """Open one of the app's pages and wait until it has run to the end."""
    page.goto(f"{app_url}/{name}")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=WAIT_MS)
    if name in _LAST:  # (and has drawn its last section)
        page.get_by_role("heading", name=_LAST[name]).first.wait_for(timeout=WAIT_MS)
    settle(page)


def _main(page: Page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def _wait_text(page: Page, text: str | re.Pattern) -> None:
    page.get_by_test_id("stMain").get_by_text(text).first.wait_for(timeout=WAIT_MS)
    settle(page)


def _click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def _run_the_plan(page: Page, app_url: str, *, expect: str) -> str:
    """Open the Space page, run the plan, wait for ``expect`` and return the plan's section."""
    _open(page, app_url, "space", "Space")
    page.get_by_role("button", name="Run the plan", exact=True).click()
    _wait_text(page, expect)
    page.get_by_role("button", name="Download the plan (CSV)").wait_for(timeout=WAIT_MS)
    if "requests matched" in _main(page):  # the plan's map
        page.locator('iframe[title="streamlit_folium.st_folium"]').last.wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(1_500)  # the map's tiles of boundaries drawn
    return _main(page).split("The optimal plan for the place", 1)[1]


def _spare_space_caption(page: Page, app_url: str) -> str:
    _open(page, app_url, "colocation", "Co-location")
    _wait_text(page, "Spare space offered in this cluster")
    line = next(
        line for line in _main(page).splitlines() if "Spare space offered in this cluster" in line
    )
    return line


def test_the_seed_story_end_to_end(app, provider):
    app_url, store = app
    with (
        sync_playwright() as playwright,
        chromium_context(playwright, width=1400, height=1600) as police_context,
        chromium_context(playwright, width=1400, height=1600) as health_context,
    ):
        police = police_context.new_page()
        health = health_context.new_page()
        try:
            _story(app_url, provider, store, police, health)
        finally:  # what each officer saw last, to see why a step failed
            for name, page in (("police", police), ("health", health)):
                page.screenshot(path=str(ARTIFACTS / f"exchange-last-{name}.png"), full_page=True)

    sites = open_store(store).sites()
    assert sites.loc[sites["site_id"] == "KP-0001", "surplus_sqft"].tolist() == [0]
    assert open_store(store).requests()["space_needed_sqft"].tolist() == [0]


def _story(app_url: str, provider: str, store: Path, police: Page, health: Page) -> None:
    """The seed's story, step by step, with a screenshot of each."""
    _sign_in(police, app_url, provider, "police")
    _sign_in(health, app_url, provider, "health")

    # 1. Kent Police declares 40,000 sq ft spare at its Maidstone office
    _open(police, app_url, "exchange", "Exchange")
    police.get_by_text("Offer spare space on one of your sites").click()
    spare = police.get_by_label("Spare space (sq ft)")
    spare.wait_for(timeout=WAIT_MS)
    spare.fill("40000")
    spare.press("Tab")
    police.get_by_label("Contact").first.fill("estates@kent-police.example")
    _click(police, "Offer this space")
    _wait_text(police, f"Offered 40,000 sq ft at {OFFICE}")
    _shot(police, 1, "police-offers-space")
    before = _spare_space_caption(police, app_url)
    assert f"Spare space offered in this cluster: 40,000 sq ft ({OFFICE}: 40,000 sq ft)" in (before)
    _shot(police, 2, "colocation-before")

    # 2. NHS Kent and Medway asks for 40,000 sq ft on the Space page and saves it
    _open(health, app_url, "space", "Space")
    postcode = health.get_by_role("textbox", name="Near postcode", exact=True)
    postcode.fill(POSTCODE)
    assert health.get_by_role("spinbutton", name="Space needed (sq ft)").input_value() == "40000"
    _click(health, "Find space")
    health.get_by_role("button", name="Save this request").wait_for(timeout=WAIT_MS)
    settle(health)
    _click(health, "Save this request")
    _wait_text(health, re.compile(r"Saved request \S+ for NHS Kent and Medway"))
    assert f"40,000 sq ft near {POSTCODE}" in _main(health)
    _shot(health, 3, "health-saves-request")
    plan_before = _run_the_plan(health, app_url, expect="1 of 1 requests matched: 40,000 sq ft")
    assert "1 open space requests in" in plan_before
    _shot(health, 4, "plan-before")

    # 3. the exchange proposes the match, from the plan
    _open(health, app_url, "exchange", "Exchange")
    _click(health, "Propose matches from the plan")
    _wait_text(health, "Proposed 1 match from the plan.")
    (match_id,) = matches(open_store(store), Viewer("t", agency=HEALTH))["match_id"]
    assert f"{match_id}: 40,000 sq ft at {OFFICE}" in _main(health)
    assert f"Waiting on {POLICE}." in _main(health)
    _shot(health, 5, "match-proposed")

    # 4. the police offer it ...
    _open(police, app_url, "exchange", "Exchange")
    assert "Waiting on you." in _main(police)
    _click(police, "Offer")
    _wait_text(police, f"Match {match_id} offered.")
    _shot(police, 6, "police-offers-match")

    # ... health accepts it and completes it
    _open(health, app_url, "exchange", "Exchange")
    assert "Waiting on you." in _main(health)
    _click(health, "Accept")
    _wait_text(health, f"Match {match_id} accepted.")
    _shot(health, 7, "health-accepts")
    _click(health, "Complete")
    _wait_text(health, f"Match {match_id} completed.")
    _shot(health, 8, "health-completes")

    # 5. both inboxes show it completed, with nothing left to do
    for page in (health, police):
        _open(page, app_url, "exchange", "Exchange")
        text = _main(page)
        assert f"{match_id}: 40,000 sq ft at {OFFICE}" in text
        assert "completed, version" in text
        assert "Waiting on you." not in text
        assert page.get_by_role("button", name="Withdraw", exact=True).count() == 0
    _shot(police, 9, "police-inbox-completed")

    # 6. the plan and the co-location page see the space moved
    plan_after = _run_the_plan(health, app_url, expect="Nothing to allocate")
    assert "0 open space requests in" in plan_after
    assert "(1 closed: a completed match on the Exchange page met them)" in plan_after
    assert "requests matched" not in plan_after
    _shot(health, 10, "plan-after")
    after = _spare_space_caption(police, app_url)
    assert "Spare space offered in this cluster: 0 sq ft." in after
    _shot(police, 11, "colocation-after")
