"""End to end at national scale: a 1,000,000-site estate in the real app in headless Chromium.

One module-scoped store is built by ``sample_estates/national.py`` (about a minute
for a million sites; ``$ASSETMAP_SCALE_SITES`` lowers the count for local runs) and
the app runs on it as Maidstone Council, an agency that is not the marker site's
(the restricted custody suite of Kent Police in Maidstone, see
:func:`sample_estates.national.marker_site`). The tests check that:

* the Map page's first view is hexagons counting every site the viewer may see;
* zooming into Maidstone shows the sites one by one, with tooltips, and clicking one
  shows its record;
* the National overview opens a district as the place;
* the marker site is in no HTTP response body and no websocket frame at any zoom,
  while the same search finds it when the app runs as Kent Police;
* the page asks nothing of anyone but the app.

Screenshots go to ``test-artifacts/``. Skipped when /usr/bin/chromium or the
playwright package is missing.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pyproj import Transformer

from assetmap.store import STORE_ENV
from sample_estates.national import MARKER, build_national_store, marker_site
from tests.app.browser import (
    ARTIFACTS,
    chromium_context,
    settle,
    skip_without_browser,
    streamlit_server,
)

skip_without_browser()

from playwright.sync_api import (  # noqa: E402 (after the skip)
    Error as PlaywrightError,
)
from playwright.sync_api import (  # noqa: E402
    Frame,
    Page,
    sync_playwright,
)

pytestmark = pytest.mark.browser

#: Lowers the estate's size for a local run; a million sites by default.
SCALE_ENV = "ASSETMAP_SCALE_SITES"
N_SITES = int(os.environ.get(SCALE_ENV) or 1_000_000)
#: The agency the app runs as: not the marker site's, so the marker is withheld.
VIEWER = "Maidstone Council"
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
SITES_DRAWN = "canvas.assetmap-hex, path.assetmap-site"
HEXAGONS_CAPTION = "counted in hexagons"
#: The app's map goes no further in (assetmap.maps.interactive.webmap.MAX_ZOOM).
STREET_ZOOM = 19
#: A site is "at the marker's location" within this many degrees in both axes (about 1 m).
NEAR_DEG = 2e-5
#: Hosts the page may reach: the app's own.
APP_HOSTS = {"127.0.0.1", "localhost"}


# --------------------------------------------------------------------------- the estate


@dataclass(frozen=True)
class Estate:
    """The national store, and what the tests know of it from the file itself."""

    path: Path
    sites: int
    marker: dict
    site_id: str
    lon: float
    lat: float

    def query(self, sql: str, *args) -> list[tuple]:
        """Run read-only SQL on the store file (an oracle independent of the app)."""
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def visible(self, agency: str) -> int:
        """Return how many sites ``agency`` may see: every open one, and its own restricted."""
        return self.query(
            "SELECT count(*) FROM sites WHERE coalesce(sensitivity, '') != 'restricted' "
            "OR agency = ?",
            agency,
        )[0][0]

    def site(self, site_id: str) -> dict:
        """Return one stored site's name, agency and source file."""
        rows = self.query("SELECT name, agency, source_file FROM sites WHERE site_id = ?", site_id)
        assert len(rows) == 1, f"{len(rows)} sites have the id {site_id!r}"
        return dict(zip(("name", "agency", "source_file"), rows[0], strict=True))


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> Estate:
    path = tmp_path_factory.mktemp("national") / "national.gpkg"
    built = build_national_store(path, N_SITES)
    assert built["sites"] > 0.99 * N_SITES
    marker = marker_site()
    (site_id,) = (
        row[0]
        for row in sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute(
            "SELECT site_id FROM sites WHERE source_ref = ? AND name = ?",
            (marker["source_ref"], marker["name"]),
        )
    )
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        marker["easting"], marker["northing"]
    )
    return Estate(path, built["sites"], marker, str(site_id), float(lon), float(lat))


