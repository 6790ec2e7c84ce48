"""Check every row of a register and split it into canonical rows and quarantine.

Nothing is lost and nothing is silent: each input row ends either in the
canonical table or in the quarantine table, where each fault has its own row
(row number, column, bad value, and a reason a person understands).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from ..access import is_restricted
from ..errors import InvalidArgumentError
from ..schema import (
    AREA_UNITS,
    CRS_BNG,
    NIA_TO_GIA,
    QUARANTINE_COLUMNS,
    REQUEST_COLUMNS,
    SECTORS,
    SITE_COLUMNS,
    classify_use,
    normalise_sector,
    normalise_sensitivity,
    normalise_tenure,
    one_value,
    string_bytes,
    stripped_text,
)
from .columns import ColumnMap
from .locate import _MISSING, Located, Problem, arrow_strings, constant_text, parse_numbers

__all__ = [
    "REASONS",
    "SiteChecks",
    "check_requests",
    "check_sites",
    "parse_area",
    "parse_dates",
    "parse_money",
    "shared_groups",
    "stable_ids",
]

#: Reason codes for quarantined rows, with the description used in reports.
REASONS: dict[str, str] = {
    "missing_location": "missing location",
    "postcode_malformed": "postcode is not a UK postcode",
    "postcode_partial": "postcode incomplete (first half only)",
    "postcode_not_found": "postcode not found",
    "outside_gb": "coordinates outside Great Britain",
    "latlon_swapped": "latitude and longitude swapped",
    "bad_coordinates": "coordinates are not numbers",
    "bad_geometry": "geometry cannot be read",
    "negative_area": "negative area",
    "non_numeric_area": "non-numeric area",
    "surplus_exceeds_area": "surplus larger than the floor area",
    "bad_money": "running cost is not an amount",
    "bad_date": "date cannot be read",
    "bad_sector": "sector not recognised",
    "bad_sensitivity": "sensitivity not recognised",
    "no_name": "no name, address or reference",
    "no_agency": "no agency",
    "bad_distance": "maximum distance is not a positive number",
    "no_space_needed": "space needed is missing",
    "duplicate": "duplicate row",
}

_UNIT_IN_CELL = [
    (r"(?:sq\.?\s*ft|ft2|ft²|square\s*feet|sqft)\s*$", "sqft"),
    (r"(?:sq\.?\s*m|m2|m²|square\s*met(?:re|er)s?|sqm)\s*$", "sqm"),
    (r"(?:ha|hectares?)\s*$", "ha"),
]


def parse_area(values: pd.Series, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse areas written as text and convert them to square feet.

    A unit written in the cell (``"1,200 sq ft"``, ``"85 m²"``) wins over ``unit``.

    Parameters
    ----------
    values
        Text such as ``"1,234"``, ``"415.05"`` or ``"2,000 sq ft"``.
    unit
        The column's unit, a key of :data:`assetmap.schema.AREA_UNITS`.

    Returns
    -------
    sqft, bad
        Square feet (NaN where missing or unreadable) and a boolean array, True
        where text was present but not a number.
    """
    if not _has_letters(values):  # the common case: plain numbers, fast
        numbers, bad = parse_numbers(values)
        return numbers * AREA_UNITS[unit], bad
    text = values.fillna("").astype(str).str.strip().str.lower()
    factor = np.full(len(text), AREA_UNITS[unit])
    for pattern, cell_unit in _UNIT_IN_CELL:
        has = text.str.contains(pattern, regex=True).to_numpy()
        if has.any():
            factor[has] = AREA_UNITS[cell_unit]
            text = text.where(~has, text.str.replace(pattern, "", regex=True).str.strip())
    numbers, bad = parse_numbers(text)
    return numbers * factor, bad


