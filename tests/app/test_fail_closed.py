"""Sign-in fails closed: broken or incomplete secrets stop the app, never run it open.

Before, a secrets file that Streamlit could not parse counted as no secrets at
all, so the app ran without sign-in, everyone the local user. Now
:func:`assetmap.app.auth.secrets_problems` reads the files Streamlit reads and
the app stops with a page naming the file and the problem (never a secret's
value).

The first tests call :func:`secrets_problems` on files in a temporary folder.
The others run the real server (``streamlit run streamlit_app.py``, not AppTest)
on such files and load it in headless Chromium: the page says why it stopped and
shows no estate, no sidebar and no local user. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetmap.app.auth import AUTH_KEYS, secrets_problems
from assetmap.store import STORE_ENV
from tests.app.browser import ARTIFACTS, CHROMIUM, chromium_context, streamlit_server
from tests.app.conftest import write_store
from tests.maps.factories import make_sites

#: The secret values of the test files: no page or message may show them.
CLIENT_SECRET = "client-secret-8c1f0e"
COOKIE_SECRET = "cookie-secret-5b7d2a"
COMPLETE = {
    "redirect_uri": "http://127.0.0.1:{port}/oauth2callback",
    "cookie_secret": COOKIE_SECRET,
    "client_id": "assetmap-test",
    "client_secret": CLIENT_SECRET,
    # nothing listens here: the provider is asked only when someone presses "Sign in"
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
STOPPED = "assetmap will not start"


def _auth(values: dict[str, str], *, name: str = "auth") -> str:
    lines = [f"[{name}]", *(f'{k} = "{v}"' for k, v in values.items()), ""]
    return "\n".join(lines)


def _without(key: str) -> dict[str, str]:
    return {k: v for k, v in COMPLETE.items() if k != key}


#: A complete [auth] section, then one typo further down (an unclosed string).
TYPO_BELOW_AUTH = _auth(COMPLETE) + '\n[assetmap]\nagency_claim = "agency\n'


def _write(folder: Path, text: str | bytes, name: str = "secrets.toml") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _no_secret_values(problems: list[str]) -> None:
    for problem in problems:
        assert CLIENT_SECRET not in problem and COOKIE_SECRET not in problem


# --------------------------------------------------------------------------------------
# What is read as broken, and what is not


def test_no_secrets_file_at_all_is_no_problem(tmp_path):
    """No file: the local single user, as before."""
    assert secrets_problems([tmp_path / "secrets.toml", tmp_path / "other.toml"]) == []


def test_complete_auth_and_settings_without_auth_are_no_problem(tmp_path):
    complete = _write(tmp_path, _auth(COMPLETE) + '\n[assetmap]\nagency_claim = "agency"\n')
    assert secrets_problems([complete]) == []
    settings_only = _write(tmp_path, '[assetmap]\nagency_claim = "agency"\n', "other.toml")
    assert secrets_problems([settings_only]) == []


def test_a_typo_below_a_complete_auth_section_is_a_problem(tmp_path):
    path = _write(tmp_path, TYPO_BELOW_AUTH)
    problems = secrets_problems([path])
    assert problems == [
        f"The secrets file {path} is not valid TOML: Illegal character '\\n' "
        "(at line 9, column 23)."
    ]


@pytest.mark.parametrize("key", AUTH_KEYS)
def test_an_auth_section_without_a_setting_is_a_problem(tmp_path, key):
    path = _write(tmp_path, _auth(_without(key)))
    problems = secrets_problems([path])
    assert len(problems) == 1
    assert re.fullmatch(
        rf"The \[auth\] section of {re.escape(str(path))} lacks {key}: sign-in needs "
        r"redirect_uri, cookie_secret, client_id, client_secret and server_metadata_url, "
        r"each a piece of text\.",
        problems[0],
    )
    _no_secret_values(problems)


def _one_problem(paths: list[Path], pattern: str) -> None:
    problems = secrets_problems(paths)
    assert len(problems) == 1, problems
    assert re.match(pattern, problems[0]), problems[0]
    _no_secret_values(problems)


def test_an_empty_or_blank_auth_setting_is_a_problem(tmp_path):
    blank = _write(tmp_path, _auth({**COMPLETE, "client_secret": "  ", "client_id": ""}))
    _one_problem([blank], r"The \[auth\] section of .* lacks client_id, client_secret: ")
    empty = _write(tmp_path, "[auth]\n", "empty.toml")
    _one_problem(
        [empty],
        r"The \[auth\] section of .*empty\.toml lacks redirect_uri, cookie_secret, client_id, "
        r"client_secret, server_metadata_url: ",
    )
    not_a_section = _write(tmp_path, 'auth = "on"\n', "flat.toml")
    assert secrets_problems([not_a_section]) == [
        f"The auth setting of {not_a_section} is not a section ([auth])."
    ]


def test_a_provider_section_must_be_complete_and_named_without_underscores(tmp_path):
    text = (
        _auth(COMPLETE)
        + _auth({"client_id": "x", "server_metadata_url": "http://127.0.0.1:9/m"}, name="auth.okta")
        + _auth(
            {k: COMPLETE[k] for k in ("client_id", "client_secret", "server_metadata_url")},
            name="auth.my_idp",
        )
        + '[auth.client_kwargs]\nprompt = "login"\n'
    )
    path = _write(tmp_path, text)
    assert secrets_problems([path]) == [
        f"The provider section [auth.okta] of {path} lacks client_secret.",
        f"The provider section [auth.my_idp] of {path} has an underscore in its name, which "
        "Streamlit refuses.",
    ]


def test_unreadable_files_are_problems(tmp_path):
    folder = tmp_path / "secrets.toml"
    folder.mkdir()
    not_utf8 = _write(tmp_path, _auth(COMPLETE).encode() + b"# \xff\xfe\n", "latin.toml")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # never opened: reading a FIFO would wait for a writer for ever
    huge = _write(tmp_path, "# " + "x" * 1_000_000 + "\n", "huge.toml")
    deep = _write(tmp_path, "a = " + "[" * 5_000 + "]" * 5_000 + "\n", "deep.toml")
    wrong = tmp_path / "secrets.txt"
    wrong.write_text("not used", encoding="utf-8")
    assert secrets_problems([folder, not_utf8, fifo, huge, deep, wrong]) == [
        f"The secrets file {folder} is a folder, not a file.",
        f"The secrets file {not_utf8} is not UTF-8 text.",
        f"The secrets file {fifo} is not a regular file.",
        f"The secrets file {huge} is larger than 1,000,000 bytes.",
        f"The secrets file {deep} is nested too deeply to read.",
        f"The secrets location {wrong} is not a .toml file or a folder.",
    ]


def test_secrets_mounted_as_folders_are_read_as_streamlit_reads_them(tmp_path):
    mounted = tmp_path / "mounted"
    for key, value in _without("client_secret").items():
        (mounted / "auth").mkdir(parents=True, exist_ok=True)
        (mounted / "auth" / key).write_text(value + "\n", encoding="utf-8")
    _one_problem([mounted], r"The \[auth\] section of .*mounted lacks client_secret: ")
    (mounted / "auth" / "client_secret").write_text(CLIENT_SECRET, encoding="utf-8")
    assert secrets_problems([mounted]) == []
    (mounted / "stray").write_text("x", encoding="utf-8")
    assert secrets_problems([mounted]) == [
        f"The secrets folder {mounted} holds stray, which is not a folder."
    ]


def test_the_auth_section_that_counts_is_the_last_files(tmp_path):
    """Streamlit merges the files' top-level sections: a later [auth] replaces an earlier."""
    user = _write(tmp_path, _auth(COMPLETE), "user.toml")
    project = _write(tmp_path, _auth(_without("cookie_secret")), "project.toml")
    _one_problem([user, project], rf"The \[auth\] section of {re.escape(str(project))} lacks ")
    assert secrets_problems([project, user]) == []


