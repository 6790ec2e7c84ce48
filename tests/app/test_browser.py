"""End to end: the real app in headless Chromium draws the map with no internet.

Runs ``streamlit run streamlit_app.py`` on 127.0.0.1 against a small test store
(``$ASSETMAP_STORE``) and drives Debian's Chromium with Playwright. Screenshots go
to ``test-artifacts/``. Skipped when /usr/bin/chromium or the playwright package is
missing.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetmap import audit
from assetmap.store import STORE_ENV
from tests.app.browser import (
    ARTIFACTS,
    chromium_context,
    guarded_page,
    settle,
    skip_without_browser,
    streamlit_server,
)
from tests.app.conftest import write_store
from tests.maps.factories import HOSTILE_NAME, make_sites

skip_without_browser()

from playwright.sync_api import Frame, Page, sync_playwright  # noqa: E402 (after the skip)

pytestmark = pytest.mark.browser

N_SITES = 60
#: More sites than the Map page draws one by one in a view (viewport.POINT_LIMIT, 3,000).
BIG_SITES = 5_000
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
HOSTILE_ID = "T-00000"

# Centre the map on one site (found by its feature id) and return its centre in the iframe.
# Markers may sit inside a cluster group, so look through every group's layers.
_FOCUS_SITE_JS = """
(id) => {
    let found = null;
    const check = (layer) => {
        if (layer.feature && layer.feature.properties && layer.feature.properties.id === id
            && layer.getLatLng) { found = layer; }
    };
    window.map.eachLayer((layer) => {
        check(layer);
        if (layer.getLayers) { layer.getLayers().forEach(check); }
    });
    if (!found) { return false; }
    window.__focused = found;
    window.map.setView(found.getLatLng(), 18, {animate: false});
    return true;
}
"""
_FOCUSED_CENTRE_JS = """
() => {
    const box = window.__focused.getElement().getBoundingClientRect();
    return {x: box.x + box.width / 2, y: box.y + box.height / 2};
}
"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    store = write_store(
        tmp_path_factory.mktemp("browser") / "estate.gpkg", make_sites(N_SITES, hostile=True)
    )
    with streamlit_server({STORE_ENV: str(store)}) as url:
        yield url


@pytest.fixture(scope="module")
def big_app_url(tmp_path_factory) -> Iterator[str]:
    """The app on more sites than a view draws one by one (so it draws hexagons first)."""
    store = write_store(
        tmp_path_factory.mktemp("browser-big") / "estate.gpkg", make_sites(BIG_SITES, hostile=True)
    )
    with streamlit_server({STORE_ENV: str(store)}, log_name="streamlit-server-big.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser_context():
    with sync_playwright() as playwright, chromium_context(playwright) as context:
        yield context


@pytest.fixture
def page(browser_context, app_url) -> Iterator[Page]:
    with guarded_page(browser_context, app_url, check_errors=False) as page:
        yield page


def _map_frame(page: Page) -> Frame:
    frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=60_000).content_frame()
    assert frame is not None
    frame.wait_for_selector("path.assetmap-site", timeout=60_000)
    return frame


def _wait_for_count(frame: Frame, selector: str, expected: int) -> None:
    frame.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n",
        arg=[selector, expected],
        timeout=30_000,
    )


def _focus_site(page: Page, frame: Frame, site_id: str) -> tuple[float, float]:
    """Zoom the map in on one site (out of any cluster); return its centre on the page."""
    page.locator(FOLIUM_IFRAME).scroll_into_view_if_needed()
    assert frame.evaluate(_FOCUS_SITE_JS, site_id), f"site {site_id} is not on the map"
    frame.wait_for_function("() => window.__focused.getElement()", timeout=30_000)
    point = frame.evaluate(_FOCUSED_CENTRE_JS)
    box = page.locator(FOLIUM_IFRAME).bounding_box()
    return box["x"] + point["x"], box["y"] + point["y"]


