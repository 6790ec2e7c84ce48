"""The map pack: place maps, an atlas per locality, tables and an index, whole or not at all."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetmap.cli import main
from assetmap.errors import InvalidArgumentError
from assetmap.maps import pack as pack_module
from assetmap.maps.pack import INDEX_COLUMNS, export_pack
from assetmap.store import STORE_ENV
from tests.maps.factories import make_sites
from tests.maps.test_static import (
    GM_ICB,
    SALFORD,
    TRAFFORD,
    make_requests,
    offering_sites,
    sites_within,
    store_keeping_places,
    svg_texts,
    write_store,
)

DAY = date(2026, 11, 23)


def listing(folder: Path) -> list[str]:
    """Every file under ``folder``, relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_kent_pack_has_a_map_per_district_the_place_maps_tables_and_index(
    sample_store_built, tmp_path
):
    stages = []
    index = export_pack(
        sample_store_built,
        "Kent and Medway",
        None,
        tmp_path / "pack",
        format="svg",
        dpi=150,
        drawn_on=DAY,
        progress=lambda stage, fraction: stages.append((stage, fraction)),
    )
    table = pd.read_csv(index.index_path, dtype={"locality_code": str, "locality_name": str})
    assert table.columns.tolist() == list(INDEX_COLUMNS)
    assert listing(index.folder) == sorted([*table["file"], "index.csv"])
    atlas = table[table["kind"] == "atlas"]
    assert len(atlas) == 13 and index.level == "district"
    assert "Maidstone" in set(atlas["locality_name"]) and "Medway" in set(atlas["locality_name"])
    maps = table[table["kind"] == "map"]
    assert [Path(f).stem for f in maps["file"]] == [
        "01_sites",
        "02_density",
        "03_clusters",
        "04_matches",
    ]
    tables = set(table.loc[table["kind"] == "table", "file"])
    assert tables == {
        "tables/sites.csv",
        "tables/density_district.csv",
        "tables/place_summary.csv",
        "tables/clusters.csv",
        "tables/clusters_members.csv",
        "tables/plan.csv",
        "tables/completeness.csv",
        "tables/lease_windows.csv",
    }
    assert "tables/completeness.svg" in set(table.loc[table["kind"] == "chart", "file"])
    sites_map = maps.iloc[0]
    assert sites_map["sites"] == len(pd.read_csv(index.folder / "tables" / "sites.csv"))
    assert atlas["sites"].sum() <= sites_map["sites"]
    maidstone = atlas[atlas["locality_name"] == "Maidstone"].iloc[0]
    text = svg_texts((index.folder / maidstone["file"]).read_bytes())
    assert "Public estate by sector: Maidstone" in text
    assert f"{maidstone['sites']:,} sites drawn" in text
    plan = pd.read_csv(index.folder / "tables" / "plan.csv")
    assert "assigned" in set(plan["status"])
    assert stages[-1] == ("done", 1.0)
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions)
    assert any(stage.startswith("atlas: Maidstone") for stage, _ in stages)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging left"


def test_restricted_sites_are_left_out_of_maps_and_the_sites_table(tmp_path):
    sites = offering_sites(90)
    sites["sensitivity"] = np.where(np.arange(len(sites)) % 5 == 0, "restricted", "open")
    index = export_pack(sites, "Maidstone", "district", tmp_path / "p", format="svg", dpi=150)
    listed = pd.read_csv(index.folder / "tables" / "sites.csv")
    assert "restricted" not in set(listed["sensitivity"])
    assert set(listed["site_id"]) <= set(sites.loc[sites["sensitivity"] == "open", "site_id"])
    assert not any("restricted" in note for note in index.notes)
    summary = pd.read_csv(index.folder / "tables" / "place_summary.csv")
    total = summary[summary["locality_code"] == "TOTAL"].iloc[0]
    # withheld from every figure: the summary's total is that of the sites listed
    assert total["restricted_sites"] == 0 and total["sites"] == len(listed)


