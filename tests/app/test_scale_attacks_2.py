"""An attacker's second review of the Map page at scale (#18): caches, subsets, hexagons, clusters.

Today's changes count the chosen sites from cached masks (``state._place_mask``,
``state.place_count``), index a filter or a place from the whole estate's index
(``EstateIndex.subset``), paint the hexagons on one canvas layer with tooltips written
in the browser, filter by each distinct value once (``selection._values_in``) and find
co-location clusters cell by cell (``colocation.near_components``).

The attacker is an officer of Maidstone Borough Council (agency A) who wants to learn
of a restricted Kent Police site (agency B's) by stepping filters, or who uploads a
register with hostile values; or anyone calling the engine with a legal argument.
Tests that show a defence holds compare with a twin (the estate without the site, or
every pair compared) and say how they can fail; a test that shows a hole fails today.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from streamlit.testing.v1 import AppTest

from assetmap import colocation, selection
from assetmap.colocation import colocation_clusters, near_components
from assetmap.maps import style
from assetmap.maps.interactive import viewport
from assetmap.maps.interactive.viewport import EstateIndex, View, view_layer
from assetmap.selection import Selection
from assetmap.settings import AGENCY_ENV
from tests.app.conftest import run_app
from tests.app.test_scale_attacks import (
    ATTACKER,
    FAR,
    KENT,
    OWN_SECRET,
    OWNER,
    SECRET,
    SECRET_TENURE,
    SECRET_USE,
    _around_secret,
    _component,
    _use_store,
)
from tests.app.test_scale_attacks import _sites as _twin_sites
from tests.maps.factories import make_sites

# --- 4. near_components against every pair ---------------------------------------------


def _every_pair(xy: np.ndarray, distance: float) -> np.ndarray:
    """The components of the graph of every pair within ``distance`` (the old way)."""
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(distance, output_type="ndarray")
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    return connected_components(graph, directed=False)[1]


def _tiny_distance_points() -> tuple[np.ndarray, float]:
    """Three points inside Great Britain's grid, hundreds of kilometres apart, and 0.2 mm.

    ``near_components`` keys a cell as ``column * width + row`` in int64. At 0.2 mm the
    cells are 0.14 mm wide: the third point makes the grid 2**33 rows high, and the
    second point is 2**31 columns from the first, so their keys differ by exactly 2**64
    and wrap to the same cell, whose points are taken to be near one another.
    """
    distance = 2e-4
    side = distance / np.sqrt(2.0) * (1 - colocation._SLACK)
    cells = [(0, 0), (2**31, 0), (0, 2**33 - 5)]
    xy = np.array([[100_000.0 + (i + 0.5) * side, 10_000.0 + (j + 0.5) * side] for i, j in cells])
    return xy, distance


def test_near_components_keeps_points_hundreds_of_km_apart_apart_at_a_tiny_distance():
    """HOLE (fails today): int64 cell keys overflow for a legal (positive) tiny distance.

    ``colocation_clusters`` accepts any positive distance; within the National Grid
    (GB_BOUNDS) a distance under about half a millimetre makes the cell keys overflow,
    two cells 300 km apart share a key, and their sites are joined.
    """
    xy, distance = _tiny_distance_points()
    assert xy[:, 0].max() < 700_000 and xy[:, 1].max() < 1_250_000  # inside GB_BOUNDS
    expected = _every_pair(xy, distance)
    assert expected.tolist() == [0, 1, 2]
    assert near_components(xy, distance).tolist() == expected.tolist()


def test_a_tiny_distance_never_clusters_two_agencies_300_km_apart():
    """HOLE (fails today): the same overflow, seen as a co-location cluster of the engine."""
    xy, distance = _tiny_distance_points()
    sites = make_sites(3, seed=2)
    sites["agency"] = ["Kent Police", "Maidstone Borough Council", "Other Body"]
    sites["sensitivity"] = "open"
    sites["location_precision"] = "exact"
    sites = sites.set_geometry(shapely.points(xy), crs=sites.crs)
    result = colocation_clusters(sites, distance=distance)
    assert result.empty, f"sites 300 km apart were clustered within 0.2 mm: {result.message}"


def _coords(draw, n: int, distance: float) -> np.ndarray:
    kind = draw(hs.sampled_from(["lattice", "diagonal", "collinear", "random", "national"]))
    if kind == "lattice":  # points exactly at the distance, and duplicates
        steps = draw(hs.lists(hs.tuples(hs.integers(0, 5), hs.integers(0, 5)), min_size=n))
        return np.array(steps[:n], dtype=float) * distance
    if kind == "diagonal":  # on the cells' own diagonal (side = distance / sqrt 2)
        steps = draw(hs.lists(hs.tuples(hs.integers(0, 6), hs.integers(0, 6)), min_size=n))
        return np.array(steps[:n], dtype=float) * (distance / np.sqrt(2.0))
    if kind == "collinear":
        scale = draw(hs.sampled_from([0.5, 1.0, 1 - 1e-12, 1 + 1e-12, 2 / 3]))
        t = np.array(draw(hs.lists(hs.integers(0, 9), min_size=n))[:n], dtype=float)
        return np.column_stack([t * distance * scale + 412_345.678, np.full(n, 98_765.4)])
    values = draw(hs.lists(hs.floats(0, 6, allow_nan=False, allow_infinity=False), min_size=2 * n))
    xy = np.array(values[: 2 * n]).reshape(n, 2) * distance
    return xy + (np.array([655_000.0, 1_220_000.0]) if kind == "national" else 0.0)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.data())
def test_near_components_is_every_pair_on_awkward_points(data):
    """Duplicates, lattices at exactly the distance, the cells' diagonal, collinear points
    one ulp either side of the distance, national coordinates: the same components,
    numbered alike. Can fail: with the cell offset (2, 2) dropped from
    ``_CELL_OFFSETS`` it does (``test_the_comparison_can_fail``)."""
    distance = data.draw(hs.sampled_from([1.0, 0.5, 3.0, 50.0, 400.0, 1234.567]))
    n = data.draw(hs.integers(2, 40))
    xy = _coords(data.draw, n, distance)
    assert near_components(xy, distance).tolist() == _every_pair(xy, distance).tolist()


def test_the_comparison_can_fail(monkeypatch):
    """Two points joined only through cells (2, 2) apart: the check above tells them apart."""
    monkeypatch.setattr(
        colocation, "_CELL_OFFSETS", tuple(o for o in colocation._CELL_OFFSETS if o != (2, 2))
    )
    side = 400.0 / np.sqrt(2.0) * (1 - colocation._SLACK)
    xy = np.array([[side - 1e-8, side - 1e-8], [2 * side + 1e-8, 2 * side + 1e-8]])
    assert np.hypot(*(xy[1] - xy[0])) <= 400.0
    assert near_components(xy, 400.0).tolist() != _every_pair(xy, 400.0).tolist()


# --- filters compare each distinct value once -------------------------------------------


_ODD = [None, np.nan, pd.NA, "", " ", "police", " Police ", "POLICE", "fire", "{{ 7*7 }}",
        "<img src=x onerror=alert(1)>", 1, 1.0, "1", True, "nan", "None"]  # fmt: skip
#: Agencies are text (or missing): numbers in an object column are the hole of
#: test_an_agency_filter_keeps_agencies_given_as_whole_numbers (1, 1.0 and True are also
#: one value to ``pd.factorize``, "1", "1.0" and "True" to the old comparison).
_ODD_TEXT = [v for v in _ODD if not isinstance(v, (int, float)) or v != v]


def _old_filter_mask(sites, sectors, agencies):
    keep = np.ones(len(sites), dtype=bool)
    if sectors is not None:
        keep &= style.sector_key(sites["sector"]).isin(list(sectors)).to_numpy()
    if agencies:
        text = sites["agency"].astype("object").fillna("").astype(str)
        keep &= text.isin(list(agencies)).to_numpy()
    return keep


@settings(max_examples=200, deadline=None)
@given(
    hs.lists(hs.sampled_from(range(len(_ODD))), min_size=1, max_size=30),
    hs.lists(hs.sampled_from(range(len(_ODD))), min_size=1, max_size=30),
    hs.sampled_from(["object", "string", "category"]),
    hs.sets(hs.sampled_from(["police", "fire", "other", "health", "{{ 7*7 }}"])),
    hs.sets(hs.sampled_from(["", "1", "1.0", "police", " Police ", "True", "nan", "None"])),
)
def test_filters_keep_what_they_kept_before_for_odd_values(s_idx, a_idx, dtype, sectors, agencies):
    """``_values_in`` keeps the same rows as comparing every row did, for missing values,
    numbers beside their text (sectors), padded and template-like text, and any column
    type. Can fail: it found the hole of the test below when numbers were agencies."""
    n = min(len(s_idx), len(a_idx))
    sites = pd.DataFrame(
        {
            "sector": [*(_ODD[i] for i in s_idx[:n]), "health"],
            "agency": [*(_ODD_TEXT[i % len(_ODD_TEXT)] for i in a_idx[:n]), "Kent Police"],
        },
        dtype=object,
    )
    if dtype == "string":
        sites = sites.map(lambda v: v if v is None or v is pd.NA or v != v else str(v))
        sites = sites.astype("string")
    elif dtype == "category":
        sites = sites.map(lambda v: None if v is pd.NA else v).astype("category")
    kept = selection.filter_mask(sites, sectors=tuple(sectors), agencies=tuple(agencies))
    assert kept.tolist() == _old_filter_mask(sites, tuple(sectors), tuple(agencies)).tolist()


def test_an_agency_filter_keeps_agencies_given_as_whole_numbers():
    """HOLE (fails today, minor): a column whose values are all whole numbers (object
    dtype, as a script or a database driver may hand over) is offered as "101" and "102",
    but ``_values_in`` appends ``None`` to pandas' integer uniques, which turns them into
    floats: "101.0" is compared, and choosing agency 101 keeps no site (the old row-by-row
    comparison kept it)."""
    sites = pd.DataFrame({"agency": pd.Series([101, 102, None], dtype=object)})
    offered = sorted(set(selection._as_text(sites["agency"])) - {""})
    assert offered == ["101", "102"]
    kept = selection.filter_mask(sites, None, agencies=("101",))
    assert kept.tolist() == [True, False, False]


# --- 1. stepping filters: counts and hexagons from cached masks and a subset index -------


def _filtered_map_app() -> None:
    """The Map page's metric and map for the selection held in the session."""
    import streamlit as st

    from assetmap.app import map_page, shell

    chosen = st.session_state["chosen"]
    st.metric("Sites shown", f"{shell.selected_count(chosen):,}")
    st.caption(f"rows {len(shell.selected_sites(chosen)):,}")
    map_page._map_and_record(chosen, map_page.LayerChoice(density=False))


