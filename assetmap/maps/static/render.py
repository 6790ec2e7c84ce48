"""Drawing a whole print map and writing it: the entry points of the print maps.

:func:`build_map` checks the options, withholds what the viewer may not see, lays
out the page, draws the basemap, the kind's layers and the furniture, and writes
the title, legend, counts and attribution; :func:`render_map` returns just the
page; :func:`save_map` writes it as PNG, PDF or SVG and :func:`map_bytes` returns
the file's bytes.
"""

from __future__ import annotations

import io
import os
import textwrap
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure

from ... import access
from ..._validate import check_frame, check_positive, one_of, raise_if_any
from ...errors import InvalidArgumentError
from ...files import guard_output, replace_atomically
from ...localities import ATTRIBUTION, load_localities
from ...places import level_localities
from ...schema import CRS_BNG, in_place, point_coordinates
from ...settings import default_store_path
from ..style import BOUNDARY_STYLE
from .layers import DEFAULT_TITLES, KINDS, LEVEL_LABELS, MapJob
from .options import (
    FORMATS,
    PLACE_LEVELS,
    MapOptions,
    Place,
    check_common,
    check_format_dpi,
    check_output_path,
    check_text,
    merge_options,
    resolve_place,
)
from .page import (
    CONTEXT_FILL,
    MUTED,
    PLACE_EDGE,
    TEXT,
    draw_inset,
    draw_north_arrow,
    draw_scale_bar,
    fit_extent,
    fixed_rc,
    make_layout,
    round_sig,
)
from .tiles import draw_tiles, tile_setting

__all__ = ["StaticMap", "build_map", "count_text", "map_bytes", "render_map", "save_map"]


@dataclass
class StaticMap:
    """A drawn map and what is on it.

    Attributes
    ----------
    figure
        The page, ready for :func:`save_map`.
    kind
        One of :data:`~assetmap.maps.static.KINDS`.
    title, subtitle
        The texts at the top of the page.
    place
        The place drawn, or ``None`` for the whole estate.
    sites_drawn
        Sites drawn as points (for density maps: sites counted in the localities).
    unlocated
        Sites in the selection without a location.
    legend
        The legend's entries, in order.
    scale_m
        The scale bar's length in metres.
    scale_denominator
        The map's scale on the page, 1:N.
    notes
        Plain-English notes (tiles unreachable, classes lowered, nothing to show...).
    """

    figure: Figure
    kind: str
    title: str
    subtitle: str
    place: Place | None
    sites_drawn: int
    unlocated: int
    legend: list[str]
    scale_m: float
    scale_denominator: float
    notes: list[str] = field(default_factory=list)


