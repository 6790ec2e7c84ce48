"""The Scenarios page: "close X and move into Y", what it would do, and two side by side.

A scenario is a list of moves (:mod:`assetmap.scenarios`): close a site and move its
occupied space into another, dispose of a site, or take an offer of spare space for a
request. The officer builds one here or from the map (the site record's "Close and
move…" and "Move into this site" buttons: :func:`record_actions`), from a co-location
cluster ("consolidate into its hub") or from the optimal plan, and sees at once the
place's totals before and after, each move made or refused with the reason, the moves
on a map and, on request, the change in residents' straight-line distance to their
nearest Jobcentre, library, clinic and police front counter. Scenarios are saved in
the store with their author and agency; two can be compared side by side.

Every figure is computed from the sites the viewer may see (:func:`shell.selected_sites`
of the chosen place, without the sidebar's filters: a scenario is about the whole
place), so another agency's restricted site is in no total, move, map or access figure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from assetmap import access, residents_access, scenario_io
from assetmap.app import shell, state
from assetmap.app.map_page import show_map
from assetmap.app.navigation import page_path
from assetmap.errors import AssetmapError
from assetmap.exchange._ids import register_offer_id
from assetmap.maps import interactive, safe_html
from assetmap.maps.interactive.features import shape_features
from assetmap.maps.interactive.layers import ShapesLayer
from assetmap.maps.safe_html import markdown_text as md
from assetmap.savings import DEFAULT_MOVING_COST_PER_SQFT, MOVING_COST_SOURCE
from assetmap.scenarios import (
    Close,
    Dispose,
    Scenario,
    ScenarioResult,
    TakeOffer,
    compare,
    evaluate,
    from_cluster,
    from_plan,
)

__all__ = [
    "WORKING_KEY",
    "add_move",
    "evaluated",
    "place_sites",
    "record_actions",
    "render",
    "saved_list",
    "set_working",
    "working",
]

WORKING_KEY = "scenario_working"
FROM_KEY = "scenario_move_from"
NAME_KEY = "scenario_name"
NOTE_KEY = "scenario_note"
ACCESS_KEY = "scenario_access"
CATEGORY_KEY = "scenario_access_category"
COMPARE_A_KEY = "scenario_compare_a"
COMPARE_B_KEY = "scenario_compare_b"
MOVING_COST_KEY = "scenario_moving_cost"
_PENDING_NAME_KEY = "scenario_name_pending"
#: The working scenario's name before the officer gives one.
UNTITLED = "Untitled scenario"
#: The choice of the compare boxes that is the scenario being built (not a saved one).
WORKING_CHOICE = "\x00working"

#: How each measure's figures are written.
_MONEY = ("running cost", "yearly saving", "capital receipt", "moving cost", "break penalties")


# --------------------------------------------------------------------------- the working one


def working() -> Scenario:
    """Return the scenario being built in this session (an empty one at first)."""
    found = st.session_state.get(WORKING_KEY)
    return found if isinstance(found, Scenario) else Scenario(UNTITLED)


def set_working(scenario: Scenario, note: str = "") -> None:
    """Make ``scenario`` the one being built, with a note of what happened."""
    st.session_state[WORKING_KEY] = scenario
    # the name box takes the name when it is next drawn (a widget's value cannot be
    # set once the widget is drawn in a run)
    st.session_state[_PENDING_NAME_KEY] = scenario.name
    st.session_state[NOTE_KEY] = note


def add_move(move: Close | Dispose | TakeOffer, note: str = "") -> None:
    """Add ``move`` at the end of the scenario being built."""
    set_working(working().with_move(move), note)


def place_sites(chosen: shell.Selection | None = None) -> gpd.GeoDataFrame:
    """Return the chosen place's sites the viewer may see, without the sidebar's filters."""
    chosen = chosen or shell.selection()
    whole = dataclasses.replace(
        chosen, sectors=None, agencies=(), uses=(), tenures=(), min_surplus=0.0
    )
    return shell.selected_sites(whole)


def _exchange_tables() -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Return the store's offers and which sites they are on (the engine filters them)."""
    try:
        store = state.store()
        return store.exchange("offers"), store.exchange("offer_sites")
    except AssetmapError:
        return None, None


