"""The Treasury map pack: every map and table of a place in one folder.

:func:`export_pack` writes, for one place:

* the four place maps of :mod:`assetmap.maps.static` (sites by sector,
  density, co-location clusters, matches of surplus space to requests);
* an atlas: one sites map per locality of the chosen level inside the place
  (by default the place's sublevel, the level below it: the 13 districts of
  Kent and Medway, the districts of an ICB, the LSOAs of a district);
* the tables behind the maps, as CSV: the sites drawn, the density per
  locality, the place summary (sites per locality and sector), the clusters
  and their members, and the allocation plan;
* how complete each body's property data is (:mod:`assetmap.completeness`):
  ``tables/completeness.csv`` and a chart of it in the maps' format;
* the lease-event windows of the co-location clusters opening in the next 24
  months (:mod:`assetmap.lease_events`; counted from the date on the maps):
  ``tables/lease_windows.csv``, ranked by saving, and a timeline chart of each of
  the first ten;
* ``index.csv``, listing every file with what it shows.

The pack is built in a hidden folder beside the destination and moved into
place only when every file is written: a failure leaves no half-written pack
and no half-written file. Other agencies' restricted sites are withheld before
anything is drawn, counted or written (:mod:`assetmap.access`): no map, table,
total or note of the pack includes them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .. import access
from .._validate import raise_if_any
from ..access import Viewer
from ..colocation import DEFAULT_DISTANCE_M, ColocationResult, colocation_clusters
from ..errors import InvalidArgumentError
from ..files import guard_output, unwritable_folder
from ..io.outputs import write_csv, write_table
from ..localities import assign_localities
from ..places import place_localities
from ..schema import in_place, point_coordinates
from ..settings import TileSetting
from ..store import EstateStore, default_store_path, open_store
from .static.options import (
    PLACE_LEVELS,
    MapOptions,
    Place,
    check_format_dpi,
    check_paper,
    resolve_place,
)
from .static.render import StaticMap, build_map, save_map

if TYPE_CHECKING:
    from ..scenarios import Scenario

__all__ = ["INDEX_COLUMNS", "PackEntry", "PackIndex", "export_pack"]

Progress = Callable[[str, float], None]

#: The columns of ``index.csv``.
INDEX_COLUMNS: tuple[str, ...] = (
    "file",
    "kind",
    "what",
    "locality_code",
    "locality_name",
    "sites",
)
_PLACE_KINDS = ("sites", "density", "clusters", "matches")
_ATLAS_LEVELS = tuple(level for level in PLACE_LEVELS if level != "county")


@dataclass(frozen=True)
class PackEntry:
    """One file of a map pack.

    Attributes
    ----------
    file
        Its path inside the pack folder (``maps/01_sites.pdf``).
    kind
        ``"map"``, ``"atlas"``, ``"table"``, ``"chart"``, ``"scenario map"`` or
        ``"scenario table"`` (a scenario's totals as a page).
    what
        What it shows, in words (the map's title, or the table's content).
    locality_code, locality_name
        The locality of an atlas page (``""`` otherwise).
    sites
        Sites drawn (maps) or rows (tables).
    """

    file: str
    kind: str
    what: str
    locality_code: str = ""
    locality_name: str = ""
    sites: int = 0


@dataclass
class PackIndex:
    """What a map pack holds.

    Attributes
    ----------
    folder
        The pack's folder.
    place
        The place's name.
    level
        The atlas level.
    entries
        Every file, in the order of ``index.csv``.
    notes
        Plain-English notes gathered while drawing (restricted sites not drawn,
        requests without a location, classes lowered...).
    """

    folder: Path
    place: str
    level: str
    entries: list[PackEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def index_path(self) -> Path:
        """The pack's ``index.csv``."""
        return self.folder / "index.csv"

    def to_frame(self) -> pd.DataFrame:
        """Return the index as a table with the columns of :data:`INDEX_COLUMNS`."""
        rows = [{name: getattr(entry, name) for name in INDEX_COLUMNS} for entry in self.entries]
        return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))

    def files(self) -> list[Path]:
        """Every file of the pack, index included."""
        return [self.folder / e.file for e in self.entries] + [self.index_path]


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in text.lower())
    keep = "_".join(part for part in keep.split("_") if part)
    return keep[:48] or "place"