def test_map_draws_every_site_the_legend_and_the_attribution(page: Page):
    frame = _map_frame(page)
    _wait_for_count(frame, "path.assetmap-site", N_SITES)
    legend = frame.locator(".assetmap-legend:not(.assetmap-choropleth-legend)").inner_text()
    for label in ("Police", "Health (NHS)", "DWP / Jobcentre Plus", "Council", "Fire and rescue"):
        assert label in legend
    # the density choropleth is drawn behind the sites, with its own legend
    choropleth = frame.locator(".assetmap-choropleth-legend").inner_text()
    assert "Sites per km² (Quantiles)" in choropleth and "no data" in choropleth
    attribution = frame.locator(".leaflet-control-attribution").inner_text()
    assert "Contains OS data" in attribution
    assert frame.locator("path.leaflet-interactive").count() >= N_SITES
    # every circle is filled with a sector colour, not Leaflet's default blue
    fills = frame.eval_on_selector_all(
        "path.assetmap-site", "els => [...new Set(els.map(e => e.getAttribute('fill')))]"
    )
    assert len(fills) == 6 and "#3388ff" not in fills
    assert page.get_by_test_id("stMetricValue").first.inner_text() == str(N_SITES)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_page.png"), full_page=True)


def test_clicking_a_site_shows_its_record_and_hostile_text_stays_text(page: Page):
    frame = _map_frame(page)
    x, y = _focus_site(page, frame, HOSTILE_ID)
    page.mouse.move(x, y)
    tooltip = frame.locator(".leaflet-tooltip")
    tooltip.wait_for(timeout=30_000)
    assert "<img src=x onerror=window.__xss=1>" in tooltip.inner_text()
    assert tooltip.locator("img").count() == 0

    page.mouse.click(x, y)
    record = page.locator(".assetmap-record")
    record.wait_for(timeout=30_000)
    text = record.inner_text()
    assert HOSTILE_NAME.split(" </script>")[0] in text
    assert "<script>window.__xss=2</script>" in text
    assert "test_register.csv" in text and HOSTILE_ID in text
    assert record.locator("img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert frame.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=str(ARTIFACTS / "site_record.png"), full_page=True)


@pytest.fixture
def watched(browser_context, app_url) -> Iterator[Page]:
    """A page on the Map (what it and the app say to each other is heard from the start)."""
    with guarded_page(browser_context, app_url, check_errors=False) as page:
        yield page


#: Where the map is, to a millionth of a degree: its centre and zoom.
_VIEW_JS = """
() => {
    const c = window.map.getCenter();
    return [Math.round(c.lat * 1e6) / 1e6, Math.round(c.lng * 1e6) / 1e6, window.map.getZoom()];
}
"""
#: The map has told the app its view (streamlit-folium sends it a quarter-second after a move).
_REPORTED_JS = """
() => {
    const sent = window.__GLOBAL_DATA__ && window.__GLOBAL_DATA__.previous_data;
    if (!sent || !sent.bounds || !sent.bounds._southWest) { return false; }
    const b = window.map.getBounds();
    return sent.zoom === window.map.getZoom()
        && Math.abs(sent.bounds._southWest.lat - b.getSouth()) < 1e-9
        && Math.abs(sent.bounds._northEast.lng - b.getEast()) < 1e-9;
}
"""


#: Close in two zoom levels on one site, put a little off the map's centre.
_CLOSE_IN_ON_A_SITE_JS = """
(() => {
    let site = null;
    window.map.eachLayer(layer => {
        if (!site && layer.feature && layer.getLatLng) { site = layer.getLatLng(); }
    });
    const zoom = window.map.getZoom() + 2;
    const at = window.map.project(site, zoom).add([60, 40]);
    window.map.setView(window.map.unproject(at, zoom), zoom, {animate: false});
})()
"""


def _move_and_wait(page: Page, frame: Frame, js: str) -> list[float]:
    """Move the map with ``js``, wait until the app has had its report; return the view."""
    frame.evaluate(js)
    frame.wait_for_function(_REPORTED_JS, timeout=30_000)
    settle(page)
    return frame.evaluate(_VIEW_JS)


def test_filter_keeps_the_map_position(watched):
    page = watched
    frame = _map_frame(page)
    _wait_for_count(frame, "path.assetmap-site", N_SITES)
    view = _move_and_wait(page, frame, "window.map.setZoom(window.map.getZoom() + 1)")
    frame.evaluate("window.__sameDocument = true")

    page.get_by_role("button", name="Remove Police", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
        ".some(e => e.innerText.trim() === '50')",
        timeout=30_000,
    )
    _wait_for_count(frame, "path.assetmap-site", N_SITES - 10)
    assert frame.evaluate("window.__sameDocument") is True  # the map was not reloaded
    assert frame.evaluate(_VIEW_JS) == view
    page.screenshot(path=str(ARTIFACTS / "map_filtered.png"), full_page=True)


def test_a_map_drawn_afresh_goes_back_to_where_its_user_left_it(watched, browser_context, app_url):
    """Streamlit makes the map's frame anew (here: back from another page): same view."""
    page = watched
    frame = _map_frame(page)
    _wait_for_count(frame, "path.assetmap-site", N_SITES)
    place_view = frame.evaluate(_VIEW_JS)
    view = _move_and_wait(page, frame, _CLOSE_IN_ON_A_SITE_JS)
    assert view != place_view
    page.get_by_test_id("stSidebar").get_by_role("link", name="Registers").click()
    page.get_by_role("heading", name="Registers").wait_for(timeout=60_000)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Map").click()
    again = page.wait_for_selector(FOLIUM_IFRAME, timeout=60_000).content_frame()
    assert again is not None
    assert again.evaluate("typeof window.__sameDocument") == "undefined"  # a new frame
    # the same zoom, and the user's centre within two pixels of the map's centre
    again.wait_for_function(
        "([lat, lng, zoom]) => window.map.getZoom() === zoom && window.map"
        ".latLngToContainerPoint([lat, lng]).distanceTo(window.map.getSize().divideBy(2)) < 2",
        arg=view,
        timeout=30_000,
    )
    page.screenshot(path=str(ARTIFACTS / "map_drawn_afresh.png"), full_page=True)
    # the page loaded anew in the same tab (a reload, or the next user signing in) starts
    # at the place: it never learns where the last user was looking
    page.reload()
    fresh = _map_frame(page)
    _wait_for_count(fresh, "path.assetmap-site", N_SITES)
    page.wait_for_timeout(500)
    assert fresh.evaluate(_VIEW_JS) == place_view
    # nor does another tab
    other = browser_context.new_page()
    try:
        other.goto(app_url)
        first = _map_frame(other)
        _wait_for_count(first, "path.assetmap-site", N_SITES)
        other.wait_for_timeout(500)
        assert first.evaluate(_VIEW_JS) == place_view
    finally:
        other.close()


def test_a_big_estate_shows_hexagons_then_the_clicked_site_close_in(browser_context, big_app_url):
    """More sites than a view draws one by one: hexagons first; close in, the site, its record."""
    hostile = make_sites(BIG_SITES, hostile=True).to_crs(4326).geometry.iloc[0]
    page = browser_context.new_page()
    try:
        page.goto(big_app_url)
        frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=60_000).content_frame()
        frame.wait_for_selector("canvas.assetmap-hex", timeout=60_000)
        assert frame.locator("path.assetmap-site").count() == 0
        assert page.get_by_test_id("stMetricValue").first.inner_text() == f"{BIG_SITES:,}"
        page.screenshot(path=str(ARTIFACTS / "map_hexagons.png"), full_page=True)
        _hover_and_click_the_fullest_hexagon(page, frame)
        # close in over the site: the map reports its view and the server sends the sites
        frame.evaluate(
            "([lat, lon]) => window.map.setView([lat, lon], 16, {animate: false})",
            [hostile.y, hostile.x],
        )
        frame.wait_for_selector("path.assetmap-site", timeout=60_000)
        assert frame.locator("canvas.assetmap-hex").count() == 0
        x, y = _focus_site(page, frame, HOSTILE_ID)
        page.mouse.click(x, y)
        record = page.locator(".assetmap-record")
        record.wait_for(timeout=30_000)
        assert HOSTILE_ID in record.inner_text()
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert frame.evaluate("typeof window.__xss") == "undefined"
    finally:
        page.close()


