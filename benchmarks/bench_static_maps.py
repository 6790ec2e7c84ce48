"""Print maps benchmark: A4 300 dpi maps of many sites, and a map pack, against baselines.

A4 300 dpi maps of 10,000 and 100,000 sites over Kent's 289 wards, and the 13-district
map pack of the sample estate, each against a naive baseline.

Run from the project root::

    python benchmarks/bench_static_maps.py            # 10,000 and 100,000 sites, and the pack
    python benchmarks/bench_static_maps.py --quick    # 10,000 sites, and the pack

The wards are ``../shared/data/boundaries/kent_wards_dec2023_bsc.geojson`` (ONS,
December 2023, 289 wards of Kent and Medway), read with
:func:`assetmap.io.boundaries.read_boundary_file` before timing; the benchmark stops
with a message when the file is absent. Sites are generated with a fixed seed at
uniform points inside the county outline, in the six sectors.

Timed, in one run (each time is the whole job: drawing the page and writing
the PNG at 300 dpi):

- assetmap, ``sites``: :func:`assetmap.maps.static.build_map` of the sites by
  sector with the 289 wards as the basemap, saved with ``save_map``;
- assetmap, ``density``: the ward choropleth of the same sites (assigning the
  sites to wards, classing by quantiles, drawing and saving);
- naive baseline A, *geopandas defaults*: pyplot, one ``GeoDataFrame.plot()``
  per sector with default artists over ``wards.plot()``, ``legend=True``, and
  for the choropleth a ``geopandas.sjoin`` count and
  ``wards.plot(column=..., scheme="quantiles", legend=True)``, saved with
  ``plt.savefig(dpi=300)``;
- naive baseline B, *one scatter call per site*: the way a map is often drawn
  in a loop. Timed on 2,000 sites and scaled to the full count (the output
  says so): a full run at 100,000 sites takes many minutes;
- the map pack: :func:`assetmap.maps.pack.export_pack` of the sample estate
  for Kent and Medway (4 place maps, 13 district maps and 6 tables, PDF, A4,
  300 dpi), against a naive per-locality loop that, for each district,
  re-reads the store, clips the sites with ``geopandas.clip``, draws the LSOAs
  and the sites per sector with pyplot and writes a PDF (13 pages only: less
  than the pack writes).

Goals on 2 cores: one map under 2 s at 10,000 sites and under 5 s at 100,000;
the Kent pack under 60 s. The load average is printed before and after, since
the benchmark shares its cores.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402

from assetmap.io.boundaries import read_boundary_file  # noqa: E402
from assetmap.localities import load_localities  # noqa: E402
from assetmap.maps.pack import export_pack  # noqa: E402
from assetmap.maps.static import build_map, save_map  # noqa: E402
from assetmap.schema import CRS_BNG, SECTORS  # noqa: E402

SEED = 20_231_201
WARDS = ROOT.parent / "shared" / "data" / "boundaries" / "kent_wards_dec2023_bsc.geojson"
OUT = ROOT / "benchmarks" / "out"
BASELINE_B_SITES = 2_000


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def make_sites(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` open sites at uniform points inside Kent and Medway, in the six sectors."""
    county = shapely.union_all(load_localities("county").geometry.to_numpy())
    shapely.prepare(county)
    minx, miny, maxx, maxy = county.bounds
    xs, ys = [], []
    while sum(len(x) for x in xs) < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        keep = shapely.contains_xy(county, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    sectors = np.array(SECTORS)[rng.integers(0, len(SECTORS), n)]
    frame = pd.DataFrame(
        {
            "site_id": [f"B{i:07d}" for i in range(n)],
            "agency": pd.Series(sectors, dtype="str") + " body",
            "sector": pd.Series(sectors, dtype="str"),
            "floor_area_sqft": rng.uniform(500, 50_000, n).round(),
            "surplus_sqft": 0.0,
            "running_cost_gbp": np.nan,
            "sensitivity": "open",
            "imported_at": "2026-11-23T00:00:00+00:00",
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=CRS_BNG)


def timed(job) -> tuple[float, object]:
    start = time.perf_counter()
    result = job()
    return time.perf_counter() - start, result


def assetmap_map(kind: str, sites, wards) -> bytes:
    built = build_map(kind, sites, place="Kent and Medway", localities=wards)
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="png", dpi=300)
    return buffer.getvalue()


def naive_defaults(kind: str, sites, wards) -> bytes:
    """Baseline A: pyplot and geopandas' default artists, one .plot() per sector."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.27, 11.69))
    if kind == "sites":
        wards.plot(ax=ax, facecolor="white", edgecolor="grey")
        for sector in SECTORS:
            sites[sites["sector"] == sector].plot(ax=ax, markersize=4, label=sector)
        ax.legend()
    else:
        joined = gpd.sjoin(sites, wards, predicate="within")
        counts = joined.groupby("code").size()
        shaded = wards.assign(sites=wards["code"].map(counts).fillna(0))
        shaded["per_km2"] = shaded["sites"] / (shaded.area / 1e6)
        shaded.plot(ax=ax, column="per_km2", scheme="quantiles", k=5, legend=True)
    ax.set_title(f"naive {kind}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=300)
    plt.close(fig)
    return buffer.getvalue()


def naive_per_site(sites, wards) -> bytes:
    """Baseline B: one scatter call per site."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = dict(zip(SECTORS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    fig, ax = plt.subplots(figsize=(8.27, 11.69))
    wards.plot(ax=ax, facecolor="white", edgecolor="grey")
    for sector, point in zip(sites["sector"], sites.geometry, strict=True):
        ax.scatter([point.x], [point.y], s=4, color=colours[sector])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=300)
    plt.close(fig)
    return buffer.getvalue()


