"""Candidates: the offers that could serve each space request, ranked, with reasons in words.

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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from numbers import Real

import geopandas as gpd
import numpy as np
import pandas as pd

from .._validate import check_frame, check_positive, raise_if_any
from ..access import check_viewer, visible_mask
from ..colocation import agency_codes
from ..savings import column_numbers
from ..schema import CRS_BNG, USE_CLASSES, approximate_mask, point_coordinates
from .result import (
    OFFER_REQUIRED,
    SIZE_WEIGHT,
    MatchResult,
    a_or_an,
    offers_from_sites,
    some,
    sqft,
    text,
)

__all__ = ["DEFAULT_MAX_DISTANCE_M", "USE_COMPATIBILITY", "find_candidates"]

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
#: Reach of a request that gives no maximum distance, metres (as the importer assumes).
DEFAULT_MAX_DISTANCE_M = 10_000.0

_REQUEST_REQUIRED = ("agency", "sector", "space_needed_sqft")


def _dates(values: np.ndarray) -> np.ndarray:
    """Return ISO date text as datetime64[D] (NaT where missing or not a date)."""
    day = pd.Series(values, dtype="str").fillna("").str.strip().str[:10]
    parsed = pd.to_datetime(day.where(day != ""), format="ISO8601", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[D]")


def _labels(frame: pd.DataFrame) -> np.ndarray:
    """Return how to name each request in messages: its reference, else its id, else its label."""
    ref = text(frame, "source_ref")
    rid = text(frame, "request_id")
    idx = frame.index.astype(str).to_numpy(dtype=object)
    return np.where(ref != "", ref, np.where(rid != "", rid, idx))


def _distance_text(d: np.ndarray) -> np.ndarray:
    return np.where(
        d < 1000,
        np.char.add(np.round(d).astype(np.int64).astype(str), " m away"),
        np.char.add(np.char.mod("%.1f", d / 1000.0), " km away"),
    )


# ---------------------------------------------------------------------------
# the checks


def _check_as_of(as_of: object) -> tuple[np.datetime64, str | None]:
    """Return the day leases must outlast, or what is wrong with ``as_of``."""
    if as_of is None:
        return np.datetime64(date.today(), "D"), None
    if isinstance(as_of, (date, pd.Timestamp, str)):
        parsed = pd.to_datetime(str(as_of)[:10], format="ISO8601", errors="coerce")
        if not pd.isna(parsed):
            return np.datetime64(parsed.date(), "D"), None
    problem = f"as_of={as_of!r} is not valid; expected None, a date or an ISO date text"
    return np.datetime64("NaT", "D"), problem


def _check_compatibility(table: object) -> str | None:
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


def _check_size_weight(size_weight: object) -> str | None:
    if (
        isinstance(size_weight, bool)
        or not isinstance(size_weight, Real)
        or not (0.0 <= float(size_weight) <= 1.0)
    ):
        return f"size_weight={size_weight!r} is not valid; expected a number in [0, 1]"
    return None


def _check_request_figures(requests: pd.DataFrame) -> list[str]:
    """Return the requests whose maximum distance or space needed is not a positive number.

    A request needing 0 sq ft is closed (its space was found): it is skipped, not refused.
    """
    problems = []
    labels = _labels(requests)
    for column, bad_of, expected in (
        (
            "max_distance_m",
            lambda v: np.isfinite(v) & (v <= 0) | np.isinf(v),
            "a positive number of metres",
        ),
        (
            "space_needed_sqft",
            lambda v: ~(np.isfinite(v) & (v >= 0)),
            "a number of square feet, 0 (closed) or more",
        ),
    ):
        values = column_numbers(requests, column)
        bad = bad_of(values)
        if bad.any():
            problems.append(
                f"requests.{column} is not valid for "
                + some(f"{lab} ({v:g})" for lab, v in zip(labels[bad], values[bad], strict=True))
                + f"; expected {expected}"
            )
    return problems


# ---------------------------------------------------------------------------
# the steps


@dataclass
class _Sides:
    """The visible requests and the offers, as arrays aligned to each."""

    requests: gpd.GeoDataFrame
    offers: gpd.GeoDataFrame
    n_offer_rows: int  # visible site rows, offering space or not
    n_approximate_offers: int  # visible offers left out as placed only approximately
    req_approximate: np.ndarray  # requests placed only approximately, not matched
    need: np.ndarray
    maxd: np.ndarray
    req_xy: np.ndarray
    req_located: np.ndarray
    req_use: np.ndarray
    req_agency: np.ndarray
    ref_day: np.ndarray  # the day each request's offers' leases must outlast
    off_xy: np.ndarray
    cap: np.ndarray
    off_use: np.ndarray
    off_agency: np.ndarray
    lease: np.ndarray


def _sides(
    requests: gpd.GeoDataFrame,
    offers: gpd.GeoDataFrame,
    *,
    viewer_agency: str | None,
    default_max_distance: float,
    compatibility: dict[str, tuple[str, ...]],
    as_of_day: np.datetime64,
    include_approximate: bool,
) -> _Sides:
    """Withhold what the viewer may not see, and read both tables' columns."""
    # other agencies' restricted requests and offers are withheld before anything is
    # matched or counted, and nothing says how many were; a closed request (0 sq ft
    # needed: its space was found) is skipped
    still_open = column_numbers(requests, "space_needed_sqft") > 0
    requests = requests.iloc[np.flatnonzero(visible_mask(requests, viewer_agency) & still_open)]
    n_offer_rows = int(visible_mask(offers, viewer_agency).sum())
    offers = offers_from_sites(offers, viewer_agency=viewer_agency)
    approximate = approximate_mask(offers) & (not include_approximate)
    offers = offers.iloc[np.flatnonzero(~approximate)]
    maxd = column_numbers(requests, "max_distance_m")
    req_xy, req_located = point_coordinates(requests.geometry.to_numpy())
    req_approximate = req_located & approximate_mask(requests) & (not include_approximate)
    off_xy, _ = point_coordinates(offers.geometry.to_numpy())
    # agency identity over both tables
    both = pd.concat(
        [
            pd.DataFrame({"sector": text(requests, "sector"), "agency": text(requests, "agency")}),
            pd.DataFrame({"sector": text(offers, "sector"), "agency": text(offers, "agency")}),
        ],
        ignore_index=True,
    )
    codes, _ = agency_codes(both)
    needed_by = _dates(text(requests, "needed_by"))
    ref_day = np.where(np.isnat(needed_by) | (needed_by < as_of_day), as_of_day, needed_by)
    return _Sides(
        requests=requests,
        offers=offers,
        n_offer_rows=n_offer_rows,
        n_approximate_offers=int(approximate.sum()),
        req_approximate=req_approximate,
        need=column_numbers(requests, "space_needed_sqft"),
        maxd=np.where(np.isfinite(maxd), maxd, float(default_max_distance)),
        req_xy=req_xy,
        req_located=req_located & ~req_approximate,
        req_use=np.array(
            [u if u in compatibility else "other" for u in text(requests, "use_class")],
            dtype=object,
        ),
        req_agency=codes[: len(requests)],
        ref_day=ref_day.astype("datetime64[D]"),
        off_xy=off_xy,
        cap=column_numbers(offers, "surplus_sqft"),
        off_use=text(offers, "use_class"),
        off_agency=codes[len(requests) :],
        lease=_dates(text(offers, "lease_expiry")),
    )


