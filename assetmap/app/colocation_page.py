"""The Co-location page: groups of different agencies' buildings within walking distance.

Clusters of the chosen place are ranked (most agencies, then most floor area),
with the agencies, the hub that could take the others, the floor area released
and the yearly saving; a chart shows where the savings are. Choosing a cluster
zooms the map to it and lists its members.
"""

from __future__ import annotations

import folium
import numpy as np
import pandas as pd
import streamlit as st

from assetmap.app import shell, state
from assetmap.app.map_page import show_map
from assetmap.colocation import DEFAULT_DISTANCE_M, ColocationResult
from assetmap.errors import AssetmapError
from assetmap.files import csv_bytes
from assetmap.maps import interactive
from assetmap.maps.safe_html import markdown_text as md
from assetmap.savings import COST_SOURCE

__all__ = ["CLUSTERS_PER_PAGE", "CLUSTER_COLUMNS", "MEMBERS_SHOWN", "render"]

DISTANCE_KEY = "colocation_distance"
APPROXIMATE_KEY = "colocation_include_approximate"
CLUSTER_KEY = "colocation_cluster"
PAGE_KEY = "colocation_page"

#: Clusters in one page of the table (a national estate has tens of thousands).
CLUSTERS_PER_PAGE = 250
#: A cluster's sites drawn on its map and listed in its table (the hub and those nearest
#: it); the download holds every one.
MEMBERS_SHOWN = 2_000

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


def _members_in_order(members: pd.DataFrame) -> pd.DataFrame:
    """Return a cluster's members, the hub first, then the nearest to it first."""
    hub = members["is_hub"].to_numpy(dtype=bool)
    return members.iloc[np.lexsort((members["distance_to_hub_m"].to_numpy(), ~hub))]


def _cluster_map(result: ColocationResult, cluster_id: int, key: tuple) -> None:
    hull = result.clusters[result.clusters["cluster_id"] == cluster_id]
    members = _members_in_order(result.members[result.members["cluster_id"] == cluster_id])
    # A city's cluster at a long walking distance holds 100,000 sites and more: the map and
    # the table show the hub and the sites nearest it, and the download holds every one.
    shown_members = members.iloc[:MEMBERS_SHOWN]
    group = folium.FeatureGroup(name="Cluster", control=False)
    interactive.clusters_layer(hull).add_to(group)
    interactive.sites_layer(shown_members, popups=True).add_to(group)
    try:
        bounds = state.basemap(shell.viewer().agency)
    except AssetmapError:
        bounds = None
    base = interactive.base_map(bounds, extent=hull)
    show_map(base, group, key="colocation_map", height=460, fit=hull)
    everyone = members.drop(columns=members.geometry.name)
    shown = shown_members.drop(columns=shown_members.geometry.name)
    _spare_space_caption(everyone)
    if len(members) > MEMBERS_SHOWN:
        st.caption(
            f"The map and the table show the hub and the {MEMBERS_SHOWN:,} sites nearest it, "
            f"of the cluster's {len(members):,}; the download below holds every one."
        )
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
    shell.download(
        f"Download the cluster's {len(members):,} sites (CSV)",
        lambda: csv_bytes(everyone),  # made when asked for: a city's cluster took seconds
        file_name=f"colocation_cluster_{cluster_id}.csv",
        mime="text/csv",
        key="download_cluster_members",
        rows=len(everyone),
    )


def _page_of(table: pd.DataFrame) -> pd.DataFrame:
    """Draw the page picker of a long cluster table and return the clusters of that page."""
    pages = max(1, -(-len(table) // CLUSTERS_PER_PAGE))
    if pages == 1:
        return table
    page = int(
        st.number_input(
            f"Page of the ranked clusters (1 to {pages:,})",
            min_value=1,
            max_value=pages,
            value=1,
            step=1,
            key=PAGE_KEY,
        )
    )
    first = (page - 1) * CLUSTERS_PER_PAGE
    rows = table.iloc[first : first + CLUSTERS_PER_PAGE]
    st.caption(
        f"Clusters ranked {first + 1:,} to {first + len(rows):,} of {len(table):,} "
        f"(most agencies first, then the most floor area). Choose another page above, "
        "or download them all below."
    )
    return rows


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
    key = shell.cache_key(chosen)
    with st.status("Finding co-location clusters…", expanded=False) as progress:
        try:
            result = state.colocation(
                key,
                float(distance),
                sites,
                shell.viewer().agency,
                include_approximate=approximate,
            )
        except AssetmapError as exc:
            progress.update(label="Co-location could not be worked out", state="error")
            st.error(f"Co-location could not be worked out: {md(exc)}")
            return
        progress.update(
            label=f"Co-location clusters found: {len(result.clusters):,}", state="complete"
        )
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
    rows = _page_of(table)
    st.dataframe(
        rows[list(CLUSTER_COLUMNS)].rename(columns=CLUSTER_COLUMNS),
        hide_index=True,
        width="stretch",
        column_config={
            "Floor area released (sq ft)": st.column_config.NumberColumn(format="%,.0f"),
            "Saving (£ a year)": st.column_config.NumberColumn(format="£%,.0f"),
        },
    )
    option_key = (*key, float(distance), approximate)
    shell.download(
        f"Download the {len(table):,} clusters (CSV)",
        lambda: csv_bytes(table),
        file_name="colocation_clusters.csv",
        mime="text/csv",
        key="download_clusters",
        rows=len(table),
    )
    labels = {
        int(cluster): f"Cluster {cluster}: {n_sites} sites of {n_agencies} "
        f"agencies, saving £{saving:,.0f} a year"
        for cluster, n_sites, n_agencies, saving in zip(
            rows["cluster_id"],
            rows["n_sites"],
            rows["n_agencies"],
            rows["saving_gbp"],
            strict=True,
        )
    }
    if st.session_state.get(CLUSTER_KEY) not in labels:  # a cluster of another page
        st.session_state.pop(CLUSTER_KEY, None)
    _cluster_map(result, shell.pick("Zoom to a cluster", labels, key=CLUSTER_KEY), option_key)
