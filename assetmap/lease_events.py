"""Lease events: when each site could be left, and when a co-location cluster could move.

A co-location cluster (:mod:`assetmap.colocation`) saves money only once every
member but the hub has left its building, and a leased member can leave only
at a lease break or at the end of its lease, after giving notice. This module
turns the lease dates of the canonical site table into:

* :func:`exit_dates`: each site's earliest way out and when;
* :func:`cluster_windows`: for each cluster, the earliest *window* in which every
  member but the hub could leave within a chosen number of years, ranked by the
  cluster's yearly saving; :func:`opening_within` keeps the windows opening in the
  next few months ("opening in the next 24 months");
* :func:`timeline` and :func:`cluster_timeline`: every lease event of some sites
  (a place's, or a cluster's members) as one long table, and
  :func:`assetmap.maps.static.charts.timeline_figure` draws them for the map pack.

The rules
---------
A site is *leased* when its ``tenure`` is ``"leasehold"`` or ``"licence"``. A site
whose tenure is unknown (``"unknown"``, blank or no ``tenure`` column) is taken to
be leased when its register gives a break or an expiry date; otherwise nothing is
known about leaving it (basis ``"tenure unknown"``). Any other site (freehold,
other) is *not leased* and can be left at any time.

A leased site can be left at each of its ``next_break``, ``last_break`` and
``lease_expiry`` dates that falls on or after *today plus its notice*
(``notice_months``, in calendar months, :class:`pandas.DateOffset`; a fraction of
a month counts as days at 365.25 / 12 days a month). Where the notice is unknown
none is assumed, and the tables say so. Using a break may cost a one-off
``break_penalty_gbp``; leaving at expiry costs nothing. A date that has passed, or
that falls inside the notice period, is no way out. A leased site with no such
date has unknown dates (basis ``"dates unknown"``).

The window of a cluster is the earliest span ``[opens, closes]`` of at most
``years`` years (calendar years) that holds a way out of every leaving member
(the members other than the hub): ``opens`` is the first of those dates and
``closes`` the date by which every one of them could have gone. Members that are
not leased fit any window; when no leaving member is leased the window opens and
closes today. It is found by the smallest-range-covering-one-from-each-list sweep
over the members' dates, sorted. Within the window each member leaves at its
cheapest way out (an expiry before a break), and the break penalties of those
that leave by a break are added up.

Missing columns (an older store, a hand-made table) are treated as all unknown.
Dates are ISO ``YYYY-MM-DD`` text (``""`` when unknown), as the canonical site
table keeps them; anything else counts as unknown.

Visibility
----------
These functions compute only from the rows they are given. :func:`cluster_windows`
and :func:`cluster_timeline` read the dates of a cluster's *members*
(:attr:`assetmap.colocation.ColocationResult.members`, which holds only the sites
the viewer may see: another agency's restricted site is in no cluster), looked up
by their index labels in ``sites``; no other row of ``sites`` is read.
:func:`exit_dates` and :func:`timeline` take the viewer's visible sites
(:func:`assetmap.access.visible_sites`) from the caller.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._validate import raise_if_any

if TYPE_CHECKING:
    from .colocation import ColocationResult

__all__ = [
    "DEFAULT_OPENING_MONTHS",
    "DEFAULT_YEARS",
    "EVENTS",
    "EXIT_COLUMNS",
    "LEASED_TENURES",
    "NOTICE_DEADLINE",
    "TIMELINE_COLUMNS",
    "TIMELINE_ROWS",
    "WINDOW_COLUMNS",
    "cluster_timeline",
    "cluster_windows",
    "exit_dates",
    "leased_mask",
    "opening_within",
    "timeline",
]

#: Tenures of a leased site.
LEASED_TENURES: tuple[str, ...] = ("leasehold", "licence")
#: The window's longest span, years, by default.
DEFAULT_YEARS = 2
#: "Opening in the next 24 months".
DEFAULT_OPENING_MONTHS = 24
#: The lease-event columns of a site, and the event each one is on a timeline.
EVENTS: dict[str, str] = {
    "next_break": "next break",
    "last_break": "last break",
    "rent_review": "rent review",
    "lease_expiry": "lease expiry",
}
#: The timeline's event for the last day to give notice of a break.
NOTICE_DEADLINE = "notice deadline"
#: The columns of :func:`exit_dates`.
EXIT_COLUMNS: tuple[str, ...] = (
    "exit_date",
    "basis",
    "break_penalty_gbp",
    "notice_months",
    "note",
)
#: The columns of :func:`cluster_windows`.
WINDOW_COLUMNS: tuple[str, ...] = (
    "cluster_id",
    "hub_name",
    "hub_agency",
    "agencies",
    "n_sites",
    "members_leaving",
    "leased_leaving",
    "opens",
    "closes",
    "saving_gbp",
    "saving_estimated",
    "break_penalties_gbp",
    "penalties_unknown",
    "notice_assumed",
    "dates_unknown",
    "status",
)
#: The most sites a timeline chart draws (one row each).
TIMELINE_ROWS = 60
#: The columns of :func:`timeline`.
TIMELINE_COLUMNS: tuple[str, ...] = (
    "site_index",
    "site_id",
    "name",
    "agency",
    "event",
    "date",
    "past",
)

_EXIT_SOURCES = ("next_break", "last_break", "lease_expiry")
_BREAKS = ("next_break", "last_break")
_DAYS_PER_MONTH = 365.25 / 12


# --------------------------------------------------------------------------------------
# reading the columns


def _today(today: object, problems: list[str]) -> pd.Timestamp:
    """Return ``today`` as a timestamp at midnight (the local date when ``None``)."""
    if today is None:
        return pd.Timestamp(_dt.date.today())
    if isinstance(today, (_dt.date, np.datetime64)) or (isinstance(today, str) and today.strip()):
        try:
            stamp = pd.Timestamp(today)
        except (ValueError, TypeError):
            pass
        else:
            if stamp is not pd.NaT and not pd.isna(stamp):
                return stamp.tz_localize(None).normalize() if stamp.tz else stamp.normalize()
    problems.append(f"today={today!r} is not a date; expected a date such as 2026-12-05")
    return pd.Timestamp(_dt.date.today())


def _check_sites(sites: object, problems: list[str]) -> None:
    if not isinstance(sites, pd.DataFrame):
        problems.append(
            f"sites is a {type(sites).__name__}; expected a table of sites (a DataFrame with "
            "the canonical columns)"
        )


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return a column of ISO dates as timestamps (NaT where blank, invalid or missing)."""
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    text = values.astype("string").str.strip()
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a column of figures as floats (NaN where missing, not a number, or no column)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    values = pd.to_numeric(frame[column], errors="coerce")
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a text column as an object array (``""`` where missing or no column)."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].astype("string").fillna("").to_numpy(dtype=object)