#: Filters an officer can step through (and some only a crafted session could hold).
STEPS = {
    "whole": Selection(),
    "police": Selection(sectors=("police",)),
    "owner agency": Selection(agencies=(OWNER,)),
    "police of the owner": Selection(sectors=("police",), agencies=(OWNER,)),
    "surplus": Selection(min_surplus=1_000.0),
    "secret use": Selection(uses=(SECRET_USE,)),
    "secret tenure": Selection(tenures=(SECRET_TENURE,)),
    "no sector": Selection(sectors=()),
    "Gravesham": Selection(level="district", code="E07000109", place_name="Gravesham"),
    "police in Gravesham": Selection(
        level="district", code="E07000109", place_name="Gravesham", sectors=("police",)
    ),
    "Anglesey": Selection(level="district", code="W06000001", place_name="Isle of Anglesey"),
}
#: The steps whose filters keep B's site (what B's own officer is counted).
KEEPS_SECRET = {"whole", "police", "owner agency", "police of the owner", "surplus",
                "secret use", "secret tenure", "Gravesham", "police in Gravesham"}  # fmt: skip


def _estate(*, secret: bool) -> gpd.GeoDataFrame:
    sites = _twin_sites(secret=secret, own_secret=True)
    sites.loc[:9, "surplus_sqft"] = 2_500.0  # some sites offer space ...
    if secret:  # ... and so does B's restricted site
        sites.loc[sites["name"] == SECRET, "surplus_sqft"] = 5_000.0
    return sites


