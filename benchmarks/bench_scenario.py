"""Benchmark: a scenario with residents' access on a 1,000,000-site estate (issue #19).

Goal: evaluating a scenario of 50 moves, residents' access included, on a 1,000,000-site
estate against all 34,753 LSOA centres in under 5 s, and at least 20 times faster than a
naive loop over the LSOAs, in one run.

The estate is the generated national estate of England and Wales
(``sample_estates/national.py``'s registers, fixed seed: fictional sites at real
postcodes, with each sector's uses), read straight from its registers into canonical
columns, without the importer (which is timed by ``bench_import.py``), and the viewer's
filtering done first (``access.visible_sites``, with no agency: open sites only), as a
caller does. The scenario disposes of 25 public-facing sites (libraries, Jobcentres,
clinics, police stations and front counters, drawn with a fixed seed) and closes 25
more, each moved into the open freehold site of its own agency with the most surplus
space.

Timed:

- **assetmap**: ``assetmap.scenarios.evaluate(sites, scenario, centres=centres)`` (the
  totals and the residents' access of every category), best of ``--repeat``. Until
  ``assetmap.scenarios`` can be imported, ``assetmap.residents_access.access_change``
  alone (the scenario's closed sites as ``open_after``), and the script says so.
- **naive**: the sites of each category picked out once (with the same category masks),
  then a loop over the LSOAs: for each centre and category, numpy distances to every
  site of the category (before) and to every one still open (after), and their minima.
  Over all 34,753 LSOAs and a million sites this takes minutes, so the loop runs over a
  fixed random sample of LSOAs (``--sample``, 500) and its time is scaled to all of them
  (linear: every LSOA does the same work); the script prints that it is scaled and the
  sample's size. The sample's distances are checked against assetmap's.

Run::

    nice python benchmarks/bench_scenario.py                 # 1,000,000 sites
    python benchmarks/bench_scenario.py --sites 100000       # a smaller estate
    python benchmarks/bench_scenario.py --population SAPE.csv  # people, not LSOAs
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sample_estates"))

from assetmap.access import visible_sites
from assetmap.residents_access import (
    CATEGORIES,
    access_change,
    access_columns,
    category_mask,
    lsoa_centres,
)
from assetmap.schema import CRS_BNG, SITE_COLUMNS, classify_use, normalise_tenure

SEED = 19
MOVES = 50
GOAL_S = 5.0
GOAL_RATIO = 20.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def national_estate(n: int) -> gpd.GeoDataFrame:
    """Return the generated national estate of ``n`` sites, in the canonical site columns."""
    import national  # sample_estates/national.py
    import pyarrow.csv as pacsv

    tables = []
    for register in national.national_registers(n):
        table = pacsv.read_csv(io.BytesIO(register["data"])).to_pandas()
        table["sector"] = register["sector"]
        tables.append(table)
    raw = pd.concat(tables, ignore_index=True)
    frame = pd.DataFrame(
        {
            column: pd.Series(
                np.nan if dtype == "float64" else (0 if dtype == "int64" else ""),
                index=raw.index,
                dtype=dtype,
            )
            for column, dtype in SITE_COLUMNS.items()
        }
    )
    text = {
        "site_id": "Asset ref",
        "source_ref": "Asset ref",
        "agency": "Organisation Name",
        "name": "Property name",
        "use": "Use",
        "postcode": "Postcode",
    }
    for column, source in text.items():
        frame[column] = raw[source].fillna("").astype("str")
    frame["sector"] = raw["sector"].astype("str")
    frame["use_class"] = classify_use(frame["use"]).astype("str")
    frame["tenure"] = normalise_tenure(raw["Tenure"].fillna("").astype("str")).astype("str")
    frame["floor_area_sqft"] = raw["GIA (sq ft)"].astype("float64")
    frame["surplus_sqft"] = raw["Vacant space (sq ft)"].astype("float64")
    frame["running_cost_gbp"] = raw["Annual running cost"].astype("float64")
    frame["sensitivity"] = raw["Sensitivity"].fillna("open").astype("str")
    frame["location_source"] = "easting/northing"
    frame["location_precision"] = "point"
    frame["source_file"] = "national.csv"
    frame["source_row"] = np.arange(len(frame), dtype="int64")
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy(raw["Easting"], raw["Northing"]),
        crs=CRS_BNG,
    )


def public_facing(sites: pd.DataFrame) -> np.ndarray:
    mask = np.zeros(len(sites), dtype=bool)
    for name in CATEGORIES:
        mask |= category_mask(sites, name)
    return mask


def scenario_moves(sites: pd.DataFrame, n_moves: int, seed: int) -> tuple[list, list]:
    """``n_moves / 2`` disposals and as many closures (site, into) of public-facing sites."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(public_facing(sites))
    chosen = rng.choice(candidates, size=n_moves, replace=False)
    disposals = sites["site_id"].to_numpy()[chosen[: n_moves // 2]].tolist()
    closures = []
    hosts = sites[(sites["tenure"] == "freehold") & sites["surplus_sqft"].notna()].sort_values(
        "surplus_sqft", ascending=False, kind="stable"
    )
    host_of = hosts.drop_duplicates("agency").set_index("agency")["site_id"]
    for i in chosen[n_moves // 2 :]:
        site_id, agency = sites["site_id"].iat[i], sites["agency"].iat[i]
        into = host_of.get(agency)
        if into is not None and into != site_id and into not in disposals:
            closures.append((site_id, into))
        else:  # no host in its agency: disposed of instead
            disposals.append(site_id)
    return disposals, closures


def assetmap_runner(sites, centres, disposals, closures):
    """Return (what is timed, a function running it, the AccessChange of its result)."""
    try:
        scenarios = importlib.import_module("assetmap.scenarios")
    except ImportError:
        scenarios = None
    if scenarios is not None and hasattr(scenarios, "evaluate"):
        moves = tuple(scenarios.Dispose(s) for s in disposals) + tuple(
            scenarios.Close(s, into) for s, into in closures
        )
        scenario = scenarios.Scenario(name="benchmark: 50 moves", moves=moves)

        def run():
            return scenarios.evaluate(sites, scenario, centres=centres)

        return "assetmap.scenarios.evaluate (totals and residents' access)", run, lambda r: r.access
    closed = set(disposals) | {s for s, _ in closures}

    def run_access():
        open_after = ~sites["site_id"].isin(closed).to_numpy()
        return access_change(sites, open_after, centres=centres)

    return (
        "assetmap.residents_access.access_change alone (assetmap.scenarios.evaluate is not "
        "there yet)",
        run_access,
        lambda r: r,
    )


def naive(sites, centres, closed: set, sample: np.ndarray):
    """Run the naive loop over a sample of LSOA centres: numpy distances to every site."""
    from assetmap.schema import point_coordinates

    start = time.perf_counter()
    xy, _ = point_coordinates(sites.geometry.to_numpy())
    open_after = ~sites["site_id"].isin(closed).to_numpy()
    per_category = {}
    for name in CATEGORIES:
        mask = category_mask(sites, name)
        per_category[name] = (xy[mask], xy[mask & open_after])
    setup = time.perf_counter() - start

    cx = centres.geometry.x.to_numpy()[sample]
    cy = centres.geometry.y.to_numpy()[sample]
    out = {name: (np.empty(len(sample)), np.empty(len(sample))) for name in CATEGORIES}
    start = time.perf_counter()
    for k in range(len(sample)):
        for name, (before_xy, after_xy) in per_category.items():
            before = np.hypot(before_xy[:, 0] - cx[k], before_xy[:, 1] - cy[k])
            after = np.hypot(after_xy[:, 0] - cx[k], after_xy[:, 1] - cy[k])
            out[name][0][k] = before.min() if len(before) else np.nan
            out[name][1][k] = after.min() if len(after) else np.inf
    loop = time.perf_counter() - start
    return setup, loop, out


def same_figures(change, sample: np.ndarray, naive_out: dict) -> tuple[bool, float]:
    """Do the sample's distances equal assetmap's? And the largest difference (m)."""
    worst, same = 0.0, True
    for name, (before, after) in naive_out.items():
        col_before, col_after, _ = access_columns(name)
        for ours, theirs in (
            (change.by_lsoa[col_before].to_numpy()[sample], before),
            (change.by_lsoa[col_after].to_numpy()[sample], after),
        ):
            finite = np.isfinite(ours) & np.isfinite(theirs)
            same &= bool(np.array_equal(np.isfinite(ours), np.isfinite(theirs)))
            if finite.any():
                worst = max(worst, float(np.abs(ours[finite] - theirs[finite]).max()))
    return same and worst < 1e-6, worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1_000_000, help="sites (1,000,000)")
    parser.add_argument("--sample", type=int, default=500, help="LSOAs of the naive loop")
    parser.add_argument("--repeat", type=int, default=3, help="assetmap: best of N (3)")
    parser.add_argument("--population", help="an ONS population CSV (counts people)")
    args = parser.parse_args(argv)

    print(f"scenario with residents' access; {load()}")
    start = time.perf_counter()
    sites = visible_sites(national_estate(args.sites), None)
    population = None
    if args.population:
        from assetmap.io.population import read_population

        population = read_population(args.population)
    centres = lsoa_centres(population=population)
    disposals, closures = scenario_moves(sites, MOVES, SEED)
    closed = {*disposals, *(s for s, _ in closures)}
    print(
        f"{len(sites):,} visible sites of {args.sites:,} generated, {len(centres):,} LSOA "
        f"centres, {len(disposals)} disposals and {len(closures)} closures "
        f"(set up untimed in {time.perf_counter() - start:.1f} s)"
    )
    for name in CATEGORIES:
        print(f"  {name}: {int(category_mask(sites, name).sum()):,} sites")

    what, run, access_of = assetmap_runner(sites, centres, disposals, closures)
    run()  # warm up (imports, first calls)
    t_new, result = timed(run, args.repeat)
    change = access_of(result)

    if what.startswith("assetmap.scenarios"):  # how much of it is residents' access
        open_after = ~sites["site_id"].isin(closed).to_numpy()
        t_access, _ = timed(lambda: access_change(sites, open_after, centres=centres), args.repeat)
    else:
        t_access = t_new

    rng = np.random.default_rng(SEED)
    sample = np.sort(rng.choice(len(centres), size=min(args.sample, len(centres)), replace=False))
    setup, loop, naive_out = naive(sites, centres, closed, sample)
    scaled = setup + loop * len(centres) / len(sample)
    same, worst = same_figures(change, sample, naive_out)

    print(f"assetmap: {what}")
    print(
        f"  {t_new:8.3f} s (best of {args.repeat}), of which residents' access about "
        f"{t_access:.3f} s (access_change alone, timed apart); counted: {change.counted}"
    )
    print(change.summary.to_string(index=False))
    print(
        f"naive loop over LSOAs: {len(sample):,} LSOAs sampled (seed {SEED}) of "
        f"{len(centres):,}, timed {loop:.2f} s, scaled linearly to all of them: "
        f"{loop * len(centres) / len(sample):.1f} s, + picking the categories' sites once "
        f"{setup:.2f} s = {scaled:.1f} s (scaled)"
    )
    print(
        f"  the sample's distances {'equal' if same else 'DIFFER FROM'} assetmap's "
        f"(largest difference {worst:.2e} m)"
    )
    ratio = scaled / t_new
    print(f"ratio: {ratio:.1f}x")
    print(
        f"goals: under {GOAL_S:g} s: {'met' if t_new < GOAL_S else 'NOT met'}; "
        f"at least {GOAL_RATIO:g}x the naive loop: {'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )
    print(f"done; {load()}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
