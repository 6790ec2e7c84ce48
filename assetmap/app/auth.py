"""Who is using the app: sign-in by agency through OpenID Connect, or the local single user.

Sign-in is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (the
identity provider: ``redirect_uri``, ``cookie_secret``, ``client_id``,
``client_secret``, ``server_metadata_url``); Streamlit's ``st.login`` runs the
OpenID Connect flow (it needs the ``Authlib`` package). The user's agency
comes from the ``[assetmap]`` section::

    [assetmap]
    agency_claim = "agency"              # a claim of the identity token, and/or
    agency_map = "/etc/assetmap/agencies.toml"   # e-mail address -> agency (TOML or CSV)

(see :func:`assetmap.access.agency_from_claims`). A signed-in user whose
agency cannot be found sees only open sites, and is told so.

Without ``[auth]`` the app runs as the local single user
(:func:`assetmap.access.local_viewer`: the agency of ``$ASSETMAP_AGENCY``, none
by default) and says so on every page.

Sign-in fails closed (:func:`secrets_problems`, checked at the start of every
run by :func:`stop_if_secrets_broken` and again whenever the secrets are read):
a secrets file that exists but cannot be read or is not valid TOML, or an
``[auth]`` section without everything ``st.login`` needs, stops the app with a
page saying which file and what is wrong (never a secret's value). Streamlit
itself takes a file it cannot parse for no secrets at all, so the secrets are
read here, from the files Streamlit reads. No secrets file at all is the local
single user.

Pages ask :func:`viewer` who is looking in the run, and take the sites that
viewer may see in full from :func:`visible_estate`.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import streamlit as st

from assetmap import access
from assetmap.access import Viewer
from assetmap.app import state
from assetmap.errors import AssetmapError
from assetmap.maps.safe_html import markdown_text as md

__all__ = [
    "AUTH_KEYS",
    "PROVIDER_KEYS",
    "SETTINGS",
    "current_viewer",
    "secrets_problems",
    "settings",
    "sidebar_note",
    "sign_in_configured",
    "stop_if_secrets_broken",
    "viewer",
    "visible_estate",
]

#: The secrets section of assetmap's own settings.
SETTINGS = "assetmap"
_VIEWER_KEY = state.VIEWER_KEY
#: What ``st.login()`` needs in ``[auth]`` for its default provider (assetmap calls it
#: with no provider name).
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
#: What a named provider, ``[auth.NAME]``, needs.
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
#: ``[auth]`` tables that are settings of the default provider, not named providers.
_AUTH_TABLES = frozenset({"client_kwargs"})
#: A secrets file larger than this is refused unread.
MAX_SECRETS_BYTES = 1_000_000
_LOG = logging.getLogger(__name__)


def _file_problem(path: Path, info: os.stat_result) -> str | None:
    """Return why the secrets file ``path`` (of status ``info``) is not read, or ``None``."""
    if stat.S_ISDIR(info.st_mode):
        return f"The secrets file {path} is a folder, not a file."
    if not stat.S_ISREG(info.st_mode):
        return f"The secrets file {path} is not a regular file."
    if info.st_size > MAX_SECRETS_BYTES:
        return f"The secrets file {path} is larger than {MAX_SECRETS_BYTES:,} bytes."
    return None


def _parse_toml(path: Path, raw: bytes) -> tuple[dict | None, str | None]:
    """Return the tables of the secrets file ``path`` read as ``raw``, or why it is unusable."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"The secrets file {path} is not UTF-8 text."
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        return None, f"The secrets file {path} is not valid TOML: {exc}."
    except RecursionError:
        return None, f"The secrets file {path} is nested too deeply to read."


