"""End to end in Chromium: a scenario built from the map, two compared, one in the map pack.

The app runs on a copy of the Kent sample estate (which holds the saved sample
scenario, the 40,000 sq ft Total Place move) with no agency, and Debian's Chromium
drives it with Playwright:

1. On the Map page, Maidstone is chosen in the sidebar; Maidstone Jobcentre is
   clicked on the map, "Close and move…" pressed, Maidstone Police Office
   (40,000 sq ft spare) clicked, and "Move it into this site" pressed: the record's
   scenario panel shows the move and the running cost falling by the Jobcentre's
   £60,800 a year; the Scenarios page shows the same move and totals.
2. On the Scenarios page the sample scenario is opened, a disposal added with the
   builder and the result saved under a new name; the two, compared side by side,
   differ by the Jobcentre.
3. On the Export page, the map pack of Maidstone holding the sample scenario is made
   and downloaded: the ZIP holds the scenario's map and its totals, surplus -40,000.

Sites are clicked on their own circles on the Leaflet map (found by their site id in
the map's layers, the map centred on each first), never by a guessed pixel.
Screenshots go to ``test-artifacts/scenarios-*.png``. Skipped when /usr/bin/chromium
or the playwright package is missing.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetmap.access import visible_sites
from assetmap.sample import SAMPLE_SCENARIO
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

from playwright.sync_api import Frame, Locator, Page, sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
JOBCENTRE = "Maidstone Jobcentre"
JOBCENTRE_LABEL = "Maidstone Jobcentre (Department for Work and Pensions)"
OFFICE = "Maidstone Police Office"
OFFICE_LABEL = "Maidstone Police Office (Kent Police)"
#: The Jobcentre's running cost in the sample register: what closing it saves a year.
JOBCENTRE_COST = "£60,800"
SAVED_NAME = "Total Place and the Jobcentre"
#: Every wait for the app (a rerun after a click, a page opened): generous, on two cores.
WAIT_MS = 120_000

# Centre the map on one site (found by its id among the map's layers, in any group).
_CENTRE_ON_SITE_JS = """
([id, zoom]) => {
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
    window.map.setView(found.getLatLng(), zoom, {animate: false});
    return true;
}
"""
# The centre (in the iframe) of the site's circle as drawn now, or null if it is not drawn.
_SITE_CENTRE_JS = """
(id) => {
    let found = null;
    window.map.eachLayer((layer) => {
        const p = layer.feature && layer.feature.properties;
        if (p && p.id === id && layer.getElement && layer.getElement()
            && layer.getElement().isConnected) { found = layer; }
    });
    if (!found) { return null; }
    const box = found.getElement().getBoundingClientRect();
    if (box.width === 0) { return null; }
    return {x: box.x + box.width / 2, y: box.y + box.height / 2};
}
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory, sample_store_built) -> Iterator[tuple[str, Path]]:
    """The app on a copy of the sample estate, with no agency: its URL and its store."""
    store = tmp_path_factory.mktemp("scenarios-browser") / "estate.gpkg"
    shutil.copyfile(sample_store_built, store)
    env = {STORE_ENV: str(store), "ASSETMAP_AGENCY": ""}
    with streamlit_server(env, log_name="streamlit-scenarios.log") as url:
        yield url, store


@pytest.fixture(scope="module")
def browser_context():
    with sync_playwright() as playwright, chromium_context(playwright, height=2200) as context:
        yield context


@pytest.fixture
def page(browser_context, app) -> Iterator[Page]:
    """A fresh page (a session of its own); no page errors, nothing fetched from outside."""
    url, _ = app
    with guarded_page(
        browser_context, url, goto=False, screenshot=ARTIFACTS / "scenarios-last.png"
    ) as page:
        yield page


# --------------------------------------------------------------------------- helpers


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"scenarios-{name}.png"), full_page=True)


def _main(page: Page) -> Locator:
    return page.get_by_test_id("stMain")


def _live(page: Page) -> Locator:
    """The elements the app's current run has drawn: not those of the run before it.

    During a run Streamlit keeps the last run's elements (marked stale) until it
    draws over them; where the page's layout moves, one box can be shown twice.
    """
    return page.locator('[data-testid="stElementContainer"]:not([data-stale="true"])')


def _wait_text(page: Page, text: str | re.Pattern) -> None:
    _main(page).get_by_text(text).first.wait_for(timeout=WAIT_MS)
    settle(page)


def _open(page: Page, url: str, name: str, heading: str) -> None:
    page.goto(f"{url}/{name}")
    _main(page).get_by_role("heading", name=heading).first.wait_for(timeout=WAIT_MS)
    settle(page)


