"""Surplus-space matching: candidates for each space request, and the optimal plan.

Offers
------
An *offer* is a site with spare space: ``surplus_sqft > 0``. Offers are the
estate's sites (pass the whole site table; rows without surplus are ignored)
or any GeoDataFrame with the same columns, for offers entered by hand.

Candidates
----------
A candidate for a request is an offer that passes every test below:

1. **Reach**: it stands within the request's ``max_distance_m`` (straight
   line on the British National Grid), found with a k-d tree over the offers'
   coordinates; requests without a maximum distance use ``default_max_distance``
   (10,000 m, as the importer does). A request without a point (placed only by
   its locality) has no candidates: it is reported as unmatched with the reason
   "no point location".
2. **Another agency**: an agency (``sector`` and ``agency`` together) never
   matches its own surplus: that is an internal move, not shared space.
3. **Use**: the offer's ``use_class`` is one that
   :data:`USE_COMPATIBILITY` allows for the request's ``use_class``.
4. **Dates**: where the offer's ``lease_expiry`` is known, it must fall after
   the request's ``needed_by`` date and after ``as_of`` (today by default): an
   offer whose lease ends before the space is needed, or has already ended, is
   no offer. An unknown expiry (freeholds, most registers) passes.

Each candidate is scored in [0, 1]::

    score = w_size × min(offer, need) / max(offer, need) + (1 − w_size) × (1 − d / max_d)

where ``offer`` is the offer's spare sq ft, ``need`` the request's sq ft, ``d``
the distance and ``max_d`` the request's maximum distance; ``w_size`` is
:data:`SIZE_WEIGHT` (0.6) unless given. Candidates are ranked by score, then
distance, and each carries its reasons in words.

The plan
--------
:func:`allocate` assigns requests to offers for the whole place at once. An
offer may host several requests up to its spare space. Unless
``allow_split=True`` a request goes whole to one offer (so only offers at
least as large as the need are eligible). The plan

1. maximises the space matched (whole square feet), then
2. maximises the total score of the assignments (each weighted by the share
   of its request it places): the shortest distances and the least wasted space.

Unsplit plans are binary programmes solved with HiGHS through
:func:`scipy.optimize.milp`. The candidate graph is first cut into its
independent groups (requests and offers linked by candidates). Groups of up to
:data:`EXACT_GROUP_LIMIT` candidate pairs are solved exactly for both criteria
in one programme whose objective is ``need + score / (R + 1)`` per assignment
(``R`` requests): a whole square foot always outweighs every possible gain in
score. Larger groups are solved in two stages: the space matched first, then
the score, keeping the same requests matched. Split plans are linear
programmes (a transportation problem) solved by HiGHS through
:func:`scipy.optimize.linprog`, space first, then score. When the time limit
stops the solver, the plan reports the relative gap between the space matched
and the best bound the solver proved.

The estimated saving of a plan is
:func:`assetmap.savings.avoided_cost` of the space matched: what requesters
would otherwise pay for new space at the default cost.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from datetime import date
from numbers import Real
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validate import check_frame, check_positive, check_viewer, raise_if_any
from .colocation import agency_codes, visible_mask, write_geopackage
from .errors import InvalidArgumentError
from .files import write_csv
from .savings import DEFAULT_COST_PER_SQFT, avoided_cost, check_cost_per_sqft
from .schema import CRS_BNG, USE_CLASSES, point_coordinates

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

#: For each use a request needs (its ``use_class``), the uses of space that can serve it.
#: The first is the like-for-like use. The README lists this table.
USE_COMPATIBILITY: dict[str, tuple[str, ...]] = {
    "office": ("office", "community"),
    "clinical": ("clinical",),
    "operational": ("operational", "depot"),
    "depot": ("depot", "operational", "land"),
    "community": ("community", "office", "education"),
    "education": ("education", "community", "office"),
    "residential": ("residential",),
    "land": ("land", "depot"),
    "other": ("other", "office", "community"),
}
#: Weight of size fit in a candidate's score; distance has the rest.
SIZE_WEIGHT = 0.6
#: Reach of a request that gives no maximum distance, metres (as the importer assumes).
DEFAULT_MAX_DISTANCE_M = 10_000.0
#: Default time limit of the allocation solver, seconds.
DEFAULT_TIME_LIMIT_S = 60.0
#: Independent groups with up to this many candidate pairs are solved exactly
#: for both criteria in one programme; larger groups in two stages.
EXACT_GROUP_LIMIT = 3_000

_REQUEST_REQUIRED = ("agency", "sector", "space_needed_sqft")
_OFFER_REQUIRED = ("agency", "sector", "surplus_sqft")


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as an object array of Python strings ("" where missing)."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].astype("str").to_numpy(dtype=object, na_value="")


def _dates(values: np.ndarray) -> np.ndarray:
    """ISO date text -> datetime64[D] (NaT where missing or not a date)."""
    text = pd.Series(values, dtype="str").fillna("").str.strip().str[:10]
    parsed = pd.to_datetime(text.where(text != ""), format="ISO8601", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[D]")


def _labels(frame: pd.DataFrame) -> np.ndarray:
    """How to name each request in messages: its reference, else its id, else its label."""
    ref = _text(frame, "source_ref")
    rid = _text(frame, "request_id")
    idx = frame.index.astype(str).to_numpy(dtype=object)
    return np.where(ref != "", ref, np.where(rid != "", rid, idx))


def _sqft(value: float) -> str:
    return f"{value:,.0f} sq ft"


def _distance_text(d: np.ndarray) -> np.ndarray:
    return np.where(
        d < 1000,
        np.char.add(np.round(d).astype(np.int64).astype(str), " m away"),
        np.char.add(np.char.mod("%.1f", d / 1000.0), " km away"),
    )


def _a(word: str) -> str:
    """``"an office"``, ``"a depot"``."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _some(names, limit: int = 5) -> str:
    names = [str(n) for n in names]
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more:,} more" if more > 0 else "")