def _read_toml(path: Path) -> tuple[dict | None, str | None]:
    """Return a secrets file's tables, or ``None`` when there is no file; or why it is unusable."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"The secrets file {path} cannot be read: {exc.strerror}."
    if problem := _file_problem(path, info):
        return None, problem
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRETS_BYTES + 1)
    except OSError as exc:
        return None, f"The secrets file {path} cannot be read: {exc.strerror}."
    return _parse_toml(path, raw)


def _read_folder(path: Path) -> tuple[dict | None, str | None]:
    """Return secrets mounted as a folder of folders (Kubernetes style), as Streamlit does."""
    found: dict = {}
    try:
        for entry in sorted(path.iterdir()):
            if not entry.is_dir():
                return None, f"The secrets folder {path} holds {entry.name}, which is not a folder."
            values = {}
            for item in sorted(entry.iterdir()):
                if not item.is_dir():
                    values[item.name] = item.read_bytes().decode("utf-8").strip()
            found[entry.name] = next(iter(values.values())) if len(values) == 1 else values
    except OSError as exc:
        return None, f"The secrets folder {path} cannot be read: {exc.strerror}."
    except UnicodeDecodeError:
        return None, f"The secrets folder {path} holds a file that is not UTF-8 text."
    return found, None


def _is_text(value: object) -> bool:
    """Return whether ``value`` is text with something other than spaces in it."""
    return isinstance(value, str) and bool(value.strip())


def _auth_problems(auth: object, where: str) -> list[str]:
    """Return what an ``[auth]`` section lacks for ``st.login()`` (names, never values)."""
    if not isinstance(auth, Mapping):
        return [f"The auth setting of {where} is not a section ([auth])."]

    def lacking(section: Mapping, keys: Iterable[str]) -> list[str]:
        return [k for k in keys if not _is_text(section.get(k))]

    problems = []
    if missing := lacking(auth, AUTH_KEYS):
        problems.append(
            f"The [auth] section of {where} lacks {', '.join(missing)}: sign-in needs "
            f"{', '.join(AUTH_KEYS[:-1])} and {AUTH_KEYS[-1]}, each a piece of text."
        )
    for name, provider in auth.items():
        if not isinstance(provider, Mapping) or name in _AUTH_TABLES:
            continue
        if "_" in name:
            problems.append(
                f"The provider section [auth.{name}] of {where} has an underscore in its name, "
                "which Streamlit refuses."
            )
        if missing := lacking(provider, PROVIDER_KEYS):
            problems.append(
                f"The provider section [auth.{name}] of {where} lacks {', '.join(missing)}."
            )
    return problems


def _read_secrets(paths: Iterable[str | os.PathLike] | None = None) -> tuple[dict, list[str]]:
    """Return the secrets as Streamlit merges them, and every reason they cannot be trusted."""
    if paths is None:
        paths = st.get_option("secrets.files") or []
    problems: list[str] = []
    merged: dict = {}
    auth_from = ""
    for name in paths:
        path = Path(name)
        if str(name).endswith(".toml"):
            found, problem = _read_toml(path)
        elif path.is_dir():
            found, problem = _read_folder(path)
        else:
            found, problem = None, f"The secrets location {path} is not a .toml file or a folder."
        if problem:
            problems.append(problem)
        if found:
            if "auth" in found:
                auth_from = str(path)
            merged.update(found)
    if not problems and "auth" in merged:
        problems += _auth_problems(merged["auth"], auth_from)
    return merged, problems


def secrets_problems(paths: Iterable[str | os.PathLike] | None = None) -> list[str]:
    """Every reason the secrets cannot be trusted to turn sign-in on; empty when they can.

    The files are those Streamlit reads, in its order (``paths``, by default its
    ``secrets.files`` option: ``~/.streamlit/secrets.toml`` and the project's
    ``.streamlit/secrets.toml``), each parsed here, because Streamlit treats a file
    it cannot parse as no secrets. A missing file is not a problem; no secrets at
    all is the local single user. The ``[auth]`` section that counts is the last
    file's that has one (Streamlit merges the files' top-level sections).

    Parameters
    ----------
    paths
        Secrets files (``.toml``) or folders of secrets, as in ``secrets.files``.

    Returns
    -------
    list of str
        Plain-English problems, each naming its file; never a secret's value.
    """
    return _read_secrets(paths)[1]


def _stop_page(problems: list[str]) -> None:
    """Show why the app will not start, log it for the administrator, and stop the run."""
    for problem in problems:
        _LOG.error("assetmap will not start: %s", problem)
    st.title("assetmap")
    st.error(
        "**assetmap will not start: its sign-in settings cannot be used.** "
        "It does not run without sign-in when sign-in was meant to be on.\n\n"
        + "\n".join(f"- {md(problem)}" for problem in problems)
        + "\n\nAsk the administrator to correct the secrets file (the README's Security "
        "section shows a complete one; `.streamlit/secrets.example.toml` is a template), "
        "or to remove it to run as the local single user, then reload this page."
    )
    st.stop()


def stop_if_secrets_broken() -> None:
    """Stop the run with a page saying why when :func:`secrets_problems` finds any."""
    if problems := secrets_problems():
        _stop_page(problems)


def _secrets() -> Mapping:
    """Return the secrets, read here (:func:`secrets_problems`); broken ones stop the run."""
    found, problems = _read_secrets()
    if problems:
        _stop_page(problems)
    return found


def sign_in_configured() -> bool:
    """Whether an identity provider is configured (``[auth]`` in the secrets).

    Read from the files themselves, not through ``st.secrets``, which takes a file
    it cannot parse for no secrets at all.
    """
    return "auth" in _secrets()


def settings() -> Mapping:
    """Return the ``[assetmap]`` section of the secrets (empty when there is none)."""
    found = _secrets().get(SETTINGS)
    return found if isinstance(found, Mapping) else {}


@st.cache_data(show_spinner=False, max_entries=4)
def _agency_map(path: str, _mtime: float) -> dict[str, str]:
    return access.load_agency_map(path)


def _mapping(problems: list[str]) -> dict[str, str] | None:
    path = settings().get("agency_map")
    if not path:
        return None
    try:
        mtime = Path(str(path)).stat().st_mtime
        return _agency_map(str(path), mtime)
    except OSError as exc:
        problems.append(f"The agency map {path} cannot be read: {exc.strerror}.")
    except AssetmapError as exc:
        problems.append(str(exc))
    return None


def current_viewer() -> Viewer | None:
    """Who is looking: the signed-in user, the local user, or ``None`` (must sign in).

    The viewer is also kept in the session for :func:`viewer`.
    Broken secrets stop the run (:func:`sign_in_configured` reads them).
    """
    if not sign_in_configured():
        viewer = access.local_viewer()
    elif not st.user.is_logged_in:
        st.session_state.pop(_VIEWER_KEY, None)
        return None
    else:
        claims = st.user.to_dict()
        problems: list[str] = []
        claim = settings().get("agency_claim")
        agency = access.agency_from_claims(
            claims, claim=str(claim) if claim else None, mapping=_mapping(problems)
        )
        user = claims.get("email") or claims.get("name") or claims.get("sub") or "user"
        viewer = Viewer(user=str(user), agency=agency, signed_in=True)
        st.session_state["access_problems"] = problems
    st.session_state[_VIEWER_KEY] = viewer
    return viewer


def remembered_viewer() -> Viewer | None:
    """Return the viewer :func:`current_viewer` found in this session's latest run."""
    return st.session_state.get(_VIEWER_KEY)


