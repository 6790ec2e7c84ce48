"""An attacker's tests of the Map page made per view (#18): hexagons, points, the overview.

The attacker is an officer of Maidstone Borough Council (agency A) who wants to learn
of a restricted Kent Police site (agency B's): that it exists, where, its name, its
size. The new surfaces are the hexagon counts, classes and legend at every zoom, the
"N sites around this view" caption, the switch between hexagons and points, the view
the browser sends back (st_folium's value: the browser controls it), the caches shared
by every session (``st.cache_resource``), the sidebar's filter options and counts, the
National overview and the place it opens.

Each test passes when the app is safe, and compares what the page sends (the map
component's arguments, captions, metrics, filter options, tables) for an estate with
B's restricted site and its twin without it; the same comparison tells the owner's
views apart, so the tests can fail.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import streamlit as st
from streamlit.testing.v1 import AppTest

from assetmap.app import map_page, shell
from assetmap.maps.interactive import viewport
from assetmap.maps.interactive.viewport import EstateIndex, ShapeIndex, View, view_layer
from assetmap.settings import AGENCY_ENV
from assetmap.store import STORE_ENV
from tests.app.conftest import run_app, write_store
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
OVERVIEW = "assetmap/app/pages/overview.py"
ATTACKER = "Maidstone Borough Council"
OWNER = "Kent Police"
#: B's restricted site: every value of it is unique, so any output that counts it shows.
SECRET = "Secret Custody Suite"
SECRET_USE = "Custody suite Q9"
SECRET_TENURE = "Crown lease Z7"
#: A's own restricted site (for the cache-sharing attack, seen the other way round).
OWN_SECRET = "Council Hidden Depot"


def _restricted(sites, *, site_id: str, name: str, agency: str, sector: str, dx: float):
    row = sites.iloc[[0]].copy()
    row["site_id"] = site_id
    row["name"] = name
    row["agency"] = agency
    row["sector"] = sector
    row["use"] = SECRET_USE if agency == OWNER else "Depot"
    row["tenure"] = SECRET_TENURE if agency == OWNER else "freehold"
    row["floor_area_sqft"] = 98_765.0
    row["sensitivity"] = "restricted"
    return row.set_geometry(row.geometry.translate(dx, 23.0))


def _sites(*, secret: bool, own_secret: bool = False, secret_sensitivity: str = "restricted"):
    sites = make_sites(200, seed=3)
    rows = [sites]
    if secret:
        row = _restricted(
            sites, site_id="T-SECRET", name=SECRET, agency=OWNER, sector="police", dx=37.0
        )
        row["sensitivity"] = secret_sensitivity
        rows.append(row)
    if own_secret:
        rows.append(
            _restricted(
                sites, site_id="T-OWN", name=OWN_SECRET, agency=ATTACKER, sector="council", dx=-41.0
            )
        )
    return pd.concat(rows, ignore_index=True)


def _secret_point() -> tuple[float, float]:
    """Where B's restricted site is: (lat, lon)."""
    point = _sites(secret=True).to_crs(4326).geometry.iloc[-1]
    return point.y, point.x


def _returned(south, west, north, east, zoom) -> dict:
    """What st_folium reports after a move: its bounds and zoom."""
    return {
        "bounds": {
            "_southWest": {"lat": south, "lng": west},
            "_northEast": {"lat": north, "lng": east},
        },
        "zoom": zoom,
    }


def _around_secret(zoom, half: float = 0.005) -> dict:
    lat, lon = _secret_point()
    return _returned(lat - half, lon - half, lat + half, lon + half, zoom)


FAR = _returned(49.5, -6.0, 56.0, 2.0, 6)
#: Mid Kent at zoom 10: every site of the test estate, drawn one by one.
KENT = _returned(50.9, -0.1, 51.5, 1.2, 10)


def _component(at: AppTest) -> dict:
    found = [json.loads(e.proto.json_args) for e in at.get("component_instance")]
    assert found, "no st_folium component on the page"
    return found[0]


def _page(view: dict | None = None) -> AppTest:
    """The Map page of a new session, moved to ``view`` as st_folium reports a move."""
    at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
    if view is not None:
        at.session_state[map_page.MAP_KEY] = view
        run_app(at, timeout=120)
    return at


