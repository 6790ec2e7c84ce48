"""The command line: import and summary, exit codes and messages."""

from __future__ import annotations

import json

from assetmap.cli import main

REGISTER = "Site name,Postcode,GIA (sq ft)\nHall,TN1 1AA,1000\nNowhere,,5\n"


def test_import_then_summary(tmp_path, capsys):
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
    out = capsys.readouterr().out
    assert "1 sites, 0 space requests, 1 rows in quarantine" in out
    assert "hall.csv (sites): 1 accepted, 1 quarantined" in out
    assert main(["summary", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["by_sector"] == {"council": 1}


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


def test_remove(tmp_path, capsys):
    reg = tmp_path / "hall.csv"
    reg.write_text(REGISTER)
    store = str(tmp_path / "estate.gpkg")
    main(["import", str(reg), "--agency", "TWBC", "--store", store])
    assert main(["remove", "hall.csv", "--store", store]) == 0
    assert "Removed hall.csv: 1 rows" in capsys.readouterr().out
    assert main(["remove", "hall.csv", "--store", store]) == 2
