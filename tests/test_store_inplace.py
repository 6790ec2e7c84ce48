"""A change to a GeoPackage store in the current layout is written into the store itself.

A small import into a big store writes about as much as it changes (not a copy of
the file); readers in other processes see the state before the change until it
commits, and a read of several layers is never split by a commit; a thread of the
writer's own process waits for the change, so that no other copy of SQLite touches
the file meanwhile; a writer killed at any moment, even while it commits, leaves
each source old or new, never a mixture.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from assetmap.audit import sha256
from assetmap.registers.importer import import_register
from assetmap.store import bulk, open_store
from assetmap.store.geopackage import GeoPackageStore

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SMALL = "Property reference,Site name,Easting,Northing\n" + "\n".join(
    f"S{i},Small site {i},{520000 + i},{160000 + i}" for i in range(70)
)


def _register(path: Path, rows: int, tag: str) -> Path:
    """A register of ``rows`` sites named ``<tag> <i>``."""
    lines = ["Property reference,Site name,Easting,Northing"]
    lines += [f"R{i},{tag} {i},{500000 + i % 90000},{150000 + i % 70000}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _written() -> int:
    """Bytes this process has handed to ``write`` so far (Linux's /proc/self/io)."""
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("wchar:"))


@pytest.fixture
def big_store(tmp_path) -> Path:
    """A store of 200,000 sites of one source."""
    path = tmp_path / "estate.gpkg"
    register = _register(tmp_path / "big.csv", 200_000, "Big")
    import_register(register, store=path, agency="Kent Police", sector="police")
    return path


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_a_small_import_into_a_big_store_writes_the_change_not_the_store(big_store, monkeypatch):
    size, inode = big_store.stat().st_size, big_store.stat().st_ino
    open_store(big_store).site_keys()  # the file's state checked once, as any reader does
    before = _written()
    import_register(SMALL.encode(), name="small.csv", store=big_store, agency="Kent Fire")
    written = _written() - before
    assert big_store.stat().st_ino == inode  # the same file, changed in place
    assert written < size / 20, (written, size)  # the change and its journal, not a copy
    sites = open_store(big_store).sites()
    assert len(sites) == 200_070
    assert (sites["source_file"] == "small.csv").sum() == 70
    assert not Path(f"{big_store}-journal").exists()
    # the same import into a store written whole (as one in an older layout is) writes
    # the whole file: the measure above tells the two apart
    monkeypatch.setattr(GeoPackageStore, "_layout_is_current", lambda self: False)
    before = _written()
    import_register(SMALL.encode(), name="small2.csv", store=big_store, agency="Kent Fire")
    assert _written() - before > size / 2
    assert big_store.stat().st_ino != inode


def test_a_store_in_wal_mode_is_written_whole_and_comes_back_in_rollback_mode(store_path, tmp_path):
    """Readers of a store in WAL mode do not take the locks a change in place relies on."""
    import_register(_register(tmp_path / "a.csv", 10, "A"), store=store_path, agency="Kent")
    with closing(sqlite3.connect(store_path)) as db:
        assert db.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    inode = store_path.stat().st_ino
    import_register(SMALL.encode(), name="small.csv", store=store_path, agency="Kent Fire")
    assert store_path.stat().st_ino != inode  # a new file, renamed over the store
    with open(store_path, "rb") as fh:
        fh.seek(18)
        assert fh.read(2) == b"\x01\x01"  # SQLite's rollback-journal mode
    assert len(open_store(store_path).sites()) == 80
    inode = store_path.stat().st_ino
    import_register(SMALL.encode(), name="small2.csv", store=store_path, agency="Kent Fire")
    assert store_path.stat().st_ino == inode  # and changed in place from then on


