"""The Co-location page: groups of different agencies' buildings within walking distance.

Clusters of the chosen place are ranked (most agencies, then most floor area),
with the agencies, the hub that could take the others, the floor area released
and the yearly saving; a chart shows where the savings are. Choosing a cluster
zooms the map to it and lists its members.
"""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st

from assetmap.app import shell, state
from assetmap.app.map_page import show_map
from assetmap.colocation import DEFAULT_DISTANCE_M, ColocationResult
from assetmap.errors import AssetmapError
from assetmap.maps import interactive
from assetmap.maps.safe_html import markdown_text as md
from assetmap.savings import COST_SOURCE

__all__ = ["CLUSTER_COLUMNS", "render"]

DISTANCE_KEY = "colocation_distance"
APPROXIMATE_KEY = "colocation_include_approximate"
CLUSTER_KEY = "colocation_cluster"

#: The cluster columns shown to people, and their headings.
CLUSTER_COLUMNS = {
    "cluster_id": "Cluster",
    "n_sites": "Sites",
    "n_agencies": "Agencies",
    "agencies": "Agency names",
    "hub_name": "Hub (could take the others)",
    "net_floor_area_released_sqft": "Floor area released (sq ft)",
    "saving_gbp": "Saving (£ a year)",
    "saving_estimated": "Saving estimated",
}


def _spare_space_caption(members: pd.DataFrame) -> None:
    """Say the spare space the cluster's sites offer now (the exchange moves it)."""
    if "surplus_sqft" not in members.columns:
        return
    spare = members["surplus_sqft"].fillna(0.0)
    offering = members[spare > 0]
    each = "; ".join(
        f"{md(name)}: {sqft:,.0f} sq ft"
        for name, sqft in zip(offering["name"], offering["surplus_sqft"], strict=True)
    )
    st.caption(
        f"Spare space offered in this cluster: {spare.sum():,.0f} sq ft"
        + (f" ({each})." if each else ".")
        + " A match completed on the Exchange page moves it."
    )


def _cluster_map(result: ColocationResult, cluster_id: int) -> None:
    hull = result.clusters[result.clusters["cluster_id"] == cluster_id]
    members = result.members[result.members["cluster_id"] == cluster_id]
    group = folium.FeatureGroup(name="Cluster", control=False)
    interactive.clusters_layer(hull).add_to(group)
    interactive.sites_layer(members, popups=True).add_to(group)
    try:
        bounds = state.basemap(shell.viewer().agency)
    except AssetmapError:
        bounds = None
    base = interactive.base_map(bounds, extent=hull)
    show_map(base, group, key="colocation_map", height=460, fit=hull)
    shown = members.drop(columns=members.geometry.name)
    _spare_space_caption(shown)
    st.dataframe(
        shown[
            [
                c
                for c in (
                    "name",
                    "agency",
                    "sector",
                    "tenure",
                    "floor_area_sqft",
                    "surplus_sqft",
                    "is_hub",
                    "distance_to_hub_m",
                )
                if c in shown.columns
            ]
        ],
        hide_index=True,
        width="stretch",
    )


def render() -> None:
    """Draw the Co-location page."""
    chosen = shell.selection()
    st.title("Co-location")
    st.caption(
        f"Sites of different agencies within walking distance of each other in "
        f"{md(chosen.place_name)}: candidates for sharing one building."
    )
    try:
        sites = shell.selected_sites(chosen)
    except AssetmapError as exc:
        st.error(f"The estate could not be loaded: {md(exc)}")
        return
    distance = st.slider(
        "Walking distance (metres, straight line)",
        100,
        2_000,
        int(DEFAULT_DISTANCE_M),
        step=50,
        key=DISTANCE_KEY,
    )
    approximate = st.checkbox(
        state.APPROXIMATE_BOX, value=False, key=APPROXIMATE_KEY, help=state.APPROXIMATE_HELP
    )
    try:
        result = state.colocation(
            shell.cache_key(chosen),
            float(distance),
            sites,
            shell.viewer().agency,
            include_approximate=approximate,
        )
    except AssetmapError as exc:
        st.error(f"Co-location could not be worked out: {md(exc)}")
        return
    st.markdown(f"**{md(result.message)}**")
    if result.empty:
        return
    clusters = result.clusters
    cols = st.columns(3)
    cols[0].metric("Clusters", f"{len(clusters):,}")
    cols[1].metric(
        "Floor area released", f"{clusters['net_floor_area_released_sqft'].sum():,.0f} sq ft"
    )
    cols[2].metric("Saving a year", f"£{clusters['saving_gbp'].sum():,.0f}")
    st.caption(
        f"Savings use each site's reported running cost, or where a register gives none, "
        f"its floor area at the default cost of space ({COST_SOURCE})."
    )

    table = pd.DataFrame(clusters.drop(columns=clusters.geometry.name))
    chart = table.nlargest(15, "saving_gbp")
    chart = pd.DataFrame(
        {
            "cluster": [
                f"Cluster {c}: {a}"
                for c, a in zip(chart["cluster_id"], chart["agencies"], strict=True)
            ],
            "Saving (£ a year)": chart["saving_gbp"].round(),
        }
    )
    if (chart["Saving (£ a year)"] > 0).any():
        st.markdown("**The largest yearly savings**")
        shell.ranked_bars(chart, label="cluster", value="Saving (£ a year)")
    else:  # a chart of zeros has no scale to read
        st.caption("No cluster saves anything a year: no hub has room for the others.")
    st.dataframe(
        table[list(CLUSTER_COLUMNS)].rename(columns=CLUSTER_COLUMNS),
        hide_index=True,
        width="stretch",
        column_config={
            "Floor area released (sq ft)": st.column_config.NumberColumn(format="%,.0f"),
            "Saving (£ a year)": st.column_config.NumberColumn(format="£%,.0f"),
        },
    )
    shell.download_csv(
        "Download the clusters (CSV)",
        table,
        file_name="colocation_clusters.csv",
        key="download_clusters",
    )
    labels = {
        int(cluster): f"Cluster {cluster}: {n_sites} sites of {n_agencies} "
        f"agencies, saving £{saving:,.0f} a year"
        for cluster, n_sites, n_agencies, saving in zip(
            table["cluster_id"],
            table["n_sites"],
            table["n_agencies"],
            table["saving_gbp"],
            strict=True,
        )
    }
    _cluster_map(result, shell.pick("Zoom to a cluster", labels, key=CLUSTER_KEY))
