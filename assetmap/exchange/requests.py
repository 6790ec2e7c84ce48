"""Requests for space saved in assetmap: one source per agency, written as an import.

A request saved on the Space page or with ``request save`` belongs to the viewer's
agency: it is a row of that agency's source :data:`SAVED_REQUESTS` (kind
``requests``), written by :func:`assetmap.registers.importer.import_register` from a
register made in memory, so every check of an import and its quarantine apply, and
imported and saved requests are one list (``store.requests()``). Each saved request
has a reference ``"Q"`` and 16 hex digits (its ``source_ref``) and, as every request,
a ``request_id`` made from it. Editing or withdrawing one writes the source again.

A request whose ``space_needed_sqft`` is 0 is closed (a completed match closes it):
the plan and the candidates skip it. The register this module writes gives each
amended field its register value (the amendment's ``old``), and the import applies
the standing amendments again, so a closed request stays closed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import replace
from numbers import Real

import pandas as pd

from .._validate import raise_if_any
from ..access import Viewer, import_owner, owns, visible_requests
from ..errors import DataNotFoundError, InvalidArgumentError, PermissionDeniedError
from ._ids import new_id
from .disclosure import audit_move, refusals_audited, require_agency
from .offers import check_date

__all__ = [
    "EDITABLE",
    "SAVED_REQUESTS",
    "edit_request",
    "save_request",
    "saved_requests",
    "withdraw_request",
]

#: The source every agency's saved requests are kept in.
SAVED_REQUESTS = "Requests saved in assetmap"

#: The register's columns, as the importer recognises them, for each request field.
_HEADERS = {
    "source_ref": "Property reference",
    "agency": "Agency",
    "sector": "Sector",
    "space_needed_sqft": "Space needed (sq ft)",
    "use": "Use",
    "postcode": "Postcode",
    "locality": "Locality",
    "max_distance_m": "Max distance (m)",
    "needed_by": "Needed by",
    "sensitivity": "Sensitivity",
}

#: What :func:`edit_request` may change (``sqft`` is ``space_needed_sqft``).
EDITABLE = ("sqft", "postcode", "use", "max_distance_m", "needed_by", "locality")


def _owner(viewer: Viewer) -> str:
    return import_owner(viewer, viewer.agency)[0]


def _as_stored(store, viewer: Viewer) -> Viewer:
    """Return ``viewer`` with its agency spelt as the agency's saved requests are stored.

    Users of one agency may spell it otherwise (``"Kent Community Health"``,
    ``"kent  COMMUNITY health"``): each agency keeps one source :data:`SAVED_REQUESTS`,
    written under the owner already stored for it (the same :func:`~assetmap.access.agency_key`),
    else under the viewer's own spelling.
    """
    log = store.imports()
    stored = log[(log["source_file"] == SAVED_REQUESTS).to_numpy(bool)]["source_owner"]
    for owner in stored.astype(str):
        if owner != viewer.agency and owns(owner, viewer):
            return replace(viewer, agency=owner)
    return viewer


def saved_requests(store, viewer: Viewer) -> pd.DataFrame:
    """Return the viewer's agency's saved requests, as stored (numbered from 0)."""
    rows = store.requests()
    mine = (rows["source_file"] == SAVED_REQUESTS).to_numpy(bool) & rows["source_owner"].map(
        lambda owner: owns(owner, viewer)
    ).to_numpy(bool)
    return rows[mine].reset_index(drop=True)


def _checked(
    *,
    sqft: object,
    postcode: object,
    use: object,
    max_distance_m: object,
    needed_by: object,
    locality: object,
    problems: list[str],
) -> dict[str, object]:
    """Check a request's values as a person gave them; return them as a register row."""
    if isinstance(sqft, bool) or not isinstance(sqft, Real) or not math.isfinite(sqft) or sqft <= 0:
        problems.append(f"sqft={sqft!r} is not valid; expected a number of square feet above 0")
    if max_distance_m is not None and (
        isinstance(max_distance_m, bool)
        or not isinstance(max_distance_m, Real)
        or not math.isfinite(max_distance_m)
        or max_distance_m <= 0
    ):
        problems.append(
            f"max_distance_m={max_distance_m!r} is not valid; expected None or a distance in "
            "metres above 0"
        )
    for name, value in (("postcode", postcode), ("use", use), ("locality", locality)):
        if not isinstance(value, str):
            problems.append(f"{name}={value!r} is not valid; expected text")
    if isinstance(postcode, str) and isinstance(locality, str):
        if not postcode.strip() and not locality.strip():
            problems.append(
                "postcode='' and locality='': expected a postcode (or a locality) where the "
                "space is needed"
            )
    needed = check_date("needed_by", needed_by, problems)
    return {
        "space_needed_sqft": sqft,
        "postcode": postcode if isinstance(postcode, str) else "",
        "use": use if isinstance(use, str) else "",
        "locality": locality if isinstance(locality, str) else "",
        "max_distance_m": max_distance_m,
        "needed_by": needed,
    }