@pytest.fixture(scope="module")
def app(estate) -> Iterator[str]:
    """The app on the national store, run as :data:`VIEWER`: its URL."""
    with streamlit_server(
        {STORE_ENV: str(estate.path), "ASSETMAP_AGENCY": VIEWER},
        log_name="streamlit-scale.log",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser_context():
    with sync_playwright() as playwright, chromium_context(playwright) as context:
        yield context


# --------------------------------------------------------------------------- the traffic


class Traffic:
    """Everything one page sends and receives: requests, responses, websocket frames."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.responses: list = []
        self.sockets: list[str] = []
        #: (time received, "sent" or "received", payload as bytes)
        self.frames: list[tuple[float, str, bytes]] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: self.responses.append(r))
        page.on("websocket", self._socket)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _socket(self, ws) -> None:
        self.sockets.append(ws.url)
        ws.on("framereceived", lambda payload: self._frame("received", payload))
        ws.on("framesent", lambda payload: self._frame("sent", payload))

    def _frame(self, way: str, payload: str | bytes) -> None:
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        self.frames.append((time.monotonic(), way, data))

    def outside(self) -> list[str]:
        """Return every URL asked for (websockets too) that is not the app, data: or blob:."""
        out = []
        for url in self.requests + self.sockets:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in APP_HOSTS:
                continue
            out.append(url)
        return out

    def bodies(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """Return every response body read, and the URLs of those that could not be read.

        Redirects have no body, and are not counted as unread.
        """
        read, unread = [], []
        for response in self.responses:
            if 300 <= response.status < 400:
                continue
            try:
                read.append((response.url, response.body()))
            except PlaywrightError:
                unread.append(response.url)
        return read, unread


@pytest.fixture
def traffic(browser_context, app) -> Iterator[Traffic]:
    """A new page (a new session of the app) and its traffic; it reaches nothing but the app."""
    page = browser_context.new_page()
    recorded = Traffic(page)
    page.goto(app)
    yield recorded
    page.close()
    assert recorded.outside() == [], f"the page reached beyond the app: {recorded.outside()[:5]}"
    assert recorded.errors == [], recorded.errors


# --------------------------------------------------------------------------- the helpers


def _loaded_frame(page: Page, iframe) -> Frame:
    """Return the frame of the first of ``iframe`` once its Leaflet map has loaded.

    Streamlit may replace the iframe while the page runs: it is looked up afresh
    until one answers.
    """
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        handle = iframe.first.element_handle(timeout=300_000)
        frame = handle.content_frame() if handle is not None else None
        try:
            if frame is not None and frame.evaluate("() => !!(window.map && window.map._loaded)"):
                return frame
        except PlaywrightError:
            pass  # the frame went away under us
        page.wait_for_timeout(500)
    raise TimeoutError("the map did not load within 300 s")


def _map(page: Page, selector: str = SITES_DRAWN) -> Frame:
    """Return the map's frame once ``selector`` is in it (the sites layer's shapes by default)."""
    frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=300_000).content_frame()
    assert frame is not None
    frame.wait_for_selector(selector, state="attached", timeout=300_000)
    frame.wait_for_function("() => window.map && window.map._loaded", timeout=60_000)
    return frame


def _answered(traffic: Traffic, mark: int, *, quiet_s: float = 1.5) -> None:
    """Wait until the app has answered what the page sent after frame ``mark``, and gone quiet.

    The map sends its view when it moves; the server reruns the map and sends the
    layer made for that view. Done when a frame was sent, one received after it,
    nothing has come for ``quiet_s`` and Streamlit shows it is not running.
    """
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        traffic.page.wait_for_timeout(250)
        new = traffic.frames[mark:]
        sent = [t for t, way, _ in new if way == "sent"]
        answered = sent and any(t >= sent[0] and way == "received" for t, way, _ in new)
        if (
            answered
            and time.monotonic() - traffic.frames[-1][0] > quiet_s
            and traffic.page.locator("[data-testid=stStatusWidget]").count() == 0
        ):
            return
    raise TimeoutError("the app did not answer the map's move within 300 s")


def _set_view(traffic: Traffic, frame: Frame, lat: float, lon: float, zoom: int) -> None:
    """Move the map to ``zoom`` at (``lat``, ``lon``), as a scroll-zoom does; wait for the app."""
    mark = len(traffic.frames)
    frame.evaluate(
        "([lat, lon, zoom]) => { window.map.setView([lat, lon], zoom, {animate: false}); }",
        [lat, lon, zoom],
    )
    _answered(traffic, mark)


def _caption(page: Page) -> str:
    return page.get_by_test_id("stMain").inner_text()


#: The sites drawn one by one in the map's view, clear of its controls: each marker's
#: screen point, id and tooltip.
POINTS_JS = """
() => {
    const size = window.map.getSize(), out = [];
    window.map.eachLayer(layer => {
        if (!(layer instanceof L.CircleMarker) || !layer.feature) { return; }
        const p = window.map.latLngToContainerPoint(layer.getLatLng());
        if (p.x < 20 || p.y < 20 || p.x > size.x - 20 || p.y > size.y - 20) { return; }
        // not under a legend or another control
        const box = window.map.getContainer().getBoundingClientRect();
        const under = document.elementFromPoint(box.left + p.x, box.top + p.y);
        if (!under || under.closest(".leaflet-control")) { return; }
        out.push({x: p.x, y: p.y, id: layer.feature.properties.id,
                  tip: layer.feature.properties.tip});
    });
    return out;
}
"""

#: The sites drawn one by one, in view or not.
MARKERS_JS = """
() => {
    let n = 0;
    window.map.eachLayer(layer => { if (layer instanceof L.CircleMarker) { n += 1; } });
    return n;
}
"""

#: The hexagons drawn: how many, and the sites their tooltips count.
HEXAGONS_JS = """
() => {
    let cells = 0, sites = 0;
    window.map.eachLayer(layer => {
        if (typeof layer.cells !== "function" || layer.options.className !== "assetmap-hex") {
            return;
        }
        for (let i = 0; i < layer.cells(); i++) {
            cells += 1;
            const tip = document.createElement("div");
            tip.innerHTML = layer.tipText(i);
            sites += parseInt(tip.textContent.split(" site")[0].replace(/,/g, ""), 10);
        }
    });
    return {cells: cells, sites: sites};
}
"""

#: The sites layer's shapes drawn on the map: the sites' SVG paths with an outline, and
#: the hexagons whose centre is painted on their canvas.
DRAWN_JS = """
(selector) => {
    let drawn = 0;
    for (const path of document.querySelectorAll(selector)) {
        if (path.tagName.toLowerCase() !== "path") { continue; }
        const d = path.getAttribute("d") || "";
        if (d.length > 4 && d !== "M0 0") { drawn += 1; }
    }
    window.map.eachLayer(layer => {
        if (typeof layer.cells !== "function" || !layer._canvas) { return; }
        const canvas = layer._canvas;
        const ratio = canvas.width / canvas.clientWidth;
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 0; i < layer.cells(); i++) {
            const p = window.map.latLngToContainerPoint(layer.centre(i));
            const x = Math.round(p.x * ratio), y = Math.round(p.y * ratio);
            if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) { continue; }
            if (pixels.data[(y * canvas.width + x) * 4 + 3] > 0) { drawn += 1; }
        }
    });
    return drawn;
}
"""


def _drawn(frame: Frame) -> int:
    """Return the sites layer's shapes drawn (hexagons or points, with an outline)."""
    return int(frame.evaluate(DRAWN_JS, SITES_DRAWN))


