"""What every page shares: the place picker and the filters in the sidebar.

``streamlit_app.py`` draws the sidebar once, before the chosen page runs, so the
place and the filters keep their values when the officer moves between pages
(Streamlit forgets a widget that a run does not draw). Pages read the choice
with :func:`selection` and the sites it selects with :func:`selected_sites`.

The place is a locality of a boundary level (district, LSOA, NHS area, the
county, or a boundary file the officer added, such as wards) or the whole
estate. A postcode typed in the search box picks the locality that holds it.

Who is looking (:func:`viewer`) decides what pages get: :func:`selected_sites`,
:func:`visible_estate` and :func:`place_requests` hold only what the viewer may
see (:mod:`assetmap.access`), and every page, figure and file is made from
them: other agencies' restricted sites are withheld before anything is
computed. Every cache key (:func:`cache_key`) includes the viewer's agency. Every download goes
through :func:`download`, which writes an entry to the audit log when clicked.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from assetmap import access, audit
from assetmap.access import Viewer
from assetmap.app import auth, state
from assetmap.errors import AssetmapError
from assetmap.files import csv_bytes
from assetmap.localities import ATTRIBUTION
from assetmap.maps.safe_html import markdown_text as md
from assetmap.maps.style import SECTOR_STYLES, sector_key, sector_label

__all__ = [
    "LEVEL_LABELS",
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

#: Bundled boundary levels offered by the place picker, in the order shown.
LEVEL_LABELS: dict[str, str] = {
    "": "Whole estate",
    "county": "County (Kent and Medway)",
    "district": "District",
    "lsoa": "LSOA",
    "nhs_area": "NHS area",
}

LEVEL_KEY = "place_level"
PLACE_KEY = "place_code"
POSTCODE_KEY = "place_postcode"
POSTCODE_NOTE_KEY = "place_postcode_note"
SECTOR_FILTER_KEY = "filter_sector"
AGENCY_FILTER_KEY = "filter_agency"
USE_FILTER_KEY = "filter_use"
TENURE_FILTER_KEY = "filter_tenure"
SURPLUS_FILTER_KEY = "filter_min_surplus"
BOUNDARY_UPLOAD_KEY = "boundary_upload"
#: The boundary files the sidebar accepts.
BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
_SELECTION_KEY = "selection"


@dataclass(frozen=True)
class Selection:
    """The place and filters chosen in the sidebar.

    Attributes
    ----------
    level
        Boundary level of the place (``""`` for the whole estate).
    code
        The locality's code at that level (``""`` for the whole estate).
    place_name
        The place's name for sentences ("Maidstone", "the whole estate").
    sectors
        Sector codes kept (``None``: every sector).
    agencies, uses, tenures
        Values kept (empty: all).
    min_surplus
        Keep only sites offering at least this many sq ft (0: no filter).
    """

    level: str = ""
    code: str = ""
    place_name: str = "the whole estate"
    sectors: tuple[str, ...] | None = None
    agencies: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    tenures: tuple[str, ...] = ()
    min_surplus: float = 0.0

    def key(self) -> tuple:
        """A hashable key for caches."""
        return (
            self.level,
            self.code,
            self.sectors,
            self.agencies,
            self.uses,
            self.tenures,
            self.min_surplus,
        )

    def describe(self) -> str:
        """The filters in words ("police and fire; at least 1,000 sq ft surplus")."""
        parts = []
        if self.sectors is not None:
            parts.append(", ".join(sector_label(s) for s in self.sectors) or "no sector")
        for values in (self.agencies, self.uses, self.tenures):
            if values:
                parts.append(", ".join(values))
        if self.min_surplus > 0:
            parts.append(f"at least {self.min_surplus:,.0f} sq ft surplus")
        return "; ".join(parts) if parts else "no filters"


def filter_sites(
    sites: gpd.GeoDataFrame,
    sectors: list[str] | tuple[str, ...] | None,
    agencies: list[str] | tuple[str, ...] | None = None,
    *,
    uses: list[str] | tuple[str, ...] | None = None,
    tenures: list[str] | tuple[str, ...] | None = None,
    min_surplus: float = 0.0,
) -> gpd.GeoDataFrame:
    """Return the sites that pass the filters.

    ``sectors=None`` keeps every sector and an empty list none; empty or ``None``
    agencies, uses and tenures keep all.
    """
    keep = pd.Series(True, index=sites.index)
    if sectors is not None:
        keep &= sector_key(sites["sector"]).isin(list(sectors))
    for column, values in (("agency", agencies), ("use", uses), ("tenure", tenures)):
        if values:
            keep &= sites[column].astype("object").fillna("").astype(str).isin(list(values))
    if min_surplus > 0:
        keep &= pd.to_numeric(sites["surplus_sqft"], errors="coerce").fillna(0) >= min_surplus
    return sites[keep.to_numpy()]


def _options(sites: gpd.GeoDataFrame, column: str) -> list[str]:
    values = sites[column].astype("object").dropna().astype(str)
    return sorted(v for v in values.unique() if v.strip())


def _carry_over(
    key: str,
    present: list[str],
    *,
    new_chosen: bool = False,
    order: Callable[[set[str]], list[str]] = sorted,
) -> list[str]:
    """The options of the filter ``key`` for this run, its choice carried over by value.

    The estate may have changed since the last run (an import, a removal): the
    officer's choice keeps its meaning. A value still chosen stays chosen, and
    stays offered even when no site has it any more; a value taken out stays
    out; a value the filter did not offer before is chosen when ``new_chosen``
    (the Sector filter, which starts with every sector chosen) and otherwise
    only offered. The first time, every value is chosen when ``new_chosen``,
    none otherwise. The choice is put in the session before the widget is drawn
    (so no ``default`` is given to it).

    Parameters
    ----------
    key
        The multiselect's session key.
    present
        The values in the estate now.
    new_chosen
        Whether values new to the filter are chosen.
    order
        Puts a set of values in the order they are offered.

    Returns
    -------
    list of str
        The options to offer: ``present`` and any chosen value no site has now.
    """
    offered_key = f"{key}_offered"
    offered = st.session_state.get(offered_key)
    before = st.session_state.get(key) if offered is not None else None
    if before is None:
        chosen = list(present) if new_chosen else []
    else:
        # Only values this filter offered: a browser can send any string as a choice.
        chosen = [v for v in before if v in offered]
        if new_chosen:
            chosen += [v for v in present if v not in offered]
    chosen = list(dict.fromkeys(chosen))
    options = order(set(present) | set(chosen))
    if before is None or list(before) != chosen:
        st.session_state[key] = chosen
    st.session_state[offered_key] = options
    return options


def _boundary_sets() -> dict[str, gpd.GeoDataFrame]:
    return st.session_state.setdefault("boundary_sets", {})


def level_localities(level: str) -> gpd.GeoDataFrame | None:
    """The localities of a level: bundled, or a boundary file added in this session."""
    if not level:
        return None
    added = _boundary_sets()
    if level in added:
        return added[level]
    return state.boundaries(level)


def _add_boundary_file() -> None:
    upload = st.session_state.get(BOUNDARY_UPLOAD_KEY)
    if upload is None:
        return
    suffix = Path(upload.name).suffix.lower()
    # The upload's bytes go to a file whose name assetmap makes up: the officer's file
    # name is never handed to GDAL.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"boundaries{suffix if suffix in BOUNDARY_SUFFIXES else ''}"
        path.write_bytes(upload.getvalue())
        try:
            frame, notes = state.read_boundaries(path)
        except AssetmapError as exc:
            st.session_state[POSTCODE_NOTE_KEY] = f"The boundary file was not added: {exc}"
            return
    name = Path(upload.name).stem[:60] or "boundaries"
    _boundary_sets()[name] = frame
    st.session_state[LEVEL_KEY] = name
    st.session_state[PLACE_KEY] = ""
    st.session_state[POSTCODE_NOTE_KEY] = " ".join(
        [f"Added {len(frame):,} localities from {upload.name}.", *notes]
    )


def _find_postcode() -> None:
    """Pick the locality that holds the postcode typed in the search box."""
    text = str(st.session_state.get(POSTCODE_KEY) or "").strip()
    if not text:
        st.session_state[POSTCODE_NOTE_KEY] = None
        return
    try:
        point = state.postcode_point(text)
    except AssetmapError as exc:
        st.session_state[POSTCODE_NOTE_KEY] = str(exc)
        return
    if point is None:
        st.session_state[POSTCODE_NOTE_KEY] = (
            f"{text.upper()} is not in the ONS Postcode Directory; check it and try again."
        )
        return
    level = st.session_state.get(LEVEL_KEY) or "district"
    localities = level_localities(level)
    hits = localities[localities.geometry.intersects(shapely.Point(point))]
    if hits.empty:
        st.session_state[POSTCODE_NOTE_KEY] = (
            f"{text.upper()} is outside every {LEVEL_LABELS.get(level, level)} area loaded."
        )
        return
    st.session_state[LEVEL_KEY] = level
    st.session_state[PLACE_KEY] = str(hits.iloc[0]["code"])
    st.session_state[POSTCODE_NOTE_KEY] = f"{text.upper()} is in {hits.iloc[0]['name']}."


def _place_picker() -> tuple[str, str, str]:
    levels = list(LEVEL_LABELS) + list(_boundary_sets())
    if st.session_state.get(LEVEL_KEY) not in levels:
        st.session_state[LEVEL_KEY] = ""
    level = st.selectbox(
        "Place",
        options=levels,
        format_func=lambda v: LEVEL_LABELS.get(v, f"{v} (added)"),
        key=LEVEL_KEY,
        help="The boundary level to pick a place from; 'Whole estate' shows everything.",
    )
    if not level:
        return "", "", "the whole estate"
    try:
        localities = level_localities(level)
    except AssetmapError as exc:
        st.warning(f"That boundary level cannot be used: {md(exc)}")
        return "", "", "the whole estate"
    names = dict(zip(localities["code"].astype(str), localities["name"].astype(str), strict=True))
    codes = sorted(names, key=lambda c: names[c].lower())
    if st.session_state.get(PLACE_KEY) not in codes:
        st.session_state[PLACE_KEY] = codes[0] if len(codes) == 1 else ""
    code = st.selectbox(
        "Locality",
        options=["", *codes],
        format_func=lambda c: names.get(c, "All of them") if c else "All of them",
        key=PLACE_KEY,
        help="Type to search by name.",
    )
    if not code:
        return level, "", f"every {LEVEL_LABELS.get(level, level)}"
    return level, code, names[code]


def viewer() -> Viewer:
    """Who is looking in this run (see :mod:`assetmap.app.auth`).

    Stops the page when sign-in is configured and nobody has signed in.
    """
    found = auth.remembered_viewer() or auth.current_viewer()
    if found is None:
        auth.sign_in_page()
        st.stop()
    return found


def visible_estate() -> gpd.GeoDataFrame:
    """Every site of the store that the viewer may see in full."""
    return access.visible_sites(state.estate_sites(), viewer())


def sidebar() -> Selection:
    """Draw the place picker and the filters in the sidebar; return the choice.

    Call it once per run, before the page runs (``streamlit_app.py`` does).
    """
    auth.sidebar_note(viewer())
    with st.sidebar:
        st.header("Place")
        try:
            sites = visible_estate()
        except AssetmapError as exc:
            st.error(f"The estate could not be loaded: {md(exc)}")
            sites = None
        level, code, place_name = _place_picker()
        st.text_input(
            "Find a postcode",
            key=POSTCODE_KEY,
            on_change=_find_postcode,
            placeholder="e.g. ME14 1XX",
            help="Picks the locality (at the level above) that holds the postcode.",
        )
        if note := st.session_state.get(POSTCODE_NOTE_KEY):
            st.caption(md(note))
        with st.expander("Add a boundary set (wards, parishes…)"):
            st.file_uploader(
                "Boundary file (GeoJSON, GeoPackage or zipped Shapefile)",
                type=[x[1:] for x in BOUNDARY_SUFFIXES],
                key=BOUNDARY_UPLOAD_KEY,
                on_change=_add_boundary_file,
            )
        st.header("Filters")
        chosen = Selection(level=level, code=code, place_name=place_name)
        if sites is not None and not sites.empty:
            counts = sector_key(sites["sector"]).value_counts()
            present = [s for s in SECTOR_STYLES if counts.get(s, 0)]
            # The labels are the plain names: the browser keeps a choice by its label, so a
            # label holding a count would stop matching when an import changes the count.
            sectors = st.multiselect(
                "Sector",
                _carry_over(
                    SECTOR_FILTER_KEY,
                    present,
                    new_chosen=True,
                    order=lambda values: [s for s in SECTOR_STYLES if s in values],
                ),
                format_func=sector_label,
                key=SECTOR_FILTER_KEY,
            )
            st.caption(
                "Sites: "
                + " · ".join(f"{sector_label(s)} {int(counts.get(s, 0)):,}" for s in present)
            )
            agencies = st.multiselect(
                "Agency",
                _carry_over(AGENCY_FILTER_KEY, _options(sites, "agency")),
                placeholder="All agencies",
                key=AGENCY_FILTER_KEY,
            )
            uses = st.multiselect(
                "Use",
                _carry_over(USE_FILTER_KEY, _options(sites, "use")),
                placeholder="All uses",
                key=USE_FILTER_KEY,
            )
            tenures = st.multiselect(
                "Tenure",
                _carry_over(TENURE_FILTER_KEY, _options(sites, "tenure")),
                placeholder="All tenures",
                key=TENURE_FILTER_KEY,
            )
            min_surplus = st.number_input(
                "Minimum surplus (sq ft)",
                min_value=0,
                value=0,
                step=1_000,
                key=SURPLUS_FILTER_KEY,
                help="Keep only sites offering at least this much spare space.",
            )
            chosen = Selection(
                level=level,
                code=code,
                place_name=place_name,
                sectors=None if set(present) <= set(sectors) else tuple(sectors),
                agencies=tuple(agencies),
                uses=tuple(uses),
                tenures=tuple(tenures),
                min_surplus=float(min_surplus),
            )
        st.caption(attribution())
    st.session_state[_SELECTION_KEY] = chosen
    return chosen


def selection() -> Selection:
    """The choice the sidebar made in this run (the whole estate if it has not run)."""
    return st.session_state.get(_SELECTION_KEY) or Selection()


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
    viewer's agency."""
    chosen = chosen or selection()
    added = _boundary_sets().get(chosen.level)
    version = () if added is None else (len(added), tuple(np.round(added.total_bounds, 1)))
    return (state.store_signature(), chosen.key(), version, viewer().key)


