"""The printed page around a map: paper, frame, extent, scale bar, north arrow and inset.

Lays out the page (map frame, legend panel, locator inset) for a paper size and
orientation, fits an extent at one scale in x and y, and draws the map's
furniture: a scale bar of a round length with its label, a north arrow and the
locator inset (the place within its country or its integrated care board). It
also holds the fixed matplotlib settings (fonts, SVG ids) every map is drawn and
saved with.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import matplotlib
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.typing import RcKeyType

from ..._validate import check_positive
from ...errors import InvalidArgumentError
from ...schema import CRS_BNG
from ..style import MAP_BACKGROUND
from .options import PAPERS, Place

__all__ = [
    "CONTEXT_FILL",
    "MUTED",
    "PLACE_EDGE",
    "TEXT",
    "Box",
    "Extent",
    "Layout",
    "draw_inset",
    "draw_north_arrow",
    "draw_scale_bar",
    "fit_extent",
    "fixed_rc",
    "make_layout",
    "nice_scale_length",
    "round_sig",
    "scale_label",
]

#: (x0, x1, y0, y1): a map's limits, EPSG:27700 metres.
Extent = tuple[float, float, float, float]
#: (left, bottom, width, height): a box on the page, in inches or as fractions.
Box = tuple[float, float, float, float]

#: Colours of the page's text, muted text, the place's outline and localities outside it.
TEXT = "#222222"
MUTED = "#555555"
PLACE_EDGE = "#333333"
CONTEXT_FILL = "#f1f0eb"
_INSET_HIGHLIGHT = "#c0392b"

#: matplotlib settings every map is drawn and saved with (fixed fonts and SVG ids).
_RC: dict[RcKeyType, Any] = {
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


@contextlib.contextmanager
def fixed_rc() -> Iterator[None]:
    """Hold the fixed matplotlib settings (and the lock that guards them) while drawing."""
    with _RC_LOCK, matplotlib.rc_context(_RC):
        yield


@dataclass
class Layout:
    """The page: its figure, the map frame, the legend panel and the inset's box.

    Attributes
    ----------
    figure
        The page.
    ax
        The map frame.
    legend_ax
        The legend panel (no axes drawn).
    inset_box
        Where the locator inset goes, as fractions of the page, or ``None``.
    scale
        The font and line scale: 1 on A4, about 1.41 on A3.
    width_in, height_in
        The page's size in inches.
    """

    figure: Figure
    ax: Axes
    legend_ax: Axes
    inset_box: Box | None
    scale: float
    width_in: float
    height_in: float


def _page_size(paper: str, landscape: bool) -> tuple[float, float]:
    w, h = PAPERS[paper]
    if landscape:
        w, h = h, w
    return w / 25.4, h / 25.4


def _boxes(
    width: float, height: float, s: float, *, landscape: bool, inset: bool
) -> tuple[Box, Box, Box | None]:
    """Return the map frame's, the legend's and the inset's boxes on the page, in inches."""
    margin, title_h, footer_h = 0.45 * s, 0.95 * s, 0.62 * s
    inset_box: Box | None = None
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
        legend_box = (px, margin + footer_h, panel_w, map_box[3])
        if inset:
            inset_box = (px, margin + footer_h, side, side)
            legend_box = (
                px,
                margin + footer_h + side + 0.2 * s,
                panel_w,
                map_box[3] - side - 0.2 * s,
            )
        return map_box, legend_box, inset_box
    panel_h = 2.2 * s
    map_box = (
        margin,
        margin + footer_h + panel_h + 0.15 * s,
        width - 2 * margin,
        height - 2 * margin - title_h - footer_h - panel_h - 0.15 * s,
    )
    legend_box = (margin, margin + footer_h, width - 2 * margin, panel_h)
    if inset:
        side = panel_h
        inset_box = (width - margin - side, margin + footer_h, side, side)
        legend_box = (margin, margin + footer_h, width - 2 * margin - side - 0.2 * s, panel_h)
    return map_box, legend_box, inset_box