def _stepped(at: AppTest, views: dict) -> dict[str, str]:
    """What one session is sent for every step, stepping forward then back, at each view."""
    from assetmap.app import map_page

    seen: dict[str, str] = {}
    # a first run fits the map to the estate, whatever view the session holds
    at.session_state["chosen"] = STEPS["whole"]
    at.session_state[map_page.MAP_KEY] = FAR
    run_app(at, timeout=120)
    for step in [*STEPS, *reversed(list(STEPS))]:
        at.session_state["chosen"] = STEPS[step]
        run_app(at, timeout=120)  # a new place moves the map to it first
        for vname, view in views.items():
            at.session_state[map_page.MAP_KEY] = view
            run_app(at, timeout=120)
            args = _component(at)
            sent = json.dumps(
                {
                    "map": {k: args[k] for k in ("script", "feature_group")},
                    "metric": [m.value for m in at.metric],
                    "captions": [c.value for c in at.caption],
                }
            )
            seen.setdefault(f"{step} @ {vname}", sent)
            assert seen[f"{step} @ {vname}"] == sent, f"{step} @ {vname} changed on the way back"
            metric = int(at.metric[0].value.replace(",", ""))
            assert f"rows {metric:,}" in [c.value for c in at.caption], (
                f"{step}: the metric counts other sites than the rows"
            )
    return seen


