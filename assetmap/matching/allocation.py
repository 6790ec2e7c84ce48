"""The allocation plan: requests assigned to offers for the whole place at once.

:func:`allocate` assigns requests to offers for the whole place at once. An
offer may host several requests up to its spare space. Unless
``allow_split=True`` a request goes whole to one offer (so only offers at
least as large as the need are eligible). The plan

1. maximises the space matched (whole square feet), then
2. maximises the total score of the assignments (each weighted by the share
   of its request it places): the shortest distances and the least wasted space.

The candidate graph is first cut into its independent groups (requests and
offers linked by candidates), each solved by HiGHS (:mod:`.solvers`). Groups
of up to :data:`EXACT_GROUP_LIMIT` candidate pairs are solved exactly for both
criteria in one binary programme whose objective is ``need + score / (R + 1)``
per assignment (``R`` requests): a whole square foot always outweighs every
possible gain in score. Larger groups are solved in two stages: the space
matched first, then the score, keeping the same requests matched. Split plans
are linear programmes (a transportation problem), space first, then score.
When the time limit stops the solver, the plan reports the relative gap
between the space matched and the best bound the solver proved.

The estimated saving of a plan is :func:`assetmap.savings.avoided_cost` of the
space matched: what requesters would otherwise pay for new space at the
default cost.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .._validate import check_positive, raise_if_any
from ..io.outputs import write_csv, write_geopackage
from ..savings import DEFAULT_COST_PER_SQFT, avoided_cost, column_numbers, cost_per_sqft_problem
from ..schema import CRS_BNG
from .result import MatchResult, PairLines, sqft, text
from .solvers import Group, Solver, solve_exact, solve_split, solve_staged

__all__ = ["DEFAULT_TIME_LIMIT_S", "EXACT_GROUP_LIMIT", "AllocationPlan", "allocate"]

#: Default time limit of the allocation solver, seconds.
DEFAULT_TIME_LIMIT_S = 60.0
#: Independent groups with up to this many candidate pairs are solved exactly
#: for both criteria in one programme; larger groups in two stages.
EXACT_GROUP_LIMIT = 3_000


@dataclass
class AllocationPlan(PairLines):
    """One allocation of requests to offers for the whole place.

    Attributes
    ----------
    assignments
        One row per (request, offer) assignment: ``request``, ``request_id``,
        ``request_ref``, ``request_agency``, ``need_sqft``, ``offer``,
        ``site_id``, ``offer_name``, ``offer_agency``, ``assigned_sqft``,
        ``distance_m``, ``score``, ``rank`` (the candidate's rank for its
        request) and ``reasons``.
    unmatched
        Requests the plan leaves without (all) their space: ``request_id``,
        ``request_ref``, ``agency``, ``need_sqft``, ``placed_sqft`` and ``reason``.
    offers
        Per offer considered, indexed like the input: ``site_id``, ``name``,
        ``agency``, ``capacity_sqft``, ``assigned_sqft``, ``remaining_sqft``.
    total_sqft
        Space matched, sq ft.
    saving_gbp
        Estimated annual saving, :func:`assetmap.savings.avoided_cost`.
    status
        ``"optimal"``, ``"time limit"`` or ``"nothing to allocate"``.
    gap
        ``(bound − matched) / bound``: how far the space matched may fall short
        of the best bound the solver proved (0.0 when optimal; ``None`` when
        there was nothing to solve).
    score_gap
        The same for the second criterion where a two-stage solve stopped early, else ``None``.
    allow_split
        Whether requests could be split between offers.
    message
        What the plan achieves, or why it is empty.
    solve_seconds
        Time spent in the solver.
    method
        How the plan was solved: ``"exact"`` (both criteria in one binary
        programme), ``"two-stage"`` (some group was too large: space first, then
        score among plans matching the same requests), ``"linear programme"``
        (splits allowed) or ``"none"``.
    saving_estimated
        Always True: the saving rests on the default cost of space.
    """

    assignments: pd.DataFrame
    unmatched: pd.DataFrame
    offers: pd.DataFrame
    total_sqft: float
    saving_gbp: float
    status: str
    gap: float | None
    score_gap: float | None
    allow_split: bool
    message: str
    solve_seconds: float
    match: MatchResult = field(repr=False)
    method: str = "none"
    saving_estimated: bool = True

    @property
    def empty(self) -> bool:
        """Whether nothing was assigned."""
        return len(self.assignments) == 0

    def lines(self) -> gpd.GeoDataFrame:
        """Return each assignment as a LineString from the offer to the request (EPSG:27700)."""
        return self._pair_lines(self.match, self.assignments)

    def table(self) -> pd.DataFrame:
        """Return assignments and unmatched requests in one table, a row for each."""
        a = self.assignments.assign(status="assigned", reason="")
        u = self.unmatched.reset_index(names="request").rename(columns={"agency": "request_agency"})
        u = u.assign(status="unmatched")
        cols = [
            "status",
            "request_ref",
            "request_id",
            "request_agency",
            "need_sqft",
            "site_id",
            "offer_name",
            "offer_agency",
            "assigned_sqft",
            "distance_m",
            "score",
            "reasons",
            "reason",
        ]
        parts = [p.reindex(columns=cols) for p in (a, u) if len(p)]
        if not parts:
            return a.reindex(columns=cols)
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return out.reset_index(drop=True)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the map layers: ``assignments``, ``candidates`` (lines) and ``unmatched``."""
        un = self.unmatched.reset_index(names="request")
        un["request"] = un["request"].astype(str)
        points = self.match.request_points.reindex(self.unmatched.index).to_numpy()
        unmatched = gpd.GeoDataFrame(un, geometry=points, crs=CRS_BNG)
        out = {}
        for name, frame in (("assignments", self.lines()), ("candidates", self.match.lines())):
            frame = frame.copy()
            frame["request"] = frame["request"].astype(str)
            frame["offer"] = frame["offer"].astype(str)
            out[name] = frame
        out["unmatched"] = unmatched
        return out

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write :meth:`table` to a CSV file (through a temporary file)."""
        return write_csv(self.table(), path)

    def to_gpkg(self, path: str | os.PathLike) -> Path:
        """Write :meth:`layers` to a GeoPackage (through a temporary file)."""
        types = {"assignments": "LineString", "candidates": "LineString", "unmatched": "Point"}
        return write_geopackage(self.layers(), path, geometry_types=types)


def _check_arguments(
    match: object, allow_split: object, time_limit: object, cost_per_sqft: object
) -> None:
    problems = []
    if not isinstance(match, MatchResult):
        problems.append(
            f"match is a {type(match).__name__}; expected the MatchResult of find_candidates"
        )
    if not isinstance(allow_split, bool):
        problems.append(f"allow_split={allow_split!r} is not valid; expected True or False")
    if p := check_positive("time_limit", time_limit, "a positive number of seconds"):
        problems.append(p)
    if p := cost_per_sqft_problem(cost_per_sqft):
        problems.append(p)
    raise_if_any(problems)


@dataclass
class _Solved:
    """The solution over every independent group."""

    x: np.ndarray  # value per eligible pair (binary, or sq ft when split)
    primary: float = 0.0
    bound: float = 0.0
    stopped: bool = False
    score_gaps: list[float] = field(default_factory=list)
    method: str = "none"
    seconds: float = 0.0


def _groups(r: np.ndarray, o: np.ndarray, n_req: int, n_off: int) -> tuple[list[np.ndarray], bool]:
    """Cut the pairs into groups: the small independent groups together, each large one alone.

    Returns the groups (pair positions) and whether the first is the small groups'.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(r)), (r, n_req + o)), shape=(n_req + n_off,) * 2)
    _, comp = connected_components(graph, directed=False)
    pair_comp = comp[r]
    sizes = np.bincount(pair_comp)
    small = sizes[pair_comp] <= EXACT_GROUP_LIMIT
    groups = [np.flatnonzero(small)] if small.any() else []
    groups += [np.flatnonzero(pair_comp == g) for g in np.unique(pair_comp[~small])]
    return groups, bool(small.any())