def offers_from_sites(
    sites: gpd.GeoDataFrame, *, viewer_agency: str | None = None
) -> gpd.GeoDataFrame:
    """The sites that offer spare space: visible to the viewer, located, with surplus > 0.

    Parameters
    ----------
    sites
        Canonical sites, or offers entered by hand with the same columns.
    viewer_agency
        The agency looking: restricted sites of other agencies are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        A subset of ``sites`` (same index labels), EPSG:27700.
    """
    problems, sites = check_frame("offers", sites, _OFFER_REQUIRED)
    if p := check_viewer(viewer_agency):
        problems.append(p)
    raise_if_any(problems)
    _, located = point_coordinates(sites.geometry.to_numpy())
    surplus = _numbers(sites, "surplus_sqft")
    keep = visible_mask(sites, viewer_agency=viewer_agency) & located & (surplus > 0)
    return sites.iloc[np.flatnonzero(keep)]


# ---------------------------------------------------------------------------
# candidates


@dataclass
class MatchResult:
    """Ranked candidate offers for each space request.

    Attributes
    ----------
    candidates
        One row per (request, offer) candidate, requests in input order and
        each request's candidates by rank: ``request`` and ``offer`` (the
        inputs' index labels), ``request_id``, ``request_ref``,
        ``request_agency``, ``need_sqft``, ``site_id``, ``offer_name``,
        ``offer_agency``, ``offer_use_class``, ``offer_sqft``, ``distance_m``,
        ``size_fit``, ``score``, ``rank`` (1 = best) and ``reasons`` (words).
    requests
        One row per request the viewer may see, indexed like the input:
        ``request_id``, ``request_ref``, ``agency``, ``need_sqft``,
        ``use_class``, ``max_distance_m``, ``n_candidates``, ``best_site_id``,
        ``best_offer_name``, ``best_score``, ``status`` (``"candidates"`` or
        ``"unmatched"``) and ``reason``.
    offers
        The offers considered (visible, located, surplus > 0), indexed like the input.
    request_points
        Each visible request's point (``None`` where it has none), indexed like ``requests``.
    message
        What was found, or why nothing was.
    size_weight
        The size weight of the score.
    """

    candidates: pd.DataFrame
    requests: pd.DataFrame
    offers: gpd.GeoDataFrame
    request_points: gpd.GeoSeries
    message: str
    size_weight: float = SIZE_WEIGHT
    # positions of each candidate's request (in ``requests``) and offer (in ``offers``)
    _req_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _off_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    @property
    def empty(self) -> bool:
        """Whether no request has a candidate."""
        return len(self.candidates) == 0

    def for_request(self, request) -> pd.DataFrame:
        """The ranked candidates of one request, by its index label, id or reference."""
        c = self.candidates
        hit = (
            (c["request"] == request)
            | (c["request_id"] == str(request))
            | (c["request_ref"] == str(request))
        )
        if not hit.any() and not (
            (self.requests.index == request).any()
            or (self.requests["request_id"] == str(request)).any()
            or (self.requests["request_ref"] == str(request)).any()
        ):
            raise InvalidArgumentError(
                f"request={request!r} is not a request here; expected an index label, "
                "request_id or reference of one of the requests"
            )
        return c[hit.to_numpy()]

    def lines(self) -> gpd.GeoDataFrame:
        """Every candidate as a LineString from the offer to the request (EPSG:27700)."""
        return _lines(self, self.candidates, self._req_pos, self._off_pos)


def _lines(match: MatchResult, table: pd.DataFrame, req_pos, off_pos) -> gpd.GeoDataFrame:
    rp = match.request_points.to_numpy()[req_pos]
    op = match.offers.geometry.to_numpy()[off_pos]
    rxy, _ = point_coordinates(rp)
    oxy, _ = point_coordinates(op)
    coords = np.stack([oxy, rxy], axis=1)
    geoms = shapely.linestrings(coords) if len(coords) else np.zeros(0, dtype=object)
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geoms, crs=CRS_BNG)


def _check_as_of(as_of) -> tuple[np.datetime64 | None, str | None]:
    if as_of is None:
        return np.datetime64(date.today(), "D"), None
    if isinstance(as_of, (date, pd.Timestamp)) or isinstance(as_of, str):
        parsed = pd.to_datetime(str(as_of)[:10], format="ISO8601", errors="coerce")
        if not pd.isna(parsed):
            return np.datetime64(parsed.date(), "D"), None
    return None, f"as_of={as_of!r} is not valid; expected None, a date or an ISO date text"


def _check_compatibility(table) -> str | None:
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, (tuple, list, set, frozenset))
        for k, v in table.items()
    ):
        return (
            f"compatibility={table!r} is not valid; expected a dict of use class -> "
            "tuple of use classes"
        )
    named = set(table) | {u for uses in table.values() for u in uses}
    unknown = sorted(named - set(USE_CLASSES))
    if unknown:
        return (
            f"compatibility names unknown use classes {', '.join(map(repr, unknown))}; "
            f"expected some of: {', '.join(USE_CLASSES)}"
        )
    return None


