"""Benchmark: the optimal allocation of space requests to surplus space.

Goals: 1,000 offers x 1,000 requests in under 10 s, and 10,000 x 10,000 in
under 60 s, candidates and plan together; whenever the time limit stops the
solver the plan's optimality gap is reported.

The instance is generated with a fixed seed: offers and requests spread evenly
over a square whose size grows with their number (so density, and the
candidates per request, stay the same: one connected market, the hardest case
for the solver); 30 agencies; every site offers office or community space and
every request needs office space; needs between 500 and 40,000 sq ft and spare
space between 500 and 60,000 sq ft (log-uniform); each request's reach is set
so that it has about 5 to 30 candidates. Whole requests only (no splitting),
then the same with splitting allowed.

Run::

    python benchmarks/bench_allocation.py            # 1,000 and 10,000
    python benchmarks/bench_allocation.py --quick    # 1,000 only
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assetmap.matching import allocate, find_candidates

SEED = 20_250_102


def instance(n: int, *, seed: int = SEED) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``n`` offers and ``n`` requests (EPSG:27700)."""
    rng = np.random.default_rng(seed)
    side = 100_000.0 * np.sqrt(n / 1_000)
    ox, oy = 300_000 + rng.uniform(0, side, (2, n))
    rx, ry = 300_000 + rng.uniform(0, side, (2, n))
    density = n / side**2
    wanted = rng.integers(5, 31, n)
    reach = np.sqrt(wanted / (density * np.pi)) * 1.03  # a few candidates are own-agency
    agencies = np.array([f"Agency {i:02d}" for i in range(30)], dtype=object)
    offers = gpd.GeoDataFrame(
        {
            "site_id": pd.array([f"O{i}" for i in range(n)], dtype="str"),
            "name": pd.array([f"Offer {i}" for i in range(n)], dtype="str"),
            "agency": pd.array(agencies[rng.integers(0, 30, n)], dtype="str"),
            "sector": pd.array(np.full(n, "other", dtype=object), dtype="str"),
            "use_class": pd.array(
                np.where(rng.random(n) < 0.7, "office", "community").astype(object), dtype="str"
            ),
            "surplus_sqft": np.round(np.exp(rng.uniform(np.log(500), np.log(60_000), n))),
            "lease_expiry": pd.array(np.full(n, "", dtype=object), dtype="str"),
            "sensitivity": pd.array(np.full(n, "open", dtype=object), dtype="str"),
        },
        geometry=gpd.points_from_xy(ox, oy),
        crs="EPSG:27700",
    )
    requests = gpd.GeoDataFrame(
        {
            "request_id": pd.array([f"R{i}" for i in range(n)], dtype="str"),
            "source_ref": pd.array([f"REQ-{i}" for i in range(n)], dtype="str"),
            "agency": pd.array(agencies[rng.integers(0, 30, n)], dtype="str"),
            "sector": pd.array(np.full(n, "other", dtype=object), dtype="str"),
            "space_needed_sqft": np.round(np.exp(rng.uniform(np.log(500), np.log(40_000), n))),
            "use_class": pd.array(np.full(n, "office", dtype=object), dtype="str"),
            "max_distance_m": np.round(reach),
            "needed_by": pd.array(np.full(n, "2027-01-01", dtype=object), dtype="str"),
            "sensitivity": pd.array(np.full(n, "open", dtype=object), dtype="str"),
        },
        geometry=gpd.points_from_xy(rx, ry),
        crs="EPSG:27700",
    )
    return offers, requests


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def run(n: int, goal: float, time_limit: float) -> None:
    offers, requests = instance(n)
    start = time.perf_counter()
    match = find_candidates(requests, offers, as_of="2026-01-01")
    t_match = time.perf_counter() - start
    per_request = match.requests["n_candidates"]
    eligible = int((match.candidates["offer_sqft"] >= match.candidates["need_sqft"]).sum())
    print(f"{n:,} offers x {n:,} requests ({load()}):")
    print(
        f"  candidates   {t_match:7.2f} s  {len(match.candidates):,} candidates; per request "
        f"median {per_request.median():.0f}, 5th-95th percentile "
        f"{per_request.quantile(0.05):.0f}-{per_request.quantile(0.95):.0f}; "
        f"{eligible:,} large enough to take a whole request"
    )
    for split in (False, True):
        start = time.perf_counter()
        plan = allocate(match, allow_split=split, time_limit=time_limit)
        t_plan = time.perf_counter() - start
        total = t_match + t_plan
        gap = plan.method if plan.status == "optimal" else f"{plan.method}, gap {plan.gap:.4%}"
        if plan.score_gap is not None:
            gap += f", score gap {plan.score_gap:.2%}"
        label = "split" if split else "whole"
        print(
            f"  plan {label:<6}  {t_plan:7.2f} s  {plan.status} ({gap}); "
            f"{len(plan.assignments):,} assignments, {plan.total_sqft:,.0f} of "
            f"{match.requests['need_sqft'].sum():,.0f} sq ft matched"
        )
        print(
            f"  total {label:<5}  {total:7.2f} s  goal under {goal:g} s: "
            f"{'met' if total < goal else 'NOT met'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 x 1,000 only")
    args = parser.parse_args(argv)
    find_candidates(*reversed(instance(50)), as_of="2026-01-01")  # warm up imports
    run(1_000, goal=10.0, time_limit=8.0)
    if not args.quick:
        run(10_000, goal=60.0, time_limit=45.0)
    print(f"done; {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
