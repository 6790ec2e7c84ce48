"""End to end: sign-in by agency through a real OpenID Connect flow, and restricted sites
that never leak.

A mock OpenID Connect provider (the PyPI package ``oidc-provider-mock``) runs in a
thread on loopback; the app is started with a secrets file whose ``[auth]`` section
points at it. Chromium signs in as a user of Agency A and as one of Agency B. The
store holds a restricted site of Agency A (and a quarantined row of Agency A's
register). For A the site is on the map and in the downloads; for B its name, id
and coordinates (longitude/latitude to 6 decimals, and easting/northing) are in no
page, no map GeoJSON, no table (CSV or XLSX), no HTML map and no print map.

All of it runs twice: on a GeoPackage store, and on a PostGIS store (the server of
``tests/pg.py``) that the app reaches as its own role, each signed-in user's rows
given by the database (row-level security) as well as filtered by the engine.
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pyproj import Transformer

from assetmap import audit
from assetmap.access import Viewer
from assetmap.store import SourceUpdate, open_store
from tests.app.browser import (
    ARTIFACTS,
    CHROMIUM,
    chromium_context,
    oidc_provider,
    sign_in,
    signed_in_app,
)
from tests.app.conftest import write_store
from tests.maps.factories import make_sites

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests",
        allow_module_level=True,
    )
for _package in ("playwright", "oidc_provider_mock", "authlib"):
    if importlib.util.find_spec(_package) is None:
        pytest.skip(
            f"the {_package} package is missing: pip install -r requirements.txt",
            allow_module_level=True,
        )

from playwright.sync_api import Page, sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
SECRET_NAME = "Zephyr Refuge Annexe"
SECRET_ID = "A-SECRET-0001"
SECRET_XY = (575123.4, 155432.1)
USERS = {
    "alice": {"email": "alice@agency-a.example", "agency": "Agency A"},
    "bob": {"email": "bob@agency-b.example", "agency": "Agency B"},
}


def _needles() -> list[str]:
    """The restricted site's name, id and coordinates as any output would write them."""
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(*SECRET_XY)
    return [
        SECRET_NAME,
        SECRET_ID,
        f"{lon:.6f}",
        f"{lat:.6f}",
        repr(round(lon, 6)),
        repr(round(lat, 6)),
        "575123.4",
        "155432.1",
    ]


def _agency_a_sites():
    sites = make_sites(3, seed=7)
    sites["site_id"] = [SECRET_ID, "A-OPEN-0002", "A-OPEN-0003"]
    sites["name"] = [SECRET_NAME, "Agency A Office", "Agency A Depot"]
    sites["agency"] = "Agency A"
    sites["sector"] = "council"
    sites["sensitivity"] = ["restricted", "open", "open"]
    sites["source_file"] = "agency_a.csv"
    sites["surplus_sqft"] = [5_000.0, 0.0, 0.0]
    from shapely.geometry import Point

    sites = sites.set_geometry(
        [Point(*SECRET_XY), Point(575180.0, 155470.0), Point(590000.0, 140000.0)], crs=27700
    )
    return sites


def _build_store(path: Path | str) -> Path | str:
    """Write the test estate into the store at ``path`` (a file, or a database's URL)."""
    write_store(path, make_sites(40, seed=1))
    sites = _agency_a_sites()
    quarantine = pd.DataFrame(
        {
            "source_file": ["agency_a.csv"],
            "source_sha256": ["1" * 64],
            "kind": ["sites"],
            "row": [9],
            "column": ["name"],
            "value": [f"{SECRET_NAME} (bad postcode)"],
            "reason_code": ["postcode_not_found"],
            "reason": ["the postcode is not in the ONS Postcode Directory"],
            "imported_at": ["2025-01-01T00:00:00+00:00"],
        }
    )
    update = SourceUpdate(
        source_file="agency_a.csv",
        kind="sites",
        rows=sites,
        footprints=None,
        quarantine=quarantine,
        log={
            "source_file": "agency_a.csv",
            "source_sha256": "1" * 64,
            "kind": "sites",
            "format": "csv",
            "agency": "Agency A",
            "sector": "council",
            "imported_at": "2025-01-01T00:00:00+00:00",
            "rows_read": 4,
            "accepted": 3,
            "quarantined": 1,
            "report_json": "{}",
        },
        owner="Agency A",
    )
    open_store(path).replace_source(update)
    return path


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider(USERS) as url:
        yield url


@pytest.fixture(scope="module", params=["geopackage", "postgis"])
def store(request, tmp_path_factory) -> Iterator[Path | str]:
    """The test estate in a GeoPackage file, or in a fresh PostGIS database (the app's URL)."""
    if request.param == "geopackage":
        yield _build_store(tmp_path_factory.mktemp("sign-in-store") / "estate.gpkg")
        return
    from tests.pg import TEMPLATE_DB

    server = request.getfixturevalue("pg_server")
    name = server.new_name()
    server.create_database(name, template=TEMPLATE_DB)
    try:
        yield _build_store(server.urls(name)[1])
    finally:
        server.drop_database(name)


