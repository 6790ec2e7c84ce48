"""The Space page: "where could my 40,000 sq ft go?", and the optimal plan for the place.

An officer enters a request for space (size, use, postcode or grid reference,
how far is acceptable, when it is needed) and sees every offer of surplus space
that could take it, ranked, with the reasons, in a table and on a map. Below,
the optimal plan assigns every request of the place (those imported as a
requests register) to the offered space, and can be downloaded.
"""

from __future__ import annotations

from datetime import date, timedelta

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap.app import exchange_page, scenario_panel, shell, state
from assetmap.app.map_page import show_map
from assetmap.app.navigation import page_path
from assetmap.errors import AssetmapError
from assetmap.maps import interactive
from assetmap.maps.safe_html import markdown_text as md
from assetmap.matching import DEFAULT_MAX_DISTANCE_M, MatchResult, find_candidates
from assetmap.schema import CRS_BNG, SECTORS, USE_CLASSES, empty_requests

__all__ = ["CANDIDATE_COLUMNS", "default_postcode", "new_request", "render"]

SQFT_KEY = "space_sqft"
USE_KEY = "space_use"
POSTCODE_KEY = "space_postcode"
EASTING_KEY = "space_easting"
NORTHING_KEY = "space_northing"
DISTANCE_KEY = "space_max_km"
NEEDED_KEY = "space_needed_by"
AGENCY_KEY = "space_agency"
SECTOR_KEY = "space_sector"
REQUEST_KEY = "space_asked"
SPLIT_KEY = "space_allow_split"
PLAN_KEY = "space_run_plan"
APPROXIMATE_KEY = "space_include_approximate"

#: The candidate columns shown to people, and their headings.
CANDIDATE_COLUMNS = {
    "rank": "Rank",
    "offer_name": "Offer",
    "offer_agency": "Agency",
    "offer_use_class": "Use",
    "offer_sqft": "Surplus (sq ft)",
    "distance_m": "Distance (m)",
    "score": "Score",
    "reasons": "Why",
}


def new_request(
    *,
    sqft: float,
    use: str,
    point: tuple[float, float],
    max_distance_m: float,
    needed_by: date | None,
    agency: str,
    sector: str,
    postcode: str = "",
) -> gpd.GeoDataFrame:
    """One space request with the canonical columns (EPSG:27700), as typed on this page."""
    frame = pd.DataFrame(
        {
            "request_id": ["typed"],
            "source_ref": ["Your request"],
            "agency": [agency or "Your agency"],
            "sector": [sector or "other"],
            "space_needed_sqft": [float(sqft)],
            "use": [use],
            "use_class": [use],
            "postcode": [postcode],
            "locality": [""],
            "max_distance_m": [float(max_distance_m)],
            "needed_by": [needed_by.isoformat() if needed_by else ""],
            "sensitivity": ["open"],
            "location_source": ["postcode" if postcode else "easting/northing"],
            "source_file": ["typed on the Space page"],
            "source_sha256": [""],
            "source_row": [0],
            "imported_at": [""],
        }
    )
    frame = frame.astype({c: t for c, t in empty_requests().dtypes.items() if c in frame})
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy([point[0]], [point[1]]), crs=CRS_BNG)


def default_postcode() -> str:
    """Return the request form's first postcode: one of the place, never a fixed one.

    The postcode of the place's first space request (in the order of the
    register), else the commonest postcode of the sites in the store's home place
    (:func:`assetmap.app.sidebar.postcode_hint`).
    """
    try:
        requests = shell.place_requests()
    except AssetmapError:
        requests = empty_requests()
    codes = requests.sort_values(["source_file", "source_row"])["postcode"]
    codes = codes.astype("object").fillna("").astype(str).str.strip()
    codes = codes[codes != ""]
    return str(codes.iloc[0]).upper() if len(codes) else shell.postcode_hint()


def _request_form() -> gpd.GeoDataFrame | None:
    with st.form("space_request"):
        st.subheader("Ask for space")
        left, right = st.columns(2)
        sqft = left.number_input(
            "Space needed (sq ft)", min_value=1, value=40_000, step=1_000, key=SQFT_KEY
        )
        use = right.selectbox("Use", USE_CLASSES, key=USE_KEY)
        postcode = left.text_input(
            "Near postcode",
            value=default_postcode(),
            key=POSTCODE_KEY,
            placeholder="a postcode in the place",
            help="By default the postcode of the place's first space request, else a postcode "
            "of the estate's own place.",
        )
        km = right.number_input(
            "Maximum distance (km)",
            min_value=0.1,
            value=DEFAULT_MAX_DISTANCE_M / 1000,
            step=0.5,
            key=DISTANCE_KEY,
        )
        with st.expander("Or a grid reference instead of a postcode (British National Grid)"):
            east = st.number_input("Easting (m)", value=0, step=100, key=EASTING_KEY)
            north = st.number_input("Northing (m)", value=0, step=100, key=NORTHING_KEY)
        needed = left.date_input(
            "Needed by", value=date.today() + timedelta(days=365), key=NEEDED_KEY
        )
        own_agency, own_sector = exchange_page.agency_defaults(shell.viewer())
        agency = right.text_input("Your agency", value=own_agency, key=AGENCY_KEY)
        sector = left.selectbox(
            "Your sector",
            SECTORS,
            index=SECTORS.index(own_sector) if own_sector in SECTORS else 0,
            key=SECTOR_KEY,
        )
        asked = st.form_submit_button("Find space", type="primary")
    if asked:
        st.session_state[REQUEST_KEY] = True
    if not st.session_state.get(REQUEST_KEY):
        return None
    if east and north:
        point, where = (float(east), float(north)), ""
    else:
        try:
            found = state.postcode_point(postcode)
        except AssetmapError as exc:
            st.error(f"The postcode could not be looked up: {md(exc)}")
            return None
        if found is None:
            st.error(
                f"Postcode {md(repr(postcode))} is not in the ONS Postcode Directory; check it, "
                "or give"
                " an easting and northing."
            )
            return None
        point, where = found, postcode.strip().upper()
    return new_request(
        sqft=sqft,
        use=use,
        point=point,
        max_distance_m=km * 1000,
        needed_by=needed,
        agency=agency,
        sector=sector,
        postcode=where,
    )


