"""Benchmark: how long the app takes to rerun when an officer changes a filter.

Goal (issue #5): changing a filter re-runs in well under a second on the sample estate.

The app runs under Streamlit's AppTest (the script, the sidebar, the page and the map
component's arguments; no browser) on a store built from the bundled sample estate.
Each round switches the sector filter between all sectors and police + health, and the
Map page between its default layers (sites and density) and all five layers. assetmap's
times are with its caches warm (the first run of each combination is left out); the
naive baseline is the same rerun with every Streamlit cache (data and resources) cleared
first, as an app without caching would do.

Run::

    python benchmarks/bench_app_rerun.py              # 10 rounds
    python benchmarks/bench_app_rerun.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from assetmap.app import map_page, shell  # noqa: E402
from assetmap.sample import build_sample_store  # noqa: E402
from assetmap.store import STORE_ENV  # noqa: E402

APP = str(ROOT / "streamlit_app.py")
SETTINGS = [
    (None, False),
    (["police", "health"], False),
    (None, True),
    (["police", "health"], True),
]


def _apply(at: AppTest, sectors: list[str] | None, all_layers: bool, present: list[str]) -> None:
    at.multiselect(key=shell.SECTOR_FILTER_KEY).set_value(sectors or present)
    for name in ("clusters", "offers", "matches"):
        at.toggle(key=map_page.LAYER_KEYS[name]).set_value(all_layers)


def _rerun(at: AppTest) -> float:
    start = time.perf_counter()
    at.run(timeout=300)
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "estate.gpkg"
        build_sample_store(store)
        os.environ[STORE_ENV] = str(store)
        at = AppTest.from_file(APP, default_timeout=300)
        _rerun(at)
        present = list(at.multiselect(key=shell.SECTOR_FILTER_KEY).value)
        sites = at.metric[0].value
        for sectors, layers in SETTINGS:  # warm every combination once
            _apply(at, sectors, layers, present)
            _rerun(at)
        cached, naive = [], []
        for _ in range(args.rounds):
            for sectors, layers in SETTINGS:
                _apply(at, sectors, layers, present)
                cached.append(_rerun(at))
        for _ in range(max(1, args.rounds // 3)):
            for sectors, layers in SETTINGS:
                _apply(at, sectors, layers, present)
                st.cache_data.clear()
                st.cache_resource.clear()  # the estate and its indexes are kept there
                naive.append(_rerun(at))
    med_cached = statistics.median(cached)
    med_naive = statistics.median(naive)
    print(f"sample estate: {sites} sites; {len(cached)} cached reruns, {len(naive)} uncached")
    print(
        f"assetmap (cached)  median {med_cached:.3f} s, max {max(cached):.3f} s "
        f"(goal: well under 1 s)"
    )
    print(f"naive (no caches)  median {med_naive:.3f} s, max {max(naive):.3f} s")
    print(f"ratio              {med_naive / med_cached:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