def find_candidates(
    requests: gpd.GeoDataFrame,
    offers: gpd.GeoDataFrame,
    *,
    viewer_agency: str | None = None,
    as_of: date | str | None = None,
    default_max_distance: float = DEFAULT_MAX_DISTANCE_M,
    size_weight: float = SIZE_WEIGHT,
    compatibility: dict[str, tuple[str, ...]] | None = None,
) -> MatchResult:
    """Rank the offers that could serve each space request.

    Parameters
    ----------
    requests
        Canonical space requests (points, EPSG:27700; a request may have no point).
    offers
        Sites; those with ``surplus_sqft > 0`` are the offers.
    viewer_agency
        The agency looking: ``None`` leaves out every restricted site and
        request; an agency's name lets that agency's restricted rows take part.
    as_of
        The date leases must outlast as well as each request's ``needed_by``
        (default: today).
    default_max_distance
        Reach of requests that give no maximum distance, metres, > 0.
    size_weight
        Weight of size fit in the score, in [0, 1]; distance has the rest.
    compatibility
        Use compatibility table (default :data:`USE_COMPATIBILITY`).

    Returns
    -------
    MatchResult
        Candidates, a per-request summary with reasons, and a message.

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong, including requests whose maximum
        distance or space needed is not a positive number.

    Examples
    --------
    >>> match = find_candidates(store.requests(), store.sites())  # doctest: +SKIP
    >>> match.candidates[["request_id", "offer_name", "distance_m", "rank"]]  # doctest: +SKIP
    """
    compatibility = USE_COMPATIBILITY if compatibility is None else compatibility
    problems: list[str] = []
    p_req, requests = check_frame("requests", requests, _REQUEST_REQUIRED)
    p_off, offers = check_frame("offers", offers, _OFFER_REQUIRED)
    problems += p_req + p_off
    for p in (
        check_positive("default_max_distance", default_max_distance),
        check_viewer(viewer_agency),
        _check_compatibility(compatibility),
    ):
        if p:
            problems.append(p)
    if (
        isinstance(size_weight, bool)
        or not isinstance(size_weight, Real)
        or not (0.0 <= size_weight <= 1.0)
    ):
        problems.append(f"size_weight={size_weight!r} is not valid; expected a number in [0, 1]")
    as_of_day, p = _check_as_of(as_of)
    if p:
        problems.append(p)
    if not p_req:
        labels = _labels(requests)
        maxd = _numbers(requests, "max_distance_m")
        bad = np.isfinite(maxd) & (maxd <= 0) | np.isinf(maxd)
        if bad.any():
            problems.append(
                "requests.max_distance_m is not valid for "
                + _some(f"{lab} ({v:g})" for lab, v in zip(labels[bad], maxd[bad], strict=True))
                + "; expected a positive number of metres"
            )
        need = _numbers(requests, "space_needed_sqft")
        bad = ~(np.isfinite(need) & (need > 0))
        if bad.any():
            problems.append(
                "requests.space_needed_sqft is not valid for "
                + _some(f"{lab} ({v:g})" for lab, v in zip(labels[bad], need[bad], strict=True))
                + "; expected a positive number of square feet"
            )
    raise_if_any(problems)
    size_weight = float(size_weight)

    # who may see what
    # who may see what: other agencies' restricted requests and offers are withheld
    # before anything is matched or counted, and nothing says how many were
    requests = requests.iloc[np.flatnonzero(visible_mask(requests, viewer_agency=viewer_agency))]
    n_offer_rows = int(visible_mask(offers, viewer_agency=viewer_agency).sum())
    offers = offers_from_sites(offers, viewer_agency=viewer_agency)

    n_req, n_off = len(requests), len(offers)
    need = _numbers(requests, "space_needed_sqft")
    maxd = _numbers(requests, "max_distance_m")
    maxd = np.where(np.isfinite(maxd), maxd, float(default_max_distance))
    req_xy, req_located = point_coordinates(requests.geometry.to_numpy())
    off_xy, _ = point_coordinates(offers.geometry.to_numpy())
    cap = _numbers(offers, "surplus_sqft")
    req_use = np.array(
        [u if u in compatibility else "other" for u in _text(requests, "use_class")], dtype=object
    )
    off_use = _text(offers, "use_class")

    # agency identity over both tables
    both = pd.concat(
        [
            pd.DataFrame(
                {"sector": _text(requests, "sector"), "agency": _text(requests, "agency")}
            ),
            pd.DataFrame({"sector": _text(offers, "sector"), "agency": _text(offers, "agency")}),
        ],
        ignore_index=True,
    )
    codes, _ = agency_codes(both)
    req_agency, off_agency = codes[:n_req], codes[n_req:]

    # reach: a k-d tree over the offers
    located_pos = np.flatnonzero(req_located)
    if n_off and len(located_pos):
        from scipy.spatial import cKDTree

        tree = cKDTree(off_xy)
        hits = tree.query_ball_point(req_xy[located_pos], r=maxd[located_pos])
        lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        ri = np.repeat(located_pos, lengths)
        oi = (
            np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
            if lengths.sum()
            else np.zeros(0, dtype=np.int64)
        )
    else:
        ri = np.zeros(0, dtype=np.int64)
        oi = np.zeros(0, dtype=np.int64)
    d = np.hypot(*(req_xy[ri] - off_xy[oi]).T) if len(ri) else np.zeros(0)
    within = d <= maxd[ri]
    ri, oi, d = ri[within], oi[within], d[within]

    # the filters, in order; counts per request explain empty lists
    n_reach = np.bincount(ri, minlength=n_req)
    other = req_agency[ri] != off_agency[oi]
    n_other = np.bincount(ri[other], minlength=n_req)
    allowed = {(u, o) for u, uses in compatibility.items() for o in uses}
    pair_codes, pair_uniques = pd.factorize(
        pd.Series(req_use[ri], dtype="str") + "\x1f" + pd.Series(off_use[oi], dtype="str")
    )
    ok_pair = np.array([tuple(p.split("\x1f")) in allowed for p in pair_uniques], dtype=bool)
    use_ok = ok_pair[pair_codes] if len(pair_codes) else np.zeros(0, dtype=bool)
    n_use = np.bincount(ri[other & use_ok], minlength=n_req)
    lease = _dates(_text(offers, "lease_expiry"))
    needed_by = _dates(_text(requests, "needed_by"))
    ref_day = np.where(np.isnat(needed_by) | (needed_by < as_of_day), as_of_day, needed_by).astype(
        "datetime64[D]"
    )
    lease_pair = lease[oi]
    date_ok = np.isnat(lease_pair) | (lease_pair > ref_day[ri])
    keep = other & use_ok & date_ok
    ri, oi, d = ri[keep], oi[keep], d[keep]

    # scores and ranks
    offer_sqft = cap[oi]
    need_pair = need[ri]
    fit = np.minimum(offer_sqft, need_pair) / np.maximum(offer_sqft, need_pair)
    score = size_weight * fit + (1.0 - size_weight) * (1.0 - d / maxd[ri])
    order = np.lexsort((oi, d, -score, ri))
    ri, oi, d, fit, score = ri[order], oi[order], d[order], fit[order], score[order]
    offer_sqft, need_pair, lease_pair = offer_sqft[order], need_pair[order], lease[oi]
    n_cand = np.bincount(ri, minlength=n_req)
    starts = np.concatenate([[0], np.cumsum(n_cand)[:-1]])
    rank = np.arange(len(ri)) - starts[ri] + 1

    same_use = req_use[ri] == off_use[oi]
    size_text = [
        f"offers {o:,.0f} sq ft for {n:,.0f} needed ({f:.0%} fit)"
        for o, n, f in zip(offer_sqft, need_pair, fit, strict=True)
    ]
    use_text = [
        f"{ou} space for {_a(ru)} need" + ("" if same else " (compatible use)")
        for ou, ru, same in zip(off_use[oi], req_use[ri], same_use, strict=True)
    ]
    lease_text = np.where(
        np.isnat(lease_pair), "", np.char.add("; lease runs to ", lease_pair.astype(str))
    )
    reasons = [
        f"{s}; {dist}; {u}{lt}"
        for s, dist, u, lt in zip(size_text, _distance_text(d), use_text, lease_text, strict=True)
    ]

    req_ids = _text(requests, "request_id")
    req_refs = _text(requests, "source_ref")
    req_agency_text = _text(requests, "agency")
    site_ids = _text(offers, "site_id")
    off_names = _text(offers, "name")
    off_agency_text = _text(offers, "agency")
    candidates = pd.DataFrame(
        {
            "request": pd.array(requests.index.to_numpy()[ri], dtype=object),
            "request_id": pd.array(req_ids[ri], dtype="str"),
            "request_ref": pd.array(req_refs[ri], dtype="str"),
            "request_agency": pd.array(req_agency_text[ri], dtype="str"),
            "need_sqft": need_pair,
            "offer": pd.array(offers.index.to_numpy()[oi], dtype=object),
            "site_id": pd.array(site_ids[oi], dtype="str"),
            "offer_name": pd.array(off_names[oi], dtype="str"),
            "offer_agency": pd.array(off_agency_text[oi], dtype="str"),
            "offer_use_class": pd.array(off_use[oi], dtype="str"),
            "offer_sqft": offer_sqft,
            "distance_m": d,
            "size_fit": fit,
            "score": score,
            "rank": rank.astype(np.int64),
            "reasons": pd.array(reasons, dtype="str"),
        }
    )

    # per-request summary and reasons
    best = np.full(n_req, -1, dtype=np.int64)
    has = n_cand > 0
    best[has] = starts[has]
    largest = np.zeros(n_req)
    if len(ri):
        np.maximum.at(largest, ri, offer_sqft)
    locality = _text(requests, "locality")
    reason = []
    for i in range(n_req):
        mx = f"{maxd[i]:,.0f} m"
        if not req_located[i]:
            where = f" (placed only by its locality {locality[i]!r})" if locality[i] else ""
            reason.append(f"no point location{where}")
        elif n_off == 0:
            reason.append("there are no offers of spare space")
        elif n_reach[i] == 0:
            reason.append(f"no offer of spare space within {mx}")
        elif n_other[i] == 0:
            reason.append(f"the only offers within {mx} are the requester's own agency's")
        elif n_use[i] == 0:
            reason.append(
                f"no offer within {mx} suits {_a(req_use[i])} need "
                f"(it accepts {', '.join(compatibility[req_use[i]])} space)"
            )
        elif n_cand[i] == 0:
            by = str(ref_day[i])
            reason.append(f"every suitable offer within {mx} has a lease ending by {by}")
        elif largest[i] < need[i]:
            reason.append(
                f"needs {_sqft(need[i])}; the largest suitable offer within reach has "
                f"{_sqft(largest[i])}"
            )
        else:
            reason.append(f"{n_cand[i]:,} suitable offer{'s' if n_cand[i] != 1 else ''}")
    summary = pd.DataFrame(
        {
            "request_id": pd.array(req_ids, dtype="str"),
            "request_ref": pd.array(req_refs, dtype="str"),
            "agency": pd.array(req_agency_text, dtype="str"),
            "need_sqft": need,
            "use_class": pd.array(req_use, dtype="str"),
            "max_distance_m": maxd,
            "n_candidates": n_cand.astype(np.int64),
            "best_site_id": pd.array(
                np.where(has, site_ids[oi[np.maximum(best, 0)]] if len(oi) else "", ""),
                dtype="str",
            ),
            "best_offer_name": pd.array(
                np.where(has, off_names[oi[np.maximum(best, 0)]] if len(oi) else "", ""),
                dtype="str",
            ),
            "best_score": np.where(has, score[np.maximum(best, 0)] if len(oi) else np.nan, np.nan),
            "status": pd.array(np.where(has, "candidates", "unmatched"), dtype="str"),
            "reason": pd.array(reason, dtype="str"),
        },
        index=requests.index,
    )

    if n_req == 0:
        message = "No matches: there are no space requests."
    elif n_off == 0:
        why = "there are no sites"
        if n_offer_rows:
            why = "no site offers spare space (surplus_sqft > 0)"
        message = f"No matches: {why}."
    else:
        message = (
            f"{int(has.sum()):,} of {n_req:,} requests have candidates among {n_off:,} offers "
            f"({len(candidates):,} candidates)."
        )
    return MatchResult(
        candidates=candidates,
        requests=summary,
        offers=offers,
        request_points=gpd.GeoSeries(
            requests.geometry.to_numpy(), index=requests.index, crs=CRS_BNG
        ),
        message=message,
        size_weight=size_weight,
        _req_pos=ri,
        _off_pos=oi,
    )


