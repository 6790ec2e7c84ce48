"""Matches of the space exchange: space of an offer for a request, moved on by its two agencies.

A match is proposed (by the optimal plan, a ranked candidate a user picked, or a
person), offered by the space's holder, accepted by the requester and completed by
either, which moves the space: the site's spare space and the request's need both
shrink in the store (:meth:`~assetmap.store.interface.EstateStore.complete_match`),
so every page, the plan and the command line see it. Declined or withdrawn ends it.
:data:`MOVES` is the whole lifecycle: which move goes from which state to which, by whom.

Only the two agencies of a match (the holder: the site's agency; the requester: the
request's) see it, and only they move it. Every move is made at the version the mover
read: a match changed meanwhile is refused with what happened to it
(:class:`~assetmap.errors.ConflictError`). Every move made and every attempt refused is
written to the audit log (``exchange`` / ``exchange refused``).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from .._validate import one_of
from ..access import Viewer, agency_key, is_restricted, visible_requests, visible_sites
from ..errors import (
    AssetmapError,
    ConflictError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from ..store.interface import MATCH_COLUMNS, EstateStore, ExchangeChange, conform
from . import _clock
from ._ids import new_id
from .disclosure import audit_move, no_offer, refusals_audited, require_agency, seen_sites

__all__ = [
    "FINAL",
    "LIVE",
    "MATCH_LIST_COLUMNS",
    "MOVES",
    "PROPOSED_BY",
    "STATES",
    "inbox",
    "matches",
    "move",
    "propose",
    "propose_from_plan",
]

#: The lifecycle: each move, the state it leads to, and from which states by which party
#: (``holder``: the site's agency; ``requester``: the request's).
MOVES: dict[str, dict] = {
    "offer": {"to": "offered", "from": {"proposed": ("holder",)}},
    "accept": {"to": "accepted", "from": {"offered": ("requester",)}},
    "complete": {"to": "completed", "from": {"accepted": ("holder", "requester")}},
    "decline": {"to": "declined", "from": {"proposed": ("holder",), "offered": ("requester",)}},
    "withdraw": {
        "to": "withdrawn",
        "from": {
            "proposed": ("holder", "requester"),
            "offered": ("holder", "requester"),
            "accepted": ("holder", "requester"),
        },
    },
}
#: Every state of a match, in lifecycle order.
STATES = ("proposed", "offered", "accepted", "completed", "declined", "withdrawn")
#: The states a match never leaves.
FINAL = ("completed", "declined", "withdrawn")
#: The states of a match still under way.
LIVE = tuple(s for s in STATES if s not in FINAL)
#: Who proposed a match: the optimal plan, a ranked candidate a user picked, or a person.
PROPOSED_BY = ("plan", "candidates", "person")
#: What :func:`matches` gives besides the stored columns.
MATCH_LIST_COLUMNS = (
    *MATCH_COLUMNS,
    "role",
    "waiting_on",
    "waiting_on_you",
    "offer_agency",
    "site_name",
    "area",
    "request",
)

#: Each move in the past tense, as the audit log and messages say it.
_DONE = {"offer": "offered", "accept": "accepted", "complete": "completed"}
_DONE |= {"decline": "declined", "withdraw": "withdrawn"}


def _waiting(state: str) -> tuple[str, ...]:
    """Return the parties a match in ``state`` waits on (a move other than withdrawing)."""
    parties: list[str] = []
    for action, rule in MOVES.items():
        if action != "withdraw":
            parties += [p for p in rule["from"].get(state, ()) if p not in parties]
    return tuple(parties)


def _empty() -> pd.DataFrame:
    frame = conform(pd.DataFrame(columns=list(MATCH_COLUMNS)), MATCH_COLUMNS)
    for column in MATCH_LIST_COLUMNS[len(MATCH_COLUMNS) :]:
        frame[column] = pd.Series(dtype=bool if column == "waiting_on_you" else object)
    return frame


def _key3(a: pd.Series, b: pd.Series, c: pd.Series) -> pd.Series:
    return (
        a.fillna("").astype(str)
        + "\x1f"
        + b.fillna("").astype(str)
        + "\x1f"
        + c.fillna("").astype(str)
    )


def matches(store: EstateStore, viewer: Viewer | None) -> pd.DataFrame:
    """Return the matches ``viewer``'s agency is a party to, oldest first.

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who is looking. With no agency, none.

    Returns
    -------
    pandas.DataFrame
        :data:`MATCH_LIST_COLUMNS`: the stored columns, ``role`` (``holder`` or
        ``requester``: the viewer's), ``waiting_on`` (the agency that moves it on
        next, ``""`` when it is over), ``waiting_on_you``, ``offer_agency``,
        ``site_name`` (when the viewer may see the site), ``area`` (the offer's
        district, when known) and ``request`` (the request in words).
    """
    out = _parties_matches(store, viewer)
    if not len(out):
        return _empty()
    sites = _sites_of(store, viewer, out)
    unseen = (sites["name"] == "").to_numpy(dtype=bool)
    out.loc[unseen, ["site_id", "site_file", "site_owner"]] = ""  # (made restricted since)
    out["site_name"] = sites["name"].to_numpy()
    out["area"] = _areas(store, out, sites["postcode"])
    out["request"] = _request_words(store, viewer, out)
    return out[list(MATCH_LIST_COLUMNS)]


def _parties_matches(store: EstateStore, viewer: Viewer | None) -> pd.DataFrame:
    """Return the stored matches of the viewer's agency, with its role and who they wait on."""
    key = viewer.key if viewer is not None else ""
    table = store.exchange("matches")
    if not key or not len(table):
        return table.iloc[:0]
    holder = table["holder"].map(agency_key)
    requester = table["requester"].map(agency_key)
    mine = table[((holder == key) | (requester == key)).to_numpy(dtype=bool)].reset_index(drop=True)
    if not len(mine):
        return mine
    out = mine.copy()
    is_holder = (out["holder"].map(agency_key) == key).to_numpy(dtype=bool)
    out["role"] = np.where(is_holder, "holder", "requester")
    waiting: list[str] = []
    yours: list[bool] = []
    for row, role in zip(out.to_dict("records"), out["role"], strict=True):
        parties = _waiting(str(row["state"]))
        names = [str(row["holder"] if p == "holder" else row["requester"]) for p in parties]
        waiting.append(" or ".join(names))
        yours.append(role in parties)
    out["waiting_on"] = waiting
    out["waiting_on_you"] = np.array(yours, dtype=bool)
    out["offer_agency"] = out["holder"]
    return out


