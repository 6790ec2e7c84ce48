"""The command line: import and summary, exit codes and messages."""

from __future__ import annotations

import errno
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assetmap.cli import main

try:
    import resource
except ImportError:  # Windows: no ulimit
    resource = None

REGISTER = "Site name,Postcode,GIA (sq ft)\nHall,TN1 1AA,1000\nNowhere,,5\n"


def test_import_then_summary(tmp_path, capsys, monkeypatch):
    reg = tmp_path / "hall.csv"
    reg.write_text(REGISTER)
    store = tmp_path / "estate.gpkg"
    report = tmp_path / "report.json"
    code = main(
        [
            "import",
            str(reg),
            "--agency",
            "Tunbridge Wells BC",
            "--sector",
            "council",
            "--store",
            str(store),
            "--report",
            str(report),
        ]
    )
    assert code == 0  # quarantined rows do not fail an import
    out = capsys.readouterr().out
    assert "2 rows read, 1 accepted, 1 quarantined" in out
    assert "missing location" in out
    data = json.loads(report.read_text())
    assert data["accepted"] == 1 and data["reasons"] == {"missing_location": 1}
    assert main(["summary", "--store", str(store)]) == 0
    out = capsys.readouterr().out  # the local user of no agency: another agency's counts
    assert "1 sites, 0 space requests, 0 rows in quarantine" in out
    assert "hall.csv of Tunbridge Wells BC (sites): (counts shown only to its agency)" in out
    monkeypatch.setenv("ASSETMAP_AGENCY", "tunbridge wells bc")
    assert main(["summary", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "1 sites, 0 space requests, 1 rows in quarantine" in out
    assert "hall.csv of Tunbridge Wells BC (sites): 1 accepted, 1 quarantined" in out
    assert main(["summary", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["by_sector"] == {"council": 1}


def test_postcode_tolerance_on_the_command_line(tmp_path, capsys):
    reg = tmp_path / "depots.csv"
    reg.write_text("Name,Easting,Northing,Postcode\nDepot,575000,155000,TN1 1AA\n")
    store = tmp_path / "estate.gpkg"
    base = ["import", str(reg), "--agency", "Kent", "--sector", "council", "--store", str(store)]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "1 rows read, 0 accepted, 1 quarantined" in out
    assert "coordinates far from the postcode" in out
    assert main([*base, "--postcode-tolerance", "off"]) == 0
    assert "1 rows read, 1 accepted, 0 quarantined" in capsys.readouterr().out
    assert main([*base, "--postcode-tolerance", "25000"]) == 0
    assert "1 accepted" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main([*base, "--postcode-tolerance", "2 km"])
    assert stop.value.code == 2
    assert re.search(
        r"'2 km' is not a distance: give metres greater than 0, or 'off'", capsys.readouterr().err
    )


def test_unreadable_file_exits_2_with_one_message(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    store = tmp_path / "estate.gpkg"
    assert main(["import", str(empty), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "assetmap: error: the file is empty"
    assert not store.exists()


def test_bad_profile_exits_2(tmp_path, capsys):
    reg = tmp_path / "hall.csv"
    reg.write_text(REGISTER)
    profile = tmp_path / "p.toml"
    profile.write_text('[columns]\nname = "Nope"\n')
    assert (
        main(["import", str(reg), "--profile", str(profile), "--store", str(tmp_path / "s.gpkg")])
        == 2
    )
    assert "the profile names columns this register does not have" in capsys.readouterr().err


def test_summary_of_a_missing_store(tmp_path, capsys):
    assert main(["summary", "--store", str(tmp_path / "none.gpkg")]) == 0
    assert "does not exist yet" in capsys.readouterr().out


#: A terminal's controls in a register: clear the screen, go back to the line's start,
#: turn the text round. Printed as they are, they would rewrite what the officer reads.
HOSTILE_AGENCY = "Tunbridge\x1b[2J\x1b[31m Wells\rBC\u202e\x9b"


def test_register_text_never_drives_the_terminal(tmp_path, capsys):
    reg = tmp_path / "hall\x1b]0;pwned\x07.csv"
    reg.write_text(REGISTER)
    store = str(tmp_path / "estate.gpkg")
    assert main(["import", str(reg), "--agency", HOSTILE_AGENCY, "--store", store]) == 0
    assert main(["summary", "--store", store]) == 0
    out = capsys.readouterr().out
    controls = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
    assert not controls.search(out), repr(out)
    # written out, so the officer sees what the register holds
    assert "hall\\x1b]0;pwned\\x07.csv" in out
    assert "Tunbridge\\x1b[2J\\x1b[31m Wells BC\\u202e\\x9b" in out  # (\\r read as a space)
    # JSON escapes them already: unchanged, and it reads back to the register's text
    assert main(["summary", "--store", store, "--json"]) == 0
    out = capsys.readouterr().out
    assert not controls.search(out)
    (agency,) = _strict_json(out)["by_agency"]
    assert agency == HOSTILE_AGENCY.replace("\r", " ")


#: What a terminal acts on, as the tests look for it.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def test_an_error_naming_register_text_never_drives_the_terminal(tmp_path, capsys, monkeypatch):
    from assetmap.cli import registers
    from assetmap.errors import AssetmapError

    def refuse(args):
        raise AssetmapError(f"the source {HOSTILE_AGENCY} cannot be read")

    monkeypatch.setattr(registers, "_cmd_summary", refuse)
    assert main(["summary", "--store", str(tmp_path / "estate.gpkg")]) == 2
    err = capsys.readouterr().err
    assert not CONTROLS.search(err), repr(err)
    assert "the source Tunbridge\\x1b[2J\\x1b[31m Wells\\rBC\\u202e\\x9b cannot" in err


def test_an_argument_quoted_in_a_usage_error_is_written_out(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["summary", "\x1b[2J\x1b]0;pwned\x07"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert not CONTROLS.search(err), repr(err)
    assert "unrecognized arguments: \\x1b[2J\\x1b]0;pwned\\x07" in err


def test_the_progress_bar_writes_out_register_text(monkeypatch):
    """The bar shows on a terminal alone, with the register's file name and each stage."""
    import io

    from assetmap.cli.common import progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    update, _ = progress_bar("hall\x1b]0;pwned\x07.csv")
    update("source \x1b[2JDepot of \u202eecilop", 0.5)
    update("done", 1.0)
    shown = terminal.getvalue()
    assert "hall\\x1b]0;pwned\\x07.csv" in shown and "\\x1b[2JDepot of \\u202eecilop" in shown
    assert "\x1b]" not in shown and "\x1b[2J" not in shown and "\u202e" not in shown


def _strict_json(text: str):
    """Read standard JSON, which has no NaN or Infinity."""

    def refuse(constant: str):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_standard_json_missing_figures_null(tmp_path, capsys, monkeypatch):
    reg = tmp_path / "hall.csv"
    reg.write_text(REGISTER)
    store = str(tmp_path / "estate.gpkg")
    main(["import", str(reg), "--agency", "TWBC", "--store", store])
    capsys.readouterr()
    monkeypatch.setenv("ASSETMAP_AGENCY", "Another body")  # the counts are not its to see
    assert main(["summary", "--store", store, "--json"]) == 0
    (source,) = _strict_json(capsys.readouterr().out)["sources"]
    assert source["accepted"] is None and source["source_sha256"] is None


def test_remove(tmp_path, capsys):
    reg = tmp_path / "hall.csv"
    reg.write_text(REGISTER)
    store = str(tmp_path / "estate.gpkg")
    main(["import", str(reg), "--agency", "TWBC", "--store", store])
    assert main(["remove", "hall.csv", "--store", store]) == 0
    assert "Removed hall.csv: 1 rows" in capsys.readouterr().out
    assert main(["remove", "hall.csv", "--store", store]) == 2


# --- the system refuses: one line and exit code 2, never a traceback ----------------------

ROOT = Path(__file__).resolve().parents[1]
FIRST = ROOT / "sample_estates" / "kent_fire_rescue_stations.csv"
SECOND = ROOT / "sample_estates" / "medway_council_land_building_assets.csv"


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("assetmap: error: "), err
    return lines[0]


def _imported_store(folder: Path) -> Path:
    store = folder / "estate.gpkg"
    assert main(["import", str(FIRST), "--store", str(store), "--agency", "Kent Fire"]) == 0
    return store


def test_a_writer_waiting_too_long_for_the_lock_gets_one_line(tmp_path, capsys, monkeypatch):
    from filelock import FileLock

    import assetmap.store.interface

    store = _imported_store(tmp_path)
    before = store.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(assetmap.store.interface, "LOCK_TIMEOUT_S", 0.2)  # 120 s by default
    with FileLock(str(store) + ".lock"):  # another import, at work
        code = main(["import", str(SECOND), "--store", str(store), "--agency", "Medway"])
        removed = main(["remove", "kent_fire_rescue_stations.csv", "--store", str(store)])
    assert code == removed == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    for line in err:
        assert re.fullmatch(
            r"assetmap: error: another import or removal is writing to the store '.*estate\.gpkg'"
            r" and has not finished after 0\.2 s; nothing was changed\. Try again when it has "
            r"finished",
            line,
        ), line
    assert store.read_bytes() == before


def _raise(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    ("error", "match"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "{store}", None, "{temporary}"),
            r"the disk is full: nothing could be written in the folder '{folder}'; free some "
            r"space and try again",
        ),
        (
            sqlite3.OperationalError("database or disk is full"),
            r"the disk is full: the store could not be written \(it is unchanged\); free some "
            r"space and try again",
        ),
        (
            OSError(errno.EDQUOT, "Disk quota exceeded", "{store}"),
            r"the disk quota is used up: '{folder}/estate\.gpkg' could not be written",
        ),
        (
            OSError(errno.EROFS, "Read-only file system", "{store}.lock"),
            r"'{folder}/estate\.gpkg\.lock' could not be written: it is on a read-only file "
            r"system",
        ),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            r"the store could not be written \(it is unchanged\): it is read-only \(on a "
            r"read-only disk, or this user may not change it\)",
        ),
        (
            OSError(errno.EACCES, "Permission denied", "{store}"),
            r"permission denied: this user may not use '{folder}/estate\.gpkg'",
        ),
        (
            OSError(errno.EFBIG, "File too large", "{temporary}"),
            r"nothing could be written in the folder '{folder}': the file would be larger than "
            r"the file size limit",
        ),
        (
            OSError(errno.EIO, "Input/output error", "{store}"),
            r"the disk reported an error reading or writing '{folder}/estate\.gpkg'",
        ),
    ],
    ids=["enospc", "sqlite_full", "edquot", "erofs", "sqlite_readonly", "eacces", "efbig", "eio"],
)
def test_a_system_error_writing_the_store_is_one_line(error, match, tmp_path, capsys, monkeypatch):
    from assetmap.store import GeoPackageStore

    store = _imported_store(tmp_path)
    before = store.read_bytes()
    capsys.readouterr()
    if isinstance(error, OSError):  # the paths of this test's store
        names = {"store": str(store), "temporary": str(tmp_path / ".estate.gpkg.x1.tmp" / "n")}
        filenames = [n.format(**names) if n else n for n in (error.filename, error.filename2)]
        error = OSError(error.errno, error.strerror, filenames[0], None, filenames[1])
    monkeypatch.setattr(GeoPackageStore, "replace_source", _raise(error))
    assert main(["import", str(SECOND), "--store", str(store), "--agency", "Medway"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert re.match("assetmap: error: " + match.format(folder=re.escape(str(tmp_path))), line)
    assert store.read_bytes() == before


def test_an_error_that_is_not_the_systems_keeps_its_traceback(tmp_path, monkeypatch):
    from assetmap.store import GeoPackageStore

    store = _imported_store(tmp_path)
    for bug in (RuntimeError("a bug"), sqlite3.OperationalError("no such table: sites")):
        monkeypatch.setattr(GeoPackageStore, "replace_source", _raise(bug))
        with pytest.raises(type(bug), match=str(bug)):
            main(["import", str(SECOND), "--store", str(store), "--agency", "Medway"])


def test_files_under_proc_give_one_line(tmp_path, capsys):
    store = _imported_store(tmp_path)
    capsys.readouterr()
    for argv in (
        ["density", "--store", str(store), "--out", "/proc/assetmap-density.csv"],
        ["export-map", "--place", "Maidstone", "--store", str(store), "--out", "/proc/m.png"],
        ["import", str(SECOND), "--store", str(store), "--report", "/proc/assetmap.json"],
    ):
        assert main(argv) == 2, argv
        assert "'/proc" in _one_line(capsys.readouterr().err), argv


#: ``python -m assetmap ARGS`` with ``ulimit -f LIMIT`` (in bytes): python -c LIMIT ARGS...
_UNDER_ULIMIT_F = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'assetmap', *sys.argv[2:]])"
)


@pytest.mark.skipif(resource is None, reason="ulimit -f is a POSIX limit")
def test_ulimit_f_gives_one_line_and_leaves_the_store_as_it_was(tmp_path):
    """A write past ``ulimit -f`` fails with EFBIG (Python ignores SIGXFSZ, which would
    kill it): when the store is copied, and when SQLite grows the copy."""
    store = _imported_store(tmp_path)
    before, files = store.read_bytes(), sorted(p.name for p in tmp_path.iterdir())
    for limit in (4_096, len(before) + 1):
        argv = ["import", str(SECOND), "--store", str(store)]
        result = subprocess.run(
            [sys.executable, "-c", _UNDER_ULIMIT_F, str(limit), *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 2, (limit, result.returncode, result.stderr)
        line = _one_line(result.stderr)
        assert re.search(
            rf"could( not)? be written.*: the file would be larger than the file size limit "
            rf"\({limit:,} bytes\) this system sets for this program \(ulimit -f\)$",
            line,
        ), line
        assert store.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == files  # no copy, no journal


#: Run inside a mount namespace on a small tmpfs: a full disk, then a read-only one.
_DISK_DRIVER = r"""
import hashlib, json, os, subprocess, sys
from pathlib import Path

disk, first, second = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
store = disk / "estate.gpkg"


def run(*args):
    result = subprocess.run(
        [sys.executable, "-m", "assetmap", *args, "--store", str(store)],
        capture_output=True, text=True, timeout=300,
    )
    return {"code": result.returncode, "err": result.stderr}


def state():
    return {
        "sha": hashlib.sha256(store.read_bytes()).hexdigest(),
        "files": sorted(os.listdir(disk)),
    }


out = {"first": run("import", first, "--agency", "Kent Fire")}
out["before"] = state()
size = store.stat().st_size
for name, leave in (("journal", 64 * 1024), ("insert", 512 * 1024)):
    vfs = os.statvfs(disk)
    with open(disk / "filler", "wb") as fh:  # the disk is full but for `leave` bytes
        fh.write(b"\0" * max(vfs.f_bavail * vfs.f_frsize - leave, 0))
    out[name] = run("import", second, "--agency", "Medway", "--sector", "council")
    (disk / "filler").unlink()
    out[name + "_after"] = state()
subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
out["read_only"] = run("import", second, "--agency", "Medway", "--sector", "council")
out["read_only_remove"] = run("remove", "kent_fire_rescue_stations.csv")
out["read_only_after"] = state()
print(json.dumps(out))
"""


def test_a_full_disk_and_a_read_only_disk_give_one_line(tmp_path):
    """On a real 8 MB file system (tmpfs, mounted in a private mount namespace, so it
    vanishes with the test): the copy of the store, then SQLite's insert, run out of
    space; then the disk is made read-only. The store is left as it was, with no copy
    or journal beside it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = 'mount -t tmpfs -o size=8m tmpfs "$1" && shift && exec "$@"'
    namespace = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, "sh"]
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: no private file system to fill")
    probe = subprocess.run([*namespace, str(disk), "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here: {probe.stderr.decode(errors='replace').strip()}")
    driver = tmp_path / "driver.py"
    driver.write_text(_DISK_DRIVER, encoding="utf-8")
    argv = [str(disk), sys.executable, str(driver), str(disk), str(FIRST), str(SECOND)]
    result = subprocess.run(
        [*namespace, *argv], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    out = json.loads(result.stdout)
    assert out["first"]["code"] == 0, out["first"]
    assert out["before"]["files"] == ["estate.gpkg", "estate.gpkg.audit.jsonl", "estate.gpkg.lock"]
    full = r"assetmap: error: the disk is full: .* be written.*; free some space and try again$"
    for name in ("journal", "insert"):
        assert out[name]["code"] == 2, (name, out[name])
        assert re.match(full, _one_line(out[name]["err"])), (name, out[name]["err"])
        assert out[f"{name}_after"] == out["before"], name  # no -journal, no temporary copy
    assert "the store could not be written (it is unchanged)" in out["insert"]["err"]
    for name in ("read_only", "read_only_remove"):
        assert out[name]["code"] == 2, (name, out[name])
        line = _one_line(out[name]["err"])
        assert line.endswith("could not be written: it is on a read-only file system"), line
    assert out["read_only_after"] == out["before"]


def test_each_command_group_adds_its_commands():
    import argparse

    from assetmap.cli import (
        analyses,
        build_parser,
        completeness,
        exchange,
        places,
        print_maps,
        registers,
        store_ops,
    )

    def commands(add) -> list[str]:
        parser = argparse.ArgumentParser()
        add(parser.add_subparsers(dest="command"))
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return list(sub.choices)

    assert commands(registers.add_commands) == ["import", "summary", "remove", "sample"]
    assert commands(analyses.add_commands) == ["density", "colocate", "match"]
    assert commands(completeness.add_commands) == ["completeness"]
    assert commands(print_maps.add_commands) == ["export-map", "export-pack"]
    assert commands(places.add_commands) == ["boundaries", "places"]
    assert commands(store_ops.add_commands) == ["store"]
    assert commands(exchange.add_commands) == ["offer", "request", "amend", "matches", "disposal"]
    full = build_parser()
    (sub,) = (a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == [
        *["import", "summary", "remove", "sample", "density", "colocate", "match"],
        *["completeness", "export-map", "export-pack", "boundaries", "places", "store"],
        *["offer", "request", "amend", "matches", "disposal"],
    ]


# --------------------------------------------------------------------------- places


def _trafford_store(folder: Path) -> Path:
    """A store of four sites at real Trafford postcodes (two agencies near each other) and a
    request for office space, with no boundary file anywhere."""
    store = folder / "trafford.gpkg"
    sites = folder / "sites.csv"
    sites.write_text(
        "Site name,Agency,Sector,Postcode,GIA (sq ft),Surplus (sq ft),Use\n"
        "Stretford Police,GMP,police,M32 0TH,20000,6000,Office\n"
        "Stretford Clinic,NHS Trafford,health,M32 0TH,8000,0,Office\n"
        "Altrincham Office,Trafford Council,council,WA14 1RG,9000,0,Office\n"
        "Maidstone Police Office,Kent Police,police,ME14 1XX,40000,0,Office\n"
    )
    requests = folder / "requests.csv"
    requests.write_text(
        "Request ref,Requesting agency,Sector,Space needed (sq ft),Use,Postcode\n"
        "R1,Trafford Council,council,4000,Office,M32 0TH\n"
    )
    assert main(["import", str(sites), "--store", str(store)]) == 0
    assert main(["import", str(requests), "--store", str(store), "--kind", "requests"]) == 0
    return store


def test_density_colocate_match_and_summary_of_a_named_place(tmp_path, capsys):
    store = str(_trafford_store(tmp_path))
    capsys.readouterr()
    assert main(["density", "--store", store, "--place", "Trafford", "--per", "total"]) == 0
    out = capsys.readouterr().out
    assert "sites by lsoa: 138 localities in Trafford" in out
    assert "4 sites: 3 in a locality" in out
    # with no --place: where most sites are (three of the four are in Trafford)
    assert (
        main(["density", "--store", store, "--level", "district", "--out", str(tmp_path / "d.csv")])
        == 0
    )
    out = capsys.readouterr().out
    assert "sites per km² by district: 1 localities in Trafford" in out
    assert "(layer" not in out and (tmp_path / "d.csv").is_file()
    assert main(["colocate", "--store", store, "--place", "M32 0TH", "--level", "lsoa"]) == 0
    out = capsys.readouterr().out
    assert "3 sites in Trafford (1 elsewhere)" in out
    assert "1 co-location cluster" in out or "#1: 2 sites of 2 agencies" in out
    assert re.search(r"cluster hubs by lsoa: Trafford \d{3}[A-Z] 1\b", out)
    assert main(["match", "--store", store, "--place", "Trafford"]) == 0
    out = capsys.readouterr().out
    assert "1 requests in Trafford (0 elsewhere)" in out
    assert "R1 -> Stretford Police (GMP)" in out
    assert main(["summary", "--store", store, "--place", "trafford", "--level", "district"]) == 0
    out = capsys.readouterr().out
    assert f"Estate in {store}, in Trafford" in out
    assert "3 sites, 1 space requests" in out
    assert "by locality: Trafford 3" in out
    assert main(["summary", "--store", store, "--json", "--level", "county"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by_locality"] == {"Kent and Medway": 1} and data["sites"] == 4


def test_a_place_or_level_not_found_is_one_line_naming_the_option(tmp_path, capsys):
    store = str(_trafford_store(tmp_path))
    capsys.readouterr()
    assert main(["colocate", "--store", store, "--place", "Traford", "--level", "ward"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert err.startswith(
        "assetmap: error: --place 'Traford' is not a place; did you mean: Trafford"
    )
    assert (
        "; --level 'ward' is not a level; expected one of: country, icb, nhs_area, district" in err
    )
    assert main(["summary", "--store", store, "--place", "EH1 1YZ"]) == 2
    assert "--place 'EH1 1YZ' is a postcode in Scotland" in capsys.readouterr().err


def test_boundaries_add_list_use_and_remove(tmp_path, capsys):
    import geopandas as gpd
    import shapely

    from assetmap.audit import read_log

    store = _trafford_store(tmp_path)
    wards = tmp_path / "wards.geojson"
    gpd.GeoDataFrame(
        {"WD23CD": ["E05000820", "E05000821"], "WD23NM": ["Stretford", "Elsewhere"]},
        geometry=[
            shapely.box(380000, 395000, 382000, 397000),  # M32 0TH: 381009, 395844
            shapely.box(570000, 150000, 572000, 152000),  # in Kent
        ],
        crs="EPSG:27700",
    ).to_file(wards, driver="GeoJSON")
    capsys.readouterr()
    argv = ["boundaries", "add", str(wards), "--name", "my wards", "--agency", "Trafford Council"]
    assert main([*argv, "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"Kept the boundary set 'my wards' of Trafford Council: 2 areas from {wards}" in out
    assert main(["boundaries", "list", "--store", str(store)]) == 0
    assert "my wards (Trafford Council): 2 areas: Stretford, Elsewhere" in capsys.readouterr().out
    # a later command finds the set as a level and its areas as places
    assert (
        main(["density", "--store", str(store), "--level", "My Wards", "--place", "Trafford"]) == 0
    )
    assert "sites per km² by my wards: 1 localities in Trafford" in capsys.readouterr().out
    argv = ["density", "--store", str(store), "--boundaries", str(wards), "--level", "ward"]
    assert main([*argv, "--place", "Trafford"]) == 0  # a file not kept: its areas in the place
    assert (
        f"sites per km² by ward: 1 localities from {wards} in Trafford" in capsys.readouterr().out
    )
    assert main(["summary", "--store", str(store), "--place", "stretford"]) == 0
    assert f"Estate in {store}, in Stretford" in capsys.readouterr().out
    assert (
        main(
            ["boundaries", "remove", "my wards", "--agency", "NHS Trafford", "--store", str(store)]
        )
        == 2
    )
    assert "only its owner may remove it" in capsys.readouterr().err
    assert main(["boundaries", "remove", "MY WARDS", "--store", str(store)]) == 0
    assert "Removed the boundary set 'MY WARDS': 2 areas" in capsys.readouterr().out
    assert main(["boundaries", "list", "--store", str(store)]) == 0
    assert "No boundary sets are kept in the store" in capsys.readouterr().out
    assert main(["boundaries", "remove", "my wards", "--store", str(store)]) == 2
    assert _one_line(capsys.readouterr().err) == (
        "assetmap: error: there is no boundary set named 'my wards' in the store; its "
        "boundary sets are: none"
    )
    actions = [(e.action, e.what) for e in read_log(store)]
    assert ("import", "boundary set my wards") in actions
    assert ("remove", "boundary set MY WARDS") in actions


def test_places_save_list_use_and_remove(tmp_path, capsys):
    store = str(_trafford_store(tmp_path))
    codes = ",".join(f"E080000{n:02d}" for n in range(1, 9)) + ",Trafford,wigan"
    capsys.readouterr()
    assert (
        main(
            [
                "places",
                "save",
                "Greater Manchester",
                "--level",
                "district",
                "--codes",
                codes,
                "--store",
                store,
            ]
        )
        == 0
    )
    assert "Saved the place 'Greater Manchester': 10 district localities" in capsys.readouterr().out
    assert main(["places", "list", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "Greater Manchester (no agency): 10 district: E08000001, E08000002" in out
    assert (
        main(["summary", "--store", store, "--place", "Greater Manchester", "--level", "district"])
        == 0
    )
    assert "by locality: Trafford 3" in capsys.readouterr().out
    assert (
        main(
            [
                "places",
                "save",
                "Bolton",
                "--level",
                "district",
                "--codes",
                "E08000001",
                "--store",
                store,
            ]
        )
        == 2
    )
    assert "the place name 'Bolton' is already the name of a district" in capsys.readouterr().err
    assert (
        main(["places", "save", "North", "--level", "district", "--codes", ",", "--store", store])
        == 2
    )
    assert "--codes ',' names no locality; expected codes or names" in capsys.readouterr().err
    assert main(["places", "remove", "greater manchester", "--store", store]) == 0
    assert "Removed the place 'greater manchester'" in capsys.readouterr().out
    assert main(["places", "list", "--store", store]) == 0
    assert "No places are saved in the store" in capsys.readouterr().out


@pytest.mark.realdata
@pytest.mark.slow
def test_trafford_register_export_map_and_pack_with_no_boundary_file(tmp_path, capsys):
    from tests.conftest import shared_file

    register = shared_file("registers", "trafford_land_and_building_assets.csv")
    store = str(tmp_path / "estate.gpkg")
    assert main(["import", str(register), "--agency", "Trafford Council", "--store", store]) == 0
    capsys.readouterr()
    out = tmp_path / "trafford.png"
    argv = ["export-map", "--place", "Trafford", "--store", store, "--no-tiles", "--dpi", "150"]
    assert main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"Wrote {out}: Public estate by sector: Trafford" in text
    drawn = int(re.search(r"; ([\d,]+) sites drawn", text).group(1).replace(",", ""))
    assert drawn >= 560
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pack = tmp_path / "pack"
    argv = ["export-pack", "--place", "Trafford", "--store", store, "--no-tiles"]
    assert main([*argv, "--format", "png", "--dpi", "150", "--out", str(pack)]) == 0
    text = capsys.readouterr().out
    assert f"Wrote the map pack of Trafford to {pack}" in text
    assert re.search(r"an atlas of 1\d\d lsoa maps", text)  # Trafford's 138 LSOAs
    assert (pack / "index.csv").is_file()