def _within_reach(sides: _Sides) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return every (request, offer) pair within the request's reach, and its distance."""
    located_pos = np.flatnonzero(sides.req_located)
    ri = np.zeros(0, dtype=np.int64)
    oi = np.zeros(0, dtype=np.int64)
    if len(sides.offers) and len(located_pos):
        from scipy.spatial import cKDTree

        tree = cKDTree(sides.off_xy)
        hits = tree.query_ball_point(sides.req_xy[located_pos], r=sides.maxd[located_pos])
        lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        ri = np.repeat(located_pos, lengths)
        if lengths.sum():
            oi = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    d = np.hypot(*(sides.req_xy[ri] - sides.off_xy[oi]).T) if len(ri) else np.zeros(0)
    within = d <= sides.maxd[ri]
    return ri[within], oi[within], d[within]


@dataclass
class _Counts:
    """Per request, the offers that pass each test in turn: they explain empty lists."""

    reach: np.ndarray
    other: np.ndarray  # ... and are another agency's
    use: np.ndarray  # ... and suit the use


def _passing(
    sides: _Sides, ri: np.ndarray, oi: np.ndarray, compatibility: dict[str, tuple[str, ...]]
) -> tuple[np.ndarray, _Counts]:
    """Return which pairs pass the agency, use and date tests, and the counts per request."""
    n_req = len(sides.requests)
    other = sides.req_agency[ri] != sides.off_agency[oi]
    allowed = {(u, o) for u, uses in compatibility.items() for o in uses}
    pair_codes, pair_uniques = pd.factorize(
        pd.Series(sides.req_use[ri], dtype="str")
        + "\x1f"
        + pd.Series(sides.off_use[oi], dtype="str")
    )
    ok_pair = np.array([tuple(p.split("\x1f")) in allowed for p in pair_uniques], dtype=bool)
    use_ok = ok_pair[pair_codes] if len(pair_codes) else np.zeros(0, dtype=bool)
    lease_pair = sides.lease[oi]
    date_ok = np.isnat(lease_pair) | (lease_pair > sides.ref_day[ri])
    counts = _Counts(
        reach=np.bincount(ri, minlength=n_req),
        other=np.bincount(ri[other], minlength=n_req),
        use=np.bincount(ri[other & use_ok], minlength=n_req),
    )
    return other & use_ok & date_ok, counts


