"""assetmap: one map of the whole public estate of a place.

The names here are the entry points a Python user needs: the estate store, the
importer, co-location, space matching and allocation, density and
classification, print maps and the map pack, the interactive map, who is looking
(the viewer) and the errors. Each is defined in its own module (listed in
``_EXPORTS``) and imported from there the first time it is used (PEP 562), so
``import assetmap`` loads neither pandas, geopandas, matplotlib, folium nor
streamlit: ``python -m assetmap --help`` and ``import assetmap.access`` stay quick.

Examples
--------
>>> import assetmap
>>> assetmap.__version__
'0.1.0'
>>> store = assetmap.open_store("estate.gpkg")  # doctest: +SKIP
>>> assetmap.import_register("police.csv", store=store, agency="Kent Police")  # doctest: +SKIP
>>> sites = store.sites()  # doctest: +SKIP
>>> table = assetmap.locality_metrics(sites, "district")  # doctest: +SKIP
>>> figure = assetmap.render_map("sites", sites, place="Maidstone")  # doctest: +SKIP
>>> assetmap.save_map(figure, "maidstone.pdf", format="pdf")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The version of assetmap. The one place it is written: pyproject.toml reads it
#: from here (``[tool.setuptools.dynamic]``), so a checkout run without installing
#: and an installed copy give the same answer, and no package metadata is looked up.
__version__ = "0.1.0"

__all__ = [
    "AllocationPlan",
    "AssetmapError",
    "Classification",
    "Close",
    "ColocationResult",
    "ConflictError",
    "DataNotFoundError",
    "Dispose",
    "EstateStore",
    "GeoPackageStore",
    "ImportOptions",
    "ImportReport",
    "InvalidArgumentError",
    "KdeSurface",
    "LocalityDensity",
    "MapOptions",
    "MatchResult",
    "PackIndex",
    "PermissionDeniedError",
    "PreparedRegister",
    "ProfileError",
    "RegisterReadError",
    "Scenario",
    "ScenarioResult",
    "SourceUpdate",
    "StaticMap",
    "StoreError",
    "TakeOffer",
    "UnsafeArchiveError",
    "Viewer",
    "access_change",
    "allocate",
    "build_map",
    "build_sample_store",
    "classify",
    "cluster_windows",
    "colocation_clusters",
    "density_by_locality",
    "exit_dates",
    "export_pack",
    "find_candidates",
    "heat_points",
    "hex_density",
    "import_register",
    "kde_surface",
    "load_localities",
    "local_viewer",
    "locality_metrics",
    "lsoa_centres",
    "map_bytes",
    "map_html",
    "open_store",
    "place_summary",
    "prepare_register",
    "read_boundary_file",
    "remove_register",
    "render_map",
    "save_map",
    "site_map",
    "visible_requests",
    "visible_sites",
]

#: Each public name -> the module (relative to this package) that defines it.
_EXPORTS: dict[str, str] = {
    # the estate store
    "EstateStore": ".store",
    "GeoPackageStore": ".store",
    "SourceUpdate": ".store",
    "open_store": ".store",
    # importing registers, and the bundled sample estate
    "ImportReport": ".registers.report",
    "PreparedRegister": ".registers.importer",
    "ImportOptions": ".registers.importer",
    "import_register": ".registers.importer",
    "prepare_register": ".registers.importer",
    "remove_register": ".registers.importer",
    "build_sample_store": ".sample",
    # localities: the bundled boundary levels and boundary files
    "load_localities": ".localities",
    "read_boundary_file": ".io.boundaries",
    # co-location
    "ColocationResult": ".colocation",
    "colocation_clusters": ".colocation",
    # space requests: candidates and the allocation plan
    "AllocationPlan": ".matching",
    "MatchResult": ".matching",
    "allocate": ".matching",
    "find_candidates": ".matching",
    # density and classification
    "Classification": ".density.classification",
    "KdeSurface": ".density.grids",
    "LocalityDensity": ".density.locality",
    "classify": ".density.classification",
    "density_by_locality": ".density.locality",
    "heat_points": ".density.grids",
    "hex_density": ".density.grids",
    "kde_surface": ".density.grids",
    "locality_metrics": ".density.locality",
    "place_summary": ".density.summary",
    # from map to decision: lease events, scenarios, residents' access
    "cluster_windows": ".lease_events",
    "exit_dates": ".lease_events",
    "Close": ".scenarios",
    "Dispose": ".scenarios",
    "Scenario": ".scenarios",
    "ScenarioResult": ".scenarios",
    "TakeOffer": ".scenarios",
    "access_change": ".residents_access",
    "lsoa_centres": ".residents_access",
    # print maps and the map pack
    "StaticMap": ".maps.static.render",
    "MapOptions": ".maps.static.options",
    "build_map": ".maps.static.render",
    "map_bytes": ".maps.static.render",
    "render_map": ".maps.static.render",
    "save_map": ".maps.static.render",
    "PackIndex": ".maps.pack",
    "export_pack": ".maps.pack",
    # the interactive map
    "map_html": ".maps.interactive.webmap",
    "site_map": ".maps.interactive.webmap",
    # who is looking
    "Viewer": ".access",
    "local_viewer": ".access",
    "visible_requests": ".access",
    "visible_sites": ".access",
    # the errors
    "AssetmapError": ".errors",
    "ConflictError": ".errors",
    "DataNotFoundError": ".errors",
    "InvalidArgumentError": ".errors",
    "PermissionDeniedError": ".errors",
    "ProfileError": ".errors",
    "RegisterReadError": ".errors",
    "StoreError": ".errors",
    "UnsafeArchiveError": ".errors",
}

if TYPE_CHECKING:  # type checkers and editors see the real objects; nothing runs here
    from .access import Viewer, local_viewer, visible_requests, visible_sites
    from .colocation import ColocationResult, colocation_clusters
    from .density.classification import Classification, classify
    from .density.grids import KdeSurface, heat_points, hex_density, kde_surface
    from .density.locality import LocalityDensity, density_by_locality, locality_metrics
    from .density.summary import place_summary
    from .errors import (
        AssetmapError,
        ConflictError,
        DataNotFoundError,
        InvalidArgumentError,
        PermissionDeniedError,
        ProfileError,
        RegisterReadError,
        StoreError,
        UnsafeArchiveError,
    )
    from .io.boundaries import read_boundary_file
    from .lease_events import cluster_windows, exit_dates
    from .localities import load_localities
    from .maps.interactive.webmap import map_html, site_map
    from .maps.pack import PackIndex, export_pack
    from .maps.static.options import MapOptions
    from .maps.static.render import StaticMap, build_map, map_bytes, render_map, save_map
    from .matching import AllocationPlan, MatchResult, allocate, find_candidates
    from .registers.importer import (
        ImportOptions,
        PreparedRegister,
        import_register,
        prepare_register,
        remove_register,
    )
    from .registers.report import ImportReport
    from .residents_access import access_change, lsoa_centres
    from .sample import build_sample_store
    from .scenarios import Close, Dispose, Scenario, ScenarioResult, TakeOffer
    from .store import EstateStore, GeoPackageStore, SourceUpdate, open_store


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups find it without coming here
    return value


def __dir__() -> list[str]:
    """Return the module's own names and every public name, imported or not."""
    return sorted({*globals(), *__all__})
