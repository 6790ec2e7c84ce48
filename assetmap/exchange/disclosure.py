"""Who may see and do what in the space exchange: the one place its rules live.

What each agency sees (see the README's Security section):

- An offer on a site the viewer may see (:func:`assetmap.access.visible_sites`) is
  shown in full, with its site.
- An offer on a site the viewer may not see (another agency's restricted site) is
  shown only if its agency marked the offer itself open (``open == "yes"``), and then
  only :data:`OPEN_OFFER_FIELDS`: nothing of the site (no name, address, postcode,
  UPRN, point, floor area, site id, source file or shared group).
- Any other offer does not exist for the viewer: no row, no count, and an id given
  for it gets the message an unknown id gets (:func:`no_offer`).

Who may act: a viewer with no agency reads but moves nothing (:func:`require_agency`);
only a site's own agency (and, signed in, only for its own sources) offers its space,
declares it for disposal or amends it (:func:`own_site`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from ..access import AGENCY_ENV, Viewer, agency_key, may_remove_source, visible_sites
from ..errors import (
    AssetmapError,
    DataNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from ..store.interface import OFFER_COLUMNS

__all__ = [
    "LIVE_STATES",
    "OPEN_OFFER_FIELDS",
    "SITE_KEYS",
    "audit_move",
    "no_offer",
    "own_site",
    "refusals_audited",
    "require_agency",
    "seen_sites",
    "visible_offers",
]

#: What an offer marked open shows to an agency that may not see its site.
OPEN_OFFER_FIELDS = (
    "offer_id",
    "kind",
    "agency",
    "sector",
    "sqft",
    "use",
    "available_from",
    "available_until",
    "terms",
    "contact",
    "area",
    "state",
    "declared_on",
    "window_ends",
)
#: The states in which an offer is live: space offered, or a disposal not withdrawn.
LIVE_STATES = ("open", "first refusal", "open sale")
#: The columns that name an offer's site (its ``offer_sites`` row).
SITE_KEYS = ("site_id", "source_file", "source_owner")


def seen_sites(store, viewer: Viewer | None) -> pd.DataFrame:
    """Return the stored sites ``viewer`` may see, with the store's index (not renumbered)."""
    return visible_sites(store.sites(), viewer, renumber=False)


def _keys(frame: pd.DataFrame) -> pd.Series:
    """Return each row's site key (site id, source file and owner), as one text."""
    if not len(frame):
        return pd.Series([], dtype=object, index=frame.index)
    parts = [frame[c].fillna("").astype(str) for c in SITE_KEYS]
    return parts[0] + "\x1f" + parts[1] + "\x1f" + parts[2]


def visible_offers(
    offers: pd.DataFrame,
    offer_sites: pd.DataFrame,
    sites_seen: pd.DataFrame,
    viewer: Viewer | None,
) -> pd.DataFrame:
    """Return the app offers ``viewer`` may know of, each with its site where seen.

    Parameters
    ----------
    offers, offer_sites
        The store's tables of those names (every state).
    sites_seen
        The sites ``viewer`` may see (:func:`seen_sites`).
    viewer
        Who is looking.

    Returns
    -------
    pandas.DataFrame
        The offers (:data:`~assetmap.store.interface.OFFER_COLUMNS`) whose site the
        viewer may see, or whose agency is the viewer's, or that are marked open;
        with ``site_id``, ``source_file`` and ``source_owner`` (``""`` where the
        viewer may not see the site) and ``seen`` (whether it may). Numbered from 0,
        in the order of the offers table.
    """
    key = viewer.key if viewer is not None else ""
    links = offer_sites.drop_duplicates("offer_id", keep="last").set_index("offer_id")
    out = offers[list(OFFER_COLUMNS)].reset_index(drop=True).copy()
    for column in SITE_KEYS:
        out[column] = (
            out["offer_id"].map(links[column]).fillna("").astype(str)
            if len(links)
            else pd.Series("", index=out.index, dtype=object)
        )
    seen_keys = set(_keys(sites_seen))
    seen = _keys(out).isin(seen_keys).to_numpy(dtype=bool) if len(out) else np.zeros(0, bool)
    own = np.fromiter((bool(key) and (agency_key(a) == key) for a in out["agency"]), bool, len(out))
    marked_open = (out["open"].astype(str).str.strip().str.lower() == "yes").to_numpy(bool)
    seen = seen | own
    out["seen"] = seen
    out = out[seen | marked_open].reset_index(drop=True)
    hidden = ~out["seen"].to_numpy(dtype=bool)
    for column in SITE_KEYS:
        out.loc[hidden, column] = ""
    return out