@dataclass
class _Ranked:
    """The candidates, by request then rank."""

    ri: np.ndarray
    oi: np.ndarray
    d: np.ndarray
    fit: np.ndarray
    score: np.ndarray
    rank: np.ndarray
    n_cand: np.ndarray  # per request
    starts: np.ndarray  # each request's first candidate


def _ranked(
    sides: _Sides, ri: np.ndarray, oi: np.ndarray, d: np.ndarray, size_weight: float
) -> _Ranked:
    """Score the candidates and rank them by score, then distance, for each request."""
    offer_sqft = sides.cap[oi]
    need_pair = sides.need[ri]
    fit = np.minimum(offer_sqft, need_pair) / np.maximum(offer_sqft, need_pair)
    score = size_weight * fit + (1.0 - size_weight) * (1.0 - d / sides.maxd[ri])
    order = np.lexsort((oi, d, -score, ri))
    ri, oi = ri[order], oi[order]
    n_cand = np.bincount(ri, minlength=len(sides.requests))
    starts = np.concatenate([[0], np.cumsum(n_cand)[:-1]])
    return _Ranked(
        ri=ri,
        oi=oi,
        d=d[order],
        fit=fit[order],
        score=score[order],
        rank=(np.arange(len(ri)) - starts[ri] + 1).astype(np.int64),
        n_cand=n_cand,
        starts=starts,
    )


def _candidate_reasons(sides: _Sides, c: _Ranked) -> list[str]:
    """Return each candidate's reasons in words: size, distance, use and lease."""
    off_use, req_use = sides.off_use[c.oi], sides.req_use[c.ri]
    lease_pair = sides.lease[c.oi]
    size_text = [
        f"offers {o:,.0f} sq ft for {n:,.0f} needed ({f:.0%} fit)"
        for o, n, f in zip(sides.cap[c.oi], sides.need[c.ri], c.fit, strict=True)
    ]
    use_text = [
        f"{ou} space for {a_or_an(ru)} need" + ("" if ou == ru else " (compatible use)")
        for ou, ru in zip(off_use, req_use, strict=True)
    ]
    lease_text = np.where(
        np.isnat(lease_pair), "", np.char.add("; lease runs to ", lease_pair.astype(str))
    )
    return [
        f"{s}; {dist}; {u}{lt}"
        for s, dist, u, lt in zip(size_text, _distance_text(c.d), use_text, lease_text, strict=True)
    ]


