"""The Exchange page: spare space offered, space asked for, and the matches between them.

For the signed-in (or local) agency:

* **the inbox** first: the matches waiting on the agency, each with the moves it may
  make (Offer, Accept, Decline, Withdraw, Complete; each made with the version shown,
  so a match someone else moved meanwhile is refused with what happened), then the
  agency's other matches with their state;
* **offers**: the one list of spare space from the registers and from the app (each
  says where it came from); declaring spare space on one of the agency's own sites,
  and withdrawing it;
* **requests**: the agency's saved requests (edit, withdraw), proposing a match from
  an offer to a request, and proposing the matches of the optimal plan;
* **first refusal**: sites declared surplus for disposal, with their window and state;
  declaring one, expressing interest, marking one for open sale after its window;
* **corrections** to the agency's own sites' records, kept as amendments (the site
  record on the Map page shows the standing ones: :func:`show_site_exchange`).

Every rule is the engine's (:mod:`assetmap.exchange`): this page shows what it gives
and says in words what it refuses. Every register value shown goes through
``st.dataframe`` or :func:`assetmap.maps.safe_html.markdown_text`. After every write the
cached estate is cleared (:func:`assetmap.app.state.clear`), so every page sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from assetmap import access
from assetmap.access import Viewer
from assetmap.app import shell, state
from assetmap.errors import AssetmapError
from assetmap.exchange.amendments import AMENDABLE, amend, withdraw_amendment
from assetmap.exchange.amendments import amendments as list_amendments
from assetmap.exchange.first_refusal import (
    FIRST_REFUSAL_WORKING_DAYS,
    declare_disposal,
    disposals,
    express_interest,
    mark_open_sale,
)
from assetmap.exchange.matches import MOVES, inbox, move, propose, propose_from_plan
from assetmap.exchange.offers import declare_offer, withdraw_offer
from assetmap.exchange.offers import offers as list_offers
from assetmap.exchange.requests import (
    SAVED_REQUESTS,
    edit_request,
    save_request,
    withdraw_request,
)
from assetmap.maps.safe_html import markdown_text as md
from assetmap.maps.style import sector_key
from assetmap.matching import MatchResult
from assetmap.schema import SENSITIVITIES, TENURES, USE_CLASSES

__all__ = [
    "MOVE_LABELS",
    "agency_defaults",
    "allowed_moves",
    "own_sites",
    "propose_candidates",
    "render",
    "save_request_button",
    "show_site_exchange",
]

MESSAGE_KEY = "exchange_message"
OFFER_SITE_KEY = "exchange_offer_site"
OFFER_SQFT_KEY = "exchange_offer_sqft"
OFFER_USE_KEY = "exchange_offer_use"
OFFER_FROM_KEY = "exchange_offer_from"
OFFER_UNTIL_KEY = "exchange_offer_until"
OFFER_TERMS_KEY = "exchange_offer_terms"
OFFER_CONTACT_KEY = "exchange_offer_contact"
OFFER_OPEN_KEY = "exchange_offer_open"
OFFER_DECLARE_KEY = "exchange_offer_declare"
OFFER_WITHDRAW_CHOICE_KEY = "exchange_offer_withdraw_choice"
OFFER_WITHDRAW_KEY = "exchange_offer_withdraw"
REQUEST_CHOICE_KEY = "exchange_request_choice"
REQUEST_SQFT_KEY = "exchange_request_sqft"
REQUEST_DISTANCE_KEY = "exchange_request_km"
REQUEST_NEEDED_KEY = "exchange_request_needed_by"
REQUEST_EDIT_KEY = "exchange_request_edit"
REQUEST_WITHDRAW_KEY = "exchange_request_withdraw"
PROPOSE_OFFER_KEY = "exchange_propose_offer"
PROPOSE_REQUEST_KEY = "exchange_propose_request"
PROPOSE_SQFT_KEY = "exchange_propose_sqft"
PROPOSE_KEY = "exchange_propose"
PLAN_KEY = "exchange_propose_from_plan"
DISPOSAL_SITE_KEY = "exchange_disposal_site"
DISPOSAL_TERMS_KEY = "exchange_disposal_terms"
DISPOSAL_CONTACT_KEY = "exchange_disposal_contact"
DISPOSAL_OPEN_KEY = "exchange_disposal_open"
DISPOSAL_DECLARE_KEY = "exchange_disposal_declare"
INTEREST_CHOICE_KEY = "exchange_interest_choice"
INTEREST_NOTE_KEY = "exchange_interest_note"
INTEREST_KEY = "exchange_interest"
OPEN_SALE_CHOICE_KEY = "exchange_open_sale_choice"
OPEN_SALE_KEY = "exchange_open_sale"
AMEND_SITE_KEY = "exchange_amend_site"
AMEND_FIELD_KEY = "exchange_amend_field"
AMEND_VALUE_KEY = "exchange_amend_value"
AMEND_REASON_KEY = "exchange_amend_reason"
AMEND_KEY = "exchange_amend"
AMEND_WITHDRAW_CHOICE_KEY = "exchange_amend_withdraw_choice"
AMEND_WITHDRAW_KEY = "exchange_amend_withdraw"
SAVE_REQUEST_KEY = "space_save_request"
SAVED_REQUEST_KEY = "space_saved_request"
CANDIDATE_PROPOSE_KEY = "space_propose"

#: Each move's button, in the order they are drawn.
MOVE_LABELS = {
    "offer": "Offer",
    "accept": "Accept",
    "complete": "Complete",
    "decline": "Decline",
    "withdraw": "Withdraw",
}

#: What each amendable field is called on the page.
FIELD_LABELS = {
    "floor_area_sqft": "Floor area (sq ft)",
    "running_cost_gbp": "Running cost (£ a year)",
    "tenure": "Tenure",
    "lease_expiry": "Lease expiry",
    "use": "Use",
    "sensitivity": "Sensitivity",
}

#: The offers list's columns shown to people, and their headings.
OFFER_COLUMNS = {
    "offer_id": "Offer",
    "origin": "Where it came from",
    "kind": "Kind",
    "agency": "Agency",
    "site_name": "Site",
    "postcode": "Postcode",
    "area": "Area",
    "sqft": "Spare space (sq ft)",
    "use": "Use",
    "available_from": "From",
    "available_until": "Until",
    "terms": "Terms",
    "contact": "Contact",
    "state": "State",
}

#: The saved requests' columns shown to people, and their headings.
REQUEST_COLUMNS = {
    "request_id": "Request",
    "space_needed_sqft": "Space needed (sq ft)",
    "use": "Use",
    "postcode": "Postcode",
    "max_distance_m": "Maximum distance (m)",
    "needed_by": "Needed by",
}

#: The disposals list's columns shown to people, and their headings.
DISPOSAL_COLUMNS = {
    "offer_id": "Offer",
    "agency": "Agency",
    "site_name": "Site",
    "area": "Area",
    "declared_on": "Declared on",
    "window_ends": "First refusal ends",
    "working_days_left": "Working days left",
    "state": "State",
    "interest": "Interest",
}

_NO_AGENCY = (
    "Set $ASSETMAP_AGENCY or sign in as an agency to offer space, save requests or move "
    "matches: the exchange acts for an agency."
)


# --------------------------------------------------------------------------------------
# what the viewer may see and do


def _store():
    return state.store()


@st.cache_data(show_spinner=False, max_entries=32)
def _read(signature: state.Signature, what: str, user: str, agency: str | None, signed: bool):
    """Read one of the exchange's lists for a viewer, cached per store state and viewer."""
    viewer = Viewer(user=user, agency=agency, signed_in=signed)
    store = state.store()
    readers: dict[str, Callable[[], pd.DataFrame]] = {
        "offers": lambda: list_offers(store, viewer),
        "matches": lambda: inbox(store, viewer),
        "disposals": lambda: disposals(store, viewer),
        "amendments": lambda: list_amendments(store, viewer),
    }
    return readers[what]()


