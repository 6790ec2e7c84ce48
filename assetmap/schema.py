"""The one definition of a site and of a space request.

Everything about the canonical estate that needs no I/O lives here: the
columns and their types, the controlled vocabularies (sectors, sensitivity,
use classes, tenure), the coordinate reference systems, and the unit
conversions. Other modules import these names; none of them keeps a second
copy of a rule.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from ._validate import CRS_BNG, validate_choice

if TYPE_CHECKING:
    from collections.abc import Sequence

    import geopandas as gpd

__all__ = [
    "APPROXIMATE",
    "AREA_UNITS",
    "CRS_BNG",
    "CRS_WGS84",
    "GB_BOUNDS",
    "PRECISIONS",
    "QUARANTINE_COLUMNS",
    "REQUEST_COLUMNS",
    "SECTORS",
    "SENSITIVITIES",
    "SITE_COLUMNS",
    "SQFT_PER_HECTARE",
    "SQFT_PER_SQM",
    "TENURES",
    "USE_CLASSES",
    "approximate_mask",
    "area_to_sqft",
    "arrow_strings",
    "classify_use",
    "empty_requests",
    "empty_sites",
    "in_place",
    "normalise_sector",
    "normalise_sensitivity",
    "normalise_tenure",
    "point_coordinates",
    "precision_from_source",
    "string_bytes",
    "strip_strings",
    "stripped_text",
    "validate_choice",
]

#: WGS84 longitude/latitude: only at the edge, for web maps.
CRS_WGS84 = "EPSG:4326"

#: Where Great Britain's land lies on the British National Grid, in metres
#: (min easting, min northing, max easting, max northing): from west of the
#: Isles of Scilly (about 80 km east of the grid's origin) to Shetland. A point
#: at 0, 0, a common placeholder, falls outside.
GB_BOUNDS = (50_000.0, 5_000.0, 700_000.0, 1_250_000.0)

#: 1 m² = 10.7639 ft² (RICS).
SQFT_PER_SQM = 10.7639
#: 1 ha = 107,639 ft².
SQFT_PER_HECTARE = 107_639.0
#: Rule of thumb for offices when only net internal area is known: GIA = NIA / 0.82.
NIA_TO_GIA = 1 / 0.82

#: Area units a register may use, and the factor that turns them into sq ft.
AREA_UNITS: dict[str, float] = {
    "sqft": 1.0,
    "sqm": SQFT_PER_SQM,
    "ha": SQFT_PER_HECTARE,
}

SECTORS: tuple[str, ...] = ("police", "health", "dwp", "council", "fire", "other")
SENSITIVITIES: tuple[str, ...] = ("open", "restricted")
TENURES: tuple[str, ...] = ("freehold", "leasehold", "licence", "other", "unknown")

#: Use classes: the coarse vocabulary that space matching compares.
USE_CLASSES: tuple[str, ...] = (
    "office",
    "clinical",
    "operational",
    "depot",
    "community",
    "education",
    "residential",
    "land",
    "other",
)

#: How precisely a site or request is placed, most precise first: a polygon footprint
#: (or a surveyed point in a spatial file's geometry), coordinates given in the
#: register, a full postcode of the ONS Postcode Directory, the centre of a postcode
#: sector ("M41 7") or of a postcode district (the outward code, "M41"). A request
#: placed only by its locality has no point and ``""``.
PRECISIONS: tuple[str, ...] = (
    "footprint",
    "point",
    "postcode",
    "postcode sector",
    "postcode district",
)
#: The precisions of a site placed only approximately, at the centre of a postcode area.
APPROXIMATE: frozenset[str] = frozenset({"postcode sector", "postcode district"})

# Canonical site table: column -> pandas dtype. ``geometry`` (Point, EPSG:27700)
# is added by GeoPandas and not listed here.
SITE_COLUMNS: dict[str, str] = {
    "site_id": "str",
    "source_ref": "str",
    "agency": "str",
    "sector": "str",
    "name": "str",
    "address": "str",
    "postcode": "str",
    "uprn": "str",
    "use": "str",
    "use_class": "str",
    "tenure": "str",
    "tenure_detail": "str",
    "floor_area_sqft": "float64",
    "floor_area_basis": "str",
    "surplus_sqft": "float64",
    "running_cost_gbp": "float64",
    "lease_expiry": "str",
    "next_break": "str",
    "last_break": "str",
    "rent_review": "str",
    "notice_months": "float64",
    "break_penalty_gbp": "float64",
    "capital_value_gbp": "float64",
    "sensitivity": "str",
    "location_source": "str",
    "location_precision": "str",
    "shared_group": "str",
    "source_file": "str",
    "source_owner": "str",
    "source_sha256": "str",
    "source_row": "int64",
    "imported_at": "str",
}

REQUEST_COLUMNS: dict[str, str] = {
    "request_id": "str",
    "source_ref": "str",
    "agency": "str",
    "sector": "str",
    "space_needed_sqft": "float64",
    "use": "str",
    "use_class": "str",
    "postcode": "str",
    "locality": "str",
    "max_distance_m": "float64",
    "needed_by": "str",
    "sensitivity": "str",
    "location_source": "str",
    "location_precision": "str",
    "source_file": "str",
    "source_owner": "str",
    "source_sha256": "str",
    "source_row": "int64",
    "imported_at": "str",
}

QUARANTINE_COLUMNS: dict[str, str] = {
    "source_file": "str",
    "source_owner": "str",
    "source_sha256": "str",
    "kind": "str",
    "row": "int64",
    "column": "str",
    "value": "str",
    "reason_code": "str",
    "reason": "str",
    "imported_at": "str",
}


def _empty(columns: dict[str, str]):
    import geopandas as gpd

    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS_BNG), crs=CRS_BNG)


def empty_sites():
    """Return an empty site table with the canonical columns and CRS.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    return _empty(SITE_COLUMNS)