def _screen(page: Page, frame: Frame, x: float, y: float) -> tuple[float, float]:
    """Return the page's point of the map's container point (``x``, ``y``)."""
    box = page.locator(FOLIUM_IFRAME).first.bounding_box()
    assert box is not None
    return box["x"] + x, box["y"] + y


def _apart(points: list[dict], gap_px: float = 12.0) -> list[dict]:
    """Return the points with no other point within ``gap_px`` (one hover, one site)."""
    return [
        p
        for p in points
        if all(
            q is p or (p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2 > gap_px**2 for q in points
        )
    ]


def _zoom_into_maidstone(traffic: Traffic, estate: Estate) -> Frame:
    """Find ME14 1HS in the sidebar (it picks Maidstone), then zoom in there until sites show.

    Each step zooms in by one over the postcode (as the mouse wheel does) and waits
    for the app to answer; the sites layer is read from the map itself.
    """
    page = traffic.page
    _map(page)
    settle(page, timeout_s=300)
    box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Find a postcode")
    box.fill("ME14 1HS")
    box.press("Enter")
    page.get_by_test_id("stSidebar").get_by_text("ME14 1HS is in Maidstone").wait_for(
        timeout=120_000
    )
    page.get_by_test_id("stMain").get_by_text("place: Maidstone").wait_for(timeout=120_000)
    settle(page, timeout_s=300)
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("combobox", name="Locality").input_value() == "Maidstone"
    frame = _loaded_frame(page, page.locator(FOLIUM_IFRAME))
    layer = f"() => [({HEXAGONS_JS})().cells, ({MARKERS_JS})()]"
    for _ in range(STREET_ZOOM):
        frame.wait_for_function(f"() => ({layer})().some(n => n > 0)", timeout=120_000)
        cells, markers = frame.evaluate(layer)
        if markers and not cells and HEXAGONS_CAPTION not in _caption(page):
            return frame
        zoom = int(frame.evaluate("() => window.map.getZoom()"))
        assert zoom < STREET_ZOOM, "the map still shows hexagons at street zoom"
        _set_view(traffic, frame, estate.lat, estate.lon, zoom + 1)
    raise AssertionError("the map did not come to show Maidstone's sites one by one")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"scale_{name}.png"), full_page=True)