def _sites_of(store: EstateStore, viewer: Viewer | None, out: pd.DataFrame) -> pd.DataFrame:
    """Return each match's site name and postcode where the viewer may see the site, else ``""``.

    The site is the match's ``site_*``, else the ``offer_sites`` row of its offer.
    """
    sites = seen_sites(store, viewer)
    seen = pd.DataFrame(
        {
            "name": sites["name"].astype(str).to_numpy(),
            "postcode": sites["postcode"].astype(str).to_numpy(),
        },
        index=_key3(sites["site_id"], sites["source_file"], sites["source_owner"]).to_numpy(),
    )
    seen = seen[~seen.index.duplicated()]
    links = store.exchange("offer_sites").drop_duplicates("offer_id", keep="last")
    links = links.set_index("offer_id")
    keys = []
    for row in out.to_dict("records"):
        if row["site_id"]:
            keys.append("\x1f".join(str(row[c]) for c in ("site_id", "site_file", "site_owner")))
        elif row["offer_id"] in links.index:
            link = links.loc[str(row["offer_id"])]
            keys.append(
                "\x1f".join(str(link[c]) for c in ("site_id", "source_file", "source_owner"))
            )
        else:
            keys.append("")
    return seen.reindex(keys).fillna("").reset_index(drop=True)


def _areas(store: EstateStore, out: pd.DataFrame, postcodes: pd.Series) -> list[str]:
    """Return the district of each match's offer: the app offer's, else its site postcode's."""
    from .offers import area_of

    offers = store.exchange("offers").drop_duplicates("offer_id", keep="last")
    kept = pd.Series(offers["area"].astype(str).to_numpy(), index=offers["offer_id"].astype(str))
    found = area_of(postcodes.reset_index(drop=True))
    return [
        str(kept[o]) if o in kept.index and kept[o] else str(found.iloc[i])
        for i, o in enumerate(out["offer_id"])
    ]