# ---------------------------------------------------------------------------
# the plan


@dataclass
class AllocationPlan:
    """One allocation of requests to offers for the whole place.

    Attributes
    ----------
    assignments
        One row per (request, offer) assignment: ``request``, ``request_id``,
        ``request_ref``, ``request_agency``, ``need_sqft``, ``offer``,
        ``site_id``, ``offer_name``, ``offer_agency``, ``assigned_sqft``,
        ``distance_m``, ``score``, ``rank`` (the candidate's rank for its
        request) and ``reasons``.
    unmatched
        Requests the plan leaves without (all) their space: ``request_id``,
        ``request_ref``, ``agency``, ``need_sqft``, ``placed_sqft`` and ``reason``.
    offers
        Per offer considered, indexed like the input: ``site_id``, ``name``,
        ``agency``, ``capacity_sqft``, ``assigned_sqft``, ``remaining_sqft``.
    total_sqft
        Space matched, sq ft.
    saving_gbp
        Estimated annual saving, :func:`assetmap.savings.avoided_cost`.
    status
        ``"optimal"``, ``"time limit"`` or ``"nothing to allocate"``.
    gap
        ``(bound − matched) / bound``: how far the space matched may fall short
        of the best bound the solver proved (0.0 when optimal; ``None`` when
        there was nothing to solve).
    score_gap
        The same for the second criterion where a two-stage solve stopped early, else ``None``.
    allow_split
        Whether requests could be split between offers.
    message
        What the plan achieves, or why it is empty.
    solve_seconds
        Time spent in the solver.
    method
        How the plan was solved: ``"exact"`` (both criteria in one binary
        programme), ``"two-stage"`` (some group was too large: space first, then
        score among plans matching the same requests), ``"linear programme"``
        (splits allowed) or ``"none"``.
    saving_estimated
        Always True: the saving rests on the default cost of space.
    """

    assignments: pd.DataFrame
    unmatched: pd.DataFrame
    offers: pd.DataFrame
    total_sqft: float
    saving_gbp: float
    status: str
    gap: float | None
    score_gap: float | None
    allow_split: bool
    message: str
    solve_seconds: float
    match: MatchResult = field(repr=False)
    method: str = "none"
    saving_estimated: bool = True
    _req_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _off_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    @property
    def empty(self) -> bool:
        """Whether nothing was assigned."""
        return len(self.assignments) == 0

    def lines(self) -> gpd.GeoDataFrame:
        """Each assignment as a LineString from the offer to the request (EPSG:27700)."""
        return _lines(self.match, self.assignments, self._req_pos, self._off_pos)

    def table(self) -> pd.DataFrame:
        """Assignments and unmatched requests in one table, one row per assignment or request."""
        a = self.assignments.assign(status="assigned", reason="")
        u = self.unmatched.reset_index(names="request").rename(columns={"agency": "request_agency"})
        u = u.assign(status="unmatched")
        cols = [
            "status",
            "request_ref",
            "request_id",
            "request_agency",
            "need_sqft",
            "site_id",
            "offer_name",
            "offer_agency",
            "assigned_sqft",
            "distance_m",
            "score",
            "reasons",
            "reason",
        ]
        parts = [p.reindex(columns=cols) for p in (a, u) if len(p)]
        if not parts:
            return a.reindex(columns=cols)
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return out.reset_index(drop=True)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Map layers: ``assignments`` and ``candidates`` (lines), ``unmatched`` (points)."""
        un = self.unmatched.reset_index(names="request")
        un["request"] = un["request"].astype(str)
        points = self.match.request_points.reindex(self.unmatched.index).to_numpy()
        unmatched = gpd.GeoDataFrame(un, geometry=points, crs=CRS_BNG)
        out = {}
        for name, frame in (("assignments", self.lines()), ("candidates", self.match.lines())):
            frame = frame.copy()
            frame["request"] = frame["request"].astype(str)
            frame["offer"] = frame["offer"].astype(str)
            out[name] = frame
        out["unmatched"] = unmatched
        return out

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write :meth:`table` to a CSV file (through a temporary file)."""
        return write_csv(self.table(), path)

    def to_gpkg(self, path: str | os.PathLike) -> Path:
        """Write :meth:`layers` to a GeoPackage (through a temporary file)."""
        types = {"assignments": "LineString", "candidates": "LineString", "unmatched": "Point"}
        return write_geopackage(self.layers(), path, geometry_types=types)