def _list(what: str, viewer: Viewer) -> pd.DataFrame:
    return _read(state.store_signature(), what, viewer.user, viewer.agency, viewer.signed_in)


def _is_mine(agency: object, viewer: Viewer) -> bool:
    return bool(viewer.key) and access.agency_key(agency) == viewer.key


def _mine(frame: pd.DataFrame, viewer: Viewer) -> np.ndarray:
    """Which rows of ``frame`` are the viewer's agency's (by their ``agency``)."""
    return np.fromiter((_is_mine(a, viewer) for a in frame["agency"]), dtype=bool, count=len(frame))


def own_sites(viewer: Viewer) -> pd.DataFrame:
    """Return the sites the viewer's agency holds and may change (its own sources').

    Parameters
    ----------
    viewer
        Who is looking; with no agency, none.

    Returns
    -------
    geopandas.GeoDataFrame
        Rows of the estate the viewer may see, of the viewer's agency, whose source the
        viewer may change (signed in: their own agency's sources only).
    """
    if not viewer.key:
        return state.estate_sites().iloc[0:0]
    sites = shell.visible_estate()
    mine = [
        _is_mine(agency, viewer) and access.may_remove_source(owner, viewer)
        for agency, owner in zip(sites["agency"], sites["source_owner"], strict=True)
    ]
    return sites[mine]


def allowed_moves(match: Mapping[str, Any], viewer: Viewer) -> list[str]:
    """Return the moves ``viewer`` may make on a match now, as ``matches.MOVES`` says.

    The engine checks again when the move is made; this decides which buttons are drawn.

    Parameters
    ----------
    match
        One row of :func:`assetmap.exchange.matches.inbox` (``holder``, ``requester``,
        ``state``).
    viewer
        Who is looking.

    Returns
    -------
    list of str
        Keys of :data:`MOVE_LABELS`, in their order (none when the match is over or the
        viewer is neither party).
    """
    roles = set()
    if _is_mine(match.get("holder"), viewer):
        roles.add("holder")
    if _is_mine(match.get("requester"), viewer):
        roles.add("requester")
    return [
        action
        for action in MOVE_LABELS
        if roles & set(MOVES[action]["from"].get(str(match.get("state")), ()))
    ]


# --------------------------------------------------------------------------------------
# writing


def _say(kind: str, text: str) -> None:
    """Keep a message for the next run (the page reruns after every write)."""
    st.session_state[MESSAGE_KEY] = (kind, text)


def _show_message() -> None:
    if found := st.session_state.pop(MESSAGE_KEY, None):
        kind, text = found
        {"success": st.success, "error": st.error, "info": st.info}[kind](text)


def _perform(action: Callable[[], Any], done: Callable[[Any], str], refused: str) -> None:
    """Make one write: on success clear the cached estate and say ``done``; else say why.

    The message is kept for the page's next run (:func:`_show_message`).
    """
    try:
        result = action()
    except AssetmapError as exc:
        _say("error", f"{refused}: {md(exc)}")
        return
    state.clear()
    _say("success", done(result))


