"""The published layouts of the NHS Organisation Data Service (ODS) extracts.

NHS England's ODS publishes its organisation lists as CSV files with no header row
and a fixed order of 27 columns: organisation code, name, national grouping, high
level health geography, five address lines, postcode, open date, close date, and
columns that differ by extract (status, sub-type, commissioner or parent
organisation, join and left dates, telephone, amended record indicator...; the
unused ones are left empty, "Null" in the ODS documentation). The layouts here are:

- ``epraccur``: GP practices (prescribing cost centres), codes like ``A81001``;
- ``egpcur``: general medical practitioners, codes like ``G8234567``, each at the
  address of the practice (``Parent Organisation Code``) they work at;
- ``etr``: NHS trusts, codes like ``RXX``;
- ``ets``: NHS trust sites, codes like ``RXX01``, with their trust in
  ``Parent Organisation Code``.

The column orders are those of the ODS "standard file layout" as the projects that
read these files name them (for ``epraccur``: ..., Status Code, Organisation Sub-Type
Code, Commissioner, Join/Left Provider/Purchaser Date, Contact Telephone Number, 3
nulls, Amended Record Indicator, null, Provider/Purchaser, null, Prescribing
Setting, null). The newer ODS "Data Search and Export" reports keep the same
positions, with ``ACTIVE``/``INACTIVE`` in the status column.

A file is recognised by its shape, never by its name (:func:`find_layout`): 27
fields on every line looked at, a code of the layout's pattern in the first
column, a postcode in the tenth, and dates written ``YYYYMMDD`` in the eleventh.
Its rows then get the layout's column names, and the layout's own profile
(:func:`layout_fields`) says which column feeds which field: the agency is the
practice or trust named in the row (for a trust site or a practitioner, the code
of its trust or practice), the sector is ``health``, and a row with a close date
or a closed status is quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LAYOUTS", "SECTOR", "Layout", "find_layout", "layout_fields", "layout_of_columns"]

#: The sector of every row of an ODS extract.
SECTOR = "health"

#: The fields every ODS extract has, in its first twelve columns.
_COMMON = (
    "Organisation Code",
    "Name",
    "National Grouping",
    "High Level Health Geography",
    "Address Line 1",
    "Address Line 2",
    "Address Line 3",
    "Address Line 4",
    "Address Line 5",
    "Postcode",
    "Open Date",
    "Close Date",
)
#: The address lines, joined into the address.
_ADDRESS = [f"Address Line {i}" for i in range(1, 6)]


def _columns(named: dict[int, str]) -> tuple[str, ...]:
    """Return the 27 column names of a layout: the common twelve, ``named`` ones, nulls."""
    tail = [named.get(i, f"Null {i}") for i in range(13, 28)]
    return (*_COMMON, *tail)


@dataclass(frozen=True)
class Layout:
    """One published ODS layout.

    Attributes
    ----------
    key
        The extract's file name without ``.csv`` (``"epraccur"``).
    title
        What the extract is, for the import report.
    columns
        The names given to its columns, in order.
    code
        The pattern of an organisation code in the first column.
    agency
        The column naming the body that holds the site.
    status
        The status column, where the layout has one.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    code: re.Pattern
    agency: str
    status: str | None = None

    @property
    def description(self) -> str:
        """Say what the file was read as, for the import report."""
        return f"read as the NHS ODS {self.title} ({self.key}), no header row"


_PRACTICE_CODE = re.compile(r"[A-Z]\d{5}")
#: The contact columns every layout names.
_CONTACT = {18: "Contact Telephone Number", 22: "Amended Record Indicator"}
#: The columns of the layouts whose sites belong to a parent organisation.
_PARENT = {
    14: "Organisation Sub-Type Code",
    15: "Parent Organisation Code",
    16: "Join Parent Date",
    17: "Left Parent Date",
    **_CONTACT,
}