def _sent(at: AppTest) -> str:
    """Everything the page sends that depends on the estate.

    The map's arguments, the captions, metrics and Markdown, and the options of
    the sidebar's filters (a value offered only by a withheld site would show it).
    """
    args = _component(at)
    texts = (
        [m.value for m in at.metric]
        + [c.value for c in at.caption]
        + [m.value for m in at.markdown]
        + [list(ms.options) for ms in at.multiselect]
    )
    return json.dumps({k: args[k] for k in ("script", "feature_group", "center", "zoom")}) + (
        json.dumps(texts)
    )


def _use_store(folder: Path, monkeypatch, sites) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_store(folder / "estate.gpkg", sites)
    monkeypatch.setenv(STORE_ENV, str(path))
    return path


# --- the view the browser sends back ------------------------------------------------------

#: Views a browser can send instead of a real map's (its value is JSON the user controls).
CRAFTED = {
    "zoom infinite": _returned(49.5, -6.0, 56.0, 2.0, math.inf),
    "zoom minus infinite": _returned(49.5, -6.0, 56.0, 2.0, -math.inf),
    "zoom NaN": _returned(49.5, -6.0, 56.0, 2.0, math.nan),
    "zoom 1e300": _returned(49.5, -6.0, 56.0, 2.0, 1e300),
    "zoom 100000": _returned(49.5, -6.0, 56.0, 2.0, 100_000),
    "zoom -2000": _returned(49.5, -6.0, 56.0, 2.0, -2_000),
    "zoom -5": _returned(49.5, -6.0, 56.0, 2.0, -5),
    "zoom 99": _around_secret(99),
    "zoom a word": _returned(49.5, -6.0, 56.0, 2.0, "far"),
    "no zoom": _returned(49.5, -6.0, 56.0, 2.0, None),
    "bounds NaN": _returned(math.nan, -6.0, 56.0, 2.0, 6),
    "bounds infinite": _returned(49.5, -math.inf, 56.0, math.inf, 6),
    "bounds 1e308": _returned(-1e308, -1e308, 1e308, 1e308, 6),
    "bounds inverted": _returned(56.0, 2.0, 49.5, -6.0, 6),
    "west beyond east": _returned(49.5, 2.0, 56.0, -6.0, 6),
    "bounds not numbers": _returned("a", "b", "c", "d", 6),
    "bounds missing": {"zoom": 6},
    "not a dict": ["bounds", 6],
}


@pytest.mark.parametrize("returned", list(CRAFTED.values()), ids=list(CRAFTED))
def test_a_crafted_view_is_refused_or_drawn_never_an_error(returned):
    """Whatever view the browser sends, the map is made (or the view refused), at a real zoom.

    An infinite zoom raises OverflowError in ``int(zoom)`` (the page shows a traceback
    instead of the map); before the zoom's range was checked, zooms of 1e300 or 100,000
    raised OverflowError, -2000 ZeroDivisionError, and negative zooms each made a new
    hexagon grid of every site, kept for ever.
    """
    index = EstateIndex(_sites(secret=False))
    shapes = ShapeIndex(make_sites(5, seed=1).set_geometry(make_sites(5, seed=1).buffer(500.0)))
    view = View.from_returned(returned)
    if view is None:
        return
    assert 0 <= view.zoom <= 30, f"a web map has no zoom {view.zoom}"
    layer = view_layer(index, view)
    assert layer.mode in ("hexagons", "points")
    shapes.in_view(view)


def test_a_huge_zoom_is_bounded_work():
    """A zoom of a billion is refused or brought to a real zoom, not worked out.

    Before the zoom's range was checked, ``2 ** zoom`` of a billion held one core for
    about 10 s and then raised OverflowError; every further digit multiplies the time and
    the memory (10**10 is a 1.25 GB integer), and the server serves every agency.
    """
    view = View.from_returned(_returned(49.5, -6.0, 56.0, 2.0, 10**9))
    assert view is None or 0 <= view.zoom <= 30


def _spread_sites(n_side: int = 20):
    """Sites 20 km apart over England: no window a screen shows at zoom 16 holds two."""
    sites = make_sites(n_side * n_side, seed=5)
    east, north = np.meshgrid(
        200_000 + 20_000 * np.arange(n_side), 100_000 + 20_000 * np.arange(n_side)
    )
    return sites.set_geometry(shapely.points(east.ravel(), north.ravel()), crs=sites.crs)


