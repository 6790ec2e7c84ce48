"""The boundary sets and named places users keep in the store: adding and removing them.

What a user adds is kept for every user and every later session
(:meth:`assetmap.store.interface.EstateStore.add_boundary_set` and the rest); this
module applies the ownership rule of :mod:`assetmap.access` to it: a set or place
belongs to the agency that added it (a signed-in user adds as their own agency, the
local single user as the agency named, or none); a signed-in user removes only their
own agency's, the local single user any. It also checks what is added: a set's name
may not be a built-in level, a saved place's localities must exist at its level and its
name may not be that of a built-in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import national
from .access import Viewer, agency_key, import_owner, may_remove_source
from .errors import InvalidArgumentError, PermissionDeniedError
from .places import (
    BUNDLED_LEVEL,
    SAVED_LEVEL,
    SET_PREFIX,
    Place,
    builtin_place,
    canonical_level,
    level_label,
    level_localities,
    resolve_place,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from .store.interface import EstateStore

__all__ = ["add_boundary_set", "remove_boundary_set", "remove_saved_place", "save_place"]


def _key(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def _refuse_look_alike(store: EstateStore, name: str, owner: str) -> None:
    """Refuse a set name that would stand for another agency's set.

    ``--level "boundary set NAME"`` finds a set by its name compared without regard to
    case or spacing; a name beginning "boundary set " would be found by a shorter one.
    So a set may not begin so, nor match another agency's set in that comparison: one
    agency must not steer what another's figures are computed on.
    """
    if _key(name).startswith(_key(SET_PREFIX)):
        raise InvalidArgumentError(
            f"the boundary set name {name!r} begins with {SET_PREFIX.strip()!r}; choose a "
            "name without it (the level is called 'boundary set <name>')"
        )
    if not store.exists():
        return
    kept = store.boundary_sets()
    same = kept[(kept["set_name"].map(_key) == _key(name)) & (kept["set_name"] != name)]
    theirs = same[_others(same["owner"], owner)]
    if len(theirs):
        set_name, by = str(theirs["set_name"].iat[0]), str(theirs["owner"].iat[0])
        raise InvalidArgumentError(
            f"the boundary set name {name!r} is too like {set_name!r}, kept by "
            f"{by or 'the local user'}; choose another name"
        )


def _others(owners: pd.Series, owner: str) -> np.ndarray:
    """Return which of ``owners`` are another agency than ``owner``."""
    mine = agency_key(owner)
    return np.array([agency_key(o) != mine for o in owners], dtype=bool)


def _refuse_hiding_an_area(kept: pd.DataFrame, name: str, owner: str) -> None:
    """Refuse a saved place named as an area of another agency's boundary set.

    Saved places are found first, so such a place would stand in for that area.
    """
    named = (kept["name"].map(_key) == _key(name)) | (kept["code"].map(_key) == _key(name))
    hidden = kept[named.to_numpy(dtype=bool) & _others(kept["owner"], owner)]
    if len(hidden):
        set_name, by = str(hidden["set_name"].iat[0]), str(hidden["owner"].iat[0])
        raise InvalidArgumentError(
            f"the place name {name!r} is an area of the boundary set {set_name!r}, kept by "
            f"{by or 'the local user'}; choose another name"
        )


def _owner(viewer: Viewer | None, agency: str | None) -> str:
    """Return the agency a set or place is added as (see :func:`assetmap.access.import_owner`)."""
    return import_owner(viewer, agency)[0]


def _check_removal(
    what: str, frame: pd.DataFrame, column: str, name: str, viewer: Viewer | None
) -> None:
    """Refuse ``viewer`` removing the ``what`` kept as ``name`` in ``frame`` if not theirs."""
    hit = frame[frame[column].map(_key) == _key(name)]
    if not len(hit):
        return
    kept, owner = str(hit[column].iloc[0]), str(hit["owner"].iloc[0])
    if not may_remove_source(owner, viewer):
        raise PermissionDeniedError(
            f"the {what} {kept!r} was added by {owner or 'no agency'}; only that agency may "
            "remove it"
        )


def add_boundary_set(
    store: EstateStore,
    name: str,
    areas: gpd.GeoDataFrame,
    *,
    viewer: Viewer | None = None,
    agency: str | None = None,
) -> int:
    """Keep a boundary set in the store, for every user and later session.

    Parameters
    ----------
    store
        The estate store.
    name
        The set's name (a level: ``--level NAME`` finds it).
    areas
        Polygons with ``code`` and ``name`` (see
        :func:`assetmap.io.boundaries.read_boundary_file`).
    viewer
        Who adds it: a signed-in user adds it as their agency; ``None`` or the
        local single user as ``agency`` (or as no agency).
    agency
        The agency it belongs to, for the local single user.

    Returns
    -------
    int
        The areas kept.

    Raises
    ------
    InvalidArgumentError
        A name that is a built-in level, or areas that cannot be kept.
    PermissionDeniedError
        A signed-in user naming another agency.
    StoreError
        A name another agency's set uses.

    Examples
    --------
    >>> add_boundary_set(store, "wards", read_boundary_file("wards.geojson")[0])  # doctest: +SKIP
    """
    if isinstance(name, str) and _key(name.removeprefix(SET_PREFIX)) in {
        *national.LEVELS,
        BUNDLED_LEVEL,
        SAVED_LEVEL,
    }:
        raise InvalidArgumentError(
            f"the boundary set name {name!r} is a built-in level; choose another name"
        )
    owner = _owner(viewer, agency)
    if isinstance(name, str):
        _refuse_look_alike(store, name, owner)
    store.add_boundary_set(name, areas, owner=owner)
    return len(areas)


def remove_boundary_set(
    store: EstateStore, name: str, *, viewer: Viewer | None = None, agency: str | None = None
) -> int:
    """Remove a boundary set from the store; return its areas removed.

    A signed-in user removes only their own agency's sets; the local single user
    (``viewer`` ``None`` or not signed in) any, or ``agency``'s when given.

    Parameters
    ----------
    store
        The estate store.
    name
        The set's name.
    viewer
        Who removes it.
    agency
        The agency whose set it must be (``None``: whoever added it).

    Returns
    -------
    int

    Raises
    ------
    PermissionDeniedError
        Another agency's set, for a signed-in user.
    StoreError
        No set of that name (the message lists them).

    Examples
    --------
    >>> remove_boundary_set(store, "wards")  # doctest: +SKIP
    """
    if store.exists():
        _check_removal("boundary set", store.boundary_sets(), "set_name", name, viewer)
    return store.remove_boundary_set(name, owner=agency)


def save_place(
    store: EstateStore,
    name: str,
    level: str,
    localities: list[str],
    *,
    viewer: Viewer | None = None,
    agency: str | None = None,
) -> Place:
    """Save several localities of a level together as a place with a name.

    Parameters
    ----------
    store
        The estate store.
    name
        The place's name ("Greater Manchester"); not the name of a built-in place.
    level
        Their level: a national level or a boundary set kept in the store.
    localities
        Their codes or names.
    viewer, agency
        Who saves it, as for :func:`add_boundary_set`.

    Returns
    -------
    Place
        The place saved, as :func:`resolve_place` now finds it.

    Raises
    ------
    InvalidArgumentError
        Listing every locality not found at ``level``, a level that is not one,
        or a name a built-in place has.
    StoreError
        A name another agency's place uses.

    Examples
    --------
    >>> codes = [f"E080000{n:02d}" for n in range(1, 11)]
    >>> save_place(store, "Greater Manchester", "district", codes)  # doctest: +SKIP
    """
    level = canonical_level(level, store=store)
    if level == BUNDLED_LEVEL:
        raise InvalidArgumentError(
            f"level={level!r} is one outline, Kent and Medway; expected the level of the "
            "localities to save together, such as 'district'"
        )
    frame = level_localities(level, store=store)
    by_key = {_key(c): str(c) for c in frame["code"]}
    by_key.update({_key(n): str(c) for c, n in zip(frame["code"], frame["name"], strict=True)})
    wanted = [str(x) for x in localities if str(x).strip()]
    missing = [x for x in wanted if _key(x) not in by_key]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:10])
        raise InvalidArgumentError(
            f"the place {name!r} cannot be saved: {len(missing)} of its localities "
            f"{'is' if len(missing) == 1 else 'are'} not {level_label(level).lower()} codes or "
            f"names ({shown})"
        )
    if isinstance(name, str) and name.strip():
        taken = builtin_place(name)
        if taken is not None:
            raise InvalidArgumentError(
                f"the place name {name!r} is already the name of a "
                f"{level_label(taken.level).lower()}; choose another name"
            )
    owner = _owner(viewer, agency)
    if isinstance(name, str) and store.exists():
        _refuse_hiding_an_area(store.boundary_sets(), name, owner)
    codes = list(dict.fromkeys(by_key[_key(x)] for x in wanted))
    store.save_place(name, level, codes, owner=owner)
    return resolve_place(name, store=store, level=SAVED_LEVEL)


def remove_saved_place(
    store: EstateStore, name: str, *, viewer: Viewer | None = None, agency: str | None = None
) -> int:
    """Remove a saved place from the store; return the places removed (1).

    Parameters
    ----------
    store
        The estate store.
    name
        The place's name.
    viewer, agency
        As for :func:`remove_boundary_set`.

    Returns
    -------
    int

    Raises
    ------
    PermissionDeniedError
        Another agency's place, for a signed-in user.
    StoreError
        No place of that name (the message lists them).

    Examples
    --------
    >>> remove_saved_place(store, "Greater Manchester")  # doctest: +SKIP
    1
    """
    if store.exists():
        _check_removal("place", store.places(), "name", name, viewer)
    return store.remove_place(name, owner=agency)