#: The layouts recognised, in the order they are tried.
LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "epraccur",
        "GP practice extract",
        _columns(
            {
                13: "Status Code",
                14: "Organisation Sub-Type Code",
                15: "Commissioner",
                16: "Join Provider/Purchaser Date",
                17: "Left Provider/Purchaser Date",
                **_CONTACT,
                24: "Provider/Purchaser",
                26: "Prescribing Setting",
            }
        ),
        _PRACTICE_CODE,
        agency="Name",
        status="Status Code",
    ),
    Layout(
        "egpcur",
        "GP practitioner extract",
        _columns({13: "Status Code", **_PARENT}),
        re.compile(r"G\d{7}"),
        agency="Parent Organisation Code",
        status="Status Code",
    ),
    Layout(
        "etr",
        "NHS trust extract",
        _columns(_CONTACT),
        re.compile(r"[RT][A-Z0-9]{2}"),
        agency="Name",
    ),
    Layout(
        "ets",
        "NHS trust site extract",
        _columns(_PARENT),
        re.compile(r"[RT][A-Z0-9]{4}"),
        agency="Parent Organisation Code",
    ),
)

#: A postcode, full or as its outward code, as the extracts write it.
_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?(?: ?\d[A-Z]{2})?")
#: A date as the extracts write it (``YYYYMMDD``; the newer reports may write ISO dates).
_DATE = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|\d{4}-\d\d-\d\d")
#: The share of the lines looked at that must have the layout's shape.
_SHAPED = 0.9


def _fits(layout: Layout, record: Sequence[str]) -> bool:
    """Say whether one record has the shape of ``layout``."""
    if len(record) != len(layout.columns):
        return False
    code, postcode, opened, closed = (record[i].strip() for i in (0, 9, 10, 11))
    return (
        layout.code.fullmatch(code) is not None
        and _POSTCODE.fullmatch(postcode.upper()) is not None
        and _DATE.fullmatch(opened) is not None
        and (not closed or _DATE.fullmatch(closed) is not None)
    )


def find_layout(records: Sequence[Sequence[str]]) -> Layout | None:
    """Return the ODS layout the file's first records have, or ``None``.

    Parameters
    ----------
    records
        The file's first records (up to 50 are looked at), each a list of fields;
        the first is the one a file with a header would have as its header.

    Returns
    -------
    Layout or None
        The layout, when the first record and nine in ten of the others have its
        shape.

    Examples
    --------
    >>> row = ["A81001", "THE DENSHAM SURGERY", "Y63", "QHM", "THE HEALTH CENTRE",
    ...        "LAWSON STREET", "STOCKTON-ON-TEES", "", "", "TS18 1HU", "19740401", "",
    ...        "A", "B", "16C", "20130401", "", "01642 672351", "", "", "", "0", "",
    ...        "16C", "", "4", ""]
    >>> find_layout([row]).key
    'epraccur'
    >>> find_layout([["Name", "Postcode"], ["A", "TN1 1AA"]]) is None
    True
    """
    looked = [r for r in records[:50] if any(f.strip() for f in r)]
    if not looked:
        return None
    for layout in LAYOUTS:
        if not _fits(layout, looked[0]):
            continue
        rest = looked[1:]
        if not rest or sum(_fits(layout, r) for r in rest) >= _SHAPED * len(rest):
            return layout
    return None


def layout_of_columns(headers: Sequence[str]) -> Layout | None:
    """Return the layout whose column names ``headers`` are (as :func:`find_layout` named them).

    Parameters
    ----------
    headers
        A raw table's column names.

    Returns
    -------
    Layout or None

    Examples
    --------
    >>> layout_of_columns(LAYOUTS[2].columns).key
    'etr'
    """
    headers = tuple(headers)
    return next((layout for layout in LAYOUTS if layout.columns == headers), None)


def layout_fields(layout: Layout) -> dict[str, str | list[str]]:
    """Return which column of a file of ``layout`` feeds which field, as a profile says it.

    Parameters
    ----------
    layout
        One of :data:`LAYOUTS`.

    Returns
    -------
    dict
        Field -> column (or columns): reference, name, agency, address, postcode,
        close date and, where the layout has one, status.

    Examples
    --------
    >>> layout_fields(LAYOUTS[3])["agency"]
    'Parent Organisation Code'
    """
    columns: dict[str, str | list[str]] = {
        "source_ref": "Organisation Code",
        "name": "Name",
        "agency": layout.agency,
        "address_parts": list(_ADDRESS),
        "postcode": "Postcode",
        "close_date": "Close Date",
    }
    if layout.status is not None:
        columns["status"] = layout.status
    return columns
