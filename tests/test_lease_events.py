"""Lease events: exit dates, co-location windows and timelines, worked by hand."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from assetmap.colocation import colocation_clusters
from assetmap.errors import InvalidArgumentError
from assetmap.lease_events import (
    EXIT_COLUMNS,
    TIMELINE_COLUMNS,
    WINDOW_COLUMNS,
    cluster_timeline,
    cluster_windows,
    exit_dates,
    leased_mask,
    opening_within,
    timeline,
)
from assetmap.maps.static.charts import timeline_figure
from tests.estates import geo_frame

TODAY = "2026-12-05"

DEFAULTS = {
    "site_id": "",
    "name": "",
    "agency": "Kent Police",
    "sector": "police",
    "use_class": "office",
    "tenure": "freehold",
    "floor_area_sqft": 1_000.0,
    "surplus_sqft": 0.0,
    "running_cost_gbp": np.nan,
    "lease_expiry": "",
    "next_break": "",
    "last_break": "",
    "rent_review": "",
    "notice_months": np.nan,
    "break_penalty_gbp": np.nan,
    "sensitivity": "open",
}
HEALTH = {"agency": "NHS Kent and Medway", "sector": "health"}
COUNCIL = {"agency": "Maidstone Borough Council", "sector": "council"}
DWP = {"agency": "Department for Work and Pensions", "sector": "dwp"}


def sites_of(rows: list[dict], index=None):
    """Sites from dicts (``x``, ``y`` metres from Maidstone; defaults above)."""
    records = [{"site_id": f"S{i}", "name": f"Site {i}", **row} for i, row in enumerate(rows)]
    return geo_frame(records, DEFAULTS, index=index)


def hub(x: float = 0, **extra) -> dict:
    """A freehold police site with room for everyone: the hub of its cluster."""
    return {"x": x, "y": 0, "floor_area_sqft": 50_000.0, "surplus_sqft": 40_000.0, **extra}


def leased(x: float, agency: dict, **dates) -> dict:
    """A leasehold member ``x`` metres east of the origin."""
    return {"x": x, "y": 0, "tenure": "leasehold", **agency, **dates}


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def windows_of(rows: list[dict], *, years=2, index=None) -> pd.DataFrame:
    sites = sites_of(rows, index=index)
    return cluster_windows(colocation_clusters(sites), sites, years=years, today=TODAY)


# --------------------------------------------------------------------------------------
# exit dates


def test_exit_dates_by_hand():
    sites = sites_of(
        [
            {"x": 0, "y": 0},  # freehold: any time
            # the next break falls inside the six months' notice: the last break is the way out
            leased(
                50,
                HEALTH,
                next_break="2027-03-01",
                last_break="2028-03-01",
                notice_months=6.0,
                break_penalty_gbp=12_000.0,
            ),
            # notice unknown: none assumed
            leased(100, HEALTH, next_break="2027-03-01", break_penalty_gbp=np.nan),
            # a passed break is no way out; the expiry is
            leased(150, COUNCIL, next_break="2026-01-01", lease_expiry="2030-01-01"),
            leased(200, COUNCIL),  # leasehold with no dates
            leased(250, COUNCIL, lease_expiry="2020-01-01"),  # every date passed
            {"x": 300, "y": 0, "tenure": "unknown"},  # nothing known
            {"x": 350, "y": 0, "tenure": "", "lease_expiry": "2028-05-05"},  # dated: leased
            # a break on the expiry date: leaving at expiry costs nothing
            {
                "x": 400,
                "y": 0,
                "tenure": "licence",
                "next_break": "2027-02-01",
                "lease_expiry": "2027-02-01",
                "break_penalty_gbp": 5_000.0,
            },
            {"x": 450, "y": 0, "tenure": "other"},
        ],
        index=list("abcdefghij"),
    )
    got = exit_dates(sites, today=TODAY)
    assert list(got.columns) == list(EXIT_COLUMNS)
    assert got.index.tolist() == list("abcdefghij")
    assert got["exit_date"].tolist() == [
        ts(TODAY),
        ts("2028-03-01"),
        ts("2027-03-01"),
        ts("2030-01-01"),
        pd.NaT,
        pd.NaT,
        pd.NaT,
        ts("2028-05-05"),
        ts("2027-02-01"),
        ts(TODAY),
    ]
    assert got["basis"].tolist() == [
        "not leased",
        "break",
        "break",
        "expiry",
        "dates unknown",
        "dates unknown",
        "tenure unknown",
        "expiry",
        "expiry",
        "not leased",
    ]
    assert got.loc["a", "break_penalty_gbp"] == 0
    assert got.loc["b", "break_penalty_gbp"] == 12_000
    assert np.isnan(got.loc["c", "break_penalty_gbp"])  # by a break, penalty not given
    assert got.loc["d", "break_penalty_gbp"] == 0
    assert got.loc["i", "break_penalty_gbp"] == 0
    assert got.loc["b", "notice_months"] == 6
    assert got.loc["c", "notice_months"] == 0
    assert np.isnan(got.loc["a", "notice_months"])
    assert got.loc["b", "note"] == ""
    assert got.loc["c", "note"] == "notice unknown: none assumed"
    assert got.loc["e", "note"] == "notice unknown: none assumed; no break or expiry date given"
    assert got.loc["f", "note"].endswith(
        "every break and expiry date given has passed or falls within the notice"
    )
    assert got.loc["g", "note"] == "tenure and lease dates not given"


def test_notice_counts_calendar_months_and_a_fraction_as_days():
    # 5 Dec 2026 + 1 month = 5 Jan 2027; + half a month (15.2 days, rounded up to 16) = 21 Jan
    sites = sites_of(
        [
            leased(0, HEALTH, next_break="2027-01-20", last_break="2027-01-21", notice_months=1.5),
            leased(50, HEALTH, next_break="2027-01-05", notice_months=1.0),
            leased(100, HEALTH, next_break="2027-01-04", notice_months=1.0),
        ]
    )
    got = exit_dates(sites, today=TODAY)
    assert got["exit_date"].tolist() == [ts("2027-01-21"), ts("2027-01-05"), pd.NaT]


def test_a_999_year_lease_and_an_absurd_notice():
    sites = sites_of(
        [
            hub(),
            leased(50, HEALTH, lease_expiry="2999-03-25", notice_months=1e9),
            leased(100, COUNCIL, lease_expiry="9999-12-31", next_break="2027-01-01"),
        ]
    )
    got = exit_dates(sites, today=TODAY)
    assert got["exit_date"].tolist()[1:] == [ts("2999-03-25"), ts("2027-01-01")]
    assert got["note"].iloc[1] == "notice unknown: none assumed"  # 1e9 months is no notice
    assert timeline(sites, today=TODAY)["date"].max() == ts("9999-12-31")
    # 2027 to 2999 is far more than the longest span, 100 years
    row = cluster_windows(colocation_clusters(sites), sites, years=100, today=TODAY).iloc[0]
    assert row["status"] == "no window within 100 years"
    with pytest.raises(InvalidArgumentError, match=r"^years=101 is not valid"):
        cluster_windows(colocation_clusters(sites), sites, years=101)


def test_a_table_without_the_lease_columns_is_all_unknown():
    sites = sites_of([{"x": 0, "y": 0}, leased(50, HEALTH)])[["tenure", "geometry"]]
    got = exit_dates(sites, today=TODAY)
    assert got["basis"].tolist() == ["not leased", "dates unknown"]
    assert leased_mask(sites).tolist() == [False, True]
    assert timeline(sites, today=TODAY).empty


def test_exit_dates_refuses_what_is_not_a_table_or_a_date():
    with pytest.raises(
        InvalidArgumentError,
        match=r"^sites is a list; expected a table of sites \(a DataFrame with the canonical "
        r"columns\); today='soon' is not a date; expected a date such as 2026-12-05$",
    ):
        exit_dates([], today="soon")


# --------------------------------------------------------------------------------------
# windows


def test_two_members_the_window_is_the_leaving_members_first_way_out():
    got = windows_of([hub(), leased(50, HEALTH, next_break="2027-06-01")])
    assert list(got.columns) == list(WINDOW_COLUMNS)
    row = got.iloc[0]
    assert row["status"] == "window"
    assert row["opens"] == row["closes"] == ts("2027-06-01")
    assert row["members_leaving"] == 1 and row["leased_leaving"] == 1
    assert row["notice_assumed"] == 1 and row["dates_unknown"] == 0
    assert row["hub_name"] == "Site 0"


def test_three_members_the_earliest_span_of_two_years_holding_one_of_each():
    rows = [
        hub(),
        # A: a break in 2027 and its last in 2030; B: only an expiry in 2029
        leased(
            50,
            HEALTH,
            next_break="2027-06-01",
            last_break="2030-06-01",
            break_penalty_gbp=5_000.0,
        ),
        leased(100, COUNCIL, lease_expiry="2029-09-01"),
    ]
    # 1 Jun 2027 to 1 Sep 2029 is 2 years 3 months: too long. A's last break is 9 months after
    # B's expiry.
    row = windows_of(rows).iloc[0]
    assert (row["opens"], row["closes"]) == (ts("2029-09-01"), ts("2030-06-01"))
    assert row["break_penalties_gbp"] == 5_000 and row["penalties_unknown"] == 0
    # within three years the earlier span will do
    row = windows_of(rows, years=3).iloc[0]
    assert (row["opens"], row["closes"]) == (ts("2027-06-01"), ts("2029-09-01"))


def test_a_span_of_exactly_two_calendar_years_is_a_window():
    rows = [
        hub(),
        leased(50, HEALTH, lease_expiry="2027-06-01"),
        leased(100, COUNCIL, lease_expiry="2029-06-01"),
    ]
    assert windows_of(rows).iloc[0]["status"] == "window"
    rows[2]["lease_expiry"] = "2029-06-02"
    assert windows_of(rows).iloc[0]["status"] == "no window within 2 years"


def test_notice_pushes_a_break_out_and_a_passed_break_is_ignored():
    rows = [
        hub(),
        # the break of 1 Mar 2027 needs six months' notice from 5 Dec 2026: too late
        leased(50, HEALTH, next_break="2027-03-01", last_break="2028-03-01", notice_months=6.0),
        # the break of 1 Jun 2026 has passed; the expiry is the way out
        leased(100, COUNCIL, next_break="2026-06-01", lease_expiry="2027-09-01"),
    ]
    row = windows_of(rows).iloc[0]
    assert (row["opens"], row["closes"]) == (ts("2027-09-01"), ts("2028-03-01"))
    assert row["notice_assumed"] == 1  # the council's notice is unknown


def test_the_cheapest_way_out_within_the_window_is_counted():
    rows = [
        hub(),
        # A could break on 1 Jan 2027 (£7,000) or leave at expiry on 1 Feb 2027 (free)
        leased(
            50,
            HEALTH,
            next_break="2027-01-01",
            lease_expiry="2027-02-01",
            break_penalty_gbp=7_000.0,
        ),
        leased(100, COUNCIL, lease_expiry="2027-03-01"),
        # C must break, and its penalty is not given
        leased(150, DWP, next_break="2027-02-15"),
    ]
    row = windows_of(rows).iloc[0]
    assert (row["opens"], row["closes"]) == (ts("2027-01-01"), ts("2027-03-01"))
    assert row["break_penalties_gbp"] == 0
    assert row["penalties_unknown"] == 1


def test_a_freehold_member_can_leave_any_time():
    rows = [hub(), {"x": 50, "y": 0, **HEALTH}, leased(100, COUNCIL, lease_expiry="2031-01-01")]
    row = windows_of(rows).iloc[0]
    assert row["status"] == "window"
    assert (row["opens"], row["closes"]) == (ts("2031-01-01"), ts("2031-01-01"))
    assert row["members_leaving"] == 2 and row["leased_leaving"] == 1
    # with nobody leaving leased, the window is today
    row = windows_of([hub(), {"x": 50, "y": 0, **HEALTH}]).iloc[0]
    assert row["opens"] == row["closes"] == ts(TODAY)
    assert row["break_penalties_gbp"] == 0


def test_the_hubs_own_lease_does_not_matter():
    rows = [hub(tenure="leasehold", lease_expiry="2040-01-01"), leased(50, HEALTH)]
    rows[1]["lease_expiry"] = "2027-05-05"
    row = windows_of(rows).iloc[0]
    assert row["opens"] == ts("2027-05-05") and row["members_leaving"] == 1


def test_lease_dates_unknown_for_members():
    rows = [
        hub(),
        leased(50, HEALTH),  # leased, no dates
        leased(100, COUNCIL, lease_expiry="2020-01-01"),  # every date passed
        {"x": 150, "y": 0, "tenure": "unknown", **DWP},  # tenure unknown
        leased(200, HEALTH, lease_expiry="2027-06-01"),
    ]
    row = windows_of(rows).iloc[0]
    assert row["status"] == "lease dates unknown for 3 members"
    assert pd.isna(row["opens"]) and pd.isna(row["closes"])
    assert np.isnan(row["break_penalties_gbp"])
    assert row["dates_unknown"] == 3
    row = windows_of(rows[:2]).iloc[0]
    assert row["status"] == "lease dates unknown for 1 member"


def test_no_window_within_two_years():
    rows = [
        hub(),
        leased(50, HEALTH, next_break="2027-01-01"),
        leased(100, COUNCIL, lease_expiry="2030-01-01"),
    ]
    row = windows_of(rows).iloc[0]
    assert row["status"] == "no window within 2 years"
    assert pd.isna(row["opens"])
    assert windows_of(rows, years=3.5).iloc[0]["status"] == "window"
    assert windows_of(rows, years=1.5).iloc[0]["status"] == "no window within 18 months"


def test_windows_are_ranked_first_then_by_saving():
    # four clusters 5 km apart; running costs set each one's saving
    def cluster(x: float, cost: float, expiry: str) -> list[dict]:
        member = leased(x + 50, HEALTH, lease_expiry=expiry, running_cost_gbp=cost)
        return [hub(x, running_cost_gbp=1.0), member]

    rows = (
        cluster(0, 10_000.0, "2027-01-01")
        + cluster(5_000, 90_000.0, "")  # dates unknown: after every window
        + cluster(10_000, 30_000.0, "2028-01-01")
        + cluster(15_000, 20_000.0, "2027-06-01")
    )
    got = windows_of(rows)
    assert got["saving_gbp"].tolist() == [30_000, 20_000, 10_000, 90_000]
    assert got["status"].tolist() == ["window"] * 3 + ["lease dates unknown for 1 member"]
    assert got["hub_name"].tolist() == ["Site 4", "Site 6", "Site 0", "Site 2"]
    soon = opening_within(got, months=12, today=TODAY)
    assert soon["hub_name"].tolist() == ["Site 6", "Site 0"]  # the 2027 windows
    assert opening_within(got, today=TODAY)["hub_name"].tolist() == ["Site 4", "Site 6", "Site 0"]


def _naive_window(ways: list[list[pd.Timestamp]], years: int):
    """The earliest window, by trying every date as its opening (the members' ways out)."""
    for opens in sorted({d for dates in ways for d in dates}):
        limit = opens + pd.DateOffset(years=years)
        firsts = [min((d for d in dates if d >= opens), default=None) for dates in ways]
        if all(f is not None and f <= limit for f in firsts):
            return opens, max(firsts)
    return None


def test_windows_match_a_naive_search_on_random_clusters():
    rng = np.random.default_rng(19)
    agencies = [HEALTH, COUNCIL, DWP, {"agency": "Kent Fire", "sector": "fire"}]
    today = ts(TODAY)

    def a_date():
        day = today + pd.Timedelta(days=int(rng.integers(-300, 2_500)))
        return day.strftime("%Y-%m-%d") if rng.random() < 0.7 else ""

    rows, expected = [], {}
    for c in range(80):
        x = c * 5_000
        rows.append(hub(x))
        ways = []
        for j in range(int(rng.integers(1, 5))):
            notice = [np.nan, 0.0, 3.0, 6.0][int(rng.integers(0, 4))]
            dates = {k: a_date() for k in ("next_break", "last_break", "lease_expiry")}
            rows.append(leased(x + 40 * (j + 1), agencies[j], notice_months=notice, **dates))
            earliest = today + pd.DateOffset(months=0 if np.isnan(notice) else int(notice))
            ways.append(sorted({ts(d) for d in dates.values() if d and ts(d) >= earliest}))
        expected[f"Site {len(rows) - len(ways) - 1}"] = (
            "unknown" if not all(ways) else _naive_window(ways, 2)
        )
    got = windows_of(rows).set_index("hub_name")
    assert len(got) == 80
    for hub_name, want in expected.items():
        row = got.loc[hub_name]
        if want == "unknown":
            assert row["status"].startswith("lease dates unknown"), hub_name
        elif want is None:
            assert row["status"] == "no window within 2 years", hub_name
        else:
            assert row["status"] == "window", hub_name
            assert (row["opens"], row["closes"]) == want, hub_name
    assert set(got["status"].str.split().str[0]) == {"window", "no", "lease"}


def test_members_are_looked_up_by_the_sites_index():
    sites = sites_of(
        [hub(), leased(50, HEALTH, lease_expiry="2027-08-08")], index=["hub", "clinic"]
    )
    result = colocation_clusters(sites)
    shuffled = sites.loc[["clinic", "hub"]]
    row = cluster_windows(result, shuffled, today=TODAY).iloc[0]
    assert row["opens"] == ts("2027-08-08")


def test_a_restricted_member_of_another_agency_gives_no_date_or_event():
    rows = [
        hub(),
        leased(50, HEALTH, lease_expiry="2027-03-01"),
        leased(100, COUNCIL, lease_expiry="2028-01-01", notice_months=3.0),
        # another agency's restricted site in the middle of the cluster: its dates would make
        # the window later (and impossible within two years)
        leased(
            75,
            DWP,
            next_break="2031-07-07",
            rent_review="2027-04-04",
            lease_expiry="2033-03-03",
            sensitivity="restricted",
        ),
    ]
    sites = sites_of(rows, index=["h", "a", "b", "secret"])
    result = colocation_clusters(sites, viewer_agency=None)
    assert "secret" not in result.members.index
    got = cluster_windows(result, sites, today=TODAY)
    # the same as with the restricted site deleted from the input
    without = sites.drop(index="secret")
    expected = cluster_windows(colocation_clusters(without), without, today=TODAY)
    pd.testing.assert_frame_equal(got, expected)
    assert (got.iloc[0]["opens"], got.iloc[0]["closes"]) == (ts("2027-03-01"), ts("2028-01-01"))
    secret_dates = {ts("2031-07-07"), ts("2027-04-04"), ts("2033-03-03")}
    assert not secret_dates & set(got["opens"]) and not secret_dates & set(got["closes"])
    events = cluster_timeline(result, sites, 1, today=TODAY)
    assert "secret" not in set(events["site_index"])
    assert not secret_dates & set(events["date"])
    pd.testing.assert_frame_equal(
        events, cluster_timeline(colocation_clusters(without), without, 1, today=TODAY)
    )
    # its own agency sees it, and its dates decide the window
    theirs = colocation_clusters(sites, viewer_agency="Department for Work and Pensions")
    row = cluster_windows(theirs, sites, today=TODAY).iloc[0]
    assert row["status"] == "no window within 2 years"


def test_cluster_windows_refuses_bad_arguments():
    sites = sites_of([hub(), leased(50, HEALTH)], index=["h", "a"])
    result = colocation_clusters(sites)
    with pytest.raises(
        InvalidArgumentError,
        match=r"^sites does not hold 1 of the clusters' members; expected the sites the "
        r"co-location was worked out from \(its members are looked up by their index labels\); "
        r"years=0 is not valid; expected a positive number of years, up to 100, such as 2$",
    ):
        cluster_windows(result, sites.loc[["h"]], years=0)
    with pytest.raises(
        InvalidArgumentError,
        match=r"^result is a GeoDataFrame; expected the ColocationResult of "
        r"assetmap.colocation.colocation_clusters; today=20261205 is not a date",
    ):
        cluster_windows(result.clusters, sites, today=20261205)
    with pytest.raises(InvalidArgumentError, match=r"^sites has repeated index labels"):
        cluster_windows(result, pd.concat([sites, sites]))
    with pytest.raises(
        InvalidArgumentError,
        match=r"^windows is a GeoDataFrame without the columns opens and status; expected the "
        r"table of cluster_windows; months=0 is not valid; expected a whole number of months, "
        r"1 to 1,200$",
    ):
        opening_within(result.clusters, months=0)
    with pytest.raises(
        InvalidArgumentError, match=r"^cluster_id=9 is not a cluster of this co-location"
    ):
        cluster_timeline(result, sites, 9)


def test_no_clusters_no_windows():
    sites = sites_of([hub(), leased(5_000, HEALTH, lease_expiry="2027-01-01")])
    got = cluster_windows(colocation_clusters(sites), sites, today=TODAY)
    assert got.empty and list(got.columns) == list(WINDOW_COLUMNS)
    assert opening_within(got, today=TODAY).empty


# --------------------------------------------------------------------------------------
# timelines


def test_timeline_lists_every_event_with_notice_deadlines_and_marks_the_past():
    sites = sites_of(
        [
            leased(
                0,
                HEALTH,
                name="Clinic",
                next_break="2027-09-30",
                last_break="2029-09-30",
                rent_review="2026-03-01",
                lease_expiry="2031-09-30",
                notice_months=6.0,
            ),
            {"x": 50, "y": 0, "lease_expiry": "2030-01-01"},  # freehold: no lease events
            leased(100, COUNCIL, name="Office", next_break="2027-01-01"),  # notice unknown
        ],
        index=["c", "f", "o"],
    )
    got = timeline(sites, today=TODAY)
    assert list(got.columns) == list(TIMELINE_COLUMNS)
    dates = got["date"].dt.strftime("%Y-%m-%d")
    assert list(zip(got["site_index"], got["event"], dates, strict=True)) == [
        ("c", "rent review", "2026-03-01"),
        ("c", "notice deadline", "2027-03-30"),  # 31 Mar does not exist: the month's end
        ("c", "next break", "2027-09-30"),
        ("c", "notice deadline", "2029-03-30"),
        ("c", "last break", "2029-09-30"),
        ("c", "lease expiry", "2031-09-30"),
        ("o", "next break", "2027-01-01"),
    ]
    assert got["past"].tolist() == [True] + [False] * 6
    assert got["name"].tolist() == ["Clinic"] * 6 + ["Office"]
    assert got["agency"].iloc[0] == "NHS Kent and Medway"


def test_cluster_timeline_puts_the_hub_first():
    sites = sites_of(
        [
            leased(0, HEALTH, lease_expiry="2027-01-01"),
            hub(50, tenure="leasehold", lease_expiry="2035-01-01"),
        ]
    )
    result = colocation_clusters(sites)
    got = cluster_timeline(result, sites, 1, today=TODAY)
    assert got["is_hub"].tolist() == [True, False]
    assert got["date"].tolist() == [ts("2035-01-01"), ts("2027-01-01")]


def test_timeline_figure_draws_a_row_per_member_and_the_window(tmp_path):
    from assetmap.maps.static import save_map

    rows = [
        hub(name="$x^2$ House"),  # text, never a formula
        leased(50, HEALTH, name="Clinic", next_break="2027-06-01", notice_months=3.0),
        {"x": 100, "y": 0, "name": "Depot", **COUNCIL},
    ]
    sites = sites_of(rows)
    result = colocation_clusters(sites)
    windows = cluster_windows(result, sites, today=TODAY)
    events = cluster_timeline(result, sites, 1, today=TODAY)
    figure = timeline_figure(
        events, members=result.members, window=windows.iloc[0], title="Cluster 1", today=TODAY
    )
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "$x^2$ House (Kent Police): hub",
        "Clinic (NHS Kent and Medway)",
        "Depot (Maidstone Borough Council)",
    ]
    assert len(ax.patches) == 1  # the window
    assert save_map(figure, tmp_path / "t.png", format="png", dpi=150).stat().st_size > 0
    few = timeline_figure(events, members=result.members, max_rows=1, today=TODAY)
    assert [t.get_text() for t in few.axes[0].get_yticklabels()] == labels[:1]
    assert few.axes[0].get_title(loc="left") == " (the first 1 sites; 2 more not drawn)"


