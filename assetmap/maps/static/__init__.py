"""Print-quality static maps: matplotlib over geopandas, with no browser and no internet.

Four kinds of map (:data:`KINDS`): the sites of a place by sector, a density
choropleth per locality, co-location clusters, and the matches of surplus space
to space requests (lines from each offer to the request it serves). Every map
has a title and a subtitle (the place, the date drawn and the date of the data),
a legend, a scale bar in metres or kilometres with the map's representative
fraction, a north arrow, the boundaries' attribution
(:data:`assetmap.localities.ATTRIBUTION`), the number of sites drawn and,
unless turned off, a locator inset (the place within its country or its
integrated care board). A place is any place of :mod:`assetmap.places`: a
district, ICB, sub-ICB location or health board, country or LSOA of England and
Wales, Kent and Medway, or a place or boundary set the store keeps (``store=``).
Locality boundaries are the basemap; background tiles are drawn only when a tile
source is given and answers, never required.

Pages are A4 or A3 (:data:`PAPERS`), portrait or landscape, and are written as
PNG (150 or 300 dpi), PDF or SVG (:data:`FORMATS`). The sector palette and the
symbols come from :mod:`assetmap.maps.style`, as on the interactive map. Every
option of a map is a field of one :class:`MapOptions`.

Drawing is deterministic: the same estate and options give byte-identical SVG
and PDF files. Fonts are fixed (DejaVu Sans, shipped with matplotlib), SVG ids
come from a fixed hash salt, and no creation date is written into the files.
Text stays text in SVG and PDF (searchable, selectable); dense point layers
(more than :data:`RASTERIZE_ABOVE` points) are rasterised inside vector files at
the dpi asked for, while the legend, title and labels stay vector.

Restricted sites (``sensitivity == "restricted"``) of agencies other than the
viewer's are withheld: :func:`assetmap.access.visible_sites` removes them, once,
at the start of :func:`build_map` (``viewer=``), before anything is drawn,
counted, classed or noted, so no map, legend count or note can tell they exist.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so
drawing is safe from any thread (the Streamlit app draws in its script thread).

The modules, top down: :mod:`.render` draws a whole map and writes it;
:mod:`.layers` draws each kind's layers; :mod:`.tiles` the optional background
tiles; :mod:`.page` the page, its extent and furniture (scale bar, north arrow,
inset); :mod:`.options` the options and their checks.
"""

from ...schema import in_place
from .layers import KINDS, RASTERIZE_ABOVE
from .options import (
    DPIS,
    FORMATS,
    PAPERS,
    PLACE_LEVELS,
    MapFormat,
    MapOptions,
    Place,
    check_output_path,
    option_problems,
    resolve_place,
)
from .page import nice_scale_length
from .render import StaticMap, build_map, count_text, map_bytes, render_map, save_map

__all__ = [
    "DPIS",
    "FORMATS",
    "KINDS",
    "PAPERS",
    "PLACE_LEVELS",
    "RASTERIZE_ABOVE",
    "MapFormat",
    "MapOptions",
    "Place",
    "StaticMap",
    "build_map",
    "check_output_path",
    "count_text",
    "in_place",
    "map_bytes",
    "nice_scale_length",
    "option_problems",
    "render_map",
    "resolve_place",
    "save_map",
]
