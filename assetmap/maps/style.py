"""The sector palette and symbols shared by every map assetmap draws.

One colour, label and marker symbol per sector in :data:`assetmap.schema.SECTORS`.
The colours are the Okabe-Ito palette, chosen to stay distinguishable under the
common forms of colour-blindness; the symbols differ too, so print maps read in
greyscale. The interactive map (:mod:`assetmap.maps.interactive`) and the print
maps (matplotlib) both take their styling from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..schema import SECTORS

__all__ = [
    "BOUNDARY_STYLE",
    "MAP_BACKGROUND",
    "MAP_CSS",
    "SECTOR_STYLES",
    "SectorStyle",
    "sector_colour",
    "sector_key",
    "sector_label",
]

_HEX = re.compile(r"^#[0-9a-f]{6}$")


@dataclass(frozen=True)
class SectorStyle:
    """How one sector is drawn.

    Attributes
    ----------
    sector
        The sector code from :data:`assetmap.schema.SECTORS`.
    label
        The name shown to people (legend, filters, tables).
    colour
        Fill colour as ``#rrggbb``.
    marker
        A matplotlib marker symbol for print maps.
    """

    sector: str
    label: str
    colour: str
    marker: str

    def __post_init__(self) -> None:
        if not _HEX.match(self.colour):
            raise ValueError(f"colour must be #rrggbb in lower case, got {self.colour!r}")


#: Sector code -> style, in the order of :data:`assetmap.schema.SECTORS`.
SECTOR_STYLES: dict[str, SectorStyle] = {
    s.sector: s
    for s in (
        SectorStyle("police", "Police", "#0072b2", "s"),
        SectorStyle("health", "Health (NHS)", "#009e73", "P"),
        SectorStyle("dwp", "DWP / Jobcentre Plus", "#e69f00", "D"),
        SectorStyle("council", "Council", "#cc79a7", "o"),
        SectorStyle("fire", "Fire and rescue", "#d55e00", "^"),
        SectorStyle("other", "Other", "#7f7f7f", "X"),
    )
}

if tuple(SECTOR_STYLES) != tuple(SECTORS):  # pragma: no cover - guards a schema change
    raise RuntimeError("maps.style.SECTOR_STYLES must list exactly schema.SECTORS, in order")

#: Background of a map drawn without tiles (the boundaries are the basemap).
MAP_BACKGROUND = "#e9eef2"

#: Outline and fill of locality boundaries drawn as a light basemap.
BOUNDARY_STYLE: dict[str, object] = {
    "color": "#8a8a8a",
    "weight": 1,
    "fillColor": "#fbfaf7",
    "fillOpacity": 1.0,
}

#: Style sheet for the map page and its popups: site records (``.assetmap-record``, built by
#: :func:`assetmap.maps.safe_html.record_html`), a narrower attribution control, and
#: neutral cluster bubbles that no sector colour is confused with.
MAP_CSS = """
.assetmap-record { font: 12px/1.45 sans-serif; color: #222; }
.assetmap-record .assetmap-title { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
.assetmap-record table { border-collapse: collapse; }
.assetmap-record th { text-align: left; padding: 1px 10px 1px 0; vertical-align: top;
  font-weight: 600; white-space: nowrap; }
.assetmap-record td { padding: 1px 0; word-break: break-word; }
.leaflet-container .leaflet-control-attribution { max-width: 60%; font-size: 10px;
  line-height: 1.35; white-space: normal; }
.leaflet-container .marker-cluster-small, .leaflet-container .marker-cluster-medium,
.leaflet-container .marker-cluster-large { background-color: rgba(40, 52, 64, 0.25); }
.leaflet-container .marker-cluster-small div, .leaflet-container .marker-cluster-medium div,
.leaflet-container .marker-cluster-large div { background-color: rgba(40, 52, 64, 0.82);
  color: #fff; font-weight: 600; }
"""


def sector_key(values: pd.Series) -> pd.Series:
    """Return each value as a sector code, with anything unknown or missing as ``"other"``.

    Parameters
    ----------
    values
        Sector codes, normally already canonical.

    Returns
    -------
    pandas.Series
        Values from :data:`assetmap.schema.SECTORS`, aligned to ``values``.
    """
    text = values.astype("object").where(values.notna(), "").astype(str).str.strip().str.lower()
    return text.where(text.isin(SECTORS), "other")


def sector_colour(sector: str) -> str:
    """Return the ``#rrggbb`` colour of ``sector`` (``"other"``'s for an unknown sector)."""
    return SECTOR_STYLES.get(sector, SECTOR_STYLES["other"]).colour


def sector_label(sector: str) -> str:
    """Return the human label of ``sector`` (``"Other"`` for an unknown sector)."""
    return SECTOR_STYLES.get(sector, SECTOR_STYLES["other"]).label
