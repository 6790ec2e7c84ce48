"""The bundled sample estate: deterministic, complete, at real postcodes, faults as listed."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from pyproj import Transformer

from assetmap.postcodes import PostcodeDirectory
from assetmap.schema import SECTORS

SAMPLE = Path(__file__).resolve().parent.parent / "sample_estates"
REGISTER_SUFFIXES = {".csv", ".xlsx", ".geojson", ".gpkg", ".zip"}
#: Files compared byte for byte with a fresh run of the generator.
BYTE_EXACT = [
    "kent_police_estate.csv",
    "kent_fire_rescue_stations.csv",
    "dwp_jobcentres_kent.csv",
    "nhs_kent_medway_estate.xlsx",
    "kent_county_council_assets.geojson",
    "medway_council_land_building_assets.csv",
    "tunbridge_wells_borough_council_assets.csv",
    "ashford_borough_council_assets.xlsx",
    "space_requests.csv",
    "manifest.toml",
    "FAULTS.md",
]
#: Spatial files: compared by content (GDAL versions may lay out bytes differently).
SPATIAL = ["maidstone_borough_council_assets.gpkg", "canterbury_city_council_assets.zip"]
KENT_AND_MEDWAY = {f"E070001{n:02d}" for n in range(5, 17)} | {"E06000035"}

#: How to read each site register, and which column holds its postcode.
SITE_REGISTERS: dict[str, dict] = {
    "kent_police_estate.csv": {"postcode": "Postcode"},
    "kent_fire_rescue_stations.csv": {"postcode": "STATION_POSTCODE"},
    "dwp_jobcentres_kent.csv": {"postcode": "Post Code", "sep": ";", "encoding": "cp1252"},
    "nhs_kent_medway_estate.xlsx": {"postcode": "Postcode", "sheet": "Estate"},
    "kent_county_council_assets.geojson": {"postcode": "PostCode"},
    "medway_council_land_building_assets.csv": {"postcode": "PostCode"},
    "maidstone_borough_council_assets.gpkg": {"postcode": "PostCode", "layer": "assets"},
    "canterbury_city_council_assets.zip": {"postcode": "POSTCODE"},
    "tunbridge_wells_borough_council_assets.csv": {
        "postcode": "Postcode",
        "sep": "\t",
        "encoding": "utf-8-sig",
    },
    "ashford_borough_council_assets.xlsx": {
        "postcode": "Postcode",
        "sheet": "Land and Buildings",
        "header": 2,
    },
}
#: Floor area column of each register, for the surplus check.
AREA_COLUMNS = {
    "kent_police_estate.csv": "GIA (sq ft)",
    "nhs_kent_medway_estate.xlsx": "Gross Internal Area (m2)",
}


def read(name: str) -> pd.DataFrame:
    """Read a sample register as its publisher's readers would, values as text where tabular."""
    path = SAMPLE / name
    how = SITE_REGISTERS.get(name, {})
    if path.suffix == ".csv":
        return pd.read_csv(
            path,
            sep=how.get("sep", ","),
            encoding=how.get("encoding", "utf-8"),
            dtype=str,
            keep_default_na=False,
        )
    if path.suffix == ".xlsx":
        return pd.read_excel(
            path, sheet_name=how["sheet"], header=how.get("header", 0), engine="openpyxl"
        )
    return pyogrio.read_dataframe(path, layer=how.get("layer"))


def is_spatial(name: str) -> bool:
    return Path(name).suffix in (".geojson", ".gpkg", ".zip")


