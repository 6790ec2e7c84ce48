"""The exchange's store contract, on both stores: its tables, one move, and completing a match.

What :class:`~assetmap.store.interface.EstateStore` promises the space exchange
(``exchange``, ``exchange_write``, ``complete_match``): a new row at version 1 and each
change at the stored version plus one, else a :class:`~assetmap.errors.ConflictError`
saying what it is now, with nothing written; edits written through to the stored sites
and requests; a completion that moves the space in one go; and two people moving one
match at once giving one move and one clear refusal. Every case runs on a GeoPackage
store and on a PostGIS store (``any_store``); a database is read back as its owner role,
which sees every agency's rows, so that "nothing was written" is checked everywhere.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from assetmap.errors import ConflictError, InvalidArgumentError, PermissionDeniedError
from assetmap.registers.importer import import_register
from assetmap.registers.validate import shared_groups
from assetmap.store import GeoPackageStore, open_store
from assetmap.store.interface import (
    EDIT_COLUMNS,
    EXCHANGE_LAYOUT,
    ExchangeChange,
    conform,
)
from tests.exchange_estates import offer_row

POLICE = (
    "Property reference,Site name,Postcode,GIA (sq ft),Vacant space (sq ft)\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,40000\n"
    "P2,Tonbridge Police Station,TN9 1SP,12000,\n"
)
HEALTH = "Site name,Postcode,UPRN\nThe Hub,TN1 1AA,200000\n"
COUNCIL = "Site name,Postcode,UPRN\nShared Hub,TN1 1AA,200000\n"
REQUESTS = (
    "Request ref,Requesting agency,Space needed (sq ft),Postcode,Locality\n"
    "R1,NHS Kent,40000,TN1 1AA,\n"
    "R2,NHS Kent,2000,TN1 1AA,\n"
)
AT = "2026-12-05T10:02:11+00:00"
#: Generous bound that only turns a hang into a failure (no timing is asserted).
WAIT_S = 120.0


@dataclass
class Estate:
    """A store holding four registers, and where to read every row of it back."""

    location: Path | str
    everyone: Path | str  # the same store, as a role that sees every agency's rows
    sites: dict[str, str]  # site name -> site_id
    requests: dict[str, str]  # request ref (R1, R2) -> request_id

    def store(self):
        """Open the store as the local single user (a database: writes as the writer named)."""
        return open_store(self.location)

    def everything(self) -> dict[str, pd.DataFrame]:
        """Every exchange table, the sites and the requests, as stored."""
        store = open_store(self.everyone)
        state = {table: store.exchange(table) for table in EXCHANGE_LAYOUT}
        state["sites"] = pd.DataFrame(store.sites().to_wkt())
        state["requests"] = pd.DataFrame(store.requests().to_wkt())
        return state

    def site(self, name: str) -> pd.Series:
        sites = self.everything()["sites"]
        return sites[sites["name"] == name].iloc[0]

    def request(self, ref: str) -> pd.Series:
        requests = self.everything()["requests"]
        return requests[requests["request_id"] == self.requests[ref]].iloc[0]


def _is_database(location) -> bool:
    return isinstance(location, str) and location.startswith("postgresql://")


def _everyone(location, request: pytest.FixtureRequest):
    """The store as a role that sees every row: a database's owner role, else the file."""
    return request.getfixturevalue("pg_store")[0] if _is_database(location) else location


@pytest.fixture
def estate(any_store, request: pytest.FixtureRequest) -> Estate:
    """Police sites, an NHS site and requests, and a council site sharing the NHS site's UPRN."""
    for text, name, agency, sector, kind in (
        (POLICE, "police.csv", "Kent Police", "police", "sites"),
        (HEALTH, "nhs.csv", "NHS Kent", "health", "sites"),
        (COUNCIL, "council.csv", "Tunbridge Wells BC", "council", "sites"),
        (REQUESTS, "requests.csv", "NHS Kent", "health", "requests"),
    ):
        import_register(
            text.encode(), name=name, store=any_store, agency=agency, sector=sector, kind=kind
        )
    everyone = _everyone(any_store, request)
    store = open_store(everyone)
    sites = dict(zip(store.sites()["name"], store.sites()["site_id"], strict=True))
    requests = store.requests()
    refs = dict(zip(["R1", "R2"], requests["request_id"], strict=True))
    assert requests["space_needed_sqft"].tolist() == [40000.0, 2000.0]
    return Estate(any_store, everyone, sites, refs)


