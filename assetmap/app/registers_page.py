"""The Registers page: load an agency's register, see what was understood and what was not.

An officer uploads a register (any format the engine reads), sees at once which
columns were recognised (and the profile used), imports it with a progress bar,
and gets the import report: counts, a chart of the reasons rows were
quarantined, and the quarantined rows of that import, downloadable. Below, every
imported source is listed with its owner and time (the file hash and row counts
only for the viewer's own agency's sources: another agency's counts include
its restricted sites), and the viewer's own sources can be removed.

A signed-in officer imports only as their own agency (the agency box shows it
and cannot be changed); the local single user may import as any agency, and is
asked for it when the register names none in its rows.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from assetmap.access import Viewer, may_remove_source, visible_imports
from assetmap.app import shell, state
from assetmap.errors import AssetmapError
from assetmap.files import system_error_message
from assetmap.maps.safe_html import markdown_text as md
from assetmap.registers.fields import is_no_agency
from assetmap.registers.importer import import_register, prepare_register, remove_register
from assetmap.registers.profiles import load_profile
from assetmap.registers.report import ImportReport
from assetmap.schema import SECTORS

__all__ = ["REGISTER_TYPES", "amendments_table", "quarantine_table", "render", "report_frame"]

UPLOAD_KEY = "register_upload"
PROFILE_KEY = "register_profile"
KIND_KEY = "register_kind"
AGENCY_KEY = "register_agency"
ASK_AGENCY_KEY = "register_agency_asked"
SECTOR_KEY = "register_sector"
LAYER_KEY = "register_layer"
REPORT_KEY = "register_last_report"
REMOVE_KEY = "register_remove_choice"
REMOVE_CONFIRM_KEY = "register_remove_confirm"
REMOVED_KEY = "register_removed_message"
IMPORTED_KEY = "register_imported_message"

#: File types the uploader offers (the engine decides the format from the content).
REGISTER_TYPES = ["csv", "tsv", "txt", "xlsx", "xls", "geojson", "json", "gpkg", "zip"]
_KINDS = {"": "Decide from the columns", "sites": "Sites (property)", "requests": "Space requests"}
_SECTORS = {"": "From the register", **{s: s for s in SECTORS}}


def report_frame(report: ImportReport) -> pd.DataFrame:
    """Return the reasons rows were quarantined, most frequent first: ``reason`` and ``rows``."""
    rows = [
        {"reason": report.reason_labels.get(code, code), "rows": count}
        for code, count in sorted(report.reasons.items(), key=lambda kv: -kv[1])
    ]
    return pd.DataFrame(rows, columns=["reason", "rows"])


def quarantine_table(report: ImportReport) -> pd.DataFrame:
    """Return the quarantined rows of one import, for people: row, column, value and reason.

    Only that import's own rows (its file, file hash and time), so a report
    reopened after another agency imported a file of the same name shows none
    of theirs.
    """
    table = state.quarantine()
    mine = (
        (table["source_file"] == report.source_file)
        & (table["source_sha256"] == report.sha256)
        & (table["imported_at"] == report.imported_at)
    )
    return table[mine][["row", "column", "value", "reason"]].reset_index(drop=True)


@st.cache_data(show_spinner="Reading the register…", max_entries=8)
def _preview(
    digest: str,
    _data: bytes,
    name: str,
    kind: str,
    agency: str,
    sector: str,
    layer: str,
    profile: bytes | None,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    prepared = prepare_register(_data, name=name, **_options(kind, agency, sector, layer, profile))
    return prepared.columns.preview(), prepared.report.to_dict(), prepared.raw.table.head(5)


def _options(kind: str, agency: str, sector: str, layer: str, profile: bytes | None) -> dict:
    options: dict = {
        "kind": kind or None,
        "agency": agency.strip() or None,
        "sector": sector or None,
        "layer": layer.strip() or None,
    }
    if profile is not None:
        # The profile's text goes to a file name assetmap makes up.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "profile.toml"
            path.write_bytes(profile)
            options["profile"] = load_profile(path)
    return options


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _show_report(report: ImportReport) -> None:
    st.subheader(f"Import report: {report.source_file}")
    cols = st.columns(4)
    cols[0].metric("Rows read", f"{report.rows_read:,}")
    cols[1].metric("Accepted", f"{report.accepted:,}")
    cols[2].metric("Quarantined", f"{report.quarantined:,}")
    cols[3].metric("Shared with another agency", f"{report.shared_sites:,}")
    if report.replaced_rows:
        st.caption(f"Replaced {report.replaced_rows:,} rows of an earlier import of this file.")
    if report.location_methods:
        how = ", ".join(f"{k}: {v:,}" for k, v in report.location_methods.items())
        st.caption(f"Located by {how}.")
    for note in report.notes:
        st.caption(md(note))
    _show_amendments(report)
    reasons = report_frame(report)
    if reasons.empty:
        st.success("Every row was accepted.")
        return
    st.markdown("**Why rows were quarantined** (a row may have several reasons)")
    shell.ranked_bars(reasons, label="reason", value="rows", bar_px=28)
    rows = quarantine_table(report)
    st.dataframe(rows, hide_index=True, width="stretch")
    shell.download_csv(
        "Download the quarantined rows (CSV)",
        rows,
        file_name=f"{Path(report.source_file).stem}_quarantine.csv",
        key="download_quarantine",
    )


#: The columns of the re-applied corrections shown, and their headings.
AMENDMENT_COLUMNS = {
    "row_id": "site",
    "name": "name",
    "field": "field",
    "was": "the register was",
    "now": "now says",
    "amended_to": "amended to",
    "message": "what happens",
}


def amendments_table(report: ImportReport) -> pd.DataFrame:
    """Return the corrections the new file changed underneath (re-applied all the same).

    Parameters
    ----------
    report
        An import's report (its ``amendments``).

    Returns
    -------
    pandas.DataFrame
        One row per correction: the site, its name, the field, what the register was,
        what it now says, the value the correction keeps, and what happens.
    """
    table = pd.DataFrame(report.amendments, columns=list(AMENDMENT_COLUMNS))
    return table.rename(columns=AMENDMENT_COLUMNS)


def _show_amendments(report: ImportReport) -> None:
    """Say which of the exchange's corrections the new file changed underneath."""
    if not report.amendments:
        return
    st.warning(
        f"{len(report.amendments):,} of your corrections are to values this file changed: "
        "each correction stands; withdraw it on the Exchange page to use the register's value."
    )
    st.dataframe(amendments_table(report), hide_index=True, width="stretch")