# --------------------------------------------------------------------------- the tests


def test_the_first_view_is_hexagons_counting_every_site_the_viewer_may_see(traffic, estate):
    page = traffic.page
    frame = _map(page)
    settle(page, timeout_s=300)
    frame.wait_for_function(f"() => ({HEXAGONS_JS})().cells > 0", timeout=120_000)
    _shot(page, "first_view")
    visible = estate.visible(VIEWER)
    assert visible < estate.sites  # other agencies' restricted sites are withheld
    metric = page.get_by_test_id("stMetric").filter(has_text="Sites shown")
    assert metric.get_by_test_id("stMetricValue").inner_text() == f"{visible:,}"
    assert HEXAGONS_CAPTION in _caption(page)
    hexagons = frame.evaluate(HEXAGONS_JS)
    assert hexagons["cells"] > 100
    # the whole estate is in the first view: its hexagons count every site, and only those
    assert hexagons["sites"] == visible
    assert _drawn(frame) > 100  # the hexagons are drawn, not just made


def test_zooming_into_maidstone_shows_its_sites_with_tooltips(traffic, estate):
    page = traffic.page
    frame = _zoom_into_maidstone(traffic, estate)
    _shot(page, "maidstone_points")
    points = frame.evaluate(POINTS_JS)
    assert len(points) > 10
    assert frame.evaluate(HEXAGONS_JS)["cells"] == 0
    assert _drawn(frame) > 10
    point = _apart(points)[0]
    site = estate.site(point["id"])
    x, y = _screen(page, frame, point["x"], point["y"])
    # the first move into the map's frame only enters it: move to the site, then onto it
    page.mouse.move(x - 2, y, steps=3)
    page.mouse.move(x, y, steps=2)
    # the locality under the point may show its own tooltip too; the site's is the one named
    tooltip = frame.locator(".leaflet-tooltip", has_text=site["name"])
    tooltip.wait_for(timeout=30_000)
    assert site["agency"] in tooltip.inner_text()
    _shot(page, "maidstone_tooltip")


