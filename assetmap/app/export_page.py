"""The Export page: the current map and tables as files to share.

* a print-quality map of the chosen place and filters (sites by sector, density,
  co-location clusters or the allocation plan's matches) as PNG, PDF or SVG, drawn
  by :mod:`assetmap.maps.static` with title, legend, scale bar, north arrow and
  attribution, A4 or A3;
* the map of the chosen place and filters as a standalone interactive HTML page
  that opens from a file with no internet (Leaflet embedded from the installed
  packages);
* the tables (sites, co-location clusters, the allocation plan, the place
  summary, quarantined rows) as CSV, XLSX or GeoPackage;
* the place's map pack (:func:`assetmap.maps.pack.export_pack`) as one ZIP file,
  with the saved scenarios chosen (a map of each one's moves, its totals).

Everything here holds only what the viewer may see (:mod:`assetmap.access`):
restricted sites of other agencies are withheld from every map, row, figure
and file; the quarantined rows are those of the viewer's own agency's
sources. CSV and XLSX cells are neutralised against formula injection
(:func:`assetmap.files.safe_table`), and every download is written to the
audit log.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap import access
from assetmap.app import map_page, scenario_panel, shell, state
from assetmap.colocation import DEFAULT_DISTANCE_M
from assetmap.errors import AssetmapError
from assetmap.files import csv_bytes, xlsx_bytes
from assetmap.io.outputs import write_geopackage
from assetmap.maps import interactive, static
from assetmap.maps.safe_html import markdown_text as md
from assetmap.schema import approximate_mask

__all__ = [
    "IMAGE_KINDS",
    "TABLES",
    "TABLE_FORMATS",
    "html_map",
    "image_bytes",
    "render",
    "table_bytes",
]

#: The print maps offered, and what they show.
IMAGE_KINDS = {
    "sites": "Sites by sector",
    "density": "Density of the estate (sites per km²)",
    "clusters": "Co-location clusters (400 m)",
    "matches": "The allocation plan: offers to requests",
}

IMAGE_KIND_KEY = "export_image_kind"
IMAGE_FORMAT_KEY = "export_image_format"
IMAGE_PAPER_KEY = "export_image_paper"
IMAGE_LANDSCAPE_KEY = "export_image_landscape"
IMAGE_DPI_KEY = "export_image_dpi"
IMAGE_APPROXIMATE_KEY = "export_image_include_approximate"
#: The print maps that run co-location or matching, which may leave out approximate sites.
ANALYSIS_KINDS = ("clusters", "matches")
TABLE_KEY = "export_table"
FORMAT_KEY = "export_format"
HTML_LAYERS_KEY = "export_html_layers"

#: The layers the HTML map offers beside the sites, and what they show.
HTML_LAYERS = {
    "density": "Density of the estate (the level below the place, sites per km²)",
    "clusters": "Co-location clusters",
    "offers": "Surplus space offered",
    "matches": "Match lines (the plan)",
}

#: The tables offered, and what they are.
TABLES = {
    "sites": "Sites of the place, after the filters",
    "clusters": "Co-location clusters (400 m)",
    "plan": "The allocation plan for the place's space requests",
    "summary": "Place summary: sites per district and sector",
    "quarantine": "Quarantined rows of your agency's registers",
}
#: The table formats offered, and their MIME types.
TABLE_FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
}


def _table(name: str, chosen: shell.Selection) -> pd.DataFrame:
    key = shell.cache_key(chosen)
    viewer = shell.viewer()
    sites = shell.selected_sites(chosen)
    if name == "sites":
        return sites
    if name == "clusters":
        return state.colocation(key, DEFAULT_DISTANCE_M, sites, viewer.agency).clusters
    if name == "plan":
        requests = shell.place_requests(chosen)
        _, plan = state.plan(key, False, requests, sites, viewer.agency)
        return gpd.GeoDataFrame(
            plan.table().reset_index(drop=True), geometry=plan.lines().geometry, crs=sites.crs
        )
    if name == "summary":
        level = "district"  # the place's districts (those holding it, for a smaller place)
        localities = state.density_localities(
            (*key, level), level, shell.place(chosen), sites, agency=shell.viewer().agency
        )
        return state.place_summary_table((*key, level), level, sites, localities, viewer.agency)
    return access.visible_quarantine(state.quarantine(), viewer)


def table_bytes(frame: pd.DataFrame, name: str, fmt: str) -> bytes:
    """Return a table as the bytes of a CSV file, an XLSX workbook or a one-layer GeoPackage.

    In CSV, geometry is written as WKT; CSV and XLSX cells that a spreadsheet would
    run are neutralised.
    """
    if fmt == "csv":
        return csv_bytes(frame)
    if fmt == "xlsx":
        return xlsx_bytes(frame, sheet=name)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.gpkg"
        write_geopackage({name: frame}, path)
        return path.read_bytes()


def _static_place(chosen: shell.Selection) -> static.Place | None:
    """Return the chosen place for a print map (``None``: the whole estate).

    Every area of a boundary set together (or the bundled county) is one place
    of that level.
    """
    found = shell.place(chosen)
    if found is not None or not chosen.level:
        return found
    outline = shell.place_geometry(chosen)
    if outline is None:
        return None
    if chosen.level == "county":
        return static.resolve_place("Kent and Medway")
    codes = tuple(str(c) for c in shell.added_boundaries()[chosen.level]["code"])
    return static.Place(
        name=chosen.place_name,
        level=chosen.level,
        codes=codes,
        geometry=outline,
        sublevel=chosen.level,
        context=None,
        source=chosen.level,
    )


@st.cache_data(show_spinner="Drawing the map…", max_entries=8)
def image_bytes(
    key: tuple,
    kind: str,
    fmt: str,
    paper: str,
    landscape: bool,
    dpi: int,
    _sites: gpd.GeoDataFrame,
    _requests: gpd.GeoDataFrame | None,
    _place: static.Place | None,
    agency: str | None = None,
    *,
    include_approximate: bool = False,
) -> bytes:
    """Return a print map of the selected sites as the bytes of a PNG, PDF or SVG file.

    Cached by ``key`` and the options. ``_sites`` are the sites of the place the
    viewer (of ``agency``) may see; the map is made from them alone.
    ``include_approximate``: sites and requests placed only at the centre of their
    postcode district or sector take part in co-location and matching.
    """
    return static.map_bytes(
        kind,
        _sites,
        format=fmt,
        dpi=dpi,
        place=_place,
        requests=_requests,
        paper=paper,
        landscape=landscape,
        viewer=agency,
        store=state.store(),
        include_approximate=include_approximate,
    )


def _approximate_box(kind: str, sites: gpd.GeoDataFrame) -> bool:
    """Offer to include approximate sites in a map's analysis, and say when they are left out."""
    if kind not in ANALYSIS_KINDS:
        return False
    include = st.checkbox(
        state.APPROXIMATE_BOX, value=False, key=IMAGE_APPROXIMATE_KEY, help=state.APPROXIMATE_HELP
    )
    approximate = approximate_mask(sites)
    what = "site", "the co-location clusters"
    if kind == "matches":  # only sites offering surplus space take part in matching
        surplus = pd.to_numeric(sites.get("surplus_sqft"), errors="coerce")
        approximate &= (surplus.fillna(0) > 0).to_numpy(dtype=bool)
        what = "offer of surplus space", "matching"
    n = int(approximate.sum())
    if n and not include:
        st.caption(
            f"{n:,} {what[0]}{'s' if n != 1 else ''} placed only approximately (at the centre "
            f"of a postcode district or sector) {'are' if n != 1 else 'is'} left out of "
            f"{what[1]}; the map's legend says so."
        )
    return bool(include)