def _go(page: Page, name: str) -> None:
    """Go to another page by the sidebar's link (the session, and its scenario, stay)."""
    settle(page)  # a map reports its view just after it is drawn: let that run finish
    page.get_by_test_id("stSidebar").get_by_role("link", name=name, exact=True).click()
    _main(page).get_by_role("heading", name=name).first.wait_for(timeout=WAIT_MS)
    settle(page)


def _choose(box: Locator, page: Page, option: str) -> None:
    """Choose ``option`` in the select box ``box`` (a combobox), typing to find it."""
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def _choose_maidstone(page: Page) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    _choose(sidebar.get_by_role("combobox", name="Place"), page, "District")
    _choose(sidebar.get_by_role("combobox", name="Locality"), page, "Maidstone")


def _button(page: Page, key: str) -> Locator:
    """The button drawn with ``key`` (Streamlit gives its container the class st-key-<key>)."""
    return page.locator(f".st-key-{key} button")


#: The cells of a data grid drawn now, by "row:column" (its accessible table, 1-based).
_GRID_CELLS_JS = """
(el) => {
    const out = {};
    el.querySelectorAll('[role=columnheader], [role=gridcell]').forEach((c) => {
        const row = c.closest('[role=row]').getAttribute('aria-rowindex');
        out[row + ':' + c.getAttribute('aria-colindex')] = c.innerText.trim();
    });
    return out;
}
"""


