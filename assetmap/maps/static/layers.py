"""The layers of each kind of print map, with their legend entries.

One function a kind (:data:`KINDS`): the sites by sector, a density choropleth
per locality, co-location clusters (hulls, members, hubs), and the allocation
plan's matches (lines from offers to requests). Each draws into the map frame
of a :class:`MapJob` and adds its legend entries, counts and notes to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ...access import Viewer
from ...colocation import ColocationResult, colocation_clusters
from ...schema import CRS_BNG, SECTORS, approximate_mask, in_place, point_coordinates
from ..style import (
    APPROXIMATE_LABEL,
    CLUSTER_COLOUR,
    MATCH_LINE_COLOUR,
    NO_DATA_COLOUR,
    REQUEST_COLOUR,
    SECTOR_STYLES,
    class_colours,
    sector_key,
)
from .options import KIND_NAMES, MapOptions, Place
from .page import TEXT, Extent, Layout

__all__ = ["DEFAULT_TITLES", "KINDS", "LEVEL_LABELS", "RASTERIZE_ABOVE", "MapJob"]

#: Point layers with more points than this are rasterised inside PDF and SVG files.
RASTERIZE_ABOVE = 5_000
#: How a level is named in a legend or subtitle (other levels by their own name).
LEVEL_LABELS = {
    "country": "country",
    "icb": "ICB",
    "district": "district",
    "lsoa": "LSOA",
    "nhs_area": "NHS area",
    "county": "county",
}
_PER_LABELS = {"km2": " per km²", "residents": " per 1,000 residents", "total": ""}
_CONTEXT_SITE = "#9a9a9a"


@dataclass
class MapJob:
    """Everything the kind-specific drawing functions need, and what they report back.

    Attributes
    ----------
    layout
        The page.
    sites
        The sites the viewer may see, in the place.
    place
        The place, or ``None`` for the whole selection.
    localities
        The localities in view, or ``None``.
    in_place
        Which of ``localities`` belong to the place.
    level
        The localities' level.
    options
        The map's options.
    viewer
        Who is looking (resolved from the options).
    extent
        The map's limits.
    handles
        Legend entries, added by the layers.
    legend_title
        The legend's title.
    notes
        Plain-English notes for the caller.
    sites_drawn
        Sites drawn (or counted, for density).
    empty_message
        What to say in the frame when there is nothing to show, or ``None``.
    """

    layout: Layout
    sites: gpd.GeoDataFrame
    place: Place | None
    localities: gpd.GeoDataFrame | None
    in_place: np.ndarray
    level: str
    options: MapOptions
    viewer: Viewer | None
    extent: Extent
    handles: list[Any] = field(default_factory=list)
    legend_title: str = ""
    notes: list[str] = field(default_factory=list)
    sites_drawn: int = 0
    empty_message: str | None = None

    @property
    def agency(self) -> str | None:
        """Return the viewer's agency (``None``: nobody's), as co-location and matching take it."""
        return self.viewer.agency if self.viewer is not None else None


# --------------------------------------------------------------------------- points


def _marker_size(n: int, s: float) -> tuple[float, float]:
    """Return the marker area (points²) and edge width for ``n`` points on the page."""
    if n <= 300:
        size = 30.0
    elif n <= 3_000:
        size = 16.0
    elif n <= 20_000:
        size = 6.0
    else:
        size = 2.5
    edge = 0.35 if n <= 3_000 else 0.0
    return size * s * s, edge * s


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    xy, _ = point_coordinates(frame.geometry.to_numpy())
    return xy


def _marker_handle(marker: str, size: float, label: str, **style: Any) -> Line2D:
    """Return a legend entry that shows one marker."""
    return Line2D([], [], linestyle="", marker=marker, markersize=size, label=label, **style)


def _points_by_sector(
    job: MapJob, frame: gpd.GeoDataFrame, *, prefix: str = "", zorder: float = 5
) -> None:
    ax, s = job.layout.ax, job.layout.scale
    xy = _xy(frame)
    sectors = sector_key(frame["sector"]).to_numpy()
    size, edge = _marker_size(len(frame), s)
    raster = len(frame) > RASTERIZE_ABOVE
    counts = {sector: int((sectors == sector).sum()) for sector in SECTORS}
    # The most numerous sector is drawn first, so the rarer ones stay visible on top of it;
    # the legend keeps the usual order of the sectors.
    layer = {sector: i for i, sector in enumerate(sorted(SECTORS, key=lambda x: -counts[x]))}
    approximate = approximate_mask(frame)
    for sector in SECTORS:
        hit = (sectors == sector) & ~approximate
        count = counts[sector]
        if not count:
            continue
        style = SECTOR_STYLES[sector]
        if (sectors == sector)[approximate].any():  # hollow rings, dashed: see the legend
            ax.scatter(
                xy[(sectors == sector) & approximate, 0],
                xy[(sectors == sector) & approximate, 1],
                s=size * 1.6,
                marker="o",
                facecolors="none",
                edgecolors=style.colour,
                linewidths=max(edge, 0.35 * s) * 2,
                linestyle=(0, (2, 1.5)),
                zorder=zorder + layer[sector] * 0.01,
                rasterized=raster,
                gid=f"sites-{sector}-approximate",
            )
        ax.scatter(
            xy[hit, 0],
            xy[hit, 1],
            s=size,
            marker=style.marker,
            c=style.colour,
            edgecolors="white" if edge else "none",
            linewidths=edge,
            zorder=zorder + layer[sector] * 0.01,
            rasterized=raster,
            gid=f"sites-{sector}",
        )
        job.handles.append(
            _marker_handle(
                style.marker,
                6 * s,
                f"{prefix}{style.label} ({count:,})",
                markerfacecolor=style.colour,
                markeredgecolor="white",
                markeredgewidth=0.4 * s,
            )
        )
    if approximate.any():
        job.handles.append(
            _marker_handle(
                "o",
                6 * s,
                f"{prefix}{APPROXIMATE_LABEL} ({int(approximate.sum()):,})",
                markerfacecolor="none",
                markeredgecolor="#555555",
                markeredgewidth=0.8 * s,
            )
        )


def _context_points(job: MapJob, frame: gpd.GeoDataFrame, label: str) -> None:
    if not len(frame):
        return
    ax, s = job.layout.ax, job.layout.scale
    xy = _xy(frame)
    size, _ = _marker_size(len(frame), s)
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=size * 0.35,
        marker="o",
        c=_CONTEXT_SITE,
        edgecolors="none",
        zorder=3,
        rasterized=len(frame) > RASTERIZE_ABOVE,
        gid="sites-context",
    )
    job.handles.append(
        _marker_handle(
            "o",
            3.5 * s,
            f"{label} ({len(frame):,})",
            markerfacecolor=_CONTEXT_SITE,
            markeredgecolor="none",
        )
    )


# --------------------------------------------------------------------------- sites


def _draw_sites(job: MapJob) -> None:
    """Draw the sites by sector: one scatter per sector, markers and colours of the style."""
    job.legend_title = "Sites by sector"
    job.sites_drawn = len(job.sites)
    if not len(job.sites):
        job.empty_message = "No sites to show"
        return
    _points_by_sector(job, job.sites)


# --------------------------------------------------------------------------- density


def _draw_density(job: MapJob) -> None:
    """Draw a choropleth of the localities in the place, from ``density_by_locality``."""
    from ...density import METRIC_LABELS, density_by_locality

    ax, s = job.layout.ax, job.layout.scale
    opts = job.options
    locs = job.localities[job.in_place] if job.localities is not None else None
    if locs is None or not len(locs):
        job.legend_title = "Density"
        job.empty_message = "No localities to show"
        return
    result = density_by_locality(
        job.sites,
        locs[["code", "name", locs.geometry.name]],
        population=opts.population,
        viewer=job.viewer,
    )
    frame, classes = result.choropleth(
        opts.metric, per=opts.per, scheme=opts.scheme, k=opts.k, bins=opts.bins
    )
    job.notes.extend(result.notes)
    if classes.message:
        job.notes.append(classes.message)
    colours = class_colours(max(classes.k, 1))
    cls = pd.array(frame["class"], dtype="Int64")
    fills = [NO_DATA_COLOUR if c is pd.NA else colours[min(int(c), len(colours) - 1)] for c in cls]
    frame.plot(
        ax=ax,
        color=fills,
        edgecolor="#6b6b6b",
        linewidth=0.35 * s,
        zorder=2,
        aspect=None,
        gid="choropleth",
    )
    job.sites_drawn = int(len(job.sites) - result.n_outside)
    unit = METRIC_LABELS[opts.metric] + _PER_LABELS[opts.per]
    job.legend_title = (
        f"{unit} by {LEVEL_LABELS.get(job.level, job.level)} ({classes.scheme.replace('_', ' ')})"
    )
    entries = [
        (colour, f"{label} ({count:,} {'locality' if count == 1 else 'localities'})")
        for colour, label, count in zip(colours, classes.legend, classes.counts, strict=False)
    ]
    for colour, label in [*entries, (NO_DATA_COLOUR, "No data")]:
        job.handles.append(
            Patch(facecolor=colour, edgecolor="#6b6b6b", linewidth=0.4 * s, label=label)
        )
    if not len(job.sites):
        job.empty_message = "No sites to count"


# --------------------------------------------------------------------------- clusters


def _cluster_hulls(job: MapJob, clusters: gpd.GeoDataFrame) -> None:
    """Draw the clusters' hulls, filled faintly and outlined."""
    ax, s = job.layout.ax, job.layout.scale
    clusters.plot(
        ax=ax, facecolor=CLUSTER_COLOUR, alpha=0.16, edgecolor="none", zorder=4, aspect=None
    )
    clusters.plot(
        ax=ax,
        facecolor="none",
        edgecolor=CLUSTER_COLOUR,
        linewidth=0.9 * s,
        zorder=4.1,
        aspect=None,
        gid="cluster-hulls",
    )
    job.handles.append(
        Patch(
            facecolor=(0.416, 0.239, 0.604, 0.16),
            edgecolor=CLUSTER_COLOUR,
            linewidth=0.9 * s,
            label=f"Co-location cluster ({len(clusters):,})",
        )
    )