def _image_section(chosen: shell.Selection) -> None:
    st.subheader("Print map (PNG, PDF or SVG)")
    st.caption(
        "For reports and board papers: title, legend, scale bar, north arrow and attribution, "
        "the same every time. Restricted sites are never drawn as points."
    )
    c1, c2, c3, c4, c5 = st.columns([3, 1, 1, 1, 1])
    with c1:
        kind = shell.pick("Map", IMAGE_KINDS, key=IMAGE_KIND_KEY)
    with c2:
        fmt = shell.pick("Format", {f: f.upper() for f in static.FORMATS}, key=IMAGE_FORMAT_KEY)
    with c3:
        paper = shell.pick("Paper", {p: p for p in static.PAPERS}, key=IMAGE_PAPER_KEY)
    with c4:
        dpi = shell.pick(
            "DPI",
            {d: str(d) for d in static.DPIS},
            index=len(static.DPIS) - 1,
            key=IMAGE_DPI_KEY,
            disabled=fmt != "png",
        )
    landscape = c5.toggle("Landscape", key=IMAGE_LANDSCAPE_KEY)
    sites = shell.selected_sites(chosen)
    include_approximate = _approximate_box(kind, sites)
    if not st.button("Draw the print map", key="export_image_prepare"):
        return
    key = shell.cache_key(chosen)
    requests = shell.place_requests(chosen) if kind == "matches" else None
    data = image_bytes(
        key,
        kind,
        fmt,
        paper,
        bool(landscape),
        int(dpi),
        sites,
        requests,
        _static_place(chosen),
        shell.viewer().agency,
        include_approximate=include_approximate,
    )
    name = f"assetmap_{kind}_{_slug(chosen.place_name)}_{paper}.{fmt}"
    shell.download(
        f"Download {name}",
        data,
        file_name=name,
        mime=static.FORMATS[fmt].mime,
        key="export_image_download",
    )
    if fmt == "png":
        st.image(data, caption=f"{IMAGE_KINDS[kind]}: {paper}, {dpi} dpi", width=480)


