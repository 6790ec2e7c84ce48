"""How complete each body's property data is: the share of its sites with each key fact.

The Public Accounts Committee asks departments to report how complete their
property data is. :func:`completeness` measures it per agency, from the sites
the viewer may see (:func:`assetmap.access.visible_sites`: another agency's
restricted sites are withheld before anything is counted, so no figure
includes them; a body's own restricted sites count in its own view).

Definitions
-----------
For each agency, the share (0 to 1) and the number of its sites with:

Floor area
    a floor area (``floor_area_sqft``) that is a positive, finite number.
Running cost
    a running cost (``running_cost_gbp``) that is a positive, finite number.
    assetmap estimates a missing cost from the floor area elsewhere
    (:mod:`assetmap.savings`); an estimate is not a reported cost and does not count.
Tenure
    a tenure (``tenure``) other than ``"unknown"`` or blank: freehold,
    leasehold, licence or other.
Lease dates
    of its *leased* sites only (tenure leasehold or licence), the share with a
    lease expiry (``lease_expiry``) or a next break date (``next_break``). A body
    with no leased site has no figure (``NaN``, shown as "no leased sites"), and
    the measure is left out of its overall score.
UPRN
    a Unique Property Reference Number (``uprn``), not blank.
Exact location
    a location placed from a surveyed shape or from coordinates: a
    ``location_precision`` of ``"footprint"`` (a polygon footprint, or a point in a
    spatial file's geometry) or ``"point"`` (easting/northing, latitude/longitude
    or a grid reference given in the register). A site placed at a postcode's
    centre, or at the centre of a postcode sector or district, is not exactly
    located: a full postcode's centre can be hundreds of metres from the
    building in the countryside. A site that carries no precision takes it from
    how it was placed (``location_source``, :func:`assetmap.schema.precision_from_source`);
    a site with neither is not exactly located.
Overall score
    the mean of the shares that apply to the body: all six, or five when it has
    no leased site.

The table is ranked by the overall score, most complete first (then the most
sites first, then the agency's name). A column missing from the sites (an older
store, a hand-made table) counts as unknown for every site. Agencies are
grouped as :func:`assetmap.access.agency_key` compares them (case and spacing
aside), under the spelling most of their sites use.

Percentages (:func:`percent`) are whole numbers, but never 100% for a share
below 1 nor 0% for a share above 0: "100%" always means every site.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import access
from ._validate import raise_if_any
from .errors import InvalidArgumentError
from .schema import precision_from_source, stripped_text

__all__ = [
    "CHART_AGENCIES",
    "COLUMNS",
    "DEFINITIONS",
    "EXACT_PRECISIONS",
    "LEASED_TENURES",
    "MEASURES",
    "NO_AGENCY",
    "NO_LEASED_SITES",
    "chart_rows",
    "completeness",
    "formatted",
    "percent",
]

#: The measures, in the table's order, and their headings.
MEASURES: dict[str, str] = {
    "floor_area": "Floor area",
    "running_cost": "Running cost",
    "tenure": "Tenure",
    "lease_dates": "Lease dates",
    "uprn": "UPRN",
    "exact_location": "Exact location",
}

#: What each measure counts, in plain English (the page, the command line and the pack
#: print them under the table).
DEFINITIONS: dict[str, str] = {
    "floor_area": "sites with a floor area that is a positive number.",
    "running_cost": "sites with a running cost that is a positive number (an estimate made "
    "from the floor area does not count).",
    "tenure": "sites whose tenure is given (freehold, leasehold, licence or other), not "
    "unknown or blank.",
    "lease_dates": "of the leased sites only (leasehold or licence), those with a lease "
    "expiry or a next break date; a body with no leased site has no figure and the measure "
    "is left out of its score.",
    "uprn": "sites with a Unique Property Reference Number.",
    "exact_location": "sites placed exactly: by a surveyed shape (footprint) or by "
    "coordinates given in the register. A site placed at the centre of its postcode, or of "
    "a postcode sector or district, is not exact.",
    "score": "the mean of the shares that apply to the body.",
}

#: The tenures of a leased site: the sites the lease-dates measure counts.
LEASED_TENURES: frozenset[str] = frozenset({"leasehold", "licence"})
#: The location precisions of an exactly located site (see the module's definitions).
EXACT_PRECISIONS: frozenset[str] = frozenset({"footprint", "point"})
#: How a site with a blank agency is listed.
NO_AGENCY = "(no agency given)"
#: How the lease-dates figure of a body with no leased site is shown.
NO_LEASED_SITES = "no leased sites"
#: The most agencies a chart shows: beyond it, the most and the least complete halves.
CHART_AGENCIES = 40

#: The columns of :func:`completeness`, in order.
COLUMNS: tuple[str, ...] = (
    "agency",
    "sector",
    "sites",
    "leased_sites",
    *(f"{measure}_{part}" for measure in MEASURES for part in ("share", "count")),
    "score",
)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return a column as stripped text (``""`` for missing values; all ``""`` if absent)."""
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    values = frame[column]
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        values = values.astype("str").where(values.notna(), "")
    return stripped_text(values)


