"""Corrections of a site's record by its own agency: checked, written through, kept over imports.

Kent Police holds Maidstone Police Office (UPRN 100000, also reported by Medway
Council as its Shared Office: a shared site) and Tonbridge Police Station.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from assetmap.access import Viewer, visible_sites
from assetmap.cli import main
from assetmap.errors import (
    ConflictError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from assetmap.exchange.amendments import (
    AMENDABLE,
    REAPPLIED,
    amend,
    amendments,
    reapply,
    withdraw_amendment,
)
from assetmap.store.interface import EDITABLE_FIELDS
from tests.exchange_estates import (
    COUNCIL,
    NOBODY,
    POLICE,
    as_,
    estate_fixtures,
    fixed_clock_at,
    import_as,
)

HEADER = (
    "Property reference,Site name,Postcode,UPRN,Use,Tenure,GIA (sq ft),Annual running cost,"
    "Lease expiry,Security Classification\n"
)
OFFICE = "P1,Maidstone Police Office,ME14 1XX,100000,Office,Freehold,95000,£400000,,OFFICIAL\n"
STATION = "P2,Tonbridge Police Station,TN9 1SP,,Police station,Leasehold,12000,,2030-01-01,\n"
POLICE_SITES = HEADER + OFFICE + STATION
COUNCIL_SITES = (
    "Property reference,Site name,Postcode,UPRN,GIA (sq ft)\n"
    "C1,Shared Office,ME14 1XX,100000,5000\n"
)
AT = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC)


fixed_clock = fixed_clock_at(AT)


def police_import(location, text: str = POLICE_SITES):
    return import_as(location, POLICE, text, "police.csv", "police")


def fill(location):
    police_import(location)
    import_as(location, COUNCIL, COUNCIL_SITES, "council.csv", "council")
    return location


estate, any_estate = estate_fixtures(fill)


def site(location, name: str = "Maidstone Police Office", viewer: Viewer = POLICE) -> pd.Series:
    sites = as_(location, viewer).sites()
    return sites[sites["name"] == name].iloc[0]


def office_id(location) -> str:
    return str(site(location)["site_id"])


def listed(location, viewer: Viewer = POLICE) -> pd.DataFrame:
    return amendments(as_(location, viewer), viewer)


# --------------------------------------------------------------------------- amending


def test_the_fields_a_site_may_be_corrected_in():
    # every field of a site an exchange change may write, but the spare space (the offer's)
    assert "surplus_sqft" in EDITABLE_FIELDS["sites"]
    assert AMENDABLE == tuple(f for f in EDITABLE_FIELDS["sites"] if f != "surplus_sqft")
    assert len(AMENDABLE) == 7 and "use_class" in AMENDABLE and "sensitivity" in AMENDABLE


@pytest.mark.parametrize(
    ("field", "value", "stored", "old"),
    [
        ("floor_area_sqft", "100,000", 100_000.0, "95000"),
        ("floor_area_sqft", 0, 0.0, "95000"),
        ("running_cost_gbp", "£12,500", 12_500.0, "400000"),
        ("tenure", "Leasehold", "leasehold", "freehold"),
        ("lease_expiry", "31/03/2031", "2031-03-31", ""),
        ("lease_expiry", dt.date(2031, 3, 31), "2031-03-31", ""),
        ("use_class", "Depot", "depot", "office"),
        ("sensitivity", "OFFICIAL-SENSITIVE", "restricted", "open"),
    ],
)
def test_each_field_is_checked_written_through_and_kept(estate, field, value, stored, old):
    amendment_id = amend(
        as_(estate, POLICE), POLICE, office_id(estate), field, value, reason="surveyed"
    )
    assert site(estate)[field] == stored
    row = listed(estate).set_index("amendment_id").loc[amendment_id]
    assert (row["field"], row["old"], row["state"], row["version"]) == (
        field,
        old,
        "standing",
        1,
    )
    assert row["new"] == (stored if isinstance(stored, str) else f"{stored:g}")
    assert (row["agency"], row["by"], row["reason"]) == ("Kent Police", POLICE.user, "surveyed")
    assert row["at"] == "2026-12-05T09:30:00+00:00"
    assert row["name"] == "Maidstone Police Office"


def test_a_new_use_brings_its_use_class_and_withdrawing_it_restores_both(estate):
    amendment_id = amend(as_(estate, POLICE), POLICE, office_id(estate), "use", "GP surgery")
    assert (site(estate)["use"], site(estate)["use_class"]) == ("GP surgery", "clinical")
    kept = listed(estate)
    assert kept["field"].tolist() == ["use", "use_class"]
    withdraw_amendment(as_(estate, POLICE), POLICE, amendment_id, version=1)
    assert (site(estate)["use"], site(estate)["use_class"]) == ("Office", "office")
    assert listed(estate)["state"].tolist() == ["withdrawn", "withdrawn"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("floor_area_sqft", -5, "the floor area -5 is not valid; expected a number of sq ft, 0"),
        ("floor_area_sqft", "big", "the floor area 'big' is not valid"),
        ("floor_area_sqft", True, "the floor area True is not valid"),
        ("running_cost_gbp", "lots", "the running cost 'lots' is not valid; expected an amount"),
        ("lease_expiry", "soon", "the lease expiry 'soon' is not a date; expected a date such"),
        ("sensitivity", "purple", "the sensitivity 'purple' is not recognised"),
        ("use", "  ", "the use is empty"),
        ("use_class", "spaceship", "use_class='spaceship' is not valid; expected one of"),
        ("tenure", 5, "the tenure 5 is not valid; expected text"),
        ("surplus_sqft", 10, "field='surplus_sqft' is not valid; expected one of"),
        ("name", "Other", "field='name' is not valid"),
    ],
)
def test_a_value_the_importer_would_refuse_is_refused_and_nothing_changes(
    estate, field, value, message
):
    before = as_(estate, POLICE).sites()
    with pytest.raises(InvalidArgumentError, match=message):
        amend(as_(estate, POLICE), POLICE, office_id(estate), field, value)
    pd.testing.assert_frame_equal(as_(estate, POLICE).sites(), before)
    assert len(listed(estate)) == 0


def test_every_problem_is_said_at_once(estate):
    with pytest.raises(
        InvalidArgumentError,
        match=r"the floor area 'x' is not valid; .*; reason=5 is not valid; expected text",
    ):
        amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", "x", reason=5)


def test_a_value_the_site_already_has_is_refused(estate):
    with pytest.raises(
        InvalidArgumentError,
        match=r"The floor area \(sq ft\) of Maidstone Police Office is already '95000'",
    ):
        amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 95_000)


def test_only_the_sites_own_agency_may_correct_it(estate):
    shared = site(estate, "Shared Office", COUNCIL)
    with pytest.raises(
        PermissionDeniedError,
        match=f"Site {shared['site_id']} is Medway Council's: only Medway Council may correct",
    ):
        amend(as_(estate, POLICE), POLICE, shared["site_id"], "floor_area_sqft", 1)
    with pytest.raises(PermissionDeniedError, match=r"Set \$ASSETMAP_AGENCY or sign in"):
        amend(as_(estate, NOBODY), NOBODY, office_id(estate), "floor_area_sqft", 1)
    with pytest.raises(DataNotFoundError, match="There is no site S-none that you can see"):
        amend(as_(estate, POLICE), POLICE, "S-none", "floor_area_sqft", 1)
    assert len(listed(estate)) == 0


def test_a_second_correction_replaces_the_first_and_keeps_the_registers_value(estate):
    first = amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 100_000)
    second = amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 98_000)
    kept = listed(estate).set_index("amendment_id")
    assert (kept.loc[first, "state"], kept.loc[first, "version"]) == ("replaced", 2)
    assert (kept.loc[second, "state"], kept.loc[second, "old"]) == ("standing", "95000")
    assert site(estate)["floor_area_sqft"] == 98_000
    withdraw_amendment(as_(estate, POLICE), POLICE, second, version=1)
    assert site(estate)["floor_area_sqft"] == 95_000


# --------------------------------------------------------------------------- re-import


def test_a_correction_survives_a_reimport_of_an_unchanged_file_silently(estate):
    amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 100_000)
    report = police_import(estate)
    assert report.amendments == []
    assert "correction" not in report.summary()
    assert site(estate)["floor_area_sqft"] == 100_000


def test_a_correction_the_file_changed_underneath_is_reported_once_and_still_stands(estate):
    amendment_id = amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 1e5)
    changed = POLICE_SITES.replace(",95000,", ",96000,")
    report = police_import(estate, changed)
    assert report.amendments == [
        {
            "amendment_id": amendment_id,
            "layer": "sites",
            "row_id": office_id(estate),
            "name": "Maidstone Police Office",
            "field": "floor_area_sqft",
            "was": "95000",
            "now": "96000",
            "amended_to": "100000",
            "message": "Maidstone Police Office: the register's floor area (sq ft) was 95,000 "
            f"and now says 96,000; amended to 100,000: {REAPPLIED}.",
        }
    ]
    assert report.amendments[0]["message"] in report.summary()
    stored = as_(estate, POLICE).report("police.csv", "Kent Police")
    assert stored["amendments"] == report.amendments
    assert site(estate)["floor_area_sqft"] == 100_000
    kept = listed(estate).set_index("amendment_id").loc[amendment_id]
    assert (kept["old"], kept["new"], kept["version"]) == ("96000", "100000", 2)
    assert police_import(estate, changed).amendments == []  # said once
    # withdrawing it now gives the register's value as the file says it
    withdraw_amendment(as_(estate, POLICE), POLICE, amendment_id, version=2)
    assert site(estate)["floor_area_sqft"] == 96_000


def test_the_command_lines_import_prints_the_corrections_reported(estate, tmp_path, capsys):
    amend(as_(estate, POLICE), POLICE, office_id(estate), "tenure", "leasehold")
    register = tmp_path / "police.csv"
    register.write_text(POLICE_SITES.replace(",Freehold,", ",Licence,"), encoding="utf-8")
    args = ["import", str(register), "--store", str(estate), "--agency", "Kent Police"]
    assert main([*args, "--sector", "police"]) == 0
    out = capsys.readouterr().out
    assert (
        "  correction: Maidstone Police Office: the register's tenure was freehold and now says "
        f"licence; amended to leasehold: {REAPPLIED}." in out.splitlines()
    )


def test_reapply_sets_each_standing_amendment_by_row_id_and_reports_only_changes():
    rows = pd.DataFrame(
        {
            "request_id": ["Q1", "Q2", "Q3"],
            "source_ref": ["H1", "H2", "H3"],
            "space_needed_sqft": [40_000.0, 5_000.0, 1_000.0],
            "needed_by": ["", "2027-01-01", ""],
        }
    )
    kept = pd.DataFrame(
        {
            "amendment_id": ["A1", "A2", "A3", "A4"],
            "layer": ["requests"] * 4,
            "row_id": ["Q1", "Q2", "Q9", "Q3"],
            "field": ["space_needed_sqft", "needed_by", "space_needed_sqft", "space_needed_sqft"],
            "old": ["40000", "2026-06-01", "1", "1000"],
            "new": ["0", "2027-06-01", "2", "500"],
            "state": ["standing", "standing", "standing", "withdrawn"],
        }
    )
    new, changed = reapply(rows, kept, layer="requests")
    assert new["space_needed_sqft"].tolist() == [0.0, 5_000.0, 1_000.0]
    assert new["needed_by"].tolist() == ["", "2027-06-01", ""]
    assert rows["space_needed_sqft"].tolist() == [40_000.0, 5_000.0, 1_000.0]  # a copy
    assert [(c["amendment_id"], c["was"], c["now"], c["amended_to"]) for c in changed] == [
        ("A2", "2026-06-01", "2027-01-01", "2027-06-01")
    ]
    assert changed[0]["name"] == "H2"
    with pytest.raises(InvalidArgumentError, match="layer='sitez' is not valid"):
        reapply(rows, kept, layer="sitez")


# --------------------------------------------------------------------------- withdrawing


def test_withdrawing_restores_the_registers_value_and_is_refused_when_stale_or_not_yours(
    estate,
):
    amendment_id = amend(as_(estate, POLICE), POLICE, office_id(estate), "running_cost_gbp", 1)
    assert site(estate)["running_cost_gbp"] == 1
    # another agency does not know of it (an amendment is its own agency's only)
    with pytest.raises(
        DataNotFoundError, match=f"There is no amendment {amendment_id} that you can see"
    ):
        withdraw_amendment(as_(estate, COUNCIL), COUNCIL, amendment_id, version=1)
    with pytest.raises(ConflictError, match=r"is standing \(version 1\), not as you read it"):
        withdraw_amendment(as_(estate, POLICE), POLICE, amendment_id, version=3)
    withdraw_amendment(as_(estate, POLICE), POLICE, amendment_id, version=1)
    assert site(estate)["running_cost_gbp"] == 400_000
    with pytest.raises(ConflictError, match=r"is withdrawn \(version 2\), not as you read it"):
        withdraw_amendment(as_(estate, POLICE), POLICE, amendment_id, version=1)
    with pytest.raises(DataNotFoundError, match="There is no amendment A0 that you can see"):
        withdraw_amendment(as_(estate, POLICE), POLICE, "A0", version=1)


# --------------------------------------------------------------------------- sensitivity


def test_a_site_made_restricted_is_hidden_from_others_with_its_amendments_and_shared_flag(
    estate,
):
    before = as_(estate, COUNCIL).sites()
    assert (before["shared_group"] != "").sum() == 2  # the office and the council's
    amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 90_000)
    assert len(listed(estate, COUNCIL)) == 0  # an open site's correction is its agency's only
    assert len(listed(estate, POLICE)) == 1
    amend(as_(estate, POLICE), POLICE, office_id(estate), "sensitivity", "restricted")
    sites = as_(estate, COUNCIL).sites()
    seen = visible_sites(sites, COUNCIL)
    assert "Maidstone Police Office" not in set(seen["name"])
    assert "Maidstone Police Office" in set(visible_sites(sites, POLICE)["name"])
    assert (sites["shared_group"] == "").all()  # no flag left to point at it
    assert len(listed(estate, COUNCIL)) == 0
    assert len(listed(estate, NOBODY)) == 0
    assert len(listed(estate, POLICE)) == 2
    # the restricted site is no one else's to find, correct or not
    with pytest.raises(DataNotFoundError, match=r"There is no site S[0-9a-f]+ that you can see"):
        amend(as_(estate, COUNCIL), COUNCIL, office_id(estate), "floor_area_sqft", 1)
    # and it stays restricted through a re-import of the register that says OFFICIAL
    police_import(estate)
    assert site(estate)["sensitivity"] == "restricted"
    assert (as_(estate, COUNCIL).sites()["shared_group"] == "").all()


# --------------------------------------------------------------------------- on each store


def test_a_correction_on_each_store_survives_a_reimport_and_is_withdrawn(any_estate):
    amendment_id = amend(
        as_(any_estate, POLICE), POLICE, office_id(any_estate), "floor_area_sqft", 100_000
    )
    assert site(any_estate)["floor_area_sqft"] == 100_000
    report = police_import(any_estate, POLICE_SITES.replace(",95000,", ",96000,"))
    assert [(a["was"], a["now"], a["amended_to"]) for a in report.amendments] == [
        ("95000", "96000", "100000")
    ]
    assert site(any_estate)["floor_area_sqft"] == 100_000
    assert len(listed(any_estate, POLICE)) == 1
    assert len(listed(any_estate, COUNCIL)) == 0
    withdraw_amendment(as_(any_estate, POLICE), POLICE, amendment_id, version=2)
    assert site(any_estate)["floor_area_sqft"] == 96_000


# --------------------------------------------------------------------------- refusals, owners


def test_a_correction_and_its_withdrawal_allowed_or_refused_each_write_an_audit_line(estate):
    store = as_(estate, POLICE)
    shared = str(site(estate, "Shared Office", COUNCIL)["site_id"])
    with pytest.raises(PermissionDeniedError, match="only Medway Council may correct its record"):
        amend(store, POLICE, shared, "floor_area_sqft", 1)
    with pytest.raises(DataNotFoundError, match="There is no amendment A0 that you can see"):
        withdraw_amendment(store, POLICE, "A0", version=1)
    first = amend(store, POLICE, office_id(estate), "floor_area_sqft", 90_000)
    withdraw_amendment(store, POLICE, first, version=1)
    lines = [
        (e["action"], e["user"], e["what"])
        for e in store.audit_entries()
        if str(e["action"]).startswith("exchange")
    ]
    assert lines == [
        (
            "exchange refused",
            POLICE.user,
            f"correct floor_area_sqft of site {shared}: Site {shared} is Medway Council's: "
            "only Medway Council may correct its record.",
        ),
        (
            "exchange refused",
            POLICE.user,
            "withdraw amendment A0: There is no amendment A0 that you can see.",
        ),
        (
            "exchange",
            POLICE.user,
            f"amendment {first}: floor_area_sqft of site {office_id(estate)} corrected",
        ),
        ("exchange", POLICE.user, f"amendment {first} withdrawn"),
    ]


def test_an_amendment_is_seen_only_by_the_agency_whose_source_holds_its_row(estate):
    """And the local user (not signed in) also sees those of a source of no agency."""
    local = Viewer("local user", agency="Kent Police", signed_in=False)
    import_as(
        estate,
        local,
        "Property reference,Site name,Postcode,Agency,GIA (sq ft)\n"
        "L1,Aylesford Depot,ME14 1XX,Kent Police,5000\n",
        "depot.csv",
        "police",
    )
    depot = site(estate, "Aylesford Depot", local)
    assert depot["source_owner"] == ""  # a source of no agency
    on_depot = amend(as_(estate, local), local, str(depot["site_id"]), "floor_area_sqft", 6_000)
    on_office = amend(as_(estate, POLICE), POLICE, office_id(estate), "floor_area_sqft", 90_000)
    assert set(listed(estate, POLICE)["amendment_id"]) == {on_office}
    assert set(listed(estate, local)["amendment_id"]) == {on_depot, on_office}
    assert listed(estate, local).set_index("amendment_id").loc[on_depot, "name"] == (
        "Aylesford Depot"
    )
    # the council may see both sites, but neither correction
    assert {"Aylesford Depot", "Maidstone Police Office"} <= set(
        visible_sites(as_(estate, COUNCIL).sites(), COUNCIL)["name"]
    )
    assert len(listed(estate, COUNCIL)) == 0
    assert len(listed(estate, Viewer("visitor"))) == 1  # a local user of no agency: the depot's
