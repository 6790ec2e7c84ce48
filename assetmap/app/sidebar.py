"""The sidebar every page shares: the place picker, postcode search, boundary sets, filters.

``streamlit_app.py`` draws the sidebar once, before the chosen page runs, so the
place and the filters keep their values when the officer moves between pages
(Streamlit forgets a widget that a run does not draw). The choice is a
:class:`assetmap.selection.Selection`, which pages read with :func:`selection`.

The place is any place of :mod:`assetmap.places`: a country, an integrated care
board, a sub-ICB location or Welsh health board, a district, an LSOA (found by
search: there are 34,753), the bundled Kent and Medway, a place saved in the
store (several districts under one name, made here) or an area of a boundary
set kept in the store (uploaded here, for every user and later session, and
removable by its owner), or the whole estate. A postcode typed in the search
box picks the locality that holds it. The app opens on the store's home place
(:func:`assetmap.places.home_place`) when that place holds every site, and on
the whole estate otherwise. The filters offer the values of the sites the viewer
may see.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import shapely
import streamlit as st

from assetmap import access, national, user_places
from assetmap.app import auth, state
from assetmap.errors import AssetmapError
from assetmap.localities import ATTRIBUTION
from assetmap.maps.safe_html import markdown_text as md
from assetmap.maps.style import SECTOR_STYLES, sector_label
from assetmap.schema import in_place
from assetmap.selection import Selection

__all__ = [
    "AGENCY_FILTER_KEY",
    "BOUNDARY_NAME_KEY",
    "BOUNDARY_SUFFIXES",
    "BOUNDARY_UPLOAD_KEY",
    "LEVEL_KEY",
    "LEVEL_LABELS",
    "LSOA_SEARCH_KEY",
    "PLACE_KEY",
    "POSTCODE_KEY",
    "POSTCODE_NOTE_KEY",
    "SAVE_CODES_KEY",
    "SAVE_NAME_KEY",
    "SECTOR_FILTER_KEY",
    "SURPLUS_FILTER_KEY",
    "TENURE_FILTER_KEY",
    "USE_FILTER_KEY",
    "added_boundaries",
    "attribution",
    "level_label",
    "level_localities",
    "open_place",
    "postcode_hint",
    "selection",
    "sidebar",
]

#: The place levels offered before the store's own, in the order shown.
LEVEL_LABELS: dict[str, str] = {
    "": "Whole estate",
    "county": "Kent and Medway (bundled)",
    **national.LEVEL_LABELS,
    "saved place": "Saved place",
}
#: Levels whose places are found by typing: too many for one list.
SEARCH_LEVELS = frozenset({"lsoa"})
#: At most this many search results are offered.
SEARCH_LIMIT = 50
BOUNDARY_SET_PREFIX = "boundary set "

LEVEL_KEY = "place_level"
PLACE_KEY = "place_code"
LSOA_SEARCH_KEY = "place_search"
POSTCODE_KEY = "place_postcode"
POSTCODE_NOTE_KEY = "place_postcode_note"
SECTOR_FILTER_KEY = "filter_sector"
AGENCY_FILTER_KEY = "filter_agency"
USE_FILTER_KEY = "filter_use"
TENURE_FILTER_KEY = "filter_tenure"
SURPLUS_FILTER_KEY = "filter_min_surplus"
BOUNDARY_UPLOAD_KEY = "boundary_upload"
BOUNDARY_NAME_KEY = "boundary_name"
SAVE_NAME_KEY = "save_place_name"
SAVE_CODES_KEY = "save_place_codes"
#: The boundary files the sidebar accepts.
BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
_SELECTION_KEY = "selection"
_OPENED_KEY = "place_opened"
#: A place a page chose for the next run (see :func:`open_place`).
_PENDING_PLACE_KEY = "place_pending"


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
    """Return the boundary sets kept in the store, by level (``"boundary set <name>"``)."""
    try:
        sets = state.boundary_sets()
    except AssetmapError:
        return {}
    return {
        f"{BOUNDARY_SET_PREFIX}{name}": frame[["code", "name", frame.geometry.name]]
        for name, frame in sets.groupby("set_name", sort=True)
    }


def level_label(level: str) -> str:
    """Return how a place level reads in the picker ("District", "wards (boundary set)")."""
    if level.startswith(BOUNDARY_SET_PREFIX):
        return f"{level.removeprefix(BOUNDARY_SET_PREFIX)} (boundary set)"
    return LEVEL_LABELS.get(level, level)


def level_localities(level: str) -> gpd.GeoDataFrame | None:
    """Return every locality of a level (see :func:`assetmap.places.level_localities`).

    ``None`` for no level (the whole estate).
    """
    if not level:
        return None
    return state.localities(level)


def postcode_hint() -> str:
    """Return a real postcode of the store's home place, for hints and defaults ("" for none)."""
    try:
        return state.home_postcode(auth.viewer().agency)
    except AssetmapError:
        return ""


