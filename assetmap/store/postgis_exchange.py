"""The PostGIS store's side of the space exchange: its five tables, written under row security.

:class:`~assetmap.store.postgis.PostGISStore` reads and writes the tables of
:data:`~assetmap.store.interface.EXCHANGE_LAYOUT` (migration 0004) through this module:

- **Keys.** Each row is written with the key columns its policies compare
  (:data:`KEYS`: ``owner_key`` of an offer's owner, ``holder_key`` and ``requester_key``
  of a match's parties...), made here by :func:`assetmap.access.agency_key`.
- **One move, one transaction**, serialised with every other exchange move by one
  advisory lock (:data:`EXCHANGE_LOCK`; a move is a few rows), and with an import of a
  source it edits by that source's lock. A new row (version 1) is inserted unless its key
  is taken; a changed row is updated only where it is stored at the version before
  (``UPDATE ... WHERE key = %s AND version = %s``), which under ``READ COMMITTED`` waits
  for another writer of the row and then finds its new version: two people accepting
  one match at once give one acceptance and one :class:`~assetmap.errors.ConflictError`
  saying what the match is now. A row the writer's row security keeps from it, or a
  match written outside its lifecycle (the trigger ``matches_move``), is
  :class:`~assetmap.errors.PermissionDeniedError`. A second standing amendment of one
  field of one row (two moves at once that each read "none standing") is a
  :class:`~assetmap.errors.ConflictError` (the unique index ``amendments_standing``).
- **Edits** update the one stored site or request under the writer's row security (a
  site's sensitivity on its footprint too); a sensitivity edit with ``shared`` settles
  the shared-site groups near the site, as an import does near its rows.
- **Completing a match** is the database's ``complete_match`` function (the one move
  that writes two agencies' rows), whose refusals are turned into these errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd

from ..access import agency_key
from ..errors import ConflictError, InvalidArgumentError, PermissionDeniedError
from .gpkg_exchange import standing_taken
from .interface import (
    EDIT_COLUMNS,
    EXCHANGE_LAYOUT,
    EXCHANGE_NOUNS,
    ExchangeChange,
    changed_first,
    conform,
    plain_value,
    refuse_stored_keys,
)
from .postgis_locks import EXCHANGE_LOCK, lock_source

__all__ = [
    "EDITED_SITES",
    "EXCHANGE_LOCK",
    "KEYS",
    "check_completion",
    "complete",
    "put_rows",
    "write_edits",
    "write_rows",
]

#: The key columns each exchange table keeps beside the interface's: key column -> the
#: column whose agency (:func:`~assetmap.access.agency_key`) it holds.
KEYS: dict[str, dict[str, str]] = {
    "offers": {"owner_key": "owner", "agency_key": "agency"},
    "offer_sites": {"owner_key": "source_owner"},
    "matches": {"holder_key": "holder", "requester_key": "requester"},
    "amendments": {"owner_key": "source_owner", "agency_key": "agency"},
    "interest": {"agency_key": "agency"},
}
#: The row id column of each layer an edit may change.
_ROW_IDS = {"sites": "site_id", "requests": "request_id"}
#: The refusals of the database's complete_match (migration 0004), by their codes.
_REFUSALS = {
    "AMX01": PermissionDeniedError,
    "AMX02": ConflictError,
    "AMX03": ConflictError,
    "AMX04": ConflictError,
}
#: The unique index of the standing amendments (migration 0004).
_STANDING = "amendments_standing"
#: The trigger's refusal of a match written outside its lifecycle (migration 0004).
_OUTSIDE_LIFECYCLE = "AMX05"


def check_completion(match_id: object, *, version: object, agency: object, by: object, at: object):
    """Check the arguments of ``complete_match``; raise once, naming every problem."""
    problems = []
    if not isinstance(match_id, str) or not match_id.strip():
        problems.append(f"match_id={match_id!r} is not valid; expected a match's id")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"version={version!r} is not valid; expected a whole number from 1")
    for name, value in (("agency", agency), ("by", by), ("at", at)):
        if not isinstance(value, str):
            problems.append(f"{name}={value!r} is not valid; expected text")
    if problems:
        raise InvalidArgumentError("; ".join(problems))


# ------------------------------------------------------------------------------ writing


def write_edits(cur, edits: list[tuple]) -> tuple[list, list, list] | None:
    """Write an exchange move's edits, first of its writes (the caller's transaction, writer set).

    Takes the exchange's lock and the lock of each source edited (as an import of it
    would). ``edits`` are :func:`~assetmap.store.interface.check_exchange_change`'s: each
    ``(layer, source_owner, source_file, row_id, field, value)``, its value typed. Then
    the caller settles the shared-site groups near the sites returned, if any, and writes
    the move's rows (:func:`write_rows`).

    Returns
    -------
    tuple of list, or None
        The sites whose sensitivity was edited, as the parameters of
        :data:`EDITED_SITES` (ids, owners, sources); ``None`` when there are none. A
        site made restricted has its own group cleared here (the owner's
        ``set_shared_groups`` changes open sites only).
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (EXCHANGE_LOCK,))
    frame = pd.DataFrame(edits, columns=list(EDIT_COLUMNS))
    for owner, source_file in sorted({(e[1], e[2]) for e in edits}):
        lock_source(cur, owner, source_file)
    for edit in frame.to_dict("records"):
        _edit(cur, edit)
    sensitive = frame[(frame["layer"] == "sites") & (frame["field"] == "sensitivity")]
    if not len(sensitive):
        return None
    keys = (
        sensitive["row_id"].astype("str").tolist(),
        sensitive["source_owner"].astype("str").tolist(),
        sensitive["source_file"].astype("str").tolist(),
    )
    cur.execute(
        "UPDATE sites SET shared_group = '' WHERE lower(btrim(coalesce(sensitivity, ''))) = "
        "'restricted' AND shared_group <> '' AND " + _EDITED,
        keys,
    )
    return keys