def _request_words(store: EstateStore, viewer: Viewer | None, out: pd.DataFrame) -> list[str]:
    """Return each match's request in words: what, how much, where (when the viewer may see it)."""
    requests = visible_requests(store.requests(), viewer)
    keyed = requests.set_index(
        _key3(requests["request_id"], requests["source_file"], requests["source_owner"])
    )
    keyed = keyed[~keyed.index.duplicated()]
    words = []
    for row in out.to_dict("records"):
        k = "\x1f".join(str(row[c]) for c in ("request_id", "request_file", "request_owner"))
        if k not in keyed.index:
            words.append(f"{row['requester']}: {row['sqft']:,.0f} sq ft")
            continue
        r = keyed.loc[k]
        where = r["postcode"] or r["locality"]
        need = r["space_needed_sqft"]
        need_text = (
            "closed (its space was found)"
            if need == 0
            else f"needs {need:,.0f} sq ft {r['use_class']}"
        )
        words.append(
            f"{r['agency']}: {r['source_ref'] or r['request_id']}, {need_text}"
            + (f" near {where}" if where else "")
        )
    return words


def inbox(store: EstateStore, viewer: Viewer | None) -> pd.DataFrame:
    """Return the viewer's matches, those waiting on the viewer's agency first.

    Then the others under way, then those that are over; the most recently changed
    first within each.
    """
    mine = matches(store, viewer)
    if not len(mine):
        return mine
    order = pd.DataFrame(
        {
            "waiting": ~mine["waiting_on_you"].to_numpy(dtype=bool),
            "over": mine["state"].isin(FINAL).to_numpy(dtype=bool),
            "updated": mine["updated_at"].astype(str),
        }
    )
    order = order.sort_values(["waiting", "over", "updated"], ascending=[True, True, False])
    return mine.loc[order.index].reset_index(drop=True)


# --------------------------------------------------------------------------- propose


def _the_offer(store: EstateStore, viewer: Viewer, offer_id: object) -> pd.Series:
    """Return the offer ``offer_id`` as ``viewer`` sees it in the offers list."""
    from .offers import offers as offer_list

    listed = offer_list(store, viewer)
    hit = listed[listed["offer_id"].astype(str) == str(offer_id).strip()]
    if not len(hit):
        raise no_offer(offer_id)
    return hit.iloc[0]


def _the_request(
    store: EstateStore, viewer: Viewer, request_id: object, request_file: object
) -> pd.Series:
    """Return the request ``request_id`` (of ``request_file``) that ``viewer`` may see."""
    requests = pd.DataFrame(visible_requests(store.requests(), viewer))
    hit = requests[requests["request_id"].astype(str) == str(request_id).strip()]
    if request_file is not None:
        hit = hit[hit["source_file"].astype(str) == str(request_file)]
    if not len(hit):
        where = f" in {request_file}" if request_file is not None else ""
        raise DataNotFoundError(f"There is no space request {request_id}{where} that you can see.")
    if len(hit) > 1:
        files = ", ".join(sorted(hit["source_file"].astype(str).unique()))
        raise InvalidArgumentError(
            f"Request {request_id} is in more than one register ({files}); say which with "
            "request_file (--request-file)."
        )
    return hit.iloc[0]


def _propose_problems(sqft: object, proposed_by: object, note: object) -> list[str]:
    problems = []
    if proposed_by not in PROPOSED_BY:
        problems.append(one_of("proposed_by", proposed_by, PROPOSED_BY))
    if sqft is not None and (
        isinstance(sqft, bool) or not isinstance(sqft, Real) or not np.isfinite(float(sqft))
    ):
        problems.append(f"sqft={sqft!r} is not valid; expected a number of square feet")
    if not isinstance(note, str):
        problems.append(f"note={note!r} is not valid; expected text")
    return problems