def _solve(
    need: np.ndarray,
    cap: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    sizes: tuple[int, int],
    *,
    allow_split: bool,
    time_limit: float,
) -> _Solved:
    """Solve each group in turn, sharing the time limit by the groups' number of pairs."""
    r, o, s = pairs
    started = time.perf_counter()
    solved = _Solved(np.zeros(len(r)))
    if len(r) == 0:
        return solved
    groups, first_small = _groups(r, o, *sizes)
    work = sum(len(g) for g in groups)
    for gi, g in enumerate(groups):
        remaining = time_limit - (time.perf_counter() - started)
        budget = remaining * len(g) / max(work, 1)
        work -= len(g)
        solver: Solver
        if allow_split:
            solver, solved.method = solve_split, "linear programme"
        elif gi == 0 and first_small:
            solver, solved.method = solve_exact, "exact"
        else:
            solver, solved.method = solve_staged, "two-stage"
        sol = solver(Group(need, cap, r[g], o[g], s[g]), max(budget, 0.05))
        solved.x[g] = sol.x
        solved.primary += sol.primary
        solved.bound += sol.bound
        solved.stopped |= sol.stopped
        if sol.score_gap is not None:
            solved.score_gaps.append(sol.score_gap)
    solved.seconds = time.perf_counter() - started
    return solved


