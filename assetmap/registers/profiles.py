"""Read and check a register profile: a small TOML file that maps a register's columns.

A profile names the columns whose headers assetmap does not recognise, the units of
area columns and the register's defaults; what it names always wins. It also holds
:data:`FIELDS`, the fields a register's columns can map to.

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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from ..errors import ProfileError
from ..schema import AREA_UNITS, SECTORS
from .limits import DEFAULT_MAX_COLUMNS
from .read import read_regular_file

__all__ = [
    "AREA_FIELDS",
    "FIELDS",
    "MAX_PROFILE_BYTES",
    "MAX_PROFILE_DEPTH",
    "MAX_PROFILE_HEADERS",
    "MULTI_FIELDS",
    "Profile",
    "listing",
    "load_profile",
    "shown",
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
    "next_break": "next (earliest) lease break date",
    "last_break": "last lease break date",
    "rent_review": "next rent review date",
    "notice_months": "notice a lease break needs (months; '6 months', '1 year', '90 days')",
    "break_penalty": "one-off penalty for using a lease break (£)",
    "capital_value": "capital value of the site (£): what a disposal would receive",
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
    "close_date": "the date the organisation closed (a closed one is quarantined)",
    "status": "status code (C, CLOSED or INACTIVE: closed, quarantined)",
}

#: Fields that may map to several columns.
MULTI_FIELDS = ("address_parts", "running_cost")
#: The fields measured in area, whose unit a profile may give.
AREA_FIELDS = ("floor_area", "surplus", "space_needed")


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


def shown(value: object, *, quote: bool = True) -> str:
    """Show a value from a profile in a message: its repr (or text), cut short when long."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def listing(items: list[str], sep: str, *, limit: int = _LISTED, noun: str = "") -> str:
    """Join ``items`` with ``sep``: the first ``limit`` of them, and how many more."""
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
    """Measure the deepest nesting of brackets, or the most parts of one dotted key, in TOML.

    Found without parsing it, in one pass (linear in its length): strings and
    comments are skipped. Text that is not valid TOML gets some number, and the
    reader then says what is wrong with it.
    """
    depth = deepest = parts = 0
    at = 0
    while (mark := _TOML_MARKS.search(text, at)) is not None:
        char, at = mark.group(), mark.end()
        if char == "#":
            newline = text.find("\n", at)
            at = len(text) if newline < 0 else newline
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


def _read_toml(path: Path) -> dict[str, object]:
    """Read a profile file as TOML, refusing a file too large or nested too deeply to read.

    Raises
    ------
    ProfileError
        If the path is not a regular file, is too large, is not TOML or is nested too deeply.
    """
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
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"the profile {path.name!r} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables by recursion
        raise too_deep from None


#: The tables of a profile, with what each must be when it is not a table.
_PROFILE_TABLES = {
    "columns": '[columns] must be a table of field = "header"',
    "units": '[units] must be a table of field = "unit"',
    "options": "[options] must be a table of floor_area_basis and crs",
}
#: The keys a profile may have.
_PROFILE_KEYS = {"agency", "sector", "kind", "layer", *_PROFILE_TABLES}


def _profile_table(data: dict[str, object], key: str, problems: list[str]) -> dict[str, object]:
    """Return the profile's table ``key`` (empty when absent), noting one that is not a table."""
    table = data.get(key, {})
    if isinstance(table, dict):
        return table
    problems.append(_PROFILE_TABLES[key])
    return {}


def _header_list_problem(name: str, headers: list[object]) -> str | None:
    """Return what is wrong with a list of headers for the field ``name``, or ``None``."""
    if name not in MULTI_FIELDS:
        return f"columns.{name} takes one header, not a list"
    if len(headers) > MAX_PROFILE_HEADERS:
        return (
            f"columns.{name} lists {len(headers):,} headers, more than the limit of "
            f"{MAX_PROFILE_HEADERS:,} (the most columns a register may have)"
        )
    if not all(isinstance(h, str) for h in headers):
        return f"columns.{name} must list headers as text"
    if len(set(headers)) < len(headers):
        repeated = [h for h, n in collections.Counter(headers).items() if n > 1]
        return (
            f"columns.{name} names {listing([shown(h) for h in repeated], ', ')} "
            "more than once; name each header once"
        )
    return None