def _check_out_dir(out_dir: object, problems: list[str]) -> Path | None:
    if not isinstance(out_dir, (str, os.PathLike)):
        problems.append(f"out_dir={out_dir!r} is not valid; expected the path of a folder")
        return None
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        problems.append(
            f"out_dir={str(path)!r} is a file; expected a folder (it is created if missing)"
        )
        return path
    folder, why = unwritable_folder(path)
    if why == "not a folder":
        problems.append(
            f"out_dir={str(path)!r} cannot be made: {str(folder)!r} is a file, not a folder; "
            "expected a folder path"
        )
    elif why == "not writable":
        problems.append(
            f"out_dir={str(path)!r} cannot be written: the folder {str(folder)!r} is not "
            "writable; expected a writable folder"
        )
    return path


def _sites_and_requests(
    source: object, requests: gpd.GeoDataFrame | None, problems: list[str]
) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Return the sites and requests of a store, a store's path, or a sites GeoDataFrame."""
    if isinstance(source, gpd.GeoDataFrame):
        return source, requests
    if isinstance(source, (str, os.PathLike)):
        source = open_store(source)
    if isinstance(source, EstateStore):
        if hasattr(source, "exists") and not source.exists():
            problems.append(
                f"source {str(getattr(source, 'path', source))!r} does not exist; expected an "
                "estate store (import a register first)"
            )
            return None, requests
        return source.sites(), source.requests() if requests is None else requests
    problems.append(
        f"source is a {type(source).__name__}; expected an estate store, the path of one, or "
        "a GeoDataFrame of sites"
    )
    return None, requests


def _atlas_localities(
    level: str | os.PathLike[str], place: Place, store: EstateStore | None
) -> tuple[gpd.GeoDataFrame, str]:
    """Return the localities of ``level`` in the place, and the level's name.

    A named level (national, bundled, or a boundary set kept in ``store``) comes
    from :func:`assetmap.places.place_localities`; a boundary file's localities
    are in the place by the one rule of :func:`assetmap.schema.in_place`: a
    point on their surface lies in the place.
    """
    from ..density.locality import resolve_localities

    if isinstance(level, str) and not Path(level).is_file():
        frame = place_localities(place, level, store=store)
        return frame.reset_index(drop=True), level.removeprefix("boundary set ")
    frame, _ = resolve_localities(level, argument="level")
    return frame[in_place(frame, place.geometry)].reset_index(drop=True), Path(str(level)).stem


@dataclass
class _Checked:
    """The arguments of :func:`export_pack`, checked."""

    place: Place
    folder: Path
    store_file: Path
    sites: gpd.GeoDataFrame
    requests: gpd.GeoDataFrame | None
    viewer: Viewer | None
    store: EstateStore | None


def _check_level(level: object, store: EstateStore | None, problems: list[str]) -> None:
    """Add a problem if ``level`` is not an atlas level, a boundary set, a file nor ``None``."""
    sets: list[str] = []
    if store is not None:
        sets = [f"boundary set {n}" for n in pd.unique(store.boundary_sets()["set_name"])]
    if level is not None and not (
        (isinstance(level, str) and level in (*_ATLAS_LEVELS, *sets))
        or (isinstance(level, (str, os.PathLike)) and Path(level).is_file())
    ):
        problems.append(
            f"level={str(level)!r} is not an atlas level; expected one of: "
            f"{', '.join([*_ATLAS_LEVELS, *sets])}, or the path of a boundary file (wards, "
            "parishes...)"
        )


