"""Check a site's lease events: breaks, rent review, notice, break penalty, expiry, value.

The fields (:data:`assetmap.schema.SITE_COLUMNS`) and the headers recognised for them:

- ``lease_expiry``: Expiry Date, Lease expiry, Lease end date (InSite's "Expiry Date");
- ``next_break``: Earliest break date (InSite), Next break date, Break date;
- ``last_break``: Last break date (InSite: the lease's final break option);
- ``rent_review``: Rent review date, Next rent review;
- ``notice_months``: Notice period, Break notice period, in months. ``"6"``, ``"6 months"``,
  ``"1 year"``, ``"13 weeks"`` and ``"90 days"`` are read (a week is 12/52 of a month, a day
  12/365);
- ``break_penalty_gbp``: Break penalty, Break premium (money, as a running cost is read);
- ``capital_value_gbp``: Capital value, Market value, Asset value, Valuation.

Tenure comes from the Transparency Code's TenureType and TenureDetail as before
(:func:`assetmap.schema.normalise_tenure`).

Each fault puts the row in quarantine with its reason, as every other field's does:

- a date that is not a date (``bad_date``);
- a notice period that is not a period, is negative or is longer than 100 years
  (``bad_notice``);
- a break penalty or capital value that is not an amount, or is negative (``bad_money``,
  ``negative_money``);
- dates out of order (``lease_dates_order``): a break after the lease expiry, or the next
  break after the last break. A lease cannot be broken after it has ended, so one of the
  two dates is wrong, and assetmap cannot tell which.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .columns import ColumnMap
from .quarantine import Collector
from .text import constant_text
from .values import parse_dates, parse_money, parse_numbers

__all__ = ["DATE_FIELDS", "LONGEST_NOTICE_MONTHS", "lease_fields", "parse_notice"]

#: The lease's date fields, with what a fault in each is called.
DATE_FIELDS: dict[str, str] = {
    "lease_expiry": "the lease expiry is not a date",
    "next_break": "the next lease break is not a date",
    "last_break": "the last lease break is not a date",
    "rent_review": "the rent review date is not a date",
}
#: Months in each unit a notice period may be written in.
_NOTICE_UNITS = {
    "": 1.0,
    "m": 1.0,
    "mth": 1.0,
    "mths": 1.0,
    "month": 1.0,
    "months": 1.0,
    "y": 12.0,
    "yr": 12.0,
    "yrs": 12.0,
    "year": 12.0,
    "years": 12.0,
    "w": 12 / 52,
    "wk": 12 / 52,
    "wks": 12 / 52,
    "week": 12 / 52,
    "weeks": 12 / 52,
    "d": 12 / 365,
    "day": 12 / 365,
    "days": 12 / 365,
}
#: The longest notice a register may give, months (100 years): a longer one is a fault
#: (:mod:`assetmap.lease_events` could not use it, and would take it as none).
LONGEST_NOTICE_MONTHS = 1_200.0
_NOTICE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\.?\s*$")


def parse_notice(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse notice periods to months.

    Parameters
    ----------
    values
        Text such as ``"6"``, ``"6 months"``, ``"1 year"``, ``"13 weeks"`` or ``"90 days"``.

    Returns
    -------
    months, bad
        Months (NaN where missing or unreadable) and a boolean array, True where
        text was present but not a period, was negative, or was longer than
        :data:`LONGEST_NOTICE_MONTHS`.

    Examples
    --------
    >>> months, bad = parse_notice(pd.Series(["6", "1 year", "90 days", "soon", ""]))
    >>> [round(float(m), 2) for m in months[:3]], bad.tolist()
    ([6.0, 12.0, 2.96], [False, False, False, True, False])
    """
    numbers, bad = _read_notice(values)
    too_long = _too_long(numbers, bad)
    numbers[too_long] = np.nan
    return numbers, bad | too_long


