"""Data completeness per body: figures by hand on a toy estate, ranking, disclosure, the CLI."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from assetmap.access import FIGURES_NOTE, Viewer
from assetmap.cli import main
from assetmap.completeness import (
    COLUMNS,
    MEASURES,
    NO_LEASED_SITES,
    chart_rows,
    completeness,
    formatted,
    percent,
)
from assetmap.errors import InvalidArgumentError
from assetmap.maps.static import save_map
from assetmap.maps.static.charts import completeness_figure
from assetmap.schema import CRS_BNG, SITE_COLUMNS
from tests.app.conftest import write_store

NAN = float("nan")


def _site(**values) -> dict:
    base = {
        "agency": "",
        "sector": "",
        "floor_area_sqft": NAN,
        "running_cost_gbp": NAN,
        "tenure": "unknown",
        "lease_expiry": "",
        "next_break": "",
        "uprn": "",
        "location_precision": "point",
        "location_source": "easting/northing",
        "sensitivity": "open",
    }
    return {**base, **values}


def toy_estate() -> pd.DataFrame:
    """Three bodies, a restricted site of Kent Police, every measure met and missed.

    Kent Police, as another agency sees it (4 sites; 3 leased):
      floor area 1 of 4 (0 and NaN and inf do not count), running cost 2 of 4
      (-5 and NaN do not), tenure 4 of 4, lease dates 2 of the 3 leased (an expiry;
      a next break alone), UPRN 2 of 4, exact location 2 of 4 (footprint, point; a
      postcode and a postcode district centre are not exact).
    Kent Police, as itself: the restricted site (complete but for a lease) as well.
    Medway Council (2 sites, spelled two ways, no leased site, a blank tenure and an
    unknown one; one site with no precision, placed by easting/northing: a point).
    Kent Fire and Rescue: one site with every fact.
    """
    rows = [
        _site(
            agency="Kent Police",
            sector="police",
            floor_area_sqft=1000.0,
            running_cost_gbp=5000.0,
            tenure="freehold",
            uprn="100",
            location_precision="footprint",
            location_source="footprint",
        ),
        _site(
            agency="Kent Police",
            sector="police",
            floor_area_sqft=0.0,
            tenure="leasehold",
            lease_expiry="2030-01-01",
            location_precision="postcode",
            location_source="postcode",
        ),
        _site(
            agency="Kent Police",
            sector="police",
            running_cost_gbp=-5.0,
            tenure="licence",
            next_break="2027-06-30",
            uprn="200",
            location_precision="point",
        ),
        _site(
            agency="Kent Police",
            sector="police",
            floor_area_sqft=math.inf,
            running_cost_gbp=100.0,
            tenure="leasehold",
            uprn="  ",
            location_precision="postcode district",
            location_source="postcode district centre",
        ),
        _site(  # restricted: seen and counted only by Kent Police
            agency="Kent Police",
            sector="police",
            floor_area_sqft=2000.0,
            running_cost_gbp=1.0,
            tenure="freehold",
            uprn="300",
            sensitivity="restricted",
        ),
        _site(
            agency="Medway Council",
            sector="council",
            floor_area_sqft=500.0,
            running_cost_gbp=200.0,
            tenure="",
            location_precision="",  # no precision: easting/northing gives "point"
        ),
        _site(
            agency=" MEDWAY  council",
            sector="council",
            floor_area_sqft=800.0,
            tenure="unknown",
            uprn="1234",
            location_precision="postcode sector",
            location_source="postcode sector centre",
        ),
        _site(
            agency="Kent Fire and Rescue",
            sector="fire",
            floor_area_sqft=100.0,
            running_cost_gbp=10.0,
            tenure="freehold",
            uprn="9",
            location_precision="footprint",
            location_source="footprint",
        ),
    ]
    frame = pd.DataFrame(rows)
    frame["site_id"] = [f"S{i}" for i in range(len(frame))]
    xy = gpd.points_from_xy(575_000 + np.arange(len(frame)) * 100.0, [155_000.0] * len(frame))
    return gpd.GeoDataFrame(frame, geometry=xy, crs=CRS_BNG)


def _row(table: pd.DataFrame, agency: str) -> pd.Series:
    found = table[table["agency"] == agency]
    assert len(found) == 1, table["agency"].tolist()
    return found.iloc[0]


def test_every_figure_by_hand():
    table = completeness(toy_estate())
    assert table.columns.tolist() == list(COLUMNS)
    assert table["agency"].tolist() == ["Kent Fire and Rescue", "Kent Police", "Medway Council"]

    police = _row(table, "Kent Police")
    assert (police["sector"], police["sites"], police["leased_sites"]) == ("police", 4, 3)
    expected = {
        "floor_area": (1, 1 / 4),
        "running_cost": (2, 2 / 4),
        "tenure": (4, 1.0),
        "lease_dates": (2, 2 / 3),
        "uprn": (2, 2 / 4),
        "exact_location": (2, 2 / 4),
    }
    for measure, (count, share) in expected.items():
        assert police[f"{measure}_count"] == count, measure
        assert police[f"{measure}_share"] == pytest.approx(share), measure
    assert police["score"] == pytest.approx((1 / 4 + 2 / 4 + 1 + 2 / 3 + 2 / 4 + 2 / 4) / 6)

    # no leased site: no lease figure, and the score is the mean of the other five
    medway = _row(table, "Medway Council")
    assert (medway["sector"], medway["sites"], medway["leased_sites"]) == ("council", 2, 0)
    assert medway["tenure_count"] == 0 and medway["tenure_share"] == 0.0  # blank, unknown
    assert math.isnan(medway["lease_dates_share"]) and medway["lease_dates_count"] == 0
    assert medway["exact_location_count"] == 1  # no precision, placed by coordinates
    assert (medway["floor_area_share"], medway["running_cost_share"]) == (1.0, 0.5)
    assert medway["uprn_share"] == 0.5
    assert medway["score"] == pytest.approx((1 + 0.5 + 0 + 0.5 + 0.5) / 5)

    fire = _row(table, "Kent Fire and Rescue")
    assert fire["score"] == 1.0 and math.isnan(fire["lease_dates_share"])
    assert all(fire[f"{m}_share"] == 1.0 for m in MEASURES if m != "lease_dates")


def test_the_own_agency_counts_its_restricted_site():
    table = completeness(toy_estate(), viewer=Viewer("ann", agency="kent  POLICE"))
    police = _row(table, "Kent Police")
    assert (police["sites"], police["floor_area_count"], police["uprn_count"]) == (5, 2, 3)
    assert police["exact_location_share"] == pytest.approx(3 / 5)
    assert police["score"] == pytest.approx((2 / 5 + 3 / 5 + 1 + 2 / 3 + 3 / 5 + 3 / 5) / 6)


@pytest.mark.parametrize("viewer", [None, "Medway Council", "Kent Fire and Rescue"])
def test_another_agencys_table_is_that_of_the_estate_without_the_restricted_site(viewer):
    sites = toy_estate()
    without = sites[sites["sensitivity"] != "restricted"].reset_index(drop=True)
    assert len(without) == len(sites) - 1
    seen = completeness(sites, viewer=viewer)
    pd.testing.assert_frame_equal(seen, completeness(without, viewer=viewer))
    # and it is not the table of the restricted site's own agency
    own = completeness(sites, viewer="Kent Police")
    assert not seen.equals(own)


def test_an_agency_whose_only_site_is_restricted_is_not_listed_to_others():
    sites = toy_estate()
    sites.loc[4, "agency"] = "Secure Unit"
    assert "Secure Unit" not in set(completeness(sites)["agency"])
    assert "Secure Unit" not in set(completeness(sites, viewer="Kent Police")["agency"])
    assert _row(completeness(sites, viewer="secure unit"), "Secure Unit")["sites"] == 1


def test_ranking_by_score_then_sites_then_name():
    sites = pd.DataFrame(
        [
            _site(agency="B body", floor_area_sqft=1.0),  # all measures but floor area fail
            _site(agency="A body", floor_area_sqft=1.0),
            _site(agency="C body", floor_area_sqft=1.0),
            _site(agency="C body", floor_area_sqft=1.0),
            _site(agency="D body", floor_area_sqft=1.0, uprn="1"),
            _site(agency="E body"),
        ]
    )
    sites["location_precision"] = "postcode"
    table = completeness(sites)
    # D scores 2/5; A, B and C 1/5 (C has more sites, then A before B); E none
    assert table["agency"].tolist() == ["D body", "C body", "A body", "B body", "E body"]
    assert table["score"].tolist() == pytest.approx([0.4, 0.2, 0.2, 0.2, 0.0])
    assert table.index.tolist() == [0, 1, 2, 3, 4]


def test_missing_columns_count_as_unknown_and_no_sites_is_an_empty_table():
    table = completeness(pd.DataFrame({"agency": ["X", "X", ""]}))
    assert table["agency"].tolist() == ["X", "(no agency given)"]
    assert table["sector"].tolist() == ["", ""]
    for measure in MEASURES:
        if measure != "lease_dates":
            assert (table[f"{measure}_share"] == 0).all(), measure
    assert table["lease_dates_share"].isna().all()
    assert (table["score"] == 0).all()
    empty = completeness(toy_estate().iloc[:0])
    assert empty.columns.tolist() == list(COLUMNS) and len(empty) == 0


def test_bad_arguments_are_reported_together():
    with pytest.raises(InvalidArgumentError, match=r"sites is a list; expected a table of sites"):
        completeness([1, 2])
    with pytest.raises(
        InvalidArgumentError,
        match=r"sites lacks the column agency; expected the canonical site columns.*; "
        r"viewer=3 is not valid; expected None, an agency's name",
    ):
        completeness(pd.DataFrame({"tenure": ["freehold"]}), viewer=3)


def test_percentages_never_round_to_all_or_none():
    assert [percent(s) for s in (0.0, 0.001, 0.5, 2 / 3, 0.996, 1.0)] == [
        "0%",
        "1%",
        "50%",
        "67%",
        "99%",
        "100%",
    ]
    assert percent(NAN) == ""


def test_formatted_table_reads_as_percentages_with_counts():
    shown = formatted(completeness(toy_estate()))
    assert shown.columns.tolist() == [
        "Rank",
        "Agency",
        "Sector",
        "Sites",
        *MEASURES.values(),
        "Overall",
    ]
    police = shown[shown["Agency"] == "Kent Police"].iloc[0]
    assert police["Rank"] == 2 and police["Sites"] == 4
    assert police["Floor area"] == "25% (1 of 4)"
    assert police["Lease dates"] == "67% (2 of 3 leased)"
    assert police["Overall"] == "57%"
    medway = shown[shown["Agency"] == "Medway Council"].iloc[0]
    assert medway["Lease dates"] == NO_LEASED_SITES and medway["Tenure"] == "0% (0 of 2)"
    bare = formatted(completeness(toy_estate()), counts=False)
    assert bare.loc[bare["Agency"] == "Kent Police", "Floor area"].item() == "25%"


def test_a_long_list_of_bodies_is_charted_by_its_best_and_worst():
    sites = pd.DataFrame(
        [_site(agency=f"Body {i:02d}", uprn="1" if i < 30 else "") for i in range(45)]
    )
    table = completeness(sites)
    rows, note = chart_rows(table, limit=10)
    assert rows["agency"].tolist() == [*table["agency"][:5], *table["agency"][-5:]]
    assert note == (
        "The chart shows the 5 most and the 5 least complete of the 45 bodies; the table "
        "holds every one."
    )
    same, none = chart_rows(table.iloc[:10], limit=10)
    assert len(same) == 10 and none == ""


def test_the_chart_draws_names_as_text_and_the_figures_note():
    sites = toy_estate()
    sites.loc[5, "agency"] = "Council $x^2$ & <b>"
    figure = completeness_figure(completeness(sites), title="Completeness: Kent")
    buffer = io.BytesIO()
    save_map(figure, buffer, format="svg", dpi=150)
    svg = buffer.getvalue().decode("utf-8")
    assert "Council $x^2$ &amp; &lt;b&gt;" in svg  # never a formula, escaped as SVG text
    assert "Completeness: Kent" in svg and "57%" in svg and "100%" in svg
    assert FIGURES_NOTE.split(":")[0] in svg
    empty = io.BytesIO()
    save_map(completeness_figure(completeness(sites.iloc[:0])), empty, format="svg", dpi=150)
    assert "No sites to measure." in empty.getvalue().decode("utf-8")


# --------------------------------------------------------------------------- the CLI


def _canonical(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The toy estate with every canonical column, as a register's import gives it."""
    out = sites.copy()
    for name, dtype in SITE_COLUMNS.items():
        if name not in out.columns:
            out[name] = (
                np.arange(len(out)) + 2 if dtype == "int64" else (NAN if dtype == "float64" else "")
            )
    out["name"] = [f"Site {i}" for i in range(len(out))]
    out["source_file"] = "toy.csv"
    out["source_sha256"] = "0" * 64
    out["imported_at"] = "2025-01-01T00:00:00+00:00"
    return out


