"""The sector palette covers every sector, once, in readable colours."""

from __future__ import annotations

import re

import pandas as pd

from assetmap.maps.style import SECTOR_STYLES, sector_colour, sector_key, sector_label
from assetmap.schema import SECTORS


def test_palette_covers_every_sector_in_order():
    assert tuple(SECTOR_STYLES) == SECTORS
    for sector, style in SECTOR_STYLES.items():
        assert style.sector == sector
        assert re.fullmatch(r"#[0-9a-f]{6}", style.colour)
        assert style.label and style.marker


def test_colours_labels_and_symbols_are_distinct():
    styles = list(SECTOR_STYLES.values())
    assert len({s.colour for s in styles}) == len(styles)
    assert len({s.label for s in styles}) == len(styles)
    assert len({s.marker for s in styles}) == len(styles)


def test_labels_people_read():
    assert sector_label("police") == "Police"
    assert sector_label("health") == "Health (NHS)"
    assert sector_label("dwp") == "DWP / Jobcentre Plus"
    assert sector_label("council") == "Council"
    assert sector_label("fire") == "Fire and rescue"
    assert sector_label("nonsense") == "Other"
    assert sector_colour("nonsense") == SECTOR_STYLES["other"].colour


def test_sector_key_maps_unknown_and_missing_to_other():
    out = sector_key(pd.Series(["police", " Fire ", "", None, "ambulance"]))
    assert out.tolist() == ["police", "fire", "other", "other", "other"]