def _too_long(numbers: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Which notices read are longer than :data:`LONGEST_NOTICE_MONTHS` (not already bad)."""
    return ~bad & np.isfinite(numbers) & (numbers > LONGEST_NOTICE_MONTHS)


def _read_notice(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return notices in months and which are not a period or negative (any length kept)."""
    numbers, bad = parse_numbers(values)
    numbers, bad = numbers.copy(), bad.copy()
    if bad.any():  # words: a unit, or not a period at all
        text = values.fillna("").astype(str).str.strip().str.lower()
        for i in np.flatnonzero(bad):
            found = _NOTICE.match(text.iloc[i])
            unit = found and _NOTICE_UNITS.get(found.group(2).rstrip("."))
            if found and unit is not None:
                numbers[i] = float(found.group(1)) * unit
                bad[i] = False
    negative = np.isfinite(numbers) & (numbers < 0)
    numbers[negative] = np.nan
    return numbers, bad | negative


def _money(
    table: pd.DataFrame, cmap: ColumnMap, field: str, what: str, col: Collector
) -> np.ndarray:
    """Return a money field in pounds (NaN where unknown), its faults added to ``col``."""
    column = cmap.column(field)
    if column is None:
        return np.full(len(table), np.nan)
    amount, bad = parse_money(table[column])
    col.add(bad, column, table[column], "bad_money", f"the {what} is not an amount of money")
    negative = np.isfinite(amount) & (amount < 0)
    col.add(negative, column, table[column], "negative_money", f"the {what} is negative")
    amount[negative] = np.nan
    return amount


def _order(
    col: Collector,
    table: pd.DataFrame,
    cmap: ColumnMap,
    dates: dict[str, pd.Series],
    early: str,
    late: str,
    words: tuple[str, str],
) -> None:
    """Quarantine the rows whose ``early`` date falls after their ``late`` date."""
    a, b = dates[early], dates[late]
    wrong = ((a != "") & (b != "") & (a > b)).to_numpy()  # ISO dates compare as text
    if wrong.any():
        column = cmap.column(early)
        reasons = (
            f"the {words[0]} ("
            + a
            + f") falls after the {words[1]} ("
            + b
            + "): one of them is wrong"
        )
        col.add(wrong, column, table[column], "lease_dates_order", reasons)


def lease_fields(
    table: pd.DataFrame, cmap: ColumnMap, col: Collector
) -> dict[str, pd.Series | np.ndarray]:
    """Return the lease-event columns of a chunk of a register, their faults added to ``col``.

    Parameters
    ----------
    table
        The chunk's cells, as text.
    cmap
        Which column feeds which field.
    col
        The chunk's fault collector: each fault puts its row in quarantine.

    Returns
    -------
    dict
        ``lease_expiry``, ``next_break``, ``last_break``, ``rent_review`` (ISO dates,
        ``""`` where unknown), ``notice_months``, ``break_penalty_gbp`` and
        ``capital_value_gbp`` (NaN where unknown).
    """
    dates: dict[str, pd.Series] = {}
    for field, reason in DATE_FIELDS.items():
        column = cmap.column(field)
        if column is None:
            dates[field] = constant_text("", table.index)
            continue
        iso, bad = parse_dates(table[column])
        col.add(bad, column, table[column], "bad_date", reason)
        dates[field] = iso
    _order(col, table, cmap, dates, "next_break", "lease_expiry", ("next break", "lease expiry"))
    _order(col, table, cmap, dates, "last_break", "lease_expiry", ("last break", "lease expiry"))
    _order(col, table, cmap, dates, "next_break", "last_break", ("next break", "last break"))
    notice = np.full(len(table), np.nan)
    column = cmap.column("notice_months")
    if column is not None:
        notice, bad = _read_notice(table[column])
        col.add(
            bad,
            column,
            table[column],
            "bad_notice",
            "the notice period is not a period of time (expected months, such as '6' or "
            "'6 months', or '1 year', '13 weeks', '90 days')",
        )
        too_long = _too_long(notice, bad)
        col.add(
            too_long,
            column,
            table[column],
            "bad_notice",
            "the notice period is longer than 100 years (1,200 months): one of its figures "
            "or its unit is wrong",
        )
        notice[too_long] = np.nan
    return {
        **dates,
        "notice_months": notice,
        "break_penalty_gbp": _money(table, cmap, "break_penalty", "break penalty", col),
        "capital_value_gbp": _money(table, cmap, "capital_value", "capital value", col),
    }