def _table(frame: Locator) -> list[list[str]]:
    """The cells of an st.dataframe, row by row, header first.

    The grid draws (and puts in its accessible table) only the columns in sight, so
    it is scrolled across and read at each step.
    """
    frame.locator("[role=columnheader]").first.wait_for(state="attached", timeout=WAIT_MS)
    grid = frame.locator("table[role=grid]")
    n_rows = int(grid.get_attribute("aria-rowcount"))
    n_cols = int(grid.get_attribute("aria-colcount"))
    scroller = frame.locator(".dvn-scroller")
    width, seen = scroller.evaluate("s => [s.scrollWidth, s.clientWidth]")
    cells: dict[str, str] = {}
    for left in range(0, width, max(seen // 2, 50)):
        scroller.evaluate("(s, x) => { s.scrollLeft = x; }", left)
        frame.page.wait_for_timeout(150)
        cells.update(frame.evaluate(_GRID_CELLS_JS))
    scroller.evaluate("s => { s.scrollLeft = 0; }")
    table = [[cells.get(f"{r}:{c}") for c in range(1, n_cols + 1)] for r in range(1, n_rows + 1)]
    assert all(cell is not None for row in table for cell in row), table
    return table


def _table_with(page: Page, column: str) -> dict[str, dict[str, str]]:
    """The main area's only st.dataframe with ``column``: {first cell: {column: cell}}."""
    frames = _main(page).get_by_test_id("stDataFrame")
    found = []
    for i in range(frames.count()):
        table = _table(frames.nth(i))
        if column in table[0]:
            found.append(table)
    assert len(found) == 1, f"{len(found)} tables with a column {column!r}"
    header, *rows = found[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def _metric(page: Page, label: str) -> tuple[str, str]:
    """The value and the change (``""``: none) of the metric ``label`` on the page."""
    metric = _main(page).get_by_test_id("stMetric").filter(has_text=label)
    metric.wait_for(timeout=WAIT_MS)
    value = metric.get_by_test_id("stMetricValue").inner_text().strip()
    delta = metric.get_by_test_id("stMetricDelta")
    return value, delta.inner_text().strip() if delta.count() else ""


def _pounds(text: str) -> int:
    """A figure as the app writes it ("−£1,234", "£5") as a whole number of pounds."""
    digits = text.replace("£", "").replace(",", "").replace("−", "-").strip()
    return int(digits)


def _map_frame(page: Page) -> Frame:
    frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=WAIT_MS).content_frame()
    assert frame is not None
    frame.wait_for_selector("path.assetmap-site", timeout=WAIT_MS)
    return frame


def _click_site(page: Page, site_id: str, name: str) -> None:
    """Click a site's own circle on the Map page's map and wait for its record.

    The map is centred on the site, close in; it reports its new view and the server
    draws that view's sites again, so the circle is found afresh once the app has
    finished, and clicked at its centre.
    """
    frame = _map_frame(page)
    page.locator(FOLIUM_IFRAME).scroll_into_view_if_needed()
    assert frame.evaluate(_CENTRE_ON_SITE_JS, [site_id, 17]), f"{name} is not on the map"
    settle(page)
    frame.wait_for_function(f"({_SITE_CENTRE_JS})({site_id!r}) !== null", timeout=WAIT_MS)
    point = frame.evaluate(_SITE_CENTRE_JS, site_id)
    box = page.locator(FOLIUM_IFRAME).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.locator(".assetmap-record").filter(has_text=name).wait_for(timeout=WAIT_MS)
    settle(page)


def _site_ids(store: Path) -> dict[str, str]:
    sites = visible_sites(open_store(store).sites())
    ids = {}
    for name in (JOBCENTRE, OFFICE):
        (ids[name],) = sites.loc[sites["name"] == name, "site_id"].astype(str)
    return ids


# --------------------------------------------------------------------------- the tests


def test_a_scenario_built_from_the_map_changes_the_totals(page: Page, app):
    url, store = app
    ids = _site_ids(store)
    _open(page, url, "", "Estate map")
    _map_frame(page)
    _choose_maidstone(page)
    _wait_text(page, "place: Maidstone")
    shown = page.get_by_test_id("stMetric").filter(has_text="Sites shown")
    n_sites = int(shown.get_by_test_id("stMetricValue").inner_text().replace(",", ""))

    # the Jobcentre: its record, and the scenario panel with no moves yet
    _click_site(page, ids[JOBCENTRE], JOBCENTRE)
    _wait_text(page, "No moves yet: the scenario's totals appear here as you add them.")
    metrics = _main(page).get_by_test_id("stMetric")
    assert metrics.filter(has_text="Running cost a year").count() == 0
    _shot(page, "01-map-jobcentre")
    _button(page, "scenario_close_from").click()
    _wait_text(page, f"Moving {JOBCENTRE_LABEL} out: now click the site its space moves into.")

    # the police office, with 40,000 sq ft spare: the Jobcentre moves into it
    _click_site(page, ids[OFFICE], OFFICE)
    _wait_text(page, f"Moving {JOBCENTRE_LABEL} out: into this site?")
    into = _button(page, "scenario_move_into")
    assert into.inner_text().strip() == "Move it into this site"
    _shot(page, "02-map-office")
    into.click()
    _wait_text(page, f"Added: {JOBCENTRE_LABEL} into {OFFICE_LABEL}.")
    running, change = _metric(page, "Running cost a year")
    assert change == f"-{JOBCENTRE_COST}"  # (an ASCII minus: Streamlit draws it as a fall)
    fall = _main(page).get_by_test_id("stMetric").filter(has_text="Running cost a year")
    assert fall.get_by_test_id("stMetricDeltaIcon-Down").count() == 1
    saving, _ = _metric(page, "Yearly saving")
    assert saving == JOBCENTRE_COST
    moves = _table_with(page, "Made or refused")
    assert moves["1"]["What"] == f"Close {JOBCENTRE} into {OFFICE}"
    assert moves["1"]["Made or refused"] == "made"
    assert "now click the site" not in _main(page).inner_text()
    assert "into this site?" not in _main(page).inner_text()  # the button went with the move
    _shot(page, "03-map-move-made")

    # the Scenarios page: the same move, and the place's totals before and after
    _go(page, "Scenarios")
    _wait_text(page, re.compile(r"^Untitled scenario: 1 moves?$"))
    assert "would do to Maidstone" in _main(page).inner_text()
    totals = _table_with(page, "What it rests on")
    assert totals["Sites"]["Before"] == f"{n_sites:,}"
    assert totals["Sites"]["After"] == f"{n_sites - 1:,}"
    assert totals["Running cost (£/yr)"]["After"] == running
    assert totals["Running cost (£/yr)"]["Change"] == f"−{JOBCENTRE_COST}"
    before, after = (_pounds(totals["Running cost (£/yr)"][c]) for c in ("Before", "After"))
    assert before - after == _pounds(JOBCENTRE_COST)
    assert totals["Yearly saving (£/yr)"]["After"] == JOBCENTRE_COST
    assert totals["Surplus (sq ft)"]["Change"] == "−4,463"  # the Jobcentre's floor area
    moves = _table_with(page, "Sq ft moved")
    assert moves["1"]["What"] == f"Close {JOBCENTRE} into {OFFICE}"
    assert moves["1"]["Made or refused"] == "made"
    assert moves["1"]["Sq ft moved"] == "4,463"
    assert page.get_by_test_id("stException").count() == 0
    _shot(page, "04-scenarios-page")


def test_two_scenarios_compared_side_by_side(page: Page, app):
    url, store = app
    _open(page, url, "scenarios", "Scenarios")
    picked = _live(page).get_by_role("combobox", name="Saved scenarios")
    assert picked.input_value().startswith(SAMPLE_SCENARIO)
    _button(page, "scenario_open").click()
    _wait_text(page, f"Opened {SAMPLE_SCENARIO!r}.")
    assert _table_with(page, "What it rests on")["Surplus (sq ft)"]["Change"] == "−40,000"

    # the builder adds a disposal of the Jobcentre; saved under a name of its own
    _main(page).get_by_role("tab", name="Dispose", exact=True).click()
    _choose(_live(page).get_by_role("combobox", name="Dispose of the site"), page, JOBCENTRE_LABEL)
    _button(page, "scenario_add_dispose").click()
    _wait_text(page, f"Added: dispose of {JOBCENTRE_LABEL}.")
    _wait_text(page, f"{SAMPLE_SCENARIO}: 2 moves")  # (the heading)
    name = page.get_by_role("textbox", name="Name", exact=True)
    assert name.input_value() == SAMPLE_SCENARIO
    name.fill(SAVED_NAME)
    name.press("Enter")
    settle(page)
    _button(page, "scenario_save").click()
    _wait_text(page, f"Saved {SAVED_NAME!r}.")
    assert open_store(store).scenarios()["name"].tolist() == [SAMPLE_SCENARIO, SAVED_NAME]

    # the two saved ones side by side: they differ by the Jobcentre alone
    _choose(_live(page).get_by_role("combobox", name="First"), page, SAMPLE_SCENARIO)
    _choose(_live(page).get_by_role("combobox", name="Second"), page, SAVED_NAME)
    compared = _table_with(page, "difference")
    assert list(compared["Sites"]) == ["Measure", SAMPLE_SCENARIO, SAVED_NAME, "difference"]
    assert compared["Sites"]["difference"] == "−1"
    assert compared["Running cost (£/yr)"]["difference"] == f"−{JOBCENTRE_COST}"
    assert compared["Yearly saving (£/yr)"][SAMPLE_SCENARIO] == "£2,073,598"
    assert compared["Yearly saving (£/yr)"][SAVED_NAME] == "£2,134,398"
    assert compared["Yearly saving (£/yr)"]["difference"] == JOBCENTRE_COST
    assert compared["Surplus (sq ft)"]["difference"] == "0"
    assert compared["Floor area (sq ft)"]["difference"] == "−4,463"
    _main(page).get_by_role("heading", name="Compare two scenarios").scroll_into_view_if_needed()
    _shot(page, "05-compare")


def test_the_map_pack_holds_the_sample_scenario(page: Page, app):
    url, _ = app
    _open(page, url, "export", "Export")
    _choose_maidstone(page)
    _wait_text(page, "Place: Maidstone")
    scenarios = _live(page).get_by_role("combobox", name="Scenarios in the pack")
    scenarios.click()
    page.get_by_role("option", name=SAMPLE_SCENARIO, exact=True).click()
    page.keyboard.press("Escape")
    settle(page)
    _choose(page.locator(".st-key-export_pack_format").get_by_role("combobox"), page, "PNG")
    _button(page, "export_pack_prepare").click()
    download = page.get_by_role("button", name=re.compile(r"^Download assetmap_pack_maidstone"))
    download.wait_for(timeout=240_000)
    settle(page)
    _shot(page, "06-export-pack")
    with page.expect_download(timeout=WAIT_MS) as info:
        download.click()
    assert info.value.suggested_filename == "assetmap_pack_maidstone.zip"
    with zipfile.ZipFile(Path(info.value.path())) as archive:
        names = archive.namelist()
        scenario_files = sorted(n for n in names if "/scenario_" in n)
        maps = [n for n in scenario_files if re.fullmatch(r"[^/]+/maps/scenario_01_\w+\.png", n)]
        totals_csv = r"[^/]+/tables/scenario_01_\w+_totals\.csv"
        totals = [n for n in scenario_files if re.fullmatch(totals_csv, n)]
        assert len(maps) == 1 and len(totals) == 1, scenario_files
        assert not any("scenario_02" in n for n in names)  # the one chosen, alone
        drawn = archive.read(maps[0])
        assert drawn.startswith(b"\x89PNG\r\n\x1a\n")
        (ARTIFACTS / "scenarios-07-pack-scenario-map.png").write_bytes(drawn)
        rows = {
            r["measure"]: r
            for r in csv.DictReader(io.StringIO(archive.read(totals[0]).decode("utf-8-sig")))
        }
    assert float(rows["surplus (sq ft)"]["change"]) == pytest.approx(-40_000)
    assert float(rows["yearly saving (£/yr)"]["after"]) > 0
    assert float(rows["sites"]["change"]) == 0