def _candidate_table(sides: _Sides, c: _Ranked) -> pd.DataFrame:
    """Return the candidates' table, one row per candidate."""
    requests, offers = sides.requests, sides.offers

    def strings(
        frame: pd.DataFrame, column: str, pos: np.ndarray
    ) -> pd.api.extensions.ExtensionArray:
        return pd.array(text(frame, column)[pos], dtype="str")

    return pd.DataFrame(
        {
            "request": pd.array(requests.index.to_numpy()[c.ri], dtype=object),
            "request_id": strings(requests, "request_id", c.ri),
            "request_ref": strings(requests, "source_ref", c.ri),
            "request_agency": strings(requests, "agency", c.ri),
            "need_sqft": sides.need[c.ri],
            "offer": pd.array(offers.index.to_numpy()[c.oi], dtype=object),
            "site_id": strings(offers, "site_id", c.oi),
            "offer_name": strings(offers, "name", c.oi),
            "offer_agency": strings(offers, "agency", c.oi),
            "offer_use_class": pd.array(sides.off_use[c.oi], dtype="str"),
            "offer_sqft": sides.cap[c.oi],
            "distance_m": c.d,
            "size_fit": c.fit,
            "score": c.score,
            "rank": c.rank,
            "reasons": pd.array(_candidate_reasons(sides, c), dtype="str"),
        }
    )


def _request_reasons(
    sides: _Sides, c: _Ranked, counts: _Counts, compatibility: dict[str, tuple[str, ...]]
) -> list[str]:
    """Return, per request, how many suitable offers it has, or why it has none."""
    largest = np.zeros(len(sides.requests))
    if len(c.ri):
        np.maximum.at(largest, c.ri, sides.cap[c.oi])
    locality = text(sides.requests, "locality")
    no_offers = len(sides.offers) == 0
    reasons = []
    for i in range(len(sides.requests)):
        mx = f"{sides.maxd[i]:,.0f} m"
        if not sides.req_located[i]:
            reasons.append(_unplaced(sides, i, locality[i]))
        elif no_offers:
            reasons.append("there are no offers of spare space")
        elif counts.reach[i] == 0:
            reasons.append(f"no offer of spare space within {mx}")
        elif counts.other[i] == 0:
            reasons.append(f"the only offers within {mx} are the requester's own agency's")
        elif counts.use[i] == 0:
            reasons.append(
                f"no offer within {mx} suits {a_or_an(sides.req_use[i])} need "
                f"(it accepts {', '.join(compatibility[sides.req_use[i]])} space)"
            )
        elif c.n_cand[i] == 0:
            reasons.append(
                f"every suitable offer within {mx} has a lease ending by {sides.ref_day[i]!s}"
            )
        elif largest[i] < sides.need[i]:
            reasons.append(
                f"needs {sqft(sides.need[i])}; the largest suitable offer within reach has "
                f"{sqft(largest[i])}"
            )
        else:
            reasons.append(f"{c.n_cand[i]:,} suitable offer{'s' if c.n_cand[i] != 1 else ''}")
    return reasons


def _unplaced(sides: _Sides, i: int, locality: str) -> str:
    """Say why request ``i``, which is not matched by its point, has no candidates."""
    if sides.req_approximate[i]:
        return _APPROXIMATE_REQUEST
    where = f" (placed only by its locality {locality!r})" if locality else ""
    return f"no point location{where}"


_APPROXIMATE_REQUEST = (
    "placed only approximately (at the centre of a postcode district or sector): "
    "matched only when approximate locations are included"
)


def _request_summary(sides: _Sides, c: _Ranked, reasons: list[str]) -> pd.DataFrame:
    """Return one row per request: its best candidate, its status and the reason."""
    requests = sides.requests
    has = c.n_cand > 0
    best = np.where(has, c.starts, 0)  # a valid position where there is no candidate

    def best_text(column: str) -> pd.api.extensions.ExtensionArray:
        values = text(sides.offers, column)[c.oi[best]] if len(c.oi) else ""
        return pd.array(np.where(has, values, ""), dtype="str")

    return pd.DataFrame(
        {
            "request_id": pd.array(text(requests, "request_id"), dtype="str"),
            "request_ref": pd.array(text(requests, "source_ref"), dtype="str"),
            "agency": pd.array(text(requests, "agency"), dtype="str"),
            "need_sqft": sides.need,
            "use_class": pd.array(sides.req_use, dtype="str"),
            "max_distance_m": sides.maxd,
            "n_candidates": c.n_cand.astype(np.int64),
            "best_site_id": best_text("site_id"),
            "best_offer_name": best_text("name"),
            "best_score": np.where(has, c.score[best] if len(c.oi) else np.nan, np.nan),
            "status": pd.array(np.where(has, "candidates", "unmatched"), dtype="str"),
            "reason": pd.array(reasons, dtype="str"),
        },
        index=requests.index,
    )


