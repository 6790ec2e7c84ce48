"""Offers of spare space: the register's figures and the offers agencies make in assetmap.

One list (:func:`offers`) holds both. A register offer is a site with spare space
(``surplus_sqft`` above 0) in its register, and no live offer made in assetmap on it;
its id is made from the site's source and id (:func:`~assetmap.exchange._ids.register_offer_id`),
so it survives a re-import. An app offer is declared by the site's own agency
(:func:`declare_offer`) and withdrawn by it (:func:`withdraw_offer`); its spare space is
written through to the site's ``surplus_sqft`` (and remembered as an amendment, so a
re-import of the register keeps it), so that every page and the plan see it.
What another agency sees of an offer is :mod:`assetmap.exchange.disclosure`'s rule.
"""

from __future__ import annotations

import datetime as dt
import math
from numbers import Real

import numpy as np
import pandas as pd

from ..access import Viewer, agency_key, may_remove_source
from ..errors import ConflictError, InvalidArgumentError, PermissionDeniedError
from ..store.interface import OFFER_COLUMNS, OFFER_SITE_COLUMNS, ExchangeChange, conform
from . import _clock
from ._ids import new_id, register_offer_id
from ._rows import field_change
from .disclosure import (
    LIVE_STATES,
    SITE_KEYS,
    audit_move,
    no_offer,
    own_site,
    refusals_audited,
    require_agency,
    seen_sites,
    visible_offers,
)

__all__ = [
    "OFFER_LIST_COLUMNS",
    "area_of",
    "check_date",
    "declare_offer",
    "find_offer",
    "offers",
    "withdraw_offer",
]

#: The columns of :func:`offers`, with their types.
OFFER_LIST_COLUMNS: dict[str, str] = {
    "offer_id": "str",
    "origin": "str",
    "kind": "str",
    "agency": "str",
    "sector": "str",
    "sqft": "float64",
    "use": "str",
    "available_from": "str",
    "available_until": "str",
    "terms": "str",
    "contact": "str",
    "open": "str",
    "area": "str",
    "state": "str",
    "declared_on": "str",
    "window_ends": "str",
    "site_id": "str",
    "site_name": "str",
    "postcode": "str",
    "source_file": "str",
    "source_owner": "str",
    "easting": "float64",
    "northing": "float64",
    "version": "int64",
}

#: Where an app offer comes from, as :func:`offers` says it.
APP_ORIGIN = "entered in assetmap"


def area_of(postcodes: pd.Series) -> pd.Series:
    """Return the local authority district each postcode is in (``""`` where unknown).

    The district's name where known (``"Maidstone"``), else its ONS code; from the
    bundled postcode directory (no boundaries are built).
    """
    from ..errors import DataNotFoundError as Missing
    from ..national import authority_name
    from ..postcodes import lookup_postcodes

    postcodes = postcodes.fillna("").astype(str)
    if not len(postcodes) or not (postcodes.str.strip() != "").any():
        return pd.Series("", index=postcodes.index, dtype=object)
    try:
        codes = lookup_postcodes(postcodes)["district"].fillna("").astype(str)
    except Missing:  # no postcode directory here: the area is unknown, nothing else is
        return pd.Series("", index=postcodes.index, dtype=object)
    names = authority_name(codes)
    return names.where(names != "", codes).astype(object)


