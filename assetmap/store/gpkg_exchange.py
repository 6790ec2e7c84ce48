"""The GeoPackage store's side of the space exchange: five plain tables, one move at a time.

The exchange's tables (:data:`~assetmap.store.interface.EXCHANGE_LAYOUT`) are attribute
tables of the store's GeoPackage, without geometry, registered in ``gpkg_contents`` as
``attributes`` as the store's own ``imports`` and ``places`` are, each with a unique
index on its key (and ``amendments`` with one more: at most one standing amendment of one
field of one row, :data:`STANDING_INDEX`). A store written before them holds none: it
reads them as empty, and the first exchange write makes all five.

Every write here runs inside one change of the store
(:meth:`~assetmap.store.geopackage.GeoPackageStore._edit`): under its writer lock, in the
one SQLite transaction of a :class:`~assetmap.store.bulk.BulkWriter`, whose connection
reads the rows it checks. A refusal is raised before the transaction commits, so it
leaves the file as it was. Empty text is stored as NULL and read back as ``""``, as
everywhere in the store.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..access import agency_key
from ..errors import ConflictError, PermissionDeniedError
from ..schema import REQUEST_COLUMNS, SITE_COLUMNS
from .bulk import _GONE, BulkWriter
from .gpkg_file import _SQL_TYPES
from .interface import (
    EXCHANGE_LAYOUT,
    EXCHANGE_NOUNS,
    ExchangeChange,
    SharedGroups,
    changed_first,
    conform,
    refuse_stored_keys,
    standing_amendment,
    value_text,
)

__all__ = [
    "STANDING_INDEX",
    "complete",
    "copy_rows",
    "made_tables",
    "put_rows",
    "standing_taken",
    "write_change",
]

#: The sites or requests an edit names: their layer's id column and canonical columns.
_LAYERS = {"sites": ("site_id", SITE_COLUMNS), "requests": ("request_id", REQUEST_COLUMNS)}
#: The writers (their transactions) that made the exchange's tables.
_MADE: weakref.WeakSet[BulkWriter] = weakref.WeakSet()
_NOTHING = "nothing changed."
#: The unique index that keeps one standing amendment of one field of one row (empty text
#: is stored as NULL, which a unique index would take as distinct: hence ``ifnull``).
STANDING_INDEX = (
    'CREATE UNIQUE INDEX "amendments_standing" ON "amendments" (ifnull("layer", \'\'), '
    "ifnull(\"row_id\", ''), ifnull(\"source_file\", ''), ifnull(\"source_owner\", ''), "
    "ifnull(\"field\", '')) WHERE \"state\" = 'standing'"
)


def made_tables(db: BulkWriter) -> bool:
    """Return whether ``db``'s transaction made the exchange's tables (its layers changed)."""
    return db in _MADE


# ---------------------------------------------------------------------------- checks
# (the messages are the PostGIS store's: assetmap.store.postgis_exchange)


def standing_taken(row: Mapping[str, Any]) -> str:
    """Return the refusal of a second standing amendment of one field of one row (both stores).

    Two moves made at once each read "no standing amendment of this field" and each
    write one: the second to commit is refused with this.
    """
    what = "request" if row.get("layer") == "requests" else "site"
    return (
        f"The {row.get('field')} of the {what} {row.get('row_id')} of {row.get('source_file')} "
        f"was changed by someone else at the same moment; {_NOTHING}"
    )


# ---------------------------------------------------------------------------- writing


def write_change(
    db: BulkWriter,
    change: ExchangeChange,
    edits: list[tuple[str, str, str, str, str, Any]],
    shared: SharedGroups | None,
) -> int:
    """Write one exchange move in ``db``'s transaction; return the rows written.

    ``edits`` are :func:`~assetmap.store.interface.check_exchange_change`'s. Every row's
    version and every edit's row is checked first; all that is wrong is raised together.

    Raises
    ------
    ConflictError
        A row not at the version the change expects, a new row whose key is taken, or
        an edit's row not stored (or not the writer's).
    """
    cur = _cursor(db)
    ensure_tables(db)
    problems: list[str] = []
    stored = {table: _stored(cur, table, frame, problems) for table, frame in change.rows.items()}
    found = [_edited_rows(cur, change.writer, edit, problems) for edit in edits]
    if problems:
        raise ConflictError("; ".join([*problems, _NOTHING]))
    written = 0
    for table, frame in change.rows.items():
        for row in conform(frame, EXCHANGE_LAYOUT[table][0]).to_dict("records"):
            _put(cur, table, row, stored[table].get(str(row[EXCHANGE_LAYOUT[table][1]])))
            written += 1
    sensitive: list[int] = []
    for (layer, *_, column, value), fids in zip(edits, found, strict=True):
        _set(cur, layer, fids, column, value)
        if column == "sensitivity":
            sensitive += fids
        written += len(fids)
    if sensitive and shared is not None:
        _settle_near(db, sensitive, shared)
    return written


def copy_rows(db: BulkWriter, table: str, frame: pd.DataFrame) -> None:
    """Append an exchange table's rows as they are (a store rewritten whole keeps them)."""
    cur = _cursor(db)
    ensure_tables(db)
    for row in conform(frame, EXCHANGE_LAYOUT[table][0]).to_dict("records"):
        _put(cur, table, row, None)


