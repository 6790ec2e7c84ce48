"""Every file the app gives, and every entry it writes to the audit log.

Every download goes through :func:`download` (or :func:`download_csv`), which
writes an entry to the store's audit log when the browser asks for the file: the
file's name, its SHA-256 and its rows. If the entry cannot be written, the file
is not given. Imports and removals are recorded with :func:`audit_event`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from assetmap import audit
from assetmap.app import state
from assetmap.app.auth import viewer
from assetmap.errors import AssetmapError
from assetmap.files import csv_bytes
from assetmap.maps.safe_html import markdown_text as md

__all__ = ["audit_event", "download", "download_csv"]

#: Downloads refused because the audit log could not be written, by session: said on the
#: session's next run (the refusal happens outside any run, when the browser asks).
_REFUSED_DOWNLOADS: dict[str, str] = {}


def audit_event(action: str, what: str, *, digest: str = "", counts: dict | None = None) -> None:
    """Append an entry to the store's audit log; a failure is shown, never raised."""
    try:
        audit.record(
            state.store(),
            viewer=viewer(),
            action=action,
            what=what,
            sha256=digest,
            counts=counts or {},
        )
    except AssetmapError as exc:
        st.session_state["audit_problem"] = f"The audit log could not be written: {exc}"


def download(
    label: str,
    data: bytes | Callable[[], bytes],
    *,
    file_name: str,
    mime: str,
    key: str,
    rows: int | None = None,
) -> None:
    """Draw a download button whose every download is written to the audit log.

    The entry names the file, its SHA-256 and its rows. The button does not rerun
    the app (``on_click="ignore"``): a rerun would take away a button drawn only
    after another button was pressed (the print map, the HTML map), so the file
    could be downloaded once only. The entry is written when the browser asks for
    the file (Streamlit's deferred download, run again on every click); if it
    cannot be written, the file is not given. ``data`` may be a function that
    makes the file: it is then only made when asked for (a national table's CSV
    took a second to write on every rerun of its page).
    """
    counts = {} if rows is None else {"rows": int(rows)}
    st.download_button(
        label,
        _audited(data, file_name=file_name, counts=counts),
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
    )
    problem = _REFUSED_DOWNLOADS.pop(_session_id(), None)
    if problem := problem or st.session_state.pop("audit_problem", None):
        st.warning(md(problem))


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def _audited(
    data: bytes | Callable[[], bytes], *, file_name: str, counts: dict
) -> Callable[[], bytes]:
    """Return a function that writes an export entry to the audit log and returns ``data``.

    Who is looking and the store are taken now: Streamlit calls the function in
    another thread, outside the page's run, when the officer clicks. If the entry
    cannot be written, the function raises (Streamlit gives no file and says
    "Failed to generate file for download") and the page says why on its next run.
    """
    store = state.store()
    who = viewer()
    session = _session_id()

    def give() -> bytes:
        content = data() if callable(data) else data
        try:
            audit.record(
                store,
                viewer=who,
                action="export",
                what=file_name,
                sha256=audit.sha256(content),
                counts=counts,
            )
        except AssetmapError as exc:
            _REFUSED_DOWNLOADS[session] = (
                f"{file_name} was not downloaded, because the download could not be "
                f"recorded: {exc}."
            )
            raise
        return content

    return give


def download_csv(label: str, frame: pd.DataFrame, *, file_name: str, key: str) -> None:
    """Draw a formula-safe CSV download of ``frame`` (audited, with its row count)."""
    download(
        label,
        lambda: csv_bytes(frame),
        file_name=file_name,
        mime="text/csv",
        key=key,
        rows=len(frame),
    )
