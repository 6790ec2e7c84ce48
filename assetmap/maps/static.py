"""Print-quality static maps: matplotlib over geopandas, with no browser and no internet.

Four kinds of map (:data:`KINDS`): the sites of a place by sector, a density
choropleth per locality, co-location clusters, and the matches of surplus space
to space requests (lines from each offer to the request it serves). Every map
has a title and a subtitle (the place, the date drawn and the date of the data),
a legend, a scale bar in metres or kilometres with the map's representative
fraction, a north arrow, the boundaries' attribution
(:data:`assetmap.localities.ATTRIBUTION`), the number of sites drawn and,
unless turned off, a locator inset of the county. Locality boundaries are the
basemap; background tiles are drawn only when a tile source is given and
answers, never required.

Pages are A4 or A3 (:data:`PAPERS`), portrait or landscape, and are written as
PNG (150 or 300 dpi), PDF or SVG (:data:`FORMATS`). The sector palette and the
symbols come from :mod:`assetmap.maps.style`, as on the interactive map.

Drawing is deterministic: the same estate and options give byte-identical SVG
and PDF files. Fonts are fixed (DejaVu Sans, shipped with matplotlib), SVG ids
come from a fixed hash salt, and no creation date is written into the files.
Text stays text in SVG and PDF (searchable, selectable); dense point layers
(more than :data:`RASTERIZE_ABOVE` points) are rasterised inside vector files at
the dpi asked for, while the legend, title and labels stay vector.

Restricted sites (``sensitivity == "restricted"``) of agencies other than the
viewer's are withheld: :func:`assetmap.access.visible_sites` removes them, once,
at the start of :func:`build_map` (``viewer=``), before anything is drawn,
counted, classed or noted, so no map, legend count or note can tell they exist.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so
drawing is safe from any thread (the Streamlit app draws in its script thread).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import math
import os
import textwrap
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle

from .. import access
from .._validate import check_frame, check_positive, one_of, raise_if_any
from ..access import Viewer
from ..colocation import DEFAULT_DISTANCE_M, ColocationResult, colocation_clusters
from ..errors import InvalidArgumentError
from ..files import guard_output, replace_atomically, unwritable_folder
from ..localities import ATTRIBUTION, LEVELS, load_localities
from ..schema import CRS_BNG, SECTORS, in_place, point_coordinates
from ..settings import TileSetting, default_store_path
from .style import (
    BOUNDARY_STYLE,
    CLUSTER_COLOUR,
    MAP_BACKGROUND,
    MATCH_LINE_COLOUR,
    NO_DATA_COLOUR,
    REQUEST_COLOUR,
    SECTOR_STYLES,
    class_colours,
    sector_key,
)

__all__ = [
    "DPIS",
    "FORMATS",
    "KINDS",
    "PAPERS",
    "PLACE_LEVELS",
    "RASTERIZE_ABOVE",
    "MapFormat",
    "Place",
    "StaticMap",
    "build_map",
    "check_output_path",
    "count_text",
    "in_place",
    "map_bytes",
    "nice_scale_length",
    "option_problems",
    "render_map",
    "resolve_place",
    "save_map",
]

#: Paper sizes, name -> (width, height) in millimetres, portrait.
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}


@dataclass(frozen=True)
class MapFormat:
    """How a file format is written.

    Attributes
    ----------
    mime
        The MIME type, for downloads.
    vector
        Whether text and lines stay vector (PDF, SVG) or the page is pixels (PNG).
    metadata
        Metadata handed to matplotlib: no creation date, so files repeat byte for byte.
    """

    mime: str
    vector: bool
    metadata: dict[str, Any]


#: File formats, name -> how it is written.
FORMATS: dict[str, MapFormat] = {
    "png": MapFormat("image/png", False, {"Software": None}),
    "pdf": MapFormat("application/pdf", True, {"CreationDate": None, "ModDate": None}),
    "svg": MapFormat("image/svg+xml", True, {"Date": None}),
}
#: Resolutions offered for PNG (and for the rasterised point layers of PDF and SVG).
DPIS: tuple[int, ...] = (150, 300)
#: Point layers with more points than this are rasterised inside PDF and SVG files.
RASTERIZE_ABOVE = 5_000
#: Levels searched for a place name, in order (the first match wins).
PLACE_LEVELS: tuple[str, ...] = ("county", "district", "nhs_area", "lsoa")
#: The atlas level below each place level.
_LEVEL_BELOW = {"county": "district", "nhs_area": "district", "district": "lsoa", "lsoa": "lsoa"}

_PER_LABELS = {"km2": " per km²", "residents": " per 1,000 residents", "total": ""}
_LEVEL_LABELS = {
    "district": "district",
    "lsoa": "LSOA",
    "nhs_area": "NHS area",
    "county": "county",
}

#: matplotlib settings every map is drawn and saved with (fixed fonts and SVG ids).
_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "svg.fonttype": "none",
    "svg.hashsalt": "assetmap-static-maps",
    "svg.id": None,
    "pdf.fonttype": 42,
    "pdf.compression": 6,
    "axes.unicode_minus": False,
    "path.simplify": True,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.bbox": None,
    "legend.frameon": False,
    "text.usetex": False,
    # text is text: a register value or a place name with "$...$" is never a formula
    "text.parse_math": False,
    "image.interpolation": "antialiased",
}
# rcParams are global: drawing and saving hold this lock so that two threads never
# see each other's temporary settings half-way through.
_RC_LOCK = threading.RLock()

_TEXT = "#222222"
_MUTED = "#555555"
_PLACE_EDGE = "#333333"
_CONTEXT_FILL = "#f1f0eb"
_CONTEXT_SITE = "#9a9a9a"
_INSET_HIGHLIGHT = "#c0392b"
_TILE_TIMEOUT_S = 5.0
_MAX_TILES = 64


@contextlib.contextmanager
def _fixed_rc() -> Iterator[None]:
    with _RC_LOCK, matplotlib.rc_context(_RC):
        yield


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Place:
    """A named area a map is drawn for.

    Attributes
    ----------
    name
        The name shown in titles ("Maidstone", "Kent and Medway").
    level
        The boundary level it comes from (``"district"``, ``"lsoa"``,
        ``"nhs_area"``, ``"county"``, or a user level such as ``"ward"``).
    code
        Its code (ONS code, or ``KENT_MEDWAY`` for the county).
    geometry
        Its outline, EPSG:27700.
    """

    name: str
    level: str
    code: str
    geometry: Any


def _norm_name(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def resolve_place(name: str | Place) -> Place:
    """Find a place by name or code in the bundled Kent and Medway boundaries.

    Names are compared without regard to case or spacing. The levels are
    searched in the order of :data:`PLACE_LEVELS`: ``"Kent and Medway"`` (the
    county outline), the 13 districts ("Maidstone"), the NHS area ("NHS Kent and
    Medway ICB - 91Q") and the 1,065 LSOAs ("Maidstone 001A"); codes
    ("E07000110") work too.

    Parameters
    ----------
    name
        A place name or code, or a :class:`Place` (returned as it is).

    Returns
    -------
    Place

    Raises
    ------
    InvalidArgumentError
        If no place has that name or code; the message lists close matches and
        the levels searched.
    """
    if isinstance(name, Place):
        return name
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(
            f"place={name!r} is not valid; expected the name of a place such as 'Maidstone' or "
            "'Kent and Medway'"
        )
    wanted = _norm_name(name)
    names: list[str] = []
    for level in PLACE_LEVELS:
        frame = load_localities(level)
        keys_name = frame["name"].map(_norm_name)
        keys_code = frame["code"].map(_norm_name)
        hit = np.flatnonzero(((keys_name == wanted) | (keys_code == wanted)).to_numpy())
        if hit.size:
            row = frame.iloc[hit[0]]
            return Place(str(row["name"]), level, str(row["code"]), row.geometry)
        names.extend(str(n) for n in frame["name"])
    lowered = {_norm_name(n): n for n in names}
    containing = sorted((n for n in lowered if wanted in n), key=lambda n: (len(n), n))
    close = difflib.get_close_matches(wanted, list(lowered), n=5, cutoff=0.6)
    close = list(dict.fromkeys([*containing, *close]))[:5]
    hint = f"did you mean: {', '.join(lowered[c] for c in close)}? " if close else ""
    raise InvalidArgumentError(
        f"place={name!r} is not a place in the bundled Kent and Medway boundaries; {hint}"
        f"expected a name or code from the levels {', '.join(PLACE_LEVELS)} (for example "
        "'Kent and Medway', 'Maidstone', 'Maidstone 001A' or 'E07000110')"
    )


# --------------------------------------------------------------------------- results


@dataclass
class StaticMap:
    """A drawn map and what is on it.

    Attributes
    ----------
    figure
        The page, ready for :func:`save_map`.
    kind
        One of :data:`KINDS`.
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


@dataclass
class _Layout:
    figure: Figure
    ax: Any
    legend_ax: Any
    inset_box: tuple[float, float, float, float] | None
    scale: float  # font and line scale: 1 on A4, about 1.41 on A3
    width_in: float
    height_in: float


@dataclass
class _Job:
    """Everything the kind-specific drawing functions need."""

    layout: _Layout
    sites: gpd.GeoDataFrame  # what the viewer may see, in the place
    place: Place | None
    localities: gpd.GeoDataFrame | None  # localities in view
    in_place: np.ndarray  # localities that belong to the place
    level: str
    options: dict[str, Any]
    handles: list[Any] = field(default_factory=list)
    legend_title: str = ""
    notes: list[str] = field(default_factory=list)
    sites_drawn: int = 0
    empty_message: str | None = None


# --------------------------------------------------------------------------- validation


def _check_common(
    kind: object,
    paper: object,
    landscape: object,
    inset: object,
    problems: list[str],
) -> None:
    if kind not in KINDS:
        problems.append(one_of("kind", kind, KINDS, what="a map kind"))
    _check_paper(paper, problems)
    if not isinstance(landscape, bool):
        problems.append(f"landscape={landscape!r} is not valid; expected True or False")
    if not isinstance(inset, bool):
        problems.append(f"inset={inset!r} is not valid; expected True or False")


def _check_paper(paper: object, problems: list[str]) -> None:
    if paper not in PAPERS:
        problems.append(one_of("paper", paper, PAPERS, what="a paper size"))


def _check_text(name: str, value: object, problems: list[str]) -> None:
    if value is not None and not isinstance(value, str):
        problems.append(f"{name}={value!r} is not valid; expected None or a text")


def _check_format_dpi(fmt: object, dpi: object, problems: list[str]) -> None:
    if fmt not in FORMATS:
        problems.append(one_of("format", fmt, FORMATS, what="a map file format"))
    if isinstance(dpi, bool) or dpi not in DPIS:
        problems.append(one_of("dpi", dpi, DPIS))


def option_problems(
    *,
    kind: object = "sites",
    paper: object = "A4",
    format: object = "png",
    dpi: object = 300,
    place: object = None,
) -> list[str]:
    """Every problem with these map options, in words (an empty list when all is well).

    Faces (the command line, the app) call this before loading an estate, so a
    bad option is reported at once, with every other bad option.

    Parameters
    ----------
    kind, paper, format, dpi
        As for :func:`render_map` and :func:`save_map`.
    place
        A place name to resolve with :func:`resolve_place`, or ``None``.

    Returns
    -------
    list of str
    """
    problems: list[str] = []
    _check_common(kind, paper, False, True, problems)
    _check_format_dpi(format, dpi, problems)
    if place is not None:
        try:
            resolve_place(place)
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    return problems


def check_output_path(name: str, path: str | os.PathLike[str], problems: list[str]) -> Path:
    """Check that a file can be written at ``path``; add a problem if not.

    The nearest existing folder above ``path`` must be a writable folder (missing
    folders below it are created when the file is written).

    Parameters
    ----------
    name
        The argument's name, for the message (``"--out"``, ``"target"``).
    path
        The file to be written.
    problems
        Receives the problem, if any.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        problems.append(f"{name} {str(path)!r} is a folder; expected the path of a file to write")
        return path
    folder, why = unwritable_folder(path.parent)
    if why == "not a folder":
        problems.append(
            f"{name} {str(path)!r} cannot be written: {str(folder)!r} is a file, not a folder; "
            "expected a path in a writable folder"
        )
    elif why == "not writable":
        problems.append(
            f"{name} {str(path)!r} cannot be written: the folder {str(folder)!r} is not "
            "writable; expected a path in a writable folder"
        )
    return path


# --------------------------------------------------------------------------- page layout


def _page_size(paper: str, landscape: bool) -> tuple[float, float]:
    w, h = PAPERS[paper]
    if landscape:
        w, h = h, w
    return w / 25.4, h / 25.4


def _layout(paper: str, landscape: bool, inset: bool) -> _Layout:
    width, height = _page_size(paper, landscape)
    s = min(width, height) / (PAPERS["A4"][0] / 25.4)
    # A Figure without pyplot keeps its base canvas, whose draw_idle does nothing: geopandas'
    # plot() asks for a redraw after every layer, which an Agg canvas would do at once.
    # save_map picks the Agg, PDF or SVG backend for the file.
    fig = Figure(figsize=(width, height), dpi=100)
    margin, title_h, footer_h = 0.45 * s, 0.95 * s, 0.62 * s
    inset_box = None
    if landscape:
        panel_w = 2.75 * s
        map_box = (
            margin,
            margin + footer_h,
            width - 2 * margin - panel_w - 0.2 * s,
            height - 2 * margin - title_h - footer_h,
        )
        px = width - margin - panel_w
        side = panel_w * 0.9
        if inset:
            inset_box = (px, margin + footer_h, side, side)
            legend_box = (
                px,
                margin + footer_h + side + 0.2 * s,
                panel_w,
                map_box[3] - side - 0.2 * s,
            )
        else:
            legend_box = (px, margin + footer_h, panel_w, map_box[3])
    else:
        panel_h = 2.2 * s
        map_box = (
            margin,
            margin + footer_h + panel_h + 0.15 * s,
            width - 2 * margin,
            height - 2 * margin - title_h - footer_h - panel_h - 0.15 * s,
        )
        if inset:
            side = panel_h
            inset_box = (width - margin - side, margin + footer_h, side, side)
            legend_box = (margin, margin + footer_h, width - 2 * margin - side - 0.2 * s, panel_h)
        else:
            legend_box = (margin, margin + footer_h, width - 2 * margin, panel_h)

    def frac(box: tuple[float, float, float, float]) -> list[float]:
        x, y, w, h = box
        return [x / width, y / height, w / width, h / height]

    ax = fig.add_axes(frac(map_box))
    ax.set_gid("map-frame")
    ax.set_facecolor(MAP_BACKGROUND)
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    for spine in ax.spines.values():
        spine.set_linewidth(0.8 * s)
        spine.set_edgecolor(_PLACE_EDGE)
    legend_ax = fig.add_axes(frac(legend_box))
    legend_ax.set_axis_off()
    return _Layout(fig, ax, legend_ax, frac(inset_box) if inset_box else None, s, width, height)


def _fit_extent(
    bounds: tuple[float, float, float, float], ax, *, margin: float = 0.04
) -> tuple[float, float, float, float, float]:
    """Limits that show ``bounds`` at one scale in x and y; and metres per inch of paper."""
    fig = ax.figure
    pos = ax.get_position()
    box_w = pos.width * fig.get_figwidth()
    box_h = pos.height * fig.get_figheight()
    minx, miny, maxx, maxy = bounds
    span_x = max(maxx - minx, 200.0)
    span_y = max(maxy - miny, 200.0)
    per_inch = max(span_x / box_w, span_y / box_h) * (1 + 2 * margin)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = per_inch * box_w / 2, per_inch * box_h / 2
    return cx - half_w, cx + half_w, cy - half_h, cy + half_h, per_inch


def nice_scale_length(map_width_m: float, *, fraction: float = 0.2) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^n metres) near ``fraction`` of the map width.

    Parameters
    ----------
    map_width_m
        The width of the map in metres, > 0.
    fraction
        The share of the width the bar should cover, about.

    Returns
    -------
    float
        Metres.
    """
    if p := check_positive("map_width_m", map_width_m):
        raise InvalidArgumentError(p)
    target = map_width_m * fraction
    exponent = math.floor(math.log10(target))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    return min(candidates, key=lambda c: abs(math.log(c / target)))


def _scale_label(metres: float) -> str:
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def _round_sig(value: float, digits: int = 3) -> float:
    if value <= 0:
        return value
    return round(value, -math.floor(math.log10(value)) + digits - 1)


# --------------------------------------------------------------------------- furniture


def _scale_bar(job: _Job, extent, per_inch: float) -> tuple[float, float]:
    ax, s = job.layout.ax, job.layout.scale
    x0, x1, y0, y1 = extent
    length = nice_scale_length(x1 - x0)
    height = (y1 - y0) * 0.009
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    back = Rectangle(
        (bx - (x1 - x0) * 0.012, by - height * 1.6),
        length + (x1 - x0) * 0.05,
        height * 5.6,
        facecolor="white",
        edgecolor="none",
        alpha=0.8,
        zorder=20,
    )
    ax.add_patch(back)
    half = length / 2
    for i, colour in enumerate((_TEXT, "white")):
        ax.add_patch(
            Rectangle(
                (bx + i * half, by),
                half,
                height,
                facecolor=colour,
                edgecolor="none",
                zorder=21,
            )
        )
    outline = Rectangle(
        (bx, by),
        length,
        height,
        facecolor="none",
        edgecolor=_TEXT,
        linewidth=0.7 * s,
        zorder=22,
        gid="scale-bar",
    )
    ax.add_patch(outline)
    label = _scale_label(length)
    ax.text(
        bx + length / 2,
        by + height * 1.8,
        label,
        ha="center",
        va="bottom",
        fontsize=7 * s,
        color=_TEXT,
        zorder=23,
        gid="scale-bar-label",
    )
    denominator = per_inch / 0.0254
    return length, denominator


def _north_arrow(job: _Job) -> None:
    ax, s = job.layout.ax, job.layout.scale
    fig = ax.figure
    pos = ax.get_position()
    box_w, box_h = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
    # An arrow 0.42 in tall and 0.24 in wide (on A4), 0.3 in from the frame's top right corner.
    h, w = 0.42 * s / box_h, 0.24 * s / box_w
    cx, top = 1 - (0.3 * s + 0.12 * s) / box_w, 1 - 0.3 * s / box_h
    tip = (cx, top)
    left = (cx - w / 2, top - h)
    right = (cx + w / 2, top - h)
    notch = (cx, top - h * 0.7)
    ax.add_patch(
        Polygon(
            [tip, left, notch],
            closed=True,
            transform=ax.transAxes,
            facecolor=_TEXT,
            edgecolor=_TEXT,
            linewidth=0.5 * s,
            zorder=24,
            gid="north-arrow",
        )
    )
    ax.add_patch(
        Polygon(
            [tip, notch, right],
            closed=True,
            transform=ax.transAxes,
            facecolor="white",
            edgecolor=_TEXT,
            linewidth=0.5 * s,
            zorder=24,
        )
    )
    ax.text(
        cx,
        top - h - 0.008,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=9 * s,
        fontweight="bold",
        color=_TEXT,
        zorder=24,
        gid="north-arrow-label",
    )


def _inset(job: _Job, extent) -> bool:
    box = job.layout.inset_box
    if box is None:
        return False
    county = load_localities("county")
    outline = shapely.union_all(county.geometry.to_numpy())
    x0, x1, y0, y1 = extent
    view = shapely.box(x0, y0, x1, y1)
    if not outline.intersects(view):
        job.notes.append("no locator inset: the map lies outside Kent and Medway")
        return False
    if view.contains(outline):  # the map shows the whole county already
        return False
    s = job.layout.scale
    ax = job.layout.figure.add_axes(box)
    ax.set_gid("locator-inset")
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6 * s)
        spine.set_edgecolor(_MUTED)
    ax.set_facecolor("white")
    districts = load_localities("district")
    districts.plot(ax=ax, facecolor="#e4e4e4", edgecolor="#ffffff", linewidth=0.4 * s, aspect=None)
    county.plot(ax=ax, facecolor="none", edgecolor=_MUTED, linewidth=0.6 * s, aspect=None)
    if job.place is not None:
        gpd.GeoSeries([job.place.geometry], crs=CRS_BNG).plot(
            ax=ax,
            facecolor=_INSET_HIGHLIGHT,
            edgecolor=_INSET_HIGHLIGHT,
            linewidth=0.4 * s,
            aspect=None,
        )
    ax.add_patch(
        Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            facecolor="none",
            edgecolor=_INSET_HIGHLIGHT,
            linewidth=0.9 * s,
            zorder=5,
        )
    )
    minx, miny, maxx, maxy = outline.union(view).bounds
    pos = ax.get_position()
    w_in = pos.width * job.layout.width_in
    h_in = pos.height * job.layout.height_in
    per = max((maxx - minx) / w_in, (maxy - miny) / h_in) * 1.08
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - per * w_in / 2, cx + per * w_in / 2)
    ax.set_ylim(cy - per * h_in / 2, cy + per * h_in / 2)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Location in Kent and Medway", fontsize=6.5 * s, color=_MUTED, pad=2 * s)
    return True