def _ask_agency(name: str) -> None:
    """Ask whose register it is, when its rows name no agency: every row is given it."""
    st.warning(
        f"{md(name)} names no agency in its rows. Whose register is it? Every row will be "
        "labelled with the agency you give here (or in the Agency box under Options)."
    )
    st.text_input(
        "Agency of this register",
        key=ASK_AGENCY_KEY,
        placeholder="Trafford Council",
        on_change=_take_asked_agency,
    )


def _take_asked_agency() -> None:
    """Put the agency given when asked into the agency box, which keeps it for the import."""
    st.session_state[AGENCY_KEY] = st.session_state.get(ASK_AGENCY_KEY, "")


def _agency_box(viewer: Viewer) -> str:
    """Draw the agency box and return the agency given for every row ("" for none).

    A signed-in user's is their own, shown and not to be changed; the local user's
    is what they type here, or gave when asked (:func:`_ask_agency` fills this box).
    """
    if viewer.signed_in:
        agency = viewer.agency or ""
        st.text_input(
            "Agency (for every row)",
            value=agency,
            disabled=True,
            help="You are signed in, so every row you import is your agency's.",
        )
        return agency
    agency = st.text_input(
        "Agency (for every row)",
        key=AGENCY_KEY,
        help="Wins over the register's own column.",
    )
    return agency


def _upload_section() -> None:
    st.subheader("Load a register")
    if message := st.session_state.pop(IMPORTED_KEY, None):
        st.success(message)
    upload = st.file_uploader(
        "Register file: CSV, Excel (XLSX or XLS), GeoJSON, GeoPackage or a zipped Shapefile",
        type=REGISTER_TYPES,
        key=UPLOAD_KEY,
    )
    with st.expander("Options: what the file is, and a column profile"):
        kind = shell.pick("Kind", _KINDS, key=KIND_KEY)
        viewer = shell.viewer()
        agency = _agency_box(viewer)
        sector = shell.pick("Sector (for every row)", _SECTORS, key=SECTOR_KEY)
        layer = st.text_input("Layer or sheet (GeoPackage, workbook)", key=LAYER_KEY)
        profile_file = st.file_uploader(
            "Column profile (TOML; the README documents the format)",
            type=["toml"],
            key=PROFILE_KEY,
        )
    if upload is None:
        return
    data = upload.getvalue()
    profile = profile_file.getvalue() if profile_file is not None else None
    digest = hashlib.sha256(data).hexdigest()
    try:
        columns, report, first_rows = _preview(
            digest, data, upload.name, kind, agency, sector, layer, profile
        )
    except AssetmapError as exc:
        if is_no_agency(exc) and not viewer.signed_in:
            _ask_agency(upload.name)
        else:
            st.error(f"{md(upload.name)} cannot be imported: {md(exc)}")
        return
    st.markdown(
        f"**{md(upload.name)}**: {report['format']}, {_rows(report['rows_read'])}, read as "
        f"{report['kind']}; {report['accepted']:,} would be accepted and "
        f"{report['quarantined']:,} quarantined. SHA-256 `{digest[:16]}…`"
    )
    st.caption(
        "Recognised columns" + (" (with your profile)" if profile else " (from their headers)")
    )
    st.dataframe(columns, hide_index=True, width="stretch")
    with st.expander("The first rows as read"):
        st.dataframe(first_rows, hide_index=True, width="stretch")
    unused = report.get("unused_columns") or []
    if unused:
        st.caption("Not used: " + ", ".join(md(u) for u in unused))
    if st.button("Import into the estate", type="primary", key="register_import"):
        bar = st.progress(0.0, text="Starting…")

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{stage.capitalize()}…")

        try:
            result = import_register(
                data,
                name=upload.name,
                store=state.store(),
                progress=progress,
                viewer=shell.viewer(),
                **_options(kind, agency, sector, layer, profile),
            )
        except Exception as exc:  # what the system refused, in words
            message = exc if isinstance(exc, AssetmapError) else system_error_message(exc)
            if message is None:
                raise  # a bug: Streamlit shows it as an error, without the traceback
            bar.empty()
            st.error(
                f"{md(upload.name)} was not imported, and the estate is unchanged: {md(message)}"
            )
            return
        bar.empty()
        state.clear()
        shell.audit_event(
            "import",
            result.source_file,
            digest=result.sha256,
            counts=result.counts(),
        )
        st.session_state[REPORT_KEY] = result
        st.session_state[IMPORTED_KEY] = (
            f"Imported {md(upload.name)}: {result.accepted:,} rows accepted, "
            f"{result.quarantined:,} quarantined."
        )
        st.rerun()  # every part of the page, the sidebar's filters too, from the new estate