def _check(
    source: object,
    place: object,
    level: object,
    out_dir: object,
    *,
    requests: gpd.GeoDataFrame | None,
    format: str,
    paper: str,
    dpi: int,
    viewer: Viewer | str | None,
    include_approximate: object = False,
) -> _Checked:
    """Check every argument of :func:`export_pack`; raise listing every problem."""
    problems: list[str] = []
    if not isinstance(include_approximate, bool):
        problems.append(
            f"include_approximate={include_approximate!r} is not valid; expected True or False"
        )
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        source = open_store(source)
    store = source if isinstance(source, EstateStore) else None
    resolved = None
    try:
        resolved = resolve_place(place, store=store)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    _check_level(level, store, problems)
    check_format_dpi(format, dpi, problems)
    check_paper(paper, problems)
    folder = _check_out_dir(out_dir, problems)
    # the pack is never written over the store or its files (the default store's, for a frame)
    store_file = (
        Path(source)
        if isinstance(source, (str, os.PathLike))
        else getattr(source, "path", None) or default_store_path()
    )
    if folder is not None:
        guard_output(folder, store=store_file, name="the pack folder", problems=problems)
    sites, requests = _sites_and_requests(source, requests, problems)
    seen_by = None
    try:
        seen_by = access.as_viewer(viewer)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    raise_if_any(problems)
    assert resolved is not None and folder is not None and sites is not None
    return _Checked(resolved, folder, Path(store_file), sites, requests, seen_by, store)


@dataclass
class _Pages:
    """How the pack's maps are drawn and written, the index they go in, and the progress."""

    place: Place
    index: PackIndex
    options: MapOptions
    format: str
    dpi: int
    progress: Progress | None
    steps: int
    staging: Path

    @property
    def agency(self) -> str | None:
        """Return the viewer's agency, as co-location and matching take it."""
        viewer = self.options.viewer
        return viewer.agency if isinstance(viewer, Viewer) else viewer

    def report(self, stage: str, fraction: float) -> None:
        """Tell the caller's progress function, if any, how far the pack has come."""
        if self.progress is not None:
            self.progress(stage, min(max(fraction, 0.0), 1.0))

    def save(self, built: StaticMap, name: str, kind: str, code: str, locality: str) -> None:
        """Write one map into the staging folder and list it in the index."""
        save_map(built.figure, self.staging / name, format=self.format, dpi=self.dpi)
        self.index.entries.append(
            PackEntry(name, kind, built.title, code, locality, built.sites_drawn)
        )


