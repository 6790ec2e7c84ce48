"""Parsing values, checking rows, and the quarantine reasons."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap.errors import InvalidArgumentError
from assetmap.registers.importer import ImportOptions, prepare_register
from assetmap.registers.validate import (
    REASONS,
    parse_area,
    parse_dates,
    parse_money,
    shared_groups,
    stable_ids,
)
from assetmap.registers.values import parse_numbers
from assetmap.schema import SQFT_PER_SQM


def prep(text: str, **kwargs):
    kwargs.setdefault("agency", "Test Council")
    kwargs.setdefault("sector", "council")
    return prepare_register(text.encode("utf-8"), name="test.csv", **kwargs)


def test_parse_money():
    values = pd.Series(
        [
            "£1,234",
            "1234.50",
            "GBP 2,000",
            "£1.2m",
            "£45k",
            "(1,000)",
            "£12,000 pa",
            "",
            "n/a",
            "TBC",
        ]
    )
    pounds, bad = parse_money(values)
    np.testing.assert_allclose(pounds[:7], [1234, 1234.5, 2000, 1_200_000, 45_000, -1000, 12_000])
    assert np.isnan(pounds[7:]).all()
    assert bad.tolist() == [False] * 9 + [True]


@pytest.mark.parametrize(
    "parse",
    [parse_numbers, parse_money, lambda v: parse_area(v, "sqft")],
    ids=["numbers", "money", "area"],
)
def test_figures_too_big_for_a_float_are_not_numbers(parse):
    """Text that reads as infinity is present but not a number, not a missing value."""
    values = pd.Series(["1e999", "-1e999", "inf", "1" + "0" * 400, "12", "", "nan"])
    got, bad = parse(values)
    assert bad.tolist() == [True] * 4 + [False] * 3
    assert np.isnan(got[:4]).all() and np.isnan(got[5:]).all()
    assert got[4] == 12
    plain, bad = parse(pd.Series(["1" + "0" * 400, "12"]))  # (the fast path: digits alone)
    assert bad.tolist() == [True, False] and np.isnan(plain[0])


def test_areas_and_money_scaled_beyond_a_float_are_not_numbers():
    sqft, bad = parse_area(pd.Series(["1e308", "2"]), "sqm")
    assert bad.tolist() == [True, False] and np.isnan(sqft[0])
    sqft, bad = parse_area(pd.Series(["1e307 ha", "2 ha"]), "sqft")
    assert bad.tolist() == [True, False] and np.isnan(sqft[0])
    pounds, bad = parse_money(pd.Series(["£1" + "0" * 306 + "bn", "£2bn"]))
    assert bad.tolist() == [True, False] and pounds[1] == 2e9


def test_parse_area_units():
    sqft, bad = parse_area(
        pd.Series(["100", "1,000", "2,000 sq ft", "85 m²", "1 ha", "", "TBC"]), "sqm"
    )
    np.testing.assert_allclose(
        sqft[:5], [100 * SQFT_PER_SQM, 1000 * SQFT_PER_SQM, 2000, 85 * SQFT_PER_SQM, 107_639]
    )
    assert np.isnan(sqft[5])
    assert bad.tolist() == [False] * 6 + [True]


def test_parse_dates_iso_and_uk_forms():
    iso, bad = parse_dates(
        pd.Series(
            [
                "2027-03-31",
                "31/03/2027",
                "31-03-2027",
                "31 March 2027",
                "2027-03-31 00:00:00",
                "",
                "soon",
            ]
        )
    )
    assert iso.tolist() == ["2027-03-31"] * 5 + ["", ""]
    assert bad.tolist() == [False] * 6 + [True]


def test_canonical_row_units_money_and_labels():
    p = prep(
        "Site name,Postcode,GIA (m2),Vacant space (sq ft),Annual running cost,Tenure,Usage,"
        "Lease expiry,Security Classification,UPRN\n"
        'Hall,TN1 1AA,100,200,"£1,234",Freehold ,Town Hall,31/03/2030,OFFICIAL,000123\n'
    )
    row = p.rows.iloc[0]
    assert row["floor_area_sqft"] == pytest.approx(1076.39)
    assert row["floor_area_basis"] == "GIA"
    assert row["surplus_sqft"] == 200
    assert row["running_cost_gbp"] == 1234
    assert row["tenure"] == "freehold"
    assert row["use_class"] == "office"
    assert row["lease_expiry"] == "2030-03-31"
    assert row["sensitivity"] == "open"
    assert row["uprn"] == "123"
    assert row["agency"] == "Test Council"
    assert row["sector"] == "council"
    assert row["source_row"] == 2
    assert row["site_id"].startswith("S") and len(row["site_id"]) == 17


def test_nia_is_converted_to_gia_and_flagged():
    p = prep("Name,Postcode,NIA (sq ft)\nOffice,TN1 1AA,820\n")
    assert p.rows["floor_area_sqft"].iloc[0] == pytest.approx(1000)
    assert p.rows["floor_area_basis"].iloc[0] == "NIA/0.82"


def test_vacant_sites_offer_their_floor_area():
    p = prep("Name,Postcode,BuildingSize,TenureDetail\nOld library,TN1 1AA,100,Vacant\n")
    assert p.rows["surplus_sqft"].iloc[0] == pytest.approx(1076.39)
    assert any("vacant" in n for n in p.report.notes)


def test_a_use_that_starts_vacant_in_any_case_offers_the_floor_area():
    p = prep(
        "Name,Postcode,GIA (sq ft),Use\n"
        "A,TN1 1AA,100,VACANT - former depot\n"
        "B,TN1 1AA,100,vacant\n"
        "C,TN1 1AA,100,Not vacant\n"
        'D,TN1 1AA,100,"Vacant\nsince May"\n'
        "E,TN1 1AA,100,Office\n"
    )
    offered = p.rows.set_index("name")["surplus_sqft"]
    assert offered[["A", "B"]].tolist() == [100, 100]
    assert offered[["C", "D", "E"]].isna().all()


def test_restricted_sites_are_labelled():
    p = prep("Name,Postcode,Security Classification\nCustody suite,TN1 1AA,OFFICIAL-SENSITIVE\n")
    assert p.rows["sensitivity"].iloc[0] == "restricted"


@pytest.mark.parametrize(
    ("text", "reason", "column", "value"),
    [
        ("Name,Postcode,GIA (sq ft)\nA,TN1 1AA,-5\n", "negative_area", "GIA (sq ft)", "-5"),
        ("Name,Postcode,GIA (sq ft)\nA,TN1 1AA,TBC\n", "non_numeric_area", "GIA (sq ft)", "TBC"),
        (
            "Name,Postcode,GIA (sq ft),Surplus (sq ft)\nA,TN1 1AA,100,500\n",
            "surplus_exceeds_area",
            "Surplus (sq ft)",
            "500",
        ),
        ("Name,Postcode,Running cost\nA,TN1 1AA,lots\n", "bad_money", "Running cost", "lots"),
        # too big for a number: never an unknown value let through
        ("Name,Postcode,Running cost\nA,TN1 1AA,1e999\n", "bad_money", "Running cost", "1e999"),
        (
            "Name,Postcode,GIA (sq ft)\nA,TN1 1AA,1e999\n",
            "non_numeric_area",
            "GIA (sq ft)",
            "1e999",
        ),
        ("Name,Postcode,GIA (ha)\nA,TN1 1AA,1e305\n", "non_numeric_area", "GIA (ha)", "1e305"),
        (
            "Name,Easting,Northing\nA,1e999,150000\n",
            "bad_coordinates",
            "Easting",
            "1e999, 150000",
        ),
        (
            "Name,Postcode,Lease expiry\nA,TN1 1AA,whenever\n",
            "bad_date",
            "Lease expiry",
            "whenever",
        ),
        (
            "Name,Postcode,Security Classification\nA,TN1 1AA,maybe\n",
            "bad_sensitivity",
            "Security Classification",
            "maybe",
        ),
        ("Name,Postcode\n,TN1 1AA\n", "no_name", "Name", ""),
    ],
)
def test_each_value_fault_is_quarantined_with_column_and_value(text, reason, column, value):
    p = prep(text)
    assert p.report.accepted == 0
    q = p.quarantine
    assert q["reason_code"].tolist() == [reason]
    assert q["column"].iloc[0] == column
    assert q["value"].iloc[0] == value
    assert q["row"].iloc[0] == 2
    assert p.report.reasons == {reason: 1}
    assert p.report.reason_labels[reason] == REASONS[reason]


def test_surplus_message_gives_both_figures():
    p = prep("Name,Postcode,GIA (sq ft),Surplus (sq ft)\nA,TN1 1AA,100,500\n")
    assert p.quarantine["reason"].iloc[0] == (
        "the surplus (500 sq ft) is larger than the floor area (100 sq ft)"
    )


def test_duplicate_rows_name_the_first_row():
    p = prep("Property reference,Name,Postcode\nP1,A,TN1 1AA\nP2,B,TN1 1AA\nP1,A again,TN1 1AA\n")
    assert p.report.accepted == 2
    q = p.quarantine
    assert q["reason_code"].tolist() == ["duplicate"]
    assert q["reason"].iloc[0] == "duplicate of row 2"
    assert q["row"].iloc[0] == 4


def test_a_row_with_several_faults_is_counted_once_and_listed_for_each():
    p = prep("Name,Postcode,GIA (sq ft),Running cost\n,ME99 9ZZ,-1,lots\n")
    assert p.report.quarantined == 1
    assert set(p.quarantine["reason_code"]) == {
        "no_name",
        "postcode_not_found",
        "negative_area",
        "bad_money",
    }


def test_agency_and_sector_from_columns_and_from_the_agency_name():
    p = prep(
        "Organisation,Name,Postcode\nKent Police,A,TN1 1AA\nNHS Kent and Medway,B,TN1 1AA\n"
        "Jobcentre Plus,C,TN1 1AA\nKent Fire and Rescue Service,D,TN1 1AA\n"
        "Mystery Body,E,TN1 1AA\n",
        agency=None,
        sector=None,
    )
    assert p.rows["sector"].tolist() == ["police", "health", "dwp", "fire", "other"]
    assert any("set to 'other'" in n for n in p.report.notes)


def test_missing_agency_is_quarantined():
    # a row with no agency in a register whose other rows name one (no agency at all
    # stops the import: tests/registers/test_published.py)
    p = prep("Name,Postcode,Agency\nA,TN1 1AA,\nB,TN1 1AA,KCC\n", agency=None, sector="council")
    assert p.quarantine["reason_code"].tolist() == ["no_agency"]


def test_unknown_sector_value_is_quarantined():
    p = prep("Name,Postcode,Sector\nA,TN1 1AA,Navy\n", sector=None)
    assert p.quarantine["reason_code"].tolist() == ["bad_sector"]


def test_bad_arguments_are_listed_together():
    with pytest.raises(InvalidArgumentError) as err:
        prepare_register(b"a,b\n1,2\n", name="x.csv", kind="buildings", sector="navy")
    assert "kind='buildings' is not valid; expected one of: sites, requests" in str(err.value)
    assert "sector='navy' is not valid" in str(err.value)


def test_import_options_as_one_object_or_as_keywords_agree():
    text = b"Property reference,Name,Postcode,GIA (sq ft)\nP1,A,TN1 1AA,100\n"
    options = ImportOptions(
        name="x.csv", agency="Test Council", sector="council", imported_at="2026-01-01T00:00:00Z"
    )
    by_object = prepare_register(text, options=options)
    by_keywords = prepare_register(
        text,
        name="x.csv",
        agency="Test Council",
        sector="council",
        imported_at="2026-01-01T00:00:00Z",
    )
    pd.testing.assert_frame_equal(by_object.rows, by_keywords.rows)
    assert by_object.report == by_keywords.report
    # keywords win over the object, which stays as it was
    police = prepare_register(text, options=options, agency="Kent Police", sector="police")
    assert police.rows[["agency", "sector"]].iloc[0].tolist() == ["Kent Police", "police"]
    assert options.agency == "Test Council"
    with pytest.raises(FrozenInstanceError):
        options.agency = "Kent Police"  # type: ignore[misc]


def test_import_options_object_is_checked_with_every_problem_listed():
    options = ImportOptions(name="x.csv", kind="buildings", sector="navy", profile=3)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError,
        match=r"kind='buildings' is not valid; expected one of: sites, requests; "
        r"sector='navy' is not valid.*; profile=3 is not valid; expected a path or a Profile",
    ):
        prepare_register(b"a,b\n1,2\n", options=options)
    assert len(options.problems()) == 3
    assert ImportOptions().problems() == []


def test_site_ids_are_stable_and_depend_on_agency_and_reference():
    text = "Property reference,Name,Postcode\nP1,A,TN1 1AA\n"
    a = prep(text).rows["site_id"].iloc[0]
    assert prep(text).rows["site_id"].iloc[0] == a
    assert prep(text, agency="Other Council").rows["site_id"].iloc[0] != a
    renamed = prep("Property reference,Name,Postcode\nP1,A renamed,TN1 1AA\n")
    assert renamed.rows["site_id"].iloc[0] == a  # the reference identifies the site


def test_shared_sites_are_flagged_not_merged():
    sites = pd.DataFrame(
        {
            "agency": ["Police", "NHS", "Council", "Council", "Police"],
            "sector": ["police", "health", "council", "council", "police"],
            "uprn": ["100", "100", "", "", ""],
            "postcode": ["TN1 1AA", "TN1 1AA", "ME1 1AA", "ME1 1AA", "ME1 1AA"],
            "name": ["Hub", "The Hub", "Library", "Library", "LIBRARY"],
        }
    )
    groups = shared_groups(sites)
    assert groups[0] == groups[1] != ""
    assert groups[2] == groups[3] == groups[4] != ""
    assert groups[0] != groups[2]
    one_agency = sites.iloc[2:4]
    assert (shared_groups(one_agency) == "").all()
    # the same name in two sectors is two agencies (Hertfordshire police and fire)
    herts = pd.DataFrame(
        {
            "agency": ["hertfordshire", "Hertfordshire"],
            "sector": ["police", "fire"],
            "uprn": ["", ""],
            "postcode": ["WD6 1JP"] * 2,
            "name": ["Borehamwood"] * 2,
        }
    )
    assert shared_groups(herts)[0] == shared_groups(herts)[1] != ""


def test_ids_are_the_same_as_in_earlier_versions():
    """Ids are stored and compared across re-imports: their values must never drift."""
    ids = stable_ids(
        "S",
        [
            pd.Series(["police", "health"], dtype="str"),
            pd.Series(["kentpolice", "nhskent"], dtype="str"),
            pd.Series(["P1", "uprn:200000"], dtype="str"),
        ],
    )
    assert ids.tolist() == ["S77bf1038f368b99c", "S5d770cb9518e211a"]
    groups = stable_ids("G", [pd.Series(["uprn:200000", "pn:TN11AA|thehub"], dtype="str")])
    assert groups.tolist() == ["G65f172aca88e8175", "G9293dd1a99cec284"]
    site = prep("Property reference,Name,Postcode\nP1,A,TN1 1AA\n", agency="Kent Police")
    assert site.rows["site_id"].tolist() == ["S62c05a9548f4f9f4"]
    twice = prep("Name,Postcode\nThe Hub,TN1 1AA\nThe Hub,TN1 1AA\n", agency="Kent Police")
    assert twice.rows["site_id"].tolist() == ["S746d3d8679e4ee61"]
    assert twice.quarantine[["row", "reason"]].values.tolist() == [[3, "duplicate of row 2"]]


def _shared_groups_reference(sites: pd.DataFrame) -> pd.Series:
    """The first implementation of :func:`shared_groups`, row by row in pandas: the spec."""
    from assetmap.registers.ids import norm_key as _norm_key

    group = pd.Series("", index=sites.index, dtype="str")
    if sites.empty:
        return group
    agency = sites["sector"].astype(str) + ":" + _norm_key(sites["agency"].astype(str))
    uprn = sites["uprn"].astype(str)
    postcode = sites["postcode"].astype(str)
    by_name = (postcode != "").to_numpy().copy()
    by_name[by_name] = postcode[by_name].duplicated(keep=False).to_numpy()
    name_key = pd.Series("", index=sites.index, dtype="str")
    if by_name.any():
        name_key[by_name] = (
            "pn:" + postcode[by_name].str.replace(" ", "") + "|" + _norm_key(sites["name"][by_name])
        )
    for key in [("uprn:" + uprn).where(uprn != "", ""), name_key]:
        valid = (key != "").to_numpy().copy()
        if not valid.any():
            continue
        valid[valid] = key[valid].duplicated(keep=False).to_numpy()
        if not valid.any():
            continue
        n_agencies = agency[valid].groupby(key[valid]).transform("nunique")
        multi = pd.Series(False, index=sites.index)
        multi[valid] = n_agencies > 1
        todo = multi & (group == "")
        if todo.any():
            group[todo] = stable_ids("G", [key[todo]])
    return group


_sites_rows = st.lists(
    st.tuples(
        st.sampled_from(["police", "health", "council"]),
        st.sampled_from(["Kent Police", "kent police", "NHS Kent", "KCC", "K.C.C."]),
        st.sampled_from(["", "100", "200", "0300"]),
        st.sampled_from(["", "TN1 1AA", "TN11AA", "ME1 1AA", "ME14 1XX"]),
        st.sampled_from(["Hub", "The Hub", "HUB", "Library", "the hub"]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_sites_rows)
def test_shared_groups_agree_with_the_first_implementation(rows):
    sites = pd.DataFrame(rows, columns=["sector", "agency", "uprn", "postcode", "name"])
    sites = sites.astype("str")
    pd.testing.assert_series_equal(shared_groups(sites), _shared_groups_reference(sites))


def test_requests_register():
    p = prep(
        "Request ref,Requesting agency,Sector,Space needed (sq ft),Use,Postcode,"
        "Max distance (m),Needed by\n"
        "R1,Kent Community Health,health,40000,Office,TN1 1AA,10000,31/03/2027\n"
        "R2,Kent Police,police,5000,Depot,,,\n"
        "R3,KCC,council,-5,Office,TN1 1AA,0,\n",
        agency=None,
        sector=None,
    )
    assert p.report.kind == "requests"
    req = p.rows.set_index("source_ref")
    assert req.loc["R1", "space_needed_sqft"] == 40000
    assert req.loc["R1", "max_distance_m"] == 10000
    assert req.loc["R1", "needed_by"] == "2027-03-31"
    assert req.loc["R1", "use_class"] == "office"
    assert set(p.quarantine["reason_code"]) == {"missing_location", "negative_area", "bad_distance"}
    assert p.report.accepted == 1


def test_request_placed_by_locality_only():
    p = prep(
        "Request ref,Agency,Space needed (sq ft),Locality\nR1,DWP,2000,E07000110\n",
        agency=None,
        sector="dwp",
    )
    row = p.rows.iloc[0]
    assert row["locality"] == "E07000110"
    assert row["location_source"] == "locality"
    assert row.geometry is None
    assert any("10,000 m assumed" in n for n in p.report.notes)


_TEXT = st.lists(
    st.one_of(
        st.none(),
        st.text(alphabet="0123456789 ,.£²()kmABCsqftü\t\u00a0\u0085\u2003", max_size=8),
        st.text(max_size=6),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_stripped_text_is_pandas_strip(values):
    from assetmap.schema import stripped_text

    series = pd.Series(values, dtype="str").iloc[len(values) // 3 :]  # also a slice
    expected = series.fillna("").astype(str).str.strip()
    pd.testing.assert_series_equal(stripped_text(series), expected)


def test_one_value_scans_past_equal_ends():
    import pyarrow as pa

    from assetmap.schema import one_value

    assert one_value(pa.array([], pa.string())) and one_value(pa.array(["a"]))
    assert one_value(pa.chunked_array([["a", "a"], ["a"]]))
    assert not one_value(pa.array(["a", "b", "a"]))  # the ends agree, the middle does not
    assert not one_value(pa.chunked_array([["a"], ["b"]]))


def test_money_starting_with_a_pound_sign_is_not_copied_to_be_trimmed():
    import pyarrow as pa

    from assetmap.schema import strip_strings

    clean = pa.array(["£1,234", "£45k", "", "1200"])
    assert strip_strings(clean) is clean  # "£" is no space: nothing to trim
    spaced = pa.array(["£1,234", "\u00a0£45k", "\u0085x "])
    assert strip_strings(spaced).to_pylist() == ["£1,234", "£45k", "x"]


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.sampled_from(["", "()"]))
def test_letters_are_found_on_the_bytes_as_the_pattern_finds_them(values, extra):
    import re

    from assetmap.registers.values import _has_letters

    series = pd.Series(values, dtype="str").iloc[len(values) // 3 :]
    pattern = re.compile("[A-Za-z²" + "".join("\\" + c for c in extra) + "]")
    expected = any(pattern.search(v) for v in series.fillna(""))
    assert _has_letters(series, extra=extra) == expected


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_money_and_areas_parse_the_same_in_a_slice_as_alone(values):
    series = pd.Series(values, dtype="str")
    part = series.iloc[len(values) // 3 :]
    alone = pd.Series(part.tolist(), dtype="str")
    for parse in (parse_money, lambda s: parse_area(s, "sqm")):
        got, bad = parse(part)
        want, want_bad = parse(alone)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(bad, want_bad)