def test_clicking_a_site_shows_its_record(traffic, estate):
    page = traffic.page
    frame = _zoom_into_maidstone(traffic, estate)
    points = _apart(frame.evaluate(POINTS_JS))
    assert points, "no site stands apart from the others in Maidstone's view"
    point = points[-1]
    site = estate.site(point["id"])
    record = page.get_by_test_id("stMain").locator(".assetmap-record")
    assert record.count() == 0
    mark = len(traffic.frames)
    page.mouse.click(*_screen(page, frame, point["x"], point["y"]))
    _answered(traffic, mark)
    record.wait_for(timeout=60_000)
    text = record.inner_text()
    for label in ("Agency", "Site ID", "Source file", "Source reference", "Imported at"):
        assert label in text
    # a row number is shown for the viewer's own sites only (access.OWN_ROW_ONLY)
    assert ("Source row" in text) == (site["agency"] == VIEWER)
    assert site["name"] in text
    assert site["agency"] in text
    assert point["id"] in text
    assert site["source_file"] in text
    _shot(page, "maidstone_record")


def test_the_national_overview_opens_a_district_as_the_place(traffic, estate, app):
    page = traffic.page
    _map(page)
    settle(page, timeout_s=300)
    page.goto(f"{app}/overview")
    try:
        page.get_by_role("heading", name="National overview").wait_for(timeout=120_000)
    except PlaywrightError as exc:
        _shot(page, "overview_missing")
        raise AssertionError(
            "the National overview page (url path /overview) is not there"
        ) from exc
    settle(page, timeout_s=300)
    keyed = page.locator(f".st-key-overview_map {FOLIUM_IFRAME}")
    iframe = keyed if keyed.count() else page.locator(FOLIUM_IFRAME)
    frame = _loaded_frame(page, iframe)
    frame.wait_for_selector("path.leaflet-interactive", state="attached", timeout=120_000)
    _shot(page, "overview")
    # zoom in on Maidstone as a reader would before clicking one district of ~330
    mark = len(traffic.frames)
    frame.evaluate(
        "([lat, lon]) => { window.map.setView([lat, lon], 10, {animate: false}); }",
        [estate.lat, estate.lon],
    )
    if traffic.frames[mark:]:
        settle(page, timeout_s=300)
    page.wait_for_timeout(1_000)
    point = frame.evaluate(
        "([lat, lon]) => window.map.latLngToContainerPoint([lat, lon])", [estate.lat, estate.lon]
    )
    box = iframe.first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.get_by_role("heading", name="Estate map").wait_for(timeout=120_000)
    settle(page, timeout_s=300)
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("combobox", name="Place").input_value() == "District"
    assert sidebar.get_by_role("combobox", name="Locality").input_value() == "Maidstone"
    assert "place: Maidstone" in _caption(page)
    _map(page)
    _shot(page, "overview_opened_maidstone")


def test_the_page_makes_no_request_beyond_the_app(traffic, estate):
    page = traffic.page
    frame = _zoom_into_maidstone(traffic, estate)
    points = _apart(frame.evaluate(POINTS_JS))
    assert points, "no site stands apart from the others in Maidstone's view"
    point = points[0]
    mark = len(traffic.frames)
    page.mouse.click(*_screen(page, frame, point["x"], point["y"]))
    _answered(traffic, mark)
    page.get_by_test_id("stMain").locator(".assetmap-record").wait_for(timeout=60_000)
    # what was recorded: the app's page, its scripts, its websocket, the map's frame
    assert len(traffic.requests) > 10
    assert any("/component/streamlit_folium" in url for url in traffic.requests)
    assert len(traffic.sockets) >= 1 and len(traffic.frames) > 10
    assert traffic.outside() == []