def parse_money(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse money written as text, in pounds.

    Understands ``"£1,234"``, ``"1234.50"``, ``"GBP 2,000"``, ``"£1.2m"``,
    ``"£45k"``, ``"(1,000)"`` (negative) and ``"£12,000 pa"``.

    Returns
    -------
    pounds, bad
        Floats (NaN where missing) and a boolean array, True where text was
        present but not an amount.
    """
    if not _has_letters(values, extra="()"):  # plain amounts, perhaps with £ and commas
        import pyarrow.compute as pc

        arr = arrow_strings(values)
        arr = pc.replace_substring(pc.replace_substring(arr, "£", ""), ",", "")
        return parse_numbers(
            pd.Series(arr, index=values.index, dtype=pd.StringDtype(na_value=np.nan))
        )
    text = values.fillna("").astype(str).str.strip().str.lower()
    text = text.str.replace(r"(?:£|gbp|\s|,|p\.?a\.?$|per annum$)", "", regex=True)
    negative = text.str.match(r"^\(.*\)$").to_numpy()
    text = text.str.strip("()")
    mult = np.ones(len(text))
    for suffix, m in (("k", 1e3), ("m", 1e6), ("bn", 1e9)):
        has = text.str.match(rf"^-?[0-9.]+{suffix}$").to_numpy()
        mult[has] = m
        text = text.where(~has, text.str.slice(0, -len(suffix)))
    numbers, bad = parse_numbers(text)
    numbers = numbers * mult
    numbers[negative] = -numbers[negative]
    return numbers, bad


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%d/%m/%y", "%Y/%m/%d")


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse dates written as text to ISO ``YYYY-MM-DD``.

    ISO dates (with or without a time) are read first; then UK day-first forms
    such as ``31/03/2027``, ``31-03-2027`` and ``31 March 2027``.

    Returns
    -------
    iso, bad
        ISO date strings (``""`` where missing) and a boolean array, True where
        text was present but not a date.
    """
    text = values.fillna("").astype(str).str.strip()
    missing = text.str.lower().isin(_MISSING)
    parsed = pd.to_datetime(text.where(~missing), format="ISO8601", errors="coerce")
    for fmt in _DATE_FORMATS:
        todo = parsed.isna() & ~missing
        if not todo.any():
            break
        parsed = parsed.where(~todo, pd.to_datetime(text.where(todo), format=fmt, errors="coerce"))
    iso = parsed.dt.strftime("%Y-%m-%d").fillna("")
    bad = (~missing & parsed.isna()).to_numpy()
    return iso, bad


def _text(table: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return constant_text("", table.index)
    return stripped_text(table[column])


def _date_field(table: pd.DataFrame, cmap, field: str, reason: str, col) -> pd.Series:
    """A date field as ISO text (``""`` where the register has no such column); values
    that are not dates are quarantined through ``col`` with ``reason``.
    """
    column = cmap.column(field)
    if column is None:
        return constant_text("", table.index)
    dates, bad = parse_dates(table[column])
    col.add(bad, column, table[column], "bad_date", reason)
    return dates


def _sensitivity(table: pd.DataFrame, cmap, col) -> pd.Series:
    """Each row's sensitivity (``open`` where the register has no such column); values not
    recognised are quarantined through ``col``.
    """
    se_col = cmap.column("sensitivity")
    if se_col is None:
        return constant_text("open", table.index)
    sensitivity = normalise_sensitivity(_text(table, se_col))
    col.add(
        (sensitivity == "").to_numpy(),
        se_col,
        table[se_col],
        "bad_sensitivity",
        "the sensitivity is not recognised (expected open/OFFICIAL or "
        "restricted/OFFICIAL-SENSITIVE)",
    )
    return sensitivity


def _has_letters(values: pd.Series, extra: str = "") -> bool:
    """Whether any value holds a letter (or one of ``extra``): units, words, suffixes.

    A letter is ``A-Z``, ``a-z`` or ``²``; the bytes are looked at directly (UTF-8
    never puts an ASCII byte inside another character, and ``²`` is C2 B2).
    """
    offsets, data = string_bytes(arrow_strings(values))
    data = data[offsets[0] : offsets[-1]] if len(data) else data
    if not len(data):
        return False
    wanted = _LETTER_BYTES.copy()
    wanted[list(extra.encode("ascii"))] = True
    if wanted[data].any():
        return True
    return bool(((data[:-1] == 0xC2) & (data[1:] == 0xB2)).any())


_LETTER_BYTES = np.zeros(256, dtype=bool)
_LETTER_BYTES[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")] = True


def _norm_key(values: pd.Series) -> pd.Series:
    """Lower-case letters and digits only: ``"The Hub, Sale"`` -> ``"thehubsale"``."""
    import pyarrow.compute as pc

    arr = arrow_strings(values)
    if len(arr) > 1 and one_value(arr):  # one value (an agency): normalised once
        one = pc.replace_substring_regex(pc.utf8_lower(arr[:1]), "[^a-z0-9]", "")[0].as_py()
        return constant_text(one, values.index)
    arr = pc.replace_substring_regex(pc.utf8_lower(arr), "[^a-z0-9]", "")
    return pd.Series(arr, index=values.index, dtype=pd.StringDtype(na_value=np.nan))


def stable_ids(prefix: str, parts: list[pd.Series]) -> pd.Series:
    """Deterministic ids from key parts: the same parts always give the same id.

    Parameters
    ----------
    prefix
        ``"S"`` for sites, ``"R"`` for requests.
    parts
        Aligned text series that together identify a record.

    Returns
    -------
    pandas.Series
        Ids such as ``"S3f9a0c1d2e4b5a67"`` (a 64-bit hash in hex).
    """
    return pd.Series(_hex(prefix, _key_hashes(parts)), index=parts[0].index)


def _starts_vacant(use: pd.Series) -> pd.Series:
    """Whether each use, in any case, starts "vacant" (and has no line break after)."""
    import pyarrow.compute as pc

    hit = pc.match_substring_regex(arrow_strings(use), r"^vacant[^\n]*$", ignore_case=True)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=use.index)


def _either_text(mask: np.ndarray, yes: str, no: str, index: pd.Index) -> pd.Series:
    """A text column (dtype ``str``): ``yes`` where ``mask``, else ``no``."""
    import pyarrow as pa

    labels = pa.array([no, yes], type=pa.large_string()).take(pa.array(mask.astype(np.int8)))
    return pd.Series(pd.array(labels, dtype=pd.StringDtype(na_value=np.nan)), index=index)


def _object_text(values: np.ndarray, index: pd.Index) -> pd.Series:
    """A numpy array of Python strings as a text column (dtype ``str``); one value on
    every row (how a register is mostly located) is built without a conversion.
    """
    if len(values) and (values == values[0]).all():
        return constant_text(values[0], index)
    return pd.Series(values, index=index, dtype="str")


@functools.lru_cache(maxsize=256)
def _hash_one(value: str) -> np.uint64:
    """One text's hash, as :func:`_key_hashes` hashes each part (an agency or sector
    is the same on every row of a register, and of each of its chunks).
    """
    return np.uint64(pd.util.hash_array(np.array([value], dtype=object))[0])


def _key_hashes(parts: list[pd.Series | str]) -> np.ndarray:
    """The 64-bit hash behind :func:`stable_ids`: equal parts, equal hash, equal id.

    A part may be one text for every row (then it hashes as a column holding it
    would); at least one part is a column.

    Each part's text is hashed with pandas' SipHash (``pandas.util.hash_array``),
    and the parts are combined by multiply-and-add modulo 2**64. The id is this
    number in hex, so two rows have the same id exactly when they have the same
    hash, and duplicates can be found on the numbers, without the text.
    """
    n = next(len(part) for part in parts if not isinstance(part, str))
    hashed = np.zeros(n, dtype=np.uint64)
    for part in parts:
        if isinstance(part, str):
            with np.errstate(over="ignore"):
                hashed = hashed * np.uint64(0x9E3779B97F4A7C15) + _hash_one(part)
            continue
        text = part.astype(str)
        if len(text) and one_value(arrow_strings(text)):  # one value for all: hash it once
            h = np.full(len(text), _hash_one(text.iloc[0]), dtype=np.uint64)
        else:
            # categorize=False gives the same hashes; it only skips a factorisation that
            # costs more than it saves when most values are distinct, as keys are
            h = pd.util.hash_array(text.to_numpy(dtype=object), categorize=False)
            h = h.astype(np.uint64)
        with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
            hashed = hashed * np.uint64(0x9E3779B97F4A7C15) + h
    return hashed


#: Two hex digits for each byte value, as one little-endian 16-bit unit each.
_HEX_UNITS = np.frombuffer(
    "".join(f"{i:02x}" for i in range(256)).encode("ascii"), dtype="<u2"
).copy()


def _hex(prefix: str, values: np.ndarray):
    """``prefix`` + 16 hex digits for each unsigned 64-bit value, vectorised."""
    import pyarrow as pa

    n = len(values)
    big_endian = values.astype(">u8").view(np.uint8).reshape(n, 8)
    record = np.dtype([("prefix", "u1"), ("digits", "<u2", (8,))])  # packed: 17 bytes
    chars = np.empty(n, dtype=record)
    chars["prefix"] = ord(prefix)
    chars["digits"] = _HEX_UNITS[big_endian]
    offsets = np.arange(0, 17 * (n + 1), 17, dtype=np.int32)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
    return pd.array(arr, dtype=pd.StringDtype(na_value=np.nan))


class _Collector:
    """Collects problems from every check; no check stops the others."""

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.problems: list[Problem] = []

    def add(self, mask, column, values, code, messages):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.problems.append(Problem(mask, column or "", values, code, messages))

    def any_mask(self) -> np.ndarray:
        out = np.zeros(len(self.table), dtype=bool)
        for p in self.problems:
            out |= p.mask
        return out

    def parts(self, rows: np.ndarray) -> list[pd.DataFrame]:
        """One frame per problem (``row``, ``column``, ``value``, ``reason_code``, ``reason``)."""
        parts = []
        for p in self.problems:
            idx = np.flatnonzero(p.mask)
            values = p.values.to_numpy(dtype=object)[idx] if len(p.values) else ""
            messages = (
                p.messages.to_numpy(dtype=object)[idx]
                if isinstance(p.messages, pd.Series)
                else p.messages
            )
            parts.append(
                pd.DataFrame(
                    {
                        "row": rows[idx],
                        "column": p.column,
                        "value": values,
                        "reason_code": p.code,
                        "reason": messages,
                    }
                )
            )
        return parts

    def frame(self, rows: np.ndarray) -> pd.DataFrame:
        return _problem_frame(self.parts(rows))


def _problem_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The quarantine rows of some problems, ordered by row and reason (stably)."""
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="object")
                for c in ["row", "column", "value", "reason_code", "reason"]
            }
        )
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype(str)
    return out.sort_values(["row", "reason_code"], kind="stable").reset_index(drop=True)


def _resolve_agency_sector(table, cmap, col, *, agency, sector):
    """Agency and sector: explicit arguments win, then columns, then the agency's name.

    Returns the agency, the sector and how many rows' sector was set to "other"
    (see :func:`_sector_note`).
    """
    guessed_rows = 0
    if agency:
        agency_s = constant_text(agency, table.index)
        no_agency = np.zeros(len(table), dtype=bool)
    else:
        agency_s = _text(table, cmap.column("agency"))
        no_agency = (agency_s == "").to_numpy()
    col.add(
        no_agency,
        cmap.column("agency") or "(agency)",
        agency_s,
        "no_agency",
        "no agency: the register names none; give one with --agency or a profile",
    )
    if sector:
        sector_s = constant_text(sector, table.index)
    else:
        sector_col = cmap.column("sector")
        raw = _text(table, sector_col)
        sector_s = normalise_sector(raw)
        unknown = (raw != "") & (sector_s == "")
        # a sector column with a value nobody can read is a fault, not a guess
        col.add(
            unknown.to_numpy(),
            sector_col,
            raw,
            "bad_sector",
            f"the sector is not one of: {', '.join(SECTORS)}",
        )
        sector_s = sector_s.where((sector_s != "") | unknown, normalise_sector(agency_s))
        guessed = (raw == "") & (sector_s == "") & (agency_s != "")
        guessed_rows = int(guessed.sum())
        sector_s = sector_s.where(~guessed, "other")
    return agency_s, sector_s, guessed_rows


def _sector_note(rows: int) -> list[str]:
    """The report's note on sectors set to "other" (none when ``rows`` is 0)."""
    if not rows:
        return []
    return [
        f"{rows:,} rows: the sector could not be told from the agency "
        "name and was set to 'other' (give --sector)"
    ]


def check_sites(
    table: pd.DataFrame,
    row_numbers: np.ndarray,
    cmap: ColumnMap,
    located: Located,
    *,
    agency: str | None = None,
    sector: str | None = None,
    points: bool = True,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Check a register of sites and build canonical rows.

    Parameters
    ----------
    table
        The register as text.
    row_numbers
        Row numbers as a person would find them, aligned to ``table``.
    cmap
        The recognised columns.
    located
        Locations from :func:`assetmap.registers.locate.locate_rows`.
    agency, sector
        Register-level values; they win over the register's own columns.
    points
        Whether the sites get shapely points (a GeoDataFrame); when False they
        are a DataFrame with ``easting`` and ``northing`` columns instead, as
        :class:`assetmap.store.SourceUpdate` accepts them (much faster for a store
        write that never needs the points as objects).

    Returns
    -------
    sites, footprints, quarantine, notes
        Canonical sites (without provenance columns, which the importer adds),
        their polygon footprints (``site_id``, geometry), the quarantine rows,
        and notes for the import report.
    """
    checks = SiteChecks(table, row_numbers, cmap, located, agency=agency, sector=sector)
    sites = checks.chunk(0, checks.n)
    if points:
        xy = sites.pop("easting").to_numpy(), sites.pop("northing").to_numpy()
        sites = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(*xy, crs=CRS_BNG), crs=CRS_BNG)
    footprints, quarantine, notes = checks.finish()
    return sites, footprints, quarantine, notes


class SiteChecks:
    """The checks of :func:`check_sites`, a chunk of rows at a time.

    :meth:`chunk` checks the next rows and returns those of them that are
    accepted, so an import can store one chunk while the next is checked. Every
    check is of one row, except the duplicates, and a row is a duplicate of an
    *earlier* row: the ids seen so far are kept (sorted, with the row of each
    one's first appearance), so a chunk needs only the rows before it.
    :meth:`finish`, once every row has been through :meth:`chunk` in order, gives
    the footprints, the quarantine and the notes, exactly as a check of the whole
    register at once gives them.

    Parameters are those of :func:`check_sites`, except that ``located`` may
    also be a function that locates the rows of a chunk (a slice of ``table``,
    indexed from 0), for a register whose rows are located each on its own (see
    :func:`assetmap.registers.locate.row_local`). Chunks are returned with
    ``easting`` and ``northing`` columns (see ``points=False`` there).
    """

    def __init__(
        self,
        table: pd.DataFrame,
        row_numbers: np.ndarray,
        cmap: ColumnMap,
        located: Located | Callable[[pd.DataFrame], Located],
        *,
        agency: str | None = None,
        sector: str | None = None,
    ) -> None:
        self.table = table.reset_index(drop=True)
        self._notes: list[str] = []
        self.cmap, self.located = cmap, located
        self.agency, self.sector = agency, sector
        # the agency as ids know it (see _norm_key), when one agency holds every row
        self._agency_key = _norm_key(pd.Series([agency])).iloc[0] if agency else ""
        self.rows = np.asarray(row_numbers)
        self.n = len(self.table)
        if not callable(located):
            self.postcode = located.postcode.reset_index(drop=True)
            self._notes = list(located.notes)
        self._seen = np.empty(0, dtype=np.uint64)  # ids so far (as numbers), sorted
        # each chunk's new ids, sorted, and their rows: where an earlier duplicate is first
        self._firsts: list[tuple[np.ndarray, np.ndarray]] = []
        self._parts: list[pd.DataFrame] = []
        self._footprints: list[tuple[np.ndarray, np.ndarray]] = []
        self._counts = {"guessed": 0, "bad_uprn": 0, "vacant": 0}
        self._done = 0

    def chunk(self, start: int, stop: int) -> pd.DataFrame:
        """Check rows ``start:stop`` (the next ones) and return the accepted ones.

        Returns
        -------
        pandas.DataFrame
            Canonical sites with ``easting`` and ``northing``, without provenance.
        """
        if start != self._done or not start <= stop <= self.n:
            raise InvalidArgumentError(
                f"rows {start}:{stop} are not the next chunk: expected start={self._done} "
                f"and a stop from {self._done} to {self.n}"
            )
        self._done = stop
        cmap, counts = self.cmap, self._counts
        table = _slice(self.table, start, stop)
        rows = self.rows[start:stop]
        n = len(table)
        if callable(self.located):  # located a chunk at a time
            located = self.located(table)
            self._notes += [note for note in located.notes if note not in self._notes]
            postcode = located.postcode.reset_index(drop=True)
            at = slice(0, n)
        else:
            located = self.located
            postcode = _slice(self.postcode, start, stop)
            at = slice(start, stop)
        col = _Collector(table)
        for p in located.problems:
            messages = p.messages
            if isinstance(messages, pd.Series):
                messages = _slice(messages, at.start, at.stop)
            values = _slice(p.values, at.start, at.stop) if len(p.values) else p.values
            col.add(p.mask[at], p.column, values, p.code, messages)
        agency_s, sector_s, guessed = _resolve_agency_sector(
            table, cmap, col, agency=self.agency, sector=self.sector
        )
        counts["guessed"] += guessed

        source_ref = _text(table, cmap.column("source_ref"))
        address = _text(table, cmap.column("address"))
        parts = cmap.fields.get("address_parts", [])
        if parts:
            joined = table[parts].fillna("").astype(str).apply(lambda s: s.str.strip())
            joined = joined.agg(lambda r: ", ".join(v for v in r if v), axis=1) if n else address
            address = address.where(address != "", joined)
        name = _text(table, cmap.column("name"))
        no_name = (name == "").to_numpy()
        if no_name.any():  # the address, else the reference, names the site
            name = name.where(~no_name, address).where(lambda s: s != "", source_ref)
            no_name = (name == "").to_numpy()
        col.add(
            no_name,
            cmap.column("name") or "(name)",
            name,
            "no_name",
            "the site has no name, address or reference",
        )

        uprn = constant_text("", table.index)
        if cmap.column("uprn") is not None:
            uprn_raw = _text(table, cmap.column("uprn")).str.replace(r"\.0+$", "", regex=True)
            uprn_ok = uprn_raw.str.fullmatch(r"\d{1,12}")
            uprn = uprn_raw.str.lstrip("0").where(uprn_ok, "")
            counts["bad_uprn"] += int(((uprn_raw != "") & ~uprn_ok).sum())

        use = _text(table, cmap.column("use"))
        tenure_raw = _text(table, cmap.column("tenure"))
        tenure_detail = _text(table, cmap.column("tenure_detail"))
        if cmap.column("tenure_detail") is not None:
            tenure_raw = tenure_raw.where(tenure_raw != "", tenure_detail)
        tenure = normalise_tenure(tenure_raw)
        vacant = _starts_vacant(use)
        if cmap.column("tenure_detail") is not None:
            vacant = vacant | tenure_detail.str.lower().str.contains("vacant")

        # Areas
        floor = np.full(n, np.nan)
        basis = constant_text("", table.index)
        fa_col = cmap.column("floor_area")
        if fa_col is not None:
            floor, bad = parse_area(table[fa_col], cmap.units.get("floor_area", "sqm"))
            if cmap.floor_area_basis == "NIA":
                floor = floor * NIA_TO_GIA
            basis = _either_text(
                np.isfinite(floor),
                "GIA" if cmap.floor_area_basis == "GIA" else "NIA/0.82",
                "",
                table.index,
            )
            col.add(
                bad, fa_col, table[fa_col], "non_numeric_area", "the floor area is not a number"
            )
            col.add(floor < 0, fa_col, table[fa_col], "negative_area", "the floor area is negative")
        surplus = np.full(n, np.nan)
        sp_col = cmap.column("surplus")
        if sp_col is not None:
            surplus, bad = parse_area(table[sp_col], cmap.units.get("surplus", "sqm"))
            col.add(
                bad, sp_col, table[sp_col], "non_numeric_area", "the surplus space is not a number"
            )
            col.add(
                surplus < 0, sp_col, table[sp_col], "negative_area", "the surplus space is negative"
            )
        vac = vacant.to_numpy() & ~np.isfinite(surplus) & np.isfinite(floor)
        if vac.any():
            surplus[vac] = floor[vac]
            counts["vacant"] += int(vac.sum())
        too_big = (
            np.isfinite(surplus) & np.isfinite(floor) & (surplus > floor * 1.0001) & (floor >= 0)
        )
        if too_big.any():
            msg = pd.Series(
                [
                    f"the surplus ({s:,.0f} sq ft) is larger than the floor area ({f:,.0f} sq ft)"
                    for s, f in zip(surplus, floor, strict=True)
                ]
            )
            col.add(too_big, sp_col, table[sp_col], "surplus_exceeds_area", msg)

        # Money
        cost = np.full(n, np.nan)
        for c in cmap.fields.get("running_cost", []):
            amount, bad = parse_money(table[c])
            col.add(bad, c, table[c], "bad_money", "the running cost is not an amount of money")
            cost = np.where(np.isfinite(amount), np.nan_to_num(cost) + amount, cost)

        # Dates
        lease = _date_field(table, cmap, "lease_expiry", "the lease expiry is not a date", col)

        # Sensitivity
        sensitivity = _sensitivity(table, cmap, col)

        # Stable ids and duplicates of earlier rows.
        has_ref = (source_ref != "").to_numpy()
        key = source_ref
        if not has_ref.all():
            key = source_ref.where(has_ref, ("uprn:" + uprn).where(uprn != "", ""))
        need = (key == "").to_numpy()
        if need.any():  # no reference and no UPRN: the name and postcode identify the site
            fallback = "np:" + _norm_key(name[need]) + "|" + postcode[need].str.replace(" ", "")
            key = key.copy()
            key[need] = fallback
        # a site is known by who holds it (agency and sector) and by its key
        if self.agency and self.sector:  # one holder for every row: hashed once
            holder = [self.sector, self._agency_key]
        else:
            holder = [sector_s, _norm_key(agency_s)]
        hashes = _key_hashes([*holder, key])
        site_id = pd.Series(_hex("S", hashes), index=key.index)
        self._flag_duplicates(
            col, hashes, rows, cmap.column("source_ref") or cmap.column("name"), key
        )

        self._parts.extend(col.parts(rows))
        keep = ~col.any_mask()
        columns = {
            "site_id": site_id,
            "source_ref": source_ref,
            "agency": agency_s,
            "sector": sector_s,
            "name": name,
            "address": address,
            "postcode": postcode,
            "uprn": uprn,
            "use": use,
            "use_class": classify_use(use),
            "tenure": tenure,
            "tenure_detail": tenure_detail,
            "floor_area_sqft": floor,
            "floor_area_basis": basis,
            "surplus_sqft": surplus,
            "running_cost_gbp": cost,
            "lease_expiry": lease,
            "sensitivity": sensitivity,
            "location_source": _object_text(located.source[at], table.index),
            "shared_group": constant_text("", table.index),
            "source_row": rows,
            "easting": located.easting[at],
            "northing": located.northing[at],
        }
        sites = _frame(columns, n)
        if not keep.all():  # (a clean chunk keeps every row: no copy then)
            sites = sites[keep].reset_index(drop=True)
        fp_mask = keep & pd.notna(located.footprints[at])
        if fp_mask.any():
            shapes = located.footprints[at][fp_mask]
            self._footprints.append((site_id[fp_mask].to_numpy(), shapes))
        return sites

    def _flag_duplicates(self, col, hashes, rows, column, key) -> None:
        """Flag rows whose id (``hashes``) an earlier row, here or in a chunk before, has."""
        seen = self._seen
        # sorted queries walk ``seen`` in order: several times faster than as they come
        order = np.argsort(hashes)
        ordered = hashes[order]
        if (ordered[1:] == ordered[:-1]).any():
            # ids repeat in this chunk: a stable sort puts each one's first row first
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
        pos = np.searchsorted(seen, ordered)
        earlier = np.zeros(len(hashes), dtype=bool)
        if len(seen):
            earlier[order] = seen[np.minimum(pos, len(seen) - 1)] == ordered
        again = np.zeros(len(hashes), dtype=bool)
        again[order[1:]] = ordered[1:] == ordered[:-1]
        here = again & ~earlier
        dup = earlier | here
        if dup.any():
            first_row = pd.Series(rows).groupby(hashes).transform("first").to_numpy(copy=True)
            first_row[earlier] = self._first_rows(hashes[earlier])
            msg = np.full(len(rows), "", dtype=object)
            msg[dup] = [f"duplicate of row {r}" for r in first_row[dup]]
            col.add(dup, column or "(row)", key, "duplicate", pd.Series(msg))
        new = ~dup[order]
        if new.any():  # remember this chunk's ids, in order
            add = ordered[new]
            self._seen = np.insert(seen, pos[new], add)
            self._firsts.append((add, rows[order][new]))

    def _first_rows(self, hashes: np.ndarray) -> np.ndarray:
        """The rows where ids seen in earlier chunks first appeared."""
        out = np.zeros(len(hashes), dtype=self.rows.dtype)
        for ids, first in self._firsts:
            at = np.minimum(np.searchsorted(ids, hashes), len(ids) - 1)
            hit = ids[at] == hashes
            out[hit] = first[at[hit]]
        return out

    def finish(self) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
        """Footprints, quarantine and notes, once every row has been checked.

        Returns
        -------
        footprints, quarantine, notes
            As :func:`check_sites` returns them.
        """
        if self._done != self.n:
            raise InvalidArgumentError(
                f"rows {self._done}:{self.n} have not been checked: call chunk() for them first"
            )
        ids = [i for i, _ in self._footprints]
        shapes = [s for _, s in self._footprints]
        footprints = gpd.GeoDataFrame(
            {"site_id": np.concatenate(ids) if ids else np.empty(0, dtype=object)},
            geometry=gpd.GeoSeries(list(np.concatenate(shapes)) if shapes else [], crs=CRS_BNG),
            crs=CRS_BNG,
        )
        quarantine = _problem_frame(self._parts)
        counts = self._counts
        notes = self._notes + _sector_note(counts["guessed"])
        if counts["bad_uprn"]:
            notes.append(
                f"{counts['bad_uprn']:,} UPRNs were not 1-12 digit numbers and were left blank"
            )
        if counts["vacant"]:
            notes.append(
                f"{counts['vacant']:,} sites marked vacant: "
                "their whole floor area counted as surplus"
            )
        return footprints, quarantine, notes


def _frame(columns: dict, n: int) -> pd.DataFrame:
    """A frame of ``n`` rows (indexed from 0, like a chunk) from columns given as
    series so indexed, or as arrays: built from the arrays behind them, which
    spares pandas lining each series up against the others.
    """
    index = pd.RangeIndex(n)
    data = {}
    for name, values in columns.items():
        if isinstance(values, pd.Series):
            if not values.index.equals(index):  # lined up by label, as pandas would
                values = values.reindex(index)
            values = values.array
        data[name] = values
    return pd.DataFrame(data, index=index, copy=False)


def _slice(values: pd.Series | pd.DataFrame, start: int, stop: int):
    """Rows ``start:stop`` of a file-wide column or table, indexed from 0 like a chunk."""
    if start == 0 and stop == len(values):
        return values
    return values.iloc[start:stop].reset_index(drop=True)


def _flag_duplicates(
    col: _Collector, hashes: np.ndarray, rows: np.ndarray, column, key: pd.Series
) -> None:
    """Flag every row whose id (``hashes``, see :func:`_key_hashes`) an earlier row has."""
    dup = pd.Series(hashes).duplicated(keep="first").to_numpy()
    if dup.any():
        first_row = pd.Series(rows).groupby(hashes).transform("first").to_numpy()
        msg = np.full(len(rows), "", dtype=object)
        msg[dup] = [f"duplicate of row {r}" for r in first_row[dup]]
        col.add(dup, column or "(row)", key, "duplicate", pd.Series(msg))


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

    Returns
    -------
    requests, quarantine, notes
    """
    table = table.reset_index(drop=True)
    n = len(table)
    notes: list[str] = list(located.notes)
    col = _Collector(table)
    locality = _text(table, cmap.column("locality"))
    for p in located.problems:
        if p.code == "missing_location":
            p.mask = p.mask & (locality == "").to_numpy()
            p.messages = "no location: the request has no postcode, point or locality"
        col.add(p.mask, p.column, p.values, p.code, p.messages)
    agency_s, sector_s, guessed = _resolve_agency_sector(
        table, cmap, col, agency=agency, sector=sector
    )
    notes.extend(_sector_note(guessed))
    source_ref = _text(table, cmap.column("source_ref"))
    needed = np.full(n, np.nan)
    sn_col = cmap.column("space_needed")
    if sn_col is None:
        col.add(
            np.ones(n, dtype=bool),
            "(space needed)",
            pd.Series("", index=table.index),
            "no_space_needed",
            "the register has no column for the space needed",
        )
    else:
        needed, bad = parse_area(table[sn_col], cmap.units.get("space_needed", "sqft"))
        col.add(bad, sn_col, table[sn_col], "non_numeric_area", "the space needed is not a number")
        col.add(
            needed <= 0, sn_col, table[sn_col], "negative_area", "the space needed is not positive"
        )
        col.add(
            ~np.isfinite(needed) & ~bad,
            sn_col,
            table[sn_col],
            "no_space_needed",
            "the space needed is missing",
        )
    distance = np.full(n, default_distance_m)
    md_col = cmap.column("max_distance")
    if md_col is not None:
        d, bad = parse_numbers(table[md_col])
        col.add(
            bad | (np.isfinite(d) & (d <= 0)),
            md_col,
            table[md_col],
            "bad_distance",
            "the maximum distance is not a positive number of metres",
        )
        defaulted = ~np.isfinite(d) & ~bad
        distance = np.where(np.isfinite(d), d, default_distance_m)
    else:
        defaulted = np.ones(n, dtype=bool)
    if defaulted.any():
        notes.append(
            f"{int(defaulted.sum()):,} requests give no maximum distance: "
            f"{default_distance_m:,.0f} m assumed"
        )
    needed_by = _date_field(table, cmap, "needed_by", "the needed-by date is not a date", col)
    sensitivity = _sensitivity(table, cmap, col)
    use = _text(table, cmap.column("use"))
    postcode = located.postcode.reset_index(drop=True)
    key = source_ref.where(source_ref != "", "row:" + pd.Series(row_numbers).astype(str))
    hashes = _key_hashes([sector_s, _norm_key(agency_s), key])
    request_id = pd.Series(_hex("R", hashes), index=key.index)
    _flag_duplicates(col, hashes, row_numbers, cmap.column("source_ref"), key)
    keep = ~col.any_mask()
    source = pd.Series(located.source, dtype="str")
    source = source.where(source != "", "locality")
    frame = pd.DataFrame(
        {
            "request_id": request_id,
            "source_ref": source_ref,
            "agency": agency_s,
            "sector": sector_s,
            "space_needed_sqft": needed,
            "use": use,
            "use_class": classify_use(use),
            "postcode": postcode,
            "locality": locality,
            "max_distance_m": distance,
            "needed_by": needed_by,
            "sensitivity": sensitivity,
            "location_source": source,
            "source_row": row_numbers,
        }
    )[keep]
    geometry = gpd.points_from_xy(located.easting[keep], located.northing[keep], crs=CRS_BNG)
    requests = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=geometry, crs=CRS_BNG)
    # a request placed only by its locality has no point
    requests.loc[~np.isfinite(located.easting[keep]), "geometry"] = None
    return requests, col.frame(row_numbers), notes


def shared_groups(sites: pd.DataFrame) -> pd.Series:
    """Find sites that two or more agencies report: same UPRN, or same postcode and name.

    Such sites are flagged, never merged: each agency's row stays as it was.

    Parameters
    ----------
    sites
        Canonical sites (at least ``sector``, ``agency``, ``uprn``, ``postcode``
        and ``name``).

    Returns
    -------
    pandas.Series
        Aligned to ``sites``: a group id (``"G..."``) shared by the rows of one
        shared site, ``""`` where the site is reported by one agency only.

    Notes
    -----
    Restricted sites take no part: no flag may tell another agency that one is
    there (see :mod:`assetmap.access`).

    An agency is its sector with its name in lower-case letters and digits. Keys
    are compared as integer codes, and only where they can matter: a UPRN held by
    two agencies or more; for names, only postcodes that appear more than once
    and are held by two agencies or more. An estate of one agency has no shared
    sites at all.
    """
    group = constant_text("", sites.index)
    restricted = is_restricted(sites)
    if restricted.any():  # never a flag that could tell another agency a restricted site is there
        keep = np.flatnonzero(~restricted)
        group.iloc[keep] = shared_groups(sites.iloc[keep]).to_numpy()
        return group
    # (a scan each, much cheaper than the factorisation below)
    if sites.empty or all(one_value(arrow_strings(sites[c])) for c in ("sector", "agency")):
        return group  # one agency: nothing is shared
    holder = _holder_codes(sites)
    if holder.min() == holder.max():  # one agency: nothing is shared
        return group
    n = len(sites)
    done = np.zeros(n, dtype=bool)
    uprn = sites["uprn"].astype(str)
    has = (uprn != "").to_numpy()
    if has.any():
        multi = np.zeros(n, dtype=bool)
        multi[has] = _held_by_several(uprn[has], holder[has])
        if multi.any():
            group[multi] = stable_ids("G", ["uprn:" + uprn[multi]]).to_numpy()
            done |= multi
    # only a postcode that appears more than once can hold a shared site...
    postcode = sites["postcode"].astype(str)
    near = (postcode != "").to_numpy().copy()
    near[near] = postcode[near].duplicated(keep=False).to_numpy()
    if near.any():  # ...and only one that two agencies or more give
        compact = postcode[near].str.replace(" ", "", regex=False)
        near[near] = _held_by_several(compact, holder[near])
    if near.any():
        key = (
            "pn:"
            + postcode[near].str.replace(" ", "", regex=False)
            + "|"
            + _norm_key(sites["name"].astype(str)[near])
        )
        multi = np.zeros(n, dtype=bool)
        multi[near] = _held_by_several(key, holder[near])
        todo = multi & ~done
        if todo.any():
            group[todo] = stable_ids("G", [key[todo[near]]]).to_numpy()
    return group


def _holder_codes(sites: pd.DataFrame) -> np.ndarray:
    """An integer per row for who holds the site: its sector and normalised agency."""
    sector, _ = pd.factorize(sites["sector"].astype("str"))
    agency, names = pd.factorize(sites["agency"].astype("str"))
    normalised, _ = pd.factorize(_norm_key(pd.Series(names, dtype="str")))
    width = int(normalised.max(initial=0)) + 1
    return sector.astype(np.int64) * width + normalised[agency]


def _held_by_several(keys: pd.Series, holders: np.ndarray) -> np.ndarray:
    """For each row, whether two or more different holders give its key."""
    codes, _ = pd.factorize(keys.astype("str"))
    width = np.int64(holders.max()) + 1
    pairs = pd.unique(codes.astype(np.int64) * width + holders)  # (key, holder) once each
    return np.bincount(pairs // width, minlength=len(codes))[codes] > 1


def empty_quarantine() -> pd.DataFrame:
    """An empty quarantine table with the canonical columns."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in QUARANTINE_COLUMNS.items()})


# Canonical column orders, re-exported for the importer.
SITE_ORDER = list(SITE_COLUMNS)
REQUEST_ORDER = list(REQUEST_COLUMNS)
