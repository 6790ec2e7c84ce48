"""First refusal: a site declared surplus for disposal is offered to every public body first.

As the Register of Surplus Public Sector Land has it, land and buildings declared
surplus are offered to the other public bodies for 40 working days before they may
go to open sale. A site declared for disposal (:func:`declare_disposal`) is an offer of
kind ``"disposal"`` in the state ``"first refusal"``, listed like any offer (an offer on
a restricted site only if its agency marked it open). Its window ends on the 40th
working day after the day it was declared (:func:`window_end`: Saturdays, Sundays and
England and Wales bank holidays are not working days); other agencies record their
interest meanwhile (:func:`express_interest`), and from the next day its agency may
mark it for open sale (:func:`mark_open_sale`). :func:`disposals` lists them.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..access import Viewer, agency_key
from ..errors import ConflictError, InvalidArgumentError, PermissionDeniedError
from ..store.interface import INTEREST_COLUMNS, OFFER_COLUMNS, ExchangeChange, conform
from . import _clock
from ._calendar import FIRST_REFUSAL_WORKING_DAYS, window_end, working_days_left
from ._ids import new_id
from .disclosure import (
    audit_move,
    own_site,
    refusals_audited,
    require_agency,
    seen_sites,
    visible_offers,
)
from .offers import (
    _check_terms,
    _stored_offer,
    check_holder,
    check_version,
    declaration,
    offer_row,
)

__all__ = [
    "DISPOSAL_COLUMNS",
    "FIRST_REFUSAL_WORKING_DAYS",
    "declare_disposal",
    "disposals",
    "express_interest",
    "mark_open_sale",
    "window_end",
    "working_days_left",
]

#: The columns of :func:`disposals`.
DISPOSAL_COLUMNS: dict[str, str] = {
    "offer_id": "str",
    "agency": "str",
    "area": "str",
    "site_name": "str",
    "declared_on": "str",
    "window_ends": "str",
    "working_days_left": "int64",
    "state": "str",
    "interest": "int64",
    "version": "int64",
}


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def declare_disposal(
    store,
    viewer: Viewer | None,
    site_id: str,
    *,
    terms: str = "",
    contact: str = "",
    open: bool = False,
    source_file: str | None = None,
    today: dt.date | None = None,
) -> str:
    """Declare one of the viewer's agency's sites surplus for disposal; return the offer's id.

    The offer is of kind ``"disposal"``, ``"first refusal"`` from ``today`` (default:
    today) to :func:`window_end`. Declaring a site already declared changes its terms,
    contact and openness only: the window keeps its dates.

    Raises
    ------
    InvalidArgumentError
        Values that cannot be used.
    PermissionDeniedError
        No agency, or another agency's site.
    DataNotFoundError
        No site of that id the viewer may see.
    ConflictError
        Someone changed the offer first; nothing was written.
    """
    from .._validate import raise_if_any

    with refusals_audited(store, viewer, f"disposal of site {site_id}"):
        viewer = require_agency(viewer, "declare a site for disposal")
        problems: list[str] = []
        if today is not None and not isinstance(today, dt.date):
            problems.append(f"today={today!r} is not valid; expected a date")
        words = _check_terms(terms=terms, contact=contact, open=open, problems=problems)
        raise_if_any(problems)
        site = own_site(
            seen_sites(store, viewer),
            viewer,
            site_id,
            source_file=source_file,
            doing="declare it for disposal",
        )
        # no use is stored: the offers list shows the site's to those who may see the site
        before, offer_id, declared = declaration(store, site, "disposal", today=today)
        row, link = offer_row(
            offer_id=offer_id,
            kind="disposal",
            site=site,
            viewer=viewer,
            sqft=0.0,
            terms=words,
            state=str(before["state"]) if before is not None else "first refusal",
            declared_on=declared,
            before=before,
        )
        rows = {"offers": row}
        if link is not None:
            rows["offer_sites"] = link
        store.exchange_write(ExchangeChange(str(site["source_owner"]), rows=rows))
    end = window_end(dt.date.fromisoformat(declared))
    verb = "changed" if before is not None else "declared"
    audit_move(
        store,
        viewer,
        f"disposal {offer_id} {verb}: site {site_id}, first refusal until {end.isoformat()}",
    )
    return offer_id


def _disposal(store, viewer: Viewer, offer_id: object) -> tuple[pd.Series, pd.Series]:
    offer, seen = _stored_offer(store, viewer, offer_id)
    if offer["kind"] != "disposal":
        raise InvalidArgumentError(
            f"Offer {offer['offer_id']} is an offer of space, not a site declared for disposal."
        )
    return offer, seen


def express_interest(store, viewer: Viewer | None, offer_id: str, *, note: str = "") -> str:
    """Record the viewer's agency's interest in a site declared for disposal; return its id.

    Any agency but the holder may, during the window of first refusal. Expressing
    interest again changes the note of the agency's interest (the same id).

    Raises
    ------
    PermissionDeniedError
        No agency, or the holder's own offer.
    DataNotFoundError
        No offer of that id the viewer may see.
    InvalidArgumentError
        Not a disposal, or its window of first refusal is over.
    """
    with refusals_audited(store, viewer, f"interest in {offer_id}"):
        viewer = require_agency(viewer, "express interest")
        if not isinstance(note, str):
            raise InvalidArgumentError(f"note={note!r} is not valid; expected text")
        offer, _ = _disposal(store, viewer, offer_id)
        if agency_key(offer["agency"]) == viewer.key:
            raise PermissionDeniedError(
                f"Offer {offer['offer_id']} is your own agency's: other agencies express "
                "interest in it."
            )
        today = _clock.today()
        declared = _date(offer["declared_on"]) or today
        end = window_end(declared)
        if offer["state"] != "first refusal" or today > end:
            raise InvalidArgumentError(
                f"Offer {offer['offer_id']} is {offer['state']}: its first-refusal window "
                f"ended on {end.isoformat()}, so interest is no longer recorded."
            )
        interest = store.exchange("interest")
        mine = interest[
            (interest["offer_id"] == str(offer["offer_id"]))
            & (interest["agency"].map(agency_key) == viewer.key)
        ]
        row = {
            "interest_id": new_id("I"),
            "offer_id": str(offer["offer_id"]),
            "agency": str(viewer.agency),
            "by": viewer.user,
            "at": _clock.now(),
            "note": " ".join(note.split()),
            "version": 1,
        }
        if len(mine):
            row["interest_id"] = str(mine["interest_id"].iloc[-1])
            row["version"] = int(mine["version"].iloc[-1]) + 1
        store.exchange_write(
            ExchangeChange(
                str(viewer.agency),
                rows={"interest": conform(pd.DataFrame([row]), INTEREST_COLUMNS)},
            )
        )
    audit_move(store, viewer, f"interest {row['interest_id']} in {offer['offer_id']} recorded")
    return str(row["interest_id"])


def mark_open_sale(
    store,
    viewer: Viewer | None,
    offer_id: str,
    *,
    version: int,
    today: dt.date | None = None,
) -> None:
    """Mark a site declared for disposal for open sale, once its first refusal is over.

    Raises
    ------
    PermissionDeniedError
        No agency, or another agency's offer.
    DataNotFoundError
        No offer of that id the viewer may see.
    InvalidArgumentError
        Not a disposal, or its window of first refusal not over yet (the message gives
        the date from which it may be).
    ConflictError
        The offer changed since ``version``; nothing changed.
    """
    with refusals_audited(store, viewer, f"open sale of {offer_id}"):
        viewer = require_agency(viewer, "mark a site for open sale")
        offer, _ = _disposal(store, viewer, offer_id)
        check_holder(offer, viewer, "mark it for open sale")
        check_version(offer, version)
        if offer["state"] != "first refusal":
            raise ConflictError(f"Offer {offer['offer_id']} is {offer['state']}; nothing changed.")
        today = today or _clock.today()
        end = window_end(_date(offer["declared_on"]) or today)
        if today <= end:
            raise InvalidArgumentError(
                f"Offer {offer['offer_id']} is in its first-refusal window until "
                f"{end.isoformat()}: it may be marked for open sale from "
                f"{(end + dt.timedelta(days=1)).isoformat()}."
            )
        changed = offer.to_frame().T.copy()
        changed["state"] = "open sale"
        changed["updated_at"] = _clock.now()
        changed["updated_by"] = viewer.user
        changed["version"] = int(offer["version"]) + 1
        store.exchange_write(
            ExchangeChange(
                str(offer["owner"]),
                rows={"offers": conform(changed.reset_index(drop=True), OFFER_COLUMNS)},
            )
        )
    audit_move(store, viewer, f"disposal {offer['offer_id']} marked for open sale")


def disposals(store, viewer: Viewer | None, *, today: dt.date | None = None) -> pd.DataFrame:
    """Return the sites declared for disposal that ``viewer`` may see (not withdrawn).

    Returns
    -------
    pandas.DataFrame
        :data:`DISPOSAL_COLUMNS`, by declaration date then id: ``site_name`` only where
        the viewer may see the site; ``working_days_left`` of first refusal after
        ``today``; ``interest`` the expressions of interest the viewer may see (every
        agency's for the holder, its own, 0 or 1, for anyone else).
    """
    today = today or _clock.today()
    sites = seen_sites(store, viewer)
    seen = visible_offers(store.exchange("offers"), store.exchange("offer_sites"), sites, viewer)
    seen = seen[(seen["kind"] == "disposal") & (seen["state"] != "withdrawn")]
    if not len(seen):
        return conform(pd.DataFrame(), DISPOSAL_COLUMNS)
    keyed = sites.assign(
        _key=sites["site_id"].astype(str)
        + "\x1f"
        + sites["source_file"].astype(str)
        + "\x1f"
        + sites["source_owner"].astype(str)
    ).drop_duplicates("_key", keep="last")
    names = keyed.set_index("_key")["name"].astype(str)
    key = seen["site_id"] + "\x1f" + seen["source_file"] + "\x1f" + seen["source_owner"]
    interest = store.exchange("interest")
    own_key = viewer.key if viewer is not None else ""
    rows = []
    for (_, offer), k in zip(seen.iterrows(), key, strict=True):
        declared = _date(offer["declared_on"]) or today
        end = window_end(declared)
        held = agency_key(offer["agency"]) == own_key and bool(own_key)
        of = interest[interest["offer_id"] == offer["offer_id"]]
        counted = of if held else of[of["agency"].map(agency_key) == own_key] if own_key else of[:0]
        rows.append(
            {
                "offer_id": offer["offer_id"],
                "agency": offer["agency"],
                "area": offer["area"],
                "site_name": names.get(k, "") if offer["seen"] else "",
                "declared_on": offer["declared_on"],
                "window_ends": end.isoformat(),
                "working_days_left": working_days_left(end, today)
                if offer["state"] == "first refusal"
                else 0,
                "state": offer["state"],
                "interest": len(counted),
                "version": int(offer["version"]) if offer["seen"] else 0,
            }
        )
    out = pd.DataFrame(rows).sort_values(["declared_on", "offer_id"], kind="stable")
    return conform(out.reset_index(drop=True), DISPOSAL_COLUMNS)
