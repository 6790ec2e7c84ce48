"""Helpers for the end-to-end browser tests: a real Streamlit server and headless Chromium.

Chromium is Debian's (``apt-get install chromium``) driven through the PyPI
``playwright`` package with ``executable_path``; Playwright's own browser
download is never used. Everything has a timeout, and the server is always
stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
) -> Iterator[str]:
    """Run ``streamlit run streamlit_app.py`` on 127.0.0.1 and yield its URL.

    The server's output goes to ``test-artifacts/<log_name>``. It is stopped (its own
    process group: SIGTERM, then SIGKILL) when the block ends. ``extra_args`` are added
    to the command (e.g. ``["--secrets.files", path]``).
    """
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
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
    with open(ARTIFACTS / log_name, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(url):
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"streamlit exited with {proc.returncode}; see {ARTIFACTS / log_name}"
                    )
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
        try:
            context.set_default_timeout(30_000)
            context.set_default_navigation_timeout(60_000)
            yield context
        finally:
            context.close()
