"""Store benchmark: the PostGIS and GeoPackage stores at a million sites, against to_postgis.

Run from the project root::

    python benchmarks/bench_store.py                 # 1,000,000 sites
    python benchmarks/bench_store.py --quick         # 100,000 sites
    python benchmarks/bench_store.py --fsync-off     # the tests' settings: nothing kept

It starts its own PostgreSQL with PostGIS (``tests/pg.py``'s :class:`PgServer`, on a
temporary data folder and a loopback port, stopped at the end) with PostgreSQL's
durable defaults (``fsync``, ``synchronous_commit`` and ``full_page_writes`` on, and
128 MB of shared buffers; ``--fsync-off`` turns those three off, as the tests' server
does), makes a database with the assetmap schema (``init_store``) and, in one run, on
both stores:

1. imports the import benchmark's register of 1,000,000 rows with coordinates (same
   generator, same seed) end to end (``import_register``: read, check, store) into
   PostGIS, as an agency through the app's role (row-level security on), and into a
   new GeoPackage: rows per second (goal on PostGIS: 200,000 rows/s or more);
2. imports another agency's register of 1,000 rows into each store, which now holds
   the million sites, in rounds (the first adds the source, the others replace it):
   goal under 1 s on each store;
3. reads the whole estate (``store.sites()``) of each store, in rounds: goal under 3 s;
4. the naive baseline: ``geopandas.to_postgis`` (SQLAlchemy, ``postgresql+psycopg``;
   it needs GeoAlchemy2) of the same million sites as read, into a new table of a fresh
   database (GeoAlchemy2 gives it a GiST index); and, like for like, the PostGIS
   store's own write of the same checked rows (``replace_source``, without the
   shared-site groups, in that fresh database) against it. It prints both ratios;
5. the server's floor: the same million stored rows, as PostgreSQL's own binary
   ``COPY`` gives them, copied back in by the owner (no row-level security, no
   conversion) into a table of the same columns with no index (a raw ``COPY``), and
   into one with the store's indexes (what any write of a million rows into the
   ``sites`` table costs the server, however the rows get there).

The load average is printed at the start and the end: other work shares the cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import SEED, make_register

from assetmap.access import Viewer
from assetmap.registers.importer import import_register, prepare_register
from assetmap.registers.report import log_row
from assetmap.store import SourceUpdate, open_store
from assetmap.store.postgis_schema import init_store
from tests import pg

#: PostgreSQL's own defaults for keeping data, in place of the tests' "keep nothing".
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
#: The tests' 32 MB is for many small servers; a benchmark server gets the default.
MEMORY = {"shared_buffers": "128MB"}
BIG_AGENCY, SMALL_AGENCY = "Bench Agency", "Small Agency"


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """Return ``work()`` and the seconds it took."""
    start = time.perf_counter()
    out = work()
    return out, time.perf_counter() - start


def fresh_database(server: pg.PgServer) -> tuple[str, str]:
    """Return the (owner, app) URLs of a new database with PostGIS and the assetmap schema."""
    name = server.new_name()
    server.create_database(name, template=pg.POSTGIS_DB)
    owner_url, app_url = server.urls(name)
    init_store(owner_url, app_role=pg.APP_ROLE)
    return owner_url, app_url


def row(label: str, n: int | str, secs: float, note: str = "") -> None:
    """Print one line of the table."""
    rate = f"{n / secs:>12,.0f}" if isinstance(n, int) else f"{'':>12}"
    count = f"{n:>11,}" if isinstance(n, int) else f"{n:>11}"
    print(f"{label:<50}{count}{secs:>10.3f}{rate}  {note}", flush=True)


def import_big(stores: dict[str, Any], register: Path, n: int) -> dict[str, float]:
    """Import the big register end to end into each store; return rows per second."""
    rates = {}
    for kind, store in stores.items():
        report, secs = timed(
            partial(
                import_register,
                register,
                store=store,
                agency=BIG_AGENCY,
                sector="other",
                name="estate.csv",
            )
        )
        assert report.accepted == n, report.summary()
        rates[kind] = n / secs
        goal = "  (goal >= 200,000 rows/s)" if kind == "postgis" else ""
        row(f"import {n:,} with coordinates, {kind}", n, secs, goal)
    return rates


def import_small(stores: dict[str, Any], register: Path, n: int, rounds: int) -> None:
    """Import the small register into each big store, in rounds; print each and the median."""
    for kind, store in stores.items():
        times = []
        for _ in range(rounds):
            report, secs = timed(
                partial(
                    import_register,
                    register,
                    store=store,
                    agency=SMALL_AGENCY,
                    sector="council",
                    name="small.csv",
                )
            )
            assert report.accepted == 1_000, report.summary()
            times.append(secs)
        each = ", ".join(f"{t:.2f}" for t in times)
        row(f"import 1,000 into {n:,} sites, {kind}", 1_000, statistics.median(times), each)


def read_all(stores: dict[str, Any], n: int, rounds: int) -> Any:
    """Read every site of each store, in rounds; return the PostGIS store's sites."""
    read = {}
    for kind, store in stores.items():
        times = []
        for _ in range(rounds):
            sites, secs = timed(store.sites)
            assert len(sites) == n + 1_000, len(sites)
            times.append(secs)
        each = ", ".join(f"{t:.2f}" for t in times)
        row(f"read the {n + 1_000:,} sites, {kind}", n + 1_000, statistics.median(times), each)
        read[kind] = sites
    return read["postgis"]