def _tenure(frame: pd.DataFrame) -> np.ndarray:
    """Return each site's tenure, lower case (``""`` where unknown)."""
    tenure = pd.Series(_text(frame, "tenure"), dtype="str").str.strip().str.lower()
    return tenure.where(tenure != "unknown", "").to_numpy(dtype=object)


def leased_mask(sites: pd.DataFrame) -> np.ndarray:
    """Return which sites are leased (see the module's notes), aligned to ``sites``.

    Parameters
    ----------
    sites
        Canonical sites; ``tenure``, ``next_break``, ``last_break`` and
        ``lease_expiry`` are read where present.

    Returns
    -------
    numpy.ndarray
        ``True`` for a leasehold or licence, and for a site of unknown tenure whose
        register gives a break or an expiry date.
    """
    tenure = _tenure(sites)
    leased = np.isin(tenure, LEASED_TENURES)
    dated = np.zeros(len(sites), dtype=bool)
    for column in _EXIT_SOURCES:
        dated |= _dates(sites, column).notna().to_numpy()
    return leased | ((tenure == "") & dated)


def _plus_months(dates: pd.Series, months: np.ndarray, *, back: bool = False) -> pd.Series:
    """Add (or, with ``back``, take) each row's ``months`` to its date; NaN counts as none.

    Months are calendar months; a fraction of a month counts as days (365.25 / 12 a
    month, rounded up).
    """
    months = np.where(np.isfinite(months) & (months > 0), months, 0.0)
    whole = np.floor(months)
    days = np.ceil(np.round((months - whole) * _DAYS_PER_MONTH, 6))
    out = dates.copy()
    for m, d in {(float(a), float(b)) for a, b in zip(whole, days, strict=True)}:
        if m == 0 and d == 0:
            continue
        rows = (whole == m) & (days == d)
        offset = pd.DateOffset(months=int(m), days=int(d))
        out[rows] = dates[rows] - offset if back else dates[rows] + offset
    return out