def test_without_requests_the_matches_map_is_left_out_and_said_so(tmp_path):
    index = export_pack(
        make_sites(40), "Maidstone", "district", tmp_path / "p", format="png", dpi=150
    )
    files = index.to_frame()["file"].tolist()
    assert "maps/04_matches.png" not in files and "tables/plan.csv" not in files
    assert "no space requests given: the matches map is left out" in index.notes
    assert (index.folder / "atlas" / "001_e07000110_maidstone.png").exists()


def test_a_second_pack_replaces_its_files_and_leaves_others_alone(tmp_path):
    out = tmp_path / "pack"
    out.mkdir()
    (out / "notes.txt").write_text("the officer's own notes")
    sites = offering_sites(60)

    def pack(frame):
        return export_pack(
            frame,
            "Maidstone",
            "district",
            out,
            requests=make_requests(),
            format="svg",
            dpi=150,
            drawn_on=DAY,
        )

    first = pack(sites)
    before = (out / "maps" / "01_sites.svg").read_bytes()
    second = pack(sites.iloc[:30])
    assert (out / "notes.txt").read_text() == "the officer's own notes"
    assert (out / "maps" / "01_sites.svg").read_bytes() != before
    assert first.to_frame()["file"].tolist() == second.to_frame()["file"].tolist()
    assert listing(out) == sorted([*second.to_frame()["file"], "index.csv", "notes.txt"])


