"""One field of one site or request changed through the exchange: its amendment and its edit.

An offer's spare space, a correction and a completed match all change a stored value the
same way: the store's row is written through (an edit) and an amendment remembers the
register's value, the new one, who and when, so that a re-import applies it again (see
:mod:`assetmap.exchange.amendments`). This module makes both for one field.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..store.interface import (
    AMENDMENT_COLUMNS,
    EDIT_COLUMNS,
    ROW_IDS,
    conform,
    standing_amendment,
    value_text,
)
from . import _clock

__all__ = ["KEYS", "field_change", "standing"]

#: The id column of each layer's rows.
KEYS = ROW_IDS


def standing(
    amendments: pd.DataFrame, layer: str, row: Mapping[str, object], column: str
) -> pd.DataFrame:
    """Return the standing amendments of one field of one row (at most one, as kept)."""
    hit = (
        (amendments["state"] == "standing")
        & (amendments["layer"] == layer)
        & (amendments["row_id"] == str(row[KEYS[layer]]))
        & (amendments["source_file"] == str(row["source_file"]))
        & (amendments["source_owner"] == str(row["source_owner"]))
        & (amendments["field"] == column)
    )
    return amendments[hit]


def field_change(
    amendments: pd.DataFrame,
    *,
    layer: str,
    row: Mapping[str, object],
    column: str,
    value: object,
    agency: str,
    by: str,
    reason: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the amendment rows and the edit that set ``column`` of ``row`` to ``value``.

    Parameters
    ----------
    amendments
        The store's amendments (``store.exchange("amendments")``).
    layer
        ``"sites"`` or ``"requests"``.
    row
        The stored row: its id, ``source_file``, ``source_owner`` and ``column``'s value now.
    column, value
        The field and its new value (a number or text; ``value_text`` writes it).
    agency, by, reason
        Who changes it, and why (``"offer O1..."``, ``"match M1... completed"``, or a
        person's words).

    Returns
    -------
    tuple of pandas.DataFrame
        The amendments to write (a standing one of this field is ``replaced``, at its
        version plus one, and the new one keeps its ``old``: the register's value), and
        the one edit (:data:`~assetmap.store.interface.EDIT_COLUMNS`).
    """
    before = standing(amendments, layer, row, column)
    new = value_text(value)
    old = before["old"].iloc[-1] if len(before) else value_text(row[column])
    at = _clock.now()
    rows = []
    if len(before):
        replaced = before.tail(1).copy()
        replaced["state"] = "replaced"
        replaced["version"] = replaced["version"] + 1
        rows.append(replaced)
    added = standing_amendment(
        layer=layer,
        row_id=str(row[KEYS[layer]]),
        source_file=str(row["source_file"]),
        source_owner=str(row["source_owner"]),
        field=column,
        old=old,
        new=new,
        agency=agency,
        by=by,
        at=at,
        reason=reason,
    )
    rows.append(pd.DataFrame([added]))
    written = conform(pd.concat(rows, ignore_index=True), AMENDMENT_COLUMNS)
    edit = pd.DataFrame(
        [[layer, str(row["source_owner"]), str(row["source_file"]), added["row_id"], column, new]],
        columns=list(EDIT_COLUMNS),
    )
    return written, edit
