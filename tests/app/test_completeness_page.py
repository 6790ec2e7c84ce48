"""The Data completeness page under Streamlit's AppTest: the ranked table, chart and note."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from assetmap.access import FIGURES_NOTE, visible_sites
from assetmap.app import completeness_page, navigation
from assetmap.completeness import NO_LEASED_SITES, completeness, formatted
from assetmap.store import open_store
from tests.app.conftest import run_app, shown, write_store
from tests.maps.factories import HOSTILE_AGENCY

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(autouse=True)
def _in_the_menu(monkeypatch):
    """The page is in the navigation (the lead adds it to TITLES; this keeps it there)."""
    monkeypatch.setitem(navigation.TITLES, "completeness", "Data completeness")


def _open() -> AppTest:
    at = run_app(AppTest.from_file(APP, default_timeout=300), timeout=300)
    at.switch_page(str(navigation.page_path("completeness").relative_to(ROOT)))
    return run_app(at, timeout=300)


def _table(at: AppTest) -> pd.DataFrame:
    (found,) = [d.value for d in at.dataframe if "Overall" in d.value.columns]
    return found


def _chart_values(at: AppTest) -> list[dict]:
    """The rows the Altair chart was given (the datasets of its Vega-Lite spec)."""
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "Share (%)"
    rows = []
    for dataset in chart.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


def _text(at: AppTest) -> str:
    return shown("\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]))


def test_the_page_ranks_the_sample_estate_with_a_chart_definitions_and_the_note(
    sample_store, monkeypatch
):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    at = _open()
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Data completeness"
    expected = completeness(visible_sites(open_store(sample_store).sites()))
    table = _table(at)
    pd.testing.assert_frame_equal(
        table.reset_index(drop=True), formatted(expected), check_dtype=False
    )
    assert table["Rank"].tolist() == list(range(1, len(expected) + 1))
    bars = _chart_values(at)
    assert [b["Body"] for b in bars] == expected["agency"].tolist()
    assert [b["Share (%)"] for b in bars] == pytest.approx((expected["score"] * 100).round(1))
    text = _text(at)
    assert "What each measure counts" in text and "Exact location" in text
    assert "A site placed at the centre of its postcode" in text
    assert FIGURES_NOTE in text

    # the chart of one measure: bodies with no leased site have no bar, and it says so
    at.selectbox(key=completeness_page.CHART_KEY).set_value("lease_dates")
    run_app(at, timeout=300)
    leased = expected[expected["leased_sites"] > 0]
    bars = _chart_values(at)
    assert [b["Body"] for b in bars] == leased["agency"].tolist()


def test_the_own_agency_sees_its_restricted_sites_counted(sample_store, monkeypatch):
    sites = open_store(sample_store).sites()
    restricted = sites[sites["sensitivity"] == "restricted"]
    assert len(restricted), "the sample estate has restricted sites"
    owner = str(restricted["agency"].iloc[0])
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    others = _table(_open()).set_index("Agency")
    monkeypatch.setenv("ASSETMAP_AGENCY", owner)
    own = _table(_open()).set_index("Agency")
    held = int((restricted["agency"] == owner).sum())
    seen = others.loc[owner, "Sites"] if owner in others.index else 0
    assert own.loc[owner, "Sites"] == seen + held


def test_a_hostile_agency_name_is_shown_as_its_characters(small_store):
    at = _open()
    assert not at.error
    assert HOSTILE_AGENCY in set(_table(at)["Agency"])
    assert HOSTILE_AGENCY in {b["Body"] for b in _chart_values(at)}


def test_bodies_with_no_leased_site_have_no_lease_bar_and_it_is_said(small_store):
    def lease_chart() -> AppTest:
        at = _open()
        at.selectbox(key=completeness_page.CHART_KEY).set_value("lease_dates")
        return run_app(at, timeout=300)

    sites = open_store(small_store).sites()
    # make_sites cycles the sectors: the first six sites are of six of the seven bodies
    # (the first is the hostile agency's), so Kent Police alone has no leased site
    sites["tenure"] = ["leasehold" if i < 6 else "freehold" for i in range(len(sites))]
    write_store(small_store, sites)
    at = lease_chart()
    bodies = [b["Body"] for b in _chart_values(at)]
    assert len(bodies) == 6 and "Kent Police" not in bodies
    assert "1 body with no leased site has no bar." in _text(at)
    table = _table(at).set_index("Agency")
    assert table.loc["Kent Police", "Lease dates"] == NO_LEASED_SITES

    sites["tenure"] = "freehold"
    write_store(small_store, sites)
    at = lease_chart()
    assert not at.get("vega_lite_chart")
    assert "No body has a leased site: there is nothing to chart." in _text(at)
    assert set(_table(at)["Lease dates"]) == {NO_LEASED_SITES}