VIEWS = {"far": FAR, "kent": KENT, "on the site": _around_secret(viewport.POINTS_ZOOM + 1)}


@pytest.mark.usefixtures("fresh_caches")
def test_stepping_filters_reveals_nothing_of_another_agencys_restricted_site(tmp_path, monkeypatch):
    """A's officer steps through filters (those that would keep B's site and those that
    would not) forward and back, far out (hexagons), in Kent (hexagons: 50 points at
    most) and on the site (points): the metric, the captions and the map's data are those
    of the estate without B's site. Can fail: for B's officer every step that keeps the
    site differs from the twin (checked below, same session code)."""
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    sent = {}
    for agency in (ATTACKER, OWNER):
        monkeypatch.setenv(AGENCY_ENV, agency)
        for secret in (True, False):
            _use_store(tmp_path / f"{agency}-{secret}", monkeypatch, _estate(secret=secret))
            at = AppTest.from_function(_filtered_map_app, default_timeout=120)
            sent[agency, secret] = _stepped(at, VIEWS)
    for key, text in sent[ATTACKER, True].items():
        for hint in (SECRET, "T-SECRET", SECRET_USE, SECRET_TENURE, "98,765", "98765"):
            assert hint not in text, f"{key}: A was sent {hint!r}"
        assert text == sent[ATTACKER, False][key], f"{key}: A's page depends on B's site"
    a = sent[ATTACKER, False]
    assert "assetmap-hex" in a["whole @ far"] and "assetmap-hex" in a["whole @ kent"]
    assert "assetmap-hex" not in a["whole @ on the site"]  # points, close in
    assert a["police @ kent"] != a["whole @ kent"]  # the filter reaches the hexagons
    for step in KEEPS_SECRET:  # the comparison can fail: B's officer counts the site
        metric = {s: json.loads(sent[OWNER, s][f"{step} @ far"])["metric"] for s in (True, False)}
        assert metric[True] != metric[False], f"{step}: B's own site was not counted"


@pytest.mark.usefixtures("fresh_caches")
def test_a_filtered_subset_cached_for_one_agency_is_never_served_to_another(tmp_path, monkeypatch):
    """A, then B, then A on one store and one filter (the police, far out and in Kent):
    the masks and subset indexes cached for one agency never serve the other."""
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    _use_store(tmp_path / "shared", monkeypatch, _estate(secret=True))
    chosen = {"police": STEPS["police"], "council": Selection(sectors=("council",))}
    seen = {}
    for turn, agency in (("A", ATTACKER), ("B", OWNER), ("A again", ATTACKER)):
        monkeypatch.setenv(AGENCY_ENV, agency)
        at = AppTest.from_function(_filtered_map_app, default_timeout=120)
        texts = []
        for sel in chosen.values():
            at.session_state["chosen"] = sel
            for view in (FAR, KENT):
                from assetmap.app import map_page

                at.session_state[map_page.MAP_KEY] = view
                run_app(at, timeout=120)
                texts.append(
                    json.dumps(_component(at)["feature_group"])
                    + json.dumps([m.value for m in at.metric])
                )
        seen[turn] = texts
    assert seen["A again"] == seen["A"], "A's second session differs after B's"
    assert seen["B"] != seen["A"], "B's view of its own police site should differ"
    assert not any(OWN_SECRET in t for t in seen["B"])
    assert not any(SECRET in t for t in seen["A"])


