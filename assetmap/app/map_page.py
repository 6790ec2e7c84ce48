"""The Map page: every site of the estate on one map, coloured by sector.

Filters (sector, agency) sit in the sidebar; the count of sites after the
filters is shown above the map; clicking a site shows its record and where it
came from beside the map.

The map is drawn with streamlit-folium. Its base (boundaries, legend, optional
tiles) depends only on the whole estate, so it stays the same component across
reruns and keeps its position and zoom; the sites go in as
``feature_group_to_add``, which the component swaps in place when the filters
change. All JavaScript and CSS come from installed packages as ``data:`` URLs
(see :mod:`assetmap.maps.interactive`), so the map draws with no internet.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from assetmap.app import state
from assetmap.errors import AssetmapError
from assetmap.maps import interactive, safe_html
from assetmap.maps.style import MAP_CSS, SECTOR_STYLES, sector_key, sector_label

__all__ = ["clicked_site_id", "filter_sites", "render"]

MAP_KEY = "estate_map"
MAP_HEIGHT = 640
SELECTED_KEY = "map_selected_site"
LAST_CLICK_KEY = "map_last_click"
SECTOR_FILTER_KEY = "map_sector_filter"
AGENCY_FILTER_KEY = "map_agency_filter"
RETURNED = ["last_active_drawing", "last_object_clicked", "last_object_clicked_count"]


def filter_sites(
    sites: gpd.GeoDataFrame, sectors: list[str] | None, agencies: list[str] | None
) -> gpd.GeoDataFrame:
    """Return the sites in any of ``sectors`` and, when given, any of ``agencies``.

    ``None`` means no filter; an empty list of sectors keeps no site, an empty list of
    agencies keeps every agency.
    """
    keep = pd.Series(True, index=sites.index)
    if sectors is not None:
        keep &= sector_key(sites["sector"]).isin(sectors)
    if agencies:
        keep &= sites["agency"].isin(agencies)
    return sites[keep.to_numpy()]


def clicked_site_id(result: dict[str, Any] | None) -> str | None:
    """Return the ``site_id`` of the site clicked on the map, from st_folium's result.

    st_folium reports the clicked layer as ``last_active_drawing`` (the feature with
    its properties); a click on a cluster or the background carries no site id.
    """
    drawing = (result or {}).get("last_active_drawing") or {}
    props = drawing.get("properties") if isinstance(drawing, dict) else None
    if not isinstance(props, dict):
        return None
    site_id = props.get("id")
    return None if site_id is None or site_id == "" else str(site_id)


def _sidebar_filters(sites: gpd.GeoDataFrame) -> tuple[list[str], list[str]]:
    sectors_all = sector_key(sites["sector"])
    counts = sectors_all.value_counts()
    present = [s for s in SECTOR_STYLES if counts.get(s, 0)]
    agencies = sorted(a for a in sites["agency"].dropna().astype(str).unique() if a)
    with st.sidebar:
        st.header("Filters")
        chosen_sectors = st.multiselect(
            "Sector",
            options=present,
            default=present,
            format_func=lambda s: f"{sector_label(s)} ({int(counts.get(s, 0)):,})",
            key=SECTOR_FILTER_KEY,
        )
        chosen_agencies = st.multiselect(
            "Agency",
            options=agencies,
            default=[],
            placeholder="All agencies",
            key=AGENCY_FILTER_KEY,
        )
    return chosen_sectors, chosen_agencies


def _show_record(sites: gpd.GeoDataFrame, site_id: str | None) -> None:
    st.subheader("Site record")
    if site_id is None:
        st.caption("Click a site on the map to see its record and where it came from.")
        return
    hits = sites[sites["site_id"] == site_id]
    if hits.empty:
        st.caption("The selected site is no longer in the estate.")
        return
    row = hits.iloc[0]
    record = interactive.site_record(row.to_dict(), provenance=True)
    body = safe_html.record_html(record, title=row.get("name"), css_class="assetmap-record")
    st.html(f"<style>{MAP_CSS}</style>{body}")
    if st.button("Clear selection", key="map_clear_selection"):
        st.session_state[SELECTED_KEY] = None
        st.rerun()


def _remember_click(result: dict[str, Any] | None) -> None:
    """Select the clicked site, once per click (a rerun returns the same last click)."""
    if not result:
        return
    click = (
        clicked_site_id(result),
        str(result.get("last_object_clicked")),
        result.get("last_object_clicked_count"),
    )
    if click != st.session_state.get(LAST_CLICK_KEY):
        st.session_state[LAST_CLICK_KEY] = click
        if click[0] is not None:
            st.session_state[SELECTED_KEY] = click[0]


def render() -> None:
    """Draw the Map page."""
    st.title("Estate map")
    try:
        sites = state.estate_sites()
    except AssetmapError as exc:
        st.error(f"The estate could not be loaded: {exc}")
        return
    if sites.empty:
        st.info("The estate has no sites yet: import a register to see it on the map.")
        return

    chosen_sectors, chosen_agencies = _sidebar_filters(sites)
    shown = filter_sites(sites, chosen_sectors, chosen_agencies)

    try:
        bounds = state.boundaries("district")
    except AssetmapError as exc:
        bounds = None
        st.caption(f"Boundaries are not drawn: {exc}")
    try:
        tiles = state.tiles()
    except AssetmapError as exc:
        tiles = None
        st.warning(f"Background tiles are off: {exc}")

    metric_col, note_col = st.columns([1, 3])
    metric_col.metric("Sites shown", f"{len(shown):,}")
    note_col.caption(f"of {len(sites):,} sites in the estate, after the sector and agency filters.")

    base = interactive.base_map(bounds, tiles=tiles, extent=sites)
    layer = interactive.sites_layer(shown, popups=False)
    if layer.capped:
        st.warning(layer.message)
    elif layer.message:
        st.caption(layer.message)
    group = folium.FeatureGroup(name="Sites", control=False)
    layer.add_to(group)

    map_col, record_col = st.columns([3, 2], gap="medium")
    with map_col:
        result = st_folium(
            base,
            key=MAP_KEY,
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=RETURNED,
            feature_group_to_add=group,
        )
    _remember_click(result)
    with record_col:
        _show_record(sites, st.session_state.get(SELECTED_KEY))
