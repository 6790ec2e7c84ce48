"""Proof under load: many agencies on one store at once, and importers killed at any moment.

Two proofs, each in separate processes as a partnership's desks would be:

- Four importers (one per agency) import their registers into one PostGIS store at
  the same moment, each a register of sites, a register of space requests and then a
  second version of its sites (replacing the first), while two readers poll the
  store (one as the owner role, one as an agency through the app's role). Every
  import lands; no read ever shows part of an import (each source in a read has 0
  rows or exactly the rows one version of it brought, all of that version); and the
  final counts add up exactly.
- Twenty trials, on each kind of store, of killing a random importer (SIGKILL) at a
  random moment of re-importing its source over an earlier version: before it
  writes, while its rows are being copied in, about the commit, and after it. Each
  source afterwards is the old or the new version, whole (its sites, its import log
  row and its quarantined rows alike), never a mixture; the other sources are
  untouched.

A failure names the trial, its moment and the seed (``ASSETMAP_TEST_SEED`` repeats a
run's choices).
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from assetmap.access import Viewer
from assetmap.audit import sha256
from assetmap.registers.importer import import_register
from assetmap.store import open_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

#: Generous bounds that only turn a hang into a failure (no timing is asserted).
WAIT_S = 300.0

#: The agencies of the partnership: (agency, sector, reference prefix).
AGENCIES = (
    ("Kent Police", "police", "KP"),
    ("NHS Kent", "health", "NK"),
    ("Kent Fire", "fire", "KF"),
    ("Maidstone Council", "council", "MC"),
)
POSTCODES = ("ME14 1XX", "TN9 1SP", "TN1 1AA", "ME16 9BG", "ME5 7FE")


@dataclass(frozen=True)
class Version:
    """One version of a register: its file, hash and what importing it stores."""

    path: Path
    kind: str
    sha256: str
    accepted: int
    quarantined: int


def _sites_register(path: Path, prefix: str, rows: int, bad: int) -> Version:
    """Write a register of ``rows`` sites, ``bad`` of them without a usable easting."""
    lines = ["Property reference,Site name,Easting,Northing,GIA (sq ft)"]
    step = rows // bad
    for i in range(rows):
        easting = "n/a" if i % step == step - 1 else str(540000 + (i * 37) % 40000)
        lines.append(
            f"{prefix}{i},{prefix} site {i},{easting},{140000 + (i * 53) % 30000},{1000 + i}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Version(path, "sites", sha256(path), rows - bad, bad)


def _requests_register(path: Path, prefix: str, rows: int) -> Version:
    """Write a register of ``rows`` space requests, placed by their postcodes."""
    lines = ["Request ref,Space needed (sq ft),Use,Postcode,Max distance (m)"]
    lines += [f"{prefix}R{i},{1000 + i},Office,{POSTCODES[i % 5]},5000" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Version(path, "requests", sha256(path), rows, 0)


# --------------------------------------------------------------------------- processes

#: An importer: one JSON job a line on standard input, one JSON line out per import.
#: It opens the store and touches it before saying "ready", so that a job's time is
#: the import's alone.
_IMPORTER = r"""
import json, sys, time
from assetmap.access import Viewer
from assetmap.registers.importer import import_register
from assetmap.store import open_store

location = sys.argv[1]
open_store(location).version()
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    store = open_store(location, viewer=Viewer("importer", agency=job["agency"]))
    start = time.time()
    report = import_register(
        job["path"], store=store, name=job["name"], kind=job["kind"],
        agency=job["agency"], sector=job["sector"],
    )
    print(json.dumps({"name": job["name"], "agency": job["agency"], "sha256": report.sha256,
                      "accepted": report.accepted, "quarantined": report.quarantined,
                      "start": start, "end": time.time()}), flush=True)
"""

#: A reader: reads the sites and the requests until the stop file exists, checking
#: every read against the versions it may be made of (``expected``: each version's
#: digest -> [accepted rows, its place in its source's order of imports]): a source's
#: rows are all of one version and all its rows; a source once read never vanishes and
#: never goes back to an earlier version. Then one JSON line of findings.
_READER = r"""
import json, os, sys
from collections import Counter
import pandas as pd
from assetmap.access import Viewer
from assetmap.store import open_store

