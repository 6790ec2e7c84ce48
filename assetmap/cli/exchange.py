"""The space exchange's commands: ``offer``, ``request``, ``amend``, ``matches``, ``disposal``.

Each runs as the local viewer (:func:`assetmap.access.local_viewer`: the agency is
``$ASSETMAP_AGENCY``) on the store the other commands use (``--store``), under the
rules of :mod:`assetmap.exchange`: only a site's own agency offers, amends or declares
it; only a match's two agencies see and move it; another agency's restricted offer is
shown only if marked open, and then without its site. Every move and every refused
attempt is written to the store's audit log by the engine. ``--json`` prints plain
JSON (a list of records, or the move's result) instead of text. A move takes
``--version N``, the version shown by ``list``; without it, the version read now.
:func:`add_commands` adds the commands to the parser.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._validate import raise_if_any
from .common import STORE_HELP, print_json, viewer

if TYPE_CHECKING:
    import pandas as pd

    from ..store.interface import EstateStore

__all__ = ["add_commands"]

#: The columns each listing prints as text (``--json`` gives every column).
_SHOWN = {
    "offers": [
        "offer_id",
        "kind",
        "agency",
        "sqft",
        "use",
        "area",
        "state",
        "site_name",
        "open",
        "origin",
    ],
    "requests": [
        "request_id",
        "source_ref",
        "agency",
        "space_needed_sqft",
        "use",
        "postcode",
        "needed_by",
        "source_file",
    ],
    "amendments": ["amendment_id", "name", "field", "old", "new", "by", "at", "state", "version"],
    "matches": [
        "match_id",
        "state",
        "sqft",
        "site_name",
        "area",
        "holder",
        "requester",
        "waiting_on",
        "version",
    ],
    "disposals": [
        "offer_id",
        "agency",
        "area",
        "site_name",
        "declared_on",
        "window_ends",
        "working_days_left",
        "state",
        "interest",
        "version",
    ],
}


def _store(args: argparse.Namespace) -> EstateStore:
    """Open the store ``--store`` names, as the local viewer (it need not exist yet)."""
    from ..store import open_store

    return open_store(args.store, viewer=viewer())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a frame's rows as plain JSON records (missing values ``null``)."""
    plain = frame.drop(columns=[c for c in ("geometry",) if c in frame.columns])
    return json.loads(plain.to_json(orient="records", date_format="iso"))


def _listing(args: argparse.Namespace, frame: pd.DataFrame, what: str, empty: str) -> int:
    """Print a listing: JSON records, or a table of :data:`_SHOWN` columns."""
    if args.json:
        print_json(_records(frame))
        return 0
    if not len(frame):
        print(empty)
        return 0
    import pandas as pd

    columns = [c for c in _SHOWN[what] if c in frame.columns]
    shown = frame[columns].copy()
    for column in columns:  # square feet and money as whole numbers, with thousands
        if pd.api.types.is_float_dtype(shown[column].dtype):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    print(shown.to_string(index=False, na_rep=""))
    return 0


def _done(args: argparse.Namespace, result: dict[str, Any], message: str) -> int:
    """Print what a move did: JSON, or one sentence."""
    if args.json:
        print_json(result)
    else:
        print(message)
    return 0


# --------------------------------------------------------------------------- offer


def _cmd_offer_list(args: argparse.Namespace) -> int:
    from ..exchange import offers

    return _listing(
        args,
        offers(_store(args), viewer()),
        "offers",
        "No offers of space that you can see; offer some with `offer declare SITE_ID --sqft N`.",
    )


def _cmd_offer_declare(args: argparse.Namespace) -> int:
    from ..exchange import declare_offer

    offer_id = declare_offer(
        _store(args),
        viewer(),
        args.site_id,
        sqft=args.sqft,
        use=args.use,
        available_from=args.available_from,
        available_until=args.until,
        terms=args.terms,
        contact=args.contact,
        open=args.open,
        source_file=args.source_file,
    )
    return _done(
        args,
        {"offer_id": offer_id, "site_id": args.site_id, "sqft": args.sqft},
        f"Offered {args.sqft:,.0f} sq ft at site {args.site_id}: offer {offer_id}",
    )


