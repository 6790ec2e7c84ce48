"""Check the fields that sites and requests share: agency and sector, dates, sensitivity.

Each check reads its field from the register (or the value given for every row),
adds its faults to the :class:`~assetmap.registers.quarantine.Collector` and
returns the canonical column.

Before any row is checked, :func:`require_agency` stops a register whose rows name
no agency and that was given none: its rows would otherwise be stored with no
agency, and no request would ever match them. An agency a register writes as an
ONS code (``E07000110``, ``E54000032``...) is shown by the body's name.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError
from ..national import authority_name
from ..schema import SECTORS, normalise_sector, normalise_sensitivity
from .columns import ColumnMap
from .quarantine import Collector
from .text import cell_text, constant_text
from .values import parse_dates

__all__ = [
    "NO_AGENCY",
    "date_field",
    "is_no_agency",
    "ons_agency_names",
    "require_agency",
    "resolve_agency_sector",
    "sector_note",
    "sensitivity_field",
]

#: How the error of a register with no agency starts (see :func:`is_no_agency`).
NO_AGENCY = "the register names no agency in its rows"
#: An ONS area or body code: a country letter and eight digits (E07000110, W06000015).
_ONS_CODE = re.compile(r"[EWSN]\d{8}", re.IGNORECASE)
#: Status codes of a closed organisation (ODS: ``C``; the newer reports ``INACTIVE``).
_CLOSED_STATUS = ("C", "CLOSED", "INACTIVE")


def require_agency(table: pd.DataFrame, cmap: ColumnMap, *, agency: str | None) -> list[str]:
    """Stop a register that names no agency and is given none; note agencies given as codes.

    Parameters
    ----------
    table
        The register, as read.
    cmap
        Its columns.
    agency
        The agency given for every row (``--agency``, a profile, the signed-in
        user's), or ``None``.

    Returns
    -------
    list of str
        The import report's notes on agencies written as ONS codes (none when
        an agency is given, or the register names none as a code).

    Raises
    ------
    InvalidArgumentError
        If no agency is given and the register has no agency column, or only
        empty cells in it; the message starts with :data:`NO_AGENCY` and names
        ``--agency``.

    Examples
    --------
    >>> from assetmap.registers.columns import recognise_columns
    >>> table = pd.DataFrame({"Name": ["A"], "Postcode": ["TN1 1AA"]})
    >>> require_agency(table, recognise_columns(list(table)), agency="Kent Police")
    []
    """
    if agency:
        return []
    column = cmap.column("agency")
    values = cell_text(table, column)
    if column is None or not (values != "").any():
        why = f"its {column!r} column is empty" if column else "it has no agency column"
        raise InvalidArgumentError(
            f"{NO_AGENCY} ({why}): give the agency its rows belong to with --agency "
            "(in the app, the Agency box) or in a profile; nothing was imported"
        )
    return _ons_note(values)


def is_no_agency(error: BaseException) -> bool:
    """Say whether ``error`` is the one :func:`require_agency` raises.

    Examples
    --------
    >>> is_no_agency(InvalidArgumentError(NO_AGENCY + " (it has no agency column)"))
    True
    """
    return isinstance(error, InvalidArgumentError) and str(error).startswith(NO_AGENCY)


def _ons_codes(values: pd.Series) -> list[str]:
    """Return the distinct values that are ONS codes, sorted."""
    distinct = pd.Series(pd.unique(values.to_numpy(dtype=object)), dtype="object").astype(str)
    return sorted(c for c in distinct if _ONS_CODE.fullmatch(c))


def _authority_names(codes: list[str]) -> dict[str, str]:
    """Return the name of each ONS code that names a body; unknown codes are left out."""
    if not codes:
        return {}
    names = authority_name(pd.Series(codes, dtype="object"))
    return {c: str(n) for c, n in zip(codes, names, strict=True) if isinstance(n, str) and n}


def ons_agency_names(agency: pd.Series) -> pd.Series:
    """Return ``agency`` with each ONS code that names a known body replaced by its name.

    Parameters
    ----------
    agency
        The agency of each row, as the register writes it.

    Returns
    -------
    pandas.Series
        The same text, with ``E07000110`` shown as ``Maidstone`` and so on; a code
        assetmap does not know is kept as written.

    Examples
    --------
    >>> ons_agency_names(pd.Series(["E07000110", "Kent Police"])).tolist()
    ['Maidstone', 'Kent Police']
    """
    names = _authority_names(_ons_codes(agency))
    if not names:
        return agency
    return agency.map(lambda a: names.get(a, a)).astype(agency.dtype)


def _ons_note(agency: pd.Series) -> list[str]:
    """Return the report's notes on agencies a register writes as ONS codes."""
    codes = _ons_codes(agency)
    if not codes:
        return []
    names = _authority_names(codes)
    notes = []
    if names:
        shown = ", ".join(f"{c} as {n!r}" for c, n in list(names.items())[:20])
        more = f" and {len(names) - 20:,} more" if len(names) > 20 else ""
        notes.append(f"agencies written as ONS codes are shown by the body's name: {shown}{more}")
    unknown = [c for c in codes if c not in names]
    if unknown:
        notes.append(
            "agencies written as ONS codes assetmap does not know are kept as written: "
            + ", ".join(unknown[:20])
        )
    return notes


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
    whose sector cannot be told from its agency's name is set to ``"other"``. An
    agency written as an ONS code is shown by the body's name
    (:func:`ons_agency_names`); a sector the register's layout implies
    (``cmap.sector``) stands in for one not given. A row the register marks
    closed (a close date, or a closed status) is a fault too: a closed
    organisation is not in the estate.

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
        agency_s = ons_agency_names(cell_text(table, cmap.column("agency")))
        no_agency = (agency_s == "").to_numpy()
    col.add(
        no_agency,
        cmap.column("agency") or "(agency)",
        agency_s,
        "no_agency",
        "no agency: the row names none; give one with --agency or a profile",
    )
    _closed(table, cmap, col)
    sector = sector or cmap.sector
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


def _closed(table: pd.DataFrame, cmap: ColumnMap, col: Collector) -> None:
    """Add a fault for each row with a close date, or else a closed status."""
    closed = np.zeros(len(table), dtype=bool)
    close_col = cmap.column("close_date")
    if close_col is not None:
        dates = cell_text(table, close_col)
        closed = (dates != "").to_numpy()
        shown = dates.str.replace(r"^(\d{4})(\d\d)(\d\d)$", r"\1-\2-\3", regex=True)
        col.add(closed, close_col, dates, "closed", "the organisation closed on " + shown)
    status_col = cmap.column("status")
    if status_col is not None:
        status = cell_text(table, status_col)
        marked = status.str.upper().isin(_CLOSED_STATUS).to_numpy() & ~closed
        col.add(
            marked,
            status_col,
            status,
            "closed",
            "the status " + status + " means the organisation closed",
        )


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
