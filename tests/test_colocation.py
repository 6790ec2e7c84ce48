"""Co-location: clusters of different agencies' sites within walking distance."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap.access import visible_mask
from assetmap.cli import main
from assetmap.colocation import (
    DEFAULT_DISTANCE_M,
    colocation_clusters,
    colocation_pairs,
    near_components,
)
from assetmap.errors import InvalidArgumentError
from assetmap.savings import DEFAULT_COST_PER_SQFT
from assetmap.store import open_store
from tests.estates import geo_frame


def make_sites(rows: list[dict], index=None) -> gpd.GeoDataFrame:
    """Sites from dicts with ``x``, ``y`` (metres from X0, Y0; None = no location) and columns."""
    defaults = {
        "site_id": "",
        "name": "",
        "agency": "Kent Police",
        "sector": "police",
        "use_class": "office",
        "tenure": "freehold",
        "floor_area_sqft": np.nan,
        "surplus_sqft": np.nan,
        "running_cost_gbp": np.nan,
        "lease_expiry": "",
        "sensitivity": "open",
    }
    records = [{"site_id": f"S{i}", "name": f"Site {i}", **row} for i, row in enumerate(rows)]
    return geo_frame(records, defaults, index=index)


POLICE = {"agency": "Kent Police", "sector": "police"}
HEALTH = {"agency": "NHS Kent and Medway", "sector": "health"}
COUNCIL = {"agency": "Maidstone Borough Council", "sector": "council"}


def test_three_sites_of_two_agencies_100_m_apart_and_one_far_away_make_one_cluster():
    sites = make_sites(
        [
            {"x": 0, "y": 0, **POLICE},
            {"x": 100, "y": 0, **HEALTH},
            {"x": 200, "y": 0, **POLICE},
            {"x": 5_000, "y": 0, **HEALTH},
        ],
        index=["a", "b", "c", "far"],
    )
    result = colocation_clusters(sites)
    assert len(result.clusters) == 1
    cluster = result.clusters.iloc[0]
    assert cluster["cluster_id"] == 1
    assert cluster["n_sites"] == 3 and cluster["n_agencies"] == 2
    assert cluster["agencies"] == "Kent Police; NHS Kent and Medway"
    assert result.members.index.tolist() == ["a", "b", "c"]
    assert result.site_cluster.index.tolist() == ["a", "b", "c", "far"]
    assert result.site_cluster.tolist()[:3] == [1, 1, 1]
    assert pd.isna(result.site_cluster["far"])
    assert result.distance_m == DEFAULT_DISTANCE_M
    assert result.message.startswith("1 co-location cluster of two or more agencies within 400 m")


def test_one_agency_alone_makes_no_cluster_and_says_why():
    sites = make_sites([{"x": 0, "y": 0}, {"x": 50, "y": 0}, {"x": 100, "y": 0}])
    result = colocation_clusters(sites)
    assert result.empty and len(result.members) == 0
    assert result.site_cluster.isna().all()
    assert result.message == (
        "No co-location clusters: all 3 sites belong to one agency (Kent Police)."
    )


def test_agencies_too_far_apart_make_no_cluster():
    sites = make_sites([{"x": 0, "y": 0, **POLICE}, {"x": 401, "y": 0, **HEALTH}])
    result = colocation_clusters(sites)
    assert result.empty
    assert "no two agencies' sites stand within 400 m of each other among 2 sites" in (
        result.message
    )
    assert not colocation_clusters(sites, distance=402).empty


def test_components_chain_through_one_agency_sites():
    # A and C are 700 m apart but joined through B
    sites = make_sites(
        [{"x": 0, "y": 0, **POLICE}, {"x": 350, "y": 0, **POLICE}, {"x": 700, "y": 0, **HEALTH}]
    )
    result = colocation_clusters(sites)
    assert result.clusters["n_sites"].tolist() == [3]


def test_agency_identity_is_sector_and_name_compared_without_case_or_spacing():
    same = make_sites(
        [
            {"x": 0, "y": 0, "agency": "Kent  Police", "sector": "police"},
            {"x": 10, "y": 0, "agency": "kent police ", "sector": "police"},
        ]
    )
    assert colocation_clusters(same).empty
    two_sectors = make_sites(
        [
            {"x": 0, "y": 0, "agency": "Estates", "sector": "police"},
            {"x": 10, "y": 0, "agency": "Estates", "sector": "health"},
        ]
    )
    assert colocation_clusters(two_sectors).clusters["n_agencies"].tolist() == [2]
    pairs = colocation_pairs(two_sectors)
    assert pairs["left_agency"].astype(str).tolist() == ["Estates (police)"]
    assert pairs["right_agency"].astype(str).tolist() == ["Estates (health)"]


def test_hub_needs_the_least_new_space_and_the_saving_follows_the_formula():
    sites = make_sites(
        [
            # occupied 6,000 with 4,000 spare: takes the others with 1,000 sq ft more
            {
                "x": 0,
                "y": 0,
                **POLICE,
                "floor_area_sqft": 10_000,
                "surplus_sqft": 4_000,
                "running_cost_gbp": 500_000,
                "name": "Police Office",
            },
            {"x": 100, "y": 0, **HEALTH, "floor_area_sqft": 3_000, "running_cost_gbp": 90_000},
            {"x": 0, "y": 100, **COUNCIL, "floor_area_sqft": 2_000},  # cost estimated
        ]
    )
    result = colocation_clusters(sites)
    c = result.clusters.iloc[0]
    assert c["hub_name"] == "Police Office" and c["hub_agency"] == "Kent Police"
    assert c["hub_index"] == 0
    assert c["floor_area_sqft"] == 15_000 and c["surplus_sqft"] == 4_000
    assert c["occupied_sqft"] == 11_000
    assert c["new_space_sqft"] == 1_000
    assert c["released_floor_area_sqft"] == 5_000
    assert c["net_floor_area_released_sqft"] == 4_000
    released_cost = 90_000 + 2_000 * DEFAULT_COST_PER_SQFT
    assert c["released_running_cost_gbp"] == pytest.approx(released_cost)
    assert c["saving_gbp"] == pytest.approx(released_cost * (1 - 1_000 / 5_000))
    assert c["saving_estimated"]
    assert c["costs_estimated"] == 1 and c["costs_unknown"] == 0
    members = result.members
    assert members["is_hub"].tolist() == [True, False, False]
    assert members["cost_basis"].tolist() == ["reported", "reported", "estimated"]
    assert members["distance_to_hub_m"].tolist() == pytest.approx([0, 100, 100])


def test_hub_prefers_freehold_when_several_need_no_new_space():
    sites = make_sites(
        [
            {
                "x": 0,
                "y": 0,
                **POLICE,
                "floor_area_sqft": 9_000,
                "surplus_sqft": 8_000,
                "tenure": "leasehold",
            },
            {
                "x": 50,
                "y": 0,
                **HEALTH,
                "floor_area_sqft": 6_000,
                "surplus_sqft": 5_000,
                "tenure": "freehold",
                "running_cost_gbp": 60_000,
            },
            {"x": 100, "y": 0, **COUNCIL, "floor_area_sqft": 1_000, "running_cost_gbp": 40_000},
        ]
    )
    c = colocation_clusters(sites).clusters.iloc[0]
    assert c["hub_agency"] == "NHS Kent and Medway" and c["hub_tenure"] == "freehold"
    assert c["new_space_sqft"] == 0
    # the leasehold police site's own cost is estimated: the saving is marked estimated
    assert c["saving_estimated"]


def test_clusters_are_ordered_and_hulls_cover_their_members():
    sites = make_sites(
        [
            {"x": 0, "y": 0, **POLICE},
            {"x": 100, "y": 0, **HEALTH},
            {"x": 10_000, "y": 0, **POLICE},
            {"x": 10_100, "y": 0, **HEALTH},
            {"x": 10_000, "y": 100, **COUNCIL},
        ]
    )
    result = colocation_clusters(sites, hull_buffer=30)
    assert result.clusters["n_agencies"].tolist() == [3, 2]
    assert result.site_cluster.tolist() == [2, 2, 1, 1, 1]
    assert result.clusters.crs.to_epsg() == 27700
    hulls = result.clusters.set_index("cluster_id").geometry
    for cid, member in zip(result.members["cluster_id"], result.members.geometry, strict=True):
        assert hulls[cid].contains(member)
        assert hulls[cid].exterior.distance(member) == pytest.approx(30, abs=1)


def test_restricted_sites_join_only_their_own_agencys_results():
    sites = make_sites(
        [
            {"x": 0, "y": 0, **POLICE, "sensitivity": "restricted"},
            {"x": 100, "y": 0, **HEALTH},
            {"x": 200, "y": 0, **COUNCIL, "sensitivity": "restricted"},
        ]
    )
    everyone = colocation_clusters(sites)
    assert everyone.empty and "restricted" not in everyone.message
    assert everyone.message == colocation_clusters(sites.iloc[[1]]).message
    police = colocation_clusters(sites, viewer_agency="Kent Police")
    assert police.members.index.tolist() == [0, 1]
    assert "restricted" not in police.message
    assert visible_mask(sites, "maidstone borough council").tolist() == [
        False,
        True,
        True,
    ]


def test_everything_restricted_gives_an_explained_empty_result():
    sites = make_sites(
        [
            {"x": 0, "y": 0, **POLICE, "sensitivity": "restricted"},
            {"x": 10, "y": 0, **HEALTH, "sensitivity": "restricted"},
        ]
    )
    result = colocation_clusters(sites)
    assert result.empty
    # the same words as for an empty estate: nothing tells that sites were withheld
    assert result.message == "No co-location clusters: there are no sites."
    assert result.message == colocation_clusters(make_sites([])).message


def test_no_sites_and_unlocated_sites():
    empty = colocation_clusters(make_sites([]))
    assert empty.empty and empty.message == "No co-location clusters: there are no sites."
    sites = make_sites([{"x": 0, "y": 0, **POLICE}, {"x": None, "y": None, **HEALTH}])
    result = colocation_clusters(sites)
    assert result.unlocated_excluded == 1
    assert "1 sites without a location left out" in result.message


@pytest.mark.parametrize("distance", [0, -400, float("nan"), float("inf"), "400", True])
def test_distance_must_be_a_positive_number(distance):
    sites = make_sites([{"x": 0, "y": 0}])
    with pytest.raises(
        InvalidArgumentError,
        match=r"distance=.* is not valid; expected a positive number of metres",
    ):
        colocation_clusters(sites, distance=distance)
    with pytest.raises(InvalidArgumentError, match=r"distance=.* is not valid"):
        colocation_pairs(sites, distance=distance)


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidArgumentError) as info:
        colocation_clusters(
            make_sites([]).drop(columns="agency"),
            distance=-1,
            viewer_agency=3,
            hull_buffer=0,
            cost_per_sqft=0,
        )
    message = str(info.value)
    for part in (
        "hull_buffer=0 is not valid",
        "cost_per_sqft=0 is not valid",
        "sites lacks the column(s) agency",
        "distance=-1 is not valid",
        "viewer_agency=3 is not valid; expected None or an agency's name",
    ):
        assert part in message
    with pytest.raises(InvalidArgumentError, match="sites is a DataFrame; expected a GeoDataFrame"):
        colocation_clusters(pd.DataFrame({"agency": ["A"], "sector": ["police"]}))
    no_crs = make_sites([{"x": 0, "y": 0}]).set_crs(None, allow_override=True)
    with pytest.raises(InvalidArgumentError, match=r"sites has no CRS; expected EPSG:27700"):
        colocation_clusters(no_crs)


def test_other_crs_are_reprojected():
    sites = make_sites([{"x": 0, "y": 0, **POLICE}, {"x": 100, "y": 0, **HEALTH}]).to_crs(4326)
    result = colocation_clusters(sites)
    assert len(result.clusters) == 1 and result.clusters.crs.to_epsg() == 27700
    pairs = colocation_pairs(sites)
    assert pairs["distance_m"].tolist() == pytest.approx([100.0], abs=0.01)


def test_pairs_are_between_different_agencies_only():
    sites = make_sites(
        [{"x": 0, "y": 0, **POLICE}, {"x": 30, "y": 40, **POLICE}, {"x": 0, "y": 300, **HEALTH}],
        index=[10, 20, 30],
    )
    pairs = colocation_pairs(sites)
    assert pairs[["left", "right"]].values.tolist() == [[10, 30], [20, 30]]
    assert pairs["distance_m"].tolist() == pytest.approx([300.0, np.hypot(30, 260)])
    assert set(pairs["left_agency"].astype(str)) == {"Kent Police"}


def test_writers_replace_files_whole(tmp_path):
    sites = make_sites([{"x": 0, "y": 0, **POLICE}, {"x": 100, "y": 0, **HEALTH}])
    result = colocation_clusters(sites)
    written = result.to_csv(tmp_path / "clusters.csv")
    assert [p.name for p in written] == ["clusters.csv", "clusters_members.csv"]
    table = pd.read_csv(tmp_path / "clusters.csv")
    assert table["n_sites"].tolist() == [2] and table["wkt_bng"].str.startswith("POLYGON").all()
    assert len(pd.read_csv(tmp_path / "clusters_members.csv")) == 2
    result.to_gpkg(tmp_path / "clusters.gpkg")
    layers = dict(pyogrio.list_layers(tmp_path / "clusters.gpkg"))
    assert layers == {"clusters": "Polygon", "members": "Point"}
    empty = colocation_clusters(make_sites([{"x": 0, "y": 0}]))
    empty.to_gpkg(tmp_path / "empty.gpkg")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clusters.csv",
        "clusters.gpkg",
        "clusters_members.csv",
        "empty.gpkg",
    ]


@st.composite
def estates(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    xs = draw(st.lists(st.integers(0, 1_500), min_size=n, max_size=n))
    ys = draw(st.lists(st.integers(0, 1_500), min_size=n, max_size=n))
    agencies = draw(st.lists(st.sampled_from([POLICE, HEALTH, COUNCIL]), min_size=n, max_size=n))
    distance = draw(st.sampled_from([100.0, 250.0, 400.0]))
    rows = [{"x": x, "y": y, **a} for x, y, a in zip(xs, ys, agencies, strict=True)]
    return make_sites(rows), distance


@settings(deadline=None, max_examples=40)
@given(estates())
def test_clusters_match_connected_components_found_by_comparing_every_pair(case):
    from scipy.sparse.csgraph import connected_components

    sites, distance = case
    result = colocation_clusters(sites, distance=distance)
    n = len(sites)
    if n == 0:
        assert result.empty
        return
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    near = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) <= distance
    _, comp = connected_components(near, directed=False)
    expected = set()
    for c in np.unique(comp):
        members = np.flatnonzero(comp == c)
        if sites["agency"].iloc[members].nunique() >= 2:
            expected.add(frozenset(members.tolist()))
    found = {
        frozenset(result.members.index[result.members["cluster_id"] == cid].tolist())
        for cid in result.clusters["cluster_id"]
    }
    assert found == expected
    assert (
        result.site_cluster.notna().to_numpy()
        == np.isin(np.arange(n), list(set().union(*expected) if expected else []))
    ).all()
    pairs = colocation_pairs(sites, distance=distance)
    i, j = np.nonzero(np.triu(near, 1))
    cross = sites["agency"].to_numpy()[i] != sites["agency"].to_numpy()[j]
    assert sorted(map(tuple, pairs[["left", "right"]].values.tolist())) == sorted(
        zip(i[cross].tolist(), j[cross].tolist(), strict=True)
    )


# the sample estate -------------------------------------------------------


def test_sample_estate_clusters(sample_store):
    sites = open_store(sample_store).sites()
    result = colocation_clusters(sites)
    restricted = sites["sensitivity"] == "restricted"
    assert restricted.sum() == 9 and not result.members.index.isin(sites.index[restricted]).any()
    assert len(result.clusters) > 50
    assert (result.clusters["n_agencies"] >= 2).all()
    police_office = sites.index[sites["name"] == "Maidstone Police Office"][0]
    cid = result.site_cluster[police_office]
    cluster = result.clusters.set_index("cluster_id").loc[cid]
    assert cluster["hub_name"] == "Maidstone Police Office"
    assert cluster["net_floor_area_released_sqft"] == pytest.approx(40_000)
    police = colocation_clusters(sites, viewer_agency="Kent Police")
    theirs = restricted & (sites["agency"] != "Kent Police")
    assert not police.members.index.isin(sites.index[theirs]).any()
    assert police.sites_considered > result.sites_considered


def test_cli_colocate(sample_store, tmp_path, capsys):
    out = tmp_path / "clusters.gpkg"
    code = main(["colocate", "--store", str(sample_store), "--distance", "250", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "co-location clusters of two or more agencies within 250 m" in printed
    assert "hub " in printed and f"Wrote {out}" in printed
    assert dict(pyogrio.list_layers(out)) == {"clusters": "Polygon", "members": "Point"}
    assert main(["colocate", "--store", str(sample_store), "--distance", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "assetmap: error: --distance=0.0 is not valid; expected a positive number of metres"
    )
    assert main(["colocate", "--store", str(tmp_path / "none.gpkg"), "--out", "x.txt"]) == 2
    err = capsys.readouterr().err
    assert "does not exist; expected an estate store" in err
    assert "--out 'x.txt' is not valid; expected a .csv or .gpkg file" in err


# the components without every pair ------------------------------------------


def _reference_components(xy: np.ndarray, distance: float) -> np.ndarray:
    """Components over every pair within the distance, compared one by one."""
    from scipy.sparse.csgraph import connected_components

    gaps = xy[:, None, :] - xy[None, :, :]
    near = (gaps**2).sum(axis=2) <= distance**2
    return connected_components(near, directed=False)[1]


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        # one cell: all near
        ([(0, 0), (70, 70)], [0, 0]),
        # exactly the distance apart (a 60-80-100 triangle) is near
        ([(0, 0), (60, 80)], [0, 0]),
        ([(0, 0), (60, 80.001)], [0, 1]),
        # two cells apart: the points furthest towards each other are not near
        # ((70, 70) and (142, 0): 100.4 m), but another pair is ((69, 0) and (142, 0): 73 m)
        ([(70, 70), (69, 0), (142, 0)], [0, 0, 0]),
        # ... and with no near pair the two cells stay apart
        ([(70, 70), (0, 0), (142, 0)], [0, 0, 1]),
        # a chain across many cells
        ([(i * 99.0, (i % 2) * 10.0) for i in range(12)], [0] * 12),
        # numbered in the order of each component's first point
        ([(5_000, 0), (0, 0), (5_050, 0), (10, 10)], [0, 1, 0, 1]),
    ],
)
def test_near_components_on_cases_worked_by_hand(points, expected):
    labels = near_components(np.array(points, dtype=float), 100.0)
    assert labels.tolist() == expected


@st.composite
def clustered_points(draw):
    centres = draw(
        st.lists(st.tuples(st.integers(0, 3_000), st.integers(0, 3_000)), min_size=1, max_size=6)
    )
    points = []
    for cx, cy in centres:
        spread = draw(st.sampled_from([30, 150, 600]))
        offsets = draw(
            st.lists(
                st.tuples(st.integers(-spread, spread), st.integers(-spread, spread)),
                min_size=1,
                max_size=60,
            )
        )
        points += [(cx + dx, cy + dy) for dx, dy in offsets]
    distance = draw(st.sampled_from([5.0, 25.0, 100.0, 250.0, 400.0]))
    return np.array(points, dtype=float), distance


@settings(deadline=None, max_examples=150)
@given(clustered_points())
def test_near_components_match_every_pair_compared(case):
    xy, distance = case
    assert near_components(xy, distance).tolist() == _reference_components(xy, distance).tolist()


def test_near_components_match_the_kd_tree_graph_on_a_dense_estate():
    # thousands of sites a few metres to a few hundred apart: every way of deciding a
    # pair of cells is taken
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(7)
    towns = rng.uniform(0, 20_000, (30, 2))
    xy = np.round(
        towns[rng.integers(0, 30, 20_000)]
        + rng.normal(0, 1, (20_000, 2)) * rng.choice([50, 400, 2_000], 20_000)[:, None]
    )
    for distance in (30.0, 100.0, 400.0, 1_000.0):
        pairs = cKDTree(xy).query_pairs(distance, output_type="ndarray")
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy),) * 2)
        expected = connected_components(graph, directed=False)[1]
        assert (near_components(xy, distance) == expected).all(), distance
    assert near_components(np.zeros((0, 2)), 400.0).tolist() == []
    assert near_components(np.array([[5.0, 5.0]]), 400.0).tolist() == [0]
