"""The pack's charts: data completeness by body, and a cluster's lease events on one axis.

Drawn with matplotlib for :func:`assetmap.maps.pack.export_pack` (any format of
:func:`assetmap.maps.static.save_map`): :func:`completeness_figure` of
:func:`assetmap.completeness.completeness`'s table, and :func:`timeline_figure` of
:func:`assetmap.lease_events.timeline`'s events. Names are drawn as text, never read as
formulas (:func:`assetmap.maps.static.page.fixed_rc`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ... import access
from ..._validate import raise_if_any
from ...completeness import chart_rows, percent
from ...lease_events import NOTICE_DEADLINE, TIMELINE_ROWS, _text, _today
from .page import fixed_rc

__all__ = ["completeness_figure", "timeline_figure"]


def completeness_figure(table: pd.DataFrame, *, title: str = "Data completeness by body") -> Figure:
    """Return a chart of each body's overall score: horizontal bars, most complete at the top.

    The bars of :func:`chart_rows`, each labelled with its percentage; a body's name
    is drawn as text, never read as a formula. For the map pack (any format of
    :func:`assetmap.maps.static.save_map`).

    Parameters
    ----------
    table
        A table from :func:`completeness`.
    title
        The chart's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows, note = chart_rows(table)
    with fixed_rc():  # names with "$...$" stay text (parse_math off)
        height = 1.6 + 0.26 * max(len(rows), 1)
        figure = Figure(figsize=(8.27, height), dpi=100)
        ax = figure.add_axes((0.38, 0.9 / height, 0.55, 1 - 1.5 / height))
        figure.suptitle(title, x=0.02, y=1 - 0.25 / height, ha="left", fontsize=11)
        if not len(rows):
            ax.set_axis_off()
            ax.text(0.5, 0.5, "No sites to measure.", ha="center", va="center")
            return figure
        labels = [
            (name if len(name) <= 48 else name[:47] + "…") + f" ({sites:,})"
            for name, sites in zip(rows["agency"].astype(str), rows["sites"], strict=True)
        ]
        scores = rows["score"].to_numpy(dtype="float64") * 100
        y = np.arange(len(rows))[::-1]
        ax.barh(y, scores, color="#2b6c9f", height=0.7)
        for yi, score in zip(y, rows["score"], strict=True):
            ax.text(min(score * 100 + 1, 101), yi, percent(score), va="center", fontsize=7)
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_xlim(0, 110)
        ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
        ax.set_xlabel("Overall score: the mean share of sites with each fact")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        footer = (
            "Each body is followed by its number of sites. "
            + (note + " " if note else "")
            + access.FIGURES_NOTE
        )
        figure.text(0.02, 0.15 / height, footer, fontsize=6, wrap=True)
    return figure


# --------------------------------------------------------------------------------------
# a cluster's lease events on one axis

#: Marker and colour of each event on :func:`timeline_figure`.
_MARKS: dict[str, tuple[str, str]] = {
    "next break": ("o", "#1f77b4"),
    "last break": ("s", "#1f77b4"),
    "rent review": ("d", "#7f7f7f"),
    "lease expiry": ("X", "#d62728"),
    NOTICE_DEADLINE: ("|", "#ff7f0e"),
}


def _draw_events(ax: Any, events: pd.DataFrame, y_of: dict[Any, int]) -> None:
    """Mark each event on its site's row, by kind; past events faded."""
    from matplotlib.colors import to_rgba

    for event, (marker, colour) in _MARKS.items():
        these = events[events["event"] == event]
        if not len(these):
            continue
        past = these["past"].to_numpy(dtype=bool) if "past" in these else np.zeros(len(these))
        rgba = np.tile(to_rgba(colour), (len(these), 1))
        rgba[:, 3] = np.where(past, 0.35, 1.0)  # past events faded
        ax.scatter(
            [_day_number(d) for d in pd.to_datetime(these["date"])],
            [y_of[k] for k in these["site_index"].tolist()],
            marker=marker,
            s=36,
            c=rgba,
            label=event,
            zorder=3,
        )


def _stamp(row: Mapping[str, Any] | pd.Series | None, column: str) -> pd.Timestamp | None:
    """Return a date of a windows row as a timestamp, or ``None`` (no row, or NaT)."""
    value = None if row is None else row.get(column)
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value)


def _day_number(value: Any) -> float:
    """Return a date as matplotlib's number of days (its date axis's unit)."""
    from matplotlib.dates import date2num

    return float(date2num(pd.Timestamp(value).to_pydatetime()))


def _date_limits(days: list[float]) -> tuple[float, float]:
    """Return a date axis's limits: the days' span and 5% each side, within years 1 to 9999.

    matplotlib places no date outside those years: an axis padded beyond them (a lease
    expiry of 31 December 9999, a break in year 1) cannot be drawn.
    """
    from matplotlib.dates import date2num

    low, high = min(days), max(days)
    pad = max((high - low) * 0.05, 30.0)
    first = float(date2num(_dt.datetime(1, 1, 2)))
    last = float(date2num(_dt.datetime(9999, 12, 30)))
    return max(low - pad, first), min(high + pad, last)


def _member_label(name: object, agency: object, is_hub: bool) -> str:
    label = f"{name} ({agency})" if agency else str(name)
    label = label if len(label) <= 60 else label[:59] + "…"
    return f"{label}: hub" if is_hub else label