def check_date(name: str, value: object, problems: list[str]) -> str:
    """Return ``value`` as an ISO date (``""`` for none); a problem if it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        problems.append(f"{name}={value!r} is not valid; expected a date as YYYY-MM-DD")
        return ""


def _text(name: str, value: object, problems: list[str]) -> str:
    if not isinstance(value, str):
        problems.append(f"{name}={value!r} is not valid; expected text")
        return ""
    return " ".join(value.split())


def _check_sqft(value: object, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        problems.append(f"sqft={value!r} is not valid; expected a number of square feet above 0")
        return 0.0
    if value <= 0:
        problems.append(
            f"sqft={value!r} is not valid; expected a number of square feet above 0 "
            "(to offer none, withdraw the offer)"
        )
    return float(value)


def _check_terms(
    *,
    use: object = "",
    available_from: object = "",
    available_until: object = "",
    terms: object = "",
    contact: object = "",
    open: object = False,
    problems: list[str],
) -> dict[str, str]:
    """Check an offer's words and dates; return them as stored."""
    start = check_date("available_from", available_from, problems)
    until = check_date("available_until", available_until, problems)
    if start and until and until < start:
        problems.append(
            f"available_until={until!r} is before available_from={start!r}; expected a later date"
        )
    if not isinstance(open, bool):
        problems.append(f"open={open!r} is not valid; expected True or False")
    return {
        "use": _text("use", use, problems),
        "available_from": start,
        "available_until": until,
        "terms": _text("terms", terms, problems),
        "contact": _text("contact", contact, problems),
        "open": "yes" if open is True else "no",
    }


def _window_text(declared_on: str) -> str:
    from ._calendar import window_end

    try:
        return window_end(dt.date.fromisoformat(declared_on)).isoformat()
    except ValueError:
        return ""


def offers(store, viewer: Viewer | None, *, today: dt.date | None = None) -> pd.DataFrame:
    """Return every live offer ``viewer`` may see: the registers' and those made in assetmap.

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who is looking (see :mod:`assetmap.exchange.disclosure` for what each sees).
    today
        The date the offers are listed on (default: today): a space offer whose
        ``available_until`` is before it is over, and not listed.

    Returns
    -------
    pandas.DataFrame
        :data:`OFFER_LIST_COLUMNS`, numbered from 0: app offers (``origin``
        ``"entered in assetmap"``) first, then register offers (``origin``
        ``"register <source file>"``, ``version`` 0), each by agency and id. The site's
        columns are ``""`` (points NaN) for an open offer on a site the viewer may
        not see, and its ``version`` 0 (only the offer's own agency moves it);
        ``window_ends`` is a disposal's last day of first refusal.
    """
    today = today or _clock.today()
    sites = seen_sites(store, viewer)
    app = visible_offers(store.exchange("offers"), store.exchange("offer_sites"), sites, viewer)
    live = app["state"].isin(LIVE_STATES).to_numpy(bool)
    space = (app["kind"] == "space").to_numpy(bool)
    until = app["available_until"].astype(str)
    over = space & (until != "").to_numpy(bool) & (until < today.isoformat()).to_numpy(bool)
    listed = live & (~space | (app["sqft"].fillna(0) > 0).to_numpy(bool)) & ~over
    taken = set(
        (app.loc[live & space, list(SITE_KEYS)].astype(str).agg("\x1f".join, axis=1))
        if (live & space).any()
        else ()
    )
    app = app[listed].reset_index(drop=True)
    app_rows = _app_rows(app, sites)
    register = _register_rows(sites, taken)
    out = pd.concat([app_rows, register], ignore_index=True) if len(register) else app_rows
    return conform(out.reset_index(drop=True), OFFER_LIST_COLUMNS)


def _site_details(sites: pd.DataFrame) -> pd.DataFrame:
    """Return the sites' name, postcode and point, by their key."""
    keyed = sites.assign(
        _key=sites["site_id"].astype(str)
        + "\x1f"
        + sites["source_file"].astype(str)
        + "\x1f"
        + sites["source_owner"].astype(str)
    )
    points = keyed.geometry
    return pd.DataFrame(
        {
            "site_name": keyed["name"].astype(str).to_numpy(),
            "postcode": keyed["postcode"].astype(str).to_numpy(),
            "site_use": keyed["use"].fillna("").astype(str).to_numpy(),
            "easting": points.x.to_numpy() if len(keyed) else np.zeros(0),
            "northing": points.y.to_numpy() if len(keyed) else np.zeros(0),
        },
        index=keyed["_key"].to_numpy(),
    )


