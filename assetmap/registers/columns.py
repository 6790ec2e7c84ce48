"""Recognise a register's columns, from common header names or a profile file.

Headers are compared case- and punctuation-insensitively against the names
that public registers use (the Local Government Transparency Code's GeoX,
GeoY, UPRN, BuildingSize, TenureType...; InSite's Security Classification;
plain Easting/Northing, Latitude/Longitude...). A profile file maps columns
explicitly where the headers are unusual; what it names always wins.

Profile format (TOML)::

    agency = "Kent Police"        # optional: the agency, when no column names it
    sector = "police"             # optional: police, health, dwp, council, fire, other
    kind = "sites"                # optional: sites or requests
    layer = "Estate"              # optional: sheet or layer to read

    [columns]                     # field = "header in the file" (or a list, summed)
    source_ref = "Station Ref"
    name = "Station"
    floor_area = "GIA"
    running_cost = ["Soft FM", "Hard FM", "Rates"]

    [units]                       # sqft, sqm or ha
    floor_area = "sqm"
    surplus = "sqft"

    [options]
    floor_area_basis = "GIA"      # GIA or NIA (NIA is converted: GIA = NIA / 0.82)
    crs = "EPSG:27700"            # coordinate system of x/y or WKT columns

A profile is small: at most :data:`MAX_PROFILE_BYTES` (256 KB), and a list of
headers names at most :data:`MAX_PROFILE_HEADERS` (2,000, the most columns a
register may have), each once.
"""

from __future__ import annotations

import collections
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ProfileError
from ..schema import AREA_UNITS, SECTORS
from .read import DEFAULT_MAX_COLUMNS, read_regular_file

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

#: The largest profile file read, in bytes (a profile is a few hundred bytes).
MAX_PROFILE_BYTES = 256 * 1024
#: The most headers a list in a profile may name: the most columns a register may have.
MAX_PROFILE_HEADERS = DEFAULT_MAX_COLUMNS
#: The deepest a profile may nest: brackets (``[ ]``, ``{ }``) inside each other, or the
#: parts of one dotted key (``a.b.c``); Python's TOML reader needs time and memory that
#: grow as the square of a key's parts, and recursion for each bracket.
MAX_PROFILE_DEPTH = 10
#: Problems (and values) listed in full in one message; the rest are counted.
_LISTED = 10

#: Fields a register's columns can map to, with a description for previews.
FIELDS: dict[str, str] = {
    "source_ref": "the register's own id for the site",
    "agency": "the body that holds the site",
    "sector": "police, health, dwp, council, fire or other",
    "name": "site name",
    "address": "address (one column)",
    "address_parts": "address parts, joined (street number, street, town...)",
    "postcode": "postcode",
    "uprn": "Unique Property Reference Number",
    "use": "what the site is used for",
    "tenure": "freehold, leasehold, licence...",
    "tenure_detail": "tenure detail (Owner Occupied, Vacant...)",
    "floor_area": "floor area (GIA, or NIA converted)",
    "surplus": "surplus or vacant floor space offered",
    "running_cost": "annual running cost (several columns are summed)",
    "lease_expiry": "lease expiry date",
    "sensitivity": "open or restricted (security classification)",
    "latitude": "latitude (WGS84)",
    "longitude": "longitude (WGS84)",
    "easting": "easting (British National Grid)",
    "northing": "northing (British National Grid)",
    "x": "x coordinate (GeoX: easting or longitude)",
    "y": "y coordinate (GeoY: northing or latitude)",
    "crs": "coordinate reference system of x/y (WGS84, OSGB36, ETRS89)",
    "wkt": "geometry as WKT text",
    "space_needed": "space needed (requests)",
    "locality": "locality code or name (requests)",
    "max_distance": "maximum distance in metres (requests)",
    "needed_by": "date the space is needed by (requests)",
}