def _write(action: Callable[[], Any], done: Callable[..., str], refused: str) -> None:
    """Make one write now (a form was sent) and draw the page again, with its message."""
    _perform(action, done, refused)
    st.rerun()


def _action_button(
    label: str,
    *,
    key: str,
    action: Callable[[], Any],
    done: Callable[..., str],
    refused: str,
    **options: Any,
) -> None:
    """Draw a button that makes one write when clicked, with what the page showed.

    The write is the button's callback, bound to the values of the run that drew it
    (a match's or an offer's version as shown): if someone changed the row since, the
    engine refuses the write and says what happened, rather than the click acting on
    a version the officer never saw.
    """
    st.button(label, key=key, on_click=_perform, args=(action, done, refused), **options)


def _versioned_write(
    viewer: Viewer,
    rows: pd.DataFrame,
    *,
    id_column: str,
    label: Callable[[str, Mapping[Any, Any]], str],
    choice: tuple[str, str],
    button: tuple[str, str],
    write: Callable[..., Any],
    done: str,
    refused: str,
) -> None:
    """Pick one of the viewer's ``rows`` and draw the button that makes one write of it.

    Parameters
    ----------
    viewer
        Who acts.
    rows
        The rows to choose from, each named by ``label(id, row)`` in the choice.
    id_column
        The rows' id (what ``write`` is given).
    choice, button
        The choice's and the button's label and widget key.
    write
        The engine's function, called as ``write(store, viewer, id, version=...)`` with
        the version of the row as shown (see :func:`_action_button`).
    done, refused
        The messages, with ``{}`` where the row's id goes.
    """
    found = {str(r[id_column]): r for r in rows.to_dict("records")}
    chosen = shell.pick(choice[0], {k: label(k, r) for k, r in found.items()}, key=choice[1])
    _action_button(
        button[0],
        key=button[1],
        action=partial(
            write,
            _store(),
            viewer,
            chosen,
            version=int(_number(found[chosen].get("version"))),
        ),
        done=lambda _: done.format(md(chosen)),
        refused=refused.format(md(chosen)),
    )


def _iso(value: date | None) -> str:
    return value.isoformat() if isinstance(value, date) else ""


def _site_label(row: Mapping[Any, Any]) -> str:
    """Return a site as a choice reads it (plain text: select boxes show no Markdown)."""
    postcode = str(row.get("postcode") or "").strip()
    where = f" ({postcode})" if postcode else ""
    return f"{row.get('name')}{where}, {row.get('site_id')}"


def _site_choice(label: str, sites: pd.DataFrame, *, key: str) -> Mapping[Any, Any] | None:
    """Pick one of ``sites``; return its row as a mapping, or ``None`` when there is none."""
    if sites.empty:
        return None
    rows = {i: row for i, row in enumerate(sites.drop(columns="geometry").to_dict("records"))}
    labels = {i: _site_label(row) for i, row in rows.items()}
    return rows[shell.pick(label, labels, key=key)]


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if pd.isna(number) else number


# --------------------------------------------------------------------------------------
# the inbox


def _match_line(row: Mapping[str, Any], viewer: Viewer) -> str:
    """One match in words (every register value escaped)."""
    site = row.get("site_name") or row.get("area") or "an open offer"
    request = row.get("request") or row.get("request_id")
    holder = "your agency" if _is_mine(row.get("holder"), viewer) else md(row.get("holder"))
    requester = (
        "your agency" if _is_mine(row.get("requester"), viewer) else md(row.get("requester"))
    )
    return (
        f"**{md(row.get('match_id'))}**: {_number(row.get('sqft')):,.0f} sq ft at {md(site)} "
        f"(held by {holder}) for {md(request)} (asked by {requester}); "
        f"**{md(row.get('state'))}**, version {int(_number(row.get('version')))}, "
        f"proposed by {md(row.get('proposed_by'))}"
    )


def _inbox_section(viewer: Viewer, found: pd.DataFrame) -> None:
    st.subheader("Your inbox")
    if found.empty:
        st.caption(
            "No matches of your agency yet. Propose one below, from an offer to a request, "
            "or from the plan."
        )
        return
    waiting = found[found["waiting_on_you"].astype(bool)]
    others = found[~found["waiting_on_you"].astype(bool)]
    if waiting.empty:
        st.caption("Nothing is waiting on you.")
    for row in waiting.to_dict("records"):
        _match_box(row, viewer, waiting_on_you=True)
    if not others.empty:
        st.markdown("**Your other matches**")
        for row in others.to_dict("records"):
            _match_box(row, viewer, waiting_on_you=False)


def _match_box(row: Mapping[Any, Any], viewer: Viewer, *, waiting_on_you: bool) -> None:
    match_id = str(row["match_id"])
    with st.container(border=True, key=f"exchange_match_{match_id}"):
        st.markdown(_match_line(row, viewer))
        if waiting_on_you:
            st.caption("Waiting on you.")
        elif row.get("waiting_on"):
            st.caption(f"Waiting on {md(row.get('waiting_on'))}.")
        moves = allowed_moves(row, viewer)
        if not moves:
            return
        version = int(_number(row.get("version")))
        with st.container(horizontal=True):
            for action in moves:
                _action_button(
                    MOVE_LABELS[action],
                    key=f"exchange_move_{match_id}_{action}",
                    action=partial(move, _store(), viewer, match_id, action, version=version),
                    done=lambda moved, match_id=match_id: (
                        f"Match {md(match_id)} {md(moved['state'])}."
                    ),
                    refused=f"Match {md(match_id)} was not moved",
                )


