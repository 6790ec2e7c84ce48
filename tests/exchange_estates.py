"""What the exchange's tests share: the agencies' officers, a fixed clock, registers imported
as an agency, the ``estate``/``any_estate`` fixtures of a module's registers, a row of the
offers table, and the check that two refusals are one and the same.

The officers are signed in with an agency of their own: Kent Police holds the sites,
Kent Community Health needs space, Medway Council is a third agency; ``NOBODY`` is a
visitor with no agency.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assetmap.access import Viewer
from assetmap.errors import AssetmapError
from assetmap.exchange import _clock
from assetmap.registers.importer import import_register
from assetmap.store import open_store

POLICE = Viewer("pc.jones@kent.police.example", agency="Kent Police", signed_in=True)
HEALTH = Viewer("ann@kch.nhs.example", agency="Kent Community Health", signed_in=True)
#: Another user of the same agency, whose identity provider spells it otherwise.
HEALTH_TOO = Viewer("bob@kch.nhs.example", agency="Kent  community HEALTH", signed_in=True)
COUNCIL = Viewer("clerk@medway.example", agency="Medway Council", signed_in=True)
NOBODY = Viewer("visitor", agency=None, signed_in=False)


def fixed_clock_at(at: dt.datetime):
    """An autouse fixture that fixes the exchange's clock at ``at`` (assign it in a module)."""

    @pytest.fixture(autouse=True)
    def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_clock, "FIXED", at)

    return _fixed_clock


def as_(location: Path | str, viewer: Viewer):
    """The store at ``location`` opened as ``viewer``."""
    return open_store(location, viewer=viewer)


def import_as(
    location: Path | str, viewer: Viewer, text: str, name: str, sector: str, kind: str = "sites"
):
    """Import the register ``text`` (a CSV) as ``viewer``'s agency; the import's report."""
    return import_register(
        text.encode(),
        name=name,
        store=as_(location, viewer),
        viewer=viewer,
        sector=sector,
        kind=kind,
    )


def error(call) -> AssetmapError:
    """The error ``call()`` raises (it must raise one of assetmap's)."""
    with pytest.raises(AssetmapError) as caught:
        call()
    return caught.value


def same_error(hidden: AssetmapError, unknown: AssetmapError, hidden_id: str, unknown_id: str):
    """The two errors are one: same class, same message but for the id typed."""
    assert type(hidden) is type(unknown)
    assert str(hidden).replace(hidden_id, "<id>") == str(unknown).replace(unknown_id, "<id>")


def offer_row(offer_id: str, *, version: int = 1, sqft: float = 40000.0, at: str, **fields) -> dict:
    """A row of the offers table: Kent Police's open offer of office space, made ``at``."""
    return {
        "offer_id": offer_id,
        "kind": "space",
        "owner": "Kent Police",
        "agency": "Kent Police",
        "sector": "police",
        "sqft": sqft,
        "use": "office",
        "available_from": "2027-04-01",
        "open": "",
        "area": "Maidstone",
        "state": "open",
        "declared_on": "2026-12-05",
        "created_at": at,
        "created_by": "ann@police",
        "updated_at": at,
        "updated_by": "ann@police",
        "version": version,
        **fields,
    }


def estate_fixtures(fill):
    """The fixtures ``estate`` (a GeoPackage store) and ``any_estate`` (each store) of ``fill``.

    ``fill(location)`` imports a test module's registers into the store at ``location``
    and returns it; assign the pair in the module: ``estate, any_estate = ...``.
    """

    @pytest.fixture
    def estate(tmp_path: Path) -> Path:
        return fill(tmp_path / "estate.gpkg")

    @pytest.fixture
    def any_estate(any_store: Path | str) -> Path | str:
        return fill(any_store)

    return estate, any_estate