def _filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return which rows hold text in ``column`` (not blank, not missing)."""
    return (_text(frame, column) != "").to_numpy(dtype=bool)


def _positive(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return which rows hold a positive, finite number in ``column`` (none if absent)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > 0)


def _exact(frame: pd.DataFrame) -> np.ndarray:
    """Return which rows are exactly located (a blank precision: from how the row was placed)."""
    precision = _text(frame, "location_precision")
    source = _text(frame, "location_source")
    derive = ((precision == "") & (source != "")).to_numpy(dtype=bool)
    exact = precision.isin(EXACT_PRECISIONS).to_numpy(dtype=bool, copy=True)
    if derive.any():
        derived = precision_from_source(source[derive])
        exact[derive] = derived.isin(EXACT_PRECISIONS).to_numpy(dtype=bool)
    return exact


def _facts(sites: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return, per measure, which sites have the fact (lease dates: among all sites)."""
    tenure = _text(sites, "tenure").str.lower()
    return {
        "floor_area": _positive(sites, "floor_area_sqft"),
        "running_cost": _positive(sites, "running_cost_gbp"),
        "tenure": (~tenure.isin(["", "unknown"])).to_numpy(dtype=bool),
        "lease_dates": _filled(sites, "lease_expiry") | _filled(sites, "next_break"),
        "uprn": _filled(sites, "uprn"),
        "exact_location": _exact(sites),
        "leased": tenure.isin(LEASED_TENURES).to_numpy(dtype=bool),
    }