# --------------------------------------------------------------------------------------
# offers


def _offers_section(viewer: Viewer, offers: pd.DataFrame) -> None:
    st.subheader("Spare space offered")
    st.caption(
        "Offers from the registers (a site's surplus space) and offers made here are one "
        "list; each says where it came from."
    )
    if offers.empty:
        st.caption("No spare space is offered yet.")
    else:
        columns = [c for c in OFFER_COLUMNS if c in offers.columns]
        st.dataframe(
            offers[columns].rename(columns=OFFER_COLUMNS),
            hide_index=True,
            width="stretch",
            column_config={
                "Spare space (sq ft)": st.column_config.NumberColumn(format="%,.0f"),
            },
        )
    if not viewer.key:
        return
    _declare_form(viewer)
    _withdraw_offer(viewer, offers)


def _declare_form(viewer: Viewer) -> None:
    with st.expander("Offer spare space on one of your sites"):
        sites = own_sites(viewer)
        site = _site_choice("Your site", sites, key=OFFER_SITE_KEY)
        if site is None:
            st.caption("Your agency has no sites in the estate that you may change.")
            return
        restricted = str(site.get("sensitivity", "")).strip().lower() == "restricted"
        with st.form("exchange_offer_form"):
            left, right = st.columns(2)
            sqft = left.number_input(
                "Spare space (sq ft)",
                min_value=0,
                value=int(_number(site.get("surplus_sqft"))),
                step=1_000,
                key=OFFER_SQFT_KEY,
            )
            use = right.selectbox("Use", USE_CLASSES, key=OFFER_USE_KEY)
            available_from = left.date_input(
                "Available from", value=None, key=OFFER_FROM_KEY, format="YYYY-MM-DD"
            )
            available_until = right.date_input(
                "Available until", value=None, key=OFFER_UNTIL_KEY, format="YYYY-MM-DD"
            )
            terms = left.text_input("Terms", key=OFFER_TERMS_KEY)
            contact = right.text_input("Contact", key=OFFER_CONTACT_KEY)
            is_open = False
            if restricted:
                is_open = st.checkbox(
                    "Show this offer to other agencies even though the site is restricted",
                    key=OFFER_OPEN_KEY,
                    help="They see the space, its use, dates, terms, contact and the "
                    "district; never the site's name, address, postcode or position.",
                )
            declared = st.form_submit_button(
                "Offer this space", type="primary", key=OFFER_DECLARE_KEY
            )
        if declared:
            _write(
                lambda: declare_offer(
                    _store(),
                    viewer,
                    str(site["site_id"]),
                    sqft=float(sqft),
                    use=use,
                    available_from=_iso(available_from),
                    available_until=_iso(available_until),
                    terms=terms,
                    contact=contact,
                    open=bool(is_open),
                    source_file=str(site["source_file"]),
                ),
                lambda offer_id: (
                    f"Offered {float(sqft):,.0f} sq ft at {md(site.get('name'))} "
                    f"(offer {md(offer_id)})."
                ),
                "The offer was not made",
            )


def _withdraw_offer(viewer: Viewer, offers: pd.DataFrame) -> None:
    if offers.empty:
        return
    mine = offers[_mine(offers, viewer) & (offers["kind"] == "space")]
    if mine.empty:
        return
    with st.expander("Withdraw one of your offers"):
        _versioned_write(
            viewer,
            mine,
            id_column="offer_id",
            label=lambda k, r: (
                f"{r.get('site_name') or r.get('area')}: {_number(r.get('sqft')):,.0f} sq ft ({k})"
            ),
            choice=("Offer", OFFER_WITHDRAW_CHOICE_KEY),
            button=("Withdraw this offer", OFFER_WITHDRAW_KEY),
            write=withdraw_offer,
            done="Offer {} withdrawn.",
            refused="Offer {} was not withdrawn",
        )


# --------------------------------------------------------------------------------------
# requests and proposals


def _visible_requests(viewer: Viewer) -> pd.DataFrame:
    return access.visible_requests(state.estate_requests(), viewer)


def _request_label(row: Mapping[Any, Any]) -> str:
    where = str(row.get("postcode") or "").strip()
    return (
        f"{row.get('agency')}: {_number(row.get('space_needed_sqft')):,.0f} sq ft "
        f"{row.get('use') or ''} near {where or 'a grid reference'} ({row.get('request_id')})"
    )


def _requests_section(viewer: Viewer, offers: pd.DataFrame) -> None:
    st.subheader("Requests for space")
    requests = _visible_requests(viewer)
    saved = requests[(requests["source_file"] == SAVED_REQUESTS) & _mine(requests, viewer)]
    if saved.empty:
        st.caption(
            "Your agency has no saved requests. Ask for space on the Space page and save "
            "the request there."
        )
    else:
        st.markdown("**Your saved requests**")
        shown = saved.drop(columns=saved.geometry.name)
        st.dataframe(
            shown[list(REQUEST_COLUMNS)].rename(columns=REQUEST_COLUMNS),
            hide_index=True,
            width="stretch",
            column_config={
                "Space needed (sq ft)": st.column_config.NumberColumn(format="%,.0f"),
                "Maximum distance (m)": st.column_config.NumberColumn(format="%,.0f"),
            },
        )
        _edit_request(viewer, saved)
    if viewer.key:
        _propose_section(viewer, offers, requests)