# --------------------------------------------------------------------------- tiles


def _tile_setting(tiles: object):
    """A :class:`assetmap.settings.TileSetting` from a setting or a URL template."""
    if isinstance(tiles, TileSetting):
        return tiles
    from urllib.parse import urlsplit

    return TileSetting(str(tiles), f"Tiles: {urlsplit(str(tiles)).netloc}")


def _fetch_tile(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=_TILE_TIMEOUT_S) as response:
        return response.read()


def _draw_tiles(job: _Job, extent, tiles) -> str | None:
    """Draw background tiles under the map; return their attribution, or None (with a note).

    Tiles are Web Mercator XYZ tiles fetched once per map with a short time-out,
    mosaicked with Pillow and resampled onto the British National Grid (nearest
    pixel) with pyproj. Any failure leaves the map without tiles and says so.
    """
    from PIL import Image
    from pyproj import Transformer

    setting = _tile_setting(tiles)
    x0, x1, y0, y1 = extent
    to_merc = Transformer.from_crs(CRS_BNG, "EPSG:3857", always_xy=True)
    gx = np.linspace(x0, x1, 24)
    gy = np.linspace(y0, y1, 24)
    mx, my = to_merc.transform(*np.meshgrid(gx, gy))
    world = 20037508.342789244
    pos = job.layout.ax.get_position()
    out_w = max(200, int(pos.width * job.layout.width_in * 150))
    out_h = max(200, int(pos.height * job.layout.height_in * 150))
    res = (mx.max() - mx.min()) / out_w
    zoom = int(np.clip(round(math.log2(2 * world / (256 * res))), 0, 19))

    def tile_range(z: int) -> tuple[int, int, int, int]:
        n = 2**z
        tx0 = int((mx.min() + world) / (2 * world) * n)
        tx1 = int((mx.max() + world) / (2 * world) * n)
        ty0 = int((world - my.max()) / (2 * world) * n)
        ty1 = int((world - my.min()) / (2 * world) * n)
        return max(tx0, 0), min(tx1, n - 1), max(ty0, 0), min(ty1, n - 1)

    tx0, tx1, ty0, ty1 = tile_range(zoom)
    while zoom > 0 and (tx1 - tx0 + 1) * (ty1 - ty0 + 1) > _MAX_TILES:
        zoom -= 1
        tx0, tx1, ty0, ty1 = tile_range(zoom)
    mosaic = Image.new("RGB", ((tx1 - tx0 + 1) * 256, (ty1 - ty0 + 1) * 256), "white")
    host = setting.url.split("/")[2] if "//" in setting.url else setting.url
    try:
        for tx in range(tx0, tx1 + 1):
            for ty in range(ty0, ty1 + 1):
                url = (
                    setting.url.replace("{s}", "a")
                    .replace("{z}", str(zoom))
                    .replace("{x}", str(tx))
                    .replace("{y}", str(ty))
                )
                tile = Image.open(io.BytesIO(_fetch_tile(url))).convert("RGB")
                if tile.size != (256, 256):
                    tile = tile.resize((256, 256))
                mosaic.paste(tile, ((tx - tx0) * 256, (ty - ty0) * 256))
    except Exception as exc:  # any network or image failure: the map is drawn without tiles
        job.notes.append(
            f"background tiles from {host} could not be used ({type(exc).__name__}: {exc}); "
            "the map is drawn without them"
        )
        return None
    pixels = np.asarray(mosaic)
    n = 2**zoom
    px = np.linspace(x0, x1, out_w)
    py = np.linspace(y1, y0, out_h)
    grid_x, grid_y = np.meshgrid(px, py)
    merc_x, merc_y = to_merc.transform(grid_x, grid_y)
    col = ((merc_x + world) / (2 * world) * n - tx0) * 256
    row = ((world - merc_y) / (2 * world) * n - ty0) * 256
    col = np.clip(col.astype(np.int64), 0, pixels.shape[1] - 1)
    row = np.clip(row.astype(np.int64), 0, pixels.shape[0] - 1)
    image = pixels[row, col]
    job.layout.ax.imshow(
        image,
        extent=(x0, x1, y0, y1),
        origin="upper",
        interpolation="nearest",
        zorder=0.5,
        aspect="auto",
        gid="background-tiles",
    )
    return setting.attribution


