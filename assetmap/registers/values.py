"""Read the values a register writes as text: numbers, areas, money and dates.

Each parser takes a whole column and returns the values with a mask of the cells
that hold text but no value (a fault to quarantine, never a silent blank).
Blanks and the usual "n/a", "unknown"... are missing, not faults. All vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import AREA_UNITS, arrow_strings, string_bytes, strip_strings

__all__ = ["MISSING", "parse_area", "parse_dates", "parse_money", "parse_numbers"]

#: Cell texts (in lower case) that mean "no value".
MISSING = frozenset({"", "-", "--", "n/a", "na", "none", "null", "nil", "unknown", "nan", "#n/a"})


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse plain numbers written as text.

    Parameters
    ----------
    values
        Text such as ``"558300"``, ``" 51.2 "`` or ``"1,234.5"``.

    Returns
    -------
    numbers, bad
        Floats (NaN where missing or not a number) and a boolean array that
        is True where the text was present but not a number.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = strip_strings(arrow_strings(values))
    # Fast path: a clean column (numbers and blanks only) casts in one go.
    offsets, _ = string_bytes(arr)
    blank = offsets[1:] == offsets[:-1]
    try:
        given = pc.if_else(pa.array(blank), None, arr) if blank.any() else arr
        numbers = pc.cast(given, pa.float64()).to_numpy(zero_copy_only=False)
        numbers = numbers.astype("float64", copy=True)
        # "1e999" and "inf" cast to infinity: present, but not a number ("nan" is missing)
        infinite = np.isinf(numbers)
        numbers[infinite] = np.nan
        return numbers, infinite
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pd.Series(arr, index=values.index, dtype=pd.StringDtype(na_value=np.nan))
    missing = text.str.lower().isin(MISSING).to_numpy()
    cleaned = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned.where(~missing, ""), errors="coerce")
    numbers = numbers.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~missing & ~np.isfinite(numbers)
    return np.where(np.isfinite(numbers), numbers, np.nan), bad


def _scaled(
    numbers: np.ndarray, factor: float | np.ndarray, bad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Multiply by ``factor``; a figure scaled beyond a float (``"1e307 ha"``) is not a number."""
    with np.errstate(over="ignore", invalid="ignore"):
        numbers = numbers * factor
    over = np.isinf(numbers)
    if not over.any():
        return numbers, bad
    numbers[over] = np.nan
    return numbers, bad | over


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
        return _scaled(numbers, AREA_UNITS[unit], bad)
    text = values.fillna("").astype(str).str.strip().str.lower()
    factor = np.full(len(text), AREA_UNITS[unit])
    for pattern, cell_unit in _UNIT_IN_CELL:
        has = text.str.contains(pattern, regex=True).to_numpy()
        if has.any():
            factor[has] = AREA_UNITS[cell_unit]
            text = text.where(~has, text.str.replace(pattern, "", regex=True).str.strip())
    numbers, bad = parse_numbers(text)
    return _scaled(numbers, factor, bad)


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
    numbers, bad = _scaled(numbers, mult, bad)
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
    missing = text.str.lower().isin(MISSING)
    parsed = pd.to_datetime(text.where(~missing), format="ISO8601", errors="coerce")
    for fmt in _DATE_FORMATS:
        todo = parsed.isna() & ~missing
        if not todo.any():
            break
        parsed = parsed.where(~todo, pd.to_datetime(text.where(todo), format=fmt, errors="coerce"))
    iso = parsed.dt.strftime("%Y-%m-%d").fillna("")
    bad = (~missing & parsed.isna()).to_numpy()
    return iso, bad


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
