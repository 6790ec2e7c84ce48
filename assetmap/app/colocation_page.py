"""The Co-location page: groups of different agencies' buildings within walking distance.

Clusters of the chosen place are ranked (most agencies, then most floor area),
with the agencies, the hub that could take the others, the floor area released
and the yearly saving; a chart shows where the savings are. Below them, each
cluster's lease-event window (when every member but the hub could leave,
:mod:`assetmap.lease_events`), ranked by saving, with a filter "opening in the
next 24 months". Choosing a cluster zooms the map to it, lists its members and
draws their lease events on one timeline, its window shaded.

The windows and timelines are worked out from the viewer's visible sites of the
place (the same frame the clusters come from), and only from the members' rows.
"""

from __future__ import annotations

from datetime import date

import altair as alt
import folium
import numpy as np
import pandas as pd
import streamlit as st

from assetmap.app import scenario_panel, shell, state
from assetmap.app.map_page import show_map
from assetmap.app.navigation import page_path
from assetmap.colocation import DEFAULT_DISTANCE_M, ColocationResult
from assetmap.errors import AssetmapError
from assetmap.files import csv_bytes
from assetmap.lease_events import (
    DEFAULT_OPENING_MONTHS,
    DEFAULT_YEARS,
    cluster_timeline,
    cluster_windows,
    opening_within,
)
from assetmap.maps import interactive
from assetmap.maps.safe_html import markdown_text as md
from assetmap.savings import COST_SOURCE
from assetmap.scenarios import from_cluster

__all__ = [
    "CLUSTERS_PER_PAGE",
    "CLUSTER_COLUMNS",
    "MEMBERS_SHOWN",
    "TIMELINE_MEMBERS",
    "WINDOW_COLUMNS",
    "render",
]

DISTANCE_KEY = "colocation_distance"
APPROXIMATE_KEY = "colocation_include_approximate"
CLUSTER_KEY = "colocation_cluster"
PAGE_KEY = "colocation_page"
OPENING_KEY = "colocation_opening_only"
MONTHS_KEY = "colocation_opening_months"
YEARS_KEY = "colocation_window_years"

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

#: The lease-event window columns shown to people, and their headings.
WINDOW_COLUMNS = {
    "cluster_id": "Cluster",
    "hub_name": "Hub (stays)",
    "agencies": "Agency names",
    "members_leaving": "Members leaving",
    "opens": "Window opens",
    "closes": "Window closes",
    "saving_gbp": "Saving (£ a year)",
    "break_penalties_gbp": "Break penalties (£)",
    "status": "Window",
}

#: The members of a cluster drawn on its timeline (the hub and those nearest it).
TIMELINE_MEMBERS = 60

