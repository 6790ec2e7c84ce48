"""Recognise which column of a register feeds which field, from its headers or a profile.

Headers are compared case- and punctuation-insensitively against the names
that public registers use (the Local Government Transparency Code's GeoX,
GeoY, UPRN, BuildingSize, TenureType...; InSite's Security Classification;
plain Easting/Northing, Latitude/Longitude...). A profile
(:mod:`~assetmap.registers.profiles`) maps columns explicitly where the headers
are unusual; what it names always wins. A headerless NHS ODS extract, given its
layout's column names as it is read (:mod:`~assetmap.registers.ods`), is mapped by
its layout when no profile is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ProfileError
from .ods import SECTOR, layout_fields, layout_of_columns
from .profiles import (
    AREA_FIELDS,
    FIELDS,
    MAX_PROFILE_BYTES,
    MAX_PROFILE_DEPTH,
    MAX_PROFILE_HEADERS,
    MULTI_FIELDS,
    Profile,
    listing,
    load_profile,
    shown,
)

__all__ = [
    "FIELDS",
    "MAX_PROFILE_BYTES",
    "MAX_PROFILE_DEPTH",
    "MAX_PROFILE_HEADERS",
    "ColumnMap",
    "Profile",
    "load_profile",
    "normalise_header",
    "recognise_columns",
]


def normalise_header(header: str) -> str:
    """Lower-case a header and drop everything but letters and digits.

    ``"Post Code"``, ``"post_code"`` and ``"POSTCODE"`` all become ``"postcode"``;
    ``"GIA (m²)"`` becomes ``"giam2"``.
    """
    text = str(header).replace("²", "2").replace("£", "gbp").lower()
    return re.sub(r"[^a-z0-9]", "", text)


# Exact synonyms, after normalise_header. Order within a list is priority.
_SYNONYMS: dict[str, list[str]] = {
    "source_ref": [
        "assetcode",
        "uniqueassetid",
        "uniqueassetidentity",
        "siteref",
        "propertyreference",
        "propertyref",
        "epimspropertyref",
        "assetref",
        "assetid",
        "siteid",
        "requestref",
        "requestid",
        "reference",
        "ref",
        "id",
        "sourceid",
        "organisationcode",
        "stationref",
    ],
    "agency": [
        "organisationlabel",
        "organisation",
        "organisationname",
        "agency",
        "requestingagency",
        "body",
        "owner",
        "localauthority",
        "frsfullname",
        "forceid",
        "parentname",
        "department",
    ],
    "sector": ["sector", "agencysector", "organisationtype"],
    "name": [
        "propertyname",
        "name",
        "sitename",
        "primarypropertyname",
        "landbuildingdescription",
        "buildingname",
        "stationname",
        "office",
        "officename",
        "assetname",
        "propname",
    ],
    "address": [
        "address",
        "fulladdress",
        "stationaddress",
        "siteaddress",
        "propertyaddress",
    ],
    "address_parts": [
        "streetnumber",
        "streetname",
        "street",
        "address1",
        "address2",
        "address3",
        "posttown",
        "town",
        "city",
        "county",
    ],
    "postcode": ["postcode", "stationpostcode", "sitepostcode", "pcd"],
    "uprn": ["uprn", "uniquepropertyreferencenumber"],
    "use": [
        "otherdetail",
        "usage",
        "use",
        "landusage",
        "propertytype",
        "type",
        "assettype",
        "sitetype",
        "subtype",
        "primaryuse",
        "currentuse",
    ],
    "tenure": ["tenuretype", "tenure", "tenurecategory", "agreementtype"],
    "tenure_detail": ["tenuredetail"],
    "lease_expiry": [
        "expirydate",
        "leaseexpiry",
        "leaseexpirydate",
        "leaseend",
        "leaseenddate",
        "dateofleaseexpiry",
        "contractenddate",
    ],
    # InSite's earliest and last break dates; rent reviews; the notice a break needs
    "next_break": [
        "earliestbreakdate",
        "nextbreakdate",
        "nextbreak",
        "earliestbreak",
        "breakdate",
        "leasebreakdate",
        "breakoptiondate",
    ],
    "last_break": ["lastbreakdate", "lastbreak", "finalbreakdate", "finalbreak"],
    "rent_review": [
        "rentreviewdate",
        "nextrentreviewdate",
        "nextrentreview",
        "rentreview",
    ],
    "notice_months": [
        "noticeperiod",
        "breaknoticeperiod",
        "noticeperiodmonths",
        "breaknoticemonths",
        "noticemonths",
        "breaknotice",
    ],
    "break_penalty": [
        "breakpenalty",
        "breakpenaltygbp",
        "breakpremium",
        "breakcost",
        "breakfee",
    ],
    "capital_value": [
        "capitalvalue",
        "capitalvaluegbp",
        "marketvalue",
        "assetvalue",
        "valuation",
        "currentvalue",
        "existingusevalue",
        "bookvalue",
    ],
    "sensitivity": [
        "securityclassification",
        "sensitivity",
        "restricted",
        "sensitive",
        "classification",
    ],
    "latitude": ["latitude", "lat", "ylat"],
    "longitude": ["longitude", "lon", "lng", "long", "xlong"],
    "easting": [
        "easting",
        "eastings",
        "stationeasting",
        "xcoordinate",
        "oseast1m",
        "bnge",
        "east",
    ],
    "northing": [
        "northing",
        "northings",
        "stationnorthing",
        "ycoordinate",
        "osnrth1m",
        "bngn",
        "north",
    ],
    "x": ["geox", "x", "mapreferencex"],
    "y": ["geoy", "y", "mapreferencey"],
    "crs": ["coordinatereferencesystem", "crs", "spatialreference", "srs"],
    "wkt": ["wkt", "geometrywkt", "geomwkt", "geometry", "geom", "shape"],
    "space_needed": [],
    "locality": ["locality", "localitycode", "area", "district", "ward"],
    "max_distance": [],
    "needed_by": ["neededby", "requiredby", "neededbydate", "requireddate", "datesneeded"],
}

# Running-cost component headers (summed when no single total column exists).
_COST_TOTAL = [
    "annualrunningcost",
    "runningcost",
    "runningcosts",
    "annualcost",
    "totalcost",
    "totalbuildingoperationcosts",
    "totalbuildingoperationrevenuecosts",
    "occupancycost",
    "occupancycosts",
    "totaloccupancycost",
    "annualrunningcostgbp",
    "runningcostgbp",
]
_COST_PARTS = [
    "softfm",
    "hardfm",
    "securitycosts",
    "othercosts",
    "unitarycharge",
    "rates",
    "annualrent",
    "rent",
    "rentpa",
    "annualrentgbp",
]

_AREA_UNIT_PATTERNS = [
    (r"sqft|ft2|sqfeet|squarefeet|squarefoot|ftsq", "sqft"),
    (r"sqm|m2|sqmetres|squaremetres|squaremeters|sqmeters|msq", "sqm"),
    (r"hectares|ha$", "ha"),
]
_FLOOR_PATTERNS = [
    (
        r"^(gia|grossinternalarea|grossinternal|buildingsize|floorarea|floorspace|gea|"
        r"grossexternalarea|buildingarea|totalfloorarea|area)",
        "GIA",
    ),
    (r"^(nia|netinternalarea|netinternal|netfloorarea|usablearea)", "NIA"),
]
_SURPLUS_PATTERNS = [
    r"^(vacantspace|vacantfloorarea|vacantarea|surplus|totalsurplusfloorarea|spare|"
    r"sparespace|surplusspace|surplusfloorarea|spacesurplus|spaceoffered|spareaccommodation)"
]
_NEEDED_PATTERNS = [r"^(spaceneeded|spacerequired|arearequired|areaneeded|sizeneeded|required)"]
_DISTANCE_PATTERNS = [r"^(maxdistance|maximumdistance|distance|radius|searchradius)"]


def _unit_from_header(norm: str) -> str | None:
    for pattern, unit in _AREA_UNIT_PATTERNS:
        if re.search(pattern, norm):
            return unit
    return None


@dataclass
class ColumnMap:
    """Which column of a register feeds which field, and how it was decided.

    Attributes
    ----------
    fields
        Field -> list of column names (one, except for summed or joined fields).
    how
        Field -> ``"profile"`` or ``"recognised header"``.
    units
        Area field -> unit.
    floor_area_basis
        ``"GIA"`` or ``"NIA"`` where a floor area column was found.
    unused
        Columns that feed no field.
    notes
        Plain-English notes (units assumed, columns summed...).
    sector
        The sector of every row the register's layout implies (``"health"`` for
        an NHS ODS extract), used where no sector is given; else ``None``.
    """

    fields: dict[str, list[str]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    floor_area_basis: str = "GIA"
    unused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sector: str | None = None

    def column(self, name: str) -> str | None:
        """Return the single column for a field, or ``None``."""
        cols = self.fields.get(name)
        return cols[0] if cols else None

    def preview(self) -> pd.DataFrame:
        """Return a table for people: field, meaning, column(s), how it was decided, unit."""
        rows = [
            {
                "field": name,
                "meaning": FIELDS[name],
                "column": ", ".join(cols),
                "how": self.how.get(name, ""),
                "unit": self.units.get(name, ""),
            }
            for name, cols in self.fields.items()
        ]
        return pd.DataFrame(rows, columns=["field", "meaning", "column", "how", "unit"])


def _match_pattern(norm: str, patterns: list[str]) -> bool:
    """Say whether a normalised header matches any of ``patterns``."""
    return any(re.search(p, norm) for p in patterns)


#: Fields recognised by the pattern of their header, in the order they are looked for.
_PATTERN_FIELDS = (
    ("surplus", _SURPLUS_PATTERNS),
    ("space_needed", _NEEDED_PATTERNS),
    ("max_distance", _DISTANCE_PATTERNS),
)


@dataclass
class _Recognition:
    """A column map being made: the headers, their normalised forms and those taken."""

    headers: list[str]
    cmap: ColumnMap = field(default_factory=ColumnMap)
    used: set[str] = field(default_factory=set)
    norms: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        """Normalise every header once."""
        self.norms = {h: normalise_header(h) for h in self.headers}

    def take(self, name: str, header: str) -> None:
        """Let ``header`` feed the field ``name``, as a recognised header."""
        self.cmap.fields.setdefault(name, []).append(header)
        self.cmap.how.setdefault(name, "recognised header")
        self.used.add(header)

    def free(self) -> list[str]:
        """Return the headers that feed no field yet, in the file's order."""
        return [h for h in self.headers if h not in self.used]


