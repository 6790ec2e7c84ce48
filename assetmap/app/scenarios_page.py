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

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from assetmap import access, residents_access, scenario_io
from assetmap.app import shell, state
from assetmap.app.map_page import show_map
from assetmap.app.scenario_panel import (
    FROM_KEY,
    MOVING_COST_KEY,
    NAME_KEY,
    NOTE_KEY,
    PENDING_NAME_KEY,
    UNTITLED,
    WORKING_KEY,
    add_move,
    evaluated,
    exchange_tables,
    figure,
    money,
    moves_table,
    place_sites,
    record_actions,
    saved_list,
    scenario_key,
    set_working,
    totals_table,
    whole_place,
    working,
)
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
    from_cluster,
    from_plan,
)

__all__ = [
    "ACCESS_KEY",
    "CATEGORY_KEY",
    "COMPARE_A_KEY",
    "COMPARE_B_KEY",
    "FROM_KEY",
    "LISTED_SITES",
    "NAME_KEY",
    "SEARCH_KEY",
    "WORKING_KEY",
    "record_actions",
    "render",
    "saved_list",
    "scenario_key",
    "set_working",
    "working",
]

ACCESS_KEY = "scenario_access"
CATEGORY_KEY = "scenario_access_category"
COMPARE_A_KEY = "scenario_compare_a"
COMPARE_B_KEY = "scenario_compare_b"
#: The choice of the compare boxes that is the scenario being built (not a saved one).
WORKING_CHOICE = "\x00working"


# --------------------------------------------------------------------------- figures


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
    key = shell.cache_key(whole_place(chosen))  # (the filtered pages' results are not these)
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


def _save_section(scenario: Scenario, sites: gpd.GeoDataFrame, saved: list[Scenario]) -> None:
    st.subheader("Save, open and remove")
    c1, c2 = st.columns([3, 1])
    with c1:
        pending = st.session_state.pop(PENDING_NAME_KEY, None)
        if pending is not None or NAME_KEY not in st.session_state:
            st.session_state[NAME_KEY] = pending if pending is not None else scenario.name
        name = st.text_input("Name", key=NAME_KEY)
    with c2:
        st.write("")
        if st.button("Save the scenario", key="scenario_save", disabled=not scenario.moves):
            try:
                renamed = dataclasses.replace(scenario, name=name.strip() or scenario.name)
                offers, offer_sites = exchange_tables()
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
        by_key = {scenario_key(s): s for s in saved}
        names = {
            k: f"{s.name} ({s.agency or 'no agency'}, {s.author or 'unknown'})"
            for k, s in by_key.items()
        }
        o1, o2, o3 = st.columns([3, 1, 1])
        with o1:
            k = shell.pick("Saved scenarios", names, key="scenario_open_pick")
        picked = by_key[k]
        with o2:
            st.write("")
            if st.button("Open", key="scenario_open"):
                set_working(picked, f"Opened {picked.name!r}.")
                st.rerun()
        viewer = shell.viewer()
        # its own agency's; a signed-in viewer of no agency may save and remove nothing
        mine = access.agency_key(picked.agency) == viewer.key and (
            bool(viewer.key) or not viewer.signed_in
        )
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
                "Yearly saving": money(float(after["yearly saving (£/yr)"])),
                "Surplus change (sq ft)": figure("", float(change["surplus (sq ft)"])),
                "Capital receipt": money(float(after["capital receipt (£)"])),
            }
        )
    st.caption(f"Saved scenarios, as they would change {md(shell.selection().place_name)}:")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _compare_section(scenario: Scenario, saved: list[Scenario]) -> None:
    st.subheader("Compare two scenarios")
    options = {WORKING_CHOICE: f"{scenario.name} (being built)"}
    by_key = {scenario_key(s): s for s in saved}
    options.update({k: s.name for k, s in by_key.items()})
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
        return scenario if k == WORKING_CHOICE else by_key[k]

    try:
        table = compare(evaluated(chosen(a)), evaluated(chosen(b)))
    except AssetmapError as exc:
        st.error(f"The scenarios could not be compared: {md(exc)}")
        return
    shown = pd.DataFrame({"Measure": [m[:1].upper() + m[1:] for m in table.index]})
    for column in table.columns:
        shown[str(column)] = [figure(m, v) for m, v in zip(table.index, table[column], strict=True)]
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
        moves_table(result)
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
