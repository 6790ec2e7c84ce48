"""The space exchange: spare space offered, space asked for, matches agreed, all in the store.

An agency with spare space at one of its sites offers it (:func:`declare_offer`); an
agency needing space saves a request (:func:`save_request`); either proposes a match of
the two, which the space holder offers, the requester accepts and either completes
(:mod:`assetmap.exchange.matches`), and completing it moves the space. A site declared
surplus for disposal is offered to every other public body for 40 working days first
(:mod:`assetmap.exchange.first_refusal`). An agency corrects its own sites' records
(:mod:`assetmap.exchange.amendments`).

Why write-through
-----------------
An offer's spare space *is* its site's ``surplus_sqft``, a correction *is* the stored
value, and a completed match reduces the site's ``surplus_sqft`` and the request's
``space_needed_sqft`` in the store. So every page, the plan, print maps and the command
line see the exchange without knowing about it. The store's ``amendments`` table
remembers each change (old, new, who, when), so that a re-import of the register
applies it again and reports where the register's value changed under it.

Who sees and does what
----------------------
:mod:`assetmap.exchange.disclosure` holds the rules: an offer on a site the viewer may
see is shown in full; an offer on another agency's restricted site only if that agency
marked the offer open, and then without anything of the site; otherwise it does not
exist for the viewer. Only a site's own agency offers, declares or amends it; only the
two agencies of a match see and move it. A viewer with no agency reads but moves
nothing. Every move, and every attempt refused, writes one line to the audit log
(actions ``exchange`` and ``exchange refused``).

Every function takes the store and the viewer (:class:`assetmap.access.Viewer`) first
and keyword-only options after, returns plain frames or ids, and raises only
:mod:`assetmap.errors` classes: ``InvalidArgumentError`` (values), ``PermissionDeniedError``
(not yours), ``ConflictError`` (someone changed it first) and ``DataNotFoundError``
(nothing of that id that you can see).

Examples
--------
>>> from assetmap import exchange
>>> offer_id = exchange.declare_offer(store, viewer, "KP-1", sqft=40_000)  # doctest: +SKIP
>>> exchange.offers(store, other_viewer)  # doctest: +SKIP
"""

from __future__ import annotations

from .amendments import AMENDABLE, amend, amendments, reapply, withdraw_amendment
from .disclosure import OPEN_OFFER_FIELDS, seen_sites, visible_offers
from .first_refusal import (
    FIRST_REFUSAL_WORKING_DAYS,
    declare_disposal,
    disposals,
    express_interest,
    mark_open_sale,
    window_end,
)
from .matches import (
    FINAL,
    MOVES,
    STATES,
    inbox,
    matches,
    move,
    propose,
    propose_from_plan,
)
from .offers import OFFER_LIST_COLUMNS, declare_offer, find_offer, offers, withdraw_offer
from .requests import SAVED_REQUESTS, edit_request, save_request, withdraw_request

__all__ = [
    "AMENDABLE",
    "FINAL",
    "FIRST_REFUSAL_WORKING_DAYS",
    "MOVES",
    "OFFER_LIST_COLUMNS",
    "OPEN_OFFER_FIELDS",
    "SAVED_REQUESTS",
    "STATES",
    "amend",
    "amendments",
    "declare_disposal",
    "declare_offer",
    "disposals",
    "edit_request",
    "express_interest",
    "find_offer",
    "inbox",
    "mark_open_sale",
    "matches",
    "move",
    "offers",
    "propose",
    "propose_from_plan",
    "reapply",
    "save_request",
    "seen_sites",
    "visible_offers",
    "window_end",
    "withdraw_amendment",
    "withdraw_offer",
    "withdraw_request",
]
