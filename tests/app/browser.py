"""Helpers for the end-to-end browser tests: a real Streamlit server and headless Chromium.

Chromium is Debian's (``apt-get install chromium``) driven through the PyPI
``playwright`` package with ``executable_path``; Playwright's own browser
download is never used. Everything has a timeout, and the server is always
stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from assetmap.store import STORE_ENV

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


def skip_without_browser(*packages: str) -> None:
    """Skip the calling test module, saying why, without Chromium or a package it needs."""
    import importlib.util

    import pytest

    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests",
            allow_module_level=True,
        )
    for package in ("playwright", *packages):
        if importlib.util.find_spec(package) is None:
            pytest.skip(
                f"the {package} package is missing: pip install -r requirements.txt "
                "(no browser download needed)",
                allow_module_level=True,
            )


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 90


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def streamlit_server(
    env: dict[str, str],
    log_name: str = "streamlit-server.log",
    *,
    extra_args: list[str] | None = None,
    script: str | Path = "streamlit_app.py",
    app_root: Path = ROOT,
    log_path: Path | None = None,
    processes: list[subprocess.Popen] | None = None,
) -> Iterator[str]:
    """Run ``streamlit run streamlit_app.py`` on 127.0.0.1 and yield its URL.

    The server's output goes to ``test-artifacts/<log_name>`` (or ``log_path``). It is
    stopped (its own process group: SIGTERM, then SIGKILL) when the block ends.
    ``extra_args`` are added to the command (e.g. ``["--secrets.files", path]``);
    ``script`` is run in ``app_root`` (the benchmarks run another tree's app, or a
    script of their own); the server's process is appended to ``processes``.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    log_file = log_path if log_path is not None else ARTIFACTS / log_name
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        *(extra_args or []),
    ]
    full_env = {**os.environ, **env}
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=app_root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if processes is not None:
            processes.append(proc)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(url):
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_file}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"streamlit did not answer on {url} within the timeout")
                time.sleep(0.3)
            yield url
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@contextlib.contextmanager
def chromium_context(playwright, *, width: int = 1400, height: int = 1000):
    """A Chromium browser context with a fresh profile directory."""
    with tempfile.TemporaryDirectory(prefix="assetmap-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": width, "height": height},
            timeout=60_000,
        )
        for page in context.pages:
            watch(page)
        context.on("page", watch)
        try:
            context.set_default_timeout(30_000)
            context.set_default_navigation_timeout(60_000)
            yield context
        finally:
            context.close()