def _register_rows(store, viewer: Viewer, saved: pd.DataFrame) -> list[dict[str, object]]:
    """Return the saved requests as register rows: each amended field at its register value."""
    amendments = store.exchange("amendments")
    standing = amendments[
        (amendments["state"] == "standing")
        & (amendments["layer"] == "requests")
        & (amendments["source_file"] == SAVED_REQUESTS)
        & (amendments["source_owner"] == _owner(viewer))
    ]
    rows = []
    for _, request in saved.iterrows():
        row: dict[str, object] = {name: request[name] for name in _HEADERS}
        for _, amendment in standing[standing["row_id"] == request["request_id"]].iterrows():
            if amendment["field"] in row:
                row[amendment["field"]] = amendment["old"]
        rows.append(row)
    return rows


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) and abs(value) < 1e15 else repr(value)
    return str(value)


def _write(store, viewer: Viewer, rows: list[dict[str, object]], *, check: str | None) -> None:
    """Write the agency's saved requests as its source (removing it when none is left).

    ``check``: the reference of the row the caller added or changed; it must be accepted
    (a row the import would quarantine is refused, before anything is written).
    """
    from ..registers.importer import (
        ImportOptions,
        import_register,
        prepare_register,
        remove_register,
    )

    if not rows:
        remove_register(SAVED_REQUESTS, store=store, owner=_owner(viewer), viewer=viewer)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_HEADERS.values())
    for row in rows:
        writer.writerow(_text(row[name]) for name in _HEADERS)
    data = buffer.getvalue().encode("utf-8")
    options = ImportOptions(name=SAVED_REQUESTS, kind="requests", agency=viewer.agency)
    if check is not None:
        prepared = prepare_register(data, options=options)
        accepted = set(prepared.rows["source_ref"].astype(str))
        if check not in accepted:
            at = [i for i, row in enumerate(rows, start=2) if row["source_ref"] == check]
            reasons = prepared.quarantine[prepared.quarantine["row"].isin(at)]["reason"]
            raise InvalidArgumentError(
                "The request cannot be saved: "
                + ("; ".join(dict.fromkeys(reasons.astype(str))) or "it was not accepted")
                + "."
            )
    import_register(data, store=store, viewer=viewer, options=options)


def _sector(store, viewer: Viewer) -> str:
    """Return the sector of the viewer's agency: its sites' most common, else ``""``."""
    sites = store.sites()
    mine = sites[sites["agency"].map(lambda a: owns(a, viewer)).to_numpy(bool)]
    counts = mine["sector"].astype(str).value_counts()
    return str(counts.index[0]) if len(counts) else ""