def _html_section(chosen: shell.Selection) -> None:
    st.subheader("Interactive map (HTML)")
    st.caption(
        "One file that opens in any browser with no internet: the sites of the place after "
        "the filters, with the layers you tick."
    )
    layers = st.multiselect(
        "Layers",
        list(HTML_LAYERS),
        default=["density"],
        format_func=HTML_LAYERS.__getitem__,
        key=HTML_LAYERS_KEY,
    )
    if not st.button("Prepare the HTML map", key="export_html_prepare"):
        return
    sites = shell.selected_sites(chosen)
    with st.spinner("Drawing the map…"):
        html, notes = html_map(sites, layers, shell.cache_key(chosen))
    for note in notes:
        st.caption(md(note))
    shell.download(
        "Download the HTML map",
        html.encode("utf-8"),
        file_name=f"assetmap_{_slug(chosen.place_name)}.html",
        mime="text/html",
        key="export_html_download",
        rows=len(sites),
    )


def html_map(
    sites: gpd.GeoDataFrame,
    layers: list[str],
    key: tuple,
) -> tuple[str, list[str]]:
    """Return the standalone HTML map of ``sites`` with the named layers, and notes on them.

    ``sites`` are those the viewer may see: every layer is made from them
    alone. ``layers`` holds any of
    ``"density"``, ``"clusters"``, ``"offers"`` and ``"matches"``; the sites
    are always drawn. ``key`` caches the analyses.
    """
    choice = map_page.LayerChoice(
        density="density" in layers,
        clusters="clusters" in layers,
        offers="offers" in layers,
        matches="matches" in layers,
    )
    group, layer = map_page.build_layers(sites, choice, key)
    try:
        bounds = state.basemap(shell.viewer().agency)
    except AssetmapError:
        bounds = None
    m = interactive.base_map(bounds, extent=sites if len(sites) else None)
    group.add_to(m)
    notes = list(choice.notes)
    if isinstance(layer, interactive.SitesLayer) and layer.message:
        notes.insert(0, layer.message)  # in the app and in the file: never a silent cap
        interactive.HtmlControl(
            interactive.notice_html(layer.message),
            position="topright",
            css_class="assetmap-notice-control",
        ).add_to(m)
    return interactive.map_html(m), notes


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    return keep[:40] or "map"


