"""The access rule (assetmap.access): restricted sites are seen in full only by their agency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetmap import access
from assetmap.access import Viewer
from assetmap.colocation import colocation_clusters, visible_mask
from assetmap.density import density_by_locality
from assetmap.errors import InvalidArgumentError
from assetmap.maps.static import visible_sites as static_visible_sites
from assetmap.matching import find_candidates
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


def test_every_copy_of_the_rule_agrees_with_access():
    sites = _estate()
    for viewer in (None, "Kent Police", "NHS Trust"):
        expected = access.visible_mask(sites, viewer)
        assert np.array_equal(visible_mask(sites, viewer_agency=viewer), expected)
        shown, hidden = static_visible_sites(sites, viewer)
        assert len(shown) == expected.sum() and hidden == (~expected).sum()


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


def test_density_counts_restricted_sites_and_suppresses_small_counts():
    sites = make_sites(3)
    sites.loc[0, "sensitivity"] = "restricted"
    import geopandas as gpd
    from shapely.geometry import box

    localities = gpd.GeoDataFrame(
        {"code": ["X"], "name": ["Everywhere"]},
        geometry=[box(500_000, 100_000, 700_000, 200_000)],
        crs=27700,
    )
    metrics = density_by_locality(sites, localities).metrics
    assert int(metrics["sites"].iloc[0]) == 3
    assert metrics["sites_display"].iloc[0] == "fewer than 5"
    relaxed = density_by_locality(sites, localities, suppress_below=2).metrics
    assert relaxed["sites_display"].iloc[0] == "3"


def test_suppression_marks_small_counts_with_restricted_sites():
    suppressed, shown = access.suppression(np.array([3, 3, 7]), np.array([1, 0, 1]), 5)
    assert suppressed.tolist() == [True, False, False]
    assert shown.tolist() == ["fewer than 5", "3", "7"]


def test_quarantine_is_shown_only_for_the_viewers_own_sources():
    quarantine = pd.DataFrame({"source_file": ["a.csv", "b.csv", "c.csv"], "value": [1, 2, 3]})
    imports = pd.DataFrame(
        {
            "source_file": ["a.csv", "b.csv", "c.csv"],
            "agency": ["Kent Police", "Kent Police, NHS Trust", "kent  police"],
        }
    )
    assert access.visible_quarantine(quarantine, imports, None).empty
    own = access.visible_quarantine(quarantine, imports, Viewer(user="u", agency="Kent Police"))
    assert own["source_file"].tolist() == ["a.csv", "c.csv"]


def test_only_the_local_user_or_the_sources_agency_may_remove_it():
    local = Viewer(user="me")
    assert access.may_remove_source("Anyone", local)
    signed = Viewer(user="p@x", agency="Kent Police", signed_in=True)
    assert access.may_remove_source("kent police", signed)
    assert not access.may_remove_source("NHS Trust", signed)
    assert not access.may_remove_source("Kent Police", Viewer(user="n", signed_in=True))


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
        visible_mask(_estate(), viewer_agency="")


def test_suppress_below_setting():
    assert access.suppress_below_setting({}) == 5
    assert access.suppress_below_setting({"ASSETMAP_SUPPRESS_BELOW": "10"}) == 10
    with pytest.raises(InvalidArgumentError, match=r"ASSETMAP_SUPPRESS_BELOW='0' is not valid"):
        access.suppress_below_setting({"ASSETMAP_SUPPRESS_BELOW": "0"})


def test_agency_from_a_claim_or_a_mapping_file(tmp_path):
    toml = tmp_path / "agencies.toml"
    toml.write_text('[agencies]\n"Ann@Police.example" = "Kent  Police"\n', encoding="utf-8")
    mapping = access.load_agency_map(toml)
    assert mapping == {"ann@police.example": "Kent Police"}
    claims = {"sub": "ann", "email": "ANN@police.example", "agency": "NHS Trust"}
    assert access.agency_from_claims(claims, claim="agency", mapping=mapping) == "NHS Trust"
    assert access.agency_from_claims(claims, claim="missing", mapping=mapping) == "Kent Police"
    assert access.agency_from_claims({"sub": "x"}, claim="agency", mapping=mapping) is None
    csv = tmp_path / "agencies.csv"
    csv.write_text("Email,Agency\nbob@nhs.example,NHS Trust\n", encoding="utf-8")
    assert access.load_agency_map(csv) == {"bob@nhs.example": "NHS Trust"}


def test_bad_agency_maps_are_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"has the suffix '.txt'; expected .toml or"):
        access.load_agency_map(tmp_path / "a.txt")
    with pytest.raises(InvalidArgumentError, match=r"cannot be read \(FileNotFoundError\)"):
        access.load_agency_map(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("agencies = 3\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"has no \[agencies\] table"):
        access.load_agency_map(bad)
    bad.write_text("[agencies\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"is not valid TOML"):
        access.load_agency_map(bad)
    bad.write_text('[agencies]\nnobody = "X"\n"a@b" = ""\n', encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"entry 1: 'nobody' is not an e-mail.*entry 2"):
        access.load_agency_map(bad)
    csv = tmp_path / "bad.csv"
    csv.write_text("user,org\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"expected email and agency"):
        access.load_agency_map(csv)
