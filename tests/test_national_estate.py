"""The generated national estate (``sample_estates/national.py``): registers and store."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from assetmap.access import visible_sites
from assetmap.errors import InvalidArgumentError
from assetmap.postcodes import default_directory
from assetmap.store import open_store
from sample_estates.national import (
    JITTER_M,
    MAIDSTONE,
    MAIDSTONE_CENTRE,
    MARKER,
    SECTOR_SHARES,
    build_national_store,
    main,
    marker_site,
    national_registers,
)

N = 5_000


@pytest.fixture(scope="module")
def registers() -> list[dict]:
    return national_registers(N)


@pytest.fixture(scope="module")
def rows(registers) -> pd.DataFrame:
    """Every register's rows, with its sector."""
    frames = []
    for reg in registers:
        frame = pd.read_csv(io.BytesIO(reg["data"]), dtype={"Postcode": str}, keep_default_na=False)
        frame["sector"] = reg["sector"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_the_same_seed_gives_the_same_registers(registers):
    again = national_registers(N)
    assert [r["data"] for r in again] == [r["data"] for r in registers]
    other = national_registers(N, seed=19)
    assert [r["data"] for r in other] != [r["data"] for r in registers]


def test_every_site_is_near_a_real_postcode_of_england_or_wales(rows):
    found = default_directory().lookup(rows["Postcode"])
    assert found["found"].all()
    assert found["district"].str.match(r"^[EW]\d{8}$").all()
    gap = np.hypot(rows["Easting"] - found["easting"], rows["Northing"] - found["northing"])
    assert (gap <= JITTER_M + 0.1).all()
    # the jitter spreads sites at one postcode: few share a point
    assert rows[["Easting", "Northing"]].duplicated().sum() < N / 100
    # and the estate covers the country: hundreds of districts, both countries
    assert found["district"].nunique() > 250
    assert set(found["district"].str[0]) == {"E", "W"}


def test_sector_shares_and_agencies(registers, rows):
    assert [r["sector"] for r in registers] == list(SECTOR_SHARES)
    assert len(rows) == N
    shares = rows["sector"].value_counts(normalize=True)
    for sector, share in SECTOR_SHARES.items():
        assert shares[sector] == pytest.approx(share, abs=0.005), sector
    agencies = rows.groupby("sector")["Organisation Name"].nunique()
    assert 200 < agencies["council"] <= 318
    assert 35 <= agencies["health"] <= 49
    assert 35 <= agencies["police"] <= 43
    assert 35 <= agencies["fire"] <= 45
    assert agencies["dwp"] == 1
    assert 40 <= agencies["other"] <= 50
    council = rows[rows["sector"] == "council"]
    assert council["Organisation Name"].str.endswith(" Council").all()
    assert rows["Asset ref"].is_unique
    restricted = (rows["Sensitivity"] == "restricted").mean()
    assert 0.001 < restricted < 0.015
    assert 0.5 < (rows["Annual running cost"] != "").mean() < 0.7
    assert 0.02 < (rows["Vacant space (sq ft)"] != "").mean() < 0.08


def test_the_maidstone_marker_site_is_a_restricted_police_site(rows):
    site = marker_site()
    marked = rows[rows["Property name"].str.contains(MARKER)]
    assert len(marked) == 1
    row = marked.iloc[0]
    assert row["Property name"] == site["name"]
    assert row["Sensitivity"] == site["sensitivity"] == "restricted"
    assert row["sector"] == site["sector"] == "police"
    assert row["Organisation Name"] == site["agency"]
    assert not site["agency"].endswith("Council")
    found = default_directory().lookup(pd.Series([row["Postcode"]]))
    assert found["district"].iloc[0] == site["district"] == MAIDSTONE
    centre = np.hypot(site["easting"] - MAIDSTONE_CENTRE[0], site["northing"] - MAIDSTONE_CENTRE[1])
    assert centre < 500
    assert (row["Easting"], row["Northing"]) == (site["easting"], site["northing"])
    # it is there whatever the seed and size
    small = national_registers(50, seed=3)
    assert site["name"].encode() in next(r["data"] for r in small if r["sector"] == "police")


def test_the_store_takes_every_row(tmp_path, registers):
    path = tmp_path / "national.gpkg"
    stages = []
    result = build_national_store(path, N, progress=lambda stage, done: stages.append(stage))
    assert result["rejected"] == 0
    assert result["stored"] == {r["sector"]: r["rows"] for r in registers}
    assert result["sites"] == N
    assert stages[-1] == "done" and "national_police_sites.csv" in stages
    assert sorted(p.name for p in tmp_path.iterdir()) == ["national.gpkg"]  # nothing left over
    sites = open_store(path).sites()
    assert len(sites) == N
    marker = sites[sites["name"] == marker_site()["name"]]
    assert marker["sensitivity"].tolist() == ["restricted"]
    assert marker["agency"].tolist() == [marker_site()["agency"]]
    assert marker_site()["name"] not in set(visible_sites(sites, "Maidstone Council")["name"])
    assert marker_site()["name"] in set(visible_sites(sites, marker_site()["agency"])["name"])


def test_the_command_builds_a_store(tmp_path, capsys):
    path = tmp_path / "small.gpkg"
    assert main([str(path), "--sites", "200", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "200 sites stored" in out and "0 rows rejected" in out
    assert len(open_store(path).sites()) == 200


def test_a_store_is_not_built_over_a_file_or_from_a_bad_size(tmp_path):
    path = tmp_path / "there.gpkg"
    path.write_bytes(b"keep me")
    with pytest.raises(
        InvalidArgumentError,
        match=r"there\.gpkg' already exists: give the name of a new store file, or remove it; "
        r"n=0 is not valid; expected a whole number of sites, 1 or more; "
        r"seed=-1 is not valid; expected a whole number, 0 or more$",
    ):
        build_national_store(path, 0, seed=-1)
    assert path.read_bytes() == b"keep me"
    with pytest.raises(InvalidArgumentError, match=r"^n=2\.5 is not valid; expected a whole"):
        national_registers(2.5)