def _header_problem(name: str, header: object) -> str | None:
    """Return what is wrong with the header(s) a profile gives for the field ``name``."""
    if isinstance(header, list):
        return _header_list_problem(name, header)
    if not isinstance(header, str):
        return f"columns.{name} must be a header name in quotes"
    return None


def _unit_problem(name: str, unit: object) -> str | None:
    """Return what is wrong with the unit a profile gives for the area field ``name``."""
    if not isinstance(unit, str) or unit not in AREA_UNITS:
        return f"units.{name}={shown(unit)} is not a unit; expected one of: {', '.join(AREA_UNITS)}"
    return None


#: The checks of a profile's tables of fields: what the keys must be, and each value.
_ENTRY_CHECKS: dict[str, tuple[Collection[str], str, Callable[[str, object], str | None]]] = {
    "columns": (FIELDS, f"a field; expected one of: {', '.join(FIELDS)}", _header_problem),
    "units": (
        AREA_FIELDS,
        "an area field; expected floor_area, surplus or space_needed",
        _unit_problem,
    ),
}


def _entry_problems(section: str, table: dict[str, object]) -> list[str]:
    """Return what is wrong with the entries of the profile's table ``section``."""
    known, expected, value_problem = _ENTRY_CHECKS[section]
    problems = []
    for name, value in table.items():
        if name not in known:
            problems.append(f"{section}.{shown(name, quote=False)} is not {expected}")
        elif (problem := value_problem(name, value)) is not None:
            problems.append(problem)
    return problems


def _choice_problems(data: dict[str, object], options: dict[str, object]) -> list[str]:
    """Return what is wrong with a profile's choices and texts (basis, sector, kind...)."""
    problems = [
        f"unknown option {shown(key)} (expected floor_area_basis or crs)"
        for key in sorted(set(options) - {"floor_area_basis", "crs"})
    ]
    choices = (
        ("options.floor_area_basis", options.get("floor_area_basis"), ("GIA", "NIA"), "GIA or NIA"),
        ("sector", data.get("sector"), SECTORS, f"one of: {', '.join(SECTORS)}"),
        ("kind", data.get("kind"), ("sites", "requests"), "sites or requests"),
    )
    for label, value, allowed, expected in choices:
        if value is not None and value not in allowed:
            problems.append(f"{label}={shown(value)} is not valid; expected {expected}")
    for key in ("agency", "layer"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append(f"{key} must be text in quotes, not {shown(data[key])}")
    return problems


def _crs_problem(crs: object) -> str | None:
    """Return why a profile's ``options.crs`` is not a coordinate system, or ``None``."""
    if crs is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    problem = f"options.crs={shown(crs)} is not a coordinate system pyproj knows"
    if not isinstance(crs, str) or len(crs) > _MAX_CRS_CHARS:
        return problem
    try:
        CRS.from_user_input(crs)
    except CRSError:
        return problem
    return None


def _optional_text(data: dict[str, object], key: str) -> str | None:
    """Return the text at ``key`` of a checked profile, or ``None`` where it is absent."""
    value = data.get(key)
    return value if isinstance(value, str) else None


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
    data = _read_toml(path)
    problems = [
        f"unknown key {shown(key)} (expected one of: {', '.join(sorted(_PROFILE_KEYS))})"
        for key in sorted(set(data) - _PROFILE_KEYS)
    ]
    columns = _profile_table(data, "columns", problems)
    problems += _entry_problems("columns", columns)
    units = _profile_table(data, "units", problems)
    problems += _entry_problems("units", units)
    options = _profile_table(data, "options", problems)
    problems += _choice_problems(data, options)
    crs_problem = _crs_problem(options.get("crs"))
    if crs_problem is not None:
        problems.append(crs_problem)
    if problems:
        raise ProfileError(
            f"the profile {path.name!r} has problems: " + listing(problems, "; ", noun="problems")
        )
    return Profile(
        columns=cast("dict[str, str | list[str]]", dict(columns)),
        units=cast("dict[str, str]", dict(units)),
        agency=_optional_text(data, "agency"),
        sector=_optional_text(data, "sector"),
        kind=_optional_text(data, "kind"),
        layer=_optional_text(data, "layer"),
        floor_area_basis=_optional_text(options, "floor_area_basis"),
        crs=_optional_text(options, "crs"),
        source=str(path),
    )
