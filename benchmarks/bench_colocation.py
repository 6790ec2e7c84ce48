"""Benchmark: co-location pairs and clusters on a national-style estate.

Goal: 1,000,000 sites in under 5 s, and at least 20 times faster than a naive
baseline at 100,000 sites (buffer every site by the distance, then a
GeoPandas spatial join; the same connected components afterwards).

The estate is generated with a fixed seed: sites over England's extent on the
British National Grid, 85% of them around 300 towns whose sizes follow Zipf's
law (the largest spread over about 12 km, the smallest over 1.5 km), the rest
scattered; agencies are local (a council per town, trusts and forces over
groups of towns) or national.

Run::

    python benchmarks/bench_colocation.py            # 100,000 (with baseline) and 1,000,000
    python benchmarks/bench_colocation.py --quick    # 20,000 (with baseline) and 100,000
    python benchmarks/bench_colocation.py --indexes  # also time the candidate spatial indexes
    python benchmarks/bench_colocation.py --store national.gpkg  # clusters of a store's estate

``--store`` times ``colocation_clusters`` on a store's sites (for example a national
estate built by ``python sample_estates/national.py national.gpkg --sites 1000000``)
against the same function finding its components from every pair (the k-d tree's
pairs, then :func:`scipy.sparse.csgraph.connected_components`: the engine before
:func:`assetmap.colocation.near_components`), checks that both give the same
clusters, and prints the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assetmap import colocation
from assetmap.colocation import colocation_clusters, colocation_pairs

SEED = 20_250_101
DISTANCE = 400.0
_SECTORS = np.array(["council", "health", "police", "fire", "dwp", "other"])
_SECTOR_P = [0.40, 0.25, 0.10, 0.05, 0.05, 0.15]
_TENURES = np.array(["freehold", "leasehold", "licence"])


def national_estate(n: int, *, seed: int = SEED, n_towns: int = 300) -> gpd.GeoDataFrame:
    """Return a generated national-style estate of ``n`` sites (EPSG:27700)."""
    rng = np.random.default_rng(seed)
    tx = rng.uniform(180_000, 620_000, n_towns)
    ty = rng.uniform(60_000, 600_000, n_towns)
    weight = 1.0 / np.arange(1, n_towns + 1)
    weight /= weight.sum()
    sigma = 1_500 + 12_000 * np.sqrt(weight / weight[0])
    n_town = int(n * 0.85)
    town = np.concatenate([rng.choice(n_towns, size=n_town, p=weight), np.zeros(n - n_town, int)])
    x = np.empty(n)
    y = np.empty(n)
    x[:n_town] = tx[town[:n_town]] + rng.normal(0, 1, n_town) * sigma[town[:n_town]]
    y[:n_town] = ty[town[:n_town]] + rng.normal(0, 1, n_town) * sigma[town[:n_town]]
    x[n_town:] = rng.uniform(135_000, 655_000, n - n_town)
    y[n_town:] = rng.uniform(10_000, 660_000, n - n_town)
    town[n_town:] = rng.integers(0, n_towns, n - n_town)
    sector_code = rng.choice(len(_SECTORS), size=n, p=_SECTOR_P)
    group = np.select(
        [sector_code == 0, sector_code == 1, sector_code <= 3, sector_code == 4],
        [town, town // 3, town // 8, np.zeros(n, int)],
        rng.integers(0, 50, n),
    )
    agency_key = sector_code * 1_000 + group
    uniq, inverse = np.unique(agency_key, return_inverse=True)
    names = np.array([f"{_SECTORS[k // 1000]} body {k % 1000}" for k in uniq], dtype=object)
    area = np.round(np.exp(rng.normal(8.5, 1.0, n)))
    surplus = np.where(rng.random(n) < 0.05, np.round(area * rng.uniform(0.05, 0.5, n)), np.nan)
    cost = np.where(rng.random(n) < 0.6, np.round(area * rng.uniform(15, 80, n)), np.nan)
    frame = pd.DataFrame(
        {
            "site_id": pd.array(np.char.add("N", np.arange(n).astype(str)), dtype="str"),
            "agency": pd.array(names[inverse], dtype="str"),
            "sector": pd.array(_SECTORS[sector_code], dtype="str"),
            "name": pd.array(np.char.add("Site ", np.arange(n).astype(str)), dtype="str"),
            "tenure": pd.array(_TENURES[rng.choice(3, size=n, p=[0.7, 0.27, 0.03])], dtype="str"),
            "floor_area_sqft": area,
            "surplus_sqft": surplus,
            "running_cost_gbp": cost,
            "sensitivity": pd.array(
                np.where(rng.random(n) < 0.005, "restricted", "open"), dtype="str"
            ),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")


def naive_near_pairs(xy: np.ndarray, distance: float) -> np.ndarray:
    """Return the naive pair search: buffer every site by the distance, then a GeoPandas sjoin.

    Returns every pair (i < j) whose buffer holds the other point, like
    ``assetmap.colocation._near_pairs`` (the buffers are 64-gons, so a few
    pairs right at the distance are missed).
    """
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:27700")
    buffers = gpd.GeoDataFrame(geometry=points.buffer(distance), crs="EPSG:27700")
    joined = gpd.sjoin(buffers, points, predicate="intersects")
    left = joined.index.to_numpy()
    right = joined["index_right"].to_numpy()
    keep = left < right
    return np.column_stack([left[keep], right[keep]])


def graph_components(search):
    """Return a ``colocation._components`` that joins every pair ``search`` lists."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def components(el, distance: float) -> np.ndarray:
        n = len(el.positions)
        pairs = search(el.xy, distance)
        graph = coo_matrix(
            (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
        ).tocsr()
        return connected_components(graph, directed=False)[1]

    return components


@contextlib.contextmanager
def patched(**replacements):
    """Run assetmap's co-location with some of its functions replaced."""
    originals = {name: getattr(colocation, name) for name in replacements}
    for name, fn in replacements.items():
        setattr(colocation, name, fn)
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(colocation, name, fn)


def naive_pair_search():
    """Run assetmap's co-location with the naive pair search, its graph from every pair."""
    return patched(_near_pairs=naive_near_pairs, _components=graph_components(naive_near_pairs))


def bench_store(path: str, repeat: int) -> None:
    """Time the clusters of a store's estate against components from every pair."""
    from assetmap.store import open_store

    sites = open_store(path).sites()
    print(f"{path}: {len(sites):,} sites ({load()})")
    for distance in (100.0, DISTANCE, 1_000.0):
        t_new, new = timed(lambda d=distance: colocation_clusters(sites, distance=d), repeat)
        with patched(_components=graph_components(colocation._near_pairs)):
            t_old, old = timed(lambda d=distance: colocation_clusters(sites, distance=d), 1)
        same = new.site_cluster.equals(old.site_cluster) and new.clusters.equals(old.clusters)
        print(
            f"  within {distance:,.0f} m: assetmap {t_new:7.2f} s, components from every "
            f"pair {t_old:7.2f} s, ratio {t_old / t_new:5.1f}x; "
            f"{len(new.clusters):,} clusters, {'identical' if same else 'DIFFERENT'}"
        )


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def bench_indexes(sites: gpd.GeoDataFrame, distance: float) -> None:
    import shapely
    from scipy.spatial import cKDTree

    xy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    t, pairs = timed(lambda: cKDTree(xy).query_pairs(distance, output_type="ndarray"))
    print(f"    scipy cKDTree query_pairs:         {t:8.3f} s  ({len(pairs):,} pairs)")
    points = shapely.points(xy)

    def strtree():
        tree = shapely.STRtree(points)
        i, j = tree.query(points, predicate="dwithin", distance=distance)
        return int((i < j).sum())

    t, m = timed(strtree)
    print(f"    shapely STRtree dwithin:           {t:8.3f} s  ({m:,} pairs)")
    try:
        import rtree
    except ImportError:
        print("    rtree: not installed")
        return

    def rtree_pairs():
        index = rtree.index.Index(((i, (a, b, a, b), None) for i, (a, b) in enumerate(xy)))
        ids, counts = index.intersection_v(xy - distance, xy + distance)
        left = np.repeat(np.arange(len(xy)), counts.astype(np.int64))
        right = ids.astype(np.int64)
        close = (left < right) & (((xy[left] - xy[right]) ** 2).sum(axis=1) <= distance**2)
        return int(close.sum())

    t, m = timed(rtree_pairs)
    print(f"    rtree intersection_v + filter:     {t:8.3f} s  ({m:,} pairs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 and 100,000 sites")
    parser.add_argument("--indexes", action="store_true", help="also time the spatial indexes")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs (default 2)")
    parser.add_argument("--store", help="only time the clusters of this store's estate")
    args = parser.parse_args(argv)
    if args.store:
        bench_store(args.store, args.repeat)
        return 0
    small, large = (20_000, 100_000) if args.quick else (100_000, 1_000_000)

    print(f"co-location within {DISTANCE:.0f} m; {load()}")
    colocation_clusters(national_estate(1_000))  # warm up imports

    sites = national_estate(small)
    xy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    t_search, found = timed(lambda: colocation._near_pairs(xy, DISTANCE), args.repeat)
    t_naive_search, naive = timed(lambda: naive_near_pairs(xy, DISTANCE), 1)
    t_pairs, pairs = timed(lambda: colocation_pairs(sites, distance=DISTANCE), args.repeat)
    t_clusters, result = timed(lambda: colocation_clusters(sites, distance=DISTANCE), args.repeat)
    with naive_pair_search():
        t_base_pairs, base_pairs = timed(lambda: colocation_pairs(sites, distance=DISTANCE), 1)
        t_base, base = timed(lambda: colocation_clusters(sites, distance=DISTANCE), 1)
    print(f"{small:,} sites:")
    print("  pair search (every pair within the distance):")
    print(f"    assetmap k-d tree          {t_search:8.3f} s  ({len(found):,} pairs)")
    print(f"    baseline buffer + sjoin    {t_naive_search:8.3f} s  ({len(naive):,} pairs)")
    print(f"    speed-up {t_naive_search / t_search:,.1f}x")
    print("  colocation_pairs (pairs of different agencies, with distances):")
    print(f"    assetmap                   {t_pairs:8.3f} s  ({len(pairs):,} pairs)")
    print(f"    with the baseline search   {t_base_pairs:8.3f} s  ({len(base_pairs):,} pairs)")
    print(f"    speed-up {t_base_pairs / t_pairs:,.1f}x")
    print("  colocation_clusters (clusters, hubs, savings, hulls, members):")
    print(
        f"    assetmap                   {t_clusters:8.3f} s  ({len(result.clusters):,} clusters, "
        f"{len(result.members):,} member sites)"
    )
    print(f"    with the baseline search   {t_base:8.3f} s  ({len(base.clusters):,} clusters)")
    print(f"    speed-up {t_base / t_clusters:,.1f}x")
    if args.indexes:
        print("  spatial indexes (all pairs within the distance, any agencies):")
        bench_indexes(sites, DISTANCE)

    sites = national_estate(large)
    print(f"{large:,} sites ({load()}):")
    t_pairs, pairs = timed(lambda: colocation_pairs(sites, distance=DISTANCE), args.repeat)
    print(f"  assetmap pairs      {t_pairs:8.3f} s  ({len(pairs):,} pairs of different agencies)")
    t_clusters, result = timed(lambda: colocation_clusters(sites, distance=DISTANCE), args.repeat)
    print(
        f"  assetmap clusters   {t_clusters:8.3f} s  ({len(result.clusters):,} clusters, "
        f"{len(result.members):,} member sites)"
    )
    goal = 5.0 * large / 1_000_000
    print(f"  goal: clusters under {goal:g} s: {'met' if t_clusters < goal else 'NOT met'}")
    if args.indexes:
        print("  spatial indexes:")
        bench_indexes(sites, DISTANCE)
    print(f"done; {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
