"""Lease events as imported: recognised headers, values read, and each fault quarantined."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from assetmap import import_register
from assetmap.registers.columns import recognise_columns
from assetmap.registers.lease_fields import parse_notice
from assetmap.store import open_store

HEADER = (
    "Name,Postcode,Tenure,Earliest break date,Last break date,Expiry Date,Rent review date,"
    "Notice period,Break penalty,Capital value\n"
)


def _import(tmp_path, rows: str):
    store = tmp_path / "estate.gpkg"
    report = import_register(
        (HEADER + rows).encode(),
        name="leases.csv",
        store=store,
        agency="Kent Police",
        sector="police",
    )
    opened = open_store(store)
    return report, opened.sites().set_index("name"), opened.quarantine()


def test_insite_and_transparency_code_headers_are_recognised():
    cmap = recognise_columns(
        [
            "PropertyName",
            "TenureType",
            "TenureDetail",
            "Earliest break date",
            "Last break date",
            "Expiry Date",
            "Next rent review",
            "Break notice period",
            "Break premium",
            "Market value",
        ]
    )
    assert cmap.column("next_break") == "Earliest break date"
    assert cmap.column("last_break") == "Last break date"
    assert cmap.column("lease_expiry") == "Expiry Date"
    assert cmap.column("rent_review") == "Next rent review"
    assert cmap.column("notice_months") == "Break notice period"
    assert cmap.column("break_penalty") == "Break premium"
    assert cmap.column("capital_value") == "Market value"
    assert cmap.column("tenure_detail") == "TenureDetail"


def test_lease_events_are_read(tmp_path):
    report, sites, quarantine = _import(
        tmp_path,
        "A,ME14 1XQ,Leasehold,01/06/2027,1 June 2030,31/05/2035,2028-01-01,6 months,"
        '"£25,000",£1.2m\n'
        "B,ME15 6AA,Freehold,,,,,,,450000\n"
        "C,ME16 8AB,Leasehold,,,2029-03-31,,1 year,,\n",
    )
    assert report.accepted == 3 and quarantine.empty
    a = sites.loc["A"]
    assert (a["next_break"], a["last_break"], a["lease_expiry"], a["rent_review"]) == (
        "2027-06-01",
        "2030-06-01",
        "2035-05-31",
        "2028-01-01",
    )
    assert (a["notice_months"], a["break_penalty_gbp"], a["capital_value_gbp"]) == (
        6.0,
        25_000.0,
        1_200_000.0,
    )
    b = sites.loc["B"]
    assert b["next_break"] == "" and math.isnan(b["notice_months"])
    assert b["capital_value_gbp"] == 450_000
    assert sites.loc["C", "notice_months"] == 12.0


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (
            "X,ME14 1XQ,Leasehold,soon,,,,,,",
            "Earliest break date",
            "next lease break is not a date",
        ),
        ("X,ME14 1XQ,Leasehold,,never,,,,,", "Last break date", "last lease break is not a date"),
        ("X,ME14 1XQ,Leasehold,,,,31/13/2027,,,", "Rent review date", "rent review date is not"),
        ("X,ME14 1XQ,Leasehold,,,,,two,,", "Notice period", "notice period is not a period"),
        ("X,ME14 1XQ,Leasehold,,,,,-3,,", "Notice period", "notice period is not a period"),
        ("X,ME14 1XQ,Leasehold,,,,,,lots,", "Break penalty", "break penalty is not an amount"),
        ("X,ME14 1XQ,Leasehold,,,,,,-5,", "Break penalty", "break penalty is negative"),
        ("X,ME14 1XQ,Leasehold,,,,,,,(100)", "Capital value", "capital value is negative"),
        (
            "X,ME14 1XQ,Leasehold,2031-01-01,,2030-01-01,,,,",
            "Earliest break date",
            r"next break \(2031-01-01\) falls after the lease expiry \(2030-01-01\)",
        ),
        (
            "X,ME14 1XQ,Leasehold,,2031-01-01,2030-01-01,,,,",
            "Last break date",
            r"last break \(2031-01-01\) falls after the lease expiry",
        ),
        (
            "X,ME14 1XQ,Leasehold,2029-01-01,2028-01-01,2035-01-01,,,,",
            "Earliest break date",
            r"next break \(2029-01-01\) falls after the last break \(2028-01-01\)",
        ),
    ],
)
def test_each_fault_is_quarantined_with_its_reason(tmp_path, row, column, reason):
    report, sites, quarantine = _import(tmp_path, row + "\nGood,ME15 6AA,Freehold,,,,,,,\n")
    assert report.accepted == 1 and report.quarantined == 1
    assert sites.index.tolist() == ["Good"]
    assert quarantine["column"].tolist() == [column]
    assert quarantine["reason"].str.contains(reason).all(), quarantine["reason"].tolist()


def test_notice_periods_in_words():
    months, bad = parse_notice(
        pd.Series(["6", " 3 mths ", "1 year", "2 yrs", "13 weeks", "90 days", "6m", "", "half"])
    )
    assert [round(float(m), 2) for m in months[:7]] == [6.0, 3.0, 12.0, 24.0, 3.0, 2.96, 6.0]
    assert math.isnan(months[7]) and math.isnan(months[8])
    assert bad.tolist() == [False] * 8 + [True]