def ensure_tables(db: BulkWriter) -> None:
    """Make the exchange's tables that ``db``'s file does not have yet, empty."""
    cur = _cursor(db)
    cur.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(list(EXCHANGE_LAYOUT)),),
    )
    have = {row[0] for row in cur.fetchall()}
    for table, (columns, key) in EXCHANGE_LAYOUT.items():
        if table in have:
            continue
        names = ", ".join(f'"{c}" {_SQL_TYPES[t]}' for c, t in columns.items())
        cur.execute(f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY NOT NULL, {names})')
        cur.execute(f'CREATE UNIQUE INDEX "{table}_key" ON "{table}" ("{key}")')
        if table == "amendments":
            cur.execute(STANDING_INDEX)
        cur.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES (?, 'attributes', ?, '', "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            (table, table),
        )
        _MADE.add(db)


def _cursor(db: BulkWriter):
    """Return the cursor of ``db``'s open transaction (the one connection to the file)."""
    return db._cur


def _rows(cur, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    """Return what a query gives, each row as a dict of its columns."""
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _stored(cur, table: str, frame: pd.DataFrame, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Return the stored rows of ``frame``'s keys; note each row not as the change expects."""
    key = EXCHANGE_LAYOUT[table][1]
    keys = [str(k) for k in frame[key]]
    stored = {
        str(row[key]): row
        for row in _rows(
            cur,
            f'SELECT * FROM "{table}" WHERE "{key}" IN (SELECT value FROM json_each(?))',
            (json.dumps(keys),),
        )
    }
    for k, version in zip(keys, frame["version"], strict=True):
        version = int(version)
        now = stored.get(k)
        what = f"{EXCHANGE_NOUNS[table]} {k}"
        if now is None and version != 1:
            problems.append(f"{what} is not in the store")
        elif now is not None and version == 1:
            problems.append(f"{what} was made by someone else first")
        elif now is not None and int(now["version"]) != version - 1:
            problems.append(changed_first(table, what, now))
    return stored


def _put(cur, table: str, row: Mapping[Any, Any], stored: Mapping[str, Any] | None) -> None:
    """Insert ``row`` into ``table``, or update the ``stored`` row of its key with it."""
    import adbc_driver_manager

    columns = EXCHANGE_LAYOUT[table][0]
    values = tuple(_sql_value(row[c], t) for c, t in columns.items())
    names = [f'"{c}"' for c in columns]
    try:
        if stored is None:
            marks = ", ".join(["?"] * len(names))
            cur.execute(f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})', values)
        else:
            sets = ", ".join(f"{n} = ?" for n in names)
            cur.execute(f'UPDATE "{table}" SET {sets} WHERE fid = ?', (*values, stored["fid"]))
    except adbc_driver_manager.IntegrityError as exc:
        if table != "amendments" or "amendments_standing" not in str(exc):
            raise
        raise ConflictError(standing_taken(row)) from None


def _sql_value(value: Any, dtype: str) -> Any:
    """Return a value as SQLite stores it for a column of ``dtype`` (empty text: NULL)."""
    if value is None or value is pd.NA:
        return None
    if dtype == "str":
        return str(value) or None
    if dtype == "int64":
        return int(value)
    value = float(value)
    return None if math.isnan(value) else value


def _edited_rows(
    cur, writer: str, edit: tuple[str, str, str, str, str, Any], problems: list[str]
) -> list[int]:
    """Return the ``fid`` of the stored row an edit names; note it if not stored or not ours."""
    layer, owner, source, row_id, *_ = edit
    fids = _fids(cur, layer, owner, source, row_id)
    if not fids or agency_key(owner) != agency_key(writer):
        problems.append(
            f"The {'site' if layer == 'sites' else 'request'} {row_id} of {source} is no longer "
            "in the store, or is not yours to change"
        )
    return fids


def _fids(cur, layer: str, owner: str, source: str, row_id: str) -> list[int]:
    """Return the ``fid`` of the stored site or request of a source (found by its index)."""
    id_column = _LAYERS[layer][0]
    # an empty owner is stored as NULL; IS compares both and keeps the index in use
    cur.execute(
        f'SELECT fid FROM "{layer}" WHERE source_file = ? AND source_owner IS ? '
        f"AND {id_column} = ? ORDER BY fid",
        (source, owner or None, row_id),
    )
    return [int(row[0]) for row in cur.fetchall()]


def _set(cur, layer: str, fids: list[int], column: str, value: Any) -> None:
    """Set ``column`` of the rows of these ``fid`` to ``value``."""
    for fid in fids:
        cur.execute(f'UPDATE "{layer}" SET "{column}" = ? WHERE fid = ?', (value, fid))


def _settle_near(db: BulkWriter, fids: list[int], shared: SharedGroups) -> None:
    """Settle the shared groups near the sites of these ``fid`` (their sensitivity changed).

    As after a removal: the sites are given to the writer as those the change touched
    (the table :meth:`~assetmap.store.bulk.BulkWriter.delete_source` fills), and the
    groups of every site sharing their UPRN or compact postcode are settled again.
    """
    cur = _cursor(db)
    cur.execute(f"DROP TABLE IF EXISTS {_GONE}")
    cur.execute(
        "CREATE TEMP TABLE assetmap_gone AS SELECT fid, site_id, uprn, "
        "replace(postcode, ' ', '') AS pc FROM sites WHERE fid IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(fids),),
    )
    db.update_shared_groups(shared, None)
    cur.execute(f"DROP TABLE {_GONE}")


# ---------------------------------------------------------------------------- completion


def complete(db: BulkWriter, match_id: str, *, version: int, agency: str, by: str, at: str) -> int:
    """Complete an accepted match in ``db``'s transaction (see ``EstateStore.complete_match``).

    Returns the rows written.

    Raises
    ------
    PermissionDeniedError
        ``agency`` is neither the match's holder nor its requester.
    ConflictError
        The match is gone or not accepted at ``version``, its site or request is gone,
        or its site has less spare space than it moves. A site is found only among the
        holder's own, and for an offer made in assetmap only the offer's own site: any
        other is "gone" too (as the PostGIS store's function, which tells nothing of
        other agencies' sites).
    """
    cur = _cursor(db)
    ensure_tables(db)
    match = _match(cur, match_id, agency, version)
    sqft = float(match["sqft"] or 0.0)
    site = _one(cur, "sites", ("site_id", "surplus_sqft", "agency"), _site_of(cur, match))
    holder = agency_key(match["holder"])
    if site is not None and (not holder or agency_key(site["agency"]) != holder):
        site = None  # another agency's site: as if not there
    request = _one(
        cur,
        "requests",
        ("request_id", "space_needed_sqft"),
        (match["request_file"], match["request_owner"], match["request_id"]),
    )
    for row, what in ((site, "site"), (request, "request")):
        if row is None:
            raise ConflictError(
                f"The {what} of match {match_id} is no longer in the store (its register was "
                f"imported again or removed); {_NOTHING}"
            )
    assert site is not None and request is not None
    spare = 0.0 if site["surplus_sqft"] is None else float(site["surplus_sqft"])
    if spare < sqft:
        raise ConflictError(
            f"The offer of match {match_id} has less spare space left than the "
            f"{value_text(sqft)} sq ft the match moves; {_NOTHING}"
        )
    need = 0.0 if request["space_needed_sqft"] is None else float(request["space_needed_sqft"])
    reason = f"match {match_id} completed"
    changes = [
        ("sites", site, "surplus_sqft", spare - sqft, match["holder"]),
        ("requests", request, "space_needed_sqft", max(need - sqft, 0.0), match["requester"]),
    ]
    for layer, row, column, value, who in changes:
        _amend(cur, layer, row, column, value, agency=who, by=by, at=at, reason=reason)
        cur.execute(f'UPDATE "{layer}" SET "{column}" = ? WHERE fid = ?', (value, row["fid"]))
    written = 2 * len(changes) + _take_offer(cur, match["offer_id"], sqft, by=by, at=at)
    written += _offer_what_is_left(cur, site, spare - sqft, by=by, at=at)
    cur.execute(
        "UPDATE matches SET state = 'completed', version = ?, updated_at = ?, updated_by = ? "
        "WHERE fid = ?",
        (version + 1, at or None, by or None, match["fid"]),
    )
    return written + 1


def _match(cur, match_id: str, agency: str, version: int) -> dict[str, Any]:
    """Return the stored match, refused unless ``agency`` is a party and it is accepted."""
    found = _rows(cur, "SELECT * FROM matches WHERE match_id = ?", (match_id,))
    if not found:
        raise ConflictError(f"Match {match_id} is not in the store; {_NOTHING}")
    match = {k: ("" if v is None and k != "sqft" else v) for k, v in found[0].items()}
    if agency_key(agency) not in {agency_key(match["holder"]), agency_key(match["requester"])}:
        raise PermissionDeniedError(
            f"there is no match {match_id} of your agency's to complete: only the agency "
            "holding the space and the agency that asked for it may complete a match"
        )
    if match["state"] != "accepted" or int(match["version"]) != int(version):
        raise ConflictError(f"{changed_first('matches', f'Match {match_id}', match)}; {_NOTHING}")
    return match


def _site_of(cur, match: Mapping[str, Any]) -> tuple[str, str, str]:
    """Return the source and id of a match's site (``("", "", "")``: none).

    A register's offer (its id ``"R..."``): the match's ``site_*``. An offer made in
    assetmap: its own site (``offer_sites``), which the match names too, or names none
    (an open offer on a restricted site); a match naming another site has none.
    """
    named = (match["site_file"], match["site_owner"], match["site_id"])
    if str(match["offer_id"]).startswith("R"):
        return named if match["site_id"] else ("", "", "")
    placed = _rows(
        cur,
        "SELECT site_id, source_file, source_owner FROM offer_sites WHERE offer_id = ?",
        (match["offer_id"],),
    )
    if not placed:
        return "", "", ""
    row = placed[0]
    own = (row["source_file"] or "", row["source_owner"] or "", row["site_id"] or "")
    return own if not match["site_id"] or named == own else ("", "", "")


def _one(
    cur, layer: str, columns: tuple[str, ...], key: tuple[str, str, str]
) -> dict[str, Any] | None:
    """Return the ``fid``, source and ``columns`` of one stored site or request (or None)."""
    source, owner, row_id = key
    fids = _fids(cur, layer, owner, source, row_id) if row_id else []
    if not fids:
        return None
    (row,) = _rows(cur, f"SELECT fid, {', '.join(columns)} FROM {layer} WHERE fid = ?", (fids[0],))
    return {**row, "source_file": source, "source_owner": owner}


def _amend(
    cur,
    layer: str,
    row: Mapping[str, Any],
    column: str,
    value: float,
    *,
    agency: str,
    by: str,
    at: str,
    reason: str,
) -> None:
    """Record a completion's change of one field as a standing amendment.

    A standing amendment of that field is ``replaced`` (its version raised), and the new
    one keeps its ``old`` (the register's value), as every other amendment does.
    """
    id_column = _LAYERS[layer][0]
    before = _rows(
        cur,
        "SELECT fid, version, old FROM amendments WHERE state = 'standing' AND layer = ? "
        "AND row_id = ? AND coalesce(source_file, '') = ? AND coalesce(source_owner, '') = ? "
        "AND field = ? ORDER BY fid",
        (layer, row[id_column], row["source_file"], row["source_owner"], column),
    )
    for old in before:
        cur.execute(
            "UPDATE amendments SET state = 'replaced', version = ? WHERE fid = ?",
            (int(old["version"]) + 1, old["fid"]),
        )
    added = standing_amendment(
        layer=layer,
        row_id=row[id_column],
        source_file=row["source_file"],
        source_owner=row["source_owner"],
        field=column,
        old=(before[-1]["old"] or "") if before else value_text(row[column]),
        new=value_text(value),
        agency=agency,
        by=by,
        at=at,
        reason=reason,
    )
    _put(cur, "amendments", added, None)


def _take_offer(cur, offer_id: str, sqft: float, *, by: str, at: str) -> int:
    """Reduce an app offer's ``sqft`` by a completed match's (``taken`` when none is left).

    A live offer of space is left to :func:`_offer_what_is_left`. Returns the rows
    changed (0: a register's offer, which the offers table does not hold, or a live one).
    """
    found = _rows(
        cur,
        "SELECT fid, sqft, version FROM offers WHERE offer_id = ? "
        "AND NOT (kind IS 'space' AND state IS 'open')",
        (offer_id,),
    )
    if not found:
        return 0
    offer = found[0]
    left = max((offer["sqft"] or 0.0) - sqft, 0.0)
    cur.execute(
        "UPDATE offers SET sqft = ?, state = CASE WHEN ? > 0 THEN state ELSE 'taken' END, "
        "version = ?, updated_at = ?, updated_by = ? WHERE fid = ?",
        (left, left, int(offer["version"]) + 1, at or None, by or None, offer["fid"]),
    )
    return 1


def _offer_what_is_left(cur, site: Mapping[str, Any], left: float, *, by: str, at: str) -> int:
    """Set every live offer of space on ``site`` to the spare space ``left`` (``taken`` at 0).

    A live offer's space is its site's ``surplus_sqft``: whichever offer a completed match
    was made on (the register's, or another), each one on the site offers what is left.
    Returns the rows changed.
    """
    live = _rows(
        cur,
        "SELECT o.fid, o.version FROM offers o JOIN offer_sites l ON l.offer_id = o.offer_id "
        "WHERE o.kind = 'space' AND o.state = 'open' AND l.site_id = ? "
        "AND ifnull(l.source_file, '') = ? AND ifnull(l.source_owner, '') = ?",
        (site["site_id"], site["source_file"] or "", site["source_owner"] or ""),
    )
    left = max(left, 0.0)
    for offer in live:
        cur.execute(
            "UPDATE offers SET sqft = ?, state = CASE WHEN ? > 0 THEN state ELSE 'taken' END, "
            "version = ?, updated_at = ?, updated_by = ? WHERE fid = ?",
            (left, left, int(offer["version"]) + 1, at or None, by or None, offer["fid"]),
        )
    return len(live)


def put_rows(db: BulkWriter, rows: dict[str, pd.DataFrame]) -> int:
    """Append exchange rows as they are in ``db``'s transaction, refusing keys stored already.

    The store's ``put_exchange_rows`` (``store copy``); ``rows`` are checked and conformed.
    """
    ensure_tables(db)
    cur = _cursor(db)
    stored = {}
    for table, frame in rows.items():
        key = EXCHANGE_LAYOUT[table][1]
        cur.execute(
            f'SELECT "{key}" FROM "{table}" WHERE "{key}" IN (SELECT value FROM json_each(?))',
            (json.dumps(frame[key].astype("str").tolist()),),
        )
        stored[table] = {str(r[0]) for r in cur.fetchall()}
    refuse_stored_keys(rows, stored)
    for table, frame in rows.items():
        copy_rows(db, table, frame)
    return sum(len(frame) for frame in rows.values())