def _live_match(store: EstateStore, offer_id: str, request: pd.Series) -> pd.DataFrame:
    table = store.exchange("matches")
    return table[
        (table["offer_id"] == offer_id)
        & (table["request_id"] == str(request["request_id"]))
        & (table["request_file"] == str(request["source_file"]))
        & (table["request_owner"] == str(request["source_owner"]))
        & table["state"].isin(LIVE)
    ]


def propose(
    store: EstateStore,
    viewer: Viewer,
    *,
    offer_id: str,
    request_id: str,
    request_file: str | None = None,
    sqft: float | None = None,
    proposed_by: str = "person",
    note: str = "",
) -> str:
    """Propose a match of an offer's space for a request; return the match's id.

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who proposes: a user of the offer's agency or of the request's.
    offer_id
        The offer, as the offers list gives it (an app offer's ``O...`` or a
        register's ``R...``).
    request_id, request_file
        The request (and its register, when several hold that id).
    sqft
        The space to move; default the smaller of the offer's space and the need.
    proposed_by
        ``"plan"``, ``"candidates"`` or ``"person"`` (:data:`PROPOSED_BY`).
    note
        Words for the other agency.

    Returns
    -------
    str
        The match's id (``"M"`` and 16 hex digits), ``proposed``.

    Raises
    ------
    PermissionDeniedError
        The viewer has no agency, or is neither the offer's agency nor the request's.
    DataNotFoundError
        No such offer or request that the viewer can see (a hidden offer and an
        unknown id get the same message).
    InvalidArgumentError
        A bad argument; space of 0 or less, or more than the offer has; a closed
        request; an agency's own space; a live match of that offer and request.
    """
    what = f"propose offer {offer_id} for request {request_id}"
    with refusals_audited(store, viewer, what):
        require_agency(viewer, "propose a match")
        problems = _propose_problems(sqft, proposed_by, note)
        if problems:
            raise InvalidArgumentError("; ".join(problems))
        offer = _the_offer(store, viewer, offer_id)
        request = _the_request(store, viewer, request_id, request_file)
        row = _proposal(store, viewer, offer, request, sqft, proposed_by, note)
        store.exchange_write(ExchangeChange(writer=str(viewer.agency), rows={"matches": row}))
    match_id = str(row["match_id"].iloc[0])
    audit_move(store, viewer, f"match {match_id} proposed")
    return match_id


def _proposal(
    store: EstateStore,
    viewer: Viewer,
    offer: pd.Series,
    request: pd.Series,
    sqft: float | None,
    proposed_by: str,
    note: str,
) -> pd.DataFrame:
    """Return the new match's row, after the checks of :func:`propose`."""
    holder, requester = str(offer["agency"]), str(request["agency"])
    offer_id, request_id = str(offer["offer_id"]), str(request["request_id"])
    if viewer.key not in (agency_key(holder), agency_key(requester)):
        raise PermissionDeniedError(
            f"Only {holder} (the space) and {requester} (the request) may propose a match "
            f"of offer {offer_id} for request {request_id}."
        )
    if agency_key(holder) == agency_key(requester):
        raise InvalidArgumentError(
            f"Offer {offer_id} is {holder}'s own space: a match is between two agencies."
        )
    have = float(offer["sqft"]) if pd.notna(offer["sqft"]) else 0.0
    need = float(request["space_needed_sqft"])
    if not need > 0:
        raise InvalidArgumentError(f"Request {request_id} is closed: its space was found.")
    size = min(have, need) if sqft is None else float(sqft)
    if size <= 0:
        raise InvalidArgumentError(
            f"Offer {offer_id} has no spare space left to match."
            if sqft is None
            else f"A match must move more than 0 sq ft, not {size:,.0f}."
        )
    if size > have:
        raise InvalidArgumentError(
            f"Offer {offer_id} has {have:,.0f} sq ft spare: a match cannot move {size:,.0f}."
        )
    live = _live_match(store, offer_id, request)
    if len(live):
        raise InvalidArgumentError(
            f"Match {live['match_id'].iloc[0]} of offer {offer_id} for request {request_id} "
            f"is already {live['state'].iloc[0]}: move that one on."
        )
    at = _clock.now()
    row = {
        "match_id": new_id("M"),
        "offer_id": offer_id,
        **_site_named(store, viewer, offer),
        "request_id": request_id,
        "request_file": str(request["source_file"]),
        "request_owner": str(request["source_owner"]),
        "holder": holder,
        "requester": requester,
        "sqft": size,
        "state": "proposed",
        "proposed_by": proposed_by,
        "note": note,
        "created_at": at,
        "created_by": viewer.user,
        "updated_at": at,
        "updated_by": viewer.user,
        "version": 1,
    }
    return conform(pd.DataFrame([row]), MATCH_COLUMNS)