# --------------------------------------------------------------------------- layers


def _marker_size(n: int, s: float) -> tuple[float, float]:
    """Marker area (points²) and edge width for ``n`` points on the page."""
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


def _points_by_sector(
    job: _Job, frame: gpd.GeoDataFrame, *, prefix: str = "", zorder: float = 5
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
    for sector in SECTORS:
        hit = sectors == sector
        count = counts[sector]
        if not count:
            continue
        style = SECTOR_STYLES[sector]
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
            Line2D(
                [],
                [],
                linestyle="",
                marker=style.marker,
                markersize=6 * s,
                markerfacecolor=style.colour,
                markeredgecolor="white",
                markeredgewidth=0.4 * s,
                label=f"{prefix}{style.label} ({count:,})",
            )
        )


def _context_points(job: _Job, frame: gpd.GeoDataFrame, label: str) -> None:
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
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markersize=3.5 * s,
            markerfacecolor=_CONTEXT_SITE,
            markeredgecolor="none",
            label=f"{label} ({len(frame):,})",
        )
    )


def _draw_sites(job: _Job) -> None:
    """Sites by sector: one scatter per sector, markers and colours from the style module."""
    job.legend_title = "Sites by sector"
    job.sites_drawn = len(job.sites)
    if not len(job.sites):
        job.empty_message = "No sites to show"
        return
    _points_by_sector(job, job.sites)