def write_rows(cur, change: ExchangeChange) -> None:
    """Write an exchange move's rows, after its edits (see :func:`write_edits`)."""
    for table, rows in change.rows.items():
        _write_rows(cur, table, rows)


#: The sites of given ids, owners and sources (three text arrays, as parameters).
_EDITED = (
    "(site_id, source_owner, source_file) IN "
    "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))"
)
#: The UPRNs and compact postcodes of the sites :func:`write_edits` says it edited.
EDITED_SITES = "SELECT uprn, postcode_key FROM sites WHERE " + _EDITED


def _write_rows(cur, table: str, frame: pd.DataFrame) -> None:
    """Insert (version 1) or update (the stored version plus one) each row of ``table``."""
    columns, key = EXCHANGE_LAYOUT[table]
    rows = conform(frame, columns)
    for name, of in KEYS[table].items():
        rows[name] = rows[of].map(agency_key).astype("str")
    names = list(rows.columns)
    listed = ", ".join(f'"{c}"' for c in names)
    marks = ", ".join(["%s"] * len(names))
    settings = ", ".join(f'"{c}" = %s' for c in names if c != key)
    for row in rows.to_dict("records"):
        values = [plain_value(row[c]) for c in names]
        with _refusals(table, row):
            if int(row["version"]) == 1:
                cur.execute(
                    f"INSERT INTO {table} ({listed}) VALUES ({marks}) "
                    f'ON CONFLICT ("{key}") DO NOTHING',
                    values,
                )
                if not cur.rowcount:
                    raise ConflictError(
                        f"{EXCHANGE_NOUNS[table]} {row[key]} was made by someone else first; "
                        "nothing changed."
                    )
                continue
            cur.execute(
                f'UPDATE {table} SET {settings} WHERE "{key}" = %s AND "version" = %s',
                [plain_value(row[c]) for c in names if c != key]
                + [row[key], int(row["version"]) - 1],
            )
        if not cur.rowcount:
            _refuse(cur, table, str(row[key]), int(row["version"]))


@contextlib.contextmanager
def _refusals(table: str, row: dict) -> Iterator[None]:
    """Turn the database's refusals of writing one row into the store's errors.

    Row security (not the writer's row), the trigger ``matches_move`` (a match written
    outside its lifecycle: :class:`~assetmap.errors.PermissionDeniedError`) and the
    unique index of the standing amendments (:class:`~assetmap.errors.ConflictError`).
    """
    import psycopg

    try:
        yield
    except psycopg.errors.InsufficientPrivilege:
        raise _not_yours(table, row[EXCHANGE_LAYOUT[table][1]]) from None
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != _STANDING:
            raise
        raise ConflictError(standing_taken(row)) from None
    except psycopg.Error as exc:
        if exc.sqlstate != _OUTSIDE_LIFECYCLE:
            raise
        raise PermissionDeniedError(str(exc.diag.message_primary)) from None