def _offers_map(request: gpd.GeoDataFrame, match, key: str) -> None:
    group = folium.FeatureGroup(name="Offers", control=False)
    if not match.empty:
        interactive.lines_layer(match.lines()).add_to(group)
    offered = match.offers.loc[match.offers.index.isin(match.candidates["offer"])]
    interactive.offers_layer(offered).add_to(group)
    interactive.requests_layer(request, name="Request").add_to(group)
    frames = [request[["geometry"]], offered[["geometry"]]]
    extent = gpd.GeoDataFrame(pd.concat(frames), crs=CRS_BNG)
    try:
        bounds = state.basemap(shell.viewer().agency)
    except AssetmapError:
        bounds = None
    base = interactive.base_map(bounds, extent=extent, legend=True)
    group.add_to(base)
    show_map(base, None, key=key, height=460)


def _candidates_section(
    request: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, approximate: bool
) -> MatchResult | None:
    try:
        with st.spinner("Ranking the spare space of every site near the request…"):
            match = find_candidates(
                request,
                sites,
                viewer_agency=shell.viewer().agency,
                include_approximate=approximate,
            )
    except AssetmapError as exc:
        st.error(f"The request could not be matched: {md(exc)}")
        return None
    st.markdown(f"**{md(match.message)}**")
    table = match.candidates[list(CANDIDATE_COLUMNS)].rename(columns=CANDIDATE_COLUMNS)
    if table.empty:
        reason = match.requests["reason"].iloc[0] if len(match.requests) else ""
        st.warning(f"No offer fits this request. {md(reason)}")
    else:
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Surplus (sq ft)": st.column_config.NumberColumn(format="%,.0f"),
                "Distance (m)": st.column_config.NumberColumn(format="%,.0f"),
                "Score": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0),
            },
        )
    _offers_map(request, match, key="space_offers_map")
    return match


def _plan_section(sites: gpd.GeoDataFrame, *, approximate: bool) -> None:
    st.subheader("The optimal plan for the place")
    chosen = shell.selection()
    key = shell.cache_key(chosen)
    requests = shell.place_requests(chosen)
    if requests.empty:
        st.caption("No space requests in this place: import a requests register first.")
        return
    closed = int((requests["space_needed_sqft"].fillna(0) <= 0).sum())
    met = f" ({closed:,} closed: a completed match on the Exchange page met them)" if closed else ""
    st.caption(
        f"{len(requests) - closed:,} open space requests in {md(chosen.place_name)}{met}. "
        "The plan assigns each to at most one offer (or splits it, if allowed) so that the "
        "most space is placed, as near and as good a fit as possible."
    )
    split = st.toggle("Allow a request to be split between offers", key=SPLIT_KEY)
    if not st.button("Run the plan", key=PLAN_KEY) and not st.session_state.get("space_plan_ran"):
        return
    st.session_state["space_plan_ran"] = True
    _, plan = state.plan(
        key, split, requests, sites, shell.viewer().agency, include_approximate=approximate
    )
    st.markdown(f"**{md(plan.message)}**")
    table = plan.table()
    st.dataframe(table, hide_index=True, width="stretch")
    shell.download_csv(
        "Download the plan (CSV)", table, file_name="allocation_plan.csv", key="download_plan"
    )
    if not plan.empty and st.button("Make the plan a scenario", key="space_plan_to_scenario"):
        from assetmap.scenarios import from_plan

        try:
            made = from_plan(plan, name="The optimal plan")
        except AssetmapError as exc:
            st.error(f"The plan could not be made a scenario: {md(exc)}")
        else:
            scenario_panel.set_working(
                made, f"Made from the optimal plan: {len(made.moves)} moves."
            )
            st.success(f"The scenario is ready: {len(made.moves):,} moves.")
            st.page_link(page_path("scenarios"), label="Open it on the Scenarios page")
    if not plan.empty:
        group = folium.FeatureGroup(name="Plan", control=False)
        interactive.lines_layer(plan.lines()).add_to(group)
        interactive.requests_layer(requests, name="Requests").add_to(group)
        try:
            bounds = state.basemap(shell.viewer().agency)
        except AssetmapError:
            bounds = None
        base = interactive.base_map(bounds, extent=plan.lines(), legend=False)
        group.add_to(base)
        show_map(base, None, key="space_plan_map", height=460)


def render() -> None:
    """Draw the Space page."""
    st.title("Space")
    st.caption(
        "Match requests for space to the surplus space other agencies offer. Offers come "
        "from the sites of the chosen place that pass the filters."
    )
    try:
        sites = shell.selected_sites()
    except AssetmapError as exc:
        st.error(f"The estate could not be loaded: {md(exc)}")
        return
    approximate = st.checkbox(
        state.APPROXIMATE_BOX, value=False, key=APPROXIMATE_KEY, help=state.APPROXIMATE_HELP
    )
    request = _request_form()
    if request is not None:
        match = _candidates_section(request, sites, approximate=approximate)
        exchange_page.save_request_button(request)
        if match is not None:
            exchange_page.propose_candidates(request, match)
    try:
        _plan_section(sites, approximate=approximate)
    except AssetmapError as exc:
        st.error(f"The plan could not be made: {md(exc)}")