def _cluster_hubs(job: MapJob, members: gpd.GeoDataFrame, shown: int) -> None:
    """Draw a star on each cluster's hub (sized for ``shown`` member points)."""
    ax, s = job.layout.ax, job.layout.scale
    hubs = members[members["is_hub"].astype(bool)]
    hub_xy = _xy(hubs)
    size, _ = _marker_size(shown, s)
    ax.scatter(
        hub_xy[:, 0],
        hub_xy[:, 1],
        s=size * 4.5,
        marker="*",
        facecolors="none",
        edgecolors=TEXT,
        linewidths=0.6 * s,
        zorder=7,
        gid="cluster-hubs",
    )
    job.handles.append(
        _marker_handle(
            "*",
            9 * s,
            f"Hub of a cluster ({len(hubs):,})",
            markerfacecolor="none",
            markeredgecolor=TEXT,
            markeredgewidth=0.6 * s,
        )
    )


def _cluster_labels(job: MapJob, clusters: gpd.GeoDataFrame) -> None:
    """Label the first ten clusters with their numbers."""
    ax, s = job.layout.ax, job.layout.scale
    for row in clusters.head(10).itertuples():
        point = row.geometry.representative_point()
        ax.text(
            point.x,
            point.y,
            f"{row.cluster_id}",
            fontsize=6.5 * s,
            color=CLUSTER_COLOUR,
            fontweight="bold",
            ha="center",
            va="center",
            zorder=8,
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": CLUSTER_COLOUR,
                "linewidth": 0.4 * s,
                "alpha": 0.85,
            },
        )


