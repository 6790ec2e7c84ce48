"""Corrections to a site's record by its own agency, kept as amendments.

An agency corrects its own site (floor area, running cost, tenure, lease expiry, use,
sensitivity): the stored site is written through (so every page, the plan and the
command line read the new value) and an amendment remembers the register's value
(``old``), the new one, who and when. A later import of the same source re-applies
every standing amendment to the new rows before they are stored (:func:`reapply`); where
the new file changed the value underneath, the import report says so, and the
correction still stands until its agency withdraws it, which writes ``old`` back.

A new amendment of the same field of the same site replaces the standing one (its
state becomes ``replaced``) and keeps its ``old``: the register's value.

Who sees an amendment: only the agency whose source holds its row, while it may see
the row (:func:`amendments`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from numbers import Real

import numpy as np
import pandas as pd

from .._validate import one_of
from ..access import Viewer, agency_key, may_remove_source, owns, visible_mask
from ..errors import (
    ConflictError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from ..registers.reapply import FIELD_WORDS, REAPPLIED, reapply
from ..registers.values import parse_dates, parse_money, parse_numbers
from ..schema import USE_CLASSES, classify_use, normalise_sensitivity, normalise_tenure
from ..store.interface import (
    AMENDMENT_COLUMNS,
    EDIT_COLUMNS,
    EDITABLE_FIELDS,
    EstateStore,
    ExchangeChange,
    conform,
    value_text,
)
from ._rows import KEYS, field_change, standing
from .disclosure import audit_move, own_site, refusals_audited, require_agency, seen_sites

__all__ = ["AMENDABLE", "REAPPLIED", "amend", "amendments", "reapply", "withdraw_amendment"]

#: The fields of a site its own agency may correct (the spare space is the offer's).
AMENDABLE: tuple[str, ...] = tuple(f for f in EDITABLE_FIELDS["sites"] if f != "surplus_sqft")


def _own_site(site: Mapping[str, object], viewer: Viewer) -> bool:
    """Whether ``viewer`` is the site's own agency, and may change its source."""
    return agency_key(site["agency"]) == viewer.key and may_remove_source(
        site["source_owner"], viewer
    )


# --------------------------------------------------------------------------- values