def timeline_figure(
    events: pd.DataFrame,
    *,
    members: pd.DataFrame | None = None,
    window: Mapping[str, Any] | pd.Series | None = None,
    title: str = "",
    today: object = None,
    max_rows: int = TIMELINE_ROWS,
) -> Figure:
    """Draw a timeline of lease events: one row per site on one date axis.

    Parameters
    ----------
    events
        A table of :func:`timeline` or :func:`cluster_timeline` (a cluster's hub is
        labelled as such).
    members
        The sites to give a row each, even those without events (a cluster's
        members: ``name``, ``agency`` and ``is_hub`` where present, indexed by the
        events' ``site_index``); default the sites of ``events``.
    window
        A row of :func:`cluster_windows` (with ``opens`` and ``closes``), shaded;
        nothing is shaded when ``None`` or without a window.
    title
        The chart's title.
    today
        The date marked "today" (default today's date).
    max_rows
        The most sites drawn, the first of ``members`` (a cluster's hub first): a
        city's cluster has thousands; the chart says how many more there are.

    Returns
    -------
    matplotlib.figure.Figure
        A page 11.69 in (A4) wide, to save with :func:`assetmap.maps.static.save_map`.

    Raises
    ------
    InvalidArgumentError
        If ``events`` lacks the timeline's columns or ``today`` is not a date.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    problems: list[str] = []
    needed = {"site_index", "name", "agency", "event", "date"}
    if not isinstance(events, pd.DataFrame) or not needed <= set(events.columns):
        problems.append(
            f"events is a {type(events).__name__}; expected the table of timeline or "
            "cluster_timeline"
        )
    day = _today(today, problems)
    raise_if_any(problems)
    rows = _figure_rows(events, members)
    more = max(len(rows) - max(int(max_rows), 1), 0)
    if more:
        rows = rows.iloc[: len(rows) - more]
        events = events[events["site_index"].isin(rows["site_index"])]
        title = f"{title} (the first {len(rows):,} sites; {more:,} more not drawn)"
    y_of = {key: i for i, key in enumerate(rows["site_index"].tolist())}
    labels = [
        _member_label(n, a, h)
        for n, a, h in zip(rows["name"], rows["agency"], rows["is_hub"], strict=True)
    ]
    n = max(len(labels), 1)
    height = 1.6 + 0.3 * n  # inches: title, the rows, then the legend beneath
    with fixed_rc():
        figure = Figure(figsize=(11.69, height))
        ax = figure.add_axes((0.32, 1.15 / height, 0.64, (0.3 * n + 0.05) / height))
        opens, closes = _stamp(window, "opens"), _stamp(window, "closes")
        if opens is not None and closes is not None:
            ax.axvspan(
                _day_number(opens),
                _day_number(closes + pd.Timedelta(days=1)),
                color="#2ca02c",
                alpha=0.18,
                lw=0,
                label="window: every member but the hub could leave",
            )
        ax.axvline(_day_number(day), color="#555555", lw=0.8, ls="--")
        _draw_events(ax, events, y_of)
        if not len(events):  # the axis still shows where today is
            ax.set_xlim(
                _day_number(day - pd.DateOffset(months=6)),
                _day_number(day + pd.DateOffset(years=3)),
            )
        else:  # matplotlib's own margins would pass year 9999 (an expiry "31/12/9999")
            drawn = [_day_number(d) for d in pd.to_datetime(events["date"])]
            drawn += [_day_number(day), *(_day_number(s) for s in (opens, closes) if s)]
            ax.set_xlim(*_date_limits(drawn))
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=7)
        for tick in ax.get_yticklabels():
            tick.set_parse_math(False)
        ax.set_ylim(n - 0.5, -0.5)
        ax.grid(axis="x", color="#dddddd", lw=0.5)
        ax.set_title(str(title), fontsize=10, loc="left", parse_math=False)
        handles, names = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="#555555", ls="--", lw=0.8))
        names.append("today (past events faded)")
        ax.legend(
            handles,
            names,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.35 / (0.3 * n + 0.05)),
            ncol=3,
            fontsize=7,
        )
    return figure


def _figure_rows(events: pd.DataFrame, members: pd.DataFrame | None) -> pd.DataFrame:
    """Return one row per site of the chart: ``site_index``, ``name``, ``agency``, ``is_hub``."""
    if members is None:
        hub = events["is_hub"] if "is_hub" in events.columns else pd.Series(False, events.index)
        rows = events.assign(is_hub=hub.to_numpy(dtype=bool)).drop_duplicates("site_index")
        return rows[["site_index", "name", "agency", "is_hub"]]
    hub = members["is_hub"] if "is_hub" in members.columns else pd.Series(False, members.index)
    rows = pd.DataFrame(
        {
            "site_index": members.index.to_numpy(),
            "name": _text(members, "name"),
            "agency": _text(members, "agency"),
            "is_hub": hub.to_numpy(dtype=bool),
        }
    )
    rows = rows.iloc[np.argsort(~rows["is_hub"].to_numpy(), kind="stable")]
    extra = events[~events["site_index"].isin(rows["site_index"])]
    if len(extra):
        rows = pd.concat([rows, _figure_rows(extra, None)], ignore_index=True)
    return rows.reset_index(drop=True)