def make_layout(paper: str, *, landscape: bool, inset: bool) -> Layout:
    """Lay out a page: the map frame, the legend panel and room for the inset.

    Parameters
    ----------
    paper
        One of :data:`~assetmap.maps.static.PAPERS`.
    landscape
        Landscape instead of portrait.
    inset
        Keep room for the locator inset.

    Returns
    -------
    Layout
    """
    width, height = _page_size(paper, landscape)
    s = min(width, height) / (PAPERS["A4"][0] / 25.4)
    # A Figure without pyplot keeps its base canvas, whose draw_idle does nothing: geopandas'
    # plot() asks for a redraw after every layer, which an Agg canvas would do at once.
    # save_map picks the Agg, PDF or SVG backend for the file.
    fig = Figure(figsize=(width, height), dpi=100)
    map_box, legend_box, inset_box = _boxes(width, height, s, landscape=landscape, inset=inset)

    def frac(box: Box) -> Box:
        x, y, w, h = box
        return (x / width, y / height, w / width, h / height)

    ax = fig.add_axes(frac(map_box))
    ax.set_gid("map-frame")
    ax.set_facecolor(MAP_BACKGROUND)
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    for spine in ax.spines.values():
        spine.set_linewidth(0.8 * s)
        spine.set_edgecolor(PLACE_EDGE)
    legend_ax = fig.add_axes(frac(legend_box))
    legend_ax.set_axis_off()
    return Layout(fig, ax, legend_ax, frac(inset_box) if inset_box else None, s, width, height)


def fit_extent(
    bounds: tuple[float, float, float, float], layout: Layout, *, margin: float = 0.04
) -> tuple[Extent, float]:
    """Return limits that show ``bounds`` at one scale in x and y, and metres per inch of paper.

    Parameters
    ----------
    bounds
        (minx, miny, maxx, maxy) to show, EPSG:27700 metres.
    layout
        The page, whose map frame shows the extent.
    margin
        The share of the span kept free on each side.

    Returns
    -------
    tuple
        The extent (x0, x1, y0, y1) and the metres per inch.
    """
    pos = layout.ax.get_position()
    box_w = pos.width * layout.width_in
    box_h = pos.height * layout.height_in
    minx, miny, maxx, maxy = bounds
    span_x = max(maxx - minx, 200.0)
    span_y = max(maxy - miny, 200.0)
    per_inch = max(span_x / box_w, span_y / box_h) * (1 + 2 * margin)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = per_inch * box_w / 2, per_inch * box_h / 2
    return (cx - half_w, cx + half_w, cy - half_h, cy + half_h), per_inch


# --------------------------------------------------------------------------- scale bar
#
# Hand-written, not matplotlib-scalebar (0.9, weighed for issue 14): that library picks
# its own length at draw time from its list of values (a 20 km wide map gets 2 km, not
# our nearest 1-2-5 length of 5 km) unless given a fixed value, which we would still
# compute here; it warns on our frames, whose aspect is "auto" (equal scale comes from
# fit_extent), and pytest makes warnings errors; and it draws inside an offset box at
# draw time, so the bar and its label are not artists of the frame that the print-map
# tests can measure on paper, nor elements with an id in the SVG. It would replace two
# rectangles and a text, and change the look of the bar (one solid block).


def nice_scale_length(map_width_m: float, *, fraction: float = 0.2) -> float:
    """Return a round scale-bar length (1, 2 or 5 × 10^n metres) near ``fraction`` of the width.

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

    Raises
    ------
    InvalidArgumentError
        If ``map_width_m`` is not a positive number.

    Examples
    --------
    >>> nice_scale_length(27_000)
    5000.0
    """
    if p := check_positive("map_width_m", map_width_m):
        raise InvalidArgumentError(p)
    target = map_width_m * fraction
    exponent = math.floor(math.log10(target))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    return min(candidates, key=lambda c: abs(math.log(c / target)))


