"""Place names that match several places: listed, never picked by search order.

The national boundaries come from the shared cache (built once, never per test); the
stores are small temporary ones with a boundary set or a saved place named alike.
"""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely

from assetmap import place_names
from assetmap.cli import main
from assetmap.errors import InvalidArgumentError
from assetmap.place_names import Match, choose, name_key, split_kind
from assetmap.places import SAVED_LEVEL, resolve_place
from assetmap.store import open_store
from assetmap.user_places import add_boundary_set, save_place

TRAFFORD = "E08000009"


def _areas(codes: list[str], names: list[str]) -> gpd.GeoDataFrame:
    """Areas of a boundary set: squares of 1 km in Trafford, one after another."""
    return gpd.GeoDataFrame(
        {"code": codes, "name": names},
        geometry=[
            shapely.box(378_000 + 1000 * i, 394_000, 379_000 + 1000 * i, 395_000)
            for i in range(len(codes))
        ],
        crs="EPSG:27700",
    )


@pytest.fixture
def store(tmp_path):
    """A store keeping the set "GM boroughs" with an area named Trafford (its own code)."""
    kept = open_store(tmp_path / "estate.gpkg")
    add_boundary_set(kept, "GM boroughs", _areas(["TR1"], ["Trafford"]), agency="GMCA")
    return kept


