"""Check every row of a register of space requests and split it into requests and quarantine.

A request needs an agency, the space needed, and somewhere: a point, a postcode
or a locality. Each input row ends either among the canonical requests or in the
quarantine, where each fault has its own row.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..schema import APPROXIMATE, CRS_BNG, classify_use, precision_from_source
from .columns import ColumnMap
from .fields import date_field, resolve_agency_sector, sector_note, sensitivity_field
from .ids import hex_ids, key_hashes, norm_key
from .locate import Located
from .quarantine import Collector, flag_duplicates
from .site_checks import approximate_note
from .text import cell_text
from .values import parse_area, parse_numbers

__all__ = ["check_requests"]


def check_requests(
    table: pd.DataFrame,
    row_numbers: np.ndarray,
    cmap: ColumnMap,
    located: Located,
    *,
    agency: str | None = None,
    sector: str | None = None,
    default_distance_m: float = 10_000.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Check a register of space requests and build canonical rows.

    A request needs an agency, the space needed, and somewhere: a point, a
    postcode or a locality. Without a maximum distance, ``default_distance_m``
    applies (and the report says so).

    Parameters
    ----------
    table, row_numbers, cmap, located, agency, sector
        The register, its rows' numbers, its columns, its rows' locations and
        the labels given for every row, as for
        :func:`~assetmap.registers.site_checks.check_sites`.
    default_distance_m
        The maximum distance, in metres, of a request that gives none.

    Returns
    -------
    requests, quarantine, notes
        Canonical requests (without provenance columns, which the importer adds),
        the quarantine rows, and notes for the import report.
    """
    table = table.reset_index(drop=True)
    notes: list[str] = list(located.notes)
    col = Collector(len(table))
    locality = cell_text(table, cmap.column("locality"))
    for p in located.problems:
        if p.code == "missing_location":
            p.mask = p.mask & (locality == "").to_numpy()
            p.messages = "no location: the request has no postcode, point or locality"
        col.add(p.mask, p.column, p.values, p.code, p.messages)
    agency_s, sector_s, guessed = resolve_agency_sector(
        table, cmap, col, agency=agency, sector=sector
    )
    notes.extend(sector_note(guessed))
    source_ref = cell_text(table, cmap.column("source_ref"))
    needed = _space_needed(table, cmap, col)
    distance, defaulted = _max_distance(table, cmap, col, default_distance_m)
    if defaulted:
        notes.append(
            f"{defaulted:,} requests give no maximum distance: {default_distance_m:,.0f} m assumed"
        )
    needed_by = date_field(table, cmap, "needed_by", "the needed-by date is not a date", col)
    sensitivity = sensitivity_field(table, cmap, col)
    use = cell_text(table, cmap.column("use"))
    key = source_ref.where(source_ref != "", "row:" + pd.Series(row_numbers).astype(str))
    hashes = key_hashes([sector_s, norm_key(agency_s), key])
    dup = pd.Series(hashes).duplicated(keep="first").to_numpy()
    if dup.any():
        first_row = pd.Series(row_numbers).groupby(hashes).transform("first").to_numpy()
        flag_duplicates(col, dup, first_row, cmap.column("source_ref"), key)
    keep = ~col.any_mask()
    source = pd.Series(located.source, dtype="str")
    frame = pd.DataFrame(
        {
            "request_id": pd.Series(hex_ids("R", hashes), index=key.index),
            "source_ref": source_ref,
            "agency": agency_s,
            "sector": sector_s,
            "space_needed_sqft": needed,
            "use": use,
            "use_class": classify_use(use),
            "postcode": located.postcode.reset_index(drop=True),
            "locality": locality,
            "max_distance_m": distance,
            "needed_by": needed_by,
            "sensitivity": sensitivity,
            "location_source": source.where(source != "", "locality"),
            "location_precision": precision_from_source(source.where(source != "", "locality")),
            "source_row": row_numbers,
        }
    )[keep]
    notes += approximate_note(int(frame["location_precision"].isin(APPROXIMATE).sum()))
    geometry = gpd.points_from_xy(located.easting[keep], located.northing[keep], crs=CRS_BNG)
    requests = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=geometry, crs=CRS_BNG)
    # a request placed only by its locality has no point
    requests.loc[~np.isfinite(located.easting[keep]), "geometry"] = None
    return requests, col.frame(row_numbers), notes


def _space_needed(table: pd.DataFrame, cmap: ColumnMap, col: Collector) -> np.ndarray:
    """Return the space each request needs, in square feet; none, or none above 0, is a fault."""
    n = len(table)
    sn_col = cmap.column("space_needed")
    if sn_col is None:
        col.add(
            np.ones(n, dtype=bool),
            "(space needed)",
            pd.Series("", index=table.index),
            "no_space_needed",
            "the register has no column for the space needed",
        )
        return np.full(n, np.nan)
    values = table[sn_col]
    needed, bad = parse_area(values, cmap.units.get("space_needed", "sqft"))
    col.add(bad, sn_col, values, "non_numeric_area", "the space needed is not a number")
    col.add(needed <= 0, sn_col, values, "negative_area", "the space needed is not positive")
    missing = ~np.isfinite(needed) & ~bad
    col.add(missing, sn_col, values, "no_space_needed", "the space needed is missing")
    return needed


def _max_distance(
    table: pd.DataFrame, cmap: ColumnMap, col: Collector, default_m: float
) -> tuple[np.ndarray, int]:
    """Return each request's maximum distance in metres, and how many took ``default_m``.

    A distance that is not a positive number is a fault.
    """
    md_col = cmap.column("max_distance")
    if md_col is None:
        return np.full(len(table), default_m), len(table)
    d, bad = parse_numbers(table[md_col])
    col.add(
        bad | (np.isfinite(d) & (d <= 0)),
        md_col,
        table[md_col],
        "bad_distance",
        "the maximum distance is not a positive number of metres",
    )
    defaulted = ~np.isfinite(d) & ~bad
    return np.where(np.isfinite(d), d, default_m), int(defaulted.sum())