def _offer(offer_id: str, *, version: int = 1, sqft: float = 40000.0, **fields) -> pd.DataFrame:
    return pd.DataFrame([offer_row(offer_id, version=version, sqft=sqft, at=AT, **fields)])


def _offer_site(offer_id: str, site_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "offer_id": offer_id,
                "site_id": site_id,
                "source_file": "police.csv",
                "source_owner": "Kent Police",
                "version": 1,
            }
        ]
    )


def _match(
    estate: Estate,
    match_id: str,
    *,
    offer_id: str = "O1",
    site: str = "Maidstone Police Office",
    request: str = "R1",
    sqft: float = 30000.0,
    state: str = "accepted",
    version: int = 1,
    by: str = "bob@nhs",
) -> pd.DataFrame:
    named = site != ""
    row = {
        "match_id": match_id,
        "offer_id": offer_id,
        "site_id": estate.sites[site] if named else "",
        "site_file": "police.csv" if named else "",
        "site_owner": "Kent Police" if named else "",
        "request_id": estate.requests[request],
        "request_file": "requests.csv",
        "request_owner": "NHS Kent",
        "holder": "Kent Police",
        "requester": "NHS Kent",
        "sqft": sqft,
        "state": state,
        "proposed_by": "person",
        "note": "",
        "created_at": AT,
        "created_by": "ann@police",
        "updated_at": AT,
        "updated_by": by,
        "version": version,
    }
    return pd.DataFrame([row])


#: The moves that bring a match to each state, as the exchange makes them: the state, the
#: agency writing it and who.
_LIFECYCLE = (
    ("proposed", "NHS Kent", "bob@nhs"),
    ("offered", "Kent Police", "ann@police"),
    ("accepted", "NHS Kent", "bob@nhs"),
)


def _agreed(
    estate: Estate,
    store,
    match_id: str,
    *,
    state: str = "accepted",
    columns: dict | None = None,
    **fields,
) -> int:
    """Write a match as the exchange does (proposed at version 1 by the agency asking, then
    offered by the holder, then accepted) up to ``state``; return its version then.

    (A match written straight in at another state is refused by a database's trigger.)
    ``columns`` are set in the match's row as given.
    """
    states = [step[0] for step in _LIFECYCLE]
    for version, (step, writer, by) in enumerate(_LIFECYCLE[: states.index(state) + 1], 1):
        row = _match(estate, match_id, state=step, version=version, by=by, **fields)
        row = row.assign(**(columns or {}))
        store.exchange_write(ExchangeChange(writer, rows={"matches": row}))
    return states.index(state) + 1


def _amendment(amendment_id: str, site_id: str) -> pd.DataFrame:
    """A standing amendment of a police site's spare space (as an offer of it keeps)."""
    row = {
        "amendment_id": amendment_id,
        "layer": "sites",
        "row_id": site_id,
        "source_file": "police.csv",
        "source_owner": "Kent Police",
        "field": "surplus_sqft",
        "old": "40000",
        "new": "40000",
        "agency": "Kent Police",
        "by": "ann@police",
        "at": AT,
        "reason": "offer O1",
        "state": "standing",
        "version": 1,
    }
    return pd.DataFrame([row])


def _edits(*edits: tuple[str, str, str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(edits), columns=list(EDIT_COLUMNS))


def _site_edit(estate: Estate, name: str, field: str, value: str) -> tuple:
    return ("sites", "Kent Police", "police.csv", estate.sites[name], field, value)


def _assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert list(before) == list(after)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], check_exact=True, obj=name)


# ---------------------------------------------------------------------------- reading


def test_the_exchange_tables_read_empty_with_their_columns_before_any_exchange_write(
    any_store, request
):
    def check() -> None:
        store = open_store(_everyone(any_store, request))
        for table, (columns, _) in EXCHANGE_LAYOUT.items():
            frame = store.exchange(table)
            assert frame.empty, table
            expected = conform(pd.DataFrame(), columns)
            assert list(frame.columns) == list(columns), table
            assert frame.dtypes.tolist() == expected.dtypes.tolist(), table

    check()  # no store file yet / a database just made
    import_register(POLICE.encode(), name="police.csv", store=any_store, agency="Kent Police")
    check()  # a store written without them
    with pytest.raises(InvalidArgumentError, match=r"table='bogus' is not valid; expected one"):
        open_store(any_store).exchange("bogus")


