"""Tables written for people: formula-like text neutralised, numbers left as numbers."""

from __future__ import annotations

import csv
import errno
import io
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from assetmap.audit import AUDIT_ENV
from assetmap.files import (
    csv_bytes,
    guard_output,
    neutralise_text,
    replace_atomically,
    safe_table,
    system_error_message,
    xlsx_bytes,
)
from assetmap.io.outputs import write_csv, write_table

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "plain"]


def _frame() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame(
        {"name": HOSTILE, "count": range(-3, n - 3), "area": [-1.5] * n, "ok": [True] * n}
    )


def test_each_formula_prefix_is_neutralised_and_plain_text_is_not():
    assert [neutralise_text(v) for v in HOSTILE] == ["'" + v for v in HOSTILE[:-1]] + ["plain"]
    assert neutralise_text(-5) == -5 and neutralise_text(None) is None


def test_numbers_stay_numbers_in_csv():
    text = csv_bytes(_frame()).decode("utf-8")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back["name"].tolist()[0] == '\'=HYPERLINK("http://x")'
    assert all(str(v).startswith("'") for v in back["name"].tolist()[:4])
    assert len(back) == len(HOSTILE)  # a carriage return in a cell starts no new row
    assert back["count"].tolist()[0] == -3 and back["area"].tolist()[0] == -1.5
    assert ",-3,-1.5," in text  # numbers are written bare, not neutralised


def test_xlsx_cells_are_text_never_formulas_and_numbers_are_numbers():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(_frame(), sheet="sites")))
    sheet = book["sites"]
    rows = list(sheet.iter_rows(min_row=2))
    assert all(row[0].data_type == "s" for row in rows)
    assert rows[0][0].value == '\'=HYPERLINK("http://x")'
    assert rows[0][1].value == -3 and rows[0][1].data_type == "n"
    assert rows[0][2].value == -1.5 and rows[0][3].value is True


def test_every_csv_writer_neutralises(tmp_path):
    frame = _frame()
    for path in (write_csv(frame, tmp_path / "a.csv"), write_table(frame, tmp_path / "b.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) == len(HOSTILE) + 1
        assert [r[0] for r in rows[1:]] == [neutralise_text(v) for v in HOSTILE]
        assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)


def test_geometry_becomes_wkt_and_column_names_are_neutralised():
    from tests.maps.factories import make_sites

    sites = make_sites(2)
    sites["=bad"] = "=1"
    out = safe_table(sites)
    assert "wkt_bng" in out.columns and "'=bad" in out.columns
    assert out["wkt_bng"].iloc[0].startswith("POINT (")


# --------------------------------------------------------------------------- replace_atomically


def test_a_replaced_file_keeps_its_mode_and_a_link_stays_a_link(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    with replace_atomically(link, suffix=".tmp.csv") as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.csv", "table.csv"]


def test_a_failed_replacement_removes_the_temporary_file_and_its_journal(tmp_path):
    target = tmp_path / "data.gpkg"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with replace_atomically(target, suffix=".tmp.gpkg", private=True) as tmp:
            assert stat.S_IMODE(tmp.stat().st_mode) == 0o600 and tmp.stat().st_size == 0
            with closing(sqlite3.connect(tmp)) as db:
                db.execute("CREATE TABLE t (x)")
                db.commit()
            Path(f"{tmp}-journal").write_bytes(b"left by SQLite when the disk filled")
            raise OSError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.gpkg"]
    assert target.read_bytes() == b"old"


def test_guard_output_names_each_file_of_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv(AUDIT_ENV, raising=False)
    store = tmp_path / "estate.gpkg"
    problems: list[str] = []
    for name in ("estate.gpkg", "estate.gpkg.audit.jsonl", "estate.gpkg.lock", "map.png"):
        guard_output(tmp_path / name, store=store, name="--out", problems=problems)
    assert problems == [
        f"--out {str(tmp_path / 'estate.gpkg')!r} is the estate store {str(store)!r}; "
        "writing it would destroy the store. Choose another file",
        f"--out {str(tmp_path / 'estate.gpkg.audit.jsonl')!r} is the audit log of the estate "
        f"store {str(store)!r}; writing it would destroy its audit log. Choose another file",
        f"--out {str(tmp_path / 'estate.gpkg.lock')!r} is the lock file of the estate store "
        f"{str(store)!r}; writing it would destroy its lock. Choose another file",
    ]


class _GdalError(Exception):
    """An error as pyogrio raises it (its module says it is GDAL's)."""


_GdalError.__module__ = "pyogrio.errors"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OSError(errno.ENOENT, "No such file or directory", "/data/out.csv"),
            "'/data/out.csv' does not exist, and cannot be made there",
        ),
        (
            OSError(errno.ENOENT, "No such file or directory", "/data/.out.csv.x1.tmp/part"),
            "nothing could be written in the folder '/data': that folder does not take new files",
        ),
        (
            OSError(errno.EISDIR, "Is a directory", "/data/out.csv"),
            "'/data/out.csv' is a folder; expected a file",
        ),
        (
            OSError(errno.ENOTDIR, "Not a directory", "/data/out.csv"),
            "'/data/out.csv' cannot be used: part of its path is a file, not a folder",
        ),
        (
            OSError(errno.EPERM, "Operation not permitted", "/data/out.csv"),
            "permission denied: this user may not use '/data/out.csv'",
        ),
        (
            OSError(errno.EEXIST, "File exists", "/data/out.csv"),
            "'/data/out.csv' could not be used: file exists",
        ),
        (
            _GdalError("sqlite3_exec failed: database or disk is full"),
            "the disk is full: a file could not be written; free some space and try again",
        ),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            "the store could not be written (it is unchanged): it is read-only (on a read-only "
            "disk, or this user may not change it)",
        ),
    ],
    ids=["enoent", "enoent_folder", "eisdir", "enotdir", "eperm", "other", "gdal", "readonly"],
)
def test_each_system_error_has_its_one_line(error, expected):
    assert system_error_message(error) == expected


def test_errors_that_are_not_the_systems_have_no_line():
    for bug in (RuntimeError("a bug"), sqlite3.OperationalError("no such table: sites")):
        assert system_error_message(bug) is None
    assert system_error_message(_GdalError("unsupported geometry type")) is None
