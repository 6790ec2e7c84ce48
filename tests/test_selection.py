"""The sidebar's filters as masks: each distinct value normalised once, as row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap.maps.style import sector_key
from assetmap.selection import filter_mask

SECTOR_VALUES = ["police", " Police ", "HEALTH", "fire", "council", "dwp", "zoo", "", None]
TEXT_VALUES = ["Kent Police", "kent police", "", " A ", "B", None]


def _row_by_row(frame, sectors, agencies, uses, tenures):
    keep = np.ones(len(frame), dtype=bool)
    if sectors is not None:
        keep &= sector_key(frame["sector"]).isin(list(sectors)).to_numpy()
    for column, values in (("agency", agencies), ("use", uses), ("tenure", tenures)):
        if values:
            text = frame[column].astype("object").fillna("").astype(str)
            keep &= text.isin(list(values)).to_numpy()
    return keep


@settings(deadline=None, max_examples=80)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(SECTOR_VALUES),
            st.sampled_from(TEXT_VALUES),
            st.sampled_from(TEXT_VALUES),
            st.sampled_from(TEXT_VALUES),
        ),
        max_size=40,
    ),
    sectors=st.none() | st.lists(st.sampled_from(["police", "health", "other", "fire"])),
    agencies=st.lists(st.sampled_from(["Kent Police", "", "B", "A"]), max_size=2),
    uses=st.lists(st.sampled_from(["", "B"]), max_size=1),
    dtype=st.sampled_from(["object", "string"]),
)
def test_a_filter_keeps_what_comparing_row_by_row_keeps(rows, sectors, agencies, uses, dtype):
    columns = ["sector", "agency", "use", "tenure"]
    frame = (
        pd.DataFrame(rows, columns=columns).astype(dtype)
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=dtype) for c in columns})
    )
    got = filter_mask(frame, sectors, agencies, uses=uses, tenures=["B"] if uses else None)
    expected = _row_by_row(frame, sectors, agencies, uses, ["B"] if uses else None)
    assert got.dtype == bool and got.tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("sectors", "expected"),
    [
        (["police"], [True, True, False, False, False]),
        (["other"], [False, False, False, True, True]),  # unknown and missing are "other"
        ([], [False] * 5),
        (None, [True] * 5),
    ],
)
def test_sectors_are_compared_as_codes(sectors, expected):
    frame = pd.DataFrame(
        {"sector": ["Police", " police ", "health", "zoo", None], "agency": ["x"] * 5}
    )
    assert filter_mask(frame, sectors).tolist() == expected