# ---------------------------------------------------------------------------- writing rows


def test_a_new_row_is_version_1_and_each_change_is_the_stored_version_plus_one(estate):
    store = estate.store()
    version = store.version()
    p1 = estate.sites["Maidstone Police Office"]
    store.exchange_write(
        ExchangeChange(
            "Kent Police",
            rows={"offers": _offer("O1", sqft=30000.0), "offer_sites": _offer_site("O1", p1)},
            edits=_edits(_site_edit(estate, "Maidstone Police Office", "surplus_sqft", "30000")),
        )
    )
    assert store.version() != version
    offers = estate.everything()["offers"]
    assert offers[["offer_id", "sqft", "state", "area", "version"]].values.tolist() == [
        ["O1", 30000.0, "open", "Maidstone", 1]
    ]
    assert offers["open"].tolist() == [""] and offers["terms"].tolist() == [""]
    assert estate.everything()["offer_sites"][["offer_id", "site_id"]].values.tolist() == [
        ["O1", p1]
    ]
    assert estate.site("Maidstone Police Office")["surplus_sqft"] == 30000.0

    version = store.version()
    store.exchange_write(ExchangeChange("Kent Police", rows={"offers": _offer("O2")}))
    store.exchange_write(
        ExchangeChange(
            "Kent Police",
            rows={"offers": _offer("O1", version=2, sqft=25000.0, terms="peppercorn")},
        )
    )
    assert store.version() != version
    offers = estate.everything()["offers"]
    # changed where it was: oldest first, one row per offer
    assert offers[["offer_id", "sqft", "terms", "version"]].values.tolist() == [
        ["O1", 25000.0, "peppercorn", 2],
        ["O2", 40000.0, "", 1],
    ]
    store.exchange_write(
        ExchangeChange("Kent Police", rows={"offers": _offer("O1", version=3, state="withdrawn")})
    )
    assert estate.everything()["offers"]["state"].tolist() == ["withdrawn", "open"]


@pytest.mark.parametrize(
    "case",
    ["taken key", "stale version", "row not stored", "edit not stored", "edit not the writer's"],
)
def test_a_row_not_as_read_is_refused_saying_what_it_is_now_and_nothing_is_written(estate, case):
    store = estate.store()
    store.exchange_write(ExchangeChange("Kent Police", rows={"offers": _offer("O1")}))
    store.exchange_write(
        ExchangeChange("Kent Police", rows={"offers": _offer("O1", version=2, sqft=35000.0)})
    )
    before, version = estate.everything(), store.version()
    bad, edits = {
        "taken key": (_offer("O1"), []),
        "stale version": (_offer("O1", version=2), []),
        "row not stored": (_offer("O9", version=2), []),
        "edit not stored": (
            _offer("O2"),
            [("sites", "Kent Police", "police.csv", "Sgone", "floor_area_sqft", "1")],
        ),
        "edit not the writer's": (  # NHS Kent's site, written as Kent Police
            _offer("O2"),
            [("sites", "NHS Kent", "nhs.csv", estate.sites["The Hub"], "floor_area_sqft", "1")],
        ),
    }[case]
    message = {
        "taken key": r"^Offer O1 was made by someone else first; nothing changed\.$",
        "stale version": r"^Offer O1 was changed by ann@police at 2026-12-05 10:02:11 UTC "
        r"\(it is open now\); nothing changed\.$",
        "row not stored": r"^Offer O9 is not in the store; nothing changed\.$",
        "edit not stored": r"^The site Sgone of police\.csv is no longer in the store, or is "
        r"not yours to change; nothing changed\.$",
        "edit not the writer's": rf"^The site {estate.sites['The Hub']} of nhs\.csv is no "
        r"longer in the store, or is not yours to change; nothing changed\.$",
    }[case]
    # each beside rows and an edit that would be written, in every table
    change = ExchangeChange(
        "Kent Police",
        rows={
            "offers": pd.concat([_offer("O3"), bad], ignore_index=True),
            "offer_sites": _offer_site("O3", estate.sites["Tonbridge Police Station"]),
            "matches": _match(estate, "M1", offer_id="O3", state="proposed"),
            "amendments": _amendment("A1", estate.sites["Tonbridge Police Station"]),
            "interest": pd.DataFrame(
                [{"interest_id": "I1", "offer_id": "O3", "agency": "Kent Police", "version": 1}]
            ),
        },
        edits=_edits(
            _site_edit(estate, "Tonbridge Police Station", "floor_area_sqft", "13000"), *edits
        ),
    )
    with pytest.raises(ConflictError, match=message):
        store.exchange_write(change)
    _assert_same(before, estate.everything())
    assert store.version() == version