#: Each lease event's colour and shape on the timeline.
_EVENT_MARKS = {
    "next break": ("#1f77b4", "circle"),
    "last break": ("#1f77b4", "square"),
    "rent review": ("#7f7f7f", "diamond"),
    "lease expiry": ("#d62728", "cross"),
    "notice deadline": ("#ff7f0e", "triangle-down"),
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


def _member_labels(members: pd.DataFrame) -> pd.Series:
    """Return each member's label on the timeline (name and agency; the hub says so)."""
    name = members["name"].astype("str").fillna("") if "name" in members else ""
    agency = members["agency"].astype("str").fillna("") if "agency" in members else ""
    labels = pd.Series(name + " (" + agency + ")", index=members.index, dtype="str")
    labels = labels.where(~members["is_hub"].to_numpy(dtype=bool), labels + ": hub")
    twice = labels.duplicated(keep=False).to_numpy()
    if twice.any():  # two members of one name and agency: their ids tell them apart
        ids = members["site_id"].astype("str") if "site_id" in members else members.index
        labels[twice] = labels[twice] + " [" + pd.Series(ids, index=members.index)[twice] + "]"
    return labels


def _timeline(
    result: ColocationResult,
    sites: pd.DataFrame,
    cluster_id: int,
    windows: pd.DataFrame | None,
    today: date,
) -> None:
    """Draw the cluster's members' lease events on one date axis, its window shaded."""
    members = _members_in_order(result.members[result.members["cluster_id"] == cluster_id])
    drawn = members.iloc[:TIMELINE_MEMBERS]
    st.markdown(f"**Lease events of cluster {cluster_id}**")
    try:
        events = cluster_timeline(result, sites, cluster_id, today=today)
    except AssetmapError as exc:
        st.error(f"The lease events could not be worked out: {md(exc)}")
        return
    row = None if windows is None else windows[windows["cluster_id"] == cluster_id]
    if row is not None and len(row):
        st.caption(md(_window_sentence(row.iloc[0])))
    events = events[events["site_index"].isin(drawn.index)]
    if not len(events):
        st.caption("No member's register gives a lease date: there is nothing to draw.")
        return
    if len(members) > TIMELINE_MEMBERS:
        st.caption(
            f"The timeline shows the hub and the {TIMELINE_MEMBERS - 1:,} sites nearest it, of "
            f"the cluster's {len(members):,}."
        )
    labels = _member_labels(drawn)
    order = labels.tolist()
    data = pd.DataFrame(
        {
            "member": events["site_index"].map(labels).to_numpy(dtype=object),
            "event": events["event"].to_numpy(dtype=object),
            "date": pd.to_datetime(events["date"]).to_numpy(),
            "past": events["past"].to_numpy(dtype=bool),
        }
    )
    st.altair_chart(
        _timeline_chart(data, order, None if row is None or not len(row) else row.iloc[0], today),
        width="stretch",
        height=_timeline_height(len(order)),
    )


def _timeline_height(members: int) -> int:
    """Return the timeline's height in pixels: 28 a member, and room for the axis and legend."""
    return 90 + 28 * members


def _timeline_chart(
    data: pd.DataFrame, order: list[str], window: pd.Series | None, today: date
) -> alt.LayerChart | alt.FacetChart:
    """Return the Altair chart of a cluster's lease events: one row per member."""
    kinds = list(_EVENT_MARKS)
    # the axis reaches a little beyond today, every event and the window
    ends = [pd.Timestamp(today), *pd.to_datetime(data["date"])]
    if window is not None and window["status"] == "window":
        ends += [pd.Timestamp(window["opens"]), pd.Timestamp(window["closes"])]
    domain = [
        (min(ends) - pd.Timedelta(days=45)).isoformat(),
        (max(ends) + pd.Timedelta(days=75)).isoformat(),
    ]
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=90)
        .encode(
            x=alt.X("date:T", title=None, scale=alt.Scale(domain=domain)),
            y=alt.Y(
                "member:N",
                sort=order,
                scale=alt.Scale(domain=order),
                title=None,
                axis=alt.Axis(labelLimit=360),
            ),
            color=alt.Color(
                "event:N",
                scale=alt.Scale(domain=kinds, range=[c for c, _ in _EVENT_MARKS.values()]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            shape=alt.Shape(
                "event:N",
                scale=alt.Scale(domain=kinds, range=[m for _, m in _EVENT_MARKS.values()]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            opacity=alt.when(alt.datum.past).then(alt.value(0.35)).otherwise(alt.value(1.0)),
            tooltip=[
                alt.Tooltip("member:N", title="Site"),
                alt.Tooltip("event:N", title="Event"),
                alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
                alt.Tooltip("past:N", title="Past"),
            ],
        )
    )
    layers: list[alt.Chart] = []
    if window is not None and window["status"] == "window":
        span = pd.DataFrame(
            {
                "opens": [pd.Timestamp(window["opens"])],
                "closes": [pd.Timestamp(window["closes"]) + pd.Timedelta(days=1)],
            }
        )
        layers.append(
            alt.Chart(span)
            .mark_rect(color="#2ca02c", opacity=0.18)
            .encode(x="opens:T", x2="closes:T")
        )
    now = pd.DataFrame({"today": [pd.Timestamp(today)]})
    layers.append(alt.Chart(now).mark_rule(color="#555555", strokeDash=[4, 3]).encode(x="today:T"))
    return alt.layer(*layers, points).properties(height=_timeline_height(len(order)) - 60)


def _window_sentence(row: pd.Series) -> str:
    """Say a cluster's window in words."""
    if row["status"] != "window":
        return f"Window: {row['status']}."
    text = (
        f"Window: from {pd.Timestamp(row['opens']):%d %B %Y} to "
        f"{pd.Timestamp(row['closes']):%d %B %Y} every member but the hub could leave"
    )
    if row["break_penalties_gbp"] > 0 or row["penalties_unknown"]:
        text += f", paying £{row['break_penalties_gbp']:,.0f} in break penalties"
        if row["penalties_unknown"]:
            text += f" (and {row['penalties_unknown']} not given)"
    if row["notice_assumed"]:
        text += f"; {row['notice_assumed']} members' notice is unknown and none is assumed"
    return text + " (shaded)."


def _cluster_map(
    result: ColocationResult,
    cluster_id: int,
    key: tuple,
    *,
    sites: pd.DataFrame,
    windows: pd.DataFrame | None,
    today: date,
) -> None:
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
    _timeline(result, sites, cluster_id, windows, today)


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


@st.cache_resource(show_spinner="Working out when each cluster could move…", max_entries=8)
def _windows(
    key: tuple, years: int, today: str, _result: ColocationResult, _sites: pd.DataFrame
) -> pd.DataFrame:
    # cached per sites, distance, viewer, years and day (a national estate's clusters
    # take seconds); only the clusters' members' rows of the sites are read
    return cluster_windows(_result, _sites, years=years, today=today)


def _window_options() -> tuple[int, int, bool]:
    """Draw the window's options: years to leave in, months ahead, and the filter."""
    cols = st.columns(2)
    years = cols[0].number_input(
        "Every member but the hub leaves within (years)",
        min_value=1,
        max_value=10,
        value=DEFAULT_YEARS,
        step=1,
        key=YEARS_KEY,
        help="A cluster's window is the earliest span of this many years holding a lease "
        "break or expiry of every member but the hub (after its notice).",
    )
    months = cols[1].number_input(
        "Window opening within (months)",
        min_value=1,
        max_value=240,
        value=DEFAULT_OPENING_MONTHS,
        step=1,
        key=MONTHS_KEY,
    )
    opening = st.checkbox(
        "Only the clusters whose window opens within those months",
        value=False,
        key=OPENING_KEY,
        help="Opening in the next 24 months, by default: the clusters that could move soon.",
    )
    return int(years), int(months), bool(opening)


def _windows_table(windows: pd.DataFrame, soon: pd.DataFrame, months: int, opening: bool) -> None:
    """Draw the windows table, ranked by saving, and its download."""
    st.markdown("**When each cluster could move, largest saving first**")
    unknown = int((windows["dates_unknown"] > 0).sum())
    st.caption(
        f"{len(soon):,} of {len(windows):,} clusters have a window opening within {months} "
        "months: a span in which every member but the hub could leave, at a lease break or "
        "expiry after giving notice (where the register gives no notice, none is assumed); "
        "a site that is not leased can be left at any time"
        + (
            f". {unknown:,} clusters have members whose lease dates are unknown."
            if unknown
            else "."
        )
    )
    shown = soon if opening else windows
    st.dataframe(
        shown.head(CLUSTERS_PER_PAGE)[list(WINDOW_COLUMNS)].rename(columns=WINDOW_COLUMNS),
        hide_index=True,
        width="stretch",
        column_config={
            "Window opens": st.column_config.DateColumn(format="D MMM YYYY"),
            "Window closes": st.column_config.DateColumn(format="D MMM YYYY"),
            "Saving (£ a year)": st.column_config.NumberColumn(format="£%,.0f"),
            "Break penalties (£)": st.column_config.NumberColumn(format="£%,.0f"),
        },
    )
    if len(shown) > CLUSTERS_PER_PAGE:
        st.caption(
            f"The first {CLUSTERS_PER_PAGE:,} of {len(shown):,}; the download holds every one."
        )
    shell.download_csv(
        f"Download the {len(shown):,} windows (CSV)",
        shown,
        file_name="colocation_windows.csv",
        key="download_windows",
    )


def _metrics(clusters: pd.DataFrame) -> None:
    """Draw the clusters' totals: how many, the floor area released and the yearly saving."""
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


def _savings_chart(table: pd.DataFrame) -> None:
    """Draw the chart of the clusters' largest yearly savings."""
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


def _scenario_button(result: ColocationResult, cluster_id: int) -> None:
    """Offer "consolidate this cluster into its hub" as a scenario, in one click."""
    if not st.button("Make it a scenario: consolidate into its hub", key="colocation_to_scenario"):
        return
    clusters = result.clusters
    hub = str(clusters.loc[clusters["cluster_id"] == cluster_id, "hub_name"].iloc[0])
    name = f"Consolidate cluster {cluster_id} into {hub}"
    made = from_cluster(result, int(cluster_id), name=name)
    scenario_panel.set_working(made, f"Made from co-location cluster {cluster_id}.")
    st.success(f"The scenario is ready: {len(made.moves):,} moves into {md(hub)}.")
    st.page_link(page_path("scenarios"), label="Open it on the Scenarios page")


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
    years, months, opening = _window_options()
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
    _metrics(clusters)
    table = pd.DataFrame(clusters.drop(columns=clusters.geometry.name))
    option_key = (*key, float(distance), approximate)
    today = date.today()
    windows = soon = None
    try:  # from the viewer's visible sites of the place: the clusters' own
        windows = _windows(option_key, years, today.isoformat(), result, sites)
        soon = opening_within(windows, months=months, today=today)
    except AssetmapError as exc:
        st.error(f"The lease-event windows could not be worked out: {md(exc)}")
    if opening and soon is not None:
        table = table[table["cluster_id"].isin(soon["cluster_id"])]
        st.caption(
            f"Showing the {len(table):,} clusters whose window opens within {months} months."
        )
        if not len(table):
            st.info(
                f"No cluster has a window opening within {months} months in which every "
                f"member but the hub could leave within {years} years."
            )
            return
    _savings_chart(table)
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
    shell.download_csv(
        f"Download the {len(table):,} clusters (CSV)",
        table,
        file_name="colocation_clusters.csv",
        key="download_clusters",
    )
    if windows is not None and soon is not None:
        _windows_table(windows, soon, months, opening)
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
    cluster_id = shell.pick("Zoom to a cluster", labels, key=CLUSTER_KEY)
    _scenario_button(result, cluster_id)
    _cluster_map(
        result,
        cluster_id,
        option_key,
        sites=sites,
        windows=windows,
        today=today,
    )