def _number(value: object) -> float | None:
    """Return ``value`` as a number (text such as ``"1,200"`` too), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, str) and value.strip():
        numbers, bad = parse_numbers(pd.Series([value.replace(",", "").strip()]))
        if not bad[0] and np.isfinite(numbers[0]):
            return float(numbers[0])
    return None


#: What a checker gives: the value as stored, or what is wrong with the value given.
Checked = tuple[object, str | None]


def _area(value: object) -> Checked:
    number = _number(value)
    if number is None or not np.isfinite(number) or number < 0:
        return None, f"the floor area {value!r} is not valid; expected a number of sq ft, 0 or more"
    return number, None


def _money(value: object) -> Checked:
    number = _number(value)
    if number is None and isinstance(value, str):
        pounds, bad = parse_money(pd.Series([value]))
        number = None if bad[0] or not np.isfinite(pounds[0]) else float(pounds[0])
    if number is None or not np.isfinite(number) or number < 0:
        return None, (
            f"the running cost {value!r} is not valid; expected an amount of pounds a year, "
            "0 or more"
        )
    return number, None


def _date(value: object) -> Checked:
    text = value.isoformat() if isinstance(value, dt.date) else str(value).strip()
    if not text:
        return "", None
    iso, bad = parse_dates(pd.Series([text]))
    if bad[0] or not iso.iloc[0]:
        return None, f"the lease expiry {value!r} is not a date; expected a date such as 2031-03-31"
    return iso.iloc[0], None


def _tenure(value: object) -> Checked:
    return str(normalise_tenure(pd.Series([str(value).strip()])).iloc[0]), None


def _sensitivity(value: object) -> Checked:
    sensitivity = str(normalise_sensitivity(pd.Series([str(value).strip()])).iloc[0])
    if not sensitivity:
        return None, (
            f"the sensitivity {value!r} is not recognised (expected open/OFFICIAL or "
            "restricted/OFFICIAL-SENSITIVE)"
        )
    return sensitivity, None


def _use(value: object) -> Checked:
    text = str(value).strip()
    if not text:
        return None, "the use is empty; expected words such as 'office' or 'GP surgery'"
    return text, None


def _use_class(value: object) -> Checked:
    text = str(value).strip().lower()
    if text not in USE_CLASSES:
        return None, one_of("use_class", value, USE_CLASSES)
    return text, None


#: How each field's new value is checked, as the importer checks the register's.
CHECKS = {
    "floor_area_sqft": _area,
    "running_cost_gbp": _money,
    "tenure": _tenure,
    "lease_expiry": _date,
    "use": _use,
    "use_class": _use_class,
    "sensitivity": _sensitivity,
}


def checked_value(column: str, value: object) -> Checked:
    """Return a field's new value as the importer would store it, or what is wrong with it.

    Floor area and running cost: a number of at least 0 (running cost also as money
    text, ``"£12,000"``); tenure and sensitivity normalised as the importer does;
    lease expiry a date (ISO, or UK day-first; ``""``: none), kept as ISO; use any
    text (its use class follows); use class one of :data:`assetmap.schema.USE_CLASSES`.
    """
    if column not in CHECKS:
        return None, one_of("field", column, AMENDABLE)
    if column not in ("floor_area_sqft", "running_cost_gbp") and not isinstance(
        value, str | dt.date
    ):
        return None, f"the {FIELD_WORDS[column]} {value!r} is not valid; expected text"
    return CHECKS[column](value)


# --------------------------------------------------------------------------- reading


def _rows_seen(store: EstateStore, layer: str, viewer: Viewer | None) -> pd.DataFrame:
    """Return the key, provenance, name and fields of the rows of ``layer`` ``viewer`` may see."""
    frame = store.sites() if layer == "sites" else store.requests()
    frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    return frame[visible_mask(frame, viewer)]


def _key(frame: pd.DataFrame, id_column: str) -> pd.Series:
    """Return each row's id, source and owner, as one text."""
    return (
        frame[id_column].astype(str)
        + "\x1f"
        + frame["source_file"].astype(str)
        + "\x1f"
        + frame["source_owner"].astype(str)
    )


def _source_is_viewers(owner: object, viewer: Viewer | None) -> bool:
    """Whether the source owned by ``owner`` is ``viewer``'s agency's own.

    The local user (not signed in) also owns the sources that belong to no agency
    (owner ``""``), which only it may change (:func:`assetmap.access.may_remove_source`).
    """
    if owns(owner, viewer):
        return True
    local = viewer is None or not viewer.signed_in
    return local and not str(owner if owner is not None else "").strip()


def amendments(store: EstateStore, viewer: Viewer | None) -> pd.DataFrame:
    """Return the amendments ``viewer`` may see, oldest first.

    An amendment is seen only by the agency whose source holds the amended row (the
    local user, not signed in, also those of sources that belong to no agency), and
    only while it may see that row (or the row is no longer stored). Another agency
    sees none, even of a row it may see: an amendment says who changed what and why
    (a completed match's id and who completed it, which only its two parties may
    know). Every state is listed (``standing``, ``replaced``, ``withdrawn``): the
    history of the row.

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who is looking (``None``: nobody's agency).

    Returns
    -------
    pandas.DataFrame
        :data:`~assetmap.store.interface.AMENDMENT_COLUMNS` and ``name`` (the site's
        name, or the request's reference); the same columns and types whether or not
        the store holds amendments the viewer may not see.
    """
    table = store.exchange("amendments")
    shown = np.zeros(len(table), dtype=bool)
    name = np.full(len(table), "", dtype=object)
    owned = np.fromiter(
        (_source_is_viewers(o, viewer) for o in table["source_owner"]), bool, len(table)
    )
    for layer, id_column in KEYS.items():
        in_layer = (table["layer"] == layer).to_numpy(dtype=bool) & owned
        if not in_layer.any():
            continue
        mine = table[in_layer]
        every = store.sites() if layer == "sites" else store.requests()
        every = pd.DataFrame(every.drop(columns="geometry", errors="ignore"))
        seen = every[visible_mask(every, viewer)]
        name_column = "name" if layer == "sites" else "source_ref"
        names = pd.Series(seen[name_column].astype(str).to_numpy(), index=_key(seen, id_column))
        names = names[~names.index.duplicated()]
        keys = _key(mine, "row_id")
        kept = (keys.isin(names.index) | ~keys.isin(set(_key(every, id_column)))).to_numpy(bool)
        at = np.flatnonzero(in_layer)[kept]
        shown[at] = True
        name[at] = keys[kept].map(names).fillna("").to_numpy()
    out = table[shown].assign(name=name[shown])
    out = out[[*AMENDMENT_COLUMNS, "name"]].reset_index(drop=True)
    out["name"] = out["name"].astype("str")
    return out


