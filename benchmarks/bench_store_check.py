"""Store check benchmark: what opening a store checks, against reading its sites.

Run from the project root::

    python benchmarks/bench_store_check.py            # a store of 1,000,000 sites
    python benchmarks/bench_store_check.py --quick    # 100,000 sites

Every open of the estate store runs SQLite's ``PRAGMA quick_check`` and reads
what the file holds (:func:`assetmap.store.gpkg_file.inspect_file`), once per
state of the file in a process. This builds a store from the import
benchmark's register with coordinates (same generator, same seed), then times,
in rounds: the check alone (``PRAGMA quick_check`` on the file), reading the
sites with the check (the file's state forgotten first), and reading them
without it (the state remembered). It prints the medians and the check's cost
as a share of a read.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import SEED, make_register

from assetmap.registers.importer import import_register
from assetmap.store import open_store
from assetmap.store.gpkg_file import INSPECTED


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _quick_check(path: Path) -> None:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        assert [row[0] for row in db.execute("PRAGMA quick_check")] == ["ok"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sites")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each timing")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
        tmp = Path(tmp)
        register = tmp / "coords.csv"
        make_register(register, n, postcode_only=False, rng=np.random.default_rng(SEED))
        path = tmp / "estate.gpkg"
        import_register(register, store=path, agency="Bench Agency", sector="council")
        store = open_store(path)
        check, cold, warm = [], [], []
        for _ in range(args.rounds):
            check.append(_seconds(lambda: _quick_check(path)))
            INSPECTED.clear()  # the file's state forgotten: read with the check
            cold.append(_seconds(store.sites))
            warm.append(_seconds(store.sites))  # the state remembered: read without it
        size_mb = path.stat().st_size / 1e6
    check_s, cold_s, warm_s = (statistics.median(t) for t in (check, cold, warm))
    print(f"store of {n:,} sites ({size_mb:,.0f} MB), median of {args.rounds} rounds:")
    print(f"  PRAGMA quick_check alone          {check_s:7.3f} s")
    print(f"  read the sites, with the check    {cold_s:7.3f} s")
    print(f"  read the sites, state remembered  {warm_s:7.3f} s")
    print(f"  the check is {check_s / warm_s:.0%} of a read of the sites")


if __name__ == "__main__":
    main()