def _assignment_table(cand: pd.DataFrame, pick: np.ndarray, assigned: np.ndarray) -> pd.DataFrame:
    """Return the assignments: the chosen candidates' columns and the space assigned."""
    a = cand.iloc[pick].reset_index(drop=True)
    return pd.DataFrame(
        {
            "request": a["request"],
            "request_id": a["request_id"],
            "request_ref": a["request_ref"],
            "request_agency": a["request_agency"],
            "need_sqft": a["need_sqft"],
            "offer": a["offer"],
            "site_id": a["site_id"],
            "offer_name": a["offer_name"],
            "offer_agency": a["offer_agency"],
            "assigned_sqft": assigned,
            "distance_m": a["distance_m"],
            "score": a["score"],
            "rank": a["rank"],
            "reasons": a["reasons"],
        }
    )


def _offer_table(match: MatchResult, cap: np.ndarray, used: np.ndarray) -> pd.DataFrame:
    """Return each offer's capacity, the space assigned and what remains."""
    return pd.DataFrame(
        {
            "site_id": pd.array(text(match.offers, "site_id"), dtype="str"),
            "name": pd.array(text(match.offers, "name"), dtype="str"),
            "agency": pd.array(text(match.offers, "agency"), dtype="str"),
            "capacity_sqft": cap,
            "assigned_sqft": used,
            "remaining_sqft": cap - used,
        },
        index=match.offers.index,
    )


@dataclass
class _Shortfall:
    """Per request, the figures that explain why it is left short of its space."""

    need: np.ndarray
    placed: np.ndarray
    n_cand: np.ndarray  # candidates
    n_elig: np.ndarray  # candidates large enough to take it whole (all, when split)
    largest: np.ndarray  # the largest candidate offer
    reach_total: np.ndarray  # the candidate offers' space in all
    summary_reason: np.ndarray  # the reason find_candidates gave


def _short_reason(i: int, f: _Shortfall, *, allow_split: bool) -> str:
    """Return why request ``i`` is left short of its space."""
    need, placed = f.need[i], f.placed[i]
    if f.n_cand[i] == 0:
        return str(f.summary_reason[i])
    if not allow_split and f.n_elig[i] == 0:
        return (
            f"needs {sqft(need)}; the largest suitable offer within reach has "
            f"{sqft(f.largest[i])} (allowing splits could combine offers)"
        )
    if placed > 0 and f.reach_total[i] < need - 0.5:
        return (
            f"{sqft(placed)} of {sqft(need)} placed; its candidate offers have "
            f"{sqft(f.reach_total[i])} in all"
        )
    if placed > 0:
        return (
            f"{sqft(placed)} of {sqft(need)} placed; the rest of its candidates' "
            "space went to other requests"
        )
    return (
        f"the spare space at its {f.n_elig[i]:,} eligible offer"
        f"{'s' if f.n_elig[i] != 1 else ''} went to other requests: the plan matches "
        "more space in total that way"
    )


def _unmatched_table(
    match: MatchResult,
    cap: np.ndarray,
    eligible: np.ndarray,
    placed: np.ndarray,
    *,
    allow_split: bool,
) -> pd.DataFrame:
    """Return the requests left short of their space, with the reason for each."""
    req_pos, off_pos = match._req_pos, match._off_pos
    rq = match.requests
    n_req = len(rq)
    need = rq["need_sqft"].to_numpy(dtype=float)
    short = placed < need - 0.5
    largest = np.zeros(n_req)
    if len(req_pos):
        np.maximum.at(largest, req_pos, cap[off_pos])
    figures = _Shortfall(
        need=need,
        placed=placed,
        n_cand=rq["n_candidates"].to_numpy(),
        n_elig=np.bincount(req_pos[eligible], minlength=n_req),
        largest=largest,
        reach_total=np.bincount(req_pos, weights=cap[off_pos], minlength=n_req),
        summary_reason=rq["reason"].to_numpy(dtype=object),
    )
    reasons = [
        _short_reason(i, figures, allow_split=allow_split) for i in np.flatnonzero(short).tolist()
    ]
    unmatched = pd.DataFrame(
        {
            "request_id": rq["request_id"].to_numpy()[short],
            "request_ref": rq["request_ref"].to_numpy()[short],
            "agency": rq["agency"].to_numpy()[short],
            "need_sqft": need[short],
            "placed_sqft": placed[short],
            "reason": pd.array(reasons, dtype="str"),
        },
        index=rq.index[short],
    )
    for col in ("request_id", "request_ref", "agency"):
        unmatched[col] = unmatched[col].astype("str")
    return unmatched


def _gaps(solved: _Solved, n_pairs: int) -> tuple[float | None, float | None]:
    """Return the plan's gap on the space matched and its score gap (``None`` where none)."""
    gap = None
    if n_pairs:
        stopped_gap = max(solved.bound - solved.primary, 0.0) / max(solved.bound, 1.0)
        gap = stopped_gap if solved.stopped else 0.0
    score_gap = max(solved.score_gaps) if solved.score_gaps else None
    return gap, score_gap


