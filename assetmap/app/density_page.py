"""The Density page: the place summary table beside its choropleth.

The officer picks the localities (by default the level below the place: the
districts of an ICB, the LSOAs of a district; or any national level, or a
boundary set kept in the store), the measure and the classification; the map shows the
choropleth with its legend, and beside it the Total Place table of sites per
locality and sector. Both are made from the sites the viewer may see (other
agencies' restricted sites are withheld, and the page says so whatever the
estate holds). Both can be downloaded.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import streamlit as st

from assetmap import access
from assetmap.app import shell, state
from assetmap.app.map_page import (
    METRIC_LABELS,
    SCHEME_LABELS,
    add_choropleth,
    density_level,
    density_level_labels,
    map_view,
    show_map,
)
from assetmap.errors import AssetmapError
from assetmap.maps import interactive
from assetmap.maps.interactive.viewport import IMAGE_FROM, degrees_precision
from assetmap.maps.safe_html import markdown_text as md
from assetmap.selection import inside_place

__all__ = ["localities_in_place", "render"]

LEVEL_KEY = "density_level"
METRIC_KEY = "density_metric"
PER_KEY = "density_per"
SCHEME_KEY = "density_scheme"
K_KEY = "density_k"

_PER = {"km2": "per km²", "total": "in total"}
MAP_KEY = "density_map"
MAP_HEIGHT = 560
MAP_WIDTH_PX = 700
#: From how many localities in view the choropleth is painted on a canvas, not as SVG.
CANVAS_FROM = 2_000


def localities_in_place(localities: gpd.GeoDataFrame, outline) -> gpd.GeoDataFrame:
    """Return the localities in the place (all of them for no place).

    A locality is in the place by the rule every site follows
    (:func:`assetmap.selection.inside_place`): a point on its surface lies in the place.
    """
    return localities[inside_place(localities, outline)]


def render() -> None:
    """Draw the Density page."""
    chosen = shell.selection()
    st.title("Density")
    try:
        # the sites the viewer may see: other agencies' restricted sites are in no figure
        sites = shell.selected_sites(chosen)
        agency = shell.viewer().agency
    except AssetmapError as exc:
        st.error(f"The estate could not be loaded: {md(exc)}")
        return
    c1, c2, c3, c4, c5 = st.columns(5)
    with c1:
        level = density_level(
            shell.pick("Localities", density_level_labels(), key=LEVEL_KEY), chosen
        )
    with c2:
        metric = shell.pick("Measure", METRIC_LABELS, key=METRIC_KEY)
    with c3:
        per = shell.pick("Per", _PER, key=PER_KEY)
    with c4:
        scheme = shell.pick("Classes", SCHEME_LABELS, key=SCHEME_KEY)
    k = c5.slider("Number of classes", 3, 7, 5, key=K_KEY)
    try:
        key = (*shell.cache_key(chosen), level)
        localities = state.density_localities(
            key, level, shell.place(chosen), sites, agency=shell.viewer().agency
        )
        frame, classes, notes, outside = state.density(
            key, level, metric, per, scheme, k, sites, localities, agency
        )
        summary = state.place_summary_table(key, level, sites, localities, agency)
    except AssetmapError as exc:
        st.error(f"The density could not be worked out: {md(exc)}")
        return
    label = f"{METRIC_LABELS[metric]} {_PER[per]}"
    st.caption(
        f"{label} in {len(frame):,} localities of {md(chosen.place_name)}; "
        f"{len(sites):,} sites after the filters ({md(chosen.describe())})."
        + (f" {outside:,} sites lie outside every locality." if outside else "")
        + f" {access.FIGURES_NOTE}"
    )
    for note in [*notes, classes.message]:
        if note:
            st.caption(md(note))

    map_col, table_col = st.columns([3, 2], gap="medium")
    with map_col:
        _density_map(chosen, level, metric, per, scheme, k, label)
    with table_col:
        st.markdown("**Classes**")
        st.dataframe(
            {"class": list(classes.legend), "localities": list(classes.counts)},
            hide_index=True,
            width="stretch",
        )
        st.markdown("**Place summary** (sites per locality and sector)")
        st.dataframe(summary, hide_index=True, width="stretch", height=360)
        shell.download_csv(
            "Download the place summary (CSV)",
            summary,
            file_name="place_summary.csv",
            key="download_summary",
        )
        values = frame.drop(columns=frame.geometry.name)
        shell.download_csv(
            "Download the density table (CSV)",
            values,
            file_name=f"density_{level}.csv",
            key="download_density",
        )


@st.fragment
def _density_map(
    chosen: shell.Selection, level: str, metric: str, per: str, scheme: str, k: int, label: str
) -> None:
    """Draw the choropleth for the map's view; moving the map reruns only this part.

    Its view report would otherwise rerun the whole page a quarter of a second after
    the map is drawn, and a download clicked in that moment was lost. The figures are
    read again here from the caches (never kept from the page's last full run: a move
    after another agency's import must not draw the old estate).
    """
    try:
        sites = shell.selected_sites(chosen)
        agency = shell.viewer().agency
        key = (*shell.cache_key(chosen), level)
        localities = state.density_localities(key, level, shell.place(chosen), sites, agency=agency)
        frame, classes, _, _ = state.density(
            key, level, metric, per, scheme, k, sites, localities, agency
        )
    except AssetmapError as exc:
        st.error(f"The density could not be drawn: {md(exc)}")
        return
    with st.spinner("Drawing the localities…"):
        # cut to the map's view and simplified for its zoom: all 34,753 LSOAs of England
        # and Wales drawn in full were 25 MB and half a minute
        fit = interactive.view_of(frame, width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT)
        view = map_view(MAP_KEY, fit, width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT)
        shapes = state.shape_index((key, metric, per, scheme, k), frame).in_view(view)
        group = folium.FeatureGroup(name="Density", control=False)
        add_choropleth(
            group,
            shapes,
            classes,
            label,
            simplify_m=0.0,
            precision=degrees_precision(view.zoom),
            canvas=len(shapes) >= CANVAS_FROM,
            image_of=view if len(shapes) > IMAGE_FROM else None,
        )
        base = interactive.base_map(None, extent=frame, legend=False)
        show_map(
            base,
            group,
            key=MAP_KEY,
            height=MAP_HEIGHT,
            fit=frame,
            fit_width_px=MAP_WIDTH_PX,
            returned=["bounds", "zoom"],
        )
        if len(shapes) > IMAGE_FROM:
            st.caption(
                f"The {len(shapes):,} localities around this view are painted as one picture, "
                f"without tooltips; zoom in until the view holds {IMAGE_FROM:,} or fewer to "
                "see each one's figures (the table and downloads hold them all)."
            )
        elif len(shapes) < len(frame):
            st.caption(
                f"{len(shapes):,} of the {len(frame):,} localities reach into this view; "
                "move or zoom the map to see the others (the table and downloads hold them all)."
            )
