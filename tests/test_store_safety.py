"""The estate store survives mistakes and attacks on its files.

No output is written over the store, its audit log, its lock or its temporary
files, whatever other name it is given; a file that is not an estate store is
refused, never rewritten; the store keeps its permissions; what killed writers
leave (a temporary file, a journal) is removed; a damaged store is named as such; and a reader
never sees half of an import. Every refusal leaves the store byte-identical.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from filelock import FileLock

from assetmap.access import local_viewer
from assetmap.audit import AUDIT_ENV, audit_path, record, sha256
from assetmap.cli import main
from assetmap.errors import InvalidArgumentError, StoreError
from assetmap.files import temporary_files
from assetmap.registers.importer import import_register
from assetmap.registers.validate import shared_groups
from assetmap.store import bulk, open_store

ROOT = Path(__file__).resolve().parents[1]

POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Vacant space (sq ft)\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,40000\n"
    "P2,Tonbridge Police Station,TN9 1SP,12000,\n"
)
HEALTH = "Site name,Postcode,UPRN\nThe Hub,TN1 1AA,200000\nClinic,ME14 1XX,\n"
FIRE = "Site name,Postcode\nFire Station,TN9 1SP\nTraining Yard,ME14 1XX\n"


def _import(store, text: str, name: str, **kw):
    return import_register(text.encode(), name=name, store=store, **kw)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A small estate store, built once; tests work on copies."""
    path = tmp_path_factory.mktemp("template") / "estate.gpkg"
    _import(path, POLICE, "police.csv", agency="Kent Police", sector="police")
    _import(path, HEALTH, "nhs.csv", agency="NHS Kent", sector="health")
    return path


@pytest.fixture
def store(template, tmp_path, monkeypatch) -> Path:
    """A copy of the template store, with an audit log and a lock file beside it."""
    monkeypatch.delenv(AUDIT_ENV, raising=False)
    path = tmp_path / "estate.gpkg"
    shutil.copyfile(template, path)
    record(path, viewer=local_viewer(), action="import", what="police.csv")
    Path(f"{path}.lock").touch()
    return path


def _digests(*paths: Path) -> list[str]:
    return [sha256(p) for p in paths]


def _alias(target: Path, how: str, tmp_path: Path, name: str) -> Path:
    """Another name for ``target``: the name itself, a symbolic link, a hard link, or ``..``."""
    if how == "itself":
        return target
    if how == "symlink":
        link = tmp_path / name
        link.symlink_to(target)
        return link
    if how == "hard link":
        link = tmp_path / name
        os.link(target, link)
        return link
    sub = target.parent / "sub"
    sub.mkdir(exist_ok=True)
    return sub / ".." / target.name


def _export_map(store: Path, out: Path, fmt: str = "png") -> int:
    return main(
        [
            "export-map",
            "--kind",
            "sites",
            "--place",
            "Maidstone",
            "--format",
            fmt,
            "--out",
            str(out),
            "--store",
            str(store),
            "--no-tiles",
        ]
    )


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("how", ["itself", "symlink", "hard link", ".."])
@pytest.mark.parametrize(
    ("which", "what"),
    [
        ("store", "the estate store"),
        ("audit log", "the audit log of the estate store"),
        ("lock", "the lock file of the estate store"),
    ],
)
def test_export_map_is_never_written_over_the_store_or_its_files(
    store, tmp_path, capsys, which, what, how
):
    target = {"store": store, "audit log": audit_path(store), "lock": Path(f"{store}.lock")}[which]
    before = _digests(store, audit_path(store), target)
    out = _alias(target, how, tmp_path, "map.png")
    assert _export_map(store, out) == 2
    err = capsys.readouterr().err
    assert f"--out {str(out)!r} is {what} {str(store)!r}" in err
    assert "Choose another file" in err and "Traceback" not in err
    assert _digests(store, audit_path(store), target) == before
    assert stat.S_ISREG(os.lstat(target).st_mode)


def test_an_audit_log_named_by_the_environment_is_protected_too(
    store, tmp_path, capsys, monkeypatch
):
    elsewhere = tmp_path / "logs" / "audit.jsonl"
    elsewhere.parent.mkdir()
    elsewhere.write_text('{"old": "entry"}\n')
    monkeypatch.setenv(AUDIT_ENV, str(elsewhere))
    out = _alias(elsewhere, "hard link", tmp_path, "map.svg")
    assert _export_map(store, out, "svg") == 2
    assert "is the audit log of the estate store" in capsys.readouterr().err
    assert elsewhere.read_text() == '{"old": "entry"}\n'


