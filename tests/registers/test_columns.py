"""Header recognition and register profiles."""

from __future__ import annotations

import pytest

from assetmap.errors import ProfileError
from assetmap.registers.columns import load_profile, normalise_header, recognise_columns

TRANSPARENCY_CODE = (
    "OrganisationLabel,OrganisationURI,EffectiveDate,UPRN,AssetCode,PropertyName,StreetNumber,"
    "StreetName,PostTown,PostCode,CoordinateReferenceSystem,GeoX,GeoY,TenureType,TenureDetail,"
    "OtherDetail,HoldingType,BuildingSize,LandArea,EnergyRating"
).split(",")


def test_normalise_header():
    assert normalise_header("Post Code") == "postcode"
    assert normalise_header("post_code") == "postcode"
    assert normalise_header("GIA (m²)") == "giam2"


def test_transparency_code_headers_are_recognised():
    cmap = recognise_columns(TRANSPARENCY_CODE)
    assert cmap.fields == {
        "source_ref": ["AssetCode"],
        "agency": ["OrganisationLabel"],
        "name": ["PropertyName"],
        "address_parts": ["StreetNumber", "StreetName", "PostTown"],
        "postcode": ["PostCode"],
        "uprn": ["UPRN"],
        "use": ["OtherDetail"],
        "tenure": ["TenureType"],
        "tenure_detail": ["TenureDetail"],
        "x": ["GeoX"],
        "y": ["GeoY"],
        "crs": ["CoordinateReferenceSystem"],
        "floor_area": ["BuildingSize"],
    }
    assert cmap.units["floor_area"] == "sqm"
    assert "LandArea" in cmap.unused  # hectares of land are never floor area
    assert any("Transparency Code" in n for n in cmap.notes)


@pytest.mark.parametrize(
    ("header", "unit", "basis"),
    [
        ("GIA (sq ft)", "sqft", "GIA"),
        ("Gross Internal Area (m2)", "sqm", "GIA"),
        ("Floor area sq m", "sqm", "GIA"),
        ("NIA (sq ft)", "sqft", "NIA"),
        ("Floor area (ft²)", "sqft", "GIA"),
    ],
)
def test_floor_area_units_come_from_the_header(header, unit, basis):
    cmap = recognise_columns(["Name", header])
    assert cmap.fields["floor_area"] == [header]
    assert cmap.units["floor_area"] == unit
    assert cmap.floor_area_basis == basis


def test_area_without_unit_is_assumed_square_metres_and_said():
    cmap = recognise_columns(["Name", "Floor area"])
    assert cmap.units["floor_area"] == "sqm"
    assert any("no unit in its header" in n for n in cmap.notes)


def test_running_cost_components_are_summed():
    cmap = recognise_columns(["Name", "Soft FM", "Hard FM", "Rates"])
    assert cmap.fields["running_cost"] == ["Soft FM", "Hard FM", "Rates"]
    assert any("sum of" in n for n in cmap.notes)
    total = recognise_columns(["Name", "Annual running cost", "Rates"])
    assert total.fields["running_cost"] == ["Annual running cost"]


def test_coordinate_headers():
    cmap = recognise_columns(["Site", "Latitude", "Longitude", "Easting", "Northing", "WKT"])
    assert cmap.column("latitude") == "Latitude"
    assert cmap.column("longitude") == "Longitude"
    assert cmap.column("easting") == "Easting"
    assert cmap.column("northing") == "Northing"
    assert cmap.column("wkt") == "WKT"


def test_preview_table():
    preview = recognise_columns(["Site name", "Postcode"]).preview()
    assert preview.to_dict("records") == [
        {
            "field": "name",
            "meaning": "site name",
            "column": "Site name",
            "how": "recognised header",
            "unit": "",
        },
        {
            "field": "postcode",
            "meaning": "postcode",
            "column": "Postcode",
            "how": "recognised header",
            "unit": "",
        },
    ]


