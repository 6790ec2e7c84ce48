"""Places: whatever a user names, resolved and counted in, with no boundary file.

The national boundaries are built once into the shared cache folder (the first test to
need them builds them; every later one reads them), never per test.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from assetmap import national
from assetmap.access import Viewer
from assetmap.colocation import colocation_clusters
from assetmap.density import density_by_locality
from assetmap.errors import InvalidArgumentError, PermissionDeniedError, StoreError
from assetmap.matching.candidates import find_candidates
from assetmap.places import (
    BUNDLED_NAME,
    SAVED_LEVEL,
    Place,
    canonical_level,
    home_place,
    level_label,
    level_localities,
    place_choices,
    place_localities,
    resolve_place,
)
from assetmap.registers.importer import import_register
from assetmap.schema import in_place
from assetmap.store import open_store
from assetmap.user_places import (
    add_boundary_set,
    remove_boundary_set,
    remove_saved_place,
    save_place,
)

TRAFFORD = "E08000009"
MANCHESTER = "E08000003"
#: Greater Manchester's ten districts: Bolton ... Wigan.
GREATER_MANCHESTER = [f"E080000{n:02d}" for n in range(1, 11)]
GM_ICB = "NHS Greater Manchester Integrated Care Board"


def _centre(code: str, *, clear: float = 0.0) -> tuple[float, float]:
    """The centre of the largest circle inside a district (at least ``clear`` m from its edge)."""
    districts = national.national_level("district")
    outline = districts.loc[districts["code"] == code].geometry.iloc[0]
    circle = shapely.maximum_inscribed_circle(outline)
    x, y = shapely.get_coordinates(circle)[0]
    assert circle.length >= clear
    return float(x), float(y)


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> dict:
    """A store with sites and requests in Trafford, in Manchester and in Kent, and its places.

    Two agencies' sites 100 m apart in each of Trafford and Manchester (one offering
    surplus office space), a request for office space 1 km from each, and a site in
    Maidstone; the place "Greater Manchester" saved, and a boundary set of two 3 km
    squares, one round each pair of sites.
    """
    store_path = tmp_path_factory.mktemp("places") / "estate.gpkg"
    tx, ty = _centre(TRAFFORD, clear=2_500)
    mx, my = _centre(MANCHESTER, clear=2_500)
    rows = [
        ("Trafford Police Office", "GMP", "police", tx, ty, 20000, 6000),
        ("Trafford Clinic", "NHS Trafford", "health", tx + 100, ty, 8000, 0),
        ("Manchester Police Office", "GMP", "police", mx, my, 30000, 5000),
        ("Manchester Library", "Manchester City Council", "council", mx, my + 150, 9000, 0),
        ("Maidstone Police Office", "Kent Police", "police", 575800, 155900, 40000, 0),
    ]
    sites = "Site name,Agency,Sector,Easting,Northing,GIA (sq ft),Surplus (sq ft),Use\n" + "".join(
        f"{n},{a},{s},{x:.0f},{y:.0f},{gia},{surplus},Office\n"
        for n, a, s, x, y, gia, surplus in rows
    )
    import_register(sites.encode(), name="sites.csv", store=store_path)
    requests = (
        "Request ref,Requesting agency,Sector,Space needed (sq ft),Use,Easting,Northing\n"
        f"R1,Trafford Council,council,4000,Office,{tx + 1000:.0f},{ty:.0f}\n"
        f"R2,NHS Manchester,health,3000,Office,{mx:.0f},{my + 1000:.0f}\n"
    )
    import_register(requests.encode(), name="requests.csv", store=store_path, kind="requests")
    store = open_store(store_path)
    save_place(store, "Greater Manchester", "district", GREATER_MANCHESTER)
    squares = gpd.GeoDataFrame(
        {"code": ["SQ1", "SQ2"], "name": ["Trafford Square", "Manchester Square"]},
        geometry=[
            shapely.box(tx - 1500, ty - 1500, tx + 1500, ty + 1500),
            shapely.box(mx - 1500, my - 1500, mx + 1500, my + 1500),
        ],
        crs="EPSG:27700",
    )
    add_boundary_set(store, "test squares", squares, agency="Trafford Council")
    return {"store": store, "sites": store.sites(), "requests": store.requests()}


# --------------------------------------------------------------------------- resolving


@pytest.mark.parametrize(
    ("text", "level", "code", "sublevel"),
    [
        ("Trafford", "district", TRAFFORD, "lsoa"),
        ("  e08000009 ", "district", TRAFFORD, "lsoa"),
        ("M32 0TH", "district", TRAFFORD, "lsoa"),  # a postcode picks its district
        ("m320th", "district", TRAFFORD, "lsoa"),
        (GM_ICB.lower(), "icb", "E54000057", "district"),
        ("Wales", "country", "W92000004", "district"),
        ("Trafford 001A", "lsoa", "E01006109", None),
        ("Maidstone", "district", "E07000110", "lsoa"),
    ],
)
def test_a_place_is_found_by_name_code_or_postcode(text, level, code, sublevel):
    place = resolve_place(text)
    assert (place.level, place.codes, place.sublevel, place.source) == (
        level,
        (code,),
        sublevel,
        "national",
    )
    assert place.geometry.area > 0 and place.code == code


def test_kent_and_medway_is_the_bundled_county_with_its_districts():
    place = resolve_place("kent AND medway")
    assert (place.name, place.level, place.source, place.sublevel) == (
        BUNDLED_NAME,
        "county",
        "bundled",
        "district",
    )
    assert len(place_localities(place)) == 13
    assert len(place_localities(place, "lsoa")) == 1065
    assert place.context.contains(place.geometry.representative_point())  # England


def test_the_context_is_the_icb_of_a_district_and_the_district_of_an_lsoa():
    trafford = resolve_place("Trafford")
    icb = resolve_place(GM_ICB)
    assert trafford.context.equals_exact(icb.geometry, 1e-6)
    assert icb.context.area > 100 * icb.geometry.area  # England
    lsoa = resolve_place("Trafford 001A")
    assert lsoa.context.equals_exact(trafford.geometry, 1e-6)
    assert resolve_place("England").context is None
    assert resolve_place("Cardiff").context.equals_exact(resolve_place("Wales").geometry, 1e-6)


def test_an_unknown_place_says_did_you_mean():
    with pytest.raises(
        InvalidArgumentError, match=r"place='Traford' is not a place; did you mean: Trafford"
    ):
        resolve_place("Traford")
    with pytest.raises(InvalidArgumentError, match=r"place='  ' is not valid; expected the name"):
        resolve_place("  ")
    with pytest.raises(InvalidArgumentError, match=r"at the level 'icb'; did you mean"):
        resolve_place("Trafford", level="icb")
    with pytest.raises(InvalidArgumentError, match=r"level='ward' is not a level; expected one"):
        resolve_place("Trafford", level="ward")


def test_an_unknown_saved_name_suggests_the_saved_place(estate):
    with pytest.raises(InvalidArgumentError, match=r"did you mean: Greater Manchester\b"):
        resolve_place("Greater Manchster", store=estate["store"])


def test_a_postcode_outside_the_directory_or_england_and_wales_is_refused():
    with pytest.raises(
        InvalidArgumentError, match=r"'ZZ1 1ZZ' is a postcode that is not in the ONS"
    ):
        resolve_place("ZZ1 1ZZ")
    with pytest.raises(InvalidArgumentError, match=r"is a postcode in Scotland \(S12"):
        resolve_place("EH1 1YZ")


def test_levels_and_their_labels():
    assert len(level_localities("country")) == 2
    assert list(level_localities("district").columns) == ["code", "name", "geometry"]
    assert level_label("nhs_area") == "Sub-ICB location or Welsh health board"
    assert level_label("boundary set wards") == "Boundary set wards"
    assert canonical_level("lsoa") == "lsoa"
    with pytest.raises(
        InvalidArgumentError, match=r"level='wards' is not a level; expected one of: country, icb"
    ):
        level_localities("wards")


def test_place_choices_offer_every_level_and_what_the_store_keeps(estate):
    choices = place_choices(store=estate["store"])
    assert list(choices)[:6] == ["country", "icb", "nhs_area", "district", "lsoa", "county"]
    assert ("E08000009", "Trafford") in choices["district"]
    assert len(choices["lsoa"]) == 34_753
    assert choices[SAVED_LEVEL] == [("Greater Manchester", "Greater Manchester")]
    assert choices["boundary set test squares"] == [
        ("SQ2", "Manchester Square"),
        ("SQ1", "Trafford Square"),
    ]
    picked = resolve_place("SQ1", store=estate["store"], level="boundary set test squares")
    assert picked.name == "Trafford Square"


# --------------------------------------------------------------------------- localities


def test_a_district_holds_its_lsoas_and_an_icb_its_districts():
    trafford = resolve_place("Trafford")
    lsoas = place_localities(trafford)
    lookup = national.lsoa_lookup()
    assert set(lsoas["code"]) == set(lookup.loc[lookup["district_code"] == TRAFFORD, "lsoa_code"])
    assert shapely.union_all(lsoas.geometry.to_numpy()).area == pytest.approx(
        trafford.geometry.area
    )
    icb = resolve_place(GM_ICB)
    assert place_localities(icb)["code"].tolist() == GREATER_MANCHESTER
    # a coarser level gives the locality that holds the place
    assert place_localities(trafford, "icb")["name"].tolist() == [GM_ICB]


def test_greater_manchester_saved_as_a_union_of_ten_districts(estate):
    store = estate["store"]
    place = resolve_place("greater  manchester", store=store)
    assert (place.name, place.level, place.source, place.sublevel) == (
        "Greater Manchester",
        "district",
        "saved place",
        "district",
    )
    assert list(place.codes) == GREATER_MANCHESTER
    districts = place_localities(place, store=store)
    assert districts["code"].tolist() == GREATER_MANCHESTER
    lookup = national.lsoa_lookup()
    lsoas = place_localities(place, "lsoa", store=store)
    assert set(lsoas["code"]) == set(
        lookup.loc[lookup["district_code"].isin(GREATER_MANCHESTER), "lsoa_code"]
    )
    assert len(lsoas) > 1_000
    icb = resolve_place(GM_ICB)
    assert place.geometry.area == pytest.approx(icb.geometry.area, rel=1e-6)
    assert place.context.area > 100 * place.geometry.area  # England


def test_a_boundary_set_area_is_a_place_and_its_set_a_level(estate):
    store = estate["store"]
    square = resolve_place("trafford square", store=store)
    assert (square.level, square.codes, square.sublevel, square.source) == (
        "boundary set test squares",
        ("SQ1",),
        None,
        "boundary set test squares",
    )
    assert square.geometry.area == pytest.approx(9e6)
    assert place_localities(square, store=store)["code"].tolist() == ["SQ1"]
    assert level_localities("Test Squares", store=store)["code"].tolist() == ["SQ1", "SQ2"]
    trafford = resolve_place("Trafford", store=store)
    assert place_localities(trafford, "test squares", store=store)["code"].tolist() == ["SQ1"]
    assert square.context.contains(square.geometry.centroid)  # England


# --------------------------------------------------------------------------- the engine


@pytest.mark.parametrize(
    ("name", "sites_in", "clusters", "requests_matched"),
    [
        ("Trafford", 2, 1, {"R1"}),
        (GM_ICB, 4, 2, {"R1", "R2"}),
        ("Greater Manchester", 4, 2, {"R1", "R2"}),
        ("Trafford Square", 2, 1, {"R1"}),
    ],
)
def test_density_colocation_and_matching_work_in_any_place(
    estate, name, sites_in, clusters, requests_matched
):
    store, sites, requests = estate["store"], estate["sites"], estate["requests"]
    place = resolve_place(name, store=store)
    # density: the localities below the place (its own area for a boundary set's)
    localities = place_localities(place, store=store)
    density = density_by_locality(sites, localities)
    assert int(density.metrics["sites"].sum()) == sites_in
    assert density.n_outside == len(sites) - sites_in
    # co-location and matching: the sites and requests inside the place's outline
    here = sites[in_place(sites, place.geometry)]
    assert len(here) == sites_in
    result = colocation_clusters(here)
    assert len(result.clusters) == clusters
    wanted = requests[in_place(requests, place.geometry)]
    match = find_candidates(wanted, here)
    matched = set(match.candidates["request_ref"])
    assert matched == requests_matched


# --------------------------------------------------------------------------- home place


def _points(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    x, y = [p[0] for p in xy], [p[1] for p in xy]
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")


def test_home_place_is_where_most_sites_are(estate):
    tx, ty = _centre(TRAFFORD)
    assert home_place(_points([(575800, 155900), (tx, ty), (576000, 156000)])).name == BUNDLED_NAME
    assert home_place(_points([])).name == BUNDLED_NAME
    assert home_place(_points([(tx, ty), (tx + 50, ty), (575800, 155900)])).name == "Trafford"
    spread = [_centre(code) for code in GREATER_MANCHESTER[:5]]
    assert home_place(_points(spread)).name == GM_ICB
    # a saved place as large as the ICB, holding the sites, is preferred to it
    assert home_place(_points(spread), store=estate["store"]).name == "Greater Manchester"
    far = [_centre(code) for code in ("E08000009", "E07000110", "E06000001", "E09000001")]
    assert home_place(_points(far)).name == "England"


# --------------------------------------------------------------------------- what users keep


def test_a_signed_in_user_removes_only_their_own_agencys_sets_and_places(tmp_path):
    store = open_store(tmp_path / "estate.gpkg")
    square = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["Area"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700
    )
    kent = Viewer(user="k@kent.police.uk", agency="Kent Police", signed_in=True)
    nhs = Viewer(user="n@nhs.net", agency="NHS Kent", signed_in=True)
    add_boundary_set(store, "beats", square, viewer=kent, agency="Kent Police")
    save_place(store, "North Kent", "district", ["Dartford", "Gravesham"], viewer=kent)
    assert store.boundary_sets()["owner"].tolist() == ["Kent Police"]
    assert store.places()["owner"].tolist() == ["Kent Police"]
    with pytest.raises(
        PermissionDeniedError,
        match=r"the boundary set 'beats' was added by Kent Police; only that agency may remove it",
    ):
        remove_boundary_set(store, "Beats", viewer=nhs)
    with pytest.raises(
        PermissionDeniedError, match=r"the place 'North Kent' was added by Kent Police"
    ):
        remove_saved_place(store, "north kent", viewer=nhs)
    with pytest.raises(
        StoreError,
        match=r"the boundary set 'beats' was added by Kent Police; only its owner may replace it",
    ):
        add_boundary_set(store, "beats", square, viewer=nhs)
    with pytest.raises(PermissionDeniedError, match=r"you are signed in for NHS Kent"):
        add_boundary_set(store, "nhs beats", square, viewer=nhs, agency="Kent Police")
    assert remove_boundary_set(store, "beats", viewer=kent) == 1
    assert remove_saved_place(store, "North Kent", viewer=None) == 1  # the local user: any
    assert store.boundary_sets().empty and store.places().empty


def test_what_cannot_be_kept_is_refused(tmp_path):
    store = open_store(tmp_path / "estate.gpkg")
    square = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["Area"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700
    )
    with pytest.raises(
        InvalidArgumentError, match=r"the boundary set name 'District' is a built-in level"
    ):
        add_boundary_set(store, "District", square)
    with pytest.raises(
        InvalidArgumentError, match=r"the place name 'Trafford' is already the name of a district"
    ):
        save_place(store, "Trafford", "district", [TRAFFORD])
    with pytest.raises(
        InvalidArgumentError,
        match=r"2 of its localities are not district codes or names \('Nowhere', 'E99'\)",
    ):
        save_place(store, "North", "district", ["Nowhere", "E99", "Bolton"])
    with pytest.raises(InvalidArgumentError, match=r"1 of its localities is not district codes"):
        save_place(store, "North", "district", ["Bolton", "Nowhere"])
    with pytest.raises(
        InvalidArgumentError, match=r"level='county' is one outline, Kent and Medway"
    ):
        save_place(store, "Kent", "county", ["KENT_MEDWAY"])
    with pytest.raises(InvalidArgumentError, match=r"level='parish' is not a level"):
        save_place(store, "North", "parish", ["X"])
    assert not store.exists()  # nothing was written


def test_a_place_saved_on_a_boundary_set_needs_the_set(tmp_path):
    store = open_store(tmp_path / "estate.gpkg")
    squares = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["West", "East"]},
        geometry=[
            shapely.box(380000, 390000, 381000, 391000),
            shapely.box(381000, 390000, 382000, 391000),
        ],
        crs=27700,
    )
    add_boundary_set(store, "squares", squares)
    place = save_place(store, "Both", "squares", ["West", "B"])
    assert (place.level, place.codes, place.sublevel) == (
        "boundary set squares",
        ("A", "B"),
        "boundary set squares",
    )
    assert place.geometry.area == pytest.approx(2e6)
    assert place_localities(place, store=store)["code"].tolist() == ["A", "B"]
    remove_boundary_set(store, "squares")
    with pytest.raises(
        InvalidArgumentError,
        match=r"place='Both' is a saved place of the level 'boundary set squares', which is no "
        r"longer in the store",
    ):
        resolve_place("Both", store=store)


def test_a_place_is_frozen_and_its_code_joins_its_codes(estate):
    place = resolve_place("Greater Manchester", store=estate["store"])
    assert isinstance(place, Place) and place.code == ";".join(GREATER_MANCHESTER)
    with pytest.raises(AttributeError):
        place.name = "x"  # type: ignore[misc]
    assert resolve_place(place) is place


def test_the_saved_places_and_sets_are_kept_for_a_later_session(estate):
    again = open_store(Path(estate["store"].path))
    assert again.places()["name"].tolist() == ["Greater Manchester"]
    assert set(again.boundary_sets()["code"]) == {"SQ1", "SQ2"}
    frame = pd.DataFrame(again.boundary_sets().drop(columns="geometry"))
    assert frame["owner"].unique().tolist() == ["Trafford Council"]


def test_the_areas_of_a_boundary_file_inside_a_place(tmp_path, estate):
    from assetmap.io.boundaries import read_boundary_file

    tx, ty = _centre(TRAFFORD, clear=2_500)
    path = tmp_path / "wards.geojson"
    gpd.GeoDataFrame(
        {"WD23CD": ["E05000001", "E05000002"], "WD23NM": ["Inside", "Kent"]},
        geometry=[
            shapely.box(tx - 500, ty - 500, tx + 500, ty + 500),
            shapely.box(575000, 155000, 576000, 156000),
        ],
        crs="EPSG:27700",
    ).to_file(path, driver="GeoJSON")
    wards, _ = read_boundary_file(path)
    inside = place_localities(resolve_place("Trafford"), wards)
    assert inside["name"].tolist() == ["Inside"]
    density = density_by_locality(estate["sites"], inside)
    assert int(density.metrics["sites"].sum()) == 2


def test_one_agency_cannot_take_over_the_name_of_anothers_set_or_area(tmp_path):
    """A kept name must not stand for another agency's boundaries (the attacker's review).

    Names are found without regard to case or spacing, and saved places before the areas
    of sets: a look-alike set name, a name beginning "boundary set ", or a saved place
    named as another agency's area would steer what that agency computes on.
    """
    store = open_store(tmp_path / "estate.gpkg")
    square = gpd.GeoDataFrame(
        {"code": ["B01"], "name": ["Old Beat"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700
    )
    add_boundary_set(store, "Beats", square, agency="Kent Police")
    with pytest.raises(
        InvalidArgumentError,
        match=r"the boundary set name 'beats ' is too like 'Beats', kept by Kent Police",
    ):
        add_boundary_set(store, "beats ", square, agency="Trafford Council")
    with pytest.raises(
        InvalidArgumentError, match=r"the boundary set name 'Boundary Set Beats' begins with"
    ):
        add_boundary_set(store, "Boundary Set Beats", square, agency="Trafford Council")
    with pytest.raises(
        InvalidArgumentError,
        match=r"the place name 'old beat' is an area of the boundary set 'Beats', kept by Kent",
    ):
        save_place(store, "old beat", "district", [TRAFFORD], agency="Trafford Council")
    # nothing was kept, and Kent's own names still find Kent's own boundaries
    assert store.boundary_sets()["set_name"].tolist() == ["Beats"]
    assert store.places().empty
    assert resolve_place("Old Beat", store=store).codes == ("B01",)
    # the owner may still name its own things alike
    add_boundary_set(store, "BEATS 2", square, agency="Kent Police")
    save_place(store, "Old Beat", "district", [TRAFFORD], agency="Kent Police")