def sample_store() -> Path:
    """Return the sample estate's store in benchmarks/out/ (built once, not timed)."""
    from assetmap.sample import build_sample_store

    path = OUT / "sample_estate.gpkg"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print("building the sample estate's store (not timed)...", flush=True)
        build_sample_store(path)
    return path


def naive_pack(store_path: Path, out: Path) -> int:
    """Per-locality loop re-reading the store, pyplot and geopandas defaults, one PDF each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from assetmap.store import open_store

    districts = load_localities("district")
    written = 0
    for row in districts.itertuples(index=False):
        sites = open_store(store_path).sites()
        sites = sites[sites["sensitivity"] != "restricted"]
        outline = gpd.GeoDataFrame(geometry=[row.geometry], crs=CRS_BNG)
        inside = gpd.clip(sites, outline)
        lsoas = load_localities("lsoa")
        lsoas = lsoas[lsoas["district_code"] == row.code]
        fig, ax = plt.subplots(figsize=(8.27, 11.69))
        lsoas.plot(ax=ax, facecolor="white", edgecolor="grey")
        for sector in SECTORS:
            part = inside[inside["sector"] == sector]
            if len(part):
                part.plot(ax=ax, markersize=12, label=sector)
        ax.legend()
        ax.set_title(f"{row.name}: {len(inside)} sites")
        fig.savefig(out / f"{row.code}.pdf", format="pdf", dpi=300)
        plt.close(fig)
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 sites only, and the pack")
    args = parser.parse_args()
    if not WARDS.is_file():
        sys.exit(
            f"skipped: the ward boundaries are absent ({WARDS}); ../shared sits beside the repo"
        )
    print(f"start: {load()}")
    wards, notes = read_boundary_file(WARDS)
    print(f"{len(wards)} wards from {WARDS.name}" + (f" ({len(notes)} notes)" if notes else ""))
    rng = np.random.default_rng(SEED)
    sizes = [10_000] if args.quick else [10_000, 100_000]
    # Warm-up (imports, fonts, boundary caches), not timed.
    for kind in ("sites", "density"):
        assetmap_map(kind, make_sites(2_000, rng), wards)
        naive_defaults(kind, make_sites(2_000, rng), wards)

    rows = []
    for n in sizes:
        sites = make_sites(n, rng)
        for kind in ("sites", "density"):
            t_ours, png = timed(lambda kind=kind, sites=sites: assetmap_map(kind, sites, wards))
            t_naive, _ = timed(lambda kind=kind, sites=sites: naive_defaults(kind, sites, wards))
            rows.append((f"{kind}, {n:,} sites", t_ours, t_naive, "A (geopandas defaults)"))
            print(
                f"{kind:8} {n:>7,} sites: assetmap {t_ours:6.2f} s ({len(png) / 1e6:.1f} MB PNG)"
                f"  naive A {t_naive:6.2f} s  ratio {t_naive / t_ours:5.1f}x",
                flush=True,
            )
        few = sites.iloc[:BASELINE_B_SITES]
        t_b, _ = timed(lambda few=few: naive_per_site(few, wards))
        t_b_wards, _ = timed(lambda few=few: naive_per_site(few.iloc[:0], wards))
        scaled = t_b_wards + (t_b - t_b_wards) * n / BASELINE_B_SITES
        t_ours = rows[-2][1]
        rows.append((f"sites, {n:,} sites", t_ours, scaled, "B (per-site scatter, scaled)"))
        print(
            f"sites    {n:>7,} sites: naive B, one scatter call per site: {t_b:.2f} s for "
            f"{BASELINE_B_SITES:,} sites, scaled to {n:,}: {scaled:.1f} s; ratio "
            f"{scaled / t_ours:.0f}x",
            flush=True,
        )

    store = sample_store()
    work = Path(tempfile.mkdtemp(prefix="bench_pack_", dir=OUT))
    try:
        t_pack, index = timed(
            lambda: export_pack(store, "Kent and Medway", "district", work / "pack", format="pdf")
        )
        (work / "naive").mkdir()
        t_naive_pack, pages = timed(lambda: naive_pack(store, work / "naive"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    kinds = index.to_frame()["kind"].value_counts().to_dict()
    print(
        f"pack of Kent and Medway: assetmap {t_pack:.1f} s ({kinds.get('map', 0)} place maps, "
        f"{kinds.get('atlas', 0)} district maps, {kinds.get('table', 0)} tables, PDF A4 300 dpi)"
        f"  naive loop {t_naive_pack:.1f} s ({pages} district PDFs only)  ratio "
        f"{t_naive_pack / t_pack:.1f}x"
    )
    rows.append(("map pack, 13 districts", t_pack, t_naive_pack, "per-locality loop"))
    print(f"end: {load()}")
    print("\n| case | assetmap | naive | baseline | ratio |\n|---|---:|---:|---|---:|")
    for case, ours, naive, kind in rows:
        print(f"| {case} | {ours:.2f} s | {naive:.2f} s | {kind} | {naive / ours:.1f}x |")
    goals = {10_000: 2.0, 100_000: 5.0}
    for case, ours, _, kind in rows:
        for n, limit in goals.items():
            if case.endswith(f", {n:,} sites") and kind.startswith("A"):
                verdict = "met" if ours < limit else "NOT met"
                print(f"goal: {case} under {limit:g} s: {verdict} ({ours:.2f} s)")
    print(f"goal: the pack under 60 s: {'met' if t_pack < 60 else 'NOT met'} ({t_pack:.1f} s)")


if __name__ == "__main__":
    main()
