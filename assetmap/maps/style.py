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
    "APPROXIMATE_LABEL",
    "BOUNDARY_STYLE",
    "CHOROPLETH_RAMP",
    "CLUSTER_COLOUR",
    "MAP_BACKGROUND",
    "MAP_CSS",
    "MATCH_LINE_COLOUR",
    "NO_DATA_COLOUR",
    "REQUEST_COLOUR",
    "SECTOR_STYLES",
    "SectorStyle",
    "class_colours",
    "sector_colour",
    "sector_key",
    "sector_label",
]

#: How legends name a site placed only at the centre of its postcode district or sector
#: (drawn as a hollow ring on every map).
APPROXIMATE_LABEL = "placed approximately (postcode area)"

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
        """Refuse a colour that is not ``#rrggbb`` in lower case."""
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


#: Sequential ramp for choropleth classes, light (lowest) to dark (highest): ColorBrewer
#: "YlGnBu" with 7 classes; :func:`class_colours` picks k of them evenly.
CHOROPLETH_RAMP: tuple[str, ...] = (
    "#ffffcc",
    "#c7e9b4",
    "#7fcdbb",
    "#41b6c4",
    "#1d91c0",
    "#225ea8",
    "#0c2c84",
)
#: Fill of a locality with no value (no data).
NO_DATA_COLOUR = "#d9d9d9"
#: Co-location cluster outlines (a colour no sector uses).
CLUSTER_COLOUR = "#6a3d9a"
#: Lines from an offer of surplus space to the request it could serve.
MATCH_LINE_COLOUR = "#b2182b"
#: Space requests on a map (a hollow marker of this colour).
REQUEST_COLOUR = "#111111"


def class_colours(k: int) -> list[str]:
    """Return ``k`` colours along :data:`CHOROPLETH_RAMP`, lowest class first.

    The ramp's own colours are used where ``k`` fits them evenly; otherwise the
    colours are interpolated between its stops (in RGB).

    Parameters
    ----------
    k
        The number of classes, 1 or more.

    Returns
    -------
    list of str
        ``#rrggbb`` colours.

    Raises
    ------
    ValueError
        If ``k`` is below 1.
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k={k!r} is not valid; expected a whole number of classes, 1 or more")
    stops = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in CHOROPLETH_RAMP]
    last = len(stops) - 1
    colours = []
    for i in range(int(k)):
        t = 0.5 if k == 1 else i / (k - 1)
        pos = t * last
        lo = min(int(pos), last - 1)
        f = pos - lo
        rgb = [round(a + (b - a) * f) for a, b in zip(stops[lo], stops[lo + 1], strict=True)]
        colours.append("#" + "".join(f"{v:02x}" for v in rgb))
    return colours


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
