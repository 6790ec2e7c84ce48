"""A PostgreSQL + PostGIS server of the tests' own, on a temporary data folder and loopback.

Fixtures (wired into every test by ``tests/conftest.py``):

- ``pg_server`` (session; one server per pytest-xdist worker): a :class:`PgServer`
  started on a temporary data folder, a free port of 127.0.0.1 and a Unix socket in
  that folder, with the roles ``assetmap_owner`` (owns the tables, runs the
  migrations) and ``assetmap_app`` (what the app connects as: LOGIN, NOBYPASSRLS,
  not the owner), each with a random password. It also holds a template database
  that already has PostGIS and the assetmap schema (``init_store``), so that a fresh
  database per test is one ``CREATE DATABASE ... TEMPLATE`` (a file copy).
- ``pg_store`` (function): ``(owner_url, app_url)`` of a FRESH database made from
  that template, dropped afterwards.
- ``pg_empty`` (function): ``(owner_url, app_url)`` of a fresh database with PostGIS
  but no assetmap schema (for ``store init`` and the "no schema" messages).

Both skip, saying why ("PostgreSQL with PostGIS is not installed: ..."), only where
``initdb`` or ``postgis.control`` is missing; a server that is installed but will not
start is an error, never a skip.

PostgreSQL refuses to run as root, so when the tests run as root (CI) ``initdb`` and
``postgres`` run as the ``postgres`` OS user, and the temporary folder is given to it;
otherwise they run as the current user. The server is tuned for tests, not for
keeping data (``fsync=off``, ``synchronous_commit=off``, ``full_page_writes=off``, small
``shared_buffers``). It is stopped at the session's end; if the session dies first
(``kill -9``, a crash), a small watchdog process that polls the session's pid stops it
and removes its folder, an ``atexit`` handler stops it on any ordinary exit, and a
new session removes the folders of servers whose session is gone (a pid check).

:class:`PgServer` needs no pytest: ``benchmarks/`` may start one the same way
(``with running_server() as server: ...``).
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

OWNER_ROLE = "assetmap_owner"
APP_ROLE = "assetmap_app"
SUPERUSER = "postgres"
#: Temporary folders of the tests' servers start so (see :func:`_remove_stale_servers`).
FOLDER_PREFIX = "assetmap-pg-"
#: The template of every test's database: PostGIS and the assetmap schema.
TEMPLATE_DB = "assetmap_template"
#: The template of a database with PostGIS but no schema.
POSTGIS_DB = "assetmap_postgis"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30

#: The server's settings for tests: nothing is kept, so nothing is flushed.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "60",
    "max_wal_size": "1GB",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


#: What a superuser runs after ``CREATE EXTENSION postgis`` (as the README's partnership
#: set-up says): PostGIS's functions that read a table's planner statistics or its spatial
#: index (``ST_EstimatedExtent``, ``_postgis_stats``...) are not held to row-level security,
#: so they would tell any role the extent of every row, withheld ones too. Only the
#: extension's owner may revoke them (``tests/test_rls.py`` shows the leak they close).


def find_postgres() -> tuple[Path | None, str]:
    """Return the folder of PostgreSQL's programs, or ``None`` and what is missing.

    The newest ``/usr/lib/postgresql/N/bin`` (Debian's layout) holding ``initdb`` and
    ``postgres``, else the folder ``pg_config --bindir`` names; PostGIS must be
    installed for that version (``postgis.control`` in its extension folder).
    """
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            named = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(named))
    bins = [b for b in candidates if (b / "initdb").exists() and (b / "postgres").exists()]
    if not bins:
        return None, "no initdb (apt-get install postgresql-15 postgresql-15-postgis-3)"
    for found in bins:
        if _postgis_control(found) is not None:
            return found, ""
    return None, (
        f"no postgis.control for the PostgreSQL in {bins[0]} "
        "(apt-get install postgresql-15-postgis-3)"
    )


def _postgis_control(bindir: Path) -> Path | None:
    """Return the ``postgis.control`` of the PostgreSQL in ``bindir``, if installed."""
    version = bindir.parent.name
    found = [
        Path(f"/usr/share/postgresql/{version}/extension/postgis.control"),
        bindir.parent / "share" / "extension" / "postgis.control",
    ]
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            share = subprocess.run(
                [str(pg_config), "--sharedir"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if share:
                found.insert(0, Path(share) / "extension" / "postgis.control")
    return next((p for p in found if p.exists()), None)


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres() -> dict:
    """Keyword arguments for ``subprocess`` that run a program as the ``postgres`` OS user
    when we are root (PostgreSQL refuses root), else nothing."""
    if os.geteuid() != 0:
        return {}
    return {"user": SUPERUSER, "group": SUPERUSER, "extra_groups": []}


def _give_to_postgres(path: Path) -> None:
    """Give a folder to the ``postgres`` OS user when we are root."""
    if os.geteuid() == 0:
        shutil.chown(path, SUPERUSER, SUPERUSER)


class PgServer:
    """A PostgreSQL server of the tests' own (see the module's notes).

    Attributes
    ----------
    folder
        The temporary folder: ``data/`` (the cluster), ``socket/``, ``server.log``
        and ``session.pid`` (the pid of the process that started it).
    port
        Its TCP port on 127.0.0.1.
    passwords
        The password of each login role (random, new for each server).
    """

    def __init__(self, bindir: Path | None = None) -> None:
        found, missing = (bindir, "") if bindir is not None else find_postgres()
        if found is None:
            raise RuntimeError(f"PostgreSQL with PostGIS is not installed: {missing}")
        self.bindir = found
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        self.port = 0
        self.passwords = {OWNER_ROLE: secrets.token_hex(16), APP_ROLE: secrets.token_hex(16)}
        self._process: subprocess.Popen | None = None
        self._watchdog: subprocess.Popen | None = None
        self._names = itertools.count(1)

    # ------------------------------------------------------------------ start and stop

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        """The folder of the server's Unix socket."""
        return self.folder / "socket"

    def start(self) -> PgServer:
        """Make the cluster, start the server, create the roles; return ``self``.

        A start that fails stops whatever it started and removes the folder.
        """
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> PgServer:
        _remove_stale_servers()
        (self.folder / "session.pid").write_text(str(os.getpid()))
        self.socket_dir.mkdir(mode=0o700)
        _give_to_postgres(self.folder)
        _give_to_postgres(self.socket_dir)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
        )
        for attempt in range(5):  # a port free a moment ago may be taken by then
            self.port = free_port()
            if self._start_postmaster():
                break
            if attempt == 4:
                raise RuntimeError(f"PostgreSQL did not start: {self.log_tail()}")
        atexit.register(self.stop)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(self.pid), str(self.folder)],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with self.admin() as db:
            for role, password in self.passwords.items():
                # the app's role: LOGIN, never BYPASSRLS, owns nothing
                db.execute(
                    f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    f"NOBYPASSRLS PASSWORD '{password}'"
                )
        return self

    def _start_postmaster(self) -> bool:
        """Start ``postgres`` on :attr:`port`; return whether it accepts connections."""
        options = {**SETTINGS, "port": str(self.port), "unix_socket_directories": self.socket_dir}
        args = [str(self.bindir / "postgres"), "-D", str(self.data)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        with open(self.folder / "server.log", "ab") as log:  # the server keeps its own copy
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the session is not the server's
                **_as_postgres(),
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False  # e.g. the port was taken
            if self._accepts():
                return True
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start in {START_TIMEOUT_S} s: {self.log_tail()}")

    def _accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.admin_conninfo(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder; nothing if stopped."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: ends every session
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.folder, ignore_errors=True)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:  # it sees the folder gone and ends by itself
            try:
                watchdog.wait(timeout=5)
            except subprocess.TimeoutExpired:
                watchdog.kill()
                watchdog.wait(timeout=5)
        atexit.unregister(self.stop)

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the server's log, for a message."""
        try:
            text = (self.folder / "server.log").read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.folder,
            **_as_postgres(),
        )
        if done.returncode:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")

    # ------------------------------------------------------------------ connections

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """Return the superuser's connection string (through the Unix socket, no password)."""
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    @contextlib.contextmanager
    def admin(self, dbname: str = "postgres") -> Iterator:
        """Yield an autocommit psycopg connection as the superuser."""
        import psycopg

        with psycopg.connect(self.admin_conninfo(dbname), autocommit=True) as db:
            yield db

    def url(self, role: str, dbname: str) -> str:
        """Return ``postgresql://role:password@127.0.0.1:port/dbname`` for a login role."""
        return f"postgresql://{role}:{self.passwords[role]}@127.0.0.1:{self.port}/{dbname}"

    def urls(self, dbname: str) -> tuple[str, str]:
        """Return the (owner, app) URLs of a database."""
        return self.url(OWNER_ROLE, dbname), self.url(APP_ROLE, dbname)

    # ------------------------------------------------------------------ databases

    def new_name(self) -> str:
        """Return a database name not used before on this server."""
        return f"t{os.getpid()}_{next(self._names)}"

    def create_database(self, name: str, *, template: str | None = None) -> None:
        """Create ``name``, owned by the owner role: a copy of ``template``, or with PostGIS."""
        _check_name(name)
        with self.admin() as db:
            if template is not None:
                _check_name(template)
                db.execute(
                    f"CREATE DATABASE {name} OWNER {OWNER_ROLE} TEMPLATE {template} "
                    "STRATEGY FILE_COPY"
                )
                return
            db.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        with self.admin(name) as db:
            db.execute("CREATE EXTENSION postgis")  # only a superuser may
            from assetmap.store.postgis_schema import POSTGIS_ESTIMATES_REVOKE

            db.execute(POSTGIS_ESTIMATES_REVOKE)

    @contextlib.contextmanager
    def built_database(self, build) -> Iterator[tuple[str, str, str]]:
        """A fresh database with the assetmap schema that ``build(app_url)`` fills.

        Yields ``(name, owner_url, app_url)``; the database is dropped afterwards.
        """
        name = self.new_name()
        self.create_database(name, template=TEMPLATE_DB)
        owner_url, app_url = self.urls(name)
        try:
            build(app_url)
            yield name, owner_url, app_url
        finally:
            self.drop_database(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any session still on it."""
        _check_name(name)
        with self.admin() as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def make_templates(self, *, schema: bool = True) -> None:
        """Make :data:`POSTGIS_DB` (PostGIS) and, with ``schema``, :data:`TEMPLATE_DB`
        (PostGIS and the assetmap schema, granted to the app's role)."""
        self.create_database(POSTGIS_DB)
        self._seal(POSTGIS_DB)
        if not schema:
            return
        from assetmap.store.postgis_schema import init_store

        self.create_database(TEMPLATE_DB, template=POSTGIS_DB)
        owner_url, _ = self.urls(TEMPLATE_DB)
        init_store(owner_url, app_role=APP_ROLE)
        self._seal(TEMPLATE_DB)

    def _seal(self, name: str) -> None:
        """Let nobody connect to a template again (a session on it would spoil the copies)."""
        with self.admin() as db:
            db.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"database name {name!r} is not a plain lower-case identifier")


def _remove_stale_servers() -> None:
    """Stop and remove the servers of sessions that are gone (their watchdog did not)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            session = int((folder / "session.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(session):
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((folder / "data" / "postmaster.pid").read_text().split()[0])
            if _alive(postmaster):
                os.kill(postmaster, signal.SIGQUIT)  # immediate shutdown
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running (a zombie, which has ended, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# The watchdog: run as ``python -c WATCHDOG SESSION_PID POSTMASTER_PID FOLDER``. It ends
# when the folder is gone (the session stopped the server itself); if the session's
# process is gone first, it stops the server (fast shutdown, then SIGKILL) and removes
# the folder. It polls, so it needs nothing of the session but its pid.
WATCHDOG = (
    r"""
import os, shutil, signal, sys, time
session, postmaster, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
"""
    + inspect.getsource(_alive)
    + r"""
while os.path.isdir(folder) and _alive(session):
    time.sleep(0.5)
if os.path.isdir(folder):
    if _alive(postmaster):
        os.kill(postmaster, signal.SIGINT)
        for _ in range(100):
            if not _alive(postmaster):
                break
            time.sleep(0.1)
        else:
            os.kill(postmaster, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)
"""
)


@contextlib.contextmanager
def running_server(*, template: bool = False) -> Iterator[PgServer]:
    """Start a :class:`PgServer` (with the schema template, if asked), stop it afterwards."""
    server = PgServer().start()
    try:
        server.make_templates(schema=template)
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- fixtures

try:
    import pytest
except ImportError:  # a benchmark without pytest
    pytest = None  # type: ignore[assignment]


def first_release_store(owner_url: str, sites: list[dict]) -> None:
    """Make a store at schema 1, as the first release made it, holding ``sites``.

    Only the first migration is applied, and the rows are written by SQL as the
    owner, as that release's store wrote them (today's store code needs the newer
    schema: it cannot write into an old one, and the app's role refuses it). Each
    site is a dict of ``name``, ``agency``, ``source_file`` and optionally
    ``postcode``, ``uprn``, ``sector``, ``shared_group``; each source gets its
    import-log row. For the tests of ``store upgrade``.
    """
    from unittest import mock

    import psycopg

    from assetmap.access import agency_key
    from assetmap.store import postgis_schema

    first = postgis_schema.migrations()[:1]
    with (
        mock.patch.object(postgis_schema, "migrations", lambda: first),
        mock.patch.object(postgis_schema, "SCHEMA_VERSION", 1),
    ):
        postgis_schema.init_store(owner_url, app_role=APP_ROLE)
    sources: dict[tuple[str, str], int] = {}
    with psycopg.connect(owner_url) as conn:
        for row, site in enumerate(sites, start=1):
            owner, source = site["agency"], site["source_file"]
            sources[(source, owner)] = sources.get((source, owner), 0) + 1
            conn.execute(
                "INSERT INTO sites (site_id, name, postcode, uprn, agency, sector, sensitivity, "
                "shared_group, location_source, source_file, source_owner, source_row, "
                "agency_key, owner_key, geom) VALUES (%s, %s, %s, %s, %s, %s, 'open', %s, "
                "'coordinates', %s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 27700))",
                (
                    f"S{row:016x}",
                    site["name"],
                    site.get("postcode", ""),
                    site.get("uprn", ""),
                    owner,
                    site.get("sector", "council"),
                    site.get("shared_group", ""),
                    site["source_file"],
                    owner,
                    row,
                    agency_key(owner),
                    agency_key(owner),
                    570_000 + row,
                    160_000 + row,
                ),
            )
        for (source_file, owner), accepted in sources.items():
            conn.execute(
                "INSERT INTO imports (source_file, source_owner, kind, agency, rows_read, "
                "accepted, quarantined, agency_key, owner_key) "
                "VALUES (%s, %s, 'sites', %s, %s, %s, 0, %s, %s)",
                (
                    source_file,
                    owner,
                    owner,
                    accepted,
                    accepted,
                    agency_key(owner),
                    agency_key(owner),
                ),
            )


if pytest is not None:

    @pytest.fixture(scope="session")
    def pg_server() -> Iterator[PgServer]:
        """One PostgreSQL + PostGIS server for the session (per xdist worker), with the
        roles and the schema template; skips only where PostgreSQL or PostGIS is missing."""
        bindir, missing = find_postgres()
        if bindir is None:
            pytest.skip(f"PostgreSQL with PostGIS is not installed: {missing}")
        server = PgServer(bindir).start()
        try:
            server.make_templates()
            yield server
        finally:
            server.stop()

    @pytest.fixture
    def pg_store(pg_server: PgServer) -> Iterator[tuple[str, str]]:
        """``(owner_url, app_url)`` of a fresh database with the assetmap schema."""
        name = pg_server.new_name()
        pg_server.create_database(name, template=TEMPLATE_DB)
        try:
            yield pg_server.urls(name)
        finally:
            pg_server.drop_database(name)

    @pytest.fixture
    def pg_empty(pg_server: PgServer) -> Iterator[tuple[str, str]]:
        """``(owner_url, app_url)`` of a fresh database with PostGIS but no assetmap schema."""
        name = pg_server.new_name()
        pg_server.create_database(name, template=POSTGIS_DB)
        try:
            yield pg_server.urls(name)
        finally:
            pg_server.drop_database(name)