def empty_requests():
    """Return an empty space-request table with the canonical columns and CRS.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    return _empty(REQUEST_COLUMNS)


#: How each way of placing a row (``location_source``) gives its precision; any other
#: way (coordinates of every kind) gives ``"point"``.
_PRECISION_OF_SOURCE = {
    "footprint": "footprint",
    "postcode": "postcode",
    "postcode sector centre": "postcode sector",
    "postcode district centre": "postcode district",
    "locality": "",
}


def precision_from_source(location_source: pd.Series) -> pd.Series:
    """Return each row's ``location_precision`` from how it was placed.

    The one rule for rows that carry no precision, such as those of a store written
    before the column existed: a footprint is ``"footprint"``, a postcode
    ``"postcode"``, a postcode area's centre its area, a request placed only by its
    locality ``""``, and coordinates of every kind (or an unknown method) ``"point"``.

    Parameters
    ----------
    location_source
        How each row was placed (``"postcode"``, ``"lat/lon"``, ``"footprint"``...).

    Returns
    -------
    pandas.Series
        Values of :data:`PRECISIONS`, or ``""``, aligned to ``location_source``.

    Examples
    --------
    >>> precision_from_source(pd.Series(["postcode", "lat/lon", "footprint"])).tolist()
    ['postcode', 'point', 'footprint']
    """
    # a register is placed in few ways: the rule runs over the distinct methods only
    codes, uniques = pd.factorize(location_source.fillna("").astype("str"))
    found = [_PRECISION_OF_SOURCE.get(str(u).strip(), "point") for u in uniques]
    values = np.asarray(found, dtype=object)[codes] if len(found) else np.empty(0, dtype=object)
    return pd.Series(values, index=location_source.index, dtype="str")


def approximate_mask(frame: pd.DataFrame) -> np.ndarray:
    """Return which rows are placed only approximately (see :data:`APPROXIMATE`).

    A frame without a ``location_precision`` column has no such rows.

    Parameters
    ----------
    frame
        Sites or requests.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``frame``.

    Examples
    --------
    >>> approximate_mask(pd.DataFrame({"location_precision": ["postcode district", "point"]}))
    array([ True, False])
    """
    if "location_precision" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["location_precision"].isin(APPROXIMATE).to_numpy(dtype=bool)


def area_to_sqft(values: pd.Series, unit: str) -> pd.Series:
    """Convert numeric areas in ``unit`` to square feet.

    Parameters
    ----------
    values
        Areas as numbers.
    unit
        One of :data:`AREA_UNITS` (``"sqft"``, ``"sqm"``, ``"ha"``).

    Returns
    -------
    pandas.Series
        The areas in square feet, aligned to ``values``.
    """
    validate_choice("unit", unit, AREA_UNITS)
    return values * AREA_UNITS[unit]


#: Up to this many distinct values, their labels are remembered between calls.
_FEW_VALUES = 256


@lru_cache(maxsize=128)
def _labels_of(
    values: tuple[str, ...], table: tuple[tuple[str, str], ...], default: str
) -> tuple[str, ...]:
    """Return the label of each value: that of the first pattern of ``table`` it matches."""
    lowered = pd.Series(list(values), dtype="str").str.lower()
    result = pd.Series(default, index=lowered.index, dtype="str")
    decided = pd.Series(False, index=lowered.index)
    for pattern, label in table:
        hit = ~decided & lowered.str.contains(pattern, regex=True)
        result[hit] = label
        decided |= hit
    return tuple(result.to_numpy(dtype=object))


def _keyword_map(text: pd.Series, table: list[tuple[str, str]], default: str) -> pd.Series:
    """Map free text to a vocabulary by the first matching regular expression.

    Registers repeat a few values many times, so the patterns run over the
    distinct values only and the answer is spread back to every row.
    """
    import pyarrow as pa

    codes, uniques = pd.factorize(text.fillna("").astype(str), use_na_sentinel=False)
    names = [str(u) for u in uniques]
    if len(names) <= _FEW_VALUES:  # the usual case; a register is read in chunks
        # sorted, so that chunks holding the same values in another order share an entry
        key = tuple(sorted(names))
        label = dict(zip(key, _labels_of(key, tuple(table), default), strict=True))
        found: Sequence[str] = [label[name] for name in names]
    else:
        found = _labels_of.__wrapped__(tuple(names), tuple(table), default)
    labels = pa.array(found, type=pa.large_string())
    return pd.Series(
        pd.array(labels.take(codes), dtype=pd.StringDtype(na_value=np.nan)), index=text.index
    )


# Sector synonyms, checked in order; the first match wins.
_SECTOR_KEYWORDS: list[tuple[str, str]] = [
    (r"^police$|police|constabulary|custody|\bpcc\b", "police"),
    (r"^fire$|fire|rescue", "fire"),
    (r"^dwp$|\bdwp\b|jobcentre|job centre|work and pensions", "dwp"),
    (
        r"^health$|^nhs$|\bnhs\b|hospital|health|clinic|\bccg\b|\bicb\b|\bpct\b|surgery|"
        r"\bgp\b|medical|trust",
        "health",
    ),
    (r"^council$|council|borough|county|district|unitary|authority", "council"),
    (r"^other$", "other"),
]


def normalise_sector(values: pd.Series) -> pd.Series:
    """Map sector or agency text to one of :data:`SECTORS`.

    Unrecognised or empty values become ``""`` so the caller can report them.

    Parameters
    ----------
    values
        Free text such as ``"NHS"``, ``"Kent Police"`` or ``"Jobcentre Plus"``.

    Returns
    -------
    pandas.Series
        Values from :data:`SECTORS`, or ``""``.
    """
    return _keyword_map(values, _SECTOR_KEYWORDS, "")


_SENSITIVITY_KEYWORDS: list[tuple[str, str]] = [
    (r"^\s*$", "open"),
    (r"^(?:open|official|public|no|n|false|0|unrestricted|none)$", "open"),
    (r"restricted|sensitive|secret|confidential|^(?:yes|y|true|1)$", "restricted"),
]


def normalise_sensitivity(values: pd.Series) -> pd.Series:
    """Map sensitivity text to ``"open"``, ``"restricted"`` or ``""`` (unknown).

    ``OFFICIAL`` and empty values are open; ``OFFICIAL-SENSITIVE``, ``SECRET``,
    ``restricted`` and yes/true flags are restricted.

    Parameters
    ----------
    values
        Free text from a register's sensitivity or security classification column.

    Returns
    -------
    pandas.Series
    """
    return _keyword_map(values.str.strip(), _SENSITIVITY_KEYWORDS, "")


_TENURE_KEYWORDS: list[tuple[str, str]] = [
    (r"freehold|owned|owner", "freehold"),
    (r"leasehold|lease|rent", "leasehold"),
    (r"licen[cs]e", "licence"),
    (r"^\s*$", "unknown"),
]


def normalise_tenure(values: pd.Series) -> pd.Series:
    """Map tenure text to one of :data:`TENURES`.

    Parameters
    ----------
    values
        Free text such as ``"Freehold "``, ``"Leasehold In"`` or ``"Licence"``.

    Returns
    -------
    pandas.Series
    """
    return _keyword_map(values, _TENURE_KEYWORDS, "other")


#: Use keywords, checked in order; the first match wins. The README lists this table.
USE_KEYWORDS: list[tuple[str, str]] = [
    (r"town hall|county hall|civic cent|council offices|headquarters", "office"),
    (r"vacant land|open space|\bpark|playing field|allotment|cemetery|car park|\bland\b", "land"),
    (
        r"hospital|clinic|surgery|\bgp\b|health cent|medical|dental|pharmacy|ward|theatre|"
        r"mental health|clinical",
        "clinical",
    ),
    (r"police station|fire station|custody|ambulance|operational|control room", "operational"),
    (r"depot|store|storage|warehouse|workshop|garage|yard|industrial", "depot"),
    (r"school|college|academy|nursery|education|training|learning", "education"),
    (r"housing|residential|flat|dwelling|hostel|care home|sheltered", "residential"),
    (
        r"library|community|leisure|centre|hall|museum|theatre|sport|youth|children|"
        r"day cent|hub|crematorium",
        "community",
    ),
    (r"office|civic|admin|jobcentre|job centre|town hall|headquarters|\bhq\b|council", "office"),
]


def classify_use(values: pd.Series) -> pd.Series:
    """Map a register's free-text use to one of :data:`USE_CLASSES`.

    Parameters
    ----------
    values
        Free text such as ``"Town Hall"``, ``"GP surgery"`` or ``"Depot"``.

    Returns
    -------
    pandas.Series
        Values from :data:`USE_CLASSES`; ``"other"`` where no keyword matched.
    """
    return _keyword_map(values, USE_KEYWORDS, "other")


_POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")
#: A postcode already in the ONS form (what :func:`normalise_postcodes` returns).
_SPACED_POSTCODE_RE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"


def arrow_strings(values: pd.Series):
    """Return the values as a pyarrow string array, missing values as ``""``.

    No copy is made when the values are already held as Arrow strings.
    """
    import pyarrow as pa

    text = values.fillna("")
    if not isinstance(text.dtype, pd.StringDtype):
        text = text.astype("str")
    arr = pa.array(text)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string())


def one_value(arr) -> bool:
    """Return whether every value of a pyarrow array without nulls is the same.

    So it is when the array is empty. The first and last values are compared first:
    a column that varies usually shows it there, without a scan.
    """
    import pyarrow.compute as pc

    if len(arr) < 2:
        return True
    first = arr[0]
    return first == arr[-1] and bool(pc.all(pc.equal(arr, first)).as_py())


def string_bytes(arr) -> tuple[np.ndarray, np.ndarray]:
    """Return the offsets and UTF-8 bytes behind a pyarrow string array, without a copy.

    Value ``i`` is ``data[offsets[i]:offsets[i + 1]]`` (a null is usually empty).
    """
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    _, offset_buffer, data_buffer = arr.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    if data_buffer is None or not len(arr):
        return offsets, np.empty(0, dtype=np.uint8)
    return offsets, np.frombuffer(data_buffer, dtype=np.uint8)


#: Bytes that may start or end a value Arrow would trim: ASCII blanks and controls,
#: DEL, and every byte of a non-ASCII character (some are spaces, such as U+00A0).
_MAYBE_SPACE = np.zeros(256, dtype=bool)
_MAYBE_SPACE[:0x21] = True
_MAYBE_SPACE[0x7F:] = True


def strip_strings(arr):
    """Return a pyarrow string array with the whitespace around each value trimmed.

    Arrow's ``utf8_trim_whitespace`` allocates a new array; a register's values
    are nearly always clean, so when no value starts or ends with a byte that
    could be whitespace the array is returned as it is.
    """
    import pyarrow.compute as pc

    offsets, data = string_bytes(arr)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if not filled.any():
        return arr
    starts, ends = starts[filled], ends[filled]
    if _MAYBE_SPACE[data[ends - 1]].any():
        return pc.utf8_trim_whitespace(arr)
    first = data[starts]
    maybe = _MAYBE_SPACE[first]
    # a character of two bytes is a space only as U+0085 or U+00A0 (C2 85, C2 A0), so a
    # value starting "£" (C2 A3), common in money columns, needs no trimming
    two = (first >= 0xC2) & (first <= 0xDF) & (ends - starts >= 2)
    if two.any():
        second = data[starts[two] + 1]
        maybe[two] = (first[two] == 0xC2) & ((second == 0x85) | (second == 0xA0))
    if maybe.any():
        return pc.utf8_trim_whitespace(arr)
    return arr


def stripped_text(values: pd.Series) -> pd.Series:
    """Values as text (dtype ``str``), missing as ``""``, the whitespace around each trimmed.

    The same as ``values.fillna("").astype(str).str.strip()``, without the copies
    when the text is already clean (see :func:`strip_strings`).
    """
    import pyarrow as pa

    text = values.fillna("")
    if not isinstance(text.dtype, pd.StringDtype) or text.dtype.storage != "pyarrow":
        text = text.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    arr = pa.array(text.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    stripped = [strip_strings(chunk) for chunk in chunks]
    if all(a is b for a, b in zip(stripped, chunks, strict=True)):
        return text
    out = pa.chunked_array(stripped, type=arr.type)
    return pd.Series(pd.array(out, dtype=text.dtype), index=values.index, name=values.name)


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Return postcodes in the ONS form ``"TN1 1AA"``, or ``""`` where malformed.

    Parameters
    ----------
    values
        Postcodes in any spacing or case.

    Returns
    -------
    pandas.Series
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arrow_strings(values)
    # most registers already write "TN1 1AA": those values are their own normal form
    normal = pc.match_substring_regex(arr, _SPACED_POSTCODE_RE)
    if pc.all(normal).as_py() is not False:
        return pd.Series(arr, index=values.index, dtype=pd.StringDtype(na_value=np.nan))
    # the same Arrow kernels as pandas' string methods, without a Series between steps
    compact = pc.replace_substring_regex(pc.utf8_upper(arr), "[^A-Z0-9]", "")
    ok = pc.match_substring_regex(compact, _POSTCODE_RE.pattern)
    spaced = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(compact, 0, -3),
        pc.utf8_slice_codeunits(compact, -3),
        pa.scalar(" ", type=compact.type),
    )
    out = pc.if_else(ok, spaced, pa.scalar("", type=spaced.type))
    return pd.Series(out, index=values.index, dtype=pd.StringDtype(na_value=np.nan))


def finite(values: pd.Series) -> np.ndarray:
    """Return a boolean array: the value is a finite number."""
    return np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))


def point_coordinates(geoms) -> tuple[np.ndarray, np.ndarray]:
    """Where each site or request is: x, y of a point, or of a point on a polygon's surface.

    The one rule for a row's location, used by co-location, matching, the print maps
    and "in the place" (:func:`in_place`). A polygon is represented by
    ``shapely.point_on_surface``, as the importer represents a footprint: unlike its
    centroid, the point always lies inside the shape (an L- or C-shaped site).

    Parameters
    ----------
    geoms
        Geometries (a GeoSeries or an array), in the CRS wanted for the result.

    Returns
    -------
    xy, located
        An ``(n, 2)`` float array (NaN where there is no location) and a boolean
        array: the row has a finite location (not missing, not empty).
    """
    arr = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(arr)
    ok = ~missing
    ok[ok] = ~shapely.is_empty(arr[ok])
    xy = np.full((len(arr), 2), np.nan)
    if ok.any():
        located = arr[ok]
        not_point = shapely.get_type_id(located) != 0
        if not_point.any():
            located = located.copy()
            located[not_point] = shapely.point_on_surface(located[not_point])
        xy[ok, 0] = shapely.get_x(located)
        xy[ok, 1] = shapely.get_y(located)
    ok &= np.isfinite(xy).all(axis=1)
    return xy, ok


def in_place(frame: gpd.GeoDataFrame, outline) -> np.ndarray:
    """Which rows of ``frame`` lie in ``outline`` (edges included); all located rows for None.

    The one rule for "this site is in the place", used by the app, the print maps and
    the pack: its :func:`point_coordinates` (a point on a polygon's surface) lies in or
    on the place's outline.

    Parameters
    ----------
    frame
        Sites or requests in EPSG:27700 (a polygon counts by a point on its surface).
    outline
        A place's polygon (EPSG:27700), or ``None``.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``frame``; rows without a location are ``False``.
    """
    xy, located = point_coordinates(frame.geometry.to_numpy())
    keep = np.zeros(len(frame), dtype=bool)
    if outline is None:
        return located
    if located.any():
        shapely.prepare(outline)
        keep[located] = shapely.intersects_xy(outline, xy[located, 0], xy[located, 1])
    return keep