def _groups(sites: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Return each site's agency group (codes) and each group's name as most sites spell it."""
    codes, spellings = pd.factorize(_text(sites, "agency"))
    keys = [access.agency_key(s) for s in spellings]
    group_of_spelling, group_keys = pd.factorize(pd.Series(keys, dtype=object))
    groups = group_of_spelling[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    uses = np.bincount(codes, minlength=len(spellings)) if len(codes) else np.zeros(0, int)
    names: list[str] = []
    for g in range(len(group_keys)):
        mine = np.flatnonzero(group_of_spelling == g)
        best = mine[np.argmax(uses[mine])]  # the first of the most used spellings
        names.append(str(spellings[best]) or NO_AGENCY)
    return groups, names


def _sectors(sites: pd.DataFrame, groups: np.ndarray, n_groups: int) -> list[str]:
    """Return each group's sectors, most sites first, joined by commas."""
    codes, names = pd.factorize(_text(sites, "sector"))
    counts = np.bincount(groups * len(names) + codes, minlength=n_groups * len(names)).reshape(
        n_groups, len(names)
    )
    out = []
    for row in counts:
        held = [i for i in np.argsort(-row, kind="stable") if row[i] and names[i]]
        out.append(", ".join(str(names[i]) for i in held))
    return out


def completeness(sites: pd.DataFrame, *, viewer: access.Viewer | str | None = None) -> pd.DataFrame:
    """Return how complete each agency's property data is, most complete first.

    See the module's docstring for the definition of each measure.

    Parameters
    ----------
    sites
        Canonical sites (:data:`assetmap.schema.SITE_COLUMNS`; a GeoDataFrame or a
        DataFrame). Only ``agency`` is required: any other column missing counts
        as unknown for every site.
    viewer
        Who is looking (:class:`assetmap.access.Viewer` or an agency's name): only
        the sites they may see are counted (:func:`assetmap.access.visible_sites`);
        default ``None``, no restricted site is.

    Returns
    -------
    pandas.DataFrame
        One row per agency with a site the viewer may see, the columns of
        :data:`COLUMNS`: ``agency``, ``sector`` (its sectors, most sites first),
        ``sites``, ``leased_sites`` (leasehold or licence), and for each measure of
        :data:`MEASURES` ``<measure>_share`` (0 to 1; ``lease_dates_share`` is NaN
        for a body with no leased site) and ``<measure>_count`` (sites with it),
        then ``score`` (the mean of the shares that apply). Ranked by ``score``,
        highest first, then by ``sites``, then by agency; index from 0.

    Raises
    ------
    InvalidArgumentError
        If ``sites`` is not a table with an ``agency`` column, or ``viewer`` is not
        valid (every problem in one message).

    Examples
    --------
    >>> sites = pd.DataFrame(
    ...     {
    ...         "agency": ["Kent Police", "Kent Police", "Medway Council"],
    ...         "floor_area_sqft": [1200.0, None, 800.0],
    ...         "tenure": ["freehold", "unknown", "leasehold"],
    ...         "lease_expiry": ["", "", "2031-03-31"],
    ...     }
    ... )
    >>> table = completeness(sites)
    >>> table[["agency", "sites", "floor_area_share", "tenure_count"]]
               agency  sites  floor_area_share  tenure_count
    0  Medway Council      1               1.0             1
    1     Kent Police      2               0.5             1
    """
    problems: list[str] = []
    if not isinstance(sites, pd.DataFrame):
        problems.append(
            f"sites is a {type(sites).__name__}; expected a table of sites (a pandas "
            "DataFrame or geopandas GeoDataFrame) with an agency column"
        )
    elif "agency" not in sites.columns:
        problems.append(
            "sites lacks the column agency; expected the canonical site columns of "
            "assetmap.schema.SITE_COLUMNS"
        )
    try:
        viewer = access.as_viewer(viewer)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    raise_if_any(problems)

    # the disclosure rule, before anything is counted (assetmap.access)
    seen = access.visible_sites(sites, viewer)
    groups, names = _groups(seen)
    n = len(names)
    facts = _facts(seen)

    def per_group(mask: np.ndarray) -> np.ndarray:
        return np.bincount(groups[mask], minlength=n).astype("int64")

    total = np.bincount(groups, minlength=n).astype("int64")
    leased = per_group(facts["leased"])
    table = pd.DataFrame(
        {
            "agency": pd.Series(names, dtype=object),
            "sector": pd.Series(_sectors(seen, groups, n), dtype=object),
            "sites": total,
            "leased_sites": leased,
        }
    )
    shares = []
    for measure in MEASURES:
        if measure == "lease_dates":
            count = per_group(facts["lease_dates"] & facts["leased"])
            base = leased
        else:
            count = per_group(facts[measure])
            base = total
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(base > 0, count / np.maximum(base, 1), np.nan)
        table[f"{measure}_share"] = share.astype("float64")
        table[f"{measure}_count"] = count
        shares.append(share)
    table["score"] = np.nanmean(np.vstack(shares), axis=0) if n else np.zeros(0, dtype="float64")
    table["_key"] = [access.agency_key(a) for a in names]
    table = table.sort_values(
        ["score", "sites", "_key"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    table["agency"] = table["agency"].astype("str")
    table["sector"] = table["sector"].astype("str")
    return table[list(COLUMNS)]


def percent(share: float) -> str:
    """Return a share (0 to 1) as a whole percentage; ``""`` for NaN.

    Rounded to the nearest whole number, but never ``"100%"`` below 1 nor ``"0%"``
    above 0: "100%" means every site, "0%" none.

    Parameters
    ----------
    share
        A share from 0 to 1, or NaN.

    Returns
    -------
    str
        Such as ``"67%"``.

    Examples
    --------
    >>> percent(2 / 3), percent(0.998), percent(0.001), percent(1.0), percent(0.0)
    ('67%', '99%', '1%', '100%', '0%')
    """
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return ""
    whole = round(float(share) * 100)
    if share < 1:
        whole = min(whole, 99)
    if share > 0:
        whole = max(whole, 1)
    return f"{whole}%"


def formatted(table: pd.DataFrame, *, counts: bool = True) -> pd.DataFrame:
    """Return the table of :func:`completeness` as people read it: percentages, as text.

    Parameters
    ----------
    table
        A table from :func:`completeness`.
    counts
        Give each measure's count beside its percentage (``"67% (2 of 3)"``);
        ``False`` for percentages only.

    Returns
    -------
    pandas.DataFrame
        ``Rank``, ``Agency``, ``Sector``, ``Sites``, a column per measure (headed
        as :data:`MEASURES`) and ``Overall``, all but ``Rank`` and ``Sites`` text;
        the lease dates of a body with no leased site read :data:`NO_LEASED_SITES`.
    """
    out = pd.DataFrame(
        {
            "Rank": np.arange(1, len(table) + 1, dtype="int64"),
            "Agency": table["agency"].astype(str),
            "Sector": table["sector"].astype(str),
            "Sites": table["sites"].astype("int64"),
        }
    )
    for measure, heading in MEASURES.items():
        base = table["leased_sites"] if measure == "lease_dates" else table["sites"]
        cells = []
        for share, count, of in zip(
            table[f"{measure}_share"], table[f"{measure}_count"], base, strict=True
        ):
            if of == 0:
                cells.append(NO_LEASED_SITES)
                continue
            leased = " leased" if measure == "lease_dates" else ""
            cells.append(
                percent(share) + (f" ({int(count):,} of {int(of):,}{leased})" if counts else "")
            )
        out[heading] = pd.Series(cells, index=out.index, dtype="str")
    out["Overall"] = pd.Series([percent(s) for s in table["score"]], index=out.index, dtype="str")
    return out


def chart_rows(table: pd.DataFrame, *, limit: int = CHART_AGENCIES) -> tuple[pd.DataFrame, str]:
    """Return the rows a chart draws, and a note when some are left out (else ``""``).

    Up to ``limit`` agencies, all of them; beyond it, the most complete half and
    the least complete half of ``limit``, in rank order (the table holds every one).

    Parameters
    ----------
    table
        A table from :func:`completeness`.
    limit
        The most bodies drawn.

    Returns
    -------
    rows, note
        The rows of ``table`` to draw (its index kept: the rank less one), and a
        sentence saying how many are left out, or ``""``.
    """
    if len(table) <= limit:
        return table, ""
    top, bottom = limit // 2, limit - limit // 2
    rows = pd.concat([table.iloc[:top], table.iloc[len(table) - bottom :]])
    note = (
        f"The chart shows the {top} most and the {bottom} least complete of the "
        f"{len(table):,} bodies; the table holds every one."
    )
    return rows, note