def _add_boundary_file() -> None:
    """Keep the uploaded boundary file in the store as a boundary set, and pick it."""
    upload = st.session_state.get(BOUNDARY_UPLOAD_KEY)
    if upload is None:
        return
    suffix = Path(upload.name).suffix.lower()
    name = str(st.session_state.get(BOUNDARY_NAME_KEY) or "").strip()
    name = (name or Path(upload.name).stem or "boundaries")[:60]
    # The upload's bytes go to a file whose name assetmap makes up: the officer's file
    # name is never handed to GDAL.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"boundaries{suffix if suffix in BOUNDARY_SUFFIXES else ''}"
        path.write_bytes(upload.getvalue())
        try:
            frame, notes = state.read_boundaries(path)
            viewer = auth.viewer()
            user_places.add_boundary_set(
                state.store(), name, frame, viewer=viewer, agency=viewer.agency
            )
        except AssetmapError as exc:
            st.session_state[POSTCODE_NOTE_KEY] = f"The boundary file was not added: {exc}"
            return
    state.clear()
    st.session_state[LEVEL_KEY] = f"{BOUNDARY_SET_PREFIX}{name}"
    st.session_state[PLACE_KEY] = ""
    st.session_state[POSTCODE_NOTE_KEY] = " ".join(
        [
            f"Added {len(frame):,} localities from {upload.name} as the boundary set "
            f"{name!r}, kept in the estate for everyone.",
            *notes,
        ]
    )


def _save_place() -> None:
    """Save the chosen districts under a name in the store, and pick the new place."""
    name = str(st.session_state.get(SAVE_NAME_KEY) or "").strip()
    codes = [str(c) for c in st.session_state.get(SAVE_CODES_KEY) or []]
    if not name or not codes:
        st.session_state[POSTCODE_NOTE_KEY] = (
            "To save a place, give it a name and choose at least one district."
        )
        return
    viewer = auth.viewer()
    try:
        user_places.save_place(
            state.store(), name, "district", codes, viewer=viewer, agency=viewer.agency
        )
    except AssetmapError as exc:
        st.session_state[POSTCODE_NOTE_KEY] = f"The place was not saved: {exc}"
        return
    state.clear()
    st.session_state[LEVEL_KEY] = "saved place"
    st.session_state[PLACE_KEY] = name
    st.session_state[POSTCODE_NOTE_KEY] = (
        f"Saved {name!r} ({len(codes)} districts) in the estate for everyone."
    )


def _remove_kept(kind: str, name: str) -> None:
    """Remove a boundary set or a saved place this viewer owns from the store."""
    viewer = auth.viewer()
    remove = user_places.remove_boundary_set if kind == "set" else user_places.remove_saved_place
    try:
        removed = remove(state.store(), name, viewer=viewer)
    except AssetmapError as exc:
        st.session_state[POSTCODE_NOTE_KEY] = f"{name!r} was not removed: {exc}"
        return
    state.clear()
    st.session_state[LEVEL_KEY] = ""
    st.session_state[PLACE_KEY] = ""
    what = "boundary set" if kind == "set" else "saved place"
    st.session_state[POSTCODE_NOTE_KEY] = (
        f"Removed the {what} {name!r}." if removed else f"Nothing of {name!r} was yours to remove."
    )