# --------------------------------------------------------------------------------------
# The real server


needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
    reason=f"{CHROMIUM} or the playwright package is missing",
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return write_store(tmp_path_factory.mktemp("fail-closed") / "estate.gpkg", make_sites(20))


@pytest.fixture(scope="module")
def browser_context() -> Iterator:
    if not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None:
        pytest.skip(f"{CHROMIUM} or the playwright package is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, chromium_context(playwright) as context:
        yield context


def _stopped_page(context, url: str, shot: str) -> str:
    """Load the app; wait for its run to end on the stop page; return the page's text."""
    page = context.new_page()
    try:
        page.goto(url)
        page.get_by_text(STOPPED).wait_for(timeout=90_000)
        page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        text = page.locator("body").inner_text()
        assert page.get_by_test_id("stSidebar").count() == 0
        assert page.get_by_test_id("stSidebarNav").count() == 0
        return text
    finally:
        page.close()


def _assert_closed(text: str, problem: str) -> None:
    assert STOPPED in text
    assert problem in text
    # no estate, no local user, no sign-in button, no secret
    for absent in (
        "local user",
        "No sign-in is configured",
        "Sign in",
        "Estate map",
        "Sites shown",
        "Filters",
        "Test site",
        CLIENT_SECRET,
        COOKIE_SECRET,
    ):
        assert absent not in text, absent


@pytest.mark.browser
@needs_browser
def test_a_typo_below_a_complete_auth_section_stops_the_server(tmp_path, store, browser_context):
    """The user's own ``~/.streamlit/secrets.toml``, found where Streamlit looks by default."""
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    path = _write(home / ".streamlit", TYPO_BELOW_AUTH)
    with streamlit_server(
        {STORE_ENV: str(store), "HOME": str(home)}, log_name="streamlit-server-typo.log"
    ) as url:
        text = _stopped_page(browser_context, url, "fail_closed_typo.png")
    _assert_closed(text, f"The secrets file {path} is not valid TOML: Illegal character")
    log = (ARTIFACTS / "streamlit-server-typo.log").read_text(encoding="utf-8")
    assert f"assetmap will not start: The secrets file {path} is not valid TOML" in log


@pytest.mark.browser
@needs_browser
def test_an_auth_section_without_client_secret_stops_the_server(tmp_path, store, browser_context):
    path = _write(tmp_path, _auth(_without("client_secret")))
    with streamlit_server(
        {STORE_ENV: str(store)},
        log_name="streamlit-server-incomplete.log",
        extra_args=["--secrets.files", str(path)],
    ) as url:
        text = _stopped_page(browser_context, url, "fail_closed_incomplete.png")
    _assert_closed(text, f"The [auth] section of {path} lacks client_secret: sign-in needs")


def _sign_in_page_shows(context, url: str) -> None:
    page = context.new_page()
    try:
        page.goto(url)
        page.get_by_role("button", name="Sign in").wait_for(timeout=90_000)
    finally:
        page.close()


def _replace(path: Path, data: bytes | None) -> None:
    """Put ``data`` at ``path`` (a folder for ``None``) as an editor would: new name, rename."""
    if data is None:
        path.unlink()
        path.mkdir()
        return
    fresh = path.with_name(path.name + ".new")
    fresh.write_bytes(data)
    fresh.replace(path)


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("broken", ["typo", "incomplete"])
def test_secrets_broken_while_the_server_runs_stop_it_at_the_next_page(
    tmp_path, store, browser_context, broken
):
    path = _write(tmp_path, _auth(COMPLETE))
    with streamlit_server(
        {STORE_ENV: str(store)},
        log_name="streamlit-server-broken-while-running.log",
        extra_args=["--secrets.files", str(path)],
    ) as url:
        _sign_in_page_shows(browser_context, url)  # sign-in is on: the app asks for it
        if broken == "typo":
            _replace(path, TYPO_BELOW_AUTH.encode())
            problem = f"The secrets file {path} is not valid TOML: Illegal character"
        else:
            _replace(path, _auth(_without("cookie_secret")).encode())
            problem = f"The [auth] section of {path} lacks cookie_secret: sign-in needs"
        text = _stopped_page(browser_context, url, f"fail_closed_{broken}_while_running.png")
    _assert_closed(text, problem)


@pytest.mark.browser
@needs_browser
def test_secrets_unreadable_while_the_server_runs_let_no_one_in(tmp_path, store, browser_context):
    """Streamlit reads the secrets again when they change and refuses every connection when
    it cannot: the page never gets past connecting, and shows nothing of the app."""
    path = _write(tmp_path, _auth(COMPLETE))
    log_name = "streamlit-server-unreadable-while-running.log"
    with streamlit_server(
        {STORE_ENV: str(store)}, log_name=log_name, extra_args=["--secrets.files", str(path)]
    ) as url:
        _sign_in_page_shows(browser_context, url)
        _replace(path, _auth(COMPLETE).encode() + b"# \xff\xfe\n")
        log = ARTIFACTS / log_name
        refused = log.stat().st_size
        page = browser_context.new_page()
        try:
            page.goto(url)
            # wait (at most 90 s) for the server to refuse this page's connection: it logs why
            for _ in range(180):
                if "UnicodeDecodeError" in log.read_bytes()[refused:].decode("utf-8", "replace"):
                    break
                page.wait_for_timeout(500)
            else:
                raise AssertionError(f"the server did not refuse the connection; see {log}")
            app = page.get_by_test_id("stApp")
            assert app.get_attribute("data-test-connection-state") != "CONNECTED"
            assert app.get_attribute("data-test-script-state") == "initial"
            page.screenshot(path=str(ARTIFACTS / "fail_closed_unreadable.png"), full_page=True)
            text = page.locator("body").inner_text()
        finally:
            page.close()
    for absent in ("local user", "Sign in", "Estate map", "Filters", "Test site"):
        assert absent not in text, absent


@pytest.mark.browser
@pytest.mark.parametrize("broken", ["folder", "not UTF-8"])
def test_secrets_unreadable_at_start_keep_the_server_from_starting(tmp_path, store, broken):
    """Streamlit reads the secrets as it starts and stops on these: nothing is served."""
    path = tmp_path / "secrets.toml"
    if broken == "folder":
        path.mkdir()
    else:
        path.write_bytes(_auth(COMPLETE).encode() + b"# \xff\xfe\n")
    log_name = "streamlit-server-unreadable-at-start.log"
    with (
        pytest.raises(RuntimeError, match="streamlit exited with 1"),
        streamlit_server(
            {STORE_ENV: str(store)}, log_name=log_name, extra_args=["--secrets.files", str(path)]
        ),
    ):
        pass
    log = (ARTIFACTS / log_name).read_text(encoding="utf-8")
    assert ("IsADirectoryError" if broken == "folder" else "UnicodeDecodeError") in log