# --- 3. a filter that keeps nothing, a place with no sites ------------------------------


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize(
    "chosen",
    [
        Selection(sectors=()),
        Selection(min_surplus=1e12),
        Selection(agencies=("{% if %}",)),
        Selection(uses=("x" * 100_000,)),
        Selection(level="district", code="W06000001", place_name="Isle of Anglesey"),
    ],
    ids=["no sector", "huge surplus", "template agency", "huge use", "place with no sites"],
)
@pytest.mark.parametrize("view", [FAR, KENT, _around_secret(viewport.POINTS_ZOOM + 3)])
def test_a_selection_that_keeps_nothing_draws_an_empty_map(tmp_path, monkeypatch, chosen, view):
    """Nothing chosen, at every zoom: the page runs, counts 0 and draws no site."""
    monkeypatch.setattr(viewport, "POINT_LIMIT", 50)
    monkeypatch.setenv(AGENCY_ENV, ATTACKER)
    _use_store(tmp_path / "estate", monkeypatch, _estate(secret=True))
    at = AppTest.from_function(_filtered_map_app, default_timeout=120)
    at.session_state["chosen"] = chosen
    from assetmap.app import map_page

    at.session_state[map_page.MAP_KEY] = view
    run_app(at, timeout=120)
    assert at.metric[0].value == "0"
    assert not at.error, [e.value for e in at.error]
    text = json.dumps(_component(at)["feature_group"])
    assert "Maidstone" not in text and "Kent Police" not in text


def test_an_empty_or_single_subset_is_drawn_at_every_zoom():
    """Engine: a subset of nothing, or one site, at every zoom and point limit."""
    sites = make_sites(60, seed=8)
    index = EstateIndex(sites)
    lat, lon = float(index.lat.mean()), float(index.lon.mean())
    for keep in (np.zeros(len(sites), bool), np.r_[True, np.zeros(len(sites) - 1, bool)]):
        part = index.subset(keep)
        for zoom in range(5, 20):
            layer = view_layer(
                part, View.around((lat, lon), zoom, width_px=900, height_px=640), point_limit=1
            )
            assert layer.mode in ("points", "hexagons")
            assert layer.in_view <= int(keep.sum())
            if zoom == 5:  # the whole of the south-east in view
                assert layer.in_view == int(keep.sum())


# --- 2. hexagon tooltips: no register value ---------------------------------------------

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "{% if %}",
    "</script><script>alert(2)</script>",
    "police\u2028x",
    "x" * 200_000,
]


def test_hexagon_data_holds_no_register_value_and_only_known_sector_labels():
    """Sectors, names and agencies that are markup or templates never reach the hexagons'
    data: the tooltip is written in the browser (with innerHTML, by Leaflet) from counts
    and the sector labels of assetmap's own list. Can fail: the labels are taken from the
    sectors as read (the data then holds them) if ``sector_label`` were bypassed."""
    sites = make_sites(400, seed=6)
    for i, value in enumerate(HOSTILE):
        sites.loc[i, ["sector", "name", "agency", "use"]] = value
    index = EstateIndex(sites)
    lat, lon = float(index.lat.mean()), float(index.lon.mean())
    layer = view_layer(
        index, View.around((lat, lon), 9, width_px=900, height_px=640), point_limit=1
    )
    assert layer.mode == "hexagons"
    data = json.loads(layer.layer.data_js.replace("\\u007b", "{"))
    known = {style.sector_label(s).lower() for s in style.SECTOR_STYLES}
    assert set(data["labels"]) <= known, data["labels"]
    assert sum(data["n"]) == 400
    for value in HOSTILE:
        assert value[:40] not in layer.layer.data_js


# --- 2. every layer kind of the Map page, with template-like and markup values -----------

TEMPLATES = {
    "{{ 7*7 }} Hall": "49 Hall",
    "{% for x in range(3) %}X{% endfor %} House": "XXX House",
    "{% if %} Depot": None,  # cannot be compiled: an error, if read as a template
    "Annex {# hidden #} Wing": "Annex  Wing",
    "{{ cycler.__init__.__globals__.os.getcwd() }}": "/work",
}