def _refuse(cur, table: str, row_id: str, version: int) -> None:
    """Raise the error for a row not updated: not stored, not the writer's, or changed first."""
    key = EXCHANGE_LAYOUT[table][1]
    columns = EXCHANGE_LAYOUT[table][0]
    said = [c for c in ("state", "updated_by", "updated_at") if c in columns]
    listed = "".join(f', "{c}"' for c in said)
    cur.execute(f'SELECT "version"{listed} FROM {table} WHERE "{key}" = %s', (row_id,))
    found = cur.fetchone()
    noun = EXCHANGE_NOUNS[table]
    if found is None:
        raise ConflictError(f"{noun} {row_id} is not in the store; nothing changed.")
    if int(found[0]) == version - 1:  # at the version expected: row security kept it
        raise _not_yours(table, row_id)
    now = dict(zip(said, found[1:], strict=True))
    raise ConflictError(f"{changed_first(table, f'{noun} {row_id}', now)}; nothing changed.")


def _not_yours(table: str, row_id: object) -> PermissionDeniedError:
    """Return the error for a row the writer's row security refused."""
    whose = {
        "matches": "only the two agencies of a match may move it",
        "interest": "an agency may record only its own interest",
    }.get(table, "only the agency whose register holds the site may change it")
    return PermissionDeniedError(
        f"{EXCHANGE_NOUNS[table]} {row_id} is not yours to change: {whose}; nothing changed."
    )


def _edit(cur, edit: dict) -> None:
    """Write one field of one stored site or request (row security: the writer's own)."""
    from psycopg import sql

    layer, field = str(edit["layer"]), str(edit["field"])
    value = plain_value(edit["value"])
    row_id = _ROW_IDS[layer]
    where = sql.SQL(
        '{} COLLATE "C" = %s AND source_owner COLLATE "C" = %s AND source_file COLLATE "C" = %s'
    ).format(sql.Identifier(row_id))
    params = (str(edit["row_id"]), str(edit["source_owner"]), str(edit["source_file"]))
    cur.execute(
        sql.SQL("UPDATE {} SET {} = %s WHERE ").format(sql.Identifier(layer), sql.Identifier(field))
        + where,
        (value, *params),
    )
    if not cur.rowcount:
        what = "site" if layer == "sites" else "request"
        raise ConflictError(
            f"The {what} {edit['row_id']} of {edit['source_file']} is no longer in the store, or "
            "is not yours to change; nothing changed."
        )
    if layer == "sites" and field == "sensitivity":  # its footprint is held to it too
        cur.execute(
            "UPDATE footprints SET sensitivity = %s WHERE site_id = %s AND source_owner = %s "
            "AND source_file = %s",
            (value, *params),
        )


# ------------------------------------------------------------------------------ completing


def complete(cur, match_id: str, *, version: int, by: str, at: str) -> None:
    """Complete an accepted match through the database's function (writer set by the caller).

    Raises
    ------
    PermissionDeniedError
        The writer is neither of the match's parties (or there is no such match).
    ConflictError
        The match is not accepted at ``version``, the site has too little spare space
        left, or the site or request is gone.
    """
    import psycopg

    cur.execute("SELECT pg_advisory_xact_lock(%s)", (EXCHANGE_LOCK,))
    try:
        cur.execute("SELECT complete_match(%s, %s, %s, %s)", (match_id, version, by, at))
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != _STANDING:
            raise
        raise ConflictError(
            f"The site or request of match {match_id} was changed by someone else at the same "
            "moment; nothing changed."
        ) from None
    except psycopg.Error as exc:
        refusal = _REFUSALS.get(exc.sqlstate or "")
        if refusal is None:
            raise
        raise refusal(str(exc.diag.message_primary)) from None


# ------------------------------------------------------------------------------ values


def put_rows(cur, rows: dict[str, pd.DataFrame]) -> int:
    """Insert exchange rows as they are, with their key columns, refusing keys stored already.

    The store's ``put_exchange_rows`` (``store copy``), in the owner's transaction;
    ``rows`` are checked and conformed.
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (EXCHANGE_LOCK,))
    stored = {}
    for table, frame in rows.items():
        key = EXCHANGE_LAYOUT[table][1]
        cur.execute(
            f'SELECT "{key}" FROM {table} WHERE "{key}" = ANY(%s)',
            (frame[key].astype("str").tolist(),),
        )
        stored[table] = {str(r[0]) for r in cur.fetchall()}
    refuse_stored_keys(rows, stored)
    for table, frame in rows.items():
        keys = {name: frame[of].map(agency_key) for name, of in KEYS[table].items()}
        keyed = frame.assign(**{name: values.astype("str") for name, values in keys.items()})
        listed = ", ".join(f'"{c}"' for c in keyed.columns)
        marks = ", ".join(["%s"] * len(keyed.columns))
        cur.executemany(
            f"INSERT INTO {table} ({listed}) VALUES ({marks})",
            [[plain_value(v) for v in row] for row in keyed.itertuples(index=False)],
        )
    return sum(len(frame) for frame in rows.values())
