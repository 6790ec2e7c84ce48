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
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from assetmap import access
from assetmap.access import Viewer
from assetmap.errors import AssetmapError
from assetmap.maps.safe_html import markdown_text as md

__all__ = ["SETTINGS", "current_viewer", "settings", "sidebar_note", "sign_in_configured"]

#: The secrets section of assetmap's own settings.
SETTINGS = "assetmap"
_VIEWER_KEY = "access_viewer"


def _secrets() -> Mapping:
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        return st.secrets
    except Exception:  # a malformed secrets file: treat as no sign-in, the server logs it
        return {}


def sign_in_configured() -> bool:
    """Whether an identity provider is configured (``[auth]`` in the secrets)."""
    auth = _secrets().get("auth")
    return isinstance(auth, Mapping) and bool(auth)


def settings() -> Mapping:
    """The ``[assetmap]`` section of the secrets (empty when there is none)."""
    found = _secrets().get(SETTINGS)
    return found if isinstance(found, Mapping) else {}


@st.cache_data(show_spinner=False, max_entries=4)
def _agency_map(path: str, _mtime: float) -> dict[str, str]:
    return access.load_agency_map(path)


def _mapping(problems: list[str]) -> dict[str, str] | None:
    path = settings().get("agency_map")
    if not path:
        return None
    from pathlib import Path

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

    The viewer is also kept in the session for :func:`assetmap.app.shell.viewer`.
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
    """The viewer :func:`current_viewer` found in this session's latest run."""
    return st.session_state.get(_VIEWER_KEY)


def sign_in_page() -> None:
    """The page shown before sign-in: what the app is and a sign-in button."""
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
