"""Surplus-space matching: candidates, reasons and the optimal allocation plan."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap import matching
from assetmap.cli import main
from assetmap.errors import InvalidArgumentError
from assetmap.matching import (
    SIZE_WEIGHT,
    USE_COMPATIBILITY,
    AllocationPlan,
    MatchResult,
    allocate,
    allocation,
    find_candidates,
    offers_from_sites,
)
from assetmap.sample import sample_registers
from assetmap.savings import DEFAULT_COST_PER_SQFT
from assetmap.schema import USE_CLASSES
from assetmap.store import open_store
from tests.estates import X0, Y0, geo_frame

AS_OF = "2026-01-01"

POLICE = {"agency": "Kent Police", "sector": "police"}
HEALTH = {"agency": "Kent Community Health NHS Foundation Trust", "sector": "health"}
COUNCIL = {"agency": "Maidstone Borough Council", "sector": "council"}


def offers(*records: dict) -> gpd.GeoDataFrame:
    """Sites offering space: ``x``, ``y`` in metres from (X0, Y0), ``surplus_sqft`` and more."""
    defaults = {
        "site_id": "",
        "name": "",
        **POLICE,
        "use_class": "office",
        "tenure": "freehold",
        "floor_area_sqft": 100_000.0,
        "surplus_sqft": 0.0,
        "lease_expiry": "",
        "sensitivity": "open",
    }
    numbered = [{"site_id": f"S{i}", "name": f"Offer {i}", **r} for i, r in enumerate(records)]
    return geo_frame(numbered, defaults)


def requests(*records: dict) -> gpd.GeoDataFrame:
    """Space requests: ``x``, ``y`` (None = no point), ``space_needed_sqft`` and more."""
    defaults = {
        "request_id": "",
        "source_ref": "",
        **HEALTH,
        "space_needed_sqft": 1_000.0,
        "use_class": "office",
        "locality": "",
        "max_distance_m": 10_000.0,
        "needed_by": "2027-03-31",
        "sensitivity": "open",
    }
    numbered = [
        {"request_id": f"R{i}", "source_ref": f"REQ-{i}", **r} for i, r in enumerate(records)
    ]
    return geo_frame(numbered, defaults)


def plan_for(reqs, offs, **kwargs) -> AllocationPlan:
    allocate_kw = {k: kwargs.pop(k) for k in ("allow_split", "time_limit") if k in kwargs}
    return allocate(find_candidates(reqs, offs, as_of=AS_OF, **kwargs), **allocate_kw)


# candidates --------------------------------------------------------------


def test_candidates_are_scored_ranked_and_explained():
    reqs = requests({"x": 0, "y": 0, "space_needed_sqft": 40_000})
    offs = offers(
        {"x": 3_200, "y": 0, "surplus_sqft": 40_000},
        {"x": 500, "y": 0, "surplus_sqft": 10_000, **COUNCIL, "use_class": "community"},
        {"x": 20_000, "y": 0, "surplus_sqft": 40_000},  # out of reach
        {"x": 100, "y": 0, "surplus_sqft": 0},  # no surplus: not an offer
    )
    match = find_candidates(reqs, offs, as_of=AS_OF)
    c = match.candidates
    assert c["offer"].tolist() == [0, 1]
    assert c["rank"].tolist() == [1, 2]
    assert c["score"].iloc[0] == pytest.approx(SIZE_WEIGHT * 1.0 + (1 - SIZE_WEIGHT) * 0.68)
    assert c["score"].iloc[1] == pytest.approx(SIZE_WEIGHT * 0.25 + (1 - SIZE_WEIGHT) * 0.95)
    assert c["reasons"].iloc[0] == (
        "offers 40,000 sq ft for 40,000 needed (100% fit); 3.2 km away; "
        "office space for an office need"
    )
    assert c["reasons"].iloc[1] == (
        "offers 10,000 sq ft for 40,000 needed (25% fit); 500 m away; "
        "community space for an office need (compatible use)"
    )
    summary = match.requests.iloc[0]
    assert summary["n_candidates"] == 2 and summary["best_site_id"] == "S0"
    assert summary["status"] == "candidates" and summary["reason"] == "2 suitable offers"
    assert match.message == "1 of 1 requests have candidates among 3 offers (2 candidates)."
    assert match.for_request("REQ-0")["site_id"].tolist() == ["S0", "S1"]
    with pytest.raises(InvalidArgumentError, match="request='nope' is not a request here"):
        match.for_request("nope")
    lines = match.lines()
    assert lines.crs.to_epsg() == 27700
    assert lines.geometry.iloc[0].equals(shapely.LineString([(X0 + 3_200, Y0), (X0, Y0)]))


def test_size_weight_changes_the_ranking():
    reqs = requests({"x": 0, "y": 0, "space_needed_sqft": 5_000})
    offs = offers(
        {"x": 100, "y": 0, "surplus_sqft": 1_000},
        {"x": 9_000, "y": 0, "surplus_sqft": 5_000},
    )
    by_size = find_candidates(reqs, offs, as_of=AS_OF, size_weight=1.0)
    by_distance = find_candidates(reqs, offs, as_of=AS_OF, size_weight=0.0)
    assert by_size.candidates["offer"].tolist() == [1, 0]
    assert by_distance.candidates["offer"].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("offer_row", "request_row", "reason"),
    [
        (
            {"x": 20_000, "y": 0, "surplus_sqft": 5_000},
            {"x": 0, "y": 0},
            "no offer of spare space within 10,000 m",
        ),
        (
            {"x": 100, "y": 0, "surplus_sqft": 5_000, **HEALTH},
            {"x": 0, "y": 0},
            "the only offers within 10,000 m are the requester's own agency's",
        ),
        (
            {"x": 100, "y": 0, "surplus_sqft": 5_000, "use_class": "office"},
            {"x": 0, "y": 0, "use_class": "clinical", "max_distance_m": 2_000},
            "no offer within 2,000 m suits a clinical need (it accepts clinical space)",
        ),
        (
            {"x": 100, "y": 0, "surplus_sqft": 5_000, "lease_expiry": "2026-06-30"},
            {"x": 0, "y": 0, "needed_by": "2027-01-01"},
            "every suitable offer within 10,000 m has a lease ending by 2027-01-01",
        ),
        (
            {"x": 100, "y": 0, "surplus_sqft": 5_000, "lease_expiry": "2025-06-30"},
            {"x": 0, "y": 0, "needed_by": ""},
            f"every suitable offer within 10,000 m has a lease ending by {AS_OF}",
        ),
        (
            {"x": 100, "y": 0, "surplus_sqft": 5_000},
            {"x": None, "y": None, "locality": "Maidstone"},
            "no point location (placed only by its locality 'Maidstone')",
        ),
        (
            {"x": 100, "y": 0, "surplus_sqft": 5_000},
            {"x": 0, "y": 0, "space_needed_sqft": 50_000},
            "needs 50,000 sq ft; the largest suitable offer within reach has 5,000 sq ft",
        ),
    ],
)
def test_each_filter_explains_an_empty_or_short_list(offer_row, request_row, reason):
    match = find_candidates(requests(request_row), offers(offer_row), as_of=AS_OF)
    assert match.requests["reason"].tolist() == [reason]
    plan = allocate(match)
    assert plan.unmatched["reason"].iloc[0].startswith(reason)


def test_an_offer_whose_lease_outlasts_the_need_passes():
    match = find_candidates(
        requests({"x": 0, "y": 0, "needed_by": "2027-01-01"}),
        offers({"x": 100, "y": 0, "surplus_sqft": 5_000, "lease_expiry": "2030-01-01"}),
        as_of=AS_OF,
    )
    assert match.candidates["reasons"].iloc[0].endswith("; lease runs to 2030-01-01")


def test_use_compatibility_table_covers_every_use_class():
    assert set(USE_COMPATIBILITY) == set(USE_CLASSES)
    for need, uses in USE_COMPATIBILITY.items():
        assert uses[0] == need and set(uses) <= set(USE_CLASSES)
    assert USE_COMPATIBILITY["clinical"] == ("clinical",)
    assert USE_COMPATIBILITY["office"] == ("office", "community")


def test_no_offers_no_requests_and_everything_restricted_are_explained():
    reqs = requests({"x": 0, "y": 0})
    none = find_candidates(reqs, offers({"x": 0, "y": 0, "surplus_sqft": 0}), as_of=AS_OF)
    assert none.message == "No matches: no site offers spare space (surplus_sqft > 0)."
    assert none.requests["reason"].tolist() == ["there are no offers of spare space"]
    plan = allocate(none)
    assert plan.status == "nothing to allocate" and plan.gap is None and plan.empty
    assert plan.message.startswith("Nothing to allocate. No matches: no site offers")
    assert plan.total_sqft == 0 and plan.saving_gbp == 0
    no_sites = find_candidates(reqs, offers(), as_of=AS_OF)
    assert no_sites.message == "No matches: there are no sites."
    no_requests = find_candidates(requests(), offers({"x": 0, "y": 0, "surplus_sqft": 5}))
    assert no_requests.message == "No matches: there are no open space requests."
    assert allocate(no_requests).empty
    hidden = find_candidates(
        requests({"x": 0, "y": 0, "sensitivity": "restricted"}),
        offers({"x": 0, "y": 0, "surplus_sqft": 5}),
        as_of=AS_OF,
    )
    # withheld rows read as absent ones: the words cannot tell they were there
    assert hidden.message == "No matches: there are no open space requests."
    hidden = find_candidates(
        reqs, offers({"x": 0, "y": 0, "surplus_sqft": 5, "sensitivity": "restricted"})
    )
    assert hidden.message == "No matches: there are no sites."


def test_restricted_offers_are_seen_only_by_their_own_agency():
    reqs = requests({"x": 0, "y": 0})
    offs = offers({"x": 100, "y": 0, "surplus_sqft": 5_000, "sensitivity": "restricted"})
    assert find_candidates(reqs, offs, as_of=AS_OF).empty
    police = find_candidates(reqs, offs, as_of=AS_OF, viewer_agency="Kent Police")
    assert police.candidates["site_id"].tolist() == ["S0"]
    assert len(offers_from_sites(offs)) == 0
    assert len(offers_from_sites(offs, viewer_agency="Kent Police")) == 1


def test_bad_arguments_are_reported_together():
    reqs = requests({"x": 0, "y": 0})
    offs = offers({"x": 0, "y": 0, "surplus_sqft": 5})
    with pytest.raises(InvalidArgumentError) as info:
        find_candidates(
            reqs,
            offs,
            default_max_distance=0,
            size_weight=2,
            as_of="soon",
            viewer_agency="",
            compatibility={"office": ("offices",)},
        )
    message = str(info.value)
    for part in (
        "default_max_distance=0 is not valid; expected a positive number of metres",
        "size_weight=2 is not valid; expected a number in [0, 1]",
        "as_of='soon' is not valid; expected None, a date or an ISO date text",
        "viewer_agency='' is not valid",
        "compatibility names unknown use classes 'offices'",
    ):
        assert part in message
    with pytest.raises(InvalidArgumentError, match="offers is a list; expected a GeoDataFrame"):
        find_candidates(reqs, [])
    with pytest.raises(InvalidArgumentError, match=r"requests lacks the column\(s\) sector"):
        find_candidates(reqs.drop(columns="sector"), offs)


def test_requests_with_non_positive_distances_or_needs_are_refused_by_name():
    reqs = requests(
        {"x": 0, "y": 0, "max_distance_m": 0},
        {"x": 0, "y": 0, "max_distance_m": -5},
        {"x": 0, "y": 0, "max_distance_m": np.nan},  # the default reach applies
        {"x": 0, "y": 0, "space_needed_sqft": -1},
    )
    with pytest.raises(
        InvalidArgumentError,
        match=r"requests.max_distance_m is not valid for REQ-0 \(0\), REQ-1 \(-5\); expected a "
        r"positive number of metres; requests.space_needed_sqft is not valid for REQ-3 \(-1\)",
    ):
        find_candidates(reqs, offers({"x": 0, "y": 0, "surplus_sqft": 5}))
    ok = find_candidates(
        reqs.iloc[[2]], offers({"x": 9_000, "y": 0, "surplus_sqft": 5}), as_of=AS_OF
    )
    assert ok.requests["max_distance_m"].tolist() == [matching.DEFAULT_MAX_DISTANCE_M]
    assert ok.requests["n_candidates"].tolist() == [1]


# the plan ----------------------------------------------------------------


def test_one_offer_hosts_several_requests_up_to_its_capacity():
    reqs = requests(
        {"x": 0, "y": 0, "space_needed_sqft": 4_000},
        {"x": 0, "y": 0, "space_needed_sqft": 3_000},
        {"x": 0, "y": 0, "space_needed_sqft": 3_000},
        {"x": 0, "y": 0, "space_needed_sqft": 2_000},
    )
    plan = plan_for(reqs, offers({"x": 1_000, "y": 0, "surplus_sqft": 10_000}))
    assert plan.status == "optimal" and plan.gap == 0.0 and plan.method == "exact"
    assert plan.total_sqft == 10_000
    assert sorted(plan.assignments["request_ref"]) == ["REQ-0", "REQ-1", "REQ-2"]
    assert plan.offers["assigned_sqft"].tolist() == [10_000]
    assert plan.offers["remaining_sqft"].tolist() == [0]
    assert plan.unmatched["reason"].tolist() == [
        "the spare space at its 1 eligible offer went to other requests: the plan matches "
        "more space in total that way"
    ]
    assert plan.saving_gbp == pytest.approx(10_000 * DEFAULT_COST_PER_SQFT)
    assert plan.saving_estimated
    assert "3 of 4 requests matched: 10,000 sq ft in 3 assignments" in plan.message


def test_the_plan_prefers_more_space_then_nearer_better_fitting_offers():
    reqs = requests(
        {"x": 0, "y": 0, "space_needed_sqft": 6_000},
        {"x": 0, "y": 0, "space_needed_sqft": 5_000},
    )
    offs = offers(
        {"x": 500, "y": 0, "surplus_sqft": 6_000},
        {"x": 8_000, "y": 0, "surplus_sqft": 5_000},
    )
    plan = plan_for(reqs, offs)
    pairs = dict(zip(plan.assignments["request_ref"], plan.assignments["site_id"], strict=True))
    assert pairs == {"REQ-0": "S0", "REQ-1": "S1"}
    near = plan_for(reqs.iloc[[1]], offs)  # the nearer offer fits too: it wins
    assert near.assignments["site_id"].tolist() == ["S0"]
    assert near.assignments["distance_m"].tolist() == [500]


def test_requests_are_split_only_when_allowed():
    reqs = requests({"x": 0, "y": 0, "space_needed_sqft": 10_000})
    offs = offers(
        {"x": 100, "y": 0, "surplus_sqft": 6_000},
        {"x": 200, "y": 0, "surplus_sqft": 5_000, **COUNCIL},
    )
    whole = plan_for(reqs, offs)
    assert whole.empty and whole.status == "nothing to allocate"
    assert whole.unmatched["reason"].tolist() == [
        "needs 10,000 sq ft; the largest suitable offer within reach has 6,000 sq ft "
        "(allowing splits could combine offers)"
    ]
    split = plan_for(reqs, offs, allow_split=True)
    assert split.status == "optimal" and split.method == "linear programme"
    assert split.total_sqft == pytest.approx(10_000)
    assert split.assignments["assigned_sqft"].tolist() == pytest.approx([6_000, 4_000])
    assert split.unmatched.empty


def test_a_time_limit_reports_the_gap():
    rng = np.random.default_rng(5)
    n = 400
    reqs = requests(
        *[
            {"x": x, "y": y, "space_needed_sqft": float(s), "max_distance_m": 6_000.0}
            for x, y, s in zip(
                rng.uniform(0, 60_000, n),
                rng.uniform(0, 60_000, n),
                np.round(np.exp(rng.uniform(6, 10.5, n))),
                strict=True,
            )
        ]
    )
    offs = offers(
        *[
            {"x": x, "y": y, "surplus_sqft": float(s)}
            for x, y, s in zip(
                rng.uniform(0, 60_000, n),
                rng.uniform(0, 60_000, n),
                np.round(np.exp(rng.uniform(6, 11, n))),
                strict=True,
            )
        ]
    )
    plan = plan_for(reqs, offs, time_limit=0.01)
    assert plan.status == "time limit"
    assert plan.gap is not None and 0 <= plan.gap <= 1
    assert "The time limit (0.01 s) stopped the solver: the space matched is within" in (
        plan.message
    )
    _check_capacities(plan)


def test_bad_allocate_arguments():
    match = find_candidates(requests(), offers())
    with pytest.raises(InvalidArgumentError) as info:
        allocate(match, allow_split="yes", time_limit=0, cost_per_sqft=-1)
    message = str(info.value)
    assert "allow_split='yes' is not valid; expected True or False" in message
    assert "time_limit=0 is not valid; expected a positive number of seconds" in message
    assert "cost_per_sqft=-1 is not valid" in message
    with pytest.raises(InvalidArgumentError, match="match is a dict; expected the MatchResult"):
        allocate({})


def test_plan_outputs(tmp_path):
    reqs = requests({"x": 0, "y": 0, "space_needed_sqft": 4_000}, {"x": None, "y": None})
    plan = plan_for(reqs, offers({"x": 3_000, "y": 4_000, "surplus_sqft": 5_000}))
    lines = plan.lines()
    assert lines.geometry.iloc[0].equals(shapely.LineString([(X0 + 3_000, Y0 + 4_000), (X0, Y0)]))
    assert lines["distance_m"].tolist() == [5_000]
    table = plan.table()
    assert table["status"].tolist() == ["assigned", "unmatched"]
    assert table["reason"].tolist()[1] == "no point location"
    plan.to_csv(tmp_path / "plan.csv")
    assert pd.read_csv(tmp_path / "plan.csv")["request_ref"].tolist() == ["REQ-0", "REQ-1"]
    plan.to_gpkg(tmp_path / "plan.gpkg")
    assert dict(pyogrio.list_layers(tmp_path / "plan.gpkg")) == {
        "assignments": "LineString",
        "candidates": "LineString",
        "unmatched": "Point",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv", "plan.gpkg"]


# property-based: the plan against brute force ----------------------------


def _check_capacities(plan: AllocationPlan) -> None:
    used = plan.assignments.groupby("offer")["assigned_sqft"].sum()
    capacity = plan.match.offers["surplus_sqft"]
    assert (used <= capacity.loc[used.index] + 1e-6).all()
    placed = plan.assignments.groupby("request")["assigned_sqft"].sum()
    need = plan.match.requests["need_sqft"]
    assert (placed <= need.loc[placed.index] + 1e-6).all()


def _brute_force(match: MatchResult) -> tuple[float, float]:
    """The best (space, score) over every way of giving each request one offer or none."""
    c = match.candidates
    need = match.requests["need_sqft"]
    cap = match.offers["surplus_sqft"]
    options = []
    for request in match.requests.index:
        mine = c[(c["request"] == request) & (c["offer_sqft"] >= c["need_sqft"])]
        options.append([None, *mine.index.tolist()])
    best = (0.0, 0.0)
    for choice in itertools.product(*options):
        picked = c.loc[[k for k in choice if k is not None]]
        used = picked.groupby("offer")["need_sqft"].sum()
        if (used > cap.loc[used.index]).any():
            continue
        value = (float(need.loc[picked["request"]].sum()), float(picked["score"].sum()))
        if value[0] > best[0] or (value[0] == best[0] and value[1] > best[1] + 1e-9):
            best = value
    return best


@st.composite
def markets(draw):
    n_req = draw(st.integers(1, 5))
    n_off = draw(st.integers(1, 4))
    agency = st.sampled_from([POLICE, HEALTH, COUNCIL])
    use = st.sampled_from(["office", "community", "clinical"])
    reqs = [
        {
            "x": draw(st.integers(0, 3_000)),
            "y": draw(st.integers(0, 3_000)),
            "space_needed_sqft": float(draw(st.integers(1, 20)) * 100),
            "max_distance_m": float(draw(st.sampled_from([2_000, 5_000]))),
            "use_class": draw(use),
            **draw(agency),
        }
        for _ in range(n_req)
    ]
    offs = [
        {
            "x": draw(st.integers(0, 3_000)),
            "y": draw(st.integers(0, 3_000)),
            "surplus_sqft": float(draw(st.integers(1, 30)) * 100),
            "use_class": draw(use),
            **draw(agency),
        }
        for _ in range(n_off)
    ]
    return requests(*reqs), offers(*offs)


@settings(deadline=None, max_examples=60)
@given(markets())
def test_the_plan_equals_the_brute_force_optimum_and_respects_capacity(market):
    reqs, offs = market
    match = find_candidates(reqs, offs, as_of=AS_OF)
    # candidates: every offer in reach, of another agency, of a compatible use
    d = np.hypot(
        reqs.geometry.x.to_numpy()[:, None] - offs.geometry.x.to_numpy()[None, :],
        reqs.geometry.y.to_numpy()[:, None] - offs.geometry.y.to_numpy()[None, :],
    )
    expected = {
        (i, j)
        for i in range(len(reqs))
        for j in range(len(offs))
        if d[i, j] <= reqs["max_distance_m"].iloc[i]
        and reqs["agency"].iloc[i] != offs["agency"].iloc[j]
        and offs["use_class"].iloc[j] in USE_COMPATIBILITY[reqs["use_class"].iloc[i]]
    }
    got = set(zip(match.candidates["request"], match.candidates["offer"], strict=True))
    assert got == expected
    plan = allocate(match)
    space, score = _brute_force(match)
    assert plan.total_sqft == pytest.approx(space)
    assert plan.assignments["score"].sum() == pytest.approx(score, abs=1e-6)
    assert plan.status in ("optimal", "nothing to allocate")
    _check_capacities(plan)
    # whole requests only
    assert (plan.assignments["assigned_sqft"] == plan.assignments["need_sqft"]).all()
    assert plan.assignments["request"].is_unique


@settings(deadline=None, max_examples=25)
@given(markets())
def test_the_two_stage_solve_matches_the_same_space(market):
    reqs, offs = market
    match = find_candidates(reqs, offs, as_of=AS_OF)
    original = allocation.EXACT_GROUP_LIMIT
    allocation.EXACT_GROUP_LIMIT = 0  # every group goes to the two-stage solve
    try:
        plan = allocate(match)
    finally:
        allocation.EXACT_GROUP_LIMIT = original
    space, _ = _brute_force(match)
    assert plan.total_sqft == pytest.approx(space)
    _check_capacities(plan)
    if not plan.empty:
        assert plan.method == "two-stage"


@settings(deadline=None, max_examples=40)
@given(markets())
def test_split_plans_match_the_maximum_flow(market):
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import maximum_flow

    reqs, offs = market
    match = find_candidates(reqs, offs, as_of=AS_OF)
    plan = allocate(match, allow_split=True)
    _check_capacities(plan)
    n_r, n_o = len(match.requests), len(match.offers)
    if match.empty:
        assert plan.empty
        return
    # source 0, requests 1..n_r, offers n_r+1.., sink last; capacities in whole sq ft
    sink = n_r + n_o + 1
    rows, cols, caps = [], [], []
    r_pos = {label: i for i, label in enumerate(match.requests.index)}
    o_pos = {label: i for i, label in enumerate(match.offers.index)}
    for i, need in enumerate(match.requests["need_sqft"]):
        rows.append(0), cols.append(1 + i), caps.append(int(need))
    for j, cap in enumerate(match.offers["surplus_sqft"]):
        rows.append(1 + n_r + j), cols.append(sink), caps.append(int(cap))
    for r, o in zip(match.candidates["request"], match.candidates["offer"], strict=True):
        rows.append(1 + r_pos[r]), cols.append(1 + n_r + o_pos[o]), caps.append(10**6)
    graph = csr_array((np.array(caps, dtype=np.int32), (rows, cols)), shape=(sink + 1, sink + 1))
    assert plan.total_sqft == pytest.approx(maximum_flow(graph, 0, sink).flow_value, abs=1e-3)


# the sample estate -------------------------------------------------------


def test_total_place_case_on_the_sample_estate(sample_store):
    store = open_store(sample_store)
    sites, reqs = store.sites(), store.requests()
    match = find_candidates(reqs, sites, as_of=AS_OF)
    first = match.for_request("SR-2025-001").iloc[0]
    assert first["rank"] == 1
    assert first["offer_name"] == "Maidstone Police Office"
    assert first["offer_agency"] == "Kent Police"
    assert first["request_agency"] == "Kent Community Health NHS Foundation Trust"
    police_office = sites.loc[first["offer"]]
    assert police_office["postcode"] == "ME15 6AP"
    assert first["offer_sqft"] == 40_000 and first["need_sqft"] == 40_000
    assert first["reasons"] == (
        "offers 40,000 sq ft for 40,000 needed (100% fit); 3.2 km away; "
        "office space for an office need"
    )
    plan = allocate(match)
    assert plan.status == "optimal"
    hit = plan.assignments[plan.assignments["request_ref"] == "SR-2025-001"]
    assert hit["offer_name"].tolist() == ["Maidstone Police Office"]
    assert hit["assigned_sqft"].tolist() == [40_000]
    assert hit["distance_m"].iloc[0] == pytest.approx(3_215, abs=5)
    _check_capacities(plan)
    # the restricted control room is nobody's offer but its own agency's, and no word says so
    control = sites.index[(sites["sensitivity"] == "restricted") & (sites["surplus_sqft"] > 0)]
    assert len(control) == 1 and control[0] not in match.offers.index
    assert "restricted" not in match.message


def test_the_matching_package_re_exports_each_public_name_from_its_module():
    """``from assetmap.matching import X`` is the object its defining module holds."""
    from assetmap.matching import candidates, result, solvers

    homes = {}
    for module in (result, candidates, allocation, solvers):
        for name in module.__all__:
            homes.setdefault(name, module)
    assert set(matching.__all__) <= set(homes)
    for name in matching.__all__:
        assert getattr(matching, name) is getattr(homes[name], name), name
    assert allocate.__module__ == "assetmap.matching.allocation"
    assert find_candidates.__module__ == "assetmap.matching.candidates"
    assert MatchResult.__module__ == "assetmap.matching.result"


def test_cli_match(sample_store, tmp_path, capsys):
    registers = {r["path"].name: r["path"] for r in sample_registers()}
    out = tmp_path / "plan.csv"
    code = main(
        [
            "match",
            "--store",
            str(sample_store),
            "--requests",
            str(registers["space_requests.csv"]),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Space requests from space_requests.csv (0 rows quarantined)" in printed
    assert "SR-2025-001 -> Maidstone Police Office (Kent Police): 40,000 sq ft, 3.2 km" in printed
    assert "Plan (whole requests only): " in printed
    assert "unmatched: no point location" not in printed
    table = pd.read_csv(out)
    assert "SR-2025-001" in set(table["request_ref"])
    assert main(["match", "--store", str(sample_store), "--allow-split"]) == 0
    assert "Plan (split allowed): " in capsys.readouterr().out
    code = main(
        ["match", "--store", str(sample_store), "--requests", "nope.csv", "--time-limit", "0"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--requests 'nope.csv' is not a file; expected a requests register" in err
    assert "--time-limit=0.0 is not valid; expected a positive number of seconds" in err


def test_a_split_request_larger_than_all_its_offers_says_so():
    reqs = requests({"x": 0, "y": 0, "space_needed_sqft": 20_000})
    offs = offers(
        {"x": 100, "y": 0, "surplus_sqft": 6_000},
        {"x": 200, "y": 0, "surplus_sqft": 5_000, **COUNCIL},
    )
    plan = plan_for(reqs, offs, allow_split=True)
    assert plan.total_sqft == pytest.approx(11_000)
    assert plan.unmatched["placed_sqft"].tolist() == pytest.approx([11_000])
    assert plan.unmatched["reason"].tolist() == [
        "11,000 sq ft of 20,000 sq ft placed; its candidate offers have 11,000 sq ft in all"
    ]