def viewer() -> Viewer:
    """Who is looking in this run (:func:`remembered_viewer`, else :func:`current_viewer`).

    Stops the page when sign-in is configured and nobody has signed in.
    """
    found = remembered_viewer() or current_viewer()
    if found is None:
        sign_in_page()
        st.stop()
    return found


def visible_estate() -> gpd.GeoDataFrame:
    """Every site of the store that the viewer may see in full."""
    return state.visible_estate(viewer())


def sign_in_page() -> None:
    """Draw the page shown before sign-in: what the app is and a sign-in button."""
    st.title("assetmap")
    st.write(
        "One map of the public estate. Sign in with your organisation's account: what you "
        "see depends on your agency (restricted sites are shown only to their own agency)."
    )
    st.button("Sign in", type="primary", key="auth_sign_in", on_click=st.login)


def sidebar_note(viewer: Viewer) -> None:
    """Say who is looking (and, for the local user, that there is no sign-in); sign out."""
    with st.sidebar:
        if viewer.signed_in:
            st.caption(md(viewer.describe()))
            if viewer.agency is None:
                st.warning(
                    "Your agency could not be found from your sign-in, so only open sites are "
                    "shown. Ask the administrator to add you to the agency map."
                )
            for problem in st.session_state.get("access_problems") or []:
                st.warning(md(problem))
            st.button("Sign out", key="auth_sign_out", on_click=st.logout)
        else:
            st.info(md(viewer.describe()), icon=None)