#: The hexagon holding the most sites: its tooltip, its point on the map, the map's zoom.
FULLEST_HEXAGON_JS = """
() => {
    let found = null;
    window.map.eachLayer(layer => {
        if (typeof layer.cells !== "function") { return; }
        for (let i = 0; i < layer.cells(); i++) {
            const tip = document.createElement("div");
            tip.innerHTML = layer.tipText(i);
            const n = parseInt(tip.textContent.replace(/,/g, ""), 10);
            const p = window.map.latLngToContainerPoint(layer.centre(i));
            const size = window.map.getSize();
            if (p.x < 20 || p.y < 20 || p.x > size.x - 20 || p.y > size.y - 20) { continue; }
            if (!found || n > found.n) {
                found = {n: n, text: tip.textContent, x: p.x, y: p.y};
            }
        }
    });
    return Object.assign(found || {}, {zoom: window.map.getZoom()});
}
"""


def _hover_and_click_the_fullest_hexagon(page, frame) -> None:
    """Hover the fullest hexagon: its tooltip counts its sites; click it: the map zooms in."""
    cell = frame.evaluate(FULLEST_HEXAGON_JS)
    assert cell.get("n", 0) > 1, cell
    box = page.locator(FOLIUM_IFRAME).first.bounding_box()
    assert box is not None
    x, y = box["x"] + cell["x"], box["y"] + cell["y"]
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    tooltip = frame.locator(".leaflet-tooltip", has_text="Click to zoom in")
    tooltip.wait_for(timeout=30_000)
    assert "".join(tooltip.inner_text().split()) == "".join(cell["text"].split())
    assert tooltip.inner_text().startswith(f"{cell['n']:,} sites")
    page.mouse.click(x, y)
    frame.wait_for_function(f"() => window.map.getZoom() > {cell['zoom']}", timeout=30_000)
    page.mouse.move(1, 1)  # off the map: the tooltip closes
    tooltip.wait_for(state="detached", timeout=30_000)