def _audit_entries(store: Path | str, sub: str) -> list[audit.AuditEntry]:
    """The audit log's entries of a user (a database shows each agency its own entries)."""
    viewer = Viewer(USERS[sub]["email"], agency=USERS[sub]["agency"], signed_in=True)
    log = audit.read_log(open_store(store, viewer=viewer) if isinstance(store, str) else store)
    return [e for e in log if e.user == USERS[sub]["email"]]


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider, store) -> Iterator[tuple[str, Path | str]]:
    folder = tmp_path_factory.mktemp("sign-in")
    with signed_in_app(store, provider, folder, "streamlit-server-sign-in.log") as url:
        yield url, store


def _sign_in(page: Page, app_url: str, provider: str, sub: str) -> None:
    sign_in(page, app_url, provider, sub, USERS[sub]["email"])


def _choose(page: Page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]', has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def _download(page: Page, button: str) -> bytes:
    target = page.get_by_role("button", name=button)
    target.wait_for(timeout=120_000)
    with page.expect_download(timeout=120_000) as info:
        target.click()
    return Path(info.value.path()).read_bytes()


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return " ".join(
            archive.read(n).decode("utf-8", "replace")
            for n in archive.namelist()
            if n.endswith(".xml")
        )


def _collect(page: Page, app_url: str) -> dict[str, str]:
    """Everything the user can see or download, as text to search."""
    found: dict[str, str] = {}
    frame = page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000).content_frame()
    frame.wait_for_selector("path.assetmap-site", timeout=90_000)
    found["map page"] = page.content()
    found["sidebar"] = page.get_by_test_id("stSidebar").inner_text()
    found["map GeoJSON"] = frame.content() + json.dumps(
        frame.evaluate(
            """() => { const out = [];
                window.map.eachLayer(l => { if (l.toGeoJSON) { try { out.push(l.toGeoJSON()); }
                catch (e) {} } }); return out; }"""
        )
    )
    page.goto(f"{app_url}/export")
    page.get_by_role("heading", name="Tables").wait_for(timeout=90_000)
    found["sites.csv"] = _download(page, "Download sites.csv").decode("utf-8")
    page.get_by_text("XLSX", exact=True).click()
    found["sites.xlsx"] = _xlsx_text(_download(page, "Download sites.xlsx"))
    page.get_by_text("CSV", exact=True).click()
    for name, label in (
        ("clusters", "Co-location clusters (400 m)"),
        ("summary", "Place summary: sites per district and sector"),
        ("quarantine", "Quarantined rows of your agency's registers"),
    ):
        _choose(page, "Table", label)
        found[f"{name}.csv"] = _download(page, f"Download {name}.csv").decode("utf-8")
    page.get_by_role("button", name="Prepare the HTML map").click()
    found["HTML map"] = _download(page, "Download the HTML map").decode("utf-8")
    _choose(page, "Format", "SVG")
    page.get_by_role("button", name="Draw the print map").click()
    svg = page.get_by_role("button", name="Download assetmap_sites_")
    svg.wait_for(timeout=180_000)
    with page.expect_download(timeout=120_000) as info:
        svg.click()
    found["print map SVG"] = Path(info.value.path()).read_text(encoding="utf-8")
    found["export page"] = page.content()
    return found


@pytest.mark.parametrize("sub", ["alice", "bob"])
def test_restricted_site_is_seen_by_its_agency_and_nowhere_by_another(app, provider, sub):
    app_url, store = app
    outside: list[str] = []
    with sync_playwright() as playwright, chromium_context(playwright) as context:
        page = context.new_page()
        # Requests beyond the app and the provider on loopback are recorded and refused (the
        # provider's own page asks a CDN for a style sheet); the app's pages must make none.
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith((app_url, provider, "data:", "blob:"))
                else route.abort()
            ),
        )
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith((app_url, provider, "data:", "blob:", "about:"))
                and r.frame.url.startswith(app_url)
                else None
            ),
        )
        _sign_in(page, app_url, provider, sub)
        found = _collect(page, app_url)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"sign_in_{sub}_export.png"), full_page=True)
    assert outside == [], f"the app's pages tried to reach beyond the app: {outside[:5]}"
    needles = _needles()
    if sub == "bob":
        leaks = {
            where: [n for n in needles if n in text]
            for where, text in found.items()
            if any(n in text for n in needles)
        }
        assert leaks == {}, f"Agency B sees Agency A's restricted site: {leaks}"
        assert "Signed in as bob@agency-b.example (Agency B)" in found["sidebar"]
    else:
        assert "Signed in as alice@agency-a.example (Agency A)" in found["sidebar"]
        for where in ("map GeoJSON", "sites.csv", "sites.xlsx", "HTML map", "quarantine.csv"):
            assert SECRET_NAME in found[where], f"Agency A cannot see its own site in {where}"
        for where in ("sites.csv", "sites.xlsx", "HTML map"):
            assert SECRET_ID in found[where]
        assert "575123.4" in found["sites.csv"]  # WKT in British National Grid
    # every download was written to the audit log with the user and the agency
    entries = _audit_entries(store, sub)
    assert {e.what for e in entries} >= {
        "sites.csv",
        "sites.xlsx",
        "clusters.csv",
        "summary.csv",
        "quarantine.csv",
    }
    assert all(e.agency == USERS[sub]["agency"] and e.signed_in for e in entries)
    assert all(e.action == "export" and len(e.sha256) == 64 for e in entries)