def _restricted_site(store: EstateStore, viewer: Viewer, offer: pd.Series) -> bool:
    """Whether the offer is on a restricted site (that the viewer may see: its own)."""
    if not offer["site_id"]:
        return False  # an open offer on a site the viewer may not see: restricted
    sites = seen_sites(store, viewer)
    hit = sites[
        (sites["site_id"].astype(str) == str(offer["site_id"]))
        & (sites["source_file"].astype(str) == str(offer["source_file"]))
        & (sites["source_owner"].astype(str) == str(offer["source_owner"]))
    ]
    return bool(is_restricted(hit).any())


def _site_named(store: EstateStore, viewer: Viewer, offer: pd.Series) -> dict[str, str]:
    """Return the match's ``site_*``: the offer's site, or ``""`` when it is restricted.

    A match is seen by the other agency, which may not see a restricted site: such a
    site is found through the offer's ``offer_sites`` row, and only an offer its
    agency marked open may be matched at all (any other does not exist for others).
    """
    blank = {"site_id": "", "site_file": "", "site_owner": ""}
    if not offer["site_id"]:
        return blank
    if _restricted_site(store, viewer, offer):
        if str(offer["open"]).strip().lower() != "yes" or str(offer["offer_id"]).startswith("R"):
            raise InvalidArgumentError(
                f"Offer {offer['offer_id']} is on a restricted site and not marked open, so "
                "no other agency may see it: offer the space again marked open to match it."
            )
        return blank
    return {
        "site_id": str(offer["site_id"]),
        "site_file": str(offer["source_file"]),
        "site_owner": str(offer["source_owner"]),
    }


def propose_from_plan(store: EstateStore, viewer: Viewer) -> list[str]:
    """Propose the optimal plan's pairs that the viewer's agency is a party to.

    The plan is the one the command line's ``match`` and the app's plan make
    (:func:`assetmap.matching.find_candidates` then :func:`assetmap.matching.allocate`)
    over the estate the viewer may see, less what no other agency may know of: the
    viewer's own restricted requests, and its own restricted sites with no live offer
    marked open (a person may still propose those explicitly). A pair already
    matched (a live match of that offer and request) is left as it is; a pair refused
    (its refusal audited) does not stop the others.

    Returns
    -------
    list of str
        The ids of the matches proposed (``proposed_by`` ``"plan"``).

    Raises
    ------
    PermissionDeniedError
        The viewer has no agency.
    """
    from ..matching import allocate, find_candidates
    from .offers import offers as offer_list

    with refusals_audited(store, viewer, "propose the plan's matches"):
        require_agency(viewer, "propose matches")
    listed = offer_list(store, viewer)
    listed = listed.assign(_space=listed["kind"] != "space").sort_values("_space", kind="stable")
    offer_of: dict[tuple[str, str, str], str] = {}
    open_of = dict(zip(listed["offer_id"].astype(str), listed["open"].astype(str), strict=True))
    for row in listed.to_dict("records"):
        where = (str(row["site_id"]), str(row["source_file"]), str(row["source_owner"]))
        offer_of.setdefault(where, str(row["offer_id"]))
    sites = _shown_to_others(visible_sites(store.sites(), viewer), viewer, offer_of, open_of)
    requests = visible_requests(store.requests(), viewer)
    requests = requests[~_own_restricted(requests, viewer)].reset_index(drop=True)
    plan = allocate(find_candidates(requests, sites, viewer_agency=viewer.agency))
    proposed = []
    for pair in plan.assignments.to_dict("records"):
        site, request = sites.loc[pair["offer"]], requests.loc[pair["request"]]
        if viewer.key not in (agency_key(site["agency"]), agency_key(request["agency"])):
            continue
        offer_id = offer_of.get(
            (str(site["site_id"]), str(site["source_file"]), str(site["source_owner"]))
        )
        if offer_id is None or len(_live_match(store, offer_id, request)):
            continue
        try:
            made = propose(
                store,
                viewer,
                offer_id=offer_id,
                request_id=str(request["request_id"]),
                request_file=str(request["source_file"]),
                sqft=float(pair["assigned_sqft"]),
                proposed_by="plan",
            )
        except AssetmapError:
            continue  # refused (and its refusal audited): the plan's other pairs go on
        proposed.append(made)
    return proposed