def save_request(
    store,
    viewer: Viewer | None,
    *,
    sqft: float,
    postcode: str,
    use: str = "office",
    max_distance_m: float | None = None,
    needed_by: str | dt.date = "",
    locality: str = "",
) -> str:
    """Save a request for space of the viewer's agency; return its ``request_id``.

    Parameters
    ----------
    store, viewer
        The estate store, and who asks (an agency).
    sqft
        The space needed, square feet (above 0).
    postcode, locality
        Where (a postcode, else a locality).
    use
        What for (``"office"``).
    max_distance_m
        How far from there the space may be (default: the importer's 10 km).
    needed_by
        By when (an ISO date, or ``""``).

    Returns
    -------
    str
        The request's id, as ``store.requests()`` gives it (its reference,
        ``source_ref``, is ``"Q"`` and 16 hex digits).

    Raises
    ------
    InvalidArgumentError
        Values that cannot be used, or a row the importer would quarantine (its reasons).
    PermissionDeniedError
        No agency.
    """
    with refusals_audited(store, viewer, "save a request"):
        viewer = require_agency(viewer, "save a request for space")
        problems: list[str] = []
        row = _checked(
            sqft=sqft,
            postcode=postcode,
            use=use,
            max_distance_m=max_distance_m,
            needed_by=needed_by,
            locality=locality,
            problems=problems,
        )
        raise_if_any(problems)
        reference = new_id("Q")
        writer = _as_stored(store, viewer)
        saved = saved_requests(store, viewer)
        rows = _register_rows(store, writer, saved)
        rows.append(
            {
                **row,
                "source_ref": reference,
                "agency": writer.agency,
                "sector": _sector(store, viewer),
                "sensitivity": "open",
            }
        )
        _write(store, writer, rows, check=reference)
        request_id = _find(saved_requests(store, viewer), reference)["request_id"]
    audit_move(store, viewer, f"request {request_id} saved: {float(sqft):,.0f} sq ft")
    return str(request_id)


def _named(saved: pd.DataFrame, request_id: object) -> pd.DataFrame:
    """Return the rows of ``saved`` that ``request_id`` names (its id or its reference)."""
    wanted = str(request_id).strip()
    return saved[(saved["request_id"] == wanted) | (saved["source_ref"] == wanted)]


def _find(saved: pd.DataFrame, request_id: object) -> pd.Series:
    wanted = str(request_id).strip()
    hit = _named(saved, wanted)
    if not len(hit):
        raise DataNotFoundError(f"There is no saved request {wanted} of your agency.")
    return hit.iloc[0]


