"""``store copy``, ``store init`` and ``store upgrade``: whole estates between stores, losslessly.

The bundled sample estate (every source, its footprints, quarantine and import log), a
boundary set, a saved place and audit entries go from a GeoPackage into PostGIS and back,
and every layer and audit entry comes back equal. A destination that is not empty, the
app's role (which cannot see every agency's rows) and a GeoPackage given to ``store init``
are refused with one message and exit code 2.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import box

from assetmap import audit
from assetmap.access import Viewer
from assetmap.cli import main
from assetmap.cli.store_ops import copy_estate
from assetmap.errors import StoreError
from assetmap.registers.importer import import_register
from assetmap.store import open_store, postgis_schema
from assetmap.store.interface import LAYOUT

#: Every layer a store reads back, by its method.
LAYERS = tuple(LAYOUT)


def _password(url: str) -> str:
    return re.match(r"postgresql://[^:]+:([^@]+)@", url).group(1)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _enrich(path: Path, tmp_path: Path) -> None:
    """Add to a sample store what an estate in use holds beside its sources.

    A register of another agency that reports one of the sample's open sites (by its
    UPRN), so that two sites share a group; a boundary set of each of two owners; a saved
    place; two audit entries.
    """
    store = open_store(path)
    sites = store.sites()
    site = sites[(sites["uprn"] != "") & (sites["sensitivity"] != "restricted")].iloc[0]
    register = tmp_path / "shared.csv"
    register.write_text(
        "name,uprn,postcode,easting,northing\n"
        f"{site['name']},{site['uprn']},{site['postcode']},{site.geometry.x},{site.geometry.y}\n",
        encoding="utf-8",
    )
    import_register(register, store=path, agency="Kent Fire and Rescue", sector="fire")
    areas = gpd.GeoDataFrame(
        {"code": ["W1", "W2"], "name": ["North ward", "South ward"]},
        geometry=[box(570_000, 150_000, 580_000, 160_000), box(570_000, 140_000, 580_000, 150_000)],
        crs="EPSG:27700",
    )
    store.add_boundary_set("Wards", areas, owner="Kent Police")
    store.add_boundary_set("Patches", areas.iloc[:1], owner="")
    store.save_place("Two districts", "district", ["E07000110", "E07000116"], owner="")
    audit.record(
        path,
        viewer=Viewer("ann@police.example", agency="Kent Police", signed_in=True),
        action="import",
        what="kent_police_estate.csv",
        sha256="a" * 64,
        counts={"accepted": 3, "quarantined": 1},
    )
    audit.record(path, viewer=Viewer("me"), action="export", what="sites.csv")


def _layers(location: str | Path) -> dict[str, pd.DataFrame]:
    store = open_store(location)
    return {name: getattr(store, name)() for name in LAYERS}


def _assert_same(expected: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> None:
    for name in LAYERS:
        a, b = expected[name], got[name]
        assert len(a) == len(b), name
        try:
            if isinstance(a, gpd.GeoDataFrame):
                assert_geodataframe_equal(a, b, check_less_precise=False)
            else:
                pd.testing.assert_frame_equal(a, b)
        except AssertionError as exc:
            raise AssertionError(f"the layer {name} differs: {exc}") from None


def test_an_estate_goes_to_postgis_and_back_unchanged(sample_store, pg_store, tmp_path, capsys):
    owner_url, _ = pg_store
    _enrich(sample_store, tmp_path)
    original = _layers(sample_store)
    entries = audit.read_log(sample_store)
    # the sample holds what a copy could lose: restricted sites, footprints, quarantined
    # rows, requests, shared groups, several owners, boundary sets and places
    sites = original["sites"]
    assert (sites["sensitivity"] == "restricted").any()
    assert (sites["shared_group"] != "").any()
    assert len(original["footprints"]) and len(original["quarantine"])
    assert len(original["requests"]) and len(original["boundary_sets"]) == 3
    assert len(entries) == 2

    assert main(["store", "copy", str(sample_store), owner_url]) == 0
    _assert_same(original, _layers(owner_url))
    back = tmp_path / "back.gpkg"
    assert main(["store", "copy", owner_url, str(back)]) == 0
    _assert_same(original, _layers(back))

    copied = audit.read_log(back)
    assert copied[: len(entries)] == entries  # in order, with their times
    assert [e.what for e in copied[len(entries) :]] == [
        f"the whole estate, copied from {sample_store} by `store copy`",
        f"the whole estate, copied from {open_store(owner_url).location} by `store copy`",
    ]
    assert copied[-1].counts["sites"] == len(sites)
    out = capsys.readouterr()
    assert f"{len(sites):,} sites" in out.out
    assert _password(owner_url) not in out.out + out.err + copied[-1].what


def test_a_geopackage_estate_copies_to_another_geopackage(sample_store_built, tmp_path):
    target = tmp_path / "copy.gpkg"
    stages: list[tuple[str, float]] = []
    # the session's sample store: other tests may have added to its audit log
    logged = [(e.time, e.action, e.what) for e in audit.read_log(sample_store_built)]
    counts = copy_estate(
        open_store(sample_store_built),
        open_store(target),
        progress=lambda stage, fraction: stages.append((stage, fraction)),
    )
    _assert_same(_layers(sample_store_built), _layers(target))
    # progress names each source as it is copied, and only goes forward, to the end
    names = [stage for stage, _ in stages]
    assert "source kent_police_estate.csv of Kent Police" in names
    assert "source space_requests.csv" in names and stages[-1] == ("done", 1.0)
    assert [f for _, f in stages] == sorted(f for _, f in stages)
    assert counts.sites == len(open_store(target).sites())
    # the source's entries, in order with their times, then one recording the copy
    assert counts.audit_entries == len(logged) + 1
    copied = [(e.time, e.action, e.what) for e in audit.read_log(target)]
    assert copied[:-1] == logged and copied[-1][1] == "import"


def test_a_destination_that_is_not_empty_is_refused_and_left_as_it_was(
    sample_store_built, sample_store, tmp_path, capsys
):
    before = _digest(sample_store)
    message = (
        r"the store DST .*sample\.gpkg is not empty \(it holds 11 sources, [\d,]+ sites, .*"
        r"quarantined rows, 1 saved scenario\); `store copy` writes only into an empty store"
    )
    with pytest.raises(StoreError, match=message):
        copy_estate(open_store(sample_store_built), open_store(sample_store))
    assert main(["store", "copy", str(sample_store_built), str(sample_store)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert _digest(sample_store) == before

    # an audit log alone is a store in use too
    logged = tmp_path / "logged.gpkg"
    audit.record(logged, viewer=Viewer("me"), action="export", what="x.csv")
    with pytest.raises(StoreError, match=r"is not empty \(it holds 1 audit log entry\)"):
        copy_estate(open_store(sample_store_built), open_store(logged))


def test_a_copy_onto_itself_or_from_nothing_is_refused(sample_store_built, tmp_path, capsys):
    with pytest.raises(StoreError, match=r"SRC and DST are the same store"):
        copy_estate(open_store(sample_store_built), open_store(sample_store_built))
    missing = tmp_path / "missing.gpkg"
    assert main(["store", "copy", str(missing), str(tmp_path / "new.gpkg")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"the store SRC .*missing\.gpkg does not exist; there is nothing to copy", err)
    assert not (tmp_path / "new.gpkg").exists()


def test_the_app_role_cannot_copy_because_it_sees_one_agency(pg_store, tmp_path, capsys):
    _, app_url = pg_store
    target = tmp_path / "copy.gpkg"
    assert main(["store", "copy", app_url, str(target)]) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"the store SRC postgresql://assetmap_app:\*\*\*@.* is opened as the role assetmap_app, "
        r"which sees only what one agency may .* give the URL of the database's owner role",
        err,
    )
    assert _password(app_url) not in err and not target.exists()
    assert main(["store", "copy", str(tmp_path / "a.gpkg"), app_url]) == 2
    assert "the store DST postgresql://assetmap_app:***@" in capsys.readouterr().err


def test_store_init_and_upgrade_make_and_keep_the_schema(pg_empty, tmp_path, capsys):
    owner_url, app_url = pg_empty
    with pytest.raises(StoreError, match=r"holds no assetmap store yet: run .*store init"):
        open_store(app_url).sites()
    # every reason at once: nothing to copy, and nowhere made to copy it to
    assert main(["store", "copy", str(tmp_path / "none.gpkg"), owner_url]) == 2
    assert re.search(
        r"the store SRC .*none\.gpkg does not exist; there is nothing to copy; the database DST "
        r"postgresql://assetmap_owner:\*\*\*@\S+ holds no assetmap store yet; make it first "
        r"with `python -m assetmap store init",
        capsys.readouterr().err,
    )
    assert main(["store", "init", "--store", owner_url, "--app-role", "assetmap_app"]) == 0
    out = capsys.readouterr().out
    app_address = app_url.replace(f":{_password(app_url)}@", "@")
    assert re.search(
        r"The store postgresql://assetmap_owner:\*\*\*@.* is ready "
        rf"\(schema version {postgis_schema.SCHEMA_VERSION}\)",
        out,
    )
    assert out.rstrip().endswith(f"Point the app at it as that role: ASSETMAP_STORE={app_address}")
    assert _password(owner_url) not in out
    assert len(open_store(app_url).sites()) == 0  # the app's role may read it now
    assert main(["store", "upgrade", "--store", owner_url]) == 0
    newest = postgis_schema.SCHEMA_VERSION
    assert f"is at schema version {newest} (it was up to date already)" in capsys.readouterr().out


def test_init_and_upgrade_refuse_a_geopackage(tmp_path, capsys, monkeypatch):
    store = tmp_path / "estate.gpkg"
    assert main(["store", "init", "--store", str(store), "--app-role", "assetmap_app"]) == 2
    assert re.search(
        r"`store init` works on a PostgreSQL database, and --store \(or \$ASSETMAP_STORE\) names "
        r"the file .*estate\.gpkg.*; give the database's URL as its owner role",
        capsys.readouterr().err,
    )
    monkeypatch.setenv("ASSETMAP_STORE", str(store))
    assert main(["store", "upgrade"]) == 2
    assert "`store upgrade` works on a PostgreSQL database" in capsys.readouterr().err
    assert not store.exists()


def test_a_source_changed_while_it_is_read_is_not_copied(sample_store, tmp_path, monkeypatch):
    src, target = open_store(sample_store), tmp_path / "copy.gpkg"
    register = tmp_path / "late.csv"
    register.write_text("name,postcode\nLate station,TN1 1AA\n", encoding="utf-8")
    read_places = src.places

    def places_while_an_import_lands() -> pd.DataFrame:
        import_register(register, store=sample_store, agency="Kent Fire", sector="fire")
        return read_places()

    monkeypatch.setattr(src, "places", places_while_an_import_lands)
    with pytest.raises(
        StoreError,
        match=r"the store SRC .*sample\.gpkg changed while it was read \(an import or removal "
        r"finished meanwhile\); nothing was copied",
    ):
        copy_estate(src, open_store(target))
    assert not target.exists() and audit.read_log(target) == []