# --------------------------------------------------------------------------------------
# the command line


def _store_with_two_clusters(path, *, today: dt.date):
    """A store of two clusters: one whose members could leave within a year, one in 10."""
    from tests.app.conftest import write_store
    from tests.maps.factories import make_sites

    sites = make_sites(8)
    soon = (today + dt.timedelta(days=200)).isoformat()
    later = (today + dt.timedelta(days=3_650)).isoformat()
    x0, y0 = 575_000.0, 155_000.0
    layout = [
        # cluster near: hub (police, freehold), health and council leased, expiring soon
        (0, "police", "freehold", "", 60_000.0),
        (60, "health", "leasehold", soon, 2_000.0),
        (120, "council", "leasehold", soon, 2_000.0),
        # cluster far: its leaving member's lease ends in ten years
        (10_000, "police", "freehold", "", 60_000.0),
        (10_060, "health", "leasehold", later, 2_000.0),
        # another agency's restricted site in the first cluster, its lease ending later
        (30, "dwp", "leasehold", later, 2_000.0),
        # two lone sites
        (30_000, "fire", "freehold", "", 1_000.0),
        (40_000, "other", "freehold", "", 1_000.0),
    ]
    agencies = {
        "police": "Kent Police",
        "health": "Kent and Medway NHS Trust",
        "council": "Maidstone Borough Council",
        "dwp": "Department for Work and Pensions",
        "fire": "Kent Fire and Rescue Service",
        "other": "Other Body",
    }
    for i, (_dx, sector, tenure, expiry, area) in enumerate(layout):
        sites.loc[i, ["sector", "agency", "tenure", "lease_expiry"]] = [
            sector,
            agencies[sector],
            tenure,
            expiry,
        ]
        sites.loc[i, "floor_area_sqft"] = area
        sites.loc[i, "surplus_sqft"] = 50_000.0 if area > 50_000 else 0.0
        sites.loc[i, "name"] = f"Site {i}"
    sites.loc[5, "sensitivity"] = "restricted"
    sites.loc[5, "name"] = "Secret Office"
    sites = sites.set_geometry(
        gpd.GeoSeries([shapely.Point(x0 + dx, y0) for dx, *_ in layout], crs=sites.crs)
    )
    return write_store(path, sites), soon


