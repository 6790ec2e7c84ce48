"""The HiGHS programmes behind the allocation plan, one independent group at a time.

Unsplit plans are binary programmes solved through :func:`scipy.optimize.milp`:
small groups for both criteria at once (:func:`solve_exact`), larger ones in
two stages (:func:`solve_staged`). Split plans are linear programmes (a
transportation problem) solved through :func:`scipy.optimize.linprog`
(:func:`solve_split`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Group", "Solution", "Solver", "solve_exact", "solve_split", "solve_staged"]


@dataclass
class Group:
    """One independent group of candidate pairs, as the solvers take it.

    ``need`` (per request) and ``cap`` (per offer) cover the whole match;
    ``r``, ``o`` and ``score`` are each pair's request, offer and score.
    """

    need: np.ndarray
    cap: np.ndarray
    r: np.ndarray
    o: np.ndarray
    score: np.ndarray

    @property
    def pair_need(self) -> np.ndarray:
        """Return each pair's request's need."""
        return self.need[self.r]

    def all_needs(self) -> float:
        """Return the space the group's requests need in all: a bound on the space matched."""
        return float(self.need[np.unique(self.r)].sum())


@dataclass
class Solution:
    """One group's solution."""

    x: np.ndarray  # value per candidate pair (binary, or sq ft when split)
    primary: float  # space matched by this subproblem's solution
    bound: float  # best bound on the space matched
    stopped: bool  # whether a time limit stopped the solver
    score_gap: float | None = None


#: The form of the three solvers: a group and a time limit in seconds.
Solver = Callable[[Group, float], Solution]


def _milp(
    c: np.ndarray, a_rows: list[Any], b_lo: list[Any], b_hi: list[Any], time_limit: float
) -> Any:
    """Solve a binary programme ``min c·x`` with HiGHS; return scipy's result."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    constraints = [
        LinearConstraint(a, lo, hi) for a, lo, hi in zip(a_rows, b_lo, b_hi, strict=True)
    ]
    options = {
        "time_limit": max(float(time_limit), 0.05),
        "mip_rel_gap": 0.0,
        "presolve": len(c) <= 20_000,
    }
    return milp(
        c,
        integrality=np.ones(len(c)),
        bounds=Bounds(0, 1),
        constraints=constraints,
        options=options,
    )


def _rows(n_rows: int, row_of: np.ndarray, weights: np.ndarray) -> Any:
    """Return the sparse matrix that sums ``weights`` of the pairs into their rows."""
    from scipy.sparse import csr_array

    k = len(row_of)
    return csr_array((weights, (row_of, np.arange(k))), shape=(n_rows, k))


def _bound(res: Any, fallback: float) -> float:
    """Return the solver's proved bound on the space matched (its dual bound, whole sq ft)."""
    dual = getattr(res, "mip_dual_bound", None)
    if dual is None or not np.isfinite(dual):
        return fallback
    return float(math.floor(-dual + 1e-6))


def _space_matched(g: Group, c: np.ndarray, time_limit: float) -> Solution | None:
    """Solve ``min c·x`` with each request placed at most once, within each offer's space.

    Returns ``None`` where the solver found no plan.
    """
    r_u, r_loc = np.unique(g.r, return_inverse=True)
    o_u, o_loc = np.unique(g.o, return_inverse=True)
    rows = [_rows(len(r_u), r_loc, np.ones(len(g.r))), _rows(len(o_u), o_loc, g.pair_need)]
    res = _milp(c, rows, [-np.inf, -np.inf], [np.ones(len(r_u)), g.cap[o_u]], time_limit)
    if res.x is None:
        return None
    x = (res.x > 0.5).astype(float)
    primary = float((g.pair_need * x).sum())
    stopped = res.status != 0
    bound = _bound(res, g.all_needs()) if stopped else primary
    return Solution(x, primary, max(bound, primary), stopped)


