"""National boundaries benchmark: the first build into an empty cache, and a load afterwards.

Run from the project root::

    python benchmarks/bench_national.py               # an empty cache folder: everything built
    python benchmarks/bench_national.py --warm-postcodes   # the postcode table copied in first

:mod:`assetmap.national` builds the five levels of England and Wales (2 countries, 42 ICBs,
113 sub-ICB locations and health boards, 318 districts, 34,753 LSOAs) and the LSOA lookup
on first use, into the cache folder. Timed, in one run:

- the first build: ``national_level("district")`` in a fresh process whose
  ``$ASSETMAP_CACHE`` is an empty temporary folder, so it also builds the postcode
  directory's compact table (as a first run on a new machine does; ``--warm-postcodes``
  copies the existing table in first, to time the boundaries alone). The stages are timed
  from the progress callback;
- a load afterwards, in a second fresh process on the same folder: each level and the
  lookup, then :func:`~assetmap.national.parent_codes` and
  :func:`~assetmap.national.authority_name` over every LSOA. The import of assetmap and
  geopandas is timed on its own (it is paid once by any program that draws a map).

Goals (issue 15): the first build under 60 s, loading afterwards under 1 s. The machine's
load is printed before and after, because the benchmark shares its cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from assetmap import national
import geopandas
imported = time.perf_counter() - t0
stages = []
t0 = time.perf_counter()
frame = national.national_level(
    "district", progress=lambda s, f: stages.append((s, f, time.perf_counter() - t0))
)
total = time.perf_counter() - t0
print(json.dumps({{"import": imported, "build": total, "stages": stages, "rows": len(frame)}}))
"""

LOAD = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from assetmap import national
import geopandas
out = {{"import": time.perf_counter() - t0, "levels": {{}}}}
for level in national.LEVELS:
    t0 = time.perf_counter()
    frame = national.national_level(level)
    out["levels"][level] = [time.perf_counter() - t0, len(frame)]
t0 = time.perf_counter()
lookup = national.lsoa_lookup()
out["lookup"] = [time.perf_counter() - t0, len(lookup)]
t0 = time.perf_counter()
districts = national.parent_codes("lsoa", lookup["lsoa_code"], "district")
names = national.authority_name(districts)
out["parents_and_names"] = [time.perf_counter() - t0, int((names != "").sum())]
print(json.dumps(out))
"""


def run(script: str, cache: Path) -> dict:
    """Run ``script`` in a fresh Python with ``$ASSETMAP_CACHE`` set; return its JSON."""
    env = {**os.environ, "ASSETMAP_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", script.format(root=str(ROOT))],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"the benchmark's process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warm-postcodes",
        action="store_true",
        help="copy the existing postcode table into the empty cache first",
    )
    args = parser.parse_args()
    print(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()
        if args.warm_postcodes:
            sys.path.insert(0, str(ROOT))
            from assetmap.settings import cache_dir

            for table in cache_dir().glob("onspd-*.npz"):
                shutil.copy(table, cache)
        built = run(BUILD, cache)
        loaded = run(LOAD, cache)
        folder = next(cache.glob("national-*"))
        size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"\nfirst build ({'postcode table copied in' if args.warm_postcodes else 'empty cache'})")
    previous = 0.0
    for stage, fraction, at in built["stages"]:
        print(f"  {at:6.2f} s  {fraction:4.2f}  {stage}  (+{at - previous:.2f} s)")
        previous = at
    verdict = "meets" if built["build"] < 60 else "MISSES"
    print(f"  build: {built['build']:.1f} s ({verdict} the goal of < 60 s)")
    print(f"  the cached files: {size / 1e6:.1f} MB")
    print(f"  import of assetmap.national and geopandas: {built['import']:.2f} s")
    print("\nload afterwards (a new process)")
    print(f"  import of assetmap.national and geopandas: {loaded['import']:.2f} s")
    for level, (seconds, rows) in loaded["levels"].items():
        print(f"  {level:9s} {rows:6,d} rows  {seconds:.3f} s")
    seconds, rows = loaded["lookup"]
    print(f"  lookup    {rows:6,d} rows  {seconds:.3f} s")
    slowest = max([s for s, _ in loaded["levels"].values()] + [seconds])
    verdict = "meets" if slowest < 1 else "MISSES"
    print(f"  slowest single load: {slowest:.3f} s ({verdict} the goal of < 1 s)")
    load_all = sum(s for s, _ in loaded["levels"].values()) + seconds
    print(f"  every level and the lookup: {load_all:.3f} s")
    seconds, named = loaded["parents_and_names"]
    print(f"  parent_codes + authority_name over every LSOA: {seconds:.3f} s ({named:,d} named)")
    print(f"\nload average at end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
