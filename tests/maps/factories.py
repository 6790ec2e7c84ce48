"""Synthetic site tables for map and app tests: random points in Kent, EPSG:27700."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.schema import CRS_BNG, SECTORS, SITE_COLUMNS

#: A name that would run script if any layer put it into HTML unescaped.
HOSTILE_NAME = "<img src=x onerror=window.__xss=1> ${alert(1)} `backtick` </script>"
HOSTILE_AGENCY = "Agency <b>&</b> ${x} `y`"

_AGENCIES = {
    "police": "Kent Police",
    "health": "Kent and Medway NHS Trust",
    "dwp": "Department for Work and Pensions",
    "council": "Maidstone Borough Council",
    "fire": "Kent Fire and Rescue Service",
    "other": "Other Body",
}


def make_sites(n: int = 300, *, seed: int = 0, hostile: bool = False) -> gpd.GeoDataFrame:
    """Return ``n`` sites with the canonical columns at random points around Maidstone.

    With ``hostile``, the first site's name and agency are script-injection attempts.
    """
    rng = np.random.default_rng(seed)
    easting = rng.uniform(560_000, 600_000, n)
    northing = rng.uniform(130_000, 170_000, n)
    sectors = np.array(SECTORS)[np.arange(n) % len(SECTORS)]
    frame = pd.DataFrame(
        {
            name: pd.Series([""] * n, dtype="str")
            if dtype == "str"
            else pd.Series(np.zeros(n), dtype=dtype)
            for name, dtype in SITE_COLUMNS.items()
        }
    )
    frame["site_id"] = [f"T-{i:05d}" for i in range(n)]
    frame["sector"] = sectors
    frame["agency"] = [_AGENCIES[s] for s in sectors]
    frame["name"] = [f"Test site {i}" for i in range(n)]
    frame["address"] = [f"{i} High Street, Maidstone" for i in range(n)]
    frame["postcode"] = "ME14 1XX"
    frame["use"] = "Office"
    frame["use_class"] = "office"
    frame["tenure"] = "freehold"
    frame["floor_area_sqft"] = rng.uniform(500, 50_000, n).round()
    frame["sensitivity"] = "open"
    frame["location_source"] = "easting/northing"
    frame["source_file"] = "test_register.csv"
    frame["source_sha256"] = "0" * 64
    frame["source_row"] = np.arange(2, n + 2, dtype="int64")
    frame["imported_at"] = "2025-01-01T00:00:00+00:00"
    if hostile and n:
        frame.loc[0, "name"] = HOSTILE_NAME
        frame.loc[0, "agency"] = HOSTILE_AGENCY
        frame.loc[0, "address"] = "<script>window.__xss=2</script>"
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(easting, northing), crs=CRS_BNG)