def _draw_clusters(job: MapJob) -> None:
    """Draw co-location clusters: hulls, member sites by sector, hubs; other sites in grey."""
    opts = job.options
    distance = opts.distance
    result: ColocationResult | None = opts.clusters
    if result is None:
        result = colocation_clusters(
            job.sites,
            distance=distance,
            viewer_agency=job.agency,
            include_approximate=opts.include_approximate,
        )
    else:
        distance = result.distance_m
    job.legend_title = (
        f"Co-location clusters (sites of 2 or more agencies within {distance:,.0f} m)"
        + _approximate_left_out(job, result.approximate_excluded)
    )
    job.sites_drawn = len(job.sites)
    if not len(job.sites):
        job.empty_message = "No sites to show"
        return
    in_cluster = job.sites.index.isin(list(set(result.members.index)))
    _context_points(job, job.sites[~in_cluster], "Site in no cluster")
    clusters = result.clusters
    if len(clusters):
        _cluster_hulls(job, clusters)
    shown = job.sites[in_cluster]
    if len(shown):
        _points_by_sector(job, shown, prefix="Member: ", zorder=6)
        _cluster_hubs(job, result.members, len(shown))
        _cluster_labels(job, clusters)
    if not len(clusters):
        job.notes.append(result.message)


# --------------------------------------------------------------------------- matches


def _plan_for(job: MapJob) -> Any:
    """Return the options' allocation plan, or one made for the requests in the place."""
    from ...matching import allocate, find_candidates

    plan = job.options.plan
    if plan is not None:
        return plan
    requests = job.options.requests
    assert requests is not None  # build_map has checked that requests were given
    if job.place is not None and len(requests):
        _, located = point_coordinates(requests.geometry.to_numpy())
        requests = requests[in_place(requests, job.place.geometry) | ~located]
    return allocate(
        find_candidates(
            requests,
            job.sites,
            viewer_agency=job.agency,
            include_approximate=job.options.include_approximate,
        )
    )