def scale_label(metres: float) -> str:
    """Return a length as the scale bar shows it: ``"200 m"``, ``"5 km"``."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def round_sig(value: float, digits: int = 3) -> float:
    """Return ``value`` rounded to ``digits`` significant figures (as printed in 1:N)."""
    if value <= 0:
        return value
    return round(value, -math.floor(math.log10(value)) + digits - 1)


def draw_scale_bar(layout: Layout, extent: Extent, per_inch: float) -> tuple[float, float]:
    """Draw the scale bar in the frame's lower left corner.

    Parameters
    ----------
    layout
        The page.
    extent
        The map's limits.
    per_inch
        Metres per inch of paper (from :func:`fit_extent`).

    Returns
    -------
    tuple of float
        The bar's length in metres and the map's scale, 1:N.
    """
    ax, s = layout.ax, layout.scale
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
    for i, colour in enumerate((TEXT, "white")):
        ax.add_patch(
            Rectangle(
                (bx + i * half, by), half, height, facecolor=colour, edgecolor="none", zorder=21
            )
        )
    outline = Rectangle(
        (bx, by),
        length,
        height,
        facecolor="none",
        edgecolor=TEXT,
        linewidth=0.7 * s,
        zorder=22,
        gid="scale-bar",
    )
    ax.add_patch(outline)
    ax.text(
        bx + length / 2,
        by + height * 1.8,
        scale_label(length),
        ha="center",
        va="bottom",
        fontsize=7 * s,
        color=TEXT,
        zorder=23,
        gid="scale-bar-label",
    )
    return length, per_inch / 0.0254


def draw_north_arrow(layout: Layout) -> None:
    """Draw a north arrow in the frame's top right corner (north is up on the grid)."""
    ax, s = layout.ax, layout.scale
    pos = ax.get_position()
    box_w, box_h = pos.width * layout.width_in, pos.height * layout.height_in
    # An arrow 0.42 in tall and 0.24 in wide (on A4), 0.3 in from the frame's top right corner.
    h, w = 0.42 * s / box_h, 0.24 * s / box_w
    cx, top = 1 - (0.3 * s + 0.12 * s) / box_w, 1 - 0.3 * s / box_h
    tip = (cx, top)
    notch = (cx, top - h * 0.7)
    halves = (
        ([tip, (cx - w / 2, top - h), notch], TEXT, "north-arrow"),
        ([tip, notch, (cx + w / 2, top - h)], "white", None),
    )
    for corners, fill, gid in halves:
        ax.add_patch(
            Polygon(
                corners,
                closed=True,
                transform=ax.transAxes,
                facecolor=fill,
                edgecolor=TEXT,
                linewidth=0.5 * s,
                zorder=24,
                gid=gid,
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
        color=TEXT,
        zorder=24,
        gid="north-arrow-label",
    )


# --------------------------------------------------------------------------- inset


def draw_inset(layout: Layout, extent: Extent, place: Place | None, notes: list[str]) -> bool:
    """Draw the locator inset: the place within its context, and the map's extent.

    The context is :attr:`assetmap.places.Place.context`: the place's country,
    or its integrated care board (Trafford within England, Maidstone within
    Kent and Medway's board...).

    Parameters
    ----------
    layout
        The page (nothing is drawn without an inset box).
    extent
        The map's limits, outlined in the inset.
    place
        The place, filled in the inset, or ``None`` (the whole estate: no inset).
    notes
        Receives a note when the place has no context to locate it in.

    Returns
    -------
    bool
        Whether an inset was drawn (not for the whole estate, nor when the map
        already shows the whole context).
    """
    box = layout.inset_box
    if box is None or place is None:
        return False
    context = place.context
    if context is None or context.is_empty:
        notes.append(f"no locator inset: {place.name} has no country or board around it")
        return False
    x0, x1, y0, y1 = extent
    view = shapely.box(x0, y0, x1, y1)
    if view.contains(context):  # the map shows the whole context already
        return False
    s = layout.scale
    ax = layout.figure.add_axes(box)
    ax.set_gid("locator-inset")
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6 * s)
        spine.set_edgecolor(MUTED)
    ax.set_facecolor("white")
    gpd.GeoSeries([context], crs=CRS_BNG).plot(
        ax=ax, facecolor="#e4e4e4", edgecolor=MUTED, linewidth=0.6 * s, aspect=None
    )
    gpd.GeoSeries([place.geometry], crs=CRS_BNG).plot(
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
    minx, miny, maxx, maxy = context.union(view).bounds
    pos = ax.get_position()
    w_in = pos.width * layout.width_in
    h_in = pos.height * layout.height_in
    per = max((maxx - minx) / w_in, (maxy - miny) / h_in) * 1.08
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - per * w_in / 2, cx + per * w_in / 2)
    ax.set_ylim(cy - per * h_in / 2, cy + per * h_in / 2)
    ax.set_xlabel("")
    ax.set_ylabel("")
    name = place.name if len(place.name) <= 28 else place.name[:27] + "…"
    ax.set_title(f"Where {name} lies", fontsize=6.5 * s, color=MUTED, pad=2 * s)
    return True
