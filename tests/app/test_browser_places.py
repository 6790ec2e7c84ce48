"""End to end: a store outside Kent, in the real app in headless Chromium.

The store is built only from the second sample place's council register (Trafford,
ONS E08000009): the app opens on Trafford, and the map, the density choropleth by
LSOA and by district, and the Export page's print map of Trafford draw. Screenshots
go to ``test-artifacts/``. Skipped when /usr/bin/chromium or the playwright package
is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from assetmap.store import STORE_ENV, open_store
from tests.app.browser import (
    ARTIFACTS,
    chromium_context,
    guarded_page,
    settle,
    skip_without_browser,
    streamlit_server,
)

skip_without_browser()

from playwright.sync_api import Frame, Page, sync_playwright  # noqa: E402 (after the skip)

pytestmark = pytest.mark.browser

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture(scope="module")
def trafford_app(tmp_path_factory, trafford_store_built) -> Iterator[tuple[str, int]]:
    """The app on a store built only from Trafford's register: its URL and sites."""
    store = tmp_path_factory.mktemp("browser-trafford") / "estate.gpkg"
    shutil.copyfile(trafford_store_built, store)
    n_sites = len(open_store(store).sites())
    with streamlit_server({STORE_ENV: str(store)}, log_name="streamlit-trafford.log") as url:
        yield url, n_sites


@pytest.fixture(scope="module")
def browser_context():
    with sync_playwright() as playwright, chromium_context(playwright) as context:
        yield context


@pytest.fixture
def page(browser_context, trafford_app) -> Iterator[Page]:
    url, _ = trafford_app
    with guarded_page(browser_context, url) as page:
        yield page


def _map_frame(page: Page, selector: str) -> Frame:
    frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=120_000).content_frame()
    assert frame is not None
    frame.wait_for_selector(selector, timeout=60_000)
    return frame


def _go(page: Page, name: str) -> None:
    # a map reports its view a quarter of a second after it is drawn, and that rerun is
    # of the page it is on: let it finish before going to another page
    settle(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name).wait_for(timeout=60_000)
    settle(page)


def _choose(page: Page, label: str, option: str) -> None:
    """Choose ``option`` in the main area's select box labelled ``label``."""
    page.get_by_test_id("stMain").get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def test_a_store_outside_kent_opens_on_its_place_and_draws_every_view(page: Page, trafford_app):
    _, n_sites = trafford_app
    # the Map opens on Trafford: every site, the density of its LSOAs, no Kent anywhere
    frame = _map_frame(page, "path.assetmap-site")
    settle(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trafford_map.png"), full_page=True)
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("combobox", name="Place").input_value() == "District"
    assert sidebar.get_by_role("combobox", name="Locality").input_value() == "Trafford"
    assert page.get_by_test_id("stMetricValue").first.inner_text() == str(n_sites)
    main = page.get_by_test_id("stMain").inner_text()
    assert "place: Trafford" in main and "outside every" not in main
    drawn = frame.evaluate("() => document.querySelectorAll('path.assetmap-site').length")
    assert drawn == n_sites
    legend = frame.locator(".assetmap-choropleth-legend").inner_text()
    assert "Sites per km²" in legend
    assert "Contains OS data" in frame.locator(".leaflet-control-attribution").inner_text()

    # the Density page: Trafford by LSOA (the level below a district), then by district
    _go(page, "Density")
    frame = _map_frame(page, ".assetmap-choropleth-legend")
    main = page.get_by_test_id("stMain").inner_text()
    assert "localities of Trafford" in main and "outside every" not in main
    lsoa_paths = frame.evaluate(
        "() => document.querySelectorAll('path.leaflet-interactive').length"
    )
    assert lsoa_paths > 100  # Trafford's 138 LSOAs
    page.screenshot(path=str(ARTIFACTS / "trafford_density_lsoa.png"), full_page=True)
    _choose(page, "Localities", "District")
    page.get_by_test_id("stMain").get_by_text("in 1 localities of Trafford").wait_for(
        timeout=60_000
    )
    frame = _map_frame(page, ".assetmap-choropleth-legend")
    frame.wait_for_function(
        "() => document.querySelectorAll('path.leaflet-interactive').length < 10",
        timeout=60_000,
    )
    page.screenshot(path=str(ARTIFACTS / "trafford_density_district.png"), full_page=True)

    # the Export page: the print map of Trafford, as a PNG shown on the page
    _go(page, "Export")
    assert "Place: Trafford" in page.get_by_test_id("stMain").inner_text()
    page.get_by_role("button", name="Draw the print map").click()
    page.get_by_role("button", name="Download assetmap_sites_trafford_A4.png").wait_for(
        timeout=120_000
    )
    image = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
    image.wait_for(timeout=60_000)
    assert image.evaluate("img => img.naturalWidth") >= 480  # shown 480 px wide
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "trafford_export_print_map.png"), full_page=True)
