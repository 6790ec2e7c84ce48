"""Store insert benchmark: checked sites into a new store, against binding every column.

Run from the project root::

    python benchmarks/bench_store_insert.py            # 200,000 rows, 5 rounds
    python benchmarks/bench_store_insert.py --quick    # 20,000 rows

The import benchmark's postcode-only register (same generator, same seed) is
read and checked once; then, in each round, its rows are inserted into the
sites table of a new store in one transaction, twice, in alternating order:
by the store's own insert, which writes text that is the same on every row
(agency, sector, file...) into the statement as SQL literals and binds the
rest, and by the baseline, the ADBC driver's ``adbc_ingest``, which binds every
column of every row. Only the insert is timed: the Arrow columns are made
before it, the same for both. It prints the median of the rounds and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import SEED, make_register

from assetmap.registers.importer import prepare_register
from assetmap.store.bulk import BulkWriter
from assetmap.store.gpkg_file import create_layers
from assetmap.store.interface import LAYOUT, conform


def _timed_insert(path: Path, rows, *, bind_all: bool) -> float:
    """Seconds to insert ``rows`` into the sites table of a new store at ``path``."""
    create_layers(path)
    with BulkWriter(path) as db:
        table = db._arrow_rows("sites", rows, db._srs_id("sites"))
        start = time.perf_counter()
        if bind_all:
            db._cur.adbc_ingest("sites", table, mode="append")
        else:
            db._insert("sites", table)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of both inserts")
    args = parser.parse_args()
    n = 20_000 if args.quick else 200_000
    with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
        tmp = Path(tmp)
        register = tmp / "postcodes.csv"
        make_register(register, n, postcode_only=True, rng=np.random.default_rng(SEED))
        prepared = prepare_register(register, agency="Bench", sector="other")
        rows = conform(prepared.rows, LAYOUT["sites"][0])
        times: dict[bool, list[float]] = {False: [], True: []}
        for i in range(args.rounds):
            for bind_all in (False, True) if i % 2 == 0 else (True, False):
                path = tmp / f"store-{i}-{int(bind_all)}.gpkg"
                times[bind_all].append(_timed_insert(path, rows, bind_all=bind_all))
        ours, base = statistics.median(times[False]), statistics.median(times[True])
        print(f"{'case':<44}{'rows':>9}{'seconds':>10}{'rows/s':>12}")
        for label, secs in (
            ("assetmap insert (constant text as literals)", ours),
            ("baseline: adbc_ingest, every column bound", base),
        ):
            print(f"{label:<44}{n:>9,}{secs:>10.3f}{n / secs:>12,.0f}")
        print(f"{'  ratio':<44}{'':>9}{'':>10}{base / ours:>11.2f}x")
        print(f"(median of {args.rounds} rounds, in alternating order)")


if __name__ == "__main__":
    main()
