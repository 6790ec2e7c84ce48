"""Which localities may count a site placed only approximately.

A site placed at the centre of a postcode district or sector (``location_precision``
in :data:`assetmap.schema.APPROXIMATE`) is known only to lie somewhere in that area,
which is larger than an LSOA and may cross district boundaries. It counts in locality
figures only at the levels its precision allows:

- at **district** level, when at least 95% of the postcodes of its area lie in one ONS
  district (:data:`assetmap.postcodes.DISTRICT_SHARE`; the ONS Postcode Directory says
  so): it is counted in that district, by code, wherever the area's centre falls;
- at the levels **above** a district (country, the bundled Kent and Medway county, an
  English region or county), under the same condition: by where its centre lies, which
  is inside that one district;
- **never** at LSOA, sub-ICB or health-board level, at ICB level (ICBs are not built of
  districts in the national boundaries), nor in a boundary set whose level is not known.

A level is known by its name (``"district"``, ``"country"``, ``"county"``) or, for
localities given as a table or file, by their ONS codes (``E06``-``E09`` and ``W06``:
districts; ``E10``, ``E11``, ``E12``, ``E92`` and ``W92``: above).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..postcodes import default_directory
from ..schema import approximate_mask

__all__ = ["ABOVE_DISTRICT", "approximate_counting"]

#: Level names above a district: a site inside one district lies inside one of these.
ABOVE_DISTRICT = ("country", "county", "region")
_DISTRICT_CODES = r"(?:E0[6-9]|W06)\d{6}"
_ABOVE_CODES = r"(?:E1[012]|E92|W92)\d{6}"


def _level_kind(level: object, codes: pd.Series) -> str:
    """Return ``"district"``, ``"above"`` or ``""`` (not allowed) for the localities."""
    if level == "district":
        return "district"
    if level in ABOVE_DISTRICT:
        return "above"
    if isinstance(level, str) and level in ("lsoa", "nhs_area", "icb"):
        return ""
    text = codes.astype("str").str.strip()
    if len(text) and text.str.fullmatch(_DISTRICT_CODES).all():
        return "district"
    if len(text) and text.str.fullmatch(_ABOVE_CODES).all():
        return "above"
    return ""


def approximate_counting(
    sites: gpd.GeoDataFrame,
    localities: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    level: object = None,
) -> tuple[pd.DataFrame, int, list[str]]:
    """Apply the rule of the module to an assignment of sites to localities.

    Parameters
    ----------
    sites
        The sites (``location_precision`` and ``postcode`` say which are approximate
        and of what area).
    localities
        The localities (``code``, ``name``).
    assignment
        From :func:`assetmap.localities.assign_localities`, aligned to ``sites``.
    level
        The level's name when the caller knows it (``"district"``, ``"lsoa"``...).

    Returns
    -------
    assignment, not_counted, notes
        The assignment with each approximate site either in the locality its
        precision allows (at district level: its area's district) or in none
        (``locality_code`` ``""``, not ``outside``: it is counted nowhere and not
        reported as outside); how many were counted nowhere; and a note saying so.

    Examples
    --------
    >>> counted = approximate_counting(sites, districts, assignment)  # doctest: +SKIP
    >>> assignment, not_counted, notes = counted  # doctest: +SKIP
    """
    approximate = approximate_mask(sites)
    if not approximate.any():
        return assignment, 0, []
    kind = _level_kind(level, localities["code"])
    rows = np.flatnonzero(approximate)
    district = np.full(len(rows), "", dtype=object)
    if kind and "postcode" in sites.columns:
        part = sites.iloc[rows]
        found = default_directory().area_centres(part["postcode"], part["location_precision"])
        district = found["district"].to_numpy(dtype=object)
    counted = district != ""
    assignment = assignment.copy()
    if kind == "district":
        codes = localities["code"].astype("str")
        known = pd.Index(codes).get_indexer(pd.Index(district.astype(str)))
        # in a district not among these: outside them, wherever its area's centre falls
        elsewhere = counted & (known < 0)
        counted &= known >= 0
        hit = rows[counted]
        names = localities["name"].astype("str").to_numpy(dtype=object)
        _put(assignment, hit, district[counted], names[known[counted]])
        away = rows[elsewhere]
        _put(assignment, away, np.full(len(away), "", dtype=object), "", outside=True)
        counted |= elsewhere
    dropped = rows[~counted]
    _put(assignment, dropped, np.full(len(dropped), "", dtype=object), "")
    n = len(dropped)
    if not n:
        return assignment, 0, []
    why = (
        "their postcode area is larger than these localities"
        if not kind
        else "their postcode area crosses a district boundary"
    )
    note = (
        f"{n:,} site{'s' if n != 1 else ''} placed only approximately (at the centre of a "
        f"postcode district or sector) {'are' if n != 1 else 'is'} not counted at this "
        f"level: {why}"
    )
    return assignment, n, [note]


def _put(
    assignment: pd.DataFrame,
    rows: np.ndarray,
    codes: np.ndarray,
    names,
    *,
    outside: bool = False,
) -> None:
    """Set the locality of some rows (by position), on no edge, in place."""
    if not len(rows):
        return
    for column, values in (
        ("locality_code", codes),
        ("locality_name", names),
        ("on_boundary", False),
        ("outside", outside),
        ("assigned_by", "outside" if outside else ""),
    ):
        if column in assignment.columns:
            column_values = assignment[column].to_numpy(copy=True)
            column_values[rows] = values
            assignment[column] = pd.Series(
                column_values, index=assignment.index, dtype=assignment[column].dtype
            )
