"""The PostGIS store's fast paths give what its general paths give.

Reads of sites, requests and site keys come as Arrow through the ADBC driver, and a big
change settles its shared-site groups over every site that can be in a group (the
database finds them) rather than looking its peers up (``postgis._WHOLE`` sites or
more). Each test forces the fast path on a small estate and compares with the GeoPackage
store, or with what the general path gives.
"""

from __future__ import annotations

import re

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
        marked.append(table == postgis._CANDIDATES)
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
    assert sum(marked) == len(STEPS)  # each change read the candidates, marked


def test_a_big_change_reads_only_the_sites_that_can_be_in_a_group(pg_store, monkeypatch):
    """Sites whose UPRN and postcode no second holder gives, and no group, are not read."""
    read = []
    copy_out = postgis._copy_out

    def spy(cur, table, *args, **kwargs):
        frame = copy_out(cur, table, *args, **kwargs)
        if table == postgis._CANDIDATES:
            read.append(sorted(frame["name"]))
        return frame

    monkeypatch.setattr(postgis, "_WHOLE", 1)
    monkeypatch.setattr(postgis, "_copy_out", spy)
    app_url = pg_store[1]
    for name, text, agency in STEPS[:2]:
        import_register(text.encode(), name=name, store=app_url, agency=agency, **AT)
    # Alpha alone: nothing another holder gives; then Beta gives TN1 1AA, ME14 1XX and UPRN 300
    assert read == [[], ["Clinic", "Depot", "Depot", "Hub", "Hub", "Lib"]]


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


@pytest.mark.parametrize(
    ("query", "index", "key"),
    [
        (f"DELETE FROM sites WHERE {postgis._of_source()}", "sites_source", "source_file"),
        (postgis._PEERS % {"t": "_touched"}, "sites_uprn", "uprn"),
        (postgis._PEERS % {"t": "_touched"}, "sites_postcode", "postcode_key"),
    ],
    ids=["a source's sites", "uprn peers", "postcode peers"],
)
def test_the_stores_own_lookups_can_use_the_key_indexes(pg_store, query, index, key):
    """Each lookup, as the app's role under row-level security, can use its index.

    With sequential scans off (and hash and merge joins, as the store's settlement
    turns them off), the plan looks the key up in the index if it can at
    all: it cannot when the index's collation is not the query's ("C", named in the
    query), nor under row-level security when the lookup goes through a function that
    may leak (an index on ``replace(postcode, ' ', '')``: checked by hand, 0.9 s
    against 0.4 ms for 1,000 postcodes among a million sites): the plan then reads
    every site, or all of the index, however costly the planner is told that is.
    """
    import psycopg

    with psycopg.connect(pg_store[1]) as conn:
        conn.execute(
            "SELECT set_config('assetmap.agency', 'alpha', false), "
            "set_config('assetmap.writer', 'alpha', false)"
        )
        conn.execute("SET enable_seqscan = off")  # and the joins the settlement turns off:
        conn.execute(f"SELECT {postgis._LOOKUPS % {'on': 'off'}}")
        conn.execute("CREATE TEMP TABLE _touched (uprn text, pc text)")
        plan = conn.execute(
            f"EXPLAIN {query}", ("owner", "file.csv") if "%s" in query else None
        ).fetchall()
    text = "\n".join(line for (line,) in plan)
    assert f" on {index} " in text or f"using {index} " in text, text
    assert re.search(rf"Index Cond: \(+{key}\)", text), text
    assert "Seq Scan on sites" not in text, text


def test_chunks_copied_in_a_second_thread_land_in_order(pg_store, tmp_path, monkeypatch):
    """A register of one-row chunks: the sites are stored in the register's order."""
    from assetmap.registers import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 1)
    text = "Site name,Postcode\n" + "".join(f"Site {i},TN1 1AA\n" for i in range(9))
    gpkg, pg = open_store(tmp_path / "estate.gpkg"), open_store(pg_store[1])
    for store in (gpkg, pg):
        import_register(text.encode(), name="a.csv", store=store, agency="Alpha", **AT)
    assert pg.sites()["name"].tolist() == gpkg.sites()["name"].tolist()
    assert pg.sites()["name"].tolist() == [f"Site {i}" for i in range(9)]


@pytest.mark.parametrize("where", ["in the checks", "in the copy"])
def test_a_failure_on_either_side_of_the_copy_thread_changes_nothing(pg_store, monkeypatch, where):
    """The second chunk fails, in the importer's checks or in the copy thread: no row lands."""
    from assetmap.registers import importer
    from assetmap.registers.validate import SiteChecks
    from assetmap.store import postgis_copy

    app_url = pg_store[1]
    import_register(STEPS[0][1].encode(), name="alpha.csv", store=app_url, agency="Alpha", **AT)
    store = open_store(app_url)
    before, version = store.sites(), store.version()
    monkeypatch.setattr(importer, "CHUNK_ROWS", 1)
    holder, target = (
        (SiteChecks, "chunk") if where == "in the checks" else (postgis_copy, "copy_in")
    )
    real, calls = getattr(holder, target), []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(holder, target, failing)
    with pytest.raises((OSError, StoreError), match="disk full"):
        import_register(STEPS[1][1].encode(), name="beta.csv", store=app_url, agency="Beta", **AT)
    assert len(calls) == 2
    assert store.version() == version
    assert store.sites().equals(before)