def test_bad_options_are_reported_together_and_nothing_is_written(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(InvalidArgumentError) as caught:
        export_pack(make_sites(10), "Maidstne", "ward", blocker, format="tiff", paper="A0", dpi=600)
    message = str(caught.value)
    assert "place='Maidstne' is not a place" in message and "did you mean: Maidstone" in message
    assert (
        "level='ward' is not an atlas level; expected one of: country, icb, nhs_area, district, "
        "lsoa, or the path of a boundary file" in message
    )
    assert "format='tiff' is not a map file format; expected one of: png, pdf, svg" in message
    assert "paper='A0' is not a paper size; expected one of: A4, A3" in message
    assert "dpi=600 is not valid; expected one of: 150, 300" in message
    assert "is a file; expected a folder" in message
    with pytest.raises(InvalidArgumentError, match=r"out_dir='.*a_file/p' cannot be made: '.*"):
        export_pack(make_sites(10), "Maidstone", None, blocker / "p")
    with pytest.raises(InvalidArgumentError, match=r"source '.*none.gpkg' does not exist; exp"):
        export_pack(tmp_path / "none.gpkg", "Maidstone", None, tmp_path / "p")
    with pytest.raises(InvalidArgumentError, match=r"source is a list; expected an estate sto"):
        export_pack([], "Maidstone", None, tmp_path / "p")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_failure_half_way_leaves_no_pack_and_no_staging_folder(tmp_path, monkeypatch):
    calls = []
    real = pack_module.save_map

    def failing(figure, target, **kwargs):
        calls.append(target)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(figure, target, **kwargs)

    monkeypatch.setattr(pack_module, "save_map", failing)
    with pytest.raises(OSError, match="disk full"):
        export_pack(
            offering_sites(40),
            "Maidstone",
            "district",
            tmp_path / "pack",
            requests=make_requests(),
            format="svg",
            dpi=150,
        )
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []


def test_an_lsoa_atlas_inside_a_district_place(tmp_path):
    index = export_pack(
        make_sites(80), "Maidstone 001A", None, tmp_path / "p", format="svg", dpi=150
    )
    atlas = index.to_frame().query("kind == 'atlas'")
    assert index.level == "lsoa"
    assert atlas["locality_name"].tolist() == ["Maidstone 001A"]


def test_export_pack_command_shows_what_it_wrote(tmp_path, monkeypatch, capsys):
    store = write_store(tmp_path / "estate.gpkg", offering_sites(50))
    monkeypatch.setenv(STORE_ENV, str(store))
    monkeypatch.delenv("ASSETMAP_TILE_URL", raising=False)
    out = tmp_path / "pack"
    code = main(
        [
            "export-pack",
            "--place",
            "Maidstone",
            "--level",
            "district",
            "--format",
            "svg",
            "--dpi",
            "150",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert (
        f"Wrote the map pack of Maidstone to {out}: 3 place maps, an atlas of 1 district maps"
        in (printed)
    )
    assert (out / "index.csv").exists() and (out / "maps" / "01_sites.svg").exists()


def test_export_pack_command_names_its_options_in_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(STORE_ENV, str(write_store(tmp_path / "estate.gpkg", make_sites(5))))
    (tmp_path / "f").write_text("x")
    code = main(
        [
            "export-pack",
            "--place",
            "Atlantis",
            "--level",
            "ward",
            "--format",
            "bmp",
            "--out",
            str(tmp_path / "f"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("assetmap: error:") == 1
    assert "--place 'Atlantis' is not a place" in err
    assert "--level 'ward' is not an atlas level" in err
    assert "--format 'bmp' is not a map file format" in err
    assert "--out '" in err and "is a file; expected a folder" in err


# --------------------------------------------------------------------------- places anywhere


def test_a_districts_atlas_is_its_lsoas_with_no_boundary_file():
    from assetmap.maps.static import resolve_place
    from assetmap.places import place_localities

    trafford = resolve_place("Trafford")
    atlas, level = pack_module._atlas_localities(trafford.sublevel, trafford, None)
    assert level == "lsoa" and len(atlas) == len(place_localities(trafford)) > 100
    assert atlas["code"].str.startswith("E01").all()


def test_the_pack_of_an_icb_has_an_atlas_of_its_districts(tmp_path):
    from assetmap.maps.static import resolve_place

    sites = sites_within(resolve_place(GM_ICB).geometry, 60)
    index = export_pack(sites, GM_ICB, None, tmp_path / "p", format="svg", dpi=150, drawn_on=DAY)
    table = index.to_frame()
    atlas = table[table["kind"] == "atlas"]
    assert index.level == "district" and len(atlas) == 10
    assert {"Trafford", "Salford", "Manchester"} <= set(atlas["locality_name"])
    assert atlas["sites"].sum() == 60
    maps = table[table["kind"] == "map"]
    assert set(maps["locality_code"]) == {GM_ICB}
    text = svg_texts((index.folder / "maps" / "01_sites.svg").read_bytes())
    assert "NHS Greater Manchester Integrated Care Board" in text


def test_the_pack_of_a_saved_union_and_of_a_boundary_set_area(tmp_path):
    kept_places = store_keeping_places(tmp_path)
    union = export_pack(
        kept_places,
        "Trafford and Salford",
        None,
        tmp_path / "u",
        format="svg",
        dpi=150,
        drawn_on=DAY,
    )
    atlas = union.to_frame().query("kind == 'atlas'")
    assert union.level == "district" and set(atlas["locality_code"]) == {TRAFFORD, SALFORD}
    assert atlas.set_index("locality_code").loc[TRAFFORD, "sites"] == 60
    area = export_pack(
        kept_places, "West Half", None, tmp_path / "w", format="svg", dpi=150, drawn_on=DAY
    )
    table = area.to_frame()
    assert area.level == "halves"
    assert table.query("kind == 'atlas'")["locality_name"].tolist() == ["West Half"]
    drawn = table.query("kind == 'map' and file == 'maps/01_sites.svg'")["sites"].iloc[0]
    assert 0 < drawn < 60
    assert (area.folder / "tables" / "density_halves.csv").exists()
    with pytest.raises(
        InvalidArgumentError, match=r"level='wards' is not an atlas level; .*boundary set halves"
    ):
        export_pack(kept_places, "Trafford", "wards", tmp_path / "x")