def _tables_section(chosen: shell.Selection) -> None:
    st.subheader("Tables")
    name = shell.pick("Table", TABLES, key=TABLE_KEY)
    fmt = st.radio(
        "Format", list(TABLE_FORMATS), horizontal=True, format_func=str.upper, key=FORMAT_KEY
    )
    try:
        frame = _table(name, chosen)
    except AssetmapError as exc:
        st.error(f"That table could not be made: {md(exc)}")
        return
    if fmt == "gpkg" and not isinstance(frame, gpd.GeoDataFrame):
        st.caption("This table has no geometry, so it is offered as CSV.")
        fmt = "csv"
    st.caption(f"{len(frame):,} rows.")
    shell.download(
        f"Download {name}.{fmt}",
        table_bytes(frame, name, fmt),
        file_name=f"{name}.{fmt}",
        mime=TABLE_FORMATS[fmt],
        key="export_table_download",
        rows=len(frame),
    )


PACK_FORMAT_KEY = "export_pack_format"
PACK_SCENARIOS_KEY = "export_pack_scenarios"
PACK_BYTES_KEY = "export_pack_bytes"


def pack_zip(folder: Path) -> bytes:
    """Return a written map pack's folder as the bytes of a ZIP file (its files, sorted)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, str(Path(folder.name) / path.relative_to(folder)))
    return buffer.getvalue()


def _pack_section(chosen: shell.Selection) -> None:
    """Draw the place's map pack for an HM Treasury asset review, with chosen scenarios."""
    from assetmap.maps.pack import export_pack

    st.subheader("Map pack (for an asset review)")
    st.caption(
        "The place's maps (sites, density, co-location, matches), an atlas of its "
        "localities, its tables, the lease-event windows, each body's data completeness "
        "and the scenarios you choose (a map of each one's moves and its totals before "
        "and after), in one ZIP file."
    )
    place = _static_place(chosen)
    if place is None:
        st.caption("Choose a place in the sidebar to make its map pack.")
        return
    viewer = shell.viewer()
    saved = scenario_panel.saved_list()
    building = scenario_panel.working()
    by_key = {scenario_panel.scenario_key(s): s for s in saved}
    choices = {k: s.name for k, s in by_key.items()}
    if building.moves:
        choices["working"] = f"{building.name} (being built)"  # (a saved one's key holds \x1f)
    c1, c2 = st.columns([3, 1])
    with c1:
        picked = st.multiselect(
            "Scenarios in the pack",
            list(choices),
            format_func=choices.__getitem__,
            key=PACK_SCENARIOS_KEY,
        )
    with c2:
        fmt = shell.pick("Format", {"pdf": "PDF", "png": "PNG"}, key=PACK_FORMAT_KEY)
    if st.button("Make the map pack", key="export_pack_prepare"):
        scenarios = [building if k == "working" else by_key[k] for k in picked]
        with (
            st.status("Making the map pack…", expanded=True) as status,
            tempfile.TemporaryDirectory(prefix="assetmap-pack-") as folder,
        ):
            bar = st.progress(0.0)

            def progress(stage: str, fraction: float) -> None:
                bar.progress(min(max(fraction, 0.0), 1.0), text=stage)

            out = Path(folder) / f"assetmap_pack_{_slug(chosen.place_name)}"
            index = export_pack(
                state.store(),
                place,
                None,
                out,
                format=fmt,
                dpi=150,
                viewer=viewer,
                progress=progress,
                scenarios=scenarios,
            )
            files = len(index.entries)
            packed = (shell.cache_key(chosen), out.name + ".zip", pack_zip(out), files)
            st.session_state[PACK_BYTES_KEY] = packed
            status.update(label=f"The map pack is ready: {files:,} files", state="complete")
    kept = st.session_state.get(PACK_BYTES_KEY)
    if kept and kept[0] == shell.cache_key(chosen):  # a pack of this place and store state
        _, name, data, files = kept
        shell.download(
            f"Download {name} ({files:,} files)",
            data,
            file_name=name,
            mime="application/zip",
            key="export_pack_download",
        )


def render() -> None:
    """Draw the Export page."""
    chosen = shell.selection()
    st.title("Export")
    st.caption(f"Place: {md(chosen.place_name)}; filters: {md(chosen.describe())}.")
    try:
        _image_section(chosen)
        _html_section(chosen)
        _tables_section(chosen)
        _pack_section(chosen)
    except AssetmapError as exc:
        st.error(f"The export could not be made: {md(exc)}")
    st.caption(shell.attribution())