def _draw_density(job: _Job) -> None:
    """A choropleth of the localities in the place, from :func:`density_by_locality`."""
    from ..density import METRIC_LABELS, density_by_locality

    ax, s = job.layout.ax, job.layout.scale
    opts = job.options
    metric, per = opts["metric"], opts["per"]
    locs = job.localities[job.in_place] if job.localities is not None else None
    if locs is None or not len(locs):
        job.legend_title = "Density"
        job.empty_message = "No localities to show"
        return
    result = density_by_locality(
        job.sites,
        locs[["code", "name", locs.geometry.name]],
        population=opts["population"],
        viewer=opts.get("viewer"),
    )
    frame, classes = result.choropleth(
        metric, per=per, scheme=opts["scheme"], k=opts["k"], bins=opts["bins"]
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
    counted = int(len(job.sites) - result.n_outside)
    job.sites_drawn = counted
    unit = METRIC_LABELS[metric] + _PER_LABELS[per]
    job.legend_title = (
        f"{unit} by {_LEVEL_LABELS.get(job.level, job.level)} ({classes.scheme.replace('_', ' ')})"
    )
    for colour, label, count in zip(colours, classes.legend, classes.counts, strict=False):
        job.handles.append(
            Patch(
                facecolor=colour,
                edgecolor="#6b6b6b",
                linewidth=0.4 * s,
                label=f"{label} ({count:,} {'locality' if count == 1 else 'localities'})",
            )
        )
    job.handles.append(
        Patch(
            facecolor=NO_DATA_COLOUR,
            edgecolor="#6b6b6b",
            linewidth=0.4 * s,
            label="No data",
        )
    )
    if not len(job.sites):
        job.empty_message = "No sites to count"


def _draw_clusters(job: _Job) -> None:
    """Co-location clusters: hulls, member sites by sector, hubs; other sites in grey."""
    ax, s = job.layout.ax, job.layout.scale
    opts = job.options
    distance = opts["distance"]
    result: ColocationResult | None = opts.get("clusters")
    if result is None:
        result = colocation_clusters(job.sites, distance=distance, viewer_agency=opts.get("viewer"))
    else:
        distance = result.distance_m
    job.legend_title = (
        f"Co-location clusters (sites of 2 or more agencies within {distance:,.0f} m)"
    )
    job.sites_drawn = len(job.sites)
    if not len(job.sites):
        job.empty_message = "No sites to show"
        return
    members = result.members
    member_ids = set(members.index)
    in_cluster = job.sites.index.isin(list(member_ids))
    _context_points(job, job.sites[~in_cluster], "Site in no cluster")
    clusters = result.clusters
    if len(clusters):
        clusters.plot(
            ax=ax,
            facecolor=CLUSTER_COLOUR,
            alpha=0.16,
            edgecolor="none",
            zorder=4,
            aspect=None,
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
    shown = job.sites[in_cluster]
    if len(shown):
        _points_by_sector(job, shown, prefix="Member: ", zorder=6)
        hubs = members[members["is_hub"].astype(bool)]
        hub_xy = _xy(hubs)
        size, _ = _marker_size(len(shown), s)
        ax.scatter(
            hub_xy[:, 0],
            hub_xy[:, 1],
            s=size * 4.5,
            marker="*",
            facecolors="none",
            edgecolors=_TEXT,
            linewidths=0.6 * s,
            zorder=7,
            gid="cluster-hubs",
        )
        job.handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker="*",
                markersize=9 * s,
                markerfacecolor="none",
                markeredgecolor=_TEXT,
                markeredgewidth=0.6 * s,
                label=f"Hub of a cluster ({len(hubs):,})",
            )
        )
        top = clusters.head(10)
        for row in top.itertuples():
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
    if not len(clusters):
        job.notes.append(result.message)