def _plan_message(
    plan: AllocationPlan, *, n_pairs: int, n_done: int, time_limit: float, cost_per_sqft: float
) -> str:
    """Return what the plan achieves, or why it is empty."""
    match = plan.match
    n_req = len(match.requests)
    if n_req == 0 or len(match.offers) == 0 or match.empty:
        return f"Nothing to allocate. {match.message}"
    if n_pairs == 0:
        return (
            "Nothing to allocate: no request has an offer at least as large as its need "
            "(allowing splits could combine offers)."
        )
    n_a = len(plan.assignments)
    message = (
        f"{n_done:,} of {n_req:,} requests matched: {plan.total_sqft:,.0f} sq ft in "
        f"{n_a:,} assignment{'s' if n_a != 1 else ''}, saving an estimated "
        f"£{plan.saving_gbp:,.0f} a year at £{cost_per_sqft:,.2f} per sq ft."
    )
    if plan.status == "time limit":
        score_gap = plan.score_gap
        return message + (
            f" The time limit ({time_limit:g} s) stopped the solver: the space matched is "
            f"within {plan.gap:.3%} of the best bound it proved"
            + (f" (score gap {score_gap:.3%})" if score_gap is not None else "")
            + "."
        )
    if plan.method == "two-stage":
        return message + (
            " The space matched is optimal; distance and fit are optimised among plans "
            "that match the same requests."
        )
    return message + " The plan is optimal."


def allocate(
    match: MatchResult,
    *,
    allow_split: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT_S,
    cost_per_sqft: float = DEFAULT_COST_PER_SQFT,
) -> AllocationPlan:
    """Assign requests to offers for the whole place, matching the most space.

    Parameters
    ----------
    match
        Candidates from :func:`~assetmap.matching.find_candidates`.
    allow_split
        Whether a request may be served by several offers.
    time_limit
        Seconds the solver may take, > 0; when it stops the solver the plan
        reports the optimality gap.
    cost_per_sqft
        The default cost of new space, £ per sq ft a year, for the saving.

    Returns
    -------
    AllocationPlan

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong: ``match`` not a :class:`MatchResult`,
        ``allow_split`` not True or False, a time limit or cost not a positive number.

    Examples
    --------
    >>> plan = allocate(find_candidates(store.requests(), store.sites()))  # doctest: +SKIP
    >>> print(plan.message)  # doctest: +SKIP
    >>> plan.assignments[["request_id", "offer_name", "assigned_sqft"]]  # doctest: +SKIP
    """
    _check_arguments(match, allow_split, time_limit, cost_per_sqft)
    req_pos, off_pos = match._req_pos, match._off_pos
    n_req, n_off = len(match.requests), len(match.offers)
    need = match.requests["need_sqft"].to_numpy(dtype=float)
    cap = column_numbers(match.offers, "surplus_sqft")
    # eligible pairs: whole requests need an offer at least their size
    eligible = np.ones(len(req_pos), dtype=bool) if allow_split else cap[off_pos] >= need[req_pos]
    r, o = req_pos[eligible], off_pos[eligible]
    s = match.candidates["score"].to_numpy(dtype=float)[eligible]
    solved = _solve(
        need if allow_split else np.maximum(np.round(need), 1.0),
        cap,
        (r, o, s),
        (n_req, n_off),
        allow_split=allow_split,
        time_limit=time_limit,
    )
    chosen = np.flatnonzero(solved.x > 0)
    assigned = solved.x[chosen] * (need[r[chosen]] if not allow_split else 1.0)
    total = float(assigned.sum())
    placed = np.bincount(r[chosen], weights=assigned, minlength=n_req)
    used = np.bincount(o[chosen], weights=assigned, minlength=n_off)
    unmatched = _unmatched_table(match, cap, eligible, placed, allow_split=allow_split)
    gap, score_gap = _gaps(solved, len(r))
    status = "nothing to allocate"
    if len(r):
        status = "time limit" if solved.stopped else "optimal"
    plan = AllocationPlan(
        assignments=_assignment_table(match.candidates, np.flatnonzero(eligible)[chosen], assigned),
        unmatched=unmatched,
        offers=_offer_table(match, cap, used),
        total_sqft=total,
        saving_gbp=float(avoided_cost(total, cost_per_sqft=cost_per_sqft)),
        status=status,
        gap=gap,
        score_gap=score_gap,
        allow_split=allow_split,
        message="",
        solve_seconds=solved.seconds,
        match=match,
        method=solved.method,
        _req_pos=r[chosen],
        _off_pos=o[chosen],
    )
    plan.message = _plan_message(
        plan,
        n_pairs=len(r),
        n_done=n_req - len(unmatched),
        time_limit=time_limit,
        cost_per_sqft=cost_per_sqft,
    )
    return plan
