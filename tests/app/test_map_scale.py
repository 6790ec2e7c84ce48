"""The Map page made per view, and the National overview, under Streamlit's AppTest.

The sites layer is made for the view the map reports (hexagons far out, points
close in), and another agency's restricted site changes nothing the browser
receives: each test compares the page's component arguments on an estate with
the site and on its twin without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from assetmap.app import map_page, overview_page, shell, state
from assetmap.density import density_by_locality
from assetmap.maps.interactive import viewport
from assetmap.settings import AGENCY_ENV, POPULATION_ENV
from assetmap.store import STORE_ENV
from tests.app.conftest import run_app, write_store
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
POPULATION = (
    ROOT.parent
    / "shared"
    / "data"
    / "population"
    / ("SAPE20DT1_mid2017_population_estimates_LAD_LSOA.csv")
)
MAIDSTONE = "E07000110"
SECRET = "Secret Custody Suite"

pytestmark = pytest.mark.usefixtures("fresh_caches")


def _sites(*, secret: bool):
    sites = make_sites(200, seed=3)
    if secret:
        row = sites.iloc[[0]].copy()
        row["site_id"] = "T-SECRET"
        row["name"] = SECRET
        row["agency"] = "Kent Police"
        row["sector"] = "police"
        row["sensitivity"] = "restricted"
        row = row.set_geometry(row.geometry.translate(37.0, 23.0))
        sites = pd.concat([sites, row], ignore_index=True)
    return sites


def _store(tmp_path: Path, monkeypatch, *, secret: bool) -> Path:
    path = write_store(tmp_path / f"estate-{secret}.gpkg", _sites(secret=secret))
    monkeypatch.setenv(STORE_ENV, str(path))
    return path


def _view(south, west, north, east, zoom) -> dict:
    return {
        "bounds": {
            "_southWest": {"lat": south, "lng": west},
            "_northEast": {"lat": north, "lng": east},
        },
        "zoom": zoom,
    }


FAR = _view(49.5, -6.0, 56.0, 2.0, 6)
#: Around the site the twin estates differ by (a few hundred metres across).
NEAR = _view(51.267, 0.49, 51.276, 0.51, 17)


def _component(at: AppTest) -> dict:
    found = [json.loads(e.proto.json_args) for e in at.get("component_instance")]
    assert found, "no st_folium component on the page"
    return found[0]


def _page_at(view: dict | None) -> AppTest:
    """The Map page, moved to ``view`` as st_folium reports a move (None: its first view)."""
    at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
    if view is not None:
        at.session_state[map_page.MAP_KEY] = view
        run_app(at, timeout=120)
    return at


def _sent(at: AppTest) -> str:
    """Everything the page sends that depends on the estate: the map's arguments and the text."""
    args = _component(at)
    texts = (
        [m.value for m in at.metric]
        + [c.value for c in at.caption]
        + [m.value for m in at.markdown]
    )
    return json.dumps({k: args[k] for k in ("script", "feature_group", "center", "zoom")}) + (
        json.dumps(texts)
    )


def test_a_far_view_draws_hexagons_and_a_near_one_draws_the_sites(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch, secret=False)
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    far = _page_at(FAR)
    group = _component(far)["feature_group"]
    assert "assetmap-hex" in group and "T-00001" not in group
    assert any("200 sites around this view are counted in hexagons" in c.value for c in far.caption)
    one = _sites(secret=False).to_crs(4326).geometry.iloc[1]
    near = _page_at(_view(one.y - 0.01, one.x - 0.01, one.y + 0.01, one.x + 0.01, 14))
    group = _component(near)["feature_group"]
    assert "assetmap-hex" not in group and "T-00001" in group


@pytest.mark.parametrize("view", [None, FAR, NEAR], ids=["first view", "far", "near"])
def test_another_agencys_restricted_site_changes_nothing_the_browser_receives(
    tmp_path, monkeypatch, view
):
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    sent = {}
    for agency in ("Maidstone Borough Council", "Kent Police"):
        monkeypatch.setenv(AGENCY_ENV, agency)
        for secret in (True, False):
            folder = tmp_path / f"{agency.replace(' ', '_')}-{secret}"
            folder.mkdir()
            _store(folder, monkeypatch, secret=secret)
            sent[agency, secret] = _sent(_page_at(view))
    other = "Maidstone Borough Council"
    assert SECRET not in sent[other, True] and "T-SECRET" not in sent[other, True]
    assert sent[other, True] == sent[other, False]
    # the same comparison tells the site's own agency's views apart: the test can fail
    assert sent["Kent Police", True] != sent["Kent Police", False]


def _overview(at: AppTest) -> pd.DataFrame:
    at.switch_page("assetmap/app/pages/overview.py")
    run_app(at, timeout=120)
    assert at.title[0].value == "National overview"
    return at.dataframe[0].value