@dataclass
class _Solution:
    x: np.ndarray  # value per candidate pair (binary, or sq ft when split)
    primary: float  # space matched by this subproblem's solution
    bound: float  # best bound on the space matched
    stopped: bool  # whether a time limit stopped the solver
    score_gap: float | None = None


def _milp(c, a_rows, b_lo, b_hi, time_limit, *, integral=True, gap=0.0):
    from scipy.optimize import Bounds, LinearConstraint, milp

    constraints = [
        LinearConstraint(a, lo, hi) for a, lo, hi in zip(a_rows, b_lo, b_hi, strict=True)
    ]
    options = {
        "time_limit": max(float(time_limit), 0.05),
        "mip_rel_gap": gap,
        "presolve": len(c) <= 20_000,
    }
    return milp(
        c,
        integrality=np.ones(len(c)) if integral else np.zeros(len(c)),
        bounds=Bounds(0, 1),
        constraints=constraints,
        options=options,
    )


def _rows(n_rows: int, row_of: np.ndarray, weights: np.ndarray):
    from scipy.sparse import csr_array

    k = len(row_of)
    return csr_array((weights, (row_of, np.arange(k))), shape=(n_rows, k))


def _bound(res, fallback: float) -> float:
    """The solver's proved bound on the space matched (its dual bound, whole sq ft)."""
    dual = getattr(res, "mip_dual_bound", None)
    if dual is None or not np.isfinite(dual):
        return fallback
    return float(math.floor(-dual + 1e-6))


