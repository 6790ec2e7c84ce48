"""Register values that look like Jinja templates stay text on every map.

folium renders each element's macros with Jinja and, before this was fixed, read
what they rendered as a Jinja template again: a site named ``{{ 7*7 }} Hall`` was
exported as "49 Hall" (so any expression ran on the server), and ``{% if %}``
broke the Map page. Two defences hold, each tested alone: the JSON of every layer
writes a brace that opens a Jinja tag as ``\\u007b``, and every assetmap element
puts its rendered text into the page without reading it again
(:class:`assetmap.maps.interactive.elements.RenderedOnce`).
"""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import pytest
from streamlit_folium import _get_feature_group_string

from assetmap.maps import safe_html
from assetmap.maps.interactive import base_map, map_html, site_map
from assetmap.maps.interactive.elements import KeepView, LayerLegend, RenderedOnce
from assetmap.maps.interactive.layers import BoundariesLayer, ShapesLayer
from assetmap.maps.interactive.sites import SitesLayer
from assetmap.maps.interactive.viewport import EstateIndex, HexLayer, View, view_layer
from tests.maps.factories import make_sites

PAYLOADS = {
    "S-EXPR": "{{ 7*7 }} Hall",
    "S-LOOP": "{% for x in range(3) %}X{% endfor %} House",
    "S-BROKEN": "{% if %} Depot",
    "S-COMMENT": "Annex {# hidden #} Wing",
    "S-ESCAPE": "{{ cycler.__init__.__globals__.os.getcwd() }}",
}


def _sites() -> gpd.GeoDataFrame:
    sites = make_sites(len(PAYLOADS), seed=4)
    sites["site_id"] = list(PAYLOADS)
    sites["name"] = list(PAYLOADS.values())
    sites.loc[0, "agency"] = "{{ 6*7 }} Police"
    return sites


def _names_in(text: str) -> list[str]:
    """Return the site names in the JSON of a page or script, decoded."""
    found = []
    for name in PAYLOADS.values():
        escaped = json.dumps(name)[1:-1]
        escaped = re.sub(r"\{(?=[{%#])", r"\\u007b", escaped)
        if escaped in text:
            found.append(name)
    return found


def _evaluated(text: str) -> bool:
    """Whether a payload was run: its result is in the text."""
    return any(s in text for s in ("49 Hall", "XXX House", "Annex  Wing", "42 Police", "/work"))


def test_an_exported_map_keeps_template_like_names_as_text():
    html = map_html(site_map(_sites()))
    assert not _evaluated(html)
    assert sorted(_names_in(html)) == sorted(PAYLOADS.values())


def test_the_map_pages_layers_render_template_like_names_as_text():
    sites = _sites()
    index = EstateIndex(sites)
    x, y = index.lon.mean(), index.lat.mean()
    near = view_layer(index, View.around((y, x), 9, width_px=900, height_px=640))
    assert near.mode == "points"
    group = folium.FeatureGroup(name="Layers", control=False)
    near.layer.add_to(group)
    text = _get_feature_group_string(group, map=base_map(None, tiles=None, clusters=False))
    assert not _evaluated(text)
    assert _names_in(text), "the sites layer should hold the names"


@pytest.mark.parametrize("defence", ["escaped braces", "rendered once"])
def test_each_defence_holds_alone(monkeypatch, defence):
    if defence == "escaped braces":  # folium's second reading back, the JSON escaped
        monkeypatch.setattr(RenderedOnce, "render", _folium_render)
    else:  # the JSON not escaped, rendered once
        monkeypatch.setattr(safe_html, "_JSON_TEMPLATE_OPENER_RE", re.compile(r"(?!)"))
    html = map_html(site_map(_sites()))
    assert not _evaluated(html)
    assert len(_names_in(html)) == len(PAYLOADS) or defence == "rendered once"
    if defence == "rendered once":  # the raw names are in the page, as text
        assert all(name in html.replace("\\u003c", "<") for name in PAYLOADS.values())


def _folium_render(self, **kwargs):
    # what folium does: read the rendered text again as a template (the bug)
    return super(RenderedOnce, self).render(**kwargs)


def test_without_either_defence_the_names_would_be_run():
    # the test above can fail: with both defences off, the payload runs
    from unittest import mock

    with (
        mock.patch.object(RenderedOnce, "render", _folium_render),
        mock.patch.object(safe_html, "_JSON_TEMPLATE_OPENER_RE", re.compile(r"(?!)")),
    ):
        sites = _sites().drop(index=2)  # "{% if %}" cannot even be compiled
        html = map_html(site_map(sites))
    assert _evaluated(html)


def test_every_assetmap_element_renders_once():
    for cls in (SitesLayer, HexLayer, BoundariesLayer, ShapesLayer, LayerLegend, KeepView):
        assert issubclass(cls, RenderedOnce), cls
