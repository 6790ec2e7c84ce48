"""Saving scenarios in the store and reading back the ones a viewer may see.

:mod:`assetmap.scenarios` says what a scenario is and what it would do; this
module keeps scenarios in the store (its ``scenarios`` layer:
:data:`assetmap.store.interface.SCENARIO_COLUMNS`) under the rules of
:mod:`assetmap.access`:

- a scenario belongs to the agency that saved it (:func:`assetmap.access.import_owner`:
  a signed-in user saves only as their own agency), and its names are unique per
  agency, so another agency's scenario of the same name is neither replaced nor told of;
- it is *shared* with every agency only when no move names a restricted site, offer
  or request (:func:`assetmap.scenarios.shares`), decided as it is saved;
- :func:`saved_scenarios` gives a viewer their own agency's scenarios and the shared
  ones whose every site they may see (:func:`assetmap.scenarios.visible_scenarios`),
  whatever the store gave (a PostGIS store's row-level security gives the same rows).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .access import Viewer, agency_key, as_viewer, import_owner
from .errors import AssetmapError, PermissionDeniedError
from .scenarios import Scenario, shares, visible_scenarios
from .store.interface import EstateStore

__all__ = ["remove_scenario", "save_scenario", "saved_scenarios"]


def save_scenario(
    store: EstateStore,
    scenario: Scenario,
    *,
    viewer: Viewer | None,
    sites: pd.DataFrame,
    requests: pd.DataFrame | None = None,
    offers: pd.DataFrame | None = None,
    offer_sites: pd.DataFrame | None = None,
    now: dt.datetime | None = None,
) -> Scenario:
    """Save ``scenario`` in the store as ``viewer``'s agency's; return it as saved.

    Parameters
    ----------
    store
        The estate store.
    scenario
        The scenario (its name and moves; its author and agency are set here).
    viewer
        Who saves it (``None``: the local single user with no agency).
    sites, requests, offers, offer_sites
        What its moves name, as the viewer sees them: whether it may be shared
        with every agency is decided from them (:func:`assetmap.scenarios.shares`).
    now
        When it is saved (default: now, UTC).

    Returns
    -------
    Scenario
        With its author, agency and time of saving.

    Raises
    ------
    assetmap.errors.InvalidArgumentError
        If the name or moves cannot be kept.
    assetmap.errors.StoreError
        If the store cannot be written.
    """
    owner, agency = _owner(viewer)
    viewer = as_viewer(viewer)
    when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
    saved = Scenario(
        scenario.name,
        scenario.moves,
        author=viewer.user if viewer is not None else "",
        agency=agency or "",
        created_at=when,
    )
    shared = shares(saved, sites, requests=requests, offers=offers, offer_sites=offer_sites)
    store.save_scenario(
        {
            "name": saved.name,
            "author": saved.author,
            "agency": saved.agency,
            "created_at": saved.created_at,
            "moves": saved.moves_json(),
            "shared": shared,
        },
        owner=owner,
    )
    return saved


def saved_scenarios(
    store: EstateStore, *, viewer: Viewer | None, sites: pd.DataFrame
) -> list[Scenario]:
    """Return the saved scenarios ``viewer`` may see, oldest first.

    Parameters
    ----------
    store
        The estate store.
    viewer
        Who is looking.
    sites
        The sites the viewer may see (the whole estate's, not a place's: a
        scenario of another place is still theirs to see).
    """
    rows = visible_scenarios(store.scenarios(), set(sites["site_id"].astype(str)), viewer)
    out = []
    for row in rows.to_dict("records"):
        try:
            out.append(Scenario.from_row(row))
        except AssetmapError:  # moves another version wrote: not shown
            continue
    return out


def remove_scenario(
    store: EstateStore, name: str, *, viewer: Viewer | None, agency: str | None = None
) -> int:
    """Remove ``viewer``'s agency's scenario ``name``; return the scenarios removed.

    Names are unique per agency, not across agencies: a list of saved scenarios can
    hold the viewer's "Hub" and another agency's shared "Hub". Give the picked
    scenario's ``agency`` so that picking the other agency's never removes the
    viewer's own of the same name.

    Parameters
    ----------
    store
        The estate store.
    name
        The scenario's name.
    viewer
        Who removes it (``None``: the local single user with no agency).
    agency
        The agency of the scenario picked (:attr:`assetmap.scenarios.Scenario.agency`);
        ``None`` to remove the viewer's agency's scenario of that name.

    Raises
    ------
    assetmap.errors.PermissionDeniedError
        If ``agency`` is not the viewer's agency (nothing is removed).
    assetmap.errors.StoreError
        If the agency has no scenario of that name.
    """
    owner, _ = _owner(viewer)
    if agency is not None and agency_key(agency) != agency_key(owner):
        raise PermissionDeniedError(
            f"the scenario {name!r} is {agency or 'no agency'}'s: you may remove only your "
            "own agency's scenarios"
        )
    return store.remove_scenario(name, owner=owner)


def _owner(viewer: Viewer | None) -> tuple[str, str | None]:
    """Return whose a scenario ``viewer`` saves is, and its agency (as an import's).

    Raises
    ------
    PermissionDeniedError
        A signed-in user with no agency.
    """
    viewer = as_viewer(viewer)
    try:
        return import_owner(viewer, viewer.agency if viewer is not None else None)
    except PermissionDeniedError:
        raise PermissionDeniedError(
            "you are signed in with no agency, so you cannot save or remove a scenario; ask "
            "your administrator to give your account an agency"
        ) from None