def _message(sides: _Sides, c: _Ranked) -> str:
    return _found(sides, c) + _approximate_left_out(sides)


def _approximate_left_out(sides: _Sides) -> str:
    """Say how many offers and requests were left out as placed only approximately."""
    parts = []
    if n := sides.n_approximate_offers:
        parts.append(f"{n:,} offer{'s' if n != 1 else ''}")
    if n := int(sides.req_approximate.sum()):
        parts.append(f"{n:,} request{'s' if n != 1 else ''}")
    if not parts:
        return ""
    return (
        f" Left out as placed only approximately (at the centre of a postcode district or "
        f"sector): {' and '.join(parts)}."
    )


def _found(sides: _Sides, c: _Ranked) -> str:
    n_req, n_off = len(sides.requests), len(sides.offers)
    if n_req == 0:
        return "No matches: there are no open space requests."
    if n_off == 0:
        why = "there are no sites"
        if sides.n_offer_rows:
            why = "no site offers spare space (surplus_sqft > 0)"
        return f"No matches: {why}."
    return (
        f"{int((c.n_cand > 0).sum()):,} of {n_req:,} requests have candidates among "
        f"{n_off:,} offers ({len(c.ri):,} candidates)."
    )


def find_candidates(
    requests: gpd.GeoDataFrame,
    offers: gpd.GeoDataFrame,
    *,
    viewer_agency: str | None = None,
    as_of: date | str | None = None,
    default_max_distance: float = DEFAULT_MAX_DISTANCE_M,
    size_weight: float = SIZE_WEIGHT,
    compatibility: dict[str, tuple[str, ...]] | None = None,
    include_approximate: bool = False,
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
    include_approximate
        Whether offers and requests placed only approximately (``location_precision``
        a postcode sector or district: at the centre of that area) take part. By
        default such offers are left out and such requests get no candidates (their
        reason says why), and the message says how many.

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
    p_req, requests = check_frame("requests", requests, _REQUEST_REQUIRED)
    p_off, offers = check_frame("offers", offers, OFFER_REQUIRED)
    as_of_day, p_as_of = _check_as_of(as_of)
    problems = p_req + p_off
    problems += [
        p
        for p in (
            check_positive("default_max_distance", default_max_distance),
            check_viewer(viewer_agency),
            _check_compatibility(compatibility),
            _check_size_weight(size_weight),
            p_as_of,
        )
        if p
    ]
    if not p_req:
        problems += _check_request_figures(requests)
    raise_if_any(problems)

    sides = _sides(
        requests,
        offers,
        viewer_agency=viewer_agency,
        default_max_distance=default_max_distance,
        compatibility=compatibility,
        as_of_day=as_of_day,
        include_approximate=bool(include_approximate),
    )
    ri, oi, d = _within_reach(sides)
    keep, counts = _passing(sides, ri, oi, compatibility)
    c = _ranked(sides, ri[keep], oi[keep], d[keep], float(size_weight))
    reasons = _request_reasons(sides, c, counts, compatibility)
    return MatchResult(
        candidates=_candidate_table(sides, c),
        requests=_request_summary(sides, c, reasons),
        offers=sides.offers,
        request_points=gpd.GeoSeries(
            sides.requests.geometry.to_numpy(), index=sides.requests.index, crs=CRS_BNG
        ),
        message=_message(sides, c),
        size_weight=float(size_weight),
        _req_pos=c.ri,
        _off_pos=c.oi,
    )