def no_offer(offer_id: object) -> DataNotFoundError:
    """Return the error for an offer id the viewer may not know of: unknown and hidden alike."""
    return DataNotFoundError(f"There is no offer {offer_id} that you can see.")


def require_agency(viewer: Viewer | None, doing: str) -> Viewer:
    """Return ``viewer`` if it has an agency, else refuse ``doing`` (``"offer space"``).

    Raises
    ------
    PermissionDeniedError
        A viewer with no agency reads the exchange but moves nothing.
    """
    if viewer is None or not viewer.key:
        raise PermissionDeniedError(
            f"Set ${AGENCY_ENV} or sign in as an agency to {doing}: you have no agency."
        )
    return viewer


def own_site(
    sites_seen: pd.DataFrame,
    viewer: Viewer,
    site_id: object,
    *,
    source_file: str | None,
    doing: str,
) -> pd.Series:
    """Return the site ``site_id`` if it is ``viewer``'s agency's to ``doing``.

    Parameters
    ----------
    sites_seen
        The sites the viewer may see (:func:`seen_sites`).
    viewer
        Who acts (with an agency: see :func:`require_agency`).
    site_id, source_file
        The site (its ``site_id``, or its register's reference, ``source_ref``);
        ``source_file`` names its register where several hold it.
    doing
        What the viewer does, for the messages (``"offer its space"``).

    Raises
    ------
    DataNotFoundError
        No site of that id the viewer may see (another agency's restricted site alike).
    InvalidArgumentError
        Several of the viewer's registers hold that id and ``source_file`` names none.
    PermissionDeniedError
        The site is another agency's, or (signed in) a source the viewer may not change.
    """
    site_id = str(site_id).strip()
    hit = sites_seen[sites_seen["site_id"].astype(str) == site_id]
    if not len(hit) and "source_ref" in sites_seen.columns:  # the register's own reference
        hit = sites_seen[sites_seen["source_ref"].astype(str) == site_id]
    if source_file is not None:
        hit = hit[hit["source_file"].astype(str) == str(source_file)]
    if not len(hit):
        where = f" in {source_file}" if source_file is not None else ""
        raise DataNotFoundError(f"There is no site {site_id}{where} that you can see.")
    mine = hit[hit["agency"].map(agency_key) == viewer.key]
    if len(mine) > 1:
        files = ", ".join(sorted(mine["source_file"].astype(str).unique()))
        raise InvalidArgumentError(
            f"Site {site_id} is in more than one of your registers ({files}); say which "
            "register with source_file (--source-file)."
        )
    if not len(mine):
        agency = str(hit["agency"].iloc[0]) or "another agency"
        raise PermissionDeniedError(f"Site {site_id} is {agency}'s: only {agency} may {doing}.")
    site = mine.iloc[0]
    if not may_remove_source(site["source_owner"], viewer):
        owner = str(site["source_owner"])
        raise PermissionDeniedError(
            f"Site {site_id} comes from {owner}'s register {site['source_file']}: only "
            f"{owner}'s users may {doing}."
            if owner
            else f"Site {site_id} comes from the register {site['source_file']}, which "
            f"belongs to no agency: only the local user (without sign-in) may {doing}."
        )
    return site


def audit_move(store, viewer: Viewer | None, what: str, *, refused: bool = False) -> None:
    """Write one audit line of an exchange move (``refused``: an attempt refused)."""
    from ..access import local_viewer
    from ..audit import record

    record(
        store,
        viewer=viewer if viewer is not None else local_viewer({}),
        action="exchange refused" if refused else "exchange",
        what=what,
    )


@contextmanager
def refusals_audited(store, viewer: Viewer | None, what: str) -> Iterator[None]:
    """Write an ``exchange refused`` audit line for an attempt refused inside, and re-raise.

    The line says what was tried (``what``: ``"offer at site KP-1"``) and why not.
    """
    try:
        yield
    except AssetmapError as exc:
        audit_move(store, viewer, f"{what}: {exc}", refused=True)
        raise