def _draw_matches(job: _Job) -> None:
    """The allocation plan: a line from each offer to the request it serves."""
    from ..matching import allocate, find_candidates

    ax, s = job.layout.ax, job.layout.scale
    opts = job.options
    plan = opts.get("plan")
    requests = opts.get("requests")
    if plan is None:  # build_map has checked that requests were given
        if job.place is not None and len(requests):
            _, located = point_coordinates(requests.geometry.to_numpy())
            requests = requests[in_place(requests, job.place.geometry) | ~located]
        plan = allocate(find_candidates(requests, job.sites, viewer_agency=opts.get("viewer")))
    job.legend_title = "Surplus space matched to space requests (the allocation plan)"
    job.sites_drawn = len(job.sites)
    used = set(plan.assignments["site_id"]) if len(plan.assignments) else set()
    offers = plan.match.offers
    other = (
        job.sites[~job.sites["site_id"].isin(list(used))] if "site_id" in job.sites else job.sites
    )
    _context_points(job, other, "Other site")
    lines = plan.lines()
    if len(lines):
        gpd.GeoSeries(lines.geometry, crs=CRS_BNG).plot(
            ax=ax,
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
    used_offers = offers[offers["site_id"].isin(list(used))] if len(offers) else offers
    if len(used_offers):
        _points_by_sector(job, used_offers, prefix="Offer: ", zorder=7)
    points = plan.match.request_points
    xy, located = point_coordinates(points.to_numpy())
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
        ax.scatter(
            xy[hit, 0],
            xy[hit, 1],
            s=size if matched else size * 0.8,
            marker=marker,
            facecolors="white" if matched else "none",
            edgecolors=REQUEST_COLOUR,
            linewidths=0.9 * s,
            zorder=8,
            gid=f"requests-{'matched' if matched else 'unmatched'}",
        )
        job.handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker=marker,
                markersize=7 * s,
                markerfacecolor="white" if matched else "none",
                markeredgecolor=REQUEST_COLOUR,
                markeredgewidth=0.9 * s,
                label=f"{label} ({count:,})",
            )
        )
    unplaced = int((~located).sum())
    if unplaced:
        job.notes.append(f"{unplaced:,} space requests have no point location and are not drawn")
    job.notes.append(plan.message)
    if not len(job.sites):
        job.empty_message = "No sites to show"
    elif not len(plan.match.requests):
        job.empty_message = "No space requests in this place"


