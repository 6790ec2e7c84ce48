"""Density maps of the estate: per locality, classed for a choropleth, on a grid, as heat.

Every function here takes GeoDataFrames and returns tables aligned to an index (momepy
style): per-locality tables are indexed by the localities' codes, per-site tables by the
sites' index. Everything is computed in British National Grid (EPSG:27700): areas in km²
come from the polygons in metres, a hexagon's size is in metres. WGS84 appears only in
:func:`heat_points`, the edge where a web map needs it.

The modules, each with one job:

- :mod:`~assetmap.density.metrics`: what density measures (the count of sites and the
  summed columns, :data:`METRICS`), how it is normalised (:data:`PER`), and the sums
  every table shares;
- :mod:`~assetmap.density.locality`: the boundary set (:func:`resolve_localities`: a
  bundled level, a boundary file or a GeoDataFrame) and the metrics of each locality
  (:func:`density_by_locality`, :func:`locality_metrics`), with the sites outside every
  locality or on a boundary reported, never dropped;
- :mod:`~assetmap.density.classification`: classes for a choropleth
  (:func:`classify`, with mapclassify; the schemes in :data:`SCHEMES`);
- :mod:`~assetmap.density.grids`: hexagons (:func:`hex_grid`, :func:`hex_density`) and
  heat (:func:`heat_points` for folium's HeatMap, :func:`kde_surface`);
- :mod:`~assetmap.density.summary`: the Total Place board table (:func:`place_summary`).

Population tables are read, and density tables written, by :mod:`assetmap.io`
(:func:`assetmap.io.read_population`, :func:`assetmap.io.write_table`).

Restricted sites (``sensitivity == "restricted"``) of agencies other than the
``viewer``'s are withheld: every function here that takes sites first keeps only those
the viewer may see (:func:`assetmap.access.visible_sites`), so no figure, total, cell or
surface includes them, whatever localities, grids or filters are asked for (the rule and
why: :mod:`assetmap.access`).
"""

from .classification import SCHEMES, Classification, classify
from .grids import (
    MAX_CELLS,
    ORIENTATIONS,
    KdeSurface,
    heat_points,
    hex_density,
    hex_grid,
    kde_surface,
)
from .locality import LocalityDensity, density_by_locality, locality_metrics, resolve_localities
from .metrics import BREAKDOWNS, METRIC_LABELS, METRICS, PER, VALUE_COLUMNS, metric_column
from .summary import OUTSIDE_NAME, PLACE_SUMMARY_COLUMNS, TOTAL_CODE, place_summary

__all__ = [
    "BREAKDOWNS",
    "MAX_CELLS",
    "METRICS",
    "METRIC_LABELS",
    "ORIENTATIONS",
    "OUTSIDE_NAME",
    "PER",
    "PLACE_SUMMARY_COLUMNS",
    "SCHEMES",
    "TOTAL_CODE",
    "VALUE_COLUMNS",
    "Classification",
    "KdeSurface",
    "LocalityDensity",
    "classify",
    "density_by_locality",
    "heat_points",
    "hex_density",
    "hex_grid",
    "kde_surface",
    "locality_metrics",
    "metric_column",
    "place_summary",
    "resolve_localities",
]