def test_a_crafted_view_cannot_make_the_server_draw_the_whole_estate_as_points():
    """Zoom 16 says "points, whatever the view holds"; a crafted view at zoom 16 spans England.

    No screen shows more than a few dozen tiles at once, so a genuine view at zoom 16
    holds a few kilometres. Fails today: a view of zoom 16 with bounds of all England
    and Wales is drawn as every site's point (at a million sites, the whole estate as
    points, about 100 MB made and sent for each such message), bypassing the hexagons.
    """
    index = EstateIndex(_spread_sites())
    crafted = _returned(49.5, -6.0, 56.0, 2.0, viewport.POINTS_ZOOM)
    view = View.from_returned(crafted)
    if view is None:
        return
    layer = view_layer(index, view, point_limit=50)
    assert layer.mode == "hexagons" or layer.in_view <= 50, (
        f"{layer.in_view} sites drawn one by one for one crafted view"
    )


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize(
    "view",
    [
        _around_secret(99),
        _around_secret(viewport.POINTS_ZOOM, half=4.0),
        _around_secret(-3, half=4.0),
        _returned(56.0, 2.0, 49.5, -6.0, 6),
    ],
    ids=["zoom 99 on the site", "zoom 16 over England", "zoom -3", "inverted"],
)
def test_crafted_views_show_nothing_of_another_agencys_restricted_site(tmp_path, monkeypatch, view):
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    monkeypatch.setenv(AGENCY_ENV, ATTACKER)
    sent = {}
    for secret in (True, False):
        _use_store(tmp_path / f"twin-{secret}", monkeypatch, _sites(secret=secret))
        sent[secret] = _sent(_page(view))
    for hint in (SECRET, "T-SECRET", SECRET_USE, SECRET_TENURE, "98,765"):
        assert hint not in sent[True]
    assert sent[True] == sent[False]


@pytest.mark.usefixtures("fresh_caches")
def test_the_owner_sees_its_site_in_the_views_the_attacker_is_compared_in(tmp_path, monkeypatch):
    """The comparisons above can fail: the same outputs differ for the site's own agency."""
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    monkeypatch.setenv(AGENCY_ENV, OWNER)
    sent = {}
    for secret in (True, False):
        _use_store(tmp_path / f"twin-{secret}", monkeypatch, _sites(secret=secret))
        sent[secret] = {
            "far": _sent(_page(FAR)),
            "near": _sent(_page(_around_secret(viewport.POINTS_ZOOM + 1))),
        }
    assert sent[True]["far"] != sent[False]["far"]
    assert SECRET in sent[True]["near"] and SECRET_USE in sent[True]["near"]


# --- the caches every session shares ------------------------------------------------------


def _outputs(at: AppTest) -> dict:
    """A session's map far out and close in over both restricted sites, and its overview."""
    found = {"first": _sent(at)}
    for name, view in (
        ("far", FAR),
        ("near both", _around_secret(viewport.POINTS_ZOOM + 1)),
    ):
        at.session_state[map_page.MAP_KEY] = view
        run_app(at, timeout=120)
        found[name] = _sent(at)
    at.switch_page(OVERVIEW)
    run_app(at, timeout=120)
    found["overview"] = (
        at.dataframe[0].value.to_json()
        + json.dumps([c.value for c in at.caption])
        + json.dumps(_component(at)["feature_group"])
    )
    return found


@pytest.mark.usefixtures("fresh_caches")
def test_one_agencys_cached_view_is_never_served_to_another(tmp_path, monkeypatch):
    """A, then B, then A again on one store, in one process (the same shared caches).

    Each agency's pages hold its own restricted site and never the other's, and A's
    outputs after B's session are those of A's first session.
    """
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    _use_store(tmp_path / "shared", monkeypatch, _sites(secret=True, own_secret=True))
    seen = {}
    for turn, agency in (("A", ATTACKER), ("B", OWNER), ("A again", ATTACKER)):
        monkeypatch.setenv(AGENCY_ENV, agency)
        seen[turn] = _outputs(_page())
    for turn, own, other in (
        ("A", OWN_SECRET, SECRET),
        ("B", SECRET, OWN_SECRET),
        ("A again", OWN_SECRET, SECRET),
    ):
        everything = json.dumps(seen[turn])
        assert other not in everything, f"{turn} was sent the other agency's restricted site"
        assert own in everything, f"{turn} was not sent its own restricted site"
    assert seen["A again"] == seen["A"]