#: Map kinds, name -> the function that draws the kind's layers.
KINDS: dict[str, Callable[[_Job], None]] = {
    "sites": _draw_sites,
    "density": _draw_density,
    "clusters": _draw_clusters,
    "matches": _draw_matches,
}

_DEFAULT_TITLES = {
    "sites": "Public estate by sector",
    "density": "Density of the public estate",
    "clusters": "Co-location clusters",
    "matches": "Surplus space and space requests",
}


# --------------------------------------------------------------------------- the map


def count_text(n: int, noun: str) -> str:
    """``"1 site"``, ``"1,549 sites"``: a count with its noun, singular or plural."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _data_as_at(sites: pd.DataFrame) -> str:
    if "imported_at" not in sites.columns or not len(sites):
        return "no data"
    stamps = pd.to_datetime(sites["imported_at"], utc=True, errors="coerce", format="ISO8601")
    latest = stamps.max()
    return "unknown" if pd.isna(latest) else _long_date(latest.date())


def _localities_for(
    localities: object, place: Place | None, view, problems: list[str]
) -> tuple[gpd.GeoDataFrame | None, str]:
    """The localities in view (EPSG:27700) and the level's name."""
    from ..density import resolve_localities

    if localities is None:
        level = _LEVEL_BELOW.get(place.level, "district") if place is not None else "district"
        if place is not None and place.level not in LEVELS:
            level = "district"
        localities = level
    if isinstance(localities, str) and localities in LEVELS:
        level = localities
    elif isinstance(localities, gpd.GeoDataFrame):
        level = str(localities.attrs.get("level", "locality"))
    else:
        level = Path(str(localities)).stem
    try:
        frame, _ = resolve_localities(localities, argument="localities")
    except InvalidArgumentError as exc:
        problems.append(str(exc))
        return None, level
    if view is not None:
        hit = frame.sindex.query(view, predicate="intersects")
        frame = frame.iloc[np.sort(hit)]
    return frame, level


def build_map(
    kind: str,
    sites: gpd.GeoDataFrame,
    *,
    place: str | Place | None = None,
    localities: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    requests: gpd.GeoDataFrame | None = None,
    paper: str = "A4",
    landscape: bool = False,
    title: str | None = None,
    subtitle: str | None = None,
    inset: bool = True,
    drawn_on: date | None = None,
    metric: str = "sites",
    per: str = "km2",
    scheme: str = "quantiles",
    k: int = 5,
    bins: list[float] | None = None,
    population: pd.DataFrame | None = None,
    distance: float = DEFAULT_DISTANCE_M,
    clusters: ColocationResult | None = None,
    plan: Any = None,
    tiles: object = None,
    viewer: Viewer | str | None = None,
) -> StaticMap:
    """Draw one print map and say what is on it (:func:`render_map` returns just the figure).

    Parameters are those of :func:`render_map`; ``viewer`` (a
    :class:`assetmap.access.Viewer` or an agency's name) lets that agency's
    restricted sites be drawn, and take part in clusters and matches
    (default ``None``: no restricted site is drawn).

    Returns
    -------
    StaticMap

    Examples
    --------
    >>> drawn = build_map("density", store.sites(), place="Kent and Medway")  # doctest: +SKIP
    >>> drawn.sites_drawn, drawn.legend  # doctest: +SKIP
    >>> save_map(drawn.figure, "density.png", format="png", dpi=150)  # doctest: +SKIP
    """
    from ..density import METRICS, PER, classify

    problems: list[str] = []
    _check_common(kind, paper, landscape, inset, problems)
    _check_text("title", title, problems)
    _check_text("subtitle", subtitle, problems)
    if drawn_on is not None and not isinstance(drawn_on, date):
        problems.append(f"drawn_on={drawn_on!r} is not valid; expected None or a date")
    sites_problems, sites = check_frame("sites", sites, ("sector",))
    problems.extend(sites_problems)
    if requests is not None:
        req_problems, requests = check_frame("requests", requests, ("agency", "sector"))
        problems.extend(req_problems)
    if kind == "density":
        if metric not in METRICS:
            problems.append(one_of("metric", metric, METRICS))
        if per not in PER:
            problems.append(one_of("per", per, PER))
        try:
            classify([], scheme=scheme, k=k, bins=bins)  # checks the arguments only
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    if kind == "clusters" and clusters is None and (p := check_positive("distance", distance)):
        problems.append(p)
    if kind == "matches" and plan is None and requests is None:
        problems.append(
            "requests=None but kind='matches' needs the space requests; expected a "
            "GeoDataFrame of requests (for example open_store(path).requests())"
        )
    resolved: Place | None = None
    if place is not None:
        try:
            resolved = resolve_place(place)
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    if tiles is not None:
        try:
            _tile_setting(tiles)
        except InvalidArgumentError as exc:
            problems.append(f"tiles: {exc}")
    try:
        viewer = access.as_viewer(viewer)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    raise_if_any(problems)

    with _fixed_rc():
        return _build(
            kind,
            sites,
            resolved,
            localities,
            paper=paper,
            landscape=landscape,
            title=title,
            subtitle=subtitle,
            inset=inset,
            drawn_on=drawn_on or date.today(),
            tiles=tiles,
            options={
                "metric": metric,
                "per": per,
                "scheme": scheme,
                "k": k,
                "bins": bins,
                "population": population,
                "distance": distance,
                "clusters": clusters,
                "plan": plan,
                "requests": requests,
                "viewer": viewer,
            },
        )