def test_shared_sites_after_a_thousand_others_are_read_back_as_text(store_path, tmp_path):
    """The SQLite driver takes a column's type from its first rows: groups that first appear
    after 1,024 sites without one were read as numbers, and every later import failed."""
    import_register(_register(tmp_path / "a.csv", 1100, "A"), store=store_path, agency="Kent")
    shared = "Site name,UPRN,Easting,Northing\nThe Hub,200000,560000,150000\n"
    import_register(shared.encode(), name="p.csv", store=store_path, agency="Kent Police")
    import_register(shared.encode(), name="h.csv", store=store_path, agency="NHS Kent")
    import_register(SMALL.encode(), name="small.csv", store=store_path, agency="Kent Fire")
    sites = open_store(store_path).sites()
    assert len(sites) == 1172
    hub = sites.loc[sites["name"] == "The Hub", "shared_group"]
    assert len(hub) == 2 and hub.iloc[0] == hub.iloc[1] != ""


#: Run in a second process: one import that stops before it commits, until told to go on.
_PAUSED_IMPORT = """
import sys, time
from pathlib import Path
from assetmap.registers.importer import import_register
from assetmap.store import bulk, geopackage

finish, committing = bulk.BulkWriter._finish, geopackage.committing

def paused(self):
    finish(self)
    print("paused", flush=True)
    sys.stdin.readline()

def timed_committing(*args, **kwargs):
    print("committing", flush=True)
    with committing(*args, **kwargs):
        print(f"locked {time.monotonic()!r}", flush=True)
        yield

bulk.BulkWriter._finish = paused
geopackage.committing = __import__("contextlib").contextmanager(timed_committing)
report = import_register(Path(sys.argv[2]), store=sys.argv[1], agency="Kent Fire", sector="fire")
print(f"imported {report.accepted}", flush=True)
"""


