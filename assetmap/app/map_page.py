"""The Map page: every site of the chosen place on one map, with the analyses as layers.

The place and the filters come from the sidebar (:mod:`assetmap.app.sidebar`);
the layers (sites by sector, density choropleth, co-location clusters, surplus
offers, the allocation plan's match lines) are switched on and off below them.
The number of sites after the filters is shown above the map; clicking a site
shows its record and where it came from beside the map.

The map is drawn with streamlit-folium. Its base (boundaries, legend, optional
tiles) depends only on the whole estate, so it stays the same component across
reruns and keeps its position and zoom; the layers go in as
``feature_group_to_add``, which the component swaps in place when anything
changes. Choosing another place moves the view to it. All JavaScript and CSS
come from installed packages as ``data:`` URLs (see
:mod:`assetmap.maps.interactive`), so the map draws with no internet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from assetmap import national
from assetmap.app import exchange_page, scenario_panel, shell, state
from assetmap.density import METRIC_LABELS, METRICS, PER, SCHEMES
from assetmap.errors import AssetmapError
from assetmap.maps import interactive, safe_html
from assetmap.maps.interactive.viewport import (
    IMAGE_FROM,
    View,
    ViewLayer,
    choropleth_image,
    degrees_precision,
    view_layer,
)
from assetmap.maps.safe_html import markdown_text as md
from assetmap.maps.style import MAP_CSS

__all__ = [
    "LayerChoice",
    "add_choropleth",
    "build_layers",
    "clicked_site_id",
    "density_level",
    "density_level_labels",
    "map_view",
    "render",
    "show_map",
]

MAP_KEY = "estate_map"
MAP_HEIGHT = 640
#: The width the first view is worked out for, before the browser reports its own.
MAP_WIDTH_PX = 900
#: Where the page keeps the view it last fitted the map to, to tell a new place from a pan.
FITTED_KEY = "map_fitted_view"
#: The last view the page made the sites layer for, from the browser or a new place.
GOOD_VIEW_KEY = "map_good_view"
SELECTED_KEY = "map_selected_site"
LAST_CLICK_KEY = "map_last_click"
RETURNED = [
    "last_active_drawing",
    "last_object_clicked",
    "last_object_clicked_count",
    "bounds",
    "zoom",
]

#: The session key of each layer's toggle.
LAYER_KEYS = {
    name: f"layer_{name}" for name in ("sites", "density", "clusters", "offers", "matches")
}
DENSITY_LEVEL_KEY = "map_density_level"
#: Above this many sites (that the viewer may see) the density layer starts off.
DENSITY_DEFAULT_LIMIT = 100_000
DENSITY_METRIC_KEY = "map_density_metric"
DENSITY_SCHEME_KEY = "map_density_scheme"
CLUSTER_DISTANCE_KEY = "map_cluster_distance"
APPROXIMATE_KEY = "map_include_approximate"

#: How each ``per`` reads after a metric.
PER_LABELS = {"km2": "per km²", "total": "in total", "residents": "per 1,000 residents"}
SCHEME_LABELS = {
    "quantiles": "Quantiles",
    "natural_breaks": "Natural breaks (Jenks)",
    "equal_interval": "Equal intervals",
}
#: The levels a density layer may be drawn at ("" is the place's own sublevel).
DENSITY_LEVELS = {"": "The level below the place", **national.LEVEL_LABELS}

if set(METRIC_LABELS) != set(METRICS) or set(PER_LABELS) != set(PER):  # pragma: no cover
    raise RuntimeError("map_page's labels must name exactly density.METRICS and density.PER")
if not set(SCHEME_LABELS) <= set(SCHEMES):  # pragma: no cover
    raise RuntimeError("map_page.SCHEME_LABELS must name schemes of density.SCHEMES")


@dataclass
class LayerChoice:
    """Which layers to draw and how."""

    sites: bool = True
    density: bool = True
    clusters: bool = False
    offers: bool = False
    matches: bool = False
    density_level: str = ""
    metric: str = "sites"
    per: str = "km2"
    scheme: str = "quantiles"
    k: int = 5
    distance: float = 400.0
    include_approximate: bool = False
    notes: list[str] = field(default_factory=list)


def clicked_site_id(result: dict[str, Any] | None) -> str | None:
    """Return the ``site_id`` of the site clicked on the map, from st_folium's result.

    st_folium reports the clicked layer as ``last_active_drawing`` (the feature with
    its properties); a click on a cluster, a locality or the background carries no
    site id.
    """
    drawing = (result or {}).get("last_active_drawing") or {}
    props = drawing.get("properties") if isinstance(drawing, dict) else None
    if not isinstance(props, dict):
        return None
    site_id = props.get("id")
    return None if site_id is None or site_id == "" else str(site_id)


def density_level_labels() -> dict[str, str]:
    """Return the levels a density may be drawn at, with their labels.

    The place's own sublevel first, then the national levels and the boundary
    sets kept in the store.
    """
    labels = dict(DENSITY_LEVELS)
    below = density_level("")
    if below:
        labels[""] = f"The level below the place ({shell.level_label(below)})"
    labels.update({level: shell.level_label(level) for level in shell.added_boundaries()})
    return labels


def density_level(level: str, chosen: shell.Selection | None = None) -> str:
    """Return the level a density is drawn at: ``level``, or the place's sublevel for ``""``.

    For the whole estate (or every locality of a level), the sublevel of the store's
    home place; districts when there is none.
    """
    if level:
        return level
    try:
        place = shell.place(chosen) or state.home_place(shell.viewer().agency)
    except AssetmapError:
        place = None
    if place is None:
        return "district"
    return place.sublevel or place.level


def _layer_controls(estate_size: int) -> LayerChoice:
    big = estate_size > DENSITY_DEFAULT_LIMIT
    with st.sidebar:
        st.header("Layers")
        choice = LayerChoice(
            sites=st.toggle("Sites by sector", value=True, key=LAYER_KEYS["sites"]),
            density=st.toggle(
                "Density of the estate",
                value=not big,
                key=LAYER_KEYS["density"],
                help="Off at first for an estate of more than "
                f"{DENSITY_DEFAULT_LIMIT:,} sites: its hexagons show where it is dense, and "
                "the choropleth is worked out again for every change of the filters."
                if big
                else None,
            ),
            clusters=st.toggle("Co-location clusters", value=False, key=LAYER_KEYS["clusters"]),
            offers=st.toggle("Surplus space offered", value=False, key=LAYER_KEYS["offers"]),
            matches=st.toggle("Match lines (the plan)", value=False, key=LAYER_KEYS["matches"]),
        )
        if choice.density:
            with st.expander("Density settings"):
                choice.density_level = shell.pick(
                    "Localities", density_level_labels(), key=DENSITY_LEVEL_KEY
                )
                choice.metric = shell.pick("Measure", METRIC_LABELS, key=DENSITY_METRIC_KEY)
                choice.scheme = shell.pick("Classes", SCHEME_LABELS, key=DENSITY_SCHEME_KEY)
        if choice.clusters:
            choice.distance = float(
                st.slider(
                    "Cluster walking distance (m)",
                    100,
                    2_000,
                    400,
                    step=50,
                    key=CLUSTER_DISTANCE_KEY,
                )
            )
        if choice.clusters or choice.matches:
            choice.include_approximate = st.checkbox(
                state.APPROXIMATE_BOX,
                value=False,
                key=APPROXIMATE_KEY,
                help=state.APPROXIMATE_HELP,
            )
    return choice


def _density_layer(
    group: folium.FeatureGroup,
    shown: gpd.GeoDataFrame,
    choice: LayerChoice,
    key: tuple,
    agency: str | None,
    view: View | None = None,
) -> None:
    """Add the density choropleth of ``shown`` to ``group``; its notes go to ``choice``.

    With a ``view``, only the localities that reach into it are drawn, simplified
    for its zoom (the classes are those of every locality).
    """
    level = density_level(choice.density_level)
    try:
        localities = state.density_localities(
            key, level, shell.place(), shown, agency=shell.viewer().agency
        )
        frame, classes, notes, outside = state.density(
            key,
            level,
            choice.metric,
            choice.per,
            choice.scheme,
            choice.k,
            shown,
            localities,
            agency,
        )
        label = f"{METRIC_LABELS[choice.metric]} {PER_LABELS[choice.per]}"
        if view is None:
            add_choropleth(group, frame, classes, label, note=classes.message)
        else:
            made = (key, level, choice.metric, choice.per, choice.scheme, choice.k)
            frame = state.shape_index(made, frame).in_view(view)
            add_choropleth(
                group,
                frame,
                classes,
                label,
                note=classes.message,
                simplify_m=0.0,
                precision=degrees_precision(view.zoom),
                image_of=view if len(frame) > IMAGE_FROM else None,
            )
            if len(frame) > IMAGE_FROM:
                choice.notes.append(
                    f"The {len(frame):,} localities of the density layer around this view are "
                    f"painted as one picture, without tooltips; zoom in until the view holds "
                    f"{IMAGE_FROM:,} or fewer to see each one's figures."
                )
    except AssetmapError as exc:
        choice.notes.append(f"The density layer is off: {exc}")
        return
    choice.notes.extend(notes)
    if outside:
        choice.notes.append(
            f"{outside:,} sites lie outside every {shell.level_label(level)} "
            "and are not in the density layer."
        )


def build_layers(
    shown: gpd.GeoDataFrame | None,
    choice: LayerChoice,
    key: tuple,
    view: View | None = None,
    *,
    chosen: shell.Selection | None = None,
) -> tuple[folium.FeatureGroup, ViewLayer | interactive.SitesLayer | None]:
    """Return the page's layers as one feature group (drawn bottom to top), and the sites layer.

    ``shown`` are the sites the viewer may see: every layer, the density
    layer's figures included, is made from them alone. With a ``view`` (the Map
    page's), the sites layer is made for it: hexagons far out, the sites
    themselves close in (:func:`assetmap.maps.interactive.viewport.view_layer`).
    Without one (a map of its own, the HTML export) it is every site, or an even
    sample of :data:`~assetmap.maps.interactive.DEFAULT_MAX_POINTS` that says so.
    ``chosen`` is the place and filters ``shown`` and ``key`` were made for (the
    sidebar's, by default). With ``shown=None`` (the Map page) the chosen sites'
    rows are only taken if a layer needs them: the sites layer is made from the
    whole estate's index, and copying a filter's rows of a national estate took
    most of a second.
    Problems with one layer (a level with no boundaries, say) become notes in
    ``choice.notes``; the other layers are still drawn.
    """
    agency = shell.viewer().agency
    group = folium.FeatureGroup(name="Layers", control=False)
    chosen = chosen or shell.selection()
    if shown is None and (choice.density or choice.clusters or choice.matches or choice.offers):
        shown = shell.selected_sites(chosen)
    if view is not None and not choice.density:  # the choropleth's outlines are the basemap
        _boundaries_layer(group, agency, view)
    if choice.density:
        _density_layer(group, shown, choice, key, agency, view)
    if choice.clusters:
        _clusters_layer(group, shown, choice, key, agency)
    if choice.matches:
        _matches_layer(group, shown, choice, key, agency)
    if choice.offers:
        interactive.offers_layer(shown).add_to(group)
    if not choice.sites:
        return group, None
    if shown is None and view is None:
        shown = shell.selected_sites(chosen)
    layer = _sites_layer(shown, key, view, chosen)
    (layer.layer if isinstance(layer, ViewLayer) else layer).add_to(group)
    return group, layer


def _clusters_layer(
    group: folium.FeatureGroup,
    shown: gpd.GeoDataFrame,
    choice: LayerChoice,
    key: tuple,
    agency: str | None,
) -> None:
    """Add the co-location clusters of ``shown`` to ``group``; the message goes to ``choice``."""
    result = state.colocation(
        key,
        choice.distance,
        shown,
        agency,
        include_approximate=choice.include_approximate,
    )
    if not result.empty:
        interactive.clusters_layer(result.clusters).add_to(group)
    choice.notes.append(result.message)


def _matches_layer(
    group: folium.FeatureGroup,
    shown: gpd.GeoDataFrame,
    choice: LayerChoice,
    key: tuple,
    agency: str | None,
) -> None:
    """Add the plan's match lines and the requests to ``group``; the message goes to ``choice``."""
    try:
        requests = shell.place_requests()
        _, plan = state.plan(
            key,
            False,
            requests,
            shown,
            agency,
            include_approximate=choice.include_approximate,
        )
        if not plan.empty:
            interactive.lines_layer(plan.lines()).add_to(group)
        interactive.requests_layer(requests).add_to(group)
        choice.notes.append(plan.message)
    except AssetmapError as exc:
        choice.notes.append(f"The match lines are off: {exc}")


def _boundaries_layer(group: folium.FeatureGroup, agency: str | None, view: View) -> None:
    """Add the districts around the estate that reach into ``view`` to ``group``, as a basemap."""
    try:
        districts = state.basemap(agency)
    except AssetmapError as exc:
        st.caption(f"Boundaries are not drawn: {md(exc)}")
        return
    if districts is None or districts.empty:
        return
    made = ("basemap", state.store_signature(), agency)
    shown = state.shape_index(made, districts).in_view(view)
    if len(shown):
        interactive.BoundariesLayer(
            shown,
            attribution=interactive.ons_attribution(),
            simplify_m=0.0,
            precision=degrees_precision(view.zoom),
        ).add_to(group)


def _sites_layer(
    shown: gpd.GeoDataFrame | None, key: tuple, view: View | None, chosen: shell.Selection
) -> ViewLayer | interactive.SitesLayer:
    """Return the sites layer made for ``view``; with none, every site (or a sample, saying so)."""
    if view is None:  # a map of its own (the HTML export)
        assert shown is not None
        return interactive.sites_layer(shown, popups=False)
    # shown's sites, indexed from the whole estate's index: a filter needs no new index
    index = state.estate_index(key, shell.place_geometry(chosen), chosen, shell.viewer())
    layer = view_layer(index, view)
    if layer.legend:
        interactive.LayerLegend(
            interactive.choropleth_legend_html(
                [label for label, _ in layer.legend], title="Sites per hexagon", no_data=False
            ),
            position="bottomleft",
            css_class="assetmap-hex-control",
        ).add_to(layer.layer)
    return layer


def add_choropleth(
    group: folium.FeatureGroup,
    frame,
    classes,
    label: str,
    *,
    note: str | None = None,
    simplify_m: float = 15.0,
    precision: float = 1e-6,
    canvas: bool = False,
    image_of: View | None = None,
) -> None:
    """Add a density choropleth and its legend (which follows the layer) to ``group``.

    With ``image_of`` (a view; ``frame`` cut to it), the localities are painted as one
    image over it, without tooltips: for views holding thousands of them.
    """
    if image_of is not None:
        choropleth_image(
            frame, image_of, k=classes.k, attribution=interactive.ons_attribution()
        ).add_to(group)
    else:
        interactive.choropleth_layer(
            frame,
            value_label=label,
            k=classes.k,
            simplify_m=simplify_m,
            precision=precision,
            canvas=canvas,
        ).add_to(group)
    title = f"{label} ({SCHEME_LABELS.get(classes.scheme, classes.scheme)})"
    interactive.LayerLegend(
        interactive.choropleth_legend_html(classes.legend, title=title, note=note),
        position="bottomright",
        css_class="assetmap-choropleth-control",
    ).add_to(group)


def show_map(
    base: folium.Map,
    group: folium.FeatureGroup | None,
    *,
    key: str,
    height: int,
    fit: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    fit_width_px: int = 700,
    returned: list[str] | None = None,
) -> dict | None:
    """Draw a map with streamlit-folium and the attribution under it.

    ``group`` goes in as the layers that change between reruns (the map keeps its view);
    ``fit`` (geometries) sets the view it moves to when ``fit`` changes, for a map about
    ``fit_width_px`` wide.
    """
    view = (
        interactive.view_of(fit, width_px=fit_width_px, height_px=height)
        if fit is not None
        else None
    )
    if view is not None:  # drawn afresh for the same ``fit``, it goes back to the user's view
        interactive.KeepView(key).add_to(base)
    result = st_folium(
        base,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=returned if returned is not None else [],
        feature_group_to_add=group,
        center=view[0] if view else None,
        zoom=view[1] if view else None,
    )
    st.caption(shell.attribution())
    return result


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
    exchange_page.show_site_exchange(row)
    scenario_panel.record_actions(row)
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
    chosen = shell.selection()
    st.title("Estate map")
    slot = st.empty()  # the caches' spinners: always one place, so the map stays put
    with slot.container():
        try:
            sites = shell.visible_estate()
            n_shown = shell.selected_count(chosen)
        except AssetmapError as exc:
            st.error(f"The estate could not be loaded: {md(exc)}")
            return
    slot.empty()
    if sites.empty:
        st.info("The estate has no sites yet: import a register on the Registers page.")
        return
    choice = _layer_controls(len(sites))
    metric_col, note_col = st.columns([1, 3])
    metric_col.metric("Sites shown", f"{n_shown:,}")
    note_col.caption(
        f"of {len(sites):,} sites in the estate; place: {md(chosen.place_name)}; "
        f"filters: {md(chosen.describe())}."
    )
    _map_and_record(chosen, choice)


def _view(fit: tuple[tuple[float, float], int] | None) -> View:
    """Return the view to make the sites layer for: the map's own, or ``fit``'s for a new place.

    streamlit-folium reports the map's bounds and zoom after each move; a new
    place (``fit`` changed since the last run) moves the map, so its view is
    worked out from ``fit`` until the browser reports it. A view the browser
    sends that no map could show (see :meth:`View.from_returned`) is not used:
    the last good one is, else ``fit``'s.
    """
    return map_view(MAP_KEY, fit, width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT)


def map_view(
    key: str, fit: tuple[tuple[float, float], int] | None, *, width_px: int, height_px: int
) -> View:
    """Return the view of the st_folium map ``key`` (see :func:`_view`), for any page's map.

    The map must report ``bounds`` and ``zoom`` (:data:`RETURNED`); ``fit`` is the
    view the page moves the map to when what it shows changes.
    """
    fitted_key, good_key = f"{key}_fitted_view", f"{key}_good_view"
    if key == MAP_KEY:
        fitted_key, good_key = FITTED_KEY, GOOD_VIEW_KEY
    fitted = View.around(*(fit or ((54.0, -2.5), 6)), width_px=width_px, height_px=height_px)
    if st.session_state.get(fitted_key) != fit:
        st.session_state[fitted_key] = fit
        st.session_state[good_key] = fitted
        return fitted
    reported = View.from_returned(st.session_state.get(key))
    if reported is not None:
        st.session_state[good_key] = reported
        return reported
    kept = st.session_state.get(good_key)
    return kept if isinstance(kept, View) else fitted


def _layers_for(chosen: shell.Selection, choice: LayerChoice) -> tuple | None:
    """Read the estate and make the map's layers for its view (see :func:`_map_and_record`).

    Returns the visible estate, the tiles, the estate's box, the fitted view, the
    layers, the sites layer and why the tiles are off (``""``: they are not); ``None``
    (having said why) when the map cannot be drawn.
    """
    try:
        sites = shell.visible_estate()
    except AssetmapError as exc:
        st.error(f"The map could not be drawn: {md(exc)}")
        return None
    tiles_problem = ""
    try:
        tiles = state.tiles()
    except AssetmapError as exc:
        tiles, tiles_problem = None, str(exc)
    outline = shell.place_geometry(chosen)
    extent = state.estate_extent(shell.viewer(), sites)
    fit_frame = gpd.GeoSeries([outline], crs=sites.crs) if outline is not None else extent
    fit = interactive.view_of(fit_frame, width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT)
    choice.notes.clear()
    key = shell.cache_key(chosen)
    try:
        group, layer = build_layers(None, choice, key, _view(fit), chosen=chosen)
    except AssetmapError as exc:
        st.error(f"The map could not be drawn: {md(exc)}")
        return None
    return sites, tiles, extent, fit, group, layer, tiles_problem


@st.fragment
def _map_and_record(chosen: shell.Selection, choice: LayerChoice) -> None:
    """Draw the map and the site record; moving the map reruns only this part of the page.

    Each move of the map sends its view back, and the sites layer is made again
    for it (from caches: the estate is indexed once), so only what the view
    needs goes to the browser. The estate, the selection and the cache key are
    read in this run, never kept from the page's last full run: a move after
    another agency's import must not keep the old estate under the new store state.
    """
    # one slot, always there, for the caches' spinners: a spinner drawn only when a
    # cache is made would move the map down one place and make Streamlit draw it afresh
    slot = st.empty()
    with slot.container():
        made = _layers_for(chosen, choice)
    if made is None:  # the slot says why
        return
    slot.empty()
    sites, tiles, extent, fit, group, layer, tiles_problem = made
    if tiles_problem:
        st.warning(f"Background tiles are off: {md(tiles_problem)}")
    base = interactive.base_map(None, tiles=tiles, extent=extent, clusters=False)
    interactive.KeepView(MAP_KEY).add_to(base)  # drawn afresh, back to the user's view
    # a zoom is redrawn by the server: its quarter-second animation only delays asking
    base.options["zoomAnimation"] = False
    map_col, record_col = st.columns([3, 2], gap="medium")
    with map_col:
        result = st_folium(
            base,
            key=MAP_KEY,
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=RETURNED,
            feature_group_to_add=group,
            center=fit[0] if fit else None,
            zoom=fit[1] if fit else None,
        )
        st.caption(shell.attribution())
        if layer is not None and layer.message:
            st.caption(md(layer.message))
        for note in choice.notes:
            st.caption(md(note))
    _remember_click(result)
    with record_col:
        _show_record(sites, st.session_state.get(SELECTED_KEY))