def test_no_two_national_areas_share_a_name():
    """The real boundaries: every name and code stands for one area at one level."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for level, index in place_names.national_index().items():
        for key, pairs in index.items():
            seen.setdefault(key, set()).update((level, code) for code, _ in pairs)
    shared = {key: areas for key, areas in seen.items() if len(areas) > 1}
    assert shared == {}
    assert len(seen) > 2 * 34_753  # every LSOA's name and code at least
    # the bundled outline and the ICB are different names
    assert name_key("Kent and Medway") not in seen
    assert seen[name_key("NHS Kent and Medway Integrated Care Board")] == {("icb", "E54000032")}
    assert resolve_place("Kent and Medway").source == "bundled"


def test_a_name_of_several_kinds_of_place_lists_them_all(store):
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "place='trafford' is several places: the district Trafford (E08000009), the area "
            "Trafford (TR1) of the boundary set 'GM boroughs'; say which by its code, or name "
            "its kind first: 'district: Trafford', 'boundary set GM boroughs: Trafford'"
        ),
    ):
        resolve_place("trafford", store=store)


@pytest.mark.parametrize(
    ("text", "level", "source", "codes"),
    [
        ("district: Trafford", None, "national", (TRAFFORD,)),
        ("District :  TRAFFORD", None, "national", (TRAFFORD,)),
        ("Trafford", "district", "national", (TRAFFORD,)),
        ("boundary set GM boroughs: Trafford", None, "boundary set GM boroughs", ("TR1",)),
        ("gm boroughs: trafford", None, "boundary set GM boroughs", ("TR1",)),
        ("Trafford", "boundary set GM boroughs", "boundary set GM boroughs", ("TR1",)),
        ("E08000009", None, "national", (TRAFFORD,)),  # a code is that code
        ("tr1", None, "boundary set GM boroughs", ("TR1",)),
    ],
)
def test_the_kind_first_a_level_or_a_code_says_which(store, text, level, source, codes):
    found = resolve_place(text, store=store, level=level)
    assert (found.source, found.codes) == (source, codes)


def test_the_same_area_under_two_kinds_is_the_national_one(tmp_path):
    """An area coded E08000009 is the district Trafford, whatever outline a set gives it."""
    kept = open_store(tmp_path / "estate.gpkg")
    add_boundary_set(kept, "boroughs", _areas([TRAFFORD], ["Trafford"]), agency="GMCA")
    found = resolve_place("Trafford", store=kept)
    assert (found.source, found.codes) == ("national", (TRAFFORD,))
    assert found.geometry.area > 50e6  # the district's own outline, not the 1 km² square


def test_a_code_wins_over_a_name(tmp_path):
    kept = open_store(tmp_path / "estate.gpkg")
    areas = _areas(["X1", "TRAFFORD"], ["E08000009", "Old Trafford"])
    add_boundary_set(kept, "wards", areas, agency="GMCA")
    assert resolve_place("E08000009", store=kept).source == "national"
    assert resolve_place("trafford", store=kept).codes == ("TRAFFORD",)


def test_a_saved_place_named_as_an_area_is_listed_and_found_by_its_kind(store):
    save_place(store, "Trafford Park", "district", [TRAFFORD], agency="GMCA")
    add_boundary_set(store, "wards", _areas(["W1"], ["Trafford Park"]), agency="GMCA")
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "place='Trafford Park' is several places: the saved place Trafford Park "
            "(E08000009), the area Trafford Park (W1) of the boundary set 'wards'; say which "
            "by its code, or name its kind first: 'saved place: Trafford Park', "
            "'boundary set wards: Trafford Park'"
        ),
    ):
        resolve_place("Trafford Park", store=store)
    assert resolve_place("saved place: trafford park", store=store).source == "saved place"
    assert resolve_place("Trafford Park", store=store, level=SAVED_LEVEL).codes == (TRAFFORD,)
    assert resolve_place("wards: Trafford Park", store=store).codes == ("W1",)


def test_two_areas_of_one_set_with_one_name_ask_for_the_code(tmp_path):
    kept = open_store(tmp_path / "estate.gpkg")
    add_boundary_set(kept, "parishes", _areas(["P1", "P2"], ["Newton", "Newton"]), agency="A")
    message = (
        "place='Newton' is several places: the area Newton (P1) of the boundary set "
        "'parishes', the area Newton (P2) of the boundary set 'parishes'; say which by its code"
    )
    for level in (None, "parishes"):
        with pytest.raises(InvalidArgumentError, match=re.escape(message) + "$"):
            resolve_place("Newton", store=kept, level=level)
    assert resolve_place("p2", store=kept).codes == ("P2",)


def test_one_local_code_in_two_sets_is_two_places(tmp_path):
    """Codes other than ONS codes mean something only within their own set."""
    kept = open_store(tmp_path / "estate.gpkg")
    add_boundary_set(kept, "beats", _areas(["7"], ["Beat seven"]), agency="Police")
    add_boundary_set(kept, "wards", _areas(["7"], ["Ward seven"]), agency="Council")
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "place='7' is several places: the area Beat seven (7) of the boundary set 'beats', "
            "the area Ward seven (7) of the boundary set 'wards'; say which by its code, or "
            "name its kind first: 'boundary set beats: Beat seven', 'boundary set wards: Ward "
            "seven'"
        ),
    ):
        resolve_place("7", store=kept)
    assert resolve_place("beats: 7", store=kept).name == "Beat seven"


def test_a_welsh_health_board_and_a_sub_icb_location_are_named_so():
    board = Match("nhs_area", ("W11000029",), "Cardiff and Vale University Health Board", False)
    sub_icb = Match("nhs_area", ("E38000187",), "NHS Greater Manchester ICB - 02A", False)
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "place='x' is several places: the Welsh health board Cardiff and Vale University "
            "Health Board (W11000029), the sub-ICB location NHS Greater Manchester ICB - 02A "
            "(E38000187); say which by its code"
        ),
    ):
        choose("x", [board, sub_icb])
    assert choose("x", []) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Integrated care board: NHS Kent", ("icb", "NHS Kent")),
        ("LSOA: Trafford 001A", ("lsoa", "Trafford 001A")),
        ("county: Kent and Medway", ("county", "Kent and Medway")),
        ("Nowhere: Trafford", (None, "Nowhere: Trafford")),  # not a kind: all of it is a name
        ("district:", (None, "district:")),
    ],
)
def test_split_kind(text, expected):
    assert split_kind(text, None) == expected


def test_a_kind_that_is_not_one_is_part_of_the_name():
    with pytest.raises(
        InvalidArgumentError, match=r"place='Nowhere: Trafford' is not a place; did you mean"
    ):
        resolve_place("Nowhere: Trafford")


def test_the_command_line_shows_the_places_a_name_matches(store, capsys):
    assert main(["summary", "--place", "Trafford", "--store", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert "--place 'Trafford' is several places: the district Trafford (E08000009)" in err
    assert "'boundary set GM boroughs: Trafford'" in err
    assert "Traceback" not in err
    capsys.readouterr()
    assert main(["summary", "--place", "district: Trafford", "--store", str(store.path)]) == 0


def test_the_apps_picker_resolves_a_saved_place_at_its_level(store):
    """The picker gives the level chosen, so a saved place named as an area is found."""
    from assetmap.app import state

    save_place(store, "Stretford", "district", [TRAFFORD], agency="GMCA")
    add_boundary_set(store, "wards", _areas(["S1"], ["Stretford"]), agency="GMCA")
    with pytest.raises(InvalidArgumentError, match=r"place='Stretford' is several places"):
        resolve_place("Stretford", store=store)
    pick = state._place.__wrapped__  # the picker's lookup, without Streamlit's cache
    signature = (str(store.path), 0, 0)
    assert pick(signature, "saved place", "Stretford").codes == (TRAFFORD,)
    assert pick(signature, "boundary set wards", "S1").codes == ("S1",)
    assert pick(signature, "county", "").source == "bundled"