def test_the_overview_counts_every_district_of_england_and_wales(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch, secret=False)
    at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
    table = _overview(at)
    assert len(table) == len(state.localities("district"))
    assert table["Code"].str.match(r"^[EW]0").all()
    maidstone = table.set_index("Code").loc[MAIDSTONE]
    districts = state.localities("district").set_index("code")
    # the engine's rule: in the outline, else (generalised outlines leave gaps) by postcode
    counted = density_by_locality(_sites(secret=False), state.localities("district"))
    assert maidstone["Sites"] == counted.metrics.loc[MAIDSTONE, "sites"] > 0
    inside = _sites(secret=False).within(districts.loc[MAIDSTONE, "geometry"]).sum()
    assert 0 < inside <= maidstone["Sites"]
    area = districts.loc[MAIDSTONE, "geometry"].area / 1e6
    assert maidstone["Sites per km²"] == pytest.approx(maidstone["Sites"] / area, rel=1e-6)
    assert table["Sites per km²"].is_monotonic_decreasing
    assert any("per km²" in c.value and "ASSETMAP_POPULATION" in c.value for c in at.caption)


@pytest.mark.skipif(not POPULATION.exists(), reason=f"{POPULATION} is not there (../shared/data)")
def test_with_a_population_table_the_overview_is_per_1000_residents(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch, secret=False)
    monkeypatch.setenv(POPULATION_ENV, str(POPULATION))
    table = _overview(run_app(AppTest.from_file(APP, default_timeout=120), timeout=120))
    maidstone = table.set_index("Code").loc[MAIDSTONE]
    people = pd.read_csv(POPULATION, thousands=",")
    people = people[people["Area Codes"] == MAIDSTONE]["All Ages"].iloc[0]
    assert maidstone["Sites per 1,000 residents"] == pytest.approx(
        maidstone["Sites"] / people * 1_000, rel=1e-6
    )


def test_a_missing_population_table_is_said_plainly(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch, secret=False)
    monkeypatch.setenv(POPULATION_ENV, str(tmp_path / "people.csv"))
    at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
    at.switch_page("assetmap/app/pages/overview.py")
    run_app(at, timeout=120)
    assert any("people.csv cannot be read" in e.value for e in at.error), [
        e.value for e in at.error
    ]


def test_the_overview_withholds_another_agencys_restricted_site(tmp_path, monkeypatch):
    tables = {}
    for agency in ("Maidstone Borough Council", "Kent Police"):
        monkeypatch.setenv(AGENCY_ENV, agency)
        for secret in (True, False):
            folder = tmp_path / f"{agency.replace(' ', '_')}-{secret}"
            folder.mkdir()
            _store(folder, monkeypatch, secret=secret)
            at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
            tables[agency, secret] = _overview(at)
    pd.testing.assert_frame_equal(
        tables["Maidstone Borough Council", True], tables["Maidstone Borough Council", False]
    )
    assert not tables["Kent Police", True].equals(tables["Kent Police", False])


def test_opening_a_district_from_the_overview_makes_it_the_place(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch, secret=False)
    at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
    _overview(at)
    clicked = {"last_active_drawing": {"properties": {"place": MAIDSTONE}}}
    assert overview_page.clicked_place(clicked) == MAIDSTONE
    assert (
        overview_page.clicked_place({"last_active_drawing": {"properties": {"id": "T-1"}}}) is None
    )
    # what shell.open_place keeps for the next run, when a district is clicked
    at.session_state["place_pending"] = ("district", MAIDSTONE)
    at.switch_page("assetmap/app/pages/map.py")
    run_app(at, timeout=120)
    assert at.selectbox(key=shell.LEVEL_KEY).value == "district"
    assert at.selectbox(key=shell.PLACE_KEY).value == MAIDSTONE
    assert "place: Maidstone" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(("limit", "density"), [(100, False), (1_000, True)])
def test_the_density_layer_starts_off_for_a_big_estate(tmp_path, monkeypatch, limit, density):
    _store(tmp_path, monkeypatch, secret=False)  # 200 sites
    monkeypatch.setattr(map_page, "DENSITY_DEFAULT_LIMIT", limit)
    at = _page_at(None)
    assert at.toggle(key=map_page.LAYER_KEYS["density"]).value is density
    group = _component(at)["feature_group"]
    assert ("Sites per km²" in group) is density  # the choropleth's legend
    assert "boundaries_layer" in group or density  # the districts drawn as the basemap instead


def test_a_density_layer_of_thousands_of_localities_in_view_is_one_image(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch, secret=False)  # 200 sites: the density layer starts on
    at = _page_at(None)
    assert at.toggle(key=map_page.LAYER_KEYS["density"]).value is True
    group = _component(at)["feature_group"]
    assert "L.imageOverlay" not in group and "Sites per km²" in group
    monkeypatch.setattr(map_page, "IMAGE_FROM", 1)  # the view holds more localities than this
    run_app(at, timeout=120)
    group = _component(at)["feature_group"]
    assert "L.imageOverlay" in group and "data:image/png;base64," in group
    assert "Sites per km²:" not in group  # no locality's tooltip
    assert any("painted as one picture" in c.value for c in at.caption)