#: How matching's message begins to say what it left out as placed only approximately.
_LEFT_OUT = "Left out as placed only approximately"


def _approximate_left_out(job: MapJob, n: int) -> str:
    """Say in a note, and return for the legend's title, how many sites were left out."""
    if not n:
        return ""
    text = (
        f"{n:,} site{'s' if n != 1 else ''} placed only approximately (at the centre of a "
        "postcode district or sector) left out of the analysis"
    )
    job.notes.append(text)
    return f"; {text}"


def _match_lines(job: MapJob, plan: Any) -> None:
    """Draw a line from each offer to the request it serves."""
    lines = plan.lines()
    if not len(lines):
        return
    s = job.layout.scale
    gpd.GeoSeries(lines.geometry, crs=CRS_BNG).plot(
        ax=job.layout.ax,
        color=MATCH_LINE_COLOUR,
        linewidth=1.3 * s,
        zorder=6,
        aspect=None,
        gid="match-lines",
    )
    total = float(plan.total_sqft)
    job.handles.append(
        Line2D(
            [],
            [],
            color=MATCH_LINE_COLOUR,
            linewidth=1.5 * s,
            label=f"Offer to request ({len(lines):,} assignments, {total:,.0f} sq ft)",
        )
    )


def _request_points(job: MapJob, plan: Any) -> None:
    """Draw the space requests, matched (rings) and not matched (crosses)."""
    ax, s = job.layout.ax, job.layout.scale
    xy, located = point_coordinates(plan.match.request_points.to_numpy())
    matched_ids = set(plan.assignments["request_id"]) if len(plan.assignments) else set()
    is_matched = plan.match.requests["request_id"].isin(list(matched_ids)).to_numpy()
    size = 42 * s * s
    for matched, label, marker in (
        (True, "Space request, matched", "o"),
        (False, "Space request, not matched", "X"),
    ):
        hit = located & (is_matched == matched)
        count = int(hit.sum())
        if not count:
            continue
        face = "white" if matched else "none"
        ax.scatter(
            xy[hit, 0],
            xy[hit, 1],
            s=size if matched else size * 0.8,
            marker=marker,
            facecolors=face,
            edgecolors=REQUEST_COLOUR,
            linewidths=0.9 * s,
            zorder=8,
            gid=f"requests-{'matched' if matched else 'unmatched'}",
        )
        job.handles.append(
            _marker_handle(
                marker,
                7 * s,
                f"{label} ({count:,})",
                markerfacecolor=face,
                markeredgecolor=REQUEST_COLOUR,
                markeredgewidth=0.9 * s,
            )
        )
    unplaced = int((~located).sum())
    if unplaced:
        job.notes.append(f"{unplaced:,} space requests have no point location and are not drawn")


def _draw_matches(job: MapJob) -> None:
    """Draw the allocation plan: a line from each offer to the request it serves."""
    plan = _plan_for(job)
    job.legend_title = "Surplus space matched to space requests (the allocation plan)"
    said = plan.match.message.find(_LEFT_OUT)  # matching's own words, with its counts
    if said >= 0:
        left_out = plan.match.message[said:].strip()
        job.legend_title += f"; {left_out[0].lower()}{left_out[1:].rstrip('.')}"
        if left_out not in plan.message:
            job.notes.append(left_out)
    job.sites_drawn = len(job.sites)
    used = set(plan.assignments["site_id"]) if len(plan.assignments) else set()
    offers = plan.match.offers
    sites = job.sites
    other = sites[~sites["site_id"].isin(list(used))] if "site_id" in sites else sites
    _context_points(job, other, "Other site")
    _match_lines(job, plan)
    used_offers = offers[offers["site_id"].isin(list(used))] if len(offers) else offers
    if len(used_offers):
        _points_by_sector(job, used_offers, prefix="Offer: ", zorder=7)
    _request_points(job, plan)
    job.notes.append(plan.message)
    if not len(job.sites):
        job.empty_message = "No sites to show"
    elif not len(plan.match.requests):
        job.empty_message = "No space requests in this place"


#: Map kinds, name -> the function that draws the kind's layers.
KINDS: dict[str, Callable[[MapJob], None]] = dict(
    zip(KIND_NAMES, (_draw_sites, _draw_density, _draw_clusters, _draw_matches), strict=True)
)

#: The title of each kind of map, before ": <place>".
DEFAULT_TITLES = {
    "sites": "Public estate by sector",
    "density": "Density of the public estate",
    "clusters": "Co-location clusters",
    "matches": "Surplus space and space requests",
}
