"""The Treasury map pack: every map and table of a place in one folder.

:func:`export_pack` writes, for one place:

* the four place maps of :mod:`assetmap.maps.static` (sites by sector,
  density, co-location clusters, matches of surplus space to requests);
* an atlas: one sites map per locality of the chosen level inside the place
  (the 13 districts of Kent and Medway, or the LSOAs of a district);
* the tables behind the maps, as CSV: the sites drawn, the density per
  locality, the place summary (sites per locality and sector), the clusters
  and their members, and the allocation plan;
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .. import access
from .._validate import raise_if_any
from ..access import Viewer
from ..colocation import DEFAULT_DISTANCE_M, colocation_clusters
from ..errors import InvalidArgumentError
from ..files import guard_output, unwritable_folder, write_csv
from ..localities import LEVELS, assign_localities
from ..schema import point_coordinates
from ..store import EstateStore, default_store_path, open_store
from .static import (
    Place,
    _check_format_dpi,
    _check_paper,
    build_map,
    in_place,
    resolve_place,
    save_map,
)

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
_ATLAS_LEVELS = tuple(level for level in LEVELS if level != "county")


@dataclass(frozen=True)
class PackEntry:
    """One file of a map pack.

    Attributes
    ----------
    file
        Its path inside the pack folder (``maps/01_sites.pdf``).
    kind
        ``"map"``, ``"atlas"`` or ``"table"``.
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
        """The index as a table with the columns of :data:`INDEX_COLUMNS`."""
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


def _sites_and_requests(source, requests, problems: list[str]):
    """Sites and requests from a store, a store path, or a sites GeoDataFrame."""
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