@st.cache_resource(show_spinner=False, max_entries=16)
def _evaluate(
    key: tuple,
    moves: str,
    today: str,
    rate: float,
    access: bool,
    _scenario: Scenario,
    _sites: gpd.GeoDataFrame,
    _requests: pd.DataFrame,
    _offers,
    _offer_sites,
    _centres,
) -> ScenarioResult:
    # cached per selection (store state and viewer included), moves, day, rate and access
    result = evaluate(
        _sites,
        _scenario,
        viewer=shell.viewer(),
        offers=_offers,
        offer_sites=_offer_sites,
        requests=_requests,
        today=today,
        moving_cost_per_sqft=rate,
        centres=_centres if access else None,
    )
    # kept: only the sites the moves name (what the moves' map draws), not a copy of the
    # place's every site in each of the cache's entries (a million rows each, nationally)
    made = result.moves
    named = {*made["site_id"], *made["into_id"], *made["offer_site_id"]} - {""}
    keep = result.sites["site_id"].astype(str).isin(named).to_numpy(dtype=bool)
    return dataclasses.replace(
        result, sites=result.sites[keep].reset_index(drop=True), open_after=result.open_after[keep]
    )


@st.cache_resource(show_spinner="Finding the LSOAs of the place…", max_entries=8)
def _centres(key: tuple, _sites: gpd.GeoDataFrame, _outline, _population) -> gpd.GeoDataFrame:
    centres = residents_access.lsoa_centres(population=_population)
    points = centres.geometry.to_numpy()
    if _outline is not None:
        keep = shapely.contains_xy(_outline, shapely.get_x(points), shapely.get_y(points))
    else:  # the whole estate: the LSOAs within 10 km of its sites' box
        x0, y0, x1, y1 = _sites.total_bounds if len(_sites) else (0.0, 0.0, 0.0, 0.0)
        x, y = shapely.get_x(points), shapely.get_y(points)
        keep = (x >= x0 - 10_000) & (x <= x1 + 10_000) & (y >= y0 - 10_000) & (y <= y1 + 10_000)
    return centres[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def evaluated(scenario: Scenario, *, access: bool = False) -> ScenarioResult:
    """Return what ``scenario`` would do to the chosen place (cached for this state).

    Raises
    ------
    assetmap.errors.AssetmapError
        If the estate, the boundaries or the LSOAs cannot be read.
    """
    chosen = shell.selection()
    sites = place_sites(chosen)
    requests = shell.place_requests(chosen)
    offers, offer_sites = _exchange_tables()
    key = shell.cache_key(chosen)
    centres = None
    if access:
        table = state.population()
        path = state.population_file()
        population_key = () if table is None or path is None else (str(path), path.stat().st_mtime)
        key = (*key, *population_key)  # (a new population table measures again)
        centres = _centres(key, sites, shell.place_geometry(chosen), table)
    rate = float(st.session_state.get(MOVING_COST_KEY, DEFAULT_MOVING_COST_PER_SQFT))
    result = _evaluate(
        key,
        scenario.moves_json(),
        dt.date.today().isoformat(),
        rate,
        access,
        scenario,
        sites,
        requests,
        offers,
        offer_sites,
        centres,
    )
    # (cached by its moves: the scenario asked about names it, not the first one cached)
    return dataclasses.replace(result, scenario=scenario)


# --------------------------------------------------------------------------- from the map


def _label(row: pd.Series) -> str:
    return f"{row.get('name', '')} ({row.get('agency', '')})"


def _start_moving(site_id: str, label: str) -> None:
    st.session_state[FROM_KEY] = (site_id, label)


def _move_into(site_id: str, label: str) -> None:
    moving = st.session_state.get(FROM_KEY)
    if moving:
        add_move(Close(moving[0], into=site_id), f"Added: {moving[1]} into {label}.")
    st.session_state[FROM_KEY] = None


def _dispose(site_id: str, label: str) -> None:
    add_move(Dispose(site_id), f"Added: dispose of {label}.")


def record_actions(row: pd.Series) -> None:
    """Draw the scenario buttons under a site's record on the Map page.

    "Close and move…" remembers the site; clicking another site then offers "Move
    it into this site". "Dispose of it" adds that move. The scenario's totals
    follow, with the moves so far. The buttons act before the panel is drawn again
    (callbacks), so the panel always shows the scenario as it now is.
    """
    site_id, label = str(row["site_id"]), _label(row)
    st.markdown("**Scenario**")
    c1, c2 = st.columns(2)
    c1.button(
        "Close and move…",
        key="scenario_close_from",
        on_click=_start_moving,
        args=(site_id, label),
    )
    c2.button("Dispose of it", key="scenario_dispose", on_click=_dispose, args=(site_id, label))
    moving = st.session_state.get(FROM_KEY)
    if moving and moving[0] != site_id:
        st.caption(f"Moving {md(moving[1])} out: into this site?")
        st.button(
            "Move it into this site",
            key="scenario_move_into",
            on_click=_move_into,
            args=(site_id, label),
        )
    elif moving:
        st.caption(f"Moving {md(moving[1])} out: now click the site its space moves into.")
    _working_summary()


def _working_summary() -> None:
    """Draw the working scenario's moves and its main figures (the Map page's panel)."""
    scenario = working()
    note = st.session_state.get(NOTE_KEY)
    if note:
        st.caption(md(note))
    if not scenario.moves:
        st.caption("No moves yet: the scenario's totals appear here as you add them.")
        return
    try:
        result = evaluated(scenario)
    except AssetmapError as exc:
        st.error(f"The scenario could not be worked out: {md(exc)}")
        return
    _moves_table(result, compact=True)
    after = result.totals["after"].to_dict()
    change = result.totals["change"].to_dict()
    saving = float(after["yearly saving (£/yr)"])
    # one to a row: the panel is narrow; the change with an ASCII minus, which Streamlit
    # reads as a fall (green, with delta_color="inverse")
    st.metric(
        "Running cost a year",
        _money(float(after["running cost (£/yr)"])),
        _money(float(change["running cost (£/yr)"])).replace("−", "-"),
        delta_color="inverse",
    )
    st.metric("Yearly saving", _money(saving))
    st.page_link(page_path("scenarios"), label="Open the scenario on the Scenarios page")


# --------------------------------------------------------------------------- figures


def _money(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    sign = "−" if value < 0 else ""
    return f"{sign}£{abs(value):,.0f}"


def _figure(measure: str, value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if any(word in measure for word in _MONEY):
        return _money(value)
    sign = "−" if value < 0 else ""
    return f"{sign}{abs(value):,.0f}"


def totals_table(result: ScenarioResult) -> pd.DataFrame:
    """Return the totals as people read them: each figure written out, with its note."""
    table = result.table()
    out = pd.DataFrame(
        {
            "Measure": [m[:1].upper() + m[1:] for m in table.index],
            "Before": [_figure(m, v) for m, v in zip(table.index, table["before"], strict=True)],
            "After": [_figure(m, v) for m, v in zip(table.index, table["after"], strict=True)],
            "Change": [_figure(m, v) for m, v in zip(table.index, table["change"], strict=True)],
            "What it rests on": table["note"].to_numpy(),
        }
    )
    return out


def _moves_table(result: ScenarioResult, *, compact: bool = False) -> None:
    moves = result.moves
    if moves.empty:
        return
    what = []
    for row in moves.to_dict("records"):
        if row["kind"] == "close":
            what.append(
                f"Close {row['site_name'] or row['site_id']} into "
                f"{row['into_name'] or row['into_id']}"
            )
        elif row["kind"] == "dispose":
            what.append(f"Dispose of {row['site_name'] or row['site_id']}")
        else:
            what.append(
                f"Take {row['offer_name'] or row['offer_id']} for "
                f"{row['request_name'] or row['request_id']}"
            )
    table = pd.DataFrame(
        {
            "Move": moves["number"].to_numpy(),
            "Made or refused": moves["status"].to_numpy(),
            "What": what,
            "Why refused": moves["reason"].to_numpy(),
        }
    )
    if not compact:
        table["Sq ft moved"] = [_figure("", v) for v in moves["sqft_moved"]]
        table["Saving a year"] = [_money(v) for v in moves["yearly_saving_gbp"]]
        table["When"] = moves["move_date"].to_numpy()
        table["Note"] = moves["note"].to_numpy()
    st.dataframe(table, hide_index=True, width="stretch")


def _money_chart(result: ScenarioResult) -> None:
    """Bars of what the scenario gains and costs, in pounds."""
    totals = result.totals["after"]
    frame = pd.DataFrame(
        {
            "figure": [
                "Yearly saving",
                "Capital receipt",
                "One-off moving cost",
                "Break penalties",
            ],
            "pounds": [
                totals.get("yearly saving (£/yr)", 0.0),
                totals.get("capital receipt (£)", 0.0),
                -totals.get("one-off moving cost (£)", 0.0),
                -totals.get("break penalties (£)", 0.0),
            ],
        }
    )
    if (frame["pounds"] != 0).any():
        st.bar_chart(frame, x="figure", y="pounds", horizontal=True, height=200)


def _moves_map(result: ScenarioResult) -> None:
    layers = result.layers()
    moves, closed = layers["moves"], layers["closed"]
    if moves.empty and closed.empty:
        return
    group = folium.FeatureGroup(name="Moves", control=False)
    if not moves.empty:
        tips = [
            safe_html.escape(
                f"Move {n}: {a or s} into {b or t}" if k == "close" else f"Move {n}: {k}"
            )
            for n, k, s, a, t, b in zip(
                moves["number"],
                moves["kind"],
                moves["site_id"],
                moves["site_name"],
                moves["into_id"],
                moves["into_name"],
                strict=True,
            )
        ]
        styles = [{"color": "#1f5fa8", "weight": 3} for _ in tips]
        ShapesLayer(
            shape_features(moves.geometry, tips, styles, simplify_m=0), name="Moves"
        ).add_to(group)
    if not closed.empty:
        tips = [
            safe_html.escape(f"Move {n}: {name} closes ({when or 'date unknown'})")
            for n, name, when in zip(
                closed["number"], closed["site_name"], closed["move_date"], strict=True
            )
        ]
        styles = [
            {"color": "#b2182b", "fillColor": "#b2182b", "fillOpacity": 0.8, "weight": 1}
            for _ in tips
        ]
        ShapesLayer(
            shape_features(closed.geometry, tips, styles, simplify_m=0), name="Closed", radius=7
        ).add_to(group)
    extent = pd.concat([moves.geometry, closed.geometry]).to_frame("geometry")
    extent = gpd.GeoDataFrame(extent, geometry="geometry", crs=moves.crs)
    try:
        bounds = state.basemap(shell.viewer().agency)
    except AssetmapError:
        bounds = None
    base = interactive.base_map(bounds, extent=extent, legend=False)
    group.add_to(base)
    show_map(base, None, key="scenario_moves_map", height=420, fit=extent)
    st.caption(
        "Blue lines: space moved, from the site closed to the site it moves into (or from an "
        "offer's site to the request). Red dots: the sites closed or disposed of."
    )


# --------------------------------------------------------------------------- residents' access


def _access_section(scenario: Scenario) -> None:
    st.subheader("Residents' access")
    st.caption(
        "How much further each LSOA's residents would be, in a straight line from the "
        "LSOA's centre, from their nearest open Jobcentre, library, clinic and police front "
        "counter. This is straight-line distance, not travel time: roads, rivers and public "
        "transport are not seen."
    )
    if not st.toggle("Work out residents' access", key=ACCESS_KEY):
        return
    with st.spinner("Measuring residents' access (the first time builds the LSOAs)…"):
        try:
            result = evaluated(scenario, access=True)
        except AssetmapError as exc:
            st.error(f"Residents' access could not be worked out: {md(exc)}")
            return
    change = result.access
    if change is None:
        return
    summary = change.summary
    counted = change.counted
    who = counted[:1].upper() + counted[1:]  # "People", "LSOAs"
    table = pd.DataFrame(
        {
            "Category": summary["category"].to_numpy(),
            "Sites before": summary["sites_before"].to_numpy(),
            "Sites after": summary["sites_after"].to_numpy(),
            f"{who} > 1 km further": summary["more_than_1km"].round().to_numpy(),
            f"{who} > 2 km further": summary["more_than_2km"].round().to_numpy(),
            f"{who} > 5 km further": summary["more_than_5km"].round().to_numpy(),
            "Largest change (km)": (summary["largest_change_m"] / 1000).round(2).to_numpy(),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    for note in change.notes:
        st.caption(md(note))
    if counted == "LSOAs":
        st.caption(
            "Counted in LSOAs: give a population table ($ASSETMAP_POPULATION) to count people."
        )
    categories = summary["category"].tolist()
    category = st.selectbox("Draw the change for", categories, key=CATEGORY_KEY)
    try:
        frame = residents_access.access_choropleth_frame(change, category)
    except AssetmapError as exc:
        st.error(f"The map could not be drawn: {md(exc)}")
        return
    bands = list(residents_access.CHANGE_BANDS)
    frame = frame.assign(
        value=frame["change_km"].to_numpy(),
        **{"class": [bands.index(b) for b in frame["band"]], "class_label": frame["band"]},
    )
    if "name" not in frame.columns:
        frame["name"] = frame["code"]
    layer = interactive.choropleth_layer(
        frame,
        value_label="Further away (km, straight line)",
        k=len(bands),
        name="Residents' access",
        canvas=len(frame) > 2_000,
    )
    group = folium.FeatureGroup(name="Access", control=False)
    layer.add_to(group)
    base = interactive.base_map(None, extent=frame, legend=False)
    group.add_to(base)
    show_map(base, None, key="scenario_access_map", height=460, fit=frame)


# --------------------------------------------------------------------------- building


#: The most sites the move boxes list; a larger place is searched by name first.
LISTED_SITES = 5_000
SEARCH_KEY = "scenario_site_search"


def _site_choices(sites: gpd.GeoDataFrame, search: str = "") -> dict[str, str]:
    """Return the sites to choose from (id -> "name (agency)"), by name; at most LISTED_SITES.

    A place of more sites lists those whose name, agency or id holds ``search``.
    """
    labels = sites["name"].astype(str) + " (" + sites["agency"].astype(str) + ")"
    ids = sites["site_id"].astype(str)
    if len(sites) > LISTED_SITES:
        text = search.strip().casefold()
        if not text:
            return {}
        hit = labels.str.casefold().str.contains(text, regex=False) | (ids.str.casefold() == text)
        labels, ids = (
            labels[hit.to_numpy()].head(LISTED_SITES),
            ids[hit.to_numpy()].head(LISTED_SITES),
        )
    order = np.argsort(labels.to_numpy(), kind="stable")
    return dict(zip(ids.to_numpy()[order], labels.to_numpy()[order], strict=True))


def _builder(sites: gpd.GeoDataFrame) -> None:
    """Draw the controls that add a move, start from a cluster or the plan, or start again."""
    search = ""
    if len(sites) > LISTED_SITES:
        search = st.text_input(
            f"Find the sites of a move ({len(sites):,} in the place: type part of a name, an "
            "agency or a site id)",
            key=SEARCH_KEY,
        )
    choices = _site_choices(sites, search)
    if not len(sites):
        st.info("The place has no sites you may see.")
        return
    close_tab, dispose_tab, offer_tab, start_tab = st.tabs(
        ["Close and move", "Dispose", "Take an offer", "Start from…"]
    )
    find = "Type part of a site's name above, or click the sites on the Map page."
    with close_tab:
        if choices:
            a = shell.pick("Close the site", choices, key="scenario_close_site")
            b = shell.pick("and move its space into", choices, key="scenario_close_into")
            if st.button("Add the move", key="scenario_add_close"):
                add_move(Close(a, into=b), f"Added: {choices[a]} into {choices[b]}.")
        else:
            st.caption(find)
    with dispose_tab:
        if choices:
            z = shell.pick("Dispose of the site", choices, key="scenario_dispose_site")
            if st.button("Add the disposal", key="scenario_add_dispose"):
                add_move(Dispose(z), f"Added: dispose of {choices[z]}.")
        else:
            st.caption(find)
    with offer_tab:
        _offer_builder(sites, choices)
    with start_tab:
        _start_from(sites)


def _offer_builder(sites: gpd.GeoDataFrame, choices: dict[str, str]) -> None:
    """Draw the boxes of "take an offer": the place's spare space (of ``choices``) and requests."""
    requests = shell.place_requests()
    spare = sites[pd.to_numeric(sites["surplus_sqft"], errors="coerce").fillna(0) > 0]
    if len(sites) > LISTED_SITES:  # a large place: the sites found by the search
        spare = spare[spare["site_id"].astype(str).isin(choices)]
    if requests.empty or spare.empty:
        st.caption("The place needs a space request and a site with spare space.")
        return
    offers = {
        register_offer_id(str(r.source_owner), str(r.source_file), str(r.site_id)): (
            f"{r.name} ({r.agency}): {float(r.surplus_sqft):,.0f} sq ft spare"
        )
        for r in spare.itertuples(index=False)
    }
    asks = {
        str(r.request_id): f"{r.source_ref or r.request_id} ({r.agency}): "
        f"{float(r.space_needed_sqft or 0):,.0f} sq ft"
        for r in requests.itertuples(index=False)
    }
    o = shell.pick("Take the spare space of", offers, key="scenario_offer")
    r = shell.pick("for the request", asks, key="scenario_request")
    if st.button("Add the move", key="scenario_add_offer"):
        add_move(TakeOffer(o, r), f"Added: {offers[o]} for {asks[r]}.")


def _start_from(sites: gpd.GeoDataFrame) -> None:
    chosen = shell.selection()
    key = shell.cache_key(chosen)
    st.caption("Replace the scenario being built with one made for you.")
    if st.button("Consolidate a co-location cluster into its hub", key="scenario_from_cluster"):
        st.session_state["scenario_pick_cluster"] = True
    if st.session_state.get("scenario_pick_cluster"):
        try:
            result = state.colocation(key, 400.0, sites, shell.viewer().agency)
        except AssetmapError as exc:
            st.error(f"Co-location could not be worked out: {md(exc)}")
            return
        if result.empty:
            st.caption(md(result.message))
        else:
            labels = {
                int(c.cluster_id): f"Cluster {c.cluster_id}: {c.hub_name} ({c.n_sites} sites)"
                for c in result.clusters.itertuples(index=False)
            }
            cid = shell.pick("Cluster", labels, key="scenario_cluster")
            if st.button("Make it the scenario", key="scenario_cluster_go"):
                name = f"Consolidate cluster {cid} into {labels[cid].split(': ', 1)[1]}"
                set_working(from_cluster(result, cid, name=name), f"Made from cluster {cid}.")
                st.session_state["scenario_pick_cluster"] = False
                st.rerun()
    if st.button("The optimal plan of the place's space requests", key="scenario_from_plan"):
        requests = shell.place_requests(chosen)
        try:
            _, plan = state.plan(key, False, requests, sites, shell.viewer().agency)
            made = from_plan(plan, name="The optimal plan")
        except AssetmapError as exc:
            st.error(f"The plan could not be made a scenario: {md(exc)}")
        else:
            set_working(made, f"Made from the optimal plan: {len(made.moves)} moves.")
            st.rerun()
    if st.button("Start again (no moves)", key="scenario_clear"):
        set_working(Scenario(UNTITLED), "Started again.")
        st.session_state[FROM_KEY] = None
        st.rerun()


def _moves_editor(scenario: Scenario) -> None:
    if not scenario.moves:
        return
    labels = {i: f"Move {i + 1}" for i in range(len(scenario.moves))}
    c1, c2 = st.columns([2, 1])
    with c1:
        i = shell.pick("Remove a move", labels, key="scenario_remove_pick")
    with c2:
        st.write("")
        if st.button("Remove it", key="scenario_remove_move"):
            set_working(scenario.without_move(int(i)), f"Removed move {int(i) + 1}.")
            st.rerun()


# --------------------------------------------------------------------------- saved ones


@st.cache_resource(show_spinner=False, max_entries=8)
def _saved_for(signature: object, viewer_key: str, _sites_all: gpd.GeoDataFrame) -> list[Scenario]:
    # cached per store state and viewer: the scenarios' sites are looked up among the
    # viewer's whole estate (a million ids take a third of a second to gather)
    return scenario_io.saved_scenarios(state.store(), viewer=shell.viewer(), sites=_sites_all)


def saved_list(sites_all: gpd.GeoDataFrame | None = None) -> list[Scenario]:
    """Return the saved scenarios the viewer may see (an error is shown, and none given).

    ``sites_all`` is the viewer's whole visible estate (read here when not given).
    """
    try:
        everything = shell.visible_estate() if sites_all is None else sites_all
        return list(_saved_for(state.store_signature(), shell.viewer().key, everything))
    except AssetmapError as exc:
        st.error(f"The saved scenarios could not be read: {md(exc)}")
        return []


def _save_section(scenario: Scenario, sites: gpd.GeoDataFrame, saved: list[Scenario]) -> None:
    st.subheader("Save, open and remove")
    c1, c2 = st.columns([3, 1])
    with c1:
        pending = st.session_state.pop(_PENDING_NAME_KEY, None)
        if pending is not None or NAME_KEY not in st.session_state:
            st.session_state[NAME_KEY] = pending if pending is not None else scenario.name
        name = st.text_input("Name", key=NAME_KEY)
    with c2:
        st.write("")
        if st.button("Save the scenario", key="scenario_save", disabled=not scenario.moves):
            renamed = dataclasses.replace(scenario, name=name or scenario.name)
            try:
                offers, offer_sites = _exchange_tables()
                saved_one = scenario_io.save_scenario(
                    state.store(),
                    renamed,
                    viewer=shell.viewer(),
                    sites=sites,
                    requests=shell.place_requests(),
                    offers=offers,
                    offer_sites=offer_sites,
                )
            except AssetmapError as exc:
                st.error(f"The scenario was not saved: {md(exc)}")
            else:
                shell.audit_event("save scenario", saved_one.name)
                state.clear()
                set_working(saved_one, f"Saved {saved_one.name!r}.")
                st.rerun()
    _saved_overview(saved)
    if saved:
        names = {
            i: f"{s.name} ({s.agency or 'no agency'}, {s.author or 'unknown'})"
            for i, s in enumerate(saved)
        }
        o1, o2, o3 = st.columns([3, 1, 1])
        with o1:
            i = shell.pick("Saved scenarios", names, key="scenario_open_pick")
        with o2:
            st.write("")
            if st.button("Open", key="scenario_open"):
                set_working(saved[int(i)], f"Opened {saved[int(i)].name!r}.")
                st.rerun()
        picked = saved[int(i)]
        mine = access.agency_key(picked.agency) == shell.viewer().key
        with o3:
            st.write("")
            remove = st.button(
                "Remove",
                key="scenario_remove_saved",
                disabled=not mine,
                help=None if mine else "Only its own agency may remove a scenario.",
            )
            if remove:
                try:
                    scenario_io.remove_scenario(
                        state.store(), picked.name, viewer=shell.viewer(), agency=picked.agency
                    )
                except AssetmapError as exc:
                    st.error(f"The scenario was not removed: {md(exc)}")
                else:
                    shell.audit_event("remove scenario", picked.name)
                    state.clear()
                    st.rerun()


#: The saved scenarios whose headline figures the page lists (the most recent).
LISTED_SAVED = 10


def _saved_overview(saved: list[Scenario]) -> None:
    """List the saved scenarios with their headline figures for the place."""
    if not saved:
        return
    rows = []
    for scenario in saved[-LISTED_SAVED:]:
        try:
            result = evaluated(scenario)
        except AssetmapError:
            continue
        after, change = result.totals["after"], result.totals["change"]
        rows.append(
            {
                "Scenario": scenario.name,
                "Agency": scenario.agency or "no agency",
                "Author": scenario.author,
                "Moves made": result.made,
                "Refused": result.refused,
                "Yearly saving": _money(float(after["yearly saving (£/yr)"])),
                "Surplus change (sq ft)": _figure("", float(change["surplus (sq ft)"])),
                "Capital receipt": _money(float(after["capital receipt (£)"])),
            }
        )
    st.caption(f"Saved scenarios, as they would change {md(shell.selection().place_name)}:")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _compare_section(scenario: Scenario, saved: list[Scenario]) -> None:
    st.subheader("Compare two scenarios")
    options = {WORKING_CHOICE: f"{scenario.name} (being built)"}
    options.update({str(i): s.name for i, s in enumerate(saved)})
    if len(options) < 2:
        st.caption("Save a scenario to compare it with another.")
        return
    keys = list(options)
    c1, c2 = st.columns(2)
    with c1:
        a = shell.pick("First", options, key=COMPARE_A_KEY)
    with c2:
        b = shell.pick("Second", options, key=COMPARE_B_KEY, index=min(1, len(keys) - 1))

    def chosen(k: str) -> Scenario:
        return scenario if k == WORKING_CHOICE else saved[int(k)]

    try:
        table = compare(evaluated(chosen(a)), evaluated(chosen(b)))
    except AssetmapError as exc:
        st.error(f"The scenarios could not be compared: {md(exc)}")
        return
    shown = pd.DataFrame({"Measure": [m[:1].upper() + m[1:] for m in table.index]})
    for column in table.columns:
        shown[str(column)] = [
            _figure(m, v) for m, v in zip(table.index, table[column], strict=True)
        ]
    st.dataframe(shown, hide_index=True, width="stretch")
    money = table.loc[[m for m in table.index if "saving" in m or "receipt" in m]]
    long = (
        money.drop(columns=["difference"])
        .reset_index(names="measure")
        .melt(id_vars="measure", var_name="scenario", value_name="pounds")
    )
    st.bar_chart(
        long,
        x="measure",
        y="pounds",
        color="scenario",
        stack=False,
        horizontal=True,
        height=140 + 70 * len(money),
    )


# --------------------------------------------------------------------------- the page


def render() -> None:
    """Draw the Scenarios page."""
    chosen = shell.selection()
    st.title("Scenarios")
    st.caption(
        f"What closing, disposing of and moving sites would do to {md(chosen.place_name)}: "
        "the totals before and after, each move made or refused with the reason, and "
        "residents' access. Build a scenario here or from the map (click a site, then "
        '"Close and move its space…").'
    )
    try:
        sites = place_sites(chosen)
        everything = shell.visible_estate()
    except AssetmapError as exc:
        st.error(f"The estate could not be loaded: {md(exc)}")
        return
    saved = saved_list(everything)
    _builder(sites)  # (a move it adds is in the scenario read below)
    scenario = working()
    note = st.session_state.get(NOTE_KEY)
    if note:
        st.info(md(note))
    n = len(scenario.moves)
    st.subheader(f"{md(scenario.name)}: {n} {'move' if n == 1 else 'moves'}")
    st.number_input(
        "One-off moving cost (£ per sq ft of occupied space moved)",
        min_value=0.0,
        value=float(DEFAULT_MOVING_COST_PER_SQFT),
        step=1.0,
        key=MOVING_COST_KEY,
        help=MOVING_COST_SOURCE,
    )
    if scenario.moves:
        try:
            result = evaluated(scenario)
        except AssetmapError as exc:
            st.error(f"The scenario could not be worked out: {md(exc)}")
            return
        if result.refused:
            st.warning(
                f"{result.refused:,} of {len(result.moves):,} moves were refused: see why below."
            )
        st.dataframe(
            totals_table(result),
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.TextColumn(width="medium")
                for c in ("Measure", "Before", "After", "Change")
            }
            | {"What it rests on": st.column_config.TextColumn(width="medium")},
        )
        _money_chart(result)
        _moves_table(result)
        _moves_editor(scenario)
        shell.download_csv(
            "Download the totals (CSV)",
            result.table().reset_index(names="measure"),
            file_name="scenario_totals.csv",
            key="scenario_download_totals",
        )
        _moves_map(result)
        _access_section(scenario)
    else:
        st.caption("No moves yet: add one above, or from the map.")
    st.caption(access.FIGURES_NOTE)
    _save_section(scenario, sites, saved)
    _compare_section(scenario, saved)