def audit_event(action: str, what: str, *, digest: str = "", counts: dict | None = None) -> None:
    """Append an entry to the store's audit log; a failure is shown, never raised."""
    try:
        audit.record(
            state.store_path(),
            viewer=viewer(),
            action=action,
            what=what,
            sha256=digest,
            counts=counts or {},
        )
    except AssetmapError as exc:
        st.session_state["audit_problem"] = f"The audit log could not be written: {exc}"


def download(
    label: str,
    data: bytes,
    *,
    file_name: str,
    mime: str,
    key: str,
    rows: int | None = None,
) -> None:
    """A download button whose every download is written to the audit log.

    The entry names the file, its SHA-256 and its rows. The button does not rerun
    the app (``on_click="ignore"``): a rerun would take away a button drawn only
    after another button was pressed (the print map, the HTML map), so the file
    could be downloaded once only. The entry is written when the browser asks for
    the file (Streamlit's deferred download, run again on every click); if it
    cannot be written, the file is not given.
    """
    counts = {} if rows is None else {"rows": int(rows)}
    st.download_button(
        label,
        _audited(data, file_name=file_name, counts=counts),
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
    )
    problem = _REFUSED_DOWNLOADS.pop(_session_id(), None)
    if problem := problem or st.session_state.pop("audit_problem", None):
        st.warning(md(problem))


