"""The offers and the match result: which sites offer spare space, and the candidates found.

Holds :func:`offers_from_sites`, the :class:`MatchResult` that candidates and
allocation pass between them, and the column readers and wording both use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._validate import check_frame, raise_if_any
from ..access import check_viewer, visible_mask
from ..errors import InvalidArgumentError
from ..savings import column_numbers
from ..schema import CRS_BNG, approximate_mask, point_coordinates

__all__ = ["OFFER_REQUIRED", "SIZE_WEIGHT", "MatchResult", "offers_from_sites"]

#: Weight of size fit in a candidate's score; distance has the rest.
SIZE_WEIGHT = 0.6
#: The columns an offers table must have.
OFFER_REQUIRED = ("agency", "sector", "surplus_sqft")


def text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a column as an object array of Python strings ("" where missing)."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].astype("str").to_numpy(dtype=object, na_value="")


def sqft(value: float) -> str:
    """Return a space in words: ``"1,200 sq ft"``."""
    return f"{value:,.0f} sq ft"


def a_or_an(word: str) -> str:
    """Return the word after its article: ``"an office"``, ``"a depot"``."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def some(names: Iterable[object], limit: int = 5) -> str:
    """Return the first ``limit`` names joined by commas, then how many more there are."""
    shown = [str(n) for n in names]
    more = len(shown) - limit
    return ", ".join(shown[:limit]) + (f" and {more:,} more" if more > 0 else "")


def offers_from_sites(
    sites: gpd.GeoDataFrame,
    *,
    viewer_agency: str | None = None,
    include_approximate: bool = True,
) -> gpd.GeoDataFrame:
    """Return the sites that offer spare space: visible to the viewer, located, surplus > 0.

    Parameters
    ----------
    sites
        Canonical sites, or offers entered by hand with the same columns.
    viewer_agency
        The agency looking: restricted sites of other agencies are left out.
    include_approximate
        Whether sites placed only approximately (at the centre of a postcode
        district or sector) are offers too.

    Returns
    -------
    geopandas.GeoDataFrame
        A subset of ``sites`` (same index labels), EPSG:27700.

    Examples
    --------
    >>> offers = offers_from_sites(store.sites())  # doctest: +SKIP
    """
    problems, sites = check_frame("offers", sites, OFFER_REQUIRED)
    if p := check_viewer(viewer_agency):
        problems.append(p)
    raise_if_any(problems)
    _, located = point_coordinates(sites.geometry.to_numpy())
    surplus = column_numbers(sites, "surplus_sqft")
    keep = visible_mask(sites, viewer_agency) & located & (surplus > 0)
    if not include_approximate:
        keep &= ~approximate_mask(sites)
    return sites.iloc[np.flatnonzero(keep)]


def _no_positions() -> np.ndarray:
    return np.zeros(0, np.int64)


@dataclass
class PairLines:
    """Rows that each pair a request with an offer, drawn as lines between them.

    ``_req_pos`` and ``_off_pos`` are each row's request (in the match's
    ``requests``) and offer (in its ``offers``).
    """

    _req_pos: np.ndarray = field(default_factory=_no_positions, repr=False, kw_only=True)
    _off_pos: np.ndarray = field(default_factory=_no_positions, repr=False, kw_only=True)

    def _pair_lines(self, match: MatchResult, table: pd.DataFrame) -> gpd.GeoDataFrame:
        """Return ``table`` with a LineString per row, from the offer to the request."""
        rxy, _ = point_coordinates(match.request_points.to_numpy()[self._req_pos])
        oxy, _ = point_coordinates(match.offers.geometry.to_numpy()[self._off_pos])
        coords = np.stack([oxy, rxy], axis=1)
        geoms = shapely.linestrings(coords) if len(coords) else np.zeros(0, dtype=object)
        return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geoms, crs=CRS_BNG)


@dataclass
class MatchResult(PairLines):
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

    @property
    def empty(self) -> bool:
        """Whether no request has a candidate."""
        return len(self.candidates) == 0

    def for_request(self, request: object) -> pd.DataFrame:
        """Return the ranked candidates of one request, by its index label, id or reference."""
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
        """Return every candidate as a LineString from the offer to the request (EPSG:27700)."""
        return self._pair_lines(self, self.candidates)