def _find_postcode() -> None:
    """Pick the locality that holds the postcode typed in the search box.

    At the level chosen when it is a level of localities, else the district.
    """
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
    if level in ("county", "saved place"):
        level = "district"
    try:
        localities = state.localities(level)
    except AssetmapError as exc:
        st.session_state[POSTCODE_NOTE_KEY] = str(exc)
        return
    hits = localities.iloc[localities.sindex.query(shapely.Point(point), predicate="intersects")]
    if hits.empty:
        st.session_state[POSTCODE_NOTE_KEY] = (
            f"{text.upper()} is outside every {level_label(level)} area loaded."
        )
        return
    hits = hits.sort_values("code")
    st.session_state[LEVEL_KEY] = level
    st.session_state[PLACE_KEY] = str(hits.iloc[0]["code"])
    if level in SEARCH_LEVELS:
        st.session_state[LSOA_SEARCH_KEY] = str(hits.iloc[0]["code"])
    st.session_state[POSTCODE_NOTE_KEY] = f"{text.upper()} is in {hits.iloc[0]['name']}."


def _open_on_home_place() -> None:
    """On a session's first run, choose the store's home place if it holds every site."""
    if st.session_state.get(_OPENED_KEY):
        return
    st.session_state[_OPENED_KEY] = True
    if LEVEL_KEY in st.session_state:
        return
    try:
        home = state.home_place(auth.viewer().agency)
        sites = auth.visible_estate()
    except AssetmapError:
        return
    if home is None or not home.codes:
        return
    level, code = home.level, home.codes[0]
    if home.source == "saved place":
        level, code = "saved place", home.name
    elif home.source == "bundled":
        level = "county"
    elif home.source.startswith(BOUNDARY_SET_PREFIX):
        level = home.source
    located = ~(sites.geometry.is_empty | sites.geometry.isna()).to_numpy()
    if not in_place(sites[located], home.geometry).all():
        return
    st.session_state[LEVEL_KEY] = level
    st.session_state[PLACE_KEY] = code
    if level in SEARCH_LEVELS:
        st.session_state[LSOA_SEARCH_KEY] = code


def _choices(level: str) -> dict[str, str]:
    """Return the places of a level the picker offers, code -> name, by name."""
    if level == "saved place":
        names = [str(n) for n in state.saved_places()["name"]]
        return {n: n for n in sorted(names, key=str.lower)}
    offered = state.place_choices().get(level)
    if offered is None:
        frame = state.localities(level)
        offered = list(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))
    if level in SEARCH_LEVELS:
        wanted = str(st.session_state.get(LSOA_SEARCH_KEY) or "").strip().casefold()
        chosen = str(st.session_state.get(PLACE_KEY) or "")
        offered = [
            (c, n)
            for c, n in offered
            if c == chosen or (wanted and (wanted in n.casefold() or wanted in c.casefold()))
        ][:SEARCH_LIMIT]
    return dict(sorted(((str(c), str(n)) for c, n in offered), key=lambda cn: cn[1].lower()))


def open_place(level: str, code: str) -> None:
    """Make ``level``'s locality ``code`` the place from the next run on (the picker shows it).

    A page may call it after the sidebar is drawn (the picker's own keys can no
    longer change in that run); the picker takes it first thing in the next run.
    """
    st.session_state[_PENDING_PLACE_KEY] = (str(level), str(code))


def _take_pending_place() -> None:
    pending = st.session_state.pop(_PENDING_PLACE_KEY, None)
    if not pending:
        return
    level, code = pending
    st.session_state[LEVEL_KEY] = level
    st.session_state[PLACE_KEY] = code
    if level in SEARCH_LEVELS:
        st.session_state[LSOA_SEARCH_KEY] = code


def _place_picker() -> tuple[str, str, str]:
    _open_on_home_place()
    _take_pending_place()
    saved = not state.saved_places().empty
    levels = [
        *[v for v in LEVEL_LABELS if v != "saved place" or saved],
        *added_boundaries(),
    ]
    if st.session_state.get(LEVEL_KEY) not in levels:
        st.session_state[LEVEL_KEY] = ""
    level = st.selectbox(
        "Place",
        options=levels,
        format_func=level_label,
        key=LEVEL_KEY,
        help="The kind of place to pick; 'Whole estate' shows everything.",
    )
    if not level:
        return "", "", "the whole estate"
    if level in SEARCH_LEVELS:
        st.text_input(
            "Search LSOAs", key=LSOA_SEARCH_KEY, placeholder="a name or code, e.g. Trafford 001A"
        )
    try:
        names = _choices(level)
    except AssetmapError as exc:
        st.warning(f"That kind of place cannot be used: {md(exc)}")
        return "", "", "the whole estate"
    codes = list(names)
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
        return level, "", f"every {level_label(level)}"
    return level, code, names[code]