def _edit_request(viewer: Viewer, saved: pd.DataFrame) -> None:
    with st.expander("Change or withdraw a saved request"):
        rows = {str(r["request_id"]): r for r in saved.drop(columns="geometry").to_dict("records")}
        chosen = shell.pick(
            "Request", {k: _request_label(r) for k, r in rows.items()}, key=REQUEST_CHOICE_KEY
        )
        row = rows[chosen]
        with st.form("exchange_request_form"):
            left, right = st.columns(2)
            sqft = left.number_input(
                "Space needed (sq ft)",
                min_value=0,
                value=int(_number(row.get("space_needed_sqft"))),
                step=1_000,
                key=f"{REQUEST_SQFT_KEY}_{chosen}",
            )
            km = right.number_input(
                "Maximum distance (km)",
                min_value=0.1,
                value=max(_number(row.get("max_distance_m")) / 1000, 0.1),
                step=0.5,
                key=f"{REQUEST_DISTANCE_KEY}_{chosen}",
            )
            needed = left.text_input(
                "Needed by (YYYY-MM-DD)",
                value=str(row.get("needed_by") or ""),
                key=f"{REQUEST_NEEDED_KEY}_{chosen}",
            )
            changed = st.form_submit_button("Save the changes", key=REQUEST_EDIT_KEY)
        if changed:
            _write(
                lambda: edit_request(
                    _store(),
                    viewer,
                    chosen,
                    sqft=float(sqft),
                    max_distance_m=float(km) * 1000,
                    needed_by=needed.strip(),
                ),
                lambda _: f"Request {md(chosen)} changed.",
                f"Request {md(chosen)} was not changed",
            )
        _action_button(
            "Withdraw this request",
            key=REQUEST_WITHDRAW_KEY,
            action=partial(withdraw_request, _store(), viewer, chosen),
            done=lambda _: f"Request {md(chosen)} withdrawn, with its live matches.",
            refused=f"Request {md(chosen)} was not withdrawn",
        )


def _propose_section(viewer: Viewer, offers: pd.DataFrame, requests: pd.DataFrame) -> None:
    st.markdown("**Propose a match**")
    left, right = st.columns(2)
    with left:
        _action_button(
            "Propose matches from the plan",
            key=PLAN_KEY,
            action=partial(propose_from_plan, _store(), viewer),
            done=lambda ids: (
                f"Proposed {len(ids):,} match{'es' if len(ids) != 1 else ''} from the plan."
                if ids
                else "The plan proposes no new match that your agency is a party to."
            ),
            refused="No match was proposed",
            help="Runs the optimal plan on everything you may see, and proposes each of its "
            "pairs that your agency is a party to (none already live).",
        )
    open_requests = requests[requests["space_needed_sqft"].fillna(0) > 0]
    space = offers[(offers["kind"] == "space") & (offers["sqft"].fillna(0) > 0)]
    with right:
        if space.empty or open_requests.empty:
            st.caption("A match needs an offer of space and an open request.")
            return
        with st.expander("From an offer to a request"):
            offer_rows = {str(r["offer_id"]): r for r in space.to_dict("records")}
            offer_id = shell.pick(
                "Offer",
                {
                    k: f"{r.get('agency')}: {r.get('site_name') or r.get('area')}, "
                    f"{_number(r.get('sqft')):,.0f} sq ft ({k})"
                    for k, r in offer_rows.items()
                },
                key=PROPOSE_OFFER_KEY,
            )
            request_rows = {
                (str(r["request_id"]), str(r["source_file"])): r
                for r in open_requests.drop(columns="geometry").to_dict("records")
            }
            request_key = shell.pick(
                "Request",
                {k: _request_label(r) for k, r in request_rows.items()},
                key=PROPOSE_REQUEST_KEY,
            )
            default = min(
                _number(offer_rows[offer_id].get("sqft")),
                _number(request_rows[request_key].get("space_needed_sqft")),
            )
            sqft = st.number_input(
                "Space (sq ft)",
                min_value=0,
                value=int(default),
                step=1_000,
                key=f"{PROPOSE_SQFT_KEY}_{offer_id}_{request_key[0]}",
            )
            if st.button("Propose this match", key=PROPOSE_KEY):
                _write(
                    partial(
                        propose,
                        _store(),
                        viewer,
                        offer_id=offer_id,
                        request_id=request_key[0],
                        request_file=request_key[1],
                        sqft=float(sqft),
                        proposed_by="person",
                    ),
                    lambda match_id: f"Proposed match {md(match_id)}.",
                    "The match was not proposed",
                )


# --------------------------------------------------------------------------------------
# first refusal


