"""The shared argument checks and the collector that raises every problem at once."""

from __future__ import annotations

import doctest
import math
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from assetmap import _validate
from assetmap._validate import (
    Problems,
    check_frame,
    check_positive,
    check_sites,
    one_of,
    raise_if_any,
    validate_choice,
)
from assetmap.access import check_viewer
from assetmap.errors import InvalidArgumentError
from assetmap.schema import point_coordinates


def test_several_problems_raise_one_error_listing_them_all():
    problems = Problems()
    problems.add(check_positive("distance", -5))
    problems.add(None)  # a check that passed
    problems.add(one_of("per", "acre", ("total", "km2", "residents")))
    problems.check(False, "title=3 is not valid; expected None or a text")
    problems.check(True, "never shown")
    assert len(problems) == 3
    expected = (
        "distance=-5 is not valid; expected a positive number of metres; "
        "per='acre' is not valid; expected one of: total, km2, residents; "
        "title=3 is not valid; expected None or a text"
    )
    with pytest.raises(InvalidArgumentError, match="^" + re.escape(expected) + "$") as e:
        problems.raise_if_any()
    assert str(e.value) == expected


def test_the_context_manager_raises_on_leaving_the_block_not_before():
    reached = []
    with pytest.raises(InvalidArgumentError, match=r"^k=0 is not valid; expected a positive"):
        with Problems() as problems:
            problems.add(check_positive("k", 0))
            reached.append("after the first problem")  # checking goes on after a problem
            problems.add(check_positive("dpi", 150))
    assert reached == ["after the first problem"]


def test_the_context_manager_does_not_mask_an_error_already_raised():
    with pytest.raises(KeyError, match="boom"):
        with Problems() as problems:
            problems.add("distance=-1 is not valid; expected a positive number of metres")
            raise KeyError("boom")


def test_no_problems_raise_nothing():
    with Problems() as problems:
        problems.add(check_positive("distance", 400.0))
        problems.add(check_viewer(None))
        problems.check(True, "never shown")
    assert problems == []
    raise_if_any([])
    raise_if_any(problems)


def test_raise_if_any_accepts_a_plain_list():
    with pytest.raises(InvalidArgumentError, match=r"^a is wrong; b is wrong$"):
        raise_if_any(["a is wrong", "b is wrong"])


def test_one_of_names_the_argument_the_value_and_every_choice_in_order():
    assert one_of("dpi", 72, (150, 300)) == "dpi=72 is not valid; expected one of: 150, 300"
    assert (
        one_of("paper", "A9", ["A4", "A3"], what="a paper size")
        == "paper='A9' is not a paper size; expected one of: A4, A3"
    )


def test_validate_choice_returns_a_good_value_and_raises_on_a_bad_one():
    assert validate_choice("level", "district", ("lsoa", "district")) == "district"
    with pytest.raises(
        InvalidArgumentError, match=r"^level='ward' is not valid; expected one of: lsoa, district$"
    ):
        validate_choice("level", "ward", ("lsoa", "district"))


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, True, "400", None])
def test_check_positive_rejects_what_is_not_a_positive_finite_number(value):
    assert check_positive("distance", value) == (
        f"distance={value!r} is not valid; expected a positive number of metres"
    )


def test_check_positive_names_the_unit_asked_for():
    assert check_positive("time_limit", -1, "a positive number of seconds") == (
        "time_limit=-1 is not valid; expected a positive number of seconds"
    )
    assert check_positive("time_limit", np.float64(2.5), "a positive number of seconds") is None


@pytest.mark.parametrize("viewer", ["", "   ", 3])
def test_check_viewer_rejects_a_blank_or_a_non_text_viewer(viewer):
    assert check_viewer(viewer) == (
        f"viewer_agency={viewer!r} is not valid; expected None or an agency's name"
    )


def test_check_frame_lists_every_problem_and_reprojects():
    frame = gpd.GeoDataFrame({"agency": ["A"]}, geometry=[shapely.Point(1, 51)], crs="EPSG:4326")
    problems, out = check_frame("sites", frame, ("agency", "sector", "use_class"))
    assert problems == [
        "sites lacks the column(s) sector, use_class; expected the canonical columns "
        "(see assetmap.schema)"
    ]
    assert out.crs.to_epsg() == 27700
    no_crs = gpd.GeoDataFrame({"agency": ["A"]}, geometry=[shapely.Point(1, 2)])
    problems, _ = check_frame("offers", no_crs, ("agency",))
    assert problems == ["offers has no CRS; expected EPSG:27700 (British National Grid)"]
    problems, same = check_frame("offers", [1, 2], ("agency",))
    assert problems == ["offers is a list; expected a GeoDataFrame with the canonical columns"]
    assert same == [1, 2]


def test_check_sites_collects_its_problems_into_the_callers_list():
    problems = Problems()
    check_sites(gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)]), ["sector"], problems)
    check_sites({"sector": []}, ["sector"], problems)
    assert problems == [
        "sites lacks the column(s) sector; expected the canonical site columns of "
        "assetmap.schema.SITE_COLUMNS",
        "sites has no CRS (sites.crs is None); expected EPSG:27700 (British National Grid) "
        "or another CRS that can be reprojected to it",
        "sites is a dict; expected a geopandas GeoDataFrame",
    ]


def test_point_coordinates_takes_a_polygons_centroid_and_marks_rows_without_a_location():
    geoms = [
        shapely.Point(10, 20),
        shapely.box(0, 0, 4, 2),
        None,
        shapely.Point(),
        shapely.Point(math.nan, 5),
    ]
    xy, located = point_coordinates(geoms)
    assert located.tolist() == [True, True, False, False, False]
    assert xy[:2].tolist() == [[10.0, 20.0], [2.0, 1.0]]
    assert np.isnan(xy[2:3]).all()


def test_the_shared_checks_have_one_home():
    """The modules that use a shared check import it, rather than keep a copy."""
    from assetmap import colocation, schema
    from assetmap.density import locality
    from assetmap.io import outputs
    from assetmap.maps import pack, static
    from assetmap.maps.static import render
    from assetmap.matching import allocation, candidates

    assert candidates.check_frame is render.check_frame is colocation.check_frame is check_frame
    assert candidates.check_viewer is colocation.check_viewer is check_viewer
    assert locality.check_sites is check_sites
    assert schema.validate_choice is validate_choice
    assert candidates.point_coordinates is pack.point_coordinates is point_coordinates
    assert static.in_place is pack.in_place is schema.in_place
    assert colocation.write_csv is allocation.write_csv is pack.write_csv is outputs.write_csv


def test_the_examples_in_the_docstrings_run():
    result = doctest.testmod(_validate)
    assert result.attempted >= 5
    assert result.failed == 0


def test_co_location_compares_agencies_by_the_access_rules_agency_key():
    """One agency key: co-location's agencies are the disclosure rule's agencies."""
    import pandas as pd

    from assetmap.access import agency_key
    from assetmap.colocation import agency_codes

    names = ["Straße Council", "STRASSE  council", " straße council", "Kent Police"]
    frame = pd.DataFrame({"sector": ["council", "Council", "council", "police"], "agency": names})
    codes, labels = agency_codes(frame)
    assert codes.tolist() == [0, 0, 0, 1]
    assert labels.tolist() == ["Straße Council", "Kent Police"]
    assert len({agency_key(n) for n in names}) == 2