def _pan_after_an_import_app() -> None:
    """The Map page's fragment run again with the arguments of the page's last full run.

    That is what Streamlit does when the map is moved: it calls the fragment again with
    the arguments it was given in the last full run of the page (the selection and the
    layers: the fragment reads the estate itself, in its own run).
    """
    import streamlit as st

    from assetmap.app import map_page
    from assetmap.selection import Selection

    if "last_full_run" not in st.session_state:
        st.session_state["last_full_run"] = (Selection(), map_page.LayerChoice())
    chosen, choice = st.session_state["last_full_run"]
    map_page._map_and_record(chosen, choice)


@pytest.mark.usefixtures("fresh_caches")
def test_a_pan_after_an_import_does_not_cache_the_old_estate_under_the_new_state(
    tmp_path, monkeypatch
):
    """B marks a site restricted while A's officer has the map open; A pans; then A reloads.

    Fails today: the fragment is called again with the frames of the last full run
    (before B's import) but works out its cache key afresh (after it), so the index of
    the old frame, which holds the now restricted site, and its density layer are cached
    under the new store state, and every later session of A is drawn the site from them.
    """
    monkeypatch.setenv(AGENCY_ENV, ATTACKER)
    path = _use_store(
        tmp_path / "changing", monkeypatch, _sites(secret=True, secret_sensitivity="open")
    )
    at = AppTest.from_function(_pan_after_an_import_app, default_timeout=120)
    run_app(at, timeout=120)
    assert SECRET in json.dumps(_component(at)["feature_group"])  # open: A sees it
    write_store(path, _sites(secret=True))  # B's import: the site is now restricted
    at.session_state[map_page.MAP_KEY] = KENT  # A moves the map: the fragment runs again
    run_app(at, timeout=120)
    after_pan = _sent(_page(KENT))  # a new session of A (or A's next full run)
    st.cache_data.clear()
    st.cache_resource.clear()
    clean = _sent(_page(KENT))
    assert SECRET not in clean
    assert SECRET not in after_pan, "a session of A was drawn B's now restricted site"
    assert after_pan == clean


# --- the overview and the place it opens --------------------------------------------------


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize(
    "code",
    ["![x](http://attacker.example/p.png)", "E07000110' OR '1'='1", "", "x" * 10_000],
    ids=["markdown image", "quote", "empty", "long"],
)
def test_a_crafted_district_code_from_the_overview_opens_no_place(tmp_path, monkeypatch, code):
    """The district code a click on the overview sends is the browser's: a crafted one opens
    no district (every district is the place), is shown nowhere, and the page works."""
    monkeypatch.setenv(AGENCY_ENV, ATTACKER)
    _use_store(tmp_path / "estate", monkeypatch, _sites(secret=True))
    at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
    at.session_state["place_pending"] = ("district", code)
    run_app(at, timeout=120)
    texts = " ".join(m.value for m in [*at.caption, *at.markdown, *at.error, *at.warning])
    assert "](http://attacker.example" not in texts
    assert at.selectbox(key=shell.PLACE_KEY).value == ""  # no such district: all of them
    assert not code or code not in texts
    assert SECRET not in _sent(at)


def _remote(*, secret: bool):
    """The test estate, with B's restricted site 300 km from the rest (in Devon) or not."""
    sites = _sites(secret=secret)
    if secret:
        far = sites["site_id"] == "T-SECRET"
        sites.loc[far, "geometry"] = sites.loc[far, "geometry"].translate(-300_000.0, -50_000.0)
    return sites


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize("density", [True, False], ids=["density", "district basemap"])
@pytest.mark.parametrize("view", [None, FAR], ids=["first view", "far"])
def test_a_remote_restricted_site_moves_no_extent_basemap_or_hexagon(
    tmp_path, monkeypatch, density, view
):
    """A restricted site far from the rest of the estate would widen the map's extent, its
    district basemap, the density's localities and the far view's hexagons: it moves none
    of them for another agency."""
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    sent = {}
    for agency in (ATTACKER, OWNER):
        monkeypatch.setenv(AGENCY_ENV, agency)
        for secret in (True, False):
            _use_store(tmp_path / f"{agency[:4]}-{secret}", monkeypatch, _remote(secret=secret))
            at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
            at.toggle(key=map_page.LAYER_KEYS["density"]).set_value(density)
            run_app(at, timeout=120)
            if view is not None:
                at.session_state[map_page.MAP_KEY] = view
                run_app(at, timeout=120)
            sent[agency, secret] = _sent(at)
    assert sent[ATTACKER, True] == sent[ATTACKER, False]
    assert sent[OWNER, True] != sent[OWNER, False]