def _first_refusal_section(viewer: Viewer, disposals: pd.DataFrame) -> None:
    st.subheader("First refusal: sites for disposal")
    st.caption(
        f"A site declared surplus for disposal is offered to every other public body for "
        f"{FIRST_REFUSAL_WORKING_DAYS} working days (England and Wales bank "
        "holidays excluded) before it may be marked for open sale."
    )
    if disposals.empty:
        st.caption("No site is declared surplus for disposal.")
    else:
        columns = [c for c in DISPOSAL_COLUMNS if c in disposals.columns]
        st.dataframe(
            disposals[columns].rename(columns=DISPOSAL_COLUMNS), hide_index=True, width="stretch"
        )
    if not viewer.key:
        return
    _declare_disposal(viewer)
    if disposals.empty:
        return
    theirs = disposals[~_mine(disposals, viewer) & (disposals["state"] == "first refusal")]
    mine = disposals[_mine(disposals, viewer) & (disposals["state"] == "first refusal")]
    if not theirs.empty:
        with st.expander("Express interest in a site"):
            labels = {
                str(r["offer_id"]): f"{r.get('agency')}: {r.get('site_name') or r.get('area')} "
                f"(until {r.get('window_ends')})"
                for r in theirs.to_dict("records")
            }
            chosen = shell.pick("Site for disposal", labels, key=INTEREST_CHOICE_KEY)
            note = st.text_input("Note (optional)", key=INTEREST_NOTE_KEY)
            if st.button("Express interest", key=INTEREST_KEY):
                _write(
                    partial(express_interest, _store(), viewer, chosen, note=note),
                    lambda _, chosen=chosen: f"Your interest in {md(chosen)} is recorded.",
                    "Your interest was not recorded",
                )
    if not mine.empty:
        with st.expander("Mark one of your sites for open sale"):
            _versioned_write(
                viewer,
                mine,
                id_column="offer_id",
                label=lambda _, r: (
                    f"{r.get('site_name') or r.get('area')} (first refusal until "
                    f"{r.get('window_ends')})"
                ),
                choice=("Your site for disposal", OPEN_SALE_CHOICE_KEY),
                button=("Mark for open sale", OPEN_SALE_KEY),
                write=mark_open_sale,
                done="Offer {} is marked for open sale.",
                refused="Offer {} was not marked for open sale",
            )


def _declare_disposal(viewer: Viewer) -> None:
    with st.expander("Declare one of your sites surplus for disposal"):
        site = _site_choice("Your site", own_sites(viewer), key=DISPOSAL_SITE_KEY)
        if site is None:
            st.caption("Your agency has no sites in the estate that you may change.")
            return
        restricted = str(site.get("sensitivity", "")).strip().lower() == "restricted"
        with st.form("exchange_disposal_form"):
            terms = st.text_input("Terms", key=DISPOSAL_TERMS_KEY)
            contact = st.text_input("Contact", key=DISPOSAL_CONTACT_KEY)
            is_open = False
            if restricted:
                is_open = st.checkbox(
                    "Show this offer to other agencies even though the site is restricted",
                    key=DISPOSAL_OPEN_KEY,
                )
            declared = st.form_submit_button(
                "Declare surplus for disposal", key=DISPOSAL_DECLARE_KEY
            )
        if declared:
            _write(
                lambda: declare_disposal(
                    _store(),
                    viewer,
                    str(site["site_id"]),
                    terms=terms,
                    contact=contact,
                    open=bool(is_open),
                    source_file=str(site["source_file"]),
                ),
                lambda offer_id: (
                    f"{md(site.get('name'))} is declared surplus for disposal (offer "
                    f"{md(offer_id)}); first refusal runs for "
                    f"{FIRST_REFUSAL_WORKING_DAYS} working days."
                ),
                "The site was not declared surplus",
            )


# --------------------------------------------------------------------------------------
# corrections


def _value_widget(field: str, site: Mapping[str, Any]) -> Any:
    key = f"{AMEND_VALUE_KEY}_{field}"
    current = site.get(field)
    if field in ("floor_area_sqft", "running_cost_gbp"):
        return st.number_input(
            FIELD_LABELS[field], min_value=0.0, value=_number(current), step=100.0, key=key
        )
    if field == "tenure":
        index = TENURES.index(current) if current in TENURES else None
        return st.selectbox(FIELD_LABELS[field], TENURES, index=index, key=key)
    if field == "sensitivity":
        index = SENSITIVITIES.index(current) if current in SENSITIVITIES else None
        return st.selectbox(FIELD_LABELS[field], SENSITIVITIES, index=index, key=key)
    if field == "lease_expiry":
        chosen = st.date_input(FIELD_LABELS[field], value=None, key=key, format="YYYY-MM-DD")
        return _iso(chosen)
    return st.text_input(FIELD_LABELS.get(field, field), value=str(current or ""), key=key)


def _corrections_section(viewer: Viewer, found: pd.DataFrame) -> None:
    st.subheader("Corrections to your sites' records")
    st.caption(
        "A correction is kept with who made it, when, the register's value and the new "
        "one; it applies wherever the site is read, and a re-import of the register keeps "
        "it (the import report lists any the new file changed)."
    )
    # the offers' and completions' spare space is kept as amendments too (so a re-import
    # keeps it), but it is the offer's: the Offers list shows it
    if len(found):
        found = found[found["field"].isin(list(FIELD_LABELS))]
    mine = found[_mine(found, viewer)] if len(found) else found
    if not mine.empty:
        standing = mine[mine["state"] == "standing"]
        st.dataframe(
            standing[
                [
                    c
                    for c in ("row_id", "field", "old", "new", "by", "at", "reason")
                    if c in standing.columns
                ]
            ].rename(columns={"row_id": "site", "old": "register value", "new": "amended to"}),
            hide_index=True,
            width="stretch",
        )
    if not viewer.key:
        return
    with st.expander("Correct one of your sites"):
        site = _site_choice("Your site", own_sites(viewer), key=AMEND_SITE_KEY)
        if site is None:
            st.caption("Your agency has no sites in the estate that you may change.")
            return
        fields = [f for f in AMENDABLE if f in FIELD_LABELS]
        field = shell.pick("Field", {f: FIELD_LABELS[f] for f in fields}, key=f"{AMEND_FIELD_KEY}")
        value = _value_widget(field, site)
        reason = st.text_input("Why (optional)", key=AMEND_REASON_KEY)
        if st.button("Save the correction", key=AMEND_KEY):
            _write(
                lambda: amend(
                    _store(),
                    viewer,
                    str(site["site_id"]),
                    field,
                    value,
                    source_file=str(site["source_file"]),
                    reason=reason,
                ),
                lambda _: f"{FIELD_LABELS[field]} of {md(site.get('name'))} corrected.",
                "The correction was not saved",
            )
    standing = mine[mine["state"] == "standing"] if not mine.empty else mine
    if standing.empty:
        return
    with st.expander("Withdraw a correction (the register's value comes back)"):
        _versioned_write(
            viewer,
            standing,
            id_column="amendment_id",
            label=lambda _, r: (
                f"{r.get('row_id')}: {FIELD_LABELS.get(str(r.get('field')), r.get('field'))} "
                f"{r.get('old')} -> {r.get('new')}"
            ),
            choice=("Correction", AMEND_WITHDRAW_CHOICE_KEY),
            button=("Withdraw the correction", AMEND_WITHDRAW_KEY),
            write=withdraw_amendment,
            done="Correction {} withdrawn.",
            refused="Correction {} was not withdrawn",
        )