@pytest.fixture
def toy_store(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    return write_store(tmp_path / "estate.gpkg", _canonical(toy_estate()))


def _table_lines(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Data completeness"))
    end = lines.index("Measures:")
    return lines[start + 1 : end]


def test_cli_prints_the_ranked_table_as_percentages(toy_store, capsys):
    assert main(["completeness", "--store", str(toy_store)]) == 0
    out = capsys.readouterr().out
    assert "Data completeness: 3 bodies, most complete first" in out
    header, *rows = _table_lines(out)
    assert header.split()[:4] == ["Rank", "Agency", "Sector", "Sites"]
    assert [re.split(r"\s{2,}", r.strip())[1] for r in rows] == [
        "Kent Fire and Rescue",
        "Kent Police",
        "Medway Council",
    ]
    police = re.split(r"\s{2,}", rows[1].strip())
    assert police == [
        "2",
        "Kent Police",
        "police",
        "4",
        "25%",
        "50%",
        "100%",
        "67%",
        "50%",
        "50%",
        "57%",
    ]
    medway = re.split(r"\s{2,}", rows[2].strip())
    assert medway[7] == NO_LEASED_SITES and medway[-1] == "50%"
    assert "Lease dates: of the leased sites only" in out
    assert FIGURES_NOTE in out


def test_cli_counts_the_restricted_site_for_its_own_agency_only(toy_store, capsys, monkeypatch):
    monkeypatch.setenv("ASSETMAP_AGENCY", "Kent Police")
    assert main(["completeness", "--store", str(toy_store), "--agency", "kent  police"]) == 0
    out = capsys.readouterr().out
    assert "Data completeness of Kent Police: 1 body, most complete first" in out
    (police,) = [re.split(r"\s{2,}", r.strip()) for r in _table_lines(out)[1:]]
    assert police[1:4] == ["Kent Police", "police", "5"] and police[-1] == "64%"


def test_cli_writes_the_csv_and_audits_it(toy_store, tmp_path, capsys):
    from assetmap.audit import read_log

    out = tmp_path / "completeness.csv"
    assert main(["completeness", "--store", str(toy_store), "--csv", str(out)]) == 0
    assert f"Wrote {out}" in capsys.readouterr().out
    table = pd.read_csv(out)
    assert table.columns.tolist() == list(COLUMNS)
    police = _row(table, "Kent Police")
    assert (police["sites"], police["floor_area_count"], police["leased_sites"]) == (4, 1, 3)
    assert police["lease_dates_share"] == pytest.approx(2 / 3)
    assert math.isnan(_row(table, "Medway Council")["lease_dates_share"])
    entry = read_log(toy_store)[-1]
    assert (entry.action, entry.what, entry.counts) == ("export", str(out), {"rows": 3})


def test_cli_agency_with_no_visible_sites_is_one_message(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    sites = _canonical(toy_estate())
    sites.loc[4, "agency"] = "Secure Unit"  # its only site is restricted
    store = write_store(tmp_path / "estate.gpkg", sites)
    # a body whose sites are all restricted reads as one with none: nothing is disclosed
    for name in ("Nobody", "Secure Unit"):
        assert main(["completeness", "--store", str(store), "--agency", name]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"assetmap: error: --agency {name!r} has no sites you may see; expected the name "
            "of a body with sites in the store (run without --agency to list them)\n"
        )


def test_cli_bad_options_are_reported_together(tmp_path, capsys):
    missing = tmp_path / "none.gpkg"
    argv = ["completeness", "--store", str(missing), "--csv", str(tmp_path / "x.txt")]
    argv += ["--agency", "  "]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"assetmap: error: --store '.*none\.gpkg' does not exist; expected an estate store "
        r"\(import a register first\); --csv '.*x\.txt' is not valid; expected a \.csv file; "
        r"--agency '  ' is not valid; expected an agency's name\n",
        err,
    )
    assert not missing.exists()


# --------------------------------------------------------------------------- the map pack


def test_the_pack_writes_the_table_and_chart_without_other_agencies_restricted_sites(tmp_path):
    from assetmap.maps.pack import export_pack
    from assetmap.places import resolve_place
    from assetmap.schema import in_place
    from tests.maps.factories import make_sites

    sites = make_sites(40)
    sites.loc[[0, 6], "sensitivity"] = "restricted"  # two of Kent Police's sites
    sites.loc[:9, "uprn"] = "123"
    inside = in_place(sites, resolve_place("Maidstone").geometry)

    def written(folder: Path, viewer: str | None) -> pd.DataFrame:
        index = export_pack(
            sites, "Maidstone", "district", folder, format="svg", dpi=150, viewer=viewer
        )
        entries = index.to_frame().set_index("file")
        assert entries.loc["tables/completeness.csv", "kind"] == "table"
        assert entries.loc["tables/completeness.svg", "kind"] == "chart"
        table = pd.read_csv(index.folder / "tables" / "completeness.csv", keep_default_na=False)
        assert entries.loc["tables/completeness.csv", "sites"] == len(table)
        svg = (index.folder / "tables" / "completeness.svg").read_text(encoding="utf-8")
        assert "Data completeness by body: Maidstone" in svg
        return table

    others = written(tmp_path / "p", None)
    # the table of the place's sites with the restricted ones deleted first
    deleted = completeness(sites[inside & (sites["sensitivity"] == "open").to_numpy()])
    assert others["agency"].tolist() == deleted["agency"].tolist()
    assert others["sites"].tolist() == deleted["sites"].tolist()
    assert others["uprn_count"].tolist() == deleted["uprn_count"].tolist()
    assert others["score"].to_numpy() == pytest.approx(deleted["score"].to_numpy())
    own = written(tmp_path / "q", "Kent Police")
    restricted_inside = int(inside[[0, 6]].sum())
    assert restricted_inside, "a restricted site lies in Maidstone"
    assert _row(own, "Kent Police")["sites"] == (
        _row(others, "Kent Police")["sites"] + restricted_inside
    )