@pytest.mark.usefixtures("fresh_caches")
def test_the_switch_to_points_counts_only_the_sites_the_viewer_may_see(tmp_path, monkeypatch):
    """With the limit at exactly the attacker's 200 sites, B's site (the 201st) would turn
    the view into hexagons if the switch counted it: it does not; for B it does."""
    monkeypatch.setattr(viewport, "POINT_LIMIT", 200)
    modes = {}
    for agency in (ATTACKER, OWNER):
        monkeypatch.setenv(AGENCY_ENV, agency)
        for secret in (True, False):
            _use_store(tmp_path / f"{agency[:4]}-{secret}", monkeypatch, _sites(secret=secret))
            group = _component(_page(KENT))["feature_group"]
            modes[agency, secret] = ("assetmap-hex" in group, "T-00001" in group)
    assert modes[ATTACKER, True] == modes[ATTACKER, False] == (False, True)
    assert modes[OWNER, True] == (True, False)  # 201 sites for B: hexagons
    assert modes[OWNER, False] == (False, True)


def _offshore(*, secret: bool):
    """The test estate, with B's restricted site in the North Sea (outside every district)."""
    sites = _sites(secret=secret)
    if secret:
        far = sites["site_id"] == "T-SECRET"
        sites.loc[far, "geometry"] = sites.loc[far, "geometry"].translate(140_000.0, 100_000.0)
    return sites


@pytest.mark.usefixtures("fresh_caches")
def test_the_overview_says_nothing_of_an_offshore_restricted_site(tmp_path, monkeypatch):
    """A site outside every district would be in the overview's note of sites outside them,
    its caption's count and its classes: for another agency it is in none of them."""
    sent = {}
    for agency in (ATTACKER, OWNER):
        monkeypatch.setenv(AGENCY_ENV, agency)
        for secret in (True, False):
            _use_store(tmp_path / f"{agency[:4]}-{secret}", monkeypatch, _offshore(secret=secret))
            at = run_app(AppTest.from_file(APP, default_timeout=120), timeout=120)
            at.switch_page(OVERVIEW)
            run_app(at, timeout=120)
            sent[agency, secret] = (
                at.dataframe[0].value.to_json()
                + json.dumps([c.value for c in at.caption])
                + json.dumps(_component(at)["feature_group"])
            )
    assert sent[ATTACKER, True] == sent[ATTACKER, False]
    assert sent[OWNER, True] != sent[OWNER, False]


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize(
    "view",
    [
        _returned(49.5, 2.0, 56.0, -6.0, 6),
        _returned(49.5, -6.0, 56.0, 2.0, 31),
        _returned(49.5, -6.0, 56.0, 2.0, viewport.POINTS_ZOOM),
    ],
    ids=["west beyond east", "zoom 31", "zoom 16 over England"],
)
def test_a_crafted_view_never_makes_the_page_draw_more_than_the_limit(tmp_path, monkeypatch, view):
    """A view the page refuses, or one no screen could show, is not answered with every site.

    Fails today: a refused view makes the sites layer "every site (or a sample)", up to
    50,000 points per message however many the limit is; a view at zoom 16 over all of
    England is answered with every site's point.
    """
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    monkeypatch.setenv(AGENCY_ENV, ATTACKER)
    _use_store(tmp_path / "estate", monkeypatch, _sites(secret=False))
    group = _component(_page(view))["feature_group"]
    drawn = set(re.findall(r"T-\d{5}", group))
    assert len(drawn) <= 50, f"{len(drawn)} sites drawn one by one for one crafted view"