def _build(
    kind: str,
    sites: gpd.GeoDataFrame,
    place: Place | None,
    localities: object,
    *,
    paper: str,
    landscape: bool,
    title: str | None,
    subtitle: str | None,
    inset: bool,
    drawn_on: date,
    tiles: object,
    options: dict[str, Any],
) -> StaticMap:
    # the disclosure rule, before anything is drawn, counted or noted (assetmap.access)
    sites = access.visible_sites(sites, options.get("viewer"))
    _, located = point_coordinates(sites.geometry.to_numpy())
    shown = sites[in_place(sites, place.geometry if place is not None else None)]
    unlocated = int((~located).sum()) if place is None else 0

    layout = _layout(paper, landscape, inset)
    ax, s = layout.ax, layout.scale
    if place is not None:
        bounds = place.geometry.bounds
    elif len(shown):
        bounds = tuple(shown.total_bounds)
    else:
        bounds = tuple(load_localities("county").total_bounds)
    x0, x1, y0, y1, per_inch = _fit_extent(bounds, ax)
    view = shapely.box(x0, y0, x1, y1)
    problems: list[str] = []
    locs, level = _localities_for(localities, place, view, problems)
    raise_if_any(problems)
    if locs is not None and len(locs):
        if place is not None:
            rep = shapely.point_on_surface(locs.geometry.to_numpy())
            shapely.prepare(place.geometry)
            belongs = shapely.intersects(place.geometry, rep)
        else:
            belongs = np.ones(len(locs), dtype=bool)
    else:
        belongs = np.zeros(0, dtype=bool)

    job = _Job(
        layout=layout,
        sites=shown,
        place=place,
        localities=locs,
        in_place=belongs,
        level=level,
        options=options,
    )
    tile_attribution = _draw_tiles(job, (x0, x1, y0, y1), tiles) if tiles is not None else None
    fill_alpha = 0.35 if tile_attribution else 1.0
    if locs is not None and len(locs) and kind != "density":
        fills = np.where(belongs, BOUNDARY_STYLE["fillColor"], _CONTEXT_FILL)
        locs.plot(
            ax=ax,
            color=list(fills),
            edgecolor=BOUNDARY_STYLE["color"],
            linewidth=0.35 * s,
            alpha=fill_alpha,
            zorder=1,
            aspect=None,
            gid="boundaries",
        )
    elif locs is not None and len(locs) and kind == "density" and (~belongs).any():
        locs[~belongs].plot(
            ax=ax,
            color=_CONTEXT_FILL,
            edgecolor=BOUNDARY_STYLE["color"],
            linewidth=0.35 * s,
            zorder=1,
            aspect=None,
        )
    if place is not None:
        gpd.GeoSeries([place.geometry], crs=CRS_BNG).plot(
            ax=ax,
            facecolor="none",
            edgecolor=_PLACE_EDGE,
            linewidth=1.3 * s,
            zorder=2.5,
            aspect=None,
            gid="place-outline",
        )
    KINDS[kind](job)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")

    if job.empty_message:
        where = place.name if place is not None else "the selection"
        ax.text(
            0.5,
            0.5,
            f"{job.empty_message} in {where}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=12 * s,
            color=_TEXT,
            zorder=30,
            gid="no-sites",
            bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": _MUTED},
        )
        job.notes.append(f"{job.empty_message.lower()} in {where}")

    scale_m, denominator = _scale_bar(job, (x0, x1, y0, y1), per_inch)
    _north_arrow(job)
    _inset(job, (x0, x1, y0, y1))

    where = place.name if place is not None else "Whole estate"
    title = title if title is not None else f"{_DEFAULT_TITLES[kind]}: {where}"
    if subtitle is None:
        level_text = f" ({_LEVEL_LABELS.get(place.level, place.level)})" if place else ""
        subtitle = (
            f"{where}{level_text} · drawn {_long_date(drawn_on)} · data as at {_data_as_at(shown)}"
        )
    fig = layout.figure
    top = 1 - 0.45 * s / layout.height_in
    left = 0.45 * s / layout.width_in
    fig.text(
        left, top, title, fontsize=16 * s, fontweight="bold", color=_TEXT, va="top", gid="map-title"
    )
    fig.text(
        left,
        top - 0.36 * s / layout.height_in,
        subtitle,
        fontsize=9 * s,
        color=_MUTED,
        va="top",
        gid="map-subtitle",
    )

    legend_labels = [h.get_label() for h in job.handles]
    ncol = 2 if not landscape and kind != "density" and len(job.handles) > 5 else 1
    pos = layout.legend_ax.get_position()
    panel_chars = pos.width * layout.width_in / s * 72 / 4.2  # 7.5 pt DejaVu Sans, about
    label_chars = int(panel_chars / ncol) - 6
    legend_title = "\n".join(textwrap.wrap(job.legend_title, int(panel_chars * 0.86)))
    for handle in job.handles:
        handle.set_label("\n".join(textwrap.wrap(handle.get_label(), label_chars)))
    if job.handles:
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
    else:
        layout.legend_ax.text(
            0, 1, legend_title, va="top", fontsize=8.5 * s, color=_TEXT, fontweight="bold"
        )

    verb = "counted" if kind == "density" else "drawn"
    counts = f"{count_text(job.sites_drawn, 'site')} {verb}"
    if unlocated:
        counts += f"; {unlocated:,} without a location"
    scale_text = f"Scale 1:{_round_sig(denominator):,.0f} on {paper} paper"
    fig.text(
        left,
        0.45 * s / layout.height_in + 0.36 * s / layout.height_in,
        f"{counts}.  {scale_text}.  British National Grid (EPSG:27700).",
        fontsize=7 * s,
        color=_TEXT,
        va="bottom",
        gid="map-counts",
    )
    attribution = ATTRIBUTION + (f". {tile_attribution}" if tile_attribution else "")
    width_chars = int(layout.width_in / s * 17.5)
    fig.text(
        left,
        0.45 * s / layout.height_in + 0.3 * s / layout.height_in,
        "\n".join(textwrap.wrap(attribution, width_chars)),
        fontsize=6 * s,
        color=_MUTED,
        va="top",
        linespacing=1.3,
        gid="map-attribution",
    )
    return StaticMap(
        figure=fig,
        kind=kind,
        title=title,
        subtitle=subtitle,
        place=place,
        sites_drawn=job.sites_drawn,
        unlocated=unlocated,
        legend=legend_labels,
        scale_m=scale_m,
        scale_denominator=denominator,
        notes=job.notes,
    )