def export_pack(
    source: EstateStore | str | os.PathLike[str] | gpd.GeoDataFrame,
    place: str | Place,
    level: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    *,
    requests: gpd.GeoDataFrame | None = None,
    format: str = "pdf",
    paper: str = "A4",
    landscape: bool = False,
    dpi: int = 300,
    distance: float = DEFAULT_DISTANCE_M,
    drawn_on: date | None = None,
    tiles: TileSetting | str | None = None,
    progress: Progress | None = None,
    viewer: Viewer | str | None = None,
    include_approximate: bool = False,
    scenarios: Sequence[Scenario] = (),
) -> PackIndex:
    """Write the map pack of a place: place maps, an atlas per locality, tables and an index.

    Parameters
    ----------
    source
        An estate store, the path of one, or a GeoDataFrame of sites.
    place
        A place name or code (:func:`assetmap.places.resolve_place`): a district,
        an ICB, a saved place, an area of a kept boundary set..., or a ``Place``.
    level
        The atlas level: a national level (``"icb"``, ``"nhs_area"``,
        ``"district"``, ``"lsoa"``), ``"boundary set <name>"`` kept in the
        store, the path of a boundary file (wards...), or ``None`` for the
        place's sublevel (districts for a county or an ICB, LSOAs for a district).
    out_dir
        The pack's folder, created if missing. Files of an earlier pack with the
        same names are replaced; other files are left alone.
    requests
        Space requests for the matches map (default: the store's).
    format
        One of :data:`assetmap.maps.static.FORMATS` for the maps.
    paper, landscape, dpi
        As for :func:`assetmap.maps.static.render_map` and ``save_map``.
    distance
        Walking distance of co-location, metres.
    drawn_on
        The date printed on the maps (default today).
    tiles
        Background tiles, as for :func:`assetmap.maps.static.render_map`.
    progress
        Called as ``progress(stage, fraction done)``.
    viewer
        Who is looking (:class:`assetmap.access.Viewer` or an agency's name):
        their own agency's restricted sites are drawn and listed; default
        ``None``, no restricted site is (see :mod:`assetmap.access`).
    include_approximate
        Whether sites and requests placed only at a postcode area's centre take part
        in co-location and matching (default ``False``: left out, and the maps say so).
    scenarios
        Scenarios (:class:`assetmap.scenarios.Scenario`) to put in the pack, each
        evaluated on the place's sites the viewer may see: a map of its moves
        (``maps/scenario_NN_<name>``), its totals before and after as a page and a
        CSV, and its moves as a CSV (``tables/``).

    Returns
    -------
    PackIndex

    Raises
    ------
    InvalidArgumentError
        Listing every option that cannot be used (unknown place, level, format
        or paper; an out_dir that cannot be written; a missing store). Nothing
        is left in ``out_dir`` when this is raised.

    Examples
    --------
    >>> index = export_pack("estate.gpkg", "Kent and Medway", "district", "pack")  # doctest: +SKIP
    >>> len(index.entries)  # doctest: +SKIP
    """
    checked = _check(
        source,
        place,
        level,
        out_dir,
        requests=requests,
        format=format,
        paper=paper,
        dpi=dpi,
        viewer=viewer,
        include_approximate=include_approximate,
    )
    resolved, folder = checked.place, checked.folder
    level = level or resolved.sublevel or resolved.level
    atlas, level_name = _atlas_localities(level, resolved, checked.store)
    options = MapOptions(
        paper=paper,
        landscape=landscape,
        drawn_on=drawn_on or date.today(),
        tiles=tiles,
        viewer=checked.viewer,
        store=checked.store,
        distance=distance,
        include_approximate=include_approximate,
    )
    index = PackIndex(folder=folder, place=resolved.name, level=level_name)
    staging = _staging(folder)
    steps = len(_PLACE_KINDS) + len(atlas) + 2
    pages = _Pages(resolved, index, options, format, dpi, progress, steps, staging)
    try:
        # the disclosure rule, once, before anything is drawn, counted or written
        sites = access.visible_sites(checked.sites, checked.viewer)
        shown = sites[in_place(sites, resolved.geometry)]
        clusters, plan = _analyses(checked.requests, shown, pages)
        _place_maps(pages, shown, level, clusters, plan)
        _atlas_maps(pages, shown, atlas, level_name)
        pages.report("tables", (pages.steps - 1.5) / pages.steps)
        _write_tables(
            index, staging, shown, atlas, level_name, clusters, plan, resolved, checked.viewer
        )
        _write_completeness(pages, shown, checked.viewer)
        _write_lease_windows(pages, shown, clusters)
        _write_scenarios(pages, shown, scenarios, checked.requests)
        write_csv(index.to_frame(), staging / "index.csv")
        pages.report("moving the pack into place", (pages.steps - 0.5) / pages.steps)
        _move_into_place(staging, folder, index, checked.store_file)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    pages.report("done", 1.0)
    return index


