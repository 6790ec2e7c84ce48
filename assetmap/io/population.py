"""Population tables: read the ONS small-area estimates and check a table of residents.

:func:`read_population` turns an ONS mid-year estimates CSV into ``code`` and
``population``; :func:`check_population` and :func:`population_for` are how density
takes such a table (from the file or from the caller) and lines it up with its
localities.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validate import raise_if_any
from ..errors import InvalidArgumentError

__all__ = ["check_population", "population_for", "read_population"]

#: How many codes a message lists before "and N more".
_LIST_AT_MOST = 10
#: How many rows of the file are searched for the header row.
_HEADER_WITHIN = 50
#: The names of an all-ages column (lower case).
_TOTAL_COLUMNS = ("all ages", "all_ages", "population")
_EXPECTED_FILE = "expected an ONS population estimates CSV with the columns Area Codes and All Ages"


def _listing(values: Sequence[str], at_most: int = _LIST_AT_MOST) -> str:
    """Return ``"a, b, c"``, or the first few and ``"and N more"``."""
    shown = ", ".join(values[:at_most])
    return shown if len(values) <= at_most else f"{shown} and {len(values) - at_most:,} more"


def check_population(population: object, problems: list[str]) -> pd.Series | None:
    """Return a population table as residents by code, or add what is wrong to ``problems``.

    Parameters
    ----------
    population
        ``None``, or a DataFrame with the columns ``code`` and ``population``
        (such as :func:`read_population` returns).
    problems
        The list every problem found is added to.

    Returns
    -------
    pandas.Series or None
        The residents (float64) indexed by code, or ``None`` when no table was
        given or it cannot be used.
    """
    if population is None:
        return None
    if not isinstance(population, pd.DataFrame):
        problems.append(
            f"population is a {type(population).__name__}; expected a DataFrame with the "
            "columns code and population (see read_population)"
        )
        return None
    missing = [c for c in ("code", "population") if c not in population.columns]
    if missing:
        problems.append(
            f"population lacks the column(s) {', '.join(missing)}; expected the columns code "
            f"and population (it has: {', '.join(map(str, population.columns)) or 'none'})"
        )
        return None
    codes = population["code"].astype("str").str.strip()
    values = pd.to_numeric(population["population"], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        shown = [
            f"{c}={v!r}" for c, v in zip(codes[bad], population["population"][bad], strict=True)
        ]
        problems.append(
            f"population has {int(bad.sum())} values that are not numbers of residents "
            f"({_listing(shown, 5)}); expected a number, 0 or more, for every code"
        )
    duplicated = codes[codes.duplicated()].unique().tolist()
    if duplicated:
        problems.append(
            f"population has duplicated codes ({_listing(duplicated, 5)}); expected one row "
            "per code"
        )
    if bad.any() or duplicated:
        return None
    return pd.Series(values.to_numpy(dtype="float64"), index=pd.Index(codes, dtype="str"))


def population_for(population: pd.Series, codes: pd.Index, notes: list[str]) -> np.ndarray:
    """Return the residents of each code, NaN where the table has none (and say which).

    Parameters
    ----------
    population
        Residents by code, from :func:`check_population`.
    codes
        The localities' codes, in their order.
    notes
        A note listing the codes without a figure is added here.

    Returns
    -------
    numpy.ndarray
        float64, aligned to ``codes``.
    """
    people = population.reindex(codes).to_numpy(dtype="float64")
    missing = codes[np.isnan(people)].tolist()
    if missing:
        notes.append(
            f"population has no figure for {len(missing):,} of {len(codes):,} localities "
            f"({_listing(missing)}); their per-1,000-residents values are NaN"
        )
    return people


def _decoded(path: Path) -> str:
    """Return the file's text: UTF-8 (with or without a byte order mark), else Windows-1252."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _header(rows: list[list[str]]) -> tuple[int, int, int] | None:
    """Return the header row's number and its code and all-ages columns, or ``None``."""
    for i, row in enumerate(rows[:_HEADER_WITHIN]):
        cells = [c.strip().lower() for c in row]
        codes = [j for j, c in enumerate(cells) if "code" in c]
        totals = [j for j, c in enumerate(cells) if c in _TOTAL_COLUMNS]
        if codes and totals:
            return i, codes[0], totals[0]
    return None


def _cell(row: list[str], at: int) -> str:
    """Return a row's cell without surrounding spaces, ``""`` past the row's end."""
    return row[at].strip() if at < len(row) else ""


def _records(
    rows: list[list[str]], header: tuple[int, int, int]
) -> tuple[list[tuple[str, int]], list[str]]:
    """Return the ``(code, residents)`` rows below the header, and the rows that are not numbers."""
    header_at, code_at, value_at = header
    records, bad = [], []
    for line, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        code = _cell(row, code_at)
        if not code:
            continue
        value = _cell(row, value_at)
        number = value.replace(",", "").replace(" ", "")
        if number.isascii() and number.isdigit():
            records.append((code, int(number)))
        else:
            bad.append(f"line {line} ({code}: {value!r})")
    return records, bad


def read_population(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an ONS small-area population estimates CSV into ``code`` and ``population``.

    Made for the ONS mid-year estimates saved as CSV, such as
    ``SAPE20DT1_mid2017_population_estimates_LAD_LSOA.csv`` (districts and
    LSOAs of England and Wales): the header row is the first row with a
    column of codes (``Area Codes``) and a column of all-age totals (``All
    Ages``, or ``population``); any title rows above it are skipped, and
    thousands separators (``"1,632"``) are read as numbers. Rows without a
    code (blank lines, footnotes) are left out.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The columns ``code`` (str) and ``population`` (int64), in the file's order.

    Raises
    ------
    InvalidArgumentError
        If the file is missing, has no such header row within its first 50
        rows, or has values that are not whole numbers or duplicated codes
        (every problem is listed in one message).

    Examples
    --------
    >>> population = read_population("SAPE20DT1_mid2017.csv")  # doctest: +SKIP
    >>> list(population.columns)  # doctest: +SKIP
    ['code', 'population']
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError(f"path={str(path)!r} is not a file; {_EXPECTED_FILE}")
    rows = list(csv.reader(io.StringIO(_decoded(path))))
    header = _header(rows)
    if header is None:
        raise InvalidArgumentError(
            f"path={str(path)!r} has no header row with a code column and an all-ages column "
            f"in its first {_HEADER_WITHIN} rows; {_EXPECTED_FILE}"
        )
    records, bad = _records(rows, header)
    frame = pd.DataFrame(records, columns=["code", "population"])
    frame = frame.astype({"code": "str", "population": "int64"})
    problems = []
    if bad:
        problems.append(
            f"path={str(path)!r} has {len(bad)} populations that are not whole numbers "
            f"({_listing(bad, 5)}); expected a count of residents such as 1,632"
        )
    duplicated = frame.loc[frame["code"].duplicated(), "code"].unique().tolist()
    if duplicated:
        problems.append(
            f"path={str(path)!r} has duplicated codes ({_listing(duplicated, 5)}); expected "
            "one row per area"
        )
    if not records and not bad:
        problems.append(f"path={str(path)!r} has no rows of data; expected one row per area")
    raise_if_any(problems)
    return frame