# --------------------------------------------------------------------------- amend


def amend(
    store: EstateStore,
    viewer: Viewer,
    site_id: str,
    field: str,
    value: object,
    *,
    source_file: str | None = None,
    reason: str = "",
) -> str:
    """Correct one field of one of the viewer's agency's sites; return the amendment's id.

    The stored site is written through, and an amendment keeps the register's value,
    the new one, who and when. Correcting ``use`` sets ``use_class`` with it (as the
    importer classifies it); correcting ``sensitivity`` settles the shared-site groups
    again (a site made restricted leaves no flag behind).

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who corrects it: a user of the site's own agency, who may change its source.
    site_id
        The site.
    field
        One of :data:`AMENDABLE`.
    value
        The new value (checked as the importer checks the register's).
    source_file
        The site's source, when several sources hold a site of that id.
    reason
        Why, in the user's words (kept with the amendment).

    Returns
    -------
    str
        The new amendment's id (``"A"`` and 16 hex digits).

    Raises
    ------
    InvalidArgumentError
        A field that cannot be corrected, a value that is not valid, or a value the
        site already has.
    PermissionDeniedError
        The viewer has no agency, or the site is another agency's.
    DataNotFoundError
        No site of that id that the viewer may see.
    ConflictError
        Someone changed the amendments of that site first; nothing was changed.
    """
    with refusals_audited(store, viewer, f"correct {field} of site {site_id}"):
        require_agency(viewer, "correct a site's record")
        problems = []
        if field not in AMENDABLE:
            problems.append(one_of("field", field, AMENDABLE))
            new = None
        else:
            new, problem = checked_value(field, value)
            if problem:
                problems.append(problem)
        if not isinstance(reason, str):
            problems.append(f"reason={reason!r} is not valid; expected text")
        if problems:
            raise InvalidArgumentError("; ".join(problems))
        found = own_site(
            seen_sites(store, viewer),
            viewer,
            site_id,
            source_file=source_file,
            doing="correct its record",
        )
        site = {str(k): v for k, v in found.items()}
        changes = {field: new}
        if field == "use":
            changes["use_class"] = str(classify_use(pd.Series([new])).iloc[0])
        if all(value_text(site[c]) == value_text(v) for c, v in changes.items()):
            raise InvalidArgumentError(
                f"The {FIELD_WORDS[field]} of {site['name']} is already {value_text(new)!r}; "
                "nothing changed."
            )
        table = store.exchange("amendments")
        rows, edits, first = [], [], None
        for column, v in changes.items():
            if column != field and value_text(site[column]) == value_text(v):
                continue
            written, edit = field_change(
                table,
                layer="sites",
                row=site,
                column=column,
                value=v,
                agency=str(viewer.agency),
                by=viewer.user,
                reason=reason,
            )
            rows.append(written)
            edits.append(edit)
            if first is None:
                first = str(written["amendment_id"].iloc[-1])
        change = ExchangeChange(
            writer=str(site["source_owner"]),
            rows={"amendments": pd.concat(rows, ignore_index=True)},
            edits=pd.concat(edits, ignore_index=True),
        )
        store.exchange_write(change, shared=_shared(field))
    audit_move(store, viewer, f"amendment {first}: {field} of site {site_id} corrected")
    return str(first)


