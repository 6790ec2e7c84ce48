"""Scenarios in the map pack: the map of the moves, the totals page and CSVs, nothing withheld."""

from __future__ import annotations

import pandas as pd
import pytest

from assetmap.access import visible_sites
from assetmap.cli import main
from assetmap.errors import InvalidArgumentError
from assetmap.maps.pack import export_pack
from assetmap.sample import SAMPLE_SCENARIO
from assetmap.scenario_io import saved_scenarios
from assetmap.scenarios import Close, Dispose, Scenario, evaluate
from assetmap.store import open_store


def _sites(store):
    return visible_sites(open_store(store).sites())


def test_a_scenario_goes_into_the_pack(sample_store_built, tmp_path):
    store = open_store(sample_store_built)
    sites = _sites(sample_store_built).set_index("name")
    jobcentre = sites.loc["Maidstone Jobcentre", "site_id"]
    office = sites.loc["Maidstone Police Office", "site_id"]
    fire = sites.loc["Maidstone Fire Station", "site_id"]
    scenario = Scenario(
        "Maidstone hub", (Close(jobcentre, into=office), Close(office, into=fire), Dispose(fire))
    )
    index = export_pack(
        store,
        "Maidstone",
        "district",
        tmp_path / "pack",
        format="png",
        dpi=150,
        scenarios=[scenario],
    )
    frame = index.to_frame()
    mine = frame[frame["file"].str.contains("scenario_01_maidstone_hub")]
    assert sorted(mine["kind"]) == ["scenario map", "scenario table", "table", "table"]
    totals = pd.read_csv(tmp_path / "pack" / "tables" / "scenario_01_maidstone_hub_totals.csv")
    expected = evaluate(
        _sites(sample_store_built)[lambda f: f["name"].notna()], scenario
    )  # (the pack's figures are the place's: checked below by the move statuses)
    moves = pd.read_csv(tmp_path / "pack" / "tables" / "scenario_01_maidstone_hub_moves.csv")
    assert moves["status"].tolist() == ["made", "refused", "made"]
    assert "space" in moves["reason"].iloc[1]
    assert totals.set_index("measure").loc["sites", "change"] == -2
    assert expected.moves["status"].tolist() == moves["status"].tolist()
    for file in mine["file"]:
        assert (tmp_path / "pack" / file).stat().st_size > 0


def test_the_pack_of_another_agency_never_moves_a_restricted_site(sample_store_built, tmp_path):
    """A scenario naming a restricted site is refused in the pack as a made-up id is."""
    every = open_store(sample_store_built).sites()
    secret = every[every["sensitivity"] == "restricted"].iloc[0]
    scenario = Scenario("Probe", (Dispose(str(secret["site_id"])), Dispose("S0000000000000000")))
    index = export_pack(
        open_store(sample_store_built),
        "Kent and Medway",
        "district",
        tmp_path / "pack",
        format="png",
        dpi=150,
        scenarios=[scenario],
    )
    moves = pd.read_csv(tmp_path / "pack" / "tables" / "scenario_01_probe_moves.csv")
    reasons = (
        moves["reason"]
        .str.replace(str(secret["site_id"]), "ID")
        .str.replace("S0000000000000000", "ID")
    )
    assert moves["status"].tolist() == ["refused", "refused"]
    assert reasons.iloc[0] == reasons.iloc[1]
    assert str(secret["name"]) not in moves.to_csv()
    assert index.to_frame()["file"].str.contains("scenario_01_probe").sum() == 4


def test_the_command_line_puts_a_saved_scenario_in_the_pack(sample_store, tmp_path, capsys):
    out = tmp_path / "pack"
    code = main(
        [
            "export-pack",
            "--place",
            "Maidstone",
            "--level",
            "district",
            "--format",
            "png",
            "--dpi",
            "150",
            "--store",
            str(sample_store),
            "--out",
            str(out),
            "--scenario",
            SAMPLE_SCENARIO,
        ]
    )
    assert code == 0
    assert "1 scenarios" in capsys.readouterr().out
    assert list((out / "maps").glob("scenario_01_total_place_*.png"))
    code = main(
        [
            "export-pack",
            "--place",
            "Maidstone",
            "--store",
            str(sample_store),
            "--out",
            str(tmp_path / "other"),
            "--scenario",
            "No such plan",
        ]
    )
    assert code == 2
    assert "no saved scenario you may see is named 'No such plan'" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_saved_scenarios_are_those_the_viewer_may_see(sample_store_built):
    store = open_store(sample_store_built)
    saved = saved_scenarios(store, viewer=None, sites=_sites(sample_store_built))
    assert [s.name for s in saved] == [SAMPLE_SCENARIO]
    with pytest.raises(InvalidArgumentError):
        Scenario("", ())
