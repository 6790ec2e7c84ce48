"""The sidebar every page shares: the place picker, postcode search, boundary sets, filters.

``streamlit_app.py`` draws the sidebar once, before the chosen page runs, so the
place and the filters keep their values when the officer moves between pages
(Streamlit forgets a widget that a run does not draw). The choice is a
:class:`assetmap.selection.Selection`, which pages read with :func:`selection`.

The place is a locality of a boundary level (district, LSOA, NHS area, the
county, or a boundary file the officer added, such as wards) or the whole
estate. A postcode typed in the search box picks the locality that holds it.
The filters offer the values of the sites the viewer may see.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import shapely
import streamlit as st

from assetmap.app import auth, state
from assetmap.errors import AssetmapError
from assetmap.localities import ATTRIBUTION
from assetmap.maps.safe_html import markdown_text as md
from assetmap.maps.style import SECTOR_STYLES, sector_key, sector_label
from assetmap.selection import Selection, filter_options

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
    "added_boundaries",
    "attribution",
    "level_localities",
    "selection",
    "sidebar",
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


def _carry_over(
    key: str,
    present: list[str],
    *,
    new_chosen: bool = False,
    order: Callable[[set[str]], list[str]] = sorted,
) -> list[str]:
    """Return the options of the filter ``key`` for this run, its choice carried over by value.

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
    if offered is None or before is None:
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


def added_boundaries() -> dict[str, gpd.GeoDataFrame]:
    """Return the boundary sets the officer added in this session, by name."""
    return st.session_state.setdefault("boundary_sets", {})


def level_localities(level: str) -> gpd.GeoDataFrame | None:
    """Return the localities of a level (see :func:`_localities`); ``None`` for no level."""
    if not level:
        return None
    return _localities(level)


def _localities(level: str) -> gpd.GeoDataFrame:
    """Return the localities of a level: bundled, or a boundary file added in this session."""
    added = added_boundaries()
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
    added_boundaries()[name] = frame
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
    localities = _localities(level)
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
    levels = list(LEVEL_LABELS) + list(added_boundaries())
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
        localities = _localities(level)
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


def sidebar() -> Selection:
    """Draw the place picker and the filters in the sidebar; return the choice.

    Call it once per run, before the page runs (``streamlit_app.py`` does).
    """
    auth.sidebar_note(auth.viewer())
    with st.sidebar:
        st.header("Place")
        try:
            sites = auth.visible_estate()
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
            agencies, uses, tenures = (
                st.multiselect(
                    label,
                    _carry_over(key, filter_options(sites, column)),
                    placeholder=f"All {plural}",
                    key=key,
                )
                for label, column, plural, key in (
                    ("Agency", "agency", "agencies", AGENCY_FILTER_KEY),
                    ("Use", "use", "uses", USE_FILTER_KEY),
                    ("Tenure", "tenure", "tenures", TENURE_FILTER_KEY),
                )
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
    """Return the choice the sidebar made in this run (the whole estate if it has not run)."""
    return st.session_state.get(_SELECTION_KEY) or Selection()


def attribution() -> str:
    """Return the attribution shown wherever boundaries or postcodes are drawn."""
    return str(ATTRIBUTION)
