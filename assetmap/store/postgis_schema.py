"""The PostGIS store's schema: its numbered migrations, creating it and bringing it up to date.

The schema is the project's own numbered SQL files, ``assetmap/store/migrations/NNNN_*.sql``
(not alembic): a few tables, row-level security policies, a function and grants are
plain SQL anyway, they need no other dependency, and the owner role runs each file in
one transaction, recording its number in ``schema_version``. :data:`SCHEMA_VERSION` is
the newest number this assetmap knows.

Two roles (see the README's "Running assetmap for a partnership"): the *owner* role owns
the tables and runs :func:`init_store` and :func:`upgrade_store`; the *app* role, which
the app and the command line connect as, may read and write the data tables (held to
row-level security), only insert into and read the audit log, and never change the schema.
"""

from __future__ import annotations

import datetime
import re
from importlib import resources

from ..errors import InvalidArgumentError, StoreError
from .interface import EXCHANGE_LAYOUT, LAYOUT

__all__ = [
    "DATA_TABLES",
    "EXCHANGE_TABLES",
    "SCHEMA_VERSION",
    "audit_fields",
    "check_schema",
    "connect",
    "connect_arrow",
    "init_store",
    "is_owner",
    "migrations",
    "redact",
    "schema_version",
    "scrub",
    "upgrade_store",
]

#: The fields of an audit entry (a row of ``audit_log``).
_AUDIT_FIELDS = ("time", "user", "agency", "signed_in", "action", "what", "sha256", "counts")
#: The tables of the estate (the store's first seven layers), each under row-level security.
DATA_TABLES = tuple(t for t in LAYOUT if t != "scenarios")
#: The saved scenarios' table (migration 0005), under row-level security.
SCENARIO_TABLE = "scenarios"
#: The space exchange's tables (migration 0004), each under row-level security.
EXCHANGE_TABLES = tuple(EXCHANGE_LAYOUT)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
#: The key of the advisory lock that one migration at a time holds.
_MIGRATION_LOCK = 0x61737365746D6170  # "assetmap"


def migrations() -> list[tuple[int, str]]:
    """Return the numbered migrations, in order: (number, SQL text).

    Raises
    ------
    StoreError
        If the numbers do not run 1, 2, 3... without a gap or repeat.
    """
    folder = resources.files("assetmap.store") / "migrations"
    found = sorted(
        (int(m.group(1)), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if (m := _MIGRATION_NAME.match(entry.name))
    )
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StoreError(
            f"the store's migrations are numbered {numbers}; expected 1, 2, 3... with no gap"
        )
    return found


#: The schema version this assetmap reads and writes: its newest migration.
SCHEMA_VERSION = len(migrations())


def redact(url: str) -> str:
    """Return a database URL with its password (in the address or its query) as ``***``.

    Examples
    --------
    >>> redact("postgresql://app:s3cret@db.example:5432/estate?sslmode=require")
    'postgresql://app:***@db.example:5432/estate?sslmode=require'
    """
    text = re.sub(r"^([a-z]+://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", text)


def scrub(message: str, url: str) -> str:
    """Return an error message with any password of ``url`` in it replaced by ``***``."""
    from urllib.parse import unquote, urlsplit

    secrets = set()
    try:
        if urlsplit(url).password:
            secrets.add(unquote(urlsplit(url).password or ""))
    except ValueError:
        pass
    secrets |= {unquote(s) for s in re.findall(r"(?i)[?&]password=([^&#]*)", url)}
    for secret in sorted(secrets - {""}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def connect(url: str):
    """Return a psycopg connection to the database at ``url`` (not in autocommit).

    Raises
    ------
    StoreError
        If it cannot be reached or refuses the role; the message never holds a password.
    """
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=10, application_name="assetmap")
    except (psycopg.Error, ValueError) as exc:
        raise StoreError(
            f"the store {redact(url)} cannot be opened: {scrub(str(exc).strip(), url)}"
        ) from None


def connect_arrow(url: str):
    """Return an ADBC connection to the database at ``url``, in autocommit.

    Its cursors give a query's rows as Arrow (binary ``COPY``); the caller begins and
    ends its own transaction.

    Raises
    ------
    StoreError
        If it cannot be reached or refuses the role; the message never holds a password.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc

    uri = url
    if "connect_timeout=" not in url:  # as psycopg's connect
        uri += ("&" if "?" in url else "?") + "connect_timeout=10&application_name=assetmap"
    try:
        return adbc.connect(uri, autocommit=True)
    except adbc_driver_manager.Error as exc:
        raise StoreError(
            f"the store {redact(url)} cannot be opened: {scrub(str(exc).strip(), url)}"
        ) from None


def is_owner(conn) -> bool:
    """Return whether the connection's role owns the store's tables (``False``: no store)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'schema_version'"
        )
        row = cur.fetchone()
    conn.commit()
    return bool(row and row[0])


