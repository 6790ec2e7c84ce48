"""The sample estate's lease events and saved scenario (issue 19), as the importer reads them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from assetmap.access import visible_sites
from assetmap.colocation import colocation_clusters
from assetmap.lease_events import cluster_windows, exit_dates, opening_within
from assetmap.sample import SAMPLE_SCENARIO
from assetmap.scenario_io import saved_scenarios
from assetmap.scenarios import TakeOffer, evaluate
from assetmap.store import open_store

#: The day these figures are worked out from (the sample's breaks lie after it).
TODAY = dt.date(2026, 12, 5)
SITTINGBOURNE = {"Sittingbourne Jobcentre", "Park Surgery", "Sittingbourne Health Centre"}


def test_the_leased_sites_carry_lease_events(sample_store_built):
    sites = open_store(sample_store_built).sites()
    leased = sites[sites["tenure"].isin(["leasehold", "licence"])]
    assert (leased["next_break"] != "").sum() >= 100
    assert (leased["notice_months"].notna()).sum() >= 100
    assert (sites["last_break"] != "").sum() and (sites["rent_review"] != "").sum()
    assert sites["break_penalty_gbp"].notna().sum() and sites["capital_value_gbp"].notna().sum()
    assert (sites.loc[sites["tenure"] == "freehold", "next_break"] == "").all()


def test_a_kent_cluster_breaks_within_two_years_and_opens_within_24_months(sample_store_built):
    sites = visible_sites(open_store(sample_store_built).sites())
    clusters = colocation_clusters(sites)
    members = clusters.members
    (cid,) = members.loc[members["name"] == "Sittingbourne Jobcentre", "cluster_id"].unique()
    mine = members[members["cluster_id"] == cid]
    assert (
        SITTINGBOURNE <= set(mine["name"])
        and not mine.loc[mine["name"].isin(SITTINGBOURNE), "is_hub"].any()
    )
    # each of the three leaves by its break, and the breaks lie within two years of each other
    exits = exit_dates(sites.loc[mine.index], today=TODAY).join(sites["name"])
    aligned = exits[exits["name"].isin(SITTINGBOURNE)]
    assert set(aligned["basis"]) == {"break"}
    dates = pd.to_datetime(aligned["exit_date"])
    assert dates.max() - dates.min() <= pd.Timedelta(days=2 * 365)
    windows = cluster_windows(clusters, sites, years=2, today=TODAY)
    row = windows.set_index("cluster_id").loc[cid]
    assert row["status"] == "window"
    soon = opening_within(windows, months=24, today=TODAY)
    assert cid in set(soon["cluster_id"])


def test_the_saved_sample_scenario_makes_the_40000_sq_ft_move(sample_store_built):
    store = open_store(sample_store_built)
    sites = visible_sites(store.sites())
    (scenario,) = saved_scenarios(store, viewer=None, sites=sites)
    assert scenario.name == SAMPLE_SCENARIO and len(scenario.moves) == 1
    assert isinstance(scenario.moves[0], TakeOffer)
    result = evaluate(sites, scenario, requests=store.requests(), today=TODAY)
    assert result.moves["status"].tolist() == ["made"]
    assert result.moves["offer_name"].tolist() == ["Maidstone Police Office"]
    assert result.moves["request_name"].tolist() == ["SR-2025-001"]
    assert result.totals.loc["surplus (sq ft)", "change"] == pd.Series([-40_000.0]).iloc[0]
    assert round(result.totals.loc["yearly saving (£/yr)", "after"]) == 2_073_598