def _apply_profile(work: _Recognition, profile: Profile) -> None:
    """Take the columns, units and floor area basis the profile names.

    Raises
    ------
    ProfileError
        If the profile names columns the register does not have.
    """
    cmap, present = work.cmap, set(work.headers)
    missing = []
    for name, wanted in profile.columns.items():
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        missing += [f"{name} = {shown(w)}" for w in wanted_list if w not in present]
        cmap.fields[name] = [w for w in wanted_list if w in present]
        cmap.how[name] = "profile"
        work.used.update(wanted_list)
    if missing:
        raise ProfileError(
            "the profile names columns this register does not have: "
            + listing(missing, "; ")
            + f". Its columns are: {listing([str(h) for h in work.headers], ', ', limit=100)}"
        )
    for name, unit in profile.units.items():
        cmap.units[name] = unit
        cmap.how.setdefault(name, "profile")
    if profile.floor_area_basis:
        cmap.floor_area_basis = profile.floor_area_basis


def _take_synonyms(work: _Recognition) -> None:
    """Take the headers that are exact synonyms of a field, in each list's priority order."""
    by_norm: dict[str, list[str]] = {}  # normalised header -> headers, in the file's order
    for h in work.headers:
        by_norm.setdefault(work.norms[h], []).append(h)
    for name, synonyms in _SYNONYMS.items():
        if name in work.cmap.fields and work.cmap.how.get(name) == "profile":
            continue
        single = name not in MULTI_FIELDS
        for h in (h for synonym in synonyms for h in by_norm.get(synonym, ())):
            if h not in work.used:
                work.take(name, h)
                if single:
                    break