# --------------------------------------------------------------------------------------
# hooks of other pages


def show_site_exchange(site: Mapping[str, Any]) -> None:
    """Draw, under a site's record, its standing corrections and any offer on it.

    Only what the viewer may see: the engine gives each viewer the amendments of the
    rows they may see, and the offers they may see (a disposal with its first-refusal
    window and state). Every value is escaped for Markdown.

    Parameters
    ----------
    site
        The site's row (``site_id`` and ``source_file`` find its amendments and offers).
    """
    viewer = shell.viewer()
    try:
        found = _list("amendments", viewer)
        offers = _list("offers", viewer)
    except AssetmapError as exc:
        st.caption(f"The exchange could not be read: {md(exc)}")
        return
    if len(found):
        found = found[
            found["field"].isin(list(FIELD_LABELS))
            & (found["state"] == "standing")
            & (found["layer"] == "sites")
            & (found["row_id"] == str(site.get("site_id")))
            & (found["source_file"] == str(site.get("source_file")))
        ]
    if len(found):
        st.markdown("**Corrections standing on this record**")
        for row in found.to_dict("records"):
            st.caption(
                f"{md(FIELD_LABELS.get(row['field'], row['field']))}: the register says "
                f"{md(row['old'] or 'nothing')}, corrected to {md(row['new'] or 'nothing')} "
                f"by {md(row['by'])} ({md(row['agency'])}) at {md(row['at'])}"
                + (f": {md(row['reason'])}" if row.get("reason") else "")
            )
    if len(offers) and "site_id" in offers.columns:
        here = offers[
            (offers["site_id"] == str(site.get("site_id")))
            & (offers["source_file"] == str(site.get("source_file")))
        ]
        for row in here.to_dict("records"):
            if row.get("kind") == "disposal":
                st.caption(
                    f"Declared surplus for disposal on {md(row.get('declared_on'))}: "
                    f"{md(row.get('state'))}; first refusal ends {md(row.get('window_ends'))}."
                )
            else:
                st.caption(
                    f"Spare space offered: {_number(row.get('sqft')):,.0f} sq ft "
                    f"({md(row.get('origin'))})."
                )


def save_request_button(request: pd.DataFrame) -> None:
    """Draw the Space page's "Save this request" for the request asked for there.

    Clicked, the request is saved as the viewer's agency's
    (:func:`assetmap.exchange.requests.save_request`); a refusal (no agency, a value
    the importer would quarantine) is said in words.

    Parameters
    ----------
    request
        The one request of the Space page's form (:func:`assetmap.app.space_page.new_request`).
    """
    viewer = shell.viewer()
    _show_message()
    if not st.button("Save this request", key=SAVE_REQUEST_KEY):
        return
    row = request.iloc[0]
    postcode = str(row.get("postcode") or "").strip()
    if not postcode:
        st.error("Give a postcode to save the request: a saved request is found by its postcode.")
        return
    _write(
        lambda: _remember_saved(
            request,
            save_request(
                _store(),
                viewer,
                sqft=float(row["space_needed_sqft"]),
                postcode=postcode,
                use=str(row.get("use") or "office"),
                max_distance_m=float(row["max_distance_m"]),
                needed_by=str(row.get("needed_by") or ""),
            ),
        ),
        lambda request_id: (
            f"Saved request {md(request_id)} for {md(viewer.agency)}: "
            f"{float(row['space_needed_sqft']):,.0f} sq ft near {md(postcode)}. The plan and "
            "the Exchange page now include it."
        ),
        "The request was not saved",
    )


def _asked(request: pd.DataFrame) -> tuple:
    """Return what the Space page's request asks for (a saved copy of it asks the same)."""
    row = request.iloc[0]
    point = request.geometry.iloc[0]
    where = None if point is None or point.is_empty else (round(point.x), round(point.y))
    return (
        _number(row.get("space_needed_sqft")),
        str(row.get("use") or ""),
        str(row.get("postcode") or "").strip().upper(),
        _number(row.get("max_distance_m")),
        str(row.get("needed_by") or ""),
        where,
    )


def _remember_saved(request: pd.DataFrame, request_id: str) -> str:
    """Keep which saved request the Space page's request is; return its id."""
    st.session_state[SAVED_REQUEST_KEY] = (_asked(request), request_id, SAVED_REQUESTS)
    return request_id