def test_a_change_that_fails_midway_writes_nothing(estate, any_store):
    """A failure after the rows are written (here, settling the shared groups) undoes them."""
    store = estate.store()
    before, version = estate.everything(), store.version()
    file_before = _sha256(any_store) if not _is_database(any_store) else None

    def broken(keys: pd.DataFrame) -> pd.Series:
        raise RuntimeError("the shared-site check broke")

    change = ExchangeChange(
        "NHS Kent",
        rows={"interest": pd.DataFrame([{"interest_id": "I1", "offer_id": "O1", "version": 1}])},
        edits=_edits(
            ("sites", "NHS Kent", "nhs.csv", estate.sites["The Hub"], "sensitivity", "restricted")
        ),
    )
    with pytest.raises(RuntimeError, match="the shared-site check broke"):
        store.exchange_write(change, shared=broken)
    _assert_same(before, estate.everything())
    assert store.version() == version
    if file_before is not None:
        assert _sha256(any_store) == file_before


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------- edits


def test_edits_write_through_to_the_stored_site_and_request_in_the_columns_types(estate):
    store = estate.store()
    before = estate.everything()
    store.exchange_write(
        ExchangeChange(
            "Kent Police",
            edits=_edits(
                *(
                    _site_edit(estate, "Maidstone Police Office", field, value)
                    for field, value in (
                        ("floor_area_sqft", "12000.5"),
                        ("running_cost_gbp", "1200"),
                        ("tenure", "freehold"),
                        ("lease_expiry", "2027-03-31"),
                        ("use", "Offices"),
                        ("use_class", "E(g)(i)"),
                        ("surplus_sqft", ""),  # missing
                    )
                )
            ),
        )
    )
    store.exchange_write(
        ExchangeChange(
            "NHS Kent",
            edits=_edits(
                *(
                    ("requests", "NHS Kent", "requests.csv", estate.requests["R1"], f, v)
                    for f, v in (
                        ("space_needed_sqft", "35000"),
                        ("max_distance_m", "5000"),
                        ("needed_by", "2027-01-01"),
                    )
                )
            ),
        )
    )
    after = estate.everything()
    site = estate.site("Maidstone Police Office")
    assert site["floor_area_sqft"] == 12000.5 and site["running_cost_gbp"] == 1200.0
    assert (site["tenure"], site["lease_expiry"]) == ("freehold", "2027-03-31")
    assert (site["use"], site["use_class"]) == ("Offices", "E(g)(i)")
    assert pd.isna(site["surplus_sqft"])
    request = estate.request("R1")
    assert request["space_needed_sqft"] == 35000.0 and request["max_distance_m"] == 5000.0
    assert request["needed_by"] == "2027-01-01"
    for layer in ("sites", "requests"):  # the columns keep their types
        assert after[layer].dtypes.tolist() == before[layer].dtypes.tolist()
    # nothing else changed: the other rows, and the exchange's tables
    others = before["sites"]["name"] != "Maidstone Police Office"
    pd.testing.assert_frame_equal(
        after["sites"][others.to_numpy()], before["sites"][others.to_numpy()]
    )
    assert after["requests"].iloc[1].equals(before["requests"].iloc[1])
    assert all(after[t].empty for t in EXCHANGE_LAYOUT)


def test_an_edit_of_a_field_the_exchange_may_not_change_or_not_a_number_is_refused(estate):
    store = estate.store()
    before, version = estate.everything(), store.version()
    change = ExchangeChange(
        "Kent Police",
        rows={"offers": _offer("O1")},
        edits=_edits(
            _site_edit(estate, "Maidstone Police Office", "name", "Renamed"),
            _site_edit(estate, "Maidstone Police Office", "floor_area_sqft", "lots"),
        ),
    )
    with pytest.raises(
        InvalidArgumentError,
        match=r"an edit of 'name' of 'sites' is not valid; expected a field of sites: "
        r"floor_area_sqft.*; an edit of floor_area_sqft to 'lots' is not valid; expected a "
        r"number or ''",
    ):
        store.exchange_write(change)
    _assert_same(before, estate.everything())
    assert store.version() == version