def _profile(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_profile_maps_columns_explicitly(tmp_path):
    profile = load_profile(
        _profile(
            tmp_path,
            """
agency = "Kent Police"
sector = "police"
[columns]
name = "Station"
floor_area = "Size"
running_cost = ["FM", "Rent"]
[units]
floor_area = "sqft"
[options]
floor_area_basis = "NIA"
crs = "EPSG:27700"
""",
        )
    )
    assert profile.agency == "Kent Police"
    cmap = recognise_columns(["Station", "Size", "FM", "Rent", "Postcode"], profile=profile)
    assert cmap.fields["name"] == ["Station"]
    assert cmap.how["name"] == "profile"
    assert cmap.fields["running_cost"] == ["FM", "Rent"]
    assert cmap.units["floor_area"] == "sqft"
    assert cmap.floor_area_basis == "NIA"
    assert cmap.fields["postcode"] == ["Postcode"]  # headers still recognised around it


def test_profile_naming_missing_columns(tmp_path):
    profile = load_profile(_profile(tmp_path, '[columns]\nname = "Station"\n'))
    with pytest.raises(
        ProfileError, match=r"does not have: name = 'Station'.*Its columns are: A, B"
    ):
        recognise_columns(["A", "B"], profile=profile)


def test_profile_problems_are_all_listed_at_once(tmp_path):
    path = _profile(
        tmp_path,
        """
sector = "navy"
colour = "red"
[columns]
nonsense = "X"
name = ["A", "B"]
[units]
floor_area = "acres"
[options]
floor_area_basis = "GEA"
crs = "EPSG:999999"
""",
    )
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    message = str(err.value)
    for fragment in [
        "unknown key 'colour'",
        "columns.nonsense is not a field",
        "columns.name takes one header, not a list",
        "units.floor_area='acres' is not a unit; expected one of: sqft, sqm, ha",
        "options.floor_area_basis='GEA' is not valid; expected GIA or NIA",
        "sector='navy' is not valid",
        "options.crs='EPSG:999999' is not a coordinate system",
    ]:
        assert fragment in message


def test_profile_file_errors(tmp_path):
    with pytest.raises(ProfileError, match="there is no profile file at"):
        load_profile(tmp_path / "missing.toml")
    with pytest.raises(ProfileError, match="is not valid TOML"):
        load_profile(_profile(tmp_path, "this is = = not toml"))


def test_an_ods_extracts_layout_maps_its_columns_unless_a_profile_is_given(tmp_path):
    from assetmap.registers.ods import LAYOUTS

    ets = next(layout for layout in LAYOUTS if layout.key == "ets")
    cmap = recognise_columns(list(ets.columns))
    assert cmap.fields["agency"] == ["Parent Organisation Code"]
    assert cmap.fields["address_parts"] == [f"Address Line {i}" for i in range(1, 6)]
    assert cmap.fields["close_date"] == ["Close Date"] and "status" not in cmap.fields
    assert cmap.sector == "health"
    assert set(cmap.how.values()) == {"ODS ets layout"}
    # the same names one short are an ordinary register: no layout, no sector
    assert recognise_columns(list(ets.columns[:-1])).sector is None
    path = tmp_path / "p.toml"
    path.write_text('[columns]\nagency = "Name"\n')
    own = recognise_columns(list(ets.columns), profile=load_profile(path))
    assert own.fields["agency"] == ["Name"] and own.sector is None
    assert "close_date" not in own.fields  # the profile's mapping, not the layout's


def test_a_profile_may_name_a_close_date_and_a_status(tmp_path):
    from assetmap.registers.importer import prepare_register

    path = tmp_path / "p.toml"
    path.write_text('[columns]\nclose_date = "Closed on"\nstatus = "State"\n')
    p = prepare_register(
        b"Site name,Agency,Postcode,Closed on,State\nA,KCC,TN1 1AA,,open\n"
        b"B,KCC,TN1 1AA,31/03/2020,open\nC,KCC,TN1 1AA,,Closed\n",
        name="r.csv",
        sector="council",
        profile=path,
    )
    assert p.rows["name"].tolist() == ["A"]
    assert p.quarantine["reason"].tolist() == [
        "the organisation closed on 31/03/2020",
        "the status Closed means the organisation closed",
    ]