def _staging(folder: Path) -> Path:
    """Make the hidden folder beside ``folder`` where the pack is built, with its folders."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the pack becomes an ordinary folder
        for d in ("maps", "atlas", "tables"):
            (staging / d).mkdir()
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _analyses(
    requests: gpd.GeoDataFrame | None, shown: gpd.GeoDataFrame, pages: _Pages
) -> tuple[ColocationResult, Any]:
    """Return the co-location clusters and the allocation plan (``None`` without requests).

    Both leave out the sites placed only approximately unless the options include them.
    """
    options = pages.options
    pages.report("co-location clusters", 0.0)
    clusters = colocation_clusters(
        shown,
        distance=options.distance,
        viewer_agency=pages.agency,
        include_approximate=options.include_approximate,
    )
    if requests is None or not len(requests):
        return clusters, None
    from ..matching import allocate, find_candidates

    _, located = point_coordinates(requests.geometry.to_numpy())
    place_requests = requests[in_place(requests, pages.place.geometry) | ~located]
    pages.report("matching surplus space", 0.02)
    match = find_candidates(
        place_requests,
        shown,
        viewer_agency=pages.agency,
        include_approximate=options.include_approximate,
    )
    return clusters, allocate(match)


def _place_maps(
    pages: _Pages,
    shown: gpd.GeoDataFrame,
    level: str | os.PathLike[str],
    clusters: ColocationResult,
    plan: Any,
) -> None:
    """Draw and write the four maps of the whole place."""
    place = pages.place
    for step, kind in enumerate(_PLACE_KINDS):
        pages.report(f"place map: {kind}", (step + 0.5) / pages.steps)
        if kind == "matches" and plan is None:
            pages.index.notes.append("no space requests given: the matches map is left out")
            continue
        built = build_map(
            kind,
            shown,
            replace(
                pages.options,
                place=place,
                localities=level if kind == "density" else None,
                clusters=clusters if kind == "clusters" else None,
                plan=plan if kind == "matches" else None,
            ),
        )
        pages.save(
            built,
            f"maps/{step + 1:02d}_{kind}.{pages.format}",
            "map",
            place.code,
            place.name,
        )
        pages.index.notes.extend(n for n in built.notes if n not in pages.index.notes)


def _atlas_maps(
    pages: _Pages, shown: gpd.GeoDataFrame, atlas: gpd.GeoDataFrame, level_name: str
) -> None:
    """Draw and write a sites map of each locality of the atlas."""
    assignment = assign_localities(shown, atlas)
    codes = assignment["locality_code"].to_numpy(dtype=object)
    # each page's basemap: the atlas's own localities (its neighbours greyed)
    basemap = atlas[["code", "name", atlas.geometry.name]]
    base = len(_PLACE_KINDS)
    for i, row in enumerate(atlas.itertuples(index=False)):
        code, name = str(row.code), str(row.name)
        pages.report(f"atlas: {name} ({i + 1} of {len(atlas)})", (base + i + 0.5) / pages.steps)
        page_place = Place(
            name=name,
            level=level_name,
            codes=(code,),
            geometry=row.geometry,
            sublevel=None,
            context=pages.place.geometry,
            source=pages.place.source,
        )
        built = build_map(
            "sites",
            shown[codes == row.code],
            replace(pages.options, place=page_place, localities=basemap),
        )
        file = f"atlas/{i + 1:03d}_{_slug(code)}_{_slug(name)}.{pages.format}"
        pages.save(built, file, "atlas", code, name)


def _write_tables(
    index: PackIndex,
    staging: Path,
    shown: gpd.GeoDataFrame,
    atlas: gpd.GeoDataFrame,
    level_name: str,
    clusters: ColocationResult,
    plan: Any,
    place: Place,
    viewer: Viewer | None,
) -> None:
    """Write the tables behind the maps into the staging folder and list them in the index."""
    from ..density.locality import density_by_locality
    from ..density.summary import place_summary

    tables = staging / "tables"
    xy, _ = point_coordinates(shown.geometry.to_numpy())
    located = pd.DataFrame(shown.drop(columns=shown.geometry.name))
    located["easting"] = xy[:, 0].round(1)
    located["northing"] = xy[:, 1].round(1)
    write_csv(located, tables / "sites.csv")
    index.entries.append(
        PackEntry(
            "tables/sites.csv",
            "table",
            f"Sites of {place.name} drawn on the maps",
            place.code,
            place.name,
            len(located),
        )
    )
    frame = atlas[["code", "name", atlas.geometry.name]]
    density = density_by_locality(shown, frame, viewer=viewer)
    metrics = density.metrics.reset_index()
    name = f"tables/density_{_slug(level_name)}.csv"
    write_table(metrics, staging / name)
    index.entries.append(
        PackEntry(
            name,
            "table",
            f"Sites, floor area, surplus and running cost per {level_name}",
            place.code,
            place.name,
            len(metrics),
        )
    )
    summary = place_summary(shown, frame, viewer=viewer)
    write_table(summary, tables / "place_summary.csv")
    index.entries.append(
        PackEntry(
            "tables/place_summary.csv",
            "table",
            f"Place summary: sites per {level_name} and sector, with a total",
            place.code,
            place.name,
            len(summary),
        )
    )
    written = clusters.to_csv(tables / "clusters.csv")
    for path, what, rows in (
        (
            written[0],
            "Co-location clusters: hubs, floor area released and savings",
            len(clusters.clusters),
        ),
        (written[1], "Members of each co-location cluster", len(clusters.members)),
    ):
        index.entries.append(
            PackEntry(f"tables/{Path(path).name}", "table", what, place.code, place.name, rows)
        )
    if plan is not None:
        table = plan.table()
        plan.to_csv(tables / "plan.csv")
        index.entries.append(
            PackEntry(
                "tables/plan.csv",
                "table",
                "The allocation plan: space requests and the offers assigned to them",
                place.code,
                place.name,
                len(table),
            )
        )


def _write_completeness(pages: _Pages, shown: gpd.GeoDataFrame, viewer: Viewer | None) -> None:
    """Write how complete each body's data is: its table and a chart of the overall scores."""
    from ..completeness import completeness
    from .static.charts import completeness_figure

    place = pages.place
    table = completeness(shown, viewer=viewer)
    write_csv(table, pages.staging / "tables" / "completeness.csv")
    chart = f"tables/completeness.{pages.format}"
    save_map(
        completeness_figure(table, title=f"Data completeness by body: {place.name}"),
        pages.staging / chart,
        format=pages.format,
        dpi=pages.dpi,
    )
    for file, kind, what in (
        (
            "tables/completeness.csv",
            "table",
            "Data completeness by body: the share of its sites with a floor area, a running "
            "cost, a tenure, lease dates, a UPRN and an exact location, ranked",
        ),
        (chart, "chart", "Data completeness by body: each body's overall score, ranked"),
    ):
        pages.index.entries.append(PackEntry(file, kind, what, place.code, place.name, len(table)))