@pytest.mark.parametrize("alias", ["itself", "symlink", "hard link"])
def test_an_audit_log_named_as_the_store_is_refused_before_any_change(
    store, tmp_path, capsys, monkeypatch, alias
):
    """``$ASSETMAP_AUDIT_LOG`` naming the store would append JSON lines into the store."""
    named = store if alias == "itself" else _alias(store, alias, tmp_path, "audit.jsonl")
    monkeypatch.setenv(AUDIT_ENV, str(named))
    before = store.read_bytes()
    register = tmp_path / "more.csv"
    register.write_text("Site name,Easting,Northing\nHall,576000,155000\n")
    assert main(["import", str(register), "--store", str(store)]) == 2
    assert "is the estate store" in capsys.readouterr().err
    assert main(["remove", "more.csv", "--store", str(store)]) == 2
    assert store.read_bytes() == before
    with pytest.raises(InvalidArgumentError, match=r"ASSETMAP_AUDIT_LOG=.* is the estate store"):
        record(store, viewer=local_viewer(), action="import", what="x")
    assert store.read_bytes() == before


@pytest.mark.parametrize(
    "command",
    ["density", "colocate", "colocate members", "match", "import --report", "export-map"],
)
def test_every_command_that_writes_refuses_a_hard_link_to_the_store(
    store, tmp_path, capsys, command
):
    before = _digests(store, audit_path(store))
    link = {
        "density": "table.csv",
        "colocate": "clusters.csv",
        "colocate members": "clusters_members.csv",
        "match": "plan.gpkg",
        "import --report": "report.json",
        "export-map": "map.pdf",
    }[command]
    out = _alias(store, "hard link", tmp_path, link)
    register = tmp_path / "more.csv"
    register.write_text(HEALTH)
    argv = {
        "density": ["density", "--out", str(out)],
        "colocate": ["colocate", "--out", str(out)],
        "colocate members": ["colocate", "--out", str(tmp_path / "clusters.csv")],
        "match": ["match", "--out", str(out)],
        "import --report": ["import", str(register), "--sector", "health", "--report", str(out)],
        "export-map": ["export-map", "--place", "Maidstone", "--out", str(out), "--no-tiles"],
    }[command]
    assert main([*argv, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert f"is the estate store {str(store)!r} (a hard link to it)" in err
    assert _digests(store, audit_path(store)) == before
    assert open_store(store).imports()["source_file"].tolist() == ["police.csv", "nhs.csv"]


def test_a_map_pack_is_never_written_over_the_store_or_its_audit_log(store, tmp_path, capsys):
    before = _digests(store, audit_path(store))
    argv = ["export-pack", "--place", "Maidstone 001A", "--format", "png", "--dpi", "150"]
    argv += ["--no-tiles", "--store", str(store)]
    # the pack's folder is the audit log (through a symbolic link): refused before any work
    folder = _alias(audit_path(store), "symlink", tmp_path, "pack")
    assert main([*argv, "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "the pack folder" in err and "is the audit log of the estate store" in err
    # a file of the pack is the audit log: refused before any file is moved into place
    pack = tmp_path / "pack2"
    pack.mkdir()
    os.link(audit_path(store), pack / "index.csv")
    assert main([*argv, "--out", str(pack)]) == 2
    err = capsys.readouterr().err
    assert f"the pack's file {str(pack / 'index.csv')!r} is the audit log" in err
    assert sorted(p.name for p in pack.iterdir()) == ["index.csv"]
    assert _digests(store, audit_path(store)) == before


def test_a_temporary_file_or_journal_of_the_store_is_protected(store, tmp_path):
    from assetmap.files import guard_output

    leftover = tmp_path / ".estate.gpkg.abcd1234.tmp.gpkg"
    leftover.write_bytes(b"a store being written")
    problems: list[str] = []
    for path in (
        leftover,
        _alias(leftover, "hard link", tmp_path, "copy.gpkg"),
        tmp_path / ".estate.gpkg.zzzz9999.tmp.gpkg-journal",  # one that does not exist (yet)
        tmp_path / "estate.gpkg-journal",
        tmp_path / "estate.gpkg-wal",
    ):
        guard_output(path, store=store, name="--out", problems=problems)
    assert len(problems) == 5
    assert f"--out {str(leftover)!r} is a temporary file of the estate store" in problems[0]
    assert problems[0].endswith(
        "would destroy a change of the store in progress. Choose another file"
    )
    assert "(a hard link to it)" in problems[1]
    assert "is an SQLite journal of the estate store" in problems[3]
    fine: list[str] = []
    for path in (tmp_path / "estate.csv", tmp_path / ".estate.gpkg.notes", tmp_path / "sub"):
        guard_output(path, store=store, name="--out", problems=fine)
    assert fine == []


def test_the_engine_never_replaces_a_store_whatever_the_store_in_use(store, tmp_path):
    """Writers given a path (not the command line) refuse a file that is an estate store."""
    import pandas as pd

    from assetmap.io.outputs import write_csv, write_table

    before = sha256(store)
    link = _alias(store, "hard link", tmp_path, "table.csv")
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(InvalidArgumentError, match=r"is an estate store, which would be lost"):
        write_csv(frame, link)
    with pytest.raises(InvalidArgumentError, match=r"is an estate store, which would be lost"):
        write_table(frame, store, layer="density")
    assert sha256(store) == before


def test_save_map_protects_the_default_store(store, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from assetmap.maps.static import save_map

    monkeypatch.setenv("ASSETMAP_STORE", str(store))
    before = _digests(store, audit_path(store))
    with pytest.raises(InvalidArgumentError, match=r"^target .* is the audit log of the estate"):
        save_map(Figure(), _alias(audit_path(store), "..", tmp_path, ""), format="svg", dpi=150)
    assert _digests(store, audit_path(store)) == before


# --------------------------------------------------------------------------- foreign files


def _wards(path: Path) -> Path:
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame({"name": ["Ward A"]}, geometry=[box(0, 0, 10, 10)], crs=27700)
    frame.to_file(path, layer="wards", driver="GPKG")
    frame.to_file(path, layer="parishes", driver="GPKG")
    return path


def test_a_users_geopackage_given_as_the_store_is_refused_and_left_alone(tmp_path, capsys):
    wards = _wards(tmp_path / "wards.gpkg")
    before = sha256(wards)
    message = (
        r"'.*wards\.gpkg' is not an assetmap store \(it holds the layers parishes, wards\); "
        r"nothing was read or changed\. Give a new file name, or the file of an assetmap store"
    )
    with pytest.raises(StoreError, match=message):
        _import(wards, POLICE, "police.csv", agency="Kent Police", sector="police")
    with pytest.raises(StoreError, match=message):
        open_store(wards).sites()
    register = tmp_path / "police.csv"
    register.write_text(POLICE)
    argv = ["import", str(register), "--store", str(wards), "--agency", "Kent Police"]
    assert main([*argv, "--sector", "police"]) == 2
    assert main(["summary", "--store", str(wards)]) == 2
    err = capsys.readouterr().err
    assert err.count("is not an assetmap store") == 2 and "Traceback" not in err
    assert sha256(wards) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is not an assetmap store \(it is empty\)"),
        (b"Site name,Postcode\nA,TN1 1AA\n", r"cannot be opened: it is not a GeoPackage"),
        ("sqlite", r"is not an assetmap store \(it is an SQLite database, not a GeoPackage\)"),
    ],
)
def test_other_files_given_as_the_store_are_refused(tmp_path, content, message):
    path = tmp_path / "thing.gpkg"
    if content == "sqlite":
        with closing(sqlite3.connect(path)) as db:
            db.execute("CREATE TABLE sites (source_file TEXT)")
            db.execute("CREATE TABLE imports (source_file TEXT)")
            db.commit()
    else:
        path.write_bytes(content)
    before = sha256(path)
    with pytest.raises(StoreError, match=message):
        _import(path, POLICE, "police.csv", agency="Kent Police", sector="police")
    assert sha256(path) == before


def test_an_older_store_is_migrated_but_not_if_that_would_lose_a_table(store):
    with closing(sqlite3.connect(store)) as db:
        db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")  # an older layout
        db.commit()
    _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")
    assert open_store(store)._layout_is_current()
    assert "fire.csv" in set(open_store(store).imports()["source_file"])
    with closing(sqlite3.connect(store)) as db:
        db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")
        db.execute("CREATE TABLE my_notes (note TEXT)")
        db.commit()
    before = sha256(store)
    with pytest.raises(
        StoreError,
        match=r"is in the layout of an older assetmap and also holds other tables \(my_notes\), "
        r"which updating it would lose; nothing was changed",
    ):
        _import(store, HEALTH, "nhs2.csv", agency="NHS Kent", sector="health")
    assert sha256(store) == before


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o660])
def test_the_store_keeps_its_permissions_across_writes(store, mode):
    store.chmod(mode)
    _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")
    assert stat.S_IMODE(store.stat().st_mode) == mode
    assert open_store(store).remove_source("fire.csv", shared=shared_groups) == 2
    assert stat.S_IMODE(store.stat().st_mode) == mode


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another owner")
def test_the_store_keeps_its_owner_and_group(store):
    os.chown(store, 4321, 8765)
    _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")
    assert (store.stat().st_uid, store.stat().st_gid) == (4321, 8765)


def test_the_new_store_is_private_while_it_is_written(store, monkeypatch):
    """A store written whole (here: from an older layout) is readable by its writer only
    until it is renamed; a change written in place is in the store itself, and SQLite's
    journal beside it is no more readable than the store."""
    seen, journals = [], []
    real, finish = bulk.BulkWriter.__init__, bulk.BulkWriter._finish

    def spy(self, path, **kwargs):
        seen.append((Path(path) == store, stat.S_IMODE(Path(path).stat().st_mode)))
        real(self, path, **kwargs)

    def journal_mode(self):
        journal = Path(f"{store}-journal")
        journals.append(journal.exists() and stat.S_IMODE(journal.stat().st_mode))
        finish(self)

    store.chmod(0o640)
    monkeypatch.setattr(bulk.BulkWriter, "__init__", spy)
    monkeypatch.setattr(bulk.BulkWriter, "_finish", journal_mode)
    _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")  # in place
    assert seen == [(True, 0o640)] and journals == [0o640]
    with closing(sqlite3.connect(store)) as db:
        db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")  # an older layout
        db.commit()
    _import(store, HEALTH, "nhs2.csv", agency="NHS Kent", sector="health")  # written whole
    assert seen[1:] == [(False, 0o600), (False, 0o600)]  # the rows copied, then the change
    assert stat.S_IMODE(store.stat().st_mode) == 0o640


def test_a_store_reached_through_a_symbolic_link_stays_a_link(store, tmp_path):
    link = tmp_path / "shared" / "estate.gpkg"
    link.parent.mkdir()
    link.symlink_to(store)
    _import(link, FIRE, "fire.csv", agency="Kent Fire", sector="fire")
    assert link.is_symlink()
    assert "fire.csv" in set(open_store(store).imports()["source_file"])


# --------------------------------------------------------------------------- leftovers


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_failed_write_leaves_no_temporary_file_or_journal(store, monkeypatch):
    before = _names(store.parent), sha256(store)

    def fail(self):
        raise OSError("No space left on device")

    monkeypatch.setattr(bulk.BulkWriter, "_finish", fail)
    with pytest.raises(OSError, match="No space left on device"):
        _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")
    assert (_names(store.parent), sha256(store)) == before


def _leftovers(store: Path) -> list[Path]:
    """What a writer killed mid-write leaves: the copy it was writing, and its journal."""
    copy = store.parent / ".estate.gpkg.k1ll3d00.tmp.gpkg"
    copy.write_bytes(b"half a store")
    journal = store.parent / ".estate.gpkg.k1ll3d00.tmp.gpkg-journal"
    journal.write_bytes(b"journal")
    return [copy, journal]


def test_killed_writers_leftovers_are_removed_at_the_next_open(store):
    leftovers = _leftovers(store)
    not_ours = [store.parent / ".estate.gpkg.notes", store.parent / ".estate.gpkg.x.tmp.gpkg"]
    for path in not_ours:
        path.write_text("mine")
    folder = store.parent / ".estate.gpkg.f0ld3r00.tmp.gpkg"  # named as ours, but a folder
    folder.mkdir()
    with FileLock(f"{store}.lock"):  # a writer at work: its files are not stale
        assert len(open_store(store).sites()) == 4
    assert all(p.exists() for p in leftovers)
    assert len(open_store(store).sites()) == 4  # no writer: they are removed
    assert not any(p.exists() for p in leftovers)
    assert all(p.read_text() == "mine" for p in not_ours) and folder.is_dir()
    _leftovers(store)
    _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")  # a writer too
    assert temporary_files(store) == [folder]


def _big_register(path: Path, rows: int) -> None:
    lines = ["Property reference,Site name,Easting,Northing"]
    lines += [f"B{i},Site {i},{500000 + i % 90000},{150000 + i % 70000}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("how", ["in place", "written whole"])
def test_a_killed_import_leaves_a_whole_store_and_its_leftovers_are_removed_later(
    store, tmp_path, how
):
    """Killed while it writes: in place, SQLite's journal is left beside the untouched
    store (nothing reaches the file before the commit); written whole (a store in an
    older layout), the half-written copy. The next open removes either."""
    if how == "written whole":
        with closing(sqlite3.connect(store)) as db:
            db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")  # an older layout
            db.commit()
    journal = Path(f"{store}-journal")

    def leftovers() -> list[Path]:
        return temporary_files(store) + ([journal] if journal.exists() else [])

    big = tmp_path / "big.csv"
    _big_register(big, 200_000)
    before = sha256(store)
    argv = ["import", str(big), "--agency", "Kent Police", "--sector", "police"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "assetmap", *argv, "--store", str(store)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not leftovers() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert leftovers(), "the import never began to write"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    left = leftovers()
    assert left and (journal in left) == (how == "in place")  # left behind by the kill
    assert sha256(store) == before
    assert len(open_store(store).sites()) == 4
    assert leftovers() == []


# --------------------------------------------------------------------------- damage


def test_garbage_inside_the_store_is_named_at_open(store, capsys):
    size = store.stat().st_size
    with open(store, "r+b") as fh:
        fh.seek(size // 2 - 40 * 1024)
        fh.write(os.urandom(80 * 1024))
    before = sha256(store)
    damaged = r"the store '.*estate\.gpkg' is damaged \(SQLite's check found: .*\); nothing was "
    with pytest.raises(StoreError, match=damaged + r"read or changed\. Restore it from a backup"):
        open_store(store).sites()
    with pytest.raises(StoreError, match=damaged):
        _import(store, FIRE, "fire.csv", agency="Kent Fire", sector="fire")
    assert main(["summary", "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("assetmap: error: the store") and "is damaged" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sha256(store) == before


# --------------------------------------------------------------------------- consistent reads

#: Run in a second process: one import per line of standard input (a register's path).
_IMPORTER = """
import sys
from pathlib import Path
from assetmap.registers.importer import import_register
for line in sys.stdin:
    report = import_register(Path(line.strip()).read_bytes(), name="churn.csv",
                             agency="Kent Fire", sector="fire", store=sys.argv[1])
    print(f"imported {report.accepted}", flush=True)
"""


@pytest.mark.slow
def test_a_reader_never_sees_half_an_import(store, tmp_path):
    """1,000 reads while 20 imports replace the store: each read is of one whole state."""
    base = len(open_store(store).sites())
    registers, digests = [], {}
    for i in range(20):  # import i brings 10 + i sites: its count tells which import it was
        path = tmp_path / f"churn_{i}.csv"
        rows = [f"F{i}-{j},Fire site {j},{560000 + j},{150000 + i}" for j in range(10 + i)]
        path.write_text("Property reference,Site name,Easting,Northing\n" + "\n".join(rows))
        registers.append(path)
        digests[10 + i] = sha256(path)
    problems, states = [], set()
    with subprocess.Popen(
        [sys.executable, "-c", _IMPORTER, str(store)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as importer:
        try:
            for n in range(1000):
                if n % 50 == 0:  # the next import starts, and runs while the reads go on
                    importer.stdin.write(f"{registers[n // 50]}\n")
                    importer.stdin.flush()
                sites = open_store(store).sites()
                churn = sites[sites["source_file"] == "churn.csv"]
                state = (len(sites), len(churn), tuple(sorted(set(churn["source_sha256"]))))
                states.add(state)
                if (sites["source_sha256"] == "").any() or (sites["imported_at"] == "").any():
                    problems.append(f"read {n}: rows without provenance")
                expected = (digests.get(len(churn)),)
                if len(churn) and (len(sites) != base + len(churn) or state[2] != expected):
                    problems.append(f"read {n}: {state} is not a state of the store")
                if not len(churn) and len(sites) != base:
                    problems.append(f"read {n}: {len(sites)} sites is not a state of the store")
            importer.stdin.close()
            done = importer.stdout.read().splitlines()
        finally:
            importer.kill()
    assert done == [f"imported {10 + i}" for i in range(20)]
    assert problems == []
    assert len(states) >= 10  # the reads saw the store change, import after import
    final = open_store(store).sites()
    assert set(final.loc[final["source_file"] == "churn.csv", "source_sha256"]) == {digests[29]}