def count_text(n: int, noun: str) -> str:
    """Return a count with its noun, singular or plural: ``"1 site"``, ``"1,549 sites"``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _data_as_at(sites: pd.DataFrame) -> str:
    if "imported_at" not in sites.columns or not len(sites):
        return "no data"
    stamps = pd.to_datetime(sites["imported_at"], utc=True, errors="coerce", format="ISO8601")
    latest = stamps.max()
    return "unknown" if pd.isna(latest) else _long_date(latest.date())


# --------------------------------------------------------------------------- checks


@dataclass
class _Checked:
    """The arguments of :func:`build_map`, checked, and the problems found."""

    options: MapOptions
    sites: Any
    place: Place | None = None
    viewer: access.Viewer | None = None
    problems: list[str] = field(default_factory=list)


def _kind_problems(kind: object, options: MapOptions, problems: list[str]) -> None:
    """Add a problem for each option the kind of map needs and cannot use."""
    from ...density import METRICS, PER, classify

    if kind == "density":
        if options.metric not in METRICS:
            problems.append(one_of("metric", options.metric, METRICS))
        if options.per not in PER:
            problems.append(one_of("per", options.per, PER))
        try:
            classify([], scheme=options.scheme, k=options.k, bins=options.bins)  # the arguments
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    if not isinstance(options.include_approximate, bool):
        problems.append(
            f"include_approximate={options.include_approximate!r} is not valid; expected True "
            "or False"
        )
    if kind == "clusters" and options.clusters is None:
        if p := check_positive("distance", options.distance):
            problems.append(p)
    if kind == "matches" and options.plan is None and options.requests is None:
        problems.append(
            "requests=None but kind='matches' needs the space requests; expected a "
            "GeoDataFrame of requests (for example open_store(path).requests())"
        )


def _check(kind: object, sites: object, options: object, changes: dict[str, Any]) -> _Checked:
    """Check every argument of :func:`build_map`; return them checked, with the problems."""
    problems: list[str] = []
    opts = merge_options(options, changes, problems)
    check_common(kind, opts.paper, opts.landscape, opts.inset, problems)
    check_text("title", opts.title, problems)
    check_text("subtitle", opts.subtitle, problems)
    if opts.drawn_on is not None and not isinstance(opts.drawn_on, date):
        problems.append(f"drawn_on={opts.drawn_on!r} is not valid; expected None or a date")
    sites_problems, checked_sites = check_frame("sites", sites, ("sector",))
    problems.extend(sites_problems)
    if opts.requests is not None:
        req_problems, requests = check_frame("requests", opts.requests, ("agency", "sector"))
        problems.extend(req_problems)
        opts = replace(opts, requests=requests)
    _kind_problems(kind, opts, problems)
    place: Place | None = None
    if opts.place is not None:
        try:
            place = resolve_place(opts.place, store=opts.store)
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    if opts.tiles is not None:
        try:
            tile_setting(opts.tiles)
        except InvalidArgumentError as exc:
            problems.append(f"tiles: {exc}")
    viewer: access.Viewer | None = None
    try:
        viewer = access.as_viewer(opts.viewer)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    return _Checked(opts, checked_sites, place, viewer, problems)


# --------------------------------------------------------------------------- the frame


def _named_level(localities: object) -> bool:
    """Whether ``localities`` names a level :func:`assetmap.places.level_localities` gives."""
    return isinstance(localities, str) and (
        localities in PLACE_LEVELS or localities.startswith("boundary set ")
    )


def _localities_for(
    localities: object, place: Place | None, view: Any, store: Any, problems: list[str]
) -> tuple[gpd.GeoDataFrame | None, str]:
    """Return the localities in view (EPSG:27700) and the level's name.

    By default the place's sublevel (the level below it), else its own level (an
    LSOA, an area of a boundary set), and districts for the whole estate.
    """
    from ...density import resolve_localities

    if localities is None:
        localities = (place.sublevel or place.level) if place is not None else "district"
    if _named_level(localities):
        level = str(localities)
    elif isinstance(localities, gpd.GeoDataFrame):
        level = str(localities.attrs.get("level", "locality"))
    else:
        level = Path(str(localities)).stem
    try:
        if _named_level(localities):
            frame = level_localities(level, store=store)
        else:
            frame, _ = resolve_localities(localities, argument="localities")
    except InvalidArgumentError as exc:
        problems.append(str(exc))
        return None, level
    if view is not None:
        hit = frame.sindex.query(view, predicate="intersects")
        frame = frame.iloc[np.sort(hit)]
    return frame, level.removeprefix("boundary set ")


def _start(checked: _Checked) -> tuple[MapJob, int, float]:
    """Lay out the page and gather what the layers need.

    Returns
    -------
    tuple
        The job, the number of sites without a location, and metres per inch of paper.
    """
    options, place, viewer = checked.options, checked.place, checked.viewer
    # the disclosure rule, before anything is drawn, counted or noted (assetmap.access)
    sites = access.visible_sites(checked.sites, viewer)
    _, located = point_coordinates(sites.geometry.to_numpy())
    shown = sites[in_place(sites, place.geometry if place is not None else None)]
    unlocated = int((~located).sum()) if place is None else 0
    layout = make_layout(options.paper, landscape=options.landscape, inset=options.inset)
    if place is not None:
        bounds = place.geometry.bounds
    elif len(shown):
        bounds = tuple(shown.total_bounds)
    else:
        bounds = tuple(load_localities("county").total_bounds)
    extent, per_inch = fit_extent(bounds, layout)
    x0, x1, y0, y1 = extent
    problems: list[str] = []
    view = shapely.box(x0, y0, x1, y1)
    locs, level = _localities_for(options.localities, place, view, options.store, problems)
    raise_if_any(problems)
    if locs is None or not len(locs):
        belongs = np.zeros(0, dtype=bool)
    elif place is None:
        belongs = np.ones(len(locs), dtype=bool)
    else:  # the one "in the place" rule: a point on the locality's surface
        belongs = in_place(locs, place.geometry)
    job = MapJob(
        layout=layout,
        sites=shown,
        place=place,
        localities=locs,
        in_place=belongs,
        level=level,
        options=options,
        viewer=viewer,
        extent=extent,
    )
    return job, unlocated, per_inch


def _draw_basemap(job: MapJob, kind: str, *, faint: bool) -> None:
    """Draw the localities (those outside the place greyed) and the place's outline."""
    ax, s, locs = job.layout.ax, job.layout.scale, job.localities
    if locs is not None and len(locs) and kind != "density":
        fills = np.where(job.in_place, str(BOUNDARY_STYLE["fillColor"]), CONTEXT_FILL)
        locs.plot(
            ax=ax,
            color=list(fills),
            edgecolor=BOUNDARY_STYLE["color"],
            linewidth=0.35 * s,
            alpha=0.35 if faint else 1.0,
            zorder=1,
            aspect=None,
            gid="boundaries",
        )
    elif locs is not None and len(locs) and kind == "density" and (~job.in_place).any():
        locs[~job.in_place].plot(
            ax=ax,
            color=CONTEXT_FILL,
            edgecolor=BOUNDARY_STYLE["color"],
            linewidth=0.35 * s,
            zorder=1,
            aspect=None,
        )
    if job.place is not None:
        gpd.GeoSeries([job.place.geometry], crs=CRS_BNG).plot(
            ax=ax,
            facecolor="none",
            edgecolor=PLACE_EDGE,
            linewidth=1.3 * s,
            zorder=2.5,
            aspect=None,
            gid="place-outline",
        )