def _sources_section() -> None:
    st.subheader("Imported sources")
    log = state.imports()
    if log.empty:
        st.caption("Nothing imported yet.")
        return
    viewer = shell.viewer()
    st.dataframe(sources_table(log, viewer), hide_index=True, width="stretch")
    removable = {
        _source_label(owner, source): (owner, source)
        for owner, source in zip(log["source_owner"], log["source_file"], strict=True)
        if may_remove_source(owner, viewer)
    }
    with st.expander("Remove a source"):
        if not removable:
            st.caption("You may remove only your own agency's sources; none is listed.")
        else:
            label = st.selectbox("Source", list(removable), key=REMOVE_KEY)
            sure = st.checkbox(
                f"Yes, remove {label} and all its rows from the estate", key=REMOVE_CONFIRM_KEY
            )
            st.button(
                "Remove",
                disabled=not sure,
                key="register_remove",
                on_click=_remove,
                args=removable[label],
            )
    if message := st.session_state.pop(REMOVED_KEY, None):
        (st.error if message.startswith("Not removed") else st.success)(message)


def _source_label(owner: str, source: str) -> str:
    return f"{source} ({owner})" if owner else source


#: What the sources table shows (the counts and hash only of the viewer's own sources).
_SOURCE_COLUMNS = {
    "source_file": "source",
    "source_owner": "owner",
    "kind": "kind",
    "imported_at": "imported at",
    "rows_read": "rows read",
    "accepted": "accepted",
    "quarantined": "quarantined",
    "source_sha256": "SHA-256",
}


def sources_table(log: pd.DataFrame, viewer: Viewer) -> pd.DataFrame:
    """Return the imported sources as the viewer may see them.

    The row counts and file hash only of the viewer's own agency's sources
    (:func:`assetmap.access.visible_imports`).
    """
    table = visible_imports(log, viewer)[list(_SOURCE_COLUMNS)].rename(columns=_SOURCE_COLUMNS)
    return table.reset_index(drop=True)


def _remove(owner: str, source: str) -> None:
    """Remove a source (a button callback, so the confirmation box can be cleared)."""
    try:  # the engine checks the viewer again: the list may be stale
        removed = remove_register(source, store=state.store(), owner=owner, viewer=shell.viewer())
    except Exception as exc:  # what the system refused, in words
        message = exc if isinstance(exc, AssetmapError) else system_error_message(exc)
        if message is None:
            raise
        st.session_state[REMOVED_KEY] = f"Not removed: {message}"
        return
    state.clear()
    shell.audit_event("remove", source, counts={"rows": int(removed)})
    st.session_state[REPORT_KEY] = None
    st.session_state[REMOVE_CONFIRM_KEY] = False
    st.session_state[REMOVED_KEY] = f"Removed {source} ({removed:,} rows)."


def render() -> None:
    """Draw the Registers page."""
    st.title("Registers")
    st.caption(
        "Load each agency's register as it comes. Every row ends up either in the estate "
        "or in quarantine with the reason; nothing is dropped silently."
    )
    _upload_section()
    report = st.session_state.get(REPORT_KEY)
    if report is not None:
        _show_report(report)
    try:
        _sources_section()
    except AssetmapError as exc:
        st.error(f"The store could not be read: {md(exc)}")
