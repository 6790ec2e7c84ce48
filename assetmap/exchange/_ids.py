"""The exchange's ids: a letter for the kind of row and 16 random hex digits."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["new_id", "register_offer_id"]


def new_id(prefix: str) -> str:
    """Return a new id: ``prefix`` and 16 random hex digits (``"M3f9c..."``).

    ``O`` offers, ``M`` matches, ``A`` amendments, ``I`` interest, ``Q`` saved requests.
    """
    return prefix + secrets.token_hex(8)


def register_offer_id(source_owner: str, source_file: str, site_id: str) -> str:
    """Return the id of a register's offer: ``R`` and 16 hex digits of the site's source and id.

    The same site of the same source always gives the same id, so a match proposed on a
    register's spare space still names it after the register is imported again.

    Examples
    --------
    >>> register_offer_id("Kent Police", "estate.csv", "KP-1") == register_offer_id(
    ...     "Kent Police", "estate.csv", "KP-1"
    ... )
    True
    """
    key = "\x1f".join((source_owner, source_file, site_id)).encode("utf-8")
    return "R" + hashlib.sha256(key).hexdigest()[:16]