def _say_empty(job: MapJob) -> None:
    """Say in the frame, and in a note, that there is nothing to show."""
    if not job.empty_message:
        return
    where = job.place.name if job.place is not None else "the selection"
    job.layout.ax.text(
        0.5,
        0.5,
        f"{job.empty_message} in {where}",
        transform=job.layout.ax.transAxes,
        ha="center",
        va="center",
        fontsize=12 * job.layout.scale,
        color=TEXT,
        zorder=30,
        gid="no-sites",
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": MUTED},
    )
    job.notes.append(f"{job.empty_message.lower()} in {where}")


# --------------------------------------------------------------------------- the texts


def _titles(job: MapJob, kind: str) -> tuple[str, str]:
    """Write the title and subtitle at the top of the page; return them."""
    options, place, layout = job.options, job.place, job.layout
    s = layout.scale
    where = place.name if place is not None else "Whole estate"
    title = options.title if options.title is not None else f"{DEFAULT_TITLES[kind]}: {where}"
    subtitle = options.subtitle
    if subtitle is None:
        level_text = f" ({LEVEL_LABELS.get(place.level, place.level)})" if place else ""
        drawn_on = options.drawn_on or date.today()
        subtitle = (
            f"{where}{level_text} · drawn {_long_date(drawn_on)} · "
            f"data as at {_data_as_at(job.sites)}"
        )
    top = 1 - 0.45 * s / layout.height_in
    left = 0.45 * s / layout.width_in
    fig = layout.figure
    fig.text(
        left, top, title, fontsize=16 * s, fontweight="bold", color=TEXT, va="top", gid="map-title"
    )
    fig.text(
        left,
        top - 0.36 * s / layout.height_in,
        subtitle,
        fontsize=9 * s,
        color=MUTED,
        va="top",
        gid="map-subtitle",
    )
    return title, subtitle


def _legend(job: MapJob, kind: str) -> list[str]:
    """Draw the legend panel, its labels wrapped to fit; return the labels as given."""
    layout, s = job.layout, job.layout.scale
    labels = [h.get_label() for h in job.handles]
    wide = not job.options.landscape and kind != "density" and len(job.handles) > 5
    ncol = 2 if wide else 1
    pos = layout.legend_ax.get_position()
    panel_chars = pos.width * layout.width_in / s * 72 / 4.2  # 7.5 pt DejaVu Sans, about
    label_chars = int(panel_chars / ncol) - 6
    legend_title = "\n".join(textwrap.wrap(job.legend_title, int(panel_chars * 0.86)))
    for handle in job.handles:
        handle.set_label("\n".join(textwrap.wrap(handle.get_label(), label_chars)))
    if not job.handles:
        layout.legend_ax.text(
            0, 1, legend_title, va="top", fontsize=8.5 * s, color=TEXT, fontweight="bold"
        )
        return labels
    layout.legend_ax.legend(
        handles=job.handles,
        loc="upper left",
        title=legend_title,
        title_fontsize=8.5 * s,
        fontsize=7.5 * s,
        alignment="left",
        ncol=ncol,
        borderaxespad=0.0,
        handlelength=1.6,
        labelspacing=0.55,
    )
    return labels