location, agency, expected_path, stop_path = sys.argv[1:5]
expected = json.loads(open(expected_path, encoding="utf-8").read())
store = open_store(location, viewer=Viewer("reader", agency=agency) if agency else None)
reads, problems, states, seen = 0, [], set(), {}

def check(layer):
    frame = getattr(store, layer)()
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        problems.append(f"read {reads}: the {layer} are not numbered 0..n-1")
    counts = Counter(zip(frame["source_owner"], frame["source_file"], frame["source_sha256"]))
    by_source = Counter((owner, name) for owner, name, _ in counts)
    for (owner, name), versions in by_source.items():
        if versions != 1:
            problems.append(f"read {reads}: {layer} of {owner}/{name} mix {versions} versions")
    for (owner, name, digest), n in counts.items():
        want, rank = expected[layer].get(digest, (None, -1))
        if want != n:
            problems.append(f"read {reads}: {n} {layer} of {owner}/{name} ({digest[:8]}), "
                            f"not {want}: part of an import")
        if rank < seen.get((layer, owner, name), -1):
            problems.append(f"read {reads}: {layer} of {owner}/{name} went back a version")
        seen[(layer, owner, name)] = rank
    for layer_, owner, name in seen:
        if layer_ == layer and (owner, name) not in by_source:
            problems.append(f"read {reads}: the {layer} of {owner}/{name} vanished")
    if sum(counts.values()) != len(frame):
        problems.append(f"read {reads}: {layer} rows do not add up")
    return tuple(sorted(counts.items()))

states.add((check("sites"), check("requests")))
print("ready", flush=True)
while not os.path.exists(stop_path):
    reads += 1
    states.add((check("sites"), check("requests")))
print(json.dumps({"reads": reads, "problems": problems[:20], "states": len(states),
                  "sites_states": len({s for s, _ in states})}), flush=True)