def render_map(
    kind: str,
    sites: gpd.GeoDataFrame,
    *,
    place: str | Place | None = None,
    localities: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    requests: gpd.GeoDataFrame | None = None,
    paper: str = "A4",
    landscape: bool = False,
    title: str | None = None,
    subtitle: str | None = None,
    inset: bool = True,
    **options: Any,
) -> Figure:
    """Draw one print map of the estate.

    Parameters
    ----------
    kind
        One of :data:`KINDS`: ``"sites"`` (by sector), ``"density"``
        (choropleth per locality), ``"clusters"`` (co-location) or
        ``"matches"`` (the allocation plan's lines from offers to requests).
    sites
        Canonical sites (points, EPSG:27700 or a CRS that reprojects to it).
        Only the sites inside ``place`` are used; other agencies' restricted
        sites are withheld from every layer, count and note.
    place
        A place name or code (see :func:`resolve_place`), a :class:`Place`, or
        ``None`` for every site given (the map fits them).
    localities
        The boundaries drawn as the basemap and, for density maps, the
        localities counted: a bundled level name, a boundary file path or a
        GeoDataFrame with ``code`` and ``name``. Default: the level below the
        place (districts for the county, LSOAs for a district).
    requests
        Space requests, needed by ``kind="matches"`` unless ``plan=`` is given.
    paper
        One of :data:`PAPERS`.
    landscape
        Landscape instead of portrait.
    title, subtitle
        Texts at the top; by default the kind and place, and the place, the
        date drawn and the date of the data.
    inset
        Draw the locator inset of Kent and Medway (left out for the county
        itself and for maps outside it).
    **options
        ``drawn_on`` (a date for the subtitle, default today); for density
        ``metric``, ``per``, ``scheme``, ``k``, ``bins``, ``population`` (as
        for :meth:`assetmap.density.LocalityDensity.choropleth`); for clusters
        ``distance`` (metres) or a ready ``clusters=`` result; for matches a
        ready ``plan=`` (:class:`assetmap.matching.AllocationPlan`); ``tiles``:
        a :class:`assetmap.maps.interactive.TileSetting` or an XYZ URL template
        for background tiles, drawn only if the server answers; ``viewer``: who
        is looking (:class:`assetmap.access.Viewer` or an agency's name), whose
        own restricted sites are drawn (default ``None``: none are).

    Returns
    -------
    matplotlib.figure.Figure
        The page; write it with :func:`save_map`.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used: an unknown kind, paper,
        place (with close matches), metric or scheme, sites that are not a
        GeoDataFrame, a matches map without requests...

    Examples
    --------
    >>> fig = render_map("sites", store.sites(), place="Maidstone")  # doctest: +SKIP
    >>> save_map(fig, "maidstone.pdf", format="pdf")  # doctest: +SKIP
    """
    return build_map(
        kind,
        sites,
        place=place,
        localities=localities,
        requests=requests,
        paper=paper,
        landscape=landscape,
        title=title,
        subtitle=subtitle,
        inset=inset,
        **options,
    ).figure


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
        One of :data:`FORMATS`.
    dpi
        One of :data:`DPIS`: the PNG's resolution, and that of rasterised point
        layers in PDF and SVG.

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
    _check_format_dpi(format, dpi, problems)
    is_path = isinstance(target, (str, os.PathLike))
    if is_path:
        check_output_path("target", target, problems)
        # the command line also guards its --store
        guard_output(target, store=default_store_path(), name="target", problems=problems)
    elif not hasattr(target, "write"):
        problems.append(
            f"target is a {type(target).__name__}; expected a file path or a binary file object"
        )
    raise_if_any(problems)
    spec = FORMATS[format]
    with _fixed_rc():
        if not is_path:
            figure.savefig(target, format=format, dpi=dpi, metadata=spec.metadata)
            return None
        path = Path(target)
        try:
            with replace_atomically(path, suffix=f".tmp.{format}") as tmp:
                figure.savefig(tmp, format=format, dpi=dpi, metadata=spec.metadata)
        except OSError as exc:
            raise InvalidArgumentError(
                f"target {str(path)!r} cannot be written ({exc.strerror or exc}); expected a "
                "path in a writable folder"
            ) from None
    return path


def map_bytes(
    kind: str, sites: gpd.GeoDataFrame, *, format: str = "png", dpi: int = 300, **render: Any
) -> bytes:
    """Draw a map and return the file's bytes (for downloads).

    Parameters
    ----------
    kind, sites, **render
        As for :func:`render_map`.
    format, dpi
        As for :func:`save_map`.

    Returns
    -------
    bytes

    Examples
    --------
    >>> pdf = map_bytes("sites", store.sites(), place="Maidstone", format="pdf")  # doctest: +SKIP
    >>> pdf[:4]  # doctest: +SKIP
    b'%PDF'
    """
    problems: list[str] = []
    _check_format_dpi(format, dpi, problems)
    raise_if_any(problems)
    figure = render_map(kind, sites, **render)
    buffer = io.BytesIO()
    save_map(figure, buffer, format=format, dpi=dpi)
    return buffer.getvalue()
