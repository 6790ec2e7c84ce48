"""A re-import keeps the space exchange's corrections: they are applied to the new rows.

An agency's correction of a site or request (:mod:`assetmap.exchange.amendments`) is
written into the stored row and kept as an amendment with the register's value it
replaced (``old``). When the source is imported again, the importer
(:mod:`assetmap.registers.importer`) applies each standing amendment to the new rows
(:func:`reapply`) before they are stored, and lists those whose register value the new
file changed; :func:`settle_reported` then makes the new file's value their ``old``, so
each change of the register is reported once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validate import one_of
from ..errors import InvalidArgumentError
from ..store.interface import (
    AMENDMENT_COLUMNS,
    EDITABLE_FIELDS,
    ROW_IDS,
    EstateStore,
    ExchangeChange,
    conform,
    value_text,
)

__all__ = ["FIELD_WORDS", "REAPPLIED", "reapply", "settle_reported"]

#: What the import report says of each amendment whose value the new file changed.
REAPPLIED = "your correction stands; withdraw it to use the register's value"

#: Each field in words, for messages.
FIELD_WORDS = {
    "floor_area_sqft": "floor area (sq ft)",
    "running_cost_gbp": "running cost (£ a year)",
    "tenure": "tenure",
    "lease_expiry": "lease expiry",
    "use": "use",
    "use_class": "use class",
    "sensitivity": "sensitivity",
    "surplus_sqft": "spare space (sq ft)",
    "space_needed_sqft": "space needed (sq ft)",
    "max_distance_m": "maximum distance (m)",
    "needed_by": "needed by",
}

_NUMERIC = {
    "floor_area_sqft",
    "running_cost_gbp",
    "surplus_sqft",
    "space_needed_sqft",
    "max_distance_m",
}


def _said(column: str, text: str) -> str:
    """Return a value as the import report says it: ``95,000``, ``leasehold``, ``(none)``."""
    if not text:
        return "(none)"
    if column in _NUMERIC:
        number = float(text)
        return f"{number:,.0f}" if number == round(number) else f"{number:,.2f}"
    return text


def _typed(column: str, text: str) -> float | str:
    """Return an amendment's text as the row's column holds it."""
    if column in _NUMERIC:
        return float(text) if text != "" else np.nan
    return text


def reapply(
    rows: pd.DataFrame, amendments: pd.DataFrame, *, layer: str
) -> tuple[pd.DataFrame, list[dict]]:
    """Apply a source's standing amendments to rows newly read from its file.

    Parameters
    ----------
    rows
        New rows of one source (a chunk of them will do): ``site_id`` or
        ``request_id`` and the amended fields.
    amendments
        The standing amendments of that source (the caller picks them by
        ``source_file`` and ``source_owner``); others are ignored.
    layer
        ``"sites"`` or ``"requests"``.

    Returns
    -------
    rows : pandas.DataFrame
        The rows with each amendment's ``new`` value (a copy when anything changed).
    changed : list of dict
        One entry per amendment whose register value the new file changed (the file
        says ``now``, no longer ``was``): ``amendment_id``, ``layer``, ``row_id``,
        ``name``, ``field``, ``was``, ``now``, ``amended_to`` and ``message``. An
        amendment whose value the file did not change is re-applied silently.

    Raises
    ------
    InvalidArgumentError
        If ``layer`` is neither.

    Examples
    --------
    >>> rows = pd.DataFrame({"site_id": ["S1"], "name": ["Hub"], "floor_area_sqft": [900.0]})
    >>> kept = pd.DataFrame(
    ...     {"row_id": ["S1"], "layer": ["sites"], "field": ["floor_area_sqft"], "old": ["1000"],
    ...      "new": ["1200"], "state": ["standing"], "amendment_id": ["A1"]}
    ... )
    >>> new, changed = reapply(rows, kept, layer="sites")
    >>> new["floor_area_sqft"].tolist(), changed[0]["now"]
    ([1200.0], '900')
    """
    if layer not in ROW_IDS:
        raise InvalidArgumentError(one_of("layer", layer, tuple(ROW_IDS)))
    id_column = ROW_IDS[layer]
    if not len(rows) or not len(amendments):
        return rows, []
    todo = amendments[
        (amendments["state"] == "standing")
        & (amendments["layer"] == layer)
        & amendments["field"].isin(EDITABLE_FIELDS[layer])
    ]
    if not len(todo):
        return rows, []
    where = pd.Index(rows[id_column].astype(str)).get_indexer(pd.Index(todo["row_id"].astype(str)))
    if not (where >= 0).any():
        return rows, []
    rows = rows.copy()
    name_column = "name" if layer == "sites" else "source_ref"
    changed = []
    for amendment, found in zip(todo.to_dict("records"), where, strict=True):
        column, old, new = str(amendment["field"]), str(amendment["old"]), str(amendment["new"])
        at = int(found)
        if at < 0 or column not in rows.columns:
            continue
        position = list(rows.columns).index(column)
        now = value_text(rows.iat[at, position])
        if now != old:
            name = str(rows[name_column].iat[at]) if name_column in rows.columns else ""
            row_id = str(amendment["row_id"])
            changed.append(
                {
                    "amendment_id": str(amendment["amendment_id"]),
                    "layer": layer,
                    "row_id": row_id,
                    "name": name,
                    "field": column,
                    "was": old,
                    "now": now,
                    "amended_to": new,
                    "message": (
                        f"{name or row_id}: the register's {FIELD_WORDS.get(column, column)} "
                        f"was {_said(column, old)} and now says {_said(column, now)}; amended "
                        f"to {_said(column, new)}: {REAPPLIED}."
                    ),
                }
            )
        rows.iat[at, position] = _typed(column, new)
    return rows, changed


def settle_reported(
    store: EstateStore, amendments: pd.DataFrame, changed: list[dict], *, writer: str
) -> None:
    """After a re-import, make the new file's value the ``old`` of each amendment reported.

    So an amendment is reported once for a change of the register, not at every
    import. One exchange write (as ``writer``, the source's owner); nothing when none
    was reported.
    """
    if not changed:
        return
    now = {c["amendment_id"]: c["now"] for c in changed}
    rows = amendments[amendments["amendment_id"].isin(list(now))].copy()
    rows["old"] = rows["amendment_id"].map(now)
    rows["version"] = rows["version"] + 1
    store.exchange_write(
        ExchangeChange(
            writer=writer,
            rows={"amendments": conform(rows.reset_index(drop=True), AMENDMENT_COLUMNS)},
        )
    )