#: The longest notice taken as given, months (100 years); a longer one is taken as unknown.
_LONGEST_NOTICE = 1_200.0


def _notice(frame: pd.DataFrame) -> np.ndarray:
    """Return each site's notice, months: NaN where unknown, negative, absurd or not a number."""
    notice = _numbers(frame, "notice_months")
    usable = np.isfinite(notice) & (notice >= 0) & (notice <= _LONGEST_NOTICE)
    return np.where(usable, notice, np.nan)


# --------------------------------------------------------------------------------------
# ways out


def _ways_out(sites: pd.DataFrame, today: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """Return every way out of each leased site, and which sites are leased.

    The table has one row per usable date: ``pos`` (the site's position in
    ``sites``), ``date``, ``kind`` (``"break"`` or ``"expiry"``) and ``penalty``
    (the break penalty; 0 at expiry), ordered by position, date, and expiry first.
    """
    leased = leased_mask(sites)
    notice = _notice(sites)
    earliest = _plus_months(pd.Series(today, index=range(len(sites))), notice).to_numpy()
    penalty = _numbers(sites, "break_penalty_gbp")
    parts = []
    for column in _EXIT_SOURCES:
        dates = _dates(sites, column).to_numpy(dtype="datetime64[us]")
        usable = leased & ~np.isnat(dates) & (dates >= earliest)
        pos = np.flatnonzero(usable)
        is_break = column in _BREAKS
        parts.append(
            pd.DataFrame(
                {
                    "pos": pos,
                    "date": dates[pos],
                    "kind": "break" if is_break else "expiry",
                    "penalty": penalty[pos] if is_break else np.zeros(len(pos)),
                }
            )
        )
    ways = pd.concat(parts, ignore_index=True)
    ways["expiry_first"] = (ways["kind"] != "expiry").astype(np.int8)
    ways = ways.sort_values(["pos", "date", "expiry_first"], kind="stable")
    ways = ways.drop_duplicates(["pos", "date"]).drop(columns="expiry_first")
    return ways.reset_index(drop=True), leased


def exit_dates(sites: pd.DataFrame, *, today: object = None) -> pd.DataFrame:
    """Return the earliest date each site could be left, and how.

    Parameters
    ----------
    sites
        Canonical sites (a DataFrame); ``tenure``, ``next_break``, ``last_break``,
        ``lease_expiry``, ``notice_months`` and ``break_penalty_gbp`` are read where
        present (a missing column is all unknown). Pass the viewer's visible sites.
    today
        The date from which to count (a date, a timestamp or ISO text); default
        today's date.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``sites.index``, with the columns of :data:`EXIT_COLUMNS`:

        ``exit_date``
            The earliest date the site could be left: ``today`` for a site that is
            not leased, else the first break or expiry on or after today plus the
            notice; NaT when unknown.
        ``basis``
            ``"not leased"``, ``"break"``, ``"expiry"``, ``"dates unknown"`` (a
            leased site with no usable date) or ``"tenure unknown"``.
        ``break_penalty_gbp``
            The one-off cost of leaving then: the break penalty by a break (NaN
            when the register gives none), 0 at expiry or when not leased.
        ``notice_months``
            The notice counted (0 where unknown; NaN when not leased).
        ``note``
            What was assumed, in words (``"notice unknown: none assumed"``), or
            why no date is usable.

    Raises
    ------
    InvalidArgumentError
        If ``sites`` is not a table or ``today`` is not a date (both listed).

    Examples
    --------
    >>> exit_dates(store.sites(), today="2026-12-05")  # doctest: +SKIP
    """
    problems: list[str] = []
    _check_sites(sites, problems)
    day = _today(today, problems)
    raise_if_any(problems)
    ways, leased = _ways_out(sites, day)
    n = len(sites)
    first = ways.drop_duplicates("pos")
    pos = first["pos"].to_numpy()
    exit_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    exit_date[pos] = first["date"].to_numpy(dtype="datetime64[us]")
    basis = np.full(n, "dates unknown", dtype=object)
    basis[pos] = first["kind"].to_numpy(dtype=object)
    penalty = np.full(n, np.nan)
    penalty[pos] = first["penalty"].to_numpy(dtype="float64")
    notice = _notice(sites)
    known_notice = np.isfinite(notice)
    note = np.where(leased & ~known_notice, "notice unknown: none assumed", "").astype(object)
    tenure = _tenure(sites)
    free = ~leased & (tenure != "")
    unknown_tenure = ~leased & (tenure == "")
    basis[free] = "not leased"
    basis[unknown_tenure] = "tenure unknown"
    exit_date[free] = day.to_datetime64().astype("datetime64[us]")
    penalty[free] = 0.0
    note[unknown_tenure] = "tenure and lease dates not given"
    stuck = leased & (basis == "dates unknown")
    if stuck.any():
        given = np.zeros(n, dtype=bool)
        for column in _EXIT_SOURCES:
            given |= _dates(sites, column).notna().to_numpy()
        for i in np.flatnonzero(stuck):
            why = (
                "every break and expiry date given has passed or falls within the notice"
                if given[i]
                else "no break or expiry date given"
            )
            note[i] = f"{note[i]}; {why}" if note[i] else why
    return pd.DataFrame(
        {
            "exit_date": exit_date,
            "basis": pd.array(basis, dtype="str"),
            "break_penalty_gbp": penalty,
            "notice_months": np.where(leased, np.where(known_notice, notice, 0.0), np.nan),
            "note": pd.array(note, dtype="str"),
        },
        index=sites.index,
    )


# --------------------------------------------------------------------------------------
# windows


def _span_months(years: object, problems: list[str]) -> int:
    """Return ``years`` as whole calendar months (at least one)."""
    if (
        isinstance(years, bool)
        or not isinstance(years, (int, float, np.integer, np.floating))
        or not math.isfinite(float(years))
        or not 1 <= round(float(years) * 12) <= 1_200
    ):
        problems.append(
            f"years={years!r} is not valid; expected a positive number of years, up to 100, "
            "such as 2"
        )
        return 12 * DEFAULT_YEARS
    return round(float(years) * 12)


def _check_result(result: object, sites: object, problems: list[str]) -> None:
    from .colocation import ColocationResult

    if not isinstance(result, ColocationResult):
        problems.append(
            f"result is a {type(result).__name__}; expected the ColocationResult of "
            "assetmap.colocation.colocation_clusters"
        )
        return
    if not isinstance(sites, pd.DataFrame):
        return
    if not sites.index.is_unique:
        problems.append(
            "sites has repeated index labels; expected the sites the co-location was worked "
            "out from, one row per label"
        )
        return
    missing = int((~result.members.index.isin(sites.index)).sum())
    if missing:
        problems.append(
            f"sites does not hold {missing:,} of the clusters' members; expected the sites the "
            "co-location was worked out from (its members are looked up by their index labels)"
        )


def _sweep(
    dates: list[int], who: list[int], limit: list[int], start: int, end: int, n: int
) -> tuple[int, int]:
    """Return the first span ``[l, r]`` of ``dates[start:end]`` holding each of ``n`` members.

    ``dates`` are sorted within the slice; ``who[i]`` is the member (0 to ``n - 1``)
    of ``dates[i]`` and ``limit[i]`` the latest date a span opening at ``dates[i]``
    may close on. The span found opens earliest and, for that opening, closes
    earliest; ``(-1, -1)`` when there is none.
    """
    count = [0] * n
    covered = 0
    right = start
    for left in range(start, end):
        while covered < n and right < end:
            w = who[right]
            if count[w] == 0:
                covered += 1
            count[w] += 1
            right += 1
        if covered < n:
            return -1, -1
        if dates[right - 1] <= limit[left]:
            return left, right - 1
        w = who[left]
        count[w] -= 1
        if count[w] == 0:
            covered -= 1
    return -1, -1


def _cheapest(
    who: list[int], expiry: list[bool], penalty: list[float], left: int, right: int
) -> tuple[float, int]:
    """Return the break penalties (known, and how many unknown) of leaving in ``[left, right]``.

    Each member leaves at its cheapest way out in the span: an expiry (free) before a
    break, and the first break otherwise.
    """
    best: dict[int, float] = {}
    for i in range(left, right + 1):
        w = who[i]
        if expiry[i]:
            best[w] = 0.0
        elif w not in best:
            best[w] = penalty[i]
    values = np.fromiter(best.values(), dtype=np.float64, count=len(best))
    known = values[np.isfinite(values)]
    return float(known.sum()), int(len(values) - len(known))


def cluster_windows(
    result: ColocationResult,
    sites: pd.DataFrame,
    *,
    years: float = DEFAULT_YEARS,
    today: object = None,
) -> pd.DataFrame:
    """Return, for each co-location cluster, when every member but the hub could leave.

    Parameters
    ----------
    result
        The co-location (:func:`assetmap.colocation.colocation_clusters`).
    sites
        The sites it was worked out from: each member's lease dates are read from
        the row of ``sites`` with the member's index label, and no other row is read.
    years
        The longest span of a window, years (calendar; fractions are rounded to
        whole months), more than 0 and up to 100.
    today
        The date from which to count (default today's date).

    Returns
    -------
    pandas.DataFrame
        One row per cluster, with the columns of :data:`WINDOW_COLUMNS`:
        ``cluster_id``, ``hub_name``, ``hub_agency``, ``agencies`` and ``n_sites``
        (from the clusters' table); ``members_leaving`` (every member but the hub);
        ``leased_leaving`` (those leased, whose dates decide the window); ``opens``
        and ``closes`` (the window; NaT without one); ``saving_gbp`` and
        ``saving_estimated`` (the cluster's yearly saving); ``break_penalties_gbp``
        (the known penalties of the members leaving by a break in the window) and
        ``penalties_unknown`` (those whose penalty the register does not give);
        ``notice_assumed`` (leased leaving members whose notice is unknown, taken as
        none); ``dates_unknown`` (leaving members with no usable date or tenure);
        ``status``: ``"window"``, ``"no window within N years"`` or ``"lease dates
        unknown for K members"``. Ranked: the windows first, each group by saving,
        largest first, then by cluster.

    Raises
    ------
    InvalidArgumentError
        Listing every problem: ``result`` not a co-location, ``sites`` not a table or
        not holding every member, ``years`` not a positive number, ``today`` not a
        date.

    Examples
    --------
    >>> sites = store.sites()  # doctest: +SKIP
    >>> windows = cluster_windows(colocation_clusters(sites), sites, years=2)  # doctest: +SKIP
    >>> opening_within(windows, months=24)  # doctest: +SKIP
    """
    problems: list[str] = []
    _check_sites(sites, problems)
    _check_result(result, sites, problems)
    months = _span_months(years, problems)
    day = _today(today, problems)
    raise_if_any(problems)

    clusters = pd.DataFrame(result.clusters.drop(columns=result.clusters.geometry.name))
    ids = clusters["cluster_id"].to_numpy(dtype=np.int64)
    rows = sites.loc[result.members.index]  # the members' own rows, and no other
    counts, ways = _member_counts(result.members, rows, ids, day)
    found, opens, closes, penalties, penalties_unknown = _find_windows(
        ids, ways, counts, months, day
    )
    n_unknown = counts["dates_unknown"]
    span = (
        f"{months // 12} year{'s' if months != 12 else ''}"
        if months % 12 == 0
        else f"{months} months"
    )
    status = np.where(found, "window", f"no window within {span}").astype(object)
    for i in np.flatnonzero(n_unknown):
        k = int(n_unknown[i])
        status[i] = f"lease dates unknown for {k} member{'s' if k != 1 else ''}"
    table = pd.DataFrame(
        {
            "cluster_id": ids,
            "hub_name": pd.array(clusters["hub_name"].to_numpy(dtype=object), dtype="str"),
            "hub_agency": pd.array(clusters["hub_agency"].to_numpy(dtype=object), dtype="str"),
            "agencies": pd.array(clusters["agencies"].to_numpy(dtype=object), dtype="str"),
            "n_sites": clusters["n_sites"].to_numpy(dtype=np.int64),
            "members_leaving": counts["members_leaving"],
            "leased_leaving": counts["leased_leaving"],
            "opens": opens,
            "closes": closes,
            "saving_gbp": clusters["saving_gbp"].to_numpy(dtype="float64"),
            "saving_estimated": clusters["saving_estimated"].to_numpy(dtype=bool),
            "break_penalties_gbp": np.where(found, penalties, np.nan),
            "penalties_unknown": penalties_unknown,
            "notice_assumed": counts["notice_assumed"],
            "dates_unknown": n_unknown,
            "status": pd.array(status, dtype="str"),
        }
    )
    order = np.lexsort((ids, -table["saving_gbp"].to_numpy(), ~found))
    return table.iloc[order].reset_index(drop=True)


def _member_counts(
    members: pd.DataFrame, rows: pd.DataFrame, ids: np.ndarray, day: pd.Timestamp
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Count each cluster's leaving members by what is known of their leases.

    Returns
    -------
    counts, ways
        Per cluster (in the order of ``ids``): ``members_leaving``,
        ``leased_leaving``, ``dates_unknown`` and ``notice_assumed``; and the ways
        out of the leased leaving members (:func:`_ways_out`) with their ``cluster``.
    """
    ways, leased = _ways_out(rows, day)
    cluster = members["cluster_id"].to_numpy(dtype=np.int64)
    leaving = ~members["is_hub"].to_numpy(dtype=bool)
    has_way = np.zeros(len(members), dtype=bool)
    has_way[ways["pos"].to_numpy()] = True
    known_tenure = leased | (_tenure(rows) != "")
    leased_leaving = leaving & leased
    where = pd.Index(ids)

    def per_cluster(mask: np.ndarray) -> np.ndarray:
        counts = np.zeros(len(ids), dtype=np.int64)
        np.add.at(counts, where.get_indexer(cluster[mask]), 1)
        return counts

    counts = {
        "members_leaving": per_cluster(leaving),
        "leased_leaving": per_cluster(leased_leaving),
        "dates_unknown": per_cluster(leaving & ((leased & ~has_way) | ~known_tenure)),
        "notice_assumed": per_cluster(leased_leaving & ~np.isfinite(_notice(rows))),
    }
    ways = ways[leased_leaving[ways["pos"].to_numpy()]]
    return counts, ways.assign(cluster=cluster[ways["pos"].to_numpy()])


def _find_windows(
    ids: np.ndarray,
    ways: pd.DataFrame,
    counts: dict[str, np.ndarray],
    months: int,
    day: pd.Timestamp,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return, per cluster: whether it has a window, opens, closes, penalties and unknowns.

    The ways out of every cluster are sorted once, by cluster and date; each
    cluster's sweep then reads its own slice (a national estate has tens of
    thousands of clusters).
    """
    k = len(ids)
    opens = np.full(k, np.datetime64("NaT"), dtype="datetime64[us]")
    closes = opens.copy()
    penalties = np.zeros(k)
    penalties_unknown = np.zeros(k, dtype=np.int64)
    known = counts["dates_unknown"] == 0
    found = known & (counts["leased_leaving"] == 0)  # nobody leaving is leased: go today
    opens[found] = closes[found] = day.to_datetime64().astype("datetime64[us]")
    slot = pd.Index(ids).get_indexer(ways["cluster"].to_numpy())
    keep = known[slot]
    if not keep.any():
        return found, opens, closes, penalties, penalties_unknown
    slot = slot[keep]
    pos = ways["pos"].to_numpy()[keep]
    dates = ways["date"].to_numpy(dtype="datetime64[us]")[keep]
    expiry = (ways["kind"].to_numpy(dtype=object)[keep] == "expiry").astype(bool)
    penalty = ways["penalty"].to_numpy(dtype="float64")[keep]
    order = np.lexsort((pos, dates, slot))
    slot, pos, dates = slot[order], pos[order], dates[order]
    expiry, penalty = expiry[order], penalty[order]
    limit = (pd.DatetimeIndex(dates) + pd.DateOffset(months=months)).to_numpy(
        dtype="datetime64[us]"
    )
    # each member's number within its cluster, 0 to n - 1: the clusters' slices are
    # contiguous, so the codes of first appearance of one cluster's members are too
    codes, _ = pd.factorize(slot.astype(np.int64) * (int(pos.max(initial=0)) + 1) + pos)
    starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    local = codes - np.repeat(codes[starts], np.diff(np.r_[starts, len(slot)]))
    d, lim, who = dates.view(np.int64).tolist(), limit.view(np.int64).tolist(), local.tolist()
    exp, pen = expiry.tolist(), penalty.tolist()
    ends = np.r_[starts[1:], len(slot)].tolist()
    for start, end in zip(starts.tolist(), ends, strict=True):
        c = int(slot[start])
        left, right = _sweep(d, who, lim, start, end, int(counts["leased_leaving"][c]))
        if left < 0:
            continue
        opens[c], closes[c] = dates[left], dates[right]
        penalties[c], penalties_unknown[c] = _cheapest(who, exp, pen, left, right)
        found[c] = True
    return found, opens, closes, penalties, penalties_unknown


def _check_windows(windows: object, problems: list[str]) -> None:
    if not isinstance(windows, pd.DataFrame) or not {"opens", "status"} <= set(windows.columns):
        problems.append(
            f"windows is a {type(windows).__name__}"
            + (" without the columns opens and status" if isinstance(windows, pd.DataFrame) else "")
            + "; expected the table of cluster_windows"
        )


def _check_months(months: object, problems: list[str]) -> int:
    if (
        isinstance(months, bool)
        or not isinstance(months, (int, np.integer))
        or not 1 <= months <= 1_200
    ):
        problems.append(
            f"months={months!r} is not valid; expected a whole number of months, 1 to 1,200"
        )
        return DEFAULT_OPENING_MONTHS
    return int(months)


def opening_within(
    windows: pd.DataFrame, *, months: int = DEFAULT_OPENING_MONTHS, today: object = None
) -> pd.DataFrame:
    """Return the windows that open within ``months`` months of ``today``.

    Parameters
    ----------
    windows
        The table of :func:`cluster_windows`.
    months
        How far ahead, whole calendar months, 1 to 1,200 ("opening in the next 24
        months").
    today
        The date from which to count (default today's date); use the one the
        windows were worked out for.

    Returns
    -------
    pandas.DataFrame
        The rows of ``windows`` whose status is ``"window"`` and that open on or
        before today plus ``months``, in the order of ``windows``.

    Raises
    ------
    InvalidArgumentError
        Listing every problem: ``windows`` not a table of windows, ``months`` not a
        whole number of months, ``today`` not a date.
    """
    problems: list[str] = []
    _check_windows(windows, problems)
    months = _check_months(months, problems)
    day = _today(today, problems)
    raise_if_any(problems)
    until = day + pd.DateOffset(months=months)
    opens = pd.to_datetime(windows["opens"])
    keep = (windows["status"].astype("str") == "window").to_numpy() & (opens <= until).to_numpy()
    return windows[keep]


# --------------------------------------------------------------------------------------
# timelines


def timeline(sites: pd.DataFrame, *, today: object = None) -> pd.DataFrame:
    """Return every lease event of the given sites, one row per event.

    Parameters
    ----------
    sites
        The sites (a place's, or a cluster's members; the viewer's visible sites).
        Only leased sites have events (see the module's notes).
    today
        The date before which an event is past (default today's date).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`TIMELINE_COLUMNS`: ``site_index`` (the site's index
        label), ``site_id``, ``name``, ``agency``, ``event`` (``"next break"``,
        ``"last break"``, ``"rent review"``, ``"lease expiry"``, or ``"notice
        deadline"``: a break's date less its notice, where the notice is known),
        ``date`` and ``past`` (before ``today``: kept, and marked). Ordered by site
        in the input's order, then by date.

    Raises
    ------
    InvalidArgumentError
        If ``sites`` is not a table or ``today`` is not a date.
    """
    problems: list[str] = []
    _check_sites(sites, problems)
    day = _today(today, problems)
    raise_if_any(problems)
    leased = leased_mask(sites)
    notice = _notice(sites)
    parts = []
    for order, (column, event) in enumerate(EVENTS.items()):
        dates = _dates(sites, column).to_numpy(dtype="datetime64[us]")
        pos = np.flatnonzero(leased & ~np.isnat(dates))
        parts.append(pd.DataFrame({"pos": pos, "event": event, "date": dates[pos], "o": order}))
        if column in _BREAKS:
            pos = pos[np.isfinite(notice[pos])]
            deadline = _plus_months(pd.Series(dates[pos]), notice[pos], back=True).to_numpy(
                dtype="datetime64[us]"
            )
            # a break in year 1 (a typo) less its notice falls in year 0: no calendar
            # (nor matplotlib's date axis) has it, and it passed long ago
            drawable = deadline >= np.datetime64("0001-01-01")
            parts.append(
                pd.DataFrame(
                    {
                        "pos": pos[drawable],
                        "event": NOTICE_DEADLINE,
                        "date": deadline[drawable],
                        "o": -1,
                    }
                )
            )
    events = pd.concat(parts, ignore_index=True)
    events = events.drop_duplicates(["pos", "event", "date"])
    events = events.sort_values(["pos", "date", "o"], kind="stable").reset_index(drop=True)
    pos = events["pos"].to_numpy()
    out = pd.DataFrame(
        {
            "site_index": sites.index.to_numpy()[pos],
            "site_id": pd.array(_text(sites, "site_id")[pos], dtype="str"),
            "name": pd.array(_text(sites, "name")[pos], dtype="str"),
            "agency": pd.array(_text(sites, "agency")[pos], dtype="str"),
            "event": pd.array(events["event"].to_numpy(dtype=object), dtype="str"),
            "date": events["date"].to_numpy(dtype="datetime64[us]"),
        }
    )
    out["past"] = (out["date"] < day).to_numpy(dtype=bool)
    return out


def cluster_timeline(
    result: ColocationResult, sites: pd.DataFrame, cluster_id: int, *, today: object = None
) -> pd.DataFrame:
    """Return the lease events of one co-location cluster's members.

    Parameters
    ----------
    result
        The co-location (:func:`assetmap.colocation.colocation_clusters`).
    sites
        The sites it was worked out from (only the cluster's members' rows are read).
    cluster_id
        The cluster.
    today
        The date before which an event is past (default today's date).

    Returns
    -------
    pandas.DataFrame
        :func:`timeline`'s columns and ``is_hub``, the hub's events first.

    Raises
    ------
    InvalidArgumentError
        Listing every problem, as :func:`cluster_windows`, or a cluster that is not
        in ``result``.
    """
    problems: list[str] = []
    _check_sites(sites, problems)
    _check_result(result, sites, problems)
    day = _today(today, problems)
    if not problems and cluster_id not in set(result.clusters["cluster_id"].tolist()):
        problems.append(
            f"cluster_id={cluster_id!r} is not a cluster of this co-location; expected one of "
            f"1 to {len(result.clusters):,}"
        )
    raise_if_any(problems)
    members = result.members[result.members["cluster_id"] == cluster_id]
    events = timeline(sites.loc[members.index], today=day)
    hubs = set(members.index[members["is_hub"].to_numpy(dtype=bool)].tolist())
    events.insert(1, "is_hub", events["site_index"].isin(hubs).to_numpy(dtype=bool))
    order = np.argsort(~events["is_hub"].to_numpy(), kind="stable")
    return events.iloc[order].reset_index(drop=True)