def _solve_exact(need, cap, r, o, score, time_limit) -> _Solution:
    """Both criteria at once: objective need + score / (R + 1) per assignment."""
    r_u, r_loc = np.unique(r, return_inverse=True)
    o_u, o_loc = np.unique(o, return_inverse=True)
    n_r = len(r_u)
    c = -(need[r] + score / (n_r + 1))
    res = _milp(
        c,
        [_rows(n_r, r_loc, np.ones(len(r))), _rows(len(o_u), o_loc, need[r])],
        [-np.inf, -np.inf],
        [np.ones(n_r), cap[o_u]],
        time_limit,
    )
    stopped = res.status != 0
    if res.x is None:
        return _Solution(np.zeros(len(r)), 0.0, float(need[r_u].sum()), True)
    x = (res.x > 0.5).astype(float)
    primary = float((need[r] * x).sum())
    bound = _bound(res, float(need[r_u].sum())) if stopped else primary
    return _Solution(x, primary, max(bound, primary), stopped)


def _solve_staged(need, cap, r, o, score, time_limit) -> _Solution:
    """Space first, then score among plans that match the same requests."""
    started = time.perf_counter()
    r_u, r_loc = np.unique(r, return_inverse=True)
    o_u, o_loc = np.unique(o, return_inverse=True)
    n_r, n_o = len(r_u), len(o_u)
    res = _milp(
        -need[r],
        [_rows(n_r, r_loc, np.ones(len(r))), _rows(n_o, o_loc, need[r])],
        [-np.inf, -np.inf],
        [np.ones(n_r), cap[o_u]],
        0.7 * time_limit,
    )
    if res.x is None:
        return _Solution(np.zeros(len(r)), 0.0, float(need[r_u].sum()), True)
    x = (res.x > 0.5).astype(float)
    primary = float((need[r] * x).sum())
    stopped = res.status != 0
    bound = _bound(res, float(need[r_u].sum())) if stopped else primary
    # stage 2: the same requests matched, the best score
    matched = np.zeros(n_r, dtype=bool)
    matched[r_loc[x > 0.5]] = True
    sub = matched[r_loc]
    remaining = time_limit - (time.perf_counter() - started)
    score_gap = None
    if sub.any() and remaining > 0.1:
        m_u, m_loc = np.unique(r_loc[sub], return_inverse=True)
        res2 = _milp(
            -score[sub],
            [_rows(len(m_u), m_loc, np.ones(int(sub.sum()))), _rows(n_o, o_loc[sub], need[r][sub])],
            [np.ones(len(m_u)), -np.inf],
            [np.ones(len(m_u)), cap[o_u]],
            remaining,
        )
        if res2.x is not None:
            x2 = np.zeros(len(r))
            x2[sub] = (res2.x > 0.5).astype(float)
            if (score * x2).sum() >= (score * x).sum() and abs(
                (need[r] * x2).sum() - primary
            ) < 0.5:
                x = x2
            if res2.status != 0:
                score_gap = float(res2.mip_gap) if np.isfinite(res2.mip_gap) else None
                stopped = True
        else:
            stopped = True
    return _Solution(x, primary, max(bound, primary), stopped, score_gap)