def _hostile_estate() -> gpd.GeoDataFrame:
    sites = make_sites(len(TEMPLATES) * 2, seed=11)
    names = list(TEMPLATES) * 2
    sites["name"] = names
    sites["agency"] = [f"{n} Agency {i % 2}" for i, n in enumerate(names)]
    sites["use"] = names
    sites["surplus_sqft"] = 1_500.0
    sites["sensitivity"] = "open"
    sites["location_precision"] = "exact"
    # pairs of agencies 50 m apart: co-location clusters named after them
    base = sites.geometry.iloc[0]
    xy = [(base.x + 500.0 * (i // 2), base.y + 50.0 * (i % 2)) for i in range(len(sites))]
    return sites.set_geometry(shapely.points(xy), crs=sites.crs)


def _all_layers(sites: gpd.GeoDataFrame):
    import folium

    from assetmap.maps import interactive

    group = folium.FeatureGroup(name="Layers", control=False)
    result = colocation_clusters(sites, distance=400.0)
    assert not result.empty, result.message
    interactive.clusters_layer(result.clusters).add_to(group)
    interactive.offers_layer(sites).add_to(group)
    areas = sites.copy()
    areas["geometry"] = sites.buffer(100.0)
    areas["value"], areas["class"], areas["class_label"] = 1.0, 0, "{{ 6*7 }}"
    interactive.choropleth_layer(areas, value_label="{{ 6*7 }} per km²", k=1).add_to(group)
    index = EstateIndex(sites)
    lat, lon = float(index.lat.mean()), float(index.lon.mean())
    for zoom, limit in ((8, 1), (17, 3_000)):
        view = View.around((lat, lon), zoom, width_px=900, height_px=640)
        view_layer(index, view, point_limit=limit).layer.add_to(group)
    return group


def test_every_layer_keeps_template_like_register_values_as_text():
    """Clusters (agencies, hub names), offers, a choropleth (locality names, labels),
    hexagons and points, rendered as the Map page does (st_folium's feature group) and
    as the HTML export does (the whole page): no template in a register value is run,
    and ``{% if %}`` breaks nothing. Can fail: with both defences off (folium's second
    reading and the JSON braces unescaped) the same page runs the templates."""
    from streamlit_folium import _get_feature_group_string

    from assetmap.maps.interactive import base_map, map_html

    sites = _hostile_estate()
    group = _all_layers(sites)
    m = base_map(None, tiles=None, clusters=False)
    fg = _get_feature_group_string(group, map=base_map(None, tiles=None, clusters=False))
    group.add_to(m)
    html = map_html(m)
    for text in (fg, html):
        for ran in [r for r in TEMPLATES.values() if r] + ["42 per km", ">42<"]:
            assert ran not in text, f"a register template was run: {ran!r}"
    assert "\\u007b% if %} Depot" in fg  # the name is there, as text


def test_the_layer_check_can_fail(monkeypatch):
    """Both defences off: the same layers run a register template (so the test above can fail)."""
    import re

    from assetmap.maps import safe_html
    from assetmap.maps.interactive import base_map, map_html
    from assetmap.maps.interactive.elements import RenderedOnce

    def folium_render(self, **kwargs):  # folium's own: rendered text read again
        return super(RenderedOnce, self).render(**kwargs)

    monkeypatch.setattr(RenderedOnce, "render", folium_render)
    monkeypatch.setattr(safe_html, "_JSON_TEMPLATE_OPENER_RE", re.compile(r"(?!)"))
    sites = _hostile_estate()
    sites = sites[~sites["name"].str.contains("if %")].reset_index(drop=True)
    m = base_map(None, tiles=None, clusters=False)
    _all_layers(sites).add_to(m)
    assert "49 Hall" in map_html(m)


def test_no_element_of_the_map_pages_layers_is_read_as_a_template_twice():
    """Every element under the layers is assetmap's (rendered once) or folium's own that
    carries no register value (the group, and what Leaflet needs to add a layer)."""
    from folium.elements import ElementAddToElement

    from assetmap.maps.interactive.elements import RenderedOnce
    from assetmap.maps.interactive.offline import walk

    group = _all_layers(_hostile_estate())
    from assetmap.maps.interactive import base_map

    m = base_map(None, tiles=None, clusters=False)
    group.add_to(m)
    m.get_root().render()
    others = {
        type(e).__name__
        for e in walk(group)
        if e is not group and not isinstance(e, (RenderedOnce, ElementAddToElement))
    }
    assert not others, f"elements folium reads as a template again: {others}"
