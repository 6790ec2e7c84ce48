"""Locating rows: every location style, and every way a location can be wrong."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from assetmap.errors import InvalidArgumentError
from assetmap.registers.importer import prepare_register
from assetmap.schema import normalise_postcodes

# Tunbridge Wells town hall area: TN1 1AA is 558300, 139100 in the ONS Postcode Directory.
TN1_E, TN1_N = 558300.0, 139100.0


def prep(text: str, **kwargs):
    kwargs.setdefault("agency", "Test Council")
    kwargs.setdefault("sector", "council")
    return prepare_register(text.encode("utf-8"), name="test.csv", **kwargs)


def only_reason(prepared) -> str:
    codes = set(prepared.quarantine["reason_code"])
    assert len(codes) == 1, prepared.quarantine
    return codes.pop()


def test_postcode_only_is_geocoded_offline():
    p = prep("Name,Postcode\nTown Hall,tn1 1aa\n")
    site = p.rows.iloc[0]
    assert (site.geometry.x, site.geometry.y) == (TN1_E, TN1_N)
    assert site["postcode"] == "TN1 1AA"
    assert site["location_source"] == "postcode"


# The Royal Observatory, Greenwich: 51.4778 N, 0.0015 W is about TQ 38874 77344 (the published
# grid reference; pyproj without the OSTN15 grid file is good to a few tens of metres).
GREENWICH = (538_874, 177_344)


def test_latitude_longitude_are_projected_to_bng():
    p = prep("Name,Latitude,Longitude\nObservatory,51.4778,-0.0015\n")
    pt = p.rows.geometry.iloc[0]
    assert p.rows.crs.to_epsg() == 27700
    assert pt.x == pytest.approx(GREENWICH[0], abs=30)
    assert pt.y == pytest.approx(GREENWICH[1], abs=30)
    assert p.rows["location_source"].iloc[0] == "lat/lon"


def test_easting_northing_and_coordinates_win_over_postcode():
    # 1.3 km from the centre of TN1 1AA: within the tolerance, the coordinates are kept
    p = prep("Name,Easting,Northing,Postcode\nDepot,559300,139900,TN1 1AA\n")
    pt = p.rows.geometry.iloc[0]
    assert (pt.x, pt.y) == (559300, 139900)
    assert p.rows["location_source"].iloc[0] == "easting/northing"


def test_coordinates_far_from_their_own_postcode_are_quarantined_with_the_distance():
    # Maidstone's coordinates with a Tunbridge Wells postcode (23.1 km apart): one is wrong
    text = (
        "Name,Easting,Northing,Postcode\n"
        "Depot,575000,155000,TN1 1AA\n"  # 23.1 km off
        "Store,558300,141000,TN1 1AA\n"  # 1.9 km off: kept
        "Yard,575000,155000,\n"  # no postcode to compare
        "Hut,575000,155000,ZZ9 9ZZ\n"  # a postcode not in the directory: nothing to compare
    )
    p = prep(text)
    assert p.rows["name"].tolist() == ["Store", "Yard", "Hut"]
    assert only_reason(p) == "postcode_far"
    q = p.quarantine.iloc[0]
    assert (q["row"], q["column"]) == (2, "Postcode")
    assert q["value"] == "TN1 1AA (23.1 km from the coordinates)"
    assert q["reason"].startswith(
        "the coordinates lie more than 2 km from the centre of the row's own postcode, "
        "so one of the two is wrong"
    )
    assert p.report.reasons == {"postcode_far": 1}
    # a larger tolerance, or none, keeps the coordinates
    assert len(prep(text, postcode_tolerance_m=30_000).rows) == 4
    assert len(prep(text, postcode_tolerance_m=None).rows) == 4
    assert len(prep(text, postcode_tolerance_m=1_000).rows) == 2  # the Store too


def test_a_footprint_is_as_far_from_its_postcode_as_its_nearest_edge():
    # a 6 km wide airfield whose edge reaches within 500 m of its postcode's centre
    far_edge = f"POLYGON (({TN1_E + 500} {TN1_N}, {TN1_E + 6500} {TN1_N}, {TN1_E + 6500} "
    far_edge += f"{TN1_N + 100}, {TN1_E + 500} {TN1_N + 100}, {TN1_E + 500} {TN1_N}))"
    p = prep(f"Name\tWKT\tPostcode\nAirfield\t{far_edge}\tTN1 1AA\n")
    assert len(p.rows) == 1 and p.quarantine.empty


@pytest.mark.parametrize("bad", [0, -5, "2 km", True, float("nan")])
def test_a_postcode_tolerance_must_be_a_distance(bad):
    with pytest.raises(
        InvalidArgumentError, match=r"postcode_tolerance_m=.* is not valid; expected"
    ):
        prep("Name,Postcode\nA,TN1 1AA\n", postcode_tolerance_m=bad)


def test_wkt_in_bng_and_in_lonlat():
    bng = prep("Name\tWKT\nA\tPOINT (575000 155000)\n")
    assert (bng.rows.geometry.x.iloc[0], bng.rows.geometry.y.iloc[0]) == (575000, 155000)
    lonlat = prep("Name\tWKT\nObservatory\tPOINT (-0.0015 51.4778)\n")
    assert lonlat.rows.geometry.x.iloc[0] == pytest.approx(GREENWICH[0], abs=30)
    assert any("EPSG:4326" in n for n in lonlat.report.notes)


def test_wkt_polygon_keeps_footprint_and_representative_point():
    square = "POLYGON ((575000 155000, 575050 155000, 575050 155050, 575000 155050, 575000 155000))"
    p = prep(f"Name\tWKT\nHall\t{square}\n")
    assert len(p.footprints) == 1
    fp = p.footprints.geometry.iloc[0]
    assert fp.area == pytest.approx(2500)
    assert fp.contains(p.rows.geometry.iloc[0])
    assert p.rows["location_source"].iloc[0] == "wkt"


def test_geox_geoy_with_crs_column_and_by_value():
    text = (
        "PropertyName,CoordinateReferenceSystem,GeoX,GeoY\n"
        "A,WGS84,-0.0015,51.4778\n"
        "B,OSGB36,575000,155000\n"
        "C,,575001,155001\n"
    )
    p = prep(text)
    xs = p.rows.geometry.x.tolist()
    assert xs[0] == pytest.approx(GREENWICH[0], abs=30)
    assert xs[1:] == [575000, 575001]


def test_spatial_file_points_and_polygons(tmp_path):
    square = Polygon([(575000, 155000), (575040, 155000), (575040, 155040), (575000, 155040)])
    gdf = gpd.GeoDataFrame(
        {"PropertyName": ["Point site", "Polygon site"]},
        geometry=[Point(560000, 150000), square],
        crs=27700,
    )
    path = tmp_path / "mixed.gpkg"
    gdf.to_file(path, layer="assets")
    p = prepare_register(path, agency="KCC", sector="council")
    assert p.rows["location_source"].tolist() == ["geometry", "footprint"]
    assert len(p.footprints) == 1
    assert square.contains(p.rows.geometry.iloc[1])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Name,Postcode\nA,\n", "missing_location"),
        ("Name,Postcode\nA,ME99 9ZZ\n", "postcode_not_found"),
        ("Name,Postcode\nA,NOT A CODE\n", "postcode_malformed"),
        ("Name,Postcode\nA,ZZ9\n", "postcode_partial"),
        ("Name,Postcode\nA,BT1 1AA\n", "outside_gb"),
        ("Name,Latitude,Longitude\nA,0.27,51.13\n", "latlon_swapped"),
        ("Name,Latitude,Longitude\nA,48.85,2.35\n", "outside_gb"),
        ("Name,Latitude,Longitude\nA,54.6,-5.93\n", "outside_gb"),
        ("Name,Latitude,Longitude\nA,95,400\n", "outside_gb"),
        ("Name,Easting,Northing\nA,0,0\n", "outside_gb"),
        ("Name,Easting,Northing\nA,see website,n/a\n", "bad_coordinates"),
        ("Name\tWKT\nA\tPOINT (1 2\n", "bad_geometry"),
    ],
)
def test_each_location_fault_is_quarantined(text, reason):
    p = prep(text)
    assert p.report.accepted == 0
    assert only_reason(p) == reason
    q = p.quarantine.iloc[0]
    assert q["row"] == 2
    assert q["reason"]  # a sentence for people


def test_bad_coordinates_do_not_fall_back_to_the_postcode():
    p = prep("Name,Latitude,Longitude,Postcode\nA,0.27,51.13,TN1 1AA\n")
    assert only_reason(p) == "latlon_swapped"


def _normalise_postcodes_reference(values: pd.Series) -> pd.Series:
    """The first implementation of ``normalise_postcodes``, with pandas string methods."""
    compact = values.fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    ok = compact.str.match(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")
    spaced = compact.str[:-3] + " " + compact.str[-3:]
    return spaced.where(ok, "")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet="TNme1 10AaßﬁİŠ-.\t", max_size=10),
            st.sampled_from(["TN1 1AA", "tn11aa", " SW1A 1AA ", "W1A0AX", "ME14", "GIR 0AA"]),
        ),
        max_size=30,
    )
)
def test_normalise_postcodes_agrees_with_the_first_implementation(values):
    for series in (pd.Series(values, dtype="object"), pd.Series(values, dtype="str")):
        got = normalise_postcodes(series)
        pd.testing.assert_series_equal(
            got, _normalise_postcodes_reference(series), check_dtype=False
        )
        assert got.dtype == "str"