def _own_saved(
    store, viewer: Viewer, request_id: object, doing: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Return the agency's saved requests and the one ``request_id`` names (id or reference).

    Refuses ``doing`` to another agency's request or an imported one, and says there is
    no such request where the viewer sees none.
    """
    saved = saved_requests(store, viewer)
    wanted = str(request_id).strip()
    hit = _named(saved, wanted)
    if len(hit):
        return saved, hit.iloc[0]
    others = visible_requests(store.requests(), viewer)
    other = others[others["request_id"] == wanted]
    if len(other):
        request = other.iloc[0]
        if request["source_file"] != SAVED_REQUESTS:
            raise PermissionDeniedError(
                f"Request {wanted} comes from the register {request['source_file']}: to {doing} "
                "it, change the register and import it again."
            )
        raise PermissionDeniedError(
            f"Request {wanted} is {request['agency']}'s: only {request['agency']} may {doing} it."
        )
    raise DataNotFoundError(f"There is no saved request {wanted} of your agency.")


def edit_request(store, viewer: Viewer | None, request_id: str, **fields: object) -> None:
    """Change a saved request of the viewer's agency.

    Parameters
    ----------
    store, viewer
        The estate store, and who changes it (the request's agency).
    request_id
        The request (its ``request_id``, or its ``Q`` reference).
    **fields
        Any of :data:`EDITABLE`: ``sqft``, ``postcode``, ``use``, ``max_distance_m``
        (``None``: the default), ``needed_by``, ``locality``.

    Raises
    ------
    InvalidArgumentError
        No field, a field not editable, or values that cannot be used.
    PermissionDeniedError
        No agency, another agency's request, or an imported one.
    DataNotFoundError
        No such saved request.
    """
    with refusals_audited(store, viewer, f"edit request {request_id}"):
        viewer = require_agency(viewer, "edit a request")
        unknown = [name for name in fields if name not in EDITABLE]
        if unknown or not fields:
            raise InvalidArgumentError(
                f"fields {', '.join(unknown) or '(none)'} cannot be edited; expected one or "
                f"more of: {', '.join(EDITABLE)}"
            )
        saved, target = _own_saved(store, viewer, request_id, "edit")
        writer = _as_stored(store, viewer)
        rows = _register_rows(store, writer, saved)
        current = next(r for r in rows if r["source_ref"] == target["source_ref"])
        stored = {
            "sqft": float(target["space_needed_sqft"]),
            "postcode": str(target["postcode"]),
            "use": str(target["use"]),
            "max_distance_m": float(target["max_distance_m"]),
            "needed_by": str(target["needed_by"]),
            "locality": str(target["locality"]),
        }
        problems: list[str] = []
        checked = _checked(**{**stored, **fields}, problems=problems)
        raise_if_any(problems)
        for name in fields:
            column = "space_needed_sqft" if name == "sqft" else name
            current[column] = checked[column]
        _withdraw_amendments(store, viewer, target, fields)
        _write(store, writer, rows, check=str(target["source_ref"]))
    audit_move(store, viewer, f"request {target['request_id']} edited: {', '.join(fields)}")


def _withdraw_amendments(store, viewer: Viewer, target: pd.Series, fields) -> None:
    """Withdraw the standing amendments of the fields a person sets anew (their value wins)."""
    from ..store.interface import AMENDMENT_COLUMNS, ExchangeChange, conform

    columns = {"space_needed_sqft" if name == "sqft" else name for name in fields}
    amendments = store.exchange("amendments")
    standing = amendments[
        (amendments["state"] == "standing")
        & (amendments["layer"] == "requests")
        & (amendments["row_id"] == str(target["request_id"]))
        & (amendments["source_file"] == SAVED_REQUESTS)
        & (amendments["source_owner"] == str(target["source_owner"]))
        & amendments["field"].isin(columns)
    ]
    if not len(standing):
        return
    changed = standing.copy()
    changed["state"] = "withdrawn"
    changed["version"] = changed["version"] + 1
    store.exchange_write(
        ExchangeChange(
            str(target["source_owner"]),
            rows={"amendments": conform(changed.reset_index(drop=True), AMENDMENT_COLUMNS)},
        )
    )


def withdraw_request(store, viewer: Viewer | None, request_id: str) -> None:
    """Withdraw a saved request of the viewer's agency, and its live matches.

    Raises
    ------
    PermissionDeniedError
        No agency, another agency's request, or an imported one.
    DataNotFoundError
        No such saved request.
    """
    with refusals_audited(store, viewer, f"withdraw request {request_id}"):
        viewer = require_agency(viewer, "withdraw a request")
        saved, target = _own_saved(store, viewer, request_id, "withdraw")
        _withdraw_matches(store, viewer, target)
        writer = _as_stored(store, viewer)
        rows = [
            row
            for row in _register_rows(store, writer, saved)
            if row["source_ref"] != target["source_ref"]
        ]
        _write(store, writer, rows, check=None)
    audit_move(store, viewer, f"request {target['request_id']} withdrawn")


def _withdraw_matches(store, viewer: Viewer, target: pd.Series) -> None:
    """Withdraw every live match of the request (each one audited, as any move)."""
    from .matches import FINAL, move

    table = store.exchange("matches")
    live = table[
        (table["request_id"] == str(target["request_id"]))
        & (table["request_file"] == SAVED_REQUESTS)
        & (table["request_owner"] == str(target["source_owner"]))
        & ~table["state"].isin(FINAL)
    ]
    for _, match in live.iterrows():
        move(
            store,
            viewer,
            str(match["match_id"]),
            "withdraw",
            version=int(match["version"]),
            note="the request was withdrawn",
        )
