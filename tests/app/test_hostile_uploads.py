"""Hostile and broken uploads on the Registers page: a clear message, a safe store, a live app.

The files are those of :mod:`tests.registers.test_hostile_inputs`. Under Streamlit's
AppTest each is uploaded in turn into one app session: a refused file shows
"<name> cannot be imported: <why>" and leaves the store's bytes as they were; a
file that can be read shows its preview and is imported. After every file the app
runs again without an exception. A 500 MB upload is tried against the real server
in Chromium: the page says the file is too large, the server refuses a 500 MB body
on the upload endpoint itself, and the app stays alive.
"""

from __future__ import annotations

import http.client
import re
import urllib.parse
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assetmap.app import registers_page
from assetmap.app.navigation import page_path
from assetmap.store import STORE_ENV, open_store
from tests.app.conftest import shown
from tests.registers import test_hostile_inputs as hostile
from tests.registers.test_hostile_inputs import CASES, _Listener

#: The local server no hostile file may reach (a fixture shared with the engine's suite).
trap_url = hostile.trap_url

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
#: Files the app can be given (the row caps are the engine's, tested with a small cap).
APP_CASES = [c for c in CASES if c.max_rows is None]


def _run(at: AppTest, what: str, title: str = "Registers") -> AppTest:
    at.run(timeout=300)
    assert not at.exception, (what, [e.value for e in at.exception])
    assert at.title and at.title[0].value == title, what
    return at


@pytest.mark.slow
def test_every_hostile_upload_gets_a_message_and_the_app_lives_on(small_store: Path, trap_url: str):
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=300)
    _run(at, "start", "Estate map")
    at.switch_page(str(page_path("registers").relative_to(ROOT)))
    _run(at, "registers page")
    uploader = registers_page.UPLOAD_KEY
    imported = 0
    for case in APP_CASES:
        data = case.make(trap_url)
        before = small_store.read_bytes()
        at.file_uploader(key=uploader).set_value((case.name, data, "application/octet-stream"))
        _run(at, case.name)
        if case.error is not None:
            messages = [shown(e.value) for e in at.error]
            assert len(messages) == 1, (case.name, messages)
            assert messages[0].startswith(f"{case.name} cannot be imported: "), messages
            assert re.search(case.match, messages[0]), (case.name, messages[0])
            assert "register_import" not in {b.key for b in at.button}  # nothing to import
            assert small_store.read_bytes() == before, case.name
        else:
            assert not at.error, (case.name, [e.value for e in at.error])
            assert any("would be accepted" in m.value for m in at.markdown), case.name
            at.button(key="register_import").click()
            _run(at, f"{case.name} import")
            assert any(f"Imported {case.name}" in shown(s.value) for s in at.success), case.name
            imported += 1
            assert case.name in set(open_store(small_store).imports()["source_file"])
        # the next run of the page still works
        _run(at, f"after {case.name}")
    assert _Listener.hits == [], "a value inside a file made GDAL fetch a URL"
    assert imported == sum(c.error is None for c in APP_CASES)
    # hostile names are kept as text, never rendered: no HTML reaches the page's markdown
    page = "\n".join(m.value for m in at.markdown)
    assert "<script" not in page and "onerror" not in page
    st.cache_data.clear()
    st.cache_resource.clear()


# --------------------------------------------------------------------------------------
# 500 MB against the real server (Chromium)

UPLOAD_MB = 500


@pytest.fixture(scope="module")
def _browser():
    from tests.app.browser import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.mark.browser
def test_a_500_mb_upload_is_refused_and_the_app_stays_alive(_browser, small_store, tmp_path):
    from tests.app.browser import chromium_context, streamlit_server

    big = tmp_path / "huge_register.csv"
    with open(big, "wb") as out:  # sparse: 500 MB on paper, nothing on disk
        out.write(b"name,postcode\n")
        out.truncate(UPLOAD_MB * 1024 * 1024)
    small = b"Site name,Postcode,Agency,Sector\nDepot,ME14 1XX,Kent Police,police\n"
    before = small_store.read_bytes()
    env = {STORE_ENV: str(small_store)}
    with (
        streamlit_server(env, log_name="streamlit-hostile-upload.log") as url,
        chromium_context(_browser) as context,
    ):
        page = context.new_page()
        page.goto(f"{url}/registers", wait_until="domcontentloaded")
        page.get_by_text("Load a register").wait_for(timeout=120_000)
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="Register file")
        chooser = uploader.locator("input[type=file]")

        # 1. the browser refuses it: the uploader says so, nothing is sent
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.method) if "upload_file" in r.url else None)
        chooser.set_input_files(str(big))
        refusal = uploader.get_by_role("alert").filter(has_text="File must be 50.0MB or smaller")
        refusal.wait_for(state="attached", timeout=60_000)
        assert "huge_register.csv" in uploader.inner_text()
        assert "PUT" not in sent

        # 2. the server refuses it too: a real upload's session and XSRF token, then a
        #    500 MB body straight to the upload endpoint (as a script could send it)
        with page.expect_request(lambda r: "upload_file" in r.url and r.method == "PUT") as req:
            chooser.set_input_files(
                files=[{"name": "depot.csv", "mimeType": "text/csv", "buffer": small}]
            )
        put = req.value
        page.get_by_text("would be accepted").wait_for(timeout=120_000)
        status = _put_oversized(put.url, put.headers, context.cookies())
        assert status == 413

        # 3. the app is alive: the page still works and the server answers
        page.get_by_role("button", name="Import into the estate").click()
        page.get_by_text("Imported depot.csv").wait_for(timeout=120_000)
    assert small_store.read_bytes() != before  # the small file was imported, by the live app
    assert "depot.csv" in set(open_store(small_store).imports()["source_file"])
    assert "huge_register.csv" not in set(open_store(small_store).imports()["source_file"])


def _put_oversized(url: str, headers: dict, cookies: list[dict]) -> int:
    """PUT a multipart body announced as 500 MB to ``url``; stream until the server answers.

    Returns the HTTP status. At most a few MB are sent: the server must refuse the
    upload from its announced size, before it has read it.
    """
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    boundary = "assetmapboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    size = UPLOAD_MB * 1024 * 1024 + len(head)
    connection.putrequest("PUT", parts.path)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(size))
    if "x-xsrftoken" in headers:
        connection.putheader("X-Xsrftoken", headers["x-xsrftoken"])
    connection.putheader("Cookie", "; ".join(f"{c['name']}={c['value']}" for c in cookies))
    connection.endheaders()
    try:
        connection.send(head)
        chunk = b"x" * (1 << 20)
        for _ in range(4):  # a few MB, then read the answer
            connection.send(chunk)
    except OSError:
        pass  # the server may close the connection as soon as it has answered
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_upload_cap_is_configured():
    text = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r"(?m)^maxUploadSize\s*=\s*50\s*$", text)
    assert re.search(r"(?m)^enableXsrfProtection\s*=\s*true\s*$", text)