def audit_fields(entry: object) -> dict:
    """Return an audit entry's fields, checked; raise one error naming every problem."""
    if not isinstance(entry, dict):
        raise InvalidArgumentError(
            f"entry={entry!r} is not valid; expected a dict of {', '.join(_AUDIT_FIELDS)}"
        )
    problems = [f"the audit entry has no {f!r}" for f in _AUDIT_FIELDS[1:6] if f not in entry]
    counts = entry.get("counts") or {}
    if not isinstance(counts, dict):
        problems.append(f"counts={counts!r} is not valid; expected a dict of whole numbers")
    if problems:
        raise InvalidArgumentError("; ".join(problems))
    time = entry.get("time")
    if isinstance(time, datetime.datetime):
        time = time.isoformat()
    return {
        **{f: entry.get(f) for f in _AUDIT_FIELDS},
        "time": time or None,
        "sha256": entry.get("sha256") or "",
        "counts": counts,
    }


def schema_version(conn) -> int | None:
    """Return the schema version of the database (``None``: no assetmap schema)."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            return None
        cur.execute("SELECT max(version) FROM schema_version")
        found = cur.fetchone()
        return int(found[0]) if found and found[0] is not None else 0


def _check_postgis(conn, url: str) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        if cur.fetchone() is None:
            raise StoreError(
                f"the database {redact(url)} does not have PostGIS: as a superuser, run "
                "CREATE EXTENSION postgis; in it, then try again"
            )


def _migrate(conn, url: str) -> int:
    """Apply every migration newer than the database's schema, each in one transaction.

    Returns the schema version reached. The caller's connection is the owner's.
    """
    applied = 0
    for number, sql in migrations():
        with conn.transaction():
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            current = schema_version(conn) or 0
            if number <= current:
                continue
            if number != current + 1:
                raise StoreError(
                    f"the store {redact(url)} is at schema version {current}, which migration "
                    f"{number} cannot follow"
                )
            with conn.cursor() as cur:
                cur.execute(sql)  # our own files, never user text
                cur.execute(  # (0001 records its own number)
                    "INSERT INTO schema_version (version) SELECT %s "
                    "WHERE NOT EXISTS (SELECT FROM schema_version WHERE version = %s)",
                    (number, number),
                )
            applied += 1
    return applied


def upgrade_store(owner_url: str) -> int:
    """Bring the PostGIS store's schema up to :data:`SCHEMA_VERSION`, as its owner role.

    Parameters
    ----------
    owner_url
        ``postgresql://OWNER:PASSWORD@HOST:PORT/DATABASE``: the role that owns the tables.

    Returns
    -------
    int
        The migrations applied (0: it was up to date).

    Raises
    ------
    StoreError
        No assetmap schema in the database (run ``store init``), a schema newer than
        this assetmap's, or a database that refuses the change.

    Examples
    --------
    >>> upgrade_store("postgresql://assetmap_owner:***@localhost/estate")  # doctest: +SKIP
    0
    """
    import psycopg

    with connect(owner_url) as conn:
        try:
            found = schema_version(conn)
            conn.commit()
            if found is None:
                raise StoreError(
                    f"the database {redact(owner_url)} holds no assetmap store: run "
                    f"`python -m assetmap store init --store {redact(owner_url)}` first"
                )
            if found > SCHEMA_VERSION:
                raise StoreError(_newer(owner_url, found))
            return _migrate(conn, owner_url)
        except psycopg.Error as exc:
            raise StoreError(
                f"the store {redact(owner_url)} could not be upgraded: "
                f"{scrub(str(exc).strip(), owner_url)}"
            ) from None


def init_store(owner_url: str, *, app_role: str) -> int:
    """Create the assetmap schema in a PostGIS database and grant the app role its rights.

    Run as the owner role. A store already made is brought up to date (as
    :func:`upgrade_store`) and its grants made again, so it may be run twice.

    Parameters
    ----------
    owner_url
        ``postgresql://OWNER:PASSWORD@HOST:PORT/DATABASE``: the role that will own the
        tables. The database must have PostGIS (``CREATE EXTENSION postgis``).
    app_role
        The role the app connects as: a LOGIN role that is neither a superuser nor
        ``BYPASSRLS`` nor the owner. It may read and write the estate's rows (held to
        row-level security) and only add to and read the audit log.

    Returns
    -------
    int
        The migrations applied.

    Raises
    ------
    InvalidArgumentError
        An app role that does not exist, is the owner, or can bypass row-level security.
    StoreError
        A database without PostGIS, a newer schema, or one that refuses the change.

    Examples
    --------
    >>> init_store(
    ...     "postgresql://assetmap_owner:***@localhost/estate", app_role="assetmap_app"
    ... )  # doctest: +SKIP
    1
    """
    import psycopg

    with connect(owner_url) as conn:
        try:
            _check_postgis(conn, owner_url)
            _check_app_role(conn, app_role)
            found = schema_version(conn)
            conn.commit()
            if found is not None and found > SCHEMA_VERSION:
                raise StoreError(_newer(owner_url, found))
            applied = _migrate(conn, owner_url)
            with conn.transaction():
                _grant(conn, app_role)
            return applied
        except psycopg.Error as exc:
            raise StoreError(
                f"the store {redact(owner_url)} could not be made: "
                f"{scrub(str(exc).strip(), owner_url)}"
            ) from None


def _check_app_role(conn, app_role: object) -> None:
    """Refuse an app role that does not exist, is the owner, or bypasses row-level security."""
    if not isinstance(app_role, str) or not app_role.strip():
        raise InvalidArgumentError(
            f"app_role={app_role!r} is not valid; expected the name of the role the app "
            "connects as, such as 'assetmap_app'"
        )
    with conn.cursor() as cur:
        cur.execute(
            "SELECT rolsuper, rolbypassrls, rolname = current_user FROM pg_roles "
            "WHERE rolname = %s",
            (app_role,),
        )
        row = cur.fetchone()
    problems = []
    if row is None:
        problems.append(f"there is no role {app_role!r} in the database; create it first")
    elif row[2]:
        problems.append(
            f"the app role {app_role!r} is the owner role; the app must connect as another role"
        )
    elif row[0] or row[1]:
        problems.append(
            f"the app role {app_role!r} is a superuser or has BYPASSRLS, so row-level "
            "security would not hold it; use a role without either"
        )
    if not problems:
        leaky = _estimates_open_to(conn, app_role)
        if leaky:
            problems.append(
                f"the app role {app_role!r} may run PostGIS's estimate functions "
                f"({', '.join(leaky)}), which read past row-level security; as the superuser, "
                "run assetmap.store.postgis_schema.POSTGIS_ESTIMATES_REVOKE in the database "
                "(the README's 'Running assetmap for a partnership', step 2)"
            )
    if problems:
        raise InvalidArgumentError("; ".join(problems))


#: PostGIS's estimate functions read the planner's statistics and a spatial index's extent
#: past row-level security (ST_EstimatedExtent of the sites ends at a withheld site). Only
#: their owner, the superuser, can take them from PUBLIC: this is what it runs.
_ESTIMATES = (
    "st_estimatedextent",
    "_postgis_index_extent",
    "_postgis_stats",
    "_postgis_selectivity",
    "_postgis_join_selectivity",
)
POSTGIS_ESTIMATES_REVOKE = (
    "DO $$ DECLARE f regprocedure; BEGIN "
    "FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname IN ("
    + ", ".join(f"'{name}'" for name in _ESTIMATES)
    + ") LOOP EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f); END LOOP; END $$"
)


def _estimates_open_to(conn, app_role: str) -> list[str]:
    """Return the PostGIS estimate functions ``app_role`` may still run (their names)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT proname FROM pg_proc WHERE proname = ANY(%s) "
            "AND has_function_privilege(%s, oid, 'EXECUTE') ORDER BY proname",
            (list(_ESTIMATES), app_role),
        )
        return [row[0] for row in cur.fetchall()]


