"""Scenarios: a named list of moves, and what they would do to a place's estate.

A *scenario* is a name and a list of moves, saved in the store with its author
and agency (the store keeps the moves as JSON: :meth:`Scenario.moves_json`).
A move is one of

- :class:`Close`: close site X and move its occupied space into site Y;
- :class:`Dispose`: dispose of site Z (its occupied space is not moved anywhere);
- :class:`TakeOffer`: take offer O of spare space for space request R.

:func:`evaluate` applies the moves in order, each seeing the effects of the
ones before it, and returns the place's totals before and after
(:class:`ScenarioResult`). A move that breaks a rule is *refused*: it stays in
the list, marked refused with the reason in words, and changes nothing.

The rules
---------
A site's *occupied* space is its floor area less its surplus (a missing surplus
is 0; a missing floor area occupies nothing, and the move says so).

``Close(X, into=Y)``
    X closes; its occupied space moves into Y, whose surplus falls by as much.
    Refused when Y lacks the space (X's occupied space is more than Y's surplus
    left: the reason gives both figures), when Y's lease ends first (Y is leased
    and its lease expiry is known and before X's lease expiry, X being leased
    with a known expiry, or before the move date), when X or Y was closed by an
    earlier move, and when X is Y.
``Dispose(Z)``
    Z closes; no space moves and there is no moving cost.
``TakeOffer(O, R)``
    The request's space needed (what earlier moves left of it) is taken from the
    offer: the offer's site's surplus falls when the viewer may see that site.
    Refused when the offer is not live (open, or a disposal in first refusal or
    open sale), a space offer's availability ended, the offer (or its site's
    surplus) lacks the space, the offer's site was closed by an earlier move, or
    the request gives no space or has had all of it.

Any move naming a site, offer or request that the viewer may not see, or that
does not exist, is refused with the same words for both ("site S is not in the
estate you may see"): a site's id is a hash of its holder and name, so it can be
guessed, and a refusal must never confirm that a restricted site exists.

An offer is found by its exchange id: an offer made in assetmap (``O...``, from
the store's ``offers`` and ``offer_sites`` tables, or the list
:func:`assetmap.exchange.offers` gives) or a register's spare space (``R...``,
:func:`assetmap.exchange._ids.register_offer_id` of the site's source and id).

When a move happens
-------------------
Closing or disposing of a leased site happens at its earliest exit
(:func:`assetmap.lease_events.exit_dates`): the first of its next break, last
break and lease expiry on or after today plus its notice (calendar months; an
unknown notice counts as none), with the break penalty when it leaves by a
break. A site not leased can be left today, and so, with a note, can a site
whose tenure and lease dates are unknown. A leased site with no usable date has
no move date, and the move says so. Whether a site is leased is
:func:`assetmap.lease_events.leased_mask` (leasehold or licence, or a tenure not
given with lease dates that are).

Totals
------
Per measure (:data:`MEASURES`), before, after and the change: sites, floor
area, running cost (:func:`assetmap.savings.site_running_costs`: the register's
where it gives one, else estimated from floor area; :attr:`ScenarioResult.notes`
says how many of each), surplus, the yearly saving (the running cost of every
site closed or disposed of, and :func:`assetmap.savings.avoided_cost` of each
request's space taken from an offer), the capital receipt (the register's
``capital_value_gbp`` of each site closed or disposed of; those without one are
counted), the one-off moving cost (:func:`assetmap.savings.moving_cost` of the
occupied space moved) and the break penalties.

Who sees what
-------------
:func:`evaluate` works only on :func:`assetmap.access.visible_sites` of the
viewer, so a restricted site of another agency is in no total, row or reason.
A saved scenario is seen by its own agency, and by other agencies only when it
is shared (:func:`shares`: no move names a restricted site, offer or request)
and every site it names is one they may see (:func:`visible_scenarios`).

Examples
--------
>>> scenario = Scenario("Maidstone hub", (Close("S1", into="S2"), Dispose("S3")))
>>> result = evaluate(sites, scenario, viewer=viewer)  # doctest: +SKIP
>>> result.totals.loc["running cost (£/yr)"]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from numbers import Real
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validate import CRS_BNG, raise_if_any
from .access import Viewer, agency_key, as_viewer, check_viewer, is_restricted
from .access import visible_requests as _visible_requests
from .access import visible_sites as _visible_sites
from .errors import InvalidArgumentError
from .lease_events import LEASED_TENURES, exit_dates, leased_mask
from .savings import (
    DEFAULT_COST_PER_SQFT,
    DEFAULT_MOVING_COST_PER_SQFT,
    avoided_cost,
    column_numbers,
    cost_per_sqft_problem,
    moving_cost,
    moving_cost_per_sqft_problem,
    site_running_costs,
)

__all__ = [
    "LEASED_TENURES",
    "MEASURES",
    "MOVE_COLUMNS",
    "MOVE_KINDS",
    "Close",
    "Dispose",
    "Move",
    "Scenario",
    "ScenarioResult",
    "TakeOffer",
    "compare",
    "evaluate",
    "from_cluster",
    "from_plan",
    "shares",
    "visible_scenarios",
]

#: The measures of :attr:`ScenarioResult.totals`, in order.
MEASURES = (
    "sites",
    "floor area (sq ft)",
    "running cost (£/yr)",
    "surplus (sq ft)",
    "yearly saving (£/yr)",
    "capital receipt (£)",
    "sites closed without a capital value",
    "one-off moving cost (£)",
    "break penalties (£)",
)

#: The columns of :attr:`ScenarioResult.moves`, with their types.
MOVE_COLUMNS: dict[str, str] = {
    "number": "int64",  # 1, 2, ... in the scenario's order
    "kind": "str",  # "close", "dispose" or "take offer"
    "site_id": "str",  # the site closed or disposed of
    "site_name": "str",
    "into_id": "str",  # the site a closed site's space moves into
    "into_name": "str",
    "offer_id": "str",
    "offer_name": "str",  # the offer's site's name, where the viewer may see it
    "offer_site_id": "str",  # the offer's site, where the viewer may see it
    "request_id": "str",
    "request_name": "str",  # the request's reference in its register
    "status": "str",  # "made" or "refused"
    "reason": "str",  # why a move was refused ("" when made)
    "note": "str",  # what a made move rests on (a figure unknown, a date)
    "sqft_moved": "float64",
    "yearly_saving_gbp": "float64",
    "saving_basis": "str",  # "reported", "estimated" or "unknown"
    "receipt_gbp": "float64",  # NaN: no capital value in the register
    "moving_cost_gbp": "float64",
    "break_penalty_gbp": "float64",
    "move_date": "str",  # ISO date, "" when unknown
    "exit_by": "str",  # "break", "expiry", "not leased", "dates unknown", ""
}

_EPSILON_SQFT = 1e-6  # what is left of a space after float arithmetic
#: The states in which an offer can be taken (:data:`assetmap.exchange.disclosure.LIVE_STATES`).
_LIVE_STATES = ("open", "first refusal", "open sale")


# --------------------------------------------------------------------------- moves


def _id_problem(kind: str, name: str, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{kind}: {name}={value!r} is not valid; expected an id (text)"
    return None


@dataclass(frozen=True)
class Close:
    """Close site ``site_id`` and move its occupied space into site ``into``."""

    site_id: str
    into: str
    kind: ClassVar[str] = "close"

    def __post_init__(self) -> None:
        """Check both ids; raise one error naming every problem."""
        raise_if_any(
            p
            for p in (
                _id_problem("close", "site_id", self.site_id),
                _id_problem("close", "into", self.into),
            )
            if p
        )

    def to_dict(self) -> dict[str, str]:
        """Return the move as the store keeps it (one item of the JSON list)."""
        return {"kind": self.kind, "site_id": self.site_id, "into": self.into}

    def site_ids(self) -> set[str]:
        """Return the sites the move names."""
        return {self.site_id, self.into}


@dataclass(frozen=True)
class Dispose:
    """Dispose of site ``site_id``."""

    site_id: str
    kind: ClassVar[str] = "dispose"

    def __post_init__(self) -> None:
        """Check the id."""
        raise_if_any(p for p in (_id_problem("dispose", "site_id", self.site_id),) if p)

    def to_dict(self) -> dict[str, str]:
        """Return the move as the store keeps it (one item of the JSON list)."""
        return {"kind": self.kind, "site_id": self.site_id}

    def site_ids(self) -> set[str]:
        """Return the sites the move names."""
        return {self.site_id}


@dataclass(frozen=True)
class TakeOffer:
    """Take offer ``offer_id`` of spare space for space request ``request_id``."""

    offer_id: str
    request_id: str
    kind: ClassVar[str] = "take offer"

    def __post_init__(self) -> None:
        """Check both ids; raise one error naming every problem."""
        raise_if_any(
            p
            for p in (
                _id_problem("take offer", "offer_id", self.offer_id),
                _id_problem("take offer", "request_id", self.request_id),
            )
            if p
        )

    def to_dict(self) -> dict[str, str]:
        """Return the move as the store keeps it (one item of the JSON list)."""
        return {"kind": self.kind, "offer_id": self.offer_id, "request_id": self.request_id}

    def site_ids(self) -> set[str]:
        """Return the sites the move names: none (an offer and a request)."""
        return set()


Move = Close | Dispose | TakeOffer

#: Each kind of move by the name the store keeps, and the fields it holds.
MOVE_KINDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "close": (Close, ("site_id", "into")),
    "dispose": (Dispose, ("site_id",)),
    "take offer": (TakeOffer, ("offer_id", "request_id")),
}


def _move_from_dict(n: int, item: object, problems: list[str]) -> Move | None:
    """Return move ``n`` (1, 2, ...) of a stored list, or note why it is not one."""
    if not isinstance(item, Mapping):
        problems.append(f"move {n} is {item!r}; expected an object with a kind")
        return None
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in MOVE_KINDS:  # a list or dict is not hashable
        problems.append(f"move {n} has kind={kind!r}; expected one of: {', '.join(MOVE_KINDS)}")
        return None
    cls, names = MOVE_KINDS[kind]
    try:
        return cls(**{name: item.get(name) for name in names})
    except InvalidArgumentError as error:
        problems.append(f"move {n}: {error}")
        return None


def _text_field(row: Mapping, name: str) -> str:
    value = row.get(name, "")
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


@dataclass(frozen=True)
class Scenario:
    """A named list of moves, with who made it.

    Attributes
    ----------
    name
        The scenario's name (unique per agency in the store).
    moves
        The moves, in the order they are made (a list is kept as a tuple).
    author
        Who made it (a user's name or e-mail address).
    agency
        The author's agency (``""`` for none): who may always see it.
    created_at
        When it was made, ISO 8601 UTC (``""`` when not saved yet).

    Examples
    --------
    >>> s = Scenario("Hub", [Close("S1", into="S2")])
    >>> s.with_move(Dispose("S3")).moves_json()
    '[{"kind": "close", "site_id": "S1", "into": "S2"}, {"kind": "dispose", "site_id": "S3"}]'
    """

    name: str
    moves: tuple[Move, ...] = ()
    author: str = ""
    agency: str = ""
    created_at: str = ""

    def __post_init__(self) -> None:
        """Check every field; raise one error naming every problem."""
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(f"name={self.name!r} is not valid; expected the scenario's name")
        moves = self.moves
        if isinstance(moves, list | tuple):
            moves = tuple(moves)
            object.__setattr__(self, "moves", moves)
            for n, move in enumerate(moves, start=1):
                if not isinstance(move, Close | Dispose | TakeOffer):
                    problems.append(
                        f"move {n} is a {type(move).__name__}; expected Close, Dispose or TakeOffer"
                    )
        else:
            problems.append(
                f"moves is a {type(moves).__name__}; expected a list of Close, Dispose and "
                "TakeOffer moves"
            )
        for name in ("author", "agency", "created_at"):
            if not isinstance(getattr(self, name), str):
                problems.append(f"{name}={getattr(self, name)!r} is not valid; expected text")
        raise_if_any(problems)

    def moves_json(self) -> str:
        """Return the moves as the store keeps them: a JSON list of objects with a ``kind``."""
        return json.dumps([m.to_dict() for m in self.moves], ensure_ascii=False)

    @classmethod
    def from_row(cls, row: Mapping) -> Scenario:
        """Return the scenario of a stored row: ``name``, ``moves`` (JSON), ``author``, ...

        Parameters
        ----------
        row
            A mapping (a dict, or a row of the store's ``scenarios`` table).

        Raises
        ------
        InvalidArgumentError
            Naming every problem: moves that are not a JSON list, and each move
            that is not a move.
        """
        problems: list[str] = []
        text = row.get("moves", "[]")
        try:
            listed = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):  # nested deeper than Python's recursion limit
            listed = None
        if not isinstance(listed, list):
            problems.append(
                f"the moves of scenario {_text_field(row, 'name')!r} are not a JSON list"
            )
            listed = []
        moves = [_move_from_dict(n, item, problems) for n, item in enumerate(listed, start=1)]
        raise_if_any(problems)
        return cls(
            name=_text_field(row, "name"),
            moves=tuple(m for m in moves if m is not None),
            author=_text_field(row, "author"),
            agency=_text_field(row, "agency"),
            created_at=_text_field(row, "created_at"),
        )

    def with_move(self, move: Move) -> Scenario:
        """Return the scenario with ``move`` added at the end."""
        return replace(self, moves=(*self.moves, move))

    def without_move(self, i: int) -> Scenario:
        """Return the scenario without the move at position ``i`` (0 for the first: move 1).

        Raises
        ------
        InvalidArgumentError
            If there is no move at ``i``.
        """
        if (
            isinstance(i, bool)
            or not isinstance(i, int | np.integer)
            or not (0 <= i < len(self.moves))
        ):
            raise InvalidArgumentError(
                f"i={i!r} is not valid; expected the position of one of the scenario's "
                f"{len(self.moves)} moves (0 to {len(self.moves) - 1})"
                if self.moves
                else f"i={i!r} is not valid; the scenario has no moves"
            )
        return replace(self, moves=self.moves[:i] + self.moves[i + 1 :])

    def site_ids(self) -> set[str]:
        """Return every site a move names (for who may see the scenario)."""
        out: set[str] = set()
        for move in self.moves:
            out |= move.site_ids()
        return out


# --------------------------------------------------------------------------- result


@dataclass
class ScenarioResult:
    """What a scenario would do to the estate a viewer may see.

    Attributes
    ----------
    scenario
        The scenario evaluated.
    totals
        Indexed by measure (:data:`MEASURES`), columns ``before``, ``after`` and
        ``change`` (after − before).
    moves
        One row per move, in order (:data:`MOVE_COLUMNS`), made or refused.
    open_after
        Boolean, aligned to :attr:`sites`: False for each site the scenario
        closes or disposes of.
    sites
        The sites evaluated: :func:`assetmap.access.visible_sites` of the viewer,
        numbered from 0.
    access
        :class:`assetmap.residents_access.AccessChange` when centres were given, else ``None``.
    notes
        Per measure, what its figure rests on (how running costs were found, the
        moving cost rate, what is unknown).
    today
        The date the scenario was evaluated on.
    """

    scenario: Scenario
    totals: pd.DataFrame
    moves: pd.DataFrame
    open_after: np.ndarray
    sites: pd.DataFrame
    access: Any = None
    notes: dict[str, str] = field(default_factory=dict)
    today: dt.date | None = None
    _request_points: dict[str, shapely.Point] = field(default_factory=dict, repr=False)

    @property
    def made(self) -> int:
        """How many moves were made."""
        return int((self.moves["status"] == "made").sum())

    @property
    def refused(self) -> int:
        """How many moves were refused."""
        return int((self.moves["status"] == "refused").sum())

    def table(self) -> pd.DataFrame:
        """Return :attr:`totals` with a ``note`` column (what each figure rests on)."""
        out = self.totals.copy()
        out["note"] = [self.notes.get(m, "") for m in out.index]
        return out

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the map layers of the moves made (EPSG:27700).

        ``moves``: a LineString per move made whose two ends are located (a closed
        site to the site it moves into; an offer's site, where the viewer may see
        it, to the request's point);
        ``closed``: a point per site closed or disposed of.
        """
        made = self.moves[self.moves["status"] == "made"]
        named = {*made["site_id"], *made["into_id"], *made["offer_site_id"]} - {""}
        located = _points_by_id(self.sites, named)
        lines, rows = [], []
        for row in made.to_dict("records"):
            if row["kind"] == "close":
                start, end = located.get(row["site_id"]), located.get(row["into_id"])
            else:
                start = located.get(row["offer_site_id"])
                end = self._request_points.get(row["request_id"])
            if start is not None and end is not None:
                lines.append(shapely.LineString([start, end]))
                rows.append(row)
        table = pd.DataFrame(rows, columns=list(MOVE_COLUMNS)).astype(MOVE_COLUMNS)
        moves = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(lines, crs=CRS_BNG), crs=CRS_BNG)
        gone = made[made["kind"].isin(["close", "dispose"])]
        points = [located.get(s) for s in gone["site_id"]]
        keep = [p is not None for p in points]
        closed = gone.loc[keep, ["number", "kind", "site_id", "site_name", "move_date"]]
        closed = gpd.GeoDataFrame(
            closed.reset_index(drop=True),
            geometry=gpd.GeoSeries([p for p in points if p is not None], crs=CRS_BNG),
            crs=CRS_BNG,
        )
        return {"moves": moves, "closed": closed}


def _points_by_id(sites: pd.DataFrame, named: set[str]) -> dict[str, shapely.Point]:
    """Return the point of each site ``named`` that is located (the first of a repeated id)."""
    if not isinstance(sites, gpd.GeoDataFrame) or not len(sites) or not named:
        return {}
    sites = sites[sites["site_id"].isin(list(named)).to_numpy(dtype=bool)]
    out: dict[str, shapely.Point] = {}
    for site_id, point in zip(sites["site_id"].astype(str), sites.geometry.to_numpy(), strict=True):
        if point is not None and not point.is_empty and site_id not in out:
            out[site_id] = point
    return out


# --------------------------------------------------------------------------- evaluate


def _today(today: object, problems: list[str]) -> dt.date:
    if today is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(today, dt.datetime):
        return today.date()
    if isinstance(today, dt.date):
        return today
    if isinstance(today, str):
        try:
            return dt.date.fromisoformat(today.strip())
        except ValueError:
            pass
    problems.append(f"today={today!r} is not valid; expected a date or YYYY-MM-DD")
    return dt.date(1970, 1, 1)


def _frame_problem(name: str, frame: object, needed: tuple[str, ...]) -> str | None:
    if frame is None:
        return None
    if not isinstance(frame, pd.DataFrame):
        return f"{name} is a {type(frame).__name__}; expected a table (pandas DataFrame)"
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        return f"{name} lacks the column(s) {', '.join(missing)}"
    return None


def _check(
    sites, scenario, viewer, offers, offer_sites, requests, today, cost, moving, centres
) -> tuple[dt.date, pd.DataFrame]:
    """Check every argument of :func:`evaluate`; raise once. Return today and the sites."""
    problems: list[str] = []
    if not isinstance(sites, pd.DataFrame):
        problems.append(f"sites is a {type(sites).__name__}; expected a table of sites")
    elif "site_id" not in sites.columns:
        problems.append("sites lacks the column site_id")
    elif isinstance(sites, gpd.GeoDataFrame) and len(sites):
        if sites.crs is None and sites.geometry.notna().any():
            problems.append("sites has no CRS; expected EPSG:27700 (British National Grid)")
        elif sites.crs is not None and sites.crs.to_epsg() != 27700:
            sites = sites.to_crs(CRS_BNG)
    if not isinstance(scenario, Scenario):
        problems.append(f"scenario is a {type(scenario).__name__}; expected a Scenario")
    if p := check_viewer(viewer):
        problems.append(p)
    problems += [
        p
        for p in (
            _frame_problem("offers", offers, ("offer_id",)),
            _frame_problem("offer_sites", offer_sites, ("offer_id", "site_id")),
            _frame_problem("requests", requests, ("request_id",)),
            cost_per_sqft_problem(cost),
            moving_cost_per_sqft_problem(moving),
        )
        if p
    ]
    if centres is not None and not isinstance(centres, gpd.GeoDataFrame):
        problems.append(
            f"centres is a {type(centres).__name__}; expected a GeoDataFrame of LSOA centres"
        )
    if centres is not None and not isinstance(sites, gpd.GeoDataFrame):
        problems.append("sites must be a GeoDataFrame (with points) to measure residents' access")
    day = _today(today, problems)
    raise_if_any(problems)
    return day, sites


def _texts(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a column as Python strings (``""`` where missing or no such column)."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].astype("object").where(frame[column].notna(), "").astype(str).to_numpy()


def _iso(value: object) -> dt.date | None:
    """Return an ISO date, or ``None`` for a blank or unreadable one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _number(frame: pd.DataFrame, column: str, pos: int) -> float:
    if column not in frame.columns:
        return math.nan
    value = pd.to_numeric(pd.Series([frame[column].iloc[pos]]), errors="coerce").iloc[0]
    return float(value) if pd.notna(value) else math.nan


def _text_at(frame: pd.DataFrame, column: str, pos: int) -> str:
    if column not in frame.columns:
        return ""
    value = frame[column].iloc[pos]
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@dataclass(frozen=True)
class _Exit:
    """When a site can be left: the date (``None``: unknown), how, the penalty and a note."""

    date: dt.date | None
    by: str  # "break", "expiry", "not leased", "dates unknown" or "tenure unknown"
    penalty: float = 0.0  # NaN: a break whose penalty the register does not give
    note: str = ""
    leased: bool = False


def _exits(sites: pd.DataFrame, positions: list[int], today: dt.date) -> dict[int, _Exit]:
    """Return how each site at ``positions`` could be left (:mod:`assetmap.lease_events`).

    A site whose tenure is unknown and whose register gives no lease date is taken
    as free to leave today, as a site not leased is, and the move says so.
    """
    if not positions:
        return {}
    rows = sites.iloc[positions]
    ways = exit_dates(rows, today=today)
    leased = leased_mask(rows)
    out = {}
    for pos, is_leased, (when, by, penalty, note) in zip(
        positions,
        leased,
        ways[["exit_date", "basis", "break_penalty_gbp", "note"]].itertuples(index=False),
        strict=True,
    ):
        date = None if pd.isna(when) else pd.Timestamp(when).date()
        if by == "tenure unknown":
            date, note = today, "tenure unknown: taken as free to leave today"
        out[pos] = _Exit(date, str(by), float(penalty), str(note or ""), bool(is_leased))
    return out


def _label(name: str, site_id: str) -> str:
    return f"{name} ({site_id})" if name else site_id


def _unseen(what: str, ident: str) -> str:
    """Return the refusal of an id the viewer may not see or that does not exist (one wording)."""
    return f"{what} {ident} is not in the estate you may see"


def _sqft(value: float) -> str:
    return f"{value:,.0f} sq ft"


@dataclass
class _Offer:
    """An offer as the viewer may know it."""

    offer_id: str
    state: str
    kind: str
    sqft: float
    available_until: str
    site: int | None  # the site's position among the sites evaluated, when seen there


class _Estate:
    """The sites evaluated, and the state the moves change."""

    def __init__(self, sites: pd.DataFrame, names: set[str], cost_per_sqft: float) -> None:
        self.sites = sites
        n = len(sites)
        floor = column_numbers(sites, "floor_area_sqft")
        surplus = column_numbers(sites, "surplus_sqft")
        self.floor_known = np.isfinite(floor)
        self.floor = np.where(self.floor_known, floor, 0.0)
        self.surplus = np.where(np.isfinite(surplus), np.maximum(surplus, 0.0), 0.0)
        self.remaining = self.surplus.copy()
        costs = site_running_costs(sites, cost_per_sqft=cost_per_sqft)
        cost = costs["running_cost_gbp"].to_numpy(dtype="float64")
        self.cost = np.where(np.isfinite(cost), cost, 0.0)
        self.basis = costs["cost_basis"].to_numpy(dtype=object)
        self.open = np.ones(n, dtype=bool)
        self.closed_by: dict[int, int] = {}
        ids = sites["site_id"]
        named = np.flatnonzero(ids.isin(list(names)).to_numpy(dtype=bool) if names else [])
        self.position: dict[str, int] = {}
        for pos in named:
            self.position.setdefault(str(ids.iloc[pos]), int(pos))
        self._name: dict[int, str] = {}

    def find(self, site_id: str) -> int | None:
        return self.position.get(site_id)

    def name(self, pos: int | None) -> str:
        if pos is None:
            return ""
        if pos not in self._name:
            self._name[pos] = _text_at(self.sites, "name", pos)
        return self._name[pos]

    def occupied(self, pos: int) -> float:
        return max(self.floor[pos] - self.remaining[pos], 0.0)


def _keys(frame: pd.DataFrame) -> pd.Series:
    parts = [pd.Series(_texts(frame, c), index=frame.index) for c in _SITE_KEYS]
    return parts[0] + "\x1f" + parts[1] + "\x1f" + parts[2]


_SITE_KEYS = ("site_id", "source_file", "source_owner")


def _offers(
    moves: tuple[Move, ...],
    offers: pd.DataFrame | None,
    offer_sites: pd.DataFrame | None,
    est: _Estate,
    viewer: Viewer | None,
) -> dict[str, _Offer]:
    """Return the offers the moves name that the viewer may know of, by id."""
    wanted = {m.offer_id for m in moves if isinstance(m, TakeOffer)}
    if not wanted:
        return {}
    found: dict[str, _Offer] = {}
    sites = est.sites
    if offers is not None and len(offers):
        from .exchange.disclosure import visible_offers
        from .store.interface import OFFER_COLUMNS, OFFER_SITE_COLUMNS, conform

        named = offers[offers["offer_id"].astype(str).isin(wanted).to_numpy(dtype=bool)]
        if offer_sites is None and set(_SITE_KEYS) <= set(named.columns):
            offer_sites = named[["offer_id", *_SITE_KEYS]]  # the exchange's offer list
        links = offer_sites if offer_sites is not None else pd.DataFrame(columns=["offer_id"])
        links = links[links["offer_id"].astype(str).isin(wanted).to_numpy(dtype=bool)]
        site_ids = set(_texts(links, "site_id")) if len(links) else set()
        near = sites[sites["site_id"].astype(str).isin(list(site_ids)).to_numpy(dtype=bool)]
        seen_keys = pd.DataFrame({c: _texts(near, c) for c in _SITE_KEYS})
        table = visible_offers(
            conform(pd.DataFrame(named).reset_index(drop=True), OFFER_COLUMNS),
            conform(pd.DataFrame(links).reset_index(drop=True), OFFER_SITE_COLUMNS),
            seen_keys,
            viewer,
        )
        # the sites are numbered from 0 (visible_sites), so a label is a position
        where: dict[str, int] = {}
        for key, label in zip(_keys(near), near.index, strict=True):
            where.setdefault(key, int(label))
        for row in table.to_dict("records"):
            key = "\x1f".join(str(row[c]) for c in _SITE_KEYS)
            label = where.get(key) if row["seen"] else None
            found.setdefault(
                str(row["offer_id"]),
                _Offer(
                    offer_id=str(row["offer_id"]),
                    state=str(row["state"]),
                    kind=str(row["kind"]),
                    sqft=float(row["sqft"]) if pd.notna(row["sqft"]) else 0.0,
                    available_until=str(row["available_until"] or ""),
                    site=label,
                ),
            )
    register = {o for o in wanted - set(found) if o.startswith("R")}
    if register:  # a register's spare space: found among the sites the viewer may see
        from .exchange._ids import register_offer_id

        spare = np.flatnonzero(est.surplus > 0)
        frame = sites.iloc[spare]
        ids = (
            register_offer_id(o, f, s)
            for o, f, s in zip(
                _texts(frame, "source_owner"),
                _texts(frame, "source_file"),
                _texts(frame, "site_id"),
                strict=True,
            )
        )
        for pos, offer_id in zip(spare, ids, strict=True):
            if offer_id in register and offer_id not in found:
                found[offer_id] = _Offer(
                    offer_id, "open", "space", float(est.surplus[pos]), "", int(pos)
                )
    return found


def _requests(
    moves: tuple[Move, ...], requests: pd.DataFrame | None, viewer: Viewer | None
) -> tuple[dict[str, tuple[float, str]], dict[str, shapely.Point]]:
    """Return the requests the moves name that the viewer may see: id -> (need, reference).

    And each one's point, where it has one (for the map of the moves).
    """
    wanted = {m.request_id for m in moves if isinstance(m, TakeOffer)}
    if not wanted or requests is None or not len(requests):
        return {}, {}
    named = requests[requests["request_id"].astype(str).isin(list(wanted)).to_numpy(dtype=bool)]
    seen = _visible_requests(named, viewer)
    need = column_numbers(seen, "space_needed_sqft")
    out: dict[str, tuple[float, str]] = {}
    for rid, n, ref in zip(
        _texts(seen, "request_id"), need, _texts(seen, "source_ref"), strict=True
    ):
        out.setdefault(rid, (float(n), ref))
    points: dict[str, shapely.Point] = {}
    if isinstance(seen, gpd.GeoDataFrame) and len(seen):
        if seen.crs is not None and seen.crs.to_epsg() != 27700:
            seen = seen.to_crs(CRS_BNG)
        for rid, point in zip(_texts(seen, "request_id"), seen.geometry.to_numpy(), strict=True):
            if point is not None and not point.is_empty:
                points.setdefault(rid, point)
    return out, points


def _row(n: int, move: Move) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(MOVE_COLUMNS, "")
    row.update(
        number=n,
        kind=move.kind,
        status="made",
        sqft_moved=0.0,
        yearly_saving_gbp=0.0,
        receipt_gbp=math.nan,
        moving_cost_gbp=0.0,
        break_penalty_gbp=0.0,
    )
    if isinstance(move, Close | Dispose):
        row["site_id"] = move.site_id
    if isinstance(move, Close):
        row["into_id"] = move.into
    if isinstance(move, TakeOffer):
        row.update(offer_id=move.offer_id, request_id=move.request_id)
    return row


class _Evaluation:
    """Applies the moves one after another to the estate."""

    def __init__(self, est, offers, requests, today, cost_per_sqft, moving_cost_per_sqft):
        requests, self.request_points = requests
        self.est = est
        self.offers = offers
        self.offer_left = {o: offer.sqft for o, offer in offers.items()}
        self.requests = requests
        self.need_left = {r: need for r, (need, _) in requests.items()}
        self.served_by: dict[str, int] = {}
        self.today = today
        self.cost_per_sqft = cost_per_sqft
        self.moving_cost_per_sqft = moving_cost_per_sqft
        self.exits = _exits(est.sites, sorted(set(est.position.values())), today)

    def exit(self, pos: int) -> _Exit:
        return self.exits[pos]

    def closed(self, pos: int, name: str, site_id: str) -> str:
        return f"site {_label(name, site_id)} is closed already, by move {self.est.closed_by[pos]}"

    def leave(self, row: dict, pos: int, n: int) -> None:
        """Close or dispose of site ``pos`` (the move is made): its figures into ``row``."""
        est = self.est
        way = self.exit(pos)
        est.open[pos] = False
        est.closed_by[pos] = n
        row["yearly_saving_gbp"] = float(est.cost[pos])
        row["saving_basis"] = str(est.basis[pos])
        receipt = _number(est.sites, "capital_value_gbp", pos)
        row["receipt_gbp"] = receipt if math.isfinite(receipt) else math.nan
        row["exit_by"] = way.by
        row["move_date"] = way.date.isoformat() if way.date else ""
        if math.isfinite(way.penalty):
            row["break_penalty_gbp"] = way.penalty
        notes = []
        if way.by == "dates unknown":
            notes.append("lease dates unknown: no move date")
        elif way.by == "break" and not math.isfinite(way.penalty):
            notes.append("break penalty unknown (counted as £0)")
        if way.note:
            notes.append(way.note)
        if str(est.basis[pos]) == "unknown":
            notes.append("running cost unknown (counted as £0)")
        if not math.isfinite(receipt):
            notes.append("no capital value in the register")
        row["note"] = "; ".join(notes)

    def close(self, row: dict, move: Close, n: int) -> str | None:
        est = self.est
        x, y = est.find(move.site_id), est.find(move.into)
        row["site_name"], row["into_name"] = est.name(x), est.name(y)
        reason = self._which_sites(row, move, x, y)
        if reason is not None:
            return reason
        x_label = _label(row["site_name"], move.site_id)
        y_label = _label(row["into_name"], move.into)
        reason = self._lease_ends_first(x, y, x_label, y_label)
        if reason is not None:
            return reason
        occupied = est.occupied(x)
        if occupied > est.remaining[y] + _EPSILON_SQFT:
            return (
                f"site {y_label} lacks the space: site {x_label} occupies {_sqft(occupied)} "
                f"and site {y_label} has {_sqft(est.remaining[y])} of surplus left"
            )
        self.leave(row, x, n)
        est.remaining[y] = max(est.remaining[y] - occupied, 0.0)
        row["sqft_moved"] = occupied
        row["moving_cost_gbp"] = moving_cost(
            occupied, moving_cost_per_sqft=self.moving_cost_per_sqft
        )
        if not est.floor_known[x]:
            note = "floor area unknown: no space counted as moved"
            row["note"] = "; ".join(p for p in (note, row["note"]) if p)
        return None

    def _which_sites(self, row: dict, move: Close, x: int | None, y: int | None) -> str | None:
        """Why a closure cannot name these sites: unseen, the same, or closed already."""
        if x is None:
            return _unseen("site", move.site_id)
        if y is None:
            return _unseen("site", move.into)
        if x == y or move.site_id == move.into:
            return f"site {_label(row['site_name'], move.site_id)} cannot move into itself"
        if not self.est.open[x]:
            return self.closed(x, row["site_name"], move.site_id)
        if not self.est.open[y]:
            return self.closed(y, row["into_name"], move.into)
        return None

    def _lease_ends_first(self, x: int, y: int, x_label: str, y_label: str) -> str | None:
        """Why the site moved into would not hold the space long enough, if it would not."""
        sites = self.est.sites
        if not self.exit(y).leased:
            return None
        y_end = _iso(_text_at(sites, "lease_expiry", y))
        if y_end is None:
            return None
        x_end = _iso(_text_at(sites, "lease_expiry", x)) if self.exit(x).leased else None
        if x_end is not None and y_end < x_end:
            return (
                f"the lease of site {y_label} ends first: on {y_end.isoformat()}, before "
                f"the lease of site {x_label} ends on {x_end.isoformat()}"
            )
        when = self.exit(x).date
        if when is not None and y_end < when:
            return (
                f"the lease of site {y_label} ends first: on {y_end.isoformat()}, before "
                f"the move on {when.isoformat()}"
            )
        return None

    def dispose(self, row: dict, move: Dispose, n: int) -> str | None:
        est = self.est
        z = est.find(move.site_id)
        row["site_name"] = est.name(z)
        if z is None:
            return _unseen("site", move.site_id)
        if not est.open[z]:
            return self.closed(z, row["site_name"], move.site_id)
        self.leave(row, z, n)
        return None

    def take(self, row: dict, move: TakeOffer, n: int) -> str | None:
        est = self.est
        offer = self.offers.get(move.offer_id)
        request = self.requests.get(move.request_id)
        if offer is not None and offer.site is not None:
            row["offer_name"] = est.name(offer.site)
            row["offer_site_id"] = _text_at(est.sites, "site_id", offer.site)
        if request is not None:
            row["request_name"] = request[1]
        reason = self._which_offer(row, move, offer, request) or self._need(move)
        if reason is not None:
            return reason
        need = self.need_left[move.request_id]
        left = self.offer_left[move.offer_id]
        if offer.site is not None:
            left = min(left, est.remaining[offer.site])
        if need > left + _EPSILON_SQFT:
            return (
                f"offer {move.offer_id} lacks the space: request {move.request_id} needs "
                f"{_sqft(need)} and the offer has {_sqft(left)} left"
            )
        self.offer_left[move.offer_id] -= need
        if offer.site is not None:
            est.remaining[offer.site] = max(est.remaining[offer.site] - need, 0.0)
        self.need_left[move.request_id] = 0.0
        self.served_by[move.request_id] = n
        row.update(
            sqft_moved=need,
            yearly_saving_gbp=avoided_cost(need, cost_per_sqft=self.cost_per_sqft),
            saving_basis="estimated",
            move_date=self.today.isoformat(),
        )
        return None

    def _which_offer(
        self, row: dict, move: TakeOffer, offer: _Offer | None, request: object
    ) -> str | None:
        """Why this offer cannot be taken for this request: unseen, not live, site closed."""
        if offer is None:
            return _unseen("offer", move.offer_id)
        if request is None:
            return _unseen("request", move.request_id)
        if offer.state not in _LIVE_STATES:
            state = offer.state or "not live"
            return f"offer {move.offer_id} is {state}, not open: it cannot be taken"
        until = _iso(offer.available_until)
        if offer.kind == "space" and until is not None and until < self.today:
            return f"offer {move.offer_id} was available until {until.isoformat()}, not now"
        if offer.site is not None and not self.est.open[offer.site]:
            label = _label(row["offer_name"], row["offer_site_id"])
            return (
                f"the site of offer {move.offer_id}, {label}, is closed already, by move "
                f"{self.est.closed_by[offer.site]}"
            )
        return None

    def _need(self, move: TakeOffer) -> str | None:
        """Why the request has no space left to take, if it has none."""
        need = self.need_left[move.request_id]
        if math.isfinite(need) and need > 0:
            return None
        if move.request_id in self.served_by:
            return (
                f"request {move.request_id} has all its space already, from move "
                f"{self.served_by[move.request_id]}"
            )
        return f"request {move.request_id} gives no space needed"

    def run(self, moves: tuple[Move, ...]) -> pd.DataFrame:
        rows = []
        for n, move in enumerate(moves, start=1):
            row = _row(n, move)
            if isinstance(move, Close):
                reason = self.close(row, move, n)
            elif isinstance(move, Dispose):
                reason = self.dispose(row, move, n)
            else:
                reason = self.take(row, move, n)
            if reason is not None:
                row.update(
                    status="refused",
                    reason=reason,
                    note="",
                    sqft_moved=0.0,
                    yearly_saving_gbp=0.0,
                    saving_basis="",
                    receipt_gbp=math.nan,
                    moving_cost_gbp=0.0,
                    break_penalty_gbp=0.0,
                    move_date="",
                    exit_by="",
                )
            rows.append(row)
        frame = pd.DataFrame(rows, columns=list(MOVE_COLUMNS))
        return frame.astype(MOVE_COLUMNS)


def _totals(est: _Estate, moves: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    made = moves[moves["status"] == "made"]
    gone = made[made["kind"].isin(["close", "dispose"])]
    receipts = gone["receipt_gbp"].to_numpy(dtype="float64")
    before = [
        float(len(est.open)),
        float(est.floor.sum()),
        float(est.cost.sum()),
        float(est.surplus.sum()),
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    after = [
        float(est.open.sum()),
        float(est.floor[est.open].sum()),
        float(est.cost[est.open].sum()),
        float(est.remaining[est.open].sum()),
        float(made["yearly_saving_gbp"].sum()),
        float(np.nansum(receipts)) if len(receipts) else 0.0,
        float((~np.isfinite(receipts)).sum()),
        float(made["moving_cost_gbp"].sum()),
        float(made["break_penalty_gbp"].sum()),
    ]
    totals = pd.DataFrame(
        {"before": before, "after": after}, index=pd.Index(MEASURES, name="measure")
    )
    totals["change"] = totals["after"] - totals["before"]
    return totals, _notes(est, made, gone)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _notes(est: _Estate, made: pd.DataFrame, gone: pd.DataFrame) -> dict[str, str]:
    basis = pd.Series(est.basis).value_counts()
    parts = [
        f"{word} for {_count(int(basis.get(b, 0)), 'site')}"
        for b, word in (
            ("reported", "reported"),
            ("estimated", "estimated from floor area"),
            ("unknown", "unknown (counted as £0)"),
        )
        if basis.get(b, 0)
    ]
    notes = {"running cost (£/yr)": "; ".join(parts) if parts else "no sites"}
    taken = made[made["kind"] == "take offer"]
    saving = [
        f"the running costs of {_count(len(gone), 'site')} closed or disposed of"
        + (
            f" ({int((gone['saving_basis'] != 'reported').sum()):,} estimated or unknown)"
            if (gone["saving_basis"] != "reported").any()
            else ""
        )
    ]
    if len(taken):
        saving.append(
            f"the market rent avoided by {_count(len(taken), 'request')} taking offered space "
            "(estimated)"
        )
    notes["yearly saving (£/yr)"] = "; ".join(saving)
    missing = int(gone["receipt_gbp"].isna().sum())
    notes["capital receipt (£)"] = (
        "the register's capital value of each site closed or disposed of"
        + (f"; {_count(missing, 'site')} without a value (not counted)" if missing else "")
    )
    unknown_floor = int((~est.floor_known).sum())
    if unknown_floor:
        notes["floor area (sq ft)"] = f"{_count(unknown_floor, 'site')} without a floor area"
    penalties = int(
        ((gone["exit_by"] == "break") & gone["note"].str.contains("penalty unknown")).sum()
    )
    dates = int((gone["exit_by"] == "dates unknown").sum())
    notes["break penalties (£)"] = "; ".join(
        p
        for p in (
            f"{_count(penalties, 'break')} without a penalty in the register" if penalties else "",
            f"{_count(dates, 'leased site')} without usable lease dates" if dates else "",
        )
        if p
    )
    return {k: v for k, v in notes.items() if v}


def evaluate(
    sites: pd.DataFrame,
    scenario: Scenario,
    *,
    viewer: Viewer | str | None = None,
    offers: pd.DataFrame | None = None,
    offer_sites: pd.DataFrame | None = None,
    requests: pd.DataFrame | None = None,
    today: dt.date | str | None = None,
    cost_per_sqft: float = DEFAULT_COST_PER_SQFT,
    moving_cost_per_sqft: float = DEFAULT_MOVING_COST_PER_SQFT,
    centres: gpd.GeoDataFrame | None = None,
    categories=None,
) -> ScenarioResult:
    """Apply a scenario's moves, in order, to the estate ``viewer`` may see; return the totals.

    Parameters
    ----------
    sites
        The place's sites (a GeoDataFrame, EPSG:27700, for the map and residents'
        access). Only :func:`assetmap.access.visible_sites` of ``viewer`` are used.
        Columns a frame lacks (lease dates, capital value, ...) count as unknown.
    scenario
        The moves.
    viewer
        Who is looking: a :class:`~assetmap.access.Viewer`, an agency's name, or
        ``None`` (no agency: no restricted site is seen).
    offers, offer_sites
        The store's ``offers`` and ``offer_sites`` tables (or the exchange's offer
        list, whose rows name their site), for :class:`TakeOffer` moves. A
        register's spare space (``R...``) is found among the sites without them.
    requests
        The space requests (canonical columns), for :class:`TakeOffer` moves.
    today
        The date the moves are planned from (default: today, UTC).
    cost_per_sqft
        The cost of space, £ per sq ft a year: estimated running costs and the
        market rent a request avoids.
    moving_cost_per_sqft
        The one-off cost of moving occupied space, £ per sq ft (0 or more).
    centres
        LSOA centres (``code``, optional ``population``; points EPSG:27700): when
        given, the result's ``access`` is the change in residents' straight-line
        distance to their nearest open site (:mod:`assetmap.residents_access`).
    categories
        The categories of site for residents' access (default: all).

    Returns
    -------
    ScenarioResult

    Raises
    ------
    InvalidArgumentError
        Listing every problem with the arguments. A move that breaks a rule is not
        an error: it is refused in :attr:`ScenarioResult.moves` with its reason.
    """
    day, sites = _check(
        sites,
        scenario,
        viewer,
        offers,
        offer_sites,
        requests,
        today,
        cost_per_sqft,
        moving_cost_per_sqft,
        centres,
    )
    viewer = as_viewer(viewer)
    seen = _visible_sites(sites, viewer)
    est = _Estate(seen, scenario.site_ids(), cost_per_sqft)
    evaluation = _Evaluation(
        est,
        _offers(scenario.moves, offers, offer_sites, est, viewer),
        _requests(scenario.moves, requests, viewer),
        day,
        float(cost_per_sqft),
        float(moving_cost_per_sqft),
    )
    moves = evaluation.run(scenario.moves)
    totals, notes = _totals(est, moves)
    notes["one-off moving cost (£)"] = (
        f"£{float(moving_cost_per_sqft):,.2f} per sq ft of occupied space moved"
        + (
            " (the default: a planning figure, not a quote)"
            if moving_cost_per_sqft == DEFAULT_MOVING_COST_PER_SQFT
            else ""
        )
    )
    access = None
    if centres is not None:
        from .residents_access import access_change

        access = access_change(seen, est.open.copy(), centres=centres, categories=categories)
    return ScenarioResult(
        scenario=scenario,
        totals=totals,
        moves=moves,
        open_after=est.open,
        sites=seen,
        access=access,
        notes=notes,
        today=day,
        _request_points=evaluation.request_points,
    )


# --------------------------------------------------------------------------- compare


def compare(a: ScenarioResult, b: ScenarioResult) -> pd.DataFrame:
    """Return two scenarios' figures side by side: each one's totals after, and b − a.

    Parameters
    ----------
    a, b
        Results of :func:`evaluate` (of the same place, for the figures to compare).

    Returns
    -------
    pandas.DataFrame
        Indexed by measure (:data:`MEASURES`); columns the two scenarios' names
        (``" (a)"`` and ``" (b)"`` added when they are the same, or when either is
        ``"difference"`` or ``"measure"``) and ``"difference"`` (b − a).

    Raises
    ------
    InvalidArgumentError
        If either is not a :class:`ScenarioResult`.
    """
    raise_if_any(
        f"{name} is a {type(r).__name__}; expected the ScenarioResult of evaluate"
        for name, r in (("a", a), ("b", b))
        if not isinstance(r, ScenarioResult)
    )
    name_a, name_b = a.scenario.name, b.scenario.name
    # (a name that is a column's or the index's would overwrite it: "difference", "measure")
    reserved = {"difference", "measure"}
    if name_a == name_b or {name_a.strip().lower(), name_b.strip().lower()} & reserved:
        name_a, name_b = f"{name_a} (a)", f"{name_b} (b)"
    after_a = a.totals["after"].reindex(list(MEASURES))
    after_b = b.totals["after"].reindex(list(MEASURES))
    out = pd.DataFrame({name_a: after_a, name_b: after_b})
    out["difference"] = after_b - after_a
    out.index.name = "measure"
    return out


# --------------------------------------------------------------------------- makers


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return f"name={name!r} is not valid; expected the scenario's name"
    return None


def from_cluster(result, cluster_id: int, *, name: str) -> Scenario:
    """Return the scenario "consolidate this cluster into its hub": every other member closes.

    Parameters
    ----------
    result
        A :class:`assetmap.colocation.ColocationResult` (made for the same viewer).
    cluster_id
        The cluster (1, 2, ...).
    name
        The scenario's name.

    Returns
    -------
    Scenario
        A :class:`Close` into the hub for each member but the hub, in the members'
        order (a move the hub cannot take is refused when evaluated).

    Raises
    ------
    InvalidArgumentError
        Not a co-location result, no such cluster, or a member without a site id.
    """
    from .colocation import ColocationResult

    problems = []
    if not isinstance(result, ColocationResult):
        problems.append(
            f"result is a {type(result).__name__}; expected the ColocationResult of "
            "colocation_clusters"
        )
    if p := _name_problem(name):
        problems.append(p)
    raise_if_any(problems)
    ids = result.clusters["cluster_id"].to_numpy()
    if isinstance(cluster_id, bool) or not isinstance(cluster_id, Real) or cluster_id not in ids:
        raise InvalidArgumentError(
            f"cluster_id={cluster_id!r} is not a cluster here; expected one of 1 to {len(ids)}"
            if len(ids)
            else f"cluster_id={cluster_id!r} is not a cluster here: there are no clusters"
        )
    hub = str(
        result.clusters.loc[result.clusters["cluster_id"] == cluster_id, "hub_site_id"].iloc[0]
    )
    members = result.members[(result.members["cluster_id"] == cluster_id).to_numpy(dtype=bool)]
    others = members[~members["is_hub"].to_numpy(dtype=bool)]
    site_ids = _texts(others, "site_id")
    if not hub or any(not s for s in site_ids):
        raise InvalidArgumentError(
            f"cluster {cluster_id} has a member without a site id; a scenario names sites by id"
        )
    return Scenario(name=name, moves=tuple(Close(s, into=hub) for s in site_ids))


def from_plan(plan, *, name: str) -> Scenario:
    """Return the scenario of an optimal plan: each assignment as a :class:`TakeOffer`.

    The plan (:func:`assetmap.matching.allocate`) assigns requests to offers, and
    its offers are sites with spare space. An offer that carries an exchange
    ``offer_id`` column (offers entered from the exchange) keeps that id; any
    other is the register's spare space of its site, named as the exchange names
    it (``R...``: :func:`assetmap.exchange._ids.register_offer_id` of the site's
    source owner, source file and id), so that :func:`evaluate` finds it among
    the sites.

    Parameters
    ----------
    plan
        An :class:`assetmap.matching.AllocationPlan`.
    name
        The scenario's name.

    Raises
    ------
    InvalidArgumentError
        Not a plan, or a plan that splits a request between offers (a
        :class:`TakeOffer` takes a request's whole need from one offer: make the
        plan without ``allow_split``).
    """
    from .exchange._ids import register_offer_id
    from .matching import AllocationPlan

    problems = []
    if not isinstance(plan, AllocationPlan):
        problems.append(f"plan is a {type(plan).__name__}; expected the AllocationPlan of allocate")
    if p := _name_problem(name):
        problems.append(p)
    raise_if_any(problems)
    a = plan.assignments
    need = pd.to_numeric(a["need_sqft"], errors="coerce").to_numpy(dtype="float64")
    got = pd.to_numeric(a["assigned_sqft"], errors="coerce").to_numpy(dtype="float64")
    split = a["request"].duplicated(keep=False).to_numpy(dtype=bool) | (got < need - 0.5)
    if split.any():
        refs = ", ".join(sorted(set(_texts(a[split], "request_id"))))
        raise InvalidArgumentError(
            f"the plan splits request(s) {refs} between offers; a scenario takes a request's "
            "whole need from one offer: make the plan without allow_split"
        )
    offers = plan.match.offers
    moves = []
    for row in a.to_dict("records"):
        offer = offers.loc[row["offer"]]
        if isinstance(offer, pd.DataFrame):  # a label repeated in a hand-made table
            offer = offer.iloc[0]
        given = str(offer.get("offer_id", "") or "") if "offer_id" in offers.columns else ""
        offer_id = given or register_offer_id(
            str(offer.get("source_owner", "") or ""),
            str(offer.get("source_file", "") or ""),
            str(offer.get("site_id", "") or ""),
        )
        moves.append(TakeOffer(offer_id, str(row["request_id"])))
    return Scenario(name=name, moves=tuple(moves))


# --------------------------------------------------------------------------- who sees


def shares(
    scenario: Scenario,
    sites: pd.DataFrame,
    *,
    offers: pd.DataFrame | None = None,
    offer_sites: pd.DataFrame | None = None,
    requests: pd.DataFrame | None = None,
) -> str:
    """Return ``"yes"`` when every agency may see ``scenario``, else ``""`` (its agency only).

    A scenario is kept to its own agency when a move names a restricted site (a
    closed site, the site it moves into, a disposal, or the site of an offer
    taken) or a restricted request. A site, offer or request that cannot be looked
    up here (a site not in ``sites``, no ``offer_sites``/``requests`` given, or an
    id not in them) counts as restricted: a shared scenario must not name what other
    agencies may not know of.

    Parameters
    ----------
    scenario
        The scenario about to be saved.
    sites
        The sites its author may see (restricted ones included).
    offers, offer_sites, requests
        The store's tables, needed when the scenario takes offers.

    Returns
    -------
    str
        ``"yes"`` or ``""``: the store's ``shared`` column.
    """
    problems = []
    if not isinstance(scenario, Scenario):
        problems.append(f"scenario is a {type(scenario).__name__}; expected a Scenario")
    if not isinstance(sites, pd.DataFrame) or "site_id" not in sites.columns:
        problems.append("sites is not a table of sites with a site_id column")
    raise_if_any(problems)
    ids = sites["site_id"].astype(str)
    restricted_ids = set(ids[is_restricted(sites)])
    # a site that cannot be looked up here counts as restricted, as an offer or request does
    if scenario.site_ids() & restricted_ids or scenario.site_ids() - set(ids):
        return ""
    taken = [m for m in scenario.moves if isinstance(m, TakeOffer)]
    if not taken:
        return "yes"
    offer_site = _offer_sites_named(taken, sites, offers, offer_sites)
    hidden_request = _restricted_requests(requests)
    for move in taken:
        site = offer_site.get(move.offer_id)
        if site is None or site in restricted_ids:
            return ""
        if hidden_request.get(move.request_id, True):
            return ""
    return "yes"


def _offer_sites_named(
    taken: list[TakeOffer],
    sites: pd.DataFrame,
    offers: pd.DataFrame | None,
    offer_sites: pd.DataFrame | None,
) -> dict[str, str]:
    """Return the site id of each offer the tables name, and of each register offer taken."""
    from .exchange._ids import register_offer_id

    offer_site: dict[str, str] = {}
    for frame in (offer_sites, offers):
        if frame is not None and {"offer_id", "site_id"} <= set(frame.columns):
            for o, s in zip(_texts(frame, "offer_id"), _texts(frame, "site_id"), strict=True):
                offer_site.setdefault(o, s)
    wanted = {m.offer_id for m in taken if m.offer_id.startswith("R")} - set(offer_site)
    if wanted:  # a register offer is a site with spare space
        spare = sites[column_numbers(sites, "surplus_sqft") > 0]
        keys = zip(
            _texts(spare, "source_owner"),
            _texts(spare, "source_file"),
            _texts(spare, "site_id"),
            strict=True,
        )
        for o, f, s in keys:
            rid = register_offer_id(o, f, s)
            if rid in wanted:
                offer_site.setdefault(rid, s)
    return offer_site


def _restricted_requests(requests: pd.DataFrame | None) -> dict[str, bool]:
    """Return whether each request id names a restricted request (any of its rows)."""
    out: dict[str, bool] = {}
    if requests is not None and "request_id" in requests.columns:
        ids = _texts(requests, "request_id")
        for rid, hidden in zip(ids, is_restricted(requests), strict=True):
            out[rid] = out.get(rid, False) or bool(hidden)
    return out


def visible_scenarios(
    scenarios: pd.DataFrame, visible_site_ids, viewer: Viewer | str | None = None
) -> pd.DataFrame:
    """Return the saved scenarios ``viewer`` may see, numbered afresh from 0.

    Their own agency's (``agency`` or ``owner`` the viewer's; for the local single
    user with no agency, those of no owner and no agency, which they saved), and other
    agencies' that are shared (``shared == "yes"``) and whose every site is among
    ``visible_site_ids`` (a scenario naming a site the viewer may not see is
    withheld whole, as the site is). A row whose moves cannot be read is shown
    only to its own agency.

    Parameters
    ----------
    scenarios
        The store's ``scenarios`` table (``name``, ``agency``, ``moves``, ``shared``, ...).
    visible_site_ids
        The ids of the sites the viewer may see (any iterable of text).
    viewer
        Who is looking.

    Returns
    -------
    pandas.DataFrame
        The rows kept, in their order, numbered from 0 (the store's labels would
        count the rows withheld).
    """
    problems = []
    if p := check_viewer(viewer):
        problems.append(p)
    if p := _frame_problem("scenarios", scenarios, ("moves", "shared")):
        problems.append(p)
    elif scenarios is None:
        problems.append("scenarios is None; expected the store's scenarios table")
    raise_if_any(problems)
    viewer = as_viewer(viewer)
    key = viewer.key if viewer is not None else ""
    seen = {str(s) for s in visible_site_ids}
    # the local single user with no agency saves as owner "": those are theirs (a
    # signed-in viewer of no agency has none of their own)
    local = viewer is not None and not viewer.signed_in and not key
    keep = []
    for row in scenarios.to_dict("records"):
        if key and key in (agency_key(row.get("agency")), agency_key(row.get("owner"))):
            keep.append(True)
            continue
        if local and not agency_key(row.get("owner")) and not agency_key(row.get("agency")):
            keep.append(True)
            continue
        if _text_field(row, "shared") != "yes":
            keep.append(False)
            continue
        try:
            named = Scenario.from_row(row).site_ids()
        except InvalidArgumentError:
            keep.append(False)
            continue
        keep.append(named <= seen)
    return scenarios[np.asarray(keep, dtype=bool)].reset_index(drop=True)
