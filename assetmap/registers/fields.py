"""Check the fields that sites and requests share: agency and sector, dates, sensitivity.

Each check reads its field from the register (or the value given for every row),
adds its faults to the :class:`~assetmap.registers.quarantine.Collector` and
returns the canonical column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import SECTORS, normalise_sector, normalise_sensitivity
from .columns import ColumnMap
from .quarantine import Collector
from .text import cell_text, constant_text
from .values import parse_dates

__all__ = ["date_field", "resolve_agency_sector", "sector_note", "sensitivity_field"]


def resolve_agency_sector(
    table: pd.DataFrame,
    cmap: ColumnMap,
    col: Collector,
    *,
    agency: str | None,
    sector: str | None,
) -> tuple[pd.Series, pd.Series, int]:
    """Return each row's agency and sector: given values win, then columns, then the agency.

    A row without an agency, or with a sector nobody can read, is a fault; a row
    whose sector cannot be told from its agency's name is set to ``"other"``.

    Returns
    -------
    agency, sector, guessed
        The agency and sector columns, and how many rows' sector was set to
        ``"other"`` (see :func:`sector_note`).
    """
    if agency:
        agency_s = constant_text(agency, table.index)
        no_agency = np.zeros(len(table), dtype=bool)
    else:
        agency_s = cell_text(table, cmap.column("agency"))
        no_agency = (agency_s == "").to_numpy()
    col.add(
        no_agency,
        cmap.column("agency") or "(agency)",
        agency_s,
        "no_agency",
        "no agency: the register names none; give one with --agency or a profile",
    )
    if sector:
        return agency_s, constant_text(sector, table.index), 0
    sector_col = cmap.column("sector")
    raw = cell_text(table, sector_col)
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
    return agency_s, sector_s.where(~guessed, "other"), int(guessed.sum())


def sector_note(rows: int) -> list[str]:
    """Return the report's note on sectors set to "other" (none when ``rows`` is 0)."""
    if not rows:
        return []
    return [
        f"{rows:,} rows: the sector could not be told from the agency "
        "name and was set to 'other' (give --sector)"
    ]


def date_field(
    table: pd.DataFrame, cmap: ColumnMap, field: str, reason: str, col: Collector
) -> pd.Series:
    """Return a date field as ISO text, ``""`` where the register has no such column.

    Values that are not dates are quarantined through ``col`` with ``reason``.
    """
    column = cmap.column(field)
    if column is None:
        return constant_text("", table.index)
    dates, bad = parse_dates(table[column])
    col.add(bad, column, table[column], "bad_date", reason)
    return dates


def sensitivity_field(table: pd.DataFrame, cmap: ColumnMap, col: Collector) -> pd.Series:
    """Return each row's sensitivity, ``open`` where the register has no such column.

    Values not recognised are quarantined through ``col``.
    """
    se_col = cmap.column("sensitivity")
    if se_col is None:
        return constant_text("open", table.index)
    sensitivity = normalise_sensitivity(cell_text(table, se_col))
    col.add(
        (sensitivity == "").to_numpy(),
        se_col,
        table[se_col],
        "bad_sensitivity",
        "the sensitivity is not recognised (expected open/OFFICIAL or "
        "restricted/OFFICIAL-SENSITIVE)",
    )
    return sensitivity
