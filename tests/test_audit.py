"""The audit log: every import, removal and export appended as a JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assetmap import audit
from assetmap.access import Viewer
from assetmap.errors import InvalidArgumentError, StoreError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_estates"


def test_entries_are_appended_with_who_what_hash_counts_and_time(tmp_path):
    store = tmp_path / "estate.gpkg"
    viewer = Viewer(user="ann@police.example", agency="Kent Police", signed_in=True)
    audit.record(
        store,
        viewer=viewer,
        action="import",
        what="a.csv",
        sha256="a" * 64,
        counts={"accepted": 3, "quarantined": 1},
    )
    audit.record(store, viewer=Viewer(user="me"), action="export", what="sites.csv")
    path = tmp_path / "estate.gpkg.audit.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["user"] == "ann@police.example" and first["agency"] == "Kent Police"
    assert first["action"] == "import" and first["sha256"] == "a" * 64
    assert first["counts"] == {"accepted": 3, "quarantined": 1}
    assert first["time"].endswith("+00:00")
    entries = audit.read_log(store)
    assert [e.action for e in entries] == ["import", "export"]
    assert entries[1].agency is None and not entries[1].signed_in


def test_the_log_can_be_put_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "logs" / "audit.jsonl"))
    audit.record(tmp_path / "s.gpkg", viewer=Viewer(user="me"), action="remove", what="x.csv")
    assert (tmp_path / "logs" / "audit.jsonl").is_file()


def test_concurrent_writers_never_interleave(tmp_path):
    store = tmp_path / "estate.gpkg"

    def write(n: int) -> None:
        for i in range(25):
            audit.record(store, viewer=Viewer(user=f"u{n}"), action="export", what=f"f{i}.csv")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(audit.read_log(store)) == 100


def test_bad_arguments_are_refused_with_every_problem(tmp_path):
    with pytest.raises(
        InvalidArgumentError,
        match=r"viewer='me' is not valid.*action='delete' is not valid.*what='' is not valid"
        r".*sha256='xyz' is not valid.*counts\['rows'\]=-1 is not valid",
    ):
        audit.record(
            tmp_path / "s.gpkg",
            viewer="me",
            action="delete",
            what="",
            sha256="xyz",
            counts={"rows": -1},
        )


def test_an_unwritable_log_is_a_store_error(tmp_path, monkeypatch):
    folder = tmp_path / "file"
    folder.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(audit.AUDIT_ENV, str(folder / "audit.jsonl"))
    with pytest.raises(StoreError, match=r"the audit log .* could not be written"):
        audit.record(tmp_path / "s.gpkg", viewer=Viewer(user="me"), action="export", what="x")


def test_a_broken_line_is_reported(tmp_path):
    (tmp_path / "s.gpkg.audit.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(StoreError, match=r"line 1 of the audit log .* is not an audit entry"):
        audit.read_log(tmp_path / "s.gpkg")


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "assetmap", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_the_command_line_audits_import_export_and_remove(tmp_path):
    store = tmp_path / "estate.gpkg"
    register = SAMPLE / "kent_police_estate.csv"
    env = {"ASSETMAP_AGENCY": "Kent Police"}
    done = _cli(
        "import",
        str(register),
        "--agency",
        "Kent Police",
        "--sector",
        "police",
        "--store",
        str(store),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "clusters.csv"
    done = _cli("colocate", "--store", str(store), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    density = tmp_path / "density.csv"
    assert _cli("density", "--store", str(store), "--out", str(density)).returncode == 0
    assert _cli("remove", "kent_police_estate.csv", "--store", str(store)).returncode == 0
    entries = audit.read_log(store)
    # colocate --out clusters.csv writes the clusters and their members: two files
    assert [e.action for e in entries] == ["import", "export", "export", "export", "remove"]
    assert entries[0].agency == "Kent Police" and entries[0].sha256 == audit.sha256(register)
    assert entries[0].counts["accepted"] > 0
    assert entries[1].what == str(out) and entries[1].sha256 == audit.sha256(out)
    assert entries[2].what.endswith("_members.csv")
    assert entries[3].agency is None and entries[3].sha256 == audit.sha256(density)
    assert entries[4].counts["rows"] == entries[0].counts["accepted"]


def test_the_store_keeps_its_own_log(any_store):
    # a GeoPackage in the JSON-lines file beside it, a database in its audit_log table
    from assetmap.store import GeoPackageStore, open_store

    ann = Viewer(user="ann@police.example", agency="Kent Police", signed_in=True)
    store = open_store(any_store, viewer=ann)
    audit.record(
        store, viewer=ann, action="import", what="a.csv", sha256="a" * 64, counts={"accepted": 3}
    )
    audit.record(store, viewer=ann, action="export", what="sites.csv")
    entries = audit.read_log(store)
    assert [(e.user, e.agency, e.signed_in, e.action, e.what, e.counts) for e in entries] == [
        ("ann@police.example", "Kent Police", True, "import", "a.csv", {"accepted": 3}),
        ("ann@police.example", "Kent Police", True, "export", "sites.csv", {}),
    ]
    assert entries[0].sha256 == "a" * 64 and entries[1].sha256 == ""
    assert all(e.time.endswith("+00:00") for e in entries)
    if isinstance(store, GeoPackageStore):  # the same file as before: by path or by store
        assert audit.read_log(any_store) == entries
        assert len(audit.audit_path(any_store).read_text(encoding="utf-8").splitlines()) == 2


def test_an_entry_that_is_not_an_audit_entry_is_reported(tmp_path):
    (tmp_path / "s.gpkg.audit.jsonl").write_text('{"user": "me"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(StoreError, match=r"line 2 of the audit log .* is not an audit entry"):
        audit.read_log(tmp_path / "s.gpkg")
    (tmp_path / "s.gpkg.audit.jsonl").write_text('{"user": "me"}\n', encoding="utf-8")
    with pytest.raises(StoreError, match=r"entry 1 of the audit log .*jsonl.* is not an audit"):
        audit.read_log(tmp_path / "s.gpkg")


def test_a_database_url_is_not_taken_for_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = "postgresql://assetmap_app:s3cret@db.example/estate"
    for call in (
        lambda: audit.record(url, viewer=Viewer(user="me"), action="export", what="x.csv"),
        lambda: audit.read_log(url),
    ):
        with pytest.raises(
            InvalidArgumentError,
            match=r"^the store given is a database's URL, which keeps its audit log in its own "
            r"audit_log table, not in a file; give the store itself",
        ) as refused:
            call()
        assert "s3cret" not in str(refused.value)
    assert list(tmp_path.rglob("*")) == []