@pytest.fixture(scope="module")
def generator():
    """The generator script, loaded as a module."""
    spec = importlib.util.spec_from_file_location("sample_generate", SAMPLE / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def generated(generator, tmp_path_factory) -> Path:
    """A fresh run of the generator into a temporary folder."""
    out = tmp_path_factory.mktemp("sample_estate")
    assert generator.main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def directory() -> PostcodeDirectory:
    return PostcodeDirectory()


@pytest.fixture(scope="module")
def faults() -> pd.DataFrame:
    text = (SAMPLE / "FAULTS.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\S+\.\w+) \| (\d+) \| (\w+) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    return pd.DataFrame(rows, columns=["file", "row", "reason", "column", "fault"]).astype(
        {"row": int}
    )


@pytest.fixture(scope="module")
def bad_postcodes() -> list[str]:
    text = (SAMPLE / "FAULTS.md").read_text(encoding="utf-8")
    line = re.search(r"^Bad postcodes used on purpose: (.+)\.$", text, re.M)
    return [p.strip() for p in line.group(1).split(",")]


def test_generator_is_deterministic(generated):
    for name in BYTE_EXACT:
        assert (generated / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    for name in SPATIAL:
        fresh = pyogrio.read_dataframe(generated / name, layer=SITE_REGISTERS[name].get("layer"))
        committed = read(name)
        pd.testing.assert_frame_equal(
            pd.DataFrame(fresh.drop(columns="geometry")),
            pd.DataFrame(committed.drop(columns="geometry")),
        )
        assert fresh.geometry.geom_equals(committed.geometry).all()
        assert fresh.crs.to_epsg() == 27700


def test_manifest_lists_every_register():
    manifest = tomllib.loads((SAMPLE / "manifest.toml").read_text(encoding="utf-8"))
    entries = manifest["register"]
    listed = [e["file"] for e in entries]
    on_disk = sorted(p.name for p in SAMPLE.iterdir() if p.suffix in REGISTER_SUFFIXES)
    assert sorted(listed) == on_disk
    assert len(set(listed)) == len(listed)
    for entry in entries:
        assert set(entry) <= {"file", "kind", "agency", "sector", "layer", "profile"}, entry
        assert entry["kind"] in ("sites", "requests"), entry
        if entry["kind"] == "sites":
            assert entry["agency"] and entry["sector"] in SECTORS, entry
    kinds = {e["file"]: e["kind"] for e in entries}
    assert kinds["space_requests.csv"] == "requests"
    assert set(SITE_REGISTERS) == {f for f, k in kinds.items() if k == "sites"}
    nhs = next(e for e in entries if e["file"] == "nhs_kent_medway_estate.xlsx")
    assert nhs["agency"] == "NHS Kent and Medway" and nhs["layer"] == "Estate"


def test_at_least_1500_site_rows():
    counts = {name: len(read(name)) for name in SITE_REGISTERS}
    assert all(n >= 40 for n in counts.values()), counts
    assert sum(counts.values()) >= 1500, counts


def test_postcodes_are_real_and_cover_kent_and_medway(directory, bad_postcodes):
    used = pd.concat(
        [
            read(name)[how["postcode"]].fillna("").astype(str)
            for name, how in SITE_REGISTERS.items()
        ],
        ignore_index=True,
    )
    used = used[used.str.strip() != ""]
    found = directory.lookup(used)
    missing = sorted(set(used[~found["found"].to_numpy()]))
    assert missing == sorted(bad_postcodes)
    districts = set(found.loc[found["found"], "district"])
    assert districts == KENT_AND_MEDWAY


def test_every_register_is_in_its_own_shape():
    raw = (SAMPLE / "dwp_jobcentres_kent.csv").read_bytes()
    assert b"\xa3" in raw and b";" in raw.split(b"\r\n")[0]  # cp1252 pound sign, semicolons
    tw = (SAMPLE / "tunbridge_wells_borough_council_assets.csv").read_bytes()
    assert tw.startswith(b"\xef\xbb\xbf") and b"\t" in tw.split(b"\n")[0]
    assert read("tunbridge_wells_borough_council_assets.csv")["WKT"].str.startswith("POINT (").sum()
    medway = read("medway_council_land_building_assets.csv")
    assert list(medway.columns) == [
        "OrganisationLabel", "OrganisationURI", "EffectiveDate", "UPRN", "AssetCode",
        "PropertyName", "StreetNumber", "StreetName", "PostTown", "PostCode",
        "CoordinateReferenceSystem", "GeoX", "GeoY", "TenureType", "TenureDetail", "OtherDetail",
        "HoldingType", "BuildingSize", "LandArea", "EnergyRating",
    ]  # fmt: skip
    assert medway["UPRN"].str.startswith("0").any()
    assert medway["TenureType"].str.endswith(" ").any()
    kcc = read("kent_county_council_assets.geojson")
    assert kcc.crs.to_epsg() == 4326
    assert 40 <= (kcc.geom_type == "Polygon").sum() <= 60
    assert (kcc["TenureDetail"] == "Vacant").sum() >= 3
    police = read("kent_police_estate.csv")
    assert police["Annual running cost"].str.match(r"^£\d{1,3}(,\d{3})*$").all()
    assert (police["Security Classification"] == "OFFICIAL-SENSITIVE").sum() >= 2
    with zipfile.ZipFile(SAMPLE / "canterbury_city_council_assets.zip") as zf:
        suffixes = {Path(n).suffix for n in zf.namelist()}
    assert suffixes == {".shp", ".shx", ".dbf", ".prj", ".cpg"}


def _to_bng(lon, lat):
    return Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat)


def test_total_place_offer_and_request(directory):
    police = read("kent_police_estate.csv")
    offer = police[police["Vacant space (sq ft)"] == "40000"]
    assert len(offer) == 1
    offer = offer.iloc[0]
    assert 90_000 <= int(offer["GIA (sq ft)"]) <= 100_000
    assert offer["Property type"] == "Office"
    requests = read("space_requests.csv")
    assert 25 <= len(requests) <= 40
    ask = requests[requests["Space needed (sq ft)"] == "40000"]
    assert len(ask) == 1
    ask = ask.iloc[0]
    assert ask["Requesting agency"] == "Kent Community Health NHS Foundation Trust"
    assert ask["Sector"] == "health" and ask["Use"] == "Office"
    assert ask["Max distance (m)"] == "10000" and ask["Needed by"].startswith("2027")
    where = directory.lookup(pd.Series([ask["Postcode"], offer["Postcode"]]))
    assert where["found"].all()
    site_e, site_n = _to_bng(float(offer["Longitude"]), float(offer["Latitude"]))
    e, n = where["easting"].to_numpy(), where["northing"].to_numpy()
    assert 2_000 <= np.hypot(e[0] - site_e, n[0] - site_n) <= 5_000
    assert 2_000 <= np.hypot(e[0] - e[1], n[0] - n[1]) <= 5_000


def test_civic_sites_cluster_across_agencies():
    police = read("kent_police_estate.csv")
    e, n = _to_bng(police["Longitude"].astype(float), police["Latitude"].astype(float))
    points = [pd.DataFrame({"file": "police", "e": e, "n": n})]
    kcc = read("kent_county_council_assets.geojson").to_crs(27700)
    kcc = kcc[kcc.geometry.notna()].geometry.representative_point()
    points.append(pd.DataFrame({"file": "kcc", "e": kcc.x, "n": kcc.y}))
    nhs = read("nhs_kent_medway_estate.xlsx")
    e, n = _to_bng(nhs["Longitude"].to_numpy(), nhs["Latitude"].to_numpy())
    points.append(pd.DataFrame({"file": "nhs", "e": e, "n": n}))
    pts = pd.concat(points, ignore_index=True)
    pts = pts[(pts["e"] > 500_000) & (pts["n"] > 100_000)]
    xy = pts[["e", "n"]].to_numpy()
    near = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) <= 400
    files = pts["file"].to_numpy()
    # police sites with both a council and an NHS site within 400 m
    grouped = [
        i for i in np.flatnonzero(files == "police") if {"kcc", "nhs"} <= set(files[near[i]])
    ]
    assert len(grouped) >= 10