#: The mock OpenID Connect provider's script. It runs in its own process: it is
#: third-party code, and its warnings are not this project's (pytest turns warnings
#: into errors here).
OIDC_PROVIDER = """
import sys
from oidc_provider_mock import run_server_in_thread
with run_server_in_thread(port=int(sys.argv[1])) as server:
    print(server.server_port, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def oidc_provider(users: dict[str, dict[str, str]]) -> Iterator[str]:
    """The mock OpenID Connect provider (its own process) knowing ``users``: its URL.

    ``users`` maps each user's ``sub`` (what the provider's form is filled in with) to
    its claims (``email``, ``agency``).
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", OIDC_PROVIDER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == str(port)
        url = f"http://localhost:{port}"
        for sub, claims in users.items():
            request = urllib.request.Request(
                f"{url}/users/{sub}",
                data=json.dumps(claims).encode("utf-8"),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status in (200, 204)
        yield url
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        proc.stdout.close()


@contextlib.contextmanager
def signed_in_app(store: Path | str, provider: str, folder: Path, log_name: str) -> Iterator[str]:
    """The app on ``store`` with sign-in through ``provider`` (its secrets file in ``folder``).

    No ``$ASSETMAP_AGENCY``: each user's agency is the ``agency`` claim. Yields the URL.
    """
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "\n".join(
            [
                "[auth]",
                'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
                f'cookie_secret = "{secrets.token_hex(32)}"',
                'client_id = "assetmap-test"',
                'client_secret = "not-a-real-secret"',
                f'server_metadata_url = "{provider}/.well-known/openid-configuration"',
                "",
                "[assetmap]",
                'agency_claim = "agency"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    with streamlit_server(
        {STORE_ENV: str(store), "ASSETMAP_AGENCY": ""},
        log_name=log_name,
        extra_args=["--secrets.files", str(secrets_file)],
    ) as url:
        yield url


def sign_in(page, app_url: str, provider: str, sub: str, email: str) -> None:
    """Sign in as ``sub`` through the mock provider, and wait until the app says so."""
    page.goto(app_url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{provider}/**", timeout=60_000)
    page.locator('input[name="sub"]').fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{app_url}/**", timeout=60_000)
    page.get_by_text(f"Signed in as {email}").wait_for(timeout=60_000)


#: How a run ends for good. A run stopped for a rerun (FINISHED_EARLY_FOR_RERUN) is
#: followed by that rerun, which sends ``new_session`` when it starts.
_RUN_ENDS = frozenset(
    {
        ForwardMsg.FINISHED_SUCCESSFULLY,
        ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    }
)


class AppRuns:
    """What a page and the app say to each other over the websocket, to wait for quiet.

    It must listen before the page opens the app (:func:`chromium_context` makes
    one for every page, see :func:`watch`). It hears every rerun the page asks for
    (a widget's change, a map's report of its view), every run's start
    (``new_session``) and every run's end the app sends. Streamlit's status widget
    is no such signal: it shows only once a run has gone on for half a second, so
    a short run, or one a map asks for a moment later, passes unseen.
    """

    def __init__(self, page) -> None:
        self._page = page
        self._asked = False  # a rerun asked for that has not started
        self._running = False
        self._finished = False  # a run has ended (the page has been drawn)
        self._last_heard = 0.0
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            if BackMsg.FromString(bytes(payload)).WhichOneof("type") == "rerun_script":
                self._asked = True
                self._last_heard = time.monotonic()

    def _received(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            self._last_heard = time.monotonic()
            msg = ForwardMsg.FromString(bytes(payload))
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self._asked, self._running = False, True
            elif kind == "script_finished" and msg.script_finished in _RUN_ENDS:
                self._running, self._finished = False, True

    @property
    def idle(self) -> bool:
        """The page has been drawn, and no run is going or asked for."""
        return self._finished and not self._asked and not self._running

    def _state(self) -> str:
        """Where the app was when a wait gave up, for the message."""
        if self._running:
            return "a run was going"
        if self._asked:
            return "a rerun was asked for and had not started"
        if not self._finished:
            return "the page was never drawn"
        return "runs had ended, but messages kept coming"

    def wait_until_quiet(self, *, quiet_s: float = 0.5, timeout_s: float = 120) -> None:
        """Wait until the app is idle and nothing has been said either way for ``quiet_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            if self.idle and now - self._last_heard >= quiet_s:
                return
            if now > deadline:
                raise TimeoutError(
                    f"the app did not finish its runs within {timeout_s:g} s ({self._state()})"
                )
            self._page.wait_for_timeout(100)


_WATCHED: dict[object, AppRuns] = {}


def watch(page) -> AppRuns:
    """Return the page's :class:`AppRuns`, made on first call (before the page opens the app)."""
    if page not in _WATCHED:
        _WATCHED[page] = AppRuns(page)
        page.on("close", lambda closed: _WATCHED.pop(closed, None))
    return _WATCHED[page]


def settle(page, *, quiet_s: float = 0.5, timeout_s: float = 120) -> None:
    """Wait until the app has finished every run the page asked for, and is quiet.

    ``page`` must come from a :func:`chromium_context` (which listens to each of
    its pages from the start).
    """
    if page not in _WATCHED:
        raise RuntimeError("settle() needs a page of chromium_context(), heard from the start")
    _WATCHED[page].wait_until_quiet(quiet_s=quiet_s, timeout_s=timeout_s)


@contextlib.contextmanager
def guarded_page(
    context,
    app_url: str,
    *,
    goto: bool = True,
    check_errors: bool = True,
    screenshot: Path | None = None,
) -> Iterator:
    """A fresh page (a session of its own) on the app, checked when it closes.

    Nothing it fetched may come from beyond the app (``data:``, ``blob:`` and
    ``about:`` aside) and, with ``check_errors``, no script on it may have thrown.
    ``goto=False`` leaves opening the app to the caller (to listen to the page
    first); ``screenshot`` is where the page's last state is saved, whatever happened.
    """
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith((app_url, "data:", "blob:", "about:"))
            else None
        ),
    )
    try:
        if goto:
            page.goto(app_url)
        yield page
    finally:
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        page.close()
    assert outside == [], f"the page tried to reach beyond the app: {outside[:5]}"
    if check_errors:
        assert errors == [], errors