#: Timeline charts drawn in the pack, of the windows with the largest savings.
LEASE_TIMELINES = 10


def _write_lease_windows(
    pages: _Pages, shown: gpd.GeoDataFrame, clusters: ColocationResult
) -> None:
    """Write the clusters' lease-event windows opening in the next 24 months, and timelines.

    Counted from the date on the maps. The members' dates come from ``shown`` (the
    viewer's visible sites the clusters were found among), looked up by the members'
    index labels only.
    """
    from ..lease_events import (
        DEFAULT_OPENING_MONTHS,
        DEFAULT_YEARS,
        cluster_timeline,
        cluster_windows,
        opening_within,
    )
    from .static.charts import timeline_figure

    place, today = pages.place, pages.options.drawn_on
    every = cluster_windows(clusters, shown, years=DEFAULT_YEARS, today=today)
    windows = opening_within(every, months=DEFAULT_OPENING_MONTHS, today=today)
    write_csv(windows, pages.staging / "tables" / "lease_windows.csv")
    pages.index.entries.append(
        PackEntry(
            "tables/lease_windows.csv",
            "table",
            f"Co-location clusters in which every member but the hub could leave within "
            f"{DEFAULT_YEARS} years, in a window opening in the next {DEFAULT_OPENING_MONTHS} "
            f"months (from {today:%d %B %Y}), ranked by yearly saving",
            place.code,
            place.name,
            len(windows),
        )
    )
    members = clusters.members
    for _, row in windows.head(LEASE_TIMELINES).iterrows():
        cid = int(row["cluster_id"])
        chart = f"tables/lease_timeline_cluster_{cid}.{pages.format}"
        these = members[members["cluster_id"] == cid]
        # the hub, then the nearest to it (a city's cluster draws its first rows only)
        these = these.sort_values(["is_hub", "distance_to_hub_m"], ascending=[False, True])
        figure = timeline_figure(
            cluster_timeline(clusters, shown, cid, today=today),
            members=these,
            window=row,
            title=f"Cluster {cid}: lease events and the window ({row['agencies']})",
            today=today,
        )
        save_map(figure, pages.staging / chart, format=pages.format, dpi=pages.dpi)
        opens, closes = pd.Timestamp(row["opens"]), pd.Timestamp(row["closes"])
        pages.index.entries.append(
            PackEntry(
                chart,
                "chart",
                f"Cluster {cid}: each member's lease events, the window from "
                f"{opens:%d %B %Y} to {closes:%d %B %Y} shaded",
                place.code,
                place.name,
                len(these),
            )
        )