def _floor_area_header(work: _Recognition) -> tuple[str, str] | None:
    """Return the first header that names a floor area, and its basis (GIA or NIA)."""
    for pattern, basis in _FLOOR_PATTERNS:
        for h in work.free():
            n = work.norms[h]
            if not re.search(pattern, n):
                continue
            if n.startswith("area") and _unit_from_header(n) is None:
                continue  # a bare "Area" is too vague (often a place)
            if "land" in n:
                continue  # LandArea is never floor area
            return h, basis
    return None


def _take_by_pattern(work: _Recognition) -> None:
    """Take floor area, surplus, space needed and distance by their headers' patterns."""
    if "floor_area" not in work.cmap.fields:
        found = _floor_area_header(work)
        if found is not None:
            work.take("floor_area", found[0])
            if work.cmap.how["floor_area"] != "profile":  # a unit from the profile
                work.cmap.floor_area_basis = found[1]
    for name, patterns in _PATTERN_FIELDS:
        if name in work.cmap.fields:
            continue
        header = next((h for h in work.free() if _match_pattern(work.norms[h], patterns)), None)
        if header is not None:
            work.take(name, header)


def _take_running_cost(work: _Recognition) -> None:
    """Take one total running cost column, else the components to sum."""
    if "running_cost" in work.cmap.fields:
        return
    free = work.free()
    totals = [h for h in free if work.norms[h] in _COST_TOTAL]
    named = set(totals)
    totals += [h for h in free if h not in named and work.norms[h].startswith("runningcost")]
    if totals:
        work.take("running_cost", totals[0])
        return
    parts = [h for h in free if work.norms[h] in _COST_PARTS]
    for h in parts:
        work.take("running_cost", h)
    if len(parts) > 1:
        work.cmap.notes.append(f"annual running cost is the sum of {', '.join(parts)}")


