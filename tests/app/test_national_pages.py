"""The analysis pages on a national estate (issue #18): paged, shown with their progress.

A national estate of 20,000 sites at real postcodes of England and Wales
(``sample_estates/national.py``) has hundreds of co-location clusters, and its
largest clusters hold thousands of sites: the pages must page what they list and
say what they show, and the work must show its progress.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from assetmap import places
from assetmap.app import colocation_page
from assetmap.app.navigation import page_path
from assetmap.density.locality import localities_holding
from assetmap.schema import CRS_BNG
from assetmap.store import STORE_ENV
from sample_estates.national import build_national_store
from tests.app.conftest import run_app, shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")

pytestmark = pytest.mark.usefixtures("fresh_caches", "national_store")


@pytest.fixture(scope="module")
def national_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated national estate of 20,000 sites (built once for the module)."""
    path = tmp_path_factory.mktemp("national") / "estate.gpkg"
    build_national_store(path, 20_000)
    return path


@pytest.fixture
def national_store(national_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$ASSETMAP_STORE`` pointed at the national estate."""
    monkeypatch.setenv(STORE_ENV, str(national_path))
    return national_path


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.switch_page(str(page_path(page).relative_to(ROOT)))
    return run_app(at, timeout=600)


def _frame(at: AppTest, *columns: str) -> pd.DataFrame:
    for element in at.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with the columns {columns}")


def _captions(at: AppTest) -> str:
    return shown("\n".join(c.value for c in at.caption))


def _clusters_found(at: AppTest) -> int:
    (status,) = at.status
    assert status.state == "complete"
    assert status.label.startswith("Co-location clusters found: ")
    return int(status.label.rsplit(" ", 1)[1].replace(",", ""))


def test_colocation_pages_the_clusters_of_a_national_estate():
    per = colocation_page.CLUSTERS_PER_PAGE
    at = _open("colocation")
    n = _clusters_found(at)
    assert n > per  # the estate has pages to turn
    assert int(at.metric[0].value.replace(",", "")) == n
    first = _frame(at, "Cluster", "Agencies")
    assert first["Cluster"].tolist() == list(range(1, per + 1))
    assert f"Clusters ranked 1 to {per:,} of {n:,}" in _captions(at)
    # the download holds every cluster, not the page
    assert any(b.label == f"Download the {n:,} clusters (CSV)" for b in at.get("download_button"))
    # the picker offers the clusters of the page shown
    assert at.selectbox(key=colocation_page.CLUSTER_KEY).options[0].startswith("Cluster 1:")

    at.number_input(key=colocation_page.PAGE_KEY).set_value(2)
    run_app(at, timeout=600)
    last = min(2 * per, n)
    second = _frame(at, "Cluster", "Agencies")
    assert second["Cluster"].tolist() == list(range(per + 1, last + 1))
    assert f"Clusters ranked {per + 1:,} to {last:,} of {n:,}" in _captions(at)
    picker = at.selectbox(key=colocation_page.CLUSTER_KEY)
    assert picker.options[0].startswith(f"Cluster {per + 1}:")
    assert picker.value == per + 1  # the cluster chosen on page 1 is not on page 2


def test_a_big_cluster_shows_its_hub_and_the_sites_nearest_it(monkeypatch):
    monkeypatch.setattr(colocation_page, "MEMBERS_SHOWN", 25)
    at = _open("colocation")
    table = _frame(at, "Cluster", "Sites")
    big = table[table["Sites"] > 25].iloc[0]
    at.selectbox(key=colocation_page.CLUSTER_KEY).set_value(int(big["Cluster"]))
    run_app(at, timeout=600)
    members = _frame(at, "is_hub", "distance_to_hub_m")
    assert len(members) == 25
    assert bool(members["is_hub"].iloc[0]) and members["is_hub"].sum() == 1
    assert members["distance_to_hub_m"].iloc[1:].is_monotonic_increasing
    sites = int(big["Sites"])
    assert f"the 25 sites nearest it, of the cluster's {sites:,}" in _captions(at)
    labels = [b.label for b in at.get("download_button")]
    assert f"Download the cluster's {sites:,} sites (CSV)" in labels


def test_a_small_cluster_is_shown_whole():
    at = _open("colocation")
    table = _frame(at, "Cluster", "Sites")
    small = table[table["Sites"] <= colocation_page.MEMBERS_SHOWN].iloc[-1]
    at.selectbox(key=colocation_page.CLUSTER_KEY).set_value(int(small["Cluster"]))
    run_app(at, timeout=600)
    assert len(_frame(at, "is_hub")) == int(small["Sites"])
    assert "nearest it, of the cluster's" not in _captions(at)


def test_density_of_the_national_estate_counts_every_site():
    at = _open("density")
    assert not at.error, [e.value for e in at.error]
    summary = _frame(at, "locality_code")
    total = summary[summary["locality_code"] == "TOTAL"]
    assert len(total) == 1
    # every district holding a site is drawn: no site lies outside every locality
    assert " sites lie outside every locality." not in _captions(at)
    codes = set(summary["locality_code"]) - {"TOTAL"}
    assert len(codes) > 250  # the estate spreads over England and Wales
    classes = _frame(at, "class", "localities")
    assert classes["localities"].sum() == len(codes)


def test_localities_holding_gives_the_spatial_index_answer():
    districts = places.level_localities("district")
    rng = np.random.default_rng(18)
    x0, y0, x1, y1 = 540_000, 120_000, 620_000, 180_000  # Kent and its neighbours
    points = shapely.points(rng.uniform(x0, x1, 200_000), rng.uniform(y0, y1, 200_000))
    # points on a district's edge, a missing and an empty point
    edge = shapely.get_exterior_ring(shapely.get_geometry(districts.geometry.to_numpy()[:40], 0))
    points = np.concatenate(
        [points, shapely.line_interpolate_point(edge, 0.3, normalized=True), [None]]
    )
    points = np.concatenate([points, [shapely.from_wkt("POINT EMPTY")]])
    located = points[~(shapely.is_missing(points) | shapely.is_empty(points))]
    _, hit = districts.sindex.query(located, predicate="intersects")
    expected = np.zeros(len(districts), dtype=bool)
    expected[hit] = True
    got = localities_holding(districts, points)
    assert 0 < expected.sum() < len(districts)
    np.testing.assert_array_equal(got, expected)
    nothing = gpd.GeoSeries([None], crs=CRS_BNG).to_numpy()
    assert not localities_holding(districts, nothing).any()