def _footer(
    job: MapJob, kind: str, unlocated: int, denominator: float, tile_attribution: str | None
) -> None:
    """Write the counts, the scale and the grid, then the attribution, under the map."""
    layout = job.layout
    s = layout.scale
    verb = "counted" if kind == "density" else "drawn"
    counts = f"{count_text(job.sites_drawn, 'site')} {verb}"
    if unlocated:
        counts += f"; {unlocated:,} without a location"
    scale_text = f"Scale 1:{round_sig(denominator):,.0f} on {job.options.paper} paper"
    left = 0.45 * s / layout.width_in
    bottom = 0.45 * s / layout.height_in
    layout.figure.text(
        left,
        bottom + 0.36 * s / layout.height_in,
        f"{counts}.  {scale_text}.  British National Grid (EPSG:27700).",
        fontsize=7 * s,
        color=TEXT,
        va="bottom",
        gid="map-counts",
    )
    attribution = ATTRIBUTION + (f". {tile_attribution}" if tile_attribution else "")
    width_chars = int(layout.width_in / s * 17.5)
    layout.figure.text(
        left,
        bottom + 0.3 * s / layout.height_in,
        "\n".join(textwrap.wrap(attribution, width_chars)),
        fontsize=6 * s,
        color=MUTED,
        va="top",
        linespacing=1.3,
        gid="map-attribution",
    )


# --------------------------------------------------------------------------- the map


def _build(kind: str, checked: _Checked) -> StaticMap:
    """Draw the checked map (under the fixed matplotlib settings)."""
    job, unlocated, per_inch = _start(checked)
    tiles = checked.options.tiles
    tile_attribution = (
        draw_tiles(job.layout, job.extent, tiles, job.notes) if tiles is not None else None
    )
    _draw_basemap(job, kind, faint=bool(tile_attribution))
    KINDS[kind](job)
    ax = job.layout.ax
    x0, x1, y0, y1 = job.extent
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")
    _say_empty(job)
    scale_m, denominator = draw_scale_bar(job.layout, job.extent, per_inch)
    draw_north_arrow(job.layout)
    draw_inset(job.layout, job.extent, job.place, job.notes)
    title, subtitle = _titles(job, kind)
    legend = _legend(job, kind)
    _footer(job, kind, unlocated, denominator, tile_attribution)
    return StaticMap(
        figure=job.layout.figure,
        kind=kind,
        title=title,
        subtitle=subtitle,
        place=job.place,
        sites_drawn=job.sites_drawn,
        unlocated=unlocated,
        legend=legend,
        scale_m=scale_m,
        scale_denominator=denominator,
        notes=job.notes,
    )


def build_map(
    kind: str,
    sites: gpd.GeoDataFrame,
    options: MapOptions | None = None,
    **changes: Any,
) -> StaticMap:
    """Draw one print map and say what is on it (:func:`render_map` returns just the figure).

    Parameters
    ----------
    kind
        One of :data:`~assetmap.maps.static.KINDS`: ``"sites"`` (by sector),
        ``"density"`` (choropleth per locality), ``"clusters"`` (co-location)
        or ``"matches"`` (the allocation plan's lines from offers to requests).
    sites
        Canonical sites (points, EPSG:27700 or a CRS that reprojects to it).
        Only the sites inside the place are used; other agencies' restricted
        sites are withheld from every layer, count and note (see ``viewer``).
    options
        The map's options (:class:`~assetmap.maps.static.MapOptions`); default
        all defaults: every site given, A4 portrait, no tiles, no viewer.
    **changes
        Fields of :class:`~assetmap.maps.static.MapOptions` by name
        (``place="Maidstone"``, ``paper="A3"``...), changed in ``options``.

    Returns
    -------
    StaticMap

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used: an unknown kind, option,
        paper, place (with close matches), metric or scheme, sites that are
        not a GeoDataFrame, a matches map without requests...

    Examples
    --------
    >>> drawn = build_map("density", store.sites(), place="Kent and Medway")  # doctest: +SKIP
    >>> drawn.sites_drawn, drawn.legend  # doctest: +SKIP
    >>> a3 = MapOptions(place="Maidstone", paper="A3", landscape=True)
    >>> drawn = build_map("sites", store.sites(), a3)  # doctest: +SKIP
    >>> save_map(drawn.figure, "density.png", format="png", dpi=150)  # doctest: +SKIP
    """
    checked = _check(kind, sites, options, changes)
    raise_if_any(checked.problems)
    with fixed_rc():
        return _build(kind, checked)