def _offer_ids(offers: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """Return the offer of each site (by site_id, source_file, source_owner), space first."""
    if offers.empty:
        return {}
    listed = offers.assign(_other=offers["kind"] != "space").sort_values("_other", kind="stable")
    found: dict[tuple[str, str, str], str] = {}
    for row in listed.to_dict("records"):
        if row.get("site_id"):
            where = (str(row["site_id"]), str(row["source_file"]), str(row["source_owner"]))
            found.setdefault(where, str(row["offer_id"]))
    return found


def propose_candidates(request: pd.DataFrame, match: MatchResult) -> None:
    """Draw, under the Space page's candidates, a "Propose a match" for each of them.

    Drawn once the request asked for there is saved (:func:`save_request_button`) and
    only for a viewer with an agency. Each candidate's button proposes a match of the
    offer on that candidate's site (the offers list's, matched by ``site_id``,
    ``source_file`` and ``source_owner``) for the saved request, ``proposed_by``
    ``"candidates"``; the engine's refusal is said in words. A candidate of the
    viewer's own agency gets no button (a match is between two agencies).

    Parameters
    ----------
    request
        The one request of the Space page's form (:func:`assetmap.app.space_page.new_request`).
    match
        Its ranked candidates (:func:`assetmap.matching.find_candidates`).
    """
    viewer = shell.viewer()
    saved = st.session_state.get(SAVED_REQUEST_KEY)
    if not viewer.key or not saved or saved[0] != _asked(request) or match.empty:
        return
    _, request_id, request_file = saved
    offer_of = _offer_ids(_list("offers", viewer))
    st.markdown(f"**Propose a match for your saved request {md(request_id)}**")
    st.caption(
        "The offer's agency sees the proposal in its inbox on the Exchange page, and "
        "offers the space or declines it there."
    )
    for row in match.candidates.sort_values("rank", kind="stable").to_dict("records"):
        site = match.offers.loc[row["offer"]]
        where = (
            str(site.get("site_id", "")),
            str(site.get("source_file", "")),
            str(site.get("source_owner", "")),
        )
        offer_id = offer_of.get(where)
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(
                f"{int(row['rank'])}. {md(row['offer_name'])} ({md(row['offer_agency'])}): "
                f"{_number(row['offer_sqft']):,.0f} sq ft spare, "
                f"{_number(row['distance_m']):,.0f} m away"
            )
            if _is_mine(row["offer_agency"], viewer):
                st.caption("Your agency's own space.")
            elif offer_id is None:
                st.caption("Not on the exchange's list of offers.")
            else:
                _action_button(
                    "Propose a match",
                    key=f"{CANDIDATE_PROPOSE_KEY}_{offer_id}",
                    action=partial(
                        propose,
                        _store(),
                        viewer,
                        offer_id=offer_id,
                        request_id=request_id,
                        request_file=request_file,
                        proposed_by="candidates",
                    ),
                    done=lambda match_id, row=row: (
                        f"Proposed match {md(match_id)} of {md(row['offer_name'])}'s space for "
                        f"request {md(request_id)}: {md(row['offer_agency'])} sees it in its "
                        "inbox on the Exchange page."
                    ),
                    refused="The match was not proposed",
                )


def agency_defaults(viewer: Viewer) -> tuple[str, str]:
    """Return the viewer's agency and its sector, as the Space page's form first shows them.

    The sector is the commonest of the agency's sites that the viewer sees, as a saved
    request's is (:mod:`assetmap.exchange.requests`).

    Parameters
    ----------
    viewer
        Who is looking.

    Returns
    -------
    tuple of str
        The agency (``""`` for none) and its sector (``""`` when the estate holds none
        of its sites, or cannot be read).
    """
    if not viewer.key:
        return "", ""
    try:
        sites = shell.visible_estate()
    except AssetmapError:
        return str(viewer.agency), ""
    counts = sector_key(sites.loc[_mine(sites, viewer), "sector"]).value_counts()
    return str(viewer.agency), str(counts.index[0]) if len(counts) else ""


# --------------------------------------------------------------------------------------


def render() -> None:
    """Draw the Exchange page."""
    viewer = shell.viewer()
    st.title("Exchange")
    st.caption(
        "Offer your agency's spare space, ask for space, and agree matches with other "
        "agencies: proposed, offered by the space's holder, accepted by the requester, then "
        "completed, when the space moves (every page and the plan see it)."
    )
    _show_message()
    if not viewer.key:
        st.info(md(_NO_AGENCY))
    try:
        found = _list("matches", viewer)
        offers = _list("offers", viewer)
        disposals = _list("disposals", viewer)
        corrections = _list("amendments", viewer)
    except AssetmapError as exc:
        st.error(f"The exchange could not be read: {md(exc)}")
        return
    waiting = int(found["waiting_on_you"].astype(bool).sum()) if len(found) else 0
    cols = st.columns(3)
    cols[0].metric("Waiting on you", f"{waiting:,}")
    cols[1].metric("Your matches", f"{len(found):,}")
    cols[2].metric("Offers you may see", f"{len(offers):,}")
    sections: list[tuple[Callable[..., None], tuple]] = [
        (_inbox_section, (viewer, found)),
        (_offers_section, (viewer, offers)),
        (_requests_section, (viewer, offers)),
        (_first_refusal_section, (viewer, disposals)),
        (_corrections_section, (viewer, corrections)),
    ]
    for draw, args in sections:
        try:
            draw(*args)
        except AssetmapError as exc:
            st.error(md(exc))
