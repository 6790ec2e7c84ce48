"""Density maps per locality: metrics, classification, hexagons, heat, place summary, CLI."""

from __future__ import annotations

import importlib
import json
import math
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from assetmap import density
from assetmap.cli import main
from assetmap.density import (
    METRICS,
    SCHEMES,
    classify,
    density_by_locality,
    heat_points,
    hex_density,
    hex_grid,
    kde_surface,
    locality_metrics,
    metric_column,
    place_summary,
    resolve_localities,
)
from assetmap.errors import InvalidArgumentError
from assetmap.io import outputs
from assetmap.io.outputs import write_table
from assetmap.io.population import read_population
from assetmap.registers.importer import import_register
from tests.conftest import shared_file

BNG = "EPSG:27700"
HEX_AREA = 3 * math.sqrt(3) / 2  # times size_m ** 2


def squares() -> gpd.GeoDataFrame:
    """Two 2 km squares sharing the edge x = 2,000 m: 4 km² each."""
    return gpd.GeoDataFrame(
        {"code": ["E00000001", "E00000002"], "name": ["West", "East"]},
        geometry=[box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
        crs=BNG,
    )


def make_sites(
    xy: list[tuple[float, float]],
    *,
    sector: list[str] | None = None,
    agency: list[str] | None = None,
    floor: list[float] | None = None,
    surplus: list[float] | None = None,
    cost: list[float] | None = None,
    sensitivity: list[str] | None = None,
    index=None,
) -> gpd.GeoDataFrame:
    """Sites with the columns density needs, at points in EPSG:27700."""
    n = len(xy)
    return gpd.GeoDataFrame(
        {
            "sector": pd.Series(sector or ["council"] * n, dtype="str", index=index),
            "agency": pd.Series(agency or ["Kent CC"] * n, dtype="str", index=index),
            "floor_area_sqft": pd.Series(floor or [1000.0] * n, dtype="float64", index=index),
            "surplus_sqft": pd.Series(surplus or [0.0] * n, dtype="float64", index=index),
            "running_cost_gbp": pd.Series(cost or [10.0] * n, dtype="float64", index=index),
            "sensitivity": pd.Series(sensitivity or ["open"] * n, dtype="str", index=index),
        },
        geometry=gpd.GeoSeries([Point(x, y) for x, y in xy], index=index, crs=BNG),
        crs=BNG,
    )


#: The agency of the estate's one restricted site, who sees every figure by hand.
OWNER = "NHS Kent"


@pytest.fixture
def estate() -> gpd.GeoDataFrame:
    """Three sites in West, two in East (one on the shared edge), one outside both."""
    return make_sites(
        [(500, 500), (1500, 500), (1000, 1500), (3000, 1000), (2000, 1000), (9000, 9000)],
        sector=["police", "health", "police", "council", "health", "fire"],
        agency=["Kent Police", "NHS Kent", "Kent Police", "Kent CC", "NHS Kent", "KFRS"],
        floor=[100.0, 200.0, 300.0, 400.0, math.nan, 600.0],
        surplus=[0.0, 50.0, 0.0, 10.0, 0.0, 0.0],
        cost=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        sensitivity=["open", "restricted", "open", "open", "open", "open"],
        index=[f"s{i}" for i in range(6)],
    )


# --------------------------------------------------------------------------- metrics by hand


def test_counts_areas_and_densities_by_hand(estate):
    result = density_by_locality(estate, squares(), viewer=OWNER)
    m = result.metrics
    assert list(m.index) == ["E00000001", "E00000002"] and m.index.name == "code"
    assert m["name"].tolist() == ["West", "East"]
    # the site at x = 2,000 is on the shared edge: counted once, in the smaller code
    assert m["sites"].tolist() == [4, 1]
    assert m["restricted_sites"].tolist() == [1, 0]
    assert m["floor_area_sqft"].tolist() == [600.0, 400.0]  # the NaN adds nothing
    assert m["surplus_sqft"].tolist() == [50.0, 10.0]
    assert m["running_cost_gbp"].tolist() == [11.0, 4.0]
    assert m["area_km2"].tolist() == pytest.approx([4.0, 4.0])
    assert m["sites_per_km2"].tolist() == pytest.approx([1.0, 0.25])
    assert m["floor_area_sqft_per_km2"].tolist() == pytest.approx([150.0, 100.0])
    assert m["running_cost_gbp_per_km2"].tolist() == pytest.approx([2.75, 1.0])
    assert m["sites_share"].tolist() == pytest.approx([0.8, 0.2])
    assert m["floor_area_sqft_share"].tolist() == pytest.approx([0.6, 0.4])
    assert "population" not in m.columns
    assert result.notes == ()


def test_areas_come_from_british_national_grid_whatever_the_input_crs(estate):
    lonlat = squares().to_crs("EPSG:4326")
    m = density_by_locality(estate.to_crs("EPSG:4326"), lonlat, viewer=OWNER).metrics
    # straight edges in lon/lat bend a little in metres: the areas are measured back in BNG
    assert m["area_km2"].tolist() == pytest.approx([4.0, 4.0], rel=1e-3)
    assert m["sites"].sum() == 5  # the point on the edge may move a hair either way


def test_a_point_on_a_shared_boundary_is_counted_once_and_reported():
    sites = make_sites([(2000, 500), (2000, 1000), (2000, 2000), (1000, 1000)])
    result = density_by_locality(sites, squares())
    assert result.metrics["sites"].sum() == 4
    assert result.metrics["sites"].tolist() == [4, 0]
    assert result.n_on_boundary == 3
    assert result.on_boundary["locality_code"].tolist() == ["E00000001"] * 3
    assert result.assignment["on_boundary"].tolist() == [True, True, True, False]


def test_a_site_outside_every_locality_is_reported_not_dropped(estate):
    result = density_by_locality(estate, squares(), viewer=OWNER)
    assert result.n_outside == 1
    assert list(result.outside.index) == ["s5"]
    assert result.outside["sector"].tolist() == ["fire"]
    assert result.assignment.loc["s5", "outside"]
    table = locality_metrics(estate, squares(), viewer=OWNER)
    assert table.attrs["outside_sites"] == 1 and table.attrs["on_boundary_sites"] == 1
    summary = place_summary(estate, squares(), viewer=OWNER)
    outside = summary[summary["locality_name"] == "Outside every locality"]
    assert outside["sector"].tolist() == ["fire"] and outside["sites"].tolist() == [1]
    assert summary["sites"].iat[-1] == len(estate)


def test_a_site_just_off_the_outline_is_counted_and_named(estate):
    sites = estate.copy()
    sites.loc["s3", "geometry"] = Point(4300, 1000)  # 300 m east of East: a harbour wall
    sites["name"] = [f"Site {i}" for i in range(6)]
    result = density_by_locality(sites, squares(), viewer=OWNER)
    assert result.metrics["sites"].tolist() == [4, 1]  # as before it moved: s3 in East
    assert list(result.outside.index) == ["s5"]  # 7 km out: beyond the 1 km rule
    assert (result.n_by_district, result.n_nearest) == (0, 1)
    edge = result.assigned_at_edge
    assert edge[["name", "locality_code", "assigned_by"]].values.tolist() == [
        ["Site 3", "E00000002", "nearest"]
    ]
    assert edge["distance_m"].tolist() == [300.0]
    assert result.assignment.loc["s3", "assigned_by"] == "nearest"
    assert (
        "1 sites lie outside every locality's outline (the coast, an estuary) and are counted "
        "all the same: 0 in the locality of their postcode's ONS district, 1 in the nearest "
        "locality within 1,000 m (the table of sites assigned at an edge names them)"
    ) in result.notes
    table = locality_metrics(sites, squares(), viewer=OWNER)
    assert table.attrs["assigned_nearest_sites"] == 1
    assert table.attrs["assigned_by_district_sites"] == 0


def test_the_kent_sample_coast_and_estuary_sites_are_counted_with_the_reason(
    sample_store_built,
):
    from assetmap.postcodes import lookup_postcodes
    from assetmap.store import open_store

    sites = open_store(sample_store_built).sites()
    result = density_by_locality(sites, "district")
    # 24 sample sites at real Kent postcodes lie outside the generalised district outlines
    # (Margate, Broadstairs, Whitstable, the Medway towns, Gravesend, Dartford, Faversham)
    assert result.n_outside == 0
    assert result.n_by_district >= 20 and result.n_nearest == 0
    edge = result.assigned_at_edge
    assert len(edge) == result.n_by_district
    assert set(edge["assigned_by"]) == {"postcode district"}
    own = lookup_postcodes(edge["postcode"])["district"]
    assert (edge["locality_code"] == own.to_numpy()).all()
    assert {"Margate", "Whitstable", "Gravesend"} <= {
        word for name in edge["name"] for word in name.replace(",", " ").split()
    }
    assert 0 < edge["distance_m"].max() < 200
    assert any(note.startswith(f"{len(edge)} sites lie outside every") for note in result.notes)
    shown = int((sites["sensitivity"] != "restricted").sum())  # withheld from no agency
    assert int(result.metrics["sites"].sum()) == shown


def test_sites_without_a_location_are_outside():
    sites = make_sites([(500, 500), (600, 600)])
    sites.loc[sites.index[1], "geometry"] = None
    result = density_by_locality(sites, squares())
    assert result.metrics["sites"].tolist() == [1, 0]
    assert result.n_outside == 1


def test_no_sites_gives_zeros():
    result = density_by_locality(make_sites([]), squares())
    assert result.metrics["sites"].tolist() == [0, 0]
    assert result.metrics["sites_share"].isna().all()
    assert result.n_outside == 0


def test_by_sector_long_table_adds_up_to_the_localities(estate):
    wide = locality_metrics(estate, squares(), viewer=OWNER)
    long = locality_metrics(estate, squares(), by="sector", viewer=OWNER)
    assert long.index.names == ["code", "sector"]
    # every locality times every sector found, in the usual sector order, zeros included
    assert long.loc["E00000001"].index.tolist() == ["police", "health", "council", "fire"]
    assert long.loc[("E00000001", "police"), "sites"] == 2
    assert long.loc[("E00000002", "fire"), "sites"] == 0
    sums = long.groupby(level="code", sort=False)[["sites", "floor_area_sqft"]].sum()
    pd.testing.assert_frame_equal(sums, wide[["sites", "floor_area_sqft"]], check_names=False)
    # a group's share is of that group's place total
    police = long.xs("police", level="sector")
    assert police["sites_share"].tolist() == pytest.approx([1.0, 0.0])
    assert long.loc[("E00000001", "health"), "sites_per_km2"] == pytest.approx(0.5)


def test_by_agency_long_table(estate):
    long = locality_metrics(estate, squares(), by="agency", viewer=OWNER)
    assert long.index.names == ["code", "agency"]
    assert sorted(set(long.index.get_level_values("agency"))) == [
        "KFRS",
        "Kent CC",
        "Kent Police",
        "NHS Kent",
    ]
    assert long.loc[("E00000001", "NHS Kent"), "sites"] == 2
    assert int(long["sites"].sum()) == 5  # the outside site is in no locality


def test_population_per_1000_residents_and_missing_codes_noted(estate):
    population = pd.DataFrame({"code": ["E00000001", "E09999999"], "population": [2000, 5]})
    result = density_by_locality(estate, squares(), population=population, viewer=OWNER)
    m = result.metrics
    assert m["population"].iloc[0] == 2000 and np.isnan(m["population"].iloc[1])
    assert m["sites_per_1000_residents"].iloc[0] == pytest.approx(2.0)
    assert np.isnan(m["sites_per_1000_residents"].iloc[1])
    assert m["floor_area_sqft_per_1000_residents"].iloc[0] == pytest.approx(300.0)
    assert result.notes == (
        "population has no figure for 1 of 2 localities (E00000002); their per-1,000-residents "
        "values are NaN",
    )


def test_many_missing_population_codes_are_listed_briefly():
    locs = gpd.GeoDataFrame(
        {"code": [f"E0{i:07d}" for i in range(12)], "name": [f"L{i}" for i in range(12)]},
        geometry=[box(i * 10, 0, i * 10 + 10, 10) for i in range(12)],
        crs=BNG,
    )
    population = pd.DataFrame({"code": ["X"], "population": [1]})
    notes = density_by_locality(make_sites([]), locs, population=population).notes
    assert notes[0].startswith("population has no figure for 12 of 12 localities (E00000000, ")
    assert "E00000009 and 2 more)" in notes[0]


def test_another_agencys_restricted_site_is_in_no_figure(estate):
    for viewer in (None, "Kent Police"):
        m = density_by_locality(estate, squares(), viewer=viewer).metrics
        assert m["sites"].tolist() == [3, 1]  # West's restricted site is withheld
        assert m["restricted_sites"].tolist() == [0, 0]
        assert m["floor_area_sqft"].tolist() == [400.0, 400.0]
        assert m["surplus_sqft"].tolist() == [0.0, 10.0]
        table = place_summary(estate, squares(), viewer=viewer)
        assert int(table["sites"].iat[-1]) == 5 and "health" in set(table["sector"])
        assert "sites_display" not in table.columns and "suppressed" not in table.columns
    owner = density_by_locality(estate, squares(), viewer=OWNER).metrics
    assert owner["sites"].tolist() == [4, 1] and owner["restricted_sites"].tolist() == [1, 0]


# --------------------------------------------------------------------------- localities


def test_level_name_switches_to_a_bundled_set():
    locs, notes = resolve_localities("district")
    assert len(locs) == 13 and notes == [] and locs.crs.equals(BNG)
    sites = make_sites([(558300, 139100), (575900, 155700), (0, 0)])
    m = density_by_locality(sites, "district").metrics
    assert m.loc["E07000116", "sites"] == 1 and m.loc["E07000110", "sites"] == 1
    assert int(m["sites"].sum()) == 2


BOWTIE = [[0.50, 51.25], [0.52, 51.27], [0.52, 51.25], [0.50, 51.27], [0.50, 51.25]]


def test_a_bow_tie_polygon_is_repaired_and_reported(tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["E05000001"], "name": ["Bow Tie"]},
        geometry=[shapely.Polygon(BOWTIE)],
        crs="EPSG:4326",
    )
    locs, notes = resolve_localities(frame)
    assert len(notes) == 1
    assert re.fullmatch(
        r"repaired an invalid polygon for E05000001 Bow Tie: Self-intersection\[.*\]", notes[0]
    )
    assert locs.is_valid.all() and locs.crs.equals(BNG)
    # the same repair is passed through from a boundary file, and into the result's notes
    path = tmp_path / "bowtie.geojson"
    feature = {
        "type": "Feature",
        "properties": {"WD23CD": "E05000001", "WD23NM": "Bow Tie"},
        "geometry": {"type": "Polygon", "coordinates": [BOWTIE]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    result = density_by_locality(make_sites([]), path)
    assert len(result.notes) == 1 and result.notes[0].startswith(
        "repaired an invalid polygon for E05000001 Bow Tie: "
    )
    assert density_by_locality(make_sites([]), str(path)).notes == result.notes


def test_duplicate_codes_in_a_geodataframe_are_merged_with_a_note():
    frame = gpd.GeoDataFrame(
        {"code": ["A", "A"], "name": ["Split", "Split"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=BNG,
    )
    locs, notes = resolve_localities(frame)
    assert len(locs) == 1 and locs.area.iat[0] == pytest.approx(2e6)
    assert notes == ["merged 2 polygons that share the code A into one locality"]


# --------------------------------------------------------------------------- classification


def test_schemes_are_the_four_documented_names():
    assert list(SCHEMES) == ["quantiles", "natural_breaks", "equal_interval", "user_defined"]


def test_quantiles_aligned_to_the_values_index():
    values = pd.Series([5.0, 1.0, 3.0, 2.0, 4.0, np.nan], index=list("abcdef"))
    c = classify(values, "quantiles", k=5)
    assert c.k == 5 and c.message is None
    assert list(c.classes.index) == list("abcdef")
    assert c.classes.iloc[:5].tolist() == [4, 0, 2, 1, 3]
    assert c.classes.isna().tolist() == [False] * 5 + [True]
    assert c.bins == pytest.approx((1.8, 2.6, 3.4, 4.2, 5.0))
    assert c.legend == ("1", "2", "3", "4", "5")  # whole numbers: each class holds one
    assert c.labels.tolist() == [*(c.legend[i] for i in (4, 0, 2, 1, 3)), "no data"]
    assert c.counts == (1, 1, 1, 1, 1)


def test_too_few_distinct_values_lower_k_with_a_message():
    c = classify([1.0, 1.0, 2.0, 2.0, 3.0], "natural_breaks", k=5)
    assert c.k == 3
    assert (c.k, c.asked) == (3, 5)
    assert c.message == "Only 3 classes are shown, not 5: the values have only 3 different levels."
    assert c.classes.tolist() == [0, 0, 1, 1, 2]
    assert c.legend == ("1", "2", "3")
    c = classify([1, 1, 1, 1, 1, 1, 2, 3, 4], "quantiles", k=4)
    assert c.k == 3
    assert c.message == (
        "Only 3 classes are shown, not 4: too many values are the same for classes of equal "
        "counts (quantiles) to make 4 different classes."
    )
    c = classify([7.0, 7.0], "equal_interval", k=5)
    assert (c.k, c.bins, c.classes.tolist(), c.legend) == (1, (7.0,), [0, 0], ("7",))
    assert c.message == "Only 1 class is shown, not 5: every value is the same."
    c = classify([np.nan, np.nan], "quantiles")
    assert c.k == 0 and c.message == "There are no values to put in classes."
    assert c.labels.tolist() == ["no data", "no data"]


def test_equal_interval_and_user_defined():
    c = classify([0.5, 0.5, 1.0, 2.0], "equal_interval", k=2)
    assert c.bins == (1.25, 2.0) and c.classes.tolist() == [0, 0, 0, 1]
    assert c.legend == ("0.50 – 1.25", "2.00")  # the lowest value held, up to the bound
    c = classify([1, 3, 4, 10, 20], "equal_interval", k=2)
    assert c.legend == ("1 – 10", "11 – 20")  # whole numbers need no decimals
    c = classify([0.0, 4.0, 12.0], "user_defined", bins=[1, 5, 10])
    assert c.bins == (1.0, 5.0, 10.0, 12.0) and c.classes.tolist() == [0, 1, 3]
    assert c.message == (
        "A class up to the largest value (12) was added above your highest class limit (10)."
    )
    assert c.legend == ("0 – 1", "2 – 5", "6 – 10", "11 – 12")


def test_natural_breaks_is_repeatable():
    values = np.random.default_rng(3).lognormal(size=400)
    first = classify(values, "natural_breaks", k=5)
    assert first.k == 5
    for _ in range(3):
        assert classify(values, "natural_breaks", k=5).bins == first.bins


def test_natural_breaks_keep_their_pinned_class_breaks():
    # mapclassify.classify starts k-means 100 times by default and NaturalBreaks 10:
    # density asks for 10, so these breaks (3.617, not 3.561) stay those of every map.
    values = np.random.default_rng(3).lognormal(size=400)
    c = classify(values, "natural_breaks", k=5)
    pinned = (1.461849, 3.617190, 6.924654, 12.807547, 27.743443)
    assert c.bins == pytest.approx(pinned, rel=1e-6)


def test_the_package_re_exports_each_public_name_from_its_one_module():
    names = ("metrics", "locality", "classification", "grids", "summary")
    modules = [importlib.import_module(f"assetmap.density.{name}") for name in names]
    homes = {name: [m for m in modules if name in m.__all__] for name in density.__all__}
    assert all(len(found) == 1 for found in homes.values()), homes
    for name, (module,) in homes.items():
        assert getattr(density, name) is getattr(module, name)


def test_choropleth_joins_classes_to_the_polygons(estate):
    frame, classes = density_by_locality(estate, squares(), viewer=OWNER).choropleth(
        "floor_area_sqft", per="km2", scheme="quantiles", k=2
    )
    assert isinstance(frame, gpd.GeoDataFrame) and frame.crs.equals(BNG)
    assert frame["value"].tolist() == pytest.approx([150.0, 100.0])
    assert frame["class"].tolist() == [1, 0]
    assert frame["class_label"].tolist() == list(reversed(classes.legend))


# --------------------------------------------------------------------------- hexagons


@pytest.mark.parametrize("orientation", ["flat", "pointy"])
def test_hex_grid_covers_the_extent_with_hexagons_of_the_right_area(orientation):
    extent = (1000.0, 2000.0, 6500.0, 5200.0)
    grid = hex_grid(extent, 500, orientation=orientation)
    assert grid.crs.equals(BNG) and grid["hex_id"].is_unique
    assert grid.area.to_numpy() == pytest.approx(HEX_AREA * 500**2)
    union = shapely.union_all(grid.geometry.to_numpy())
    assert box(*extent).difference(union).area == pytest.approx(0.0, abs=1e-3)
    assert union.area == pytest.approx(grid.area.sum())  # no overlaps
    assert shapely.intersects(grid.geometry.to_numpy(), box(*extent)).all()
    xmin, _, xmax, _ = grid.geometry.iat[0].bounds
    flat_width = 2 * 500 if orientation == "flat" else math.sqrt(3) * 500
    assert xmax - xmin == pytest.approx(flat_width)


def test_hex_grid_from_a_geodataframe_and_is_anchored_to_the_grid_origin():
    small = hex_grid(make_sites([(1000, 1000)]), 300)
    assert len(small) == 1 and small.geometry.iat[0].contains(Point(1000, 1000))
    big = hex_grid((0, 0, 5000, 5000), 300)
    same = big[big["hex_id"] == small["hex_id"].iat[0]]
    assert same.geometry.iat[0].equals_exact(small.geometry.iat[0], 1e-6)


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(-1e6, 1e6, allow_nan=False),
    y=st.floats(-1e6, 1e6, allow_nan=False),
    size=st.floats(1.0, 5000.0),
    orientation=st.sampled_from(["flat", "pointy"]),
)
def test_each_site_lies_in_the_hexagon_it_is_counted_in(x, y, size, orientation):
    cells = hex_density(make_sites([(x, y)]), size, orientation=orientation)
    assert len(cells) == 1 and cells["sites"].iat[0] == 1
    assert shapely.dwithin(cells.geometry.iat[0], Point(x, y), 1e-6 * max(size, abs(x), abs(y)))


def test_hex_density_counts_sites_and_returns_non_empty_hexes_only():
    sites = make_sites(
        [(100, 100), (150, 120), (5000, 5000)],
        floor=[10.0, 20.0, 30.0],
        sensitivity=["restricted", "open", "open"],
    )
    owner = sites["agency"].iat[0]
    cells = hex_density(sites, 1000, viewer=owner)
    assert cells["sites"].tolist() == [2, 1] and cells["floor_area_sqft"].tolist() == [30.0, 30.0]
    assert cells["restricted_sites"].tolist() == [1, 0]
    assert cells["sites_per_km2"].iat[0] == pytest.approx(2 / (HEX_AREA * 1000**2 / 1e6))
    withheld = hex_density(sites, 1000)  # nobody's agency: the restricted site is in no cell
    assert withheld["sites"].tolist() == [1, 1] and withheld["restricted_sites"].sum() == 0
    everything = hex_density(sites, 1000, include_empty=True, viewer=owner)
    assert len(everything) == len(hex_grid(sites, 1000))
    assert int(everything["sites"].sum()) == 3 and (everything["sites"] == 0).sum() > 0
    assert everything["sites"].dtype == np.int64
    assert hex_density(make_sites([]), 1000).empty


# --------------------------------------------------------------------------- heat


def test_heat_points_are_lat_lon_weight_in_wgs84_without_restricted_sites():
    sites = make_sites(
        [(558300, 139100), (575900, 155700), (530000, 180000)],
        floor=[1000.0, 4000.0, 2000.0],
        sensitivity=["open", "open", "restricted"],
    )
    rows = heat_points(sites, weight="floor_area_sqft")
    assert len(rows) == 2
    lat, lon, _ = rows[0]
    assert 51.1 < lat < 51.2 and 0.2 < lon < 0.3  # Tunbridge Wells
    assert [r[2] for r in rows] == [0.25, 1.0]
    assert len(heat_points(sites, viewer=sites["agency"].iat[2])) == 3
    assert heat_points(make_sites([])) == []


def test_kde_surface_keeps_the_mass_and_peaks_at_the_sites():
    sites = make_sites([(500_000, 200_000)] * 3 + [(520_000, 200_000)])
    surface = kde_surface(sites, cell_m=200, bandwidth_m=1000)
    assert surface.total() == pytest.approx(4.0, rel=1e-3)
    row, col = np.unravel_index(np.argmax(surface.values), surface.values.shape)
    x = surface.x_min + (col + 0.5) * surface.cell_m
    y = surface.y_min + (row + 0.5) * surface.cell_m
    assert abs(x - 500_000) <= 200 and abs(y - 200_000) <= 200
    minx, _, maxx, _ = surface.bounds
    assert minx <= 497_000 and maxx >= 523_000


# --------------------------------------------------------------------------- place summary


def test_place_summary_rows_and_total_equal_the_sum(estate):
    population = pd.DataFrame({"code": ["E00000001", "E00000002"], "population": [20000, 10000]})
    table = place_summary(estate, squares(), population, viewer=OWNER)
    assert list(table.columns) == list(density.PLACE_SUMMARY_COLUMNS)
    body, total = table.iloc[:-1], table.iloc[-1]
    assert body[["locality_code", "sector"]].values.tolist() == [
        ["E00000001", "police"],
        ["E00000001", "health"],
        ["E00000002", "council"],
        ["", "fire"],
    ]
    assert (total["locality_code"], total["locality_name"], total["sector"]) == (
        "TOTAL",
        "Total",
        "all",
    )
    for column in ("sites", "floor_area_sqft", "running_cost_gbp", "surplus_sqft"):
        assert total[column] == pytest.approx(body[column].sum())
    assert total["sites"] == len(estate)
    assert body["sites_per_10000_residents"].tolist()[:3] == pytest.approx([1.0, 1.0, 1.0])
    assert total["population"] == 30000
    assert total["sites_per_10000_residents"] == pytest.approx(5 / 30000 * 10000)
    assert body["sites"].tolist() == [2, 2, 1, 1]
    assert table.attrs["outside_sites"] == 1


# --------------------------------------------------------------------------- writers


def test_csv_written_atomically_through_a_temporary_file(tmp_path, estate, monkeypatch):
    out = tmp_path / "density.csv"
    out.write_text("old\n")
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((Path(src), Path(dst), Path(dst).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    write_table(locality_metrics(estate, squares(), viewer=OWNER), out)
    ((src, dst, before),) = seen
    assert dst == out and src.parent == tmp_path and src.name.startswith(".density.csv.")
    assert before == "old\n"  # the old file stayed whole until the rename
    back = pd.read_csv(out)
    assert back["code"].tolist() == ["E00000001", "E00000002"]
    assert back["sites"].tolist() == [4, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["density.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, estate, monkeypatch):
    out = tmp_path / "density.gpkg"
    table = density_by_locality(estate, squares(), viewer=OWNER).choropleth()[0]
    write_table(table, out, layer="first")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", broken)
    before = out.read_bytes()
    with pytest.raises(OSError, match="disk full"):
        write_table(table, out, layer="second")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["density.gpkg"]


def test_gpkg_layer_written_atomically_keeps_other_layers(tmp_path, estate):
    out = tmp_path / "density.gpkg"
    frame, _ = density_by_locality(estate, squares()).choropleth("sites")
    write_table(frame, out, layer="density_ward")
    write_table(place_summary(estate, squares()), out, layer="summary")
    layers = dict(pyogrio.list_layers(out).tolist())
    assert layers == {"density_ward": "Polygon", "summary": None}
    back = pyogrio.read_dataframe(out, layer="density_ward")
    assert back.crs.equals(BNG) and back["code"].tolist() == ["E00000001", "E00000002"]
    # West has 4 sites, one another agency's restricted site: withheld, so 3 in the file
    assert back["sites"].tolist() == [3, 1]
    assert back["area_km2"].iat[0] == pytest.approx(4.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["density.gpkg"]


# --------------------------------------------------------------------------- error messages


def _bad_population_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pop.csv"
    path.write_text(text)
    return path


ERRORS = [
    (
        lambda t: metric_column("beds", "acre"),
        "metric='beds' is not valid; expected one of: sites, floor_area_sqft, surplus_sqft, "
        "running_cost_gbp; per='acre' is not valid; expected one of: total, km2, residents",
    ),
    (
        lambda t: density_by_locality(pd.DataFrame({"a": [1]}), squares()),
        "sites is a DataFrame; expected a geopandas GeoDataFrame",
    ),
    (
        lambda t: density_by_locality(make_sites([(1, 1)])[["geometry"]], squares(), by="x"),
        "by='x' is not valid; expected None or one of: sector, agency; sites lacks the "
        "column(s) floor_area_sqft, surplus_sqft, running_cost_gbp, sensitivity; expected the "
        "canonical site columns of assetmap.schema.SITE_COLUMNS",
    ),
    (
        lambda t: density_by_locality(make_sites([(1, 1)]).set_crs(None, allow_override=True)),
        "sites has no CRS (sites.crs is None); expected EPSG:27700 (British National Grid) or "
        "another CRS that can be reprojected to it",
    ),
    (
        lambda t: density_by_locality(make_sites([(1, 1)]), squares(), viewer=3),
        "viewer=3 is not valid; expected None, an agency's name or an assetmap.access.Viewer",
    ),
    (
        lambda t: density_by_locality(make_sites([(1, 1)]), "ward"),
        "localities='ward' is not a bundled level; expected one of: district, lsoa, nhs_area, "
        "county, or a boundary GeoDataFrame (code, name, polygons) or the path of a boundary "
        "file (GeoJSON, GeoPackage or Shapefile) for other levels such as wards or parishes",
    ),
    (
        lambda t: resolve_localities(squares().rename(columns={"code": "id"})),
        "level lacks the column(s) code; expected the columns code and name (it has: id, name)",
    ),
    (
        lambda t: resolve_localities(squares().set_crs(None, allow_override=True)),
        "level has no CRS (level.crs is None); expected EPSG:27700 (British National Grid) or "
        "another CRS that can be reprojected to it",
    ),
    (
        lambda t: resolve_localities(squares().iloc[:0]),
        "level has no rows; expected at least one locality polygon",
    ),
    (
        lambda t: resolve_localities(
            gpd.GeoDataFrame({"code": ["A"], "name": ["a"]}, geometry=[Point(0, 0)], crs=BNG)
        ),
        "level has 1 geometries that are not polygons (the first, code 'A', is a Point); "
        "expected polygons",
    ),
    (
        lambda t: density_by_locality(make_sites([]), squares(), population=[1, 2]),
        "population is a list; expected a DataFrame with the columns code and population "
        "(see read_population)",
    ),
    (
        lambda t: density_by_locality(
            make_sites([]), squares(), population=pd.DataFrame({"code": ["A"]})
        ),
        "population lacks the column(s) population; expected the columns code and population "
        "(it has: code)",
    ),
    (
        lambda t: density_by_locality(
            make_sites([]),
            squares(),
            population=pd.DataFrame({"code": ["A", "A", "B"], "population": [1, 2, "many"]}),
        ),
        "population has 1 values that are not numbers of residents (B='many'); expected a "
        "number, 0 or more, for every code; population has duplicated codes (A); expected one "
        "row per code",
    ),
    (
        lambda t: density_by_locality(make_sites([]), squares(), by="sector").choropleth(),
        "choropleth() needs one row per locality but this table is broken down by sector; "
        "expected density_by_locality(..., by=None)",
    ),
    (
        lambda t: density_by_locality(make_sites([]), squares()).choropleth(per="residents"),
        "per='residents' needs a population table; expected density_by_locality(..., "
        "population=read_population(path))",
    ),
    (
        lambda t: classify([1, 2], scheme="jenks", k=0),
        "scheme='jenks' is not a classification scheme; expected one of: quantiles, "
        "natural_breaks, equal_interval, user_defined; k=0 is not valid; expected a whole "
        "number of classes, 1 or more",
    ),
    (
        lambda t: classify([1, 2], scheme="user_defined"),
        "bins=None but scheme='user_defined' needs them; expected the upper bounds of the "
        "classes in increasing order, such as bins=[1, 5, 10]",
    ),
    (
        lambda t: classify([1, 2], scheme="user_defined", bins=[5, 1]),
        "bins=[5, 1] is not valid; expected finite numbers in strictly increasing order, such "
        "as bins=[1, 5, 10]",
    ),
    (
        lambda t: classify([1, 2], scheme="quantiles", bins=[1, 5]),
        "bins=[1, 5] was given with scheme='quantiles'; expected bins only with "
        "scheme='user_defined'",
    ),
    (
        lambda t: classify(["a", "b"]),
        "values has entries that are not numbers (dtype str); expected numbers",
    ),
    (
        lambda t: hex_grid((0, 0, 10, 10), 0, orientation="round"),
        "size_m=0 is not valid; expected the hexagon's side (centre to corner) in metres, a "
        "number above 0; orientation='round' is not valid; expected one of: flat, pointy",
    ),
    (
        lambda t: hex_grid((10, 0, 0, 10), 5),
        "extent=(10, 0, 0, 10) is not valid; expected a GeoDataFrame or bounds (minx, miny, "
        "maxx, maxy) in EPSG:27700 metres with minx <= maxx and miny <= maxy",
    ),
    (
        lambda t: hex_grid(make_sites([]), 5),
        "extent has no geometries with a location; expected at least one",
    ),
    (
        lambda t: hex_grid(squares().set_crs(None, allow_override=True), 5),
        "extent has no CRS (extent.crs is None); expected EPSG:27700 (British National Grid) "
        "or another CRS that can be reprojected to it",
    ),
    (
        lambda t: hex_grid((0, 0, 700_000, 1_250_000), 100),
        "size_m=100 would make about 33,717,400 hexagons over the extent (700,000 m by "
        "1,250,000 m); expected at most 5,000,000: choose a larger size_m",
    ),
    (
        lambda t: hex_density(
            gpd.GeoDataFrame(
                make_sites([(0, 0)]).drop(columns="geometry"), geometry=[box(0, 0, 1, 1)], crs=BNG
            ),
            100,
        ),
        "sites has 1 geometries that are not points (the first, at index 0, is a Polygon); "
        "expected one Point per site",
    ),
    (
        lambda t: heat_points(make_sites([(0, 0)]), weight="beds"),
        "weight='beds' is not valid; expected None (each site counts 1) or one of: "
        "floor_area_sqft, surplus_sqft, running_cost_gbp",
    ),
    (
        lambda t: kde_surface(make_sites([(0, 0)]), cell_m=-1, bandwidth_m=float("nan")),
        "cell_m=-1 is not valid; expected metres, a number above 0; bandwidth_m=nan is not "
        "valid; expected metres, a number above 0",
    ),
    (
        lambda t: kde_surface(make_sites([])),
        "sites has no located site with a value to smooth; expected at least one point",
    ),
    (
        lambda t: kde_surface(make_sites([(0, 0), (600_000, 1_000_000)]), cell_m=100),
        "cell_m=100 would make 61,286,400 cells over the sites' extent; expected at most "
        "5,000,000: choose a larger cell_m",
    ),
    (
        lambda t: write_table(pd.DataFrame({"a": [1]}), t / "x.xlsx"),
        "has the suffix '.xlsx'; expected one of: .csv, .gpkg",
    ),
    (
        lambda t: write_table(pd.DataFrame({"a": [1]}), t / "nope" / "x.gpkg", layer=" "),
        "is in a folder that does not exist; expected an existing folder; layer=' ' is not "
        "valid; expected a layer name",
    ),
    (
        lambda t: read_population(t / "missing.csv"),
        "is not a file; expected an ONS population estimates CSV with the columns Area Codes "
        "and All Ages",
    ),
    (
        lambda t: read_population(_bad_population_file(t, "a,b\n1,2\n")),
        "has no header row with a code column and an all-ages column in its first 50 rows; "
        "expected an ONS population estimates CSV with the columns Area Codes and All Ages",
    ),
    (
        lambda t: read_population(
            _bad_population_file(t, 'Area Codes,All Ages\nE01,"1,2x"\nE02,5\nE02,6\n')
        ),
        "has 1 populations that are not whole numbers (line 2 (E01: '1,2x')); expected a "
        "count of residents such as 1,632; path=.* has duplicated codes (E02); expected one "
        "row per area",
    ),
    (
        lambda t: read_population(_bad_population_file(t, "Area Codes,All Ages\n")),
        "has no rows of data; expected one row per area",
    ),
]


@pytest.mark.parametrize(("call", "message"), ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_every_error_message(tmp_path, call, message):
    pattern = ".*".join(re.escape(part) for part in message.split(".*"))
    with pytest.raises(InvalidArgumentError, match=pattern):
        call(tmp_path)


def test_metric_columns():
    assert [metric_column(m, "km2") for m in METRICS] == [
        "sites_per_km2",
        "floor_area_sqft_per_km2",
        "surplus_sqft_per_km2",
        "running_cost_gbp_per_km2",
    ]
    assert metric_column("sites", "residents") == "sites_per_1000_residents"
    assert metric_column("running_cost_gbp") == "running_cost_gbp"


def test_read_population_skips_title_rows_and_thousands_separators(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_bytes(
        "\ufeffMid-2017 Population Estimates\r\n\r\nArea Codes,Area Names,All Ages,0\r\n"
        'E06000047,County Durham,"523,662",5\r\nE01020634,,"1,632",20\r\n,Footnote,,\r\n'.encode()
    )
    table = read_population(path)
    assert table["code"].tolist() == ["E06000047", "E01020634"]
    assert table["population"].tolist() == [523662, 1632]
    assert table["population"].dtype == np.int64


# --------------------------------------------------------------------------- command line

REGISTER = (
    "Site name,Easting,Northing,GIA (sq ft),Sensitivity\n"
    "Hall,500500,100500,1000,\n"
    "Clinic,501500,100500,2000,restricted\n"
    "Depot,502500,100500,500,\n"
    "Library,502600,100600,800,\n"
    "Far away,560000,150000,100,\n"
)


@pytest.fixture
def small_store(tmp_path) -> Path:
    store = tmp_path / "estate.gpkg"
    import_register(
        REGISTER.encode(), name="hall.csv", store=store, agency="Test BC", sector="council"
    )
    return store


@pytest.fixture
def two_wards(tmp_path) -> Path:
    """Two 2 km square wards in EPSG:27700, as a GeoJSON boundary file."""
    frame = gpd.GeoDataFrame(
        {"WD23CD": ["E05000001", "E05000002"], "WD23NM": ["West", "East"]},
        geometry=[box(500000, 100000, 502000, 102000), box(502000, 100000, 504000, 102000)],
        crs=BNG,
    )
    path = tmp_path / "wards.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def test_cli_density_to_csv(tmp_path, small_store, two_wards, capsys):
    out = tmp_path / "wards.csv"
    argv = ["density", "--level", "ward", "--boundaries", str(two_wards)]
    argv += ["--store", str(small_store), "--out", str(out), "--k", "2"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "sites per km² by ward: 2 localities from " in text
    # the local user has no agency: the restricted clinic is withheld from every figure
    assert "4 sites: 3 in a locality (0 on a boundary, each counted once), 1 outside" in text
    table = pd.read_csv(out)
    assert table["code"].tolist() == ["E05000001", "E05000002"]
    assert table["sites"].tolist() == [1, 2]
    assert table["value"].iat[1] == pytest.approx(0.5)
    assert "geometry" not in table.columns


def test_cli_density_to_gpkg_with_a_bundled_level(tmp_path, small_store, capsys):
    out = tmp_path / "density.gpkg"
    argv = ["density", "--store", str(small_store), "--out", str(out), "--place", "Kent and Medway"]
    argv += ["--metric", "floor_area_sqft", "--per", "total", "--scheme", "equal_interval"]
    assert main(argv) == 0
    assert f"Wrote {out} (layer density_district)" in capsys.readouterr().out
    back = pyogrio.read_dataframe(out, layer="density_district")
    assert len(back) == 13 and back.crs.equals(BNG)
    assert int(np.nansum(back["sites"])) == 1  # Tunbridge Wells' one site; the rest are outside


def test_cli_density_errors_exit_2_with_one_message(tmp_path, small_store, capsys):
    store = str(small_store)
    argv = ["density", "--store", store, "--level", "ward", "--per", "residents"]
    argv += ["--bins", "1,x", "--out", str(tmp_path / "x.txt")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err == (
        f"assetmap: error: --out '{tmp_path / 'x.txt'}' is not valid; expected a .csv or .gpkg "
        "file; --level 'ward' is not a level; expected one of: country, icb, nhs_area, "
        "district, lsoa, county, or --boundaries FILE with the polygons of ward; --per "
        "residents needs --population FILE; expected an ONS population estimates CSV; --bins "
        "'1,x' is not valid; expected numbers separated by commas, such as 1,5,10"
    )
    assert main(["density", "--store", store, "--scheme", "jenks", "--metric", "beds"]) == 2
    assert capsys.readouterr().err.strip() == (
        "assetmap: error: metric='beds' is not valid; expected one of: sites, floor_area_sqft, "
        "surplus_sqft, running_cost_gbp; scheme='jenks' is not a classification scheme; "
        "expected one of: quantiles, natural_breaks, equal_interval, user_defined"
    )
    assert main(["density", "--store", str(tmp_path / "none.gpkg")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"assetmap: error: --store '{tmp_path / 'none.gpkg'}' does not exist; expected an "
        "estate store (import a register first)"
    )
    assert main(["density", "--store", store, "--out", store]) == 2
    assert "is the estate store; expected another .csv or .gpkg file" in capsys.readouterr().err


# --------------------------------------------------------------------------- real data


def kent_sites() -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    raw = pd.read_csv(shared_file("registers", "kent_public_sector_sites.csv"), dtype="str")
    n = len(raw)
    sites = make_sites(
        list(zip(raw["easting"].astype(float), raw["northing"].astype(float), strict=True))
    )
    sites["agency"] = raw["agency"].to_numpy()
    assert n == 288
    return raw, sites


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("boundary_file", "code_column"),
    [("kent_lad_may2023_buc.geojson", "lad_code"), ("kent_wards_dec2023_bsc.geojson", "ward_code")],
)
def test_real_kent_assignment_agrees_with_the_register_codes(boundary_file, code_column):
    raw, sites = kent_sites()
    path = shared_file("boundaries", boundary_file)
    result = density_by_locality(sites, path)
    agree = (result.assignment["locality_code"].to_numpy() == raw[code_column].to_numpy()).mean()
    assert agree >= 0.99, f"only {agree:.1%} of sites agree with {code_column}"
    assert int(result.metrics["sites"].sum()) + result.n_outside == len(sites)


@pytest.mark.realdata
def test_real_population_file_for_kent_districts():
    path = shared_file("population", "SAPE20DT1_mid2017_population_estimates_LAD_LSOA.csv")
    population = read_population(path)
    assert len(population) == 35_101 and population["code"].is_unique
    lookup = population.set_index("code")["population"]
    assert lookup["E06000047"] == 523_662 and lookup["E01020634"] == 1_632
    _, sites = kent_sites()
    districts = shared_file("boundaries", "kent_lad_may2023_buc.geojson")
    result = density_by_locality(sites, districts, population=population)
    assert result.notes == ()  # every Kent district code of 2023 is in the 2017 estimates
    m = result.metrics
    assert m.loc["E07000110", "population"] == lookup["E07000110"]
    assert m["population"].sum() == pytest.approx(1_832_252)
    expected = m["sites"] / m["population"] * 1000
    pd.testing.assert_series_equal(m["sites_per_1000_residents"], expected, check_names=False)
    summary = place_summary(sites, districts, population)
    assert summary["sites"].iat[-1] == len(sites)
