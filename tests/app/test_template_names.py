"""The Map page draws sites whose names look like Jinja templates, as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assetmap.store import STORE_ENV
from tests.app.conftest import run_app, write_store
from tests.maps.test_template_injection import PAYLOADS, _evaluated, _names_in, _sites

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")

pytestmark = pytest.mark.usefixtures("fresh_caches")


def test_the_map_page_draws_template_like_names(tmp_path, monkeypatch):
    monkeypatch.setenv(STORE_ENV, str(write_store(tmp_path / "estate.gpkg", _sites())))
    at = run_app(AppTest.from_file(APP))
    args = [json.loads(e.proto.json_args) for e in at.get("component_instance")]
    assert args, "no map on the page"
    text = args[0]["feature_group"]
    assert not _evaluated(text)
    assert sorted(_names_in(text)) == sorted(PAYLOADS.values())