def _app_rows(app: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    details = _site_details(sites)
    details = details[~details.index.duplicated(keep="last")]
    key = app[list(SITE_KEYS)].astype(str).agg("\x1f".join, axis=1) if len(app) else None
    out = app.copy()
    out["origin"] = APP_ORIGIN
    out["window_ends"] = [
        _window_text(d) if k == "disposal" else ""
        for k, d in zip(out["kind"], out["declared_on"].astype(str), strict=True)
    ]
    seen = out["seen"].to_numpy(bool)
    for column in ("site_name", "postcode", "easting", "northing"):
        values = key.map(details[column]) if key is not None else pd.Series(dtype=object)
        blank = "" if column in ("site_name", "postcode") else np.nan
        out[column] = values.where(seen, blank) if len(out) else values
        if column in ("site_name", "postcode"):
            out[column] = out[column].fillna("")
    # the offer keeps only the use its agency typed; a blank one is filled from the site
    # for a viewer who may see the site (and so its use), never for another (#17)
    site_use = key.map(details["site_use"]).astype(object) if key is not None else None
    blank_use = (out["use"].fillna("").astype(str) == "").to_numpy(bool) & seen
    if site_use is not None and blank_use.any():
        out.loc[blank_use, "use"] = site_use[blank_use].fillna("").to_numpy()
    out["version"] = out["version"].where(seen, 0)  # only those who may move it need it
    out = out.sort_values(["agency", "offer_id"], kind="stable")
    return conform(out.reset_index(drop=True), OFFER_LIST_COLUMNS)


def _register_rows(sites: pd.DataFrame, taken: set[str]) -> pd.DataFrame:
    spare = sites[sites["surplus_sqft"].fillna(0).to_numpy(float) > 0]
    if not len(spare):
        return conform(pd.DataFrame(), OFFER_LIST_COLUMNS)
    key = (
        spare["site_id"].astype(str)
        + "\x1f"
        + spare["source_file"].astype(str)
        + "\x1f"
        + spare["source_owner"].astype(str)
    )
    spare = spare[~key.isin(taken).to_numpy(bool)]
    if not len(spare):
        return conform(pd.DataFrame(), OFFER_LIST_COLUMNS)
    out = pd.DataFrame(
        {
            "offer_id": [
                register_offer_id(str(o), str(f), str(s))
                for o, f, s in zip(
                    spare["source_owner"], spare["source_file"], spare["site_id"], strict=True
                )
            ],
            "origin": "register " + spare["source_file"].astype(str).to_numpy(),
            "kind": "space",
            "agency": spare["agency"].astype(str).to_numpy(),
            "sector": spare["sector"].astype(str).to_numpy(),
            "sqft": spare["surplus_sqft"].to_numpy(float),
            "use": spare["use"].astype(str).to_numpy(),
            "open": "no",
            "area": area_of(spare["postcode"].reset_index(drop=True)).to_numpy(),
            "state": "open",
            "site_id": spare["site_id"].astype(str).to_numpy(),
            "site_name": spare["name"].astype(str).to_numpy(),
            "postcode": spare["postcode"].astype(str).to_numpy(),
            "source_file": spare["source_file"].astype(str).to_numpy(),
            "source_owner": spare["source_owner"].astype(str).to_numpy(),
            "easting": spare.geometry.x.to_numpy(),
            "northing": spare.geometry.y.to_numpy(),
            "version": 0,
        }
    )
    out = out.sort_values(["agency", "offer_id"], kind="stable")
    return conform(out.reset_index(drop=True), OFFER_LIST_COLUMNS)


def find_offer(store, viewer: Viewer | None, offer_id: object) -> pd.Series:
    """Return the offer ``offer_id`` as ``viewer`` may see it (every state, not just live).

    A register offer (``R...``) is found among the sites the viewer may see; an app
    offer as :func:`~assetmap.exchange.disclosure.visible_offers` shows it, with
    ``origin`` and, where the site is seen, ``site_name``.

    Raises
    ------
    DataNotFoundError
        No such offer, or one the viewer may not know of (the same message).
    """
    wanted = str(offer_id).strip()
    sites = seen_sites(store, viewer)
    if wanted.startswith("R"):
        register = _register_rows(sites, set())
        hit = register[register["offer_id"] == wanted]
        if len(hit):
            return hit.iloc[0]
        raise no_offer(offer_id)
    app = visible_offers(store.exchange("offers"), store.exchange("offer_sites"), sites, viewer)
    app = app[app["offer_id"] == wanted]
    if not len(app):
        raise no_offer(offer_id)
    return _app_rows(app, sites).assign(seen=app["seen"].to_numpy(bool)).iloc[0]


def _live_offer_on(store, site: pd.Series, kind: str) -> pd.Series | None:
    """Return the live offer of ``kind`` on ``site`` (the latest), or ``None``."""
    table = store.exchange("offers")
    links = store.exchange("offer_sites")
    on = links[
        (links["site_id"] == str(site["site_id"]))
        & (links["source_file"] == str(site["source_file"]))
        & (links["source_owner"] == str(site["source_owner"]))
    ]["offer_id"]
    live = table[
        table["offer_id"].isin(on) & (table["kind"] == kind) & table["state"].isin(LIVE_STATES)
    ]
    return live.iloc[-1] if len(live) else None


def declaration(
    store, site: pd.Series, kind: str, *, today: dt.date | None
) -> tuple[pd.Series | None, str, str]:
    """Return the live offer of ``kind`` on ``site`` (or ``None``), the id and the date.

    Declaring again changes the live offer: its id and declaration date stand. Else
    the offer is new: a new id, declared ``today`` (default: today).
    """
    before = _live_offer_on(store, site, kind)
    if before is not None:
        return before, str(before["offer_id"]), str(before["declared_on"])
    return None, new_id("O"), (today or _clock.today()).isoformat()


def offer_row(
    *,
    offer_id: str,
    kind: str,
    site: pd.Series,
    viewer: Viewer,
    sqft: float,
    terms: dict[str, str],
    state: str,
    declared_on: str,
    before: pd.Series | None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Return the offer's row (new, or ``before`` changed) and its new ``offer_sites`` row."""
    at = _clock.now()
    row = {
        "offer_id": offer_id,
        "kind": kind,
        "owner": str(site["source_owner"]),
        "agency": str(site["agency"]),
        "sector": str(site["sector"]),
        "sqft": sqft,
        **terms,
        "area": str(area_of(pd.Series([site["postcode"]])).iloc[0]),
        "state": state,
        "declared_on": declared_on,
        "created_at": at,
        "created_by": viewer.user,
        "updated_at": at,
        "updated_by": viewer.user,
        "version": 1,
    }
    link = None
    if before is not None:
        row["created_at"] = str(before["created_at"])
        row["created_by"] = str(before["created_by"])
        row["version"] = int(before["version"]) + 1
    else:
        link = conform(
            pd.DataFrame(
                [
                    {
                        "offer_id": offer_id,
                        "site_id": str(site["site_id"]),
                        "source_file": str(site["source_file"]),
                        "source_owner": str(site["source_owner"]),
                        "version": 1,
                    }
                ]
            ),
            OFFER_SITE_COLUMNS,
        )
    return conform(pd.DataFrame([row]), OFFER_COLUMNS), link


def declare_offer(
    store,
    viewer: Viewer | None,
    site_id: str,
    *,
    sqft: float,
    use: str = "",
    available_from: str | dt.date = "",
    available_until: str | dt.date = "",
    terms: str = "",
    contact: str = "",
    open: bool = False,
    source_file: str | None = None,
    today: dt.date | None = None,
) -> str:
    """Offer spare space at one of the viewer's agency's sites; return the offer's id.

    Declaring again on a site with a live offer of space changes that offer (its
    version goes up by one). The space is written through to the site's
    ``surplus_sqft``, with an amendment that keeps it over a re-import.

    Parameters
    ----------
    store, viewer
        The estate store, and who offers (the site's own agency).
    site_id
        The site, as its register names it.
    sqft
        The spare space, square feet (above 0).
    use, available_from, available_until, terms, contact
        What the space suits (stored as typed; where blank, :func:`offers` shows
        the site's use to those who may see the site), when (ISO dates, or
        ``""``), on what terms and whom to ask.
    open
        Show the offer to every agency even if the site is restricted (only the
        offer's own fields, never the site's: see :mod:`assetmap.exchange.disclosure`).
    source_file
        The site's register, where several of the agency's registers hold ``site_id``.
    today
        The date the offer is declared on (default: today).

    Returns
    -------
    str
        The offer's id (``"O"`` and 16 hex digits).

    Raises
    ------
    InvalidArgumentError
        Values that cannot be used (every problem listed).
    PermissionDeniedError
        No agency, or another agency's site.
    DataNotFoundError
        No site of that id the viewer may see.
    ConflictError
        Someone changed the offer first; nothing was written.
    """
    from .._validate import raise_if_any

    with refusals_audited(store, viewer, f"offer at site {site_id}"):
        viewer = require_agency(viewer, "offer space")
        problems: list[str] = []
        space = _check_sqft(sqft, problems)
        words = _check_terms(
            use=use,
            available_from=available_from,
            available_until=available_until,
            terms=terms,
            contact=contact,
            open=open,
            problems=problems,
        )
        raise_if_any(problems)
        site = own_site(
            seen_sites(store, viewer),
            viewer,
            site_id,
            source_file=source_file,
            doing="offer its space",
        )
        # the amendments are read before the live offer: a declaration made at the same
        # moment is then either seen (and changed) or refused by the store's one standing
        # amendment of a field, never a second live offer on the site
        stored_amendments = store.exchange("amendments")
        before, offer_id, declared = declaration(store, site, "space", today=today)
        row, link = offer_row(
            offer_id=offer_id,
            kind="space",
            site=site,
            viewer=viewer,
            sqft=space,
            terms=words,
            state="open",
            declared_on=declared,
            before=before,
        )
        amendments, edit = _surplus_change(
            stored_amendments, site, viewer, space, reason=f"offer {offer_id}"
        )
        rows = {"offers": row, "amendments": amendments}
        if link is not None:
            rows["offer_sites"] = link
        store.exchange_write(ExchangeChange(str(site["source_owner"]), rows=rows, edits=edit))
    verb = "changed" if before is not None else "declared"
    audit_move(store, viewer, f"offer {offer_id} {verb}: {space:,.0f} sq ft at site {site_id}")
    return offer_id


def _stored_offer(store, viewer: Viewer, offer_id: object) -> tuple[pd.Series, pd.Series]:
    """Return the stored offer and its row as the viewer sees it (unknown/hidden alike)."""
    seen = find_offer(store, viewer, offer_id)
    table = store.exchange("offers")
    stored = table[table["offer_id"] == str(seen["offer_id"])]
    if not len(stored):
        raise no_offer(offer_id)
    return stored.iloc[-1], seen


def check_holder(offer: pd.Series, viewer: Viewer, doing: str) -> None:
    """Refuse ``doing`` unless ``viewer`` is the offer's agency, and may change its source."""
    if agency_key(offer["agency"]) != viewer.key or not may_remove_source(offer["owner"], viewer):
        raise PermissionDeniedError(
            f"Offer {offer['offer_id']} is {offer['agency']}'s: only {offer['agency']} may {doing}."
        )


def check_version(offer: pd.Series, version: object, what: str = "Offer") -> None:
    """Refuse a change made on a version of the offer that is no longer the stored one."""
    if isinstance(version, bool) or not isinstance(version, int | np.integer):
        raise InvalidArgumentError(
            f"version={version!r} is not valid; expected the offer's version as shown (a whole "
            "number)"
        )
    if int(version) != int(offer["version"]):
        when = str(offer["updated_at"]).replace("T", " ").replace("+00:00", "")
        raise ConflictError(
            f"{what} {offer['offer_id']} was changed by {offer['updated_by']} at {when} UTC "
            f"(it is now {offer['state']}, version {int(offer['version'])}); nothing changed."
        )


def withdraw_offer(store, viewer: Viewer | None, offer_id: str, *, version: int) -> None:
    """Withdraw an offer of the viewer's agency (at the ``version`` the viewer read).

    An app offer of space becomes ``withdrawn`` and its site's ``surplus_sqft`` 0; a
    register offer (``R...``, version 0) is withdrawn by setting its site's
    ``surplus_sqft`` to 0, kept over a re-import as an amendment. A disposal is
    withdrawn the same way (its site is unchanged).

    Raises
    ------
    PermissionDeniedError
        No agency, or another agency's offer.
    DataNotFoundError
        No offer of that id the viewer may see.
    ConflictError
        The offer changed since ``version``, or is withdrawn already; nothing changed.
    """
    with refusals_audited(store, viewer, f"withdraw offer {offer_id}"):
        viewer = require_agency(viewer, "withdraw an offer")
        if str(offer_id).strip().startswith("R"):
            _withdraw_register_offer(store, viewer, offer_id, version)
        else:
            _withdraw_app_offer(store, viewer, offer_id, version)
    audit_move(store, viewer, f"offer {offer_id} withdrawn")


def _withdraw_register_offer(store, viewer: Viewer, offer_id: object, version: object) -> None:
    seen = find_offer(store, viewer, offer_id)
    offer = seen.copy()
    offer["owner"] = seen["source_owner"]
    offer["updated_by"] = "the register"
    offer["updated_at"] = ""
    check_holder(offer, viewer, "withdraw it")
    check_version(offer, version)
    site = _stored_site(store, seen)
    if site is None:
        raise no_offer(offer_id)
    amendments, edit = _surplus_change(
        store.exchange("amendments"),
        site,
        viewer,
        0.0,
        reason=f"register offer {offer_id} withdrawn",
    )
    store.exchange_write(
        ExchangeChange(str(site["source_owner"]), rows={"amendments": amendments}, edits=edit)
    )


def _fields(row: pd.Series) -> dict[str, object]:
    """Return a row as a mapping of its column names."""
    return {str(name): value for name, value in row.items()}


def _surplus_change(
    amendments: pd.DataFrame, site: pd.Series, viewer: Viewer, sqft: float, *, reason: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the amendment rows and the edit that set the site's ``surplus_sqft`` to ``sqft``.

    An offer's space is the site's spare space: declaring an offer writes it through,
    withdrawing one sets it to 0 (see :func:`~assetmap.exchange._rows.field_change`).
    """
    return field_change(
        amendments,
        layer="sites",
        row=_fields(site),
        column="surplus_sqft",
        value=sqft,
        agency=str(viewer.agency),
        by=viewer.user,
        reason=reason,
    )


def _stored_site(store, keys: pd.Series) -> pd.Series | None:
    sites = store.sites()
    hit = sites[
        (sites["site_id"] == str(keys["site_id"]))
        & (sites["source_file"] == str(keys["source_file"]))
        & (sites["source_owner"] == str(keys["source_owner"]))
    ]
    return hit.iloc[0] if len(hit) else None


def _withdraw_app_offer(store, viewer: Viewer, offer_id: object, version: object) -> None:
    offer, seen = _stored_offer(store, viewer, offer_id)
    check_holder(offer, viewer, "withdraw it")
    check_version(offer, version)
    if offer["state"] not in LIVE_STATES:
        raise ConflictError(
            f"Offer {offer['offer_id']} is {offer['state']} already; nothing changed."
        )
    changed = offer.to_frame().T.copy()
    changed["state"] = "withdrawn"
    changed["updated_at"] = _clock.now()
    changed["updated_by"] = viewer.user
    changed["version"] = int(offer["version"]) + 1
    rows = {"offers": conform(changed.reset_index(drop=True), OFFER_COLUMNS)}
    edit = None
    site = _stored_site(store, seen) if seen["site_id"] else None
    if offer["kind"] == "space" and site is not None:
        amendments, edit = _surplus_change(
            store.exchange("amendments"),
            site,
            viewer,
            0.0,
            reason=f"offer {offer['offer_id']} withdrawn",
        )
        rows["amendments"] = amendments
    store.exchange_write(ExchangeChange(str(offer["owner"]), rows=rows, edits=edit))