#: Downloads refused because the audit log could not be written, by session: said on the
#: session's next run (the refusal happens outside any run, when the browser asks).
_REFUSED_DOWNLOADS: dict[str, str] = {}


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def _audited(data: bytes, *, file_name: str, counts: dict) -> Callable[[], bytes]:
    """A function that writes an export entry to the audit log and returns ``data``.

    Who is looking and the store are taken now: Streamlit calls the function in
    another thread, outside the page's run, when the officer clicks. If the entry
    cannot be written, the function raises (Streamlit gives no file and says
    "Failed to generate file for download") and the page says why on its next run.
    """
    store = state.store_path()
    who = viewer()
    digest = audit.sha256(data)
    session = _session_id()

    def give() -> bytes:
        try:
            audit.record(
                store, viewer=who, action="export", what=file_name, sha256=digest, counts=counts
            )
        except AssetmapError as exc:
            _REFUSED_DOWNLOADS[session] = (
                f"{file_name} was not downloaded, because the download could not be "
                f"recorded: {exc}."
            )
            raise
        return data

    return give


def download_csv(label: str, frame: pd.DataFrame, *, file_name: str, key: str) -> None:
    """A formula-safe CSV download of ``frame`` (audited, with its row count)."""
    download(
        label, csv_bytes(frame), file_name=file_name, mime="text/csv", key=key, rows=len(frame)
    )


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
    added = _boundary_sets().get(chosen.level)
    if added is None:
        return state.place_outline(chosen.level, chosen.code)
    hits = added if not chosen.code else added[added["code"].astype(str) == chosen.code]
    return shapely.union_all(np.asarray(hits.geometry, dtype=object)) if len(hits) else None


def attribution() -> str:
    """The attribution shown wherever boundaries or postcodes are drawn."""
    return str(ATTRIBUTION)