def _own_restricted(rows: pd.DataFrame, viewer: Viewer) -> np.ndarray:
    """Which of ``rows`` are restricted rows of the viewer's own agency."""
    own = np.fromiter((agency_key(a) == viewer.key for a in rows["agency"]), bool, len(rows))
    return is_restricted(rows) & own


def _shown_to_others(
    sites: pd.DataFrame,
    viewer: Viewer,
    offer_of: dict[tuple[str, str, str], str],
    open_of: dict[str, str],
) -> pd.DataFrame:
    """Return ``sites`` less the viewer's own restricted sites with no live offer marked open.

    Another agency may not know of such a site (see :func:`_site_named`): the plan is
    made without it, so what it proposes to the other agency (and what it leaves out)
    is the same as if the site were not there. (A person may still propose on a
    restricted site's offer marked open.)
    """
    hidden = _own_restricted(sites, viewer)
    for at in np.flatnonzero(hidden):
        site = sites.iloc[at]
        where = (str(site["site_id"]), str(site["source_file"]), str(site["source_owner"]))
        offer_id = offer_of.get(where, "")
        if offer_id.startswith("O") and open_of.get(offer_id) == "yes":
            hidden[at] = False
    return sites[~hidden].reset_index(drop=True)


# --------------------------------------------------------------------------- move


def _changed(match: pd.Series) -> ConflictError:
    """Return the error for a match changed since the mover read it: what happened."""
    at = str(match["updated_at"])
    clock = at[11:19] if len(at) >= 19 else at
    return ConflictError(
        f"Match {match['match_id']} was {match['state']} by {match['updated_by']} at "
        f"{clock} UTC; nothing changed."
    )


def _the_match(store: EstateStore, viewer: Viewer, match_id: object) -> pd.Series:
    mine = _parties_matches(store, viewer)
    hit = mine[mine["match_id"] == str(match_id).strip()]
    if not len(hit):
        raise DataNotFoundError(f"There is no match {match_id} that you can see.")
    return hit.iloc[0]


def _move_problems(action: object, version: object, note: object) -> list[str]:
    problems = []
    if action not in MOVES:
        problems.append(one_of("action", action, tuple(MOVES)))
    if isinstance(version, bool) or not isinstance(version, int | np.integer):
        problems.append(f"version={version!r} is not valid; expected the version you read")
    if not isinstance(note, str):
        problems.append(f"note={note!r} is not valid; expected text")
    return problems


def _check_move(match: pd.Series, viewer: Viewer, action: str, version: int) -> None:
    """Refuse a move the match's state, version or the viewer's part does not allow."""
    match_id, state = match["match_id"], match["state"]
    if int(match["version"]) != int(version):
        raise _changed(match)
    if state in FINAL:
        raise InvalidArgumentError(f"Match {match_id} is {state}: it cannot be moved on.")
    allowed = MOVES[action]["from"]
    if state not in allowed:
        raise InvalidArgumentError(
            f"Match {match_id} is {state}: it can be {_DONE[action]} only when it is "
            f"{' or '.join(allowed)}."
        )
    parties = allowed[state]
    if match["role"] not in parties:
        who = " or ".join(
            f"{match[p]} (the {'space' if p == 'holder' else 'request'})" for p in parties
        )
        raise PermissionDeniedError(f"Match {match_id} is {state}: only {who} may {action} it now.")


#: The moves that take a match towards completion: refused once its request is closed.
_ONWARD = ("offer", "accept", "complete")


