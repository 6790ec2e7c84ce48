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

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from assetmap import access
from assetmap.app import state
from assetmap.app.auth import viewer, visible_estate
from assetmap.app.downloads import audit_event, download, download_csv
from assetmap.app.sidebar import (
    AGENCY_FILTER_KEY,
    BOUNDARY_SUFFIXES,
    BOUNDARY_UPLOAD_KEY,
    LEVEL_KEY,
    LEVEL_LABELS,
    PLACE_KEY,
    POSTCODE_KEY,
    POSTCODE_NOTE_KEY,
    SECTOR_FILTER_KEY,
    SURPLUS_FILTER_KEY,
    TENURE_FILTER_KEY,
    USE_FILTER_KEY,
    added_boundaries,
    attribution,
    level_localities,
    selection,
    sidebar,
)
from assetmap.selection import Selection, filter_sites, place_outline

__all__ = [
    "AGENCY_FILTER_KEY",
    "BOUNDARY_SUFFIXES",
    "BOUNDARY_UPLOAD_KEY",
    "LEVEL_KEY",
    "LEVEL_LABELS",
    "PLACE_KEY",
    "POSTCODE_KEY",
    "POSTCODE_NOTE_KEY",
    "SECTOR_FILTER_KEY",
    "SURPLUS_FILTER_KEY",
    "TENURE_FILTER_KEY",
    "USE_FILTER_KEY",
    "Selection",
    "attribution",
    "audit_event",
    "cache_key",
    "download",
    "download_csv",
    "filter_sites",
    "level_localities",
    "place_geometry",
    "place_requests",
    "ranked_bars",
    "selected_sites",
    "selection",
    "sidebar",
    "viewer",
    "visible_estate",
]


def selected_sites(chosen: Selection | None = None) -> gpd.GeoDataFrame:
    """The sites in the chosen place that pass the filters and the viewer may see in full.

    Raises
    ------
    assetmap.errors.AssetmapError
        If the store or the boundaries cannot be read.
    """
    chosen = chosen or selection()
    sites = state.place_sites(cache_key(chosen), place_geometry(chosen), chosen)
    return access.visible_sites(sites, viewer())


def place_requests(chosen: Selection | None = None) -> gpd.GeoDataFrame:
    """The space requests of the chosen place that the viewer may see in full."""
    chosen = chosen or selection()
    requests = state.place_requests(cache_key(chosen), place_geometry(chosen))
    return access.visible_requests(requests, viewer())


def cache_key(chosen: Selection | None = None) -> tuple:
    """A key for caching work on the selected sites: the store's state, the choice and the
    viewer's agency.
    """
    chosen = chosen or selection()
    added = added_boundaries().get(chosen.level)
    version = () if added is None else (len(added), tuple(np.round(added.total_bounds, 1)))
    return (state.store_signature(), chosen.key(), version, viewer().key)


def ranked_bars(frame: pd.DataFrame, *, label: str, value: str, bar_px: int = 26) -> None:
    """A horizontal bar chart of ``value`` per ``label``, largest first."""
    st.bar_chart(
        frame,
        x=label,
        y=value,
        horizontal=True,
        sort=f"-{value}",
        height=80 + bar_px * len(frame),
    )


def place_geometry(chosen: Selection | None = None):
    """The chosen place's outline (EPSG:27700), or ``None`` for the whole estate."""
    chosen = chosen or selection()
    if not chosen.level:
        return None
    added = added_boundaries().get(chosen.level)
    if added is None:
        return state.place_outline(chosen.level, chosen.code)
    return place_outline(added, chosen.code)