def solve_exact(g: Group, time_limit: float) -> Solution:
    """Solve both criteria at once: objective ``need + score / (R + 1)`` per assignment."""
    n_r = len(np.unique(g.r))
    sol = _space_matched(g, -(g.pair_need + g.score / (n_r + 1)), time_limit)
    return sol or Solution(np.zeros(len(g.r)), 0.0, g.all_needs(), True)


def _best_score(g: Group, sub: np.ndarray, time_limit: float) -> Any:
    """Solve for the best score among the pairs ``sub``, each of their requests placed once."""
    m_u, m_loc = np.unique(g.r[sub], return_inverse=True)
    o_u, o_loc = np.unique(g.o, return_inverse=True)
    once = np.ones(len(m_u))
    rows = [
        _rows(len(m_u), m_loc, np.ones(int(sub.sum()))),
        _rows(len(o_u), o_loc[sub], g.pair_need[sub]),
    ]
    return _milp(-g.score[sub], rows, [once, -np.inf], [once, g.cap[o_u]], time_limit)


def solve_staged(g: Group, time_limit: float) -> Solution:
    """Solve space first, then score among plans that match the same requests."""
    started = time.perf_counter()
    sol = _space_matched(g, -g.pair_need, 0.7 * time_limit)
    if sol is None:
        return Solution(np.zeros(len(g.r)), 0.0, g.all_needs(), True)
    # stage 2: the same requests matched, the best score
    r_loc = np.unique(g.r, return_inverse=True)[1]
    matched = np.zeros(r_loc.max() + 1, dtype=bool)
    matched[r_loc[sol.x > 0.5]] = True
    sub = matched[r_loc]
    remaining = time_limit - (time.perf_counter() - started)
    if sub.any() and remaining > 0.1:
        res2 = _best_score(g, sub, remaining)
        if res2.x is None:
            sol.stopped = True
            return sol
        x2 = np.zeros(len(g.r))
        x2[sub] = (res2.x > 0.5).astype(float)
        same_space = abs((g.pair_need * x2).sum() - sol.primary) < 0.5
        if (g.score * x2).sum() >= (g.score * sol.x).sum() and same_space:
            sol.x = x2
        if res2.status != 0:
            sol.score_gap = float(res2.mip_gap) if np.isfinite(res2.mip_gap) else None
            sol.stopped = True
    return sol


def solve_split(g: Group, time_limit: float) -> Solution:
    """Solve the transportation LP: space first, then score per share of each request placed."""
    from scipy.optimize import linprog
    from scipy.sparse import vstack

    started = time.perf_counter()
    r_u, r_loc = np.unique(g.r, return_inverse=True)
    o_u, o_loc = np.unique(g.o, return_inverse=True)
    k = len(g.r)
    a = vstack([_rows(len(r_u), r_loc, np.ones(k)), _rows(len(o_u), o_loc, np.ones(k))]).tocsr()
    b = np.concatenate([g.need[r_u], g.cap[o_u]])
    upper = np.minimum(g.pair_need, g.cap[g.o])
    bounds = np.column_stack([np.zeros(k), upper])
    res = linprog(
        -np.ones(k),
        A_ub=a,
        b_ub=b,
        bounds=bounds,
        method="highs",
        options={"time_limit": max(time_limit, 0.05)},
    )
    if res.status != 0 or res.x is None:
        return Solution(np.zeros(k), 0.0, g.all_needs(), True)
    flow = float(res.x.sum())
    remaining = time_limit - (time.perf_counter() - started)
    res2 = linprog(
        -g.score / g.pair_need,
        A_ub=vstack([a, -np.ones((1, k))]).tocsr(),
        # keep the first LP's flow: the slack (1e-4 sq ft) only absorbs the solver's tolerance
        b_ub=np.concatenate([b, [-(flow - 1e-4)]]),
        bounds=bounds,
        method="highs",
        options={"time_limit": max(remaining, 0.05)},
    )
    x = res2.x if res2.status == 0 and res2.x is not None else res.x
    x = np.clip(x, 0, upper)
    x[x < 1e-6] = 0.0
    return Solution(x, float(x.sum()), float(x.sum()), res2.status != 0)
