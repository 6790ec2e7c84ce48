"""The PostGIS store's fast paths give what its general paths give.

Reads of sites, requests and site keys come as Arrow through the ADBC driver, and a big
change settles its shared-site groups over the whole estate rather than looking its
peers up (``postgis._WHOLE`` sites or more). Each test forces the fast path on a small
estate and compares with the GeoPackage store, or with what the general path gives.
"""

from __future__ import annotations

import pytest

from assetmap.access import Viewer
from assetmap.errors import StoreError
from assetmap.registers.importer import import_register, remove_register
from assetmap.store import open_store, postgis
from assetmap.store.postgis_schema import connect_arrow

AT = {"imported_at": "2026-01-01T00:00:00Z"}
HEADER = "Site name,Postcode,UPRN,Sensitivity\n"
STEPS = [
    ("alpha.csv", HEADER + "Hub,TN1 1AA,100,\nDepot,ME14 1XX,,\nLib,TN9 1SP,300,\n", "Alpha"),
    (
        "beta.csv",
        HEADER + "Hub,TN1 1AA,,\nDepot,ME14 1XX,,\nClinic,TN9 1SP,300,\n",
        "Beta",
    ),
    ("gamma.csv", HEADER + "Hub,TN1 1AA,100,\nYard,ME14 1XX,,\nFar,ME15 6AA,,\n", "Gamma"),
    ("beta.csv", HEADER + "Hub,TN1 1AA,,\nClinic,TN9 1SP,,\n", "Beta"),
    ("alpha.csv", None, "Alpha"),
]


def test_a_big_change_settles_the_groups_the_whole_estate_gives(pg_store, tmp_path, monkeypatch):
    """Every change taken as big: the groups, step by step, are the GeoPackage store's."""
    marked = []
    copy_out = postgis._copy_out

    def spy(cur, table, *args, **kwargs):
        marked.append(table == postgis._MARKED)
        return copy_out(cur, table, *args, **kwargs)

    monkeypatch.setattr(postgis, "_WHOLE", 1)
    monkeypatch.setattr(postgis, "_copy_out", spy)
    gpkg, pg = open_store(tmp_path / "estate.gpkg"), open_store(pg_store[1])
    for step, (name, text, agency) in enumerate(STEPS):
        for store in (gpkg, pg):
            if text is None:
                remove_register(name, store=store, owner=agency)
            else:
                import_register(text.encode(), name=name, store=store, agency=agency, **AT)
        left, right = gpkg.sites(), pg.sites()
        assert right["shared_group"].tolist() == left["shared_group"].tolist(), name
        assert (left["shared_group"] != "").any() == (step > 0), name
    assert sum(marked) == len(STEPS)  # each change read the whole estate, marked


def test_a_big_change_sets_only_the_groups_near_it(pg_store, monkeypatch):
    """A site far from the change keeps its stored group, even one the estate would not give."""
    owner_url, app_url = pg_store
    for name, text, agency in STEPS[:2]:
        import_register(text.encode(), name=name, store=app_url, agency=agency, **AT)
    import psycopg

    with psycopg.connect(owner_url) as conn:  # a stale group, far from the next change
        conn.execute("UPDATE sites SET shared_group = 'G-stale' WHERE name = 'Lib'")
    monkeypatch.setattr(postgis, "_WHOLE", 1)
    far = "Site name,Postcode\nFar,ME15 6AA\n"
    import_register(far.encode(), name="far.csv", store=app_url, agency="Gamma", **AT)
    sites = open_store(owner_url).sites().set_index("name")
    assert sites.loc["Lib", "shared_group"] == "G-stale"
    assert sites.loc["Far", "shared_group"] == ""


def test_reads_through_adbc_give_each_viewer_only_their_rows(pg_store):
    """Sites, requests and site keys through ADBC: the viewer's agency is set in the database."""
    owner_url, app_url = pg_store
    restricted = STEPS[1][1].replace("Depot,ME14 1XX,,", "Depot,ME14 1XX,,restricted")
    for name, text, agency in (STEPS[0], ("beta.csv", restricted, "Beta")):
        import_register(text.encode(), name=name, store=app_url, agency=agency, **AT)
    every = open_store(owner_url).sites()
    beta = open_store(app_url, viewer=Viewer("b@beta", agency="Beta", signed_in=True))
    alpha = open_store(app_url, viewer=Viewer("a@alpha", agency="Alpha", signed_in=True))
    assert len(every) == 6 and (every["sensitivity"] == "restricted").sum() == 1
    assert "Depot" in beta.sites().query("sensitivity == 'restricted'")["name"].tolist()
    assert (alpha.sites()["sensitivity"] != "restricted").all()
    assert len(alpha.sites()) == len(alpha.site_keys()) == 5
    assert len(beta.site_keys()) == 6
    assert list(alpha.sites().index) == list(range(5))


def test_an_arrow_connection_that_fails_never_shows_the_password(pg_server):
    """A wrong password: a StoreError in words, the URL's password as ***."""
    url = pg_server.url("assetmap_app", "postgres")
    host = url.split("@", 1)[1]
    wrong = f"postgresql://assetmap_app:not-the-Pa55word@{host}"
    with pytest.raises(StoreError, match=r"cannot be opened: .*assetmap_app") as caught:
        connect_arrow(wrong)
    assert "not-the-Pa55word" not in str(caught.value)
    assert "assetmap_app:***@" in str(caught.value)
    with pytest.raises(StoreError, match=r"cannot be opened"):
        connect_arrow(wrong.replace(host.split("/")[0], "127.0.0.1:1"))