def _check_request_open(store: EstateStore, viewer: Viewer, match: pd.Series, action: str) -> None:
    """Refuse to move a match on towards completion once its request is closed.

    Another match may have found the request its space first (it completed, and the
    request's need fell to 0): this one can then only be declined or withdrawn. A
    request the mover may not see (:func:`~assetmap.access.visible_requests`) is left
    to the store's completion: whether it is closed is not the mover's to learn.
    """
    requests = visible_requests(store.requests(), viewer)
    hit = requests[
        (requests["request_id"].astype(str) == str(match["request_id"]))
        & (requests["source_file"].astype(str) == str(match["request_file"]))
        & (requests["source_owner"].astype(str) == str(match["request_owner"]))
    ]
    if len(hit) and not float(hit["space_needed_sqft"].fillna(0).max()) > 0:
        raise InvalidArgumentError(
            f"Match {match['match_id']} cannot be {_DONE[action]}: its request "
            f"{match['request_id']} is closed (its space was found); withdraw or decline it."
        )


def move(
    store: EstateStore,
    viewer: Viewer,
    match_id: str,
    action: str,
    *,
    version: int,
    note: str = "",
) -> dict:
    """Move a match on: offer, accept, complete, decline or withdraw it (:data:`MOVES`).

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who moves it: a user of one of its two agencies, the one the move is theirs.
    match_id
        The match.
    action
        One of :data:`MOVES`.
    version
        The match's version as the mover read it (the app and the command line pass
        the one they showed).
    note
        Words for the other agency (kept on the match; the last note stands). The
        store's completion writes no note: a note given with ``complete`` is kept in
        the audit line only.

    Returns
    -------
    dict
        The match after the move: its stored columns, ``role``, ``waiting_on``,
        ``waiting_on_you`` and ``offer_agency`` (see :func:`matches`).

    Raises
    ------
    PermissionDeniedError
        The viewer has no agency, or the move is the other party's.
    DataNotFoundError
        No match of that id that the viewer's agency is a party to.
    InvalidArgumentError
        A bad argument, or a move its state does not allow (a final state allows none),
        or offering, accepting or completing a match whose request is closed.
    ConflictError
        The match changed since ``version`` (the message says how, by whom and when),
        or completing it found less spare space left than it moves; nothing changed.
    """
    with refusals_audited(store, viewer, f"{action} match {match_id}"):
        require_agency(viewer, "move a match on")
        problems = _move_problems(action, version, note)
        if problems:
            raise InvalidArgumentError("; ".join(problems))
        match = _the_match(store, viewer, match_id)
        _check_move(match, viewer, action, version)
        if action in _ONWARD:
            _check_request_open(store, viewer, match, action)
        _write_move(store, viewer, match, action, version, note)
    done = _the_match(store, viewer, match["match_id"]).copy()
    if done["site_id"] and _sites_of(store, viewer, done.to_frame().T)["name"].iloc[0] == "":
        done[["site_id", "site_file", "site_owner"]] = ""  # a site the mover may not see
    said = f" (note: {note})" if note and action == "complete" else ""
    audit_move(store, viewer, f"match {done['match_id']} {done['state']}{said}")
    return done.to_dict()


def _write_move(
    store: EstateStore, viewer: Viewer, match: pd.Series, action: str, version: int, note: str
) -> None:
    """Write the move: the store completes a match; any other move is one match row."""
    at = _clock.now()
    try:
        if action == "complete":
            store.complete_match(
                str(match["match_id"]),
                version=int(version),
                agency=str(viewer.agency),
                by=viewer.user,
                at=at,
            )
            return
        row = match[list(MATCH_COLUMNS)].to_frame().T
        row["state"] = MOVES[action]["to"]
        row["version"] = int(version) + 1
        row["updated_at"] = at
        row["updated_by"] = viewer.user
        if note:
            row["note"] = note
        row = conform(row.reset_index(drop=True), MATCH_COLUMNS)
        store.exchange_write(ExchangeChange(writer=str(viewer.agency), rows={"matches": row}))
    except ConflictError:
        now = store.exchange("matches")
        now = now[now["match_id"] == match["match_id"]]
        if len(now) and int(now["version"].iloc[-1]) != int(version):
            raise _changed(now.iloc[-1]) from None
        raise