def _offer_version(store: EstateStore, offer_id: str, version: int | None) -> int:
    """Return ``version``, else the offer's version read now (0 for an offer not seen)."""
    if version is not None:
        return version
    from ..errors import DataNotFoundError
    from ..exchange import find_offer

    try:
        return int(find_offer(store, viewer(), offer_id)["version"])
    except DataNotFoundError:
        return 0  # the engine says there is no such offer, and audits the attempt


def _version_read(
    version: int | None, listing: Callable[[], pd.DataFrame], column: str, wanted: str
) -> int:
    """Return ``version``, else the version of row ``wanted`` in ``listing()`` read now.

    0 for a row not listed: the engine then says there is no such row, and audits the
    attempt.
    """
    if version is not None:
        return version
    frame = listing()
    hit = frame[frame[column] == wanted]
    return int(hit["version"].iloc[-1]) if len(hit) else 0


def _cmd_offer_withdraw(args: argparse.Namespace) -> int:
    from ..exchange import withdraw_offer

    store = _store(args)
    version = _offer_version(store, args.id, args.version)
    withdraw_offer(store, viewer(), args.id, version=version)
    return _done(args, {"offer_id": args.id, "state": "withdrawn"}, f"Withdrew offer {args.id}")


# --------------------------------------------------------------------------- request


def _cmd_request_list(args: argparse.Namespace) -> int:
    from ..access import visible_requests

    return _listing(
        args,
        visible_requests(_store(args).requests(), viewer()),
        "requests",
        "No requests for space that you can see; save one with "
        "`request save --sqft N --postcode PC`.",
    )


def _request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """Return the request's fields given on the command line (those not given left out)."""
    given = {
        "sqft": args.sqft,
        "postcode": args.postcode,
        "use": args.use,
        "max_distance_m": args.max_distance_m,
        "needed_by": args.needed_by,
        "locality": args.locality,
    }
    return {name: value for name, value in given.items() if value is not None}


def _cmd_request_save(args: argparse.Namespace) -> int:
    from ..exchange import save_request

    fields = _request_fields(args)
    request_id = save_request(_store(args), viewer(), **fields)
    return _done(
        args,
        {"request_id": request_id, **fields},
        f"Saved a request for {args.sqft:,.0f} sq ft near {args.postcode}: request {request_id}",
    )


def _cmd_request_edit(args: argparse.Namespace) -> int:
    from ..exchange import edit_request

    fields = _request_fields(args)
    if not fields:
        raise_if_any(
            [
                "request edit changes nothing; expected one or more of --sqft, --postcode, "
                "--use, --max-distance-m, --needed-by, --locality"
            ]
        )
    edit_request(_store(args), viewer(), args.id, **fields)
    return _done(args, {"request_id": args.id, **fields}, f"Changed request {args.id}")


def _cmd_request_withdraw(args: argparse.Namespace) -> int:
    from ..exchange import withdraw_request

    withdraw_request(_store(args), viewer(), args.id)
    return _done(args, {"request_id": args.id, "state": "withdrawn"}, f"Withdrew request {args.id}")


# --------------------------------------------------------------------------- amend