# --------------------------------------------------------------------------- the marker


@dataclass
class Findings:
    """Where the marker site was found in what a page received and sent."""

    name: list[str] = field(default_factory=list)
    site_id: list[str] = field(default_factory=list)
    reference: list[str] = field(default_factory=list)
    location: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return bool(self.name or self.site_id or self.reference or self.location)


_NUMBER = rb"(?<![\d.])-?\d{1,3}\.\d+"
#: Two numbers side by side: a [lon, lat] or [lat, lon] pair (GeoJSON, hexagon rings...).
_PAIR = re.compile(rb"(?=(" + _NUMBER + rb")\s*,\s*(" + _NUMBER + rb"))")
#: A column of numbers: the points layer sends "x":[...] and "y":[...] side by side
#: (quotes may be escaped, as inside the component's arguments).
_COLUMN = re.compile(rb'"(x|y)\\*"\s*:\s*\[([-0-9.,eE\s]*)\]')


def _near(value: float, target: float) -> bool:
    return abs(value - target) <= NEAR_DEG


def _at(data: bytes, lon: float, lat: float) -> bool:
    """Whether ``data`` holds a point within :data:`NEAR_DEG` of (``lon``, ``lat``).

    Looks for a pair of numbers side by side in either order, and for the same
    position in an ``x`` column and the ``y`` column after it.
    """
    for match in _PAIR.finditer(data):
        a, b = float(match.group(1)), float(match.group(2))
        if (_near(a, lon) and _near(b, lat)) or (_near(a, lat) and _near(b, lon)):
            return True
    columns = _COLUMN.findall(data)
    for (name_x, xs), (name_y, ys) in itertools.pairwise(columns):
        if name_x != b"x" or name_y != b"y":
            continue
        x = [float(v) for v in xs.split(b",") if v.strip()]
        y = [float(v) for v in ys.split(b",") if v.strip()]
        if any(_near(a, lon) and _near(b, lat) for a, b in zip(x, y, strict=False)):
            return True
    return False


def _search(estate: Estate, items: list[tuple[str, bytes]]) -> Findings:
    """Search every item (where, data) for the marker's name, ids and location."""
    found = Findings()
    name = MARKER.encode("utf-8")
    site_id = estate.site_id.encode("utf-8")
    reference = estate.marker["source_ref"].encode("utf-8")
    for where, data in items:
        if name in data:
            found.name.append(where)
        if site_id in data:
            found.site_id.append(where)
        if reference in data:
            found.reference.append(where)
        if _at(data, estate.lon, estate.lat):
            found.location.append(where)
    return found


def test_the_marker_search_finds_a_site_written_out():
    """The search itself: each way the marker could be written is found, and near misses not."""
    lon, lat = 0.521944, 51.273183
    estate = Estate(Path("-"), 1, {"source_ref": "POL-0000000"}, "Sabc", lon, lat)
    hits = _search(
        estate,
        [
            ("pair", b'{"coordinates":[0.521944,51.273183]}'),
            ("latlon", b"L.marker([51.27318, 0.52194])"),
            ("columns", b'{\\"x\\":[1.5,0.521944],\\"y\\":[52.1,51.273183],\\"s\\":[]}'),
            ("name", b"<b>Maidstone Hidden Custody Suite</b>"),
            ("id", b'"id":["Sabc"]'),
            ("ref", b"POL-0000000"),
        ],
    )
    assert hits.location == ["pair", "latlon", "columns"]
    assert hits.name == ["name"] and hits.site_id == ["id"] and hits.reference == ["ref"]
    misses = _search(
        estate,
        [
            ("far", b"[0.52210,51.27318]"),
            ("apart", b'{"x":[0.521944,1.0],"y":[52.0,51.273183]}'),
            ("alone", b"0.521944 and later 51.273183"),
            ("longer", b"[10.521944,51.273183]"),
        ],
    )
    assert not misses.any(), misses


