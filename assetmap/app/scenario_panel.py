"""The scenario being built, shared by the pages: the Map page's panel and the Scenarios page.

A scenario (:mod:`assetmap.scenarios`) is built move by move in the session
(:func:`working`, :func:`add_move`): on the Scenarios page, from the Map page's site
record (:func:`record_actions`: "Close and move…", "Move it into this site", "Dispose
of it", with the scenario's totals under them), or in one click from a co-location
cluster or the optimal plan. :func:`evaluated` works out what it would do to the
chosen place, from the sites the viewer may see, cached per store state, place,
viewer, moves and day; :func:`saved_list` gives the saved scenarios the viewer may see.

This module imports no page, so that every page may use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from assetmap import access, residents_access, scenario_io
from assetmap.app import shell, state
from assetmap.app.navigation import page_path
from assetmap.errors import AssetmapError
from assetmap.maps.safe_html import markdown_text as md
from assetmap.savings import DEFAULT_MOVING_COST_PER_SQFT
from assetmap.scenarios import Close, Dispose, Scenario, ScenarioResult, TakeOffer, evaluate

__all__ = [
    "FROM_KEY",
    "MOVING_COST_KEY",
    "NAME_KEY",
    "NOTE_KEY",
    "UNTITLED",
    "WORKING_KEY",
    "add_move",
    "evaluated",
    "exchange_tables",
    "figure",
    "money",
    "moves_table",
    "place_sites",
    "record_actions",
    "saved_list",
    "scenario_key",
    "set_working",
    "totals_table",
    "whole_place",
    "working",
]

WORKING_KEY = "scenario_working"
FROM_KEY = "scenario_move_from"
NAME_KEY = "scenario_name"
NOTE_KEY = "scenario_note"
MOVING_COST_KEY = "scenario_moving_cost"
PENDING_NAME_KEY = "scenario_name_pending"
#: The working scenario's name before the officer gives one.
UNTITLED = "Untitled scenario"
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
    st.session_state[PENDING_NAME_KEY] = scenario.name
    st.session_state[NOTE_KEY] = note


def add_move(move: Close | Dispose | TakeOffer, note: str = "") -> None:
    """Add ``move`` at the end of the scenario being built."""
    set_working(working().with_move(move), note)


def whole_place(chosen: shell.Selection | None = None) -> shell.Selection:
    """Return the chosen place without the sidebar's filters: a scenario is of the whole place.

    Its cache key (:func:`shell.cache_key`) is not that of the filtered selection, so
    what is cached for the whole place is never taken for the filtered one's, nor the
    other way round.
    """
    chosen = chosen or shell.selection()
    return dataclasses.replace(
        chosen, sectors=None, agencies=(), uses=(), tenures=(), min_surplus=0.0
    )


def place_sites(chosen: shell.Selection | None = None) -> gpd.GeoDataFrame:
    """Return the chosen place's sites the viewer may see, without the sidebar's filters."""
    return shell.selected_sites(whole_place(chosen))


def scenario_key(scenario: Scenario) -> str:
    """Return what picks a saved scenario in a box: its agency and name (unique together).

    Not its place in the list: another officer's save or removal between two runs moves
    the others along, and a position would then pick another scenario.
    """
    return f"{access.agency_key(scenario.agency)}\x1f{scenario.name}"


def exchange_tables() -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Return the store's offers and which sites they are on (the engine filters them)."""
    try:
        store = state.store()
        return store.exchange("offers"), store.exchange("offer_sites")
    except AssetmapError:
        return None, None


@st.cache_resource(show_spinner=False, max_entries=64)
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
    offers, offer_sites = exchange_tables()
    key = shell.cache_key(whole_place(chosen))
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
    moves_table(result, compact=True)
    after = result.totals["after"].to_dict()
    change = result.totals["change"].to_dict()
    saving = float(after["yearly saving (£/yr)"])
    # one to a row: the panel is narrow; the change with an ASCII minus, which Streamlit
    # reads as a fall (green, with delta_color="inverse")
    st.metric(
        "Running cost a year",
        money(float(after["running cost (£/yr)"])),
        money(float(change["running cost (£/yr)"])).replace("−", "-"),
        delta_color="inverse",
    )
    st.metric("Yearly saving", money(saving))
    st.page_link(page_path("scenarios"), label="Open the scenario on the Scenarios page")


# --------------------------------------------------------------------------- figures


def money(value: float) -> str:
    """Return pounds as a page writes them: ``£1,234``, ``−£60,800``, ``–`` when unknown."""
    if value is None or not np.isfinite(value):
        return "–"
    sign = "−" if value < 0 else ""
    return f"{sign}£{abs(value):,.0f}"


def figure(measure: str, value: float) -> str:
    """Return a measure's figure as a page writes it (pounds for money, else a number)."""
    if value is None or not np.isfinite(value):
        return "–"
    if any(word in measure for word in _MONEY):
        return money(value)
    sign = "−" if value < 0 else ""
    return f"{sign}{abs(value):,.0f}"


def totals_table(result: ScenarioResult) -> pd.DataFrame:
    """Return the totals as people read them: each figure written out, with its note."""
    table = result.table()
    out = pd.DataFrame(
        {
            "Measure": [m[:1].upper() + m[1:] for m in table.index],
            "Before": [figure(m, v) for m, v in zip(table.index, table["before"], strict=True)],
            "After": [figure(m, v) for m, v in zip(table.index, table["after"], strict=True)],
            "Change": [figure(m, v) for m, v in zip(table.index, table["change"], strict=True)],
            "What it rests on": table["note"].to_numpy(),
        }
    )
    return out


def moves_table(result: ScenarioResult, *, compact: bool = False) -> None:
    """Draw the scenario's moves: made or refused, and why (``compact``: the Map's panel)."""
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
        table["Sq ft moved"] = [figure("", v) for v in moves["sqft_moved"]]
        table["Saving a year"] = [money(v) for v in moves["yearly_saving_gbp"]]
        table["When"] = moves["move_date"].to_numpy()
        table["Note"] = moves["note"].to_numpy()
    st.dataframe(table, hide_index=True, width="stretch")


# --------------------------------------------------------------------------- saved ones


@st.cache_resource(show_spinner=False, max_entries=8)
def _saved_for(
    signature: object, viewer_key: tuple[str, bool], _sites_all: gpd.GeoDataFrame
) -> list[Scenario]:
    # cached per store state and viewer: the scenarios' sites are looked up among the
    # viewer's whole estate (a million ids take a third of a second to gather)
    return scenario_io.saved_scenarios(state.store(), viewer=shell.viewer(), sites=_sites_all)


def saved_list(sites_all: gpd.GeoDataFrame | None = None) -> list[Scenario]:
    """Return the saved scenarios the viewer may see (an error is shown, and none given).

    ``sites_all`` is the viewer's whole visible estate (read here when not given).
    """
    try:
        everything = shell.visible_estate() if sites_all is None else sites_all
        viewer = shell.viewer()  # (the local user and a signed-in one of no agency differ)
        return list(_saved_for(state.store_signature(), (viewer.key, viewer.signed_in), everything))
    except AssetmapError as exc:
        st.error(f"The saved scenarios could not be read: {md(exc)}")
        return []
