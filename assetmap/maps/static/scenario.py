"""A scenario on paper: its moves drawn on a place map, and its before-and-after table.

For the map pack (:func:`assetmap.maps.pack.export_pack`): :func:`draw_moves` adds a
scenario's moves to a sites map of the place (a line from each closed site to the
site it moves into, or from an offer's site to the request; a cross on each site
closed or disposed of), and :func:`totals_figure` draws the totals before and after
as a table on a page. Every text is drawn as text (a register's name with ``$`` is
never read as a formula: :func:`assetmap.maps.static.page.fixed_rc`).
"""

from __future__ import annotations

import numpy as np
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .page import fixed_rc
from .render import StaticMap

__all__ = [
    "CLOSED_COLOUR",
    "MOVE_COLOUR",
    "draw_moves",
    "one_line",
    "totals_figure",
    "totals_rows",
]

#: The colour of a move's line, and of a closed site's cross.
MOVE_COLOUR = "#1f5fa8"
CLOSED_COLOUR = "#b2182b"


def _map_axes(built: StaticMap):
    found = [ax for ax in built.figure.axes if ax.get_gid() == "map-frame"]
    return found[0] if found else built.figure.axes[0]


def draw_moves(built: StaticMap, result, *, label: str = "") -> int:
    """Draw the moves ``result`` made on ``built`` (a sites map of the place); return them.

    Parameters
    ----------
    built
        A map of :func:`assetmap.maps.static.build_map` (EPSG:27700 axes).
    result
        A :class:`assetmap.scenarios.ScenarioResult` of the same viewer's sites.
    label
        A line written in the map's top left corner (the scenario's name).

    Returns
    -------
    int
        How many moves were drawn (a move whose ends are not both located is not).
    """
    layers = result.layers()
    moves, closed = layers["moves"], layers["closed"]
    ax = _map_axes(built)
    limits = ax.get_xlim(), ax.get_ylim()
    with fixed_rc():
        for line in moves.geometry:
            xy = np.asarray(shapely.get_coordinates(line))
            ax.plot(xy[:, 0], xy[:, 1], color=MOVE_COLOUR, linewidth=1.6, zorder=20)
            ax.annotate(
                "",
                xy=tuple(xy[-1]),
                xytext=tuple(xy[0]),
                arrowprops={"arrowstyle": "->", "color": MOVE_COLOUR, "lw": 1.6},
                zorder=21,
            )
        if len(closed):
            xy = np.asarray(shapely.get_coordinates(closed.geometry.to_numpy()))
            ax.scatter(xy[:, 0], xy[:, 1], marker="x", s=40, color=CLOSED_COLOUR, zorder=22)
        handles = []
        if len(moves):
            handles.append(Line2D([], [], color=MOVE_COLOUR, lw=1.6, label="Space moved"))
        if len(closed):
            handles.append(
                Line2D([], [], color=CLOSED_COLOUR, marker="x", lw=0, label="Site closed")
            )
        ax.legend(
            handles=handles or [Line2D([], [], lw=0, label="No move drawn")],
            loc="lower right",
            fontsize=7,
            framealpha=0.9,
        )
        if label:
            ax.text(
                0.01,
                0.99,
                one_line(label),
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=9,
                weight="bold",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
                zorder=30,
            )
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    return len(moves)


def one_line(text: object) -> str:
    """Return ``text`` on one line: every run of spaces and line breaks made one space.

    A register's name may hold line breaks (new line, carriage return, form feed,
    ``U+2028``...); each move, and the title, is written as one line at a fixed height.
    """
    return " ".join(str(text).split())


def _figure(measure: str, value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    sign = "−" if value < 0 else ""
    money = "£" in measure
    return f"{sign}{'£' if money else ''}{abs(value):,.0f}"


def totals_rows(result) -> list[list[str]]:
    """Return the totals as the table's rows: measure, before, after, change (written out)."""
    totals = result.totals
    return [
        [
            str(measure)[:1].upper() + str(measure)[1:],
            _figure(str(measure), float(row["before"])),
            _figure(str(measure), float(row["after"])),
            _figure(str(measure), float(row["change"])),
        ]
        for measure, row in totals.iterrows()
    ]


def totals_figure(result, *, title: str, subtitle: str = "") -> Figure:
    """Return a page with the scenario's totals before and after, and its moves.

    Parameters
    ----------
    result
        A :class:`assetmap.scenarios.ScenarioResult`.
    title, subtitle
        The page's title and the line under it.
    """
    rows = totals_rows(result)
    moves = result.moves
    title, subtitle = one_line(title), one_line(subtitle)
    lines = []
    for row in moves.to_dict("records"):
        what = row["kind"]
        name = row["site_name"] or row["offer_name"] or row["site_id"] or row["offer_id"]
        into = row["into_name"] or row["request_name"]
        text = f"{row['number']}. {what}: {name}" + (f" → {into}" if into else "")
        if row["status"] == "refused":
            text += f" (refused: {row['reason']})"
        text = one_line(text)
        lines.append(text if len(text) <= 150 else text[:149] + "…")
    with fixed_rc():
        height = 3.2 + 0.22 * len(rows) + 0.2 * min(len(lines), 30)
        figure = Figure(figsize=(8.27, height), dpi=100)
        figure.suptitle(title, x=0.04, y=1 - 0.3 / height, ha="left", fontsize=12)
        if subtitle:
            figure.text(0.04, 1 - 0.55 / height, subtitle, fontsize=8, color="#444444")
        top = 1 - 0.8 / height
        table_h = (0.3 + 0.22 * len(rows)) / height
        ax = figure.add_axes((0.04, top - table_h, 0.92, table_h))
        ax.set_axis_off()
        table = ax.table(
            cellText=rows,
            colLabels=["Measure", "Before", "After", "Change"],
            loc="upper left",
            cellLoc="right",
            colLoc="right",
            colWidths=[0.46, 0.18, 0.18, 0.18],
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        for (r, c), cell in table.get_celld().items():
            cell.set_linewidth(0.3)
            if c == 0:
                cell.set_text_props(ha="left")
            if r == 0:
                cell.set_text_props(weight="bold")
        y = top - table_h - 0.35 / height
        figure.text(0.04, y, "Moves", fontsize=9, weight="bold")
        for i, text in enumerate(lines[:30]):
            figure.text(0.04, y - (0.22 + 0.2 * i) / height, text, fontsize=7)
        if len(lines) > 30:
            figure.text(0.04, 0.2 / height, f"… and {len(lines) - 30:,} more moves", fontsize=7)
    return figure