def _solve_split(need, cap, r, o, score, time_limit) -> _Solution:
    """Transportation LP: space first, then score per share of each request placed."""
    from scipy.optimize import linprog
    from scipy.sparse import vstack

    started = time.perf_counter()
    r_u, r_loc = np.unique(r, return_inverse=True)
    o_u, o_loc = np.unique(o, return_inverse=True)
    k = len(r)
    a = vstack([_rows(len(r_u), r_loc, np.ones(k)), _rows(len(o_u), o_loc, np.ones(k))]).tocsr()
    b = np.concatenate([need[r_u], cap[o_u]])
    upper = np.minimum(need[r], cap[o])
    bounds = np.column_stack([np.zeros(k), upper])
    res = linprog(
        -np.ones(k),
        A_ub=a,
        b_ub=b,
        bounds=bounds,
        method="highs",
        options={"time_limit": max(time_limit, 0.05)},
    )
    if res.status != 0 or res.x is None:
        return _Solution(np.zeros(k), 0.0, float(need[r_u].sum()), True)
    flow = float(res.x.sum())
    remaining = time_limit - (time.perf_counter() - started)
    per_sqft = score / need[r]
    res2 = linprog(
        -per_sqft,
        A_ub=vstack([a, -np.ones((1, k))]).tocsr(),
        # keep the first LP's flow: the slack (1e-4 sq ft) only absorbs the solver's tolerance
        b_ub=np.concatenate([b, [-(flow - 1e-4)]]),
        bounds=bounds,
        method="highs",
        options={"time_limit": max(remaining, 0.05)},
    )
    x = res2.x if res2.status == 0 and res2.x is not None else res.x
    x = np.clip(x, 0, upper)
    x[x < 1e-6] = 0.0
    return _Solution(x, float(x.sum()), float(x.sum()), res2.status != 0)