def test_cli_opening_within(tmp_path, capsys, monkeypatch):
    from assetmap.cli import main

    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    store, soon = _store_with_two_clusters(tmp_path / "estate.gpkg", today=dt.date.today())
    out = tmp_path / "clusters.csv"
    code = main(["colocate", "--store", str(store), "--opening-within", "24", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "1 of the 2 clusters have a window opening within 24 months" in printed
    assert "Site 0" in printed and "Site 3" not in printed
    assert "Secret Office" not in printed
    when = dt.date.fromisoformat(soon)
    assert f"from {when:%d %b %Y} to {when:%d %b %Y}" in printed
    clusters = pd.read_csv(out)
    assert clusters["hub_name"].tolist() == ["Site 0"]
    members = pd.read_csv(tmp_path / "clusters_members.csv")
    assert sorted(members["name"]) == ["Site 0", "Site 1", "Site 2"]
    windows = pd.read_csv(tmp_path / "clusters_windows.csv")
    assert windows["hub_name"].tolist() == ["Site 0"]
    assert windows["opens"].tolist() == [soon] and windows["closes"].tolist() == [soon]
    assert f"Wrote {out}" in printed and "clusters_windows.csv" in printed
    # without the flag both clusters are written, and no windows file
    assert main(["colocate", "--store", str(store), "--out", str(tmp_path / "all.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "all.csv")) == 2
    assert not (tmp_path / "all_windows.csv").exists()
    capsys.readouterr()
    assert main(["colocate", "--store", str(store), "--opening-within", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "assetmap: error: --opening-within=0 is not valid; expected a whole number of months, "
        "1 to 1,200"
    )


# --------------------------------------------------------------------------------------
# the Co-location page


@pytest.fixture
def fresh_caches():
    """Streamlit's caches emptied before and after the test (AppTest runs share them)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.usefixtures("fresh_caches")
def test_colocation_page_filters_clusters_by_window_and_draws_a_timeline(tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from assetmap.app import colocation_page
    from assetmap.app.navigation import page_path
    from assetmap.store import STORE_ENV
    from tests.app.conftest import run_app

    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    store, soon = _store_with_two_clusters(tmp_path / "estate.gpkg", today=dt.date.today())
    monkeypatch.setenv(STORE_ENV, str(store))
    root = Path(__file__).resolve().parents[1]
    at = run_app(AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(page_path("colocation").relative_to(root)))
    run_app(at)

    def table(*columns):
        for element in at.dataframe:
            if set(columns) <= set(element.value.columns):
                return element.value
        raise AssertionError(f"no table with the columns {columns}")

    assert len(table("Cluster", "Agencies")) == 2
    windows = table("Window opens", "Window")
    assert list(windows.columns) == list(colocation_page.WINDOW_COLUMNS.values())
    assert windows["Window"].tolist() == ["window", "window"]
    assert pd.Timestamp(windows["Window opens"].iloc[0]) == pd.Timestamp(soon)
    # the filter: opening in the next 24 months
    at.checkbox(key=colocation_page.OPENING_KEY).check()
    run_app(at)
    clusters = table("Cluster", "Agencies")
    assert clusters["Hub (could take the others)"].tolist() == ["Site 0"]
    assert table("Window opens", "Window")["Hub (stays)"].tolist() == ["Site 0"]
    # a shorter horizon leaves none
    at.number_input(key=colocation_page.MONTHS_KEY).set_value(3)
    run_app(at)
    assert any("No cluster has a window opening within 3 months" in i.value for i in at.info)
    at.number_input(key=colocation_page.MONTHS_KEY).set_value(24)
    run_app(at)
    # the chosen cluster's timeline: one row per member, the window shaded
    charts = [c for c in at.get("vega_lite_chart") if '"member"' in c.proto.spec]
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    layers = spec["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["rect", "rule", "point"]
    assert layers[2]["encoding"]["y"]["scale"]["domain"] == [
        "Site 0 (Kent Police): hub",
        "Site 1 (Kent and Medway NHS Trust)",
        "Site 2 (Maidstone Borough Council)",
    ]
    data = {d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in charts[0].proto.datasets}
    events = data[layers[2]["data"]["name"]]
    assert sorted(events["member"]) == [
        "Site 1 (Kent and Medway NHS Trust)",
        "Site 2 (Maidstone Borough Council)",
    ]
    assert set(events["event"]) == {"lease expiry"}
    shaded = data[layers[0]["data"]["name"]]
    assert pd.Timestamp(shaded["opens"].iloc[0]) == pd.Timestamp(soon)
    # another agency's restricted site is in no table, no caption and no chart
    text = [str(e.value) for e in (*at.markdown, *at.caption)]
    text += [d.value.to_csv() for d in at.dataframe]
    text += [c.proto.spec for c in at.get("vega_lite_chart")]
    text += [frame.to_csv() for frame in data.values()]
    assert not any("Secret Office" in t for t in text)


# --------------------------------------------------------------------------------------
# the map pack


def test_the_pack_lists_the_windows_opening_in_the_next_24_months(tmp_path):
    from assetmap.maps.pack import export_pack
    from assetmap.store import open_store

    day = dt.date(2026, 11, 23)
    store, soon = _store_with_two_clusters(tmp_path / "estate.gpkg", today=day)
    sites = open_store(store).sites()
    index = export_pack(
        sites, "Maidstone", "district", tmp_path / "p", format="svg", dpi=150, drawn_on=day
    )
    windows = pd.read_csv(index.folder / "tables" / "lease_windows.csv")
    assert windows["hub_name"].tolist() == ["Site 0"]
    assert windows["opens"].tolist() == [soon]
    entries = {e.file: e for e in index.entries}
    listed = entries["tables/lease_windows.csv"]
    assert listed.kind == "table" and listed.sites == 1
    assert "opening in the next 24 months (from 23 November 2026)" in listed.what
    chart = entries["tables/lease_timeline_cluster_1.svg"]
    assert chart.kind == "chart" and chart.sites == 3
    svg = (index.folder / chart.file).read_text()
    assert "Site 1 (Kent and Medway NHS Trust)" in svg
    # another agency's restricted site (in the cluster, its lease ending later) is nowhere
    assert "Secret Office" not in svg
    assert "Secret Office" not in (index.folder / "tables" / "lease_windows.csv").read_text()