def baseline(server: pg.PgServer, register: Path, sites: Any, import_rate: float) -> None:
    """Time to_postgis of ``sites`` and the store's own write of the same checked rows."""
    from sqlalchemy import create_engine

    owner_url, app_url = fresh_database(server)
    engine = create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        _, secs = timed(lambda: sites.to_postgis("naive_sites", engine, index=False))
    finally:
        engine.dispose()
    naive = len(sites) / secs
    row("baseline: geopandas.to_postgis of the sites read", len(sites), secs)
    prepared = prepare_register(register, agency=BIG_AGENCY, sector="other", name="estate.csv")
    log = log_row(prepared.report)
    log["report_json"] = prepared.report.to_json(indent=None)
    update = SourceUpdate(
        "estate.csv",
        "sites",
        prepared.rows,
        prepared.footprints,
        prepared.quarantine,
        log,
        owner=BIG_AGENCY,
    )
    store = open_store(app_url, viewer=Viewer("bench", agency=BIG_AGENCY))
    _, secs = timed(lambda: store.replace_source(update))
    n = len(prepared.rows)
    row("PostGIS store's write alone (replace_source)", n, secs)
    print(f"{'  ratio: import end to end / to_postgis':<50}{import_rate / naive:>32.2f}x")
    print(f"{'  ratio: store write alone / to_postgis':<50}{n / secs / naive:>32.2f}x")


def floor(server: pg.PgServer, owner_url: str) -> None:
    """Time a raw binary ``COPY`` of the stored sites into a bare table and an indexed one."""
    import psycopg

    with psycopg.connect(owner_url) as conn, conn.cursor() as cur:
        body = bytearray()
        with cur.copy("COPY sites TO STDOUT (FORMAT binary)") as copy:
            for block in copy:
                body += block
        n = cur.execute("SELECT count(*) FROM sites").fetchone()[0]
    target, _ = fresh_database(server)
    with psycopg.connect(target, autocommit=True) as conn:
        tables = {
            "raw COPY into a table with no index": "INCLUDING DEFAULTS",
            "raw COPY into a table with the store's indexes": "INCLUDING INDEXES",
        }
        for label, like in tables.items():
            name = "floor_" + like.split()[1].lower()
            conn.execute(f"CREATE TABLE {name} (LIKE sites {like})")
            with conn.cursor() as cur:
                start = time.perf_counter()
                with cur.copy(f"COPY {name} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(body)
                row(f"floor: {label}", n, time.perf_counter() - start)


def start_server(*, fsync_off: bool) -> pg.PgServer:
    """Start the benchmark's server, with the schema-less PostGIS template."""
    if not fsync_off:
        pg.SETTINGS.update(DURABLE)
    pg.SETTINGS.update(MEMORY)
    server = pg.PgServer().start()
    try:
        server.make_templates(schema=False)
    except BaseException:
        server.stop()
        raise
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sites")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the small import and reads"
    )
    parser.add_argument("--fsync-off", action="store_true", help="fsync etc. off, as in the tests")
    args = parser.parse_args()
    if importlib.util.find_spec("geoalchemy2") is None:  # said at once, not after the imports
        sys.exit("the baseline, geopandas.to_postgis, needs GeoAlchemy2: pip install geoalchemy2")
    n = 100_000 if args.quick else 1_000_000
    start_load = os.getloadavg()[0]
    server = start_server(fsync_off=args.fsync_off)
    try:
        with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
            folder = Path(tmp)
            big, small = folder / "coords.csv", folder / "small.csv"
            make_register(big, n, postcode_only=False, rng=np.random.default_rng(SEED))
            make_register(small, 1_000, postcode_only=False, rng=np.random.default_rng(SEED + 1))
            owner_url, app_url = fresh_database(server)
            stores = {
                "postgis": open_store(app_url, viewer=Viewer("bench", agency=BIG_AGENCY)),
                "geopackage": open_store(folder / "estate.gpkg"),
            }
            settings = "fsync off (the tests')" if args.fsync_off else "durable (fsync on)"
            print(f"PostgreSQL on 127.0.0.1:{server.port}, {settings}")
            print(f"{'case':<50}{'rows':>11}{'seconds':>10}{'rows/s':>12}")
            rates = import_big(stores, big, n)
            small_stores = {
                "postgis": open_store(app_url, viewer=Viewer("bench", agency=SMALL_AGENCY)),
                "geopackage": stores["geopackage"],
            }
            import_small(small_stores, small, n, args.rounds)
            sites = read_all(stores, n, args.rounds)
            baseline(server, big, sites, rates["postgis"])
            floor(server, owner_url)
    finally:
        server.stop()
    end_load = os.getloadavg()[0]
    print(f"load average (1 min): {start_load:.2f} at the start, {end_load:.2f} at the end")


if __name__ == "__main__":
    main()
