"""The access rule (assetmap.access): restricted sites are seen only by their agency."""

from __future__ import annotations

import pandas as pd
import pytest

from assetmap import access, colocation
from assetmap.access import Viewer
from assetmap.colocation import colocation_clusters
from assetmap.density import density_by_locality
from assetmap.errors import InvalidArgumentError, PermissionDeniedError
from assetmap.matching import candidates, find_candidates, result
from tests.maps.factories import make_sites


def _estate() -> pd.DataFrame:
    sites = make_sites(12)
    sites.loc[[0, 1], "sensitivity"] = "restricted"
    sites.loc[0, "agency"] = "Kent Police"
    sites.loc[1, "agency"] = "NHS Trust"
    return sites


def test_restricted_rows_are_seen_only_by_their_own_agency_any_case_or_spacing():
    sites = _estate()
    assert list(access.visible_mask(sites, None)[:2]) == [False, False]
    mask = access.visible_mask(sites, Viewer(user="a", agency="  kent   POLICE "))
    assert list(mask[:2]) == [True, False] and mask[2:].all()
    assert list(access.visible_mask(sites, "nhs trust")[:2]) == [False, True]
    assert len(access.visible_sites(sites, None)) == 10
    assert access.visible_sites(sites, "Kent Police").index.tolist()[0] == 0


def test_sensitivity_is_read_without_regard_to_case_and_a_table_without_it_is_open():
    frame = pd.DataFrame({"agency": ["A", "B"], "sensitivity": [" Restricted ", "open"]})
    assert access.is_restricted(frame).tolist() == [True, False]
    assert access.visible_mask(pd.DataFrame({"agency": ["A"]})).tolist() == [True]


def test_co_location_and_matching_use_the_one_rule_of_access():
    # One rule, one name: no module keeps a look-alike of access.visible_mask.
    assert not hasattr(colocation, "visible_mask")
    assert candidates.visible_mask is result.visible_mask is access.visible_mask


def test_colocation_and_matching_leave_out_other_agencies_restricted_sites():
    sites = make_sites(40)
    sites.loc[:, "sensitivity"] = "restricted"
    sites.loc[:, "agency"] = "Secret Agency"
    result = colocation_clusters(sites, distance=50_000)
    assert result.members.empty
    sites.loc[:, "surplus_sqft"] = 1_000.0
    requests = make_sites(1, seed=3)
    requests = requests.assign(
        request_id="R1",
        space_needed_sqft=500.0,
        max_distance_m=100_000.0,
        needed_by="",
        locality="",
        agency="Other Agency",
    )
    match = find_candidates(requests, sites)
    assert match.candidates.empty
    assert len(find_candidates(requests, sites, viewer_agency="secret agency").offers) == 40


def test_density_withholds_other_agencies_restricted_sites_and_counts_the_owners():
    sites = make_sites(3)
    sites.loc[0, "sensitivity"] = "restricted"
    sites.loc[0, "agency"] = "Kent Police"
    import geopandas as gpd
    from shapely.geometry import box

    localities = gpd.GeoDataFrame(
        {"code": ["X"], "name": ["Everywhere"]},
        geometry=[box(500_000, 100_000, 700_000, 200_000)],
        crs=27700,
    )
    nobody = density_by_locality(sites, localities).metrics
    assert int(nobody["sites"].iloc[0]) == 2 and int(nobody["restricted_sites"].iloc[0]) == 0
    assert "sites_display" not in nobody.columns and "suppressed" not in nobody.columns
    police = density_by_locality(sites, localities, viewer="kent police").metrics
    assert int(police["sites"].iloc[0]) == 3 and int(police["restricted_sites"].iloc[0]) == 1


def test_quarantine_is_shown_only_for_the_viewers_own_sources():
    quarantine = pd.DataFrame(
        {
            "source_file": ["a.csv", "b.csv", "c.csv"],
            "source_owner": ["Kent Police", "", "kent  police"],
            "value": [1, 2, 3],
        }
    )
    assert access.visible_quarantine(quarantine, None).empty
    own = access.visible_quarantine(quarantine, Viewer(user="u", agency="Kent Police"))
    assert own["source_file"].tolist() == ["a.csv", "c.csv"]
    assert access.visible_quarantine(quarantine, Viewer(user="u")).empty


def test_the_import_log_shows_counts_and_hashes_only_of_the_viewers_own_sources():
    log = pd.DataFrame(
        {
            "source_file": ["a.csv", "b.csv"],
            "source_owner": ["Kent Police", "NHS Trust"],
            "accepted": pd.Series([5, 7], dtype="int64"),
            "source_sha256": ["aa", "bb"],
        }
    )
    seen = access.visible_imports(log, "kent police")
    assert seen["source_file"].tolist() == ["a.csv", "b.csv"]
    assert seen["accepted"].tolist()[0] == 5 and pd.isna(seen["accepted"].iloc[1])
    assert seen["source_sha256"].tolist()[0] == "aa" and pd.isna(seen["source_sha256"].iloc[1])
    assert access.visible_imports(log, None)["accepted"].isna().all()
    # a register's list of agencies may name one whose only rows are restricted
    log["agency"] = ["Kent Police", "NHS Trust, Womens Aid"]
    seen = access.visible_imports(log, "kent police")
    assert seen["agency"].iloc[0] == "Kent Police" and pd.isna(seen["agency"].iloc[1])


def test_a_signed_in_user_imports_only_as_their_own_agency():
    signed = Viewer(user="p@x", agency="Kent Police", signed_in=True)
    assert access.import_owner(signed, None) == ("Kent Police", "Kent Police")
    assert access.import_owner(signed, "kent  POLICE") == ("Kent Police", "Kent Police")
    with pytest.raises(PermissionDeniedError, match=r"may import rows only as Kent Police, not"):
        access.import_owner(signed, "NHS Trust")
    with pytest.raises(PermissionDeniedError, match=r"signed in with no agency"):
        access.import_owner(Viewer(user="n", signed_in=True), None)
    assert access.import_owner(Viewer(user="me"), "NHS Trust") == ("NHS Trust", "NHS Trust")
    assert access.import_owner(None, None) == ("", None)


def test_only_the_local_user_or_the_sources_agency_may_remove_it():
    local = Viewer(user="me")
    assert access.may_remove_source("Anyone", local)
    signed = Viewer(user="p@x", agency="Kent Police", signed_in=True)
    assert access.may_remove_source("kent police", signed)
    assert not access.may_remove_source("NHS Trust", signed)
    assert not access.may_remove_source("Kent Police", Viewer(user="n", signed_in=True))
    assert not access.may_remove_source("", signed)  # a source of no agency: the local user's


def test_local_viewer_takes_its_agency_from_the_environment():
    assert access.local_viewer({}).agency is None
    viewer = access.local_viewer({"ASSETMAP_AGENCY": "  Kent   Police "})
    assert viewer.agency == "Kent Police" and not viewer.signed_in
    assert "local user" in viewer.describe() and "Kent Police" in viewer.describe()
    assert "ASSETMAP_AGENCY" in access.local_viewer({}).describe()


def test_bad_viewers_are_refused_with_every_problem():
    with pytest.raises(InvalidArgumentError, match=r"user='' is not valid.*agency='  ' is not"):
        Viewer(user="", agency="  ")
    with pytest.raises(InvalidArgumentError, match=r"viewer=3 is not valid; expected None"):
        access.visible_mask(_estate(), 3)
    with pytest.raises(InvalidArgumentError, match=r"viewer_agency='' is not valid"):
        colocation_clusters(_estate(), viewer_agency="")