def _shared(field: str):
    """Return the shared-site callback a change of ``field`` needs (``None`` but sensitivity)."""
    if field != "sensitivity":
        return None
    from ..registers.validate import shared_groups

    return shared_groups


# --------------------------------------------------------------------------- withdraw


def withdraw_amendment(
    store: EstateStore, viewer: Viewer, amendment_id: str, *, version: int
) -> None:
    """Withdraw a standing correction: the register's value (``old``) is written back.

    Withdrawing a correction of ``use`` withdraws the use class set with it.

    Parameters
    ----------
    store
        The estate store.
    viewer
        A user of the site's own agency.
    amendment_id
        The amendment.
    version
        The amendment's version as the user read it.

    Raises
    ------
    DataNotFoundError
        No amendment of that id that the viewer may see.
    PermissionDeniedError
        The viewer has no agency, or the site is another agency's.
    InvalidArgumentError
        An amendment the exchange keeps for an offer or a completed match (withdraw
        the offer instead).
    ConflictError
        The amendment is no longer standing at ``version``; nothing was changed.
    """
    with refusals_audited(store, viewer, f"withdraw amendment {amendment_id}"):
        require_agency(viewer, "withdraw a correction")
        seen = amendments(store, viewer)
        found = seen[seen["amendment_id"] == str(amendment_id)]
        if not len(found):
            raise DataNotFoundError(f"There is no amendment {amendment_id} that you can see.")
        row = found.iloc[0].to_dict()
        if row["layer"] != "sites" or row["field"] not in AMENDABLE:
            raise InvalidArgumentError(
                f"Amendment {amendment_id} is kept by the exchange "
                f"({row['reason'] or 'an offer'}); withdraw the offer instead."
            )
        sites = _rows_seen(store, "sites", viewer)
        site_hit = sites[
            (sites["site_id"].astype(str) == row["row_id"])
            & (sites["source_file"].astype(str) == row["source_file"])
            & (sites["source_owner"].astype(str) == row["source_owner"])
        ]
        owner_ok = (
            _own_site(site_hit.iloc[0].to_dict(), viewer)
            if len(site_hit)
            else _source_is_viewers(row["source_owner"], viewer)
        )
        if not owner_ok:
            raise PermissionDeniedError(
                f"Amendment {amendment_id} is of {row['name'] or row['row_id']}, which is "
                f"{row['agency']}'s: only {row['agency']} may withdraw it."
            )
        if int(row["version"]) != int(version) or row["state"] != "standing":
            raise ConflictError(
                f"Amendment {amendment_id} is {row['state']} (version {row['version']}), not as "
                "you read it; nothing changed."
            )
        table = store.exchange("amendments")
        todo = table[table["amendment_id"] == str(amendment_id)]
        if row["field"] == "use" and len(site_hit):
            todo = pd.concat([todo, standing(table, "sites", site_hit.iloc[0], "use_class")])
        written = todo.copy()
        written["state"] = "withdrawn"
        written["version"] = written["version"] + 1
        edits = pd.DataFrame(
            {
                "layer": "sites",
                "source_owner": written["source_owner"].to_numpy(),
                "source_file": written["source_file"].to_numpy(),
                "row_id": written["row_id"].to_numpy(),
                "field": written["field"].to_numpy(),
                "value": written["old"].to_numpy(),
            },
            columns=list(EDIT_COLUMNS),
        )
        change = ExchangeChange(
            writer=str(row["source_owner"]),
            rows={"amendments": conform(written.reset_index(drop=True), AMENDMENT_COLUMNS)},
            edits=edits if len(site_hit) else None,
        )
        store.exchange_write(change, shared=_shared(row["field"]))
    audit_move(store, viewer, f"amendment {amendment_id} withdrawn")


# --------------------------------------------------------------------------- re-import