def test_a_site_made_restricted_leaves_no_shared_flag_on_it_or_its_partner(estate):
    store = estate.store()
    groups = estate.everything()["sites"].set_index("name")["shared_group"]
    assert groups["The Hub"] == groups["Shared Hub"] != ""  # one UPRN, two agencies
    hub = estate.sites["The Hub"]

    def sensitivity(value: str) -> None:
        edit = ("sites", "NHS Kent", "nhs.csv", hub, "sensitivity", value)
        store.exchange_write(ExchangeChange("NHS Kent", edits=_edits(edit)), shared=shared_groups)

    sensitivity("restricted")
    sites = estate.everything()["sites"].set_index("name")
    assert sites.loc["The Hub", "sensitivity"] == "restricted"
    assert sites.loc["The Hub", "shared_group"] == sites.loc["Shared Hub", "shared_group"] == ""
    sensitivity("open")  # settled again: shared once more
    groups = estate.everything()["sites"].set_index("name")["shared_group"]
    assert groups["The Hub"] == groups["Shared Hub"] != ""
    assert groups["Maidstone Police Office"] == ""


# ---------------------------------------------------------------------------- completing


def _offered(estate: Estate) -> None:
    """Police offer 40,000 sq ft at Maidstone (O1), kept as a standing amendment too."""
    p1 = estate.sites["Maidstone Police Office"]
    estate.store().exchange_write(
        ExchangeChange(
            "Kent Police",
            rows={
                "offers": _offer("O1"),
                "offer_sites": _offer_site("O1", p1),
                "amendments": _amendment("A0", p1),
            },
        )
    )


def test_completing_a_match_moves_its_space_records_it_and_completes_it(estate):
    _offered(estate)
    store = estate.store()
    at = _agreed(estate, store, "M1")
    version = store.version()
    store.complete_match("M1", version=at, agency="NHS Kent", by="bob@nhs", at=AT)
    assert store.version() != version
    state = estate.everything()
    assert estate.site("Maidstone Police Office")["surplus_sqft"] == 10000.0
    assert estate.request("R1")["space_needed_sqft"] == 10000.0
    assert estate.request("R2")["space_needed_sqft"] == 2000.0  # untouched
    offer = state["offers"].iloc[0]
    assert (offer["sqft"], offer["state"], offer["version"]) == (10000.0, "open", 2)
    assert (offer["updated_by"], offer["updated_at"]) == ("bob@nhs", AT)
    match = state["matches"].iloc[0]
    assert (match["state"], match["version"], match["updated_by"]) == ("completed", 4, "bob@nhs")
    amendments = state["amendments"].set_index("amendment_id")
    assert amendments.loc["A0", ["state", "version"]].tolist() == ["replaced", 2]
    added = amendments.drop(index="A0").sort_values("layer")
    assert added.index.str.fullmatch(r"A[0-9a-f]{16}").all()
    assert added[["layer", "row_id", "field", "old", "new", "agency"]].values.tolist() == [
        ["requests", estate.requests["R1"], "space_needed_sqft", "40000", "10000", "NHS Kent"],
        [
            "sites",
            estate.sites["Maidstone Police Office"],
            "surplus_sqft",
            "40000",
            "10000",
            "Kent Police",
        ],
    ]
    assert (added["by"] == "bob@nhs").all() and (added["at"] == AT).all()
    assert (added["reason"] == "match M1 completed").all()
    assert (added["state"] == "standing").all() and (added["version"] == 1).all()

    # the rest of the offer, for a smaller request, by the holder (any case or spacing), its
    # site found through offer_sites (a match on an open offer of a restricted site names none)
    at = _agreed(estate, store, "M2", site="", request="R2", sqft=10000.0)
    store.complete_match("M2", version=at, agency=" kent  POLICE ", by="ann@police", at=AT)
    state = estate.everything()
    assert estate.site("Maidstone Police Office")["surplus_sqft"] == 0.0
    assert estate.request("R2")["space_needed_sqft"] == 0.0  # to 0 at least
    offer = state["offers"].iloc[0]
    assert (offer["sqft"], offer["state"], offer["version"]) == (0.0, "taken", 3)
    standing = state["amendments"][
        (state["amendments"]["state"] == "standing") & (state["amendments"]["layer"] == "sites")
    ]
    # one standing amendment of the site's spare space, still keeping the register's value
    assert standing[["field", "old", "new"]].values.tolist() == [["surplus_sqft", "40000", "0"]]
    assert state["matches"]["state"].tolist() == ["completed", "completed"]