def _grant(conn, app_role: str) -> None:
    """Grant the app role its rights (and nothing more) on the store's tables."""
    from psycopg import sql

    role = sql.Identifier(app_role)
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in DATA_TABLES)
    exchange = sql.SQL(", ").join(sql.Identifier(t) for t in EXCHANGE_TABLES)
    statements = [
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(tables, role),
        sql.SQL("GRANT SELECT ON imports_listed TO {}").format(role),
        sql.SQL("GRANT SELECT ON schema_version TO {}").format(role),
        sql.SQL("GRANT SELECT, UPDATE ON store_version TO {}").format(role),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {}").format(role),
        sql.SQL("GRANT SELECT, INSERT ON audit_log TO {}").format(role),
        sql.SQL("GRANT USAGE ON SEQUENCE audit_log_id_seq TO {}").format(role),
        sql.SQL("GRANT EXECUTE ON FUNCTION set_shared_groups(bigint[], text[]) TO {}").format(role),
    ]
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('offers') IS NOT NULL")
        if cur.fetchone()[0]:  # the space exchange (0004; a test's older store has none yet):
            # rows are never deleted, a withdrawn one keeps its state
            statements += [
                sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(exchange, role),
                sql.SQL(
                    "GRANT EXECUTE ON FUNCTION complete_match(text, bigint, text, text) TO {}"
                ).format(role),
            ]
        cur.execute("SELECT to_regclass('scenarios') IS NOT NULL")
        if cur.fetchone()[0]:  # the saved scenarios (0005)
            statements.append(
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                    sql.Identifier(SCENARIO_TABLE), role
                )
            )
        for statement in statements:
            cur.execute(statement)


def _newer(url: str, found: int) -> str:
    """Return the message for a store whose schema is newer than this assetmap's."""
    return (
        f"the store {redact(url)} has schema version {found}, newer than this assetmap "
        f"knows ({SCHEMA_VERSION}): upgrade assetmap to use it"
    )


def check_schema(conn, url: str, *, owner: bool) -> None:
    """Check that the database's schema is this assetmap's, migrating it if ``owner`` may.

    Raises
    ------
    StoreError
        No schema (run ``store init``), an older one opened by the app role (run
        ``store upgrade`` as the owner), or a newer one (upgrade assetmap).
    """
    found = schema_version(conn)
    conn.commit()
    if found is None:
        raise StoreError(
            f"the database {redact(url)} holds no assetmap store yet: run "
            f"`python -m assetmap store init --store <the owner's URL> --app-role <the app's "
            "role>` first"
        )
    if found > SCHEMA_VERSION:
        raise StoreError(_newer(url, found))
    if found < SCHEMA_VERSION:
        if owner:
            _migrate(conn, url)
            return
        raise StoreError(
            f"the store's schema is version {found} and this assetmap needs "
            f"{SCHEMA_VERSION}: run `python -m assetmap store upgrade --store <url as owner>`"
        )
