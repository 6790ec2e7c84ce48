"""Cached state shared by the app's pages: the estate, the places, the boundaries, the analyses.

The app starts on the bundled sample estate with no set-up: the first run builds
the store from the sample registers when no store file exists yet
(``$ASSETMAP_STORE`` names another store: a GeoPackage file, or a PostgreSQL
database shared by several app servers, which starts empty). A database store is
opened for the session's viewer, and gives only the rows their agency may see.
Everything read from the store is cached per store state (:func:`store_signature`:
its location, its version, which every committed change of the store changes, and,
for a database, the viewer's agency), read afresh once in every run, so an import or
a removal by any page, session or server is seen on the next run, and one agency's
view is never served to another; the analyses are cached per store state, place,
filters and options, so changing a filter back and forth costs nothing.

Places (:mod:`assetmap.places`) are any place in England and Wales, the bundled
Kent and Medway, and the saved places and boundary sets the store keeps. The
national boundaries are built on first use (tens of seconds, once per machine:
:func:`ensure_national` shows the progress) and read from the cache after.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from assetmap import access, national, places, selection
from assetmap.colocation import ColocationResult, colocation_clusters
from assetmap.density import (
    Classification,
    LocalityDensity,
    density_by_locality,
    place_summary,
)
from assetmap.density.locality import localities_holding
from assetmap.errors import InvalidArgumentError, StoreError
from assetmap.io.boundaries import read_boundary_file
from assetmap.io.population import read_population
from assetmap.localities import load_localities
from assetmap.maps.interactive.viewport import EstateIndex, ShapeIndex
from assetmap.maps.style import sector_key
from assetmap.matching import AllocationPlan, MatchResult, allocate, find_candidates
from assetmap.postcodes import lookup_postcodes
from assetmap.sample import ensure_sample_store
from assetmap.schema import empty_sites, in_place
from assetmap.settings import (
    TileSetting,
    configured_tiles,
    is_database_url,
    population_file,
)
from assetmap.store import EstateStore, GeoPackageStore, open_store

__all__ = [
    "VIEWER_KEY",
    "Signature",
    "basemap",
    "boundaries",
    "boundary_sets",
    "clear",
    "colocation",
    "density",
    "density_localities",
    "ensure_national",
    "estate_extent",
    "estate_facets",
    "estate_index",
    "estate_requests",
    "estate_sites",
    "home_place",
    "home_postcode",
    "imports",
    "localities",
    "overview",
    "place",
    "place_choices",
    "place_count",
    "place_outline",
    "place_requests",
    "place_sites",
    "place_summary_table",
    "plan",
    "population",
    "postcode_point",
    "quarantine",
    "read_boundaries",
    "saved_places",
    "session_viewer",
    "shape_index",
    "store",
    "store_path",
    "store_signature",
    "tiles",
    "visible_estate",
]


#: How far around the estate the interactive maps' district basemap reaches, in metres.
_BASEMAP_MARGIN_M = 5_000.0


#: Where :mod:`assetmap.app.auth` keeps the session's viewer: a database store is opened
#: for them, so that it gives only the rows their agency may see.
VIEWER_KEY = "access_viewer"

#: A store's state as the caches key it: its location (a password never in it), its
#: version (:meth:`EstateStore.version`) and whose view it is (the viewer's agency key
#: for a database store, which gives each agency only its own view; ``""`` for a
#: GeoPackage, whose whole estate is read and the engine withholds what a viewer may
#: not see).
Signature = tuple[str, str, str]

#: The signature read in each script run, by the run (Streamlit makes a new
#: coordinator object for every run, so an entry lives only as long as its run).
_RUN_SIGNATURES: weakref.WeakKeyDictionary[Any, Signature] = weakref.WeakKeyDictionary()
#: Sessions run in threads of their own: one at a time changes the runs' signatures.
_RUN_LOCK = threading.Lock()


@st.cache_resource(show_spinner="Preparing the sample estate…")
def _ensure_store(path: str) -> str:
    return str(ensure_sample_store(path))


def _run_token() -> Any:
    """Return an object of this script run alone (``None`` outside a run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else getattr(ctx, "parallel_coordinator", None)


def session_viewer() -> access.Viewer | None:
    """Return the viewer this session's run found (``None``: outside a run, or nobody yet).

    A store opened for ``None`` gives what nobody's agency may see.
    """
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    found = st.session_state.get(VIEWER_KEY)
    return found if isinstance(found, access.Viewer) else None


def store() -> EstateStore:
    """Return the estate store the app works on.

    The store ``$ASSETMAP_STORE`` names: a GeoPackage (built from the sample estate if
    missing), or a database opened for the session's viewer, which then gives only
    the rows their agency may see (row-level security, beside the engine's own rule).
    """
    opened = open_store(viewer=session_viewer())
    if isinstance(opened, GeoPackageStore) and not opened.path.is_file():
        return open_store(_ensure_store(str(opened.path)))
    return opened


def store_path() -> Path:
    """Return the GeoPackage store's file, building it from the sample estate first if missing.

    Raises
    ------
    assetmap.errors.StoreError
        If the store is a database, which has no file.
    """
    opened = store()
    if not isinstance(opened, GeoPackageStore):
        raise StoreError(f"the store {opened.location} is a database, not a file")
    return opened.path


def _scope(opened: EstateStore) -> str:
    """Return whose view of the store ``opened`` gives: the agency key for a database."""
    if isinstance(opened, GeoPackageStore):
        return ""
    viewer = session_viewer()
    return "" if viewer is None else viewer.key


def _read_signature() -> Signature:
    opened = store()
    if isinstance(opened, GeoPackageStore) and not opened.path.is_file():
        return (opened.location, "", "")
    return (opened.location, opened.version(), _scope(opened))


def store_signature() -> Signature:
    """Return the store's state as the caches key it: location, version and whose view.

    The version changes on every committed change of the store, by this server or any
    other (a GeoPackage's file signature; a database's version counter), and is read
    afresh once in every run of the page (one query), so that a rerun never serves an
    estate older than the last completed import.
    """
    token = _run_token()
    if token is not None:
        with _RUN_LOCK:
            known = _RUN_SIGNATURES.get(token)
        if known is not None:
            return known
    signature = _read_signature()
    if token is not None:
        with _RUN_LOCK:
            _RUN_SIGNATURES[token] = signature
    return signature


def _store_at(signature: Signature) -> EstateStore:
    """Return the store a signature was read from, opened as it was.

    Raises
    ------
    assetmap.errors.StoreError
        If the configured store or the viewer changed since: one agency's view is
        never read under another's key.
    """
    if not is_database_url(signature[0]):
        return open_store(signature[0])
    opened = store()
    if (opened.location, _scope(opened)) != (signature[0], signature[2]):
        raise StoreError(
            "the store or the person signed in changed while the page was drawn; reload the page"
        )
    return opened


def clear() -> None:
    """Forget cached tables and the store's version (after this session wrote to the store)."""
    st.cache_data.clear()
    for shared in (
        _read,
        _visible,
        _place_mask,
        _place_sites,
        _whole_index,
        _estate_index,
        _shape_index,
        _overview,
    ):
        shared.clear()
    token = _run_token()
    if token is not None:
        with _RUN_LOCK:
            _RUN_SIGNATURES.pop(token, None)


@st.cache_resource(show_spinner="Loading the estate…", max_entries=8)
def _read(signature: Signature, what: str) -> Any:
    opened = _store_at(signature)
    return {
        "sites": opened.sites,
        "requests": opened.requests,
        "quarantine": opened.quarantine,
        "imports": opened.imports,
    }[what]()


def _shared(frame: Any) -> Any:
    """Return a cached frame for one caller: a shallow copy, whose changes stay its own.

    The big tables are cached once for every session (``st.cache_resource``), not
    copied out of a pickle on every read as ``st.cache_data`` does (a million sites
    took seconds each time); pandas' copy-on-write makes a shallow copy safe to change.
    """
    return frame.copy(deep=False) if isinstance(frame, pd.DataFrame) else frame


def _load(signature: Signature, what: str) -> Any:
    return _shared(_read(signature, what))


def estate_sites() -> gpd.GeoDataFrame:
    """Return every site in the store (canonical columns, EPSG:27700).

    Every site for a GeoPackage; for a database, those the session's viewer may see
    (the engine's rule is applied to them again by every page).

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store cannot be built or read.
    """
    signature = store_signature()
    if not signature[1]:
        return empty_sites()
    return _load(signature, "sites")


@st.cache_resource(show_spinner="Loading the estate…", max_entries=8)
def _visible(signature: Signature, viewer_key: str, _viewer: access.Viewer | None) -> Any:
    return access.visible_sites(_read(signature, "sites"), _viewer)


def visible_estate(viewer: access.Viewer | None) -> gpd.GeoDataFrame:
    """Return every site of the store that ``viewer`` may see in full (once per store state).

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store cannot be built or read.
    """
    signature = store_signature()
    if not signature[1]:
        return access.visible_sites(empty_sites(), viewer)
    return _shared(_visible(signature, "" if viewer is None else viewer.key, viewer))


@st.cache_data(show_spinner=False, max_entries=16)
def _extent(signature: Signature, viewer_key: str, _sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    box = _sites.geometry.total_bounds
    shapes = [shapely.box(*box)] if np.isfinite(box).all() else []
    return gpd.GeoDataFrame(geometry=shapes, crs=_sites.crs)


def estate_extent(viewer: access.Viewer | None, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the box around ``sites`` (``viewer``'s estate) as one shape, once per store state.

    What a map fits its first view to: a million sites' box is worked out once, not
    on every move of the map. Empty when no site has a location.
    """
    return _extent(store_signature(), "" if viewer is None else viewer.key, sites)


@st.cache_data(show_spinner=False, max_entries=16)
def _facets(signature: Signature, viewer_key: str, _sites: gpd.GeoDataFrame) -> dict[str, Any]:
    counts = sector_key(_sites["sector"]).value_counts()
    options = {
        column: selection.filter_options(_sites, column) for column in ("agency", "use", "tenure")
    }
    return {"sectors": {str(k): int(v) for k, v in counts.items()}, **options}


def estate_facets(viewer: access.Viewer | None, sites: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return what the sidebar's filters offer for ``sites`` (``viewer``'s estate), once per state.

    ``"sectors"``: sites per sector key; ``"agency"``, ``"use"``, ``"tenure"``: the
    values each filter offers (:func:`assetmap.selection.filter_options`).
    """
    return _facets(store_signature(), "" if viewer is None else viewer.key, sites)


def estate_requests() -> gpd.GeoDataFrame:
    """Return every space request in the store."""
    return _load(store_signature(), "requests")


def quarantine() -> pd.DataFrame:
    """Return every quarantined row in the store, with its source and reasons."""
    return _load(store_signature(), "quarantine")


def imports() -> pd.DataFrame:
    """Return the import log: one row per source in the store."""
    return _load(store_signature(), "imports")


@st.cache_resource(show_spinner=False)
def _national_built() -> dict[str, bool]:
    """Whether this server has loaded the national boundaries once (shared by sessions)."""
    return {"ready": False}


def _fraction(args: tuple) -> tuple[float | None, str]:
    """Read a progress report's fraction done and its stage, whatever their order."""
    fraction = next((float(a) for a in args if isinstance(a, (int, float))), None)
    stage = next((a for a in args if isinstance(a, str)), "")
    return fraction, stage


def ensure_national() -> None:
    """Build the national boundaries if this machine has none yet, with a progress bar.

    The first use builds them into the cache folder (tens of seconds); later
    runs, sessions and servers load them in under a second.
    """
    # one element in the same place on every run, so the page's later elements (the
    # map) keep their identity when the bar is gone
    slot = st.empty()
    flag = _national_built()
    if flag["ready"]:
        return
    bar = slot.progress(0.0, text="Preparing the national boundaries (first use only)…")

    def report(*args: object) -> None:
        fraction, stage = _fraction(args)
        text = "Preparing the national boundaries (first use only)" + (
            f": {stage}" if stage else "…"
        )
        if fraction is not None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    try:
        national.lsoa_lookup(progress=report)
        for level in national.LEVELS:
            national.national_level(level, progress=report)
    finally:
        slot.empty()
    flag["ready"] = True


#: The signature of what no store changes: the national levels and the bundled county,
#: cached once whatever the store's version (a shared store's changes often).
_NO_STORE: Signature = ("", "", "")


def _keyed_for(level: str) -> Signature:
    """Return the signature a level's places and localities are cached by."""
    if level in national.LEVELS or level == places.BUNDLED_LEVEL:
        return _NO_STORE
    return store_signature()


def _kept(signature: Signature) -> EstateStore | None:
    return None if signature == _NO_STORE else _store_at(signature)


@st.cache_data(show_spinner=False, max_entries=4)
def _store_table(signature: Signature, what: str) -> Any:
    store = _store_at(signature)
    return {"boundary_sets": store.boundary_sets, "places": store.places}[what]()


def boundary_sets() -> gpd.GeoDataFrame:
    """Return the boundary sets kept in the store (set_name, code, name, owner, geometry)."""
    return _store_table(store_signature(), "boundary_sets")


def saved_places() -> pd.DataFrame:
    """Return the places saved in the store (name, level, codes, owner)."""
    return _store_table(store_signature(), "places")


def _seen(agency: str | None) -> gpd.GeoDataFrame:
    """Return the store's sites a viewer of ``agency`` may see (others' restricted withheld).

    Where the estate is (its home place, postcode and basemap) is worked out from these
    alone: another agency's restricted site must not move the place the app opens on,
    the postcode it suggests or the map's extent.
    """
    return access.visible_sites(estate_sites(), agency, renumber=False)


@st.cache_data(show_spinner="Finding the estate's place…", max_entries=16)
def _home_place(signature: Signature, agency: str | None) -> places.Place | None:
    sites = _seen(agency)
    if sites.empty:
        return None
    return places.home_place(sites, store=_store_at(signature))


def home_place(agency: str | None) -> places.Place | None:
    """Return where the sites a viewer of ``agency`` may see are, or None.

    See :func:`assetmap.places.home_place`; cached per store state and agency.
    """
    return _home_place(store_signature(), agency)


@st.cache_data(show_spinner=False, max_entries=4)
def _place_choices(signature: Signature) -> dict[str, list[tuple[str, str]]]:
    return places.place_choices(store=_kept(signature))


def place_choices() -> dict[str, list[tuple[str, str]]]:
    """Return, per level, the places a picker offers: ``[(code, name)]``.

    The national levels' and the county's alone (worked out once) while the store keeps
    no saved place or boundary set: a change of the estate does not change them.
    """
    if saved_places().empty and boundary_sets().empty:
        return _place_choices(_NO_STORE)
    return _place_choices(store_signature())


@st.cache_data(show_spinner=False, max_entries=64)
def _place(signature: Signature, level: str, code: str) -> places.Place:
    kept = _kept(signature)
    if level == "county":
        code = code or "Kent and Medway"
    # the level picked too: a name several kinds of place share is the one of that level
    return places.resolve_place(code, store=kept, level=level)


def place(level: str, code: str) -> places.Place | None:
    """Return the place chosen as a level and a code (``None`` for the whole estate).

    ``level`` is a national level, ``"county"`` (the bundled Kent and Medway),
    ``"saved place"`` (``code`` is its name) or ``"boundary set <name>"``.

    Raises
    ------
    assetmap.errors.InvalidArgumentError
        If the code is not a place of that level.
    """
    if not level or not code:
        return None
    return _place(_keyed_for(level), level, code)


# A resource, not data: the 34,753 LSOAs are shared, never copied per call (callers
# take rows of it and never change it in place).
@st.cache_resource(show_spinner="Loading the boundaries…", max_entries=8)
def _localities(signature: Signature, level: str) -> gpd.GeoDataFrame:
    return places.level_localities(level, store=_kept(signature))


def localities(level: str) -> gpd.GeoDataFrame:
    """Return every locality of a level: national, bundled, or a boundary set kept in the store.

    The frame is shared between runs and sessions: take rows of it, never change it.
    """
    return _localities(_keyed_for(level), level)


@st.cache_data(show_spinner=False, max_entries=4)
def _home_postcode(signature: Signature, agency: str | None) -> str:
    home = home_place(agency)
    sites = _seen(agency)
    if home is None or sites.empty:
        return ""
    inside = sites[in_place(sites, home.geometry)]
    codes = inside["postcode"].astype("object").fillna("").astype(str).str.strip()
    codes = codes[codes.str.len() >= 5].str.upper()
    return str(codes.value_counts().index[0]) if len(codes) else ""


def home_postcode(agency: str | None) -> str:
    """Return the commonest postcode of the sites a viewer of ``agency`` sees in its home place."""
    return _home_postcode(store_signature(), agency)


@st.cache_resource(show_spinner="Finding the localities of the place…", max_entries=16)
def _density_localities(
    key: tuple,
    level: str,
    _place: places.Place | None,
    _sites: gpd.GeoDataFrame,
    *,
    agency: str | None,
) -> gpd.GeoDataFrame:
    kept = store()
    if _place is not None:
        return places.place_localities(_place, level, store=kept)
    frame = localities(level)
    keep = np.zeros(len(frame), dtype=bool)
    home = home_place(agency)
    if home is not None:
        keep |= in_place(frame, home.geometry)
    # (a million sites against the districts: a grid first, not a query per point)
    keep |= localities_holding(frame, _sites.geometry.to_numpy())
    return frame[keep]


def density_localities(
    key: tuple,
    level: str,
    _place: places.Place | None,
    _sites: gpd.GeoDataFrame,
    *,
    agency: str | None,
) -> gpd.GeoDataFrame:
    """Return the localities of ``level`` a density is worked out in.

    Those inside the place (:func:`assetmap.places.place_localities`); for no one
    place (the whole estate), those inside the store's home place and any other
    that holds one of ``_sites``, so that no site is left outside every locality
    because the estate spreads beyond its home. Cached by ``key`` (the selection's)
    and ``level``, once for every session (a shallow copy out: the 34,753 LSOAs are
    not pickled on every run).
    """
    return _shared(_density_localities(key, level, _place, _sites, agency=agency))


@st.cache_data(show_spinner=False, max_entries=4)
def _basemap(signature: Signature, agency: str | None) -> gpd.GeoDataFrame | None:
    sites = _seen(agency)
    geoms = sites.geometry.to_numpy()
    located = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    districts = localities("district")
    if not located.size:
        home = home_place(agency)
        return None if home is None else districts[in_place(districts, home.geometry)]
    x0, y0, x1, y1 = shapely.total_bounds(located)
    around = shapely.box(x0, y0, x1, y1).buffer(_BASEMAP_MARGIN_M)
    return districts.iloc[np.sort(districts.sindex.query(around, predicate="intersects"))]


def basemap(agency: str | None) -> gpd.GeoDataFrame | None:
    """Return the districts drawn under the interactive maps: those around the estate.

    Around the sites a viewer of ``agency`` may see; they depend on the estate only
    (not on the place), so a map keeps its view across reruns.
    """
    return _basemap(store_signature(), agency)


@st.cache_data(show_spinner=False, max_entries=8)
def boundaries(level: str = "district") -> gpd.GeoDataFrame:
    """Return a bundled boundary level (EPSG:27700) for the basemap.

    Raises
    ------
    assetmap.errors.DataNotFoundError
        If the bundled boundaries are missing from this checkout.
    """
    return load_localities(level)


@st.cache_data(show_spinner=False, max_entries=64)
def place_outline(level: str, code: str):
    """Return the outline (EPSG:27700) of one bundled locality, or of a whole level.

    The whole level's when ``code`` is empty; ``None`` when the code is not in the level.
    """
    return selection.place_outline(load_localities(level), code)


def read_boundaries(path: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read a boundary file the officer added.

    Returns the localities (``code``, ``name``, EPSG:27700) and notes on repairs
    (see :func:`read_boundary_file`).
    """
    return read_boundary_file(path)


def postcode_point(postcode: str) -> tuple[float, float] | None:
    """Return the easting and northing of a postcode from the ONS Postcode Directory, or None."""
    found = lookup_postcodes(pd.Series([postcode]))
    if not bool(found["found"].iloc[0]) or np.isnan(found["easting"].iloc[0]):
        return None
    return float(found["easting"].iloc[0]), float(found["northing"].iloc[0])


@st.cache_resource(show_spinner="Choosing the sites…", max_entries=8)
def _place_mask(key: tuple, _outline, _chosen: selection.Selection, _viewer) -> np.ndarray | None:
    # which of the sites the viewer may see are chosen; None for all of them
    keep = selection.selected_mask(visible_estate(_viewer), _outline, _chosen)
    return None if keep.all() else np.asarray(keep, dtype=bool)


@st.cache_resource(show_spinner="Choosing the sites…", max_entries=8)
def _place_sites(key: tuple, _outline, _chosen: selection.Selection, _viewer) -> gpd.GeoDataFrame:
    # from what the viewer may see (kept once): one copy of the rows kept, none when all are
    visible = visible_estate(_viewer)
    keep = _place_mask(key, _outline, _chosen, _viewer)
    return visible if keep is None else visible[keep].reset_index(drop=True)


def place_sites(
    key: tuple, _outline, _chosen: selection.Selection, _viewer: access.Viewer | None
) -> gpd.GeoDataFrame:
    """Return the sites inside ``_outline`` that pass ``_chosen``'s filters and ``_viewer`` may see.

    Cached by ``key`` (see :func:`assetmap.app.shell.cache_key`, which holds the
    viewer's agency), once for every session.
    """
    return _shared(_place_sites(key, _outline, _chosen, _viewer))


def place_count(
    key: tuple, _outline, _chosen: selection.Selection, _viewer: access.Viewer | None
) -> int:
    """Return how many sites :func:`place_sites` (same arguments) holds, without its rows."""
    keep = _place_mask(key, _outline, _chosen, _viewer)
    return len(visible_estate(_viewer)) if keep is None else int(keep.sum())


@st.cache_resource(show_spinner="Preparing the map…", max_entries=4)
def _whole_index(signature: Signature, viewer_key: str, _sites: gpd.GeoDataFrame) -> EstateIndex:
    index = EstateIndex(_sites)
    index.warm()  # every zoom's hexagons, in the background: the next zoom is ready
    return index


@st.cache_resource(show_spinner="Preparing the map…", max_entries=8)
def _estate_index(key: tuple, _outline, _chosen: selection.Selection, _viewer) -> EstateIndex:
    signature = store_signature()
    whole = _whole_index(signature, "" if _viewer is None else _viewer.key, visible_estate(_viewer))
    keep = _place_mask(key, _outline, _chosen, _viewer)
    return whole if keep is None else whole.subset(keep)


@st.cache_resource(show_spinner=False, max_entries=16)
def _shape_index(key: tuple, _frame: gpd.GeoDataFrame) -> ShapeIndex:
    return ShapeIndex(_frame)


def shape_index(key: tuple, frame: gpd.GeoDataFrame) -> ShapeIndex:
    """Return ``frame``'s polygons indexed for the map's views, once per ``key``.

    ``key`` must name the frame: the store's state and whatever else made it.
    """
    return _shape_index(key, frame)


def estate_index(
    key: tuple, _outline, _chosen: selection.Selection, _viewer: access.Viewer | None
) -> EstateIndex:
    """Return the sites of :func:`place_sites` (same arguments) indexed for the map's views.

    The whole estate the viewer may see is indexed once per store state (every
    zoom's hexagons worked out in the background); a place or a filter is indexed
    from it (:meth:`EstateIndex.subset`), once per ``key``, for every session: a
    filter change, or a second person's first view of the same estate, is quick.
    """
    return _estate_index(key, _outline, _chosen, _viewer)


@st.cache_data(show_spinner=False, max_entries=8)
def place_requests(key: tuple, _outline) -> gpd.GeoDataFrame:
    """Return the store's space requests inside ``_outline`` (those with no point are kept)."""
    return selection.select_requests(estate_requests(), _outline)


#: The checkbox that lets sites placed only at the centre of their postcode area take
#: part in co-location and matching (off by default), and what it means.
APPROXIMATE_BOX = "Include sites placed only approximately"
APPROXIMATE_HELP = (
    "Sites whose register gives only part of the postcode (a postcode district such as "
    "M41, or a sector such as M41 7) are placed at the centre of that area, which may be "
    "kilometres from the site. They are left out unless this is ticked."
)


@st.cache_resource(
    show_spinner="Finding co-location clusters (a national estate takes up to half a minute)…",
    max_entries=4,
)
def _colocation(
    key: tuple,
    distance: float,
    _sites: gpd.GeoDataFrame,
    agency: str | None,
    include_approximate: bool,
) -> ColocationResult:
    return colocation_clusters(
        _sites,
        distance=distance,
        viewer_agency=agency,
        include_approximate=include_approximate,
    )


def colocation(
    key: tuple,
    distance: float,
    _sites: gpd.GeoDataFrame,
    agency: str | None = None,
    include_approximate: bool = False,
) -> ColocationResult:
    """Return the co-location clusters of the selected sites.

    Cached by ``key``, ``distance`` and ``include_approximate`` (sites placed only at
    the centre of their postcode area take part), once for every session: a national
    estate's result (a million members) is shared, not pickled on every run; each
    caller gets shallow copies of its tables. ``agency`` is the viewer's, whose
    restricted sites may take part.
    """
    found = _colocation(key, distance, _sites, agency, include_approximate)
    return dataclasses.replace(
        found,
        clusters=_shared(found.clusters),
        members=_shared(found.members),
        site_cluster=found.site_cluster.copy(deep=False),
    )


@st.cache_resource(show_spinner="Working out the density of every locality…", max_entries=8)
def _locality_density(
    key: tuple,
    level: str,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None,
) -> LocalityDensity:
    # once per sites and localities: another measure or classification only classifies
    # again (assigning a million sites to every LSOA took about 10 s each time)
    return density_by_locality(_sites, _localities, viewer=agency)


@st.cache_resource(show_spinner="Classifying the localities…", max_entries=32)
def _density(
    key: tuple,
    level: str,
    metric: str,
    per: str,
    scheme: str,
    k: int,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None,
) -> tuple[gpd.GeoDataFrame, Classification, tuple[str, ...], int]:
    result = _locality_density(key, level, _sites, _localities, agency)
    frame, classes = result.choropleth(metric, per=per, scheme=scheme, k=k)
    return frame, classes, tuple(result.notes), result.n_outside


def density(
    key: tuple,
    level: str,
    metric: str,
    per: str,
    scheme: str,
    k: int,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None = None,
) -> tuple[gpd.GeoDataFrame, Classification, tuple[str, ...], int]:
    """Return the choropleth of the selected sites.

    The localities with values, the classes, notes and the number of sites outside
    every locality (``agency``: the viewer's, whose restricted sites may count; other
    agencies' are withheld). Cached once for every session (a shallow copy out).
    """
    frame, classes, notes, outside = _density(
        key, level, metric, per, scheme, k, _sites, _localities, agency
    )
    return _shared(frame), classes, notes, outside


@st.cache_resource(show_spinner="Counting the sites of every locality…", max_entries=16)
def _place_summary_table(
    key: tuple,
    level: str,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None,
) -> pd.DataFrame:
    return place_summary(_sites, _localities, viewer=agency)


def place_summary_table(
    key: tuple,
    level: str,
    _sites: gpd.GeoDataFrame,
    _localities: gpd.GeoDataFrame,
    agency: str | None = None,
) -> pd.DataFrame:
    """Return the Total Place table of the selected sites by locality and sector.

    ``agency`` is the viewer's, whose restricted sites may count; other agencies'
    are withheld. Cached once for every session (a shallow copy out).
    """
    return _shared(_place_summary_table(key, level, _sites, _localities, agency))


@st.cache_data(show_spinner="Matching requests to surplus space…", max_entries=16)
def plan(
    key: tuple,
    allow_split: bool,
    _requests: gpd.GeoDataFrame,
    _sites: gpd.GeoDataFrame,
    agency: str | None = None,
    include_approximate: bool = False,
) -> tuple[MatchResult, AllocationPlan]:
    """Return the candidates and the optimal allocation plan for the place's requests.

    ``agency`` is the viewer's, whose restricted requests and offers may take part;
    ``include_approximate``: offers and requests placed only at the centre of their
    postcode area take part.
    """
    match = find_candidates(
        _requests, _sites, viewer_agency=agency, include_approximate=include_approximate
    )
    return match, allocate(match, allow_split=allow_split)


@st.cache_data(show_spinner="Reading the population table…", max_entries=2)
def _population(path: str, changed: float) -> pd.DataFrame:
    return read_population(path)


def population() -> pd.DataFrame | None:
    """Return the population table ``$ASSETMAP_POPULATION`` names (read again when it changes).

    ``None`` when the variable is not set.

    Raises
    ------
    assetmap.errors.AssetmapError
        If the variable or the file cannot be used.
    """
    path = population_file()
    if path is None:
        return None
    try:
        changed = path.stat().st_mtime
    except OSError as exc:
        raise InvalidArgumentError(
            f"the population table {path} cannot be read: {exc.strerror or exc}"
        ) from exc
    return _population(str(path), changed)


@st.cache_resource(show_spinner="Counting the estate in every district…", max_entries=8)
def _overview(
    key: tuple, population_key: tuple, _sites: gpd.GeoDataFrame, _population, agency
) -> LocalityDensity:
    return density_by_locality(
        _sites, localities("district"), population=_population, viewer=agency
    )


def overview(
    key: tuple, sites: gpd.GeoDataFrame, agency: str | None
) -> tuple[LocalityDensity, bool]:
    """Return the Total Place figures of ``sites`` in every district of England and Wales.

    Cached by ``key`` (the selection's) and the population table; the second value
    says whether the figures have a population (per 1,000 residents) or not (per km²).
    ``agency`` is the viewer's, whose restricted sites may count.
    """
    table = population()
    path = population_file()
    population_key = ("",) if table is None or path is None else (str(path), path.stat().st_mtime)
    result = _overview(key, population_key, sites, table, agency)
    return result, table is not None


def tiles() -> TileSetting | None:
    """Return the configured background tiles, or ``None`` (the default: no tiles).

    Raises
    ------
    assetmap.errors.InvalidArgumentError
        If the tile URL setting is not a tile URL template.
    """
    return configured_tiles()