def _upload_section() -> None:
    """Draw the boundary upload, whose set is kept in the store."""
    with st.expander("Add a boundary set (wards, parishes…)"):
        st.text_input("Name of the set", key=BOUNDARY_NAME_KEY, placeholder="e.g. wards")
        st.file_uploader(
            "Boundary file (GeoJSON, GeoPackage or zipped Shapefile)",
            type=[x[1:] for x in BOUNDARY_SUFFIXES],
            key=BOUNDARY_UPLOAD_KEY,
            on_change=_add_boundary_file,
            help="Kept in the estate for every user and later session.",
        )


def _kept_section() -> None:
    """Draw the saving of several districts as one place, and removal of what was added.

    Drawn below the filters: the sidebar's first multiselect stays the Sector filter.
    """
    with st.expander("Save a place (several districts)"):
        st.text_input("Name", key=SAVE_NAME_KEY, placeholder="e.g. Greater Manchester")
        try:
            districts = _choices("district")
        except AssetmapError as exc:
            st.caption(f"Districts cannot be listed: {md(exc)}")
            districts = {}
        st.multiselect(
            "Districts",
            list(districts),
            format_func=lambda code: districts.get(code, code),
            key=SAVE_CODES_KEY,
        )
        st.button("Save the place", key="save_place_button", on_click=_save_place)
    _removals()


def _removals() -> None:
    """List the boundary sets and saved places the viewer may remove, each with a button."""
    viewer = auth.viewer()
    sets = state.boundary_sets()
    kept = [
        ("set", str(name), str(owner))
        for name, owner in sets[["set_name", "owner"]].drop_duplicates().itertuples(index=False)
    ] + [
        ("place", str(name), str(owner))
        for name, owner in state.saved_places()[["name", "owner"]].itertuples(index=False)
    ]
    mine = [k for k in kept if access.may_remove_source(k[2], viewer)]
    if not mine:
        return
    with st.expander("Remove a boundary set or saved place"):
        for i, (kind, name, owner) in enumerate(mine):
            what = "boundary set" if kind == "set" else "saved place"
            st.button(
                f"Remove the {what} {name}" + (f" ({owner})" if owner else ""),
                key=f"remove_kept_{i}",
                on_click=_remove_kept,
                args=(kind, name),
            )


def sidebar() -> Selection:
    """Draw the place picker and the filters in the sidebar; return the choice.

    Call it once per run, before the page runs (``streamlit_app.py`` does).
    """
    auth.sidebar_note(auth.viewer())
    try:
        state.ensure_national()
    except AssetmapError as exc:
        st.error(f"The national boundaries could not be prepared: {md(exc)}")
    with st.sidebar:
        st.header("Place")
        try:
            sites = auth.visible_estate()
        except AssetmapError as exc:
            st.error(f"The estate could not be loaded: {md(exc)}")
            sites = None
        try:
            level, code, place_name = _place_picker()
        except AssetmapError as exc:
            st.error(f"The places could not be listed: {md(exc)}")
            level, code, place_name = "", "", "the whole estate"
        hint = postcode_hint()
        st.text_input(
            "Find a postcode",
            key=POSTCODE_KEY,
            on_change=_find_postcode,
            placeholder=f"e.g. {hint}" if hint else "a postcode",
            help="Picks the locality (at the level above, else the district) that holds it.",
        )
        if note := st.session_state.get(POSTCODE_NOTE_KEY):
            st.caption(md(note))
        _upload_section()
        st.header("Filters")
        chosen = Selection(level=level, code=code, place_name=place_name)
        if sites is not None and not sites.empty:
            facets = state.estate_facets(auth.viewer(), sites)
            counts = facets["sectors"]
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
                    _carry_over(key, facets[column]),
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
        try:
            _kept_section()
        except AssetmapError as exc:
            st.caption(f"Saved places are not available: {md(exc)}")
        st.caption(attribution())
    st.session_state[_SELECTION_KEY] = chosen
    return chosen


def selection() -> Selection:
    """Return the choice the sidebar made in this run (the whole estate if it has not run)."""
    return st.session_state.get(_SELECTION_KEY) or Selection()


def attribution() -> str:
    """Return the attribution shown wherever boundaries or postcodes are drawn."""
    return str(ATTRIBUTION)
