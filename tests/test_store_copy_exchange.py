"""``store copy`` keeps the space exchange: every row of its five tables, values and versions.

An estate of three agencies (Kent Police's sites, NHS Kent's and Kent Fire's requests)
holds rows in every exchange table, written through the store as the exchange writes
them: offers at version 1, one changed to version 2, a match completed (which moves the
space, adds two amendments and raises the offer's version again), two matches still
proposed and an expression of interest in a disposal. It is copied GeoPackage ->
PostGIS -> GeoPackage, and every exchange row comes back identical. The copies still
work: a copied match is moved on at the version it was copied at (a stale version is
refused), and row security on the PostGIS copy hides a match from an agency not party
to it. :meth:`~assetmap.store.interface.EstateStore.put_exchange_rows`, which writes the
rows as they are,
refuses what it cannot keep whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from assetmap import exchange
from assetmap.access import Viewer
from assetmap.cli import main
from assetmap.cli.store_ops import copy_estate
from assetmap.errors import ConflictError, DataNotFoundError, InvalidArgumentError, StoreError
from assetmap.registers.importer import import_register
from assetmap.store import open_store
from assetmap.store.geopackage import GeoPackageStore
from assetmap.store.interface import EDIT_COLUMNS, EXCHANGE_LAYOUT, ExchangeChange
from tests.exchange_estates import offer_row

POLICE_SITES = (
    "Property reference,Site name,Postcode,GIA (sq ft),Vacant space (sq ft)\n"
    "P1,Maidstone Police Office,ME14 1XX,95000,40000\n"
    "P2,Tonbridge Police Station,TN9 1SP,12000,\n"
)
NHS_REQUESTS = (
    "Request ref,Requesting agency,Space needed (sq ft),Postcode,Locality\n"
    "R1,NHS Kent,40000,TN1 1AA,\n"
    "R2,NHS Kent,2000,TN1 1AA,\n"
)
FIRE_REQUESTS = (
    "Request ref,Requesting agency,Space needed (sq ft),Postcode,Locality\n"
    "F1,Kent Fire and Rescue,5000,TN1 1AA,\n"
)
POLICE = Viewer("ann@police.example", agency="Kent Police", signed_in=True)
NHS = Viewer("bob@nhs.example", agency="NHS Kent", signed_in=True)
FIRE = Viewer("cat@fire.example", agency="Kent Fire and Rescue", signed_in=True)
AT = "2026-12-05T10:02:11+00:00"
LATER = "2026-12-05T11:30:00+00:00"
O1, O2 = "O" + "1" * 16, "O" + "2" * 16
M1, M2, M3 = "M" + "1" * 16, "M" + "2" * 16, "M" + "3" * 16
A1, I1 = "A" + "1" * 16, "I" + "1" * 16


def _offer(offer_id: str, *, kind: str, sqft: float, state: str, version: int, **more) -> dict:
    return offer_row(
        offer_id,
        version=version,
        sqft=sqft,
        at=AT,
        kind=kind,
        state=state,
        available_until="",
        terms="peppercorn",
        contact="estates@police.example",
        declared_on="2026-12-01",
        created_by="ann@police.example",
        updated_by="ann@police.example",
        **more,
    )


def _match(match_id: str, request_id: str, requester: str, file: str, **more) -> dict:
    return {
        "match_id": match_id,
        "offer_id": O1,
        "site_id": "",
        "site_file": "",
        "site_owner": "",
        "request_id": request_id,
        "request_file": file,
        "request_owner": requester,
        "holder": "Kent Police",
        "requester": requester,
        "sqft": 2000.0,
        "state": "proposed",
        "proposed_by": "plan",
        "note": "",
        "created_at": AT,
        "created_by": "ann@police.example",
        "updated_at": AT,
        "updated_by": "ann@police.example",
        "version": 1,
        **more,
    }


def _frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def _estate(path: Path) -> dict[str, str]:
    """Make a GeoPackage estate with rows in every exchange table; return the ids it uses."""
    for text, name, agency, kind in (
        (POLICE_SITES, "police.csv", "Kent Police", "sites"),
        (NHS_REQUESTS, "nhs_requests.csv", "NHS Kent", "requests"),
        (FIRE_REQUESTS, "fire_requests.csv", "Kent Fire and Rescue", "requests"),
    ):
        import_register(text.encode(), name=name, store=path, agency=agency, kind=kind)
    store = open_store(path)
    sites = dict(zip(store.sites()["name"], store.sites()["site_id"], strict=True))
    requests = store.requests()
    ids = dict(zip(requests["source_ref"], requests["request_id"], strict=True))
    p1, p2 = sites["Maidstone Police Office"], sites["Tonbridge Police Station"]
    placed = [
        {"offer_id": o, "site_id": s, "source_file": "police.csv", "source_owner": "Kent Police"}
        for o, s in ((O1, p1), (O2, p2))
    ]
    store.exchange_write(
        ExchangeChange(
            "Kent Police",
            rows={
                "offers": _frame(
                    _offer(O1, kind="space", sqft=40000.0, state="open", version=1),
                    _offer(
                        O2, kind="disposal", sqft=0.0, state="first refusal", version=1, open="yes"
                    ),
                ),
                "offer_sites": _frame(*({**row, "version": 1} for row in placed)),
                "amendments": _frame(
                    {
                        "amendment_id": A1,
                        "layer": "sites",
                        "row_id": p1,
                        "source_file": "police.csv",
                        "source_owner": "Kent Police",
                        "field": "floor_area_sqft",
                        "old": "95000",
                        "new": "96500",
                        "agency": "Kent Police",
                        "by": "ann@police.example",
                        "at": AT,
                        "reason": "remeasured",
                        "state": "standing",
                        "version": 1,
                    }
                ),
                "matches": _frame(
                    _match(
                        M1,
                        ids["R1"],
                        "NHS Kent",
                        "nhs_requests.csv",
                        sqft=30000.0,
                        state="accepted",
                        site_id=p1,
                        site_file="police.csv",
                        site_owner="Kent Police",
                        proposed_by="person",
                        note="ground floor, east wing",
                    ),
                    _match(M2, ids["R2"], "NHS Kent", "nhs_requests.csv"),
                    _match(M3, ids["F1"], "Kent Fire and Rescue", "fire_requests.csv"),
                ),
            },
        )
    )
    # the offer changed once (version 2), then the match on it completed (version 3)
    changed = _offer(O1, kind="space", sqft=35000.0, state="open", version=2, updated_at=LATER)
    spare = pd.DataFrame(  # the offer's space is the site's (written through)
        [["sites", "Kent Police", "police.csv", p1, "surplus_sqft", "35000"]],
        columns=list(EDIT_COLUMNS),
    )
    store.exchange_write(
        ExchangeChange("Kent Police", rows={"offers": _frame(changed)}, edits=spare)
    )
    store.exchange_write(
        ExchangeChange(
            "NHS Kent",
            rows={
                "interest": _frame(
                    {
                        "interest_id": I1,
                        "offer_id": O2,
                        "agency": "NHS Kent",
                        "by": "bob@nhs.example",
                        "at": LATER,
                        "note": "we would take the whole site",
                        "version": 1,
                    }
                )
            },
        )
    )
    store.complete_match(M1, version=1, agency="NHS Kent", by="bob@nhs.example", at=LATER)
    return sites


def _exchange(location) -> dict[str, pd.DataFrame]:
    store = open_store(location)
    return {table: store.exchange(table) for table in EXCHANGE_LAYOUT}


def _assert_same(expected: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> None:
    for table in EXCHANGE_LAYOUT:
        pd.testing.assert_frame_equal(expected[table], got[table], check_exact=True, obj=table)


def test_the_exchange_goes_to_postgis_and_back_unchanged_and_still_works(
    tmp_path, pg_store, capsys
):
    owner_url, app_url = pg_store
    original_path = tmp_path / "estate.gpkg"
    _estate(original_path)
    original = _exchange(original_path)
    # every table holds rows, at more than one version, of three agencies
    assert {table: len(frame) for table, frame in original.items()} == {
        "offers": 2,
        "offer_sites": 2,
        "matches": 3,
        "amendments": 3,  # the one written, and the two the completion added
        "interest": 1,
    }
    offers = original["offers"].set_index("offer_id")
    assert offers.loc[O1, ["sqft", "version"]].tolist() == [5000.0, 3]
    matches = original["matches"].set_index("match_id")
    assert matches.loc[M1, ["state", "version"]].tolist() == ["completed", 2]
    sites_before = open_store(original_path).sites()

    assert main(["store", "copy", str(original_path), owner_url]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"2 exchange offers \(with 2 sites\), 3 exchange matches, 3 amendments, "
        r"1 expression of interest and 1 audit log entry, the last recording this copy",
        out,
    )
    _assert_same(original, _exchange(owner_url))
    back = tmp_path / "back.gpkg"
    assert main(["store", "copy", owner_url, str(back)]) == 0
    _assert_same(original, _exchange(back))
    # the space the completion moved is in the copied sites as it was
    pd.testing.assert_series_equal(
        sites_before["surplus_sqft"], open_store(back).sites()["surplus_sqft"]
    )

    # row security on the database's copy: a match is seen by its two parties only
    as_nhs = open_store(app_url, viewer=NHS)
    assert set(as_nhs.exchange("matches")["match_id"]) == {M1, M2}
    assert set(open_store(app_url, viewer=FIRE).exchange("matches")["match_id"]) == {M3}
    with pytest.raises(DataNotFoundError, match=rf"There is no match {M3} that you can see\."):
        exchange.move(as_nhs, NHS, M3, "withdraw", version=1)

    # a copied match moves on at the version it was copied at, in either copy
    for location in (app_url, back):
        store = open_store(location, viewer=POLICE)
        moved = exchange.move(store, POLICE, M2, "offer", version=1)
        assert (moved["state"], int(moved["version"])) == ("offered", 2)
        with pytest.raises(ConflictError, match=rf"Match {M2} was offered by ann@police"):
            exchange.move(open_store(location, viewer=NHS), NHS, M2, "accept", version=1)
        accepted = exchange.move(open_store(location, viewer=NHS), NHS, M2, "accept", version=2)
        assert (accepted["state"], int(accepted["version"])) == ("accepted", 3)


def test_a_copy_that_does_not_hold_the_exchange_rows_as_read_is_refused(tmp_path, monkeypatch):
    source = tmp_path / "estate.gpkg"
    _estate(source)
    put = GeoPackageStore.put_exchange_rows

    def put_with_a_note_changed(store, rows):
        matches = rows["matches"].copy()
        matches.loc[0, "note"] = "something else"
        return put(store, {**rows, "matches": matches})

    monkeypatch.setattr(GeoPackageStore, "put_exchange_rows", put_with_a_note_changed)
    with pytest.raises(
        StoreError,
        match=r"the copy of .*estate\.gpkg into .*copy\.gpkg does not hold what the source "
        r"holds \(the rows of matches differ\); remove the copy and try again",
    ):
        copy_estate(open_store(source), open_store(tmp_path / "copy.gpkg"))


def test_a_destination_holding_exchange_rows_alone_is_not_empty(tmp_path):
    source = tmp_path / "estate.gpkg"
    _estate(source)
    held = tmp_path / "held.gpkg"
    offer = _offer(O1, kind="space", sqft=1.0, state="open", version=4)
    assert open_store(held).put_exchange_rows({"offers": _frame(offer)}) == 1
    with pytest.raises(
        StoreError,
        match=r"the store DST .*held\.gpkg is not empty \(it holds 1 exchange offer\); "
        r"`store copy` writes only into an empty store",
    ):
        copy_estate(open_store(source), open_store(held))
    assert open_store(held).exchange("offers")["version"].tolist() == [4]


def test_put_rows_keeps_versions_and_refuses_what_it_cannot_keep_whole(tmp_path, pg_store):
    owner_url, app_url = pg_store
    rows = {
        "offers": _frame(_offer(O1, kind="space", sqft=10.0, state="taken", version=7)),
        "interest": _frame({"interest_id": I1, "offer_id": O1, "agency": "NHS Kent", "version": 2}),
    }
    for location in (tmp_path / "estate.gpkg", owner_url):
        store = open_store(location)
        assert store.put_exchange_rows(rows) == 2
        assert store.exchange("offers")["version"].tolist() == [7]
        version = store.version()
        with pytest.raises(
            ConflictError,
            match=rf"Offer {O1} is in the store already; Expression of interest {I1} is in the "
            r"store already; nothing was copied\.",
        ):
            store.put_exchange_rows(rows)
        assert store.version() == version
        nothing = pd.DataFrame(columns=["match_id", "version"])
        assert store.put_exchange_rows({"matches": nothing}) == 0
    with pytest.raises(
        StoreError,
        match=r"the store postgresql://assetmap_app:\*\*\*@\S+ is not opened as the database's "
        r"owner role, so it cannot keep every agency's exchange rows as they are",
    ):
        open_store(app_url, viewer=POLICE).put_exchange_rows(rows)
    with pytest.raises(InvalidArgumentError, match=r"rows=\[\] is not valid; expected a dict"):
        open_store(owner_url).put_exchange_rows([])
    with pytest.raises(InvalidArgumentError, match=r"rows of 'offers' have a version that is"):
        open_store(owner_url).put_exchange_rows({"offers": rows["offers"].assign(version=0)})
