"""Offline geocoding against known points of the ONS Postcode Directory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap.postcodes import PostcodeDirectory, compact_postcodes, lookup_postcodes
from assetmap.schema import normalise_postcodes


def test_known_ons_points():
    found = lookup_postcodes(pd.Series(["TN1 1AA", "tn11aa", " TN1  1AA ", "EC1A 1BB"]))
    assert found["found"].all()
    assert found.loc[0, ["easting", "northing"]].tolist() == [558300.0, 139100.0]
    assert found.loc[0, "district"] == "E07000116"  # Tunbridge Wells
    assert (found.loc[1:2, "easting"] == 558300.0).all()
    assert found.loc[3, "district"] == "E09000019"  # Islington


def test_unknown_and_malformed_postcodes_are_not_found():
    found = lookup_postcodes(pd.Series(["ME99 9ZZ", "", None, "SW1A1AAX", "NOTAPOSTCODE"]))
    assert not found["found"].any()
    assert found["easting"].isna().all()
    assert (found["district"] == "").all()


def test_result_is_aligned_to_the_input_index():
    s = pd.Series(["ME99 9ZZ", "TN1 1AA"], index=[10, 20])
    found = lookup_postcodes(s)
    assert found.index.tolist() == [10, 20]
    assert found.loc[20, "found"]


def test_cache_is_built_once_and_reused(tmp_path):
    first = PostcodeDirectory(cache_dir=tmp_path)
    assert len(first) > 2_000_000
    cached = list(tmp_path.glob("onspd-*.npz"))
    assert len(cached) == 1
    second = PostcodeDirectory(cache_dir=tmp_path)
    out = second.lookup(pd.Series(["TN1 1AA"]))
    assert out.loc[0, "easting"] == 558300.0


def test_a_damaged_cache_is_rebuilt(tmp_path):
    directory = PostcodeDirectory(cache_dir=tmp_path)
    (tmp_path / f"onspd-{directory.version}.npz").write_bytes(b"garbage")
    out = directory.lookup(pd.Series(["TN1 1AA"]))
    assert out.loc[0, "found"]


def test_normalising_postcodes():
    assert compact_postcodes(pd.Series(["tn1 1aa", None])).tolist() == ["TN11AA", ""]
    assert normalise_postcodes(pd.Series(["tn11aa", "SW1A1AA", "bad", "M41"])).tolist() == [
        "TN1 1AA",
        "SW1A 1AA",
        "",
        "",
    ]


@pytest.mark.parametrize("n", [1, 1000])
def test_bulk_lookup(n):
    s = pd.Series(["TN1 1AA"] * n)
    assert np.all(lookup_postcodes(s)["found"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet="ABCNTWabnt0129 -.,/\t", max_size=10),
            st.text(max_size=9),  # any character: the slow path
        ),
        max_size=12,
    )
)
def test_query_keys_are_those_of_the_compact_postcodes(values):
    from assetmap.postcodes import _WIDTH, _pack, _query_keys

    series = pd.Series(values, dtype="str")
    series = series.iloc[1:] if len(series) > 1 else series  # a slice, not the whole buffer
    keys, usable = _query_keys(series)
    compact = compact_postcodes(series)
    expected = _pack(compact.to_numpy(dtype=object).astype(f"S{_WIDTH}"))
    can_match = (compact.str.len() <= _WIDTH) & (compact != "")
    assert usable.tolist() == can_match.tolist()
    assert keys[usable].tolist() == expected[usable].tolist()


def test_lookup_of_odd_spellings_and_missing_values():
    got = lookup_postcodes(pd.Series(["tn1 1aa", " TN1-1AA ", None, "TN11AAX", "TN1 1AA", "ß"]))
    assert got["found"].tolist() == [True, True, False, False, True, False]
    assert got["district"].tolist() == ["E07000116", "E07000116", "", "", "E07000116", ""]
    assert got.loc[0, ["easting", "northing"]].tolist() == [558300, 139100]


def test_grid_points_agree_with_lookup_and_mark_northern_ireland():
    from assetmap.postcodes import default_directory

    postcodes = pd.Series(["TN1 1AA", "BT7 1NN", "ME99 9ZZ", "", "EC1A 1BB"])
    east, north, known, ni = default_directory().grid_points(postcodes)
    found = lookup_postcodes(postcodes)
    assert np.array_equal(east, found["easting"].to_numpy(), equal_nan=True)
    assert np.array_equal(north, found["northing"].to_numpy(), equal_nan=True)
    assert known.tolist() == [True, True, False, False, True]
    assert ni.tolist() == (found["district"].str.startswith("N") & known).tolist()
    assert ni.tolist() == [False, True, False, False, False]


def test_a_northern_ireland_postcode_is_outside_great_britain():
    from assetmap.registers.importer import prepare_register

    text = "Name,Postcode\nBelfast,BT7 1NN\nTunbridge Wells,TN1 1AA\nNowhere,ME99 9ZZ\n"
    p = prepare_register(text.encode(), name="x.csv", agency="A", sector="police")
    assert p.rows["name"].tolist() == ["Tunbridge Wells"]
    assert dict(zip(p.quarantine["row"], p.quarantine["reason_code"], strict=True)) == {
        2: "outside_gb",
        4: "postcode_not_found",
    }
