"""What a print map is asked for: paper, file format, place and the one options object.

The paper sizes, file formats and resolutions on offer, the named places a map is
drawn for (:func:`resolve_place`), :class:`MapOptions` (every option of
:func:`~assetmap.maps.static.build_map`, written once) and the checks that put
each bad option into words, so that callers can report all of them at once.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ... import places
from ..._validate import one_of
from ...access import Viewer
from ...colocation import DEFAULT_DISTANCE_M, ColocationResult
from ...errors import InvalidArgumentError
from ...files import unwritable_folder
from ...national import LEVELS as NATIONAL_LEVELS
from ...places import Place
from ...settings import TileSetting

__all__ = [
    "DPIS",
    "FORMATS",
    "KIND_NAMES",
    "PAPERS",
    "PLACE_LEVELS",
    "MapFormat",
    "MapOptions",
    "Place",
    "check_common",
    "check_format_dpi",
    "check_output_path",
    "check_paper",
    "check_text",
    "merge_options",
    "option_problems",
    "resolve_place",
]

#: Paper sizes, name -> (width, height) in millimetres, portrait.
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
#: The kinds of map, in the order of :data:`assetmap.maps.static.KINDS`.
KIND_NAMES: tuple[str, ...] = ("sites", "density", "clusters", "matches")


@dataclass(frozen=True)
class MapFormat:
    """How a file format is written.

    Attributes
    ----------
    mime
        The MIME type, for downloads.
    vector
        Whether text and lines stay vector (PDF, SVG) or the page is pixels (PNG).
    metadata
        Metadata handed to matplotlib: no creation date, so files repeat byte for byte.
    """

    mime: str
    vector: bool
    metadata: dict[str, Any]


#: File formats, name -> how it is written.
FORMATS: dict[str, MapFormat] = {
    "png": MapFormat("image/png", False, {"Software": None}),
    "pdf": MapFormat("application/pdf", True, {"CreationDate": None, "ModDate": None}),
    "svg": MapFormat("image/svg+xml", True, {"Date": None}),
}
#: Resolutions offered for PNG (and for the rasterised point layers of PDF and SVG).
DPIS: tuple[int, ...] = (150, 300)
#: Levels searched for a place name, top to bottom (see :func:`assetmap.places.resolve_place`):
#: the national levels, after the bundled Kent and Medway outline.
PLACE_LEVELS: tuple[str, ...] = ("county", *NATIONAL_LEVELS)


# --------------------------------------------------------------------------- places


def resolve_place(name: object, *, store: Any = None, level: str | None = None) -> Place:
    """Find a place by name or code: any place in England and Wales, or one the store keeps.

    The search is :func:`assetmap.places.resolve_place`'s: a district
    ("Trafford", "Maidstone"), an integrated care board, a sub-ICB location or
    Welsh health board, a country, an LSOA ("Maidstone 001A"), an ONS code
    ("E08000009"), "Kent and Medway" (the bundled county outline), a postcode
    (its district), and, with ``store``, a place saved in it ("Greater
    Manchester") or an area of a boundary set kept in it. Names are compared
    without regard to case or spacing.

    Parameters
    ----------
    name
        A place name or code, or a :class:`Place` (returned as it is); any
        other value is refused with a message naming it.
    store
        The estate store whose saved places and boundary sets are searched too
        (``None``: the national and bundled places only).
    level
        Search only this level (``None``: every level, top to bottom).

    Returns
    -------
    Place

    Raises
    ------
    InvalidArgumentError
        If no place has that name or code; the message lists close matches.

    Examples
    --------
    >>> resolve_place("Trafford").level  # doctest: +SKIP
    'district'
    """
    return places.resolve_place(name, store=store, level=level)


# --------------------------------------------------------------------------- the options


# eq=False: it holds data frames, which have no single truth value to compare by.
@dataclass(frozen=True, eq=False, kw_only=True)
class MapOptions:
    """Every option of a print map, in one place (the file's format and dpi apart).

    :func:`~assetmap.maps.static.build_map`, ``render_map`` and ``map_bytes``
    take one of these, and also each field by name as a shorthand (``place=...``)
    for a copy with that field changed. Values are checked when the map is
    drawn, every bad one named in one error.

    Attributes
    ----------
    place
        A place name or code (see :func:`resolve_place`), a :class:`Place`, or
        ``None`` for every site given (the map fits them).
    localities
        The boundaries drawn as the basemap and, for density maps, the
        localities counted: a level name (a national level such as
        ``"district"`` or ``"lsoa"``, ``"county"``, or ``"boundary set
        <name>"`` kept in ``store``), a boundary file path or a GeoDataFrame
        with ``code`` and ``name``. Default: the place's sublevel, the level
        below it (districts for a county or an ICB, LSOAs for a district).
    requests
        Space requests, needed by ``kind="matches"`` unless ``plan`` is given.
    paper
        One of :data:`PAPERS`.
    landscape
        Landscape instead of portrait.
    title, subtitle
        Texts at the top; by default the kind and place, and the place, the
        date drawn and the date of the data.
    inset
        Draw the locator inset: the place within its country or its
        integrated care board (:attr:`assetmap.places.Place.context`).
    drawn_on
        The date in the subtitle (default today).
    metric, per, scheme, k, bins, population
        For density maps, as for
        :meth:`assetmap.density.LocalityDensity.choropleth`.
    distance
        For cluster maps, the walking distance of co-location in metres.
    include_approximate
        For cluster and matches maps, whether sites (and requests) placed only
        approximately, at the centre of a postcode district or sector, take part
        in co-location and matching (default ``False``: they are left out, and
        the legend and notes say how many).
    clusters
        For cluster maps, a ready :class:`assetmap.colocation.ColocationResult`.
    plan
        For matches maps, a ready :class:`assetmap.matching.AllocationPlan`.
    tiles
        A :class:`assetmap.settings.TileSetting` or an XYZ URL template for
        background tiles, drawn only if the server answers; ``None`` for none.
    viewer
        Who is looking (:class:`assetmap.access.Viewer` or an agency's name),
        whose own restricted sites are drawn (default ``None``: none are).
    store
        The estate store whose saved places and boundary sets ``place`` and
        ``localities`` may name (default ``None``: national places only).

    Examples
    --------
    >>> options = MapOptions(place="Maidstone", paper="A3", landscape=True)
    >>> options.paper, options.inset
    ('A3', True)
    """

    place: str | Place | None = None
    localities: str | os.PathLike[str] | gpd.GeoDataFrame | None = None
    requests: gpd.GeoDataFrame | None = None
    paper: str = "A4"
    landscape: bool = False
    title: str | None = None
    subtitle: str | None = None
    inset: bool = True
    drawn_on: date | None = None
    metric: str = "sites"
    per: str = "km2"
    scheme: str = "quantiles"
    k: int = 5
    bins: list[float] | None = None
    population: pd.DataFrame | None = None
    distance: float = DEFAULT_DISTANCE_M
    include_approximate: bool = False
    clusters: ColocationResult | None = None
    plan: Any = None
    tiles: TileSetting | str | None = None
    viewer: Viewer | str | None = None
    store: Any = None


_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(MapOptions))


def merge_options(options: object, changes: dict[str, Any], problems: list[str]) -> MapOptions:
    """Return ``options`` with ``changes`` made, adding a problem for each that cannot be.

    Parameters
    ----------
    options
        A :class:`MapOptions`, or ``None`` for the defaults.
    changes
        Fields of :class:`MapOptions` by name, with their new values.
    problems
        Receives a problem for an ``options`` that is not a MapOptions, and for
        each name that is not a field.

    Returns
    -------
    MapOptions
    """
    if options is None:
        options = MapOptions()
    elif not isinstance(options, MapOptions):
        problems.append(
            f"options is a {type(options).__name__}; expected assetmap.maps.static.MapOptions "
            "or None"
        )
        options = MapOptions()
    for name in changes:
        if name not in _OPTION_NAMES:
            problems.append(one_of("option", name, _OPTION_NAMES, what="a map option"))
    known = {name: value for name, value in changes.items() if name in _OPTION_NAMES}
    return dataclasses.replace(options, **known) if known else options


# --------------------------------------------------------------------------- checks


def check_common(
    kind: object, paper: object, landscape: object, inset: object, problems: list[str]
) -> None:
    """Add a problem for a kind, paper or flag that cannot be used."""
    if kind not in KIND_NAMES:
        problems.append(one_of("kind", kind, KIND_NAMES, what="a map kind"))
    check_paper(paper, problems)
    if not isinstance(landscape, bool):
        problems.append(f"landscape={landscape!r} is not valid; expected True or False")
    if not isinstance(inset, bool):
        problems.append(f"inset={inset!r} is not valid; expected True or False")


def check_paper(paper: object, problems: list[str]) -> None:
    """Add a problem if ``paper`` is not one of :data:`PAPERS`."""
    if paper not in PAPERS:
        problems.append(one_of("paper", paper, PAPERS, what="a paper size"))


def check_text(name: str, value: object, problems: list[str]) -> None:
    """Add a problem if ``value`` is neither ``None`` nor a text."""
    if value is not None and not isinstance(value, str):
        problems.append(f"{name}={value!r} is not valid; expected None or a text")


def check_format_dpi(fmt: object, dpi: object, problems: list[str]) -> None:
    """Add a problem for a file format or a dpi that is not on offer."""
    if fmt not in FORMATS:
        problems.append(one_of("format", fmt, FORMATS, what="a map file format"))
    if isinstance(dpi, bool) or dpi not in DPIS:
        problems.append(one_of("dpi", dpi, DPIS))


def option_problems(
    *,
    kind: object = "sites",
    paper: object = "A4",
    format: object = "png",
    dpi: object = 300,
    place: object = None,
    store: Any = None,
) -> list[str]:
    """Return every problem with these map options, in words (none when all is well).

    Faces (the command line, the app) call this before loading an estate, so a
    bad option is reported at once, with every other bad option.

    Parameters
    ----------
    kind, paper, format, dpi
        As for :func:`~assetmap.maps.static.render_map` and ``save_map``.
    place
        A place name to resolve with :func:`resolve_place`, or ``None``.
    store
        The store whose saved places and boundary sets ``place`` may name.

    Returns
    -------
    list of str
    """
    problems: list[str] = []
    check_common(kind, paper, False, True, problems)
    check_format_dpi(format, dpi, problems)
    if place is not None:
        try:
            resolve_place(place, store=store)
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    return problems


def check_output_path(name: str, path: str | os.PathLike[str], problems: list[str]) -> Path:
    """Check that a map file can be written at ``path``; add a problem if not.

    The nearest existing folder above ``path`` must be a writable folder (missing
    folders below it are created when the file is written). The store's own
    files are guarded apart, by :func:`assetmap.files.guard_output`.

    Parameters
    ----------
    name
        How the caller named the path (``"--out"``, ``"target"``).
    path
        The map file to be written.
    problems
        Where a problem with it is added.

    Returns
    -------
    pathlib.Path
        ``path`` as a Path.
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        problems.append(f"{name} {str(path)!r} is a folder; expected the path of a file to write")
        return path
    folder, why = unwritable_folder(path.parent)
    if why == "not a folder":
        problems.append(
            f"{name} {str(path)!r} cannot be written: {str(folder)!r} is a file, not a folder; "
            "expected a path in a writable folder"
        )
    elif why == "not writable":
        problems.append(
            f"{name} {str(path)!r} cannot be written: the folder {str(folder)!r} is not "
            "writable; expected a path in a writable folder"
        )
    return path