"""


class _Process:
    """A worker process running one of the scripts above, its output read in a thread."""

    def __init__(self, script: str, *args: str) -> None:
        self.errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def stderr(self) -> str:
        """Return what the process wrote to its standard error so far (its last lines)."""
        self.errors.seek(0)
        return "\n".join(self.errors.read().strip().splitlines()[-15:])

    def line(self, timeout: float = WAIT_S) -> str | None:
        """Return the next line it printed (``None``: it ended), waiting at most ``timeout``."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer from a worker in {timeout} s") from None

    def expect(self, timeout: float = WAIT_S) -> str:
        """Return the next line, failing with its error output if it ended instead."""
        line = self.line(timeout)
        if line is None:
            self.proc.wait(timeout=WAIT_S)
            raise AssertionError(f"a worker ended ({self.proc.returncode}):\n{self.stderr()}")
        return line

    def send(self, job: dict) -> None:
        """Send one job."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """Say there are no more jobs."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def kill(self) -> None:
        """SIGKILL it (if still running) and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT_S)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except BrokenPipeError:  # a job it never read
                    pass
        self.errors.close()


def _job(version: Version, agency: str, sector: str, name: str) -> dict:
    return {
        "path": str(version.path),
        "kind": version.kind,
        "agency": agency,
        "sector": sector,
        "name": name,
    }


def _seed() -> int:
    return int(os.environ.get("ASSETMAP_TEST_SEED") or random.SystemRandom().randrange(10**6))


# --------------------------------------------------------------------------- at once


def test_four_agencies_import_at_once_while_two_readers_poll(pg_store, tmp_path):
    owner_url, app_url = pg_store
    plans: dict[str, list[tuple[Version, str]]] = {}
    expected: dict[str, dict[str, list[int]]] = {"sites": {}, "requests": {}}
    for n, (agency, _, prefix) in enumerate(AGENCIES):
        first = _sites_register(tmp_path / f"{prefix}_1.csv", prefix, 6_000 + 500 * n, 5 + n)
        wanted = _requests_register(tmp_path / f"{prefix}_req.csv", prefix, 40 + n)
        second = _sites_register(tmp_path / f"{prefix}_2.csv", prefix, 8_000 + 700 * n, 9 + n)
        plans[agency] = [(first, "estate.csv"), (wanted, "requests.csv"), (second, "estate.csv")]
        for rank, version in enumerate((first, wanted, second)):
            layer = "sites" if version.kind == "sites" else "requests"
            expected[layer][version.sha256] = [version.accepted, rank]
    expected_path = tmp_path / "expected.json"
    expected_path.write_text(json.dumps(expected), encoding="utf-8")
    stop = tmp_path / "stop"

    readers = [
        _Process(_READER, owner_url, "", str(expected_path), str(stop)),
        _Process(_READER, app_url, "Kent Police", str(expected_path), str(stop)),
    ]
    importers = [_Process(_IMPORTER, app_url) for _ in AGENCIES]
    try:
        for worker in readers + importers:
            assert worker.expect() == "ready"
        for worker, (agency, sector, _) in zip(importers, AGENCIES, strict=True):
            for version, name in plans[agency]:  # all sent at once: the imports start together
                worker.send(_job(version, agency, sector, name))
            worker.close()
        done = [[json.loads(w.expect()) for _ in range(3)] for w in importers]
        stop.touch()
        findings = [json.loads(r.expect()) for r in readers]
    finally:
        for worker in readers + importers:
            worker.kill()

    # every import landed, as its register says
    for reports, (agency, _, _) in zip(done, AGENCIES, strict=True):
        got = [(r["sha256"], r["accepted"], r["quarantined"]) for r in reports]
        assert got == [(v.sha256, v.accepted, v.quarantined) for v, _ in plans[agency]], agency
    # the importers worked at the same time: each one's first import began before any ended
    assert max(r[0]["start"] for r in done) < min(r[0]["end"] for r in done)
    # no read saw part of an import, and the reads saw the store change
    for finding in findings:
        assert finding["problems"] == []
        assert finding["reads"] >= 3
    assert max(f["sites_states"] for f in findings) >= 3

    # the final counts add up exactly, for the owner and for each agency
    store = open_store(owner_url)
    sites, requests, log = store.sites(), store.requests(), store.imports()
    finals = {a: plans[a][2][0] for a, _, _ in AGENCIES}
    assert len(sites) == sum(v.accepted for v in finals.values())
    assert Counter(sites["source_owner"]) == {a: v.accepted for a, v in finals.items()}
    assert Counter(zip(sites["source_owner"], sites["source_sha256"], strict=True)) == {
        (a, v.sha256): v.accepted for a, v in finals.items()
    }
    assert Counter(requests["source_owner"]) == {a: plans[a][1][0].accepted for a in finals}
    assert sorted(
        zip(log["source_owner"], log["source_file"], log["accepted"], strict=True)
    ) == sorted(
        [(a, "estate.csv", v.accepted) for a, v in finals.items()]
        + [(a, "requests.csv", plans[a][1][0].accepted) for a in finals]
    )
    assert sites["site_id"].is_unique
    for agency, version in finals.items():
        own = open_store(app_url, viewer=Viewer("check", agency=agency)).quarantine()
        mine = own[own["source_owner"] == agency]
        assert len(mine) == version.quarantined
        assert set(mine["source_sha256"]) == {version.sha256}


# --------------------------------------------------------------------------- kill trials

TRIALS = 20
#: The moments of the twenty trials, in a random order: ``delay``, random delays spread
#: over the whole import and a quarter beyond (one in each eighth of that span);
#: ``writing``, as soon as the store is being written (PostGIS: the importer's transaction
#: has written, e.g. deleted the old rows; GeoPackage: a temporary copy or journal of the
#: store exists); ``copying``, as soon as the new rows are being copied in (PostGIS: a
#: COPY of the importer's is running; GeoPackage: as ``writing``);
#: ``committed``, as soon as the store's version has changed (PostGIS bumps it in the
#: import's own transaction, so its commit is visible then, and the new version must be
#: read; a GeoPackage's file changes as its commit begins, before the commit point, the
#: journal's removal, so this kills it mid-commit and either version may be read);
#: ``returned``, once the import has returned (its report printed) and before the
#: process ends: the new version must be read.
MOMENTS = ("delay",) * 8 + ("writing", "copying") * 3 + ("committed",) * 4 + ("returned",) * 2


@dataclass
class _Source:
    """A source of the kill trials: its agency, its two versions and the one stored."""

    agency: str
    sector: str
    versions: tuple[Version, Version]
    stored: int = 0  # which of the versions the store holds


def _states(location: str | Path, sources: list[_Source]) -> dict[str, tuple]:
    """Return what the store holds of each source, in every layer (one read of each).

    ``location`` is one that sees every row: a GeoPackage, or the owner role's URL.
    """
    store = open_store(location)
    layers = [store.sites(), store.imports(), store.quarantine()]
    states: dict[str, tuple] = {}
    for source in sources:
        sites, log, held = (
            frame[(frame["source_owner"] == source.agency) & (frame["source_file"] == "estate.csv")]
            for frame in layers
        )
        states[source.agency] = (
            len(sites),
            tuple(sorted(set(sites["source_sha256"]))),
            tuple(zip(log["source_sha256"], log["accepted"], strict=True)),
            len(held),
            tuple(sorted(set(held["source_sha256"]))),
        )
    others = layers[0]["source_file"] == "others.csv"
    states["others"] = (int(others.sum()),)
    return states


def _whole(version: Version) -> tuple:
    """Return :func:`_states` of a source that holds exactly ``version``."""
    return (
        version.accepted,
        (version.sha256,),
        ((version.sha256, version.accepted),),
        version.quarantined,
        (version.sha256,),
    )


def _sessions(monitor, busy: str = "true") -> int:
    """Return the app role's other sessions on the database that are at work.

    At work: running a statement or inside a transaction, and ``busy`` (an SQL
    condition on ``pg_stat_activity``). ``monitor`` is an autocommit connection as
    the app role, which sees its own role's sessions; the trials' importers are the
    only other clients.
    """
    row = monitor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        f"AND pid <> pg_backend_pid() AND usename = current_user AND state <> 'idle' AND {busy}"
    ).fetchone()
    return int(row[0]) if row else 0


def _wait_for(condition, worker: _Process, step: float = 0.002) -> bool:
    """Poll ``condition`` until it holds (True) or the worker has finished its job (False)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        if not worker.lines.empty() or worker.proc.poll() is not None:
            return False
        time.sleep(step)
    raise AssertionError("an import neither finished nor reached the moment to kill it")


