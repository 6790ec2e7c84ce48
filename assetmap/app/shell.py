"""What every page shares: who is looking, the selection and its sites, the downloads.

Pages import this module only: it gathers the accessors a page needs, from
:mod:`assetmap.app.auth` (:func:`viewer`, :func:`visible_estate`),
:mod:`assetmap.app.sidebar` (the place picker and filters, :func:`sidebar`,
:func:`selection` and the widget keys) and :mod:`assetmap.app.downloads`
(:func:`download`, :func:`download_csv`, :func:`audit_event`), and the pure
selection of :mod:`assetmap.selection` (:class:`Selection`, :func:`filter_sites`).

Who is looking (:func:`viewer`) decides what pages get: :func:`selected_sites`,
:func:`visible_estate` and :func:`place_requests` hold only what the viewer may
see (:mod:`assetmap.access`), and every page, figure and file is made from
them: other agencies' restricted sites are withheld before anything is
computed. Every cache key (:func:`cache_key`) includes the viewer's agency. Every download goes
through :func:`download`, which writes an entry to the audit log when clicked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap import access
from assetmap.app import sidebar as _sidebar
from assetmap.app import state
from assetmap.app.auth import viewer, visible_estate
from assetmap.app.downloads import audit_event, download, download_csv

# Re-exported for the pages (and listed in __all__ through the sidebar's own list).
from assetmap.app.sidebar import (
    AGENCY_FILTER_KEY as AGENCY_FILTER_KEY,
)
from assetmap.app.sidebar import (
    BOUNDARY_NAME_KEY as BOUNDARY_NAME_KEY,
)
from assetmap.app.sidebar import (
    BOUNDARY_SUFFIXES as BOUNDARY_SUFFIXES,
)
from assetmap.app.sidebar import (
    BOUNDARY_UPLOAD_KEY as BOUNDARY_UPLOAD_KEY,
)
from assetmap.app.sidebar import (
    LEVEL_KEY as LEVEL_KEY,
)
from assetmap.app.sidebar import (
    LEVEL_LABELS as LEVEL_LABELS,
)
from assetmap.app.sidebar import (
    LSOA_SEARCH_KEY as LSOA_SEARCH_KEY,
)
from assetmap.app.sidebar import (
    PLACE_KEY as PLACE_KEY,
)
from assetmap.app.sidebar import (
    POSTCODE_KEY as POSTCODE_KEY,
)
from assetmap.app.sidebar import (
    POSTCODE_NOTE_KEY as POSTCODE_NOTE_KEY,
)
from assetmap.app.sidebar import (
    SAVE_CODES_KEY as SAVE_CODES_KEY,
)
from assetmap.app.sidebar import (
    SAVE_NAME_KEY as SAVE_NAME_KEY,
)
from assetmap.app.sidebar import (
    SECTOR_FILTER_KEY as SECTOR_FILTER_KEY,
)
from assetmap.app.sidebar import (
    SURPLUS_FILTER_KEY as SURPLUS_FILTER_KEY,
)
from assetmap.app.sidebar import (
    TENURE_FILTER_KEY as TENURE_FILTER_KEY,
)
from assetmap.app.sidebar import (
    USE_FILTER_KEY as USE_FILTER_KEY,
)
from assetmap.app.sidebar import (
    added_boundaries as added_boundaries,
)
from assetmap.app.sidebar import (
    attribution as attribution,
)
from assetmap.app.sidebar import (
    level_label as level_label,
)
from assetmap.app.sidebar import (
    level_localities as level_localities,
)
from assetmap.app.sidebar import (
    open_place as open_place,
)
from assetmap.app.sidebar import (
    postcode_hint as postcode_hint,
)
from assetmap.app.sidebar import (
    selection as selection,
)
from assetmap.app.sidebar import (
    sidebar as sidebar,
)
from assetmap.places import Place
from assetmap.selection import Selection, filter_sites, place_outline

__all__ = [
    *_sidebar.__all__,
    "Selection",
    "audit_event",
    "cache_key",
    "download",
    "download_csv",
    "filter_sites",
    "pick",
    "place",
    "place_geometry",
    "place_requests",
    "ranked_bars",
    "selected_sites",
    "viewer",
    "visible_estate",
]

T = TypeVar("T")


def pick(label: str, labels: Mapping[T, str], *, key: str, **options: Any) -> T:
    """Draw a select box offering the keys of ``labels``, each shown by its label.

    Parameters
    ----------
    label
        The box's label.
    labels
        The choices (in the order offered) and what the officer reads for each.
    key
        The widget's session key.
    **options
        Other arguments of ``st.selectbox`` (``index``, ``disabled``, ``help``...).

    Returns
    -------
    object
        The key of ``labels`` chosen (the first before anything is chosen).
    """
    choices = list(labels)
    chosen = st.selectbox(label, choices, format_func=labels.__getitem__, key=key, **options)
    return choices[0] if chosen is None else chosen


def selected_sites(chosen: Selection | None = None) -> gpd.GeoDataFrame:
    """Return the sites of the chosen place that pass the filters and the viewer may see in full.

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store or the boundaries cannot be read.
    """
    chosen = chosen or selection()
    return state.place_sites(cache_key(chosen), place_geometry(chosen), chosen, viewer())


def selected_count(chosen: Selection | None = None) -> int:
    """Return how many sites :func:`selected_sites` holds, without taking their rows.

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store or the boundaries cannot be read.
    """
    chosen = chosen or selection()
    return state.place_count(cache_key(chosen), place_geometry(chosen), chosen, viewer())


def place_requests(chosen: Selection | None = None) -> gpd.GeoDataFrame:
    """Return the space requests of the chosen place that the viewer may see in full."""
    chosen = chosen or selection()
    requests = state.place_requests(cache_key(chosen), place_geometry(chosen))
    return access.visible_requests(requests, viewer())


def cache_key(chosen: Selection | None = None) -> tuple:
    """Return a key for caching work on the selected sites.

    The key holds the store's state, the choice (and the boundary set it was made
    from) and the viewer's agency.
    """
    chosen = chosen or selection()
    # the store's signature covers the boundary sets and saved places it keeps
    return (state.store_signature(), chosen.key(), viewer().key)


def ranked_bars(frame: pd.DataFrame, *, label: str, value: str, bar_px: int = 26) -> None:
    """Draw a horizontal bar chart of ``value`` per ``label``, largest first."""
    st.bar_chart(
        frame,
        x=label,
        y=value,
        horizontal=True,
        sort=f"-{value}",
        height=80 + bar_px * len(frame),
    )


def place(chosen: Selection | None = None) -> Place | None:
    """Return the chosen place (:class:`assetmap.places.Place`), or ``None`` for no one place.

    ``None`` for the whole estate and for every locality of a national level.
    """
    chosen = chosen or selection()
    if not chosen.level or not chosen.code:
        return None
    return state.place(chosen.level, chosen.code)


def place_geometry(chosen: Selection | None = None):
    """Return the chosen place's outline (EPSG:27700), or ``None`` for the whole estate.

    Every locality of a boundary set (or the bundled county) is their outline; every
    locality of a national level is the whole estate.
    """
    chosen = chosen or selection()
    if not chosen.level:
        return None
    if chosen.code:
        found = place(chosen)
        return None if found is None else found.geometry
    added = added_boundaries().get(chosen.level)
    if added is not None:
        return place_outline(added, "")
    if chosen.level == "county":
        return state.place_outline("county", "")
    return None
