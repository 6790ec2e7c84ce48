"""The tests' own PostgreSQL server (``tests/pg.py``) is never left running.

It is stopped, and its folder removed, at the end of a session, when the session is
killed (its watchdog), and by the next session when both of those failed (a pid check).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests import pg

ROOT = Path(__file__).resolve().parents[1]

#: Seconds a stopped server's process and folder may take to go: a generous bound that
#: proves they go (the watchdog polls twice a second), not a measure of speed.
GONE_WITHIN_S = 60

_SESSION = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.pg import PgServer
server = PgServer().start()
print(server.pid, server.folder, flush=True)
time.sleep(600)
"""


@pytest.fixture(autouse=True)
def _postgres_installed() -> None:
    bindir, missing = pg.find_postgres()
    if bindir is None:
        pytest.skip(f"PostgreSQL with PostGIS is not installed: {missing}")


def _gone(pid: int, folder: Path) -> bool:
    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline:
        if not pg._alive(pid) and not folder.exists():
            return True
        time.sleep(0.2)
    return False


def test_a_server_is_stopped_and_removed_at_the_end():
    with pg.running_server() as server:
        pid, folder = server.pid, server.folder
        with server.admin() as db:
            roles = db.execute(
                "SELECT rolname, rolbypassrls, rolsuper FROM pg_roles "
                "WHERE rolname LIKE 'assetmap%' ORDER BY 1"
            ).fetchall()
        assert roles == [("assetmap_app", False, False), ("assetmap_owner", False, False)]
        assert pg._alive(pid) and (folder / "data" / "PG_VERSION").exists()
    assert not pg._alive(pid) and not folder.exists()


def test_the_server_of_a_killed_session_is_stopped_and_removed():
    session = subprocess.Popen(
        [sys.executable, "-c", _SESSION, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert session.stdout is not None
        pid_text, folder_text = session.stdout.readline().split()
        pid, folder = int(pid_text), Path(folder_text)
        assert pg._alive(pid)
    finally:
        session.kill()  # as kill -9: no finaliser, no atexit
        session.wait(timeout=30)
        if session.stdout is not None:
            session.stdout.close()
    assert _gone(pid, folder), f"the server {pid} of a killed session is still running"


def test_a_new_session_removes_the_folders_of_sessions_that_are_gone():
    dead = subprocess.run(  # a process that has ended: its pid is no session's
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale = Path(tempfile.mkdtemp(prefix=pg.FOLDER_PREFIX))
    (stale / "session.pid").write_text(dead.stdout.strip())
    with pg.running_server() as server:
        assert not stale.exists()
        assert server.folder.exists()
