"""The PostGIS store's whole-layer reads: streamed, a big table read by two readers at once.

A table of ``postgis_io.SPLIT_PAGES`` pages or more is read in two halves by two
connections in one exported snapshot; these tests lower that bound so that a small
estate takes the same path, and check that it gives exactly what one reader gives,
the GeoPackage store's frame, one state of the store, and never another agency's
restricted rows.
"""

from __future__ import annotations

import pandas as pd
import pytest

from assetmap.access import Viewer
from assetmap.errors import StoreError
from assetmap.registers.importer import import_register, remove_register
from assetmap.store import open_store, postgis_io
from assetmap.store.interface import join_provenance

AT = "2026-01-01T00:00:00Z"
KENT_POLICE = Viewer("ann@police.example", agency="Kent Police", signed_in=True)
NHS = Viewer("bob@nhs.example", agency="NHS Kent", signed_in=True)


def _register(prefix: str, n: int, *, restricted_every: int = 0) -> bytes:
    """A register of ``n`` sites with coordinates (every ``restricted_every``-th restricted)."""
    lines = ["Property reference,Site name,Easting,Northing,Sensitivity"]
    for i in range(n):
        secret = restricted_every and i % restricted_every == 0
        lines.append(
            f"{prefix}{i},{prefix} site {i},{570000 + i},{150000 + i},"
            + ("restricted" if secret else "open")
        )
    return ("\n".join(lines) + "\n").encode()


def _estate(store) -> None:
    """Three sources; one removed and another imported after it, into the space it freed."""
    for prefix, name, agency in (
        ("P", "police.csv", "Kent Police"),
        ("H", "nhs.csv", "NHS Kent"),
        ("C", "council.csv", "Tunbridge Wells BC"),
    ):
        register = _register(prefix, 150, restricted_every=7)
        import_register(register, name=name, store=store, agency=agency, imported_at=AT)
    remove_register("nhs.csv", store=store)
    import_register(
        _register("F", 60), name="fire.csv", store=store, agency="Kent Fire", imported_at=AT
    )


@pytest.fixture
def split_reads(monkeypatch) -> list[int]:
    """Make every table of 2 pages or more be read in halves; give the parts of each read."""
    parts: list[int] = []
    stream = postgis_io._stream

    def counted(found, *args, **kwargs):
        parts.append(len(found))
        return stream(found, *args, **kwargs)

    monkeypatch.setattr(postgis_io, "SPLIT_PAGES", 2)
    monkeypatch.setattr(postgis_io, "_stream", counted)
    return parts


def test_two_readers_give_exactly_the_frame_of_one_and_of_the_geopackage_store(
    pg_store, tmp_path, monkeypatch, split_reads
):
    owner_url, app_url = pg_store
    gpkg = open_store(tmp_path / "estate.gpkg")
    _estate(gpkg)
    _estate(open_store(owner_url))
    split = open_store(owner_url).sites()
    assert 2 in split_reads  # the sites were read by two readers
    pd.testing.assert_frame_equal(split, gpkg.sites())
    for viewer in (KENT_POLICE, NHS, None):
        store = open_store(app_url, viewer=viewer)
        halves = store.sites()
        monkeypatch.setattr(postgis_io, "SPLIT_PAGES", 10**9)
        whole = store.sites()
        monkeypatch.setattr(postgis_io, "SPLIT_PAGES", 2)
        pd.testing.assert_frame_equal(halves, whole)
        # another agency's restricted sites never leave the database, in either half
        theirs = split[(split["sensitivity"] == "restricted") & (split["agency"] != "Kent Police")]
        assert len(theirs) and not set(theirs["site_id"]) & set(halves["site_id"])
    assert split_reads.count(2) >= 4 and 1 in split_reads


def test_both_readers_see_one_state_of_the_store(pg_store, monkeypatch, split_reads):
    owner_url, app_url = pg_store
    _estate(open_store(owner_url))
    store = open_store(app_url, viewer=KENT_POLICE)
    before = store.sites()
    split_page = postgis_io.split_page

    def import_meanwhile(cur, table):  # a commit after the read began, before its halves
        page = split_page(cur, table)
        if not done:
            done.append(table)
            late = _register("L", 300)
            import_register(
                late, name="late.csv", store=open_store(owner_url), agency="X", imported_at=AT
            )
        return page

    done: list[str] = []

    monkeypatch.setattr(postgis_io, "split_page", import_meanwhile)
    during = store.sites()
    assert split_reads[-1] == 2  # read in halves, the new rows in the second half's pages
    pd.testing.assert_frame_equal(during, before)
    monkeypatch.setattr(postgis_io, "split_page", split_page)
    assert len(store.sites()) == len(before) + 300


def test_a_snapshot_id_of_an_unexpected_form_is_refused():
    class Cursor:
        """Says the table has a million pages, then gives a snapshot id that is not one."""

        def __init__(self) -> None:
            self.answers = [[(10**6,)], [("1'; DROP TABLE sites; --",)]]

        def execute(self, sql, params=None) -> None:
            pass

        def fetchall(self):
            return self.answers.pop(0)

    def never(**kwargs):
        raise AssertionError("no second reader is opened")

    with pytest.raises(StoreError, match=r"the database gave an unexpected snapshot id"):
        postgis_io.read_points(Cursor(), "sites", {"site_id": "str"}, twin=never)


def test_provenance_is_joined_by_source_owner_and_name():
    frame = pd.DataFrame(
        {
            "source_owner": pd.Series(["A", None, "", "B", "A", "C"], dtype="str"),
            "source_file": pd.Series(["f", "f", "f", "f", "g", "f"], dtype="str"),
        }
    ).set_axis([5, 4, 3, 2, 1, 0])  # labels that are not positions
    log = pd.DataFrame(
        {
            "source_owner": pd.Series(["A", "", "B", "A", "A"], dtype="str"),
            "source_file": pd.Series(["f", "f", "f", "g", "f"], dtype="str"),
            "source_sha256": pd.Series(["h1", "h2", None, "h4", "later"], dtype="str"),
            "imported_at": pd.Series(["t1", "t2", "t3", "t4", "t5"], dtype="str"),
        }
    )
    out = join_provenance(frame, log)
    assert out["source_sha256"].tolist() == ["h1", "h2", "h2", "", "h4", ""]
    assert out["imported_at"].tolist() == ["t1", "t2", "t2", "t3", "t4", ""]
    assert str(out["imported_at"].dtype) == "str" and list(out.index) == [5, 4, 3, 2, 1, 0]
    assert join_provenance(frame.iloc[:0], log)["imported_at"].tolist() == []