def _writing(trials: _Trials, moment: str) -> bool:
    """Return whether the store is being written right now (see :data:`MOMENTS`)."""
    if trials.monitor is not None:
        copying = "query ILIKE 'copy%' AND state = 'active'"
        busy = copying if moment == "copying" else "backend_xid IS NOT NULL"
        return _sessions(trials.monitor, busy) > 0
    store = Path(trials.location)
    return any(
        p.name.startswith((f".{store.name}.", f"{store.name}-")) for p in store.parent.iterdir()
    )


@dataclass
class _Trials:
    """The store of the kill trials and what the trials share."""

    location: str | Path  # what the importers open: the app role's URL, or the file
    checker: str | Path  # what sees every row: the owner role's URL, or the file
    sources: list[_Source]
    rng: random.Random
    seed: int
    monitor: object = None  # an autocommit connection as the app role (PostGIS)


@pytest.fixture(params=["geopackage", "postgis"])
def kill_store(request, tmp_path) -> tuple[str | Path, str | Path]:
    """The store of the kill trials: (the importers' location, one that sees every row).

    The app role's and the owner role's URLs of a fresh PostGIS database, or a
    GeoPackage file that does not exist yet (twice).
    """
    if request.param == "postgis":
        owner_url, app_url = request.getfixturevalue("pg_store")
        return app_url, owner_url
    return tmp_path / "estate.gpkg", tmp_path / "estate.gpkg"