def allocate(
    match: MatchResult,
    *,
    allow_split: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT_S,
    cost_per_sqft: float = DEFAULT_COST_PER_SQFT,
) -> AllocationPlan:
    """Assign requests to offers for the whole place, matching the most space.

    Parameters
    ----------
    match
        Candidates from :func:`find_candidates`.
    allow_split
        Whether a request may be served by several offers.
    time_limit
        Seconds the solver may take, > 0; when it stops the solver the plan
        reports the optimality gap.
    cost_per_sqft
        The default cost of new space, £ per sq ft a year, for the saving.

    Returns
    -------
    AllocationPlan

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong.

    Examples
    --------
    >>> plan = allocate(find_candidates(store.requests(), store.sites()))  # doctest: +SKIP
    >>> print(plan.message)  # doctest: +SKIP
    >>> plan.assignments[["request_id", "offer_name", "assigned_sqft"]]  # doctest: +SKIP
    """
    problems = []
    if not isinstance(match, MatchResult):
        problems.append(
            f"match is a {type(match).__name__}; expected the MatchResult of find_candidates"
        )
    if not isinstance(allow_split, bool):
        problems.append(f"allow_split={allow_split!r} is not valid; expected True or False")
    if p := check_positive("time_limit", time_limit, "a positive number of seconds"):
        problems.append(p)
    try:
        check_cost_per_sqft(cost_per_sqft)
    except InvalidArgumentError as exc:
        problems.append(str(exc))
    raise_if_any(problems)

    cand = match.candidates
    req_pos, off_pos = match._req_pos, match._off_pos
    n_req, n_off = len(match.requests), len(match.offers)
    need = match.requests["need_sqft"].to_numpy(dtype=float)
    need_int = np.maximum(np.round(need), 1.0)
    cap = _numbers(match.offers, "surplus_sqft")
    score = cand["score"].to_numpy(dtype=float)

    # eligible pairs: whole requests need an offer at least their size
    eligible = np.ones(len(cand), dtype=bool) if allow_split else cap[off_pos] >= need[req_pos]
    r, o, s = req_pos[eligible], off_pos[eligible], score[eligible]
    started = time.perf_counter()
    x = np.zeros(len(r))
    primary = bound = 0.0
    stopped = False
    score_gaps: list[float] = []
    method = "none"
    if len(r):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(len(r)), (r, n_req + o)), shape=(n_req + n_off,) * 2)
        _, comp = connected_components(graph, directed=False)
        pair_comp = comp[r]
        sizes = np.bincount(pair_comp)
        small = sizes[pair_comp] <= EXACT_GROUP_LIMIT
        groups = [np.flatnonzero(small)] if small.any() else []
        big = np.unique(pair_comp[~small])
        groups += [np.flatnonzero(pair_comp == g) for g in big]
        work = sum(len(g) for g in groups)
        for gi, g in enumerate(groups):
            remaining = time_limit - (time.perf_counter() - started)
            budget = remaining * len(g) / max(work, 1)
            work -= len(g)
            if allow_split:
                solver = _solve_split
                method = "linear programme"
            elif gi == 0 and small.any():
                solver = _solve_exact
                method = method if method != "none" else "exact"
            else:
                solver = _solve_staged
                method = "two-stage"
            sol = solver(
                need_int if not allow_split else need, cap, r[g], o[g], s[g], max(budget, 0.05)
            )
            x[g] = sol.x
            primary += sol.primary
            bound += sol.bound
            stopped |= sol.stopped
            if sol.score_gap is not None:
                score_gaps.append(sol.score_gap)
    solve_seconds = time.perf_counter() - started

    chosen = np.flatnonzero(x > 0)
    assigned = x[chosen] * (need[r[chosen]] if not allow_split else 1.0)
    pick = np.flatnonzero(eligible)[chosen]
    a = cand.iloc[pick].reset_index(drop=True)
    assignments = pd.DataFrame(
        {
            "request": a["request"],
            "request_id": a["request_id"],
            "request_ref": a["request_ref"],
            "request_agency": a["request_agency"],
            "need_sqft": a["need_sqft"],
            "offer": a["offer"],
            "site_id": a["site_id"],
            "offer_name": a["offer_name"],
            "offer_agency": a["offer_agency"],
            "assigned_sqft": assigned,
            "distance_m": a["distance_m"],
            "score": a["score"],
            "rank": a["rank"],
            "reasons": a["reasons"],
        }
    )
    total = float(assigned.sum())

    placed = np.bincount(r[chosen], weights=assigned, minlength=n_req)
    used = np.bincount(o[chosen], weights=assigned, minlength=n_off)
    offers_table = pd.DataFrame(
        {
            "site_id": pd.array(_text(match.offers, "site_id"), dtype="str"),
            "name": pd.array(_text(match.offers, "name"), dtype="str"),
            "agency": pd.array(_text(match.offers, "agency"), dtype="str"),
            "capacity_sqft": cap,
            "assigned_sqft": used,
            "remaining_sqft": cap - used,
        },
        index=match.offers.index,
    )

    # why each request left short is unmatched
    n_elig = np.bincount(req_pos[eligible], minlength=n_req)
    n_cand = match.requests["n_candidates"].to_numpy()
    short = placed < need - 0.5
    reasons = []
    summary_reason = match.requests["reason"].to_numpy(dtype=object)
    largest = np.zeros(n_req)
    if len(req_pos):
        np.maximum.at(largest, req_pos, cap[off_pos])
    reach_total = np.bincount(req_pos, weights=cap[off_pos], minlength=n_req)
    for i in np.flatnonzero(short):
        if n_cand[i] == 0:
            reasons.append(str(summary_reason[i]))
        elif not allow_split and n_elig[i] == 0:
            reasons.append(
                f"needs {_sqft(need[i])}; the largest suitable offer within reach has "
                f"{_sqft(largest[i])} (allowing splits could combine offers)"
            )
        elif placed[i] > 0 and reach_total[i] < need[i] - 0.5:
            reasons.append(
                f"{_sqft(placed[i])} of {_sqft(need[i])} placed; its candidate offers have "
                f"{_sqft(reach_total[i])} in all"
            )
        elif placed[i] > 0:
            reasons.append(
                f"{_sqft(placed[i])} of {_sqft(need[i])} placed; the rest of its candidates' "
                "space went to other requests"
            )
        else:
            reasons.append(
                f"the spare space at its {n_elig[i]:,} eligible offer"
                f"{'s' if n_elig[i] != 1 else ''} went to other requests: the plan matches "
                "more space in total that way"
            )
    rq = match.requests
    unmatched = pd.DataFrame(
        {
            "request_id": rq["request_id"].to_numpy()[short],
            "request_ref": rq["request_ref"].to_numpy()[short],
            "agency": rq["agency"].to_numpy()[short],
            "need_sqft": need[short],
            "placed_sqft": placed[short],
            "reason": pd.array(reasons, dtype="str"),
        },
        index=rq.index[short],
    )
    for col in ("request_id", "request_ref", "agency"):
        unmatched[col] = unmatched[col].astype("str")

    saving = float(avoided_cost(total, cost_per_sqft=cost_per_sqft))
    gap = None
    if len(r):
        gap = 0.0 if not stopped else max(bound - primary, 0.0) / max(bound, 1.0)
    score_gap = max(score_gaps) if score_gaps else None
    if len(r) == 0:
        status = "nothing to allocate"
    else:
        status = "time limit" if stopped else "optimal"
    if n_req == 0 or n_off == 0 or match.empty:
        message = f"Nothing to allocate. {match.message}"
    elif len(r) == 0:
        message = (
            "Nothing to allocate: no request has an offer at least as large as its need "
            "(allowing splits could combine offers)."
        )
    else:
        n_done = int((~short).sum())
        message = (
            f"{n_done:,} of {n_req:,} requests matched: {total:,.0f} sq ft in "
            f"{len(assignments):,} assignment{'s' if len(assignments) != 1 else ''}, "
            f"saving an estimated £{saving:,.0f} a year at £{cost_per_sqft:,.2f} per sq ft."
        )
        if stopped:
            message += (
                f" The time limit ({time_limit:g} s) stopped the solver: the space matched is "
                f"within {gap:.3%} of the best bound it proved"
                + (f" (score gap {score_gap:.3%})" if score_gap is not None else "")
                + "."
            )
        elif method == "two-stage":
            message += (
                " The space matched is optimal; distance and fit are optimised among plans "
                "that match the same requests."
            )
        else:
            message += " The plan is optimal."
    return AllocationPlan(
        assignments=assignments,
        unmatched=unmatched,
        offers=offers_table,
        total_sqft=total,
        saving_gbp=saving,
        status=status,
        gap=gap,
        score_gap=score_gap,
        allow_split=allow_split,
        message=message,
        solve_seconds=solve_seconds,
        match=match,
        method=method,
        _req_pos=r[chosen],
        _off_pos=o[chosen],
    )