def _cmd_amend(args: argparse.Namespace) -> int:
    """``amend SITE_ID FIELD VALUE``, ``amend list`` or ``amend withdraw ID``."""
    from .. import exchange as corrections

    words = list(args.words)
    store = _store(args)
    if words == ["list"]:
        return _listing(
            args,
            corrections.amendments(store, viewer()),
            "amendments",
            "No corrections that you can see; correct a site with `amend SITE_ID FIELD VALUE`.",
        )
    if len(words) == 2 and words[0] == "withdraw":
        amendment_id = words[1]
        version = _version_read(
            args.version,
            lambda: corrections.amendments(store, viewer()),
            "amendment_id",
            amendment_id,
        )
        corrections.withdraw_amendment(store, viewer(), amendment_id, version=version)
        return _done(
            args,
            {"amendment_id": amendment_id, "state": "withdrawn"},
            f"Withdrew correction {amendment_id}: the register's value stands again",
        )
    if len(words) != 3:
        raise_if_any(
            [
                f"amend {' '.join(words)!r} is not valid; expected `amend SITE_ID FIELD VALUE`, "
                "`amend list` or `amend withdraw ID`"
            ]
        )
    site_id, field, value = words
    amendment_id = corrections.amend(
        store, viewer(), site_id, field, value, source_file=args.source_file, reason=args.reason
    )
    return _done(
        args,
        {"amendment_id": amendment_id, "site_id": site_id, "field": field, "value": value},
        f"Corrected {field} of site {site_id} to {value}: correction {amendment_id}",
    )


# --------------------------------------------------------------------------- matches


def _matches_listing(args: argparse.Namespace, which: str) -> int:
    from .. import exchange as lifecycle

    frame = getattr(lifecycle, which)(_store(args), viewer())
    empty = (
        "No matches wait on your agency."
        if which == "inbox"
        else "No matches of your agency; propose one with `matches propose --offer --request`."
    )
    return _listing(args, frame, "matches", empty)


def _cmd_matches_propose(args: argparse.Namespace) -> int:
    from .. import exchange as lifecycle

    match_id = lifecycle.propose(
        _store(args),
        viewer(),
        offer_id=args.offer,
        request_id=args.request,
        request_file=args.request_file,
        sqft=args.sqft,
        note=args.note,
    )
    return _done(
        args,
        {"match_id": match_id, "offer_id": args.offer, "request_id": args.request},
        f"Proposed match {match_id} of offer {args.offer} for request {args.request}",
    )


def _cmd_matches_propose_plan(args: argparse.Namespace) -> int:
    from .. import exchange as lifecycle

    proposed = lifecycle.propose_from_plan(_store(args), viewer())
    if args.json:
        print_json({"match_ids": proposed})
    elif proposed:
        print(f"Proposed {len(proposed):,} matches from the plan: {', '.join(proposed)}")
    else:
        print("The plan proposes no new match of your agency.")
    return 0


def _cmd_matches_move(args: argparse.Namespace, *, action: str) -> int:
    from .. import exchange as lifecycle
    from ..store.interface import plain_value

    store = _store(args)
    version = _version_read(
        args.version, lambda: lifecycle.matches(store, viewer()), "match_id", args.id
    )
    done = lifecycle.move(store, viewer(), args.id, action, version=version, note=args.note)
    return _done(
        args,
        {k: plain_value(v) for k, v in done.items()},
        f"Match {args.id} is {done['state']} (version {int(done['version'])})",
    )


# --------------------------------------------------------------------------- disposal


def _cmd_disposal_list(args: argparse.Namespace) -> int:
    from ..exchange import disposals

    return _listing(
        args,
        disposals(_store(args), viewer()),
        "disposals",
        "No sites declared for disposal that you can see; declare one with "
        "`disposal declare SITE_ID`.",
    )


def _cmd_disposal_declare(args: argparse.Namespace) -> int:
    from ..exchange import declare_disposal, disposals

    store = _store(args)
    offer_id = declare_disposal(
        store,
        viewer(),
        args.site_id,
        terms=args.terms,
        contact=args.contact,
        open=args.open,
        source_file=args.source_file,
    )
    listed = disposals(store, viewer())
    row = listed[listed["offer_id"] == offer_id].iloc[0]
    return _done(
        args,
        {
            "offer_id": offer_id,
            "site_id": args.site_id,
            "state": str(row["state"]),
            "window_ends": str(row["window_ends"]),
        },
        f"Declared site {args.site_id} for disposal: offer {offer_id}, {row['state']}; other "
        f"public bodies may express interest until {row['window_ends']}",
    )