def _kill_one(
    trials: _Trials, worker: _Process, source: _Source, moment: str, delay: float, trial: int
):
    """Start re-importing ``source`` in ``worker``, kill it at ``moment``; return the outcome.

    The outcome is (whether the moment was reached before the import ended, "old" or
    "new"); a source left as a mixture of the two fails the test.
    """
    old, new = source.versions[source.stored], source.versions[1 - source.stored]
    before = open_store(trials.checker).version()
    worker.send(_job(new, source.agency, source.sector, "estate.csv"))
    if moment == "delay":
        time.sleep(delay)
        reached = True
    elif moment in ("writing", "copying"):
        reached = _wait_for(lambda: _writing(trials, moment), worker)
    elif moment == "committed":
        reached = _wait_for(lambda: open_store(trials.checker).version() != before, worker)
    else:  # returned
        reached = bool(json.loads(worker.expect())["accepted"])
    worker.kill()
    if trials.monitor is not None:  # the server ends the session (a commit it was sent too)
        deadline = time.monotonic() + WAIT_S
        while _sessions(trials.monitor) and time.monotonic() < deadline:
            time.sleep(0.01)
    states = _states(trials.checker, trials.sources)
    where = f"trial {trial}, {moment}, seed {trials.seed}"
    state = states[source.agency]
    if state not in (_whole(old), _whole(new)):
        raise AssertionError(
            f"({where}) {source.agency}'s source is a mixture: {state}; "
            f"old {_whole(old)}, new {_whole(new)}"
        )
    outcome = "new" if state == _whole(new) else "old"
    source.stored = 1 - source.stored if outcome == "new" else source.stored
    if reached and (moment == "returned" or (moment == "committed" and trials.monitor)):
        assert outcome == "new", f"({where}) committed, yet the old version is read"
    for other in trials.sources:  # every other source is as it was
        assert states[other.agency] == _whole(other.versions[other.stored]), where
    return reached, outcome, states["others"]


def test_an_importer_killed_at_any_moment_leaves_its_source_old_or_new(kill_store, tmp_path):
    location, checker = kill_store
    postgis = isinstance(location, str)
    seed = _seed()
    sources = []
    for n, (agency, sector, prefix) in enumerate(AGENCIES[:3]):
        versions = (
            _sites_register(tmp_path / f"{prefix}_old.csv", prefix, 8_000 + 1_000 * n, 6),
            _sites_register(tmp_path / f"{prefix}_new.csv", prefix, 10_000 + 1_000 * n, 11),
        )
        sources.append(_Source(agency, sector, versions))
    trials = _Trials(location, checker, sources, random.Random(seed), seed)
    by = AGENCIES[3]
    others = _sites_register(tmp_path / "others.csv", "BY", 3_000, 3)
    import_register(others.path, store=location, agency=by[0], sector=by[1], name="others.csv")
    for source in sources:  # every source starts with a version stored ("old" is not empty)
        import_register(
            source.versions[0].path,
            store=location,
            agency=source.agency,
            sector=source.sector,
            name="estate.csv",
        )

    # one import killed by nobody: how long an import takes here, for the random delays
    spare = _Process(_IMPORTER, str(location))
    assert spare.expect() == "ready"
    worker, spare = spare, _Process(_IMPORTER, str(location))
    began = time.monotonic()
    worker.send(_job(sources[0].versions[1], sources[0].agency, sources[0].sector, "estate.csv"))
    worker.expect()
    took = time.monotonic() - began
    worker.kill()
    sources[0].stored = 1

    moments = list(MOMENTS)
    trials.rng.shuffle(moments)
    strata = moments.count("delay")  # one delay in each of as many equal spans of the import
    delays = [took * 1.25 * (k + trials.rng.random()) / strata for k in range(strata)]
    trials.rng.shuffle(delays)
    outcomes = []
    trials.monitor = psycopg.connect(location, autocommit=True) if postgis else None
    try:
        for trial, moment in enumerate(moments):
            assert spare.expect() == "ready"
            worker, spare = spare, _Process(_IMPORTER, str(location))  # the next one warms up
            source = trials.rng.choice(sources)
            delay = delays.pop() if moment == "delay" else 0.0
            reached, outcome, kept = _kill_one(trials, worker, source, moment, delay, trial)
            assert kept == (others.accepted,), f"trial {trial}: another agency's source changed"
            outcomes.append((moment, round(delay / took, 2), reached, outcome))
    finally:
        spare.kill()
        if trials.monitor is not None:
            trials.monitor.close()
    assert len(outcomes) == TRIALS
    # the moments were spread: some kills came before the commit and some after it
    assert {o for *_, o in outcomes} == {"old", "new"}, outcomes
    assert {m for m, _, r, _ in outcomes if r} >= {"writing", "copying"}, outcomes