@pytest.mark.parametrize("agency", [VIEWER, "Kent Police"])
def test_a_restricted_site_of_another_agency_is_sent_at_no_zoom(
    agency, browser_context, app, estate
):
    """Every response body and websocket frame, national to street zoom over the marker.

    As Maidstone Council the marker site is found nowhere; as Kent Police, its own
    agency, the same search finds its name, id, location and (once clicked) reference:
    so the search would see the site if it were sent.
    """
    assert estate.marker["agency"] == "Kent Police"
    sees_marker = agency == estate.marker["agency"]
    with ExitStack() as stack:
        url = app
        if agency != VIEWER:
            url = stack.enter_context(
                streamlit_server(
                    {STORE_ENV: str(estate.path), "ASSETMAP_AGENCY": agency},
                    log_name="streamlit-scale-own-agency.log",
                )
            )
        page = browser_context.new_page()
        stack.callback(page.close)
        traffic = Traffic(page)
        page.goto(url)
        frame = _map(page)
        settle(page, timeout_s=300)
        slug = agency.lower().replace(" ", "_")
        metric = page.get_by_test_id("stMetric").filter(has_text="Sites shown")
        assert metric.get_by_test_id("stMetricValue").inner_text() == f"{estate.visible(agency):,}"
        start = int(frame.evaluate("() => window.map.getZoom()"))
        modes: dict[int, str] = {}
        drawn: dict[int, int] = {}
        for zoom in range(start + 1, STREET_ZOOM + 1):
            _set_view(traffic, frame, estate.lat, estate.lon, zoom)
            assert frame.evaluate("() => window.map.getZoom()") == zoom
            hexagons = frame.evaluate(HEXAGONS_JS)["cells"]
            points = frame.evaluate(MARKERS_JS)
            modes[zoom] = "hexagons" if HEXAGONS_CAPTION in _caption(page) else "points"
            drawn[zoom] = hexagons if modes[zoom] == "hexagons" else points
            # the hexagons of a view hold every site near it: there is always one at least
            assert hexagons if modes[zoom] == "hexagons" else not hexagons, (zoom, modes)
            if zoom in (start + 1, 12, STREET_ZOOM):
                _shot(page, f"marker_{slug}_zoom{zoom}")
        assert modes[STREET_ZOOM] == "points" and "hexagons" in modes.values(), modes
        # sites were sent one by one around the marker: the search below looks at real layers
        assert any(drawn[z] for z in modes if modes[z] == "points"), drawn
        # click where the marker stands: its own agency gets its record, another nothing
        centre = frame.evaluate(
            "([lat, lon]) => window.map.latLngToContainerPoint([lat, lon])",
            [estate.lat, estate.lon],
        )
        mark = len(traffic.frames)
        page.mouse.click(*_screen(page, frame, centre["x"], centre["y"]))
        if sees_marker:
            _answered(traffic, mark)
            record = page.get_by_test_id("stMain").locator(".assetmap-record")
            record.wait_for(timeout=60_000)
            assert estate.marker["name"] in record.inner_text()
        else:
            page.wait_for_timeout(3_000)
            settle(page, timeout_s=300)
            assert page.get_by_test_id("stMain").locator(".assetmap-record").count() == 0
        _shot(page, f"marker_{slug}_clicked")

        bodies, unread = traffic.bodies()
        assert unread == [], f"response bodies that could not be searched: {unread[:5]}"
        items = [(f"response {u}", b) for u, b in bodies] + [
            (f"frame {i} {way}", data) for i, (_, way, data) in enumerate(traffic.frames)
        ]
        assert len(bodies) > 10 and len(traffic.frames) > 2 * (STREET_ZOOM - start)
        found = _search(estate, items)
        assert traffic.outside() == []
        assert traffic.errors == []
    if sees_marker:
        assert found.name and found.site_id and found.location and found.reference, found
    else:
        assert not found.any(), found
