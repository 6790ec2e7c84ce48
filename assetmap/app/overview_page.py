"""The National overview page: the Total Place count for every district of England and Wales.

Every district's sites, floor area and running cost, per 1,000 residents when a
population table is given (``$ASSETMAP_POPULATION``), per km² otherwise, as a
choropleth of the chosen measure (each district's tooltip gives all three) and a
ranked table. Clicking a district on the map, or a row of the table, opens it as
the place and goes to the Map page. The figures are of the sites the viewer may
see, with the sidebar's filters (the sidebar's place is not applied: the
overview is of the whole country).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap.app import navigation, shell, state
from assetmap.app.map_page import show_map
from assetmap.density import METRIC_LABELS
from assetmap.errors import AssetmapError
from assetmap.maps import interactive
from assetmap.maps.interactive.features import figure
from assetmap.maps.safe_html import markdown_text as md

__all__ = ["MEASURES", "clicked_place", "district_table", "render"]

#: The Total Place measures the overview gives, by density metric.
MEASURES = ("sites", "floor_area_sqft", "running_cost_gbp")
MEASURE_KEY = "overview_measure"
MAP_KEY = "overview_map"
TABLE_KEY = "overview_table"
_LAST_KEY = "overview_last_click"
_OPENED_KEY = "overview_opened"
_PER_WORDS = {"residents": "per 1,000 residents", "km2": "per km²"}


def clicked_place(result: dict[str, Any] | None) -> str | None:
    """Return the district code of the district clicked on the overview map, from st_folium."""
    drawing = (result or {}).get("last_active_drawing") or {}
    props = drawing.get("properties") if isinstance(drawing, dict) else None
    code = props.get("place") if isinstance(props, dict) else None
    return str(code) if code else None


def district_table(metrics: pd.DataFrame, per: str) -> pd.DataFrame:
    """Return the overview's table: one row per district, the measures per ``per``, ranked.

    Parameters
    ----------
    metrics
        :attr:`assetmap.density.LocalityDensity.metrics` (indexed by district code).
    per
        ``"residents"`` or ``"km2"``.

    Returns
    -------
    pandas.DataFrame
        ``District``, ``Code``, ``Sites`` and each measure per ``per``, by sites
        per ``per``, highest first.
    """
    suffix = "_per_1000_residents" if per == "residents" else "_per_km2"
    words = _PER_WORDS[per]
    table = pd.DataFrame(
        {
            "District": metrics["name"].astype(str),
            "Code": metrics.index.astype(str),
            "Sites": metrics["sites"].astype("int64"),
        }
    )
    for measure in MEASURES:
        table[f"{METRIC_LABELS[measure]} {words}"] = metrics[f"{measure}{suffix}"].astype(float)
    return table.sort_values(table.columns[3], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _tips(frame: gpd.GeoDataFrame, per: str) -> list[str]:
    """Each district's tooltip lines: its three measures per ``per``, and its sites."""
    suffix = "_per_1000_residents" if per == "residents" else "_per_km2"
    lines = []
    for _, row in frame.iterrows():
        words = _PER_WORDS[per]
        parts = [f"{METRIC_LABELS[m]} {words}: {figure(row[m + suffix])}" for m in MEASURES]
        parts.append(f"Sites: {int(row['sites']):,}")
        parts.append("Click to open it as the place.")
        lines.append("\n".join(parts))
    return lines


def _open(code: str) -> None:
    """Open district ``code`` as the place and go to the Map page."""
    shell.open_place("district", code)
    st.session_state[_OPENED_KEY] = st.session_state.get(_OPENED_KEY, 0) + 1
    st.switch_page(navigation.page_path("map"))


def render() -> None:
    """Draw the National overview page."""
    chosen = shell.selection()
    st.title("National overview")
    whole = dataclasses.replace(chosen, level="", code="", place_name="the whole estate")
    agency = shell.viewer().agency
    try:
        sites = shell.selected_sites(whole)
        result, has_population = state.overview(shell.cache_key(whole), sites, agency)
    except AssetmapError as exc:
        st.error(f"The overview could not be made: {md(exc)}")
        return
    per = "residents" if has_population else "km2"
    st.caption(
        f"The Total Place count for every district of England and Wales: {len(sites):,} sites "
        f"you may see, filters: {md(whole.describe())}. Figures {_PER_WORDS[per]}"
        + (
            "."
            if has_population
            else " (set ASSETMAP_POPULATION to a population table for figures per 1,000 residents)."
        )
    )
    measure = shell.pick("Measure", {m: METRIC_LABELS[m] for m in MEASURES}, key=MEASURE_KEY)
    frame, classes = result.choropleth(measure, per=per, scheme="quantiles", k=5)
    group = folium.FeatureGroup(name="Overview", control=False)
    label = f"{METRIC_LABELS[measure]} {_PER_WORDS[per]}"
    interactive.choropleth_layer(
        frame,
        value_label=label,
        k=classes.k,
        clickable=True,
        tips=_tips(frame, per),
        simplify_m=150.0,
        precision=1e-4,
    ).add_to(group)
    interactive.LayerLegend(
        interactive.choropleth_legend_html(classes.legend, title=f"{label} (quantiles)"),
        position="bottomright",
        css_class="assetmap-choropleth-control",
    ).add_to(group)
    base = interactive.base_map(None, extent=frame, clusters=False, legend=False)
    map_col, table_col = st.columns([3, 2], gap="medium")
    with map_col:
        returned = show_map(
            base,
            group,
            key=MAP_KEY,
            height=620,
            fit=frame,
            returned=["last_active_drawing", "last_object_clicked"],
        )
        st.caption("Click a district, or a row of the table, to open it as the place.")
    code = clicked_place(returned)
    click = (code, str((returned or {}).get("last_object_clicked")))
    if code is not None and click != st.session_state.get(_LAST_KEY):
        st.session_state[_LAST_KEY] = click
        _open(code)
    table = district_table(result.metrics, per)
    with table_col:
        picked = st.dataframe(
            table,
            hide_index=True,
            height=620,
            on_select="rerun",
            selection_mode="single-row",
            # a new table after each opening: a kept selection would open it again
            key=f"{TABLE_KEY}_{st.session_state.get(_OPENED_KEY, 0)}",
            column_config={"Sites": st.column_config.NumberColumn(format="localized")},
        )
    rows = [r for r in (picked.selection.rows if picked is not None else []) if 0 <= r < len(table)]
    if rows:  # a row number the browser sent: only one of the table's is used
        _open(str(table.iloc[rows[0]]["Code"]))
    for note in result.notes:
        st.caption(md(note))