def test_standalone_html_clusters_many_sites_offline(browser_context, tmp_path):
    """The exported page (map_html) opens from a file: clusters, popups, no errors."""
    import geopandas as gpd
    from shapely.geometry import box

    from assetmap.maps.interactive import map_html, site_map
    from assetmap.schema import CRS_BNG

    districts = gpd.GeoDataFrame(
        {"code": ["E1"], "name": ["Area"]},
        geometry=[box(555_000, 125_000, 605_000, 175_000)],
        crs=CRS_BNG,
    )
    sites = make_sites(3_000, hostile=True)
    path = tmp_path / "map.html"
    path.write_text(map_html(site_map(sites, boundaries=districts)), encoding="utf-8")

    page = browser_context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".marker-cluster", timeout=30_000)
        assert page.locator(".assetmap-legend").is_visible()
        assert "Contains OS data" in page.locator(".leaflet-control-attribution").inner_text()
        page.screenshot(path=str(ARTIFACTS / "standalone_clustered.png"))
        # zoom in on the hostile site until it leaves its cluster, then click it
        page.evaluate(
            """() => {
                const map = Object.values(window).find(v => v instanceof L.Map);
                map.eachLayer(l => { if (l.getLayers) { l.getLayers().forEach(m => {
                    if (m.feature && m.feature.properties.id === 'T-00000') {
                        window.__hit = m; } }); } });
                map.setView(window.__hit.getLatLng(), 18, {animate: false});
            }"""
        )
        page.wait_for_function("() => window.__hit && window.__hit.getElement()", timeout=30_000)
        box = page.evaluate(
            """() => { const r = window.__hit.getElement().getBoundingClientRect();
                       return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }"""
        )
        page.mouse.click(box["x"], box["y"])
        popup = page.locator(".leaflet-popup-content .assetmap-record")
        popup.wait_for(timeout=30_000)
        assert "<img src=x onerror=window.__xss=1>" in popup.inner_text()
        assert popup.locator("img").count() == 0
        assert page.evaluate("typeof window.__xss") == "undefined"
        page.mouse.move(5, 400)  # away from the marker: hide its tooltip
        page.wait_for_timeout(400)  # the popup fades in
        page.screenshot(path=str(ARTIFACTS / "standalone_popup.png"))
    finally:
        page.close()
    assert errors == [], errors
    assert outside == [], outside[:5]


