"""Residents' access: the change in straight-line distance to the nearest site, by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from assetmap.access import visible_sites
from assetmap.errors import InvalidArgumentError
from assetmap.residents_access import (
    CATEGORIES,
    CHANGE_BANDS,
    AccessChange,
    access_change,
    access_choropleth_frame,
    access_columns,
    category_mask,
    lsoa_centres,
)

# --------------------------------------------------------------------------- the toy grid

#: 3 x 3 centres 1 km apart: code "Cxy" at (1000 x, 1000 y).
GRID = [(f"C{i}{j}", 1000.0 * i, 1000.0 * j) for j in range(3) for i in range(3)]
#: Residents of each centre, in GRID's order.
PEOPLE = [100, 200, 300, 400, 500, 600, 700, 800, 900]


def grid_centres(*, population: bool = False) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({"code": [c for c, _, _ in GRID]})
    if population:
        frame["population"] = PEOPLE
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy([x for _, x, _ in GRID], [y for _, _, y in GRID]),
        crs="EPSG:27700",
    )


#: site_id, agency, sector, use, use_class, x, y, sensitivity
TOY_SITES = [
    ("L1", "Kent County Council", "council", "Library", "community", 0, 0, "open"),
    ("L2", "Kent County Council", "council", "Library", "community", 2000, 2000, "open"),
    ("L3", "Medway Council", "council", "Library", "community", 8000, 0, "open"),
    ("V1", "Kent County Council", "council", "Vacant - Library", "community", 1000, 1000, "open"),
    ("J1", "DWP", "dwp", "Jobcentre", "office", 1000, 1000, "open"),
    ("P1", "Kent Police", "police", "Police station", "operational", 0, 0, "open"),
    ("P2", "Kent Police", "police", "Front counter", "office", 0, 9000, "open"),
    ("W1", "Kent Police", "police", "Vehicle workshop", "depot", 1000, 0, "open"),
]


def toy_sites(rows=TOY_SITES) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        [(*r[:5], r[7]) for r in rows],
        columns=["site_id", "agency", "sector", "use", "use_class", "sensitivity"],
    )
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy([r[5] for r in rows], [r[6] for r in rows]),
        crs="EPSG:27700",
    )


def closing(sites: gpd.GeoDataFrame, *ids: str) -> np.ndarray:
    return ~sites["site_id"].isin(ids).to_numpy()


R2, R5, R8 = math.sqrt(2) * 1000, math.sqrt(5) * 1000, math.sqrt(8) * 1000

#: Worked by hand: the nearest library of each centre, before (L1 at 0,0 or L2 at
#: 2000,2000) and after L1 closes (L2, or L3 at 8000,0, which is never nearer).
LIBRARY_BEFORE = [0, 1000, 2000, 1000, R2, 1000, 2000, 1000, 0]
LIBRARY_AFTER = [R8, R5, 2000, R5, R2, 1000, 2000, 1000, 0]
#: The nearest police station or front counter, before (P1 at 0,0) and after P1 closes
#: (P2 at 0,9000). W1, a workshop at 1000,0, is no front counter.
POLICE_BEFORE = [0, 1000, 2000, 1000, R2, R5, 2000, R5, R8]
POLICE_AFTER = [
    9000,
    math.hypot(1000, 9000),
    math.hypot(2000, 9000),
    8000,
    math.hypot(1000, 8000),
    math.hypot(2000, 8000),
    7000,
    math.hypot(1000, 7000),
    math.hypot(2000, 7000),
]

LIBRARY_CHANGE = [R8, R5 - 1000, 0, R5 - 1000, 0, 0, 0, 0, 0]
POLICE_CHANGE = [a - b for a, b in zip(POLICE_AFTER, POLICE_BEFORE, strict=True)]


def by_category(change: AccessChange, category: str) -> tuple[list, list, list]:
    return tuple(change.by_lsoa[c].tolist() for c in access_columns(category))


def summary_row(change: AccessChange, category: str) -> dict:
    rows = change.summary.set_index("category")
    return rows.loc[category].to_dict()


def test_toy_grid_by_hand_per_centre():
    sites = toy_sites()
    change = access_change(sites, closing(sites, "L1", "P1", "J1"), centres=grid_centres())
    assert change.by_lsoa["code"].tolist() == [c for c, _, _ in GRID]
    before, after, moved = by_category(change, "library")
    assert before == pytest.approx(LIBRARY_BEFORE)
    assert after == pytest.approx(LIBRARY_AFTER)
    assert moved == pytest.approx(LIBRARY_CHANGE)
    before, after, moved = by_category(change, "police front counter")
    assert before == pytest.approx(POLICE_BEFORE)
    assert after == pytest.approx(POLICE_AFTER)
    assert moved == pytest.approx(POLICE_CHANGE)
    # the only Jobcentre closes: no site left, infinitely further for every centre
    before, after, moved = by_category(change, "Jobcentre")
    assert before == pytest.approx([R2, 1000, R2, 1000, 0, 1000, R2, 1000, R2])
    assert after == [math.inf] * 9
    assert moved == [math.inf] * 9
    # no clinic at all: not measured
    assert all(math.isnan(v) for col in by_category(change, "clinic") for v in col)


def test_toy_grid_by_hand_lsoa_counts():
    sites = toy_sites()
    change = access_change(sites, closing(sites, "L1", "P1", "J1"), centres=grid_centres())
    assert change.counted == "LSOAs"
    assert change.summary["category"].tolist() == list(CATEGORIES)
    # library: C00 (+2,828 m), C10 and C01 (+1,236 m) are more than 1 km further
    assert summary_row(change, "library") == {
        "sites_before": 3,  # the vacant library is none
        "sites_after": 2,
        "more_than_1km": 3,
        "more_than_2km": 1,
        "more_than_5km": 0,
        "largest_change_m": pytest.approx(R8),
    }
    # police: every centre is over 2 km further; C02 is exactly 5 km further (2 -> 7 km),
    # which is not *more* than 5 km, nor are C12 (+4,835 m) and C22 (+4,452 m)
    police = summary_row(change, "police front counter")
    assert police == {
        "sites_before": 2,
        "sites_after": 1,
        "more_than_1km": 9,
        "more_than_2km": 9,
        "more_than_5km": 6,
        "largest_change_m": pytest.approx(9000),
    }
    assert change.by_lsoa.loc[6, "police front counter change_m"] == 5000.0
    jobcentre = summary_row(change, "Jobcentre")
    assert jobcentre["sites_after"] == 0
    assert [jobcentre[f"more_than_{k}km"] for k in (1, 2, 5)] == [9, 9, 9]
    assert jobcentre["largest_change_m"] == math.inf
    clinic = summary_row(change, "clinic")
    assert [clinic[f"more_than_{k}km"] for k in (1, 2, 5)] == [0, 0, 0]
    assert clinic["sites_before"] == 0
    assert math.isnan(clinic["largest_change_m"])
    assert change.summary["more_than_1km"].dtype == "int64"
    assert any("No clinic site is open before" in n for n in change.notes)
    assert any("leaves no Jobcentre site open" in n for n in change.notes)


def test_toy_grid_by_hand_people_counts():
    sites = toy_sites()
    change = access_change(
        sites,
        closing(sites, "L1", "P1", "J1"),
        centres=grid_centres(population=True),
        categories=["library", "police front counter", "Jobcentre"],
    )
    assert change.counted == "people"
    assert change.by_lsoa["population"].tolist() == PEOPLE
    library = summary_row(change, "library")
    # C00 (100 people), C10 (200) and C01 (400) are more than 1 km further; C00 alone 2 km
    assert [library[f"more_than_{k}km"] for k in (1, 2, 5)] == [700.0, 100.0, 0.0]
    police = summary_row(change, "police front counter")
    # all 4,500 people over 2 km; over 5 km all but C02 (700), C12 (800) and C22 (900)
    assert [police[f"more_than_{k}km"] for k in (1, 2, 5)] == [4500.0, 4500.0, 2100.0]
    jobcentre = summary_row(change, "Jobcentre")
    assert [jobcentre[f"more_than_{k}km"] for k in (1, 2, 5)] == [4500.0] * 3
    assert change.summary["category"].tolist() == ["library", "police front counter", "Jobcentre"]


def test_nothing_closed_changes_nothing():
    sites = toy_sites()
    change = access_change(sites, np.ones(len(sites), bool), centres=grid_centres())
    for category in ("library", "police front counter", "Jobcentre"):
        before, after, moved = by_category(change, category)
        assert before == after
        assert moved == [0.0] * 9
    assert change.summary[["more_than_1km", "more_than_2km", "more_than_5km"]].sum().sum() == 0


def test_a_tie_with_an_open_site_is_no_change():
    # two libraries equally near C00; whichever the tree finds first closes: no change
    rows = [
        ("A", "KCC", "council", "Library", "community", 0, 1000, "open"),
        ("B", "KCC", "council", "Library", "community", 1000, 0, "open"),
    ]
    for closed in ("A", "B"):
        sites = toy_sites(rows)
        change = access_change(
            sites, closing(sites, closed), centres=grid_centres(), categories=["library"]
        )
        assert change.by_lsoa.loc[0, "library change_m"] == 0.0


def test_sites_in_another_crs_and_without_a_location():
    # the grid moved to Maidstone, where the grid's transformation is exact to a millimetre
    sites = toy_sites()
    sites.geometry = sites.geometry.translate(576_000, 155_000)
    sites.loc[sites["site_id"] == "L3", "geometry"] = None
    centres = grid_centres()
    centres.geometry = centres.geometry.translate(576_000, 155_000)
    change = access_change(
        sites.to_crs("EPSG:4326"), closing(sites, "L1"), centres=centres, categories=["library"]
    )
    _, after, _ = by_category(change, "library")
    assert after == pytest.approx(LIBRARY_AFTER, abs=0.01)  # L3 was never the nearest
    assert summary_row(change, "library")["sites_before"] == 2
    assert any("without a location are not measured: 1 library" in n for n in change.notes)


# --------------------------------------------------------------------------- categories


def test_category_masks():
    sites = pd.DataFrame(
        {
            "sector": [
                "dwp",
                "dwp",
                "council",
                "council",
                "health",
                "health",
                "council",
                "police",
                "police",
                "police",
                "police",
                "council",
                "health",
            ],
            "use": [
                "Jobcentre",
                "Office",
                "Library",
                "Vacant - Library",
                "Acute hospital",
                "Office",
                "Sexual health clinic",
                "Police station",
                "Front counter",
                "Custody suite",
                "Enquiry office",
                "Health Centre",
                "GP surgery",
            ],
            "use_class": [
                "office",
                "office",
                "community",
                "community",
                "clinical",
                "office",
                "clinical",
                "operational",
                "office",
                "operational",
                "office",
                "community",
                "clinical",
            ],
        }
    )
    masks = {name: np.flatnonzero(category_mask(sites, name)).tolist() for name in CATEGORIES}
    assert masks == {
        "Jobcentre": [0, 1],  # every DWP site
        "library": [2],  # not the vacant one
        "clinic": [4, 6, 11, 12],  # health + clinical, or a clinic, surgery, health centre
        "police front counter": [7, 8, 10],  # not the custody suite
    }
    # CATEGORIES' own functions give the same masks
    assert np.flatnonzero(CATEGORIES["clinic"](sites)).tolist() == [4, 6, 11, 12]


def test_category_mask_of_a_frame_without_the_columns():
    sites = pd.DataFrame({"sector": ["dwp", "police"]})
    assert category_mask(sites, "Jobcentre").tolist() == [True, False]
    assert category_mask(sites, "library").tolist() == [False, False]
    assert category_mask(sites, "police front counter").tolist() == [False, False]


def test_unknown_category_lists_the_names():
    with pytest.raises(
        InvalidArgumentError,
        match=r"category='pharmacy' is not a category of sites; expected one of: "
        r"Jobcentre, library, clinic, police front counter",
    ):
        category_mask(pd.DataFrame({"use": ["x"]}), "pharmacy")
    sites = toy_sites()
    with pytest.raises(
        InvalidArgumentError,
        match=r"category='Library' is not a category of sites; expected one of: Jobcentre, "
        r"library, clinic, police front counter; category='gp' is not",
    ):
        access_change(
            sites, np.ones(len(sites), bool), centres=grid_centres(), categories=["Library", "gp"]
        )


def test_bad_arguments_are_all_reported_at_once():
    sites = toy_sites()
    with pytest.raises(
        InvalidArgumentError,
        match=r"^centres is a DataFrame; expected a GeoDataFrame of LSOA centres with a code "
        r"column \(see lsoa_centres\); open_after has 3 values for 8 sites; expected one per "
        r"site; categories='library' is not a list of category names; expected a list of some "
        r"of: Jobcentre, library, clinic, police front counter$",
    ):
        access_change(
            sites, np.ones(3, bool), centres=pd.DataFrame({"code": ["A"]}), categories="library"
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"open_after": [1] * 8},
            r"open_after is a list; expected a boolean array with one value per site",
        ),
        (
            {"sites": "sites.csv"},
            r"sites is a str; expected a geopandas GeoDataFrame",
        ),
        (
            {"sites": toy_sites().set_crs(None, allow_override=True)},
            r"sites has no CRS \(sites.crs is None\); expected EPSG:27700",
        ),
        (
            {"centres": grid_centres().set_crs(None, allow_override=True)},
            r"centres has no CRS; expected EPSG:27700",
        ),
        (
            {"centres": grid_centres(population=True).assign(population=["many"] * 9)},
            r"centres has population values that are not numbers of residents",
        ),
        (
            {"centres": grid_centres().rename(columns={"code": "c"})},
            r"centres lacks the column code; expected the LSOA centres of lsoa_centres "
            r"\(it has: c, geometry\)",
        ),
        ({"categories": []}, r"categories is empty; expected some of: Jobcentre, library"),
    ],
)
def test_each_bad_argument_is_named(change, message):
    arguments = {
        "sites": toy_sites(),
        "open_after": np.ones(8, bool),
        "centres": grid_centres(),
        "categories": None,
    }
    arguments.update(change)
    with pytest.raises(InvalidArgumentError, match=message):
        access_change(
            arguments["sites"],
            arguments["open_after"],
            centres=arguments["centres"],
            categories=arguments["categories"],
        )


# --------------------------------------------------------------------------- restricted sites


def restricted_case():
    """A restricted police station of Kent Police, nearest to most of the grid."""
    rows = [
        *TOY_SITES,
        ("P3", "Kent Police", "police", "Police station", "operational", 1000, 1000, "restricted"),
    ]
    return toy_sites(rows)


def test_access_of_another_agencys_view_equals_the_restricted_site_deleted():
    sites = restricted_case()
    seen = visible_sites(sites, "Kent County Council")
    assert "P3" not in set(seen["site_id"])
    deleted = sites[sites["site_id"] != "P3"].reset_index(drop=True)
    closes = ("L1", "P1")
    given = access_change(seen, closing(seen, *closes), centres=grid_centres())
    expected = access_change(deleted, closing(deleted, *closes), centres=grid_centres())
    pd.testing.assert_frame_equal(given.by_lsoa, expected.by_lsoa)
    pd.testing.assert_frame_equal(given.summary, expected.summary)
    # and the restricted site does move the figures its own agency sees
    own = visible_sites(sites, "Kent Police")
    theirs = access_change(own, closing(own, *closes), centres=grid_centres())
    assert not theirs.summary.equals(expected.summary)


def test_scenario_evaluate_access_equals_the_restricted_site_deleted():
    scenarios = pytest.importorskip("assetmap.scenarios")
    sites = restricted_case()
    deleted = sites[sites["site_id"] != "P3"].reset_index(drop=True)
    scenario = scenarios.Scenario(
        name="close two", moves=(scenarios.Dispose("L1"), scenarios.Dispose("P1"))
    )
    result = scenarios.evaluate(
        sites, scenario, viewer="Kent County Council", centres=grid_centres()
    )
    expected = access_change(deleted, closing(deleted, "L1", "P1"), centres=grid_centres())
    pd.testing.assert_frame_equal(result.access.by_lsoa, expected.by_lsoa)
    pd.testing.assert_frame_equal(result.access.summary, expected.summary)


# --------------------------------------------------------------------------- the choropleth


def test_choropleth_frame_bands_and_polygons():
    sites = toy_sites()
    change = access_change(sites, closing(sites, "L1", "J1"), centres=grid_centres())
    squares = gpd.GeoDataFrame(
        {"code": [*[c for c, _, _ in GRID][::-1], "ELSEWHERE"]},
        geometry=[
            *[shapely.box(x - 500, y - 500, x + 500, y + 500) for _, x, y in GRID][::-1],
            shapely.box(0, 0, 1, 1),
        ],
        crs="EPSG:27700",
    )
    frame = access_choropleth_frame(change, "library", squares)
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs.to_epsg() == 27700
    assert frame["code"].tolist() == [c for c, _, _ in GRID]  # the change's order
    assert frame["change_km"].tolist() == pytest.approx([c / 1000 for c in LIBRARY_CHANGE])
    assert frame["band"].tolist() == [
        "2 to 5 km further",
        "1 to 2 km further",
        "no change",
        "1 to 2 km further",
        *["no change"] * 5,
    ]
    assert frame.geometry.iloc[0].equals(shapely.box(-500, -500, 500, 500))
    jobs = access_choropleth_frame(change, "Jobcentre", squares)
    assert set(jobs["band"]) == {"no site left"}
    assert set(access_choropleth_frame(change, "clinic", squares)["band"]) == {"no site before"}
    assert set(frame["band"]) <= set(CHANGE_BANDS)


def test_choropleth_frame_of_a_category_not_measured():
    sites = toy_sites()
    change = access_change(
        sites, np.ones(len(sites), bool), centres=grid_centres(), categories=["library"]
    )
    with pytest.raises(
        InvalidArgumentError,
        match=r"category='clinic' is not a category this change measured; expected one of: "
        r"library",
    ):
        access_choropleth_frame(change, "clinic", gpd.GeoDataFrame(geometry=[]))
    with pytest.raises(InvalidArgumentError, match=r"change is a dict; expected the AccessChange"):
        access_choropleth_frame({}, "library")


# --------------------------------------------------------------------------- LSOA centres


def test_lsoa_centres_lie_in_their_lsoas():
    from assetmap.national import national_level

    centres = lsoa_centres()
    assert len(centres) == 34_753
    assert list(centres.columns) == ["code", "name", "geometry"]
    assert centres.crs.to_epsg() == 27700
    assert centres.attrs["notes"] == []
    lsoas = national_level("lsoa")
    assert centres["code"].tolist() == lsoas["code"].tolist()
    assert shapely.covers(lsoas.geometry.to_numpy(), centres.geometry.to_numpy()).all()
    # most are the centroid itself; the rest (crescents, estuaries) a point inside
    centroid = shapely.centroid(lsoas.geometry.to_numpy())
    same = shapely.equals(centroid, centres.geometry.to_numpy())
    assert 0.9 * len(centres) < same.sum() < len(centres)
    # a copy each time: changing one changes nothing else
    centres.loc[0, "code"] = "changed"
    assert lsoa_centres().loc[0, "code"] == lsoas.loc[0, "code"]


def test_lsoa_centres_with_population():
    table = pd.DataFrame(
        {"code": ["E01024801", "W01000001", "E99999999"], "population": [10, 20, 5]}
    )
    centres = lsoa_centres(population=table)
    assert list(centres.columns) == ["code", "name", "population", "geometry"]
    people = dict(zip(centres["code"], centres["population"], strict=True))
    assert people["E01024801"] == 10.0
    assert people["W01000001"] == 20.0
    assert centres["population"].sum() == 30.0  # the unknown code is in no LSOA
    [note] = centres.attrs["notes"]
    assert "no figure for 34,751 of 34,753 LSOAs" in note
    assert "they count as 0 residents" in note
    # the note reaches the access figures
    sites = toy_sites()
    change = access_change(
        sites, np.ones(len(sites), bool), centres=centres, categories=["library"]
    )
    assert change.counted == "people"
    assert note in change.notes


def test_lsoa_centres_with_a_table_that_is_not_a_population():
    with pytest.raises(InvalidArgumentError, match=r"population lacks the column\(s\) population"):
        lsoa_centres(population=pd.DataFrame({"code": ["E01024801"]}))