def render_map(
    kind: str,
    sites: gpd.GeoDataFrame,
    options: MapOptions | None = None,
    **changes: Any,
) -> Figure:
    """Draw one print map of the estate.

    Parameters
    ----------
    kind, sites, options, **changes
        As for :func:`build_map`; the options are those of
        :class:`~assetmap.maps.static.MapOptions`.

    Returns
    -------
    matplotlib.figure.Figure
        The page; write it with :func:`save_map`.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used (see :func:`build_map`).

    Examples
    --------
    >>> fig = render_map("sites", store.sites(), place="Maidstone")  # doctest: +SKIP
    >>> save_map(fig, "maidstone.pdf", format="pdf")  # doctest: +SKIP
    """
    return build_map(kind, sites, options, **changes).figure


def save_map(
    figure: Figure, target: str | os.PathLike[str] | BinaryIO, *, format: str, dpi: int = 300
) -> Path | None:
    """Write a map as PNG, PDF or SVG.

    Parameters
    ----------
    figure
        A page from :func:`render_map`.
    target
        A file path (written under a temporary name and renamed into place, so
        a failure leaves no half-written file) or a binary file-like object
        such as :class:`io.BytesIO`.
    format
        One of :data:`~assetmap.maps.static.FORMATS`.
    dpi
        One of :data:`~assetmap.maps.static.DPIS`: the PNG's resolution, and
        that of rasterised point layers in PDF and SVG.

    Returns
    -------
    pathlib.Path or None
        The file written, or ``None`` for a file-like target.

    Raises
    ------
    InvalidArgumentError
        If the format or dpi is not valid, ``figure`` is not a Figure, or the
        path cannot be written (listing every problem).

    Examples
    --------
    >>> figure = render_map("sites", store.sites(), place="Maidstone")  # doctest: +SKIP
    >>> save_map(figure, "maidstone.png", format="png", dpi=150)  # doctest: +SKIP
    PosixPath('maidstone.png')
    """
    problems: list[str] = []
    if not isinstance(figure, Figure):
        problems.append(
            f"figure is a {type(figure).__name__}; expected the matplotlib Figure of render_map"
        )
    check_format_dpi(format, dpi, problems)
    if isinstance(target, (str, os.PathLike)):
        check_output_path("target", target, problems)
        # the command line also guards its --store
        guard_output(target, store=default_store_path(), name="target", problems=problems)
        raise_if_any(problems)
        return _save_file(figure, Path(target), format=format, dpi=dpi)
    if not hasattr(target, "write"):
        problems.append(
            f"target is a {type(target).__name__}; expected a file path or a binary file object"
        )
    raise_if_any(problems)
    with fixed_rc():
        figure.savefig(target, format=format, dpi=dpi, metadata=FORMATS[format].metadata)
    return None


def _save_file(figure: Figure, path: Path, *, format: str, dpi: int) -> Path:
    """Write the page to a temporary name beside ``path`` and rename it into place."""
    with fixed_rc():
        try:
            with replace_atomically(path, suffix=f".tmp.{format}") as tmp:
                figure.savefig(tmp, format=format, dpi=dpi, metadata=FORMATS[format].metadata)
        except OSError as exc:
            raise InvalidArgumentError(
                f"target {str(path)!r} cannot be written ({exc.strerror or exc}); expected a "
                "path in a writable folder"
            ) from None
    return path


def map_bytes(
    kind: str,
    sites: gpd.GeoDataFrame,
    options: MapOptions | None = None,
    *,
    format: str = "png",
    dpi: int = 300,
    **changes: Any,
) -> bytes:
    """Draw a map and return the file's bytes (for downloads).

    Parameters
    ----------
    kind, sites, options, **changes
        As for :func:`build_map`.
    format, dpi
        As for :func:`save_map`.

    Returns
    -------
    bytes

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used, as :func:`build_map` and
        :func:`save_map` do.

    Examples
    --------
    >>> pdf = map_bytes("sites", store.sites(), place="Maidstone", format="pdf")  # doctest: +SKIP
    >>> pdf[:4]  # doctest: +SKIP
    b'%PDF'
    """
    problems: list[str] = []
    check_format_dpi(format, dpi, problems)
    raise_if_any(problems)
    figure = render_map(kind, sites, options, **changes)
    buffer = io.BytesIO()
    save_map(figure, buffer, format=format, dpi=dpi)
    return buffer.getvalue()