def test_a_reader_in_another_process_sees_the_old_state_until_the_commit(store_path, tmp_path):
    import_register(_register(tmp_path / "a.csv", 10, "A"), store=store_path, agency="Kent Police")
    before = sha256(store_path)
    register = _register(tmp_path / "b.csv", 500, "B")
    with subprocess.Popen(
        [sys.executable, "-c", _PAUSED_IMPORT, str(store_path), str(register)],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        try:
            assert writer.stdout.readline() == "paused\n"
            # mid-change: the journal is beside the store, the file itself untouched
            assert Path(f"{store_path}-journal").exists() and sha256(store_path) == before
            store = open_store(store_path)
            assert len(store.sites()) == 10 and len(store.imports()) == 1

            def read() -> tuple[int, int, float]:
                """Two layers, with the writer's commit asked for between them."""
                sites = len(store.sites())
                writer.stdin.write("go\n")
                writer.stdin.flush()
                assert writer.stdout.readline() == "committing\n"
                time.sleep(0.5)  # time enough for a commit the read did not hold off
                imports = len(store.imports())
                return sites, imports, time.monotonic()

            sites, imports, read_ended = store._one_state(read)
            assert (sites, imports) == (10, 1)  # one state: the commit waited for the read
            locked = float(writer.stdout.readline().removeprefix("locked "))
            assert locked > read_ended
            assert writer.stdout.readline() == "imported 500\n"
        finally:
            writer.kill()
    assert len(open_store(store_path).sites()) == 510
    assert not Path(f"{store_path}-journal").exists()


def _waiting_in(thread: threading.Thread, function: str) -> bool:
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def test_a_thread_of_the_writers_process_waits_for_the_change(store_path, tmp_path, monkeypatch):
    """Another copy of SQLite in the writer's process opening the store would drop the
    writer's locks (POSIX locks belong to the process): a read waits for the commit."""
    import_register(_register(tmp_path / "a.csv", 10, "A"), store=store_path, agency="Kent Police")
    paused, resume = threading.Event(), threading.Event()
    finish = bulk.BulkWriter._finish

    def pausing(self):
        finish(self)
        paused.set()
        assert resume.wait(120)

    monkeypatch.setattr(bulk.BulkWriter, "_finish", pausing)
    register = _register(tmp_path / "b.csv", 500, "B")
    writer = threading.Thread(
        target=import_register, args=(register,), kwargs={"store": store_path, "agency": "NHS"}
    )
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.append(len(open_store(store_path).sites())))
    writer.start()
    try:
        assert paused.wait(120)
        reader.start()
        deadline = time.monotonic() + 60
        while not _waiting_in(reader, "reading") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _waiting_in(reader, "reading") and seen == []
        # the writer still holds its lock: no other process may begin to write
        other = subprocess.run(
            [sys.executable, "-c", _BEGIN_WRITE, str(store_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert other.stdout.strip() == "locked", other
    finally:
        resume.set()
        writer.join(120)
        reader.join(120)
    assert seen == [510]


#: Try to begin writing the store at once: "locked" if another writer holds it.
_BEGIN_WRITE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    db.execute("BEGIN IMMEDIATE")
    print("began")
except sqlite3.OperationalError as exc:
    print("locked" if "locked" in str(exc) else exc)
"""

#: Delete every site through a small cache that spills pages into the file, then die
#: before the commit ends: the file is half changed and SQLite's journal is hot.
_DIE_MID_COMMIT = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size = 4")
db.execute("BEGIN")
db.execute("DELETE FROM sites")
db.execute("DELETE FROM imports")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_while_it_wrote_the_file_is_rolled_back_at_the_next_open(
    store_path, tmp_path
):
    import_register(_register(tmp_path / "a.csv", 3000, "A"), store=store_path, agency="Kent")
    before = sha256(store_path)
    died = subprocess.run([sys.executable, "-c", _DIE_MID_COMMIT, str(store_path)], check=False)
    assert died.returncode == -signal.SIGKILL
    journal = Path(f"{store_path}-journal")
    assert journal.exists() and sha256(store_path) != before  # half changed
    with closing(sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)) as db:
        with pytest.raises(sqlite3.OperationalError, match="readonly database"):
            db.execute("SELECT count(*) FROM sites").fetchone()  # SQLite will not read it
    store = open_store(store_path)
    assert len(store.sites()) == 3000 and len(store.imports()) == 1
    assert not journal.exists() and sha256(store_path) == before


def _source_state(store: Path) -> tuple[str, int]:
    """The tag and number of the sites of source ``churn.csv``; raise on a mixture."""
    stored = open_store(store)
    sites = stored.sites()
    churn = sites[sites["source_file"] == "churn.csv"]
    tags = set(churn["name"].str.split(" ").str[0])
    log = stored.imports().set_index("source_file")
    assert len(tags) == 1, f"a mixture of {sorted(tags)}"
    assert len(churn) == log.loc["churn.csv", "accepted"]
    assert len(sites) == len(churn) + 10
    return tags.pop(), len(churn)


@pytest.mark.slow
def test_kills_at_random_moments_leave_each_source_old_or_new(store_path, tmp_path):
    import_register(_register(tmp_path / "a.csv", 10, "Other"), store=store_path, agency="K")
    versions = {
        "Old": _register(tmp_path / "old.csv", 30_000, "Old"),
        "New": _register(tmp_path / "new.csv", 20_000, "New"),
    }
    sizes = {"Old": 30_000, "New": 20_000}
    import_register(versions["Old"], name="churn.csv", store=store_path, agency="Kent Fire")

    def importing(tag: str) -> list[str]:
        command = ["import", str(versions[tag]), "--name", "churn.csv", "--agency", "Kent Fire"]
        return [sys.executable, "-m", "assetmap", *command, "--store", str(store_path)]

    start = time.monotonic()  # how long one import takes here, end to end
    subprocess.run(importing("New"), env=ENV, check=True, capture_output=True)
    took = time.monotonic() - start
    assert _source_state(store_path) == ("New", 20_000)
    rng = random.Random(20260)
    for trial in range(8):
        proc = subprocess.Popen(
            importing("Old" if trial % 2 == 0 else "New"),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.1) * took)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        found = _source_state(store_path)
        assert found in set(sizes.items()), (trial, found)
        assert not Path(f"{store_path}-journal").exists()