def _cmd_disposal_interest(args: argparse.Namespace) -> int:
    from ..exchange import express_interest

    interest_id = express_interest(_store(args), viewer(), args.id, note=args.note)
    return _done(
        args,
        {"interest_id": interest_id, "offer_id": args.id},
        f"Recorded your agency's interest in {args.id}: {interest_id}",
    )


def _cmd_disposal_open_sale(args: argparse.Namespace) -> int:
    from ..exchange import mark_open_sale

    store = _store(args)
    version = _offer_version(store, args.id, args.version)
    mark_open_sale(store, viewer(), args.id, version=version)
    return _done(
        args, {"offer_id": args.id, "state": "open sale"}, f"Marked {args.id} for open sale"
    )


# --------------------------------------------------------------------------- parser


def _common(p: argparse.ArgumentParser, *, version: bool = False) -> None:
    """Add ``--store`` and ``--json`` (and ``--version``) to a command."""
    if version:
        p.add_argument(
            "--version",
            type=int,
            metavar="N",
            help="the version you read, as `list` shows it (default: the version read now); "
            "if someone changed it since, nothing is changed and you are told what happened",
        )
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    func: Callable[[argparse.Namespace], int],
    *,
    takes_id: str | None = None,
    version: bool = False,
) -> argparse.ArgumentParser:
    p = actions.add_parser(name, help=help_text)
    if takes_id:
        p.add_argument("id", metavar="ID", help=takes_id)
    _common(p, version=version)
    p.set_defaults(func=func)
    return p