REASONS = {
    "missing_location",
    "postcode_not_found",
    "latlon_swapped",
    "negative_area",
    "non_numeric_area",
    "surplus_exceeds_area",
    "duplicate",
    "outside_gb",
}


def test_faults_are_listed_and_present(faults, bad_postcodes):
    assert set(faults["reason"]) == REASONS
    assert faults["file"].nunique() >= 8
    total = sum(len(read(name)) for name in SITE_REGISTERS)
    assert 0.005 <= len(faults) / total <= 0.02
    for fault in faults.itertuples():
        frame = read(fault.file)
        i = fault.row - (1 if is_spatial(fault.file) else 2)
        column = fault.column.strip()
        value = frame.iloc[i][column] if column in frame else None
        where = f"{fault.file} row {fault.row}: {fault.reason}"
        if fault.reason == "duplicate":
            assert value in set(frame[column].iloc[:i]), where
        elif fault.reason == "latlon_swapped":
            assert float(value) < 2 and float(frame.iloc[i]["Longitude"]) > 49, where
        elif fault.reason == "negative_area":
            assert float(value) < 0, where
        elif fault.reason == "non_numeric_area":
            assert value == "TBC", where
        elif fault.reason == "surplus_exceeds_area":
            assert float(value) > float(frame.iloc[i][AREA_COLUMNS[fault.file]]), where
        elif fault.reason == "postcode_not_found":
            postcode = frame.iloc[i][SITE_REGISTERS[fault.file]["postcode"]]
            assert postcode in bad_postcodes, where
        elif fault.reason == "outside_gb":
            assert float(value) == 0, where
        elif fault.reason == "missing_location":
            row = frame.iloc[i]
            postcode = row[SITE_REGISTERS[fault.file]["postcode"]]
            assert pd.isna(postcode) or postcode == "", where
            if is_spatial(fault.file):
                assert row.geometry is None, where
            else:
                assert row["GeoX"] == "" and row["GeoY"] == "", where