def test_first_start_shows_the_sample_estate_on_the_map(browser_context, tmp_path):
    """The README's run command with no store: the sample estate is built and drawn."""
    from assetmap.sample import sample_registers

    store = tmp_path / "fresh" / "estate.gpkg"
    with streamlit_server({STORE_ENV: str(store)}, log_name="streamlit-first-start.log") as url:
        page = browser_context.new_page()
        try:
            page.goto(url)
            frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=120_000).content_frame()
            assert frame is not None
            frame.wait_for_selector("path.assetmap-site", timeout=60_000)
            drawn = frame.evaluate("() => document.querySelectorAll('path.assetmap-site').length")
            assert drawn > 1_500  # the whole sample estate, not clustered at this size
            assert store.is_file()
            assert len(sample_registers()) >= 10
            frame.get_by_text("Contains OS data", exact=False).first.wait_for(timeout=30_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "first_start_sample_estate.png"), full_page=True)
        finally:
            page.close()


# --------------------------------------------------------------------------------------
# The other pages

PAGES = ("registers", "space", "exchange", "colocation", "density", "export")
HOSTILE_CSV = (
    "Site name,Postcode,Agency,Sector,GIA (sq ft)\n"
    f'"{HOSTILE_NAME} `tick` ${{x}}",ME14 1XX,Kent Police,police,1000\n'
    "Plain Station,ME15 6DA,Kent Police,police,2000\n"
    "No Such Place,ZZ99 9ZZ,Kent Police,police,500\n"
)


@pytest.fixture(scope="module")
def sample_app_url(tmp_path_factory, sample_store_built) -> Iterator[str]:
    """The app on a copy of the sample estate (pages that write to the store use this)."""
    store = tmp_path_factory.mktemp("browser-sample") / "estate.gpkg"
    shutil.copyfile(sample_store_built, store)
    with streamlit_server({STORE_ENV: str(store)}, log_name="streamlit-sample.log") as url:
        yield url


def _open_page(browser_context, url: str) -> tuple[Page, list[str]]:
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.get_by_test_id("stMain").locator("h1").first.wait_for(timeout=60_000)
    return page, errors


@pytest.mark.parametrize("name", PAGES)
def test_each_page_draws_without_errors(browser_context, sample_app_url, name):
    page, errors = _open_page(browser_context, f"{sample_app_url}/{name}")
    try:
        settle(page)
        page.wait_for_timeout(500)
        assert page.get_by_test_id("stException").count() == 0
        assert "Contains OS data" in page.get_by_test_id("stSidebar").inner_text()
        if name in ("colocation", "density"):
            frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=60_000).content_frame()
            frame.wait_for_selector("path.leaflet-interactive", timeout=60_000)
        if name == "density":
            legend = frame.locator(".assetmap-choropleth-legend")
            legend.wait_for(timeout=30_000)
            assert "Sites per km²" in legend.inner_text()
        if name == "space":
            page.get_by_role("button", name="Find space").click()
            page.get_by_text("Maidstone Police Office").first.wait_for(
                state="attached", timeout=60_000
            )
            frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=60_000).content_frame()
            frame.wait_for_selector("path.assetmap-request", timeout=60_000)
            frame.wait_for_selector("path.assetmap-offer", timeout=60_000)
        if name == "exchange":
            page.get_by_text("Spare space offered").wait_for(timeout=60_000)
            offered = page.get_by_test_id("stMetric").filter(has_text="Offers you may see")
            assert int(offered.inner_text().split()[-1].replace(",", "")) > 0
        settle(page)
        page.screenshot(path=str(ARTIFACTS / f"page_{name}.png"), full_page=True)
    finally:
        page.close()
    assert errors == [], errors