def _add_offer(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("offer", help="offers of spare space: list, declare, withdraw")
    actions = group.add_subparsers(dest="action", required=True)
    _action(actions, "list", "list the offers of space you may see", _cmd_offer_list)
    p = _action(
        actions, "declare", "offer spare space at a site of your agency", _cmd_offer_declare
    )
    p.add_argument("site_id", metavar="SITE_ID", help="the site (its id or register reference)")
    p.add_argument("--sqft", type=float, required=True, help="the spare space, square feet")
    p.add_argument("--use", default="", help="what the space suits (default: the site's use)")
    p.add_argument(
        "--from", dest="available_from", default="", metavar="DATE", help="available from"
    )
    p.add_argument("--until", default="", metavar="DATE", help="available until (YYYY-MM-DD)")
    p.add_argument("--terms", default="", help="the terms (rent, share of costs...)")
    p.add_argument("--contact", default="", help="whom to ask")
    p.add_argument(
        "--open",
        action="store_true",
        help="show the offer to every agency even if the site is restricted (never the site)",
    )
    p.add_argument("--source-file", help="the site's register, where several hold its id")
    _action(
        actions,
        "withdraw",
        "withdraw an offer of your agency",
        _cmd_offer_withdraw,
        takes_id="the offer, as `offer list` shows it",
        version=True,
    )


def _request_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--sqft", type=float, required=required, help="the space needed, square feet")
    p.add_argument("--postcode", required=required, help="where the space is needed")
    p.add_argument("--use", default="office" if required else None, help="what for (office)")
    p.add_argument(
        "--max-distance-m", type=float, help="how far from there it may be (default 10,000 m)"
    )
    p.add_argument("--needed-by", metavar="DATE", help="by when (YYYY-MM-DD)")
    p.add_argument("--locality", help="the locality, where there is no postcode")


def _add_request(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("request", help="requests for space: list, save, edit, withdraw")
    actions = group.add_subparsers(dest="action", required=True)
    _action(actions, "list", "list the requests for space you may see", _cmd_request_list)
    p = _action(actions, "save", "save a request for space of your agency", _cmd_request_save)
    _request_options(p, required=True)
    p = _action(
        actions,
        "edit",
        "change a saved request of your agency",
        _cmd_request_edit,
        takes_id="the request (its id or Q reference)",
    )
    _request_options(p, required=False)
    _action(
        actions,
        "withdraw",
        "withdraw a saved request of your agency (and its live matches)",
        _cmd_request_withdraw,
        takes_id="the request (its id or Q reference)",
    )


def _add_amend(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "amend",
        help="correct a site of your agency (amend SITE_ID FIELD VALUE), list corrections "
        "(amend list) or withdraw one (amend withdraw ID)",
    )
    p.add_argument(
        "words",
        nargs="+",
        metavar="SITE_ID FIELD VALUE | list | withdraw ID",
        help="the site, the field (floor_area_sqft, running_cost_gbp, tenure, lease_expiry, "
        "use, use_class, sensitivity) and its value; or list; or withdraw and the correction",
    )
    p.add_argument("--reason", default="", help="why (kept with the correction)")
    p.add_argument("--source-file", help="the site's register, where several hold its id")
    _common(p, version=True)
    p.set_defaults(func=_cmd_amend)


#: The moves of a match the ``matches`` command offers, with their help.
_MOVES: Sequence[tuple[str, str]] = (
    ("offer", "offer the space of a proposed match (the space's agency)"),
    ("accept", "accept an offered match (the request's agency)"),
    ("decline", "decline a match (proposed: the space's agency; offered: the request's)"),
    ("withdraw", "withdraw a match that is not final (either agency)"),
    ("complete", "complete an accepted match: the space moves (either agency)"),
)


def _add_matches(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import functools

    group = sub.add_parser(
        "matches",
        help="matches of offered space to requests: list, inbox, propose, and move them on",
    )
    actions = group.add_subparsers(dest="action", required=True)
    _action(
        actions,
        "list",
        "list your agency's matches",
        functools.partial(_matches_listing, which="matches"),
    )
    _action(
        actions,
        "inbox",
        "list your agency's matches, those waiting on you first",
        functools.partial(_matches_listing, which="inbox"),
    )
    p = _action(actions, "propose", "propose a match", _cmd_matches_propose)
    p.add_argument("--offer", required=True, help="the offer, as `offer list` shows it")
    p.add_argument("--request", required=True, help="the request, as `request list` shows it")
    p.add_argument("--request-file", help="the request's source, where several hold its id")
    p.add_argument("--sqft", type=float, help="the space (default: what both allow)")
    p.add_argument("--note", default="", help="words for the other agency")
    _action(
        actions,
        "propose-plan",
        "propose the optimal plan's matches of your agency",
        _cmd_matches_propose_plan,
    )
    for name, help_text in _MOVES:
        p = _action(
            actions,
            name,
            help_text,
            functools.partial(_cmd_matches_move, action=name),
            takes_id="the match, as `matches list` shows it",
            version=True,
        )
        p.add_argument("--note", default="", help="words for the other agency")


def _add_disposal(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "disposal",
        help="sites declared surplus for disposal (40 working days of first refusal): list, "
        "declare, interest, open-sale",
    )
    actions = group.add_subparsers(dest="action", required=True)
    _action(actions, "list", "list the sites declared for disposal you may see", _cmd_disposal_list)
    p = _action(
        actions, "declare", "declare a site of your agency for disposal", _cmd_disposal_declare
    )
    p.add_argument("site_id", metavar="SITE_ID", help="the site (its id or register reference)")
    p.add_argument("--terms", default="", help="the terms of the disposal")
    p.add_argument("--contact", default="", help="whom to ask")
    p.add_argument(
        "--open",
        action="store_true",
        help="show it to every agency even if the site is restricted (never the site)",
    )
    p.add_argument("--source-file", help="the site's register, where several hold its id")
    p = _action(
        actions,
        "interest",
        "record your agency's interest in a site declared for disposal",
        _cmd_disposal_interest,
        takes_id="the disposal's offer id, as `disposal list` shows it",
    )
    p.add_argument("--note", default="", help="words for the holder")
    _action(
        actions,
        "open-sale",
        "mark a site of your agency for open sale once its first refusal is over",
        _cmd_disposal_open_sale,
        takes_id="the disposal's offer id",
        version=True,
    )


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``offer``, ``request``, ``amend``, ``matches`` and ``disposal``."""
    _add_offer(sub)
    _add_request(sub)
    _add_amend(sub)
    _add_matches(sub)
    _add_disposal(sub)