def test_sample_is_small():
    assert sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file()) < 3_000_000


# --------------------------------------------------------------------------- Trafford
#
# The second sample place, outside Kent: Trafford (Greater Manchester), so that tests
# catch anything that stays Kent-only by accident.

TRAFFORD = SAMPLE / "trafford"
TRAFFORD_CODE = "E08000009"
#: Trafford's site registers and the column holding each one's postcode.
TRAFFORD_SITES = {
    "trafford_council_land_assets.csv": "PostCode",
    "gmp_trafford_estate.csv": "Postcode",
    "gmfrs_trafford_stations.csv": "STATION_POSTCODE",
    "dwp_jobcentres_trafford.csv": "Post Code",
    "nhs_trafford_estate.xlsx": "Postcode",
}


def read_trafford(name: str) -> pd.DataFrame:
    path = TRAFFORD / name
    if path.suffix == ".xlsx":
        return pd.read_excel(path, sheet_name="Estate", engine="openpyxl", dtype=str)
    if name.startswith("dwp_"):
        return pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def trafford_generated(generator, tmp_path_factory) -> Path:
    """A fresh run of the generator for Trafford into a temporary folder."""
    out = tmp_path_factory.mktemp("trafford_estate")
    assert generator.main(["--place", "trafford", "--out", str(out)]) == 0
    return out


def test_trafford_generator_is_deterministic(trafford_generated):
    committed = sorted(p.name for p in TRAFFORD.iterdir() if p.name != "README.md")
    assert sorted(p.name for p in trafford_generated.iterdir()) == committed
    assert len(committed) == 8  # five site registers, requests, manifest, the Total Place note
    for name in committed:
        assert (trafford_generated / name).read_bytes() == (TRAFFORD / name).read_bytes(), name


def test_the_generator_draws_trafford_from_its_own_tables(generator):
    area = generator.SAMPLES["trafford"].area
    assert area.districts == {TRAFFORD_CODE: "Trafford"}
    assert generator.SAMPLES["kent"].area.districts == generator.KENT_MEDWAY_DISTRICTS
    kentish = {"Maidstone Road", "Canterbury Road", "Oast House", "Weald", "Medway Valley Park"}
    assert not kentish & {*area.streets, *area.prefixes, *area.estates}


