"""Surplus-space matching: candidates for each space request, and the optimal plan.

An *offer* is a site with spare space: ``surplus_sqft > 0``. Offers are the
estate's sites (pass the whole site table; rows without surplus are ignored)
or any GeoDataFrame with the same columns, for offers entered by hand.

- :mod:`.result`: which sites offer space, and the :class:`MatchResult`.
- :mod:`.candidates`: :func:`find_candidates`, the offers that could serve
  each request, ranked by score, with reasons in words.
- :mod:`.allocation`: :func:`allocate`, the :class:`AllocationPlan` that
  assigns requests to offers for the whole place, matching the most space.
- :mod:`.solvers`: the HiGHS programmes behind the plan.
"""

from .allocation import DEFAULT_TIME_LIMIT_S, EXACT_GROUP_LIMIT, AllocationPlan, allocate
from .candidates import DEFAULT_MAX_DISTANCE_M, USE_COMPATIBILITY, find_candidates
from .result import SIZE_WEIGHT, MatchResult, offers_from_sites

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "DEFAULT_TIME_LIMIT_S",
    "EXACT_GROUP_LIMIT",
    "SIZE_WEIGHT",
    "USE_COMPATIBILITY",
    "AllocationPlan",
    "MatchResult",
    "allocate",
    "find_candidates",
    "offers_from_sites",
]