def test_uploaded_register_shows_its_report_and_hostile_names_stay_text(
    browser_context, sample_app_url, tmp_path
):
    register = tmp_path / "hostile_register.csv"
    register.write_text(HOSTILE_CSV, encoding="utf-8")
    page, errors = _open_page(browser_context, f"{sample_app_url}/registers")
    try:
        dropzone = page.get_by_test_id("stMain").get_by_test_id("stFileUploaderDropzoneInput")
        dropzone.first.wait_for(state="attached", timeout=60_000)
        dropzone.first.set_input_files(str(register))
        page.get_by_text("would be accepted").wait_for(timeout=60_000)
        page.get_by_role("button", name="Import into the estate").click()
        page.get_by_text("Import report: hostile_register.csv").wait_for(timeout=60_000)
        settle(page)
        main = page.get_by_test_id("stMain").inner_text()
        assert "Imported hostile_register.csv: 2 rows accepted, 1 quarantined." in main
        page.get_by_test_id("stMain").get_by_text("Why rows were quarantined").wait_for()
        page.screenshot(path=str(ARTIFACTS / "register_import_report.png"), full_page=True)

        # on the map, the hostile name is text in the tooltip and the record, and runs nothing
        page.goto(sample_app_url)  # the Map page is the default page, at the root
        frame = _map_frame(page)
        site = frame.evaluate(
            """() => { let id = null; window.map.eachLayer(l => {
                const p = l.feature && l.feature.properties;
                if (p && p.tip && p.tip.includes('onerror')) { id = p.id; } }); return id; }"""
        )
        assert site, "the hostile site is not on the map"
        x, y = _focus_site(page, frame, site)
        page.screenshot(path=str(ARTIFACTS / "hostile_register_focused.png"))
        page.mouse.move(x, y)
        tooltip = frame.locator(".leaflet-tooltip")
        tooltip.wait_for(timeout=30_000)
        assert "<img src=x onerror=window.__xss=1>" in tooltip.inner_text()
        assert "`tick` ${x}" in tooltip.inner_text()
        page.mouse.click(x, y)
        record = page.locator(".assetmap-record")
        record.wait_for(timeout=30_000)
        assert "<img src=x onerror=window.__xss=1>" in record.inner_text()
        assert record.locator("img").count() == 0
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert frame.evaluate("typeof window.__xss") == "undefined"
        page.screenshot(path=str(ARTIFACTS / "hostile_register_on_map.png"), full_page=True)
    finally:
        page.close()
    assert errors == [], errors


# --------------------------------------------------------------------------------------
# Downloads, and the filters across an import

STATIONS_CSV = (
    "Site name,Agency,Sector,Easting,Northing,GIA (sq ft)\n"
    "North Station,Kent Police,police,575100,155100,4000\n"
    "South Station,Kent Police,police,575900,155900,5000\n"
    "Fire Station One,Kent Fire and Rescue Service,fire,577500,157500,7000\n"
)


@contextlib.contextmanager
def _app_of_its_own(folder: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """The app on a store of its own (police, health and council sites): URL and store."""
    sites = make_sites(60)
    sites = sites[sites["sector"].isin(["police", "health", "council"])].copy()
    store = write_store(folder / "estate.gpkg", sites)
    with streamlit_server({STORE_ENV: str(store), **env}, log_name="streamlit-own.log") as url:
        yield url, store


@pytest.fixture
def own_app(tmp_path) -> Iterator[tuple[str, Path]]:
    with _app_of_its_own(tmp_path) as found:
        yield found


def _download_twice(page: Page, button: str) -> tuple[str, bytes, bytes]:
    """Click the download button twice; return the file name and both files' bytes."""
    files = []
    for _ in range(2):
        target = page.get_by_role("button", name=button)
        target.wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as info:
            target.click()
        files.append(info.value)
    assert files[0].suggested_filename == files[1].suggested_filename
    first, second = (Path(f.path()).read_bytes() for f in files)
    return files[0].suggested_filename, first, second


def test_a_download_can_be_repeated_and_each_is_audited(browser_context, own_app):
    url, store = own_app
    page, errors = _open_page(browser_context, f"{url}/density")
    try:
        name, first, second = _download_twice(page, "Download the place summary (CSV)")
        assert name == "place_summary.csv"
        assert first == second and first.startswith(b"locality_code,")
        # a download drawn only after another button was pressed stays for a second click
        page.goto(f"{url}/export")
        page.get_by_role("button", name="Prepare the HTML map").click()
        name, first, second = _download_twice(page, "Download the HTML map")
        assert name.endswith(".html") and first == second and b"leaflet" in first.lower()
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "download_twice.png"), full_page=True)
    finally:
        page.close()
    assert errors == [], errors
    exports = [e.what for e in audit.read_log(store) if e.action == "export"]
    assert exports.count("place_summary.csv") == 2 and exports.count(name) == 2


