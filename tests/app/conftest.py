"""Fixtures for the app tests: a small estate store that the app is pointed at."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import streamlit as st

from assetmap.store import STORE_ENV, SourceUpdate, open_store
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_caches():
    """Streamlit's caches emptied before and after the test (AppTest runs share them)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def shown(text: str) -> str:
    """Markdown source as the officer reads it: backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", text)


def run_app(at, timeout: float = 300):
    """Run an AppTest and fail with the app's exceptions if it raised any."""
    at.run(timeout=timeout)
    assert not at.exception, [e.value for e in at.exception]
    return at


def write_store(path: Path, sites: gpd.GeoDataFrame, *, owner: str = "") -> Path:
    """Write ``sites`` into the store at ``path`` as one source (of agency ``owner``, if any)."""
    source = str(sites["source_file"].iloc[0]) if len(sites) else "test_register.csv"
    update = SourceUpdate(
        source_file=source,
        kind="sites",
        rows=sites,
        footprints=None,
        quarantine=pd.DataFrame(),
        log={
            "source_file": source,
            "source_sha256": "0" * 64,
            "kind": "sites",
            "format": "csv",
            "agency": owner,
            "sector": str(sites["sector"].iloc[0]) if owner else "",
            "imported_at": "2025-01-01T00:00:00+00:00",
            "rows_read": len(sites),
            "accepted": len(sites),
            "quarantined": 0,
            "report_json": "{}",
        },
        owner=owner,
    )
    open_store(path).replace_source(update)
    return path


@pytest.fixture
def small_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of 60 test sites, one with a hostile name; ``$ASSETMAP_STORE`` points at it."""
    path = write_store(tmp_path / "estate.gpkg", make_sites(60, hostile=True))
    monkeypatch.setenv(STORE_ENV, str(path))
    return path


@pytest.fixture
def sample_store(sample_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The root conftest's fresh copy of the sample estate; ``$ASSETMAP_STORE`` points at it."""
    monkeypatch.setenv(STORE_ENV, str(sample_store))
    return sample_store


#: The second sample place's council register: sites at real postcodes of Trafford only.
TRAFFORD_REGISTER = ROOT / "sample_estates" / "trafford" / "trafford_council_land_assets.csv"


def import_trafford_register(path: Path) -> Path:
    """Build a store at ``path`` from Trafford Council's sample register alone.

    Skips, saying why, when the second sample place is not in this checkout.
    """
    from assetmap.registers.importer import import_register

    if not TRAFFORD_REGISTER.is_file():
        pytest.skip(f"{TRAFFORD_REGISTER} is missing: run sample_estates/generate.py")
    report = import_register(
        TRAFFORD_REGISTER, store=path, kind="sites", agency="Trafford Council", sector="council"
    )
    assert report.accepted >= 30
    return path


@pytest.fixture(scope="session")
def trafford_store_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built only from a register outside Kent (read it; copy it to write)."""
    return import_trafford_register(tmp_path_factory.mktemp("trafford") / "estate.gpkg")


@pytest.fixture
def trafford_store(trafford_store_built: Path, tmp_path: Path, monkeypatch) -> Path:
    """A fresh copy of the Trafford store; ``$ASSETMAP_STORE`` points at it."""
    import shutil

    path = tmp_path / "estate.gpkg"
    shutil.copyfile(trafford_store_built, path)
    monkeypatch.setenv(STORE_ENV, str(path))
    return path