REFUSALS = {
    "not a party": (
        PermissionDeniedError,
        r"there is no match M1 of your agency's to complete: only the agency holding the "
        "space and the agency that asked for it may complete a match",
    ),
    "moved first": (
        ConflictError,
        r"^Match M1 was withdrawn by ann@police at 2026-12-05.10:02:11.*; nothing changed\.$",
    ),
    "not accepted": (
        ConflictError,
        r"^Match M1 was offered by ann@police at 2026-12-05.10:02:11.*; nothing changed\.$",
    ),
    "too little space": (
        ConflictError,
        r"^The offer of match M1 has less spare space left than the 50000 sq ft the match "
        r"moves; nothing changed\.$",
    ),
    "site gone": (
        ConflictError,
        r"^The site of match M1 is no longer in the store \(its register was imported again "
        r"or removed\); nothing changed\.$",
    ),
    "request gone": (
        ConflictError,
        r"^The request of match M1 is no longer in the store \(its register was imported "
        r"again or removed\); nothing changed\.$",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_completion_is_refused_with_its_reason_and_nothing_is_written(estate, case):
    _offered(estate)
    store = estate.store()
    at = {
        "not accepted": lambda: _agreed(estate, store, "M1", state="offered"),
        "too little space": lambda: _agreed(estate, store, "M1", sqft=50000.0),
    }.get(case, lambda: _agreed(estate, store, "M1"))()
    if case == "moved first":  # withdrawn by the holder after it was read (accepted)
        match = _match(estate, "M1", state="withdrawn", version=at + 1, by="ann@police")
        store.exchange_write(ExchangeChange("Kent Police", rows={"matches": match}))
    if case == "site gone":
        store.remove_source("police.csv", owner="Kent Police")
    elif case == "request gone":
        store.remove_source("requests.csv", owner="NHS Kent")
    agency = "Tunbridge Wells BC" if case == "not a party" else "NHS Kent"
    before, version = estate.everything(), store.version()
    error, message = REFUSALS[case]
    with pytest.raises(error, match=message):
        store.complete_match("M1", version=at, agency=agency, by="bob@nhs", at=AT)
    _assert_same(before, estate.everything())
    assert store.version() == version


#: Matches naming a site complete_match must not find: (offer id, the site it names).
ELSEWHERE = {
    # a register's offer ("R...") naming another agency's site (NHS Kent's, not the holder's)
    "another agency's site": ("R" + "0" * 16, ("The Hub", "nhs.csv", "NHS Kent")),
    # an offer made in assetmap (O1, at Maidstone) naming another site of the holder's
    "not the offer's site": ("O1", ("Tonbridge Police Station", "police.csv", "Kent Police")),
}


@pytest.mark.parametrize("case", [*ELSEWHERE, "the holder's register offer"])
def test_a_completion_finds_only_the_holders_site_of_the_offer(estate, case):
    """Any other site a match names is "gone", as one that is not there: completing tells
    nothing of it (a database's function sees every agency's sites)."""
    _offered(estate)
    store = estate.store()
    offer_id, (name, source_file, owner) = ELSEWHERE.get(
        case, ("R" + "1" * 16, ("Maidstone Police Office", "police.csv", "Kent Police"))
    )
    named = {"site_id": estate.sites[name], "site_file": source_file, "site_owner": owner}
    at = _agreed(estate, store, "M1", offer_id=offer_id, sqft=1000.0, columns=named)
    before, version = estate.everything(), store.version()
    if case == "the holder's register offer":  # the control: found, and completed
        store.complete_match("M1", version=at, agency="NHS Kent", by="bob@nhs", at=AT)
        assert estate.site("Maidstone Police Office")["surplus_sqft"] == 39000.0
        return
    with pytest.raises(ConflictError, match=REFUSALS["site gone"][1]):
        store.complete_match("M1", version=at, agency="NHS Kent", by="bob@nhs", at=AT)
    _assert_same(before, estate.everything())
    assert store.version() == version


def test_a_completion_leaves_every_live_offer_on_the_site_offering_what_is_left(estate):
    """A match made on the site's register offer, completed while an offer made in assetmap
    is live on the same site: that offer now offers the site's spare space."""
    _offered(estate)  # O1: 40,000 sq ft at Maidstone
    store = estate.store()
    at = _agreed(estate, store, "M1", offer_id="R" + "1" * 16, sqft=15000.0)
    store.complete_match("M1", version=at, agency="NHS Kent", by="bob@nhs", at=AT)
    assert estate.site("Maidstone Police Office")["surplus_sqft"] == 25000.0
    offer = estate.everything()["offers"].set_index("offer_id").loc["O1"]
    assert (offer["sqft"], offer["state"], offer["version"]) == (25000.0, "open", 2)
    assert (offer["updated_by"], offer["updated_at"]) == ("bob@nhs", AT)
    at = _agreed(estate, store, "M2", offer_id="R" + "1" * 16, request="R2", sqft=25000.0)
    store.complete_match("M2", version=at, agency="Kent Police", by="ann@police", at=AT)
    offer = estate.everything()["offers"].set_index("offer_id").loc["O1"]
    assert (offer["sqft"], offer["state"], offer["version"]) == (0.0, "taken", 3)


def test_a_second_standing_amendment_of_one_field_is_a_conflict(estate):
    """Two moves at once that each read "none standing" each write a new standing amendment
    of one field of one row: the second is refused, nothing of it written."""
    _offered(estate)  # A0: standing, Maidstone's spare space
    store = estate.store()
    before, version = estate.everything(), store.version()
    p1 = estate.sites["Maidstone Police Office"]
    with pytest.raises(
        ConflictError,
        match=rf"^The surplus_sqft of the site {p1} of police\.csv was changed by someone else "
        r"at the same moment; nothing changed\.$",
    ):
        store.exchange_write(
            ExchangeChange(
                "Kent Police", rows={"offers": _offer("O2"), "amendments": _amendment("A9", p1)}
            )
        )
    _assert_same(before, estate.everything())
    assert store.version() == version
    # replacing the standing one first, as every change of a field does, is no conflict
    replaced = _amendment("A0", p1).assign(state="replaced", version=2)
    store.exchange_write(
        ExchangeChange(
            "Kent Police",
            rows={"amendments": pd.concat([replaced, _amendment("A9", p1)], ignore_index=True)},
        )
    )
    amendments = estate.everything()["amendments"]
    assert amendments[["amendment_id", "state"]].values.tolist() == [
        ["A0", "replaced"],
        ["A9", "standing"],
    ]


# ---------------------------------------------------------------------------- at once


def _at_once(calls: list) -> list[object]:
    """Run each call in its own thread, all released together; return what each did."""
    barrier = threading.Barrier(len(calls))
    done: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=WAIT_S)
        try:
            calls[i]()
            done[i] = "done"
        except Exception as exc:  # the test looks at it
            done[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a move never finished"
    return done


def _accepting_at_once(estate: Estate, stores: list) -> None:
    """Two people of NHS Kent accept one offered match at the same version, at once."""
    at = _agreed(estate, stores[0], "M1", state="offered")

    def accept(store, who: str):
        row = _match(estate, "M1", state="accepted", version=at + 1, by=who)
        return lambda: store.exchange_write(ExchangeChange("NHS Kent", rows={"matches": row}))

    done = _at_once([accept(stores[0], "bob@nhs"), accept(stores[1], "cat@nhs")])
    assert done.count("done") == 1, done
    (refused,) = [d for d in done if d != "done"]
    winner = ["bob@nhs", "cat@nhs"][done.index("done")]
    assert isinstance(refused, ConflictError), refused
    assert refused.args[0].startswith(f"Match M1 was accepted by {winner} at ")
    assert refused.args[0].endswith("; nothing changed.")
    match = estate.everything()["matches"]
    assert match[["state", "version", "updated_by"]].values.tolist() == [
        ["accepted", at + 1, winner]
    ]


def test_two_people_accepting_one_match_at_once_through_two_stores_one_accepts(estate):
    _accepting_at_once(estate, [estate.store(), estate.store()])


def test_two_people_completing_one_match_at_once_through_two_stores_one_completes(estate):
    _offered(estate)
    stores = [estate.store(), estate.store()]
    at = _agreed(estate, stores[0], "M1", sqft=10000.0)
    done = _at_once(
        [
            lambda: stores[0].complete_match(
                "M1", version=at, agency="NHS Kent", by="bob@nhs", at=AT
            ),
            lambda: stores[1].complete_match(
                "M1", version=at, agency="Kent Police", by="ann@police", at=AT
            ),
        ]
    )
    assert done.count("done") == 1, done
    (refused,) = [d for d in done if d != "done"]
    assert isinstance(refused, ConflictError), refused
    assert refused.args[0].startswith("Match M1 was completed by ")
    # the space moved once
    assert estate.site("Maidstone Police Office")["surplus_sqft"] == 30000.0
    assert estate.request("R1")["space_needed_sqft"] == 30000.0


def test_two_threads_accepting_one_match_at_once_through_one_geopackage_store_one_accepts(
    store_path, request
):
    for text, name, agency, kind in (
        (POLICE, "police.csv", "Kent Police", "sites"),
        (REQUESTS, "requests.csv", "NHS Kent", "requests"),
    ):
        import_register(text.encode(), name=name, store=store_path, agency=agency, kind=kind)
    store = GeoPackageStore(store_path)
    sites = dict(zip(store.sites()["name"], store.sites()["site_id"], strict=True))
    refs = dict(zip(["R1", "R2"], store.requests()["request_id"], strict=True))
    _accepting_at_once(Estate(store_path, store_path, sites, refs), [store, store])


# ---------------------------------------------------------------------------- GeoPackage


def test_a_geopackage_keeps_the_exchange_as_plain_tables_its_readers_see_at_once(store_path):
    import_register(POLICE.encode(), name="police.csv", store=store_path, agency="Kent Police")
    store = GeoPackageStore(store_path)
    assert store.exchange("offers").empty  # this process has read the store without them
    store.exchange_write(ExchangeChange("Kent Police", rows={"offers": _offer("O1")}))
    assert store.exchange("offers")["offer_id"].tolist() == ["O1"]  # no stale list of layers
    layers = dict(pyogrio.list_layers(store_path).tolist())
    assert {t: layers[t] for t in EXCHANGE_LAYOUT} == dict.fromkeys(EXCHANGE_LAYOUT)
    with closing(sqlite3.connect(store_path)) as db:
        kinds = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
        assert {t: kinds[t] for t in EXCHANGE_LAYOUT} == dict.fromkeys(
            EXCHANGE_LAYOUT, "attributes"
        )
        assert kinds["places"] == "attributes"  # as the store's own tables without geometry


def test_a_geopackage_rewritten_whole_keeps_its_exchange_rows(store_path):
    import_register(POLICE.encode(), name="police.csv", store=store_path, agency="Kent Police")
    store = GeoPackageStore(store_path)
    rows = {
        "offers": _offer("O1", terms="it's ours"),
        "interest": pd.DataFrame(
            [{"interest_id": "I1", "offer_id": "O1", "agency": "NHS Kent", "version": 1}]
        ),
    }
    store.exchange_write(ExchangeChange("Kent Police", rows=rows))
    before = {t: store.exchange(t) for t in EXCHANGE_LAYOUT}
    with closing(sqlite3.connect(store_path)) as db:  # the layout of an older assetmap
        db.execute("ALTER TABLE sites ADD COLUMN imported_at TEXT")
        db.commit()
    inode = store_path.stat().st_ino
    import_register(POLICE.encode(), name="police2.csv", store=store_path, agency="Kent Police")
    assert store_path.stat().st_ino != inode  # rewritten whole, in a new file
    _assert_same(before, {t: store.exchange(t) for t in EXCHANGE_LAYOUT})
    store.exchange_write(ExchangeChange("Kent Police", rows={"offers": _offer("O1", version=2)}))
    assert store.exchange("offers")["version"].tolist() == [2]


def test_completing_a_match_not_in_a_geopackage_is_a_conflict(store_path):
    import_register(POLICE.encode(), name="police.csv", store=store_path, agency="Kent Police")
    with pytest.raises(ConflictError, match=r"^Match M9 is not in the store; nothing changed\.$"):
        GeoPackageStore(store_path).complete_match(
            "M9", version=1, agency="Kent Police", by="ann@police", at=AT
        )