#: Fields that may map to several columns.
MULTI_FIELDS = ("address_parts", "running_cost")


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
        "earliestbreakdate",
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
class Profile:
    """An explicit mapping for one register, read from a TOML profile file.

    Attributes
    ----------
    columns
        Field -> header (or list of headers) in the file.
    units
        Area field -> unit (``sqft``, ``sqm`` or ``ha``).
    agency, sector, kind, layer
        Register-level defaults.
    floor_area_basis
        ``"GIA"`` or ``"NIA"``.
    crs
        Coordinate system of x/y or WKT columns, e.g. ``"EPSG:27700"``.
    source
        Where the profile was read from.
    """

    columns: dict[str, str | list[str]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    agency: str | None = None
    sector: str | None = None
    kind: str | None = None
    layer: str | None = None
    floor_area_basis: str | None = None
    crs: str | None = None
    source: str = ""


#: The longest coordinate system text read (a WKT or PROJJSON definition is a few kB).
_MAX_CRS_CHARS = 20_000


def _shown(value: object, *, quote: bool = True) -> str:
    """A value from a profile for a message: its repr (or text), cut short when long."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _listing(items: list[str], sep: str, *, limit: int = _LISTED, noun: str = "") -> str:
    """``items`` joined by ``sep``: the first ``limit`` of them, and how many more."""
    if len(items) <= limit:
        return sep.join(items)
    more = f"and {len(items) - limit:,} more" + (f" {noun}" if noun else "")
    return sep.join([*items[:limit], more])


#: What :func:`_toml_depth` looks at; everything else is skipped.
_TOML_MARKS = re.compile(r"[\"'#\[\]{}.,=\n]")
#: The end of a string of each kind, from just after its opening quote(s).
_TOML_STRING_ENDS = {
    '"': re.compile(r'\\.|"|\n'),  # an escape, the closing quote or the line's end
    "'": re.compile(r"'|\n"),
    '"""': re.compile(r'\\.|"""', re.DOTALL),
    "'''": re.compile(r"'''"),
}


def _toml_depth(text: str) -> int:
    """The deepest nesting of brackets, or the most parts of one dotted key, in TOML text.

    Found without parsing it, in one pass (linear in its length): strings and
    comments are skipped. Text that is not valid TOML gets some number, and the
    reader then says what is wrong with it.
    """
    depth = deepest = parts = 0
    at = 0
    while (mark := _TOML_MARKS.search(text, at)) is not None:
        char, at = mark.group(), mark.end()
        if char == "#":
            end = text.find("\n", at)
            at = len(text) if end < 0 else end
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, at - 1) else char
            at += len(quote) - 1
            ends = _TOML_STRING_ENDS[quote]
            while (end := ends.search(text, at)) is not None and end.group()[0] == "\\":
                at = end.end()  # an escaped character
            at = len(text) if end is None else end.end()
            if len(quote) == 3:  # up to two more quotes belong to the string
                while at < len(text) and text[at] == char and text.startswith(quote, at - 3):
                    at += 1
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            parts = 0
        elif char in "]}":
            depth = max(depth - 1, 0)
            parts = 0
        elif char == ".":
            parts += 1
            deepest = max(deepest, parts + 1)
        else:  # "," "=" or a new line: a key or a value ends
            parts = 0
    return deepest


def load_profile(path: str | Path) -> Profile:
    """Read and check a register profile file.

    Parameters
    ----------
    path
        A TOML file in the format described in this module's docstring and the README.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        Listing every problem found in the file (the first ten, and how many more);
        or if the path is not a regular file, is larger than :data:`MAX_PROFILE_BYTES`,
        is not TOML or is nested too deeply to read.
    """
    path = Path(path)
    raw = read_regular_file(
        path,
        what="profile file",
        expected="a TOML profile file",
        error=ProfileError,
        max_bytes=MAX_PROFILE_BYTES,
    )
    too_deep = ProfileError(
        f"the profile {path.name!r} is nested too deeply to read (more than "
        f"{MAX_PROFILE_DEPTH} levels of brackets, or parts of a dotted key); a profile holds "
        "text, lists of text and tables of them"
    )
    try:
        text = raw.decode("utf-8")
        if _toml_depth(text) > MAX_PROFILE_DEPTH:
            raise too_deep
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"the profile {path.name!r} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables by recursion
        raise too_deep from None
    problems: list[str] = []
    known = {"agency", "sector", "kind", "layer", "columns", "units", "options"}
    for key in sorted(set(data) - known):
        problems.append(f"unknown key {_shown(key)} (expected one of: {', '.join(sorted(known))})")
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        problems.append('[columns] must be a table of field = "header"')
        columns = {}
    for name, header in columns.items():
        if name not in FIELDS:
            problems.append(
                f"columns.{_shown(name, quote=False)} is not a field; expected one of: "
                f"{', '.join(FIELDS)}"
            )
        elif isinstance(header, list):
            if name not in MULTI_FIELDS:
                problems.append(f"columns.{name} takes one header, not a list")
            elif len(header) > MAX_PROFILE_HEADERS:
                problems.append(
                    f"columns.{name} lists {len(header):,} headers, more than the limit of "
                    f"{MAX_PROFILE_HEADERS:,} (the most columns a register may have)"
                )
            elif not all(isinstance(h, str) for h in header):
                problems.append(f"columns.{name} must list headers as text")
            elif len(set(header)) < len(header):
                repeated = [h for h, n in collections.Counter(header).items() if n > 1]
                problems.append(
                    f"columns.{name} names {_listing([_shown(h) for h in repeated], ', ')} "
                    "more than once; name each header once"
                )
        elif not isinstance(header, str):
            problems.append(f"columns.{name} must be a header name in quotes")
    units = data.get("units", {})
    if not isinstance(units, dict):
        problems.append('[units] must be a table of field = "unit"')
        units = {}
    for name, unit in units.items():
        if name not in ("floor_area", "surplus", "space_needed"):
            problems.append(
                f"units.{_shown(name, quote=False)} is not an area field; expected floor_area, "
                "surplus or space_needed"
            )
        elif not isinstance(unit, str) or unit not in AREA_UNITS:
            problems.append(
                f"units.{name}={_shown(unit)} is not a unit; expected one of: "
                f"{', '.join(AREA_UNITS)}"
            )
    options = data.get("options", {})
    if not isinstance(options, dict):
        problems.append("[options] must be a table of floor_area_basis and crs")
        options = {}
    for key in sorted(set(options) - {"floor_area_basis", "crs"}):
        problems.append(f"unknown option {_shown(key)} (expected floor_area_basis or crs)")
    basis = options.get("floor_area_basis")
    if basis is not None and basis not in ("GIA", "NIA"):
        problems.append(
            f"options.floor_area_basis={_shown(basis)} is not valid; expected GIA or NIA"
        )
    sector = data.get("sector")
    if sector is not None and sector not in SECTORS:
        problems.append(
            f"sector={_shown(sector)} is not valid; expected one of: {', '.join(SECTORS)}"
        )
    kind = data.get("kind")
    if kind is not None and kind not in ("sites", "requests"):
        problems.append(f"kind={_shown(kind)} is not valid; expected sites or requests")
    for key in ("agency", "layer"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append(f"{key} must be text in quotes, not {_shown(data[key])}")
    crs = options.get("crs")
    if crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            if not isinstance(crs, str) or len(crs) > _MAX_CRS_CHARS:
                raise CRSError(crs)
            CRS.from_user_input(crs)
        except CRSError:
            problems.append(f"options.crs={_shown(crs)} is not a coordinate system pyproj knows")
    if problems:
        raise ProfileError(
            f"the profile {path.name!r} has problems: " + _listing(problems, "; ", noun="problems")
        )
    return Profile(
        columns=dict(columns),
        units=dict(units) if isinstance(units, dict) else {},
        agency=data.get("agency"),
        sector=sector,
        kind=kind,
        layer=data.get("layer"),
        floor_area_basis=basis,
        crs=crs,
        source=str(path),
    )


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
    """

    fields: dict[str, list[str]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    floor_area_basis: str = "GIA"
    unused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> str | None:
        """The single column for a field, or ``None``."""
        cols = self.fields.get(name)
        return cols[0] if cols else None

    def preview(self) -> pd.DataFrame:
        """A table for people: field, description, column(s), how it was decided, unit."""
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
    return any(re.search(p, norm) for p in patterns)


def recognise_columns(headers: list[str], *, profile: Profile | None = None) -> ColumnMap:
    """Decide which column feeds which field.

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
    cmap = ColumnMap()
    used: set[str] = set()
    norms = {h: normalise_header(h) for h in headers}
    present = set(headers)
    by_norm: dict[str, list[str]] = {}  # normalised header -> headers, in the file's order
    for h in headers:
        by_norm.setdefault(norms[h], []).append(h)

    if profile is not None:
        missing = []
        for name, wanted in profile.columns.items():
            wanted_list = wanted if isinstance(wanted, list) else [wanted]
            for w in wanted_list:
                if w not in present:
                    missing.append(f"{name} = {_shown(w)}")
            cmap.fields[name] = [w for w in wanted_list if w in present]
            cmap.how[name] = "profile"
            used.update(wanted_list)
        if missing:
            raise ProfileError(
                "the profile names columns this register does not have: "
                + _listing(missing, "; ")
                + f". Its columns are: {_listing([str(h) for h in headers], ', ', limit=100)}"
            )
        for name, unit in profile.units.items():
            cmap.units[name] = unit
            cmap.how.setdefault(name, "profile")
        if profile.floor_area_basis:
            cmap.floor_area_basis = profile.floor_area_basis

    def take(name: str, header: str) -> None:
        cmap.fields.setdefault(name, []).append(header)
        cmap.how.setdefault(name, "recognised header")
        used.add(header)

    # Exact synonyms, in the priority order of each list.
    for name, synonyms in _SYNONYMS.items():
        if name in cmap.fields and cmap.how.get(name) == "profile":
            continue
        for synonym in synonyms:
            for h in by_norm.get(synonym, ()):
                if h in used:
                    continue
                take(name, h)
                if name not in MULTI_FIELDS:
                    break
            if name in cmap.fields and name not in MULTI_FIELDS:
                break

    # Areas and distances, recognised by pattern (their headers carry units).
    def by_pattern(name: str, patterns: list[str]) -> None:
        if name in cmap.fields:
            return
        for h in headers:
            if h not in used and _match_pattern(norms[h], patterns):
                take(name, h)
                return

    if "floor_area" not in cmap.fields:
        for patterns, basis in [([p], b) for p, b in _FLOOR_PATTERNS]:
            for h in headers:
                n = norms[h]
                if h in used or not _match_pattern(n, patterns):
                    continue
                if n.startswith("area") and _unit_from_header(n) is None:
                    continue  # a bare "Area" is too vague (often a place)
                if "land" in n:
                    continue  # LandArea is never floor area
                take("floor_area", h)
                if cmap.how["floor_area"] != "profile":
                    cmap.floor_area_basis = basis
                break
            if "floor_area" in cmap.fields:
                break
    by_pattern("surplus", _SURPLUS_PATTERNS)
    by_pattern("space_needed", _NEEDED_PATTERNS)
    by_pattern("max_distance", _DISTANCE_PATTERNS)

    # Running cost: one total column, else the sum of its components.
    if "running_cost" not in cmap.fields:
        totals = [h for h in headers if h not in used and norms[h] in _COST_TOTAL]
        named = set(totals)
        totals += [
            h
            for h in headers
            if h not in used and h not in named and norms[h].startswith("runningcost")
        ]
        if totals:
            take("running_cost", totals[0])
        else:
            parts = [h for h in headers if h not in used and norms[h] in _COST_PARTS]
            for h in parts:
                take("running_cost", h)
            if len(parts) > 1:
                cmap.notes.append(f"annual running cost is the sum of {', '.join(parts)}")

    # Units of area fields: from the profile, else the header, else the standard's unit.
    for name in ("floor_area", "surplus", "space_needed"):
        if name not in cmap.fields or not cmap.fields[name] or name in cmap.units:
            continue
        header = cmap.fields[name][0]
        unit = _unit_from_header(norms[header])
        if unit is None:
            if norms[header] == "buildingsize":
                unit = "sqm"
                cmap.notes.append(
                    f"{header!r} read in square metres (Local Government Transparency Code)"
                )
            elif name == "space_needed":
                unit = "sqft"
                cmap.notes.append(f"{header!r} has no unit in its header: read as square feet")
            else:
                unit = "sqm"
                cmap.notes.append(
                    f"{header!r} has no unit in its header: read as square metres "
                    "(give units in a profile if it is square feet)"
                )
        cmap.units[name] = unit
    if cmap.fields.get("floor_area") and cmap.floor_area_basis == "NIA":
        cmap.notes.append(
            f"{cmap.fields['floor_area'][0]!r} is net internal area: converted to gross "
            "internal area as NIA / 0.82 (a rule of thumb for offices)"
        )

    # Drop empty profile entries and list what feeds nothing.
    cmap.fields = {k: v for k, v in cmap.fields.items() if v}
    cmap.unused = [h for h in headers if h not in used]
    return cmap