def test_trafford_manifest_lists_its_registers_of_five_bodies():
    entries = tomllib.loads((TRAFFORD / "manifest.toml").read_text(encoding="utf-8"))["register"]
    listed = {e["file"]: e for e in entries}
    on_disk = {p.name for p in TRAFFORD.iterdir() if p.suffix in REGISTER_SUFFIXES}
    assert set(listed) == on_disk == {*TRAFFORD_SITES, "space_requests.csv"}
    sites = [e for e in entries if e["kind"] == "sites"]
    assert {e["agency"] for e in sites} == {
        "Trafford Council",
        "Greater Manchester Police",
        "Greater Manchester Fire and Rescue Service",
        "Department for Work and Pensions",
        "NHS Greater Manchester",
    }
    assert {e["sector"] for e in sites} == {"council", "police", "fire", "dwp", "health"}
    assert listed["space_requests.csv"] == {"file": "space_requests.csv", "kind": "requests"}
    assert listed["nhs_trafford_estate.xlsx"]["layer"] == "Estate"


def test_trafford_registers_come_in_the_kent_samples_shapes():
    council = read_trafford("trafford_council_land_assets.csv")
    assert list(council.columns) == list(read("medway_council_land_building_assets.csv").columns)
    assert (council["GeoX"] != "").all() and (council["TenureDetail"] == "Vacant").sum() >= 3
    police = read_trafford("gmp_trafford_estate.csv")
    assert {"Latitude", "Longitude"} <= set(police.columns)
    assert 1 <= (police["Security Classification"] == "OFFICIAL-SENSITIVE").sum() <= 5
    assert (police["Lease expiry"] != "").any() and (police["Vacant space (sq ft)"] != "").any()
    dwp = read_trafford("dwp_jobcentres_trafford.csv")
    assert not {"Latitude", "Easting", "GeoX"} & set(dwp.columns)  # postcodes only
    assert b"\xa3" in (TRAFFORD / "dwp_jobcentres_trafford.csv").read_bytes()
    nhs = read_trafford("nhs_trafford_estate.xlsx")
    assert (nhs["Site type"] == "GP surgery").sum() >= 20
    assert "Manchester University NHS Foundation Trust" in set(nhs["Organisation"])
    counts = {name: len(read_trafford(name)) for name in TRAFFORD_SITES}
    assert 100 <= sum(counts.values()) <= 150, counts


def test_trafford_postcodes_are_real_and_all_in_trafford(directory):
    used = pd.concat(
        [read_trafford(name)[column] for name, column in TRAFFORD_SITES.items()]
        + [read_trafford("space_requests.csv")["Postcode"]],
        ignore_index=True,
    )
    assert (used.str.strip() != "").all()
    found = directory.lookup(used)
    assert found["found"].all(), sorted(set(used[~found["found"].to_numpy()]))
    assert set(found["district"]) == {TRAFFORD_CODE}
    # Spread over the district, not piled in one corner: at least eight outward codes.
    assert used.str.split().str[0].nunique() >= 8


def test_trafford_sites_stand_at_their_postcodes(directory):
    council = read_trafford("trafford_council_land_assets.csv")
    where = directory.lookup(council["PostCode"])
    gap = np.hypot(
        council["GeoX"].astype(float) - where["easting"],
        council["GeoY"].astype(float) - where["northing"],
    )
    assert gap.max() <= 45  # within 40 m of the centroid, rounded to the metre
    police = read_trafford("gmp_trafford_estate.csv")
    e, n = _to_bng(police["Longitude"].astype(float), police["Latitude"].astype(float))
    where = directory.lookup(police["Postcode"])
    assert np.hypot(e - where["easting"], n - where["northing"]).max() <= 45
