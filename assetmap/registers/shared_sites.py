"""Find the sites that two or more agencies report: the same UPRN, or postcode and name.

Such sites are flagged with a shared group id, never merged: each agency's row
stays as it was. Restricted sites take no part (see :mod:`assetmap.access`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..access import is_restricted
from ..schema import arrow_strings, one_value
from .ids import norm_key, stable_ids
from .text import constant_text

__all__ = ["shared_groups"]


def shared_groups(sites: pd.DataFrame) -> pd.Series:
    """Find sites that two or more agencies report: same UPRN, or same postcode and name.

    Such sites are flagged, never merged: each agency's row stays as it was.

    Parameters
    ----------
    sites
        Canonical sites (at least ``sector``, ``agency``, ``uprn``, ``postcode``
        and ``name``).

    Returns
    -------
    pandas.Series
        Aligned to ``sites``: a group id (``"G..."``) shared by the rows of one
        shared site, ``""`` where the site is reported by one agency only.

    Notes
    -----
    Restricted sites take no part: no flag may tell another agency that one is
    there (see :mod:`assetmap.access`).

    An agency is its sector with its name in lower-case letters and digits. Keys
    are compared as integer codes, and only where they can matter: a UPRN held by
    two agencies or more; for names, only postcodes that appear more than once
    and are held by two agencies or more. An estate of one agency has no shared
    sites at all.
    """
    group = constant_text("", sites.index)
    restricted = is_restricted(sites)
    if restricted.any():  # never a flag that could tell another agency a restricted site is there
        keep = np.flatnonzero(~restricted)
        group.iloc[keep] = shared_groups(sites.iloc[keep]).to_numpy()
        return group
    # (a scan each, much cheaper than the factorisation below)
    if sites.empty or all(one_value(arrow_strings(sites[c])) for c in ("sector", "agency")):
        return group  # one agency: nothing is shared
    holder = _holder_codes(sites)
    if holder.min() == holder.max():  # one agency: nothing is shared
        return group
    n = len(sites)
    done = np.zeros(n, dtype=bool)
    uprn = sites["uprn"].astype(str)
    has = (uprn != "").to_numpy()
    if has.any():
        multi = np.zeros(n, dtype=bool)
        multi[has] = _held_by_several(uprn[has], holder[has])
        if multi.any():
            group[multi] = stable_ids("G", ["uprn:" + uprn[multi]]).to_numpy()
            done |= multi
    # only a postcode that appears more than once can hold a shared site...
    postcode = sites["postcode"].astype(str)
    near = (postcode != "").to_numpy().copy()
    near[near] = postcode[near].duplicated(keep=False).to_numpy()
    if near.any():  # ...and only one that two agencies or more give
        compact = postcode[near].str.replace(" ", "", regex=False)
        near[near] = _held_by_several(compact, holder[near])
    if near.any():
        key = (
            "pn:"
            + postcode[near].str.replace(" ", "", regex=False)
            + "|"
            + norm_key(sites["name"].astype(str)[near])
        )
        multi = np.zeros(n, dtype=bool)
        multi[near] = _held_by_several(key, holder[near])
        todo = multi & ~done
        if todo.any():
            group[todo] = stable_ids("G", [key[todo[near]]]).to_numpy()
    return group


def _holder_codes(sites: pd.DataFrame) -> np.ndarray:
    """Return an integer per row for who holds the site: its sector and normalised agency."""
    sector, _ = pd.factorize(sites["sector"].astype("str"))
    agency, names = pd.factorize(sites["agency"].astype("str"))
    normalised, _ = pd.factorize(norm_key(pd.Series(names, dtype="str")))
    width = int(normalised.max(initial=0)) + 1
    return sector.astype(np.int64) * width + normalised[agency]


def _held_by_several(keys: pd.Series, holders: np.ndarray) -> np.ndarray:
    """Return, for each row, whether two or more different holders give its key."""
    codes, _ = pd.factorize(keys.astype("str"))
    width = np.int64(holders.max()) + 1
    pairs = pd.unique(codes.astype(np.int64) * width + holders)  # (key, holder) once each
    return np.bincount(pairs // width, minlength=len(codes))[codes] > 1