def test_a_download_the_audit_log_cannot_record_is_refused_and_said(browser_context, tmp_path):
    folder = tmp_path / "audit.jsonl"
    folder.mkdir()  # the audit log cannot be written: it is a folder
    with _app_of_its_own(tmp_path, ASSETMAP_AUDIT_LOG=str(folder)) as (url, _):
        page, errors = _open_page(browser_context, f"{url}/density")
        downloads: list = []
        page.on("download", lambda d: downloads.append(d))
        try:
            page.get_by_role("button", name="Download the place summary (CSV)").click()
            refused = page.get_by_test_id("stDownloadButtonError")
            refused.wait_for(timeout=60_000)
            assert "Failed to generate file for download" in refused.inner_text()
            # the page's next run says why, in the officer's words
            page.get_by_role("button", name="Remove Council", exact=True).click()
            warning = page.get_by_text("place_summary.csv was not downloaded")
            warning.wait_for(timeout=60_000)
            assert re.search(
                r"was not downloaded, because the download could not be recorded: the audit "
                r"log '.*audit\.jsonl' could not be written",
                warning.inner_text().replace("\n", ""),
            )
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "download_refused.png"), full_page=True)
        finally:
            page.close()
    assert downloads == [] and list(folder.iterdir()) == []
    assert errors == [], errors


def test_filters_keep_their_choice_across_an_import(browser_context, own_app, tmp_path):
    url, _ = own_app
    register = tmp_path / "stations.csv"
    register.write_text(STATIONS_CSV, encoding="utf-8")
    page, errors = _open_page(browser_context, f"{url}/registers")
    sector = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first
    try:
        page.get_by_role("button", name="Remove Health (NHS)", exact=True).click()
        settle(page)
        dropzone = page.get_by_test_id("stMain").get_by_test_id("stFileUploaderDropzoneInput")
        dropzone.first.wait_for(state="attached", timeout=60_000)
        dropzone.first.set_input_files(str(register))
        page.get_by_text("would be accepted").wait_for(timeout=60_000)
        page.get_by_role("button", name="Import into the estate").click()
        page.get_by_text("Import report: stations.csv").wait_for(timeout=60_000)
        settle(page)
        # two more runs: the sidebar counts the new rows, then the browser sends its choice
        for _ in range(2):
            page.get_by_test_id("stSidebar").get_by_role("link", name="Density").click()
            page.get_by_role("heading", name="Density").wait_for(timeout=60_000)
            settle(page)
            page.get_by_test_id("stSidebar").get_by_role("link", name="Registers").click()
            page.get_by_role("heading", name="Registers").wait_for(timeout=60_000)
            settle(page)
        chips = [
            b.get_attribute("aria-label")
            for b in sector.get_by_role("button", name=re.compile("^Remove ")).all()
        ]
        assert chips == ["Remove Police", "Remove Council", "Remove Fire and rescue"]
        captions = page.get_by_test_id("stSidebar").inner_text()
        assert "Sites: Police 12 · Health (NHS) 10 · Council 10 · Fire and rescue 1" in captions
        page.screenshot(path=str(ARTIFACTS / "filters_after_import.png"), full_page=True)
    finally:
        page.close()
    assert errors == [], errors