def _atlas_localities(level: str, place: Place) -> tuple[gpd.GeoDataFrame, str]:
    """The localities of ``level`` whose surface point lies in the place, and the level's name."""
    import shapely

    from ..density import resolve_localities

    frame, _ = resolve_localities(level, argument="level")
    name = level if level in LEVELS else Path(str(level)).stem
    rep = shapely.point_on_surface(frame.geometry.to_numpy())
    shapely.prepare(place.geometry)
    inside = shapely.intersects(place.geometry, rep)
    return frame[inside].reset_index(drop=True), name


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
    tiles: object = None,
    progress: Progress | None = None,
    viewer: Viewer | str | None = None,
) -> PackIndex:
    """Write the map pack of a place: place maps, an atlas per locality, tables and an index.

    Parameters
    ----------
    source
        An estate store, the path of one, or a GeoDataFrame of sites.
    place
        A place name or code (see :func:`assetmap.maps.static.resolve_place`),
        such as ``"Kent and Medway"`` or ``"Maidstone"``.
    level
        The atlas level: ``"district"``, ``"lsoa"`` or ``"nhs_area"``, the
        path of a boundary file (wards...), or ``None`` for the level below the
        place (districts for the county or the NHS area, LSOAs for a district
        or an LSOA).
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
    problems: list[str] = []
    resolved = None
    try:
        resolved = resolve_place(place)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    if level is not None and not (
        (isinstance(level, str) and level in _ATLAS_LEVELS)
        or (isinstance(level, (str, os.PathLike)) and Path(level).is_file())
    ):
        problems.append(
            f"level={str(level)!r} is not an atlas level; expected one of: "
            f"{', '.join(_ATLAS_LEVELS)}, or the path of a boundary file (wards, parishes...)"
        )
    _check_format_dpi(format, dpi, problems)
    _check_paper(paper, problems)
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
    try:
        viewer = access.as_viewer(viewer)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    raise_if_any(problems)
    assert resolved is not None and folder is not None and sites is not None

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, min(max(fraction, 0.0), 1.0))

    level = level or {"district": "lsoa", "lsoa": "lsoa"}.get(resolved.level, "district")
    atlas, level_name = _atlas_localities(level, resolved)
    drawn_on = drawn_on or date.today()
    common = {
        "paper": paper,
        "landscape": landscape,
        "drawn_on": drawn_on,
        "tiles": tiles,
        "viewer": viewer,
    }
    index = PackIndex(folder=folder, place=resolved.name, level=level_name)
    total_steps = len(_PLACE_KINDS) + len(atlas) + 2

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the pack becomes an ordinary folder
    try:
        # the disclosure rule, once, before anything is drawn, counted or written
        sites = access.visible_sites(sites, viewer)
        shown = place_sites = sites[in_place(sites, resolved.geometry)]
        report("co-location clusters", 0.0)
        clusters = colocation_clusters(shown, distance=distance, viewer_agency=viewer)
        plan = None
        if requests is not None and len(requests):
            from ..matching import allocate, find_candidates

            _, located = point_coordinates(requests.geometry.to_numpy())
            place_requests = requests[in_place(requests, resolved.geometry) | ~located]
            report("matching surplus space", 0.02)
            plan = allocate(find_candidates(place_requests, shown, viewer_agency=viewer))
        maps_dir = staging / "maps"
        atlas_dir = staging / "atlas"
        tables_dir = staging / "tables"
        for d in (maps_dir, atlas_dir, tables_dir):
            d.mkdir()

        for step, kind in enumerate(_PLACE_KINDS):
            report(f"place map: {kind}", (step + 0.5) / total_steps)
            if kind == "matches" and plan is None:
                index.notes.append("no space requests given: the matches map is left out")
                continue
            built = build_map(
                kind,
                place_sites,
                place=resolved,
                localities=level if kind == "density" else None,
                clusters=clusters if kind == "clusters" else None,
                plan=plan if kind == "matches" else None,
                **common,
            )
            name = f"maps/{step + 1:02d}_{kind}.{format}"
            save_map(built.figure, staging / name, format=format, dpi=dpi)
            index.entries.append(
                PackEntry(name, "map", built.title, resolved.code, resolved.name, built.sites_drawn)
            )
            index.notes.extend(n for n in built.notes if n not in index.notes)

        assignment = assign_localities(place_sites, atlas)
        codes = assignment["locality_code"].to_numpy(dtype=object)
        base = len(_PLACE_KINDS)
        for i, row in enumerate(atlas.itertuples(index=False)):
            report(f"atlas: {row.name} ({i + 1} of {len(atlas)})", (base + i + 0.5) / total_steps)
            page_place = Place(str(row.name), level_name, str(row.code), row.geometry)
            page_sites = place_sites[codes == row.code]
            built = build_map("sites", page_sites, place=page_place, **common)
            name = f"atlas/{i + 1:03d}_{_slug(str(row.code))}_{_slug(str(row.name))}.{format}"
            save_map(built.figure, staging / name, format=format, dpi=dpi)
            index.entries.append(
                PackEntry(
                    name, "atlas", built.title, str(row.code), str(row.name), built.sites_drawn
                )
            )

        report("tables", (total_steps - 1.5) / total_steps)
        _write_tables(index, staging, shown, atlas, level_name, clusters, plan, resolved, viewer)
        write_csv(index.to_frame(), staging / "index.csv")
        report("moving the pack into place", (total_steps - 0.5) / total_steps)
        clashes: list[str] = []
        for target in index.files():
            guard_output(target, store=store_file, name="the pack's file", problems=clashes)
        if clashes:
            raise InvalidArgumentError("; ".join(clashes))
        _move_into_place(staging, folder, index)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report("done", 1.0)
    return index


def _write_tables(index, staging, shown, atlas, level_name, clusters, plan, place, viewer):
    from ..density import density_by_locality, place_summary, write_table

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


def _move_into_place(staging: Path, folder: Path, index: PackIndex) -> None:
    """Move the finished pack from the staging folder into ``folder``, index last."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    for entry in index.entries:
        target = folder / entry.file
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / entry.file, target)
    os.replace(staging / "index.csv", folder / "index.csv")