def _unit_of(name: str, header: str, norm: str) -> tuple[str, str | None]:
    """Return the unit of an area field's header, and a note where it was assumed."""
    unit = _unit_from_header(norm)
    if unit is not None:
        return unit, None
    if norm == "buildingsize":
        return "sqm", f"{header!r} read in square metres (Local Government Transparency Code)"
    if name == "space_needed":
        return "sqft", f"{header!r} has no unit in its header: read as square feet"
    return "sqm", (
        f"{header!r} has no unit in its header: read as square metres "
        "(give units in a profile if it is square feet)"
    )


def _area_units(work: _Recognition) -> None:
    """Give each area field its unit: from the profile, else the header, else the standard's."""
    cmap = work.cmap
    for name in AREA_FIELDS:
        if not cmap.fields.get(name) or name in cmap.units:
            continue
        header = cmap.fields[name][0]
        cmap.units[name], note = _unit_of(name, header, work.norms[header])
        if note is not None:
            cmap.notes.append(note)
    if cmap.fields.get("floor_area") and cmap.floor_area_basis == "NIA":
        cmap.notes.append(
            f"{cmap.fields['floor_area'][0]!r} is net internal area: converted to gross "
            "internal area as NIA / 0.82 (a rule of thumb for offices)"
        )


def recognise_columns(headers: list[str], *, profile: Profile | None = None) -> ColumnMap:
    """Decide which column feeds which field.

    What the profile names comes first (for a headerless NHS ODS extract with no
    profile, what its layout names); then headers that are exact synonyms of a
    field; then floor areas, surplus space, space needed and distances by the
    patterns of their headers (which carry units); then the running cost, one
    total column or the sum of its components.

    Parameters
    ----------
    headers
        The register's column names.
    profile
        An explicit mapping; every column it names must exist.

    Returns
    -------
    ColumnMap

    Raises
    ------
    ProfileError
        If the profile names columns the register does not have.
    """
    work = _Recognition(list(headers))
    layout = layout_of_columns(work.headers) if profile is None else None
    if layout is not None:
        _apply_profile(work, Profile(columns=layout_fields(layout)))
        work.cmap.how = dict.fromkeys(work.cmap.how, f"ODS {layout.key} layout")
        work.cmap.sector = SECTOR
    if profile is not None:
        _apply_profile(work, profile)
    _take_synonyms(work)
    _take_by_pattern(work)
    _take_running_cost(work)
    _area_units(work)
    cmap = work.cmap
    # Drop empty profile entries and list what feeds nothing.
    cmap.fields = {k: v for k, v in cmap.fields.items() if v}
    cmap.unused = work.free()
    return cmap