def _move_into_place(staging: Path, folder: Path, index: PackIndex, store_file: Path) -> None:
    """Move the finished pack from the staging folder into ``folder``, index last.

    Raises
    ------
    InvalidArgumentError
        If a file of the pack would be written over the store or one of its files;
        then nothing is moved.
    """
    clashes: list[str] = []
    for target in index.files():
        guard_output(target, store=store_file, name="the pack's file", problems=clashes)
    if clashes:
        raise InvalidArgumentError("; ".join(clashes))
    if not folder.exists():
        os.replace(staging, folder)
        return
    for entry in index.entries:
        target = folder / entry.file
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / entry.file, target)
    os.replace(staging / "index.csv", folder / "index.csv")


def _write_scenarios(
    pages: _Pages,
    shown: gpd.GeoDataFrame,
    scenarios: Sequence[Scenario],
    requests: gpd.GeoDataFrame | None,
) -> None:
    """Write each scenario: a map of its moves, its totals page and CSV, its moves CSV.

    Evaluated on ``shown`` (the place's sites the viewer may see), as of the date on
    the maps, so that no restricted site of another agency is moved, counted or drawn;
    with the store's offers, as the Scenarios page evaluates them (the engine keeps
    those the viewer may know of: :func:`assetmap.exchange.disclosure.visible_offers`).
    """
    from ..scenarios import evaluate
    from .static.scenario import draw_moves, one_line, totals_figure

    place = pages.place
    store = pages.options.store
    offers = offer_sites = None
    if scenarios and store is not None:
        offers, offer_sites = store.exchange("offers"), store.exchange("offer_sites")
    for n, scenario in enumerate(scenarios, start=1):
        pages.report(f"scenario: {scenario.name}", (pages.steps - 1.2) / pages.steps)
        result = evaluate(
            shown,
            scenario,
            viewer=pages.options.viewer,
            offers=offers,
            offer_sites=offer_sites,
            requests=requests,
            today=pages.options.drawn_on,
        )
        stem = f"scenario_{n:02d}_{_slug(scenario.name)}"
        title = one_line(f"Scenario: {scenario.name}")  # (a cluster's hub name may break lines)
        if len(title) > 58:  # the page's title is one line (the totals page has it whole)
            title = title[:57].rstrip() + "…"
        built = build_map("sites", shown, replace(pages.options, place=place, title=title))
        drawn = draw_moves(built, result)
        pages.save(built, f"maps/{stem}.{pages.format}", "scenario map", place.code, place.name)
        subtitle = (
            f"{place.name}, as at {pages.options.drawn_on:%d %B %Y}: moves made "
            f"{result.made:,}, refused {result.refused:,}, drawn on the map {drawn:,}"
        )
        page = f"tables/{stem}_totals.{pages.format}"
        save_map(
            totals_figure(result, title=f"Scenario: {scenario.name}", subtitle=subtitle),
            pages.staging / page,
            format=pages.format,
            dpi=pages.dpi,
        )
        totals = result.table().reset_index(names="measure")
        write_csv(totals, pages.staging / f"tables/{stem}_totals.csv")
        write_csv(result.moves, pages.staging / f"tables/{stem}_moves.csv")
        for file, kind, what, rows in (
            (page, "scenario table", f"Scenario {scenario.name!r}: totals before and after", 0),
            (
                f"tables/{stem}_totals.csv",
                "table",
                f"Scenario {scenario.name!r}: totals before and after",
                len(result.totals),
            ),
            (
                f"tables/{stem}_moves.csv",
                "table",
                f"Scenario {scenario.name!r}: each move, made or refused with the reason",
                len(result.moves),
            ),
        ):
            pages.index.entries.append(PackEntry(file, kind, what, place.code, place.name, rows))
